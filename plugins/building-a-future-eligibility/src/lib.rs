//! # building-a-future-eligibility
//!
//! Which Building a Future tracks a child (or her household) is eligible
//! for, and why. One decision per enabled track:
//!
//! | track (= rule id) | eligible when |
//! |---|---|
//! | `education-support` | an identified survivor aged 9-15 |
//! | `vocational-training` | an identified survivor aged 16-18 |
//! | `family-livelihood` | a survivor whose household is child-headed or earns under KES 10,000 a month (with a priority score) |
//! | `child-rights-club` | any child aged 9-17 enrolled in a school that runs a Child Rights Club |
//!
//! Every track also needs an open case in a served county (Kwale, Kilifi).
//! Missing data never means "no": the decision is `undetermined` and names
//! the fields that would decide it. Ages and thresholds are settings.

pub mod rules;
pub mod settings;

use kinga_plugin_sdk::*;

pub use settings::Settings;

/// The plugin.
pub struct BuildingAFutureEligibility;

impl Plugin for BuildingAFutureEligibility {
    type Settings = Settings;

    fn info() -> PluginInfo {
        PluginInfo::new(
            "building-a-future-eligibility",
            "Building a Future: eligibility",
            "1.0.0",
            "Decides which Building a Future support tracks (education, vocational training, family \
             livelihood, Child Rights Clubs) a child survivor or at-risk child in Kwale and Kilifi is \
             eligible for, so caseworkers can offer them.",
        )
        .settings_schema(include_str!("settings.schema.json"))
        .reads(rules::AGE_FIELDS)
        .with_rules(&rules::RULES)
    }

    const SETTINGS_REFUSALS: &'static [kinga_plugin_sdk::settings::RefusalText] =
        settings::REFUSALS;

    fn check_settings(settings: &Settings) -> Vec<kinga_plugin_sdk::settings::SettingsRefusal> {
        settings::check(settings)
    }
}

/// The tracks take the child's age, computed once per case, so `evaluate`
/// is the plugin's own ([`rules::evaluate`]) rather than the SDK's default.
impl EligibilityPlugin for BuildingAFutureEligibility {
    fn evaluate(ctx: &Context<Settings>, case: &Case) -> Result<Vec<Decision>, PluginError> {
        rules::evaluate(ctx, case)
    }
}

kinga_plugin_sdk::export_eligibility_plugin!(BuildingAFutureEligibility, wit = "../../wit");
