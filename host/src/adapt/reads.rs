//! What a profile reads of a platform document, so that the document is
//! parsed only that far ([`parse_strict_reading`]): the members its paths
//! name, with the whole of each value they end at, inside the envelope of
//! the platform (`data`, `trackedEntities` ...). Everything else is still
//! checked (duplicate keys, exact numbers, nesting) but never built.
//!
//! Mapping reads nothing outside these paths, so a document parsed this
//! way maps exactly as the full document does; a test holds the two equal
//! for every synthetic payload.
//!
//! [`parse_strict_reading`]: crate::case::json::parse_strict_reading

use super::envelope;
use super::profile::{CompiledField, Profile};
use crate::case::json::Reads;

/// The reads of a whole document mapped through `profile`.
pub(crate) fn document_reads(profile: &Profile) -> Reads {
    envelope::reads(profile.platform(), &record_reads(profile))
}

/// The reads of one record: its id, kept ids, fields and collections.
fn record_reads(profile: &Profile) -> Reads {
    let mut record = Reads::nothing();
    for path in profile
        .case_id
        .iter()
        .chain(profile.keep.iter().map(|(_, p)| p))
    {
        path.declare(&mut record);
    }
    for field in &profile.fields {
        for path in field_paths(field) {
            path.declare(&mut record);
        }
    }
    for collection in &profile.collections {
        let mut row = Reads::nothing();
        for field in &collection.fields {
            for path in field_paths(field) {
                if path.reads_record() {
                    path.declare(&mut record);
                } else {
                    path.declare(&mut row);
                }
            }
        }
        if let Some(rows) = collection.rows.declare_steps(&mut record) {
            rows.merge(&row);
        }
    }
    record
}

fn field_paths(field: &CompiledField) -> impl Iterator<Item = &super::path::SourcePath> {
    field
        .sources
        .iter()
        .chain(&field.derive_sources)
        .chain(&field.when)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapt::{MappedRecord, Platform};
    use crate::case::json::{JsonLimits, parse_strict};

    const PLATFORMS: [Platform; 4] = [
        Platform::Primero,
        Platform::CpimsCrs,
        Platform::CpimsRecord,
        Platform::Dhis2,
    ];

    /// Every synthetic platform payload in `tests/platforms`.
    fn payloads() -> Vec<(String, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/platforms");
        let mut found: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .map(|path| (path.display().to_string(), std::fs::read(&path).unwrap()))
            .collect();
        found.sort();
        assert!(found.len() >= 10, "the synthetic payloads are there");
        found
    }

    /// What mapping gave, comparable: each record's pointer and its case
    /// or its problems.
    fn outcome(mapped: Result<Vec<MappedRecord>, super::super::MappingRejection>) -> String {
        match mapped {
            Err(rejection) => format!("refused: {:?}", rejection.violations),
            Ok(records) => records
                .into_iter()
                .map(|r| match r.case {
                    Ok(case) => format!("{} {}", r.pointer, case.value()),
                    Err(refused) => format!("{} refused: {:?}", r.pointer, refused.violations),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    fn full_parse(profile: &Profile, bytes: &[u8]) -> String {
        let limits = JsonLimits {
            max_bytes: super::super::MAX_DOCUMENT_BYTES,
            max_depth: 64,
        };
        match parse_strict(bytes, limits) {
            Ok(document) => outcome(profile.map_value(&document)),
            Err(e) => format!(
                "refused: [Violation {{ pointer: {:?}, message: {:?} }}]",
                e.pointer, e.message
            ),
        }
    }

    #[test]
    fn a_document_maps_the_same_parsed_only_as_far_as_read() {
        for (name, bytes) in payloads() {
            for platform in PLATFORMS {
                let profile = Profile::bundled(platform);
                assert_eq!(
                    outcome(profile.map_document(&bytes)),
                    full_parse(profile, &bytes),
                    "{name} through {platform:?}"
                );
            }
        }
    }

    #[test]
    fn what_is_not_read_is_checked_as_strictly() {
        let record = br#"{"data": {"id": "c-1", "status": "open", "created_by": "x"}}"#;
        let text = std::str::from_utf8(record).unwrap();
        let variants = [
            // A duplicate key, a number a double cannot hold, deep nesting,
            // a lone surrogate and a syntax error, each where no mapping
            // reads, each refused with the pointer the full parse gives.
            text.replace(
                r#""created_by": "x""#,
                r#""created_by": "x", "created_by": "y""#,
            ),
            text.replace(r#""x""#, "18446744073709551616"),
            text.replace(r#""x""#, &format!("{}1{}", "[".repeat(80), "]".repeat(80))),
            text.replace(r#""x""#, r#"{"a": "\ud800"}"#),
            text.replace(r#""x""#, r#"{"a": [1, 2,]}"#),
            text.replace(r#""x""#, r#"{"a": {"b": 1, "b": 2}}"#),
        ];
        let profile = Profile::bundled(Platform::Primero);
        for variant in variants {
            let pruned = outcome(profile.map_document(variant.as_bytes()));
            assert!(pruned.starts_with("refused"), "{variant}: {pruned}");
            assert_eq!(pruned, full_parse(profile, variant.as_bytes()), "{variant}");
        }
        let mut not_utf8 = record.to_vec();
        let at = text.find("\"x\"").unwrap() + 1;
        not_utf8[at] = 0xff;
        assert_eq!(
            outcome(profile.map_document(&not_utf8)),
            full_parse(profile, &not_utf8)
        );
    }

    #[test]
    fn a_profile_reads_its_paths_and_the_envelope_only() {
        let Reads::Members(document) = &Profile::bundled(Platform::Primero).reads else {
            panic!("a profile reads members");
        };
        let names: Vec<&str> = document.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["data"]);
        let Reads::Members(record) = &document[0].1 else {
            panic!("a record is read member by member");
        };
        let read = |name: &str| record.iter().find(|(n, _)| n == name).map(|(_, r)| r);
        assert_eq!(read("sex"), Some(&Reads::All));
        assert_eq!(read("record_type"), Some(&Reads::All));
        assert_eq!(read("created_by"), None);
        let Some(Reads::Members(rows)) = read("incident_details") else {
            panic!("rows are read field by field");
        };
        assert!(rows.iter().any(|(name, _)| name == "incident_date"));
        assert!(!rows.iter().any(|(name, _)| name == "unique_identifier"));
    }
}
