//! Administrative operations on a deployment, shared by the `kinga` CLI and
//! the HTTP service: a change checked against the loaded plugins, and the
//! installation of a signed package.
//!
//! Both go through [`StateStore::apply`], so every attempt, accepted or
//! refused, lands in the audit trail with its actor and reason; a package
//! refused before it could become a [`Change`] is audited with
//! [`StateStore::refuse`].

use std::path::Path;

use serde_json::{Value, json};

use crate::admin::package::{self, TrustedKeys};
use crate::admin::{AdminError, AdminState, Change, PackageRef, Request, StateStore};
use crate::admin::{own_fixtures, smoke};
use crate::error::Error;
use crate::runtime::host::Host;

/// Applies `change` for `request`, checked against the plugins `host` has
/// loaded: a change about a plugin that is not loaded, or a state the
/// plugins would refuse (settings outside a settings schema, an unknown
/// rule), is refused and audited.
///
/// # Errors
/// See [`StateStore::apply`].
pub fn apply(
    store: &StateStore,
    host: &Host,
    request: &Request,
    change: &Change,
) -> Result<AdminState, AdminError> {
    store.apply(request, change, validation(host, change))
}

/// What [`apply`] would do, checked the same way, with nothing written or
/// audited: the state it would give.
///
/// # Errors
/// See [`apply`].
pub fn preview(
    store: &StateStore,
    host: &Host,
    request: &Request,
    change: &Change,
) -> Result<AdminState, AdminError> {
    store.preview(request, change, validation(host, change))
}

/// One setting a change moves, as the plugin would run with it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SettingChange {
    /// The setting's key.
    pub key: String,
    /// Its effective value now (the default unless an administrator set it).
    pub old: Value,
    /// Its effective value after the change (a reset key: the default).
    pub new: Value,
}

/// The settings `change` moves, old → new, by their effective values; empty
/// for a change of another kind or a plugin `host` has not loaded.
pub fn setting_changes(host: &Host, change: &Change) -> Vec<SettingChange> {
    let Change::SetSettings {
        plugin,
        settings,
        reset,
    } = change
    else {
        return Vec::new();
    };
    let Some(loaded) = host.plugins().find(|p| &p.description().id == plugin) else {
        return Vec::new();
    };
    let current = loaded.settings();
    let defaults = &loaded.description().default_settings;
    let value_of = |from: &Value, key: &str| from.get(key).cloned().unwrap_or(Value::Null);
    let set = settings.iter().map(|(key, value)| SettingChange {
        key: key.clone(),
        old: value_of(&current, key),
        new: value.clone(),
    });
    let reset = reset.iter().map(|key| SettingChange {
        key: key.clone(),
        old: value_of(&current, key),
        new: value_of(defaults, key),
    });
    set.chain(reset).collect()
}

/// The check [`apply`] and [`preview`] make of the state a change gives.
fn validation<'a>(
    host: &'a Host,
    change: &'a Change,
) -> impl FnOnce(&AdminState) -> Result<(), String> + 'a {
    move |next: &AdminState| {
        let about_a_loaded_plugin = !matches!(
            change,
            Change::Install { .. }
                | Change::Rollback { .. }
                | Change::TrustKey { .. }
                | Change::UntrustKey { .. }
                | Change::SetProfile { .. }
                | Change::ResetProfile { .. }
        );
        if about_a_loaded_plugin && host.plugin(change.plugin()).is_none() {
            return Err(format!("no plugin {} is loaded", change.plugin()));
        }
        // Only a change of settings or rules changes what a plugin checks,
        // and it is checked for that plugin alone, so that a plugin held for
        // its own state never blocks another change: switching it off,
        // closing its breaker, installing a version that fixes it (checked
        // by its smoke run, with the settings in use) or rolling back (a
        // version that refuses the settings in force is held at the next
        // start, and says so).
        match change {
            Change::SetSettings { .. } | Change::EnableRule { .. } | Change::DisableRule { .. } => {
                host.check_plugin_state(next, change.plugin())
                    .map_err(|e| e.to_string())
            }
            _ => Ok(()),
        }
    }
}

