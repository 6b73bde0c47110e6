//! The key store: creates, caches, uses and destroys tenant and subject keys.

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use parking_lot::RwLock;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::cipher::{self, DataKey};
use super::format::{DataKeyId, KekId, Nonce, SealedField, Shred, ShredScope, SubjectRef};
use super::kek::KeyProvider;
use super::nonce::NonceSource;
use super::vault::{KeySlot, KeyVault, SlotState};
use super::ShredError;
use crate::body::Body;
use crate::commitment::CommitmentKey;
use crate::encoding::{self, key_wrap_aad};
use crate::entry::Entry;
use crate::id::{Code, EntryId, ExternalId, TenantId};
use crate::log::AuditLog;
use crate::random::RandomSource;
use crate::secret::{SecretError, TenantSecrets};

/// One wrapped key in a stored record (SPEC §4.6).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WrappedKey {
    id: DataKeyId,
    kek: KekId,
    wrapped: String,
}

/// A stored slot record: `JCS({"commitment":…,"data":…,"v":1})`
/// (`commitment` only in a tenant slot).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commitment: Option<WrappedKey>,
    data: WrappedKey,
    v: u32,
}

/// A tenant's unwrapped keys.
struct TenantKeys {
    commitment: Arc<CommitmentKey>,
    data: DataKey,
}

/// Builds a [`KeyStore`].
pub struct KeyStoreBuilder {
    provider: Arc<dyn KeyProvider>,
    vault: Arc<dyn KeyVault>,
    nonces: NonceSource,
    keygen: Option<Arc<dyn RandomSource>>,
}

impl KeyStoreBuilder {
    /// Source of nonces (default: the OS RNG, drawn 32 nonces per call
    /// and per thread; a source given here is asked once per nonce).
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.nonces = NonceSource::Custom(random);
        self
    }

    /// **Makes keys predictable.** Generates data and commitment keys from
    /// `source` instead of the OS RNG. Only for reproducible demos and test
    /// vectors: anyone who knows the source can decrypt every sealed field.
    pub fn dangerous_key_source(mut self, source: Arc<dyn RandomSource>) -> Self {
        self.keygen = Some(source);
        self
    }

    /// Builds the key store.
    pub fn build(self) -> KeyStore {
        KeyStore {
            provider: self.provider,
            vault: self.vault,
            nonces: self.nonces,
            keygen: self.keygen,
            tenants: RwLock::new(HashMap::new()),
            subjects: RwLock::new(HashMap::new()),
            fill_gate: RwLock::new(()),
        }
    }
}

/// Tenant and subject keys, wrapped under a KEK in a [`KeyVault`]; seals
/// and opens fields, and crypto-shreds (module docs, SPEC §4.4–4.6).
///
/// Unwrapped keys are cached in this process after first use. A destroy
/// through this key store evicts them here; other processes sharing the
/// vault keep theirs until [`KeyStore::forget_cached_keys`] or a restart
/// (SECURITY.md).
pub struct KeyStore {
    provider: Arc<dyn KeyProvider>,
    vault: Arc<dyn KeyVault>,
    nonces: NonceSource,
    keygen: Option<Arc<dyn RandomSource>>,
    tenants: RwLock<HashMap<TenantId, Arc<TenantKeys>>>,
    /// Per tenant, so that a lookup borrows the tenant id instead of
    /// building an owned `(TenantId, SubjectRef)` key per call.
    subjects: RwLock<HashMap<TenantId, HashMap<SubjectRef, Arc<DataKey>>>>,
    /// Held shared while a cache miss loads, unwraps and caches a key, and
    /// exclusively while a destroy (or [`KeyStore::forget_cached_keys`])
    /// evicts and erases: a key loaded before a destroy is cached before
    /// the eviction, never after it. Cache hits do not take it.
    fill_gate: RwLock<()>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "KeyStore(kek {}, {} tenants and {} subjects cached, keys redacted)",
            self.provider.kek_id(),
            self.tenants.read().len(),
            self.subjects
                .read()
                .values()
                .map(HashMap::len)
                .sum::<usize>()
        )
    }
}

const PURPOSE_COMMITMENT: &str = "commitment";
const PURPOSE_DATA: &str = "data";

