//! Canonical case 1.1 through the real binary: the schema takes what the
//! platforms really hold (a date-only incident, a dated age estimate, no
//! survivor status yet, who identified the child), says precisely what is
//! wrong with a malformed one, and never hands a plugin that reads case 1.0
//! a field it could misread.

use serde_json::{Value, json};

use kinga_artifacts::{KENYA_REFERRAL_PATHWAY, TEST_REFERRAL, TEST_REPORTING};

use crate::support::{kinga, kinga_at, plugin_dir, sample_case, stderr, stdout};

const AS_OF: &str = "2026-07-01T09:00:00+03:00";

/// Runs `command` (`eligibility` or `route`) on `case` with the reference
/// plugins.
fn run(command: &str, case: &Value) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("case.json");
    std::fs::write(&file, case.to_string()).unwrap();
    kinga_at(
        home.path(),
        &[command, "--case", file.to_str().unwrap(), "--as-of", AS_OF],
    )
}

fn refused(case: &Value, pointer: &str, words: &str) {
    let out = run("eligibility", case);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains(pointer), "{pointer}: {said}");
    assert!(said.contains(words), "{words}: {said}");
}

#[test]
fn a_malformed_case_1_1_is_refused_with_the_pointer_and_what_is_wrong() {
    let mut both = sample_case();
    both["incidents"][0]["occurred_on"] = json!("2026-06-29");
    refused(
        &both,
        "/incidents/0/occurred_on",
        "exactly one of occurred_at",
    );

    let mut neither = sample_case();
    neither["incidents"][0]
        .as_object_mut()
        .unwrap()
        .remove("occurred_at");
    refused(
        &neither,
        "/incidents/0",
        "has neither occurred_at nor occurred_on",
    );

    let mut undated = sample_case();
    undated["child"] =
        json!({"sex": "female", "county": "kwale", "age_estimated_on": "2024-01-10"});
    refused(
        &undated,
        "/child/age_estimated_on",
        "without /child/age_estimate_years",
    );

    let mut impossible = sample_case();
    impossible["incidents"][0] = json!({"occurred_on": "2026-02-30", "kind": "sexual_abuse"});
    refused(
        &impossible,
        "/incidents/0/occurred_on",
        "is not a valid date",
    );

    // After the as-of: a day later than the as-of's own, and an estimate
    // made after it.
    let mut later = sample_case();
    later["incidents"][0] = json!({"occurred_on": "2026-07-02", "kind": "sexual_abuse"});
    refused(
        &later,
        "/incidents/0/occurred_on",
        "is after the as-of date 2026-07-01",
    );
    let mut same_day = sample_case();
    same_day["incidents"][0] = json!({"occurred_on": "2026-07-01", "kind": "sexual_abuse"});
    assert_ne!(run("eligibility", &same_day).status.code(), Some(2));
    let mut estimated_later = sample_case();
    estimated_later["child"] = json!({"sex": "female", "county": "kwale", "age_estimate_years": 12, "age_estimated_on": "2026-07-02"});
    refused(
        &estimated_later,
        "/child/age_estimated_on",
        "is after the as-of date",
    );
    // An estimate that ages past the oldest age the schema admits.
    let mut aged = sample_case();
    aged["child"] = json!({"sex": "female", "county": "kwale", "age_estimate_years": 20, "age_estimated_on": "2016-01-01"});
    refused(&aged, "/child/age_estimated_on", "implies an age over 25");

    let mut unknown = sample_case();
    unknown["identified_by"] = json!("neighbour");
    refused(&unknown, "/identified_by", "must be one of");
}

/// Runs `command` on `case` with the plugins in `plugins` (`--plugins`).
fn run_with(plugins: &std::path::Path, command: &str, case: &Value) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("case.json");
    std::fs::write(&file, case.to_string()).unwrap();
    kinga_at(
        home.path(),
        &[
            "--plugins",
            plugins.to_str().unwrap(),
            command,
            "--case",
            file.to_str().unwrap(),
            "--as-of",
            AS_OF,
        ],
    )
}

