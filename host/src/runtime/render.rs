//! Rendering report tables as JSON, CSV and Markdown.
//!
//! Text that came from a plugin is neutralised for each format: control and
//! bidirectional-formatting characters are replaced, CSV cells that a
//! spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a
//! tab or a carriage return) are prefixed with `'`, and Markdown cells have
//! their table and HTML syntax escaped.

use crate::runtime::report::Report;
use crate::text::{csv_cell, md_cell};

/// An output format for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Pretty-printed JSON following `schemas/report.schema.json`.
    Json,
    /// One CSV section per table (`table,<dimensions...>,count`), separated
    /// by a blank line.
    Csv,
    /// A Markdown document with one table per report table.
    Markdown,
}

/// Renders `report` in `format`.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
        Format::Csv => csv(report),
        Format::Markdown => markdown(report),
    }
}

fn csv(report: &Report) -> String {
    let mut out = Vec::new();
    for (i, table) in report.tables.iter().enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        let mut writer = ::csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        let mut header = vec!["table".to_owned()];
        header.extend(table.dimensions.iter().map(|d| csv_cell(d)));
        header.push(csv_cell(&table.unit));
        let _ = writer.write_record(&header);
        for row in &table.rows {
            let mut record = vec![csv_cell(&table.id)];
            record.extend(row.labels.iter().map(|l| csv_cell(l)));
            record.push(row.count.display());
            let _ = writer.write_record(&record);
        }
        out.extend(writer.into_inner().unwrap_or_default());
    }
    String::from_utf8(out).unwrap_or_default()
}

fn markdown(report: &Report) -> String {
    let mut out = format!("# {}\n\n", md_cell(&report.title));
    out.push_str(&format!(
        "Template `{}` from plugin `{}` {} · {} cases",
        md_cell(&report.template),
        md_cell(&report.plugin),
        md_cell(&report.plugin_version),
        report.cases
    ));
    if let Some(below) = report.suppressed_below {
        out.push_str(&format!(
            " · counts from 1 to {} shown as <{below}; `withheld` hides a count that would give one of them away",
            below - 1
        ));
    }
    out.push_str("\n\n");
    if let Some(narrative) = &report.narrative {
        out.push_str(&md_cell(narrative));
        out.push_str("\n\n");
    }
    for table in &report.tables {
        out.push_str(&format!("## {}\n\n", md_cell(&table.title)));
        let mut header: Vec<String> = table.dimensions.iter().map(|d| md_cell(d)).collect();
        header.push(md_cell(&table.unit));
        out.push_str(&format!("| {} |\n", header.join(" | ")));
        let mut rule: Vec<&str> = table.dimensions.iter().map(|_| "---").collect();
        rule.push("---:");
        out.push_str(&format!("|{}|\n", rule.join("|")));
        if table.rows.is_empty() {
            out.push_str(&format!("|{}|\n", vec![" "; header.len()].join("|")));
        }
        for row in &table.rows {
            let mut cells: Vec<String> = row.labels.iter().map(|l| md_cell(l)).collect();
            cells.push(row.count.display());
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("kwale"), "kwale");
    }

    /// Found while fuzzing (`report_render`): a label holding a comma and a
    /// formula character is one quoted cell that starts safely, not two.
    #[test]
    fn a_comma_before_a_formula_character_stays_inside_one_quoted_cell() {
        let report = Report {
            plugin: "p".into(),
            plugin_version: "0".into(),
            template: "t".into(),
            title: "t".into(),
            cases: 1,
            suppressed_below: None,
            narrative: None,
            tables: vec![crate::runtime::report::ReportTable {
                id: "t".into(),
                title: "t".into(),
                unit: "cases".into(),
                dimensions: vec!["d".into()],
                rows: vec![crate::runtime::report::ReportRow {
                    labels: vec!["x,@`\"\"".into(), "=1+1".into()],
                    count: crate::runtime::report::Count::Exact(1),
                    setting: None,
                }],
            }],
        };
        let text = render(&report, Format::Csv);
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        assert_eq!(rows[1], ["t", "x,@`\"\"", "'=1+1", "1"]);
    }

    #[test]
    fn control_and_bidi_characters_are_replaced() {
        assert_eq!(csv_cell("a\u{1b}[31mb\u{202e}c"), "a?[31mb?c");
    }

    #[test]
    fn markdown_cells_cannot_break_tables_or_inject_html() {
        assert_eq!(md_cell("a|b"), "a\\|b");
        assert_eq!(md_cell("<script>"), "&lt;script>");
        assert_eq!(md_cell("<5"), "<5");
    }
}
