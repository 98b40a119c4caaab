//! Administration through the `kinga` binary: switches and settings with an
//! actor, a reason and a revision; state that survives restarts and crashes;
//! an audit trail of every attempt.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{assert_success, stderr};
use crate::support::{kinga_at, kinga_bin, sample_case};

const AS_OF: &str = "2026-07-01T09:00:00+03:00";

struct Admin {
    home: tempfile::TempDir,
    case: std::path::PathBuf,
}

impl Admin {
    fn new() -> Admin {
        let home = tempfile::tempdir().unwrap();
        let case = home.path().join("case.json");
        std::fs::write(&case, sample_case().to_string()).unwrap();
        Admin { home, case }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        kinga_at(self.home.path(), args)
    }

    fn rules_on(&self) -> Vec<String> {
        let output = self.run(&[
            "route",
            "--case",
            self.case.to_str().unwrap(),
            "--as-of",
            AS_OF,
        ]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let referrals: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
        referrals
            .iter()
            .map(|r| r["rule"].as_str().unwrap().to_owned())
            .collect()
    }

    fn rule_state(&self, rule: &str) -> Value {
        let listed = self.run(&["rules", "list", "kenya-referral-pathway", "--json"]);
        assert!(
            listed.status.success(),
            "{}",
            String::from_utf8_lossy(&listed.stderr)
        );
        let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
        listed["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == rule)
            .unwrap()["on"]
            .clone()
    }

    fn trail(&self) -> Vec<Value> {
        let output = self.run(&["audit", "log", "--json"]);
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

#[test]
fn a_rule_switched_off_changes_the_next_evaluation_survives_a_restart_and_is_audited() {
    let admin = Admin::new();
    assert!(admin.rules_on().contains(&"police".to_owned()));
    let off = admin.run(&[
        "rules",
        "disable",
        "kenya-referral-pathway",
        "police",
        "--reason",
        "gender desk closed this week",
        "--actor",
        "amina",
        "--if-revision",
        "0",
    ]);
    assert!(off.status.success(), "{}", stderr(&off));
    assert_eq!(
        String::from_utf8_lossy(&off.stdout),
        "rule police of kenya-referral-pathway is now off (revision 1)\n"
    );

    // Every later process (a restart) sees it.
    assert!(!admin.rules_on().contains(&"police".to_owned()));
    let listed = admin.run(&["rules", "list", "kenya-referral-pathway", "--json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed["revision"], 1);
    let police = listed["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "police")
        .unwrap();
    assert_eq!(
        (police["on"].clone(), police["set_by"].clone()),
        (Value::Bool(false), Value::from("administrator"))
    );

    let trail = admin.trail();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0]["actor"], "amina");
    assert_eq!(trail[0]["reason"], "gender desk closed this week");
    assert_eq!(trail[0]["result"], "accepted");
    assert_eq!(trail[0]["old"]["enabled"], Value::Null);
    assert_eq!(trail[0]["new"]["enabled"], false);
    assert_eq!(trail[0]["revision"], 1);

    let on = admin.run(&[
        "rules",
        "enable",
        "kenya-referral-pathway",
        "police",
        "--reason",
        "reopened",
        "--actor",
        "amina",
    ]);
    assert_success(&on);
    assert!(admin.rules_on().contains(&"police".to_owned()));
    assert!(admin.run(&["audit", "verify"]).status.success());
}

#[test]
fn a_change_against_a_stale_revision_is_refused_and_audited() {
    let admin = Admin::new();
    let first = admin.run(&[
        "rules",
        "disable",
        "kenya-referral-pathway",
        "legal-aid",
        "--reason",
        "a",
        "--actor",
        "amina",
        "--if-revision",
        "0",
    ]);
    assert_success(&first);
    let second = admin.run(&[
        "rules",
        "disable",
        "kenya-referral-pathway",
        "vocational",
        "--reason",
        "b",
        "--actor",
        "juma",
        "--if-revision",
        "0",
    ]);
    assert_eq!(second.status.code(), Some(1));
    assert!(
        stderr(&second).contains("revision 1, not 0"),
        "{}",
        stderr(&second)
    );
    let trail = admin.trail();
    assert_eq!(trail[1]["result"], "refused");
    assert_eq!(trail[1]["actor"], "juma");
    assert_eq!(
        admin.rule_state("vocational"),
        Value::Bool(true),
        "the refused change did not land"
    );

    let lines = |args: &[&str]| {
        String::from_utf8(admin.run(args).stdout)
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(lines(&["audit", "log", "--json", "--actor", "juma"]), 1);
    assert_eq!(
        lines(&[
            "audit",
            "log",
            "--json",
            "--plugin",
            "kenya-referral-pathway"
        ]),
        2
    );
    assert_eq!(
        lines(&[
            "audit",
            "log",
            "--json",
            "--plugin",
            "building-a-future-eligibility"
        ]),
        0
    );
    assert_eq!(
        lines(&["audit", "log", "--json", "--since", "2000-01-01"]),
        2
    );
    assert_eq!(
        lines(&["audit", "log", "--json", "--since", "2099-01-01"]),
        0
    );
    let readable =
        String::from_utf8(admin.run(&["audit", "log", "--actor", "amina"]).stdout).unwrap();
    assert!(readable.contains("amina accepted revision 1"), "{readable}");
}

#[test]
fn an_invalid_setting_or_an_unknown_rule_is_refused_naming_the_field_and_nothing_changes() {
    let admin = Admin::new();
    let bad = admin.run(&[
        "settings",
        "set",
        "kenya-referral-pathway",
        "ec_window_hours=0",
        "--reason",
        "try",
        "--actor",
        "amina",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("/ec_window_hours"),
        "{}",
        stderr(&bad)
    );
    let unknown = admin.run(&[
        "rules",
        "disable",
        "kenya-referral-pathway",
        "nope",
        "--reason",
        "x",
        "--actor",
        "amina",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    let anonymous = Command::new(kinga_bin())
        .args(["--no-cache", "--home"])
        .arg(admin.home.path())
        .args([
            "rules",
            "disable",
            "kenya-referral-pathway",
            "police",
            "--reason",
            "x",
        ])
        .env_remove("USER")
        .env_remove("KINGA_ACTOR")
        .output()
        .unwrap();
    assert_eq!(anonymous.status.code(), Some(2), "{}", stderr(&anonymous));
    for named in ["--actor", "KINGA_ACTOR"] {
        assert!(
            stderr(&anonymous).contains(named),
            "the refusal says how to name an actor: {}",
            stderr(&anonymous)
        );
    }
    let shown = admin.run(&["settings", "show", "kenya-referral-pathway", "--json"]);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["revision"], 0);
    assert_eq!(shown["settings"]["ec_window_hours"], 120);
    assert_eq!(
        admin
            .trail()
            .iter()
            .filter(|r| r["result"] == "refused")
            .count(),
        3
    );

    let good = admin.run(&[
        "settings",
        "set",
        "kenya-referral-pathway",
        "ec_window_hours=72",
        "--reason",
        "national guideline",
        "--actor",
        "amina",
    ]);
    assert!(good.status.success(), "{}", stderr(&good));
    let shown = admin.run(&["settings", "show", "kenya-referral-pathway", "--json"]);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["settings"]["ec_window_hours"], 72);
    assert_eq!(
        shown["set_by_administrator"],
        serde_json::json!(["ec_window_hours"])
    );
}

#[test]
fn a_plugin_switched_off_is_not_called() {
    let admin = Admin::new();
    let off = admin.run(&[
        "plugins",
        "disable",
        "kenya-referral-pathway",
        "--reason",
        "directory under review",
        "--actor",
        "amina",
    ]);
    assert_success(&off);
    assert!(admin.rules_on().is_empty());
    let listed = admin.run(&["plugins", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("kenya-referral-pathway  referral 1.0.0  (Kenya referral pathway (Kwale, Kilifi))  [switched off by an administrator]"));
    let chosen = admin.run(&[
        "route",
        "--case",
        admin.case.to_str().unwrap(),
        "--plugin",
        "kenya-referral-pathway",
    ]);
    assert_eq!(chosen.status.code(), Some(1));
    assert!(stderr(&chosen).contains("switched it off"));
}

fn crash_at(admin: &Admin, point: &str) {
    let crashed = Command::new(kinga_bin())
        .args(["--no-cache", "--home"])
        .arg(admin.home.path())
        .args([
            "rules",
            "disable",
            "kenya-referral-pathway",
            "safe-shelter",
            "--reason",
            "crash test",
            "--actor",
            "amina",
        ])
        .env("KINGA_FAULT", point)
        .output()
        .unwrap();
    assert!(
        !crashed.status.success(),
        "the fault point {point} was reached"
    );
}

#[test]
fn a_crash_in_the_middle_of_a_state_write_never_leaves_unreadable_state() {
    let admin = Admin::new();
    assert!(
        admin
            .run(&[
                "rules",
                "disable",
                "kenya-referral-pathway",
                "police",
                "--reason",
                "r1",
                "--actor",
                "amina"
            ])
            .status
            .success()
    );
    let before = std::fs::read_to_string(admin.home.path().join("state.json")).unwrap();

    crash_at(&admin, "before-rename");
    assert_eq!(
        std::fs::read_to_string(admin.home.path().join("state.json")).unwrap(),
        before,
        "the old state, whole"
    );
    assert_eq!(
        admin.rule_state("police"),
        Value::Bool(false),
        "the earlier change is still there"
    );
    assert_eq!(
        admin.rule_state("safe-shelter"),
        Value::Bool(true),
        "the crashed change never landed"
    );

    crash_at(&admin, "after-audit");
    assert_eq!(
        std::fs::read_to_string(admin.home.path().join("state.json")).unwrap(),
        before
    );
    // The next change says in the trail that an audited change never landed.
    assert!(
        admin
            .run(&[
                "rules",
                "enable",
                "kenya-referral-pathway",
                "police",
                "--reason",
                "r2",
                "--actor",
                "amina"
            ])
            .status
            .success()
    );
    let trail = admin.trail();
    assert!(
        trail.iter().any(|r| r["result"] == "interrupted"),
        "{trail:?}"
    );
    assert!(admin.run(&["audit", "verify"]).status.success());
    let listed = admin.run(&["rules", "list", "--json"]);
    assert_success(&listed);
}

#[test]
fn a_damaged_state_file_is_refused_with_a_clear_error() {
    let admin = Admin::new();
    std::fs::write(admin.home.path().join("state.json"), r#"{"revision":1,"plugins":{"kenya-referral-pathway":{"enabled":true,"rules":{"police":"off"}}}}"#).unwrap();
    let output = admin.run(&[
        "route",
        "--case",
        admin.case.to_str().unwrap(),
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("invalid administration state"),
        "{}",
        stderr(&output)
    );
    std::fs::write(admin.home.path().join("state.json"), r#"{"revision":1,"plugins":{"kenya-referral-pathway":{"enabled":true,"rules":{"no-such-rule":false}}}}"#).unwrap();
    let output = admin.run(&[
        "route",
        "--case",
        admin.case.to_str().unwrap(),
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("/rules/no-such-rule"),
        "{}",
        stderr(&output)
    );
}

/// The audit trail's last record removed together with its head file, or
/// the head moved back to the record before, no longer passes as intact,
/// and no change is appended to it.
#[test]
fn a_trail_cut_at_its_end_with_its_head_is_detected() {
    let admin = Admin::new();
    for (verb, reason) in [("disable", "closed"), ("enable", "reopened")] {
        let changed = admin.run(&[
            "rules",
            verb,
            "kenya-referral-pathway",
            "police",
            "--reason",
            reason,
            "--actor",
            "amina",
        ]);
        assert_success(&changed);
    }
    let trail = admin.home.path().join("audit.jsonl");
    let head = admin.home.path().join("audit.jsonl.head");
    let text = std::fs::read_to_string(&trail).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    std::fs::write(&trail, format!("{}\n", lines[0])).unwrap();

    std::fs::remove_file(&head).unwrap();
    let verified = admin.run(&["audit", "verify"]);
    assert_eq!(verified.status.code(), Some(1));
    assert!(
        stderr(&verified).contains("head file is missing"),
        "{}",
        stderr(&verified)
    );

    let first: Value = serde_json::from_str(lines[0]).unwrap();
    let moved_back =
        json!({"seq": 1, "hash": first["hash"], "key": "lk-0000000000000000", "seal": "0"});
    std::fs::write(&head, moved_back.to_string()).unwrap();
    assert_eq!(admin.run(&["audit", "verify"]).status.code(), Some(1));

    let refused = admin.run(&[
        "rules",
        "disable",
        "kenya-referral-pathway",
        "police",
        "--reason",
        "again",
        "--actor",
        "amina",
    ]);
    assert!(
        !refused.status.success(),
        "a cut trail is never appended to"
    );
}

/// `settings set` shows each setting old → new, `--dry-run` only checks and
/// shows, and `settings reset` puts a key back at its default.
#[test]
fn a_setting_change_shows_old_and_new_and_can_be_previewed_and_reset() {
    let admin = Admin::new();
    let settings = |args: &[&str]| {
        let mut all = vec!["settings"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--reason", "clinical review", "--actor", "amina"]);
        admin.run(&all)
    };
    let trail = || {
        std::fs::read_to_string(admin.home.path().join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    let effective = || {
        let shown = admin.run(&["settings", "show", "kenya-referral-pathway", "--json"]);
        let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
        shown["settings"]["ec_window_hours"].clone()
    };

    let preview = settings(&[
        "set",
        "kenya-referral-pathway",
        "ec_window_hours=96",
        "--dry-run",
    ]);
    assert_success(&preview);
    let printed = String::from_utf8_lossy(&preview.stdout).into_owned();
    assert!(printed.contains("ec_window_hours: 120 → 96"), "{printed}");
    assert!(printed.contains("nothing was changed"), "{printed}");
    assert_eq!(trail(), 0, "a dry run is not audited");
    assert_eq!(effective(), 120);

    let set = settings(&["set", "kenya-referral-pathway", "ec_window_hours=96"]);
    assert_success(&set);
    assert!(String::from_utf8_lossy(&set.stdout).contains("ec_window_hours: 120 → 96"));
    assert_eq!(effective(), 96);

    let reset = settings(&["reset", "kenya-referral-pathway", "ec_window_hours"]);
    assert_success(&reset);
    assert!(String::from_utf8_lossy(&reset.stdout).contains("ec_window_hours: 96 → 120"));
    assert_eq!(effective(), 120);

    let again = settings(&["reset", "kenya-referral-pathway", "ec_window_hours"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("at its default"),
        "{}",
        stderr(&again)
    );
    let records: Vec<Value> = std::fs::read_to_string(admin.home.path().join("audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records[1]["change"]["reset"], json!(["ec_window_hours"]));
    assert_eq!(records[2]["result"], "refused");
}
