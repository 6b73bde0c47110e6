//! The direct reader of canonical decision bodies: the inverse of the
//! direct writer in [`super`], used by `Body::from_known_canonical` (which
//! keeps the receipt) and `Body::check_known_canonical` (which only needs
//! to know that the body is accepted).
//!
//! One grammar ([`read`]) hands each value it reads to a [`Sink`]:
//! [`Build`] keeps it in a receipt, [`Rules`] checks it against the rules
//! of [`DecisionReceipt::check_rules`] and drops it, so that a body is
//! checked without building its strings and lists.

use std::borrow::Cow;

use super::{
    pii_is_counted, text_fits, unicode_is_well_formed, write_array, write_sealed, Action, Check,
    DecisionReceipt, Finite, Metrics, ModelRef, PiiCount,
};
use crate::encoding;
use crate::hash::Hash32;
use crate::id::{Code, EntryId, ExternalId};
use crate::provenance::{Provenance, MAX_PROVENANCE};
use crate::shred::SealedField;

impl DecisionReceipt {
    /// Reads back exactly what [`DecisionReceipt::write_canonical`] writes:
    /// the members in the writer's order, each value in the writer's form,
    /// and nothing else. `Some(r)` only when writing `r` gives `bytes`
    /// (every step below accepts only bytes its writer counterpart produces
    /// for the value it returns), so the typed decode of `bytes` is `r`
    /// too and the "one record, one encoding" comparison holds without
    /// re-encoding. `None` for anything else: not a rejection, the caller
    /// then takes the full path, which gives the verdict and its error.
    /// The rules ([`DecisionReceipt::check_rules`]) are not checked here.
    pub(crate) fn read_canonical(bytes: &[u8]) -> Option<DecisionReceipt> {
        let mut build = Build::new();
        read(bytes, &mut build)?;
        Some(build.0)
    }

    /// Whether [`DecisionReceipt::read_canonical`] reads `bytes` as a
    /// receipt that keeps [`DecisionReceipt::check_rules`], found by the
    /// same reader without building the receipt. `false` is not a
    /// rejection: the caller then takes the full path, as for `None`.
    pub(crate) fn check_canonical(bytes: &[u8]) -> bool {
        read(bytes, &mut Rules::default()).is_some()
    }
}

