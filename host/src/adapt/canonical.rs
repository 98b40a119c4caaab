//! What each canonical field accepts, read from `schemas/case.schema.json`
//! itself: a profile is checked against the same schema the cases are, so
//! a new enumeration value or field never needs a second list here.

use serde_json::Value;

/// The shape of one canonical field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// One of these strings.
    Enum(Vec<String>),
    /// An array of distinct values, each one of these strings.
    EnumList(Vec<String>),
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A date-time with an offset.
    DateTime,
    /// A lowercase place slug.
    Slug,
    /// A Kinga service id (`group.service`).
    ServiceId,
    /// Other text (a pattern the case check enforces).
    Text,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// An object of further fields.
    Object,
    /// An array of row objects (`/incidents`, `/services`, `/referrals`).
    Rows,
}

/// One canonical field as the schema describes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    /// What values it takes.
    pub kind: Kind,
    /// Whether its parent object requires it.
    pub required: bool,
}

fn schema() -> &'static Value {
    crate::case::schema::case_schema()
}

/// The field at `pointer` within the case, or within one row of the
/// collection `rows_of` (`/incidents`...), if the schema has it.
pub(crate) fn field(pointer: &str, rows_of: Option<&str>) -> Option<Field> {
    let mut node = schema();
    if let Some(collection) = rows_of {
        node = follow(node, collection)?.get("items")?;
    }
    if pointer.is_empty() {
        return Some(Field {
            kind: Kind::Object,
            required: true,
        });
    }
    let parent = pointer.rsplit_once('/').map_or("", |(p, _)| p);
    let name = pointer.rsplit('/').next()?;
    let parent_node = if parent.is_empty() {
        node
    } else {
        follow(node, parent)?
    };
    let required = parent_node
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|v| v == name));
    let target = parent_node.get("properties")?.get(name)?;
    Some(Field {
        kind: classify(target)?,
        required,
    })
}

/// Every field the object at `pointer` (of `rows_of`) requires.
pub(crate) fn required_members(pointer: &str, rows_of: Option<&str>) -> Vec<String> {
    let mut node = schema();
    if let Some(collection) = rows_of {
        match follow(node, collection).and_then(|n| n.get("items")) {
            Some(items) => node = items,
            None => return Vec::new(),
        }
    }
    let node = if pointer.is_empty() {
        Some(node)
    } else {
        follow(node, pointer)
    };
    node.and_then(|n| n.get("required"))
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(|name| format!("{pointer}/{name}"))
                .collect()
        })
        .unwrap_or_default()
}

/// The place of a canonical field in the schema's order: depth first,
/// the fields of a collection's rows under the collection's pointer
/// (`/incidents/kind`). Fields the schema does not name come last.
pub(crate) fn rank(pointer: &str) -> u32 {
    static RANKS: std::sync::OnceLock<std::collections::HashMap<String, u32>> =
        std::sync::OnceLock::new();
    RANKS
        .get_or_init(|| {
            let mut ranks = std::collections::HashMap::new();
            number_fields(schema(), "", &mut ranks);
            ranks
        })
        .get(pointer)
        .copied()
        .unwrap_or(u32::MAX)
}

fn number_fields(node: &Value, prefix: &str, ranks: &mut std::collections::HashMap<String, u32>) {
    let Some(properties) = node.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, property) in properties {
        let pointer = format!("{prefix}/{name}");
        let next = u32::try_from(ranks.len()).unwrap_or(u32::MAX);
        ranks.insert(pointer.clone(), next);
        number_fields(property, &pointer, ranks);
        if let Some(items) = property.get("items") {
            number_fields(items, &pointer, ranks);
        }
    }
}

fn follow<'a>(mut node: &'a Value, pointer: &str) -> Option<&'a Value> {
    for token in pointer.split('/').skip(1) {
        node = node.get("properties")?.get(token)?;
    }
    Some(node)
}

fn classify(node: &Value) -> Option<Kind> {
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        return Some(match reference.rsplit('/').next()? {
            "date" => Kind::Date,
            "datetime" => Kind::DateTime,
            "slug" => Kind::Slug,
            "service_id" => Kind::ServiceId,
            _ => Kind::Text,
        });
    }
    if let Some(values) = node.get("enum") {
        return Some(Kind::Enum(strings(values)));
    }
    Some(match node.get("type")?.as_str()? {
        "string" => Kind::Text,
        "integer" => Kind::Integer,
        "number" => Kind::Number,
        "boolean" => Kind::Boolean,
        "object" => Kind::Object,
        "array" => match node.get("items")?.get("enum") {
            Some(values) => Kind::EnumList(strings(values)),
            None => Kind::Rows,
        },
        _ => return None,
    })
}

