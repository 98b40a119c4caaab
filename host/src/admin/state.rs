//! Administration state: which plugins and rules are on, and each plugin's
//! settings, kept in a directory that survives restarts and crashes, with
//! every change (accepted or refused) in a hash-chained audit trail.
//!
//! # Why files
//! The state is small (a few KiB), changed by people a few times a day, and
//! must be readable and recoverable by an administrator without tools. So it
//! is one JSON file, `state.json`, replaced atomically: the new state is
//! written to a temporary file in the same directory, synced, renamed over
//! the old one, and the directory is synced. A crash at any point leaves the
//! old state or the new one, never a mix. Writers take an exclusive lock on
//! `state.lock`, read the current revision under the lock, and refuse a
//! change made against a stale revision, so two administrators acting at
//! once never lose an update. The audit trail is a [`ChainLog`] in
//! `audit.jsonl`.
//!
//! # Crash order
//! A change is audited first (with the revision it will produce), then the
//! state is written. If the process dies in between, the audit trail holds
//! an accepted change whose revision the state never reached; the next
//! writer notices and appends an `interrupted` record, so the trail never
//! claims a change that did not happen without saying so.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::profiles::ProfileRef;
use crate::case::asof::AsOf;
use crate::case::json::{JsonLimits, parse_strict};
use crate::records::{Broken, ChainLog, LogKey, Verified};

/// The state of one plugin, as administrators set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginState {
    /// Whether the plugin runs at all.
    pub enabled: bool,
    /// Rules switched on (`true`) or off (`false`), overriding the plugin's
    /// defaults.
    #[serde(default)]
    pub rules: BTreeMap<String, bool>,
    /// Settings laid over the plugin's defaults.
    #[serde(default)]
    pub settings: Map<String, Value>,
    /// How often an administrator closed the plugin's circuit breaker. The
    /// count is what changes in the state, so that every replica reloads
    /// (and so starts with its breakers closed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub breaker_closed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Default for PluginState {
    fn default() -> Self {
        PluginState {
            enabled: true,
            rules: BTreeMap::new(),
            settings: Map::new(),
            breaker_closed: 0,
        }
    }
}

/// An installed plugin package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageRef {
    /// The plugin's version.
    pub version: String,
    /// SHA-256 of its component.
    pub component_sha256: String,
    /// Its directory, relative to the administration directory.
    pub dir: String,
    /// Installed unsigned, in development mode.
    #[serde(default)]
    pub unsigned: bool,
    /// How many fixtures of its own it carried (all passed at installation).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fixtures: u64,
}

/// The installed versions of one plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageHistory {
    /// The version in use.
    pub active: PackageRef,
    /// Earlier versions, most recent last: what `rollback` returns to.
    #[serde(default)]
    pub previous: Vec<PackageRef>,
}

/// The whole administration state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminState {
    /// Increases by one with every accepted change.
    pub revision: u64,
    /// Per plugin id.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginState>,
    /// Installed packages, per plugin id.
    #[serde(default)]
    pub packages: BTreeMap<String, PackageHistory>,
    /// Ids of the publisher keys this host trusts (the keys themselves are
    /// in `trusted-keys/`).
    #[serde(default)]
    pub trusted_keys: Vec<String>,
    /// The mapping profile each platform is read with, by platform name
    /// (`primero`); a platform not named here is read with its bundled
    /// profile. The documents are in `profiles/` ([`StateStore::profile_in_use`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub profiles: BTreeMap<String, ProfileRef>,
}

impl AdminState {
    /// The state of `plugin` (defaults when never changed).
    pub fn plugin(&self, plugin: &str) -> PluginState {
        self.plugins.get(plugin).cloned().unwrap_or_default()
    }
}

