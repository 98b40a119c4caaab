//! Arbitrary plugin answers through the host's checks: never a panic, and
//! whatever is accepted is clean (no control or bidi characters in text, no
//! identifying value in free text, ids of the right form).

#![no_main]

use kinga_host::fuzzing::{RawDecision, RawReferral, check_decisions, check_referrals};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, arbitrary::Arbitrary)]
enum Answer {
    Decisions(Vec<RawDecision>),
    Referrals(Vec<RawReferral>),
}

fn clean(text: &str) -> bool {
    !text.chars().any(kinga_host::is_unsafe_char) && !text.contains("SECRET-ID")
}

fuzz_target!(|answer: Answer| {
    let identifying = vec!["SECRET-ID".to_owned()];
    match answer {
        Answer::Decisions(raw) => {
            if let Ok(decisions) = check_decisions(raw, &identifying) {
                for d in decisions {
                    assert!(d.reasons.iter().all(|r| clean(&r.message)));
                    assert!(!d.reasons.is_empty());
                }
            }
        }
        Answer::Referrals(raw) => {
            if let Ok(referrals) = check_referrals(raw, &identifying) {
                for r in referrals {
                    assert!(r.reasons.iter().all(|x| clean(&x.message)));
                    assert!(r.service.contains('.'));
                    if let Some(p) = &r.provider {
                        assert!(clean(&p.name) && clean(&p.contact));
                    }
                }
            }
        }
    }
});
