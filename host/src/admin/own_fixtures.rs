//! A package's own fixtures, run in the sandbox before the package can be
//! installed (and before `kinga plugins sign` writes it): the publisher's
//! tests of its rules, signed with the component, must pass on the host
//! that will run it.
//!
//! Each fixture runs on the candidate alone, from the plugin's defaults
//! with the fixture's own settings and switches (as `kinga test` runs it),
//! never with the deployment's settings: those are what the smoke caseload
//! ([`smoke`](super::smoke)) tries. A fixture that is not a fixture, that
//! cannot run, or whose expectations the candidate does not meet fails the
//! candidate. Failures name the fixture and the pointers that differ, never
//! the values (a refusal is audited).

use std::collections::BTreeMap;
use std::path::Path;

use crate::admin::AdminState;
use crate::error::Error;
use crate::fixture::Fixture;
use crate::runtime::host::Host;
use crate::runtime::limits::Limits;

/// How many differing pointers a failure names.
const SHOWN_POINTERS: usize = 5;

/// One fixture the candidate did not pass.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FixtureFailure {
    /// The fixture's file name (`fixtures/NAME.json`).
    pub fixture: String,
    /// What went wrong: where the answer differs, or why it could not run.
    pub problem: String,
}

/// Runs every fixture of `fixtures` (file name → bytes) on `component`
/// under `limits`, and returns those it did not pass (empty: all passed, or
/// there were none).
///
/// # Errors
/// A component that does not load.
pub fn run(
    component: &[u8],
    fixtures: &BTreeMap<String, Vec<u8>>,
    limits: &Limits,
) -> Result<Vec<FixtureFailure>, Error> {
    if fixtures.is_empty() {
        return Ok(Vec::new());
    }
    // Fixtures that expect refusals must all run: no breaker.
    let mut host = Host::builder()
        .limits(limits.clone().without_breaker())
        .build()?;
    let id = host.load_bytes(component, "candidate")?;
    let mut failures = Vec::new();
    for (name, bytes) in fixtures {
        let failed = |problem: String| FixtureFailure {
            fixture: name.clone(),
            problem,
        };
        let fixture = match Fixture::from_bytes(Path::new(name), bytes) {
            Ok(fixture) => fixture,
            Err(e) => {
                failures.push(failed(format!(
                    "is not a fixture: {}",
                    crate::text::sanitize_log_line(&e.message, 500)
                )));
                continue;
            }
        };
        let outcome = host
            .apply_state(&AdminState::default())
            .and_then(|()| fixture.prepare(&mut host, &id))
            .and_then(|()| fixture.run(&host, &id));
        match outcome {
            Err(e) => failures.push(failed(format!(
                "could not run: {}",
                crate::text::sanitize_log_line(&e.to_string(), 500)
            ))),
            Ok(outcome) if outcome.mismatches.is_empty() => {}
            Ok(outcome) => {
                // The pointers come from the fixture's own `expect` keys:
                // shown as plain text, whatever they hold.
                let pointers: Vec<String> = outcome
                    .mismatches
                    .iter()
                    .take(SHOWN_POINTERS)
                    .map(|m| crate::text::sanitize_log_line(&m.pointer, 200))
                    .collect();
                let more = outcome.mismatches.len() - pointers.len();
                failures.push(failed(format!(
                    "the answer differs from the expectation at {}{}",
                    pointers.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                )));
            }
        }
    }
    Ok(failures)
}

/// The failures in one line, for a refusal: the first ten, then a count.
pub fn summary(failures: &[FixtureFailure]) -> String {
    let shown: Vec<String> = failures
        .iter()
        .take(10)
        .map(|f| {
            format!(
                "fixtures/{} {}",
                crate::text::sanitize_log_line(&f.fixture, 100),
                f.problem
            )
        })
        .collect();
    let more = failures.len() - shown.len();
    format!(
        "{}{}",
        shown.join("; "),
        if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        }
    )
}
