//! The host: one engine, the loaded plugins, and the calls into them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};
use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::asof::AsOf;
use crate::bindings::eligibility::exports::kinga::plugin::eligibility::Decision as EligibilityDecision;
use crate::bindings::referral::exports::kinga::plugin::referral::Referral as RouteReferral;
use crate::bindings::types as wit;
use crate::cache::ArtifactCache;
use crate::cache::sha256_hex;
use crate::case::ValidCase;
use crate::case::identifying_values;
use crate::engine::{self, EpochTicker};
use crate::error::Error;
use crate::gate::Slots;
use crate::limits::Limits;
use crate::output::{Decision, OutputCheck, Referral, due_key};
use crate::plugin::{
    LoadedPlugin, Loader, PluginDescription, PluginKind, WorldPre, classify, engine_error, is_trap,
    refused,
};
use crate::record::{self, DecisionLog, DecisionRecord, Recordable};
use crate::report::ReportRun;
use crate::sandbox::{StoreState, new_store};

/// Instantiates a plugin in the store and calls its capability with the
/// context and the case JSON; returns its raw answer.
type CallFn<R> = dyn Fn(
    &LoadedPlugin,
    &mut wasmtime::Store<StoreState>,
    &wit::Context,
    &str,
) -> wasmtime::Result<Result<R, wit::PluginError>>;

/// Converts and checks a raw answer.
type Checker<R, T> = fn(&OutputCheck<'_>, R) -> Result<Vec<T>, Error>;

fn call_evaluate(
    plugin: &LoadedPlugin,
    store: &mut wasmtime::Store<StoreState>,
    ctx: &wit::Context,
    case: &str,
) -> wasmtime::Result<Result<Vec<EligibilityDecision>, wit::PluginError>> {
    let WorldPre::Eligibility(pre) = &plugin.pre else {
        unreachable!("selected by kind")
    };
    let instance = pre.instantiate(&mut *store)?;
    instance
        .kinga_plugin_eligibility()
        .call_evaluate(&mut *store, ctx, case)
}

fn call_route(
    plugin: &LoadedPlugin,
    store: &mut wasmtime::Store<StoreState>,
    ctx: &wit::Context,
    case: &str,
) -> wasmtime::Result<Result<Vec<RouteReferral>, wit::PluginError>> {
    let WorldPre::Referral(pre) = &plugin.pre else {
        unreachable!("selected by kind")
    };
    let instance = pre.instantiate(&mut *store)?;
    instance
        .kinga_plugin_referral()
        .call_route(&mut *store, ctx, case)
}

/// Builds a [`Host`].
#[derive(Debug, Clone, Default)]
pub struct HostBuilder {
    limits: Limits,
    cache_dir: Option<PathBuf>,
    decision_log: Option<PathBuf>,
}

impl HostBuilder {
    /// A builder with the default [`Limits`] and no artifact cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the sandbox limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Keeps compiled plugins in `dir` (see [`crate::cache`]), so that the
    /// next start loads them without compiling.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Writes a decision record for every plugin call to the hash-chained
    /// log at `path` (see [`crate::record`]).
    pub fn decision_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.decision_log = Some(path.into());
        self
    }

    /// Builds the host.
    ///
    /// # Errors
    /// [`Error::Engine`] when the sandbox cannot be set up, [`Error::Io`] when
    /// the cache directory cannot be opened.
    pub fn build(self) -> Result<Host, Error> {
        let engine = engine::build(&self.limits).map_err(engine_error)?;
        let linker = crate::sandbox::linker(&engine).map_err(engine_error)?;
        let cache = match &self.cache_dir {
            Some(dir) => Some(ArtifactCache::open(dir).map_err(|source| Error::Io {
                path: dir.display().to_string(),
                source,
            })?),
            None => None,
        };
        let decisions = match &self.decision_log {
            Some(path) => Some(Mutex::new(DecisionLog::open(path).map_err(|source| {
                Error::Io {
                    path: path.display().to_string(),
                    source,
                }
            })?)),
            None => None,
        };
        let ticker = EpochTicker::start(&engine);
        let slots = Slots::new(self.limits.concurrent_calls);
        Ok(Host {
            decisions,
            slots,
            engine,
            linker,
            limits: self.limits,
            cache,
            plugins: Vec::new(),
            _ticker: ticker,
        })
    }
}

