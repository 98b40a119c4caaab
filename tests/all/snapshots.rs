//! Snapshots of what people read: the error lines the CLI prints for bad
//! input, and a report rendered in each format. A change to any of them
//! shows as a diff in review (`cargo insta review`, or set
//! `INSTA_UPDATE=always` and read the `.snap` diff); CI refuses a missing or
//! stale snapshot.

use serde_json::json;

use crate::support::{assert_success, kinga, stdout};

/// Each bad case with what it is, and the first error line `kinga
/// eligibility` prints for it (the temporary path replaced by `CASE`).
#[test]
fn error_lines_for_bad_cases() {
    let sample = crate::support::sample_case();
    let with = |pointer: &str, value: serde_json::Value| {
        let mut case = sample.clone();
        *case.pointer_mut(pointer).expect("the sample has it") = value;
        case.to_string()
    };
    let mut unknown_member = sample.clone();
    unknown_member["child"]["nickname"] = json!("x");
    let mut age_as_text = sample.clone();
    age_as_text["child"]["age_estimate_years"] = json!("13");
    let bad: Vec<(&str, String)> = vec![
        (
            "a duplicate key",
            r#"{"case_id":"T-1","case_id":"T-2"}"#.into(),
        ),
        ("a trailing comma", r#"{"case_id":"T-1",}"#.into()),
        ("a number where text belongs", with("/case_id", json!(17))),
        (
            "an impossible date",
            with("/child/date_of_birth", json!("2013-02-30")),
        ),
        (
            "a birth after registration",
            with("/child/date_of_birth", json!("2026-05-05")),
        ),
        ("an unknown member", unknown_member.to_string()),
        ("an unknown status", with("/status", json!("paused"))),
        ("an age as text", age_as_text.to_string()),
        (
            "a number too large",
            with("/child/county", json!("kwale")).replace("\"kwale\"", "1e400"),
        ),
        (
            "too deep",
            format!("{}{}", "[".repeat(200), "]".repeat(200)),
        ),
        ("not JSON", "case: T-1".into()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    for (what, body) in bad {
        let path = dir.path().join("case.json");
        std::fs::write(&path, body).unwrap();
        let out = kinga(&["eligibility", "--case", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{what}");
        let printed = String::from_utf8_lossy(&out.stderr).replace(path.to_str().unwrap(), "CASE");
        lines.push_str(&format!("{what}:\n{printed}\n"));
    }
    insta::assert_snapshot!(lines);
}

/// The quarterly report over the same synthetic caseload, in each format,
/// exact and published.
#[test]
fn a_report_rendered_in_each_format() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.jsonl");
    let synth = kinga(&[
        "synth",
        "--count",
        "200",
        "--seed",
        "7",
        "--out",
        cases.to_str().unwrap(),
    ]);
    assert_success(&synth);
    for format in ["json", "csv", "md"] {
        for publish in [false, true] {
            let mut args = vec![
                "report",
                "baf-quarterly",
                "--cases",
                cases.to_str().unwrap(),
                "--param",
                "period=2026-Q3",
                "--format",
                format,
            ];
            if publish {
                args.push("--publish");
            }
            let out = kinga(&args);
            assert_success(&out);
            let name = format!("report_{format}{}", if publish { "_published" } else { "" });
            insta::assert_snapshot!(name, stdout(&out));
        }
    }
}
