//! Storage of tenant chains: the [`Store`] trait every backend implements.
//!
//! A store is not trusted for integrity (that comes from the chain, the
//! Merkle tree and signed checkpoints), but it must never lose or reorder an
//! acknowledged entry, and it must refuse an append that does not continue
//! the stored head (compare-and-append), so that two writers cannot fork a
//! chain.

mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::{RedisError, RedisOptions, RedisStore};
#[cfg(feature = "sqlite")]
pub use sqlite::{EntryFilter, Repair, RepairReason, SqliteError, SqliteOptions, SqliteStore};

use crate::entry::{Entry, EntryError};
use crate::hash::Hash32;
use crate::id::{Epoch, Seq, TenantId};
use crate::merkle::TreeSize;

/// The last entry of a tenant's chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// Its sequence number.
    pub seq: Seq,
    /// Its entry hash.
    pub hash: Hash32,
    /// Its epoch.
    pub epoch: Epoch,
}

impl ChainHead {
    /// The head after `entry`.
    pub fn of(entry: &Entry) -> ChainHead {
        ChainHead {
            seq: entry.seq(),
            hash: *entry.hash(),
            epoch: entry.epoch(),
        }
    }
}

/// A signed checkpoint as stored with the log: the full C2SP note text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Epoch the checkpoint belongs to.
    pub epoch: Epoch,
    /// Its tree size (number of entries of the epoch it covers).
    pub size: TreeSize,
    /// The signed note, byte for byte.
    pub note: String,
}

/// Errors of a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The append does not continue the stored head: another writer got
    /// there first. Reload the head, re-chain and retry.
    #[error("append conflict for tenant {tenant}: expected seq {expected}, got {got}")]
    Conflict {
        /// Tenant.
        tenant: TenantId,
        /// The seq the store expected next.
        expected: Seq,
        /// The seq offered.
        got: Seq,
    },
    /// The batch is not a contiguous, linked run of this tenant's entries.
    #[error("invalid append for tenant {tenant}: {reason}")]
    InvalidAppend {
        /// Tenant.
        tenant: TenantId,
        /// What is wrong.
        reason: String,
    },
    /// A stored record could not be decoded.
    #[error("stored entry is corrupt: {0}")]
    Corrupt(#[from] EntryError),
    /// The backend failed (I/O, connection …).
    #[error("store backend failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A tenant-partitioned, append-only entry store.
pub trait Store: Send + Sync {
    /// The tenant's head, or `None` for a tenant with no entries.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn head(&self, tenant: &TenantId) -> Result<Option<ChainHead>, StoreError>;

    /// Appends `entries` atomically (all or none). They must all belong to
    /// `tenant`, be contiguous and linked, and continue the stored head:
    /// the first entry's `seq` is head+1 (0 for a new tenant) and its `prev`
    /// is the head's hash (the genesis value for seq 0).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the head moved; [`StoreError::InvalidAppend`]
    /// for a batch that is not a linked run; [`StoreError::Backend`].
    fn append(&self, tenant: &TenantId, entries: &[Entry]) -> Result<(), StoreError>;

    /// Entries with `from <= seq < to`, in seq order.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Backend`].
    fn read(&self, tenant: &TenantId, from: Seq, to: Seq) -> Result<Vec<Entry>, StoreError>;

    /// Every tenant with at least one entry, sorted.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn tenants(&self) -> Result<Vec<TenantId>, StoreError>;

    /// The seq of the first entry of `epoch`, if the epoch has entries.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn epoch_start(&self, tenant: &TenantId, epoch: Epoch) -> Result<Option<Seq>, StoreError>;

    /// Stores a signed checkpoint. Refused (fail closed) when the epoch holds
    /// fewer than `size` stored entries — a checkpoint is never published for
    /// an entry that is not durable — or when a different note is already
    /// stored for the same epoch and size. Storing the same note twice is a
    /// no-op.
    ///
    /// # Errors
    /// [`StoreError::InvalidAppend`], [`StoreError::Backend`].
    fn put_checkpoint(
        &self,
        tenant: &TenantId,
        checkpoint: &StoredCheckpoint,
    ) -> Result<(), StoreError>;

    /// Deletes every entry and checkpoint of `epoch` from this store, after
    /// the caller archived them elsewhere (see [`crate::AuditLog::archive_epoch`]).
    /// **Irreversible.** Only the oldest stored epoch, and only one older
    /// than the head's epoch, can be deleted, so what remains is a
    /// contiguous chain that opens with an `epoch_link` entry binding the
    /// deleted epoch's final checkpoint. Returns the number of entries deleted.
    ///
    /// # Errors
    /// [`StoreError::InvalidAppend`] for any other epoch; [`StoreError::Backend`].
    fn delete_archived_epoch(&self, tenant: &TenantId, epoch: Epoch) -> Result<u64, StoreError>;

    /// The tenant's checkpoints of `epoch`, by increasing size.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn checkpoints(
        &self,
        tenant: &TenantId,
        epoch: Epoch,
    ) -> Result<Vec<StoredCheckpoint>, StoreError>;
}

