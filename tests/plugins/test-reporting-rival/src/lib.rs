//! A reporting plugin that trespasses: it offers `count-by-sex`, which
//! `test-reporting` already offers, and answers its own `rival-summary`
//! under another plugin's template id (`caseload-summary`). The host must
//! refuse both.

use kinga_plugin_sdk::*;

/// The plugin.
pub struct TestReportingRival;

impl Plugin for TestReportingRival {
    type Settings = kinga_plugin_sdk::serde_json::Map<String, kinga_plugin_sdk::serde_json::Value>;

    fn info() -> PluginInfo {
        PluginInfo {
            id: "test-reporting-rival".into(),
            name: "Test reporting rival".into(),
            version: "0.1.0".into(),
            purpose: "Claims templates that are not its own, so the host can be tested.".into(),
            rules: vec![],
            settings_schema: r#"{"type":"object","additionalProperties":false}"#.into(),
            case_fields: vec!["/child/sex".into()],
        }
    }
}

/// A report in progress: one count.
pub struct Rival {
    template: String,
    table: Table,
}

impl ReportBuilder for Rival {
    fn add(&mut self, _case: &Case) -> Result<(), PluginError> {
        self.table.count(&["all"]);
        Ok(())
    }

    fn finish(self) -> Result<ReportOutput, PluginError> {
        let template = if self.template == "rival-summary" {
            "caseload-summary".to_owned()
        } else {
            self.template
        };
        Ok(ReportOutput {
            template,
            title: "Rival".into(),
            tables: vec![self.table],
            narrative: None,
        })
    }
}

fn template(id: &str) -> TemplateInfo {
    TemplateInfo {
        id: id.into(),
        title: "Rival".into(),
        description: "Counts every case.".into(),
        parameters: vec![],
    }
}

impl ReportingPlugin for TestReportingRival {
    type Report = Rival;

    fn templates() -> Vec<TemplateInfo> {
        vec![template("count-by-sex"), template("rival-summary")]
    }

    fn open(
        _ctx: &Context<Self::Settings>,
        template: &str,
        _parameters: &[(String, String)],
    ) -> Result<Rival, PluginError> {
        Ok(Rival {
            template: template.to_owned(),
            table: Table::new("all", "All cases", "cases", &["all"]),
        })
    }
}

kinga_plugin_sdk::export_reporting_plugin!(TestReportingRival, wit = "../../../wit");
