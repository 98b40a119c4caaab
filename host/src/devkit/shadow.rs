//! Shadow runs: the version in use and a candidate over the same cases, and
//! what would change. Nothing is recorded as a decision.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::case::ValidCase;
use crate::case::asof::AsOf;
use crate::error::Error;
use crate::runtime::host::{EvalOptions, Host};
use crate::runtime::plugin::PluginKind;

/// How many changes a shadow report shows case by case.
pub const SAMPLE: usize = 10;

/// Changed outcomes for one track (eligibility) or service (referral).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Outputs only the candidate gives.
    pub added: u64,
    /// Outputs only the version in use gives.
    pub removed: u64,
    /// Outputs both give, differently.
    pub changed: u64,
}

/// One changed outcome, for the sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// The case.
    pub case_id: String,
    /// The track or service.
    pub key: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// What the version in use gives (codes and fields, no free text).
    pub active: Value,
    /// What the candidate gives.
    pub candidate: Value,
}

/// A case one side failed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedCase {
    /// The case.
    pub case_id: String,
    /// The error's class (`contained`, `invalid-output`, ...).
    pub error: String,
}

/// The failures of one side of a shadow run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Failures {
    /// How many cases it failed on.
    pub count: u64,
    /// The first of them.
    pub sample: Vec<FailedCase>,
}

impl Failures {
    fn note(&mut self, case: &ValidCase, error: &Error) {
        self.count += 1;
        if self.sample.len() < SAMPLE {
            self.sample.push(FailedCase {
                case_id: case.case_id().to_owned(),
                error: error.kind().to_owned(),
            });
        }
    }
}

/// What a shadow run found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ShadowReport {
    /// Cases run through both.
    pub cases: u64,
    /// Cases whose outcome would change.
    pub changed_cases: u64,
    /// Cases either version failed on (counted, not compared).
    pub failed_cases: u64,
    /// The cases the version in use failed on.
    pub active_failures: Failures,
    /// The cases the candidate failed on.
    pub candidate_failures: Failures,
    /// Changes per track or service.
    pub by_key: BTreeMap<String, Counts>,
    /// The first changes, case by case.
    pub sample: Vec<Difference>,
}

/// The outputs of `plugin` for `case`, keyed by track or service, as
/// comparable summaries.
fn outcomes(
    host: &Host,
    plugin: &str,
    case: &ValidCase,
    as_of: AsOf,
) -> Result<BTreeMap<String, Value>, Error> {
    let options = EvalOptions::new(as_of).plugins([plugin]);
    let kind = host
        .plugin(plugin)
        .map(|p| p.kind)
        .ok_or_else(|| Error::UnknownPlugin(plugin.to_owned()))?;
    Ok(match kind {
        PluginKind::Eligibility => host
            .evaluate_with(case, &options)?
            .outputs
            .into_iter()
            .map(|d| {
                let codes: Vec<String> = d.reasons.iter().map(|r| r.code.clone()).collect();
                (d.track.clone(), json!({"status": d.status, "priority": d.priority, "codes": codes, "missing": d.missing}))
            })
            .collect(),
        PluginKind::Referral => host
            .route_with(case, &options)?
            .outputs
            .into_iter()
            .map(|r| {
                let codes: Vec<String> = r.reasons.iter().map(|x| x.code.clone()).collect();
                let key = format!("{} ({})", r.service, r.rule);
                let provider = r.provider.map(|p| p.id);
                (key, json!({"urgency": r.urgency, "due": r.due, "consent": r.consent, "provider": provider, "codes": codes}))
            })
            .collect(),
        PluginKind::Reporting => {
            return Err(Error::WrongKind {
                plugin: plugin.to_owned(),
                kind: PluginKind::Reporting,
                wanted: "an eligibility or referral plugin (reports have no per-case outcome)",
            });
        }
    })
}

/// Runs `plugin` in `active` and in `candidate` over `cases` and compares.
///
/// # Errors
/// An unknown plugin in either host.
pub fn shadow(
    active: &Host,
    candidate: &Host,
    plugin: &str,
    cases: impl IntoIterator<Item = ValidCase>,
    as_of: AsOf,
) -> Result<ShadowReport, Error> {
    for host in [active, candidate] {
        host.plugin(plugin)
            .ok_or_else(|| Error::UnknownPlugin(plugin.to_owned()))?;
    }
    let mut report = ShadowReport::default();
    for case in cases {
        report.cases += 1;
        let before = outcomes(active, plugin, &case, as_of);
        let after = outcomes(candidate, plugin, &case, as_of);
        if let Err(e) = &before {
            report.active_failures.note(&case, e);
        }
        if let Err(e) = &after {
            report.candidate_failures.note(&case, e);
        }
        let (Ok(before), Ok(after)) = (before, after) else {
            report.failed_cases += 1;
            continue;
        };
        let mut changed = false;
        let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        for key in keys {
            let (old, new) = (before.get(key), after.get(key));
            let change = match (old, new) {
                (Some(a), Some(b)) if a == b => continue,
                (Some(_), Some(_)) => "changed",
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                (None, None) => continue,
            };
            changed = true;
            let counts = report.by_key.entry(key.clone()).or_default();
            match change {
                "added" => counts.added += 1,
                "removed" => counts.removed += 1,
                _ => counts.changed += 1,
            }
            if report.sample.len() < SAMPLE {
                report.sample.push(Difference {
                    case_id: case.case_id().to_owned(),
                    key: key.clone(),
                    change,
                    active: old.cloned().unwrap_or(Value::Null),
                    candidate: new.cloned().unwrap_or(Value::Null),
                });
            }
        }
        report.changed_cases += u64::from(changed);
    }
    Ok(report)
}
