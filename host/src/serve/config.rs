//! The service's configuration: a TOML file, with the listen addresses
//! overridable from the command line or the environment.
//!
//! Unknown keys are refused (a misspelt limit must not silently fall back
//! to its default), and so is plain HTTP on anything but loopback unless
//! `allow_plain_http` says so (a reverse proxy doing TLS, say).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Evaluate cases, build reports, read the plugins.
    Evaluator,
    /// Switch plugins and rules, change settings, install and roll back
    /// packages, read the plugins and the audit trail.
    Admin,
    /// Read the plugins and the audit trail.
    Auditor,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Evaluator => "evaluator",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// The public listener (the `/v1` API).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// A separate listener for `/healthz`, `/readyz` and `/metrics`. Without
    /// one, those routes are served nowhere unless `ops_on_public` is set.
    #[serde(default = "default_ops_listen")]
    pub ops_listen: Option<SocketAddr>,
    /// Also serve the operations routes on the public listener.
    #[serde(default)]
    pub ops_on_public: bool,
    /// Serve plain HTTP on a non-loopback address (behind a TLS-terminating
    /// proxy only).
    #[serde(default)]
    pub allow_plain_http: bool,
    /// Serve TLS with these files.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
    /// Accept unsigned packages on `POST /v1/packages` (development only).
    #[serde(default)]
    pub allow_unsigned_packages: bool,
    /// Seconds between checks for a newer administration state written by
    /// another replica or the CLI (0: never; `SIGHUP` still reloads).
    #[serde(default = "default_reload_interval")]
    pub reload_interval_seconds: u64,
    /// The HTTP limits.
    #[serde(default)]
    pub limits: HttpLimits,
    /// The API tokens, stored as SHA-256 hashes.
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
    /// Primero's webhook, and writing answers back to Primero.
    #[serde(default)]
    pub primero: Option<super::primero::PrimeroConfig>,
}

/// Certificate chain and private key, PEM files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// One API token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Who holds it: the name the audit trail records.
    pub principal: String,
    /// What it may do.
    pub roles: Vec<Role>,
    /// The SHA-256 of the token, lowercase hex (`kinga token` prints it).
    pub sha256: String,
    /// Reports are returned without small-cell suppression.
    #[serde(default)]
    pub unpublished_figures: bool,
}

/// Limits on requests and connections.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpLimits {
    /// Largest JSON body (evaluations, administration).
    pub max_body_bytes: usize,
    /// Largest JSON Lines body of a report.
    pub max_report_bytes: u64,
    /// Largest package upload.
    pub max_package_bytes: usize,
    /// Most cases in one evaluation request.
    pub max_batch: usize,
    /// Most bytes of answers (as JSON) one request gathers: a batch stops
    /// evaluating once its answers reach it, and answers its remaining
    /// cases with `answers-too-large`.
    pub max_answer_bytes: usize,
    /// Most bytes of plugin log lines one request writes; more are dropped
    /// and counted.
    pub max_log_bytes: usize,
    /// Deepest nesting of a JSON body.
    pub max_depth: usize,
    /// Largest request head (request line and headers).
    pub max_header_bytes: usize,
    /// Longest request target (path and query).
    pub max_uri_bytes: usize,
    /// Time to receive a request's head.
    pub header_timeout_ms: u64,
    /// Time to receive a body, or between two parts of a streamed body.
    pub body_timeout_ms: u64,
    /// Slowest a streamed body (a report's cases) may arrive, on average,
    /// after its first `body_timeout_ms`: a slower upload is cut (408), so
    /// that it cannot hold an evaluation place by trickling.
    pub min_upload_bytes_per_second: u64,
    /// Time to answer a request (reports: `report_timeout_ms`).
    pub request_timeout_ms: u64,
    /// Time to answer a report request.
    pub report_timeout_ms: u64,
    /// Open connections at most.
    pub max_connections: usize,
    /// Evaluations running at once (each on a blocking thread).
    pub max_concurrent_evaluations: usize,
    /// Time an evaluation may wait for a free place before a 503.
    pub queue_timeout_ms: u64,
    /// Requests per second per token (or per client address before
    /// authentication).
    pub rate_per_second: u32,
    /// Requests allowed in a burst above the rate.
    pub rate_burst: u32,
    /// Time in-flight requests get to finish at shutdown.
    pub shutdown_grace_ms: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        HttpLimits {
            max_body_bytes: 1 << 20,
            max_report_bytes: 512 << 20,
            max_package_bytes: 24 << 20,
            max_batch: 100,
            max_answer_bytes: 4 << 20,
            max_log_bytes: 256 << 10,
            max_depth: 40,
            max_header_bytes: 16 << 10,
            max_uri_bytes: 4 << 10,
            header_timeout_ms: 10_000,
            body_timeout_ms: 15_000,
            min_upload_bytes_per_second: 16 << 10,
            request_timeout_ms: 30_000,
            report_timeout_ms: 600_000,
            max_connections: 1024,
            max_concurrent_evaluations: cores * 2,
            queue_timeout_ms: 2_000,
            rate_per_second: 500,
            rate_burst: 1_000,
            shutdown_grace_ms: 30_000,
        }
    }
}

