//! Where wrapped keys live: the [`KeyVault`] seam, implemented by
//! [`MemoryVault`] here and by the SQLite and Redis stores (in the same
//! database as the log, so one backup policy covers both — see SECURITY.md
//! for what that means for shredding).
//!
//! A vault stores opaque records (the wrapped keys of one slot, SPEC §4.6)
//! and, once a slot is destroyed, a marker holding no key material: the
//! seq of the shred tombstone. The marker is what lets a reader report
//! "shredded at seq N", and what stops a destroyed tenant or subject from
//! silently getting fresh keys.

use std::collections::HashMap;

use parking_lot::RwLock;
use zeroize::Zeroize;

use super::format::SubjectRef;
use super::ShredError;
use crate::id::{Seq, TenantId};

/// The key slot of a tenant, or of one data subject of a tenant.
#[derive(Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KeySlot {
    /// The tenant's commitment key and data key.
    Tenant(TenantId),
    /// One subject's data key.
    Subject(TenantId, SubjectRef),
}

impl KeySlot {
    /// The tenant the slot belongs to.
    pub fn tenant(&self) -> &TenantId {
        match self {
            KeySlot::Tenant(t) | KeySlot::Subject(t, _) => t,
        }
    }
}

impl std::fmt::Display for KeySlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySlot::Tenant(t) => write!(f, "tenant {t}"),
            KeySlot::Subject(t, s) => write!(f, "subject {s} of tenant {t}"),
        }
    }
}

/// What a slot holds. `Debug` does not print the record.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlotState {
    /// No key was ever created.
    Absent,
    /// The stored record (wrapped keys; no plaintext key material).
    Live(Vec<u8>),
    /// Destroyed; the seq of the tombstone once it was appended (`None`
    /// while a destroy is incomplete: the keys are gone, the tombstone is not
    /// yet recorded).
    Shredded(Option<Seq>),
}

impl std::fmt::Debug for SlotState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlotState::Absent => f.write_str("Absent"),
            SlotState::Live(r) => write!(f, "Live(<{} byte record>)", r.len()),
            SlotState::Shredded(seq) => write!(f, "Shredded({seq:?})"),
        }
    }
}

/// Persistent storage of wrapped keys and shred markers.
///
/// Implementations must make `destroy` irreversible for every copy they
/// control (overwrite freed pages, delete replicas' keys …) and must let a
/// tenant's `destroy` remove every subject slot of that tenant too.
pub trait KeyVault: Send + Sync {
    /// The slot's state.
    ///
    /// # Errors
    /// [`ShredError::Backend`].
    fn load(&self, slot: &KeySlot) -> Result<SlotState, ShredError>;

    /// Stores `record` if the slot is [`SlotState::Absent`]; returns the
    /// state afterwards (another writer's record if it won the race, or a
    /// shred marker).
    ///
    /// # Errors
    /// [`ShredError::Backend`].
    fn create(&self, slot: &KeySlot, record: &[u8]) -> Result<SlotState, ShredError>;

    /// Irreversibly deletes the slot's record — for a tenant slot, and the
    /// records of all its subjects — and leaves a marker
    /// `Shredded(None)`. Idempotent: destroying a destroyed slot keeps its
    /// marker and redoes the physical erasure steps.
    ///
    /// # Errors
    /// [`ShredError::Backend`]; after an error the caller must retry.
    fn destroy(&self, slot: &KeySlot) -> Result<(), ShredError>;

    /// Records the seq of the tombstone of a destroyed slot.
    ///
    /// # Errors
    /// [`ShredError::Backend`].
    fn record_tombstone(&self, slot: &KeySlot, seq: Seq) -> Result<(), ShredError>;

    /// Replaces every live record by `rewrap(slot, record)` as one atomic
    /// step (KEK rotation, [`super::KeyStore::rewrap_keys`]): if `rewrap`
    /// or the backend fails for any slot, no record changes. Shred markers
    /// and absent slots are untouched. Implementations must erase the old
    /// records as `destroy` does (they are wrapped under the old KEK).
    /// Returns the number of live records.
    ///
    /// The default refuses: a vault must opt in.
    ///
    /// # Errors
    /// What `rewrap` returns; [`ShredError::Backend`].
    fn rewrap_all(&self, rewrap: &mut RewrapFn<'_>) -> Result<usize, ShredError> {
        let _ = rewrap;
        Err(ShredError::Backend(
            "this key vault does not support re-wrapping (KEK rotation)".into(),
        ))
    }
}

/// The record transformation [`KeyVault::rewrap_all`] applies to each live slot.
pub type RewrapFn<'a> = dyn FnMut(&KeySlot, &[u8]) -> Result<Vec<u8>, ShredError> + 'a;

/// A vault in process memory (tests; deployments whose keys may die with
/// the process). Records are wiped when destroyed.
#[derive(Default)]
pub struct MemoryVault {
    slots: RwLock<HashMap<KeySlot, SlotState>>,
}

impl MemoryVault {
    /// An empty vault.
    pub fn new() -> MemoryVault {
        MemoryVault::default()
    }
}

impl std::fmt::Debug for MemoryVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemoryVault({} slots)", self.slots.read().len())
    }
}

fn wipe(state: &mut SlotState) {
    if let SlotState::Live(r) = state {
        r.zeroize();
    }
}

impl KeyVault for MemoryVault {
    fn load(&self, slot: &KeySlot) -> Result<SlotState, ShredError> {
        Ok(self
            .slots
            .read()
            .get(slot)
            .cloned()
            .unwrap_or(SlotState::Absent))
    }

    fn create(&self, slot: &KeySlot, record: &[u8]) -> Result<SlotState, ShredError> {
        let mut w = self.slots.write();
        Ok(w.entry(slot.clone())
            .or_insert_with(|| SlotState::Live(record.to_vec()))
            .clone())
    }

    fn destroy(&self, slot: &KeySlot) -> Result<(), ShredError> {
        let mut w = self.slots.write();
        if let KeySlot::Tenant(t) = slot {
            let subjects: Vec<KeySlot> = w
                .keys()
                .filter(|k| matches!(k, KeySlot::Subject(st, _) if st == t))
                .cloned()
                .collect();
            for k in subjects {
                if let Some(mut s) = w.remove(&k) {
                    wipe(&mut s);
                }
            }
        }
        let state = w.entry(slot.clone()).or_insert(SlotState::Absent);
        if !matches!(state, SlotState::Shredded(_)) {
            wipe(state);
            *state = SlotState::Shredded(None);
        }
        Ok(())
    }

    fn record_tombstone(&self, slot: &KeySlot, seq: Seq) -> Result<(), ShredError> {
        self.slots
            .write()
            .insert(slot.clone(), SlotState::Shredded(Some(seq)));
        Ok(())
    }

    fn rewrap_all(&self, rewrap: &mut RewrapFn<'_>) -> Result<usize, ShredError> {
        let mut w = self.slots.write();
        let mut new = Vec::new();
        for (slot, state) in w.iter() {
            if let SlotState::Live(r) = state {
                new.push((slot.clone(), rewrap(slot, r)?));
            }
        }
        let n = new.len();
        for (slot, record) in new {
            if let Some(mut old) = w.insert(slot, SlotState::Live(record)) {
                wipe(&mut old);
            }
        }
        Ok(n)
    }
}
