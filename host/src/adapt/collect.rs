//! What to collect, in the platform's own terms: a rule that answers
//! *undetermined* names canonical pointers (`/household/monthly_income_kes`);
//! the people who fill the platform's forms need the platform's field, or
//! to hear that no field of their deployment records it.

use super::path::ancestors;
use super::profile::{Profile, Sources};

impl Profile {
    /// Where a missing canonical field is recorded on the platform, or that
    /// it is recorded nowhere: "Primero: record it in date_of_birth", or
    /// "Primero: no form of this deployment records the household ...".
    pub fn collect_hint(&self, pointer: &str) -> String {
        let platform = self.platform().title();
        let document = &self.document;
        if let Some(text) = ancestors(pointer).find_map(|p| document.not_recorded.get(p)) {
            return format!("{platform}: {text}");
        }
        let mut sources: Vec<&str> = Vec::new();
        for field in &document.fields {
            let fills = field.canonical == pointer
                || pointer
                    .strip_prefix(&format!("{}/", field.canonical))
                    .is_some_and(|member| self.lookup_fills(field.lookup.as_deref(), member));
            if fills {
                if let Some(s) = &field.source {
                    sources.extend(s.paths());
                }
                if let Some(derivation) = &field.derive {
                    sources.extend(derivation_sources(derivation));
                }
            }
        }
        for collection in &document.collections {
            let Some(rest) = pointer.strip_prefix(&collection.canonical) else {
                continue;
            };
            // `/incidents/0/kind` → the row field `/kind`.
            let member = rest.trim_start_matches('/');
            let member = member.split_once('/').map_or("", |(_, m)| m);
            for field in &collection.fields {
                if (member.is_empty() || field.canonical == format!("/{member}"))
                    && let Some(s) = &field.source
                {
                    sources.extend(s.paths().iter().map(|p| p.trim_start_matches("$.")));
                }
            }
            if member.is_empty() {
                sources.push(collection.rows.as_str());
            }
        }
        sources.dedup();
        if sources.is_empty() {
            format!("{platform}: no field of this deployment records {pointer}")
        } else {
            format!("{platform}: record it in {}", sources.join(" or "))
        }
    }
}

impl Profile {
    /// Whether a lookup of objects (a place) can give the field `member`.
    fn lookup_fills(&self, lookup: Option<&str>, member: &str) -> bool {
        lookup
            .and_then(|name| self.document.lookups.get(name))
            .is_some_and(|table| table.values.values().any(|v| v.get(member).is_some()))
    }
}

fn derivation_sources(derivation: &super::profile::Derivation) -> Vec<&str> {
    use super::profile::Derivation;
    match derivation {
        Derivation::AnyOf { source, .. } => match source {
            Sources::One(p) => vec![p.as_str()],
            Sources::Many(ps) => ps.iter().map(String::as_str).collect(),
        },
        Derivation::AllTrue { sources, .. } => sources.iter().map(String::as_str).collect(),
        Derivation::Present { source, .. } => vec![source.as_str()],
    }
}

#[cfg(test)]
mod tests {
    use super::super::profile::Platform;
    use super::*;

    #[test]
    fn hints_name_the_platforms_fields_or_say_none_records_it() {
        let primero = Profile::bundled(Platform::Primero);
        assert_eq!(
            primero.collect_hint("/household/monthly_income_kes"),
            "Primero: no form of this deployment records the household (caregiver, income)"
        );
        assert_eq!(
            primero.collect_hint("/child/date_of_birth"),
            "Primero: record it in date_of_birth"
        );
        assert_eq!(
            primero.collect_hint("/consent/information_sharing"),
            "Primero: record it in disclosure_other_orgs or consent_for_services"
        );
        assert_eq!(
            primero.collect_hint("/incidents/0/perpetrator_in_household"),
            "Primero: record it in cp_incident_perpetrator_relationship"
        );
        assert_eq!(
            primero.collect_hint("/child/ward"),
            "Primero: record it in location_current or owned_by_location"
        );
        let dhis2 = Profile::bundled(Platform::Dhis2);
        assert!(
            dhis2
                .collect_hint("/child/date_of_birth")
                .starts_with("DHIS2: record it in attributes[attribute=cpDob000001].value")
        );
        assert_eq!(
            dhis2.collect_hint("/child/town"),
            "DHIS2: no field of this deployment records /child/town"
        );
    }
}
