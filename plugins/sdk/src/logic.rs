//! Three-valued rule logic: a track is ineligible as soon as one condition
//! is known to fail, undetermined when none fails but one cannot be decided,
//! eligible when all hold. Never a silent "no" for missing data.

use crate::{Decision, Reason, Status};

/// The outcome of one condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The condition holds.
    Holds(Reason),
    /// The condition is known not to hold.
    Fails(Reason),
    /// The condition cannot be decided; `missing` is the JSON pointer of the
    /// field that would decide it.
    Unknown {
        /// Why it cannot be decided.
        reason: Reason,
        /// The field that would decide it.
        missing: String,
    },
}

impl Check {
    /// A condition that holds, for the reason `code` of `rule`.
    pub fn holds(rule: &str, code: &str) -> Check {
        Check::Holds(Reason::new(rule, code))
    }

    /// A condition that fails, for the reason `code` of `rule`.
    pub fn fails(rule: &str, code: &str) -> Check {
        Check::Fails(Reason::new(rule, code))
    }

    /// A condition that cannot be decided without the field at `missing`.
    pub fn unknown(rule: &str, code: &str, missing: &str) -> Check {
        Check::Unknown {
            reason: Reason::new(rule, code),
            missing: missing.to_owned(),
        }
    }

    /// `holds` (for the reason `holds`) when `condition`, else `fails`.
    pub fn either(rule: &str, condition: bool, holds: &str, fails: &str) -> Check {
        if condition {
            Check::holds(rule, holds)
        } else {
            Check::fails(rule, fails)
        }
    }
}

/// Combines the checks of one track into its decision: the failing reasons
/// when any fails; else the undecidable ones with their missing pointers;
/// else every holding reason.
pub fn decide(track: &str, checks: impl IntoIterator<Item = Check>) -> Decision {
    let (mut holds, mut fails, mut unknown, mut missing) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for check in checks {
        match check {
            Check::Holds(reason) => holds.push(reason),
            Check::Fails(reason) => fails.push(reason),
            Check::Unknown {
                reason,
                missing: pointer,
            } => {
                unknown.push(reason);
                if !missing.contains(&pointer) {
                    missing.push(pointer);
                }
            }
        }
    }
    let (status, reasons, missing) = if !fails.is_empty() {
        (Status::Ineligible, fails, Vec::new())
    } else if !unknown.is_empty() {
        (Status::Undetermined, unknown, missing)
    } else {
        (Status::Eligible, holds, Vec::new())
    };
    Decision {
        track: track.to_owned(),
        status,
        priority: None,
        reasons,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failure_outweighs_unknowns() {
        let d = decide(
            "t",
            [Check::unknown("t", "u", "/a"), Check::fails("t", "f")],
        );
        assert_eq!(d.status, Status::Ineligible);
        assert!(d.missing.is_empty());
        assert_eq!(d.reasons[0].code, "f");
    }

    #[test]
    fn unknowns_make_it_undetermined_with_each_pointer_once() {
        let d = decide(
            "t",
            [
                Check::holds("t", "h"),
                Check::unknown("t", "u", "/a"),
                Check::unknown("t", "v", "/a"),
            ],
        );
        assert_eq!(d.status, Status::Undetermined);
        assert_eq!(d.missing, ["/a"]);
        assert_eq!(d.reasons.len(), 2);
    }

    #[test]
    fn all_holding_is_eligible() {
        let d = decide("t", [Check::holds("t", "h"), Check::holds("t", "i")]);
        assert_eq!(d.status, Status::Eligible);
        assert_eq!(d.reasons.len(), 2);
    }
}
