//! `POST /v1/eligibility` and `POST /v1/referrals`: one case, or a batch.
//!
//! The body is an envelope:
//! `{"case": {...}}` or `{"cases": [{...}, ...]}`, with optional `as_of`
//! (a date or an RFC 3339 date-time; default: now, East Africa Time),
//! `plugins` (ids; default: every plugin of the kind) and `trace`. The
//! answer echoes the as-of used, so a caller can store it and replay.
//! A bad case in a batch is answered in its place and never stops the
//! batch; a bad envelope refuses the whole request.
//!
//! A request is bounded as a whole, not only call by call (see
//! [`RequestBudget`]): once a batch's answers reach
//! [`max_answer_bytes`](super::config::HttpLimits::max_answer_bytes), its
//! remaining cases are answered `answers-too-large` without being
//! evaluated, and a request whose caller went away or whose time ran out
//! starts no further plugin call.
//!
//! A plugin that fails costs only its own answer: the others' decisions or
//! referrals are returned, and `errors` beside them names each plugin that
//! failed, with the class of its failure. Only when no plugin answered at
//! all is the case answered with the first failure as a problem.
//!
//! With `?from=PLATFORM` (see [`super::source`]) `case` and `cases` hold
//! the platform's own documents, each of which may hold several records
//! (a Primero list page): every record is answered with its `record`
//! pointer and `case_id`, what to `collect` in the platform's own field
//! names, and with `?to=` the platform's write-back (`delivery`). One
//! document holding one record is answered as one case.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::App;
use super::body::{JSON, parse_json, read_bounded, require_content_type};
use super::problem::Problem;
use super::request;
use super::source::Source;
use crate::RequestBudget;
use crate::adapt::outbound::Answers;
use crate::case::ValidCase;
use crate::case::asof::{AsOf, EAST_AFRICA_TIME};
use crate::runtime::host::{EvalOptions, Host};
use crate::runtime::output::{Decision, Referral};
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
pub async fn eligibility(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    evaluate(app, query, headers, body, Kind::Eligibility)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /v1/referrals`.
pub async fn referrals(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    evaluate(app, query, headers, body, Kind::Referral)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn evaluate(
    app: Arc<App>,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
    kind: Kind,
) -> Result<Response, Problem> {
    let from = super::source::parse(query.as_deref())?;
    require_content_type(&headers, JSON)?;
    let limits = &app.config.limits;
    let bytes = read_bounded(&headers, body, limits.max_body_bytes, limits.body_timeout()).await?;
    let answer = app
        .run_budgeted(limits.request_timeout(), move |app, budget| {
            evaluate_body(app, &bytes, kind, from, budget)
        })
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

/// The envelope as its request schema admits it.
#[derive(Deserialize)]
struct EnvelopeBody {
    case: Option<Value>,
    cases: Option<Vec<Value>>,
    as_of: Option<String>,
    plugins: Option<Vec<String>>,
    #[serde(default)]
    trace: bool,
}

fn parse_envelope(app: &App, host: &Host, bytes: &[u8], kind: Kind) -> Result<Envelope, Problem> {
    let body = parse_json(bytes, app.config.limits.max_depth)?;
    let max_batch = app.config.limits.max_batch;
    if body
        .get("cases")
        .and_then(Value::as_array)
        .is_some_and(|cases| cases.len() > max_batch)
    {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch-too-large",
            format!("the batch has more than {max_batch} cases"),
        )
        .at("/cases"));
    }
    let schema = match kind {
        Kind::Eligibility => request::eligibility(),
        Kind::Referral => request::referrals(),
    };
    let body: EnvelopeBody = schema.read(body, |pointer, _| {
        pointer.starts_with("/as_of").then_some("invalid-as-of")
    })?;
    let (cases, batch) = match (body.case, body.cases) {
        (Some(case), None) => (vec![("/case".to_owned(), case)], false),
        (None, Some(cases)) => {
            let cases = cases
                .into_iter()
                .enumerate()
                .map(|(i, case)| (format!("/cases/{i}"), case))
                .collect();
            (cases, true)
        }
        // The schema's oneOf admits exactly one of them.
        _ => {
            return Err(Problem::bad_request(
                "invalid-request",
                "",
                "the body needs case (one case) or cases (a batch), not both",
            ));
        }
    };
    let as_of = match body.as_of {
        None => AsOf::now(EAST_AFRICA_TIME),
        Some(text) => AsOf::parse(&text, EAST_AFRICA_TIME)
            .map_err(|e| Problem::from_error(&e, "").at("/as_of"))?,
    };
    let plugins = match body.plugins {
        None => None,
        Some(ids) => {
            for (i, id) in ids.iter().enumerate() {
                let known = host.plugins().any(|p| {
                    p.description().id == *id && p.description().kind == kind.plugin_kind()
                });
                if !known {
                    return Err(Problem::bad_request(
                        "unknown-plugin",
                        &format!("/plugins/{i}"),
                        format!(
                            "not the id of a loaded {} plugin",
                            kind.plugin_kind().as_str()
                        ),
                    ));
                }
            }
            Some(ids)
        }
    };
    Ok(Envelope {
        cases,
        batch,
        as_of,
        plugins,
        trace: body.trace,
    })
}

/// Parses, validates and evaluates (on a blocking thread), every plugin call
/// spending from the request's `budget`.
fn evaluate_body(
    app: &App,
    bytes: &[u8],
    kind: Kind,
    from: Option<(
        crate::adapt::Platform,
        Option<crate::adapt::outbound::Target>,
    )>,
    budget: Arc<RequestBudget>,
) -> Result<Value, Problem> {
    let (host, state) = app.live.current_with_state();
    let revision = state.revision;
    let source = match from {
        Some((platform, to)) => Some(Source {
            profile: app.profiles.get(app.store.as_ref(), &state, platform)?,
            to,
        }),
        None => None,
    };
    let envelope = parse_envelope(app, &host, bytes, kind)?;
    let mut options = EvalOptions::new(envelope.as_of)
        .trace(envelope.trace)
        .isolate_failures(true)
        .budget(budget);
    if let Some(plugins) = &envelope.plugins {
        options = options.plugins(plugins.iter().cloned());
    }
    let mut results = Vec::with_capacity(envelope.cases.len());
    for (pointer, document) in envelope.cases {
        let Some(source) = &source else {
            let outcome = ValidCase::from_value(document)
                .map_err(|rejection| {
                    Problem::from_error(&crate::error::Error::InvalidCase(rejection), &pointer)
                })
                .and_then(|case| {
                    evaluate_case(app, &host, &case, kind, &options)
                        .map_err(|e| Problem::from_error(&e, &pointer))
                });
            results.push((None, outcome));
            continue;
        };
        let mapped = source.profile.map_value(&document);
        // Records count against the batch limit, not documents: a page of
        // a thousand cases is a thousand evaluations.
        let max_batch = app.config.limits.max_batch;
        if let Ok(records) = &mapped
            && results.len() + records.len() > max_batch
        {
            return Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "batch-too-large",
                format!("the documents hold more than {max_batch} records"),
            )
            .at(&pointer));
        }
        match mapped {
            Err(rejection) => results.push((
                Some(pointer.clone()),
                Err(Problem::from_error(
                    &crate::error::Error::Mapping(rejection),
                    &pointer,
                )),
            )),
            Ok(records) => {
                for record in records {
                    let at = format!("{pointer}{}", record.pointer);
                    let outcome = record
                        .case
                        .map_err(crate::error::Error::Mapping)
                        .and_then(|case| {
                            let answer = evaluate_case(app, &host, &case, kind, &options)?;
                            in_platform_terms(source, &case, answer, envelope.as_of)
                        })
                        // Mapping problems already point into the document.
                        .map_err(|e| match e {
                            crate::error::Error::Mapping(_) => Problem::from_error(&e, &pointer),
                            _ => Problem::from_error(&e, &at),
                        });
                    results.push((Some(at), outcome));
                }
            }
        }
    }
    let mut answer = Map::new();
    answer.insert("as_of".into(), envelope.as_of.to_rfc3339().into());
    answer.insert("revision".into(), revision.into());
    if envelope.batch || results.len() != 1 {
        let items: Vec<Value> = results
            .into_iter()
            .map(|(record, result)| {
                let mut item = match result {
                    Ok(answer) => item(kind, answer, envelope.trace),
                    Err(problem) => {
                        let mut body = problem.body("");
                        if let Some(map) = body.as_object_mut() {
                            map.remove("correlation_id");
                        }
                        json!({ "error": body })
                    }
                };
                if let Some(record) = record {
                    item["record"] = record.into();
                }
                item
            })
            .collect();
        answer.insert("results".into(), items.into());
    } else {
        let (record, single) = results.pop().expect("one result");
        if let Value::Object(single) = item(kind, single?, envelope.trace) {
            answer.extend(single);
        }
        if let Some(record) = record {
            answer.insert("record".into(), record.into());
        }
    }
    Ok(Value::Object(answer))
}

/// A record's answer in the platform's terms: its case id, what to collect
/// in the platform's own field names, and (`?to=`) the write-back.
fn in_platform_terms(
    source: &Source,
    case: &ValidCase,
    mut answer: Answer,
    as_of: AsOf,
) -> Result<Answer, crate::error::Error> {
    let mut extra = Map::new();
    extra.insert("case_id".into(), case.case_id().into());
    let mut missing: Vec<&str> = answer
        .decisions
        .iter()
        .flat_map(|d| d.missing.iter().map(String::as_str))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        let collect: Vec<Value> = missing
            .into_iter()
            .map(|pointer| json!({"pointer": pointer, "collect": source.profile.collect_hint(pointer)}))
            .collect();
        extra.insert("collect".into(), collect.into());
    }
    if let Some(to) = source.to {
        let answers = Answers {
            decisions: &answer.decisions,
            referrals: &answer.referrals,
            as_of,
        };
        let delivery = source
            .profile
            .deliver(to, case, answers)
            .map_err(crate::error::Error::Delivery)?;
        extra.insert(
            "delivery".into(),
            serde_json::to_value(delivery).unwrap_or(Value::Null),
        );
    }
    answer.extra = extra;
    Ok(answer)
}

/// What one case's evaluation gives the caller.
struct Answer {
    outputs: Value,
    trace: Value,
    errors: Value,
    /// The decisions, typed (for a write-back).
    decisions: Vec<Decision>,
    /// The referrals, typed (for a write-back).
    referrals: Vec<Referral>,
    /// With `?from=`: `case_id`, `collect`, `delivery`.
    extra: Map<String, Value>,
}

fn item(kind: Kind, answer: Answer, with_trace: bool) -> Value {
    let mut item = Map::new();
    item.extend(answer.extra);
    item.insert(kind.field().into(), answer.outputs);
    item.insert("errors".into(), answer.errors);
    if with_trace {
        item.insert("trace".into(), answer.trace);
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
) -> Result<Answer, crate::error::Error> {
    let (mut decisions, mut referrals) = (Vec::new(), Vec::new());
    let (outputs, answered, mut failures, trace) = match kind {
        Kind::Eligibility => {
            let e = host.evaluate_with(case, options)?;
            app.metrics.evaluated(&e.outputs, &e.answered, &e.failures);
            let outputs = serde_json::to_value(&e.outputs);
            decisions = e.outputs;
            (outputs, e.answered, e.failures, e.trace)
        }
        Kind::Referral => {
            let e = host.route_with(case, options)?;
            app.metrics.evaluated(&[], &e.answered, &e.failures);
            let outputs = serde_json::to_value(&e.outputs);
            referrals = e.outputs;
            (outputs, e.answered, e.failures, e.trace)
        }
    };
    if answered.is_empty() && !failures.is_empty() {
        return Err(failures.remove(0));
    }
    let errors: Vec<_> = failures.iter().map(crate::error::Error::report).collect();
    Ok(Answer {
        outputs: outputs.unwrap_or(Value::Null),
        trace: trace.map_or(Value::Null, |t| {
            serde_json::to_value(t).unwrap_or(Value::Null)
        }),
        errors: serde_json::to_value(errors).unwrap_or(Value::Null),
        decisions,
        referrals,
        extra: Map::new(),
    })
}
