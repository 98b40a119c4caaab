//! A deployment: where the plugins, the administration state and the caches
//! are, turned into a ready [`Host`]; and [`LiveHost`], which reloads it
//! without a restart.
//!
//! # Hot reload
//! A [`LiveHost`] holds the current host behind an `Arc`. Every evaluation
//! takes the `Arc` it starts with and finishes on it, even if a reload
//! happens meanwhile; new evaluations get the new host. A reload builds a
//! complete new host first (plugins loaded and verified, state checked and
//! applied) and swaps it in only if all of that succeeded: a version that
//! fails to load, verify or validate leaves the last good host in place,
//! and the reload says why.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::admin::package::{self, TrustedKeys};
use crate::admin::{AdminState, LOG_KEY_FILE, StateStore};
use crate::error::Error;
use crate::records::LogKey;
use crate::runtime::host::Host;
use crate::runtime::limits::Limits;

/// Where a host's parts are.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    /// The directory of bundled plugin components (`*.wasm`).
    pub plugin_dir: Option<PathBuf>,
    /// The administration directory (state, audit trail, packages, keys).
    pub home: Option<PathBuf>,
    /// The compiled-plugin cache.
    pub cache_dir: Option<PathBuf>,
    /// The decision log.
    pub decision_log: Option<PathBuf>,
    /// The log key file that seals the decision log and the audit trail.
    /// Default: `log.key` in the administration directory.
    pub log_key: Option<PathBuf>,
    /// The sandbox limits.
    pub limits: Limits,
}

impl Deployment {
    /// The administration state (empty when there is no administration
    /// directory).
    ///
    /// # Errors
    /// [`Error::InvalidState`] for a state file that cannot be read.
    pub fn state(&self) -> Result<AdminState, Error> {
        match self.state_store() {
            Some(store) => store.load().map_err(|e| Error::InvalidState(e.to_string())),
            None => Ok(AdminState::default()),
        }
    }

    /// Builds a host: bundled plugins, then the installed packages in use
    /// (each verified again), then the administration state.
    ///
    /// # Errors
    /// Any plugin that fails to load or verify, a state that does not fit.
    pub fn build(&self) -> Result<Host, Error> {
        self.build_from(&self.state()?)
    }

    /// Builds a host as [`Deployment::build`] does, but a plugin that
    /// refuses its own state in force is held (see
    /// [`Host::apply_state_or_hold`]) instead of failing the build: how a
    /// service starts, and how administrative commands load, so that an
    /// administrator can always repair a state an upgrade made
    /// unacceptable.
    ///
    /// # Errors
    /// Any plugin that fails to load or verify, a state that does not
    /// parse.
    pub fn build_holding(&self) -> Result<Host, Error> {
        self.build_with(&self.state()?, |_| true)
    }

    /// Builds a host from `state`, read once by the caller (so that the
    /// host and the revision it is labelled with cannot come from two
    /// different reads of the state file).
    ///
    /// # Errors
    /// See [`Deployment::build`].
    pub fn build_from(&self, state: &AdminState) -> Result<Host, Error> {
        self.build_with(state, |_| false)
    }

    /// Builds a host from `state`, holding the plugins `may_hold` names if
    /// they refuse their state.
    fn build_with(
        &self,
        state: &AdminState,
        may_hold: impl Fn(&str) -> bool,
    ) -> Result<Host, Error> {
        let mut builder = Host::builder().limits(self.limits.clone());
        if let Some(dir) = &self.cache_dir {
            builder = builder.cache_dir(dir);
        }
        if let Some(log) = &self.decision_log {
            let Some(key_path) = self.log_key_path() else {
                return Err(Error::InvalidState(
                    "a decision log is sealed under a log key: name its file (--log-key) or an administration directory".into(),
                ));
            };
            let key =
                LogKey::for_log(&key_path, log).map_err(|e| Error::InvalidState(e.to_string()))?;
            builder = builder.decision_log(log, key);
        }
        let mut host = builder.build()?;
        if let Some(dir) = &self.plugin_dir {
            host.load_dir(dir)?;
        }
        self.load_installed(&mut host, state)?;
        host.apply_state_or_hold(state, may_hold)?;
        Ok(host)
    }

