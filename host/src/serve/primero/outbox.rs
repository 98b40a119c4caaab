//! The durable outbox of write-backs to Primero: one JSON file per
//! delivery in `outbox/pending/`, moved to `outbox/failed/` when it cannot
//! be delivered, removed once delivered; and a ledger of what was
//! delivered per case in `outbox/ledger/`.
//!
//! # Exactly once, where Primero is not idempotent
//! Every request is split into work a second send must not repeat, each
//! with a fingerprint: a `services_section` row by its `unique_id` and
//! what it says (service type, timeframe, agency), not by when it was
//! written; a referral transition by its service row and recipient. Work
//! whose fingerprint is in the case's ledger, already waiting in the
//! outbox, or failed for good (until it is replayed), is never queued
//! again: the same webhook twice, or Primero's
//! webhook for Kinga's own update, queues nothing. A transition (which
//! Primero creates anew on every `POST`) is marked in flight before it is
//! sent; a delivery resumed with a transition in flight first asks
//! Primero whether the transition exists.
//!
//! Files are written to a temporary name, synced and renamed, so a crash
//! leaves the old file or the new one. Items hold what is sent to Primero
//! (service types, agencies, notes naming rules and providers) and the
//! platform's record id, never a child's details.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::adapt::outbound::Request;
use crate::storage::{read_regular_file, sha256_hex, write_atomically};

/// Largest outbox item read back.
const MAX_ITEM_BYTES: usize = 8 << 20;

/// One request of a delivery, with its fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Work {
    /// `PATCH` or `POST`.
    pub method: String,
    /// The path from Primero's base URL.
    pub path: String,
    /// The JSON body.
    pub body: Value,
    /// What a second send must not repeat.
    pub fingerprint: String,
    /// What the work writes (a row's `unique_id`; for other work its
    /// fingerprint): a later delivery of the same key supersedes it.
    pub key: String,
    /// A referral transition: Primero creates one per `POST`.
    #[serde(default)]
    pub transition: bool,
}

/// What was delivered for one case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// The fingerprints delivered.
    pub fingerprints: Vec<String>,
    /// Per key, the id of the item whose work for it was delivered last:
    /// work from an older item (a failed one replayed) is not sent over it.
    pub latest: std::collections::BTreeMap<String, String>,
}

/// A delivery waiting in the outbox, or failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Sortable by when it was queued.
    pub id: String,
    /// The canonical case id.
    pub case_id: String,
    /// When it was queued (RFC 3339).
    pub queued_at: String,
    /// The work, in order.
    pub work: Vec<Work>,
    /// How many of `work` are delivered.
    #[serde(default)]
    pub done: usize,
    /// Attempts that failed.
    #[serde(default)]
    pub attempts: u32,
    /// Not to be tried before (milliseconds since the Unix epoch).
    #[serde(default)]
    pub not_before_ms: u64,
    /// The fingerprint of a transition sent without an answer yet.
    #[serde(default)]
    pub in_flight: Option<String>,
    /// Why the last attempt failed (status and Primero's error codes,
    /// never a body).
    #[serde(default)]
    pub last_error: Option<String>,
}

/// What queuing a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Queued {
    /// Requests queued.
    pub queued: usize,
    /// Requests left out: delivered or waiting already.
    pub already: usize,
}

