//! An append-only JSON Lines log whose records are chained and sealed under
//! the deployment's [`LogKey`], so that editing, reordering, removing or
//! forging a record is detectable.
//!
//! Each line is one JSON object with three fields the log adds: `seq` (1, 2,
//! 3...), `prev` (the previous record's hash, 64 zeros for the first) and
//! `hash` (an HMAC-SHA256 under the log key of the canonical JSON of the
//! record without `hash`). Without the key, a record cannot be rewritten
//! with the chain recomputed.
//!
//! A sibling file `<log>.head` holds the last `seq` and `hash`, the key's
//! id and a seal over them (an HMAC under the key). It is rewritten in
//! place, under the log's lock, with **every** append, so removing records
//! from the end is detectable at once. A log with records and no head, a
//! head not sealed by the key, or a head past the log's end, is broken.
//! Records after the head (a crash between the two writes) are accepted:
//! each is sealed itself. What no local check can show is an older copy of
//! both log and head put back whole: anyone who needs that copies the last
//! hash `kinga audit verify` prints somewhere the host cannot write.
//!
//! Appends take an exclusive lock on the log file and verification a shared
//! one, so several processes can share one log. Writes reach the disk at
//! least every [`SYNC_EVERY`] records and when the log is closed.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::case::canonical_json;
use crate::records::LogKey;
use crate::storage::sha256_hex;

/// Appended records are synced to the disk at least this often.
pub const SYNC_EVERY: u64 = 256;

/// The head file's fixed length: it is overwritten in place, whole.
const HEAD_WIDTH: usize = 256;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An open chained log.
#[derive(Debug)]
pub struct ChainLog {
    path: PathBuf,
    file: File,
    head: File,
    key: LogKey,
    seq: u64,
    last: String,
    unsynced: u64,
    /// The file's length after the last record we know of: appends by
    /// other processes are read from here, never the whole file again.
    end: u64,
}

/// What `verify` found wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The 1-based line where the chain breaks (0: the head file).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl Broken {
    fn head(message: impl Into<String>) -> Broken {
        Broken {
            line: 0,
            message: message.into(),
        }
    }
}

/// The result of a successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// How many records the log holds.
    pub records: u64,
    /// The hash of the last one.
    pub last_hash: String,
    /// The id of the key the log is sealed under.
    pub key_id: String,
}

fn head_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".head");
    PathBuf::from(name)
}

/// The hash of a record: the HMAC of its canonical JSON without `hash`.
fn record_hash(key: &LogKey, record: &Map<String, Value>) -> String {
    key.seal("kinga-record", &[canonical_body(record).as_bytes()])
}

fn canonical_body(record: &Map<String, Value>) -> String {
    let mut copy = record.clone();
    copy.remove("hash");
    canonical_json(&Value::Object(copy))
}

/// The seal of a head.
fn head_seal(key: &LogKey, seq: u64, hash: &str) -> String {
    key.seal(
        "kinga-head",
        &[seq.to_string().as_bytes(), b"\0", hash.as_bytes()],
    )
}

fn io_broken(e: &std::io::Error) -> Broken {
    Broken::head(e.to_string())
}

