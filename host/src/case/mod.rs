//! Validation of incoming cases against the canonical case 1.1, and the
//! reduced copy each plugin receives.
//!
//! A case passes three gates before any plugin sees it: strict JSON (size,
//! depth, no duplicate keys, exact numbers: [`crate::case::json`]), the schema
//! (`schemas/case.schema.json`), and the checks a schema cannot express
//! (real calendar dates, a birth before registration, services that end
//! after they start). Every refusal names the JSON pointer of the field.

pub(crate) mod asof;
pub(crate) mod json;
pub(crate) mod jsonl;
pub(crate) mod schema;
pub(crate) mod synth;

use serde_json::{Map, Value};
use time::Date;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::case::json::{JsonLimits, parse_strict};
use crate::case::schema::Violation;

/// Largest case, in bytes of JSON (canonical case v1: 64 KiB).
pub const MAX_CASE_BYTES: usize = 64 * 1024;
/// Deepest nesting of a case (the schema needs 3; `extensions` gets room).
pub const MAX_CASE_DEPTH: usize = 32;
/// At most this many problems are reported for one case.
const MAX_VIOLATIONS: usize = 20;

/// A case that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidCase {
    value: Value,
}

/// Why a case was refused: one or more problems, each with its pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRejection {
    /// The problems, most important first. Never empty.
    pub violations: Vec<Violation>,
}

impl CaseRejection {
    /// A rejection with one problem.
    pub fn one(pointer: &str, message: impl Into<String>) -> Self {
        CaseRejection {
            violations: vec![Violation {
                pointer: pointer.to_owned(),
                message: message.into(),
            }],
        }
    }
}

impl std::fmt::Display for CaseRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::case::schema::write_first(f, &self.violations, "invalid case")
    }
}

impl std::error::Error for CaseRejection {}

/// The length of `value` written as compact JSON (as `serde_json` writes
/// it), counted without writing it.
pub(crate) fn compact_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(number) => {
            struct Count(usize);
            impl std::fmt::Write for Count {
                fn write_str(&mut self, text: &str) -> std::fmt::Result {
                    self.0 += text.len();
                    Ok(())
                }
            }
            let mut count = Count(0);
            let _ = std::fmt::Write::write_fmt(&mut count, format_args!("{number}"));
            count.0
        }
        Value::String(text) => string_size(text),
        Value::Array(items) => {
            2 + items.len().saturating_sub(1) + items.iter().map(compact_size).sum::<usize>()
        }
        Value::Object(members) => {
            2 + members.len().saturating_sub(1)
                + members
                    .iter()
                    .map(|(key, value)| string_size(key) + 1 + compact_size(value))
                    .sum::<usize>()
        }
    }
}

