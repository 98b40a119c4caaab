//! What evaluations return, and the checks every plugin output passes
//! before it is returned.
//!
//! A plugin's answer is lifted from typed WIT records, so its shape is
//! already right; what remains to check is its content against what the
//! plugin declared ([`crate::runtime::declared`]): rules it has and that
//! are switched on, one decision per track, reason codes the rule declared
//! (the host adds their messages), priorities within the rule's range,
//! services the rule declared, providers quoted from the settings, due
//! times from the as-of to 366 days after it, and a total size under the
//! limit. `missing` pointers are canonicalised: sorted, each once, each a
//! field of the canonical case within the plugin's declared fields. A
//! violation makes the whole answer an [`Error::InvalidOutput`]: nothing
//! half-checked is passed on.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::case::schema;
use crate::error::Error;
use crate::runtime::bindings::eligibility::exports::kinga::plugin::eligibility as wit_eligibility;
use crate::runtime::bindings::referral::exports::kinga::plugin::referral as wit_referral;
use crate::runtime::bindings::types as wit;
use crate::runtime::declared::Declared;
use crate::text::neutralise;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Why a rule produced an outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The rule.
    pub rule: String,
    /// A stable kebab-case code.
    pub code: String,
    /// A message for a caseworker.
    pub message: String,
}

/// The outcome of one eligibility track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every condition holds.
    Eligible,
    /// A condition is known not to hold.
    Ineligible,
    /// Nothing is known to fail, but something cannot be decided.
    Undetermined,
}

/// One eligibility decision, naming the plugin that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The plugin's id.
    pub plugin: String,
    /// The plugin's version.
    pub plugin_version: String,
    /// The track.
    pub track: String,
    /// The outcome.
    pub status: Status,
    /// Priority of an eligible decision on a ranked track.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Why.
    pub reasons: Vec<Reason>,
    /// For undetermined decisions, the pointers of the missing fields.
    pub missing: Vec<String>,
}

/// How soon a referral must be acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Urgency {
    /// Immediately.
    #[serde(rename = "emergency")]
    Emergency,
    /// Within 24 hours.
    #[serde(rename = "within-24h")]
    Within24h,
    /// Within 72 hours.
    #[serde(rename = "within-72h")]
    Within72h,
    /// Routine.
    #[serde(rename = "routine")]
    Routine,
}

/// Whether consent allows a referral to go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsentStatus {
    /// Not needed.
    NotRequired,
    /// Recorded.
    Given,
    /// Needed, not recorded: pending consent.
    Required,
}

/// A provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provider {
    /// Directory id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Referral desk contact.
    pub contact: String,
}

/// One referral, naming the plugin that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Referral {
    /// The plugin's id.
    pub plugin: String,
    /// The plugin's version.
    pub plugin_version: String,
    /// The rule.
    pub rule: String,
    /// The service id.
    pub service: String,
    /// How soon.
    pub urgency: Urgency,
    /// When it is due (RFC 3339).
    pub due: String,
    /// The provider, if one serves the area.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// Whether consent allows it.
    pub consent: ConsentStatus,
    /// Why.
    pub reasons: Vec<Reason>,
}

/// The latest a referral may be due: this long after the as-of.
const MAX_DUE_AHEAD: time::Duration = time::Duration::days(366);

/// What a checker needs to know about the plugin that answered.
pub(crate) struct OutputCheck<'a> {
    pub plugin: &'a str,
    pub plugin_version: &'a str,
    /// What the plugin declared, rendered for its settings.
    pub declared: &'a Declared,
    /// The case fields it declared.
    pub case_fields: &'a [String],
    pub enabled: &'a BTreeSet<String>,
    /// The as-of of the call.
    pub as_of: OffsetDateTime,
    pub max_bytes: usize,
    pub max_items: usize,
    /// The size of the last answer checked, as JSON.
    pub measured: std::cell::Cell<usize>,
}

