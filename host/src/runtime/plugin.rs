//! What a loaded plugin is: its description (what it said about itself),
//! its pre-instantiated world, and the switches and settings in force.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::case::schema::{self, Violation};
use crate::error::{Error, PluginErrorKind};
use crate::runtime::bindings::eligibility::EligibilityCorePre;
use crate::runtime::bindings::referral::ReferralCorePre;
use crate::runtime::bindings::reporting::ReportingCorePre;
use crate::runtime::bindings::types as wit;
use crate::runtime::declared::Declared;
use crate::runtime::gate::BreakerStatus;
use crate::runtime::settings_check::{RefusalDescription, SettingsCheck};
use crate::runtime::store::StoreState;

/// The contract version this host speaks (and the newest it loads).
pub const CONTRACT: &str = "kinga:plugin@0.2.2";

/// The contract versions this host loads, oldest first: a plugin built
/// against 0.2.0 has no settings check (see `wit/README.md`).
pub const SUPPORTED_CONTRACTS: &[&str] = &["0.2.0", "0.2.1", "0.2.2"];

/// The canonical case version a plugin built against each contract reads
/// (see `wit/README.md`, "Case versions"): it is never given a field of a
/// later case version.
const CASE_VERSION_OF_CONTRACT: &[(&str, &str)] = &[
    ("kinga:plugin@0.2.0", "1"),
    ("kinga:plugin@0.2.1", "1"),
    ("kinga:plugin@0.2.2", "1.1"),
];

/// The fields only case 1.1 has, which a plugin reading 1.0 cannot declare.
pub(crate) const CASE_1_1_FIELDS: &[&str] = &["/identified_by", "/child/age_estimated_on"];

/// The canonical case version a plugin built against `contract` reads.
pub(crate) fn case_version_of(contract: &str) -> &'static str {
    CASE_VERSION_OF_CONTRACT
        .iter()
        .find(|(c, _)| *c == contract)
        .map_or("1.1", |(_, version)| version)
}

/// The fields case 1.1 added that a plugin reading `1` would be given, or
/// would misread for want of them: the first, as a pointer. `projected` is
/// the case reduced to its `declared` fields, `whole` the case.
fn first_case_1_1_field(projected: &Value, whole: &Value, declared: &[String]) -> Option<String> {
    let case = projected;
    // The day of an estimate is not given with the estimate, which would
    // then be read as made today.
    if case.pointer("/child/age_estimate_years").is_some()
        && whole.pointer("/child/age_estimated_on").is_some()
    {
        return Some("/child/age_estimated_on".into());
    }
    let incidents = case.get("incidents").and_then(Value::as_array);
    if let Some(i) = incidents
        .into_iter()
        .flatten()
        .position(|incident| incident.get("occurred_on").is_some())
    {
        return Some(format!("/incidents/{i}/occurred_on"));
    }
    if case.pointer("/child/age_estimated_on").is_some() {
        return Some("/child/age_estimated_on".into());
    }
    if case.get("identified_by").is_some() {
        return Some("/identified_by".into());
    }
    // Required in case 1.0: a plugin reading 1.0 may take it for given.
    if declared.iter().any(|d| d == "/survivor_status") && case.get("survivor_status").is_none() {
        return Some("/survivor_status".into());
    }
    None
}

/// The capability a plugin provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// Eligibility decisions.
    Eligibility,
    /// Referral routing.
    Referral,
    /// Reports.
    Reporting,
}

impl PluginKind {
    /// The contract interface that provides this capability.
    pub(crate) fn interface(self) -> &'static str {
        match self {
            PluginKind::Eligibility => "eligibility",
            PluginKind::Referral => "referral",
            PluginKind::Reporting => "reporting",
        }
    }

    /// "an eligibility plugin", for messages.
    pub(crate) fn needed(self) -> &'static str {
        match self {
            PluginKind::Eligibility => "an eligibility plugin",
            PluginKind::Referral => "a referral plugin",
            PluginKind::Reporting => "a reporting plugin",
        }
    }

    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Eligibility => "eligibility",
            PluginKind::Referral => "referral",
            PluginKind::Reporting => "reporting",
        }
    }
}

