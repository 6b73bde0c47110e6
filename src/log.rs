//! The audit log: chains entries per tenant and appends them to a store.
//!
//! Each tenant's head is guarded by its own lock, so tenants append in
//! parallel while one tenant's entries are chained strictly in order. When
//! another process moved the head (the store refuses the compare-and-append),
//! the log reloads the head, re-chains and retries.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::body::{Body, KeyRotation};
use crate::clock::{Clock, SystemClock};
use crate::entry::{genesis, Entry, EntryError, Header, SigningMode};
use crate::id::{Code, EntryId, Epoch, LogName, Seq, TenantId};
use crate::keys::{Signer, VerifierKey};
use crate::random::{OsRandom, RandomSource};
use crate::store::{ChainHead, Store, StoreError};

/// How many times an append is re-chained after a head conflict.
const MAX_CONFLICT_RETRIES: usize = 64;

/// Errors of appending to the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The entry could not be built or signed.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The head kept moving under concurrent writers.
    #[error("tenant {0}: gave up after {MAX_CONFLICT_RETRIES} append conflicts")]
    Contention(TenantId),
}

struct Inner {
    name: LogName,
    signer: RwLock<Arc<dyn Signer>>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    mode: SigningMode,
    heads: Mutex<HashMap<TenantId, Arc<Mutex<Option<ChainHead>>>>>,
}

/// A deployment's audit log: one chain per tenant, in one store, under one
/// log key. Cheap to clone; share it between threads.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

/// Builds an [`AuditLog`]. A log cannot exist without a name, a signer and a store.
pub struct AuditLogBuilder {
    name: LogName,
    signer: Arc<dyn Signer>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    mode: SigningMode,
}

impl AuditLogBuilder {
    /// Sets the clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Sets the source of entry ids (default: the OS RNG).
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }
    /// Sets the signing mode (default: [`SigningMode::PerEntry`]).
    pub fn signing_mode(mut self, mode: SigningMode) -> Self {
        self.mode = mode;
        self
    }
    /// Builds the log.
    pub fn build(self) -> AuditLog {
        AuditLog {
            inner: Arc::new(Inner {
                name: self.name,
                signer: RwLock::new(self.signer),
                store: self.store,
                clock: self.clock,
                random: self.random,
                mode: self.mode,
                heads: Mutex::new(HashMap::new()),
            }),
        }
    }
}

impl AuditLog {
    /// Starts building a log named `name`, signing with `signer`, storing in `store`.
    pub fn builder(
        name: LogName,
        signer: Arc<dyn Signer>,
        store: Arc<dyn Store>,
    ) -> AuditLogBuilder {
        AuditLogBuilder {
            name,
            signer,
            store,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            mode: SigningMode::PerEntry,
        }
    }

