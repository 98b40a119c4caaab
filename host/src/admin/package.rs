//! Plugin packages: a component and a signed manifest, and the checks a
//! package must pass before the host trusts it.
//!
//! A package is a directory holding `plugin.wasm`, `manifest.json`
//! (`schemas/plugin-manifest.schema.json`) and, optionally, the plugin's own
//! fixtures in `fixtures/` (the format of [`crate::fixture`]). The manifest
//! names the plugin (id, version, kind), the SHA-256 of the component and of
//! each fixture, and the publisher's key id; the signature is Ed25519 over
//! the canonical JSON of the manifest without its `signature` field, so it
//! covers the component and the fixtures through their hashes. A package is
//! trusted only when every check passes, in this order, and a refusal says
//! which one failed:
//!
//! 1. the manifest fits the schema;
//! 2. the component's SHA-256 is the one the manifest names (a tampered or
//!    swapped component fails here), each fixture's is the one the manifest
//!    names, and `fixtures/` holds no file the manifest does not name;
//! 3. the signature is present: a manifest that names a publisher but has
//!    no signature was **stripped**, and is refused even in development
//!    mode (the known bypass: "no signature" must never mean "no signature
//!    required"); only a manifest whose publisher is `null` is unsigned, and
//!    only development mode accepts it, loudly;
//! 4. the publisher's key is trusted;
//! 5. the signature verifies (a manifest edited after signing, or signed by
//!    another key, fails here);
//! 6. once loaded, the plugin's own `describe` matches the manifest's id,
//!    version and kind (checked by the caller, who loads it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::case::canonical_json;
use crate::case::json::{JsonLimits, parse_strict};
use crate::case::schema;
use crate::storage::{sha256_hex, write_atomically};

/// Largest file of a package read: the component cap with room to spare
/// (the manifest and signature are far smaller, and checked again).
const MAX_PACKAGE_FILE_BYTES: usize = 64 << 20;

/// A package manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always 1.
    pub manifest_version: u32,
    /// The plugin's id.
    pub id: String,
    /// Its version.
    pub version: String,
    /// `eligibility`, `referral` or `reporting`.
    pub kind: String,
    /// SHA-256 of `plugin.wasm`, hex.
    pub component_sha256: String,
    /// The plugin's own fixtures, `fixtures/NAME.json`, by name: the
    /// SHA-256 of each, hex. Installation runs every one in the sandbox.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fixtures: BTreeMap<String, String>,
    /// The publisher's key id, or `None` for an unsigned development package.
    pub publisher_key_id: Option<String>,
    /// Hex Ed25519 signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// Why a package is refused: which check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The package cannot be read.
    #[error("cannot read the package: {0}")]
    Unreadable(String),
    /// The manifest does not fit the schema.
    #[error("the manifest is invalid at {pointer}: {message}")]
    InvalidManifest {
        /// Where.
        pointer: String,
        /// What.
        message: String,
    },
    /// A fixture is not the one the manifest names, or `fixtures/` holds a
    /// file the manifest does not name.
    #[error("fixtures/{name}: {problem}")]
    FixtureMismatch {
        /// The fixture's file name.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The component is not the one the manifest names.
    #[error(
        "the component's SHA-256 is {actual}, but the manifest names {expected}: the component was changed or swapped"
    )]
    HashMismatch {
        /// In the manifest.
        expected: String,
        /// Of the file.
        actual: String,
    },
    /// The manifest names a publisher but carries no signature.
    #[error("the manifest names publisher {0} but has no signature: it was stripped")]
    SignatureStripped(String),
    /// An unsigned package outside development mode.
    #[error(
        "the package is unsigned; only development mode (--allow-unsigned) accepts unsigned packages"
    )]
    Unsigned,
    /// The publisher's key is not trusted.
    #[error("publisher key {0} is not trusted by this host")]
    UntrustedKey(String),
    /// The signature does not verify.
    #[error(
        "the signature does not verify with publisher key {0}: the manifest was changed after signing, or signed by another key"
    )]
    BadSignature(String),
}

/// The id of a public key: `ed25519:` and 16 hex digits of its SHA-256.
pub fn key_id(key: &VerifyingKey) -> String {
    format!("ed25519:{}", &sha256_hex(key.as_bytes())[..16])
}

