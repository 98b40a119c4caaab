//! Dates, date-times and ages, with integer calendar arithmetic only.
//!
//! Ages are completed years at a date: a child born on 2010-03-15 is 15 on
//! 2025-03-15 and 14 the day before. A child born on 29 February has her
//! birthday on 1 March in years without one.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Month, OffsetDateTime, UtcOffset};

/// Parses a `YYYY-MM-DD` date. Impossible dates (`2010-02-30`) are errors.
pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}

/// Formats a date as `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// East Africa Time, +03:00: kept by every Kenyan county all year.
pub const EAST_AFRICA_TIME: UtcOffset = match UtcOffset::from_hms(3, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// The programme's offset from a setting written `+HH:MM`, East Africa
/// Time when it cannot be read (a plugin's settings schema and check should
/// make that impossible).
pub fn programme_offset(setting: &str) -> UtcOffset {
    parse_utc_offset(setting).unwrap_or(EAST_AFRICA_TIME)
}

/// A UTC offset written `+HH:MM` or `-HH:MM` (the programme's offset, a
/// setting of the reference plugins: `+03:00` is East Africa Time), or
/// `None` when it is not one.
pub fn parse_utc_offset(text: &str) -> Option<UtcOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1i8, &text[1..]),
        b'-' => (-1i8, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: i8 = hours.parse().ok()?;
    let minutes: i8 = minutes.parse().ok()?;
    if hours > 14 || minutes > 59 {
        return None;
    }
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

/// Parses an RFC 3339 date-time with an offset, keeping the offset it was
/// written in.
pub fn parse_datetime(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Formats a date-time as RFC 3339 in its own offset.
pub fn format_datetime(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// Completed years between `birth` and `on`, or `None` when `on` is before
/// `birth`.
pub fn completed_years(birth: Date, on: Date) -> Option<u32> {
    if on < birth {
        return None;
    }
    let mut years = on.year() - birth.year();
    if (on.month() as u8, on.day()) < birthday_in(birth, on.year()) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

/// The (month, day) of the birthday in `year`: 29 February becomes 1 March in
/// a common year.
fn birthday_in(birth: Date, year: i32) -> (u8, u8) {
    if birth.month() == Month::February && birth.day() == 29 && !time::util::is_leap_year(year) {
        (Month::March as u8, 1)
    } else {
        (birth.month() as u8, birth.day())
    }
}

/// Serde adapters for `YYYY-MM-DD` dates.
pub(crate) mod date_serde {
    use serde::{Deserialize, Deserializer};
    use time::Date;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = <&str>::deserialize(d)?;
        super::parse_date(text).ok_or_else(|| serde::de::Error::custom("not a YYYY-MM-DD date"))
    }

    pub mod option {
        use serde::{Deserialize, Deserializer};
        use time::Date;

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
            match Option::<&str>::deserialize(d)? {
                None => Ok(None),
                Some(text) => super::super::parse_date(text)
                    .map(Some)
                    .ok_or_else(|| serde::de::Error::custom("not a YYYY-MM-DD date")),
            }
        }
    }
}

/// Serde adapter for optional RFC 3339 date-times.
pub(crate) mod datetime_serde {
    pub mod option {
        use serde::{Deserialize, Deserializer};
        use time::OffsetDateTime;

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            match Option::<&str>::deserialize(d)? {
                None => Ok(None),
                Some(text) => super::super::parse_datetime(text)
                    .map(Some)
                    .ok_or_else(|| serde::de::Error::custom("not an RFC 3339 date-time")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    #[test]
    fn offsets_are_read_as_written_and_nothing_else() {
        assert_eq!(
            parse_utc_offset("+03:00"),
            UtcOffset::from_hms(3, 0, 0).ok()
        );
        assert_eq!(
            parse_utc_offset("-09:30"),
            UtcOffset::from_hms(-9, -30, 0).ok()
        );
        assert_eq!(parse_utc_offset("+00:00"), Some(UtcOffset::UTC));
        for bad in [
            "03:00", "+3:00", "+15:00", "+03:60", "+03", "Z", "", "+0a:00",
        ] {
            assert_eq!(parse_utc_offset(bad), None, "{bad}");
        }
    }

    #[test]
    fn age_changes_on_the_birthday_not_the_day_before() {
        assert_eq!(completed_years(d("2010-03-15"), d("2025-03-14")), Some(14));
        assert_eq!(completed_years(d("2010-03-15"), d("2025-03-15")), Some(15));
    }

    #[test]
    fn leap_day_birthdays_fall_on_the_first_of_march_in_common_years() {
        assert_eq!(completed_years(d("2012-02-29"), d("2021-02-28")), Some(8));
        assert_eq!(completed_years(d("2012-02-29"), d("2021-03-01")), Some(9));
        assert_eq!(completed_years(d("2012-02-29"), d("2024-02-29")), Some(12));
    }

    #[test]
    fn no_age_before_birth() {
        assert_eq!(completed_years(d("2020-01-02"), d("2020-01-01")), None);
        assert_eq!(completed_years(d("2020-01-02"), d("2020-01-02")), Some(0));
    }

    #[test]
    fn impossible_dates_do_not_parse() {
        assert!(parse_date("2010-02-30").is_none());
        assert!(parse_date("2010-2-3").is_none());
        assert!(parse_date("2012-02-29").is_some());
    }

    #[test]
    fn datetimes_keep_their_offset() {
        let at = parse_datetime("2026-07-01T01:30:00+03:00").unwrap();
        assert_eq!(at.date(), d("2026-07-01"));
        assert_eq!(format_datetime(at), "2026-07-01T01:30:00+03:00");
        assert!(parse_datetime("2026-07-01T01:30:00").is_none());
    }
}
