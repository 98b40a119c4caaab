//! A profile's `outbound` section: the tables that turn Kinga's codes into
//! the platform's, one shape per platform, checked when the profile is read.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::super::profile::Platform;
use crate::case::json::escape_token;
use crate::case::schema::Violation;

/// The outbound tables of one profile.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    /// Primero's service rows and referral transitions.
    Primero(PrimeroTables),
    /// DHIS2's events.
    Dhis2(Dhis2Tables),
    /// CPIMS's `ovc_referrals` rows.
    Cpims(CpimsTables),
}

/// Primero: Kinga service → `service_type`, urgency → timeframe, provider →
/// agency and referral recipient.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrimeroTables {
    /// The namespace of the deterministic `unique_id`s (a UUID of this
    /// deployment).
    pub id_namespace: String,
    /// `service_response_type` of the rows Kinga writes.
    pub response_type: String,
    /// Kinga service id → `lookup-service-type` id.
    pub services: BTreeMap<String, String>,
    /// Kinga urgency → `service_response_timeframe` (absent: none, the
    /// appointment date alone).
    #[serde(default)]
    pub timeframes: BTreeMap<String, String>,
    /// Kinga provider id → Primero agency id.
    #[serde(default)]
    pub agencies: BTreeMap<String, String>,
    /// Kinga provider id → the Primero user who receives its referrals.
    #[serde(default)]
    pub recipients: BTreeMap<String, String>,
    /// A note for the next administrator.
    #[serde(default)]
    pub note: Option<String>,
}

/// DHIS2: the program stages and data elements of Kinga's events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dhis2Tables {
    /// The program.
    pub program: String,
    /// The stage of decision events.
    pub decision_stage: String,
    /// The stage of referral events.
    pub referral_stage: String,
    /// Kinga field → data element UID.
    pub data_elements: BTreeMap<String, String>,
    /// Kinga service id → option code.
    pub services: BTreeMap<String, String>,
    /// Kinga provider id → option code.
    #[serde(default)]
    pub providers: BTreeMap<String, String>,
    /// `importStrategy`, always sent: DHIS2's documented default and
    /// its behaviour disagree.
    pub import_strategy: String,
    /// Report template → the aggregate data set its tables fill.
    #[serde(default)]
    pub reports: BTreeMap<String, Dhis2Report>,
    /// A note for the next administrator.
    #[serde(default)]
    pub note: Option<String>,
}

/// Where a report's cells go in a DHIS2 data set.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dhis2Report {
    /// The data set.
    pub data_set: String,
    /// The org unit of tables without a `county` dimension (the
    /// programme's).
    pub org_unit: String,
    /// County label (`kwale`) → the county's org unit.
    #[serde(default)]
    pub org_units: BTreeMap<String, String>,
    /// Report table id → its data elements and category option combos.
    pub tables: BTreeMap<String, Dhis2ReportTable>,
    /// A note for the next administrator.
    #[serde(default)]
    pub note: Option<String>,
}

/// Where one report table's cells go.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dhis2ReportTable {
    /// The data element of every cell; or
    #[serde(default)]
    pub data_element: Option<String>,
    /// the dimension whose label chooses the data element,
    #[serde(default)]
    pub data_element_by: Option<String>,
    /// label → data element.
    #[serde(default)]
    pub data_elements: BTreeMap<String, String>,
    /// The labels of the other dimensions (not the data element's, not
    /// `county`) joined by `|` (`female|9-15`; `""` for none) → category
    /// option combo.
    pub category_option_combos: BTreeMap<String, String>,
    /// A note for the next administrator.
    #[serde(default)]
    pub note: Option<String>,
}

/// The Kinga fields a DHIS2 event can carry.
pub const DHIS2_FIELDS: [&str; 12] = [
    "track", "status", "reasons", "missing", "plugin", "as_of", "service", "urgency", "due",
    "consent", "provider", "rule",
];

/// CPIMS: Kinga service → referral type, destination and its class.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpimsTables {
    /// The namespace of the deterministic `refferal_id`s.
    pub id_namespace: String,
    /// Kinga service id → the row's codes.
    pub services: BTreeMap<String, CpimsService>,
    /// A note for the next administrator.
    #[serde(default)]
    pub note: Option<String>,
}

