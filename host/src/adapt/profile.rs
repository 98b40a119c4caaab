//! Mapping profiles: the declarative description of one platform
//! deployment, read and edited by an administrator
//! (`schemas/mapping-profile.schema.json`, `docs/adapters.md`).
//!
//! A profile is checked twice before it is used: by its schema (shape),
//! then here (meaning): every source path parses, every canonical target is
//! a field of the case schema that takes what the mapping gives, every
//! lookup a field names exists, and every value a lookup, a default or a
//! derivation can give is one the target accepts. A profile that passes can
//! still meet a payload it cannot map, but never produce a canonical value
//! the case schema refuses for a reason the profile could have shown.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::canonical::{self, Kind};
use super::outbound::{Outbound, parse_outbound};
use super::path::SourcePath;
use super::values::{self, Conversion};
use crate::case::json::{JsonLimits, Reads, escape_token, parse_strict};
use crate::case::schema::{self, Violation};

/// Largest profile, in bytes of JSON.
pub const MAX_PROFILE_BYTES: usize = 1024 * 1024;

/// The platforms Kinga reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Platform {
    /// Primero API v2 (CPIMS+): cases, list pages and webhook bodies.
    #[serde(rename = "primero")]
    Primero,
    /// Kenya CPIMS, the Case Record Sheet API (`/api/v1/crs/`).
    #[serde(rename = "cpims-crs")]
    CpimsCrs,
    /// Kenya CPIMS, a statutory case exported table by table.
    #[serde(rename = "cpims-record")]
    CpimsRecord,
    /// DHIS2 Tracker (2.40 and 2.41+): tracked entities with enrollments.
    #[serde(rename = "dhis2")]
    Dhis2,
}

impl Platform {
    /// Every platform, in the order the documentation lists them.
    pub const ALL: [Platform; 4] = [
        Platform::Primero,
        Platform::CpimsCrs,
        Platform::CpimsRecord,
        Platform::Dhis2,
    ];

    /// Its name on the command line and in profiles (`cpims-crs`).
    pub fn name(self) -> &'static str {
        match self {
            Platform::Primero => "primero",
            Platform::CpimsCrs => "cpims-crs",
            Platform::CpimsRecord => "cpims-record",
            Platform::Dhis2 => "dhis2",
        }
    }

    /// Its name for people ("Kenya CPIMS (case record)").
    pub fn title(self) -> &'static str {
        match self {
            Platform::Primero => "Primero",
            Platform::CpimsCrs => "CPIMS (Case Record Sheet API)",
            Platform::CpimsRecord => "CPIMS (case record)",
            Platform::Dhis2 => "DHIS2",
        }
    }

    /// The platform with this name.
    pub fn from_name(name: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A profile as written (the JSON document).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileDocument {
    /// The schema the document follows (for editors).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The profile's id.
    pub profile: String,
    /// The platform whose payloads it reads.
    pub platform: Platform,
    /// A title for people.
    pub title: String,
    /// What the deployment is, what was chosen and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The deployment's time zone (IANA name).
    pub timezone: String,
    /// Where the case id comes from.
    pub case_id: CaseIdSource,
    /// Platform ids copied into the case's provenance, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keep: BTreeMap<String, String>,
    /// One mapping per canonical field.
    pub fields: Vec<FieldMap>,
    /// Incidents, services and referrals from the platform's rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<CollectionMap>,
    /// Code tables, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lookups: BTreeMap<String, LookupTable>,
    /// What to say of canonical fields this deployment does not record.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_recorded: BTreeMap<String, String>,
    /// The tables that write Kinga's answers back (one shape per platform,
    /// `docs/adapters.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound: Option<Value>,
}

/// Where the case id comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseIdSource {
    /// Written before the platform id (`primero:`).
    pub prefix: String,
    /// The platform field(s), the first one present wins.
    pub source: Sources,
}

/// One source path, or several tried in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Sources {
    /// One path.
    One(String),
    /// Paths tried in order; the first one present is read.
    Many(Vec<String>),
}

impl Sources {
    /// The paths, in order.
    pub fn paths(&self) -> Vec<&str> {
        match self {
            Sources::One(p) => vec![p.as_str()],
            Sources::Many(ps) => ps.iter().map(String::as_str).collect(),
        }
    }
}

