//! Mapping one platform record to a canonical case, as its profile says.
//!
//! Nothing is filled by default. A code a lookup does not list, a value of
//! the wrong type, several values where one is expected, or a required
//! canonical field with nothing in the record is a problem, reported with
//! the JSON pointer of the platform's field (never its value: it is a
//! child's data). An optional field the record does not hold is left out of
//! the case, so the rules say *undetermined* and name it.
//!
//! Where each value came from (the platform pointer, the lookup, a place's
//! code, a date's precision, the derivation that fired, a declared default)
//! is written to `extensions.kinga_mapping`, so a decision can be traced to
//! the platform's own fields: one entry per value, except that a place (an
//! object a lookup gives) and a row have one entry for all their members.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::canonical::{self, Kind};
use super::origin::{Origin, Pointers};
use super::path::{Lookup, SourcePath, ancestors, is_absent, joined, key_text};
use super::profile::{CompiledField, Condition, Derivation, Profile};
use super::values::{self, Precision};
use crate::case::schema::Violation;
use crate::case::{CaseRejection, ValidCase};

/// At most this many problems are reported for one record.
const MAX_PROBLEMS: usize = 20;
/// Longest platform id kept in provenance.
const MAX_ID_CHARS: usize = 128;

/// What one mapping gave.
enum Outcome<'p> {
    /// A canonical value, and where it came from.
    Value(Cow<'p, Value>, Origin<'p>),
    /// Nothing: the first platform pointer the mapping looked at.
    Absent(Option<String>),
    /// The mapping's condition did not hold.
    Skipped,
    /// A lookup mapped the code to `null`: known, carries nothing.
    Nothing,
}

/// The canonical field a mapping gives a value to.
struct TargetField<'f> {
    /// Its pointer within the case or the row.
    relative: &'f str,
    /// Its pointer within the case.
    canonical: String,
    /// Its place in the schema's order.
    rank: u32,
    /// The collection of the row (empty for the case).
    rows_of: &'f str,
}

