//! `POST /v1/hooks/primero`: Primero's case webhook.
//!
//! Primero posts `{"data": {"record_id", "record_type": "case", ...the
//! fields its webhook role may read..., "last_updated_at"}}` with
//! `x-api-key: <secret>` or HTTP Basic, once per create or update, with no
//! retry. The body is mapped through the Primero profile in use, the case
//! screened and routed as of now, and the answer turned into Primero's own
//! requests; with a write-back configured, those are queued in the outbox
//! (nothing already delivered or waiting is queued again) and the answer
//! is 202, else 200 with the requests for the caller to send.
//!
//! Kinga's own write-back is an update, which Primero answers with another
//! webhook. It is evaluated like any other (Primero may have built its body
//! after a caseworker's edit that came just before), and its work is found
//! in the outbox's ledger: the same answer is never written twice, so the
//! loop ends there. Webhooks are rate-limited per peer address, before
//! their credentials are checked.

use std::sync::Arc;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::super::App;
use super::super::body::{JSON, parse_json, read_bounded, require_content_type};
use super::super::metrics::ResultLabels;
use super::super::problem::Problem;
use super::{Primero, WebhookAuth};
use crate::adapt::Platform;
use crate::adapt::outbound::{Answers, Target};
use crate::case::asof::{AsOf, EAST_AFRICA_TIME};
use crate::error::Error;
use crate::runtime::host::EvalOptions;

/// `POST /v1/hooks/primero`.
pub async fn primero(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_default();
    let outcome = match app.rate.check(&format!("primero-webhook:{peer}")) {
        Err(wait) => Err((
            "rate-limited",
            Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "too many requests: wait before trying again",
            )
            .retry_after(wait),
        )),
        Ok(()) => receive(Arc::clone(&app), parts.headers, body).await,
    };
    let (label, response) = match outcome {
        Ok((label, status, body)) => (label, (status, axum::Json(body)).into_response()),
        Err((label, problem)) => (label, problem.into_response()),
    };
    app.metrics
        .primero_webhooks
        .get_or_create(&ResultLabels {
            result: label.into(),
        })
        .inc();
    response
}

type Received = Result<(&'static str, StatusCode, Value), (&'static str, Problem)>;

async fn receive(app: Arc<App>, headers: HeaderMap, body: Body) -> Received {
    let Some(primero) = app.primero.get().cloned() else {
        return Err((
            "not-configured",
            Problem::new(
                StatusCode::NOT_FOUND,
                "not-configured",
                "this server takes no Primero webhook: configure [primero]",
            ),
        ));
    };
    authenticate(&primero, &headers).map_err(|p| ("unauthenticated", p))?;
    require_content_type(&headers, JSON).map_err(|p| ("refused", p))?;
    let limits = &app.config.limits;
    let bytes = read_bounded(&headers, body, limits.max_body_bytes, limits.body_timeout())
        .await
        .map_err(|p| ("refused", p))?;
    app.run_budgeted(limits.request_timeout(), move |app, budget| {
        answer(app, &primero, &bytes, budget)
    })
    .await
    .map_err(|p| ("failed", p))?
}

/// Checks Primero's credentials against the configured hash, in constant
/// time.
fn authenticate(primero: &Primero, headers: &HeaderMap) -> Result<(), Problem> {
    let presented = match primero.config.webhook_auth {
        WebhookAuth::ApiKey => headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        WebhookAuth::Basic => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok()),
    };
    let digest = presented.map(|secret| crate::storage::sha256_hex(secret.as_bytes()));
    let expected = primero.config.webhook_secret_sha256.as_bytes();
    let matches = digest.is_some_and(|d| {
        d.len() == expected.len()
            && d.bytes()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if matches {
        return Ok(());
    }
    tracing::warn!(target: "kinga::primero", "a webhook was refused: its credentials do not match");
    Err(Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "the webhook's credentials do not match this server's [primero] configuration",
    ))
}

fn answer(
    app: &App,
    primero: &Primero,
    bytes: &[u8],
    budget: Arc<crate::RequestBudget>,
) -> Received {
    let refused = |p| ("refused", p);
    let document = parse_json(bytes, app.config.limits.max_depth).map_err(refused)?;
    let (host, state) = app.live.current_with_state();
    let profile = app
        .profiles
        .get(app.store.as_ref(), &state, Platform::Primero)
        .map_err(|p| ("failed", p))?;
    let records = profile
        .map_value(&document)
        .map_err(|e| refused(Problem::from_error(&Error::Mapping(e), "")))?;
    let [record] = records.as_slice() else {
        return Err(refused(Problem::bad_request(
            "invalid-request",
            "",
            "a Primero webhook carries one case: {\"data\": {\"record_id\": ...}}",
        )));
    };
    let case = record
        .case
        .clone()
        .map_err(|e| refused(Problem::from_error(&Error::Mapping(e), "")))?;
    let as_of = AsOf::now(EAST_AFRICA_TIME);
    let options = EvalOptions::new(as_of)
        .isolate_failures(true)
        .budget(budget);
    let failed = |e: Error| ("failed", Problem::from_error(&e, ""));
    let decisions = host.evaluate_with(&case, &options).map_err(failed)?;
    let referrals = host.route_with(&case, &options).map_err(failed)?;
    // Counted as every other evaluation is; unlike `/v1/eligibility`, a
    // kind whose plugins all failed does not refuse the webhook: the other
    // kind's answer is still written back, and `errors` names the failures.
    app.metrics
        .evaluated(&decisions.outputs, &decisions.answered, &decisions.failures);
    app.metrics
        .evaluated(&[], &referrals.answered, &referrals.failures);
    let errors: Vec<_> = decisions
        .failures
        .iter()
        .chain(&referrals.failures)
        .map(Error::report)
        .collect();
    let answers = Answers {
        decisions: &decisions.outputs,
        referrals: &referrals.outputs,
        as_of,
    };
    let mut delivery = profile
        .deliver(Target::Primero, &case, answers)
        .map_err(|e| refused(Problem::from_error(&Error::Delivery(e), "")))?;
    let mut answer = json!({
        "case_id": case.case_id(),
        "as_of": as_of.to_rfc3339(),
        "decisions": decisions.outputs,
        "referrals": referrals.outputs,
        "errors": errors,
    });
    let (Some(write), Some(outbox)) = (&primero.config.write_back, &primero.outbox) else {
        answer["delivery"] = serde_json::to_value(&delivery).unwrap_or(Value::Null);
        return Ok(("answered", StatusCode::OK, answer));
    };
    if let Some(url) = &write.sync_url {
        for request in delivery.requests.iter_mut().filter(|r| r.method == "PATCH") {
            if let Some(data) = request.body.get_mut("data").and_then(Value::as_object_mut) {
                data.insert("mark_synced".into(), json!(true));
                data.insert("mark_synced_url".into(), json!(url));
                data.insert("mark_synced_status".into(), json!("synced"));
            }
        }
    }
    let queued = outbox
        .enqueue(case.case_id(), &delivery.requests)
        .map_err(|e| {
            tracing::error!(target: "kinga::primero", error = %e, "the outbox cannot be written");
            (
                "failed",
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "outbox-unavailable",
                    "the answer could not be queued: Primero may send the webhook again",
                ),
            )
        })?;
    if queued.queued > 0 {
        primero.wake();
    }
    answer["outbox"] = serde_json::to_value(queued).unwrap_or(Value::Null);
    answer["not_carried"] = serde_json::to_value(&delivery.not_carried).unwrap_or(Value::Null);
    Ok(("queued", StatusCode::ACCEPTED, answer))
}
