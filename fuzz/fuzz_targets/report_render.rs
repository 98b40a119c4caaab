//! Arbitrary report tables rendered as CSV and Markdown: never a panic, no
//! control or bidi character in the output, no cell a spreadsheet would run
//! as a formula, no raw HTML tag in Markdown.

#![no_main]

use kinga_host::{Count, Format, Report, ReportRow, ReportTable, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (
    String,
    Vec<(String, Vec<String>, Vec<(Vec<String>, u64)>)>,
    Option<u8>
)| {
    let (title, tables, suppress) = input;
    let mut report = Report {
        plugin: "fuzz".into(),
        plugin_version: "0".into(),
        template: "fuzz".into(),
        title,
        cases: 0,
        suppressed_below: None,
        narrative: None,
        tables: tables
            .into_iter()
            .map(|(id, dimensions, rows)| ReportTable {
                id: id.clone(),
                title: id,
                unit: "cases".into(),
                dimensions,
                rows: rows
                    .into_iter()
                    .map(|(labels, n)| ReportRow {
                        labels,
                        count: Count::Exact(n),
                    })
                    .collect(),
            })
            .collect(),
    };
    if let Some(below) = suppress {
        report.suppress_small_cells(u64::from(below.max(2)));
    }
    let csv_text = render(&report, Format::Csv);
    assert!(
        !csv_text
            .chars()
            .any(|c| kinga_host::is_unsafe_char(c) && c != '\n' && c != '\r')
    );
    // Read the CSV back as a spreadsheet would, field by field (a naive
    // split on commas once mistook a quoted "x,@..." for a formula cell).
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv_text.as_bytes());
    for record in reader.records() {
        let record = record.expect("the CSV parses");
        for field in record.iter() {
            assert!(
                !field.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula cell: {field:?}"
            );
        }
    }
    let md = render(&report, Format::Markdown);
    assert!(
        !md.chars()
            .any(|c| kinga_host::is_unsafe_char(c) && c != '\n')
    );
    assert!(!md.contains("<script"), "raw HTML in Markdown");
});
