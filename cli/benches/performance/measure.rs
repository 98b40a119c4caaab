//! Timing samples and their summaries.

use std::time::{Duration, Instant};

/// Durations of repeated operations.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    durations: Vec<Duration>,
}

impl Samples {
    /// Times `f` once on each item.
    pub fn each<T>(items: &[T], mut f: impl FnMut(&T)) -> Samples {
        let mut samples = Samples::default();
        for item in items {
            let started = Instant::now();
            f(item);
            samples.push(started.elapsed());
        }
        samples
    }

    /// Adds one duration.
    pub fn push(&mut self, d: Duration) {
        self.durations.push(d);
    }

    fn sorted(&self) -> Vec<Duration> {
        let mut sorted = self.durations.clone();
        sorted.sort();
        sorted
    }

    /// The `q` quantile (0..=1), nearest rank.
    pub fn quantile(&self, q: f64) -> Duration {
        let sorted = self.sorted();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    /// The median.
    pub fn median(&self) -> Duration {
        self.quantile(0.5)
    }

    /// "median X µs, p99 Y µs".
    pub fn summary(&self) -> String {
        format!(
            "median {}, p99 {}",
            human(self.median()),
            human(self.quantile(0.99))
        )
    }
}

/// A duration in the unit that reads best.
pub fn human(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1_000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1e3)
    }
}
