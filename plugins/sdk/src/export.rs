//! The export macros: WIT glue between the contract and the plugin traits.
//!
//! Each macro runs `wit_bindgen::generate!` in the plugin crate for the
//! plugin's world (the WIT is read from the plugin crate, by default its
//! `wit/` folder) and implements the generated traits by converting between
//! WIT records and the SDK's plain types. Bindings are generated in the
//! plugin crate, not here, so that a component carries exactly one world.
//!
//! `describe` reports what the kind's trait says the plugin is
//! ([`EligibilityPlugin::describe`](crate::EligibilityPlugin::describe),
//! [`ReferralPlugin::describe`](crate::ReferralPlugin::describe): `info()`
//! with the declared rules), or `info()` itself for a reporting plugin.

/// Glue shared by the three worlds: logging, `describe` (from the
/// description `$info`), the settings check, contexts and errors.
#[doc(hidden)]
#[macro_export]
macro_rules! __kinga_common_glue {
    ($plugin:ty, $kind:ident, $info:expr) => {
        #[doc(hidden)]
        pub struct __KingaComponent;

        use __kinga_bindings::kinga::plugin::types as __kinga_types;

        fn __kinga_install_log() {
            fn sink(level: $crate::log::Level, message: &str) {
                use __kinga_bindings::kinga::plugin::log::{Level, log};
                let level = match level {
                    $crate::log::Level::Trace => Level::Trace,
                    $crate::log::Level::Debug => Level::Debug,
                    $crate::log::Level::Info => Level::Info,
                    $crate::log::Level::Warn => Level::Warn,
                    $crate::log::Level::Error => Level::Error,
                };
                log(level, message);
            }
            $crate::log::install(sink);
        }

        fn __kinga_error(e: $crate::PluginError) -> __kinga_types::PluginError {
            __kinga_types::PluginError {
                code: e.code,
                pointer: e.pointer,
            }
        }

        fn __kinga_reasons(reasons: Vec<$crate::Reason>) -> Vec<__kinga_types::Reason> {
            reasons
                .into_iter()
                .map(|r| __kinga_types::Reason {
                    rule: r.rule,
                    code: r.code,
                })
                .collect()
        }

        fn __kinga_context(
            ctx: __kinga_types::Context,
        ) -> Result<
            $crate::Context<<$plugin as $crate::Plugin>::Settings>,
            __kinga_types::PluginError,
        > {
            __kinga_install_log();
            $crate::Context::from_raw(&ctx.as_of, ctx.enabled_rules, &ctx.settings)
                .map_err(__kinga_error)
        }

        fn __kinga_case(case: &str) -> Result<$crate::Case, __kinga_types::PluginError> {
            $crate::Case::from_json(case).map_err(__kinga_error)
        }

        impl __kinga_bindings::exports::kinga::plugin::settings::Guest for __KingaComponent {
            fn refusals() -> Vec<__kinga_bindings::exports::kinga::plugin::settings::RefusalInfo> {
                $crate::settings::declared::<$plugin>()
                    .into_iter()
                    .map(|(code, message)| {
                        __kinga_bindings::exports::kinga::plugin::settings::RefusalInfo {
                            code: code.to_owned(),
                            message: message.to_owned(),
                        }
                    })
                    .collect()
            }

            fn check(
                settings: String,
            ) -> Vec<__kinga_bindings::exports::kinga::plugin::settings::Refusal> {
                __kinga_install_log();
                $crate::settings::check_json::<$plugin>(&settings)
                    .into_iter()
                    .map(
                        |r| __kinga_bindings::exports::kinga::plugin::settings::Refusal {
                            code: r.code,
                            pointer: r.pointer,
                        },
                    )
                    .collect()
            }
        }

        impl __kinga_bindings::exports::kinga::plugin::plugin::Guest for __KingaComponent {
            fn describe() -> __kinga_types::PluginInfo {
                use __kinga_types::ErrorKind as K;
                let info: $crate::PluginInfo = $info;
                let info = info.errors($crate::describe::SDK_ERRORS);
                __kinga_types::PluginInfo {
                    id: info.id,
                    name: info.name,
                    version: info.version,
                    kind: __kinga_types::PluginKind::$kind,
                    purpose: info.purpose,
                    rules: info
                        .rules
                        .into_iter()
                        .map(|r| __kinga_types::RuleInfo {
                            id: r.id,
                            title: r.title,
                            description: r.description,
                            enabled_by_default: r.enabled_by_default,
                            reasons: r
                                .reasons
                                .into_iter()
                                .map(|x| __kinga_types::ReasonInfo {
                                    code: x.code,
                                    message: x.message,
                                })
                                .collect(),
                            services: r.services,
                            priorities: r.priorities.map(|(lowest, highest)| {
                                __kinga_types::PriorityRange { lowest, highest }
                            }),
                        })
                        .collect(),
                    settings_schema: info.settings_schema,
                    default_settings: $crate::default_settings_json::<$plugin>(),
                    case_fields: info.case_fields,
                    errors: info
                        .errors
                        .into_iter()
                        .map(|e| __kinga_types::ErrorInfo {
                            code: e.code,
                            kind: match e.kind {
                                $crate::ErrorKind::InvalidCase => K::InvalidCase,
                                $crate::ErrorKind::InvalidSettings => K::InvalidSettings,
                                $crate::ErrorKind::InvalidParameters => K::InvalidParameters,
                                $crate::ErrorKind::Internal => K::Internal,
                            },
                            message: e.message,
                        })
                        .collect(),
                }
            }
        }
    };
}

