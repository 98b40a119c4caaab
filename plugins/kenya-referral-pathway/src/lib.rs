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
        use rules::*;
        PluginInfo {
            id: "kenya-referral-pathway".into(),
            name: "Kenya referral pathway (Kwale, Kilifi)".into(),
            version: "1.0.0".into(),
            purpose: "Routes children who experienced sexual abuse or exploitation to the health, statutory, police, \
                      protection, psychosocial, legal and programme services Kenya's referral pathway requires, with \
                      urgency, due time, provider and consent status."
                .into(),
            rules: vec![
                RuleInfo::new(POST_RAPE_CARE, "Post-rape care (PEP)", "A sexual incident within pep_window_hours (72): emergency post-rape care, due at the end of the window."),
                RuleInfo::new(EMERGENCY_CONTRACEPTION, "Emergency contraception", "A girl aged ec_min_age (10) or more, a sexual incident within ec_window_hours (120): emergency, due at the end of the window."),
                RuleInfo::new(MEDICAL_EXAMINATION, "Medical examination", "A sexual incident older than the PEP window with no health care recorded: within 72 hours."),
                RuleInfo::new(CHILDRENS_OFFICER, "Sub-County Children's Officer", "Any sexual incident, identified survivor or protection concern: statutory notification within 24 hours (recent incident) or 72 hours."),
                RuleInfo::new(POLICE, "Police gender desk", "A sexual incident not reported to the police: within 24 or 72 hours, pending police-report consent."),
                RuleInfo::new(SAFE_SHELTER, "Safe shelter", "Not safe at home, or the perpetrator lives in the household: emergency, within 24 hours."),
                RuleInfo::new(PSYCHOSOCIAL, "Psychosocial support", "An identified survivor or any sexual incident: routine, within 14 days."),
                RuleInfo::new(LEGAL_AID, "Legal aid", "A sexual incident reported to the police: routine, within 14 days."),
                RuleInfo::new(EDUCATION_REENTRY, "Education re-entry", "A survivor aged 9-15 not enrolled in school: routine, within 30 days."),
                RuleInfo::new(VOCATIONAL, "Vocational training", "A survivor aged 16-18: routine, within 30 days."),
            ],
            settings_schema: include_str!("settings.schema.json").into(),
            case_fields: rules::CASE_FIELDS.map(String::from).to_vec(),
        }
    }
}

impl ReferralPlugin for KenyaReferralPathway {
    fn route(ctx: &Context<Settings>, case: &Case) -> Result<Vec<Referral>, PluginError> {
        rules::route(ctx, case)
    }
}

kinga_plugin_sdk::export_referral_plugin!(KenyaReferralPathway, wit = "../../wit");
