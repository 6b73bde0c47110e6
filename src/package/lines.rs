//! Streaming the entry lines of a tenant's `entries.jsonl` files out of
//! the archive, as verifier items (bounded memory: one 64 KiB buffer and
//! one line of at most [`MAX_LINE_BYTES`]).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::ops::Range;

use super::read::{Archive, FileReader, MAX_LINE_BYTES};
use crate::hash::Hash32;
use crate::id::Epoch;
use crate::report::{Location, Verdict};

/// A problem found while streaming: (verdict, check, where, detail).
pub(crate) type Problem = (Verdict, &'static str, Location, String);

fn at_file(name: &str) -> Location {
    Location {
        file: Some(name.into()),
        ..Location::default()
    }
}

/// Streams the lines of a tenant's entries files, in epoch order, as
/// (location, line without its newline); file-level problems (bad bytes, overlong lines, hash
/// mismatch) are collected in `problems`.
pub(crate) struct RawLines<'a, R: Read> {
    archive: &'a mut Archive<R>,
    files: std::vec::IntoIter<(Epoch, usize)>,
    current: Option<(std::sync::Arc<str>, BufReader<FileReader<R>>)>,
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
            if complete && self.listed.get(&*name) != Some(&h) {
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
                let name: std::sync::Arc<str> = self.archive.files.get(idx)?.name.as_str().into();
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
            let res = read_until_newline(reader, MAX_LINE_BYTES + 1, buf);
            self.line += 1;
            let loc = Location {
                file: Some(std::sync::Arc::clone(name)),
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

/// `r.take(limit).read_until(b'\n', buf)`, with the newline found 64 bytes
/// at a time: appends what `r` gives up to and including the next newline,
/// at most `limit` bytes, and returns how many (0 at the end or when
/// `limit` is 0, without asking `r` for more). On an error, what was
/// appended before it stays, as with `read_until`.
fn read_until_newline<B: BufRead>(r: &mut B, limit: usize, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut read = 0;
    loop {
        let left = limit - read;
        let (done, used) = {
            let available = if left == 0 {
                &[][..]
            } else {
                match r.fill_buf() {
                    Ok(b) => b.get(..left).unwrap_or(b),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            match find_newline(available) {
                Some(i) => {
                    buf.extend_from_slice(available.get(..=i).unwrap_or(available));
                    (true, i + 1)
                }
                None => {
                    buf.extend_from_slice(available);
                    (false, available.len())
                }
            }
        };
        r.consume(used);
        read += used;
        if done || used == 0 {
            return Ok(read);
        }
    }
}

/// The index of the first `\n` in `hay`. Each 64-byte block is tested
/// whole, as the least of its bytes XOR `\n` (a form the compiler turns
/// into vector operations: a third of the instructions of the word-wise
/// search `read_until` uses), and searched only when it holds one.
fn find_newline(hay: &[u8]) -> Option<usize> {
    let (blocks, rest) = hay.as_chunks::<64>();
    for (n, block) in blocks.iter().enumerate() {
        if block.iter().fold(u8::MAX, |least, b| least.min(*b ^ b'\n')) == 0 {
            return block.iter().position(|b| *b == b'\n').map(|i| n * 64 + i);
        }
    }
    rest.iter()
        .position(|b| *b == b'\n')
        .map(|i| blocks.len() * 64 + i)
}

impl<R: Read + Seek> Iterator for RawLines<'_, R> {
    type Item = (Location, Vec<u8>);
    fn next(&mut self) -> Option<(Location, Vec<u8>)> {
        let mut buf = Vec::new();
        let (loc, _) = self.next_into(&mut buf)?;
        Some((loc, buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_the_first_newline_at_every_place() {
        for len in 0..=130 {
            let none = vec![b'a'; len];
            assert_eq!(find_newline(&none), None);
            for at in 0..len {
                let mut hay = none.clone();
                hay[at] = b'\n';
                assert_eq!(find_newline(&hay), Some(at), "{len} {at}");
                // A later one does not count; bytes that differ from it by
                // one bit are not newlines.
                for later in at..len {
                    let mut h = hay.clone();
                    h[later] = b'\n';
                    assert_eq!(find_newline(&h), Some(at));
                }
                for bit in 0..8 {
                    let mut h = none.clone();
                    h[at] = b'\n' ^ (1 << bit);
                    assert_eq!(find_newline(&h), None);
                }
            }
        }
    }

    /// One answer of a scripted input.
    #[derive(Clone, Debug)]
    enum Step {
        Data(Vec<u8>),
        Interrupted,
        Fail,
    }

    /// Gives its steps in order (data in as many reads as it takes), then
    /// the end.
    struct Script(std::collections::VecDeque<Step>);

    impl Read for Script {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match self.0.pop_front() {
                None => Ok(0),
                Some(Step::Interrupted) => Err(io::ErrorKind::Interrupted.into()),
                Some(Step::Fail) => Err(io::Error::other("broken")),
                Some(Step::Data(d)) => {
                    let n = d.len().min(out.len());
                    out[..n].copy_from_slice(&d[..n]);
                    if n < d.len() {
                        self.0.push_front(Step::Data(d[n..].to_vec()));
                    }
                    Ok(n)
                }
            }
        }
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            8 => prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'a'), any::<u8>()], 0..80)
                .prop_map(Step::Data),
            1 => Just(Step::Interrupted),
            1 => Just(Step::Fail),
        ]
    }

    proptest! {
        #[test]
        fn finds_what_position_finds(hay in prop::collection::vec(
            prop_oneof![Just(b'\n'), Just(b'\n' ^ 0x80), any::<u8>()], 0..300)
        ) {
            prop_assert_eq!(find_newline(&hay), hay.iter().position(|b| *b == b'\n'));
        }

        /// Call after call, the same results, the same bytes appended and
        /// the same bytes left buffered as `take(limit).read_until`, the
        /// input's errors and interruptions included.
        #[test]
        fn reads_as_take_and_read_until(
            steps in prop::collection::vec(step(), 0..12),
            capacity in 1usize..70,
            limit in 0usize..90,
        ) {
            let script = || Script(steps.iter().cloned().collect());
            let mut new = BufReader::with_capacity(capacity, script());
            let mut old = BufReader::with_capacity(capacity, script());
            let (mut new_buf, mut old_buf) = (vec![7u8], vec![7u8]);
            let total: usize = steps
                .iter()
                .map(|s| match s {
                    Step::Data(d) => d.len(),
                    _ => 1,
                })
                .sum();
            for _ in 0..total + 4 {
                let a = read_until_newline(&mut new, limit, &mut new_buf);
                let b = old
                    .by_ref()
                    .take(limit as u64)
                    .read_until(b'\n', &mut old_buf);
                match (&a, &b) {
                    (Ok(x), Ok(y)) => prop_assert_eq!(x, y),
                    (Err(x), Err(y)) => prop_assert_eq!(x.kind(), y.kind()),
                    _ => prop_assert!(false, "{:?} vs {:?}", a, b),
                }
                prop_assert_eq!(&new_buf, &old_buf);
                prop_assert_eq!(new.buffer(), old.buffer());
            }
        }
    }
}