/// The paths a field mapping reads, as the profile writes them.
fn sources_text(field: &CompiledField) -> String {
    field
        .sources
        .iter()
        .chain(&field.derive_sources)
        .map(SourcePath::text)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A code found in a record, as text (none for a list or an object).
type Code<'v> = Option<Cow<'v, str>>;

struct Run<'a> {
    profile: &'a Profile,
    record: &'a Value,
    /// The record's pointer in the document.
    at: &'a str,
    problems: Vec<Violation>,
    /// Canonical pointer → provenance.
    provenance: Map<String, Value>,
    /// While a row is mapped: its fields' origins, folded into the row's
    /// one entry when it is done.
    row: Option<Vec<(String, Origin<'a>)>>,
    /// Canonical pointer → where the platform had nothing for it, and the
    /// mapping that looked there.
    absent: Vec<(String, String, &'a CompiledField)>,
}

/// Maps one record (at `at` in its document) to a canonical case.
pub(crate) fn map_record(
    profile: &Profile,
    record: &Value,
    at: &str,
) -> Result<ValidCase, Vec<Violation>> {
    let (case, mut run) = fill(profile, record, at);
    let ids = run.kept_ids();
    if !run.problems.is_empty() {
        run.problems.truncate(MAX_PROBLEMS);
        return Err(run.problems);
    }
    let mut mapping = Map::with_capacity(6);
    mapping.insert("platform".into(), text(profile.platform().name()));
    mapping.insert("profile".into(), text(profile.id()));
    if !at.is_empty() {
        mapping.insert("record".into(), text(at));
    }
    if !ids.is_empty() {
        mapping.insert("ids".into(), Value::Object(ids));
    }
    mapping.insert("timezone".into(), text(&profile.document.timezone));
    // The provenance moves into the case; a case the schema refuses (rare:
    // the profile's checks admit little it could refuse) is mapped again
    // to say where each refused value came from.
    mapping.insert(
        "fields".into(),
        Value::Object(std::mem::take(&mut run.provenance)),
    );
    let mut extensions = Map::with_capacity(1);
    extensions.insert("kinga_mapping".into(), Value::Object(mapping));
    let mut case = case.into_object();
    case.insert("extensions".into(), Value::Object(extensions));
    ValidCase::from_value(Value::Object(case))
        .map_err(|rejection| fill(profile, record, at).1.translate(rejection))
}

/// Every member the case schema requires outside rows (nested objects'
/// too), in the order they are checked; read from the schema once.
fn required_outside_rows() -> &'static [String] {
    static REQUIRED: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    REQUIRED.get_or_init(|| {
        let mut found = Vec::new();
        let mut objects = vec![String::new()];
        while let Some(object) = objects.pop() {
            for member in canonical::required_members(&object, None) {
                if matches!(
                    canonical::field(&member, None).map(|f| f.kind),
                    Some(Kind::Object)
                ) {
                    objects.push(member.clone());
                }
                found.push(member);
            }
        }
        found
    })
}

/// A JSON string.
fn text(text: &str) -> Value {
    Value::String(text.to_owned())
}

/// `a` followed by `b`.
fn concat(a: &str, b: &str) -> String {
    let mut joined = String::with_capacity(a.len() + b.len());
    joined.push_str(a);
    joined.push_str(b);
    joined
}

/// The values given to the fields of one object (the case, or one row),
/// kept until every mapping has run and then placed in the schema's order,
/// so that a mapped case reads like one written by hand.
struct Assigned<'p> {
    /// The field's rank in the schema, its pointer in the object (as the
    /// profile writes it, where it can), its value.
    fields: Vec<(u32, Cow<'p, str>, Value)>,
}

impl<'p> Assigned<'p> {
    fn with_capacity(capacity: usize) -> Self {
        Assigned {
            fields: Vec::with_capacity(capacity),
        }
    }

    fn push(&mut self, rank: u32, pointer: Cow<'p, str>, value: Value) {
        self.fields.push((rank, pointer, value));
    }

    /// The value given to `pointer`.
    fn get(&self, pointer: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(_, at, _)| at == pointer)
            .map(|(_, _, value)| value)
    }

    /// Whether `pointer`, or a field inside it, has a value.
    fn has(&self, pointer: &str) -> bool {
        self.fields.iter().any(|(_, at, _)| {
            at.strip_prefix(pointer)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    /// The object, its fields in the schema's order (those of one rank in
    /// the order they were given).
    fn into_object(mut self) -> Map<String, Value> {
        self.fields.sort_by_key(|(rank, _, _)| *rank);
        let mut object = Map::with_capacity(self.fields.len());
        for (_, pointer, value) in self.fields {
            place(
                &mut object,
                pointer.strip_prefix('/').unwrap_or(&pointer),
                value,
            );
        }
        object
    }
}

/// The case the record's fields and collections give (without its
/// provenance in `extensions`), and the run that made it.
fn fill<'a>(profile: &'a Profile, record: &'a Value, at: &'a str) -> (Assigned<'a>, Run<'a>) {
    let mut run = Run {
        profile,
        record,
        at,
        problems: Vec::new(),
        provenance: Map::with_capacity(profile.fields.len() + 4),
        row: None,
        absent: Vec::new(),
    };
    let mut case = Assigned::with_capacity(profile.fields.len() + 4);
    case.push(
        canonical::rank("/schema_version"),
        Cow::Borrowed("/schema_version"),
        text("1.1"),
    );
    if let Some(id) = run.case_id() {
        case.push(
            canonical::rank("/case_id"),
            Cow::Borrowed("/case_id"),
            Value::String(id),
        );
    }
    for field in &profile.fields {
        run.apply(&mut case, field, record, "", "", "");
    }
    for collection in &profile.collections {
        run.collection(&mut case, collection);
    }
    run.required(&case);
    (case, run)
}

impl<'a> Run<'a> {
    fn problem(&mut self, pointer: &str, message: impl Into<String>) {
        self.problems.push(Violation {
            pointer: format!("{}{pointer}", self.at),
            message: message.into(),
        });
    }

    fn platform(&self) -> &'static str {
        self.profile.platform().title()
    }

    fn case_id(&mut self) -> Option<String> {
        let profile = self.profile;
        let paths = &profile.case_id;
        match self.first_single(paths, self.record, "") {
            Ok(Some((value, pointer))) => match key_text(value) {
                Some(id) if id.chars().count() <= MAX_ID_CHARS => {
                    let origin = Origin::read_from(Pointers::One(pointer));
                    self.provenance
                        .insert("/case_id".into(), origin.into_json());
                    Some(format!("{}{id}", self.profile.document.case_id.prefix))
                }
                _ => {
                    self.problem(
                        &pointer,
                        "is not an id (text or a number of at most 128 characters)",
                    );
                    None
                }
            },
            Ok(None) => {
                let tried = paths
                    .iter()
                    .map(SourcePath::text)
                    .collect::<Vec<_>>()
                    .join(", ");
                self.problem(
                    "",
                    format!("the {} record has no id at {tried}", self.platform()),
                );
                None
            }
            Err(()) => None,
        }
    }

    fn kept_ids(&mut self) -> Map<String, Value> {
        let mut ids = Map::new();
        for (name, path) in &self.profile.keep {
            if let Lookup::Found(found) = path.resolve(self.record, "")
                && let [(value, pointer)] = found.as_slice()
            {
                match key_text(value) {
                    Some(id) if id.chars().count() <= MAX_ID_CHARS => {
                        ids.insert(name.clone(), Value::String(id.into_owned()));
                    }
                    _ => {
                        let pointer = pointer.clone();
                        self.problem(
                            &pointer,
                            format!("is not an id, so it cannot be kept as `{name}`"),
                        );
                    }
                }
            }
        }
        ids
    }

    /// The value of the first path that reaches one, and its pointer;
    /// `Err` when a path reaches several (reported).
    fn first_single<'v>(
        &mut self,
        paths: &[SourcePath],
        scope: &'v Value,
        scope_pointer: &str,
    ) -> Result<Option<(&'v Value, String)>, ()>
    where
        'a: 'v,
    {
        for path in paths {
            match self.resolve(path, scope, scope_pointer) {
                Lookup::Found(found) if found.len() == 1 => {
                    let (value, pointer) = found.into_iter().next().ok_or(())?;
                    return Ok(Some((value, pointer)));
                }
                Lookup::Found(found) => {
                    let pointer = found[0].1.clone();
                    self.problem(
                        &pointer,
                        format!(
                            "is one of {} values {path} reaches where one is expected: give the selector `newest=FIELD`, or a narrower one",
                            found.len()
                        ),
                    );
                    return Err(());
                }
                Lookup::Absent(_) => {}
            }
        }
        Ok(None)
    }

    fn resolve<'v>(&self, path: &SourcePath, scope: &'v Value, scope_pointer: &str) -> Lookup<'v>
    where
        'a: 'v,
    {
        if path.reads_record() {
            path.resolve(self.record, "")
        } else {
            path.resolve(scope, scope_pointer)
        }
    }

    fn first_absent(
        &self,
        paths: &[SourcePath],
        scope: &Value,
        scope_pointer: &str,
    ) -> Option<String> {
        paths
            .iter()
            .find_map(|path| match self.resolve(path, scope, scope_pointer) {
                Lookup::Absent(at) => Some(at),
                Lookup::Found(_) => None,
            })
    }

    /// Applies one field mapping to `target` (the case, or a row of the
    /// collection `rows_of`).
    fn apply(
        &mut self,
        target: &mut Assigned<'a>,
        field: &'a CompiledField,
        scope: &Value,
        scope_pointer: &str,
        canonical_prefix: &str,
        rows_of: &'a str,
    ) -> bool {
        let canonical = || concat(canonical_prefix, &field.map.canonical);
        match self.evaluate(field, scope, scope_pointer) {
            Outcome::Value(value, origin) => {
                let target_field = TargetField {
                    relative: &field.map.canonical,
                    canonical: canonical(),
                    rank: field.rank,
                    rows_of,
                };
                self.set(target, target_field, value, origin);
                true
            }
            Outcome::Absent(at) => {
                if let Some(at) = at {
                    self.absent.push((canonical(), at, field));
                }
                true
            }
            Outcome::Skipped => true,
            Outcome::Nothing => false,
        }
    }

    fn evaluate(
        &mut self,
        field: &'a CompiledField,
        scope: &Value,
        scope_pointer: &str,
    ) -> Outcome<'a> {
        if let (Some(condition), Some(path)) = (&field.map.when, &field.when)
            && !self.holds(condition, path, scope, scope_pointer)
        {
            return Outcome::Skipped;
        }
        let outcome = match &field.map.derive {
            Some(derivation) => self.derive(derivation, field, scope, scope_pointer),
            None if matches!(field.kind, Kind::EnumList(_)) => {
                self.list(field, scope, scope_pointer)
            }
            None => self.single(field, scope, scope_pointer),
        };
        match (outcome, &field.map.if_absent) {
            (Outcome::Absent(absent), Some(default)) => {
                let origin = Origin {
                    default: true,
                    absent,
                    ..Origin::default()
                };
                Outcome::Value(Cow::Borrowed(default), origin)
            }
            (outcome, _) => outcome,
        }
    }

    fn holds(
        &self,
        condition: &Condition,
        path: &SourcePath,
        scope: &Value,
        scope_pointer: &str,
    ) -> bool {
        let found = match self.resolve(path, scope, scope_pointer) {
            Lookup::Found(found) => Some(found),
            Lookup::Absent(_) => None,
        };
        match condition {
            Condition::Absent(_) => found.is_none(),
            Condition::Present(_) => found.is_some(),
            Condition::Equals { value, .. } => found.is_some_and(|found| {
                found.len() == 1
                    && key_text(found[0].0).is_some()
                    && key_text(found[0].0) == key_text(value)
            }),
        }
    }

    fn single(
        &mut self,
        field: &'a CompiledField,
        scope: &Value,
        scope_pointer: &str,
    ) -> Outcome<'a> {
        let found = match self.first_single(&field.sources, scope, scope_pointer) {
            Ok(Some(found)) => found,
            Ok(None) => {
                return Outcome::Absent(self.first_absent(&field.sources, scope, scope_pointer));
            }
            Err(()) => return Outcome::Skipped,
        };
        let (value, pointer) = found;
        if let Some(name) = &field.map.lookup {
            let key = key_text(value);
            let Some(mapped) = self.look_up(name, key.as_deref(), &pointer) else {
                return Outcome::Skipped;
            };
            let origin = Origin {
                lookup: Some(name),
                // A place: its code is part of the provenance.
                code: mapped.is_object().then(|| key.map(Cow::into_owned)),
                ..Origin::read_from(Pointers::One(pointer))
            };
            return match mapped {
                Value::Null => Outcome::Nothing,
                mapped => Outcome::Value(Cow::Borrowed(mapped), origin),
            };
        }
        let Some(conversion) = field.map.conversion else {
            return Outcome::Skipped;
        };
        match conversion.apply(value, &self.profile.zone) {
            Ok((converted, precision)) => {
                let origin = Origin {
                    precision,
                    ..Origin::read_from(Pointers::One(pointer))
                };
                Outcome::Value(Cow::Owned(converted), origin)
            }
            Err(e) => {
                self.problem(&pointer, format!("{e} (for {})", field.map.canonical));
                Outcome::Skipped
            }
        }
    }

    /// Every code of the first source present, split if asked, each with
    /// its pointer.
    fn codes<'v>(
        &mut self,
        paths: &[SourcePath],
        split: Option<&str>,
        scope: &'v Value,
        scope_pointer: &str,
    ) -> Option<Vec<(Code<'v>, String)>>
    where
        'a: 'v,
    {
        let found =
            paths
                .iter()
                .find_map(|path| match self.resolve(path, scope, scope_pointer) {
                    Lookup::Found(found) => Some(found),
                    Lookup::Absent(_) => None,
                })?;
        let mut codes = Vec::new();
        for (value, pointer) in found {
            match value {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if !is_absent(item) {
                            let mut at = pointer.clone();
                            let _ = write!(at, "/{i}");
                            codes.push((key_text(item), at));
                        }
                    }
                }
                Value::String(text) => match split {
                    Some(separator) => codes.extend(
                        text.split(separator)
                            .filter(|part| !part.is_empty())
                            .map(|part| (Some(Cow::Borrowed(part)), pointer.clone())),
                    ),
                    None => codes.push((Some(Cow::Borrowed(text.as_str())), pointer)),
                },
                other => codes.push((key_text(other), pointer)),
            }
        }
        Some(codes)
    }

    fn list(
        &mut self,
        field: &'a CompiledField,
        scope: &Value,
        scope_pointer: &str,
    ) -> Outcome<'a> {
        let Some(codes) = self.codes(
            &field.sources,
            field.map.split.as_deref(),
            scope,
            scope_pointer,
        ) else {
            return Outcome::Absent(self.first_absent(&field.sources, scope, scope_pointer));
        };
        let Some(name) = &field.map.lookup else {
            return Outcome::Skipped;
        };
        let mut values: Vec<Value> = Vec::new();
        let mut from = Vec::new();
        for (code, pointer) in codes {
            match self.look_up(name, code.as_deref(), &pointer) {
                Some(Value::Null) => {}
                Some(mapped) => {
                    if !values.contains(mapped) {
                        values.push(mapped.clone());
                    }
                }
                None => continue,
            }
            if !from.contains(&pointer) {
                from.push(pointer);
            }
        }
        let origin = Origin {
            lookup: Some(name),
            ..Origin::read_from(Pointers::Many(from))
        };
        Outcome::Value(Cow::Owned(Value::Array(values)), origin)
    }

    /// What lookup `name` gives the code `key` (none for a list or an
    /// object), or a problem at `pointer`.
    fn look_up(&mut self, name: &str, key: Option<&str>, pointer: &str) -> Option<&'a Value> {
        let profile: &'a Profile = self.profile;
        let table = profile.document.lookups.get(name)?;
        let Some(key) = key else {
            self.problem(
                pointer,
                format!("holds a list or an object where a code of lookup `{name}` is expected"),
            );
            return None;
        };
        match table.values.get(key) {
            Some(value) => Some(value),
            None => {
                let message = format!(
                    "holds a code that lookup `{name}` ({} list `{}`) does not list: add it to profile `{}`",
                    self.platform(),
                    table.platform_list,
                    self.profile.id()
                );
                self.problem(pointer, message);
                None
            }
        }
    }

    fn derive(
        &mut self,
        derivation: &'a Derivation,
        field: &'a CompiledField,
        scope: &Value,
        scope_pointer: &str,
    ) -> Outcome<'a> {
        let sources = &field.derive_sources;
        let derived = |from: Pointers| Origin {
            derivation: Some(derivation.name()),
            ..Origin::read_from(from)
        };
        match derivation {
            Derivation::AnyOf {
                split,
                codes,
                then,
                otherwise,
                ..
            } => {
                let Some(found) = self.codes(sources, split.as_deref(), scope, scope_pointer)
                else {
                    return Outcome::Absent(self.first_absent(sources, scope, scope_pointer));
                };
                let mut from: Vec<String> = found.iter().map(|(_, p)| p.clone()).collect();
                from.dedup();
                let origin = derived(Pointers::Many(from));
                let fired = found.iter().any(|(code, _)| {
                    code.as_deref()
                        .is_some_and(|c| codes.iter().any(|listed| listed == c))
                });
                match (fired, otherwise) {
                    (true, _) => Outcome::Value(Cow::Borrowed(then), origin),
                    (false, Some(otherwise)) => Outcome::Value(Cow::Borrowed(otherwise), origin),
                    (false, None) => Outcome::Absent(None),
                }
            }
            Derivation::AllTrue { .. } => {
                let (mut any_false, mut any_absent) = (false, false);
                let mut from = Vec::new();
                for path in sources {
                    match self.first_single(std::slice::from_ref(path), scope, scope_pointer) {
                        Ok(Some((value, pointer))) => match values::boolean(value) {
                            Ok(value) => {
                                any_false |= !value;
                                from.push(pointer);
                            }
                            Err(e) => {
                                self.problem(
                                    &pointer,
                                    format!("{e} (for {})", field.map.canonical),
                                );
                                return Outcome::Skipped;
                            }
                        },
                        Ok(None) => any_absent = true,
                        Err(()) => return Outcome::Skipped,
                    }
                }
                let origin = derived(Pointers::Many(from));
                if any_false {
                    Outcome::Value(Cow::Owned(Value::Bool(false)), origin)
                } else if any_absent {
                    Outcome::Absent(self.first_absent(sources, scope, scope_pointer))
                } else {
                    Outcome::Value(Cow::Owned(Value::Bool(true)), origin)
                }
            }
            Derivation::Present { .. } => match self.first_single(sources, scope, scope_pointer) {
                Ok(Some((_, pointer))) => Outcome::Value(
                    Cow::Owned(Value::Bool(true)),
                    derived(Pointers::One(pointer)),
                ),
                Ok(None) => Outcome::Absent(None),
                Err(()) => Outcome::Skipped,
            },
        }
    }

    /// Gives `value` to a field of `target`, each member of an object
    /// value (a place) on its own. The provenance is one entry, at the
    /// pointer the mapping names: a place's members find theirs at their
    /// parent (see [`Run::origin`]). When an earlier mapping has an entry
    /// at that pointer, this one's is written for each member it gives.
    fn set(
        &mut self,
        target: &mut Assigned<'a>,
        field: TargetField<'a>,
        value: Cow<'_, Value>,
        origin: Origin<'a>,
    ) {
        let Value::Object(members) = value.as_ref() else {
            let given = (
                field.rank,
                Cow::Borrowed(field.relative),
                value.into_owned(),
            );
            if self.set_one(target, given, &field.canonical, &origin) {
                self.record(field.canonical, origin);
            }
            return;
        };
        let shared = !self.has_entry(&field.canonical);
        let mut given_any = false;
        for (name, member) in members {
            let relative = joined(field.relative, name);
            let canonical = joined(&field.canonical, name);
            let rank = if field.rows_of.is_empty() {
                canonical::rank(&canonical)
            } else {
                canonical::rank(&concat(field.rows_of, &relative))
            };
            let given = (rank, Cow::Owned(relative), member.clone());
            if self.set_one(target, given, &canonical, &origin) {
                given_any = true;
                if !shared {
                    self.record(canonical, origin.clone());
                }
            }
        }
        if shared && given_any {
            self.record(field.canonical, origin);
        }
    }

    /// Gives one field its value; false, with a problem, when it has a
    /// different value already.
    fn set_one(
        &mut self,
        target: &mut Assigned<'a>,
        (rank, relative, value): (u32, Cow<'a, str>, Value),
        canonical: &str,
        origin: &Origin<'_>,
    ) -> bool {
        match target.get(&relative) {
            None => target.push(rank, relative, value),
            Some(earlier) if *earlier == value => {}
            Some(_) => {
                let earlier = self.earlier_from(canonical);
                let now = origin.sources_text();
                let pointer = origin.first_pointer().unwrap_or_default().to_owned();
                self.problem(
                    &pointer,
                    format!("gives {canonical} a different value than {earlier} did (from {now}): the record contradicts itself"),
                );
                return false;
            }
        }
        true
    }

    /// Keeps where the value at `canonical` came from: in the row being
    /// mapped (replacing an entry of the same field), else in the case's
    /// provenance.
    fn record(&mut self, canonical: String, origin: Origin<'a>) {
        match &mut self.row {
            Some(row) => match row.iter_mut().find(|(at, _)| *at == canonical) {
                Some(entry) => entry.1 = origin,
                None => row.push((canonical, origin)),
            },
            None => {
                self.provenance.insert(canonical, origin.into_json());
            }
        }
    }

    /// Whether `canonical` has an entry of its own (in the row being
    /// mapped, or in the case's provenance).
    fn has_entry(&self, canonical: &str) -> bool {
        match &self.row {
            Some(row) => row.iter().any(|(at, _)| at == canonical),
            None => self.provenance.contains_key(canonical),
        }
    }

    /// `from` of the value at `canonical` (see [`Run::origin`]), as JSON
    /// text for a problem's message.
    fn earlier_from(&self, canonical: &str) -> String {
        let Some(row) = &self.row else {
            return self
                .origin(canonical)
                .and_then(|entry| entry.get("from"))
                .map(Value::to_string)
                .unwrap_or_default();
        };
        ancestors(canonical)
            .find_map(|pointer| row.iter().find(|(at, _)| at == pointer))
            .map(|(_, origin)| origin.sources_text())
            .unwrap_or_default()
    }

    /// The provenance entry of the value at `canonical`, in the case's:
    /// its own, else its nearest parent's (a place's, or a row's), as
    /// `docs/adapters.md` tells a reader to look. Its own entry ends the
    /// search even without `from` (a declared default).
    fn origin(&self, canonical: &str) -> Option<&Map<String, Value>> {
        ancestors(canonical).find_map(|pointer| match self.provenance.get(pointer) {
            Some(Value::Object(entry)) => Some(entry),
            _ => None,
        })
    }

    fn collection(
        &mut self,
        case: &mut Assigned<'a>,
        collection: &'a super::profile::CompiledCollection,
    ) {
        let rows = match collection.rows.resolve(self.record, "") {
            Lookup::Found(rows) => rows,
            Lookup::Absent(_) => return,
        };
        let required = &collection.required;
        let mut mapped = Vec::new();
        for (row, row_pointer) in rows {
            let index = mapped.len();
            let prefix = format!("{}/{index}", collection.canonical);
            let member_prefix = concat(&prefix, "/");
            let mut out = Assigned::with_capacity(collection.fields.len());
            let absent_before = self.absent.len();
            // The row's fields' origins are kept apart, then folded into
            // the row's one entry.
            self.row = Some(Vec::new());
            let mut keep = true;
            let mut precision = None;
            for field in &collection.fields {
                let kept = self.apply(
                    &mut out,
                    field,
                    row,
                    &row_pointer,
                    &prefix,
                    &collection.canonical,
                );
                if !kept && field.map.drop_row_if_null {
                    keep = false;
                }
            }
            let fields = self.row.take().unwrap_or_default();
            if !keep {
                self.absent.truncate(absent_before);
                continue;
            }
            for member in required {
                if !out.has(member) {
                    let at = self.absent[absent_before..]
                        .iter()
                        .find(|(c, _, _)| *c == format!("{prefix}{member}"))
                        .map_or_else(|| row_pointer.clone(), |(_, at, _)| at.clone());
                    self.problem(
                        &at,
                        format!(
                            "leaves {prefix}{member} empty, which every row of {} requires",
                            collection.canonical
                        ),
                    );
                }
            }
            if collection.canonical == "/incidents"
                && out.get("/occurred_at").is_none()
                && out.get("/occurred_on").is_none()
            {
                self.problem(&row_pointer, format!("gives {prefix} no time (occurred_at or occurred_on), which every incident requires"));
            }
            for member in ["/occurred_at", "/occurred_on"] {
                if out.get(member).is_some() {
                    precision = Some(if member == "/occurred_at" {
                        Precision::DateTime
                    } else {
                        Precision::Date
                    });
                }
            }
            // A row's provenance is one entry (a case may hold hundreds of
            // rows): where it came from, its time's precision, and the
            // derivations and defaults that filled its fields.
            let mut derivations = Vec::new();
            let mut defaults = Vec::new();
            for (pointer, origin) in &fields {
                let member = pointer.strip_prefix(&member_prefix).unwrap_or(pointer);
                if let Some(name) = origin.derivation {
                    derivations.push(text(name));
                }
                if origin.default {
                    defaults.push(text(member));
                }
            }
            let mut row_provenance = Map::with_capacity(4);
            row_provenance.insert("from".into(), Value::String(row_pointer));
            if let Some(precision) = precision {
                row_provenance.insert("precision".into(), text(precision.name()));
            }
            if !derivations.is_empty() {
                row_provenance.insert("derivations".into(), Value::Array(derivations));
            }
            if !defaults.is_empty() {
                row_provenance.insert("defaults".into(), Value::Array(defaults));
            }
            self.provenance
                .insert(prefix, Value::Object(row_provenance));
            mapped.push(Value::Object(out.into_object()));
        }
        if !mapped.is_empty() {
            case.push(
                canonical::rank(&collection.canonical),
                Cow::Borrowed(collection.canonical.as_str()),
                Value::Array(mapped),
            );
        }
    }

    /// Every required canonical field (outside rows) has a value.
    fn required(&mut self, case: &Assigned<'_>) {
        for member in required_outside_rows() {
            let member = member.as_str();
            if case.has(member) || member == "/case_id" {
                continue;
            }
            let absent = self
                .absent
                .iter()
                .find(|(c, _, _)| {
                    member
                        .strip_prefix(c.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                })
                .map(|(_, at, field)| (at.clone(), sources_text(field)));
            match absent {
                Some((at, sources)) => self.problem(
                    &at,
                    format!("is empty or missing, and {member}, which the case requires, comes from it ({sources})"),
                ),
                None => self.problem(
                    "",
                    format!("gives {member} no value, which the case requires"),
                ),
            }
        }
    }

    /// The case check's problems, pointed back at the platform's fields.
    fn translate(&self, rejection: CaseRejection) -> Vec<Violation> {
        rejection
            .violations
            .into_iter()
            .map(|violation| {
                // Where the platform had the value, else (a declared
                // default) where it had nothing.
                let from = self
                    .origin(&violation.pointer)
                    .and_then(|entry| entry.get("from").or_else(|| entry.get("absent")))
                    .map(|from| match from {
                        Value::Array(list) => list
                            .first()
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        other => other.as_str().unwrap_or_default().to_owned(),
                    });
                Violation {
                    pointer: format!("{}{}", self.at, from.unwrap_or_default()),
                    message: format!(
                        "maps to {}, which the canonical case refuses: {}",
                        violation.pointer, violation.message
                    ),
                }
            })
            .collect()
    }
}

/// Puts `value` at `path` (members separated by `/`, no escapes:
/// canonical names are plain) in `object`, making its parents. Fields come
/// in schema order, so a parent is usually the last member made.
fn place(object: &mut Map<String, Value>, path: &str, value: Value) {
    let Some((head, rest)) = path.split_once('/') else {
        object.insert(path.to_owned(), value);
        return;
    };
    let last_is_head = object.iter().next_back().is_some_and(|(k, _)| k == head);
    let parent = if last_is_head {
        object.iter_mut().next_back().map(|(_, v)| v)
    } else {
        if !object.contains_key(head) {
            object.insert(head.to_owned(), Value::Object(Map::new()));
        }
        object.get_mut(head)
    };
    if let Some(Value::Object(parent)) = parent {
        place(parent, rest, value);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Platform, Profile, bundled_document};
    use crate::case::schema::Violation;
    use serde_json::{Value, json};

    /// The bundled Primero profile with `fields` added, and a lookup that
    /// gives each sex the other one (and a county from a sex).
    fn profile_with(fields: Value) -> Profile {
        let mut document: Value =
            serde_json::from_str(bundled_document(Platform::Primero)).unwrap();
        let list = document["fields"].as_array_mut().unwrap();
        list.extend(fields.as_array().unwrap().iter().cloned());
        document["lookups"]["flip"] = json!({
            "platform_list": "test", "values": {"female": "male", "male": "female"}
        });
        document["lookups"]["county-of"] = json!({
            "platform_list": "test", "values": {"female": "mombasa", "male": "mombasa"}
        });
        Profile::from_value(document).unwrap()
    }

    fn primero_record(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/platforms/primero-1.json"
        );
        let mut record: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        edit(&mut record["data"]);
        serde_json::to_vec(&record).unwrap()
    }

    fn refused(profile: &Profile, bytes: &[u8]) -> Vec<Violation> {
        let mut mapped = profile.map_document(bytes).unwrap();
        mapped.remove(0).case.unwrap_err().violations
    }

    #[test]
    fn a_record_that_contradicts_itself_names_both_fields() {
        let profile = profile_with(json!([
            {"canonical": "/child/sex", "source": "sex", "lookup": "flip"}
        ]));
        let problems = refused(&profile, &primero_record(|_| {}));
        assert_eq!(problems[0].pointer, "/data/sex", "{problems:?}");
        assert!(
            problems[0]
                .message
                .contains(r#"gives /child/sex a different value than "/sex" did (from "/sex")"#),
            "{problems:?}"
        );
    }

    #[test]
    fn a_place_member_contradicted_names_the_place_field() {
        let profile = profile_with(json!([
            {"canonical": "/child/county", "source": "sex", "lookup": "county-of"}
        ]));
        let problems = refused(&profile, &primero_record(|_| {}));
        assert!(
            problems[0]
                .message
                .contains(r#"gives /child/county a different value than "/location_current" did"#),
            "{problems:?}"
        );
    }

    #[test]
    fn a_refused_default_points_where_the_platform_had_nothing() {
        // The default, under the /child place, is refused by the case
        // check: the problem names the empty field, not the place's.
        let mut document: Value =
            serde_json::from_str(bundled_document(Platform::Primero)).unwrap();
        for field in document["fields"].as_array_mut().unwrap() {
            if field["canonical"] == "/child/date_of_birth" {
                field["if_absent"] = json!("2030-01-01");
            }
        }
        let profile = Profile::from_value(document).unwrap();
        let bytes = primero_record(|record| {
            record.as_object_mut().unwrap().remove("date_of_birth");
        });
        let problems = refused(&profile, &bytes);
        let problem = problems
            .iter()
            .find(|p| p.message.contains("maps to /child/date_of_birth"))
            .unwrap_or_else(|| panic!("{problems:?}"));
        assert_eq!(problem.pointer, "/data/date_of_birth", "{problems:?}");
    }
}