/// The publisher keys in `home/trusted-keys` that an administrator trusted
/// through the audited state (a key file dropped there by hand is not
/// enough).
///
/// # Errors
/// [`AdminError::Key`] for an unreadable key file, or an error loading the
/// state.
pub fn trusted_keys(home: &Path, store: &StateStore) -> Result<TrustedKeys, AdminError> {
    let mut trusted = TrustedKeys::load(&home.join("trusted-keys"))?;
    let state = store.load()?;
    trusted.retain(&state.trusted_keys);
    Ok(trusted)
}

/// Reads what a component says of itself (id, version, kind) in a
/// throwaway host.
///
/// # Errors
/// Anything that stops the component from loading.
pub fn describe(component: &[u8], source: &str) -> Result<(String, String, String), Error> {
    let mut host = Host::builder().build()?;
    let id = host.load_bytes(component, source)?;
    let d = host
        .plugin(&id)
        .ok_or_else(|| Error::UnknownPlugin(id.clone()))?;
    Ok((d.id.clone(), d.version.clone(), d.kind.as_str().to_owned()))
}

/// What an installation may accept beyond a signed, newer version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstallOptions {
    /// DEVELOPMENT ONLY: accept a package without a signature.
    pub allow_unsigned: bool,
    /// Accept a version lower than the one in use, or the same version with
    /// other content (recorded as a downgrade in the audit trail).
    pub allow_downgrade: bool,
}

/// Why installing `version` over the `current` one (with this content) is
/// a downgrade, if it is: a lower version, or the same one with other
/// content. Versions that are not semantic versions compare as text.
fn downgrade_from(current: &PackageRef, version: &str, sha256: &str) -> Option<String> {
    let ordering = match (
        semver::Version::parse(&current.version),
        semver::Version::parse(version),
    ) {
        (Ok(current), Ok(new)) => new.cmp(&current),
        _ => version.cmp(current.version.as_str()),
    };
    match ordering {
        std::cmp::Ordering::Less => Some(format!(
            "{version} is lower than {} in use: a downgrade must be asked for explicitly (--allow-downgrade, \"allow_downgrade\": true)",
            current.version
        )),
        std::cmp::Ordering::Equal if current.component_sha256 != sha256 => Some(format!(
            "{version} is in use with other content: publish the change as a new version, or ask for the replacement explicitly (--allow-downgrade, \"allow_downgrade\": true)"
        )),
        _ => None,
    }
}

/// Verifies the package in `package_dir` (hashes, signature, trusted key,
/// what the component says of itself, a version above the one in use),
/// runs it on the smoke caseload ([`smoke`](super::smoke)) with the settings
/// in use and on its own fixtures ([`own_fixtures`]), copies it into the
/// store's `packages/`, and makes it the version in use.
/// A package that fails a check is refused, and the refusal is audited.
///
/// Returns the new state and the change that was made.
///
/// # Errors
/// [`AdminError::Invalid`] for a refused package (the message names the
/// check), or any error of [`StateStore::apply`].
pub fn install(
    store: &StateStore,
    host: &Host,
    package_dir: &Path,
    options: InstallOptions,
    request: &Request,
) -> Result<(AdminState, Change), AdminError> {
    let home = store.dir();
    let refuse = |message: String| {
        let action = json!({"action": "install", "package": package_dir.file_name().map(|n| n.to_string_lossy().into_owned())});
        match store.refuse(request, action, &message) {
            Ok(()) => AdminError::Invalid(format!("the package failed a check: {message}")),
            Err(e) => AdminError::Io(format!(
                "{message}; and the refusal could not be audited: {e}"
            )),
        }
    };
    let trusted = trusted_keys(home, store)?;
    let verified = package::verify(package_dir, &trusted, options.allow_unsigned)
        .map_err(|e| refuse(e.to_string()))?;
    let (id, version, kind) =
        describe(&verified.component, "plugin.wasm").map_err(|e| refuse(e.to_string()))?;
    let m = &verified.manifest;
    if (id.as_str(), version.as_str(), kind.as_str())
        != (m.id.as_str(), m.version.as_str(), m.kind.as_str())
    {
        return Err(refuse(format!(
            "the manifest says {} {} ({}) but the component describes itself as {id} {version} ({kind})",
            m.id, m.version, m.kind
        )));
    }
    let state = store.load()?;
    let current = in_use(&state, host, &id);
    let downgrade = current
        .as_ref()
        .and_then(|c| downgrade_from(c, &version, &m.component_sha256));
    if let Some(why) = &downgrade
        && !options.allow_downgrade
    {
        return Err(refuse(format!("plugin {id} {why}")));
    }
    let failed = smoke::smoke(&verified.component, &state, host.limits()).map_err(|e| {
        refuse(format!(
            "the candidate cannot run with the settings in use: {e}"
        ))
    })?;
    if !failed.is_empty() {
        let shown: Vec<String> = failed
            .iter()
            .take(10)
            .map(|f| format!("{} ({})", f.input, f.error))
            .collect();
        return Err(refuse(format!(
            "the candidate failed on {} of the {} synthetic cases of the smoke caseload (seed {}): {}{}",
            failed.len(),
            smoke::SMOKE_CASES,
            smoke::SMOKE_SEED,
            shown.join(", "),
            if failed.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        )));
    }
    let failed = own_fixtures::run(&verified.component, &verified.fixtures, host.limits())
        .map_err(|e| refuse(format!("the candidate's own fixtures cannot run: {e}")))?;
    if !failed.is_empty() {
        return Err(refuse(format!(
            "the candidate did not pass {} of its {} own fixtures: {}",
            failed.len(),
            verified.fixtures.len(),
            own_fixtures::summary(&failed)
        )));
    }
    let relative = keep(home, &id, &verified)
        .map_err(|e| AdminError::Io(format!("{}: {e}", home.join("packages").display())))?;
    let package = PackageRef {
        version,
        component_sha256: m.component_sha256.clone(),
        dir: relative,
        unsigned: m.publisher_key_id.is_none(),
        fixtures: verified.fixtures.len() as u64,
    };
    let change = Change::Install {
        plugin: id,
        package,
        downgrade: downgrade.is_some(),
    };
    apply(store, host, request, &change).map(|state| (state, change))
}

