//! The four tracks, as plain functions over the typed case, each declared
//! once in [`RULES`].
//!
//! Each track is a list of conditions combined with three-valued logic
//! ([`kinga_plugin_sdk::logic::decide`]): ineligible as soon as one is known
//! to fail, undetermined (naming the missing fields) when none fails but one
//! cannot be decided, eligible when all hold.
//!
//! The child's age is computed once per case, before any track (so a date
//! of birth after the as-of refuses the case whichever tracks are on), and
//! every track receives it: the tracks are [`Track`]s, rules over the case,
//! the age and the settings, run by [`evaluate`].

use kinga_plugin_sdk::age::{Age, AgeSource, DATE_OF_BIRTH, age_at};
use kinga_plugin_sdk::logic::{Check, decide};
use kinga_plugin_sdk::rule::enabled;
use kinga_plugin_sdk::{
    Caregiver, Case, CaseStatus, Context, Decision, PluginError, ReasonText, Rule, SurvivorStatus,
};

use crate::settings::Settings;

/// Track ids, which are also the rule ids.
pub const EDUCATION: &str = "education-support";
/// Vocational training track.
pub const VOCATIONAL: &str = "vocational-training";
/// Family livelihood track.
pub const LIVELIHOOD: &str = "family-livelihood";
/// Child Rights Club track.
pub const CLUB: &str = "child-rights-club";

/// What every track needs: the case is open and in a served county.
fn common(track: &str, case: &Case, settings: &Settings) -> Vec<Check> {
    let open = match case.status {
        Some(CaseStatus::Open) => Check::holds(track, "case-open"),
        Some(CaseStatus::Closed) => Check::fails(track, "case-closed"),
        None => Check::unknown(track, "status-unknown", "/status"),
    };
    let county = case.child.as_ref().and_then(|c| c.county.as_deref());
    let area = match county {
        Some(county) if settings.counties.iter().any(|c| c == county) => {
            Check::holds(track, "in-area")
        }
        Some(_) => Check::fails(track, "out-of-area"),
        None => Check::unknown(track, "county-unknown", "/child/county"),
    };
    vec![open, area]
}

/// The child is an identified survivor.
fn survivor(track: &str, case: &Case) -> Check {
    match case.survivor_status {
        Some(SurvivorStatus::Survivor) => Check::holds(track, "survivor"),
        Some(_) => Check::fails(track, "not-a-survivor"),
        None => Check::unknown(track, "survivor-status-unknown", "/survivor_status"),
    }
}

/// The child's age lies in `min..=max` (plus a note when it is estimated).
fn age_between(track: &str, age: Option<Age>, min: u32, max: u32) -> Vec<Check> {
    let Some(age) = age else {
        return vec![Check::unknown(track, "age-unknown", DATE_OF_BIRTH)];
    };
    let mut checks = vec![if age.within(min, max) {
        Check::holds(track, "age-in-range")
    } else {
        Check::fails(track, "age-out-of-range")
    }];
    if age.source == AgeSource::Estimate {
        checks.push(Check::holds(track, "age-estimated"));
    }
    checks
}

/// Education support: survivors aged 9-15.
pub fn education_support(case: &Case, age: Option<Age>, s: &Settings) -> Decision {
    let mut checks = common(EDUCATION, case, s);
    checks.push(survivor(EDUCATION, case));
    checks.extend(age_between(
        EDUCATION,
        age,
        s.education_min_age,
        s.education_max_age,
    ));
    decide(EDUCATION, checks)
}

/// Vocational training: survivors aged 16-18.
pub fn vocational_training(case: &Case, age: Option<Age>, s: &Settings) -> Decision {
    let mut checks = common(VOCATIONAL, case, s);
    checks.push(survivor(VOCATIONAL, case));
    checks.extend(age_between(
        VOCATIONAL,
        age,
        s.vocational_min_age,
        s.vocational_max_age,
    ));
    decide(VOCATIONAL, checks)
}

/// Family livelihood: survivors whose household is child-headed or earns
/// under the threshold; eligible decisions carry a priority.
pub fn family_livelihood(case: &Case, s: &Settings) -> Decision {
    let mut checks = common(LIVELIHOOD, case, s);
    checks.push(survivor(LIVELIHOOD, case));
    let threshold = s.income_threshold_kes;
    checks.push(match &case.household {
        None => Check::unknown(LIVELIHOOD, "household-unknown", "/household"),
        Some(h) if h.caregiver == Some(Caregiver::ChildHeaded) => {
            Check::holds(LIVELIHOOD, "child-headed-household")
        }
        Some(h) => match h.monthly_income_kes {
            None => Check::unknown(
                LIVELIHOOD,
                "income-unknown",
                "/household/monthly_income_kes",
            ),
            Some(income) if income < threshold => {
                Check::holds(LIVELIHOOD, "income-below-threshold")
            }
            Some(_) => Check::fails(LIVELIHOOD, "income-at-or-above-threshold"),
        },
    });
    let mut decision = decide(LIVELIHOOD, checks);
    if decision.status == kinga_plugin_sdk::Status::Eligible {
        decision.priority = Some(livelihood_priority(case, threshold));
    }
    decision
}