/// One rule of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleDescription {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// What it decides.
    pub description: String,
    /// On unless switched off.
    pub enabled_by_default: bool,
    /// Every reason it can give, with the message template the host
    /// renders for it.
    pub reasons: Vec<ReasonDescription>,
    /// For a referral rule, the services it can refer to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// For a ranking eligibility rule, the range of its priorities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priorities: Option<PriorityRange>,
}

/// A reason a rule declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonDescription {
    /// Its code.
    pub code: String,
    /// Its message template (see [`wording`](crate::runtime::wording)).
    pub message: String,
}

/// The range of a rule's priority scores, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PriorityRange {
    /// The lowest score.
    pub lowest: i32,
    /// The highest score.
    pub highest: i32,
}

/// An error a plugin declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorDescription {
    /// Its code.
    pub code: String,
    /// Its class.
    pub kind: PluginErrorKind,
    /// Its message template.
    pub message: String,
}

/// One dimension of a report table and the labels it can take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DimensionDescription {
    /// Its name.
    pub name: String,
    /// Every label it can take.
    pub labels: Vec<String>,
}

/// A table a report template declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableDescription {
    /// Stable id within the template.
    pub id: String,
    /// Title.
    pub title: String,
    /// What is counted.
    pub unit: String,
    /// Its dimensions, in row order.
    pub dimensions: Vec<DimensionDescription>,
}

/// A parameter of a report template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParameterDescription {
    /// Name.
    pub name: String,
    /// Meaning and format.
    pub description: String,
    /// Whether the template needs it.
    pub required: bool,
}

/// A report template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateDescription {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// What it counts.
    pub description: String,
    /// Its parameters.
    pub parameters: Vec<ParameterDescription>,
    /// Its tables, in display order.
    pub tables: Vec<TableDescription>,
    /// The narrative template printed with the tables, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
}

/// What the host knows about a loaded plugin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginDescription {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// Its capability.
    pub kind: PluginKind,
    /// Why it processes children's data.
    pub purpose: String,
    /// The contract version it was built against (`kinga:plugin@0.2.2`).
    pub contract: String,
    /// SHA-256 of the component, hex.
    pub content_sha256: String,
    /// Its rules.
    pub rules: Vec<RuleDescription>,
    /// The JSON Schema of its settings.
    pub settings_schema: Value,
    /// Its default settings.
    pub default_settings: Value,
    /// The case fields it reads (and is given).
    pub case_fields: Vec<String>,
    /// Every error it can report.
    pub errors: Vec<ErrorDescription>,
    /// Every refusal its settings check can give (none for a plugin built
    /// against 0.2.0, which has no settings check).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub settings_refusals: Vec<RefusalDescription>,
    /// Its report templates (reporting plugins only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<TemplateDescription>,
}

/// The pre-instantiated world of a plugin.
pub(crate) enum WorldPre {
    Eligibility(EligibilityCorePre<StoreState>),
    Referral(ReferralCorePre<StoreState>),
    Reporting(ReportingCorePre<StoreState>),
}

