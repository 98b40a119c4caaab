//! A test eligibility plugin with two tracks:
//!
//! - `open-case`: eligible while the case is open;
//! - `minimum-age`: eligible when the child is at least `min_age` (a
//!   setting) at the as-of date, undetermined without any age.

use kinga_plugin_sdk::age::{DATE_OF_BIRTH, age_at};
use kinga_plugin_sdk::*;
use serde::{Deserialize, Serialize};

/// The plugin.
pub struct TestEligibility;

/// Its settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The minimum age of the `minimum-age` track.
    pub min_age: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { min_age: 9 }
    }
}

impl Plugin for TestEligibility {
    type Settings = Settings;

    fn info() -> PluginInfo {
        PluginInfo {
            id: "test-eligibility".into(),
            name: "Test eligibility".into(),
            version: "0.1.0".into(),
            purpose: "Exercises the eligibility contract in the host's tests.".into(),
            rules: vec![
                RuleInfo::new(
                    "open-case",
                    "Open case",
                    "Eligible while the case is open.",
                    &[
                        ("case-open", "the case is open"),
                        ("case-closed", "the case is closed"),
                        ("status-missing", "no case status"),
                    ],
                ),
                RuleInfo::new(
                    "minimum-age",
                    "Minimum age",
                    "Eligible from `min_age` years.",
                    &[
                        ("age-unknown", "neither a date of birth nor an estimate"),
                        ("old-enough", "at or above the minimum age of {/min_age}"),
                        ("too-young", "below the minimum age of {/min_age}"),
                    ],
                ),
            ],
            settings_schema: include_str!("settings.schema.json").into(),
            case_fields: vec!["/status".into(), "/child".into()],
            errors: Vec::new(),
        }
    }
}

impl EligibilityPlugin for TestEligibility {
    fn evaluate(ctx: &Context<Settings>, case: &Case) -> Result<Vec<Decision>, PluginError> {
        let mut decisions = Vec::new();
        if ctx.enabled("open-case") {
            decisions.push(open_case(case));
        }
        if ctx.enabled("minimum-age") {
            decisions.push(minimum_age(ctx, case)?);
        }
        log::debug("evaluated");
        Ok(decisions)
    }
}

fn decision(track: &str, status: Status, code: &str, missing: Vec<String>) -> Decision {
    Decision {
        track: track.into(),
        status,
        priority: None,
        reasons: vec![Reason::new(track, code)],
        missing,
    }
}

fn open_case(case: &Case) -> Decision {
    match case.status {
        Some(CaseStatus::Open) => decision("open-case", Status::Eligible, "case-open", vec![]),
        Some(CaseStatus::Closed) => {
            decision("open-case", Status::Ineligible, "case-closed", vec![])
        }
        None => decision(
            "open-case",
            Status::Undetermined,
            "status-missing",
            vec!["/status".into()],
        ),
    }
}

fn minimum_age(ctx: &Context<Settings>, case: &Case) -> Result<Decision, PluginError> {
    Ok(match age_at(case, ctx.as_of_date())? {
        None => decision(
            "minimum-age",
            Status::Undetermined,
            "age-unknown",
            vec![DATE_OF_BIRTH.into()],
        ),
        Some(age) if age.years >= ctx.settings.min_age => {
            decision("minimum-age", Status::Eligible, "old-enough", vec![])
        }
        Some(_) => decision("minimum-age", Status::Ineligible, "too-young", vec![]),
    })
}

kinga_plugin_sdk::export_eligibility_plugin!(TestEligibility, wit = "../../../wit");