impl ChainLog {
    /// Opens (creating if needed) the log at `path`, after checking the
    /// chain it already holds under `key`.
    ///
    /// # Errors
    /// I/O errors, or a log whose chain is broken (it is never appended to).
    pub fn open(path: &Path, key: &LogKey) -> std::io::Result<ChainLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        file.lock()?;
        let opened = Self::open_locked(path, key, file);
        if let Ok(log) = &opened {
            let _ = log.file.unlock();
        }
        opened
    }

    fn open_locked(path: &Path, key: &LogKey, file: File) -> std::io::Result<ChainLog> {
        let verified = verify_unlocked(path, key)
            .map_err(|b| std::io::Error::other(format!("{}: {b}", path.display())))?;
        let head = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(head_path(path))?;
        crate::storage::restrict_permissions(&head_path(path), 0o600);
        let end = file.metadata()?.len();
        let mut log = ChainLog {
            path: path.to_path_buf(),
            file,
            head,
            key: key.clone(),
            seq: verified.records,
            last: verified.last_hash,
            unsynced: 0,
            end,
        };
        log.write_head()?;
        Ok(log)
    }

    /// Appends `record` (a JSON object) and returns it as written, with
    /// `seq`, `prev` and `hash`; the head moves with it.
    ///
    /// # Errors
    /// I/O errors; `record` not an object.
    pub fn append(&mut self, record: Value) -> std::io::Result<Value> {
        let Value::Object(mut map) = record else {
            return Err(std::io::Error::other("a record must be a JSON object"));
        };
        self.file.lock()?;
        let written = self.append_locked(&mut map);
        let _ = self.file.unlock();
        written?;
        Ok(Value::Object(map))
    }

    fn append_locked(&mut self, map: &mut Map<String, Value>) -> std::io::Result<()> {
        // Another process may have appended since we last looked.
        self.catch_up()?;
        map.insert("seq".into(), Value::from(self.seq + 1));
        map.insert("prev".into(), Value::from(self.last.clone()));
        let hash = record_hash(&self.key, map);
        map.insert("hash".into(), Value::from(hash.clone()));
        let mut line = canonical_json(&Value::Object(map.clone()));
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.flush()?;
        self.end += line.len() as u64;
        self.seq += 1;
        self.last = hash;
        self.write_head()?;
        self.unsynced += 1;
        if self.unsynced >= SYNC_EVERY {
            self.sync()?;
        }
        Ok(())
    }

    /// Reads the records other processes appended since our last look, and
    /// returns them (none, usually: the file's length tells).
    ///
    /// # Errors
    /// I/O errors; a log shorter than before (records were removed).
    pub fn refresh(&mut self) -> std::io::Result<Vec<Map<String, Value>>> {
        self.file.lock()?;
        let read = self.catch_up();
        let _ = self.file.unlock();
        read
    }

    fn catch_up(&mut self) -> std::io::Result<Vec<Map<String, Value>>> {
        let mut appended = Vec::new();
        let len = self.file.metadata()?.len();
        if len < self.end {
            return Err(std::io::Error::other(
                "the log is shorter than when it was opened: records were removed",
            ));
        }
        if len > self.end {
            let mut reader = BufReader::new(File::open(&self.path)?);
            reader.seek(SeekFrom::Start(self.end))?;
            let mut line = String::new();
            while reader.read_line(&mut line)? > 0 {
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&line) {
                    self.seq = map.get("seq").and_then(Value::as_u64).unwrap_or(self.seq);
                    if let Some(hash) = map.get("hash").and_then(Value::as_str) {
                        self.last = hash.to_owned();
                    }
                    appended.push(map);
                }
                line.clear();
            }
            self.end = len;
        }
        self.file.seek(SeekFrom::End(0))?;
        Ok(appended)
    }

    /// Overwrites the head file, whole, with the last record's seal.
    fn write_head(&mut self) -> std::io::Result<()> {
        let head = serde_json::json!({
            "seq": self.seq,
            "hash": self.last,
            "key": self.key.id(),
            "seal": head_seal(&self.key, self.seq, &self.last),
        })
        .to_string();
        let mut bytes = head.into_bytes();
        bytes.resize(HEAD_WIDTH - 1, b' ');
        bytes.push(b'\n');
        self.head.seek(SeekFrom::Start(0))?;
        self.head.write_all(&bytes)?;
        if self.head.metadata()?.len() != HEAD_WIDTH as u64 {
            self.head.set_len(HEAD_WIDTH as u64)?;
        }
        Ok(())
    }

    /// Syncs the log and its head to the disk now.
    ///
    /// # Errors
    /// I/O errors.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()?;
        self.head.sync_data()?;
        self.unsynced = 0;
        Ok(())
    }

    /// How many records the log holds.
    pub fn len(&self) -> u64 {
        self.seq
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.seq == 0
    }
}

impl Drop for ChainLog {
    fn drop(&mut self) {
        if self.unsynced > 0 {
            let _ = self.sync();
        }
    }
}

/// Reads every record of the log at `path`, in order, without checking
/// the chain.
///
/// # Errors
/// I/O errors and lines that are not JSON objects.
pub fn read(path: &Path) -> Result<Vec<Map<String, Value>>, Broken> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_broken(&e)),
    };
    let mut records = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|e| Broken {
            line: line_no,
            message: e.to_string(),
        })?;
        match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(map)) => records.push(map),
            _ => {
                return Err(Broken {
                    line: line_no,
                    message: "not a JSON record".into(),
                });
            }
        }
    }
    Ok(records)
}

