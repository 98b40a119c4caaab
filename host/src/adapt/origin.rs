//! Where one mapped value came from: kept typed while a record is mapped,
//! and written as JSON only where it stays, in the case's provenance
//! (`extensions.kinga_mapping.fields`). A row's fields are folded into the
//! row's one entry, so theirs are never written at all.

use serde_json::{Map, Value};

use super::values::Precision;

/// The platform pointers a value was read from.
#[derive(Debug, Clone, Default)]
pub(crate) enum Pointers {
    /// None (a declared default).
    #[default]
    None,
    /// One field.
    One(String),
    /// Several (a list, or a derivation over several fields).
    Many(Vec<String>),
}

impl Pointers {
    fn into_json(self) -> Option<Value> {
        match self {
            Pointers::None => None,
            Pointers::One(pointer) => Some(Value::String(pointer)),
            Pointers::Many(pointers) => Some(Value::Array(
                pointers.into_iter().map(Value::String).collect(),
            )),
        }
    }
}

/// Where one value came from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin<'p> {
    /// The derivation that gave it.
    pub derivation: Option<&'p str>,
    /// Whether it is the profile's declared default.
    pub default: bool,
    /// For a default: where the platform had nothing.
    pub absent: Option<String>,
    /// The platform pointers it was read from.
    pub from: Pointers,
    /// The lookup that translated it.
    pub lookup: Option<&'p str>,
    /// A place's code: `Some(None)` (written `null`) when the field held
    /// no code but a list or an object.
    pub code: Option<Option<String>>,
    /// A time's precision.
    pub precision: Option<Precision>,
}

impl<'p> Origin<'p> {
    /// Read from `from`.
    pub fn read_from(from: Pointers) -> Self {
        Origin {
            from,
            ..Origin::default()
        }
    }

    /// The first pointer it was read from.
    pub fn first_pointer(&self) -> Option<&str> {
        match &self.from {
            Pointers::None => None,
            Pointers::One(pointer) => Some(pointer),
            Pointers::Many(pointers) => pointers.first().map(String::as_str),
        }
    }

    /// `from` as JSON text (for a problem's message), empty without one.
    pub fn sources_text(&self) -> String {
        self.from
            .clone()
            .into_json()
            .map(|from| from.to_string())
            .unwrap_or_default()
    }

    /// The provenance entry, its members in one fixed order.
    pub fn into_json(self) -> Value {
        let from = self.from.into_json();
        let members = usize::from(self.derivation.is_some())
            + usize::from(self.default)
            + usize::from(self.absent.is_some())
            + usize::from(from.is_some())
            + usize::from(self.lookup.is_some())
            + usize::from(self.code.is_some())
            + usize::from(self.precision.is_some());
        let mut entry = Map::with_capacity(members);
        if let Some(name) = self.derivation {
            entry.insert("derivation".into(), Value::String(name.to_owned()));
        }
        if self.default {
            entry.insert("default".into(), Value::Bool(true));
        }
        if let Some(at) = self.absent {
            entry.insert("absent".into(), Value::String(at));
        }
        if let Some(from) = from {
            entry.insert("from".into(), from);
        }
        if let Some(name) = self.lookup {
            entry.insert("lookup".into(), Value::String(name.to_owned()));
        }
        if let Some(code) = self.code {
            entry.insert("code".into(), code.map_or(Value::Null, Value::String));
        }
        if let Some(precision) = self.precision {
            entry.insert("precision".into(), Value::String(precision.name().into()));
        }
        Value::Object(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_keep_one_order_and_leave_out_what_is_not_known() {
        let origin = Origin {
            derivation: Some("survivor-from-protection-concerns"),
            from: Pointers::Many(vec!["/a/0".into(), "/a/1".into()]),
            ..Origin::default()
        };
        assert_eq!(origin.first_pointer(), Some("/a/0"));
        assert_eq!(origin.sources_text(), r#"["/a/0","/a/1"]"#);
        let text = serde_json::to_string(&origin.into_json()).unwrap();
        assert_eq!(
            text,
            r#"{"derivation":"survivor-from-protection-concerns","from":["/a/0","/a/1"]}"#
        );

        let place = Origin {
            lookup: Some("locations"),
            code: Some(Some("KEN0208".into())),
            ..Origin::read_from(Pointers::One("/owned_by_location".into()))
        };
        assert_eq!(
            serde_json::to_string(&place.into_json()).unwrap(),
            r#"{"from":"/owned_by_location","lookup":"locations","code":"KEN0208"}"#
        );

        let default = Origin {
            default: true,
            absent: Some("/x".into()),
            ..Origin::default()
        };
        assert_eq!(default.first_pointer(), None);
        assert_eq!(default.sources_text(), "");
        assert_eq!(
            default.into_json(),
            json!({"default": true, "absent": "/x"})
        );
    }
}
