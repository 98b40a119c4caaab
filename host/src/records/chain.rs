//! An append-only JSON Lines log whose records are hash-chained, so that
//! editing, reordering or removing a record is detectable.
//!
//! Each line is one JSON object with three fields the log adds: `seq` (1, 2,
//! 3...), `prev` (the previous record's hash, 64 zeros for the first) and
//! `hash` (SHA-256 of the canonical JSON of the record without `hash`). A
//! sibling file `<log>.head` holds the last `seq` and `hash` written,
//! replaced atomically, so that removing records from the end is detectable
//! too. The head is written at least every [`HEAD_EVERY`] records and when
//! the log is closed; anyone who needs stronger guarantees copies the head
//! somewhere the host cannot write.
//!
//! Appends take an exclusive lock on the log file, so several processes can
//! share one log.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::case::canonical_json;
use crate::storage::{sha256_hex, write_atomically};

/// The head is rewritten at least this often.
pub const HEAD_EVERY: u64 = 256;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An open chained log.
#[derive(Debug)]
pub struct ChainLog {
    path: PathBuf,
    file: File,
    seq: u64,
    last: String,
    unheaded: u64,
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

/// The result of a successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// How many records the log holds.
    pub records: u64,
    /// The hash of the last one.
    pub last_hash: String,
}

fn head_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".head");
    PathBuf::from(name)
}

/// The hash of a record: SHA-256 of its canonical JSON without `hash`.
fn record_hash(record: &Map<String, Value>) -> String {
    let mut copy = record.clone();
    copy.remove("hash");
    sha256_hex(canonical_json(&Value::Object(copy)).as_bytes())
}

impl ChainLog {
    /// Opens (creating if needed) the log at `path`, after checking the
    /// chain it already holds.
    ///
    /// # Errors
    /// I/O errors, or a log whose chain is broken (it is never appended to).
    pub fn open(path: &Path) -> std::io::Result<ChainLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let verified =
            verify(path).map_err(|b| std::io::Error::other(format!("{}: {b}", path.display())))?;
        let end = file.metadata()?.len();
        Ok(ChainLog {
            path: path.to_path_buf(),
            file,
            seq: verified.records,
            last: verified.last_hash,
            unheaded: 0,
            end,
        })
    }

    /// Appends `record` (a JSON object) and returns it as written, with
    /// `seq`, `prev` and `hash`.
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
        let hash = record_hash(map);
        map.insert("hash".into(), Value::from(hash.clone()));
        let mut line = canonical_json(&Value::Object(map.clone()));
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.flush()?;
        self.end += line.len() as u64;
        self.seq += 1;
        self.last = hash;
        self.unheaded += 1;
        if self.unheaded >= HEAD_EVERY {
            self.write_head()?;
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

    /// Writes the head file now.
    ///
    /// # Errors
    /// I/O errors.
    pub fn write_head(&mut self) -> std::io::Result<()> {
        let head = serde_json::json!({"seq": self.seq, "hash": self.last});
        self.file.sync_data()?;
        write_atomically(&head_path(&self.path), head.to_string().as_bytes())?;
        self.unheaded = 0;
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
        if self.unheaded > 0 {
            let _ = self.write_head();
        }
    }
}

/// Reads every record of the log at `path`, in order.
///
/// # Errors
/// I/O errors and lines that are not JSON objects.
pub fn read(path: &Path) -> Result<Vec<Map<String, Value>>, Broken> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Broken {
                line: 0,
                message: e.to_string(),
            });
        }
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

/// Checks the whole chain and the head.
///
/// # Errors
/// The first place where a record was edited, removed, reordered or
/// inserted, or where the log ends before its head says it should.
pub fn verify(path: &Path) -> Result<Verified, Broken> {
    let records = read(path)?;
    let mut last = GENESIS.to_owned();
    for (i, record) in records.iter().enumerate() {
        let line = i as u64 + 1;
        if record.get("seq").and_then(Value::as_u64) != Some(line) {
            return Err(Broken {
                line,
                message: "records are missing or out of order (seq)".into(),
            });
        }
        if record.get("prev").and_then(Value::as_str) != Some(last.as_str()) {
            return Err(Broken {
                line,
                message: "does not follow the record before it (prev)".into(),
            });
        }
        let hash = record
            .get("hash")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if hash != record_hash(record) {
            return Err(Broken {
                line,
                message: "was changed after it was written (hash)".into(),
            });
        }
        last = hash.to_owned();
    }
    let count = records.len() as u64;
    if let Ok(text) = std::fs::read_to_string(head_path(path)) {
        let head: Value = serde_json::from_str(&text).map_err(|_| Broken {
            line: 0,
            message: "the head file is not JSON".into(),
        })?;
        let seq = head["seq"].as_u64().unwrap_or(u64::MAX);
        if seq > count {
            return Err(Broken {
                line: 0,
                message: format!(
                    "the log ends at record {count}, but its head says {seq} were written"
                ),
            });
        }
        if seq > 0 && records[(seq - 1) as usize].get("hash") != Some(&head["hash"]) {
            return Err(Broken {
                line: seq,
                message: "does not match the head file".into(),
            });
        }
    }
    Ok(Verified {
        records: count,
        last_hash: last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn log_with(n: u64) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let mut log = ChainLog::open(&path).unwrap();
        for i in 0..n {
            log.append(json!({"event": "test", "i": i})).unwrap();
        }
        (dir, path)
    }

    #[test]
    fn an_intact_log_verifies_and_reopens() {
        let (_dir, path) = log_with(5);
        assert_eq!(verify(&path).unwrap().records, 5);
        let mut log = ChainLog::open(&path).unwrap();
        assert_eq!(log.append(json!({"event": "more"})).unwrap()["seq"], 6);
    }

    #[test]
    fn two_writers_interleave_into_one_chain() {
        let (_dir, path) = log_with(2);
        let mut a = ChainLog::open(&path).unwrap();
        let mut b = ChainLog::open(&path).unwrap();
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
        assert_eq!(verify(&path).unwrap().records, 12);
    }

    #[test]
    fn an_edited_record_is_detected() {
        let (_dir, path) = log_with(5);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replacen("\"i\":2", "\"i\":7", 1);
        std::fs::write(&path, text).unwrap();
        assert_eq!(verify(&path).unwrap_err().line, 3);
        assert!(
            ChainLog::open(&path).is_err(),
            "a broken log is never appended to"
        );
    }

    #[test]
    fn a_removed_record_is_detected_in_the_middle_and_at_the_end() {
        let (_dir, path) = log_with(5);
        let lines: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        std::fs::write(&path, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
        assert_eq!(verify(&path).unwrap_err().line, 2);
        std::fs::write(&path, lines[..4].join("\n") + "\n").unwrap();
        assert!(verify(&path).unwrap_err().message.contains("head says 5"));
    }
}
