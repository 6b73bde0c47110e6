//! A single-pass acceptor of RFC 8785 canonical JSON (SPEC §2.1), for the
//! hot path of reading entry lines.
//!
//! [`super::parse_canonical`] decides whether bytes are canonical by
//! parsing them into a JSON value, re-encoding it and comparing bytes. This
//! module decides the same question by walking the bytes once, without
//! building anything: it accepts exactly the byte strings that
//! `parse_canonical` accepts, and nothing else. It never explains a
//! rejection: callers run `parse_canonical` on what it rejects, so every
//! error (message and class) is the slow path's by construction. The
//! equivalence is tested on generated and mutated lines (`tests` below and
//! the `canonical` fuzz target).
//!
//! What it accepts, in the slow path's terms:
//! * valid UTF-8, one JSON value, no whitespace anywhere, nothing after it;
//! * at most [`MAX_DEPTH`] nested arrays and objects (serde_json's
//!   recursion limit);
//! * object keys strictly increasing in UTF-16 code-unit order (RFC 8785
//!   §3.2.3), hence never repeated;
//! * strings with exactly RFC 8785's escapes (§3.2.2.2): `\"`, `\\`, the
//!   short forms `\b \t \n \f \r`, and `\u00xx` in lowercase hex for the
//!   other C0 controls; no raw control characters;
//! * numbers as `write_number` prints them: integers up to ±2^53 in plain
//!   decimal, other values in ECMAScript form (checked by parsing the token
//!   with serde_json and printing it again, as the slow path does).

use std::ops::Range;

use super::{write_number, MAX_SAFE_INTEGER};

/// Deepest nesting of arrays and objects serde_json parses (its recursion
/// limit is 128 levels, the 128th refused).
pub(crate) const MAX_DEPTH: usize = 127;

/// Whether `bytes` is exactly one RFC 8785 canonical JSON text: the bytes
/// that [`parse_canonical`](super::parse_canonical) accepts, decided in one
/// pass without building a value.
pub fn is_canonical(bytes: &[u8]) -> bool {
    // UTF-8 is checked where non-ASCII bytes can be accepted: in strings.
    let mut s = Scanner { b: bytes, pos: 0 };
    s.value(0) && s.pos == bytes.len()
}

/// Accepts `bytes` as [`is_canonical`] does, when they are an object, and
/// calls `member` with each top-level member in order: the key as written
/// between its quotes (escapes not decoded) and the byte range of its value.
///
/// Returns `false` (after calling `member` for some members, perhaps) when
/// the bytes are not a canonical object.
pub(crate) fn scan_object(bytes: &[u8], member: OnMember<'_>) -> bool {
    let mut s = Scanner { b: bytes, pos: 0 };
    s.object(1, Some(member)) && s.pos == bytes.len()
}

