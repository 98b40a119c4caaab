//! Reading the plugins, and administering them: the same operations and
//! guarantees as the CLI (see [`crate::admin::apply`]).
//!
//! Every change names a `reason` in its body and the revision it was
//! prepared against in `If-Match` (the `ETag` of `GET /v1/plugins`); a
//! change without `If-Match` is refused with 428, against another revision
//! with 412, so two administrators never overwrite each other unseen.
//! `If-Match: *` takes whatever revision is current. Every request, allowed
//! or refused, is in the audit trail under the token's principal; after an
//! accepted change this replica reloads at once (others within their
//! reload interval).

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::App;
use super::auth::Principal;
use super::body::{JSON, parse_json, read_bounded, require_content_type};
use super::plugins::{plugin_view, unknown_plugin, with_etag};
use super::problem::Problem;
use super::request::{self, Issue, RequestSchema};
use crate::admin::{AdminError, Change, Request};
use crate::runtime::host::Host;

/// Members a client may read but never write.
const READ_ONLY: &[&str] = &[
    "id",
    "name",
    "kind",
    "version",
    "purpose",
    "contract",
    "content_sha256",
    "rules",
    "templates",
    "case_fields",
    "settings_schema",
    "default_settings",
    "settings_set_by_administrator",
    "checks_settings",
    "case_version",
    "settings_refusals",
    "title",
    "description",
    "set_by",
];

/// The revision `If-Match` names: `Some(n)`, or `None` for `*`.
fn expected_revision(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Err(Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition-required",
            "a change needs If-Match with the ETag of the state it was prepared against (or *)",
        ));
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/")
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-if-match",
                "If-Match must be an ETag such as \"7\", or *",
            )
        })
}

/// A change's body, checked against its operation's request schema (see
/// [`super::request`]): the reason, and the other members. A read-only
/// member of a plugin gets its own code; so does a missing reason.
fn change_body(
    bytes: &[u8],
    app: &App,
    schema: &RequestSchema,
) -> Result<(String, Map<String, Value>), Problem> {
    let body = parse_json(bytes, app.config.limits.max_depth)?;
    let mut body: Map<String, Value> = schema.read(body, |pointer, issue| match issue {
        Issue::Missing if pointer == "/reason" => Some("missing-reason"),
        Issue::NotAllowed if READ_ONLY.contains(&pointer.trim_start_matches('/')) => {
            Some("read-only")
        }
        _ => None,
    })?;
    let reason = match body.remove("reason") {
        Some(Value::String(reason)) if !reason.trim().is_empty() => reason,
        _ => {
            return Err(Problem::bad_request(
                "invalid-request",
                "/reason",
                "reason must be a non-empty string of at most 1000 characters",
            ));
        }
    };
    if reason.chars().any(crate::text::is_unsafe_char) {
        return Err(Problem::bad_request(
            "invalid-request",
            "/reason",
            "reason must not contain control or bidirectional-override characters",
        ));
    }
    Ok((reason, body))
}

fn required_bool(body: &mut Map<String, Value>, key: &str) -> Result<bool, Problem> {
    match body.remove(key) {
        Some(Value::Bool(b)) => Ok(b),
        _ => Err(Problem::bad_request(
            "invalid-request",
            &format!("/{key}"),
            format!("{key} must be true or false"),
        )),
    }
}

/// An administration route: its body limit, how the audit trail names it,
/// and the request schema of its body.
struct Route {
    limit: usize,
    describe: Value,
    schema: &'static RequestSchema,
}

impl Route {
    /// A route with a JSON body of at most `max_body_bytes`, acting on
    /// `plugin`.
    fn json(app: &App, route: &str, plugin: &str, schema: &'static RequestSchema) -> Route {
        Route {
            limit: app.config.limits.max_body_bytes,
            describe: json!({"action": "http", "route": route, "plugin": plugin}),
            schema,
        }
    }
}

/// What an administration handler does with a parsed request: the change
/// to apply (or a package to install).
enum Action {
    Change(Change),
    /// A change to check and show, old → new, without applying it.
    Preview(Change),
    Install {
        /// The uploaded package.
        staged: super::staging::Staged,
        /// Whether a lower version may replace the one in use.
        allow_downgrade: bool,
    },
    /// A mapping profile (already checked) to keep and put in use.
    SetProfile {
        /// The platform it reads.
        platform: crate::adapt::Platform,
        /// The document, as it will be kept.
        document: Vec<u8>,
    },
}

