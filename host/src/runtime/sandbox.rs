//! The sandbox every plugin call runs in: one engine and linker, the limits,
//! the host-wide call slots, fresh stores, the circuit breaker's input, and
//! what a failed call is classified as.
//!
//! The [`Host`](crate::runtime::host::Host) and a
//! [`ReportRun`](crate::runtime::report::ReportRun) both call plugins
//! through a `Sandbox`, so a report borrows the sandbox, never the host.

use std::sync::Arc;

use wasmtime::component::Linker;
use wasmtime::{Engine, Store, Trap};

use crate::error::{Containment, Error};
use crate::runtime::budget::RequestBudget;
use crate::runtime::engine::{self, EpochTicker};
use crate::runtime::gate::{Admission, Fingerprint, KnownFailure, Slot, Slots};
use crate::runtime::limits::Limits;
use crate::runtime::plugin::LoadedPlugin;
use crate::runtime::store::{self, StoreState, new_store};

/// One engine with its linker, limits and host-wide slots.
pub(crate) struct Sandbox {
    engine: Engine,
    linker: Linker<StoreState>,
    limits: Limits,
    slots: Slots,
    _ticker: EpochTicker,
}

impl Sandbox {
    /// A sandbox with `limits`: the engine, the linker, the epoch ticker.
    pub(crate) fn new(limits: Limits) -> Result<Sandbox, Error> {
        let engine = engine::build(&limits).map_err(engine_error)?;
        let linker = store::linker(&engine).map_err(engine_error)?;
        let ticker = EpochTicker::start(&engine);
        let slots = Slots::new(limits.concurrent_calls);
        Ok(Sandbox {
            engine,
            linker,
            limits,
            slots,
            _ticker: ticker,
        })
    }

    /// The engine.
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker every plugin is instantiated with.
    pub(crate) fn linker(&self) -> &Linker<StoreState> {
        &self.linker
    }

    /// The limits in force.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A fresh store for one call of `plugin`, limits armed.
    pub(crate) fn store(&self, plugin: &LoadedPlugin) -> Result<Store<StoreState>, Error> {
        new_store(&self.engine, &self.limits, Arc::clone(&plugin.id)).map_err(engine_error)
    }

    /// Runs `f` with a fresh store for `plugin`, inside the plugin's and the
    /// host's concurrency slots and behind its circuit breaker, for the
    /// input `input` (see [`Breaker`](crate::runtime::gate::Breaker)),
    /// its log lines spent from the request's `budget` too. The store is
    /// dropped before this returns: nothing of the call survives it.
    pub(crate) fn guarded<R>(
        &self,
        plugin: &LoadedPlugin,
        input: Option<Fingerprint>,
        budget: Option<&Arc<RequestBudget>>,
        f: impl FnOnce(&mut Store<StoreState>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let _slots = self.slots_for(plugin, input)?;
        let mut store = self.store(plugin)?;
        if let Some(budget) = budget {
            store.data_mut().share_budget(Arc::clone(budget));
        }
        let result = f(&mut store);
        drop(store);
        if let Err(e) = &result {
            self.record_outcome(plugin, input, Some(e));
        }
        result
    }

    /// Asks the breaker, then takes a slot of the plugin's and one of the
    /// host's (in that order, so no host slot is held while waiting).
    ///
    /// # Errors
    /// [`Error::SwitchedOff`] when the breaker is open; the remembered
    /// failure when `input` failed before; [`Error::Overloaded`].
    pub(crate) fn slots_for<'p>(
        &'p self,
        plugin: &'p LoadedPlugin,
        input: Option<Fingerprint>,
    ) -> Result<(Slot<'p>, Slot<'p>), Error> {
        if let Some(reason) = &plugin.held {
            return Err(Error::Held {
                plugin: plugin.description.id.clone(),
                reason: reason.clone(),
            });
        }
        match plugin.breaker.admit(input, self.limits.breaker_cooldown) {
            Admission::Run => {}
            Admission::Open { distinct_failures } => {
                return Err(Error::SwitchedOff {
                    plugin: plugin.description.id.clone(),
                    failures: distinct_failures,
                });
            }
            Admission::Known(known) => {
                tracing::debug!(target: "kinga::containment", plugin = %plugin.id, "input failed before; not run again");
                return Err(known.to_error(&plugin.description.id));
            }
        }
        let overloaded = || Error::Overloaded {
            plugin: plugin.description.id.clone(),
        };
        let own = plugin
            .slots
            .acquire(self.limits.queue_timeout)
            .ok_or_else(overloaded)?;
        let shared = self
            .slots
            .acquire(self.limits.queue_timeout)
            .ok_or_else(overloaded)?;
        Ok((own, shared))
    }

