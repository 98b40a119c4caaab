//! The one error type of the host's public API.

use serde::Serialize;

use crate::adapt::{MappingRejection, ProfileRejection};
use crate::case::CaseRejection;
use crate::case::schema::Violation;
use crate::runtime::plugin::PluginKind;

/// Everything that can go wrong when loading plugins or evaluating cases.
///
/// Messages name plugins, rule ids, JSON pointers and error classes; they
/// never carry values from a case. [`Error::report`] gives a serialisable
/// form with a stable `type` tag.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The case failed validation; nothing was evaluated.
    #[error("invalid case: {0}")]
    InvalidCase(CaseRejection),

    /// A platform's payload could not be mapped to a canonical case: each
    /// problem names the platform's JSON pointer, never its value.
    #[error("cannot map the platform's record: {0}")]
    Mapping(MappingRejection),

    /// Kinga's answers cannot be written to the platform asked for (the
    /// case came from another, or the profile has no outbound tables).
    #[error("cannot write the answers back: {0}")]
    Delivery(crate::adapt::outbound::DeliveryRefusal),

    /// A mapping profile failed its checks; it was not used or stored.
    #[error("invalid mapping profile: {0}")]
    InvalidProfile(ProfileRejection),

    /// The as-of moment is not a date or an RFC 3339 date-time, or the case
    /// cannot be evaluated at it (a birth after the as-of, say).
    #[error("invalid as-of: {0}")]
    InvalidAsOf(String),

    /// A plugin file could not be loaded: not a component, too large, an
    /// import the host does not provide, a different contract version, or an
    /// invalid description.
    #[error("cannot load plugin {source_name}: {}", problems.join("; "))]
    PluginLoad {
        /// The file (or id) of the plugin.
        source_name: String,
        /// Why: every problem the loader found, each in words naming where
        /// it is (never empty). Problems that stop loading early (a file
        /// that does not compile, a `describe` that traps) come alone; the
        /// import and export checks are reported together, and so is every
        /// problem of a description.
        problems: Vec<String>,
    },

    /// Settings for a plugin do not fit its settings schema.
    #[error("invalid settings for plugin {plugin}: {}", violations.first().map(ToString::to_string).unwrap_or_default())]
    InvalidSettings {
        /// The plugin.
        plugin: String,
        /// The problems, each with its pointer into the settings object.
        violations: Vec<Violation>,
    },

    /// A plugin was stopped by the sandbox: out of fuel, past its deadline,
    /// out of memory, a stack overflow or another trap. Its store was
    /// discarded; the host is unaffected.
    #[error("plugin {plugin} was stopped: {kind}")]
    Contained {
        /// The plugin.
        plugin: String,
        /// What stopped it.
        kind: Containment,
    },

    /// A plugin returned something that breaks the contract: a malformed
    /// date, an unknown rule, text too long, output too large. It is refused,
    /// never passed on.
    #[error("plugin {plugin} returned invalid output at {pointer}: {message}")]
    InvalidOutput {
        /// The plugin.
        plugin: String,
        /// Where in the plugin's output (a JSON pointer into its rendering).
        pointer: String,
        /// What is wrong.
        message: String,
    },

    /// A plugin refused the call with an error of its own.
    #[error("plugin {plugin} refused: {code}: {message}{}", pointer.as_deref().map(|p| format!(" (at {p})")).unwrap_or_default())]
    PluginRefused {
        /// The plugin.
        plugin: String,
        /// The class the plugin gave.
        kind: PluginErrorKind,
        /// The plugin's stable code.
        code: String,
        /// The plugin's message (cut and cleaned).
        message: String,
        /// The pointer it named, if any.
        pointer: Option<String>,
    },

    /// The plugin's circuit breaker is open: it failed on too many
    /// different inputs in a row. It closes after a good trial call, or when
    /// an administrator closes it.
    #[error(
        "plugin {plugin} is switched off by its circuit breaker: it failed on {failures} different inputs in a row"
    )]
    SwitchedOff {
        /// The plugin.
        plugin: String,
        /// Distinct failing inputs when it opened.
        failures: u32,
    },

    /// The administration state in force for the plugin (its settings or
    /// switched rules) is one the plugin now refuses — settings accepted
    /// before its own settings check existed, say — so it answers nothing
    /// until an administrator changes or resets them. The rest of the host
    /// serves on.
    #[error(
        "plugin {plugin} is held: the administration state in force for it is refused ({reason}); change or reset its settings"
    )]
    Held {
        /// The plugin.
        plugin: String,
        /// Why its state was refused (the declared words, never a value
        /// of a case).
        reason: String,
    },

    /// The case holds a field of a newer canonical case version than the
    /// plugin reads (a date-only incident, a dated age estimate, no
    /// survivor status yet...): the host never hands it a field it could
    /// misread, and the plugin gives no answer for this case. Other plugins
    /// still answer.
    #[error(
        "plugin {plugin} reads canonical case {reads}; this case holds {pointer}, which only plugins reading case 1.1 are given"
    )]
    CaseVersion {
        /// The plugin.
        plugin: String,
        /// The case version it reads (`1`).
        reads: String,
        /// The first field it cannot be given, as a JSON pointer.
        pointer: String,
    },

    /// No slot to run the plugin freed up within the queue timeout.
    #[error("plugin {plugin} is overloaded: no slot freed up in time")]
    Overloaded {
        /// The plugin.
        plugin: String,
    },

    /// The request's own budget stopped it before this call: its answers
    /// reached their limit, its deadline passed, or its caller went away
    /// (see [`RequestBudget`](crate::runtime::budget::RequestBudget)). No
    /// plugin's doing: the breaker does not count it.
    #[error("the request was stopped: {0}")]
    RequestStopped(Stop),

    /// The administration state cannot be read, or does not fit the loaded
    /// plugins.
    #[error("invalid administration state: {0}")]
    InvalidState(String),

    /// A decision record cannot be replayed as asked.
    #[error("cannot replay: {0}")]
    Replay(String),

    /// No plugin with this id is loaded.
    #[error("no plugin with id {0} is loaded")]
    UnknownPlugin(String),

    /// The plugin is loaded, but an administrator switched it off.
    #[error("plugin {0} is off: an administrator switched it off")]
    PluginDisabled(String),

    /// The plugin does not provide what was asked of it (a reporting plugin
    /// named for an eligibility evaluation, say).
    #[error("plugin {plugin} is a {} plugin; this needs {wanted}", kind.as_str())]
    WrongKind {
        /// The plugin.
        plugin: String,
        /// What it is.
        kind: PluginKind,
        /// What was needed, in words ("an eligibility plugin").
        wanted: &'static str,
    },

    /// No loaded reporting plugin offers this template.
    #[error("no loaded plugin offers the report template {0}")]
    UnknownTemplate(String),

    /// Two plugins claim the same id.
    #[error("two plugins have the id {0}")]
    DuplicatePlugin(String),

    /// A plugin offers a report template another loaded plugin offers: the
    /// second would take the first's reports over.
    #[error(
        "plugin {plugin} offers the report template {template}, which plugin {owner} already offers"
    )]
    DuplicateTemplate {
        /// The plugin refused.
        plugin: String,
        /// The template.
        template: String,
        /// The plugin that offers it already.
        owner: String,
    },

    /// A file could not be read or written. The cause is part of the
    /// message (and so not also a `source()`, which would print it twice).
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        cause: std::io::Error,
    },

    /// The sandbox itself could not be set up (a host bug or a platform
    /// limit, never a plugin's doing).
    #[error("the sandbox could not be set up: {0}")]
    Engine(String),
}

