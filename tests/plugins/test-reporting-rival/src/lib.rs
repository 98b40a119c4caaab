//! A reporting plugin that trespasses: it offers `count-by-sex`, which
//! `test-reporting` already offers, and answers its own `rival-summary`
//! with a table it did not declare (`open-cases`, another plugin's) and a
//! count larger than the cases added. The host must refuse all three.
//! Its `tattler` template logs the previous case's id and date of birth,
//! disguised, which the host must withhold. Its `forged-target` template
//! writes a count into a cell its settings schema says the host fills from
//! a setting (a target), which the host must refuse.

use kinga_plugin_sdk::*;

/// The plugin.
pub struct TestReportingRival;

impl Plugin for TestReportingRival {
    type Settings = Settings;

    fn info() -> PluginInfo {
        PluginInfo {
            id: "test-reporting-rival".into(),
            name: "Test reporting rival".into(),
            version: "0.1.0".into(),
            purpose: "Claims templates that are not its own, so the host can be tested.".into(),
            rules: vec![],
            settings_schema: r#"{"type":"object","additionalProperties":false,
                "properties":{"target":{"type":"integer","minimum":0}},
                "x-kinga-report-cells":[{"template":"forged-target","table":"forged","labels":["target"],"setting":"/target"}]}"#
                .into(),
            case_fields: vec!["/child/sex".into(), "/child/date_of_birth".into()],
            errors: Vec::new(),
        }
    }
}

/// Its settings: the target the host shows in `forged-target`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    /// A target.
    pub target: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { target: 40 }
    }
}

/// The table of `forged-target`: a target cell the host fills, and a count.
const FORGED: TableSpec = TableSpec {
    id: "forged",
    title: "Forged",
    unit: "cases",
    dimensions: &[Dimension {
        name: "measure",
        labels: &["target", "counted"],
    }],
};

/// The table it declares.
const ALL: TableSpec = TableSpec {
    id: "all",
    title: "All cases",
    unit: "cases",
    dimensions: &[Dimension {
        name: "all",
        labels: &["all"],
    }],
};

/// The table it answers for `rival-summary` without declaring it.
const TRESPASS: TableSpec = TableSpec {
    id: "open-cases",
    title: "Open cases",
    unit: "cases",
    dimensions: &[Dimension {
        name: "all",
        labels: &["all"],
    }],
};

/// A report in progress: one count.
pub struct Rival {
    template: String,
    table: Table,
    /// For `tattler`: the previous case's id and date of birth.
    previous: Option<(String, Option<time::Date>)>,
}

impl ReportBuilder for Rival {
    fn add(&mut self, case: &Case) -> Result<(), PluginError> {
        self.table.count(&["all"]);
        if self.template == "tattler" {
            // Tells the previous child's id and birthday, disguised, while
            // the host is watching for the current child's only.
            if let Some((id, born)) = &self.previous {
                let id: String = id.to_lowercase().chars().rev().collect();
                log::info(&format!("the one before was {id}"));
                if let Some(born) = born {
                    log::info(&format!(
                        "born {} {} {}",
                        born.day(),
                        born.month(),
                        born.year()
                    ));
                }
            }
            let born = case.child.as_ref().and_then(|c| c.date_of_birth);
            self.previous = Some((case.case_id.clone(), born));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<ReportOutput, PluginError> {
        if self.template == "rival-summary" {
            let mut trespass = Table::new(&TRESPASS);
            trespass.counts = std::mem::take(&mut self.table.counts);
            return Ok(ReportOutput {
                tables: vec![trespass],
            });
        }
        if self.template == "forged-target" {
            let mut forged = Table::new(&FORGED);
            forged.count(&["target"]);
            return Ok(ReportOutput {
                tables: vec![forged],
            });
        }
        if self.template == "inflated" {
            for count in self.table.counts.values_mut() {
                *count += 1_000;
            }
        }
        Ok(ReportOutput {
            tables: vec![self.table],
        })
    }
}

fn template(id: &str) -> TemplateInfo {
    TemplateInfo {
        id: id.into(),
        title: "Rival".into(),
        description: "Counts every case.".into(),
        parameters: vec![],
        tables: vec![ALL],
        narrative: None,
    }
}

impl ReportingPlugin for TestReportingRival {
    type Report = Rival;

    fn templates() -> Vec<TemplateInfo> {
        vec![
            template("count-by-sex"),
            template("rival-summary"),
            template("inflated"),
            template("tattler"),
            TemplateInfo {
                tables: vec![FORGED],
                ..template("forged-target")
            },
        ]
    }

    fn open(
        _ctx: &Context<Self::Settings>,
        template: &str,
        _parameters: &[(String, String)],
    ) -> Result<Rival, PluginError> {
        Ok(Rival {
            template: template.to_owned(),
            table: Table::new(&ALL),
            previous: None,
        })
    }
}

kinga_plugin_sdk::export_reporting_plugin!(TestReportingRival, wit = "../../../wit");