/// One administrative change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Change {
    /// Switch a plugin on.
    EnablePlugin {
        /// The plugin.
        plugin: String,
    },
    /// Switch a plugin off.
    DisablePlugin {
        /// The plugin.
        plugin: String,
    },
    /// Switch a rule on.
    EnableRule {
        /// The plugin.
        plugin: String,
        /// The rule.
        rule: String,
    },
    /// Switch a rule off.
    DisableRule {
        /// The plugin.
        plugin: String,
        /// The rule.
        rule: String,
    },
    /// Set settings (laid over the current overrides).
    SetSettings {
        /// The plugin.
        plugin: String,
        /// The keys and values to set.
        settings: Map<String, Value>,
        /// The keys whose administrator value is removed, so that they
        /// are back at the plugin's default.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reset: Vec<String>,
    },
    /// Install a verified package and make it the version in use.
    Install {
        /// The plugin.
        plugin: String,
        /// The package.
        package: PackageRef,
        /// Whether it replaces a higher version, or the same version with
        /// other content, as an administrator explicitly asked.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        downgrade: bool,
    },
    /// Go back to the version in use before the last install.
    Rollback {
        /// The plugin.
        plugin: String,
    },
    /// Close a plugin's circuit breaker on every replica: it is called
    /// again, with the inputs it failed on forgotten.
    CloseBreaker {
        /// The plugin.
        plugin: String,
    },
    /// Trust a publisher key.
    TrustKey {
        /// The key's id.
        key_id: String,
    },
    /// Stop trusting a publisher key: packages it signed are no longer
    /// installed (those installed stay until changed).
    UntrustKey {
        /// The key's id.
        key_id: String,
    },
    /// Read a platform with this (checked and stored) mapping profile.
    SetProfile {
        /// The platform's name (`primero`).
        platform: String,
        /// The profile.
        profile: ProfileRef,
    },
    /// Read a platform with its bundled profile again.
    ResetProfile {
        /// The platform's name.
        platform: String,
    },
}

impl Change {
    /// The plugin the change concerns.
    pub fn plugin(&self) -> &str {
        match self {
            Change::EnablePlugin { plugin }
            | Change::DisablePlugin { plugin }
            | Change::EnableRule { plugin, .. }
            | Change::DisableRule { plugin, .. }
            | Change::SetSettings { plugin, .. }
            | Change::Install { plugin, .. }
            | Change::Rollback { plugin }
            | Change::CloseBreaker { plugin } => plugin,
            Change::TrustKey { .. }
            | Change::UntrustKey { .. }
            | Change::SetProfile { .. }
            | Change::ResetProfile { .. } => "",
        }
    }

