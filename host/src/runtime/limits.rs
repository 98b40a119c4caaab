//! The sandbox's limits and their defaults.
//!
//! Every plugin call runs in a fresh `Store` with these limits. The defaults
//! are generous for the reference plugins (an evaluation uses well under 1%
//! of each) and tight enough that a hostile plugin is stopped in well under
//! a second and a few tens of MiB.

use std::time::Duration;

/// Limits applied to every plugin call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Fuel (roughly, WebAssembly instructions) for one call, including
    /// instantiation. Deterministic: the same input stops at the same point.
    /// Default 500 million.
    pub fuel: u64,
    /// Wall-clock deadline for one call, enforced by epoch interruption.
    /// Default 2 s.
    pub deadline: Duration,
    /// Largest linear memory one plugin instance may have. Default 64 MiB.
    pub memory_bytes: usize,
    /// Largest table one plugin instance may have, in elements. Default
    /// 100 000.
    pub table_elements: usize,
    /// Most core instances, tables and memories in one plugin. Default 64.
    pub instances: usize,
    /// Largest WebAssembly stack, in bytes. Default 512 KiB. Fixed when the
    /// host is built.
    pub wasm_stack_bytes: usize,
    /// Largest total size of what one call returns (strings and list items,
    /// counted in bytes). Default 1 MiB.
    pub output_bytes: usize,
    /// Most items (decisions, referrals, reasons, rows) one call returns.
    /// Default 10 000.
    pub output_items: usize,
    /// Most log lines a plugin may write in one call; more are dropped and
    /// counted. Default 100.
    pub log_lines: u32,
    /// Longest log line kept, in bytes; longer lines are cut. Default 1 KiB.
    pub log_line_bytes: usize,
    /// Largest plugin component accepted, in bytes. Default 32 MiB.
    pub component_bytes: usize,
    /// Most plugin instances alive at once (the pooling allocator's size).
    /// Fixed when the host is built. Default 64.
    pub concurrent_instances: u32,
    /// Most plugin calls running at once across all plugins; further calls
    /// wait. Default 16.
    pub concurrent_calls: usize,
    /// Most calls of one plugin running at once, so that a slow plugin
    /// cannot take every slot from the others. Default 4.
    pub concurrent_calls_per_plugin: usize,
    /// How long a call may wait for a slot before it fails as overloaded.
    /// Default 10 s.
    pub queue_timeout: Duration,
    /// After failures (fuel, deadline, memory, trap, invalid output) on this
    /// many *different* inputs without a good answer between them, a
    /// plugin's breaker opens: it is not called until a trial call after
    /// [`Limits::breaker_cooldown`] succeeds or an administrator closes the
    /// breaker. One input failing repeatedly never opens it. Default 5.
    pub breaker_threshold: u32,
    /// How long an open breaker refuses calls before it lets one trial call
    /// through. Default 30 s.
    pub breaker_cooldown: Duration,
    /// Most bytes wasmtime copies out of a plugin in one crossing (its
    /// answer, or one log line before it is cut), counted while lifting, so
    /// an oversized answer is refused before the host allocates it. Default
    /// 1 MiB.
    pub hostcall_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 500_000_000,
            deadline: Duration::from_secs(2),
            memory_bytes: 64 << 20,
            table_elements: 100_000,
            instances: 64,
            wasm_stack_bytes: 512 << 10,
            output_bytes: 1 << 20,
            output_items: 10_000,
            log_lines: 100,
            log_line_bytes: 1024,
            component_bytes: 32 << 20,
            concurrent_instances: 64,
            concurrent_calls: 16,
            concurrent_calls_per_plugin: 4,
            queue_timeout: Duration::from_secs(10),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            hostcall_bytes: 1 << 20,
        }
    }
}

impl Limits {
    /// Sets the fuel per call.
    pub fn with_fuel(mut self, fuel: u64) -> Self {
        self.fuel = fuel;
        self
    }

    /// Sets the wall-clock deadline per call.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets the memory cap per plugin instance.
    pub fn with_memory_bytes(mut self, bytes: usize) -> Self {
        self.memory_bytes = bytes;
        self
    }

    /// Sets the number of distinct failing inputs that open a breaker.
    pub fn with_breaker_threshold(mut self, threshold: u32) -> Self {
        self.breaker_threshold = threshold.max(1);
        self
    }

    /// With no breaker: every call is made however many inputs failed
    /// before. For runs that must see every case (a candidate's smoke run,
    /// a shadow run), never for a service.
    pub fn without_breaker(self) -> Self {
        self.with_breaker_threshold(u32::MAX)
    }

    /// Sets how long an open breaker waits before a trial call.
    pub fn with_breaker_cooldown(mut self, cooldown: Duration) -> Self {
        self.breaker_cooldown = cooldown;
        self
    }

    /// Sets the concurrency caps: across all plugins and per plugin.
    pub fn with_concurrency(mut self, calls: usize, per_plugin: usize) -> Self {
        self.concurrent_calls = calls.max(1);
        self.concurrent_calls_per_plugin = per_plugin.max(1);
        self
    }

    /// Sets the cap on what one call returns.
    pub fn with_output_bytes(mut self, bytes: usize) -> Self {
        self.output_bytes = bytes;
        self
    }
}
