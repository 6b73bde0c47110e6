//! Entry kinds and their bodies (SPEC §4). The decision receipt lives in
//! [`crate::receipt`]; the other kinds are here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::ContractResult;
use crate::encoding::{self, EncodingError};
use crate::hash::Hash32;
use crate::id::{Code, EntryId, Epoch, ExternalId};
use crate::keys::VerifierKey;
use crate::merkle::TreeSize;
use crate::monitor::MonitorResult;
use crate::receipt::{DecisionReceipt, Metrics};
use crate::shred::Shred;

/// The kind of a log entry. Its wire name selects the body schema.
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
pub enum EntryKind {
    /// An AI decision receipt ([`DecisionReceipt`]).
    Decision,
    /// A tool/function call made by an agent ([`ToolCall`]).
    ToolCall,
    /// A human reviewer's sign-off ([`HumanOversight`]).
    HumanOversight,
    /// A policy outcome, e.g. a refusal ([`PolicyFlag`]).
    PolicyFlag,
    /// The log key was replaced ([`KeyRotation`]).
    KeyRotation,
    /// First entry of a new epoch, binding the previous epoch's final
    /// checkpoint ([`crate::EpochLink`]).
    EpochLink,
    /// The store repaired a torn or inconsistent tail on open ([`StoreRepair`]).
    StoreRepair,
    /// Keys were crypto-shredded ([`Shred`]).
    Shred,
    /// A monitor run over verified entries ([`crate::monitor::MonitorResult`]).
    Monitor,
    /// A behavioural-contract evaluation over verified entries ([`crate::ContractResult`]).
    Contract,
}

impl EntryKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Decision => "decision",
            EntryKind::ToolCall => "tool_call",
            EntryKind::HumanOversight => "human_oversight",
            EntryKind::PolicyFlag => "policy_flag",
            EntryKind::KeyRotation => "key_rotation",
            EntryKind::EpochLink => "epoch_link",
            EntryKind::StoreRepair => "store_repair",
            EntryKind::Shred => "shred",
            EntryKind::Monitor => "monitor",
            EntryKind::Contract => "contract",
        }
    }
}

/// Outcome of a tool call.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ToolStatus {
    /// Completed.
    Ok,
    /// Failed.
    Error,
    /// Not run because a policy denied it.
    Denied,
}

/// Body of a `tool_call` entry.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    /// Keyed commitment to the canonical arguments.
    pub args: Hash32,
    /// The agent framework's call id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<ExternalId>,
    /// Latency, tokens, cost.
    #[serde(default, skip_serializing_if = "Metrics::is_empty")]
    pub metrics: Metrics,
    /// Entries this call depends on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<EntryId>,
    /// Keyed commitment to the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Hash32>,
    /// Outcome.
    pub status: ToolStatus,
    /// Tool name.
    pub tool: Code,
    /// Trace id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<ExternalId>,
}

/// What a human reviewer decided.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OversightOutcome {
    /// Confirmed the AI's decision.
    Approve,
    /// Replaced the AI's decision.
    Override,
    /// Rejected the output.
    Reject,
    /// Passed it upwards.
    Escalate,
}

/// Body of a `human_oversight` entry (EU AI Act Art. 14).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HumanOversight {
    /// Free-text note, PII-stripped, at most 1 KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The decision.
    pub outcome: OversightOutcome,
    /// Pseudonymous reviewer id.
    pub reviewer: ExternalId,
    /// The entry reviewed.
    pub target: EntryId,
    /// Trace id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<ExternalId>,
}

/// Outcome of a policy flag.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FlagOutcome {
    /// The request was refused: recorded even though nothing ran.
    Blocked,
    /// Allowed but flagged for review.
    Flagged,
    /// Content was redacted.
    Redacted,
}

/// Body of a `policy_flag` entry.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyFlag {
    /// Keyed commitment to the refused input, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Hash32>,
    /// Outcome.
    pub outcome: FlagOutcome,
    /// Policy name.
    pub policy: Code,
    /// Reason codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Code>,
    /// The entry concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<EntryId>,
    /// Trace id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<ExternalId>,
}

