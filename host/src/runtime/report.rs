//! Streaming reports: a report is opened in one plugin instance, cases are
//! added one at a time, and the finished tables are checked and returned.
//!
//! One store lives for the whole report (the plugin keeps its counts in its
//! own memory, so memory stays flat however many cases stream through);
//! fuel and the deadline are re-armed for every case, so a slow case is
//! stopped on its own budget. After any trap the store is discarded and the
//! run refuses further cases.
//!
//! Each case is checked at the report's as-of as an evaluation checks it
//! (no birth or incident after it, no age beyond the schema's cap), and a
//! report made for a request spends from the request's
//! [`RequestBudget`]: once it is cancelled or past its deadline, no further
//! case is added.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Serialize, Serializer};
use serde_json::Value;
use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::case::ValidCase;
use crate::case::asof::AsOf;
use crate::case::schema;
use crate::error::Error;
use crate::runtime::bindings::reporting::ReportingCore;
use crate::runtime::bindings::reporting::exports::kinga::plugin::reporting as wit_reporting;
use crate::runtime::budget::RequestBudget;
use crate::runtime::capability::wrong_kind;
use crate::runtime::engine::deadline_ticks;
use crate::runtime::gate::{Fingerprint, Slot};
use crate::runtime::host::{charge_answer, check_case_at};
use crate::runtime::plugin::{LoadedPlugin, PluginKind, TemplateDescription, WorldPre};
use crate::runtime::sandbox::{Sandbox, engine_error};
use crate::runtime::store::StoreState;
use crate::runtime::wording::{self, Slot as Placeholder};

/// A count in a report table: exact, or suppressed for publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// The exact count.
    Exact(u64),
    /// A count from 1 to the threshold minus one, shown as `<threshold`.
    Suppressed(u64),
    /// A count hidden so that no suppressed count beside it can be worked
    /// out from a total (complementary suppression), shown as `withheld`.
    Withheld,
    /// Not a count of cases: a value the host took from the plugin's
    /// settings (a target declared with `x-kinga-report-cells` in its
    /// settings schema), never suppressed.
    Setting(u64),
}

impl Count {
    /// The text shown for the count.
    pub fn display(&self) -> String {
        match self {
            Count::Exact(n) | Count::Setting(n) => n.to_string(),
            Count::Suppressed(threshold) => format!("<{threshold}"),
            Count::Withheld => WITHHELD.to_owned(),
        }
    }

    pub(crate) fn hidden(&self) -> bool {
        matches!(self, Count::Suppressed(_) | Count::Withheld)
    }
}

/// How a count hidden by complementary suppression is shown.
pub const WITHHELD: &str = "withheld";

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::Exact(n) | Count::Setting(n) => s.serialize_u64(*n),
            Count::Suppressed(_) | Count::Withheld => s.serialize_str(&self.display()),
        }
    }
}

/// One row of a report table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// One label per dimension.
    pub labels: Vec<String>,
    /// The count.
    pub count: Count,
    /// For a cell the host filled from the plugin's settings, the setting's
    /// pointer: the value is not a count of cases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
}

/// A table of labelled counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportTable {
    /// Stable id within the template.
    pub id: String,
    /// Title.
    pub title: String,
    /// What is counted.
    pub unit: String,
    /// Dimension names.
    pub dimensions: Vec<String>,
    /// Rows.
    pub rows: Vec<ReportRow>,
}

/// A finished report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The plugin that built it.
    pub plugin: String,
    /// Its version.
    pub plugin_version: String,
    /// The template.
    pub template: String,
    /// Title.
    pub title: String,
    /// How many cases were added.
    pub cases: u64,
    /// Set when small cells were suppressed for publication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed_below: Option<u64>,
    /// Narrative text, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    /// The tables.
    pub tables: Vec<ReportTable>,
}

impl Report {
    /// Suppresses small cells for publication: counts from 1 to `below − 1`
    /// become `<below`; zero stays zero. Applied by the host so that no
    /// template can forget it.
    ///
    /// Then **complementary suppression**: a line of a table (its rows that
    /// agree on every label but one) that hides exactly one count would
    /// give it away to anyone who knows the line's total (from another
    /// table, a coarser report or the number of cases), so the smallest
    /// other count of the line is withheld too (a zero only when nothing
    /// else is left), repeated until no line hides exactly one. This is the
    /// hypercube rule of statistical disclosure control, applied in every
    /// dimension of every table — and across tables: where one table is a
    /// margin of another (its counts are the other's summed over some
    /// dimensions: the host finds this from the counts), a margin's
    /// count and the counts it sums form a group that never hides exactly
    /// one either.
    pub fn suppress_small_cells(&mut self, below: u64) {
        // Found while every count is still exact.
        let groups = crate::runtime::margins::groups(&self.tables);
        for row in self.tables.iter_mut().flat_map(|t| t.rows.iter_mut()) {
            if let Count::Exact(n) = row.count
                && n > 0
                && n < below
            {
                row.count = Count::Suppressed(below);
            }
        }
        loop {
            let mut changed = false;
            for table in &mut self.tables {
                changed |= withhold_complements(table);
            }
            changed |= crate::runtime::margins::withhold_in_groups(&mut self.tables, &groups);
            if !changed {
                break;
            }
        }
        self.suppressed_below = Some(below);
    }
}