/// The highest family-livelihood priority: every point of
/// [`livelihood_priority`] at once.
pub const MAX_LIVELIHOOD_PRIORITY: i32 = 3 + 2 + 1 + 1 + 1;

/// The family-livelihood priority (the programme supports the 50 highest):
/// +3 child-headed, +2 income below half the threshold, +1 income below the
/// threshold (so +3 in all below half), +1 five or more dependents, +1
/// caregiver a grandparent or nobody.
pub fn livelihood_priority(case: &Case, threshold: u64) -> i32 {
    let Some(h) = &case.household else { return 0 };
    let mut priority = 0;
    if h.caregiver == Some(Caregiver::ChildHeaded) {
        priority += 3;
    }
    if let Some(income) = h.monthly_income_kes {
        if income.saturating_mul(2) < threshold {
            priority += 2;
        }
        if income < threshold {
            priority += 1;
        }
    }
    if h.dependents.is_some_and(|d| d >= 5) {
        priority += 1;
    }
    if matches!(h.caregiver, Some(Caregiver::Grandparent | Caregiver::None)) {
        priority += 1;
    }
    priority
}

/// Child Rights Club: any child aged 9-17 enrolled in a school that runs one.
pub fn child_rights_club(case: &Case, age: Option<Age>, s: &Settings) -> Decision {
    let mut checks = common(CLUB, case, s);
    checks.extend(age_between(
        CLUB,
        age,
        s.child_rights_club_min_age,
        s.child_rights_club_max_age,
    ));
    match &case.education {
        None => checks.push(Check::unknown(CLUB, "education-unknown", "/education")),
        Some(e) => {
            checks.push(match e.enrolled {
                Some(true) => Check::holds(CLUB, "enrolled"),
                Some(false) => Check::fails(CLUB, "not-enrolled"),
                None => Check::unknown(CLUB, "enrolment-unknown", "/education/enrolled"),
            });
            checks.push(match e.school_has_child_rights_club {
                Some(true) => Check::holds(CLUB, "school-has-club"),
                Some(false) => Check::fails(CLUB, "no-club-at-school"),
                None => Check::unknown(
                    CLUB,
                    "club-unknown",
                    "/education/school_has_child_rights_club",
                ),
            });
        }
    }
    decide(CLUB, checks)
}

/// A track: its decision from the case, the child's age at the as-of date
/// (computed once by [`evaluate`]) and the settings.
pub type Track = Rule<fn(&Case, Option<Age>, &Settings) -> Decision>;

/// The fields the age is computed from, for every track.
pub const AGE_FIELDS: &[&str] = kinga_plugin_sdk::age::AGE_FIELDS;

/// The reasons every track gives: an open case in a served county.
const COMMON_REASONS: &[ReasonText] = &[
    ("case-open", "the case is open"),
    ("case-closed", "the case is closed"),
    ("status-unknown", "the case status is not recorded"),
    (
        "in-area",
        "the child lives in a county the programme serves",
    ),
    (
        "out-of-area",
        "the child lives outside the counties the programme serves",
    ),
    ("county-unknown", "the child's county is not recorded"),
];

/// The reasons of the tracks for identified survivors.
const SURVIVOR_REASONS: &[ReasonText] = &[
    ("survivor", "the child is an identified survivor"),
    ("not-a-survivor", "the track is for identified survivors"),
    ("survivor-status-unknown", "survivor status is not recorded"),
];

/// The reasons of an age check, whatever its range.
const AGE_REASONS: &[ReasonText] = &[
    (
        "age-unknown",
        "neither a date of birth nor an age estimate is recorded",
    ),
    (
        "age-estimated",
        "the age is an estimate: no date of birth is recorded",
    ),
];

