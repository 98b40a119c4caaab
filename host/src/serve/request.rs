//! Request bodies are checked against their operation's schema in
//! `openapi.json` before they are deserialised into typed bodies: what the
//! document publishes is what the service enforces, with no second,
//! hand-written list of members to drift from it.
//!
//! Cases inside a body are opaque here (`{"type": "object"}` in place of the
//! `Case` component): each goes through the case pipeline on its own, so a
//! bad case in a batch is answered in its place, and no case is checked
//! against the case schema twice.

use std::sync::OnceLock;

use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::openapi;
use super::problem::Problem;
use crate::case::json::escape_token;
use crate::case::schema::{self, Violation};

/// At most this many problems are listed for one body.
const MAX_VIOLATIONS: usize = 20;

/// What is wrong with a member of a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issue {
    /// A required member is absent.
    Missing,
    /// A member the request does not have.
    NotAllowed,
    /// A member of the wrong type, range or shape.
    Invalid,
}

/// The compiled request schema of one operation.
pub struct RequestSchema {
    validator: Validator,
}

impl RequestSchema {
    /// Compiles the JSON request schema of the operation at `path` and
    /// `method` (as written in `openapi.json`, e.g. `/v1/eligibility`,
    /// `post`), with cases opaque.
    fn compile(path: &str, method: &str) -> RequestSchema {
        let document = openapi::document();
        let pointer = format!(
            "/paths/{}/{method}/requestBody/content/application~1json/schema",
            escape_token(path)
        );
        let mut root = document
            .pointer(&pointer)
            .cloned()
            .unwrap_or_else(|| panic!("openapi.json has a JSON request body at {pointer}"));
        make_cases_opaque(&mut root);
        // The batch cap is the configuration's (413 before this check), not
        // the document's default.
        if let Some(Value::Object(cases)) = root.pointer_mut("/properties/cases") {
            cases.remove("maxItems");
        }
        if let Value::Object(map) = &mut root {
            // `#/components/...` references resolve inside this root.
            map.insert("components".into(), document["components"].clone());
        }
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .offline()
            .build(&root)
            .unwrap_or_else(|e| panic!("the request schema at {pointer} compiles: {e}"));
        RequestSchema { validator }
    }

    /// Checks `body` against the schema, then deserialises it.
    ///
    /// # Errors
    /// A 400 `invalid-request` problem (`code_for` may give another code
    /// for a pointer and kind of issue) naming the first violation's pointer
    /// and listing them all; an unknown or missing member is named by its
    /// own pointer.
    pub fn read<T: DeserializeOwned>(
        &self,
        body: Value,
        code_for: impl Fn(&str, Issue) -> Option<&'static str>,
    ) -> Result<T, Problem> {
        let violations = self.violations(&body);
        if let Some((first, issue)) = violations.first() {
            let code = code_for(&first.pointer, *issue).unwrap_or("invalid-request");
            let mut problem = Problem::bad_request(code, &first.pointer, first.message.clone());
            problem.errors = violations.into_iter().map(|(v, _)| v).collect();
            return Err(problem);
        }
        serde_json::from_value(body).map_err(|_| {
            // The schema admits only what the typed body can hold; reaching
            // this is a mismatch between the two, reported without values.
            Problem::bad_request(
                "invalid-request",
                "",
                "the body does not fit the request's shape",
            )
        })
    }

    fn violations(&self, body: &Value) -> Vec<(Violation, Issue)> {
        if self.validator.is_valid(body) {
            return Vec::new();
        }
        let mut found = Vec::new();
        for error in self.validator.iter_errors(body).take(MAX_VIOLATIONS) {
            let at = error.instance_path().as_str().to_owned();
            match error.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    for member in unexpected {
                        let violation = Violation {
                            pointer: format!("{at}/{}", escape_token(member)),
                            message: format!(
                                "the member {} is not part of the request",
                                schema::field_name(member)
                            ),
                        };
                        found.push((violation, Issue::NotAllowed));
                    }
                }
                ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    let violation = Violation {
                        pointer: format!("{at}/{}", escape_token(name)),
                        message: "this member is required".into(),
                    };
                    found.push((violation, Issue::Missing));
                }
                _ => {
                    let violation = Violation {
                        pointer: at,
                        message: schema::describe(&error),
                    };
                    found.push((violation, Issue::Invalid));
                }
            }
        }
        // A pointer never repeats a key the document does not declare.
        for (violation, _) in &mut found {
            violation.pointer =
                schema::redact_pointer(&violation.pointer, openapi::declared_names());
        }
        found
    }
}

