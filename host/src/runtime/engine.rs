//! The one wasmtime `Engine` a host uses, and its epoch ticker.
//!
//! One engine compiles every plugin once and is shared by every call. It is
//! configured for isolation and determinism: fuel and epoch interruption on,
//! NaNs canonicalised, deterministic relaxed SIMD, no threads, and the
//! pooling allocator with copy-on-write memory images so that a fresh
//! instance per call is cheap.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::runtime::limits::Limits;

/// How often the epoch advances; deadlines are rounded up to this.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Builds the engine for `limits`.
///
/// # Errors
/// When wasmtime refuses the configuration (for example a pool too large for
/// the address space).
pub fn build(limits: &Limits) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config
        .consume_fuel(true)
        .epoch_interruption(true)
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true)
        .wasm_component_model(true)
        .max_wasm_stack(limits.wasm_stack_bytes)
        .memory_init_cow(true);

    // For profiling only: `KINGA_PERF_MAP=1` writes /tmp/perf-PID.map so
    // that `perf` can name the compiled plugin functions.
    if std::env::var_os("KINGA_PERF_MAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }

    let mut pool = PoolingAllocationConfig::default();
    let slots = limits.concurrent_instances;
    pool.total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(4))
        .total_memories(slots.saturating_mul(2))
        .total_tables(slots.saturating_mul(4))
        .max_memory_size(limits.memory_bytes)
        .table_elements(limits.table_elements)
        .max_memories_per_component(8)
        .max_tables_per_component(8)
        // Between instances, the first MiB of a memory stays resident and
        // only its dirty pages are reset to the image (found with Linux's
        // PAGEMAP_SCAN where the kernel has it, 6.7+): no madvise, no page
        // faults, no TLB shootdowns per call. A quarter less time per call
        // (docs/performance.md); the reset is wasmtime's, as isolating as
        // an madvise.
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
}

/// Advances an engine's epoch every [`EPOCH_TICK`] until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts ticking `engine`.
    pub fn start(engine: &Engine) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let flag = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name("kinga-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .ok();
        EpochTicker { stop, thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The number of epoch ticks that covers `deadline`, plus one (the current
/// tick may be about to end).
pub fn deadline_ticks(deadline: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos().max(1);
    u64::try_from(deadline.as_nanos().div_ceil(tick))
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}
