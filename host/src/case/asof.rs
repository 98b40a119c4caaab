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

/// The years an as-of may fall in. Anything outside is a typing slip or a
/// placeholder, not a moment a child's case is evaluated at; refusing it at
/// the edge also keeps every plugin's date arithmetic far from the limits
/// of its calendar types.
pub const AS_OF_YEARS: std::ops::RangeInclusive<i32> = 2000..=2199;

impl AsOf {
    /// Parses an RFC 3339 date-time with an offset, or a `YYYY-MM-DD` date,
    /// which means the start of that day at `offset`. A date-time is
    /// converted to `offset`, so that one instant is one as-of whatever
    /// offset it was written with (its date is the date at `offset`).
    ///
    /// # Errors
    /// [`Error::InvalidAsOf`] when `text` is neither, or falls outside
    /// [`AS_OF_YEARS`].
    pub fn parse(text: &str, offset: UtcOffset) -> Result<AsOf, Error> {
        let parsed = match OffsetDateTime::parse(text, &Rfc3339) {
            Ok(at) => AsOf(at.to_offset(offset)),
            Err(_) => Date::parse(text, format_description!("[year]-[month]-[day]"))
                .map(|date| {
                    AsOf(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(offset))
                })
                .map_err(|_| {
                    Error::InvalidAsOf(
                        "expected a date (YYYY-MM-DD) or an RFC 3339 date-time with an offset \
                         (YYYY-MM-DDThh:mm:ss+03:00)"
                            .into(),
                    )
                })?,
        };
        parsed.check_span()?;
        Ok(parsed)
    }

    /// Refuses an as-of outside [`AS_OF_YEARS`].
    ///
    /// # Errors
    /// [`Error::InvalidAsOf`] naming the span.
    pub fn check_span(&self) -> Result<(), Error> {
        if AS_OF_YEARS.contains(&self.0.year()) {
            Ok(())
        } else {
            Err(Error::InvalidAsOf(format!(
                "the year must be from {} to {}",
                AS_OF_YEARS.start(),
                AS_OF_YEARS.end()
            )))
        }
    }

    /// The same instant at `offset`.
    pub fn to_offset(&self, offset: UtcOffset) -> AsOf {
        AsOf(self.0.to_offset(offset))
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
    fn a_datetime_is_converted_to_the_offset_given() {
        let a = AsOf::parse("2026-06-30T22:00:00Z", EAST_AFRICA_TIME).unwrap();
        assert_eq!(a.date().to_string(), "2026-07-01");
        assert_eq!(a.to_rfc3339(), "2026-07-01T01:00:00+03:00");
        let b = AsOf::parse("2026-07-01T01:00:00+03:00", EAST_AFRICA_TIME).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn malformed_or_implausible_text_is_refused() {
        assert!(AsOf::parse("2026-07-01T01:00:00", UtcOffset::UTC).is_err());
        assert!(AsOf::parse("2026-02-30", UtcOffset::UTC).is_err());
        assert!(AsOf::parse("1999-12-31", EAST_AFRICA_TIME).is_err());
        assert!(AsOf::parse("2200-01-01", EAST_AFRICA_TIME).is_err());
        assert!(AsOf::parse("2199-12-31", EAST_AFRICA_TIME).is_ok());
    }
}