/// The length of `text` as a JSON string: quotes, and escapes where
/// `serde_json` writes them (`\"`, `\\`, the short forms, `\u00XX`).
fn string_size(text: &str) -> usize {
    // Looked for first, 16 bytes at a time without branches (most text
    // has nothing to escape).
    let needs_escape = |byte: u8| (byte < 0x20) | (byte == b'"') | (byte == b'\\');
    let mut chunks = text.as_bytes().chunks_exact(16);
    let mut escapes = false;
    for chunk in &mut chunks {
        escapes |= chunk
            .iter()
            .fold(false, |found, byte| found | needs_escape(*byte));
    }
    escapes |= chunks.remainder().iter().any(|byte| needs_escape(*byte));
    if !escapes {
        return text.len() + 2;
    }
    2 + text
        .bytes()
        .map(|byte| match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

impl ValidCase {
    /// Parses and validates one case from JSON bytes.
    ///
    /// # Errors
    /// A [`CaseRejection`] naming each problem's JSON pointer.
    pub fn parse(bytes: &[u8]) -> Result<ValidCase, CaseRejection> {
        let limits = JsonLimits {
            max_bytes: MAX_CASE_BYTES,
            max_depth: MAX_CASE_DEPTH,
        };
        let value = parse_strict(bytes, limits).map_err(|e| {
            CaseRejection::one(
                &schema::redact_pointer(&e.pointer, schema::bundled_names()),
                format!("not valid JSON: {}", e.message),
            )
        })?;
        ValidCase::from_value(value)
    }

    /// Validates an already parsed case.
    ///
    /// Prefer [`ValidCase::parse`] for untrusted text: a `Value` has already
    /// lost duplicate keys.
    ///
    /// # Errors
    /// A [`CaseRejection`] naming each problem's JSON pointer.
    pub fn from_value(value: Value) -> Result<ValidCase, CaseRejection> {
        // However the case arrived (a file, a line, inside a larger HTTP
        // body), it is no larger than the schema's cap.
        let size = compact_size(&value);
        if size > MAX_CASE_BYTES {
            return Err(CaseRejection::one(
                "",
                format!(
                    "the case is {size} bytes as compact JSON; the largest case is {MAX_CASE_BYTES} bytes"
                ),
            ));
        }
        let mut violations = schema::violations(schema::case(), &value, MAX_VIOLATIONS);
        if !violations.is_empty() {
            // Said precisely where the schema can only say "none of the
            // allowed shapes".
            let precise = version_1_1_shape(&value);
            violations.retain(|v| !precise.iter().any(|p| p.replaces(v)));
            violations.splice(0..0, precise.into_iter().map(|p| p.violation));
            // A pointer never repeats a key the schema does not declare.
            for v in &mut violations {
                v.pointer = schema::redact_pointer(&v.pointer, schema::bundled_names());
            }
            return Err(CaseRejection { violations });
        }
        let violations = semantic_violations(&value);
        if !violations.is_empty() {
            return Err(CaseRejection { violations });
        }
        let mut value = value;
        normalise_instants(&mut value);
        Ok(ValidCase { value })
    }

    /// The validated case.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The case's pseudonymous id.
    pub fn case_id(&self) -> &str {
        self.value
            .get("case_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The date of birth, if recorded.
    pub fn date_of_birth(&self) -> Option<Date> {
        self.value
            .pointer("/child/date_of_birth")
            .and_then(Value::as_str)
            .and_then(parse_date)
    }

    /// The day an age estimate was made, if recorded (case 1.1).
    pub fn age_estimated_on(&self) -> Option<Date> {
        self.value
            .pointer("/child/age_estimated_on")
            .and_then(Value::as_str)
            .and_then(parse_date)
    }

    /// The days of the date-only incidents (case 1.1), with their pointers.
    pub fn incident_days(&self) -> impl Iterator<Item = (String, Date)> + '_ {
        self.incident_member("occurred_on", parse_date)
    }

    /// The incident times, with their pointers.
    pub fn incident_times(&self) -> impl Iterator<Item = (String, time::OffsetDateTime)> + '_ {
        self.incident_member("occurred_at", parse_datetime)
    }

    /// Member `name` of each incident that has it, read by `parse`, with
    /// its pointer.
    fn incident_member<T: 'static>(
        &self,
        name: &'static str,
        parse: fn(&str) -> Option<T>,
    ) -> impl Iterator<Item = (String, T)> + '_ {
        array(&self.value, "incidents")
            .enumerate()
            .filter_map(move |(i, incident)| {
                let value = incident.get(name).and_then(Value::as_str).and_then(parse)?;
                Some((format!("/incidents/{i}/{name}"), value))
            })
    }

    /// The case reduced to `case_id` and the fields at `pointers`: what a
    /// plugin that declared those fields receives. The day an age estimate
    /// was made travels with the estimate, declared or not: without it, the
    /// estimate would be read as made on the as-of date.
    pub fn projected(&self, pointers: &[String]) -> Value {
        const ESTIMATE: &str = "/child/age_estimate_years";
        const ESTIMATED_ON: &str = "/child/age_estimated_on";
        if pointers.iter().any(|p| p == ESTIMATE) && !pointers.iter().any(|p| p == ESTIMATED_ON) {
            let mut with_day = pointers.to_vec();
            with_day.push(ESTIMATED_ON.into());
            return project(&self.value, &with_day);
        }
        project(&self.value, pointers)
    }

    /// [`ValidCase::projected`] as canonical JSON (keys sorted, no
    /// insignificant white space).
    pub fn projected_json(&self, pointers: &[String]) -> String {
        canonical_json(&self.projected(pointers))
    }

    /// The whole case as canonical JSON.
    pub fn canonical_json(&self) -> String {
        canonical_json(&self.value)
    }
}

