//! Administration: switch rules and plugins, change settings; every change
//! with an actor, a reason and a revision, in the audit trail.

use clap::{Args, Subcommand};
use kinga_host::Host;
use kinga_host::admin::{self, AdminError, AdminState, Change, Request, StateStore};
use serde_json::{Map, Value, json};

use super::setup::{self, ErrorPrinter};
use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Global};

/// Who makes a change, why, and against which revision.
#[derive(Debug, Args)]
pub struct Accountability {
    /// Why the change is made (required; it goes into the audit trail).
    #[arg(long)]
    pub reason: String,
    /// Who makes it. Default: $KINGA_ACTOR, else $USER.
    #[arg(long, env = "KINGA_ACTOR")]
    pub actor: Option<String>,
    /// Refuse the change unless the state is still at this revision (as
    /// shown by `rules list` or `settings show`): no lost updates when two
    /// administrators act at once.
    #[arg(long, value_name = "N")]
    pub if_revision: Option<u64>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

impl Accountability {
    /// The request this accountability makes. Without `--actor`,
    /// `KINGA_ACTOR` or `USER` its actor is empty, and the store refuses it
    /// (and audits the attempt): see [`NO_ACTOR`].
    pub fn request(&self) -> Request {
        let actor = self
            .actor
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_default();
        Request {
            actor,
            reason: self.reason.clone(),
            expected_revision: self.if_revision,
        }
    }
}

/// What a change without a known actor is told: how to name one (a
/// container or a service often has no `USER`).
pub const NO_ACTOR: &str = "every change needs an actor, and none is known here: give --actor NAME, or set KINGA_ACTOR (USER is not set)";

/// `kinga rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List every rule of every plugin (or of one) and whether it is on.
    List {
        /// Only this plugin.
        plugin: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Switch a rule on.
    Enable {
        /// The plugin.
        plugin: String,
        /// The rule.
        rule: String,
        #[command(flatten)]
        who: Accountability,
    },
    /// Switch a rule off: it produces no output until switched on again.
    Disable {
        /// The plugin.
        plugin: String,
        /// The rule.
        rule: String,
        #[command(flatten)]
        who: Accountability,
    },
}

/// `kinga settings ...`.
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show a plugin's effective settings and which an administrator set.
    Show {
        /// The plugin.
        plugin: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set settings, as KEY=VALUE (VALUE is JSON, else a string); checked
    /// against the plugin's settings schema before anything changes.
    Set {
        /// The plugin.
        plugin: String,
        /// KEY=VALUE pairs.
        #[arg(required = true, value_parser = parse_pair)]
        pairs: Vec<(String, Value)>,
        /// Check the change and show each setting old → new, without
        /// applying it.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        who: Accountability,
    },
    /// Put settings back to the plugin's defaults (removes what an
    /// administrator set); audited like any change.
    Reset {
        /// The plugin.
        plugin: String,
        /// The keys to reset.
        #[arg(required = true)]
        keys: Vec<String>,
        /// Check the change and show each setting old → new, without
        /// applying it.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        who: Accountability,
    },
}

/// Parses `KEY=VALUE` (VALUE is JSON, else a string).
pub(crate) fn parse_pair(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .ok_or("expected KEY=VALUE")?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((key.to_owned(), value))
}

/// The state store and the host a change is checked against, or the exit
/// code of the error that stopped loading them (already printed).
pub fn store_and_host(global: &Global, errors: &ErrorPrinter) -> Result<(StateStore, Host), u8> {
    let store = setup::state_store(global).map_err(|message| errors.usage(&message))?;
    let host = setup::admin_host(global).map_err(|e| errors.fail(&e))?;
    Ok((store, host))
}

/// Applies `change` through the state store, checked against the loaded
/// plugins, and reports it. Returns the exit code.
pub fn apply(global: &Global, change: Change, who: &Accountability, errors: &ErrorPrinter) -> u8 {
    let (store, host) = match store_and_host(global, errors) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let outcome = admin::apply(&store, &host, &who.request(), &change);
    report(outcome.map(|state| (state, change)), who, errors)
}

/// Shows each setting `change` moves, old → new, then applies it (unless
/// `dry_run`: then it is only checked). Returns the exit code.
fn change_settings(
    global: &Global,
    change: &Change,
    dry_run: bool,
    who: &Accountability,
    errors: &ErrorPrinter,
) -> u8 {
    let (store, host) = match store_and_host(global, errors) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let changes = admin::setting_changes(&host, change);
    let show_changes = || {
        if who.json {
            return;
        }
        let mut shown = String::new();
        for moved in &changes {
            shown.push_str(&setup::printable(&format!(
                "  {}: {} → {}",
                moved.key,
                abbreviated(&moved.old),
                abbreviated(&moved.new)
            )));
            shown.push('\n');
        }
        setup::emit(&shown);
    };
    if !dry_run {
        let outcome = admin::apply(&store, &host, &who.request(), change);
        if outcome.is_ok() {
            show_changes();
        }
        return report(outcome.map(|state| (state, change.clone())), who, errors);
    }
    match admin::preview(&store, &host, &who.request(), change) {
        Ok(next) => {
            show_changes();
            let revision = next.revision.saturating_sub(1);
            let text = if who.json {
                serde_json::to_string_pretty(
                    &json!({"dry_run": true, "revision": revision, "change": change, "changes": changes}),
                )
                .unwrap_or_default()
            } else {
                format!(
                    "dry run: the change would be accepted at revision {revision}; nothing was changed"
                )
            };
            setup::emit(&(text + "\n"));
            EXIT_OK
        }
        Err(e) => report(Err(e), who, errors),
    }
}

/// A setting's value as one short line.
fn abbreviated(value: &Value) -> String {
    let shown = value.to_string();
    if shown.len() > 70 {
        format!("{}…", &shown[..shown.floor_char_boundary(70)])
    } else {
        shown
    }
}

/// Prints the outcome of an administrative change and returns the exit
/// code.
pub fn report(
    outcome: Result<(AdminState, Change), AdminError>,
    who: &Accountability,
    errors: &ErrorPrinter,
) -> u8 {
    match outcome {
        Ok((state, change)) => {
            let text = if who.json {
                let touched = match &change {
                    Change::SetProfile { platform, .. } | Change::ResetProfile { platform } => {
                        json!({ "profile": state.profiles.get(platform) })
                    }
                    _ => json!(state.plugin(change.plugin())),
                };
                serde_json::to_string_pretty(
                    &json!({"revision": state.revision, "change": change, "state": touched}),
                )
                .unwrap_or_default()
            } else {
                format!("{} (revision {})", describe(&change), state.revision)
            };
            setup::emit(&(text + "\n"));
            EXIT_OK
        }
        Err(AdminError::MissingAccountability(_)) if who.request().actor.trim().is_empty() => {
            errors.usage(&format!("refused: {NO_ACTOR}"))
        }
        Err(e) => fail(e, errors),
    }
}

/// Prints a refused or failed administrative operation and returns its
/// exit code: an invalid profile with every problem, the rest in a line.
pub fn fail(error: AdminError, errors: &ErrorPrinter) -> u8 {
    let code = match error {
        AdminError::InvalidProfile(rejection) => {
            return super::convert::report_refusal(
                errors,
                "",
                &kinga_host::Error::InvalidProfile(rejection),
            );
        }
        AdminError::StaleRevision { .. } | AdminError::Io(_) | AdminError::Key(_) => EXIT_FAILED,
        _ => EXIT_BAD_INPUT,
    };
    errors.usage(&format!("refused: {error}"));
    code
}

/// A change in one sentence.
fn describe(change: &Change) -> String {
    match change {
        Change::EnablePlugin { plugin } => format!("plugin {plugin} is now on"),
        Change::DisablePlugin { plugin } => format!("plugin {plugin} is now off"),
        Change::EnableRule { plugin, rule } => format!("rule {rule} of {plugin} is now on"),
        Change::DisableRule { plugin, rule } => format!("rule {rule} of {plugin} is now off"),
        Change::SetSettings {
            plugin,
            settings,
            reset,
        } => {
            let keys: Vec<&str> = settings.keys().map(String::as_str).collect();
            let mut said = Vec::new();
            if !keys.is_empty() {
                said.push(format!("settings of {plugin} changed: {}", keys.join(", ")));
            }
            if !reset.is_empty() {
                said.push(format!(
                    "settings of {plugin} back at their defaults: {}",
                    reset.join(", ")
                ));
            }
            said.join("; ")
        }
        Change::Install {
            plugin,
            package,
            downgrade,
        } => format!(
            "plugin {plugin} {} is installed and in use{}",
            package.version,
            if *downgrade {
                " (a downgrade, as asked)"
            } else {
                ""
            }
        ),
        Change::Rollback { plugin } => {
            format!("plugin {plugin} is rolled back to its earlier version")
        }
        Change::CloseBreaker { plugin } => format!(
            "the circuit breaker of {plugin} is closed: every server using this directory \
             reloads and calls it again"
        ),
        Change::TrustKey { key_id } => format!("publisher key {key_id} is trusted"),
        Change::UntrustKey { key_id } => format!("publisher key {key_id} is no longer trusted"),
        Change::SetProfile { platform, profile } => format!(
            "{platform} is now read with profile {} (sha256 {})",
            profile.profile, profile.sha256
        ),
        Change::ResetProfile { platform } => {
            format!("{platform} is now read with its bundled profile")
        }
    }
}

/// The host and the state it was built from, from one read of the state.
fn loaded(global: &Global, errors: &ErrorPrinter) -> Result<(Host, AdminState), u8> {
    setup::state_store(global).map_err(|m| errors.usage(&m))?;
    let deployment = setup::deployment(global);
    let state = deployment.state().map_err(|e| errors.fail(&e))?;
    let host = deployment.build_from(&state).map_err(|e| errors.fail(&e))?;
    Ok((host, state))
}

/// Runs `kinga rules ...`.
pub fn rules(global: &Global, command: &RulesCommand, errors: &ErrorPrinter) -> u8 {
    match command {
        RulesCommand::Enable { plugin, rule, who } => apply(
            global,
            Change::EnableRule {
                plugin: plugin.clone(),
                rule: rule.clone(),
            },
            who,
            errors,
        ),
        RulesCommand::Disable { plugin, rule, who } => apply(
            global,
            Change::DisableRule {
                plugin: plugin.clone(),
                rule: rule.clone(),
            },
            who,
            errors,
        ),
        RulesCommand::List { plugin, json } => {
            let (host, state) = match loaded(global, errors) {
                Ok(loaded) => loaded,
                Err(code) => return code,
            };
            if let Some(id) = plugin
                && host.plugin(id).is_none()
            {
                return errors.usage(&format!("no plugin {id} is loaded"));
            }
            let mut rows = Vec::new();
            for p in host
                .plugins()
                .filter(|p| plugin.as_ref().is_none_or(|id| &p.description().id == id))
            {
                let admin = state.plugin(&p.description().id);
                for rule in &p.description().rules {
                    rows.push(json!({
                        "plugin": p.description().id,
                        "plugin_on": p.switched_on(),
                        "rule": rule.id,
                        "title": rule.title,
                        "on": p.enabled_rules().contains(&rule.id),
                        "set_by": if admin.rules.contains_key(&rule.id) { "administrator" } else { "default" },
                    }));
                }
            }
            let text = if *json {
                serde_json::to_string_pretty(&json!({"revision": state.revision, "rules": rows}))
                    .unwrap_or_default()
                    + "\n"
            } else {
                let mut text = format!("revision {}\n", state.revision);
                for row in &rows {
                    text.push_str(&format!(
                        "{:<32} {:<26} {:<4} ({}){}\n",
                        row["plugin"].as_str().unwrap_or_default(),
                        row["rule"].as_str().unwrap_or_default(),
                        if row["on"] == true { "on" } else { "off" },
                        row["set_by"].as_str().unwrap_or_default(),
                        if row["plugin_on"] == true {
                            ""
                        } else {
                            "  [plugin switched off]"
                        },
                    ));
                }
                text
            };
            setup::emit(&text);
            EXIT_OK
        }
    }
}

/// Runs `kinga settings ...`.
pub fn settings(global: &Global, command: &SettingsCommand, errors: &ErrorPrinter) -> u8 {
    match command {
        SettingsCommand::Set {
            plugin,
            pairs,
            dry_run,
            who,
        } => {
            let change = Change::SetSettings {
                plugin: plugin.clone(),
                settings: pairs.iter().cloned().collect(),
                reset: Vec::new(),
            };
            change_settings(global, &change, *dry_run, who, errors)
        }
        SettingsCommand::Reset {
            plugin,
            keys,
            dry_run,
            who,
        } => {
            let change = Change::SetSettings {
                plugin: plugin.clone(),
                settings: Map::new(),
                reset: keys.clone(),
            };
            change_settings(global, &change, *dry_run, who, errors)
        }
        SettingsCommand::Show { plugin, json } => {
            let (host, state) = match loaded(global, errors) {
                Ok(loaded) => loaded,
                Err(code) => return code,
            };
            let Some(loaded) = host.plugins().find(|p| &p.description().id == plugin) else {
                return errors.usage(&format!("no plugin {plugin} is loaded"));
            };
            let effective = loaded.settings();
            let set_by_admin: Vec<String> = state.plugin(plugin).settings.keys().cloned().collect();
            let text = if *json {
                serde_json::to_string_pretty(&json!({
                    "revision": state.revision,
                    "plugin": plugin,
                    "settings": effective,
                    "set_by_administrator": set_by_admin,
                }))
                .unwrap_or_default()
                    + "\n"
            } else {
                let mut text = format!("{plugin} (revision {})\n", state.revision);
                for (key, value) in effective.as_object().into_iter().flatten() {
                    let origin = if set_by_admin.contains(key) {
                        "administrator"
                    } else {
                        "default"
                    };
                    let shown = abbreviated(value);
                    text.push_str(&format!("  {key:<28} {shown:<72} ({origin})\n"));
                }
                text
            };
            setup::emit(&text);
            EXIT_OK
        }
    }
}
