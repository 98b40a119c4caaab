//! `POST /v1/eligibility` and `POST /v1/referrals`: one case, or a batch.
//!
//! The body is an envelope:
//! `{"case": {...}}` or `{"cases": [{...}, ...]}`, with optional `as_of`
//! (a date or an RFC 3339 date-time; default: now, East Africa Time),
//! `plugins` (ids; default: every plugin of the kind) and `trace`. The
//! answer echoes the as-of used, so a caller can store it and replay.
//! A bad case in a batch is answered in its place and never stops the
//! batch; a bad envelope refuses the whole request.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::App;
use super::body::{JSON, parse_json, read_bounded, require_content_type};
use super::problem::Problem;
use crate::case::ValidCase;
use crate::case::asof::{AsOf, EAST_AFRICA_TIME};
use crate::runtime::host::{EvalOptions, Host};
use crate::runtime::plugin::PluginKind;

/// Which evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Eligibility decisions.
    Eligibility,
    /// Referrals.
    Referral,
}

impl Kind {
    fn field(self) -> &'static str {
        match self {
            Kind::Eligibility => "decisions",
            Kind::Referral => "referrals",
        }
    }

    fn plugin_kind(self) -> PluginKind {
        match self {
            Kind::Eligibility => PluginKind::Eligibility,
            Kind::Referral => PluginKind::Referral,
        }
    }
}

