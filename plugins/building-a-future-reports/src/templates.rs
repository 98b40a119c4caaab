//! The two templates, as report builders that keep counts, never cases.

use std::collections::BTreeSet;

use kinga_plugin_sdk::age::age_on;
use kinga_plugin_sdk::time::Date;
use kinga_plugin_sdk::{
    Case, CaseStatus, Dimension, PluginError, ReportBuilder, ReportOutput, Service, ServiceStatus,
    ServiceType, SurvivorStatus, Table, TableSpec,
};

use crate::period::Quarter;

/// `sex`: as the canonical case records it.
pub const SEX: Dimension = Dimension {
    name: "sex",
    labels: &["female", "male", "other", "unknown"],
};

/// `age_band`: the programme's bands ([`age_band`]).
pub const AGE_BAND: Dimension = Dimension {
    name: "age_band",
    labels: &["9-15", "16-18", "other"],
};

/// `county`: Kenya's 47 counties as the canonical case writes them, `other`
/// for a value that is none of them, `unknown` when none is recorded.
pub const COUNTY: Dimension = Dimension {
    name: "county",
    labels: &[
        "baringo",
        "bomet",
        "bungoma",
        "busia",
        "elgeyo_marakwet",
        "embu",
        "garissa",
        "homa_bay",
        "isiolo",
        "kajiado",
        "kakamega",
        "kericho",
        "kiambu",
        "kilifi",
        "kirinyaga",
        "kisii",
        "kisumu",
        "kitui",
        "kwale",
        "laikipia",
        "lamu",
        "machakos",
        "makueni",
        "mandera",
        "marsabit",
        "meru",
        "migori",
        "mombasa",
        "muranga",
        "nairobi",
        "nakuru",
        "nandi",
        "narok",
        "nyamira",
        "nyandarua",
        "nyeri",
        "samburu",
        "siaya",
        "taita_taveta",
        "tana_river",
        "tharaka_nithi",
        "trans_nzoia",
        "turkana",
        "uasin_gishu",
        "vihiga",
        "wajir",
        "west_pokot",
        "other",
        "unknown",
    ],
};

/// `track`: the three participation tracks.
pub const TRACK: Dimension = Dimension {
    name: "track",
    labels: &[
        "education_support",
        "vocational_training",
        "family_livelihood",
    ],
};

/// `enrolment`: school enrolment as recorded.
pub const ENROLMENT: Dimension = Dimension {
    name: "enrolment",
    labels: &["enrolled", "not_enrolled", "unknown"],
};

/// `service_category`: the first part of a service id, `other` for a
/// category outside the referral pathway.
pub const SERVICE_CATEGORY: Dimension = Dimension {
    name: "service_category",
    labels: &[
        "health",
        "statutory",
        "police",
        "protection",
        "care",
        "justice",
        "programme",
        "other",
    ],
};

/// `survivor_status`: as the canonical case records it.
pub const SURVIVOR_STATUS: Dimension = Dimension {
    name: "survivor_status",
    labels: &["survivor", "at_risk", "not_identified", "unknown"],
};

/// `identified_by`: who first identified or reported the case (case 1.1),
/// `unknown` when not recorded.
pub const IDENTIFIED_BY: Dimension = Dimension {
    name: "identified_by",
    labels: &[
        "school",
        "community_volunteer",
        "child_protection_committee",
        "police",
        "health_facility",
        "helpline",
        "family",
        "self",
        "other",
        "unknown",
    ],
};

/// `measure`: a programme target (which the host fills from the settings)
/// or the cases reached.
pub const MEASURE: Dimension = Dimension {
    name: "measure",
    labels: &["target", "reached"],
};

/// `baf-quarterly`'s reach table: progress against the programme's targets,
/// which a donor reads first. The plugin counts `reached`; the `target`
/// cells are filled by the host from the settings (`settings.schema.json`
/// declares them), since a target is not a count of cases.
pub const REACH: TableSpec = TableSpec {
    id: "reach",
    title: "Reach against the programme's targets, from the programme's start to the period's end",
    unit: "cases",
    dimensions: &[TRACK, MEASURE],
};