/// How one canonical field is filled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMap {
    /// The canonical field (a JSON pointer; within a row for collections).
    pub canonical: String,
    /// Where the value is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Sources>,
    /// How the value is converted.
    #[serde(rename = "as", default, skip_serializing_if = "Option::is_none")]
    pub conversion: Option<Conversion>,
    /// The code table the value is looked up in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<String>,
    /// For a list held in one string (`"A,B"`): the separator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// A value computed from platform fields, instead of `source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derive: Option<Derivation>,
    /// Only when this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// The value when the platform has none: declared, and recorded in the
    /// case's provenance whenever it is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_absent: Option<Value>,
    /// In a collection: a row whose code this lookup maps to `null` is not
    /// one of the collection's rows (a case category that is no incident).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop_row_if_null: bool,
    /// A note for the next administrator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A value computed from platform fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum Derivation {
    /// `then` when any code of `source` is one of `codes`; else
    /// `otherwise`, or nothing.
    AnyOf {
        /// The derivation's name in provenance.
        name: String,
        /// The platform field(s) holding codes.
        source: Sources,
        /// For codes held in one string: the separator.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        split: Option<String>,
        /// The platform codes that count.
        codes: Vec<String>,
        /// The canonical value when one does.
        then: Value,
        /// The canonical value when the field holds codes but none counts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        otherwise: Option<Value>,
    },
    /// `true` when every source is true, `false` when one is false,
    /// nothing otherwise.
    AllTrue {
        /// The derivation's name in provenance.
        name: String,
        /// The platform fields.
        sources: Vec<String>,
    },
    /// `true` when the platform field holds anything; nothing otherwise.
    Present {
        /// The derivation's name in provenance.
        name: String,
        /// The platform field.
        source: String,
    },
}

impl Derivation {
    /// The derivation's name.
    pub fn name(&self) -> &str {
        match self {
            Derivation::AnyOf { name, .. }
            | Derivation::AllTrue { name, .. }
            | Derivation::Present { name, .. } => name,
        }
    }
}

/// A condition on platform fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The field holds nothing.
    Absent(String),
    /// The field holds something.
    Present(String),
    /// The field holds this value (compared as text).
    Equals {
        /// The platform field.
        source: String,
        /// The value.
        value: Value,
    },
}

/// A code table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupTable {
    /// The platform's list these codes come from (a Primero lookup id, a
    /// CPIMS `field_name`, a DHIS2 option set or org-unit level).
    pub platform_list: String,
    /// Platform code → canonical value (`null`: a known code that carries
    /// nothing; an object: several canonical fields, as a place).
    pub values: BTreeMap<String, Value>,
    /// A note for the next administrator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Rows of a collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionMap {
    /// `/incidents`, `/services` or `/referrals`.
    pub canonical: String,
    /// The platform rows (a path reaching several values, from the record).
    pub rows: String,
    /// The row's fields, with paths read from the row.
    pub fields: Vec<FieldMap>,
}

/// A profile that passed every check, ready to map payloads.
#[derive(Debug, Clone)]
pub struct Profile {
    pub(crate) document: ProfileDocument,
    pub(crate) zone: TimeZone,
    pub(crate) case_id: Vec<SourcePath>,
    pub(crate) keep: Vec<(String, SourcePath)>,
    pub(crate) fields: Vec<CompiledField>,
    pub(crate) collections: Vec<CompiledCollection>,
    pub(crate) outbound: Option<Outbound>,
    /// What mapping reads of a document (the rest is checked, not built).
    pub(crate) reads: Reads,
}

/// A field mapping with its paths parsed and its target looked up.
#[derive(Debug, Clone)]
pub(crate) struct CompiledField {
    pub map: FieldMap,
    pub kind: Kind,
    /// The field's place in the schema's order ([`canonical::rank`]).
    pub rank: u32,
    pub sources: Vec<SourcePath>,
    pub derive_sources: Vec<SourcePath>,
    pub when: Option<SourcePath>,
}

/// A collection mapping, compiled.
#[derive(Debug, Clone)]
pub(crate) struct CompiledCollection {
    pub canonical: String,
    pub rows: SourcePath,
    pub fields: Vec<CompiledField>,
    /// The members each row requires (read from the case schema once).
    pub required: Vec<String>,
}

/// Why a profile was refused: each problem with its pointer in the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRejection {
    /// The problems. Never empty.
    pub violations: Vec<Violation>,
}

impl std::fmt::Display for ProfileRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::case::schema::write_first(f, &self.violations, "invalid profile")
    }
}

impl std::error::Error for ProfileRejection {}

