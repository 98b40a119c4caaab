//! The circumstances of one call: the as-of moment, the rules switched on,
//! and the plugin's settings.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::PluginError;

/// The context of one call, with settings parsed into the plugin's own type.
#[derive(Debug, Clone, PartialEq)]
pub struct Context<S> {
    /// The as-of moment, in the offset it was given in.
    pub as_of: OffsetDateTime,
    /// The rules switched on for this call.
    pub enabled_rules: BTreeSet<String>,
    /// The plugin's effective settings.
    pub settings: S,
}

impl<S> Context<S> {
    /// A context with every rule in `rules` enabled.
    pub fn new(as_of: OffsetDateTime, rules: &[&str], settings: S) -> Self {
        Context {
            as_of,
            enabled_rules: rules.iter().map(|r| (*r).to_owned()).collect(),
            settings,
        }
    }

    /// Whether `rule` is switched on.
    pub fn enabled(&self, rule: &str) -> bool {
        self.enabled_rules.contains(rule)
    }

    /// The as-of date in Kenya: the host passes every as-of at East Africa
    /// Time, whatever offset the caller wrote it with.
    pub fn as_of_date(&self) -> Date {
        self.as_of.date()
    }

    /// The as-of date at `offset` (the programme's offset, a setting): one
    /// instant is one date, whatever offset a platform wrote it in.
    pub fn as_of_date_at(&self, offset: UtcOffset) -> Date {
        self.as_of.to_offset(offset).date()
    }
}

impl<S: DeserializeOwned> Context<S> {
    /// Builds a context from the contract's raw values.
    ///
    /// # Errors
    /// `invalid-settings` when the as-of or the settings cannot be read.
    pub fn from_raw(
        as_of: &str,
        enabled_rules: Vec<String>,
        settings: &str,
    ) -> Result<Self, PluginError> {
        let as_of = crate::date::parse_datetime(as_of)
            .ok_or_else(|| PluginError::invalid_settings("bad-as-of", None))?;
        let settings = serde_json::from_str(settings).map_err(|e| {
            crate::log::warn(&format!(
                "the settings do not fit this plugin: line {} column {}",
                e.line(),
                e.column()
            ));
            PluginError::invalid_settings("bad-settings", None)
        })?;
        Ok(Context {
            as_of,
            enabled_rules: enabled_rules.into_iter().collect(),
            settings,
        })
    }
}
