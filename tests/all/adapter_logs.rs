//! No value of a platform payload reaches a log line, at any level: every
//! payload (and versions of them the profiles refuse) goes through the CLI
//! and through `kinga serve`, webhook and write-back included, with every
//! log level on, and the logs are searched for each of the payloads'
//! values.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::serve::primero_standin::StandIn;
use super::serve::server::{Options, Server, call, post_json};
use crate::support::{kinga_env, platform_payload as payload, repo, stderr};

/// Every level of Kinga's own logs and its libraries', but the compiler's
/// (which sees plugins, never cases).
const EVERY_LEVEL: &str = "trace,cranelift_codegen=info,cranelift_frontend=info,regalloc2=info,wasmtime=info,wasmtime_cranelift=info,wasmtime_environ=info,wasmtime_internal_cranelift=info";

const INBOUND: [(&str, &str); 7] = [
    ("primero-1", "primero"),
    ("primero-2", "primero"),
    ("primero-3", "primero"),
    ("cpims-1", "cpims-crs"),
    ("cpims-2", "cpims-record"),
    ("dhis2-1", "dhis2"),
    ("dhis2-2", "dhis2"),
];

/// Every string in `value` (keys excluded).
fn strings(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// The values to look for: the payloads' strings of five characters or
/// more, but the codes a profile knows (`female`, `ACTIVE`: the platform's
/// vocabulary, not a child's data) and the platform names Kinga itself
/// prints.
fn values(payloads: &[Value]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for payload in payloads {
        strings(payload, &mut found);
    }
    let mut vocabulary = BTreeSet::new();
    for profile in [
        "primero-cpims-plus",
        "kenya-cpims-crs",
        "kenya-cpims-record",
        "dhis2-example",
    ] {
        let path = repo(&format!("profiles/{profile}.json"));
        let text = std::fs::read_to_string(path).unwrap();
        let document: Value = serde_json::from_str(&text).unwrap();
        for table in document["lookups"].as_object().unwrap().values() {
            vocabulary.extend(table["values"].as_object().unwrap().keys().cloned());
        }
        strings(&document, &mut vocabulary);
    }
    found
        .into_iter()
        .filter(|v| v.chars().count() >= 5 && !vocabulary.contains(v))
        .filter(|v| !["case", "true", "false"].contains(&v.as_str()))
        .collect()
}

fn assert_clean(log: &str, values: &BTreeSet<String>, what: &str) {
    for value in values {
        let line = log.lines().find(|l| l.contains(value.as_str()));
        assert!(
            line.is_none(),
            "{what}: a payload value reached the log: {value:?} in {}",
            line.unwrap_or_default()
                .chars()
                .take(600)
                .collect::<String>()
        );
    }
}

#[test]
fn no_payload_value_reaches_a_log_line_at_any_level() {
    let dir = tempfile::tempdir().unwrap();
    let mut payloads: Vec<Value> = INBOUND.iter().map(|(name, _)| payload(name)).collect();
    // Versions the profiles refuse, with values of their own.
    let mut unlisted = payload("primero-1");
    unlisted["data"]["sex"] = json!("SYNTHETIC-UNLISTED-SEX-7731");
    unlisted["data"]["location_current"] = json!("SYNTHETIC-NOWHERE-4402");
    let mut cpims = payload("cpims-2");
    cpims["ovc_case_record"]["case_status"] = json!("SYNTHETIC-STATUS-9917");
    payloads.push(unlisted.clone());
    payloads.push(cpims.clone());
    let values = values(&payloads);
    assert!(
        values.len() > 40,
        "the payloads hold many values: {values:?}"
    );
    assert!(values.contains("SYNTHETIC-UNLISTED-SEX-7731"));

    // The CLI: convert, screen, route and write back every payload.
    let mut inputs: Vec<(String, &str)> = INBOUND
        .iter()
        .map(|(name, platform)| (format!("{name}.json"), *platform))
        .collect();
    for (name, platform, document) in [
        ("unlisted.json", "primero", &unlisted),
        ("cpims-unlisted.json", "cpims-record", &cpims),
    ] {
        std::fs::write(dir.path().join(name), document.to_string()).unwrap();
        inputs.push((name.to_owned(), platform));
    }
    for (name, platform) in &inputs {
        let file = if name.starts_with("unlisted") || name.starts_with("cpims-unlisted") {
            dir.path().join(name)
        } else {
            repo(&format!("tests/platforms/{name}"))
        };
        let file = file.to_str().unwrap();
        let to = match *platform {
            "primero" => Some("primero"),
            "cpims-record" => Some("cpims"),
            "dhis2" => Some("dhis2"),
            _ => None,
        };
        let mut runs = vec![
            vec!["convert", "--from", platform, "--case", file],
            vec!["eligibility", "--from", platform, "--case", file, "--trace"],
            vec![
                "report",
                "caseload-summary",
                "--from",
                platform,
                "--cases",
                file,
                "--param",
                "as_of=2026-09-30",
            ],
        ];
        if let Some(to) = to {
            runs.push(vec![
                "route",
                "--from",
                platform,
                "--to",
                to,
                "--case",
                file,
                "--as-of",
                "2026-09-30",
            ]);
        }
        for args in runs {
            let output = kinga_env(&[("KINGA_LOG", EVERY_LEVEL)], &args);
            assert_clean(&stderr(&output), &values, &format!("{args:?}"));
        }
    }

    // The service: ?from= and Primero's webhook with a write-back.
    let (body, mut case) = (payload("primero-2"), payload("primero-2")["data"].clone());
    let map = case.as_object_mut().unwrap();
    let id = map.remove("record_id").unwrap();
    map.insert("id".into(), id.clone());
    let standin = StandIn::start(vec![case], "kinga_sync", "synthetic-password");
    let home = tempfile::tempdir().unwrap();
    let secrets = home.path().join("password");
    std::fs::write(&secrets, "synthetic-password").unwrap();
    let key_sha = {
        use sha2::Digest;
        sha2::Sha256::digest(b"synthetic-key")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let config = format!(
        "[primero]\nwebhook_auth = \"api_key\"\nwebhook_secret_sha256 = \"{key_sha}\"\n\n[primero.write_back]\nbase_url = \"{}\"\nuser = \"kinga_sync\"\npassword_file = \"{}\"\nlogin = \"token\"\nretry_initial_ms = 50\n",
        standin.url,
        secrets.display()
    );
    let server = Server::start_with(Options {
        config: &config,
        home: Some(home),
        env: &[("KINGA_LOG", EVERY_LEVEL)],
        ..Options::default()
    });
    standin
        .state
        .lock()
        .unwrap()
        .fail_next
        .push_back((500, None));
    // Each payload from its own platform, and (refused) from another.
    let platforms = INBOUND
        .iter()
        .map(|(_, platform)| *platform)
        .chain(["primero", "cpims-record"]);
    for (document, platform) in payloads.iter().zip(platforms) {
        for from in [platform, "dhis2"] {
            for route in ["eligibility", "referrals"] {
                let _ = post_json(
                    &server.url(&format!("/v1/{route}?from={from}&to=dhis2")),
                    &server.tokens.evaluator,
                    &json!({"case": document}),
                );
                let _ = post_json(
                    &server.url(&format!("/v1/{route}?from={from}")),
                    &server.tokens.evaluator,
                    &json!({"case": document}),
                );
            }
        }
    }
    let hook = |body: &Value| {
        call(
            "POST",
            &server.url("/v1/hooks/primero"),
            None,
            &[
                ("content-type", "application/json"),
                ("x-api-key", "synthetic-key"),
            ],
            Some(body.to_string().as_bytes()),
        )
    };
    assert_eq!(hook(&body).status, 202);
    let mut refused = body.clone();
    refused["data"]["sex"] = json!("SYNTHETIC-UNLISTED-SEX-7731");
    assert_eq!(hook(&refused).status, 422);
    let id = id.as_str().unwrap().to_owned();
    standin.wait_for("the write-back", |p| {
        p.transitions.get(&id).is_some_and(|t| t.len() == 2)
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let log = server.log();
    assert!(log.len() > 1000, "every level is on: {} bytes", log.len());
    assert_clean(&log, &values, "kinga serve");
}
