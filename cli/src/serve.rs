//! `kinga serve` (the JSON HTTP service) and `kinga token` (its API
//! tokens).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use kinga_host::admin::LiveHost;
use kinga_host::serve::ServeConfig;
use kinga_host::serve::auth::new_token;

use super::setup::{self, ErrorPrinter};
use super::{EXIT_FAILED, EXIT_OK, Global};

/// Arguments of `kinga serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file (TOML; see docs/deploy.md). Without one: the
    /// defaults, which listen on loopback only and know no tokens.
    #[arg(long, value_name = "FILE", env = "KINGA_SERVE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The public listener, overriding the file's `listen`.
    #[arg(long, value_name = "ADDR", env = "KINGA_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// The operations listener (/healthz, /readyz, /metrics), overriding the
    /// file's `ops_listen`.
    #[arg(long, value_name = "ADDR", env = "KINGA_OPS_LISTEN")]
    pub ops_listen: Option<SocketAddr>,
}

/// Runs the service until SIGTERM or SIGINT; returns the exit code.
pub fn run(global: &Global, args: &ServeArgs, errors: &ErrorPrinter) -> u8 {
    let mut config = match &args.config {
        Some(path) => match ServeConfig::load(path) {
            Ok(config) => config,
            Err(e) => return errors.usage(&e.to_string()),
        },
        None => ServeConfig::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(ops) = args.ops_listen {
        config.ops_listen = Some(ops);
    }
    if let Err(e) = config.check() {
        return errors.usage(&e.to_string());
    }
    let live = match LiveHost::new(setup::deployment(global)) {
        Ok(live) => live,
        Err(e) => return errors.fail(&e),
    };
    match kinga_host::serve::listener::serve_blocking(config, live) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            errors.usage(&e.to_string());
            EXIT_FAILED
        }
    }
}

/// A role, as `kinga token` takes it.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Evaluate cases and build reports.
    Evaluator,
    /// Administer plugins, rules, settings and packages.
    Admin,
    /// Read the audit trail.
    Auditor,
}

impl RoleArg {
    fn name(self) -> &'static str {
        match self {
            RoleArg::Evaluator => "evaluator",
            RoleArg::Admin => "admin",
            RoleArg::Auditor => "auditor",
        }
    }
}

/// Arguments of `kinga token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Who will hold the token (the audit trail records this name).
    #[arg(long)]
    pub principal: String,
    /// A role; repeat for several.
    #[arg(long = "role", required = true, value_enum)]
    pub roles: Vec<RoleArg>,
    /// Reports for this token come without small-cell suppression.
    #[arg(long)]
    pub unpublished_figures: bool,
    /// Print JSON: {"token": ..., "entry": ...}.
    #[arg(long)]
    pub json: bool,
}

/// Makes a token and prints it with the configuration entry to add.
pub fn token(args: &TokenArgs, errors: &ErrorPrinter) -> u8 {
    let (token, sha256) = match new_token() {
        Ok(made) => made,
        Err(e) => return errors.usage(&format!("no randomness: {e}")),
    };
    let roles: Vec<&str> = args.roles.iter().map(|r| r.name()).collect();
    if args.json {
        let entry = serde_json::json!({
            "principal": args.principal,
            "roles": roles,
            "sha256": sha256,
            "unpublished_figures": args.unpublished_figures,
        });
        setup::emit(&(serde_json::json!({"token": token, "entry": entry}).to_string() + "\n"));
        return EXIT_OK;
    }
    let quoted: Vec<String> = roles.iter().map(|r| format!("\"{r}\"")).collect();
    let principal = serde_json::to_string(&args.principal).unwrap_or_default();
    setup::emit(&format!(
        "token for {}: {token}\n  (shown once: the server keeps only its hash)\n\nadd to the server configuration:\n\n[[tokens]]\nprincipal = {principal}\nroles = [{}]\nsha256 = \"{sha256}\"\n{}",
        setup::printable(&args.principal),
        quoted.join(", "),
        if args.unpublished_figures {
            "unpublished_figures = true\n"
        } else {
            ""
        }
    ));
    EXIT_OK
}
