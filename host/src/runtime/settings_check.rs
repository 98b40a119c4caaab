//! A plugin's own check of its settings (`kinga:plugin/settings`, contract
//! 0.2.1), run in the sandbox like any call.
//!
//! A settings schema bounds each setting alone; the plugin knows what its
//! rules cannot safely run with (a clinical window beyond what the medicine
//! allows, a minimum above a maximum, an empty provider directory). The host
//! asks it before any settings take effect: the defaults when it loads, and
//! every change, a dry run included, before it is applied or audited.
//!
//! What comes back is held to the plugin's declarations as an answer is:
//! each refusal's code must be one `refusals` declared (an undeclared code is
//! the plugin's fault and is never echoed), its pointer must name a member
//! of the settings that is there, and the administrator reads the declared
//! message, rendered from the settings checked, never words the plugin made
//! up for the occasion. A check that traps, loops or runs out of memory is
//! contained like any call, and the settings it was asked about are refused.
//!
//! A plugin built against 0.2.0 has no `settings` export: it has no check,
//! and its schema alone decides (see `wit/README.md`).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;
use wasmtime::Engine;
use wasmtime::component::InstancePre;

use crate::case::schema::{Violation, quote};
use crate::error::Error;
use crate::runtime::bindings::settings::SettingsCheckerPre;
use crate::runtime::bindings::wit_settings;
use crate::runtime::limits::Limits;
use crate::runtime::sandbox::{classify, engine_error, is_trap};
use crate::runtime::store::{StoreState, new_store};
use crate::runtime::wording;

/// The most refusals of one check the host reports (the rest are counted
/// in one more line).
const MAX_REFUSALS: usize = 20;

/// The most refusals one check may answer: more is invalid output.
const MAX_ANSWERED: usize = 1024;

/// The most refusals a plugin may declare.
pub(crate) const MAX_DECLARED: usize = 128;

/// A refusal the plugin declared: its code and message template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RefusalDescription {
    /// Stable kebab-case code, unique within the plugin.
    pub code: String,
    /// The message template, as a reason message's is written; it
    /// may quote settings as `{/pointer}`.
    pub message: String,
}

/// The `settings` export of a loaded plugin, ready to be called.
pub(crate) struct SettingsCheck {
    pre: SettingsCheckerPre<StoreState>,
    engine: Engine,
    limits: Limits,
}

impl SettingsCheck {
    /// Binds the `settings` export of a plugin's component.
    ///
    /// # Errors
    /// When the component does not export the interface as the contract
    /// types it.
    pub fn new(
        instance_pre: InstancePre<StoreState>,
        engine: &Engine,
        limits: &Limits,
    ) -> wasmtime::Result<SettingsCheck> {
        Ok(SettingsCheck {
            pre: SettingsCheckerPre::new(instance_pre)?,
            engine: engine.clone(),
            limits: limits.clone(),
        })
    }

    /// The plugin's declared refusals, as it gives them (checked by the
    /// loader, see [`check_declarations`]).
    ///
    /// # Errors
    /// A contained trap, as any call's.
    pub fn refusals(&self, plugin: &str) -> Result<Vec<RefusalDescription>, Error> {
        let (mut store, instance) = self.instantiate(plugin)?;
        let declared = instance
            .kinga_plugin_settings()
            .call_refusals(&mut store)
            .map_err(|e| contained(plugin, &store, e))?;
        Ok(declared
            .into_iter()
            .map(|r: wit_settings::RefusalInfo| RefusalDescription {
                code: r.code,
                message: r.message,
            })
            .collect())
    }

