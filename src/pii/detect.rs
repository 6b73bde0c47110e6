//! Built-in detector table, validators and the candidate scanner
//! (steps 3–4 of the algorithm in the parent module's docs).

use std::net::Ipv6Addr;
use std::sync::OnceLock;

use regex::Regex;

use super::{PiiCategory, PiiError};

/// Longest header/footer label accepted in a PEM marker
/// (`RSA `, `EC `, `OPENSSH `, `ENCRYPTED ` …).
const PEM_MAX_LABEL: usize = 40;
/// Longest base64 line accepted in a PEM block that has no footer.
const PEM_MAX_LINE: usize = 128;

/// What a pattern's match must additionally satisfy (step 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Check {
    /// Accepted as matched.
    None,
    /// The span contains at least one ASCII digit.
    HasDigit,
    /// ISO 13616 IBAN: length, check digits, mod-97.
    Iban,
    /// Payment card: 13–19 digits, first digit 2–6, Luhn, not glued.
    Card,
    /// US SSN area/group/serial rules, consistent separators, not glued.
    Ssn,
    /// Not glued into a longer dotted sequence.
    Ipv4,
    /// Parses as an IPv6 address, has a decimal digit, not glued.
    Ipv6,
    /// Digit count in `min..=max`, not a date, not glued, not after `<digit> `.
    Phone {
        /// Fewest digits.
        min: u8,
        /// Most digits.
        max: u8,
    },
}

/// How a pattern finds matches.
#[derive(Clone, Debug)]
pub(super) enum Finder {
    /// A compiled regex; when `span` is set, only that capture group is the span.
    Regex {
        /// The regex.
        re: Regex,
        /// Index of the capture group named `span`, if the regex has one.
        span: Option<usize>,
    },
    /// The PEM private-key block scanner (no regex: linear on any input).
    Pem,
}

/// One detector: a category, a finder, a validator, and what its matches
/// must contain.
#[derive(Clone, Debug)]
pub(super) struct Pattern {
    pub(super) category: PiiCategory,
    pub(super) finder: Finder,
    pub(super) check: Check,
    pub(super) needs: Needs,
}

/// Bytes that every span a pattern accepts must contain: a necessary
/// condition, tested against a one-pass summary of the working text
/// ([`TextBytes`]) so that patterns which cannot match are not searched at
/// all. Purely an optimisation — the result is identical; the unit test
/// `needs_hold_for_every_builtin_match` checks each condition against its
/// regex and validator, and the crate's determinism and soup tests compare
/// whole results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Needs(u16);

impl Needs {
    /// No condition (custom patterns): always searched.
    pub(super) const NOTHING: Needs = Needs(0);
    const DIGIT: u16 = 1 << 0;
    const AT: u16 = 1 << 1;
    const DOT: u16 = 1 << 2;
    const PLUS: u16 = 1 << 3;
    const UNDERSCORE: u16 = 1 << 4;
    const DASH: u16 = 1 << 5;
    const UPPER_A: u16 = 1 << 6;
    const UPPER_I: u16 = 1 << 7;
    const UPPER_J: u16 = 1 << 8;
    const LOWER_Z: u16 = 1 << 9;
    const COLON: u16 = 1 << 10;
    /// Two or more `:`.
    const TWO_COLONS: u16 = 1 << 11;

    const fn all(bits: u16) -> Needs {
        Needs(bits)
    }

    /// Whether a text with these bytes can hold a match.
    pub(super) fn met_by(self, text: TextBytes) -> bool {
        self.0 & !text.0 == 0
    }
}

/// Which of the bytes [`Needs`] asks about occur in a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TextBytes(u16);

impl TextBytes {
    /// One pass over `text`, 32 bytes at a time with branch-free compares
    /// (the compiler turns each chunk into a few vector instructions).
    pub(super) fn of(text: &str) -> TextBytes {
        let bytes = text.as_bytes();
        let mut m = 0u16;
        let mut colons = 0usize;
        let mut chunks = bytes.chunks_exact(32);
        for c in &mut chunks {
            let (bits, n) = Self::chunk(c);
            m |= bits;
            colons += n;
        }
        let (bits, n) = Self::chunk(chunks.remainder());
        m |= bits;
        colons += n;
        if colons >= 2 {
            m |= Needs::TWO_COLONS;
        }
        TextBytes(m)
    }

