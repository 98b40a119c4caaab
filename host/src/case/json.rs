//! Strict JSON parsing: duplicate keys, deep nesting and inexact numbers are
//! errors, and every error names the JSON pointer where it happened.
//!
//! `serde_json::from_slice` keeps the last of two duplicate keys, so
//! `{"consent":false,"consent":true}` would silently mean "consent given".
//! This parser refuses it instead. It also bounds nesting (no stack
//! exhaustion on `[[[[...]]]]`) and refuses numbers a double cannot hold
//! exactly, so `2^64` or `1e400` never turn into something else.
//!
//! [`parse_strict_reading`] builds only the members a reader declares it
//! reads ([`Reads`]): the rest is checked by the same rules, then dropped
//! without ever being allocated. A platform record of sixty fields of which
//! a mapping reads fifteen costs a quarter of the full parse.

use std::borrow::Cow;

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Largest integer magnitude a JSON number may have (2^53: beyond it a double
/// loses integers).
const MAX_EXACT_INT: u64 = 1 << 53;
/// The same bound for numbers with a fraction or an exponent.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// Why a JSON text was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// The JSON pointer of the value being read when the error happened
    /// (empty for the whole document).
    pub pointer: String,
    /// What is wrong, without echoing the input.
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.pointer, self.message)
        }
    }
}

/// Limits on a JSON document.
#[derive(Debug, Clone, Copy)]
pub struct JsonLimits {
    /// Largest document, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of arrays and objects.
    pub max_depth: usize,
}

/// Parses `bytes` as one strict JSON document.
///
/// # Errors
/// A [`JsonError`] naming the pointer of the offending value: the document is
/// too large, not UTF-8, not JSON, has trailing data, nests too deeply, has a
/// duplicate key, or holds a number that is not exact.
pub fn parse_strict(bytes: &[u8], limits: JsonLimits) -> Result<Value, JsonError> {
    parse_with(bytes, limits, Mode::Build)
}

/// The members of a document a reader reads, as a tree: under each member
/// it names, either all of its value or only the members named beneath it.
/// Arrays are transparent: the items of an array get the tree of the
/// member that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reads {
    /// The whole value.
    All,
    /// Of an object, only these members (of each item, for an array),
    /// sorted by name.
    Members(Vec<(String, Reads)>),
}

impl Reads {
    /// Nothing yet: add members with [`Reads::add`].
    pub fn nothing() -> Reads {
        Reads::Members(Vec::new())
    }

    /// Adds the path `members` (each a member name), read whole at its end.
    pub fn add<'m>(&mut self, members: impl IntoIterator<Item = &'m str>) {
        let mut node = self;
        for member in members {
            if matches!(node, Reads::All) {
                return;
            }
            node = node.member(member);
        }
        *node = Reads::All;
    }

    /// The tree under `member`, adding it if absent (to add paths below).
    pub fn member(&mut self, member: &str) -> &mut Reads {
        match self {
            Reads::All => self,
            Reads::Members(children) => {
                let index = match children.binary_search_by(|(name, _)| name.as_str().cmp(member)) {
                    Ok(index) => index,
                    Err(index) => {
                        children.insert(index, (member.to_owned(), Reads::nothing()));
                        index
                    }
                };
                &mut children[index].1
            }
        }
    }

    /// Reads `other` too.
    pub fn merge(&mut self, other: &Reads) {
        match (&mut *self, other) {
            (Reads::All, _) => {}
            (_, Reads::All) => *self = Reads::All,
            (Reads::Members(_), Reads::Members(theirs)) => {
                for (name, tree) in theirs {
                    self.member(name).merge(tree);
                }
            }
        }
    }
}

/// Parses `bytes` as [`parse_strict`] does, building only what `reads`
/// names: every other member is checked (syntax, duplicate keys, nesting,
/// exact numbers, with the same pointers in errors) and left out of the
/// value. A document refused by one is refused by the other.
///
/// # Errors
/// As [`parse_strict`].
pub fn parse_strict_reading(
    bytes: &[u8],
    limits: JsonLimits,
    reads: &Reads,
) -> Result<Value, JsonError> {
    parse_with(bytes, limits, Mode::from_reads(reads))
}

fn parse_with(bytes: &[u8], limits: JsonLimits, mode: Mode<'_>) -> Result<Value, JsonError> {
    if bytes.len() > limits.max_bytes {
        return Err(JsonError {
            pointer: String::new(),
            message: format!(
                "document is {} bytes, more than the limit of {}",
                bytes.len(),
                limits.max_bytes
            ),
        });
    }
    // A document is parsed without keeping the path to each value; only
    // one that is refused is parsed again, keeping it, to say where.
    parse_once(bytes, limits, mode, false).or_else(|_| parse_once(bytes, limits, mode, true))
}

