//! Platform documents as JSON Lines (one document per line, each of which
//! may hold several records: a Primero list page), mapped record by record
//! as they are read: memory holds one line, never the stream.

use std::collections::VecDeque;
use std::io::{BufRead, Read};

use super::{MAX_DOCUMENT_BYTES, MappingRejection, Profile};
use crate::case::ValidCase;
use crate::case::schema::Violation;

/// One record of one line, mapped or refused.
#[derive(Debug, Clone)]
pub struct MappedLine {
    /// The line's number, from 1.
    pub line: u64,
    /// The record's pointer in the line's document (empty when the line is
    /// the record, or the whole line was refused).
    pub pointer: String,
    /// The canonical case, or why there is none.
    pub case: Result<ValidCase, MappingRejection>,
}

impl MappedLine {
    /// `line 3, /data/2`: where the record was, for messages.
    pub fn place(&self) -> String {
        if self.pointer.is_empty() {
            format!("line {}", self.line)
        } else {
            format!("line {}, {}", self.line, self.pointer)
        }
    }
}

/// The records of a JSON Lines stream of platform documents, in order.
/// Blank lines are skipped; a line longer than [`MAX_DOCUMENT_BYTES`] is
/// refused and ends the stream (what follows it cannot be trusted to start
/// at a line).
pub struct MappedLines<'p, R> {
    profile: &'p Profile,
    reader: R,
    line: u64,
    pending: VecDeque<MappedLine>,
    finished: bool,
}

impl<'p, R: BufRead> MappedLines<'p, R> {
    /// Reads `reader` through `profile`.
    pub fn new(profile: &'p Profile, reader: R) -> Self {
        MappedLines {
            profile,
            reader,
            line: 0,
            pending: VecDeque::new(),
            finished: false,
        }
    }

    /// Reads the next non-blank line and queues its records.
    fn read_line(&mut self) -> std::io::Result<()> {
        loop {
            let mut bytes = Vec::new();
            let read = (&mut self.reader)
                .take(MAX_DOCUMENT_BYTES as u64 + 1)
                .read_until(b'\n', &mut bytes)?;
            if read == 0 {
                self.finished = true;
                return Ok(());
            }
            self.line += 1;
            if bytes.len() > MAX_DOCUMENT_BYTES {
                self.finished = true;
                self.pending.push_back(self.refused(Violation {
                    pointer: String::new(),
                    message: format!(
                        "the line is longer than {MAX_DOCUMENT_BYTES} bytes: the stream is not read further"
                    ),
                }));
                return Ok(());
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match self.profile.map_document(&bytes) {
                Ok(records) => {
                    let line = self.line;
                    self.pending
                        .extend(records.into_iter().map(|record| MappedLine {
                            line,
                            pointer: record.pointer,
                            case: record.case,
                        }));
                }
                Err(rejection) => self.pending.push_back(MappedLine {
                    line: self.line,
                    pointer: String::new(),
                    case: Err(rejection),
                }),
            }
            if !self.pending.is_empty() {
                return Ok(());
            }
        }
    }

    fn refused(&self, violation: Violation) -> MappedLine {
        MappedLine {
            line: self.line,
            pointer: String::new(),
            case: Err(MappingRejection {
                violations: vec![violation],
            }),
        }
    }
}

impl<R: BufRead> Iterator for MappedLines<'_, R> {
    type Item = std::io::Result<MappedLine>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.pending.is_empty() && !self.finished {
            if let Err(e) = self.read_line() {
                self.finished = true;
                return Some(Err(e));
            }
        }
        self.pending.pop_front().map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapt::Platform;

    #[test]
    fn lines_map_record_by_record_and_say_where_each_was() {
        let profile = Profile::bundled(Platform::Primero);
        let text = "\n{\"data\": []}\nnot json\n{\"data\": {\"id\": \"x\"}}\n";
        let lines: Vec<MappedLine> = MappedLines::new(profile, text.as_bytes())
            .map(Result::unwrap)
            .collect();
        let places: Vec<String> = lines.iter().map(MappedLine::place).collect();
        // An empty page has no record; a line that is no JSON is refused
        // whole; a record that misses what the profile needs is refused.
        assert_eq!(places, ["line 3", "line 4, /data"]);
        assert!(lines.iter().all(|l| l.case.is_err()));
    }
}
