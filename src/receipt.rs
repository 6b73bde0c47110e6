//! The decision receipt: the body of a `decision` entry (SPEC §4.1).
//!
//! A receipt records what an AI system decided and why, without holding the
//! input or output in clear: both are keyed commitments (SPEC §4.2).

use serde::{Deserialize, Serialize};

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
        let parts: Vec<&str> = self.unicode.split('.').collect();
        if parts.len() != 3
            || parts
                .iter()
                .any(|p| p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err("unicode must be major.minor.patch".into());
        }
        crate::shred::check_sealed_rules(&self.sealed)
    }
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