/// `baf-quarterly`'s participants table.
pub const PARTICIPANTS: TableSpec = TableSpec {
    id: "participants",
    title: "Participants by track (education, vocational training, family livelihood)",
    unit: "cases",
    dimensions: &[TRACK, SEX, AGE_BAND, COUNTY],
};

/// `baf-quarterly`'s school-retention table.
pub const RETENTION: TableSpec = TableSpec {
    id: "school-retention",
    title: "Survivors aged 9-15 with education support, by school enrolment",
    unit: "cases",
    dimensions: &[ENROLMENT, SEX],
};

/// `baf-quarterly`'s PS.5.1-29 table.
pub const REFERRED: TableSpec = TableSpec {
    id: "ps-5-1-29-referred",
    title: "PS.5.1-29: survivors referred for protection services, by service category",
    unit: "cases",
    dimensions: &[SERVICE_CATEGORY, SEX],
};

/// `baf-quarterly`'s new-survivors table.
pub const NEW_SURVIVORS: TableSpec = TableSpec {
    id: "new-survivors",
    title: "New survivors registered in the quarter",
    unit: "cases",
    dimensions: &[SEX, AGE_BAND, COUNTY],
};

/// `baf-quarterly`'s identified-by table: the programme's second outcome,
/// that schools identify and report through the referral pathway.
pub const IDENTIFIED: TableSpec = TableSpec {
    id: "identified-by",
    title: "New survivors registered in the quarter, by who identified them",
    unit: "cases",
    dimensions: &[IDENTIFIED_BY, COUNTY],
};

/// `caseload-summary`'s one table.
pub const OPEN_CASES: TableSpec = TableSpec {
    id: "open-cases",
    title: "Open cases by county, survivor status and sex",
    unit: "cases",
    dimensions: &[COUNTY, SURVIVOR_STATUS, SEX],
};

/// The programme's age bands at a date: `9-15`, `16-18`, `other` (which
/// includes children whose age is not recorded). A report may run after
/// its period, on an estimate made since: [`age_on`] counts back to `on`.
pub fn age_band(case: &Case, on: Date) -> &'static str {
    match age_on(case, on) {
        Some(age) if age.within(9, 15) => "9-15",
        Some(age) if age.within(16, 18) => "16-18",
        _ => "other",
    }
}

fn sex(case: &Case) -> &'static str {
    case.child
        .as_ref()
        .and_then(|c| c.sex)
        .map(|s| s.as_str())
        .unwrap_or("unknown")
}

fn county(case: &Case) -> &str {
    case.child
        .as_ref()
        .and_then(|c| c.county.as_deref())
        .map_or("unknown", |c| COUNTY.label_or(c, "other"))
}

fn is_survivor(case: &Case) -> bool {
    case.survivor_status == Some(SurvivorStatus::Survivor)
}

/// A service overlaps the quarter: started by its end and not ended before
/// its start.
pub fn overlaps(service: &Service, q: &Quarter) -> bool {
    service.started_on <= q.end && service.ended_on.is_none_or(|end| end >= q.start)
}

fn active_in(case: &Case, kind: ServiceType, q: &Quarter) -> bool {
    case.services
        .iter()
        .flatten()
        .any(|s| s.kind == kind && s.status != ServiceStatus::Dropped && overlaps(s, q))
}

/// The three participation tracks and their labels.
const TRACKS: [(ServiceType, &str); 3] = [
    (ServiceType::EducationSupport, "education_support"),
    (ServiceType::VocationalTraining, "vocational_training"),
    (ServiceType::FamilyLivelihood, "family_livelihood"),
];

/// `baf-quarterly`: the donor's quarterly tables.
pub struct Quarterly {
    quarter: Quarter,
    /// The programme's first day: reach counts from it.
    start: Date,
    reach: Table,
    participants: Table,
    retention: Table,
    referred: Table,
    new_survivors: Table,
    identified: Table,
}