/// What a signature covers: the canonical manifest without `signature`.
fn signed_bytes(manifest: &Manifest) -> Vec<u8> {
    let mut copy = manifest.clone();
    copy.signature = None;
    canonical_json(&serde_json::to_value(&copy).unwrap_or(Value::Null)).into_bytes()
}

/// A new signing key, from the operating system's randomness.
///
/// # Errors
/// When the system has no randomness to give.
pub fn generate_key() -> std::io::Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Writes `NAME.key` (secret, mode 0600) and `NAME.pub` in `dir`.
///
/// # Errors
/// I/O errors; an existing key is never overwritten.
pub fn write_key_pair(
    dir: &Path,
    name: &str,
    key: &SigningKey,
) -> std::io::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let secret = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    if secret.exists() || public.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists", secret.display()),
        ));
    }
    write_atomically(&secret, KeyKind::Secret.label(&key.to_bytes()).as_bytes())?;
    write_public_key(&public, &key.verifying_key())?;
    Ok((secret, public))
}

/// Writes `key` as a labelled public key file.
///
/// # Errors
/// I/O errors.
pub fn write_public_key(path: &Path, key: &VerifyingKey) -> std::io::Result<()> {
    write_atomically(path, KeyKind::Public.label(key.as_bytes()).as_bytes())
}

/// Which half of a key pair a key file holds. Each file says so on its
/// first word, so that a secret key offered where a public one belongs (to
/// `keys trust`, which would copy it onto a host) is refused, and the other
/// way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A publisher's secret signing key (`NAME.key`).
    Secret,
    /// A publisher's public key (`NAME.pub`).
    Public,
}

impl KeyKind {
    fn tag(self) -> &'static str {
        match self {
            KeyKind::Secret => "kinga-ed25519-secret-key",
            KeyKind::Public => "kinga-ed25519-public-key",
        }
    }

    /// In words.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Secret => "secret key",
            KeyKind::Public => "public key",
        }
    }

    fn label(self, bytes: &[u8]) -> String {
        format!("{} {}\n", self.tag(), hex::encode(bytes))
    }

    /// What a file of this kind is wrongly offered for.
    fn misplaced(self) -> &'static str {
        match self {
            KeyKind::Secret => {
                "a host trusts a publisher's public key (NAME.pub); the secret key stays with the publisher and is never copied to a host"
            }
            KeyKind::Public => "signing needs the publisher's secret key (NAME.key)",
        }
    }
}

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The file cannot be read.
    #[error("{path}: {cause}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        cause: std::io::Error,
    },
    /// The file does not hold a key: its label, then 64 hex digits.
    #[error("{path}: not a {what} (as `kinga keys generate` writes it)")]
    NotAKey {
        /// The file.
        path: String,
        /// "secret key" or "public key".
        what: &'static str,
    },
    /// The file holds the other half of a key pair.
    #[error("{path}: this is a {}, not a {}: {}", found.as_str(), wanted.as_str(), found.misplaced())]
    WrongKind {
        /// The file.
        path: String,
        /// What it holds.
        found: KeyKind,
        /// What was asked for.
        wanted: KeyKind,
    },
    /// The digits are not a point of the Ed25519 curve.
    #[error("{path}: not a valid Ed25519 public key")]
    InvalidPublicKey {
        /// The file.
        path: String,
    },
}

/// The 32 bytes a key file of `wanted` kind holds in hex, after its label.
/// A file without a label (written by an earlier Kinga) is taken to be what
/// its extension says, `.key` or `.pub`, and refused otherwise.
fn key_bytes(path: &Path, wanted: KeyKind) -> Result<[u8; 32], KeyError> {
    let bytes =
        crate::storage::read_regular_file(path, 4096).map_err(|cause| KeyError::Unreadable {
            path: path.display().to_string(),
            cause,
        })?;
    let not_a_key = || KeyError::NotAKey {
        path: path.display().to_string(),
        what: wanted.as_str(),
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| not_a_key())?.trim();
    let (found, digits) = match text.split_once(' ') {
        Some((tag, digits)) => {
            let kind = [KeyKind::Secret, KeyKind::Public]
                .into_iter()
                .find(|k| k.tag() == tag)
                .ok_or_else(not_a_key)?;
            (kind, digits.trim())
        }
        None => {
            let kind = match path.extension().and_then(|e| e.to_str()) {
                Some("key") => KeyKind::Secret,
                Some("pub") => KeyKind::Public,
                _ => return Err(not_a_key()),
            };
            (kind, text)
        }
    };
    if found != wanted {
        return Err(KeyError::WrongKind {
            path: path.display().to_string(),
            found,
            wanted,
        });
    }
    hex::decode(digits)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(not_a_key)
}

