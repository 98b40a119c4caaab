//! The plugin's own settings check (contract 0.2.1), through the real
//! binary and service: what the rules cannot safely run with is refused
//! before it takes effect, with the declared message and the pointer, and
//! a hostile check costs the change, never the host; a plugin built against
//! 0.2.0 still loads, with its schema alone.

use serde_json::{Value, json};

use crate::serve::server::{Server, get, patch};
use crate::support::{assert_success, kinga_at, stderr, stdout};
use crate::wat::{CheckAnswer, Contract, SettingsCheck, plugin_for};

const PATHWAY: &str = "kenya-referral-pathway";

/// `kinga settings set` with a reason and an actor, in `home`.
fn set(home: &std::path::Path, extra: &[&str], args: &[&str]) -> std::process::Output {
    let mut all: Vec<&str> = extra.to_vec();
    all.extend_from_slice(&["settings", "set"]);
    all.extend_from_slice(args);
    all.extend_from_slice(&["--reason", "trying the check", "--actor", "amina"]);
    kinga_at(home, &all)
}

fn audit(home: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(home.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn revision(home: &std::path::Path, plugin: &str, extra: &[&str]) -> Value {
    let mut all: Vec<&str> = extra.to_vec();
    all.extend_from_slice(&["settings", "show", plugin, "--json"]);
    let shown = kinga_at(home, &all);
    assert_success(&shown);
    serde_json::from_slice::<Value>(&shown.stdout).unwrap()["revision"].clone()
}

#[test]
fn what_the_referral_rules_cannot_run_with_is_refused_with_the_declared_reason() {
    let home = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["ec_window_hours=500"],
            "/ec_window_hours",
            "an emergency contraception window of 500 hours is beyond the 120 hours",
        ),
        (
            &["pep_window_hours=96"],
            "/pep_window_hours",
            "a post-rape care window of 96 hours is beyond the 72 hours",
        ),
        (
            &["education_min_age=16"],
            "/education_min_age",
            "the youngest age for education re-entry (16) is above the oldest (15)",
        ),
        (
            &["providers=[]"],
            "/providers",
            "the provider directory is empty",
        ),
        (
            &["ec_window_hours=500", "--dry-run"],
            "/ec_window_hours",
            "beyond the 120 hours",
        ),
    ];
    for (args, pointer, message) in cases {
        let mut all = vec![PATHWAY];
        all.extend_from_slice(args);
        let refused = set(home.path(), &[], &all);
        assert_eq!(
            refused.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&refused)
        );
        let said = stderr(&refused);
        assert!(said.contains(pointer), "{args:?}: {said}");
        assert!(said.contains(message), "{args:?}: {said}");
        assert!(said.contains("refused by the plugin"), "{said}");
    }
    // A repeated provider id is refused at the entry that repeats it.
    let shown = kinga_at(home.path(), &["settings", "show", PATHWAY, "--json"]);
    let mut providers =
        serde_json::from_slice::<Value>(&shown.stdout).unwrap()["settings"]["providers"].clone();
    providers[3]["id"] = providers[0]["id"].clone();
    let repeated = format!("providers={providers}");
    let refused = set(home.path(), &[], &[PATHWAY, &repeated]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("/providers/3/id"),
        "{}",
        stderr(&refused)
    );

    // Nothing was put in force, and every attempt but the dry run is in
    // the trail as refused.
    assert_eq!(revision(home.path(), PATHWAY, &[]), 0);
    let trail = audit(home.path());
    assert_eq!(trail.len(), 5, "{trail:?}");
    assert!(trail.iter().all(|r| r["result"] == "refused"), "{trail:?}");

    // The clinical maximum itself is accepted.
    let accepted = set(
        home.path(),
        &[],
        &[PATHWAY, "ec_window_hours=120", "pep_window_hours=72"],
    );
    assert_success(&accepted);
}

