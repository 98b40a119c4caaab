//! Primero end to end: `POST /v1/hooks/primero` takes Primero's case
//! webhook, maps it through the Primero profile in use, screens and routes
//! the case, and (with `[primero.write_back]`) writes the answer back
//! through Primero's API from a durable outbox.
//!
//! | part | file |
//! |---|---|
//! | the webhook: Primero's `x-api-key` or Basic auth, its wrapped body, a rate limit per peer | `hook.rs` |
//! | the outbox: one file per delivery, a ledger of what was delivered, work that is never sent twice | `outbox.rs` |
//! | Primero's API: Basic or token login within Primero's login limit, what an answer means | `client.rs` |
//! | the worker: delivery in order per case, backoff, `Retry-After`, dead letters | `worker.rs` |
//!
//! ```toml
//! [primero]
//! webhook_auth = "api_key"            # or "basic": what Primero's webhook is configured with
//! webhook_secret_sha256 = "…"          # sha256 of the API key (or of "user:password")
//!
//! [primero.write_back]
//! base_url = "https://primero.example.org"
//! user = "kinga_sync"                  # a service account with a role for the services form
//! password_file = "/run/secrets/primero"
//! login = "basic"                      # or "token"
//! ```

mod client;
pub mod hook;
pub mod outbox;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex};

use serde::Deserialize;

use super::config::ConfigError;
pub use outbox::{Item, Outbox, Queued};
pub use worker::spawn as spawn_worker;

/// How Primero's webhook authenticates (its `auth_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookAuth {
    /// `x-api-key: <secret>`.
    ApiKey,
    /// HTTP Basic with `user:password`.
    Basic,
}

/// How Kinga's service account logs in to Primero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Login {
    /// HTTP Basic on every request (no login, no login limit).
    #[default]
    Basic,
    /// A JWT from `POST /api/v2/tokens`, reused for 55 minutes.
    Token,
}

/// `[primero]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrimeroConfig {
    /// What Primero's webhook sends to authenticate.
    pub webhook_auth: WebhookAuth,
    /// SHA-256 (lowercase hex) of the webhook's secret: the API key, or
    /// `user:password` for Basic.
    pub webhook_secret_sha256: String,
    /// Writing answers back; without it, the webhook answers with the
    /// requests an integrator would send.
    #[serde(default)]
    pub write_back: Option<WriteBack>,
}

/// `[primero.write_back]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteBack {
    /// Primero's base URL (`https://…`; `http://` only on loopback).
    pub base_url: String,
    /// The service account's user name.
    pub user: String,
    /// A file holding its password (never the configuration itself).
    pub password_file: PathBuf,
    /// Basic (default) or token login.
    #[serde(default)]
    pub login: Login,
    /// The webhook's URL as Primero knows it: when set, each write-back
    /// also sets the case's sync status for it (`synced`; `failed` or
    /// `not_found` when a delivery fails for good), which needs the
    /// `sync_external` permission.
    #[serde(default)]
    pub sync_url: Option<String>,
    /// Attempts before a delivery is moved to the failed ones.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The first retry's delay, doubled at each further one.
    #[serde(default = "default_retry_initial_ms")]
    pub retry_initial_ms: u64,
    /// The longest delay between retries.
    #[serde(default = "default_retry_max_seconds")]
    pub retry_max_seconds: u64,
    /// One request's time limit.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
}

fn default_max_attempts() -> u32 {
    10
}
fn default_retry_initial_ms() -> u64 {
    2_000
}
fn default_retry_max_seconds() -> u64 {
    900
}
fn default_timeout_seconds() -> u64 {
    30
}

impl PrimeroConfig {
    /// Checks what the types cannot.
    ///
    /// # Errors
    /// The key at fault and why.
    pub fn check(&self) -> Result<(), ConfigError> {
        let hex = &self.webhook_secret_sha256;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ConfigError::invalid(
                "primero.webhook_secret_sha256",
                "must be a SHA-256 in lowercase hex (64 characters)",
            ));
        }
        let Some(write) = &self.write_back else {
            return Ok(());
        };
        let loopback_http = write.base_url.starts_with("http://127.")
            || write.base_url.starts_with("http://localhost")
            || write.base_url.starts_with("http://[::1]");
        if !write.base_url.starts_with("https://") && !loopback_http {
            return Err(ConfigError::invalid(
                "primero.write_back.base_url",
                "must be https:// (plain http only to a loopback address)",
            ));
        }
        if write.user.trim().is_empty() {
            return Err(ConfigError::invalid("primero.write_back.user", "is empty"));
        }
        if write.max_attempts == 0 || write.retry_initial_ms == 0 || write.timeout_seconds == 0 {
            return Err(ConfigError::invalid(
                "primero.write_back",
                "max_attempts, retry_initial_ms and timeout_seconds must be at least 1",
            ));
        }
        Ok(())
    }
}

/// The Primero integration of a running server.
pub struct Primero {
    /// Its configuration.
    pub config: PrimeroConfig,
    /// The outbox, when answers are written back.
    pub outbox: Option<Outbox>,
    /// The service account's password, read once at start.
    password: String,
    /// Wakes the worker when something is queued.
    wake: Arc<(Mutex<bool>, Condvar)>,
    /// Set at shutdown.
    stop: Arc<AtomicBool>,
}

impl Primero {
    /// The integration for `config`, its outbox in `admin_dir/outbox`.
    ///
    /// # Errors
    /// A write-back without an administration directory, or a password
    /// file that cannot be read.
    pub fn new(config: &PrimeroConfig, admin_dir: Option<&Path>) -> Result<Primero, ConfigError> {
        config.check()?;
        let (outbox, password) = match &config.write_back {
            None => (None, String::new()),
            Some(write) => {
                let dir = admin_dir.ok_or_else(|| {
                    ConfigError::invalid(
                        "primero.write_back",
                        "needs an administration directory (--home) for its outbox",
                    )
                })?;
                let password = std::fs::read_to_string(&write.password_file).map_err(|e| {
                    ConfigError::invalid(
                        "primero.write_back.password_file",
                        format!("{}: {e}", write.password_file.display()),
                    )
                })?;
                let password = password.trim_end_matches(['\n', '\r']).to_owned();
                (Some(Outbox::new(dir.join("outbox"))), password)
            }
        };
        Ok(Primero {
            config: config.clone(),
            outbox,
            password,
            wake: Arc::default(),
            stop: Arc::default(),
        })
    }

    /// Wakes the worker.
    pub fn wake(&self) {
        let (flag, condvar) = &*self.wake;
        *flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
        condvar.notify_all();
    }

    /// Stops the worker (it finishes the request in hand; the outbox keeps
    /// the rest for the next start).
    pub fn stop(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake();
    }
}
