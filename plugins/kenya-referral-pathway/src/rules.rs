//! The ten rules of the Kenyan referral pathway, as plain functions, each
//! declared once in [`RULES`].
//!
//! Every rule looks at the most recent *sexual incident* (sexual abuse,
//! sexual exploitation or trafficking); hours since it are the exact
//! difference between the as-of and `occurred_at` (for a date-only
//! incident, the end of its day: see below). Several sexual incidents
//! at that same instant are one event recorded several ways: a condition on
//! the incident holds when it holds for any of them, so the answer never
//! depends on the order the platform lists incidents in. A rule fires only when
//! every condition is known to hold: a condition that cannot be decided
//! routes nothing (and is logged by rule id, never with case data); so a
//! case whose survivor status is not assessed yet fires no rule whose only
//! trigger is "survivor".
//!
//! An incident recorded by its day only (`occurred_on` D, case 1.1)
//! happened at an unknown moment of D at the programme's offset. Whether a
//! window is still open, how old the incident is and which incident is the
//! most recent are decided at the latest moment it can have happened (the
//! midnight ending D), so that no window closes too early; when a window
//! closes is taken from the earliest (the midnight starting D), so that no
//! deadline is set too late, and never before the as-of: a window that may
//! already have closed is due at the as-of, with the reason
//! `window-may-have-closed`.
//!
//! [`route`] makes a whole-case pass first: it checks the case's dates and
//! gathers the [`Facts`] every rule shares, then runs the rules switched on
//! and gives each referral its provider and consent reasons.

use kinga_plugin_sdk::age::{Age, age_at};
use kinga_plugin_sdk::rule::enabled;
use kinga_plugin_sdk::time::{Duration, OffsetDateTime};
use kinga_plugin_sdk::{
    Case, ConsentStatus, Context, ErrorKind, ErrorText, Incident, PluginError, Provider, Reason,
    ReasonText, Referral, Rule, Sex, SurvivorStatus, Urgency, log,
};

use crate::settings::{ProviderEntry, Settings};

/// Rule ids.
pub const POST_RAPE_CARE: &str = "post-rape-care";
/// Emergency contraception.
pub const EMERGENCY_CONTRACEPTION: &str = "emergency-contraception";
/// Medical examination after the PEP window.
pub const MEDICAL_EXAMINATION: &str = "medical-examination";
/// Statutory notification.
pub const CHILDRENS_OFFICER: &str = "childrens-officer";
/// Police gender desk.
pub const POLICE: &str = "police";
/// Safe shelter.
pub const SAFE_SHELTER: &str = "safe-shelter";
/// Psychosocial support.
pub const PSYCHOSOCIAL: &str = "psychosocial";
/// Legal aid.
pub const LEGAL_AID: &str = "legal-aid";
/// Education re-entry.
pub const EDUCATION_REENTRY: &str = "education-reentry";
/// Vocational training.
pub const VOCATIONAL: &str = "vocational";

/// The case fields [`route`] reads for every rule, outside the rules' own:
/// the incidents and the age ([`Facts::gather`]), and the child's area (the
/// provider of each referral).
pub const WHOLE_CASE_FIELDS: &[&str] = &[
    "/incidents",
    "/child/date_of_birth",
    "/child/age_estimate_years",
    "/child/age_estimated_on",
    "/child/county",
    "/child/sub_county",
];

/// What the rules know about a case at the as-of.
pub struct Facts<'a> {
    /// The case.
    pub case: &'a Case,
    /// The as-of.
    pub as_of: OffsetDateTime,
    /// The most recent sexual incident (of several at that instant, any).
    pub incident: Option<&'a Incident>,
    /// Every sexual incident at that instant.
    pub latest: Vec<&'a Incident>,
    /// Time since the latest moment it can have happened (negative for an
    /// incident recorded by the as-of's own day).
    pub since: Option<Duration>,
    /// The earliest moment any of those incidents can have happened: a
    /// window's end is taken from it.
    pub earliest: Option<OffsetDateTime>,
    /// The child's age at the as-of date.
    pub age: Option<Age>,
}

