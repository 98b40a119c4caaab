//! `GET /v1/profiles` and `GET /v1/profiles/{platform}`: the mapping
//! profile each platform is read with, as served now (the `ETag` is the
//! administration state revision, for `If-Match`). Changing one is
//! administration: `PUT /v1/profiles/{platform}` and
//! `POST /v1/profiles/{platform}/reset` (in [`super::admin`]).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::App;
use super::plugins::with_etag;
use super::problem::Problem;
use crate::adapt::Platform;
use crate::admin::{AdminState, ProfileInUse, StateStore};

/// The profile `platform` is read with under the served state `state`:
/// the bundled one when the server has no administration directory.
pub(super) fn in_use(
    store: Option<&StateStore>,
    state: &AdminState,
    platform: Platform,
) -> Result<ProfileInUse, Problem> {
    let Some(store) = store else {
        return Ok(ProfileInUse::bundled(platform));
    };
    store.profile_in_use(state, platform).map_err(|e| {
        tracing::error!(target: "kinga::http", platform = platform.name(), error = %e, "the profile in use cannot be read");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "profile-unavailable",
            format!(
                "the mapping profile in use for {platform} cannot be read: an administrator must set it again"
            ),
        )
    })
}

/// The platform named in a path, or 404.
pub(super) fn platform_named(name: &str) -> Result<Platform, Problem> {
    Platform::from_name(name).ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "unknown-platform",
            "no platform has this name: primero, cpims-crs, cpims-record or dhis2",
        )
    })
}

/// `GET /v1/profiles`.
pub async fn list(State(app): State<Arc<App>>) -> Response {
    let (_, state) = app.live.current_with_state();
    let mut profiles = Vec::new();
    for platform in Platform::ALL {
        match in_use(app.store.as_ref(), &state, platform) {
            Ok(profile) => profiles.push(profile.view()),
            Err(problem) => return problem.into_response(),
        }
    }
    with_etag(
        json!({"revision": state.revision, "profiles": profiles}),
        state.revision,
    )
}

/// `GET /v1/profiles/{platform}`: the view, and the document itself.
pub async fn show(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    let (_, state) = app.live.current_with_state();
    let shown =
        platform_named(&name).and_then(|platform| in_use(app.store.as_ref(), &state, platform));
    match shown {
        Ok(profile) => {
            let mut view = profile.view();
            view["document"] = serde_json::from_slice(&profile.document).unwrap_or(Value::Null);
            view["revision"] = json!(state.revision);
            with_etag(view, state.revision)
        }
        Err(problem) => problem.into_response(),
    }
}