/// Reads a secret key file.
///
/// # Errors
/// A file that is not 64 hex digits.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    Ok(SigningKey::from_bytes(&key_bytes(path, KeyKind::Secret)?))
}

/// Reads a public key file.
///
/// # Errors
/// A file that is not a valid Ed25519 public key in hex.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_bytes(&key_bytes(path, KeyKind::Public)?).map_err(|_| {
        KeyError::InvalidPublicKey {
            path: path.display().to_string(),
        }
    })
}

/// The publisher keys a host trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: BTreeMap<String, VerifyingKey>,
}

impl TrustedKeys {
    /// Every `*.pub` file in `dir` (none when it does not exist).
    ///
    /// # Errors
    /// A key file that cannot be read.
    pub fn load(dir: &Path) -> Result<TrustedKeys, KeyError> {
        let mut keys = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(TrustedKeys::default());
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "pub") {
                let key = read_public_key(&path)?;
                keys.insert(key_id(&key), key);
            }
        }
        Ok(TrustedKeys { keys })
    }

    /// Keeps only the keys whose ids are in `ids` (the ones an
    /// administrator trusted through the audited state).
    pub fn retain(&mut self, ids: &[String]) {
        self.keys.retain(|id, _| ids.contains(id));
    }

    /// Trusts `key`.
    pub fn add(&mut self, key: VerifyingKey) {
        self.keys.insert(key_id(&key), key);
    }
}

/// Largest fixture a package may carry.
pub const MAX_PACKAGED_FIXTURE_BYTES: usize = 4 << 20;

/// Whether `name` may name a packaged fixture: lowercase letters, digits,
/// `-` and `_` (at most 96, starting with a letter or digit), then `.json`
/// — the manifest schema's rule, so that a name is a plain file name.
pub fn is_fixture_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".json") else {
        return false;
    };
    (1..=96).contains(&stem.len())
        && stem.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && stem
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Largest total of the fixtures a package may carry.
pub const MAX_PACKAGED_FIXTURES_BYTES: usize = 16 << 20;

/// What a package holds besides its manifest: the component and the
/// plugin's own fixtures (file name → bytes).
#[derive(Debug, Clone, Default)]
pub struct PackageContents {
    /// The component's bytes.
    pub component: Vec<u8>,
    /// `fixtures/NAME.json`, by name.
    pub fixtures: BTreeMap<String, Vec<u8>>,
}

/// Signs `contents` for publication: writes `dir/plugin.wasm`,
/// `dir/fixtures/` and `dir/manifest.json`.
///
/// # Errors
/// I/O errors.
pub fn write_package(
    dir: &Path,
    contents: &PackageContents,
    id: &str,
    version: &str,
    kind: &str,
    key: Option<&SigningKey>,
) -> std::io::Result<Manifest> {
    let mut manifest = Manifest {
        manifest_version: 1,
        id: id.to_owned(),
        version: version.to_owned(),
        kind: kind.to_owned(),
        component_sha256: sha256_hex(&contents.component),
        fixtures: contents
            .fixtures
            .iter()
            .map(|(name, bytes)| (name.clone(), sha256_hex(bytes)))
            .collect(),
        publisher_key_id: key.map(|k| key_id(&k.verifying_key())),
        signature: None,
    };
    if let Some(key) = key {
        manifest.signature = Some(hex::encode(key.sign(&signed_bytes(&manifest)).to_bytes()));
    }
    std::fs::create_dir_all(dir)?;
    write_atomically(&dir.join("plugin.wasm"), &contents.component)?;
    write_fixtures(dir, &contents.fixtures)?;
    let text = serde_json::to_string_pretty(&manifest).map_err(std::io::Error::other)?;
    write_atomically(&dir.join("manifest.json"), text.as_bytes())?;
    Ok(manifest)
}