impl<'a> Facts<'a> {
    /// Gathers the facts.
    ///
    /// `as_of` is at the programme's offset, which also places the days of
    /// date-only incidents.
    ///
    /// # Errors
    /// `invalid-case` for an incident after the as-of (an instant after it,
    /// or a day after its date), or a birth or an estimate after it.
    pub fn gather(case: &'a Case, as_of: OffsetDateTime) -> Result<Facts<'a>, PluginError> {
        if let Some(pointer) = case.incident_after(as_of) {
            return Err(PluginError::invalid_case(
                "incident-after-as-of",
                Some(&pointer),
            ));
        }
        let event = case.latest_event(as_of.offset(), |i| i.kind.is_sexual());
        let latest: Vec<&Incident> = event
            .iter()
            .flat_map(|e| e.incidents.iter().map(|(_, i)| *i))
            .collect();
        Ok(Facts {
            case,
            as_of,
            incident: latest.first().copied(),
            since: event.as_ref().map(|e| as_of - e.latest),
            earliest: event.as_ref().map(|e| e.earliest),
            latest,
            age: age_at(case, as_of.date())?,
        })
    }

    /// Whether `holds` holds for the most recent sexual incident: for any
    /// of the incidents recorded at that instant.
    fn incident_where(&self, holds: impl Fn(&Incident) -> bool) -> bool {
        self.latest.iter().any(|i| holds(i))
    }

    /// Whether the most recent sexual incident is at most `hours` old.
    fn within(&self, hours: u32) -> Option<bool> {
        self.since
            .map(|since| since <= Duration::hours(i64::from(hours)))
    }

    fn is_survivor(&self) -> bool {
        self.case.survivor_status == Some(SurvivorStatus::Survivor)
    }

    fn sharing_consent(&self) -> ConsentStatus {
        match self
            .case
            .consent
            .as_ref()
            .and_then(|c| c.information_sharing)
        {
            Some(true) => ConsentStatus::Given,
            _ => ConsentStatus::Required,
        }
    }

    /// The as-of plus `duration`; `None` past the last representable date
    /// (never a panic: [`route`] refuses the case instead).
    fn due_in(&self, duration: Duration) -> Option<OffsetDateTime> {
        self.as_of.checked_add(duration)
    }

    /// When the window of `hours` after the most recent sexual incident
    /// closes: `hours` after the earliest moment it can have happened, at
    /// the as-of's offset, and never before the as-of. The note says when
    /// the window may already have closed (a date-only incident). The due
    /// time is `None` when not representable.
    fn window_end(&self, rule: &str, hours: u32) -> (Option<OffsetDateTime>, Option<Reason>) {
        let Some(earliest) = self.earliest else {
            return (None, None);
        };
        let end = earliest
            .checked_add(Duration::hours(i64::from(hours)))
            .and_then(|end| end.checked_to_offset(self.as_of.offset()));
        match end {
            Some(end) if end < self.as_of => (
                Some(self.as_of),
                Some(Reason::new(rule, "window-may-have-closed")),
            ),
            end => (end, None),
        }
    }
}

/// A referral under construction: the parts every rule fills in; [`route`]
/// adds the provider and the reasons about it and about consent.
pub struct Draft<'r> {
    rule: &'r str,
    service: &'r str,
    urgency: Urgency,
    /// `None` when the due time is past the last representable date.
    due: Option<OffsetDateTime>,
    consent: ConsentStatus,
    reason: Reason,
    /// A second reason of the rule's own, when it has one.
    note: Option<Reason>,
}

fn undecidable(rule: &str, what: &str) -> Option<Draft<'static>> {
    log::debug(&format!("rule {rule}: not routed, {what} is not recorded"));
    None
}

/// `post-rape-care`: a sexual incident at most `pep_window_hours` old.
fn post_rape_care(f: &Facts, s: &Settings) -> Option<Draft<'static>> {
    f.incident?;
    if !f.within(s.pep_window_hours)? {
        return None;
    }
    let (due, note) = f.window_end(POST_RAPE_CARE, s.pep_window_hours);
    Some(Draft {
        rule: POST_RAPE_CARE,
        service: "health.post-rape-care",
        urgency: Urgency::Emergency,
        due,
        consent: ConsentStatus::NotRequired,
        reason: Reason::new(POST_RAPE_CARE, "within-pep-window"),
        note,
    })
}

/// `emergency-contraception`: a girl of at least `ec_min_age`, a sexual
/// incident at most `ec_window_hours` old.
fn emergency_contraception(f: &Facts, s: &Settings) -> Option<Draft<'static>> {
    f.incident?;
    if !f.within(s.ec_window_hours)? {
        return None;
    }
    match f.case.child.as_ref().and_then(|c| c.sex) {
        Some(Sex::Female) => {}
        Some(Sex::Male) => return None,
        _ => return undecidable(EMERGENCY_CONTRACEPTION, "the child's sex"),
    }
    let Some(age) = f.age else {
        return undecidable(EMERGENCY_CONTRACEPTION, "the child's age");
    };
    if age.years < s.ec_min_age {
        return None;
    }
    let (due, note) = f.window_end(EMERGENCY_CONTRACEPTION, s.ec_window_hours);
    Some(Draft {
        rule: EMERGENCY_CONTRACEPTION,
        service: "health.emergency-contraception",
        urgency: Urgency::Emergency,
        due,
        consent: ConsentStatus::NotRequired,
        reason: Reason::new(EMERGENCY_CONTRACEPTION, "within-ec-window"),
        note,
    })
}

