//! The embedded SQLite store: one database file, WAL journal, durable group
//! commit, safe for several threads and several processes at once
//! (docs/STORAGE.md).
//!
//! Appends go through one mutex-guarded write connection; each batch is one
//! `BEGIN IMMEDIATE` transaction that re-reads the tenant's head *from the
//! file* (another process may have moved it), runs [`check_append`], inserts
//! every entry and the new head, and commits before returning. Reads use a
//! small pool of read-only connections, which WAL lets run beside the writer.

mod error;
mod query;
mod repair;
mod row;
mod schema;
mod vault;

use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

pub use error::SqliteError;
pub use query::EntryFilter;
pub use repair::Repair;
// Named by `Repair::reason`; listed here for the crate root to re-export.
#[allow(unused_imports)]
pub use repair::RepairReason;

use self::error::{bad_column, Context};
use self::row::{head_from, int, Row};
use super::{check_append, ChainHead, Store, StoreError, StoredCheckpoint};
use crate::entry::Entry;
use crate::id::{Epoch, Seq, TenantId};
use crate::merkle::TreeSize;

/// How far a commit is flushed before [`Store::append`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Synchronous {
    /// `synchronous=FULL`: the WAL is fsynced at every commit.
    Full,
    /// `synchronous=NORMAL`: fsync only at checkpoints.
    Normal,
}

/// Settings of [`SqliteStore::open`]. The defaults are the durable ones.
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    busy_timeout: Duration,
    synchronous: Synchronous,
    full_integrity_check: bool,
    read_connections: usize,
    cache_mib: u32,
}

impl Default for SqliteOptions {
    /// Busy timeout 5 s, `synchronous=FULL`, `PRAGMA quick_check` on open,
    /// up to 4 pooled read connections, 64 MiB write cache.
    fn default() -> Self {
        SqliteOptions {
            busy_timeout: Duration::from_secs(5),
            synchronous: Synchronous::Full,
            full_integrity_check: false,
            read_connections: 4,
            cache_mib: 64,
        }
    }
}

impl SqliteOptions {
    /// How long a write waits for another connection (this or another
    /// process) to release the write lock before failing with
    /// `SqliteError::Busy`. Default 5 s.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// **Weakens durability.** Uses `synchronous=NORMAL`: commits are not
    /// fsynced, only WAL checkpoints are. The file stays consistent after a
    /// crash of the process, but a power loss or kernel crash can roll back
    /// the last acknowledged appends (a suffix of each tenant's chain).
    pub fn dangerous_synchronous_normal(mut self) -> Self {
        self.synchronous = Synchronous::Normal;
        self
    }

    /// Runs the full `PRAGMA integrity_check` on open instead of
    /// `quick_check` (which skips checking that indexes match their table).
    /// Both read the whole file; the full check is several times slower.
    pub fn full_integrity_check(mut self) -> Self {
        self.full_integrity_check = true;
        self
    }

    /// How many idle read connections to keep (at least 1; default 4).
    /// More concurrent readers open extra connections and close them after.
    pub fn read_connections(mut self, n: usize) -> Self {
        self.read_connections = n.max(1);
        self
    }

    /// Page cache of the write connection, in MiB (default 64; read
    /// connections keep SQLite's 2 MiB). It fills only as pages are used;
    /// a cache holding the hot index pages keeps appends fast as the file
    /// grows.
    pub fn cache_mib(mut self, mib: u32) -> Self {
        self.cache_mib = mib.max(1);
        self
    }

    fn cache_kib(&self) -> i64 {
        i64::from(self.cache_mib) * 1024
    }
}

/// A [`Store`] in one SQLite database file. See the module docs and
/// docs/STORAGE.md for the schema and what each setting risks.
pub struct SqliteStore {
    path: PathBuf,
    options: SqliteOptions,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    repairs: Vec<Repair>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// The schema version this code reads and writes (`PRAGMA user_version`).
    pub const SCHEMA_VERSION: i64 = schema::SCHEMA_VERSION;

