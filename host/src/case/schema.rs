//! The JSON Schemas in `schemas/`, compiled once, and schema errors turned
//! into messages that name the field but never echo the input.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, Retrieve, Uri, ValidationError, Validator};
use serde_json::Value;

/// The base URI every bundled schema's `$id` starts with.
const BASE: &str = "https://kinga.invalid/schemas/";

/// The bundled schemas, by file name.
const BUNDLED: &[(&str, &str)] = &[
    (
        "case.schema.json",
        include_str!("../../../schemas/case.schema.json"),
    ),
    (
        "common.schema.json",
        include_str!("../../../schemas/common.schema.json"),
    ),
    (
        "decision.schema.json",
        include_str!("../../../schemas/decision.schema.json"),
    ),
    (
        "referral.schema.json",
        include_str!("../../../schemas/referral.schema.json"),
    ),
    (
        "report.schema.json",
        include_str!("../../../schemas/report.schema.json"),
    ),
    (
        "plugin-info.schema.json",
        include_str!("../../../schemas/plugin-info.schema.json"),
    ),
    (
        "plugin-manifest.schema.json",
        include_str!("../../../schemas/plugin-manifest.schema.json"),
    ),
    (
        "fixture.schema.json",
        include_str!("../../../schemas/fixture.schema.json"),
    ),
    (
        "mapping-profile.schema.json",
        include_str!("../../../schemas/mapping-profile.schema.json"),
    ),
];

/// The bundled schemas as `(file name, text)`, for documents that embed
/// them (the HTTP service's OpenAPI document).
#[cfg(feature = "serve")]
pub fn bundled_files() -> &'static [(&'static str, &'static str)] {
    BUNDLED
}

/// One problem found by a schema, located by JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// Where in the document.
    pub pointer: String,
    /// What is wrong, without the offending value.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(document)"
        } else {
            &self.pointer
        };
        write!(f, "{pointer}: {}", self.message)
    }
}

/// Writes the first of `violations` and how many more there are, or
/// `empty` when there is none: one line for any list of problems.
pub(crate) fn write_first(
    f: &mut std::fmt::Formatter<'_>,
    violations: &[Violation],
    empty: &str,
) -> std::fmt::Result {
    match violations.first() {
        Some(first) => write!(f, "{first}")?,
        None => f.write_str(empty)?,
    }
    if violations.len() > 1 {
        write!(f, " (and {} more)", violations.len() - 1)?;
    }
    Ok(())
}

/// Serves the bundled schemas to `$ref`s and refuses everything else: the
/// host never fetches a schema from the network.
struct BundledOnly;

impl Retrieve for BundledOnly {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.as_str().strip_prefix(BASE).unwrap_or_default();
        BUNDLED
            .iter()
            .find(|(file, _)| *file == name)
            .map(|(_, text)| serde_json::from_str(text).map_err(Into::into))
            .unwrap_or_else(|| Err(format!("schema {uri} is not bundled with the host").into()))
    }
}

fn bundled(name: &str) -> Value {
    let text = BUNDLED
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, t)| *t)
        .unwrap_or("{}");
    serde_json::from_str(text).expect("bundled schemas are valid JSON (checked by tests)")
}

fn compile_bundled(name: &str) -> Validator {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_retriever(BundledOnly)
        .build(&bundled(name))
        .expect("bundled schemas compile (checked by tests)")
}

