//! The check of the one text channel contract 0.2 leaves a plugin, its log
//! lines, against the values that identify a child, in whatever form a
//! plugin rewrites them to.
//!
//! Values and lines are compared by their *skeleton*: Unicode compatibility
//! normalisation (NFKC: full-width digits become digits, ligatures
//! letters), case folding, digits spelled out in English or Swahili read as
//! digits, and everything but letters and digits removed (separators,
//! punctuation, invisible and zero-width characters). A date is watched in
//! the forms people write it in: year-month-day, day-month-year and
//! month-day-year, padded or not, with two- or four-digit years, and with
//! the month's English or Swahili name. A line is checked forwards and
//! reversed, with its base64 and hex tokens decoded, and after the end of
//! the previous line (a value split over two lines).
//!
//! During a report, the values of every case added so far are watched as
//! well, as keyed hashes in a Bloom filter of fixed size: constant memory
//! however many cases, nothing a reader of the host's memory could turn
//! back into a value, and a false positive only withholds a harmless line.
//!
//! A line that holds a watched value is withheld whole; the operator sees
//! how many lines were withheld, never what they said.

use base64::Engine as _;
use bloomfilter::Bloom;
use unicode_normalization::UnicodeNormalization;

/// Skeletons shorter than this are not watched: they would match
/// everywhere (a case id `T-1` is `t1`).
const MIN_FORM_CHARS: usize = 5;

/// Forms longer than this are watched in the current case only, not
/// remembered across a report (the Bloom filter checks every window of a
/// line for every remembered length).
const MAX_REMEMBERED_CHARS: usize = 32;

/// How many forms a report's filter is sized for, and its false-positive
/// rate per check; past this many the rate grows, and more harmless lines
/// are withheld.
const REMEMBERED_FORMS: usize = 2_000_000;
const FALSE_POSITIVE_RATE: f64 = 1e-7;

/// Tokens shorter than this are not tried as base64 or hex.
const MIN_ENCODED_CHARS: usize = 8;

/// Digits spelled out, in English and Swahili.
const DIGIT_WORDS: [(&str, char); 20] = [
    ("zero", '0'),
    ("one", '1'),
    ("two", '2'),
    ("three", '3'),
    ("four", '4'),
    ("five", '5'),
    ("six", '6'),
    ("seven", '7'),
    ("eight", '8'),
    ("nine", '9'),
    ("sifuri", '0'),
    ("moja", '1'),
    ("mbili", '2'),
    ("tatu", '3'),
    ("nne", '4'),
    ("tano", '5'),
    ("sita", '6'),
    ("saba", '7'),
    ("nane", '8'),
    ("tisa", '9'),
];

/// Month names, English and Swahili, January first.
const MONTHS: [[&str; 2]; 12] = [
    ["january", "januari"],
    ["february", "februari"],
    ["march", "machi"],
    ["april", "aprili"],
    ["may", "mei"],
    ["june", "juni"],
    ["july", "julai"],
    ["august", "agosti"],
    ["september", "septemba"],
    ["october", "oktoba"],
    ["november", "novemba"],
    ["december", "desemba"],
];

/// The skeleton of `text`: what is left of it once every way of writing
/// the same letters and digits differently is undone.
pub(crate) fn skeleton(text: &str) -> String {
    let folded: String = text.nfkc().flat_map(char::to_lowercase).collect();
    let mut out = String::with_capacity(folded.len());
    for word in folded.split(|c: char| !c.is_alphanumeric()) {
        match DIGIT_WORDS.iter().find(|(w, _)| *w == word) {
            Some((_, digit)) => out.push(*digit),
            None => out.push_str(word),
        }
    }
    out
}

/// The forms of one identifying value that are watched for: its skeleton
/// and, for a date or a date-time, the date in every common written form.
pub(crate) fn watched_forms(value: &str) -> Vec<String> {
    let mut forms = vec![skeleton(value)];
    if let Some((y, m, d)) = leading_date(value) {
        forms.extend(date_forms(y, m, d));
    }
    forms.retain(|f| f.chars().count() >= MIN_FORM_CHARS);
    forms.sort();
    forms.dedup();
    forms
}