/// `medical-examination`: a sexual incident older than the PEP window for
/// which no health care is recorded.
fn medical_examination(f: &Facts, s: &Settings) -> Option<Draft<'static>> {
    f.incident?;
    if f.within(s.pep_window_hours)? || !f.incident_where(|i| i.health_care_received != Some(true))
    {
        return None;
    }
    Some(Draft {
        rule: MEDICAL_EXAMINATION,
        service: "health.medical-examination",
        urgency: Urgency::Within72h,
        due: f.due_in(Duration::hours(72)),
        consent: ConsentStatus::NotRequired,
        reason: Reason::new(MEDICAL_EXAMINATION, "no-health-care-recorded"),
        note: None,
    })
}

/// Within 24 hours while the most recent sexual incident is inside the PEP
/// window, else within 72 hours.
fn statutory_urgency(f: &Facts, s: &Settings) -> (Urgency, Duration) {
    if f.within(s.pep_window_hours) == Some(true) {
        (Urgency::Within24h, Duration::hours(24))
    } else {
        (Urgency::Within72h, Duration::hours(72))
    }
}

/// `childrens-officer`: any sexual incident, an identified survivor, or any
/// protection concern. Statutory: no consent needed.
fn childrens_officer(f: &Facts, s: &Settings) -> Option<Draft<'static>> {
    let concerns = f
        .case
        .protection_concerns
        .as_ref()
        .is_some_and(|c| !c.is_empty());
    let code = if f.incident.is_some() {
        "sexual-incident"
    } else if f.is_survivor() {
        "survivor"
    } else if concerns {
        "protection-concern"
    } else {
        return None;
    };
    let (urgency, within) = statutory_urgency(f, s);
    Some(Draft {
        rule: CHILDRENS_OFFICER,
        service: "statutory.childrens-officer",
        urgency,
        due: f.due_in(within),
        consent: ConsentStatus::NotRequired,
        reason: Reason::new(CHILDRENS_OFFICER, code),
        note: None,
    })
}

/// `police`: a sexual incident not reported to the police.
fn police(f: &Facts, s: &Settings) -> Option<Draft<'static>> {
    f.incident?;
    if !f.incident_where(|i| i.reported_to_police != Some(true)) {
        return None;
    }
    let (urgency, within) = statutory_urgency(f, s);
    let consent = match f.case.consent.as_ref().and_then(|c| c.police_report) {
        Some(true) => ConsentStatus::Given,
        _ => ConsentStatus::Required,
    };
    Some(Draft {
        rule: POLICE,
        service: "police.gender-desk",
        urgency,
        due: f.due_in(within),
        consent,
        reason: Reason::new(POLICE, "not-reported"),
        note: None,
    })
}

/// `safe-shelter`: not safe at home, or the perpetrator lives in the household.
fn safe_shelter(f: &Facts, _s: &Settings) -> Option<Draft<'static>> {
    let unsafe_home = f.case.safety.as_ref().and_then(|s| s.safe_at_home) == Some(false);
    let perpetrator_home = f.incident_where(|i| i.perpetrator_in_household == Some(true));
    let code = if perpetrator_home {
        "perpetrator-in-household"
    } else if unsafe_home {
        "unsafe-at-home"
    } else {
        return None;
    };
    Some(Draft {
        rule: SAFE_SHELTER,
        service: "protection.safe-shelter",
        urgency: Urgency::Emergency,
        due: f.due_in(Duration::hours(24)),
        consent: ConsentStatus::NotRequired,
        reason: Reason::new(SAFE_SHELTER, code),
        note: None,
    })
}

/// `psychosocial`: an identified survivor or any sexual incident.
fn psychosocial(f: &Facts, _s: &Settings) -> Option<Draft<'static>> {
    (f.is_survivor() || f.incident.is_some()).then(|| Draft {
        rule: PSYCHOSOCIAL,
        service: "care.psychosocial",
        urgency: Urgency::Routine,
        due: f.due_in(Duration::days(14)),
        consent: f.sharing_consent(),
        reason: Reason::new(PSYCHOSOCIAL, "needs-psychosocial-support"),
        note: None,
    })
}

/// `legal-aid`: a sexual incident reported to the police.
fn legal_aid(f: &Facts, _s: &Settings) -> Option<Draft<'static>> {
    f.incident?;
    f.incident_where(|i| i.reported_to_police == Some(true))
        .then(|| Draft {
            rule: LEGAL_AID,
            service: "justice.legal-aid",
            urgency: Urgency::Routine,
            due: f.due_in(Duration::days(14)),
            consent: f.sharing_consent(),
            reason: Reason::new(LEGAL_AID, "reported-to-police"),
            note: None,
        })
}

