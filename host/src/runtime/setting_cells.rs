//! Report cells the host fills from a plugin's settings: a programme's
//! targets beside the counts that measure progress against them.
//!
//! A target is not a count of cases: it may exceed the cases added, and it
//! says nothing about any child. A plugin must not write it, or a "target"
//! would be a channel past every check on counts; so the plugin declares,
//! in its settings schema, which cells a setting fills, and the host fills
//! them from the settings in force (administered, audited, validated):
//!
//! ```json
//! "x-kinga-report-cells": [
//!   {"template": "baf-quarterly", "table": "reach",
//!    "labels": ["education_support", "target"], "setting": "/targets/education_support"}
//! ]
//! ```
//!
//! At load every cell must name a declared template, table and one declared
//! label per dimension, once, and its setting must hold a whole number in
//! the default settings. In a report a plugin's row at such a cell is
//! invalid output; the host adds the cell, marked with its setting, and
//! never suppresses or withholds it (it is public, not a count of
//! children) nor links it as a margin.

use serde::Deserialize;
use serde_json::Value;

use crate::runtime::plugin::{PluginDescription, PluginKind};

/// The settings schema's keyword that declares the cells.
pub const KEYWORD: &str = "x-kinga-report-cells";

/// At most this many cells per plugin.
const MAX_CELLS: usize = 64;

/// One cell a setting fills.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingCell {
    /// The template's id.
    pub template: String,
    /// The table's id.
    pub table: String,
    /// One label per dimension of the table.
    pub labels: Vec<String>,
    /// JSON pointer into the plugin's settings.
    pub setting: String,
}

/// The cells the settings schema declares (none without the keyword).
///
/// # Errors
/// What is wrong with the declaration's form.
pub(crate) fn declared(settings_schema: &Value) -> Result<Vec<SettingCell>, String> {
    let Some(cells) = settings_schema.get(KEYWORD) else {
        return Ok(Vec::new());
    };
    let cells: Vec<SettingCell> = serde_json::from_value(cells.clone()).map_err(|_| {
        format!(
            "its settings schema's {KEYWORD} is not a list of {{template, table, labels, setting}}"
        )
    })?;
    if cells.len() > MAX_CELLS {
        return Err(format!(
            "its settings schema's {KEYWORD} declares more than {MAX_CELLS} cells"
        ));
    }
    Ok(cells)
}

/// The whole number `cell`'s setting holds in `settings`, if it does.
pub(crate) fn value(cell: &SettingCell, settings: &Value) -> Option<u64> {
    settings.pointer(&cell.setting).and_then(Value::as_u64)
}

/// Every problem of the declared cells of a loaded plugin's description.
pub(crate) fn check(description: &PluginDescription) -> Vec<String> {
    let cells = match declared(&description.settings_schema) {
        Ok(cells) => cells,
        Err(problem) => return vec![problem],
    };
    if !cells.is_empty() && description.kind != PluginKind::Reporting {
        return vec![format!(
            "declares {KEYWORD}, but only a reporting plugin has report cells"
        )];
    }
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, cell) in cells.iter().enumerate() {
        let at = format!("{KEYWORD}/{i}");
        let table = description
            .templates
            .iter()
            .find(|t| t.id == cell.template)
            .and_then(|t| t.tables.iter().find(|table| table.id == cell.table));
        let Some(table) = table else {
            problems.push(format!(
                "{at}: names a template or table it does not declare"
            ));
            continue;
        };
        let labels_declared = cell.labels.len() == table.dimensions.len()
            && cell
                .labels
                .iter()
                .zip(&table.dimensions)
                .all(|(label, dimension)| dimension.labels.contains(label));
        if !labels_declared {
            problems.push(format!(
                "{at}: needs one declared label per dimension of its table"
            ));
        }
        if !seen.insert((&cell.template, &cell.table, &cell.labels)) {
            problems.push(format!("{at}: names a cell already declared"));
        }
        if value(cell, &description.default_settings).is_none() {
            problems.push(format!(
                "{at}: its setting holds no whole number in the default settings"
            ));
        }
    }
    problems
}

/// The cells of `table` in `template`.
pub(crate) fn of_table<'c>(
    cells: &'c [SettingCell],
    template: &str,
    table: &str,
) -> impl Iterator<Item = &'c SettingCell> {
    cells
        .iter()
        .filter(move |c| c.template == template && c.table == table)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::runtime::declared::tests::description;
    use crate::runtime::plugin::{DimensionDescription, TableDescription, TemplateDescription};

    /// A reporting plugin with one table `t` (`d`: `a`, `b`) in template
    /// `q`, declaring `cells`.
    fn reporting(cells: Value) -> PluginDescription {
        let mut plugin = description(PluginKind::Reporting);
        plugin.templates = vec![TemplateDescription {
            id: "q".into(),
            title: "Q".into(),
            description: String::new(),
            parameters: vec![],
            tables: vec![TableDescription {
                id: "t".into(),
                title: "T".into(),
                unit: "cases".into(),
                dimensions: vec![DimensionDescription {
                    name: "d".into(),
                    labels: vec!["a".into(), "b".into()],
                }],
            }],
            narrative: None,
        }];
        plugin.settings_schema = json!({"type": "object", KEYWORD: cells});
        plugin
    }

    fn cell(labels: &[&str], setting: &str) -> Value {
        json!({"template": "q", "table": "t", "labels": labels, "setting": setting})
    }

    #[test]
    fn a_well_declared_cell_loads() {
        let plugin = reporting(json!([cell(&["a"], "/max_age")]));
        assert_eq!(check(&plugin), Vec::<String>::new());
        let cells = declared(&plugin.settings_schema).unwrap();
        assert_eq!(value(&cells[0], &json!({"max_age": 12})), Some(12));
        assert_eq!(value(&cells[0], &json!({"max_age": -1})), None);
    }

    #[test]
    fn every_wrong_declaration_is_a_load_problem() {
        for (cells, expected) in [
            (json!({"template": "q"}), "is not a list"),
            (
                json!([cell(&["c"], "/max_age")]),
                "one declared label per dimension",
            ),
            (
                json!([cell(&["a", "b"], "/max_age")]),
                "one declared label per dimension",
            ),
            (
                json!([{"template": "q", "table": "other", "labels": ["a"], "setting": "/max_age"}]),
                "does not declare",
            ),
            (json!([cell(&["a"], "/providers")]), "no whole number"),
            (
                json!([cell(&["a"], "/max_age"), cell(&["a"], "/max_age")]),
                "already declared",
            ),
        ] {
            let problems = check(&reporting(cells.clone())).join("; ");
            assert!(problems.contains(expected), "{cells}: {problems}");
        }
        let mut eligibility = reporting(json!([cell(&["a"], "/max_age")]));
        eligibility.kind = PluginKind::Eligibility;
        assert!(check(&eligibility)[0].contains("only a reporting plugin"));
    }
}
