//! The log key: a deployment secret that seals the hash-chained logs, so
//! that only a holder of the key can extend or rewrite them undetected.
//!
//! Every record's `hash` is an HMAC-SHA256 under the key, and so is the
//! seal of the log's head. Someone who can write a log but not read its key
//! can still destroy it, but not forge it: a record rewritten with the
//! chain recomputed, or a head moved back after records were cut from the
//! end, fails [`crate::records::verify_log`].
//!
//! # Where the key lives
//! A key file holds one line of 64 hex digits (32 random bytes), readable
//! by its owner only. By default it is `log.key` in the administration
//! directory, created on first use; `--log-key FILE` (`KINGA_LOG_KEY_FILE`)
//! puts it elsewhere, which is better: on a path the account that can
//! write the logs cannot read, or a secret mount. Its id (`lk-` and 16 hex
//! digits of a hash of the key) is written in each head, so that a log
//! checked with the wrong key says so. Losing the key means the logs can
//! no longer be verified: back it up with the logs, not beside them.

use std::fmt;
use std::io::Read;
use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The largest key file read (a key is 65 bytes).
const MAX_KEY_FILE: u64 = 1024;

/// A log key. Its `Debug` form shows the id, never the secret.
#[derive(Clone)]
pub struct LogKey {
    secret: [u8; 32],
    id: String,
}

impl fmt::Debug for LogKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogKey").field("id", &self.id).finish()
    }
}

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogKeyError {
    /// The file cannot be read or written.
    #[error("log key {path}: {cause}")]
    Io {
        /// The key file.
        path: String,
        /// The error.
        cause: std::io::Error,
    },
    /// The key file is missing, but a log sealed under it has records.
    #[error(
        "log key {path} is missing, but {log} holds records sealed under it: restore the key file (a new key would not verify them)"
    )]
    Missing {
        /// The key file.
        path: String,
        /// The log.
        log: String,
    },
    /// The file is not a log key.
    #[error("log key {path}: {message}")]
    Invalid {
        /// The key file.
        path: String,
        /// What is wrong.
        message: &'static str,
    },
}

impl LogKey {
    /// A new random key.
    ///
    /// # Panics
    /// When the operating system has no randomness to give (nothing can be
    /// kept secret then).
    pub fn generate() -> LogKey {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the operating system's random source");
        LogKey::from_secret(secret)
    }

    /// The key with these 32 bytes.
    pub fn from_secret(secret: [u8; 32]) -> LogKey {
        let digest = Sha256::new()
            .chain_update(b"kinga-log-key-id\0")
            .chain_update(secret)
            .finalize();
        let id = format!("lk-{}", hex(&digest[..8]));
        LogKey { secret, id }
    }

