//! CPIMS: `ovc_referrals` rows. CPIMS has no API that writes a referral:
//! the rows are for the CPIMS owners to insert (or a CPIMS change to read).
//! The table has no column for urgency, due time, consent or the provider
//! itself (only its class), so those are listed as not carried.

use serde_json::{Value, json};

use super::tables::CpimsTables;
use super::{Answers, Delivery, NotCarried, Record, Target, ids};

pub(crate) fn deliver(tables: &CpimsTables, record: &Record<'_>, answers: Answers<'_>) -> Delivery {
    let mut not_carried = Vec::new();
    let mut rows = Vec::new();
    let person_id = record
        .ids
        .get("person_id")
        .and_then(Value::as_str)
        .map(|id| id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n)));
    let day = answers.as_of.date();
    let start = format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    );
    for (index, referral) in answers.referrals.iter().enumerate() {
        let at = format!("/referrals/{index}");
        let Some(codes) = tables.services.get(&referral.service) else {
            not_carried.push(NotCarried {
                what: at,
                why: format!(
                    "no CPIMS referral type is mapped for {}: add it to the profile's outbound services",
                    referral.service
                ),
            });
            continue;
        };
        rows.push(json!({
            "refferal_id": ids::uuid(&tables.id_namespace, &[record.case_id, &referral.plugin, &referral.rule, &referral.service]),
            "refferal_actor_type": codes.refferal_actor_type,
            "refferal_actor_specify": codes.refferal_actor_specify,
            "refferal_to": codes.refferal_to,
            "refferal_status": "PENDING",
            "refferal_startdate": start,
            "refferal_enddate": null,
            "case_category_id": null,
            "case_id_id": record.platform_id,
            "is_void": false,
            "person_id": person_id,
        }));
        for (field, what) in [
            ("urgency", "how soon"),
            ("due", "the due time"),
            ("consent", "the consent status"),
            (
                "provider",
                "the provider (only its class, refferal_actor_specify)",
            ),
        ] {
            if field == "provider" && referral.provider.is_none() {
                continue;
            }
            not_carried.push(NotCarried {
                what: format!("{at}/{field}"),
                why: format!("ovc_referrals has no column for {what}"),
            });
        }
    }
    if !answers.decisions.is_empty() {
        not_carried.push(NotCarried {
            what: "/decisions".into(),
            why: "CPIMS has no field for this programme's eligibility: decisions stay in Kinga's answer".into(),
        });
    }
    let mut tables_out = std::collections::BTreeMap::new();
    if !rows.is_empty() {
        tables_out.insert("ovc_referrals".to_owned(), rows);
    }
    Delivery {
        platform: Target::Cpims,
        case_id: record.case_id.to_owned(),
        requests: Vec::new(),
        rows: tables_out,
        not_carried,
    }
}
