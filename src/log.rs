//! The audit log: chains entries per tenant, appends them to a store,
//! maintains each tenant's RFC 6962 tree for the current epoch, seals it
//! with signed checkpoints and rolls epochs (SPEC §3, §7).
//!
//! Each tenant's state is guarded by its own lock, so tenants append in
//! parallel while one tenant's entries are chained strictly in order. When
//! another process moved the head (the store refuses the compare-and-append),
//! the log reloads the tenant from the store, re-chains and retries.
//!
//! Leaves enter the tree only after the store acknowledged them, so a
//! checkpoint never covers an entry that is not durable.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, RwLock};

use crate::body::{Body, EntryKind, EpochLink, KeyRotation};
use crate::checkpoint::{
    origin, Checkpoint, CheckpointError, InclusionProofFile, SignedCheckpoint,
};
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::entry::{genesis, Entry, EntryError, Header, SigningMode, Unsigned};
use crate::hash::Hash32;
use crate::id::{Code, EntryId, Epoch, LogName, Seq, TenantId};
use crate::keys::{Signer, VerifierKey};
use crate::merkle::{leaf_hash, LeafIndex, MerkleTree};

mod frontier;
use crate::random::{OsRandom, RandomSource};
use crate::store::{ChainHead, Store, StoreError, StoredCheckpoint};
use frontier::Frontier;

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
    /// A checkpoint could not be built or signed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The head kept moving under concurrent writers.
    #[error("tenant {0}: gave up after {MAX_CONFLICT_RETRIES} append conflicts")]
    Contention(TenantId),
    /// The sealer thread panicked.
    #[error("the sealer thread panicked")]
    SealerPanicked,
    /// Waiting for a seal timed out.
    #[error("tenant {tenant}: seq {seq} not sealed within the timeout")]
    SealTimeout {
        /// Tenant.
        tenant: TenantId,
        /// The entry waited for.
        seq: Seq,
    },
}

/// When to sign a checkpoint, and when to start a new epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SealPolicy {
    /// Sign a checkpoint as soon as this many entries are unsealed
    /// (inline, by the appending thread). `None`: only on [`AuditLog::seal`],
    /// [`AuditLog::seal_all`] or a [`Sealer`] tick.
    pub every_entries: Option<u64>,
    /// Start a new epoch when the current one holds this many entries.
    pub epoch_max_entries: Option<u64>,
    /// Start a new epoch when the current one is older than this.
    pub epoch_max_age: Option<Duration>,
}

/// One tenant's view, loaded from the store on first use.
#[derive(Default)]
struct TenantState {
    loaded: bool,
    head: Option<ChainHead>,
    epoch: Epoch,
    /// First seq of the current epoch.
    epoch_start: Seq,
    /// Timestamp of the current epoch's first entry.
    epoch_opened: Option<Timestamp>,
    /// The current epoch's tree of entry hashes (its right edge: size
    /// and root are all that appending and sealing need).
    tree: Frontier,
    /// The latest checkpoint of the current epoch.
    sealed: Option<SignedCheckpoint>,
}

impl TenantState {
    fn sealed_size(&self) -> u64 {
        self.sealed.as_ref().map_or(0, |c| c.checkpoint().size().0)
    }
}