#[test]
fn the_eligibility_rules_refuse_an_inverted_range_and_accept_a_sound_one() {
    let home = tempfile::tempdir().unwrap();
    let plugin = "building-a-future-eligibility";
    let refused = set(home.path(), &[], &[plugin, "vocational_min_age=19"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains(
            "/vocational_min_age: the youngest age for vocational training (19) is above the oldest (18)"
        ),
        "{}",
        stderr(&refused)
    );
    let sound = set(home.path(), &[], &[plugin, "vocational_min_age=17"]);
    assert_success(&sound);
    assert!(
        stdout(&sound).contains("vocational_min_age: 16 → 17"),
        "{}",
        stdout(&sound)
    );
}

#[test]
fn over_http_a_refused_setting_is_a_problem_naming_the_pointer_and_nothing_changes() {
    let server = Server::start();
    let url = server.url(&format!("/v1/plugins/{PATHWAY}/settings"));
    for dry_run in [false, true] {
        let refused = patch(
            &url,
            &server.tokens.admin,
            Some("*"),
            &json!({"settings": {"ec_window_hours": 500}, "reason": "longer", "dry_run": dry_run}),
        )
        .problem(400, "change-refused");
        let detail = refused["detail"].as_str().unwrap();
        assert!(detail.contains("/ec_window_hours"), "{refused}");
        assert!(detail.contains("beyond the 120 hours"), "{refused}");
    }
    let shown = get(
        &server.url(&format!("/v1/plugins/{PATHWAY}")),
        Some(&server.tokens.admin),
    );
    let plugin = shown.json();
    assert_eq!(plugin["settings"]["ec_window_hours"], 120);
    assert_eq!(plugin["checks_settings"], true);
    assert!(
        plugin["settings_refusals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "ec-window-beyond-clinical-maximum"),
        "{plugin}"
    );
    assert_eq!(shown.header("etag"), Some("\"0\""));
}

/// A plugin built against 0.2.0 (the frozen contract in
/// `tests/contract/wit-0.2.0`) loads, says so, and its schema alone decides.
#[test]
fn a_plugin_built_against_0_2_0_loads_without_a_settings_check() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.wasm");
    std::fs::write(&file, plugin_for("old-plugin", Contract::V020)).unwrap();
    let plugins = ["--plugins", dir.path().to_str().unwrap()];

    let checked = kinga_at(dir.path(), &["check", file.to_str().unwrap()]);
    assert_success(&checked);
    let said = stdout(&checked);
    assert!(said.contains("contract   kinga:plugin@0.2.0"), "{said}");
    assert!(said.contains("no settings check of its own"), "{said}");

    let listed = kinga_at(
        dir.path(),
        &[&plugins[..], &["plugins", "list", "--json"]].concat(),
    );
    assert_success(&listed);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let old = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "old-plugin")
        .cloned()
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(old["contract"], "kinga:plugin@0.2.0");

    let home = tempfile::tempdir().unwrap();
    let accepted = set(home.path(), &plugins, &["old-plugin", "anything=1"]);
    assert_success(&accepted);

    // The reference plugins are built against the current contract; one
    // built against 0.2.1 has the same settings check and reads case 1.0.
    for (contract, version, reads) in [
        (
            Contract::V022(ACCEPT),
            "kinga:plugin@0.2.2",
            "reads canonical case 1.1 (",
        ),
        (
            Contract::V021(ACCEPT),
            "kinga:plugin@0.2.1",
            "reads canonical case 1 (",
        ),
    ] {
        let current = tempfile::tempdir().unwrap();
        std::fs::write(
            current.path().join("new.wasm"),
            plugin_for("new-plugin", contract),
        )
        .unwrap();
        let checked = kinga_at(
            current.path(),
            &["check", current.path().join("new.wasm").to_str().unwrap()],
        );
        assert_success(&checked);
        for expected in [version, reads, "pass the plugin's own check"] {
            assert!(
                stdout(&checked).contains(expected),
                "{expected}: {}",
                stdout(&checked)
            );
        }
    }
}