/// One value of a decision body, as [`read`] hands it to a [`Sink`]: in
/// the writer's form, texts unescaped but not yet checked as the
/// [`Code`] or [`ExternalId`] their member holds (the sink does that).
enum Part<'a> {
    Action(Action),
    Check(CheckPart<'a>),
    Input(Hash32),
    Metrics(Metrics),
    Model(Option<Hash32>, Cow<'a, str>),
    Output(Hash32),
    Parent(EntryId),
    Pii(Cow<'a, str>, u32),
    Provenance(Vec<Provenance>),
    Reason(Cow<'a, str>),
    Sealed(Vec<SealedField>),
    SessionId(Cow<'a, str>),
    State(Hash32),
    Tag(Cow<'a, str>),
    TraceId(Cow<'a, str>),
    Unicode(Cow<'a, str>),
}

/// A [`Check`] as read: its name and version not yet checked as codes.
struct CheckPart<'a> {
    detail: Option<Cow<'a, str>>,
    fired: bool,
    name: Cow<'a, str>,
    score: Option<Finite>,
    threshold: Option<Finite>,
    version: Cow<'a, str>,
}

/// What [`read`] does with the values it reads.
trait Sink<'a> {
    /// Takes the next value; `None` refuses the body.
    fn take(&mut self, part: Part<'a>) -> Option<()>;
}

/// Keeps what is read as a receipt. It starts empty; [`read`] succeeds
/// only after handing over every required member (`action`, `input`,
/// `unicode`), which replaces the placeholder.
struct Build(DecisionReceipt);

impl Build {
    fn new() -> Build {
        Build(DecisionReceipt {
            action: Action::Allow,
            checks: Vec::new(),
            input: Hash32::ZERO,
            metrics: Metrics::default(),
            model: None,
            output: None,
            parents: Vec::new(),
            pii: Vec::new(),
            provenance: Vec::new(),
            reasons: Vec::new(),
            sealed: Vec::new(),
            session_id: None,
            state: None,
            tags: Vec::new(),
            trace_id: None,
            unicode: String::new(),
        })
    }
}

impl<'a> Sink<'a> for Build {
    fn take(&mut self, part: Part<'a>) -> Option<()> {
        let r = &mut self.0;
        match part {
            Part::Action(a) => r.action = a,
            Part::Check(c) => {
                let CheckPart {
                    detail,
                    fired,
                    name,
                    score,
                    threshold,
                    version,
                } = c;
                r.checks.push(Check {
                    detail: detail.map(Cow::into_owned),
                    fired,
                    name: Code::new(name).ok()?,
                    score,
                    threshold,
                    version: Code::new(version).ok()?,
                });
            }
            Part::Input(h) => r.input = h,
            Part::Metrics(m) => r.metrics = m,
            Part::Model(config, id) => {
                r.model = Some(ModelRef {
                    config,
                    id: ExternalId::new(id).ok()?,
                });
            }
            Part::Output(h) => r.output = Some(h),
            Part::Parent(p) => r.parents.push(p),
            Part::Pii(category, count) => r.pii.push(PiiCount {
                category: category.into_owned(),
                count,
            }),
            Part::Provenance(p) => r.provenance = p,
            Part::Reason(c) => r.reasons.push(Code::new(c).ok()?),
            Part::Sealed(s) => r.sealed = s,
            Part::SessionId(id) => r.session_id = Some(ExternalId::new(id).ok()?),
            Part::State(h) => r.state = Some(h),
            Part::Tag(c) => r.tags.push(Code::new(c).ok()?),
            Part::TraceId(id) => r.trace_id = Some(ExternalId::new(id).ok()?),
            Part::Unicode(u) => r.unicode = u.into_owned(),
        }
        Some(())
    }
}

/// Checks what is read as [`Build`] and then [`DecisionReceipt::check_rules`]
/// would, and keeps nothing but the last PII category (the categories
/// must ascend).
#[derive(Default)]
struct Rules<'a> {
    last_category: Option<Cow<'a, str>>,
}

impl<'a> Sink<'a> for Rules<'a> {
    fn take(&mut self, part: Part<'a>) -> Option<()> {
        let ok = match part {
            Part::Action(_)
            | Part::Input(_)
            | Part::Metrics(_)
            | Part::Output(_)
            | Part::Parent(_)
            | Part::State(_) => true,
            Part::Check(c) => {
                Code::validate(&c.name).is_ok()
                    && Code::validate(&c.version).is_ok()
                    && c.detail.is_none_or(|d| text_fits(&d))
            }
            Part::Model(_, id) | Part::SessionId(id) | Part::TraceId(id) => {
                ExternalId::validate(&id).is_ok()
            }
            Part::Pii(category, count) => {
                let ascends = self
                    .last_category
                    .as_ref()
                    .is_none_or(|last| **last < *category);
                let ok = pii_is_counted(&category, count) && ascends;
                self.last_category = Some(category);
                ok
            }
            Part::Provenance(p) => p.len() <= MAX_PROVENANCE,
            Part::Reason(c) | Part::Tag(c) => Code::validate(&c).is_ok(),
            Part::Sealed(s) => crate::shred::check_sealed_rules(&s).is_ok(),
            Part::Unicode(u) => unicode_is_well_formed(&u),
        };
        ok.then_some(())
    }
}

/// Reads `bytes` as the writer's form of a receipt, handing each value to
/// `sink` as it comes; `None` for anything else or when `sink` refuses.
fn read<'a>(bytes: &'a [u8], sink: &mut impl Sink<'a>) -> Option<()> {
    // One UTF-8 check for the whole body; every piece is then a `str`.
    let mut r = Reader {
        rest: std::str::from_utf8(bytes).ok()?,
    };
    r.lit("{\"action\":")?;
    sink.take(Part::Action(r.action()?))?;
    r.list(",\"checks\":", |r| sink.take(Part::Check(r.check()?)))?;
    r.lit(",\"input\":")?;
    sink.take(Part::Input(r.hash()?))?;
    r.optional(",\"metrics\":", |r| sink.take(Part::Metrics(r.metrics()?)))?;
    r.optional(",\"model\":{", |r| {
        let config = r.maybe("\"config\":", |r| {
            let c = r.hash()?;
            r.lit(",")?;
            Some(c)
        })?;
        r.lit("\"id\":")?;
        let id = r.text()?;
        r.lit("}")?;
        sink.take(Part::Model(config, id))
    })?;
    r.optional(",\"output\":", |r| sink.take(Part::Output(r.hash()?)))?;
    r.list(",\"parents\":", |r| {
        r.lit("\"")?;
        let id = crate::hash::decode_lower_hex(r.take(32)?.as_bytes())?;
        r.lit("\"")?;
        sink.take(Part::Parent(EntryId(id)))
    })?;
    r.list(",\"pii\":", |r| {
        r.lit("{\"category\":")?;
        let category = r.text()?;
        r.lit(",\"count\":")?;
        let count = u32::try_from(r.integer()?).ok()?;
        r.lit("}")?;
        sink.take(Part::Pii(category, count))
    })?;
    // Provenance and sealed fields are rare: their array is decoded by
    // serde and must be exactly what the writer writes for the result.
    r.optional(",\"provenance\":", |r| {
        let text = r.array_text()?;
        let p: Vec<Provenance> = serde_json::from_str(text).ok()?;
        let same = encoding::to_canonical_record(&p).ok()?;
        (!p.is_empty() && same == text.as_bytes()).then_some(())?;
        sink.take(Part::Provenance(p))
    })?;
    r.list(",\"reasons\":", |r| sink.take(Part::Reason(r.text()?)))?;
    r.optional(",\"sealed\":", |r| {
        let text = r.array_text()?;
        let s: Vec<SealedField> = serde_json::from_str(text).ok()?;
        let mut same = Vec::with_capacity(text.len());
        write_array(&mut same, &s, write_sealed).ok()?;
        (!s.is_empty() && same == text.as_bytes()).then_some(())?;
        sink.take(Part::Sealed(s))
    })?;
    r.optional(",\"session_id\":", |r| {
        sink.take(Part::SessionId(r.text()?))
    })?;
    r.optional(",\"state\":", |r| sink.take(Part::State(r.hash()?)))?;
    r.list(",\"tags\":", |r| sink.take(Part::Tag(r.text()?)))?;
    r.optional(",\"trace_id\":", |r| sink.take(Part::TraceId(r.text()?)))?;
    r.lit(",\"unicode\":")?;
    sink.take(Part::Unicode(r.text()?))?;
    r.lit("}")?;
    r.rest.is_empty().then_some(())
}

/// The inverse of the direct writers above, over the text not yet read.
/// Each method consumes the writer's form of one value and returns that
/// value, or `None` for text the writer would not produce.
struct Reader<'a> {
    rest: &'a str,
}

impl<'a> Reader<'a> {
    /// Consumes exactly `s`.
    fn lit(&mut self, s: &str) -> Option<()> {
        self.rest = self.rest.strip_prefix(s)?;
        Some(())
    }

    /// Consumes `key` (a member's literal lead-in) if it comes next.
    fn member(&mut self, key: &str) -> bool {
        self.lit(key).is_some()
    }

    /// The next `n` bytes (`None` if that is not a whole number of characters).
    fn take(&mut self, n: usize) -> Option<&'a str> {
        let (head, tail) = self.rest.split_at_checked(n)?;
        self.rest = tail;
        Some(head)
    }

    /// The text up to the first byte for which `stop` holds (or the end).
    fn take_until(&mut self, stop: impl Fn(u8) -> bool) -> Option<&'a str> {
        let n = self.rest.bytes().position(stop).unwrap_or(self.rest.len());
        self.take(n)
    }

    /// An optional value: written after `key` only when present, then
    /// read by `item`; `Some(None)` when absent, `None` when present but
    /// refused.
    fn maybe<T>(
        &mut self,
        key: &str,
        item: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<Option<T>> {
        if self.member(key) {
            item(self).map(Some)
        } else {
            Some(None)
        }
    }

    /// [`Reader::maybe`] for a value `item` hands on itself.
    fn optional(&mut self, key: &str, item: impl FnOnce(&mut Self) -> Option<()>) -> Option<()> {
        self.maybe(key, item).map(|_| ())
    }

    /// A list: written after `key` only when not empty, as [`write_array`]
    /// writes it (`[a,b,…]`), each item read by `item`.
    fn list(&mut self, key: &str, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if !self.member(key) {
            return Some(());
        }
        self.lit("[")?;
        loop {
            item(self)?;
            if !self.member(",") {
                return self.lit("]");
            }
        }
    }

    /// The text of the JSON array that comes next, brackets included, for
    /// a decoder that checks it (its end is found by nesting, skipping
    /// strings; a wrong guess on broken text fails that check).
    fn array_text(&mut self) -> Option<&'a str> {
        if !self.rest.starts_with('[') {
            return None;
        }
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        for (i, b) in self.rest.bytes().enumerate() {
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => depth += 1,
                b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return self.take(i + 1);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// A string as [`encoding::write_string`] writes it: characters other
    /// than `"`, `\` and C0 controls as they are; those by their one
    /// escape each (`\"`, `\\`, `\b \t \n \f \r`, else `\u00xx` in lower
    /// case). Borrowed from the body unless it has an escape.
    fn text(&mut self) -> Option<Cow<'a, str>> {
        let special = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
        self.lit("\"")?;
        let head = self.take_until(special)?;
        if self.member("\"") {
            return Some(Cow::Borrowed(head));
        }
        let mut out = String::from(head);
        loop {
            let c = match self.take(2)? {
                "\\\"" => '"',
                "\\\\" => '\\',
                "\\b" => '\u{8}',
                "\\t" => '\t',
                "\\n" => '\n',
                "\\f" => '\u{c}',
                "\\r" => '\r',
                "\\u" => {
                    self.lit("00")?;
                    let [c] = crate::hash::decode_lower_hex::<1>(self.take(2)?.as_bytes())?;
                    // Below 0x20, and not one with a short form.
                    if c >= 0x20 || matches!(c, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                        return None;
                    }
                    char::from(c)
                }
                _ => return None,
            };
            out.push(c);
            out.push_str(self.take_until(special)?);
            if self.member("\"") {
                return Some(Cow::Owned(out));
            }
        }
    }

    /// A [`Hash32`]: 64 lowercase hex digits in quotes.
    fn hash(&mut self) -> Option<Hash32> {
        self.lit("\"")?;
        let h = crate::hash::decode_lower_hex(self.take(64)?.as_bytes())?;
        self.lit("\"")?;
        Some(Hash32(h))
    }

    /// An [`Action`] by its wire name.
    fn action(&mut self) -> Option<Action> {
        self.lit("\"")?;
        let name = self.take_until(|b| b == b'"')?;
        self.lit("\"")?;
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// A non-negative integer as [`encoding::write_u64_unchecked`] writes
    /// it: decimal digits, no leading zero (except `0` itself).
    fn integer(&mut self) -> Option<u64> {
        let digits = self.take_until(|b| !b.is_ascii_digit())?;
        if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        digits.bytes().try_fold(0u64, |v, d| {
            v.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
    }

    /// A [`Metrics`] object that is not empty, as [`Metrics::write_canonical`]
    /// writes it (each integer at most 2^53).
    fn metrics(&mut self) -> Option<Metrics> {
        let mut m = Metrics::default();
        self.lit("{")?;
        let mut members = 0;
        for (key, slot) in [
            ("\"cost_micros\":", &mut m.cost_micros),
            ("\"input_tokens\":", &mut m.input_tokens),
            ("\"latency_ms\":", &mut m.latency_ms),
            ("\"output_tokens\":", &mut m.output_tokens),
        ] {
            let mut r = Reader { rest: self.rest };
            if members > 0 && !r.member(",") {
                continue;
            }
            if r.member(key) {
                let v = r.integer()?;
                if v > encoding::MAX_SAFE_INTEGER {
                    return None;
                }
                *slot = Some(v);
                members += 1;
                self.rest = r.rest;
            }
        }
        self.lit("}")?;
        (members > 0).then_some(m)
    }

    /// A number as [`encoding::write_f64`] writes a [`Finite`]: the token
    /// is parsed, and must be what writing the parsed value gives (known
    /// without writing it for a short plain decimal, see
    /// [`is_short_plain_decimal`]).
    fn finite(&mut self) -> Option<Finite> {
        let token = self.take_until(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e'))?;
        let x = Finite::new(token.parse::<f64>().ok()?).ok()?;
        if is_short_plain_decimal(token) {
            return Some(x);
        }
        let mut again = Vec::with_capacity(24);
        encoding::write_f64(&mut again, x.get(), "").ok()?;
        (again == token.as_bytes()).then_some(x)
    }

    /// A [`Check`], as [`Check::write_canonical`] writes it.
    fn check(&mut self) -> Option<CheckPart<'a>> {
        self.lit("{")?;
        let detail = self.maybe("\"detail\":", |r| {
            let d = r.text()?;
            r.lit(",")?;
            Some(d)
        })?;
        self.lit("\"fired\":")?;
        let fired = if self.member("true") {
            true
        } else {
            self.lit("false")?;
            false
        };
        self.lit(",\"name\":")?;
        let name = self.text()?;
        let score = self.maybe(",\"score\":", Self::finite)?;
        let threshold = self.maybe(",\"threshold\":", Self::finite)?;
        self.lit(",\"version\":")?;
        let version = self.text()?;
        self.lit("}")?;
        Some(CheckPart {
            detail,
            fired,
            name,
            score,
            threshold,
            version,
        })
    }
}

/// Whether `token` is, as it stands, what [`encoding::write_f64`] writes
/// for the double nearest to it, for plain decimals of at most 15
/// significant digits: `0`, or an optional `-`, an integer part without
/// leading zeros, and a fraction (if any) that does not end in `0`, with
/// at most five zeros between the point and the first significant digit
/// when the integer part is `0` (so the value is at least 1e-6).
///
/// Why: ECMAScript prints a number (RFC 8785 §3.2.2.3) as its shortest
/// round-tripping digits, in this plain form when its decimal exponent `n`
/// has -6 < n ≤ 21 (|x| < 1e21 holds for any [`Finite`]). Distinct
/// decimals of at most 15 significant digits never round to the same
/// double (DBL_DIG = 15; the values here are normal), so the shortest
/// digits of the double nearest to such a token are the token's own, and
/// the plain form of them is the token. Tested against the printer.
fn is_short_plain_decimal(token: &str) -> bool {
    if token == "0" {
        return true;
    }
    let unsigned = token.strip_prefix('-').unwrap_or(token);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) {
        return false;
    }
    if unsigned.contains('.') && (frac.is_empty() || frac.ends_with('0')) {
        return false;
    }
    let significant = if int == "0" {
        let zeros = frac.len() - frac.trim_start_matches('0').len();
        if frac.is_empty() || zeros > 5 {
            return false;
        }
        frac.len() - zeros
    } else if int.starts_with('0') {
        return false;
    } else if frac.is_empty() {
        int.trim_end_matches('0').len()
    } else {
        int.len() + frac.len()
    };
    significant <= 15
}

#[cfg(test)]
mod tests;