/// Exports `$plugin` (an [`EligibilityPlugin`](crate::EligibilityPlugin)) as
/// the component's `eligibility-plugin` world.
///
/// `wit = "path"` names the folder holding the contract's WIT, relative to
/// the plugin crate (default `"wit"`; `kinga new` copies `kinga:plugin@0.2.2`
/// there). The plugin is built against the contract version that folder
/// holds, and is given the case version of that contract (`wit/README.md`,
/// "Case versions"): 0.2.2 reads case 1.1; a folder still holding 0.2.1
/// builds a plugin the host gives case 1.0 only.
#[macro_export]
macro_rules! export_eligibility_plugin {
    ($plugin:ty) => {
        $crate::export_eligibility_plugin!($plugin, wit = "wit");
    };
    ($plugin:ty, wit = $wit:tt) => {
        mod __kinga_bindings {
            $crate::__private::wit_bindgen::generate!({
                path: $wit,
                world: "eligibility-plugin",
                runtime_path: "::kinga_plugin_sdk::__private::wit_bindgen::rt",
            });
        }
        $crate::__kinga_common_glue!(
            $plugin,
            Eligibility,
            <$plugin as $crate::EligibilityPlugin>::describe()
        );

        impl __kinga_bindings::exports::kinga::plugin::eligibility::Guest for __KingaComponent {
            fn evaluate(
                ctx: __kinga_types::Context,
                case: String,
            ) -> Result<
                Vec<__kinga_bindings::exports::kinga::plugin::eligibility::Decision>,
                __kinga_types::PluginError,
            > {
                use __kinga_bindings::exports::kinga::plugin::eligibility::{Decision, Status};
                let ctx = __kinga_context(ctx)?;
                let case = __kinga_case(&case)?;
                let decisions =
                    <$plugin as $crate::EligibilityPlugin>::evaluate(&ctx, &case).map_err(__kinga_error)?;
                Ok(decisions
                    .into_iter()
                    .map(|d| Decision {
                        track: d.track,
                        status: match d.status {
                            $crate::Status::Eligible => Status::Eligible,
                            $crate::Status::Ineligible => Status::Ineligible,
                            $crate::Status::Undetermined => Status::Undetermined,
                        },
                        priority: d.priority,
                        reasons: __kinga_reasons(d.reasons),
                        missing: d.missing,
                    })
                    .collect())
            }
        }

        // Exported only in the component: natively the rules are tested as
        // plain Rust and the symbol names would not link.
        #[cfg(target_arch = "wasm32")]
        __kinga_bindings::export!(__KingaComponent with_types_in __kinga_bindings);
    };
}

/// Exports `$plugin` (a [`ReferralPlugin`](crate::ReferralPlugin)) as the
/// component's `referral-plugin` world. See [`export_eligibility_plugin!`].
#[macro_export]
macro_rules! export_referral_plugin {
    ($plugin:ty) => {
        $crate::export_referral_plugin!($plugin, wit = "wit");
    };
    ($plugin:ty, wit = $wit:tt) => {
        mod __kinga_bindings {
            $crate::__private::wit_bindgen::generate!({
                path: $wit,
                world: "referral-plugin",
                runtime_path: "::kinga_plugin_sdk::__private::wit_bindgen::rt",
            });
        }
        $crate::__kinga_common_glue!(
            $plugin,
            Referral,
            <$plugin as $crate::ReferralPlugin>::describe()
        );

        impl __kinga_bindings::exports::kinga::plugin::referral::Guest for __KingaComponent {
            fn route(
                ctx: __kinga_types::Context,
                case: String,
            ) -> Result<
                Vec<__kinga_bindings::exports::kinga::plugin::referral::Referral>,
                __kinga_types::PluginError,
            > {
                use __kinga_bindings::exports::kinga::plugin::referral::{
                    ConsentStatus, Provider, Referral, Urgency,
                };
                let ctx = __kinga_context(ctx)?;
                let case = __kinga_case(&case)?;
                let referrals =
                    <$plugin as $crate::ReferralPlugin>::route(&ctx, &case).map_err(__kinga_error)?;
                Ok(referrals
                    .into_iter()
                    .map(|r| Referral {
                        rule: r.rule,
                        service: r.service,
                        urgency: match r.urgency {
                            $crate::Urgency::Emergency => Urgency::Emergency,
                            $crate::Urgency::Within24h => Urgency::Within24h,
                            $crate::Urgency::Within72h => Urgency::Within72h,
                            $crate::Urgency::Routine => Urgency::Routine,
                        },
                        due: $crate::date::format_datetime(r.due),
                        provider: r.provider.map(|p| Provider { id: p.id, name: p.name, contact: p.contact }),
                        consent: match r.consent {
                            $crate::ConsentStatus::NotRequired => ConsentStatus::NotRequired,
                            $crate::ConsentStatus::Given => ConsentStatus::Given,
                            $crate::ConsentStatus::Required => ConsentStatus::Required,
                        },
                        reasons: __kinga_reasons(r.reasons),
                    })
                    .collect())
            }
        }

        // Exported only in the component: natively the rules are tested as
        // plain Rust and the symbol names would not link.
        #[cfg(target_arch = "wasm32")]
        __kinga_bindings::export!(__KingaComponent with_types_in __kinga_bindings);
    };
}

