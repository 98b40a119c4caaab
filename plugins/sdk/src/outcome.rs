//! What plugins return: decisions, referrals, reasons and errors.
//!
//! These are plain Rust types so rule functions can be unit-tested natively;
//! the export macros convert them to the contract's WIT records.

use time::OffsetDateTime;

/// Why a rule produced an outcome: one of the codes the rule declared (see
/// [`Rule::gives`](crate::Rule::gives)). The host shows the message the
/// rule declared for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The id of the rule that produced it.
    pub rule: String,
    /// A stable kebab-case code (for example `age-out-of-range`).
    pub code: String,
}

impl Reason {
    /// The reason `code` from `rule`.
    pub fn new(rule: &str, code: &str) -> Reason {
        Reason {
            rule: rule.to_owned(),
            code: code.to_owned(),
        }
    }
}

/// The outcome of one eligibility track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Every condition holds.
    Eligible,
    /// At least one condition is known not to hold.
    Ineligible,
    /// Nothing is known to fail, but something cannot be decided.
    Undetermined,
}

/// The decision for one track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The track (the id of the rule that decides it).
    pub track: String,
    /// The outcome.
    pub status: Status,
    /// A priority score for eligible decisions on ranked tracks.
    pub priority: Option<i32>,
    /// Why. Never empty.
    pub reasons: Vec<Reason>,
    /// JSON pointers of the fields that would decide an undetermined track.
    pub missing: Vec<String>,
}

/// How soon a referral must be acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Urgency {
    /// Immediately.
    Emergency,
    /// Within 24 hours.
    Within24h,
    /// Within 72 hours.
    Within72h,
    /// In the ordinary course of case management.
    Routine,
}

/// Whether consent allows a referral to go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentStatus {
    /// No consent is needed.
    NotRequired,
    /// The needed consent is recorded.
    Given,
    /// Consent is needed and not recorded.
    Required,
}

/// A provider from a plugin's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// The provider's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// How to reach its referral desk.
    pub contact: String,
}

/// One referral a case needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    /// The rule that produced it.
    pub rule: String,
    /// The service id (`category.service`).
    pub service: String,
    /// How soon.
    pub urgency: Urgency,
    /// When it is due.
    pub due: OffsetDateTime,
    /// The provider in the child's area, if any.
    pub provider: Option<Provider>,
    /// Whether consent allows it.
    pub consent: ConsentStatus,
    /// Why. Never empty.
    pub reasons: Vec<Reason>,
}

/// The class of a plugin error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The case cannot be evaluated; the pointer names the field.
    InvalidCase,
    /// The settings are unusable.
    InvalidSettings,
    /// A report template or parameter is unknown or malformed.
    InvalidParameters,
    /// A bug in the plugin.
    Internal,
}

/// An error a plugin returns instead of a result: one of the codes it
/// declared (see [`PluginInfo::errors`](crate::PluginInfo::errors)). The host
/// shows the class and message declared for the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// The class (what the plugin declared for the code).
    pub kind: ErrorKind,
    /// A stable kebab-case code.
    pub code: String,
    /// The JSON pointer of the offending field, where there is one: a
    /// field of the case for `invalid-case`, of the settings for
    /// `invalid-settings`.
    pub pointer: Option<String>,
}

impl PluginError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, code: &str, pointer: Option<&str>) -> Self {
        PluginError {
            kind,
            code: code.to_owned(),
            pointer: pointer.map(str::to_owned),
        }
    }

    /// An `invalid-case` error naming the field at `pointer`.
    pub fn invalid_case(code: &str, pointer: Option<&str>) -> Self {
        Self::new(ErrorKind::InvalidCase, code, pointer)
    }

    /// An `invalid-settings` error naming the setting at `pointer`.
    pub fn invalid_settings(code: &str, pointer: Option<&str>) -> Self {
        Self::new(ErrorKind::InvalidSettings, code, pointer)
    }

    /// An `invalid-parameters` error.
    pub fn invalid_parameters(code: &str) -> Self {
        Self::new(ErrorKind::InvalidParameters, code, None)
    }

    /// An `internal` error.
    pub fn internal(code: &str) -> Self {
        Self::new(ErrorKind::Internal, code, None)
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(pointer) = &self.pointer {
            write!(f, " (at {pointer})")?;
        }
        Ok(())
    }
}

impl std::error::Error for PluginError {}