/// Checks the whole chain and the head under `key`, holding a shared lock
/// on the log so that no append is seen half-made.
///
/// # Errors
/// The first place where a record was edited, removed, reordered, inserted
/// or forged, or where the head is missing, unsealed or past the log's end.
pub fn verify(path: &Path, key: &LogKey) -> Result<Verified, Broken> {
    let file = match File::open(path) {
        Ok(file) => Some(file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_broken(&e)),
    };
    if let Some(file) = &file {
        file.lock_shared().map_err(|e| io_broken(&e))?;
    }
    let verified = verify_unlocked(path, key);
    if let Some(file) = &file {
        let _ = file.unlock();
    }
    verified
}

fn verify_unlocked(path: &Path, key: &LogKey) -> Result<Verified, Broken> {
    let head = read_head(path, key)?;
    let records = read(path)?;
    let mut last = GENESIS.to_owned();
    for (i, record) in records.iter().enumerate() {
        let line = i as u64 + 1;
        let broken = |message: &str| Broken {
            line,
            message: message.into(),
        };
        if record.get("seq").and_then(Value::as_u64) != Some(line) {
            return Err(broken("records are missing or out of order (seq)"));
        }
        if record.get("prev").and_then(Value::as_str) != Some(last.as_str()) {
            return Err(broken("does not follow the record before it (prev)"));
        }
        let hash = record
            .get("hash")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if hash != record_hash(key, record) {
            return Err(broken(
                if hash == sha256_hex(canonical_body(record).as_bytes()) {
                    "is sealed by no log key: it was forged, or written before logs were keyed (hash)"
                } else {
                    "was changed after it was written (hash)"
                },
            ));
        }
        last = hash.to_owned();
    }
    let count = records.len() as u64;
    match head {
        None if count > 0 => {
            return Err(Broken::head(format!(
                "the log holds {count} records but its head file is missing: records may have been removed from its end"
            )));
        }
        None => {}
        Some((seq, _)) if seq > count => {
            return Err(Broken::head(format!(
                "the log ends at record {count}, but its head says {seq} were written"
            )));
        }
        Some((seq, hash)) => {
            let at = seq.checked_sub(1).and_then(|i| records.get(i as usize));
            let recorded = at.map_or(GENESIS, |r| {
                r.get("hash").and_then(Value::as_str).unwrap_or_default()
            });
            if recorded != hash {
                return Err(Broken {
                    line: seq,
                    message: "does not match the head file".into(),
                });
            }
        }
    }
    Ok(Verified {
        records: count,
        last_hash: last,
        key_id: key.id().to_owned(),
    })
}