impl Profile {
    /// Parses and checks a profile document.
    pub fn parse(bytes: &[u8]) -> Result<Profile, ProfileRejection> {
        let limits = JsonLimits {
            max_bytes: MAX_PROFILE_BYTES,
            max_depth: 16,
        };
        let value = parse_strict(bytes, limits).map_err(|e| ProfileRejection {
            violations: vec![Violation {
                pointer: e.pointer,
                message: e.message,
            }],
        })?;
        Profile::from_value(value)
    }

    /// Parses and checks a profile document that must read `platform`.
    pub fn parse_for(platform: Platform, bytes: &[u8]) -> Result<Profile, ProfileRejection> {
        let profile = Profile::parse(bytes)?;
        if profile.platform() != platform {
            return Err(ProfileRejection {
                violations: vec![Violation {
                    pointer: "/platform".into(),
                    message: format!("the profile reads {}, not {platform}", profile.platform()),
                }],
            });
        }
        Ok(profile)
    }

    /// Checks a profile already parsed as JSON.
    pub fn from_value(value: Value) -> Result<Profile, ProfileRejection> {
        let problems = schema::violations(schema::mapping_profile(), &value, 20);
        if !problems.is_empty() {
            return Err(ProfileRejection {
                violations: problems,
            });
        }
        let document: ProfileDocument =
            serde_json::from_value(value).map_err(|e| ProfileRejection {
                violations: vec![Violation {
                    pointer: String::new(),
                    message: format!("not a mapping profile: {e}"),
                }],
            })?;
        compile(document)
    }

    /// The document, as written.
    pub fn document(&self) -> &ProfileDocument {
        &self.document
    }

    /// The profile's id.
    pub fn id(&self) -> &str {
        &self.document.profile
    }

    /// The platform it reads.
    pub fn platform(&self) -> Platform {
        self.document.platform
    }

    /// Whether it has outbound tables (answers can be written back).
    pub fn writes_back(&self) -> bool {
        self.outbound.is_some()
    }
}

struct Checker {
    problems: Vec<Violation>,
}

impl Checker {
    fn problem(&mut self, pointer: String, message: impl Into<String>) {
        self.problems.push(Violation {
            pointer,
            message: message.into(),
        });
    }

    fn path(&mut self, pointer: String, text: &str) -> Option<SourcePath> {
        match SourcePath::parse(text) {
            Ok(path) => Some(path),
            Err(e) => {
                self.problem(pointer, format!("not a source path: {e}"));
                None
            }
        }
    }

    fn paths(&mut self, pointer: &str, sources: &Sources) -> Vec<SourcePath> {
        match sources {
            Sources::One(text) => self.path(pointer.to_owned(), text).into_iter().collect(),
            Sources::Many(texts) => texts
                .iter()
                .enumerate()
                .filter_map(|(i, text)| self.path(format!("{pointer}/{i}"), text))
                .collect(),
        }
    }
}

