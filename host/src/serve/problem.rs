//! One error schema for every error: RFC 9457 problem details.
//!
//! A handler returns a [`Problem`]; it travels in the response's extensions
//! and is rendered by the outermost middleware ([`super::context`]), which
//! adds the correlation id. Any other error response (a route that does not
//! exist, a wrong method, a head hyper refused) is turned into a problem
//! there too, with a generic detail: a framework's message may quote the
//! input, and a problem never does.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::case::schema::Violation;
use crate::error::{Error, PluginErrorKind, Stop};

/// Base of the `type` URIs.
pub const TYPE_BASE: &str = "https://kinga.invalid/problems/";

/// An error answer.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable kebab-case code (also the last segment of `type`).
    pub code: &'static str,
    /// What is wrong, for a person; never a value from the request.
    pub detail: String,
    /// Where in the request body, as a JSON pointer.
    pub pointer: Option<String>,
    /// Every problem found, each with its pointer.
    pub errors: Vec<Violation>,
    /// Seconds after which a retry may succeed (`Retry-After`).
    pub retry_after: Option<u64>,
    /// More members (a line number, the current revision).
    pub extra: Map<String, Value>,
}

impl Problem {
    /// A problem with a status, a code and a detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            code,
            detail: detail.into(),
            pointer: None,
            errors: Vec::new(),
            retry_after: None,
            extra: Map::new(),
        }
    }

    /// 400 with a pointer.
    pub fn bad_request(code: &'static str, pointer: &str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, code, detail).at(pointer)
    }

    /// Sets the pointer.
    pub fn at(mut self, pointer: &str) -> Problem {
        self.pointer = Some(pointer.to_owned());
        self
    }

    /// Sets `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> Problem {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// Adds a member.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Problem {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// The problem for a library error; `prefix` is the pointer of the case
    /// in the request body (`/case`, `/cases/3`), prepended to the case
    /// pointers the error names.
    pub fn from_error(error: &Error, prefix: &str) -> Problem {
        let detail = error.to_string();
        let (status, code) = match error {
            Error::InvalidCase(_) => (StatusCode::BAD_REQUEST, "invalid-case"),
            Error::Mapping(_) => (StatusCode::UNPROCESSABLE_ENTITY, "mapping"),
            Error::Delivery(_) => (StatusCode::UNPROCESSABLE_ENTITY, "delivery"),
            Error::InvalidProfile(_) => (StatusCode::BAD_REQUEST, "invalid-profile"),
            Error::InvalidAsOf(_) => (StatusCode::BAD_REQUEST, "invalid-as-of"),
            Error::InvalidSettings { .. } => (StatusCode::BAD_REQUEST, "invalid-settings"),
            Error::UnknownPlugin(_) => (StatusCode::NOT_FOUND, "unknown-plugin"),
            Error::PluginDisabled(_) => (StatusCode::NOT_FOUND, "plugin-disabled"),
            Error::WrongKind { .. } => (StatusCode::NOT_FOUND, "wrong-kind"),
            Error::UnknownTemplate(_) => (StatusCode::NOT_FOUND, "unknown-template"),
            Error::PluginRefused { kind, .. } => match kind {
                PluginErrorKind::InvalidCase => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "case-refused-by-plugin")
                }
                PluginErrorKind::InvalidParameters => {
                    (StatusCode::BAD_REQUEST, "invalid-parameters")
                }
                PluginErrorKind::InvalidSettings | PluginErrorKind::Internal => {
                    (StatusCode::BAD_GATEWAY, "plugin-failed")
                }
            },
            Error::Contained { .. } => (StatusCode::BAD_GATEWAY, "plugin-contained"),
            Error::InvalidOutput { .. } => (StatusCode::BAD_GATEWAY, "plugin-invalid-output"),
            Error::SwitchedOff { .. } => (StatusCode::SERVICE_UNAVAILABLE, "plugin-switched-off"),
            Error::Held { .. } => (StatusCode::SERVICE_UNAVAILABLE, "plugin-held"),
            Error::CaseVersion { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "case-version"),
            Error::Overloaded { .. } => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            Error::RequestStopped(Stop::AnswerBytes(_)) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "answers-too-large")
            }
            Error::RequestStopped(_) => (StatusCode::SERVICE_UNAVAILABLE, "request-stopped"),
            Error::InvalidState(_)
            | Error::Replay(_)
            | Error::PluginLoad { .. }
            | Error::DuplicatePlugin(_)
            | Error::DuplicateTemplate { .. }
            | Error::Io { .. }
            | Error::Engine(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let mut problem = Problem::new(status, code, detail);
        let prefixed = |violations: &[Violation]| -> Vec<Violation> {
            violations
                .iter()
                .map(|v| Violation {
                    pointer: format!("{prefix}{}", v.pointer),
                    message: v.message.clone(),
                })
                .collect()
        };
        match error {
            Error::InvalidCase(rejection) => {
                problem.errors = prefixed(&rejection.violations);
                problem.pointer = problem.errors.first().map(|v| v.pointer.clone());
            }
            Error::Mapping(rejection) => {
                problem.errors = prefixed(&rejection.violations);
                problem.pointer = problem.errors.first().map(|v| v.pointer.clone());
            }
            Error::InvalidProfile(rejection) => problem.errors = rejection.violations.clone(),
            Error::InvalidAsOf(_) => problem.pointer = Some("/as_of".into()),
            Error::PluginRefused {
                kind: PluginErrorKind::InvalidCase,
                pointer: Some(pointer),
                ..
            } => problem.pointer = Some(format!("{prefix}{pointer}")),
            Error::Overloaded { .. } => problem.retry_after = Some(1),
            Error::Io { .. } | Error::Engine(_) | Error::InvalidState(_) => {
                // Paths and engine messages stay in the server's log.
                tracing::error!(target: "kinga::http", error = %error, "internal error");
                problem.detail = "the server could not complete the request".into();
            }
            _ => {}
        }
        if let Some(plugin) = error.plugin() {
            problem.extra.insert("plugin".into(), plugin.into());
        }
        problem
    }

    /// The generic problem for an error response that is not a [`Problem`]
    /// (a route that does not exist, a framework's refusal).
    pub fn for_status(status: StatusCode) -> Problem {
        let (code, detail) = match status {
            StatusCode::NOT_FOUND => ("not-found", "no such resource"),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method-not-allowed",
                "the resource does not allow this method",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => ("body-too-large", "the body is too large"),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
                ("headers-too-large", "the request headers are too large")
            }
            StatusCode::URI_TOO_LONG => ("uri-too-long", "the request target is too long"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported-media-type",
                "the content type is not accepted here",
            ),
            StatusCode::REQUEST_TIMEOUT => {
                ("request-timeout", "the request took too long to arrive")
            }
            s if s.is_client_error() => ("bad-request", "the request is malformed"),
            _ => ("internal", "the server could not complete the request"),
        };
        Problem::new(status, code, detail)
    }

    /// The JSON body, with the correlation id.
    pub fn body(&self, correlation_id: &str) -> Value {
        let mut body = json!({
            "type": format!("{TYPE_BASE}{}", self.code),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
            "correlation_id": correlation_id,
        });
        let map = body.as_object_mut().expect("an object");
        if let Some(pointer) = &self.pointer {
            map.insert("pointer".into(), pointer.clone().into());
        }
        if !self.errors.is_empty() {
            map.insert(
                "errors".into(),
                self.errors
                    .iter()
                    .map(|v| json!({"pointer": v.pointer, "detail": v.message}))
                    .collect(),
            );
        }
        for (key, value) in &self.extra {
            map.entry(key.clone()).or_insert_with(|| value.clone());
        }
        body
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Problem {
        Problem::from_error(&error, "")
    }
}
