//! The plugin's settings and their documented defaults.

use kinga_plugin_sdk::date::{format_date, parse_date};
use kinga_plugin_sdk::settings::{RefusalText, SettingsRefusal};
use kinga_plugin_sdk::time::Date;
use serde::{Deserialize, Serialize};

/// Settings an administrator may change (see `settings.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The day the programme started (`YYYY-MM-DD`): reach is counted from
    /// it to the end of the report's period.
    pub programme_start: String,
    /// The programme's targets. The host, not the plugin, shows them in the
    /// reach table (the settings schema declares the cells), so that no
    /// number the plugin writes is other than a count of cases.
    pub targets: Targets,
}

/// The programme's targets, per track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Young survivors in education support.
    pub education_support: u32,
    /// Older survivors in vocational training.
    pub vocational_training: u32,
    /// Families in livelihood support.
    pub family_livelihood: u32,
}

impl Default for Settings {
    /// The programme document's figures: from 1 January 2021, 130 young
    /// survivors in education support, 80 older ones in vocational
    /// training, 50 families in livelihood support.
    fn default() -> Settings {
        Settings {
            programme_start: "2021-01-01".into(),
            targets: Targets {
                education_support: 130,
                vocational_training: 80,
                family_livelihood: 50,
            },
        }
    }
}

impl Settings {
    /// The day the programme started; `None` when the setting is not a real
    /// date (which the plugin's own check refuses before it takes effect).
    pub fn start(&self) -> Option<Date> {
        parse_date(&self.programme_start)
    }
}

/// What [`check`] can refuse.
pub const REFUSALS: &[RefusalText] = &[(
    "not-a-date",
    "the programme start {/programme_start} is not a real date (YYYY-MM-DD)",
)];

/// Refuses a programme start that is not a real calendar date.
pub fn check(settings: &Settings) -> Vec<SettingsRefusal> {
    match settings.start() {
        Some(day) if format_date(day) == settings.programme_start => Vec::new(),
        _ => vec![SettingsRefusal::new("not-a-date", "/programme_start")],
    }
}
