//! NFKC normalisation, then deterministic PII and secret stripping (SPEC §4.2; the algorithm below is normative for producers).
//!
//! Text that goes into a receipt commitment is first brought to Unicode NFKC,
//! *then* stripped, so that compatibility forms (full-width
//! `ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ`, ligatures, mathematical digits,
//! no-break spaces inside numbers) are caught exactly like their ASCII forms.
//! The result depends only on the input, the policy and the key: no hash-map
//! order, no randomness, no locale.
//!
//! ```
//! use ai_audit::pii::{PiiPolicy, PiiMode};
//! let policy = PiiPolicy::try_default()?;
//! let out = policy.normalize_and_strip("mail ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", None)?;
//! assert_eq!(out.text, "mail [EMAIL]");
//! assert_eq!(serde_json::to_string(&out.report).unwrap(),
//!            r#"{"found":[{"category":"email","count":1}]}"#);
//! # Ok::<(), ai_audit::pii::PiiError>(())
//! ```
//!
//! # Algorithm (normative)
//!
//! Offsets are UTF-8 byte offsets; "character" means Unicode scalar value;
//! "word character" means ASCII letter, ASCII digit or `_`; `\b` in a pattern
//! is an ASCII word boundary; "dash" means U+002D or U+2010–U+2015 or U+2212.
//!
//! 1. **Normalise.** `T = NFKC(input)` with the tables of Unicode
//!    [`UNICODE_VERSION`]. ([`PiiPolicy::strip`] skips the work when the NFKC
//!    quick check says the input already is NFKC; the result is the same.)
//! 2. **Segments.** The text is a sequence of segments, initially one *open*
//!    segment holding all of `T`. The *working text* `W` of a round is the
//!    concatenation of the segments in order, where an open segment contributes
//!    its text and a stripped segment its Redact token (e.g. `[EMAIL]`).
//! 3. **Candidates.** For every enabled pattern `P` (in table order, below) and
//!    every non-empty open segment `[s, e)` of `W`: search the haystack
//!    `W[..e]` from position `p = s` (so `\b` at `s` sees the character before
//!    `s`, and nothing after `e` is visible). Take the leftmost-first match `m`
//!    starting at or after `p`. Its *span* is the whole match, or the capture
//!    group named `span` when the pattern has one. If the span is non-empty and
//!    the validator of `P` (step 4) accepts it — possibly shortened to `[a, b)`
//!    — record the candidate `(P, a, b)` and continue with `p = b`; otherwise
//!    continue with `p` = one character after the start of `m`. Stop when
//!    there is no further match.
//! 4. **Validators.** *Numeric glue* on one side of a span: the adjacent
//!    character is a word character; or it is `.`, `/` or a dash followed
//!    (outward) by a word character; or it is `:` followed (outward) by an
//!    ASCII digit. *Prefix trial*: try the whole span, then, longest first,
//!    each prefix ending just before a listed separator that follows an ASCII
//!    letter or digit; take the first prefix that passes.
//!    - `payment_card`: no numeric glue before; prefix trial (separators:
//!      space, dash) for 13–19 digits, first digit 2–6, Luhn check passes, no
//!      numeric glue after the prefix.
//!    - `iban`: prefix trial (separator: space) for: spaces removed, 15–34
//!      characters, 2 upper-case letters, 2 digits forming 02–98, then upper-case
//!      letters/digits, and ISO 13616 mod-97 of the rearranged value equals 1.
//!    - `us_ssn`: the same separator twice; area not 000, 666 or 900–999;
//!      group not 00; serial not 0000; no numeric glue on either side.
//!    - `phone`: no numeric glue before, nor a space preceded by an ASCII
//!      digit (the tail of a longer digit-group sequence); not date-like (starts with
//!      `D{1,2} s D{1,2} s D{4}` or `D{4} s D{1,2} s D{1,2}` for one separator
//!      `s` among `.`, `/`, dash, used twice); prefix trial (separators: space,
//!      `.`, `/`, dash) for a digit count within the pattern's range and no
//!      numeric glue after the prefix.
//!    - `ipv4`: on neither side a word character, nor `.` followed (outward) by
//!      a word character.
//!    - `ipv6`: parses as an IPv6 address (RFC 4291 text form, embedded IPv4
//!      allowed; failing that, the span minus one trailing single `:`),
//!      contains an ASCII digit; before it no word character, no `.`, no `:`
//!      preceded by a hex digit; after it no word character, no `:`, no `.`
//!      followed by a word character.
//!    - `secret` patterns marked *digit*: the span contains an ASCII digit.
//!    - All others: accepted as matched.
//! 5. **Resolve overlaps.** Sort all candidates of the round by: category
//!    rank (table below, smaller first), then start (earlier first), then
//!    length (longer first), then the pattern's index in the table (custom
//!    patterns: in the order they were added). Walk that order and accept a
//!    candidate iff it overlaps no already accepted candidate.
//! 6. **Replace, repeat.** If nothing was accepted, go to step 7. Otherwise
//!    each accepted span becomes a stripped segment (remembering its exact
//!    text in `T`), the remainders of its open segment stay open, and the next
//!    round starts at step 2 — at most [`MAX_ROUNDS`] rounds in all. (A second
//!    round finds values that a first-round overlap or neighbour hid; stripped
//!    segments are never re-examined, so Redact output is a fixed point.)
//! 7. **Render.** Concatenate the segments left to right: open text verbatim,
//!    stripped segments rendered by the [`PiiMode`].
//! 8. **Report.** Count stripped segments per category; list the non-zero
//!    counts sorted by category name (byte order) — see [`PiiReport`].
//!
//! ## Priority table
//!
//! | rank | category | patterns, in table order |
//! |---|---|---|
//! | 0 | `secret` | PEM private-key block; JWT `eyJ….….…`; `Bearer <token>` (span = token only, 16+ chars, *digit*); `sk-…` (OpenAI/Anthropic, *digit*); AWS `AKIA`/`ASIA` + 16; Google `AIza` + 35; GitHub `gh[pousr]_…`, `github_pat_…`; Slack `xox[abprs]-…` (*digit*) |
//! | 1 | `custom:<name>` | user patterns, in the order added |
//! | 2 | `email` | ASCII local part `@` dotted domain, TLD starts with a letter |
//! | 3 | `iban` | `CCdd` + 11–30 alphanumerics, compact or in groups of 4 |
//! | 4 | `payment_card` | 13–19 digits, or a 4-digit group + 2–5 groups of 3–6 |
//! | 5 | `us_ssn` | `AAA-GG-SSSS` (dash or space) |
//! | 6 | `ipv6` | hex groups and colons, optional embedded IPv4 |
//! | 7 | `ipv4` | dotted quad, octets 0–255 without leading zeros |
//! | 8 | `phone` | `+CC …` (8–15 digits); NANP `(1-)NXX-XXX-XXXX` (10–11); trunk `0…` national (9–12) |
//!
//! The PEM block is found by a scanner rather than a regex (linear on any
//! input): from `-----BEGIN <L>PRIVATE KEY-----` (`L`: 0–40 of `[A-Z0-9 ]`)
//! through the first following `-----END <L'>PRIVATE KEY-----`; when no such
//! footer follows, the header plus the immediately following lines that
//! consist only of 1–128 base64 characters `[A-Za-z0-9+/=]`.
//!
//! Secrets come first because a key, token or PEM block contains runs that
//! look like other categories. The exact regexes are in `pii/detect.rs` and
//! are part of the SPEC.
//!
//! Known limits: only ASCII digits are recognised (NFKC folds full-width and
//! mathematical digits, not e.g. Arabic-Indic ones); e-mail local parts and
//! domains are ASCII only (IDNs must be punycode); a lone `1.2.3.4` is an IPv4
//! address even if meant as a version.

