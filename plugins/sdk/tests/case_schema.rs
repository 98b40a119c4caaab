//! The SDK's case types held to the canonical case they read, by a
//! mechanism rather than a hand list.
//!
//! The SDK of contract 0.2.2 reads **case 1.1**, so the types are held to
//! `schemas/case.schema.json`. (Plugins built against 0.2.1 or older read
//! case 1.0, frozen in `tests/contract/case-1.0.schema.json`, and the host
//! never hands them a 1.1 field: see `wit/README.md`.)
//!
//! A [`Probe`] is a serde deserializer that walks the schema beside the
//! types: when a type asks for a struct, the probe compares the struct's
//! fields (serde's own list, renames applied) with the `properties` of the
//! schema node it stands on; for an enumeration, its variants with the
//! schema's `enum`; for a number, its Rust range with the schema's bounds;
//! for a field the type requires, the schema's `required`. It then feeds
//! every field a sample value the schema allows (a date where the schema
//! says `format: date`, ...) and walks into it, following `$ref`s as the
//! schema uses them. Whatever differs is a finding.
//!
//! (A tracer that knows nothing of the schema, such as `serde-reflection`,
//! gives one sample string to every string, so it cannot get through a type
//! that holds both a date and a date-time; walking the schema gives each the
//! value it needs, and checks values as well as names on the way.)

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::path::Path;

use kinga_plugin_sdk::Case;
use serde::Deserialize;
use serde::de::value::{Error, StrDeserializer};
use serde::de::{
    self, DeserializeSeed, EnumAccess, Error as _, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde_json::{Map, Value};

/// Members of the schema the SDK deliberately does not model, by JSON
/// pointer (`*` for the items of an array), each with why. Empty today: the
/// SDK models the whole case, `extensions` as a free map and the free-text
/// identifiers (`case_id`, `school_id`) as strings. A member listed here
/// must exist in the schema and must really be missing from the SDK.
const NOT_MODELLED: &[(&str, &str)] = &[];

/// The schemas a case schema's `$ref`s can point into.
struct Schemas {
    case: Value,
    common: Value,
}

impl Schemas {
    fn load() -> Schemas {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let read = |name: &str| -> Value {
            let path = root.join(name);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        Schemas {
            case: read("schemas/case.schema.json"),
            common: read("schemas/common.schema.json"),
        }
    }

    /// `node` (in the document `doc`) with its `$ref`s followed, and the
    /// document it ends in.
    fn resolve<'s>(&'s self, mut doc: &'s Value, mut node: &'s Value) -> (&'s Value, &'s Value) {
        while let Some(target) = node.get("$ref").and_then(Value::as_str) {
            let (file, pointer) = target.split_once('#').unwrap_or((target, ""));
            doc = match file.rsplit('/').next().unwrap_or_default() {
                "" => doc,
                "case.schema.json" => &self.case,
                "common.schema.json" => &self.common,
                other => panic!("$ref into {other}, which this test does not load"),
            };
            node = doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("$ref {target} points nowhere"));
        }
        (doc, node)
    }
}

/// One walk: the schemas and what was found.
struct Walk {
    schemas: Schemas,
    findings: RefCell<Vec<String>>,
    allowed_and_missing: RefCell<BTreeSet<String>>,
}

impl Walk {
    fn new() -> Walk {
        Walk {
            schemas: Schemas::load(),
            findings: RefCell::new(Vec::new()),
            allowed_and_missing: RefCell::new(BTreeSet::new()),
        }
    }

    /// A probe on the schema node at `pointer` of the case schema, standing
    /// for the case member at `path`.
    fn probe(&self, pointer: &str, path: &str) -> Probe<'_> {
        let node = self
            .schemas
            .case
            .pointer(pointer)
            .expect("the pointer exists");
        let (doc, node) = self.schemas.resolve(&self.schemas.case, node);
        Probe {
            walk: self,
            doc,
            node: Some(node),
            path: path.to_owned(),
            optional: None,
        }
    }

    fn find(&self, path: &str, what: impl std::fmt::Display) {
        self.findings.borrow_mut().push(format!("{path}: {what}"));
    }

    fn findings(&self) -> Vec<String> {
        self.findings.borrow().clone()
    }
}

