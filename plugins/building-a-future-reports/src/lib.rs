//! # building-a-future-reports
//!
//! The reports Building a Future sends its donor and uses to manage its
//! caseload, as tables of labelled counts that the host renders (JSON, CSV,
//! Markdown) and, for publication, suppresses small cells in.
//!
//! - `baf-quarterly` (`period=YYYY-Qn`): **reach**, the survivors (families
//!   counted as cases) served in each track from the setting
//!   `programme_start` to the period's end, beside the programme's `targets`
//!   (settings, 130 / 80 / 50, which the host itself shows: the settings
//!   schema declares those cells); **participants** by track × sex ×
//!   age band × county; **school retention** of survivors aged 9-15 with
//!   education support; **PS.5.1-29** survivors referred, by service category
//!   × sex; **new survivors** registered in the quarter; **identified by**:
//!   those new survivors by who identified them (`identified_by`, case 1.1;
//!   `unknown` when not recorded) × county.
//! - A case whose survivor status is not assessed yet (case 1.1) is never
//!   counted as a survivor; `caseload-summary` labels it `unknown`.
//! - `caseload-summary` (`as_of=YYYY-MM-DD`): open cases registered by that
//!   day, by county × survivor status × sex.
//!
//! Age bands (`9-15`, `16-18`, `other`) are taken at the period's last day. A
//! report keeps counts only, so any number of cases streams through in
//! constant memory.

pub mod period;
pub mod settings;
pub mod templates;

use kinga_plugin_sdk::*;

use period::Quarter;
use templates::{
    CaseloadSummary, IDENTIFIED, NEW_SURVIVORS, OPEN_CASES, PARTICIPANTS, Quarterly, REACH,
    REFERRED, RETENTION,
};

pub use settings::Settings;

/// The plugin.
pub struct BuildingAFutureReports;

/// A report of either template.
pub enum Report {
    /// `baf-quarterly`.
    Quarterly(Box<Quarterly>),
    /// `caseload-summary`.
    Caseload(CaseloadSummary),
}

impl ReportBuilder for Report {
    fn add(&mut self, case: &Case) -> Result<(), PluginError> {
        match self {
            Report::Quarterly(r) => r.add(case),
            Report::Caseload(r) => r.add(case),
        }
    }

    fn finish(self) -> Result<ReportOutput, PluginError> {
        match self {
            Report::Quarterly(r) => r.finish(),
            Report::Caseload(r) => r.finish(),
        }
    }
}

impl Plugin for BuildingAFutureReports {
    type Settings = Settings;

    const SETTINGS_REFUSALS: &'static [kinga_plugin_sdk::settings::RefusalText] =
        settings::REFUSALS;

    fn check_settings(settings: &Settings) -> Vec<kinga_plugin_sdk::settings::SettingsRefusal> {
        settings::check(settings)
    }

    fn info() -> PluginInfo {
        PluginInfo {
            id: "building-a-future-reports".into(),
            name: "Building a Future: reports".into(),
            version: "1.0.0".into(),
            purpose: "Counts participants, school retention, referrals and new survivors for Building a Future's \
                      donor reports and caseload management; outputs aggregate counts only."
                .into(),
            rules: vec![],
            settings_schema: include_str!("settings.schema.json").into(),
            errors: Vec::new(),
            case_fields: [
                "/registered_on",
                "/status",
                "/child/date_of_birth",
                "/child/age_estimate_years",
                "/child/age_estimated_on",
                "/child/sex",
                "/child/county",
                "/survivor_status",
                "/identified_by",
                "/education/enrolled",
                "/services",
                "/referrals",
            ]
            .map(String::from)
            .to_vec(),
        }
        .errors(ERRORS)
    }
}

