//! `/healthz`, `/readyz` and `/metrics`: for the orchestrator and the
//! monitoring, on the operations listener (or on the public one only when
//! the configuration asks).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::App;
use super::problem::Problem;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// `GET /readyz`: plugins are loaded and the server is not draining. An
/// open circuit breaker or a held plugin (its state in force refused) makes
/// the answer `degraded`, naming the plugins,
/// but still 200: the breaker's trial calls need traffic to close it, and
/// every replica sharing a broken plugin would otherwise leave rotation at
/// once, taking the plugins that work with them.
pub async fn readyz(State(app): State<Arc<App>>) -> Response {
    if app.draining.load(Ordering::SeqCst) {
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "the server is shutting down",
        )
        .into_response();
    }
    let (host, revision) = app.live.current();
    let switched_off: Vec<&str> = host
        .plugins()
        .filter(|p| p.breaker().is_open())
        .map(|p| p.description().id.as_str())
        .collect();
    let held: Vec<&str> = host
        .plugins()
        .filter(|p| p.held().is_some() && p.switched_on())
        .map(|p| p.description().id.as_str())
        .collect();
    let degraded = !switched_off.is_empty() || !held.is_empty();
    axum::Json(json!({
        "status": if degraded { "degraded" } else { "ready" },
        "plugins": host.plugins().count(),
        "breakers_open": switched_off,
        "held": held,
        "revision": revision,
    }))
    .into_response()
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    app.metrics.observe_breakers(&app.live.host());
    let mut response = app.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