impl Quarterly {
    /// An empty report for `quarter`, counting reach from `start`.
    pub fn new(quarter: Quarter, start: Date) -> Quarterly {
        Quarterly {
            quarter,
            start,
            reach: Table::new(&REACH),
            participants: Table::new(&PARTICIPANTS),
            retention: Table::new(&RETENTION),
            referred: Table::new(&REFERRED),
            new_survivors: Table::new(&NEW_SURVIVORS),
            identified: Table::new(&IDENTIFIED),
        }
    }
}

impl ReportBuilder for Quarterly {
    fn add(&mut self, case: &Case) -> Result<(), PluginError> {
        let q = self.quarter;
        let (sex, county, band) = (sex(case), county(case), age_band(case, q.end));
        for (kind, label) in TRACKS {
            if active_in(case, kind, &q) {
                self.participants.count(&[label, sex, band, county]);
            }
        }
        if !is_survivor(case) {
            return Ok(());
        }
        // From the programme's start to the period's end.
        let since_start = Quarter {
            start: self.start,
            ..q
        };
        for (kind, label) in TRACKS {
            if active_in(case, kind, &since_start) {
                self.reach.count(&[label, "reached"]);
            }
        }
        if band == "9-15" && active_in(case, ServiceType::EducationSupport, &q) {
            let enrolment = match case.education.as_ref().and_then(|e| e.enrolled) {
                Some(true) => "enrolled",
                Some(false) => "not_enrolled",
                None => "unknown",
            };
            self.retention.count(&[enrolment, sex]);
        }
        let categories: BTreeSet<&str> = case
            .referrals
            .iter()
            .flatten()
            .filter(|r| q.contains(r.made_on))
            .filter_map(|r| r.service.split_once('.').map(|(category, _)| category))
            .map(|category| SERVICE_CATEGORY.label_or(category, "other"))
            .collect();
        for category in categories {
            self.referred.count(&[category, sex]);
        }
        if case.registered_on.is_some_and(|d| q.contains(d)) {
            self.new_survivors.count(&[sex, band, county]);
            let by = case.identified_by.map_or("unknown", |by| by.as_str());
            self.identified.count(&[by, county]);
        }
        Ok(())
    }

    fn finish(self) -> Result<ReportOutput, PluginError> {
        Ok(ReportOutput {
            tables: vec![
                self.reach,
                self.participants,
                self.retention,
                self.referred,
                self.new_survivors,
                self.identified,
            ],
        })
    }
}

/// `caseload-summary`: open cases registered on or before a date.
pub struct CaseloadSummary {
    as_of: Date,
    table: Table,
}

impl CaseloadSummary {
    /// An empty summary as of `as_of`.
    pub fn new(as_of: Date) -> CaseloadSummary {
        CaseloadSummary {
            as_of,
            table: Table::new(&OPEN_CASES),
        }
    }
}

impl ReportBuilder for CaseloadSummary {
    fn add(&mut self, case: &Case) -> Result<(), PluginError> {
        let open = case.status == Some(CaseStatus::Open);
        if open && case.registered_on.is_some_and(|d| d <= self.as_of) {
            let status = case
                .survivor_status
                .map(|s| s.as_str())
                .unwrap_or("unknown");
            self.table.count(&[county(case), status, sex(case)]);
        }
        Ok(())
    }

    fn finish(self) -> Result<ReportOutput, PluginError> {
        Ok(ReportOutput {
            tables: vec![self.table],
        })
    }
}

#[cfg(test)]
mod tests {
    use kinga_plugin_sdk::serde_json::{Value, json};

    use super::*;

    fn case(edit: impl FnOnce(&mut Value)) -> Case {
        let mut value = json!({
            "case_id": "U-1",
            "registered_on": "2026-07-15",
            "status": "open",
            "child": {"date_of_birth": "2013-09-30", "sex": "female", "county": "kilifi"},
            "survivor_status": "survivor",
            "education": {"enrolled": true},
            "services": [{"type": "education_support", "started_on": "2026-01-10", "status": "active"}],
            "referrals": [
                {"service": "health.post-rape-care", "made_on": "2026-07-02", "status": "completed"},
                {"service": "health.medical-examination", "made_on": "2026-07-03", "status": "completed"},
                {"service": "care.psychosocial", "made_on": "2026-06-30", "status": "accepted"}
            ]
        });
        edit(&mut value);
        Case::from_json(&value.to_string()).unwrap()
    }

