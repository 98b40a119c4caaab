//! Source paths: where in a platform's record a mapping profile reads.
//!
//! A path is a list of steps separated by `.`, read from the current scope
//! (the record, or a collection's row); a leading `$.` reads from the
//! record instead. A step names an object member, optionally followed by a
//! selector on the array it holds:
//!
//! | step | reads |
//! |---|---|
//! | `sex` | member `sex` |
//! | `children.0.dob` | element 0 of `children`, then its `dob` |
//! | `services_section[*]` | every element of the array |
//! | `attributes[attribute=cpDob000001]` | the elements whose `attribute` is `cpDob000001` |
//! | `events[programStage=St1,newest=occurredAt]` | of those, the one with the greatest `occurredAt` |
//!
//! A selector's value is compared with the member's text (a string as it
//! is, a number or boolean as JSON writes it). Platform keys are matched
//! exactly: no case folding, no trimming.
//!
//! `null`, an empty string and an empty array are *absent*: a platform
//! that sends `"cpims_id": ""` has not recorded the field.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;
use smallvec::SmallVec;

use crate::case::json::{Reads, escape_token};

/// A parsed source path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourcePath {
    text: String,
    reads_record: bool,
    steps: Vec<Step>,
    /// No step has a selector: the path reaches at most one value.
    plain: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    member: String,
    /// The member as a JSON pointer token (escaped once, here).
    token: String,
    selector: Option<Selector>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Selector {
    All,
    Matching {
        key: String,
        value: String,
        newest: Option<String>,
    },
}

/// The values a path reached, each with its pointer (one, the common
/// case, held without an allocation of its own).
pub(crate) type Found<'a> = SmallVec<[(&'a Value, String); 1]>;

/// What a path found.
#[derive(Debug)]
pub(crate) enum Lookup<'a> {
    /// Every value the path reaches (several only through `[*]` or a
    /// selector that matched several elements).
    Found(Found<'a>),
    /// Nothing: the pointer is the deepest place the path reached, followed
    /// by the step it could not take.
    Absent(String),
}

impl SourcePath {
    /// Parses a path; the error says what is wrong, without the path.
    pub fn parse(text: &str) -> Result<SourcePath, String> {
        let (reads_record, rest) = match text.strip_prefix("$.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if rest.is_empty() {
            return Err("a source path names at least one member".into());
        }
        let mut steps = Vec::new();
        for raw in split_steps(rest)? {
            steps.push(parse_step(raw)?);
        }
        Ok(SourcePath {
            text: text.to_owned(),
            reads_record,
            plain: steps.iter().all(|step| step.selector.is_none()),
            steps,
        })
    }

    /// The path as written in the profile.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the path reads from the record rather than the current row.
    pub fn reads_record(&self) -> bool {
        self.reads_record
    }

    /// Whether the path can reach more than one value (`[*]` or a
    /// selector without `newest`).
    pub fn is_multiple(&self) -> bool {
        self.steps.iter().any(|s| match &s.selector {
            Some(Selector::All) => true,
            Some(Selector::Matching { newest, .. }) => newest.is_none(),
            None => false,
        })
    }

    /// Declares in `scope` (the [`Reads`] of the path's scope) what the
    /// path reads: each member it steps through, the members its selectors
    /// compare, and the whole of the value it ends at.
    pub fn declare(&self, scope: &mut Reads) {
        if let Some(end) = self.declare_steps(scope) {
            *end = Reads::All;
        }
    }

    /// Declares the steps only, and gives the tree of the value the path
    /// ends at (a collection's rows), to declare their members in; `None`
    /// when the path reads more than members (an index step), declared
    /// whole.
    pub fn declare_steps<'r>(&self, scope: &'r mut Reads) -> Option<&'r mut Reads> {
        let mut node = scope;
        for step in &self.steps {
            if step.member.bytes().all(|b| b.is_ascii_digit()) {
                // `children.0.dob` indexes an array or names a member
                // `0`: read all of it rather than guess.
                *node = Reads::All;
                return None;
            }
            node = node.member(&step.member);
            if let Some(Selector::Matching { key, newest, .. }) = &step.selector {
                node.add([key.as_str()]);
                if let Some(newest) = newest {
                    node.add([newest.as_str()]);
                }
            }
        }
        Some(node)
    }

    /// Every value the path reaches from `scope` (at `scope_pointer`),
    /// arrays at the end of the path not flattened.
    pub fn resolve<'a>(&self, scope: &'a Value, scope_pointer: &str) -> Lookup<'a> {
        if self.plain {
            return self.resolve_plain(scope, scope_pointer);
        }
        let mut current: Vec<(&'a Value, String)> = Vec::new();
        let mut deepest = None;
        for (index, step) in self.steps.iter().enumerate() {
            let mut next = Vec::new();
            if index == 0 {
                step.take(scope, scope_pointer, &mut next, &mut deepest);
            } else {
                for (value, pointer) in &current {
                    step.take(value, pointer, &mut next, &mut deepest);
                }
            }
            if next.is_empty() {
                return Lookup::Absent(deepest.unwrap_or_else(|| scope_pointer.to_owned()));
            }
            deepest = None;
            current = next;
        }
        Lookup::Found(current.into())
    }

    /// [`SourcePath::resolve`] for a path without selectors: the pointer
    /// is written once, where the path ends or stops.
    fn resolve_plain<'a>(&self, scope: &'a Value, scope_pointer: &str) -> Lookup<'a> {
        let mut node = scope;
        for (index, step) in self.steps.iter().enumerate() {
            match member_of(node, &step.member).filter(|v| !is_absent(v)) {
                Some(member) => node = member,
                None => return Lookup::Absent(self.pointer_through(scope_pointer, index + 1)),
            }
        }
        let pointer = self.pointer_through(scope_pointer, self.steps.len());
        Lookup::Found(smallvec::smallvec![(node, pointer)])
    }

    /// `scope_pointer` followed by the first `count` steps' tokens.
    fn pointer_through(&self, scope_pointer: &str, count: usize) -> String {
        let steps = &self.steps[..count];
        let length = steps.iter().map(|s| s.token.len() + 1).sum::<usize>();
        let mut pointer = String::with_capacity(scope_pointer.len() + length);
        pointer.push_str(scope_pointer);
        for step in steps {
            pointer.push('/');
            pointer.push_str(&step.token);
        }
        pointer
    }
}