/// `education-reentry`: a survivor aged 9-15 who is not enrolled.
fn education_reentry(f: &Facts, s: &Settings) -> Option<Draft<'static>> {
    if f.case.survivor_status.is_none() {
        return undecidable(EDUCATION_REENTRY, "the survivor status");
    }
    if !f.is_survivor() {
        return None;
    }
    let Some(age) = f.age else {
        return undecidable(EDUCATION_REENTRY, "the child's age");
    };
    if !age.within(s.education_min_age, s.education_max_age) {
        return None;
    }
    match f.case.education.as_ref().and_then(|e| e.enrolled) {
        Some(false) => Some(Draft {
            rule: EDUCATION_REENTRY,
            service: "programme.education-support",
            urgency: Urgency::Routine,
            due: f.due_in(Duration::days(30)),
            consent: f.sharing_consent(),
            reason: Reason::new(EDUCATION_REENTRY, "out-of-school"),
            note: None,
        }),
        Some(true) => None,
        None => undecidable(EDUCATION_REENTRY, "school enrolment"),
    }
}

/// `vocational`: a survivor aged 16-18.
fn vocational(f: &Facts, s: &Settings) -> Option<Draft<'static>> {
    if f.case.survivor_status.is_none() {
        return undecidable(VOCATIONAL, "the survivor status");
    }
    if !f.is_survivor() {
        return None;
    }
    let Some(age) = f.age else {
        return undecidable(VOCATIONAL, "the child's age");
    };
    age.within(s.vocational_min_age, s.vocational_max_age)
        .then(|| Draft {
            rule: VOCATIONAL,
            service: "programme.vocational-training",
            urgency: Urgency::Routine,
            due: f.due_in(Duration::days(30)),
            consent: f.sharing_consent(),
            reason: Reason::new(VOCATIONAL, "survivor-of-training-age"),
            note: None,
        })
}

/// The note of a window rule whose window, counted from the start of the
/// day a date-only incident is recorded on, ends before the as-of.
const WINDOW_MAY_HAVE_CLOSED: ReasonText = (
    "window-may-have-closed",
    "the incident is recorded by its day only, so the window may already have closed: act now",
);

/// The reasons [`route`] adds to a referral of any rule: about its
/// provider and its consent.
const ROUTING_REASONS: &[ReasonText] = &[
    (
        "no-provider-in-area",
        "no provider in the directory offers this service in the child's sub-county or county",
    ),
    (
        "consent-required",
        "the needed consent is not recorded: the referral waits for it",
    ),
];

/// The errors [`route`] can report besides the SDK's.
pub const ERRORS: &[ErrorText] = &[
    (
        ErrorKind::InvalidCase,
        "incident-after-as-of",
        "an incident is dated after the as-of",
    ),
    (
        ErrorKind::InvalidCase,
        "due-out-of-range",
        "a due time falls after the last date the plugin can represent",
    ),
];

/// A rule of the pathway: the referral it drafts from the facts, if it fires.
pub type PathwayRule = Rule<fn(&Facts, &Settings) -> Option<Draft<'static>>>;