/// The outbox directory.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
    /// Serialises queuing: two webhooks for one case at once must not both
    /// find their work new.
    queuing: std::sync::Arc<std::sync::Mutex<()>>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Outbox {
    /// The outbox in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Outbox {
        Outbox {
            dir: dir.into(),
            queuing: std::sync::Arc::default(),
        }
    }

    fn sub(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn ledger_path(&self, case_id: &str) -> PathBuf {
        self.sub("ledger")
            .join(format!("{}.json", sha256_hex(case_id.as_bytes())))
    }

    /// What was delivered for `case_id`.
    ///
    /// # Errors
    /// An unreadable ledger.
    pub fn ledger(&self, case_id: &str) -> std::io::Result<Ledger> {
        match read_regular_file(&self.ledger_path(case_id), MAX_ITEM_BYTES) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::other(format!("outbox ledger: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger::default()),
            Err(e) => Err(e),
        }
    }

    /// Records `work` of item `item_id` as delivered for `case_id`.
    ///
    /// # Errors
    /// I/O errors.
    pub fn record_delivered(
        &self,
        case_id: &str,
        item_id: &str,
        work: &Work,
    ) -> std::io::Result<()> {
        let mut ledger = self.ledger(case_id)?;
        if !ledger.fingerprints.contains(&work.fingerprint) {
            ledger.fingerprints.push(work.fingerprint.clone());
        }
        ledger.latest.insert(work.key.clone(), item_id.to_owned());
        self.write_synced(
            &self.sub("ledger"),
            &self.ledger_path(case_id),
            &serde_json::to_vec(&ledger).unwrap_or_default(),
        )
    }

    /// Writes `bytes` to `path` in `dir` atomically, and syncs the
    /// directory: what was acknowledged survives a power cut.
    fn write_synced(&self, dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        write_atomically(path, bytes)?;
        if let Ok(handle) = std::fs::File::open(dir) {
            handle.sync_all()?;
        }
        Ok(())
    }

    /// Every item in `pending` (or `failed`), oldest first.
    ///
    /// # Errors
    /// An unreadable directory or item.
    pub fn items(&self, failed: bool) -> std::io::Result<Vec<Item>> {
        let dir = self.sub(if failed { "failed" } else { "pending" });
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        let mut items = Vec::with_capacity(names.len());
        for path in names {
            let parsed = read_regular_file(&path, MAX_ITEM_BYTES)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Item>(&bytes).ok());
            match parsed {
                Some(item) => items.push(item),
                None => self.quarantine(&path)?,
            }
        }
        Ok(items)
    }

    /// Moves an item file that cannot be read aside (`quarantine/`), so
    /// that one damaged file never stops the others.
    fn quarantine(&self, path: &Path) -> std::io::Result<()> {
        let dir = self.sub("quarantine");
        std::fs::create_dir_all(&dir)?;
        let name = path.file_name().unwrap_or_default();
        tracing::error!(target: "kinga::primero", file = %name.to_string_lossy(), "an outbox item cannot be read: moved to outbox/quarantine");
        std::fs::rename(path, dir.join(name))
    }

    /// How many items are in `pending` (or `failed`), without reading them.
    ///
    /// # Errors
    /// An unreadable directory.
    pub fn count(&self, failed: bool) -> std::io::Result<usize> {
        match std::fs::read_dir(self.sub(if failed { "failed" } else { "pending" })) {
            Ok(entries) => Ok(entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Writes `item` to `pending`.
    ///
    /// # Errors
    /// I/O errors.
    pub fn save(&self, item: &Item) -> std::io::Result<()> {
        self.write(item, "pending")
    }

    fn write(&self, item: &Item, state: &str) -> std::io::Result<()> {
        let dir = self.sub(state);
        self.write_synced(
            &dir,
            &dir.join(format!("{}.json", safe(&item.id)?)),
            &serde_json::to_vec_pretty(item).unwrap_or_default(),
        )
    }

    /// Removes a delivered item.
    ///
    /// # Errors
    /// I/O errors.
    pub fn remove(&self, id: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.sub("pending").join(format!("{}.json", safe(id)?))) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// Moves an item that cannot be delivered to `failed`.
    ///
    /// # Errors
    /// I/O errors.
    pub fn fail(&self, item: &Item) -> std::io::Result<()> {
        self.write(item, "failed")?;
        self.remove(&item.id)
    }

    /// Puts a failed item back in `pending`, to be tried at once.
    ///
    /// # Errors
    /// No failed item with this id, or I/O errors.
    pub fn replay(&self, id: &str) -> std::io::Result<Item> {
        let path = self.sub("failed").join(format!("{}.json", safe(id)?));
        let bytes = read_regular_file(&path, MAX_ITEM_BYTES)?;
        let mut item: Item = serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
        item.attempts = 0;
        item.not_before_ms = 0;
        self.save(&item)?;
        std::fs::remove_file(&path)?;
        Ok(item)
    }

    /// Queues what of `requests` (for `case_id`, in order) is neither
    /// delivered nor waiting already.
    ///
    /// # Errors
    /// I/O errors.
    pub fn enqueue(&self, case_id: &str, requests: &[Request]) -> std::io::Result<Queued> {
        let _queuing = self.queuing.lock().unwrap_or_else(|e| e.into_inner());
        let mut known = self.ledger(case_id)?.fingerprints;
        // Work waiting, and work that failed for good (until an
        // administrator replays it: queuing it again would only fail again,
        // and telling Primero so would bring the webhook back).
        for item in self.items(false)?.into_iter().chain(self.items(true)?) {
            if item.case_id == case_id {
                known.extend(item.work.iter().map(|w| w.fingerprint.clone()));
            }
        }
        let mut work = Vec::new();
        let mut already = 0;
        for request in requests {
            for piece in split(request) {
                if known.contains(&piece.fingerprint) {
                    already += 1;
                } else {
                    known.push(piece.fingerprint.clone());
                    work.push(piece);
                }
            }
        }
        let queued = work.len();
        if queued > 0 {
            let now = now_ms();
            let mut random = [0u8; 4];
            getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
            let item = Item {
                id: format!(
                    "{now:013}-{}-{}",
                    &sha256_hex(case_id.as_bytes())[..8],
                    sha256_hex(&random)[..8].to_owned()
                ),
                case_id: case_id.to_owned(),
                queued_at: crate::case::asof::AsOf::now(time::UtcOffset::UTC).to_rfc3339(),
                work,
                done: 0,
                attempts: 0,
                not_before_ms: 0,
                in_flight: None,
                last_error: None,
            };
            self.save(&item)?;
        }
        Ok(Queued { queued, already })
    }
}

/// An item id as a file name, refusing anything that could leave the
/// directory.
fn safe(id: &str) -> std::io::Result<&str> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(id)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "an outbox item id is letters, digits and dashes",
        ))
    }
}