    /// Feeds the circuit breaker with the outcome of a call on `input`:
    /// containments and answers out of contract count, a good answer closes
    /// it, anything else (a plugin's own refusal, overload) leaves it.
    pub(crate) fn record_outcome(
        &self,
        plugin: &LoadedPlugin,
        input: Option<Fingerprint>,
        error: Option<&Error>,
    ) {
        match error {
            Some(e) if e.is_containment() => {
                let known = KnownFailure::of(e);
                if plugin
                    .breaker
                    .failure(input, known, self.limits.breaker_threshold)
                {
                    tracing::warn!(
                        target: "kinga::containment",
                        plugin = %plugin.id,
                        distinct_inputs = self.limits.breaker_threshold,
                        "circuit breaker opened: the plugin failed on different inputs in a row"
                    );
                }
            }
            Some(_) => {}
            None => plugin.breaker.success(),
        }
    }

    /// Turns a failed call into a contained error and logs the event (the
    /// caller feeds the breaker).
    pub(crate) fn failed(
        &self,
        plugin: &LoadedPlugin,
        store: &Store<StoreState>,
        e: &wasmtime::Error,
    ) -> Error {
        if is_trap(store, e) {
            let kind = classify(store, e);
            tracing::warn!(target: "kinga::containment", plugin = %plugin.id, kind = ?kind, "plugin stopped");
            Error::Contained {
                plugin: plugin.description.id.clone(),
                kind,
            }
        } else {
            tracing::warn!(target: "kinga::containment", plugin = %plugin.id, "plugin output could not be read");
            Error::InvalidOutput {
                plugin: plugin.description.id.clone(),
                pointer: String::new(),
                message: "its answer breaks the contract's types and could not be read".into(),
            }
        }
    }
}

/// What stopped a call, from the error and the store's state.
pub(crate) fn classify(store: &Store<StoreState>, error: &wasmtime::Error) -> Containment {
    if store.data().memory_denied() {
        return Containment::MemoryLimit;
    }
    if is_copy_limit(error) {
        return Containment::OutputTooLarge;
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Containment::OutOfFuel,
        Some(Trap::Interrupt) => Containment::Deadline,
        Some(Trap::StackOverflow) => Containment::StackOverflow,
        Some(Trap::UnreachableCodeReached) => Containment::Unreachable,
        Some(
            Trap::IntegerDivisionByZero | Trap::IntegerOverflow | Trap::BadConversionToInteger,
        ) => Containment::Arithmetic,
        Some(Trap::MemoryOutOfBounds | Trap::TableOutOfBounds | Trap::HeapMisaligned) => {
            Containment::OutOfBounds
        }
        Some(Trap::IndirectCallToNull | Trap::BadSignature) => Containment::BadCall,
        Some(_) => Containment::OtherTrap,
        None => Containment::OtherTrap,
    }
}

/// Whether an error from a call is a trap (or a limit) rather than a value
/// that could not be lifted.
pub(crate) fn is_trap(store: &Store<StoreState>, error: &wasmtime::Error) -> bool {
    store.data().memory_denied() || error.downcast_ref::<Trap>().is_some() || is_copy_limit(error)
}

/// Whether wasmtime stopped copying a plugin's data to the host because it
/// exceeded [`Limits::hostcall_bytes`] (its error type is private, so it is
/// recognised by its message; a test pins it).
fn is_copy_limit(error: &wasmtime::Error) -> bool {
    format!("{error:#}").contains("fuel allocated for hostcalls has been exhausted")
}

/// A sandbox set-up failure as an [`Error::Engine`].
pub(crate) fn engine_error(e: wasmtime::Error) -> Error {
    Error::Engine(one_line(&e))
}

/// An error chain on one line.
pub(crate) fn one_line(e: &wasmtime::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}