mod detect;
mod report;

use std::fmt;
use std::ops::Range;

use regex::RegexSet;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

use crate::commitment::CommitmentKey;
use detect::{Candidate, Pattern, TextBytes};
pub use report::{CustomName, PiiCategory, PiiCount, PiiReport};

/// Label prefixed to a matched value when computing its keyed-hash token:
/// `HMAC-SHA256(tenant key, PII_HASH_LABEL || value)` (SPEC §2.6).
pub const PII_HASH_LABEL: &[u8] = b"ai-audit/v1/pii-hash\0";

/// Most detection rounds (algorithm step 6).
pub const MAX_ROUNDS: usize = 8;

/// When more patterns than this remain possible after the byte summary of
/// a round's text, one regex-set pass narrows them before each is searched.
const DIRECT_SCAN_MAX: usize = 3;

/// Number of hex digits of the HMAC kept in a keyed-hash token (64 bits).
pub const KEYED_HASH_HEX_LEN: usize = 16;

/// Longest custom pattern name.
pub const MAX_CUSTOM_NAME_LEN: usize = 32;

const VERSION_TEXT: &([u8; 11], usize) = &{
    let v = unicode_normalization::UNICODE_VERSION;
    let parts = [v.0, v.1, v.2];
    let mut buf = [0u8; 11];
    let mut n = 0;
    let mut i = 0;
    while i < 3 {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        let x = parts[i];
        if x >= 100 {
            buf[n] = b'0' + x / 100;
            n += 1;
        }
        if x >= 10 {
            buf[n] = b'0' + (x / 10) % 10;
            n += 1;
        }
        buf[n] = b'0' + x % 10;
        n += 1;
        i += 1;
    }
    (buf, n)
};

