//! `POST /v1/reports/{template}`: a JSON Lines stream of cases in, a
//! report out.
//!
//! Template parameters come in the query string (`?period=2026-Q3`), next
//! to three reserved names: `publish` (suppress small cells even for a
//! caller allowed unpublished figures), `suppress_below` (the threshold,
//! default 5; below it only for a caller allowed unpublished figures), `skip_invalid` (leave invalid cases out and count them
//! instead of refusing the report) and `from` (the lines are a platform's
//! own documents, read through the mapping profile in use: see
//! [`super::source`]). Cases are read as they arrive, on a
//! blocking thread, one bounded line at a time: memory does not grow with
//! the number of cases. Nothing is answered before the last case is read,
//! so an invalid case refuses the whole report (400, with its line).
//!
//! The format follows `Accept`: `application/json` (the default),
//! `text/csv` or `text/markdown`. Small cells are suppressed unless the
//! caller's token carries `unpublished_figures`.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::App;
use super::auth::Principal;
use super::body::{
    JSON_LINES, LineStream, StreamFault, StreamLimits, check_declared_length, require_content_type,
};
use super::problem::Problem;
use crate::adapt::MappedLines;
use crate::case::ValidCase;
use crate::case::asof::{AsOf, EAST_AFRICA_TIME};
use crate::case::jsonl::CaseLines;
use crate::error::Error;
use crate::runtime::render::{Format, render};

/// The smallest count published as it is, unless the caller may see
/// unpublished figures: a caller without them may raise the threshold,
/// never lower it.
pub const DEFAULT_SUPPRESS_BELOW: u64 = 5;

/// What the query string asks.
struct ReportQuery {
    parameters: Vec<(String, String)>,
    publish: bool,
    suppress_below: u64,
    skip_invalid: bool,
    /// `from`: the lines are this platform's documents.
    from: Option<crate::adapt::Platform>,
    /// `to=dhis2`: the report also as a DHIS2 data value set.
    to_dhis2: bool,
}

fn parse_query(raw: Option<&str>) -> Result<ReportQuery, Problem> {
    let mut query = ReportQuery {
        parameters: Vec::new(),
        publish: false,
        suppress_below: DEFAULT_SUPPRESS_BELOW,
        skip_invalid: false,
        from: None,
        to_dhis2: false,
    };
    let flag = |name: &str, value: &str| match value {
        "true" | "1" | "" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-parameters",
            format!("the query parameter {name} must be true or false"),
        )),
    };
    for (name, value) in form_pairs(raw.unwrap_or_default())? {
        match name.as_str() {
            "publish" => query.publish = flag(&name, &value)?,
            "skip_invalid" => query.skip_invalid = flag(&name, &value)?,
            "to" if value == "dhis2" => query.to_dhis2 = true,
            "to" => {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid-parameters",
                    "reports go to DHIS2 only: to=dhis2",
                ));
            }
            "from" => {
                query.from = Some(crate::adapt::Platform::from_name(&value).ok_or_else(|| {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "invalid-parameters",
                        "from must be primero, cpims-crs, cpims-record or dhis2",
                    )
                })?);
            }
            "suppress_below" => {
                query.suppress_below = value.parse().ok().filter(|n| *n >= 2).ok_or_else(|| {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "invalid-parameters",
                        "suppress_below must be a whole number of at least 2",
                    )
                })?;
            }
            _ => {
                if query.parameters.iter().any(|(n, _)| *n == name) {
                    return Err(Problem::new(
                        StatusCode::BAD_REQUEST,
                        "invalid-parameters",
                        format!("the parameter {name} is given twice"),
                    ));
                }
                query.parameters.push((name, value));
            }
        }
    }
    Ok(query)
}

/// Decodes `a=b&c=d`, refusing malformed percent escapes and non-UTF-8.
pub(super) fn form_pairs(raw: &str) -> Result<Vec<(String, String)>, Problem> {
    let malformed = || {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-parameters",
            "the query string is malformed",
        )
    };
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |text: &str| -> Result<String, Problem> {
                let bytes = text.as_bytes();
                let mut out = Vec::with_capacity(bytes.len());
                let mut i = 0;
                while i < bytes.len() {
                    match bytes[i] {
                        b'+' => out.push(b' '),
                        b'%' => {
                            let hex = bytes.get(i + 1..i + 3).ok_or_else(malformed)?;
                            let hex = std::str::from_utf8(hex).map_err(|_| malformed())?;
                            out.push(u8::from_str_radix(hex, 16).map_err(|_| malformed())?);
                            i += 2;
                        }
                        b => out.push(b),
                    }
                    i += 1;
                }
                String::from_utf8(out).map_err(|_| malformed())
            };
            let name = decode(name)?;
            if name.is_empty() {
                return Err(malformed());
            }
            Ok((name, decode(value)?))
        })
        .collect()
}