/// Every rule, in the order it is documented, run and described.
pub const RULES: [PathwayRule; 10] = [
    PathwayRule::new(
        POST_RAPE_CARE,
        "Post-rape care (PEP)",
        "A sexual incident within pep_window_hours (72): emergency post-rape care, due at the end of the window.",
        post_rape_care,
    )
    .refers_to(&["health.post-rape-care"])
    .gives(&[
        &[
            ("within-pep-window", "a sexual incident happened within the last {/pep_window_hours} hours: HIV PEP must start in time"),
            WINDOW_MAY_HAVE_CLOSED,
        ],
        ROUTING_REASONS,
    ])
    .reads(&["/incidents"]),
    PathwayRule::new(
        EMERGENCY_CONTRACEPTION,
        "Emergency contraception",
        "A girl aged ec_min_age (10) or more, a sexual incident within ec_window_hours (120): emergency, due at the end of the window.",
        emergency_contraception,
    )
    .refers_to(&["health.emergency-contraception"])
    .gives(&[
        &[
            ("within-ec-window", "a sexual incident happened within the last {/ec_window_hours} hours"),
            WINDOW_MAY_HAVE_CLOSED,
        ],
        ROUTING_REASONS,
    ])
    .reads(&[
        "/incidents",
        "/child/sex",
        "/child/date_of_birth",
        "/child/age_estimate_years",
        "/child/age_estimated_on",
    ]),
    PathwayRule::new(
        MEDICAL_EXAMINATION,
        "Medical examination",
        "A sexual incident older than the PEP window with no health care recorded: within 72 hours.",
        medical_examination,
    )
    .refers_to(&["health.medical-examination"])
    .gives(&[
        &[
            ("no-health-care-recorded", "a sexual incident older than {/pep_window_hours} hours has no health care recorded"),
        ],
        ROUTING_REASONS,
    ])
    .reads(&["/incidents"]),
    PathwayRule::new(
        CHILDRENS_OFFICER,
        "Sub-County Children's Officer",
        "Any sexual incident, identified survivor or protection concern: statutory notification within 24 hours (recent incident) or 72 hours.",
        childrens_officer,
    )
    .refers_to(&["statutory.childrens-officer"])
    .gives(&[
        &[
            ("sexual-incident", "a sexual incident is recorded: the Sub-County Children's Officer must be notified"),
            ("survivor", "the child is an identified survivor: the Sub-County Children's Officer must be notified"),
            ("protection-concern", "a protection concern is recorded: the Sub-County Children's Officer must be notified"),
        ],
        ROUTING_REASONS,
    ])
    .reads(&["/incidents", "/survivor_status", "/protection_concerns"]),
    PathwayRule::new(
        POLICE,
        "Police gender desk",
        "A sexual incident not reported to the police: within 24 or 72 hours, pending police-report consent.",
        police,
    )
    .refers_to(&["police.gender-desk"])
    .gives(&[
        &[
            ("not-reported", "the sexual incident is not recorded as reported to the police"),
        ],
        ROUTING_REASONS,
    ])
    .reads(&["/incidents", "/consent"]),
    PathwayRule::new(
        SAFE_SHELTER,
        "Safe shelter",
        "Not safe at home, or the perpetrator lives in the household: emergency, within 24 hours.",
        safe_shelter,
    )
    .refers_to(&["protection.safe-shelter"])
    .gives(&[
        &[
            ("perpetrator-in-household", "the perpetrator lives in the child's household"),
            ("unsafe-at-home", "the child is recorded as not safe at home"),
        ],
        ROUTING_REASONS,
    ])
    .reads(&["/safety", "/incidents"]),
    PathwayRule::new(
        PSYCHOSOCIAL,
        "Psychosocial support",
        "An identified survivor or any sexual incident: routine, within 14 days.",
        psychosocial,
    )
    .refers_to(&["care.psychosocial"])
    .gives(&[
        &[
            ("needs-psychosocial-support", "survivors of sexual violence need counselling"),
        ],
        ROUTING_REASONS,
    ])
    .reads(&["/survivor_status", "/incidents", "/consent"]),
    PathwayRule::new(
        LEGAL_AID,
        "Legal aid",
        "A sexual incident reported to the police: routine, within 14 days.",
        legal_aid,
    )
    .refers_to(&["justice.legal-aid"])
    .gives(&[
        &[
            ("reported-to-police", "the incident was reported: the child needs legal support"),
        ],
        ROUTING_REASONS,
    ])
    .reads(&["/incidents", "/consent"]),
    PathwayRule::new(
        EDUCATION_REENTRY,
        "Education re-entry",
        "A survivor aged 9-15 not enrolled in school: routine, within 30 days.",
        education_reentry,
    )
    .refers_to(&["programme.education-support"])
    .gives(&[
        &[
            ("out-of-school", "a survivor aged {/education_min_age}-{/education_max_age} who is not enrolled in school"),
        ],
        ROUTING_REASONS,
    ])
    .reads(&[
        "/survivor_status",
        "/child/date_of_birth",
        "/child/age_estimate_years",
        "/child/age_estimated_on",
        "/education/enrolled",
        "/consent",
    ]),
    PathwayRule::new(
        VOCATIONAL,
        "Vocational training",
        "A survivor aged 16-18: routine, within 30 days.",
        vocational,
    )
    .refers_to(&["programme.vocational-training"])
    .gives(&[
        &[
            ("survivor-of-training-age", "a survivor aged {/vocational_min_age}-{/vocational_max_age}"),
        ],
        ROUTING_REASONS,
    ])
    .reads(&[
        "/survivor_status",
        "/child/date_of_birth",
        "/child/age_estimate_years",
        "/child/age_estimated_on",
        "/consent",
    ]),
];

/// The first directory entry offering `service` in the child's sub-county,
/// else the first county-wide entry (one without `sub_counties`) offering it
/// in her county. An entry that lists sub-counties serves only those.
pub fn provider_for<'p>(
    service: &str,
    case: &Case,
    providers: &'p [ProviderEntry],
) -> Option<&'p ProviderEntry> {
    let child = case.child.as_ref()?;
    let offers = |p: &&ProviderEntry| p.services.iter().any(|s| s == service);
    let in_county = |p: &&ProviderEntry| {
        child
            .county
            .as_ref()
            .is_some_and(|c| p.counties.contains(c))
    };
    let in_sub_county = |p: &&ProviderEntry| {
        child.sub_county.as_ref().is_some_and(|sc| {
            p.sub_counties
                .as_ref()
                .is_some_and(|list| list.contains(sc))
        })
    };
    providers
        .iter()
        .filter(offers)
        .find(|p| in_county(p) && in_sub_county(p))
        .or_else(|| {
            providers
                .iter()
                .filter(offers)
                .filter(|p| p.sub_counties.as_ref().is_none_or(Vec::is_empty))
                .find(in_county)
        })
}

