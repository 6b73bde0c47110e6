//! The on-disk layout, its version and the migration runner
//! (docs/STORAGE.md describes both).
//!
//! The version lives in `PRAGMA user_version` (0 = empty file); the file is
//! marked as an ai-audit store by `PRAGMA application_id`. Migration `n`
//! (1-based) turns a version `n-1` file into version `n`; each one runs in
//! the same `BEGIN IMMEDIATE` transaction as the version bump, so several
//! processes opening one file at once migrate it exactly once.

use rusqlite::{Connection, TransactionBehavior};

use super::error::{Context, SqliteError};
use super::Synchronous;
use crate::store::StoreError;

/// `PRAGMA application_id` of an ai-audit store: ASCII `aiau`.
pub(super) const APPLICATION_ID: i64 = 0x6169_6175;

/// WAL pages (4 KiB each) after which a commit checkpoints: 64 MiB.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 16_384;

/// Size the WAL file is truncated back to after a checkpoint: 64 MiB.
const JOURNAL_SIZE_LIMIT: i64 = 64 << 20;

/// Migrations in order; index `i` takes version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The schema version this code writes and reads.
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Entries per bucket of the trace and session indexes, as a power of two
/// (the `bucket` column is `seq >> BUCKET_BITS`). Part of the schema: a
/// change needs a migration.
pub(super) const BUCKET_BITS: u32 = 12;

/// Version 1: entries (the canonical line plus index columns extracted from
/// it), heads, and quarantined rows moved aside by open-time repair.
///
/// The trace and session indexes lead with `(tenant, bucket)`: trace and
/// session ids are random, and an index ordered by them alone takes one
/// page write per appended entry; bucketed, one commit's inserts land in
/// the last bucket's few dozen pages. A lookup seeks once per bucket.
const V1: &str = "
CREATE TABLE entries (
    tenant     TEXT    NOT NULL,
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    epoch      INTEGER NOT NULL CHECK (epoch >= 0),
    ts         INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    id         BLOB    NOT NULL CHECK (length(id) = 16),
    hash       BLOB    NOT NULL CHECK (length(hash) = 32),
    prev       BLOB    NOT NULL CHECK (length(prev) = 32),
    trace_id   TEXT,
    session_id TEXT,
    action     TEXT,
    line       BLOB    NOT NULL,
    bucket     INTEGER GENERATED ALWAYS AS (seq >> 12) VIRTUAL,
    PRIMARY KEY (tenant, seq)
) STRICT;
CREATE INDEX entries_by_ts      ON entries (tenant, ts);
CREATE INDEX entries_by_trace   ON entries (tenant, bucket, trace_id, seq)   WHERE trace_id IS NOT NULL;
CREATE INDEX entries_by_session ON entries (tenant, bucket, session_id, seq) WHERE session_id IS NOT NULL;
CREATE INDEX entries_by_kind    ON entries (tenant, kind, seq);
CREATE TABLE heads (
    tenant TEXT    NOT NULL PRIMARY KEY,
    seq    INTEGER NOT NULL,
    hash   BLOB    NOT NULL CHECK (length(hash) = 32),
    epoch  INTEGER NOT NULL,
    FOREIGN KEY (tenant, seq) REFERENCES entries (tenant, seq) DEFERRABLE INITIALLY DEFERRED
) STRICT;
CREATE TABLE quarantine (
    tenant TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    reason TEXT    NOT NULL,
    at     TEXT    NOT NULL,
    line   BLOB    NOT NULL
) STRICT;
";

/// Version 2: signed checkpoints stored with the log, and an epoch index.
const V2: &str = "
CREATE TABLE checkpoints (
    tenant TEXT    NOT NULL,
    epoch  INTEGER NOT NULL CHECK (epoch >= 0),
    size   INTEGER NOT NULL CHECK (size > 0),
    note   TEXT    NOT NULL,
    PRIMARY KEY (tenant, epoch, size)
) STRICT;
CREATE INDEX entries_by_epoch ON entries (tenant, epoch, seq);
";