/// The CPIMS codes of one service.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpimsService {
    /// `referral_type_id` (`RMCS`).
    pub refferal_to: String,
    /// `referral_destination_classification` (`RDSC`).
    pub refferal_actor_specify: String,
    /// `referral_destination_id` (`RDSA` state, `RDNA` non-state).
    pub refferal_actor_type: String,
}

const PRIMERO_TIMEFRAMES: [&str; 4] = ["1_hour", "3_hours", "1_day", "3_days"];
const URGENCIES: [&str; 4] = ["emergency", "within-24h", "within-72h", "routine"];

/// Parses and checks the `outbound` section of a profile for `platform`.
pub(crate) fn parse(platform: Platform, value: &Value) -> Result<Outbound, Vec<Violation>> {
    let mut problems = Vec::new();
    let mut problem = |pointer: String, message: String| {
        problems.push(Violation {
            pointer: format!("/outbound{pointer}"),
            message,
        });
    };
    let shape = |e: serde_json::Error| {
        vec![Violation {
            pointer: "/outbound".into(),
            message: format!("not the outbound tables of {platform}: {e}"),
        }]
    };
    let outbound = match platform {
        Platform::Primero => {
            let tables: PrimeroTables = serde_json::from_value(value.clone()).map_err(shape)?;
            if !is_uuid(&tables.id_namespace) {
                problem("/id_namespace".into(), "is not a UUID".into());
            }
            for (urgency, timeframe) in &tables.timeframes {
                let at = format!("/timeframes/{}", escape_token(urgency));
                if !URGENCIES.contains(&urgency.as_str()) {
                    problem(
                        at.clone(),
                        format!("is not a Kinga urgency ({})", URGENCIES.join(", ")),
                    );
                }
                if !PRIMERO_TIMEFRAMES.contains(&timeframe.as_str()) {
                    problem(
                        at,
                        format!(
                            "is not a Primero timeframe ({})",
                            PRIMERO_TIMEFRAMES.join(", ")
                        ),
                    );
                }
            }
            check_services(tables.services.keys(), &mut problem);
            Outbound::Primero(tables)
        }
        Platform::Dhis2 => {
            let tables: Dhis2Tables = serde_json::from_value(value.clone()).map_err(shape)?;
            for (field, uid) in &tables.data_elements {
                let at = format!("/data_elements/{}", escape_token(field));
                if !DHIS2_FIELDS.contains(&field.as_str()) {
                    problem(
                        at.clone(),
                        format!(
                            "is not a field of Kinga's events ({})",
                            DHIS2_FIELDS.join(", ")
                        ),
                    );
                }
                if !is_dhis2_uid(uid) {
                    problem(
                        at,
                        "is not a DHIS2 UID (11 letters and digits, a letter first)".into(),
                    );
                }
            }
            for (key, uid) in [
                ("program", &tables.program),
                ("decision_stage", &tables.decision_stage),
                ("referral_stage", &tables.referral_stage),
            ] {
                if !is_dhis2_uid(uid) {
                    problem(
                        format!("/{key}"),
                        "is not a DHIS2 UID (11 letters and digits, a letter first)".into(),
                    );
                }
            }
            if !["CREATE", "UPDATE", "CREATE_AND_UPDATE"].contains(&tables.import_strategy.as_str())
            {
                problem(
                    "/import_strategy".into(),
                    "is not CREATE, UPDATE or CREATE_AND_UPDATE".into(),
                );
            }
            check_services(tables.services.keys(), &mut problem);
            check_reports(&tables.reports, &mut problem);
            Outbound::Dhis2(tables)
        }
        Platform::CpimsRecord => {
            let tables: CpimsTables = serde_json::from_value(value.clone()).map_err(shape)?;
            if !is_uuid(&tables.id_namespace) {
                problem("/id_namespace".into(), "is not a UUID".into());
            }
            for (service, codes) in &tables.services {
                let at = format!("/services/{}", escape_token(service));
                let four = |c: &str| c.len() == 4 && c.bytes().all(|b| b.is_ascii_uppercase());
                if !four(&codes.refferal_to) || !four(&codes.refferal_actor_specify) {
                    problem(at.clone(), "CPIMS item ids are four capital letters".into());
                }
                if !["RDSA", "RDNA"].contains(&codes.refferal_actor_type.as_str()) {
                    problem(
                        format!("{at}/refferal_actor_type"),
                        "is not RDSA (state) or RDNA (non-state)".into(),
                    );
                }
            }
            check_services(tables.services.keys(), &mut problem);
            Outbound::Cpims(tables)
        }
        Platform::CpimsCrs => {
            problem(String::new(), "a Case Record Sheet is not written back: read the case record (cpims-record) for referrals".into());
            return Err(problems);
        }
    };
    if problems.is_empty() {
        Ok(outbound)
    } else {
        Err(problems)
    }
}