/// The errors `open` can report besides the SDK's.
const ERRORS: &[ErrorText] = &[
    (
        ErrorKind::InvalidParameters,
        "missing-parameter",
        "a required parameter is missing: baf-quarterly needs period, caseload-summary needs as_of",
    ),
    (
        ErrorKind::InvalidParameters,
        "repeated-parameter",
        "a parameter is given more than once",
    ),
    (
        ErrorKind::InvalidParameters,
        "unknown-parameter",
        "a parameter the template does not take is given",
    ),
    (
        ErrorKind::InvalidParameters,
        "bad-period",
        "period must be a calendar quarter, YYYY-Qn",
    ),
    (
        ErrorKind::InvalidParameters,
        "bad-date",
        "as_of must be a date, YYYY-MM-DD",
    ),
    (
        ErrorKind::InvalidSettings,
        "bad-programme-start",
        "the programme start is not a date, YYYY-MM-DD",
    ),
    (
        ErrorKind::InvalidParameters,
        "unknown-template",
        "this plugin has no such template",
    ),
];

fn parameter<'p>(parameters: &'p [(String, String)], name: &str) -> Result<&'p str, PluginError> {
    let mut values = parameters
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let value = values
        .next()
        .ok_or_else(|| PluginError::invalid_parameters("missing-parameter"))?;
    if values.next().is_some() {
        return Err(PluginError::invalid_parameters("repeated-parameter"));
    }
    Ok(value)
}

fn no_other_parameters(parameters: &[(String, String)], known: &[&str]) -> Result<(), PluginError> {
    match parameters
        .iter()
        .find(|(k, _)| !known.contains(&k.as_str()))
    {
        Some(_) => Err(PluginError::invalid_parameters("unknown-parameter")),
        None => Ok(()),
    }
}

impl ReportingPlugin for BuildingAFutureReports {
    type Report = Report;

    fn templates() -> Vec<TemplateInfo> {
        vec![
            TemplateInfo {
                id: "baf-quarterly".into(),
                title: "Building a Future quarterly report, {period}".into(),
                description: "Reach against the programme's targets, participants by track, school retention, PS.5.1-29 referrals, new survivors and who identified them, for one quarter.".into(),
                parameters: vec![ParameterInfo {
                    name: "period".into(),
                    description: "The calendar quarter, YYYY-Qn (e.g. 2026-Q3).".into(),
                    required: true,
                }],
                tables: vec![REACH, PARTICIPANTS, RETENTION, REFERRED, NEW_SURVIVORS, IDENTIFIED],
                narrative: Some(
                    "Period {period}. Age bands are computed at the period's last day; the band other includes ages not recorded."
                        .into(),
                ),
            },
            TemplateInfo {
                id: "caseload-summary".into(),
                title: "Caseload summary as of {as_of}".into(),
                description: "Open cases registered on or before a date, by county, survivor status and sex.".into(),
                parameters: vec![ParameterInfo {
                    name: "as_of".into(),
                    description: "The date, YYYY-MM-DD.".into(),
                    required: true,
                }],
                tables: vec![OPEN_CASES],
                narrative: None,
            },
        ]
    }

    fn open(
        ctx: &Context<Self::Settings>,
        template: &str,
        parameters: &[(String, String)],
    ) -> Result<Report, PluginError> {
        match template {
            "baf-quarterly" => {
                no_other_parameters(parameters, &["period"])?;
                let quarter = Quarter::parse(parameter(parameters, "period")?)
                    .ok_or_else(|| PluginError::invalid_parameters("bad-period"))?;
                let start = ctx.settings.start().ok_or_else(|| {
                    PluginError::invalid_settings("bad-programme-start", Some("/programme_start"))
                })?;
                Ok(Report::Quarterly(Box::new(Quarterly::new(quarter, start))))
            }
            "caseload-summary" => {
                no_other_parameters(parameters, &["as_of"])?;
                let as_of = date::parse_date(parameter(parameters, "as_of")?)
                    .ok_or_else(|| PluginError::invalid_parameters("bad-date"))?;
                Ok(Report::Caseload(CaseloadSummary::new(as_of)))
            }
            _ => Err(PluginError::invalid_parameters("unknown-template")),
        }
    }
}

kinga_plugin_sdk::export_reporting_plugin!(BuildingAFutureReports, wit = "../../wit");