/// Version 3: the crypto-shredding key vault (src/store/sqlite/vault.rs).
/// `subject` is `''` for a tenant's slot, else the subject ref in hex;
/// `record` holds wrapped keys only and is NULL once the slot is destroyed,
/// when `tombstone` takes the seq of the `shred` entry.
const V3: &str = "
CREATE TABLE key_slots (
    tenant    TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    record    BLOB,
    destroyed INTEGER NOT NULL CHECK (destroyed IN (0, 1)),
    tombstone INTEGER CHECK (tombstone >= 0),
    PRIMARY KEY (tenant, subject),
    CHECK ((destroyed = 0) = (record IS NOT NULL))
) STRICT;
";

/// Connection settings applied on every open. `journal_mode` is a property
/// of the file; the others are per connection.
pub(super) fn configure_writer(
    conn: &Connection,
    sync: Synchronous,
    cache_kib: i64,
) -> Result<(), StoreError> {
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .ctx("set journal_mode=WAL")?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(SqliteError::WalUnavailable { mode }.into());
    }
    let sync = match sync {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)
        .ctx("set synchronous")?;
    // A large page cache and infrequent checkpoints: index pages dirtied by
    // one commit are often dirtied again by the next, and are then written
    // back to the database file once per checkpoint instead of once per
    // commit (docs/STORAGE.md, "Throughput").
    conn.pragma_update(None, "cache_size", -cache_kib)
        .ctx("set cache_size")?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        .ctx("set wal_autocheckpoint")?;
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
        .ctx("set journal_size_limit")?;
    conn.pragma_update(None, "secure_delete", "ON")
        .ctx("set secure_delete")?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .ctx("set foreign_keys")?;
    Ok(())
}

fn user_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .ctx("read user_version")
}

fn application_id(conn: &Connection) -> Result<i64, StoreError> {
    conn.pragma_query_value(None, "application_id", |r| r.get(0))
        .ctx("read application_id")
}

/// Refuses files that are not ai-audit stores or are newer than this code.
fn check_identity(conn: &Connection, version: i64) -> Result<(), StoreError> {
    if version > SCHEMA_VERSION {
        return Err(SqliteError::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        }
        .into());
    }
    let app = application_id(conn)?;
    if version > 0 && app != APPLICATION_ID {
        return Err(SqliteError::NotAnAuditStore {
            reason: format!("application_id is {app:#x}"),
        }
        .into());
    }
    if version == 0 {
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'",
                [],
                |r| r.get(0),
            )
            .ctx("inspect schema")?;
        if tables > 0 || (app != 0 && app != APPLICATION_ID) {
            return Err(SqliteError::NotAnAuditStore {
                reason: format!("unversioned file holds {tables} foreign schema objects, application_id {app:#x}"),
            }
            .into());
        }
    }
    Ok(())
}

/// Brings the file to [`SCHEMA_VERSION`], returning the version found.
///
/// # Errors
/// [`SqliteError::SchemaTooNew`], [`SqliteError::NotAnAuditStore`], or a
/// database error (then nothing was changed).
pub(super) fn migrate(conn: &mut Connection) -> Result<i64, StoreError> {
    let found = user_version(conn)?;
    check_identity(conn, found)?;
    if found == SCHEMA_VERSION {
        return Ok(found);
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx("begin migration")?;
    // Re-read under the write lock: another process may have migrated.
    let found = user_version(&tx)?;
    check_identity(&tx, found)?;
    let start = usize::try_from(found).unwrap_or(usize::MAX);
    for sql in MIGRATIONS.iter().skip(start) {
        tx.execute_batch(sql).ctx("apply schema migration")?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .ctx("set application_id")?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .ctx("set user_version")?;
    tx.commit().ctx("commit migration")?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_column_matches_bucket_bits() {
        assert!(V1.contains(&format!(
            "GENERATED ALWAYS AS (seq >> {BUCKET_BITS}) VIRTUAL"
        )));
    }
}
