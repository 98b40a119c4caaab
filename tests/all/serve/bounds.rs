//! A request is bounded as a whole, not only call by call: the answers a
//! batch gathers, the log lines it writes, the time it may hold an
//! evaluation place after its caller gave up, and how slowly a report's
//! cases may trickle in.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use kinga_artifacts::{KENYA_REFERRAL_PATHWAY, TEST_HOSTILE};
use serde_json::{Value, json};

use super::server::{AS_OF, Options, Server, post_json};
use crate::support::{assert_success, kinga_at, plugin_dir, sample_case};

/// A server with the reference referral plugin and the hostile one doing
/// `behaviour`, with `config` added; the plugin directory must outlive it.
fn hostile_server(behaviour: &str, config: &str) -> (Server, tempfile::TempDir) {
    let plugins = plugin_dir(&[KENYA_REFERRAL_PATHWAY, TEST_HOSTILE]);
    let home = tempfile::tempdir().unwrap();
    let setting = format!("behaviour={behaviour}");
    assert_success(&kinga_at(
        home.path(),
        &[
            "--plugins",
            plugins.path().to_str().unwrap(),
            "settings",
            "set",
            "test-hostile",
            &setting,
            "--reason",
            "bounds test",
            "--actor",
            "t",
        ],
    ));
    let server = Server::start_with(Options {
        config,
        plugins: Some(plugins.path()),
        home: Some(home),
        ..Options::default()
    });
    (server, plugins)
}

fn batch(n: usize) -> Value {
    json!({"cases": vec![sample_case(); n], "as_of": AS_OF})
}

#[test]
fn a_batch_stops_once_its_answers_reach_the_limit_and_says_so_for_the_rest() {
    // Each case gets some 600 KB from the hostile plugin.
    let (server, _plugins) = hostile_server("big-answer", "[limits]\nmax_answer_bytes = 2000000\n");
    let answer = post_json(
        &server.url("/v1/referrals"),
        &server.tokens.evaluator,
        &batch(20),
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    let results = answer.json()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 20, "every case is answered in its place");
    let answered = results
        .iter()
        .take_while(|r| r.get("referrals").is_some())
        .count();
    assert!((2..=5).contains(&answered), "{answered} cases answered");
    for result in &results[answered..] {
        assert_eq!(result["error"]["code"], "answers-too-large", "{result}");
        assert!(
            result["error"]["detail"]
                .as_str()
                .unwrap()
                .contains("send the remaining cases in another request")
        );
    }
    // The budget, plus at most one call's answer (1 MiB), plus the errors.
    assert!(
        answer.text.len() < 2_000_000 + (1 << 20) + 50_000,
        "{} bytes",
        answer.text.len()
    );
}

#[test]
fn a_batch_writes_at_most_its_log_bytes_however_many_calls_it_makes() {
    // Each call keeps 100 lines (the per-call limit): eight cases would
    // write 800.
    let (server, _plugins) = hostile_server("log-flood", "[limits]\nmax_log_bytes = 1000\n");
    let answer = post_json(
        &server.url("/v1/referrals"),
        &server.tokens.evaluator,
        &batch(8),
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    let log = server.log();
    let flood: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("kinga::plugin") && l.contains("line "))
        .collect();
    assert!(!flood.is_empty(), "some lines are kept: {log}");
    // "line N" with N < 100, cleaned: at least 6 bytes each.
    assert!(flood.len() <= 1000 / 6, "{} lines kept", flood.len());
    assert!(log.contains("per-request limit were dropped"), "{log}");
}

#[test]
fn a_request_past_its_time_gives_its_evaluation_place_back_at_the_next_call() {
    // One place; a batch of 400 slow cases would hold it for tens of
    // seconds, far past the 1.5 s the server allows a request.
    let (server, _plugins) = hostile_server(
        "slow",
        "[limits]\nmax_concurrent_evaluations = 1\nmax_batch = 400\nrequest_timeout_ms = 1500\nqueue_timeout_ms = 5000\n",
    );
    let url = server.url("/v1/referrals");
    let token = server.tokens.evaluator.clone();
    let slow = std::thread::spawn({
        let url = url.clone();
        let token = token.clone();
        move || post_json(&url, &token, &batch(400))
    });
    std::thread::sleep(Duration::from_millis(500));
    // Waits for the place: it is given back soon after the batch's time
    // ran out, well within the 5 s this request may queue.
    let quick = post_json(
        &url,
        &token,
        &json!({"case": sample_case(), "as_of": AS_OF, "plugins": ["kenya-referral-pathway"]}),
    );
    assert_eq!(quick.status, 200, "{}", quick.text);
    slow.join().unwrap().problem(503, "timeout");
}

#[test]
fn a_report_upload_that_trickles_is_cut_even_when_each_part_is_on_time() {
    let server = Server::with_config(
        "[limits]\nmax_concurrent_evaluations = 1\nbody_timeout_ms = 1000\nmin_upload_bytes_per_second = 1000\n",
    );
    let mut stream = TcpStream::connect(&server.public).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let line = format!("{}\n", sample_case());
    write!(
        stream,
        "POST /v1/reports/caseload-summary?as_of=2026-07-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{line}\r\n",
        server.tokens.evaluator,
        line.len()
    )
    .unwrap();
    // A byte every 300 ms: never idle for the 1 s timeout, far below the
    // 1000 bytes a second owed after it.
    let mut answer = Vec::new();
    for _ in 0..40 {
        let _ = stream.write_all(b"1\r\n \r\n");
        let mut buffer = [0u8; 4096];
        if let Ok(n) = stream.read(&mut buffer)
            && n > 0
        {
            answer.extend_from_slice(&buffer[..n]);
            break;
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("request-timeout"), "{answer}");
    // Its place is free again.
    let body = json!({"case": sample_case(), "as_of": AS_OF});
    assert_eq!(
        post_json(&server.url("/v1/eligibility"), &server.tokens.other, &body).status,
        200
    );
}