macro_rules! bundled_validator {
    ($(#[$doc:meta])* $fn_name:ident, $file:literal) => {
        $(#[$doc])*
        pub fn $fn_name() -> &'static Validator {
            static VALIDATOR: OnceLock<Validator> = OnceLock::new();
            VALIDATOR.get_or_init(|| compile_bundled($file))
        }
    };
}

bundled_validator!(
    /// `schemas/case.schema.json`.
    case, "case.schema.json"
);
bundled_validator!(
    /// `schemas/decision.schema.json`.
    decision, "decision.schema.json"
);
bundled_validator!(
    /// `schemas/referral.schema.json`.
    referral, "referral.schema.json"
);
bundled_validator!(
    /// `schemas/report.schema.json`.
    report, "report.schema.json"
);
bundled_validator!(
    /// `schemas/plugin-info.schema.json`.
    plugin_info, "plugin-info.schema.json"
);
bundled_validator!(
    /// `schemas/plugin-manifest.schema.json`.
    plugin_manifest, "plugin-manifest.schema.json"
);
bundled_validator!(
    /// `schemas/fixture.schema.json`.
    #[cfg_attr(not(feature = "devkit"), allow(dead_code))]
    fixture, "fixture.schema.json"
);

bundled_validator!(
    /// `schemas/mapping-profile.schema.json`.
    mapping_profile, "mapping-profile.schema.json"
);

/// The case schema as a JSON value (to check pointers a plugin declares).
pub fn case_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| bundled("case.schema.json"))
}

/// Every property name that `documents` (JSON Schemas, or documents that
/// hold them) declare under `properties` or `required`.
pub fn declared_names<'a>(documents: impl IntoIterator<Item = &'a Value>) -> BTreeSet<String> {
    fn walk(value: &Value, names: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Object(properties)) = map.get("properties") {
                    names.extend(properties.keys().cloned());
                }
                if let Some(Value::Array(required)) = map.get("required") {
                    names.extend(required.iter().filter_map(Value::as_str).map(str::to_owned));
                }
                map.values().for_each(|v| walk(v, names));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, names)),
            _ => {}
        }
    }
    let mut names = BTreeSet::new();
    documents.into_iter().for_each(|d| walk(d, &mut names));
    names
}

/// The names the bundled schemas declare.
pub fn bundled_names() -> &'static BTreeSet<String> {
    static NAMES: OnceLock<BTreeSet<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        // A mapping profile's names (`note`, `source` ...) describe
        // profiles, not cases: they never make a case's key showable.
        let schemas: Vec<Value> = BUNDLED
            .iter()
            .filter(|(name, _)| *name != "mapping-profile.schema.json")
            .map(|(name, _)| bundled(name))
            .collect();
        declared_names(&schemas)
    })
}

/// `pointer` as it may be shown: each object key that no schema declares
/// (a key inside `extensions`, say, which may be a child's name) becomes
/// `*`; array indices (up to five digits) and declared names stay.
pub fn redact_pointer(pointer: &str, names: &BTreeSet<String>) -> String {
    if pointer.is_empty() {
        return String::new();
    }
    pointer
        .split('/')
        .skip(1)
        .map(|token| {
            let key = token.replace("~1", "/").replace("~0", "~");
            let index =
                !token.is_empty() && token.len() <= 5 && token.bytes().all(|b| b.is_ascii_digit());
            if index || names.contains(&key) {
                format!("/{token}")
            } else {
                "/*".to_owned()
            }
        })
        .collect()
}

/// A field name as an error may repeat it: only one shaped like the
/// schemas' own names (lowercase words joined by `_` or `-`), which is how
/// a misspelt field looks; anything else may be data, and is not repeated.
pub fn field_name(name: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if plain {
        quote(name)
    } else {
        "(a name not repeated here)".to_owned()
    }
}

/// Compiles a plugin's settings schema: draft 2020-12, formats checked, no
/// remote references.
///
/// # Errors
/// A message saying why the schema does not compile.
pub(crate) fn compile_settings_schema(schema: &Value) -> Result<Validator, String> {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .offline()
        .build(schema)
        .map_err(|e| describe(&e))
}

/// Checks `instance` against `validator`; at most `max` violations.
pub fn violations(validator: &Validator, instance: &Value, max: usize) -> Vec<Violation> {
    // The common case, a valid instance, answered by the fast path; errors
    // are collected (with their locations) only when there are some.
    if validator.is_valid(instance) {
        return Vec::new();
    }
    validator
        .iter_errors(instance)
        .take(max)
        .map(|e| Violation {
            pointer: e.instance_path().as_str().to_owned(),
            message: describe(&e),
        })
        .collect()
}