    /// Replaces bundled plugins with the installed packages in use.
    fn load_installed(&self, host: &mut Host, state: &AdminState) -> Result<(), Error> {
        let Some(home) = self.home.as_deref().filter(|_| !state.packages.is_empty()) else {
            return Ok(());
        };
        let mut trusted = TrustedKeys::load(&home.join("trusted-keys"))
            .map_err(|e| Error::InvalidState(e.to_string()))?;
        trusted.retain(&state.trusted_keys);
        for (id, history) in &state.packages {
            let verified = package::verify(
                &home.join(&history.active.dir),
                &trusted,
                history.active.unsigned,
            )
            .map_err(|e| {
                Error::plugin_load(
                    format!("{id} {}", history.active.version),
                    format!("the installed package no longer verifies: {e}"),
                )
            })?;
            if verified.manifest.component_sha256 != history.active.component_sha256 {
                return Err(Error::plugin_load(
                    id.clone(),
                    "the installed package is not the one that was installed",
                ));
            }
            host.remove_plugin(id);
            host.load_bytes(
                &verified.component,
                &format!("{id}@{}", history.active.version),
            )?;
        }
        Ok(())
    }

    /// The administration directory, if any.
    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    /// The log key file: the one given, or `log.key` in the administration
    /// directory.
    pub fn log_key_path(&self) -> Option<PathBuf> {
        self.log_key
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(LOG_KEY_FILE)))
    }

    /// The administration state store, its trail sealed under
    /// [`Deployment::log_key_path`].
    pub fn state_store(&self) -> Option<StateStore> {
        let store = StateStore::new(self.home.clone()?);
        Some(match &self.log_key {
            Some(key) => store.with_log_key(key),
            None => store,
        })
    }
}

/// A host that can be reloaded while it serves (see the module docs).
pub struct LiveHost {
    deployment: Deployment,
    current: RwLock<(Arc<Host>, Arc<AdminState>)>,
}

impl LiveHost {
    /// Builds the first host.
    ///
    /// # Errors
    /// See [`Deployment::build`].
    pub fn new(deployment: Deployment) -> Result<LiveHost, Error> {
        // There is no last good host to keep: a plugin refusing its state
        // is held, and the others serve.
        let state = deployment.state()?;
        let host = deployment.build_with(&state, |_| true)?;
        Ok(LiveHost {
            deployment,
            current: RwLock::new((Arc::new(host), Arc::new(state))),
        })
    }

    /// The host to evaluate with: keep it for the whole evaluation.
    pub fn host(&self) -> Arc<Host> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()).0)
    }

    /// The host and the state revision it was built from, read together.
    pub fn current(&self) -> (Arc<Host>, u64) {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        (Arc::clone(&current.0), current.1.revision)
    }

    /// The host and the administration state it was built from, read
    /// together (what a view of switches and settings must describe).
    pub fn current_with_state(&self) -> (Arc<Host>, Arc<AdminState>) {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        (Arc::clone(&current.0), Arc::clone(&current.1))
    }

    /// Where the host comes from.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// The state revision the current host was built from.
    pub fn revision(&self) -> u64 {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .revision
    }

    /// Builds a new host and swaps it in; on any error the current host
    /// stays, and the error says why. Returns the new state revision.
    ///
    /// # Errors
    /// See [`Deployment::build`].
    pub fn reload(&self) -> Result<u64, Error> {
        // A state a plugin refuses is refused and the last good host stays,
        // unless that plugin is held already: then a change to another
        // plugin is still put in force, and the held one stays held.
        let held: Vec<String> = self
            .host()
            .plugins()
            .filter(|p| p.held().is_some())
            .map(|p| p.description().id.clone())
            .collect();
        let built = self.deployment.state().and_then(|state| {
            let host = self
                .deployment
                .build_with(&state, |id| held.iter().any(|h| h == id))?;
            Ok((host, state))
        });
        match built {
            Ok((host, state)) => {
                let revision = state.revision;
                *self.current.write().unwrap_or_else(|e| e.into_inner()) =
                    (Arc::new(host), Arc::new(state));
                tracing::info!(target: "kinga::host", revision, "reloaded");
                Ok(revision)
            }
            Err(e) => {
                tracing::warn!(target: "kinga::host", error = %e, "reload failed; the last good host stays in place");
                Err(e)
            }
        }
    }

    /// Reloads when the administration state has a newer revision.
    ///
    /// # Errors
    /// See [`LiveHost::reload`].
    pub fn reload_if_changed(&self) -> Result<Option<u64>, Error> {
        let revision = self.deployment.state()?.revision;
        if revision == self.revision() {
            Ok(None)
        } else {
            self.reload().map(Some)
        }
    }
}