/// Runs an administrative request: reads the body, builds the action,
/// applies it, reloads, answers. Refusals before the change reached the
/// state store are audited here; the store audits the rest itself.
async fn administer(
    app: Arc<App>,
    principal: Arc<Principal>,
    request: (HeaderMap, Body),
    what: Route,
    build: impl FnOnce(&App, &Host, String, Map<String, Value>) -> Result<(String, Action), Problem>
    + Send
    + 'static,
) -> Response {
    let (headers, body) = request;
    let Route {
        limit,
        describe,
        schema,
    } = what;
    let Some(store) = app.store.clone() else {
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-administration",
            "this server has no administration directory",
        )
        .into_response();
    };
    let read = async {
        require_content_type(&headers, JSON)?;
        let expected = expected_revision(&headers)?;
        let bytes = read_bounded(&headers, body, limit, app.config.limits.body_timeout()).await?;
        Ok::<_, Problem>((expected, bytes))
    };
    let early = read.await;
    let outcome = app
        .run_blocking(move |app| {
            let refuse = |problem: Problem, reason: &str| {
                let request = Request {
                    actor: principal.name.clone(),
                    reason: reason.to_owned(),
                    expected_revision: None,
                };
                if let Err(e) = store.refuse(&request, describe.clone(), &problem.detail) {
                    tracing::error!(target: "kinga::http", error = %e, "a refused administration request could not be audited");
                }
                problem
            };
            let (expected, bytes) = early.map_err(|p| refuse(p, "(refused before the request was read)"))?;
            let (host, _) = app.live.current();
            let (reason, fields) = change_body(&bytes, app, schema)
                .map_err(|p| refuse(p, "(refused before the request was read)"))?;
            let (reason, action) = build(app, &host, reason.clone(), fields).map_err(|p| refuse(p, &reason))?;
            let request = Request {
                actor: principal.name.clone(),
                reason,
                expected_revision: expected,
            };
            let changes = match &action {
                Action::Change(change) | Action::Preview(change) => {
                    crate::admin::setting_changes(&host, change)
                }
                Action::Install { .. } | Action::SetProfile { .. } => Vec::new(),
            };
            let applied = match action {
                Action::Preview(change) => {
                    let checked = crate::admin::preview(&store, &host, &request, &change)
                        .map_err(|e| admin_problem(&e, &host, &change_target(&describe)))?;
                    let revision = checked.revision.saturating_sub(1);
                    return Ok((
                        json!({"dry_run": true, "revision": revision, "change": change, "changes": changes}),
                        revision,
                    ));
                }
                Action::Change(change) => crate::admin::apply(&store, &host, &request, &change)
                    .map(|state| (state, change)),
                Action::Install {
                    staged,
                    allow_downgrade,
                } => {
                    let options = crate::admin::InstallOptions {
                        allow_unsigned: app.config.allow_unsigned_packages,
                        allow_downgrade,
                    };
                    let installed =
                        crate::admin::install(&store, &host, staged.dir(), options, &request);
                    drop(staged);
                    installed
                }
                Action::SetProfile { platform, document } => store
                    .set_profile(&request, platform, &document)
                    .map(|state| {
                        let change = Change::SetProfile {
                            platform: platform.name().to_owned(),
                            profile: state.profiles[platform.name()].clone(),
                        };
                        (state, change)
                    }),
            };
            let (state, change) = applied.map_err(|e| admin_problem(&e, &host, &change_target(&describe)))?;
            let reload = app.reload();
            // The plugin as served now, described by the state it was
            // built from (the written state if the reload succeeded).
            let (host, served) = app.live.current_with_state();
            let revision = served.revision;
            let plugin = host
                .plugins()
                .find(|p| p.description().id == change.plugin())
                .map(|p| plugin_view(p, &served));
            let mut answer = json!({
                "revision": state.revision,
                "change": change,
                "changes": changes,
                "plugin": plugin,
                "serving_revision": revision,
                "reload": reload.err().map(|e| e.to_string()),
            });
            if let Change::SetProfile { platform, .. } | Change::ResetProfile { platform } = &change
                && let Some(platform) = crate::adapt::Platform::from_name(platform)
            {
                let profile = super::profiles::in_use(Some(&store), &served, platform)?;
                answer["profile"] = profile.view();
            }
            Ok::<_, Problem>((answer, state.revision))
        })
        .await;
    match outcome {
        Ok(Ok((body, revision))) => with_etag(body, revision),
        Ok(Err(problem)) | Err(problem) => problem.into_response(),
    }
}

fn change_target(describe: &Value) -> String {
    describe
        .get("plugin")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn admin_problem(error: &AdminError, host: &Host, plugin: &str) -> Problem {
    match error {
        AdminError::StaleRevision { current, .. } => Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "stale-revision",
            error.to_string(),
        )
        .with("current_revision", *current),
        AdminError::MissingAccountability(_) => {
            Problem::bad_request("missing-reason", "/reason", error.to_string())
        }
        AdminError::Invalid(_) if !plugin.is_empty() && host.plugin(plugin).is_none() => {
            unknown_plugin()
        }
        AdminError::Invalid(message) => {
            Problem::new(StatusCode::BAD_REQUEST, "change-refused", message.clone())
        }
        AdminError::InvalidProfile(rejection) => {
            Problem::from(crate::Error::InvalidProfile(rejection.clone()))
        }
        AdminError::Io(_) | AdminError::Key(_) => {
            tracing::error!(target: "kinga::http", error = %error, "administration failed");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server could not complete the request",
            )
        }
    }
}

