//! The plugin developer's commands through the binary: `kinga check`,
//! `kinga test` (the reference plugins' own fixtures run through it) and
//! `--explain`.

use std::path::Path;

use kinga_artifacts::{
    BUILDING_A_FUTURE_ELIGIBILITY, BUILDING_A_FUTURE_REPORTS, KENYA_REFERRAL_PATHWAY,
};

use crate::support::assert_success;
use crate::support::{kinga, kinga_at};

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn cases(plugin: &str) -> String {
    format!("{}/../tests/cases/{plugin}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_says_what_install_would_say() {
    let out = kinga(&["check", KENYA_REFERRAL_PATHWAY]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = text(&out);
    for expected in [
        "contract   kinga:plugin@0.2.2, world referral-plugin",
        "the contract: kinga:plugin/log@0.2.2",
        "pass the plugin's own check (9 refusals declared)",
        "reads canonical case 1.1 (",
        "rule police (on by default)",
        "the schema compiles",
        "/incidents",
        "smoke      200 synthetic cases (seed 7001) with the default settings: no failure",
        "ok: the host would install it",
    ] {
        assert!(printed.contains(expected), "{expected} missing:\n{printed}");
    }
    let json = kinga(&["check", KENYA_REFERRAL_PATHWAY, "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["world"], "referral-plugin");
    assert_eq!(report["description"]["id"], "kenya-referral-pathway");
    assert_eq!(report["smoke"]["failures"], serde_json::json!([]));

    // A plugin that loads but traps on every case: check runs it on the
    // smoke caseload, as install would, and says where it failed.
    let dir = tempfile::tempdir().unwrap();
    let trapping = dir.path().join("trapping.wasm");
    std::fs::write(
        &trapping,
        crate::wat::plugin_versioned("wat-plugin", "1.0.0", 1, "", "unreachable"),
    )
    .unwrap();
    let out = kinga(&["check", trapping.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let printed = text(&out);
    assert!(printed.contains("failed on 200"), "{printed}");
    assert!(printed.contains("SYN-7001-000001 (contained)"), "{printed}");
    assert!(
        !printed.contains("ok: the host would install it"),
        "{printed}"
    );

    let dir = tempfile::tempdir().unwrap();
    let forbidden = dir.path().join("fs.wasm");
    std::fs::write(
        &forbidden,
        wat::parse_str("(component (import \"wasi:filesystem/types@0.2.6\" (instance)))").unwrap(),
    )
    .unwrap();
    let out = kinga(&["check", forbidden.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The imports and the exports are checked apart, and both are named.
    assert!(stderr.contains("refused, 2 problems:"), "{stderr}");
    assert!(
        stderr.contains("\n  - imports wasi:filesystem/types"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\n  - exports no Kinga capability"),
        "{stderr}"
    );
}

/// `kinga check` lists every problem of a description at once: first every
/// problem of its form, then, once the form is right, every problem of its
/// meaning.
#[test]
fn check_lists_every_problem_of_a_description_at_once() {
    use crate::wat::{CheckAnswer, Contract, SettingsCheck, plugin_described};

    let dir = tempfile::tempdir().unwrap();
    let accept = |declared| {
        Contract::V022(SettingsCheck {
            declared,
            answer: CheckAnswer::Accept,
            defaults: "{}",
        })
    };
    let ill_formed = dir.path().join("ill-formed.wasm");
    std::fs::write(
        &ill_formed,
        plugin_described("Not_An_Id", "one", "Two\nlines", accept(&[])),
    )
    .unwrap();
    let out = kinga(&["check", ill_formed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused, 3 problems:"), "{stderr}");
    for pointer in ["/id", "/version", "/name"] {
        assert!(
            stderr.contains(&format!("  - its description is invalid at {pointer}")),
            "{pointer}: {stderr}"
        );
    }

    let inconsistent = dir.path().join("inconsistent.wasm");
    std::fs::write(
        &inconsistent,
        plugin_described(
            "wat-plugin",
            "1.0.0",
            "A WAT fixture",
            accept(&[
                ("too-big", "the value {/absent} is too big"),
                ("too-big", "the value is too big"),
            ]),
        ),
    )
    .unwrap();
    let out = kinga(&["check", inconsistent.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let said: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let problems = said["refused"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{said}");
    for expected in [
        "settings refusal \"too-big\" twice",
        "quotes the setting /absent",
    ] {
        assert!(
            problems
                .iter()
                .any(|p| p.as_str().unwrap().contains(expected)),
            "{expected}: {said}"
        );
    }
}

#[test]
fn the_reference_plugins_pass_their_fixtures_through_kinga_test() {
    for (component, plugin, count) in [
        (
            BUILDING_A_FUTURE_ELIGIBILITY,
            "building-a-future-eligibility",
            41,
        ),
        (KENYA_REFERRAL_PATHWAY, "kenya-referral-pathway", 59),
        (BUILDING_A_FUTURE_REPORTS, "building-a-future-reports", 8),
    ] {
        let out = kinga(&["test", component, "--fixtures", &cases(plugin)]);
        let printed = text(&out);
        assert!(out.status.success(), "{plugin}:\n{printed}");
        assert!(printed.contains(" 0 failed, 0 could not run"), "{printed}");
        assert!(printed.contains(&format!("\n{count} passed")), "{printed}");
    }
}

#[test]
fn a_mismatch_is_shown_as_a_diff_and_update_rewrites_the_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(&cases("kenya-referral-pathway"))
        .join("childrens-officer-for-a-protection-concern-alone.json");
    let mut document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fixture).unwrap()).unwrap();
    let expect = document["expect"].as_object_mut().unwrap();
    let (key, _) = expect
        .iter()
        .find(|(_, v)| v.is_object())
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    expect.insert(key.clone(), serde_json::json!({"urgency": "routine-never"}));
    let copy = dir.path().join("broken.json");
    std::fs::write(&copy, serde_json::to_string_pretty(&document).unwrap()).unwrap();
    let fixtures = dir.path().to_str().unwrap();

    let out = kinga(&["test", KENYA_REFERRAL_PATHWAY, "--fixtures", fixtures]);
    assert_eq!(out.status.code(), Some(1));
    let printed = text(&out);
    assert!(printed.contains("FAIL  broken"), "{printed}");
    assert!(printed.contains(&format!("/{key}/urgency")), "{printed}");
    assert!(
        printed.contains("- expected \"routine-never\""),
        "{printed}"
    );
    assert!(printed.contains("+ got "), "{printed}");

    let out = kinga(&[
        "test",
        KENYA_REFERRAL_PATHWAY,
        "--fixtures",
        fixtures,
        "--update",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("updated broken"));
    let rewritten: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&copy).unwrap()).unwrap();
    assert_ne!(rewritten["expect"][&key]["urgency"], "routine-never");
    assert_eq!(rewritten["case"], document["case"], "only expect changes");
    let out = kinga(&["test", KENYA_REFERRAL_PATHWAY, "--fixtures", fixtures]);
    assert!(out.status.success(), "{}", text(&out));

    std::fs::write(dir.path().join("bad.json"), "{\"as_of\": 1}").unwrap();
    let out = kinga(&["test", KENYA_REFERRAL_PATHWAY, "--fixtures", fixtures]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a fixture that cannot run is bad input"
    );
    assert!(text(&out).contains("ERROR"), "{}", text(&out));
}

#[test]
fn explain_says_per_rule_whether_it_fired_and_why() {
    let home = tempfile::tempdir().unwrap();
    let case = format!("{}/../samples/case.json", env!("CARGO_MANIFEST_DIR"));
    let disabled = kinga_at(
        home.path(),
        &[
            "rules",
            "disable",
            "kenya-referral-pathway",
            "legal-aid",
            "--reason",
            "clinic closed",
            "--actor",
            "t",
        ],
    );
    assert_success(&disabled);
    let out = kinga_at(
        home.path(),
        &[
            "route",
            "--case",
            &case,
            "--as-of",
            "2026-07-01T09:00:00+03:00",
            "--explain",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = text(&out);
    for expected in [
        "post-rape-care             REFER health.post-rape-care emergency",
        "because a sexual incident happened within the last 72 hours",
        "[within-pep-window]",
        "safe-shelter               did not fire",
        "fires when: Not safe at home",
        "legal-aid                  switched off by an administrator",
    ] {
        assert!(printed.contains(expected), "{expected} missing:\n{printed}");
    }
    let out = kinga(&[
        "eligibility",
        "--case",
        &case,
        "--as-of",
        "2026-07-01",
        "--explain",
    ]);
    let printed = text(&out);
    assert!(
        printed.contains("family-livelihood          ELIGIBLE (priority 5)"),
        "{printed}"
    );
    assert!(
        printed.contains(
            "because monthly household income is below KES 10000 [income-below-threshold]"
        ),
        "{printed}"
    );
}

#[test]
fn an_expectation_for_a_rule_the_plugin_does_not_have_fails_instead_of_passing_forever() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(&cases("kenya-referral-pathway"))
        .join("childrens-officer-for-a-protection-concern-alone.json");
    let mut document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fixture).unwrap()).unwrap();
    // A misspelt rule expected to stay silent: it always does.
    document["expect"]["labour-officr"] = serde_json::Value::Null;
    std::fs::write(
        dir.path().join("misspelt.json"),
        serde_json::to_string_pretty(&document).unwrap(),
    )
    .unwrap();
    let out = kinga(&[
        "test",
        KENYA_REFERRAL_PATHWAY,
        "--fixtures",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let printed = text(&out);
    assert!(printed.contains("FAIL  misspelt"), "{printed}");
    assert!(printed.contains("/labour-officr"), "{printed}");
    assert!(
        printed.contains("no such rule: kenya-referral-pathway has post-rape-care"),
        "{printed}"
    );
}

/// A plugin whose answer depends on a field it does not declare (so is
/// never given) passes its fixture's expectation on the declared fields,
/// and `kinga test` still fails it, naming the check and the fields it
/// could have read.
#[test]
fn kinga_test_reports_a_read_of_an_undeclared_case_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = crate::support::sample_case();
    case["child"]["county"] = serde_json::json!("kwale");
    let fixture = serde_json::json!({
        "about": "the probe answers by a field it does not declare",
        "as_of": "2026-07-01T09:00:00+03:00",
        "settings": {"probe": "undeclared"},
        "case": case,
        "expect": {"probe": {"status": "eligible"}}
    });
    std::fs::write(dir.path().join("undeclared.json"), fixture.to_string()).unwrap();
    let out = kinga(&[
        "test",
        kinga_artifacts::TEST_PROBE,
        "--fixtures",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let printed = text(&out);
    assert!(printed.contains("/case_fields"), "{printed}");
    assert!(
        printed.contains("reads a field it does not declare"),
        "{printed}"
    );
    assert!(printed.contains("/child/county"), "{printed}");
}
