//! The JSON HTTP service (`kinga serve`): the sidecar case platforms call.
//!
//! # Shape
//! - `/v1` on the public listener: evaluation (`POST /v1/eligibility`,
//!   `/v1/referrals`, `/v1/reports/{template}`), reading (`GET /v1/plugins`,
//!   `/v1/openapi.json`), administration (`PATCH /v1/plugins/...`,
//!   `POST /v1/packages`, `GET /v1/audit`); see `openapi.json` beside this
//!   file for every request and answer.
//! - `/healthz`, `/readyz`, `/metrics` on the operations listener.
//!
//! # Why these choices
//! - **Stateless evaluation.** A request carries its case; nothing of it is
//!   kept once answered. Replicas share only the administration directory
//!   (see `docs/deploy.md`), which each polls for a newer revision.
//! - **Blocking work off the reactor.** Plugin calls are CPU-bound and
//!   synchronous, so each evaluation runs on tokio's blocking pool behind a
//!   semaphore ([`config::HttpLimits::max_concurrent_evaluations`]); a
//!   request that cannot get a place in time is answered 503 with
//!   `Retry-After` instead of queueing without bound.
//! - **hyper directly** (not `axum::serve`), for what a hostile network
//!   needs: a header-read timeout against slow clients, a cap on the
//!   request head (431), a connection cap, TLS, and graceful shutdown.
//! - **One error schema**: RFC 9457 problem details ([`problem`]), rendered
//!   in one place for every error, including the framework's own.

// A `Problem` is built at most once per refused request, never in a loop:
// boxing it to please `result_large_err` would buy nothing.
#![allow(clippy::result_large_err)]

pub mod admin;
pub mod audit;
pub mod auth;
pub mod body;
pub mod config;
pub mod context;
pub mod evaluate;
pub mod listener;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod plugins;
pub mod primero;
pub mod problem;
pub mod profiles;
pub mod refusals;
pub mod reports;
pub mod request;
pub mod source;
pub mod staging;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};

use crate::Error;
use crate::RequestBudget;
use crate::admin::LiveHost;
use crate::admin::StateStore;
use auth::{Gate, RateLimit, Tokens};
use config::Role;
pub use config::{ConfigError, ServeConfig};
pub use listener::ServeError;
use problem::Problem;

/// Cancels a request's budget when the request's future is dropped.
struct CancelOnDrop(Arc<RequestBudget>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// The principal a response was answered for, for the request log.
#[derive(Debug, Clone)]
pub struct AnsweredFor(pub String);

/// Everything a request handler shares.
pub struct App {
    /// The configuration.
    pub config: ServeConfig,
    /// The host, reloadable.
    pub live: LiveHost,
    /// The administration state store, when there is an administration
    /// directory.
    pub store: Option<StateStore>,
    /// The token table.
    pub tokens: Tokens,
    /// The per-caller rate limit.
    pub rate: RateLimit,
    /// The metrics.
    pub metrics: metrics::Metrics,
    /// Places for evaluations running at once.
    pub evaluations: Arc<tokio::sync::Semaphore>,
    /// Set when shutdown began: `/readyz` answers 503.
    pub draining: AtomicBool,
    /// Refused administration requests nobody accountable made, not yet
    /// audited.
    pub refusals: refusals::RefusalTally,
    /// The compiled mapping profile in use per platform (`?from=`).
    pub profiles: source::ProfileCache,
    /// Primero's webhook and write-back, when configured (set at start).
    pub primero: std::sync::OnceLock<Arc<primero::Primero>>,
}

impl App {
    /// The shared state of a server with `config` serving `live`.
    pub fn new(config: ServeConfig, live: LiveHost) -> Arc<App> {
        let store = live.deployment().state_store();
        let tokens = Tokens::new(&config.tokens);
        let rate = RateLimit::new(config.limits.rate_per_second, config.limits.rate_burst);
        let evaluations = Arc::new(tokio::sync::Semaphore::new(
            config.limits.max_concurrent_evaluations,
        ));
        let metrics = metrics::Metrics::new();
        metrics.revision.set(live.revision() as i64);
        Arc::new(App {
            config,
            live,
            store,
            tokens,
            rate,
            metrics,
            evaluations,
            draining: AtomicBool::new(false),
            refusals: refusals::RefusalTally::default(),
            profiles: source::ProfileCache::default(),
            primero: std::sync::OnceLock::new(),
        })
    }

    /// Runs `work` on the blocking pool once a place is free; 503 with
    /// `Retry-After` when none frees up within the queue timeout.
    ///
    /// # Errors
    /// The 503, or a 500 when the work panicked.
    pub async fn run_blocking<R: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&App) -> R + Send + 'static,
    ) -> Result<R, Problem> {
        let queue_timeout = self.config.limits.queue_timeout();
        let permit =
            tokio::time::timeout(queue_timeout, Arc::clone(&self.evaluations).acquire_owned())
                .await
                .ok()
                .and_then(Result::ok)
                .ok_or_else(|| {
                    Problem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "overloaded",
                        "every evaluation place is busy: try again shortly",
                    )
                    .retry_after(1)
                })?;
        let app = Arc::clone(self);
        app.metrics.in_flight.inc();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let result = work(&app);
            app.metrics.in_flight.dec();
            result
        })
        .await;
        joined.map_err(|_| {
            tracing::error!(target: "kinga::http", "an evaluation panicked");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server could not complete the request",
            )
        })
    }

    /// [`App::run_blocking`] with a [`RequestBudget`] for the work's plugin
    /// calls, bounded by [`config::HttpLimits::request_limits`] and
    /// `deadline`. The budget is cancelled when the request is dropped (its
    /// caller went away, or its time ran out), so that the evaluation place
    /// is given back at the next plugin call instead of when the work would
    /// have ended.
    ///
    /// # Errors
    /// As [`App::run_blocking`].
    pub async fn run_budgeted<R: Send + 'static>(
        self: &Arc<Self>,
        deadline: std::time::Duration,
        work: impl FnOnce(&App, Arc<RequestBudget>) -> R + Send + 'static,
    ) -> Result<R, Problem> {
        let budget = Arc::new(RequestBudget::new(
            self.config.limits.request_limits(deadline),
        ));
        let _cancel_when_dropped = CancelOnDrop(Arc::clone(&budget));
        self.run_blocking(move |app| work(app, budget)).await
    }

    /// Audits a summary of unattributed refusals (blocking).
    pub fn audit_refusals(&self, summary: refusals::Summary) {
        let Some(store) = &self.store else { return };
        if let Err(e) = summary.audit(store) {
            tracing::error!(target: "kinga::http", error = %e, "refused administration requests could not be audited");
        }
    }

    /// Audits the tallied refusals if a summary is due, or with `now`
    /// whatever is tallied (blocking).
    pub fn audit_due_refusals(&self, now: bool) {
        if let Some(summary) = self.refusals.due(now) {
            self.audit_refusals(summary);
        }
    }

    /// Reloads the host (plugins, packages, state), counting the result.
    ///
    /// # Errors
    /// Why the new host could not be built; the last good host stays.
    pub fn reload(&self) -> Result<u64, Error> {
        let result = self.live.reload();
        self.count_reload(result.is_ok());
        result
    }

    /// Reloads when another process changed the administration state.
    pub fn reload_if_changed(&self) {
        match self.live.reload_if_changed() {
            Ok(None) => {}
            Ok(Some(_)) => self.count_reload(true),
            Err(_) => self.count_reload(false),
        }
    }

    fn count_reload(&self, succeeded: bool) {
        let label = if succeeded { "ok" } else { "failed" };
        self.metrics
            .reloads
            .get_or_create(&metrics::ResultLabels {
                result: label.into(),
            })
            .inc();
        self.metrics.revision.set(self.live.revision() as i64);
    }
}