/// Withholds counts until no line of `table` hides exactly one; returns
/// whether it withheld any.
fn withhold_complements(table: &mut ReportTable) -> bool {
    let dimensions = table.dimensions.len();
    let mut any = false;
    loop {
        let mut changed = false;
        for free in 0..dimensions {
            let mut lines: BTreeMap<Vec<&str>, Vec<usize>> = BTreeMap::new();
            for (i, row) in table.rows.iter().enumerate() {
                let fixed: Vec<&str> = row
                    .labels
                    .iter()
                    .enumerate()
                    .filter(|(d, _)| *d != free)
                    .map(|(_, l)| l.as_str())
                    .collect();
                lines.entry(fixed).or_default().push(i);
            }
            let lonely: Vec<usize> = lines
                .values()
                .filter(|line| {
                    line.iter()
                        .filter(|&&i| table.rows[i].count.hidden())
                        .count()
                        == 1
                })
                .filter_map(|line| {
                    let exact = |i: &&usize| match table.rows[**i].count {
                        Count::Exact(n) => Some((n == 0, n)),
                        _ => None,
                    };
                    line.iter()
                        .filter_map(|i| exact(&i).map(|key| (key, *i)))
                        .min()
                        .map(|(_, i)| i)
                })
                .collect();
            for i in lonely {
                table.rows[i].count = Count::Withheld;
                changed = true;
                any = true;
            }
        }
        if !changed {
            break any;
        }
    }
}

/// A report being built. Add cases with [`ReportRun::add`], then call
/// [`ReportRun::finish`].
pub struct ReportRun<'h> {
    sandbox: &'h Sandbox,
    plugin: &'h LoadedPlugin,
    store: Store<StoreState>,
    instance: ReportingCore,
    handle: Option<ResourceAny>,
    cases: u64,
    /// What the report has been given so far, as the breaker tells inputs
    /// apart: the template, parameters and as-of, then each case.
    input: Fingerprint,
    /// The as-of every case is checked at.
    as_of: AsOf,
    /// The template asked for, as its plugin declared it.
    template: &'h TemplateDescription,
    /// The parameters asked for, which its title and narrative quote.
    parameters: Vec<(String, String)>,
    /// The budget of the request the report is made for, if any.
    budget: Option<Arc<RequestBudget>>,
    /// The plugin's and the host's slot, held for the whole report.
    _slots: (Slot<'h>, Slot<'h>),
}

