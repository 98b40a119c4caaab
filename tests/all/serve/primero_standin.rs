//! A stand-in for Primero's API v2, for the end-to-end tests: no real
//! Primero can run here, so this is written from Primero's documented API
//! and code as `docs/adapters.md` cites them, as faithfully as they allow:
//!
//! - `POST /api/v2/tokens` `{"user": {"user_name", "password"}}`: the JWT in
//!   the `Authorization` response header; more than 6 logins per user name
//!   per minute answer 429 (rack-attack);
//! - every other route takes HTTP Basic or that bearer token, else 401;
//! - `PATCH /api/v2/cases/:id` merges `services_section` rows by
//!   `unique_id` (a row without a known one is appended; `_destroy`
//!   removes), recomputes each row's `service_implemented`, strips
//!   `mark_synced*`, sets `last_updated_by`; an unknown
//!   `service_type` is a 422 `{"errors": [{code, resource, message,
//!   detail}]}`;
//! - `POST /api/v2/cases/:id/referrals` refuses (422) without consent
//!   (`consent_for_services` and `disclosure_other_orgs`) unless
//!   overridden, creates a new transition on every call, and marks the
//!   service row referred; `GET` lists them;
//! - after each update, like Primero's `after_update` webhook, it posts the
//!   case, wrapped, to the configured webhook URL.
//!
//! Tests can make the next write requests fail with a status (500, 503,
//! 429 with `Retry-After`), and read what arrived.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};

/// The service types of Primero's seed `lookup-service-type` (as the
/// research lists them, `seunification` [sic] included).
const SERVICE_TYPES: &[&str] = &[
    "child_protection_service",
    "education_service",
    "family_mediation_service",
    "family_seunification_service",
    "food_service",
    "health_medical_service",
    "legal_assistance_service",
    "livelihoods_service",
    "nfi_clothes_shoes_service",
    "other_service",
    "police_other_service",
    "psychosocial_service",
    "registration_service",
    "safehouse_service",
    "water_sanitation_service",
];

/// What the stand-in holds and saw.
#[derive(Default)]
pub struct Primero {
    /// Cases by id.
    pub cases: HashMap<String, Value>,
    /// Referral transitions by case id.
    pub transitions: HashMap<String, Vec<Value>>,
    /// The service account.
    pub user: (String, String),
    tokens: Vec<String>,
    logins: VecDeque<Instant>,
    /// Statuses the next write requests answer with (then normal again).
    pub fail_next: VecDeque<(u16, Option<u64>)>,
    /// Statuses the next referral requests answer with after saving the
    /// referral (Primero saved it, then failed or timed out answering).
    pub fail_after_save: VecDeque<u16>,
    /// Every write request: (method, path, status, when).
    pub writes: Vec<(String, String, u16, Instant)>,
    /// Logins made, and those refused with 429.
    pub logins_made: u32,
    /// Logins refused with 429.
    pub logins_refused: u32,
    /// Where to post the update webhook, and its API key.
    pub webhook: Option<(String, String)>,
    /// Sync statuses set (`mark_synced_status`), by case id.
    pub sync_marks: Vec<(String, String)>,
}

impl Primero {
    /// Successful PATCHes.
    pub fn patches_ok(&self) -> usize {
        self.writes
            .iter()
            .filter(|(m, _, s, _)| m == "PATCH" && *s == 200)
            .count()
    }