const ACCEPT: SettingsCheck = SettingsCheck {
    declared: &[],
    answer: CheckAnswer::Accept,
    defaults: "{}",
};

/// The defaults of the fixtures whose messages quote `{/n}`; a change sets
/// `n=70`, which the check tells from them by length.
const N_DEFAULTS: &str = r#"{"n":1}"#;

/// A directory holding one WAT fixture with `check`, and the arguments
/// that load it.
fn fixture(check: SettingsCheck) -> (tempfile::TempDir, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fixture.wasm"),
        plugin_for("wat-plugin", Contract::V022(check)),
    )
    .unwrap();
    (dir, tempfile::tempdir().unwrap())
}

/// A check that traps, loops, gives an undeclared code or names a pointer
/// that is not there costs the change, never the host, and nothing it made
/// up reaches the administrator.
#[test]
fn a_hostile_settings_check_refuses_the_change_and_leaks_nothing() {
    let declared: &'static [(&str, &str)] = &[("too-big", "the value {/n} is too big")];
    let hostile: &[(CheckAnswer, &str)] = &[
        (CheckAnswer::Trap, "was stopped"),
        (CheckAnswer::Loop, "was stopped"),
        (
            CheckAnswer::Refuse(&[("leak-c-0042-2014-03-02", "")]),
            "did not declare",
        ),
        (
            CheckAnswer::Refuse(&[("too-big", "/leak-c-0042")]),
            "not a member of the settings",
        ),
    ];
    for (answer, expected) in hostile {
        let (dir, home) = fixture(SettingsCheck {
            declared,
            answer: *answer,
            defaults: N_DEFAULTS,
        });
        let plugins = ["--plugins", dir.path().to_str().unwrap()];
        let refused = set(home.path(), &plugins, &["wat-plugin", "n=70"]);
        assert_ne!(refused.status.code(), Some(0), "{answer:?}");
        let said = stderr(&refused);
        assert!(said.contains(expected), "{answer:?}: {said}");
        assert!(!said.contains("leak"), "{answer:?}: {said}");
        assert_eq!(
            revision(home.path(), "wat-plugin", &plugins),
            0,
            "{answer:?}"
        );
    }

    // A declared refusal is rendered from the declaration and the settings.
    let (dir, home) = fixture(SettingsCheck {
        declared,
        answer: CheckAnswer::Refuse(&[("too-big", "/n")]),
        defaults: N_DEFAULTS,
    });
    let plugins = ["--plugins", dir.path().to_str().unwrap()];
    let refused = set(home.path(), &plugins, &["wat-plugin", "n=70"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("/n: the value 70 is too big (refused by the plugin: too-big)"),
        "{}",
        stderr(&refused)
    );

    // A check that refuses even the plugin's defaults keeps it from loading.
    let (dir, home) = fixture(SettingsCheck {
        declared,
        answer: CheckAnswer::TrapAlways,
        defaults: N_DEFAULTS,
    });
    let plugins = ["--plugins", dir.path().to_str().unwrap()];
    let listed = kinga_at(home.path(), &[&plugins[..], &["plugins", "list"]].concat());
    assert_eq!(listed.status.code(), Some(1), "{}", stderr(&listed));
    assert!(
        stderr(&listed).contains("default settings"),
        "{}",
        stderr(&listed)
    );

    // Declarations are checked like any: a message quoting a setting the
    // defaults lack is refused at load.
    let (dir, home) = fixture(SettingsCheck {
        declared: &[("too-big", "the value {/absent} is too big")],
        answer: CheckAnswer::Accept,
        defaults: N_DEFAULTS,
    });
    let plugins = ["--plugins", dir.path().to_str().unwrap()];
    let listed = kinga_at(home.path(), &[&plugins[..], &["plugins", "list"]].concat());
    assert_eq!(listed.status.code(), Some(1), "{}", stderr(&listed));
    assert!(stderr(&listed).contains("/absent"), "{}", stderr(&listed));
}