/// The four tracks, in the order they are decided and described.
pub const RULES: [Track; 4] = [
    Track::new(
        EDUCATION,
        "Education support",
        "Identified survivors aged 9-15 (settings education_min_age, education_max_age): return to or stay in school.",
        education_support,
    )
    .gives(&[
        COMMON_REASONS,
        SURVIVOR_REASONS,
        AGE_REASONS,
        &[
            ("age-in-range", "the child's age is within {/education_min_age}-{/education_max_age}"),
            ("age-out-of-range", "the child's age is outside {/education_min_age}-{/education_max_age}"),
        ],
    ])
    .reads(&[
        "/status",
        "/child/county",
        "/survivor_status",
        "/child/date_of_birth",
        "/child/age_estimate_years",
        "/child/age_estimated_on",
    ]),
    Track::new(
        VOCATIONAL,
        "Vocational training",
        "Identified survivors aged 16-18 (settings vocational_min_age, vocational_max_age): coaching, mentoring, training, internships.",
        vocational_training,
    )
    .gives(&[
        COMMON_REASONS,
        SURVIVOR_REASONS,
        AGE_REASONS,
        &[
            ("age-in-range", "the child's age is within {/vocational_min_age}-{/vocational_max_age}"),
            ("age-out-of-range", "the child's age is outside {/vocational_min_age}-{/vocational_max_age}"),
        ],
    ])
    .reads(&[
        "/status",
        "/child/county",
        "/survivor_status",
        "/child/date_of_birth",
        "/child/age_estimate_years",
        "/child/age_estimated_on",
    ]),
    Track::new(
        LIVELIHOOD,
        "Family livelihood",
        "Survivors whose household is child-headed or earns under income_threshold_kes a month; ranked by a priority score.",
        |case, _age, s| family_livelihood(case, s),
    )
    .gives(&[
        COMMON_REASONS,
        SURVIVOR_REASONS,
        &[
            ("household-unknown", "no household is recorded"),
            ("child-headed-household", "the household is headed by a child"),
            ("income-unknown", "the household's monthly income is not recorded"),
            ("income-below-threshold", "monthly household income is below KES {/income_threshold_kes}"),
            ("income-at-or-above-threshold", "monthly household income is KES {/income_threshold_kes} or more"),
        ],
    ])
    .ranks(0, MAX_LIVELIHOOD_PRIORITY)
    .reads(&["/status", "/child/county", "/survivor_status", "/household"]),
    Track::new(
        CLUB,
        "Child Rights Club",
        "Any child aged 9-17 enrolled in a school that runs a Child Rights Club.",
        child_rights_club,
    )
    .gives(&[
        COMMON_REASONS,
        AGE_REASONS,
        &[
            ("age-in-range", "the child's age is within {/child_rights_club_min_age}-{/child_rights_club_max_age}"),
            ("age-out-of-range", "the child's age is outside {/child_rights_club_min_age}-{/child_rights_club_max_age}"),
            ("education-unknown", "no schooling is recorded"),
            ("enrolled", "the child is enrolled in school"),
            ("not-enrolled", "the child is not enrolled in school"),
            ("enrolment-unknown", "enrolment is not recorded"),
            ("school-has-club", "the school runs a Child Rights Club"),
            ("no-club-at-school", "the school does not run a Child Rights Club"),
            ("club-unknown", "whether the school runs a Child Rights Club is not recorded"),
        ],
    ])
    .reads(&[
        "/status",
        "/child/county",
        "/child/date_of_birth",
        "/child/age_estimate_years",
        "/child/age_estimated_on",
        "/education",
    ]),
];

/// Every enabled track, in the order of [`RULES`].
///
/// # Errors
/// `invalid-case` when the child is born after the as-of date.
pub fn evaluate(ctx: &Context<Settings>, case: &Case) -> Result<Vec<Decision>, PluginError> {
    let age = age_at(case, ctx.as_of_date_at(ctx.settings.offset()))?;
    Ok(enabled(&RULES, ctx)
        .map(|track| (track.run)(case, age, &ctx.settings))
        .collect())
}

#[cfg(test)]
mod tests {
    use kinga_plugin_sdk::Status;
    use kinga_plugin_sdk::date::parse_datetime;
    use kinga_plugin_sdk::serde_json::{Value, json};

    use super::*;

    fn case(edit: impl FnOnce(&mut Value)) -> Case {
        let mut value = json!({
            "case_id": "U-1",
            "status": "open",
            "child": {"date_of_birth": "2012-07-01", "county": "kilifi"},
            "survivor_status": "survivor",
            "household": {"caregiver": "parent", "monthly_income_kes": 12000},
            "education": {"enrolled": true, "school_has_child_rights_club": true}
        });
        edit(&mut value);
        Case::from_json(&value.to_string()).unwrap()
    }

    fn ctx(as_of: &str) -> Context<Settings> {
        let all = RULES.map(|r| r.id);
        Context::new(parse_datetime(as_of).unwrap(), &all, Settings::default())
    }