impl HttpLimits {
    /// [`HttpLimits::header_timeout_ms`] as a duration.
    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }
    /// [`HttpLimits::body_timeout_ms`] as a duration.
    pub fn body_timeout(&self) -> Duration {
        Duration::from_millis(self.body_timeout_ms)
    }
    /// [`HttpLimits::request_timeout_ms`] as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
    /// [`HttpLimits::report_timeout_ms`] as a duration.
    pub fn report_timeout(&self) -> Duration {
        Duration::from_millis(self.report_timeout_ms)
    }
    /// [`HttpLimits::queue_timeout_ms`] as a duration.
    pub fn queue_timeout(&self) -> Duration {
        Duration::from_millis(self.queue_timeout_ms)
    }
    /// The bounds of one request's plugin calls, with `deadline`.
    pub fn request_limits(&self, deadline: Duration) -> crate::RequestLimits {
        crate::RequestLimits {
            answer_bytes: self.max_answer_bytes,
            log_bytes: self.max_log_bytes,
            deadline: Some(deadline),
        }
    }

    /// [`HttpLimits::shutdown_grace_ms`] as a duration.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_ops_listen() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 9464)))
}

fn default_reload_interval() -> u64 {
    5
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: default_listen(),
            ops_listen: default_ops_listen(),
            ops_on_public: false,
            allow_plain_http: false,
            tls: None,
            allow_unsigned_packages: false,
            reload_interval_seconds: default_reload_interval(),
            limits: HttpLimits::default(),
            tokens: Vec::new(),
            primero: None,
        }
    }
}

