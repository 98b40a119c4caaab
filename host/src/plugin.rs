//! Loading one plugin: checks on the bytes, compilation (through the
//! artifact cache), the import and export checks, and `describe`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Precompiled, Store, Trap};

use crate::bindings::eligibility::EligibilityPluginPre;
use crate::bindings::referral::ReferralPluginPre;
use crate::bindings::reporting::ReportingPluginPre;
use crate::bindings::types as wit;
use crate::cache::{ArtifactCache, Lookup, sha256_hex};
use crate::error::{Containment, Error, PluginErrorKind};
use crate::limits::Limits;
use crate::sandbox::{StoreState, new_store};
use crate::schema::{self, Violation};

/// The contract version this host speaks.
pub const CONTRACT: &str = "kinga:plugin@0.1.0";

/// The imports a plugin may have: the contract's own and the inert WASI
/// subset (see [`crate::sandbox`]). WASI versions are matched by prefix:
/// any `0.2.x` is accepted, as wasmtime links them semver-compatibly.
const ALLOWED_IMPORTS: &[&str] = &[
    "kinga:plugin/log@0.1.0",
    "kinga:plugin/types@0.1.0",
    "wasi:cli/environment@0.2.",
    "wasi:cli/exit@0.2.",
    "wasi:cli/stdin@0.2.",
    "wasi:cli/stdout@0.2.",
    "wasi:cli/stderr@0.2.",
    "wasi:cli/terminal-input@0.2.",
    "wasi:cli/terminal-output@0.2.",
    "wasi:cli/terminal-stdin@0.2.",
    "wasi:cli/terminal-stdout@0.2.",
    "wasi:cli/terminal-stderr@0.2.",
    "wasi:io/error@0.2.",
    "wasi:io/poll@0.2.",
    "wasi:io/streams@0.2.",
    "wasi:clocks/wall-clock@0.2.",
    "wasi:clocks/monotonic-clock@0.2.",
    "wasi:random/random@0.2.",
    "wasi:random/insecure@0.2.",
    "wasi:random/insecure-seed@0.2.",
];

/// The capability a plugin provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// Eligibility decisions.
    Eligibility,
    /// Referral routing.
    Referral,
    /// Reports.
    Reporting,
}

impl PluginKind {
    /// The name of the export that provides this capability.
    fn export(self) -> &'static str {
        match self {
            PluginKind::Eligibility => "kinga:plugin/eligibility@0.1.0",
            PluginKind::Referral => "kinga:plugin/referral@0.1.0",
            PluginKind::Reporting => "kinga:plugin/reporting@0.1.0",
        }
    }

    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Eligibility => "eligibility",
            PluginKind::Referral => "referral",
            PluginKind::Reporting => "reporting",
        }
    }
}

/// One rule of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleDescription {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// What it decides.
    pub description: String,
    /// On unless switched off.
    pub enabled_by_default: bool,
}

/// A parameter of a report template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParameterDescription {
    /// Name.
    pub name: String,
    /// Meaning and format.
    pub description: String,
    /// Whether the template needs it.
    pub required: bool,
}

/// A report template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateDescription {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// What it counts.
    pub description: String,
    /// Its parameters.
    pub parameters: Vec<ParameterDescription>,
}

/// What the host knows about a loaded plugin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginDescription {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// Its capability.
    pub kind: PluginKind,
    /// Why it processes children's data.
    pub purpose: String,
    /// The contract version it implements.
    pub contract: &'static str,
    /// SHA-256 of the component, hex.
    pub content_sha256: String,
    /// Its rules.
    pub rules: Vec<RuleDescription>,
    /// The JSON Schema of its settings.
    pub settings_schema: Value,
    /// Its default settings.
    pub default_settings: Value,
    /// The case fields it reads (and is given).
    pub case_fields: Vec<String>,
    /// Its report templates (reporting plugins only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<TemplateDescription>,
}