/// The format `Accept` asks for (406 when none is offered).
fn negotiate(headers: &HeaderMap) -> Result<(Format, &'static str), Problem> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Ok((Format::Json, "application/json"));
    };
    let accept = accept.to_str().unwrap_or_default();
    for range in accept.split(',') {
        let essence = range
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json" | "application/*" | "*/*" => {
                return Ok((Format::Json, "application/json"));
            }
            "text/csv" => return Ok((Format::Csv, "text/csv; charset=utf-8")),
            "text/markdown" | "text/*" => {
                return Ok((Format::Markdown, "text/markdown; charset=utf-8"));
            }
            _ => {}
        }
    }
    Err(Problem::new(
        StatusCode::NOT_ACCEPTABLE,
        "not-acceptable",
        "reports are offered as application/json, text/csv or text/markdown",
    ))
}

/// `POST /v1/reports/{template}`.
pub async fn report(
    State(app): State<Arc<App>>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(template): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    build(app, principal, template, query, headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn build(
    app: Arc<App>,
    principal: Arc<Principal>,
    template: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    require_content_type(&headers, JSON_LINES)?;
    let (format, media_type) = negotiate(&headers)?;
    let query = parse_query(query.as_deref())?;
    if query.to_dhis2 && format != Format::Json {
        return Err(Problem::new(
            StatusCode::NOT_ACCEPTABLE,
            "not-acceptable",
            "a report for DHIS2 (to=dhis2) is offered as application/json only",
        ));
    }
    if query.suppress_below < DEFAULT_SUPPRESS_BELOW && !principal.unpublished_figures {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "suppress_below below {DEFAULT_SUPPRESS_BELOW} needs a token with unpublished_figures: it can be raised, never lowered"
            ),
        ));
    }
    let limits = &app.config.limits;
    check_declared_length(&headers, limits.max_report_bytes)?;
    let lines = LineStream::start(
        body,
        StreamLimits {
            max_bytes: limits.max_report_bytes,
            idle: limits.body_timeout(),
            min_bytes_per_second: limits.min_upload_bytes_per_second,
        },
    );
    let fault = lines.fault();
    let suppress = query.publish || !principal.unpublished_figures;
    let text = app
        .run_budgeted(limits.report_timeout(), move |app, budget| {
            let (host, state) = app.live.current_with_state();
            let profile = match query.from {
                Some(platform) => Some(app.profiles.get(app.store.as_ref(), &state, platform)?),
                None => None,
            };
            let mut run = host
                .report(&template, &query.parameters, AsOf::now(EAST_AFRICA_TIME))
                .map_err(Problem::from)?
                .budget(budget);
            let mut skipped = 0u64;
            let broken = || fault.get().map_or(StreamFault::Broken, |f| *f).problem();
            let mut add = |line: u64, case: Result<ValidCase, Error>| -> Result<(), Problem> {
                match case.and_then(|case| run.add(&case)) {
                    Ok(()) => Ok(()),
                    Err(Error::InvalidCase(_) | Error::CaseVersion { .. } | Error::Mapping(_))
                        if query.skip_invalid =>
                    {
                        skipped += 1;
                        Ok(())
                    }
                    Err(e @ (Error::InvalidCase(_) | Error::CaseVersion { .. } | Error::Mapping(_))) => {
                        let mut problem = Problem::from_error(&e, "").with("line", line);
                        problem.detail = format!(
                            "line {line}: {}; nothing was reported (skip_invalid=true leaves invalid cases out)",
                            problem.detail
                        );
                        Err(problem)
                    }
                    Err(e) => {
                        app.metrics.call_failed(&e);
                        Err(Problem::from_error(&e, "").with("line", line))
                    }
                }
            };
            match &profile {
                None => {
                    for line in CaseLines::new(lines) {
                        let line = line.map_err(|_| broken())?;
                        add(line.line, line.case.map_err(Error::InvalidCase))?;
                    }
                }
                Some(profile) => {
                    for record in MappedLines::new(profile, lines) {
                        let record = record.map_err(|_| broken())?;
                        add(record.line, record.case.map_err(Error::Mapping))?;
                    }
                }
            }
            let mut report = run.finish().map_err(|e| {
                app.metrics.call_failed(&e);
                Problem::from(e)
            })?;
            if suppress {
                report.suppress_small_cells(query.suppress_below);
            }
            if query.to_dhis2 {
                let profile =
                    app.profiles
                        .get(app.store.as_ref(), &state, crate::adapt::Platform::Dhis2)?;
                let period = query
                    .parameters
                    .iter()
                    .find(|(name, _)| name == "period")
                    .map_or("", |(_, value)| value.as_str());
                let delivery = profile
                    .deliver_report(&report, period)
                    .map_err(|e| Problem::from_error(&Error::Delivery(e), ""))?;
                let text = serde_json::json!({"report": report, "delivery": delivery}).to_string();
                return Ok::<_, Problem>((text, skipped));
            }
            Ok::<_, Problem>((render(&report, format), skipped))
        })
        .await?;
    let (text, skipped) = text?;
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert("kinga-skipped-cases", HeaderValue::from(skipped));
    headers.insert(
        "kinga-suppressed",
        HeaderValue::from_static(if suppress { "true" } else { "false" }),
    );
    Ok(response)
}
