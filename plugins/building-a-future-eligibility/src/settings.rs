//! The plugin's settings and their documented defaults.

use serde::{Deserialize, Serialize};

/// Settings an administrator may change (see `settings.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Counties the programme serves.
    pub counties: Vec<String>,
    /// Education support: youngest age.
    pub education_min_age: u32,
    /// Education support: oldest age.
    pub education_max_age: u32,
    /// Vocational training: youngest age.
    pub vocational_min_age: u32,
    /// Vocational training: oldest age.
    pub vocational_max_age: u32,
    /// Monthly household income below which a family qualifies.
    pub income_threshold_kes: u64,
    /// Child Rights Club: youngest age.
    pub child_rights_club_min_age: u32,
    /// Child Rights Club: oldest age.
    pub child_rights_club_max_age: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            counties: vec!["kwale".into(), "kilifi".into()],
            education_min_age: 9,
            education_max_age: 15,
            vocational_min_age: 16,
            vocational_max_age: 18,
            income_threshold_kes: 10_000,
            child_rights_club_min_age: 9,
            child_rights_club_max_age: 17,
        }
    }
}