/// A deserializer standing on one schema node (`None`: the schema has no
/// such member, already reported).
struct Probe<'p> {
    walk: &'p Walk,
    doc: &'p Value,
    node: Option<&'p Value>,
    /// The case member it stands for, as a JSON pointer (`*`: array items).
    path: String,
    /// Set when the type reads the member as an `Option`.
    optional: Option<&'p Cell<bool>>,
}

impl<'p> Probe<'p> {
    fn find(&self, what: impl std::fmt::Display) {
        self.walk.find(&self.path, what);
    }

    fn schema_type(&self) -> Option<&'p str> {
        self.node?.get("type")?.as_str()
    }

    /// Reports a node whose JSON type is not `expected` (nor one of the
    /// `also` accepted).
    fn expect_type(&self, rust: &str, expected: &str, also: &[&str]) {
        let Some(node) = self.node else { return };
        let typed = self.schema_type();
        let by_values = node.get("enum").or_else(|| node.get("const")).is_some();
        let fits = match typed {
            Some(t) => t == expected || also.contains(&t),
            None => by_values && expected == "string",
        };
        if !fits {
            self.find(format!(
                "the SDK reads {rust}, the schema says {}",
                typed.unwrap_or("an enumeration")
            ));
        }
    }

    /// The sample integer for a Rust integer type of range `lo..=hi`: the
    /// schema's bounds must lie in that range.
    fn integer(&self, rust: &str, lo: i128, hi: i128) -> i128 {
        self.expect_type(rust, "integer", &[]);
        let Some(node) = self.node else { return 0 };
        let bound = |key: &str| node.get(key).and_then(Value::as_i64).map(i128::from);
        match (bound("minimum"), bound("maximum")) {
            (Some(min), Some(max)) if lo <= min && max <= hi => max,
            (min, max) => {
                self.find(format!(
                    "the schema allows {}..={}, which {rust} cannot hold",
                    min.map_or("-inf".into(), |m| m.to_string()),
                    max.map_or("inf".into(), |m| m.to_string())
                ));
                0
            }
        }
    }

    /// A string the schema allows here.
    fn string(&self) -> &'static str {
        self.expect_type("a string", "string", &[]);
        let Some(node) = self.node else { return "x" };
        if let Some(text) = node.get("const").and_then(Value::as_str) {
            return leak(text);
        }
        match node.get("format").and_then(Value::as_str) {
            Some("date") => "2026-07-01",
            Some("date-time") => "2026-07-01T09:00:00+03:00",
            Some(other) => {
                self.find(format!("no sample for format {other}"));
                "x"
            }
            None => "x",
        }
    }

    /// A probe on `node` (in `doc`) for the member `path`.
    fn child(&self, node: Option<&'p Value>, path: String) -> Probe<'p> {
        let (doc, node) = match node {
            Some(node) => {
                let (doc, node) = self.walk.schemas.resolve(self.doc, node);
                (doc, Some(node))
            }
            None => (self.doc, None),
        };
        Probe {
            walk: self.walk,
            doc,
            node,
            path,
            optional: None,
        }
    }

    fn unsupported<T>(&self, what: &str) -> Result<T, Error> {
        self.find(format!(
            "the SDK reads {what}, which this test cannot trace"
        ));
        Err(Error::custom(format!("{}: untraceable {what}", self.path)))
    }
}

fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

macro_rules! integers {
    ($($method:ident: $ty:ty => $visit:ident as $as:ty,)*) => {$(
        fn $method<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Error> {
            let sample = self.integer(stringify!($ty), i128::from(<$ty>::MIN), i128::from(<$ty>::MAX));
            visitor.$visit(sample as $as)
        }
    )*};
}

