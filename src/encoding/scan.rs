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
mod tests;
