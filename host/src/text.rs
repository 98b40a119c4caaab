//! One place for cleaning text that came from a plugin (or a case) before
//! it reaches a terminal, a log line, a CSV cell or a Markdown table: control
//! and bidirectional characters replaced, formulas defused, markup escaped.

/// Cuts `message` to `max_bytes` (on a character boundary) and replaces
/// control and bidirectional-formatting characters with `?`, so a plugin
/// cannot forge log lines or reorder what a terminal shows.
pub fn sanitize_log_line(message: &str, max_bytes: usize) -> String {
    let mut out = String::with_capacity(message.len().min(max_bytes));
    for c in message.chars() {
        if out.len() + c.len_utf8() > max_bytes {
            out.push('…');
            break;
        }
        out.push(if is_unsafe_char(c) { '?' } else { c });
    }
    out
}

/// Control characters and Unicode bidirectional formatting characters.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Replaces control and bidirectional-formatting characters with `?`.
pub fn neutralise(text: &str) -> String {
    text.chars()
        .map(|c| if is_unsafe_char(c) { '?' } else { c })
        .collect()
}

/// A CSV cell a spreadsheet will show as text, never run as a formula.
pub fn csv_cell(text: &str) -> String {
    let text = neutralise(text);
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

/// Markdown-safe text: no control or bidi characters, no table breaks, no
/// HTML tags or links, no code spans, no formula prefix. (Emphasis markers
/// are left alone: at worst they make text bold.)
pub fn md_cell(text: &str) -> String {
    let text = csv_cell(text);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' | '`' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '<' if chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')) =>
            {
                out.push_str("&lt;")
            }
            '&' => out.push_str("&amp;"),
            _ => out.push(c),
        }
    }
    out
}

/// A kebab-case id as a PascalCase name (`plugin-info` → `PluginInfo`), for
/// generated type and schema names.
#[cfg(any(feature = "serve", feature = "devkit"))]
pub fn pascal_case(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
