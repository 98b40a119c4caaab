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

use serde_json::Value;

use crate::case::json::escape_token;

/// A parsed source path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourcePath {
    text: String,
    reads_record: bool,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    member: String,
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

/// What a path found.
#[derive(Debug)]
pub(crate) enum Lookup<'a> {
    /// Every value the path reaches (several only through `[*]` or a
    /// selector that matched several elements).
    Found(Vec<(&'a Value, String)>),
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

    /// Every value the path reaches from `scope` (at `scope_pointer`),
    /// arrays at the end of the path not flattened.
    pub fn resolve<'a>(&self, scope: &'a Value, scope_pointer: &str) -> Lookup<'a> {
        let mut current: Vec<(&'a Value, String)> = vec![(scope, scope_pointer.to_owned())];
        for step in &self.steps {
            let mut next = Vec::new();
            let mut deepest = None;
            for (value, pointer) in &current {
                let member_pointer = format!("{pointer}/{}", member_token(&step.member));
                let member = member_of(value, &step.member);
                let Some(member) = member.filter(|v| !is_absent(v)) else {
                    deepest.get_or_insert(member_pointer);
                    continue;
                };
                match &step.selector {
                    None => next.push((member, member_pointer)),
                    Some(selector) => {
                        let Some(items) = member.as_array() else {
                            deepest.get_or_insert(member_pointer);
                            continue;
                        };
                        let chosen = select(items, selector);
                        if chosen.is_empty() {
                            deepest.get_or_insert(member_pointer.clone());
                        }
                        for index in chosen {
                            next.push((&items[index], format!("{member_pointer}/{index}")));
                        }
                    }
                }
            }
            if next.is_empty() {
                return Lookup::Absent(deepest.unwrap_or_else(|| scope_pointer.to_owned()));
            }
            current = next;
        }
        Lookup::Found(current)
    }
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
pub(crate) fn key_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn member_token(member: &str) -> String {
    escape_token(member)
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
