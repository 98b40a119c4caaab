//! `kinga plugins`: what is loaded.

use clap::Subcommand;

use super::setup::{self, ErrorPrinter};
use super::{EXIT_OK, Global};

/// Plugin commands.
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List the plugins with their kind, version and rules.
    List {
        /// Print the full descriptions as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Switch a plugin on.
    Enable {
        /// The plugin.
        plugin: String,
        #[command(flatten)]
        who: super::admin::Accountability,
    },
    /// Switch a plugin off: it is not called until switched on again.
    Disable {
        /// The plugin.
        plugin: String,
        #[command(flatten)]
        who: super::admin::Accountability,
    },
    /// Make a package (plugin.wasm + manifest.json) from a component,
    /// signed with a publisher key.
    Sign {
        /// The component (`.wasm`), or a plugin crate to build first.
        component: std::path::PathBuf,
        /// The plugin's own fixtures (`*.json`, as `kinga test` runs them),
        /// signed into the package: they must pass now, and every
        /// installation runs them again before the plugin is put in use.
        #[arg(long, value_name = "DIR")]
        fixtures: Option<std::path::PathBuf>,
        /// The secret key (NAME.key). Without it the package is unsigned:
        /// for development only.
        #[arg(long)]
        key: Option<std::path::PathBuf>,
        /// The package directory to write.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Verify a package (hash, signature, trusted key, what the plugin says
    /// of itself), keep it, and make it the version in use.
    Install {
        /// The package directory.
        package: std::path::PathBuf,
        /// DEVELOPMENT ONLY: accept a package without a signature (never a
        /// package whose signature was stripped).
        #[arg(long)]
        allow_unsigned: bool,
        /// Install a version lower than the one in use, or the same version
        /// with other content (audited as a downgrade).
        #[arg(long)]
        allow_downgrade: bool,
        #[command(flatten)]
        who: super::admin::Accountability,
    },
    /// Run the version in use and a candidate (a package, or the same
    /// version with other settings) over the same cases and show what would
    /// change, and where each side failed. Nothing is recorded as a decision.
    Shadow {
        /// The plugin.
        plugin: String,
        /// The candidate package directory.
        #[arg(long, required_unless_present = "set", conflicts_with = "set")]
        candidate: Option<std::path::PathBuf>,
        /// A settings change to shadow instead, as KEY=VALUE (repeatable;
        /// VALUE is JSON, else a string), laid over the settings in use.
        #[arg(long, value_name = "KEY=VALUE", value_parser = super::admin::parse_pair)]
        set: Vec<(String, serde_json::Value)>,
        /// The cases, one JSON object per line.
        #[arg(long, value_name = "FILE.jsonl")]
        cases: std::path::PathBuf,
        /// The lines are a platform's own documents (--from, --profile).
        #[command(flatten)]
        read: super::convert::ReadArgs,
        /// The as-of (default: now, East Africa Time).
        #[arg(long, value_name = "WHEN")]
        as_of: Option<String>,
        /// DEVELOPMENT ONLY: accept an unsigned candidate.
        #[arg(long)]
        allow_unsigned: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Go back to the version in use before the last install.
    Rollback {
        /// The plugin.
        plugin: String,
        #[command(flatten)]
        who: super::admin::Accountability,
    },
    /// Close a plugin's circuit breaker: every `kinga serve` using this
    /// administration directory reloads and calls the plugin again.
    CloseBreaker {
        /// The plugin.
        plugin: String,
        #[command(flatten)]
        who: super::admin::Accountability,
    },
}

/// Runs the command and returns its exit code.
pub fn run(global: &Global, command: &PluginsCommand, errors: &ErrorPrinter) -> u8 {
    let json = match command {
        PluginsCommand::List { json } => json,
        PluginsCommand::Enable { plugin, who } => {
            return super::admin::apply(
                global,
                kinga_host::admin::Change::EnablePlugin {
                    plugin: plugin.clone(),
                },
                who,
                errors,
            );
        }
        PluginsCommand::Sign {
            component,
            fixtures,
            key,
            out,
        } => {
            return super::keys::sign(component, fixtures.as_deref(), key.as_deref(), out, errors);
        }
        PluginsCommand::Install {
            package,
            allow_unsigned,
            allow_downgrade,
            who,
        } => {
            let options = kinga_host::admin::InstallOptions {
                allow_unsigned: *allow_unsigned,
                allow_downgrade: *allow_downgrade,
            };
            return super::keys::install(global, package, options, who, errors);
        }
        PluginsCommand::Shadow {
            plugin,
            candidate,
            set,
            cases,
            read,
            as_of,
            allow_unsigned,
            json,
        } => {
            return super::keys::shadow(
                global,
                &super::keys::ShadowArgs {
                    plugin,
                    candidate: match candidate {
                        Some(dir) => super::keys::Candidate::Package(dir),
                        None => super::keys::Candidate::Settings(set.iter().cloned().collect()),
                    },
                    cases,
                    read,
                    as_of: as_of.as_deref(),
                    allow_unsigned: *allow_unsigned,
                    json: *json,
                },
                errors,
            );
        }
        PluginsCommand::Rollback { plugin, who } => {
            return super::admin::apply(
                global,
                kinga_host::admin::Change::Rollback {
                    plugin: plugin.clone(),
                },
                who,
                errors,
            );
        }
        PluginsCommand::CloseBreaker { plugin, who } => {
            return super::admin::apply(
                global,
                kinga_host::admin::Change::CloseBreaker {
                    plugin: plugin.clone(),
                },
                who,
                errors,
            );
        }
        PluginsCommand::Disable { plugin, who } => {
            return super::admin::apply(
                global,
                kinga_host::admin::Change::DisablePlugin {
                    plugin: plugin.clone(),
                },
                who,
                errors,
            );
        }
    };
    let host = match setup::admin_host(global) {
        Ok(host) => host,
        Err(e) => return errors.fail(&e),
    };
    if *json {
        let all: Vec<serde_json::Value> = host
            .plugins()
            .map(|p| {
                let mut shown = serde_json::to_value(p.description()).unwrap_or_default();
                if let Some(map) = shown.as_object_mut() {
                    map.insert("switched_on".into(), p.switched_on().into());
                    map.insert("held".into(), p.held().into());
                }
                shown
            })
            .collect();
        setup::emit(&(serde_json::to_string_pretty(&all).unwrap_or_default() + "\n"));
        return EXIT_OK;
    }
    // Every word a plugin supplied is neutralised before it reaches the
    // terminal (the load-time schema refuses control and bidirectional
    // characters already; this holds whatever a later change lets through).
    let shown = kinga_host::neutralise;
    let mut text = String::new();
    for plugin in host.plugins() {
        let d = plugin.description();
        let switch = if plugin.switched_on() {
            ""
        } else {
            "  [switched off by an administrator]"
        };
        text.push_str(&format!(
            "{}  {} {}  ({}){switch}\n",
            shown(&d.id),
            d.kind.as_str(),
            shown(&d.version),
            shown(&d.name)
        ));
        if let Some(reason) = plugin.held() {
            text.push_str(&format!(
                "    HELD: it answers nothing until its settings are changed or reset: {}\n",
                shown(reason)
            ));
        }
        text.push_str(&format!("    {}\n", shown(&d.purpose)));
        for rule in &d.rules {
            let state = if plugin.enabled_rules().contains(&rule.id) {
                "on "
            } else {
                "off"
            };
            text.push_str(&format!(
                "    [{state}] {:<28} {}\n",
                shown(&rule.id),
                shown(&rule.title)
            ));
        }
        for template in &d.templates {
            let params: Vec<String> = template
                .parameters
                .iter()
                .map(|p| {
                    if p.required {
                        shown(&p.name)
                    } else {
                        format!("[{}]", shown(&p.name))
                    }
                })
                .collect();
            text.push_str(&format!(
                "    template {:<22} {} (params: {})\n",
                shown(&template.id),
                shown(&template.title),
                params.join(", ")
            ));
        }
        text.push('\n');
    }
    setup::emit(&text);
    EXIT_OK
}
