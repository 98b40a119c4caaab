//! Who may call what: bearer tokens with roles, deny by default, and a
//! per-caller rate limit.
//!
//! Tokens are long random secrets, so the configuration keeps only their
//! SHA-256 (a leaked configuration does not leak a token) and a lookup
//! hashes the presented token. Every `/v1` route except the OpenAPI document
//! sits behind [`guard`] with the roles it admits; a route without a guard
//! does not exist. On administration routes, a known token refused for its
//! role (403) is audited under its principal; refusals that name nobody
//! (401) or come in a flood (429) are tallied and audited as summaries
//! (see [`refusals`](super::refusals)).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use super::config::{Role, TokenEntry};
use super::problem::Problem;
use super::{AnsweredFor, App};
use crate::admin::{Request as AdminRequest, StateStore};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The name the audit trail records.
    pub name: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// Whether reports come without small-cell suppression.
    pub unpublished_figures: bool,
}

/// The tokens, by the SHA-256 of the secret.
#[derive(Debug, Default)]
pub struct Tokens {
    by_hash: HashMap<[u8; 32], Arc<Principal>>,
}

impl Tokens {
    /// The table of the configured tokens (already checked).
    pub fn new(entries: &[TokenEntry]) -> Tokens {
        let by_hash = entries
            .iter()
            .filter_map(|entry| {
                let hash: [u8; 32] = hex::decode(&entry.sha256).ok()?.try_into().ok()?;
                let principal = Principal {
                    name: entry.principal.clone(),
                    roles: entry.roles.clone(),
                    unpublished_figures: entry.unpublished_figures,
                };
                Some((hash, Arc::new(principal)))
            })
            .collect();
        Tokens { by_hash }
    }

    /// The principal of an `Authorization` header value, if it is a known
    /// bearer token.
    fn lookup(&self, authorization: &[u8]) -> Result<Arc<Principal>, &'static str> {
        let text = std::str::from_utf8(authorization).map_err(|_| "malformed")?;
        let (scheme, token) = text.split_once(' ').ok_or("malformed")?;
        if !scheme.eq_ignore_ascii_case("bearer")
            || token.is_empty()
            || token.len() > 512
            || !token.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err("malformed");
        }
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.by_hash.get(&hash).cloned().ok_or("unknown")
    }
}

/// Makes a new token: 32 random bytes, hex, with a recognisable prefix (so
/// secret scanners find a leaked one). Returns the token and its SHA-256.
///
/// # Errors
/// The system's random source failed.
pub fn new_token() -> Result<(String, String), getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let token = format!("kinga_{}", hex::encode(bytes));
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    Ok((token, hash))
}

/// Requests per second per caller.
pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl RateLimit {
    /// `per_second` sustained, `burst` at once.
    pub fn new(per_second: u32, burst: u32) -> RateLimit {
        let quota = Quota::per_second(NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        RateLimit {
            limiter: RateLimiter::keyed(quota),
        }
    }

    /// `Err(seconds to wait)` when `key` is over its rate.
    pub(crate) fn check(&self, key: &str) -> Result<(), u64> {
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| {
                not_until
                    .wait_time_from(DefaultClock::default().now())
                    .as_secs_f64()
                    .ceil() as u64
            })
    }

    /// Forgets callers that have been quiet (keeps the table small).
    pub fn forget_quiet(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The roles a group of routes admits, and whether its refusals are
/// audited.
#[derive(Debug, Clone, Copy)]
pub struct Gate {
    /// Any of these roles may pass.
    pub roles: &'static [Role],
    /// Refusals go into the administration audit trail.
    pub audited: bool,
}

/// Authenticates, rate-limits and authorises a request for `gate`; puts the
/// [`Principal`] into the request's extensions.
pub async fn guard(
    State((app, gate)): State<(Arc<App>, Gate)>,
    request: Request,
    next: Next,
) -> Response {
    let principal = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .map(|value| app.tokens.lookup(value.as_bytes()));
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_default();
    let rate_key = match &principal {
        Some(Ok(p)) => format!("token:{}", p.name),
        _ => format!("addr:{peer}"),
    };
    let refusal = match (&principal, app.rate.check(&rate_key)) {
        (_, Err(wait)) => Some(
            Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "too many requests: wait before trying again",
            )
            .retry_after(wait),
        ),
        (None, _) => Some(Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "this resource needs an Authorization: Bearer token",
        )),
        (Some(Err(why)), _) => Some(Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            format!("the bearer token is {why}"),
        )),
        (Some(Ok(p)), _) if !p.roles.iter().any(|r| gate.roles.contains(r)) => {
            let wanted: Vec<&str> = gate.roles.iter().map(|r| r.as_str()).collect();
            Some(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this resource needs the role {}", wanted.join(" or ")),
            ))
        }
        (Some(Ok(_)), Ok(())) => None,
    };
    let Some(problem) = refusal else {
        let Some(Ok(principal)) = principal else {
            unreachable!("a request passes only with a principal")
        };
        let name = principal.name.clone();
        let mut request = request;
        request.extensions_mut().insert(principal);
        let mut response = next.run(request).await;
        response.extensions_mut().insert(AnsweredFor(name));
        return response;
    };
    if gate.audited {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        let method = request.method().as_str().to_owned();
        match &principal {
            // A known principal without the role is accountable: audited.
            Some(Ok(p)) if problem.status != StatusCode::TOO_MANY_REQUESTS => {
                let action = serde_json::json!({
                    "action": "http",
                    "method": method,
                    "route": route,
                });
                let (store, actor, detail) =
                    (app.store.clone(), p.name.clone(), problem.detail.clone());
                let audited = tokio::task::spawn_blocking(move || {
                    audit_refusal(&store, &actor, action, &detail)
                })
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r);
                if let Err(e) = audited {
                    tracing::error!(target: "kinga::http", error = %e, "a refused administration request could not be audited");
                }
            }
            // Nobody, or a flood: tallied, audited as a summary.
            _ => {
                if let Some(summary) = app.refusals.note(&method, &route, problem.status.as_u16()) {
                    let app = Arc::clone(&app);
                    let _ = tokio::task::spawn_blocking(move || app.audit_refusals(summary)).await;
                }
            }
        }
    }
    let mut response = problem.into_response();
    if let Some(Ok(p)) = principal {
        response
            .extensions_mut()
            .insert(AnsweredFor(p.name.clone()));
    }
    response
}

fn audit_refusal(
    store: &Option<StateStore>,
    actor: &str,
    action: serde_json::Value,
    detail: &str,
) -> Result<(), String> {
    let Some(store) = store else { return Ok(()) };
    let request = AdminRequest {
        actor: actor.to_owned(),
        reason: "(refused before the request was read)".to_owned(),
        expected_revision: None,
    };
    store
        .refuse(&request, action, detail)
        .map_err(|e| e.to_string())
}
