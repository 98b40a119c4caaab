//! Host-side bindings of the `kinga:plugin@0.2.2` contract, generated from
//! `wit/` by wasmtime's `bindgen!`.
//!
//! The host binds worlds of its own (`kinga:host`, `host/wit/host-worlds`), not the
//! contract's: each holds what every plugin of a kind exports since 0.2.0
//! (`plugin` and the capability), and `settings-checker` holds the
//! `settings` interface that 0.2.1 added. A plugin built against 0.2.0 has
//! no `settings` export and still loads; one built against 0.2.1 must have
//! it, as must one built against 0.2.2 (see [`crate::runtime::settings_check`]).
//! wasmtime finds a `@0.2.0` or `@0.2.1` export under a `@0.2.2` name, as
//! they are semver-compatible.
//!
//! The worlds share the `types` and `log` interfaces; the referral and
//! reporting bindings reuse the eligibility bindings' modules for them so a
//! `PluginError` or a `Context` is one Rust type whatever the world.

/// What every eligibility plugin exports (and the shared `types` and `log`).
pub mod eligibility {
    wasmtime::component::bindgen!({
        path: ["../wit", "wit/host-worlds"],
        world: "kinga:host/eligibility-core",
        imports: { default: trappable },
    });
}

/// What every referral plugin exports.
pub mod referral {
    wasmtime::component::bindgen!({
        path: ["../wit", "wit/host-worlds"],
        world: "kinga:host/referral-core",
        imports: { default: trappable },
        with: {
            "kinga:plugin/types": super::eligibility::kinga::plugin::types,
            "kinga:plugin/log": super::eligibility::kinga::plugin::log,
            "kinga:plugin/plugin": super::eligibility::exports::kinga::plugin::plugin,
        },
    });
}

/// What every reporting plugin exports.
pub mod reporting {
    wasmtime::component::bindgen!({
        path: ["../wit", "wit/host-worlds"],
        world: "kinga:host/reporting-core",
        imports: { default: trappable },
        with: {
            "kinga:plugin/types": super::eligibility::kinga::plugin::types,
            "kinga:plugin/log": super::eligibility::kinga::plugin::log,
            "kinga:plugin/plugin": super::eligibility::exports::kinga::plugin::plugin,
        },
    });
}

/// The `settings` export of a plugin built against 0.2.1 or later.
pub mod settings {
    wasmtime::component::bindgen!({
        path: ["../wit", "wit/host-worlds"],
        world: "kinga:host/settings-checker",
    });
}

pub use eligibility::kinga::plugin::log;
pub use eligibility::kinga::plugin::types;
pub use settings::exports::kinga::plugin::settings as wit_settings;
