//! Synthetic canonical cases: realistic in their mix, deterministic for a
//! seed, and free of personal data by construction (the case has no field
//! for a name or a phone number, and ids are `SYN-<seed>-<n>`).
//!
//! The mix follows the programme: survivors and at-risk children of both
//! sexes in the five hotspot towns of Kwale and Kilifi (and a few cases from
//! elsewhere), ages 6 to 20, some dates of birth missing (most with an
//! estimate), households with and without income data, incidents from hours
//! to years before the reference moment, partial consent, and services and
//! referrals spread over the quarters before it.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Value, json};
use time::{Date, Duration, OffsetDateTime};

use crate::case::asof::AsOf;

/// A hotspot or other place: county, sub-county, ward, town.
struct Place {
    county: &'static str,
    sub_county: &'static str,
    ward: Option<&'static str>,
    town: Option<&'static str>,
    weight: u32,
}

const PLACES: &[Place] = &[
    Place {
        county: "kwale",
        sub_county: "msambweni",
        ward: Some("ukunda"),
        town: Some("ukunda"),
        weight: 22,
    },
    Place {
        county: "kwale",
        sub_county: "lungalunga",
        ward: None,
        town: Some("lungalunga"),
        weight: 10,
    },
    Place {
        county: "kwale",
        sub_county: "matuga",
        ward: None,
        town: None,
        weight: 5,
    },
    Place {
        county: "kwale",
        sub_county: "kinango",
        ward: None,
        town: None,
        weight: 4,
    },
    Place {
        county: "kilifi",
        sub_county: "kilifi_south",
        ward: None,
        town: Some("mtwapa"),
        weight: 18,
    },
    Place {
        county: "kilifi",
        sub_county: "kilifi_north",
        ward: Some("watamu"),
        town: Some("watamu"),
        weight: 12,
    },
    Place {
        county: "kilifi",
        sub_county: "malindi",
        ward: Some("malindi_town"),
        town: Some("malindi"),
        weight: 16,
    },
    Place {
        county: "kilifi",
        sub_county: "magarini",
        ward: None,
        town: None,
        weight: 5,
    },
    Place {
        county: "mombasa",
        sub_county: "nyali",
        ward: None,
        town: None,
        weight: 3,
    },
];

/// Generates synthetic cases around a reference moment.
pub struct Synth {
    rng: ChaCha8Rng,
    seed: u64,
    reference: OffsetDateTime,
    next: u64,
}

/// The default reference moment: the end of the third quarter of 2026.
pub fn default_reference() -> AsOf {
    AsOf::parse(
        "2026-09-30T17:00:00+03:00",
        crate::case::asof::EAST_AFRICA_TIME,
    )
    .expect("a valid constant")
}

