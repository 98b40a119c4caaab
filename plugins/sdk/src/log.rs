//! Logging to the host from anywhere in a plugin.
//!
//! Inside a component the export macros route these calls to the contract's
//! `log` import; in native unit tests they go nowhere. Never log personal
//! data: log codes, counts and rule ids.
//!
//! The same glue installs a panic hook: a panic's message and location
//! (`panicked at src/lib.rs:12:5: ...`) are logged at error level before
//! the component traps, so the developer sees why (the host shows error
//! lines by default, and checks them as it checks every log line).

use std::sync::OnceLock;

/// How important a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Fine detail.
    Trace,
    /// Debugging information.
    Debug,
    /// Normal information.
    Info,
    /// Something unexpected.
    Warn,
    /// A failure.
    Error,
}

static SINK: OnceLock<fn(Level, &str)> = OnceLock::new();

#[doc(hidden)]
pub fn install(sink: fn(Level, &str)) {
    if SINK.set(sink).is_ok() {
        std::panic::set_hook(Box::new(|panic| log(Level::Error, &panic_line(panic))));
    }
}

/// What a panic hook logs: the message and where it was raised.
fn panic_line(panic: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = panic.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    match panic.location() {
        Some(at) => format!(
            "panicked at {}:{}:{}: {message}",
            at.file(),
            at.line(),
            at.column()
        ),
        None => format!("panicked: {message}"),
    }
}

/// Sends `message` to the host at `level`.
pub fn log(level: Level, message: &str) {
    if let Some(sink) = SINK.get() {
        sink(level, message);
    }
}

/// Logs at debug level.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Logs at info level.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}