impl OutputCheck<'_> {
    fn invalid(&self, pointer: String, message: impl Into<String>) -> Error {
        Error::InvalidOutput {
            plugin: self.plugin.to_owned(),
            pointer,
            message: message.into(),
        }
    }

    fn reasons(&self, reasons: Vec<wit::Reason>, at: &str) -> Result<Vec<Reason>, Error> {
        reasons
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                if !self.declared.rules.contains_key(&r.rule) {
                    return Err(self.invalid(
                        format!("{at}/reasons/{i}/rule"),
                        "names a rule the plugin does not have",
                    ));
                }
                let Some(message) = self.declared.reason(&r.rule, &r.code) else {
                    return Err(self.invalid(
                        format!("{at}/reasons/{i}/code"),
                        "is a reason code its rule did not declare",
                    ));
                };
                Ok(Reason {
                    message: message.to_owned(),
                    rule: r.rule,
                    code: r.code,
                })
            })
            .collect()
    }

    /// Sorts `missing`, keeps each pointer once, and refuses one that is
    /// not a field of the canonical case within a declared field.
    fn missing(&self, mut missing: Vec<String>, at: &str) -> Result<Vec<String>, Error> {
        if let Some(j) = missing.iter().position(|p| {
            !crate::case::is_case_field(p) || !self.case_fields.iter().any(|f| covers(f, p))
        }) {
            return Err(self.invalid(
                format!("{at}/missing/{j}"),
                "is not a field of the canonical case that the plugin declared it reads",
            ));
        }
        missing.sort();
        missing.dedup();
        Ok(missing)
    }

    fn priority(&self, rule: &str, priority: Option<i32>, at: &str) -> Result<Option<i32>, Error> {
        let Some(p) = priority else {
            return Ok(None);
        };
        match self.declared.rules.get(rule).and_then(|r| r.priorities) {
            Some(range) if (range.lowest..=range.highest).contains(&p) => Ok(Some(p)),
            Some(_) => Err(self.invalid(
                format!("{at}/priority"),
                "is outside the priority range its rule declared",
            )),
            None => Err(self.invalid(
                format!("{at}/priority"),
                "is given by a rule that declared no priorities",
            )),
        }
    }

    fn due(&self, due: &str, at: &str) -> Result<(), Error> {
        let Ok(when) = OffsetDateTime::parse(due, &Rfc3339) else {
            return Err(self.invalid(format!("{at}/due"), "is not an RFC 3339 date-time"));
        };
        if when < self.as_of || when - self.as_of > MAX_DUE_AHEAD {
            return Err(self.invalid(
                format!("{at}/due"),
                "is before the as-of or more than 366 days after it",
            ));
        }
        Ok(())
    }

    fn rule_enabled(&self, rule: &str, pointer: String) -> Result<(), Error> {
        if !self.declared.rules.contains_key(rule) {
            return Err(self.invalid(pointer, "names a rule the plugin does not have"));
        }
        if !self.enabled.contains(rule) {
            return Err(self.invalid(pointer, "is output from a rule that is switched off"));
        }
        Ok(())
    }

    fn within_limits<T: Serialize>(&self, items: &[T], count: usize) -> Result<Value, Error> {
        if count > self.max_items {
            return Err(self.invalid(
                String::new(),
                format!("{count} items, more than the limit of {}", self.max_items),
            ));
        }
        let value = serde_json::to_value(items)
            .map_err(|_| self.invalid(String::new(), "cannot be represented"))?;
        let size = serde_json::to_vec(&value)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        self.measured.set(size);
        if size > self.max_bytes {
            return Err(self.invalid(
                String::new(),
                format!("{size} bytes, more than the limit of {}", self.max_bytes),
            ));
        }
        Ok(value)
    }

    fn against_schema(
        &self,
        validator: &jsonschema::Validator,
        items: &Value,
    ) -> Result<(), Error> {
        for (i, item) in items.as_array().into_iter().flatten().enumerate() {
            if let Some(v) = schema::violations(validator, item, 1).into_iter().next() {
                return Err(self.invalid(format!("/{i}{}", v.pointer), v.message));
            }
        }
        Ok(())
    }

    /// Converts and checks an eligibility answer.
    pub fn decisions(&self, raw: Vec<wit_eligibility::Decision>) -> Result<Vec<Decision>, Error> {
        let count = raw.len()
            + raw
                .iter()
                .map(|d| d.reasons.len() + d.missing.len())
                .sum::<usize>();
        let mut tracks = BTreeSet::new();
        let mut out = Vec::with_capacity(raw.len());
        for (i, d) in raw.into_iter().enumerate() {
            let at = format!("/{i}");
            self.rule_enabled(&d.track, format!("{at}/track"))?;
            if !tracks.insert(d.track.clone()) {
                return Err(self.invalid(
                    format!("/{i}/track"),
                    "a second decision for the same track",
                ));
            }
            out.push(Decision {
                plugin: self.plugin.to_owned(),
                plugin_version: self.plugin_version.to_owned(),
                reasons: self.reasons(d.reasons, &at)?,
                priority: self.priority(&d.track, d.priority, &at)?,
                missing: self.missing(d.missing, &at)?,
                track: d.track,
                status: match d.status {
                    wit_eligibility::Status::Eligible => Status::Eligible,
                    wit_eligibility::Status::Ineligible => Status::Ineligible,
                    wit_eligibility::Status::Undetermined => Status::Undetermined,
                },
            });
        }
        let value = self.within_limits(&out, count)?;
        self.against_schema(schema::decision(), &value)?;
        Ok(out)
    }

    /// Converts and checks a referral answer.
    pub fn referrals(&self, raw: Vec<wit_referral::Referral>) -> Result<Vec<Referral>, Error> {
        let count = raw.len() + raw.iter().map(|r| r.reasons.len()).sum::<usize>();
        let mut out = Vec::with_capacity(raw.len());
        for (i, r) in raw.into_iter().enumerate() {
            let at = format!("/{i}");
            self.rule_enabled(&r.rule, format!("{at}/rule"))?;
            if !self
                .declared
                .rules
                .get(&r.rule)
                .is_some_and(|rule| rule.services.contains(&r.service))
            {
                return Err(self.invalid(
                    format!("{at}/service"),
                    "is a service its rule did not declare",
                ));
            }
            self.due(&r.due, &at)?;
            let provider = match r.provider {
                Some(p) if self.declared.has_provider(&p.id, &p.name, &p.contact) => {
                    Some(Provider {
                        id: neutralise(&p.id),
                        name: neutralise(&p.name),
                        contact: neutralise(&p.contact),
                    })
                }
                Some(_) => {
                    return Err(self.invalid(
                        format!("{at}/provider"),
                        "is not a provider of the plugin's settings",
                    ));
                }
                None => None,
            };
            out.push(Referral {
                plugin: self.plugin.to_owned(),
                plugin_version: self.plugin_version.to_owned(),
                reasons: self.reasons(r.reasons, &at)?,
                rule: r.rule,
                service: r.service,
                urgency: match r.urgency {
                    wit_referral::Urgency::Emergency => Urgency::Emergency,
                    wit_referral::Urgency::Within24h => Urgency::Within24h,
                    wit_referral::Urgency::Within72h => Urgency::Within72h,
                    wit_referral::Urgency::Routine => Urgency::Routine,
                },
                due: r.due,
                provider,
                consent: match r.consent {
                    wit_referral::ConsentStatus::NotRequired => ConsentStatus::NotRequired,
                    wit_referral::ConsentStatus::Given => ConsentStatus::Given,
                    wit_referral::ConsentStatus::Required => ConsentStatus::Required,
                },
            });
        }
        let value = self.within_limits(&out, count)?;
        self.against_schema(schema::referral(), &value)?;
        Ok(out)
    }
}

