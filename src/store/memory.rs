//! The in-memory store: thread-safe, per-tenant atomic append, no eviction.
//!
//! Entries are held as their canonical lines (≈ 0.7–1 KB per receipt), each
//! allocated once at its exact length, not as parsed structures, to keep
//! memory per receipt low; epochs are kept as runs, not per entry.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::{check_append, ChainHead, Store, StoreError, StoredCheckpoint};
use crate::entry::Entry;
use crate::id::{Epoch, Seq, TenantId};

#[derive(Default)]
struct TenantLog {
    /// Seq of `lines[0]` (> 0 once old epochs were archived and deleted).
    base: u64,
    lines: Vec<Box<[u8]>>,
    /// Each stored epoch with the seq of its first entry, in chain order
    /// (epochs never decrease along a chain).
    epochs: Vec<(Epoch, u64)>,
    head: Option<ChainHead>,
    checkpoints: Vec<StoredCheckpoint>,
}

impl TenantLog {
    /// Seq just past the last stored entry.
    fn end(&self) -> u64 {
        self.base + self.lines.len() as u64
    }

    /// Number of stored entries of `epoch`.
    fn epoch_len(&self, epoch: Epoch) -> u64 {
        let i = self.epochs.partition_point(|(e, _)| *e < epoch);
        match self.epochs.get(i) {
            Some((e, start)) if *e == epoch => {
                let next = self.epochs.get(i + 1).map_or(self.end(), |(_, s)| *s);
                next - start
            }
            _ => 0,
        }
    }
}

/// A [`Store`] in process memory. Nothing is ever evicted.
#[derive(Default)]
pub struct MemoryStore {
    tenants: RwLock<HashMap<TenantId, Arc<Mutex<TenantLog>>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn tenant(&self, tenant: &TenantId) -> Option<Arc<Mutex<TenantLog>>> {
        self.tenants.read().get(tenant).cloned()
    }

    /// Bytes held in entry lines (for memory accounting in benches).
    pub fn stored_bytes(&self) -> usize {
        self.tenants
            .read()
            .values()
            .map(|t| t.lock().lines.iter().map(|l| l.len()).sum::<usize>())
            .sum()
    }
}

impl Store for MemoryStore {
    fn head(&self, tenant: &TenantId) -> Result<Option<ChainHead>, StoreError> {
        Ok(self.tenant(tenant).and_then(|t| t.lock().head))
    }

    fn append(&self, tenant: &TenantId, entries: &[Entry]) -> Result<(), StoreError> {
        let Some(last) = entries.last() else {
            return Ok(());
        };
        let t = match self.tenant(tenant) {
            Some(t) => t,
            None => self
                .tenants
                .write()
                .entry(tenant.clone())
                .or_default()
                .clone(),
        };
        let mut t = t.lock();
        if let Err(e) = check_append(tenant, t.head.as_ref(), entries) {
            if t.lines.is_empty() {
                // A refused first append must not create the tenant.
                drop(t);
                let mut map = self.tenants.write();
                if map.get(tenant).is_some_and(|x| x.lock().lines.is_empty()) {
                    map.remove(tenant);
                }
            }
            return Err(e);
        }
        for e in entries {
            if t.epochs.last().is_none_or(|(last, _)| *last != e.epoch()) {
                t.epochs.push((e.epoch(), e.seq().0));
            }
        }
        // Each entry's line was written once, at its exact length, when it
        // was sealed: it is copied, not encoded again.
        t.lines
            .extend(entries.iter().map(|e| Box::<[u8]>::from(e.line())));
        t.head = Some(ChainHead::of(last));
        Ok(())
    }

    fn read(&self, tenant: &TenantId, from: Seq, to: Seq) -> Result<Vec<Entry>, StoreError> {
        let Some(t) = self.tenant(tenant) else {
            return Ok(Vec::new());
        };
        let t = t.lock();
        let len = t.lines.len();
        let idx = |s: Seq| {
            usize::try_from(s.0.saturating_sub(t.base))
                .unwrap_or(usize::MAX)
                .min(len)
        };
        let (lo, hi) = (idx(from), idx(to));
        t.lines
            .get(lo..hi.max(lo))
            .unwrap_or_default()
            .iter()
            .map(|l| Entry::from_line(l).map_err(StoreError::Corrupt))
            .collect()
    }

    fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let mut v: Vec<TenantId> = self.tenants.read().keys().cloned().collect();
        v.sort();
        Ok(v)
    }

    fn epoch_start(&self, tenant: &TenantId, epoch: Epoch) -> Result<Option<Seq>, StoreError> {
        let Some(t) = self.tenant(tenant) else {
            return Ok(None);
        };
        let t = t.lock();
        // Epochs never decrease along the chain: binary search.
        let i = t.epochs.partition_point(|(e, _)| *e < epoch);
        Ok(match t.epochs.get(i) {
            Some((e, start)) if *e == epoch => Some(Seq(*start)),
            _ => None,
        })
    }

    fn delete_archived_epoch(&self, tenant: &TenantId, epoch: Epoch) -> Result<u64, StoreError> {
        let Some(t) = self.tenant(tenant) else {
            return Err(StoreError::InvalidAppend {
                tenant: tenant.clone(),
                reason: "no such tenant".into(),
            });
        };
        let mut t = t.lock();
        let oldest = t.epochs.first().map(|(e, _)| *e);
        super::check_deletable(tenant, oldest, t.head.as_ref(), epoch)?;
        let n = t.epoch_len(epoch);
        let cut = usize::try_from(n).map_or(t.lines.len(), |n| n.min(t.lines.len()));
        t.lines.drain(..cut);
        t.epochs.remove(0);
        t.base += n;
        t.checkpoints.retain(|c| c.epoch != epoch);
        Ok(n)
    }

    fn put_checkpoint(&self, tenant: &TenantId, cp: &StoredCheckpoint) -> Result<(), StoreError> {
        let invalid = |reason: String| StoreError::InvalidAppend {
            tenant: tenant.clone(),
            reason,
        };
        let Some(t) = self.tenant(tenant) else {
            return Err(invalid("checkpoint for a tenant without entries".into()));
        };
        let mut t = t.lock();
        let stored = t.epoch_len(cp.epoch);
        if cp.size.0 > stored {
            return Err(invalid(format!(
                "checkpoint of size {} but epoch {} holds {stored} stored entries",
                cp.size, cp.epoch
            )));
        }
        if let Some(existing) = t
            .checkpoints
            .iter()
            .find(|c| c.epoch == cp.epoch && c.size == cp.size)
        {
            return if existing.note == cp.note {
                Ok(())
            } else {
                Err(invalid(format!(
                    "a different checkpoint is already stored for epoch {} size {}",
                    cp.epoch, cp.size
                )))
            };
        }
        let pos = t
            .checkpoints
            .partition_point(|c| (c.epoch, c.size) < (cp.epoch, cp.size));
        t.checkpoints.insert(pos, cp.clone());
        Ok(())
    }

    fn checkpoints(
        &self,
        tenant: &TenantId,
        epoch: Epoch,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        Ok(self
            .tenant(tenant)
            .map(|t| {
                t.lock()
                    .checkpoints
                    .iter()
                    .filter(|c| c.epoch == epoch)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }
}