impl<'p> de::Deserializer<'static> for Probe<'p> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'static>>(self, _: V) -> Result<V::Value, Error> {
        self.unsupported("any value")
    }

    fn deserialize_bool<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Error> {
        self.expect_type("a bool", "boolean", &[]);
        visitor.visit_bool(true)
    }

    integers! {
        deserialize_u8: u8 => visit_u64 as u64,
        deserialize_u16: u16 => visit_u64 as u64,
        deserialize_u32: u32 => visit_u64 as u64,
        deserialize_u64: u64 => visit_u64 as u64,
        deserialize_i8: i8 => visit_i64 as i64,
        deserialize_i16: i16 => visit_i64 as i64,
        deserialize_i32: i32 => visit_i64 as i64,
        deserialize_i64: i64 => visit_i64 as i64,
    }

    fn deserialize_f32<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Error> {
        self.expect_type("a number", "number", &["integer"]);
        visitor.visit_f64(0.5)
    }

    fn deserialize_char<V: Visitor<'static>>(self, _: V) -> Result<V::Value, Error> {
        self.unsupported("a char")
    }

    fn deserialize_str<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str(self.string())
    }

    fn deserialize_string<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_string(self.string().to_owned())
    }

    fn deserialize_bytes<V: Visitor<'static>>(self, _: V) -> Result<V::Value, Error> {
        self.unsupported("bytes")
    }

    fn deserialize_byte_buf<V: Visitor<'static>>(self, _: V) -> Result<V::Value, Error> {
        self.unsupported("bytes")
    }

    fn deserialize_option<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Error> {
        if let Some(optional) = self.optional {
            optional.set(true);
        }
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'static>>(self, _: V) -> Result<V::Value, Error> {
        self.unsupported("a unit")
    }

    fn deserialize_unit_struct<V: Visitor<'static>>(
        self,
        _: &'static str,
        _: V,
    ) -> Result<V::Value, Error> {
        self.unsupported("a unit struct")
    }

    fn deserialize_newtype_struct<V: Visitor<'static>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Error> {
        self.expect_type("a list", "array", &[]);
        let items = self.node.and_then(|n| n.get("items"));
        let item = self.child(items, format!("{}/*", self.path));
        visitor.visit_seq(OneItem(Some(item)))
    }

    fn deserialize_tuple<V: Visitor<'static>>(self, _: usize, _: V) -> Result<V::Value, Error> {
        self.unsupported("a tuple")
    }

    fn deserialize_tuple_struct<V: Visitor<'static>>(
        self,
        _: &'static str,
        _: usize,
        _: V,
    ) -> Result<V::Value, Error> {
        self.unsupported("a tuple struct")
    }

    fn deserialize_map<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Error> {
        self.expect_type("a free map", "object", &[]);
        if self.node.is_some_and(|n| n.get("properties").is_some()) {
            self.find("the schema defines its members, the SDK reads a free map");
        }
        visitor.visit_map(NoEntries)
    }

    fn deserialize_struct<V: Visitor<'static>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.expect_type(name, "object", &[]);
        let properties = self
            .node
            .and_then(|n| n.get("properties"))
            .and_then(Value::as_object);
        let required: BTreeSet<&str> = self
            .node
            .and_then(|n| n.get("required"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if let Some(properties) = properties {
            for member in properties.keys() {
                if fields.contains(&member.as_str()) {
                    continue;
                }
                let path = format!("{}/{member}", self.path);
                if NOT_MODELLED.iter().any(|(p, _)| *p == path) {
                    self.walk.allowed_and_missing.borrow_mut().insert(path);
                } else {
                    self.find(format!(
                        "the schema's member {member} has no field in {name}"
                    ));
                }
            }
            for field in fields {
                if !properties.contains_key(*field) {
                    self.find(format!("{name}.{field} is not in the schema"));
                }
            }
        } else if self.node.is_some() {
            self.find(format!(
                "the SDK reads {name}, the schema defines no members"
            ));
        }
        visitor.visit_map(Members {
            probe: &self,
            properties,
            required,
            fields: fields.iter(),
            current: "",
        })
    }

    fn deserialize_enum<V: Visitor<'static>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let values: BTreeSet<&str> = self
            .node
            .and_then(|n| n.get("enum"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if self.node.is_some() && values.is_empty() {
            self.find(format!(
                "the SDK reads the enumeration {name}, the schema has none"
            ));
        }
        let variants_set: BTreeSet<&str> = variants.iter().copied().collect();
        if self.node.is_some() && !values.is_empty() && values != variants_set {
            self.find(format!(
                "{name} has {variants_set:?}, the schema {values:?}"
            ));
        }
        let first = variants.first().copied().unwrap_or_default();
        visitor.visit_enum(UnitVariant(first))
    }

    fn deserialize_identifier<V: Visitor<'static>>(self, _: V) -> Result<V::Value, Error> {
        self.unsupported("an identifier")
    }

    fn deserialize_ignored_any<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

/// The members of a struct, each with a probe on its schema node.
struct Members<'a, 'p> {
    probe: &'a Probe<'p>,
    properties: Option<&'p Map<String, Value>>,
    required: BTreeSet<&'p str>,
    fields: std::slice::Iter<'static, &'static str>,
    current: &'static str,
}

impl MapAccess<'static> for Members<'_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'static>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(field) = self.fields.next() else {
            return Ok(None);
        };
        self.current = field;
        let key: StrDeserializer<'static, Error> = field.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'static>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let field = self.current;
        let node = self.properties.and_then(|p| p.get(field));
        let optional = Cell::new(false);
        let mut probe = self
            .probe
            .child(node, format!("{}/{field}", self.probe.path));
        probe.optional = Some(&optional);
        let path = probe.path.clone();
        let value = seed.deserialize(probe)?;
        if node.is_some() && !optional.get() && !self.required.contains(field) {
            self.probe.walk.find(
                &path,
                "the SDK requires it, the schema does not: a valid case without it would not parse",
            );
        }
        Ok(value)
    }
}