/// Rewrites every date-time of a valid case at East Africa Time, so that
/// one instant is one text whatever offset a platform wrote it with: a
/// plugin reading the local date of an incident gets the same date for
/// `2026-06-30T09:00:00+14:00` and `2026-06-29T07:00:00-12:00`.
fn normalise_instants(case: &mut Value) {
    let Some(incidents) = case.get_mut("incidents").and_then(Value::as_array_mut) else {
        return;
    };
    for incident in incidents {
        let Some(at) = incident.get_mut("occurred_at") else {
            continue;
        };
        let normalised = at
            .as_str()
            .and_then(parse_datetime)
            .map(|instant| instant.to_offset(asof::EAST_AFRICA_TIME))
            .and_then(|instant| {
                instant
                    .format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
        if let Some(text) = normalised {
            *at = Value::String(text);
        }
    }
}

/// Whole years from `born` to `on` (a birthday on 29 February counts on
/// 1 March in other years).
pub fn completed_years(born: Date, on: Date) -> i32 {
    let mut years = on.year() - born.year();
    if (on.month() as u8, on.day()) < (born.month() as u8, born.day()) {
        years -= 1;
    }
    years
}

/// Serialises `value` with object keys sorted, whatever map type serde_json
/// was built with.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for key in keys {
                    out.insert(key.clone(), sorted(&map[key]));
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&sorted(value)).unwrap_or_default()
}

/// The values of a case that would identify a child if a plugin repeated
/// them in free text or in its log: the case id, the date of birth, the
/// school id, incident times, and every string in `extensions` (at least 4
/// characters long, so that short codes do not match everywhere).
pub fn identifying_values(case: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for pointer in [
        "/case_id",
        "/child/date_of_birth",
        "/child/age_estimated_on",
        "/education/school_id",
    ] {
        if let Some(text) = case.pointer(pointer).and_then(Value::as_str) {
            out.push(text.to_owned());
        }
    }
    for incident in case
        .get("incidents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for time in ["occurred_at", "occurred_on"] {
            if let Some(at) = incident.get(time).and_then(Value::as_str) {
                out.push(at.to_owned());
            }
        }
    }
    fn strings(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) if s.chars().count() >= 4 => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            Value::Object(map) => map.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    if let Some(extensions) = case.get("extensions") {
        strings(extensions, &mut out);
    }
    out.retain(|v| !v.is_empty());
    out.sort();
    out.dedup();
    out
}

/// A copy of `case` holding only `case_id` and the fields at `pointers`
/// (object paths such as `/child/date_of_birth` or `/incidents`).
pub fn project(case: &Value, pointers: &[String]) -> Value {
    let mut out = Map::new();
    if let Some(id) = case.get("case_id") {
        out.insert("case_id".to_owned(), id.clone());
    }
    let mut out = Value::Object(out);
    for pointer in pointers {
        if let Some(value) = case.pointer(pointer) {
            insert_at(&mut out, pointer, value.clone());
        }
    }
    out
}

