//! Platform adapters: a platform's own payload in, canonical cases out,
//! through a declarative [`Profile`] an administrator reads and edits.
//!
//! ```no_run
//! use kinga_host::adapt::{Platform, Profile};
//!
//! let profile = Profile::bundled(Platform::Primero);
//! for record in profile.map_document(&std::fs::read("primero-case.json")?)? {
//!     match record.case {
//!         Ok(case) => println!("{}", case.canonical_json()),
//!         Err(refused) => eprintln!("{}: {refused}", record.pointer),
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | module | what it holds |
//! |---|---|
//! | `profile` | the profile document, its checks, its compiled form |
//! | `path` | source paths into a platform record |
//! | `values` | dates, date-times in a time zone, numbers, booleans |
//! | `canonical` | what each canonical field takes, read from the case schema |
//! | `envelope` | the records inside each platform's responses |
//! | `map` | one record to one case, with provenance |
//! | `collect` | what to collect, in the platform's own field names |
//! | `lines` | JSON Lines of platform documents, mapped as they are read |
//! | `outbound` | Kinga's answers as the platform's requests or rows (`--to`) |
//! | `bundled` | the profiles shipped in `profiles/` |
//!
//! `docs/adapters.md` explains a profile line by line, per platform.

mod bundled;
mod canonical;
mod collect;
mod envelope;
mod lines;
mod map;
mod origin;
pub mod outbound;
mod path;
mod profile;
mod reads;
mod values;

use serde_json::Value;

use crate::case::ValidCase;
use crate::case::json::{JsonLimits, parse_strict_reading};
use crate::case::schema::Violation;

pub use bundled::document as bundled_document;
pub use envelope::MAX_RECORDS;
pub use lines::{MappedLine, MappedLines};
pub use profile::{
    CaseIdSource, CollectionMap, Condition, Derivation, FieldMap, LookupTable, MAX_PROFILE_BYTES,
    Platform, Profile, ProfileDocument, ProfileRejection, Sources,
};
pub use values::Conversion;

/// Largest platform document, in bytes (a Primero page of 1000 cases).
pub const MAX_DOCUMENT_BYTES: usize = 32 * 1024 * 1024;
/// Deepest nesting of a platform document.
const MAX_DOCUMENT_DEPTH: usize = 64;
/// The limits a platform document is parsed under.
const DOCUMENT_LIMITS: JsonLimits = JsonLimits {
    max_bytes: MAX_DOCUMENT_BYTES,
    max_depth: MAX_DOCUMENT_DEPTH,
};

/// Why a platform record (or a whole document) could not be mapped: each
/// problem with the JSON pointer of the platform's field, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingRejection {
    /// The problems, most important first. Never empty.
    pub violations: Vec<Violation>,
}

impl std::fmt::Display for MappingRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::case::schema::write_first(f, &self.violations, "the record cannot be mapped")
    }
}

impl std::error::Error for MappingRejection {}

/// One record of a platform document, mapped or refused.
#[derive(Debug, Clone)]
pub struct MappedRecord {
    /// The record's JSON pointer in the document (`/data/2`; empty for a
    /// document that is the record).
    pub pointer: String,
    /// The canonical case, or why there is none.
    pub case: Result<ValidCase, MappingRejection>,
}

impl Profile {
    /// The profile bundled for `platform` (`profiles/` in the repository).
    pub fn bundled(platform: Platform) -> &'static Profile {
        bundled::profile(platform)
    }

    /// Maps every record of a platform document (JSON bytes). Only what
    /// the profile reads is built; the rest is checked as strictly.
    pub fn map_document(&self, bytes: &[u8]) -> Result<Vec<MappedRecord>, MappingRejection> {
        let document = parse_strict_reading(bytes, DOCUMENT_LIMITS, &self.reads).map_err(|e| {
            MappingRejection {
                violations: vec![Violation {
                    pointer: e.pointer,
                    message: e.message,
                }],
            }
        })?;
        self.map_value(&document)
    }

    /// Maps every record of a platform document already parsed.
    pub fn map_value(&self, document: &Value) -> Result<Vec<MappedRecord>, MappingRejection> {
        let records =
            envelope::records(self.platform(), document).map_err(|violation| MappingRejection {
                violations: vec![violation],
            })?;
        Ok(records
            .into_iter()
            .map(|(record, pointer)| MappedRecord {
                case: map::map_record(self, record, &pointer)
                    .map_err(|violations| MappingRejection { violations }),
                pointer,
            })
            .collect())
    }
}
