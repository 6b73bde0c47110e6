//! Time: the [`Clock`] seam and the one fixed UTC text form of timestamps.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Microseconds since 1970-01-01T00:00:00Z, written in exactly one text form:
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27 bytes, six fractional digits, `Z`;
/// SPEC §2.5). Years 1970–9999.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Timestamp(i64);

/// Largest representable instant: 9999-12-31T23:59:59.999999Z.
const MAX_MICROS: i64 = 253_402_300_799_999_999;

/// Errors from parsing or building a [`Timestamp`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// The text is not in the fixed form `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    #[error("timestamp must be YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC)")]
    BadFormat,
    /// The instant is outside 1970–9999.
    #[error("timestamp outside 1970..=9999")]
    OutOfRange,
}

impl Timestamp {
    /// 1970-01-01T00:00:00.000000Z.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// From microseconds since the Unix epoch.
    ///
    /// # Errors
    /// [`TimeError::OutOfRange`] outside 1970–9999.
    pub fn from_unix_micros(us: i64) -> Result<Timestamp, TimeError> {
        if (0..=MAX_MICROS).contains(&us) {
            Ok(Timestamp(us))
        } else {
            Err(TimeError::OutOfRange)
        }
    }

    /// Microseconds since the Unix epoch.
    pub fn unix_micros(self) -> i64 {
        self.0
    }

    /// Parses the fixed form.
    ///
    /// It is the one text of its instant: whatever this accepts is what
    /// the timestamp's `Display` writes for the instant (fixed-width
    /// zero-padded fields, each in its range), so a reader that needs the
    /// canonical form needs no second check.
    ///
    /// # Errors
    /// [`TimeError::BadFormat`] for any other form (offsets, missing digits,
    /// lower-case `z`, invalid dates such as February 30).
    pub fn parse(s: &str) -> Result<Timestamp, TimeError> {
        Timestamp::parse_bytes(s.as_bytes())
    }

    /// [`Timestamp::parse`] of bytes (anything not ASCII is refused as
    /// well), for readers holding bytes.
    pub(crate) fn parse_bytes(b: &[u8]) -> Result<Timestamp, TimeError> {
        let Ok(b) = <&[u8; 27]>::try_from(b) else {
            return Err(TimeError::BadFormat);
        };
        // The value of the digit at `i`; 10 and above when it is none.
        let d = |i: usize| u32::from(b[i].wrapping_sub(b'0'));
        let mut bad = b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'.'
            || b[26] != b'Z';
        for i in DIGIT_AT {
            bad |= d(i) > 9;
        }
        if bad {
            return Err(TimeError::BadFormat);
        }
        let two = |i: usize| d(i) * 10 + d(i + 1);
        let (y, mo, day) = (two(0) * 100 + two(2), two(5), two(8));
        let (h, mi, se) = (two(11), two(14), two(17));
        let us = (two(20) * 100 + two(22)) * 100 + two(24);
        // Years before 1970 are before the epoch, and every instant of
        // 1970..=9999 is representable: the range is the year's.
        if y < 1970
            || !(1..=12).contains(&mo)
            || day < 1
            || i64::from(day) > days_in_month(i64::from(y), i64::from(mo))
            || h > 23
            || mi > 59
            || se > 59
        {
            return Err(TimeError::BadFormat);
        }
        let days = days_from_civil(i64::from(y), i64::from(mo), i64::from(day));
        let secs = ((days * 24 + i64::from(h)) * 60 + i64::from(mi)) * 60 + i64::from(se);
        Ok(Timestamp(secs * 1_000_000 + i64::from(us)))
    }
}

/// Where the digits of `YYYY-MM-DDTHH:MM:SS.ffffffZ` are.
const DIGIT_AT: [usize; 20] = [
    0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25,
];

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's days_from_civil.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.to_text();
        // The text is ASCII digits and separators only.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl Timestamp {
    /// The fixed text form `YYYY-MM-DDTHH:MM:SS.ffffffZ` (SPEC §2.5) as
    /// bytes, without going through `fmt` (the entry writer's fast path).
    pub(crate) fn to_text(self) -> [u8; 27] {
        let secs = self.0.div_euclid(1_000_000);
        // In 0..1_000_000 and 0..86_400: both fit u32.
        let us = u32::try_from(self.0.rem_euclid(1_000_000)).unwrap_or(0);
        let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = u32::try_from(secs.rem_euclid(86_400)).unwrap_or(0);
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        // Years are 1970..=9999 (checked on construction): four digits.
        let y = u32::try_from(y).unwrap_or(0);
        let put2 = |b: &mut [u8; 27], at: usize, v: u32| {
            let i = (v % 100) as usize * 2;
            b[at] = DIGIT_PAIRS[i];
            b[at + 1] = DIGIT_PAIRS[i + 1];
        };
        put2(&mut b, 0, y / 100);
        put2(&mut b, 2, y);
        put2(&mut b, 5, u32::try_from(mo).unwrap_or(0));
        put2(&mut b, 8, u32::try_from(d).unwrap_or(0));
        put2(&mut b, 11, sod / 3600);
        put2(&mut b, 14, (sod / 60) % 60);
        put2(&mut b, 17, sod % 60);
        put2(&mut b, 20, us / 10_000);
        put2(&mut b, 22, us / 100);
        put2(&mut b, 24, us);
        b
    }
}