/// What stopped a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Containment {
    /// It used up its fuel.
    OutOfFuel,
    /// It ran past its wall-clock deadline.
    Deadline,
    /// It tried to use more memory (or table space) than allowed.
    MemoryLimit,
    /// Its stack overflowed.
    StackOverflow,
    /// It hit `unreachable` (a Rust panic ends this way).
    Unreachable,
    /// It divided by zero or overflowed an integer conversion.
    Arithmetic,
    /// It accessed memory or a table out of bounds.
    OutOfBounds,
    /// It made an indirect call with the wrong signature or to null.
    BadCall,
    /// Its output was larger than the limit.
    OutputTooLarge,
    /// Another trap.
    OtherTrap,
}

impl std::fmt::Display for Containment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Containment::OutOfFuel => "it ran out of fuel (too much computation)",
            Containment::Deadline => "it ran past its deadline",
            Containment::MemoryLimit => "it tried to use more memory than allowed",
            Containment::StackOverflow => "its stack overflowed",
            Containment::Unreachable => "it trapped (unreachable code, e.g. a panic)",
            Containment::Arithmetic => "it trapped (arithmetic error)",
            Containment::OutOfBounds => "it trapped (out-of-bounds access)",
            Containment::BadCall => "it trapped (bad indirect call)",
            Containment::OutputTooLarge => "its output was larger than allowed",
            Containment::OtherTrap => "it trapped",
        })
    }
}

