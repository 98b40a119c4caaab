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
//! the platform's own fields.

use serde_json::{Map, Value, json};

use super::canonical::{self, Kind};
use super::path::{Lookup, SourcePath, is_absent, key_text};
use super::profile::{CompiledField, Condition, Derivation, Profile};
use super::values::{self, Precision};
use crate::case::schema::Violation;
use crate::case::{CaseRejection, ValidCase};

/// At most this many problems are reported for one record.
const MAX_PROBLEMS: usize = 20;
/// Longest platform id kept in provenance.
const MAX_ID_CHARS: usize = 128;

/// What one mapping gave.
enum Outcome {
    /// A canonical value, and where it came from.
    Value(Value, Map<String, Value>),
    /// Nothing: the first platform pointer the mapping looked at.
    Absent(Option<String>),
    /// The mapping's condition did not hold.
    Skipped,
    /// A lookup mapped the code to `null`: known, carries nothing.
    Nothing,
}

struct Run<'a> {
    profile: &'a Profile,
    record: &'a Value,
    /// The record's pointer in the document.
    at: &'a str,
    problems: Vec<Violation>,
    /// Canonical pointer → provenance.
    provenance: Map<String, Value>,
    /// Canonical pointer → where the platform had nothing for it.
    absent: Vec<(String, String, String)>,
}

