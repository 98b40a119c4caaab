//! Primero end to end, against the stand-in (`primero_standin.rs`):
//! Primero's webhook in, Kinga's answer written back through Primero's
//! API from the durable outbox: once, in order, after failures and
//! restarts, and never again for Kinga's own update.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::primero_standin::StandIn;
use super::server::{Options, Server, call, get};
use crate::support::{assert_success, kinga_at, stdout};

const API_KEY: &str = "synthetic-webhook-key";
const USER: &str = "kinga_sync";
const PASSWORD: &str = "synthetic-password";

/// Primero's webhook body for the synthetic case, and the case as
/// Primero's API holds it.
fn webhook() -> (Value, Value) {
    let path = crate::support::repo("tests/platforms/primero-2.json");
    let body: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut case = body["data"].clone();
    let map = case.as_object_mut().unwrap();
    let id = map.remove("record_id").unwrap();
    map.remove("record_type");
    map.remove("hostname");
    map.insert("id".into(), id);
    (body, case)
}

fn sha256(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A server writing back to `standin`, with its administration directory
/// `home` (kept across restarts).
fn server(standin: &StandIn, home: tempfile::TempDir, login: &str, retry_ms: u64) -> Server {
    let secrets = home.path().join("primero-password");
    std::fs::write(&secrets, format!("{PASSWORD}\n")).unwrap();
    let config = format!(
        "[primero]\nwebhook_auth = \"api_key\"\nwebhook_secret_sha256 = \"{}\"\n\n[primero.write_back]\nbase_url = \"{}\"\nuser = \"{USER}\"\npassword_file = \"{}\"\nlogin = \"{login}\"\nretry_initial_ms = {retry_ms}\nretry_max_seconds = 2\nmax_attempts = 6\nsync_url = \"https://kinga.invalid/v1/hooks/primero\"\n",
        sha256(API_KEY),
        standin.url,
        secrets.display()
    );
    Server::start_with(Options {
        config: &config,
        home: Some(home),
        ..Options::default()
    })
}

fn post_webhook(server: &Server, body: &Value, key: &str) -> super::server::Answer {
    call(
        "POST",
        &server.url("/v1/hooks/primero"),
        None,
        &[("content-type", "application/json"), ("x-api-key", key)],
        Some(body.to_string().as_bytes()),
    )
}

fn metric(server: &Server, line_start: &str) -> f64 {
    let text = get(&server.ops_url("/metrics"), None).text;
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Waits until the metric reaches `value` (the worker updates it after
/// each look at the outbox).
fn wait_for_metric(server: &Server, line_start: &str, value: f64) {
    let start = std::time::Instant::now();
    while metric(server, line_start) != value {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{line_start} never reached {value}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_webhook_is_answered_in_primero_once_even_when_it_comes_again() {
    let (body, case) = webhook();
    let id = case["id"].as_str().unwrap().to_owned();
    let before = case["services_section"].as_array().unwrap().len();
    let standin = StandIn::start(vec![case], USER, PASSWORD);
    let server = server(&standin, tempfile::tempdir().unwrap(), "token", 100);
    // Like Primero, the stand-in sends a webhook after each update.
    standin.state.lock().unwrap().webhook = Some((server.url("/v1/hooks/primero"), API_KEY.into()));

    post_webhook(&server, &body, "not-the-key").problem(401, "unauthenticated");
    let answer = post_webhook(&server, &body, API_KEY);
    assert_eq!(answer.status, 202, "{}", answer.text);
    let answer = answer.json();
    let referrals = answer["referrals"].as_array().unwrap().len();
    let per_webhook = answer["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["plugin"] == "building-a-future-eligibility")
        .count();
    assert_eq!(answer["outbox"]["queued"], json!(referrals + 2), "{answer}");
    standin.wait_for("the rows and the transitions", |p| {
        p.transitions.get(&id).map_or(0, Vec::len) == 2
    });

    // The same webhook again (Primero re-sent it, or a caseworker saved
    // without a change): nothing new is queued.
    let again = post_webhook(&server, &body, API_KEY).json();
    assert_eq!(again["outbox"]["queued"], json!(0), "{again}");
    assert_eq!(again["outbox"]["already"], json!(referrals + 2));
    std::thread::sleep(Duration::from_secs(2));
    let state = standin.state.lock().unwrap();
    assert_eq!(
        state.rows(&id).len(),
        before + referrals,
        "one row per referral"
    );
    assert_eq!(state.patches_ok(), referrals, "each row written once");
    assert_eq!(state.transitions[&id].len(), 2, "each transition once");
    assert_eq!(state.logins_made, 1, "one login, reused");
    assert!(
        state
            .sync_marks
            .iter()
            .all(|(case, status)| *case == id && status == "synced")
            && !state.sync_marks.is_empty(),
        "{:?}",
        state.sync_marks
    );
    let rows = state.rows(&id);
    let psychosocial = rows
        .iter()
        .find(|r| {
            r["service_type"] == json!("psychosocial_service")
                && r.get("unique_id")
                    .is_some_and(|u| u.as_str().unwrap().len() == 36)
                && r["service_referral_notes"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("[Kinga"))
        })
        .expect("Kinga's psychosocial row");
    assert_eq!(psychosocial["service_status_referred"], json!(true));
    drop(state);

    // Kinga's own updates came back as webhooks: evaluated, they queued
    // nothing (the PATCH count above stayed one per row).
    let metrics = get(&server.ops_url("/metrics"), None).text;
    let webhooks: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("kinga_primero_webhooks_total"))
        .collect();
    assert!(
        metric(&server, "kinga_primero_webhooks_total{result=\"queued\"}") >= 3.0,
        "{webhooks:?}"
    );
    assert_eq!(metric(&server, "kinga_outbox_pending "), 0.0);
    assert_eq!(
        metric(
            &server,
            "kinga_outbox_deliveries_total{result=\"delivered\"}"
        ),
        (referrals + 2) as f64
    );
    // Each webhook's evaluation is counted as `/v1/eligibility` counts
    // one: its decisions by status, beside the plugin's calls.
    let eligibility = "plugin=\"building-a-future-eligibility\"";
    // Read from one scrape, so that both counters are of the same moment.
    let metrics = get(&server.ops_url("/metrics"), None).text;
    let sum = |prefix: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let decisions = sum(&format!("kinga_decisions_total{{{eligibility}"));
    let calls = sum(&format!(
        "kinga_plugin_calls_total{{{eligibility},outcome=\"ok\"}}"
    ));
    assert!(calls >= 3.0 && per_webhook > 0, "{metrics}");
    assert_eq!(decisions, calls * per_webhook as f64, "{metrics}");
    let log = server.log();
    for value in ["Synthetic", "Malindi", "9d3e7b14"] {
        assert!(!log.contains(value), "a case value in the log: {value}");
    }
}

/// The webhook, its case id, and a stand-in holding the case whose next
/// write requests answer `failures` (status, `Retry-After`).
fn failing_standin(
    failures: impl IntoIterator<Item = (u16, Option<u64>)>,
) -> (Value, String, StandIn) {
    let (body, case) = webhook();
    let id = case["id"].as_str().unwrap().to_owned();
    let standin = StandIn::start(vec![case], USER, PASSWORD);
    standin.state.lock().unwrap().fail_next.extend(failures);
    (body, id, standin)
}

#[test]
fn a_failure_then_a_success_delivers_once_and_retry_after_is_honoured() {
    let (body, id, standin) = failing_standin([(500, None), (429, Some(1))]);
    let server = server(&standin, tempfile::tempdir().unwrap(), "basic", 50);
    let answer = post_webhook(&server, &body, API_KEY).json();
    let referrals = answer["referrals"].as_array().unwrap().len();
    standin.wait_for("the transitions", |p| {
        p.transitions.get(&id).map_or(0, Vec::len) == 2
    });
    let state = standin.state.lock().unwrap();
    let statuses: Vec<u16> = state.writes.iter().map(|w| w.2).collect();
    assert_eq!(&statuses[..3], [500, 429, 200], "{statuses:?}");
    let waited = state.writes[2].3.duration_since(state.writes[1].3);
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After: 1 waited {waited:?}"
    );
    assert_eq!(state.patches_ok(), referrals, "each row once");
    assert_eq!(state.logins_made, 0, "Basic: no login");
}

#[test]
fn a_pending_delivery_survives_a_restart_and_a_failed_one_is_replayed() {
    // Primero is down for a while.
    let (body, id, standin) = failing_standin(std::iter::repeat_n((503, None), 1000));
    let mut first = server(&standin, tempfile::tempdir().unwrap(), "basic", 200);
    let answer = post_webhook(&first, &body, API_KEY);
    assert_eq!(answer.status, 202, "{}", answer.text);
    standin.wait_for("a failed attempt", |p| !p.writes.is_empty());
    // Stopped only once the outbox has recorded the failed attempt (the
    // stand-in sees the write before Kinga has read its answer).
    let start = std::time::Instant::now();
    while metric(&first, "kinga_outbox_deliveries_total{result=\"retry\"}") < 1.0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no retry recorded"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let home = std::mem::replace(&mut first.home, tempfile::tempdir().unwrap());
    assert_eq!(first.stop(), Some(0));
    let listed = kinga_at(home.path(), &["outbox", "list", "--json"]);
    assert_success(&listed);
    let listed: Value = serde_json::from_str(&stdout(&listed)).unwrap();
    let pending = listed["deliveries"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{listed}");
    assert_eq!(pending[0]["delivered"], json!(0));
    assert!(pending[0]["last_error"].as_str().unwrap().contains("503"));

    // Primero is back; so is Kinga.
    standin.state.lock().unwrap().fail_next.clear();
    let second = server(&standin, home, "basic", 200);
    standin.wait_for("the transitions after the restart", |p| {
        p.transitions.get(&id).map_or(0, Vec::len) == 2
    });
    wait_for_metric(&second, "kinga_outbox_pending ", 0.0);

    // A delivery Primero refuses for good waits in the failed ones until
    // it is replayed.
    let other_id = "00000000-0000-4000-8000-0000000000a2";
    let mut other = body.clone();
    other["data"]["record_id"] = json!(other_id);
    let mut other_case = standin.state.lock().unwrap().cases[&id].clone();
    other_case["id"] = json!(other_id);
    other_case["services_section"] = json!([]);
    {
        let mut state = standin.state.lock().unwrap();
        state.cases.insert(other_id.into(), other_case);
        state.fail_next.push_back((422, None));
    }
    let answer = post_webhook(&second, &other, API_KEY);
    assert_eq!(answer.status, 202, "{}", answer.text);
    let home = second.home.path().to_path_buf();
    let failed = |home: &Path| -> Vec<Value> {
        let listed = kinga_at(home, &["outbox", "list", "--failed", "--json"]);
        serde_json::from_str::<Value>(&stdout(&listed)).unwrap()["deliveries"]
            .as_array()
            .unwrap()
            .clone()
    };
    let start = std::time::Instant::now();
    while failed(&home).is_empty() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let listed = failed(&home);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(
        listed[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 422: errors.models.case.service_type"),
        "{listed:?}"
    );
    wait_for_metric(&second, "kinga_outbox_failed ", 1.0);
    let replay = kinga_at(&home, &["outbox", "replay", "--all"]);
    assert_success(&replay);
    standin.wait_for("the replayed delivery", |p| {
        p.transitions.get(other_id).map_or(0, Vec::len) == 2
    });
    assert!(failed(&home).is_empty());
}

#[test]
fn a_referral_primero_saved_but_did_not_confirm_is_not_sent_twice() {
    let (body, id, standin) = failing_standin([]);
    standin.state.lock().unwrap().fail_after_save.push_back(500);
    let server = server(&standin, tempfile::tempdir().unwrap(), "basic", 50);
    assert_eq!(post_webhook(&server, &body, API_KEY).status, 202);
    standin.wait_for("the transitions", |p| {
        p.transitions.get(&id).map_or(0, Vec::len) == 2
    });
    wait_for_metric(&server, "kinga_outbox_pending ", 0.0);
    let state = standin.state.lock().unwrap();
    // The 500 came after Primero saved the referral: Kinga asked before
    // sending it again, and found it.
    assert_eq!(
        state.transitions[&id].len(),
        2,
        "{:?}",
        state.transitions[&id]
    );
    assert!(state.writes.iter().any(|w| w.2 == 500));
}

#[test]
fn a_failed_delivery_replayed_late_never_overwrites_a_newer_one() {
    let (body, id, standin) = failing_standin([(422, None)]);
    let server = server(&standin, tempfile::tempdir().unwrap(), "basic", 50);
    assert_eq!(post_webhook(&server, &body, API_KEY).status, 202);
    let home = server.home.path().to_path_buf();
    let failed = |home: &Path| -> usize {
        let listed = kinga_at(home, &["outbox", "list", "--failed", "--json"]);
        serde_json::from_str::<Value>(&stdout(&listed)).unwrap()["deliveries"]
            .as_array()
            .unwrap()
            .len()
    };
    let start = std::time::Instant::now();
    while failed(&home) == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "never failed");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The administrator maps the psychosocial provider to another agency;
    // the next webhook delivers rows with it.
    let path = crate::support::repo("profiles/primero-cpims-plus.json");
    let mut profile: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    profile["outbound"]["agencies"]["kilifi-psychosocial"] = json!("agency-sample-other");
    profile["outbound"]["agencies"]["kwale-psychosocial"] = json!("agency-sample-other");
    let file = home.join("edited.json");
    std::fs::write(&file, profile.to_string()).unwrap();
    let set = kinga_at(
        &home,
        &[
            "profiles",
            "set",
            "primero",
            file.to_str().unwrap(),
            "--reason",
            "new agency",
            "--actor",
            "amina",
        ],
    );
    assert_success(&set);
    // Wait until this server serves the new state.
    let start = std::time::Instant::now();
    while get(
        &server.url("/v1/profiles/primero"),
        Some(&server.tokens.evaluator),
    )
    .json()["set_by"]["source"]
        != json!("administrator")
    {
        assert!(start.elapsed() < Duration::from_secs(20), "never reloaded");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Only what changed is queued: the rest waits in the failed delivery.
    let answer = post_webhook(&server, &body, API_KEY).json();
    assert_eq!(answer["outbox"]["queued"], json!(1), "{answer}");
    standin.wait_for("the newer row", |p| {
        p.rows(&id)
            .iter()
            .any(|r| r["service_implementing_agency"] == json!("agency-sample-other"))
    });
    let agency_of_psychosocial = |standin: &StandIn| -> Value {
        standin
            .state
            .lock()
            .unwrap()
            .rows(&id)
            .iter()
            .find(|r| {
                r["service_type"] == json!("psychosocial_service")
                    && r["service_referral_notes"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("[Kinga"))
            })
            .map(|r| r["service_implementing_agency"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        agency_of_psychosocial(&standin),
        json!("agency-sample-other")
    );
    assert!(
        standin
            .state
            .lock()
            .unwrap()
            .sync_marks
            .contains(&(id.clone(), "failed".to_owned())),
        "Primero is told the first delivery failed"
    );

    // The old delivery, replayed now, writes the rest, but not the row a
    // newer delivery wrote.
    assert_success(&kinga_at(&home, &["outbox", "replay", "--all"]));
    standin.wait_for("the replayed delivery", |p| {
        p.transitions.get(&id).map_or(0, Vec::len) == 2
    });
    wait_for_metric(&server, "kinga_outbox_pending ", 0.0);
    assert_eq!(failed(&home), 0);
    assert_eq!(
        agency_of_psychosocial(&standin),
        json!("agency-sample-other")
    );
}