const EVALUATE: Gate = Gate {
    roles: &[Role::Evaluator],
    audited: false,
};
const READ: Gate = Gate {
    roles: &[Role::Evaluator, Role::Admin, Role::Auditor],
    audited: false,
};
const ADMINISTER: Gate = Gate {
    roles: &[Role::Admin],
    audited: true,
};
const AUDIT: Gate = Gate {
    roles: &[Role::Admin, Role::Auditor],
    audited: false,
};

/// The public router: `/v1`, plus the operations routes when
/// `ops_on_public` is set.
pub fn public_router(app: Arc<App>) -> Router {
    let guarded = |gate: Gate, routes: Router<Arc<App>>| {
        routes.route_layer(from_fn_with_state((Arc::clone(&app), gate), auth::guard))
    };
    let evaluate = guarded(
        EVALUATE,
        Router::new()
            .route("/v1/eligibility", post(evaluate::eligibility))
            .route("/v1/referrals", post(evaluate::referrals))
            .route("/v1/reports/{template}", post(reports::report)),
    );
    let read = guarded(
        READ,
        Router::new()
            .route("/v1/plugins", get(plugins::list))
            .route("/v1/plugins/{id}", get(plugins::show))
            .route("/v1/profiles", get(profiles::list))
            .route("/v1/profiles/{platform}", get(profiles::show)),
    );
    let administer = guarded(
        ADMINISTER,
        Router::new()
            .route("/v1/plugins/{id}", patch(admin::patch_plugin))
            .route("/v1/plugins/{id}/rules/{rule}", patch(admin::patch_rule))
            .route("/v1/plugins/{id}/settings", patch(admin::patch_settings))
            .route("/v1/plugins/{id}/rollback", post(admin::rollback))
            .route("/v1/plugins/{id}/close-breaker", post(admin::close_breaker))
            .route("/v1/packages", post(admin::install))
            .route("/v1/profiles/{platform}", put(admin::put_profile))
            .route("/v1/profiles/{platform}/reset", post(admin::reset_profile)),
    );
    let audit = guarded(
        AUDIT,
        Router::new()
            .route("/v1/audit", get(audit::audit))
            .route("/v1/audit/verify", get(audit::verify)),
    );
    let mut router = Router::new()
        .route("/v1/openapi.json", get(openapi_document))
        .route("/v1/hooks/primero", post(primero::hook::primero))
        .merge(evaluate)
        .merge(read)
        .merge(administer)
        .merge(audit);
    if app.config.ops_on_public {
        router = router.merge(ops_routes());
    }
    finish(router, app)
}

/// The operations router.
pub fn ops_router(app: Arc<App>) -> Router {
    finish(ops_routes(), app)
}

fn ops_routes() -> Router<Arc<App>> {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
}

/// The fallbacks and the outermost layer every router shares.
fn finish(router: Router<Arc<App>>, app: Arc<App>) -> Router {
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(Arc::clone(&app), context::context))
        .with_state(app)
}

async fn openapi_document() -> Response {
    axum::Json(openapi::document()).into_response()
}

async fn not_found() -> Problem {
    Problem::for_status(StatusCode::NOT_FOUND)
}

async fn method_not_allowed() -> Problem {
    Problem::for_status(StatusCode::METHOD_NOT_ALLOWED)
}

/// Runs the service until a shutdown signal (see [`listener::run`]).
///
/// # Errors
/// A configuration the server refuses, or a listener that cannot bind.
pub async fn run(config: ServeConfig, live: LiveHost) -> Result<(), listener::ServeError> {
    listener::run(config, live).await
}
