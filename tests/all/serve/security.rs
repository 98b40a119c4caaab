//! The HTTP rows of the security catalogue (A01-A16), each against a real
//! server on loopback.

use std::time::{Duration, Instant};

use serde_json::json;

use super::server::{Server, call, get, patch, post_json, raw};
use crate::support::sample_case;

const ADMIN_ROUTES: &[(&str, &str)] = &[
    ("PATCH", "/v1/plugins/kenya-referral-pathway"),
    ("PATCH", "/v1/plugins/kenya-referral-pathway/rules/police"),
    ("PATCH", "/v1/plugins/kenya-referral-pathway/settings"),
    ("POST", "/v1/plugins/kenya-referral-pathway/rollback"),
    ("POST", "/v1/plugins/kenya-referral-pathway/close-breaker"),
    ("POST", "/v1/packages"),
];

fn json_body() -> Vec<u8> {
    json!({"enabled": false, "reason": "test"})
        .to_string()
        .into_bytes()
}

#[test]
fn a01_missing_malformed_and_unknown_tokens_get_401() {
    let server = Server::start();
    let url = server.url("/v1/eligibility");
    let body = json!({"case": sample_case()}).to_string();
    let json_type = ("content-type", "application/json");
    for authorization in [
        None,
        Some("Basic YWxpY2U6c2VjcmV0"),
        Some("Bearer"),
        Some("Bearer kinga_0000000000000000000000000000000000000000000000000000000000000000"),
        Some("Bearer two words"),
    ] {
        let mut headers = vec![json_type];
        if let Some(value) = authorization {
            headers.push(("authorization", value));
        }
        let answer = call("POST", &url, None, &headers, Some(body.as_bytes()));
        answer.problem(401, "unauthenticated");
        assert_eq!(
            answer.header("www-authenticate"),
            Some("Bearer realm=\"kinga\"")
        );
    }
    // The OpenAPI document is public; everything else under /v1 is not.
    assert_eq!(get(&server.url("/v1/openapi.json"), None).status, 200);
    get(&server.url("/v1/plugins"), None).problem(401, "unauthenticated");
}

