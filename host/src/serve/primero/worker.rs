//! The outbox's worker: one thread that delivers what is due, oldest
//! first, one case's deliveries in the order they were queued (a referral
//! transition needs the service row before it).
//!
//! A retry waits `retry_initial_ms` doubled at each attempt, at most
//! `retry_max_seconds`, and never less than Primero's `Retry-After`; after
//! `max_attempts` a delivery moves to the failed ones, which `kinga outbox
//! list --failed` shows and `kinga outbox replay` puts back. The worker
//! looks at the outbox at least every second, so a delivery replayed by
//! the CLI, or left pending by a stopped server, is picked up.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;

use super::client::{Client, Outcome};
use super::outbox::{Item, Outbox, now_ms};
use super::{Primero, WriteBack};
use crate::serve::App;
use crate::serve::metrics::ResultLabels;

/// The longest the worker sleeps between looks at the outbox.
const POLL: Duration = Duration::from_secs(1);

/// Starts the worker of `app`'s Primero write-back, if it has one.
pub fn spawn(app: Arc<App>) -> Option<std::thread::JoinHandle<()>> {
    let primero = Arc::clone(app.primero.get()?);
    let write = primero.config.write_back.clone()?;
    let outbox = primero.outbox.clone()?;
    let client = Client::new(&write, primero.password.clone());
    std::thread::Builder::new()
        .name("kinga-primero-outbox".into())
        .spawn(move || {
            Worker {
                app,
                primero,
                write,
                outbox,
                client,
            }
            .run();
        })
        .ok()
}

struct Worker {
    app: Arc<App>,
    primero: Arc<Primero>,
    write: WriteBack,
    outbox: Outbox,
    client: Client,
}

