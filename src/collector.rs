//! The collector: what application code calls around each AI request.
//!
//! ```text
//! raw input ──NFKC──► PII stripped ──HMAC(tenant key)──► input commitment
//! checks, action, model, reasons, tags ─────────────────► decision receipt
//! receipt ──JCS──► entry hash ──Ed25519──► chained, stored entry
//! ```
//!
//! A [`Collector`] is cheap to clone and `Send + Sync`; a [`DecisionDraft`]
//! is `Send`, so a request can be recorded across `.await` points. Setters
//! validate their input immediately; nothing touches the chain before
//! [`DecisionDraft::emit`], and a failed `emit` leaves the chain unchanged.

use std::sync::Arc;

use crate::body::{
    Body, FlagOutcome, HumanOversight, OversightOutcome, PolicyFlag, ToolCall, ToolStatus,
};
use crate::clock::Clock;
use crate::commitment::CommitmentKey;
use crate::encoding::{COMMITMENT_LABEL, DIGEST_LABEL};
use crate::entry::{Entry, SigningMode};
use crate::hash::Hash32;
use crate::id::{Code, EntryId, ExternalId, IdError, LogName, TenantId};
use crate::keys::Signer;
use crate::log::{AuditLog, LogError};
use crate::pii::{PiiError, PiiPolicy, PiiReport};
use crate::provenance::{Provenance, SourceType, TrustLevel};
use crate::random::RandomSource;
use crate::receipt::{Action, Check, DecisionReceipt, Metrics, ModelRef, PiiCount, MAX_TEXT_BYTES};
use crate::secret::{MemorySecrets, SecretError, TenantSecrets};
use crate::shred::{KeyStore, SealedField, ShredError, SubjectRef};
use crate::store::Store;

/// Default cap on one input or output: 1 MiB.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 1 << 20;