/// Whether the declared field `field` covers the pointer `pointer`: it is
/// the field or lies inside it.
fn covers(field: &str, pointer: &str) -> bool {
    pointer
        .strip_prefix(field)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The time a referral's `due` names, for ordering (invalid dates, which the
/// checks above refuse, sort last).
pub(crate) fn due_key(referral: &Referral) -> (Urgency, i128) {
    let at = time::OffsetDateTime::parse(
        &referral.due,
        &time::format_description::well_known::Rfc3339,
    )
    .map(|t| t.unix_timestamp_nanos())
    .unwrap_or(i128::MAX);
    (referral.urgency, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::declared::tests::description;
    use crate::runtime::plugin::PluginKind;

    fn checked<T>(kind: PluginKind, f: impl FnOnce(&OutputCheck<'_>) -> T) -> T {
        let d = description(kind);
        let declared = Declared::new(&d, d.default_settings.clone());
        let enabled = BTreeSet::from(["main".to_owned()]);
        let check = OutputCheck {
            plugin: "fixture",
            plugin_version: "1.0.0",
            declared: &declared,
            case_fields: &d.case_fields,
            enabled: &enabled,
            as_of: OffsetDateTime::parse("2026-07-01T09:00:00+03:00", &Rfc3339).unwrap(),
            max_bytes: 1 << 20,
            max_items: 10_000,
            measured: std::cell::Cell::new(0),
        };
        f(&check)
    }

    fn decision(priority: Option<i32>, missing: &[&str]) -> wit_eligibility::Decision {
        wit_eligibility::Decision {
            track: "main".into(),
            status: wit_eligibility::Status::Undetermined,
            priority,
            reasons: vec![wit::Reason {
                rule: "main".into(),
                code: "over-age".into(),
            }],
            missing: missing.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    fn referral(
        service: &str,
        due: &str,
        provider: Option<(&str, &str, &str)>,
    ) -> wit_referral::Referral {
        wit_referral::Referral {
            rule: "main".into(),
            service: service.into(),
            urgency: wit_referral::Urgency::Routine,
            due: due.into(),
            provider: provider.map(|(id, name, contact)| wit_referral::Provider {
                id: id.into(),
                name: name.into(),
                contact: contact.into(),
            }),
            consent: wit_referral::ConsentStatus::NotRequired,
            reasons: vec![wit::Reason {
                rule: "main".into(),
                code: "over-age".into(),
            }],
        }
    }

    fn pointer<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
        match result {
            Err(Error::InvalidOutput { pointer, .. }) => pointer,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_decision_gets_its_declared_message_and_canonical_missing_fields() {
        let out = checked(PluginKind::Eligibility, |c| {
            c.decisions(vec![decision(
                Some(8),
                &["/child/date_of_birth", "/child/date_of_birth"],
            )])
        })
        .unwrap();
        assert_eq!(out[0].reasons[0].message, "older than 17");
        assert_eq!(out[0].missing, ["/child/date_of_birth"]);
    }

    #[test]
    fn a_priority_outside_its_range_or_an_undeclared_missing_field_is_refused() {
        checked(PluginKind::Eligibility, |c| {
            assert_eq!(
                pointer(c.decisions(vec![decision(Some(9), &[])])),
                "/0/priority"
            );
            assert_eq!(
                pointer(c.decisions(vec![decision(Some(0), &[])])),
                "/0/priority"
            );
            assert_eq!(
                pointer(c.decisions(vec![decision(None, &["/child/sex"])])),
                "/0/missing/0"
            );
            assert_eq!(
                pointer(c.decisions(vec![decision(None, &["/child/t-0001"])])),
                "/0/missing/0"
            );
        });
    }

    #[test]
    fn a_referral_names_only_declared_services_and_providers_from_the_settings() {
        checked(PluginKind::Referral, |c| {
            let due = "2026-07-02T09:00:00+03:00";
            let desk = Some(("p1", "Desk", "+254 700 000000"));
            assert_eq!(
                c.referrals(vec![referral("care.psychosocial", due, desk)])
                    .unwrap()
                    .len(),
                1
            );
            assert_eq!(
                pointer(c.referrals(vec![referral("care.t-0001", due, None)])),
                "/0/service"
            );
            let forged = Some(("p1", "t-0001", "+254 700 000000"));
            assert_eq!(
                pointer(c.referrals(vec![referral("care.psychosocial", due, forged)])),
                "/0/provider"
            );
        });
    }

    #[test]
    fn a_due_time_before_the_as_of_or_over_a_year_after_is_refused() {
        checked(PluginKind::Referral, |c| {
            for due in ["2026-07-01T09:00:00+03:00", "2027-07-02T09:00:00+03:00"] {
                c.referrals(vec![referral("care.psychosocial", due, None)])
                    .unwrap();
            }
            for due in [
                "2026-07-01T08:59:59+03:00",
                "2027-07-02T09:00:01+03:00",
                "9999-01-01T00:00:00Z",
            ] {
                assert_eq!(
                    pointer(c.referrals(vec![referral("care.psychosocial", due, None)])),
                    "/0/due",
                    "{due}"
                );
            }
        });
    }
}
