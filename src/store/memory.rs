//! The in-memory store: thread-safe, per-tenant atomic append, no eviction.
//!
//! Entries are held as their canonical lines (≈ 0.7–1 KB per receipt), not
//! as parsed structures, to keep memory per receipt low: lines are packed
//! end to end into chunks (no allocation and no allocator header per line,
//! 12 bytes of index each); epochs are kept as runs, not per entry.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::{check_append, ChainHead, Store, StoreError, StoredCheckpoint};
use crate::entry::Entry;
use crate::id::{Epoch, Seq, TenantId};

/// Where one line lies: chunk number (counted from the first chunk ever
/// made, so it survives dropping old chunks), offset and length.
#[derive(Clone, Copy)]
struct Span {
    chunk: u32,
    start: u32,
    len: u32,
}

/// Smallest and largest chunk: a tenant with few entries holds little,
/// a busy one allocates rarely.
const FIRST_CHUNK: usize = 4 << 10;
const MAX_CHUNK: usize = 1 << 20;

/// Lines packed end to end into chunks that are never reallocated.
#[derive(Default)]
struct Lines {
    /// Chunks still held; `chunks[0]` is chunk number `dropped`.
    chunks: Vec<Vec<u8>>,
    dropped: u32,
    spans: Vec<Span>,
}

impl Lines {
    fn len(&self) -> usize {
        self.spans.len()
    }

    fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Bytes of line text held.
    fn text_bytes(&self) -> usize {
        self.spans.iter().map(|s| s.len as usize).sum()
    }

    /// Appends `line`; `None` (and nothing appended) past the 4 GiB
    /// limits of the index.
    fn push(&mut self, line: &[u8]) -> Option<()> {
        let len = u32::try_from(line.len()).ok()?;
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= line.len());
        if !fits {
            // The new chunk's number must fit the index.
            u32::try_from(self.chunks.len())
                .ok()?
                .checked_add(self.dropped)?;
            let last = self.chunks.last().map_or(0, Vec::capacity);
            let size = (2 * last).clamp(FIRST_CHUNK, MAX_CHUNK).max(line.len());
            self.chunks.push(Vec::with_capacity(size));
        }
        let chunk = u32::try_from(self.chunks.len().checked_sub(1)?)
            .ok()?
            .checked_add(self.dropped)?;
        let c = self.chunks.last_mut()?;
        let start = u32::try_from(c.len()).ok()?;
        start.checked_add(len)?;
        // Within the chunk's capacity: the chunk is never reallocated.
        c.extend_from_slice(line);
        self.spans.push(Span { chunk, start, len });
        Some(())
    }

    /// Line `i` (0-based among those held).
    fn get(&self, i: usize) -> Option<&[u8]> {
        let s = self.spans.get(i)?;
        let c = self
            .chunks
            .get(s.chunk.checked_sub(self.dropped)? as usize)?;
        c.get(s.start as usize..s.start as usize + s.len as usize)
    }

    /// Forgets the first `n` lines and frees the chunks only they used.
    fn drop_front(&mut self, n: usize) {
        self.spans.drain(..n.min(self.spans.len()));
        let keep_from = match self.spans.first() {
            Some(s) => s.chunk,
            // Keep the chunk being filled.
            None => self
                .dropped
                .saturating_add(self.chunks.len().saturating_sub(1) as u32),
        };
        let free = (keep_from.saturating_sub(self.dropped) as usize).min(self.chunks.len());
        self.chunks.drain(..free);
        self.dropped += free as u32;
    }
}

#[derive(Default)]
struct TenantLog {
    /// Seq of the first held line (> 0 once old epochs were archived and deleted).
    base: u64,
    lines: Lines,
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
            .map(|t| t.lock().lines.text_bytes())
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
        // Each entry's line was written once, when it was sealed: it is
        // copied, not encoded again. All are kept or none.
        let held = t.lines.len();
        if entries.iter().any(|e| t.lines.push(e.line()).is_none()) {
            t.lines.spans.truncate(held);
            return Err(StoreError::InvalidAppend {
                tenant: tenant.clone(),
                reason: "a line is over the memory store's 4 GiB index limits".into(),
            });
        }
        for e in entries {
            if t.epochs.last().is_none_or(|(last, _)| *last != e.epoch()) {
                t.epochs.push((e.epoch(), e.seq().0));
            }
        }
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
        (lo..hi.max(lo))
            .map(|i| {
                // Every held index has its line; an empty one fails to parse.
                let line = t.lines.get(i).unwrap_or_default();
                Entry::from_line(line).map_err(StoreError::Corrupt)
            })
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
        t.lines.drop_front(cut);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line(i: usize) -> Vec<u8> {
        // Sizes from 1 byte to past the largest chunk.
        let len = match i % 7 {
            0 => MAX_CHUNK + 3,
            k => 1 + k * 997 % 3000,
        };
        (0..len).map(|j| (i + j) as u8).collect()
    }

    /// Every line comes back byte for byte, across chunk boundaries, also
    /// after old lines were dropped; chunks only old lines used are freed.
    #[test]
    fn packed_lines_round_trip_and_free_their_chunks() {
        let mut l = Lines::default();
        for i in 0..40 {
            l.push(&line(i)).unwrap();
        }
        assert_eq!(l.len(), 40);
        for i in 0..40 {
            assert_eq!(l.get(i).unwrap(), line(i).as_slice(), "line {i}");
        }
        assert_eq!(
            l.text_bytes(),
            (0..40).map(|i| line(i).len()).sum::<usize>()
        );
        let chunks = l.chunks.len();
        l.drop_front(25);
        assert!(l.chunks.len() < chunks);
        for i in 0..15 {
            assert_eq!(l.get(i).unwrap(), line(i + 25).as_slice(), "line {i}");
        }
        assert!(l.get(15).is_none());
        l.push(&line(99)).unwrap();
        assert_eq!(l.get(15).unwrap(), line(99).as_slice());
        l.drop_front(100);
        assert!(l.is_empty() && l.chunks.len() <= 1);
        l.push(b"x").unwrap();
        assert_eq!(l.get(0).unwrap(), b"x");
    }
}
