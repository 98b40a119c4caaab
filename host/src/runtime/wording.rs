//! Declared wording: the message templates of reasons and errors and the
//! titles of reports, and the values the host fills into them.
//!
//! A plugin writes its words once, in `describe` and `templates`; its
//! answers carry only codes and counts. A template is literal text with
//! placeholders in braces:
//!
//! - `{/pointer}` is a value of the plugin's effective settings (an RFC 6901
//!   pointer to a number, string or boolean), in reason and error messages;
//! - `{name}` is a report parameter as the caller gave it, in a template's
//!   title and narrative;
//! - `{{` and `}}` are literal braces.
//!
//! Settings are the administrator's and parameters the caller's, so nothing
//! filled in comes from a case. A placeholder is checked when the plugin
//! loads (it must resolve in the default settings, or name a declared
//! parameter); one a later settings change leaves unresolved renders as `?`.

use std::borrow::Cow;

use serde_json::Value;

use crate::text::sanitize_log_line;

/// The most bytes a value filled into a message takes.
const MAX_FILLED_BYTES: usize = 200;

/// What a placeholder names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot<'a> {
    /// A value of the plugin's settings, by JSON pointer.
    Setting(&'a str),
    /// A report parameter, by name.
    Parameter(&'a str),
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(Cow<'a, str>),
    Slot(Slot<'a>),
}

/// Parses `template` into literal text and placeholders.
fn parse(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        text.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{{") {
            text.push('{');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            text.push('}');
            rest = after;
        } else if tail.starts_with('}') {
            return Err("has a `}` that closes nothing (write `}}` for a brace)".into());
        } else {
            let Some(end) = tail.find('}') else {
                return Err("has a `{` that is never closed (write `{{` for a brace)".into());
            };
            let inner = &tail[1..end];
            let slot = if inner.starts_with('/') {
                Slot::Setting(inner)
            } else if is_parameter_name(inner) {
                Slot::Parameter(inner)
            } else {
                return Err(format!(
                    "has the placeholder {{{}}}, which is neither a settings pointer (`{{/name}}`) \
                     nor a parameter name",
                    sanitize_log_line(inner, 40)
                ));
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(Cow::Owned(std::mem::take(&mut text))));
            }
            pieces.push(Piece::Slot(slot));
            rest = &tail[end + 1..];
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(Cow::Owned(text)));
    }
    Ok(pieces)
}

fn is_parameter_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 64
}

/// Checks `template` at load: it parses, and `allowed` accepts each of its
/// placeholders (returning why not, otherwise).
pub(crate) fn check(
    template: &str,
    allowed: impl Fn(Slot<'_>) -> Result<(), String>,
) -> Result<(), String> {
    for piece in parse(template)? {
        if let Piece::Slot(slot) = piece {
            allowed(slot)?;
        }
    }
    Ok(())
}

/// Renders `template`, filling each placeholder with what `fill` gives, or
/// `?` where it gives nothing. A template that does not parse (which the
/// load-time check prevents) renders as itself.
pub(crate) fn render(template: &str, fill: impl Fn(Slot<'_>) -> Option<String>) -> String {
    let Ok(pieces) = parse(template) else {
        return template.to_owned();
    };
    let mut out = String::with_capacity(template.len());
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(&text),
            Piece::Slot(slot) => match fill(slot) {
                Some(value) => out.push_str(&sanitize_log_line(&value, MAX_FILLED_BYTES)),
                None => out.push('?'),
            },
        }
    }
    out
}

/// The text of the settings value at `pointer`, when it is a number, a
/// string or a boolean.
pub(crate) fn setting_text(settings: &Value, pointer: &str) -> Option<String> {
    match settings.pointer(pointer)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Accepts settings placeholders that resolve in `defaults`, and nothing
/// else: the rule for reason and error messages.
pub(crate) fn settings_only(defaults: &Value) -> impl Fn(Slot<'_>) -> Result<(), String> + '_ {
    move |slot| match slot {
        Slot::Setting(pointer) if setting_text(defaults, pointer).is_some() => Ok(()),
        Slot::Setting(pointer) => Err(format!(
            "quotes the setting {}, which the default settings do not hold as a number, string or boolean",
            sanitize_log_line(pointer, 60)
        )),
        Slot::Parameter(name) => Err(format!(
            "has the placeholder {{{name}}}; messages quote settings only, as {{/pointer}}"
        )),
    }
}

/// Fills settings placeholders from `settings`.
pub(crate) fn from_settings(settings: &Value) -> impl Fn(Slot<'_>) -> Option<String> + '_ {
    move |slot| match slot {
        Slot::Setting(pointer) => setting_text(settings, pointer),
        Slot::Parameter(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_are_filled_in_and_braces_escaped() {
        let settings =
            json!({"min_age": 9, "max_age": 15, "unit": "years", "nested": {"on": true}});
        let text = render(
            "aged {/min_age}-{/max_age} {/unit} {{sic}} {/nested/on}",
            from_settings(&settings),
        );
        assert_eq!(text, "aged 9-15 years {sic} true");
        assert_eq!(render("{/gone}", from_settings(&settings)), "?");
    }

    #[test]
    fn malformed_templates_are_refused_at_load() {
        let defaults = json!({"n": 1, "list": [1]});
        let check_it = |t: &str| check(t, settings_only(&defaults));
        assert!(check_it("plain text").is_ok());
        assert!(check_it("{/n} hours").is_ok());
        assert!(check_it("open {").unwrap_err().contains("never closed"));
        assert!(check_it("close }").unwrap_err().contains("closes nothing"));
        assert!(
            check_it("{/missing}")
                .unwrap_err()
                .contains("default settings")
        );
        assert!(
            check_it("{/list}")
                .unwrap_err()
                .contains("default settings")
        );
        assert!(check_it("{period}").unwrap_err().contains("settings only"));
        assert!(check_it("{Not A Name}").unwrap_err().contains("neither"));
    }

    #[test]
    fn parameters_are_named_slots() {
        let text = render("Report, {period}", |slot| match slot {
            Slot::Parameter("period") => Some("2026-Q3".into()),
            _ => None,
        });
        assert_eq!(text, "Report, 2026-Q3");
    }

    #[test]
    fn filled_values_cannot_carry_control_characters() {
        let settings = json!({"name": "a\u{1b}[2Jb"});
        assert_eq!(render("{/name}", from_settings(&settings)), "a?[2Jb");
    }
}
