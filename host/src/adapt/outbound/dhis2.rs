//! DHIS2: one `POST /api/tracker` of Kinga's events, a decision event per
//! track and a referral event per referral, in Kinga's own program stages.
//!
//! Event UIDs are chosen by Kinga (DHIS2 accepts client UIDs), from the
//! case and the track or rule, and `importStrategy` is always stated (the
//! documented default and the observed one disagree): the same answer sent
//! twice updates its events. DHIS2 writes times without an offset, in the
//! server's time zone: Kinga's are converted to the profile's.

use jiff::tz::TimeZone;
use serde_json::{Value, json};

use super::tables::Dhis2Tables;
use super::{Answers, Delivery, DeliveryRefusal, NotCarried, Record, Request, Target, code, ids};

pub(crate) fn deliver(
    tables: &Dhis2Tables,
    record: &Record<'_>,
    answers: Answers<'_>,
    zone: &TimeZone,
) -> Result<Delivery, DeliveryRefusal> {
    let enrollment = record.id("enrollment", "a DHIS2 event")?;
    let org_unit = record.id("org_unit", "a DHIS2 event")?;
    let mut not_carried = Vec::new();
    let mut unmapped = std::collections::BTreeSet::new();
    let as_of = server_time(&answers.as_of.to_rfc3339(), zone);
    let mut events = Vec::new();
    let mut value = |values: &mut Vec<Value>, field: &str, text: String| match tables
        .data_elements
        .get(field)
    {
        Some(element) => values.push(json!({"dataElement": element, "value": text})),
        None => {
            unmapped.insert(field.to_owned());
        }
    };
    for decision in answers.decisions {
        let mut values = Vec::new();
        value(&mut values, "track", upper_snake(&decision.track));
        value(&mut values, "status", upper_snake(&code(&decision.status)));
        let reasons: Vec<&str> = decision.reasons.iter().map(|r| r.code.as_str()).collect();
        value(&mut values, "reasons", reasons.join(","));
        if !decision.missing.is_empty() {
            value(&mut values, "missing", decision.missing.join(","));
        }
        value(
            &mut values,
            "plugin",
            format!("{}@{}", decision.plugin, decision.plugin_version),
        );
        value(&mut values, "as_of", as_of.clone());
        events.push(json!({
            "event": ids::dhis2_uid(&[record.case_id, "decision", &decision.plugin, &decision.track]),
            "program": tables.program,
            "programStage": tables.decision_stage,
            "enrollment": enrollment,
            "trackedEntity": record.platform_id,
            "orgUnit": org_unit,
            "status": "COMPLETED",
            "occurredAt": as_of,
            "completedAt": as_of,
            "dataValues": values,
        }));
    }
    for (index, referral) in answers.referrals.iter().enumerate() {
        let at = format!("/referrals/{index}");
        let Some(service) = tables.services.get(&referral.service) else {
            not_carried.push(NotCarried {
                what: at,
                why: format!("no DHIS2 option code is mapped for {}: add it to the profile's outbound services", referral.service),
            });
            continue;
        };
        let mut values = Vec::new();
        value(&mut values, "service", service.clone());
        value(
            &mut values,
            "urgency",
            upper_snake(&code(&referral.urgency)),
        );
        value(&mut values, "due", server_time(&referral.due, zone));
        value(
            &mut values,
            "consent",
            upper_snake(&code(&referral.consent)),
        );
        value(&mut values, "rule", referral.rule.clone());
        if let Some(provider) = &referral.provider {
            match tables.providers.get(&provider.id) {
                Some(option) => value(&mut values, "provider", option.clone()),
                None => not_carried.push(NotCarried {
                    what: format!("{at}/provider"),
                    why: "no DHIS2 option code is mapped for the provider".into(),
                }),
            }
        }
        value(
            &mut values,
            "plugin",
            format!("{}@{}", referral.plugin, referral.plugin_version),
        );
        events.push(json!({
            "event": ids::dhis2_uid(&[record.case_id, "referral", &referral.plugin, &referral.rule, &referral.service]),
            "program": tables.program,
            "programStage": tables.referral_stage,
            "enrollment": enrollment,
            "trackedEntity": record.platform_id,
            "orgUnit": org_unit,
            "status": "ACTIVE",
            "occurredAt": as_of,
            "dataValues": values,
        }));
    }
    for field in unmapped {
        not_carried.push(NotCarried {
            what: format!("/{field}"),
            why: format!(
                "no data element is mapped for {field} in the profile's outbound data_elements"
            ),
        });
    }
    let mut requests = Vec::new();
    if !events.is_empty() {
        let query = [
            ("async", "false"),
            ("importStrategy", tables.import_strategy.as_str()),
            ("atomicMode", "OBJECT"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        requests.push(Request {
            method: "POST",
            path: "/api/tracker".into(),
            query,
            body: json!({ "events": events }),
        });
    }
    Ok(Delivery {
        platform: Target::Dhis2,
        case_id: record.case_id.to_owned(),
        requests,
        rows: Default::default(),
        not_carried,
    })
}

/// An RFC 3339 moment as DHIS2 writes it: the server's wall-clock time,
/// without an offset.
fn server_time(rfc3339: &str, zone: &TimeZone) -> String {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map(|t| {
            t.to_zoned(zone.clone())
                .strftime("%Y-%m-%dT%H:%M:%S.000")
                .to_string()
        })
        .unwrap_or_default()
}

/// `education-support` → `EDUCATION_SUPPORT`: the option codes of Kinga's
/// own option sets (tracks, statuses, urgencies, consent).
fn upper_snake(code: &str) -> String {
    code.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}
