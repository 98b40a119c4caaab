//! The runtime: the [`Host`](host::Host) with its registry of loaded
//! plugins, the sandbox every call runs in, and the checks on what comes
//! back.
//!
//! | module | holds |
//! |---|---|
//! | `host` | `Host`, its builder, evaluate / route / report / replay |
//! | `capability` | the one per-kind dispatch (eligibility, referral) |
//! | `budget` | what one request may spend across its calls |
//! | `sandbox` | engine, linker, limits, slots, breaker, fresh stores, trap classes |
//! | `store` | the per-call store state, its limits and the bounded `log` import |
//! | `inert_wasi` | the WASI subset a guest imports, implemented to give nothing |
//! | `bindings` | the plugin worlds' `bindgen!`: one minimal world per plugin kind |
//! | `loader`, `plugin` | loading a component, and what a loaded plugin is |
//! | `declared`, `wording` | what a plugin declared it can say, and the words rendered from it |
//! | `settings_check` | the plugin's own check of its settings (contract 0.2.1) |
//! | `output`, `report`, `render` | checking answers, streaming reports, rendering them |
//! | `margins` | tables of one report that sum one another, suppressed together |
//! | `setting_cells` | report cells the host fills from the plugin's settings (targets) |
//! | `cache`, `engine`, `gate`, `limits` | compiled artifacts, epochs, slots and breaker, limits |

pub(crate) mod bindings;
pub(crate) mod budget;
pub(crate) mod cache;
pub(crate) mod capability;
pub(crate) mod declared;
pub(crate) mod engine;
pub(crate) mod gate;
pub(crate) mod host;
pub(crate) mod inert_wasi;
pub(crate) mod limits;
pub(crate) mod loader;
pub(crate) mod log_watch;
pub(crate) mod margins;
pub(crate) mod output;
pub(crate) mod plugin;
pub(crate) mod render;
pub(crate) mod report;
pub(crate) mod sandbox;
pub(crate) mod setting_cells;
pub(crate) mod settings_check;
pub(crate) mod store;
pub(crate) mod wording;