    /// The case's service rows.
    pub fn rows(&self, id: &str) -> Vec<Value> {
        self.cases[id]["services_section"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// A running stand-in.
pub struct StandIn {
    /// Its state.
    pub state: Arc<Mutex<Primero>>,
    /// `http://127.0.0.1:port`.
    pub url: String,
    _runtime: tokio::runtime::Runtime,
}

impl StandIn {
    /// Starts a stand-in holding `cases` (Primero's GET shape, by id), for
    /// the service account `user` with `password`.
    pub fn start(cases: Vec<Value>, user: &str, password: &str) -> StandIn {
        let mut primero = Primero {
            user: (user.into(), password.into()),
            ..Primero::default()
        };
        for case in cases {
            primero
                .cases
                .insert(case["id"].as_str().unwrap().to_owned(), case);
        }
        let state = Arc::new(Mutex::new(primero));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/api/v2/tokens", post(login))
            .route("/api/v2/cases/{id}", get(show).patch(update))
            .route("/api/v2/cases/{id}/referrals", get(referrals).post(refer))
            .with_state(Arc::clone(&state));
        runtime.spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        StandIn {
            state,
            url,
            _runtime: runtime,
        }
    }

    /// Waits until `ready` holds of the state (at most 30 s).
    pub fn wait_for(&self, what: &str, ready: impl Fn(&Primero) -> bool) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if ready(&self.state.lock().unwrap()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the stand-in never saw {what}");
    }
}

type Shared = State<Arc<Mutex<Primero>>>;

fn errors(status: StatusCode, code: &str, detail: &str) -> Response {
    (
        status,
        axum::Json(json!({"errors": [{"code": code, "resource": "/api/v2/cases", "message": code, "detail": detail}]})),
    )
        .into_response()
}

/// The user a request authenticates as, if any.
fn user(state: &Primero, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if let Some(token) = value.strip_prefix("Bearer ") {
        return state
            .tokens
            .iter()
            .any(|t| t == token)
            .then(|| state.user.0.clone());
    }
    let pair = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?)
        .ok()?;
    (String::from_utf8(pair).ok()? == format!("{}:{}", state.user.0, state.user.1))
        .then(|| state.user.0.clone())
}

async fn login(State(state): Shared, body: Bytes) -> Response {
    let mut state = state.lock().unwrap();
    let now = Instant::now();
    while state
        .logins
        .front()
        .is_some_and(|at| now.duration_since(*at) > Duration::from_secs(60))
    {
        state.logins.pop_front();
    }
    if state.logins.len() >= 6 {
        state.logins_refused += 1;
        return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "60")]).into_response();
    }
    state.logins.push_back(now);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let given = (
        body["user"]["user_name"].as_str().unwrap_or_default(),
        body["user"]["password"].as_str().unwrap_or_default(),
    );
    if (given.0, given.1) != (state.user.0.as_str(), state.user.1.as_str()) {
        return errors(StatusCode::UNAUTHORIZED, "401", "user_name");
    }
    state.logins_made += 1;
    let token = format!("jwt-{}", state.logins_made);
    state.tokens.push(token.clone());
    (
        StatusCode::OK,
        [(header::AUTHORIZATION, format!("Bearer {token}"))],
        axum::Json(json!({"id": 1, "user_name": given.0})),
    )
        .into_response()
}

async fn show(State(state): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let state = state.lock().unwrap();
    if user(&state, &headers).is_none() {
        return errors(StatusCode::UNAUTHORIZED, "401", "");
    }
    match state.cases.get(&id) {
        Some(case) => axum::Json(json!({"data": case})).into_response(),
        None => errors(StatusCode::NOT_FOUND, "404", "id"),
    }
}

/// A failure the test asked for, if any is left.
fn injected(state: &mut Primero, method: &str, path: &str) -> Option<Response> {
    let (status, after) = state.fail_next.pop_front()?;
    state
        .writes
        .push((method.into(), path.into(), status, Instant::now()));
    let status = StatusCode::from_u16(status).unwrap();
    Some(match after {
        Some(seconds) => (status, [(header::RETRY_AFTER, seconds.to_string())]).into_response(),
        None if status == StatusCode::UNPROCESSABLE_ENTITY => {
            errors(status, "errors.models.case.service_type", "service_type")
        }
        None => status.into_response(),
    })
}

