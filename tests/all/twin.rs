//! The contract is language-neutral: a Python plugin
//! (`plugins/python-school-support`, built with componentize-py) and its Rust
//! twin (the example `kinga new eligibility` writes) pass the same fixtures
//! through `kinga test`, and answer identically for the same synthetic
//! caseload.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{kinga, kinga_bin};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures() -> String {
    root()
        .join("plugins/python-school-support/fixtures")
        .display()
        .to_string()
}

/// Builds the Python plugin with its own script.
fn python_component(dir: &Path) -> PathBuf {
    let out = dir.join("python-school-support.wasm");
    let built = Command::new(root().join("plugins/python-school-support/build.sh"))
        .arg(&out)
        .output()
        .expect("build.sh runs");
    assert!(
        built.status.success(),
        "build.sh failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    out
}

/// Scaffolds the Rust twin and builds it; returns the crate and component.
fn rust_twin(dir: &Path) -> (PathBuf, PathBuf) {
    let made = Command::new(kinga_bin())
        .args(["new", "eligibility", "school-support", "--path"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let krate = dir.join("school-support");
    // The SDK is named by a relative path (the crate can be moved with its
    // tree, committed, built by someone else), which the build below uses.
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    let sdk_line = manifest
        .lines()
        .find(|l| l.starts_with("kinga-plugin-sdk"))
        .unwrap();
    assert!(
        sdk_line.contains("path = \"..") && !sdk_line.contains("path = \"/"),
        "{sdk_line}"
    );
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("guide-target");
    let built = Command::new("cargo")
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(krate.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    (
        krate,
        target.join("wasm32-wasip2/release/school_support.wasm"),
    )
}

#[test]
fn a_python_plugin_and_its_rust_twin_pass_the_same_fixtures_and_agree_on_every_case() {
    let dir = tempfile::tempdir().unwrap();
    let python = python_component(dir.path());
    let (_, rust) = rust_twin(dir.path());

    let checked = kinga(&["check", python.to_str().unwrap()]);
    let checked_text = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(
        checked_text
            .contains("WASI, linked inert (no files, network, clock or real randomness): none"),
        "{checked_text}"
    );

    for component in [&python, &rust] {
        let out = kinga(&[
            "test",
            component.to_str().unwrap(),
            "--fixtures",
            &fixtures(),
        ]);
        let printed = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}:\n{printed}", component.display());
        assert!(printed.contains("15 passed, 0 failed"), "{printed}");
    }

    let plugins = dir.path().join("both");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::copy(&python, plugins.join("python.wasm")).unwrap();
    std::fs::copy(&rust, plugins.join("rust.wasm")).unwrap();
    let cases = dir.path().join("cases.jsonl");
    assert!(
        kinga(&[
            "synth",
            "--count",
            "400",
            "--seed",
            "7",
            "--out",
            cases.to_str().unwrap()
        ])
        .status
        .success()
    );
    let out = kinga(&[
        "--plugins",
        plugins.to_str().unwrap(),
        "eligibility",
        "--cases",
        cases.to_str().unwrap(),
        "--as-of",
        "2026-09-30T17:00:00+03:00",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut statuses = std::collections::BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        let answers: Vec<Value> = record["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let mut d = d.clone();
                let map = d.as_object_mut().unwrap();
                map.remove("plugin");
                map.remove("plugin_version");
                d
            })
            .collect();
        assert_eq!(answers.len(), 2, "{record}");
        assert_eq!(
            answers[0], answers[1],
            "the twins disagree on line {}",
            record["line"]
        );
        statuses.insert(answers[0]["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        statuses.len(),
        3,
        "the caseload reaches every outcome: {statuses:?}"
    );
}
