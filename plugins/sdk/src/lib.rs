//! The guest SDK for Kinga plugins.
//!
//! A Kinga plugin is a WebAssembly component built for `wasm32-wasip2` that
//! implements one world of the `kinga:plugin@0.2.2` contract (see `wit/`).
//! This crate lets a plugin be written as plain Rust:
//!
//! - [`Case`] is a typed view of the canonical case 1.1, which the host has
//!   already validated: a survivor status that may not be assessed yet, an
//!   incident known only by its day ([`Incident::latest_moment`],
//!   [`Incident::earliest_moment`]), an age estimate that ages from the day
//!   it was made ([`age::age_at`]), who identified the child;
//! - [`Context`] carries the as-of moment, the enabled rules and the
//!   plugin's settings in the plugin's own `Settings` type;
//! - [`age::age_at`] and [`date`] do ages and dates with integer calendar
//!   arithmetic;
//! - [`Rule`] declares a rule once — id, title, description, the case
//!   fields it reads, the reasons it gives with their messages, its
//!   function — and the SDK derives from a plugin's rules what `describe`
//!   reports and which functions run ([`rule`]);
//! - answers carry codes, never words: a [`Reason`] names a code its rule
//!   declared, a [`PluginError`] a code the plugin declared
//!   ([`PluginInfo::errors`]), a report table counts under the labels its
//!   [`report::TableSpec`] declared; the host renders the words from the
//!   declarations ([`describe`]);
//! - [`logic::Check`] and [`logic::decide`] combine a track's conditions
//!   with three-valued logic, never turning missing data into a "no";
//! - [`Plugin::check_settings`] refuses, with declared codes, settings the
//!   rules cannot safely run with, before they take effect ([`settings`]);
//! - [`Decision`], [`Referral`] and [`report::Table`] are what rules return;
//! - [`export_eligibility_plugin!`], [`export_referral_plugin!`] and
//!   [`export_reporting_plugin!`] generate the WIT glue.
//!
//! Rules stay ordinary functions over these types, so they compile and are
//! unit-tested natively; the `impl` of a plugin trait only lists them.
//!
//! # Example
//! ```
//! use kinga_plugin_sdk::logic::{Check, decide};
//! use kinga_plugin_sdk::*;
//!
//! struct Hello;
//!
//! /// No settings.
//! type Settings = serde_json::Map<String, serde_json::Value>;
//!
//! impl Plugin for Hello {
//!     type Settings = Settings;
//!     fn info() -> PluginInfo {
//!         PluginInfo::new("hello", "Hello", "0.1.0", "An example.")
//!             .errors(&[(ErrorKind::InvalidCase, "no-status", "the case has no status")])
//!     }
//! }
//!
//! impl EligibilityPlugin for Hello {
//!     // Each rule once: `describe` and `evaluate` follow from this list.
//!     const RULES: &'static [EligibilityRule<Settings>] = &[EligibilityRule::new(
//!         "open",
//!         "Open cases",
//!         "Eligible while the case is open.",
//!         open,
//!     )
//!     .reads(&["/status"])
//!     .gives(&[&[
//!         ("case-open", "the case is open"),
//!         ("case-closed", "the case is closed"),
//!         ("status-unknown", "the case status is not recorded"),
//!     ]])];
//! }
//!
//! /// The `open` track: eligible while the case is open.
//! fn open(_ctx: &Context<Settings>, case: &Case) -> Result<Decision, PluginError> {
//!     let status = match case.status {
//!         Some(CaseStatus::Open) => Check::holds("open", "case-open"),
//!         Some(CaseStatus::Closed) => Check::fails("open", "case-closed"),
//!         None => Check::unknown("open", "status-unknown", "/status"),
//!     };
//!     Ok(decide("open", [status]))
//! }
//!
//! // What the host is told, and what it gets back.
//! let info = Hello::describe();
//! assert_eq!(info.rules[0].id, "open");
//! assert_eq!(info.case_fields, ["/status"]);
//! let as_of = date::parse_datetime("2026-07-01T09:00:00+03:00").unwrap();
//! let ctx = Context::new(as_of, &["open"], Settings::new());
//! let case = Case::from_json(r#"{"case_id": "C-1"}"#).unwrap();
//! let decisions = Hello::evaluate(&ctx, &case).unwrap();
//! assert_eq!(decisions[0].status, Status::Undetermined);
//! assert_eq!(decisions[0].missing, ["/status"]);
//! // Every reason given is one its rule declared, as the host will check.
//! assert!(decisions[0].reasons.iter().all(|r| info.declares_reason(&r.rule, &r.code)));
//!
//! // In the plugin crate (built for wasm32-wasip2):
//! // kinga_plugin_sdk::export_eligibility_plugin!(Hello, wit = "wit");
//! ```