/// Writes `fixtures` into `dir/fixtures/`, replacing whatever was there (a
/// fixture left from an earlier package would be one its manifest does not
/// name, and refused).
///
/// # Errors
/// I/O errors.
pub(crate) fn write_fixtures(
    dir: &Path,
    fixtures: &BTreeMap<String, Vec<u8>>,
) -> std::io::Result<()> {
    let folder = dir.join("fixtures");
    // Only a folder of fixtures is replaced: anything else in it is
    // somebody's, and is never deleted.
    if let Ok(entries) = std::fs::read_dir(&folder) {
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !entry.file_type()?.is_file() || !is_fixture_name(&name) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!(
                        "{} holds {name}, which is not a packaged fixture: write the package to another directory",
                        folder.display()
                    ),
                ));
            }
        }
        std::fs::remove_dir_all(&folder)?;
    }
    if fixtures.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(&folder)?;
    for (name, bytes) in fixtures {
        write_atomically(&folder.join(name), bytes)?;
    }
    Ok(())
}

/// A package that passed checks 1-5; the caller loads the component and
/// checks that it describes itself as the manifest says.
#[derive(Debug, Clone)]
pub struct VerifiedPackage {
    /// The manifest.
    pub manifest: Manifest,
    /// The component's bytes.
    pub component: Vec<u8>,
    /// The plugin's own fixtures, as the manifest names them.
    pub fixtures: BTreeMap<String, Vec<u8>>,
}

/// Reads and checks the package in `dir` (see the module docs for the
/// order of the checks).
///
/// # Errors
/// The first check that fails.
pub fn verify(
    dir: &Path,
    trusted: &TrustedKeys,
    allow_unsigned: bool,
) -> Result<VerifiedPackage, PackageError> {
    let read = |name: &str| {
        crate::storage::read_regular_file(&dir.join(name), MAX_PACKAGE_FILE_BYTES)
            .map_err(|e| PackageError::Unreadable(format!("{name}: {e}")))
    };
    let manifest_bytes = read("manifest.json")?;
    let value = parse_strict(
        &manifest_bytes,
        JsonLimits {
            max_bytes: 64 << 10,
            max_depth: 8,
        },
    )
    .map_err(|e| PackageError::InvalidManifest {
        pointer: e.pointer,
        message: e.message,
    })?;
    if let Some(v) = schema::violations(schema::plugin_manifest(), &value, 1)
        .into_iter()
        .next()
    {
        return Err(PackageError::InvalidManifest {
            pointer: v.pointer,
            message: v.message,
        });
    }
    let manifest: Manifest =
        serde_json::from_value(value).map_err(|e| PackageError::InvalidManifest {
            pointer: String::new(),
            message: e.to_string(),
        })?;
    let component = read("plugin.wasm")?;
    let actual = sha256_hex(&component);
    if actual != manifest.component_sha256 {
        return Err(PackageError::HashMismatch {
            expected: manifest.component_sha256.clone(),
            actual,
        });
    }
    match (&manifest.publisher_key_id, &manifest.signature) {
        (Some(key_id), None) => Err(PackageError::SignatureStripped(key_id.clone())),
        (None, _) if !allow_unsigned => Err(PackageError::Unsigned),
        (None, _) => {
            tracing::warn!(target: "kinga::package", plugin = %manifest.id, "DEVELOPMENT MODE: accepting an unsigned plugin package");
            Ok(())
        }
        (Some(key_id), Some(signature)) => {
            let key = trusted
                .keys
                .get(key_id)
                .ok_or_else(|| PackageError::UntrustedKey(key_id.clone()))?;
            let signature: [u8; 64] = hex::decode(signature)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| PackageError::BadSignature(key_id.clone()))?;
            key.verify_strict(&signed_bytes(&manifest), &Signature::from_bytes(&signature))
                .map_err(|_| PackageError::BadSignature(key_id.clone()))
        }
    }?;
    // Read once the manifest that names them is known to be genuine.
    let fixtures = read_fixtures(dir, &manifest)?;
    Ok(VerifiedPackage {
        manifest,
        component,
        fixtures,
    })
}

