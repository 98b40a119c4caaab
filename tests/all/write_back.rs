//! Answers written back in a platform's own terms (`--to`), through the
//! real binary: platform payload → canonical case → decisions and
//! referrals → the platform's request bodies or rows, checked against the
//! bundled profiles' outbound tables.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{
    assert_success, kinga, platform_payload_path as payload, repo, stderr, stdout,
};

const AS_OF: &str = "2026-09-30";

fn profile(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(repo(&format!("profiles/{name}.json"))).unwrap()).unwrap()
}

/// `kinga KIND --from FROM --to TO --case PAYLOAD`: the answer and its
/// delivery.
fn deliver(kind: &str, from: &str, to: &str, name: &str, as_of: &str) -> (Value, Value) {
    let output = kinga(&[
        kind,
        "--from",
        from,
        "--to",
        to,
        "--case",
        &payload(name),
        "--as-of",
        as_of,
    ]);
    assert_success(&output);
    let mut printed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let field = if kind == "route" {
        "referrals"
    } else {
        "decisions"
    };
    let answer = printed[field].take();
    assert!(answer.is_array(), "{printed}");
    (answer, printed["delivery"].take())
}

/// Whether `what` is listed as not carried.
fn not_carried(delivery: &Value, what: &str) -> Option<String> {
    delivery["not_carried"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["what"] == json!(what))
        .map(|n| n["why"].as_str().unwrap().to_owned())
}

/// `primero-1` routed and written back through the Primero profile `edited`.
fn route_to_primero_with(dir: &tempfile::TempDir, edited: &Value) -> std::process::Output {
    let file = dir.path().join("primero.json");
    std::fs::write(&file, edited.to_string()).unwrap();
    kinga(&[
        "route",
        "--from",
        "primero",
        "--profile",
        file.to_str().unwrap(),
        "--to",
        "primero",
        "--case",
        &payload("primero-1"),
        "--as-of",
        AS_OF,
    ])
}

