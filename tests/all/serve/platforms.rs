//! Platform payloads over HTTP (`?from=`, `?to=`): the same mapping, the
//! same answers and the same write-backs as the CLI, through a real server.

use serde_json::{Value, json};

use super::server::{Server, call, post_json};
use crate::support::{
    assert_success, kinga_at, platform_payload as payload, platform_payload_path as payload_path,
    repo, stdout,
};

const AS_OF: &str = "2026-09-30";

fn evaluate(server: &Server, route: &str, query: &str, body: &Value) -> super::server::Answer {
    post_json(
        &server.url(&format!("/v1/{route}{query}")),
        &server.tokens.evaluator,
        body,
    )
}

#[test]
fn a_platform_record_gets_the_answers_and_write_back_the_cli_gives() {
    let server = Server::start();
    let body = json!({"case": payload("primero-1"), "as_of": AS_OF});
    let answer = evaluate(&server, "referrals", "?from=primero&to=primero", &body);
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = answer.json();
    assert_eq!(answer["record"], json!("/case/data"));
    assert_eq!(
        answer["case_id"],
        json!("primero:5b0c6a2e-8f1d-4c3b-9a77-2f4e1c9d0a11")
    );
    let output = kinga_at(
        server.home.path(),
        &[
            "route",
            "--from",
            "primero",
            "--to",
            "primero",
            "--case",
            &payload_path("primero-1"),
            "--as-of",
            AS_OF,
        ],
    );
    assert_success(&output);
    let cli: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(answer["referrals"], cli["referrals"]);
    assert_eq!(answer["delivery"], cli["delivery"]);

    // Eligibility names what to collect in the platform's own terms.
    let answer = evaluate(
        &server,
        "eligibility",
        "?from=dhis2",
        &json!({"case": payload("dhis2-1"), "as_of": AS_OF}),
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = answer.json();
    let undetermined = answer["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["status"] == json!("undetermined"));
    assert_eq!(answer.get("collect").is_some(), undetermined, "{answer}");
    if let Some(collect) = answer.get("collect") {
        assert!(
            collect[0]["collect"].as_str().unwrap().starts_with("DHIS2"),
            "{collect}"
        );
    }
}

#[test]
fn pages_and_batches_answer_record_by_record_and_refusals_keep_their_place() {
    let server = Server::start();
    let mut page = payload("primero-3");
    page["data"]
        .as_array_mut()
        .unwrap()
        .push(payload("primero-1")["data"].clone());
    let mut unknown = payload("primero-1");
    unknown["data"]["sex"] = json!("SYNTHETIC-UNLISTED-CODE");
    let body = json!({"cases": [page, unknown], "as_of": AS_OF});
    let answer = evaluate(&server, "eligibility", "?from=primero", &body);
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(
        !answer.text.contains("SYNTHETIC-UNLISTED-CODE"),
        "a refusal never echoes the value"
    );
    let results = answer.json()["results"].as_array().unwrap().clone();
    let records: Vec<&str> = results
        .iter()
        .map(|r| r["record"].as_str().unwrap())
        .collect();
    assert_eq!(
        records,
        ["/cases/0/data/0", "/cases/0/data/1", "/cases/1/data"]
    );
    assert!(results[0]["decisions"].is_array());
    assert!(results[1]["decisions"].is_array());
    let error = &results[2]["error"];
    assert_eq!(error["code"], json!("mapping"));
    assert_eq!(error["pointer"], json!("/cases/1/data/sex"), "{error}");

    // One refused record alone: 422, its pointer under /case.
    let refused = evaluate(
        &server,
        "eligibility",
        "?from=primero",
        &json!({"case": unknown, "as_of": AS_OF}),
    );
    let problem = refused.problem(422, "mapping");
    assert_eq!(problem["pointer"], json!("/case/data/sex"));
    assert!(!refused.text.contains("SYNTHETIC-UNLISTED-CODE"));
}

#[test]
fn query_parameters_that_cannot_be_honoured_are_refused() {
    let server = Server::start();
    let body = json!({"case": payload("cpims-1"), "as_of": AS_OF});
    for query in [
        "?from=cpims-crs&to=cpims",
        "?to=primero",
        "?from=openmrs",
        "?colour=blue",
        "?from=primero&from=dhis2",
    ] {
        evaluate(&server, "referrals", query, &body).problem(400, "invalid-parameters");
    }
}

#[test]
fn a_report_reads_platform_lines_and_a_profile_change_takes_effect_at_once() {
    let server = Server::start();
    let mut unknown = payload("primero-1");
    unknown["data"]["sex"] = json!("female_5c1e");
    let lines = [payload("primero-1"), payload("primero-3"), unknown.clone()]
        .iter()
        .map(|v| v.to_string() + "\n")
        .collect::<String>();
    let report = |query: &str| {
        call(
            "POST",
            &server.url(&format!(
                "/v1/reports/caseload-summary?as_of={AS_OF}&from=primero{query}"
            )),
            Some(&server.tokens.evaluator),
            &[("content-type", "application/x-ndjson")],
            Some(lines.as_bytes()),
        )
    };
    let refused = report("");
    let problem = refused.problem(422, "mapping");
    assert_eq!(problem["line"], json!(3), "{problem}");
    let skipped = report("&skip_invalid=true");
    assert_eq!(skipped.status, 200, "{}", skipped.text);
    assert_eq!(skipped.header("kinga-skipped-cases"), Some("1"));

    // The administrator lists the deployment's suffixed code: the next
    // request reads with the new profile.
    let profile_path = repo("profiles/primero-cpims-plus.json");
    let mut profile: Value = serde_json::from_slice(&std::fs::read(profile_path).unwrap()).unwrap();
    profile["lookups"]["gender"]["values"]["female_5c1e"] = json!("female");
    let set = call(
        "PUT",
        &server.url("/v1/profiles/primero"),
        Some(&server.tokens.admin),
        &[("content-type", "application/json"), ("if-match", "*")],
        Some(
            json!({"reason": "suffixed options", "profile": profile})
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(set.status, 200, "{}", set.text);
    let full = report("");
    assert_eq!(full.status, 200, "{}", full.text);
    assert_eq!(full.header("kinga-skipped-cases"), Some("0"));
    let answer = evaluate(
        &server,
        "eligibility",
        "?from=primero",
        &json!({"case": unknown, "as_of": AS_OF}),
    );
    assert_eq!(answer.status, 200, "{}", answer.text);

    // The quarterly report for DHIS2, from the platform's lines.
    let quarterly = call(
        "POST",
        &server.url("/v1/reports/baf-quarterly?period=2026-Q3&from=primero&to=dhis2"),
        Some(&server.tokens.evaluator),
        &[("content-type", "application/x-ndjson")],
        Some(lines.as_bytes()),
    );
    assert_eq!(quarterly.status, 200, "{}", quarterly.text);
    let quarterly = quarterly.json();
    assert_eq!(quarterly["report"]["cases"], json!(3));
    assert_eq!(quarterly["delivery"]["period"], json!("2026Q3"));
    assert_eq!(
        quarterly["delivery"]["requests"][0]["path"],
        json!("/api/dataValueSets")
    );
}
