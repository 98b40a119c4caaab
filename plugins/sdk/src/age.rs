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
    /// Taken from `child.age_estimate_years`.
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

/// The child's age at `on`: completed years from the date of birth, else the
/// estimate; `Ok(None)` when neither is recorded.
///
/// # Errors
/// `invalid-case` when the date of birth is after `on`.
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
    Ok(child.age_estimate_years.map(|years| Age {
        years: u32::from(years),
        source: AgeSource::Estimate,
    }))
}