    /// The [`Needs`] bits present in `c` (at most 32 bytes) and its number of `:`.
    #[inline(always)]
    fn chunk(c: &[u8]) -> (u16, usize) {
        let mut any = [false; 11];
        let mut colons = 0u8;
        for &b in c {
            any[0] |= b.wrapping_sub(b'0') < 10;
            any[1] |= b == b'@';
            any[2] |= b == b'.';
            any[3] |= b == b'+';
            any[4] |= b == b'_';
            any[5] |= b == b'-';
            any[6] |= b == b'A';
            any[7] |= b == b'I';
            any[8] |= b == b'J';
            any[9] |= b == b'z';
            colons += u8::from(b == b':');
        }
        any[10] = colons > 0;
        const BITS: [u16; 11] = [
            Needs::DIGIT,
            Needs::AT,
            Needs::DOT,
            Needs::PLUS,
            Needs::UNDERSCORE,
            Needs::DASH,
            Needs::UPPER_A,
            Needs::UPPER_I,
            Needs::UPPER_J,
            Needs::LOWER_Z,
            Needs::COLON,
        ];
        let bits = any
            .iter()
            .zip(BITS)
            .fold(0, |m, (&a, bit)| if a { m | bit } else { m });
        (bits, usize::from(colons))
    }
}

/// A validated match in the working text (byte offsets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Candidate {
    pub(super) rank: u8,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) pattern: usize,
}

// Separator classes used inside the regexes. DASH is the ASCII hyphen and the
// Unicode dashes that NFKC leaves alone (U+2010–U+2015, U+2212).
// Every `(?-u:\b)` is an ASCII word boundary (letters, digits, `_`).

