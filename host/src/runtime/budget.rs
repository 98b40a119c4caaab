//! What one request may spend across all of its plugin calls.
//!
//! The sandbox's [`Limits`](crate::runtime::limits::Limits) bound each call.
//! A request — a batch of cases through every plugin, or a report fed case
//! after case — makes many calls, and what is harmless once is not harmless
//! a thousand times: a hundred answers of 1 MiB each, a hundred calls each
//! logging its hundred lines, a batch that goes on evaluating after its
//! caller gave up. A [`RequestBudget`] is shared by every call of one
//! request and bounds the request as a whole:
//!
//! - **answer bytes**: once the answers returned so far reach the budget, no
//!   further call starts ([`Error::RequestStopped`] with
//!   [`Stop::AnswerBytes`]); an answer is never cut, so the request holds at
//!   most the budget plus one call's answer;
//! - **log bytes**: log lines beyond the budget are dropped and counted;
//! - **deadline**: no call starts after it, so an evaluation place is held
//!   at most until the deadline plus one call's own deadline;
//! - **cancellation**: a caller that goes away (a dropped HTTP request)
//!   cancels the budget, and no further call starts.
//!
//! These stops depend on the rest of the request and on the clock, never on
//! the input alone: they do not feed a plugin's breaker, and they are not
//! decision outcomes.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Stop};

/// The bounds of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Most bytes of answers (as JSON) the request may gather.
    pub answer_bytes: usize,
    /// Most bytes of plugin log lines the request may write.
    pub log_bytes: usize,
    /// How long after the budget is made a call may still start.
    pub deadline: Option<Duration>,
}

impl Default for RequestLimits {
    /// 4 MiB of answers, 256 KiB of log lines, no deadline.
    fn default() -> Self {
        RequestLimits {
            answer_bytes: 4 << 20,
            log_bytes: 256 << 10,
            deadline: None,
        }
    }
}

/// The budget of one request, shared by all its calls (see the module
/// docs). Thread-safe: the caller may cancel it from another thread.
#[derive(Debug)]
pub struct RequestBudget {
    limits: RequestLimits,
    deadline: Option<Instant>,
    cancelled: AtomicBool,
    answer_bytes: AtomicUsize,
    log_bytes: AtomicUsize,
    log_lines_dropped: AtomicU64,
}

impl RequestBudget {
    /// A fresh budget; its deadline counts from now.
    pub fn new(limits: RequestLimits) -> RequestBudget {
        RequestBudget {
            limits,
            deadline: limits.deadline.map(|d| Instant::now() + d),
            cancelled: AtomicBool::new(false),
            answer_bytes: AtomicUsize::new(0),
            log_bytes: AtomicUsize::new(0),
            log_lines_dropped: AtomicU64::new(0),
        }
    }

    /// The bounds it was made with.
    pub fn limits(&self) -> RequestLimits {
        self.limits
    }

    /// Stops the request: no further call starts.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether another call may start.
    ///
    /// # Errors
    /// [`Error::RequestStopped`] saying why not.
    pub fn check(&self) -> Result<(), Error> {
        let stop = if self.cancelled.load(Ordering::Relaxed) {
            Some(Stop::Cancelled)
        } else if self.deadline.is_some_and(|d| Instant::now() >= d) {
            Some(Stop::Deadline)
        } else if self.answer_bytes.load(Ordering::Relaxed) >= self.limits.answer_bytes {
            Some(Stop::AnswerBytes(self.limits.answer_bytes))
        } else {
            None
        };
        stop.map_or(Ok(()), |stop| Err(Error::RequestStopped(stop)))
    }

    /// Counts `bytes` of answer gathered.
    pub fn charge_answer(&self, bytes: usize) {
        self.answer_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The answer bytes gathered so far.
    pub fn answer_bytes(&self) -> usize {
        self.answer_bytes.load(Ordering::Relaxed)
    }

    /// Takes `bytes` of log allowance: false (and the line counted as
    /// dropped) when the request's log budget would be exceeded.
    pub fn take_log(&self, bytes: usize) -> bool {
        let taken = self
            .log_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                let after = used.saturating_add(bytes);
                (after <= self.limits.log_bytes).then_some(after)
            })
            .is_ok();
        if !taken {
            self.log_lines_dropped.fetch_add(1, Ordering::Relaxed);
        }
        taken
    }

    /// Log lines dropped because the request's log budget was spent.
    pub fn log_lines_dropped(&self) -> u64 {
        self.log_lines_dropped.load(Ordering::Relaxed)
    }
}

impl Default for RequestBudget {
    fn default() -> Self {
        RequestBudget::new(RequestLimits::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_stop_further_calls_once_the_budget_is_reached() {
        let budget = RequestBudget::new(RequestLimits {
            answer_bytes: 100,
            ..RequestLimits::default()
        });
        budget.charge_answer(99);
        assert!(budget.check().is_ok());
        budget.charge_answer(5);
        assert!(matches!(
            budget.check(),
            Err(Error::RequestStopped(Stop::AnswerBytes(100)))
        ));
    }

    #[test]
    fn log_lines_beyond_the_budget_are_dropped_and_counted() {
        let budget = RequestBudget::new(RequestLimits {
            log_bytes: 10,
            ..RequestLimits::default()
        });
        assert!(budget.take_log(6));
        assert!(!budget.take_log(6));
        assert!(budget.take_log(4));
        assert!(!budget.take_log(1));
        assert_eq!(budget.log_lines_dropped(), 2);
    }

    #[test]
    fn a_cancelled_or_expired_budget_starts_nothing() {
        let budget = RequestBudget::default();
        budget.cancel();
        assert!(matches!(
            budget.check(),
            Err(Error::RequestStopped(Stop::Cancelled))
        ));
        let expired = RequestBudget::new(RequestLimits {
            deadline: Some(Duration::ZERO),
            ..RequestLimits::default()
        });
        assert!(matches!(
            expired.check(),
            Err(Error::RequestStopped(Stop::Deadline))
        ));
    }
}