/// Body of a `key_rotation` entry: signed by the old key, names the new one.
/// Entries after it are signed by the new key (SPEC §5.3).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    /// The new verifier key.
    pub new_key: VerifierKey,
    /// Why, e.g. `scheduled`, `compromise`.
    pub reason: Code,
}

/// Body of an `epoch_link` entry: the first entry of epoch `prev_epoch + 1`,
/// binding the final signed checkpoint of epoch `prev_epoch` (SPEC §7.4).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EpochLink {
    /// SHA-256 of the complete signed checkpoint note.
    pub note_hash: Hash32,
    /// Origin line of its final checkpoint.
    pub origin: String,
    /// The epoch that ended.
    pub prev_epoch: Epoch,
    /// Root hash of its final checkpoint.
    pub root: Hash32,
    /// Tree size of its final checkpoint (= number of entries of the epoch).
    pub size: TreeSize,
}

/// Body of a `store_repair` entry: what a store repaired when it was opened
/// (e.g. an incomplete last write after a crash). Recorded so that the
/// repair itself is part of the evidence (SPEC §4.1).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreRepair {
    /// The head seq after repair (the last consistent entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_after: Option<crate::id::Seq>,
    /// The head seq the store claimed before repair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_before: Option<crate::id::Seq>,
    /// Seqs of rows set aside (never deleted) because they were unreadable or
    /// inconsistent, highest first. Those seqs are reused by later entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quarantined: Vec<crate::id::Seq>,
    /// What was wrong: `torn_tail`, `missing_head`, `head_ahead`,
    /// `head_behind`, `head_mismatch`.
    pub reason: Code,
}

/// A typed entry body.
#[derive(Clone, PartialEq, Debug)]
#[non_exhaustive]
pub enum Body {
    /// `decision`
    Decision(Box<DecisionReceipt>),
    /// `tool_call`
    ToolCall(ToolCall),
    /// `human_oversight`
    HumanOversight(HumanOversight),
    /// `policy_flag`
    PolicyFlag(PolicyFlag),
    /// `key_rotation`
    KeyRotation(KeyRotation),
    /// `epoch_link`
    EpochLink(EpochLink),
    /// `store_repair`
    StoreRepair(StoreRepair),
    /// `shred`
    Shred(Shred),
    /// `monitor`
    Monitor(MonitorResult),
    /// `contract`
    Contract(ContractResult),
}

impl Body {
    /// The kind of this body.
    pub fn kind(&self) -> EntryKind {
        match self {
            Body::Decision(_) => EntryKind::Decision,
            Body::ToolCall(_) => EntryKind::ToolCall,
            Body::HumanOversight(_) => EntryKind::HumanOversight,
            Body::PolicyFlag(_) => EntryKind::PolicyFlag,
            Body::KeyRotation(_) => EntryKind::KeyRotation,
            Body::EpochLink(_) => EntryKind::EpochLink,
            Body::StoreRepair(_) => EntryKind::StoreRepair,
            Body::Shred(_) => EntryKind::Shred,
            Body::Monitor(_) => EntryKind::Monitor,
            Body::Contract(_) => EntryKind::Contract,
        }
    }

    /// The body's canonical bytes (what is embedded in the envelope), via
    /// the fast path [`encoding::to_canonical_record`].
    ///
    /// # Errors
    /// [`EncodingError`] for out-of-range integers.
    pub fn to_canonical(&self) -> Result<Vec<u8>, EncodingError> {
        match self {
            // Written directly: the hot path of every receipt.
            Body::Decision(b) => b.to_canonical(),
            Body::ToolCall(b) => encoding::to_canonical_record(b),
            Body::HumanOversight(b) => encoding::to_canonical_record(b),
            Body::PolicyFlag(b) => encoding::to_canonical_record(b),
            Body::KeyRotation(b) => encoding::to_canonical_record(b),
            Body::EpochLink(b) => encoding::to_canonical_record(b),
            Body::StoreRepair(b) => encoding::to_canonical_record(b),
            Body::Shred(b) => encoding::to_canonical_record(b),
            Body::Monitor(b) => encoding::to_canonical_record(b),
            Body::Contract(b) => encoding::to_canonical_record(b),
        }
    }