/// A plugin ready to be called: compiled once, pre-instantiated once, and
/// instantiated in a fresh store for every call.
pub struct LoadedPlugin {
    pub(crate) description: PluginDescription,
    pub(crate) id: Arc<str>,
    pub(crate) pre: WorldPre,
    pub(crate) rule_ids: BTreeSet<String>,
    pub(crate) settings_validator: jsonschema::Validator,
    /// The plugin's own settings check (contract 0.2.1 and later).
    pub(crate) settings_check: Option<SettingsCheck>,
    /// Why the administration state in force could not be put in force for
    /// it, if so: a held plugin answers nothing (see [`Error::Held`]).
    pub(crate) held: Option<String>,
    /// Administrator overrides of rule defaults.
    pub(crate) rule_overrides: BTreeMap<String, bool>,
    /// The effective enabled rules.
    pub(crate) enabled: BTreeSet<String>,
    /// The effective settings, as canonical JSON.
    pub(crate) settings_json: String,
    /// The declarations compiled for the effective settings: what answers
    /// and errors are checked against and rendered from.
    pub(crate) declared: Declared,
    /// This plugin's share of the call slots.
    pub(crate) slots: crate::runtime::gate::Slots,
    /// Its circuit breaker.
    pub(crate) breaker: crate::runtime::gate::Breaker,
    /// The breaker's cool-down (from the host's limits).
    pub(crate) breaker_cooldown: std::time::Duration,
    /// Whether an administrator has it switched on.
    pub(crate) switched_on: bool,
    /// The interfaces it imports (all within the contract, or it would not
    /// have loaded).
    pub(crate) imports: Vec<String>,
}

impl LoadedPlugin {
    /// What the plugin said about itself.
    pub fn description(&self) -> &PluginDescription {
        &self.description
    }

    /// The message a caller sees for `rule`'s reason `code`, rendered for
    /// the effective settings; `None` if the rule did not declare it.
    pub fn reason_message(&self, rule: &str, code: &str) -> Option<&str> {
        self.declared.reason(rule, code)
    }

    /// The class and message a caller sees for error `code`, rendered for
    /// the effective settings; `None` if the plugin did not declare it.
    pub fn error_message(&self, code: &str) -> Option<(PluginErrorKind, &str)> {
        self.declared.error(code)
    }

    /// The rules switched on.
    pub fn enabled_rules(&self) -> &BTreeSet<String> {
        &self.enabled
    }

    /// What its circuit breaker knows: closed, open or half-open, and the
    /// failures since its last good answer.
    pub fn breaker(&self) -> BreakerStatus {
        self.breaker.status(self.breaker_cooldown)
    }

    /// Whether an administrator has the plugin switched on.
    pub fn switched_on(&self) -> bool {
        self.switched_on
    }