    /// Opens (creating if needed) the store at `path`: switches the file to
    /// WAL, migrates the schema, runs the integrity check, then checks every
    /// tenant's head against its last entry and repairs what disagrees (see
    /// [`SqliteStore::last_open_repairs`]).
    ///
    /// Opening is safe while other processes use the same file.
    ///
    /// # Errors
    /// [`StoreError::Backend`] holding a `SqliteError`: `SchemaTooNew` for
    /// a file written by a newer version, `NotAnAuditStore` for another
    /// application's database, `Integrity` for a damaged file or a tail too
    /// damaged to repair, `WalUnavailable`, `Busy`, or `Database` for I/O and
    /// other SQLite failures.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut writer = Connection::open_with_flags(&path, flags).ctx("open database")?;
        writer
            .busy_timeout(options.busy_timeout)
            .ctx("set busy timeout")?;
        schema::configure_writer(&writer, options.synchronous, options.cache_kib())?;
        schema::migrate(&mut writer)?;
        integrity_check(&writer, options.full_integrity_check)?;
        let repairs = repair::check_and_repair(&mut writer)?;
        writer.set_prepared_statement_cache_capacity(32);
        Ok(SqliteStore {
            path,
            options,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            repairs,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What [`SqliteStore::open`] repaired, one item per tenant (empty when
    /// every head agreed with its last entry). Record these: a repair that
    /// moved a head backwards means acknowledged entries were lost.
    pub fn last_open_repairs(&self) -> &[Repair] {
        &self.repairs
    }

    /// A filter over `tenant`'s entries: shorthand for `EntryFilter::for_tenant`.
    pub fn filter(tenant: &TenantId) -> EntryFilter {
        EntryFilter::for_tenant(tenant)
    }

    /// The entries matching `filter`, in seq order.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for an undecodable stored line,
    /// [`StoreError::Backend`].
    pub fn query(&self, filter: &EntryFilter) -> Result<Vec<Entry>, StoreError> {
        self.with_reader(|c| query::run(c, filter))
    }

    /// SQLite's `EXPLAIN QUERY PLAN` for `filter`, one detail line per step
    /// (e.g. `SEARCH entries USING INDEX entries_by_trace (tenant=? AND trace_id=?)`).
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn explain_query(&self, filter: &EntryFilter) -> Result<Vec<String>, StoreError> {
        self.with_reader(|c| query::explain(c, filter))
    }

    /// Copies the WAL into the database file and truncates the WAL to zero
    /// bytes. Old page images (for example of rows rewritten by crypto-
    /// shredding) stay in the WAL until this runs. Returns `false` when a
    /// reader in another connection prevented a complete checkpoint.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn checkpoint(&self) -> Result<bool, StoreError> {
        let w = self.writer.lock();
        let busy: i64 = w
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .ctx("checkpoint")?;
        Ok(busy == 0)
    }

    fn open_reader(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let c = Connection::open_with_flags(&self.path, flags).ctx("open read connection")?;
        c.busy_timeout(self.options.busy_timeout)
            .ctx("set busy timeout")?;
        c.pragma_update(None, "query_only", "ON")
            .ctx("set query_only")?;
        Ok(c)
    }

    /// Runs `f` on a pooled read connection (opening one if none is idle).
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self.readers.lock().pop();
        let conn = match pooled {
            Some(c) => c,
            None => self.open_reader()?,
        };
        let out = f(&conn);
        let mut idle = self.readers.lock();
        if idle.len() < self.options.read_connections {
            idle.push(conn);
        }
        out
    }
}

/// `PRAGMA quick_check` (or `integrity_check`): refuses a damaged file.
fn integrity_check(conn: &Connection, full: bool) -> Result<(), StoreError> {
    let sql = if full {
        "PRAGMA integrity_check(8)"
    } else {
        "PRAGMA quick_check(8)"
    };
    let mut stmt = conn.prepare(sql).ctx("integrity check")?;
    let lines = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .ctx("integrity check")?
        .collect::<Result<Vec<_>, _>>()
        .ctx("integrity check")?;
    if lines.len() == 1 && lines[0] == "ok" {
        Ok(())
    } else {
        Err(SqliteError::Integrity {
            detail: lines.join("; "),
        }
        .into())
    }
}

fn read_head(conn: &Connection, tenant: &TenantId) -> Result<Option<ChainHead>, StoreError> {
    let row = conn
        .prepare_cached("SELECT seq, hash, epoch FROM heads WHERE tenant = ?1")
        .ctx("read head")?
        .query_row([tenant.as_str()], |r| {
            let hash = match r.get_ref(1)? {
                ValueRef::Blob(b) => b.to_vec(),
                _ => Vec::new(),
            };
            Ok(head_from(r.get(0)?, &hash, r.get(2)?))
        })
        .optional()
        .ctx("read head")?;
    match row {
        None => Ok(None),
        Some(Some(h)) => Ok(Some(h)),
        Some(None) => Err(bad_column("heads", "hash", Some(tenant))),
    }
}

/// Inserts or replaces `tenant`'s head.
fn write_head(conn: &Connection, tenant: &str, head: &ChainHead) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO heads (tenant, seq, hash, epoch) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, epoch = excluded.epoch",
    )
    .ctx("write head")?
    .execute(rusqlite::params![tenant, int(head.seq.0, "seq")?, &head.hash.0[..], int(head.epoch.0, "epoch")?])
    .ctx("write head")?;
    Ok(())
}

