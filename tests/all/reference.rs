//! The reference plugins as shipped: loaded from the workspace's plugin
//! directory, their settings checked, and the demo and synth commands.

use kinga_host::{Error, Host};
use serde_json::{Value, json};

use crate::support::assert_success;
use crate::support::kinga;

fn reference_host() -> Host {
    let mut host = Host::builder().build().unwrap();
    host.load_dir(kinga_artifacts::REFERENCE_PLUGINS_DIR)
        .unwrap();
    host
}

#[test]
fn the_three_reference_plugins_load_with_their_rules_and_templates() {
    let host = reference_host();
    let ids: Vec<&str> = host
        .plugins()
        .map(|p| p.description().id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "building-a-future-eligibility",
            "building-a-future-reports",
            "kenya-referral-pathway"
        ]
    );
    let referral = host.plugin("kenya-referral-pathway").unwrap();
    assert_eq!(referral.rules.len(), 10);
    assert_eq!(referral.default_settings["ec_window_hours"], 120);
    assert!(
        referral.default_settings["providers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"].as_str().unwrap().contains("SAMPLE"))
    );
    let reports = host.plugin("building-a-future-reports").unwrap();
    let templates: Vec<&str> = reports.templates.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(templates, ["baf-quarterly", "caseload-summary"]);
}

#[test]
fn an_invalid_setting_is_refused_naming_the_field() {
    let mut host = reference_host();
    for (plugin, settings, pointer) in [
        (
            "kenya-referral-pathway",
            json!({"ec_window_hours": 0}),
            "/ec_window_hours",
        ),
        (
            "kenya-referral-pathway",
            json!({"pep_window_hours": "72"}),
            "/pep_window_hours",
        ),
        (
            "kenya-referral-pathway",
            json!({"providers": [{"id": "x"}]}),
            "/providers/0",
        ),
        (
            "building-a-future-eligibility",
            json!({"income_threshold_kes": -1}),
            "/income_threshold_kes",
        ),
        (
            "building-a-future-eligibility",
            json!({"counties": []}),
            "/counties",
        ),
    ] {
        match host.set_settings(plugin, settings.as_object().unwrap()) {
            Err(Error::InvalidSettings {
                plugin: p,
                violations,
            }) => {
                assert_eq!(p, plugin);
                assert_eq!(violations[0].pointer, pointer, "{violations:?}");
            }
            other => panic!("{plugin} {settings}: {other:?}"),
        }
    }
    assert_eq!(
        host.plugins()
            .find(|p| p.description().id == "kenya-referral-pathway")
            .unwrap()
            .settings()["ec_window_hours"],
        120
    );
}

#[test]
fn synth_is_deterministic_for_a_seed() {
    let a = kinga(&["synth", "--count", "50", "--seed", "9"]);
    let b = kinga(&["synth", "--count", "50", "--seed", "9"]);
    let c = kinga(&["synth", "--count", "50", "--seed", "10"]);
    assert_success(&a);
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
    let text = String::from_utf8(a.stdout).unwrap();
    assert_eq!(text.lines().count(), 50);
    for line in text.lines() {
        let case: Value = serde_json::from_str(line).unwrap();
        assert!(case["case_id"].as_str().unwrap().starts_with("SYN-9-"));
        kinga_host::ValidCase::parse(line.as_bytes()).expect("every synthetic case is valid");
    }
}

#[test]
fn the_demo_screens_routes_and_reports() {
    let output = kinga(&[
        "demo",
        "--count",
        "400",
        "--as-of",
        "2026-08-15T10:00:00+03:00",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "Eligibility: 400 cases screened",
        "education-support",
        "Referrals:",
        "emergency",
        "The five most urgent:",
        "Report baf-quarterly for 2026-Q3",
        "## Participants by track",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let urgent: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("The five most urgent"))
        .skip(1)
        .take(5)
        .collect();
    assert!(
        urgent.iter().all(|l| l.trim_start().starts_with("SYN-1-")),
        "{urgent:?}"
    );
}
