//! `?from=PLATFORM` and `?to=TARGET` on `POST /v1/eligibility`,
//! `/v1/referrals` and `/v1/reports/{template}`: a platform's own
//! documents in, read through the mapping profile the administration state
//! names for the platform (the bundled one otherwise), and answers written
//! back in the platform's own terms (see [`crate::adapt`]).
//!
//! Compiled profiles are cached by the hash of their document, so a
//! request costs no profile compilation unless an administrator changed
//! the profile since the last one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;

use super::problem::Problem;
use crate::adapt::outbound::Target;
use crate::adapt::{Platform, Profile};
use crate::admin::{AdminState, StateStore};

/// Where a request's documents come from, and where its answers go.
pub struct Source {
    /// The profile the documents are read with.
    pub profile: Arc<Profile>,
    /// Where answers are written back (`?to=`), if anywhere.
    pub to: Option<Target>,
}

/// The compiled profile in use per platform, with the hash (or `bundled`)
/// it was compiled from.
#[derive(Default)]
pub struct ProfileCache {
    compiled: Mutex<BTreeMap<Platform, (String, Arc<Profile>)>>,
}

impl ProfileCache {
    /// The profile `platform` is read with under the served `state`.
    ///
    /// # Errors
    /// 503 when the profile the state names cannot be read.
    pub fn get(
        &self,
        store: Option<&StateStore>,
        state: &AdminState,
        platform: Platform,
    ) -> Result<Arc<Profile>, Problem> {
        let wanted = match (store, state.profiles.get(platform.name())) {
            (Some(_), Some(named)) => named.sha256.clone(),
            _ => "bundled".to_owned(),
        };
        let mut compiled = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((hash, profile)) = compiled.get(&platform)
            && *hash == wanted
        {
            return Ok(Arc::clone(profile));
        }
        let profile = Arc::new(super::profiles::in_use(store, state, platform)?.profile);
        compiled.insert(platform, (wanted, Arc::clone(&profile)));
        Ok(profile)
    }
}

/// `from` and `to` of a query string, and nothing else.
///
/// # Errors
/// 400 `invalid-parameters` for an unknown name, platform or target, `to`
/// without `from`, or a `to` that is not where `from`'s records live.
pub fn parse(raw: Option<&str>) -> Result<Option<(Platform, Option<Target>)>, Problem> {
    let invalid =
        |message: String| Problem::new(StatusCode::BAD_REQUEST, "invalid-parameters", message);
    let (mut from, mut to) = (None, None);
    for (name, value) in super::reports::form_pairs(raw.unwrap_or_default())? {
        match name.as_str() {
            "from" if from.is_none() => {
                from = Some(Platform::from_name(&value).ok_or_else(|| {
                    invalid("from must be primero, cpims-crs, cpims-record or dhis2".into())
                })?);
            }
            "to" if to.is_none() => {
                to = Some(
                    Target::from_name(&value)
                        .ok_or_else(|| invalid("to must be primero, cpims or dhis2".into()))?,
                );
            }
            "from" | "to" => return Err(invalid(format!("the parameter {name} is given twice"))),
            _ => {
                return Err(invalid(
                    "the only query parameters are from (a platform) and to (where answers go back)"
                        .into(),
                ));
            }
        }
    }
    match (from, to) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(invalid(
            "to writes answers back to the platform a case came from: give from as well".into(),
        )),
        (Some(from), Some(to)) if !to.writes_back(from) => Err(invalid(format!(
            "answers for records read from {from} cannot be written to {}: a write-back goes to the record a case came from",
            to.name()
        ))),
        (Some(from), to) => Ok(Some((from, to))),
    }
}
