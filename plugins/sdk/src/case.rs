//! A typed view of the canonical case, version 1.1 (`schemas/case.schema.json`).
//!
//! Case 1.1 lets a case say what a platform does not record: no
//! `survivor_status` (not assessed yet: a condition on it cannot be
//! decided), an incident known only by its day ([`Incident::occurred_on`]:
//! see [`Incident::latest_moment`] and [`Incident::earliest_moment`]), an age
//! estimate with the day it was made (aged by [`crate::age::age_at`]), and
//! who identified the child ([`IdentifiedBy`]). Every 1.0 case is a 1.1 case.
//!
//! The host validates every case against the schema before a plugin sees it,
//! so this view does not re-check ranges or formats; it only gives the fields
//! Rust types. Every field the schema marks optional is an `Option` here, and
//! the host may have removed fields the plugin did not declare in
//! `case-fields`, so a plugin must treat `None` as "not known", never as "no".
//!
//! # Newer cases
//! A plugin is built once and then runs against cases from a host whose
//! schema may be newer. The two kinds of change are read differently:
//!
//! - **Unknown fields are ignored.** A new optional field is a compatible
//!   change of the case schema (`wit/README.md`), and a plugin that declares
//!   `/household` or `/incidents` receives the whole object, new members
//!   included. Refusing them would break every plugin already built on the
//!   day the schema grows; ignoring them is what the plugin guide promises.
//! - **Unknown enumeration values are refused** (`invalid-case`,
//!   `case-not-canonical`). A value is meaning, not shape: reading a new
//!   incident kind as `Other`, or a new survivor status as "not a survivor",
//!   would be a silent guess that could route nothing for a child who needs
//!   it. A new value is not a compatible change; the plugin must be rebuilt
//!   against the new schema, and until then it says so instead of deciding.
//!
//! `tests/case_schema.rs` holds these types to the schema: every member the
//! schema defines has a field here (or is listed there as deliberately not
//! modelled), every field here is in the schema, and every enumeration has
//! exactly the schema's values.

use serde::Deserialize;
use time::{Date, OffsetDateTime, Time, UtcOffset};

use crate::date::{date_serde, datetime_serde};

/// One case, as a plugin receives it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Case {
    /// The schema version, `"1"` or `"1.1"` when present.
    #[serde(default)]
    pub schema_version: Option<String>,
    /// Pseudonymous case reference. Never a name; still, never log it.
    pub case_id: String,
    /// The day the case was registered.
    #[serde(default, with = "date_serde::option")]
    pub registered_on: Option<Date>,
    /// Whether the case is open.
    #[serde(default)]
    pub status: Option<CaseStatus>,
    /// The child.
    #[serde(default)]
    pub child: Option<Child>,
    /// Whether the child is an identified survivor; `None` when not
    /// assessed yet (case 1.1), which never means "not a survivor".
    #[serde(default)]
    pub survivor_status: Option<SurvivorStatus>,
    /// Who first identified or reported the case (case 1.1).
    #[serde(default)]
    pub identified_by: Option<IdentifiedBy>,
    /// Protection concerns recorded for the child.
    #[serde(default)]
    pub protection_concerns: Option<Vec<ProtectionConcern>>,
    /// Schooling.
    #[serde(default)]
    pub education: Option<Education>,
    /// The child's household.
    #[serde(default)]
    pub household: Option<Household>,
    /// Incidents, in any order.
    #[serde(default)]
    pub incidents: Option<Vec<Incident>>,
    /// Consent and assent recorded for the case.
    #[serde(default)]
    pub consent: Option<Consent>,
    /// Safety assessment.
    #[serde(default)]
    pub safety: Option<Safety>,
    /// Services the platform already records.
    #[serde(default)]
    pub services: Option<Vec<Service>>,
    /// Referrals the platform already made.
    #[serde(default)]
    pub referrals: Option<Vec<ExistingReferral>>,
    /// Platform-specific data; the reference plugins never read it.
    #[serde(default)]
    pub extensions: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Whether a case is open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// The case is being managed.
    Open,
    /// The case is closed.
    Closed,
}

