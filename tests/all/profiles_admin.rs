//! Mapping profiles as administration state, through the real binary: set
//! (checked first, every problem listed), kept by hash, audited with actor
//! and reason, read by `--from` without `--profile`, shown, listed, reset.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{
    assert_success, bundled_profile, kinga_at, platform_payload, repo, stderr, stdout,
};

fn bundled_primero() -> Value {
    bundled_profile("primero-cpims-plus")
}

/// `primero-1` with its sex written as a deployment's suffixed option,
/// which the bundled profile does not list.
fn suffixed_case(dir: &Path) -> String {
    let mut record = platform_payload("primero-1");
    record["data"]["sex"] = json!("female_5c1e");
    let file = dir.join("case.json");
    std::fs::write(&file, record.to_string()).unwrap();
    file.display().to_string()
}

fn convert(home: &Path, case: &str) -> std::process::Output {
    kinga_at(home, &["convert", "--from", "primero", "--case", case])
}

fn list(home: &Path) -> Value {
    let output = kinga_at(home, &["profiles", "list", "--json"]);
    assert_success(&output);
    serde_json::from_str(&stdout(&output)).unwrap()
}

/// `kinga profiles set primero FILE` by amina, for `reason`.
fn set_primero(home: &Path, file: &Path, reason: &str) -> std::process::Output {
    kinga_at(
        home,
        &[
            "profiles",
            "set",
            "primero",
            file.to_str().unwrap(),
            "--reason",
            reason,
            "--actor",
            "amina",
        ],
    )
}

#[test]
fn a_profile_set_by_an_administrator_is_used_audited_and_reset() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let case = suffixed_case(work.path());

    // The bundled profile refuses the code, naming the lookup.
    let output = convert(home.path(), &case);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("/data/sex"), "{}", stderr(&output));
    let before = list(home.path());
    assert_eq!(before["revision"], json!(0));
    assert!(
        before["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["set_by"]["source"] == json!("bundled"))
    );

    // The deployment's profile lists it.
    let mut edited = bundled_primero();
    edited["profile"] = json!("primero-kwale-deployment");
    edited["lookups"]["gender"]["values"]["female_5c1e"] = json!("female");
    let text = serde_json::to_string_pretty(&edited).unwrap();
    let file = work.path().join("mine.json");
    std::fs::write(&file, &text).unwrap();
    let output = kinga_at(
        home.path(),
        &[
            "profiles",
            "set",
            "primero",
            file.to_str().unwrap(),
            "--reason",
            "our sex lookup has suffixed options",
            "--actor",
            "amina",
            "--if-revision",
            "0",
        ],
    );
    assert_success(&output);
    assert!(
        stdout(&output).contains("primero is now read with profile primero-kwale-deployment"),
        "{}",
        stdout(&output)
    );
    let output = convert(home.path(), &case);
    assert_success(&output);
    let mapped: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(mapped["child"]["sex"], json!("female"));
    assert_eq!(
        mapped["extensions"]["kinga_mapping"]["profile"],
        json!("primero-kwale-deployment")
    );

    // Listed with its hash; shown exactly as accepted.
    let after = list(home.path());
    assert_eq!(after["revision"], json!(1));
    let row = &after["profiles"][0];
    assert_eq!(row["platform"], json!("primero"));
    assert_eq!(row["profile"], json!("primero-kwale-deployment"));
    let sha256 = row["sha256"].as_str().unwrap().to_owned();
    assert_eq!(
        row["set_by"],
        json!({"source": "administrator", "sha256": sha256})
    );
    let output = kinga_at(home.path(), &["profiles", "show", "primero"]);
    assert_success(&output);
    assert_eq!(stdout(&output), text);

    // Audited: who, why, old and new.
    let output = kinga_at(home.path(), &["audit", "log", "--json"]);
    assert_success(&output);
    let records: Vec<Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let set = records
        .iter()
        .find(|r| r["change"]["action"] == json!("set-profile"))
        .expect("the change is in the audit trail");
    assert_eq!(set["actor"], json!("amina"));
    assert_eq!(set["reason"], json!("our sex lookup has suffixed options"));
    assert_eq!(set["old"]["profile"], Value::Null);
    assert_eq!(set["new"]["profile"]["sha256"], json!(sha256));

    // A stale revision is refused; the state is untouched.
    let output = kinga_at(
        home.path(),
        &[
            "profiles",
            "reset",
            "primero",
            "--reason",
            "back",
            "--actor",
            "amina",
            "--if-revision",
            "0",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(list(home.path())["revision"], json!(1));

    // Reset: the bundled profile again, and the earlier one still readable
    // by the hash the trail names.
    let output = kinga_at(
        home.path(),
        &[
            "profiles", "reset", "primero", "--reason", "back", "--actor", "amina",
        ],
    );
    assert_success(&output);
    assert_eq!(convert(home.path(), &case).status.code(), Some(2));
    let output = kinga_at(
        home.path(),
        &["profiles", "show", "primero", "--sha256", &sha256],
    );
    assert_success(&output);
    assert_eq!(stdout(&output), text);
    let output = kinga_at(
        home.path(),
        &[
            "profiles", "reset", "primero", "--reason", "again", "--actor", "amina",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("already read with its bundled profile"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_invalid_profile_is_refused_whole_with_every_problem_and_audited() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut broken = bundled_primero();
    broken["lookups"]["gender"]["values"]["female"] = json!("girl");
    broken["timezone"] = json!("Africa/Atlantis");
    let file = work.path().join("broken.json");
    std::fs::write(&file, broken.to_string()).unwrap();
    let output = set_primero(home.path(), &file, "try");
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("invalid mapping profile"), "{err}");
    assert!(err.contains("/lookups/gender/values/female"), "{err}");
    assert!(err.contains("/timezone"), "{err}");
    assert_eq!(list(home.path())["revision"], json!(0));
    assert!(
        !home.path().join("profiles").exists(),
        "a refused profile is not kept"
    );
    let output = kinga_at(home.path(), &["audit", "log", "--json"]);
    let refused: Value = serde_json::from_str(stdout(&output).lines().last().unwrap()).unwrap();
    assert_eq!(refused["result"], json!("refused"));
    assert_eq!(refused["change"]["action"], json!("set-profile"));

    // A profile for another platform.
    let dhis2 = repo("profiles/dhis2-example.json");
    let output = set_primero(home.path(), &dhis2, "try");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("/platform: the profile reads dhis2, not primero"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_stored_profile_that_was_altered_stops_the_mapping_instead_of_falling_back() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut edited = bundled_primero();
    edited["profile"] = json!("primero-altered");
    let file = work.path().join("mine.json");
    std::fs::write(&file, edited.to_string()).unwrap();
    let output = set_primero(home.path(), &file, "ours");
    assert_success(&output);
    let stored = std::fs::read_dir(home.path().join("profiles"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&stored, edited.to_string().replace("primero-altered", "x")).unwrap();
    let case = repo("tests/platforms/primero-1.json");
    let output = convert(home.path(), case.to_str().unwrap());
    // A deployment fault (exit 1), not the record's.
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("no longer matches its SHA-256"),
        "{}",
        stderr(&output)
    );
}