/// The head's `seq` and `hash`, once its seal is checked; `None` when there
/// is no head file (or an empty one, left by a create that never wrote).
fn read_head(path: &Path, key: &LogKey) -> Result<Option<(u64, String)>, Broken> {
    let file = match File::open(head_path(path)) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_broken(&e)),
    };
    if !file.metadata().map_err(|e| io_broken(&e))?.is_file() {
        return Err(Broken::head("the head is not a regular file"));
    }
    let mut text = String::new();
    file.take(4 * HEAD_WIDTH as u64)
        .read_to_string(&mut text)
        .map_err(|_| Broken::head("the head file is not text"))?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let head: Value =
        serde_json::from_str(text.trim()).map_err(|_| Broken::head("the head file is not JSON"))?;
    let (Some(seq), Some(hash)) = (head["seq"].as_u64(), head["hash"].as_str()) else {
        return Err(Broken::head("the head file has no seq and hash"));
    };
    match head["key"].as_str() {
        Some(id) if id == key.id() => {}
        Some(id) => {
            return Err(Broken::head(format!(
                "the log is sealed under log key {id}, not under the key given ({}): check --log-key",
                key.id()
            )));
        }
        None => {
            return Err(Broken::head(
                "the head is sealed by no log key: it was forged, or written before logs were keyed",
            ));
        }
    }
    if head["seal"].as_str() != Some(head_seal(key, seq, hash).as_str()) {
        return Err(Broken::head(
            "the head file was not written under the log key (seal)",
        ));
    }
    Ok(Some((seq, hash.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> LogKey {
        LogKey::from_secret([7; 32])
    }

    fn log_with(n: u64) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let mut log = ChainLog::open(&path, &key()).unwrap();
        for i in 0..n {
            log.append(json!({"event": "test", "i": i})).unwrap();
        }
        (dir, path)
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn an_intact_log_verifies_and_reopens() {
        let (_dir, path) = log_with(5);
        assert_eq!(verify(&path, &key()).unwrap().records, 5);
        let mut log = ChainLog::open(&path, &key()).unwrap();
        assert_eq!(log.append(json!({"event": "more"})).unwrap()["seq"], 6);
    }

    #[test]
    fn two_writers_interleave_into_one_chain() {
        let (_dir, path) = log_with(2);
        let mut a = ChainLog::open(&path, &key()).unwrap();
        let mut b = ChainLog::open(&path, &key()).unwrap();
        for i in 0..5 {
            assert_eq!(
                a.append(json!({"by": "a", "i": i})).unwrap()["seq"],
                3 + 2 * i
            );
            assert_eq!(
                b.append(json!({"by": "b", "i": i})).unwrap()["seq"],
                4 + 2 * i
            );
        }
        assert_eq!(verify(&path, &key()).unwrap().records, 12);
    }

    #[test]
    fn an_edited_record_is_detected() {
        let (_dir, path) = log_with(5);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replacen("\"i\":2", "\"i\":7", 1);
        std::fs::write(&path, text).unwrap();
        assert_eq!(verify(&path, &key()).unwrap_err().line, 3);
        assert!(
            ChainLog::open(&path, &key()).is_err(),
            "a broken log is never appended to"
        );
    }

    #[test]
    fn a_record_rewritten_with_the_chain_recomputed_without_the_key_is_detected() {
        let (_dir, path) = log_with(3);
        let mut prev = GENESIS.to_owned();
        let mut forged = String::new();
        for line in lines(&path) {
            let Ok(Value::Object(mut record)) = serde_json::from_str::<Value>(&line) else {
                panic!("a record");
            };
            record.insert("i".into(), json!(99));
            record.insert("prev".into(), json!(prev));
            let hash = sha256_hex(canonical_body(&record).as_bytes());
            record.insert("hash".into(), json!(hash));
            prev = hash;
            forged.push_str(&canonical_json(&Value::Object(record)));
            forged.push('\n');
        }
        std::fs::write(&path, forged).unwrap();
        let broken = verify(&path, &key()).unwrap_err();
        assert_eq!(broken.line, 1);
        assert!(broken.message.contains("sealed by no log key"), "{broken}");
        let other = LogKey::from_secret([8; 32]);
        assert!(
            verify(&path, &other)
                .unwrap_err()
                .message
                .contains("not under the key given")
        );
    }

    #[test]
    fn removed_records_are_detected_in_the_middle_at_the_end_and_with_the_head() {
        let (_dir, path) = log_with(5);
        let all = lines(&path);
        std::fs::write(&path, format!("{}\n{}\n", all[0], all[2])).unwrap();
        assert_eq!(verify(&path, &key()).unwrap_err().line, 2);
        std::fs::write(&path, all[..4].join("\n") + "\n").unwrap();
        assert!(
            verify(&path, &key())
                .unwrap_err()
                .message
                .contains("head says 5")
        );
        std::fs::remove_file(head_path(&path)).unwrap();
        assert!(
            verify(&path, &key())
                .unwrap_err()
                .message
                .contains("head file is missing")
        );
    }

    #[test]
    fn a_head_moved_back_by_hand_is_refused() {
        let (_dir, path) = log_with(3);
        let all = lines(&path);
        std::fs::write(&path, all[..2].join("\n") + "\n").unwrap();
        let record: Value = serde_json::from_str(&all[1]).unwrap();
        let head =
            json!({"seq": 2, "hash": record["hash"], "key": key().id(), "seal": "0".repeat(64)});
        std::fs::write(head_path(&path), head.to_string()).unwrap();
        assert!(
            verify(&path, &key())
                .unwrap_err()
                .message
                .contains("(seal)")
        );
    }

    #[test]
    fn the_head_moves_with_every_append() {
        let (_dir, path) = log_with(0);
        let mut log = ChainLog::open(&path, &key()).unwrap();
        for i in 1..=3u64 {
            log.append(json!({"i": i})).unwrap();
            let head = read_head(&path, &key()).unwrap().unwrap();
            assert_eq!(head.0, i);
            assert_eq!(
                std::fs::metadata(head_path(&path)).unwrap().len(),
                HEAD_WIDTH as u64
            );
        }
        // Cut the last record while the log is open: detected at once.
        let all = lines(&path);
        std::fs::write(&path, all[..2].join("\n") + "\n").unwrap();
        assert!(verify(&path, &key()).is_err());
    }
}
