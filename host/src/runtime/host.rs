//! The host: the loaded plugins, and the calls into them through the
//! sandbox.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::case::ValidCase;
use crate::case::asof::{AsOf, EAST_AFRICA_TIME};
use crate::case::identifying_values;
use crate::error::Error;
use crate::records::{self, DecisionLog, DecisionRecord, LogKey};
use crate::runtime::bindings::types as wit;
use crate::runtime::budget::RequestBudget;
use crate::runtime::cache::ArtifactCache;
use crate::runtime::capability::{Capability, Eligibility, Routing, wrong_kind};
use crate::runtime::limits::Limits;
use crate::runtime::loader::Loader;
use crate::runtime::output::{Decision, OutputCheck, Referral};
use crate::runtime::plugin::{LoadedPlugin, PluginDescription, PluginKind};
use crate::runtime::report::ReportRun;
use crate::runtime::sandbox::Sandbox;
use crate::storage::sha256_hex;

/// Builds a [`Host`].
#[derive(Debug, Clone, Default)]
pub struct HostBuilder {
    limits: Limits,
    cache_dir: Option<PathBuf>,
    decision_log: Option<(PathBuf, LogKey)>,
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

    /// Keeps compiled plugins in `dir` (HMAC-checked artifacts), so that the
    /// next start loads them without compiling.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Writes a decision record for every plugin call to the hash-chained
    /// log at `path`, sealed under `key` (see [`crate::records`]; a
    /// deployment keeps its key in a file, [`LogKey::for_log`]).
    pub fn decision_log(mut self, path: impl Into<PathBuf>, key: LogKey) -> Self {
        self.decision_log = Some((path.into(), key));
        self
    }

