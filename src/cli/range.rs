//! Range arguments: `FROM..TO` (TO excluded), `FROM..=TO`, `FROM..`,
//! `..TO`, or one value.

use super::CliError;
use crate::clock::Timestamp;
use crate::id::{Epoch, Seq};

/// Largest seq or epoch accepted (the format keeps integers below 2^53).
const MAX_VALUE: u64 = (1 << 53) - 1;

/// A half-open range of seqs, `from <= seq < to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqRange {
    /// First seq.
    pub from: Seq,
    /// First seq after the range.
    pub to: Seq,
}

/// An inclusive range of epochs, `from <= epoch <= to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochRange {
    /// First epoch.
    pub from: Epoch,
    /// Last epoch (inclusive).
    pub to: Epoch,
}

/// A half-open range of times, `from <= ts < to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// First instant.
    pub from: Timestamp,
    /// First instant after the range.
    pub to: Timestamp,
}

fn range_err(input: &str, reason: impl Into<String>) -> CliError {
    CliError::Range {
        input: input.to_owned(),
        reason: reason.into(),
    }
}

/// Splits `s` into (from, to, inclusive), or one value.
fn split(s: &str) -> (Option<&str>, Option<&str>, bool, bool) {
    if let Some((a, b)) = s.split_once("..=") {
        (Some(a), Some(b), true, true)
    } else if let Some((a, b)) = s.split_once("..") {
        (Some(a), Some(b), false, true)
    } else {
        (Some(s), None, false, false)
    }
}

/// Half-open integer bounds of `s`.
fn int_bounds(s: &str) -> Result<(u64, u64), CliError> {
    let num = |x: &str| -> Result<u64, CliError> {
        let v: u64 = x
            .trim()
            .parse()
            .map_err(|_| range_err(s, format!("{x:?} is not a non-negative integer")))?;
        if v > MAX_VALUE {
            return Err(range_err(s, format!("{v} is larger than 2^53 - 1")));
        }
        Ok(v)
    };
    let (a, b, inclusive, is_range) = split(s);
    let from = match a.filter(|a| !a.is_empty()) {
        Some(a) => num(a)?,
        None if is_range => 0,
        None => return Err(range_err(s, "empty")),
    };
    let to = match (b.filter(|b| !b.is_empty()), is_range) {
        (_, false) => from + 1,
        (None, true) if inclusive => return Err(range_err(s, "..= needs an end")),
        (None, true) => MAX_VALUE + 1,
        (Some(b), true) => num(b)? + u64::from(inclusive),
    };
    if to <= from {
        return Err(range_err(
            s,
            "the range is empty (its end is not after its start)",
        ));
    }
    Ok((from, to))
}

impl SeqRange {
    /// Parses a seq range.
    ///
    /// # Errors
    /// [`CliError::Range`] for a non-number, a value past 2^53 − 1 or an
    /// empty range.
    pub fn parse(s: &str) -> Result<SeqRange, CliError> {
        let (from, to) = int_bounds(s)?;
        Ok(SeqRange {
            from: Seq(from),
            to: Seq(to),
        })
    }

    /// The last seq in the range.
    pub fn last(&self) -> Seq {
        Seq(self.to.0.saturating_sub(1))
    }

    /// Whether `seq` is in the range.
    pub fn contains(&self, seq: Seq) -> bool {
        self.from <= seq && seq < self.to
    }
}

impl EpochRange {
    /// Parses an epoch range (same forms as [`SeqRange::parse`]).
    ///
    /// # Errors
    /// As [`SeqRange::parse`].
    pub fn parse(s: &str) -> Result<EpochRange, CliError> {
        let (from, to) = int_bounds(s)?;
        Ok(EpochRange {
            from: Epoch(from),
            to: Epoch(to - 1),
        })
    }
}