    fn status(track: &str, case: &Case, as_of: &str) -> Decision {
        evaluate(&ctx(as_of), case)
            .unwrap()
            .into_iter()
            .find(|d| d.track == track)
            .unwrap()
    }

    #[test]
    fn education_starts_on_the_9th_birthday_and_ends_the_day_before_the_16th() {
        let c = case(|v| v["child"]["date_of_birth"] = json!("2017-07-01"));
        assert_eq!(
            status(EDUCATION, &c, "2026-06-30T23:59:59+03:00").status,
            Status::Ineligible
        );
        assert_eq!(
            status(EDUCATION, &c, "2026-07-01T00:00:00+03:00").status,
            Status::Eligible
        );
        let c = case(|v| v["child"]["date_of_birth"] = json!("2010-07-01"));
        assert_eq!(
            status(EDUCATION, &c, "2026-06-30T12:00:00+03:00").status,
            Status::Eligible
        );
        assert_eq!(
            status(EDUCATION, &c, "2026-07-01T12:00:00+03:00").status,
            Status::Ineligible
        );
    }

    #[test]
    fn the_as_of_date_is_taken_in_the_programme_offset() {
        let c = case(|v| v["child"]["date_of_birth"] = json!("2017-07-01"));
        // 2026-06-30T22:00Z is already 1 July in Kenya: one instant, one
        // answer, whatever offset it is written in.
        for instant in ["2026-07-01T01:00:00+03:00", "2026-06-30T22:00:00+00:00"] {
            assert_eq!(status(EDUCATION, &c, instant).status, Status::Eligible);
        }
        // At a programme offset of +00:00 that instant is still 30 June.
        let mut utc = ctx("2026-07-01T01:00:00+03:00");
        utc.settings.utc_offset = "+00:00".into();
        let decisions = evaluate(&utc, &c).unwrap();
        let education = decisions.iter().find(|d| d.track == EDUCATION).unwrap();
        assert_eq!(education.status, Status::Ineligible);
    }

    #[test]
    fn vocational_is_16_to_18() {
        let c = case(|v| v["child"]["date_of_birth"] = json!("2010-07-01"));
        assert_eq!(
            status(VOCATIONAL, &c, "2026-06-30T12:00:00+03:00").status,
            Status::Ineligible
        );
        assert_eq!(
            status(VOCATIONAL, &c, "2026-07-01T12:00:00+03:00").status,
            Status::Eligible
        );
        let c = case(|v| v["child"]["date_of_birth"] = json!("2007-07-01"));
        assert_eq!(
            status(VOCATIONAL, &c, "2026-06-30T12:00:00+03:00").status,
            Status::Eligible
        );
        assert_eq!(
            status(VOCATIONAL, &c, "2026-07-01T12:00:00+03:00").status,
            Status::Ineligible
        );
    }

    #[test]
    fn no_age_is_undetermined_and_an_estimate_is_used_and_said() {
        let c = case(|v| v["child"] = json!({"county": "kwale"}));
        let d = status(EDUCATION, &c, "2026-07-01T12:00:00+03:00");
        assert_eq!(d.status, Status::Undetermined);
        assert_eq!(d.missing, [DATE_OF_BIRTH]);
        let c = case(|v| v["child"] = json!({"county": "kwale", "age_estimate_years": 12}));
        let d = status(EDUCATION, &c, "2026-07-01T12:00:00+03:00");
        assert_eq!(d.status, Status::Eligible);
        assert!(d.reasons.iter().any(|r| r.code == "age-estimated"));
    }

    #[test]
    fn closed_cases_and_children_outside_the_counties_are_ineligible_even_with_missing_data() {
        let c = case(|v| {
            v["status"] = json!("closed");
            v["child"] = json!({"county": "kwale"});
        });
        let d = status(EDUCATION, &c, "2026-07-01T12:00:00+03:00");
        assert_eq!(d.status, Status::Ineligible);
        assert_eq!(d.reasons[0].code, "case-closed");
        let c = case(|v| v["child"]["county"] = json!("mombasa"));
        assert_eq!(
            status(CLUB, &c, "2026-07-01T12:00:00+03:00").reasons[0].code,
            "out-of-area"
        );
    }

    #[test]
    fn livelihood_income_equal_to_the_threshold_is_not_below_it() {
        let at = "2026-07-01T12:00:00+03:00";
        let c = case(|v| v["household"]["monthly_income_kes"] = json!(10_000));
        assert_eq!(status(LIVELIHOOD, &c, at).status, Status::Ineligible);
        let c = case(|v| v["household"]["monthly_income_kes"] = json!(9_999));
        let d = status(LIVELIHOOD, &c, at);
        assert_eq!(d.status, Status::Eligible);
        assert_eq!(d.priority, Some(1));
    }

