//! Bounded concurrency and the circuit breaker.
//!
//! Every plugin call takes a slot from the host-wide pool and one from its
//! plugin's own pool. The per-plugin cap means a plugin that is slow (or
//! hostile) can occupy only a few slots, so the others keep their latency;
//! the host-wide cap bounds the total work. A caller that cannot get a slot
//! within the queue timeout fails as overloaded instead of waiting for ever.
//!
//! A plugin that fails (is contained: out of fuel or time, out of memory,
//! trapped; or answers out of contract) on too many *different* inputs in a
//! row is switched off by its breaker, which lets a trial call through after
//! a cool-down and closes on a good answer, or when an administrator closes
//! it. One input that fails again and again is not a broken plugin: it is
//! remembered and answered with its failure, costing nobody else anything.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Containment, Error};

/// A counting semaphore with a timed acquire.
#[derive(Debug)]
pub struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A held slot, released on drop.
#[derive(Debug)]
pub struct Slot<'a>(&'a Slots);

impl Slots {
    /// `count` slots.
    pub fn new(count: usize) -> Slots {
        Slots {
            free: Mutex::new(count),
            freed: Condvar::new(),
        }
    }

    /// Takes a slot, waiting at most `timeout`; `None` if none freed in time.
    pub fn acquire(&self, timeout: Duration) -> Option<Slot<'_>> {
        let deadline = Instant::now() + timeout;
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            let left = deadline.checked_duration_since(Instant::now())?;
            free = self
                .freed
                .wait_timeout(free, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *free -= 1;
        Some(Slot(self))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

/// How many failing inputs a breaker remembers, so that one of them sent
/// again is answered without running the plugin.
const REMEMBERED_INPUTS: usize = 256;

/// One call's input as the breaker tells inputs apart: a keyed hash of
/// what the plugin would see (its case projection and its context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint(u64);

/// A failure that the same input reproduces: the plugin has no clock and
/// its randomness is fixed, so only what [`Error::is_reproducible`] rules
/// out (a deadline stop, which depends on the machine's load) is not
/// remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KnownFailure {
    /// The sandbox stopped it.
    Contained(Containment),
    /// Its answer broke the contract.
    InvalidOutput {
        /// Where.
        pointer: String,
        /// What.
        message: String,
    },
}

impl KnownFailure {
    /// The failure `error` is, when the same input would reproduce it.
    pub(crate) fn of(error: &Error) -> Option<KnownFailure> {
        if !error.is_reproducible() {
            return None;
        }
        match error {
            Error::Contained { kind, .. } => Some(KnownFailure::Contained(*kind)),
            Error::InvalidOutput {
                pointer, message, ..
            } => Some(KnownFailure::InvalidOutput {
                pointer: pointer.clone(),
                message: message.clone(),
            }),
            _ => None,
        }
    }

    /// The error again, for `plugin`.
    pub(crate) fn to_error(&self, plugin: &str) -> Error {
        match self {
            KnownFailure::Contained(kind) => Error::Contained {
                plugin: plugin.to_owned(),
                kind: *kind,
            },
            KnownFailure::InvalidOutput { pointer, message } => Error::InvalidOutput {
                plugin: plugin.to_owned(),
                pointer: pointer.clone(),
                message: message.clone(),
            },
        }
    }
}

/// What a breaker lets a call do.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Run it (when the breaker is half-open, as its one trial call).
    Run,
    /// The breaker is open: the plugin is not called.
    Open {
        /// Distinct inputs that stopped it.
        distinct_failures: u32,
    },
    /// This very input stopped the plugin before and would again.
    Known(KnownFailure),
}

/// Whether a breaker lets calls through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerState {
    /// Calls run.
    Closed,
    /// Calls are refused without running the plugin.
    Open,
    /// Open, but the cool-down has passed: the next call runs as a trial,
    /// and closes the breaker if the plugin answers.
    HalfOpen,
}

/// What a breaker knows of its plugin: for `/readyz`, `/metrics` and the
/// plugin listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BreakerStatus {
    /// Closed, open or half-open.
    pub state: BreakerState,
    /// Distinct inputs that stopped the plugin since its last good answer.
    pub distinct_failures: u32,
    /// Failed calls since its last good answer, repeats of one input
    /// included.
    pub failures_in_a_row: u32,
    /// How often it opened since the host was built.
    pub trips: u64,
}

