//! The decision receipt: the body of a `decision` entry (SPEC §4.1).
//!
//! A receipt records what an AI system decided and why, without holding the
//! input or output in clear: both are keyed commitments (SPEC §4.2).

use serde::{Deserialize, Serialize};

use crate::encoding::{self, EncodingError, ObjectWriter};
use crate::hash::Hash32;
use crate::id::{Code, EntryId, ExternalId};

mod read;

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
        // The direct reader's check-only path (`read::Rules`) applies the
        // same rules through the same predicates, value by value.
        if self
            .pii
            .iter()
            .any(|p| !pii_is_counted(&p.category, p.count))
        {
            return Err("pii lists only non-empty categories with counts of at least 1".into());
        }
        if self.pii.windows(2).any(|w| w[0].category >= w[1].category) {
            return Err("pii is sorted by category, each category once".into());
        }
        if self
            .checks
            .iter()
            .any(|c| c.detail.as_ref().is_some_and(|d| !text_fits(d)))
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
        if !unicode_is_well_formed(&self.unicode) {
            return Err("unicode must be major.minor.patch".into());
        }
        crate::shred::check_sealed_rules(&self.sealed)
    }
}

/// A PII count of [`DecisionReceipt::check_rules`]: a non-empty category,
/// counted at least once.
fn pii_is_counted(category: &str, count: u32) -> bool {
    count != 0 && !category.is_empty()
}

/// A free text of at most [`MAX_TEXT_BYTES`].
fn text_fits(text: &str) -> bool {
    text.len() <= MAX_TEXT_BYTES
}

/// A Unicode version `major.minor.patch`: three dot-separated parts of
/// 1–3 ASCII digits (no allocation: this runs on every append).
fn unicode_is_well_formed(version: &str) -> bool {
    let mut parts = 0;
    let well_formed = version.split('.').all(|p| {
        parts += 1;
        !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit())
    });
    well_formed && parts == 3
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(super) fn full() -> DecisionReceipt {
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

    pub(super) fn finite() -> impl Strategy<Value = f64> {
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

    pub(super) fn receipt() -> impl Strategy<Value = DecisionReceipt> {
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
}