    /// The body as a JSON value.
    ///
    /// # Errors
    /// [`EncodingError`] for non-finite numbers and the like.
    pub fn to_value(&self) -> Result<Value, EncodingError> {
        let r = match self {
            Body::Decision(b) => serde_json::to_value(b),
            Body::ToolCall(b) => serde_json::to_value(b),
            Body::HumanOversight(b) => serde_json::to_value(b),
            Body::PolicyFlag(b) => serde_json::to_value(b),
            Body::KeyRotation(b) => serde_json::to_value(b),
            Body::EpochLink(b) => serde_json::to_value(b),
            Body::StoreRepair(b) => serde_json::to_value(b),
            Body::Shred(b) => serde_json::to_value(b),
            Body::Monitor(b) => serde_json::to_value(b),
            Body::Contract(b) => serde_json::to_value(b),
        };
        let v = r.map_err(|e| EncodingError::Serialize(e.to_string()))?;
        // Validate encodability now (non-finite floats, large integers).
        encoding::canonical_value(&v)?;
        Ok(v)
    }

    /// Decodes the body bytes of an entry that verification already
    /// accepted (chain verification's `body` check ran [`Body::from_value`],
    /// with its shape, rule and canonical-form checks, on these exact
    /// bytes): a direct typed decode, without repeating them. Only
    /// [`crate::VerifiedLog`] calls it, on entries of a passed report.
    pub(crate) fn decode_verified(kind: EntryKind, bytes: &[u8]) -> Result<Body, EncodingError> {
        fn de<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, EncodingError> {
            serde_json::from_slice(b).map_err(|e| EncodingError::Shape(e.to_string()))
        }
        Ok(match kind {
            EntryKind::Decision => Body::Decision(Box::new(de(bytes)?)),
            EntryKind::ToolCall => Body::ToolCall(de(bytes)?),
            EntryKind::HumanOversight => Body::HumanOversight(de(bytes)?),
            EntryKind::PolicyFlag => Body::PolicyFlag(de(bytes)?),
            EntryKind::KeyRotation => Body::KeyRotation(de(bytes)?),
            EntryKind::EpochLink => Body::EpochLink(de(bytes)?),
            EntryKind::StoreRepair => Body::StoreRepair(de(bytes)?),
            EntryKind::Monitor => Body::Monitor(de(bytes)?),
            EntryKind::Contract => Body::Contract(de(bytes)?),
            EntryKind::Shred => Body::Shred(de(bytes)?),
        })
    }

    /// Decodes a body of `kind` from its JSON value, strictly: unknown fields
    /// are refused, and the value must be exactly what the typed body encodes
    /// to (so `null` for an absent optional, or `[]` for an empty list, is
    /// refused: one record, one encoding).
    ///
    /// # Errors
    /// [`EncodingError::Shape`].
    pub fn from_value(kind: EntryKind, v: &Value) -> Result<Body, EncodingError> {
        fn de<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, EncodingError> {
            T::deserialize(v).map_err(|e| EncodingError::Shape(e.to_string()))
        }
        let body = match kind {
            EntryKind::Decision => Body::Decision(Box::new(de(v)?)),
            EntryKind::ToolCall => Body::ToolCall(de(v)?),
            EntryKind::HumanOversight => Body::HumanOversight(de(v)?),
            EntryKind::PolicyFlag => Body::PolicyFlag(de(v)?),
            EntryKind::KeyRotation => Body::KeyRotation(de(v)?),
            EntryKind::EpochLink => Body::EpochLink(de(v)?),
            EntryKind::StoreRepair => Body::StoreRepair(de(v)?),
            EntryKind::Shred => Body::Shred(de(v)?),
            EntryKind::Monitor => Body::Monitor(de(v)?),
            EntryKind::Contract => Body::Contract(de(v)?),
        };
        body.check_rules(kind)?;
        // The typed body's fast canonical form must equal the generic
        // canonical form of what was read: one record, one encoding (and a
        // standing cross-check of the fast encoder).
        if body.to_canonical()? != encoding::canonical_value(v)? {
            return Err(EncodingError::Shape(format!(
                "{} body is not in its one canonical shape (null or empty values present?)",
                kind.as_str()
            )));
        }
        Ok(body)
    }

