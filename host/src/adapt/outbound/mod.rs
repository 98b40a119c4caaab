//! Kinga's answers in a platform's own terms: the requests (or rows) that
//! write decisions and referrals back to the record a case came from.
//!
//! | platform | what is written | idempotent by |
//! |---|---|---|
//! | Primero | `PATCH /api/v2/cases/:id` with `services_section` rows; a referral transition only with recorded consent and a recipient | `unique_id`, a UUIDv5 of (case, plugin, rule, service) |
//! | DHIS2 | `POST /api/tracker` with decision and referral events, `importStrategy` stated | client event UIDs of (case, plugin, track or rule) |
//! | CPIMS | `ovc_referrals` rows for the CPIMS owners to insert (CPIMS has no write API) | `refferal_id`, a UUIDv5 |
//! | DHIS2 (reports) | `POST /api/dataValueSets`: a report's cells in a quarterly data set, zeros included | data element, category option combo, org unit, period |
//!
//! Whatever the platform cannot hold (an exact due time in CPIMS, a
//! decision in Primero) is listed in `not_carried`, never dropped
//! silently. The tables (service types, option codes, agencies) are the
//! profile's `outbound` section.

mod cpims;
mod data_values;
mod dhis2;
mod ids;
mod primero;
mod tables;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::profile::{Platform, Profile};
use crate::case::ValidCase;
use crate::case::asof::AsOf;
use crate::case::schema::Violation;
use crate::runtime::output::{Decision, Referral};

pub use data_values::ReportDelivery;
pub use tables::Outbound;
pub(crate) use tables::parse as parse_outbound;

/// The platforms Kinga writes to (`--to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// Primero API v2.
    Primero,
    /// Kenya CPIMS (rows of its case record).
    Cpims,
    /// DHIS2 Tracker.
    Dhis2,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 3] = [Target::Primero, Target::Cpims, Target::Dhis2];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Primero => "primero",
            Target::Cpims => "cpims",
            Target::Dhis2 => "dhis2",
        }
    }

    /// The target with this name.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether answers for a case read from `platform` can go back there:
    /// a write-back needs the platform's own record.
    pub fn writes_back(self, platform: Platform) -> bool {
        matches!(
            (self, platform),
            (Target::Primero, Platform::Primero)
                | (Target::Cpims, Platform::CpimsRecord)
                | (Target::Dhis2, Platform::Dhis2)
        )
    }
}

/// One HTTP request to the platform.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    /// `PATCH`, `POST`.
    pub method: &'static str,
    /// The path, from the platform's base URL.
    pub path: String,
    /// Query parameters.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// The JSON body.
    pub body: Value,
}

/// Something Kinga answered that the platform cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotCarried {
    /// What: a pointer into Kinga's answer (`/referrals/0/due`), or a kind
    /// of answer (`/decisions`).
    pub what: String,
    /// Why, and where it went instead if anywhere.
    pub why: String,
}

/// Kinga's answers for one case, in the platform's terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// The platform written to.
    pub platform: Target,
    /// The canonical case id.
    pub case_id: String,
    /// The requests, in the order they must be sent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<Request>,
    /// Rows by table, for a platform without a write API (CPIMS).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub rows: BTreeMap<String, Vec<Value>>,
    /// What the platform cannot hold.
    pub not_carried: Vec<NotCarried>,
}

/// What Kinga answered for a case.
#[derive(Debug, Clone, Copy)]
pub struct Answers<'a> {
    /// Eligibility decisions.
    pub decisions: &'a [Decision],
    /// Referrals.
    pub referrals: &'a [Referral],
    /// The moment they were made as of.
    pub as_of: AsOf,
}

/// Why answers cannot be written back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRefusal {
    /// The problems.
    pub violations: Vec<Violation>,
}

impl std::fmt::Display for DeliveryRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::case::schema::write_first(f, &self.violations, "cannot write back")
    }
}

impl std::error::Error for DeliveryRefusal {}

fn refuse(pointer: &str, message: impl Into<String>) -> DeliveryRefusal {
    DeliveryRefusal {
        violations: vec![Violation {
            pointer: pointer.to_owned(),
            message: message.into(),
        }],
    }
}

