//! The CLI on `kinga synth` output of 100,000 cases: every case evaluated
//! and routed, and a streamed report whose peak memory does not grow with
//! the number of cases.
//!
//! Peak memory is read per process with `wait4`, after a first run has
//! filled the artifact cache (compiling plugins is not what is measured).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

#[allow(dead_code, reason = "each includer uses part of it")]
#[path = "../common/process.rs"]
mod process;

const AS_OF: &str = "2026-09-30T17:00:00+03:00";

fn synth(cache: &Path, count: u64, path: &Path) {
    let status = process::kinga_with_cache(cache)
        .args([
            "synth",
            "--count",
            &count.to_string(),
            "--seed",
            "11",
            "--as-of",
            AS_OF,
            "--out",
        ])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for `child`: whether it succeeded, and its own peak resident set
/// in KiB.
fn wait_with_peak(child: std::process::Child) -> (bool, i64) {
    let ended = process::wait_with_peak(child);
    (
        ended.succeeded,
        i64::try_from(ended.peak_bytes / 1024).unwrap(),
    )
}

/// Runs `kinga <args> --cases <path>` and returns (lines of stdout, errors).
fn batch(cache: &Path, command: &str, path: &Path) -> (u64, u64) {
    let mut child = process::kinga_with_cache(cache)
        .args([command, "--as-of", AS_OF, "--cases"])
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let field = if command == "eligibility" {
        "\"decisions\":"
    } else {
        "\"referrals\":"
    };
    let (mut lines, mut errors) = (0, 0);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        lines += 1;
        if !line.contains(field) || line.contains("\"error\":") {
            errors += 1;
        }
    }
    assert!(child.wait().unwrap().success());
    (lines, errors)
}

/// Runs the quarterly report; returns its CSV and the process's peak memory.
fn report(cache: &Path, path: &Path, out: &Path) -> (String, i64) {
    let child = process::kinga_with_cache(cache)
        .args([
            "report",
            "baf-quarterly",
            "--param",
            "period=2026-Q3",
            "--format",
            "csv",
            "--publish",
            "--cases",
        ])
        .arg(path)
        .stdout(std::fs::File::create(out).unwrap())
        .spawn()
        .unwrap();
    let (ok, peak) = wait_with_peak(child);
    assert!(ok, "the report failed");
    (std::fs::read_to_string(out).unwrap(), peak)
}

#[test]
fn a_hundred_thousand_synthetic_cases_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let small = dir.path().join("10k.jsonl");
    let large = dir.path().join("100k.jsonl");
    synth(&cache, 10_000, &small);
    synth(&cache, 100_000, &large);
    assert!(
        process::kinga_with_cache(&cache)
            .args(["plugins", "list"])
            .output()
            .unwrap()
            .status
            .success(),
        "warm the cache"
    );

    let (small_report, peak_small) = report(&cache, &small, &dir.path().join("10k.csv"));
    let (large_report, peak_large) = report(&cache, &large, &dir.path().join("100k.csv"));
    println!("report peak RSS: 10k cases {peak_small} KiB, 100k cases {peak_large} KiB");
    assert!(
        peak_large * 10 <= peak_small * 12,
        "report memory grew with the caseload: {peak_small} KiB for 10k, {peak_large} KiB for 100k"
    );
    assert!(
        small_report.starts_with("table,track,measure,cases\nreach,education_support,target,130\n")
    );
    assert!(small_report.contains("\n\ntable,track,sex,age_band,county,cases\n"));
    assert!(
        large_report.contains("ps-5-1-29-referred,health,female,"),
        "{large_report}"
    );
    assert!(!large_report.contains("\n\n\n"));

    assert_eq!(batch(&cache, "eligibility", &large), (100_000, 0));
    assert_eq!(batch(&cache, "route", &large), (100_000, 0));
}

/// H06: a plugin that grows its memory without end is stopped at the store's
/// memory cap, and the host process's own peak memory stays bounded by it.
#[test]
fn h06_unbounded_memory_growth_leaves_the_host_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::copy(
        kinga_artifacts::TEST_HOSTILE,
        plugins.join("test_hostile.wasm"),
    )
    .unwrap();
    let case = dir.path().join("case.json");
    std::fs::write(
        &case,
        r#"{"case_id":"M-1","registered_on":"2026-05-04","status":"open","child":{"sex":"female","county":"kwale"},"survivor_status":"survivor"}"#,
    )
    .unwrap();
    let run = |behaviour: &str| {
        let child = process::kinga_with_cache(&cache)
            .arg("--plugins")
            .arg(&plugins)
            .args([
                "route",
                "--as-of",
                AS_OF,
                "--set",
                &format!("test-hostile.behaviour={behaviour}"),
                "--case",
            ])
            .arg(&case)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_with_peak(child)
    };
    let (ok, baseline) = run("none");
    assert!(ok);
    let (ok, grown) = run("grow-memory");
    assert!(!ok, "the runaway plugin was stopped");
    println!("peak RSS: well-behaved {baseline} KiB, growing without end {grown} KiB");
    let cap_kib = 64 * 1024;
    assert!(
        grown <= baseline + cap_kib + 16 * 1024,
        "host memory went past the plugin's cap: {grown} KiB"
    );
}
