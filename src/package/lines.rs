//! Streaming the entry lines of a tenant's `entries.jsonl` files out of
//! the archive, as verifier items (bounded memory: one 64 KiB buffer and
//! one line of at most [`MAX_LINE_BYTES`]).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Seek};
use std::ops::Range;

use super::read::{Archive, FileReader, MAX_LINE_BYTES};
use crate::hash::Hash32;
use crate::id::Epoch;
use crate::report::{Location, Verdict};

/// A problem found while streaming: (verdict, check, where, detail).
pub(crate) type Problem = (Verdict, &'static str, Location, String);

fn at_file(name: &str) -> Location {
    Location {
        file: Some(name.to_owned()),
        ..Location::default()
    }
}

/// Streams the lines of a tenant's entries files, in epoch order, as
/// (location, line without its newline); file-level problems (bad bytes, overlong lines, hash
/// mismatch) are collected in `problems`.
pub(crate) struct RawLines<'a, R: Read> {
    archive: &'a mut Archive<R>,
    files: std::vec::IntoIter<(Epoch, usize)>,
    current: Option<(String, BufReader<FileReader<R>>)>,
    line: u64,
    problems: &'a RefCell<Vec<Problem>>,
    listed: &'a BTreeMap<&'a str, Hash32>,
}

impl<'a, R: Read + Seek> RawLines<'a, R> {
    pub(crate) fn new(
        archive: &'a mut Archive<R>,
        files: Vec<(Epoch, usize)>,
        problems: &'a RefCell<Vec<Problem>>,
        listed: &'a BTreeMap<&'a str, Hash32>,
    ) -> Self {
        RawLines {
            archive,
            files: files.into_iter(),
            current: None,
            line: 0,
            problems,
            listed,
        }
    }

    fn problem(&self, v: Verdict, check: &'static str, loc: Location, detail: String) {
        self.problems.borrow_mut().push((v, check, loc, detail));
    }
}

impl<R: Read + Seek> RawLines<'_, R> {
    /// Closes the current file: gives the input back to the archive and
    /// checks the file's hash when it was read to the end.
    fn close(&mut self, complete: bool) {
        if let Some((name, reader)) = self.current.take() {
            let (h, _, r) = reader.into_inner().finish();
            self.archive.restore(r);
            if complete && self.listed.get(name.as_str()) != Some(&h) {
                self.problem(
                    Verdict::Tampered,
                    "file_hash",
                    at_file(&name),
                    "content does not match its SHA-256 in the manifest".into(),
                );
            }
        }
    }
}

impl<R: Read> Drop for RawLines<'_, R> {
    /// Gives the input back to the archive when dropped in the middle of a
    /// file (the streaming verifier stops early on irregular input, and the
    /// archive is then read again).
    fn drop(&mut self) {
        if let Some((_, reader)) = self.current.take() {
            let (_, _, r) = reader.into_inner().finish();
            self.archive.restore(r);
        }
    }
}

impl<R: Read + Seek> RawLines<'_, R> {
    /// Appends the next line (without its newline) to `buf` and returns
    /// its location and its range in `buf`; `None` at the end. Lines are
    /// read straight into the caller's buffer, so a batch of lines is one
    /// allocation.
    pub(crate) fn next_into(&mut self, buf: &mut Vec<u8>) -> Option<(Location, Range<usize>)> {
        loop {
            if self.current.is_none() {
                let (_, idx) = self.files.next()?;
                let name = self.archive.files.get(idx)?.name.clone();
                match self.archive.open_file(idx) {
                    Ok(r) => {
                        self.line = 0;
                        self.current = Some((name, BufReader::with_capacity(1 << 16, r)));
                    }
                    Err(e) => {
                        self.problem(Verdict::Malformed, "file", at_file(&name), e.to_string());
                        continue;
                    }
                }
            }
            let (name, reader) = self.current.as_mut()?;
            let start = buf.len();
            let res = reader
                .by_ref()
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', buf);
            self.line += 1;
            let loc = Location {
                file: Some(name.clone()),
                line: Some(self.line),
                ..Location::default()
            };
            match res {
                Ok(0) => {
                    self.close(true);
                    continue;
                }
                Ok(_) => {
                    if buf.last() != Some(&b'\n') {
                        let detail = if buf.len() - start > MAX_LINE_BYTES {
                            format!("line longer than {MAX_LINE_BYTES} bytes")
                        } else {
                            "last line has no newline".to_owned()
                        };
                        buf.truncate(start);
                        self.problem(Verdict::Malformed, "encoding", loc, detail);
                        self.close(false);
                        continue;
                    }
                    buf.pop();
                    return Some((loc, start..buf.len()));
                }
                Err(e) => {
                    buf.truncate(start);
                    let name = name.clone();
                    self.problem(Verdict::Malformed, "file", at_file(&name), e.to_string());
                    self.close(false);
                    continue;
                }
            }
        }
    }
}

impl<R: Read + Seek> Iterator for RawLines<'_, R> {
    type Item = (Location, Vec<u8>);
    fn next(&mut self) -> Option<(Location, Vec<u8>)> {
        let mut buf = Vec::new();
        let (loc, _) = self.next_into(&mut buf)?;
        Some((loc, buf))
    }
}