/// The child a case is about.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Child {
    /// Date of birth, when known.
    #[serde(default, with = "date_serde::option")]
    pub date_of_birth: Option<Date>,
    /// Estimated age in years, used only when the date of birth is absent.
    #[serde(default)]
    pub age_estimate_years: Option<u8>,
    /// The day the estimate was made (case 1.1): the estimate ages with the
    /// child from that day. Absent: the estimate is the age at the as-of.
    #[serde(default, with = "date_serde::option")]
    pub age_estimated_on: Option<Date>,
    /// Sex.
    #[serde(default)]
    pub sex: Option<Sex>,
    /// County slug (for example `kwale`).
    #[serde(default)]
    pub county: Option<String>,
    /// Sub-county slug (for example `msambweni`).
    #[serde(default)]
    pub sub_county: Option<String>,
    /// Ward slug.
    #[serde(default)]
    pub ward: Option<String>,
    /// Town slug (for example `ukunda`).
    #[serde(default)]
    pub town: Option<String>,
}

/// Sex as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Another sex.
    Other,
    /// Not known.
    Unknown,
}

impl Sex {
    /// The schema's spelling of the value.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
            Sex::Other => "other",
            Sex::Unknown => "unknown",
        }
    }
}

/// Whether the child is a survivor of child sex trafficking or commercial
/// sexual exploitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurvivorStatus {
    /// An identified survivor.
    Survivor,
    /// A child at risk.
    AtRisk,
    /// Neither identified as a survivor nor as at risk.
    NotIdentified,
}

impl SurvivorStatus {
    /// The schema's spelling of the value.
    pub fn as_str(self) -> &'static str {
        match self {
            SurvivorStatus::Survivor => "survivor",
            SurvivorStatus::AtRisk => "at_risk",
            SurvivorStatus::NotIdentified => "not_identified",
        }
    }
}

/// Who first identified or reported a case (case 1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifiedBy {
    /// A school.
    School,
    /// A community volunteer.
    CommunityVolunteer,
    /// A child protection committee.
    ChildProtectionCommittee,
    /// The police.
    Police,
    /// A health facility.
    HealthFacility,
    /// A helpline (116 in Kenya).
    Helpline,
    /// The child's family.
    Family,
    /// The child herself.
    #[serde(rename = "self")]
    Myself,
    /// Someone else.
    Other,
}

impl IdentifiedBy {
    /// The value as the schema spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifiedBy::School => "school",
            IdentifiedBy::CommunityVolunteer => "community_volunteer",
            IdentifiedBy::ChildProtectionCommittee => "child_protection_committee",
            IdentifiedBy::Police => "police",
            IdentifiedBy::HealthFacility => "health_facility",
            IdentifiedBy::Helpline => "helpline",
            IdentifiedBy::Family => "family",
            IdentifiedBy::Myself => "self",
            IdentifiedBy::Other => "other",
        }
    }
}

/// A protection concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtectionConcern {
    /// Commercial sexual exploitation.
    SexualExploitation,
    /// Trafficking.
    Trafficking,
    /// Sexual abuse.
    SexualAbuse,
    /// Child marriage.
    ChildMarriage,
    /// Child labour.
    ChildLabour,
    /// Physical abuse.
    PhysicalAbuse,
    /// Neglect.
    Neglect,
    /// Online abuse.
    OnlineAbuse,
    /// Another concern.
    Other,
}

/// Schooling.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Education {
    /// Whether the child is enrolled in school.
    #[serde(default)]
    pub enrolled: Option<bool>,
    /// The level of schooling.
    #[serde(default)]
    pub level: Option<EducationLevel>,
    /// The school's identifier.
    #[serde(default)]
    pub school_id: Option<String>,
    /// Whether the school runs a Child Rights Club.
    #[serde(default)]
    pub school_has_child_rights_club: Option<bool>,
    /// Attendance rate, 0 to 1.
    #[serde(default)]
    pub attendance_rate: Option<f64>,
}