    /// The rules of a body beyond its schema (text lengths, orders …).
    fn check_rules(&self, kind: EntryKind) -> Result<(), EncodingError> {
        let rules = match self {
            Body::Decision(d) => d.check_rules(),
            Body::Shred(s) => s.check_rules(),
            Body::HumanOversight(h)
                if h.note
                    .as_ref()
                    .is_some_and(|n| n.len() > crate::receipt::MAX_TEXT_BYTES) =>
            {
                Err("oversight note is longer than 1024 bytes".into())
            }
            _ => Ok(()),
        };
        rules.map_err(|e| EncodingError::Shape(format!("{} body: {e}", kind.as_str())))
    }

    /// Decodes a body of `kind` from its bytes, strictly: the same result
    /// as [`Body::from_value`] on the JSON value of `bytes` (and the same
    /// error, which comes from it), without building that value when the
    /// bytes are the body's one canonical form.
    ///
    /// The direct path: canonical bytes ([`encoding::is_canonical`]), a
    /// typed decode straight from them (unknown fields refused), the rules,
    /// and the typed body's canonical form equal to the bytes. Then
    /// `from_value` accepts too, with the same body: the bytes are the
    /// canonical form of their value, so its comparison is this one.
    ///
    /// # Errors
    /// [`EncodingError::Syntax`] when `bytes` are not JSON,
    /// [`EncodingError::DuplicateKey`] when an object in them repeats a key,
    /// otherwise as [`Body::from_value`].
    pub fn from_canonical(kind: EntryKind, bytes: &[u8]) -> Result<Body, EncodingError> {
        if encoding::is_canonical(bytes) {
            Self::from_known_canonical(kind, bytes)
        } else {
            let v = Self::value_of(bytes)?;
            // serde_json keeps the last of a repeated key; the format
            // refuses the text (SPEC §2.2 step 3). Canonical bytes never
            // repeat one, so only this path looks.
            if let Err(e @ EncodingError::DuplicateKey(_)) = encoding::parse_strict(bytes) {
                return Err(e);
            }
            Body::from_value(kind, &v)
        }
    }

    /// [`Body::from_canonical`] for bytes already known to be canonical
    /// (accepted by [`encoding::is_canonical`], or a member of a text it
    /// accepted).
    pub(crate) fn from_known_canonical(
        kind: EntryKind,
        bytes: &[u8],
    ) -> Result<Body, EncodingError> {
        match Self::decode_exact(kind, bytes) {
            Some(body) => Ok(body),
            None => Self::from_generic(kind, bytes),
        }
    }

    /// What verification keeps of [`Body::from_known_canonical`]'s answer:
    /// the key a `key_rotation` body introduces (`None` for any other
    /// body), or the same error. A decision body that
    /// [`DecisionReceipt::check_canonical`] accepts is not built (that
    /// check accepts only what the direct read, with the rules, accepts);
    /// anything else takes [`Body::from_known_canonical`] itself.
    pub(crate) fn check_known_canonical(
        kind: EntryKind,
        bytes: &[u8],
    ) -> Result<Option<VerifierKey>, EncodingError> {
        if kind == EntryKind::Decision && DecisionReceipt::check_canonical(bytes) {
            return Ok(None);
        }
        Self::from_known_canonical(kind, bytes).map(Body::into_new_key)
    }

    /// The key a `key_rotation` body introduces; `None` for other bodies.
    pub(crate) fn into_new_key(self) -> Option<VerifierKey> {
        match self {
            Body::KeyRotation(rot) => Some(rot.new_key),
            _ => None,
        }
    }