impl BreakerStatus {
    /// Whether calls are refused (open, or half-open awaiting its trial).
    pub fn is_open(&self) -> bool {
        self.state != BreakerState::Closed
    }
}

/// A plugin's circuit breaker.
///
/// It opens when the plugin fails (is contained, or answers out of
/// contract) on `threshold` *distinct* inputs without a good answer in
/// between: one malformed case sent again and again costs its own answer
/// each time, never everyone's. A failing input is remembered (up to
/// [`REMEMBERED_INPUTS`]), and the same input sent again gets the same
/// failure without the plugin running. After the cool-down an open breaker
/// lets one trial call through; a good answer closes it.
#[derive(Debug, Default)]
pub struct Breaker {
    keys: RandomState,
    inner: Mutex<BreakerInner>,
}

#[derive(Debug, Default)]
struct BreakerInner {
    /// Distinct inputs that failed since the last good answer (`None`: an
    /// input that could not be told apart, counted as a new one).
    failing: Vec<Option<Fingerprint>>,
    in_a_row: u32,
    opened_at: Option<Instant>,
    trial_started: Option<Instant>,
    trips: u64,
    remembered: VecDeque<(Fingerprint, KnownFailure)>,
}

impl Breaker {
    fn inner(&self) -> std::sync::MutexGuard<'_, BreakerInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fingerprint of an input made of `parts`, under this breaker's
    /// own random key (so that no caller can make two inputs collide).
    pub(crate) fn fingerprint(&self, parts: &[&str]) -> Fingerprint {
        let mut hasher = self.keys.build_hasher();
        for part in parts {
            hasher.write_usize(part.len());
            hasher.write(part.as_bytes());
        }
        Fingerprint(hasher.finish())
    }

    /// The fingerprint of `earlier` followed by `part`: an input given in
    /// steps (a report's cases).
    pub(crate) fn chain(&self, earlier: Fingerprint, part: &str) -> Fingerprint {
        self.fingerprint(&[&earlier.0.to_string(), part])
    }

    /// Whether a call with input `input` may run.
    pub(crate) fn admit(&self, input: Option<Fingerprint>, cooldown: Duration) -> Admission {
        let mut inner = self.inner();
        if let Some(opened_at) = inner.opened_at {
            let trial_running = inner
                .trial_started
                .is_some_and(|started| started.elapsed() < cooldown);
            if opened_at.elapsed() < cooldown || trial_running {
                return Admission::Open {
                    distinct_failures: inner.failing.len() as u32,
                };
            }
            inner.trial_started = Some(Instant::now());
            return Admission::Run;
        }
        if let Some(input) = input
            && let Some((_, known)) = inner.remembered.iter().find(|(f, _)| *f == input)
        {
            return Admission::Known(known.clone());
        }
        Admission::Run
    }

    /// Records a good answer: the breaker closes.
    pub fn success(&self) {
        let mut inner = self.inner();
        inner.failing.clear();
        inner.in_a_row = 0;
        inner.opened_at = None;
        inner.trial_started = None;
    }

    /// Records a failure on `input` (`None` when the input cannot be told
    /// apart, which counts as a new one), remembering `known` for that
    /// input. Returns true when this failure opens the breaker.
    pub(crate) fn failure(
        &self,
        input: Option<Fingerprint>,
        known: Option<KnownFailure>,
        threshold: u32,
    ) -> bool {
        let mut inner = self.inner();
        inner.in_a_row = inner.in_a_row.saturating_add(1);
        if let (Some(input), Some(known)) = (input, known)
            && !inner.remembered.iter().any(|(f, _)| *f == input)
        {
            if inner.remembered.len() == REMEMBERED_INPUTS {
                inner.remembered.pop_front();
            }
            inner.remembered.push_back((input, known));
        }
        let new_input = input.is_none() || !inner.failing.contains(&input);
        if new_input && inner.failing.len() < threshold as usize {
            inner.failing.push(input);
        }
        if inner.opened_at.is_some() {
            // A failed trial: open again for another cool-down.
            inner.opened_at = Some(Instant::now());
            inner.trial_started = None;
            return false;
        }
        if inner.failing.len() >= threshold as usize {
            inner.opened_at = Some(Instant::now());
            inner.trips += 1;
            return true;
        }
        false
    }

