//! Running the service: hot reload without dropped requests, graceful
//! shutdown, metrics, logs without personal data, bounded concurrency, TLS.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::server::{AS_OF, Options, Server, get, patch, post_json, referral_rules};
use crate::support::{kinga_at, plugin_dir, sample_case};

#[test]
fn a_change_made_with_the_cli_is_served_within_the_reload_interval() {
    let server = Server::start();
    assert!(referral_rules(&server).1.contains(&"police".to_owned()));
    let out = kinga_at(
        server.home.path(),
        &[
            "rules",
            "disable",
            "kenya-referral-pathway",
            "police",
            "--reason",
            "another replica's change",
            "--actor",
            "amina",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (revision, rules) = referral_rules(&server);
        if revision == 1 {
            assert!(!rules.contains(&"police".to_owned()));
            break;
        }
        assert!(Instant::now() < deadline, "the change was not picked up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let metrics = get(&server.ops_url("/metrics"), None).text;
    assert!(
        metrics.contains("kinga_reloads_total{result=\"ok\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("kinga_state_revision 1"), "{metrics}");
}

#[test]
fn no_request_is_dropped_while_administrators_reload_the_host() {
    let server = Server::start();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    let mut answered = 0;
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        let (_, rules) = referral_rules(&server);
                        assert!(!rules.is_empty());
                        answered += 1;
                    }
                    answered
                })
            })
            .collect();
        for i in 0..6 {
            let url = server.url("/v1/plugins/kenya-referral-pathway/rules/police");
            let body = json!({"enabled": i % 2 == 1, "reason": format!("flip {i}")});
            let changed = patch(&url, &server.tokens.admin, Some("*"), &body);
            assert_eq!(changed.status, 200, "{}", changed.text);
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let answered: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert!(answered >= 3, "{answered}");
    });
    assert_eq!(referral_rules(&server).0, 6);
}

#[test]
fn shutdown_lets_the_request_in_flight_finish_and_refuses_new_ones() {
    let server = Server::start();
    let case_line = format!("{}\n", sample_case());
    let body = case_line.repeat(20);
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(&server.public).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST /v1/reports/caseload-summary?as_of=2026-07-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n{first}",
        server.tokens.analyst,
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(server.pid(), libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        TcpStream::connect(&server.public).is_err(),
        "no new connections while draining"
    );
    stream.write_all(rest.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let report: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(
        report["cases"], 20,
        "every case of the in-flight request was counted"
    );
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn metrics_count_plugin_outcomes_and_containments() {
    let plugins = plugin_dir(&[kinga_artifacts::TEST_HOSTILE]);
    let home = tempfile::tempdir().unwrap();
    let set = kinga_at(
        home.path(),
        &[
            "--plugins",
            plugins.path().to_str().unwrap(),
            "settings",
            "set",
            "test-hostile",
            "behaviour=loop",
            "--reason",
            "containment test",
            "--actor",
            "t",
        ],
    );
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let server = Server::start_with(Options {
        plugins: Some(plugins.path()),
        home: Some(home),
        ..Options::default()
    });
    let body = json!({"case": sample_case(), "as_of": AS_OF});
    let contained = post_json(
        &server.url("/v1/referrals"),
        &server.tokens.evaluator,
        &body,
    )
    .problem(502, "plugin-contained");
    assert_eq!(contained["plugin"], "test-hostile");
    let metrics = get(&server.ops_url("/metrics"), None).text;
    assert!(
        metrics
            .contains("kinga_containments_total{plugin=\"test-hostile\",kind=\"out-of-fuel\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("kinga_plugin_calls_total{plugin=\"test-hostile\",outcome=\"contained\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "kinga_http_requests_total{route=\"/v1/referrals\",method=\"POST\",status=\"502\"} 1"
        ),
        "{metrics}"
    );
}

#[test]
fn when_every_evaluation_place_is_taken_a_request_gets_503_with_retry_after() {
    let server =
        Server::with_config("[limits]\nmax_concurrent_evaluations = 1\nqueue_timeout_ms = 200\n");
    // A report whose body is still arriving holds the only place.
    let mut stream = TcpStream::connect(&server.public).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let line = format!("{}\n", sample_case());
    write!(
        stream,
        "POST /v1/reports/caseload-summary?as_of=2026-07-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n{line}",
        server.tokens.evaluator,
        line.len() * 2
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let body = json!({"case": sample_case(), "as_of": AS_OF});
    let busy = post_json(&server.url("/v1/eligibility"), &server.tokens.other, &body);
    busy.problem(503, "overloaded");
    assert_eq!(busy.header("retry-after"), Some("1"));
    stream.write_all(line.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        post_json(&server.url("/v1/eligibility"), &server.tokens.other, &body).status,
        200
    );
}

#[test]
fn request_logs_are_json_lines_without_case_data() {
    let server = Server::start();
    let case = sample_case();
    post_json(
        &server.url("/v1/eligibility"),
        &server.tokens.evaluator,
        &json!({"case": case, "as_of": AS_OF}),
    );
    let mut bad = case.clone();
    bad["child"]["date_of_birth"] = json!("2013-02-30");
    post_json(
        &server.url("/v1/referrals"),
        &server.tokens.evaluator,
        &json!({"case": bad}),
    );
    let metrics = get(&server.ops_url("/metrics"), None).text;
    assert!(
        metrics.contains(
            "kinga_decisions_total{plugin=\"building-a-future-eligibility\",status=\"eligible\"}"
        ),
        "{metrics}"
    );
    let log = server.log();
    let mut requests = 0;
    for line in log.lines() {
        let record: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if record["message"] == "request" {
            requests += 1;
            assert!(record["request_id"].is_string() && record["route"].is_string());
        }
    }
    assert!(requests >= 2, "{log}");
    for value in kinga_host::identifying_values(&case)
        .iter()
        .map(String::as_str)
        .chain([
            "PRIVATE-EXTENSION-TEXT",
            "2013-02-11",
            "2013-02-30",
            "T-0001",
        ])
    {
        assert!(!log.contains(value), "{value} was logged");
    }
}

#[test]
fn tls_is_served_from_configured_certificate_files() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.path().join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("key.pem"),
        certified.signing_key.serialize_pem(),
    )
    .unwrap();
    let config = format!(
        "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        dir.path().join("cert.pem").display(),
        dir.path().join("key.pem").display()
    );
    let server = Server::with_config(&config);
    let port = server.public.rsplit(':').next().unwrap();
    let root = ureq::tls::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[root.to_owned()]))
                .build(),
        )
        .build()
        .into();
    let mut answer = agent
        .get(&format!("https://localhost:{port}/v1/plugins"))
        .header(
            "authorization",
            &format!("Bearer {}", server.tokens.evaluator),
        )
        .call()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let body: Value = answer.body_mut().read_json().unwrap();
    assert_eq!(body["plugins"].as_array().unwrap().len(), 3);
    // Plain HTTP on the TLS port gets nowhere.
    let plain = super::server::raw(
        &server.public,
        b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    );
    assert!(!plain.contains("200 OK"), "{plain}");
}