#[test]
fn primero_referrals_become_service_rows_that_a_second_send_updates() {
    let (referrals, delivery) = deliver("route", "primero", "primero", "primero-1", AS_OF);
    let referrals = referrals.as_array().unwrap();
    assert!(referrals.len() >= 2, "{referrals:?}");
    let tables = &profile("primero-cpims-plus")["outbound"];
    let record = serde_json::from_slice::<Value>(
        &std::fs::read(repo("tests/platforms/primero-1.json")).unwrap(),
    )
    .unwrap();
    let id = record["data"]["id"].as_str().unwrap();
    assert_eq!(delivery["platform"], json!("primero"));
    assert_eq!(delivery["case_id"], json!(format!("primero:{id}")));

    let requests = delivery["requests"].as_array().unwrap();
    let patch = &requests[0];
    assert_eq!(patch["method"], json!("PATCH"));
    assert_eq!(patch["path"], json!(format!("/api/v2/cases/{id}")));
    let rows = patch["body"]["data"]["services_section"]
        .as_array()
        .unwrap();
    // Every referral is a row of its mapped service type; none is dropped.
    assert_eq!(rows.len(), referrals.len());
    let mut unique_ids = BTreeSet::new();
    for (index, (referral, row)) in referrals.iter().zip(rows).enumerate() {
        let service = referral["service"].as_str().unwrap();
        assert_eq!(
            row["service_type"], tables["services"][service],
            "{service}"
        );
        assert_eq!(row["service_response_type"], json!("action_plan"));
        let unique_id = row["unique_id"].as_str().unwrap();
        assert_eq!(&unique_id[14..15], "5", "a UUIDv5: {unique_id}");
        assert!(unique_ids.insert(unique_id.to_owned()), "distinct ids");
        let notes = row["service_referral_notes"].as_str().unwrap();
        assert!(notes.contains(service), "{notes}");
        assert!(
            notes.contains(referral["due"].as_str().unwrap()),
            "the exact due is kept in the notes: {notes}"
        );
        assert_eq!(
            row["service_appointment_date"],
            json!(&referral["due"].as_str().unwrap()[..10])
        );
        match tables["timeframes"].get(referral["urgency"].as_str().unwrap()) {
            Some(timeframe) => assert_eq!(&row["service_response_timeframe"], timeframe),
            None => {
                assert!(not_carried(&delivery, &format!("/referrals/{index}/urgency")).is_some())
            }
        }
    }

    // A referral transition only where consent is recorded as given; the
    // others are listed, saying why.
    let transitions = &requests[1..];
    for (index, referral) in referrals.iter().enumerate() {
        let unique_id = rows[index]["unique_id"].as_str().unwrap();
        let sent = transitions
            .iter()
            .find(|t| t["body"]["data"]["service_record_id"] == json!(unique_id));
        match referral["consent"].as_str().unwrap() {
            "given" => {
                let sent = sent.expect("a transition for a referral with consent");
                assert_eq!(sent["method"], json!("POST"));
                assert_eq!(sent["path"], json!(format!("/api/v2/cases/{id}/referrals")));
                assert_eq!(sent["body"]["data"]["consent_overridden"], json!(false));
                let provider = referral["provider"]["id"].as_str().unwrap();
                assert_eq!(
                    sent["body"]["data"]["transitioned_to"],
                    tables["recipients"][provider]
                );
            }
            "required" => {
                assert!(sent.is_none(), "no referral without consent");
                let why = not_carried(&delivery, &format!("/referrals/{index}/consent")).unwrap();
                assert!(
                    why.contains("consent is required and not recorded"),
                    "{why}"
                );
            }
            "not-required" => {
                assert!(sent.is_none());
                let why = not_carried(&delivery, &format!("/referrals/{index}/consent")).unwrap();
                assert!(why.contains("not required"), "{why}");
            }
            other => panic!("consent {other}"),
        }
        assert!(not_carried(&delivery, &format!("/referrals/{index}/due")).is_some());
    }
    assert!(
        referrals.iter().any(|r| r["consent"] == json!("given")),
        "the payload exercises a transition"
    );
    assert!(
        referrals.iter().any(|r| r["consent"] != json!("given")),
        "the payload exercises a withheld transition"
    );

    // The same answer sent again, even on another day, carries the same
    // unique_ids: Primero merges the rows instead of adding new ones.
    let (_, again) = deliver("route", "primero", "primero", "primero-1", "2026-10-02");
    let ids = |d: &Value| -> Vec<Value> {
        d["requests"][0]["body"]["data"]["services_section"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["unique_id"].clone())
            .collect()
    };
    assert_eq!(ids(&delivery), ids(&again));
    let (_, same) = deliver("route", "primero", "primero", "primero-1", AS_OF);
    assert_eq!(delivery, same, "the same answer is the same body");

    // Decisions have no Primero field: listed, and still printed.
    let (decisions, delivery) = deliver("eligibility", "primero", "primero", "primero-1", AS_OF);
    assert!(!decisions.as_array().unwrap().is_empty());
    assert!(delivery.get("requests").is_none(), "{delivery}");
    assert!(not_carried(&delivery, "/decisions").is_some());
}