/// The pre-instantiated world of a plugin.
pub(crate) enum WorldPre {
    Eligibility(EligibilityPluginPre<StoreState>),
    Referral(ReferralPluginPre<StoreState>),
    Reporting(ReportingPluginPre<StoreState>),
}

/// A plugin ready to be called: compiled once, pre-instantiated once, and
/// instantiated in a fresh store for every call.
pub struct LoadedPlugin {
    pub(crate) description: PluginDescription,
    pub(crate) id: Arc<str>,
    pub(crate) pre: WorldPre,
    pub(crate) rule_ids: BTreeSet<String>,
    settings_validator: jsonschema::Validator,
    /// Administrator overrides of rule defaults.
    rule_overrides: BTreeMap<String, bool>,
    /// The effective enabled rules.
    pub(crate) enabled: BTreeSet<String>,
    /// The effective settings, as canonical JSON.
    pub(crate) settings_json: String,
    /// This plugin's share of the call slots.
    pub(crate) slots: crate::gate::Slots,
    /// Its circuit breaker.
    pub(crate) breaker: crate::gate::Breaker,
    /// Whether an administrator has it switched on.
    pub(crate) switched_on: bool,
    /// The interfaces it imports (all within the contract, or it would not
    /// have loaded).
    pub(crate) imports: Vec<String>,
}

impl LoadedPlugin {
    /// What the plugin said about itself.
    pub fn description(&self) -> &PluginDescription {
        &self.description
    }

    /// The rules switched on.
    pub fn enabled_rules(&self) -> &BTreeSet<String> {
        &self.enabled
    }

    /// Whether the circuit breaker has switched the plugin off, and the
    /// containments in a row so far.
    pub fn health(&self) -> (bool, u32) {
        (self.breaker.tripped(), self.breaker.failures_in_a_row())
    }

    /// Whether an administrator has the plugin switched on.
    pub fn switched_on(&self) -> bool {
        self.switched_on
    }

    /// The interfaces the component imports.
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// Checks an administrator's state for this plugin: rules it has,
    /// settings its schema accepts.
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] naming the rule or the field.
    pub fn check_state(&self, state: &crate::admin::PluginState) -> Result<(), Error> {
        if let Some(rule) = state.rules.keys().find(|r| !self.rule_ids.contains(*r)) {
            return Err(
                self.no_such_rule(rule, format!("/rules/{}", crate::json::escape_token(rule)))
            );
        }
        self.effective_settings(&state.settings).map(drop)
    }

    /// The error for a rule the plugin does not have, at `pointer`.
    fn no_such_rule(&self, rule: &str, pointer: String) -> Error {
        Error::InvalidSettings {
            plugin: self.description.id.clone(),
            violations: vec![Violation {
                pointer,
                message: format!(
                    "plugin {} has no rule {}",
                    self.description.id,
                    schema::quote(rule)
                ),
            }],
        }
    }

    /// The defaults with `overrides` laid over them (top-level keys),
    /// checked against the plugin's settings schema.
    fn effective_settings(&self, overrides: &Map<String, Value>) -> Result<Value, Error> {
        let mut effective = self
            .description
            .default_settings
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (key, value) in overrides {
            effective.insert(key.clone(), value.clone());
        }
        let effective = Value::Object(effective);
        let violations = schema::violations(&self.settings_validator, &effective, 20);
        if violations.is_empty() {
            Ok(effective)
        } else {
            Err(Error::InvalidSettings {
                plugin: self.description.id.clone(),
                violations,
            })
        }
    }

    /// Applies an administrator's state: switch, rules, settings. All or
    /// nothing: on an error nothing changes.
    pub(crate) fn apply_state(&mut self, state: &crate::admin::PluginState) -> Result<(), Error> {
        self.check_state(state)?;
        self.rule_overrides = state.rules.clone();
        self.enabled = effective_rules(&self.description.rules, &self.rule_overrides);
        self.set_settings(&state.settings)?;
        self.switched_on = state.enabled;
        Ok(())
    }

    /// The effective settings (defaults overlaid by overrides).
    pub fn settings(&self) -> Value {
        serde_json::from_str(&self.settings_json).unwrap_or(Value::Null)
    }

    /// Switches a rule on or off.
    pub(crate) fn set_rule(&mut self, rule: &str, enabled: bool) -> Result<(), Error> {
        if !self.rule_ids.contains(rule) {
            return Err(self.no_such_rule(rule, String::new()));
        }
        self.rule_overrides.insert(rule.to_owned(), enabled);
        self.enabled = effective_rules(&self.description.rules, &self.rule_overrides);
        Ok(())
    }

    /// Replaces the settings overrides: `overrides` is overlaid on the
    /// defaults (top-level keys) and the result must fit the schema.
    pub(crate) fn set_settings(&mut self, overrides: &Map<String, Value>) -> Result<(), Error> {
        let effective = self.effective_settings(overrides)?;
        self.settings_json = crate::case::canonical_json(&effective);
        Ok(())
    }

    /// The context of one call.
    pub(crate) fn context(&self, as_of: &str) -> wit::Context {
        wit::Context {
            as_of: as_of.to_owned(),
            enabled_rules: self.enabled.iter().cloned().collect(),
            settings: self.settings_json.clone(),
        }
    }
}

