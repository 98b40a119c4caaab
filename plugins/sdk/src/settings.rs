//! A plugin's own check of its settings (`kinga:plugin/settings`, contract
//! 0.2.1).
//!
//! A settings schema bounds each setting alone. What only the rules know —
//! that a clinical window must stay within what the medicine allows, that a
//! minimum must not lie above a maximum, that a provider directory must not
//! be empty — a plugin says in [`Plugin::check_settings`].
//! The host asks before any settings take effect: the defaults when the
//! plugin loads, and every administrator's change, a dry run included,
//! before it is applied. A refused change is never in force.
//!
//! As everywhere in the contract, the plugin names codes and the host
//! renders the words: each code is declared once, with its message, in
//! [`Plugin::SETTINGS_REFUSALS`], and a
//! message may quote settings as `{/pointer}`:
//!
//! ```
//! use kinga_plugin_sdk::settings::{RefusalText, SettingsRefusal};
//!
//! const REFUSALS: &[RefusalText] = &[(
//!     "ages-inverted",
//!     "the minimum age {/min_age} is above the maximum age {/max_age}",
//! )];
//!
//! struct Ages { min_age: i32, max_age: i32 }
//!
//! fn check(settings: &Ages) -> Vec<SettingsRefusal> {
//!     let mut refusals = Vec::new();
//!     if settings.min_age > settings.max_age {
//!         refusals.push(SettingsRefusal::new("ages-inverted", "/min_age"));
//!     }
//!     refusals
//! }
//!
//! assert_eq!(check(&Ages { min_age: 16, max_age: 9 })[0].pointer, "/min_age");
//! assert!(check(&Ages { min_age: 9, max_age: 15 }).is_empty());
//! ```

use crate::Plugin;

/// A refusal a plugin declares: its code and its message.
pub type RefusalText = (&'static str, &'static str);

/// The refusals the SDK itself can give, declared for every plugin:
/// settings that do not deserialize into the plugin's `Settings` type.
pub const SDK_REFUSALS: &[RefusalText] = &[(
    "settings-unreadable",
    "the settings do not fit the settings type this plugin was built with",
)];

/// The refusal of a programme offset (`utc_offset`) that is not one, for
/// plugins that take the as-of date at a setting's offset: declare it in
/// [`Plugin::SETTINGS_REFUSALS`] and give [`offset_refusal`]'s answer.
pub const UTC_OFFSET_REFUSAL: RefusalText = (
    "utc-offset-unreadable",
    "the programme's UTC offset is not an offset from -14:00 to +14:00 written +HH:MM",
);

/// [`UTC_OFFSET_REFUSAL`] at `pointer` when `setting` is not an offset
/// written `+HH:MM`.
pub fn offset_refusal(setting: &str, pointer: &str) -> Option<SettingsRefusal> {
    crate::date::parse_utc_offset(setting)
        .is_none()
        .then(|| SettingsRefusal::new(UTC_OFFSET_REFUSAL.0, pointer))
}

/// One thing a plugin's settings check refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsRefusal {
    /// A code declared in [`Plugin::SETTINGS_REFUSALS`].
    pub code: String,
    /// The RFC 6901 pointer of the offending member of the settings
    /// (`/ec_window_hours`, `/providers/2/id`); it must name a member that
    /// is there. Empty for the settings as a whole.
    pub pointer: String,
}

impl SettingsRefusal {
    /// Refuses the member at `pointer` with the declared `code`.
    pub fn new(code: &str, pointer: &str) -> Self {
        SettingsRefusal {
            code: code.to_owned(),
            pointer: pointer.to_owned(),
        }
    }
}

/// Every refusal `P` can give, the SDK's first: what the component's
/// `refusals` reports.
pub fn declared<P: Plugin>() -> Vec<RefusalText> {
    SDK_REFUSALS
        .iter()
        .chain(P::SETTINGS_REFUSALS)
        .copied()
        .collect()
}

/// Checks a settings text as the component's `check` does: settings that
/// do not deserialize are refused as `settings-unreadable`, others go to
/// [`Plugin::check_settings`].
pub fn check_json<P: Plugin>(settings: &str) -> Vec<SettingsRefusal> {
    match serde_json::from_str::<P::Settings>(settings) {
        Ok(settings) => P::check_settings(&settings),
        Err(e) => {
            crate::log::warn(&format!(
                "the settings do not fit this plugin: line {} column {}",
                e.line(),
                e.column()
            ));
            vec![SettingsRefusal::new("settings-unreadable", "")]
        }
    }
}