/// The work of one request: a PATCH of service rows is one work per row
/// (so a row delivered once is never sent again), a transition one work.
fn split(request: &Request) -> Vec<Work> {
    let rows = request
        .body
        .pointer("/data/services_section")
        .and_then(Value::as_array);
    if request.method == "PATCH"
        && let Some(rows) = rows
    {
        let extra: serde_json::Map<String, Value> = request
            .body
            .get("data")
            .and_then(Value::as_object)
            .map(|data| {
                data.iter()
                    .filter(|(k, _)| *k != "services_section")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        return rows
            .iter()
            .map(|row| {
                let substance = json!([
                    request.path,
                    row.get("unique_id"),
                    row.get("service_type"),
                    row.get("service_response_type"),
                    row.get("service_response_timeframe"),
                    row.get("service_implementing_agency"),
                ]);
                let mut data = extra.clone();
                data.insert("services_section".into(), json!([row]));
                let fingerprint = sha256_hex(substance.to_string().as_bytes());
                Work {
                    method: request.method.into(),
                    path: request.path.clone(),
                    body: json!({ "data": data }),
                    key: row
                        .get("unique_id")
                        .and_then(Value::as_str)
                        .map_or_else(|| fingerprint.clone(), str::to_owned),
                    fingerprint,
                    transition: false,
                }
            })
            .collect();
    }
    let transition = request.method == "POST" && request.path.ends_with("/referrals");
    let substance = if transition {
        json!([
            request.path,
            request.body.pointer("/data/service_record_id"),
            request.body.pointer("/data/transitioned_to"),
        ])
    } else {
        json!([request.method, request.path, request.body])
    };
    let fingerprint = sha256_hex(substance.to_string().as_bytes());
    vec![Work {
        method: request.method.into(),
        path: request.path.clone(),
        body: request.body.clone(),
        key: fingerprint.clone(),
        fingerprint,
        transition,
    }]
}

/// The ids of `items`, for messages.
pub fn describe(items: &[Item]) -> Vec<Value> {
    items
        .iter()
        .map(|item| {
            json!({
                "id": item.id,
                "case_id": item.case_id,
                "queued_at": item.queued_at,
                "requests": item.work.len(),
                "delivered": item.done,
                "attempts": item.attempts,
                "last_error": item.last_error,
            })
        })
        .collect()
}

/// Whether `dir` holds an outbox (for the CLI's messages).
pub fn exists(dir: &Path) -> bool {
    dir.join("pending").is_dir() || dir.join("failed").is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(rows: Value) -> Request {
        Request {
            method: "PATCH",
            path: "/api/v2/cases/c1".into(),
            query: Default::default(),
            body: json!({"data": {"services_section": rows}}),
        }
    }

    #[test]
    fn the_same_work_is_queued_once_and_never_after_it_was_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path());
        let row =
            json!({"unique_id": "u1", "service_type": "s", "service_response_day_time": "t1"});
        let first = outbox
            .enqueue("primero:c1", &[patch(json!([row]))])
            .unwrap();
        assert_eq!(
            first,
            Queued {
                queued: 1,
                already: 0
            }
        );
        // The same row written at another time is the same work.
        let mut later = row.clone();
        later["service_response_day_time"] = json!("t2");
        let again = outbox
            .enqueue("primero:c1", &[patch(json!([later]))])
            .unwrap();
        assert_eq!(
            again,
            Queued {
                queued: 0,
                already: 1
            }
        );
        let item = outbox.items(false).unwrap().remove(0);
        outbox
            .record_delivered("primero:c1", &item.id, &item.work[0])
            .unwrap();
        outbox.remove(&item.id).unwrap();
        let after = outbox
            .enqueue("primero:c1", &[patch(json!([row]))])
            .unwrap();
        assert_eq!(after.queued, 0);
        // Another service type is new work.
        let changed = json!({"unique_id": "u1", "service_type": "other"});
        assert_eq!(
            outbox
                .enqueue("primero:c1", &[patch(json!([changed]))])
                .unwrap()
                .queued,
            1
        );
    }

    #[test]
    fn failed_items_are_replayed_and_ids_cannot_leave_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path());
        outbox
            .enqueue("primero:c1", &[patch(json!([{"unique_id": "u1"}]))])
            .unwrap();
        let mut item = outbox.items(false).unwrap().remove(0);
        item.attempts = 9;
        outbox.fail(&item).unwrap();
        assert!(outbox.items(false).unwrap().is_empty());
        assert_eq!(outbox.items(true).unwrap().len(), 1);
        let replayed = outbox.replay(&item.id).unwrap();
        assert_eq!(replayed.attempts, 0);
        assert_eq!(outbox.items(false).unwrap().len(), 1);
        assert!(outbox.replay("../state").is_err());
    }
}
