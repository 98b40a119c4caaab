//! `GET /v1/plugins` and `GET /v1/plugins/{id}`: the plugins as served
//! now, with their rules, templates and effective settings; the `ETag` is
//! the administration state revision, for `If-Match`. Reason and error
//! messages are shown as callers see them: rendered for the effective
//! settings.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::App;
use super::problem::Problem;
use crate::admin::AdminState;
use crate::runtime::plugin::LoadedPlugin;

/// What the API shows of a plugin.
pub(super) fn plugin_view(plugin: &LoadedPlugin, state: &AdminState) -> Value {
    let d = plugin.description();
    let admin = state.plugin(&d.id);
    let rules: Vec<Value> = d
        .rules
        .iter()
        .map(|rule| {
            let reasons: Vec<Value> = rule
                .reasons
                .iter()
                .map(|r| {
                    json!({
                        "code": r.code,
                        "message": plugin.reason_message(&rule.id, &r.code).unwrap_or(&r.message),
                    })
                })
                .collect();
            json!({
                "id": rule.id,
                "title": rule.title,
                "description": rule.description,
                "enabled": plugin.enabled_rules().contains(&rule.id),
                "set_by": if admin.rules.contains_key(&rule.id) { "administrator" } else { "default" },
                "reasons": reasons,
                "services": rule.services,
                "priorities": rule.priorities,
            })
        })
        .collect();
    let errors: Vec<Value> = d
        .errors
        .iter()
        .map(|e| {
            json!({
                "code": e.code,
                "kind": e.kind,
                "message": plugin.error_message(&e.code).map_or(e.message.as_str(), |(_, m)| m),
            })
        })
        .collect();
    json!({
        "id": d.id,
        "name": d.name,
        "kind": d.kind.as_str(),
        "version": d.version,
        "purpose": d.purpose,
        "contract": d.contract,
        "content_sha256": d.content_sha256,
        "enabled": plugin.switched_on(),
        "rules": rules,
        "templates": d.templates,
        "case_fields": d.case_fields,
        "errors": errors,
        "checks_settings": plugin.checks_settings(),
        "case_version": plugin.case_version(),
        "settings_refusals": d.settings_refusals,
        "settings": plugin.settings(),
        "settings_set_by_administrator": admin.settings.keys().collect::<Vec<_>>(),
        "breaker": plugin.breaker(),
        "held": plugin.held(),
    })
}

fn etag(revision: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{revision}\"")).expect("digits")
}

pub(super) fn with_etag(body: Value, revision: u64) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(header::ETAG, etag(revision));
    response
}

/// `GET /v1/plugins`.
pub async fn list(State(app): State<Arc<App>>) -> Response {
    let (host, state) = app.live.current_with_state();
    let plugins: Vec<Value> = host.plugins().map(|p| plugin_view(p, &state)).collect();
    with_etag(
        json!({"revision": state.revision, "plugins": plugins}),
        state.revision,
    )
}

/// `GET /v1/plugins/{id}`.
pub async fn show(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let (host, state) = app.live.current_with_state();
    match host.plugins().find(|p| p.description().id == id) {
        Some(plugin) => with_etag(plugin_view(plugin, &state), state.revision),
        None => unknown_plugin().into_response(),
    }
}

pub(super) fn unknown_plugin() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown-plugin",
        "no plugin with this id is loaded",
    )
}
