//! Platform adapters through the real binary: every synthetic platform
//! payload in `tests/platforms/` goes in (or is refused) as the research
//! in `docs/adapters.md` says, and every lookup of every bundled profile
//! refuses a code it does not know, naming the platform's pointer.

use kinga_host::adapt::{Platform, Profile};
use serde_json::{Value, json};

use crate::support::{
    assert_success, kinga, platform_payload as read, platform_payload_path as payload, repo,
    stderr, stdout,
};

/// Where the value at `pointer` came from, as `docs/adapters.md` says to
/// read it: its own entry in the provenance, else its nearest parent's.
fn origin<'a>(fields: &'a Value, pointer: &str) -> &'a Value {
    let mut at = pointer;
    loop {
        if let Some(entry) = fields.get(at) {
            return entry;
        }
        at = at.rsplit_once('/').map_or("", |(parent, _)| parent);
        assert!(!at.is_empty(), "no provenance for {pointer}");
    }
}

/// The payloads that map, the platform they come from, and the case the
/// research expects (adapted to case 1.1: date-only incidents are
/// `occurred_on`, estimates are dated, who identified the child is kept).
const MAPPED: [(&str, &str); 6] = [
    ("primero-1", "primero"),
    ("primero-2", "primero"),
    ("primero-3", "primero"),
    ("cpims-1", "cpims-crs"),
    ("cpims-2", "cpims-record"),
    ("dhis2-1", "dhis2"),
];

#[test]
fn every_platform_payload_maps_to_the_case_the_research_expects() {
    for (name, platform) in MAPPED {
        let output = kinga(&["convert", "--from", platform, "--case", &payload(name)]);
        assert_success(&output);
        let mut case: Value = serde_json::from_str(&stdout(&output)).unwrap();
        let provenance = case.as_object_mut().unwrap().remove("extensions").unwrap();
        assert_eq!(case, read(&format!("expected/{name}")), "{name}");
        let mapping = &provenance["kinga_mapping"];
        assert_eq!(mapping["platform"], json!(platform), "{name}");
        assert!(
            origin(&mapping["fields"], "/child/county")["from"].is_string(),
            "{name}"
        );
    }
}

#[test]
fn provenance_says_where_each_value_came_from() {
    let output = kinga(&[
        "convert",
        "--from",
        "primero",
        "--case",
        &payload("primero-3"),
    ]);
    assert_success(&output);
    let case: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let fields = &case["extensions"]["kinga_mapping"]["fields"];
    // The location came from the owner's location, as a code of the table:
    // one entry for the place, found from each of its members.
    let place = json!({"from": "/owned_by_location", "lookup": "locations", "code": "KEN0208"});
    assert_eq!(fields["/child"], place);
    for member in ["/child/county", "/child/sub_county"] {
        assert_eq!(origin(fields, member), &place, "{member}");
        assert!(fields.get(member).is_none(), "{member}");
    }
    assert_eq!(fields["/child/sex"]["from"], json!("/sex"));
    assert_eq!(
        fields["/survivor_status"]["derivation"],
        json!("survivor-from-protection-concerns")
    );
    assert_eq!(
        case["extensions"]["kinga_mapping"]["record"],
        json!("/data/0")
    );

    let output = kinga(&["convert", "--from", "dhis2", "--case", &payload("dhis2-1")]);
    let case: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let mapping = &case["extensions"]["kinga_mapping"];
    assert_eq!(
        mapping["fields"]["/incidents/0"]["precision"],
        json!("datetime")
    );
    assert_eq!(mapping["ids"]["enrollment"], json!("EnrCP000417"));
    assert_eq!(mapping["timezone"], json!("Africa/Nairobi"));

    // Two mappings name the same place (county, then constituency): the
    // first has the place's entry, the second one entry per member it gives.
    let output = kinga(&[
        "convert",
        "--from",
        "cpims-crs",
        "--case",
        &payload("cpims-1"),
    ]);
    let case: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let fields = &case["extensions"]["kinga_mapping"]["fields"];
    assert_eq!(fields["/child"]["from"], json!("/county"));
    assert_eq!(fields["/child"]["code"], json!("2"));
    assert_eq!(
        origin(fields, "/child/sub_county")["from"],
        json!("/constituency")
    );
    assert_eq!(origin(fields, "/child/sub_county")["code"], json!("7"));

    let output = kinga(&[
        "convert",
        "--from",
        "cpims-record",
        "--case",
        &payload("cpims-2"),
    ]);
    let case: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let incident = &case["extensions"]["kinga_mapping"]["fields"]["/incidents/0"];
    assert_eq!(incident["precision"], json!("date"));
    assert_eq!(incident["derivations"], json!(["police-from-ob-number"]));
}

