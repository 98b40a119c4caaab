//! Hostile inputs (catalogue rows J01-J14) through the `kinga` binary: each
//! refused with exit code 2, one readable line naming the JSON pointer, no
//! value echoed, nothing on stdout.

use kinga_artifacts::TEST_ELIGIBILITY;
use serde_json::json;

use crate::support::{kinga, plugin_dir, sample_case};

/// Runs `kinga eligibility` on `bytes`; asserts refusal at `pointer` with a
/// message containing `words`; returns stderr.
fn refused(bytes: &[u8], pointer: &str, words: &str) -> String {
    let plugins = plugin_dir(&[TEST_ELIGIBILITY]);
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case.json");
    std::fs::write(&case, bytes).unwrap();
    let output = kinga(&[
        "--plugins",
        plugins.path().to_str().unwrap(),
        "eligibility",
        "--case",
        case.to_str().unwrap(),
        "--as-of",
        "2026-07-01",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("invalid case: {pointer}")),
        "pointer {pointer} not in: {stderr}"
    );
    assert!(stderr.contains(words), "{words:?} not in: {stderr}");
    assert!(
        !stderr.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters: {stderr:?}"
    );
    stderr
}

fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut case = sample_case();
    edit(&mut case);
    case.to_string().into_bytes()
}

#[test]
fn j01_a_body_over_the_size_cap_is_refused_before_parsing() {
    let bytes = edited(|c| c["extensions"]["blob"] = json!("x".repeat(80_000)));
    // The real size, not the size read before stopping.
    refused(
        &bytes,
        "",
        &format!(
            "the case is {} bytes; the largest case is 65536 bytes",
            bytes.len()
        ),
    );
}

#[test]
fn j03_nesting_deeper_than_the_cap_is_refused_without_overflowing() {
    let deep = format!(
        r#"{{"case_id":"D","extensions":{{"x":{}1{}}}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    refused(
        deep.as_bytes(),
        "/extensions/*/0/0/0",
        "deeper than the limit",
    );
}

#[test]
fn j04_j05_huge_arrays_and_strings_are_refused() {
    let many = vec![json!({"occurred_at": "2026-06-01T00:00:00+03:00", "kind": "other"}); 101];
    refused(
        &edited(|c| c["incidents"] = json!(many)),
        "/incidents",
        "at most 100 items",
    );
    refused(
        &edited(|c| c["case_id"] = json!("A".repeat(5000))),
        "/case_id",
        "at most 64 characters",
    );
}

#[test]
fn j06_duplicate_keys_are_refused_never_last_one_wins() {
    let text =
        String::from_utf8(edited(|c| c["consent"] = json!({"police_report": false}))).unwrap();
    let text = text.replace(
        r#""police_report":false"#,
        r#""police_report":false,"police_report":true"#,
    );
    refused(text.as_bytes(), "/consent/police_report", "duplicate key");
}

#[test]
fn j07_unknown_and_privileged_fields_are_refused() {
    refused(
        &edited(|c| c["enabled_rules"] = json!(["all"])),
        "",
        "unknown field",
    );
    refused(
        &edited(|c| c["child"]["name"] = json!("A. Child")),
        "/child",
        "unknown field",
    );
}

#[test]
fn j08_type_confusion_and_null_are_refused_never_coerced() {
    refused(
        &edited(|c| c["child"]["age_estimate_years"] = json!("17")),
        "/child/age_estimate_years",
        "must be of type integer",
    );
    refused(
        &edited(|c| c["consent"] = serde_json::Value::Null),
        "/consent",
        "must be of type object",
    );
    refused(
        &edited(|c| c["status"] = json!(1)),
        "/status",
        "must be one of",
    );
}