/// What [`scan_object`] calls with each top-level member: the key's raw
/// content and the value's byte range.
pub(crate) type OnMember<'m> = &'m mut dyn FnMut(&[u8], Range<usize>);

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, lit: &[u8]) -> bool {
        if self.b.get(self.pos..self.pos + lit.len()) == Some(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    /// One value; `depth` is the number of arrays and objects around it.
    #[inline(always)]
    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'{') => self.object(depth + 1, None),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        if depth > MAX_DEPTH || !self.eat(b'[') {
            return false;
        }
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn object(&mut self, depth: usize, mut member: Option<OnMember<'_>>) -> bool {
        if depth > MAX_DEPTH || !self.eat(b'{') {
            return false;
        }
        if self.eat(b'}') {
            return true;
        }
        let mut prev: Option<Key> = None;
        loop {
            let Some(key) = self.string() else {
                return false;
            };
            if let Some(p) = &prev {
                if !key_less(self.b, p, &key) {
                    return false;
                }
            }
            if !self.eat(b':') {
                return false;
            }
            let start = self.pos;
            if !self.value(depth) {
                return false;
            }
            if let (Some(f), Some(k)) = (member.as_mut(), self.b.get(key.inner.clone())) {
                f(k, start..self.pos);
            }
            prev = Some(key);
            if self.eat(b'}') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    /// A canonical string; returns where its content lies. (The position
    /// is kept in a local and stored on success only: after a refusal
    /// nothing reads it, as every caller refuses too.)
    #[inline(always)]
    fn string(&mut self) -> Option<Key> {
        let b = self.b;
        if b.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 1;
        let mut pos = start;
        let mut plain = true;
        loop {
            pos = skip_plain(b, pos);
            let c = *b.get(pos)?;
            pos += 1;
            match c {
                b'"' => {
                    self.pos = pos;
                    return Some(Key {
                        inner: start..pos - 1,
                        plain,
                    });
                }
                b'\\' => {
                    plain = false;
                    let e = *b.get(pos)?;
                    pos += 1;
                    match e {
                        b'"' | b'\\' | b'b' | b't' | b'n' | b'f' | b'r' => {}
                        b'u' => {
                            let hex = b.get(pos..pos + 4)?;
                            pos += 4;
                            // Only C0 controls without a short form, in lowercase.
                            let v = match hex {
                                [b'0', b'0', h @ (b'0' | b'1'), l] => {
                                    let lo = match l {
                                        b'0'..=b'9' => l - b'0',
                                        b'a'..=b'f' => l - b'a' + 10,
                                        _ => return None,
                                    };
                                    ((h - b'0') << 4) | lo
                                }
                                _ => return None,
                            };
                            if matches!(v, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1f => return None,
                0x80..=0xff => {
                    // One UTF-8 sequence, checked on its own (the only
                    // place a non-ASCII byte can be accepted).
                    plain = false;
                    let len = match c {
                        0xc2..=0xdf => 2,
                        0xe0..=0xef => 3,
                        0xf0..=0xf4 => 4,
                        _ => return None,
                    };
                    let seq = b.get(pos - 1..pos - 1 + len)?;
                    std::str::from_utf8(seq).ok()?;
                    pos += len - 1;
                }
                _ => {}
            }
        }
    }

    fn number(&mut self) -> bool {
        let start = self.pos;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        let Some(tok) = self.b.get(start..self.pos) else {
            return false;
        };
        // The common case: a small non-negative integer.
        if tok.len() <= 16 && tok.iter().all(u8::is_ascii_digit) {
            if tok.len() > 1 && tok.first() == Some(&b'0') {
                return false;
            }
            let v = tok
                .iter()
                .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
            return v <= MAX_SAFE_INTEGER;
        }
        if short_fixed_decimal(tok) {
            return true;
        }
        // Anything else: parse the token as the slow path does and print it again.
        let Ok(serde_json::Value::Number(n)) = serde_json::from_slice::<serde_json::Value>(tok)
        else {
            return false;
        };
        let mut out = Vec::with_capacity(tok.len());
        write_number(&mut out, &n, "$").is_ok() && out == tok
    }
}

/// Whether `tok` is a decimal fraction that ECMAScript prints exactly as
/// written: `-?(0|[1-9][0-9]*)\.[0-9]*[1-9]` with at most 15 significant
/// digits and, below 1, at most five zeros after the point. At most 15
/// significant digits (`DBL_DIG`) survive the trip through a double, so
/// the shortest form that reads back as the same double (what
/// `Number.prototype.toString` prints, RFC 8785 §3.2.2.3) has exactly
/// these digits; the magnitude, from 10^-6 up to below 10^15, is in the
/// range printed without an exponent.
fn short_fixed_decimal(tok: &[u8]) -> bool {
    let digits = tok.strip_prefix(b"-").unwrap_or(tok);
    let Some(dot) = digits.iter().position(|&c| c == b'.') else {
        return false;
    };
    let (int, frac) = (
        digits.get(..dot).unwrap_or_default(),
        digits.get(dot + 1..).unwrap_or_default(),
    );
    if int.is_empty()
        || frac.is_empty()
        || !int.iter().all(u8::is_ascii_digit)
        || !frac.iter().all(u8::is_ascii_digit)
        || frac.last() == Some(&b'0')
    {
        return false;
    }
    let significant = if int == b"0" {
        let zeros = frac.iter().take_while(|&&c| c == b'0').count();
        if zeros > 5 {
            return false;
        }
        frac.len() - zeros
    } else {
        if int.first() == Some(&b'0') {
            return false;
        }
        int.len() + frac.len()
    };
    significant <= 15
}

/// The first position from `pos` on that holds a byte the string scan must
/// look at ([`look_mask`]), found eight bytes at a time; within the last
/// eight bytes of `b` it stops where it is (the byte-wise loop of
/// [`Scanner::string`] looks at those).
fn skip_plain(b: &[u8], mut pos: usize) -> usize {
    while let Some(chunk) = b.get(pos..pos + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let look = look_mask(u64::from_le_bytes(w));
        if look != 0 {
            // The lowest flagged byte is the first that needs a look.
            return pos + (look.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    pos
}

/// The bytes of `w` (read little-endian) that a string scan must look at:
/// `"`, `\\`, a control (< 0x20) or not ASCII (≥ 0x80). Bit 7 of a byte of
/// the result is set for the first such byte and clear for every plain byte
/// before it, so `trailing_zeros() / 8` is that byte's index; zero when
/// every byte is plain. (Bytes after the first may be flagged wrongly: a
/// borrow runs upwards from a byte below 0x20 or equal to `"` or `\\`, never
/// downwards, and plain bytes cause none.)
fn look_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w;
    (w | below_space
        | zero_bytes(w ^ (ONES * u64::from(b'"')))
        | zero_bytes(w ^ (ONES * u64::from(b'\\'))))
        & HIGH
}

/// A string's content range, and whether it is plain ASCII without escapes
/// (so that byte order is code-unit order).
struct Key {
    inner: Range<usize>,
    plain: bool,
}

/// Whether key `a` sorts strictly before key `b` in UTF-16 code-unit order.
fn key_less(bytes: &[u8], a: &Key, b: &Key) -> bool {
    let (Some(ra), Some(rb)) = (bytes.get(a.inner.clone()), bytes.get(b.inner.clone())) else {
        return false;
    };
    if a.plain && b.plain {
        return bytes_less(ra, rb);
    }
    match (decode_key(ra), decode_key(rb)) {
        (Some(da), Some(db)) => da.encode_utf16().lt(db.encode_utf16()),
        _ => false,
    }
}

/// `a < b` in byte order, compared inline: keys are short and most differ
/// in their first byte, where a call to `memcmp` costs more.
fn bytes_less(a: &[u8], b: &[u8]) -> bool {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x < y;
        }
    }
    a.len() < b.len()
}

/// The text of a key whose content (between the quotes) the scanner accepted.
fn decode_key(raw: &[u8]) -> Option<String> {
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    serde_json::from_slice(&quoted).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::encoding::parse_canonical;
    use proptest::prelude::*;

    /// The acceptor's answer equals the slow path's on `bytes`.
    fn agree(bytes: &[u8]) {
        let slow = parse_canonical(bytes).is_ok();
        assert_eq!(
            is_canonical(bytes),
            slow,
            "acceptor and parse_canonical disagree on {:?}",
            String::from_utf8_lossy(bytes)
        );
        let mut n = 0;
        let obj = scan_object(bytes, &mut |_, _| n += 1);
        let slow_obj = slow && bytes.first() == Some(&b'{');
        assert_eq!(obj, slow_obj, "{:?}", String::from_utf8_lossy(bytes));
    }

    #[test]
    fn hand_picked_cases_agree() {
        let cases: &[&[u8]] = &[
            b"{}",
            b"[]",
            b"",
            b" {}",
            b"{} ",
            br#"{"a":1,"b":[true,null,false]}"#,
            br#"{"b":1,"a":1}"#,
            br#"{"a":1,"a":1}"#,
            br#"{"a": 1}"#,
            br#"{"a":1.0}"#,
            br#"{"a":1e2}"#,
            br#"{"a":1e21}"#,
            br#"{"a":1e+21}"#,
            br#"{"a":-0}"#,
            br#"{"a":0}"#,
            br#"{"a":-1}"#,
            br#"{"a":01}"#,
            br#"{"a":0.5}"#,
            br#"{"a":.5}"#,
            br#"{"a":-0.0}"#,
            br#"{"a":9007199254740992}"#,
            br#"{"a":9007199254740993}"#,
            br#"{"a":-9007199254740992}"#,
            br#"{"a":-9007199254740993}"#,
            br#"{"a":18446744073709551615}"#,
            br#"{"a":18446744073709551616}"#,
            br#"{"a":100000000000000000000}"#,
            br#"{"a":123456789012345680000}"#,
            br#"{"a":1e-7}"#,
            br#"{"a":0.000001}"#,
            br#"{"a":5e-324}"#,
            br#"{"a":0.25}"#,
            br#"{"a":-0.25}"#,
            br#"{"a":0.250}"#,
            br#"{"a":00.25}"#,
            br#"{"a":0.}"#,
            br#"{"a":1.5.5}"#,
            br#"{"a":0.0000001}"#,
            br#"{"a":0.000001}"#,
            br#"{"a":0.0000012}"#,
            br#"{"a":0.1}"#,
            br#"{"a":0.3}"#,
            br#"{"a":0.30000000000000004}"#,
            br#"{"a":0.123456789012345}"#,
            br#"{"a":0.1234567890123456}"#,
            br#"{"a":0.1234567890123457}"#,
            br#"{"a":123456789012345.6}"#,
            br#"{"a":12345678901234.5}"#,
            br#"{"a":99999999999999.9}"#,
            br#"{"a":999999999999999.9}"#,
            br#"{"a":9007199254740993.5}"#,
            br#"{"a":-0.0}"#,
            br#"{"a":-0.000001}"#,
            br#"{"a":-.5}"#,
            br#"{"a":1.5e1}"#,
            br#"{"a":1e999}"#,
            br#"{"a":-}"#,
            br#"{"a":1-2}"#,
            br#"{"a":"\u0041"}"#,
            br#"{"a":"\u001f"}"#,
            br#"{"a":"\u001F"}"#,
            br#"{"a":"\u000a"}"#,
            br#"{"a":"\u0008"}"#,
            br#"{"a":"\u0009"}"#,
            br#"{"a":"\u000c"}"#,
            br#"{"a":"\u000d"}"#,
            br#"{"a":"\u000b"}"#,
            br#"{"a":"\u0000"}"#,
            br#"{"a":"\u0020"}"#,
            br#"{"a":"\u007f"}"#,
            br#"{"a":"\b\f\r\t"}"#,
            br#"{"a":"\n"}"#,
            br#"{"a":"\/"}"#,
            br#"{"a":"/"}"#,
            br#"{"a":"\""}"#,
            br#"{"a":"\\"}"#,
            br#"{"a":"\ud83d\ude00"}"#,
            "{\"a\":\"\u{1f600}\"}".as_bytes(),
            "{\"a\":\"\u{7f}\"}".as_bytes(),
            b"{\"a\":\"\x01\"}",
            b"{\"a\":\"\xff\"}",
            b"{\"a\":\"\xc3\"}",
            b"{\"a\":\"\xc3\xa9\"}",
            b"{\"a\":\"\xc0\xaf\"}",
            b"{\"a\":\"\xe0\x80\xaf\"}",
            b"{\"a\":\"\xed\xa0\x80\"}",
            b"{\"a\":\"\xef\xbf\xbf\"}",
            b"{\"a\":\"\xf4\x8f\xbf\xbf\"}",
            b"{\"a\":\"\xf4\x90\x80\x80\"}",
            b"{\"a\":\"\xf0\x9f\x98\x80\"}",
            b"{\"a\":\"\xf0\x9f\x98\"}",
            b"{\"a\":\"\x80\"}",
            b"{\"a\":\"\xe9\"}",
            b"{\"\xc3\xa9\":1}",
            b"{\"a\":1}\xc3\xa9",
            b"\xef\xbb\xbf{}",
            "{\"\u{1f600}\":1,\"\u{fb33}\":2}".as_bytes(),
            "{\"\u{fb33}\":1,\"\u{1f600}\":2}".as_bytes(),
            "{\"\\r\":1,\"1\":2,\"\u{80}\":3}".as_bytes(),
            "{\"1\":1,\"\\r\":2}".as_bytes(),
            br#"{"\n":1,"\n":2}"#,
            br#"{"a":{"b":1,"b":2}}"#,
            br#"{"a":[1,]}"#,
            br#"{"a":[,1]}"#,
            br#"{"a":1,}"#,
            br#"{,"a":1}"#,
            br#"{"a"}"#,
            br#"{"a":}"#,
            br#"{"a":tru}"#,
            br#"{"a":truex}"#,
            br#"{"a":nul}"#,
            br#""x""#,
            b"1",
            b"-0",
            b"{}{}",
            br#"{"a":"x"#,
            br#"{"a":"\u00"}"#,
            br#"{"a":"\x"}"#,
        ];
        for c in cases {
            agree(c);
        }
    }

    /// Every byte that needs a look, at every offset around the 8-byte
    /// steps of the string scan (in keys and values, at the string's end
    /// and the text's end), and number spellings RFC 8785 refuses.
    #[test]
    fn chunk_boundaries_and_number_spellings_agree() {
        let specials: &[&[u8]] = &[
            b"\"",
            b"\\",
            b"\\\"",
            b"\\u001f",
            b"\\u001F",
            b"\\u0041",
            b"\x00",
            b"\x1f",
            b"\x7f",
            b"\xc3\xa9",
            b"\xc3",
            b"\xe2\x82",
            b"\xed\xa0\x80",
            b"\xf0\x9f\x98\x80",
            b"\xf8\x88\x80\x80\x80",
        ];
        for sp in specials {
            for before in 0..18 {
                for after in [0usize, 1, 7, 8, 9] {
                    let inner = [&b"a".repeat(before)[..], sp, &b"b".repeat(after)].concat();
                    let value = [&b"{\"k\":\""[..], &inner, b"\"}"].concat();
                    agree(&value);
                    let key = [&b"{\""[..], &inner, b"\":1}"].concat();
                    agree(&key);
                    // Unterminated: the text ends inside the string.
                    agree(&value[..value.len() - 2]);
                }
            }
        }
        for tok in [
            "1E21",
            "1E+21",
            "1e+021",
            "1e021",
            "-1e+21",
            "-1e21",
            "1e+21",
            "2e-3",
            "0.002",
            "4.50",
            "4.5",
            "+1",
            "1.",
            "-00",
            "-01",
            "00",
            "9007199254740992.0",
            "1e0",
            "0e0",
            "0.0",
            "-0.0",
            "1.0e+21",
            "1.5e+21",
            "1.5e21",
            "1e-6",
            "0.000001",
            "1e-07",
            "1e-7",
            "0.0000001",
            "123e-2",
            "1.23",
            "5e-324",
            "4.9e-324",
            "1e-400",
            "1e400",
            "-1e400",
            "1.7976931348623157e+308",
            "1.7976931348623158e+308",
            "9007199254740992",
            "-9007199254740992",
            "9007199254740993",
            "1000000000000000",
            "10000000000000000",
            "99999999999999999",
            "1e+16",
            "1e16",
        ] {
            agree(tok.as_bytes());
            agree(format!("{{\"a\":{tok}}}").as_bytes());
            agree(format!("[{tok},{tok}]").as_bytes());
        }
    }

    /// Whether the string scan must look at byte `b`.
    fn looks_at(b: u8) -> bool {
        !(0x20..0x80).contains(&b) || b == b'"' || b == b'\\'
    }

    /// The index of the first byte of `w` that needs a look, byte by byte.
    fn first_look(w: [u8; 8]) -> Option<u32> {
        w.iter().position(|&b| looks_at(b)).map(|i| i as u32)
    }

    /// What `look_mask` says is the first byte to look at.
    fn mask_first(w: [u8; 8]) -> Option<u32> {
        let m = look_mask(u64::from_le_bytes(w));
        (m != 0).then(|| m.trailing_zeros() / 8)
    }

    #[test]
    fn the_word_test_finds_the_first_byte_to_look_at() {
        // Every byte at every position among plain ones, and every pair of
        // bytes at every two positions (what a borrow could confuse).
        for b in 0u8..=255 {
            for at in 0..8 {
                let mut w = [b'a'; 8];
                w[at] = b;
                assert_eq!(mask_first(w), first_look(w), "{b:#x} at {at}");
            }
        }
        for x in 0u8..=255 {
            for y in 0u8..=255 {
                for (i, j) in [(0, 1), (3, 4), (6, 7), (0, 7), (2, 5)] {
                    let mut w = [b' '; 8];
                    w[i] = x;
                    w[j] = y;
                    assert_eq!(mask_first(w), first_look(w), "{x:#x} {y:#x} at {i} {j}");
                }
            }
        }
        assert_eq!(mask_first(*b"abc/ ~09"), None);
        assert_eq!(mask_first(*b"\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f"), None);
        assert_eq!(mask_first(*b"!#[]{}~ "), None);
        assert_eq!(mask_first(*b"ab\x00\"\\\xff\x1f\x80"), Some(2));
    }

    /// The word test from before `look_mask`, kept as the oracle's.
    fn needs_look_oracle(w: u64) -> bool {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
        let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
        w & HIGH != 0
            || below_space
            || has_zero(w ^ (ONES * u64::from(b'"')))
            || has_zero(w ^ (ONES * u64::from(b'\\')))
    }

    impl Scanner<'_> {
        /// The byte-wise string scan from before `skip_plain` (it tried a
        /// whole word before every byte), kept as the oracle.
        fn string_oracle(&mut self) -> Option<Key> {
            if !self.eat(b'"') {
                return None;
            }
            let start = self.pos;
            let mut plain = true;
            loop {
                while let Some(chunk) = self.b.get(self.pos..self.pos + 8) {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(chunk);
                    if needs_look_oracle(u64::from_le_bytes(w)) {
                        break;
                    }
                    self.pos += 8;
                }
                let c = self.peek()?;
                self.pos += 1;
                match c {
                    b'"' => {
                        return Some(Key {
                            inner: start..self.pos - 1,
                            plain,
                        })
                    }
                    b'\\' => {
                        plain = false;
                        let e = self.peek()?;
                        self.pos += 1;
                        match e {
                            b'"' | b'\\' | b'b' | b't' | b'n' | b'f' | b'r' => {}
                            b'u' => {
                                let hex = self.b.get(self.pos..self.pos + 4)?;
                                self.pos += 4;
                                let v = match hex {
                                    [b'0', b'0', h @ (b'0' | b'1'), l] => {
                                        let lo = match l {
                                            b'0'..=b'9' => l - b'0',
                                            b'a'..=b'f' => l - b'a' + 10,
                                            _ => return None,
                                        };
                                        ((h - b'0') << 4) | lo
                                    }
                                    _ => return None,
                                };
                                if matches!(v, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                    return None;
                                }
                            }
                            _ => return None,
                        }
                    }
                    0x00..=0x1f => return None,
                    0x80..=0xff => {
                        plain = false;
                        let len = match c {
                            0xc2..=0xdf => 2,
                            0xe0..=0xef => 3,
                            0xf0..=0xf4 => 4,
                            _ => return None,
                        };
                        let seq = self.b.get(self.pos - 1..self.pos - 1 + len)?;
                        std::str::from_utf8(seq).ok()?;
                        self.pos += len - 1;
                    }
                    _ => {}
                }
            }
        }
    }

    /// `string` and `string_oracle` on `bytes` from `pos`: the same answer,
    /// and on success the same end position.
    fn strings_agree(bytes: &[u8], pos: usize) {
        let mut new = Scanner { b: bytes, pos };
        let mut old = Scanner { b: bytes, pos };
        let got = new.string().map(|k| (k.inner, k.plain, new.pos));
        let want = old.string_oracle().map(|k| (k.inner, k.plain, old.pos));
        assert_eq!(got, want, "{:?} from {pos}", String::from_utf8_lossy(bytes));
    }

    /// Pieces of string content: plain runs of every length around 8,
    /// quotes, escapes (valid and not), controls, DEL, valid and invalid
    /// UTF-8, and what may follow a string.
    fn arb_piece() -> impl Strategy<Value = Vec<u8>> {
        let fixed = prop::sample::select(vec![
            &b"\""[..],
            b"\\",
            b"\\\"",
            b"\\\\",
            b"\\n",
            b"\\/",
            b"\\u001f",
            b"\\u001F",
            b"\\u000a",
            b"\\u0041",
            b"\\u00",
            b"\\",
            b"\x00",
            b"\x1f",
            b"\x20",
            b"\x7f",
            b"\xc3\xa9",
            b"\xc3",
            b"\xe2\x82\xac",
            b"\xe2\x82",
            b"\xed\xa0\x80",
            b"\xef\xbf\xbf",
            b"\xf0\x9f\x98\x80",
            b"\xf4\x90\x80\x80",
            b"\xc0\xaf",
            b"\x80",
            b"\xff",
            b"\":1}",
            b"\",\"",
        ])
        .prop_map(<[u8]>::to_vec);
        prop_oneof![
            4 => prop::collection::vec(0x20u8..0x7f, 0..20),
            2 => "[ -~]{0,40}".prop_map(String::into_bytes),
            3 => fixed,
            1 => prop::collection::vec(any::<u8>(), 0..12),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        #[test]
        fn string_agrees_with_the_bytewise_scan(
            pieces in prop::collection::vec(arb_piece(), 0..8),
            lead in 0usize..10,
        ) {
            let body = pieces.concat();
            // From a quote after `lead` bytes, and from every offset (most
            // do not start with a quote and are refused by both).
            let text = [&b"x".repeat(lead)[..], b"\"", &body].concat();
            for pos in 0..=text.len() {
                strings_agree(&text, pos);
            }
        }

        #[test]
        fn string_agrees_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..48)) {
            let text = [&b"\""[..], &bytes].concat();
            strings_agree(&text, 0);
            let closed = [&text[..], b"\""].concat();
            strings_agree(&closed, 0);
        }

        #[test]
        fn bytes_less_is_slice_order(
            a in prop::collection::vec(prop::sample::select(b"ab\x00\x7f\xff".to_vec()), 0..6),
            b in prop::collection::vec(prop::sample::select(b"ab\x00\x7f\xff".to_vec()), 0..6),
        ) {
            prop_assert_eq!(bytes_less(&a, &b), a < b);
            prop_assert_eq!(bytes_less(&b, &a), b < a);
            prop_assert!(!bytes_less(&a, &a));
        }

        #[test]
        fn the_word_test_agrees_on_arbitrary_words(w in any::<[u8; 8]>()) {
            prop_assert_eq!(mask_first(w), first_look(w));
            prop_assert_eq!(look_mask(u64::from_le_bytes(w)) != 0, needs_look_oracle(u64::from_le_bytes(w)));
        }
    }

    #[test]
    fn nesting_limit_agrees() {
        for depth in [1usize, 126, 127, 128, 129, 200] {
            let arr = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            agree(arr.as_bytes());
            let obj = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
            agree(obj.as_bytes());
        }
    }

    #[test]
    fn the_vector_lines_agree() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
        let mut lines = 0;
        for f in std::fs::read_dir(dir).unwrap() {
            let path = f.unwrap().path();
            if path
                .extension()
                .is_some_and(|e| e == "jsonl" || e == "json")
            {
                for line in std::fs::read(&path).unwrap().split(|b| *b == b'\n') {
                    agree(line);
                    lines += 1;
                }
            }
        }
        assert!(lines > 20, "{lines}");
    }

    /// Canonical JSON values with the characters that matter: escapes,
    /// non-ASCII keys (UTF-16 order), numbers at the edges.
    fn arb_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let key = prop::sample::select(vec![
            "a",
            "b",
            "ab",
            "B",
            "_",
            "\r",
            "\n",
            "1",
            "é",
            "\u{80}",
            "\u{20ac}",
            "\u{fb33}",
            "\u{1f600}",
            "\u{e000}",
            "\"",
            "\\",
            "\u{1}",
            "v",
            "body",
        ]);
        let s = prop::sample::select(vec![
            "",
            "x",
            "\u{0}",
            "\u{1f}",
            "\t",
            "\u{7f}",
            "é",
            "\"q\"",
            "a\\b",
            "/",
            "\u{2028}",
            "\u{1f600}",
            "\u{fffd}",
        ]);
        let num = prop::sample::select(vec![
            0.0f64,
            1.0,
            -1.0,
            0.25,
            1e21,
            1e-7,
            -1e300,
            5e-324,
            9007199254740992.0,
            123456789.125,
            1e20,
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-(1i64 << 54)..(1i64 << 54)).prop_map(Value::from),
            num.prop_map(Value::from),
            s.prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(4, 24, 5, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..5).prop_map(|kv| {
                    Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }),
            ]
        })
    }

    /// Mutations of a canonical text: byte flips, insertions, deletions,
    /// and splices of tokens that the canonical form forbids.
    fn mutate(base: &[u8], at: usize, op: u8, byte: u8) -> Vec<u8> {
        let mut b = base.to_vec();
        let at = if b.is_empty() { 0 } else { at % (b.len() + 1) };
        let splice: &[&[u8]] = &[
            b" ",
            b"\\u0041",
            b"\\/",
            b".0",
            b"e2",
            b"-0",
            b"00",
            b"9007199254740993",
            b",\"a\":1",
            b"\"a\":1,",
            b"\\u00e9",
            b"\\u000d",
            b"\\u001F",
            b"\\u0007",
            b"\\ud800",
            b"[",
            b"}",
            b"\xc3",
            b"\xc3\xa9",
        ];
        match op % 4 {
            0 if at < b.len() => b[at] ^= byte | 1,
            1 => b.insert(at, byte),
            2 if at < b.len() => {
                b.remove(at);
            }
            _ => {
                let s = splice[usize::from(byte) % splice.len()];
                b.splice(at..at, s.iter().copied());
            }
        }
        b
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn decimal_tokens_agree(
            neg in any::<bool>(),
            int in prop::sample::select(vec!["0", "1", "9", "10", "123", "100000", "9007199254740992", "00", "01"]),
            zeros in 0usize..9,
            frac in "[0-9]{0,18}",
        ) {
            let tok = format!("{}{int}.{}{frac}", if neg { "-" } else { "" }, "0".repeat(zeros));
            agree(format!("{{\"a\":{tok}}}").as_bytes());
            agree(tok.as_bytes());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn generated_and_mutated_texts_agree(
            v in arb_value(),
            muts in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..4),
        ) {
            let Ok(canon) = crate::encoding::canonical_value(&v) else {
                // Out of range (a big integer): refused either way.
                agree(&serde_json::to_vec(&v).unwrap());
                return Ok(());
            };
            agree(&canon);
            // Wrapped in an object, as entry lines are.
            let line = [b"{\"body\":", &canon[..], b",\"v\":1}"].concat();
            agree(&line);
            let mut m = line.clone();
            for (at, op, byte) in muts {
                m = mutate(&m, at, op, byte);
                agree(&m);
            }
            // Whitespace, reordered and duplicated keys via the generic writer.
            let pretty = serde_json::to_vec_pretty(&v).unwrap();
            agree(&pretty);
            let plain = serde_json::to_vec(&v).unwrap();
            agree(&plain);
        }
    }
}
