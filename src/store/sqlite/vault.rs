//! The SQLite store as a crypto-shredding [`KeyVault`]: table `key_slots`
//! in the same database file as the log (schema version 3).
//!
//! Destroying a slot deletes its wrapped keys with `secure_delete` on (the
//! freed bytes of the page are overwritten with zeros), commits, and then
//! runs `PRAGMA wal_checkpoint(TRUNCATE)`, so that neither the database
//! file nor the WAL still holds an image of the page with the keys. If a
//! reader in another connection blocks the checkpoint, the destroy fails
//! and must be retried (it is idempotent).

use rusqlite::{OptionalExtension, TransactionBehavior};

use super::error::Context;
use super::SqliteStore;
use crate::id::Seq;
use crate::id::TenantId;
use crate::shred::{KeySlot, KeyVault, RewrapFn, ShredError, SlotState, SubjectRef};
use crate::store::StoreError;

fn backend(e: StoreError) -> ShredError {
    ShredError::Backend(Box::new(e))
}

fn columns(slot: &KeySlot) -> (&str, String) {
    match slot {
        KeySlot::Subject(t, s) => (t.as_str(), s.to_hex()),
        KeySlot::Tenant(t) => (t.as_str(), String::new()),
    }
}

/// The slot of a `key_slots` row (inverse of [`columns`]).
fn slot_of(tenant: &str, subject: &str) -> Result<KeySlot, ShredError> {
    let bad =
        |what: &str| ShredError::Backend(format!("key_slots row with an invalid {what}").into());
    let t = TenantId::new(tenant).map_err(|_| bad("tenant id"))?;
    if subject.is_empty() {
        return Ok(KeySlot::Tenant(t));
    }
    let s = SubjectRef::from_hex(subject).map_err(|_| bad("subject ref"))?;
    Ok(KeySlot::Subject(t, s))
}

/// `PRAGMA wal_checkpoint(TRUNCATE)`: true when a reader blocked it.
fn checkpoint_blocked(c: &rusqlite::Connection, what: &'static str) -> Result<bool, ShredError> {
    let busy: i64 = c
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .ctx(what)
        .map_err(backend)?;
    Ok(busy != 0)
}

type Row = (Option<Vec<u8>>, i64, Option<i64>);

fn state_of(row: Option<Row>) -> SlotState {
    match row {
        None => SlotState::Absent,
        Some((Some(record), 0, _)) => SlotState::Live(record),
        Some((_, _, tombstone)) => {
            SlotState::Shredded(tombstone.and_then(|s| u64::try_from(s).ok()).map(Seq))
        }
    }
}

