//! `kinga audit verify` and `kinga replay`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use kinga_host::{Error, ValidCase};

use super::setup::{self, ErrorPrinter};
use super::{EXIT_FAILED, EXIT_OK, Global};

/// Audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that no record of a log was edited, removed or reordered.
    Verify {
        /// The log (default: --decision-log).
        log: Option<PathBuf>,
    },
}

/// Arguments of `kinga replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The record id (`dr-...`).
    pub record_id: String,
    /// The case the record was made for (its hash is checked).
    #[arg(long, value_name = "FILE")]
    pub case: PathBuf,
}

fn log_path(
    global: &Global,
    given: Option<&PathBuf>,
    errors: &ErrorPrinter,
) -> Result<PathBuf, u8> {
    given
        .or(global.decision_log.as_ref())
        .cloned()
        .ok_or_else(|| {
            errors.usage("name the log: kinga audit verify FILE, or --decision-log FILE")
        })
}

/// Runs an audit command and returns its exit code.
pub fn run(global: &Global, command: &AuditCommand, errors: &ErrorPrinter) -> u8 {
    let AuditCommand::Verify { log } = command;
    let path = match log_path(global, log.as_ref(), errors) {
        Ok(path) => path,
        Err(code) => return code,
    };
    match kinga_host::chain::verify(&path) {
        Ok(verified) => {
            setup::emit(&format!(
                "ok: {} records, chain intact, last hash {}\n",
                verified.records, verified.last_hash
            ));
            EXIT_OK
        }
        Err(broken) => {
            eprintln!(
                "kinga: {}: the log has been tampered with or damaged: {broken}",
                path.display()
            );
            EXIT_FAILED
        }
    }
}

/// Runs `kinga replay` and returns its exit code: 0 identical, 1 different
/// or failed, 2 bad input.
pub fn replay(global: &Global, args: &ReplayArgs, errors: &ErrorPrinter) -> u8 {
    let path = match log_path(global, None, errors) {
        Ok(path) => path,
        Err(code) => return code,
    };
    let record = match kinga_host::record::find(&path, &args.record_id) {
        Ok(record) => record,
        Err(message) => return errors.usage(&message),
    };
    let settings = match kinga_host::record::recorded_settings(&path, &record) {
        Ok(settings) => settings,
        Err(message) => return errors.fail(&Error::Replay(message)),
    };
    let bytes = match std::fs::read(&args.case) {
        Ok(bytes) => bytes,
        Err(source) => {
            return errors.fail(&Error::Io {
                path: args.case.display().to_string(),
                source,
            });
        }
    };
    let case = match ValidCase::parse(&bytes) {
        Ok(case) => case,
        Err(rejection) => return errors.fail(&rejection.into()),
    };
    // Replays are not decisions: never record them.
    let quiet = Global {
        decision_log: None,
        ..global.clone()
    };
    let host = match setup::host(&quiet) {
        Ok(host) => host,
        Err(e) => return errors.fail(&e),
    };
    match host.replay(&record, &case, &settings) {
        Ok(replay) => {
            let verdict = if replay.identical {
                "identical"
            } else {
                "DIFFERENT"
            };
            setup::emit(&format!(
                "{verdict}: {} {} as of {} with {} rules on\n{}\n",
                record.plugin,
                record.plugin_version,
                record.as_of,
                record.enabled_rules.len(),
                serde_json::to_string_pretty(&replay).unwrap_or_default()
            ));
            if replay.identical {
                EXIT_OK
            } else {
                EXIT_FAILED
            }
        }
        Err(e) => errors.fail(&e),
    }
}
