//! The plugin's settings, their documented defaults, and the provider
//! directory.

use kinga_plugin_sdk::serde_json;
use serde::{Deserialize, Serialize};

/// Settings an administrator may change (see `settings.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Post-rape care window, hours.
    pub pep_window_hours: u32,
    /// Emergency contraception window, hours.
    pub ec_window_hours: u32,
    /// Youngest age for emergency contraception.
    pub ec_min_age: u32,
    /// Education re-entry: youngest age.
    pub education_min_age: u32,
    /// Education re-entry: oldest age.
    pub education_max_age: u32,
    /// Vocational training: youngest age.
    pub vocational_min_age: u32,
    /// Vocational training: oldest age.
    pub vocational_max_age: u32,
    /// The provider directory.
    pub providers: Vec<ProviderEntry>,
}

/// One entry of the provider directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderEntry {
    /// Directory id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Service ids offered.
    pub services: Vec<String>,
    /// Counties served.
    pub counties: Vec<String>,
    /// Sub-counties served, when the entry is local.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_counties: Option<Vec<String>>,
    /// Referral desk contact.
    pub contact: String,
}

/// The bundled directory for Kwale and Kilifi. **Sample data**: every name
/// is marked "(SAMPLE)" and every contact is invented.
pub const SAMPLE_PROVIDERS: &str = include_str!("providers.sample.json");

impl Default for Settings {
    fn default() -> Self {
        Settings {
            pep_window_hours: 72,
            ec_window_hours: 120,
            ec_min_age: 10,
            education_min_age: 9,
            education_max_age: 15,
            vocational_min_age: 16,
            vocational_max_age: 18,
            providers: serde_json::from_str(SAMPLE_PROVIDERS).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sample_directory_parses_and_says_it_is_a_sample() {
        let providers = super::Settings::default().providers;
        assert!(providers.len() >= 10);
        assert!(
            providers
                .iter()
                .all(|p| p.name.contains("SAMPLE") && p.contact.contains("invented"))
        );
    }
}
