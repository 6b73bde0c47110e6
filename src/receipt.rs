//! The decision receipt: the body of a `decision` entry (SPEC §4.1).
//!
//! A receipt records what an AI system decided and why, without holding the
//! input or output in clear: both are keyed commitments (SPEC §4.2).

use serde::{Deserialize, Serialize};

use crate::encoding::{self, EncodingError, ObjectWriter};
use crate::hash::Hash32;
use crate::id::{Code, EntryId, ExternalId};

/// Longest free-text field (check detail, oversight note) in bytes.
pub const MAX_TEXT_BYTES: usize = 1024;

/// A finite `f64` of magnitude at most 2^53 (never NaN or infinite). Every floating-point field of a
/// record uses this type, because `serde_json` would silently turn a NaN into
/// `null`; it is checked on construction and on decoding (SPEC §2.2).
#[derive(Clone, Copy, PartialEq, PartialOrd, Debug, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Finite(f64);

impl Finite {
    /// Wraps `x` if it is finite.
    ///
    /// # Errors
    /// [`crate::encoding::EncodingError::NonFinite`] for NaN or ±infinity.
    pub fn new(x: f64) -> Result<Finite, crate::encoding::EncodingError> {
        // |x| ≤ 2^53 as well: larger values print as integer digits in JCS
        // and would be read back as out-of-range integers (SPEC §2.2).
        if x.is_finite() && x.abs() <= crate::encoding::MAX_SAFE_INTEGER as f64 {
            Ok(Finite(x))
        } else {
            Err(crate::encoding::EncodingError::NonFinite(x.to_string()))
        }
    }
    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Finite {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Finite::new(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// What the system did with the request.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Debug,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    PartialOrd,
    Ord,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// The response was released as produced.
    Allow,
    /// The request or response was refused.
    Reject,
    /// Handed to a human or a higher tier.
    Escalate,
    /// Failed and will be retried.
    FailRetry,
    /// Served from a cache.
    CacheHit,
    /// Checks were bypassed (must be justified by reasons).
    Bypass,
    /// The response was modified (e.g. redacted) before release.
    Modify,
}

impl Action {
    /// Every action, in SPEC order.
    pub const ALL: [Action; 7] = [
        Action::Allow,
        Action::Reject,
        Action::Escalate,
        Action::FailRetry,
        Action::CacheHit,
        Action::Bypass,
        Action::Modify,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Reject => "reject",
            Action::Escalate => "escalate",
            Action::FailRetry => "fail_retry",
            Action::CacheHit => "cache_hit",
            Action::Bypass => "bypass",
            Action::Modify => "modify",
        }
    }
}

impl Check {
    /// A check with a name and version, not fired, no score.
    ///
    /// # Errors
    /// [`crate::IdError`] for an invalid name or version.
    pub fn new(name: &str, version: &str) -> Result<Check, crate::id::IdError> {
        Ok(Check {
            name: Code::new(name)?,
            version: Code::new(version)?,
            score: None,
            threshold: None,
            fired: false,
            detail: None,
        })
    }
    /// Sets the score.
    ///
    /// # Errors
    /// [`crate::encoding::EncodingError::NonFinite`] for NaN/infinity.
    pub fn score(mut self, score: f64) -> Result<Check, crate::encoding::EncodingError> {
        self.score = Some(Finite::new(score)?);
        Ok(self)
    }
    /// Sets the threshold.
    ///
    /// # Errors
    /// [`crate::encoding::EncodingError::NonFinite`] for NaN/infinity.
    pub fn threshold(mut self, threshold: f64) -> Result<Check, crate::encoding::EncodingError> {
        self.threshold = Some(Finite::new(threshold)?);
        Ok(self)
    }
    /// Sets whether it fired.
    pub fn fired(mut self, fired: bool) -> Check {
        self.fired = fired;
        self
    }
    /// Sets the detail text (the collector normalises and strips it).
    pub fn detail(mut self, detail: impl Into<String>) -> Check {
        self.detail = Some(detail.into());
        self
    }
}

/// One guardrail or policy check that ran, in the order it ran.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Short free text, PII-stripped by the collector, at most [`MAX_TEXT_BYTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Whether the check fired (blocked, flagged …).
    pub fired: bool,
    /// Check name, e.g. `toxicity`.
    pub name: Code,
    /// Score, when the check produces one. Finite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Finite>,
    /// Threshold the score was compared with. Finite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Finite>,
    /// Version of the check's implementation or model.
    pub version: Code,
}