/// A message for one schema error that names what was expected and never
/// repeats the instance's value.
pub fn describe(error: &ValidationError<'_>) -> String {
    use ValidationErrorKind as K;
    match error.kind() {
        K::AdditionalProperties { unexpected } => {
            let names: Vec<String> = unexpected.iter().map(|n| field_name(n)).collect();
            format!("unknown field(s) {} (not in the schema)", names.join(", "))
        }
        K::UnevaluatedProperties { unexpected } => {
            let names: Vec<String> = unexpected.iter().map(|n| field_name(n)).collect();
            format!("unknown field(s) {}", names.join(", "))
        }
        K::Required { property } => format!("required field {} is missing", property),
        K::Type { kind } => format!("must be {}", type_name(kind)),
        K::Enum { options } => format!("must be one of {}", options),
        K::Constant { expected_value } => format!("must be {}", expected_value),
        K::Format { format } => format!("is not a valid {format}"),
        K::Pattern { pattern } => format!("does not match the pattern {pattern}"),
        K::MinLength { limit } => format!("must be at least {limit} characters long"),
        K::MaxLength { limit } => format!("must be at most {limit} characters long"),
        K::MinItems { limit } => format!("must have at least {limit} items"),
        K::MaxItems { limit } => format!("must have at most {limit} items"),
        K::Minimum { limit } => format!("must be at least {limit}"),
        K::Maximum { limit } => format!("must be at most {limit}"),
        K::ExclusiveMinimum { limit } => format!("must be more than {limit}"),
        K::ExclusiveMaximum { limit } => format!("must be less than {limit}"),
        K::UniqueItems => "must not contain the same item twice".to_owned(),
        K::MinProperties { limit } => format!("must have at least {limit} fields"),
        K::MaxProperties { limit } => format!("must have at most {limit} fields"),
        K::FalseSchema => "is not allowed here".to_owned(),
        K::OneOfNotValid { .. } | K::AnyOf { .. } => {
            "matches none of the allowed shapes".to_owned()
        }
        K::OneOfMultipleValid { .. } => "matches more than one of the allowed shapes".to_owned(),
        K::Not { .. } => "matches a shape that is not allowed".to_owned(),
        K::Referencing(_) => "refers to a schema that cannot be resolved".to_owned(),
        _ => "does not satisfy the schema".to_owned(),
    }
}

fn type_name(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(t) => format!("of type {t}"),
        TypeKind::Multiple(set) => {
            let names: Vec<String> = set.iter().map(|t| t.to_string()).collect();
            format!("of type {}", names.join(" or "))
        }
    }
}

/// Quotes a field name for a message, escaping anything that is not plain
/// printable text.
pub fn quote(name: &str) -> String {
    format!("{:?}", name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_show_declared_names_and_indices_never_other_keys() {
        let names = bundled_names();
        assert_eq!(
            redact_pointer("/incidents/3/occurred_at", names),
            "/incidents/3/occurred_at"
        );
        assert_eq!(
            redact_pointer("/extensions/Amina Wanjiru/0712345678", names),
            "/extensions/*/*"
        );
        assert_eq!(field_name("date_of_brith"), "\"date_of_brith\"");
        assert_eq!(field_name("Amina Wanjiru"), "(a name not repeated here)");
    }

    #[test]
    fn every_bundled_schema_compiles() {
        for (name, _) in BUNDLED {
            compile_bundled(name);
        }
    }

    #[test]
    fn messages_never_echo_values() {
        let instance = serde_json::json!({"case_id": "SECRET-VALUE", "status": "SECRET-STATUS"});
        for v in violations(case(), &instance, 100) {
            assert!(!v.message.contains("SECRET"), "{v}");
        }
    }
}