/// Unicode version of the NFKC tables used by [`normalize`], as
/// `major.minor.patch` (derived from `unicode_normalization::UNICODE_VERSION`).
/// Receipts record it, because NFKC output can change between versions.
pub const UNICODE_VERSION: &str =
    match std::str::from_utf8(VERSION_TEXT.0.split_at(VERSION_TEXT.1).0) {
        Ok(s) => s,
        Err(_) => "",
    };

/// Unicode NFKC of `text` (step 1 of the algorithm).
pub fn normalize(text: &str) -> String {
    // Fast path: the NFKC quick check answers "yes" for most text without
    // decomposing anything.
    if is_nfkc(text) {
        text.to_owned()
    } else {
        text.nfkc().collect()
    }
}

/// Whether `text` certainly is NFKC already: ASCII text always is (NFKC
/// maps every ASCII character to itself), otherwise the quick check decides.
fn is_nfkc(text: &str) -> bool {
    text.is_ascii() || is_nfkc_quick(text.chars()) == IsNormalized::Yes
}

/// How a stripped value is written into the output text.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PiiMode {
    /// The category token alone: `[EMAIL]`, `[CARD]`, `[CUSTOM:EMPLOYEE_ID]`.
    #[default]
    Redact,
    /// The token with the first 16 hex digits of
    /// `HMAC-SHA256(key, PII_HASH_LABEL || value)`, e.g. `[EMAIL:3f2a…]` (16
    /// hex digits), where `value` is the exact matched text after NFKC (no
    /// case folding). Equal values link within one key (tenant); without the
    /// key a value cannot be confirmed by guessing. Needs a [`CommitmentKey`].
    KeyedHash,
    /// A partial hint: `email` keeps the first character of the local part
    /// and the domain (`j***@example.com`); `payment_card` keeps the last 4
    /// digits (`************1111`, one `*` per other digit, separators
    /// dropped); `phone` keeps the last 2 digits (`********67`, likewise).
    /// Every other category is written as its Redact token.
    Mask,
}

/// The stripped text and what was stripped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stripped {
    /// NFKC text with every detected value replaced per the [`PiiMode`].
    pub text: String,
    /// Counts per category.
    pub report: PiiReport,
}