/// Plugins built against contract 0.2.1 read case 1.0 (here the test
/// referral plugin, built against the frozen 0.2.1 WIT): a case holding a
/// field only case 1.1 has costs their answer, named, never a misreading;
/// plugins built against 0.2.2 read it.
#[test]
fn a_plugin_reading_case_1_0_is_never_given_a_case_1_1_field() {
    let plugins = plugin_dir(&[TEST_REFERRAL, KENYA_REFERRAL_PATHWAY]);
    let checked = kinga(&["check", TEST_REFERRAL]);
    assert!(
        stdout(&checked).contains("kinga:plugin@0.2.1"),
        "{}",
        stdout(&checked)
    );
    assert!(
        stdout(&checked).contains("reads canonical case 1 ("),
        "{}",
        stdout(&checked)
    );

    let mut dated = sample_case();
    dated["schema_version"] = json!("1.1");
    dated["incidents"][0] = json!({"occurred_on": "2026-06-29", "kind": "sexual_exploitation"});
    let routed = run_with(plugins.path(), "route", &dated);
    assert_eq!(routed.status.code(), Some(2), "{}", stderr(&routed));
    let printed: Value = serde_json::from_str(&stdout(&routed)).unwrap();
    let errors = printed["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{printed}");
    assert_eq!(errors[0]["plugin"], "test-referral");
    assert_eq!(errors[0]["type"], "case-version");
    assert_eq!(errors[0]["pointer"], "/incidents/0/occurred_on");
    // The plugin reading case 1.1 answers, from the date-only incident.
    let referrals = printed["referrals"].as_array().unwrap();
    assert!(
        referrals
            .iter()
            .any(|r| r["plugin"] == "kenya-referral-pathway" && r["rule"] == "post-rape-care"),
        "{printed}"
    );
    assert!(
        referrals.iter().all(|r| r["plugin"] != "test-referral"),
        "{printed}"
    );

    // A case marked 1.1 that holds nothing new is answered as before.
    let mut marked = sample_case();
    marked["schema_version"] = json!("1.1");
    let routed = run_with(plugins.path(), "route", &marked);
    assert_eq!(routed.status.code(), Some(0), "{}", stderr(&routed));
    let printed: Value = serde_json::from_str(&stdout(&routed)).unwrap();
    assert!(
        printed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["plugin"] == "test-referral"),
        "{printed}"
    );
}

/// In a report, a case the template's plugin cannot be given (here no
/// survivor status, which the 0.2.1 test reporting plugin reads) is
/// refused with its line, or left out and counted with `--skip-invalid`.
#[test]
fn a_report_names_the_line_of_a_case_its_plugin_cannot_be_given() {
    let plugins = plugin_dir(&[TEST_REPORTING]);
    let home = tempfile::tempdir().unwrap();
    let cases = home.path().join("cases.jsonl");
    let mut unassessed = sample_case();
    unassessed["case_id"] = json!("T-0002");
    unassessed
        .as_object_mut()
        .unwrap()
        .remove("survivor_status");
    std::fs::write(&cases, format!("{}\n{unassessed}\n", sample_case())).unwrap();
    let report = |extra: &[&str]| {
        let mut args = vec![
            "--plugins",
            plugins.path().to_str().unwrap(),
            "report",
            "count-by-sex",
            "--param",
            "label=Q3",
            "--cases",
            cases.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        kinga_at(home.path(), &args)
    };
    let refused = report(&[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("line 2: plugin test-reporting reads canonical case 1"),
        "{}",
        stderr(&refused)
    );
    assert!(stdout(&refused).is_empty());
    let skipped = report(&["--skip-invalid", "--format", "json"]);
    assert_eq!(skipped.status.code(), Some(2));
    assert!(
        stderr(&skipped).contains("1 invalid cases were left out"),
        "{}",
        stderr(&skipped)
    );
    let printed: Value = serde_json::from_str(&stdout(&skipped)).unwrap();
    assert_eq!(printed["cases"], 1, "{printed}");

    // The reference report plugin reads case 1.1: the same case is counted
    // under `unknown`.
    let summary = kinga_at(
        home.path(),
        &[
            "report",
            "caseload-summary",
            "--param",
            "as_of=2026-07-01",
            "--cases",
            cases.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(summary.status.code(), Some(0), "{}", stderr(&summary));
    assert!(
        stdout(&summary).contains("\"unknown\""),
        "{}",
        stdout(&summary)
    );
}
