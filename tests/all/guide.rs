//! `docs/plugin-guide.md`, section 1, run word for word: scaffold, unit
//! tests, a new fixture, `kinga test`, `kinga check`, keys, signing,
//! installing, and an evaluation with the new plugin — and its output must
//! be the one the guide shows.

use std::path::PathBuf;
use std::process::Command;

use crate::support::kinga_bin;

const GUIDE: &str = include_str!("../../docs/plugin-guide.md");

/// The shell blocks between the tutorial markers, in order.
fn tutorial() -> String {
    let inner = GUIDE
        .split("<!-- tutorial:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- tutorial:end -->").next())
        .expect("the guide marks its tutorial");
    inner
        .split("```sh\n")
        .skip(1)
        .map(|block| block.split("\n```").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The output the guide shows after the tutorial.
fn shown_output() -> String {
    let after = GUIDE.split("<!-- tutorial:end -->").nth(1).unwrap();
    let block = after.split("```text\n").nth(1).unwrap();
    block.split("\n```").next().unwrap().to_owned()
}

#[test]
fn a_newcomer_following_the_guide_gets_a_signed_installed_plugin_that_evaluates() {
    let work = tempfile::tempdir().unwrap();
    let bin = work.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(kinga_bin(), bin.join("kinga")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // One build directory for every run of this test: the plugin's
    // dependencies compile once.
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("guide-target");
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &tutorial()])
        .current_dir(work.path())
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", &target)
        .env("KINGA_HOME", work.path().join("home"))
        .env("XDG_CACHE_HOME", work.path().join("cache"))
        .env("KINGA_ACTOR", "guide-test")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the tutorial failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "created ./county-school-support (eligibility plugin county-school-support)",
        "ok    example",
        "ok    fifteen-the-day-before-turning-sixteen",
        "2 passed, 0 failed",
        "ok: the host would install it",
        "is installed and in use",
    ] {
        assert!(stdout.contains(step), "{step} missing:\n{stdout}");
    }
    assert!(
        stdout.trim_end().ends_with(shown_output().trim_end()),
        "the guide shows:\n{}\nthe tutorial printed:\n{stdout}",
        shown_output()
    );
    // The installed package is the one that was signed, and the trail says so.
    let log = Command::new(kinga_bin())
        .args(["--home"])
        .arg(work.path().join("home"))
        .args(["audit", "log", "--json"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("county-school-support"), "{log}");
    assert!(
        log.contains("first version of county school support"),
        "{log}"
    );
}

/// Every `"enum"` array in the output schemas, as sets of values.
fn schema_enums() -> Vec<std::collections::BTreeSet<String>> {
    fn walk(value: &serde_json::Value, out: &mut Vec<std::collections::BTreeSet<String>>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Array(values)) = map.get("enum") {
                    out.push(
                        values
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect(),
                    );
                }
                map.values().for_each(|v| walk(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    let mut enums = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        walk(&serde_json::from_str(&text).unwrap(), &mut enums);
    }
    enums
}

#[test]
fn every_value_list_in_the_contract_table_is_exactly_one_the_contract_has() {
    // A list like (`not-required`, `given`, `required`) in the guide's
    // contract table must be the whole of one enumeration of the schemas
    // the host answers with: no value the contract lacks, none left out.
    let enums = schema_enums();
    let mut lists = 0;
    for line in GUIDE.lines().filter(|l| l.starts_with("| `")) {
        for group in line.split('(').skip(1) {
            let inner = group.split(')').next().unwrap_or_default();
            let values: Vec<&str> = inner.split(", ").collect();
            let all_values = values.len() >= 2
                && values.iter().all(|v| {
                    v.len() > 2
                        && v.starts_with('`')
                        && v.ends_with('`')
                        && v[1..v.len() - 1]
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                });
            if !all_values {
                continue;
            }
            lists += 1;
            let set: std::collections::BTreeSet<String> = values
                .iter()
                .map(|v| v.trim_matches('`').to_owned())
                .collect();
            assert!(
                enums.contains(&set),
                "the guide lists {set:?}, which is no enumeration of the contract"
            );
        }
    }
    assert!(lists >= 3, "the table's lists were not found ({lists})");
}