fn effective_rules(
    rules: &[RuleDescription],
    overrides: &BTreeMap<String, bool>,
) -> BTreeSet<String> {
    rules
        .iter()
        .filter(|r| {
            overrides
                .get(&r.id)
                .copied()
                .unwrap_or(r.enabled_by_default)
        })
        .map(|r| r.id.clone())
        .collect()
}

/// A kebab-case id as a PascalCase name (`plugin-info` → `PluginInfo`), for
/// generated type and schema names.
pub fn pascal_case(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Everything loading needs from the host.
pub(crate) struct Loader<'a> {
    pub engine: &'a Engine,
    pub linker: &'a Linker<StoreState>,
    pub limits: &'a Limits,
    pub cache: Option<&'a ArtifactCache>,
}

impl Loader<'_> {
    /// Loads a plugin from the bytes of its component.
    pub fn load(&self, bytes: &[u8], source: &str) -> Result<LoadedPlugin, Error> {
        let refuse = |message: String| Error::PluginLoad {
            source_name: source.to_owned(),
            message,
        };
        if bytes.len() > self.limits.component_bytes {
            return Err(refuse(format!(
                "the file is {} bytes, more than the limit of {}",
                bytes.len(),
                self.limits.component_bytes
            )));
        }
        match Engine::detect_precompiled(bytes) {
            Some(Precompiled::Component) | Some(Precompiled::Module) => {
                return Err(refuse(
                    "this is a precompiled artifact; plugins are accepted only as WebAssembly components, \
                     and the host compiles them itself"
                        .into(),
                ));
            }
            None => {}
        }
        if !bytes.starts_with(b"\0asm") {
            return Err(refuse(
                "not a WebAssembly component (no `\\0asm` header)".into(),
            ));
        }
        let sha256 = sha256_hex(bytes);
        let component = self.compile(bytes, &sha256).map_err(&refuse)?;
        self.check_imports(&component).map_err(&refuse)?;
        let kind = self.kind_of(&component).map_err(&refuse)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| refuse(format!("cannot be linked: {}", one_line(&e))))?;
        let pre = match kind {
            PluginKind::Eligibility => {
                EligibilityPluginPre::new(instance_pre).map(WorldPre::Eligibility)
            }
            PluginKind::Referral => ReferralPluginPre::new(instance_pre).map(WorldPre::Referral),
            PluginKind::Reporting => ReportingPluginPre::new(instance_pre).map(WorldPre::Reporting),
        }
        .map_err(|e| {
            refuse(format!(
                "does not match the {CONTRACT} contract: {}",
                one_line(&e)
            ))
        })?;

        let imports = component
            .component_type()
            .imports(self.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let (info, templates) = self.describe(&pre, source)?;
        let mut plugin = self.validate(info, templates, kind, sha256, pre, source)?;
        plugin.imports = imports;
        Ok(plugin)
    }

    fn compile(&self, bytes: &[u8], sha256: &str) -> Result<Component, String> {
        if let Some(cache) = self.cache
            && let Lookup::Hit(artifact) = cache.get(self.engine, sha256)
        {
            // SAFETY: the artifact was written by this host (see `cache`):
            // it carries a valid HMAC under the cache's private key, and
            // wasmtime checks its engine compatibility on load.
            match unsafe { Component::deserialize(self.engine, &artifact) } {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(target: "kinga::cache", error = %one_line(&e), "cached artifact unusable; recompiling")
                }
            }
        }
        let artifact = self
            .engine
            .precompile_component(bytes)
            .map_err(|e| format!("not a valid WebAssembly component: {}", one_line(&e)))?;
        if let Some(cache) = self.cache
            && let Err(e) = cache.put(self.engine, sha256, &artifact)
        {
            tracing::warn!(target: "kinga::cache", error = %e, "could not write the artifact cache");
        }
        // SAFETY: `artifact` was produced just now by this engine.
        unsafe { Component::deserialize(self.engine, &artifact) }
            .map_err(|e| format!("cannot be loaded: {}", one_line(&e)))
    }

    fn kind_of(&self, component: &Component) -> Result<PluginKind, String> {
        let exports: Vec<String> = component
            .component_type()
            .exports(self.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let kinds: Vec<PluginKind> = [
            PluginKind::Eligibility,
            PluginKind::Referral,
            PluginKind::Reporting,
        ]
        .into_iter()
        .filter(|k| exports.iter().any(|e| e == k.export()))
        .collect();
        match kinds.as_slice() {
            [kind] => Ok(*kind),
            [] => {
                let other: Vec<&String> = exports
                    .iter()
                    .filter(|e| e.starts_with("kinga:plugin/"))
                    .collect();
                if other.is_empty() {
                    Err(format!(
                        "exports no Kinga capability (expected one of the {CONTRACT} worlds)"
                    ))
                } else {
                    Err(format!(
                        "exports {}, but this host speaks {CONTRACT}",
                        other
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }
            }
            _ => Err("exports more than one capability; a plugin provides exactly one".into()),
        }
    }

    fn check_imports(&self, component: &Component) -> Result<(), String> {
        let refused: Vec<String> = component
            .component_type()
            .imports(self.engine)
            .map(|(name, _)| name.to_owned())
            .filter(|name| {
                !ALLOWED_IMPORTS
                    .iter()
                    .any(|allowed| name.starts_with(allowed))
            })
            .collect();
        if refused.is_empty() {
            return Ok(());
        }
        Err(format!(
            "imports {}, which the host does not provide (plugins get logging and nothing else: \
             no files, network, environment or host services)",
            refused.join(", ")
        ))
    }

    fn describe(
        &self,
        pre: &WorldPre,
        source: &str,
    ) -> Result<(wit::PluginInfo, Vec<TemplateDescription>), Error> {
        let id: Arc<str> = Arc::from(source);
        let mut store =
            new_store(self.engine, self.limits, Arc::clone(&id)).map_err(engine_error)?;
        let failed =
            |step: &str, store: &Store<StoreState>, e: wasmtime::Error| Error::PluginLoad {
                source_name: source.to_owned(),
                message: format!("{step} failed: {}", describe_failure(store, &e)),
            };
        match pre {
            WorldPre::Eligibility(pre) => {
                let plugin = pre
                    .instantiate(&mut store)
                    .map_err(|e| failed("instantiation", &store, e))?;
                let info = plugin
                    .kinga_plugin_plugin()
                    .call_describe(&mut store)
                    .map_err(|e| failed("describe", &store, e))?;
                Ok((info, Vec::new()))
            }
            WorldPre::Referral(pre) => {
                let plugin = pre
                    .instantiate(&mut store)
                    .map_err(|e| failed("instantiation", &store, e))?;
                let info = plugin
                    .kinga_plugin_plugin()
                    .call_describe(&mut store)
                    .map_err(|e| failed("describe", &store, e))?;
                Ok((info, Vec::new()))
            }
            WorldPre::Reporting(pre) => {
                let plugin = pre
                    .instantiate(&mut store)
                    .map_err(|e| failed("instantiation", &store, e))?;
                let info = plugin
                    .kinga_plugin_plugin()
                    .call_describe(&mut store)
                    .map_err(|e| failed("describe", &store, e))?;
                let templates = plugin
                    .kinga_plugin_reporting()
                    .call_templates(&mut store)
                    .map_err(|e| failed("templates", &store, e))?
                    .into_iter()
                    .map(|t| TemplateDescription {
                        id: t.id,
                        title: t.title,
                        description: t.description,
                        parameters: t
                            .parameters
                            .into_iter()
                            .map(|p| ParameterDescription {
                                name: p.name,
                                description: p.description,
                                required: p.required,
                            })
                            .collect(),
                    })
                    .collect();
                Ok((info, templates))
            }
        }
    }

    fn validate(
        &self,
        info: wit::PluginInfo,
        templates: Vec<TemplateDescription>,
        kind: PluginKind,
        sha256: String,
        pre: WorldPre,
        source: &str,
    ) -> Result<LoadedPlugin, Error> {
        let refuse = |message: String| Error::PluginLoad {
            source_name: source.to_owned(),
            message,
        };
        let declared_kind = match info.kind {
            wit::PluginKind::Eligibility => PluginKind::Eligibility,
            wit::PluginKind::Referral => PluginKind::Referral,
            wit::PluginKind::Reporting => PluginKind::Reporting,
        };
        if declared_kind != kind {
            return Err(refuse(format!(
                "describes itself as a {} plugin but exports the {} world",
                declared_kind.as_str(),
                kind.as_str()
            )));
        }
        let settings_schema: Value = serde_json::from_str(&info.settings_schema)
            .map_err(|_| refuse("its settings schema is not JSON".into()))?;
        let default_settings: Value = serde_json::from_str(&info.default_settings)
            .map_err(|_| refuse("its default settings are not JSON".into()))?;
        let description = PluginDescription {
            id: info.id,
            name: info.name,
            version: info.version,
            kind,
            purpose: info.purpose,
            contract: CONTRACT,
            content_sha256: sha256,
            rules: info
                .rules
                .into_iter()
                .map(|r| RuleDescription {
                    id: r.id,
                    title: r.title,
                    description: r.description,
                    enabled_by_default: r.enabled_by_default,
                })
                .collect(),
            settings_schema,
            default_settings,
            case_fields: info.case_fields,
            templates,
        };
        let as_json = serde_json::to_value(&description)
            .map_err(|_| refuse("its description cannot be represented".into()))?;
        let mut checked = as_json.clone();
        if let Some(map) = checked.as_object_mut() {
            map.remove("contract");
            map.remove("content_sha256");
            map.remove("templates");
        }
        if let Some(v) = schema::violations(schema::plugin_info(), &checked, 1)
            .into_iter()
            .next()
        {
            return Err(refuse(format!("its description is invalid at {}", v)));
        }
        let mut rule_ids = BTreeSet::new();
        for rule in &description.rules {
            if !rule_ids.insert(rule.id.clone()) {
                return Err(refuse(format!("two rules have the id {}", rule.id)));
            }
        }
        if let Some(field) = description
            .case_fields
            .iter()
            .find(|p| !crate::case::is_case_field(p))
        {
            return Err(refuse(format!(
                "declares the case field {}, which the canonical case does not have",
                schema::quote(field)
            )));
        }
        let settings_validator = schema::compile_settings_schema(&description.settings_schema)
            .map_err(|e| refuse(format!("its settings schema does not compile: {e}")))?;
        let mut plugin = LoadedPlugin {
            id: Arc::from(description.id.as_str()),
            enabled: effective_rules(&description.rules, &BTreeMap::new()),
            rule_overrides: BTreeMap::new(),
            description,
            pre,
            rule_ids,
            settings_validator,
            settings_json: String::new(),
            slots: crate::gate::Slots::new(self.limits.concurrent_calls_per_plugin),
            breaker: crate::gate::Breaker::default(),
            switched_on: true,
            imports: Vec::new(),
        };
        plugin
            .set_settings(&Map::new())
            .map_err(|e| refuse(format!("its default settings are invalid: {e}")))?;
        Ok(plugin)
    }
}

/// What stopped a call, from the error and the store's state.
pub(crate) fn classify(store: &Store<StoreState>, error: &wasmtime::Error) -> Containment {
    if store.data().memory_denied() {
        return Containment::MemoryLimit;
    }
    if is_copy_limit(error) {
        return Containment::OutputTooLarge;
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Containment::OutOfFuel,
        Some(Trap::Interrupt) => Containment::Deadline,
        Some(Trap::StackOverflow) => Containment::StackOverflow,
        Some(Trap::UnreachableCodeReached) => Containment::Unreachable,
        Some(
            Trap::IntegerDivisionByZero | Trap::IntegerOverflow | Trap::BadConversionToInteger,
        ) => Containment::Arithmetic,
        Some(Trap::MemoryOutOfBounds | Trap::TableOutOfBounds | Trap::HeapMisaligned) => {
            Containment::OutOfBounds
        }
        Some(Trap::IndirectCallToNull | Trap::BadSignature) => Containment::BadCall,
        Some(_) => Containment::OtherTrap,
        None => Containment::OtherTrap,
    }
}

/// What stopped a call, in words: the containment class for traps and
/// limits, else wasmtime's own reason (a refused instantiation, say).
fn describe_failure(store: &Store<StoreState>, error: &wasmtime::Error) -> String {
    if is_trap(store, error) {
        classify(store, error).to_string()
    } else {
        one_line(error)
    }
}

/// Whether an error from a call is a trap (or a limit) rather than a value
/// that could not be lifted.
pub(crate) fn is_trap(store: &Store<StoreState>, error: &wasmtime::Error) -> bool {
    store.data().memory_denied() || error.downcast_ref::<Trap>().is_some() || is_copy_limit(error)
}

/// Whether wasmtime stopped copying a plugin's data to the host because it
/// exceeded [`Limits::hostcall_bytes`] (its error type is private, so it is
/// recognised by its message; a test pins it).
fn is_copy_limit(error: &wasmtime::Error) -> bool {
    format!("{error:#}").contains("fuel allocated for hostcalls has been exhausted")
}

pub(crate) fn engine_error(e: wasmtime::Error) -> Error {
    Error::Engine(one_line(&e))
}

/// An error chain on one line.
pub(crate) fn one_line(e: &wasmtime::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

/// Converts a plugin's own error.
pub(crate) fn refused(plugin: &str, e: wit::PluginError) -> Error {
    Error::PluginRefused {
        plugin: plugin.to_owned(),
        kind: match e.kind {
            wit::ErrorKind::InvalidCase => PluginErrorKind::InvalidCase,
            wit::ErrorKind::InvalidSettings => PluginErrorKind::InvalidSettings,
            wit::ErrorKind::InvalidParameters => PluginErrorKind::InvalidParameters,
            wit::ErrorKind::Internal => PluginErrorKind::Internal,
        },
        code: crate::sandbox::sanitize_log_line(&e.code, 64),
        message: crate::sandbox::sanitize_log_line(&e.message, 300),
        pointer: e
            .pointer
            .map(|p| crate::sandbox::sanitize_log_line(&p, 200)),
    }
}
