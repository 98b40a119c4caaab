//! What a plugin says about itself.
//!
//! A plugin writes its description with [`PluginInfo::new`] and the builder
//! methods; the rules it declares as [`Rule`](crate::Rule)s are added by the
//! SDK (see [`crate::rule`]), so `info` names only the plugin itself, its
//! settings schema and any case fields read outside its rules.

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
}

impl RuleInfo {
    /// A rule that is on by default.
    pub fn new(id: &str, title: &str, description: &str) -> RuleInfo {
        RuleInfo {
            id: id.to_owned(),
            title: title.to_owned(),
            description: description.to_owned(),
            enabled_by_default: true,
        }
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
        }
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
    /// Title.
    pub title: String,
    /// What it counts.
    pub description: String,
    /// Its parameters.
    pub parameters: Vec<ParameterInfo>,
}
