//! Primero's API as the outbox meets it: a service account's
//! authentication, one request, and what its answer means for a retry.
//!
//! - `login = "basic"` (the default, and what the research recommends):
//!   HTTP Basic on every request; no login, so no login limit.
//! - `login = "token"`: `POST /api/v2/tokens` once, the JWT (which Primero
//!   returns in the `Authorization` response header) reused until 55
//!   minutes have passed or Primero answers 401. Primero allows 6 logins
//!   per user name per minute (429 beyond): Kinga makes at most 5, and
//!   waits out a 429's `Retry-After`.
//!
//! An answer is delivered (2xx), to be retried (429 and 503 after their
//! `Retry-After`, other 5xx, 408, a transport error), or refused for good
//! (any other 4xx: a case that does not exist, a 422 naming Primero's
//! error codes). Nothing of a body is kept but Primero's error codes.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use super::WriteBack;

/// Logins allowed in any minute (Primero refuses the 7th).
const LOGINS_PER_MINUTE: usize = 5;
/// How long a token is reused (Primero's expire after 60 minutes).
const TOKEN_LIFETIME: Duration = Duration::from_secs(55 * 60);

/// What one request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered; the body as JSON, when it is JSON.
    Delivered(Value),
    /// Try again, not before `after` (when Primero said).
    Retry {
        /// Why (a status, a transport error class).
        why: String,
        /// Primero's `Retry-After`, if it gave one.
        after: Option<Duration>,
    },
    /// Refused for good.
    Refused(String),
}

/// A Primero API client for one service account.
pub struct Client {
    agent: ureq::Agent,
    base_url: String,
    user: String,
    password: String,
    token_login: bool,
    token: Option<(String, Instant)>,
    logins: VecDeque<Instant>,
}

impl Client {
    /// A client for `config`, with the service account's `password`.
    pub fn new(config: &WriteBack, password: String) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(config.timeout_seconds)))
            .build()
            .into();
        Client {
            agent,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            user: config.user.clone(),
            password,
            token_login: config.login == super::Login::Token,
            token: None,
            logins: VecDeque::new(),
        }
    }

    /// Sends `method path` with `body`.
    pub fn send(&mut self, method: &str, path: &str, body: Option<&Value>) -> Outcome {
        let authorization = match self.authorization() {
            Ok(authorization) => authorization,
            Err(outcome) => return outcome,
        };
        let outcome = self.call(method, path, body, &authorization);
        if self.token_login
            && matches!(&outcome, Outcome::Refused(why) if why.starts_with("HTTP 401"))
        {
            // The token expired early (another login ended its session):
            // log in again, once.
            self.token = None;
            return match self.authorization() {
                Ok(authorization) => self.call(method, path, body, &authorization),
                Err(outcome) => outcome,
            };
        }
        outcome
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>, authorization: &str) -> Outcome {
        let url = format!("{}{path}", self.base_url);
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("authorization", authorization)
            .header("accept", "application/json");
        let response = match body {
            Some(body) => self.agent.run(
                request
                    .header("content-type", "application/json")
                    .body(body.to_string().into_bytes())
                    .unwrap_or_default(),
            ),
            None => self.agent.run(request.body(()).unwrap_or_default()),
        };
        classify(response)
    }

    /// The `Authorization` header: Basic, or a bearer token (logging in
    /// when there is none fresh).
    fn authorization(&mut self) -> Result<String, Outcome> {
        if !self.token_login {
            let pair = format!("{}:{}", self.user, self.password);
            return Ok(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            ));
        }
        if let Some((token, at)) = &self.token
            && at.elapsed() < TOKEN_LIFETIME
        {
            return Ok(format!("Bearer {token}"));
        }
        let now = Instant::now();
        while self
            .logins
            .front()
            .is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(60))
        {
            self.logins.pop_front();
        }
        if self.logins.len() >= LOGINS_PER_MINUTE {
            let wait = Duration::from_secs(60).saturating_sub(now.duration_since(self.logins[0]));
            return Err(Outcome::Retry {
                why: "Primero allows few logins a minute: waiting for the next".into(),
                after: Some(wait),
            });
        }
        self.logins.push_back(now);
        let body = serde_json::json!({"user": {"user_name": self.user, "password": self.password}});
        let response = self.agent.run(
            ureq::http::Request::builder()
                .method("POST")
                .uri(format!("{}/api/v2/tokens", self.base_url))
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .body(body.to_string().into_bytes())
                .unwrap_or_default(),
        );
        let response = match response {
            Ok(response) => response,
            Err(e) => return Err(transport(&e)),
        };
        let status = response.status().as_u16();
        if status == 429 {
            return Err(Outcome::Retry {
                why: "HTTP 429 at login".into(),
                after: Some(retry_after(response.headers()).unwrap_or(Duration::from_secs(60))),
            });
        }
        let header = response
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        match header {
            Some(token) if (200..300).contains(&status) => {
                self.token = Some((token.clone(), Instant::now()));
                Ok(format!("Bearer {token}"))
            }
            _ if status >= 500 => Err(Outcome::Retry {
                why: format!("HTTP {status} at login"),
                after: None,
            }),
            _ => Err(Outcome::Refused(format!(
                "HTTP {status} at login: the service account was refused (check its user name and password file)"
            ))),
        }
    }
}

/// A transport failure: always worth another try.
fn transport(error: &ureq::Error) -> Outcome {
    let class = match error {
        ureq::Error::Timeout(_) => "timed out",
        ureq::Error::Io(_) | ureq::Error::ConnectionFailed => "could not connect",
        ureq::Error::HostNotFound => "host not found",
        _ => "transport error",
    };
    Outcome::Retry {
        why: format!("Primero {class}"),
        after: None,
    }
}

fn retry_after(headers: &ureq::http::HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(3600)))
}

fn classify(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Outcome {
    let mut response = match response {
        Ok(response) => response,
        Err(e) => return transport(&e),
    };
    let status = response.status().as_u16();
    let after = retry_after(response.headers());
    let body: Value = response
        .body_mut()
        .with_config()
        .limit(4 << 20)
        .read_to_string()
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    match status {
        200..=299 => Outcome::Delivered(body),
        429 | 503 => Outcome::Retry {
            why: format!("HTTP {status}"),
            after,
        },
        408 | 500..=599 => Outcome::Retry {
            why: format!("HTTP {status}"),
            after: None,
        },
        _ => {
            // Primero's 422: {"errors": [{code, resource, message, detail}]};
            // only the codes are kept (a message may quote a value).
            let codes: Vec<&str> = body
                .get("errors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("code").and_then(Value::as_str))
                .filter(|code| code.len() <= 64 && code.bytes().all(|b| b.is_ascii_graphic()))
                .collect();
            if codes.is_empty() {
                Outcome::Refused(format!("HTTP {status}"))
            } else {
                Outcome::Refused(format!("HTTP {status}: {}", codes.join(", ")))
            }
        }
    }
}
