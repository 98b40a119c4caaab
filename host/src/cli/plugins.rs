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
}

/// Runs the command and returns its exit code.
pub fn run(global: &Global, command: &PluginsCommand, errors: &ErrorPrinter) -> u8 {
    let host = match setup::host(global) {
        Ok(host) => host,
        Err(e) => return errors.fail(&e),
    };
    let PluginsCommand::List { json } = command;
    if *json {
        let all: Vec<_> = host.plugins().map(|p| p.description()).collect();
        setup::emit(&(serde_json::to_string_pretty(&all).unwrap_or_default() + "\n"));
        return EXIT_OK;
    }
    let mut text = String::new();
    for plugin in host.plugins() {
        let d = plugin.description();
        text.push_str(&format!(
            "{}  {} {}  ({})\n",
            d.id,
            d.kind.as_str(),
            d.version,
            d.name
        ));
        text.push_str(&format!("    {}\n", d.purpose));
        for rule in &d.rules {
            let state = if plugin.enabled_rules().contains(&rule.id) {
                "on "
            } else {
                "off"
            };
            text.push_str(&format!("    [{state}] {:<28} {}\n", rule.id, rule.title));
        }
        for template in &d.templates {
            let params: Vec<String> = template
                .parameters
                .iter()
                .map(|p| {
                    if p.required {
                        p.name.clone()
                    } else {
                        format!("[{}]", p.name)
                    }
                })
                .collect();
            text.push_str(&format!(
                "    template {:<22} {} (params: {})\n",
                template.id,
                template.title,
                params.join(", ")
            ));
        }
        text.push('\n');
    }
    setup::emit(&text);
    EXIT_OK
}
