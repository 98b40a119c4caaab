//! The child's age, as the reference rules define it.

use time::Date;

use crate::PluginError;
use crate::case::Case;
use crate::date::completed_years;

/// Where an age came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeSource {
    /// Computed from the date of birth.
    DateOfBirth,
    /// Taken from `child.age_estimate_years` (aged from
    /// `child.age_estimated_on` when that day is recorded).
    Estimate,
}

/// A child's age in completed years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age {
    /// Completed years.
    pub years: u32,
    /// Where it came from.
    pub source: AgeSource,
}

impl Age {
    /// Whether the age lies in `min..=max`.
    pub fn within(self, min: u32, max: u32) -> bool {
        (min..=max).contains(&self.years)
    }
}

/// The pointer to name when no age can be computed.
pub const DATE_OF_BIRTH: &str = "/child/date_of_birth";

/// The pointer of the day an estimate was made.
pub const AGE_ESTIMATED_ON: &str = "/child/age_estimated_on";

/// Every field [`age_at`] reads, for a plugin's `case-fields`.
pub const AGE_FIELDS: &[&str] = &[
    "/child/date_of_birth",
    "/child/age_estimate_years",
    "/child/age_estimated_on",
];

/// The child's age at `on`: completed years from the date of birth, else the
/// estimate plus the completed years since the day it was made (when that
/// day is recorded; else the estimate as it stands); `Ok(None)` when
/// neither is recorded.
///
/// # Errors
/// `invalid-case` when the date of birth (`born-after-as-of`) or the day of
/// the estimate (`estimated-after-as-of`) is after `on`.
pub fn age_at(case: &Case, on: Date) -> Result<Option<Age>, PluginError> {
    let Some(child) = &case.child else {
        return Ok(None);
    };
    if let Some(birth) = child.date_of_birth {
        return completed_years(birth, on)
            .map(|years| {
                Some(Age {
                    years,
                    source: AgeSource::DateOfBirth,
                })
            })
            .ok_or_else(|| PluginError::invalid_case("born-after-as-of", Some(DATE_OF_BIRTH)));
    }
    let Some(estimate) = child.age_estimate_years else {
        return Ok(None);
    };
    let since = match child.age_estimated_on {
        Some(day) => completed_years(day, on).ok_or_else(|| {
            PluginError::invalid_case("estimated-after-as-of", Some(AGE_ESTIMATED_ON))
        })?,
        None => 0,
    };
    Ok(Some(Age {
        years: u32::from(estimate) + since,
        source: AgeSource::Estimate,
    }))
}

/// The child's age on any `day`, earlier or later than the data was
/// recorded, for reports over past periods: from the date of birth (`None`
/// before it), else the estimate aged forward from the day it was made, or
/// backward to a `day` before it (an estimate made in October still says
/// how old the child was in September); `None` when neither is recorded.
/// An evaluation uses [`age_at`], which refuses data dated after its as-of.
pub fn age_on(case: &Case, day: Date) -> Option<Age> {
    let child = case.child.as_ref()?;
    if let Some(birth) = child.date_of_birth {
        return completed_years(birth, day).map(|years| Age {
            years,
            source: AgeSource::DateOfBirth,
        });
    }
    let estimate = u32::from(child.age_estimate_years?);
    let years = match child.age_estimated_on {
        Some(made) if made <= day => estimate + completed_years(made, day)?,
        Some(made) => estimate.saturating_sub(completed_years(day, made)?),
        None => estimate,
    };
    Some(Age {
        years,
        source: AgeSource::Estimate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::parse_date;

    #[test]
    fn an_age_on_a_day_before_the_estimate_counts_back() {
        let case = Case::from_json(
            r#"{"case_id": "C-1", "child": {"age_estimate_years": 12, "age_estimated_on": "2026-10-05"}}"#,
        )
        .unwrap();
        let on = |day: &str| age_on(&case, parse_date(day).unwrap()).map(|a| a.years);
        assert_eq!(on("2026-09-30"), Some(12));
        assert_eq!(on("2025-10-05"), Some(11));
        assert_eq!(on("2027-10-05"), Some(13));
        assert_eq!(on("2000-01-01"), Some(0));
    }

    fn age(child: &str, on: &str) -> Result<Option<u32>, PluginError> {
        let case = Case::from_json(&format!(r#"{{"case_id": "C-1", "child": {child}}}"#)).unwrap();
        age_at(&case, parse_date(on).unwrap()).map(|a| a.map(|a| a.years))
    }

    #[test]
    fn a_dated_estimate_ages_with_the_child() {
        let dated = r#"{"age_estimate_years": 12, "age_estimated_on": "2023-03-01"}"#;
        assert_eq!(age(dated, "2023-03-01").unwrap(), Some(12));
        assert_eq!(age(dated, "2026-02-28").unwrap(), Some(14));
        assert_eq!(age(dated, "2026-03-01").unwrap(), Some(15));
        // Undated: the estimate as it stands.
        assert_eq!(
            age(r#"{"age_estimate_years": 12}"#, "2026-03-01").unwrap(),
            Some(12)
        );
        // The date of birth wins.
        let both = r#"{"date_of_birth": "2016-01-01", "age_estimate_years": 12, "age_estimated_on": "2023-03-01"}"#;
        assert_eq!(age(both, "2026-03-01").unwrap(), Some(10));
    }

    #[test]
    fn an_estimate_made_after_the_as_of_is_refused() {
        let err = age(
            r#"{"age_estimate_years": 12, "age_estimated_on": "2026-03-02"}"#,
            "2026-03-01",
        )
        .unwrap_err();
        assert_eq!(err.code, "estimated-after-as-of");
        assert_eq!(err.pointer.as_deref(), Some(AGE_ESTIMATED_ON));
    }
}