/// Every referral the case needs, most urgent first, then by due time.
///
/// # Errors
/// `invalid-case` for an incident or a birth after the as-of, or a due time
/// past the last representable date (`due-out-of-range`).
pub fn route(ctx: &Context<Settings>, case: &Case) -> Result<Vec<Referral>, PluginError> {
    let s = &ctx.settings;
    // The as-of at the programme's offset: its date decides every age.
    let as_of = ctx.as_of.checked_to_offset(s.offset()).unwrap_or(ctx.as_of);
    let facts = Facts::gather(case, as_of)?;
    let mut out = enabled(&RULES, ctx)
        .filter_map(|rule| (rule.run)(&facts, s))
        .map(|draft| finish(draft, case, s))
        .collect::<Result<Vec<Referral>, PluginError>>()?;
    out.sort_by_key(|r| (r.urgency, r.due));
    Ok(out)
}

fn finish(draft: Draft<'_>, case: &Case, s: &Settings) -> Result<Referral, PluginError> {
    let due = draft
        .due
        .ok_or_else(|| PluginError::invalid_case("due-out-of-range", None))?;
    let mut reasons = vec![draft.reason];
    reasons.extend(draft.note);
    let provider = provider_for(draft.service, case, &s.providers).map(|p| Provider {
        id: p.id.clone(),
        name: p.name.clone(),
        contact: p.contact.clone(),
    });
    if provider.is_none() {
        reasons.push(Reason::new(draft.rule, "no-provider-in-area"));
    }
    if draft.consent == ConsentStatus::Required {
        reasons.push(Reason::new(draft.rule, "consent-required"));
    }
    Ok(Referral {
        rule: draft.rule.to_owned(),
        service: draft.service.to_owned(),
        urgency: draft.urgency,
        due,
        provider,
        consent: draft.consent,
        reasons,
    })
}

#[cfg(test)]
mod tests {
    use kinga_plugin_sdk::date::{format_datetime, parse_datetime};
    use kinga_plugin_sdk::serde_json::{Value, json};

    use super::*;

    const INCIDENT: &str = "2026-06-28T09:00:00+03:00";

    fn case(edit: impl FnOnce(&mut Value)) -> Case {
        let mut value = json!({
            "case_id": "U-1",
            "child": {"date_of_birth": "2012-07-01", "sex": "female", "county": "kwale", "sub_county": "msambweni"},
            "survivor_status": "survivor",
            "incidents": [{"occurred_at": INCIDENT, "kind": "sexual_exploitation"}],
            "consent": {"information_sharing": true}
        });
        edit(&mut value);
        Case::from_json(&value.to_string()).unwrap()
    }

    fn route_at(case: &Case, as_of: &str) -> Vec<Referral> {
        let rules = RULES.map(|r| r.id);
        route(
            &Context::new(parse_datetime(as_of).unwrap(), &rules, Settings::default()),
            case,
        )
        .unwrap()
    }

    fn fired(case: &Case, as_of: &str, rule: &str) -> Option<Referral> {
        route_at(case, as_of).into_iter().find(|r| r.rule == rule)
    }

    #[test]
    fn post_rape_care_fires_at_exactly_72_hours_and_not_one_second_later() {
        let c = case(|_| {});
        let r = fired(&c, "2026-07-01T09:00:00+03:00", POST_RAPE_CARE).expect("fires at 72 h");
        assert_eq!(format_datetime(r.due), "2026-07-01T09:00:00+03:00");
        assert_eq!(r.urgency, Urgency::Emergency);
        assert!(fired(&c, "2026-07-01T09:00:01+03:00", POST_RAPE_CARE).is_none());
        assert!(fired(&c, "2026-07-01T09:00:01+03:00", MEDICAL_EXAMINATION).is_some());
        assert!(fired(&c, "2026-07-01T09:00:00+03:00", MEDICAL_EXAMINATION).is_none());
    }

    #[test]
    fn a_due_time_past_the_last_representable_date_refuses_the_case_without_a_panic() {
        let c = case(|v| v["incidents"][0]["occurred_at"] = json!("9999-12-30T09:00:00+03:00"));
        let rules = RULES.map(|r| r.id);
        let ctx = Context::new(
            parse_datetime("9999-12-30T10:00:00+03:00").unwrap(),
            &rules,
            Settings::default(),
        );
        let refused = route(&ctx, &c).expect_err("a 30-day due time is past year 9999");
        assert_eq!(refused.code, "due-out-of-range");
    }