/// Why a request's budget stopped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Stop {
    /// Its answers reached this many bytes.
    AnswerBytes(usize),
    /// Its deadline passed.
    Deadline,
    /// Its caller went away.
    Cancelled,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::AnswerBytes(limit) => write!(
                f,
                "its answers reached the limit of {limit} bytes; send the remaining cases in another request"
            ),
            Stop::Deadline => f.write_str("it ran past its deadline"),
            Stop::Cancelled => f.write_str("its caller went away"),
        }
    }
}

/// The class of error a plugin reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginErrorKind {
    /// The case cannot be evaluated (the pointer names the field).
    InvalidCase,
    /// The settings are unusable.
    InvalidSettings,
    /// A template or parameter is unknown or malformed.
    InvalidParameters,
    /// A bug in the plugin.
    Internal,
}

/// A serialisable summary of an [`Error`], with a stable `type` tag.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorReport {
    /// Stable kebab-case class of the error.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The one-line message.
    pub message: String,
    /// The JSON pointer where the problem is, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// The plugin involved, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
}

impl Error {
    /// A plugin that cannot be loaded for one reason.
    pub fn plugin_load(source_name: impl Into<String>, problem: impl Into<String>) -> Error {
        Error::PluginLoad {
            source_name: source_name.into(),
            problems: vec![problem.into()],
        }
    }