/// Reads the fixtures the manifest names, each checked against its hash,
/// and refuses a file in `fixtures/` the manifest does not name (it would
/// look tested and never run).
fn read_fixtures(
    dir: &Path,
    manifest: &Manifest,
) -> Result<BTreeMap<String, Vec<u8>>, PackageError> {
    let folder = dir.join("fixtures");
    let mismatch = |name: &str, problem: &str| PackageError::FixtureMismatch {
        name: crate::text::sanitize_log_line(name, 100),
        problem: problem.to_owned(),
    };
    if let Ok(entries) = std::fs::read_dir(&folder) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !manifest.fixtures.contains_key(&name) {
                return Err(mismatch(
                    &name,
                    "the manifest does not name this file, so it would never run: sign the package again with it, or remove it",
                ));
            }
        }
    }
    let mut fixtures = BTreeMap::new();
    let mut total = 0usize;
    for (name, expected) in &manifest.fixtures {
        let bytes =
            crate::storage::read_regular_file(&folder.join(name), MAX_PACKAGED_FIXTURE_BYTES)
                .map_err(|e| mismatch(name, &format!("cannot be read: {e}")))?;
        total += bytes.len();
        if total > MAX_PACKAGED_FIXTURES_BYTES {
            return Err(mismatch(
                name,
                &format!(
                    "the fixtures come to more than {MAX_PACKAGED_FIXTURES_BYTES} bytes, the most a package carries"
                ),
            ));
        }
        if &sha256_hex(&bytes) != expected {
            return Err(mismatch(
                name,
                "its SHA-256 is not the one the manifest names: the fixture was changed after signing",
            ));
        }
        fixtures.insert(name.clone(), bytes);
    }
    Ok(fixtures)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(key: Option<&SigningKey>) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pkg");
        write_package(
            &path,
            &PackageContents {
                component: b"\0asm component bytes".to_vec(),
                fixtures: BTreeMap::new(),
            },
            "demo-plugin",
            "1.0.0",
            "eligibility",
            key,
        )
        .unwrap();
        (dir, path)
    }

    fn edit_manifest(path: &Path, edit: impl FnOnce(&mut Value)) {
        let mut value: Value =
            serde_json::from_slice(&std::fs::read(path.join("manifest.json")).unwrap()).unwrap();
        edit(&mut value);
        std::fs::write(path.join("manifest.json"), value.to_string()).unwrap();
    }

    #[test]
    fn a_signed_package_from_a_trusted_key_verifies() {
        let key = generate_key().unwrap();
        let (_dir, path) = package(Some(&key));
        let mut trusted = TrustedKeys::default();
        trusted.add(key.verifying_key());
        assert_eq!(
            verify(&path, &trusted, false).unwrap().manifest.id,
            "demo-plugin"
        );
    }

    #[test]
    fn each_failed_check_is_named() {
        let key = generate_key().unwrap();
        let mut trusted = TrustedKeys::default();
        trusted.add(key.verifying_key());

        let (_d, path) = package(Some(&key));
        std::fs::write(path.join("plugin.wasm"), b"\0asm tampered").unwrap();
        assert!(matches!(
            verify(&path, &trusted, false),
            Err(PackageError::HashMismatch { .. })
        ));

        let (_d, path) = package(Some(&key));
        edit_manifest(&path, |m| m["version"] = "9.9.9".into());
        assert!(matches!(
            verify(&path, &trusted, false),
            Err(PackageError::BadSignature(_))
        ));

        let (_d, path) = package(Some(&key));
        edit_manifest(&path, |m| {
            m.as_object_mut().unwrap().remove("signature");
        });
        assert!(
            matches!(
                verify(&path, &trusted, true),
                Err(PackageError::SignatureStripped(_))
            ),
            "even in development mode"
        );

        let other = generate_key().unwrap();
        let (_d, path) = package(Some(&other));
        assert!(matches!(
            verify(&path, &trusted, false),
            Err(PackageError::UntrustedKey(_))
        ));

        let (_d, path) = package(None);
        assert_eq!(
            verify(&path, &trusted, false).unwrap_err(),
            PackageError::Unsigned
        );
        assert!(verify(&path, &trusted, true).is_ok());

        let (_d, path) = package(Some(&key));
        edit_manifest(&path, |m| m["extra"] = 1.into());
        assert!(matches!(
            verify(&path, &trusted, false),
            Err(PackageError::InvalidManifest { .. })
        ));
    }
}