/// Options of one evaluation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EvalOptions {
    /// The as-of moment.
    pub as_of: AsOf,
    /// Only these plugins (by id); all plugins of the kind when `None`.
    pub plugins: Option<Vec<String>>,
    /// Whether to return a trace of each plugin call.
    pub trace: bool,
}

impl EvalOptions {
    /// Every plugin of the kind, as of `as_of`, without a trace.
    pub fn new(as_of: AsOf) -> Self {
        EvalOptions {
            as_of,
            plugins: None,
            trace: false,
        }
    }

    /// Only the plugins with these ids.
    pub fn plugins(mut self, ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.plugins = Some(ids.into_iter().map(Into::into).collect());
        self
    }

    /// With a trace of each plugin call.
    pub fn trace(mut self, trace: bool) -> Self {
        self.trace = trace;
        self
    }
}

/// One plugin call, as traced.
#[derive(Debug, Clone, Serialize)]
pub struct CallTrace {
    /// The plugin.
    pub plugin: String,
    /// Its content hash.
    pub content_sha256: String,
    /// The rules switched on.
    pub enabled_rules: Vec<String>,
    /// The settings, as canonical JSON.
    pub settings: String,
    /// The as-of passed.
    pub as_of: String,
    /// Fuel used (deterministic for the same input).
    pub fuel_used: u64,
    /// Wall-clock time of the call, instantiation included.
    #[serde(serialize_with = "micros")]
    pub duration: Duration,
}

fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The result of an evaluation with options.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation<T> {
    /// The outputs of every plugin called, in order.
    pub outputs: Vec<T>,
    /// One entry per plugin call, when a trace was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<CallTrace>>,
}

/// The result of [`Host::replay`].
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    /// Whether the outcome is identical to the recorded one.
    pub identical: bool,
    /// The recorded outcome.
    pub recorded: Value,
    /// The outcome of the replay.
    pub replayed: Value,
}

/// The Kinga host: loads plugins and runs them in a sandbox.
///
/// # Examples
/// ```no_run
/// use kinga_host::{AsOf, Host, ValidCase};
///
/// let mut host = Host::builder().build()?;
/// host.load_dir("plugins")?;
/// let case = ValidCase::parse(&std::fs::read("case.json")?)?;
/// let as_of = AsOf::parse("2026-07-01T09:00:00+03:00", kinga_host::EAST_AFRICA_TIME)?;
/// for decision in host.evaluate(&case, as_of)? {
///     println!("{} {}: {:?}", decision.plugin, decision.track, decision.status);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Host {
    engine: Engine,
    linker: Linker<StoreState>,
    limits: Limits,
    cache: Option<ArtifactCache>,
    plugins: Vec<LoadedPlugin>,
    slots: Slots,
    decisions: Option<Mutex<DecisionLog>>,
    _ticker: EpochTicker,
}