/// A level of schooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EducationLevel {
    /// Primary school.
    Primary,
    /// Junior secondary school.
    JuniorSecondary,
    /// Senior secondary school.
    SeniorSecondary,
    /// Technical and vocational education and training.
    Tvet,
    /// No schooling.
    None,
}

/// The child's household.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Household {
    /// Who cares for the child.
    #[serde(default)]
    pub caregiver: Option<Caregiver>,
    /// Monthly household income in Kenyan shillings.
    #[serde(default)]
    pub monthly_income_kes: Option<u64>,
    /// People depending on the caregiver.
    #[serde(default)]
    pub dependents: Option<u8>,
}

/// Who cares for the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Caregiver {
    /// A parent.
    Parent,
    /// A grandparent.
    Grandparent,
    /// Another relative.
    Relative,
    /// A foster carer.
    Foster,
    /// The household is headed by a child.
    ChildHeaded,
    /// Nobody.
    None,
}

/// An incident recorded for the child. A case from the host has exactly one
/// of [`Incident::occurred_at`] and [`Incident::occurred_on`] for each
/// ([`Case::from_json`] refuses anything else).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Incident {
    /// When it happened (with the offset it was recorded in).
    #[serde(default, with = "datetime_serde::option")]
    pub occurred_at: Option<OffsetDateTime>,
    /// The day it happened, when the platform records only the day (case
    /// 1.1): at an unknown moment of that day in the programme's offset.
    #[serde(default, with = "date_serde::option")]
    pub occurred_on: Option<Date>,
    /// What kind of incident it was.
    pub kind: IncidentKind,
    /// Whether the perpetrator lives in the child's household.
    #[serde(default)]
    pub perpetrator_in_household: Option<bool>,
    /// Whether it was reported to the police.
    #[serde(default)]
    pub reported_to_police: Option<bool>,
    /// Whether the child received health care for it.
    #[serde(default)]
    pub health_care_received: Option<bool>,
}

/// The kind of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// Sexual abuse.
    SexualAbuse,
    /// Sexual exploitation.
    SexualExploitation,
    /// Trafficking.
    Trafficking,
    /// Physical abuse.
    PhysicalAbuse,
    /// Another kind.
    Other,
}

/// The most recent event of a case ([`Case::latest_event`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LatestEvent<'c> {
    /// The incidents recorded at its latest moment, with their indexes:
    /// one event a platform may record several ways.
    pub incidents: Vec<(usize, &'c Incident)>,
    /// The latest moment it can have happened: whether a window is still
    /// open, and how old the event is, are decided from it.
    pub latest: OffsetDateTime,
    /// The earliest moment any of them can have happened: when a window
    /// closes is taken from it.
    pub earliest: OffsetDateTime,
}

/// When an incident happened, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occurred {
    /// At this instant.
    At(OffsetDateTime),
    /// At an unknown moment of this day.
    On(Date),
}

impl Incident {
    /// When it happened; `None` only for an incident with neither time
    /// field, which no case from the host has.
    pub fn occurred(&self) -> Option<Occurred> {
        match (self.occurred_at, self.occurred_on) {
            (Some(at), None) => Some(Occurred::At(at)),
            (None, Some(on)) => Some(Occurred::On(on)),
            _ => None,
        }
    }

    /// The latest instant it can have happened: `occurred_at`, or for a
    /// date-only incident the end of its day (the next midnight) at
    /// `offset`. Whether a window is still open, how old the incident is
    /// and which incident is the most recent are decided at this moment, so
    /// that no window is closed too early.
    pub fn latest_moment(&self, offset: UtcOffset) -> Option<OffsetDateTime> {
        Some(match self.occurred()? {
            Occurred::At(at) => at,
            Occurred::On(day) => match day.next_day() {
                Some(next) => next.midnight().assume_offset(offset),
                // The last representable day: its last instant.
                None => day.with_time(Time::MAX).assume_offset(offset),
            },
        })
    }

    /// The earliest instant it can have happened: `occurred_at`, or for a
    /// date-only incident the start of its day at `offset`. When a window
    /// closes is taken from this moment, so that no deadline is set too late.
    pub fn earliest_moment(&self, offset: UtcOffset) -> Option<OffsetDateTime> {
        Some(match self.occurred()? {
            Occurred::At(at) => at,
            Occurred::On(day) => day.midnight().assume_offset(offset),
        })
    }

