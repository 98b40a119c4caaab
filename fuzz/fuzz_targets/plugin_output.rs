//! Arbitrary plugin answers through the host's checks: never a panic, and
//! whatever is accepted is what the plugin declared (reason messages the
//! host rendered, declared services, providers from the settings).

#![no_main]

use kinga_host::fuzzing::{RawDecision, RawReferral, check_decisions, check_referrals};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, arbitrary::Arbitrary)]
enum Answer {
    Decisions(Vec<RawDecision>),
    Referrals(Vec<RawReferral>),
}

fn clean(text: &str) -> bool {
    !text.chars().any(kinga_host::is_unsafe_char)
}

fuzz_target!(|answer: Answer| {
    match answer {
        Answer::Decisions(raw) => {
            if let Ok(decisions) = check_decisions(raw) {
                for d in decisions {
                    assert!(d.reasons.iter().all(|r| r.message.starts_with("reason r-")));
                    assert!(!d.reasons.is_empty());
                }
            }
        }
        Answer::Referrals(raw) => {
            if let Ok(referrals) = check_referrals(raw) {
                for r in referrals {
                    assert!(r.reasons.iter().all(|x| clean(&x.message)));
                    assert_eq!(r.service, "health.care");
                    if let Some(p) = &r.provider {
                        assert_eq!((p.id.as_str(), p.name.as_str()), ("p", "P"));
                    }
                }
            }
        }
    }
});
