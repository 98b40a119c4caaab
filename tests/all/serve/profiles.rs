//! Mapping profiles over HTTP: read by every role, changed by an
//! administrator with a reason and `If-Match`, checked before accepted,
//! audited under the token's principal — the same store as the CLI.

use serde_json::{Value, json};

use super::server::{Server, call, get};
use crate::support::bundled_profile as bundled;

fn put(server: &Server, platform: &str, if_match: &str, body: &Value) -> super::server::Answer {
    call(
        "PUT",
        &server.url(&format!("/v1/profiles/{platform}")),
        Some(&server.tokens.admin),
        &[("content-type", "application/json"), ("if-match", if_match)],
        Some(body.to_string().as_bytes()),
    )
}

#[test]
fn a_profile_is_read_set_and_reset_over_http_and_audited() {
    let server = Server::start();
    let listed = get(&server.url("/v1/profiles"), Some(&server.tokens.evaluator));
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.header("etag"), Some("\"0\""));
    let profiles = listed.json()["profiles"].as_array().unwrap().clone();
    let platforms: Vec<&str> = profiles
        .iter()
        .map(|p| p["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["primero", "cpims-crs", "cpims-record", "dhis2"]);
    assert!(
        profiles
            .iter()
            .all(|p| p["set_by"] == json!({"source": "bundled"}))
    );
    let shown = get(
        &server.url("/v1/profiles/dhis2"),
        Some(&server.tokens.auditor),
    );
    assert_eq!(shown.status, 200);
    assert_eq!(shown.json()["document"], bundled("dhis2-example"));
    get(
        &server.url("/v1/profiles/openmrs"),
        Some(&server.tokens.auditor),
    )
    .problem(404, "unknown-platform");

    // Refused: an evaluator may not change it; a broken profile is refused
    // with every problem under /profile, and nothing changes.
    let mut edited = bundled("dhis2-example");
    edited["profile"] = json!("dhis2-kilifi");
    let body = json!({"reason": "our program's UIDs", "profile": edited});
    let forbidden = call(
        "PUT",
        &server.url("/v1/profiles/dhis2"),
        Some(&server.tokens.evaluator),
        &[("content-type", "application/json"), ("if-match", "\"0\"")],
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(forbidden.status, 403);
    let mut broken = edited.clone();
    broken["timezone"] = json!("Africa/Atlantis");
    broken["outbound"]["import_strategy"] = json!("MERGE");
    let refused = put(
        &server,
        "dhis2",
        "\"0\"",
        &json!({"reason": "try", "profile": broken}),
    );
    let problem = refused.problem(400, "invalid-profile");
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert!(pointers.contains(&"/profile/timezone"), "{problem}");
    assert!(
        pointers.contains(&"/profile/outbound/import_strategy"),
        "{problem}"
    );
    put(
        &server,
        "primero",
        "\"0\"",
        &json!({"reason": "wrong platform", "profile": edited}),
    )
    .problem(400, "invalid-profile");

    // Accepted against the current revision.
    let accepted = put(&server, "dhis2", "\"0\"", &body);
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.header("etag"), Some("\"1\""));
    let answer = accepted.json();
    assert_eq!(answer["change"]["action"], json!("set-profile"));
    assert_eq!(answer["profile"]["profile"], json!("dhis2-kilifi"));
    assert_eq!(
        answer["profile"]["set_by"]["source"],
        json!("administrator")
    );
    let shown = get(
        &server.url("/v1/profiles/dhis2"),
        Some(&server.tokens.evaluator),
    )
    .json();
    assert_eq!(shown["document"], edited);
    assert_eq!(shown["revision"], json!(1));
    put(&server, "dhis2", "\"0\"", &body).problem(412, "stale-revision");

    // The CLI reads the same state.
    let output = crate::support::kinga_at(server.home.path(), &["profiles", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listed["profiles"][3]["profile"], json!("dhis2-kilifi"));

    let reset = call(
        "POST",
        &server.url("/v1/profiles/dhis2/reset"),
        Some(&server.tokens.admin),
        &[("content-type", "application/json"), ("if-match", "*")],
        Some(
            json!({"reason": "back to the example"})
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(
        reset.json()["profile"]["set_by"],
        json!({"source": "bundled"})
    );

    let trail = get(&server.url("/v1/audit"), Some(&server.tokens.auditor)).json();
    let records = trail["records"].as_array().unwrap();
    let actions: Vec<(&str, &str)> = records
        .iter()
        .filter_map(|r| {
            Some((
                r["change"]["action"].as_str()?,
                r["result"].as_str().unwrap_or_default(),
            ))
        })
        .collect();
    assert!(
        actions.contains(&("set-profile", "accepted")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("reset-profile", "accepted")),
        "{actions:?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["result"] == json!("refused") && r["change"]["platform"] == json!("dhis2")),
        "the broken profile is audited as refused: {trail}"
    );
}