fn insert_at(root: &mut Value, pointer: &str, value: Value) {
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let mut node = root;
    for token in parents {
        let Value::Object(map) = node else { return };
        node = map
            .entry(token.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if let Value::Object(map) = node {
        map.insert(last.clone(), value);
    }
}

fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}

fn parse_datetime(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// A violation of a case 1.1 rule, said more precisely than the schema's
/// own message at `replaces`.
struct Precise {
    violation: Violation,
    replaces: String,
}

impl Precise {
    /// Whether `v` is the schema's vaguer word for the same problem.
    fn replaces(&self, v: &Violation) -> bool {
        v.pointer == self.replaces
            && (v.message.contains("allowed shapes") || v.message.contains("age_estimate_years"))
    }
}

/// The case 1.1 rules a schema states only as "exactly one of" or "only
/// with": an incident with both or neither of `occurred_at` and
/// `occurred_on`, and an estimate date without an estimate.
fn version_1_1_shape(case: &Value) -> Vec<Precise> {
    let mut out = Vec::new();
    for (i, incident) in array(case, "incidents").enumerate() {
        let at = format!("/incidents/{i}");
        match (incident.get("occurred_at"), incident.get("occurred_on")) {
            (Some(_), Some(_)) => out.push(Precise {
                violation: Violation {
                    pointer: format!("{at}/occurred_on"),
                    message: "is recorded beside occurred_at: an incident has exactly one of occurred_at (a date-time) and occurred_on (a date whose time of day is unknown)".into(),
                },
                replaces: at,
            }),
            (None, None) if incident.is_object() => out.push(Precise {
                violation: Violation {
                    pointer: at.clone(),
                    message: "has neither occurred_at nor occurred_on: an incident has exactly one (occurred_at for a date-time, occurred_on for a date whose time of day is unknown)".into(),
                },
                replaces: at,
            }),
            _ => {}
        }
    }
    if let Some(child) = case.get("child")
        && child.get("age_estimated_on").is_some()
        && child.get("age_estimate_years").is_none()
    {
        out.push(Precise {
            violation: Violation {
                pointer: "/child/age_estimated_on".into(),
                message:
                    "is recorded without /child/age_estimate_years: it is the day of an estimate"
                        .into(),
            },
            replaces: "/child".into(),
        });
    }
    out
}

/// The checks the schema cannot express.
fn semantic_violations(case: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    // The date at `member` of `object`; a problem at `pointer()` (made
    // only then) when it is not a real calendar date.
    let mut date_in = |object: &Value, member: &str, pointer: &dyn Fn() -> String| {
        let text = object.get(member)?.as_str()?;
        let date = parse_date(text);
        if date.is_none() {
            out.push(Violation {
                pointer: pointer(),
                message: "is not a real calendar date".into(),
            });
        }
        date
    };
    let child = case.get("child").unwrap_or(&Value::Null);
    let registered = date_in(case, "registered_on", &|| "/registered_on".into());
    let born = date_in(child, "date_of_birth", &|| "/child/date_of_birth".into());
    let mut service_dates = Vec::new();
    for (i, service) in array(case, "services").enumerate() {
        let started = date_in(service, "started_on", &|| {
            format!("/services/{i}/started_on")
        });
        let ended = date_in(service, "ended_on", &|| format!("/services/{i}/ended_on"));
        service_dates.push((i, started, ended));
    }
    for (i, referral) in array(case, "referrals").enumerate() {
        date_in(referral, "made_on", &|| format!("/referrals/{i}/made_on"));
    }
    let mut bad_instants = Vec::new();
    for (i, incident) in array(case, "incidents").enumerate() {
        if let Some(text) = incident.get("occurred_at").and_then(Value::as_str)
            && parse_datetime(text).is_none()
        {
            bad_instants.push(Violation {
                pointer: format!("/incidents/{i}/occurred_at"),
                message: "is not a real RFC 3339 date-time".into(),
            });
        }
        date_in(incident, "occurred_on", &|| {
            format!("/incidents/{i}/occurred_on")
        });
    }
    date_in(child, "age_estimated_on", &|| {
        "/child/age_estimated_on".into()
    });
    out.extend(bad_instants);
    if let (Some(born), Some(registered)) = (born, registered)
        && born > registered
    {
        out.push(Violation {
            pointer: "/child/date_of_birth".into(),
            message: "is after /registered_on: a child cannot be registered before being born"
                .into(),
        });
    }
    for (i, started, ended) in service_dates {
        if let (Some(started), Some(ended)) = (started, ended)
            && ended < started
        {
            out.push(Violation {
                pointer: format!("/services/{i}/ended_on"),
                message: "is before the service's started_on".into(),
            });
        }
    }
    out
}

fn array<'a>(case: &'a Value, field: &str) -> impl Iterator<Item = &'a Value> {
    case.get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Checks that `pointer` names a field of the canonical case: an object path
/// through the schema's `properties` (no array indices).
pub fn is_case_field(pointer: &str) -> bool {
    let Some(rest) = pointer.strip_prefix('/') else {
        return false;
    };
    let mut node = schema::case_schema();
    for token in rest.split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        let Some(next) = node.get("properties").and_then(|p| p.get(&token)) else {
            return false;
        };
        node = next;
        if let Some(reference) = node.get("$ref").and_then(Value::as_str)
            && let Some(name) = reference.strip_prefix("#/$defs/")
        {
            node = &schema::case_schema()["$defs"][name];
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_size_is_the_length_serde_json_writes() {
        let value = json!({
            "plain": "text", "quote\"key": "a\\b\"c", "controls": "\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}",
            "unicode": "Ng'ang'a \u{e9}\u{1f600}", "numbers": [0, -1, 9007199254740992_u64, 1.5, -0.25, 1e-7, 12345.678],
            "nested": {"empty": {}, "list": [], "flags": [true, false, null]},
            // Longer than one 16-byte chunk: escapes inside a chunk and after.
            "long": ["a plain sentence of more than sixteen bytes, then a \"quote\" and a\ttab",
                     "0123456789abcde\\", "0123456789abcdef0123456789abcdef", "x\u{1}0123456789abcdefgh"]
        });
        for value in [
            value.clone(),
            json!([]),
            json!({}),
            json!(""),
            json!(0.1),
            value["nested"].clone(),
        ] {
            assert_eq!(
                compact_size(&value),
                serde_json::to_vec(&value).unwrap().len(),
                "{value}"
            );
        }
    }

    fn minimal() -> Value {
        json!({
            "case_id": "C-1",
            "registered_on": "2026-01-10",
            "status": "open",
            "child": {"sex": "female", "county": "kwale", "date_of_birth": "2012-05-01"},
            "survivor_status": "survivor"
        })
    }

    fn rejection(value: Value) -> CaseRejection {
        ValidCase::from_value(value).unwrap_err()
    }

    #[test]
    fn a_minimal_case_is_valid() {
        ValidCase::from_value(minimal()).unwrap();
    }

    #[test]
    fn impossible_dates_are_refused_with_their_pointer() {
        let mut case = minimal();
        case["child"]["date_of_birth"] = json!("2010-02-30");
        let r = rejection(case);
        assert_eq!(r.violations[0].pointer, "/child/date_of_birth");
    }

    #[test]
    fn a_birth_after_registration_is_refused() {
        let mut case = minimal();
        case["child"]["date_of_birth"] = json!("2026-01-11");
        let r = rejection(case);
        assert_eq!(r.violations[0].pointer, "/child/date_of_birth");
        assert!(r.violations[0].message.contains("registered"));
    }

    #[test]
    fn unknown_fields_and_type_confusion_are_refused() {
        let mut case = minimal();
        case["child"]["name"] = json!("x");
        assert_eq!(rejection(case).violations[0].pointer, "/child");
        let mut case = minimal();
        case["child"]["age_estimate_years"] = json!("17");
        assert_eq!(
            rejection(case).violations[0].pointer,
            "/child/age_estimate_years"
        );
        let mut case = minimal();
        case["consent"] = json!({"information_sharing": null});
        assert_eq!(
            rejection(case).violations[0].pointer,
            "/consent/information_sharing"
        );
    }

    #[test]
    fn a_service_ending_before_it_starts_is_refused() {
        let mut case = minimal();
        case["services"] = json!([{"type": "health", "started_on": "2026-02-01", "ended_on": "2026-01-31", "status": "completed"}]);
        assert_eq!(
            rejection(case).violations[0].pointer,
            "/services/0/ended_on"
        );
    }

    #[test]
    fn projection_keeps_only_declared_fields() {
        let mut case = minimal();
        case["extensions"] = json!({"note": "free text"});
        let valid = ValidCase::from_value(case).unwrap();
        let projected: Value = serde_json::from_str(
            &valid.projected_json(&["/child/date_of_birth".into(), "/status".into()]),
        )
        .unwrap();
        assert_eq!(
            projected,
            json!({"case_id": "C-1", "status": "open", "child": {"date_of_birth": "2012-05-01"}})
        );
    }

    #[test]
    fn case_fields_are_checked_against_the_schema() {
        assert!(is_case_field("/child/date_of_birth"));
        assert!(is_case_field("/incidents"));
        assert!(is_case_field("/education/school_has_child_rights_club"));
        assert!(!is_case_field("/child/name"));
        assert!(!is_case_field("/incidents/0/kind"));
        assert!(!is_case_field("child"));
    }
}
