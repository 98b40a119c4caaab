//! What a plugin declared it can say, checked when it loads and compiled for
//! its effective settings.
//!
//! Contract 0.2 closes every free-text channel from a plugin to a caller:
//! a plugin declares in `describe` each rule's reason codes with their
//! messages, the services a referral rule can name and the range of a
//! ranking rule's priorities, and every error code with its class and
//! message; a reporting plugin declares each template's tables, dimensions
//! and labels. Its answers then carry codes, and the host renders the words
//! from the declaration. [`check`] refuses an inconsistent declaration at
//! load; [`Declared`] holds the rendered messages and the providers the
//! settings hold, rebuilt whenever the settings change, and turns a
//! plugin's error into the caller's error.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::{Error, PluginErrorKind};
use crate::runtime::bindings::types as wit;
use crate::runtime::plugin::{PluginDescription, PluginKind, PriorityRange, TemplateDescription};
use crate::runtime::wording::{self, Slot};

/// One rule's declarations, with its messages rendered.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeclaredRule {
    /// Rendered messages by code.
    pub reasons: BTreeMap<String, String>,
    /// The services it may name.
    pub services: BTreeSet<String>,
    /// The range of its priorities, if it ranks.
    pub priorities: Option<PriorityRange>,
}

/// Declared errors by code: class and rendered message.
type DeclaredErrors = BTreeMap<String, (PluginErrorKind, String)>;

/// A plugin's declarations, compiled for its effective settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct Declared {
    /// The rules by id.
    pub rules: BTreeMap<String, DeclaredRule>,
    /// The errors by code: class and rendered message.
    errors: DeclaredErrors,
    /// Every `(id, name, contact)` an object of the settings holds: the
    /// providers a referral may name.
    providers: BTreeSet<(String, String, String)>,
    /// The effective settings.
    settings: Value,
}

impl Declared {
    /// Compiles `description`'s declarations for `settings`.
    pub fn new(description: &PluginDescription, settings: Value) -> Declared {
        let (rules, errors) = Self::rendered(description, &settings);
        let mut providers = BTreeSet::new();
        collect_providers(&settings, &mut providers);
        Declared {
            rules,
            errors,
            providers,
            settings,
        }
    }

    /// The rules and errors of `description`, their messages rendered for
    /// `settings`.
    fn rendered(
        description: &PluginDescription,
        settings: &Value,
    ) -> (BTreeMap<String, DeclaredRule>, DeclaredErrors) {
        let fill = wording::from_settings(settings);
        let rules = description
            .rules
            .iter()
            .map(|rule| {
                let declared = DeclaredRule {
                    reasons: rule
                        .reasons
                        .iter()
                        .map(|r| (r.code.clone(), wording::render(&r.message, &fill)))
                        .collect(),
                    services: rule.services.iter().cloned().collect(),
                    priorities: rule.priorities,
                };
                (rule.id.clone(), declared)
            })
            .collect();
        let errors = description
            .errors
            .iter()
            .map(|e| (e.code.clone(), (e.kind, wording::render(&e.message, &fill))))
            .collect();
        (rules, errors)
    }

    /// The rendered message of `code` from `rule`, if the rule declared it.
    pub fn reason(&self, rule: &str, code: &str) -> Option<&str> {
        self.rules.get(rule)?.reasons.get(code).map(String::as_str)
    }

    /// The class and rendered message of error `code`, if declared.
    pub fn error(&self, code: &str) -> Option<(PluginErrorKind, &str)> {
        self.errors.get(code).map(|(kind, m)| (*kind, m.as_str()))
    }

    /// Whether an object of the settings is this provider.
    pub fn has_provider(&self, id: &str, name: &str, contact: &str) -> bool {
        self.providers
            .contains(&(id.to_owned(), name.to_owned(), contact.to_owned()))
    }

