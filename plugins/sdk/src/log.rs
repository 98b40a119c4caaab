//! Logging to the host from anywhere in a plugin.
//!
//! Inside a component the export macros route these calls to the contract's
//! `log` import; in native unit tests they go nowhere. Never log personal
//! data: log codes, counts and rule ids.

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
    let _ = SINK.set(sink);
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