fn compile(document: ProfileDocument) -> Result<Profile, ProfileRejection> {
    let mut check = Checker {
        problems: Vec::new(),
    };
    let zone = match values::time_zone(&document.timezone) {
        Ok(zone) => Some(zone),
        Err(e) => {
            check.problem("/timezone".into(), e);
            None
        }
    };
    let case_id = check.paths("/case_id/source", &document.case_id.source);
    let keep = document
        .keep
        .iter()
        .filter_map(|(name, text)| {
            let pointer = format!("/keep/{}", escape_token(name));
            check.path(pointer, text).map(|p| (name.clone(), p))
        })
        .collect();
    check_lookups(&mut check, &document);
    let fields: Vec<CompiledField> = document
        .fields
        .iter()
        .enumerate()
        .filter_map(|(i, map)| {
            compile_field(&mut check, &document, &format!("/fields/{i}"), map, None)
        })
        .collect();
    let mut collections = Vec::new();
    for (c, collection) in document.collections.iter().enumerate() {
        let at = format!("/collections/{c}");
        if !matches!(
            canonical::field(&collection.canonical, None).map(|f| f.kind),
            Some(Kind::Rows)
        ) {
            check.problem(
                format!("{at}/canonical"),
                "is not a collection of the case (/incidents, /services or /referrals)",
            );
            continue;
        }
        if document.collections[..c]
            .iter()
            .any(|other| other.canonical == collection.canonical)
        {
            check.problem(
                format!("{at}/canonical"),
                "is mapped by an earlier collection",
            );
        }
        let rows = check.path(format!("{at}/rows"), &collection.rows);
        if rows.as_ref().is_some_and(|rows| !rows.is_multiple()) {
            check.problem(
                format!("{at}/rows"),
                "reaches one value at most: rows are read with `[*]` or a selector (incident_details[*])",
            );
        }
        let row_fields: Vec<CompiledField> = collection
            .fields
            .iter()
            .enumerate()
            .filter_map(|(i, map)| {
                compile_field(
                    &mut check,
                    &document,
                    &format!("{at}/fields/{i}"),
                    map,
                    Some(&collection.canonical),
                )
            })
            .collect();
        check_required_targets(
            &mut check,
            &at,
            &collection.fields,
            Some(&collection.canonical),
        );
        if let Some(rows) = rows {
            collections.push(CompiledCollection {
                required: canonical::required_members("", Some(&collection.canonical)),
                canonical: collection.canonical.clone(),
                rows,
                fields: row_fields,
            });
        }
    }
    check_required_targets(&mut check, "", &document.fields, None);
    for pointer in document.not_recorded.keys() {
        if canonical::field(pointer, None).is_none() {
            check.problem(
                format!("/not_recorded/{}", escape_token(pointer)),
                "is not a field of the canonical case",
            );
        }
    }
    let outbound = document.outbound.as_ref().and_then(|value| {
        parse_outbound(document.platform, value)
            .map_err(|problems| check.problems.extend(problems))
            .ok()
    });
    match zone {
        Some(zone) if check.problems.is_empty() => {
            let mut profile = Profile {
                outbound,
                document,
                zone,
                case_id,
                keep,
                fields,
                collections,
                reads: Reads::All,
            };
            profile.reads = super::reads::document_reads(&profile);
            Ok(profile)
        }
        _ => Err(ProfileRejection {
            violations: check.problems,
        }),
    }
}

fn check_lookups(check: &mut Checker, document: &ProfileDocument) {
    for (name, table) in &document.lookups {
        if table.values.is_empty() {
            check.problem(
                format!("/lookups/{}/values", escape_token(name)),
                "a lookup lists at least one code",
            );
        }
    }
}

/// Every required canonical field (of the case, or of a row) has a
/// mapping: otherwise every payload would be refused.
fn check_required_targets(
    check: &mut Checker,
    at: &str,
    fields: &[FieldMap],
    rows_of: Option<&str>,
) {
    let mut missing = Vec::new();
    let mut objects = vec![String::new()];
    while let Some(object) = objects.pop() {
        for member in canonical::required_members(&object, rows_of) {
            if member == "/case_id" {
                continue;
            }
            if matches!(
                canonical::field(&member, rows_of).map(|f| f.kind),
                Some(Kind::Object)
            ) {
                objects.push(member);
                continue;
            }
            // A place lookup fills the fields of its object at once.
            let covered = fields.iter().any(|f| {
                f.canonical == member
                    || (!object.is_empty() && f.canonical == object && f.lookup.is_some())
            });
            if !covered {
                missing.push(member);
            }
        }
    }
    let times = ["/occurred_at", "/occurred_on"];
    if rows_of == Some("/incidents")
        && !fields.iter().any(|f| times.contains(&f.canonical.as_str()))
    {
        missing.push("/occurred_at or /occurred_on".into());
    }
    for member in missing {
        let whose = rows_of.map_or(String::new(), |c| format!(" in each row of {c}"));
        check.problem(
            format!("{at}/fields"),
            format!("nothing fills {member}, which the case requires{whose}"),
        );
    }
}