/// Built-in patterns in table order (the order of the SPEC's priority table).
/// `(id, category, regex or None for the PEM scanner, check)`.
#[allow(clippy::type_complexity)]
fn builtin_table() -> [(
    &'static str,
    PiiCategory,
    Option<&'static str>,
    Check,
    Needs,
); 17] {
    use PiiCategory as C;
    const DIGIT: u16 = Needs::DIGIT;
    const DASH: u16 = Needs::DASH;
    [
        (
            "secret.pem_private_key",
            C::Secret,
            None,
            Check::None,
            Needs::all(DASH),
        ),
        (
            "secret.jwt",
            C::Secret,
            Some(r"(?-u:\b)eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"),
            Check::None,
            Needs::all(Needs::UPPER_J | Needs::DOT),
        ),
        (
            "secret.bearer",
            C::Secret,
            Some(r"(?-u:\b)(?i:bearer)[ \t]+(?P<span>[A-Za-z0-9\-._~+/]{16,4096}=*)"),
            Check::HasDigit,
            Needs::all(DIGIT),
        ),
        (
            "secret.sk",
            C::Secret,
            Some(r"(?-u:\b)sk-[A-Za-z0-9_\-]{20,256}"),
            Check::HasDigit,
            Needs::all(DASH | DIGIT),
        ),
        (
            "secret.aws_access_key_id",
            C::Secret,
            Some(r"(?-u:\b)(?:AKIA|ASIA)[A-Z0-9]{16}(?-u:\b)"),
            Check::None,
            Needs::all(Needs::UPPER_A | Needs::UPPER_I),
        ),
        (
            "secret.google_api_key",
            C::Secret,
            Some(r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}"),
            Check::None,
            Needs::all(Needs::UPPER_A | Needs::UPPER_I | Needs::LOWER_Z),
        ),
        (
            "secret.github",
            C::Secret,
            Some(r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{30,255})"),
            Check::None,
            Needs::all(Needs::UNDERSCORE),
        ),
        (
            "secret.slack",
            C::Secret,
            Some(r"(?-u:\b)xox[abprs]-[A-Za-z0-9\-]{10,256}"),
            Check::HasDigit,
            Needs::all(DASH | DIGIT),
        ),
        (
            "email",
            C::Email,
            Some(
                r"[A-Za-z0-9._%+\-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9](?-u:\b)",
            ),
            Check::None,
            Needs::all(Needs::AT | Needs::DOT),
        ),
        (
            "iban",
            C::Iban,
            Some(
                r"(?-u:\b)[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)(?-u:\b)",
            ),
            Check::Iban,
            Needs::all(DIGIT),
        ),
        (
            "payment_card",
            C::PaymentCard,
            Some(
                r"(?-u:\b)(?:[0-9]{13,19}|[0-9]{4}(?:[ \-\x{2010}-\x{2015}\x{2212}][0-9]{3,6}){2,5})(?-u:\b)",
            ),
            Check::Card,
            Needs::all(DIGIT),
        ),
        (
            "us_ssn",
            C::UsSsn,
            Some(
                r"(?-u:\b)[0-9]{3}[ \-\x{2010}-\x{2015}\x{2212}][0-9]{2}[ \-\x{2010}-\x{2015}\x{2212}][0-9]{4}(?-u:\b)",
            ),
            Check::Ssn,
            Needs::all(DIGIT),
        ),
        (
            "ipv6",
            C::Ipv6,
            Some(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,8}(?:\.[0-9]{1,3}){0,3}"),
            Check::Ipv6,
            Needs::all(Needs::TWO_COLONS),
        ),
        (
            "ipv4",
            C::Ipv4,
            Some(
                r"(?-u:\b)(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}(?-u:\b)",
            ),
            Check::Ipv4,
            Needs::all(DIGIT | Needs::DOT),
        ),
        (
            "phone.international",
            C::Phone,
            Some(
                r"\+[0-9]{1,3}(?:[ .\-\x{2010}-\x{2015}\x{2212}]?\([0-9]{1,4}\))?(?:[ .\-\x{2010}-\x{2015}\x{2212}]?[0-9]{1,5}){1,7}",
            ),
            Check::Phone { min: 8, max: 15 },
            Needs::all(Needs::PLUS | DIGIT),
        ),
        (
            "phone.nanp",
            C::Phone,
            Some(
                r"(?:(?-u:\b)1[ .\-\x{2010}-\x{2015}\x{2212}])?(?:\([2-9][0-9]{2}\) ?|(?-u:\b)[2-9][0-9]{2}[ .\-\x{2010}-\x{2015}\x{2212}])[0-9]{3}[ .\-\x{2010}-\x{2015}\x{2212}][0-9]{4}(?-u:\b)",
            ),
            Check::Phone { min: 10, max: 11 },
            Needs::all(DIGIT),
        ),
        (
            "phone.trunk",
            C::Phone,
            Some(
                r"(?:\(0[1-9][0-9]{0,3}\)|(?-u:\b)0[1-9][0-9]{0,3})(?:[ /\-\x{2010}-\x{2015}\x{2212}]?[0-9]{2,8}){1,5}(?-u:\b)",
            ),
            Check::Phone { min: 9, max: 12 },
            Needs::all(DIGIT),
        ),
    ]
}

/// Compiles `src` into a finder, mapping failure to [`PiiError::InvalidRegex`]
/// without echoing the pattern text (a custom pattern may itself contain
/// personal data, e.g. a literal name).
pub(super) fn compile(name: &str, src: &str) -> Result<Finder, PiiError> {
    let re = Regex::new(src).map_err(|e| PiiError::InvalidRegex {
        name: name.to_owned(),
        reason: match e {
            regex::Error::CompiledTooBig(_) => "the compiled pattern exceeds the size limit",
            _ => "syntax error",
        },
    })?;
    let span = re.capture_names().position(|n| n == Some("span"));
    Ok(Finder::Regex { re, span })
}

/// The built-in patterns, compiled once per process.
pub(super) fn builtins() -> Result<&'static [Pattern], PiiError> {
    static CELL: OnceLock<Result<Vec<Pattern>, PiiError>> = OnceLock::new();
    let compiled = CELL.get_or_init(|| {
        builtin_table()
            .into_iter()
            .map(|(id, category, src, check, needs)| {
                let finder = match src {
                    Some(src) => compile(id, src)?,
                    None => Finder::Pem,
                };
                Ok(Pattern {
                    category,
                    finder,
                    check,
                    needs,
                })
            })
            .collect()
    });
    match compiled {
        Ok(v) => Ok(v.as_slice()),
        Err(e) => Err(e.clone()),
    }
}

