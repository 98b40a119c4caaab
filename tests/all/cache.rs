//! The artifact cache: reused when intact, never trusted when not.

use std::path::{Path, PathBuf};

use kinga_artifacts::TEST_ELIGIBILITY;
use kinga_host::Host;

use crate::support::{as_of, sample_case, valid};

fn artifacts(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect()
}

fn load_and_evaluate(dir: &Path) {
    let mut host = Host::builder().cache_dir(dir).build().unwrap();
    host.load_file(TEST_ELIGIBILITY).unwrap();
    assert_eq!(
        host.evaluate(&valid(&sample_case()), as_of())
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_compiled_plugin_is_cached_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    load_and_evaluate(dir.path());
    let files = artifacts(dir.path());
    assert_eq!(files.len(), 1);
    let written = std::fs::metadata(&files[0]).unwrap().modified().unwrap();
    load_and_evaluate(dir.path());
    assert_eq!(
        std::fs::metadata(&files[0]).unwrap().modified().unwrap(),
        written,
        "reused, not rewritten"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(dir.path().join("key"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
}

#[test]
fn a_tampered_artifact_is_never_deserialised() {
    let dir = tempfile::tempdir().unwrap();
    load_and_evaluate(dir.path());
    let file = artifacts(dir.path()).remove(0);
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    load_and_evaluate(dir.path());
    assert_ne!(
        std::fs::read(&file).unwrap(),
        bytes,
        "the tampered artifact was replaced"
    );
}

#[test]
fn a_foreign_artifact_without_the_host_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    load_and_evaluate(dir.path());
    let file = artifacts(dir.path()).remove(0);
    let foreign = wasmtime::Engine::default()
        .precompile_component(&std::fs::read(TEST_ELIGIBILITY).unwrap())
        .unwrap();
    std::fs::write(&file, &foreign).unwrap();
    load_and_evaluate(dir.path());
    assert!(std::fs::read(&file).unwrap().starts_with(b"KINGA-A1"));
}
