//! Entry points for the fuzz targets (`fuzz/`) and the benchmark: the
//! host's checks on plugin answers, reachable without a plugin, and the
//! fixed cost of a fresh store. Not a stable API.

use std::collections::BTreeSet;

use crate::error::Error;
use crate::runtime::bindings::eligibility::exports::kinga::plugin::eligibility as e;
use crate::runtime::bindings::referral::exports::kinga::plugin::referral as r;
use crate::runtime::bindings::types::Reason;
use crate::runtime::declared::Declared;
use crate::runtime::output::{Decision, OutputCheck, Referral};
use crate::runtime::plugin::{
    PluginDescription, PluginKind, PriorityRange, ReasonDescription, RuleDescription,
};

/// An arbitrary reason: rule, code.
pub type RawReason = (String, String);

/// An arbitrary decision: track, status, priority, reasons, missing.
pub type RawDecision = (String, u8, Option<i32>, Vec<RawReason>, Vec<String>);

/// An arbitrary provider: id, name, contact.
pub type RawProvider = (String, String, String);

/// An arbitrary referral: rule, service, urgency, due, provider, consent,
/// reasons.
pub type RawReferral = (
    String,
    String,
    u8,
    String,
    Option<RawProvider>,
    u8,
    Vec<RawReason>,
);

fn reasons(raw: Vec<RawReason>) -> Vec<Reason> {
    raw.into_iter()
        .map(|(rule, code)| Reason { rule, code })
        .collect()
}

/// The plugin the fuzzed answers come from: rules `a`, `b` and
/// `education-support`, each with the reasons `r-1` and `r-2`, the service
/// `health.care`, priorities 0 to 100, one provider in its settings.
fn fuzz_plugin() -> PluginDescription {
    let rule = |id: &str| RuleDescription {
        id: id.to_owned(),
        title: id.to_owned(),
        description: String::new(),
        enabled_by_default: true,
        reasons: ["r-1", "r-2"]
            .map(|code| ReasonDescription {
                code: code.to_owned(),
                message: format!("reason {code}"),
            })
            .to_vec(),
        services: vec!["health.care".to_owned()],
        priorities: Some(PriorityRange {
            lowest: 0,
            highest: 100,
        }),
    };
    PluginDescription {
        id: "fuzz".into(),
        name: "Fuzz".into(),
        version: "0.0.0".into(),
        kind: PluginKind::Eligibility,
        purpose: "Fuzzing.".into(),
        contract: crate::runtime::plugin::CONTRACT.to_owned(),
        content_sha256: String::new(),
        rules: ["a", "b", "education-support"].map(rule).to_vec(),
        settings_schema: serde_json::json!({}),
        default_settings: serde_json::json!({}),
        case_fields: vec!["/child".into(), "/status".into()],
        errors: Vec::new(),
        settings_refusals: Vec::new(),
        templates: Vec::new(),
    }
}

fn with_check<T>(f: impl FnOnce(&OutputCheck<'_>) -> T) -> T {
    let description = fuzz_plugin();
    let settings = serde_json::json!({"providers": [{"id": "p", "name": "P", "contact": "c"}]});
    let declared = Declared::new(&description, settings);
    let rules: BTreeSet<String> = description.rules.iter().map(|r| r.id.clone()).collect();
    let check = OutputCheck {
        plugin: "fuzz",
        plugin_version: "0.0.0",
        declared: &declared,
        case_fields: &description.case_fields,
        enabled: &rules,
        as_of: time::macros::datetime!(2026-07-01 09:00 +03:00),
        max_bytes: 1 << 20,
        max_items: 10_000,
        measured: std::cell::Cell::new(0),
    };
    f(&check)
}

/// Runs the checks on an arbitrary eligibility answer: (track, status,
/// priority, reasons, missing) per decision.
///
/// # Errors
/// Whatever the host would refuse.
pub fn check_decisions(raw: Vec<RawDecision>) -> Result<Vec<Decision>, Error> {
    let raw = raw
        .into_iter()
        .map(|(track, status, priority, rs, missing)| e::Decision {
            track,
            status: match status % 3 {
                0 => e::Status::Eligible,
                1 => e::Status::Ineligible,
                _ => e::Status::Undetermined,
            },
            priority,
            reasons: reasons(rs),
            missing,
        })
        .collect();
    with_check(|c| c.decisions(raw))
}

/// Runs the checks on an arbitrary referral answer: (rule, service,
/// urgency, due, provider, consent, reasons) per referral.
///
/// # Errors
/// Whatever the host would refuse.
pub fn check_referrals(raw: Vec<RawReferral>) -> Result<Vec<Referral>, Error> {
    let raw = raw
        .into_iter()
        .map(
            |(rule, service, urgency, due, provider, consent, rs)| r::Referral {
                rule,
                service,
                urgency: match urgency % 4 {
                    0 => r::Urgency::Emergency,
                    1 => r::Urgency::Within24h,
                    2 => r::Urgency::Within72h,
                    _ => r::Urgency::Routine,
                },
                due,
                provider: provider.map(|(id, name, contact)| r::Provider { id, name, contact }),
                consent: match consent % 3 {
                    0 => r::ConsentStatus::NotRequired,
                    1 => r::ConsentStatus::Given,
                    _ => r::ConsentStatus::Required,
                },
                reasons: reasons(rs),
            },
        )
        .collect();
    with_check(|c| c.referrals(raw))
}

/// Makes fresh stores the way every plugin call does (limits, fuel,
/// deadline, inert WASI context), to measure their fixed cost.
pub struct StoreFactory {
    engine: wasmtime::Engine,
    limits: crate::Limits,
    plugin: std::sync::Arc<str>,
}

impl StoreFactory {
    /// A factory with its own engine under `limits`.
    ///
    /// # Errors
    /// [`Error::Engine`] when the engine cannot be built.
    pub fn new(limits: crate::Limits) -> Result<StoreFactory, Error> {
        let engine = crate::runtime::engine::build(&limits)
            .map_err(crate::runtime::sandbox::engine_error)?;
        Ok(StoreFactory {
            engine,
            limits,
            plugin: std::sync::Arc::from("bench"),
        })
    }

    /// Makes one store and drops it.
    pub fn make_and_drop(&self) {
        let store = crate::runtime::store::new_store(
            &self.engine,
            &self.limits,
            std::sync::Arc::clone(&self.plugin),
        );
        drop(std::hint::black_box(store));
    }
}