/// The model that produced the output.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelRef {
    /// Digest of the model configuration (SPEC §4.3), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Hash32>,
    /// Model identifier, e.g. `gpt-4o-2024-08-06`.
    pub id: ExternalId,
}

/// Numeric facts of a request, for monitors. Integers below 2^53.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Cost in millionths of the billing currency unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_micros: Option<u64>,
    /// Prompt tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Wall-clock latency in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Completion tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
}

impl Metrics {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        *self == Metrics::default()
    }
}

/// How many values of one PII category were stripped. Never the values.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PiiCount {
    /// Category name (`email`, `payment_card`, `custom:<name>` …).
    pub category: String,
    /// Number of values stripped.
    pub count: u32,
}

impl DecisionReceipt {
    /// Rules a schema cannot express (SPEC §4.1): PII counts sorted by
    /// category, each category once, counts ≥ 1; texts at most
    /// [`MAX_TEXT_BYTES`]; `unicode` is `major.minor.patch`.
    ///
    /// # Errors
    /// A description of the first rule broken.
    pub fn check_rules(&self) -> Result<(), String> {
        if self
            .pii
            .iter()
            .any(|p| p.count == 0 || p.category.is_empty())
        {
            return Err("pii lists only non-empty categories with counts of at least 1".into());
        }
        if self.pii.windows(2).any(|w| w[0].category >= w[1].category) {
            return Err("pii is sorted by category, each category once".into());
        }
        if self
            .checks
            .iter()
            .any(|c| c.detail.as_ref().is_some_and(|d| d.len() > MAX_TEXT_BYTES))
        {
            return Err(format!(
                "a check detail is longer than {MAX_TEXT_BYTES} bytes"
            ));
        }
        if self.provenance.len() > crate::provenance::MAX_PROVENANCE {
            return Err(format!(
                "at most {} provenance records",
                crate::provenance::MAX_PROVENANCE
            ));
        }
        // Three dot-separated parts of 1–3 ASCII digits (no allocation:
        // this runs on every append).
        let mut parts = 0;
        let well_formed = self.unicode.split('.').all(|p| {
            parts += 1;
            !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit())
        });
        if !well_formed || parts != 3 {
            return Err("unicode must be major.minor.patch".into());
        }
        crate::shred::check_sealed_rules(&self.sealed)
    }
}

impl DecisionReceipt {
    /// The canonical (RFC 8785) bytes of the receipt, written directly —
    /// the same bytes as [`encoding::to_canonical`] (unit tests compare the
    /// two), at a fraction of the cost: this runs once per receipt.
    ///
    /// # Errors
    /// [`EncodingError::IntegerTooLarge`] for a metric above 2^53.
    pub(crate) fn to_canonical(&self) -> Result<Vec<u8>, EncodingError> {
        let mut out = Vec::with_capacity(1024);
        self.write_canonical(&mut out)?;
        Ok(out)
    }

