//! The records inside a platform's response: a Primero single read,
//! webhook body or list page; a CPIMS CRS body or case-record export; a
//! DHIS2 tracked entity or a 2.40 or 2.41+ collection.
//!
//! Each record comes with its JSON pointer in the document, so that every
//! mapping error points at the document as the integrator sent it.

use serde_json::Value;

use super::profile::Platform;
use crate::case::json::Reads;
use crate::case::schema::Violation;

/// Most records one document may hold (Primero pages hold up to 1000).
pub const MAX_RECORDS: usize = 1000;

/// What [`records`] reads of a document whose records are read as
/// `record` says: the envelope's members, and the records inside it.
pub(crate) fn reads(platform: Platform, record: &Reads) -> Reads {
    let mut document = Reads::nothing();
    match platform {
        Platform::Primero => {
            let data = document.member("data");
            data.merge(record);
            data.add(["record_type"]);
        }
        Platform::CpimsCrs => {
            document.merge(record);
            document.add(["details"]);
            document.add(["case_id"]);
        }
        Platform::CpimsRecord => {
            document.merge(record);
            // Only its presence is checked.
            document.member("ovc_case_record");
        }
        Platform::Dhis2 => {
            document.merge(record);
            document.add(["trackedEntity"]);
            document.member("trackedEntities").merge(record);
            document.member("instances").merge(record);
        }
    }
    document
}

/// The records of a document, each with its pointer; or why the document
/// is not one this platform sends.
pub(crate) fn records(
    platform: Platform,
    document: &Value,
) -> Result<Vec<(&Value, String)>, Violation> {
    let refuse = |pointer: &str, message: &str| Violation {
        pointer: pointer.to_owned(),
        message: message.to_owned(),
    };
    let Some(object) = document.as_object() else {
        return Err(refuse("", "is not a JSON object"));
    };
    let found = match platform {
        Platform::Primero => match object.get("data") {
            Some(Value::Object(record)) => {
                if record
                    .get("record_type")
                    .is_some_and(|t| t.as_str() != Some("case"))
                {
                    return Err(refuse(
                        "/data/record_type",
                        "is not \"case\": only case webhooks carry a case",
                    ));
                }
                vec![(&object["data"], "/data".to_owned())]
            }
            Some(Value::Array(records)) => indexed(records, "/data"),
            _ => {
                return Err(refuse(
                    "",
                    "is not a Primero case: expected {\"data\": {...}} (a case or a webhook body) or {\"data\": [...], \"metadata\": {...}} (a list page)",
                ));
            }
        },
        Platform::CpimsCrs => {
            if object.contains_key("details") && !object.contains_key("case_id") {
                return Err(refuse(
                    "/details",
                    "CPIMS answered with a message instead of a case (it answers \"Case Does not Exist\" with HTTP 200)",
                ));
            }
            if !object.contains_key("case_id") {
                return Err(refuse(
                    "",
                    "is not a CPIMS Case Record Sheet: expected the body of GET /api/v1/crs/ (with case_id)",
                ));
            }
            vec![(document, String::new())]
        }
        Platform::CpimsRecord => {
            if !object.contains_key("ovc_case_record") {
                return Err(refuse(
                    "",
                    "is not a CPIMS case record export: expected its tables by name (ovc_case_record, reg_person, ovc_case_geo ...)",
                ));
            }
            vec![(document, String::new())]
        }
        Platform::Dhis2 => {
            if object.contains_key("trackedEntity") {
                vec![(document, String::new())]
            } else if let Some(Value::Array(items)) = object.get("trackedEntities") {
                indexed(items, "/trackedEntities")
            } else if let Some(Value::Array(items)) = object.get("instances") {
                indexed(items, "/instances")
            } else {
                return Err(refuse(
                    "",
                    "is not a DHIS2 tracked entity: expected one (with trackedEntity) or a collection (2.41+ trackedEntities, 2.40 instances)",
                ));
            }
        }
    };
    if found.len() > MAX_RECORDS {
        return Err(refuse(
            "",
            &format!("holds more than {MAX_RECORDS} records: send smaller pages"),
        ));
    }
    Ok(found)
}

fn indexed<'a>(items: &'a [Value], at: &str) -> Vec<(&'a Value, String)> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| (item, format!("{at}/{i}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_documented_envelope_yields_its_records() {
        let one = json!({"data": {"id": "x"}});
        assert_eq!(records(Platform::Primero, &one).unwrap()[0].1, "/data");
        let page = json!({"data": [{"id": "x"}, {"id": "y"}], "metadata": {"total": 2}});
        assert_eq!(records(Platform::Primero, &page).unwrap()[1].1, "/data/1");
        let v240 = json!({"instances": [{"trackedEntity": "a"}], "page": 1});
        assert_eq!(
            records(Platform::Dhis2, &v240).unwrap()[0].1,
            "/instances/0"
        );
        let v241 = json!({"pager": {}, "trackedEntities": [{"trackedEntity": "a"}]});
        assert_eq!(
            records(Platform::Dhis2, &v241).unwrap()[0].1,
            "/trackedEntities/0"
        );
        assert_eq!(
            records(Platform::Dhis2, &json!({"trackedEntity": "a"})).unwrap()[0].1,
            ""
        );
    }

    #[test]
    fn other_documents_are_refused_with_a_reason() {
        let incident = json!({"data": {"record_type": "incident"}});
        assert_eq!(
            records(Platform::Primero, &incident).unwrap_err().pointer,
            "/data/record_type"
        );
        let missing = json!({"details": "Case Does not Exist"});
        assert_eq!(
            records(Platform::CpimsCrs, &missing).unwrap_err().pointer,
            "/details"
        );
        assert!(records(Platform::Dhis2, &json!({"events": []})).is_err());
        assert!(records(Platform::CpimsRecord, &json!([])).is_err());
    }
}
