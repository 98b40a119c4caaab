//! The plugin's settings and their documented defaults.

use kinga_plugin_sdk::settings::{RefusalText, SettingsRefusal};
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
    /// The programme's UTC offset (`+03:00`): the as-of date, and so every
    /// age, is taken at this offset.
    pub utc_offset: String,
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

/// Every refusal [`check`] can give.
pub const REFUSALS: &[RefusalText] = &[
    kinga_plugin_sdk::settings::UTC_OFFSET_REFUSAL,
    (
        "no-counties",
        "the programme serves no county: every child would be ineligible",
    ),
    (
        "education-ages-inverted",
        "the youngest age for education support ({/education_min_age}) is above the oldest ({/education_max_age})",
    ),
    (
        "vocational-ages-inverted",
        "the youngest age for vocational training ({/vocational_min_age}) is above the oldest ({/vocational_max_age})",
    ),
    (
        "child-rights-club-ages-inverted",
        "the youngest age for a Child Rights Club ({/child_rights_club_min_age}) is above the oldest ({/child_rights_club_max_age})",
    ),
];

/// What the tracks cannot safely run with: no county served (every child
/// would be ineligible, silently), or an age range whose minimum lies above
/// its maximum.
pub fn check(settings: &Settings) -> Vec<SettingsRefusal> {
    let mut refusals: Vec<SettingsRefusal> =
        kinga_plugin_sdk::settings::offset_refusal(&settings.utc_offset, "/utc_offset")
            .into_iter()
            .collect();
    if settings.counties.is_empty() {
        refusals.push(SettingsRefusal::new("no-counties", "/counties"));
    }
    let ranges = [
        (
            "education-ages-inverted",
            "/education_min_age",
            settings.education_min_age,
            settings.education_max_age,
        ),
        (
            "vocational-ages-inverted",
            "/vocational_min_age",
            settings.vocational_min_age,
            settings.vocational_max_age,
        ),
        (
            "child-rights-club-ages-inverted",
            "/child_rights_club_min_age",
            settings.child_rights_club_min_age,
            settings.child_rights_club_max_age,
        ),
    ];
    for (code, pointer, min, max) in ranges {
        if min > max {
            refusals.push(SettingsRefusal::new(code, pointer));
        }
    }
    refusals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_accepted() {
        assert!(check(&Settings::default()).is_empty());
    }

    #[test]
    fn inverted_ranges_and_no_county_are_refused_with_declared_codes() {
        let bad = Settings {
            counties: Vec::new(),
            education_min_age: 16,
            vocational_max_age: 15,
            child_rights_club_min_age: 18,
            ..Settings::default()
        };
        let got: Vec<(String, String)> = check(&bad)
            .into_iter()
            .map(|r| (r.code, r.pointer))
            .collect();
        assert_eq!(
            got,
            [
                ("no-counties", "/counties"),
                ("education-ages-inverted", "/education_min_age"),
                ("vocational-ages-inverted", "/vocational_min_age"),
                (
                    "child-rights-club-ages-inverted",
                    "/child_rights_club_min_age"
                ),
            ]
            .map(|(c, p)| (c.to_owned(), p.to_owned()))
        );
        assert!(
            got.iter()
                .all(|(code, _)| REFUSALS.iter().any(|(c, _)| c == code))
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