/// Errors of recording a request. On any error the chain is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectorError {
    /// An input, output or state is larger than the configured cap.
    #[error("{field} is {size} bytes, over the cap of {cap} bytes")]
    TooLarge {
        /// Which field.
        field: &'static str,
        /// Its size.
        size: usize,
        /// The cap.
        cap: usize,
    },
    /// Bytes given to a text field are not UTF-8.
    #[error("{0} is not valid UTF-8")]
    InvalidUtf8(&'static str),
    /// An identifier or code is invalid.
    #[error("invalid {field}: {source}")]
    Id {
        /// Which field.
        field: &'static str,
        /// Why.
        #[source]
        source: IdError,
    },
    /// A required part of the receipt was not set.
    #[error("{0} was not set before emit")]
    Missing(&'static str),
    /// PII stripping failed.
    #[error(transparent)]
    Pii(#[from] PiiError),
    /// The tenant's secrets are unavailable (e.g. shredded).
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// Appending to the log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Sealing a field failed (e.g. the subject was shredded).
    #[error(transparent)]
    Shred(#[from] ShredError),
    /// A field was sealed without a key store ([`CollectorBuilder::key_store`]).
    #[error("sealing {0} needs a key store (CollectorBuilder::key_store)")]
    NoKeyStore(&'static str),
    /// A field name was sealed twice in one receipt.
    #[error("sealed field {0} was set twice")]
    DuplicateField(Code),
}

fn id_err(field: &'static str) -> impl FnOnce(IdError) -> CollectorError {
    move |source| CollectorError::Id { field, source }
}

struct Inner {
    log: AuditLog,
    secrets: Arc<dyn TenantSecrets>,
    keys: Option<Arc<KeyStore>>,
    pii: PiiPolicy,
    max_input_bytes: usize,
}

/// Records AI requests as signed, chained decision receipts.
#[derive(Clone)]
pub struct Collector {
    inner: Arc<Inner>,
}

/// Builds a [`Collector`]: the signer and the store are required up front,
/// so a collector without them cannot exist.
pub struct CollectorBuilder {
    log: crate::log::AuditLogBuilder,
    secrets: Arc<dyn TenantSecrets>,
    keys: Option<Arc<KeyStore>>,
    pii: Option<PiiPolicy>,
    max_input_bytes: usize,
}

impl CollectorBuilder {
    /// Tenant secrets provider (default: [`MemorySecrets`]).
    pub fn secrets(mut self, secrets: Arc<dyn TenantSecrets>) -> Self {
        self.secrets = secrets;
        self
    }
    /// Key store for sealed fields and crypto-shredding; it also becomes the
    /// tenant secrets provider (commitment keys live in it).
    pub fn key_store(mut self, keys: Arc<KeyStore>) -> Self {
        self.secrets = keys.clone();
        self.keys = Some(keys);
        self
    }
    /// PII policy (default: every built-in detector, redact mode).
    pub fn pii(mut self, policy: PiiPolicy) -> Self {
        self.pii = Some(policy);
        self
    }
    /// Cap on one input/output/state in bytes (default 1 MiB).
    pub fn max_input_bytes(mut self, cap: usize) -> Self {
        self.max_input_bytes = cap;
        self
    }
    /// Clock (default: system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.log = self.log.clock(clock);
        self
    }
    /// Source of entry ids (default: OS RNG).
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.log = self.log.random(random);
        self
    }
    /// When to sign checkpoints and roll epochs (default: on demand, one epoch).
    pub fn seal_policy(mut self, policy: crate::log::SealPolicy) -> Self {
        self.log = self.log.seal_policy(policy);
        self
    }
    /// Per-entry signatures (default) or batch sealing.
    pub fn signing_mode(mut self, mode: SigningMode) -> Self {
        self.log = self.log.signing_mode(mode);
        self
    }
    /// Builds the collector.
    ///
    /// # Errors
    /// [`CollectorError::Pii`] if the default PII policy cannot be built.
    pub fn build(self) -> Result<Collector, CollectorError> {
        let pii = match self.pii {
            Some(p) => p,
            None => PiiPolicy::try_default()?,
        };
        Ok(Collector {
            inner: Arc::new(Inner {
                log: self.log.build(),
                secrets: self.secrets,
                keys: self.keys,
                pii,
                max_input_bytes: self.max_input_bytes,
            }),
        })
    }
}

impl Collector {
    /// Starts building a collector for the log `name`.
    pub fn builder(
        name: LogName,
        signer: Arc<dyn Signer>,
        store: Arc<dyn Store>,
    ) -> CollectorBuilder {
        CollectorBuilder {
            log: AuditLog::builder(name, signer, store),
            secrets: Arc::new(MemorySecrets::new()),
            keys: None,
            pii: None,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
        }
    }

    /// The underlying log.
    pub fn log(&self) -> &AuditLog {
        &self.inner.log
    }

    /// The key store, when one was configured.
    pub fn key_store(&self) -> Option<&Arc<KeyStore>> {
        self.inner.keys.as_ref()
    }

    /// Starts a decision receipt for one request of `tenant`.
    ///
    /// # Errors
    /// [`CollectorError::Secret`] when the tenant's commitment key is unavailable.
    pub fn start(&self, tenant: &TenantId) -> Result<DecisionDraft, CollectorError> {
        let key = self.inner.secrets.commitment_key(tenant)?;
        Ok(DecisionDraft {
            collector: self.clone(),
            tenant: tenant.clone(),
            key,
            input: None,
            output: None,
            state: None,
            checks: Vec::new(),
            action: None,
            reasons: Vec::new(),
            tags: Vec::new(),
            model: None,
            pii: PiiReport::default(),
            trace_id: None,
            session_id: None,
            parents: Vec::new(),
            metrics: Metrics::default(),
            entry_id: None,
            subject: None,
            sealed: Vec::new(),
            provenance: Vec::new(),
        })
    }

    /// Records one request around a closure. The closure gets the draft
    /// (input already set) and returns the application's result; the
    /// receipt is emitted afterwards. If the closure fails, the receipt is
    /// still emitted — with action `fail_retry` unless the closure set one,
    /// and reason `app_error` — so failures are in the log too.
    ///
    /// # Errors
    /// [`WrapError::Collector`] when recording failed (the closure may have
    /// run); [`WrapError::App`] with the receipt when the closure failed.
    pub fn wrap<T, E>(
        &self,
        tenant: &TenantId,
        input: &str,
        f: impl FnOnce(&mut DecisionDraft) -> Result<T, E>,
    ) -> Result<(T, Entry), WrapError<E>> {
        let mut draft = self.start(tenant)?;
        draft.set_input(input)?;
        match f(&mut draft) {
            Ok(v) => Ok((v, draft.emit()?)),
            Err(e) => {
                if draft.action.is_none() {
                    draft.set_action(Action::FailRetry);
                }
                draft.add_reason("app_error")?;
                let receipt = draft.emit()?;
                Err(WrapError::App {
                    error: e,
                    receipt: Box::new(receipt),
                })
            }
        }
    }

    fn commitment_key(&self, tenant: &TenantId) -> Result<Arc<CommitmentKey>, CollectorError> {
        Ok(self.inner.secrets.commitment_key(tenant)?)
    }

    fn check_size(&self, field: &'static str, size: usize) -> Result<(), CollectorError> {
        if size > self.inner.max_input_bytes {
            return Err(CollectorError::TooLarge {
                field,
                size,
                cap: self.inner.max_input_bytes,
            });
        }
        Ok(())
    }

    /// Records a tool call made by an agent. Arguments and result are given
    /// as bytes (e.g. canonical JSON) and stored only as keyed commitments.
    ///
    /// # Errors
    /// [`CollectorError`]; the chain is unchanged on error.
    pub fn record_tool_call(
        &self,
        tenant: &TenantId,
        call: ToolCallRecord<'_>,
    ) -> Result<Entry, CollectorError> {
        self.check_size("tool arguments", call.args.len())?;
        let key = self.commitment_key(tenant)?;
        let result = match call.result {
            Some(r) => {
                self.check_size("tool result", r.len())?;
                Some(commit(&key, "tool_result", r))
            }
            None => None,
        };
        let body = Body::ToolCall(ToolCall {
            trace_id: call.trace_id,
            call_id: call.call_id,
            tool: call.tool,
            args: commit(&key, "tool_args", call.args),
            result,
            status: call.status,
            parents: call.parents,
            metrics: call.metrics,
        });
        Ok(self.inner.log.append(tenant, &body)?)
    }

    /// Records a human reviewer's sign-off on an entry (EU AI Act Art. 14).
    /// The note is NFKC-normalised and PII-stripped.
    ///
    /// # Errors
    /// [`CollectorError`]; the chain is unchanged on error.
    pub fn record_oversight(
        &self,
        tenant: &TenantId,
        reviewer: &str,
        target: EntryId,
        outcome: OversightOutcome,
        note: Option<&str>,
    ) -> Result<Entry, CollectorError> {
        let reviewer = ExternalId::new(reviewer).map_err(id_err("reviewer"))?;
        let note = match note {
            Some(n) => {
                let key = self.commitment_key(tenant)?;
                Some(self.clean_text(&key, "note", n)?.0)
            }
            None => None,
        };
        let body = Body::HumanOversight(HumanOversight {
            reviewer,
            target,
            outcome,
            note,
            trace_id: None,
        });
        Ok(self.inner.log.append(tenant, &body)?)
    }

    /// Records a policy outcome — notably a refusal, so that a request that
    /// never reached the model is still in the chain.
    ///
    /// # Errors
    /// [`CollectorError`]; the chain is unchanged on error.
    pub fn record_policy_flag(
        &self,
        tenant: &TenantId,
        policy: &str,
        outcome: FlagOutcome,
        input: Option<&str>,
        reasons: &[&str],
    ) -> Result<Entry, CollectorError> {
        let policy = Code::new(policy).map_err(id_err("policy"))?;
        let reasons = reasons
            .iter()
            .map(|r| Code::new(*r).map_err(id_err("reason")))
            .collect::<Result<Vec<_>, _>>()?;
        let input = match input {
            Some(text) => {
                self.check_size("input", text.len())?;
                let key = self.commitment_key(tenant)?;
                let stripped = self.inner.pii.normalize_and_strip(text, Some(&key))?;
                Some(commit(&key, "input", stripped.text.as_bytes()))
            }
            None => None,
        };
        let body = Body::PolicyFlag(PolicyFlag {
            policy,
            outcome,
            target: None,
            input,
            reasons,
            trace_id: None,
        });
        Ok(self.inner.log.append(tenant, &body)?)
    }

    /// NFKC + PII strip + length cap for a free-text field.
    fn clean_text(
        &self,
        key: &CommitmentKey,
        field: &'static str,
        text: &str,
    ) -> Result<(String, PiiReport), CollectorError> {
        if text.len() > MAX_TEXT_BYTES * 4 {
            return Err(CollectorError::TooLarge {
                field,
                size: text.len(),
                cap: MAX_TEXT_BYTES * 4,
            });
        }
        let s = self.inner.pii.normalize_and_strip(text, Some(key))?;
        if s.text.len() > MAX_TEXT_BYTES {
            return Err(CollectorError::TooLarge {
                field,
                size: s.text.len(),
                cap: MAX_TEXT_BYTES,
            });
        }
        Ok((s.text, s.report))
    }
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Collector({:?})", self.inner.log)
    }
}

/// What [`Collector::record_tool_call`] records.
#[derive(Debug, Clone)]
pub struct ToolCallRecord<'a> {
    /// Tool name.
    pub tool: Code,
    /// Arguments, e.g. canonical JSON bytes.
    pub args: &'a [u8],
    /// Result bytes, if any.
    pub result: Option<&'a [u8]>,
    /// Outcome.
    pub status: ToolStatus,
    /// Trace id.
    pub trace_id: Option<ExternalId>,
    /// The framework's call id.
    pub call_id: Option<ExternalId>,
    /// Entries this call depends on.
    pub parents: Vec<EntryId>,
    /// Latency, tokens, cost.
    pub metrics: Metrics,
}

