//! What a plugin call runs in: a fresh `Store` with limits, the inert WASI
//! interfaces, and the bounded `log` import.
//!
//! # What a plugin passes to the host costs fuel
//! Fuel counts the plugin's own instructions, not the host's work on its
//! behalf. A plugin that logs a flood would spend almost no fuel and reach
//! the wall-clock deadline instead, and only when the machine is busy: the
//! same case would succeed when idle and fail under load, and a replay
//! would differ. So each `log` call is charged [`LOG_FUEL_PER_CALL`] plus
//! [`LOG_FUEL_PER_BYTE`] for each byte passed, whether the line is kept or
//! dropped: far more than the host's work costs in time, so a flood runs
//! out of fuel (the same on every machine) long before any deadline. Its
//! answer is charged the same way, after the call
//! ([`ANSWER_FUEL_PER_BYTE`](crate::runtime::host::ANSWER_FUEL_PER_BYTE)).
//!
//! A request of many calls also bounds their log lines together: a call
//! made for a request with a [`RequestBudget`] drops the lines beyond the
//! request's log bytes.
//!
//! The WASI interfaces and why they are linked at all are in
//! [`inert_wasi`](super::inert_wasi).

use std::sync::Arc;

use wasmtime::component::Linker;
use wasmtime::{Engine, Store, StoreContextMut, StoreLimits, StoreLimitsBuilder, Trap};

use crate::runtime::bindings::log::Level;
use crate::runtime::budget::RequestBudget;
use crate::runtime::engine::deadline_ticks;
use crate::runtime::inert_wasi::{self, InertWasi};
use crate::runtime::limits::Limits;
use crate::runtime::log_watch::LogWatch;
use crate::runtime::plugin::CONTRACT;
use crate::text::sanitize_log_line;

/// Per-call state of a plugin's `Store`.
pub struct StoreState {
    limiter: CallLimiter,
    wasi: InertWasi,
    log: LogBudget,
}

/// The store's resource limits, remembering whether a growth was refused so
/// that the trap that usually follows is reported as a memory limit.
struct CallLimiter {
    inner: StoreLimits,
    denied: bool,
}

impl wasmtime::ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        self.denied |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.table_growing(current, desired, maximum)?;
        self.denied |= !allowed;
        Ok(allowed)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

impl StoreState {
    /// Case values to redact from this call's plugin log, and to withhold
    /// a line for in any other form.
    pub fn redact(&mut self, values: Vec<String>) {
        self.log.watch.watch(&values);
        self.log.redactions = values;
    }

    /// Withholds, for the rest of this store, log lines holding a value of
    /// any case redacted so far, not only the current one (a report's).
    pub fn remember_cases(&mut self) {
        self.log.watch.remember_cases();
    }

    /// Spends this call's log lines from a request's budget as well.
    pub fn share_budget(&mut self, budget: Arc<RequestBudget>) {
        self.log.request = Some(budget);
    }

    /// Whether the plugin asked for more memory or table space than allowed.
    pub fn memory_denied(&self) -> bool {
        self.limiter.denied
    }
}

/// The plugin log of one call: lines forwarded, lines dropped.
struct LogBudget {
    plugin: Arc<str>,
    /// Case values replaced by `[redacted]` if a plugin logs them.
    redactions: Vec<String>,
    /// The same values in every form a plugin could rewrite them to: a
    /// line holding one is withheld.
    watch: LogWatch,
    /// Lines withheld for holding a case value.
    withheld: u64,
    max_lines: u32,
    max_line_bytes: usize,
    lines: u32,
    dropped: u64,
    /// The budget of the request the call belongs to, if any.
    request: Option<Arc<RequestBudget>>,
}

/// The fuel one `log` call costs, whatever its length.
pub const LOG_FUEL_PER_CALL: u64 = 10_000;

/// The fuel each byte of a logged message costs.
pub const LOG_FUEL_PER_BYTE: u64 = 10;

