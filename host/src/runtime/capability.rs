//! The one per-kind dispatch: what differs between calling an eligibility
//! plugin and a referral plugin (which world to instantiate, which export to
//! call, how to check the answer) is stated here once, as a crate-private
//! trait, and everything else (selection, projection, the sandbox, the
//! decision record, the trace, replay) is written once in the host over it.

use wasmtime::Store;

use crate::error::Error;
use crate::records::Recordable;
use crate::runtime::bindings::eligibility::exports::kinga::plugin::eligibility::Decision as RawDecision;
use crate::runtime::bindings::referral::exports::kinga::plugin::referral::Referral as RawReferral;
use crate::runtime::bindings::types as wit;
use crate::runtime::output::{self, Decision, OutputCheck, Referral};
use crate::runtime::plugin::{LoadedPlugin, PluginKind, WorldPre};
use crate::runtime::store::StoreState;

/// What a call returns: wasmtime's error for a trap or an unreadable
/// answer, else the plugin's list or its own refusal.
pub(crate) type Answer<T> = wasmtime::Result<Result<Vec<T>, wit::PluginError>>;

/// A plugin capability that is called once per case and answers a list.
pub(crate) trait Capability {
    /// The kind of plugin that provides it.
    const KIND: PluginKind;
    /// One item of the plugin's raw answer.
    type Raw;
    /// One checked output.
    type Output: Recordable;

    /// Instantiates the plugin in `store` and calls the capability.
    ///
    /// # Errors
    /// [`Error::WrongKind`] for a plugin of another kind; inside, a trap or
    /// an unreadable answer (wasmtime's error) or the plugin's own refusal.
    fn instantiate_and_call(
        plugin: &LoadedPlugin,
        store: &mut Store<StoreState>,
        ctx: &wit::Context,
        case: &str,
    ) -> Result<Answer<Self::Raw>, Error>;

    /// Converts and checks a raw answer.
    fn check(check: &OutputCheck<'_>, raw: Vec<Self::Raw>) -> Result<Vec<Self::Output>, Error>;

    /// Orders the checked outputs of all plugins of the kind.
    fn order(_outputs: &mut [Self::Output]) {}
}

/// The error for a plugin asked for a capability it does not have.
pub(crate) fn wrong_kind(plugin: &LoadedPlugin, wanted: PluginKind) -> Error {
    Error::WrongKind {
        plugin: plugin.description.id.clone(),
        kind: plugin.description.kind,
        wanted: wanted.needed(),
    }
}

/// Eligibility decisions.
pub(crate) struct Eligibility;

impl Capability for Eligibility {
    const KIND: PluginKind = PluginKind::Eligibility;
    type Raw = RawDecision;
    type Output = Decision;

    fn instantiate_and_call(
        plugin: &LoadedPlugin,
        store: &mut Store<StoreState>,
        ctx: &wit::Context,
        case: &str,
    ) -> Result<Answer<RawDecision>, Error> {
        let WorldPre::Eligibility(pre) = &plugin.pre else {
            return Err(wrong_kind(plugin, Self::KIND));
        };
        Ok(pre.instantiate(&mut *store).and_then(|instance| {
            instance
                .kinga_plugin_eligibility()
                .call_evaluate(&mut *store, ctx, case)
        }))
    }

    fn check(check: &OutputCheck<'_>, raw: Vec<RawDecision>) -> Result<Vec<Decision>, Error> {
        check.decisions(raw)
    }
}

/// Referral routing.
pub(crate) struct Routing;

impl Capability for Routing {
    const KIND: PluginKind = PluginKind::Referral;
    type Raw = RawReferral;
    type Output = Referral;

    fn instantiate_and_call(
        plugin: &LoadedPlugin,
        store: &mut Store<StoreState>,
        ctx: &wit::Context,
        case: &str,
    ) -> Result<Answer<RawReferral>, Error> {
        let WorldPre::Referral(pre) = &plugin.pre else {
            return Err(wrong_kind(plugin, Self::KIND));
        };
        Ok(pre.instantiate(&mut *store).and_then(|instance| {
            instance
                .kinga_plugin_referral()
                .call_route(&mut *store, ctx, case)
        }))
    }

    fn check(check: &OutputCheck<'_>, raw: Vec<RawReferral>) -> Result<Vec<Referral>, Error> {
        check.referrals(raw)
    }

    /// By urgency, then due time.
    fn order(outputs: &mut [Referral]) {
        outputs.sort_by_key(output::due_key);
    }
}