/// Error of [`Collector::wrap`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WrapError<E> {
    /// The closure failed; its failure was recorded in `receipt`.
    #[error("the wrapped request failed (recorded at seq {})", receipt.seq())]
    App {
        /// The closure's error.
        error: E,
        /// The receipt that records the failure.
        receipt: Box<Entry>,
    },
    /// Recording failed.
    #[error(transparent)]
    Collector(#[from] CollectorError),
}

/// `HMAC-SHA256(key, COMMITMENT_LABEL || field || 0x00 || data)` (SPEC §4.2).
pub fn commit(key: &CommitmentKey, field: &str, data: &[u8]) -> Hash32 {
    key.mac_parts(&[COMMITMENT_LABEL, field.as_bytes(), &[0], data])
}

/// `SHA-256(DIGEST_LABEL || data)`: the digest of public material such as a
/// model configuration (SPEC §4.3).
pub fn digest(data: &[u8]) -> Hash32 {
    Hash32::digest_parts(&[DIGEST_LABEL, data])
}

/// A decision receipt being assembled for one request.
pub struct DecisionDraft {
    collector: Collector,
    tenant: TenantId,
    key: Arc<CommitmentKey>,
    input: Option<Hash32>,
    output: Option<Hash32>,
    state: Option<Hash32>,
    checks: Vec<Check>,
    action: Option<Action>,
    reasons: Vec<Code>,
    tags: Vec<Code>,
    model: Option<ModelRef>,
    pii: PiiReport,
    trace_id: Option<ExternalId>,
    session_id: Option<ExternalId>,
    parents: Vec<EntryId>,
    metrics: Metrics,
    /// Chosen when the first field is sealed (sealed fields bind it).
    entry_id: Option<EntryId>,
    subject: Option<SubjectRef>,
    sealed: Vec<SealedField>,
    provenance: Vec<Provenance>,
}