    fn quarterly(cases: &[Case]) -> ReportOutput {
        let start = kinga_plugin_sdk::date::parse_date("2021-01-01").unwrap();
        let mut report = Quarterly::new(Quarter::parse("2026-Q3").unwrap(), start);
        for c in cases {
            report.add(c).unwrap();
        }
        report.finish().unwrap()
    }

    fn rows(out: &ReportOutput, table: &str) -> Vec<(Vec<String>, u64)> {
        let t = out.tables.iter().find(|t| t.id() == table).unwrap();
        t.counts.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    fn labels(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn age_bands_are_taken_at_the_periods_last_day() {
        // Born 2013-09-30: 13 on 2026-09-30. Born 2010-10-01: 15 on 2026-09-30, 16 a day later.
        let out = quarterly(&[case(|v| v["child"]["date_of_birth"] = json!("2010-10-01"))]);
        assert_eq!(
            rows(&out, "participants")[0].0,
            labels(&["education_support", "female", "9-15", "kilifi"])
        );
        let out = quarterly(&[case(|v| v["child"]["date_of_birth"] = json!("2010-09-30"))]);
        assert_eq!(rows(&out, "participants")[0].0[2], "16-18");
    }

    #[test]
    fn an_estimate_made_after_the_quarter_still_places_the_child() {
        let out = quarterly(&[case(|v| {
            v["child"] = json!({"age_estimate_years": 12, "age_estimated_on": "2026-10-05", "sex": "female", "county": "kilifi"});
        })]);
        assert_eq!(rows(&out, "participants")[0].0[2], "9-15");
        assert_eq!(rows(&out, "school-retention").len(), 1);
    }

    #[test]
    fn reach_counts_survivors_served_since_the_programme_started() {
        let out = quarterly(&[
            // Education support since January, and a family livelihood
            // service that ended in 2024: both count.
            case(|v| {
                v["services"] = json!([
                    {"type": "education_support", "started_on": "2026-01-10", "status": "active"},
                    {"type": "family_livelihood", "started_on": "2023-01-01", "ended_on": "2024-06-30", "status": "completed"}
                ])
            }),
            // Dropped: not reached.
            case(
                |v| v["services"] = json!([{"type": "vocational_training", "started_on": "2026-01-10", "status": "dropped"}]),
            ),
            // Not a survivor (or not assessed): not counted.
            case(|v| v["survivor_status"] = json!("at_risk")),
            // Starts after the period: not yet.
            case(
                |v| v["services"] = json!([{"type": "vocational_training", "started_on": "2026-10-01", "status": "active"}]),
            ),
        ]);
        assert_eq!(
            rows(&out, "reach"),
            vec![
                (labels(&["education_support", "reached"]), 1),
                (labels(&["family_livelihood", "reached"]), 1)
            ]
        );
    }

    #[test]
    fn a_service_overlaps_when_it_starts_by_the_end_and_ends_after_the_start() {
        let with = |service: Value| quarterly(&[case(|v| v["services"] = json!([service]))]);
        let counted = |out: &ReportOutput| rows(out, "participants").len();
        assert_eq!(
            counted(&with(
                json!({"type": "education_support", "started_on": "2026-09-30", "status": "active"})
            )),
            1
        );
        assert_eq!(
            counted(&with(
                json!({"type": "education_support", "started_on": "2026-10-01", "status": "active"})
            )),
            0
        );
        assert_eq!(
            counted(&with(
                json!({"type": "education_support", "started_on": "2026-01-01", "ended_on": "2026-07-01", "status": "completed"})
            )),
            1
        );
        assert_eq!(
            counted(&with(
                json!({"type": "education_support", "started_on": "2026-01-01", "ended_on": "2026-06-30", "status": "completed"})
            )),
            0
        );
        assert_eq!(
            counted(&with(
                json!({"type": "education_support", "started_on": "2026-08-01", "status": "dropped"})
            )),
            0
        );
    }

    #[test]
    fn each_track_counts_a_case_once() {
        let out = quarterly(&[case(|v| {
            v["services"] = json!([
                {"type": "education_support", "started_on": "2026-07-01", "status": "active"},
                {"type": "education_support", "started_on": "2026-08-01", "status": "active"},
                {"type": "family_livelihood", "started_on": "2026-08-01", "status": "active"}
            ])
        })]);
        let participants = rows(&out, "participants");
        assert_eq!(participants.len(), 2);
        assert!(participants.iter().all(|(_, n)| *n == 1));
    }

    #[test]
    fn referrals_count_once_per_category_within_the_period() {
        let out = quarterly(&[case(|_| {})]);
        assert_eq!(
            rows(&out, "ps-5-1-29-referred"),
            vec![(labels(&["health", "female"]), 1)]
        );
        let at_risk = quarterly(&[case(|v| v["survivor_status"] = json!("at_risk"))]);
        assert!(rows(&at_risk, "ps-5-1-29-referred").is_empty());
    }

    #[test]
    fn school_retention_splits_by_enrolment() {
        let out = quarterly(&[
            case(|_| {}),
            case(|v| v["education"]["enrolled"] = json!(false)),
            case(|v| {
                v.as_object_mut().unwrap().remove("education");
            }),
        ]);
        let retention = rows(&out, "school-retention");
        let keys: Vec<&str> = retention.iter().map(|(k, _)| k[0].as_str()).collect();
        assert_eq!(keys, ["enrolled", "not_enrolled", "unknown"]);
    }

    #[test]
    fn new_survivors_are_those_registered_in_the_quarter() {
        let out = quarterly(&[
            case(|_| {}),
            case(|v| v["registered_on"] = json!("2026-06-30")),
        ]);
        assert_eq!(
            rows(&out, "new-survivors"),
            vec![(labels(&["female", "9-15", "kilifi"]), 1)]
        );
    }

    #[test]
    fn new_survivors_are_counted_by_who_identified_them() {
        let out = quarterly(&[
            case(|v| v["identified_by"] = json!("school")),
            case(|_| {}),
            case(|v| {
                v["identified_by"] = json!("school");
                v["survivor_status"] = json!("at_risk");
            }),
            case(|v| {
                v["identified_by"] = json!("helpline");
                v.as_object_mut().unwrap().remove("survivor_status");
            }),
        ]);
        assert_eq!(
            rows(&out, "identified-by"),
            vec![
                (labels(&["school", "kilifi"]), 1),
                (labels(&["unknown", "kilifi"]), 1)
            ]
        );
    }

    #[test]
    fn a_status_not_assessed_is_unknown_in_the_caseload_never_a_survivor() {
        let mut summary =
            CaseloadSummary::new(kinga_plugin_sdk::date::parse_date("2026-07-15").unwrap());
        summary
            .add(&case(|v| {
                v.as_object_mut().unwrap().remove("survivor_status");
            }))
            .unwrap();
        let out = summary.finish().unwrap();
        assert_eq!(
            rows(&out, "open-cases"),
            vec![(labels(&["kilifi", "unknown", "female"]), 1)]
        );
        let out = quarterly(&[case(|v| {
            v.as_object_mut().unwrap().remove("survivor_status");
        })]);
        assert!(rows(&out, "new-survivors").is_empty());
        assert!(rows(&out, "ps-5-1-29-referred").is_empty());
    }

    #[test]
    fn caseload_counts_open_cases_registered_by_the_date() {
        let mut summary =
            CaseloadSummary::new(kinga_plugin_sdk::date::parse_date("2026-07-15").unwrap());
        summary.add(&case(|_| {})).unwrap();
        summary
            .add(&case(|v| v["registered_on"] = json!("2026-07-16")))
            .unwrap();
        summary
            .add(&case(|v| v["status"] = json!("closed")))
            .unwrap();
        let out = summary.finish().unwrap();
        assert_eq!(
            rows(&out, "open-cases"),
            vec![(labels(&["kilifi", "survivor", "female"]), 1)]
        );
    }
}