    /// The pointer of its time field, for incident `index`.
    pub fn time_pointer(&self, index: usize) -> String {
        let member = if self.occurred_on.is_some() {
            "occurred_on"
        } else {
            "occurred_at"
        };
        format!("/incidents/{index}/{member}")
    }
}

impl IncidentKind {
    /// Whether this is a *sexual incident* in the sense of the reference
    /// rules: sexual abuse, sexual exploitation or trafficking.
    pub fn is_sexual(self) -> bool {
        matches!(
            self,
            IncidentKind::SexualAbuse
                | IncidentKind::SexualExploitation
                | IncidentKind::Trafficking
        )
    }
}

/// Consent and assent recorded for the case.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Consent {
    /// Consent to share information with other organisations.
    #[serde(default)]
    pub information_sharing: Option<bool>,
    /// Consent to report to the police.
    #[serde(default)]
    pub police_report: Option<bool>,
}

/// Safety assessment.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Safety {
    /// Whether the child is safe at home.
    #[serde(default)]
    pub safe_at_home: Option<bool>,
}

/// A service the platform records.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Service {
    /// The type of service.
    #[serde(rename = "type")]
    pub kind: ServiceType,
    /// The day it started.
    #[serde(with = "date_serde")]
    pub started_on: Date,
    /// The day it ended, if it has.
    #[serde(default, with = "date_serde::option")]
    pub ended_on: Option<Date>,
    /// Its status.
    pub status: ServiceStatus,
}

/// A type of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    /// Education support.
    EducationSupport,
    /// Vocational training.
    VocationalTraining,
    /// Family livelihood support.
    FamilyLivelihood,
    /// Psychosocial support.
    Psychosocial,
    /// Health care.
    Health,
    /// Legal support.
    Legal,
    /// Shelter.
    Shelter,
    /// A Child Rights Club.
    ChildRightsClub,
    /// Another service.
    Other,
}

/// The status of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    /// Ongoing.
    Active,
    /// Completed.
    Completed,
    /// Dropped before completion.
    Dropped,
}

/// A referral the platform already made.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExistingReferral {
    /// The service id (for example `health.post-rape-care`).
    pub service: String,
    /// The day it was made.
    #[serde(with = "date_serde")]
    pub made_on: Date,
    /// Its status.
    pub status: ExistingReferralStatus,
}

/// The status of a referral the platform made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExistingReferralStatus {
    /// Sent, no answer yet.
    Pending,
    /// Accepted by the provider.
    Accepted,
    /// Completed.
    Completed,
    /// Declined.
    Declined,
}

impl Case {
    /// Parses a case from the JSON text the host passes.
    ///
    /// # Errors
    /// A [`crate::PluginError`] of kind `invalid-case` when the text does not
    /// fit the canonical case (which means the host and plugin disagree on
    /// the schema version).
    /// An incident with both `occurred_at` and `occurred_on`, or neither,
    /// is refused the same way, naming the incident.
    pub fn from_json(text: &str) -> Result<Case, crate::PluginError> {
        let case: Case = serde_json::from_str(text).map_err(|e| {
            crate::log::warn(&format!(
                "the case does not fit canonical case 1.1: {}",
                e.classify_message()
            ));
            crate::PluginError::invalid_case("case-not-canonical", None)
        })?;
        if let Some(i) = case
            .incidents
            .iter()
            .flatten()
            .position(|incident| incident.occurred().is_none())
        {
            return Err(crate::PluginError::invalid_case(
                "case-not-canonical",
                Some(&format!("/incidents/{i}")),
            ));
        }
        Ok(case)
    }