    /// The stable kebab-case class of this error.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidCase(_) => "invalid-case",
            Error::Mapping(_) => "mapping",
            Error::Delivery(_) => "delivery",
            Error::InvalidProfile(_) => "invalid-profile",
            Error::InvalidAsOf(_) => "invalid-as-of",
            Error::PluginLoad { .. } => "plugin-load",
            Error::InvalidSettings { .. } => "invalid-settings",
            Error::Contained { .. } => "contained",
            Error::InvalidOutput { .. } => "invalid-output",
            Error::PluginRefused { .. } => "plugin-refused",
            Error::SwitchedOff { .. } => "switched-off",
            Error::Held { .. } => "held",
            Error::CaseVersion { .. } => "case-version",
            Error::Overloaded { .. } => "overloaded",
            Error::RequestStopped(_) => "request-stopped",
            Error::Replay(_) => "replay",
            Error::InvalidState(_) => "invalid-state",
            Error::UnknownPlugin(_) => "unknown-plugin",
            Error::PluginDisabled(_) => "plugin-disabled",
            Error::WrongKind { .. } => "wrong-kind",
            Error::UnknownTemplate(_) => "unknown-template",
            Error::DuplicatePlugin(_) => "duplicate-plugin",
            Error::DuplicateTemplate { .. } => "duplicate-template",
            Error::Io { .. } => "io",
            Error::Engine(_) => "engine",
        }
    }

    /// Whether the error is the caller's input (the case, the as-of, the
    /// settings, a template or parameter) rather than a failed evaluation.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::InvalidCase(_)
            | Error::Mapping(_)
            | Error::Delivery(_)
            | Error::InvalidProfile(_)
            | Error::InvalidAsOf(_)
            | Error::InvalidSettings { .. }
            | Error::CaseVersion { .. }
            | Error::UnknownTemplate(_) => true,
            Error::PluginRefused { kind, .. } => {
                matches!(
                    kind,
                    PluginErrorKind::InvalidCase | PluginErrorKind::InvalidParameters
                )
            }
            _ => false,
        }
    }

    /// The JSON pointer the error names, if any.
    pub fn pointer(&self) -> Option<&str> {
        match self {
            Error::InvalidCase(r) => r.violations.first().map(|v| v.pointer.as_str()),
            Error::Mapping(r) => r.violations.first().map(|v| v.pointer.as_str()),
            Error::Delivery(r) => r.violations.first().map(|v| v.pointer.as_str()),
            Error::InvalidProfile(r) => r.violations.first().map(|v| v.pointer.as_str()),
            Error::InvalidSettings { violations, .. } => {
                violations.first().map(|v| v.pointer.as_str())
            }
            Error::InvalidOutput { pointer, .. } | Error::CaseVersion { pointer, .. } => {
                Some(pointer)
            }
            Error::PluginRefused { pointer, .. } => pointer.as_deref(),
            _ => None,
        }
    }

    /// The plugin involved, if any.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            Error::InvalidSettings { plugin, .. }
            | Error::Contained { plugin, .. }
            | Error::InvalidOutput { plugin, .. }
            | Error::PluginRefused { plugin, .. }
            | Error::SwitchedOff { plugin, .. }
            | Error::Held { plugin, .. }
            | Error::CaseVersion { plugin, .. }
            | Error::Overloaded { plugin }
            | Error::WrongKind { plugin, .. }
            | Error::DuplicateTemplate { plugin, .. } => Some(plugin),
            Error::UnknownPlugin(id) | Error::PluginDisabled(id) | Error::DuplicatePlugin(id) => {
                Some(id)
            }
            _ => None,
        }
    }

    /// Whether the plugin was stopped or answered out of contract: what the
    /// circuit breaker counts.
    pub fn is_containment(&self) -> bool {
        matches!(self, Error::Contained { .. } | Error::InvalidOutput { .. })
    }

    /// Whether the same input would meet the same error again: false for a
    /// deadline stop, no slot in time, an open breaker or a request's spent
    /// budget, which depend on the machine's load and on earlier calls, not
    /// on the input.
    pub fn is_reproducible(&self) -> bool {
        !matches!(
            self,
            Error::Contained {
                kind: Containment::Deadline,
                ..
            } | Error::Overloaded { .. }
                | Error::SwitchedOff { .. }
                | Error::Held { .. }
                | Error::RequestStopped(_)
        )
    }

    /// A serialisable summary.
    pub fn report(&self) -> ErrorReport {
        ErrorReport {
            kind: self.kind(),
            message: self.to_string(),
            pointer: self.pointer().map(str::to_owned),
            plugin: self.plugin().map(str::to_owned),
        }
    }
}

impl From<MappingRejection> for Error {
    fn from(r: MappingRejection) -> Self {
        Error::Mapping(r)
    }
}

impl From<ProfileRejection> for Error {
    fn from(r: ProfileRejection) -> Self {
        Error::InvalidProfile(r)
    }
}

impl From<CaseRejection> for Error {
    fn from(r: CaseRejection) -> Self {
        Error::InvalidCase(r)
    }
}
