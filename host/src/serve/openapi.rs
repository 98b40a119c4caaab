//! The OpenAPI 3.1 document of the service, served at
//! `GET /v1/openapi.json`.
//!
//! `openapi.json` beside this file describes the paths; its schemas refer
//! to `#/components/schemas/Case`, `Decision`, ... which are the JSON
//! Schemas of `schemas/`, embedded here when the document is built (one
//! source of truth: the schemas the host validates with are the schemas the
//! document publishes). Their `$ref`s between files are rewritten to point
//! inside the document, and their `$id`s dropped so that those pointers
//! resolve against the document.

use std::sync::OnceLock;

use serde_json::{Map, Value};

const PATHS: &str = include_str!("openapi.json");

/// The component name of a schema file (`plugin-info.schema.json` →
/// `PluginInfo`).
fn component_name(file: &str) -> String {
    crate::text::pascal_case(file.trim_end_matches(".schema.json"))
}

/// Rewrites every `$ref` of a schema from file `file` to a pointer inside
/// the document.
fn rewrite_refs(value: &mut Value, file: &str) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref") {
                let (target_file, fragment) = target.split_once('#').unwrap_or((target, ""));
                let target_file = if target_file.is_empty() {
                    file
                } else {
                    target_file
                };
                *target = format!(
                    "#/components/schemas/{}{}",
                    component_name(target_file),
                    fragment
                );
            }
            for child in map.values_mut() {
                rewrite_refs(child, file);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rewrite_refs(item, file)),
        _ => {}
    }
}

/// Every member name the document declares (its request bodies and the
/// bundled schemas): the keys an error pointer may repeat.
pub fn declared_names() -> &'static std::collections::BTreeSet<String> {
    static NAMES: OnceLock<std::collections::BTreeSet<String>> = OnceLock::new();
    NAMES.get_or_init(|| crate::case::schema::declared_names([document()]))
}

/// The complete document.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document: Value =
            serde_json::from_str(PATHS).expect("openapi.json is checked by a test");
        let schemas = document
            .pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut)
            .expect("openapi.json has components.schemas");
        for (file, text) in crate::case::schema::bundled_files() {
            let mut schema: Map<String, Value> =
                serde_json::from_str(text).expect("bundled schemas are checked by tests");
            schema.remove("$id");
            schema.remove("$schema");
            let mut schema = Value::Object(schema);
            rewrite_refs(&mut schema, file);
            schemas.insert(component_name(file), schema);
        }
        document
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ref_points_inside_the_document() {
        fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        out.push(r);
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let document = document();
        let mut found = Vec::new();
        refs(document, &mut found);
        assert!(found.len() > 20, "the document uses the schemas");
        for r in found {
            let pointer = r.strip_prefix('#').expect("a local reference");
            assert!(
                document.pointer(pointer).is_some(),
                "{r} does not resolve inside the document"
            );
        }
    }

    #[test]
    fn component_names_are_pascal_case() {
        assert_eq!(component_name("plugin-info.schema.json"), "PluginInfo");
        assert_eq!(component_name("case.schema.json"), "Case");
    }
}