    fn write_canonical(&self, out: &mut Vec<u8>) -> Result<(), EncodingError> {
        // Destructured without `..`: a new field fails to compile here
        // until it is written too.
        let DecisionReceipt {
            action,
            checks,
            input,
            metrics,
            model,
            output,
            parents,
            pii,
            provenance,
            reasons,
            sealed,
            session_id,
            state,
            tags,
            trace_id,
            unicode,
        } = self;
        // Keys are written as literals in RFC 8785 order. `action` sorts
        // first and is always present, so every later member starts with
        // a comma.
        out.extend_from_slice(b"{\"action\":");
        encoding::write_string(out, action.as_str());
        if !checks.is_empty() {
            out.extend_from_slice(b",\"checks\":");
            write_array(out, checks, |out, c| c.write_canonical(out))?;
        }
        out.extend_from_slice(b",\"input\":");
        encoding::write_hex_string(out, &input.0);
        if !metrics.is_empty() {
            out.extend_from_slice(b",\"metrics\":");
            metrics.write_canonical(out)?;
        }
        if let Some(m) = model {
            let ModelRef { config, id } = m;
            // `config` sorts before the required `id`.
            if let Some(c) = config {
                out.extend_from_slice(b",\"model\":{\"config\":");
                encoding::write_hex_string(out, &c.0);
                out.extend_from_slice(b",\"id\":");
            } else {
                out.extend_from_slice(b",\"model\":{\"id\":");
            }
            encoding::write_string(out, id.as_str());
            out.push(b'}');
        }
        if let Some(h) = output {
            out.extend_from_slice(b",\"output\":");
            encoding::write_hex_string(out, &h.0);
        }
        if !parents.is_empty() {
            out.extend_from_slice(b",\"parents\":");
            write_array(out, parents, |out, p| {
                encoding::write_hex_string(out, &p.0);
                Ok(())
            })?;
        }
        if !pii.is_empty() {
            out.extend_from_slice(b",\"pii\":");
            write_array(out, pii, |out, p| {
                let PiiCount { category, count } = p;
                out.extend_from_slice(b"{\"category\":");
                encoding::write_string(out, category);
                out.extend_from_slice(b",\"count\":");
                encoding::write_u64_unchecked(out, u64::from(*count));
                out.push(b'}');
                Ok(())
            })?;
        }
        // Provenance records are rare and small: the serde JCS record
        // writer gives their canonical bytes (fields declared in key order;
        // the tests comparing this writer with the generic encoder cover it).
        if !provenance.is_empty() {
            out.extend_from_slice(b",\"provenance\":");
            out.extend_from_slice(&encoding::to_canonical_record(provenance)?);
        }
        if !reasons.is_empty() {
            out.extend_from_slice(b",\"reasons\":");
            write_array(out, reasons, |out, r| {
                encoding::write_string(out, r.as_str());
                Ok(())
            })?;
        }
        if !sealed.is_empty() {
            out.extend_from_slice(b",\"sealed\":");
            write_array(out, sealed, write_sealed)?;
        }
        if let Some(id) = session_id {
            out.extend_from_slice(b",\"session_id\":");
            encoding::write_string(out, id.as_str());
        }
        if let Some(h) = state {
            out.extend_from_slice(b",\"state\":");
            encoding::write_hex_string(out, &h.0);
        }
        if !tags.is_empty() {
            out.extend_from_slice(b",\"tags\":");
            write_array(out, tags, |out, t| {
                encoding::write_string(out, t.as_str());
                Ok(())
            })?;
        }
        if let Some(id) = trace_id {
            out.extend_from_slice(b",\"trace_id\":");
            encoding::write_string(out, id.as_str());
        }
        out.extend_from_slice(b",\"unicode\":");
        encoding::write_string(out, unicode);
        out.push(b'}');
        Ok(())
    }
}

impl Check {
    fn write_canonical(&self, out: &mut Vec<u8>) -> Result<(), EncodingError> {
        let Check {
            detail,
            fired,
            name,
            score,
            threshold,
            version,
        } = self;
        // `detail` sorts before the required `fired`; literal keys after.
        if let Some(d) = detail {
            out.extend_from_slice(b"{\"detail\":");
            encoding::write_string(out, d);
            out.extend_from_slice(b",\"fired\":");
        } else {
            out.extend_from_slice(b"{\"fired\":");
        }
        out.extend_from_slice(if *fired { b"true" } else { b"false" });
        out.extend_from_slice(b",\"name\":");
        encoding::write_string(out, name.as_str());
        if let Some(x) = score {
            out.extend_from_slice(b",\"score\":");
            encoding::write_f64(out, x.get(), "score")?;
        }
        if let Some(x) = threshold {
            out.extend_from_slice(b",\"threshold\":");
            encoding::write_f64(out, x.get(), "threshold")?;
        }
        out.extend_from_slice(b",\"version\":");
        encoding::write_string(out, version.as_str());
        out.push(b'}');
        Ok(())
    }
}