impl Pattern {
    /// The regex source, for the prefilter (`None` for the PEM scanner).
    pub(super) fn regex_source(&self) -> Option<&str> {
        match &self.finder {
            Finder::Regex { re, .. } => Some(re.as_str()),
            Finder::Pem => None,
        }
    }

    /// Step 3: appends this pattern's validated candidates found in the open
    /// segment `[seg_start, seg_end)` of `work`.
    pub(super) fn scan(
        &self,
        work: &str,
        seg_start: usize,
        seg_end: usize,
        rank: u8,
        pattern: usize,
        out: &mut Vec<Candidate>,
    ) {
        // Matches never cross the segment's end; the look-behind of `\b` at
        // `seg_start` sees the previous character of the working text.
        let hay = &work[..seg_end];
        let (re, span_group) = match &self.finder {
            Finder::Pem => {
                scan_pem(hay, seg_start, &mut |start, end| {
                    out.push(Candidate {
                        rank,
                        start,
                        end,
                        pattern,
                    });
                });
                return;
            }
            Finder::Regex { re, span } => (re, *span),
        };
        let mut pos = seg_start;
        while pos <= hay.len() {
            let (m_start, span) = match span_group {
                None => match re.find_at(hay, pos) {
                    Some(m) => (m.start(), m.range()),
                    None => break,
                },
                Some(g) => match re.captures_at(hay, pos) {
                    Some(c) => match (c.get(0), c.get(g)) {
                        (Some(m), Some(s)) => (m.start(), s.range()),
                        (Some(m), None) => (m.start(), m.start()..m.start()),
                        _ => break,
                    },
                    None => break,
                },
            };
            let accepted = if span.is_empty() {
                None
            } else {
                validate(self.check, hay, span.start, span.end)
            };
            match accepted {
                Some(end) => {
                    out.push(Candidate {
                        rank,
                        start: span.start,
                        end,
                        pattern,
                    });
                    pos = end;
                }
                None => match next_char(hay, m_start) {
                    Some(p) => pos = p,
                    None => break,
                },
            }
        }
    }
}

/// Byte offset just after the character starting at `i`, or `None` at the end.
fn next_char(s: &str, i: usize) -> Option<usize> {
    s.get(i..)?.chars().next().map(|c| i + c.len_utf8())
}

/// ASCII letter, digit or underscore (the regexes' `\b` notion of a word).
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// ASCII hyphen-minus and the Unicode dashes NFKC does not fold.
fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// Numeric glue (cards, SSNs, phones): looking outward from the span through
/// `it`, the first character is a word character; or it is `.`, `/` or a dash
/// followed by a word character; or it is `:` followed by an ASCII digit.
fn glued_numeric(mut it: impl Iterator<Item = char>) -> bool {
    match it.next() {
        Some(c) if is_word(c) => true,
        Some(c) if c == '.' || c == '/' || is_dash(c) => it.next().is_some_and(is_word),
        Some(':') => it.next().is_some_and(|d| d.is_ascii_digit()),
        _ => false,
    }
}

fn glued_numeric_around(hay: &str, start: usize, end: usize) -> bool {
    glued_numeric(hay[..start].chars().rev()) || glued_numeric(hay[end..].chars())
}

/// IPv4 glue: a word character, or `.` followed by a word character.
fn glued_dotted(mut it: impl Iterator<Item = char>) -> bool {
    match it.next() {
        Some(c) if is_word(c) => true,
        Some('.') => it.next().is_some_and(is_word),
        _ => false,
    }
}

