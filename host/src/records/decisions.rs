//! Decision records: enough to explain and reproduce every evaluation later,
//! and nothing that identifies a child.
//!
//! One record per plugin call: which plugin (id, version, content hash,
//! contract), which rules were on, which settings (by hash; the settings
//! themselves are kept once per hash beside the log, as they hold no case
//! data), the as-of, the SHA-256 of the canonical case (never the case), and
//! the outcome (status and reason codes, plus the hash of the full output,
//! or the error class). Records go to a hash-chained log ([`crate::records::chain`]),
//! so `kinga audit verify` detects any edit or removal, and `kinga replay`
//! re-runs a record and says whether the outcome is identical.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::Error;
use crate::records::{ChainLog, LogKey};
use crate::runtime::output::{Decision, Referral};
use crate::storage::{sha256_hex, write_atomically};

/// One decision record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// A unique id (`dr-` and 32 hex digits).
    pub record_id: String,
    /// When the record was written (UTC).
    pub recorded_at: String,
    /// `eligibility` or `referral`.
    pub evaluation: String,
    /// The plugin's id.
    pub plugin: String,
    /// Its version.
    pub plugin_version: String,
    /// The SHA-256 of its component.
    pub content_sha256: String,
    /// The contract it implements.
    pub contract: String,
    /// The rules that were on.
    pub enabled_rules: Vec<String>,
    /// The SHA-256 of the canonical settings JSON.
    pub settings_sha256: String,
    /// The as-of.
    pub as_of: String,
    /// The SHA-256 of the canonical case JSON.
    pub case_sha256: String,
    /// What came out.
    pub outcome: Value,
    /// Position in the log (set by the log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Hash of the previous record (set by the log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    /// Hash of this record (set by the log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// What of an output goes into a record: codes and statuses, no text.
pub trait Recordable: Serialize {
    /// The output without free text or anything derived from case dates.
    fn summary(&self) -> Value;
}

impl Recordable for Decision {
    fn summary(&self) -> Value {
        json!({
            "track": self.track,
            "status": self.status,
            "priority": self.priority,
            "codes": self.reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
            "missing": self.missing,
        })
    }
}

impl Recordable for Referral {
    fn summary(&self) -> Value {
        json!({
            "rule": self.rule,
            "service": self.service,
            "urgency": self.urgency,
            "consent": self.consent,
            "provider": self.provider.as_ref().map(|p| p.id.as_str()),
            "codes": self.reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
        })
    }
}

/// The outcome part of a record for a plugin's answer. A failure that
/// depends on the machine's load or on earlier calls (a deadline stop, no
/// slot in time, an open breaker) is recorded as `not-reproducible`: it is
/// not an outcome of the case, and a replay has nothing to compare it with.
pub fn outcome<T: Recordable>(result: Result<&[T], &Error>) -> Value {
    match result {
        Err(e) if !e.is_reproducible() => json!({
            "result": "not-reproducible",
            "error": e.kind(),
            "why": e.to_string(),
        }),
        Ok(outputs) => json!({
            "result": "ok",
            "output_sha256": output_sha256(outputs),
            "summary": outputs.iter().map(Recordable::summary).collect::<Vec<_>>(),
        }),
        Err(e) => json!({ "result": "error", "error": e.kind() }),
    }
}

/// The SHA-256 of a plugin's outputs, as canonical JSON.
pub fn output_sha256<T: Serialize>(outputs: &[T]) -> String {
    let value = serde_json::to_value(outputs).unwrap_or(Value::Null);
    sha256_hex(crate::case::canonical_json(&value).as_bytes())
}

/// The decision log: the chained log and the settings it refers to.
#[derive(Debug)]
pub struct DecisionLog {
    log: ChainLog,
    settings_dir: PathBuf,
}

/// The directory beside a log that holds the settings its records name.
pub fn settings_dir(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".settings");
    PathBuf::from(name)
}

impl DecisionLog {
    /// Opens the decision log at `path` (checking its chain under `key`).
    ///
    /// # Errors
    /// I/O errors, or a broken chain.
    pub fn open(path: &Path, key: &LogKey) -> std::io::Result<DecisionLog> {
        let log = ChainLog::open(path, key)?;
        let settings_dir = settings_dir(path);
        std::fs::create_dir_all(&settings_dir)?;
        Ok(DecisionLog { log, settings_dir })
    }

    /// Keeps `settings` (canonical JSON) under its hash and returns the hash.
    ///
    /// # Errors
    /// I/O errors.
    pub fn keep_settings(&self, settings: &str) -> std::io::Result<String> {
        let hash = sha256_hex(settings.as_bytes());
        let path = self.settings_dir.join(format!("{hash}.json"));
        if !path.exists() {
            write_atomically(&path, settings.as_bytes())?;
        }
        Ok(hash)
    }

    /// Appends a record; returns its id.
    ///
    /// # Errors
    /// I/O errors.
    pub fn append(&mut self, record: &DecisionRecord) -> std::io::Result<String> {
        let value = serde_json::to_value(record).map_err(std::io::Error::other)?;
        self.log.append(value)?;
        Ok(record.record_id.clone())
    }
}

/// A fresh record id.
pub fn new_record_id() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    format!(
        "dr-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// A decision record or its settings that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The log fails its chain check.
    #[error("{0}")]
    BrokenLog(String),
    /// No record has this id.
    #[error("no record {record_id} in {path}")]
    NoSuchRecord {
        /// The id asked for.
        record_id: String,
        /// The log.
        path: String,
    },
    /// The record does not have the shape of a decision record.
    #[error("record {record_id}: {message}")]
    Malformed {
        /// The record.
        record_id: String,
        /// What is wrong.
        message: String,
    },
    /// The settings file cannot be read, or is not JSON.
    #[error("{path}: {message}")]
    Settings {
        /// The settings file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The settings file is not the one the record names.
    #[error("{path}: the settings do not match their hash")]
    SettingsHash {
        /// The settings file.
        path: String,
    },
}

/// Finds a record by id in the log at `path`.
///
/// # Errors
/// A broken log, or no such record.
pub fn find(path: &Path, record_id: &str) -> Result<DecisionRecord, RecordError> {
    let records =
        crate::records::read_log(path).map_err(|b| RecordError::BrokenLog(b.to_string()))?;
    let record = records
        .into_iter()
        .find(|r| r.get("record_id").and_then(Value::as_str) == Some(record_id))
        .ok_or_else(|| RecordError::NoSuchRecord {
            record_id: record_id.to_owned(),
            path: path.display().to_string(),
        })?;
    serde_json::from_value(Value::Object(record)).map_err(|e| RecordError::Malformed {
        record_id: record_id.to_owned(),
        message: e.to_string(),
    })
}

/// The settings a record names, from the directory beside its log.
///
/// # Errors
/// When they are missing or do not match their hash.
pub fn recorded_settings(log: &Path, record: &DecisionRecord) -> Result<Value, RecordError> {
    let path = settings_dir(log).join(format!("{}.json", record.settings_sha256));
    let failed = |message: String| RecordError::Settings {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| failed(e.to_string()))?;
    if sha256_hex(text.as_bytes()) != record.settings_sha256 {
        return Err(RecordError::SettingsHash {
            path: path.display().to_string(),
        });
    }
    serde_json::from_str(&text).map_err(|e| failed(e.to_string()))
}
