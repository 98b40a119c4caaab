//! `kinga profiles`: which mapping profile each platform is read with in
//! this deployment; show one, set one (checked, audited, with a revision),
//! go back to the bundled one.

use std::path::PathBuf;

use clap::Subcommand;
use kinga_host::Error;
use kinga_host::adapt::{MAX_PROFILE_BYTES, Platform};
use kinga_host::admin::{AdminError, AdminState, Change, ProfileInUse, ProfileSource, StateStore};
use serde_json::json;

use super::admin::{Accountability, fail, report};
use super::convert::parse_platform;
use super::setup::{self, ErrorPrinter};
use super::{EXIT_OK, Global};

/// `kinga profiles ...`.
#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// Each platform, the profile it is read with, and where it comes from.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the profile a platform is read with, exactly as accepted.
    Show {
        /// primero, cpims-crs, cpims-record or dhis2.
        #[arg(value_parser = parse_platform)]
        platform: Platform,
        /// An earlier profile, by the SHA-256 the audit trail names.
        #[arg(long, value_name = "SHA256")]
        sha256: Option<String>,
    },
    /// Read a platform with this profile from now on: checked first (every
    /// problem is listed, with its pointer), kept under its SHA-256,
    /// audited.
    Set {
        /// The platform the profile reads.
        #[arg(value_parser = parse_platform)]
        platform: Platform,
        /// The profile document (JSON).
        file: PathBuf,
        #[command(flatten)]
        who: Accountability,
    },
    /// Read a platform with its bundled profile again.
    Reset {
        /// The platform.
        #[arg(value_parser = parse_platform)]
        platform: Platform,
        #[command(flatten)]
        who: Accountability,
    },
}

/// Runs `kinga profiles ...`.
pub fn run(global: &Global, command: &ProfilesCommand, errors: &ErrorPrinter) -> u8 {
    let store = match setup::state_store(global) {
        Ok(store) => store,
        Err(message) => return errors.usage(&message),
    };
    match command {
        ProfilesCommand::List { json } => list(&store, *json, errors),
        ProfilesCommand::Show { platform, sha256 } => {
            let document = match sha256 {
                Some(sha256) => store.profile_document(sha256),
                None => store
                    .load()
                    .and_then(|state| store.profile_in_use(&state, *platform))
                    .map(|in_use| in_use.document),
            };
            match document {
                Ok(bytes) => {
                    setup::emit(&String::from_utf8_lossy(&bytes));
                    EXIT_OK
                }
                Err(e) => fail(e, errors),
            }
        }
        ProfilesCommand::Set {
            platform,
            file,
            who,
        } => {
            let document = match kinga_host::read_regular_file(file, MAX_PROFILE_BYTES) {
                Ok(bytes) => bytes,
                Err(cause) => {
                    return errors.fail(&Error::Io {
                        path: file.display().to_string(),
                        cause,
                    });
                }
            };
            let outcome = store.set_profile(&who.request(), *platform, &document);
            changed(outcome, *platform, who, errors)
        }
        ProfilesCommand::Reset { platform, who } => {
            let outcome = store.reset_profile(&who.request(), *platform);
            changed(outcome, *platform, who, errors)
        }
    }
}

fn list(store: &StateStore, json: bool, errors: &ErrorPrinter) -> u8 {
    let state = match store.load() {
        Ok(state) => state,
        Err(e) => return fail(e, errors),
    };
    let mut profiles = Vec::new();
    for platform in Platform::ALL {
        match store.profile_in_use(&state, platform) {
            Ok(in_use) => profiles.push(in_use),
            Err(e) => return fail(e, errors),
        }
    }
    let text = if json {
        let rows: Vec<_> = profiles.iter().map(ProfileInUse::view).collect();
        serde_json::to_string_pretty(&json!({"revision": state.revision, "profiles": rows}))
            .unwrap_or_default()
    } else {
        let mut text = format!("state revision {}\n", state.revision);
        for in_use in &profiles {
            let source = match in_use.source {
                ProfileSource::Bundled => "bundled",
                ProfileSource::Administrator { .. } => "set by an administrator",
            };
            text.push_str(&format!(
                "{:<13} {:<22} {source}, sha256 {}\n",
                in_use.profile.platform().name(),
                in_use.profile.id(),
                &kinga_host::sha256_hex(&in_use.document)[..12]
            ));
        }
        text.trim_end().to_owned()
    };
    setup::emit(&(text + "\n"));
    EXIT_OK
}

/// Prints the outcome of a profile change.
fn changed(
    outcome: Result<AdminState, AdminError>,
    platform: Platform,
    who: &Accountability,
    errors: &ErrorPrinter,
) -> u8 {
    let outcome = outcome.map(|state| {
        let change = match state.profiles.get(platform.name()) {
            Some(profile) => Change::SetProfile {
                platform: platform.name().to_owned(),
                profile: profile.clone(),
            },
            None => Change::ResetProfile {
                platform: platform.name().to_owned(),
            },
        };
        (state, change)
    });
    report(outcome, who, errors)
}
