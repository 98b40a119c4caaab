//! Answers depend on a case's content, never on the order a platform lists
//! things in: for synthetic cases, with ties added (one event recorded as
//! several sexual incidents at the same instant, written in other offsets
//! and with other facts; for some, recorded again twice by its day only, as
//! case 1.1 allows), shuffling `incidents`, `services`, `referrals`
//! and `protection_concerns` leaves every reference plugin's output
//! unchanged — decisions, referrals and the quarterly report.

use kinga_artifacts::{
    BUILDING_A_FUTURE_ELIGIBILITY, BUILDING_A_FUTURE_REPORTS, KENYA_REFERRAL_PATHWAY,
};
use kinga_host::devkit::{Synth, default_reference};
use kinga_host::{AsOf, EAST_AFRICA_TIME, ValidCase};
use serde_json::{Value, json};

use crate::support::host_with;

/// The lists whose order carries no meaning.
const UNORDERED: &[&str] = &["incidents", "services", "referrals", "protection_concerns"];

/// A small deterministic generator (xorshift), so that a failure can be
/// reproduced from its seed.
struct Shuffler(u64);

impl Shuffler {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A uniformly random permutation of `items` (Fisher-Yates).
    fn shuffle(&mut self, items: &mut [Value]) {
        for i in (1..items.len()).rev() {
            let j = usize::try_from(self.next() % (i as u64 + 1)).unwrap();
            items.swap(i, j);
        }
    }

    fn flip(&mut self) -> bool {
        self.next().is_multiple_of(2)
    }
}

/// `case` with a tie added to its latest sexual incident: the same instant
/// written at UTC, another sexual kind, and facts flipped at random.
fn with_tie(mut case: Value, rng: &mut Shuffler) -> Value {
    let Some(incidents) = case.get_mut("incidents").and_then(Value::as_array_mut) else {
        return case;
    };
    let sexual = ["sexual_abuse", "sexual_exploitation", "trafficking"];
    let latest = incidents
        .iter()
        .filter(|i| sexual.contains(&i["kind"].as_str().unwrap_or_default()))
        .max_by_key(|i| {
            time::OffsetDateTime::parse(
                i["occurred_at"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        })
        .cloned();
    let Some(mut tie) = latest else {
        return case;
    };
    let instant = time::OffsetDateTime::parse(
        tie["occurred_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    tie["occurred_at"] = json!(
        instant
            .to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    let kind = sexual
        .iter()
        .find(|k| **k != tie["kind"].as_str().unwrap_or_default())
        .unwrap();
    tie["kind"] = json!(kind);
    for fact in [
        "reported_to_police",
        "health_care_received",
        "perpetrator_in_household",
    ] {
        if rng.flip() {
            tie[fact] = json!(rng.flip());
        } else if let Some(map) = tie.as_object_mut() {
            map.remove(fact);
        }
    }
    // One case in four also has the event recorded by its day only, twice:
    // two date-only incidents on the same day tie with each other.
    let dated = rng.flip() && rng.flip();
    if dated {
        let day = instant.to_offset(EAST_AFRICA_TIME).date();
        for kind in &sexual[..2] {
            let mut by_day = json!({"occurred_on": day.to_string(), "kind": kind});
            for fact in ["reported_to_police", "health_care_received"] {
                if rng.flip() {
                    by_day[fact] = json!(rng.flip());
                }
            }
            incidents.push(by_day);
        }
    }
    incidents.push(tie);
    if dated {
        case["schema_version"] = json!("1.1");
    }
    case
}

fn shuffled(case: &Value, rng: &mut Shuffler) -> Value {
    let mut case = case.clone();
    for list in UNORDERED {
        if let Some(items) = case.get_mut(*list).and_then(Value::as_array_mut) {
            rng.shuffle(items);
        }
    }
    case
}

/// Every plugin's answers for `case`, as JSON.
fn answers(host: &kinga_host::Host, case: &Value, as_of: AsOf) -> Value {
    let case = ValidCase::from_value(case.clone()).expect("a synthetic case is valid");
    let decisions = host
        .evaluate(&case, as_of)
        .map(|d| json!(d))
        .unwrap_or_else(|e| json!({"error": e.kind()}));
    let referrals = host
        .route(&case, as_of)
        .map(|r| json!(r))
        .unwrap_or_else(|e| json!({"error": e.kind()}));
    json!({"decisions": decisions, "referrals": referrals})
}

fn quarterly(host: &kinga_host::Host, cases: &[Value], as_of: AsOf) -> Value {
    let mut run = host
        .report(
            "baf-quarterly",
            &[("period".into(), "2026-Q3".into())],
            as_of,
        )
        .unwrap();
    for case in cases {
        run.add(&ValidCase::from_value(case.clone()).unwrap())
            .unwrap();
    }
    json!(run.finish().unwrap().tables)
}

#[test]
fn shuffling_unordered_lists_never_changes_an_answer() {
    let host = host_with(&[
        BUILDING_A_FUTURE_ELIGIBILITY,
        KENYA_REFERRAL_PATHWAY,
        BUILDING_A_FUTURE_REPORTS,
    ]);
    let reference = default_reference();
    let as_of = AsOf::parse("2026-09-30T12:00:00+03:00", EAST_AFRICA_TIME).unwrap();
    let mut rng = Shuffler(0x9e37_79b9_7f4a_7c15);
    let cases: Vec<Value> = Synth::new(42, reference)
        .take(300)
        .map(|case| with_tie(case, &mut rng))
        .collect();
    let (mut ties, mut by_day) = (0, 0);
    for case in &cases {
        ties += usize::from(case["incidents"].as_array().is_some_and(|i| i.len() > 1));
        by_day += usize::from(case["schema_version"] == "1.1");
        let expected = answers(&host, case, as_of);
        for round in 0..4 {
            let other = shuffled(case, &mut rng);
            assert_eq!(
                answers(&host, &other, as_of),
                expected,
                "case {} changed its answer when shuffled (round {round})",
                case["case_id"]
            );
        }
    }
    assert!(ties > 30, "the caseload must hold ties: {ties}");
    assert!(
        by_day > 10,
        "the caseload must hold date-only ties: {by_day}"
    );
    let report = quarterly(&host, &cases, as_of);
    let reshuffled: Vec<Value> = cases.iter().map(|c| shuffled(c, &mut rng)).collect();
    assert_eq!(quarterly(&host, &reshuffled, as_of), report);
}
