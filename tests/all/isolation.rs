//! A broken plugin costs one answer, never the others': its error is
//! reported beside the outputs of the plugins that answered, by the library,
//! the CLI (one case and JSON Lines) and the service.

use kinga_artifacts::{KENYA_REFERRAL_PATHWAY, TEST_HOSTILE};
use kinga_host::{Containment, Error, EvalOptions};
use serde_json::{Value, json};

use crate::serve::server::{AS_OF, Options, Server, get, post_json};
use crate::support::{as_of, host_with, kinga_at, plugin_dir, sample_case, stdout, valid};

/// Switches the hostile plugin to `behaviour` in the administration
/// directory `home` (so that the service sees it too).
fn hostile_behaviour(home: &std::path::Path, plugins: &std::path::Path, behaviour: &str) {
    let set = kinga_at(
        home,
        &[
            "--plugins",
            plugins.to_str().unwrap(),
            "settings",
            "set",
            "test-hostile",
            &format!("behaviour={behaviour}"),
            "--reason",
            "isolation test",
            "--actor",
            "t",
        ],
    );
    crate::support::assert_success(&set);
}

fn emergency_referrals(referrals: &Value) -> Vec<&str> {
    referrals
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["plugin"] == "kenya-referral-pathway" && r["urgency"] == "emergency")
        .map(|r| r["rule"].as_str().unwrap())
        .collect()
}

fn assert_one_failure(errors: &Value, kind: &str) {
    let errors = errors.as_array().expect("errors is a list");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["plugin"], "test-hostile");
    assert_eq!(errors[0]["type"], kind);
}

#[test]
fn the_library_returns_the_answers_that_succeeded_beside_the_failure() {
    let mut host = host_with(&[KENYA_REFERRAL_PATHWAY, TEST_HOSTILE]);
    host.set_settings(
        "test-hostile",
        json!({"behaviour": "loop"}).as_object().unwrap(),
    )
    .unwrap();
    let case = valid(&sample_case());
    let isolated = host
        .route_with(&case, &EvalOptions::new(as_of()).isolate_failures(true))
        .unwrap();
    assert_eq!(isolated.answered, ["kenya-referral-pathway"]);
    assert!(isolated.outputs.iter().any(|r| r.rule == "post-rape-care"));
    assert!(matches!(
        isolated.failures.as_slice(),
        [Error::Contained { plugin, kind: Containment::OutOfFuel }] if plugin == "test-hostile"
    ));
    // Without isolation the first failure is the answer, as before.
    let strict = host.route_with(&case, &EvalOptions::new(as_of()));
    assert!(matches!(strict, Err(Error::Contained { .. })), "{strict:?}");
}

#[test]
fn the_cli_prints_the_emergency_referral_and_names_the_plugin_that_failed() {
    let plugins = plugin_dir(&[KENYA_REFERRAL_PATHWAY, TEST_HOSTILE]);
    let home = tempfile::tempdir().unwrap();
    let case = home.path().join("case.json");
    std::fs::write(&case, sample_case().to_string()).unwrap();
    let out = kinga_at(
        home.path(),
        &[
            "--plugins",
            plugins.path().to_str().unwrap(),
            "route",
            "--case",
            case.to_str().unwrap(),
            "--as-of",
            AS_OF,
            "--set",
            "test-hostile.behaviour=panic",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failure still sets the exit code"
    );
    let printed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        emergency_referrals(&printed["referrals"]),
        ["post-rape-care", "emergency-contraception"]
    );
    assert_one_failure(&printed["errors"], "contained");
    assert!(crate::support::stderr(&out).contains("test-hostile"));
}

#[test]
fn each_json_line_carries_its_referrals_and_its_errors() {
    let plugins = plugin_dir(&[KENYA_REFERRAL_PATHWAY, TEST_HOSTILE]);
    let home = tempfile::tempdir().unwrap();
    let cases = home.path().join("cases.jsonl");
    let mut second = sample_case();
    second["case_id"] = json!("T-0002");
    std::fs::write(&cases, format!("{}\n{second}\n", sample_case())).unwrap();
    let out = kinga_at(
        home.path(),
        &[
            "--plugins",
            plugins.path().to_str().unwrap(),
            "route",
            "--cases",
            cases.to_str().unwrap(),
            "--as-of",
            AS_OF,
            "--set",
            "test-hostile.behaviour=bad-date",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert!(
            !emergency_referrals(&line["referrals"]).is_empty(),
            "{line}"
        );
        assert_one_failure(&line["errors"], "invalid-output");
    }
}

#[test]
fn the_service_answers_200_with_the_referrals_and_the_failure_beside_them() {
    let plugins = plugin_dir(&[KENYA_REFERRAL_PATHWAY, TEST_HOSTILE]);
    let home = tempfile::tempdir().unwrap();
    hostile_behaviour(home.path(), plugins.path(), "recurse");
    let server = Server::start_with(Options {
        plugins: Some(plugins.path()),
        home: Some(home),
        ..Options::default()
    });
    let url = server.url("/v1/referrals");
    let token = &server.tokens.evaluator;
    let one = post_json(&url, token, &json!({"case": sample_case(), "as_of": AS_OF}));
    assert_eq!(one.status, 200, "{}", one.text);
    let one = one.json();
    assert_eq!(
        emergency_referrals(&one["referrals"]),
        ["post-rape-care", "emergency-contraception"]
    );
    assert_one_failure(&one["errors"], "contained");

    let batch = post_json(
        &url,
        token,
        &json!({"cases": [sample_case(), sample_case()], "as_of": AS_OF}),
    );
    assert_eq!(batch.status, 200, "{}", batch.text);
    for item in batch.json()["results"].as_array().unwrap() {
        assert!(
            !emergency_referrals(&item["referrals"]).is_empty(),
            "{item}"
        );
        assert_one_failure(&item["errors"], "contained");
    }

    // Only the hostile plugin asked for: nothing answered, so a problem.
    let alone = post_json(
        &url,
        token,
        &json!({"case": sample_case(), "as_of": AS_OF, "plugins": ["test-hostile"]}),
    );
    let problem = alone.problem(502, "plugin-contained");
    assert_eq!(problem["plugin"], "test-hostile");

    let metrics = get(&server.ops_url("/metrics"), None).text;
    assert!(
        metrics.contains(
            "kinga_plugin_calls_total{plugin=\"kenya-referral-pathway\",outcome=\"ok\"} 3"
        ),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("kinga_plugin_calls_total{plugin=\"test-hostile\",outcome=\"contained\"} 4"),
        "{metrics}"
    );
}