impl DecisionDraft {
    /// Names the data subject of this request (the application's id, e.g. a
    /// customer number): fields sealed afterwards use the subject's data key,
    /// so [`KeyStore::destroy_subject_key`] erases them. Only the subject's
    /// pseudonymous ref is recorded.
    ///
    /// # Errors
    /// [`CollectorError::NoKeyStore`]; [`CollectorError::Shred`].
    pub fn set_subject(&mut self, subject: &str) -> Result<&mut Self, CollectorError> {
        let keys = self
            .collector
            .inner
            .keys
            .as_ref()
            .ok_or(CollectorError::NoKeyStore("a subject"))?;
        self.subject = Some(keys.subject_ref(&self.tenant, subject)?);
        Ok(self)
    }

    /// Keeps `bytes` as sealed field `field` (AES-256-GCM under the
    /// subject's data key if a subject is set, else the tenant's; SPEC §4.4).
    /// The bytes are sealed as given — not normalised or PII-stripped — for
    /// authorised readers; the entry hash covers only the ciphertext.
    ///
    /// # Errors
    /// [`CollectorError::Id`] for an invalid name, [`CollectorError::TooLarge`],
    /// [`CollectorError::DuplicateField`], [`CollectorError::NoKeyStore`],
    /// [`CollectorError::Shred`] (e.g. the subject was shredded).
    pub fn seal_field(&mut self, field: &str, bytes: &[u8]) -> Result<&mut Self, CollectorError> {
        let name = Code::new(field).map_err(id_err("sealed field name"))?;
        self.collector.check_size("sealed field", bytes.len())?;
        let keys = self
            .collector
            .inner
            .keys
            .as_ref()
            .ok_or(CollectorError::NoKeyStore("a field"))?;
        let pos = match self.sealed.binary_search_by(|s| s.field.cmp(&name)) {
            Ok(_) => return Err(CollectorError::DuplicateField(name)),
            Err(p) => p,
        };
        let id = *self
            .entry_id
            .get_or_insert_with(|| self.collector.inner.log.new_entry_id());
        let sealed = keys.seal(&self.tenant, self.subject.as_ref(), id, &name, bytes)?;
        self.sealed.insert(pos, sealed);
        Ok(self)
    }