    /// Asks the plugin about `settings` (complete, and valid against its
    /// schema). An empty list accepts them.
    ///
    /// # Errors
    /// A contained trap; [`Error::InvalidOutput`] when a refusal uses a code
    /// the plugin did not declare or a pointer that names nothing.
    pub fn run(
        &self,
        plugin: &str,
        declared: &[RefusalDescription],
        settings: &Value,
    ) -> Result<Vec<Violation>, Error> {
        let (mut store, instance) = self.instantiate(plugin)?;
        let text = crate::case::canonical_json(settings);
        let refusals = instance
            .kinga_plugin_settings()
            .call_check(&mut store, &text)
            .map_err(|e| contained(plugin, &store, e))?;
        let bad = |index: usize, member: &str, message: &str| Error::InvalidOutput {
            plugin: plugin.to_owned(),
            pointer: format!("/refusals/{index}/{member}"),
            message: message.to_owned(),
        };
        if refusals.len() > MAX_ANSWERED {
            return Err(Error::InvalidOutput {
                plugin: plugin.to_owned(),
                pointer: String::new(),
                message: format!(
                    "the settings check answered {} refusals, more than {MAX_ANSWERED}",
                    refusals.len()
                ),
            });
        }
        let mut violations = Vec::new();
        let mut seen = BTreeSet::new();
        let mut unshown = 0usize;
        for (index, refusal) in refusals.iter().enumerate() {
            let Some(description) = declared.iter().find(|d| d.code == refusal.code) else {
                return Err(bad(
                    index,
                    "code",
                    "the settings check gave a code it did not declare in `refusals`",
                ));
            };
            let pointer = refusal.pointer.as_str();
            if !pointer.is_empty()
                && (!pointer.starts_with('/') || settings.pointer(pointer).is_none())
            {
                return Err(bad(
                    index,
                    "pointer",
                    "the settings check named a pointer that is not a member of the settings",
                ));
            }
            if !seen.insert((pointer, description.code.as_str())) {
                continue;
            }
            if violations.len() >= MAX_REFUSALS {
                unshown += 1;
            } else {
                let message =
                    wording::render(&description.message, wording::from_settings(settings));
                violations.push(Violation {
                    pointer: pointer.to_owned(),
                    message: format!("{message} (refused by the plugin: {})", description.code),
                });
            }
        }
        if unshown > 0 {
            violations.push(Violation {
                pointer: String::new(),
                message: format!("and {unshown} more refusals of the plugin"),
            });
        }
        Ok(violations)
    }

    fn instantiate(
        &self,
        plugin: &str,
    ) -> Result<
        (
            wasmtime::Store<StoreState>,
            crate::runtime::bindings::settings::SettingsChecker,
        ),
        Error,
    > {
        let mut store =
            new_store(&self.engine, &self.limits, Arc::from(plugin)).map_err(engine_error)?;
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| contained(plugin, &store, e))?;
        Ok((store, instance))
    }
}

/// A failed call as the error a caller sees: a trap is contained (and
/// classified), anything else is the engine's.
fn contained(plugin: &str, store: &wasmtime::Store<StoreState>, error: wasmtime::Error) -> Error {
    if is_trap(store, &error) {
        tracing::warn!(target: "kinga::containment", plugin, kind = %classify(store, &error), "settings check stopped");
        Error::Contained {
            plugin: plugin.to_owned(),
            kind: classify(store, &error),
        }
    } else {
        engine_error(error)
    }
}

/// Checks a plugin's declared refusals at load: not too many, codes unique,
/// messages that quote only settings the defaults hold. Returns every
/// problem, for the load error.
pub(crate) fn check_declarations(declared: &[RefusalDescription], defaults: &Value) -> Vec<String> {
    if declared.len() > MAX_DECLARED {
        return vec![format!(
            "declares {} settings refusals, more than {MAX_DECLARED}",
            declared.len()
        )];
    }
    let mut problems = Vec::new();
    let mut codes = BTreeSet::new();
    for (index, refusal) in declared.iter().enumerate() {
        if !codes.insert(refusal.code.as_str()) {
            problems.push(format!(
                "declares the settings refusal {} twice",
                quote(&refusal.code)
            ));
        }
        if let Err(e) = wording::check(&refusal.message, wording::settings_only(defaults)) {
            problems.push(format!("the message of settings refusal {index} {e}"));
        }
    }
    problems
}
