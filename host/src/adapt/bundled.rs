//! The profiles shipped with Kinga (`profiles/`), checked once on first use.

use std::sync::OnceLock;

use super::profile::{Platform, Profile};

/// The bundled profile documents, by platform.
const BUNDLED: [(Platform, &str); 4] = [
    (
        Platform::Primero,
        include_str!("../../../profiles/primero-cpims-plus.json"),
    ),
    (
        Platform::CpimsCrs,
        include_str!("../../../profiles/kenya-cpims-crs.json"),
    ),
    (
        Platform::CpimsRecord,
        include_str!("../../../profiles/kenya-cpims-record.json"),
    ),
    (
        Platform::Dhis2,
        include_str!("../../../profiles/dhis2-example.json"),
    ),
];

/// The bundled profile document of `platform`, as shipped.
pub fn document(platform: Platform) -> &'static str {
    BUNDLED
        .iter()
        .find(|(p, _)| *p == platform)
        .map_or("", |(_, text)| text)
}

/// The bundled profile of `platform`.
pub(crate) fn profile(platform: Platform) -> &'static Profile {
    static PROFILES: OnceLock<Vec<Profile>> = OnceLock::new();
    let profiles = PROFILES.get_or_init(|| {
        BUNDLED
            .iter()
            .map(|(_, text)| {
                Profile::parse(text.as_bytes())
                    .expect("bundled profiles are valid (checked by tests)")
            })
            .collect()
    });
    let index = BUNDLED
        .iter()
        .position(|(p, _)| *p == platform)
        .unwrap_or_default();
    &profiles[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_profile_is_valid_and_for_its_platform() {
        for (platform, text) in BUNDLED {
            let profile =
                Profile::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{platform}: {e:?}"));
            assert_eq!(profile.platform(), platform);
        }
    }
}
