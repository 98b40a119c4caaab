//! The guest SDK for Kinga plugins.
//!
//! A Kinga plugin is a WebAssembly component built for `wasm32-wasip2` that
//! implements one world of the `kinga:plugin@0.1.0` contract (see `wit/`).
//! This crate lets a plugin be written as plain Rust:
//!
//! - [`Case`] is a typed view of the canonical case v1, which the host has
//!   already validated;
//! - [`Context`] carries the as-of moment, the enabled rules and the
//!   plugin's settings in the plugin's own `Settings` type;
//! - [`age::age_at`] and [`date`] do ages and dates with integer calendar
//!   arithmetic;
//! - [`Decision`], [`Referral`] and [`report::Table`] are what rules return;
//! - [`export_eligibility_plugin!`], [`export_referral_plugin!`] and
//!   [`export_reporting_plugin!`] generate the WIT glue.
//!
//! Rules stay ordinary functions over these types, so they compile and are
//! unit-tested natively; the `impl` of a plugin trait is a thin shell over
//! them.
//!
//! # Example
//! ```
//! use kinga_plugin_sdk::*;
//!
//! struct Hello;
//!
//! impl Plugin for Hello {
//!     type Settings = serde_json::Map<String, serde_json::Value>;
//!     fn info() -> PluginInfo {
//!         PluginInfo {
//!             id: "hello".into(),
//!             name: "Hello".into(),
//!             version: "0.1.0".into(),
//!             purpose: "An example.".into(),
//!             rules: vec![RuleInfo::new("open", "Open cases", "Eligible while the case is open.")],
//!             settings_schema: r#"{"type":"object"}"#.into(),
//!             case_fields: vec!["/status".into()],
//!         }
//!     }
//! }
//!
//! impl EligibilityPlugin for Hello {
//!     fn evaluate(ctx: &Context<Self::Settings>, case: &Case) -> Result<Vec<Decision>, PluginError> {
//!         let status = match case.status {
//!             Some(CaseStatus::Open) => Status::Eligible,
//!             Some(CaseStatus::Closed) => Status::Ineligible,
//!             None => Status::Undetermined,
//!         };
//!         Ok(vec![Decision {
//!             track: "open".into(),
//!             status,
//!             priority: None,
//!             reasons: vec![Reason::new("open", "case-status", "decided by the case status")],
//!             missing: vec![],
//!         }])
//!     }
//! }
//! // In the plugin crate (built for wasm32-wasip2):
//! // kinga_plugin_sdk::export_eligibility_plugin!(Hello, wit = "wit");
//! ```

pub mod age;
pub mod case;
pub mod context;
pub mod date;
pub mod describe;
mod export;
pub mod log;
pub mod logic;
pub mod outcome;
pub mod report;

pub use case::*;
pub use context::Context;
pub use describe::{ParameterInfo, PluginInfo, RuleInfo, TemplateInfo};
pub use outcome::*;
pub use report::{ReportBuilder, ReportOutput, Table};

/// The JSON library the SDK uses (settings of type `serde_json::Map` accept
/// any object).
pub use serde_json;
/// The date and time library the SDK's types use.
pub use time;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// What every plugin has: a description and a settings type.
pub trait Plugin {
    /// The plugin's settings. `Default` gives the documented defaults, which
    /// the SDK reports to the host as the plugin's default settings.
    type Settings: DeserializeOwned + Serialize + Default;

    /// Describes the plugin.
    fn info() -> PluginInfo;
}

/// An eligibility plugin.
pub trait EligibilityPlugin: Plugin {
    /// One decision per enabled track.
    ///
    /// # Errors
    /// When the case cannot be evaluated.
    fn evaluate(ctx: &Context<Self::Settings>, case: &Case) -> Result<Vec<Decision>, PluginError>;
}

/// A referral plugin.
pub trait ReferralPlugin: Plugin {
    /// The referrals the case needs, ordered by urgency then due time.
    ///
    /// # Errors
    /// When the case cannot be routed.
    fn route(ctx: &Context<Self::Settings>, case: &Case) -> Result<Vec<Referral>, PluginError>;
}

/// A reporting plugin.
pub trait ReportingPlugin: Plugin {
    /// The report being built.
    type Report: ReportBuilder + 'static;

    /// The templates offered.
    fn templates() -> Vec<TemplateInfo>;

    /// Opens a report.
    ///
    /// # Errors
    /// `invalid-parameters` for an unknown template or a bad parameter.
    fn open(
        ctx: &Context<Self::Settings>,
        template: &str,
        parameters: &[(String, String)],
    ) -> Result<Self::Report, PluginError>;
}

/// The default settings of `P`, as the JSON text the contract carries.
pub fn default_settings_json<P: Plugin>() -> String {
    serde_json::to_string(&P::Settings::default()).unwrap_or_else(|_| "{}".to_owned())
}

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;
}