/// Errors of PII policy building and stripping. Messages never contain
/// matched text or custom pattern sources.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PiiError {
    /// A custom pattern name is not 1–32 characters of `[a-z0-9_]`, or is already used.
    #[error("invalid custom PII pattern name {name:?}: {reason}")]
    InvalidCustomName {
        /// The name given (at most 40 characters of it).
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A pattern does not compile. The pattern text is deliberately not
    /// included: it may itself contain personal data.
    #[error("PII pattern `{name}` does not compile: {reason}")]
    InvalidRegex {
        /// The custom name, or the built-in pattern id.
        name: String,
        /// Why, without the pattern text.
        reason: &'static str,
    },
    /// [`PiiMode::KeyedHash`] was asked for without a commitment key.
    #[error("keyed-hash PII mode needs the tenant commitment key")]
    MissingKey,
    /// A category name is not one of the stable names.
    #[error("unknown PII category name")]
    UnknownCategory,
}

/// A set of detectors and a mode: build once, share across threads
/// (`Send + Sync`; regexes are compiled once and shared by clones).
#[derive(Clone)]
pub struct PiiPolicy {
    mode: PiiMode,
    /// Kept in rank order; the index is the step-5 tie-break.
    patterns: Vec<Pattern>,
    /// A one-pass filter over every regex of `patterns`, built on first use
    /// (shared by clones; reset whenever `patterns` changes).
    prefilter: Arc<OnceLock<Option<Prefilter>>>,
}

/// Which patterns can match the text at all, in one pass: a round skips the
/// patterns that cannot. Used when the byte summary ([`TextBytes`]) leaves
/// more than [`DIRECT_SCAN_MAX`] patterns possible. Purely an optimisation —
/// the result is identical (pinned by the determinism tests).
struct Prefilter {
    set: RegexSet,
    /// For each pattern, its index in `set` (`None`: not a regex, always scanned).
    index: Vec<Option<usize>>,
}