/// Step 4: returns the accepted end (possibly shorter than `end`), or `None`.
fn validate(check: Check, hay: &str, start: usize, end: usize) -> Option<usize> {
    let s = &hay[start..end];
    match check {
        Check::None => Some(end),
        Check::HasDigit => s.bytes().any(|b| b.is_ascii_digit()).then_some(end),
        Check::Iban => longest_prefix(hay, start, end, |c| c == ' ', |t, _| iban_ok(t)),
        Check::Card => {
            if glued_numeric(hay[..start].chars().rev()) {
                return None;
            }
            longest_prefix(
                hay,
                start,
                end,
                |c| c == ' ' || is_dash(c),
                |t, e| card_ok(t) && !glued_numeric(hay[e..].chars()),
            )
        }
        Check::Ssn => (ssn_ok(s) && !glued_numeric_around(hay, start, end)).then_some(end),
        Check::Ipv4 => (!glued_dotted(hay[..start].chars().rev())
            && !glued_dotted(hay[end..].chars()))
        .then_some(end),
        Check::Ipv6 => ipv6_accept(hay, start, end),
        Check::Phone { min, max } => {
            let mut before = hay[..start].chars().rev();
            let after_digit_group =
                before.next() == Some(' ') && before.next().is_some_and(|c| c.is_ascii_digit());
            if after_digit_group || glued_numeric(hay[..start].chars().rev()) || looks_like_date(s)
            {
                return None;
            }
            let sep = |c: char| c == ' ' || c == '.' || c == '/' || is_dash(c);
            longest_prefix(hay, start, end, sep, |t, e| {
                let n = t.bytes().filter(u8::is_ascii_digit).count();
                (usize::from(min)..=usize::from(max)).contains(&n)
                    && !glued_numeric(hay[e..].chars())
            })
        }
    }
}

/// Tries `[start, end)` and then, longest first, every prefix that ends just
/// before a separator character preceded by an ASCII alphanumeric; returns
/// the end of the first one `ok(prefix, prefix_end)` accepts.
fn longest_prefix(
    hay: &str,
    start: usize,
    end: usize,
    is_sep: impl Fn(char) -> bool,
    ok: impl Fn(&str, usize) -> bool,
) -> Option<usize> {
    if ok(&hay[start..end], end) {
        return Some(end);
    }
    let s = &hay[start..end];
    let mut prev: Option<char> = None;
    let mut ends = Vec::new();
    for (i, c) in s.char_indices() {
        if is_sep(c) && prev.is_some_and(|p| p.is_ascii_alphanumeric()) {
            ends.push(start + i);
        }
        prev = Some(c);
    }
    ends.into_iter().rev().find(|&e| ok(&hay[start..e], e))
}

/// Luhn checksum over ASCII digits.
pub(super) fn luhn_ok(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

fn card_ok(t: &str) -> bool {
    let digits: Vec<u8> = t.bytes().filter(u8::is_ascii_digit).collect();
    (13..=19).contains(&digits.len())
        && matches!(digits.first(), Some(b'2'..=b'6'))
        && luhn_ok(&digits)
}

/// ISO 13616: 15–34 characters once spaces are removed, two letters, two
/// check digits in 02–98, upper-case alphanumerics, mod-97 of the rearranged
/// number equal to 1.
pub(super) fn iban_ok(t: &str) -> bool {
    let b: Vec<u8> = t.bytes().filter(|&c| c != b' ').collect();
    if !(15..=34).contains(&b.len())
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
        || !b
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return false;
    }
    let check = u32::from(b[2] - b'0') * 10 + u32::from(b[3] - b'0');
    if !(2..=98).contains(&check) {
        return false;
    }
    let mut rem = 0u32;
    for &c in b[4..].iter().chain(&b[..4]) {
        if c.is_ascii_digit() {
            rem = (rem * 10 + u32::from(c - b'0')) % 97;
        } else {
            rem = (rem * 100 + u32::from(c - b'A') + 10) % 97;
        }
    }
    rem == 1
}

/// `AAA?GG?SSSS` with one separator used twice; area not 000, 666 or 9xx;
/// group not 00; serial not 0000.
fn ssn_ok(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() != 11 || chars[3] != chars[6] {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        chars[r]
            .iter()
            .try_fold(0u32, |acc, c| c.to_digit(10).map(|d| acc * 10 + d))
    };
    match (num(0..3), num(4..6), num(7..11)) {
        (Some(area), Some(group), Some(serial)) => {
            area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
        }
        _ => false,
    }
}

