//! The pipeline end to end: load, describe, evaluate, route, report.

use kinga_artifacts::{TEST_ELIGIBILITY, TEST_REFERRAL, TEST_REPORTING};
use kinga_host::{
    AsOf, ConsentStatus, Count, EAST_AFRICA_TIME, Error, EvalOptions, Format, PluginKind, Status,
    Urgency, render,
};
use serde_json::json;

use crate::support::{as_of, host_with, sample_case, valid};

#[test]
fn describe_reports_rules_settings_and_fields() {
    let host = host_with(&[TEST_ELIGIBILITY, TEST_REFERRAL, TEST_REPORTING]);
    let eligibility = host.plugin("test-eligibility").unwrap();
    assert_eq!(eligibility.kind, PluginKind::Eligibility);
    assert_eq!(eligibility.contract, "kinga:plugin@0.2.2");
    assert_eq!(
        eligibility
            .rules
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["open-case", "minimum-age"]
    );
    assert_eq!(eligibility.default_settings, json!({"min_age": 9}));
    assert_eq!(eligibility.case_fields, ["/status", "/child"]);
    assert_eq!(eligibility.content_sha256.len(), 64);
    let reporting = host.plugin("test-reporting").unwrap();
    assert_eq!(reporting.templates[0].id, "count-by-sex");
    assert!(reporting.templates[0].parameters[0].required);
}

#[test]
fn evaluate_returns_decisions_naming_their_plugin() {
    let host = host_with(&[TEST_ELIGIBILITY]);
    let decisions = host.evaluate(&valid(&sample_case()), as_of()).unwrap();
    assert_eq!(decisions.len(), 2);
    assert!(
        decisions
            .iter()
            .all(|d| d.plugin == "test-eligibility" && d.plugin_version == "0.1.0")
    );
    assert_eq!(decisions[0].track, "open-case");
    assert_eq!(decisions[0].status, Status::Eligible);
    assert_eq!(decisions[1].track, "minimum-age");
    assert_eq!(decisions[1].status, Status::Eligible);
}

#[test]
fn missing_data_is_undetermined_with_pointers_never_a_silent_no() {
    let host = host_with(&[TEST_ELIGIBILITY]);
    let mut case = sample_case();
    case["child"]
        .as_object_mut()
        .unwrap()
        .remove("date_of_birth");
    let decisions = host.evaluate(&valid(&case), as_of()).unwrap();
    let age = decisions.iter().find(|d| d.track == "minimum-age").unwrap();
    assert_eq!(age.status, Status::Undetermined);
    assert_eq!(age.missing, ["/child/date_of_birth"]);
}

#[test]
fn age_is_in_completed_years_at_the_as_of_date() {
    let mut host = host_with(&[TEST_ELIGIBILITY]);
    host.set_settings(
        "test-eligibility",
        json!({"min_age": 13}).as_object().unwrap(),
    )
    .unwrap();
    // Born 2013-02-11; its incident (June 2026) would be after these as-ofs.
    let mut case = sample_case();
    case.as_object_mut().unwrap().remove("incidents");
    let case = valid(&case);
    let status_on = |date: &str| {
        let as_of = AsOf::parse(date, EAST_AFRICA_TIME).unwrap();
        host.evaluate(&case, as_of)
            .unwrap()
            .into_iter()
            .find(|d| d.track == "minimum-age")
            .unwrap()
            .status
    };
    assert_eq!(status_on("2026-02-10"), Status::Ineligible);
    assert_eq!(status_on("2026-02-11"), Status::Eligible);
}

#[test]
fn switching_a_rule_off_removes_its_output() {
    let mut host = host_with(&[TEST_ELIGIBILITY]);
    host.set_rule_enabled("test-eligibility", "open-case", false)
        .unwrap();
    let decisions = host.evaluate(&valid(&sample_case()), as_of()).unwrap();
    assert_eq!(
        decisions
            .iter()
            .map(|d| d.track.as_str())
            .collect::<Vec<_>>(),
        ["minimum-age"]
    );
    assert!(matches!(
        host.set_rule_enabled("test-eligibility", "no-such-rule", false),
        Err(Error::InvalidSettings { .. })
    ));
}