    /// What the breaker knows now.
    pub fn status(&self, cooldown: Duration) -> BreakerStatus {
        let inner = self.inner();
        let state = match inner.opened_at {
            None => BreakerState::Closed,
            Some(at) if at.elapsed() < cooldown => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        };
        BreakerStatus {
            state,
            distinct_failures: inner.failing.len() as u32,
            failures_in_a_row: inner.in_a_row,
            trips: inner.trips,
        }
    }

    /// Closes the breaker and forgets the failing inputs: an administrator
    /// has acted.
    pub fn close(&self) {
        let mut inner = self.inner();
        let trips = inner.trips;
        *inner = BreakerInner {
            trips,
            ..BreakerInner::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_bound_concurrency_and_time_out() {
        let slots = Slots::new(1);
        let held = slots.acquire(Duration::ZERO).unwrap();
        assert!(slots.acquire(Duration::from_millis(20)).is_none());
        drop(held);
        assert!(slots.acquire(Duration::ZERO).is_some());
    }

    const COOLDOWN: Duration = Duration::from_secs(3600);

    fn stopped() -> Option<KnownFailure> {
        Some(KnownFailure::Contained(Containment::Unreachable))
    }

    #[test]
    fn one_input_failing_again_and_again_never_opens_the_breaker() {
        let b = Breaker::default();
        let poison = b.fingerprint(&["case", "as-of"]);
        for _ in 0..50 {
            assert!(!b.failure(Some(poison), stopped(), 3));
        }
        assert_eq!(b.status(COOLDOWN).state, BreakerState::Closed);
        assert!(matches!(
            b.admit(Some(poison), COOLDOWN),
            Admission::Known(KnownFailure::Contained(Containment::Unreachable))
        ));
        let other = b.fingerprint(&["other case", "as-of"]);
        assert!(matches!(b.admit(Some(other), COOLDOWN), Admission::Run));
    }

    #[test]
    fn distinct_failing_inputs_open_it_once_and_closing_resets_it() {
        let b = Breaker::default();
        let inputs: Vec<_> = (0..4).map(|i| b.fingerprint(&[&i.to_string()])).collect();
        assert!(!b.failure(Some(inputs[0]), stopped(), 3));
        b.success();
        assert!(!b.failure(Some(inputs[1]), stopped(), 3));
        assert!(!b.failure(Some(inputs[2]), stopped(), 3));
        assert!(b.failure(Some(inputs[3]), stopped(), 3));
        assert!(!b.failure(Some(inputs[0]), stopped(), 3), "opens once");
        let status = b.status(COOLDOWN);
        assert_eq!((status.state, status.trips), (BreakerState::Open, 1));
        assert!(matches!(
            b.admit(Some(b.fingerprint(&["new"])), COOLDOWN),
            Admission::Open { .. }
        ));
        b.close();
        assert_eq!(b.status(COOLDOWN).state, BreakerState::Closed);
        assert!(matches!(b.admit(Some(inputs[3]), COOLDOWN), Admission::Run));
    }

    #[test]
    fn after_the_cooldown_one_trial_runs_and_a_good_answer_closes_it() {
        let b = Breaker::default();
        for i in 0..2 {
            b.failure(Some(b.fingerprint(&[&i.to_string()])), None, 2);
        }
        assert_eq!(b.status(Duration::ZERO).state, BreakerState::HalfOpen);
        assert!(matches!(b.admit(None, Duration::ZERO), Admission::Run));
        assert!(!b.failure(None, None, 2), "a failed trial opens it again");
        assert!(matches!(
            b.admit(None, Duration::from_secs(60)),
            Admission::Open { .. }
        ));
        assert!(matches!(b.admit(None, Duration::ZERO), Admission::Run));
        b.success();
        assert_eq!(b.status(Duration::ZERO).state, BreakerState::Closed);
    }

    #[test]
    fn a_deadline_stop_is_not_remembered() {
        let deadline = Error::Contained {
            plugin: "p".into(),
            kind: Containment::Deadline,
        };
        assert!(KnownFailure::of(&deadline).is_none());
    }
}