    /// The interfaces the component imports.
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// The canonical case version the plugin reads (`1` or `1.1`), from
    /// the contract it was built against.
    pub fn case_version(&self) -> &'static str {
        case_version_of(&self.description.contract)
    }

    /// The case as this plugin is given it: reduced to its declared fields,
    /// and, for a plugin reading case 1.0, only when it holds nothing case
    /// 1.1 added (then marked version `1`).
    ///
    /// # Errors
    /// [`Error::CaseVersion`] naming the first field it cannot be given.
    pub(crate) fn case_for(&self, case: &crate::case::ValidCase) -> Result<Value, Error> {
        self.gate(case, case.projected(&self.description.case_fields))
    }

    /// [`LoadedPlugin::case_for`] with the whole case (the developer kit's
    /// check of undeclared reads): still never a case 1.1 field for a
    /// plugin reading 1.0.
    ///
    /// # Errors
    /// As [`LoadedPlugin::case_for`].
    pub(crate) fn whole_case_for(&self, case: &crate::case::ValidCase) -> Result<Value, Error> {
        self.gate(case, case.value().clone())
    }

    /// `projected` (made from `case`) if this plugin may be given it.
    fn gate(&self, case: &crate::case::ValidCase, mut projected: Value) -> Result<Value, Error> {
        let reads = self.case_version();
        if reads == "1" {
            if let Some(pointer) =
                first_case_1_1_field(&projected, case.value(), &self.description.case_fields)
            {
                return Err(Error::CaseVersion {
                    plugin: self.description.id.clone(),
                    reads: reads.to_owned(),
                    pointer,
                });
            }
            if let Some(version) = projected.get_mut("schema_version") {
                *version = Value::String("1".into());
            }
        }
        Ok(projected)
    }

    /// Why the plugin is held, if it is: the administration state in force
    /// for it was refused when the host was built, and it answers nothing
    /// until an administrator changes or resets its settings.
    pub fn held(&self) -> Option<&str> {
        self.held.as_deref()
    }

    /// Whether the plugin checks its own settings (contract 0.2.1 and
    /// later) beyond what their schema says.
    pub fn checks_settings(&self) -> bool {
        self.settings_check.is_some()
    }

    /// Checks an administrator's state for this plugin: rules it has,
    /// settings its schema and its own settings check accept.
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] naming the rule or the field; a contained
    /// trap or an invalid answer of the settings check.
    pub fn check_state(&self, state: &crate::admin::PluginState) -> Result<(), Error> {
        self.checked_settings(state).map(drop)
    }

    /// The effective settings `state` gives, once checked.
    pub(crate) fn checked_settings(
        &self,
        state: &crate::admin::PluginState,
    ) -> Result<Value, Error> {
        if let Some(rule) = state.rules.keys().find(|r| !self.rule_ids.contains(*r)) {
            return Err(self.no_such_rule(
                rule,
                format!("/rules/{}", crate::case::json::escape_token(rule)),
            ));
        }
        self.effective_settings(&state.settings)
    }

    /// The error for a rule the plugin does not have, at `pointer`.
    fn no_such_rule(&self, rule: &str, pointer: String) -> Error {
        Error::InvalidSettings {
            plugin: self.description.id.clone(),
            violations: vec![Violation {
                pointer,
                message: format!(
                    "plugin {} has no rule {}",
                    self.description.id,
                    schema::quote(rule)
                ),
            }],
        }
    }

    /// The defaults with `overrides` laid over them (top-level keys),
    /// checked against the plugin's settings schema and then by the plugin
    /// itself.
    fn effective_settings(&self, overrides: &Map<String, Value>) -> Result<Value, Error> {
        let mut effective = self
            .description
            .default_settings
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (key, value) in overrides {
            effective.insert(key.clone(), value.clone());
        }
        let effective = Value::Object(effective);
        let mut violations = schema::violations(&self.settings_validator, &effective, 20);
        if violations.is_empty()
            && let Some(check) = &self.settings_check
        {
            violations = check.run(
                &self.description.id,
                &self.description.settings_refusals,
                &effective,
            )?;
        }
        if violations.is_empty() {
            Ok(effective)
        } else {
            Err(Error::InvalidSettings {
                plugin: self.description.id.clone(),
                violations,
            })
        }
    }

    /// Puts an administrator's state in force (switch, rules, settings),
    /// with `effective` the settings [`LoadedPlugin::checked_settings`]
    /// found for it.
    pub(crate) fn install_state(&mut self, state: &crate::admin::PluginState, effective: Value) {
        self.held = None;
        self.rule_overrides = state.rules.clone();
        self.enabled = effective_rules(&self.description.rules, &self.rule_overrides);
        self.install_settings(effective);
        self.switched_on = state.enabled;
    }

    /// The effective settings (defaults overlaid by overrides).
    pub fn settings(&self) -> Value {
        serde_json::from_str(&self.settings_json).unwrap_or(Value::Null)
    }

    /// Switches a rule on or off.
    pub(crate) fn set_rule(&mut self, rule: &str, enabled: bool) -> Result<(), Error> {
        if !self.rule_ids.contains(rule) {
            return Err(self.no_such_rule(rule, String::new()));
        }
        self.rule_overrides.insert(rule.to_owned(), enabled);
        self.enabled = effective_rules(&self.description.rules, &self.rule_overrides);
        Ok(())
    }

    /// Replaces the settings overrides: `overrides` is overlaid on the
    /// defaults (top-level keys) and the result must fit the schema.
    pub(crate) fn set_settings(&mut self, overrides: &Map<String, Value>) -> Result<(), Error> {
        let effective = self.effective_settings(overrides)?;
        self.install_settings(effective);
        Ok(())
    }

    /// Puts checked settings in force.
    fn install_settings(&mut self, effective: Value) {
        self.settings_json = crate::case::canonical_json(&effective);
        self.declared = Declared::new(&self.description, effective);
    }

    /// The input of a call as its breaker tells inputs apart: the context
    /// it is given (as-of, rules, settings) and `payload` (the case, or a
    /// report's template and parameters).
    pub(crate) fn input_fingerprint(
        &self,
        ctx: &wit::Context,
        payload: &[&str],
    ) -> crate::runtime::gate::Fingerprint {
        let rules = ctx.enabled_rules.join("\n");
        let mut parts = vec![ctx.as_of.as_str(), &rules, ctx.settings.as_str()];
        parts.extend_from_slice(payload);
        self.breaker.fingerprint(&parts)
    }

    /// The context of one call.
    pub(crate) fn context(&self, as_of: &str) -> wit::Context {
        wit::Context {
            as_of: as_of.to_owned(),
            enabled_rules: self.enabled.iter().cloned().collect(),
            settings: self.settings_json.clone(),
        }
    }
}

