//! A test referral plugin with two rules:
//!
//! - `notify-officer`: every case goes to the Children's Officer within 24 h;
//! - `recent-incident`: an incident less than `window_hours` (a setting) old
//!   needs health care as an emergency, due at the end of the window.

use kinga_plugin_sdk::time::Duration;
use kinga_plugin_sdk::*;
use serde::{Deserialize, Serialize};

/// The plugin.
pub struct TestReferral;

/// Its settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Hours after an incident during which health care is an emergency.
    pub window_hours: u32,
    /// The Children's Officer every case is referred to: a provider is
    /// always quoted from the settings.
    pub officer: Officer,
}

/// A provider of the settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Officer {
    /// Directory id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Contact.
    pub contact: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            window_hours: 72,
            officer: Officer {
                id: "test-officer".into(),
                name: "Test Sub-County Children's Office".into(),
                contact: "sample only".into(),
            },
        }
    }
}

impl Plugin for TestReferral {
    type Settings = Settings;

    fn info() -> PluginInfo {
        PluginInfo {
            id: "test-referral".into(),
            name: "Test referral".into(),
            version: "0.1.0".into(),
            purpose: "Exercises the referral contract in the host's tests.".into(),
            rules: vec![
                RuleInfo {
                    services: vec!["statutory.childrens-officer".into()],
                    ..RuleInfo::new(
                        "notify-officer",
                        "Notify the officer",
                        "Every case goes to the Children's Officer.",
                        &[("statutory", "statutory notification")],
                    )
                },
                RuleInfo {
                    services: vec!["health.post-rape-care".into()],
                    ..RuleInfo::new(
                        "recent-incident",
                        "Recent incident",
                        "Health care within the window.",
                        &[(
                            "within-window",
                            "the incident is within the {/window_hours}-hour window",
                        )],
                    )
                },
            ],
            settings_schema:
                r#"{"type":"object","additionalProperties":false,"required":["window_hours","officer"],
                "properties":{"window_hours":{"type":"integer","minimum":1,"maximum":720},
                "officer":{"type":"object","additionalProperties":false,"required":["id","name","contact"],
                "properties":{"id":{"type":"string"},"name":{"type":"string"},"contact":{"type":"string"}}}}}"#
                    .into(),
            case_fields: vec!["/incidents".into()],
            errors: Vec::new(),
        }
        .errors(&[(
            ErrorKind::InvalidCase,
            "incident-after-as-of",
            "the incident is dated after the as-of",
        )])
    }
}

impl ReferralPlugin for TestReferral {
    fn route(ctx: &Context<Settings>, case: &Case) -> Result<Vec<Referral>, PluginError> {
        let mut out = Vec::new();
        if ctx.enabled("recent-incident")
            && let Some(event) = case.latest_event(ctx.as_of.offset(), |_| true)
        {
            if let Some(pointer) = case.incident_after(ctx.as_of) {
                return Err(PluginError::invalid_case(
                    "incident-after-as-of",
                    Some(&pointer),
                ));
            }
            // Built against contract 0.2.1, this plugin reads case 1.0:
            // every incident it is given has its instant.
            let at = event.latest;
            let window = Duration::hours(i64::from(ctx.settings.window_hours));
            if ctx.as_of - at <= window {
                out.push(Referral {
                    rule: "recent-incident".into(),
                    service: "health.post-rape-care".into(),
                    urgency: Urgency::Emergency,
                    due: at + window,
                    provider: None,
                    consent: ConsentStatus::NotRequired,
                    reasons: vec![Reason::new("recent-incident", "within-window")],
                });
            }
        }
        if ctx.enabled("notify-officer") {
            out.push(Referral {
                rule: "notify-officer".into(),
                service: "statutory.childrens-officer".into(),
                urgency: Urgency::Within24h,
                due: ctx.as_of + Duration::hours(24),
                provider: Some(Provider {
                    id: ctx.settings.officer.id.clone(),
                    name: ctx.settings.officer.name.clone(),
                    contact: ctx.settings.officer.contact.clone(),
                }),
                consent: ConsentStatus::NotRequired,
                reasons: vec![Reason::new("notify-officer", "statutory")],
            });
        }
        Ok(out)
    }
}

// Built against the frozen contract 0.2.1, so that the host's promise to
// plugins reading case 1.0 is tested with a real one (`wit/README.md`).
kinga_plugin_sdk::export_referral_plugin!(TestReferral, wit = "../../contract/wit-0.2.1");
