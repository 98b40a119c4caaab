//! Embedding the host: load a directory of plugins, validate a case, and
//! print the eligibility decisions and referrals.
//!
//! ```sh
//! cargo build --release -p kinga            # builds the reference plugins too
//! cargo run --release -p kinga-host --example embed -- \
//!     target/wasm-guests/plugins samples/case.json 2026-07-01
//! ```
//!
//! This uses `kinga-host` with its default features: no command-line
//! parser, HTTP stack or guest build comes with it (`.ci/run` checks the
//! dependency tree). It does **not** read an administration directory:
//! every plugin runs with its rules and settings at their defaults. An
//! embedder that honours an administrator's switches and settings builds
//! its host with `kinga_host::admin::Deployment` instead (see
//! `docs/administration.md`).

use std::io::Write;
use std::process::ExitCode;

use kinga_host::{AsOf, EAST_AFRICA_TIME, Host, ValidCase};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [plugins, case, as_of] = args.as_slice() else {
        eprintln!("usage: embed PLUGIN_DIR CASE.json AS_OF");
        return ExitCode::from(2);
    };
    match run(plugins, case, as_of) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("embed: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(plugins: &str, case: &str, as_of: &str) -> Result<(), Box<dyn std::error::Error>> {
    eprintln!("embed: administration state not read; every rule and setting at its default");
    let mut host = Host::builder().build()?;
    let loaded = host.load_dir(plugins)?;
    eprintln!("embed: loaded {}", loaded.join(", "));
    let bytes = std::fs::read(case).map_err(|e| format!("{case}: {e}"))?;
    let case = ValidCase::parse(&bytes)?;
    let as_of = AsOf::parse(as_of, EAST_AFRICA_TIME)?;
    let decisions = host.evaluate(&case, as_of)?;
    let referrals = host.route(&case, as_of)?;
    let answer = serde_json::json!({ "decisions": decisions, "referrals": referrals });
    // Written, not `println!`: a reader that stops early (`| head`) is an
    // error to report, not a panic.
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
    Ok(())
}