impl ServeConfig {
    /// Reads and checks a configuration file. Relative TLS paths are taken
    /// from the file's directory.
    ///
    /// # Errors
    /// An unreadable file, TOML that does not fit (the message names the
    /// key), or a configuration [`ServeConfig::check`] refuses.
    pub fn load(path: &Path) -> Result<ServeConfig, ConfigError> {
        let shown = || path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Unreadable {
            path: shown(),
            cause,
        })?;
        let mut config: ServeConfig =
            toml::from_str(&text).map_err(|cause| ConfigError::Syntax {
                path: shown(),
                cause: Box::new(cause),
            })?;
        if let (Some(write), Some(dir)) = (
            config.primero.as_mut().and_then(|p| p.write_back.as_mut()),
            path.parent(),
        ) {
            write.password_file = dir.join(&write.password_file);
        }
        if let (Some(tls), Some(dir)) = (config.tls.as_mut(), path.parent()) {
            tls.cert = dir.join(&tls.cert);
            tls.key = dir.join(&tls.key);
        }
        Ok(config)
    }

    /// Checks what the types cannot: token entries, limits that make sense,
    /// no plain HTTP beyond loopback unless allowed.
    ///
    /// # Errors
    /// The first problem found, naming the key.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.tls.is_none() && !self.allow_plain_http {
            for (key, addr) in [
                ("listen", Some(self.listen)),
                ("ops_listen", self.ops_listen),
            ] {
                if let Some(addr) = addr
                    && !addr.ip().is_loopback()
                {
                    return Err(ConfigError::invalid(
                        key,
                        format!(
                            "= {addr} is not a loopback address: configure [tls], or set allow_plain_http = true behind a TLS-terminating proxy"
                        ),
                    ));
                }
            }
        }
        if let Some(primero) = &self.primero {
            primero.check()?;
        }
        let mut principals = std::collections::HashSet::new();
        let mut hashes = std::collections::HashSet::new();
        for (i, token) in self.tokens.iter().enumerate() {
            let at = format!("tokens[{i}]");
            if token.principal.trim().is_empty() || token.principal.len() > 128 {
                return Err(ConfigError::invalid(
                    format!("{at}.principal"),
                    "must be 1 to 128 characters",
                ));
            }
            if token.roles.is_empty() {
                return Err(ConfigError::invalid(
                    format!("{at}.roles"),
                    "must name at least one role",
                ));
            }
            if token.sha256.len() != 64
                || !token
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(ConfigError::invalid(
                    format!("{at}.sha256"),
                    "must be 64 lowercase hex digits (the SHA-256 of the token)",
                ));
            }
            if !principals.insert(&token.principal) {
                return Err(ConfigError::invalid(
                    format!("{at}.principal"),
                    "is used twice",
                ));
            }
            if !hashes.insert(&token.sha256) {
                return Err(ConfigError::invalid(
                    format!("{at}.sha256"),
                    "is used twice",
                ));
            }
        }
        let l = &self.limits;
        for (key, value) in [
            ("max_body_bytes", l.max_body_bytes as u64),
            ("max_report_bytes", l.max_report_bytes),
            ("max_package_bytes", l.max_package_bytes as u64),
            ("max_batch", l.max_batch as u64),
            ("max_answer_bytes", l.max_answer_bytes as u64),
            ("max_log_bytes", l.max_log_bytes as u64),
            ("min_upload_bytes_per_second", l.min_upload_bytes_per_second),
            ("max_depth", l.max_depth as u64),
            ("max_uri_bytes", l.max_uri_bytes as u64),
            ("header_timeout_ms", l.header_timeout_ms),
            ("body_timeout_ms", l.body_timeout_ms),
            ("request_timeout_ms", l.request_timeout_ms),
            ("report_timeout_ms", l.report_timeout_ms),
            ("max_connections", l.max_connections as u64),
            (
                "max_concurrent_evaluations",
                l.max_concurrent_evaluations as u64,
            ),
            ("rate_per_second", u64::from(l.rate_per_second)),
            ("rate_burst", u64::from(l.rate_burst)),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(
                    format!("limits.{key}"),
                    "must be more than 0",
                ));
            }
        }
        if l.max_header_bytes < 8192 {
            return Err(ConfigError::invalid(
                "limits.max_header_bytes",
                "must be at least 8192",
            ));
        }
        Ok(())
    }
}

/// Why a service configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {cause}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        cause: std::io::Error,
    },
    /// The file is not valid TOML for a configuration.
    #[error("{path}: {cause}")]
    Syntax {
        /// The file.
        path: String,
        /// What the parser found, with its line and column.
        cause: Box<toml::de::Error>,
    },
    /// A value the types allow but the service refuses.
    #[error("{key} {problem}")]
    Invalid {
        /// The key, as written in the file (`limits.max_batch`, `tokens[0].sha256`).
        key: String,
        /// What is wrong with its value.
        problem: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }
}
