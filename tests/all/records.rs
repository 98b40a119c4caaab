//! Decision records, the hash chain, replay, and logs without case data.

use std::io::Write;

use kinga_host::devkit::Synth;
use kinga_host::{AsOf, DecisionRecord, EAST_AFRICA_TIME, Host, ValidCase};
use serde_json::Value;

use crate::support::assert_success;
use crate::support::{captured_log, kinga_env};

/// The log key these tests' logs are sealed under: one deployment's, shared
/// by every command a test runs (each gets a fresh administration
/// directory).
fn log_key() -> &'static str {
    static KEY: std::sync::OnceLock<(tempfile::TempDir, String)> = std::sync::OnceLock::new();
    let (_, path) = KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.key").display().to_string();
        (dir, path)
    });
    path
}

/// Runs `kinga` under the tests' log key.
fn kinga(args: &[&str]) -> std::process::Output {
    kinga_env(&[("KINGA_LOG_KEY_FILE", log_key())], args)
}

const AS_OF: &str = "2026-09-30T17:00:00+03:00";

fn synthetic(count: usize) -> Vec<Value> {
    let at = AsOf::parse(AS_OF, EAST_AFRICA_TIME).unwrap();
    Synth::new(21, at).take(count).collect()
}

/// Every value in a case that would identify a child if it leaked.
fn identifying(cases: &[Value]) -> Vec<String> {
    cases
        .iter()
        .flat_map(kinga_host::identifying_values)
        .filter(|v| v.len() >= 6)
        .collect()
}

fn write_jsonl(dir: &tempfile::TempDir, cases: &[Value]) -> String {
    let path = dir.path().join("cases.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    for case in cases {
        writeln!(file, "{case}").unwrap();
    }
    path.display().to_string()
}

fn replay(log: &str, record_id: &str, case: &std::path::Path) -> std::process::Output {
    kinga(&[
        "--decision-log",
        log,
        "replay",
        record_id,
        "--case",
        case.to_str().unwrap(),
    ])
}

fn run_batch(log: &str, command: &str, cases: &str) {
    let output = kinga(&[
        "--decision-log",
        log,
        command,
        "--cases",
        cases,
        "--as-of",
        AS_OF,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_plugin_call_is_recorded_without_case_data_and_the_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let cases = synthetic(40);
    let file = write_jsonl(&dir, &cases);
    let log = dir.path().join("decisions.jsonl").display().to_string();
    run_batch(&log, "eligibility", &file);
    run_batch(&log, "route", &file);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 80, "one record per plugin call");
    for value in identifying(&cases) {
        assert!(!text.contains(&value), "the decision log holds case data");
    }
    let first: DecisionRecord = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first.plugin, "building-a-future-eligibility");
    assert_eq!(first.contract, "kinga:plugin@0.2.2");
    assert_eq!(first.as_of, AS_OF);
    assert_eq!(first.case_sha256.len(), 64);
    assert_eq!(first.outcome["result"], "ok");
    let verified = kinga(&["audit", "verify", &log]);
    assert_success(&verified);
    assert!(String::from_utf8_lossy(&verified.stdout).contains(": 80 records, chain intact"));
}

#[test]
fn an_edited_or_removed_record_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_jsonl(&dir, &synthetic(5));
    let log = dir.path().join("decisions.jsonl").display().to_string();
    run_batch(&log, "eligibility", &file);
    let original = std::fs::read_to_string(&log).unwrap();

    let edited = original.replacen("\"status\":\"ineligible\"", "\"status\":\"eligible\"", 1);
    assert_ne!(edited, original);
    std::fs::write(&log, &edited).unwrap();
    let verified = kinga(&["audit", "verify", &log]);
    assert_eq!(verified.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&verified.stderr).contains("was changed"),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );

    let lines: Vec<&str> = original.lines().collect();
    std::fs::write(&log, format!("{}\n{}\n", lines[0], lines[2..].join("\n"))).unwrap();
    assert_eq!(kinga(&["audit", "verify", &log]).status.code(), Some(1));
    std::fs::write(&log, format!("{}\n", lines[..4].join("\n"))).unwrap();
    let verified = kinga(&["audit", "verify", &log]);
    assert_eq!(
        verified.status.code(),
        Some(1),
        "a removed last record is detected through the head"
    );

    std::fs::write(&log, &edited).unwrap();
    let refused = kinga(&[
        "--decision-log",
        &log,
        "eligibility",
        "--cases",
        &file,
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "a tampered log is never appended to"
    );
}

#[test]
fn a_record_replays_identically_and_a_different_case_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cases = synthetic(3);
    let file = write_jsonl(&dir, &cases);
    let log = dir.path().join("decisions.jsonl").display().to_string();
    run_batch(&log, "route", &file);
    let text = std::fs::read_to_string(&log).unwrap();
    let record: DecisionRecord = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    let case_path = dir.path().join("case.json");
    std::fs::write(&case_path, cases[1].to_string()).unwrap();
    let replayed = replay(&log, &record.record_id, &case_path);
    assert_eq!(
        replayed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
    assert!(
        String::from_utf8_lossy(&replayed.stdout).starts_with("identical: kenya-referral-pathway")
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        text,
        "a replay is not recorded"
    );

    std::fs::write(&case_path, cases[2].to_string()).unwrap();
    let wrong = replay(&log, &record.record_id, &case_path);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("not the one recorded"));
}