/// Parses an instant: `2026-11-22`, `2026-11-22T09:00:00Z` or the entry
/// form `2026-11-22T09:00:00.000000Z` (always UTC).
///
/// # Errors
/// [`CliError::Range`] (naming `s`) for any other form.
pub fn parse_time(s: &str) -> Result<Timestamp, CliError> {
    let full = match s.len() {
        10 => format!("{s}T00:00:00.000000Z"),
        20 if s.ends_with('Z') => format!("{}.000000Z", &s[..19]),
        _ => s.to_owned(),
    };
    Timestamp::parse(&full).map_err(|_| {
        range_err(
            s,
            "not a UTC time like 2026-11-22, 2026-11-22T09:00:00Z or 2026-11-22T09:00:00.000000Z",
        )
    })
}

impl TimeRange {
    /// Parses `FROM..TO` (TO excluded), `FROM..=TO`, `FROM..` or `..TO`.
    ///
    /// # Errors
    /// [`CliError::Range`] for a malformed time or an empty range.
    pub fn parse(s: &str) -> Result<TimeRange, CliError> {
        let (a, b, inclusive, is_range) = split(s);
        if !is_range {
            return Err(range_err(s, "a time range needs FROM..TO"));
        }
        let time = |x: &str| {
            parse_time(x).map_err(|_| {
                range_err(
                    s,
                    format!("{x:?} is not a UTC time like 2026-11-22 or 2026-11-22T09:00:00Z"),
                )
            })
        };
        let from = match a.filter(|a| !a.is_empty()) {
            Some(a) => time(a)?,
            None => Timestamp::from_unix_micros(0).map_err(|_| range_err(s, "bad time"))?,
        };
        let to = match b.filter(|b| !b.is_empty()) {
            Some(b) => {
                let t = time(b)?;
                if inclusive {
                    Timestamp::from_unix_micros(t.unix_micros().saturating_add(1))
                        .map_err(|_| range_err(s, "end out of range"))?
                } else {
                    t
                }
            }
            None if inclusive => return Err(range_err(s, "..= needs an end")),
            None => Timestamp::parse("9999-12-31T23:59:59.999999Z")
                .map_err(|_| range_err(s, "bad time"))?,
        };
        if to <= from {
            return Err(range_err(
                s,
                "the range is empty (its end is not after its start)",
            ));
        }
        Ok(TimeRange { from, to })
    }

    /// Whether `t` is in the range.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.from <= t && t < self.to
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn seq_ranges() {
        let r = |s| SeqRange::parse(s).map(|r| (r.from.0, r.to.0));
        assert_eq!(r("3").unwrap(), (3, 4));
        assert_eq!(r("3..7").unwrap(), (3, 7));
        assert_eq!(r("3..=7").unwrap(), (3, 8));
        assert_eq!(r("..7").unwrap(), (0, 7));
        assert_eq!(r("5..").unwrap(), (5, MAX_VALUE + 1));
        for bad in [
            "",
            "x",
            "7..3",
            "3..3",
            "-1..4",
            "1..=",
            "1...4",
            "9007199254740992",
        ] {
            assert!(matches!(r(bad), Err(CliError::Range { .. })), "{bad:?}");
        }
        assert_eq!(SeqRange::parse("3..=7").unwrap().last(), Seq(7));
        let e = EpochRange::parse("1..=2").unwrap();
        assert_eq!((e.from, e.to), (Epoch(1), Epoch(2)));
    }

    #[test]
    fn time_ranges() {
        let r = TimeRange::parse("2026-11-22..2026-11-23T00:00:00Z").unwrap();
        assert_eq!(
            r.from,
            Timestamp::parse("2026-11-22T00:00:00.000000Z").unwrap()
        );
        assert!(r.contains(Timestamp::parse("2026-11-22T23:59:59.999999Z").unwrap()));
        assert!(!r.contains(Timestamp::parse("2026-11-23T00:00:00.000000Z").unwrap()));
        let open = TimeRange::parse("2026-11-22T09:00:00.000001Z..").unwrap();
        assert!(open.contains(Timestamp::parse("9000-01-01T00:00:00.000000Z").unwrap()));
        for bad in [
            "2026-11-22",
            "yesterday..",
            "2026-02-30..",
            "2026-11-22T09:00:00+01:00..",
            "2026-11-23..2026-11-22",
        ] {
            let e = TimeRange::parse(bad).unwrap_err();
            assert!(matches!(e, CliError::Range { .. }), "{bad}: {e}");
        }
    }
}