    /// [`Body::from_known_canonical`] as it was before decision bodies were
    /// read directly: every kind decoded by serde and re-encoded. The
    /// oracle the direct reader is tested against.
    #[cfg(test)]
    pub(crate) fn from_known_canonical_reencoded(
        kind: EntryKind,
        bytes: &[u8],
    ) -> Result<Body, EncodingError> {
        match Self::decode_reencoded(kind, bytes) {
            Some(body) => Ok(body),
            None => Self::from_generic(kind, bytes),
        }
    }

    fn from_generic(kind: EntryKind, bytes: &[u8]) -> Result<Body, EncodingError> {
        Body::from_value(kind, &Self::value_of(bytes)?)
    }

    /// The JSON value of `bytes`, with the error [`Body::from_canonical`]
    /// has always given for bytes that are not JSON.
    fn value_of(bytes: &[u8]) -> Result<Value, EncodingError> {
        serde_json::from_slice(bytes).map_err(|e| EncodingError::Syntax(e.to_string()))
    }

    /// The direct path of [`Body::from_known_canonical`]; `None` sends the
    /// bytes to the generic one.
    ///
    /// A decision body is first read by [`DecisionReceipt::read_canonical`],
    /// which returns a receipt only when its canonical form is `bytes`:
    /// then the typed decode gives that receipt too, and the comparison
    /// below holds, so neither is repeated. Anything else it leaves to
    /// [`Body::decode_reencoded`], the path every kind took before.
    fn decode_exact(kind: EntryKind, bytes: &[u8]) -> Option<Body> {
        if kind == EntryKind::Decision {
            if let Some(r) = DecisionReceipt::read_canonical(bytes) {
                let body = Body::Decision(Box::new(r));
                if body.check_rules(kind).is_ok() {
                    return Some(body);
                }
            }
        }
        Self::decode_reencoded(kind, bytes)
    }

