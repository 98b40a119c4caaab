//! Bounded concurrency and the circuit breaker.
//!
//! Every plugin call takes a slot from the host-wide pool and one from its
//! plugin's own pool. The per-plugin cap means a plugin that is slow (or
//! hostile) can occupy only a few slots, so the others keep their latency;
//! the host-wide cap bounds the total work. A caller that cannot get a slot
//! within the queue timeout fails as overloaded instead of waiting for ever.
//!
//! A plugin that is contained (out of fuel or time, out of memory, trapped,
//! answering out of contract) too many times in a row is switched off by its
//! breaker until it is reset: a repeat offender stops costing anything.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

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

/// A plugin's breaker: containments in a row, and whether it has tripped.
#[derive(Debug, Default)]
pub struct Breaker {
    in_a_row: AtomicU32,
    tripped: AtomicBool,
}

impl Breaker {
    /// Records a successful call.
    pub fn success(&self) {
        self.in_a_row.store(0, Ordering::Relaxed);
    }

    /// Records a containment; returns true when this one trips the breaker.
    pub fn failure(&self, threshold: u32) -> bool {
        let count = self.in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
        count >= threshold && !self.tripped.swap(true, Ordering::Relaxed)
    }

    /// Whether the breaker has switched the plugin off.
    pub fn tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }

    /// Containments in a row so far.
    pub fn failures_in_a_row(&self) -> u32 {
        self.in_a_row.load(Ordering::Relaxed)
    }

    /// Switches the plugin back on.
    pub fn reset(&self) {
        self.in_a_row.store(0, Ordering::Relaxed);
        self.tripped.store(false, Ordering::Relaxed);
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

    #[test]
    fn a_breaker_trips_once_after_the_threshold_and_resets() {
        let b = Breaker::default();
        assert!(!b.failure(3));
        b.success();
        assert!(!b.failure(3));
        assert!(!b.failure(3));
        assert!(b.failure(3));
        assert!(!b.failure(3), "trips once");
        assert!(b.tripped());
        b.reset();
        assert!(!b.tripped());
    }
}
