//! Bad cases are refused before any plugin runs, naming the JSON pointer.

use kinga_host::{AsOf, EAST_AFRICA_TIME, Error, ValidCase};

use crate::support::{host_with, sample_case};

fn refused(text: &str) -> (String, String) {
    let r = ValidCase::parse(text.as_bytes()).expect_err("refused");
    (
        r.violations[0].pointer.clone(),
        r.violations[0].message.clone(),
    )
}

fn with(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut case = sample_case();
    edit(&mut case);
    case.to_string()
}

#[test]
fn duplicate_consent_keys_are_refused_never_last_one_wins() {
    let text = with(|_| {}).replacen(
        '{',
        r#"{"consent":{"information_sharing":false,"information_sharing":true},"#,
        1,
    );
    let (pointer, message) = refused(&text);
    assert_eq!(pointer, "/consent/information_sharing");
    assert!(message.contains("duplicate"), "{message}");
}

#[test]
fn unknown_fields_type_confusion_and_nulls_are_refused() {
    assert_eq!(
        refused(&with(|c| c["child"]["name"] = "Amani".into())).0,
        "/child"
    );
    assert_eq!(
        refused(&with(|c| c["child"]["age_estimate_years"] = "17".into())).0,
        "/child/age_estimate_years"
    );
    assert_eq!(
        refused(&with(|c| c["status"] = serde_json::Value::Null)).0,
        "/status"
    );
    assert_eq!(
        refused(&with(|c| c["survivor_status"] = "victim".into())).0,
        "/survivor_status"
    );
}

#[test]
fn impossible_dates_are_refused() {
    assert_eq!(
        refused(&with(|c| c["child"]["date_of_birth"] = "2010-02-30".into())).0,
        "/child/date_of_birth"
    );
    assert_eq!(
        refused(&with(|c| c["registered_on"] = "2026-13-01".into())).0,
        "/registered_on"
    );
    assert_eq!(
        refused(&with(
            |c| c["incidents"][0]["occurred_at"] = "2026-06-29T22:30:00".into()
        ))
        .0,
        "/incidents/0/occurred_at"
    );
}

#[test]
fn messages_do_not_echo_case_values() {
    let (_, message) = refused(&with(|c| c["child"]["sex"] = "SECRET-SEX-VALUE".into()));
    assert!(!message.contains("SECRET"), "{message}");
    let (_, message) = refused(&with(|c| c["case_id"] = "SECRET ID WITH SPACES".into()));
    assert!(!message.contains("SECRET"), "{message}");
}

#[test]
fn numbers_syntax_and_size_are_bounded() {
    assert!(
        refused(
            &with(|c| c["household"] = serde_json::json!({"caregiver":"parent"})).replace(
                "\"parent\"}",
                "\"parent\",\"monthly_income_kes\":18446744073709551616}"
            )
        )
        .1
        .contains("out of range")
    );
    assert!(
        refused(&format!("{} trailing", with(|_| {})))
            .1
            .contains("trailing")
    );
    let huge = with(|c| c["extensions"]["blob"] = "x".repeat(70_000).into());
    assert!(refused(&huge).1.contains("limit"));
    let deep = with(|c| {
        let mut v = serde_json::json!(1);
        for _ in 0..40 {
            v = serde_json::json!([v]);
        }
        c["extensions"]["deep"] = v;
    });
    assert!(refused(&deep).1.contains("deeper"));
}

#[test]
fn a_child_born_after_the_as_of_is_refused_before_any_plugin_runs() {
    let host = host_with(&[kinga_artifacts::TEST_ELIGIBILITY]);
    let case = ValidCase::parse(with(|_| {}).as_bytes()).unwrap();
    let before_birth = AsOf::parse("2013-02-10", EAST_AFRICA_TIME).unwrap();
    match host.evaluate(&case, before_birth) {
        Err(Error::InvalidCase(r)) => assert_eq!(r.violations[0].pointer, "/child/date_of_birth"),
        other => panic!("{other:?}"),
    }
}
