//! Primero: a `PATCH /api/v2/cases/:id` of `services_section` rows, and a
//! referral transition only where Primero would accept one.
//!
//! Primero merges subform rows by `unique_id` and appends rows without one
//! (`record_merge_data_hash_service.rb`), so every row Kinga writes has a
//! deterministic `unique_id`: the same answer sent twice updates the row.
//! A referral transition (`POST /api/v2/cases/:id/referrals`) is refused by
//! Primero without consent unless a person overrides it
//! (`referral.rb`, `consent_given?`): Kinga asks for one only when consent
//! is recorded and the profile names the provider's Primero recipient.

use serde_json::{Value, json};

use super::tables::PrimeroTables;
use super::{Answers, Delivery, NotCarried, Record, Request, Target, code, ids, signature};
use crate::runtime::output::ConsentStatus;

pub(crate) fn deliver(
    tables: &PrimeroTables,
    record: &Record<'_>,
    answers: Answers<'_>,
    zone: &jiff::tz::TimeZone,
) -> Delivery {
    let mut not_carried = Vec::new();
    let mut rows = Vec::new();
    let mut transitions = Vec::new();
    let response_at = answers
        .as_of
        .datetime()
        .to_offset(time::UtcOffset::UTC)
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].000Z"
        ))
        .unwrap_or_default();
    let case_path = format!("/api/v2/cases/{}", record.platform_id);
    for (index, referral) in answers.referrals.iter().enumerate() {
        let at = format!("/referrals/{index}");
        let Some(service_type) = tables.services.get(&referral.service) else {
            not_carried.push(NotCarried {
                what: at,
                why: format!(
                    "no Primero service type is mapped for {}: add it to the profile's outbound services",
                    referral.service
                ),
            });
            continue;
        };
        let unique_id = ids::uuid(
            &tables.id_namespace,
            &[
                record.case_id,
                &referral.plugin,
                &referral.rule,
                &referral.service,
            ],
        );
        let urgency = code(&referral.urgency);
        let consent = code(&referral.consent);
        let mut notes = format!(
            "{} service={} urgency={urgency} due={} consent={consent}.",
            signature(&referral.plugin, &referral.plugin_version, &referral.rule),
            referral.service,
            referral.due
        );
        if let Some(provider) = &referral.provider {
            notes.push_str(&format!(" Provider: {} ({}).", provider.name, provider.id));
        }
        notes.push_str(" Recommendation for caseworker review.");
        let mut row = json!({
            "unique_id": unique_id,
            "service_response_type": tables.response_type,
            "service_type": service_type,
            "service_response_day_time": response_at,
        });
        match tables.timeframes.get(&urgency) {
            Some(timeframe) => row["service_response_timeframe"] = json!(timeframe),
            None => not_carried.push(NotCarried {
                what: format!("{at}/urgency"),
                why: format!("Primero has no timeframe for {urgency} in this profile: it is in service_referral_notes"),
            }),
        }
        // The due's date where the deployment is (its profile's time zone).
        if let Ok(due) = referral.due.parse::<jiff::Timestamp>() {
            row["service_appointment_date"] = json!(due.to_zoned(zone.clone()).date().to_string());
        }
        not_carried.push(NotCarried {
            what: format!("{at}/due"),
            why: "Primero holds a due date (service_appointment_date) and a timeframe from the response time, not a due moment: the exact due is in service_referral_notes".into(),
        });
        let provider = referral.provider.as_ref();
        match provider.and_then(|p| tables.agencies.get(&p.id)) {
            Some(agency) => row["service_implementing_agency"] = json!(agency),
            None if provider.is_some() => not_carried.push(NotCarried {
                what: format!("{at}/provider"),
                why: "no Primero agency is mapped for the provider: it is named in service_referral_notes".into(),
            }),
            None => {}
        }
        row["service_referral_notes"] = json!(notes);
        match referral.consent {
            ConsentStatus::Given => match provider.and_then(|p| tables.recipients.get(&p.id)) {
                Some(user) => transitions.push(Request {
                    method: "POST",
                    path: format!("{case_path}/referrals"),
                    query: Default::default(),
                    body: json!({"data": {
                        "transitioned_to": user,
                        "service": service_type,
                        "service_record_id": unique_id,
                        "notes": notes,
                        "consent_overridden": false,
                    }}),
                }),
                None => not_carried.push(NotCarried {
                    what: format!("{at}/provider"),
                    why: "no Primero user receives referrals for this provider: the service row is written, a caseworker sends the referral".into(),
                }),
            },
            ConsentStatus::Required => not_carried.push(NotCarried {
                what: format!("{at}/consent"),
                why: "consent is required and not recorded: Primero refuses a referral without it, so only the service row is written, pending consent".into(),
            }),
            ConsentStatus::NotRequired => not_carried.push(NotCarried {
                what: format!("{at}/consent"),
                why: "consent is not required (statutory or life-saving), which Primero cannot record: only the service row is written; a person allowed to override consent sends the referral".into(),
            }),
        }
        rows.push(row);
    }
    if !answers.decisions.is_empty() {
        not_carried.push(NotCarried {
            what: "/decisions".into(),
            why: "Primero's seed forms have no field for programme eligibility: decisions stay in Kinga's answer".into(),
        });
    }
    let mut requests = Vec::new();
    if !rows.is_empty() {
        requests.push(Request {
            method: "PATCH",
            path: case_path,
            query: Default::default(),
            body: json!({"data": {"services_section": Value::Array(rows)}}),
        });
    }
    requests.extend(transitions);
    Delivery {
        platform: Target::Primero,
        case_id: record.case_id.to_owned(),
        requests,
        rows: Default::default(),
        not_carried,
    }
}