    /// Sets the input as [`Self::set_input`] does and also seals the raw
    /// text as field `raw_input`.
    ///
    /// # Errors
    /// As [`Self::set_input`] and [`Self::seal_field`].
    pub fn set_input_sealed(&mut self, text: &str) -> Result<&mut Self, CollectorError> {
        self.set_input(text)?;
        self.seal_field("raw_input", text.as_bytes())
    }

    /// Sets the output as [`Self::set_output`] does and also seals the raw
    /// text as field `raw_output`.
    ///
    /// # Errors
    /// As [`Self::set_output`] and [`Self::seal_field`].
    pub fn set_output_sealed(&mut self, text: &str) -> Result<&mut Self, CollectorError> {
        self.set_output(text)?;
        self.seal_field("raw_output", text.as_bytes())
    }

    fn commit_text(&mut self, field: &'static str, text: &str) -> Result<Hash32, CollectorError> {
        self.collector.check_size(field, text.len())?;
        let s = self
            .collector
            .inner
            .pii
            .normalize_and_strip(text, Some(&self.key))?;
        self.pii.merge(&s.report);
        Ok(commit(&self.key, field, s.text.as_bytes()))
    }

    /// Sets the input (prompt): normalised, stripped, committed.
    ///
    /// # Errors
    /// [`CollectorError::TooLarge`], [`CollectorError::Pii`].
    pub fn set_input(&mut self, text: &str) -> Result<&mut Self, CollectorError> {
        self.input = Some(self.commit_text("input", text)?);
        Ok(self)
    }

    /// Sets the input from bytes, which must be UTF-8.
    ///
    /// # Errors
    /// [`CollectorError::InvalidUtf8`], or as [`Self::set_input`].
    pub fn set_input_bytes(&mut self, bytes: &[u8]) -> Result<&mut Self, CollectorError> {
        self.collector.check_size("input", bytes.len())?;
        let text = std::str::from_utf8(bytes).map_err(|_| CollectorError::InvalidUtf8("input"))?;
        self.set_input(text)
    }