    /// The caller's error for a plugin's refusal: the declared class and
    /// message of its code, and its pointer once checked against `case`
    /// (the case it was given, if the call had one) or the settings.
    ///
    /// An undeclared code, or a pointer to nothing the plugin was given, is
    /// the plugin's failure ([`Error::InvalidOutput`]), which names neither.
    pub fn refusal(&self, plugin: &str, e: wit::PluginError, case: Option<&Value>) -> Error {
        let invalid = |pointer: &str, message: &str| Error::InvalidOutput {
            plugin: plugin.to_owned(),
            pointer: pointer.to_owned(),
            message: message.to_owned(),
        };
        let Some((kind, message)) = self.errors.get(&e.code) else {
            return invalid("/code", "is an error code the plugin did not declare");
        };
        if let Some(pointer) = &e.pointer {
            let within = match kind {
                PluginErrorKind::InvalidCase => case.and_then(|c| c.pointer(pointer)).is_some(),
                PluginErrorKind::InvalidSettings => self.settings.pointer(pointer).is_some(),
                PluginErrorKind::InvalidParameters | PluginErrorKind::Internal => false,
            };
            if !within {
                return invalid(
                    "/pointer",
                    "names no field of what the plugin was given for this error's class",
                );
            }
        }
        Error::PluginRefused {
            plugin: plugin.to_owned(),
            kind: *kind,
            code: e.code,
            message: message.clone(),
            pointer: e.pointer,
        }
    }
}

