//! Loading one plugin: checks on the bytes, compilation (through the
//! artifact cache), the import and export checks, and `describe`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Map, Value};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Precompiled, Store};

use crate::case::schema;
use crate::error::Error;
use crate::error::PluginErrorKind;
use crate::runtime::bindings::eligibility::EligibilityPluginPre;
use crate::runtime::bindings::referral::ReferralPluginPre;
use crate::runtime::bindings::reporting::ReportingPluginPre;
use crate::runtime::bindings::reporting::exports::kinga::plugin::reporting as wit_reporting;
use crate::runtime::bindings::types as wit;
use crate::runtime::cache::{ArtifactCache, Lookup};
use crate::runtime::declared::{self, Declared};
use crate::runtime::limits::Limits;
use crate::runtime::plugin::{
    CONTRACT, DimensionDescription, ErrorDescription, LoadedPlugin, ParameterDescription,
    PluginDescription, PluginKind, PriorityRange, ReasonDescription, RuleDescription,
    TableDescription, TemplateDescription, WorldPre, effective_rules,
};
use crate::runtime::sandbox::{classify, engine_error, is_trap, one_line};
use crate::runtime::store::{StoreState, new_store};
use crate::storage::sha256_hex;

/// The imports a plugin may have: the contract's own and the inert WASI
/// subset (see [`crate::runtime::sandbox`]). WASI versions are matched by prefix:
/// any `0.2.x` is accepted, as wasmtime links them semver-compatibly.
const ALLOWED_IMPORTS: &[&str] = &[
    "kinga:plugin/log@0.2.0",
    "kinga:plugin/types@0.2.0",
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
                        "exports {}, but this host speaks {CONTRACT}; rebuild the plugin against \
                         {CONTRACT} (kinga-plugin-sdk 0.2, see wit/README.md)",
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
                    .map(template_description)
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
            rules: info.rules.into_iter().map(rule_description).collect(),
            settings_schema,
            default_settings,
            case_fields: info.case_fields,
            errors: info.errors.into_iter().map(error_description).collect(),
            templates,
        };
        let as_json = serde_json::to_value(&description)
            .map_err(|_| refuse("its description cannot be represented".into()))?;
        let mut checked = as_json.clone();
        if let Some(map) = checked.as_object_mut() {
            map.remove("contract");
            map.remove("content_sha256");
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
        declared::check(&description).map_err(|e| refuse(format!("its description {e}")))?;
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
            declared: Declared::default(),
            slots: crate::runtime::gate::Slots::new(self.limits.concurrent_calls_per_plugin),
            breaker: crate::runtime::gate::Breaker::default(),
            breaker_cooldown: self.limits.breaker_cooldown,
            switched_on: true,
            imports: Vec::new(),
        };
        plugin
            .set_settings(&Map::new())
            .map_err(|e| refuse(format!("its default settings are invalid: {e}")))?;
        Ok(plugin)
    }
}

fn rule_description(r: wit::RuleInfo) -> RuleDescription {
    RuleDescription {
        id: r.id,
        title: r.title,
        description: r.description,
        enabled_by_default: r.enabled_by_default,
        reasons: r
            .reasons
            .into_iter()
            .map(|r| ReasonDescription {
                code: r.code,
                message: r.message,
            })
            .collect(),
        services: r.services,
        priorities: r.priorities.map(|p| PriorityRange {
            lowest: p.lowest,
            highest: p.highest,
        }),
    }
}

fn error_description(e: wit::ErrorInfo) -> ErrorDescription {
    ErrorDescription {
        code: e.code,
        kind: match e.kind {
            wit::ErrorKind::InvalidCase => PluginErrorKind::InvalidCase,
            wit::ErrorKind::InvalidSettings => PluginErrorKind::InvalidSettings,
            wit::ErrorKind::InvalidParameters => PluginErrorKind::InvalidParameters,
            wit::ErrorKind::Internal => PluginErrorKind::Internal,
        },
        message: e.message,
    }
}

fn template_description(t: wit_reporting::TemplateInfo) -> TemplateDescription {
    TemplateDescription {
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
        tables: t
            .tables
            .into_iter()
            .map(|t| TableDescription {
                id: t.id,
                title: t.title,
                unit: t.unit,
                dimensions: t
                    .dimensions
                    .into_iter()
                    .map(|d| DimensionDescription {
                        name: d.name,
                        labels: d.labels,
                    })
                    .collect(),
            })
            .collect(),
        narrative: t.narrative,
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