#[test]
fn a_replay_reports_a_changed_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.jsonl");
    let mut host = Host::builder()
        .decision_log(&log, kinga_host::records::LogKey::generate())
        .build()
        .unwrap();
    host.load_dir(kinga_artifacts::REFERENCE_PLUGINS_DIR)
        .unwrap();
    let case = ValidCase::from_value(synthetic(1).remove(0)).unwrap();
    let at = AsOf::parse(AS_OF, EAST_AFRICA_TIME).unwrap();
    host.evaluate(&case, at).unwrap();
    let mut record: DecisionRecord = serde_json::from_str(
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let settings = kinga_host::records::recorded_settings(&log, &record).unwrap();
    assert!(host.replay(&record, &case, &settings).unwrap().identical);
    record.outcome["summary"][0]["status"] = Value::from("eligible-by-tampering");
    let replay = host.replay(&record, &case, &settings).unwrap();
    assert!(!replay.identical);
    assert_eq!(
        replay.replayed["output_sha256"],
        record.outcome["output_sha256"]
    );
}

#[test]
fn a_whole_caseload_at_trace_level_logs_no_case_value() {
    let cases = synthetic(300);
    let at = AsOf::parse(AS_OF, EAST_AFRICA_TIME).unwrap();
    let ((), log) = captured_log(|| {
        let mut host = Host::builder().build().unwrap();
        host.load_dir(kinga_artifacts::REFERENCE_PLUGINS_DIR)
            .unwrap();
        let mut report = host
            .report("baf-quarterly", &[("period".into(), "2026-Q3".into())], at)
            .unwrap();
        for case in &cases {
            let case = ValidCase::from_value(case.clone()).unwrap();
            host.evaluate(&case, at).unwrap();
            host.route(&case, at).unwrap();
            report.add(&case).unwrap();
        }
        report.finish().unwrap();
        let _ = ValidCase::parse(br#"{"case_id":"LEAK-ME-IF-YOU-CAN","oops":true}"#);
    });
    assert!(log.contains("plugin loaded"), "the log was captured: {log}");
    let values = identifying(&cases);
    assert!(values.len() > 600);
    for value in values
        .iter()
        .chain(["LEAK-ME-IF-YOU-CAN".to_owned()].iter())
    {
        assert!(
            !log.contains(value.as_str()),
            "case data in the log: {value}"
        );
    }
}

/// Recomputes the chain of `text` as someone without the log key would:
/// plain SHA-256 hashes, every `prev` following.
fn rechain_without_the_key(
    text: &str,
    edit: impl Fn(&mut serde_json::Map<String, Value>),
) -> String {
    let mut prev = "0".repeat(64);
    let mut out = String::new();
    for line in text.lines() {
        let Ok(Value::Object(mut record)) = serde_json::from_str::<Value>(line) else {
            panic!("a record");
        };
        edit(&mut record);
        record.insert("prev".into(), Value::from(prev.clone()));
        record.remove("hash");
        let digest = <sha2::Sha256 as sha2::Digest>::digest(
            kinga_host::canonical_json(&Value::Object(record.clone())).as_bytes(),
        );
        let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        record.insert("hash".into(), Value::from(hash.clone()));
        prev = hash;
        out.push_str(&kinga_host::canonical_json(&Value::Object(record)));
        out.push('\n');
    }
    out
}

#[test]
fn a_record_rewritten_with_the_chain_recomputed_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_jsonl(&dir, &synthetic(4));
    let log = dir.path().join("decisions.jsonl").display().to_string();
    run_batch(&log, "eligibility", &file);
    let original = std::fs::read_to_string(&log).unwrap();
    let forged = rechain_without_the_key(&original, |record| {
        if record["seq"] == 2 {
            record["outcome"]["summary"][0]["status"] = Value::from("eligible");
        }
    });
    std::fs::write(&log, &forged).unwrap();
    let verified = kinga(&["audit", "verify", &log]);
    assert_eq!(verified.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&verified.stderr).contains("line 1: is sealed by no log key"),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );

    // The head forged to match the forged chain is refused too.
    let last: Value = serde_json::from_str(forged.lines().last().unwrap()).unwrap();
    let head = serde_json::json!({"seq": last["seq"], "hash": last["hash"]});
    std::fs::write(format!("{log}.head"), head.to_string()).unwrap();
    let verified = kinga(&["audit", "verify", &log]);
    assert_eq!(verified.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&verified.stderr).contains("sealed by no log key"),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );

    // Under another deployment's key, the intact log does not verify.
    std::fs::write(&log, &original).unwrap();
    let other = dir.path().join("other.key");
    let elsewhere = kinga_env(
        &[("KINGA_LOG_KEY_FILE", other.to_str().unwrap())],
        &["audit", "verify", &log],
    );
    assert_eq!(elsewhere.status.code(), Some(1));
}

#[test]
fn a_log_without_its_key_is_never_given_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_jsonl(&dir, &synthetic(2));
    let log = dir.path().join("decisions.jsonl").display().to_string();
    let key = dir.path().join("own.key");
    let with_key =
        |args: &[&str]| kinga_env(&[("KINGA_LOG_KEY_FILE", key.to_str().unwrap())], args);
    assert_success(&with_key(&[
        "--decision-log",
        &log,
        "eligibility",
        "--cases",
        &file,
        "--as-of",
        AS_OF,
    ]));
    std::fs::remove_file(&key).unwrap();
    let refused = with_key(&[
        "--decision-log",
        &log,
        "eligibility",
        "--cases",
        &file,
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("restore the key file"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!key.exists(), "no new key is made for a log with records");
}
