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