    /// Sets the output (completion): normalised, stripped, committed.
    ///
    /// # Errors
    /// As [`Self::set_input`].
    pub fn set_output(&mut self, text: &str) -> Result<&mut Self, CollectorError> {
        self.output = Some(self.commit_text("output", text)?);
        Ok(self)
    }

    /// Sets the output from bytes, which must be UTF-8.
    ///
    /// # Errors
    /// As [`Self::set_input_bytes`].
    pub fn set_output_bytes(&mut self, bytes: &[u8]) -> Result<&mut Self, CollectorError> {
        self.collector.check_size("output", bytes.len())?;
        let text = std::str::from_utf8(bytes).map_err(|_| CollectorError::InvalidUtf8("output"))?;
        self.set_output(text)
    }

    /// Commits to opaque application state (retrieved context, memory …).
    ///
    /// # Errors
    /// [`CollectorError::TooLarge`].
    pub fn set_state(&mut self, state: &[u8]) -> Result<&mut Self, CollectorError> {
        self.collector.check_size("state", state.len())?;
        self.state = Some(commit(&self.key, "state", state));
        Ok(self)
    }

    /// Appends a check result (checks keep the order they are added).
    /// Its detail text is normalised and PII-stripped. (Scores are
    /// [`crate::Finite`]: a NaN is refused when the [`Check`] is built.)
    ///
    /// # Errors
    /// [`CollectorError::TooLarge`] for a long detail.
    pub fn add_check(&mut self, mut check: Check) -> Result<&mut Self, CollectorError> {
        if let Some(d) = check.detail.take() {
            let (clean, report) = self.collector.clean_text(&self.key, "check detail", &d)?;
            self.pii.merge(&report);
            check.detail = Some(clean);
        }
        self.checks.push(check);
        Ok(self)
    }

    /// Sets the action taken.
    pub fn set_action(&mut self, action: Action) -> &mut Self {
        self.action = Some(action);
        self
    }

    /// Sets the model id and, optionally, its configuration bytes (digested).
    ///
    /// # Errors
    /// [`CollectorError::Id`] for an invalid model id.
    pub fn set_model(
        &mut self,
        id: &str,
        config: Option<&[u8]>,
    ) -> Result<&mut Self, CollectorError> {
        let id = ExternalId::new(id).map_err(id_err("model id"))?;
        self.model = Some(ModelRef {
            id,
            config: config.map(digest),
        });
        Ok(self)
    }

    /// Adds a reason code.
    ///
    /// # Errors
    /// [`CollectorError::Id`] for an invalid code.
    pub fn add_reason(&mut self, code: &str) -> Result<&mut Self, CollectorError> {
        self.reasons
            .push(Code::new(code).map_err(id_err("reason"))?);
        Ok(self)
    }

    /// Adds a framework tag, e.g. `eu_ai_act:art12`.
    ///
    /// # Errors
    /// [`CollectorError::Id`] for an invalid code.
    pub fn add_tag(&mut self, tag: &str) -> Result<&mut Self, CollectorError> {
        self.tags.push(Code::new(tag).map_err(id_err("tag"))?);
        Ok(self)
    }

    /// Sets the trace id.
    ///
    /// # Errors
    /// [`CollectorError::Id`].
    pub fn set_trace_id(&mut self, id: &str) -> Result<&mut Self, CollectorError> {
        self.trace_id = Some(ExternalId::new(id).map_err(id_err("trace id"))?);
        Ok(self)
    }

    /// Sets the session id.
    ///
    /// # Errors
    /// [`CollectorError::Id`].
    pub fn set_session_id(&mut self, id: &str) -> Result<&mut Self, CollectorError> {
        self.session_id = Some(ExternalId::new(id).map_err(id_err("session id"))?);
        Ok(self)
    }

    /// Adds a parent entry (trace DAG).
    pub fn add_parent(&mut self, parent: EntryId) -> &mut Self {
        self.parents.push(parent);
        self
    }