    #[test]
    fn every_referral_names_a_declared_service_and_declared_reasons() {
        // The rules as described (this module is also compiled into a
        // candidate plugin, so it does not name the crate's plugin type).
        let described: Vec<_> = RULES.iter().map(|r| r.info()).collect();
        let cases = [
            case(|_| {}),
            case(|v| {
                v["incidents"][0]["reported_to_police"] = json!(true);
                v["incidents"][0]["perpetrator_in_household"] = json!(true);
                v["child"]["county"] = json!("turkana");
                v["education"] = json!({"enrolled": false});
                v.as_object_mut().unwrap().remove("consent");
            }),
            case(|v| {
                v["incidents"] = json!([]);
                v["protection_concerns"] = json!(["child_labour"]);
                v["safety"] = json!({"safe_at_home": false});
                v["child"]["date_of_birth"] = json!("2009-01-01");
            }),
        ];
        for c in &cases {
            for as_of in ["2026-06-29T09:00:00+03:00", "2026-07-20T09:00:00+03:00"] {
                for r in route_at(c, as_of) {
                    let rule = described.iter().find(|x| x.id == r.rule).unwrap();
                    assert!(rule.services.contains(&r.service), "{}", r.service);
                    for reason in &r.reasons {
                        assert!(rule.gives(&reason.code), "{} {}", r.rule, reason.code);
                    }
                }
            }
        }
    }

    #[test]
    fn hours_are_exact_across_offsets() {
        let c = case(|_| {});
        assert!(fired(&c, "2026-07-01T06:00:00+00:00", POST_RAPE_CARE).is_some());
        assert!(fired(&c, "2026-07-01T06:00:01Z", POST_RAPE_CARE).is_none());
    }

    #[test]
    fn emergency_contraception_window_age_and_sex() {
        let c = case(|_| {});
        assert!(fired(&c, "2026-07-03T09:00:00+03:00", EMERGENCY_CONTRACEPTION).is_some());
        assert!(fired(&c, "2026-07-03T09:00:01+03:00", EMERGENCY_CONTRACEPTION).is_none());
        let boy = case(|v| v["child"]["sex"] = json!("male"));
        assert!(fired(&boy, "2026-06-29T09:00:00+03:00", EMERGENCY_CONTRACEPTION).is_none());
        let unknown = case(|v| v["child"]["sex"] = json!("unknown"));
        assert!(
            fired(
                &unknown,
                "2026-06-29T09:00:00+03:00",
                EMERGENCY_CONTRACEPTION
            )
            .is_none()
        );
        let nine = case(|v| v["child"]["date_of_birth"] = json!("2016-06-29"));
        assert!(fired(&nine, "2026-06-28T23:00:00+03:00", EMERGENCY_CONTRACEPTION).is_none());
        assert!(fired(&nine, "2026-06-29T00:00:00+03:00", EMERGENCY_CONTRACEPTION).is_some());
    }

    #[test]
    fn a_smaller_ec_window_changes_the_outcome() {
        let c = case(|_| {});
        let mut ctx = Context::new(
            parse_datetime("2026-07-02T09:00:00+03:00").unwrap(),
            &[EMERGENCY_CONTRACEPTION],
            Settings::default(),
        );
        assert_eq!(route(&ctx, &c).unwrap().len(), 1);
        ctx.settings.ec_window_hours = 72;
        assert!(route(&ctx, &c).unwrap().is_empty());
    }

    #[test]
    fn medical_examination_is_skipped_when_care_was_received() {
        let c = case(|v| v["incidents"][0]["health_care_received"] = json!(true));
        assert!(fired(&c, "2026-07-10T09:00:00+03:00", MEDICAL_EXAMINATION).is_none());
    }

    #[test]
    fn childrens_officer_is_urgent_while_the_incident_is_recent() {
        let c = case(|_| {});
        let recent = fired(&c, "2026-07-01T09:00:00+03:00", CHILDRENS_OFFICER).unwrap();
        assert_eq!(recent.urgency, Urgency::Within24h);
        assert_eq!(format_datetime(recent.due), "2026-07-02T09:00:00+03:00");
        assert_eq!(recent.consent, ConsentStatus::NotRequired);
        let later = fired(&c, "2026-07-01T09:00:01+03:00", CHILDRENS_OFFICER).unwrap();
        assert_eq!(later.urgency, Urgency::Within72h);
        let concern_only = case(|v| {
            v["survivor_status"] = json!("at_risk");
            v.as_object_mut().unwrap().remove("incidents");
            v["protection_concerns"] = json!(["child_labour"]);
        });
        assert_eq!(
            fired(
                &concern_only,
                "2026-07-01T09:00:00+03:00",
                CHILDRENS_OFFICER
            )
            .unwrap()
            .urgency,
            Urgency::Within72h
        );
        let nothing = case(|v| {
            v["survivor_status"] = json!("at_risk");
            v.as_object_mut().unwrap().remove("incidents");
        });
        assert!(fired(&nothing, "2026-07-01T09:00:00+03:00", CHILDRENS_OFFICER).is_none());
    }

