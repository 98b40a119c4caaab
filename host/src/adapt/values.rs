//! Turning one platform value into a canonical one: dates, date-times in
//! the deployment's time zone, whole numbers, booleans.
//!
//! Platforms disagree on types: Primero writes tick boxes as JSON booleans
//! and yes/no radios as the strings `"true"`/`"false"`; DHIS2 writes every
//! value as a string and its timestamps without an offset; CPIMS writes
//! area ids as numbers in one table and strings in another. Each
//! conversion accepts exactly the forms the platforms use and refuses the
//! rest, saying what it expected, never what it found.

use jiff::civil::DateTime as CivilDateTime;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Date;
use time::macros::format_description;

/// How a platform value becomes a canonical one (a profile's `as`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conversion {
    /// A calendar date, `YYYY-MM-DD`, as it is.
    Date,
    /// The date, in the profile's time zone, of a date-time (with or
    /// without offset); a plain date as it is.
    LocalDate,
    /// A date-time; one without an offset is read in the profile's time
    /// zone. Written with the zone's offset.
    Datetime,
    /// A whole number, from a JSON number or a string of digits.
    Integer,
    /// A number, from a JSON number or a numeric string.
    Number,
    /// `true`/`false`, from a JSON boolean or the strings `"true"`/`"false"`.
    Boolean,
    /// Text, as it is.
    Text,
}

/// The precision a converted time value had on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precision {
    /// A date without a time of day.
    Date,
    /// A date and a time of day.
    DateTime,
}

impl Precision {
    /// Its name in provenance.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Date => "date",
            Precision::DateTime => "datetime",
        }
    }
}

/// Parses a strict calendar date `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    if text.len() != 10 {
        return None;
    }
    Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}

/// A converted value and, for times, the precision it had.
pub(crate) type Converted = (Value, Option<Precision>);

impl Conversion {
    /// Converts `value`; the error completes "the value at POINTER ...".
    pub(crate) fn apply(self, value: &Value, zone: &TimeZone) -> Result<Converted, String> {
        match self {
            Conversion::Date => {
                let text = value.as_str().ok_or("is not a date string")?;
                parse_date(text).ok_or("is not a date (YYYY-MM-DD)")?;
                Ok((Value::String(text.to_owned()), Some(Precision::Date)))
            }
            Conversion::LocalDate => {
                let text = value.as_str().ok_or("is not a date or date-time string")?;
                if let Some(date) = parse_date(text) {
                    return Ok((date_value(date), Some(Precision::Date)));
                }
                let zoned = zoned(text, zone)?;
                let date = zoned.date();
                Ok((Value::String(date.to_string()), Some(Precision::DateTime)))
            }
            Conversion::Datetime => {
                let text = value.as_str().ok_or("is not a date-time string")?;
                if parse_date(text).is_some() {
                    return Err("is a date without a time of day: map it to a date field (an incident's occurred_on)".into());
                }
                let zoned = zoned(text, zone)?;
                let written = zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
                Ok((Value::String(written), Some(Precision::DateTime)))
            }
            Conversion::Integer => {
                let number = match value {
                    Value::Number(n) if n.is_i64() || n.is_u64() => n.clone(),
                    Value::String(s) if is_integer_text(s) => {
                        let parsed: i64 = s.parse().map_err(|_| "is too large a number")?;
                        parsed.into()
                    }
                    _ => return Err("is not a whole number".into()),
                };
                Ok((Value::Number(number), None))
            }
            Conversion::Number => {
                let number = match value {
                    Value::Number(n) => n.clone(),
                    Value::String(s) => {
                        let parsed: f64 = s
                            .parse()
                            .ok()
                            .filter(|f: &f64| f.is_finite() && is_number_text(s))
                            .ok_or("is not a number")?;
                        serde_json::Number::from_f64(parsed).ok_or("is not a number")?
                    }
                    _ => return Err("is not a number".into()),
                };
                Ok((Value::Number(number), None))
            }
            Conversion::Boolean => Ok((Value::Bool(boolean(value)?), None)),
            Conversion::Text => {
                let text = value.as_str().ok_or("is not text")?;
                Ok((Value::String(text.to_owned()), None))
            }
        }
    }
}