fn collect_providers(value: &Value, out: &mut BTreeSet<(String, String, String)>) {
    match value {
        Value::Object(map) => {
            if let (
                Some(Value::String(id)),
                Some(Value::String(name)),
                Some(Value::String(contact)),
            ) = (map.get("id"), map.get("name"), map.get("contact"))
            {
                out.insert((id.clone(), name.clone(), contact.clone()));
            }
            map.values().for_each(|v| collect_providers(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_providers(v, out)),
        _ => {}
    }
}

/// Checks what the schema cannot: codes unique where they must be, message
/// templates that parse and quote only settings the defaults hold, services
/// only on referral rules and priorities only on eligibility rules, report
/// templates whose tables, dimensions and labels are each declared once and
/// whose titles quote only their own parameters.
///
/// Returns every inconsistency, each in words naming where it is (none: the
/// declaration is consistent), so that a developer sees them all at once.
pub(crate) fn check(description: &PluginDescription) -> Vec<String> {
    let mut problems = Vec::new();
    let defaults = &description.default_settings;
    for rule in &description.rules {
        let at = format!("rule {}", rule.id);
        unique(
            rule.reasons.iter().map(|r| r.code.as_str()),
            &at,
            "reason code",
            &mut problems,
        );
        for reason in &rule.reasons {
            if let Err(e) = wording::check(&reason.message, wording::settings_only(defaults)) {
                problems.push(format!("the message of {at}'s reason {} {e}", reason.code));
            }
        }
        if !rule.services.is_empty() && description.kind != PluginKind::Referral {
            problems.push(format!(
                "{at} declares services, which only referral rules name"
            ));
        }
        unique(
            rule.services.iter().map(String::as_str),
            &at,
            "service",
            &mut problems,
        );
        if let Some(range) = rule.priorities {
            if description.kind != PluginKind::Eligibility {
                problems.push(format!(
                    "{at} declares priorities, which only eligibility rules give"
                ));
            }
            if range.lowest > range.highest {
                problems.push(format!("{at}'s lowest priority is above its highest"));
            }
        }
    }
    unique(
        description.errors.iter().map(|e| e.code.as_str()),
        "the plugin",
        "error code",
        &mut problems,
    );
    for error in &description.errors {
        if let Err(e) = wording::check(&error.message, wording::settings_only(defaults)) {
            problems.push(format!("the message of error {} {e}", error.code));
        }
    }
    for template in &description.templates {
        check_template(template, &mut problems);
    }
    problems
}

fn check_template(template: &TemplateDescription, problems: &mut Vec<String>) {
    let at = format!("template {}", template.id);
    let parameters: BTreeSet<&str> = template
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    if parameters.len() != template.parameters.len() {
        problems.push(format!("{at} declares a parameter twice"));
    }
    let own_parameters = |slot: Slot<'_>| match slot {
        Slot::Parameter(name) if parameters.contains(name) => Ok(()),
        Slot::Parameter(name) => Err(format!(
            "quotes {{{name}}}, which is not one of its parameters"
        )),
        Slot::Setting(_) => {
            Err("quotes a setting; a template's words quote its parameters only".into())
        }
    };
    if let Err(e) = wording::check(&template.title, own_parameters) {
        problems.push(format!("the title of {at} {e}"));
    }
    if let Some(narrative) = &template.narrative
        && let Err(e) = wording::check(narrative, own_parameters)
    {
        problems.push(format!("the narrative of {at} {e}"));
    }
    unique(
        template.tables.iter().map(|t| t.id.as_str()),
        &at,
        "table",
        problems,
    );
    for table in &template.tables {
        let at = format!("{at}'s table {}", table.id);
        unique(
            table.dimensions.iter().map(|d| d.name.as_str()),
            &at,
            "dimension",
            problems,
        );
        for dimension in &table.dimensions {
            let at = format!("{at}'s dimension {}", dimension.name);
            unique(
                dimension.labels.iter().map(String::as_str),
                &at,
                "label",
                problems,
            );
        }
    }
}

/// Names each of `items` that appears more than once (once each).
fn unique<'a>(
    items: impl Iterator<Item = &'a str>,
    at: &str,
    what: &str,
    problems: &mut Vec<String>,
) {
    let mut seen = BTreeSet::new();
    let mut repeated = BTreeSet::new();
    for item in items {
        if !seen.insert(item) && repeated.insert(item) {
            problems.push(format!(
                "{at} declares the {what} {} twice",
                crate::text::sanitize_log_line(item, 64)
            ));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;
    use crate::runtime::plugin::{ErrorDescription, ReasonDescription, RuleDescription};

    /// An eligibility plugin with one ranking rule, one declared error and
    /// a provider in its defaults.
    pub(crate) fn description(kind: PluginKind) -> PluginDescription {
        PluginDescription {
            id: "fixture".into(),
            name: "Fixture".into(),
            version: "1.0.0".into(),
            kind,
            purpose: "Tests declarations.".into(),
            contract: crate::runtime::plugin::CONTRACT.to_owned(),
            content_sha256: "0".repeat(64),
            rules: vec![RuleDescription {
                id: "main".into(),
                title: "Main".into(),
                description: String::new(),
                enabled_by_default: true,
                reasons: vec![ReasonDescription {
                    code: "over-age".into(),
                    message: "older than {/max_age}".into(),
                }],
                services: if kind == PluginKind::Referral {
                    vec!["care.psychosocial".into()]
                } else {
                    vec![]
                },
                priorities: (kind == PluginKind::Eligibility).then_some(PriorityRange {
                    lowest: 1,
                    highest: 8,
                }),
            }],
            settings_schema: json!({"type": "object"}),
            default_settings: json!({
                "max_age": 17,
                "providers": [{"id": "p1", "name": "Desk", "contact": "+254 700 000000"}]
            }),
            case_fields: vec!["/child/date_of_birth".into()],
            errors: vec![ErrorDescription {
                code: "no-age".into(),
                kind: PluginErrorKind::InvalidCase,
                message: "no age is recorded".into(),
            }],
            settings_refusals: vec![],
            templates: vec![],
        }
    }

    #[test]
    fn messages_are_rendered_for_the_settings_in_force() {
        let d = description(PluginKind::Eligibility);
        let declared = Declared::new(&d, json!({"max_age": 15}));
        assert_eq!(declared.reason("main", "over-age"), Some("older than 15"));
        assert_eq!(declared.reason("main", "under-age"), None);
        assert_eq!(declared.reason("other", "over-age"), None);
    }

    #[test]
    fn providers_are_the_objects_the_settings_hold() {
        let d = description(PluginKind::Referral);
        let declared = Declared::new(&d, d.default_settings.clone());
        assert!(declared.has_provider("p1", "Desk", "+254 700 000000"));
        assert!(!declared.has_provider("p1", "Desk", "+254 700 000001"));
    }

    #[test]
    fn a_refusal_takes_its_class_and_message_from_the_declaration() {
        let d = description(PluginKind::Eligibility);
        let declared = Declared::new(&d, d.default_settings.clone());
        let case = json!({"case_id": "T-1", "child": {"date_of_birth": "2014-01-01"}});
        let refusal = |code: &str, pointer: Option<&str>| {
            declared.refusal(
                "fixture",
                wit::PluginError {
                    code: code.into(),
                    pointer: pointer.map(Into::into),
                },
                Some(&case),
            )
        };
        match refusal("no-age", Some("/child/date_of_birth")) {
            Error::PluginRefused {
                kind,
                message,
                pointer,
                ..
            } => {
                assert_eq!(kind, PluginErrorKind::InvalidCase);
                assert_eq!(message, "no age is recorded");
                assert_eq!(pointer.as_deref(), Some("/child/date_of_birth"));
            }
            other => panic!("{other:?}"),
        }
        for (code, pointer, at) in [
            ("t-1", None, "/code"),
            ("no-age", Some("/child/sex"), "/pointer"),
            ("no-age", Some("/t-1"), "/pointer"),
        ] {
            match refusal(code, pointer) {
                Error::InvalidOutput {
                    pointer, message, ..
                } => {
                    assert_eq!(pointer, at);
                    assert!(!message.contains("t-1"), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    /// The first inconsistency `check` finds.
    fn first(description: &PluginDescription) -> String {
        check(description).into_iter().next().unwrap_or_default()
    }

    #[test]
    fn every_inconsistency_is_named_at_once() {
        let mut both = description(PluginKind::Eligibility);
        let again = both.rules[0].reasons[0].clone();
        both.rules[0].reasons.push(again);
        both.rules[0].services = vec!["care.psychosocial".into()];
        let again = both.errors[0].clone();
        both.errors.push(again.clone());
        both.errors.push(again);
        let problems = check(&both);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("reason code over-age twice"));
        assert!(problems[1].contains("only referral rules"));
        assert!(problems[2].contains("error code no-age twice"));
    }

    #[test]
    fn an_inconsistent_declaration_is_refused_at_load_naming_where() {
        let ok = description(PluginKind::Eligibility);
        assert_eq!(check(&ok), Vec::<String>::new());
        let mut twice = ok.clone();
        let again = twice.rules[0].reasons[0].clone();
        twice.rules[0].reasons.push(again);
        assert!(first(&twice).contains("reason code over-age twice"));
        let mut unknown_setting = ok.clone();
        unknown_setting.rules[0].reasons[0].message = "older than {/min_age}".into();
        assert!(first(&unknown_setting).contains("reason over-age"));
        let mut services = ok.clone();
        services.rules[0].services = vec!["care.psychosocial".into()];
        assert!(first(&services).contains("only referral rules"));
        let mut upside_down = ok.clone();
        upside_down.rules[0].priorities = Some(PriorityRange {
            lowest: 9,
            highest: 1,
        });
        assert!(first(&upside_down).contains("lowest priority"));
        let mut ranks = description(PluginKind::Referral);
        ranks.rules[0].priorities = Some(PriorityRange {
            lowest: 1,
            highest: 2,
        });
        assert!(first(&ranks).contains("only eligibility rules"));
        let mut errors = ok.clone();
        let again = errors.errors[0].clone();
        errors.errors.push(again);
        assert!(first(&errors).contains("error code no-age twice"));
    }
}
