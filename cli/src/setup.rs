//! What every command needs: logging, the host, the as-of, error printing.

use std::path::PathBuf;

use kinga_host::{AsOf, EAST_AFRICA_TIME, Error, Host};

use super::{EXIT_BAD_INPUT, EXIT_FAILED, Global};

/// Logs go to stderr; `KINGA_LOG` sets the filter (default `warn`, and
/// `info` for the service, which logs one JSON object per line). Logs carry
/// plugin ids, codes, counts and durations, never case data.
pub fn init_logging(service: bool) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let default = if service { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KINGA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Below info, only Kinga's own logs, whatever KINGA_LOG asks: a
    // library's debug and trace output (an HTTP client's hex dump of a
    // response, say) can carry a platform's case data.
    let own_below_info = tracing_subscriber::filter::filter_fn(|meta| {
        *meta.level() <= tracing::Level::INFO || meta.target().starts_with("kinga")
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(own_below_info);
    let _ = if service {
        registry.with(layer.json().flatten_event(true)).try_init()
    } else {
        registry.with(layer).try_init()
    };
}

/// Prints errors on stderr, as one line or as JSON.
pub struct ErrorPrinter {
    pub json: bool,
}

impl ErrorPrinter {
    /// Prints `error` and returns the exit code it deserves.
    pub fn fail(&self, error: &Error) -> u8 {
        if self.json {
            eprintln!(
                "{}",
                serde_json::to_string(&error.report()).unwrap_or_default()
            );
        } else {
            eprintln!("kinga: {}", printable(&error.to_string()));
        }
        exit_code(error)
    }

    /// Prints a usage problem and returns [`EXIT_BAD_INPUT`].
    pub fn usage(&self, message: &str) -> u8 {
        if self.json {
            eprintln!(
                "{}",
                serde_json::json!({"type": "usage", "message": message})
            );
        } else {
            eprintln!("kinga: {}", printable(message));
        }
        EXIT_BAD_INPUT
    }

    /// Reports bad input that has several problems: `headline`, then each
    /// problem on a line of its own (in JSON, as `problems`); exit code 2.
    pub fn usage_list(&self, headline: &str, problems: &[String]) -> u8 {
        if self.json {
            eprintln!(
                "{}",
                serde_json::json!({"type": "usage", "message": headline, "problems": problems})
            );
        } else {
            eprintln!("kinga: {}", printable(headline));
            for problem in problems {
                eprintln!("  - {}", printable(problem));
            }
        }
        EXIT_BAD_INPUT
    }
}

/// The exit code of an error: 2 for bad input, 1 for a failed evaluation.
pub fn exit_code(error: &Error) -> u8 {
    if error.is_bad_input() {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILED
    }
}

/// Text safe to print on a terminal: control and bidi characters escaped.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if kinga_host::is_unsafe_char(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The as-of of a command: `--as-of`, or now (East Africa Time).
pub fn as_of(text: Option<&str>) -> Result<AsOf, Error> {
    match text {
        Some(text) => AsOf::parse(text, EAST_AFRICA_TIME),
        None => Ok(AsOf::now(EAST_AFRICA_TIME)),
    }
}

/// The plugin directory: `--plugins`, or the plugins this workspace builds.
pub fn plugin_dir(global: &Global) -> PathBuf {
    global
        .plugins
        .clone()
        .unwrap_or_else(|| PathBuf::from(kinga_artifacts::REFERENCE_PLUGINS_DIR))
}

fn cache_dir(global: &Global) -> Option<PathBuf> {
    if global.no_cache {
        return None;
    }
    if let Some(dir) = &global.cache_dir {
        return Some(dir.clone());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("kinga"))
}

/// Where this command's host comes from.
pub fn deployment(global: &Global) -> kinga_host::admin::Deployment {
    kinga_host::admin::Deployment {
        plugin_dir: Some(plugin_dir(global)),
        home: home(global).ok(),
        cache_dir: cache_dir(global),
        decision_log: global.decision_log.clone(),
        log_key: global.log_key.clone(),
        limits: limits(global),
    }
}

/// The sandbox limits: the defaults, with `--fuel` and `--deadline-ms`.
pub fn limits(global: &Global) -> kinga_host::Limits {
    let mut limits = kinga_host::Limits::default();
    if let Some(fuel) = global.fuel {
        limits = limits.with_fuel(fuel);
    }
    if let Some(ms) = global.deadline_ms {
        limits = limits.with_deadline(std::time::Duration::from_millis(ms));
    }
    limits
}

/// A host with the plugins of `global` loaded, the installed packages in
/// use, and the administration state applied.
pub fn host(global: &Global) -> Result<Host, Error> {
    deployment(global).build()
}

/// The host an administrative command loads: as [`host`], but a plugin
/// refusing its state in force is held rather than stopping the command,
/// so that the state can be repaired.
pub fn admin_host(global: &Global) -> Result<Host, Error> {
    deployment(global).build_holding()
}

/// The administration directory: `--home`, or the user's data directory.
pub fn home(global: &Global) -> Result<PathBuf, String> {
    if let Some(dir) = &global.home {
        return Ok(dir.clone());
    }
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .map(|base| base.join("kinga"))
        .ok_or_else(|| "no administration directory: give --home DIR".to_owned())
}

/// The administration state store.
pub fn state_store(global: &Global) -> Result<kinga_host::admin::StateStore, String> {
    let store = kinga_host::admin::StateStore::new(home(global)?);
    Ok(match &global.log_key {
        Some(key) => store.with_log_key(key),
        None => store,
    })
}

/// The log key file: `--log-key`, or `log.key` in the administration
/// directory.
pub fn log_key_path(global: &Global) -> Result<PathBuf, String> {
    match &global.log_key {
        Some(key) => Ok(key.clone()),
        None => home(global).map(|h| h.join(kinga_host::admin::LOG_KEY_FILE)),
    }
}

/// Writes `text` to stdout. A closed pipe (`kinga ... | head`) is not an
/// error worth a panic: the output is simply cut.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