impl Step {
    /// Takes this step from `value` (at `pointer`): what it reaches goes to
    /// `next`; where it found nothing, the first time, to `deepest`.
    fn take<'a>(
        &self,
        value: &'a Value,
        pointer: &str,
        next: &mut Vec<(&'a Value, String)>,
        deepest: &mut Option<String>,
    ) {
        let member_pointer = joined(pointer, &self.token);
        let Some(member) = member_of(value, &self.member).filter(|v| !is_absent(v)) else {
            deepest.get_or_insert(member_pointer);
            return;
        };
        let Some(selector) = &self.selector else {
            next.push((member, member_pointer));
            return;
        };
        let Some(items) = member.as_array() else {
            deepest.get_or_insert(member_pointer);
            return;
        };
        let chosen = select(items, selector);
        for &index in &chosen {
            let mut at = member_pointer.clone();
            let _ = write!(at, "/{index}");
            next.push((&items[index], at));
        }
        if chosen.is_empty() {
            deepest.get_or_insert(member_pointer);
        }
    }
}

/// `pointer`, then each of its parents (`/a/b/c`, `/a/b`, `/a`), the
/// document itself excluded.
pub(crate) fn ancestors(pointer: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(pointer);
    std::iter::from_fn(move || {
        let current = next?;
        next = current
            .rsplit_once('/')
            .map(|(p, _)| p)
            .filter(|p| !p.is_empty());
        Some(current)
    })
}

/// `pointer` followed by the token `token` (a member of what it points
/// at).
pub(crate) fn joined(pointer: &str, token: &str) -> String {
    let mut joined = String::with_capacity(pointer.len() + 1 + token.len());
    joined.push_str(pointer);
    joined.push('/');
    joined.push_str(token);
    joined
}

impl std::fmt::Display for SourcePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether a platform value counts as not recorded.
pub(crate) fn is_absent(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// The text a lookup key or a selector compares with: a string as it is, a
/// number or a boolean as JSON writes it; none for objects and arrays.
pub(crate) fn key_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

fn member_of<'a>(value: &'a Value, member: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => map.get(member),
        Value::Array(items) => member.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    }
}

fn select(items: &[Value], selector: &Selector) -> Vec<usize> {
    match selector {
        Selector::All => (0..items.len())
            .filter(|&i| !is_absent(&items[i]))
            .collect(),
        Selector::Matching { key, value, newest } => {
            let matching: Vec<usize> = (0..items.len())
                .filter(|&i| items[i].get(key).and_then(key_text).as_deref() == Some(value))
                .collect();
            match newest {
                None => matching,
                Some(field) => {
                    // The greatest value of `field`, compared as text (ISO
                    // timestamps of one platform compare correctly so);
                    // among equals, the last one listed.
                    let newest = matching.iter().copied().max_by(|&a, &b| {
                        let text = |i: usize| items[i].get(field).and_then(key_text);
                        text(a).cmp(&text(b)).then(a.cmp(&b))
                    });
                    newest.into_iter().collect()
                }
            }
        }
    }
}

fn split_steps(text: &str) -> Result<Vec<&str>, String> {
    let mut steps = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.checked_sub(1).ok_or("a `]` without its `[`")?,
            '.' if depth == 0 => {
                steps.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("a `[` without its `]`".into());
    }
    steps.push(&text[start..]);
    Ok(steps)
}