/// One parse; `tracks`: the path to the value being parsed is kept, so
/// that an error names its pointer.
fn parse_once(
    bytes: &[u8],
    limits: JsonLimits,
    mode: Mode<'_>,
    tracks: bool,
) -> Result<Value, JsonError> {
    let state = ParseState {
        path: RefCell::new(Vec::new()),
        failure: RefCell::new(None),
        max_depth: limits.max_depth,
        tracks,
    };
    // Checked as UTF-8 once, the text is parsed without checking each
    // string again; text that is not UTF-8 is parsed byte by byte, so that
    // the error names the string where it happened.
    let parsed = match std::str::from_utf8(bytes) {
        Ok(text) => parse_from(&state, mode, serde_json::Deserializer::from_str(text)),
        Err(_) => parse_from(&state, mode, serde_json::Deserializer::from_slice(bytes)),
    };
    parsed.map_err(|e| {
        state
            .failure
            .borrow_mut()
            .take()
            .unwrap_or_else(|| JsonError {
                pointer: pointer_of(&state.path.borrow()),
                message: syntax_message(&e),
            })
    })
}

fn parse_from<'de, R: serde_json::de::Read<'de>>(
    state: &ParseState<'de>,
    mode: Mode<'_>,
    mut deserializer: serde_json::Deserializer<R>,
) -> Result<Value, serde_json::Error> {
    let value = StrictSeed {
        state,
        depth: 0,
        mode,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Escapes one reference token of a JSON pointer (RFC 6901); borrowed
/// when there is nothing to escape.
pub fn escape_token(token: &str) -> Cow<'_, str> {
    if token.contains(['~', '/']) {
        Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(token)
    }
}

fn pointer_of(path: &[Segment]) -> String {
    path.iter()
        .map(|segment| match segment {
            Segment::Key(key) => format!("/{}", escape_token(key)),
            Segment::Index(index) => format!("/{index}"),
        })
        .collect()
}

/// One step of the path to the value being parsed: kept without
/// formatting (a pointer is only made for an error), a key borrowed from
/// the input where it has no escapes.
enum Segment<'de> {
    Key(Cow<'de, str>),
    Index(usize),
}

/// What a value being parsed becomes.
#[derive(Clone, Copy)]
enum Mode<'r> {
    /// All of it is built.
    Build,
    /// Of an object, only the members named are built.
    Prune(&'r [(String, Reads)]),
    /// Nothing is built: checked only (`null` stands in).
    Check,
}

impl<'r> Mode<'r> {
    fn from_reads(reads: &'r Reads) -> Mode<'r> {
        match reads {
            Reads::All => Mode::Build,
            Reads::Members(members) => Mode::Prune(members),
        }
    }

    /// The mode of the member `key` of an object parsed in this mode.
    fn member(self, key: &str) -> Mode<'r> {
        match self {
            // A short list: lengths and first bytes rule out most names
            // before any comparison of text.
            Mode::Prune(members) => members
                .iter()
                .find(|(name, _)| {
                    name.len() == key.len()
                        && name.as_bytes().first() == key.as_bytes().first()
                        && name == key
                })
                .map_or(Mode::Check, |(_, reads)| Mode::from_reads(reads)),
            other => other,
        }
    }

    fn builds(self) -> bool {
        !matches!(self, Mode::Check)
    }
}

/// An object key, borrowed from the input where it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// serde_json's message, which names the problem and the line and column but
/// never the input's text.
fn syntax_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if e.is_eof() {
        format!("the document ends too early ({text})")
    } else {
        text
    }
}

struct ParseState<'de> {
    path: RefCell<Vec<Segment<'de>>>,
    failure: RefCell<Option<JsonError>>,
    max_depth: usize,
    /// Whether `path` is kept.
    tracks: bool,
}

impl<'de> ParseState<'de> {
    /// Enters `segment` of the path (when it is kept).
    fn enter(&self, segment: Segment<'de>) {
        if self.tracks {
            self.path.borrow_mut().push(segment);
        }
    }

    /// Leaves the last segment of the path (when it is kept).
    fn leave(&self) {
        if self.tracks {
            self.path.borrow_mut().pop();
        }
    }

    fn fail<E: de::Error>(&self, message: String) -> E {
        let pointer = pointer_of(&self.path.borrow());
        *self.failure.borrow_mut() = Some(JsonError {
            pointer,
            message: message.clone(),
        });
        E::custom(message)
    }
}