#[test]
fn a_dhis2_collection_without_enrollments_is_refused_with_pointers() {
    let output = kinga(&["convert", "--from", "dhis2", "--case", &payload("dhis2-2")]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stdout(&output).is_empty());
    let err = stderr(&output);
    for record in ["/instances/0", "/instances/1"] {
        assert!(
            err.contains(&format!("cannot map the platform's record at {record}")),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "{record}/enrollments: is empty or missing, and /registered_on"
            )),
            "{err}"
        );
    }
    // The AGE value that looks like a date of birth never reaches a message.
    assert!(!err.contains("2010-08-13"), "{err}");
}

/// Where each lookup of each bundled profile reads, in a payload that
/// uses it: (payload, platform, JSON pointer, lookup).
const LOOKUP_SITES: &[(&str, Platform, &str, &str)] = &[
    (
        "primero-1",
        Platform::Primero,
        "/data/status",
        "case-status",
    ),
    ("primero-1", Platform::Primero, "/data/sex", "gender"),
    (
        "primero-1",
        Platform::Primero,
        "/data/location_current",
        "locations",
    ),
    (
        "primero-1",
        Platform::Primero,
        "/data/protection_concerns/1",
        "protection-concerns",
    ),
    (
        "primero-1",
        Platform::Primero,
        "/data/incident_details/0/cp_incident_violence_type",
        "violence-type",
    ),
    (
        "primero-1",
        Platform::Primero,
        "/data/incident_details/0/cp_incident_perpetrator_relationship",
        "perpetrator-in-household",
    ),
    (
        "primero-2",
        Platform::Primero,
        "/data/services_section/1/service_type",
        "service-type",
    ),
    (
        "primero-2",
        Platform::Primero,
        "/data/services_section/0/service_implemented",
        "service-implemented",
    ),
    ("cpims-1", Platform::CpimsCrs, "/status", "crs-status"),
    ("cpims-1", Platform::CpimsCrs, "/children/0/sex", "sex_id"),
    ("cpims-1", Platform::CpimsCrs, "/county", "county-area-code"),
    (
        "cpims-1",
        Platform::CpimsCrs,
        "/constituency",
        "sub-county-area-code",
    ),
    (
        "cpims-1",
        Platform::CpimsCrs,
        "/categories/0/case_category",
        "case_category_id",
    ),
    (
        "cpims-1",
        Platform::CpimsCrs,
        "/categories/0/case_category",
        "incident-kind",
    ),
    (
        "cpims-1",
        Platform::CpimsCrs,
        "/case_reporter",
        "case_reporter_id",
    ),
    (
        "cpims-1",
        Platform::CpimsCrs,
        "/family_status",
        "family_status_id",
    ),
    (
        "cpims-2",
        Platform::CpimsRecord,
        "/ovc_case_record/case_status",
        "case-status",
    ),
    (
        "cpims-2",
        Platform::CpimsRecord,
        "/reg_person/sex_id",
        "sex_id",
    ),
    (
        "cpims-2",
        Platform::CpimsRecord,
        "/ovc_case_geo/0/report_ward",
        "area-id",
    ),
    (
        "cpims-2",
        Platform::CpimsRecord,
        "/ovc_case_category/1/case_category",
        "case_category_id",
    ),
    (
        "cpims-2",
        Platform::CpimsRecord,
        "/ovc_case_category/1/case_category",
        "incident-kind",
    ),
    (
        "cpims-2",
        Platform::CpimsRecord,
        "/ovc_case_record/case_reporter",
        "case_reporter_id",
    ),
    (
        "cpims-2",
        Platform::CpimsRecord,
        "/ovc_family_status/0/family_status",
        "family_status_id",
    ),
    (
        "cpims-2",
        Platform::CpimsRecord,
        "/ovc_case_record/perpetrator_relationship_type",
        "perpetrator_id",
    ),
    (
        "cpims-2",
        Platform::CpimsRecord,
        "/ovc_referrals/1/refferal_to",
        "referral_type_id",
    ),
    (
        "cpims-2",
        Platform::CpimsRecord,
        "/ovc_referrals/0/refferal_status",
        "referral-status",
    ),
    (
        "dhis2-1",
        Platform::Dhis2,
        "/enrollments/0/status",
        "enrollment-status",
    ),
    (
        "dhis2-1",
        Platform::Dhis2,
        "/attributes/2/value",
        "sex-option-set",
    ),
    (
        "dhis2-1",
        Platform::Dhis2,
        "/enrollments/0/orgUnit",
        "org-units",
    ),
    (
        "dhis2-1",
        Platform::Dhis2,
        "/enrollments/0/attributes/3/value",
        "survivor-status",
    ),
    (
        "dhis2-1",
        Platform::Dhis2,
        "/enrollments/0/events/0/dataValues/0/value",
        "protection-concerns",
    ),
    (
        "dhis2-1",
        Platform::Dhis2,
        "/enrollments/0/events/0/dataValues/3/value",
        "caregiver",
    ),
    (
        "dhis2-1",
        Platform::Dhis2,
        "/enrollments/0/events/1/dataValues/1/value",
        "incident-kind",
    ),
];