/// Exports `$plugin` (a [`ReportingPlugin`](crate::ReportingPlugin)) as the
/// component's `reporting-plugin` world. See [`export_eligibility_plugin!`].
#[macro_export]
macro_rules! export_reporting_plugin {
    ($plugin:ty) => {
        $crate::export_reporting_plugin!($plugin, wit = "wit");
    };
    ($plugin:ty, wit = $wit:tt) => {
        mod __kinga_bindings {
            $crate::__private::wit_bindgen::generate!({
                path: $wit,
                world: "reporting-plugin",
                runtime_path: "::kinga_plugin_sdk::__private::wit_bindgen::rt",
            });
        }
        $crate::__kinga_common_glue!($plugin, Reporting, <$plugin as $crate::Plugin>::info());

        #[doc(hidden)]
        pub struct __KingaReport(
            ::std::cell::RefCell<Option<<$plugin as $crate::ReportingPlugin>::Report>>,
        );

        impl __kinga_bindings::exports::kinga::plugin::reporting::Guest for __KingaComponent {
            type Report = __KingaReport;

            fn templates() -> Vec<__kinga_bindings::exports::kinga::plugin::reporting::TemplateInfo> {
                use __kinga_bindings::exports::kinga::plugin::reporting::{
                    DimensionInfo, ParameterInfo, TableInfo, TemplateInfo,
                };
                <$plugin as $crate::ReportingPlugin>::templates()
                    .into_iter()
                    .map(|t| TemplateInfo {
                        id: t.id,
                        title: t.title,
                        description: t.description,
                        parameters: t
                            .parameters
                            .into_iter()
                            .map(|p| ParameterInfo { name: p.name, description: p.description, required: p.required })
                            .collect(),
                        tables: t
                            .tables
                            .iter()
                            .map(|spec| TableInfo {
                                id: spec.id.to_owned(),
                                title: spec.title.to_owned(),
                                unit: spec.unit.to_owned(),
                                dimensions: spec
                                    .dimensions
                                    .iter()
                                    .map(|d| DimensionInfo {
                                        name: d.name.to_owned(),
                                        labels: d.labels.iter().map(|l| (*l).to_owned()).collect(),
                                    })
                                    .collect(),
                            })
                            .collect(),
                        narrative: t.narrative,
                    })
                    .collect()
            }
        }

        impl __kinga_bindings::exports::kinga::plugin::reporting::GuestReport for __KingaReport {
            fn open(
                ctx: __kinga_types::Context,
                template: String,
                parameters: Vec<(String, String)>,
            ) -> Result<__kinga_bindings::exports::kinga::plugin::reporting::Report, __kinga_types::PluginError> {
                let ctx = __kinga_context(ctx)?;
                let report = <$plugin as $crate::ReportingPlugin>::open(&ctx, &template, &parameters)
                    .map_err(__kinga_error)?;
                Ok(__kinga_bindings::exports::kinga::plugin::reporting::Report::new(__KingaReport(
                    ::std::cell::RefCell::new(Some(report)),
                )))
            }

            fn add(&self, case: String) -> Result<(), __kinga_types::PluginError> {
                let case = __kinga_case(&case)?;
                let mut slot = self.0.borrow_mut();
                let report = slot.as_mut().ok_or_else(|| {
                    __kinga_error($crate::PluginError::internal("report-finished"))
                })?;
                $crate::ReportBuilder::add(report, &case).map_err(__kinga_error)
            }

            fn finish(
                &self,
            ) -> Result<__kinga_bindings::exports::kinga::plugin::reporting::ReportOutput, __kinga_types::PluginError>
            {
                use __kinga_bindings::exports::kinga::plugin::reporting::{ReportOutput, Row, Table};
                let report = self.0.borrow_mut().take().ok_or_else(|| {
                    __kinga_error($crate::PluginError::internal("report-finished"))
                })?;
                let out = $crate::ReportBuilder::finish(report).map_err(__kinga_error)?;
                Ok(ReportOutput {
                    tables: out
                        .tables
                        .into_iter()
                        .map(|t| Table {
                            id: t.spec.id.to_owned(),
                            rows: t.counts.into_iter().map(|(labels, count)| Row { labels, count }).collect(),
                        })
                        .collect(),
                })
            }
        }

        // Exported only in the component: natively the rules are tested as
        // plain Rust and the symbol names would not link.
        #[cfg(target_arch = "wasm32")]
        __kinga_bindings::export!(__KingaComponent with_types_in __kinga_bindings);
    };
}
