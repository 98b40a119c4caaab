//! A candidate version of `kenya-referral-pathway` whose only change is the
//! default `ec_window_hours`: 72 instead of 120. It compiles the reference
//! plugin's own rule and settings modules (not a copy), so that the shadow
//! run's tests can show exactly which referrals such a change would alter.

#[path = "../../../../plugins/kenya-referral-pathway/src/rules.rs"]
pub mod rules;
#[path = "../../../../plugins/kenya-referral-pathway/src/settings.rs"]
pub mod settings;

use kinga_plugin_sdk::*;
use serde::{Deserialize, Serialize};

/// The candidate.
pub struct Candidate;

/// The reference plugin's settings with a 72-hour EC window by default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ec72(pub settings::Settings);

impl Default for Ec72 {
    fn default() -> Self {
        Ec72(settings::Settings {
            ec_window_hours: 72,
            ..settings::Settings::default()
        })
    }
}

impl Plugin for Candidate {
    type Settings = Ec72;

    fn info() -> PluginInfo {
        let rule = |r: &rules::PathwayRule| RuleInfo {
            title: r.id.into(),
            description: "As in kenya-referral-pathway 1.0.0.".into(),
            ..r.info()
        };
        PluginInfo {
            id: "kenya-referral-pathway".into(),
            name: "Kenya referral pathway (candidate: EC window 72 h)".into(),
            version: "1.1.0-ec72".into(),
            purpose: "A candidate version of kenya-referral-pathway for shadow runs.".into(),
            rules: rules::RULES.iter().map(rule).collect(),
            settings_schema: include_str!(
                "../../../../plugins/kenya-referral-pathway/src/settings.schema.json"
            )
            .into(),
            case_fields: kinga_plugin_sdk::rule::case_fields(
                &rules::RULES,
                rules::WHOLE_CASE_FIELDS,
            ),
            errors: Vec::new(),
        }
        .errors(rules::ERRORS)
    }
}

impl ReferralPlugin for Candidate {
    fn route(ctx: &Context<Ec72>, case: &Case) -> Result<Vec<Referral>, PluginError> {
        let ctx = Context {
            as_of: ctx.as_of,
            enabled_rules: ctx.enabled_rules.clone(),
            settings: ctx.settings.0.clone(),
        };
        rules::route(&ctx, case)
    }
}

kinga_plugin_sdk::export_referral_plugin!(Candidate, wit = "../../../wit");