fn parse_step(raw: &str) -> Result<Step, String> {
    let (member, selector) = match raw.find('[') {
        None => (raw, None),
        Some(open) => {
            let inner = raw[open + 1..]
                .strip_suffix(']')
                .ok_or("a selector `[...]` ends its step")?;
            (&raw[..open], Some(parse_selector(inner)?))
        }
    };
    if member.is_empty() {
        return Err("an empty step (two dots, or a selector without a member)".into());
    }
    if member.contains(['[', ']', '=', ',']) {
        return Err("a member name holds `[`, `]`, `=` or `,`".into());
    }
    Ok(Step {
        member: member.to_owned(),
        token: escape_token(member).into_owned(),
        selector,
    })
}

fn parse_selector(inner: &str) -> Result<Selector, String> {
    if inner == "*" {
        return Ok(Selector::All);
    }
    let mut parts = inner.split(',');
    let first = parts.next().unwrap_or_default();
    let (key, value) = first
        .split_once('=')
        .ok_or("a selector is `[*]` or `[key=value]`")?;
    if key.is_empty() || value.is_empty() {
        return Err("a selector `[key=value]` needs both".into());
    }
    let mut newest = None;
    for part in parts {
        match part.split_once('=') {
            Some(("newest", field)) if !field.is_empty() && newest.is_none() => {
                newest = Some(field.to_owned());
            }
            _ => return Err("after `key=value`, a selector takes only `newest=FIELD`".into()),
        }
    }
    Ok(Selector::Matching {
        key: key.to_owned(),
        value: value.to_owned(),
        newest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn found(path: &str, value: &Value) -> Vec<(Value, String)> {
        match SourcePath::parse(path).unwrap().resolve(value, "") {
            Lookup::Found(v) => v.into_iter().map(|(v, p)| (v.clone(), p)).collect(),
            Lookup::Absent(at) => panic!("absent at {at}"),
        }
    }

    fn absent(path: &str, value: &Value) -> String {
        match SourcePath::parse(path).unwrap().resolve(value, "/data") {
            Lookup::Found(v) => panic!("found {v:?}"),
            Lookup::Absent(at) => at,
        }
    }

    #[test]
    fn members_indexes_and_selectors_resolve_with_their_pointers() {
        let record = json!({
            "sex": "female",
            "children": [{"dob": "2012-05-19"}],
            "attributes": [{"attribute": "a1", "value": "x"}, {"attribute": "a2", "value": "y"}],
            "events": [
                {"programStage": "S", "occurredAt": "2026-08-02", "v": 1},
                {"programStage": "S", "occurredAt": "2026-08-09", "v": 2},
                {"programStage": "T", "occurredAt": "2026-08-10", "v": 3}
            ],
            "flags": [{"is_void": false, "n": 1}, {"is_void": true, "n": 2}]
        });
        assert_eq!(
            found("sex", &record),
            vec![(json!("female"), "/sex".into())]
        );
        assert_eq!(
            found("children.0.dob", &record)[0].1,
            "/children/0/dob".to_owned()
        );
        assert_eq!(
            found("attributes[attribute=a2].value", &record),
            vec![(json!("y"), "/attributes/1/value".into())]
        );
        assert_eq!(
            found("events[programStage=S,newest=occurredAt].v", &record),
            vec![(json!(2), "/events/1/v".into())]
        );
        assert_eq!(found("events[programStage=S].v", &record).len(), 2);
        assert_eq!(found("flags[is_void=false].n", &record)[0].0, json!(1));
        assert_eq!(found("events[*]", &record).len(), 3);
    }

    #[test]
    fn absent_values_name_the_deepest_place_reached() {
        let record = json!({"cpims_id": "", "attributes": [{"attribute": "a1"}], "n": null});
        assert_eq!(absent("cpims_id", &record), "/data/cpims_id");
        assert_eq!(absent("n", &record), "/data/n");
        assert_eq!(
            absent("attributes[attribute=zz].value", &record),
            "/data/attributes"
        );
        assert_eq!(
            absent("attributes[attribute=a1].value", &record),
            "/data/attributes/0/value"
        );
        assert_eq!(
            absent("enrollments[program=P].enrolledAt", &record),
            "/data/enrollments"
        );
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in [
            "",
            "$.",
            "a..b",
            "a[",
            "a]",
            "[x=1]",
            "a[x]",
            "a[=1]",
            "a[x=1,latest=y]",
            "a[b]c",
        ] {
            assert!(SourcePath::parse(bad).is_err(), "{bad}");
        }
        assert!(
            SourcePath::parse("$.ovc_case_record.ob_number")
                .unwrap()
                .reads_record()
        );
        assert!(SourcePath::parse("a[*].b").unwrap().is_multiple());
        assert!(
            !SourcePath::parse("a[k=v,newest=t].b")
                .unwrap()
                .is_multiple()
        );
    }

    #[test]
    fn member_names_with_slashes_are_escaped_in_pointers() {
        let record = json!({"a/b": "x"});
        assert_eq!(found("a/b", &record)[0].1, "/a~1b");
    }
}
