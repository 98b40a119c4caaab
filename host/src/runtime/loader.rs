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
use crate::runtime::bindings::eligibility::EligibilityCorePre;
use crate::runtime::bindings::referral::ReferralCorePre;
use crate::runtime::bindings::reporting::ReportingCorePre;
use crate::runtime::bindings::reporting::exports::kinga::plugin::reporting as wit_reporting;
use crate::runtime::bindings::types as wit;
use crate::runtime::cache::{ArtifactCache, Lookup};
use crate::runtime::declared::{self, Declared};
use crate::runtime::limits::Limits;
use crate::runtime::plugin::{
    CONTRACT, DimensionDescription, ErrorDescription, LoadedPlugin, ParameterDescription,
    PluginDescription, PluginKind, PriorityRange, ReasonDescription, RuleDescription,
    SUPPORTED_CONTRACTS, TableDescription, TemplateDescription, WorldPre, effective_rules,
};
use crate::runtime::sandbox::{classify, engine_error, is_trap, one_line};
use crate::runtime::settings_check::{self, RefusalDescription, SettingsCheck};
use crate::runtime::store::{StoreState, new_store};
use crate::storage::sha256_hex;

/// The imports a plugin may have: the contract's own and the inert WASI
/// subset (see [`crate::runtime::sandbox`]). Versions are matched by prefix:
/// any `0.2.x` is accepted, as wasmtime links them semver-compatibly (the
/// contract versions a plugin may export are checked in `contract_of`).
const ALLOWED_IMPORTS: &[&str] = &[
    "kinga:plugin/log@0.2.",
    "kinga:plugin/types@0.2.",
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

/// The most problems one refusal lists.
const MAX_LOAD_PROBLEMS: usize = 20;

/// What a plugin said about itself, with what the loader found.
struct Described {
    info: wit::PluginInfo,
    templates: Vec<TemplateDescription>,
    refusals: Vec<RefusalDescription>,
    kind: PluginKind,
    /// `kinga:plugin@0.2.2`, say.
    contract: String,
    sha256: String,
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
        let refuse = |message: String| Error::plugin_load(source, message);
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
        // The imports and the exports are independent: both are reported.
        let (kind, version) = match (self.check_imports(&component), self.kind_of(&component)) {
            (Ok(()), Ok(found)) => found,
            (imports, exports) => {
                return Err(Error::PluginLoad {
                    source_name: source.to_owned(),
                    problems: imports.err().into_iter().chain(exports.err()).collect(),
                });
            }
        };
        let contract = format!("kinga:plugin@{version}");
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| refuse(format!("cannot be linked: {}", one_line(&e))))?;
        let settings_check = if version == "0.2.0" {
            None
        } else {
            Some(
                SettingsCheck::new(instance_pre.clone(), self.engine, self.limits).map_err(
                    |e| {
                        refuse(format!(
                            "does not match the {contract} contract: {}",
                            one_line(&e)
                        ))
                    },
                )?,
            )
        };
        let pre = match kind {
            PluginKind::Eligibility => {
                EligibilityCorePre::new(instance_pre).map(WorldPre::Eligibility)
            }
            PluginKind::Referral => ReferralCorePre::new(instance_pre).map(WorldPre::Referral),
            PluginKind::Reporting => ReportingCorePre::new(instance_pre).map(WorldPre::Reporting),
        }
        .map_err(|e| {
            refuse(format!(
                "does not match the {contract} contract: {}",
                one_line(&e)
            ))
        })?;

        let imports = component
            .component_type()
            .imports(self.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let (info, templates) = self.describe(&pre, source)?;
        let refusals = match &settings_check {
            Some(check) => check
                .refusals(source)
                .map_err(|e| refuse(format!("settings refusals failed: {e}")))?,
            None => Vec::new(),
        };
        let described = Described {
            info,
            templates,
            refusals,
            kind,
            contract,
            sha256,
        };
        let mut plugin = self.validate(described, pre, settings_check, source)?;
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

    /// The capability a component exports and the contract version it was
    /// built against: exactly one capability, every contract export of one
    /// version, and a version this host loads.
    fn kind_of(&self, component: &Component) -> Result<(PluginKind, &'static str), String> {
        let exports: Vec<(String, String)> = component
            .component_type()
            .exports(self.engine)
            .filter_map(|(name, _)| {
                let (interface, version) = name.strip_prefix("kinga:plugin/")?.split_once('@')?;
                Some((interface.to_owned(), version.to_owned()))
            })
            .collect();
        let kinds: Vec<PluginKind> = [
            PluginKind::Eligibility,
            PluginKind::Referral,
            PluginKind::Reporting,
        ]
        .into_iter()
        .filter(|k| {
            exports
                .iter()
                .any(|(interface, _)| interface == k.interface())
        })
        .collect();
        let kind = match kinds.as_slice() {
            [kind] => *kind,
            [] => {
                return Err(format!(
                    "exports no Kinga capability (expected one of the worlds of {CONTRACT})"
                ));
            }
            _ => {
                return Err(
                    "exports more than one capability; a plugin provides exactly one".into(),
                );
            }
        };
        let versions: BTreeSet<&str> = exports.iter().map(|(_, v)| v.as_str()).collect();
        let supported = match SUPPORTED_CONTRACTS.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        };
        match versions.iter().collect::<Vec<_>>().as_slice() {
            [version] => match SUPPORTED_CONTRACTS.iter().find(|s| *s == *version) {
                Some(found) => Ok((kind, found)),
                None => Err(format!(
                    "was built against kinga:plugin@{}, but this host loads plugins built against \
                     {supported}; rebuild the plugin against {CONTRACT} (kinga-plugin-sdk 0.2, \
                     see wit/README.md)",
                    crate::text::sanitize_log_line(version, 40)
                )),
            },
            _ => Err(format!(
                "exports contract interfaces of different versions ({}); a plugin is built \
                 against one version",
                versions
                    .iter()
                    .map(|v| crate::text::sanitize_log_line(v, 40))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
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
        let failed = |step: &str, store: &Store<StoreState>, e: wasmtime::Error| {
            Error::plugin_load(
                source,
                format!("{step} failed: {}", describe_failure(store, &e)),
            )
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
        described: Described,
        pre: WorldPre,
        settings_check: Option<SettingsCheck>,
        source: &str,
    ) -> Result<LoadedPlugin, Error> {
        let Described {
            info,
            templates,
            refusals,
            kind,
            contract,
            sha256,
        } = described;
        let mut problems = Vec::new();
        let declared_kind = match info.kind {
            wit::PluginKind::Eligibility => PluginKind::Eligibility,
            wit::PluginKind::Referral => PluginKind::Referral,
            wit::PluginKind::Reporting => PluginKind::Reporting,
        };
        if declared_kind != kind {
            problems.push(format!(
                "describes itself as a {} plugin but exports the {} world",
                declared_kind.as_str(),
                kind.as_str()
            ));
        }
        let mut json = |text: &str, problem: &str| {
            serde_json::from_str::<Value>(text).unwrap_or_else(|_| {
                problems.push(problem.to_owned());
                Value::Null
            })
        };
        let settings_schema = json(&info.settings_schema, "its settings schema is not JSON");
        let default_settings = json(&info.default_settings, "its default settings are not JSON");
        let description = PluginDescription {
            id: info.id,
            name: info.name,
            version: info.version,
            kind,
            purpose: info.purpose,
            contract,
            content_sha256: sha256,
            rules: info.rules.into_iter().map(rule_description).collect(),
            settings_schema,
            default_settings,
            case_fields: info.case_fields,
            errors: info.errors.into_iter().map(error_description).collect(),
            settings_refusals: refusals,
            templates,
        };
        let mut checked = serde_json::to_value(&description).unwrap_or(Value::Null);
        if let Some(map) = checked.as_object_mut() {
            map.remove("contract");
            map.remove("content_sha256");
        }
        let form = schema::violations(schema::plugin_info(), &checked, MAX_LOAD_PROBLEMS);
        let well_formed = form.is_empty() && problems.is_empty();
        problems.extend(
            form.into_iter()
                .map(|v| format!("its description is invalid at {v}")),
        );
        // What a description means is checked once its form is right: the
        // checks of meaning quote its ids, which the form check keeps to
        // plain labels.
        let mut rule_ids = BTreeSet::new();
        let mut settings_validator = None;
        if well_formed {
            for rule in &description.rules {
                if !rule_ids.insert(rule.id.clone()) {
                    problems.push(format!("two rules have the id {}", rule.id));
                }
            }
            problems.extend(
                description
                    .case_fields
                    .iter()
                    .filter(|p| !crate::case::is_case_field(p))
                    .map(|field| {
                        format!(
                            "declares the case field {}, which the canonical case does not have",
                            schema::quote(field)
                        )
                    }),
            );
            // A plugin reading case 1.0 cannot have known a field of 1.1.
            if crate::runtime::plugin::case_version_of(&description.contract) == "1" {
                problems.extend(
                    description
                        .case_fields
                        .iter()
                        .filter(|p| crate::runtime::plugin::CASE_1_1_FIELDS.contains(&p.as_str()))
                        .map(|field| {
                            format!(
                                "declares the case field {}, which only case 1.1 has, but reads case 1.0 ({})",
                                schema::quote(field),
                                description.contract
                            )
                        }),
                );
            }
            problems.extend(
                declared::check(&description)
                    .into_iter()
                    .chain(settings_check::check_declarations(
                        &description.settings_refusals,
                        &description.default_settings,
                    ))
                    .chain(crate::runtime::setting_cells::check(&description)),
            );
            match schema::compile_settings_schema(&description.settings_schema) {
                Ok(validator) => settings_validator = Some(validator),
                Err(e) => problems.push(format!("its settings schema does not compile: {e}")),
            }
        }
        let refused = |mut problems: Vec<String>| {
            if problems.len() > MAX_LOAD_PROBLEMS {
                let more = problems.len() - MAX_LOAD_PROBLEMS;
                problems.truncate(MAX_LOAD_PROBLEMS);
                problems.push(format!("and {more} more problems"));
            }
            Error::PluginLoad {
                source_name: source.to_owned(),
                problems,
            }
        };
        let Some(settings_validator) = settings_validator.filter(|_| problems.is_empty()) else {
            return Err(refused(problems));
        };
        let mut plugin = LoadedPlugin {
            id: Arc::from(description.id.as_str()),
            enabled: effective_rules(&description.rules, &BTreeMap::new()),
            rule_overrides: BTreeMap::new(),
            description,
            pre,
            rule_ids,
            settings_validator,
            settings_check,
            held: None,
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
            .map_err(|e| refused(vec![format!("its default settings are invalid: {e}")]))?;
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
