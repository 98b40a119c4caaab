//! A test reporting plugin with two templates: `count-by-sex`, cases by sex
//! and survivor status, titled with the required `label` parameter; and
//! `count-with-margin`, the same table beside its margin (cases by sex),
//! which publication must suppress together.

use kinga_plugin_sdk::*;

/// The plugin.
pub struct TestReporting;

impl Plugin for TestReporting {
    type Settings = kinga_plugin_sdk::serde_json::Map<String, kinga_plugin_sdk::serde_json::Value>;

    fn info() -> PluginInfo {
        PluginInfo {
            id: "test-reporting".into(),
            name: "Test reporting".into(),
            version: "0.1.0".into(),
            purpose: "Exercises the reporting contract in the host's tests.".into(),
            rules: vec![],
            settings_schema: r#"{"type":"object","additionalProperties":false}"#.into(),
            case_fields: vec!["/child/sex".into(), "/survivor_status".into()],
            errors: Vec::new(),
        }
        .errors(&[
            (
                ErrorKind::InvalidParameters,
                "unknown-template",
                "no such template",
            ),
            (
                ErrorKind::InvalidParameters,
                "missing-parameter",
                "the label parameter is required",
            ),
        ])
    }
}

/// The one table.
const BY_SEX: TableSpec = TableSpec {
    id: "by-sex",
    title: "Cases by sex and survivor status",
    unit: "cases",
    dimensions: &[
        Dimension {
            name: "sex",
            labels: &["female", "male", "other", "unknown"],
        },
        Dimension {
            name: "survivor_status",
            labels: &["survivor", "at_risk", "not_identified", "unknown"],
        },
    ],
};

/// The margin of [`BY_SEX`]: cases by sex alone.
const SEX_TOTALS: TableSpec = TableSpec {
    id: "sex-totals",
    title: "Cases by sex",
    unit: "cases",
    dimensions: &[Dimension {
        name: "sex",
        labels: &["female", "male", "other", "unknown"],
    }],
};

/// A report in progress: counts only, never cases.
pub struct CountBySex {
    table: Table,
    /// The margin, for `count-with-margin`.
    totals: Option<Table>,
}

impl ReportBuilder for CountBySex {
    fn add(&mut self, case: &Case) -> Result<(), PluginError> {
        let sex = case
            .child
            .as_ref()
            .and_then(|c| c.sex)
            .map(Sex::as_str)
            .unwrap_or("unknown");
        let status = case
            .survivor_status
            .map(SurvivorStatus::as_str)
            .unwrap_or("unknown");
        self.table.count(&[sex, status]);
        if let Some(totals) = &mut self.totals {
            totals.count(&[sex]);
        }
        Ok(())
    }

    fn finish(self) -> Result<ReportOutput, PluginError> {
        Ok(ReportOutput {
            tables: std::iter::once(self.table).chain(self.totals).collect(),
        })
    }
}

impl ReportingPlugin for TestReporting {
    type Report = CountBySex;

    fn templates() -> Vec<TemplateInfo> {
        vec![
            TemplateInfo {
                id: "count-by-sex".into(),
                title: "Cases by sex: {label}".into(),
                description: "Counts cases by sex and survivor status.".into(),
                parameters: vec![ParameterInfo {
                    name: "label".into(),
                    description: "A title for the report.".into(),
                    required: true,
                }],
                tables: vec![BY_SEX],
                narrative: None,
            },
            TemplateInfo {
                id: "count-with-margin".into(),
                title: "Cases by sex, with totals: {label}".into(),
                description: "Counts cases by sex and survivor status, and by sex alone.".into(),
                parameters: vec![ParameterInfo {
                    name: "label".into(),
                    description: "A title for the report.".into(),
                    required: true,
                }],
                tables: vec![BY_SEX, SEX_TOTALS],
                narrative: None,
            },
        ]
    }

    fn open(
        _ctx: &Context<Self::Settings>,
        template: &str,
        parameters: &[(String, String)],
    ) -> Result<CountBySex, PluginError> {
        let with_margin = match template {
            "count-by-sex" => false,
            "count-with-margin" => true,
            _ => return Err(PluginError::invalid_parameters("unknown-template")),
        };
        if !parameters.iter().any(|(k, _)| k == "label") {
            return Err(PluginError::invalid_parameters("missing-parameter"));
        }
        Ok(CountBySex {
            table: Table::new(&BY_SEX),
            totals: with_margin.then(|| Table::new(&SEX_TOTALS)),
        })
    }
}

// Built against the frozen contract 0.2.1, so that the host's promise to
// plugins reading case 1.0 is tested with a real one (`wit/README.md`).
kinga_plugin_sdk::export_reporting_plugin!(TestReporting, wit = "../../contract/wit-0.2.1");