impl KeyStore {
    /// Starts building a key store over `provider` (the KEK) and `vault`.
    pub fn builder(provider: Arc<dyn KeyProvider>, vault: Arc<dyn KeyVault>) -> KeyStoreBuilder {
        KeyStoreBuilder {
            provider,
            vault,
            nonces: NonceSource::Os,
            keygen: None,
        }
    }

    /// The vault.
    pub fn vault(&self) -> &Arc<dyn KeyVault> {
        &self.vault
    }

    /// Drops every unwrapped key cached in this process (they are unwrapped
    /// again from the vault on next use; destroyed ones then fail).
    pub fn forget_cached_keys(&self) {
        let _gate = self.fill_gate.write();
        self.tenants.write().clear();
        self.subjects.write().clear();
    }

    fn new_key_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut k = Zeroizing::new([0u8; 32]);
        match &self.keygen {
            Some(src) => src.fill(k.as_mut()),
            None => OsRng.fill_bytes(k.as_mut()),
        }
        k
    }

    fn nonce(&self) -> Nonce {
        self.nonces.next()
    }

    fn wrap(
        &self,
        slot: &KeySlot,
        purpose: &str,
        key: &[u8; 32],
    ) -> Result<WrappedKey, ShredError> {
        self.wrap_under(&*self.provider, slot, purpose, key)
    }

    fn wrap_under(
        &self,
        provider: &dyn KeyProvider,
        slot: &KeySlot,
        purpose: &str,
        key: &[u8; 32],
    ) -> Result<WrappedKey, ShredError> {
        let id = cipher::key_id(key);
        let kek = provider.kek_id();
        let aad = slot_aad(slot, purpose, &id, &kek);
        let wrapped = provider.wrap(key, &aad, self.nonce())?;
        Ok(WrappedKey {
            id,
            kek,
            wrapped: B64.encode(wrapped),
        })
    }

    fn unwrap(
        &self,
        slot: &KeySlot,
        purpose: &str,
        w: &WrappedKey,
    ) -> Result<Zeroizing<[u8; 32]>, ShredError> {
        let provider = self.provider.kek_id();
        if w.kek != provider {
            return Err(ShredError::KekMismatch {
                stored: w.kek,
                provider,
            });
        }
        let bytes = B64.decode(&w.wrapped).map_err(|_| ShredError::Record {
            slot: slot.clone(),
            reason: "wrapped key is not base64".into(),
        })?;
        let key = self
            .provider
            .unwrap(&bytes, &slot_aad(slot, purpose, &w.id, &w.kek))?;
        if cipher::key_id(&key) != w.id {
            return Err(ShredError::Record {
                slot: slot.clone(),
                reason: "unwrapped key does not match its key id".into(),
            });
        }
        Ok(key)
    }

    /// Loads (or, if `create`, creates) the slot's record.
    fn record(&self, slot: &KeySlot, create: bool) -> Result<Record, ShredError> {
        let state = match self.vault.load(slot)? {
            SlotState::Absent if create => {
                let data = self.new_key_bytes();
                let commitment = match slot {
                    KeySlot::Tenant(_) => {
                        let c = self.new_key_bytes();
                        Some(self.wrap(slot, PURPOSE_COMMITMENT, &c)?)
                    }
                    KeySlot::Subject(..) => None,
                };
                let rec = Record {
                    commitment,
                    data: self.wrap(slot, PURPOSE_DATA, &data)?,
                    v: 1,
                };
                let bytes = encoding::to_canonical(&rec)?;
                self.vault.create(slot, &bytes)?
            }
            s => s,
        };
        match state {
            SlotState::Live(bytes) => decode_record(slot, &bytes),
            SlotState::Shredded(seq) => Err(ShredError::Shredded {
                slot: slot.clone(),
                seq,
            }),
            _ => Err(ShredError::NoKey(slot.clone())),
        }
    }

    fn tenant_keys(&self, tenant: &TenantId, create: bool) -> Result<Arc<TenantKeys>, ShredError> {
        if let Some(k) = self.tenants.read().get(tenant) {
            return Ok(k.clone());
        }
        // Recursive: `subject_key` holds the gate when it calls this.
        let _gate = self.fill_gate.read_recursive();
        let slot = KeySlot::Tenant(tenant.clone());
        let rec = self.record(&slot, create)?;
        let commitment = match &rec.commitment {
            Some(w) => self.unwrap(&slot, PURPOSE_COMMITMENT, w)?,
            None => {
                return Err(ShredError::Record {
                    slot,
                    reason: "tenant record without commitment key".into(),
                })
            }
        };
        let data = self.unwrap(&slot, PURPOSE_DATA, &rec.data)?;
        let keys = Arc::new(TenantKeys {
            commitment: Arc::new(CommitmentKey::from_bytes(*commitment)),
            data: DataKey::from_bytes(*data),
        });
        Ok(self
            .tenants
            .write()
            .entry(tenant.clone())
            .or_insert(keys)
            .clone())
    }

    fn subject_key(
        &self,
        tenant: &TenantId,
        subject: &SubjectRef,
        create: bool,
    ) -> Result<Arc<DataKey>, ShredError> {
        if let Some(k) = self
            .subjects
            .read()
            .get(tenant)
            .and_then(|m| m.get(subject))
        {
            return Ok(k.clone());
        }
        let _gate = self.fill_gate.read_recursive();
        // The tenant's state first: a shredded tenant shreds its subjects.
        self.tenant_keys(tenant, create)?;
        let slot = KeySlot::Subject(tenant.clone(), *subject);
        let rec = self.record(&slot, create)?;
        let data = Arc::new(DataKey::from_bytes(*self.unwrap(
            &slot,
            PURPOSE_DATA,
            &rec.data,
        )?));
        Ok(self
            .subjects
            .write()
            .entry(tenant.clone())
            .or_default()
            .entry(*subject)
            .or_insert(data)
            .clone())
    }

    /// The tenant's commitment key (created on first use).
    ///
    /// # Errors
    /// [`ShredError::Shredded`] after the tenant was shredded; vault and KEK errors.
    pub fn commitment_key_of(&self, tenant: &TenantId) -> Result<Arc<CommitmentKey>, ShredError> {
        Ok(self.tenant_keys(tenant, true)?.commitment.clone())
    }

    /// The pseudonymous ref of data subject `subject` (a customer number …)
    /// of `tenant` (SPEC §4.4). The subject id is not stored anywhere.
    ///
    /// # Errors
    /// [`ShredError::InvalidSubject`]; [`ShredError::Shredded`] for a
    /// shredded tenant; vault and KEK errors.
    pub fn subject_ref(&self, tenant: &TenantId, subject: &str) -> Result<SubjectRef, ShredError> {
        cipher::subject_ref(&self.tenant_keys(tenant, true)?.commitment, subject)
    }

    /// Seals `plaintext` as field `field` of the entry that will have id
    /// `entry`, under the subject's data key (when `subject` is given) or the
    /// tenant's. Keys are created on first use.
    ///
    /// # Errors
    /// [`ShredError::Shredded`] when the tenant or subject was shredded (a
    /// shredded subject never gets a new key); vault and KEK errors.
    pub fn seal(
        &self,
        tenant: &TenantId,
        subject: Option<&SubjectRef>,
        entry: EntryId,
        field: &Code,
        plaintext: &[u8],
    ) -> Result<SealedField, ShredError> {
        let nonce = self.nonce();
        match subject {
            Some(s) => {
                let k = self.subject_key(tenant, s, true)?;
                cipher::seal(&k, tenant, Some(s), entry, field, nonce, plaintext)
            }
            None => {
                let k = self.tenant_keys(tenant, true)?;
                cipher::seal(&k.data, tenant, None, entry, field, nonce, plaintext)
            }
        }
    }

    /// Opens a sealed field of entry `entry` of `tenant`.
    ///
    /// # Errors
    /// [`ShredError::Shredded`] ("shredded at seq N"), [`ShredError::NoKey`],
    /// [`ShredError::WrongKey`], [`ShredError::Tampered`], KEK errors.
    pub fn open_sealed(
        &self,
        tenant: &TenantId,
        entry: EntryId,
        sealed: &SealedField,
    ) -> Result<Zeroizing<Vec<u8>>, ShredError> {
        match &sealed.subject {
            Some(s) => {
                let k = self.subject_key(tenant, s, false)?;
                cipher::open(&k, tenant, entry, sealed)
            }
            None => {
                let k = self.tenant_keys(tenant, false)?;
                cipher::open(&k.data, tenant, entry, sealed)
            }
        }
    }

    /// Opens the sealed field named `field` of a decision entry (for human
    /// review, EU AI Act Art. 14). Verify the entry first: this checks only
    /// the field's own authentication.
    ///
    /// # Errors
    /// [`ShredError::NoSuchField`], or as [`KeyStore::open_sealed`].
    pub fn open(&self, entry: &Entry, field: &str) -> Result<Zeroizing<Vec<u8>>, ShredError> {
        let sealed = match entry.body()? {
            Body::Decision(d) => d.sealed.into_iter().find(|s| s.field.as_str() == field),
            _ => None,
        };
        let sealed = sealed.ok_or_else(|| ShredError::NoSuchField(field.to_owned()))?;
        self.open_sealed(entry.tenant(), entry.id(), &sealed)
    }

    /// Rotates the key-encryption key: re-wraps every stored key of the
    /// vault — unwrapped with this key store's KEK, wrapped under `new_kek`
    /// — in one atomic step of the vault ([`KeyVault::rewrap_all`]), and
    /// returns the number of live slots. Data and commitment keys, their
    /// ids and every sealed field stay as they are; shredded slots stay
    /// shredded. Keys already under `new_kek` are kept, so an interrupted
    /// rotation can be re-run.
    ///
    /// Afterwards the vault needs `new_kek`: build a new key store with it
    /// and drop this one (its KEK opens nothing stored any more; keys it
    /// has cached keep working until it is dropped). Other processes must
    /// not create keys during the rotation (this key store waits for its
    /// own); see SECURITY.md §5 for erasing the old KEK.
    ///
    /// # Errors
    /// [`ShredError::KekMismatch`] for a record under neither KEK, record,
    /// KEK and vault errors: then nothing was changed.
    pub fn rewrap_keys(&self, new_kek: &dyn KeyProvider) -> Result<usize, ShredError> {
        let _gate = self.fill_gate.write();
        let new_id = new_kek.kek_id();
        self.vault.rewrap_all(&mut |slot, bytes| {
            let rec = decode_record(slot, bytes)?;
            let rewrap = |purpose: &str, w: WrappedKey| -> Result<WrappedKey, ShredError> {
                if w.kek == new_id {
                    return Ok(w);
                }
                let key = self.unwrap(slot, purpose, &w)?;
                self.wrap_under(new_kek, slot, purpose, &key)
            };
            let rec = Record {
                commitment: rec
                    .commitment
                    .map(|w| rewrap(PURPOSE_COMMITMENT, w))
                    .transpose()?,
                data: rewrap(PURPOSE_DATA, rec.data)?,
                v: rec.v,
            };
            Ok(encoding::to_canonical(&rec)?)
        })
    }

    /// **Irreversibly** destroys every key of `tenant` — its commitment key,
    /// its data key and all its subjects' data keys — in the vault and in
    /// this process, then appends a signed `shred` tombstone to the
    /// tenant's chain in `log` and returns it. Afterwards sealed fields of
    /// the tenant cannot be opened (`Shredded` at the tombstone's seq), its
    /// commitments cannot be confirmed, and every hash, proof, checkpoint
    /// and package still verifies.
    ///
    /// # Errors
    /// [`ShredError::Shredded`] when already shredded; vault errors (nothing
    /// appended: retry); [`ShredError::Log`] when the keys were destroyed but
    /// the tombstone could not be appended (retry to append it).
    pub fn destroy_tenant_key(
        &self,
        log: &AuditLog,
        tenant: &TenantId,
        actor: &ExternalId,
        reason: &Code,
    ) -> Result<Entry, ShredError> {
        let slot = KeySlot::Tenant(tenant.clone());
        self.destroy(log, &slot, ShredScope::Tenant, None, actor, reason)
    }

    /// **Irreversibly** destroys the data key of subject `subject` (the
    /// application's subject id, e.g. a customer number) of `tenant`, then
    /// appends a signed `shred` tombstone naming only the subject's
    /// pseudonymous ref. Other subjects and the tenant's own keys are
    /// untouched; the subject never gets a new key in this vault.
    ///
    /// # Errors
    /// As [`KeyStore::destroy_tenant_key`]; [`ShredError::InvalidSubject`].
    pub fn destroy_subject_key(
        &self,
        log: &AuditLog,
        tenant: &TenantId,
        subject: &str,
        actor: &ExternalId,
        reason: &Code,
    ) -> Result<Entry, ShredError> {
        let r = self.subject_ref(tenant, subject)?;
        self.destroy_subject_key_by_ref(log, tenant, &r, actor, reason)
    }

    /// [`KeyStore::destroy_subject_key`] for a subject known only by its ref
    /// (e.g. read from a sealed field).
    ///
    /// # Errors
    /// As [`KeyStore::destroy_subject_key`].
    pub fn destroy_subject_key_by_ref(
        &self,
        log: &AuditLog,
        tenant: &TenantId,
        subject: &SubjectRef,
        actor: &ExternalId,
        reason: &Code,
    ) -> Result<Entry, ShredError> {
        // A shredded tenant has no subjects left to shred.
        if let SlotState::Shredded(seq) = self.vault.load(&KeySlot::Tenant(tenant.clone()))? {
            return Err(ShredError::Shredded {
                slot: KeySlot::Tenant(tenant.clone()),
                seq,
            });
        }
        let slot = KeySlot::Subject(tenant.clone(), *subject);
        self.destroy(
            log,
            &slot,
            ShredScope::Subject,
            Some(*subject),
            actor,
            reason,
        )
    }

    fn destroy(
        &self,
        log: &AuditLog,
        slot: &KeySlot,
        scope: ShredScope,
        subject: Option<SubjectRef>,
        actor: &ExternalId,
        reason: &Code,
    ) -> Result<Entry, ShredError> {
        let tenant = slot.tenant();
        let key = match self.vault.load(slot)? {
            SlotState::Shredded(Some(seq)) => {
                return Err(ShredError::Shredded {
                    slot: slot.clone(),
                    seq: Some(seq),
                })
            }
            SlotState::Live(bytes) => encoding::decode_canonical::<Record>(&bytes)
                .ok()
                .map(|r| r.data.id),
            _ => None,
        };
        // Evict this process's copies first, then erase the stored ones,
        // with no cache fill in between or in flight.
        {
            let _gate = self.fill_gate.write();
            match slot {
                KeySlot::Tenant(t) => {
                    self.tenants.write().remove(t);
                    self.subjects.write().remove(t);
                }
                KeySlot::Subject(t, s) => {
                    if let Some(m) = self.subjects.write().get_mut(t) {
                        m.remove(s);
                    }
                }
            }
            self.vault.destroy(slot)?;
        }
        let body = Body::Shred(Shred {
            actor: actor.clone(),
            destroyed: log.clock().now(),
            key,
            reason: reason.clone(),
            scope,
            subject,
        });
        let entry = log.append_shred(tenant, &body)?;
        self.vault.record_tombstone(slot, entry.seq())?;
        Ok(entry)
    }
}

