//! What a plugin call runs in: a fresh `Store` with limits, a WASI context
//! that grants nothing, and the bounded `log` import.
//!
//! # Why WASI is linked at all
//! A Rust guest built with `std` for `wasm32-wasip2` imports a few WASI
//! interfaces even if its code never uses them (`wasi:cli/environment`,
//! `exit`, the standard streams and terminals, `wasi:io`). The host links
//! exactly those, plus clocks and random, and gives them nothing: an empty
//! environment and no arguments, empty standard input, standard output and
//! error discarded, a wall clock frozen at the Unix epoch, a monotonic clock
//! frozen at zero, and random bytes from a fixed cycle, so a plugin that
//! reaches for them gets no data and stays deterministic. Filesystem,
//! sockets, name lookup and HTTP are not linked at all: a plugin importing
//! them is refused when it is loaded. So is a plugin importing anything else
//! the host does not provide; nothing is ever auto-stubbed.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::p2::bindings::{cli, clocks, random};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::runtime::bindings::log::{self, Level};
use crate::runtime::engine::deadline_ticks;
use crate::runtime::limits::Limits;
use crate::text::sanitize_log_line;

/// Per-call state of a plugin's `Store`.
pub struct StoreState {
    limiter: CallLimiter,
    wasi: WasiCtx,
    table: ResourceTable,
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
    /// Case values to redact from this call's plugin log.
    pub fn redact(&mut self, values: Vec<String>) {
        self.log.redactions = values;
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
    max_lines: u32,
    max_line_bytes: usize,
    lines: u32,
    dropped: u64,
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl log::Host for StoreState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let budget = &mut self.log;
        if budget.lines >= budget.max_lines {
            budget.dropped += 1;
            return Ok(());
        }
        budget.lines += 1;
        let mut text = sanitize_log_line(&message, budget.max_line_bytes);
        for value in &budget.redactions {
            if text.contains(value.as_str()) {
                text = text.replace(value.as_str(), "[redacted]");
            }
        }
        let plugin = &*budget.plugin;
        match level {
            Level::Trace => tracing::trace!(target: "kinga::plugin", plugin, "{text}"),
            Level::Debug => tracing::debug!(target: "kinga::plugin", plugin, "{text}"),
            Level::Info => tracing::info!(target: "kinga::plugin", plugin, "{text}"),
            Level::Warn => tracing::warn!(target: "kinga::plugin", plugin, "{text}"),
            Level::Error => tracing::error!(target: "kinga::plugin", plugin, "{text}"),
        }
        Ok(())
    }
}

impl crate::runtime::bindings::types::Host for StoreState {}

impl Drop for StoreState {
    fn drop(&mut self) {
        if self.log.dropped > 0 {
            tracing::warn!(
                target: "kinga::plugin",
                plugin = &*self.log.plugin,
                dropped = self.log.dropped,
                "plugin log lines over the per-call limit were dropped"
            );
        }
    }
}

/// A wall clock frozen at the Unix epoch.
struct FrozenWallClock;

impl wasmtime_wasi::HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// A monotonic clock frozen at zero.
struct FrozenMonotonicClock;

impl wasmtime_wasi::HostMonotonicClock for FrozenMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// A WASI context that grants nothing and is deterministic.
fn empty_wasi() -> WasiCtx {
    let mut builder = WasiCtxBuilder::new();
    builder
        .wall_clock(FrozenWallClock)
        .monotonic_clock(FrozenMonotonicClock)
        .secure_random(wasmtime_wasi::Deterministic::new(vec![
            0x4b, 0x69, 0x6e, 0x67, 0x61,
        ]))
        .insecure_random(wasmtime_wasi::Deterministic::new(vec![
            0x61, 0x67, 0x6e, 0x69, 0x4b,
        ]))
        .insecure_random_seed(0x4b696e6761)
        .max_random_size(4096);
    builder.build()
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
        wasi: empty_wasi(),
        table: ResourceTable::new(),
        log: LogBudget {
            plugin,
            redactions: Vec::new(),
            max_lines: limits.log_lines,
            max_line_bytes: limits.log_line_bytes,
            lines: 0,
            dropped: 0,
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
    crate::runtime::bindings::eligibility::EligibilityPlugin::add_to_linker::<
        _,
        HasSelf<StoreState>,
    >(&mut linker, |s| s)?;
    let l = &mut linker;
    wasmtime_wasi_io_sync(l)?;
    cli::environment::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::exit::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::stdin::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::stdout::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::stderr::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_input::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_output::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_stdin::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_stdout::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_stderr::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    clocks::wall_clock::add_to_linker::<StoreState, WasiClocks>(l, StoreState::clocks)?;
    clocks::monotonic_clock::add_to_linker::<StoreState, WasiClocks>(l, StoreState::clocks)?;
    random::random::add_to_linker::<StoreState, WasiRandom>(l, StoreState::random)?;
    random::insecure::add_to_linker::<StoreState, WasiRandom>(l, StoreState::random)?;
    random::insecure_seed::add_to_linker::<StoreState, WasiRandom>(l, StoreState::random)?;
    Ok(linker)
}

/// Gives `wasi:io` host functions the store's resource table.
struct HasIo;

impl wasmtime::component::HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// `wasi:io` (error, poll, streams), synchronous flavour.
fn wasmtime_wasi_io_sync(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::p2::bindings::sync::io;
    io::error::add_to_linker::<StoreState, HasIo>(linker, |s| &mut s.table)?;
    io::poll::add_to_linker::<StoreState, HasIo>(linker, |s| &mut s.table)?;
    io::streams::add_to_linker::<StoreState, HasIo>(linker, |s| &mut s.table)?;
    Ok(())
}
