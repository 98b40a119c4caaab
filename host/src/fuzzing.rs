//! Entry points for the fuzz targets (`fuzz/`) and the benchmark: the
//! host's checks on plugin answers, reachable without a plugin, and the
//! fixed cost of a fresh store. Not a stable API.

use std::collections::BTreeSet;

use crate::error::Error;
use crate::runtime::bindings::eligibility::exports::kinga::plugin::eligibility as e;
use crate::runtime::bindings::referral::exports::kinga::plugin::referral as r;
use crate::runtime::bindings::types::Reason;
use crate::runtime::output::{Decision, OutputCheck, Referral};

/// An arbitrary reason: rule, code, message.
pub type RawReason = (String, String, String);

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
        .map(|(rule, code, message)| Reason {
            rule,
            code,
            message,
        })
        .collect()
}

fn with_check<T>(identifying: &[String], f: impl FnOnce(&OutputCheck<'_>) -> T) -> T {
    let rules: BTreeSet<String> = ["a", "b", "education-support"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let check = OutputCheck {
        plugin: "fuzz",
        plugin_version: "0.0.0",
        rules: &rules,
        enabled: &rules,
        identifying,
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
pub fn check_decisions(
    raw: Vec<RawDecision>,
    identifying: &[String],
) -> Result<Vec<Decision>, Error> {
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
    with_check(identifying, |c| c.decisions(raw))
}

/// Runs the checks on an arbitrary referral answer: (rule, service,
/// urgency, due, provider, consent, reasons) per referral.
///
/// # Errors
/// Whatever the host would refuse.
pub fn check_referrals(
    raw: Vec<RawReferral>,
    identifying: &[String],
) -> Result<Vec<Referral>, Error> {
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
    with_check(identifying, |c| c.referrals(raw))
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