impl Profile {
    /// Kinga's answers for `case` (read with this profile) in the terms of
    /// `target`.
    pub fn deliver(
        &self,
        target: Target,
        case: &ValidCase,
        answers: Answers<'_>,
    ) -> Result<Delivery, DeliveryRefusal> {
        if !target.writes_back(self.platform()) {
            return Err(refuse(
                "",
                format!(
                    "answers go back to the record a case came from: a case read from {} cannot be written to {}{}",
                    self.platform(),
                    target.name(),
                    if self.platform() == Platform::CpimsCrs {
                        " (a Case Record Sheet has no case record to refer from yet)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let Some(outbound) = &self.outbound else {
            return Err(refuse(
                "/outbound",
                format!("profile `{}` has no outbound tables", self.id()),
            ));
        };
        let record = Record::of(self, case)?;
        match outbound {
            Outbound::Primero(tables) => Ok(primero::deliver(tables, &record, answers, &self.zone)),
            Outbound::Dhis2(tables) => dhis2::deliver(tables, &record, answers, &self.zone),
            Outbound::Cpims(tables) => Ok(cpims::deliver(tables, &record, answers)),
        }
    }
}

impl Profile {
    /// A report in the platform's terms: for DHIS2, the data value set of
    /// the template's data set for `period` (`2026-Q3`).
    pub fn deliver_report(
        &self,
        report: &crate::runtime::report::Report,
        period: &str,
    ) -> Result<ReportDelivery, DeliveryRefusal> {
        let Some(Outbound::Dhis2(tables)) = &self.outbound else {
            return Err(refuse(
                "/outbound",
                format!(
                    "profile `{}` writes no reports: reports go to DHIS2, through a DHIS2 profile's outbound reports",
                    self.id()
                ),
            ));
        };
        let Some(mapping) = tables.reports.get(&report.template) else {
            return Err(refuse(
                &format!(
                    "/outbound/reports/{}",
                    crate::case::json::escape_token(&report.template)
                ),
                format!(
                    "profile `{}` maps no data set for template {}",
                    self.id(),
                    report.template
                ),
            ));
        };
        data_values::deliver(mapping, report, period)
    }
}

/// The platform record a case came from: its id and the ids the profile
/// kept.
pub(crate) struct Record<'a> {
    /// The canonical case id.
    pub case_id: &'a str,
    /// The platform's own id of the record.
    pub platform_id: &'a str,
    /// The ids kept in the provenance.
    pub ids: &'a serde_json::Map<String, Value>,
}

impl<'a> Record<'a> {
    fn of(profile: &Profile, case: &'a ValidCase) -> Result<Record<'a>, DeliveryRefusal> {
        static EMPTY: std::sync::OnceLock<serde_json::Map<String, Value>> =
            std::sync::OnceLock::new();
        let case_id = case.case_id();
        let platform_id = case_id
            .strip_prefix(profile.document.case_id.prefix.as_str())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                refuse(
                    "/case_id",
                    format!(
                        "is not an id of profile `{}` (it does not start with `{}`)",
                        profile.id(),
                        profile.document.case_id.prefix
                    ),
                )
            })?;
        let ids = case
            .value()
            .pointer("/extensions/kinga_mapping/ids")
            .and_then(Value::as_object)
            .unwrap_or_else(|| EMPTY.get_or_init(serde_json::Map::new));
        Ok(Record {
            case_id,
            platform_id,
            ids,
        })
    }

    /// A kept id, or why it is needed.
    fn id(&self, name: &str, for_what: &str) -> Result<&'a str, DeliveryRefusal> {
        self.ids.get(name).and_then(Value::as_str).ok_or_else(|| {
            refuse(
                "/extensions/kinga_mapping/ids",
                format!("has no `{name}`, which {for_what} needs: read the case through a profile that keeps it"),
            )
        })
    }
}

/// A Kinga code as JSON writes it (`within-24h`).
pub(crate) fn code<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A line saying which Kinga rule wrote something, for a platform's notes.
pub(crate) fn signature(plugin: &str, version: &str, rule: &str) -> String {
    format!("[Kinga {plugin} {version} rule {rule}]")
}