#[test]
fn dhis2_answers_become_tracker_events_with_stable_client_uids() {
    let record: Value =
        serde_json::from_slice(&std::fs::read(repo("tests/platforms/dhis2-1.json")).unwrap())
            .unwrap();
    let tables = &profile("dhis2-example")["outbound"];
    let enrollment = &record["enrollments"][0];
    let (decisions, delivery) = deliver("eligibility", "dhis2", "dhis2", "dhis2-1", AS_OF);
    let decisions = decisions.as_array().unwrap();
    let request = &delivery["requests"][0];
    assert_eq!(request["method"], json!("POST"));
    assert_eq!(request["path"], json!("/api/tracker"));
    assert_eq!(
        request["query"]["importStrategy"], tables["import_strategy"],
        "the strategy is always stated"
    );
    assert_eq!(request["query"]["async"], json!("false"));
    let events = request["body"]["events"].as_array().unwrap();
    assert_eq!(events.len(), decisions.len());
    let mut uids = BTreeSet::new();
    for (decision, event) in decisions.iter().zip(events) {
        let uid = event["event"].as_str().unwrap();
        assert!(
            uid.len() == 11 && uid.chars().all(|c| c.is_ascii_alphanumeric()),
            "{uid}"
        );
        assert!(uids.insert(uid.to_owned()));
        assert_eq!(event["programStage"], tables["decision_stage"]);
        assert_eq!(event["program"], tables["program"]);
        assert_eq!(event["trackedEntity"], record["trackedEntity"]);
        assert_eq!(event["enrollment"], enrollment["enrollment"]);
        assert_eq!(event["orgUnit"], enrollment["orgUnit"]);
        // DHIS2 writes server wall-clock time, without an offset.
        let occurred = event["occurredAt"].as_str().unwrap();
        assert_eq!(occurred, "2026-09-30T00:00:00.000");
        let value_of = |element: &str| {
            event["dataValues"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["dataElement"] == tables["data_elements"][element])
                .map(|v| v["value"].clone())
        };
        let track = decision["track"].as_str().unwrap();
        assert_eq!(
            value_of("track"),
            Some(json!(track.to_uppercase().replace('-', "_")))
        );
        let status = decision["status"].as_str().unwrap();
        assert_eq!(
            value_of("status"),
            Some(json!(status.to_uppercase().replace('-', "_")))
        );
    }
    let (_, again) = deliver("eligibility", "dhis2", "dhis2", "dhis2-1", "2026-10-02");
    let again_uids: BTreeSet<String> = again["requests"][0]["body"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(uids, again_uids, "a second send updates the same events");

    let (referrals, delivery) = deliver("route", "dhis2", "dhis2", "dhis2-1", AS_OF);
    let referrals = referrals.as_array().unwrap();
    let events = delivery["requests"][0]["body"]["events"]
        .as_array()
        .unwrap();
    assert_eq!(events.len(), referrals.len());
    for (referral, event) in referrals.iter().zip(events) {
        assert_eq!(event["programStage"], tables["referral_stage"]);
        let service = referral["service"].as_str().unwrap();
        assert!(
            event["dataValues"]
                .as_array()
                .unwrap()
                .contains(&json!({"dataElement": tables["data_elements"]["service"], "value": tables["services"][service]})),
            "{event}"
        );
        assert!(
            !event["dataValues"].to_string().contains("+03:00"),
            "no offsets: {event}"
        );
    }
}

#[test]
fn cpims_referrals_become_case_record_rows_and_say_what_cpims_cannot_hold() {
    let record: Value =
        serde_json::from_slice(&std::fs::read(repo("tests/platforms/cpims-2.json")).unwrap())
            .unwrap();
    let tables = &profile("kenya-cpims-record")["outbound"];
    let (referrals, delivery) = deliver("route", "cpims-record", "cpims", "cpims-2", AS_OF);
    let referrals = referrals.as_array().unwrap();
    assert!(delivery.get("requests").is_none(), "CPIMS has no write API");
    let rows = delivery["rows"]["ovc_referrals"].as_array().unwrap();
    assert_eq!(rows.len(), referrals.len());
    let case_id = record["ovc_case_record"]["case_id"].clone();
    let person = record["ovc_case_record"]["person_id"].clone();
    for (index, (referral, row)) in referrals.iter().zip(rows).enumerate() {
        let codes = &tables["services"][referral["service"].as_str().unwrap()];
        assert_eq!(row["refferal_to"], codes["refferal_to"]);
        assert_eq!(
            row["refferal_actor_specify"],
            codes["refferal_actor_specify"]
        );
        assert_eq!(row["refferal_actor_type"], codes["refferal_actor_type"]);
        assert_eq!(row["case_id_id"], case_id);
        assert_eq!(row["person_id"], person);
        assert_eq!(row["refferal_status"], json!("PENDING"));
        assert_eq!(row["is_void"], json!(false));
        assert!(
            not_carried(&delivery, &format!("/referrals/{index}/due")).is_some(),
            "a due time has no CPIMS column"
        );
    }
    let (_, again) = deliver("route", "cpims-record", "cpims", "cpims-2", "2026-10-02");
    let ids = |d: &Value| -> Vec<Value> {
        d["rows"]["ovc_referrals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["refferal_id"].clone())
            .collect()
    };
    assert_eq!(ids(&delivery), ids(&again));
}

#[test]
fn a_service_the_profile_cannot_write_is_listed_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut edited = profile("primero-cpims-plus");
    let (referrals, _) = deliver("route", "primero", "primero", "primero-1", AS_OF);
    let first = referrals[0]["service"].as_str().unwrap().to_owned();
    edited["outbound"]["services"]
        .as_object_mut()
        .unwrap()
        .remove(&first);
    let output = route_to_primero_with(&dir, &edited);
    assert_success(&output);
    let printed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let delivery = &printed["delivery"];
    let why = not_carried(delivery, "/referrals/0").unwrap();
    assert!(why.contains(&first), "{why}");
    let rows = delivery["requests"][0]["body"]["data"]["services_section"]
        .as_array()
        .unwrap();
    assert_eq!(rows.len(), referrals.as_array().unwrap().len() - 1);
}

#[test]
fn write_backs_that_cannot_be_made_are_refused_with_reasons() {
    // A Case Record Sheet has no record to refer from.
    let output = kinga(&[
        "route",
        "--from",
        "cpims-crs",
        "--to",
        "cpims",
        "--case",
        &payload("cpims-1"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("give --from cpims-record"),
        "{}",
        stderr(&output)
    );
    // --to needs --from.
    let output = kinga(&["route", "--to", "primero", "--case", &payload("primero-1")]);
    assert_eq!(output.status.code(), Some(2));

    // Outbound tables are checked when the profile is read, each problem
    // with its pointer.
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "primero-cpims-plus",
            "primero",
            "primero-1",
            vec![
                ("/outbound/id_namespace", json!("not-a-uuid")),
                ("/outbound/timeframes/routine", json!("next_week")),
                (
                    "/outbound/services/medical",
                    json!("health_medical_service"),
                ),
            ],
            vec![
                "/outbound/id_namespace: is not a UUID",
                "/outbound/timeframes/routine: is not a Primero timeframe",
                "/outbound/services/medical: is not a Kinga service id",
            ],
        ),
        (
            "dhis2-example",
            "dhis2",
            "dhis2-1",
            vec![
                ("/outbound/program", json!("short")),
                ("/outbound/data_elements/colour", json!("deKgColour1")),
                ("/outbound/import_strategy", json!("MERGE")),
                (
                    "/outbound/reports/baf-quarterly/tables/identified-by/data_element",
                    json!("de17C3HGrhI"),
                ),
                (
                    "/outbound/reports/baf-quarterly/org_units/kwale",
                    json!("kwale"),
                ),
                (
                    "/outbound/reports/baf-quarterly/org_units/mombasa",
                    json!("KilifCty003"),
                ),
            ],
            vec![
                "/outbound/program: is not a DHIS2 UID",
                "/outbound/data_elements/colour: is not a field of Kinga's events",
                "/outbound/import_strategy: is not CREATE, UPDATE or CREATE_AND_UPDATE",
                "shares data element de17C3HGrhI",
                "/outbound/reports/baf-quarterly/org_units/kwale: is not a DHIS2 UID",
                "/outbound/reports/baf-quarterly/org_units/mombasa: names an org unit another county",
            ],
        ),
    ];
    for (name, platform, record, edits, expected) in cases {
        let mut edited = profile(name);
        for (pointer, value) in edits {
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            edited.pointer_mut(parent).unwrap()[key] = value;
        }
        let file = dir.path().join(format!("{name}.json"));
        std::fs::write(&file, edited.to_string()).unwrap();
        let output = kinga(&[
            "convert",
            "--from",
            platform,
            "--profile",
            file.to_str().unwrap(),
            "--case",
            &payload(record),
        ]);
        assert_eq!(output.status.code(), Some(2), "{name}");
        let err = stderr(&output);
        for line in expected {
            assert!(err.contains(line), "{name}: {line}\n{err}");
        }
    }

    // A profile without outbound tables reads, and refuses to write.
    let mut without = profile("primero-cpims-plus");
    without.as_object_mut().unwrap().remove("outbound");
    let output = route_to_primero_with(&dir, &without);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("has no outbound tables"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_page_of_records_gets_one_delivery_per_record() {
    let dir = tempfile::tempdir().unwrap();
    let read = |name: &str| -> Value {
        serde_json::from_slice(&std::fs::read(payload(name)).unwrap()).unwrap()
    };
    let mut page = read("primero-3");
    let first = read("primero-1")["data"].clone();
    page["data"].as_array_mut().unwrap().push(first);
    let file = dir.path().join("page.json");
    std::fs::write(&file, page.to_string()).unwrap();
    let output = kinga(&[
        "route",
        "--from",
        "primero",
        "--to",
        "primero",
        "--case",
        file.to_str().unwrap(),
        "--as-of",
        AS_OF,
    ]);
    assert_success(&output);
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{}", stdout(&output));
    for (index, line) in lines.iter().enumerate() {
        assert_eq!(line["record"], json!(format!("/data/{index}")));
        let delivery = &line["delivery"];
        assert_eq!(delivery["case_id"], line["case_id"]);
        let id = line["case_id"]
            .as_str()
            .unwrap()
            .strip_prefix("primero:")
            .unwrap();
        assert_eq!(
            delivery["requests"][0]["path"],
            json!(format!("/api/v2/cases/{id}"))
        );
    }
}

#[test]
fn written_bodies_have_the_shapes_the_platform_research_records() {
    let keys = |value: &Value| -> BTreeSet<String> {
        value.as_object().unwrap().keys().cloned().collect()
    };
    let research = |name: &str| -> Value {
        serde_json::from_slice(&std::fs::read(payload(name)).unwrap()).unwrap()
    };
    // Primero: every member of a row and of a transition is one Primero's
    // services subform and referral body know.
    let (_, delivery) = deliver("route", "primero", "primero", "primero-1", AS_OF);
    let known_row = keys(&research("primero-4")["data"]["services_section"][0]);
    let known_transition = keys(&research("primero-5")["data"]);
    let requests = delivery["requests"].as_array().unwrap();
    for row in requests[0]["body"]["data"]["services_section"]
        .as_array()
        .unwrap()
    {
        assert!(keys(row).is_subset(&known_row), "{row}");
    }
    for transition in &requests[1..] {
        assert_eq!(keys(&transition["body"]["data"]), known_transition);
    }
    // DHIS2: every member of the research's events, and the tracked entity.
    let (_, delivery) = deliver("route", "dhis2", "dhis2", "dhis2-1", AS_OF);
    let known = research("dhis2-3");
    let referral_event = &known["events"][1];
    for event in delivery["requests"][0]["body"]["events"]
        .as_array()
        .unwrap()
    {
        let mut expected = keys(referral_event);
        expected.remove("notes");
        expected.insert("trackedEntity".into());
        assert_eq!(keys(event), expected, "{event}");
    }
    // CPIMS: exactly the columns of `ovc_referrals`.
    let (_, delivery) = deliver("route", "cpims-record", "cpims", "cpims-2", AS_OF);
    let columns = keys(&research("cpims-3")["ovc_referrals"][0]);
    for row in delivery["rows"]["ovc_referrals"].as_array().unwrap() {
        assert_eq!(keys(row), columns, "{row}");
    }
}
