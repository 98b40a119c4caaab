//! Strict JSON parsing: duplicate keys, deep nesting and inexact numbers are
//! errors, and every error names the JSON pointer where it happened.
//!
//! `serde_json::from_slice` keeps the last of two duplicate keys, so
//! `{"consent":false,"consent":true}` would silently mean "consent given".
//! This parser refuses it instead. It also bounds nesting (no stack
//! exhaustion on `[[[[...]]]]`) and refuses numbers a double cannot hold
//! exactly, so `2^64` or `1e400` never turn into something else.

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
    let state = ParseState {
        path: RefCell::new(Vec::new()),
        failure: RefCell::new(None),
        max_depth: limits.max_depth,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictSeed {
        state: &state,
        depth: 0,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
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

/// Escapes one reference token of a JSON pointer (RFC 6901).
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
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
/// formatting (a pointer is only made for an error).
enum Segment {
    Key(String),
    Index(usize),
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

struct ParseState {
    path: RefCell<Vec<Segment>>,
    failure: RefCell<Option<JsonError>>,
    max_depth: usize,
}

impl ParseState {
    fn fail<E: de::Error>(&self, message: String) -> E {
        let pointer = pointer_of(&self.path.borrow());
        *self.failure.borrow_mut() = Some(JsonError {
            pointer,
            message: message.clone(),
        });
        E::custom(message)
    }
}

struct StrictSeed<'s> {
    state: &'s ParseState,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        if v.unsigned_abs() > MAX_EXACT_INT {
            return Err(self
                .state
                .fail("integer is too large to be exact (more than 2^53)".into()));
        }
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        if v > MAX_EXACT_INT {
            return Err(self
                .state
                .fail("integer is too large to be exact (more than 2^53)".into()));
        }
        Ok(Value::from(v))
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
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.enter::<A::Error>()?;
        let mut items = Vec::new();
        loop {
            self.state
                .path
                .borrow_mut()
                .push(Segment::Index(items.len()));
            let next = seq.next_element_seed(StrictSeed {
                state: self.state,
                depth,
            })?;
            self.state.path.borrow_mut().pop();
            match next {
                Some(item) => items.push(item),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.enter::<A::Error>()?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let duplicate = object.contains_key(&key);
            // The key waits in the path while its value is parsed (no
            // copy), and comes back out for the object.
            self.state.path.borrow_mut().push(Segment::Key(key));
            if duplicate {
                return Err(self
                    .state
                    .fail("duplicate key: a key may appear only once in an object".into()));
            }
            let value = map.next_value_seed(StrictSeed {
                state: self.state,
                depth,
            })?;
            if let Some(Segment::Key(key)) = self.state.path.borrow_mut().pop() {
                object.insert(key, value);
            }
        }
        Ok(Value::Object(object))
    }
}

impl StrictSeed<'_> {
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
