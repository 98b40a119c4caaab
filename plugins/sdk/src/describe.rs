//! What a plugin says about itself.

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
/// default settings (from `Settings::default()`).
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
