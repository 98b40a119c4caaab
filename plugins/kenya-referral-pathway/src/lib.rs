//! # kenya-referral-pathway
//!
//! Which services a child must be referred to after sexual abuse or
//! exploitation, how urgently, to which provider in Kwale or Kilifi, and
//! whether consent allows it, following Kenya's referral pathway.
//!
//! | rule | service | when | urgency | consent |
//! |---|---|---|---|---|
//! | `post-rape-care` | `health.post-rape-care` | sexual incident ≤ 72 h old | emergency, due incident + 72 h | not required |
//! | `emergency-contraception` | `health.emergency-contraception` | a girl aged ≥ 10, sexual incident ≤ 120 h old | emergency, due incident + 120 h | not required |
//! | `medical-examination` | `health.medical-examination` | sexual incident > 72 h old without health care | within 72 h | not required |
//! | `childrens-officer` | `statutory.childrens-officer` | sexual incident, survivor, or protection concern | within 24 h (incident ≤ 72 h) else 72 h | not required (statutory) |
//! | `police` | `police.gender-desk` | sexual incident not reported | within 24 h / 72 h | police-report consent |
//! | `safe-shelter` | `protection.safe-shelter` | not safe at home, or perpetrator in the household | emergency, 24 h | not required |
//! | `psychosocial` | `care.psychosocial` | survivor or sexual incident | routine, 14 days | sharing consent |
//! | `legal-aid` | `justice.legal-aid` | sexual incident reported to the police | routine, 14 days | sharing consent |
//! | `education-reentry` | `programme.education-support` | survivor aged 9-15 not enrolled | routine, 30 days | sharing consent |
//! | `vocational` | `programme.vocational-training` | survivor aged 16-18 | routine, 30 days | sharing consent |
//!
//! Windows and ages are settings; the provider directory is a setting whose
//! bundled default is **sample data with invented contacts**. A referral that
//! needs consent is listed with `consent: required`, never silently dropped.

pub mod rules;
pub mod settings;

use kinga_plugin_sdk::*;

pub use settings::Settings;

/// The plugin.
pub struct KenyaReferralPathway;

impl Plugin for KenyaReferralPathway {
    type Settings = Settings;

    fn info() -> PluginInfo {
        PluginInfo::new(
            "kenya-referral-pathway",
            "Kenya referral pathway (Kwale, Kilifi)",
            "1.0.0",
            "Routes children who experienced sexual abuse or exploitation to the health, statutory, police, \
             protection, psychosocial, legal and programme services Kenya's referral pathway requires, with \
             urgency, due time, provider and consent status.",
        )
        .settings_schema(include_str!("settings.schema.json"))
        .reads(rules::WHOLE_CASE_FIELDS)
        .errors(rules::ERRORS)
        .with_rules(&rules::RULES)
    }

    const SETTINGS_REFUSALS: &'static [kinga_plugin_sdk::settings::RefusalText] =
        settings::REFUSALS;

    fn check_settings(settings: &Settings) -> Vec<kinga_plugin_sdk::settings::SettingsRefusal> {
        settings::check(settings)
    }
}

/// The rules share facts gathered once per case, so `route` is the
/// plugin's own ([`rules::route`]) rather than the SDK's default.
impl ReferralPlugin for KenyaReferralPathway {
    fn route(ctx: &Context<Settings>, case: &Case) -> Result<Vec<Referral>, PluginError> {
        rules::route(ctx, case)
    }
}

kinga_plugin_sdk::export_referral_plugin!(KenyaReferralPathway, wit = "../../wit");