    /// Every incident for which `filter` holds at the latest instant any of
    /// them can have happened ([`Incident::latest_moment`] at `offset`, the
    /// programme's; equal instants, whatever their offsets): one event a
    /// platform may record several ways, "sexual exploitation" and
    /// "trafficking" say. A condition on *the* most recent incident holds
    /// when it holds for any of them, so that an answer never depends on the
    /// order a platform lists incidents in.
    pub fn latest_incidents(
        &self,
        offset: UtcOffset,
        filter: impl Fn(&Incident) -> bool,
    ) -> Vec<(usize, &Incident)> {
        let matching: Vec<(usize, &Incident, OffsetDateTime)> = self
            .incidents
            .iter()
            .flatten()
            .enumerate()
            .filter(|(_, i)| filter(i))
            .filter_map(|(n, i)| Some((n, i, i.latest_moment(offset)?)))
            .collect();
        let Some(latest) = matching.iter().map(|(_, _, at)| *at).max() else {
            return Vec::new();
        };
        matching
            .into_iter()
            .filter(|(_, _, at)| *at == latest)
            .map(|(n, i, _)| (n, i))
            .collect()
    }

    /// The most recent event for which `filter` holds: the incidents at
    /// the latest moment ([`Case::latest_incidents`]), that moment, and the
    /// earliest any of them can have happened, from which a window's end is
    /// taken, whatever order they are listed in.
    pub fn latest_event(
        &self,
        offset: UtcOffset,
        filter: impl Fn(&Incident) -> bool,
    ) -> Option<LatestEvent<'_>> {
        let incidents = self.latest_incidents(offset, filter);
        let latest = incidents
            .iter()
            .filter_map(|(_, i)| i.latest_moment(offset))
            .max()?;
        let earliest = incidents
            .iter()
            .filter_map(|(_, i)| i.earliest_moment(offset))
            .min()?;
        Some(LatestEvent {
            incidents,
            latest,
            earliest,
        })
    }

    /// The pointer of the first incident dated after `as_of`: an instant
    /// after it, or a day after its date at its offset. Such a case is an
    /// input error for every rule.
    pub fn incident_after(&self, as_of: OffsetDateTime) -> Option<String> {
        self.incidents
            .iter()
            .flatten()
            .enumerate()
            .find(|(_, i)| {
                i.earliest_moment(as_of.offset())
                    .is_some_and(|at| at > as_of)
            })
            .map(|(index, i)| i.time_pointer(index))
    }
}

/// A serde error message that does not echo case values.
trait ClassifyMessage {
    fn classify_message(&self) -> String;
}

impl ClassifyMessage for serde_json::Error {
    fn classify_message(&self) -> String {
        let class = match self.classify() {
            serde_json::error::Category::Io => "input error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected field or value",
            serde_json::error::Category::Eof => "truncated input",
        };
        format!("{class} at line {} column {}", self.line(), self.column())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_ignored_at_the_top_and_inside_objects_and_lists() {
        let case = Case::from_json(
            r#"{
                "case_id": "C-1",
                "status": "open",
                "new_top_level_field": {"anything": [1, 2]},
                "child": {"county": "kwale", "new_child_field": true},
                "household": {"caregiver": "parent", "monthly_income_kes": 9000, "new_household_field": "x"},
                "incidents": [
                    {"occurred_at": "2026-06-28T09:00:00+03:00", "kind": "sexual_abuse", "new_incident_field": 3}
                ],
                "services": [
                    {"type": "health", "started_on": "2026-06-01", "status": "active", "provider_note": null}
                ]
            }"#,
        )
        .expect("a case with new fields parses");
        assert_eq!(case.status, Some(CaseStatus::Open));
        assert_eq!(case.child.and_then(|c| c.county).as_deref(), Some("kwale"));
        let household = case.household.expect("the household");
        assert_eq!(household.caregiver, Some(Caregiver::Parent));
        assert_eq!(household.monthly_income_kes, Some(9000));
        let incidents = case.incidents.expect("the incidents");
        assert_eq!(incidents[0].kind, IncidentKind::SexualAbuse);
        assert_eq!(
            case.services.expect("the services")[0].kind,
            ServiceType::Health
        );
    }

