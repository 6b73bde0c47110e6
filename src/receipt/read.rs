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
        let config = if r.member("\"config\":") {
            let c = r.hash()?;
            r.lit(",")?;
            Some(c)
        } else {
            None
        };
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
    /// read by `item`.
    fn optional(&mut self, key: &str, item: impl FnOnce(&mut Self) -> Option<()>) -> Option<()> {
        if self.member(key) {
            item(self)
        } else {
            Some(())
        }
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
        let detail = if self.member("\"detail\":") {
            let d = self.text()?;
            self.lit(",")?;
            Some(d)
        } else {
            None
        };
        self.lit("\"fired\":")?;
        let fired = if self.member("true") {
            true
        } else {
            self.lit("false")?;
            false
        };
        self.lit(",\"name\":")?;
        let name = self.text()?;
        let score = if self.member(",\"score\":") {
            Some(self.finite()?)
        } else {
            None
        };
        let threshold = if self.member(",\"threshold\":") {
            Some(self.finite()?)
        } else {
            None
        };
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
mod tests {
    use super::*;
    use crate::receipt::tests::{finite, full, receipt};
    use proptest::prelude::*;

    // The direct reader (`read_canonical`, via `Body::from_known_canonical`)
    // against the path it replaces (`Body::from_known_canonical_reencoded`).

    use crate::body::{Body, EntryKind};
    use serde_json::{json, Value};

    /// The new and the old decoding of `bytes` agree: the same body (also
    /// by its Debug text, which tells -0.0 from 0.0) or the same error.
    /// Whenever the direct reader returns a receipt, its canonical form is
    /// `bytes`. The check-only path gives the old path's answer (no key,
    /// or the same error), and checks without building exactly what the
    /// direct reader reads within the rules. Returns whether the direct
    /// reader returned a receipt.
    fn same_verdict(bytes: &[u8]) -> bool {
        let new = Body::from_known_canonical(EntryKind::Decision, bytes);
        let old = Body::from_known_canonical_reencoded(EntryKind::Decision, bytes);
        let text = String::from_utf8_lossy(bytes);
        assert_eq!(new, old, "{text}");
        assert_eq!(format!("{new:?}"), format!("{old:?}"), "{text}");
        let checked = Body::check_known_canonical(EntryKind::Decision, bytes);
        assert_eq!(checked, old.map(Body::into_new_key), "{text}");
        let read = DecisionReceipt::read_canonical(bytes);
        assert_eq!(
            DecisionReceipt::check_canonical(bytes),
            read.as_ref().is_some_and(|r| r.check_rules().is_ok()),
            "{text}"
        );
        match read {
            Some(r) => {
                assert_eq!(r.to_canonical().unwrap(), bytes, "{text}");
                true
            }
            None => false,
        }
    }

    /// Values put in place of any member or item: wrong types, `null` and
    /// empties, boundary numbers, escapes and non-ASCII text.
    fn edits() -> Vec<Value> {
        vec![
            Value::Null,
            json!([]),
            json!({}),
            json!(""),
            json!("x"),
            json!("A"),
            json!("\u{1}\u{1f}\n"),
            json!("é\"\\/\u{7f}"),
            json!(true),
            json!(false),
            json!(0),
            json!(-1),
            json!(1.5),
            json!(-0.0),
            json!(1e21),
            json!(1e-7),
            json!(5e-324),
            json!(9_007_199_254_740_992u64),
            json!(9_007_199_254_740_993u64),
            json!(4_294_967_295u64),
            json!(4_294_967_296u64),
            json!([1]),
            json!({"a": 1}),
            json!("0000000000000000000000000000000000000000000000000000000000000000"),
            json!("00000000000000000000000000000000"),
            json!("allow"),
            json!("16.0.0"),
        ]
    }

    /// `v` with one member or item, at any depth, removed, repeated,
    /// replaced by each of [`edits`], or joined by an unknown member.
    fn mutations(v: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let mut gone = m.clone();
                    gone.remove(k);
                    out.push(Value::Object(gone));
                    for x in edits().into_iter().chain(mutations(child)) {
                        let mut m2 = m.clone();
                        m2.insert(k.clone(), x);
                        out.push(Value::Object(m2));
                    }
                }
                for extra in ["zz", "0", "actions", "a", "fired2"] {
                    let mut m2 = m.clone();
                    m2.insert(extra.into(), json!(1));
                    out.push(Value::Object(m2));
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    let mut gone = a.clone();
                    gone.remove(i);
                    out.push(Value::Array(gone));
                    let mut twice = a.clone();
                    twice.insert(i, child.clone());
                    out.push(Value::Array(twice));
                    for x in edits().into_iter().chain(mutations(child)) {
                        let mut a2 = a.clone();
                        a2[i] = x;
                        out.push(Value::Array(a2));
                    }
                }
            }
            _ => {}
        }
        out
    }

    /// Receipts with provenance records and sealed fields (any subset of
    /// [`full`]'s, in order) as well as those of [`receipt`].
    fn any_receipt() -> impl Strategy<Value = DecisionReceipt> {
        let f = full();
        (
            receipt(),
            prop::sample::subsequence(f.provenance.clone(), 0..=f.provenance.len()),
            prop::sample::subsequence(f.sealed.clone(), 0..=f.sealed.len()),
        )
            .prop_map(|(mut r, provenance, sealed)| {
                r.provenance = provenance;
                r.sealed = sealed;
                r
            })
    }

    /// [`any_receipt`]'s receipts made to keep the rules (PII sorted by
    /// category, each once; a well-formed Unicode version), so that the
    /// check-only path accepts them: half of the corpus below.
    fn lawful_receipt() -> impl Strategy<Value = DecisionReceipt> {
        (any_receipt(), "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}").prop_map(|(mut r, unicode)| {
            r.pii.sort_by(|a, b| a.category.cmp(&b.category));
            r.pii.dedup_by(|a, b| a.category == b.category);
            r.unicode = unicode;
            r
        })
    }

    /// The receipts of the reader's tests: those of [`any_receipt`] (most
    /// break a rule) and those of [`lawful_receipt`].
    fn corpus() -> impl Strategy<Value = DecisionReceipt> {
        prop_oneof![any_receipt(), lawful_receipt()]
    }

    /// Bytes the mutations below splice in.
    const SPLICE: &[u8] = b"\"\\,:{}[]0123456789-+.eEnultrfa \x1f\x7f\x80\xc3\xa9\xff";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The canonical bytes of any receipt are read back directly, as
        /// that receipt, with the old path's verdict.
        #[test]
        fn direct_reader_reads_back_any_receipt(r in corpus()) {
            let bytes = r.to_canonical().unwrap();
            let lawful = r.check_rules().is_ok();
            prop_assert_eq!(DecisionReceipt::read_canonical(&bytes), Some(r));
            prop_assert_eq!(DecisionReceipt::check_canonical(&bytes), lawful);
            same_verdict(&bytes);
        }

        /// Every mutation of a receipt's value (as canonical bytes, and as
        /// serde_json's compact bytes) gets the old path's verdict.
        #[test]
        fn direct_reader_agrees_on_mutated_values(r in corpus()) {
            let v = serde_json::to_value(&r).unwrap();
            for m in mutations(&v) {
                if let Ok(bytes) = encoding::canonical_value(&m) {
                    same_verdict(&bytes);
                }
                same_verdict(&serde_json::to_vec(&m).unwrap());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Bytes of a receipt with a few bytes replaced, inserted or
        /// deleted get the old path's verdict.
        #[test]
        fn direct_reader_agrees_on_mutated_bytes(
            r in corpus(),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), 0u8..3, prop::sample::select(SPLICE.to_vec())),
                1..4,
            ),
        ) {
            let mut bytes = r.to_canonical().unwrap();
            for (at, op, b) in edits {
                let i = at.index(bytes.len() + 1);
                match op {
                    0 if i < bytes.len() => bytes[i] = b,
                    1 => bytes.insert(i, b),
                    _ if i < bytes.len() => {
                        bytes.remove(i);
                    }
                    _ => {}
                }
            }
            same_verdict(&bytes);
        }
    }

    /// The decision body of the benchmark packages, into which the edge
    /// cases below are spliced.
    const EDGE_BODY: &str = concat!(
        r#"{"action":"reject","checks":[{"detail":"ok","fired":false,"name":"toxicity","#,
        r#""score":0.25,"threshold":0.5,"version":"v1"}],"#,
        r#""input":"d76f36ed5f851e3d704778cec654530641adf8b0ee3c15c1a6802ba5688b9d69","#,
        r#""metrics":{"latency_ms":120},"model":{"config":"#,
        r#""e67d23e7820c49a8051dac2831f38290f5e72f66c8db5079eeb60d82f14894c0","id":"model-x"},"#,
        r#""output":"799b6261bc8f8532aa9793379424142e5ab22e2720017faf116cf14959f0a0cf","#,
        r#""pii":[{"category":"email","count":1}],"reasons":["policy.ok"],"#,
        r#""tags":["eu_ai_act:art12"],"trace_id":"trace-0","unicode":"16.0.0"}"#
    );

    /// The check-only path at the edges of each rule of
    /// [`DecisionReceipt::check_rules`] and of the codes and ids it checks
    /// without building them: each case spliced into [`EDGE_BODY`], with
    /// whether it is accepted without building; [`same_verdict`] compares
    /// it with the old path.
    #[test]
    fn check_only_path_at_the_edges_of_the_rules() {
        let record = r#"{"commitment":"c522f53d1ded71d46ce5838b906a39c453eca7235d6f3d852fd5f20181b2b818","source":"kb:doc-17","source_type":"document","trust":"trusted"}"#;
        let records = |n: usize| {
            format!(
                r#","provenance":[{}],"reasons":"#,
                vec![record; n].join(",")
            )
        };
        let field = |name: &str| {
            format!(
                r#"{{"ct":"3XgXml8shJpqfffO2OiqsNKy6vuqRWeDjon5NxvpTaVhHg/XF+0b+IJV9T0gQ7M8","field":"{name}","key":"ccb135d81806bb2aabe2105ce3467c0c","nonce":"ef107acd35d899907e3531b8"}}"#
            )
        };
        let fields = |names: &[&str]| {
            let f: Vec<String> = names.iter().map(|n| field(n)).collect();
            format!(r#","sealed":[{}],"tags":"#, f.join(","))
        };
        let detail = |text: String| format!(r#""detail":"{text}","#);
        let pii = |cats: &[&str]| {
            let p: Vec<String> = cats
                .iter()
                .map(|c| format!(r#"{{"category":"{c}","count":1}}"#))
                .collect();
            format!("[{}]", p.join(","))
        };
        let pii_at = r#"[{"category":"email","count":1}]"#;
        let detail_at = r#""detail":"ok","#;
        // Rules: the direct reader reads each of these; the rules decide.
        let rules: Vec<(&str, String, bool)> = vec![
            (pii_at, pii(&["a", "email"]), true),
            (pii_at, pii(&["email", "a"]), false),
            (pii_at, pii(&["email", "email"]), false),
            (pii_at, pii(&["", "email"]), false),
            (pii_at, pii(&["a", "ab", "b"]), true),
            (pii_at, pii(&["a", "b", "ab"]), false),
            // Sorted by the text, not by its escapes: "\u0001" < "\n".
            (pii_at, pii(&[r"a\u0001", r"a\n"]), true),
            (pii_at, pii(&[r"a\n", r"a\u0001"]), false),
            (pii_at, pii(&[r#"a\"b"#, "ab"]), true),
            (pii_at, pii(&["é", "z"]), false),
            (pii_at, pii(&["z", "é"]), true),
            (
                pii_at,
                r#"[{"category":"a","count":0},{"category":"b","count":1}]"#.into(),
                false,
            ),
            (
                pii_at,
                r#"[{"category":"a","count":4294967295}]"#.into(),
                true,
            ),
            (detail_at, detail("x".repeat(1024)), true),
            (detail_at, detail("x".repeat(1025)), false),
            (detail_at, detail(r"\n".repeat(1024)), true),
            (detail_at, detail(r"\n".repeat(1025)), false),
            (detail_at, detail(r"\u0001".repeat(1024)), true),
            (detail_at, detail("é".repeat(512)), true),
            (detail_at, detail("é".repeat(512) + "x"), false),
            (detail_at, detail("😀".repeat(256)), true),
            (detail_at, detail("😀".repeat(256) + "x"), false),
            (detail_at, detail(String::new()), true),
            (r#","reasons":"#, records(1), true),
            (r#","reasons":"#, records(64), true),
            (r#","reasons":"#, records(65), false),
            (r#","tags":"#, fields(&["raw_input", "raw_output"]), true),
            (r#","tags":"#, fields(&["raw_output", "raw_input"]), false),
            (r#","tags":"#, fields(&["raw_input", "raw_input"]), false),
            ("16.0.0", "1.2.345".into(), true),
            ("16.0.0", "0.0.0".into(), true),
            ("16.0.0", "16.0".into(), false),
            ("16.0.0", "16.0.0.0".into(), false),
            ("16.0.0", "16..0".into(), false),
            ("16.0.0", ".16.0".into(), false),
            ("16.0.0", "1234.0.0".into(), false),
            ("16.0.0", "16.0.x".into(), false),
            ("16.0.0", "١.0.0".into(), false),
            ("16.0.0", String::new(), false),
        ];
        for (from, to, ok) in &rules {
            assert!(EDGE_BODY.contains(from), "{from}");
            let bytes = EDGE_BODY.replacen(from, to, 1);
            assert!(same_verdict(bytes.as_bytes()), "{bytes}");
            assert_eq!(
                DecisionReceipt::check_canonical(bytes.as_bytes()),
                *ok,
                "{bytes}"
            );
        }
        // Codes and ids, checked without being built: accepted without
        // building exactly when the direct reader reads them.
        let ids: Vec<(&str, String, bool)> = vec![
            ("trace-0", "t".repeat(128), true),
            ("trace-0", "t".repeat(129), false),
            ("trace-0", r#"a\"b\\c"#.into(), true),
            ("trace-0", r"a\u0001".into(), false),
            ("trace-0", "a b".into(), false),
            ("trace-0", "é".into(), false),
            ("trace-0", "~!".into(), true),
            ("model-x", "m".repeat(128), true),
            ("model-x", "m".repeat(129), false),
            ("model-x", String::new(), false),
            (
                r#","tags":"#,
                r#","session_id":"s\"1","tags":"#.into(),
                true,
            ),
            (
                r#","tags":"#,
                r#","session_id":"s 1","tags":"#.into(),
                false,
            ),
            ("policy.ok", "p".repeat(64), true),
            ("policy.ok", "p".repeat(65), false),
            ("policy.ok", "-p".into(), false),
            ("policy.ok", "0:a.b_c-d".into(), true),
            ("eu_ai_act:art12", "Eu".into(), false),
            ("eu_ai_act:art12", String::new(), false),
            ("toxicity", "n".repeat(64), true),
            ("toxicity", "n".repeat(65), false),
            (r#""version":"v1""#, r#""version":"V1""#.into(), false),
            (r#""version":"v1""#, r#""version":"1.0""#.into(), true),
        ];
        for (from, to, ok) in &ids {
            assert!(EDGE_BODY.contains(from), "{from}");
            let bytes = EDGE_BODY.replacen(from, to, 1);
            assert_eq!(same_verdict(bytes.as_bytes()), *ok, "{bytes}");
            assert_eq!(
                DecisionReceipt::check_canonical(bytes.as_bytes()),
                *ok,
                "{bytes}"
            );
        }
    }

    /// Hand-picked edges, each spliced into the body of the benchmark
    /// packages: accepted directly exactly when the old path accepts.
    #[test]
    fn direct_reader_agrees_on_edge_cases() {
        let body = EDGE_BODY;
        assert!(same_verdict(body.as_bytes()));
        let provenance = r#","provenance":[{"commitment":"c522f53d1ded71d46ce5838b906a39c453eca7235d6f3d852fd5f20181b2b818","source":"kb:doc-17","source_type":"document","trust":"trusted"}],"tags":"#;
        let sealed = r#","sealed":[{"ct":"3XgXml8shJpqfffO2OiqsNKy6vuqRWeDjon5NxvpTaVhHg/XF+0b+IJV9T0gQ7M8","field":"raw_input","key":"ccb135d81806bb2aabe2105ce3467c0c","nonce":"ef107acd35d899907e3531b8"}],"tags":"#;
        let twice = r#"{"ct":"3XgXml8shJpqfffO2OiqsNKy6vuqRWeDjon5NxvpTaVhHg/XF+0b+IJV9T0gQ7M8","field":"raw_input","key":"ccb135d81806bb2aabe2105ce3467c0c","nonce":"ef107acd35d899907e3531b8"}"#;
        let cases: Vec<(&str, &str)> = vec![
            // Numbers of a check.
            ("0.25", "0"),
            ("0.25", "-0"),
            ("0.25", "0.0"),
            ("0.25", "1.0"),
            ("0.25", "1"),
            ("0.25", "-1"),
            ("0.25", "01"),
            ("0.25", ".25"),
            ("0.25", "0.250"),
            ("0.25", "2.5e-1"),
            ("0.25", "1e-7"),
            ("0.25", "1e-07"),
            ("0.25", "1E-7"),
            ("0.25", "0.0000001"),
            ("0.25", "0.000001"),
            ("0.25", "1e-6"),
            ("0.25", "5e-324"),
            ("0.25", "2e-324"),
            ("0.25", "9007199254740992"),
            ("0.25", "9007199254740993"),
            ("0.25", "9007199254740994"),
            ("0.25", "1e+21"),
            ("0.25", "1e21"),
            ("0.25", "100000000000000000000"),
            ("0.25", "0.30000000000000004"),
            ("0.25", "0.3000000000000000444"),
            ("0.25", "+1"),
            ("0.25", "1e+2"),
            ("0.25", "NaN"),
            ("0.25", "Infinity"),
            ("0.25", "null"),
            ("0.25", "\"0.25\""),
            // Integers.
            ("120", "0"),
            ("120", "00"),
            ("120", "-0"),
            ("120", "-1"),
            ("120", "1.0"),
            ("120", "1e2"),
            ("120", "9007199254740992"),
            ("120", "9007199254740993"),
            ("120", "18446744073709551615"),
            ("120", "18446744073709551616"),
            (r#""count":1"#, r#""count":0"#),
            (r#""count":1"#, r#""count":4294967295"#),
            (r#""count":1"#, r#""count":4294967296"#),
            (r#""count":1"#, r#""count":01"#),
            // Text: escapes, controls, non-ASCII, bad escapes.
            (r#""ok""#, r#""a\"b\\c""#),
            (r#""ok""#, r#""\n\t\b\f\r""#),
            (r#""ok""#, r#""\u0000\u001f\u007f""#),
            (r#""ok""#, r#""\u0000\u001f""#),
            (r#""ok""#, r#""\u001F""#),
            (r#""ok""#, r#""\u0008""#),
            (r#""ok""#, r#""\u000a""#),
            (r#""ok""#, r#""\u0020""#),
            (r#""ok""#, r#""\u00e9""#),
            (r#""ok""#, r#""\/""#),
            (r#""ok""#, r#""\x""#),
            (r#""ok""#, r#""\u00""#),
            (r#""ok""#, "\"é😀\u{7f}\""),
            (r#""ok""#, "\"\u{1}\""),
            (r#""ok""#, "\"\t\""),
            (r#""ok""#, r#""""#),
            (r#""ok""#, r#""\"#),
            ("16.0.0", "16.0"),
            ("16.0.0", r#"1\u0036.0.0"#),
            ("16.0.0", r#"16.0.0\u0000"#),
            ("16.0.0", "é"),
            (r#""email""#, r#""""#),
            (r#""email""#, r#""e\"mail""#),
            (r#""email""#, r#""é\n""#),
            ("trace-0", r#"trace\"0"#),
            ("trace-0", r#"trace\\0"#),
            ("trace-0", r#"trace\u0020"#),
            ("trace-0", "tr é"),
            ("model-x", r#"model\/x"#),
            ("policy.ok", "Policy.ok"),
            ("policy.ok", r#"policy\u002eok"#),
            // Values the writer never writes.
            (r#""fired":false"#, r#""fired":true"#),
            (r#""fired":false"#, r#""fired":null"#),
            (r#""fired":false"#, r#""fired":0"#),
            (r#""detail":"ok","#, ""),
            (r#""detail":"ok","#, r#""detail":null,"#),
            (r#","score":0.25"#, ""),
            (r#","score":0.25"#, r#","score":null"#),
            (r#"{"latency_ms":120}"#, "{}"),
            (
                r#"{"latency_ms":120}"#,
                r#"{"cost_micros":1,"output_tokens":2}"#,
            ),
            (
                r#"{"latency_ms":120}"#,
                r#"{"output_tokens":2,"cost_micros":1}"#,
            ),
            (
                r#"{"latency_ms":120}"#,
                r#"{"latency_ms":120,"latency_ms":1}"#,
            ),
            (r#"{"latency_ms":120}"#, r#"{,"latency_ms":120}"#),
            (r#"{"latency_ms":120}"#, r#"{"latency_ms":null}"#),
            (
                r#"{"latency_ms":120}"#,
                r#"{"cost_micros":0,"input_tokens":1,"latency_ms":2,"output_tokens":3}"#,
            ),
            (
                r#"{"config":"e67d23e7820c49a8051dac2831f38290f5e72f66c8db5079eeb60d82f14894c0","#,
                "{",
            ),
            (r#""id":"model-x"}"#, "}"),
            (r#","model":{"#, r#","model":null,"x":{"#),
            (r#"["policy.ok"]"#, "[]"),
            (r#"["policy.ok"]"#, r#"["policy.ok","policy.ok"]"#),
            (r#"["policy.ok"]"#, r#"["policy.ok",]"#),
            (r#"["policy.ok"]"#, r#"["policy.ok""#),
            (r#"[{"category":"email","count":1}]"#, "[]"),
            (
                r#"[{"category":"email","count":1}]"#,
                r#"[{"category":"a","count":1},{"category":"email","count":1}]"#,
            ),
            (
                r#"[{"category":"email","count":1}]"#,
                r#"[{"category":"email","count":1},{"category":"a","count":1}]"#,
            ),
            (r#""action":"reject""#, r#""action":"fail_retry""#),
            (r#""action":"reject""#, r#""action":"Reject""#),
            (r#""action":"reject""#, r#""action":"rejec""#),
            (r#""action":"reject""#, r#""action":"reject\u0000""#),
            (r#""action":"reject""#, r#""action":null"#),
            ("d76f36ed", "D76f36ed"),
            ("d76f36ed", "g76f36ed"),
            ("d76f36ed", "d76f36e"),
            ("d76f36ed", "d76f36ed0"),
            (r#","unicode":"16.0.0"}"#, r#","unicode":"16.0.0","zz":1}"#),
            (r#","unicode":"16.0.0"}"#, r#","unicode":"16.0.0"} "#),
            (r#","unicode":"16.0.0"}"#, r#","unicode":"16.0.0"}}"#),
            (r#","unicode":"16.0.0"}"#, r#"}"#),
            (
                r#","tags":"#,
                r#","parents":["00000000000000000000000000000000"],"tags":"#,
            ),
            (
                r#","tags":"#,
                r#","parents":["0000000000000000000000000000000"],"tags":"#,
            ),
            (r#","tags":"#, r#","parents":[],"tags":"#),
            (
                r#","tags":"#,
                r#","session_id":"s-1","state":"d76f36ed5f851e3d704778cec654530641adf8b0ee3c15c1a6802ba5688b9d69","tags":"#,
            ),
            (
                r#","tags":"#,
                r#","state":"d76f36ed5f851e3d704778cec654530641adf8b0ee3c15c1a6802ba5688b9d69","session_id":"s-1","tags":"#,
            ),
            (r#","tags":"#, r#","provenance":[],"tags":"#),
            (r#","tags":"#, r#","sealed":[],"tags":"#),
            (r#","tags":"#, provenance),
            (r#","tags":"#, sealed),
        ];
        let owned = [
            provenance.replace("kb:doc", "kb]doc"),
            provenance.replace("kb:doc", "kb\\\"doc"),
            provenance.replace("trusted", "Trusted"),
            sealed.replace("7M8\"", "7M9\""),
            sealed.replace("raw_input", "Raw_input"),
            sealed.replace(twice, &format!("{twice},{twice}")),
        ];
        let mut accepted = 0;
        for (from, to) in cases
            .into_iter()
            .chain(owned.iter().map(|t| (r#","tags":"#, t.as_str())))
        {
            assert!(body.contains(from), "{from}");
            if same_verdict(body.replacen(from, to, 1).as_bytes()) {
                accepted += 1;
            }
        }
        // Invalid UTF-8 inside a string, and cut-off bodies.
        let mut bad = body.as_bytes().to_vec();
        let at = body.find("trace-0").unwrap();
        bad[at] = 0xff;
        assert!(!same_verdict(&bad));
        for n in 0..body.len() {
            assert!(!same_verdict(&body.as_bytes()[..n]));
        }
        // The valid ones above are read directly (the test is not vacuous).
        assert!(accepted >= 30, "{accepted}");
    }

    /// Number tokens: plain decimals around the 15-digit and 1e-6 limits,
    /// what the printer writes, and arbitrary number-like text.
    fn number_token() -> impl Strategy<Value = String> {
        prop_oneof![
            (
                "-?",
                "0|[1-9][0-9]{0,16}",
                proptest::option::of("[0-9]{0,17}[1-9]")
            )
                .prop_map(|(sign, int, frac)| match frac {
                    Some(f) => format!("{sign}{int}.{f}"),
                    None => format!("{sign}{int}"),
                }),
            "-?0\\.0{0,7}[1-9][0-9]{0,16}",
            "-?[1-9]0{0,17}",
            "[-0-9.e+]{1,22}",
            finite().prop_map(|x| {
                let mut v = Vec::new();
                encoding::write_f64(&mut v, x, "").unwrap();
                String::from_utf8(v).unwrap()
            }),
        ]
    }

    /// The printer's answer for `token`: whether writing the double nearest
    /// to it gives it back (as [`Reader::finite`] checks when it must).
    fn printed_as_it_stands(token: &str) -> Option<bool> {
        let x = Finite::new(token.parse::<f64>().ok()?).ok()?;
        let mut again = Vec::new();
        encoding::write_f64(&mut again, x.get(), "").unwrap();
        Some(again == token.as_bytes())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// A token the shortcut accepts is one the printer writes as it
        /// stands (the shortcut may leave some of those to the printer).
        #[test]
        fn short_plain_decimals_are_printed_as_they_stand(t in number_token()) {
            if is_short_plain_decimal(&t) {
                // (`None`: beyond 2^53, refused before the shortcut.)
                prop_assert_ne!(printed_as_it_stands(&t), Some(false), "{}", t);
            }
        }
    }

    #[test]
    fn short_plain_decimal_limits() {
        for (t, short) in [
            ("0", true),
            ("-0", false),
            ("0.0", false),
            ("1.0", false),
            ("1", true),
            ("-1", true),
            ("01", false),
            (".5", false),
            ("5.", false),
            ("0.5", true),
            ("-0.25", true),
            ("0.000001", true),
            ("0.0000001", false),
            ("0.000001234567890123456", false),
            ("0.00000123456789012345", true),
            ("123456789012345", true),
            ("1234567890123456", false),
            ("1000000000000000", true),
            ("9007199254740992", false),
            ("12345678.9012345", true),
            ("12345678.90123456", false),
            ("0.30000000000000004", false),
            ("1e-7", false),
            ("1e+21", false),
            ("+1", false),
            ("--1", false),
            ("1.2.3", false),
        ] {
            assert_eq!(is_short_plain_decimal(t), short, "{t}");
            if short {
                assert_eq!(printed_as_it_stands(t), Some(true), "{t}");
            }
        }
        // Every plain decimal of up to 15 nines, at every point position.
        for k in 1..=15 {
            let digits = "9".repeat(k);
            for point in 0..=k {
                let t = match point {
                    0 => format!("0.{digits}"),
                    p if p == k => digits.clone(),
                    p => format!("{}.{}", &digits[..p], &digits[p..]),
                };
                assert!(is_short_plain_decimal(&t), "{t}");
                assert_eq!(printed_as_it_stands(&t), Some(true), "{t}");
            }
        }
    }
}