/// The year, month and day a value starts with (`YYYY-MM-DD...`).
fn leading_date(value: &str) -> Option<(u32, u32, u32)> {
    let bytes = value.as_bytes();
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| value.get(range)?.parse::<u32>().ok();
    let (y, m, d) = (number(0..4)?, number(5..7)?, number(8..10)?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

fn date_forms(y: u32, m: u32, d: u32) -> Vec<String> {
    let years = [format!("{y:04}"), format!("{:02}", y % 100)];
    let months = [format!("{m:02}"), m.to_string()];
    let days = [format!("{d:02}"), d.to_string()];
    let mut forms = Vec::new();
    for year in &years {
        for month in &months {
            for day in &days {
                forms.push(format!("{year}{month}{day}"));
                forms.push(format!("{day}{month}{year}"));
                forms.push(format!("{month}{day}{year}"));
            }
        }
        for name in MONTHS[m as usize - 1] {
            for month in [name, &name[..3]] {
                for day in &days {
                    forms.push(format!("{day}{month}{year}"));
                    forms.push(format!("{month}{day}{year}"));
                    forms.push(format!("{year}{month}{day}"));
                }
            }
        }
    }
    forms
}

/// The texts hidden in `line` as base64 or hex tokens, decoded.
fn decoded_tokens(line: &str) -> Vec<String> {
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let mut out = Vec::new();
    let tokens = line.split(|c: char| !(c.is_ascii_alphanumeric() || "+/=-_".contains(c)));
    for token in tokens.filter(|t| t.len() >= MIN_ENCODED_CHARS) {
        if let Ok(bytes) = hex::decode(token) {
            out.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        if let Some(bytes) = engines.iter().find_map(|e| e.decode(token).ok()) {
            out.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    out
}

/// The cases seen so far in a report: their forms' keyed hashes, and the
/// lengths to cut a line's windows at.
struct Remembered {
    filter: Bloom<str>,
    lengths: std::collections::BTreeSet<usize>,
}

impl Remembered {
    fn new() -> Option<Remembered> {
        Some(Remembered {
            filter: Bloom::new_for_fp_rate(REMEMBERED_FORMS, FALSE_POSITIVE_RATE).ok()?,
            lengths: std::collections::BTreeSet::new(),
        })
    }

    fn add(&mut self, form: &str) {
        if form.len() <= MAX_REMEMBERED_CHARS && form.is_ascii() {
            self.filter.set(form);
            self.lengths.insert(form.len());
        }
    }

    /// Whether a window of `skeleton` is a remembered form. Forms are
    /// ASCII, so a window that is not is skipped.
    fn holds(&self, skeleton: &str) -> bool {
        let bytes = skeleton.as_bytes();
        self.lengths.iter().any(|&len| {
            bytes.windows(len).any(|window| {
                std::str::from_utf8(window).is_ok_and(|w| w.is_ascii() && self.filter.check(w))
            })
        })
    }
}

/// What one store's plugin log is checked against.
#[derive(Default)]
pub(crate) struct LogWatch {
    /// The forms of the current case's identifying values.
    current: Vec<String>,
    /// The current case's values whose forms are not made yet: most calls
    /// log nothing, so they are made at the first line (or at once during
    /// a report, which remembers every case).
    pending: Vec<String>,
    /// During a report, every case added so far.
    remembered: Option<Box<Remembered>>,
    /// The end of the previous line's skeleton.
    carry: String,
}

impl LogWatch {
    /// Remembers every case watched from now on, for the rest of the store
    /// (a report's).
    pub fn remember_cases(&mut self) {
        self.remembered = Remembered::new().map(Box::new);
    }

    /// Watches for `values` (a case's identifying values) from now on.
    pub fn watch(&mut self, values: &[String]) {
        self.current.clear();
        self.pending = values.to_vec();
        self.carry.clear();
        if self.remembered.is_some() {
            self.make_forms();
        }
    }

    /// Makes the forms of the pending values (and remembers them during a
    /// report).
    fn make_forms(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.current = self
            .pending
            .drain(..)
            .flat_map(|v| watched_forms(&v))
            .collect();
        self.current.sort();
        self.current.dedup();
        if let Some(remembered) = &mut self.remembered {
            for form in &self.current {
                remembered.add(form);
            }
        }
    }

    /// Whether `line` holds a watched value in any form; the line's end is
    /// kept to check the next line with.
    pub fn holds_case_value(&mut self, line: &str) -> bool {
        self.make_forms();
        if self.current.is_empty() && self.remembered.is_none() {
            return false;
        }
        let line_skeleton = skeleton(line);
        let mut texts = vec![format!("{}{line_skeleton}", self.carry)];
        texts.extend(decoded_tokens(line).iter().map(|t| skeleton(t)));
        let reversed: Vec<String> = texts.iter().map(|t| t.chars().rev().collect()).collect();
        texts.extend(reversed);
        let found = texts.iter().any(|text| {
            self.current.iter().any(|form| text.contains(form.as_str()))
                || self.remembered.as_ref().is_some_and(|r| r.holds(text))
        });
        let keep = self
            .current
            .iter()
            .map(|f| f.chars().count())
            .max()
            .unwrap_or(0)
            .max(MAX_REMEMBERED_CHARS);
        // A withheld line's end is not carried: it held a whole value.
        self.carry = if found {
            String::new()
        } else {
            let skip = line_skeleton.chars().count().saturating_sub(keep);
            line_skeleton.chars().skip(skip).collect()
        };
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watching(values: &[&str]) -> LogWatch {
        let mut watch = LogWatch::default();
        watch.watch(&values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>());
        watch
    }

    #[test]
    fn a_value_is_found_however_it_is_rewritten() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("KWL-2026-0042");
        for line in [
            "case KWL-2026-0042",
            "case kwl-2026-0042",
            "case K W L 2 0 2 6 0 0 4 2",
            "case \u{ff2b}\u{ff37}\u{ff2c}-\u{ff12}\u{ff10}\u{ff12}\u{ff16}-0042",
            "case K\u{200b}WL-2026-0042",
            "case 2400-6202-LWK",
            &format!("case {b64}"),
            &format!("case {}", hex::encode("KWL-2026-0042")),
            "case kwl two zero two six zero zero four two",
        ] {
            assert!(
                watching(&["KWL-2026-0042"]).holds_case_value(line),
                "{line}"
            );
        }
    }

    #[test]
    fn a_date_is_found_in_every_common_form() {
        for line in [
            "born 2013-02-11",
            "born 11/02/2013",
            "born 2/11/2013",
            "born 11.2.13",
            "born 11 February 2013",
            "born Feb 11, 2013",
            "born 11 Februari 2013",
            "born 20130211",
        ] {
            assert!(watching(&["2013-02-11"]).holds_case_value(line), "{line}");
        }
    }

    #[test]
    fn a_value_split_over_two_lines_is_found_in_the_second() {
        let mut watch = watching(&["KWL-2026-0042"]);
        assert!(!watch.holds_case_value("looking at KWL-20"));
        assert!(watch.holds_case_value("26-0042"));
    }

    #[test]
    fn ordinary_lines_pass() {
        let mut watch = watching(&["KWL-2026-0042", "2013-02-11"]);
        for line in [
            "evaluating 4 rules",
            "age band 9-15, county kwale",
            "income below threshold",
            "done in 12 steps",
        ] {
            assert!(!watch.holds_case_value(line), "{line}");
        }
    }

    #[test]
    fn a_report_remembers_every_case_added_so_far() {
        let mut watch = LogWatch::default();
        watch.remember_cases();
        watch.watch(&["KWL-2026-0001".to_owned(), "2012-05-06".to_owned()]);
        watch.watch(&["KWL-2026-0002".to_owned()]);
        assert!(watch.holds_case_value("previous child: kwl 2026 0001"));
        assert!(watch.holds_case_value("previous child born 6 May 2012"));
        assert!(!watch.holds_case_value("counted 2 cases"));
    }
}