    #[test]
    fn police_consent_comes_from_the_police_report_consent() {
        let c = case(|_| {});
        assert_eq!(
            fired(&c, "2026-07-01T09:00:00+03:00", POLICE)
                .unwrap()
                .consent,
            ConsentStatus::Required
        );
        let c = case(|v| v["consent"]["police_report"] = json!(true));
        assert_eq!(
            fired(&c, "2026-07-01T09:00:00+03:00", POLICE)
                .unwrap()
                .consent,
            ConsentStatus::Given
        );
        let reported = case(|v| v["incidents"][0]["reported_to_police"] = json!(true));
        assert!(fired(&reported, "2026-07-01T09:00:00+03:00", POLICE).is_none());
        assert!(fired(&reported, "2026-07-01T09:00:00+03:00", LEGAL_AID).is_some());
    }

    #[test]
    fn safe_shelter_for_an_unsafe_home_or_a_perpetrator_at_home() {
        let at = "2026-07-01T09:00:00+03:00";
        assert!(fired(&case(|_| {}), at, SAFE_SHELTER).is_none());
        assert!(
            fired(
                &case(|v| v["safety"] = json!({"safe_at_home": false})),
                at,
                SAFE_SHELTER
            )
            .is_some()
        );
        assert!(
            fired(
                &case(|v| v["incidents"][0]["perpetrator_in_household"] = json!(true)),
                at,
                SAFE_SHELTER
            )
            .is_some()
        );
    }

    #[test]
    fn without_sharing_consent_a_referral_is_listed_pending_consent() {
        let c = case(|v| {
            v.as_object_mut().unwrap().remove("consent");
        });
        let r = fired(&c, "2026-07-01T09:00:00+03:00", PSYCHOSOCIAL).unwrap();
        assert_eq!(r.consent, ConsentStatus::Required);
        assert!(r.reasons.iter().any(|r| r.code == "consent-required"));
    }

    #[test]
    fn education_reentry_and_vocational_follow_age_and_enrolment() {
        let at = "2026-07-01T09:00:00+03:00";
        let out_of_school = case(|v| v["education"] = json!({"enrolled": false}));
        assert!(fired(&out_of_school, at, EDUCATION_REENTRY).is_some());
        assert!(
            fired(
                &case(|v| v["education"] = json!({"enrolled": true})),
                at,
                EDUCATION_REENTRY
            )
            .is_none()
        );
        assert!(
            fired(&case(|_| {}), at, EDUCATION_REENTRY).is_none(),
            "enrolment unknown: not routed"
        );
        let sixteen = case(|v| v["child"]["date_of_birth"] = json!("2010-07-01"));
        assert!(fired(&sixteen, "2026-06-30T23:59:59+03:00", VOCATIONAL).is_none());
        assert!(fired(&sixteen, "2026-07-01T00:00:00+03:00", VOCATIONAL).is_some());
    }

    #[test]
    fn an_incident_after_the_as_of_is_an_input_error() {
        let c = case(|_| {});
        let ctx = Context::new(
            parse_datetime("2026-06-28T08:59:59+03:00").unwrap(),
            &[POLICE],
            Settings::default(),
        );
        let err = route(&ctx, &c).unwrap_err();
        assert_eq!(err.pointer.as_deref(), Some("/incidents/0/occurred_at"));
    }

    #[test]
    fn providers_are_matched_by_sub_county_then_county() {
        let at = "2026-07-01T09:00:00+03:00";
        let r = fired(&case(|_| {}), at, POST_RAPE_CARE).unwrap();
        assert_eq!(r.provider.unwrap().id, "msambweni-crh");
        let kinango = case(|v| v["child"]["sub_county"] = json!("kinango"));
        assert_eq!(
            fired(&kinango, at, POST_RAPE_CARE)
                .unwrap()
                .provider
                .unwrap()
                .id,
            "kwale-crh"
        );
        let mombasa = case(|v| v["child"]["county"] = json!("mombasa"));
        let r = fired(&mombasa, at, POST_RAPE_CARE).unwrap();
        assert!(r.provider.is_none());
        assert!(r.reasons.iter().any(|r| r.code == "no-provider-in-area"));
    }

    #[test]
    fn output_is_ordered_by_urgency_then_due_time() {
        let c = case(|v| v["safety"] = json!({"safe_at_home": false}));
        let out = route_at(&c, "2026-06-29T09:00:00+03:00");
        let keys: Vec<(Urgency, OffsetDateTime)> = out.iter().map(|r| (r.urgency, r.due)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(
            out[0].rule, SAFE_SHELTER,
            "shelter is due first (24 h), then PEP (72 h), then EC"
        );
    }
}
