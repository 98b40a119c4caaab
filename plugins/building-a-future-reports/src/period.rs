//! Calendar quarters (`YYYY-Qn`).

use kinga_plugin_sdk::time::{Date, Month};

/// A calendar quarter, as its first and last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarter {
    /// The label, e.g. `2026-Q3`.
    pub year: i32,
    /// 1 to 4.
    pub number: u8,
    /// First day.
    pub start: Date,
    /// Last day.
    pub end: Date,
}

impl Quarter {
    /// Parses `YYYY-Qn`.
    pub fn parse(text: &str) -> Option<Quarter> {
        let (year, quarter) = text.split_once("-Q")?;
        if year.len() != 4 || quarter.len() != 1 {
            return None;
        }
        let year: i32 = year.parse().ok()?;
        let number: u8 = quarter.parse().ok()?;
        if !(1..=4).contains(&number) {
            return None;
        }
        let first_month = Month::try_from(3 * (number - 1) + 1).ok()?;
        let last_month = Month::try_from(3 * number).ok()?;
        let start = Date::from_calendar_date(year, first_month, 1).ok()?;
        let end = Date::from_calendar_date(year, last_month, last_month.length(year)).ok()?;
        Some(Quarter {
            year,
            number,
            start,
            end,
        })
    }

    /// Whether `date` falls in the quarter.
    pub fn contains(&self, date: Date) -> bool {
        self.start <= date && date <= self.end
    }

    /// The label.
    pub fn label(&self) -> String {
        format!("{}-Q{}", self.year, self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_have_their_calendar_bounds() {
        let q = Quarter::parse("2026-Q3").unwrap();
        assert_eq!(
            (q.start.to_string(), q.end.to_string()),
            ("2026-07-01".into(), "2026-09-30".into())
        );
        let q = Quarter::parse("2024-Q1").unwrap();
        assert_eq!(q.end.to_string(), "2024-03-31");
        for bad in [
            "2026-Q5", "2026-Q0", "2026Q3", "26-Q3", "2026-q3", "2026-Q3x",
        ] {
            assert!(Quarter::parse(bad).is_none(), "{bad}");
        }
    }
}