#[test]
fn a02_a16_roles_are_enforced_and_every_refused_admin_request_is_audited() {
    let server = Server::start();
    let t = &server.tokens;
    for (method, route) in ADMIN_ROUTES {
        for token in [&t.evaluator, &t.auditor] {
            call(
                method,
                &server.url(route),
                Some(token),
                &[("content-type", "application/json"), ("if-match", "*")],
                Some(&json_body()),
            )
            .problem(403, "forbidden");
        }
    }
    // Deny by default: an admin or an auditor does not evaluate.
    for token in [&t.admin, &t.auditor] {
        post_json(
            &server.url("/v1/eligibility"),
            token,
            &json!({"case": sample_case()}),
        )
        .problem(403, "forbidden");
    }
    get(&server.url("/v1/audit"), Some(&t.evaluator)).problem(403, "forbidden");
    // No token at all on an admin route: 401, audited as anonymous.
    call("PATCH", &server.url(ADMIN_ROUTES[0].1), None, &[], None).problem(401, "unauthenticated");

    let trail = get(&server.url("/v1/audit?limit=1000"), Some(&t.auditor)).json();
    let records = trail["records"].as_array().unwrap();
    let refused_by = |actor: &str| {
        records
            .iter()
            .filter(|r| r["actor"] == actor && r["result"] == "refused")
            .count()
    };
    assert_eq!(refused_by("primero-sidecar"), ADMIN_ROUTES.len(), "{trail}");
    assert_eq!(refused_by("audit-office"), ADMIN_ROUTES.len());
    assert_eq!(refused_by("anonymous"), 1);
    assert!(records.iter().all(|r| r["at"].is_string()));
    // And the CLI reads the same trail, intact.
    let verified = crate::support::kinga_at(server.home.path(), &["audit", "verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}

#[test]
fn a04_verbs_a_route_does_not_allow_get_405_with_allow() {
    let server = Server::start();
    for (method, route) in [
        ("DELETE", "/v1/plugins"),
        ("PUT", "/v1/plugins/kenya-referral-pathway"),
        ("GET", "/v1/eligibility"),
        ("DELETE", "/v1/audit"),
    ] {
        let answer = call(
            method,
            &server.url(route),
            Some(&server.tokens.admin),
            &[],
            None,
        );
        answer.problem(405, "method-not-allowed");
        assert!(answer.header("allow").is_some(), "{method} {route}");
    }
}

#[test]
fn a05_read_only_and_unknown_members_of_a_patch_get_400_with_a_pointer() {
    let server = Server::start();
    let url = server.url("/v1/plugins/kenya-referral-pathway");
    for (body, code, pointer) in [
        (
            json!({"enabled": true, "reason": "r", "version": "9.9.9"}),
            "read-only",
            "/version",
        ),
        (
            json!({"enabled": true, "reason": "r", "id": "other"}),
            "read-only",
            "/id",
        ),
        (
            json!({"enabled": true, "reason": "r", "rules": []}),
            "read-only",
            "/rules",
        ),
        (
            json!({"enabled": true, "reason": "r", "colour": "red"}),
            "invalid-request",
            "/*",
        ),
        (
            json!({"enabled": "no", "reason": "r"}),
            "invalid-request",
            "/enabled",
        ),
        (json!({"enabled": false}), "missing-reason", "/reason"),
    ] {
        let problem = patch(&url, &server.tokens.admin, Some("*"), &body).problem(400, code);
        assert_eq!(problem["pointer"], pointer, "{body}");
    }
    let listed = get(&url, Some(&server.tokens.admin)).json();
    assert_eq!(listed["version"], "1.0.0");
    assert_eq!(listed["enabled"], true);
}

#[test]
fn a08_over_the_rate_gets_429_with_retry_after_per_token() {
    let server = Server::with_config("[limits]\nrate_per_second = 1\nrate_burst = 3\n");
    let url = server.url("/v1/plugins");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(get(&url, Some(&server.tokens.evaluator)));
    }
    let limited = statuses
        .iter()
        .find(|a| a.status == 429)
        .expect("the burst runs out");
    limited.problem(429, "rate-limited");
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    // Another caller has its own budget.
    assert_eq!(get(&url, Some(&server.tokens.other)).status, 200);
}

#[test]
fn a09_slow_clients_are_cut_off() {
    let server = Server::with_config("[limits]\nheader_timeout_ms = 500\nbody_timeout_ms = 500\n");
    // A head that never ends: the connection is closed.
    let started = Instant::now();
    let answer = raw(
        &server.public,
        b"POST /v1/eligibility HTTP/1.1\r\nHost: x\r\n",
        Duration::from_secs(10),
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{answer}");
    assert!(!answer.contains("200 OK"), "{answer}");
    // A body that stops halfway: 408.
    let token = &server.tokens.evaluator;
    let head = format!(
        "POST /v1/eligibility HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"case\":"
    );
    let answer = raw(&server.public, head.as_bytes(), Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request-timeout"), "{answer}");
}

#[test]
fn a10_oversized_heads_get_431_and_long_targets_414() {
    let server = Server::start();
    let header = format!(
        "GET /v1/plugins HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(32 << 10)
    );
    let answer = raw(&server.public, header.as_bytes(), Duration::from_secs(10));
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    let long = get(
        &server.url(&format!("/v1/plugins?x={}", "a".repeat(5000))),
        None,
    );
    long.problem(414, "uri-too-long");
}

#[test]
fn a12_a13_every_answer_is_no_store_and_every_error_a_problem_without_5xx() {
    let server = Server::start();
    let t = &server.tokens;
    let answers = [
        post_json(
            &server.url("/v1/eligibility"),
            &t.evaluator,
            &json!({"case": sample_case()}),
        ),
        post_json(
            &server.url("/v1/referrals"),
            &t.evaluator,
            &json!({"case": sample_case()}),
        ),
        get(&server.url("/v1/plugins"), Some(&t.evaluator)),
        get(&server.url("/v1/nothing-here"), Some(&t.evaluator)),
        post_json(&server.url("/v1/eligibility"), &t.evaluator, &json!([1, 2])),
        call(
            "POST",
            &server.url("/v1/referrals"),
            Some(&t.evaluator),
            &[],
            None,
        ),
        get(&server.url("/v1/plugins/%FF%FE"), Some(&t.evaluator)),
        get(&server.url("/v1/audit?limit=nope"), Some(&t.auditor)),
        call(
            "POST",
            &server.url("/v1/reports/baf-quarterly?period=%ZZ"),
            Some(&t.evaluator),
            &[("content-type", "application/x-ndjson")],
            Some(b""),
        ),
        call(
            "POST",
            &server.url("/v1/reports/baf-quarterly?period=2026-Q9"),
            Some(&t.evaluator),
            &[("content-type", "application/x-ndjson")],
            Some(b""),
        ),
    ];
    for answer in &answers {
        assert_eq!(
            answer.header("cache-control"),
            Some("no-store"),
            "{}",
            answer.text
        );
        assert!(answer.status < 500, "{} {}", answer.status, answer.text);
        if answer.status >= 400 {
            let body = answer.json();
            assert_eq!(
                answer.header("content-type"),
                Some("application/problem+json")
            );
            for member in [
                "type",
                "title",
                "status",
                "code",
                "detail",
                "correlation_id",
            ] {
                assert!(body.get(member).is_some(), "{member} missing: {body}");
            }
        }
    }
    // The caller's correlation id is echoed, in the header and the problem.
    let answer = call(
        "GET",
        &server.url("/v1/plugins"),
        None,
        &[("x-request-id", "primero-7f3a")],
        None,
    );
    assert_eq!(answer.header("x-request-id"), Some("primero-7f3a"));
    assert_eq!(answer.json()["correlation_id"], "primero-7f3a");
}

#[test]
fn a15_operations_routes_stay_off_the_public_listener_unless_asked() {
    let server = Server::start();
    for path in ["/metrics", "/healthz", "/readyz"] {
        get(&server.url(path), None).problem(404, "not-found");
        assert_eq!(get(&server.ops_url(path), None).status, 200, "{path}");
    }
    // The operations listener serves no API.
    get(&server.ops_url("/v1/plugins"), Some(&server.tokens.admin)).problem(404, "not-found");
    let asked = Server::with_config("ops_on_public = true\n");
    assert_eq!(get(&asked.url("/metrics"), None).status, 200);
}

#[test]
fn plain_http_beyond_loopback_is_refused_unless_configured() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("serve.toml");
    std::fs::write(&config, "listen = \"0.0.0.0:0\"\n").unwrap();
    let out = crate::support::kinga_at(
        home.path(),
        &["serve", "--config", config.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nmax_bodybytes = 1\n").unwrap();
    let out = crate::support::kinga_at(
        home.path(),
        &["serve", "--config", config.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_bodybytes"));
}

#[test]
fn refusals_that_name_nobody_are_audited_as_one_summary_not_one_record_each() {
    let server = Server::start();
    let url = server.url(ADMIN_ROUTES[0].1);
    for _ in 0..300 {
        call("PATCH", &url, None, &[], None).problem(401, "unauthenticated");
    }
    // A known token without the role names a person: audited on its own.
    call(
        "PATCH",
        &url,
        Some(&server.tokens.evaluator),
        &[("content-type", "application/json"), ("if-match", "*")],
        Some(&json_body()),
    )
    .problem(403, "forbidden");
    let records = |server: &Server| -> Vec<serde_json::Value> {
        std::fs::read_to_string(server.home.path().join("audit.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let by = |records: &[serde_json::Value], actor: &str| -> Vec<serde_json::Value> {
        records
            .iter()
            .filter(|r| r["actor"] == actor)
            .cloned()
            .collect()
    };
    let trail = records(&server);
    // The first of the burst at once, so a probe shows within seconds.
    assert_eq!(by(&trail, "anonymous").len(), 1, "{trail:?}");
    assert_eq!(by(&trail, "primero-sidecar").len(), 1);

    // The rest in one summary, written at the latest at shutdown.
    unsafe { libc::kill(server.pid(), libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(15);
    let summary = loop {
        let anonymous = by(&records(&server), "anonymous");
        if anonymous.len() == 2 {
            break anonymous[1].clone();
        }
        assert!(Instant::now() < deadline, "no summary: {anonymous:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(summary["change"]["action"], "http-refusals", "{summary}");
    assert_eq!(summary["change"]["count"], 299, "{summary}");
    assert_eq!(
        summary["change"]["routes"]["PATCH /v1/plugins/{id} 401"], 299,
        "{summary}"
    );
    let verified = crate::support::kinga_at(server.home.path(), &["audit", "verify"]);
    assert!(
        verified.status.success(),
        "{}",
        crate::support::stderr(&verified)
    );
}

/// A running server moves its decision log's head with every record, so
/// cutting the last record off while it serves fails verification at once
/// (the head used to be written every 256 records).
#[test]
fn a_running_servers_decision_log_cut_at_its_end_fails_verification() {
    let home = tempfile::tempdir().unwrap();
    let log = home.path().join("decisions.jsonl");
    let log_arg = log.to_str().unwrap().to_owned();
    let server = Server::start_with(super::server::Options {
        home: Some(home),
        args: &["--decision-log", &log_arg],
        ..super::server::Options::default()
    });
    let body = json!({"case": sample_case(), "as_of": "2026-07-01T09:00:00+03:00"});
    for _ in 0..2 {
        let answer = post_json(
            &server.url("/v1/eligibility"),
            &server.tokens.evaluator,
            &body,
        );
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let verify = || {
        crate::support::kinga_at(
            server.home.path(),
            &["--decision-log", &log_arg, "audit", "verify"],
        )
    };
    crate::support::assert_success(&verify());
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.pop();
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let cut = verify();
    assert_eq!(cut.status.code(), Some(1));
    assert!(
        crate::support::stderr(&cut).contains("but its head says"),
        "{}",
        crate::support::stderr(&cut)
    );
}