    /// The log's name.
    pub fn name(&self) -> &LogName {
        &self.inner.name
    }
    /// The current log key.
    pub fn verifier_key(&self) -> VerifierKey {
        self.inner.signer.read().verifier_key().clone()
    }
    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }
    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }
    /// The signing mode.
    pub fn signing_mode(&self) -> SigningMode {
        self.inner.mode
    }

    /// A fresh entry id from the log's random source.
    pub fn new_entry_id(&self) -> EntryId {
        let mut b = [0u8; 16];
        self.inner.random.fill(&mut b);
        EntryId(b)
    }

    fn tenant_head(&self, tenant: &TenantId) -> Arc<Mutex<Option<ChainHead>>> {
        self.inner
            .heads
            .lock()
            .entry(tenant.clone())
            .or_insert_with(|| Arc::new(Mutex::new(None)))
            .clone()
    }

    /// Chains `body` as the tenant's next entry and stores it. Returns the
    /// stored entry (the receipt). On error nothing was stored.
    ///
    /// # Errors
    /// [`LogError`] when encoding, signing or the store fails.
    pub fn append(&self, tenant: &TenantId, body: &Body) -> Result<Entry, LogError> {
        let id = self.new_entry_id();
        let mut v = self.append_batch_with_ids(tenant, &[(id, body)])?;
        v.pop().ok_or_else(|| LogError::Contention(tenant.clone()))
    }

    /// Chains and stores several bodies atomically, in order (one store
    /// transaction: group commit).
    ///
    /// # Errors
    /// As [`AuditLog::append`]; on error none was stored.
    pub fn append_batch(&self, tenant: &TenantId, bodies: &[Body]) -> Result<Vec<Entry>, LogError> {
        let items: Vec<(EntryId, &Body)> =
            bodies.iter().map(|b| (self.new_entry_id(), b)).collect();
        self.append_batch_with_ids(tenant, &items)
    }

    fn append_batch_with_ids(
        &self,
        tenant: &TenantId,
        items: &[(EntryId, &Body)],
    ) -> Result<Vec<Entry>, LogError> {
        let values = items
            .iter()
            .map(|(id, b)| Ok((*id, b.kind(), b.to_value().map_err(EntryError::from)?)))
            .collect::<Result<Vec<_>, LogError>>()?;
        // Lock order everywhere: signer, then tenant head (see rotate_key).
        let signer_guard = self.inner.signer.read();
        let signer = signer_guard.clone();
        let slot = self.tenant_head(tenant);
        let mut head = slot.lock();
        for _ in 0..MAX_CONFLICT_RETRIES {
            if head.is_none() {
                *head = self.inner.store.head(tenant)?;
            }
            let entries = self.chain(tenant, head.as_ref(), &values, signer.as_ref())?;
            match self.inner.store.append(tenant, &entries) {
                Ok(()) => {
                    *head = entries.last().map(ChainHead::of).or(*head);
                    return Ok(entries);
                }
                Err(StoreError::Conflict { .. }) => {
                    *head = self.inner.store.head(tenant)?;
                }
                Err(e) => {
                    // Unknown state: re-read the head before the next append.
                    *head = None;
                    return Err(e.into());
                }
            }
        }
        Err(LogError::Contention(tenant.clone()))
    }

    fn chain(
        &self,
        tenant: &TenantId,
        head: Option<&ChainHead>,
        values: &[(EntryId, crate::body::EntryKind, serde_json::Value)],
        signer: &dyn Signer,
    ) -> Result<Vec<Entry>, LogError> {
        let (mut seq, mut prev, epoch) = match head {
            Some(h) => (
                h.seq.checked_next().ok_or(EntryError::SeqOverflow)?,
                h.hash,
                h.epoch,
            ),
            None => (Seq(0), genesis(&self.inner.name, tenant), Epoch(0)),
        };
        let mut out = Vec::with_capacity(values.len());
        for (id, kind, value) in values {
            let header = Header {
                log: self.inner.name.clone(),
                tenant: tenant.clone(),
                epoch,
                seq,
                prev,
                id: *id,
                ts: self.inner.clock.now(),
            };
            let e = Entry::seal_value(header, *kind, value.clone(), signer, self.inner.mode)?;
            prev = *e.hash();
            seq = seq.checked_next().ok_or(EntryError::SeqOverflow)?;
            out.push(e);
        }
        Ok(out)
    }

    /// Replaces the log key. For every tenant in the store, appends a
    /// `key_rotation` entry signed by the **old** key that names the new one;
    /// every later entry is signed by `new`. Auditors who pinned the old key
    /// accept the new one through these entries.
    ///
    /// # Errors
    /// [`LogError`] if any append fails; tenants rotated before the failure
    /// keep their rotation entry, and the key is not switched.
    pub fn rotate_key(&self, new: Arc<dyn Signer>, reason: Code) -> Result<Vec<Entry>, LogError> {
        let body = Body::KeyRotation(KeyRotation {
            new_key: new.verifier_key().clone(),
            reason,
        });
        // Hold the key write lock so no entry is signed by the old key after
        // its rotation entry.
        let mut signer = self.inner.signer.write();
        let tenants = self.inner.store.tenants()?;
        let mut out = Vec::with_capacity(tenants.len());
        for t in &tenants {
            let id = self.new_entry_id();
            let value = body.to_value().map_err(EntryError::from)?;
            let slot = self.tenant_head(t);
            let mut head = slot.lock();
            if head.is_none() {
                *head = self.inner.store.head(t)?;
            }
            let entries = self.chain(
                t,
                head.as_ref(),
                &[(id, body.kind(), value)],
                signer.as_ref(),
            )?;
            self.inner.store.append(t, &entries)?;
            *head = entries.last().map(ChainHead::of);
            out.extend(entries);
        }
        *signer = new;
        Ok(out)
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AuditLog({}, key {})",
            self.inner.name,
            self.verifier_key()
        )
    }
}
