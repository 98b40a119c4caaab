//! The plugin's settings, their documented defaults, and the provider
//! directory.

use std::collections::BTreeSet;

use kinga_plugin_sdk::serde_json;
use kinga_plugin_sdk::settings::{RefusalText, SettingsRefusal};
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
    /// The programme's UTC offset (`+03:00`): the as-of date, and so every
    /// age, is taken at this offset.
    pub utc_offset: String,
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
            utc_offset: "+03:00".into(),
        }
    }
}

impl Settings {
    /// The programme's offset (East Africa Time when the setting cannot be
    /// read, which its schema and [`check`] rule out).
    pub fn offset(&self) -> kinga_plugin_sdk::time::UtcOffset {
        kinga_plugin_sdk::date::programme_offset(&self.utc_offset)
    }
}

/// The longest post-rape care window the medicine allows: HIV PEP must
/// start within 72 hours of exposure.
pub const PEP_CLINICAL_MAXIMUM_HOURS: u32 = 72;

/// The longest emergency contraception window the medicine allows: 120
/// hours (ICEC); Kenya's guideline text says 72.
pub const EC_CLINICAL_MAXIMUM_HOURS: u32 = 120;

/// Every refusal [`check`] can give.
pub const REFUSALS: &[RefusalText] = &[
    kinga_plugin_sdk::settings::UTC_OFFSET_REFUSAL,
    (
        "pep-window-beyond-clinical-maximum",
        "a post-rape care window of {/pep_window_hours} hours is beyond the 72 hours within which HIV PEP must start",
    ),
    (
        "ec-window-beyond-clinical-maximum",
        "an emergency contraception window of {/ec_window_hours} hours is beyond the 120 hours within which it works",
    ),
    (
        "education-ages-inverted",
        "the youngest age for education re-entry ({/education_min_age}) is above the oldest ({/education_max_age})",
    ),
    (
        "vocational-ages-inverted",
        "the youngest age for vocational training ({/vocational_min_age}) is above the oldest ({/vocational_max_age})",
    ),
    (
        "provider-directory-empty",
        "the provider directory is empty: no referral could name a provider",
    ),
    (
        "provider-id-repeated",
        "this provider id is already used by an earlier entry of the directory",
    ),
    (
        "provider-service-unknown",
        "no rule of this plugin refers to this service, so the entry would never be chosen for it",
    ),
];

/// What the rules cannot safely run with: a clinical window beyond the
/// clinical maximum, an inverted age range, an empty directory, a repeated
/// provider id, a provider offering a service no rule refers to.
pub fn check(settings: &Settings) -> Vec<SettingsRefusal> {
    let mut refusals: Vec<SettingsRefusal> =
        kinga_plugin_sdk::settings::offset_refusal(&settings.utc_offset, "/utc_offset")
            .into_iter()
            .collect();
    let mut refuse =
        |code: &str, pointer: String| refusals.push(SettingsRefusal::new(code, &pointer));
    if settings.pep_window_hours > PEP_CLINICAL_MAXIMUM_HOURS {
        refuse(
            "pep-window-beyond-clinical-maximum",
            "/pep_window_hours".into(),
        );
    }
    if settings.ec_window_hours > EC_CLINICAL_MAXIMUM_HOURS {
        refuse(
            "ec-window-beyond-clinical-maximum",
            "/ec_window_hours".into(),
        );
    }
    if settings.education_min_age > settings.education_max_age {
        refuse("education-ages-inverted", "/education_min_age".into());
    }
    if settings.vocational_min_age > settings.vocational_max_age {
        refuse("vocational-ages-inverted", "/vocational_min_age".into());
    }
    if settings.providers.is_empty() {
        refuse("provider-directory-empty", "/providers".into());
    }
    let known: BTreeSet<&str> = crate::rules::RULES
        .iter()
        .flat_map(|r| r.services.iter().copied())
        .collect();
    let mut ids = BTreeSet::new();
    for (index, provider) in settings.providers.iter().enumerate() {
        if !ids.insert(provider.id.as_str()) {
            refuse("provider-id-repeated", format!("/providers/{index}/id"));
        }
        for (at, service) in provider.services.iter().enumerate() {
            if !known.contains(service.as_str()) {
                refuse(
                    "provider-service-unknown",
                    format!("/providers/{index}/services/{at}"),
                );
            }
        }
    }
    refusals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(settings: &Settings) -> Vec<(String, String)> {
        check(settings)
            .into_iter()
            .map(|r| (r.code, r.pointer))
            .collect()
    }

    #[test]
    fn the_defaults_are_accepted_and_every_code_given_is_declared() {
        assert!(check(&Settings::default()).is_empty());
        let mut bad = Settings {
            pep_window_hours: 96,
            ec_window_hours: 500,
            education_min_age: 16,
            vocational_max_age: 12,
            ..Settings::default()
        };
        bad.providers[1].id = bad.providers[0].id.clone();
        bad.providers[2].services[0] = "health.post-rap-care".into();
        let got = refused(&bad);
        assert_eq!(
            got,
            [
                ("pep-window-beyond-clinical-maximum", "/pep_window_hours"),
                ("ec-window-beyond-clinical-maximum", "/ec_window_hours"),
                ("education-ages-inverted", "/education_min_age"),
                ("vocational-ages-inverted", "/vocational_min_age"),
                ("provider-id-repeated", "/providers/1/id"),
                ("provider-service-unknown", "/providers/2/services/0"),
            ]
            .map(|(c, p)| (c.to_owned(), p.to_owned()))
        );
        assert!(
            got.iter()
                .all(|(code, _)| REFUSALS.iter().any(|(c, _)| c == code))
        );
    }

    #[test]
    fn the_clinical_maxima_themselves_are_accepted() {
        let defaults = Settings::default();
        let at_the_edge = Settings {
            pep_window_hours: PEP_CLINICAL_MAXIMUM_HOURS,
            ec_window_hours: EC_CLINICAL_MAXIMUM_HOURS,
            education_max_age: defaults.education_min_age,
            ..defaults
        };
        assert!(check(&at_the_edge).is_empty());
    }

    #[test]
    fn an_empty_directory_is_refused() {
        let empty = Settings {
            providers: Vec::new(),
            ..Settings::default()
        };
        assert_eq!(
            refused(&empty),
            [(
                "provider-directory-empty".to_owned(),
                "/providers".to_owned()
            )]
        );
    }

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

    #[test]
    fn an_offset_that_is_not_one_is_refused() {
        let odd = Settings {
            utc_offset: "+3".into(),
            ..Settings::default()
        };
        assert_eq!(check(&odd)[0].code, "utc-offset-unreadable");
    }
}