impl Worker {
    fn run(mut self) {
        tracing::info!(target: "kinga::primero", "outbox worker started");
        while !self.primero.stop.load(Ordering::SeqCst) {
            let next = match self.deliver_due() {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!(target: "kinga::primero", error = %e, "the outbox cannot be read or written");
                    None
                }
            };
            let wait = next.map_or(POLL, |due| {
                Duration::from_millis(due.saturating_sub(now_ms())).min(POLL)
            });
            let (flag, condvar) = &*self.primero.wake;
            let mut woken = flag.lock().unwrap_or_else(|e| e.into_inner());
            if !*woken {
                woken = condvar
                    .wait_timeout(woken, wait)
                    .map_or_else(|e| e.into_inner().0, |(guard, _)| guard);
            }
            *woken = false;
        }
        tracing::info!(target: "kinga::primero", "outbox worker stopped");
    }

    /// Delivers every due item; returns when the next one is due.
    fn deliver_due(&mut self) -> std::io::Result<Option<u64>> {
        let items = self.outbox.items(false)?;
        let mut waiting: HashSet<String> = HashSet::new();
        let mut next: Option<u64> = None;
        for item in items {
            if self.primero.stop.load(Ordering::SeqCst) {
                break;
            }
            if waiting.contains(&item.case_id) {
                continue;
            }
            if item.not_before_ms > now_ms() {
                next = Some(next.map_or(item.not_before_ms, |n| n.min(item.not_before_ms)));
                waiting.insert(item.case_id.clone());
                continue;
            }
            let case_id = item.case_id.clone();
            if let Some(due) = self.deliver(item)? {
                next = Some(next.map_or(due, |n| n.min(due)));
                waiting.insert(case_id);
            }
        }
        // Counted, not read: the gauges are set every second.
        self.app
            .metrics
            .outbox_pending
            .set(self.outbox.count(false)? as i64);
        self.app
            .metrics
            .outbox_failed
            .set(self.outbox.count(true)? as i64);
        Ok(next)
    }

    /// Delivers what is left of `item`; returns when to try again, if it
    /// is to be tried again.
    fn deliver(&mut self, mut item: Item) -> std::io::Result<Option<u64>> {
        while item.done < item.work.len() {
            let work = item.work[item.done].clone();
            let ledger = self.outbox.ledger(&item.case_id)?;
            // Delivered already, or superseded: a newer delivery wrote
            // this row (a failed delivery replayed late never overwrites
            // a newer answer).
            let superseded = ledger
                .latest
                .get(&work.key)
                .is_some_and(|latest| latest.as_str() > item.id.as_str());
            if superseded || ledger.fingerprints.contains(&work.fingerprint) {
                item.done += 1;
                continue;
            }
            if work.transition {
                if item.in_flight.as_deref() == Some(work.fingerprint.as_str()) {
                    match self.transition_exists(&work.path, &work.body) {
                        Outcome::Delivered(Value::Bool(true)) => {
                            self.delivered(&mut item)?;
                            continue;
                        }
                        Outcome::Delivered(_) => {}
                        // Primero could not say whether the transition
                        // exists: it stays in flight, to be asked again.
                        other => return self.retry_or_fail(item, other, true),
                    }
                }
                item.in_flight = Some(work.fingerprint.clone());
                self.outbox.save(&item)?;
            }
            match self.client.send(&work.method, &work.path, Some(&work.body)) {
                Outcome::Delivered(_) => self.delivered(&mut item)?,
                other => return self.retry_or_fail(item, other, false),
            }
        }
        self.outbox.remove(&item.id)?;
        Ok(None)
    }

    /// Records the work in hand as delivered (ledger first: a crash after
    /// it sends nothing twice).
    fn delivered(&mut self, item: &mut Item) -> std::io::Result<()> {
        let work = item.work[item.done].clone();
        self.outbox
            .record_delivered(&item.case_id, &item.id, &work)?;
        item.done += 1;
        item.in_flight = None;
        item.last_error = None;
        self.count("delivered");
        if item.done < item.work.len() {
            self.outbox.save(item)?;
        }
        Ok(())
    }

    /// `asking`: the outcome is of the question whether a transition in
    /// flight exists, not of sending it (so a refusal keeps it in flight).
    fn retry_or_fail(
        &mut self,
        mut item: Item,
        outcome: Outcome,
        asking: bool,
    ) -> std::io::Result<Option<u64>> {
        match outcome {
            Outcome::Retry { why, after } => {
                item.attempts += 1;
                item.last_error = Some(why.clone());
                if item.attempts >= self.write.max_attempts {
                    tracing::warn!(target: "kinga::primero", item = %item.id, attempts = item.attempts, why = %why, "delivery failed for good: kinga outbox replay puts it back");
                    self.count("failed");
                    self.mark_unsynced(&item);
                    self.outbox.fail(&item)?;
                    return Ok(None);
                }
                let backoff = self
                    .write
                    .retry_initial_ms
                    .saturating_mul(1u64 << (item.attempts - 1).min(20))
                    .min(self.write.retry_max_seconds.saturating_mul(1000));
                let wait = after.map_or(backoff, |a| backoff.max(a.as_millis() as u64));
                item.not_before_ms = now_ms() + wait;
                tracing::info!(target: "kinga::primero", item = %item.id, attempts = item.attempts, retry_in_ms = wait, why = %why, "delivery will be retried");
                // Counted once saved: a retry seen in /metrics is on disk.
                self.outbox.save(&item)?;
                self.count("retry");
                Ok(Some(item.not_before_ms))
            }
            Outcome::Refused(why) => {
                tracing::warn!(target: "kinga::primero", item = %item.id, why = %why, "Primero refused a delivery: kinga outbox replay puts it back once fixed");
                item.last_error = Some(why);
                if !asking {
                    item.in_flight = None;
                }
                self.count("refused");
                self.mark_unsynced(&item);
                self.outbox.fail(&item)?;
                Ok(None)
            }
            Outcome::Delivered(_) => Ok(None),
        }
    }

    /// Tells Primero a case was not synced (`mark_synced_status`:
    /// `not_found` for a case Primero does not have, `failed` otherwise),
    /// when the write-back has a `sync_url`. Best effort: a case that
    /// cannot be marked is still in the failed deliveries.
    fn mark_unsynced(&mut self, item: &Item) {
        let Some(url) = self.write.sync_url.clone() else {
            return;
        };
        let Some(path) = item.work.first().map(|w| {
            w.path
                .strip_suffix("/referrals")
                .unwrap_or(&w.path)
                .to_owned()
        }) else {
            return;
        };
        let status = match item.last_error.as_deref() {
            Some(why) if why.starts_with("HTTP 404") => "not_found",
            _ => "failed",
        };
        let body = serde_json::json!({"data": {
            "mark_synced": true,
            "mark_synced_url": url,
            "mark_synced_status": status,
        }});
        if !matches!(
            self.client.send("PATCH", &path, Some(&body)),
            Outcome::Delivered(_)
        ) {
            tracing::info!(target: "kinga::primero", item = %item.id, "the case could not be marked as not synced");
        }
    }

    /// Whether the transition `body` (posted to `path`) exists already:
    /// `Delivered(true|false)`, or why Primero could not say.
    fn transition_exists(&mut self, path: &str, body: &Value) -> Outcome {
        match self.client.send("GET", path, None) {
            Outcome::Delivered(listed) => {
                let wanted = (
                    body.pointer("/data/service_record_id"),
                    body.pointer("/data/transitioned_to"),
                );
                let found = listed
                    .get("data")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|t| (t.get("service_record_id"), t.get("transitioned_to")) == wanted);
                Outcome::Delivered(Value::Bool(found))
            }
            other => other,
        }
    }

    fn count(&self, result: &str) {
        self.app
            .metrics
            .outbox_deliveries
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc();
    }
}
