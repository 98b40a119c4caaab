//! Refused administration requests that no accountable principal made:
//! tallied, and audited as one summary record at most every
//! [`SUMMARY_EVERY`], not one record each.
//!
//! A refusal of a known token lacking the role names a person and is
//! audited on its own. A request without a valid token, or over the rate
//! limit, names nobody; auditing each one let anyone on the network grow
//! the trail without bound and slow every real change (2,600 such requests
//! took an append from 1 ms to 39 ms). The first refusal after a quiet
//! period is audited at once, so a probe shows in the trail within seconds;
//! the rest of a burst goes into the next summary, written when the next
//! one is due, by the server's periodic tick or at shutdown. Every refusal
//! is still counted in `kinga_http_requests_total` by route and status.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::admin::{Request as AdminRequest, StateStore};
use crate::case::asof::AsOf;

/// The shortest time between two summary records.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(60);

/// Unattributed refusals not yet audited.
#[derive(Debug, Default)]
pub struct RefusalTally {
    inner: Mutex<Tally>,
}

#[derive(Debug, Default)]
struct Tally {
    /// Refusals by route and status, since `since`.
    routes: BTreeMap<String, u64>,
    since: Option<String>,
    last_written: Option<Instant>,
}

/// One summary record's content.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// How many requests were refused.
    pub count: u64,
    /// Refusals by `METHOD route status`.
    pub routes: BTreeMap<String, u64>,
    /// When the first of them was refused (RFC 3339, UTC).
    pub since: String,
}

impl RefusalTally {
    /// Counts one refusal; returns the summary to audit now when one is
    /// due.
    pub fn note(&self, method: &str, route: &str, status: u16) -> Option<Summary> {
        let mut tally = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *tally
            .routes
            .entry(format!("{method} {route} {status}"))
            .or_default() += 1;
        tally
            .since
            .get_or_insert_with(|| AsOf::now(time::UtcOffset::UTC).to_rfc3339());
        let due = tally
            .last_written
            .is_none_or(|at| at.elapsed() >= SUMMARY_EVERY);
        due.then(|| tally.take())
    }

    /// The summary of what is tallied, when one is due (or, with `now`,
    /// whenever anything is tallied: at shutdown).
    pub fn due(&self, now: bool) -> Option<Summary> {
        let mut tally = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let due = now
            || tally
                .last_written
                .is_none_or(|at| at.elapsed() >= SUMMARY_EVERY);
        (due && !tally.routes.is_empty()).then(|| tally.take())
    }
}

impl Tally {
    fn take(&mut self) -> Summary {
        self.last_written = Some(Instant::now());
        let routes = std::mem::take(&mut self.routes);
        Summary {
            count: routes.values().sum(),
            routes,
            since: self.since.take().unwrap_or_default(),
        }
    }
}

impl Summary {
    /// Writes the summary into the audit trail of `store`.
    ///
    /// # Errors
    /// The store's error, as text.
    pub fn audit(&self, store: &StateStore) -> Result<(), String> {
        let request = AdminRequest {
            actor: "anonymous".to_owned(),
            reason: "(refused before the request was read)".to_owned(),
            expected_revision: None,
        };
        let action = json!({
            "action": "http-refusals",
            "count": self.count,
            "since": self.since,
            "routes": self.routes.iter().map(|(k, v)| (k.clone(), Value::from(*v))).collect::<serde_json::Map<_, _>>(),
        });
        let detail = format!(
            "{} administration requests without a valid token, or over the rate limit, were refused",
            self.count
        );
        store
            .refuse(&request, action, &detail)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_refusal_is_due_at_once_the_rest_of_a_burst_waits() {
        let tally = RefusalTally::default();
        let first = tally.note("PATCH", "/v1/plugins/{id}", 401).unwrap();
        assert_eq!(first.count, 1);
        for _ in 0..99 {
            assert!(tally.note("PATCH", "/v1/plugins/{id}", 401).is_none());
        }
        assert!(tally.note("POST", "/v1/packages", 429).is_none());
        assert!(tally.due(false).is_none(), "not yet due");
        let rest = tally.due(true).unwrap();
        assert_eq!(rest.count, 100);
        assert_eq!(rest.routes["PATCH /v1/plugins/{id} 401"], 99);
        assert!(tally.due(true).is_none(), "nothing left");
    }
}