#[test]
fn every_lookup_of_every_bundled_profile_is_exercised_here() {
    for platform in Platform::ALL {
        for lookup in Profile::bundled(platform).document().lookups.keys() {
            assert!(
                LOOKUP_SITES
                    .iter()
                    .any(|(_, p, _, l)| *p == platform && l == lookup),
                "no refusal test for lookup {lookup} of {platform}"
            );
        }
    }
}

#[test]
fn a_code_a_lookup_does_not_list_is_refused_with_its_pointer_never_its_value() {
    const UNKNOWN: &str = "ZZUNLISTED";
    let dir = tempfile::tempdir().unwrap();
    for (name, platform, pointer, lookup) in LOOKUP_SITES {
        let mut document = read(name);
        *document
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{name} has {pointer}")) = json!(UNKNOWN);
        let file = dir.path().join(format!("{name}.json"));
        std::fs::write(&file, serde_json::to_vec(&document).unwrap()).unwrap();
        let output = kinga(&[
            "--json-errors",
            "convert",
            "--from",
            platform.name(),
            "--case",
            file.to_str().unwrap(),
        ]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{name} {pointer}: {}",
            stderr(&output)
        );
        let err = stderr(&output);
        let report: Value = serde_json::from_str(err.lines().next().unwrap()).unwrap();
        let named = report["problems"].as_array().unwrap().iter().any(|p| {
            p["pointer"] == json!(pointer)
                && p["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("lookup `{lookup}`"))
        });
        assert!(named, "{name} {pointer} {lookup}: {err}");
        assert!(!err.contains(UNKNOWN), "the value reached a message: {err}");
    }
}

#[test]
fn pages_and_json_lines_map_record_by_record() {
    let dir = tempfile::tempdir().unwrap();
    // A Primero list page of two cases, one of them transferred (a status
    // the bundled profile refuses to guess).
    let mut page = read("primero-3");
    let mut second = page["data"][0].clone();
    second["id"] = json!("00000000-0000-4000-8000-000000000002");
    second["status"] = json!("transferred");
    page["data"].as_array_mut().unwrap().push(second);
    let lines = [page.to_string(), read("primero-1").to_string()].join("\n") + "\n";
    let file = dir.path().join("cases.jsonl");
    std::fs::write(&file, lines).unwrap();
    let output = kinga(&[
        "convert",
        "--from",
        "primero",
        "--cases",
        file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let out = stdout(&output);
    let ids: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["case_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        [
            "primero:71c4e8a9-0b3d-4f25-9e6a-c8d2b1f4a390",
            "primero:5b0c6a2e-8f1d-4c3b-9a77-2f4e1c9d0a11"
        ]
    );
    let err = stderr(&output);
    assert!(err.contains("line 1, /data/1"), "{err}");
    assert!(
        err.contains("/data/1/status: holds a code that lookup `case-status`"),
        "{err}"
    );
}

#[test]
fn eligibility_from_a_platform_names_what_to_collect_in_its_fields() {
    let output = kinga(&[
        "eligibility",
        "--from",
        "primero",
        "--case",
        &payload("primero-3"),
        "--as-of",
        "2026-08-05",
    ]);
    assert_success(&output);
    let decisions: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let livelihood = decisions
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["track"] == "family-livelihood")
        .unwrap();
    assert_eq!(livelihood["status"], "undetermined");
    assert_eq!(
        livelihood["collect"],
        json!([{"pointer": "/household", "collect": "Primero: no form of this deployment records the household (caregiver, income)"}])
    );
    // The same case as canonical JSON gets the same decisions.
    let converted = kinga(&[
        "convert",
        "--from",
        "primero",
        "--case",
        &payload("primero-3"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("case.json");
    std::fs::write(&file, stdout(&converted)).unwrap();
    let direct = kinga(&[
        "eligibility",
        "--case",
        file.to_str().unwrap(),
        "--as-of",
        "2026-08-05",
    ]);
    let direct: Value = serde_json::from_str(&stdout(&direct)).unwrap();
    let mut from = decisions.clone();
    for d in from.as_array_mut().unwrap() {
        d.as_object_mut().unwrap().remove("collect");
    }
    assert_eq!(from, direct);
}

#[test]
fn route_from_a_cpims_record_refers_the_trafficked_child() {
    let output = kinga(&[
        "route",
        "--from",
        "cpims-record",
        "--case",
        &payload("cpims-2"),
        "--as-of",
        "2026-06-12T09:00:00+03:00",
    ]);
    assert_success(&output);
    let referrals: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let services: Vec<&str> = referrals
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service"].as_str().unwrap())
        .collect();
    // A trafficked child, whose incident three days ago is dated only by
    // its day: the statutory officer and emergency care, at once.
    assert!(
        services.contains(&"statutory.childrens-officer"),
        "{services:?}"
    );
    assert!(services.contains(&"health.post-rape-care"), "{services:?}");
}

#[test]
fn a_profile_for_another_platform_or_an_invalid_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let profile = repo("profiles/dhis2-example.json");
    let output = kinga(&[
        "convert",
        "--from",
        "primero",
        "--profile",
        profile.to_str().unwrap(),
        "--case",
        &payload("primero-1"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("/platform: the profile reads dhis2, not primero"),
        "{}",
        stderr(&output)
    );

    let mut broken: Value =
        serde_json::from_slice(&std::fs::read(repo("profiles/primero-cpims-plus.json")).unwrap())
            .unwrap();
    broken["lookups"]["gender"]["values"]["female"] = json!("girl");
    let file = dir.path().join("broken.json");
    std::fs::write(&file, broken.to_string()).unwrap();
    let output = kinga(&[
        "convert",
        "--from",
        "primero",
        "--profile",
        file.to_str().unwrap(),
        "--case",
        &payload("primero-1"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("/lookups/gender/values/female: is not one of female, male, other, unknown"),
        "{err}"
    );
}