impl Metrics {
    fn write_canonical(&self, out: &mut Vec<u8>) -> Result<(), EncodingError> {
        let Metrics {
            cost_micros,
            input_tokens,
            latency_ms,
            output_tokens,
        } = self;
        let mut o = ObjectWriter::begin(out);
        for (key, v) in [
            ("cost_micros", cost_micros),
            ("input_tokens", input_tokens),
            ("latency_ms", latency_ms),
            ("output_tokens", output_tokens),
        ] {
            if let Some(v) = v {
                encoding::write_u64(o.key(key), *v, key)?;
            }
        }
        o.end();
        Ok(())
    }
}

/// One sealed field (SPEC §4.4), keys in RFC 8785 order. Base64 and hex
/// need no JSON escaping, so they are written straight into the output:
/// a 1 KiB ciphertext must not cost more to encode than to encrypt.
fn write_sealed(out: &mut Vec<u8>, f: &crate::shred::SealedField) -> Result<(), EncodingError> {
    use base64::Engine as _;
    let crate::shred::SealedField {
        ct,
        field,
        key,
        nonce,
        subject,
    } = f;
    let mut o = ObjectWriter::begin(out);
    {
        let out = o.key("ct");
        out.push(b'"');
        let engine = &base64::engine::general_purpose::STANDARD;
        let start = out.len();
        let too_long = || EncodingError::Serialize("sealed field ciphertext too long".into());
        let n = base64::encoded_len(ct.as_bytes().len(), true).ok_or_else(too_long)?;
        out.resize(start + n, 0);
        let written = engine
            .encode_slice(ct.as_bytes(), &mut out[start..])
            .map_err(|_| too_long())?;
        out.truncate(start + written);
        out.push(b'"');
    }
    encoding::write_string(o.key("field"), field.as_str());
    encoding::write_hex_string(o.key("key"), &key.0);
    encoding::write_hex_string(o.key("nonce"), &nonce.0);
    if let Some(s) = subject {
        encoding::write_hex_string(o.key("subject"), &s.0);
    }
    o.end();
    Ok(())
}

/// `[a,b,…]` with each item written by `item`.
fn write_array<T>(
    out: &mut Vec<u8>,
    items: &[T],
    mut item: impl FnMut(&mut Vec<u8>, &T) -> Result<(), EncodingError>,
) -> Result<(), EncodingError> {
    out.push(b'[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item(out, x)?;
    }
    out.push(b']');
    Ok(())
}

