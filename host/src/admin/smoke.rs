//! The smoke caseload an installation runs a candidate plugin on before it
//! can become the version in use: [`SMOKE_CASES`] synthetic cases (never
//! real ones) through the candidate alone, in the sandbox, with the
//! administration settings it would run with.
//!
//! A candidate fails when the sandbox stops it (a trap, fuel, memory), when
//! it answers outside the contract, or when it refuses a valid case with an
//! internal error. Stops that depend on the machine's load (a deadline, no
//! slot) are not held against it. Report templates that need no parameter
//! are run over the whole caseload; templates with required parameters
//! cannot be filled in generically and are left to the candidate's own
//! tests (`kinga test`).

use crate::admin::AdminState;
use crate::case::synth::{Synth, default_reference};
use crate::error::{Error, PluginErrorKind};
use crate::runtime::host::{EvalOptions, Host};
use crate::runtime::limits::Limits;
use crate::runtime::plugin::PluginKind;
use crate::{AsOf, ValidCase};

/// How many synthetic cases a candidate is run on.
pub const SMOKE_CASES: usize = 200;

/// The seed of the smoke caseload (fixed: a refusal can be reproduced).
pub const SMOKE_SEED: u64 = 7_001;

/// One place the candidate failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SmokeFailure {
    /// The synthetic case (`SYN-...`), or the report template.
    pub input: String,
    /// The error's class (`contained`, `invalid-output`, ...).
    pub error: String,
}

/// Runs `component` (plugin `id`) on the smoke caseload under `limits`,
/// with `state`'s switches and settings for it, and returns where it failed
/// (empty: it passed).
///
/// # Errors
/// A component that does not load, or settings of the state that it
/// refuses.
pub fn smoke(
    component: &[u8],
    state: &AdminState,
    limits: &Limits,
) -> Result<Vec<SmokeFailure>, Error> {
    // Every case is run: the breaker that protects a service would stop
    // counting after a few failures.
    let limits = limits.clone().without_breaker();
    let mut host = Host::builder().limits(limits).build()?;
    let id = host.load_bytes(component, "candidate")?;
    let mut own = AdminState::default();
    if let Some(entry) = state.plugins.get(&id) {
        own.plugins.insert(id.clone(), entry.clone());
    }
    host.apply_state(&own)?;
    let kind = host
        .plugin(&id)
        .map(|d| d.kind)
        .ok_or_else(|| Error::UnknownPlugin(id.clone()))?;
    let at = default_reference();
    let cases: Vec<ValidCase> = Synth::new(SMOKE_SEED, at)
        .take(SMOKE_CASES)
        .filter_map(|case| ValidCase::from_value(case).ok())
        .collect();
    let mut failures = Vec::new();
    match kind {
        PluginKind::Eligibility | PluginKind::Referral => {
            let options = EvalOptions::new(at)
                .plugins([id.clone()])
                .isolate_failures(true);
            for case in &cases {
                let errors = if kind == PluginKind::Eligibility {
                    host.evaluate_with(case, &options).map(|e| e.failures)
                } else {
                    host.route_with(case, &options).map(|e| e.failures)
                };
                let errors = errors.unwrap_or_else(|e| vec![e]);
                if let Some(e) = errors.iter().find(|e| is_fault(e)) {
                    failures.push(SmokeFailure {
                        input: case.case_id().to_owned(),
                        error: e.kind().to_owned(),
                    });
                }
            }
        }
        PluginKind::Reporting => failures.extend(smoke_reports(&host, &id, &cases, at)),
    }
    Ok(failures)
}

/// Runs each template of plugin `id` that needs no parameter over `cases`.
fn smoke_reports(host: &Host, id: &str, cases: &[ValidCase], at: AsOf) -> Vec<SmokeFailure> {
    let templates: Vec<String> = host
        .plugin(id)
        .map(|d| {
            d.templates
                .iter()
                .filter(|t| t.parameters.iter().all(|p| !p.required))
                .map(|t| t.id.clone())
                .collect()
        })
        .unwrap_or_default();
    let mut failures = Vec::new();
    for template in templates {
        let run = host.report(&template, &[], at).and_then(|mut run| {
            for case in cases {
                run.add(case)?;
            }
            run.finish()
        });
        if let Err(e) = run
            && is_fault(&e)
        {
            failures.push(SmokeFailure {
                input: format!("report {template}"),
                error: e.kind().to_owned(),
            });
        }
    }
    failures
}

/// Whether `error` is the candidate's fault, whatever the machine's load.
fn is_fault(error: &Error) -> bool {
    match error {
        Error::Contained { .. } => error.is_reproducible(),
        Error::InvalidOutput { .. } => true,
        Error::PluginRefused { kind, .. } => *kind == PluginErrorKind::Internal,
        _ => false,
    }
}
