//! Arbitrary bytes as a case: validation never panics, and a valid case
//! survives canonicalisation and projection unchanged.

#![no_main]

use kinga_host::ValidCase;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(case) = ValidCase::parse(data) else {
        return;
    };
    let canonical = case.canonical_json();
    let again = ValidCase::parse(canonical.as_bytes()).expect("a canonical valid case is valid");
    assert_eq!(
        again.canonical_json(),
        canonical,
        "canonical JSON is a fixed point"
    );
    let projected = case.projected_json(&["/child/date_of_birth".into(), "/incidents".into()]);
    let projected: serde_json::Value =
        serde_json::from_str(&projected).expect("projection is JSON");
    assert_eq!(projected["case_id"], case.value()["case_id"]);
    let _ = kinga_host::identifying_values(case.value());
});