    #[test]
    fn a_day_spans_its_midnights_at_the_programmes_offset() {
        use crate::date::{EAST_AFRICA_TIME, parse_datetime};
        let case = Case::from_json(
            r#"{"case_id": "C-1", "incidents": [
                {"occurred_on": "2026-06-28", "kind": "sexual_abuse"},
                {"occurred_at": "2026-06-29T00:00:00+03:00", "kind": "trafficking"},
                {"occurred_at": "2026-06-28T20:59:59Z", "kind": "sexual_exploitation"}
            ]}"#,
        )
        .unwrap();
        let incidents = case.incidents.as_ref().unwrap();
        let day = &incidents[0];
        assert_eq!(
            day.latest_moment(EAST_AFRICA_TIME),
            parse_datetime("2026-06-29T00:00:00+03:00")
        );
        assert_eq!(
            day.earliest_moment(EAST_AFRICA_TIME),
            parse_datetime("2026-06-28T00:00:00+03:00")
        );
        assert_eq!(
            day.earliest_moment(time::UtcOffset::UTC),
            parse_datetime("2026-06-28T03:00:00+03:00")
        );
        assert_eq!(day.time_pointer(0), "/incidents/0/occurred_on");
        // The day's latest moment ties with the instant at its midnight,
        // and is later than the instant one second before it.
        let latest: Vec<usize> = case
            .latest_incidents(EAST_AFRICA_TIME, |i| i.kind.is_sexual())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(latest, [0, 1]);
        let event = case
            .latest_event(EAST_AFRICA_TIME, |i| i.kind.is_sexual())
            .unwrap();
        assert_eq!(
            event.latest,
            parse_datetime("2026-06-29T00:00:00+03:00").unwrap()
        );
        assert_eq!(
            event.earliest,
            parse_datetime("2026-06-28T00:00:00+03:00").unwrap()
        );
        // The day is after an as-of the evening before; the instants are not.
        let evening = parse_datetime("2026-06-27T23:00:00+03:00").unwrap();
        assert_eq!(
            case.incident_after(evening).as_deref(),
            Some("/incidents/0/occurred_on")
        );
        let night = parse_datetime("2026-06-28T23:59:59+03:00").unwrap();
        assert_eq!(
            case.incident_after(night).as_deref(),
            Some("/incidents/1/occurred_at")
        );
        // At UTC the day ends three hours later: it alone is the latest.
        let latest: Vec<usize> = case
            .latest_incidents(time::UtcOffset::UTC, |i| i.kind.is_sexual())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(latest, [0]);
    }

    #[test]
    fn an_incident_needs_exactly_one_time() {
        for (case, pointer) in [
            (
                r#"{"case_id": "C-1", "incidents": [{"kind": "other"}]}"#,
                "/incidents/0",
            ),
            (
                r#"{"case_id": "C-1", "incidents": [{"occurred_on": "2026-06-28", "kind": "other"},
                    {"occurred_on": "2026-06-28", "occurred_at": "2026-06-28T09:00:00+03:00", "kind": "other"}]}"#,
                "/incidents/1",
            ),
        ] {
            let err = Case::from_json(case).expect_err(case);
            assert_eq!(err.code, "case-not-canonical");
            assert_eq!(err.pointer.as_deref(), Some(pointer));
        }
    }

    #[test]
    fn unknown_values_are_refused_not_guessed() {
        for case in [
            r#"{"case_id": "C-1", "survivor_status": "survivor_pending_review"}"#,
            r#"{"case_id": "C-1", "household": {"caregiver": "older_sibling"}}"#,
            r#"{"case_id": "C-1", "incidents": [{"occurred_at": "2026-06-28T09:00:00+03:00", "kind": "online_grooming"}]}"#,
            r#"{"case_id": "C-1", "child": {"date_of_birth": "2010-02-30"}}"#,
            r#"{"case_id": "C-1", "child": {"age_estimate_years": "12"}}"#,
        ] {
            let err = Case::from_json(case).expect_err(case);
            assert_eq!(err.kind, crate::ErrorKind::InvalidCase, "{case}");
            assert_eq!(err.code, "case-not-canonical", "{case}");
            assert_eq!(err.pointer, None, "{case}");
        }
    }
}
