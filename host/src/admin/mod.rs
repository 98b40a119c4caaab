//! Administration: which plugins and rules are on, each plugin's settings,
//! signed packages and trusted keys, and building a live host from all of
//! it.
//!
//! - the state and its store (`state.json` under a lock, with revisions and
//!   a hash-chained audit trail): [`StateStore`], [`AdminState`], [`Change`];
//! - the operations that need a host as well as the state (a change checked
//!   against the loaded plugins, a package installed after its smoke run
//!   and its own fixtures): [`apply`], [`preview`], [`install`], [`smoke`],
//!   [`own_fixtures`], [`describe`], [`trusted_keys`];
//! - signed plugin packages and keys: [`write_package`], [`verify_package`],
//!   [`TrustedKeys`];
//! - the mapping profile each platform is read with, kept by hash:
//!   [`StateStore::set_profile`], [`StateStore::profile_in_use`];
//! - a host built from plugins, packages and state, and hot reload:
//!   [`Deployment`], [`LiveHost`].
//!
//! The CLI and the HTTP service both go through these; neither changes the
//! state any other way.

mod deployment;
mod operations;
pub mod own_fixtures;
mod package;
mod profiles;
pub mod smoke;
mod state;

pub use deployment::{Deployment, LiveHost};
pub use operations::{
    InstallOptions, SettingChange, apply, describe, install, preview, setting_changes, trusted_keys,
};
pub use package::{
    KeyError, KeyKind, MAX_PACKAGED_FIXTURE_BYTES, MAX_PACKAGED_FIXTURES_BYTES, Manifest,
    PackageContents, PackageError, TrustedKeys, VerifiedPackage, generate_key, is_fixture_name,
    key_id, read_public_key, read_signing_key, verify as verify_package, write_key_pair,
    write_package, write_public_key,
};
pub use profiles::{ProfileInUse, ProfileRef, ProfileSource};
pub use state::{
    AdminError, AdminState, Change, LOG_KEY_FILE, PackageHistory, PackageRef, PluginState, Request,
    StateStore,
};