/// `POST /v1/eligibility`.
pub async fn eligibility(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    evaluate(app, headers, body, Kind::Eligibility)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /v1/referrals`.
pub async fn referrals(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    evaluate(app, headers, body, Kind::Referral)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn evaluate(
    app: Arc<App>,
    headers: HeaderMap,
    body: Body,
    kind: Kind,
) -> Result<Response, Problem> {
    require_content_type(&headers, JSON)?;
    let limits = &app.config.limits;
    let bytes = read_bounded(&headers, body, limits.max_body_bytes, limits.body_timeout()).await?;
    let answer = app
        .run_blocking(move |app| evaluate_body(app, &bytes, kind))
        .await??;
    Ok(Json(answer).into_response())
}

/// The parsed envelope.
struct Envelope {
    cases: Vec<(String, Value)>,
    batch: bool,
    as_of: AsOf,
    plugins: Option<Vec<String>>,
    trace: bool,
}

fn parse_envelope(app: &App, host: &Host, bytes: &[u8], kind: Kind) -> Result<Envelope, Problem> {
    let Value::Object(mut body) = parse_json(bytes, app.config.limits.max_depth)? else {
        return Err(Problem::bad_request(
            "invalid-request",
            "",
            "the body must be a JSON object with `case` or `cases`",
        ));
    };
    if let Some(unknown) = body
        .keys()
        .find(|k| !["case", "cases", "as_of", "plugins", "trace"].contains(&k.as_str()))
    {
        return Err(Problem::bad_request(
            "invalid-request",
            &format!("/{}", crate::case::json::escape_token(unknown)),
            "this member is not part of the request (expected case or cases, as_of, plugins, trace)",
        ));
    }
    let (cases, batch) = match (body.remove("case"), body.remove("cases")) {
        (Some(case), None) => (vec![("/case".to_owned(), case)], false),
        (None, Some(Value::Array(cases))) => {
            if cases.len() > app.config.limits.max_batch {
                return Err(Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "batch-too-large",
                    format!(
                        "the batch has more than {} cases",
                        app.config.limits.max_batch
                    ),
                )
                .at("/cases"));
            }
            let cases = cases
                .into_iter()
                .enumerate()
                .map(|(i, case)| (format!("/cases/{i}"), case))
                .collect();
            (cases, true)
        }
        (None, Some(_)) => {
            return Err(Problem::bad_request(
                "invalid-request",
                "/cases",
                "cases must be an array",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(Problem::bad_request(
                "invalid-request",
                "/cases",
                "give case or cases, not both",
            ));
        }
        (None, None) => {
            return Err(Problem::bad_request(
                "invalid-request",
                "",
                "the body needs case (one case) or cases (a batch)",
            ));
        }
    };
    let as_of = match body.remove("as_of") {
        None => AsOf::now(EAST_AFRICA_TIME),
        Some(Value::String(text)) => AsOf::parse(&text, EAST_AFRICA_TIME)
            .map_err(|e| Problem::from_error(&e, "").at("/as_of"))?,
        Some(_) => {
            return Err(Problem::bad_request(
                "invalid-as-of",
                "/as_of",
                "as_of must be a string: YYYY-MM-DD or an RFC 3339 date-time",
            ));
        }
    };
    let plugins = match body.remove("plugins") {
        None => None,
        Some(Value::Array(ids)) => {
            let mut chosen = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                let known = id.as_str().filter(|id| {
                    host.plugins().any(|p| {
                        p.description().id == *id && p.description().kind == kind.plugin_kind()
                    })
                });
                let Some(id) = known else {
                    return Err(Problem::bad_request(
                        "unknown-plugin",
                        &format!("/plugins/{i}"),
                        format!(
                            "not the id of a loaded {} plugin",
                            kind.plugin_kind().as_str()
                        ),
                    ));
                };
                chosen.push(id.to_owned());
            }
            Some(chosen)
        }
        Some(_) => {
            return Err(Problem::bad_request(
                "invalid-request",
                "/plugins",
                "plugins must be an array of plugin ids",
            ));
        }
    };
    let trace = match body.remove("trace") {
        None => false,
        Some(Value::Bool(trace)) => trace,
        Some(_) => {
            return Err(Problem::bad_request(
                "invalid-request",
                "/trace",
                "trace must be true or false",
            ));
        }
    };
    Ok(Envelope {
        cases,
        batch,
        as_of,
        plugins,
        trace,
    })
}

/// Parses, validates and evaluates (on a blocking thread).
fn evaluate_body(app: &App, bytes: &[u8], kind: Kind) -> Result<Value, Problem> {
    let (host, revision) = app.live.current();
    let envelope = parse_envelope(app, &host, bytes, kind)?;
    let mut options = EvalOptions::new(envelope.as_of).trace(envelope.trace);
    if let Some(plugins) = &envelope.plugins {
        options = options.plugins(plugins.iter().cloned());
    }
    let mut results = Vec::with_capacity(envelope.cases.len());
    for (pointer, case) in envelope.cases {
        let outcome = ValidCase::from_value(case)
            .map_err(|rejection| {
                Problem::from_error(&crate::error::Error::InvalidCase(rejection), &pointer)
            })
            .and_then(|case| {
                evaluate_case(app, &host, &case, kind, &options)
                    .map_err(|e| Problem::from_error(&e, &pointer))
            });
        results.push(outcome);
    }
    let mut answer = Map::new();
    answer.insert("as_of".into(), envelope.as_of.to_rfc3339().into());
    answer.insert("revision".into(), revision.into());
    if envelope.batch {
        let items: Vec<Value> = results
            .into_iter()
            .map(|result| match result {
                Ok((outputs, trace)) => item(kind, outputs, trace, envelope.trace),
                Err(problem) => {
                    let mut body = problem.body("");
                    if let Some(map) = body.as_object_mut() {
                        map.remove("correlation_id");
                    }
                    json!({ "error": body })
                }
            })
            .collect();
        answer.insert("results".into(), items.into());
    } else {
        let (outputs, trace) = results.pop().expect("one case")?;
        if let Value::Object(single) = item(kind, outputs, trace, envelope.trace) {
            answer.extend(single);
        }
    }
    Ok(Value::Object(answer))
}

fn item(kind: Kind, outputs: Value, trace: Value, with_trace: bool) -> Value {
    let mut item = Map::new();
    item.insert(kind.field().into(), outputs);
    if with_trace {
        item.insert("trace".into(), trace);
    }
    Value::Object(item)
}

/// One case through the host, counted in the metrics.
fn evaluate_case(
    app: &App,
    host: &Host,
    case: &ValidCase,
    kind: Kind,
    options: &EvalOptions,
) -> Result<(Value, Value), crate::error::Error> {
    let outcome = match kind {
        Kind::Eligibility => host.evaluate_with(case, options).map(|e| {
            for decision in &e.outputs {
                let status = serde_json::to_value(decision.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                app.metrics
                    .decisions
                    .get_or_create(&super::metrics::DecisionLabels {
                        plugin: decision.plugin.clone(),
                        status,
                    })
                    .inc();
            }
            (serde_json::to_value(&e.outputs), e.trace)
        }),
        Kind::Referral => host
            .route_with(case, options)
            .map(|e| (serde_json::to_value(&e.outputs), e.trace)),
    };
    match outcome {
        Ok((outputs, trace)) => {
            // Every plugin of the kind that was selected and is switched on
            // answered (a failure of any one fails the evaluation).
            let selected = |id: &String| {
                options
                    .plugins
                    .as_ref()
                    .is_none_or(|only| only.contains(id))
            };
            app.metrics.calls_ok(
                host.plugins()
                    .filter(|p| p.switched_on())
                    .map(crate::runtime::plugin::LoadedPlugin::description)
                    .filter(|d| d.kind == kind.plugin_kind() && selected(&d.id))
                    .map(|d| d.id.as_str()),
            );
            Ok((
                outputs.unwrap_or(Value::Null),
                trace.map_or(Value::Null, |t| {
                    serde_json::to_value(t).unwrap_or(Value::Null)
                }),
            ))
        }
        Err(e) => {
            app.metrics.call_failed(&e);
            Err(e)
        }
    }
}