#![deny(missing_docs)]

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
pub mod rule;
pub mod settings;

pub use case::*;
pub use context::Context;
pub use describe::{
    ErrorInfo, ErrorText, NO_SETTINGS, ParameterInfo, PluginInfo, ReasonInfo, ReasonText, RuleInfo,
    TemplateInfo,
};
pub use outcome::*;
pub use report::{Dimension, ReportBuilder, ReportOutput, Table, TableSpec};
pub use rule::{EligibilityRule, ReferralRule, Rule};

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
    /// the SDK reports to the host as the plugin's default settings. They
    /// own their data (`'static`), so that rules over them can be `const`s.
    type Settings: DeserializeOwned + Serialize + Default + 'static;

    /// Describes the plugin: who it is and its settings schema, usually
    /// with [`PluginInfo::new`]. Rules declared in the kind's `RULES` (see
    /// [`EligibilityPlugin::RULES`]) are added by the SDK, with their case
    /// fields; list here only what they do not cover (case fields read by
    /// a whole-case pass with [`PluginInfo::reads`], rules declared another
    /// way with [`PluginInfo::with_rules`]).
    fn info() -> PluginInfo;

    /// Every refusal [`check_settings`](Self::check_settings) can give:
    /// `(code, message)`, the message quoting settings as `{/pointer}`
    /// (see [`settings`]). The SDK adds its own (`settings-unreadable`).
    const SETTINGS_REFUSALS: &'static [settings::RefusalText] = &[];

    /// What the plugin's rules cannot safely run with, beyond what the
    /// settings schema can say: a clinical window beyond the clinical
    /// maximum, an inverted range, an empty directory. The host calls it
    /// before any settings take effect; an empty list accepts them. By
    /// default everything the schema accepts is accepted.
    fn check_settings(settings: &Self::Settings) -> Vec<settings::SettingsRefusal> {
        let _ = settings;
        Vec::new()
    }
}

/// An eligibility plugin.
///
/// A plugin declares its rules in [`RULES`](Self::RULES); the default
/// [`evaluate`](Self::evaluate) runs them, and [`describe`](Self::describe)
/// reports them. A plugin that needs a whole-case pass before its rules run
/// overrides `evaluate` (see [`rule`]).
pub trait EligibilityPlugin: Plugin {
    /// The rules, one per track, in the order they run and are described.
    const RULES: &'static [EligibilityRule<Self::Settings>] = &[];

    /// One decision per enabled track. By default, the decision of each
    /// rule of [`RULES`](Self::RULES) switched on, in declaration order.
    ///
    /// # Errors
    /// When the case cannot be evaluated.
    fn evaluate(ctx: &Context<Self::Settings>, case: &Case) -> Result<Vec<Decision>, PluginError> {
        rule::run_enabled(Self::RULES, ctx, case)
    }

    /// What the component's `describe` reports: [`Plugin::info`] with the
    /// rules of [`RULES`](Self::RULES) and the case fields they read.
    fn describe() -> PluginInfo {
        Self::info().with_rules(Self::RULES)
    }
}

/// A referral plugin.
///
/// A plugin declares its rules in [`RULES`](Self::RULES); the default
/// [`route`](Self::route) runs them, and [`describe`](Self::describe)
/// reports them. A plugin that needs a whole-case pass before its rules run
/// overrides `route` (see [`rule`]).
pub trait ReferralPlugin: Plugin {
    /// The rules, in the order they run and are described.
    const RULES: &'static [ReferralRule<Self::Settings>] = &[];

    /// The referrals the case needs, ordered by urgency then due time. By
    /// default, the referrals of each rule of [`RULES`](Self::RULES)
    /// switched on, in that order (a stable sort: referrals as urgent and
    /// as due keep the order of their rules).
    ///
    /// # Errors
    /// When the case cannot be routed.
    fn route(ctx: &Context<Self::Settings>, case: &Case) -> Result<Vec<Referral>, PluginError> {
        let mut referrals: Vec<Referral> = rule::run_enabled(Self::RULES, ctx, case)?
            .into_iter()
            .flatten()
            .collect();
        referrals.sort_by_key(|r| (r.urgency, r.due));
        Ok(referrals)
    }

    /// What the component's `describe` reports: [`Plugin::info`] with the
    /// rules of [`RULES`](Self::RULES) and the case fields they read.
    fn describe() -> PluginInfo {
        Self::info().with_rules(Self::RULES)
    }
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