    /// The key's public id (`lk-` and 16 hex digits).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reads the key file at `path`.
    ///
    /// # Errors
    /// A missing or unreadable file, one that is not a regular file, or one
    /// that does not hold exactly 64 hex digits.
    pub fn load(path: &Path) -> Result<LogKey, LogKeyError> {
        let io = |cause| LogKeyError::Io {
            path: path.display().to_string(),
            cause,
        };
        let invalid = |message| LogKeyError::Invalid {
            path: path.display().to_string(),
            message,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        if !file.metadata().map_err(io)?.is_file() {
            return Err(invalid("not a regular file"));
        }
        let mut text = String::new();
        file.take(MAX_KEY_FILE)
            .read_to_string(&mut text)
            .map_err(|_| invalid("not a text file of 64 hex digits"))?;
        let digits = text.trim();
        if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("not a log key (one line of 64 hex digits)"));
        }
        let mut secret = [0u8; 32];
        for (i, byte) in secret.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16)
                .map_err(|_| invalid("not a log key (one line of 64 hex digits)"))?;
        }
        Ok(LogKey::from_secret(secret))
    }

    /// Reads the key file at `path`, creating it with a new key (mode 0600)
    /// when there is none. Two processes creating it at once agree on one
    /// key: the file appears whole, by a hard link, or not at all.
    ///
    /// # Errors
    /// See [`LogKey::load`]; a file that cannot be created.
    pub fn load_or_create(path: &Path) -> Result<LogKey, LogKeyError> {
        match LogKey::load(path) {
            Err(LogKeyError::Io { cause, .. }) if cause.kind() == std::io::ErrorKind::NotFound => {
                LogKey::create(path)
            }
            loaded => loaded,
        }
    }

    /// The key for the log at `log`: read from `key_path`, or created there
    /// while the log holds no record yet. A log with records is never given
    /// a new key.
    ///
    /// # Errors
    /// [`LogKeyError::Missing`] for a missing key of a log with records;
    /// see [`LogKey::load_or_create`].
    pub fn for_log(key_path: &Path, log: &Path) -> Result<LogKey, LogKeyError> {
        let has_records = std::fs::metadata(log).is_ok_and(|m| m.len() > 0);
        match LogKey::load(key_path) {
            Err(LogKeyError::Io { cause, .. })
                if cause.kind() == std::io::ErrorKind::NotFound && has_records =>
            {
                Err(LogKeyError::Missing {
                    path: key_path.display().to_string(),
                    log: log.display().to_string(),
                })
            }
            Err(LogKeyError::Io { cause, .. }) if cause.kind() == std::io::ErrorKind::NotFound => {
                LogKey::create(key_path)
            }
            loaded => loaded,
        }
    }

    fn create(path: &Path) -> Result<LogKey, LogKeyError> {
        let io = |cause| LogKeyError::Io {
            path: path.display().to_string(),
            cause,
        };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let key = LogKey::generate();
        let tmp = crate::storage::write_new_file(
            dir.unwrap_or(Path::new(".")),
            format!("{}\n", hex(&key.secret)).as_bytes(),
        )
        .map_err(io)?;
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => LogKey::load(path),
            Err(e) => Err(io(e)),
        }
    }

    /// The HMAC-SHA256 of `parts` under the key, for the use `domain`, in
    /// hex.
    pub(crate) fn seal(&self, domain: &str, parts: &[&[u8]]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .expect("HMAC takes a key of any length");
        mac.update(domain.as_bytes());
        mac.update(b"\0");
        for part in parts {
            mac.update(part);
        }
        hex(&mac.finalize().into_bytes())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_is_read_back_the_same_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/log.key");
        let created = LogKey::load_or_create(&path).unwrap();
        let again = LogKey::load_or_create(&path).unwrap();
        assert_eq!(created.id(), again.id());
        assert_eq!(created.seal("t", &[b"x"]), again.seal("t", &[b"x"]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "only its owner reads the key");
        }
        assert!(!format!("{created:?}").contains(&hex(&created.secret)));
    }

    #[test]
    fn a_file_that_is_not_a_key_is_refused_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.key");
        std::fs::write(&path, "not a key\n").unwrap();
        let refused = LogKey::load_or_create(&path).unwrap_err();
        assert!(refused.to_string().contains("64 hex digits"), "{refused}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key\n");
        assert!(LogKey::load(dir.path()).is_err(), "a directory is no key");
    }

    #[test]
    fn a_log_with_records_is_never_given_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log.jsonl");
        let key = dir.path().join("log.key");
        LogKey::for_log(&key, &log).unwrap();
        std::fs::write(&log, "{}\n").unwrap();
        std::fs::remove_file(&key).unwrap();
        let missing = LogKey::for_log(&key, &log).unwrap_err();
        assert!(matches!(missing, LogKeyError::Missing { .. }), "{missing}");
        assert!(!key.exists());
    }

    #[test]
    fn seals_differ_by_key_and_by_domain() {
        let a = LogKey::from_secret([1; 32]);
        let b = LogKey::from_secret([2; 32]);
        assert_ne!(a.seal("record", &[b"x"]), b.seal("record", &[b"x"]));
        assert_ne!(a.seal("record", &[b"x"]), a.seal("head", &[b"x"]));
        assert_ne!(a.id(), b.id());
    }
}