impl<'h> ReportRun<'h> {
    pub(crate) fn open(
        sandbox: &'h Sandbox,
        plugin: &'h LoadedPlugin,
        template: &str,
        parameters: &[(String, String)],
        as_of: AsOf,
    ) -> Result<ReportRun<'h>, Error> {
        let WorldPre::Reporting(pre) = &plugin.pre else {
            return Err(wrong_kind(plugin, PluginKind::Reporting));
        };
        let Some(declared_template) = plugin
            .description
            .templates
            .iter()
            .find(|t| t.id == template)
        else {
            return Err(Error::UnknownTemplate(template.to_owned()));
        };
        let ctx = plugin.context(
            &as_of
                .to_offset(crate::case::asof::EAST_AFRICA_TIME)
                .to_rfc3339(),
        );
        let mut opening = vec![template];
        for (name, value) in parameters {
            opening.extend([name.as_str(), value.as_str()]);
        }
        let input = plugin.input_fingerprint(&ctx, &opening);
        let slots = sandbox.slots_for(plugin, Some(input))?;
        let mut store = sandbox.store(plugin)?;
        store.data_mut().remember_cases();
        let opened = pre.instantiate(&mut store).and_then(|instance| {
            let answer = instance
                .kinga_plugin_reporting()
                .report()
                .call_open(&mut store, &ctx, template, parameters)?;
            Ok((instance, answer))
        });
        match opened {
            Ok((instance, Ok(handle))) => Ok(ReportRun {
                sandbox,
                plugin,
                store,
                instance,
                handle: Some(handle),
                cases: 0,
                input,
                as_of,
                template: declared_template,
                parameters: parameters.to_vec(),
                budget: None,
                _slots: slots,
            }),
            Ok((_, Err(e))) => Err(plugin.declared.refusal(&plugin.description.id, e, None)),
            Err(e) => {
                let error = sandbox.failed(plugin, &store, &e);
                sandbox.record_outcome(plugin, Some(input), Some(&error));
                Err(error)
            }
        }
    }

    /// Spends from `budget`, shared with the rest of one request: its log
    /// bytes, its deadline, its cancellation.
    pub fn budget(mut self, budget: Arc<RequestBudget>) -> Self {
        self.store.data_mut().share_budget(Arc::clone(&budget));
        self.budget = Some(budget);
        self
    }

    /// Adds one case (reduced to the fields the plugin declared).
    ///
    /// # Errors
    /// [`Error::InvalidCase`] for a case that cannot be counted at the
    /// report's as-of (nothing is added); [`Error::RequestStopped`]; the
    /// plugin's refusal of the case, or its containment; after a
    /// containment every later call fails too.
    pub fn add(&mut self, case: &ValidCase) -> Result<(), Error> {
        if let Some(budget) = &self.budget {
            budget.check()?;
        }
        check_case_at(case, self.as_of)?;
        let handle = self.live_handle()?;
        self.rearm()?;
        let projected = self.plugin.case_for(case)?;
        self.store
            .data_mut()
            .redact(crate::case::identifying_values(&projected));
        let json = crate::case::canonical_json(&projected);
        self.input = self.plugin.breaker.chain(self.input, &json);
        let answer = self.instance.kinga_plugin_reporting().report().call_add(
            &mut self.store,
            handle,
            &json,
        );
        match answer {
            Ok(Ok(())) => {
                self.cases += 1;
                Ok(())
            }
            Ok(Err(e)) => {
                Err(self
                    .plugin
                    .declared
                    .refusal(&self.plugin.description.id, e, Some(&projected)))
            }
            Err(e) => {
                self.handle = None;
                let error = self.sandbox.failed(self.plugin, &self.store, &e);
                self.sandbox
                    .record_outcome(self.plugin, Some(self.input), Some(&error));
                Err(error)
            }
        }
    }

    /// How many cases were added.
    pub fn cases(&self) -> u64 {
        self.cases
    }

    /// Finishes the report and checks its tables.
    ///
    /// # Errors
    /// The plugin's failure, or [`Error::InvalidOutput`] for malformed tables.
    pub fn finish(mut self) -> Result<Report, Error> {
        if let Some(budget) = &self.budget {
            budget.check()?;
        }
        let handle = self.live_handle()?;
        self.rearm()?;
        let answer = self
            .instance
            .kinga_plugin_reporting()
            .report()
            .call_finish(&mut self.store, handle);
        let output = match answer {
            Ok(Ok(output)) => output,
            Ok(Err(e)) => {
                return Err(self
                    .plugin
                    .declared
                    .refusal(&self.plugin.description.id, e, None));
            }
            Err(e) => {
                let error = self.sandbox.failed(self.plugin, &self.store, &e);
                self.sandbox
                    .record_outcome(self.plugin, Some(self.input), Some(&error));
                return Err(error);
            }
        };
        let _ = handle.resource_drop(&mut self.store);
        let checked = self.check(output).and_then(|(report, bytes)| {
            let limits = self.sandbox.limits();
            let fuel_used = limits
                .fuel
                .saturating_sub(self.store.get_fuel().unwrap_or(0));
            charge_answer(self.plugin, limits, fuel_used, bytes)?;
            Ok(report)
        });
        self.sandbox
            .record_outcome(self.plugin, Some(self.input), checked.as_ref().err());
        checked
    }

    fn live_handle(&self) -> Result<ResourceAny, Error> {
        self.handle.ok_or_else(|| Error::InvalidOutput {
            plugin: self.plugin.description.id.clone(),
            pointer: String::new(),
            message: "the report was stopped earlier and cannot continue".into(),
        })
    }

    fn rearm(&mut self) -> Result<(), Error> {
        self.store
            .set_fuel(self.sandbox.limits().fuel)
            .map_err(engine_error)?;
        self.store
            .set_epoch_deadline(deadline_ticks(self.sandbox.limits().deadline));
        Ok(())
    }

    /// Checks the finished counts against the template's declaration and
    /// renders the report from it; returns the report and its size as JSON.
    ///
    /// Every table named is declared, each once; every row has one declared
    /// label per dimension, each set of labels once, and a count no larger
    /// than the cases added. Titles, units, dimension names and the
    /// narrative come from the declaration; the title and narrative quote
    /// the request's parameters.
    fn check(&self, output: wit_reporting::ReportOutput) -> Result<(Report, usize), Error> {
        let plugin = &self.plugin.description;
        let invalid = |pointer: String, message: &str| Error::InvalidOutput {
            plugin: plugin.id.clone(),
            pointer,
            message: message.to_owned(),
        };
        let cells = crate::runtime::setting_cells::declared(&plugin.settings_schema)
            .map_err(|problem| invalid(String::new(), &problem))?;
        let settings: Value = serde_json::from_str(&self.plugin.settings_json)
            .map_err(|_| invalid(String::new(), "its settings cannot be read"))?;
        let mut counted: Vec<Option<Vec<ReportRow>>> = vec![None; self.template.tables.len()];
        let mut items = 0usize;
        for (t, table) in output.tables.into_iter().enumerate() {
            let Some(slot) = self.template.tables.iter().position(|d| d.id == table.id) else {
                return Err(invalid(
                    format!("/tables/{t}/id"),
                    "is a table the template did not declare",
                ));
            };
            if counted[slot].is_some() {
                return Err(invalid(
                    format!("/tables/{t}/id"),
                    "a second table with the same id",
                ));
            }
            let declared = &self.template.tables[slot];
            let mut seen = BTreeSet::new();
            let mut rows = Vec::with_capacity(table.rows.len());
            for (r, row) in table.rows.into_iter().enumerate() {
                let at = format!("/tables/{t}/rows/{r}");
                if row.labels.len() != declared.dimensions.len() {
                    return Err(invalid(
                        format!("{at}/labels"),
                        "needs one label per dimension",
                    ));
                }
                if let Some(l) = row
                    .labels
                    .iter()
                    .zip(&declared.dimensions)
                    .position(|(label, dimension)| !dimension.labels.contains(label))
                {
                    return Err(invalid(
                        format!("{at}/labels/{l}"),
                        "is a label its dimension did not declare",
                    ));
                }
                if row.count > self.cases {
                    return Err(invalid(
                        format!("{at}/count"),
                        "is larger than the number of cases added",
                    ));
                }
                if !seen.insert(row.labels.clone()) {
                    return Err(invalid(
                        format!("{at}/labels"),
                        "a second row with the same labels",
                    ));
                }
                if crate::runtime::setting_cells::of_table(&cells, &self.template.id, &table.id)
                    .any(|cell| cell.labels == row.labels)
                {
                    return Err(invalid(
                        format!("{at}/labels"),
                        "is a cell the host fills from the plugin's settings",
                    ));
                }
                rows.push(ReportRow {
                    labels: row.labels,
                    count: Count::Exact(row.count),
                    setting: None,
                });
            }
            items += rows.len();
            counted[slot] = Some(rows);
        }
        if items > self.sandbox.limits().output_items * 10 {
            return Err(invalid(String::new(), "has more rows than the limit"));
        }
        let parameters = |slot: Placeholder<'_>| match slot {
            Placeholder::Parameter(name) => self
                .parameters
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone()),
            Placeholder::Setting(_) => None,
        };
        let report = Report {
            plugin: plugin.id.clone(),
            plugin_version: plugin.version.clone(),
            template: self.template.id.clone(),
            title: wording::render(&self.template.title, parameters),
            cases: self.cases,
            suppressed_below: None,
            narrative: self
                .template
                .narrative
                .as_ref()
                .map(|n| wording::render(n, parameters)),
            tables: self
                .template
                .tables
                .iter()
                .zip(counted)
                .map(|(declared, rows)| {
                    let mut rows = rows.unwrap_or_default();
                    let mut filled = false;
                    for cell in crate::runtime::setting_cells::of_table(
                        &cells,
                        &self.template.id,
                        &declared.id,
                    ) {
                        filled = true;
                        let value = crate::runtime::setting_cells::value(cell, &settings)
                            .ok_or_else(|| {
                                invalid(
                                    String::new(),
                                    "a setting that fills a report cell holds no whole number",
                                )
                            })?;
                        rows.push(ReportRow {
                            labels: cell.labels.clone(),
                            count: Count::Setting(value),
                            setting: Some(cell.setting.clone()),
                        });
                    }
                    if filled {
                        // Each target beside what was reached: rows in the
                        // order the dimensions declare their labels.
                        rows.sort_by_key(|row| {
                            row.labels
                                .iter()
                                .zip(&declared.dimensions)
                                .map(|(label, d)| d.labels.iter().position(|l| l == label))
                                .collect::<Vec<_>>()
                        });
                    }
                    Ok(ReportTable {
                        id: declared.id.clone(),
                        title: declared.title.clone(),
                        unit: declared.unit.clone(),
                        dimensions: declared.dimensions.iter().map(|d| d.name.clone()).collect(),
                        rows,
                    })
                })
                .collect::<Result<Vec<_>, Error>>()?,
        };
        let value = serde_json::to_value(&report)
            .map_err(|_| invalid(String::new(), "cannot be represented"))?;
        let bytes = serde_json::to_vec(&value)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if bytes > self.sandbox.limits().output_bytes * 8 {
            return Err(invalid(String::new(), "is larger than the limit"));
        }
        if let Some(v) = schema::violations(schema::report(), &value, 1)
            .into_iter()
            .next()
        {
            return Err(invalid(v.pointer, &v.message));
        }
        Ok((report, bytes))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn table(dimensions: &[&str], rows: &[(&[&str], u64)]) -> ReportTable {
        table_named("t", dimensions, rows)
    }

    /// A table of exact counts (also the margins tests' fixture).
    pub(crate) fn table_named(
        id: &str,
        dimensions: &[&str],
        rows: &[(&[&str], u64)],
    ) -> ReportTable {
        ReportTable {
            id: id.into(),
            title: id.into(),
            unit: "cases".into(),
            dimensions: dimensions.iter().map(|d| (*d).to_owned()).collect(),
            rows: rows
                .iter()
                .map(|(labels, n)| ReportRow {
                    setting: None,
                    labels: labels.iter().map(|l| (*l).to_owned()).collect(),
                    count: Count::Exact(*n),
                })
                .collect(),
        }
    }

    fn published(tables: Vec<ReportTable>) -> Vec<Vec<String>> {
        let mut report = Report {
            plugin: "p".into(),
            plugin_version: "1.0.0".into(),
            template: "t".into(),
            title: "T".into(),
            cases: 0,
            suppressed_below: None,
            narrative: None,
            tables,
        };
        report.suppress_small_cells(5);
        report
            .tables
            .iter()
            .map(|t| t.rows.iter().map(|r| r.count.display()).collect())
            .collect()
    }

    #[test]
    fn a_lone_small_count_takes_the_smallest_other_count_of_its_line_with_it() {
        let shown = published(vec![table(
            &["sex"],
            &[(&["female"], 3), (&["male"], 12), (&["unknown"], 40)],
        )]);
        assert_eq!(shown, [["<5", "withheld", "40"]]);
    }

    #[test]
    fn two_small_counts_in_a_line_need_nothing_more() {
        let shown = published(vec![table(
            &["sex"],
            &[(&["female"], 3), (&["male"], 2), (&["unknown"], 40)],
        )]);
        assert_eq!(shown, [["<5", "<5", "40"]]);
    }

    #[test]
    fn a_zero_is_withheld_only_when_no_other_count_is_left() {
        let shown = published(vec![table(&["sex"], &[(&["female"], 3), (&["male"], 0)])]);
        assert_eq!(shown, [["<5", "withheld"]]);
    }

    #[test]
    fn every_line_of_every_dimension_hides_none_or_at_least_two() {
        // county x sex: the small cell's row and column each need a
        // complement, and the complements' own lines then need theirs.
        let rows: &[(&[&str], u64)] = &[
            (&["kwale", "female"], 2),
            (&["kwale", "male"], 30),
            (&["kilifi", "female"], 20),
            (&["kilifi", "male"], 25),
            (&["mombasa", "female"], 50),
            (&["mombasa", "male"], 60),
        ];
        let mut report = Report {
            plugin: "p".into(),
            plugin_version: "1.0.0".into(),
            template: "t".into(),
            title: "T".into(),
            cases: 187,
            suppressed_below: None,
            narrative: None,
            tables: vec![table(&["county", "sex"], rows)],
        };
        report.suppress_small_cells(5);
        let t = &report.tables[0];
        for free in 0..2 {
            let mut lines: BTreeMap<&str, usize> = BTreeMap::new();
            for row in &t.rows {
                let fixed = row.labels[1 - free].as_str();
                *lines.entry(fixed).or_default() += usize::from(row.count.hidden());
            }
            assert!(lines.values().all(|&h| h != 1), "{:?}", t.rows);
        }
        let hidden: Vec<&str> = t
            .rows
            .iter()
            .filter(|r| r.count.hidden())
            .map(|r| r.labels[0].as_str())
            .collect();
        assert_eq!(
            hidden,
            ["kwale", "kwale", "kilifi", "kilifi"],
            "{:?}",
            t.rows
        );
    }
}
