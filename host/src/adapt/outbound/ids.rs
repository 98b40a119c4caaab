//! Deterministic ids: the same answer for the same case always gets the
//! same id, so sending it twice updates a platform's row instead of adding
//! a second one (Primero merges subform rows by `unique_id`; DHIS2 updates
//! an event whose client UID it knows).

use sha2::{Digest, Sha256};

/// A UUIDv5 of `parts` in the deployment's `namespace`.
pub(crate) fn uuid(namespace: &str, parts: &[&str]) -> String {
    // The namespace was checked to be a UUID when the profile was read.
    let namespace = uuid::Uuid::parse_str(namespace).unwrap_or(uuid::Uuid::NAMESPACE_URL);
    uuid::Uuid::new_v5(&namespace, joined(parts).as_bytes()).to_string()
}

/// A DHIS2 UID (11 characters, a letter first) of `parts`.
pub(crate) fn dhis2_uid(parts: &[&str]) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const ALPHANUMERIC: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let digest = Sha256::digest(joined(parts).as_bytes());
    let mut uid = String::with_capacity(11);
    uid.push(LETTERS[usize::from(digest[0]) % LETTERS.len()] as char);
    for byte in &digest[1..11] {
        uid.push(ALPHANUMERIC[usize::from(*byte) % ALPHANUMERIC.len()] as char);
    }
    uid
}

/// Parts joined with a separator no id contains.
fn joined(parts: &[&str]) -> String {
    parts.join("\u{1f}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let ns = "8f9b3f52-3a51-4c8e-9d0e-6a1f0c2b7e44";
        let a = uuid(
            ns,
            &["primero:1", "p", "post-rape-care", "health.post-rape-care"],
        );
        assert_eq!(
            a,
            uuid(
                ns,
                &["primero:1", "p", "post-rape-care", "health.post-rape-care"]
            )
        );
        assert_ne!(
            a,
            uuid(
                ns,
                &["primero:2", "p", "post-rape-care", "health.post-rape-care"]
            )
        );
        assert_eq!(&a[14..15], "5", "version 5");
        // Parts never run together: ("ab", "c") is not ("a", "bc").
        assert_ne!(uuid(ns, &["ab", "c"]), uuid(ns, &["a", "bc"]));
        let uid = dhis2_uid(&["dhis2:QkT3vB8mZp1", "decision", "p", "education-support"]);
        assert!(super::super::tables::is_dhis2_uid(&uid), "{uid}");
        assert_eq!(
            uid,
            dhis2_uid(&["dhis2:QkT3vB8mZp1", "decision", "p", "education-support"])
        );
    }
}