/// Keeps a verified package under `home/packages/ID/`, in a directory
/// named by its version and the hashes of its component and manifest, and
/// returns that directory (relative to `home`). The package is written
/// whole into a directory of its own beside it and renamed into place, so
/// a package in use is never rewritten (the same package installed again
/// is already there, byte for byte) and a crash leaves no half-written
/// package behind. The manifest is written from what was verified, never
/// copied again from the package directory.
fn keep(home: &Path, id: &str, verified: &package::VerifiedPackage) -> std::io::Result<String> {
    let m = &verified.manifest;
    let manifest = serde_json::to_vec_pretty(m).map_err(std::io::Error::other)?;
    let identity = crate::storage::sha256_hex(
        crate::case::canonical_json(&serde_json::to_value(m).map_err(std::io::Error::other)?)
            .as_bytes(),
    );
    let relative = format!(
        "packages/{id}/{}-{}-{}",
        m.version,
        &m.component_sha256[..12],
        &identity[..12]
    );
    let target = home.join(&relative);
    if target.is_dir() {
        return Ok(relative);
    }
    let parent = target
        .parent()
        .ok_or_else(|| std::io::Error::other("a package directory has no parent"))?;
    std::fs::create_dir_all(parent)?;
    let mut name = [0u8; 8];
    getrandom::fill(&mut name).map_err(|e| std::io::Error::other(e.to_string()))?;
    let incoming = parent.join(format!(".incoming-{}", hex::encode(name)));
    let written = (|| {
        std::fs::create_dir(&incoming)?;
        crate::storage::write_atomically(&incoming.join("plugin.wasm"), &verified.component)?;
        package::write_fixtures(&incoming, &verified.fixtures)?;
        crate::storage::write_atomically(&incoming.join("manifest.json"), &manifest)?;
        std::fs::rename(&incoming, &target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&incoming);
        // Another installation of the same package may have won the race.
        if target.is_dir() {
            return Ok(relative);
        }
    }
    written.map(|()| relative)
}

/// The version of plugin `id` in use: its installed package, or the
/// bundled plugin `host` loaded (its content hash as loaded).
fn in_use(state: &AdminState, host: &Host, id: &str) -> Option<PackageRef> {
    if let Some(history) = state.packages.get(id) {
        return Some(history.active.clone());
    }
    host.plugin(id).map(|d| PackageRef {
        version: d.version.clone(),
        component_sha256: d.content_sha256.clone(),
        dir: String::new(),
        unsigned: false,
        fixtures: 0,
    })
}
