//! The `kinga` binary, run as a person or a script would run it.

use std::io::Write;

use kinga_artifacts::{TEST_ELIGIBILITY, TEST_REFERRAL, TEST_REPORTING};
use serde_json::{Value, json};

use crate::support::{assert_success, stderr};
use crate::support::{kinga, plugin_dir, sample_case};

const AS_OF: &str = "2026-07-01T09:00:00+03:00";

fn write_case(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn eligibility(case_text: &str, extra: &[&str]) -> std::process::Output {
    let plugins = plugin_dir(&[TEST_ELIGIBILITY]);
    let cases = tempfile::tempdir().unwrap();
    let case = write_case(&cases, "case.json", case_text);
    let mut args = vec![
        "--plugins",
        plugins.path().to_str().unwrap(),
        "eligibility",
        "--case",
        &case,
        "--as-of",
        AS_OF,
    ];
    args.extend_from_slice(extra);
    kinga(&args)
}

#[test]
fn eligibility_prints_a_json_array_of_decisions_naming_their_plugin() {
    let output = eligibility(&sample_case().to_string(), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let decisions: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(decisions.len(), 2);
    assert!(decisions.iter().all(|d| d["plugin"] == "test-eligibility"));
    assert_eq!(decisions[0]["status"], "eligible");
}

fn assert_refused(case_text: &str, pointer: &str) {
    let output = eligibility(case_text, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains(pointer), "{message}");
    assert_eq!(message.lines().count(), 1, "one readable line: {message}");
    assert!(output.stdout.is_empty());
    let output = eligibility(case_text, &["--json-errors"]);
    let error: Value = serde_json::from_slice(&output.stderr).unwrap();
    assert_eq!(error["type"], "invalid-case");
    assert_eq!(error["pointer"], pointer);
}

#[test]
fn an_unknown_field_exits_2_naming_its_pointer() {
    let mut case = sample_case();
    case["child"]["name"] = json!("A. Child");
    assert_refused(&case.to_string(), "/child");
}

#[test]
fn a_wrong_type_exits_2_naming_its_pointer() {
    let mut case = sample_case();
    case["child"]["age_estimate_years"] = json!("12");
    assert_refused(&case.to_string(), "/child/age_estimate_years");
}

#[test]
fn a_duplicate_key_exits_2_naming_its_pointer() {
    let text = sample_case().to_string().replacen(
        "\"status\":\"open\"",
        "\"status\":\"open\",\"status\":\"closed\"",
        1,
    );
    assert!(text.contains("\"status\":\"closed\""));
    assert_refused(&text, "/status");
}

#[test]
fn an_impossible_date_exits_2_naming_its_pointer() {
    let mut case = sample_case();
    case["registered_on"] = json!("2026-02-30");
    assert_refused(&case.to_string(), "/registered_on");
}

#[test]
fn a_bad_as_of_is_bad_usage() {
    let output = eligibility(&sample_case().to_string(), &["--as-of", "yesterday"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("as-of"));
}

#[test]
fn a_batch_reports_each_case_on_its_line_and_a_bad_case_never_stops_it() {
    let plugins = plugin_dir(&[TEST_ELIGIBILITY]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    let mut second = sample_case();
    second["case_id"] = json!("T-0002");
    second["status"] = json!("closed");
    writeln!(file, "{}", sample_case()).unwrap();
    writeln!(file, "{{\"case_id\": \"T-BAD\", \"oops\": 1}}").unwrap();
    writeln!(file).unwrap();
    writeln!(file, "{second}").unwrap();
    drop(file);
    let output = kinga(&[
        "--plugins",
        plugins.path().to_str().unwrap(),
        "eligibility",
        "--cases",
        path.to_str().unwrap(),
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a bad case makes the batch exit 2"
    );
    let lines: Vec<Value> = String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["case_id"], "T-0001");
    assert_eq!(lines[0]["decisions"].as_array().unwrap().len(), 2);
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["error"]["type"], "invalid-case");
    assert_eq!(lines[2]["line"], 4);
    assert_eq!(lines[2]["case_id"], "T-0002");
    assert_eq!(lines[2]["decisions"][0]["status"], "ineligible");
    assert!(stderr(&output).contains("1 of 3 cases"));
}

#[test]
fn route_prints_referrals_in_urgency_order() {
    let plugins = plugin_dir(&[TEST_REFERRAL]);
    let dir = tempfile::tempdir().unwrap();
    let case = write_case(&dir, "case.json", &sample_case().to_string());
    let output = kinga(&[
        "--plugins",
        plugins.path().to_str().unwrap(),
        "route",
        "--case",
        &case,
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let referrals: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let urgencies: Vec<&str> = referrals
        .iter()
        .map(|r| r["urgency"].as_str().unwrap())
        .collect();
    assert_eq!(urgencies, ["emergency", "within-24h"]);
}

/// No suppressed count of a published report can be worked out from a
/// total: in every table, every line (rows agreeing on all labels but one)
/// hides no count or at least two.
#[test]
fn a_published_report_never_hides_exactly_one_count_of_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.jsonl");
    let out = kinga(&[
        "synth",
        "--count",
        "400",
        "--seed",
        "7",
        "--out",
        cases.to_str().unwrap(),
    ]);
    assert_success(&out);
    let out = kinga(&[
        "report",
        "baf-quarterly",
        "--param",
        "period=2026-Q3",
        "--cases",
        cases.to_str().unwrap(),
        "--format",
        "json",
        "--publish",
    ]);
    assert_success(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut withheld = 0;
    for table in report["tables"].as_array().unwrap() {
        let rows = table["rows"].as_array().unwrap();
        let dimensions = table["dimensions"].as_array().unwrap().len();
        for free in 0..dimensions {
            let mut lines: std::collections::BTreeMap<Vec<String>, (usize, usize)> =
                std::collections::BTreeMap::new();
            for row in rows {
                let fixed: Vec<String> = row["labels"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .enumerate()
                    .filter(|(d, _)| *d != free)
                    .map(|(_, l)| l.as_str().unwrap().to_owned())
                    .collect();
                let line = lines.entry(fixed).or_default();
                line.0 += 1;
                line.1 += usize::from(row["count"].is_string());
                withheld += usize::from(row["count"] == "withheld");
            }
            for (fixed, (size, hidden)) in lines {
                assert!(
                    size < 2 || hidden != 1,
                    "table {} line {fixed:?} hides exactly one count",
                    table["id"]
                );
            }
        }
    }
    assert!(withheld > 0, "the caseload needs complementary suppression");
}

/// Where one table of a report is the margin of another (cases by sex
/// beside cases by sex and status), a count withheld in one is never shown
/// in the other: the margin's count and the counts it sums are suppressed
/// together.
#[test]
fn a_published_report_links_a_table_to_its_margin() {
    let plugins = plugin_dir(&[TEST_REPORTING]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    // 3 female survivors (suppressed) and 20 male survivors: within the
    // detailed table, the survivor column hides one, so the 20 is withheld;
    // the margin's male total is the same 20.
    for (i, sex) in ["female"; 3].iter().chain(["male"; 20].iter()).enumerate() {
        let mut case = sample_case();
        case["case_id"] = json!(format!("M-{i}"));
        case["child"]["sex"] = json!(sex);
        writeln!(file, "{case}").unwrap();
    }
    drop(file);
    let output = kinga(&[
        "--plugins",
        plugins.path().to_str().unwrap(),
        "report",
        "count-with-margin",
        "--param",
        "label=Q3",
        "--cases",
        path.to_str().unwrap(),
        "--format",
        "csv",
        "--publish",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "table,sex,survivor_status,cases\n\
         by-sex,female,survivor,<5\n\
         by-sex,male,survivor,withheld\n\
         \n\
         table,sex,cases\n\
         sex-totals,female,<5\n\
         sex-totals,male,withheld\n"
    );
}

#[test]
fn report_renders_csv_with_small_cells_suppressed_under_publish() {
    let plugins = plugin_dir(&[TEST_REPORTING]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    for (i, sex) in ["female"; 6].iter().chain(["male"; 2].iter()).enumerate() {
        let mut case = sample_case();
        case["case_id"] = json!(format!("R-{i}"));
        case["child"]["sex"] = json!(sex);
        writeln!(file, "{case}").unwrap();
    }
    drop(file);
    let base = [
        "--plugins",
        plugins.path().to_str().unwrap(),
        "report",
        "count-by-sex",
        "--cases",
        path.to_str().unwrap(),
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        kinga(&args)
    };
    let output = run(&["--param", "label=Q3", "--format", "csv", "--publish"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        // The report says 8 cases: showing the 6 would give the <5 away.
        "table,sex,survivor_status,cases\nby-sex,female,survivor,withheld\nby-sex,male,survivor,<5\n"
    );
    let output = run(&["--param", "label=Q3", "--format", "csv"]);
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("by-sex,male,survivor,2")
    );
    let output = run(&["--format", "csv"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a missing parameter is bad input"
    );
}

#[test]
fn plugins_list_shows_kinds_versions_and_rules() {
    let plugins = plugin_dir(&[TEST_ELIGIBILITY, TEST_REPORTING]);
    let output = kinga(&[
        "--plugins",
        plugins.path().to_str().unwrap(),
        "plugins",
        "list",
    ]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("test-eligibility  eligibility 0.1.0"),
        "{text}"
    );
    assert!(text.contains("[on ] open-case"), "{text}");
    assert!(text.contains("template count-by-sex"), "{text}");
    let output = kinga(&[
        "--plugins",
        plugins.path().to_str().unwrap(),
        "plugins",
        "list",
        "--json",
    ]);
    let all: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(all.len(), 2);
}

#[test]
fn a_broken_plugin_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.wasm"), b"not wasm").unwrap();
    let output = kinga(&["--plugins", dir.path().to_str().unwrap(), "plugins", "list"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("broken.wasm"));
}

/// A report plugin that logs the previous child's id and birthday,
/// disguised, while the host watches for the current child's: every such
/// line is withheld, through the binary.
#[test]
fn a_report_plugin_never_logs_a_case_added_before() {
    let rival = plugin_dir(&[kinga_artifacts::TEST_REPORTING_RIVAL]);
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.jsonl");
    let lines: Vec<String> = ["2013-02-11", "2012-05-06", "2014-09-30"]
        .iter()
        .enumerate()
        .map(|(i, born)| {
            let mut case = sample_case();
            case["case_id"] = serde_json::json!(format!("KWL-2026-{:04}", i + 1));
            case["child"]["date_of_birth"] = serde_json::json!(born);
            format!("{case}\n")
        })
        .collect();
    std::fs::write(&cases, lines.concat()).unwrap();
    let out = crate::support::kinga_env(
        &[("KINGA_LOG", "kinga::plugin=info"), ("NO_COLOR", "1")],
        &[
            "--plugins",
            rival.path().to_str().unwrap(),
            "report",
            "tattler",
            "--cases",
            cases.to_str().unwrap(),
        ],
    );
    assert_success(&out);
    let log = stderr(&out);
    for leak in ["the one before", "born ", "kwl-2026", "0001-6202-lwk"] {
        assert!(!log.to_lowercase().contains(leak), "{leak}: {log}");
    }
    // Two lines for each case after the first: all four were written, and
    // withheld.
    assert!(log.contains("withheld=4"), "{log}");
}

#[test]
fn a_template_belongs_to_one_plugin_and_is_answered_only_as_itself() {
    // A second plugin offering a template already offered is refused at
    // load, as a second plugin with the same id is.
    let both = plugin_dir(&[TEST_REPORTING, kinga_artifacts::TEST_REPORTING_RIVAL]);
    let out = kinga(&[
        "--plugins",
        both.path().to_str().unwrap(),
        "plugins",
        "list",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "plugin test-reporting-rival offers the report template count-by-sex, which plugin test-reporting already offers"
        ),
        "{}",
        stderr(&out)
    );
    // Alone, it answers with a table its template did not declare (another
    // plugin's), and with a count larger than the cases it was given: both
    // refused, and nothing is reported.
    let rival = plugin_dir(&[kinga_artifacts::TEST_REPORTING_RIVAL]);
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.jsonl");
    std::fs::write(&cases, format!("{}\n", sample_case())).unwrap();
    for (template, refusal) in [
        (
            "rival-summary",
            "/tables/0/id: is a table the template did not declare",
        ),
        (
            "inflated",
            "/tables/0/rows/0/count: is larger than the number of cases added",
        ),
        (
            "forged-target",
            "/tables/0/rows/0/labels: is a cell the host fills from the plugin's settings",
        ),
    ] {
        let out = kinga(&[
            "--plugins",
            rival.path().to_str().unwrap(),
            "report",
            template,
            "--cases",
            cases.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{template}");
        assert!(out.stdout.is_empty(), "nothing is reported for {template}");
        assert!(
            stderr(&out).contains(refusal),
            "{template}: {}",
            stderr(&out)
        );
    }
}
