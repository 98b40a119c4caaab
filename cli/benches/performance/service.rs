//! Section 5, the service: `kinga serve` on loopback, `POST /v1/eligibility`
//! with one case, driven by `oha` (installed from crates.io into
//! `target/tools` on first use) for a fixed time with 32 connections.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::table::{Row, Table};

const OHA_VERSION: &str = "1.16.0";

/// `oha`: on the PATH, else in `target/tools`, else installed there.
fn oha() -> Option<PathBuf> {
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools");
    let installed = tools.join("bin/oha");
    if installed.exists() {
        return Some(installed);
    }
    if Command::new("oha")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Some(PathBuf::from("oha"));
    }
    eprintln!("installing oha {OHA_VERSION} into target/tools (once)...");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "install",
            "oha",
            "--locked",
            "--version",
            OHA_VERSION,
            "--root",
        ])
        .arg(&tools)
        .status()
        .ok()?;
    status.success().then_some(installed)
}

/// Runs the service benchmark and adds its rows.
pub fn run(cache: &Path, seconds: u64, table: &mut Table) {
    let Some(oha) = oha() else {
        table.push(Row::info(
            "5 service",
            "POST /v1/eligibility",
            "not measured: oha could not be installed".into(),
        ));
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (token, hash) = kinga_host::serve::auth::new_token().expect("randomness");
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nops_listen = \"127.0.0.1:0\"\n\n[limits]\nrate_per_second = 10000000\nrate_burst = 10000000\n\n[[tokens]]\nprincipal = \"bench\"\nroles = [\"evaluator\"]\nsha256 = \"{hash}\"\n"
        ),
    )
    .expect("write the configuration");
    let mut server = Command::new(crate::process::kinga_bin())
        .arg("--cache-dir")
        .arg(cache)
        .arg("--home")
        .arg(dir.path().join("home"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("KINGA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kinga serve starts");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the server announces itself");
    let announced: Value = serde_json::from_str(&line).expect("the announcement is JSON");
    let url = format!(
        "http://{}/v1/eligibility",
        announced["public"].as_str().unwrap_or_default()
    );
    let case: Value = serde_json::from_str(&super::cases(1, 4)[0]).expect("a case");
    let body = serde_json::json!({"case": case, "as_of": super::AS_OF}).to_string();
    let out = Command::new(&oha)
        .args(["--no-tui", "--output-format", "json", "-c", "32", "-z"])
        .arg(format!("{seconds}s"))
        .args(["-m", "POST", "-T", "application/json", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg("-d")
        .arg(&body)
        .arg(&url)
        .output()
        .expect("oha runs");
    let _ = server.kill();
    let peak_mib = crate::process::wait_with_peak(server).peak_bytes as f64 / (1024.0 * 1024.0);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let rps = report["summary"]["requestsPerSec"]
        .as_f64()
        .unwrap_or_default();
    let success = report["summary"]["successRate"]
        .as_f64()
        .unwrap_or_default();
    let p50 = report["latencyPercentiles"]["p50"]
        .as_f64()
        .unwrap_or_default()
        * 1e3;
    let p99 = report["latencyPercentiles"]["p99"]
        .as_f64()
        .unwrap_or_default()
        * 1e3;
    let statuses = report["statusCodeDistribution"].to_string();
    table.push(Row::at_least(
        "5 service",
        &format!("POST /v1/eligibility, 32 connections, {seconds} s (statuses {statuses}, success {:.0}%)", success * 100.0),
        rps,
        10_000.0,
        "req/s",
    ));
    table.push(Row::value("5 service", "latency p50", p50, "ms"));
    table.push(Row::target("5 service", "latency p99", p99, 10.0, "ms"));
    table.push(Row::value(
        "5 service",
        "peak resident memory of the server",
        peak_mib,
        "MiB",
    ));
}