/// The body of a `decision` entry.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionReceipt {
    /// The outcome.
    pub action: Action,
    /// Checks in the order they ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// Keyed commitment to the NFKC-normalised, PII-stripped input (SPEC §4.2).
    pub input: Hash32,
    /// Latency, tokens, cost.
    #[serde(default, skip_serializing_if = "Metrics::is_empty")]
    pub metrics: Metrics,
    /// The model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRef>,
    /// Keyed commitment to the normalised, stripped output, once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Hash32>,
    /// Entries this decision depends on (trace DAG), in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<EntryId>,
    /// PII stripped from input, output and texts, sorted by category.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pii: Vec<PiiCount>,
    /// Sources the decision used (SPEC §11.5), in the order given, at most
    /// [`crate::MAX_PROVENANCE`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provenance: Vec<crate::provenance::Provenance>,
    /// Reason codes, in the order added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Code>,
    /// Fields kept as AES-256-GCM ciphertext (raw input, raw output, named
    /// fields), sorted by field name (SPEC §4.4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sealed: Vec<crate::shred::SealedField>,
    /// Conversation/session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<ExternalId>,
    /// Keyed commitment to application state (retrieved context, memory …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Hash32>,
    /// Framework tags (e.g. `eu_ai_act:art12`), in the order added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Code>,
    /// Distributed trace id of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<ExternalId>,
    /// Unicode version of the NFKC tables used, e.g. `16.0.0`.
    pub unicode: String,
}

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
        // One UTF-8 check for the whole body; every piece is then a `str`.
        let mut r = Reader {
            rest: std::str::from_utf8(bytes).ok()?,
        };
        r.lit("{\"action\":")?;
        let action = r.action()?;
        let checks = r.list(",\"checks\":", Reader::check)?;
        r.lit(",\"input\":")?;
        let input = r.hash()?;
        let metrics = if r.member(",\"metrics\":") {
            r.metrics()?
        } else {
            Metrics::default()
        };
        let model = if r.member(",\"model\":{") {
            let config = if r.member("\"config\":") {
                let c = r.hash()?;
                r.lit(",")?;
                Some(c)
            } else {
                None
            };
            r.lit("\"id\":")?;
            let id = r.external_id()?;
            r.lit("}")?;
            Some(ModelRef { config, id })
        } else {
            None
        };
        let output = r.optional(",\"output\":", Reader::hash)?;
        let parents = r.list(",\"parents\":", |r| {
            r.lit("\"")?;
            let id = crate::hash::decode_lower_hex(r.take(32)?.as_bytes())?;
            r.lit("\"")?;
            Some(EntryId(id))
        })?;
        let pii = r.list(",\"pii\":", |r| {
            r.lit("{\"category\":")?;
            let category = r.text()?;
            r.lit(",\"count\":")?;
            let count = u32::try_from(r.integer()?).ok()?;
            r.lit("}")?;
            Some(PiiCount { category, count })
        })?;
        // Provenance and sealed fields are rare: their array is decoded by
        // serde and must be exactly what the writer writes for the result.
        let provenance: Vec<crate::provenance::Provenance> = if r.member(",\"provenance\":") {
            let text = r.array_text()?;
            let p: Vec<crate::provenance::Provenance> = serde_json::from_str(text).ok()?;
            let same = encoding::to_canonical_record(&p).ok()?;
            (!p.is_empty() && same == text.as_bytes()).then_some(p)?
        } else {
            Vec::new()
        };
        let reasons = r.list(",\"reasons\":", Reader::code)?;
        let sealed: Vec<crate::shred::SealedField> = if r.member(",\"sealed\":") {
            let text = r.array_text()?;
            let s: Vec<crate::shred::SealedField> = serde_json::from_str(text).ok()?;
            let mut same = Vec::with_capacity(text.len());
            write_array(&mut same, &s, write_sealed).ok()?;
            (!s.is_empty() && same == text.as_bytes()).then_some(s)?
        } else {
            Vec::new()
        };
        let session_id = r.optional(",\"session_id\":", Reader::external_id)?;
        let state = r.optional(",\"state\":", Reader::hash)?;
        let tags = r.list(",\"tags\":", Reader::code)?;
        let trace_id = r.optional(",\"trace_id\":", Reader::external_id)?;
        r.lit(",\"unicode\":")?;
        let unicode = r.text()?;
        r.lit("}")?;
        r.rest.is_empty().then_some(DecisionReceipt {
            action,
            checks,
            input,
            metrics,
            model,
            output,
            parents,
            pii,
            provenance,
            reasons,
            sealed,
            session_id,
            state,
            tags,
            trace_id,
            unicode,
        })
    }
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

    /// An optional value: written after `key` only when present.
    fn optional<T>(
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

    /// A list: written after `key` only when not empty, as [`write_array`]
    /// writes it (`[a,b,…]`).
    fn list<T>(
        &mut self,
        key: &str,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        if !self.member(key) {
            return Some(Vec::new());
        }
        self.lit("[")?;
        let mut items = Vec::with_capacity(1);
        loop {
            items.push(item(self)?);
            if !self.member(",") {
                self.lit("]")?;
                return Some(items);
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
    /// case).
    fn text(&mut self) -> Option<String> {
        let special = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
        self.lit("\"")?;
        let head = self.take_until(special)?;
        if self.member("\"") {
            return Some(head.to_owned());
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
                return Some(out);
            }
        }
    }

    /// A [`Code`].
    fn code(&mut self) -> Option<Code> {
        Code::new(self.text()?).ok()
    }

    /// An [`ExternalId`].
    fn external_id(&mut self) -> Option<ExternalId> {
        ExternalId::new(self.text()?).ok()
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
    fn check(&mut self) -> Option<Check> {
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
        let name = self.code()?;
        let score = self.optional(",\"score\":", Reader::finite)?;
        let threshold = self.optional(",\"threshold\":", Reader::finite)?;
        self.lit(",\"version\":")?;
        let version = self.code()?;
        self.lit("}")?;
        Some(Check {
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
    use proptest::prelude::*;

    fn full() -> DecisionReceipt {
        DecisionReceipt {
            action: Action::FailRetry,
            checks: vec![
                Check::new("toxicity", "2.1")
                    .unwrap()
                    .score(0.12)
                    .unwrap()
                    .threshold(-0.0)
                    .unwrap()
                    .fired(true)
                    .detail("tab\there \"quoted\" \\ é \u{1f600} \u{1}"),
                Check::new("pii_leak", "1.0").unwrap(),
            ],
            input: Hash32::digest(b"i"),
            metrics: Metrics {
                cost_micros: Some(1 << 53),
                input_tokens: Some(0),
                latency_ms: Some(17),
                output_tokens: None,
            },
            model: Some(ModelRef {
                id: ExternalId::new("gpt-\"x\"\\").unwrap(),
                config: Some(Hash32::digest(b"c")),
            }),
            output: Some(Hash32::digest(b"o")),
            parents: vec![EntryId([1; 16]), EntryId([0xfe; 16])],
            pii: vec![
                PiiCount {
                    category: "email".into(),
                    count: 2,
                },
                PiiCount {
                    category: "custom:emp_id".into(),
                    count: u32::MAX,
                },
            ],
            provenance: serde_json::from_str(
                r#"[{"commitment":"c522f53d1ded71d46ce5838b906a39c453eca7235d6f3d852fd5f20181b2b818","source":"kb:doc-17","source_type":"document","trust":"trusted"},{"commitment":"a2751f93e0da31d1a5362f2c486a51d4305985372e4e79cf6ed10fa2cdce9111","source":"web:3f9a","source_type":"document","trust":"untrusted"}]"#,
            )
            .unwrap(),
            reasons: vec![Code::new("checks.passed").unwrap()],
            sealed: serde_json::from_str(
                r#"[{"ct":"3XgXml8shJpqfffO2OiqsNKy6vuqRWeDjon5NxvpTaVhHg/XF+0b+IJV9T0gQ7M8","field":"raw_input","key":"ccb135d81806bb2aabe2105ce3467c0c","nonce":"ef107acd35d899907e3531b8","subject":"c6949254ee76254ade46d61ffa80605f"},{"ct":"3XgXml8shJpqfffO2OiqsNKy6vuqRWeDjon5NxvpTaVhHg/XF+0b+IJV9T0gQ7M8","field":"raw_output","key":"ccb135d81806bb2aabe2105ce3467c0c","nonce":"ef107acd35d899907e3531b8"}]"#,
            )
            .unwrap(),
            session_id: Some(ExternalId::new("s-1").unwrap()),
            state: Some(Hash32::digest(b"s")),
            tags: vec![
                Code::new("eu_ai_act:art12").unwrap(),
                Code::new("b").unwrap(),
            ],
            trace_id: Some(ExternalId::new("4bf92f3577b34da6").unwrap()),
            unicode: "18.0.0".into(),
        }
    }

    fn minimal() -> DecisionReceipt {
        DecisionReceipt {
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
            unicode: "18.0.0".into(),
        }
    }

    /// The direct writer gives exactly the generic encoder's bytes.
    #[test]
    fn direct_writer_matches_generic_encoder() {
        for r in [full(), minimal()] {
            assert_eq!(
                String::from_utf8(r.to_canonical().unwrap()).unwrap(),
                String::from_utf8(encoding::to_canonical(&r).unwrap()).unwrap()
            );
        }
        let mut r = minimal();
        r.model = Some(ModelRef {
            id: ExternalId::new("m").unwrap(),
            config: None,
        });
        r.metrics.output_tokens = Some(3);
        assert_eq!(
            r.to_canonical().unwrap(),
            encoding::to_canonical(&r).unwrap()
        );
    }

    #[test]
    fn unicode_version_rule() {
        for (v, ok) in [
            ("18.0.0", true),
            ("1.2.345", true),
            ("18.0", false),
            ("18.0.0.1", false),
            ("18..0", false),
            ("1234.0.0", false),
            ("18.0.x", false),
            ("", false),
        ] {
            let mut r = minimal();
            r.unicode = v.into();
            assert_eq!(r.check_rules().is_ok(), ok, "{v:?}");
        }
    }

    #[test]
    fn direct_writer_refuses_what_the_generic_encoder_refuses() {
        let mut r = minimal();
        r.metrics.latency_ms = Some((1 << 53) + 1);
        assert!(matches!(
            r.to_canonical(),
            Err(EncodingError::IntegerTooLarge(f)) if f == "latency_ms"
        ));
        assert!(encoding::to_canonical(&r).is_err());
    }

    fn ext_id() -> impl Strategy<Value = ExternalId> {
        "[!-~]{1,12}".prop_map(|s| ExternalId::new(s).unwrap())
    }

    fn code() -> impl Strategy<Value = Code> {
        "[a-z0-9][a-z0-9._:-]{0,8}".prop_map(|s| Code::new(s).unwrap())
    }

    fn finite() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>().prop_filter("finite, |x| <= 2^53", |x| x.is_finite()
                && x.abs() <= encoding::MAX_SAFE_INTEGER as f64),
            Just(0.0),
            Just(-0.0),
            Just(1e-7),
            Just(9_007_199_254_740_992.0),
            Just(5e-324),
        ]
    }

    fn check() -> impl Strategy<Value = Check> {
        (
            code(),
            code(),
            proptest::option::of(finite()),
            proptest::option::of(finite()),
            any::<bool>(),
            proptest::option::of(any::<String>()),
        )
            .prop_map(|(n, v, s, t, f, d)| {
                let mut c = Check::new(n.as_str(), v.as_str()).unwrap().fired(f);
                if let Some(s) = s {
                    c = c.score(s).unwrap();
                }
                if let Some(t) = t {
                    c = c.threshold(t).unwrap();
                }
                if let Some(d) = d {
                    c = c.detail(d);
                }
                c
            })
    }

    fn receipt() -> impl Strategy<Value = DecisionReceipt> {
        let hash = any::<[u8; 32]>().prop_map(Hash32);
        let small = proptest::option::of(0u64..=(1 << 53));
        (
            (
                prop::sample::select(Action::ALL.to_vec()),
                prop::collection::vec(check(), 0..3),
                hash.clone(),
                (small.clone(), small.clone(), small.clone(), small),
                proptest::option::of((ext_id(), proptest::option::of(hash.clone()))),
                proptest::option::of(hash.clone()),
                prop::collection::vec(any::<[u8; 16]>().prop_map(EntryId), 0..3),
            ),
            (
                prop::collection::vec(("[a-z:_]{1,10}", 1u32..), 0..3),
                prop::collection::vec(code(), 0..3),
                proptest::option::of(ext_id()),
                proptest::option::of(hash),
                prop::collection::vec(code(), 0..3),
                proptest::option::of(ext_id()),
                any::<String>(),
            ),
        )
            .prop_map(
                |(
                    (action, checks, input, (a, b, c, d), model, output, parents),
                    (pii, reasons, session_id, state, tags, trace_id, unicode),
                )| DecisionReceipt {
                    action,
                    checks,
                    input,
                    metrics: Metrics {
                        cost_micros: a,
                        input_tokens: b,
                        latency_ms: c,
                        output_tokens: d,
                    },
                    model: model.map(|(id, config)| ModelRef { id, config }),
                    output,
                    parents,
                    pii: pii
                        .into_iter()
                        .map(|(category, count)| PiiCount { category, count })
                        .collect(),
                    provenance: Vec::new(),
                    reasons,
                    sealed: Vec::new(),
                    session_id,
                    state,
                    tags,
                    trace_id,
                    unicode,
                },
            )
    }

    proptest! {
        #[test]
        fn direct_writer_matches_generic_encoder_on_any_receipt(r in receipt()) {
            prop_assert_eq!(r.to_canonical().unwrap(), encoding::to_canonical(&r).unwrap());
        }
    }

    // The direct reader (`read_canonical`, via `Body::from_known_canonical`)
    // against the path it replaces (`Body::from_known_canonical_reencoded`).

    use crate::body::{Body, EntryKind};
    use serde_json::{json, Value};

    /// The new and the old decoding of `bytes` agree: the same body (also
    /// by its Debug text, which tells -0.0 from 0.0) or the same error.
    /// Whenever the direct reader returns a receipt, its canonical form is
    /// `bytes`. Returns whether the direct reader returned one.
    fn same_verdict(bytes: &[u8]) -> bool {
        let new = Body::from_known_canonical(EntryKind::Decision, bytes);
        let old = Body::from_known_canonical_reencoded(EntryKind::Decision, bytes);
        let text = String::from_utf8_lossy(bytes);
        assert_eq!(new, old, "{text}");
        assert_eq!(format!("{new:?}"), format!("{old:?}"), "{text}");
        match DecisionReceipt::read_canonical(bytes) {
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

    /// Bytes the mutations below splice in.
    const SPLICE: &[u8] = b"\"\\,:{}[]0123456789-+.eEnultrfa \x1f\x7f\x80\xc3\xa9\xff";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The canonical bytes of any receipt are read back directly, as
        /// that receipt, with the old path's verdict.
        #[test]
        fn direct_reader_reads_back_any_receipt(r in any_receipt()) {
            let bytes = r.to_canonical().unwrap();
            prop_assert_eq!(DecisionReceipt::read_canonical(&bytes), Some(r));
            same_verdict(&bytes);
        }

        /// Every mutation of a receipt's value (as canonical bytes, and as
        /// serde_json's compact bytes) gets the old path's verdict.
        #[test]
        fn direct_reader_agrees_on_mutated_values(r in any_receipt()) {
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
            r in any_receipt(),
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

    /// Hand-picked edges, each spliced into the body of the benchmark
    /// packages: accepted directly exactly when the old path accepts.
    #[test]
    fn direct_reader_agrees_on_edge_cases() {
        let body = concat!(
            r#"{"action":"reject","checks":[{"detail":"ok","fired":false,"name":"toxicity","#,
            r#""score":0.25,"threshold":0.5,"version":"v1"}],"#,
            r#""input":"d76f36ed5f851e3d704778cec654530641adf8b0ee3c15c1a6802ba5688b9d69","#,
            r#""metrics":{"latency_ms":120},"model":{"config":"#,
            r#""e67d23e7820c49a8051dac2831f38290f5e72f66c8db5079eeb60d82f14894c0","id":"model-x"},"#,
            r#""output":"799b6261bc8f8532aa9793379424142e5ab22e2720017faf116cf14959f0a0cf","#,
            r#""pii":[{"category":"email","count":1}],"reasons":["policy.ok"],"#,
            r#""tags":["eu_ai_act:art12"],"trace_id":"trace-0","unicode":"16.0.0"}"#
        );
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