impl Host {
    /// A builder.
    pub fn builder() -> HostBuilder {
        HostBuilder::new()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Loads every `*.wasm` file in `dir`, in file-name order.
    ///
    /// # Errors
    /// The first plugin that fails to load, or a duplicate id; plugins loaded
    /// before it stay loaded.
    pub fn load_dir(&mut self, dir: impl AsRef<Path>) -> Result<Vec<String>, Error> {
        let dir = dir.as_ref();
        let io = |source| Error::Io {
            path: dir.display().to_string(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .collect();
        files.sort();
        files.iter().map(|file| self.load_file(file)).collect()
    }

    /// Loads one plugin file and returns its id.
    ///
    /// # Errors
    /// [`Error::PluginLoad`] with the reason, [`Error::DuplicatePlugin`].
    pub fn load_file(&mut self, path: impl AsRef<Path>) -> Result<String, Error> {
        let path = path.as_ref();
        let bytes = read_bounded(path, self.limits.component_bytes)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.load_bytes(&bytes, &name)
    }

    /// Loads one plugin from the bytes of its component; `source` names it in
    /// errors. Returns its id.
    ///
    /// # Errors
    /// [`Error::PluginLoad`] with the reason, [`Error::DuplicatePlugin`].
    pub fn load_bytes(&mut self, bytes: &[u8], source: &str) -> Result<String, Error> {
        let started = Instant::now();
        let loader = Loader {
            engine: &self.engine,
            linker: &self.linker,
            limits: &self.limits,
            cache: self.cache.as_ref(),
        };
        let plugin = loader.load(bytes, source)?;
        let id = plugin.description.id.clone();
        if self.plugins.iter().any(|p| p.description.id == id) {
            return Err(Error::DuplicatePlugin(id));
        }
        tracing::info!(
            target: "kinga::host",
            plugin = %id,
            version = %plugin.description.version,
            sha256 = %plugin.description.content_sha256,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "plugin loaded"
        );
        self.plugins.push(plugin);
        Ok(id)
    }

    /// Unloads the plugin with this id, if one is loaded; returns whether
    /// one was.
    pub fn remove_plugin(&mut self, id: &str) -> bool {
        let before = self.plugins.len();
        self.plugins.retain(|p| p.description.id != id);
        self.plugins.len() != before
    }

    /// The loaded plugins.
    pub fn plugins(&self) -> impl Iterator<Item = &LoadedPlugin> {
        self.plugins.iter()
    }

    /// The description of one plugin.
    pub fn plugin(&self, id: &str) -> Option<&PluginDescription> {
        self.find(id).ok().map(|p| &p.description)
    }

    fn find(&self, id: &str) -> Result<&LoadedPlugin, Error> {
        self.plugins
            .iter()
            .find(|p| p.description.id == id)
            .ok_or_else(|| Error::UnknownPlugin(id.to_owned()))
    }

    fn find_mut(&mut self, id: &str) -> Result<&mut LoadedPlugin, Error> {
        self.plugins
            .iter_mut()
            .find(|p| p.description.id == id)
            .ok_or_else(|| Error::UnknownPlugin(id.to_owned()))
    }

    /// Switches one rule of a plugin on or off.
    ///
    /// # Errors
    /// An unknown plugin or rule.
    pub fn set_rule_enabled(
        &mut self,
        plugin: &str,
        rule: &str,
        enabled: bool,
    ) -> Result<(), Error> {
        self.find_mut(plugin)?.set_rule(rule, enabled)
    }

    /// Sets a plugin's settings: `overrides` is laid over the defaults (top
    /// level keys) and the result is checked against the plugin's schema.
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] naming the offending field; the previous
    /// settings stay in force.
    pub fn set_settings(
        &mut self,
        plugin: &str,
        overrides: &Map<String, Value>,
    ) -> Result<(), Error> {
        self.find_mut(plugin)?.set_settings(overrides)
    }

    fn selected(
        &self,
        kind: PluginKind,
        only: Option<&[String]>,
    ) -> Result<Vec<&LoadedPlugin>, Error> {
        if let Some(ids) = only {
            for id in ids {
                let plugin = self.find(id)?;
                if plugin.description.kind != kind {
                    return Err(Error::UnknownPlugin(format!(
                        "{id} (it is a {} plugin)",
                        plugin.description.kind.as_str()
                    )));
                }
            }
        }
        if let Some(off) = only
            .into_iter()
            .flatten()
            .filter_map(|id| self.find(id).ok())
            .find(|p| !p.switched_on)
        {
            return Err(Error::UnknownPlugin(format!(
                "{} (an administrator switched it off)",
                off.description.id
            )));
        }
        Ok(self
            .plugins
            .iter()
            .filter(|p| p.description.kind == kind && p.switched_on)
            .filter(|p| only.is_none_or(|ids| ids.contains(&p.description.id)))
            .collect())
    }

    /// Checks an administration state against the loaded plugins: every
    /// rule exists, every plugin's settings fit its schema. Plugins the
    /// state names but this host has not loaded are not checked.
    ///
    /// # Errors
    /// The first problem, naming the plugin and the field.
    pub fn check_state(&self, state: &crate::admin::AdminState) -> Result<(), Error> {
        for (id, plugin_state) in &state.plugins {
            if let Ok(plugin) = self.find(id) {
                plugin.check_state(plugin_state)?;
            }
        }
        Ok(())
    }

    /// Applies an administration state (switches, rules, settings) to the
    /// loaded plugins; plugins it does not name get their defaults. All or
    /// nothing: the state is checked first.
    ///
    /// # Errors
    /// See [`Host::check_state`].
    pub fn apply_state(&mut self, state: &crate::admin::AdminState) -> Result<(), Error> {
        self.check_state(state)?;
        for plugin in &mut self.plugins {
            plugin.apply_state(&state.plugin(&plugin.description.id))?;
        }
        Ok(())
    }

    /// Eligibility decisions of every eligibility plugin for `case`.
    ///
    /// # Errors
    /// See [`Host::evaluate_with`].
    pub fn evaluate(&self, case: &ValidCase, as_of: AsOf) -> Result<Vec<Decision>, Error> {
        Ok(self.evaluate_with(case, &EvalOptions::new(as_of))?.outputs)
    }

    /// Eligibility decisions with options (plugins, trace).
    ///
    /// # Errors
    /// [`Error::InvalidAsOf`] when the child is born after the as-of; any
    /// plugin's failure ([`Error::Contained`], [`Error::InvalidOutput`],
    /// [`Error::PluginRefused`]) fails the whole evaluation: a partial answer
    /// could be mistaken for a complete one.
    pub fn evaluate_with(
        &self,
        case: &ValidCase,
        options: &EvalOptions,
    ) -> Result<Evaluation<Decision>, Error> {
        self.run(
            PluginKind::Eligibility,
            case,
            options,
            &call_evaluate,
            |c, raw| c.decisions(raw),
        )
    }

    /// Referrals of every referral plugin for `case`, ordered by urgency then
    /// due time.
    ///
    /// # Errors
    /// See [`Host::evaluate_with`].
    pub fn route(&self, case: &ValidCase, as_of: AsOf) -> Result<Vec<Referral>, Error> {
        Ok(self.route_with(case, &EvalOptions::new(as_of))?.outputs)
    }

    /// Referrals with options.
    ///
    /// # Errors
    /// See [`Host::evaluate_with`].
    pub fn route_with(
        &self,
        case: &ValidCase,
        options: &EvalOptions,
    ) -> Result<Evaluation<Referral>, Error> {
        let mut evaluation = self.run(
            PluginKind::Referral,
            case,
            options,
            &call_route,
            |c, raw| c.referrals(raw),
        )?;
        evaluation.outputs.sort_by_key(due_key);
        Ok(evaluation)
    }

    /// Calls every selected plugin of `kind` on `case` in a fresh store each,
    /// and writes a decision record per call when the host keeps a log.
    fn run<T: Recordable, R>(
        &self,
        kind: PluginKind,
        case: &ValidCase,
        options: &EvalOptions,
        call: &CallFn<R>,
        check: Checker<R, T>,
    ) -> Result<Evaluation<T>, Error> {
        check_case_at(case, options.as_of)?;
        let as_of = options.as_of.to_rfc3339();
        let case_sha256 = self
            .decisions
            .as_ref()
            .map(|_| sha256_hex(case.canonical_json().as_bytes()));
        let mut outputs = Vec::new();
        let mut trace = options.trace.then(Vec::new);
        for plugin in self.selected(kind, options.plugins.as_deref())? {
            let started = Instant::now();
            let ctx = plugin.context(&as_of);
            let result = self.call_one(plugin, &ctx, &plugin.enabled, case, call, check);
            if let Some(case_sha256) = &case_sha256 {
                let answer = result.as_ref().map(|(o, _)| o.as_slice());
                self.write_record(kind, plugin, &ctx, case_sha256, record::outcome(answer))?;
            }
            let (answer, fuel_used) = result?;
            outputs.extend(answer);
            let duration = started.elapsed();
            tracing::debug!(target: "kinga::host", plugin = %plugin.id, fuel_used, micros = duration.as_micros() as u64, "plugin call");
            if let Some(trace) = trace.as_mut() {
                trace.push(CallTrace {
                    plugin: plugin.description.id.clone(),
                    content_sha256: plugin.description.content_sha256.clone(),
                    enabled_rules: ctx.enabled_rules.clone(),
                    settings: ctx.settings.clone(),
                    as_of: as_of.clone(),
                    fuel_used,
                    duration,
                });
            }
        }
        Ok(Evaluation { outputs, trace })
    }

    /// One call of one plugin with the given context: the case reduced to
    /// its declared fields, a fresh store, the answer checked. Returns the
    /// outputs and the fuel used.
    fn call_one<T, R>(
        &self,
        plugin: &LoadedPlugin,
        ctx: &wit::Context,
        enabled: &BTreeSet<String>,
        case: &ValidCase,
        call: &CallFn<R>,
        check: Checker<R, T>,
    ) -> Result<(Vec<T>, u64), Error> {
        let projected = case.projected(&plugin.description.case_fields);
        let identifying = identifying_values(&projected);
        let json = crate::case::canonical_json(&projected);
        let (answer, fuel_used) = self.guarded(plugin, |store| {
            store.data_mut().redact(identifying.clone());
            let answer =
                call(plugin, store, ctx, &json).map_err(|e| self.failed(plugin, store, &e))?;
            let fuel_used = self
                .limits
                .fuel
                .saturating_sub(store.get_fuel().unwrap_or(0));
            Ok((answer, fuel_used))
        })?;
        let raw = answer.map_err(|e| refused(&plugin.description.id, e))?;
        let checker = OutputCheck {
            plugin: &plugin.description.id,
            plugin_version: &plugin.description.version,
            rules: &plugin.rule_ids,
            enabled,
            identifying: &identifying,
            max_bytes: self.limits.output_bytes,
            max_items: self.limits.output_items,
        };
        let checked = check(&checker, raw);
        self.record_outcome(plugin, checked.as_ref().err());
        Ok((checked?, fuel_used))
    }

    /// Appends the decision record of one plugin call.
    fn write_record(
        &self,
        kind: PluginKind,
        plugin: &LoadedPlugin,
        ctx: &wit::Context,
        case_sha256: &str,
        outcome: Value,
    ) -> Result<(), Error> {
        let Some(log) = &self.decisions else {
            return Ok(());
        };
        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
        let io = |source| Error::Io {
            path: "decision log".into(),
            source,
        };
        let settings_sha256 = log.keep_settings(&ctx.settings).map_err(io)?;
        let record = DecisionRecord {
            record_id: record::new_record_id(),
            recorded_at: AsOf::now(time::UtcOffset::UTC).to_rfc3339(),
            evaluation: kind.as_str().to_owned(),
            plugin: plugin.description.id.clone(),
            plugin_version: plugin.description.version.clone(),
            content_sha256: plugin.description.content_sha256.clone(),
            contract: crate::plugin::CONTRACT.to_owned(),
            enabled_rules: ctx.enabled_rules.clone(),
            settings_sha256,
            as_of: ctx.as_of.clone(),
            case_sha256: case_sha256.to_owned(),
            outcome,
            seq: None,
            prev: None,
            hash: None,
        };
        log.append(&record).map_err(io)?;
        Ok(())
    }

    /// Re-runs a recorded evaluation with the recorded rules, settings and
    /// as-of, on the plugin with the recorded content hash, and compares the
    /// outcome with the recorded one.
    ///
    /// # Errors
    /// [`Error::Replay`] when the case does not match the record's hash, the
    /// recorded plugin version is not loaded, or the settings do not match
    /// their hash; any error of the evaluation itself.
    pub fn replay(
        &self,
        record: &DecisionRecord,
        case: &ValidCase,
        settings: &Value,
    ) -> Result<Replay, Error> {
        let replay_error = |message: String| Error::Replay(message);
        if sha256_hex(case.canonical_json().as_bytes()) != record.case_sha256 {
            return Err(replay_error(
                "the case is not the one recorded (its hash differs)".into(),
            ));
        }
        let plugin = self
            .plugins
            .iter()
            .find(|p| {
                p.description.id == record.plugin
                    && p.description.content_sha256 == record.content_sha256
            })
            .ok_or_else(|| {
                replay_error(format!(
                    "plugin {} version {} (sha256 {}) is not loaded",
                    record.plugin, record.plugin_version, record.content_sha256
                ))
            })?;
        let settings_json = crate::case::canonical_json(settings);
        if sha256_hex(settings_json.as_bytes()) != record.settings_sha256 {
            return Err(replay_error(
                "the settings are not the ones recorded (their hash differs)".into(),
            ));
        }
        let ctx = wit::Context {
            as_of: record.as_of.clone(),
            enabled_rules: record.enabled_rules.clone(),
            settings: settings_json,
        };
        let enabled: BTreeSet<String> = record.enabled_rules.iter().cloned().collect();
        let outcome = match plugin.description.kind {
            PluginKind::Eligibility => {
                let result =
                    self.call_one(plugin, &ctx, &enabled, case, &call_evaluate, |c, raw| {
                        c.decisions(raw)
                    });
                record::outcome(result.as_ref().map(|(o, _)| o.as_slice()))
            }
            PluginKind::Referral => {
                let result = self.call_one(plugin, &ctx, &enabled, case, &call_route, |c, raw| {
                    c.referrals(raw)
                });
                record::outcome(result.as_ref().map(|(o, _)| o.as_slice()))
            }
            PluginKind::Reporting => {
                return Err(replay_error("reports are not recorded decisions".into()));
            }
        };
        Ok(Replay {
            identical: outcome == record.outcome,
            recorded: record.outcome.clone(),
            replayed: outcome,
        })
    }

    /// Runs `f` with a fresh store for `plugin`, inside the plugin's and the
    /// host's concurrency slots and behind its circuit breaker. The store is
    /// dropped before this returns: nothing of the call survives it.
    pub(crate) fn guarded<R>(
        &self,
        plugin: &LoadedPlugin,
        f: impl FnOnce(&mut wasmtime::Store<StoreState>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let _slots = self.slots_for(plugin)?;
        let mut store =
            new_store(&self.engine, &self.limits, Arc::clone(&plugin.id)).map_err(engine_error)?;
        let result = f(&mut store);
        drop(store);
        if let Err(e) = &result {
            self.record_outcome(plugin, Some(e));
        }
        result
    }

    /// Checks the breaker and takes a slot of the plugin's, then one of the
    /// host's (in that order, so no host slot is held while waiting).
    pub(crate) fn slots_for<'p>(
        &'p self,
        plugin: &'p LoadedPlugin,
    ) -> Result<(crate::gate::Slot<'p>, crate::gate::Slot<'p>), Error> {
        if plugin.breaker.tripped() {
            return Err(Error::SwitchedOff {
                plugin: plugin.description.id.clone(),
                failures: plugin.breaker.failures_in_a_row(),
            });
        }
        let overloaded = || Error::Overloaded {
            plugin: plugin.description.id.clone(),
        };
        let own = plugin
            .slots
            .acquire(self.limits.queue_timeout)
            .ok_or_else(overloaded)?;
        let shared = self
            .slots
            .acquire(self.limits.queue_timeout)
            .ok_or_else(overloaded)?;
        Ok((own, shared))
    }

    /// Feeds the circuit breaker: containments count, anything else resets.
    pub(crate) fn record_outcome(&self, plugin: &LoadedPlugin, error: Option<&Error>) {
        match error {
            Some(e) if e.is_containment() => {
                if plugin.breaker.failure(self.limits.breaker_threshold) {
                    tracing::warn!(
                        target: "kinga::containment",
                        plugin = %plugin.id,
                        failures = plugin.breaker.failures_in_a_row(),
                        "plugin switched off by its circuit breaker"
                    );
                }
            }
            Some(_) => {}
            None => plugin.breaker.success(),
        }
    }

    /// Switches a plugin that its circuit breaker switched off back on.
    ///
    /// # Errors
    /// An unknown plugin.
    pub fn restore_plugin(&self, plugin: &str) -> Result<(), Error> {
        self.find(plugin)?.breaker.reset();
        tracing::info!(target: "kinga::host", plugin, "plugin switched back on");
        Ok(())
    }

    /// Turns a failed call into a contained error and records the event.
    pub(crate) fn failed(
        &self,
        plugin: &LoadedPlugin,
        store: &wasmtime::Store<StoreState>,
        e: &wasmtime::Error,
    ) -> Error {
        if is_trap(store, e) {
            let kind = classify(store, e);
            tracing::warn!(target: "kinga::containment", plugin = %plugin.id, kind = ?kind, "plugin stopped");
            Error::Contained {
                plugin: plugin.description.id.clone(),
                kind,
            }
        } else {
            tracing::warn!(target: "kinga::containment", plugin = %plugin.id, "plugin output could not be read");
            Error::InvalidOutput {
                plugin: plugin.description.id.clone(),
                pointer: String::new(),
                message: "its answer breaks the contract's types and could not be read".into(),
            }
        }
    }

    /// Opens a report of `template` with `parameters`, to which cases are
    /// then added one at a time (see [`ReportRun`]).
    ///
    /// # Errors
    /// [`Error::UnknownTemplate`]; the plugin's refusal of the parameters.
    pub fn report(
        &self,
        template: &str,
        parameters: &[(String, String)],
        as_of: AsOf,
    ) -> Result<ReportRun<'_>, Error> {
        let plugin = self
            .plugins
            .iter()
            .find(|p| {
                p.description.kind == PluginKind::Reporting
                    && p.description.templates.iter().any(|t| t.id == template)
            })
            .ok_or_else(|| Error::UnknownTemplate(template.to_owned()))?;
        ReportRun::open(self, plugin, template, parameters, as_of)
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// A child cannot be evaluated as of a day before her birth.
fn check_case_at(case: &ValidCase, as_of: AsOf) -> Result<(), Error> {
    if let Some(born) = case.date_of_birth()
        && born > as_of.date()
    {
        return Err(Error::InvalidCase(crate::case::CaseRejection {
            violations: vec![crate::schema::Violation {
                pointer: "/child/date_of_birth".into(),
                message: format!("is after the as-of date {}", as_of.date()),
            }],
        }));
    }
    Ok(())
}

/// Reads a file, refusing one larger than `max` bytes before reading it.
pub(crate) fn read_bounded(path: &Path, max: usize) -> Result<Vec<u8>, Error> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > max as u64 {
        return Err(Error::PluginLoad {
            source_name: path.display().to_string(),
            message: format!("the file is {len} bytes, more than the limit of {max}"),
        });
    }
    std::fs::read(path).map_err(io)
}
