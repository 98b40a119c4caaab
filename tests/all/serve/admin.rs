//! Administration over HTTP: switches, settings, revisions, packages, and
//! the audit trail — the same guarantees as the CLI.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde_json::{Value, json};

use super::server::{Options, Server, call, get, patch, referral_rules};
use crate::support::assert_success;
use crate::support::kinga_at;

const PATHWAY: &str = "/v1/plugins/kenya-referral-pathway";

#[test]
fn a_rule_switched_off_changes_the_next_evaluation_and_is_audited_with_its_principal() {
    let server = Server::start();
    let (revision, before) = referral_rules(&server);
    assert!(before.contains(&"police".to_owned()));
    let listed = get(&server.url("/v1/plugins"), Some(&server.tokens.admin));
    assert_eq!(listed.header("etag"), Some("\"0\""));

    let url = server.url(&format!("{PATHWAY}/rules/police"));
    let reason = "police referrals now go through the children's officer";
    let changed = patch(
        &url,
        &server.tokens.admin,
        Some(&format!("\"{revision}\"")),
        &json!({"enabled": false, "reason": reason}),
    );
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.header("etag"), Some("\"1\""));
    let rule = changed.json()["plugin"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "police")
        .cloned()
        .unwrap();
    assert_eq!(rule["enabled"], false);
    assert_eq!(rule["set_by"], "administrator");

    let (revision, after) = referral_rules(&server);
    assert_eq!(revision, 1);
    assert!(!after.contains(&"police".to_owned()), "{after:?}");
    assert_eq!(after.len(), before.len() - 1);

    // The same If-Match again is stale now: 412, nothing changes.
    let stale = patch(
        &url,
        &server.tokens.admin,
        Some("\"0\""),
        &json!({"enabled": true, "reason": "undo"}),
    );
    assert_eq!(stale.problem(412, "stale-revision")["current_revision"], 1);
    patch(
        &url,
        &server.tokens.admin,
        None,
        &json!({"enabled": true, "reason": "undo"}),
    )
    .problem(428, "precondition-required");

    let trail = get(
        &server.url("/v1/audit?plugin=kenya-referral-pathway"),
        Some(&server.tokens.auditor),
    )
    .json();
    let accepted: Vec<&Value> = trail["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "accepted")
        .collect();
    assert_eq!(accepted.len(), 1, "{trail}");
    assert_eq!(accepted[0]["actor"], "amina");
    assert_eq!(accepted[0]["reason"], reason);
    assert_eq!(
        accepted[0]["old"],
        json!({"rule": "police", "enabled": null}),
        "null: the plugin's default"
    );
    assert_eq!(
        accepted[0]["new"],
        json!({"rule": "police", "enabled": false})
    );
    let refused: Vec<&Value> = trail["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "refused")
        .collect();
    assert_eq!(
        refused.len(),
        2,
        "the stale and the unconditioned attempts: {trail}"
    );

    // The CLI sees the same state.
    let listed = kinga_at(
        server.home.path(),
        &["rules", "list", "kenya-referral-pathway", "--json"],
    );
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let police = listed["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "police")
        .unwrap();
    assert_eq!(police["on"], false);
}

#[test]
fn settings_are_checked_against_the_schema_and_unknown_targets_are_404() {
    let server = Server::start();
    let admin = &server.tokens.admin;
    let url = server.url("/v1/plugins/building-a-future-eligibility/settings");
    let refused = patch(
        &url,
        admin,
        Some("*"),
        &json!({"settings": {"education_max_age": "old"}, "reason": "typo"}),
    )
    .problem(400, "change-refused");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("education_max_age"),
        "{refused}"
    );
    let accepted = patch(
        &url,
        admin,
        Some("*"),
        &json!({"settings": {"education_max_age": 14}, "reason": "new donor rule"}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(
        accepted.json()["plugin"]["settings"]["education_max_age"],
        14
    );
    patch(
        &server.url("/v1/plugins/nope/settings"),
        admin,
        Some("*"),
        &json!({"settings": {"a": 1}, "reason": "r"}),
    )
    .problem(404, "unknown-plugin");
    patch(
        &server.url(&format!("{PATHWAY}/rules/nope")),
        admin,
        Some("*"),
        &json!({"enabled": false, "reason": "r"}),
    )
    .problem(404, "unknown-rule");
    get(&server.url("/v1/plugins/nope"), Some(admin)).problem(404, "unknown-plugin");
}

/// A home with a trusted publisher key; returns the home and the key.
fn publisher_home(work: &Path) -> (tempfile::TempDir, std::path::PathBuf) {
    let home = tempfile::tempdir().unwrap();
    let dir = work.to_str().unwrap();
    assert!(
        kinga_at(home.path(), &["keys", "generate", "trusted", "--dir", dir])
            .status
            .success()
    );
    assert!(
        kinga_at(home.path(), &["keys", "generate", "stranger", "--dir", dir])
            .status
            .success()
    );
    let trusted = kinga_at(
        home.path(),
        &[
            "keys",
            "trust",
            work.join("trusted.pub").to_str().unwrap(),
            "--reason",
            "our publisher",
            "--actor",
            "amina",
        ],
    );
    assert_success(&trusted);
    (home, work.join("trusted.key"))
}

fn upload_body(manifest: &Value, component: &[u8]) -> Value {
    json!({
        "manifest": manifest,
        "component": base64::engine::general_purpose::STANDARD.encode(component),
        "reason": "candidate from the programme team",
    })
}

fn package(dir: &Path, component: &[u8], key: Option<&Path>) -> Value {
    package_with_fixtures(dir, component, BTreeMap::new(), key)
}

/// The reference plugin's own fixtures named in `names`.
fn reference_fixtures(names: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/cases/kenya-referral-pathway"
    );
    names
        .iter()
        .map(|name| {
            let file = format!("{name}.json");
            let bytes = std::fs::read(Path::new(dir).join(&file)).unwrap();
            (file, bytes)
        })
        .collect()
}

fn package_with_fixtures(
    dir: &Path,
    component: &[u8],
    fixtures: BTreeMap<String, Vec<u8>>,
    key: Option<&Path>,
) -> Value {
    let key = key.map(|k| kinga_host::admin::read_signing_key(k).unwrap());
    let contents = kinga_host::admin::PackageContents {
        component: component.to_vec(),
        fixtures,
    };
    kinga_host::admin::write_package(
        dir,
        &contents,
        "kenya-referral-pathway",
        "1.1.0-ec72",
        "referral",
        key.as_ref(),
    )
    .unwrap();
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// A server whose administration directory trusts one publisher key, with
/// room for a package upload; and that key.
fn package_server(work: &Path) -> (Server, std::path::PathBuf) {
    let (home, trusted) = publisher_home(work);
    let server = Server::start_with(Options {
        config: "[limits]\nmax_package_bytes = 4194304\n",
        home: Some(home),
        ..Options::default()
    });
    (server, trusted)
}

/// A package's own fixtures travel in the upload, in base64, and the
/// plugin must pass every one before it is installed.
#[test]
fn a06_an_uploaded_package_runs_its_own_fixtures_before_install() {
    let work = tempfile::tempdir().unwrap();
    let (server, trusted) = package_server(work.path());
    let admin = &server.tokens.admin;
    let post = |body: &Value| {
        call(
            "POST",
            &server.url("/v1/packages"),
            Some(admin),
            &[("content-type", "application/json"), ("if-match", "*")],
            Some(body.to_string().as_bytes()),
        )
    };
    let with_fixtures = |manifest: &Value, fixtures: &BTreeMap<String, Vec<u8>>| {
        let mut body = upload_body(
            manifest,
            &std::fs::read(kinga_artifacts::TEST_REFERRAL_EC72).unwrap(),
        );
        body["fixtures"] = fixtures
            .iter()
            .map(|(name, bytes)| {
                (
                    name.clone(),
                    json!(base64::engine::general_purpose::STANDARD.encode(bytes)),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into();
        body
    };
    let candidate = std::fs::read(kinga_artifacts::TEST_REFERRAL_EC72).unwrap();

    // The variant's 72-hour emergency contraception window fails the
    // reference plugin's own 120-hour fixture.
    let failing = reference_fixtures(&[
        "police-with-consent",
        "emergency-contraception-fires-at-exactly-120h",
    ]);
    let manifest = package_with_fixtures(
        &work.path().join("failing"),
        &candidate,
        failing.clone(),
        Some(&trusted),
    );
    let refused = post(&with_fixtures(&manifest, &failing)).problem(400, "change-refused");
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains("did not pass 1 of its 2 own fixtures"),
        "{refused}"
    );
    assert!(
        detail.contains("fixtures/emergency-contraception-fires-at-exactly-120h.json"),
        "{refused}"
    );
    assert!(!detail.contains("police-with-consent"), "{refused}");

    // A fixture left out of the upload, or changed after signing.
    let mut missing = with_fixtures(&manifest, &failing);
    missing["fixtures"]
        .as_object_mut()
        .unwrap()
        .remove("police-with-consent.json");
    let refused = post(&missing).problem(400, "change-refused");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("fixtures/police-with-consent.json"),
        "{refused}"
    );
    let mut changed = failing.clone();
    changed
        .get_mut("police-with-consent.json")
        .unwrap()
        .push(b' ');
    let refused = post(&with_fixtures(&manifest, &changed)).problem(400, "change-refused");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("changed after signing"),
        "{refused}"
    );

    // A name that is not a fixture's file name never reaches the disk.
    let mut odd = with_fixtures(&manifest, &failing);
    odd["fixtures"]["../escape.json"] = json!("e30=");
    post(&odd).problem(400, "invalid-request");

    assert_eq!(
        get(&server.url(PATHWAY), Some(admin)).json()["version"],
        "1.0.0"
    );

    // Fixtures it passes: installed, and the count is kept with it.
    let passing = reference_fixtures(&["police-with-consent", "safe-shelter-when-unsafe-at-home"]);
    let manifest = package_with_fixtures(
        &work.path().join("passing"),
        &candidate,
        passing.clone(),
        Some(&trusted),
    );
    let installed = post(&with_fixtures(&manifest, &passing));
    assert_eq!(installed.status, 200, "{}", installed.text);
    assert_eq!(
        get(&server.url(PATHWAY), Some(admin)).json()["version"],
        "1.1.0-ec72"
    );
}

#[test]
fn a06_packages_are_verified_before_install_and_bad_ones_leave_evaluation_untouched() {
    let work = tempfile::tempdir().unwrap();
    let (server, trusted) = package_server(work.path());
    let admin = &server.tokens.admin;
    let url = server.url("/v1/packages");
    let (_, before) = referral_rules(&server);
    let candidate = std::fs::read(kinga_artifacts::TEST_REFERRAL_EC72).unwrap();

    // Over the size cap: 413 before reading.
    let head = format!(
        "POST /v1/packages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nContent-Type: application/json\r\nIf-Match: *\r\nContent-Length: {}\r\n\r\n",
        5 << 20
    );
    let answer = super::server::raw(
        &server.public,
        head.as_bytes(),
        std::time::Duration::from_secs(10),
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("body-too-large"), "{answer}");
    let post = |body: &Value| {
        call(
            "POST",
            &url,
            Some(admin),
            &[("content-type", "application/json"), ("if-match", "*")],
            Some(body.to_string().as_bytes()),
        )
    };
    // Not a component, though signed by the trusted key.
    let junk = b"definitely not wasm".to_vec();
    let manifest = package(&work.path().join("junk"), &junk, Some(&trusted));
    let refused = post(&upload_body(&manifest, &junk)).problem(400, "change-refused");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("not a WebAssembly component"),
        "{refused}"
    );
    // Forbidden imports.
    let filesystem =
        wat::parse_str("(component (import \"wasi:filesystem/types@0.2.6\" (instance)))").unwrap();
    let manifest = package(&work.path().join("fs"), &filesystem, Some(&trusted));
    post(&upload_body(&manifest, &filesystem)).problem(400, "change-refused");
    // Unsigned (the server is not in development mode).
    let manifest = package(&work.path().join("unsigned"), &candidate, None);
    post(&upload_body(&manifest, &candidate)).problem(400, "change-refused");
    // Signed by a key nobody trusted.
    let manifest = package(
        &work.path().join("stranger"),
        &candidate,
        Some(&work.path().join("stranger.key")),
    );
    post(&upload_body(&manifest, &candidate)).problem(400, "change-refused");
    // Signed, then the component swapped.
    let manifest = package(&work.path().join("swapped"), &candidate, Some(&trusted));
    let real = std::fs::read(kinga_artifacts::TEST_REFERRAL).unwrap();
    post(&upload_body(&manifest, &real)).problem(400, "change-refused");
    // Not base64.
    let mut body = upload_body(&manifest, &candidate);
    body["component"] = json!("***");
    let problem = post(&body).problem(400, "invalid-request");
    assert_eq!(problem["pointer"], "/component");

    assert_eq!(
        referral_rules(&server).1,
        before,
        "evaluation is unaffected"
    );
    let trail = get(&server.url("/v1/audit?actor=amina"), Some(admin)).json();
    let refusals = trail["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "refused")
        .count();
    assert_eq!(refusals, 7, "{trail}");

    // The real thing installs, is served at once, and rolls back.
    let installed = post(&upload_body(&manifest, &candidate));
    assert_eq!(installed.status, 200, "{}", installed.text);
    let shown = get(&server.url(PATHWAY), Some(admin)).json();
    assert_eq!(shown["version"], "1.1.0-ec72");
    let rolled = call(
        "POST",
        &server.url(&format!("{PATHWAY}/rollback")),
        Some(admin),
        &[("content-type", "application/json"), ("if-match", "*")],
        Some(
            json!({"reason": "back to the approved version"})
                .to_string()
                .as_bytes(),
        ),
    );
    // The first install has no earlier installed version to go back to: a
    // clean refusal, and the installed version stays.
    let refused = rolled.problem(400, "change-refused");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("no earlier installed version")
    );
    assert_eq!(
        get(&server.url(PATHWAY), Some(admin)).json()["version"],
        "1.1.0-ec72"
    );
    assert!(
        std::fs::read_dir(server.home.path().join("uploads")).map_or(true, |d| d.count() == 0),
        "uploads are cleaned up"
    );
}

/// A settings change answers each setting old → new; a dry run shows the
/// same without applying or auditing it; a reset puts a key back at its
/// default, and resetting one at its default is refused.
#[test]
fn settings_show_old_and_new_preview_and_reset_to_their_defaults() {
    let server = Server::start();
    let admin = &server.tokens.admin;
    let url = server.url(&format!("{PATHWAY}/settings"));
    let trail_length = || {
        get(&server.url("/v1/audit"), Some(&server.tokens.auditor)).json()["records"]
            .as_array()
            .map_or(0, Vec::len)
    };
    let before = trail_length();
    let preview = patch(
        &url,
        admin,
        Some("*"),
        &json!({"settings": {"ec_window_hours": 96}, "reason": "shorter", "dry_run": true}),
    );
    assert_eq!(preview.status, 200, "{}", preview.text);
    let preview = preview.json();
    assert_eq!(preview["dry_run"], true);
    assert_eq!(
        preview["changes"],
        json!([{"key": "ec_window_hours", "old": 120, "new": 96}])
    );
    assert_eq!(trail_length(), before, "a preview is not audited");

    let set = patch(
        &url,
        admin,
        Some("*"),
        &json!({"settings": {"ec_window_hours": 96}, "reason": "shorter"}),
    )
    .json();
    assert_eq!(set["changes"][0]["new"], 96, "{set}");
    assert_eq!(set["plugin"]["settings"]["ec_window_hours"], 96);

    let reset = patch(
        &url,
        admin,
        Some("*"),
        &json!({"reset": ["ec_window_hours"], "reason": "back to the clinical default"}),
    );
    assert_eq!(reset.status, 200, "{}", reset.text);
    let reset = reset.json();
    assert_eq!(
        reset["changes"],
        json!([{"key": "ec_window_hours", "old": 96, "new": 120}])
    );
    assert_eq!(reset["plugin"]["settings"]["ec_window_hours"], 120);
    patch(
        &url,
        admin,
        Some("*"),
        &json!({"reset": ["ec_window_hours"], "reason": "again"}),
    )
    .problem(400, "change-refused");
    assert_eq!(trail_length(), before + 3);
}