/// The `kinga:plugin/log` import: charged in fuel first (the call traps as
/// out of fuel when the plugin cannot pay), then bounded, cleaned and
/// redacted.
fn log_import(
    mut store: StoreContextMut<'_, StoreState>,
    (level, message): (Level, String),
) -> wasmtime::Result<()> {
    let cost =
        LOG_FUEL_PER_CALL.saturating_add(LOG_FUEL_PER_BYTE.saturating_mul(message.len() as u64));
    let fuel = store.get_fuel()?;
    if fuel < cost {
        store.set_fuel(0)?;
        return Err(Trap::OutOfFuel.into());
    }
    store.set_fuel(fuel - cost)?;
    store.data_mut().log(level, &message);
    Ok(())
}

impl StoreState {
    fn log(&mut self, level: Level, message: &str) {
        let budget = &mut self.log;
        if budget.lines >= budget.max_lines {
            budget.dropped += 1;
            return;
        }
        let mut text = sanitize_log_line(message, budget.max_line_bytes);
        if budget
            .request
            .as_ref()
            .is_some_and(|request| !request.take_log(text.len()))
        {
            budget.dropped += 1;
            return;
        }
        budget.lines += 1;
        for value in &budget.redactions {
            if text.contains(value.as_str()) {
                text = text.replace(value.as_str(), "[redacted]");
            }
        }
        if budget.watch.holds_case_value(&text) {
            budget.withheld += 1;
            return;
        }
        let plugin = &*budget.plugin;
        match level {
            Level::Trace => tracing::trace!(target: "kinga::plugin", plugin, "{text}"),
            Level::Debug => tracing::debug!(target: "kinga::plugin", plugin, "{text}"),
            Level::Info => tracing::info!(target: "kinga::plugin", plugin, "{text}"),
            Level::Warn => tracing::warn!(target: "kinga::plugin", plugin, "{text}"),
            Level::Error => tracing::error!(target: "kinga::plugin", plugin, "{text}"),
        }
    }
}

impl Drop for StoreState {
    fn drop(&mut self) {
        if self.log.dropped > 0 {
            tracing::warn!(
                target: "kinga::plugin",
                plugin = &*self.log.plugin,
                dropped = self.log.dropped,
                "plugin log lines over the per-call or per-request limit were dropped"
            );
        }
        if self.log.withheld > 0 {
            tracing::warn!(
                target: "kinga::plugin",
                plugin = &*self.log.plugin,
                withheld = self.log.withheld,
                "plugin log lines that repeated a value of a case, in some form, were withheld"
            );
        }
    }
}

/// A fresh store for one call of `plugin`, with fuel, deadline, memory and
/// table limits armed before anything runs (instantiation included).
///
/// # Errors
/// When fuel cannot be set (fuel is always enabled, so never in practice).
pub fn new_store(
    engine: &Engine,
    limits: &Limits,
    plugin: Arc<str>,
) -> wasmtime::Result<Store<StoreState>> {
    let store_limits = StoreLimitsBuilder::new()
        .memory_size(limits.memory_bytes)
        .table_elements(limits.table_elements)
        .instances(limits.instances)
        .tables(limits.instances)
        .memories(limits.instances)
        .trap_on_grow_failure(false)
        .build();
    let state = StoreState {
        limiter: CallLimiter {
            inner: store_limits,
            denied: false,
        },
        wasi: InertWasi::new(),
        log: LogBudget {
            plugin,
            redactions: Vec::new(),
            watch: LogWatch::default(),
            withheld: 0,
            max_lines: limits.log_lines,
            max_line_bytes: limits.log_line_bytes,
            lines: 0,
            dropped: 0,
            request: None,
        },
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    store.set_fuel(limits.fuel)?;
    store.set_hostcall_fuel(limits.hostcall_bytes);
    store.set_epoch_deadline(deadline_ticks(limits.deadline));
    store.epoch_deadline_trap();
    Ok(store)
}

/// The linker every plugin is instantiated with: `kinga:plugin/log` and the
/// inert WASI subset described in the module docs, nothing else.
///
/// # Errors
/// When an interface cannot be added (a bug).
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<StoreState>> {
    let mut linker = Linker::new(engine);
    let interface =
        |name: &str| CONTRACT.replace("kinga:plugin@", &format!("kinga:plugin/{name}@"));
    // The contract's `types` interface holds types only: an empty instance.
    linker.instance(&interface("types"))?;
    linker
        .instance(&interface("log"))?
        .func_wrap("log", log_import)?;
    inert_wasi::add_to_linker(&mut linker, |state| &mut state.wasi)?;
    Ok(linker)
}
