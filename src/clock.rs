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
    /// # Errors
    /// [`TimeError::BadFormat`] for any other form (offsets, missing digits,
    /// lower-case `z`, invalid dates such as February 30).
    pub fn parse(s: &str) -> Result<Timestamp, TimeError> {
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
        if !(1..=12).contains(&mo)
            || d < 1
            || d > days_in_month(y, mo)
            || h > 23
            || mi > 59
            || se > 59
        {
            return Err(TimeError::BadFormat);
        }
        let days = days_from_civil(y, mo, d);
        let total = ((days * 24 + h) * 60 + mi) * 60 + se;
        Timestamp::from_unix_micros(total * 1_000_000 + us).map_err(|_| TimeError::BadFormat)
    }
}

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
        let us = self.0.rem_euclid(1_000_000);
        let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        // Years are 1970..=9999 (checked on construction): four digits.
        let mut put = |at: usize, width: usize, mut v: i64| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, mo);
        put(8, 2, d);
        put(11, 2, sod / 3600);
        put(14, 2, (sod / 60) % 60);
        put(17, 2, sod % 60);
        put(20, 6, us);
        b
    }
}

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

    proptest! {
        #[test]
        fn round_trips(us in 0i64..=MAX_MICROS) {
            let t = Timestamp::from_unix_micros(us).unwrap();
            prop_assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
        }
    }
}
