//! Explanations: per rule of each plugin, whether it fired and why, from
//! the plugin's own reasons — what a programme officer asks first.
//!
//! An eligibility rule fired when a decision carries reasons of that rule
//! (or is for the track of the same id); a referral rule fired when it
//! produced a referral. A rule that did not fire has no reasons of its own
//! (plugins answer only with what they decided), so the explanation gives
//! the rule's description from `describe`: what makes it fire.

use serde::Serialize;
use serde_json::Value;

use crate::runtime::host::Host;
use crate::runtime::output::{Decision, Reason, Referral};
use crate::runtime::plugin::PluginKind;

/// Whether a rule fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fired {
    /// It produced a decision or a referral.
    Fired,
    /// It ran and produced nothing.
    NotFired,
    /// An administrator switched the rule off.
    RuleOff,
    /// An administrator switched the whole plugin off.
    PluginOff,
}

/// One rule of one plugin, explained.
#[derive(Debug, Clone, Serialize)]
pub struct RuleExplanation {
    /// The plugin.
    pub plugin: String,
    /// The rule.
    pub rule: String,
    /// Its title.
    pub title: String,
    /// Whether it fired.
    pub fired: Fired,
    /// What it decided: the decisions' statuses (eligibility) or the
    /// referrals (service, urgency, due, provider, consent).
    pub outcomes: Vec<Value>,
    /// Its reasons, in the plugin's words.
    pub reasons: Vec<Reason>,
    /// Fields to collect before it can decide (undetermined decisions).
    pub missing: Vec<String>,
    /// What makes it fire (the rule's description).
    pub fires_when: String,
}

/// Explains eligibility `decisions` rule by rule, for every eligibility
/// plugin of `host` (or only `plugins`).
pub fn eligibility(
    host: &Host,
    decisions: &[Decision],
    plugins: &[String],
) -> Vec<RuleExplanation> {
    explain(host, PluginKind::Eligibility, plugins, |plugin, rule| {
        let mine: Vec<&Decision> = decisions
            .iter()
            .filter(|d| {
                d.plugin == plugin && (d.track == rule || d.reasons.iter().any(|r| r.rule == rule))
            })
            .collect();
        let outcomes = mine
            .iter()
            .map(|d| serde_json::json!({"track": d.track, "status": d.status, "priority": d.priority}))
            .collect();
        let reasons = mine
            .iter()
            .flat_map(|d| d.reasons.iter().filter(|r| r.rule == rule).cloned())
            .collect();
        let missing = mine
            .iter()
            .flat_map(|d| d.missing.iter().cloned())
            .collect();
        (outcomes, reasons, missing)
    })
}

/// Explains `referrals` rule by rule, for every referral plugin of `host`
/// (or only `plugins`).
pub fn referrals(host: &Host, referrals: &[Referral], plugins: &[String]) -> Vec<RuleExplanation> {
    explain(host, PluginKind::Referral, plugins, |plugin, rule| {
        let mine: Vec<&Referral> = referrals
            .iter()
            .filter(|r| r.plugin == plugin && r.rule == rule)
            .collect();
        let outcomes = mine
            .iter()
            .map(|r| {
                serde_json::json!({
                    "service": r.service,
                    "urgency": r.urgency,
                    "due": r.due,
                    "provider": r.provider.as_ref().map(|p| p.name.clone()),
                    "consent": r.consent,
                })
            })
            .collect();
        let reasons = mine
            .iter()
            .flat_map(|r| r.reasons.iter().cloned())
            .collect();
        (outcomes, reasons, Vec::new())
    })
}

type Found = (Vec<Value>, Vec<Reason>, Vec<String>);

fn explain(
    host: &Host,
    kind: PluginKind,
    only: &[String],
    found: impl Fn(&str, &str) -> Found,
) -> Vec<RuleExplanation> {
    let mut explained = Vec::new();
    for plugin in host.plugins().filter(|p| {
        p.description().kind == kind && (only.is_empty() || only.contains(&p.description().id))
    }) {
        let d = plugin.description();
        for rule in &d.rules {
            let (outcomes, reasons, missing) = found(&d.id, &rule.id);
            let fired = if !plugin.switched_on() {
                Fired::PluginOff
            } else if !plugin.enabled_rules().contains(&rule.id) {
                Fired::RuleOff
            } else if outcomes.is_empty() {
                Fired::NotFired
            } else {
                Fired::Fired
            };
            explained.push(RuleExplanation {
                plugin: d.id.clone(),
                rule: rule.id.clone(),
                title: rule.title.clone(),
                fired,
                outcomes,
                reasons,
                missing,
                fires_when: rule.description.clone(),
            });
        }
    }
    explained
}
