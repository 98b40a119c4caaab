//! The developer kit (feature `devkit`): fixtures that a plugin's answers
//! are tested against, explanations of which rules fired and why, shadow
//! runs of a candidate beside the version in use, and synthetic caseloads.

mod explain;
mod shadow;

pub use crate::case::synth::{Synth, default_reference};
pub use crate::fixture::{Fixture, FixtureError, Mismatch, Outcome as FixtureOutcome, expectation};
pub use crate::text::pascal_case;
pub use explain::{
    Fired, RuleExplanation, eligibility as explain_eligibility, referrals as explain_referrals,
};
pub use shadow::{
    Counts, Difference, FailedCase, Failures, SAMPLE as SHADOW_SAMPLE, ShadowReport, shadow,
};
