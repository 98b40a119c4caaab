//! The contract: Schemathesis drives the real server from its own OpenAPI
//! document and finds no server error, no undocumented status, and no
//! answer that breaks the document's schemas (which are `schemas/`).
//!
//! Schemathesis comes from PyPI into a virtual environment under the target
//! directory, installed by this test the first time it runs (the version is
//! pinned so that a new release cannot change what CI checks).

use std::path::PathBuf;
use std::process::Command;

use super::server::Server;

const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// The `schemathesis` executable, installed on first use.
fn schemathesis() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("schemathesis-4.32.5");
    let bin = venv.join("bin/schemathesis");
    if !bin.exists() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 runs (Python 3.9 or newer is needed for the contract test)");
        assert!(made.success(), "python3 -m venv failed");
        let installed = Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                SCHEMATHESIS,
            ])
            .status()
            .expect("pip runs");
        assert!(installed.success(), "pip install {SCHEMATHESIS} failed");
    }
    bin
}

#[test]
fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let bin = schemathesis();
    let server = Server::with_config("[limits]\nrate_per_second = 100000\nrate_burst = 100000\n");
    let document = server.url("/v1/openapi.json");
    // Schemathesis keeps a cache where it runs: not in the source tree.
    let workdir = tempfile::tempdir().unwrap();
    for token in [
        &server.tokens.evaluator,
        &server.tokens.admin,
        &server.tokens.auditor,
    ] {
        let run = || {
            Command::new(&bin)
                .arg("run")
                .arg(&document)
                .args([
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,ignored_auth",
                    "--phases",
                    "examples,coverage,fuzzing",
                    "--max-examples",
                    "25",
                    "--seed",
                    "1",
                    "--workers",
                    "2",
                    "--suppress-health-check",
                    "all",
                    "--header",
                ])
                .arg(format!("Authorization: Bearer {token}"))
                .current_dir(workdir.path())
                .env("PYTHONPATH", concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/contract"))
                .env("SCHEMATHESIS_HOOKS", "hooks")
                .env("NO_COLOR", "1")
                .env("SCHEMATHESIS_TELEMETRY", "false")
                .output()
                .expect("schemathesis runs")
        };
        let mut out = run();
        // This machine's CPython 3.11 can fail inside Hypothesis's own
        // `ast.parse` with "AST constructor recursion depth mismatch" (seen
        // once in CI, not reproducible): the tool's error, not an answer of
        // the server. That error alone earns one rerun; anything the checks
        // find fails at once.
        if !out.status.success()
            && String::from_utf8_lossy(&out.stdout)
                .contains("AST constructor recursion depth mismatch")
        {
            out = run();
        }
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "schemathesis found problems:\n{report}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