    /// Binds a provenance record (SPEC §11.5): the content the decision used
    /// is stored only as a keyed commitment, field name `provenance`.
    ///
    /// # Errors
    /// [`CollectorError::TooLarge`] for content over the input cap, an id
    /// error for a bad `source`, [`CollectorError::TooLarge`] past
    /// [`crate::MAX_PROVENANCE`] records.
    pub fn add_provenance(
        &mut self,
        source_type: SourceType,
        source: &str,
        content: &[u8],
        trust: TrustLevel,
    ) -> Result<&mut Self, CollectorError> {
        self.collector.check_size("provenance", content.len())?;
        if self.provenance.len() >= crate::provenance::MAX_PROVENANCE {
            return Err(CollectorError::TooLarge {
                field: "provenance record count",
                size: self.provenance.len() + 1,
                cap: crate::provenance::MAX_PROVENANCE,
            });
        }
        self.provenance.push(Provenance {
            commitment: commit(&self.key, "provenance", content),
            source: ExternalId::new(source).map_err(id_err("provenance source"))?,
            source_type,
            trust,
        });
        Ok(self)
    }

    /// Sets latency, tokens and cost.
    pub fn set_metrics(&mut self, metrics: Metrics) -> &mut Self {
        self.metrics = metrics;
        self
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The entry id the sealed fields are bound to, once a field was sealed.
    /// A receipt with sealed fields must be stored under this id (as
    /// [`Self::emit`] does; with a pipeline, `Pipeline::submit_with_id`).
    pub fn entry_id(&self) -> Option<EntryId> {
        self.entry_id
    }

    /// Builds the receipt body without emitting it.
    ///
    /// # Errors
    /// [`CollectorError::Missing`] when input or action is unset.
    pub fn to_receipt(&self) -> Result<DecisionReceipt, CollectorError> {
        Ok(DecisionReceipt {
            trace_id: self.trace_id.clone(),
            session_id: self.session_id.clone(),
            input: self.input.ok_or(CollectorError::Missing("input"))?,
            output: self.output,
            state: self.state,
            checks: self.checks.clone(),
            action: self.action.ok_or(CollectorError::Missing("action"))?,
            reasons: self.reasons.clone(),
            sealed: self.sealed.clone(),
            tags: self.tags.clone(),
            model: self.model.clone(),
            pii: pii_counts(&self.pii),
            provenance: self.provenance.clone(),
            unicode: crate::pii::UNICODE_VERSION.to_owned(),
            parents: self.parents.clone(),
            metrics: self.metrics,
        })
    }

    /// Signs, chains and stores the receipt. Returns the stored entry.
    ///
    /// # Errors
    /// [`CollectorError::Missing`], [`CollectorError::Log`]. The chain is
    /// unchanged on error.
    pub fn emit(self) -> Result<Entry, CollectorError> {
        // Moves the fields into the receipt (no clones on the hot path).
        let DecisionDraft {
            collector,
            tenant,
            key: _,
            input,
            output,
            state,
            checks,
            action,
            reasons,
            tags,
            model,
            pii,
            trace_id,
            session_id,
            parents,
            metrics,
            entry_id,
            subject: _,
            sealed,
            provenance,
        } = self;
        let receipt = DecisionReceipt {
            trace_id,
            session_id,
            input: input.ok_or(CollectorError::Missing("input"))?,
            output,
            state,
            checks,
            action: action.ok_or(CollectorError::Missing("action"))?,
            reasons,
            sealed,
            tags,
            model,
            pii: pii_counts(&pii),
            provenance,
            unicode: crate::pii::UNICODE_VERSION.to_owned(),
            parents,
            metrics,
        };
        let body = Body::Decision(Box::new(receipt));
        let log = &collector.inner.log;
        Ok(match entry_id {
            Some(id) => log.append_with_id(&tenant, id, &body)?,
            None => log.append(&tenant, &body)?,
        })
    }
}

/// The receipt's `pii` list: non-zero counts sorted by category.
fn pii_counts(report: &PiiReport) -> Vec<PiiCount> {
    report
        .found()
        .iter()
        .map(|c| PiiCount {
            category: c.category.name().into_owned(),
            count: c.count,
        })
        .collect()
}

impl std::fmt::Debug for DecisionDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DecisionDraft(tenant {})", self.tenant)
    }
}