    #[test]
    fn livelihood_missing_household_or_income_is_undetermined() {
        let at = "2026-07-01T12:00:00+03:00";
        let c = case(|v| {
            v.as_object_mut().unwrap().remove("household");
        });
        assert_eq!(status(LIVELIHOOD, &c, at).missing, ["/household"]);
        let c = case(|v| v["household"] = json!({"caregiver": "relative"}));
        assert_eq!(
            status(LIVELIHOOD, &c, at).missing,
            ["/household/monthly_income_kes"]
        );
        let c = case(|v| v["household"] = json!({"caregiver": "child_headed"}));
        let d = status(LIVELIHOOD, &c, at);
        assert_eq!((d.status, d.priority), (Status::Eligible, Some(3)));
    }

    #[test]
    fn livelihood_priority_adds_up() {
        let c = case(|v| {
            v["household"] =
                json!({"caregiver": "grandparent", "monthly_income_kes": 4_999, "dependents": 5})
        });
        assert_eq!(livelihood_priority(&c, 10_000), 2 + 1 + 1 + 1);
        let c = case(|v| {
            v["household"] =
                json!({"caregiver": "none", "monthly_income_kes": 5_000, "dependents": 4})
        });
        assert_eq!(livelihood_priority(&c, 10_000), 1 + 1);
    }

    #[test]
    fn child_rights_club_needs_enrolment_and_a_club() {
        let at = "2026-07-01T12:00:00+03:00";
        let c = case(|v| v["survivor_status"] = json!("at_risk"));
        assert_eq!(status(CLUB, &c, at).status, Status::Eligible);
        let c = case(|v| v["education"] = json!({"enrolled": true}));
        assert_eq!(
            status(CLUB, &c, at).missing,
            ["/education/school_has_child_rights_club"]
        );
        let c = case(|v| {
            v.as_object_mut().unwrap().remove("education");
        });
        assert_eq!(status(CLUB, &c, at).missing, ["/education"]);
        let c = case(|v| v["education"]["enrolled"] = json!(false));
        assert_eq!(status(CLUB, &c, at).reasons[0].code, "not-enrolled");
        let c = case(|v| v["child"]["date_of_birth"] = json!("2008-07-01"));
        assert_eq!(
            status(CLUB, &c, "2026-06-30T12:00:00+03:00").status,
            Status::Eligible
        );
        assert_eq!(
            status(CLUB, &c, "2026-07-01T12:00:00+03:00").status,
            Status::Ineligible
        );
    }

    #[test]
    fn every_reason_given_is_declared_by_its_track() {
        let info =
            <crate::BuildingAFutureEligibility as kinga_plugin_sdk::EligibilityPlugin>::describe();
        let at = "2026-07-01T12:00:00+03:00";
        let variants: [fn(&mut Value); 8] = [
            |_| {},
            |v| v["status"] = json!("closed"),
            |v| v["child"] = json!({"county": "mombasa", "age_estimate_years": 17}),
            |v| {
                v.as_object_mut().unwrap().remove("household");
                v.as_object_mut().unwrap().remove("education");
            },
            |v| v["household"] = json!({"caregiver": "child_headed"}),
            |v| v["household"] = json!({"caregiver": "relative", "monthly_income_kes": 500}),
            |v| v["education"] = json!({"enrolled": false, "school_has_child_rights_club": false}),
            |v| {
                v.as_object_mut().unwrap().remove("status");
                v.as_object_mut().unwrap().remove("survivor_status");
                v["child"] = json!({});
                v["education"] = json!({});
            },
        ];
        for edit in variants {
            for d in evaluate(&ctx(at), &case(edit)).unwrap() {
                for r in &d.reasons {
                    assert!(
                        info.declares_reason(&r.rule, &r.code),
                        "{} {}",
                        r.rule,
                        r.code
                    );
                }
                if let Some(p) = d.priority {
                    assert!((0..=MAX_LIVELIHOOD_PRIORITY).contains(&p));
                }
            }
        }
    }

    #[test]
    fn a_switched_off_track_has_no_decision() {
        let mut context = ctx("2026-07-01T12:00:00+03:00");
        context.enabled_rules.remove(EDUCATION);
        let tracks: Vec<String> = evaluate(&context, &case(|_| {}))
            .unwrap()
            .into_iter()
            .map(|d| d.track)
            .collect();
        assert_eq!(tracks, [VOCATIONAL, LIVELIHOOD, CLUB]);
    }
}
