//! The on-disk cache of compiled plugins.
//!
//! Compiling a plugin with Cranelift takes about a hundred milliseconds;
//! loading a precompiled artifact takes a fraction of that. Artifacts are
//! keyed by the SHA-256 of the component and the engine's compatibility
//! fingerprint, so a changed plugin or a different wasmtime never reuses a
//! stale artifact.
//!
//! # Integrity
//! Deserialising an artifact means running its machine code, so the host
//! only deserialises bytes it wrote itself: every artifact is stored with an
//! HMAC-SHA-256 under a per-cache secret key (`key`, created with mode 0600
//! on first use) and is checked before use. A tampered, truncated or foreign
//! artifact fails the check, is deleted, and the plugin is compiled again.
//! The cache directory must be private to the host's user; anyone who can
//! read the key can forge artifacts.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use wasmtime::Engine;

type HmacSha256 = Hmac<Sha256>;

/// Magic bytes at the start of every artifact file.
const MAGIC: &[u8; 8] = b"KINGA-A1";
/// Length of the MAC that follows the magic.
const MAC_LEN: usize = 32;

/// A directory of integrity-checked compiled plugins.
#[derive(Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
    key: [u8; 32],
}

impl std::fmt::Debug for ArtifactCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactCache")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// What a lookup found.
pub enum Lookup {
    /// A verified artifact.
    Hit(Vec<u8>),
    /// Nothing usable (absent, or failed the check and was removed).
    Miss,
}

impl ArtifactCache {
    /// Opens (creating if needed) the cache in `dir`.
    ///
    /// # Errors
    /// When the directory or its key cannot be created or read.
    pub fn open(dir: &Path) -> std::io::Result<ArtifactCache> {
        fs::create_dir_all(dir)?;
        restrict_permissions(dir, 0o700);
        let key_path = dir.join("key");
        let key = match fs::read(&key_path) {
            Ok(bytes) if bytes.len() == 32 => {
                let mut key = [0u8; 32];
                key.copy_from_slice(&bytes);
                key
            }
            _ => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
                write_atomically(&key_path, &key)?;
                key
            }
        };
        Ok(ArtifactCache {
            dir: dir.to_path_buf(),
            key,
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file an artifact for `component_sha256` lives in.
    fn path(&self, engine: &Engine, component_sha256: &str) -> PathBuf {
        self.dir.join(format!(
            "{component_sha256}-{:016x}.cwasm",
            engine_fingerprint(engine)
        ))
    }

    /// Looks up the artifact of a component, checking its integrity.
    pub fn get(&self, engine: &Engine, component_sha256: &str) -> Lookup {
        let path = self.path(engine, component_sha256);
        let Ok(bytes) = fs::read(&path) else {
            return Lookup::Miss;
        };
        match self.verify(&bytes) {
            Some(artifact) => Lookup::Hit(artifact.to_vec()),
            None => {
                tracing::warn!(
                    target: "kinga::cache",
                    component = component_sha256,
                    "a cached artifact failed its integrity check and was removed"
                );
                let _ = fs::remove_file(&path);
                Lookup::Miss
            }
        }
    }

    /// Stores the artifact of a component (atomically: a reader sees the old
    /// file, the new one, or none, never a part).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn put(
        &self,
        engine: &Engine,
        component_sha256: &str,
        artifact: &[u8],
    ) -> std::io::Result<()> {
        let mut contents = Vec::with_capacity(MAGIC.len() + MAC_LEN + artifact.len());
        contents.extend_from_slice(MAGIC);
        contents.extend_from_slice(&self.mac(artifact));
        contents.extend_from_slice(artifact);
        write_atomically(&self.path(engine, component_sha256), &contents)
    }

    fn mac(&self, artifact: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes keys of any length");
        mac.update(artifact);
        mac.finalize().into_bytes().into()
    }

    fn verify<'a>(&self, file: &'a [u8]) -> Option<&'a [u8]> {
        let rest = file.strip_prefix(MAGIC.as_slice())?;
        if rest.len() < MAC_LEN {
            return None;
        }
        let (tag, artifact) = rest.split_at(MAC_LEN);
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.key).ok()?;
        mac.update(artifact);
        mac.verify_slice(tag).ok()?;
        Some(artifact)
    }
}

/// The SHA-256 of `bytes`, in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fingerprint of everything about the engine that makes an artifact
/// compatible (wasmtime version, target, compiler settings).
fn engine_fingerprint(engine: &Engine) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

/// Writes `contents` to a temporary file beside `path`, syncs it, and renames
/// it over `path`.
pub fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile_in(dir)?;
    tmp.1.write_all(contents)?;
    tmp.1.sync_all()?;
    restrict_permissions(&tmp.0, 0o600);
    fs::rename(&tmp.0, path)
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| std::io::Error::other(e.to_string()))?;
    let name: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!(".tmp-{name}"));
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

#[cfg(unix)]
fn restrict_permissions(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path, _mode: u32) {}
