//! Canonical case 1.1 through the real binary: the schema takes what the
//! platforms really hold (a date-only incident, a dated age estimate, no
//! survivor status yet, who identified the child), says precisely what is
//! wrong with a malformed one, and never hands a plugin that reads case 1.0
//! a field it could misread.

use serde_json::{Value, json};

use crate::support::{kinga_at, sample_case, stderr, stdout};

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

/// Plugins built against contract 0.2.1 read case 1.0: a case holding a
/// field only case 1.1 has costs their answer, named, never a misreading;
/// the plugins that do not read that field answer as before.
#[test]
fn a_plugin_reading_case_1_0_is_never_given_a_case_1_1_field() {
    let mut dated = sample_case();
    dated["schema_version"] = json!("1.1");
    dated["incidents"][0] = json!({"occurred_on": "2026-06-29", "kind": "sexual_exploitation"});

    let routed = run("route", &dated);
    assert_eq!(routed.status.code(), Some(2), "{}", stderr(&routed));
    let printed: Value = serde_json::from_str(&stdout(&routed)).unwrap();
    let errors = printed["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{printed}");
    assert_eq!(errors[0]["plugin"], "kenya-referral-pathway");
    assert_eq!(errors[0]["type"], "case-version");
    assert_eq!(errors[0]["pointer"], "/incidents/0/occurred_on");

    // The eligibility plugin reads no incident: it answers.
    let screened = run("eligibility", &dated);
    assert_eq!(screened.status.code(), Some(0), "{}", stderr(&screened));
    // With no failure, the answer is the list of decisions itself.
    let printed: Value = serde_json::from_str(&stdout(&screened)).unwrap();
    assert!(
        printed
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["track"] == "education-support" && d["status"] == "eligible"),
        "{printed}"
    );

    // No survivor status yet: a plugin reading 1.0 took it for given.
    let mut unassessed = sample_case();
    unassessed
        .as_object_mut()
        .unwrap()
        .remove("survivor_status");
    let screened = run("eligibility", &unassessed);
    let printed: Value = serde_json::from_str(&stdout(&screened)).unwrap();
    let errors = printed["errors"].as_array().unwrap();
    assert_eq!(errors[0]["type"], "case-version", "{printed}");
    assert_eq!(errors[0]["pointer"], "/survivor_status");

    // A dated estimate, though the plugin declares only the estimate: given
    // without its day, it would be read as made today.
    let mut estimated = sample_case();
    estimated["child"] = json!({"sex": "female", "county": "kwale", "age_estimate_years": 12, "age_estimated_on": "2023-03-01"});
    let screened = run("eligibility", &estimated);
    let printed: Value = serde_json::from_str(&stdout(&screened)).unwrap();
    assert_eq!(printed["errors"][0]["type"], "case-version", "{printed}");
    assert_eq!(printed["errors"][0]["pointer"], "/child/age_estimated_on");

    // A case marked 1.1 that holds nothing new is answered as before.
    let mut marked = sample_case();
    marked["schema_version"] = json!("1.1");
    let routed = run("route", &marked);
    assert_eq!(routed.status.code(), Some(0), "{}", stderr(&routed));
}

/// In a report, a case the template's plugin cannot be given is refused
/// with its line, or left out and counted with `--skip-invalid`.
#[test]
fn a_report_names_the_line_of_a_case_its_plugin_cannot_be_given() {
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
            "report",
            "caseload-summary",
            "--param",
            "as_of=2026-07-01",
            "--cases",
            cases.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        kinga_at(home.path(), &args)
    };
    let refused = report(&[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused)
            .contains("line 2: plugin building-a-future-reports reads canonical case 1"),
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
}
