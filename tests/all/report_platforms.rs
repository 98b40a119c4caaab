//! Reports and shadow runs read from a platform's own documents
//! (`--from`), and the quarterly report written to DHIS2 as a data value
//! set (`--to dhis2`), through the real binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

use crate::support::{assert_success, kinga, kinga_at, repo_json as read, stderr, stdout};

const AS_OF: &str = "2026-09-30";

/// A synthetic caseload of `count` cases in `dir`.
fn caseload(dir: &Path, count: &str) -> String {
    let file = dir.join("cases.jsonl");
    let output = kinga(&[
        "synth",
        "--count",
        count,
        "--seed",
        "7",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_success(&output);
    file.display().to_string()
}

/// Every row of every table of a report, by (table, labels).
fn rows(report: &Value) -> BTreeMap<(String, Vec<String>), Value> {
    let mut rows = BTreeMap::new();
    for table in report["tables"].as_array().unwrap() {
        for row in table["rows"].as_array().unwrap() {
            let labels = row["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_owned())
                .collect();
            rows.insert(
                (table["id"].as_str().unwrap().to_owned(), labels),
                row["count"].clone(),
            );
        }
    }
    rows
}

#[test]
fn the_quarterly_report_becomes_a_dhis2_data_value_set_with_its_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let cases = caseload(dir.path(), "400");
    let output = kinga(&[
        "report",
        "baf-quarterly",
        "--cases",
        &cases,
        "--param",
        "period=2026-Q3",
        "--to",
        "dhis2",
    ]);
    assert_success(&output);
    let printed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let (report, delivery) = (&printed["report"], &printed["delivery"]);
    let mapping = &read("profiles/dhis2-example.json")["outbound"]["reports"]["baf-quarterly"];
    assert_eq!(delivery["period"], json!("2026Q3"));
    let request = &delivery["requests"][0];
    assert_eq!(request["method"], json!("POST"));
    assert_eq!(request["path"], json!("/api/dataValueSets"));
    assert_eq!(
        request["query"]["importStrategy"],
        json!("CREATE_AND_UPDATE")
    );
    assert_eq!(request["body"]["dataSet"], mapping["data_set"]);
    let values = request["body"]["dataValues"].as_array().unwrap();

    // Each value back to its row: every sent count is the report's count,
    // placed where the profile says.
    let by_cell: BTreeMap<(String, String, String), String> = values
        .iter()
        .map(|v| {
            assert_eq!(v["period"], json!("2026Q3"));
            (
                (
                    v["dataElement"].as_str().unwrap().to_owned(),
                    v["categoryOptionCombo"].as_str().unwrap().to_owned(),
                    v["orgUnit"].as_str().unwrap().to_owned(),
                ),
                v["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(by_cell.len(), values.len(), "no cell is sent twice");
    let tables: BTreeMap<&str, &Value> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t))
        .collect();
    let mut placed = BTreeSet::new();
    for ((table_id, labels), count) in rows(report) {
        let placement = &mapping["tables"][&table_id];
        let dimensions: Vec<&str> = tables[table_id.as_str()]["dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        let mut element = placement["data_element"].clone();
        let mut combo = Vec::new();
        let mut org_unit = mapping["org_unit"].clone();
        for (dimension, label) in dimensions.iter().zip(&labels) {
            if placement["data_element_by"] == json!(dimension) {
                element = placement["data_elements"][label].clone();
            } else if *dimension == "county" {
                org_unit = mapping["org_units"][label].clone();
            } else {
                combo.push(label.as_str());
            }
        }
        let combo = &placement["category_option_combos"][combo.join("|")];
        let cell = (
            element.as_str().unwrap().to_owned(),
            combo.as_str().unwrap().to_owned(),
            match org_unit.as_str() {
                Some(unit) => unit.to_owned(),
                None => {
                    // A county the profile has no org unit for: listed.
                    assert!(
                        delivery["not_carried"].to_string().contains("no org unit"),
                        "{table_id} {labels:?}"
                    );
                    continue;
                }
            },
        );
        assert_eq!(
            by_cell.get(&cell),
            Some(&count.to_string()),
            "{table_id} {labels:?}"
        );
        placed.insert(cell);
    }
    // Every other mapped cell is an explicit zero.
    assert!(placed.len() > 20, "the caseload fills many cells");
    for (cell, value) in &by_cell {
        if !placed.contains(cell) {
            assert_eq!(value, "0", "{cell:?}");
        }
    }
    assert!(by_cell.values().filter(|v| *v == "0").count() > 10);

    // Published figures: a suppressed count is listed, never sent, never
    // zeroed.
    let output = kinga(&[
        "report",
        "baf-quarterly",
        "--cases",
        &cases,
        "--param",
        "period=2026-Q3",
        "--to",
        "dhis2",
        "--publish",
    ]);
    assert_success(&output);
    let printed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let withheld: Vec<&Value> = printed["delivery"]["not_carried"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| {
            n["why"]
                .as_str()
                .unwrap()
                .starts_with("suppressed for publication")
        })
        .collect();
    assert!(!withheld.is_empty(), "the caseload has small cells");
    let sent = printed["delivery"]["requests"][0]["body"]["dataValues"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(sent + withheld.len(), values.len());
}

#[test]
fn a_report_for_dhis2_needs_a_quarter_and_a_mapped_template() {
    let dir = tempfile::tempdir().unwrap();
    let cases = caseload(dir.path(), "20");
    let output = kinga(&[
        "report",
        "baf-quarterly",
        "--cases",
        &cases,
        "--param",
        "period=2026-09",
        "--to",
        "dhis2",
    ]);
    assert_eq!(output.status.code(), Some(2));
    // The template refuses it before anything is built.
    assert!(
        stderr(&output).contains("bad-period"),
        "{}",
        stderr(&output)
    );
    let output = kinga(&[
        "report",
        "caseload-summary",
        "--cases",
        &cases,
        "--param",
        &format!("as_of={AS_OF}"),
        "--to",
        "dhis2",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("maps no data set for template caseload-summary"),
        "{}",
        stderr(&output)
    );
    let output = kinga(&[
        "report",
        "baf-quarterly",
        "--cases",
        &cases,
        "--to",
        "primero",
    ]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn reports_and_shadow_runs_read_platform_documents() {
    let dir = tempfile::tempdir().unwrap();
    let mut unmapped = read("tests/platforms/primero-1.json");
    unmapped["data"]["sex"] = json!("SYNTHETIC-UNLISTED");
    let lines: String = [
        read("tests/platforms/primero-1.json"),
        read("tests/platforms/primero-3.json"),
        unmapped,
    ]
    .iter()
    .map(|v| v.to_string() + "\n")
    .collect();
    let file = dir.path().join("primero.jsonl");
    std::fs::write(&file, lines).unwrap();
    let file = file.to_str().unwrap();
    let report = |extra: &[&str]| {
        let mut args = vec![
            "report",
            "caseload-summary",
            "--from",
            "primero",
            "--cases",
            file,
            "--param",
            "as_of=2026-09-30",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        kinga(&args)
    };
    let refused = report(&[]);
    assert_eq!(refused.status.code(), Some(2));
    let err = stderr(&refused);
    assert!(err.contains("at line 3, /data"), "{err}");
    assert!(err.contains("/data/sex"), "{err}");
    assert!(
        !err.contains("SYNTHETIC-UNLISTED"),
        "never the value: {err}"
    );
    let skipped = report(&["--skip-invalid"]);
    assert_eq!(skipped.status.code(), Some(2), "skipped records are said");
    let counted: Value = serde_json::from_str(&stdout(&skipped)).unwrap();
    assert_eq!(counted["cases"], json!(2));

    let home = tempfile::tempdir().unwrap();
    let shadow = kinga_at(
        home.path(),
        &[
            "plugins",
            "shadow",
            "kenya-referral-pathway",
            "--set",
            "ec_window_hours=72",
            "--from",
            "primero",
            "--cases",
            file,
            "--as-of",
            AS_OF,
            "--json",
        ],
    );
    assert_success(&shadow);
    let printed: Value = serde_json::from_str(&stdout(&shadow)).unwrap();
    assert_eq!(printed["report"]["cases"], json!(2), "{printed}");
    assert_eq!(printed["left_out"], json!(1));
    assert!(
        stderr(&shadow).contains("1 cases could not be read"),
        "{}",
        stderr(&shadow)
    );
}
