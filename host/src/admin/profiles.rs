//! Mapping profiles as part of the administration state: which profile
//! each platform is read with in this deployment.
//!
//! The state names a profile by its SHA-256 ([`ProfileRef`]); the document
//! itself is kept in `profiles/<sha256>.json` in the administration
//! directory. A document is checked ([`Profile::parse_for`]) before it is
//! written, written before the change that names it (a crash in between
//! leaves an unused file, never a state naming a missing one), never
//! overwritten and never deleted: every profile the audit trail names can
//! be read again. A platform the state names no profile for is read with
//! the profile bundled for it. A named document that is missing or no
//! longer matches its hash is an error, never a silent fall-back to the
//! bundled profile.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::state::{AdminError, AdminState, Change, Request, StateStore};
use crate::adapt::{MAX_PROFILE_BYTES, Platform, Profile};
use crate::storage::{read_regular_file, sha256_hex, write_atomically};

/// A profile set by an administrator, as the state names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileRef {
    /// The profile's id (its `profile` member).
    pub profile: String,
    /// SHA-256 of the document as it was accepted.
    pub sha256: String,
}

/// Where the profile in use for a platform comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum ProfileSource {
    /// The profile bundled with Kinga for the platform.
    Bundled,
    /// A profile an administrator set.
    Administrator {
        /// SHA-256 of its document.
        sha256: String,
    },
}

/// The profile a platform is read with, and where it comes from.
#[derive(Debug, Clone)]
pub struct ProfileInUse {
    /// The compiled profile.
    pub profile: Profile,
    /// Bundled, or set by an administrator.
    pub source: ProfileSource,
    /// The document, exactly as accepted (or as bundled).
    pub document: Vec<u8>,
}

impl ProfileInUse {
    /// The profile bundled for `platform`.
    pub fn bundled(platform: Platform) -> ProfileInUse {
        ProfileInUse {
            profile: Profile::bundled(platform).clone(),
            source: ProfileSource::Bundled,
            document: crate::adapt::bundled_document(platform).as_bytes().to_vec(),
        }
    }

    /// What the CLI and the HTTP service show of it: platform, id, title,
    /// SHA-256, where it comes from, whether it writes back.
    pub fn view(&self) -> serde_json::Value {
        json!({
            "platform": self.profile.platform().name(),
            "profile": self.profile.id(),
            "title": self.profile.document().title,
            "sha256": sha256_hex(&self.document),
            "set_by": self.source,
            "writes_back": self.profile.writes_back(),
        })
    }
}

impl StateStore {
    /// The directory of accepted profile documents.
    fn profiles_dir(&self) -> PathBuf {
        self.dir().join("profiles")
    }

    /// The document of the accepted profile with this hash, checked
    /// against it.
    ///
    /// # Errors
    /// A hash that is not one, a missing or unreadable document, or one
    /// that no longer matches its hash.
    pub fn profile_document(&self, sha256: &str) -> Result<Vec<u8>, AdminError> {
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(AdminError::Invalid(format!(
                "`{}` is not a SHA-256 in lowercase hex",
                sha256.escape_debug()
            )));
        }
        let path = self.profiles_dir().join(format!("{sha256}.json"));
        let bytes = read_regular_file(&path, MAX_PROFILE_BYTES)
            .map_err(|e| AdminError::Io(format!("{}: {e}", path.display())))?;
        if sha256_hex(&bytes) != sha256 {
            return Err(AdminError::Io(format!(
                "{}: the document no longer matches its SHA-256: restore it, or set the profile again",
                path.display()
            )));
        }
        Ok(bytes)
    }

    /// The profile `platform` is read with under `state`.
    ///
    /// # Errors
    /// See [`StateStore::profile_document`]; a stored document that no
    /// longer compiles (a newer Kinga checks more) is refused with its
    /// problems.
    pub fn profile_in_use(
        &self,
        state: &AdminState,
        platform: Platform,
    ) -> Result<ProfileInUse, AdminError> {
        let Some(named) = state.profiles.get(platform.name()) else {
            return Ok(ProfileInUse::bundled(platform));
        };
        let document = self.profile_document(&named.sha256)?;
        let profile =
            Profile::parse_for(platform, &document).map_err(AdminError::InvalidProfile)?;
        Ok(ProfileInUse {
            profile,
            source: ProfileSource::Administrator {
                sha256: named.sha256.clone(),
            },
            document,
        })
    }

    /// Makes `document` the profile `platform` is read with: checked
    /// first (a refused profile is audited, with its first problem), kept
    /// under its hash, then named in the state by a [`Change::SetProfile`].
    ///
    /// # Errors
    /// [`AdminError::InvalidProfile`] with every problem and its pointer in
    /// the profile; otherwise as [`StateStore::apply`].
    pub fn set_profile(
        &self,
        request: &Request,
        platform: Platform,
        document: &[u8],
    ) -> Result<AdminState, AdminError> {
        let profile = match Profile::parse_for(platform, document) {
            Ok(profile) => profile,
            Err(rejection) => {
                let action = json!({"action": "set-profile", "platform": platform.name()});
                self.refuse(request, action, &rejection.to_string())?;
                return Err(AdminError::InvalidProfile(rejection));
            }
        };
        let sha256 = sha256_hex(document);
        let dir = self.profiles_dir();
        let path = dir.join(format!("{sha256}.json"));
        // Written unless an intact copy is there already: setting a profile
        // again repairs a stored document that was damaged.
        if self.profile_document(&sha256).is_err() {
            std::fs::create_dir_all(&dir)
                .and_then(|()| write_atomically(&path, document))
                .map_err(|e| AdminError::Io(format!("{}: {e}", path.display())))?;
        }
        let change = Change::SetProfile {
            platform: platform.name().to_owned(),
            profile: ProfileRef {
                profile: profile.id().to_owned(),
                sha256,
            },
        };
        self.apply(request, &change, |_| Ok(()))
    }

    /// Reads `platform` with its bundled profile again.
    ///
    /// # Errors
    /// When it already is, and as [`StateStore::apply`].
    pub fn reset_profile(
        &self,
        request: &Request,
        platform: Platform,
    ) -> Result<AdminState, AdminError> {
        let change = Change::ResetProfile {
            platform: platform.name().to_owned(),
        };
        self.apply(request, &change, |_| Ok(()))
    }
}