/// Checks that `epoch` may be deleted (shared by backends): it is the oldest
/// stored epoch and older than the head's.
///
/// # Errors
/// [`StoreError::InvalidAppend`].
pub fn check_deletable(
    tenant: &TenantId,
    oldest: Option<Epoch>,
    head: Option<&ChainHead>,
    epoch: Epoch,
) -> Result<(), StoreError> {
    let invalid = |reason: String| StoreError::InvalidAppend {
        tenant: tenant.clone(),
        reason,
    };
    if oldest != Some(epoch) {
        return Err(invalid(format!(
            "epoch {epoch} is not the oldest stored epoch"
        )));
    }
    match head {
        Some(h) if h.epoch > epoch => Ok(()),
        _ => Err(invalid(format!(
            "epoch {epoch} is the current epoch; roll the epoch first"
        ))),
    }
}

/// Checks that `entries` can be appended after `head` (shared by backends).
///
/// # Errors
/// [`StoreError::Conflict`] or [`StoreError::InvalidAppend`].
pub fn check_append(
    tenant: &TenantId,
    head: Option<&ChainHead>,
    entries: &[Entry],
) -> Result<(), StoreError> {
    let invalid = |reason: String| StoreError::InvalidAppend {
        tenant: tenant.clone(),
        reason,
    };
    let Some(first) = entries.first() else {
        return Ok(());
    };
    let expected = head
        .map_or(Some(Seq(0)), |h| h.seq.checked_next())
        .ok_or_else(|| invalid("seq overflow".into()))?;
    if first.seq() != expected {
        return Err(StoreError::Conflict {
            tenant: tenant.clone(),
            expected,
            got: first.seq(),
        });
    }
    let expected_prev = match head {
        Some(h) => h.hash,
        None => crate::entry::genesis(&first.header().log, tenant),
    };
    if *first.prev() != expected_prev {
        return Err(StoreError::Conflict {
            tenant: tenant.clone(),
            expected,
            got: first.seq(),
        });
    }
    if let Some(h) = head {
        if first.epoch() < h.epoch {
            return Err(invalid(format!(
                "epoch {} is before the head's epoch {}",
                first.epoch(),
                h.epoch
            )));
        }
    }
    for (i, e) in entries.iter().enumerate() {
        if e.tenant() != tenant {
            return Err(invalid(format!(
                "entry seq {} belongs to another tenant",
                e.seq()
            )));
        }
        if i > 0 {
            let p = &entries[i - 1];
            if Some(e.seq()) != p.seq().checked_next()
                || e.prev() != p.hash()
                || e.epoch() < p.epoch()
            {
                return Err(invalid(format!(
                    "entry seq {} does not continue seq {}",
                    e.seq(),
                    p.seq()
                )));
            }
        }
    }
    Ok(())
}