/// Maps one record (at `at` in its document) to a canonical case.
pub(crate) fn map_record(
    profile: &Profile,
    record: &Value,
    at: &str,
) -> Result<ValidCase, Vec<Violation>> {
    let (mut case, mut run) = fill(profile, record, at);
    let ids = run.kept_ids();
    if !run.problems.is_empty() {
        run.problems.truncate(MAX_PROBLEMS);
        return Err(run.problems);
    }
    let mut mapping = Map::new();
    mapping.insert("platform".into(), json!(profile.platform().name()));
    mapping.insert("profile".into(), json!(profile.id()));
    if !at.is_empty() {
        mapping.insert("record".into(), json!(at));
    }
    if !ids.is_empty() {
        mapping.insert("ids".into(), Value::Object(ids));
    }
    mapping.insert("timezone".into(), json!(profile.document.timezone));
    // The provenance moves into the case; a case the schema refuses (rare:
    // the profile's checks admit little it could refuse) is mapped again
    // to say where each refused value came from.
    mapping.insert(
        "fields".into(),
        Value::Object(std::mem::take(&mut run.provenance)),
    );
    let mut extensions = Map::new();
    extensions.insert("kinga_mapping".into(), Value::Object(mapping));
    case["extensions"] = Value::Object(extensions);
    let case = ordered(case);
    ValidCase::from_value(case)
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

/// The case the record's fields and collections give (without its
/// provenance in `extensions`), and the run that made it.
fn fill<'a>(profile: &'a Profile, record: &'a Value, at: &'a str) -> (Value, Run<'a>) {
    let mut run = Run {
        profile,
        record,
        at,
        problems: Vec::new(),
        provenance: Map::new(),
        absent: Vec::new(),
    };
    let mut case = Map::new();
    case.insert("schema_version".into(), json!("1.1"));
    if let Some(id) = run.case_id() {
        case.insert("case_id".into(), Value::String(id));
    }
    let mut case = Value::Object(case);
    for field in &profile.fields {
        run.apply(&mut case, field, record, "", "");
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
                    self.provenance
                        .insert("/case_id".into(), json!({ "from": pointer }));
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
                        ids.insert(name.clone(), Value::String(id));
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

    /// Applies one field mapping to `target` (the case, or a row).
    fn apply(
        &mut self,
        target: &mut Value,
        field: &CompiledField,
        scope: &Value,
        scope_pointer: &str,
        canonical_prefix: &str,
    ) -> bool {
        let canonical = format!("{canonical_prefix}{}", field.map.canonical);
        match self.evaluate(field, scope, scope_pointer) {
            Outcome::Value(value, provenance) => {
                self.set(target, &field.map.canonical, &canonical, value, provenance);
                true
            }
            Outcome::Absent(at) => {
                if let Some(at) = at {
                    let sources = field
                        .sources
                        .iter()
                        .chain(&field.derive_sources)
                        .map(SourcePath::text)
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.absent.push((canonical, at, sources));
                }
                true
            }
            Outcome::Skipped => true,
            Outcome::Nothing => false,
        }
    }

    fn evaluate(&mut self, field: &CompiledField, scope: &Value, scope_pointer: &str) -> Outcome {
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
            (Outcome::Absent(at), Some(default)) => {
                let mut provenance = Map::new();
                provenance.insert("default".into(), json!(true));
                if let Some(at) = at {
                    provenance.insert("absent".into(), json!(at));
                }
                Outcome::Value(default.clone(), provenance)
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

    fn single(&mut self, field: &CompiledField, scope: &Value, scope_pointer: &str) -> Outcome {
        let found = match self.first_single(&field.sources, scope, scope_pointer) {
            Ok(Some(found)) => found,
            Ok(None) => {
                return Outcome::Absent(self.first_absent(&field.sources, scope, scope_pointer));
            }
            Err(()) => return Outcome::Skipped,
        };
        let (value, pointer) = found;
        let mut provenance = Map::new();
        provenance.insert("from".into(), json!(pointer));
        if let Some(name) = &field.map.lookup {
            let Some(mapped) = self.look_up(name, value, &pointer) else {
                return Outcome::Skipped;
            };
            provenance.insert("lookup".into(), json!(name));
            if mapped.is_object() {
                // A place: its code is part of the provenance.
                provenance.insert("code".into(), json!(key_text(value)));
            }
            return match mapped {
                Value::Null => Outcome::Nothing,
                mapped => Outcome::Value(mapped, provenance),
            };
        }
        let Some(conversion) = field.map.conversion else {
            return Outcome::Skipped;
        };
        match conversion.apply(value, &self.profile.zone) {
            Ok((converted, precision)) => {
                if let Some(precision) = precision {
                    provenance.insert("precision".into(), json!(precision.name()));
                }
                Outcome::Value(converted, provenance)
            }
            Err(e) => {
                self.problem(&pointer, format!("{e} (for {})", field.map.canonical));
                Outcome::Skipped
            }
        }
    }

    /// Every code of the first source present, split if asked, each with
    /// its pointer.
    fn codes(
        &mut self,
        paths: &[SourcePath],
        split: Option<&str>,
        scope: &Value,
        scope_pointer: &str,
    ) -> Option<Vec<(Value, String)>> {
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
                            codes.push((item.clone(), format!("{pointer}/{i}")));
                        }
                    }
                }
                Value::String(text) => match split {
                    Some(separator) => codes.extend(
                        text.split(separator)
                            .filter(|part| !part.is_empty())
                            .map(|part| (Value::String(part.to_owned()), pointer.clone())),
                    ),
                    None => codes.push((value.clone(), pointer)),
                },
                other => codes.push((other.clone(), pointer)),
            }
        }
        Some(codes)
    }

    fn list(&mut self, field: &CompiledField, scope: &Value, scope_pointer: &str) -> Outcome {
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
            match self.look_up(name, &code, &pointer) {
                Some(Value::Null) => {}
                Some(mapped) => {
                    if !values.contains(&mapped) {
                        values.push(mapped);
                    }
                }
                None => continue,
            }
            if !from.contains(&pointer) {
                from.push(pointer);
            }
        }
        let provenance = json!({ "from": from, "lookup": name });
        match provenance {
            Value::Object(provenance) => Outcome::Value(Value::Array(values), provenance),
            _ => Outcome::Skipped,
        }
    }

    fn look_up(&mut self, name: &str, code: &Value, pointer: &str) -> Option<Value> {
        let profile = self.profile;
        let table = profile.document.lookups.get(name)?;
        let Some(key) = key_text(code) else {
            self.problem(
                pointer,
                format!("holds a list or an object where a code of lookup `{name}` is expected"),
            );
            return None;
        };
        match table.values.get(&key) {
            Some(value) => Some(value.clone()),
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
        derivation: &Derivation,
        field: &CompiledField,
        scope: &Value,
        scope_pointer: &str,
    ) -> Outcome {
        let sources = &field.derive_sources;
        let mut provenance = Map::new();
        provenance.insert("derivation".into(), json!(derivation.name()));
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
                provenance.insert("from".into(), json!(from));
                let fired = found
                    .iter()
                    .any(|(code, _)| key_text(code).is_some_and(|c| codes.contains(&c)));
                match (fired, otherwise) {
                    (true, _) => Outcome::Value(then.clone(), provenance),
                    (false, Some(otherwise)) => Outcome::Value(otherwise.clone(), provenance),
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
                provenance.insert("from".into(), json!(from));
                if any_false {
                    Outcome::Value(Value::Bool(false), provenance)
                } else if any_absent {
                    Outcome::Absent(self.first_absent(sources, scope, scope_pointer))
                } else {
                    Outcome::Value(Value::Bool(true), provenance)
                }
            }
            Derivation::Present { .. } => match self.first_single(sources, scope, scope_pointer) {
                Ok(Some((_, pointer))) => {
                    provenance.insert("from".into(), json!(pointer));
                    Outcome::Value(Value::Bool(true), provenance)
                }
                Ok(None) => Outcome::Absent(None),
                Err(()) => Outcome::Skipped,
            },
        }
    }

    /// Sets `relative` (a pointer within `target`) to `value`, each field
    /// of an object value on its own; two different values for one field
    /// are a problem.
    fn set(
        &mut self,
        target: &mut Value,
        relative: &str,
        canonical: &str,
        value: Value,
        provenance: Map<String, Value>,
    ) {
        let members: Vec<(String, String, Value)> = match value {
            Value::Object(members) => members
                .into_iter()
                .map(|(k, v)| (format!("{relative}/{k}"), format!("{canonical}/{k}"), v))
                .collect(),
            value => vec![(relative.to_owned(), canonical.to_owned(), value)],
        };
        // Each member gets the provenance; the last one takes it.
        let last = members.len().saturating_sub(1);
        let mut provenance = Some(provenance);
        for (index, (relative, canonical, value)) in members.into_iter().enumerate() {
            let slot = slot(target, &relative);
            match slot {
                Some(slot) if slot.is_null() => *slot = value,
                Some(slot) if *slot == value => {}
                Some(_) => {
                    let earlier = self
                        .provenance
                        .get(&canonical)
                        .and_then(|p| p.get("from"))
                        .map(|f| f.to_string())
                        .unwrap_or_default();
                    let from = provenance.as_ref().and_then(|p| p.get("from"));
                    let now = from.map(|f| f.to_string()).unwrap_or_default();
                    let pointer = from.and_then(Value::as_str).unwrap_or_default().to_owned();
                    self.problem(
                        &pointer,
                        format!("gives {canonical} a different value than {earlier} did (from {now}): the record contradicts itself"),
                    );
                    continue;
                }
                None => continue,
            }
            let taken = if index == last {
                provenance.take()
            } else {
                provenance.clone()
            };
            self.provenance
                .insert(canonical, Value::Object(taken.unwrap_or_default()));
        }
    }

    fn collection(&mut self, case: &mut Value, collection: &super::profile::CompiledCollection) {
        let rows = match collection.rows.resolve(self.record, "") {
            Lookup::Found(rows) => rows,
            Lookup::Absent(_) => return,
        };
        let required = &collection.required;
        let mut mapped = Vec::new();
        for (row, row_pointer) in rows {
            let index = mapped.len();
            let prefix = format!("{}/{index}", collection.canonical);
            let mut out = Value::Object(Map::new());
            let absent_before = self.absent.len();
            let mut keep = true;
            let mut precision = None;
            for field in &collection.fields {
                let kept = self.apply(&mut out, field, row, &row_pointer, &prefix);
                if !kept && field.map.drop_row_if_null {
                    keep = false;
                }
            }
            if !keep {
                self.absent.truncate(absent_before);
                self.provenance
                    .retain(|k, _| !k.starts_with(&format!("{prefix}/")));
                continue;
            }
            for member in required {
                if out.pointer(member).is_none() {
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
                && out.get("occurred_at").is_none()
                && out.get("occurred_on").is_none()
            {
                self.problem(&row_pointer, format!("gives {prefix} no time (occurred_at or occurred_on), which every incident requires"));
            }
            for member in ["occurred_at", "occurred_on"] {
                if out.get(member).is_some() {
                    precision = Some(if member == "occurred_at" {
                        Precision::DateTime
                    } else {
                        Precision::Date
                    });
                }
            }
            // A row's provenance is one entry (a case may hold hundreds of
            // rows): where it came from, its time's precision, and the
            // derivations and defaults that filled its fields.
            let member_prefix = format!("{prefix}/");
            let mut derivations = Vec::new();
            let mut defaults = Vec::new();
            self.provenance.retain(|pointer, entry| {
                let Some(member) = pointer.strip_prefix(&member_prefix) else {
                    return true;
                };
                if let Some(name) = entry.get("derivation") {
                    derivations.push(name.clone());
                }
                if entry.get("default").is_some() {
                    defaults.push(json!(member));
                }
                false
            });
            let mut row_provenance = Map::new();
            row_provenance.insert("from".into(), json!(row_pointer));
            if let Some(precision) = precision {
                row_provenance.insert("precision".into(), json!(precision.name()));
            }
            if !derivations.is_empty() {
                row_provenance.insert("derivations".into(), Value::Array(derivations));
            }
            if !defaults.is_empty() {
                row_provenance.insert("defaults".into(), Value::Array(defaults));
            }
            self.provenance
                .insert(prefix, Value::Object(row_provenance));
            mapped.push(out);
        }
        if !mapped.is_empty()
            && let Some(slot) = slot(case, &collection.canonical)
        {
            *slot = Value::Array(mapped);
        }
    }

    /// Every required canonical field (outside rows) has a value.
    fn required(&mut self, case: &Value) {
        for member in required_outside_rows() {
            let member = member.as_str();
            if case.pointer(member).is_some() || member == "/case_id" {
                continue;
            }
            let absent = self
                .absent
                .iter()
                .find(|(c, _, _)| *c == member || member.starts_with(&format!("{c}/")))
                .cloned();
            match absent {
                Some((_, at, sources)) => self.problem(
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
                let mut canonical = violation.pointer.as_str();
                let from = loop {
                    if let Some(from) = self.provenance.get(canonical).and_then(|p| p.get("from")) {
                        break Some(match from {
                            Value::Array(list) => list
                                .first()
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned(),
                            other => other.as_str().unwrap_or_default().to_owned(),
                        });
                    }
                    match canonical.rsplit_once('/') {
                        Some((parent, _)) if !parent.is_empty() => canonical = parent,
                        _ => break None,
                    }
                };
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

/// The slot at `pointer` (members separated by `/`, no escapes: canonical
/// names are plain), made with its parents.
fn slot<'v>(target: &'v mut Value, pointer: &str) -> Option<&'v mut Value> {
    let mut node = target;
    for token in pointer.split('/').skip(1) {
        if node.is_null() {
            *node = Value::Object(Map::new());
        }
        node = node
            .as_object_mut()?
            .entry(token.to_owned())
            .or_insert(Value::Null);
    }
    Some(node)
}

/// The case with its members in the schema's order, so a mapped case reads
/// like one written by hand.
fn ordered(case: Value) -> Value {
    let schema = crate::case::schema::case_schema();
    order(case, schema)
}

fn order(value: Value, schema: &Value) -> Value {
    match value {
        Value::Object(mut members) => {
            let mut out = Map::new();
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    if name == "extensions" {
                        continue;
                    }
                    if let Some(member) = members.remove(name) {
                        out.insert(name.clone(), order(member, property));
                    }
                }
            }
            out.extend(members);
            Value::Object(out)
        }
        Value::Array(items) => {
            let item_schema = schema.get("items").unwrap_or(&Value::Null);
            Value::Array(items.into_iter().map(|i| order(i, item_schema)).collect())
        }
        other => other,
    }
}
