//! The outermost layer every request passes: a correlation id, checks that
//! need no route (request target length, content coding), the request
//! timeout, problem rendering, headers every answer carries, one log line
//! and the request metrics.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;
use super::metrics::{RequestLabels, RouteLabels};
use super::problem::Problem;

/// The header carrying the correlation id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A caller's correlation id is kept when it is short and plain; otherwise
/// the server makes one.
fn correlation_id(request: &Request) -> String {
    request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let mut bytes = [0u8; 12];
            let _ = getrandom::fill(&mut bytes);
            format!("req-{}", hex::encode(bytes))
        })
}

/// The checks, the timeout, the rendering, the log and the metrics.
pub async fn context(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = correlation_id(&request);
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let timeout = if route.starts_with("/v1/reports") {
        app.config.limits.report_timeout()
    } else {
        app.config.limits.request_timeout()
    };
    let response = match precheck(&app, &request) {
        Err(problem) => problem.into_response(),
        Ok(()) => match tokio::time::timeout(timeout, next.run(request)).await {
            Ok(response) => response,
            Err(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the request took longer than the server allows",
            )
            .retry_after(1)
            .into_response(),
        },
    };
    let mut response = render_problem(response, &id);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    app.metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method: method.as_str().to_owned(),
            status,
        })
        .inc();
    app.metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(elapsed.as_secs_f64());
    let principal = response
        .extensions()
        .get::<super::AnsweredFor>()
        .map(|p| p.0.clone())
        .unwrap_or_default();
    tracing::info!(
        target: "kinga::http",
        request_id = %id,
        method = %method,
        route = %route,
        status,
        principal = %principal,
        duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

/// Refusals that need no route: a request target over the limit (414), a
/// body in a content coding (415: the server never inflates a body, so a
/// compression bomb cannot go off).
fn precheck(app: &App, request: &Request) -> Result<(), Problem> {
    let target_len = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if target_len > app.config.limits.max_uri_bytes {
        return Err(Problem::new(
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            format!(
                "the request target is longer than {} bytes",
                app.config.limits.max_uri_bytes
            ),
        ));
    }
    for value in request.headers().get_all(header::CONTENT_ENCODING) {
        let identity = value
            .to_str()
            .map(|v| v.trim().eq_ignore_ascii_case("identity"))
            .unwrap_or(false);
        if !identity {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-content-encoding",
                "bodies are accepted without content coding only (no gzip, deflate, br)",
            ));
        }
    }
    Ok(())
}

/// Renders the [`Problem`] a handler returned, or a generic one for any
/// other error response.
fn render_problem(response: Response, id: &str) -> Response {
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    let problem = response
        .extensions()
        .get::<Arc<Problem>>()
        .map(|p| Problem::clone(p))
        .unwrap_or_else(|| Problem::for_status(status));
    let answered_for = response.extensions().get::<super::AnsweredFor>().cloned();
    let allow = response.headers().get(header::ALLOW).cloned();
    let body = serde_json::to_vec(&problem.body(id)).unwrap_or_default();
    let mut rendered = Response::new(Body::from(body));
    *rendered.status_mut() = problem.status;
    let headers = rendered.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if problem.status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"kinga\""),
        );
    }
    if let Some(seconds) = problem.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if let Some(allow) = allow {
        headers.insert(header::ALLOW, allow);
    }
    if let Some(answered_for) = answered_for {
        rendered.extensions_mut().insert(answered_for);
    }
    rendered
}
