//! Reading cases from JSON Lines, one bounded line at a time.
//!
//! A line longer than the largest valid case is not read into memory: it is
//! skipped up to its newline and reported as too large, so a hostile file
//! cannot exhaust the host's memory.

use std::io::{self, BufRead};

use crate::case::schema::Violation;
use crate::case::{CaseRejection, MAX_CASE_BYTES, ValidCase};

/// One line of a JSON Lines file of cases.
#[derive(Debug)]
pub struct CaseLine {
    /// Its 1-based line number.
    pub line: u64,
    /// The case, or why it was refused.
    pub case: Result<ValidCase, CaseRejection>,
}

/// Iterates over the non-blank lines of `reader` as cases.
pub struct CaseLines<R> {
    reader: R,
    line: u64,
    buffer: Vec<u8>,
}

impl<R: BufRead> CaseLines<R> {
    /// Reads cases from `reader`.
    pub fn new(reader: R) -> Self {
        CaseLines {
            reader,
            line: 0,
            buffer: Vec::new(),
        }
    }

    /// Reads one line into the buffer, up to the limit; returns whether the
    /// line fit and whether anything was read at all.
    fn read_line(&mut self) -> io::Result<Option<bool>> {
        self.buffer.clear();
        let mut fits = true;
        let mut any = false;
        loop {
            let available = self.reader.fill_buf()?;
            if available.is_empty() {
                return Ok(any.then_some(fits));
            }
            any = true;
            let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            if fits && self.buffer.len() + chunk.len() <= MAX_CASE_BYTES {
                self.buffer.extend_from_slice(chunk);
            } else {
                fits = false;
                self.buffer.clear();
            }
            let consumed = done.unwrap_or(available.len());
            self.reader.consume(consumed);
            if done.is_some() {
                return Ok(Some(fits));
            }
        }
    }
}

impl<R: BufRead> Iterator for CaseLines<R> {
    type Item = io::Result<CaseLine>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let fits = match self.read_line() {
                Ok(Some(fits)) => fits,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            self.line += 1;
            if fits && self.buffer.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let case = if fits {
                ValidCase::parse(&self.buffer)
            } else {
                Err(CaseRejection {
                    violations: vec![Violation {
                        pointer: String::new(),
                        message: format!(
                            "the line is longer than the largest case ({MAX_CASE_BYTES} bytes)"
                        ),
                    }],
                })
            };
            return Some(Ok(CaseLine {
                line: self.line,
                case,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_skipped_and_numbering_continues() {
        let long = "x".repeat(MAX_CASE_BYTES + 10);
        let text = format!("{long}\n\n{{}}\n");
        let lines: Vec<CaseLine> = CaseLines::new(io::Cursor::new(text))
            .map(Result::unwrap)
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].line, 1);
        assert!(
            lines[0]
                .case
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("longer")
        );
        assert_eq!(lines[1].line, 3);
    }
}
