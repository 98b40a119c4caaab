//! The circuit breaker tells a plugin that fails on many different cases
//! from one case that fails again and again, shows itself in `/readyz`,
//! `/metrics` and `GET /v1/plugins`, and closes when an administrator
//! closes it (HTTP or CLI): all against a real `kinga serve`.

use std::time::{Duration, Instant};

use kinga_artifacts::{KENYA_REFERRAL_PATHWAY, TEST_HOSTILE};
use serde_json::{Value, json};

use crate::serve::server::{Options, Server, call, get, post_json};
use crate::support::{assert_success, kinga_at, plugin_dir, sample_case};

/// A case the hostile plugin (`panic-when-closed`) traps on.
fn closed_case() -> Value {
    let mut case = sample_case();
    case["status"] = json!("closed");
    case
}

/// Routes `case` as of `hour` o'clock on 1 July 2026 (a different as-of is
/// a different input); returns the failures reported.
fn route(server: &Server, case: &Value, hour: u32) -> Value {
    let answer = post_json(
        &server.url("/v1/referrals"),
        &server.tokens.evaluator,
        &json!({"case": case, "as_of": format!("2026-07-01T{hour:02}:00:00+03:00")}),
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = answer.json();
    assert!(
        answer["referrals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["plugin"] == "kenya-referral-pathway" && r["urgency"] == "emergency"),
        "the emergency referral is never withheld: {answer}"
    );
    answer["errors"].clone()
}

fn failure_types(errors: &Value) -> Vec<String> {
    errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["plugin"].as_str().unwrap(),
                e["type"].as_str().unwrap()
            )
        })
        .collect()
}

fn breaker(server: &Server) -> Value {
    let plugin = get(
        &server.url("/v1/plugins/test-hostile"),
        Some(&server.tokens.evaluator),
    );
    assert_eq!(plugin.status, 200, "{}", plugin.text);
    plugin.json()["breaker"].clone()
}

fn ready(server: &Server) -> Value {
    let answer = get(&server.ops_url("/readyz"), None);
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

/// Makes the hostile plugin fail on five different inputs (one per hour).
fn open_the_breaker(server: &Server) {
    let mut seen = Vec::new();
    for hour in 10..15 {
        seen.extend(failure_types(&route(server, &closed_case(), hour)));
    }
    assert_eq!(seen, ["test-hostile:contained"; 5], "{seen:?}");
    assert_eq!(breaker(server)["state"], "open");
}

#[test]
fn one_case_failing_again_and_again_never_opens_the_breaker_many_cases_do() {
    let plugins = plugin_dir(&[KENYA_REFERRAL_PATHWAY, TEST_HOSTILE]);
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_owned();
    let admin = |args: &[&str]| {
        let mut all = vec!["--plugins", plugins.path().to_str().unwrap()];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--reason", "breaker test", "--actor", "t"]);
        assert_success(&kinga_at(&home_path, &all));
    };
    admin(&[
        "settings",
        "set",
        "test-hostile",
        "behaviour=panic-when-closed",
    ]);
    let home_path = home.path().to_owned();
    let server = Server::start_with(Options {
        plugins: Some(plugins.path()),
        home: Some(home),
        ..Options::default()
    });

    // One poison case, twenty times: its own answer fails each time, the
    // breaker stays closed, and other cases are answered by the plugin.
    for _ in 0..20 {
        assert_eq!(
            failure_types(&route(&server, &closed_case(), 9)),
            ["test-hostile:contained"]
        );
    }
    let state = breaker(&server);
    assert_eq!(state["state"], "closed", "{state}");
    assert_eq!(state["distinct_failures"], 1, "{state}");
    assert_eq!(ready(&server)["status"], "ready");
    assert!(failure_types(&route(&server, &sample_case(), 9)).is_empty());

    // Five different failing cases open it: the plugin is not called, the
    // others still answer, and every view says so.
    open_the_breaker(&server);
    assert_eq!(
        failure_types(&route(&server, &sample_case(), 9)),
        ["test-hostile:switched-off"]
    );
    let readiness = ready(&server);
    assert_eq!(readiness["status"], "degraded", "{readiness}");
    assert_eq!(readiness["breakers_open"], json!(["test-hostile"]));
    let metrics = get(&server.ops_url("/metrics"), None).text;
    assert!(
        metrics.contains("kinga_breaker_open{plugin=\"test-hostile\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kinga_breaker_open{plugin=\"kenya-referral-pathway\"} 0"),
        "{metrics}"
    );
    assert_eq!(breaker(&server)["trips"], 1);

    // An administrator closes it over HTTP: audited, and the plugin answers.
    let closed = call(
        "POST",
        &server.url("/v1/plugins/test-hostile/close-breaker"),
        Some(&server.tokens.admin),
        &[("content-type", "application/json"), ("if-match", "*")],
        Some(
            json!({"reason": "the failing cases were corrected"})
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(closed.status, 200, "{}", closed.text);
    assert_eq!(breaker(&server)["state"], "closed");
    assert!(failure_types(&route(&server, &sample_case(), 9)).is_empty());
    let trail = std::fs::read_to_string(home_path.join("audit.jsonl")).unwrap();
    assert!(
        trail.lines().any(|l| l.contains("\"close-breaker\"")
            && l.contains("amina")
            && l.contains("the failing cases were corrected")),
        "{trail}"
    );

    // ... or with the CLI, which the running server picks up.
    open_the_breaker(&server);
    admin(&["plugins", "close-breaker", "test-hostile"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while ready(&server)["status"] != "ready" {
        assert!(Instant::now() < deadline, "the server never reloaded");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(failure_types(&route(&server, &sample_case(), 9)).is_empty());
}