/// Decodes and shape-checks a stored slot record (SPEC §4.6).
fn decode_record(slot: &KeySlot, bytes: &[u8]) -> Result<Record, ShredError> {
    let rec: Record = encoding::decode_canonical(bytes).map_err(|e| ShredError::Record {
        slot: slot.clone(),
        reason: e.to_string(),
    })?;
    let shape_ok = rec.v == 1 && rec.commitment.is_some() == matches!(slot, KeySlot::Tenant(_));
    if !shape_ok {
        return Err(ShredError::Record {
            slot: slot.clone(),
            reason: "unexpected version or members".into(),
        });
    }
    Ok(rec)
}

fn slot_aad(slot: &KeySlot, purpose: &str, id: &DataKeyId, kek: &KekId) -> Vec<u8> {
    let subject = match slot {
        KeySlot::Subject(_, s) => Some(s.to_hex()),
        KeySlot::Tenant(_) => None,
    };
    key_wrap_aad(
        slot.tenant().as_str(),
        subject.as_deref(),
        purpose,
        &id.to_hex(),
        &kek.to_hex(),
    )
}

impl TenantSecrets for KeyStore {
    fn commitment_key(&self, tenant: &TenantId) -> Result<Arc<CommitmentKey>, SecretError> {
        self.commitment_key_of(tenant).map_err(|e| match e {
            ShredError::Shredded { .. } => SecretError::Destroyed(tenant.clone()),
            other => SecretError::Backend(Box::new(other)),
        })
    }
}