fn read_slot(
    c: &rusqlite::Connection,
    tenant: &str,
    subject: &str,
) -> Result<Option<Row>, StoreError> {
    c.prepare_cached(
        "SELECT record, destroyed, tombstone FROM key_slots WHERE tenant = ?1 AND subject = ?2",
    )
    .ctx("read key slot")?
    .query_row(rusqlite::params![tenant, subject], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
    .optional()
    .ctx("read key slot")
}

impl KeyVault for SqliteStore {
    fn load(&self, slot: &KeySlot) -> Result<SlotState, ShredError> {
        let (t, s) = columns(slot);
        let row = self.with_reader(|c| read_slot(c, t, &s)).map_err(backend)?;
        Ok(state_of(row))
    }

    fn create(&self, slot: &KeySlot, record: &[u8]) -> Result<SlotState, ShredError> {
        let (t, s) = columns(slot);
        let mut conn = self.writer.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin key create")
            .map_err(backend)?;
        tx.prepare_cached(
            "INSERT INTO key_slots (tenant, subject, record, destroyed) VALUES (?1, ?2, ?3, 0)
             ON CONFLICT (tenant, subject) DO NOTHING",
        )
        .ctx("insert key slot")
        .map_err(backend)?
        .execute(rusqlite::params![t, s, record])
        .ctx("insert key slot")
        .map_err(backend)?;
        let row = read_slot(&tx, t, &s).map_err(backend)?;
        tx.commit().ctx("commit key create").map_err(backend)?;
        Ok(state_of(row))
    }

    fn destroy(&self, slot: &KeySlot) -> Result<(), ShredError> {
        let (t, s) = columns(slot);
        let mut conn = self.writer.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin key destroy")
            .map_err(backend)?;
        if matches!(slot, KeySlot::Tenant(_)) {
            tx.prepare_cached("DELETE FROM key_slots WHERE tenant = ?1 AND subject <> ''")
                .ctx("delete subject keys")
                .map_err(backend)?
                .execute(rusqlite::params![t])
                .ctx("delete subject keys")
                .map_err(backend)?;
        }
        // Delete, then insert the marker: the old cell is freed (and zeroed,
        // secure_delete) rather than rewritten in place.
        let tombstone: Option<i64> = tx
            .prepare_cached(
                "DELETE FROM key_slots WHERE tenant = ?1 AND subject = ?2 RETURNING tombstone",
            )
            .ctx("delete key slot")
            .map_err(backend)?
            .query_row(rusqlite::params![t, s], |r| r.get(0))
            .optional()
            .ctx("delete key slot")
            .map_err(backend)?
            .flatten();
        tx.prepare_cached(
            "INSERT INTO key_slots (tenant, subject, record, destroyed, tombstone)
             VALUES (?1, ?2, NULL, 1, ?3)",
        )
        .ctx("insert shred marker")
        .map_err(backend)?
        .execute(rusqlite::params![t, s, tombstone])
        .ctx("insert shred marker")
        .map_err(backend)?;
        tx.commit().ctx("commit key destroy").map_err(backend)?;
        if checkpoint_blocked(&conn, "checkpoint after key destroy")? {
            return Err(ShredError::Backend(
                "keys deleted, but a reader blocked the WAL checkpoint that overwrites their old \
                 page images: retry the destroy"
                    .into(),
            ));
        }
        Ok(())
    }

    fn record_tombstone(&self, slot: &KeySlot, seq: Seq) -> Result<(), ShredError> {
        let (t, s) = columns(slot);
        let seq = i64::try_from(seq.0)
            .map_err(|_| ShredError::Backend("tombstone seq out of range".into()))?;
        let conn = self.writer.lock();
        conn.prepare_cached(
            "UPDATE key_slots SET tombstone = ?3 WHERE tenant = ?1 AND subject = ?2 AND destroyed = 1",
        )
        .ctx("record tombstone")
        .map_err(backend)?
        .execute(rusqlite::params![t, s, seq])
        .ctx("record tombstone")
        .map_err(backend)?;
        Ok(())
    }

    /// One `IMMEDIATE` transaction over every live row, then a WAL
    /// checkpoint (as after a destroy), so that neither file keeps the
    /// records wrapped under the old KEK.
    fn rewrap_all(&self, rewrap: &mut RewrapFn<'_>) -> Result<usize, ShredError> {
        let mut conn = self.writer.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin key re-wrap")
            .map_err(backend)?;
        let rows: Vec<(String, String, Vec<u8>)> = tx
            .prepare(
                "SELECT tenant, subject, record FROM key_slots
                 WHERE destroyed = 0 AND record IS NOT NULL ORDER BY tenant, subject",
            )
            .ctx("read key slots")
            .map_err(backend)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .ctx("read key slots")
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .ctx("read key slots")
            .map_err(backend)?;
        for (t, s, record) in &rows {
            let new = rewrap(&slot_of(t, s)?, record)?;
            tx.prepare_cached(
                "UPDATE key_slots SET record = ?3 WHERE tenant = ?1 AND subject = ?2 AND destroyed = 0",
            )
            .ctx("re-wrap key slot")
            .map_err(backend)?
            .execute(rusqlite::params![t, s, new])
            .ctx("re-wrap key slot")
            .map_err(backend)?;
        }
        tx.commit().ctx("commit key re-wrap").map_err(backend)?;
        if checkpoint_blocked(&conn, "checkpoint after key re-wrap")? {
            return Err(ShredError::Backend(
                "keys re-wrapped, but a reader blocked the WAL checkpoint that overwrites the \
                 old records' page images: run the re-wrap again"
                    .into(),
            ));
        }
        Ok(rows.len())
    }
}