/// A list with one item.
struct OneItem<'p>(Option<Probe<'p>>);

impl SeqAccess<'static> for OneItem<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'static>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .take()
            .map(|probe| seed.deserialize(probe))
            .transpose()
    }
}

/// A map without entries.
struct NoEntries;

impl MapAccess<'static> for NoEntries {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'static>>(
        &mut self,
        _: K,
    ) -> Result<Option<K::Value>, Error> {
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'static>>(&mut self, _: V) -> Result<V::Value, Error> {
        Err(Error::custom("no value"))
    }
}

/// The first variant of an enumeration, as a unit variant.
struct UnitVariant(&'static str);

impl EnumAccess<'static> for UnitVariant {
    type Error = Error;
    type Variant = UnitVariant;

    fn variant_seed<V: DeserializeSeed<'static>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let name: StrDeserializer<'static, Error> = self.0.into_deserializer();
        Ok((seed.deserialize(name)?, self))
    }
}

impl VariantAccess<'static> for UnitVariant {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'static>>(self, _: T) -> Result<T::Value, Error> {
        Err(Error::custom("only unit variants are traced"))
    }

    fn tuple_variant<V: Visitor<'static>>(self, _: usize, _: V) -> Result<V::Value, Error> {
        Err(Error::custom("only unit variants are traced"))
    }

    fn struct_variant<V: Visitor<'static>>(
        self,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Error> {
        Err(Error::custom("only unit variants are traced"))
    }
}

#[test]
fn the_case_types_have_exactly_the_schemas_members_and_values() {
    let walk = Walk::new();
    let parsed = Case::deserialize(walk.probe("", ""));
    let findings = walk.findings();
    assert!(
        parsed.is_ok() && findings.is_empty(),
        "the SDK's Case and the case schema disagree:\n  {}\n(walk: {:?})",
        findings.join("\n  "),
        parsed.err()
    );
    let missing = walk.allowed_and_missing.borrow();
    for (path, why) in NOT_MODELLED {
        assert!(
            missing.contains(*path),
            "{path} is listed as not modelled ({why}), but the SDK models it or the schema has no such member"
        );
    }
}

#[test]
fn the_walk_finds_a_missing_field_an_extra_field_and_a_wrong_value() {
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Consent {
        information_sharing: Option<bool>,
        // police_report missing
        witness: Option<bool>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    enum Status {
        #[serde(rename = "open")]
        Open,
        #[serde(rename = "pending")]
        Pending,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Household {
        monthly_income_kes: Option<u8>,
        dependents: u8,
        // Last: the walk stops at a value it cannot trace.
        caregiver: Option<serde_json::Value>,
    }

    let walk = Walk::new();
    assert!(Consent::deserialize(walk.probe("/properties/consent", "/consent")).is_ok());
    assert!(Status::deserialize(walk.probe("/properties/status", "/status")).is_ok());
    let _ = Household::deserialize(walk.probe("/properties/household", "/household"));
    let findings = walk.findings().join("\n");
    for expected in [
        "/consent: the schema's member police_report has no field in Consent",
        "/consent: Consent.witness is not in the schema",
        "/status: Status has {\"open\", \"pending\"}, the schema {\"closed\", \"open\"}",
        "/household/caregiver: the SDK reads any value, which this test cannot trace",
        "/household/monthly_income_kes: the schema allows 0..=1000000000, which u8 cannot hold",
        "/household/dependents: the SDK requires it, the schema does not",
    ] {
        assert!(
            findings.contains(expected),
            "{expected:?} not found in:\n{findings}"
        );
    }
}
