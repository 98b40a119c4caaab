//! What evaluations return, and the checks every plugin output passes
//! before it is returned.
//!
//! A plugin's answer is lifted from typed WIT records, so its shape is
//! already right; what remains to check is its content: ids and codes of
//! the right form, rules the plugin has and that are switched on, one
//! decision per track, due times that are real RFC 3339 date-times, text of
//! bounded length, and a total size under the limit. Text is neutralised
//! (control and bidirectional-formatting characters replaced) so that it can
//! be shown in a terminal, a spreadsheet or a page without surprises. A
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
use crate::text::neutralise;

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

/// What a checker needs to know about the plugin that answered.
pub(crate) struct OutputCheck<'a> {
    pub plugin: &'a str,
    pub plugin_version: &'a str,
    pub rules: &'a BTreeSet<String>,
    pub enabled: &'a BTreeSet<String>,
    /// Values of the case that must not reappear in free text.
    pub identifying: &'a [String],
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

    /// Refuses free text that repeats an identifying value of the case.
    fn free_text(&self, text: &str, pointer: String) -> Result<String, Error> {
        if self
            .identifying
            .iter()
            .any(|value| text.contains(value.as_str()))
        {
            return Err(self.invalid(
                pointer,
                "repeats a value from the case: free text must not carry personal data",
            ));
        }
        Ok(neutralise(text))
    }

    fn reasons(&self, reasons: Vec<wit::Reason>, at: &str) -> Result<Vec<Reason>, Error> {
        reasons
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                if !self.rules.contains(&r.rule) {
                    return Err(self.invalid(
                        format!("{at}/reasons/{i}/rule"),
                        "names a rule the plugin does not have",
                    ));
                }
                let message = self.free_text(&r.message, format!("{at}/reasons/{i}/message"))?;
                Ok(Reason {
                    rule: r.rule,
                    code: r.code,
                    message,
                })
            })
            .collect()
    }

    fn rule_enabled(&self, rule: &str, pointer: String) -> Result<(), Error> {
        if !self.rules.contains(rule) {
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
            self.rule_enabled(&d.track, format!("/{i}/track"))?;
            if !tracks.insert(d.track.clone()) {
                return Err(self.invalid(
                    format!("/{i}/track"),
                    "a second decision for the same track",
                ));
            }
            out.push(Decision {
                plugin: self.plugin.to_owned(),
                plugin_version: self.plugin_version.to_owned(),
                reasons: self.reasons(d.reasons, &format!("/{i}"))?,
                track: d.track,
                status: match d.status {
                    wit_eligibility::Status::Eligible => Status::Eligible,
                    wit_eligibility::Status::Ineligible => Status::Ineligible,
                    wit_eligibility::Status::Undetermined => Status::Undetermined,
                },
                priority: d.priority,
                missing: d.missing,
            });
        }
        let value = self.within_limits(&out, count)?;
        self.against_schema(schema::decision(), &value)?;
        for (i, d) in out.iter().enumerate() {
            if let Some(j) = d
                .missing
                .iter()
                .position(|p| !crate::case::is_case_field(p))
            {
                return Err(self.invalid(
                    format!("/{i}/missing/{j}"),
                    "is not a field of the canonical case",
                ));
            }
        }
        Ok(out)
    }

    /// Converts and checks a referral answer.
    pub fn referrals(&self, raw: Vec<wit_referral::Referral>) -> Result<Vec<Referral>, Error> {
        let count = raw.len() + raw.iter().map(|r| r.reasons.len()).sum::<usize>();
        let mut out = Vec::with_capacity(raw.len());
        for (i, r) in raw.into_iter().enumerate() {
            self.rule_enabled(&r.rule, format!("/{i}/rule"))?;
            let provider = match r.provider {
                Some(p) => Some(Provider {
                    name: self.free_text(&p.name, format!("/{i}/provider/name"))?,
                    contact: self.free_text(&p.contact, format!("/{i}/provider/contact"))?,
                    id: p.id,
                }),
                None => None,
            };
            out.push(Referral {
                plugin: self.plugin.to_owned(),
                plugin_version: self.plugin_version.to_owned(),
                reasons: self.reasons(r.reasons, &format!("/{i}"))?,
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