struct Inner {
    name: LogName,
    signer: RwLock<Arc<dyn Signer>>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    mode: SigningMode,
    policy: SealPolicy,
    tenants: Mutex<HashMap<TenantId, Arc<Mutex<TenantState>>>>,
    /// Notified after every checkpoint, for [`AuditLog::wait_sealed`].
    sealed_signal: (Mutex<u64>, Condvar),
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
    policy: SealPolicy,
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
    /// Sets the checkpoint and epoch policy (default: seal on demand only, one epoch).
    pub fn seal_policy(mut self, policy: SealPolicy) -> Self {
        self.policy = policy;
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
                policy: self.policy,
                tenants: Mutex::new(HashMap::new()),
                sealed_signal: (Mutex::new(0), Condvar::new()),
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
            policy: SealPolicy::default(),
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

    fn tenant_state(&self, tenant: &TenantId) -> Arc<Mutex<TenantState>> {
        let mut map = self.inner.tenants.lock();
        // Look up first: `entry` would clone the tenant id on every append.
        if let Some(slot) = map.get(tenant) {
            return slot.clone();
        }
        map.entry(tenant.clone()).or_default().clone()
    }

    /// (Re)loads a tenant's state from the store: head, current epoch, its
    /// tree and its latest checkpoint.
    fn load(&self, tenant: &TenantId, st: &mut TenantState) -> Result<(), LogError> {
        let store = &self.inner.store;
        let head = store.head(tenant)?;
        let mut fresh = TenantState {
            loaded: true,
            head,
            ..TenantState::default()
        };
        if let Some(h) = head {
            fresh.epoch = h.epoch;
            fresh.epoch_start = store.epoch_start(tenant, h.epoch)?.unwrap_or(h.seq);
            let to = h.seq.checked_next().ok_or(EntryError::SeqOverflow)?;
            let entries = store.read(tenant, fresh.epoch_start, to)?;
            fresh.epoch_opened = entries.first().map(Entry::ts);
            fresh.tree = entries.iter().map(|e| leaf_hash(&e.hash().0)).collect();
            fresh.sealed =
                latest_checkpoint_within(store.as_ref(), tenant, h.epoch, fresh.tree.size())?;
        }
        *st = fresh;
        Ok(())
    }

    /// After a compare-and-append conflict: catches up with what other
    /// writers appended, reading only the new entries when the epoch is
    /// unchanged (a full reload otherwise).
    fn catch_up(&self, tenant: &TenantId, st: &mut TenantState) -> Result<(), LogError> {
        let store = &self.inner.store;
        let head = store.head(tenant)?;
        match (head, st.head) {
            (new, old) if st.loaded && new == old => Ok(()),
            (Some(new), Some(old)) if st.loaded && new.epoch == st.epoch && new.seq > old.seq => {
                let to = new.seq.checked_next().ok_or(EntryError::SeqOverflow)?;
                let fresh = store.read(tenant, Seq(old.seq.0 + 1), to)?;
                // The new entries must continue our cached head; else reload.
                if fresh.first().is_some_and(|e| e.prev() == &old.hash)
                    && fresh.len() as u64 == new.seq.0 - old.seq.0
                {
                    for e in &fresh {
                        st.tree.push(leaf_hash(&e.hash().0));
                    }
                    st.head = Some(new);
                    st.sealed =
                        latest_checkpoint_within(store.as_ref(), tenant, st.epoch, st.tree.size())?;
                    return Ok(());
                }
                self.load(tenant, st)
            }
            _ => self.load(tenant, st),
        }
    }

    /// Chains `body` as the tenant's next entry and stores it. Returns the
    /// stored entry (the receipt). On error nothing was stored.
    ///
    /// # Errors
    /// [`LogError`] when encoding, signing or the store fails.
    pub fn append(&self, tenant: &TenantId, body: &Body) -> Result<Entry, LogError> {
        refuse_sealed_without_id(tenant, body)?;
        let id = self.new_entry_id();
        let mut v = self.append_batch_with_ids(tenant, &[(id, body)])?;
        v.pop().ok_or_else(|| LogError::Contention(tenant.clone()))
    }

    /// As [`AuditLog::append`], with an entry id chosen beforehand (from
    /// [`AuditLog::new_entry_id`]): sealed fields bind the id of their entry
    /// (SPEC §4.4), so it must be known before the body is complete. Ids
    /// must be unique within the tenant's chain.
    ///
    /// # Errors
    /// As [`AuditLog::append`].
    pub fn append_with_id(
        &self,
        tenant: &TenantId,
        id: EntryId,
        body: &Body,
    ) -> Result<Entry, LogError> {
        let mut v = self.append_batch_with_ids(tenant, &[(id, body)])?;
        v.pop().ok_or_else(|| LogError::Contention(tenant.clone()))
    }

    /// Appends a `shred` tombstone: only the key store's destroy calls
    /// write one, after they destroyed the keys it names.
    pub(crate) fn append_shred(&self, tenant: &TenantId, body: &Body) -> Result<Entry, LogError> {
        if let Body::Shred(s) = body {
            s.check_rules().map_err(|reason| {
                LogError::Store(StoreError::InvalidAppend {
                    tenant: tenant.clone(),
                    reason,
                })
            })?;
        }
        let id = self.new_entry_id();
        let mut v = self.append_unchecked(tenant, &[(id, body)])?;
        v.pop().ok_or_else(|| LogError::Contention(tenant.clone()))
    }

    /// Chains and stores several bodies atomically, in order (one store
    /// transaction: group commit).
    ///
    /// # Errors
    /// As [`AuditLog::append`]; on error none was stored.
    pub fn append_batch(&self, tenant: &TenantId, bodies: &[Body]) -> Result<Vec<Entry>, LogError> {
        for b in bodies {
            refuse_sealed_without_id(tenant, b)?;
        }
        let items: Vec<(EntryId, &Body)> =
            bodies.iter().map(|b| (self.new_entry_id(), b)).collect();
        self.append_batch_with_ids(tenant, &items)
    }

    pub(crate) fn append_batch_with_ids(
        &self,
        tenant: &TenantId,
        items: &[(EntryId, &Body)],
    ) -> Result<Vec<Entry>, LogError> {
        for (_, b) in items {
            check_appendable(tenant, b)?;
        }
        self.append_unchecked(tenant, items)
    }

    fn append_unchecked(
        &self,
        tenant: &TenantId,
        items: &[(EntryId, &Body)],
    ) -> Result<Vec<Entry>, LogError> {
        let values = items
            .iter()
            .map(|(id, b)| {
                Ok(Pending {
                    id: *id,
                    kind: b.kind(),
                    body: b.to_canonical().map_err(EntryError::from)?,
                })
            })
            .collect::<Result<Vec<_>, LogError>>()?;
        // Lock order everywhere: signer, then tenant state (see rotate_key).
        let signer_guard = self.inner.signer.read();
        let signer: &dyn Signer = signer_guard.as_ref();
        let slot = self.tenant_state(tenant);
        let mut st = slot.lock();
        if !st.loaded {
            self.load(tenant, &mut st)?;
        }
        if self.epoch_due(&st, values.len() as u64) {
            self.roll_locked(tenant, &mut st, signer)?;
        }
        let entries = self.append_locked(tenant, &mut st, values, signer, self.inner.mode)?;
        if let Some(n) = self.inner.policy.every_entries {
            if st.tree.size().0.saturating_sub(st.sealed_size()) >= n.max(1) {
                self.seal_locked(tenant, &mut st, signer)?;
            }
        }
        Ok(entries)
    }

    /// Chains `values` after the current head and appends them, retrying on
    /// conflicts; updates head and tree only after the store acknowledged.
    fn append_locked(
        &self,
        tenant: &TenantId,
        st: &mut TenantState,
        mut values: Vec<Pending>,
        signer: &dyn Signer,
        mode: SigningMode,
    ) -> Result<Vec<Entry>, LogError> {
        for _ in 0..MAX_CONFLICT_RETRIES {
            let epoch = st.epoch;
            let entries = self.chain(tenant, st.head.as_ref(), epoch, values, signer, mode)?;
            match self.inner.store.append(tenant, &entries) {
                Ok(()) => {
                    if st.tree.is_empty() {
                        st.epoch_start = entries.first().map_or(st.epoch_start, Entry::seq);
                        st.epoch_opened = entries.first().map(Entry::ts);
                    }
                    for e in &entries {
                        st.tree.push(leaf_hash(&e.hash().0));
                    }
                    st.head = entries.last().map(ChainHead::of).or(st.head);
                    return Ok(entries);
                }
                Err(StoreError::Conflict { .. }) => {
                    // Re-chain the same bodies (moved back, not copied).
                    values = entries.into_iter().map(Pending::from).collect();
                    self.catch_up(tenant, st)?;
                }
                Err(e) => {
                    // Unknown state: reload before the next append.
                    st.loaded = false;
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
        epoch: Epoch,
        values: Vec<Pending>,
        signer: &dyn Signer,
        mode: SigningMode,
    ) -> Result<Vec<Entry>, LogError> {
        let (mut seq, mut prev) = match head {
            Some(h) => (h.seq.checked_next().ok_or(EntryError::SeqOverflow)?, h.hash),
            None => (Seq(0), genesis(&self.inner.name, tenant)),
        };
        let n = values.len();
        let header = |id: EntryId, seq: Seq, prev: Hash32| Header {
            log: self.inner.name.clone(),
            tenant: tenant.clone(),
            epoch,
            seq,
            prev,
            id,
            ts: self.inner.clock.now(),
        };
        let threads = signing_threads(mode, n);
        if threads < 2 {
            let mut out = Vec::with_capacity(n);
            for Pending { id, kind, body } in values {
                let e = Entry::seal_jcs(header(id, seq, prev), kind, &body, signer, mode)?;
                prev = *e.hash();
                seq = seq.checked_next().ok_or(EntryError::SeqOverflow)?;
                out.push(e);
            }
            return Ok(out);
        }
        // Chain first (each hash links to the previous hash, never to a
        // signature), then sign the batch on several threads: the same
        // bytes, as Ed25519 signatures are deterministic.
        let key_id = signer.verifier_key().id();
        let mut unsigned = Vec::with_capacity(n);
        for Pending { id, kind, body } in values {
            let u = Entry::seal_jcs_unsigned(header(id, seq, prev), kind, &body, key_id)?;
            prev = *u.hash();
            seq = seq.checked_next().ok_or(EntryError::SeqOverflow)?;
            unsigned.push(u);
        }
        let per_thread = n.div_ceil(threads);
        let mut chunks: Vec<Vec<Unsigned>> = Vec::with_capacity(threads);
        let mut rest = unsigned.into_iter();
        loop {
            let chunk: Vec<Unsigned> = rest.by_ref().take(per_thread).collect();
            if chunk.is_empty() {
                break;
            }
            chunks.push(chunk);
        }
        let signed: Vec<Result<Vec<Entry>, EntryError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .into_iter()
                            .map(|u| u.sign(signer))
                            .collect::<Result<Vec<Entry>, EntryError>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                // A signer that panics panics the caller, as when signing
                // on the calling thread.
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut out = Vec::with_capacity(n);
        for part in signed {
            out.extend(part?);
        }
        Ok(out)
    }

    fn epoch_due(&self, st: &TenantState, incoming: u64) -> bool {
        if st.tree.is_empty() {
            return false;
        }
        let p = &self.inner.policy;
        let full = p
            .epoch_max_entries
            .is_some_and(|max| st.tree.size().0.saturating_add(incoming) > max.max(1));
        let old = match (p.epoch_max_age, st.epoch_opened) {
            (Some(age), Some(opened)) => {
                let age_us = i64::try_from(age.as_micros()).unwrap_or(i64::MAX);
                self.inner
                    .clock
                    .now()
                    .unix_micros()
                    .saturating_sub(opened.unix_micros())
                    >= age_us
            }
            _ => false,
        };
        full || old
    }

    /// Signs a checkpoint over the tenant's current tree unless the latest
    /// checkpoint already covers it; stores it with the log.
    fn seal_locked(
        &self,
        tenant: &TenantId,
        st: &mut TenantState,
        signer: &dyn Signer,
    ) -> Result<Option<SignedCheckpoint>, LogError> {
        if st.tree.is_empty() || st.sealed_size() == st.tree.size().0 {
            return Ok(None);
        }
        let cp = Checkpoint::new(
            origin(&self.inner.name, tenant, st.epoch),
            st.tree.size(),
            st.tree.root(),
        )?;
        let signed = SignedCheckpoint::sign(cp, &[signer])?;
        self.inner.store.put_checkpoint(
            tenant,
            &StoredCheckpoint {
                epoch: st.epoch,
                size: st.tree.size(),
                note: signed.note_text().to_owned(),
            },
        )?;
        st.sealed = Some(signed.clone());
        let (lock, cv) = &self.inner.sealed_signal;
        *lock.lock() += 1;
        cv.notify_all();
        Ok(Some(signed))
    }

    /// Closes the current epoch with a final checkpoint and appends the
    /// `epoch_link` entry that opens the next one. On a conflict (another
    /// writer appended meanwhile) it catches up, re-seals and re-links, so
    /// the link always binds the final checkpoint of what was stored.
    fn roll_locked(
        &self,
        tenant: &TenantId,
        st: &mut TenantState,
        signer: &dyn Signer,
    ) -> Result<Entry, LogError> {
        for _ in 0..MAX_CONFLICT_RETRIES {
            self.seal_locked(tenant, st, signer)?;
            let Some(final_cp) = st.sealed.clone() else {
                return Err(LogError::Store(StoreError::InvalidAppend {
                    tenant: tenant.clone(),
                    reason: "cannot roll an empty epoch".into(),
                }));
            };
            let cp = final_cp.checkpoint();
            let body = Body::EpochLink(EpochLink {
                prev_epoch: st.epoch,
                origin: cp.origin().to_owned(),
                size: cp.size(),
                root: *cp.root(),
                note_hash: final_cp.note_hash(),
            });
            let value = body.to_canonical().map_err(EntryError::from)?;
            let next = Epoch(st.epoch.0 + 1);
            let item = vec![Pending {
                id: self.new_entry_id(),
                kind: EntryKind::EpochLink,
                body: value,
            }];
            let entries = self.chain(
                tenant,
                st.head.as_ref(),
                next,
                item,
                signer,
                self.inner.mode,
            )?;
            match self.inner.store.append(tenant, &entries) {
                Ok(()) => {
                    let link = entries
                        .into_iter()
                        .next()
                        .ok_or_else(|| LogError::Contention(tenant.clone()))?;
                    st.epoch = next;
                    st.epoch_start = link.seq();
                    st.epoch_opened = Some(link.ts());
                    st.tree = std::iter::once(leaf_hash(&link.hash().0)).collect();
                    st.sealed = None;
                    st.head = Some(ChainHead::of(&link));
                    return Ok(link);
                }
                Err(StoreError::Conflict { .. }) => self.catch_up(tenant, st)?,
                Err(e) => {
                    st.loaded = false;
                    return Err(e.into());
                }
            }
        }
        Err(LogError::Contention(tenant.clone()))
    }

    /// Signs a checkpoint for `tenant` now if any entry is unsealed.
    /// Returns it, or `None` when everything was already sealed.
    ///
    /// # Errors
    /// [`LogError`] when signing or storing fails.
    pub fn seal(&self, tenant: &TenantId) -> Result<Option<SignedCheckpoint>, LogError> {
        let signer_guard = self.inner.signer.read();
        let slot = self.tenant_state(tenant);
        let mut st = slot.lock();
        // Other writers (processes) may have appended: seal what is stored.
        self.catch_up(tenant, &mut st)?;
        self.seal_locked(tenant, &mut st, signer_guard.as_ref())
    }

    /// Seals every tenant in the store (also those only a previous process
    /// wrote: nothing stays unsealed across a crash). Returns how many
    /// checkpoints were signed.
    ///
    /// # Errors
    /// The first [`LogError`]; tenants before it were sealed.
    pub fn seal_all(&self) -> Result<usize, LogError> {
        let mut n = 0;
        for t in self.inner.store.tenants()? {
            n += usize::from(self.seal(&t)?.is_some());
        }
        Ok(n)
    }

    /// Starts a new epoch for `tenant` now (see [`SealPolicy`] for automatic
    /// rollover). Returns the `epoch_link` entry.
    ///
    /// # Errors
    /// [`LogError`]; an empty tenant cannot roll.
    pub fn roll_epoch(&self, tenant: &TenantId) -> Result<Entry, LogError> {
        let signer_guard = self.inner.signer.read();
        let slot = self.tenant_state(tenant);
        let mut st = slot.lock();
        if !st.loaded {
            self.load(tenant, &mut st)?;
        }
        self.roll_locked(tenant, &mut st, signer_guard.as_ref())
    }

    /// The highest seq covered by a signed checkpoint (entries of closed
    /// epochs are always covered by their final checkpoint).
    ///
    /// # Errors
    /// [`LogError`] when the store cannot be read.
    pub fn sealed_through(&self, tenant: &TenantId) -> Result<Option<Seq>, LogError> {
        let slot = self.tenant_state(tenant);
        let mut st = slot.lock();
        if !st.loaded {
            self.load(tenant, &mut st)?;
        }
        let n = st.sealed_size();
        Ok(if n > 0 {
            Some(Seq(st.epoch_start.0 + n - 1))
        } else {
            st.epoch_start.0.checked_sub(1).map(Seq)
        })
    }

    /// Blocks until `seq` of `tenant` is covered by a signed checkpoint (made
    /// by an inline seal, a [`Sealer`] or another thread), or `timeout` passes.
    ///
    /// # Errors
    /// [`LogError::SealTimeout`].
    pub fn wait_sealed(
        &self,
        tenant: &TenantId,
        seq: Seq,
        timeout: Duration,
    ) -> Result<(), LogError> {
        let deadline = std::time::Instant::now() + timeout;
        let (lock, cv) = &self.inner.sealed_signal;
        loop {
            let generation = *lock.lock();
            if self.sealed_through(tenant)?.is_some_and(|s| s >= seq) {
                return Ok(());
            }
            let mut g = lock.lock();
            if *g == generation && cv.wait_until(&mut g, deadline).timed_out() {
                drop(g);
                if self.sealed_through(tenant)?.is_some_and(|s| s >= seq) {
                    return Ok(());
                }
                return Err(LogError::SealTimeout {
                    tenant: tenant.clone(),
                    seq,
                });
            }
        }
    }

    /// Builds a C2SP `tlog-proof@v1` file proving that entry `seq` of
    /// `tenant` is included under the latest stored checkpoint of its epoch
    /// (SPEC §7.5). Verifiable with just the entry hash, the file and the
    /// verifier key.
    ///
    /// # Errors
    /// [`LogError::SealTimeout`] when no checkpoint covers the entry yet;
    /// [`LogError::Store`] when it does not exist.
    pub fn inclusion_proof(
        &self,
        tenant: &TenantId,
        seq: Seq,
    ) -> Result<InclusionProofFile, LogError> {
        inclusion_proof(self.inner.store.as_ref(), tenant, seq)
    }

    /// Copies a closed epoch of `tenant` out of the store — its entries as
    /// canonical lines and its signed checkpoints — so it can be kept in
    /// cold storage. Delete it from the hot store afterwards with
    /// [`Store::delete_archived_epoch`]; the remaining chain stays verifiable
    /// on its own (its first entry is the `epoch_link` binding this epoch's
    /// final checkpoint) and fully, from genesis, with the archive.
    ///
    /// # Errors
    /// [`LogError::Store`] when the epoch is not closed or cannot be read.
    pub fn archive_epoch(&self, tenant: &TenantId, epoch: Epoch) -> Result<EpochArchive, LogError> {
        archive_epoch(self.inner.store.as_ref(), tenant, epoch)
    }

    /// Replaces the log key. For every tenant in the store, appends a
    /// `key_rotation` entry signed by the **old** key that names the new one;
    /// every later entry and checkpoint is signed by `new`. Auditors who
    /// pinned the old key accept the new one through these entries.
    ///
    /// # Errors
    /// [`LogError`] if any append fails; tenants rotated before the failure
    /// keep their rotation entry, and the key is not switched.
    pub fn rotate_key(&self, new: Arc<dyn Signer>, reason: Code) -> Result<Vec<Entry>, LogError> {
        let body = Body::KeyRotation(KeyRotation {
            new_key: new.verifier_key().clone(),
            reason,
        });
        let value = body.to_canonical().map_err(EntryError::from)?;
        // Hold the key write lock so no entry is signed by the old key after
        // its rotation entry.
        let mut signer = self.inner.signer.write();
        let tenants = self.inner.store.tenants()?;
        let mut out = Vec::with_capacity(tenants.len());
        for t in &tenants {
            let slot = self.tenant_state(t);
            let mut st = slot.lock();
            if !st.loaded {
                self.load(t, &mut st)?;
            }
            let item = vec![Pending {
                id: self.new_entry_id(),
                kind: EntryKind::KeyRotation,
                body: value.clone(),
            }];
            // A rotation entry is always signed by the old key, also in
            // batch-sealed mode: it is what transfers the auditor's trust.
            out.extend(self.append_locked(
                t,
                &mut st,
                item,
                signer.as_ref(),
                SigningMode::PerEntry,
            )?);
            // Seal what the old key vouches for, rotation entry included.
            self.seal_locked(t, &mut st, signer.as_ref())?;
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

/// A decision with sealed fields is bound to the entry id its fields were
/// sealed for (SPEC §4.4): appending it under a fresh id would store fields
/// nobody can open, so the fresh-id paths refuse it.
fn refuse_sealed_without_id(tenant: &TenantId, body: &Body) -> Result<(), LogError> {
    match body {
        Body::Decision(d) if !d.sealed.is_empty() => {
            Err(LogError::Store(StoreError::InvalidAppend {
                tenant: tenant.clone(),
                reason: "a decision with sealed fields must be appended under the entry id its \
                         fields were sealed for (append_with_id, Pipeline::submit_with_id)"
                    .into(),
            }))
        }
        _ => Ok(()),
    }
}

/// A body waiting to be chained: its id, kind and canonical bytes.
struct Pending {
    id: EntryId,
    kind: EntryKind,
    body: Vec<u8>,
}

impl From<Entry> for Pending {
    fn from(e: Entry) -> Pending {
        let (id, kind, body) = e.into_unchained();
        Pending { id, kind, body }
    }
}

/// Refuses bodies an application must not append itself: `epoch_link` and
/// `key_rotation` entries are written only by [`AuditLog::roll_epoch`] and
/// [`AuditLog::rotate_key`] (which place, seal and sign them correctly), and
/// bodies that break the read-side rules (SPEC §4.1) would be sealed only to
/// be rejected as malformed by every verifier.
fn check_appendable(tenant: &TenantId, body: &Body) -> Result<(), LogError> {
    let invalid = |reason: String| {
        LogError::Store(StoreError::InvalidAppend {
            tenant: tenant.clone(),
            reason,
        })
    };
    match body {
        Body::EpochLink(_) => Err(invalid(
            "epoch_link entries are written by roll_epoch only".into(),
        )),
        Body::KeyRotation(_) => Err(invalid(
            "key_rotation entries are written by rotate_key only".into(),
        )),
        Body::Shred(_) => Err(invalid(
            "shred entries are written by KeyStore::destroy_tenant_key / destroy_subject_key only"
                .into(),
        )),
        Body::Decision(d) => d
            .check_rules()
            .map_err(|e| invalid(format!("decision body: {e}"))),
        Body::HumanOversight(h)
            if h.note
                .as_ref()
                .is_some_and(|n| n.len() > crate::receipt::MAX_TEXT_BYTES) =>
        {
            Err(invalid(
                "human_oversight note is longer than 1024 bytes".into(),
            ))
        }
        _ => Ok(()),
    }
}

/// The latest stored checkpoint of `epoch` that covers no more than `size`
/// entries (a checkpoint past the stored entries — possible only after a
/// store repaired a damaged tail — is never taken as "sealed").
fn latest_checkpoint_within(
    store: &dyn Store,
    tenant: &TenantId,
    epoch: Epoch,
    size: crate::merkle::TreeSize,
) -> Result<Option<SignedCheckpoint>, LogError> {
    match store
        .checkpoints(tenant, epoch)?
        .into_iter()
        .rev()
        .find(|c| c.size <= size)
    {
        Some(c) => Ok(Some(SignedCheckpoint::dangerous_from_stored_unverified(
            c.note,
        )?)),
        None => Ok(None),
    }
}

/// [`AuditLog::inclusion_proof`] on any store (no signer needed).
pub(crate) fn inclusion_proof(
    store: &dyn Store,
    tenant: &TenantId,
    seq: Seq,
) -> Result<InclusionProofFile, LogError> {
    entry_and_proof(store, tenant, seq).map(|(_, file)| file)
}

/// The entry at `seq` and its inclusion proof under the latest stored
/// checkpoint of its epoch that covers it. The epoch is read in chunks of
/// [`crate::package::READ_CHUNK`] entries, so memory stays bounded (one
/// leaf hash per entry). Shared by the proof command and disclosure export.
///
/// # Errors
/// [`StoreError::InvalidAppend`] (inside [`LogError::Store`]) when there is
/// no entry at `seq`; [`LogError::SealTimeout`] when no checkpoint covers it
/// yet; store and checkpoint errors.
pub(crate) fn entry_and_proof(
    store: &dyn Store,
    tenant: &TenantId,
    seq: Seq,
) -> Result<(Entry, InclusionProofFile), LogError> {
    let entry = store
        .read(tenant, seq, Seq(seq.0.saturating_add(1)))?
        .pop()
        .ok_or_else(|| StoreError::InvalidAppend {
            tenant: tenant.clone(),
            reason: format!("no entry at seq {seq}"),
        })?;
    let epoch = entry.epoch();
    let start = store.epoch_start(tenant, epoch)?.unwrap_or(seq);
    let index = seq.0 - start.0;
    let stored = store
        .checkpoints(tenant, epoch)?
        .into_iter()
        .rev()
        .find(|c| c.size.0 > index)
        .ok_or_else(|| LogError::SealTimeout {
            tenant: tenant.clone(),
            seq,
        })?;
    let mut tree = MerkleTree::new();
    let mut from = start;
    let end = Seq(start.0 + stored.size.0);
    while from < end {
        let chunk = store.read(
            tenant,
            from,
            Seq(end.0.min(from.0 + crate::package::READ_CHUNK)),
        )?;
        let Some(last) = chunk.last() else { break };
        from = Seq(last.seq().0 + 1);
        for e in &chunk {
            tree.push(leaf_hash(&e.hash().0));
        }
    }
    let proof = tree
        .inclusion_proof(LeafIndex(index), stored.size)
        .map_err(CheckpointError::Inclusion)?;
    let file = InclusionProofFile::from_note(LeafIndex(index), proof.path, stored.note)?;
    Ok((entry, file))
}

/// [`AuditLog::archive_epoch`] on any store (no signer needed).
pub(crate) fn archive_epoch(
    store: &dyn Store,
    tenant: &TenantId,
    epoch: Epoch,
) -> Result<EpochArchive, LogError> {
    let invalid = |reason: String| {
        LogError::Store(StoreError::InvalidAppend {
            tenant: tenant.clone(),
            reason,
        })
    };
    let head = store
        .head(tenant)?
        .ok_or_else(|| invalid("no entries".into()))?;
    if head.epoch <= epoch {
        return Err(invalid(format!("epoch {epoch} is not closed")));
    }
    let start = store
        .epoch_start(tenant, epoch)?
        .ok_or_else(|| invalid(format!("epoch {epoch} is not stored")))?;
    let next = store
        .epoch_start(tenant, Epoch(epoch.0 + 1))?
        .ok_or_else(|| invalid("the next epoch is not stored".into()))?;
    let entries = store.read(tenant, start, next)?;
    let lines = entries
        .iter()
        .map(Entry::to_line)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EpochArchive {
        tenant: tenant.clone(),
        epoch,
        lines,
        checkpoints: store.checkpoints(tenant, epoch)?,
    })
}

/// A closed epoch copied out of the store by [`AuditLog::archive_epoch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochArchive {
    /// Tenant.
    pub tenant: TenantId,
    /// Epoch.
    pub epoch: Epoch,
    /// Its entries, as canonical lines, in seq order.
    pub lines: Vec<Vec<u8>>,
    /// Its signed checkpoints, by increasing size (the last is the final one).
    pub checkpoints: Vec<StoredCheckpoint>,
}

impl EpochArchive {
    /// Writes `<tenant>.e<epoch>.jsonl` and one `<tenant>.e<epoch>.s<size>.checkpoint`
    /// file per checkpoint into `dir`; refuses to overwrite. Returns the paths.
    ///
    /// # Errors
    /// [`std::io::Error`].
    pub fn write_to(&self, dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
        use std::io::Write as _;
        let mut paths = Vec::new();
        let path = dir.join(format!("{}.e{}.jsonl", self.tenant, self.epoch));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        for l in &self.lines {
            f.write_all(l)?;
            f.write_all(b"\n")?;
        }
        f.sync_all()?;
        paths.push(path);
        for c in &self.checkpoints {
            let path = dir.join(format!(
                "{}.e{}.s{}.checkpoint",
                self.tenant, self.epoch, c.size
            ));
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)?;
            f.write_all(c.note.as_bytes())?;
            f.sync_all()?;
            paths.push(path);
        }
        Ok(paths)
    }
}

/// A background thread that seals every tenant on a timer, and once more
/// when stopped (dropped or [`Sealer::shutdown`]).
pub struct Sealer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<std::thread::JoinHandle<Result<(), LogError>>>,
    log: AuditLog,
}

impl Sealer {
    /// Starts sealing `log` every `interval`. It seals once right away, so
    /// entries a crashed process left unsealed are covered promptly.
    pub fn spawn(log: AuditLog, interval: Duration) -> Sealer {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let (s2, l2) = (stop.clone(), log.clone());
        let handle = std::thread::spawn(move || -> Result<(), LogError> {
            loop {
                l2.seal_all()?;
                let mut stopped = s2.0.lock();
                if !*stopped {
                    let _ = s2.1.wait_for(&mut stopped, interval);
                }
                if *stopped {
                    return Ok(());
                }
            }
        });
        Sealer {
            stop,
            handle: Some(handle),
            log,
        }
    }

    /// Seals everything now, from the calling thread.
    ///
    /// # Errors
    /// [`LogError`].
    pub fn flush(&self) -> Result<usize, LogError> {
        self.log.seal_all()
    }

    /// Stops the thread and seals everything a last time.
    ///
    /// # Errors
    /// The thread's last error, or the final seal's.
    pub fn shutdown(mut self) -> Result<(), LogError> {
        self.stop_thread()?;
        self.log.seal_all().map(|_| ())
    }

    fn stop_thread(&mut self) -> Result<(), LogError> {
        *self.stop.0.lock() = true;
        self.stop.1.notify_all();
        match self.handle.take().map(std::thread::JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(LogError::SealerPanicked),
            None => Ok(()),
        }
    }
}

impl Drop for Sealer {
    fn drop(&mut self) {
        if self.handle.is_some() {
            let _ = self.stop_thread();
            let _ = self.log.seal_all();
        }
    }
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer({:?})", self.log)
    }
}

/// Batches at least this long are signed on several threads.
const PARALLEL_SIGNING_MIN: usize = 64;

/// How many threads sign a batch of `n` per-entry-signed entries: one for
/// short batches and batch-sealed logs, else the available cores (at most
/// one per [`PARALLEL_SIGNING_MIN`] entries).
fn signing_threads(mode: SigningMode, n: usize) -> usize {
    if mode != SigningMode::PerEntry || n < PARALLEL_SIGNING_MIN {
        return 1;
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    cores.min(n / PARALLEL_SIGNING_MIN).clamp(1, 8)
}