/// `D{1,2} s D{1,2} s D{4}` or `D{4} s D{1,2} s D{1,2}` at the start of `s`,
/// with one separator `s` from `.`, `/`, dashes used twice.
fn looks_like_date(s: &str) -> bool {
    let mut it = s.chars().peekable();
    let run = |it: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        let mut n = 0;
        while it.next_if(char::is_ascii_digit).is_some() {
            n += 1;
        }
        n
    };
    let a = run(&mut it);
    let s1 = it.next();
    let b = run(&mut it);
    let s2 = it.next();
    let c = run(&mut it);
    let sep_ok = s1.is_some_and(|c| c == '.' || c == '/' || is_dash(c)) && s1 == s2;
    sep_ok
        && (((1..=2).contains(&a) && (1..=2).contains(&b) && c == 4)
            || (a == 4 && (1..=2).contains(&b) && (1..=2).contains(&c)))
}

/// The span (or the span less one trailing single `:`) parses as an IPv6
/// address, contains a decimal digit, and is not glued: before it no word
/// character, `.`, or `:` preceded by a hex digit; after it no word character
/// or `:`, nor `.` followed by a word character.
fn ipv6_accept(hay: &str, start: usize, end: usize) -> Option<usize> {
    let mut before = hay[..start].chars().rev();
    let glued_before = match before.next() {
        Some(c) if is_word(c) || c == '.' => true,
        Some(':') => before.next().is_some_and(|c| c.is_ascii_hexdigit()),
        _ => false,
    };
    if glued_before {
        return None;
    }
    let ok = |e: usize| {
        let s = &hay[start..e];
        let mut after = hay[e..].chars();
        let glued_after = match after.next() {
            Some(c) if is_word(c) || c == ':' => true,
            Some('.') => after.next().is_some_and(is_word),
            _ => false,
        };
        !glued_after && s.bytes().any(|b| b.is_ascii_digit()) && s.parse::<Ipv6Addr>().is_ok()
    };
    if ok(end) {
        return Some(end);
    }
    let s = &hay[start..end];
    if s.ends_with(':') && !s.ends_with("::") && ok(end - 1) {
        return Some(end - 1);
    }
    None
}

/// Finds PEM private-key blocks in `hay[from..]`, linear in the input:
/// `-----BEGIN <L>PRIVATE KEY-----` (L: up to 40 of `[A-Z0-9 ]`) through the
/// first following `-----END <L'>PRIVATE KEY-----`; if no such footer follows,
/// the header plus the immediately following lines made only of base64
/// characters (`[A-Za-z0-9+/=]`, 1–128 per line).
fn scan_pem(hay: &str, from: usize, emit: &mut impl FnMut(usize, usize)) {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END ";
    let mut pos = from;
    // Once a search for a footer has failed, none exists further on either.
    let mut footer_search_failed = false;
    while let Some(rel) = hay.get(pos..).and_then(|t| t.find(BEGIN)) {
        let start = pos + rel;
        let Some(header_end) = marker_tail(hay, start + BEGIN.len()) else {
            pos = start + BEGIN.len();
            continue;
        };
        let mut footer = None;
        if !footer_search_failed {
            let mut q = header_end;
            while let Some(r) = hay.get(q..).and_then(|t| t.find(END)) {
                let at = q + r;
                if let Some(e) = marker_tail(hay, at + END.len()) {
                    footer = Some(e);
                    break;
                }
                q = at + END.len();
            }
            footer_search_failed = footer.is_none();
        }
        let block_end = footer.unwrap_or_else(|| base64_lines_end(hay, header_end));
        emit(start, block_end);
        pos = block_end;
    }
}

/// After `-----BEGIN ` / `-----END `: up to 40 of `[A-Z0-9 ]` then
/// `PRIVATE KEY-----`; returns the end of the marker.
fn marker_tail(hay: &str, at: usize) -> Option<usize> {
    const TAIL: &str = "PRIVATE KEY-----";
    let rest = hay.get(at..)?;
    let label = rest
        .bytes()
        .take(PEM_MAX_LABEL + 1)
        .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b' ')
        .count();
    // The label run may have swallowed the start of `PRIVATE KEY`; try every split.
    (0..=label.min(PEM_MAX_LABEL))
        .rev()
        .find(|&l| rest[l..].starts_with(TAIL))
        .map(|l| at + l + TAIL.len())
}