fn compile_field(
    check: &mut Checker,
    document: &ProfileDocument,
    at: &str,
    map: &FieldMap,
    rows_of: Option<&str>,
) -> Option<CompiledField> {
    let before = check.problems.len();
    let Some(target) = canonical::field(&map.canonical, rows_of) else {
        let whose = rows_of.map_or("the canonical case".to_owned(), |c| format!("a row of {c}"));
        check.problem(
            format!("{at}/canonical"),
            format!("is not a field of {whose}"),
        );
        return None;
    };
    if map.canonical == "/case_id" {
        check.problem(
            format!("{at}/canonical"),
            "the case id is mapped by `case_id`",
        );
    }
    if matches!(target.kind, Kind::Rows) {
        check.problem(
            format!("{at}/canonical"),
            "a collection is mapped under `collections`",
        );
    }
    let kind = target.kind.clone();
    let sources = match (&map.source, &map.derive) {
        (Some(sources), None) => check.paths(&format!("{at}/source"), sources),
        (None, Some(_)) => Vec::new(),
        _ => {
            check.problem(
                at.to_owned(),
                "a field takes exactly one of `source` and `derive`",
            );
            Vec::new()
        }
    };
    if map.source.is_some() {
        check_source_conversion(check, document, at, map, &kind);
    }
    let derive_sources = match &map.derive {
        Some(derivation) => check_derivation(check, at, derivation, &kind),
        None => Vec::new(),
    };
    let when = map.when.as_ref().and_then(|condition| {
        let (key, text) = match condition {
            Condition::Absent(p) => ("absent", p),
            Condition::Present(p) => ("present", p),
            Condition::Equals { source, .. } => ("equals/source", source),
        };
        check.path(format!("{at}/when/{key}"), text)
    });
    if let Some(default) = &map.if_absent {
        if target.required {
            // What the case requires is never filled by a default: the
            // record is refused, naming the field to record.
            check.problem(
                format!("{at}/if_absent"),
                format!(
                    "{} is required by the case: a record without it is refused, never defaulted",
                    map.canonical
                ),
            );
        } else if let Err(e) = kind.accepts(default) {
            check.problem(format!("{at}/if_absent"), e);
        }
    }
    if map.drop_row_if_null && (rows_of.is_none() || map.lookup.is_none()) {
        check.problem(
            format!("{at}/drop_row_if_null"),
            "only a collection's field with a lookup can drop rows",
        );
    }
    if map.split.is_some() && !matches!(kind, Kind::EnumList(_)) {
        check.problem(format!("{at}/split"), "only a list field splits a string");
    }
    (check.problems.len() == before).then(|| CompiledField {
        rank: canonical::rank(&format!("{}{}", rows_of.unwrap_or(""), map.canonical)),
        map: map.clone(),
        kind,
        sources,
        derive_sources,
        when,
    })
}

fn check_source_conversion(
    check: &mut Checker,
    document: &ProfileDocument,
    at: &str,
    map: &FieldMap,
    kind: &Kind,
) {
    match (&map.lookup, map.conversion) {
        (Some(name), None) => {
            let Some(table) = document.lookups.get(name) else {
                check.problem(format!("{at}/lookup"), "names no lookup of this profile");
                return;
            };
            for (code, value) in &table.values {
                let pointer = format!(
                    "/lookups/{}/values/{}",
                    escape_token(name),
                    escape_token(code)
                );
                if let Err(e) = lookup_value_fits(value, kind, &map.canonical, at) {
                    check.problem(pointer, format!("{e} (for {} in {at})", map.canonical));
                }
            }
        }
        (None, Some(conversion)) => {
            let fits = match kind {
                Kind::Date => matches!(conversion, Conversion::Date | Conversion::LocalDate),
                Kind::DateTime => conversion == Conversion::Datetime,
                Kind::Integer => conversion == Conversion::Integer,
                Kind::Number => matches!(conversion, Conversion::Number | Conversion::Integer),
                Kind::Boolean => conversion == Conversion::Boolean,
                Kind::Text => conversion == Conversion::Text,
                _ => false,
            };
            if !fits {
                check.problem(
                    format!("{at}/as"),
                    format!(
                        "cannot fill {}, which takes {}: use a lookup",
                        map.canonical,
                        kind.expected()
                    ),
                );
            }
        }
        _ => check.problem(
            at.to_owned(),
            "a field with `source` takes exactly one of `as` and `lookup`",
        ),
    }
}

fn lookup_value_fits(value: &Value, kind: &Kind, canonical: &str, _at: &str) -> Result<(), String> {
    match (value, kind) {
        (Value::Null, _) => Ok(()),
        (Value::Object(members), Kind::Object) => {
            for (member, member_value) in members {
                let pointer = format!("{canonical}/{member}");
                let field = canonical::field(&pointer, None)
                    .ok_or_else(|| format!("{pointer} is not a field of the canonical case"))?;
                field
                    .kind
                    .accepts(member_value)
                    .map_err(|e| format!("its {member} {e}"))?;
            }
            Ok(())
        }
        (_, Kind::Object) => Err("an object-wide lookup gives objects of fields".into()),
        (value, kind) => kind.accepts(value),
    }
}

