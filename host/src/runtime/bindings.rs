//! Host-side bindings of the `kinga:plugin@0.2.0` worlds, generated from
//! `wit/` by wasmtime's `bindgen!`.
//!
//! The three worlds share the `types` and `log` interfaces; the referral and
//! reporting bindings reuse the eligibility bindings' modules for them so a
//! `PluginError` or a `Context` is one Rust type whatever the world.

/// The `eligibility-plugin` world (and the shared `types` and `log`).
pub mod eligibility {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "eligibility-plugin",
        imports: { default: trappable },
    });
}

/// The `referral-plugin` world.
pub mod referral {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "referral-plugin",
        imports: { default: trappable },
        with: {
            "kinga:plugin/types": super::eligibility::kinga::plugin::types,
            "kinga:plugin/log": super::eligibility::kinga::plugin::log,
            "kinga:plugin/plugin": super::eligibility::exports::kinga::plugin::plugin,
        },
    });
}

/// The `reporting-plugin` world.
pub mod reporting {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "reporting-plugin",
        imports: { default: trappable },
        with: {
            "kinga:plugin/types": super::eligibility::kinga::plugin::types,
            "kinga:plugin/log": super::eligibility::kinga::plugin::log,
            "kinga:plugin/plugin": super::eligibility::exports::kinga::plugin::plugin,
        },
    });
}

pub use eligibility::kinga::plugin::log;
pub use eligibility::kinga::plugin::types;
