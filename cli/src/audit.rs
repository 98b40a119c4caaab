//! `kinga audit verify` and `kinga replay`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use kinga_host::{AsOf, EAST_AFRICA_TIME, Error, ValidCase};
use serde_json::Value;
use time::UtcOffset;

use super::setup::{self, ErrorPrinter};
use super::{EXIT_FAILED, EXIT_OK, Global};

/// Audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that no record of a log was edited, removed or reordered.
    Verify {
        /// The log. Default: the administration audit trail, and the
        /// decision log when --decision-log is given.
        log: Option<PathBuf>,
    },
    /// Show the administration audit trail: who changed what, when, why.
    Log {
        /// Only changes to this plugin.
        #[arg(long)]
        plugin: Option<String>,
        /// Only changes by this actor.
        #[arg(long)]
        actor: Option<String>,
        /// Only changes at or after this date or date-time.
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Print JSON Lines.
        #[arg(long)]
        json: bool,
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
        .ok_or_else(|| errors.usage("name the log: --decision-log FILE"))
}

/// Runs an audit command and returns its exit code.
pub fn run(global: &Global, command: &AuditCommand, errors: &ErrorPrinter) -> u8 {
    match command {
        AuditCommand::Verify { log } => verify(global, log.as_ref(), errors),
        AuditCommand::Log {
            plugin,
            actor,
            since,
            json,
        } => {
            let since = match since.as_deref().map(|s| AsOf::parse(s, EAST_AFRICA_TIME)) {
                Some(Ok(at)) => Some(at),
                Some(Err(e)) => return errors.fail(&e),
                None => None,
            };
            let path = match setup::state_store(global) {
                Ok(store) => store.audit_path(),
                Err(message) => return errors.usage(&message),
            };
            let records = match kinga_host::records::read_log(&path) {
                Ok(records) => records,
                Err(broken) => return errors.usage(&format!("{}: {broken}", path.display())),
            };
            let mut out = String::new();
            for record in &records {
                let text = |key: &str| {
                    record
                        .get(key)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                let wanted = plugin.as_ref().is_none_or(|p| text("plugin") == *p)
                    && actor.as_ref().is_none_or(|a| text("actor") == *a)
                    && since.is_none_or(|since| {
                        AsOf::parse(&text("at"), UtcOffset::UTC).is_ok_and(|at| at >= since)
                    });
                if !wanted {
                    continue;
                }
                if *json {
                    out.push_str(&Value::Object(record.clone()).to_string());
                } else {
                    let number =
                        |key: &str| record.get(key).and_then(Value::as_u64).unwrap_or_default();
                    let shown =
                        |key: &str| record.get(key).map(Value::to_string).unwrap_or_default();
                    out.push_str(&setup::printable(&format!(
                        "#{} {} {} {} revision {}: {} from {} to {}, because {:?}{}",
                        number("seq"),
                        text("at"),
                        text("actor"),
                        text("result"),
                        number("revision"),
                        shown("change"),
                        shown("old"),
                        shown("new"),
                        text("reason"),
                        record
                            .get("error")
                            .and_then(Value::as_str)
                            .map(|e| format!(" ({e})"))
                            .unwrap_or_default(),
                    )));
                }
                out.push('\n');
            }
            setup::emit(&out);
            EXIT_OK
        }
    }
}

/// Verifies `log`, or the administration trail and the decision log.
fn verify(global: &Global, log: Option<&PathBuf>, errors: &ErrorPrinter) -> u8 {
    let mut logs: Vec<PathBuf> = Vec::new();
    match log {
        Some(log) => logs.push(log.clone()),
        None => {
            match setup::state_store(global) {
                Ok(store) => logs.push(store.audit_path()),
                Err(message) => return errors.usage(&message),
            }
            logs.extend(global.decision_log.clone());
        }
    }
    let key_path = match setup::log_key_path(global) {
        Ok(path) => path,
        Err(message) => return errors.usage(&message),
    };
    let mut code = EXIT_OK;
    for path in logs {
        let verified = kinga_host::records::LogKey::for_log(&key_path, &path)
            .map_err(|e| kinga_host::records::Broken {
                line: 0,
                message: e.to_string(),
            })
            .and_then(|key| kinga_host::records::verify_log(&path, &key));
        match verified {
            Ok(verified) => setup::emit(&format!(
                "ok: {}: {} records, chain intact, sealed under log key {}, last hash {}\n",
                path.display(),
                verified.records,
                verified.key_id,
                verified.last_hash
            )),
            Err(broken) => {
                eprintln!(
                    "kinga: {}: the log has been tampered with or damaged: {broken}",
                    path.display()
                );
                code = EXIT_FAILED;
            }
        }
    }
    code
}

/// Runs `kinga replay` and returns its exit code: 0 identical, 1 different
/// or failed, 2 bad input.
pub fn replay(global: &Global, args: &ReplayArgs, errors: &ErrorPrinter) -> u8 {
    let path = match log_path(global, None, errors) {
        Ok(path) => path,
        Err(code) => return code,
    };
    let record = match kinga_host::records::find_record(&path, &args.record_id) {
        Ok(record) => record,
        Err(message) => return errors.usage(&message.to_string()),
    };
    let settings = match kinga_host::records::recorded_settings(&path, &record) {
        Ok(settings) => settings,
        Err(message) => return errors.fail(&Error::Replay(message.to_string())),
    };
    let bytes = match kinga_host::read_regular_file(&args.case, kinga_host::MAX_CASE_BYTES) {
        Ok(bytes) => bytes,
        Err(source) => {
            return errors.fail(&Error::Io {
                path: args.case.display().to_string(),
                cause: source,
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
            let verdict = if !replay.reproducible {
                "NOT REPRODUCIBLE (the recorded call failed for a reason of the machine's \
                 load or of earlier calls, not of the case; the replay is shown for reference)"
            } else if replay.identical {
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