pub(crate) fn effective_rules(
    rules: &[RuleDescription],
    overrides: &BTreeMap<String, bool>,
) -> BTreeSet<String> {
    rules
        .iter()
        .filter(|r| {
            overrides
                .get(&r.id)
                .copied()
                .unwrap_or(r.enabled_by_default)
        })
        .map(|r| r.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn first(case: &Value, declared: &[&str]) -> Option<String> {
        let declared: Vec<String> = declared.iter().map(|d| (*d).to_owned()).collect();
        let valid = crate::case::ValidCase::from_value(case.clone()).unwrap();
        first_case_1_1_field(&valid.projected(&declared), case, &declared)
    }

    fn case(edit: impl FnOnce(&mut Value)) -> Value {
        let mut case = json!({
            "schema_version": "1.1", "case_id": "U-1", "survivor_status": "survivor",
            "registered_on": "2026-05-04", "status": "open",
            "child": {"age_estimate_years": 12, "sex": "female", "county": "kwale"},
            "incidents": [{"occurred_at": "2026-06-28T09:00:00+03:00", "kind": "other"}]
        });
        edit(&mut case);
        case
    }

    #[test]
    fn a_case_1_0_reader_is_told_of_each_field_it_would_misread() {
        let plain = case(|_| {});
        assert_eq!(
            first(&plain, &["/child", "/incidents", "/survivor_status"]),
            None
        );
        // The day of an estimate, declared or not.
        let dated = case(|c| c["child"]["age_estimated_on"] = json!("2025-01-01"));
        for declared in [&["/child/age_estimate_years"][..], &["/child"]] {
            assert_eq!(
                first(&dated, declared).as_deref(),
                Some("/child/age_estimated_on"),
                "{declared:?}"
            );
        }
        // ... but not when the plugin reads no estimate.
        assert_eq!(first(&dated, &["/child/sex"]), None);
        let day_only =
            case(|c| c["incidents"][0] = json!({"occurred_on": "2026-06-28", "kind": "other"}));
        assert_eq!(
            first(&day_only, &["/incidents"]).as_deref(),
            Some("/incidents/0/occurred_on")
        );
        assert_eq!(first(&day_only, &["/child"]), None);
        let unassessed = case(|c| {
            c.as_object_mut().unwrap().remove("survivor_status");
        });
        assert_eq!(
            first(&unassessed, &["/survivor_status"]).as_deref(),
            Some("/survivor_status")
        );
        assert_eq!(first(&unassessed, &["/child"]), None);
        let identified = case(|c| c["identified_by"] = json!("school"));
        assert_eq!(
            first(&identified, &["/identified_by"]).as_deref(),
            Some("/identified_by")
        );
    }

    #[test]
    fn each_contract_reads_its_case_version() {
        assert_eq!(case_version_of("kinga:plugin@0.2.0"), "1");
        assert_eq!(case_version_of("kinga:plugin@0.2.1"), "1");
        assert_eq!(case_version_of(CONTRACT), "1.1");
    }
}