impl Synth {
    /// A generator for `seed`, with every date on or before `reference`.
    pub fn new(seed: u64, reference: AsOf) -> Synth {
        Synth {
            rng: ChaCha8Rng::seed_from_u64(seed),
            seed,
            reference: reference.datetime(),
            next: 0,
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<T: Copy>(&mut self, weighted: &[(T, u32)]) -> T {
        let total: u32 = weighted.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.random_range(0..total);
        for (value, weight) in weighted {
            if roll < *weight {
                return *value;
            }
            roll -= weight;
        }
        weighted[0].0
    }

    fn days_before(&mut self, date: Date, max_days: i64) -> Date {
        date - Duration::days(self.rng.random_range(0..=max_days))
    }

    fn date(d: Date) -> Value {
        Value::String(format!(
            "{:04}-{:02}-{:02}",
            d.year(),
            d.month() as u8,
            d.day()
        ))
    }

    /// The next case.
    pub fn case(&mut self) -> Value {
        self.next += 1;
        let today = self.reference.date();
        let registered = self.days_before(today, 630);
        let survivor_status =
            self.pick(&[("survivor", 45), ("at_risk", 45), ("not_identified", 10)]);
        let survivor = survivor_status == "survivor";
        let sex = self.pick(&[("female", 74), ("male", 23), ("other", 1), ("unknown", 2)]);
        let place_index = {
            let weighted: Vec<(usize, u32)> = PLACES
                .iter()
                .enumerate()
                .map(|(i, p)| (i, p.weight))
                .collect();
            self.pick(&weighted)
        };
        let place = &PLACES[place_index];
        let age_years = self.rng.random_range(6..=20i64);
        let birth = registered - Duration::days(age_years * 365 + self.rng.random_range(0..365));

        let mut child = Map::new();
        match self.pick(&[("dob", 88), ("estimate", 8), ("none", 4)]) {
            "dob" => {
                child.insert("date_of_birth".into(), Self::date(birth));
            }
            "estimate" => {
                child.insert("age_estimate_years".into(), json!(age_years));
            }
            _ => {}
        }
        child.insert("sex".into(), json!(sex));
        child.insert("county".into(), json!(place.county));
        child.insert("sub_county".into(), json!(place.sub_county));
        if let Some(ward) = place.ward {
            child.insert("ward".into(), json!(ward));
        }
        if let Some(town) = place.town {
            child.insert("town".into(), json!(town));
        }

        let mut case = Map::new();
        case.insert("schema_version".into(), json!("1"));
        case.insert(
            "case_id".into(),
            json!(format!("SYN-{}-{:06}", self.seed, self.next)),
        );
        case.insert("registered_on".into(), Self::date(registered));
        case.insert(
            "status".into(),
            json!(if self.chance(0.86) { "open" } else { "closed" }),
        );
        case.insert("child".into(), Value::Object(child));
        case.insert("survivor_status".into(), json!(survivor_status));
        if let Some(concerns) = self.concerns(survivor) {
            case.insert("protection_concerns".into(), concerns);
        }
        if self.chance(0.85) {
            case.insert("education".into(), self.education(age_years));
        }
        if self.chance(0.8) {
            case.insert("household".into(), self.household());
        }
        let incidents = self.incidents(survivor);
        if !incidents.is_empty() {
            case.insert("incidents".into(), Value::Array(incidents));
        }
        if let Some(consent) = self.consent() {
            case.insert("consent".into(), consent);
        }
        if self.chance(0.7) {
            case.insert("safety".into(), json!({"safe_at_home": !self.chance(0.1)}));
        }
        let services = self.services(survivor, age_years, registered);
        if !services.is_empty() {
            case.insert("services".into(), Value::Array(services));
        }
        let referrals = self.referrals(survivor, registered);
        if !referrals.is_empty() {
            case.insert("referrals".into(), Value::Array(referrals));
        }
        if self.chance(0.2) {
            case.insert(
                "extensions".into(),
                json!({"synthetic": true, "source_platform": "synth"}),
            );
        }
        Value::Object(case)
    }

    fn concerns(&mut self, survivor: bool) -> Option<Value> {
        let all = [
            "sexual_exploitation",
            "trafficking",
            "sexual_abuse",
            "child_marriage",
            "child_labour",
            "physical_abuse",
            "neglect",
            "online_abuse",
        ];
        let mut picked: Vec<&str> = Vec::new();
        if survivor {
            picked.push(if self.chance(0.7) {
                "sexual_exploitation"
            } else {
                "trafficking"
            });
        }
        if self.chance(if survivor { 0.4 } else { 0.35 }) {
            let extra = all[self.rng.random_range(0..all.len())];
            if !picked.contains(&extra) {
                picked.push(extra);
            }
        }
        (!picked.is_empty()).then(|| json!(picked))
    }

    fn education(&mut self, age: i64) -> Value {
        let level = match age {
            ..=11 => "primary",
            12..=14 => "junior_secondary",
            15..=17 => "senior_secondary",
            _ => "tvet",
        };
        let mut e = Map::new();
        e.insert("enrolled".into(), json!(self.chance(0.7)));
        e.insert("level".into(), json!(level));
        if self.chance(0.6) {
            e.insert(
                "school_has_child_rights_club".into(),
                json!(self.chance(0.45)),
            );
        }
        if self.chance(0.5) {
            e.insert(
                "attendance_rate".into(),
                json!(f64::from(self.rng.random_range(40..=100u32)) / 100.0),
            );
        }
        Value::Object(e)
    }

    fn household(&mut self) -> Value {
        let caregiver = self.pick(&[
            ("parent", 45),
            ("grandparent", 20),
            ("relative", 18),
            ("foster", 4),
            ("child_headed", 6),
            ("none", 7),
        ]);
        let mut h = Map::new();
        h.insert("caregiver".into(), json!(caregiver));
        if self.chance(0.75) {
            h.insert(
                "monthly_income_kes".into(),
                json!(self.rng.random_range(0..=30u32) * 1000 + self.rng.random_range(0..1000u32)),
            );
        }
        if self.chance(0.8) {
            h.insert("dependents".into(), json!(self.rng.random_range(1..=9u32)));
        }
        Value::Object(h)
    }

    fn incidents(&mut self, survivor: bool) -> Vec<Value> {
        let count = if survivor {
            self.pick(&[(1usize, 70), (2, 22), (3, 8)])
        } else if self.chance(0.15) {
            1
        } else {
            0
        };
        (0..count)
            .map(|_| {
                let hours_before = match self.pick(&[
                    ("hours", 6),
                    ("days", 8),
                    ("weeks", 16),
                    ("months", 40),
                    ("years", 30),
                ]) {
                    "hours" => self.rng.random_range(1..=72i64),
                    "days" => self.rng.random_range(73..=24 * 7i64),
                    "weeks" => self.rng.random_range(24 * 7..=24 * 60i64),
                    "months" => self.rng.random_range(24 * 60..=24 * 400i64),
                    _ => self.rng.random_range(24 * 400..=24 * 1500i64),
                };
                let at = self.reference
                    - Duration::hours(hours_before)
                    - Duration::minutes(self.rng.random_range(0..60));
                let kind = self.pick(&[
                    ("sexual_exploitation", 45),
                    ("trafficking", 15),
                    ("sexual_abuse", 25),
                    ("physical_abuse", 10),
                    ("other", 5),
                ]);
                let mut i = Map::new();
                i.insert(
                    "occurred_at".into(),
                    json!(crate::case::asof::AsOf::at(at).to_rfc3339()),
                );
                i.insert("kind".into(), json!(kind));
                if self.chance(0.8) {
                    i.insert("perpetrator_in_household".into(), json!(self.chance(0.12)));
                }
                if self.chance(0.85) {
                    i.insert("reported_to_police".into(), json!(self.chance(0.4)));
                }
                if self.chance(0.85) {
                    i.insert("health_care_received".into(), json!(self.chance(0.5)));
                }
                Value::Object(i)
            })
            .collect()
    }

    fn consent(&mut self) -> Option<Value> {
        if self.chance(0.1) {
            return None;
        }
        let mut c = Map::new();
        if self.chance(0.9) {
            c.insert("information_sharing".into(), json!(self.chance(0.75)));
        }
        if self.chance(0.8) {
            c.insert("police_report".into(), json!(self.chance(0.45)));
        }
        Some(Value::Object(c))
    }

    fn services(&mut self, survivor: bool, age: i64, registered: Date) -> Vec<Value> {
        let mut kinds: Vec<&str> = Vec::new();
        if survivor {
            if (7..=15).contains(&age) && self.chance(0.65) {
                kinds.push("education_support");
            }
            if (14..=18).contains(&age) && self.chance(0.55) {
                kinds.push("vocational_training");
            }
            if self.chance(0.3) {
                kinds.push("family_livelihood");
            }
            if self.chance(0.6) {
                kinds.push("psychosocial");
            }
            if self.chance(0.3) {
                kinds.push("health");
            }
        } else if self.chance(0.25) {
            kinds.push(if self.chance(0.5) {
                "child_rights_club"
            } else {
                "education_support"
            });
        }
        let today = self.reference.date();
        kinds
            .into_iter()
            .map(|kind| {
                let span = (today - registered).whole_days().max(0);
                let started = registered + Duration::days(self.rng.random_range(0..=span));
                let status = self.pick(&[("active", 65), ("completed", 22), ("dropped", 13)]);
                let mut s = Map::new();
                s.insert("type".into(), json!(kind));
                s.insert("started_on".into(), Self::date(started));
                if status != "active" {
                    let remaining = (today - started).whole_days().max(0);
                    s.insert(
                        "ended_on".into(),
                        Self::date(started + Duration::days(self.rng.random_range(0..=remaining))),
                    );
                }
                s.insert("status".into(), json!(status));
                Value::Object(s)
            })
            .collect()
    }

    fn referrals(&mut self, survivor: bool, registered: Date) -> Vec<Value> {
        if !survivor && !self.chance(0.1) {
            return Vec::new();
        }
        const SERVICES: [&str; 8] = [
            "health.post-rape-care",
            "health.medical-examination",
            "statutory.childrens-officer",
            "police.gender-desk",
            "care.psychosocial",
            "justice.legal-aid",
            "protection.safe-shelter",
            "programme.education-support",
        ];
        let count = self.rng.random_range(0..=4usize);
        let today = self.reference.date();
        (0..count)
            .map(|_| {
                let span = (today - registered).whole_days().max(0);
                let made = registered + Duration::days(self.rng.random_range(0..=span));
                json!({
                    "service": SERVICES[self.rng.random_range(0..SERVICES.len())],
                    "made_on": Self::date(made),
                    "status": self.pick(&[("pending", 20), ("accepted", 35), ("completed", 35), ("declined", 10)]),
                })
            })
            .collect()
    }
}

impl Iterator for Synth {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        Some(self.case())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ValidCase;

    #[test]
    fn every_synthetic_case_is_valid() {
        for case in Synth::new(7, default_reference()).take(3000) {
            if let Err(e) = ValidCase::from_value(case.clone()) {
                panic!("{e}: {case}");
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_cases() {
        let a: Vec<Value> = Synth::new(42, default_reference()).take(50).collect();
        let b: Vec<Value> = Synth::new(42, default_reference()).take(50).collect();
        let c: Vec<Value> = Synth::new(43, default_reference()).take(50).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn nothing_is_dated_after_the_reference() {
        let reference = default_reference();
        for case in Synth::new(1, reference).take(2000) {
            let valid = ValidCase::from_value(case).unwrap();
            assert!(
                valid
                    .incident_times()
                    .all(|(_, at)| at <= reference.datetime())
            );
        }
    }
}