impl fmt::Debug for PiiPolicy {
    // Pattern sources are not printed: custom ones may contain personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PiiPolicy")
            .field("mode", &self.mode)
            .field(
                "categories",
                &self
                    .categories()
                    .iter()
                    .map(PiiCategory::name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for PiiPolicy {
    /// All built-in detectors, [`PiiMode::Redact`].
    ///
    /// # Panics
    /// Only if a built-in pattern literal failed to compile, which the unit
    /// test `builtin_literals_compile` rules out. Use
    /// [`PiiPolicy::try_default`] to get an error instead.
    #[allow(clippy::expect_used)]
    fn default() -> Self {
        PiiPolicy::try_default().expect("built-in PII patterns compile")
    }
}

impl PiiPolicy {
    /// All built-in detectors, [`PiiMode::Redact`]. The built-in regexes are
    /// compiled on the first call in a process and shared afterwards.
    ///
    /// # Errors
    /// [`PiiError::InvalidRegex`] if a built-in pattern failed to compile.
    pub fn try_default() -> Result<PiiPolicy, PiiError> {
        Ok(PiiPolicy {
            mode: PiiMode::Redact,
            patterns: detect::builtins()?.to_vec(),
            prefilter: Arc::default(),
        })
    }

    /// No detectors at all (add custom ones with [`PiiPolicy::with_custom`]).
    pub fn empty() -> PiiPolicy {
        PiiPolicy {
            mode: PiiMode::Redact,
            patterns: Vec::new(),
            prefilter: Arc::default(),
        }
    }

    /// The same policy in another mode.
    pub fn with_mode(mut self, mode: PiiMode) -> PiiPolicy {
        self.mode = mode;
        self
    }

    /// Adds a custom detector `custom:<name>` with token `[CUSTOM:<NAME>]`.
    /// It ranks after secrets and before every other built-in; among custom
    /// detectors, the one added first wins ties. If the regex has a capture
    /// group named `span`, only that group is stripped (e.g.
    /// `Customer ID: (?P<span>\d+)`). Empty matches are ignored.
    ///
    /// # Errors
    /// [`PiiError::InvalidCustomName`] for a bad or already used name;
    /// [`PiiError::InvalidRegex`] if `regex` does not compile.
    pub fn with_custom(mut self, name: &str, regex: &str) -> Result<PiiPolicy, PiiError> {
        let category = PiiCategory::custom(name)?;
        if self.patterns.iter().any(|p| p.category == category) {
            return Err(PiiError::InvalidCustomName {
                name: name.to_owned(),
                reason: "already used in this policy",
            });
        }
        let finder = detect::compile(name, regex)?;
        let at = self
            .patterns
            .iter()
            .position(|p| p.category.rank() > category.rank())
            .unwrap_or(self.patterns.len());
        self.prefilter = Arc::default();
        self.patterns.insert(
            at,
            Pattern {
                category,
                finder,
                check: detect::Check::None,
                needs: detect::Needs::NOTHING,
            },
        );
        Ok(self)
    }

    /// The same policy without any detector of `category`.
    pub fn without(mut self, category: PiiCategory) -> PiiPolicy {
        self.patterns.retain(|p| p.category != category);
        self.prefilter = Arc::default();
        self
    }

    /// The mode.
    pub fn mode(&self) -> PiiMode {
        self.mode
    }

    /// The enabled categories, in priority order.
    pub fn categories(&self) -> Vec<PiiCategory> {
        let mut out: Vec<PiiCategory> = Vec::new();
        for p in &self.patterns {
            if !out.contains(&p.category) {
                out.push(p.category.clone());
            }
        }
        out
    }

    /// NFKC-normalises `raw`, then strips it (the whole algorithm).
    ///
    /// # Errors
    /// As [`PiiPolicy::strip`].
    pub fn normalize_and_strip(
        &self,
        raw: &str,
        key: Option<&CommitmentKey>,
    ) -> Result<Stripped, PiiError> {
        // `strip` normalises unless the NFKC quick check proves `raw` already is.
        self.strip(raw, key)
    }

    /// Strips NFKC text (steps 2–8). If `normalized` is not NFKC after all
    /// (by the NFKC quick check), it is normalised first, so raw text can
    /// never slip through un-normalised.
    ///
    /// # Errors
    /// [`PiiError::MissingKey`] in [`PiiMode::KeyedHash`] without `key`.
    pub fn strip(
        &self,
        normalized: &str,
        key: Option<&CommitmentKey>,
    ) -> Result<Stripped, PiiError> {
        if is_nfkc(normalized) {
            self.strip_nfkc(normalized, key)
        } else {
            self.strip_nfkc(&normalize(normalized), key)
        }
    }

    fn strip_nfkc(&self, text: &str, key: Option<&CommitmentKey>) -> Result<Stripped, PiiError> {
        let key = match (self.mode, key) {
            (PiiMode::KeyedHash, None) => return Err(PiiError::MissingKey),
            (_, k) => k,
        };
        let segs = self.segments(text);
        if segs.is_empty() {
            // Nothing found: the text is its own output.
            return Ok(Stripped {
                text: text.to_owned(),
                report: PiiReport::new(),
            });
        }
        let mut out = String::with_capacity(text.len());
        let mut report = PiiReport::new();
        for seg in &segs {
            let value = &text[seg.orig.clone()];
            match seg.hit {
                None => out.push_str(value),
                Some(p) => {
                    let cat = &self.patterns[p].category;
                    report.add(cat, 1);
                    render(self.mode, cat, value, key, &mut out);
                }
            }
        }
        Ok(Stripped { text: out, report })
    }

    fn prefilter(&self) -> Option<&Prefilter> {
        self.prefilter
            .get_or_init(|| {
                let mut sources = Vec::new();
                let index = self
                    .patterns
                    .iter()
                    .map(|p| {
                        p.regex_source().map(|src| {
                            sources.push(src.to_owned());
                            sources.len() - 1
                        })
                    })
                    .collect();
                RegexSet::new(&sources)
                    .ok()
                    .map(|set| Prefilter { set, index })
            })
            .as_ref()
    }

    /// Steps 2–6: the final segments of `text`; none (no allocation) when
    /// nothing was found, meaning `text` is one open segment.
    fn segments(&self, text: &str) -> Vec<Seg> {
        let mut segs: Vec<Seg> = Vec::new();
        let mut cands: Vec<Candidate> = Vec::new();
        let mut buf = String::new();
        let mut open_buf: Vec<(usize, usize)> = Vec::new();
        let whole = [(0, text.len())];
        for round in 0..MAX_ROUNDS {
            // Step 2: the working text, and where each open segment lies in
            // it. In the first round that is `text` itself, as one segment.
            let (work, open): (&str, &[(usize, usize)]) = if round == 0 {
                (text, &whole)
            } else {
                buf.clear();
                buf.reserve(text.len() + 16);
                open_buf.clear();
                for s in &segs {
                    match s.hit {
                        None => {
                            let ws = buf.len();
                            buf.push_str(&text[s.orig.clone()]);
                            open_buf.push((ws, buf.len()));
                        }
                        Some(p) => {
                            buf.push('[');
                            buf.push_str(&self.patterns[p].category.token_label());
                            buf.push(']');
                        }
                    }
                }
                (&buf, &open_buf)
            };
            // Step 3–4.
            cands.clear();
            // A pattern that matches nowhere in the working text cannot match
            // in one of its open segments either: a segment's haystack is a
            // prefix of the working text, and what follows a segment is a
            // token starting with `[` (a non-word character), so `\b` at the
            // segment's end means the same in both. First the bytes a match
            // needs; then, if many patterns remain, one regex-set pass.
            let bytes = TextBytes::of(work);
            let remaining = self
                .patterns
                .iter()
                .filter(|p| p.needs.met_by(bytes))
                .count();
            let possible = if remaining > DIRECT_SCAN_MAX {
                self.prefilter().map(|pf| (pf, pf.set.matches(work)))
            } else {
                None
            };
            for (i, p) in self.patterns.iter().enumerate() {
                if !p.needs.met_by(bytes) {
                    continue;
                }
                if let Some((pf, m)) = &possible {
                    if let Some(Some(k)) = pf.index.get(i) {
                        if !m.matched(*k) {
                            continue;
                        }
                    }
                }
                let rank = p.category.rank();
                for &(ws, we) in open.iter().filter(|(ws, we)| ws < we) {
                    p.scan(work, ws, we, rank, i, &mut cands);
                }
            }
            // Step 5.
            let accepted = resolve(&mut cands);
            if accepted.is_empty() {
                break;
            }
            // Step 6: split the open segments at the accepted spans.
            if segs.is_empty() {
                segs.push(Seg {
                    orig: 0..text.len(),
                    hit: None,
                });
            }
            let mut next = Vec::with_capacity(segs.len() + 2 * accepted.len());
            let mut acc = accepted.iter().peekable();
            let mut open_iter = open.iter();
            for s in segs {
                if s.hit.is_some() {
                    next.push(s);
                    continue;
                }
                let Some(&(ws, we)) = open_iter.next() else {
                    next.push(s);
                    continue;
                };
                let mut cursor = s.orig.start;
                while let Some(c) = acc.next_if(|c| c.start >= ws && c.end <= we) {
                    let a = s.orig.start + (c.start - ws);
                    let b = s.orig.start + (c.end - ws);
                    if cursor < a {
                        next.push(Seg {
                            orig: cursor..a,
                            hit: None,
                        });
                    }
                    next.push(Seg {
                        orig: a..b,
                        hit: Some(c.pattern),
                    });
                    cursor = b;
                }
                if cursor < s.orig.end {
                    next.push(Seg {
                        orig: cursor..s.orig.end,
                        hit: None,
                    });
                }
            }
            segs = next;
        }
        segs
    }
}

/// A piece of the NFKC text: open (`hit: None`) or stripped by a pattern.
struct Seg {
    orig: Range<usize>,
    hit: Option<usize>,
}

/// Step 5: the accepted candidates, sorted by start.
fn resolve(cands: &mut [Candidate]) -> Vec<Candidate> {
    cands.sort_unstable_by_key(|c| {
        (
            c.rank,
            c.start,
            std::cmp::Reverse(c.end - c.start),
            c.pattern,
        )
    });
    // Kept sorted by start (few entries: a sorted vector beats a tree).
    let mut accepted: Vec<Candidate> = Vec::new();
    for c in cands.iter() {
        // Accepted spans are disjoint, so only the last one starting before
        // `c.end` can overlap `c`.
        let at = accepted.partition_point(|a| a.start < c.end);
        let overlaps = at
            .checked_sub(1)
            .and_then(|i| accepted.get(i))
            .is_some_and(|a| a.end > c.start);
        if !overlaps {
            let pos = accepted.partition_point(|a| a.start < c.start);
            accepted.insert(pos, *c);
        }
    }
    accepted
}

/// Step 7 for one stripped value.
fn render(
    mode: PiiMode,
    cat: &PiiCategory,
    value: &str,
    key: Option<&CommitmentKey>,
    out: &mut String,
) {
    match (mode, key) {
        (PiiMode::KeyedHash, Some(k)) => {
            let mac = k.mac(PII_HASH_LABEL, value.as_bytes()).to_hex();
            out.push('[');
            out.push_str(&cat.token_label());
            out.push(':');
            out.push_str(&mac[..KEYED_HASH_HEX_LEN]);
            out.push(']');
        }
        (PiiMode::Mask, _) => match cat {
            PiiCategory::Email => match value.split_once('@') {
                Some((local, domain)) => {
                    out.extend(local.chars().next());
                    out.push_str("***@");
                    out.push_str(domain);
                }
                None => push_token(cat, out),
            },
            PiiCategory::PaymentCard => mask_digits(value, 4, out),
            PiiCategory::Phone => mask_digits(value, 2, out),
            _ => push_token(cat, out),
        },
        _ => push_token(cat, out),
    }
}

/// Appends [`PiiCategory::token`] without building it as a string first.
fn push_token(cat: &PiiCategory, out: &mut String) {
    out.push('[');
    out.push_str(&cat.token_label());
    out.push(']');
}

/// One `*` per ASCII digit of `value` except the last `keep`, then those digits.
fn mask_digits(value: &str, keep: usize, out: &mut String) {
    let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
    let cut = digits.len().saturating_sub(keep);
    out.extend(std::iter::repeat_n('*', cut));
    out.extend(&digits[cut..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(t: &str) -> String {
        PiiPolicy::default().strip(t, None).unwrap().text
    }

    #[test]
    fn unicode_version_is_derived_and_pinned() {
        let (a, b, c) = unicode_normalization::UNICODE_VERSION;
        assert_eq!(UNICODE_VERSION, format!("{a}.{b}.{c}"));
        // Pinned: a dependency bump that changes the NFKC tables must be noticed.
        assert_eq!(UNICODE_VERSION, "18.0.0");
    }

    #[test]
    fn policy_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<PiiPolicy>();
        check::<Stripped>();
    }

    #[test]
    fn resolve_prefers_rank_then_start_then_length() {
        let c = |rank, start, end, pattern| Candidate {
            rank,
            start,
            end,
            pattern,
        };
        let mut v = vec![
            c(8, 0, 10, 9),
            c(0, 5, 8, 0),
            c(2, 9, 20, 3),
            c(2, 9, 15, 2),
            c(8, 20, 25, 9),
        ];
        let got = resolve(&mut v);
        assert_eq!(got, vec![c(0, 5, 8, 0), c(2, 9, 20, 3), c(8, 20, 25, 9)]);
    }

    #[test]
    fn secret_outranks_a_card_inside_it() {
        // The secret wins the overlap with the card-shaped run; nothing of
        // the key is left for a later round to find.
        assert_eq!(strip("k=sk-4111111111111111abcdefgh end"), "k=[SECRET] end");
    }

    #[test]
    fn category_order_and_names() {
        let mut v: Vec<PiiCategory> = PiiCategory::BUILT_IN.to_vec();
        v.push(PiiCategory::custom("zz").unwrap());
        v.sort();
        let names: Vec<_> = v.iter().map(|c| c.name().into_owned()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        for c in &v {
            assert_eq!(&c.name().parse::<PiiCategory>().unwrap(), c);
        }
        assert_eq!(
            PiiCategory::custom("emp_id").unwrap().token(),
            "[CUSTOM:EMP_ID]"
        );
    }

    #[test]
    fn mask_digits_counts() {
        let mut s = String::new();
        mask_digits("4111-1111-1111-1111", 4, &mut s);
        assert_eq!(s, "************1111");
    }
}