#[test]
fn invalid_settings_are_refused_naming_the_field_and_the_old_ones_stay() {
    let mut host = host_with(&[TEST_ELIGIBILITY]);
    let err = host
        .set_settings(
            "test-eligibility",
            json!({"min_age": "nine"}).as_object().unwrap(),
        )
        .unwrap_err();
    assert_eq!(err.pointer(), Some("/min_age"));
    assert!(err.to_string().contains("/min_age"), "{err}");
    let err = host
        .set_settings(
            "test-eligibility",
            json!({"maximum": 3}).as_object().unwrap(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("maximum"), "{err}");
    assert_eq!(
        host.plugins().next().unwrap().settings(),
        json!({"min_age": 9})
    );
}

#[test]
fn route_orders_by_urgency_and_due_time_with_consent() {
    let host = host_with(&[TEST_REFERRAL]);
    let referrals = host.route(&valid(&sample_case()), as_of()).unwrap();
    assert_eq!(referrals.len(), 2);
    assert_eq!(referrals[0].urgency, Urgency::Emergency);
    assert_eq!(referrals[0].service, "health.post-rape-care");
    assert_eq!(referrals[0].due, "2026-07-02T22:30:00+03:00");
    assert_eq!(referrals[0].consent, ConsentStatus::NotRequired);
    assert_eq!(referrals[1].urgency, Urgency::Within24h);
    assert_eq!(referrals[1].due, "2026-07-02T09:00:00+03:00");
    assert_eq!(referrals[1].provider.as_ref().unwrap().id, "test-officer");
    let json = serde_json::to_value(&referrals[1]).unwrap();
    assert_eq!(json["urgency"], "within-24h");
    assert_eq!(json["consent"], "not-required");
    assert_eq!(json["plugin"], "test-referral");
}

#[test]
fn a_setting_changes_the_output() {
    let mut host = host_with(&[TEST_REFERRAL]);
    host.set_settings(
        "test-referral",
        json!({"window_hours": 24}).as_object().unwrap(),
    )
    .unwrap();
    let referrals = host.route(&valid(&sample_case()), as_of()).unwrap();
    assert!(
        referrals.iter().all(|r| r.rule != "recent-incident"),
        "34.5 h is outside a 24 h window"
    );
}

#[test]
fn a_plugin_reported_input_error_is_bad_input_with_its_pointer() {
    let host = host_with(&[TEST_REFERRAL]);
    let early = AsOf::parse("2026-06-29T12:00:00+03:00", EAST_AFRICA_TIME).unwrap();
    let err = host.route(&valid(&sample_case()), early).unwrap_err();
    assert!(err.is_bad_input());
    assert_eq!(err.pointer(), Some("/incidents/0/occurred_at"));
}

#[test]
fn several_plugins_of_one_kind_run_side_by_side_and_can_be_selected() {
    let host = host_with(&[TEST_REFERRAL, kinga_artifacts::TEST_HOSTILE]);
    let all = host.route(&valid(&sample_case()), as_of()).unwrap();
    let plugins: std::collections::BTreeSet<_> = all.iter().map(|r| r.plugin.as_str()).collect();
    assert_eq!(
        plugins.into_iter().collect::<Vec<_>>(),
        ["test-hostile", "test-referral"]
    );
    let only = host
        .route_with(
            &valid(&sample_case()),
            &EvalOptions::new(as_of()).plugins(["test-referral"]),
        )
        .unwrap();
    assert!(only.outputs.iter().all(|r| r.plugin == "test-referral"));
    let unknown = host.route_with(
        &valid(&sample_case()),
        &EvalOptions::new(as_of()).plugins(["nope"]),
    );
    assert!(matches!(unknown, Err(Error::UnknownPlugin(_))));
}

#[test]
fn a_trace_names_rules_settings_and_fuel() {
    let host = host_with(&[TEST_ELIGIBILITY]);
    let evaluation = host
        .evaluate_with(
            &valid(&sample_case()),
            &EvalOptions::new(as_of()).trace(true),
        )
        .unwrap();
    let trace = evaluation.trace.unwrap();
    assert_eq!(trace.len(), 1);
    assert_eq!(trace[0].enabled_rules, ["minimum-age", "open-case"]);
    assert_eq!(trace[0].settings, r#"{"min_age":9}"#);
    assert!(trace[0].fuel_used > 0);
    let again = host
        .evaluate_with(
            &valid(&sample_case()),
            &EvalOptions::new(as_of()).trace(true),
        )
        .unwrap();
    assert_eq!(
        again.trace.unwrap()[0].fuel_used,
        trace[0].fuel_used,
        "fuel is deterministic"
    );
}

#[test]
fn a_report_streams_cases_and_renders_in_three_formats() {
    let host = host_with(&[TEST_REPORTING]);
    let mut run = host
        .report("count-by-sex", &[("label".into(), "Q3".into())], as_of())
        .unwrap();
    for (i, sex) in [
        "female", "female", "male", "female", "female", "female", "female",
    ]
    .iter()
    .enumerate()
    {
        let mut case = sample_case();
        case["case_id"] = json!(format!("R-{i}"));
        case["child"]["sex"] = json!(sex);
        run.add(&valid(&case)).unwrap();
    }
    let mut report = run.finish().unwrap();
    assert_eq!(report.cases, 7);
    assert_eq!(report.title, "Cases by sex: Q3");
    let rows = &report.tables[0].rows;
    assert_eq!(rows[0].labels, ["female", "survivor"]);
    assert_eq!(rows[0].count, Count::Exact(6));
    assert_eq!(rows[1].count, Count::Exact(1));

    let csv = render(&report, Format::Csv);
    assert_eq!(
        csv,
        "table,sex,survivor_status,cases\nby-sex,female,survivor,6\nby-sex,male,survivor,1\n"
    );
    report.suppress_small_cells(5);
    let md = render(&report, Format::Markdown);
    assert!(
        md.contains("| female | survivor | withheld |"),
        "the complement of the one small cell is withheld: {md}"
    );
    assert!(md.contains("| male | survivor | <5 |"), "{md}");
    let json: serde_json::Value = serde_json::from_str(&render(&report, Format::Json)).unwrap();
    assert_eq!(json["tables"][0]["rows"][1]["count"], "<5");
    assert_eq!(json["suppressed_below"], 5);
}

#[test]
fn a_report_refuses_unknown_templates_and_missing_parameters() {
    let host = host_with(&[TEST_REPORTING]);
    assert!(matches!(
        host.report("nope", &[], as_of()),
        Err(Error::UnknownTemplate(_))
    ));
    let err = host.report("count-by-sex", &[], as_of()).err().unwrap();
    assert!(err.is_bad_input(), "{err}");
    assert!(err.to_string().contains("missing-parameter"), "{err}");
}
