//! Shared helpers: hosts with the test plugins, sample cases, the binary.

use std::path::{Path, PathBuf};
use std::process::Output;

use kinga_host::{AsOf, EAST_AFRICA_TIME, Host, Limits, ValidCase};
use serde_json::{Value, json};

/// A host with the given components loaded (no artifact cache).
pub fn host_with(components: &[&str]) -> Host {
    host_with_limits(components, Limits::default())
}

/// A host with `limits` and the given components loaded.
pub fn host_with_limits(components: &[&str], limits: Limits) -> Host {
    let mut host = Host::builder().limits(limits).build().expect("host builds");
    for component in components {
        host.load_file(component)
            .unwrap_or_else(|e| panic!("{component} loads: {e}"));
    }
    host
}

/// The as-of used by most tests.
pub fn as_of() -> AsOf {
    AsOf::parse("2026-07-01T09:00:00+03:00", EAST_AFRICA_TIME).unwrap()
}

/// A valid case: a 13-year-old survivor in Kwale with one recent incident.
pub fn sample_case() -> Value {
    json!({
        "case_id": "T-0001",
        "registered_on": "2026-05-04",
        "status": "open",
        "child": {"date_of_birth": "2013-02-11", "sex": "female", "county": "kwale", "sub_county": "msambweni"},
        "survivor_status": "survivor",
        "incidents": [{"occurred_at": "2026-06-29T22:30:00+03:00", "kind": "sexual_exploitation"}],
        "extensions": {"platform_note": "PRIVATE-EXTENSION-TEXT"}
    })
}

/// `value` as a validated case.
pub fn valid(value: &Value) -> ValidCase {
    ValidCase::from_value(value.clone()).expect("valid case")
}

pub use crate::process::kinga_bin;

/// Runs `kinga` with `args`, no artifact cache and an empty administration
/// directory of its own (so no one's real state changes a test).
pub fn kinga(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    kinga_at(home.path(), args)
}

/// Runs `kinga` with `args` and the environment variables `env` added.
pub fn kinga_env(env: &[(&str, &str)], args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    crate::process::kinga_without_cache(home.path())
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("kinga runs")
}

/// Runs `kinga` with `args` and the administration directory `home`.
pub fn kinga_at(home: &std::path::Path, args: &[&str]) -> Output {
    crate::process::kinga_without_cache(home)
        .args(args)
        .output()
        .expect("kinga runs")
}

/// A directory holding copies of exactly `components`.
pub fn plugin_dir(components: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for component in components {
        let name = PathBuf::from(component).file_name().unwrap().to_owned();
        std::fs::copy(component, dir.path().join(name)).unwrap();
    }
    dir
}

/// Everything logged through `tracing` while `f` runs on this thread, as
/// text (all levels).
pub fn captured_log<T>(f: impl FnOnce() -> T) -> (T, String) {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(buffer.clone())
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    (result, text)
}

/// A process's standard error, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A process's standard output, as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Fails the test, with the process's standard error, unless it succeeded.
#[track_caller]
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "the command failed ({}):\n{}",
        output.status,
        stderr(output)
    );
}

/// A file of the repository, by its path from the top (`profiles/...`).
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// A JSON file of the repository, parsed.
pub fn repo_json(path: &str) -> Value {
    serde_json::from_slice(&std::fs::read(repo(path)).unwrap()).unwrap()
}

/// The path of a synthetic platform payload, `tests/platforms/NAME.json`
/// (NAME may name a folder: `expected/primero-1`).
pub fn platform_payload_path(name: &str) -> String {
    repo(&format!("tests/platforms/{name}.json"))
        .display()
        .to_string()
}

/// A synthetic platform payload (see [`platform_payload_path`]), parsed.
pub fn platform_payload(name: &str) -> Value {
    repo_json(&format!("tests/platforms/{name}.json"))
}

/// A bundled mapping profile, `profiles/ID.json`, parsed.
pub fn bundled_profile(id: &str) -> Value {
    repo_json(&format!("profiles/{id}.json"))
}