/// `00`, `01`, … `99` as one table (two digits at a time).
const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::hash::deserialize_text(d, Timestamp::parse)
    }
}

impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$"
        })
    }
}

/// A source of the current time. Injected so tests and the demo are deterministic.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system's real-time clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(MAX_MICROS))
            .unwrap_or(0);
        Timestamp(us.clamp(0, MAX_MICROS))
    }
}

/// A clock that starts at a fixed instant and advances by a fixed step on
/// every reading (or stands still with step 0). For tests and the demo.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicI64,
    step: i64,
}

impl ManualClock {
    /// Starts at `start`, advancing `step_micros` per call of [`Clock::now`].
    pub fn new(start: Timestamp, step_micros: i64) -> ManualClock {
        ManualClock {
            now: AtomicI64::new(start.0),
            step: step_micros,
        }
    }
    /// Moves the clock to `t` (backwards too, to test clock steps).
    pub fn set(&self, t: Timestamp) {
        self.now.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        let us = self.now.fetch_add(self.step, Ordering::SeqCst);
        Timestamp(us.clamp(0, MAX_MICROS))
    }
}

/// The parser as it was (shape loop, `from_unix_micros` range check): the
/// oracle for [`Timestamp::parse_bytes`] in tests.
#[cfg(test)]
pub(crate) fn reference_parse(s: &str) -> Result<Timestamp, TimeError> {
    let b = s.as_bytes();
    if b.len() != 27 {
        return Err(TimeError::BadFormat);
    }
    let shape = b"dddd-dd-ddTdd:dd:dd.ddddddZ";
    for (c, p) in b.iter().zip(shape.iter()) {
        let ok = if *p == b'd' {
            c.is_ascii_digit()
        } else {
            c == p
        };
        if !ok {
            return Err(TimeError::BadFormat);
        }
    }
    let num = |r: std::ops::Range<usize>| -> i64 {
        b[r].iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'))
    };
    let (y, mo, d) = (num(0..4), num(5..7), num(8..10));
    let (h, mi, se, us) = (num(11..13), num(14..16), num(17..19), num(20..26));
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59
    {
        return Err(TimeError::BadFormat);
    }
    let days = days_from_civil(y, mo, d);
    let total = ((days * 24 + h) * 60 + mi) * 60 + se;
    Timestamp::from_unix_micros(total * 1_000_000 + us).map_err(|_| TimeError::BadFormat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fixed_form() {
        let t = Timestamp::parse("2026-11-22T10:00:00.000001Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-22T10:00:00.000001Z");
        assert_eq!(
            Timestamp::from_unix_micros(0).unwrap().to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        for bad in [
            "2026-11-22T10:00:00Z",
            "2026-11-22T10:00:00.000001z",
            "2026-11-22 10:00:00.000001Z",
            "2026-02-30T10:00:00.000000Z",
            "2026-11-22T24:00:00.000000Z",
            "2026-11-22T10:00:00.000000+00:00",
            "1969-12-31T23:59:59.999999Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
        assert!(Timestamp::parse("2024-02-29T00:00:00.000000Z").is_ok());
        assert!(Timestamp::parse("2023-02-29T00:00:00.000000Z").is_err());
    }

    /// The digit-pair writer against plain `format!`.
    fn reference_text(us: i64) -> String {
        let secs = us.div_euclid(1_000_000);
        let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        format!(
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60,
            us.rem_euclid(1_000_000)
        )
    }

    #[test]
    fn text_at_the_edges() {
        for us in [
            0,
            1,
            999_999,
            1_000_000,
            86_399_999_999,
            951_782_400_000_000,
            MAX_MICROS,
        ] {
            let t = Timestamp::from_unix_micros(us).unwrap();
            assert_eq!(t.to_string(), reference_text(us), "{us}");
        }
    }

    /// New and old agree on `b` (bytes that are not UTF-8 only the new one
    /// can be given: it must refuse them); what is accepted is the text
    /// written back, so the entry reader's second check never refused.
    fn parsers_agree(b: &[u8]) -> bool {
        let new = Timestamp::parse_bytes(b);
        match std::str::from_utf8(b) {
            Ok(s) => {
                let old = reference_parse(s);
                assert_eq!(new, old, "{s:?}");
                assert_eq!(Timestamp::parse(s), old, "{s:?}");
                if let Ok(t) = old {
                    assert_eq!(&t.to_text(), b, "{s:?}");
                }
            }
            Err(_) => assert_eq!(new, Err(TimeError::BadFormat), "{b:?}"),
        }
        new.is_ok()
    }

    /// Field values at and around every limit, written in the fixed shape
    /// (two-digit fields up to 99, so out-of-range ones too).
    fn edge_texts() -> Vec<String> {
        let mut years: Vec<u32> = vec![0, 1, 4, 100, 400, 1000, 1600, 1900, 9998, 9999];
        years.extend(1964..=2032);
        years.extend(2096..=2104);
        years.extend(2396..=2404);
        let mut out = Vec::new();
        for y in years {
            for mo in [0, 1, 2, 3, 4, 6, 9, 10, 11, 12, 13, 20, 99] {
                for d in [0, 1, 9, 10, 27, 28, 29, 30, 31, 32, 40, 99] {
                    out.push(format!("{y:04}-{mo:02}-{d:02}T00:00:00.000000Z"));
                }
            }
            for (h, mi, se) in [
                (23, 59, 59),
                (24, 0, 0),
                (0, 60, 0),
                (0, 0, 60),
                (99, 99, 99),
            ] {
                out.push(format!("{y:04}-12-31T{h:02}:{mi:02}:{se:02}.999999Z"));
                out.push(format!("{y:04}-02-29T{h:02}:{mi:02}:{se:02}.000001Z"));
            }
        }
        out
    }

    #[test]
    fn parser_agrees_with_the_old_one_at_the_limits() {
        let texts = edge_texts();
        let accepted = texts.iter().filter(|t| parsers_agree(t.as_bytes())).count();
        // Neither nothing nor everything.
        assert!(accepted > 1000 && accepted < texts.len() / 2, "{accepted}");
        for (t, ok) in [
            ("1970-01-01T00:00:00.000000Z", true),
            ("1969-12-31T23:59:59.999999Z", false),
            ("9999-12-31T23:59:59.999999Z", true),
            ("2000-02-29T00:00:00.000000Z", true),
            ("2100-02-29T00:00:00.000000Z", false),
            ("2024-02-29T00:00:00.000000Z", true),
            ("2023-02-29T00:00:00.000000Z", false),
            ("2023-04-31T00:00:00.000000Z", false),
            ("0000-01-01T00:00:00.000000Z", false),
        ] {
            assert_eq!(parsers_agree(t.as_bytes()), ok, "{t}");
        }
    }

    /// Every byte at every place of texts at the limits, and every
    /// shorter and longer text made by cutting or doubling a byte.
    #[test]
    fn parser_agrees_with_the_old_one_on_every_byte_everywhere() {
        let bases = [
            "1970-01-01T00:00:00.000000Z",
            "9999-12-31T23:59:59.999999Z",
            "2000-02-29T23:59:59.999999Z",
            "2026-11-22T10:00:00.000001Z",
            "2100-02-28T12:34:56.789012Z",
        ];
        for base in bases {
            assert!(parsers_agree(base.as_bytes()), "{base}");
            let b = base.as_bytes();
            for i in 0..b.len() {
                for byte in 0..=255u8 {
                    let mut m = b.to_vec();
                    m[i] = byte;
                    parsers_agree(&m);
                    let mut longer = b.to_vec();
                    longer.insert(i, byte);
                    assert!(!parsers_agree(&longer));
                }
                let mut shorter = b.to_vec();
                shorter.remove(i);
                assert!(!parsers_agree(&shorter));
            }
            assert!(!parsers_agree(&b[..0]));
        }
    }

    proptest! {
        #[test]
        fn text_matches_reference(us in 0i64..=MAX_MICROS) {
            let t = Timestamp::from_unix_micros(us).unwrap();
            prop_assert_eq!(t.to_string(), reference_text(us));
        }

        #[test]
        fn parser_agrees_with_the_old_one_on_generated_fields(
            y in 0u32..=9999,
            mo in 0u32..=99,
            d in 0u32..=99,
            h in 0u32..=99,
            mi in 0u32..=99,
            se in 0u32..=99,
            us in 0u32..=999_999,
        ) {
            let t = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}.{us:06}Z");
            parsers_agree(t.as_bytes());
            // And in range, so that most are accepted.
            let t = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{us:06}Z",
                1970 + y % 8030, 1 + mo % 12, 1 + d % 31, h % 24, mi % 60, se % 60
            );
            parsers_agree(t.as_bytes());
        }

        #[test]
        fn parser_agrees_with_the_old_one_on_mutated_texts(
            us in 0i64..=MAX_MICROS,
            muts in prop::collection::vec((0usize..27, any::<u8>()), 1..4),
        ) {
            let mut b = Timestamp::from_unix_micros(us).unwrap().to_text().to_vec();
            for (at, byte) in muts {
                b[at] = byte;
            }
            parsers_agree(&b);
        }

        #[test]
        fn round_trips(us in 0i64..=MAX_MICROS) {
            let t = Timestamp::from_unix_micros(us).unwrap();
            prop_assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
        }
    }
}