fn check_services<'a>(
    services: impl Iterator<Item = &'a String>,
    problem: &mut impl FnMut(String, String),
) {
    for service in services {
        let valid = service
            .split_once('.')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
            && service
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid {
            problem(
                format!("/services/{}", escape_token(service)),
                "is not a Kinga service id (group.service)".into(),
            );
        }
    }
}

fn check_reports(
    reports: &BTreeMap<String, Dhis2Report>,
    problem: &mut impl FnMut(String, String),
) {
    const NOT_A_UID: &str = "is not a DHIS2 UID (11 letters and digits, a letter first)";
    for (template, report) in reports {
        let at = format!("/reports/{}", escape_token(template));
        // A cell is (data element, combo, org unit): two tables sharing a
        // data element, or two labels sharing a combo, would write one
        // cell twice (and a zero of one would erase the other's count).
        let mut elements_seen = std::collections::BTreeMap::new();
        for (key, uid) in [
            ("data_set", &report.data_set),
            ("org_unit", &report.org_unit),
        ] {
            if !is_dhis2_uid(uid) {
                problem(format!("{at}/{key}"), NOT_A_UID.into());
            }
        }
        let mut units_seen = std::collections::BTreeSet::new();
        for (county, uid) in &report.org_units {
            let pointer = format!("{at}/org_units/{}", escape_token(county));
            if !is_dhis2_uid(uid) {
                problem(pointer, NOT_A_UID.into());
            } else if !units_seen.insert(uid) || *uid == report.org_unit {
                problem(
                    pointer,
                    "names an org unit another county (or the programme) has: their counts would overwrite each other".into(),
                );
            }
        }
        for (id, table) in &report.tables {
            let at = format!("{at}/tables/{}", escape_token(id));
            match (&table.data_element, &table.data_element_by) {
                (Some(uid), None) if table.data_elements.is_empty() => {
                    if !is_dhis2_uid(uid) {
                        problem(format!("{at}/data_element"), NOT_A_UID.into());
                    }
                }
                (None, Some(_)) if !table.data_elements.is_empty() => {
                    for (label, uid) in &table.data_elements {
                        if !is_dhis2_uid(uid) {
                            problem(
                                format!("{at}/data_elements/{}", escape_token(label)),
                                NOT_A_UID.into(),
                            );
                        }
                    }
                }
                _ => problem(
                    at.clone(),
                    "needs data_element, or data_element_by with data_elements, not both".into(),
                ),
            }
            if table.category_option_combos.is_empty() {
                problem(
                    format!("{at}/category_option_combos"),
                    "is empty: a table without other dimensions maps \"\" to the default combo"
                        .into(),
                );
            }
            let mut combos_seen = std::collections::BTreeSet::new();
            for (labels, uid) in &table.category_option_combos {
                let pointer = format!("{at}/category_option_combos/{}", escape_token(labels));
                if !is_dhis2_uid(uid) {
                    problem(pointer, NOT_A_UID.into());
                } else if !combos_seen.insert(uid) {
                    problem(pointer, "names a combo another combination of labels of this table names: their counts would overwrite each other".into());
                }
            }
            let elements = table
                .data_element
                .iter()
                .chain(table.data_elements.values());
            for uid in elements {
                if let Some(other) = elements_seen.insert(uid.clone(), at.clone()) {
                    problem(
                        at.clone(),
                        format!(
                            "shares data element {uid} with {other}: their cells would overwrite each other"
                        ),
                    );
                }
            }
        }
    }
}

fn is_uuid(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok() && text.len() == 36
}

/// Whether `text` is a DHIS2 UID: 11 ASCII letters and digits, a letter first.
pub(crate) fn is_dhis2_uid(text: &str) -> bool {
    text.len() == 11
        && text.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && text.bytes().all(|b| b.is_ascii_alphanumeric())
}