/// End of the run of base64-only lines following a footer-less PEM header.
fn base64_lines_end(hay: &str, mut at: usize) -> usize {
    loop {
        let rest = &hay[at..];
        let nl = if rest.starts_with("\r\n") {
            2
        } else if rest.starts_with('\n') {
            1
        } else {
            return at;
        };
        let line = rest[nl..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            .count();
        let after = rest[nl + line..].bytes().next();
        if line == 0 || line > PEM_MAX_LINE || !matches!(after, None | Some(b'\r' | b'\n')) {
            return at;
        }
        at += nl + line;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every span a built-in pattern accepts, searched from every character
    /// boundary of `text`, contains the bytes its [`Needs`] names — so a
    /// round may skip a pattern whose needs the working text does not meet.
    fn assert_needs_hold(text: &str) -> Result<(), TestCaseError> {
        let starts: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        for (i, p) in builtins().unwrap().iter().enumerate() {
            for &from in &starts {
                let mut found = Vec::new();
                p.scan(text, from, text.len(), 0, i, &mut found);
                for c in found {
                    let span = &text[c.start..c.end];
                    prop_assert!(
                        p.needs.met_by(TextBytes::of(span)),
                        "pattern {} accepted {:?} without its needed bytes",
                        i,
                        span
                    );
                }
            }
        }
        Ok(())
    }

    fn soup() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "john@example.com",
            "a@b.co",
            "4111 1111 1111 1111",
            "4111111111111111",
            "+44 20 7946 0958",
            "+1 (555) 123-4567",
            "555-123-4567",
            "(030) 1234567",
            "030 1234567",
            "123-45-6789",
            "123 45 6789",
            "192.168.0.1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "fe80::",
            "DE89 3704 0044 0532 0130 00",
            "GB82WEST12345698765432",
            "sk-proj-abc123DEF456ghi789JKL012mno345",
            "sk-abcdefghijklmnopqrstuvwxyz",
            "AKIAIOSFODNN7EXAMPLE",
            "ASIAABCDEFGHIJKLMNOP",
            "AIzaSyA1234567890abcdefghijklmnopqrstu",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "github_pat_abcdefghijklmnopqrstuvwxyz0123",
            "xoxb-1234567890-abcdef",
            "xoxp-abcdefghijkl",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
            "eyJ.e.",
            "Bearer abc123def456ghi789jkl",
            "bearer abcdefghijklmnopqrstu",
            "BEARER\t0123456789abcdefgh",
            "-----BEGIN PRIVATE KEY-----\nQUJDREVG\n",
            "-----BEGIN RSA PRIVATE KEY-----",
            "-----END PRIVATE KEY-----",
            "2024-01-15",
            "1.2.3.4.5",
            "0",
            "1",
            "12",
            "2024",
            "x",
            "A",
            "I",
            "z",
            "J",
            "@",
            ".",
            "-",
            "\u{2011}",
            "\u{2212}",
            ":",
            "::",
            "/",
            " ",
            "\t",
            "\n",
            "(",
            ")",
            "+",
            "[",
            "]",
            "_",
            "é",
            "[EMAIL]",
            "[CUSTOM:X_Y]",
        ]);
        prop::collection::vec(piece, 0..16).prop_map(|v| v.concat())
    }

    #[test]
    fn needs_hold_for_every_builtin_match() {
        for text in [
            "mail john@example.com or +44 20 7946 0958, card 4111 1111 1111 1111",
            "key sk-proj-abc123DEF456ghi789JKL012mno345 and AKIAIOSFODNN7EXAMPLE",
            "-----BEGIN PRIVATE KEY-----\nQUJDREVG\n-----END PRIVATE KEY-----",
            "ip 192.168.0.1 and 2001:db8::1 and ::ffff:1.2.3.4; ssn 123-45-6789",
            "IBAN DE89 3704 0044 0532 0130 00, phone (030) 1234567, 555-123-4567",
            "Authorization: Bearer abc123def456ghi789jkl eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        ] {
            assert_needs_hold(text).unwrap();
        }
    }

    #[test]
    fn text_bytes_counts_colons() {
        let two = Needs::all(Needs::TWO_COLONS);
        assert!(!two.met_by(TextBytes::of("a:b")));
        assert!(two.met_by(TextBytes::of("a:b:c")));
        assert!(two.met_by(TextBytes::of("::")));
        assert!(Needs::all(Needs::DIGIT | Needs::AT).met_by(TextBytes::of("x@9")));
        assert!(!Needs::all(Needs::DIGIT | Needs::AT).met_by(TextBytes::of("x@y")));
        assert!(Needs::NOTHING.met_by(TextBytes::of("")));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn needs_hold_on_pii_soup(s in soup()) {
            assert_needs_hold(&s)?;
        }

        #[test]
        fn needs_hold_on_arbitrary_text(s in "[ -~\u{a0}\u{2010}-\u{2015}]{0,40}") {
            assert_needs_hold(&s)?;
        }

        /// The chunked scan equals a plain byte-by-byte table, across chunk
        /// boundaries (lengths up to 100, i.e. three chunks and a rest).
        #[test]
        fn text_bytes_equal_the_simple_scan(s in "[ -~\u{e9}]{0,100}") {
            prop_assert_eq!(TextBytes::of(&s), simple_text_bytes(&s));
        }
    }

    fn simple_text_bytes(text: &str) -> TextBytes {
        let mut m = 0u16;
        for b in text.bytes() {
            m |= match b {
                b'0'..=b'9' => Needs::DIGIT,
                b'@' => Needs::AT,
                b'.' => Needs::DOT,
                b'+' => Needs::PLUS,
                b'_' => Needs::UNDERSCORE,
                b'-' => Needs::DASH,
                b'A' => Needs::UPPER_A,
                b'I' => Needs::UPPER_I,
                b'J' => Needs::UPPER_J,
                b'z' => Needs::LOWER_Z,
                b':' => Needs::COLON,
                _ => 0,
            };
        }
        if text.bytes().filter(|&b| b == b':').count() >= 2 {
            m |= Needs::TWO_COLONS;
        }
        TextBytes(m)
    }

    #[test]
    fn builtin_literals_compile() {
        let b = builtins().unwrap();
        assert_eq!(b.len(), builtin_table().len());
    }

    #[test]
    fn luhn_and_mod97() {
        assert!(luhn_ok(b"4111111111111111"));
        assert!(!luhn_ok(b"4111111111111112"));
        assert!(iban_ok("DE89 3704 0044 0532 0130 00"));
        assert!(iban_ok("GB82WEST12345698765432"));
        assert!(!iban_ok("DE88 3704 0044 0532 0130 00"));
        assert!(!iban_ok("de89370400440532013000"));
    }

    #[test]
    fn ssn_rules() {
        assert!(ssn_ok("123-45-6789"));
        assert!(ssn_ok("123 45 6789"));
        assert!(!ssn_ok("123-45 6789"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "912-12-3456",
            "123-00-4567",
            "123-45-0000",
        ] {
            assert!(!ssn_ok(bad), "{bad}");
        }
    }

    #[test]
    fn date_guard() {
        assert!(looks_like_date("01-02-2024 12"));
        assert!(looks_like_date("2024/01/02"));
        assert!(!looks_like_date("06-12-34-56-78"));
        assert!(!looks_like_date("01-02/2024"));
    }

    #[test]
    fn pem_scanner_pairs_and_truncates() {
        let mut got = Vec::new();
        let t = "a -----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY----- b \
                 -----BEGIN PRIVATE KEY-----\nQUJD\nREVG\nnot base64 here";
        scan_pem(t, 0, &mut |s, e| got.push(&t[s..e]));
        assert_eq!(
            got,
            [
                "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----",
                "-----BEGIN PRIVATE KEY-----\nQUJD\nREVG",
            ]
        );
    }
}
