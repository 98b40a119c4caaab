//! Shadow runs: a candidate whose only change is the emergency-contraception
//! window (120 h → 72 h) reports exactly the referrals that change.

use std::io::Write;

use serde_json::Value;

use crate::support::kinga_at;

const AS_OF: &str = "2026-09-30T17:00:00+03:00";

fn ec_referrals(output: &std::process::Output) -> Vec<Option<String>> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            record["referrals"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["rule"] == "emergency-contraception")
                .map(|r| r["due"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn a_candidate_with_a_72_hour_ec_window_reports_exactly_the_referrals_that_change() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| kinga_at(home.path(), args);
    let cases = work.path().join("cases.jsonl");
    let synth = run(&["synth", "--count", "1500", "--seed", "5", "--as-of", AS_OF]);
    std::fs::File::create(&cases)
        .unwrap()
        .write_all(&synth.stdout)
        .unwrap();
    let cases = cases.to_str().unwrap();

    // What changes, computed independently: the same plugin with the setting.
    let before = ec_referrals(&run(&["route", "--cases", cases, "--as-of", AS_OF]));
    let after = ec_referrals(&run(&[
        "route",
        "--cases",
        cases,
        "--as-of",
        AS_OF,
        "--set",
        "kenya-referral-pathway.ec_window_hours=72",
    ]));
    let removed = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b.is_some() && a.is_none())
        .count() as u64;
    let changed = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b.is_some() && a.is_some() && b != a)
        .count() as u64;
    assert!(
        removed > 0 && changed > 0,
        "the caseload exercises both: {removed} removed, {changed} changed"
    );

    let package = work.path().join("candidate");
    let signed = run(&[
        "plugins",
        "sign",
        kinga_artifacts::TEST_REFERRAL_EC72,
        "--out",
        package.to_str().unwrap(),
    ]);
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let log = work.path().join("decisions.jsonl");
    let shadow = run(&[
        "--decision-log",
        log.to_str().unwrap(),
        "plugins",
        "shadow",
        "kenya-referral-pathway",
        "--candidate",
        package.to_str().unwrap(),
        "--allow-unsigned",
        "--cases",
        cases,
        "--as-of",
        AS_OF,
        "--json",
    ]);
    assert!(
        shadow.status.success(),
        "{}",
        String::from_utf8_lossy(&shadow.stderr)
    );
    let shadow: Value = serde_json::from_slice(&shadow.stdout).unwrap();
    assert_eq!(shadow["candidate_version"], "1.1.0-ec72");
    let report = &shadow["report"];
    assert_eq!(report["cases"], 1500);
    assert_eq!(report["failed_cases"], 0);
    let by_key = report["by_key"].as_object().unwrap();
    assert_eq!(
        by_key.keys().collect::<Vec<_>>(),
        ["health.emergency-contraception (emergency-contraception)"]
    );
    let counts = &by_key["health.emergency-contraception (emergency-contraception)"];
    assert_eq!(
        (
            counts["removed"].as_u64(),
            counts["changed"].as_u64(),
            counts["added"].as_u64()
        ),
        (Some(removed), Some(changed), Some(0))
    );
    assert_eq!(report["changed_cases"].as_u64(), Some(removed + changed));
    let sample = report["sample"].as_array().unwrap();
    assert!(
        !sample.is_empty()
            && sample
                .iter()
                .all(|d| d["case_id"].as_str().unwrap().starts_with("SYN-5-"))
    );
    assert!(
        !log.exists() || std::fs::read_to_string(&log).unwrap().is_empty(),
        "a shadow run records no decision"
    );
}

/// A settings change can be shadowed without a package, and a shadow run
/// says which side failed on which cases: the hostile plugin's candidate
/// settings make it panic on closed cases, the version in use never fails.
#[test]
fn a_settings_change_is_shadowed_and_each_sides_failures_are_named() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let plugins = crate::support::plugin_dir(&[kinga_artifacts::TEST_HOSTILE]);
    let run = |args: &[&str]| {
        let mut all = vec!["--plugins", plugins.path().to_str().unwrap()];
        all.extend_from_slice(args);
        kinga_at(home.path(), &all)
    };
    let cases = work.path().join("cases.jsonl");
    let synth = run(&["synth", "--count", "60", "--seed", "5", "--as-of", AS_OF]);
    std::fs::write(&cases, &synth.stdout).unwrap();
    let closed = String::from_utf8_lossy(&synth.stdout)
        .lines()
        .filter(|l| l.contains("\"status\":\"closed\""))
        .count() as u64;
    assert!(closed > 0, "the caseload has closed cases");
    let shadow = run(&[
        "plugins",
        "shadow",
        "test-hostile",
        "--set",
        "behaviour=panic-when-closed",
        "--cases",
        cases.to_str().unwrap(),
        "--as-of",
        AS_OF,
        "--json",
    ]);
    crate::support::assert_success(&shadow);
    let printed: Value = serde_json::from_slice(&shadow.stdout).unwrap();
    let report = &printed["report"];
    assert_eq!(
        printed["candidate_settings"]["behaviour"],
        "panic-when-closed"
    );
    assert_eq!(report["active_failures"]["count"], 0, "{report}");
    assert_eq!(report["candidate_failures"]["count"], closed, "{report}");
    let first = &report["candidate_failures"]["sample"][0];
    assert!(
        first["case_id"].as_str().unwrap().starts_with("SYN-5-"),
        "{first}"
    );
    assert_eq!(first["error"], "contained");

    let text = run(&[
        "plugins",
        "shadow",
        "test-hostile",
        "--set",
        "behaviour=panic-when-closed",
        "--cases",
        cases.to_str().unwrap(),
        "--as-of",
        AS_OF,
    ]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("with behaviour=\"panic-when-closed\" (candidate)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("the candidate failed on {closed}: SYN-5-")),
        "{text}"
    );
}