fn strings(values: &Value) -> Vec<String> {
    values
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

impl Kind {
    /// Whether `value` is one this field takes (an element, for a list);
    /// the error says what was expected, never the value.
    pub fn accepts(&self, value: &Value) -> Result<(), String> {
        let ok = match (self, value) {
            (Kind::Enum(values) | Kind::EnumList(values), Value::String(s)) => {
                values.iter().any(|v| v == s)
            }
            (Kind::Slug, Value::String(s)) => is_slug(s),
            (Kind::ServiceId, Value::String(s)) => is_service_id(s),
            (Kind::Date, Value::String(s)) => super::values::parse_date(s).is_some(),
            (Kind::Text | Kind::DateTime, Value::String(_)) => true,
            (Kind::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (Kind::Number, Value::Number(_)) => true,
            (Kind::Boolean, Value::Bool(_)) => true,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!("is not {}", self.expected()))
        }
    }

    /// What this field expects, in words.
    pub fn expected(&self) -> String {
        match self {
            Kind::Enum(values) | Kind::EnumList(values) => format!("one of {}", values.join(", ")),
            Kind::Date => "a date (YYYY-MM-DD)".into(),
            Kind::DateTime => "a date-time".into(),
            Kind::Slug => "a lowercase slug (a-z, 0-9, _)".into(),
            Kind::ServiceId => "a service id (group.service)".into(),
            Kind::Text => "text".into(),
            Kind::Integer => "a whole number".into(),
            Kind::Number => "a number".into(),
            Kind::Boolean => "true or false".into(),
            Kind::Object => "an object of case fields".into(),
            Kind::Rows => "rows".into(),
        }
    }
}

fn is_slug(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_service_id(s: &str) -> bool {
    let part = |p: &str| {
        let mut chars = p.chars();
        chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    s.len() <= 96 && s.split_once('.').is_some_and(|(a, b)| part(a) && part(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_read_from_the_case_schema() {
        let sex = field("/child/sex", None).unwrap();
        assert!(sex.required);
        assert!(matches!(&sex.kind, Kind::Enum(v) if v.contains(&"unknown".to_owned())));
        assert_eq!(field("/child/ward", None).unwrap().kind, Kind::Slug);
        assert!(!field("/child/ward", None).unwrap().required);
        assert_eq!(field("/registered_on", None).unwrap().kind, Kind::Date);
        assert!(matches!(
            field("/protection_concerns", None).unwrap().kind,
            Kind::EnumList(_)
        ));
        assert_eq!(field("/incidents", None).unwrap().kind, Kind::Rows);
        assert_eq!(
            field("/occurred_at", Some("/incidents")).unwrap().kind,
            Kind::DateTime
        );
        assert_eq!(
            field("/service", Some("/referrals")).unwrap().kind,
            Kind::ServiceId
        );
        assert_eq!(
            field("/household/monthly_income_kes", None).unwrap().kind,
            Kind::Integer
        );
        assert!(field("/child/name", None).is_none());
        assert!(field("/nowhere", Some("/incidents")).is_none());
        assert_eq!(
            required_members("", None),
            vec!["/case_id", "/registered_on", "/status", "/child"]
        );
        assert_eq!(
            required_members("/child", None),
            vec!["/child/sex", "/child/county"]
        );
    }

    #[test]
    fn values_are_checked_against_the_field() {
        let sex = field("/child/sex", None).unwrap().kind;
        assert!(sex.accepts(&json!("female")).is_ok());
        assert!(sex.accepts(&json!("F")).is_err());
        assert!(Kind::Slug.accepts(&json!("malindi_town")).is_ok());
        assert!(Kind::Slug.accepts(&json!("Malindi Town")).is_err());
        assert!(Kind::ServiceId.accepts(&json!("care.psychosocial")).is_ok());
        assert!(Kind::ServiceId.accepts(&json!("psychosocial")).is_err());
        assert!(Kind::Date.accepts(&json!("2026-02-30")).is_err());
    }
}
