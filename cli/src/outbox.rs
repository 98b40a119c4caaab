//! `kinga outbox`: the deliveries to Primero that `kinga serve` has not
//! made yet, or gave up on; and putting failed ones back.
//!
//! The outbox is `outbox/` in the administration directory; a running
//! server picks up a replayed delivery within a second.

use clap::Subcommand;
use kinga_host::serve::primero::outbox::{Outbox, describe};
use serde_json::json;

use super::setup::{self, ErrorPrinter};
use super::{EXIT_FAILED, EXIT_OK, Global};

/// `kinga outbox ...`.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// The deliveries waiting (or, with --failed, those that failed for
    /// good), oldest first: case, requests, attempts, last error.
    List {
        /// The failed ones instead.
        #[arg(long)]
        failed: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Put failed deliveries back in the outbox, to be tried at once.
    Replay {
        /// The delivery's id (from `list --failed`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every failed delivery.
        #[arg(long)]
        all: bool,
    },
}

/// Runs `kinga outbox ...`.
pub fn run(global: &Global, command: &OutboxCommand, errors: &ErrorPrinter) -> u8 {
    let home = match setup::home(global) {
        Ok(home) => home,
        Err(message) => return errors.usage(&message),
    };
    let outbox = Outbox::new(home.join("outbox"));
    let failure = |e: std::io::Error| {
        errors.usage(&format!("the outbox: {e}"));
        EXIT_FAILED
    };
    match command {
        OutboxCommand::List { failed, json } => {
            let items = match outbox.items(*failed) {
                Ok(items) => items,
                Err(e) => return failure(e),
            };
            let listed = describe(&items);
            let text = if *json {
                serde_json::to_string_pretty(&json!({ "failed": failed, "deliveries": listed }))
                    .unwrap_or_default()
            } else if items.is_empty() {
                format!(
                    "no {} deliveries",
                    if *failed { "failed" } else { "waiting" }
                )
            } else {
                items
                    .iter()
                    .map(|item| {
                        format!(
                            "{}  {}  {}/{} requests delivered, {} attempts{}",
                            item.id,
                            item.case_id,
                            item.done,
                            item.work.len(),
                            item.attempts,
                            item.last_error
                                .as_deref()
                                .map(|e| format!(", last: {e}"))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            setup::emit(&(text + "\n"));
            EXIT_OK
        }
        OutboxCommand::Replay { id, all } => {
            let ids: Vec<String> = if *all {
                match outbox.items(true) {
                    Ok(items) => items.into_iter().map(|i| i.id).collect(),
                    Err(e) => return failure(e),
                }
            } else {
                id.iter().cloned().collect()
            };
            for id in &ids {
                if let Err(e) = outbox.replay(id) {
                    return failure(e);
                }
                setup::emit(&format!("{id}: back in the outbox\n"));
            }
            if ids.is_empty() {
                setup::emit("no failed deliveries\n");
            }
            EXIT_OK
        }
    }
}
