//! # Kinga host
//!
//! Kinga runs a child-protection programme's rules — eligibility checks,
//! referral routing and report templates — as sandboxed WebAssembly
//! components, so the same rules can sit beside any case platform.
//!
//! ## Embedding in a few lines
//! ```no_run
//! use kinga_host::{AsOf, Host, ValidCase, EAST_AFRICA_TIME};
//!
//! let mut host = Host::builder().cache_dir("/var/cache/kinga").build()?;
//! host.load_dir("plugins")?;
//! let case = ValidCase::parse(&std::fs::read("case.json")?)?;
//! let as_of = AsOf::parse("2026-07-01T09:00:00+03:00", EAST_AFRICA_TIME)?;
//! let decisions = host.evaluate(&case, as_of)?;
//! let referrals = host.route(&case, as_of)?;
//! println!("{}", serde_json::to_string_pretty(&decisions)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What happens on a call
//! 1. The case is validated before any plugin sees it ([`ValidCase`]):
//!    strict JSON (no duplicate keys, bounded size and depth, exact
//!    numbers), `schemas/case.schema.json`, and real calendar dates. Every
//!    refusal names a JSON pointer and never echoes a value.
//! 2. Each plugin of the kind gets the case reduced to the fields its
//!    `describe` declared, the as-of, its enabled rules and its settings,
//!    in a **fresh store** with a fuel budget, a wall-clock
//!    deadline, a memory cap and a stack cap ([`Limits`]).
//! 3. Its answer is checked: rule ids it has and that are on,
//!    ids and codes of the right form, real dates, bounded size. A plugin
//!    that traps, runs out of fuel or time, or answers out of contract
//!    yields a typed [`Error`]; the host stays up.
//!
//! ## Sandbox defaults
//! See [`Limits`]: 500 M fuel and a 2 s deadline per call, 64 MiB of memory,
//! 512 KiB of wasm stack, 1 MiB of output, 100 log lines. Plugins can import
//! only `kinga:plugin/log` and an inert WASI subset (no files, network,
//! environment, real clock or real randomness).
//!
//! ## Speed
//! One [`wasmtime::Engine`] per host; each plugin is compiled once (or loaded
//! from an integrity-checked artifact cache) and pre-instantiated once; the
//! pooling allocator with copy-on-write images makes each per-call instance
//! cheap.
//!
//! ## Where things are
//! | module | what it holds |
//! |---|---|
//! | the crate root | the runtime: [`Host`], cases ([`ValidCase`], [`AsOf`]), outputs, reports, [`Error`] |
//! | [`admin`] | administration state, signed packages, keys, a [`admin::LiveHost`] that reloads |
//! | [`records`] | hash-chained logs and decision records |
//! | [`fixture`] | the fixture format: what a plugin must answer, run by `kinga test` and at installation |
//! | `devkit` (feature `devkit`) | fixtures, explanations, shadow runs, synthetic caseloads |
//! | `serve` (feature `serve`) | the JSON HTTP service |
//!
//! `docs/architecture.md` has the map of the source folders.

#![deny(missing_docs)]

pub mod adapt;
pub mod admin;
mod case;
#[cfg(feature = "devkit")]
pub mod devkit;
mod error;
pub mod fixture;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod records;
mod runtime;
#[cfg(feature = "serve")]
pub mod serve;
mod storage;
mod text;

pub use case::asof::{AS_OF_YEARS, AsOf, EAST_AFRICA_TIME};
pub use case::jsonl::{CaseLine, CaseLines};
pub use case::schema::Violation;
pub use case::{
    CaseRejection, MAX_CASE_BYTES, MAX_CASE_DEPTH, ValidCase, canonical_json, identifying_values,
};
pub use error::{Containment, Error, ErrorReport, PluginErrorKind, Stop};
pub use records::DecisionRecord;
pub use runtime::budget::{RequestBudget, RequestLimits};
pub use runtime::gate::{BreakerState, BreakerStatus};
pub use runtime::host::{CallTrace, EvalOptions, Evaluation, Host, HostBuilder, Replay};
pub use runtime::limits::Limits;
pub use runtime::output::{ConsentStatus, Decision, Provider, Reason, Referral, Status, Urgency};
pub use runtime::plugin::{
    CONTRACT, LoadedPlugin, ParameterDescription, PluginDescription, PluginKind, RuleDescription,
    SUPPORTED_CONTRACTS, TemplateDescription,
};
pub use runtime::render::{Format, render};
pub use runtime::report::{Count, Report, ReportRow, ReportRun, ReportTable};
pub use runtime::settings_check::RefusalDescription;
pub use storage::{read_regular_file, sha256_hex};
pub use text::{is_unsafe_char, neutralise};

/// The bundled JSON Schemas (`schemas/`), compiled once, and checking a
/// value against one of them.
pub mod schemas {
    pub use crate::case::schema::{
        Violation, case, decision, plugin_info, plugin_manifest, referral, report, violations,
    };
}
