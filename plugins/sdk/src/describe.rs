//! What a plugin says about itself.
//!
//! A plugin writes its description with [`PluginInfo::new`] and the builder
//! methods; the rules it declares as [`Rule`](crate::Rule)s are added by the
//! SDK (see [`crate::rule`]), so `info` names only the plugin itself, its
//! settings schema, its errors and any case fields read outside its rules.
//!
//! Everything a plugin can say is declared here, with its words: each
//! rule's reason codes and messages, each error's code, class and message,
//! each report table's dimensions and labels. Answers carry codes and
//! counts; the host renders the words from the declaration, so nothing a
//! plugin writes while it reads a case reaches a caller. A message may
//! quote the plugin's settings as `{/pointer}` (for example `aged
//! {/min_age}-{/max_age}`); a report title or narrative may quote the
//! report's parameters as `{name}`.

use crate::ErrorKind;

/// A reason a rule declares: its code and its message.
pub type ReasonText = (&'static str, &'static str);

/// An error a plugin declares: its class, code and message.
pub type ErrorText = (ErrorKind, &'static str, &'static str);

/// The errors the SDK itself can report, declared for every plugin: a case
/// or settings the plugin cannot read, a birth after the as-of (from
/// [`age::age_at`](crate::age::age_at)), a report used after it finished.
pub const SDK_ERRORS: &[ErrorText] = &[
    (
        ErrorKind::InvalidCase,
        "case-not-canonical",
        "the case does not fit the canonical case this plugin was built for",
    ),
    (
        ErrorKind::InvalidCase,
        "born-after-as-of",
        "the date of birth is after the as-of date",
    ),
    (
        ErrorKind::InvalidCase,
        "estimated-after-as-of",
        "the day an age estimate was made is after the as-of date",
    ),
    (
        ErrorKind::InvalidSettings,
        "bad-as-of",
        "the as-of is not an RFC 3339 date-time",
    ),
    (
        ErrorKind::InvalidSettings,
        "bad-settings",
        "the settings do not fit this plugin",
    ),
    (
        ErrorKind::Internal,
        "report-finished",
        "the report is already finished",
    ),
];

/// A reason a rule declares, as `describe` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonInfo {
    /// Stable kebab-case code.
    pub code: String,
    /// The message the host shows for it.
    pub message: String,
}

/// An error a plugin declares, as `describe` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    /// Its class.
    pub kind: ErrorKind,
    /// Stable kebab-case code.
    pub code: String,
    /// The message the host shows for it.
    pub message: String,
}

/// One rule, as an administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable kebab-case id.
    pub id: String,
    /// Short title.
    pub title: String,
    /// What it decides, in plain language.
    pub description: String,
    /// Whether it is on unless an administrator switches it off.
    pub enabled_by_default: bool,
    /// Every reason it can give.
    pub reasons: Vec<ReasonInfo>,
    /// For a referral rule, the services it can refer to.
    pub services: Vec<String>,
    /// For a ranking eligibility rule, its lowest and highest priority.
    pub priorities: Option<(i32, i32)>,
}

impl RuleInfo {
    /// A rule that is on by default and gives the reasons `reasons`.
    pub fn new(id: &str, title: &str, description: &str, reasons: &[ReasonText]) -> RuleInfo {
        RuleInfo {
            id: id.to_owned(),
            title: title.to_owned(),
            description: description.to_owned(),
            enabled_by_default: true,
            reasons: reasons
                .iter()
                .map(|(code, message)| ReasonInfo {
                    code: (*code).to_owned(),
                    message: (*message).to_owned(),
                })
                .collect(),
            services: Vec::new(),
            priorities: None,
        }
    }

    /// Whether the rule declared the reason `code`.
    pub fn gives(&self, code: &str) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }

    /// The same rule, off by default.
    pub fn off_by_default(mut self) -> RuleInfo {
        self.enabled_by_default = false;
        self
    }
}

/// The description of a plugin. The export macros add its kind and its
/// default settings (from `Settings::default()`), and, for an eligibility or
/// referral plugin, the rules it declares in its `RULES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Stable kebab-case id.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// The plugin's SemVer version.
    pub version: String,
    /// Why it processes children's data.
    pub purpose: String,
    /// Its rules.
    pub rules: Vec<RuleInfo>,
    /// The JSON Schema of its settings, as JSON text.
    pub settings_schema: String,
    /// JSON pointers of the case fields it reads.
    pub case_fields: Vec<String>,
    /// The errors it can report (the export macros add [`SDK_ERRORS`]).
    pub errors: Vec<ErrorInfo>,
}

/// The settings schema of a plugin without settings: an object with no
/// members.
pub const NO_SETTINGS: &str = r#"{"type":"object","additionalProperties":false}"#;

impl PluginInfo {
    /// A plugin with no rules, no case fields and no settings
    /// ([`NO_SETTINGS`]) yet.
    pub fn new(id: &str, name: &str, version: &str, purpose: &str) -> PluginInfo {
        PluginInfo {
            id: id.to_owned(),
            name: name.to_owned(),
            version: version.to_owned(),
            purpose: purpose.to_owned(),
            rules: Vec::new(),
            settings_schema: NO_SETTINGS.to_owned(),
            case_fields: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// The same plugin, also able to report `errors` (an error with a code
    /// already declared is not added again).
    pub fn errors(mut self, errors: &[ErrorText]) -> PluginInfo {
        for (kind, code, message) in errors {
            if !self.errors.iter().any(|e| e.code == *code) {
                self.errors.push(ErrorInfo {
                    kind: *kind,
                    code: (*code).to_owned(),
                    message: (*message).to_owned(),
                });
            }
        }
        self
    }

    /// Whether the plugin declared the error `code`.
    pub fn declares_error(&self, code: &str) -> bool {
        self.errors.iter().any(|e| e.code == code)
    }

    /// Whether `rule` declared the reason `code`: what a plugin's unit
    /// tests check of every reason its rules give, as the host will.
    pub fn declares_reason(&self, rule: &str, code: &str) -> bool {
        self.rules.iter().any(|r| r.id == rule && r.gives(code))
    }

    /// The same plugin with `schema` (JSON Schema, as JSON text) as its
    /// settings schema.
    pub fn settings_schema(mut self, schema: &str) -> PluginInfo {
        schema.clone_into(&mut self.settings_schema);
        self
    }

    /// The same plugin, also reading the case fields at `fields` outside
    /// its rules (in a whole-case pass, or in a report). The list stays
    /// sorted, each pointer once.
    pub fn reads(mut self, fields: &[&str]) -> PluginInfo {
        crate::rule::add_fields(&mut self.case_fields, fields.iter().copied());
        self
    }
}

/// A parameter of a report template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterInfo {
    /// snake_case name.
    pub name: String,
    /// Meaning and format.
    pub description: String,
    /// Whether the template needs it.
    pub required: bool,
}

/// A report template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateInfo {
    /// Stable kebab-case id.
    pub id: String,
    /// Title; it may quote parameters as `{name}`.
    pub title: String,
    /// What it counts.
    pub description: String,
    /// Its parameters.
    pub parameters: Vec<ParameterInfo>,
    /// Its tables, in display order.
    pub tables: Vec<crate::report::TableSpec>,
    /// Text printed with the tables; it may quote parameters as `{name}`.
    pub narrative: Option<String>,
}