impl Store for SqliteStore {
    fn head(&self, tenant: &TenantId) -> Result<Option<ChainHead>, StoreError> {
        self.with_reader(|c| read_head(c, tenant))
    }

    fn append(&self, tenant: &TenantId, entries: &[Entry]) -> Result<(), StoreError> {
        let Some(last) = entries.last() else {
            return Ok(());
        };
        // Encode before taking the lock.
        let rows = entries.iter().map(Row::of).collect::<Result<Vec<_>, _>>()?;
        let mut conn = self.writer.lock();
        // BEGIN IMMEDIATE takes the file's write lock now (waiting up to the
        // busy timeout), so the head read below cannot go stale before commit.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin append")?;
        let head = read_head(&tx, tenant)?;
        // On error the transaction is dropped, which rolls it back.
        check_append(tenant, head.as_ref(), entries)?;
        {
            let mut insert = tx.prepare_cached(row::INSERT).ctx("insert entry")?;
            for r in &rows {
                r.insert(&mut insert).ctx("insert entry")?;
            }
        }
        write_head(&tx, tenant.as_str(), &ChainHead::of(last))?;
        // With synchronous=FULL the commit returns once the WAL is fsynced.
        tx.commit().ctx("commit append")
    }

    fn read(&self, tenant: &TenantId, from: Seq, to: Seq) -> Result<Vec<Entry>, StoreError> {
        if from >= to {
            return Ok(Vec::new());
        }
        self.with_reader(|c| {
            let mut stmt = c
                .prepare_cached("SELECT line FROM entries WHERE tenant = ?1 AND seq >= ?2 AND seq < ?3 ORDER BY seq")
                .ctx("read entries")?;
            let mut rows = stmt
                .query(rusqlite::params![tenant.as_str(), query::clamp(from), query::clamp(to)])
                .ctx("read entries")?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().ctx("read entries")? {
                match r.get_ref(0).ctx("read entries")? {
                    ValueRef::Blob(line) => out.push(Entry::from_line(line)?),
                    _ => return Err(bad_column("entries", "line", Some(tenant))),
                }
            }
            Ok(out)
        })
    }

    fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        self.with_reader(|c| {
            let mut stmt = c
                .prepare_cached("SELECT tenant FROM heads ORDER BY tenant")
                .ctx("list tenants")?;
            let names = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .ctx("list tenants")?;
            names
                .map(|n| {
                    TenantId::new(n.ctx("list tenants")?)
                        .map_err(|_| bad_column("heads", "tenant", None))
                })
                .collect()
        })
    }

    fn epoch_start(&self, tenant: &TenantId, epoch: Epoch) -> Result<Option<Seq>, StoreError> {
        self.with_reader(|c| {
            let v: Option<i64> = c
                .prepare_cached("SELECT MIN(seq) FROM entries WHERE tenant = ?1 AND epoch = ?2")
                .ctx("epoch start")?
                .query_row(
                    rusqlite::params![tenant.as_str(), int(epoch.0, "epoch")?],
                    |r| r.get(0),
                )
                .ctx("epoch start")?;
            Ok(v.and_then(|s| u64::try_from(s).ok()).map(Seq))
        })
    }

    fn put_checkpoint(&self, tenant: &TenantId, cp: &StoredCheckpoint) -> Result<(), StoreError> {
        let invalid = |reason: String| StoreError::InvalidAppend {
            tenant: tenant.clone(),
            reason,
        };
        let mut conn = self.writer.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin checkpoint")?;
        let epoch = int(cp.epoch.0, "epoch")?;
        let stored: i64 = tx
            .prepare_cached("SELECT COUNT(*) FROM entries WHERE tenant = ?1 AND epoch = ?2")
            .ctx("count epoch entries")?
            .query_row(rusqlite::params![tenant.as_str(), epoch], |r| r.get(0))
            .ctx("count epoch entries")?;
        if int(cp.size.0, "size")? > stored {
            return Err(invalid(format!(
                "checkpoint of size {} but epoch {} holds {stored} stored entries",
                cp.size, cp.epoch
            )));
        }
        let existing: Option<String> = tx
            .prepare_cached(
                "SELECT note FROM checkpoints WHERE tenant = ?1 AND epoch = ?2 AND size = ?3",
            )
            .ctx("read checkpoint")?
            .query_row(
                rusqlite::params![tenant.as_str(), epoch, int(cp.size.0, "size")?],
                |r| r.get(0),
            )
            .optional()
            .ctx("read checkpoint")?;
        match existing {
            Some(note) if note == cp.note => return Ok(()),
            Some(_) => {
                return Err(invalid(format!(
                    "a different checkpoint is already stored for epoch {} size {}",
                    cp.epoch, cp.size
                )))
            }
            None => {}
        }
        tx.prepare_cached(
            "INSERT INTO checkpoints (tenant, epoch, size, note) VALUES (?1, ?2, ?3, ?4)",
        )
        .ctx("insert checkpoint")?
        .execute(rusqlite::params![
            tenant.as_str(),
            epoch,
            int(cp.size.0, "size")?,
            cp.note
        ])
        .ctx("insert checkpoint")?;
        tx.commit().ctx("commit checkpoint")
    }

    fn delete_archived_epoch(&self, tenant: &TenantId, epoch: Epoch) -> Result<u64, StoreError> {
        let mut conn = self.writer.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin epoch delete")?;
        let oldest: Option<i64> = tx
            .prepare_cached("SELECT MIN(epoch) FROM entries WHERE tenant = ?1")
            .ctx("oldest epoch")?
            .query_row(rusqlite::params![tenant.as_str()], |r| r.get(0))
            .ctx("oldest epoch")?;
        let head = read_head(&tx, tenant)?;
        let oldest = oldest.and_then(|e| u64::try_from(e).ok()).map(Epoch);
        super::check_deletable(tenant, oldest, head.as_ref(), epoch)?;
        let e = int(epoch.0, "epoch")?;
        // secure_delete is on: freed pages are overwritten with zeros.
        let n = tx
            .prepare_cached("DELETE FROM entries WHERE tenant = ?1 AND epoch = ?2")
            .ctx("delete epoch")?
            .execute(rusqlite::params![tenant.as_str(), e])
            .ctx("delete epoch")?;
        tx.prepare_cached("DELETE FROM checkpoints WHERE tenant = ?1 AND epoch = ?2")
            .ctx("delete epoch checkpoints")?
            .execute(rusqlite::params![tenant.as_str(), e])
            .ctx("delete epoch checkpoints")?;
        tx.commit().ctx("commit epoch delete")?;
        Ok(n as u64)
    }

    fn checkpoints(
        &self,
        tenant: &TenantId,
        epoch: Epoch,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.with_reader(|c| {
            let mut stmt = c
                .prepare_cached("SELECT size, note FROM checkpoints WHERE tenant = ?1 AND epoch = ?2 ORDER BY size")
                .ctx("read checkpoints")?;
            let rows = stmt
                .query_map(rusqlite::params![tenant.as_str(), int(epoch.0, "epoch")?], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })
                .ctx("read checkpoints")?;
            rows.map(|r| {
                let (size, note) = r.ctx("read checkpoints")?;
                let size = u64::try_from(size).map_err(|_| bad_column("checkpoints", "size", Some(tenant)))?;
                Ok(StoredCheckpoint { epoch, size: TreeSize(size), note })
            })
            .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pragma(c: &Connection, name: &str) -> i64 {
        c.pragma_query_value(None, name, |r| r.get(0)).unwrap()
    }

    #[test]
    fn connections_carry_the_documented_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        {
            let w = store.writer.lock();
            assert_eq!(pragma(&w, "synchronous"), 2, "FULL");
            assert_eq!(pragma(&w, "secure_delete"), 1);
            assert_eq!(pragma(&w, "foreign_keys"), 1);
            assert_eq!(pragma(&w, "busy_timeout"), 5_000);
            assert_eq!(pragma(&w, "cache_size"), -64 * 1024);
            assert_eq!(pragma(&w, "wal_autocheckpoint"), 16_384);
            let mode: String = w
                .pragma_query_value(None, "journal_mode", |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
        }
        store
            .with_reader(|r| {
                assert_eq!(pragma(r, "query_only"), 1);
                Ok(())
            })
            .unwrap();
        drop(store);
        let opts = SqliteOptions::default()
            .dangerous_synchronous_normal()
            .busy_timeout(Duration::from_millis(250));
        let store = SqliteStore::open(&path, opts).unwrap();
        let w = store.writer.lock();
        assert_eq!(pragma(&w, "synchronous"), 1, "NORMAL");
        assert_eq!(pragma(&w, "busy_timeout"), 250);
    }

    #[test]
    fn full_integrity_check_runs() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(
            dir.path().join("a.db"),
            SqliteOptions::default().full_integrity_check(),
        );
        assert!(store.unwrap().last_open_repairs().is_empty());
    }

    #[test]
    fn read_pool_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(
            dir.path().join("a.db"),
            SqliteOptions::default().read_connections(2),
        )
        .unwrap();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..20 {
                        store.tenants().unwrap();
                    }
                });
            }
        });
        assert!(store.readers.lock().len() <= 2);
    }
}