    /// A typed decode of `bytes`, the rules, and the typed body's canonical
    /// form equal to `bytes`.
    fn decode_reencoded(kind: EntryKind, bytes: &[u8]) -> Option<Body> {
        let body = Self::decode_verified(kind, bytes).ok()?;
        body.check_rules(kind).ok()?;
        (body.to_canonical().ok()?.as_slice() == bytes).then_some(body)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const KINDS: [EntryKind; 10] = [
        EntryKind::Decision,
        EntryKind::ToolCall,
        EntryKind::HumanOversight,
        EntryKind::PolicyFlag,
        EntryKind::KeyRotation,
        EntryKind::EpochLink,
        EntryKind::StoreRepair,
        EntryKind::Shred,
        EntryKind::Monitor,
        EntryKind::Contract,
    ];

    /// `from_canonical` gives what `from_value` gives on the bytes' value.
    fn agree(kind: EntryKind, bytes: &[u8]) -> bool {
        let direct = Body::from_canonical(kind, bytes);
        let generic = serde_json::from_slice::<Value>(bytes)
            .map_err(|e| EncodingError::Syntax(e.to_string()))
            .and_then(|v| Body::from_value(kind, &v));
        assert_eq!(
            direct,
            generic,
            "{kind:?} {}",
            String::from_utf8_lossy(bytes)
        );
        direct.is_ok()
    }

    #[test]
    fn direct_decoding_agrees_with_the_generic_one() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
        let mut bodies: Vec<(EntryKind, Value)> = Vec::new();
        for f in std::fs::read_dir(dir).unwrap() {
            let path = f.unwrap().path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                for line in std::fs::read(&path).unwrap().split(|b| *b == b'\n') {
                    if let Ok(e) = crate::Entry::from_line(line) {
                        bodies.push((e.kind(), e.body_value().unwrap()));
                    }
                }
            }
        }
        assert!(bodies.len() > 30);
        let (mut ok, mut cases, mut rotations) = (0, 0, 0);
        for (kind, v) in &bodies {
            let mut variants = vec![v.clone()];
            if let Value::Object(m) = v {
                for k in m.keys() {
                    for edit in [
                        None,
                        Some(Value::Null),
                        Some(Value::Array(vec![])),
                        Some(Value::from("x")),
                        Some(Value::from(1.5)),
                        Some(Value::from(-1)),
                        Some(Value::Object(serde_json::Map::new())),
                    ] {
                        let mut m2 = m.clone();
                        match edit {
                            None => {
                                m2.remove(k);
                            }
                            Some(x) => {
                                m2.insert(k.clone(), x);
                            }
                        }
                        variants.push(Value::Object(m2));
                    }
                }
                let mut extra = m.clone();
                extra.insert("zz_unknown".into(), Value::from(1));
                variants.push(Value::Object(extra));
            }
            for var in variants {
                let bytes = encoding::canonical_value(&var).unwrap();
                for k in KINDS {
                    cases += 1;
                    if agree(k, &bytes) {
                        ok += 1;
                    }
                    // The check-only path: the old path's key or error.
                    let key = Body::check_known_canonical(k, &bytes);
                    let old = Body::from_known_canonical_reencoded(k, &bytes);
                    assert_eq!(key, old.map(Body::into_new_key), "{k:?} {var}");
                    if matches!(key, Ok(Some(_))) {
                        rotations += 1;
                    }
                }
                // Not canonical: whitespace.
                agree(*kind, &serde_json::to_vec_pretty(&var).unwrap());
            }
            agree(*kind, &encoding::canonical_value(v).unwrap());
        }
        assert!(ok > 30 && cases > 1000, "{ok} of {cases}");
        assert!(rotations > 0);
        agree(EntryKind::Decision, b"not json");
    }

    /// A body whose bytes repeat a key, at the top or nested deep: refused
    /// (SPEC §2.2 step 3), never read as one of the two values. The bytes
    /// are not canonical, so this is the fallback's answer.
    #[test]
    fn a_repeated_key_at_any_depth_is_refused() {
        let body = concat!(
            r#"{"action":"reject","checks":[{"detail":"ok","fired":false,"name":"toxicity","#,
            r#""score":0.25,"threshold":0.5,"version":"v1"}],"#,
            r#""input":"d76f36ed5f851e3d704778cec654530641adf8b0ee3c15c1a6802ba5688b9d69","#,
            r#""metrics":{"latency_ms":120},"model":{"config":"#,
            r#""e67d23e7820c49a8051dac2831f38290f5e72f66c8db5079eeb60d82f14894c0","id":"model-x"},"#,
            r#""reasons":["policy.ok"],"trace_id":"trace-0","unicode":"16.0.0"}"#
        );
        let good = Body::from_canonical(EntryKind::Decision, body.as_bytes()).unwrap();
        assert_eq!(good.to_canonical().unwrap(), body.as_bytes());
        for (from, to) in [
            // Top level, a field the typed decode keeps the last of.
            (
                r#""trace_id":"trace-0""#,
                r#""trace_id":"trace-0","trace_id":"trace-1""#,
            ),
            (
                r#""action":"reject""#,
                r#""action":"reject","action":"accept""#,
            ),
            // One object down (model), two down (a check in the list).
            (r#""id":"model-x""#, r#""id":"model-x","id":"model-y""#),
            (r#""version":"v1""#, r#""version":"v1","version":"v2""#),
            (
                r#""latency_ms":120"#,
                r#""latency_ms":120,"latency_ms":121"#,
            ),
            // The same key before its twin (out of order as well).
            (r#""name":"toxicity""#, r#""name":"evil","name":"toxicity""#),
        ] {
            assert!(body.contains(from), "{from}");
            let bad = body.replacen(from, to, 1);
            let got = Body::from_canonical(EntryKind::Decision, bad.as_bytes());
            assert!(
                matches!(got, Err(EncodingError::DuplicateKey(_))),
                "{bad}: {got:?}"
            );
        }
        // Deep inside a free-form member: a tool call's arguments nest
        // nothing free-form, so build the nesting in a key the schema
        // refuses anyway; the duplicate is what is reported.
        let deep = format!(
            r#"{{"x":{}{{"k":1,"k":2}}{}}}"#,
            r#"{"a":"#.repeat(60),
            "}".repeat(60)
        );
        for k in KINDS {
            let got = Body::from_canonical(k, deep.as_bytes());
            assert!(
                matches!(got, Err(EncodingError::DuplicateKey(_))),
                "{k:?}: {got:?}"
            );
        }
    }
}