/// Replaces every reference to the `Case` component with a plain object.
fn make_cases_opaque(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("$ref").and_then(Value::as_str) == Some("#/components/schemas/Case") {
                *value = json!({"type": "object"});
                return;
            }
            map.values_mut().for_each(make_cases_opaque);
        }
        Value::Array(items) => items.iter_mut().for_each(make_cases_opaque),
        _ => {}
    }
}

macro_rules! request_schema {
    ($(#[$doc:meta])* $name:ident, $path:literal, $method:literal) => {
        $(#[$doc])*
        pub fn $name() -> &'static RequestSchema {
            static SCHEMA: OnceLock<RequestSchema> = OnceLock::new();
            SCHEMA.get_or_init(|| RequestSchema::compile($path, $method))
        }
    };
}

request_schema!(
    /// The body of `POST /v1/eligibility`.
    eligibility, "/v1/eligibility", "post"
);
request_schema!(
    /// The body of `POST /v1/referrals`.
    referrals, "/v1/referrals", "post"
);
request_schema!(
    /// The body of `PATCH /v1/plugins/{id}`.
    patch_plugin, "/v1/plugins/{id}", "patch"
);
request_schema!(
    /// The body of `PATCH /v1/plugins/{id}/rules/{rule}`.
    patch_rule, "/v1/plugins/{id}/rules/{rule}", "patch"
);
request_schema!(
    /// The body of `PATCH /v1/plugins/{id}/settings`.
    patch_settings, "/v1/plugins/{id}/settings", "patch"
);
request_schema!(
    /// The body of `PUT /v1/profiles/{platform}`.
    put_profile, "/v1/profiles/{platform}", "put"
);
request_schema!(
    /// The body of `POST /v1/profiles/{platform}/reset`.
    reset_profile, "/v1/profiles/{platform}/reset", "post"
);
request_schema!(
    /// The body of `POST /v1/plugins/{id}/rollback`.
    rollback, "/v1/plugins/{id}/rollback", "post"
);
request_schema!(
    /// The body of `POST /v1/plugins/{id}/close-breaker`.
    close_breaker, "/v1/plugins/{id}/close-breaker", "post"
);
request_schema!(
    /// The body of `POST /v1/packages`.
    install, "/v1/packages", "post"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Envelope {
        case: Option<Value>,
        cases: Option<Vec<Value>>,
    }

    #[test]
    fn every_request_schema_compiles_with_cases_opaque() {
        for schema in [eligibility(), referrals()] {
            // A case that the case schema would refuse passes the envelope.
            let body = json!({"case": {"case_id": 1}});
            assert!(schema.violations(&body).is_empty());
        }
        for schema in [
            patch_plugin(),
            patch_rule(),
            patch_settings(),
            rollback(),
            close_breaker(),
            install(),
        ] {
            let missing = schema.violations(&json!({}));
            assert!(
                missing
                    .iter()
                    .any(|(v, issue)| v.pointer == "/reason" && *issue == Issue::Missing)
            );
        }
    }

    #[test]
    fn violations_name_their_pointer() {
        let problem = eligibility()
            .read::<Envelope>(json!({"case": {}, "extra": 1}), |_, _| None)
            .err()
            .expect("refused");
        assert_eq!(
            problem.pointer.as_deref(),
            Some("/*"),
            "an undeclared key is not echoed"
        );
        let problem = eligibility()
            .read::<Envelope>(json!({"cases": {}}), |_, _| None)
            .err()
            .expect("refused");
        assert_eq!(problem.pointer.as_deref(), Some("/cases"));
        let problem = eligibility()
            .read::<Envelope>(json!({}), |_, _| None)
            .err()
            .expect("refused");
        assert_eq!(problem.pointer.as_deref(), Some(""));
    }
}