    /// Builds the host.
    ///
    /// # Errors
    /// [`Error::Engine`] when the sandbox cannot be set up, [`Error::Io`] when
    /// the cache directory cannot be opened.
    pub fn build(self) -> Result<Host, Error> {
        let sandbox = Sandbox::new(self.limits)?;
        let cache = match &self.cache_dir {
            Some(dir) => Some(ArtifactCache::open(dir).map_err(|source| Error::Io {
                path: dir.display().to_string(),
                cause: source,
            })?),
            None => None,
        };
        let decisions = match &self.decision_log {
            Some((path, key)) => Some(Mutex::new(DecisionLog::open(path, key).map_err(
                |source| Error::Io {
                    path: path.display().to_string(),
                    cause: source,
                },
            )?)),
            None => None,
        };
        Ok(Host {
            sandbox,
            cache,
            plugins: Vec::new(),
            decisions,
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
    /// Whether a failing plugin costs only its own answer (see
    /// [`EvalOptions::isolate_failures`]).
    pub isolate_failures: bool,
    /// The budget of the request this evaluation belongs to, if any (see
    /// [`EvalOptions::budget`]).
    pub budget: Option<Arc<RequestBudget>>,
    /// Whether plugins get the whole case instead of their declared fields
    /// (the developer kit's check for undeclared reads only).
    pub(crate) whole_case: bool,
}

impl EvalOptions {
    /// Every plugin of the kind, as of `as_of`, without a trace.
    pub fn new(as_of: AsOf) -> Self {
        EvalOptions {
            as_of,
            plugins: None,
            trace: false,
            isolate_failures: false,
            budget: None,
            whole_case: false,
        }
    }

    /// Developer kit only: each plugin gets the whole case, not only the
    /// fields it declared, so that a fixture can show whether its answer
    /// depends on a field it reads without declaring it. Never for real
    /// cases: data minimisation is the point of the declaration.
    #[cfg(feature = "devkit")]
    pub fn whole_case(mut self, whole: bool) -> Self {
        self.whole_case = whole;
        self
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

    /// A plugin that fails (stopped by the sandbox, an invalid answer, its
    /// own error, switched off by its breaker, overloaded) costs only its own
    /// answer: its error goes into [`Evaluation::failures`] and the other
    /// plugins' outputs are still returned, so an emergency referral is never
    /// withheld because an unrelated plugin broke. Without it (the default),
    /// the first failure fails the whole evaluation. The CLI and the service
    /// always isolate failures, and say which plugin failed beside the
    /// outputs.
    pub fn isolate_failures(mut self, isolate: bool) -> Self {
        self.isolate_failures = isolate;
        self
    }

    /// Spends from `budget`, shared with the other evaluations of one
    /// request: no call starts once it is spent, past its deadline or
    /// cancelled ([`Error::RequestStopped`], never isolated: it is not a
    /// plugin's failure), and plugin log lines beyond its log bytes are
    /// dropped.
    pub fn budget(mut self, budget: Arc<RequestBudget>) -> Self {
        self.budget = Some(budget);
        self
    }
}

/// What one call cost: the fuel it used (its answer's bytes included) and
/// the size of its answer as JSON.
#[derive(Debug, Clone, Copy)]
struct CallCost {
    fuel_used: u64,
    answer_bytes: usize,
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
#[derive(Debug)]
pub struct Evaluation<T> {
    /// The outputs of every plugin that answered, in order.
    pub outputs: Vec<T>,
    /// The plugins that answered (their outputs are in `outputs`, which may
    /// hold none of theirs if they had nothing to say).
    pub answered: Vec<String>,
    /// The plugins that failed, each with its error, in call order; only
    /// with [`EvalOptions::isolate_failures`] (otherwise the first failure
    /// is the evaluation's error).
    pub failures: Vec<Error>,
    /// One entry per plugin call that answered, when a trace was asked for.
    pub trace: Option<Vec<CallTrace>>,
}

impl<T> Evaluation<T> {
    /// The outputs if every plugin answered, or the first failure.
    ///
    /// # Errors
    /// The first plugin's failure.
    pub fn complete(mut self) -> Result<Vec<T>, Error> {
        if self.failures.is_empty() {
            Ok(self.outputs)
        } else {
            Err(self.failures.remove(0))
        }
    }
}

/// The result of [`Host::replay`].
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    /// Whether the outcome is identical to the recorded one (never, when
    /// the recorded one is not reproducible).
    pub identical: bool,
    /// Whether the recorded outcome can be reproduced at all: false when
    /// the recorded call failed for a reason of the machine's load or of
    /// earlier calls (see [`Error::is_reproducible`]).
    pub reproducible: bool,
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
    sandbox: Sandbox,
    cache: Option<ArtifactCache>,
    plugins: Vec<LoadedPlugin>,
    decisions: Option<Mutex<DecisionLog>>,
}

impl Host {
    /// A builder.
    pub fn builder() -> HostBuilder {
        HostBuilder::new()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        self.sandbox.limits()
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
            cause: source,
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
        let bytes = read_bounded(path, self.limits().component_bytes)?;
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
    /// [`Error::PluginLoad`] with the reason, [`Error::DuplicatePlugin`],
    /// [`Error::DuplicateTemplate`].
    pub fn load_bytes(&mut self, bytes: &[u8], source: &str) -> Result<String, Error> {
        let started = Instant::now();
        let loader = Loader {
            engine: self.sandbox.engine(),
            linker: self.sandbox.linker(),
            limits: self.sandbox.limits(),
            cache: self.cache.as_ref(),
        };
        let plugin = loader.load(bytes, source)?;
        let id = plugin.description.id.clone();
        if self.plugins.iter().any(|p| p.description.id == id) {
            return Err(Error::DuplicatePlugin(id));
        }
        for template in &plugin.description.templates {
            if let Some(owner) = self
                .plugins
                .iter()
                .find(|p| p.description.templates.iter().any(|t| t.id == template.id))
            {
                return Err(Error::DuplicateTemplate {
                    plugin: id,
                    template: template.id.clone(),
                    owner: owner.description.id.clone(),
                });
            }
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

    /// The plugins of `kind` an evaluation calls: every one switched on, or
    /// exactly those in `only` (each of which must exist, be of the kind and
    /// be switched on).
    fn selected(
        &self,
        kind: PluginKind,
        only: Option<&[String]>,
    ) -> Result<Vec<&LoadedPlugin>, Error> {
        for id in only.into_iter().flatten() {
            let plugin = self.find(id)?;
            if plugin.description.kind != kind {
                return Err(wrong_kind(plugin, kind));
            }
            if !plugin.switched_on {
                return Err(Error::PluginDisabled(id.clone()));
            }
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
        // Every plugin is checked (its settings check run once) before any
        // changes, so that an error leaves the host as it was.
        let prepared = self
            .plugins
            .iter()
            .map(|plugin| {
                let own = state.plugin(&plugin.description.id);
                plugin
                    .checked_settings(&own)
                    .map(|effective| (own, effective))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        for (plugin, (own, effective)) in self.plugins.iter_mut().zip(prepared) {
            plugin.install_state(&own, effective);
        }
        Ok(())
    }

    /// Applies an administration state as [`Host::apply_state`] does, but a
    /// plugin whose own state is refused (settings its check now refuses, a
    /// rule it no longer has) and for which `may_hold` says yes is **held**
    /// instead of failing the whole host: it keeps its defaults, answers
    /// nothing ([`Error::Held`]) and is reported as held, while every other
    /// plugin runs with its state. A refusal that may depend on the
    /// machine's load (a settings check stopped by its deadline) is tried
    /// once more first.
    ///
    /// Returns the ids of the held plugins.
    ///
    /// # Errors
    /// The first refusal of a plugin `may_hold` does not let be held; the
    /// host is then as it was.
    pub fn apply_state_or_hold(
        &mut self,
        state: &crate::admin::AdminState,
        may_hold: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>, Error> {
        let mut prepared = Vec::new();
        for plugin in &self.plugins {
            let own = state.plugin(&plugin.description.id);
            let checked = plugin.checked_settings(&own).or_else(|e| {
                if e.is_reproducible() {
                    Err(e)
                } else {
                    plugin.checked_settings(&own)
                }
            });
            match checked {
                Ok(effective) => prepared.push((own, Ok(effective))),
                Err(e) if may_hold(&plugin.description.id) => prepared.push((own, Err(e))),
                Err(e) => return Err(e),
            }
        }
        let mut held = Vec::new();
        for (plugin, (own, checked)) in self.plugins.iter_mut().zip(prepared) {
            match checked {
                Ok(effective) => plugin.install_state(&own, effective),
                Err(e) => {
                    let reason = match &e {
                        Error::InvalidSettings { violations, .. } => violations
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; "),
                        other => other.to_string(),
                    };
                    tracing::error!(target: "kinga::admin", plugin = %plugin.description.id, %reason, "the state in force is refused; the plugin is held until its settings are changed or reset");
                    // Its switch is the administrator's still: a plugin
                    // switched off is not reported as failing.
                    plugin.switched_on = own.enabled;
                    plugin.held = Some(reason);
                    held.push(plugin.description.id.clone());
                }
            }
        }
        Ok(held)
    }

    /// Checks an administration state for one plugin only (the one a
    /// change is about), so that a plugin held for its own state does not
    /// block a change to another.
    ///
    /// # Errors
    /// See [`LoadedPlugin::check_state`]; nothing for a plugin not loaded.
    pub fn check_plugin_state(
        &self,
        state: &crate::admin::AdminState,
        id: &str,
    ) -> Result<(), Error> {
        match self.find(id) {
            Ok(plugin) => plugin.check_state(&state.plugin(id)),
            Err(_) => Ok(()),
        }
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
    /// [`Error::InvalidAsOf`] when the child is born after the as-of. A
    /// plugin's failure ([`Error::Contained`], [`Error::InvalidOutput`],
    /// [`Error::PluginRefused`], ...) goes into [`Evaluation::failures`] with
    /// [`EvalOptions::isolate_failures`]; without it, it fails the whole
    /// evaluation.
    pub fn evaluate_with(
        &self,
        case: &ValidCase,
        options: &EvalOptions,
    ) -> Result<Evaluation<Decision>, Error> {
        self.run::<Eligibility>(case, options)
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
        self.run::<Routing>(case, options)
    }

    /// Calls every selected plugin of the capability's kind on `case` in a
    /// fresh store each, and writes a decision record per call when the host
    /// keeps a log.
    fn run<C: Capability>(
        &self,
        case: &ValidCase,
        options: &EvalOptions,
    ) -> Result<Evaluation<C::Output>, Error> {
        check_case_at(case, options.as_of)?;
        // One instant, one text: plugins see the as-of at East Africa Time
        // whatever offset the caller wrote it with.
        let as_of = options.as_of.to_offset(EAST_AFRICA_TIME).to_rfc3339();
        let case_sha256 = self
            .decisions
            .as_ref()
            .map(|_| sha256_hex(case.canonical_json().as_bytes()));
        let mut outputs = Vec::new();
        let mut answered = Vec::new();
        let mut failures = Vec::new();
        let mut trace = options.trace.then(Vec::new);
        let budget = options.budget.as_ref();
        for plugin in self.selected(C::KIND, options.plugins.as_deref())? {
            if let Some(budget) = budget {
                budget.check()?;
            }
            let started = Instant::now();
            let ctx = plugin.context(&as_of);
            let result = self.call_one::<C>(
                plugin,
                &ctx,
                &plugin.enabled,
                (case, options.whole_case),
                budget,
            );
            if let Some(case_sha256) = &case_sha256 {
                let answer = result.as_ref().map(|(o, _)| o.as_slice());
                self.write_record(C::KIND, plugin, &ctx, case_sha256, records::outcome(answer))?;
            }
            let (answer, cost) = match result {
                Ok(answered) => answered,
                Err(e) if options.isolate_failures => {
                    tracing::warn!(target: "kinga::host", plugin = %plugin.id, error = e.kind(), "plugin failed; its answer is missing, the others stand");
                    failures.push(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Some(budget) = budget {
                budget.charge_answer(cost.answer_bytes);
            }
            let fuel_used = cost.fuel_used;
            outputs.extend(answer);
            answered.push(plugin.description.id.clone());
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
        C::order(&mut outputs);
        Ok(Evaluation {
            outputs,
            answered,
            failures,
            trace,
        })
    }

    /// One call of one plugin with the given context: the case reduced to
    /// its declared fields (whole, when the flag beside it says so), a fresh
    /// store, the answer checked and its bytes charged in fuel
    /// ([`ANSWER_FUEL_PER_BYTE`]).
    fn call_one<C: Capability>(
        &self,
        plugin: &LoadedPlugin,
        ctx: &wit::Context,
        enabled: &BTreeSet<String>,
        (case, whole_case): (&ValidCase, bool),
        budget: Option<&Arc<RequestBudget>>,
    ) -> Result<(Vec<C::Output>, CallCost), Error> {
        let projected = if whole_case {
            plugin.whole_case_for(case)?
        } else {
            plugin.case_for(case)?
        };
        let identifying = identifying_values(&projected);
        let json = crate::case::canonical_json(&projected);
        let limits = self.limits();
        let input = plugin.input_fingerprint(ctx, &[&json]);
        let (answer, fuel_used) = self.sandbox.guarded(plugin, Some(input), budget, |store| {
            store.data_mut().redact(identifying.clone());
            let answer = C::instantiate_and_call(plugin, store, ctx, &json)?
                .map_err(|e| self.sandbox.failed(plugin, store, &e))?;
            let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
            Ok((answer, fuel_used))
        })?;
        let raw = answer.map_err(|e| {
            plugin
                .declared
                .refusal(&plugin.description.id, e, Some(&projected))
        })?;
        let as_of =
            time::OffsetDateTime::parse(&ctx.as_of, &time::format_description::well_known::Rfc3339)
                .map_err(|_| Error::InvalidAsOf("the as-of is not an RFC 3339 date-time".into()))?;
        let checker = OutputCheck {
            plugin: &plugin.description.id,
            plugin_version: &plugin.description.version,
            declared: &plugin.declared,
            case_fields: &plugin.description.case_fields,
            enabled,
            as_of,
            max_bytes: limits.output_bytes,
            max_items: limits.output_items,
            measured: Cell::new(0),
        };
        let checked = C::check(&checker, raw).and_then(|outputs| {
            let answer_bytes = checker.measured.get();
            let fuel_used = charge_answer(plugin, limits, fuel_used, answer_bytes)?;
            Ok((
                outputs,
                CallCost {
                    fuel_used,
                    answer_bytes,
                },
            ))
        });
        self.sandbox
            .record_outcome(plugin, Some(input), checked.as_ref().err());
        checked
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
            cause: source,
        };
        let settings_sha256 = log.keep_settings(&ctx.settings).map_err(io)?;
        let record = DecisionRecord {
            record_id: records::new_record_id(),
            recorded_at: AsOf::now(time::UtcOffset::UTC).to_rfc3339(),
            evaluation: kind.as_str().to_owned(),
            plugin: plugin.description.id.clone(),
            plugin_version: plugin.description.version.clone(),
            content_sha256: plugin.description.content_sha256.clone(),
            contract: plugin.description.contract.clone(),
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
        let outcome = match plugin.description.kind {
            PluginKind::Eligibility => self.recorded_outcome::<Eligibility>(plugin, &ctx, case),
            PluginKind::Referral => self.recorded_outcome::<Routing>(plugin, &ctx, case),
            PluginKind::Reporting => {
                return Err(replay_error("reports are not recorded decisions".into()));
            }
        };
        let reproducible = record.outcome["result"] != "not-reproducible";
        Ok(Replay {
            identical: reproducible && outcome == record.outcome,
            reproducible,
            recorded: record.outcome.clone(),
            replayed: outcome,
        })
    }

    /// One call as a decision record would hold its outcome: the outputs,
    /// or the error.
    fn recorded_outcome<C: Capability>(
        &self,
        plugin: &LoadedPlugin,
        ctx: &wit::Context,
        case: &ValidCase,
    ) -> Value {
        let enabled: BTreeSet<String> = ctx.enabled_rules.iter().cloned().collect();
        let result = self.call_one::<C>(plugin, ctx, &enabled, (case, false), None);
        records::outcome(result.as_ref().map(|(o, _)| o.as_slice()))
    }

    /// Closes the circuit breaker of `plugin`: it is called again, and the
    /// inputs it failed on are forgotten. (A server closes breakers through
    /// the audited administration change `close-breaker`, which reloads
    /// every replica's host.)
    ///
    /// # Errors
    /// An unknown plugin.
    pub fn close_breaker(&self, plugin: &str) -> Result<(), Error> {
        self.find(plugin)?.breaker.close();
        tracing::info!(target: "kinga::host", plugin, "circuit breaker closed");
        Ok(())
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
        ReportRun::open(&self.sandbox, plugin, template, parameters, as_of)
    }
}

/// Refuses what the schema cannot see: an as-of outside its span, a birth
/// or an incident after the as-of, or a date of birth implying an age beyond the oldest the
/// case schema admits ([`MAX_AGE_YEARS`]) — `0000-01-01` written for
/// "unknown" must become an absent date of birth, or the case is judged on
/// a child two thousand years old.
pub(crate) fn check_case_at(case: &ValidCase, as_of: AsOf) -> Result<(), Error> {
    as_of.check_span()?;
    let as_of = as_of.to_offset(EAST_AFRICA_TIME);
    let refuse = |pointer: &str, message: String| {
        Err(Error::InvalidCase(crate::case::CaseRejection {
            violations: vec![crate::case::schema::Violation {
                pointer: pointer.into(),
                message,
            }],
        }))
    };
    let born_at = "/child/date_of_birth";
    if let Some(born) = case.date_of_birth() {
        if born > as_of.date() {
            return refuse(born_at, format!("is after the as-of date {}", as_of.date()));
        }
        if crate::case::completed_years(born, as_of.date()) > MAX_AGE_YEARS {
            return refuse(
                born_at,
                format!(
                    "implies an age over {MAX_AGE_YEARS} at the as-of date {}; leave an unknown date of birth out",
                    as_of.date()
                ),
            );
        }
    }
    // An incident after the as-of has not happened yet at that moment; left
    // in, it would look like the most recent one.
    if let Some((pointer, _)) = case.incident_times().find(|(_, at)| *at > as_of.datetime()) {
        return refuse(
            &pointer,
            format!("is after the as-of {}", as_of.to_rfc3339()),
        );
    }
    // So is a date-only incident (case 1.1) of a later day than the as-of's.
    if let Some((pointer, _)) = case.incident_days().find(|(_, day)| *day > as_of.date()) {
        return refuse(
            &pointer,
            format!("is after the as-of date {}", as_of.date()),
        );
    }
    // An estimate made after the as-of is not known at that moment; one
    // made long ago ages with the child, and must not pass the oldest age
    // the schema admits.
    if let Some(estimated_on) = case.age_estimated_on()
        && estimated_on > as_of.date()
    {
        return refuse(
            "/child/age_estimated_on",
            format!("is after the as-of date {}", as_of.date()),
        );
    }
    if case.date_of_birth().is_none()
        && let Some(estimated_on) = case.age_estimated_on()
    {
        let at = "/child/age_estimated_on";
        let estimate = case
            .value()
            .pointer("/child/age_estimate_years")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or_default();
        let since = i64::from(crate::case::completed_years(estimated_on, as_of.date()));
        if estimate + since > i64::from(MAX_AGE_YEARS) {
            return refuse(
                at,
                format!(
                    "with the estimate, implies an age over {MAX_AGE_YEARS} at the as-of date {}",
                    as_of.date()
                ),
            );
        }
    }
    Ok(())
}

/// The fuel each byte of a plugin's answer (as JSON) costs, charged after
/// the call against what is left of its fuel: checking and passing on an
/// answer is the host's work on the plugin's behalf, and paid for like its
/// log lines (see [`store`](crate::runtime::store)), so a plugin cannot
/// make a cheap computation an expensive call.
pub const ANSWER_FUEL_PER_BYTE: u64 = 50;

/// Charges an answer of `bytes` to a call that used `fuel_used`: the fuel
/// used in all, or out of fuel (deterministic, as every fuel stop is).
pub(crate) fn charge_answer(
    plugin: &LoadedPlugin,
    limits: &Limits,
    fuel_used: u64,
    bytes: usize,
) -> Result<u64, Error> {
    let total = fuel_used.saturating_add(ANSWER_FUEL_PER_BYTE.saturating_mul(bytes as u64));
    if total > limits.fuel {
        tracing::warn!(target: "kinga::containment", plugin = %plugin.id, bytes, "plugin answer costs more fuel than is left");
        return Err(Error::Contained {
            plugin: plugin.description.id.clone(),
            kind: crate::error::Containment::OutOfFuel,
        });
    }
    Ok(total)
}

/// The oldest age the case schema admits (`child.age_estimate_years`).
pub const MAX_AGE_YEARS: i32 = 25;

/// Reads a plugin file: a regular file of at most `max` bytes (see
/// [`read_regular_file`](crate::storage::read_regular_file)).
pub(crate) fn read_bounded(path: &Path, max: usize) -> Result<Vec<u8>, Error> {
    crate::storage::read_regular_file(path, max).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidInput {
            Error::plugin_load(path.display().to_string(), e.to_string())
        } else {
            Error::Io {
                path: path.display().to_string(),
                cause: e,
            }
        }
    })
}
