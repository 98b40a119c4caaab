//! Evaluation over HTTP: one case, a batch, reports, and what a bad request
//! gets (J rows of the security catalogue that reach the service).

use serde_json::{Value, json};

use super::server::{Server, call, post_json};
use crate::support::sample_case;

const AS_OF: &str = "2026-07-01T09:00:00+03:00";

#[test]
fn one_case_is_screened_and_routed_with_the_as_of_echoed() {
    let server = Server::start();
    let token = &server.tokens.evaluator;
    let body = json!({"case": sample_case(), "as_of": AS_OF});
    let screened = post_json(&server.url("/v1/eligibility"), token, &body);
    assert_eq!(screened.status, 200, "{}", screened.text);
    assert_eq!(screened.header("cache-control"), Some("no-store"));
    let screened = screened.json();
    assert_eq!(screened["as_of"], AS_OF);
    let education = screened["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["track"] == "education-support")
        .expect("an education decision");
    assert_eq!(education["status"], "eligible");

    let routed = post_json(&server.url("/v1/referrals"), token, &body).json();
    let rules: Vec<&str> = routed["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"post-rape-care"), "{rules:?}");
    assert!(routed.get("trace").is_none());
}

#[test]
fn a_batch_answers_each_case_in_its_place_and_a_bad_case_names_its_pointer() {
    let server = Server::start();
    let mut bad = sample_case();
    bad["child"]["date_of_birth"] = json!("2010-02-30");
    let body = json!({"cases": [sample_case(), bad, sample_case()], "as_of": AS_OF, "trace": true});
    let answer = post_json(
        &server.url("/v1/eligibility"),
        &server.tokens.evaluator,
        &body,
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    let results = answer.json()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 3);
    assert!(results[0]["decisions"].is_array() && results[0]["trace"].is_array());
    assert_eq!(results[1]["error"]["code"], "invalid-case");
    assert_eq!(
        results[1]["error"]["pointer"],
        "/cases/1/child/date_of_birth"
    );
    assert!(!answer.text.contains("2010-02-30"), "no input echoed");
    assert_eq!(results[2]["decisions"], results[0]["decisions"]);
}

#[test]
fn bad_envelopes_are_refused_with_a_pointer_and_no_echo() {
    let server = Server::start();
    let url = server.url("/v1/eligibility");
    let token = &server.tokens.evaluator;
    let cases: [(Value, &str, &str); 6] = [
        (
            json!({"case": sample_case(), "extra": 1}),
            "invalid-request",
            "/*",
        ),
        (
            json!({"case": sample_case(), "as_of": "2026-13-01"}),
            "invalid-as-of",
            "/as_of",
        ),
        (
            json!({"case": sample_case(), "plugins": ["no-such-plugin"]}),
            "unknown-plugin",
            "/plugins/0",
        ),
        (json!({"cases": {}}), "invalid-request", "/cases"),
        (json!({"case": {"case_id": "X"}}), "invalid-case", "/case"),
        (json!({}), "invalid-request", ""),
    ];
    for (body, code, pointer) in cases {
        let problem = post_json(&url, token, &body).problem(400, code);
        let at = problem["pointer"].as_str().unwrap_or_default();
        assert!(at.starts_with(pointer), "{body}: {problem}");
    }
    // J08: type confusion is refused, never coerced.
    let mut confused = sample_case();
    confused["child"]["date_of_birth"] = json!(2013);
    let problem = post_json(&url, token, &json!({"case": confused})).problem(400, "invalid-case");
    assert_eq!(problem["pointer"], "/case/child/date_of_birth");
}

#[test]
fn malformed_json_is_refused_before_any_plugin_runs() {
    let server = Server::start();
    let url = server.url("/v1/eligibility");
    let token = Some(server.tokens.evaluator.as_str());
    let json_type = [("content-type", "application/json")];
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let bodies: [(&[u8], &str); 6] = [
        // J06 duplicate keys, never last-one-wins.
        (
            br#"{"case": {"consent": false, "consent": true}}"#,
            "invalid-json",
        ),
        // J03 nesting past the cap: 400, no stack overflow.
        (deep.as_bytes(), "invalid-json"),
        // J09 numbers out of range.
        (br#"{"case": {"n": 1e400}}"#, "invalid-json"),
        // J10 a lone surrogate.
        (br#"{"case": {"s": "\ud800"}}"#, "invalid-json"),
        // J11 trailing commas and garbage.
        (br#"{"case": {},}"#, "invalid-json"),
        (b"{\"case\": {}} trailing", "invalid-json"),
    ];
    for (body, code) in bodies {
        call("POST", &url, token, &json_type, Some(body)).problem(400, code);
    }
    // J10 invalid UTF-8.
    call(
        "POST",
        &url,
        token,
        &json_type,
        Some(b"{\"case\": \"\xff\"}"),
    )
    .problem(400, "invalid-json");
}

#[test]
fn wrong_content_type_compression_and_sizes_are_refused_by_status() {
    let server = Server::with_config("[limits]\nmax_body_bytes = 65536\nmax_batch = 3\n");
    let url = server.url("/v1/eligibility");
    let token = Some(server.tokens.evaluator.as_str());
    let body = json!({"case": sample_case()}).to_string();
    // J16 wrong or missing content type.
    for headers in [
        vec![("content-type", "text/plain")],
        vec![("content-type", "application/json; charset=latin-1")],
        vec![],
    ] {
        call("POST", &url, token, &headers, Some(body.as_bytes()))
            .problem(415, "unsupported-media-type");
    }
    // J02 a compressed body is never inflated.
    let gzip_bomb = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03];
    call(
        "POST",
        &url,
        token,
        &[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        Some(&gzip_bomb),
    )
    .problem(415, "unsupported-content-encoding");
    // J01 over the body cap: 413, by declared length and by what arrives.
    let huge = format!("{{\"case\": {{\"pad\": \"{}\"}}}}", "a".repeat(70_000));
    call(
        "POST",
        &url,
        token,
        &[("content-type", "application/json")],
        Some(huge.as_bytes()),
    )
    .problem(413, "body-too-large");
    // J17 a batch over the cap.
    let batch = json!({"cases": [sample_case(), sample_case(), sample_case(), sample_case()]});
    super::server::post_json(&url, &server.tokens.evaluator, &batch)
        .problem(413, "batch-too-large");
}

fn jsonl(cases: &[Value]) -> Vec<u8> {
    cases
        .iter()
        .map(|c| c.to_string() + "\n")
        .collect::<String>()
        .into_bytes()
}

fn report(
    server: &Server,
    token: &str,
    query: &str,
    accept: &str,
    body: &[u8],
) -> super::server::Answer {
    call(
        "POST",
        &server.url(&format!("/v1/reports/caseload-summary{query}")),
        Some(token),
        &[("content-type", "application/x-ndjson"), ("accept", accept)],
        Some(body),
    )
}

#[test]
fn reports_negotiate_their_format_and_suppress_small_cells_unless_allowed() {
    let server = Server::start();
    let cases = jsonl(&[sample_case(), sample_case(), sample_case()]);
    let query = "?as_of=2026-07-01";
    let published = report(
        &server,
        &server.tokens.evaluator,
        query,
        "application/json",
        &cases,
    );
    assert_eq!(published.status, 200, "{}", published.text);
    assert_eq!(published.header("kinga-suppressed"), Some("true"));
    let report_json = published.json();
    let violations =
        kinga_host::schemas::violations(kinga_host::schemas::report(), &report_json, 5);
    assert!(violations.is_empty(), "{violations:?}");
    assert!(
        published.text.contains("\"<5\""),
        "3 cases shown as <5: {}",
        published.text
    );

    let full = report(
        &server,
        &server.tokens.analyst,
        query,
        "application/json",
        &cases,
    );
    assert_eq!(full.header("kinga-suppressed"), Some("false"));
    assert!(!full.text.contains("<5"), "{}", full.text);
    let asked = report(
        &server,
        &server.tokens.analyst,
        &format!("{query}&publish=true"),
        "application/json",
        &cases,
    );
    assert_eq!(asked.header("kinga-suppressed"), Some("true"));

    let csv = report(&server, &server.tokens.evaluator, query, "text/csv", &cases);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let md = report(
        &server,
        &server.tokens.evaluator,
        query,
        "text/markdown",
        &cases,
    );
    assert!(md.text.starts_with("# "), "{}", md.text);
    report(
        &server,
        &server.tokens.evaluator,
        query,
        "image/png",
        &cases,
    )
    .problem(406, "not-acceptable");
    call(
        "POST",
        &server.url("/v1/reports/no-such-template?x=1"),
        Some(&server.tokens.evaluator),
        &[("content-type", "application/x-ndjson")],
        Some(&cases),
    )
    .problem(404, "unknown-template");
}

#[test]
fn an_invalid_report_line_refuses_the_report_unless_skipped() {
    let server = Server::start();
    let mut body = jsonl(&[sample_case()]);
    body.extend_from_slice(b"{\"case_id\": \"broken\"}\n");
    body.extend_from_slice(&jsonl(&[sample_case()]));
    let refused = report(
        &server,
        &server.tokens.evaluator,
        "?as_of=2026-07-01",
        "application/json",
        &body,
    )
    .problem(400, "invalid-case");
    assert_eq!(refused["line"], 2);
    let skipped = report(
        &server,
        &server.tokens.evaluator,
        "?as_of=2026-07-01&skip_invalid=true",
        "application/json",
        &body,
    );
    assert_eq!(skipped.status, 200, "{}", skipped.text);
    assert_eq!(skipped.header("kinga-skipped-cases"), Some("1"));
}

#[test]
fn a_case_over_the_documented_64_kib_is_refused_inside_a_body_the_server_accepts() {
    // The body limit is 1 MiB; the case limit, as the CLI applies it, 64 KiB.
    let server = Server::start();
    let mut case = sample_case();
    case["extensions"]["blob"] = json!("x".repeat(70_000));
    let answer = post_json(
        &server.url("/v1/eligibility"),
        &server.tokens.evaluator,
        &json!({"case": case, "as_of": AS_OF}),
    );
    let problem = answer.problem(400, "invalid-case");
    assert_eq!(problem["pointer"], "/case", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("the largest case is 65536 bytes"),
        "{problem}"
    );
    // In a batch, that case alone is refused, in its place.
    let answer = post_json(
        &server.url("/v1/eligibility"),
        &server.tokens.evaluator,
        &json!({"cases": [sample_case(), case], "as_of": AS_OF}),
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    let results = answer.json()["results"].clone();
    assert!(results[0]["decisions"].is_array(), "{results}");
    assert_eq!(results[1]["error"]["code"], "invalid-case", "{results}");
}

#[test]
fn without_unpublished_figures_suppression_can_be_raised_never_lowered() {
    let server = Server::start();
    let cases = jsonl(&[sample_case(), sample_case(), sample_case()]);
    let evaluator = &server.tokens.evaluator;
    // Three cases are below the default threshold of 5: lowering it to 2
    // would publish them.
    let lowered = report(
        &server,
        evaluator,
        "?as_of=2026-07-01&suppress_below=2",
        "application/json",
        &cases,
    );
    let problem = lowered.problem(403, "forbidden");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("unpublished_figures"),
        "{problem}"
    );
    let raised = report(
        &server,
        evaluator,
        "?as_of=2026-07-01&suppress_below=10",
        "application/json",
        &cases,
    );
    assert_eq!(raised.status, 200, "{}", raised.text);
    assert!(raised.text.contains("\"<10\""), "{}", raised.text);
    // A token allowed unpublished figures may lower it when publishing.
    let analyst = report(
        &server,
        &server.tokens.analyst,
        "?as_of=2026-07-01&suppress_below=2&publish=true",
        "application/json",
        &cases,
    );
    assert_eq!(analyst.status, 200, "{}", analyst.text);
    assert!(!analyst.text.contains("\"<"), "{}", analyst.text);
}

#[test]
fn a_problem_never_repeats_a_request_key_the_document_does_not_declare() {
    let server = Server::start();
    let url = server.url("/v1/eligibility");
    let token = Some(server.tokens.evaluator.as_str());
    let json_type = [("content-type", "application/json")];
    let extra = call(
        "POST",
        &url,
        token,
        &json_type,
        Some(br#"{"case": {}, "Amina Wanjiru": 1}"#),
    );
    let problem = extra.problem(400, "invalid-request");
    assert_eq!(problem["pointer"], "/*", "{problem}");
    assert!(!extra.text.contains("Amina"), "{}", extra.text);
    let inexact = call(
        "POST",
        &url,
        token,
        &json_type,
        Some(br#"{"case": {"extensions": {"Amina Wanjiru": 9007199254740993}}}"#),
    );
    let problem = inexact.problem(400, "invalid-json");
    assert_eq!(problem["pointer"], "/case/extensions/*", "{problem}");
    assert!(!inexact.text.contains("Amina"), "{}", inexact.text);
}
