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
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use wasmtime::Engine;

use crate::storage::{restrict_permissions, write_atomically};

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

/// A fingerprint of everything about the engine that makes an artifact
/// compatible (wasmtime version, target, compiler settings).
fn engine_fingerprint(engine: &Engine) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}
