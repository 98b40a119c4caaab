//! `GET /v1/audit` and `GET /v1/audit/verify`: the administration audit
//! trail, a page at a time, and the check of its hash chain.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::App;
use super::problem::Problem;

/// `GET /v1/audit?after=SEQ&limit=N&plugin=ID&actor=NAME`: the
/// administration audit trail, oldest first, a page at a time.
pub async fn audit(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    let mut after = 0u64;
    let mut limit = 100usize;
    let mut plugin = None;
    let mut actor = None;
    for pair in query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = |v: &str| v.parse::<u64>().ok();
        match (name, value) {
            ("after", v) if number(v).is_some() => after = number(v).unwrap_or_default(),
            ("limit", v) if number(v).is_some_and(|n| (1..=1000).contains(&n)) => {
                limit = number(v).unwrap_or(100) as usize;
            }
            ("plugin", v) if is_plain(v) => plugin = Some(v.to_owned()),
            ("actor", v) if is_plain(v) => actor = Some(v.to_owned()),
            _ => {
                return Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid-parameters",
                    "the audit query takes after (a sequence number), limit (1-1000), plugin and actor",
                )
                .into_response();
            }
        }
    }
    let Some(store) = app.store.clone() else {
        return axum::Json(json!({"records": [], "next_after": null})).into_response();
    };
    let read = app
        .run_blocking(move |_| crate::records::read_log(&store.audit_path()))
        .await;
    let records = match read {
        Ok(Ok(records)) => records,
        Ok(Err(broken)) => {
            tracing::error!(target: "kinga::http", error = %broken, "the audit trail cannot be read");
            return Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the audit trail cannot be read",
            )
            .into_response();
        }
        Err(problem) => return problem.into_response(),
    };
    let matches = |record: &Map<String, Value>, key: &str, wanted: &Option<String>| {
        wanted
            .as_ref()
            .is_none_or(|w| record.get(key).and_then(Value::as_str) == Some(w))
    };
    let page: Vec<Value> = records
        .into_iter()
        .filter(|r| r.get("seq").and_then(Value::as_u64).unwrap_or_default() > after)
        .filter(|r| matches(r, "plugin", &plugin) && matches(r, "actor", &actor))
        .take(limit)
        .map(Value::Object)
        .collect();
    let next = (page.len() == limit)
        .then(|| page.last().and_then(|r| r.get("seq").cloned()))
        .flatten();
    axum::Json(json!({"records": page, "next_after": next})).into_response()
}

fn is_plain(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
}

/// `GET /v1/audit/verify`: checks the audit trail's hash chain.
pub async fn verify(State(app): State<Arc<App>>) -> Response {
    let Some(store) = app.store.clone() else {
        return axum::Json(json!({"intact": true, "records": 0})).into_response();
    };
    match app.run_blocking(move |_| store.verify_trail()).await {
        Ok(Ok(verified)) => {
            axum::Json(json!({"intact": true, "records": verified.records})).into_response()
        }
        Ok(Err(broken)) => {
            axum::Json(json!({"intact": false, "line": broken.line, "problem": broken.message}))
                .into_response()
        }
        Err(problem) => problem.into_response(),
    }
}
