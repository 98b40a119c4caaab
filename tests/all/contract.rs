//! What the host refuses to load, and why.

use kinga_artifacts::TEST_ELIGIBILITY;
use kinga_host::{Error, Host};

fn load(bytes: &[u8]) -> String {
    let mut host = Host::builder().build().unwrap();
    match host.load_bytes(bytes, "fixture.wasm") {
        Err(Error::PluginLoad {
            source_name,
            problems,
        }) => {
            assert_eq!(source_name, "fixture.wasm");
            problems.join("; ")
        }
        other => panic!("expected a load error, got {other:?}"),
    }
}

fn component(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("fixture parses")
}

#[test]
fn random_bytes_truncated_components_and_core_modules_are_refused() {
    assert!(load(b"definitely not wasm").contains("not a WebAssembly component"));
    let real = std::fs::read(TEST_ELIGIBILITY).unwrap();
    assert!(load(&real[..real.len() / 2]).contains("not a valid WebAssembly component"));
    let core = component("(module (func (export \"f\")))");
    assert!(load(&core).contains("not a valid WebAssembly component"));
}

#[test]
fn a_precompiled_artifact_is_never_loaded_as_a_plugin() {
    let real = std::fs::read(TEST_ELIGIBILITY).unwrap();
    let artifact = wasmtime::Engine::default()
        .precompile_component(&real)
        .unwrap();
    assert!(load(&artifact).contains("precompiled"));
}

#[test]
fn wasi_filesystem_and_sockets_are_refused_at_load() {
    for import in [
        "wasi:filesystem/types@0.2.6",
        "wasi:sockets/tcp@0.2.6",
        "wasi:http/outgoing-handler@0.2.6",
    ] {
        let message = load(&component(&format!(
            "(component (import \"{import}\" (instance)))"
        )));
        assert!(message.contains(import), "{message}");
        assert!(message.contains("does not provide"), "{message}");
    }
}

#[test]
fn imports_the_host_does_not_provide_are_refused_not_stubbed() {
    let message = load(&component(
        "(component (import \"kinga:plugin/secrets@0.1.0\" (instance)))",
    ));
    assert!(message.contains("kinga:plugin/secrets@0.1.0"), "{message}");
}

const EXPORT_EVALUATE: &str = r#"
    (core module $m (func (export "f")))
    (core instance $i (instantiate $m))
    (func $f (canon lift (core func $i "f")))
    (instance $inst (export "evaluate" (func $f)))
"#;

#[test]
fn another_version_of_the_contract_is_refused_naming_both() {
    // Older, newer within 0.2 (it may export what this host cannot check)
    // and newer still.
    for other in ["0.1.0", "0.2.3", "0.3.0"] {
        let wat = format!(
            "(component {EXPORT_EVALUATE} (export \"kinga:plugin/eligibility@{other}\" (instance $inst)))"
        );
        let message = load(&component(&wat));
        assert!(
            message.contains(&format!("built against kinga:plugin@{other}")),
            "{message}"
        );
        assert!(message.contains("0.2.0, 0.2.1 and 0.2.2"), "{message}");
        assert!(message.contains("rebuild the plugin"), "{message}");
    }
}

#[test]
fn contract_exports_of_two_versions_are_refused() {
    let wat = format!(
        "(component {EXPORT_EVALUATE} (export \"kinga:plugin/eligibility@0.2.1\" (instance $inst)) \
         (export \"kinga:plugin/plugin@0.2.0\" (instance $inst)))"
    );
    let message = load(&component(&wat));
    assert!(
        message.contains("different versions (0.2.0, 0.2.1)"),
        "{message}"
    );
}

#[test]
fn a_0_2_1_plugin_without_its_settings_check_is_refused() {
    let wat = format!(
        "(component {EXPORT_EVALUATE} (export \"kinga:plugin/eligibility@0.2.1\" (instance $inst)) \
         (export \"kinga:plugin/plugin@0.2.1\" (instance $inst)))"
    );
    let message = load(&component(&wat));
    assert!(
        message.contains("does not match the kinga:plugin@0.2.1 contract"),
        "{message}"
    );
}

#[test]
fn a_changed_signature_is_refused() {
    let wat = format!(
        "(component {EXPORT_EVALUATE} (export \"kinga:plugin/eligibility@0.2.0\" (instance $inst)) \
         (export \"kinga:plugin/plugin@0.2.0\" (instance $inst)))"
    );
    let message = load(&component(&wat));
    assert!(
        message.contains("does not match the kinga:plugin@0.2.0 contract"),
        "{message}"
    );
}

#[test]
fn a_component_without_a_capability_is_refused() {
    assert!(load(&component("(component)")).contains("exports no Kinga capability"));
}

#[test]
fn the_same_id_twice_is_refused() {
    let mut host = Host::builder().build().unwrap();
    host.load_file(TEST_ELIGIBILITY).unwrap();
    assert!(
        matches!(host.load_file(TEST_ELIGIBILITY), Err(Error::DuplicatePlugin(id)) if id == "test-eligibility")
    );
}