fn check_derivation(
    check: &mut Checker,
    at: &str,
    derivation: &Derivation,
    kind: &Kind,
) -> Vec<SourcePath> {
    let at = format!("{at}/derive");
    match derivation {
        Derivation::AnyOf {
            source,
            codes,
            then,
            otherwise,
            ..
        } => {
            if codes.is_empty() {
                check.problem(format!("{at}/codes"), "lists at least one platform code");
            }
            for (key, value) in [("then", Some(then)), ("otherwise", otherwise.as_ref())] {
                if let Some(value) = value
                    && let Err(e) = kind.accepts(value)
                {
                    check.problem(format!("{at}/{key}"), e);
                }
            }
            check.paths(&format!("{at}/source"), source)
        }
        Derivation::AllTrue { sources, .. } => {
            if *kind != Kind::Boolean {
                check.problem(format!("{at}/rule"), "all_true fills a true-or-false field");
            }
            if sources.is_empty() {
                check.problem(format!("{at}/sources"), "lists at least one platform field");
            }
            sources
                .iter()
                .enumerate()
                .filter_map(|(i, s)| check.path(format!("{at}/sources/{i}"), s))
                .collect()
        }
        Derivation::Present { source, .. } => {
            if *kind != Kind::Boolean {
                check.problem(format!("{at}/rule"), "present fills a true-or-false field");
            }
            check
                .path(format!("{at}/source"), source)
                .into_iter()
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn primero() -> Value {
        serde_json::to_value(Profile::bundled(Platform::Primero).document()).unwrap()
    }

    fn refused(change: impl FnOnce(&mut Value)) -> Vec<Violation> {
        let mut document = primero();
        change(&mut document);
        Profile::from_value(document).unwrap_err().violations
    }

    fn has(violations: &[Violation], pointer: &str, words: &str) -> bool {
        violations
            .iter()
            .any(|v| v.pointer == pointer && v.message.contains(words))
    }

    #[test]
    fn every_mistake_is_refused_with_its_pointer_in_the_profile() {
        let v = refused(|d| d["fields"][1]["lookup"] = json!("no-such-table"));
        assert!(has(&v, "/fields/1/lookup", "names no lookup"), "{v:?}");
        let v = refused(|d| d["fields"][0]["as"] = json!("boolean"));
        assert!(
            has(&v, "/fields/0/as", "cannot fill /registered_on"),
            "{v:?}"
        );
        let v = refused(|d| d["fields"][0]["source"] = json!("a..b"));
        assert!(has(&v, "/fields/0/source", "not a source path"), "{v:?}");
        let v = refused(|d| d["timezone"] = json!("Mars/Olympus"));
        assert!(has(&v, "/timezone", "IANA"), "{v:?}");
        let v = refused(|d| {
            d["fields"].as_array_mut().unwrap().remove(1);
        });
        assert!(has(&v, "/fields", "nothing fills /status"), "{v:?}");
        let v = refused(|d| d["fields"][0]["canonical"] = json!("/child/name"));
        assert!(
            has(
                &v,
                "/fields/0/canonical",
                "not a field of the canonical case"
            ),
            "{v:?}"
        );
        let v = refused(|d| d["collections"][0]["rows"] = json!("incident_details"));
        assert!(
            has(&v, "/collections/0/rows", "reaches one value at most"),
            "{v:?}"
        );
        let v =
            refused(|d| d["lookups"]["locations"]["values"]["KEN02"] = json!({"county": "Kwale"}));
        assert!(
            has(
                &v,
                "/lookups/locations/values/KEN02",
                "its county is not a lowercase slug"
            ),
            "{v:?}"
        );
        let v = refused(|d| d["fields"][7]["derive"]["then"] = json!("victim"));
        assert!(has(&v, "/fields/7/derive/then", "is not one of"), "{v:?}");
        let v = refused(|d| d["colour"] = json!("blue"));
        assert_eq!(v[0].pointer, "");
        let v = refused(|d| d["fields"][0]["if_absent"] = json!("yesterday"));
        assert!(
            has(&v, "/fields/0/if_absent", "is required by the case"),
            "{v:?}"
        );
        let sex = |d: &Value| {
            d["fields"]
                .as_array()
                .unwrap()
                .iter()
                .position(|f| f["canonical"] == json!("/child/sex"))
                .unwrap()
        };
        let v = refused(|d| {
            let at = sex(d);
            d["fields"][at]["if_absent"] = json!("unknown");
        });
        assert!(
            v.iter()
                .any(|v| v.message.contains("/child/sex is required by the case")),
            "{v:?}"
        );
    }

    #[test]
    fn a_profile_survives_a_round_trip_through_its_document() {
        let document = primero();
        let again = Profile::from_value(document.clone()).unwrap();
        assert_eq!(serde_json::to_value(again.document()).unwrap(), document);
    }
}