async fn update(
    State(shared): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let webhook = {
        let mut state = shared.lock().unwrap();
        let Some(who) = user(&state, &headers) else {
            return errors(StatusCode::UNAUTHORIZED, "401", "");
        };
        let path = format!("/api/v2/cases/{id}");
        if let Some(failure) = injected(&mut state, "PATCH", &path) {
            return failure;
        }
        let Ok(body) = serde_json::from_slice::<Value>(&body) else {
            return errors(StatusCode::UNPROCESSABLE_ENTITY, "errors.json", "");
        };
        let Some(mut data) = body.get("data").and_then(Value::as_object).cloned() else {
            return errors(StatusCode::UNPROCESSABLE_ENTITY, "errors.data", "data");
        };
        if let Some(status) = data.get("mark_synced_status").and_then(Value::as_str) {
            state.sync_marks.push((id.clone(), status.to_owned()));
        }
        for key in ["mark_synced", "mark_synced_url", "mark_synced_status"] {
            data.remove(key);
        }
        let rows = data.remove("services_section");
        if let Some(Value::Array(rows)) = &rows
            && rows.iter().any(|r| {
                r.get("service_type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| !SERVICE_TYPES.contains(&t))
            })
        {
            state
                .writes
                .push(("PATCH".into(), path.clone(), 422, Instant::now()));
            return errors(
                StatusCode::UNPROCESSABLE_ENTITY,
                "errors.models.case.service_type",
                "service_type",
            );
        }
        let Some(case) = state.cases.get_mut(&id) else {
            return errors(StatusCode::NOT_FOUND, "404", "id");
        };
        for (key, value) in data {
            case[key] = value;
        }
        if let Some(Value::Array(rows)) = rows {
            let existing = case["services_section"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut merged = existing;
            for row in rows {
                let id = row.get("unique_id").cloned();
                let at = id
                    .as_ref()
                    .and_then(|id| merged.iter().position(|r| r.get("unique_id") == Some(id)));
                let destroy = row.get("_destroy").is_some_and(|d| d == &json!(true));
                match (at, destroy) {
                    (Some(at), true) => {
                        merged.remove(at);
                    }
                    (Some(at), false) => {
                        for (k, v) in row.as_object().unwrap() {
                            merged[at][k] = v.clone();
                        }
                    }
                    (None, _) => merged.push(row),
                }
            }
            // Primero recomputes `service_implemented` on save: implemented
            // iff the row has an implementation time (serviceable.rb).
            for row in &mut merged {
                let implemented = row
                    .get("service_implemented_day_time")
                    .is_some_and(|t| !t.is_null());
                row["service_implemented"] = json!(if implemented {
                    "implemented"
                } else {
                    "not_implemented"
                });
            }
            case["services_section"] = Value::Array(merged);
        }
        case["last_updated_by"] = json!(who);
        let case = case.clone();
        state
            .writes
            .push(("PATCH".into(), path, 200, Instant::now()));
        state.webhook.clone().map(|(url, key)| (url, key, case))
    };
    if let Some((url, key, case)) = webhook {
        let mut data = case.clone();
        data["record_id"] = case["id"].clone();
        data["record_type"] = json!("case");
        // Primero's WebhookJob runs after the update; so does this.
        std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let _ = agent
                .post(&url)
                .header("x-api-key", &key)
                .header("content-type", "application/json")
                .send(json!({"data": data}).to_string());
        });
    }
    let state = shared.lock().unwrap();
    axum::Json(json!({"data": state.cases[&id]})).into_response()
}

async fn referrals(State(state): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let state = state.lock().unwrap();
    if user(&state, &headers).is_none() {
        return errors(StatusCode::UNAUTHORIZED, "401", "");
    }
    let listed = state.transitions.get(&id).cloned().unwrap_or_default();
    axum::Json(json!({"data": listed})).into_response()
}

async fn refer(
    State(state): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut state = state.lock().unwrap();
    let Some(who) = user(&state, &headers) else {
        return errors(StatusCode::UNAUTHORIZED, "401", "");
    };
    let path = format!("/api/v2/cases/{id}/referrals");
    if let Some(failure) = injected(&mut state, "POST", &path) {
        return failure;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let data = &body["data"];
    let Some(case) = state.cases.get_mut(&id) else {
        return errors(StatusCode::NOT_FOUND, "404", "id");
    };
    let consent =
        case["consent_for_services"] == json!(true) && case["disclosure_other_orgs"] == json!(true);
    if !consent && data["consent_overridden"] != json!(true) {
        state
            .writes
            .push(("POST".into(), path, 422, Instant::now()));
        return errors(
            StatusCode::UNPROCESSABLE_ENTITY,
            "errors.models.transition.consent",
            "consent",
        );
    }
    if let Some(rows) = case["services_section"].as_array_mut()
        && let Some(row) = rows
            .iter_mut()
            .find(|r| r.get("unique_id") == data.get("service_record_id"))
    {
        row["service_status_referred"] = json!(true);
    }
    let transitions = state.transitions.entry(id.clone()).or_default();
    let transition = json!({
        "id": format!("t{}", transitions.len() + 1),
        "type": "Referral",
        "record_id": id,
        "record_type": "case",
        "transitioned_to": data["transitioned_to"],
        "transitioned_by": who,
        "service_record_id": data["service_record_id"],
        "status": "in_progress",
    });
    transitions.push(transition.clone());
    if let Some(status) = state.fail_after_save.pop_front() {
        state
            .writes
            .push(("POST".into(), path, status, Instant::now()));
        return StatusCode::from_u16(status).unwrap().into_response();
    }
    state
        .writes
        .push(("POST".into(), path, 200, Instant::now()));
    axum::Json(json!({"data": transition})).into_response()
}