/// `PATCH /v1/plugins/{id}`: `{"enabled": bool, "reason": "..."}`.
pub async fn patch_plugin(
    State(app): State<Arc<App>>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = Route::json(&app, "PATCH /v1/plugins/{id}", &id, request::patch_plugin());
    administer(
        app,
        principal,
        (headers, body),
        route,
        move |_, _, reason, mut fields| {
            let enabled = required_bool(&mut fields, "enabled")?;
            let change = if enabled {
                Change::EnablePlugin { plugin: id }
            } else {
                Change::DisablePlugin { plugin: id }
            };
            Ok((reason, Action::Change(change)))
        },
    )
    .await
}

/// `PATCH /v1/plugins/{id}/rules/{rule}`: `{"enabled": bool, "reason": "..."}`.
pub async fn patch_rule(
    State(app): State<Arc<App>>,
    Extension(principal): Extension<Arc<Principal>>,
    Path((id, rule)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = Route::json(
        &app,
        "PATCH /v1/plugins/{id}/rules/{rule}",
        &id,
        request::patch_rule(),
    );
    administer(
        app,
        principal,
        (headers, body),
        route,
        move |_, host, reason, mut fields| {
            let enabled = required_bool(&mut fields, "enabled")?;
            let known = host
                .plugin(&id)
                .ok_or_else(unknown_plugin)?
                .rules
                .iter()
                .any(|r| r.id == rule);
            if !known {
                return Err(Problem::new(
                    StatusCode::NOT_FOUND,
                    "unknown-rule",
                    "the plugin has no rule with this id",
                ));
            }
            let change = if enabled {
                Change::EnableRule { plugin: id, rule }
            } else {
                Change::DisableRule { plugin: id, rule }
            };
            Ok((reason, Action::Change(change)))
        },
    )
    .await
}

/// `PATCH /v1/plugins/{id}/settings`: `{"settings": {...}, "reset": [...],
/// "reason": "...", "dry_run": false}`: settings laid over the current ones,
/// and keys reset to their defaults, checked against the plugin's settings
/// schema. The answer lists each setting old → new; with `dry_run` nothing
/// is applied or audited.
pub async fn patch_settings(
    State(app): State<Arc<App>>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = Route::json(
        &app,
        "PATCH /v1/plugins/{id}/settings",
        &id,
        request::patch_settings(),
    );
    administer(
        app,
        principal,
        (headers, body),
        route,
        move |_, host, reason, mut fields| {
            host.plugin(&id).ok_or_else(unknown_plugin)?;
            // The request schema has checked the shapes: an object of
            // settings, a list of distinct keys to reset, one of them given.
            let settings = match fields.remove("settings") {
                Some(Value::Object(settings)) => settings,
                _ => Map::new(),
            };
            let reset = match fields.remove("reset") {
                Some(Value::Array(keys)) => keys
                    .into_iter()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            let change = Change::SetSettings {
                plugin: id,
                settings,
                reset,
            };
            if fields.remove("dry_run") == Some(Value::Bool(true)) {
                return Ok((reason, Action::Preview(change)));
            }
            Ok((reason, Action::Change(change)))
        },
    )
    .await
}

/// `POST /v1/plugins/{id}/rollback`: `{"reason": "..."}`.
pub async fn rollback(
    State(app): State<Arc<App>>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = Route::json(
        &app,
        "POST /v1/plugins/{id}/rollback",
        &id,
        request::rollback(),
    );
    let change = Change::Rollback { plugin: id };
    reason_only(app, principal, (headers, body), route, change).await
}

/// `POST /v1/plugins/{id}/close-breaker`: `{"reason": "..."}`.
pub async fn close_breaker(
    State(app): State<Arc<App>>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = Route::json(
        &app,
        "POST /v1/plugins/{id}/close-breaker",
        &id,
        request::close_breaker(),
    );
    let change = Change::CloseBreaker { plugin: id };
    reason_only(app, principal, (headers, body), route, change).await
}

/// `PUT /v1/profiles/{platform}`: `{"profile": {...}, "reason": "..."}`:
/// the mapping profile the platform is read with from now on, checked
/// first (every problem, its pointer under `/profile`), kept by hash.
pub async fn put_profile(
    State(app): State<Arc<App>>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut route = Route::json(
        &app,
        "PUT /v1/profiles/{platform}",
        "",
        request::put_profile(),
    );
    // A profile may be as large as MAX_PROFILE_BYTES, whatever the
    // limit of other bodies.
    route.limit = route
        .limit
        .max(crate::adapt::MAX_PROFILE_BYTES + (64 << 10));
    route.describe["platform"] = json!(name);
    administer(
        app,
        principal,
        (headers, body),
        route,
        move |_, _, reason, mut fields| {
            let platform = super::profiles::platform_named(&name)?;
            let value = fields.remove("profile").unwrap_or(Value::Null);
            let mut document = serde_json::to_string_pretty(&value).unwrap_or_default();
            document.push('\n');
            if let Err(rejection) = crate::adapt::Profile::parse_for(platform, document.as_bytes())
            {
                let mut problem = Problem::from(crate::Error::InvalidProfile(rejection.clone()));
                problem.errors = rejection
                    .violations
                    .into_iter()
                    .map(|mut v| {
                        v.pointer = format!("/profile{}", v.pointer);
                        v
                    })
                    .collect();
                return Err(problem);
            }
            Ok((
                reason,
                Action::SetProfile {
                    platform,
                    document: document.into_bytes(),
                },
            ))
        },
    )
    .await
}

/// `POST /v1/profiles/{platform}/reset`: `{"reason": "..."}`: the platform
/// is read with its bundled profile again.
pub async fn reset_profile(
    State(app): State<Arc<App>>,
    Extension(principal): Extension<Arc<Principal>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut route = Route::json(
        &app,
        "POST /v1/profiles/{platform}/reset",
        "",
        request::reset_profile(),
    );
    route.describe["platform"] = json!(name);
    administer(
        app,
        principal,
        (headers, body),
        route,
        move |_, _, reason, _| {
            let platform = super::profiles::platform_named(&name)?;
            let change = Change::ResetProfile {
                platform: platform.name().to_owned(),
            };
            Ok((reason, Action::Change(change)))
        },
    )
    .await
}

/// A change whose request body holds nothing but its reason.
async fn reason_only(
    app: Arc<App>,
    principal: Arc<Principal>,
    request: (HeaderMap, Body),
    route: Route,
    change: Change,
) -> Response {
    administer(app, principal, request, route, move |_, _, reason, _| {
        Ok((reason, Action::Change(change)))
    })
    .await
}

/// `POST /v1/packages`: `{"manifest": {...}, "component": "<base64>",
/// "fixtures": {"NAME.json": "<base64>"}, "reason": "...",
/// "allow_downgrade": false}` — a package as `kinga plugins sign` writes it.
pub async fn install(
    State(app): State<Arc<App>>,
    Extension(principal): Extension<Arc<Principal>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = app.config.limits.max_package_bytes;
    let describe = json!({"action": "install", "route": "POST /v1/packages"});
    administer(app, principal, (headers, body), Route { limit, describe, schema: request::install() }, |app, _, reason, mut fields| {
        let Some(manifest @ Value::Object(_)) = fields.remove("manifest") else {
            return Err(Problem::bad_request("invalid-request", "/manifest", "manifest must be the package's manifest object"));
        };
        let Some(Value::String(encoded)) = fields.remove("component") else {
            return Err(Problem::bad_request("invalid-request", "/component", "component must be the component's bytes in base64"));
        };
        let component = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map_err(|_| Problem::bad_request("invalid-request", "/component", "component is not valid base64"))?;
        let mut fixtures = std::collections::BTreeMap::new();
        if let Some(Value::Object(encoded)) = fields.remove("fixtures") {
            for (name, text) in encoded {
                let bytes = text
                    .as_str()
                    .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t.as_bytes()).ok())
                    .ok_or_else(|| Problem::bad_request("invalid-request", "/fixtures/*", "each fixture must be its file's bytes in base64"))?;
                fixtures.insert(name, bytes);
            }
        }
        let home = app.store.as_ref().map(|s| s.dir().to_owned()).unwrap_or_default();
        let staged = super::staging::Staged::new(&home, &manifest, &component, &fixtures).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidInput {
                return Problem::bad_request("invalid-request", "/fixtures/*", "a fixture's name must be a plain file name (NAME.json)");
            }
            tracing::error!(target: "kinga::http", error = %e, "cannot stage an uploaded package");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the server could not complete the request")
        })?;
        let allow_downgrade = match fields.remove("allow_downgrade") {
            None => false,
            Some(Value::Bool(allowed)) => allowed,
            Some(_) => {
                return Err(Problem::bad_request("invalid-request", "/allow_downgrade", "allow_downgrade must be true or false"));
            }
        };
        Ok((reason, Action::Install { staged, allow_downgrade }))
    })
    .await
}