struct StrictSeed<'s, 'de, 'r> {
    state: &'s ParseState<'de>,
    depth: usize,
    mode: Mode<'r>,
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_, 'de, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_, 'de, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(self.built(|| Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        if v.unsigned_abs() > MAX_EXACT_INT {
            return Err(self
                .state
                .fail("integer is too large to be exact (more than 2^53)".into()));
        }
        Ok(self.built(|| Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        if v > MAX_EXACT_INT {
            return Err(self
                .state
                .fail("integer is too large to be exact (more than 2^53)".into()));
        }
        Ok(self.built(|| Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        if !v.is_finite() || v.abs() > MAX_EXACT {
            return Err(self
                .state
                .fail("number is out of range (more than 2^53 in magnitude)".into()));
        }
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| self.state.fail("number is not finite".into()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(self.built(|| Value::String(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(self.built(|| Value::String(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.enter::<A::Error>()?;
        let mut items = Vec::new();
        let mut index = 0;
        loop {
            self.state.enter(Segment::Index(index));
            let next = seq.next_element_seed(StrictSeed {
                state: self.state,
                depth,
                mode: self.mode,
            })?;
            self.state.leave();
            match next {
                Some(item) if self.mode.builds() => items.push(item),
                Some(_) => {}
                None => break,
            }
            index += 1;
        }
        Ok(self.built(|| Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.enter::<A::Error>()?;
        let mut object = match self.mode {
            // At most the members named are built.
            Mode::Prune(members) => Map::with_capacity(members.len()),
            _ => Map::new(),
        };
        // Keys of members not built, kept to find their duplicates.
        let mut unbuilt = KeySet::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let mode = self.mode.member(&key);
            if self.state.tracks {
                self.state.enter(Segment::Key(key.clone()));
            }
            let value = map.next_value_seed(StrictSeed {
                state: self.state,
                depth,
                mode,
            })?;
            let duplicate = if mode.builds() {
                object.insert(key.into_owned(), value).is_some()
            } else {
                !unbuilt.insert(key)
            };
            if duplicate {
                return Err(self
                    .state
                    .fail("duplicate key: a key may appear only once in an object".into()));
            }
            self.state.leave();
        }
        Ok(self.built(|| Value::Object(object)))
    }
}

/// The keys of an object's members that are not built: a list (with a
/// cheap hash of each, compared first, and a 256-bit filter of the hashes
/// seen, so that a new key is usually told apart without a scan) while
/// short, a hash set beyond (a hostile object of a million keys costs a
/// million lookups, not a trillion comparisons).
#[derive(Default)]
struct KeySet<'de> {
    seen: [u64; 4],
    short: Vec<(u64, Cow<'de, str>)>,
    long: std::collections::HashSet<Cow<'de, str>>,
}

impl<'de> KeySet<'de> {
    /// Most keys kept in the list.
    const SHORT: usize = 64;

    /// Adds `key`; false when it was there already.
    fn insert(&mut self, key: Cow<'de, str>) -> bool {
        let hash = short_hash(key.as_bytes());
        // The filter's bit: the hash's top byte (its best mixed bits).
        let bit = (hash >> 56) as usize;
        let (word, mask) = (bit / 64, 1u64 << (bit % 64));
        if self.seen[word] & mask != 0 && self.short.iter().any(|(h, k)| *h == hash && *k == key) {
            return false;
        }
        if self.short.len() < Self::SHORT {
            self.seen[word] |= mask;
            self.short.push((hash, key));
            return true;
        }
        self.long.insert(key)
    }
}

/// A word-at-a-time multiplicative hash (as rustc's `FxHash`): cheap for
/// short keys, and only ever used for the bounded list above, never for a
/// table an attacker fills (those use the standard library's keyed hash).
fn short_hash(bytes: &[u8]) -> u64 {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut hash = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        hash = (hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
    }
    hash
}

impl StrictSeed<'_, '_, '_> {
    /// The value, or `null` when this value is only checked.
    fn built(&self, value: impl FnOnce() -> Value) -> Value {
        if self.mode.builds() {
            value()
        } else {
            Value::Null
        }
    }

    fn enter<E: de::Error>(&self) -> Result<usize, E> {
        let depth = self.depth + 1;
        if depth > self.state.max_depth {
            return Err(self.state.fail(format!(
                "nesting is deeper than the limit of {}",
                self.state.max_depth
            )));
        }
        Ok(depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: JsonLimits = JsonLimits {
        max_bytes: 1 << 16,
        max_depth: 8,
    };

    fn err(text: &str) -> JsonError {
        parse_strict(text.as_bytes(), LIMITS).unwrap_err()
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_pointer() {
        let e = err(r#"{"consent":{"information_sharing":false,"information_sharing":true}}"#);
        assert_eq!(e.pointer, "/consent/information_sharing");
        assert!(e.message.contains("duplicate key"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let e = err(&format!("{}{}", "[".repeat(20), "]".repeat(20)));
        assert!(e.message.contains("deeper"), "{e}");
        assert_eq!(e.pointer, "/0/0/0/0/0/0/0/0");
    }

    #[test]
    fn inexact_numbers_are_refused() {
        assert!(
            err(r#"{"a":18446744073709551616}"#)
                .message
                .contains("out of range")
        );
        assert!(
            err(r#"{"a":9007199254740993}"#)
                .message
                .contains("too large")
        );
        assert!(err(r#"{"a":1e400}"#).message.contains("out of range"));
        assert_eq!(err(r#"{"a":[1,1e400]}"#).pointer, "/a/1");
    }

    #[test]
    fn syntax_errors_name_where_they_happened() {
        let e = err(r#"{"a":{"b":[1,2,]}}"#);
        assert_eq!(e.pointer, "/a/b/2");
        assert!(err(r#"{"a":1} x"#).message.contains("trailing"));
        assert!(err(r#"{"a":1,}"#).message.contains("trailing comma"));
        let surrogate = err(r#"{"a":"\ud800"}"#);
        assert_eq!(surrogate.pointer, "/a", "{surrogate}");
        assert_eq!(err(r#"{"a":"\udc00x"}"#).pointer, "/a");
        assert!(parse_strict(b"{\"a\":\"\xff\"}", LIMITS).is_err());
        assert!(err("{\"a\":1 // c\n}").message.contains("line"));
    }

    #[test]
    fn oversized_documents_are_refused_before_parsing() {
        let limits = JsonLimits {
            max_bytes: 4,
            max_depth: 8,
        };
        assert!(
            parse_strict(b"[1, 2]", limits)
                .unwrap_err()
                .message
                .contains("limit")
        );
    }

    fn reads(paths: &[&[&str]]) -> Reads {
        let mut reads = Reads::nothing();
        for path in paths {
            reads.add(path.iter().copied());
        }
        reads
    }

    #[test]
    fn reading_builds_only_the_members_named() {
        let text = br#"{"a": {"x": 1, "y": [2, 3]}, "b": [{"k": "v", "z": true}, {"k": "w"}], "c": "dropped"}"#;
        let value = parse_strict_reading(text, LIMITS, &reads(&[&["a"], &["b", "k"]])).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"a": {"x": 1, "y": [2, 3]}, "b": [{"k": "v"}, {"k": "w"}]})
        );
        let everything = parse_strict_reading(text, LIMITS, &Reads::All).unwrap();
        assert_eq!(everything, parse_strict(text, LIMITS).unwrap());
    }

    #[test]
    fn reading_finds_duplicates_among_many_members_not_read() {
        let members: Vec<String> = (0..200).map(|i| format!("\"m{i}\": {i}")).collect();
        let limits = LIMITS;
        for duplicate in ["m3", "m150", "m199"] {
            let text = format!("{{{}, \"{duplicate}\": 0}}", members.join(", "));
            let e =
                parse_strict_reading(text.as_bytes(), limits, &reads(&[&["other"]])).unwrap_err();
            assert_eq!(e.pointer, format!("/{duplicate}"), "{e}");
            assert!(e.message.contains("duplicate key"), "{e}");
        }
        let text = format!("{{{}}}", members.join(", "));
        assert!(parse_strict_reading(text.as_bytes(), limits, &reads(&[&["other"]])).is_ok());
    }

    #[test]
    fn reading_finds_duplicates_of_long_and_empty_keys() {
        // Keys that differ only past their first eight bytes, or not at all.
        let limits = LIMITS;
        let members: Vec<String> = (0..40)
            .map(|i| format!("\"a-long-member-name-{i:03}\": {i}"))
            .collect();
        for duplicate in ["a-long-member-name-007", ""] {
            let text = format!("{{\"\": 1, {}, \"{duplicate}\": 0}}", members.join(", "));
            let e =
                parse_strict_reading(text.as_bytes(), limits, &reads(&[&["other"]])).unwrap_err();
            assert_eq!(e.pointer, format!("/{duplicate}"), "{e}");
            assert!(e.message.contains("duplicate key"), "{e}");
        }
        let text = format!("{{\"\": 1, {}}}", members.join(", "));
        assert!(parse_strict_reading(text.as_bytes(), limits, &reads(&[&["other"]])).is_ok());
    }

    #[test]
    fn pointers_escape_slashes_and_tildes() {
        let e = err(r#"{"a/b~c":{"x":1,"x":2}}"#);
        assert_eq!(e.pointer, "/a~1b~0c/x");
    }

    #[test]
    fn valid_documents_parse_unchanged() {
        let v = parse_strict(br#"{"b":[true,null,1.5,-3],"a":"x"}"#, LIMITS).unwrap();
        assert_eq!(v, serde_json::json!({"a":"x","b":[true,null,1.5,-3]}));
    }
}