/// A JSON boolean, or the strings `"true"` and `"false"`.
pub(crate) fn boolean(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        _ => Err("is not true or false".into()),
    }
}

fn date_value(date: Date) -> Value {
    Value::String(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

fn is_integer_text(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_number_text(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'e' | b'E' | b'+'))
}

/// A date-time string in `zone`: one with an offset keeps its instant; one
/// without is read as a wall-clock time there (DHIS2 writes its server's
/// time without an offset).
fn zoned(text: &str, zone: &TimeZone) -> Result<jiff::Zoned, String> {
    if text.len() > 40 {
        return Err("is not a date-time".into());
    }
    if let Ok(instant) = text.parse::<jiff::Timestamp>() {
        return Ok(instant.to_zoned(zone.clone()));
    }
    let civil: CivilDateTime = text
        .parse()
        .map_err(|_| "is not a date-time (with or without an offset)".to_owned())?;
    zone.to_ambiguous_zoned(civil)
        .compatible()
        .map_err(|_| "is not a time that exists in the profile's time zone".to_owned())
}

/// The time zone a profile names (an IANA name, as `Africa/Nairobi`).
pub(crate) fn time_zone(name: &str) -> Result<TimeZone, String> {
    jiff::tz::db()
        .get(name)
        .map_err(|_| "is not a time zone of the IANA database (as Africa/Nairobi)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nairobi() -> TimeZone {
        time_zone("Africa/Nairobi").unwrap()
    }

    #[test]
    fn date_times_are_written_at_the_zone_offset() {
        let zone = nairobi();
        let at = |s: &str| Conversion::Datetime.apply(&json!(s), &zone).map(|v| v.0);
        assert_eq!(
            at("2026-08-09T21:30:00.000"),
            Ok(json!("2026-08-09T21:30:00+03:00"))
        );
        assert_eq!(
            at("2026-08-09T18:30:00Z"),
            Ok(json!("2026-08-09T21:30:00+03:00"))
        );
        assert_eq!(
            at("2026-08-09 21:30:00"),
            Ok(json!("2026-08-09T21:30:00+03:00"))
        );
        assert!(at("2026-08-09").unwrap_err().contains("occurred_on"));
        assert!(at("yesterday").is_err());
    }

    #[test]
    fn local_dates_cross_midnight_in_the_zone() {
        let zone = nairobi();
        let day = |s: &str| Conversion::LocalDate.apply(&json!(s), &zone).map(|v| v.0);
        // 22:30 UTC is 01:30 the next day in Nairobi.
        assert_eq!(day("2026-06-12T22:30:00.000Z"), Ok(json!("2026-06-13")));
        assert_eq!(day("2026-08-10T00:00:00.000"), Ok(json!("2026-08-10")));
        assert_eq!(day("2026-08-10"), Ok(json!("2026-08-10")));
    }

    #[test]
    fn numbers_and_booleans_take_the_platforms_forms() {
        let zone = nairobi();
        assert_eq!(
            Conversion::Integer.apply(&json!("3500"), &zone).unwrap().0,
            json!(3500)
        );
        assert_eq!(
            Conversion::Integer.apply(&json!(15), &zone).unwrap().0,
            json!(15)
        );
        assert!(Conversion::Integer.apply(&json!("3,500"), &zone).is_err());
        assert!(Conversion::Integer.apply(&json!(1.5), &zone).is_err());
        assert_eq!(
            Conversion::Boolean.apply(&json!("true"), &zone).unwrap().0,
            json!(true)
        );
        assert_eq!(
            Conversion::Boolean.apply(&json!(false), &zone).unwrap().0,
            json!(false)
        );
        assert!(Conversion::Boolean.apply(&json!("yes"), &zone).is_err());
        assert!(Conversion::Date.apply(&json!("2026-02-30"), &zone).is_err());
        assert!(time_zone("Mars/Olympus").is_err());
    }
}
