//! The as-of moment of an evaluation.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::error::Error;

/// The moment an evaluation is made "as of": an RFC 3339 date-time with an
/// offset. Plugins have no clock; this is their only "now".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AsOf(OffsetDateTime);

/// East Africa Time (+03:00), the offset of every Kenyan county: the CLI's
/// default for a date-only as-of and for "now".
pub const EAST_AFRICA_TIME: UtcOffset = match UtcOffset::from_hms(3, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

impl AsOf {
    /// Parses an RFC 3339 date-time with an offset, or a `YYYY-MM-DD` date,
    /// which means the start of that day at `offset`.
    ///
    /// # Errors
    /// [`Error::InvalidAsOf`] when `text` is neither.
    pub fn parse(text: &str, offset: UtcOffset) -> Result<AsOf, Error> {
        if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
            return Ok(AsOf(at));
        }
        Date::parse(text, format_description!("[year]-[month]-[day]"))
            .map(|date| AsOf(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(offset)))
            .map_err(|_| {
                Error::InvalidAsOf(
                    "expected a date (YYYY-MM-DD) or an RFC 3339 date-time with an offset \
                     (YYYY-MM-DDThh:mm:ss+03:00)"
                        .into(),
                )
            })
    }

    /// The current moment at `offset`, to the second.
    pub fn now(offset: UtcOffset) -> AsOf {
        let now = OffsetDateTime::now_utc().to_offset(offset);
        AsOf(now.replace_nanosecond(0).unwrap_or(now))
    }

    /// An as-of from a date-time.
    pub fn at(at: OffsetDateTime) -> AsOf {
        AsOf(at)
    }

    /// The date-time.
    pub fn datetime(&self) -> OffsetDateTime {
        self.0
    }

    /// The as-of date, as written in the as-of's own offset.
    pub fn date(&self) -> Date {
        self.0.date()
    }

    /// RFC 3339 text, in the as-of's own offset.
    pub fn to_rfc3339(&self) -> String {
        self.0.format(&Rfc3339).unwrap_or_default()
    }
}

impl std::fmt::Display for AsOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_means_the_start_of_that_day() {
        let a = AsOf::parse("2026-07-01", EAST_AFRICA_TIME).unwrap();
        assert_eq!(a.to_rfc3339(), "2026-07-01T00:00:00+03:00");
    }

    #[test]
    fn a_datetime_keeps_its_own_offset_and_date() {
        let a = AsOf::parse("2026-07-01T01:00:00+03:00", UtcOffset::UTC).unwrap();
        assert_eq!(a.date().to_string(), "2026-07-01");
        assert!(AsOf::parse("2026-07-01T01:00:00", UtcOffset::UTC).is_err());
        assert!(AsOf::parse("2026-02-30", UtcOffset::UTC).is_err());
    }
}