    /// Why the change cannot apply to `state`, if it cannot.
    fn precondition(&self, state: &AdminState) -> Result<(), String> {
        match self {
            Change::Rollback { plugin }
                if state
                    .packages
                    .get(plugin)
                    .is_none_or(|h| h.previous.is_empty()) =>
            {
                Err(format!(
                    "plugin {plugin} has no earlier installed version to roll back to"
                ))
            }
            Change::UntrustKey { key_id } if !state.trusted_keys.contains(key_id) => {
                Err(format!("publisher key {key_id} is not trusted"))
            }
            Change::ResetProfile { platform } if !state.profiles.contains_key(platform) => Err(
                format!("{platform} is already read with its bundled profile"),
            ),
            Change::SetSettings {
                plugin,
                settings,
                reset,
            } => {
                if settings.is_empty() && reset.is_empty() {
                    return Err("name at least one setting to set or reset".into());
                }
                let overrides = &state.plugin(plugin).settings;
                if let Some(key) = reset.iter().find(|k| settings.contains_key(*k)) {
                    return Err(format!("setting {key} is both set and reset"));
                }
                match reset.iter().find(|k| !overrides.contains_key(*k)) {
                    Some(key) => Err(format!(
                        "setting {key} of {plugin} has no administrator value to reset: it is at its default"
                    )),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// The state after the change.
    pub fn apply(&self, state: &AdminState) -> AdminState {
        let mut next = state.clone();
        // Only changes to a plugin's switches and settings touch its entry.
        match self {
            Change::EnablePlugin { .. } => plugin_entry(&mut next, self.plugin()).enabled = true,
            Change::DisablePlugin { .. } => plugin_entry(&mut next, self.plugin()).enabled = false,
            Change::EnableRule { rule, .. } => {
                plugin_entry(&mut next, self.plugin())
                    .rules
                    .insert(rule.clone(), true);
            }
            Change::DisableRule { rule, .. } => {
                plugin_entry(&mut next, self.plugin())
                    .rules
                    .insert(rule.clone(), false);
            }
            Change::SetSettings {
                settings, reset, ..
            } => {
                let entry = plugin_entry(&mut next, self.plugin());
                for key in reset {
                    entry.settings.remove(key);
                }
                for (key, value) in settings {
                    entry.settings.insert(key.clone(), value.clone());
                }
            }
            Change::Install {
                plugin, package, ..
            } => {
                let history = match next.packages.remove(plugin) {
                    Some(mut history) => {
                        history.previous.push(history.active);
                        PackageHistory {
                            active: package.clone(),
                            previous: history.previous,
                        }
                    }
                    None => PackageHistory {
                        active: package.clone(),
                        previous: Vec::new(),
                    },
                };
                next.packages.insert(plugin.clone(), history);
            }
            Change::Rollback { plugin } => {
                if let Some(history) = next.packages.get_mut(plugin)
                    && let Some(earlier) = history.previous.pop()
                {
                    history.active = earlier;
                }
            }
            Change::CloseBreaker { .. } => {
                plugin_entry(&mut next, self.plugin()).breaker_closed += 1;
            }
            Change::TrustKey { key_id } => {
                if !next.trusted_keys.contains(key_id) {
                    next.trusted_keys.push(key_id.clone());
                }
            }
            Change::UntrustKey { key_id } => next.trusted_keys.retain(|k| k != key_id),
            Change::SetProfile { platform, profile } => {
                next.profiles.insert(platform.clone(), profile.clone());
            }
            Change::ResetProfile { platform } => {
                next.profiles.remove(platform);
            }
        }
        next.revision = state.revision + 1;
        next
    }

    /// The part of the state the change touches, before or after it.
    fn view(&self, state: &AdminState) -> Value {
        let plugin = state.plugin(self.plugin());
        match self {
            Change::Install { plugin: id, .. } | Change::Rollback { plugin: id } => {
                json!({ "active": state.packages.get(id).map(|h| &h.active) })
            }
            Change::TrustKey { key_id } | Change::UntrustKey { key_id } => {
                json!({ "trusted": state.trusted_keys.contains(key_id) })
            }
            Change::SetProfile { platform, .. } | Change::ResetProfile { platform } => {
                json!({ "platform": platform, "profile": state.profiles.get(platform) })
            }
            Change::EnablePlugin { .. } | Change::DisablePlugin { .. } => {
                json!({ "enabled": plugin.enabled })
            }
            Change::CloseBreaker { .. } => json!({ "breaker_closed": plugin.breaker_closed }),
            Change::EnableRule { rule, .. } | Change::DisableRule { rule, .. } => {
                json!({ "rule": rule, "enabled": plugin.rules.get(rule) })
            }
            Change::SetSettings {
                settings, reset, ..
            } => {
                let touched: Map<String, Value> = settings
                    .keys()
                    .chain(reset)
                    .map(|k| {
                        (
                            k.clone(),
                            plugin.settings.get(k).cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect();
                Value::Object(touched)
            }
        }
    }
}

/// The entry of `plugin`, created with its defaults when missing.
fn plugin_entry<'a>(state: &'a mut AdminState, plugin: &str) -> &'a mut PluginState {
    state.plugins.entry(plugin.to_owned()).or_default()
}

/// Who asks for a change, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    /// The administrator (a person's or a service's name).
    pub actor: String,
    /// Why (required: an audit trail without reasons explains nothing).
    pub reason: String,
    /// The revision the change was prepared against; a change against any
    /// other revision is refused. `None` takes the current one.
    pub expected_revision: Option<u64>,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The change was prepared against an older revision.
    #[error("the state is at revision {current}, not {expected}: reload it and try again")]
    StaleRevision {
        /// The revision the change expected.
        expected: u64,
        /// The current revision.
        current: u64,
    },
    /// The change would make the state invalid.
    #[error("{0}")]
    Invalid(String),
    /// The actor or the reason is missing.
    #[error("{0}")]
    MissingAccountability(String),
    /// The state directory cannot be read or written.
    #[error("{0}")]
    Io(String),
    /// A trusted key file is unreadable or not a key.
    #[error(transparent)]
    Key(#[from] crate::admin::package::KeyError),
    /// A mapping profile was refused: every problem, with its pointer in
    /// the profile.
    #[error(transparent)]
    InvalidProfile(crate::adapt::ProfileRejection),
}

/// The state directory: `state.json`, `state.lock`, `audit.jsonl`.
///
/// A store keeps its audit trail open once it has verified it, so an
/// append costs the same however long the trail is: the chain is verified
/// when the trail is first opened (and again after any error), records
/// other processes appended are read from where it last looked, and the
/// head is moved with every append.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
    log_key: PathBuf,
    trail: Arc<Mutex<Option<OpenTrail>>>,
}

/// The audit trail held open by a store, with what
/// [`StateStore::note_interrupted`] needs to know of it.
#[derive(Debug)]
struct OpenTrail {
    log: ChainLog,
    /// The revision of the last accepted change.
    last_accepted: Option<u64>,
    /// Whether the last record notes an interrupted change.
    last_interrupted: bool,
}

impl OpenTrail {
    /// Opens and verifies the trail, and reads what it holds once.
    fn open(path: &Path, key: &LogKey) -> Result<OpenTrail, AdminError> {
        let log = ChainLog::open(path, key).map_err(trail_error)?;
        let mut trail = OpenTrail {
            log,
            last_accepted: None,
            last_interrupted: false,
        };
        for record in crate::records::read_log(path).map_err(|e| AdminError::Io(e.to_string()))? {
            trail.observe(&record);
        }
        Ok(trail)
    }

    fn observe(&mut self, record: &Map<String, Value>) {
        let result = record.get("result").and_then(Value::as_str);
        if record.get("kind").and_then(Value::as_str) == Some("admin") && result == Some("accepted")
        {
            self.last_accepted = record.get("revision").and_then(Value::as_u64);
        }
        self.last_interrupted = result == Some("interrupted");
    }

    /// Reads what other processes appended.
    fn refresh(&mut self) -> Result<(), AdminError> {
        for record in self.log.refresh().map_err(trail_error)? {
            self.observe(&record);
        }
        Ok(())
    }

    /// Appends `record` and moves the head.
    fn append(&mut self, record: Value) -> Result<(), AdminError> {
        let written = self.log.append(record).map_err(trail_error)?;
        if let Value::Object(map) = &written {
            self.observe(map);
        }
        Ok(())
    }
}

fn trail_error(e: std::io::Error) -> AdminError {
    AdminError::Io(format!("audit trail: {e}"))
}

/// The log key's file name in an administration directory.
pub const LOG_KEY_FILE: &str = "log.key";

/// Largest state file accepted.
const MAX_STATE_BYTES: usize = 4 << 20;

impl StateStore {
    /// The store in `dir` (created when first written), its audit trail
    /// sealed under the log key `dir/log.key` ([`crate::records::LogKey`]).
    pub fn new(dir: impl Into<PathBuf>) -> StateStore {
        let dir = dir.into();
        StateStore {
            log_key: dir.join(LOG_KEY_FILE),
            dir,
            trail: Arc::default(),
        }
    }

    /// The same store with its log key file at `path` instead.
    #[must_use]
    pub fn with_log_key(mut self, path: impl Into<PathBuf>) -> StateStore {
        self.log_key = path.into();
        self.trail = Arc::default();
        self
    }

    /// The log key file.
    pub fn log_key_path(&self) -> &Path {
        &self.log_key
    }

    fn log_key(&self) -> Result<LogKey, AdminError> {
        LogKey::for_log(&self.log_key, &self.audit_path())
            .map_err(|e| AdminError::Io(e.to_string()))
    }

    /// Checks the audit trail's chain and head under the log key.
    ///
    /// # Errors
    /// Where the trail is broken, or the key cannot be read.
    pub fn verify_trail(&self) -> Result<Verified, Broken> {
        let key = LogKey::for_log(&self.log_key, &self.audit_path()).map_err(|e| Broken {
            line: 0,
            message: e.to_string(),
        })?;
        crate::records::verify_log(&self.audit_path(), &key)
    }

    /// Runs `f` on the open audit trail (opening and verifying it first if
    /// needed, reading others' appends); after an error the trail is closed,
    /// so the next use verifies it again. Call with the state lock held.
    fn with_trail<R>(
        &self,
        f: impl FnOnce(&mut OpenTrail) -> Result<R, AdminError>,
    ) -> Result<R, AdminError> {
        let mut slot = self.trail.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(OpenTrail::open(&self.audit_path(), &self.log_key()?)?);
        }
        let Some(trail) = slot.as_mut() else {
            unreachable!("opened above")
        };
        let result = trail.refresh().and_then(|()| f(trail));
        if result.is_err() {
            *slot = None;
        }
        result
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The audit trail's path.
    pub fn audit_path(&self) -> PathBuf {
        self.dir.join("audit.jsonl")
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// Reads the state (the empty state at revision 0 when none was ever
    /// written).
    ///
    /// # Errors
    /// An unreadable or invalid state file, with the JSON pointer at fault.
    pub fn load(&self) -> Result<AdminState, AdminError> {
        let bytes = match crate::storage::read_regular_file(&self.state_path(), MAX_STATE_BYTES) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(AdminState::default()),
            Err(e) => {
                return Err(AdminError::Io(format!(
                    "{}: {e}",
                    self.state_path().display()
                )));
            }
        };
        let value = parse_strict(
            &bytes,
            JsonLimits {
                max_bytes: MAX_STATE_BYTES,
                max_depth: 32,
            },
        )
        .map_err(|e| AdminError::Invalid(format!("{}: {e}", self.state_path().display())))?;
        serde_json::from_value(value)
            .map_err(|e| AdminError::Invalid(format!("{}: {e}", self.state_path().display())))
    }

    fn lock(&self) -> Result<File, AdminError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| AdminError::Io(format!("{}: {e}", self.dir.display())))?;
        let path = self.dir.join("state.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| AdminError::Io(format!("{}: {e}", path.display())))?;
        file.lock()
            .map_err(|e| AdminError::Io(format!("{}: {e}", path.display())))?;
        Ok(file)
    }

    /// Applies `change` for `request`: checks the revision and
    /// accountability, checks the resulting state with `validate`, audits,
    /// and writes the new state. Every attempt, accepted or refused, is in
    /// the audit trail.
    ///
    /// # Errors
    /// A stale revision, a missing actor or reason, a state `validate`
    /// refuses, or I/O.
    pub fn apply(
        &self,
        request: &Request,
        change: &Change,
        validate: impl FnOnce(&AdminState) -> Result<(), String>,
    ) -> Result<AdminState, AdminError> {
        self.apply_or_preview(request, change, validate, false)
    }

    /// The state `change` would give, checked as [`StateStore::apply`]
    /// checks it, with nothing written and nothing audited (a preview is
    /// not a change).
    ///
    /// # Errors
    /// See [`StateStore::apply`]; the refusal is not audited.
    pub fn preview(
        &self,
        request: &Request,
        change: &Change,
        validate: impl FnOnce(&AdminState) -> Result<(), String>,
    ) -> Result<AdminState, AdminError> {
        self.apply_or_preview(request, change, validate, true)
    }

    fn apply_or_preview(
        &self,
        request: &Request,
        change: &Change,
        validate: impl FnOnce(&AdminState) -> Result<(), String>,
        preview: bool,
    ) -> Result<AdminState, AdminError> {
        if preview {
            return check(request, change, &self.load()?, validate);
        }
        let _lock = self.lock()?;
        let current = self.load()?;
        // The state is written as this text, so its size is checked first:
        // a change that would make the state too large to read again is
        // refused (and audited as refused), never written.
        let outcome = check(request, change, &current, validate).and_then(|next| {
            let text = serde_json::to_string_pretty(&next)
                .map_err(|e| AdminError::Io(e.to_string()))?;
            if text.len() > MAX_STATE_BYTES {
                return Err(AdminError::Invalid(format!(
                    "the state would be {} bytes, more than the {MAX_STATE_BYTES} it may be: the change is refused",
                    text.len()
                )));
            }
            Ok((next, text))
        });
        let next = outcome.as_ref().ok().map(|(next, _)| next.clone());
        let record = json!({
            "kind": "admin",
            "at": AsOf::now(time::UtcOffset::UTC).to_rfc3339(),
            "actor": request.actor,
            "reason": request.reason,
            "change": change,
            "plugin": change.plugin(),
            "old": change.view(&current),
            "new": next.as_ref().map(|n| change.view(n)),
            "result": if outcome.is_ok() { "accepted" } else { "refused" },
            "error": outcome.as_ref().err().map(ToString::to_string),
            "revision": next.as_ref().map(|n| n.revision).unwrap_or(current.revision),
        });
        self.with_trail(|trail| {
            Self::note_interrupted(trail, &current)?;
            trail.append(record)
        })?;
        let (next, text) = outcome?;
        fault_point("after-audit");
        self.write_state(text.as_bytes())
            .map_err(|e| AdminError::Io(format!("{}: {e}", self.state_path().display())))?;
        Ok(next)
    }

    /// Writes the state file atomically: a synced temporary file renamed
    /// over the old one, then the directory synced.
    fn write_state(&self, bytes: &[u8]) -> std::io::Result<()> {
        let temporary = self.dir.join("state.json.partial");
        let mut file = File::create(&temporary)?;
        std::io::Write::write_all(&mut file, bytes)?;
        file.sync_all()?;
        fault_point("before-rename");
        std::fs::rename(&temporary, self.state_path())?;
        sync_dir(&self.dir);
        Ok(())
    }

    /// Records an administrative action refused before it could be stated
    /// as a [`Change`] (a package that fails its checks, say).
    ///
    /// # Errors
    /// I/O errors.
    pub fn refuse(&self, request: &Request, action: Value, error: &str) -> Result<(), AdminError> {
        let _lock = self.lock()?;
        let current = self.load()?;
        self.with_trail(|trail| {
            trail.append(json!({
                "kind": "admin",
                "at": AsOf::now(time::UtcOffset::UTC).to_rfc3339(),
                "actor": request.actor,
                "reason": request.reason,
                "change": action,
                "plugin": action.get("plugin").cloned().unwrap_or(Value::Null),
                "result": "refused",
                "error": error,
                "revision": current.revision,
            }))
        })
    }

    /// If the trail holds an accepted change the state never reached (a
    /// crash between the two writes), says so in the trail.
    fn note_interrupted(trail: &mut OpenTrail, current: &AdminState) -> Result<(), AdminError> {
        if let Some(revision) = trail.last_accepted
            && revision > current.revision
            && !trail.last_interrupted
        {
            trail.append(json!({
                "kind": "admin",
                "at": AsOf::now(time::UtcOffset::UTC).to_rfc3339(),
                "actor": "kinga",
                "reason": "recovery",
                "result": "interrupted",
                "revision": current.revision,
                "error": format!("the change to revision {revision} was audited but never written; the state stays at revision {}", current.revision),
            }))?;
        }
        Ok(())
    }
}

fn check(
    request: &Request,
    change: &Change,
    current: &AdminState,
    validate: impl FnOnce(&AdminState) -> Result<(), String>,
) -> Result<AdminState, AdminError> {
    if request.actor.trim().is_empty() {
        return Err(AdminError::MissingAccountability(
            "every change needs an actor".into(),
        ));
    }
    if request.reason.trim().is_empty() {
        return Err(AdminError::MissingAccountability(
            "every change needs a reason".into(),
        ));
    }
    if let Some(expected) = request.expected_revision
        && expected != current.revision
    {
        return Err(AdminError::StaleRevision {
            expected,
            current: current.revision,
        });
    }
    change.precondition(current).map_err(AdminError::Invalid)?;
    let next = change.apply(current);
    validate(&next).map_err(AdminError::Invalid)?;
    Ok(next)
}

/// Syncs a directory so that a rename in it survives a power loss.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// Test-only fault injection: when `KINGA_FAULT` names this point, the
/// process dies on the spot, as a crash would. Used by the tests that kill
/// the host in the middle of a state write; never set in production.
pub fn fault_point(point: &str) {
    if std::env::var("KINGA_FAULT").is_ok_and(|p| p == point) {
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(expected: Option<u64>) -> Request {
        Request {
            actor: "amina".into(),
            reason: "test".into(),
            expected_revision: expected,
        }
    }

    fn off(rule: &str) -> Change {
        Change::DisableRule {
            plugin: "p".into(),
            rule: rule.into(),
        }
    }

    #[test]
    fn a_change_that_would_make_the_state_unreadable_is_refused_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let mut settings = Map::new();
        settings.insert("blob".into(), Value::String("x".repeat(MAX_STATE_BYTES)));
        let change = Change::SetSettings {
            plugin: "p".into(),
            settings,
            reset: Vec::new(),
        };
        let err = store
            .apply(&request(None), &change, |_| Ok(()))
            .unwrap_err();
        assert!(err.to_string().contains("more than the"), "{err}");
        // Nothing was written; the state still reads, and the refusal is
        // in the trail.
        assert_eq!(store.load().unwrap().revision, 0);
        let trail = crate::records::read_log(&store.audit_path()).unwrap();
        assert_eq!(trail.last().unwrap()["result"], "refused");
        store.apply(&request(None), &off("r"), |_| Ok(())).unwrap();
    }

    #[test]
    fn changes_survive_reopening_and_bump_the_revision() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let state = store
            .apply(&request(Some(0)), &off("r"), |_| Ok(()))
            .unwrap();
        assert_eq!(state.revision, 1);
        let reopened = StateStore::new(dir.path()).load().unwrap();
        assert!(!reopened.plugin("p").rules["r"]);
        assert_eq!(reopened.revision, 1);
    }

    #[test]
    fn a_stale_revision_is_refused_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        store
            .apply(&request(Some(0)), &off("a"), |_| Ok(()))
            .unwrap();
        let err = store
            .apply(&request(Some(0)), &off("b"), |_| Ok(()))
            .unwrap_err();
        assert!(
            matches!(
                err,
                AdminError::StaleRevision {
                    expected: 0,
                    current: 1
                }
            ),
            "{err:?}"
        );
        let trail = crate::records::read_log(&store.audit_path()).unwrap();
        assert_eq!(trail.len(), 2);
        assert_eq!(trail[1]["result"], "refused");
        assert!(!store.load().unwrap().plugin("p").rules.contains_key("b"));
    }

    #[test]
    fn an_invalid_state_is_refused_and_nothing_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let err = store
            .apply(&request(None), &off("a"), |_| Err("no rule a".into()))
            .unwrap_err();
        assert!(
            matches!(&err, AdminError::Invalid(m) if m == "no rule a"),
            "{err:?}"
        );
        assert_eq!(store.load().unwrap(), AdminState::default());
    }

    #[test]
    fn a_change_needs_an_actor_and_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let anonymous = Request {
            actor: " ".into(),
            reason: "x".into(),
            expected_revision: None,
        };
        assert!(matches!(
            store.apply(&anonymous, &off("a"), |_| Ok(())),
            Err(AdminError::MissingAccountability(_))
        ));
    }
}