#[test]
fn j09_huge_numbers_and_nan_are_refused() {
    let text = String::from_utf8(edited(|c| {
        c["household"] = json!({"caregiver": "parent", "monthly_income_kes": 1})
    }))
    .unwrap();
    refused(
        text.replace(r#""monthly_income_kes":1"#, r#""monthly_income_kes":1e400"#)
            .as_bytes(),
        "/household/monthly_income_kes",
        "out of range",
    );
    refused(
        text.replace(
            r#""monthly_income_kes":1"#,
            r#""monthly_income_kes":18446744073709551616"#,
        )
        .as_bytes(),
        "/household/monthly_income_kes",
        "out of range",
    );
    refused(
        text.replace(r#""monthly_income_kes":1"#, r#""monthly_income_kes":NaN"#)
            .as_bytes(),
        "/household/monthly_income_kes",
        "expected value",
    );
}

#[test]
fn j10_lone_surrogates_and_invalid_utf8_are_refused() {
    let text =
        String::from_utf8(edited(|c| c["extensions"]["note"] = json!("PLACEHOLDER"))).unwrap();
    refused(
        text.replace("PLACEHOLDER", r"\ud800").as_bytes(),
        "/extensions/*",
        "escape",
    );
    let mut bytes = text.into_bytes();
    let at = bytes.windows(11).position(|w| w == b"PLACEHOLDER").unwrap();
    bytes[at] = 0xff;
    refused(&bytes, "/extensions/*", "invalid unicode");
}

#[test]
fn j11_trailing_commas_comments_and_garbage_are_refused() {
    let text = String::from_utf8(sample_case().to_string().into_bytes()).unwrap();
    refused(text.replacen('}', ",}", 1).as_bytes(), "", "trailing comma");
    refused(
        format!("// a comment\n{text}").as_bytes(),
        "",
        "expected value",
    );
    refused(format!("{text} {{}}").as_bytes(), "", "trailing characters");
}

#[test]
fn j12_impossible_dates_are_refused() {
    refused(
        &edited(|c| c["child"]["date_of_birth"] = json!("2010-02-30")),
        "/child/date_of_birth",
        "is not a valid date",
    );
    refused(
        &edited(|c| c["child"]["date_of_birth"] = json!("2026-05-05")),
        "/child/date_of_birth",
        "registered",
    );
    let born_later = edited(|c| {
        c["registered_on"] = json!("2026-07-05");
        c["child"]["date_of_birth"] = json!("2026-07-03");
    });
    refused(&born_later, "/child/date_of_birth", "after the as-of date");
}

#[test]
fn j13_unknown_enumeration_values_are_refused() {
    refused(
        &edited(|c| c["child"]["sex"] = json!("f")),
        "/child/sex",
        "must be one of",
    );
    refused(
        &edited(|c| c["incidents"][0]["kind"] = json!("SEXUAL_ABUSE")),
        "/incidents/0/kind",
        "must be one of",
    );
}

#[test]
fn j14_control_bidi_and_ansi_characters_are_never_printed_raw() {
    let stderr = refused(
        &edited(|c| c["child"]["\u{1b}[31mred\u{202e}"] = json!(1)),
        "/child",
        "unknown field(s) (a name not repeated here)",
    );
    assert!(!stderr.contains("red"), "the key is not repeated: {stderr}");
    refused(
        &edited(|c| c["case_id"] = json!("ID\u{1b}[2J")),
        "/case_id",
        "does not match the pattern",
    );
}

/// `kinga eligibility` with the reference plugin on `case` at `as_of`.
fn reference_eligibility(case: &serde_json::Value, as_of: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.json");
    std::fs::write(&path, case.to_string()).unwrap();
    kinga(&[
        "--plugins",
        kinga_artifacts::REFERENCE_PLUGINS_DIR,
        "eligibility",
        "--case",
        path.to_str().unwrap(),
        "--as-of",
        as_of,
    ])
}

#[test]
fn a_placeholder_date_of_birth_is_refused_not_judged() {
    let mut case = sample_case();
    case["child"]["date_of_birth"] = json!("0000-01-01");
    let out = reference_eligibility(&case, "2026-07-01");
    let stderr = crate::support::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "no decision is made");
    assert!(
        stderr.contains("invalid case: /child/date_of_birth: implies an age over 25"),
        "{stderr}"
    );
    // 25 is the oldest the schema admits: the day before the 26th birthday
    // is still evaluated.
    case["child"]["date_of_birth"] = json!("2000-07-02");
    crate::support::assert_success(&reference_eligibility(&case, "2026-07-01"));
}

#[test]
fn an_as_of_outside_the_span_is_refused_before_any_plugin_runs() {
    for as_of in ["9999-12-31", "1970-01-01T00:00:00Z", "2200-01-01"] {
        let out = reference_eligibility(&sample_case(), as_of);
        let stderr = crate::support::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{as_of}: {stderr}");
        assert!(
            stderr.contains("invalid as-of: the year must be from 2000 to 2199"),
            "{stderr}"
        );
    }
}

#[test]
fn one_instant_is_one_as_of_whatever_offset_it_is_written_with() {
    // Born on 2 July 2008: 18 from 2 July 2026 in Kenya. The instant
    // 2026-07-02T11:30Z is 1 July at -12:00 and 3 July at +14:00; both
    // must be judged on its Kenyan date.
    let mut case = sample_case();
    case["child"]["date_of_birth"] = json!("2008-07-02");
    case["incidents"][0]["occurred_at"] = json!("2026-06-29T07:30:00-12:00");
    let west = reference_eligibility(&case, "2026-07-01T23:30:00-12:00");
    case["incidents"][0]["occurred_at"] = json!("2026-06-30T09:30:00+14:00");
    let east = reference_eligibility(&case, "2026-07-03T01:30:00+14:00");
    case["incidents"][0]["occurred_at"] = json!("2026-06-29T22:30:00+03:00");
    let kenya = reference_eligibility(&case, "2026-07-02T14:30:00+03:00");
    crate::support::assert_success(&kenya);
    assert_eq!(
        crate::support::stdout(&west),
        crate::support::stdout(&kenya)
    );
    assert_eq!(
        crate::support::stdout(&east),
        crate::support::stdout(&kenya)
    );
}

#[test]
fn a_report_refuses_or_skips_a_case_it_cannot_count_at_its_as_of() {
    let plugins = plugin_dir(&[kinga_artifacts::TEST_REPORTING]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.jsonl");
    let mut placeholder = sample_case();
    placeholder["child"]["date_of_birth"] = json!("0000-01-01");
    let lines = [sample_case(), placeholder, sample_case()]
        .map(|c| c.to_string())
        .join("\n");
    std::fs::write(&path, lines).unwrap();
    let report = |extra: &[&str]| {
        let mut args = vec![
            "--plugins",
            plugins.path().to_str().unwrap(),
            "report",
            "count-by-sex",
            "--param",
            "label=Q3",
            "--cases",
            path.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        kinga(&args)
    };
    // The schema admits the case; the report, at its as-of, does not.
    let refused = report(&[]);
    let stderr = crate::support::stderr(&refused);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(refused.stdout.is_empty(), "nothing is reported");
    assert!(
        stderr.contains("line 2: invalid case: /child/date_of_birth: implies an age over 25"),
        "{stderr}"
    );
    let skipped = report(&["--skip-invalid", "--format", "json"]);
    assert_eq!(skipped.status.code(), Some(2), "skipping is still said");
    let counted: serde_json::Value =
        serde_json::from_str(&crate::support::stdout(&skipped)).unwrap();
    assert_eq!(counted["cases"], 2, "{counted}");
    assert!(crate::support::stderr(&skipped).contains("1 invalid cases were left out"));
}

#[test]
fn an_error_never_repeats_a_key_the_schema_does_not_declare() {
    // A platform's extensions may be keyed by a child's name.
    let bytes = br#"{"case_id":"T-1","extensions":{"Amina Wanjiru":{"dob":9007199254740993}}}"#;
    let stderr = refused(bytes, "/extensions/*/*", "too large to be exact");
    assert!(
        !stderr.contains("Amina") && !stderr.contains("dob"),
        "{stderr}"
    );
    // An unknown member is named only when it looks like a misspelt field.
    let stderr = refused(
        &edited(|c| c["Amina Wanjiru"] = json!(1)),
        "",
        "unknown field(s) (a name not repeated here)",
    );
    assert!(!stderr.contains("Amina"), "{stderr}");
    refused(
        &edited(|c| c["survivor_stauts"] = json!("survivor")),
        "",
        "unknown field(s) \"survivor_stauts\"",
    );
}
