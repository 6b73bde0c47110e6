//! Open-time consistency check of each tenant's head, and its repair.
//!
//! SQLite's own journal makes every append all-or-nothing, so after a crash
//! the heads table and the entries agree. They can still disagree after a
//! power loss under `synchronous=NORMAL`, a disk that lies about flushes, a
//! copy taken mid-write, or someone editing the file. On open, for every
//! tenant, the head must name the last stored row, and that row must decode,
//! hash to its claimed hash, carry index columns equal to those derived
//! from its line, and link to the row before it (or to the genesis value).
//!
//! Repair never deletes: unusable tail rows are *moved* to the `quarantine`
//! table (line bytes kept for forensics) and the head is reset to the last
//! consistent entry. What was done is returned as [`Repair`]s. Only the tail
//! is examined; the full chain is the verifier's business.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::error::{bad_column, Context, SqliteError};
use super::row::{head_from, Row, COLUMNS};
use crate::entry::{genesis, Entry, EntryError};
use crate::id::{Seq, TenantId};
use crate::store::{ChainHead, StoreError};

/// Tail rows one tenant may lose to quarantine before open gives up: more
/// than this is not a torn tail but damage a human must look at.
const MAX_QUARANTINE: usize = 64;

/// What open-time repair changed for one tenant
/// ([`crate::SqliteStore::last_open_repairs`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Repair {
    /// The tenant.
    pub tenant: TenantId,
    /// What was inconsistent.
    pub reason: RepairReason,
    /// The head the heads table held (`None`: missing or unreadable).
    pub head_before: Option<ChainHead>,
    /// The head after repair: the last consistent entry (`None`: the tenant
    /// has no usable entry left).
    pub head_after: Option<ChainHead>,
    /// Seqs of the tail rows moved to the `quarantine` table, highest first.
    pub quarantined: Vec<Seq>,
}

/// Why a tenant's head was repaired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RepairReason {
    /// The last rows were unreadable or inconsistent and were quarantined.
    TornTail,
    /// Entries were stored but the tenant had no (readable) head.
    MissingHead,
    /// The head named an entry past the last stored one: entries are lost.
    HeadAhead,
    /// Stored entries extend past the head; the head was advanced to them.
    HeadBehind,
    /// The head's hash or epoch disagreed with the entry at its seq.
    HeadMismatch,
}

impl Repair {
    /// The `store_repair` entry body that records this repair in the
    /// tenant's chain: append it with [`crate::AuditLog::append`] after opening.
    pub fn to_body(&self) -> crate::body::Body {
        crate::body::Body::StoreRepair(crate::body::StoreRepair {
            head_after: self.head_after.map(|h| h.seq),
            head_before: self.head_before.map(|h| h.seq),
            quarantined: self.quarantined.clone(),
            // The reason names are valid codes by construction.
            reason: crate::id::Code::new(self.reason.as_str())
                .unwrap_or_else(|_| unreachable_code()),
        })
    }
}

#[cold]
fn unreachable_code() -> crate::id::Code {
    #[allow(clippy::panic)]
    {
        panic!("repair reason names are valid codes")
    }
}

impl RepairReason {
    /// A stable snake_case name, for logs and log entries.
    pub fn as_str(self) -> &'static str {
        match self {
            RepairReason::TornTail => "torn_tail",
            RepairReason::MissingHead => "missing_head",
            RepairReason::HeadAhead => "head_ahead",
            RepairReason::HeadBehind => "head_behind",
            RepairReason::HeadMismatch => "head_mismatch",
        }
    }
}

/// Checks every tenant; repairs the inconsistent ones in one write
/// transaction. The scan runs on a read snapshot, so it never blocks writers
/// of other processes and never sees a half-applied append.
///
/// # Errors
/// A database error, an invalid stored tenant id, or a tail too damaged to
/// repair (more than [`MAX_QUARANTINE`] bad rows, or lines of a format
/// version this code cannot read): then nothing was changed.
pub(super) fn check_and_repair(conn: &mut Connection) -> Result<Vec<Repair>, StoreError> {
    let suspects = {
        let tx = conn.transaction().ctx("begin open check")?;
        let mut suspects = Vec::new();
        for tenant in tenant_names(&tx)? {
            if !is_consistent(&tx, &tenant)? {
                suspects.push(tenant);
            }
        }
        tx.commit().ctx("end open check")?;
        suspects
    };
    if suspects.is_empty() {
        return Ok(Vec::new());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx("begin open repair")?;
    let mut repairs = Vec::new();
    for tenant in suspects {
        // Re-checked under the write lock: another process may have repaired it.
        if !is_consistent(&tx, &tenant)? {
            repairs.push(repair(&tx, &tenant)?);
        }
    }
    tx.commit().ctx("commit open repair")?;
    Ok(repairs)
}

/// Tenants named by the heads table or by any entry (a skip-scan over the
/// primary key: one lookup per tenant, not a table scan).
fn tenant_names(conn: &Connection) -> Result<BTreeSet<String>, StoreError> {
    let mut names = BTreeSet::new();
    let mut heads = conn.prepare("SELECT tenant FROM heads").ctx("list heads")?;
    for t in heads
        .query_map([], |r| r.get::<_, String>(0))
        .ctx("list heads")?
    {
        names.insert(t.ctx("list heads")?);
    }
    let mut entries = conn
        .prepare(
            "WITH RECURSIVE t(name) AS ( \
                SELECT min(tenant) FROM entries \
                UNION ALL \
                SELECT (SELECT min(tenant) FROM entries WHERE tenant > t.name) FROM t WHERE t.name IS NOT NULL \
            ) SELECT name FROM t WHERE name IS NOT NULL",
        )
        .ctx("list entry tenants")?;
    for t in entries
        .query_map([], |r| r.get::<_, String>(0))
        .ctx("list entry tenants")?
    {
        names.insert(t.ctx("list entry tenants")?);
    }
    Ok(names)
}

/// The heads row: `None` when absent, `Some(None)` when unreadable.
fn stored_head(conn: &Connection, tenant: &str) -> Result<Option<Option<ChainHead>>, StoreError> {
    conn.query_row(
        "SELECT seq, hash, epoch FROM heads WHERE tenant = ?1",
        [tenant],
        |r| Ok(head_from(r.get(0)?, &r.get::<_, Vec<u8>>(1)?, r.get(2)?)),
    )
    .optional()
    .ctx("read head")
}

fn last_row(conn: &Connection, tenant: &str) -> Result<Option<Row>, StoreError> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM entries WHERE tenant = ?1 ORDER BY seq DESC LIMIT 1"),
        [tenant],
        Row::read,
    )
    .optional()
    .ctx("read last entry")
}

/// Why a tail row is unusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Defect {
    Undecodable,
    HashMismatch,
    ColumnsMismatch,
    BrokenLink,
}

impl Defect {
    fn as_str(self) -> &'static str {
        match self {
            Defect::Undecodable => "undecodable",
            Defect::HashMismatch => "hash_mismatch",
            Defect::ColumnsMismatch => "columns_mismatch",
            Defect::BrokenLink => "broken_link",
        }
    }
}

/// Checks a tail row; `Ok(Ok(head))` when usable.
fn check_tail(conn: &Connection, row: &Row) -> Result<Result<ChainHead, Defect>, StoreError> {
    let entry = match Entry::from_line(&row.line) {
        Ok(e) => e,
        Err(EntryError::UnsupportedVersion(v)) => {
            // Written by newer code: not damage, and not ours to move aside.
            return Err(SqliteError::Integrity {
                detail: format!(
                    "tenant {}: last entry has format version {v}, unknown to this library",
                    row.tenant
                ),
            }
            .into());
        }
        Err(_) => return Ok(Err(Defect::Undecodable)),
    };
    if entry.computed_hash().ok().as_ref() != Some(entry.hash()) {
        return Ok(Err(Defect::HashMismatch));
    }
    if Row::of(&entry).ok().as_ref() != Some(row) {
        return Ok(Err(Defect::ColumnsMismatch));
    }
    let expected_prev = if row.seq == 0 {
        Some(genesis(&entry.header().log, entry.tenant()).0.to_vec())
    } else {
        conn.query_row(
            "SELECT hash FROM entries WHERE tenant = ?1 AND seq = ?2",
            rusqlite::params![row.tenant, row.seq - 1],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .optional()
        .ctx("read previous entry")?
    };
    // After an archived epoch was deleted (Store::delete_archived_epoch),
    // the first stored row is the next epoch's epoch_link, whose previous
    // entry lives only in the archive: nothing to link to here.
    let first_after_archive = expected_prev.is_none()
        && entry.kind() == crate::body::EntryKind::EpochLink
        && conn
            .query_row(
                "SELECT count(*) FROM entries WHERE tenant = ?1 AND seq < ?2",
                rusqlite::params![row.tenant, row.seq],
                |r| r.get::<_, i64>(0),
            )
            .ctx("read earlier entries")?
            == 0;
    if !first_after_archive && expected_prev.as_deref() != Some(&row.prev[..]) {
        return Ok(Err(Defect::BrokenLink));
    }
    Ok(Ok(ChainHead::of(&entry)))
}

fn is_consistent(conn: &Connection, tenant: &str) -> Result<bool, StoreError> {
    let head = stored_head(conn, tenant)?;
    let tail = match last_row(conn, tenant)? {
        Some(row) => match check_tail(conn, &row)? {
            Ok(h) => Some(h),
            Err(_) => return Ok(false),
        },
        None => None,
    };
    Ok(match (head, tail) {
        (None, None) => true,
        (Some(Some(h)), Some(t)) => h == t,
        _ => false,
    })
}

fn repair(conn: &Connection, tenant: &str) -> Result<Repair, StoreError> {
    let tenant_id = TenantId::new(tenant).map_err(|_| bad_column("entries", "tenant", None))?;
    let before = stored_head(conn, tenant)?;
    let mut quarantined = Vec::new();
    let after = loop {
        let Some(row) = last_row(conn, tenant)? else {
            break None;
        };
        match check_tail(conn, &row)? {
            Ok(head) => break Some(head),
            Err(defect) => {
                if quarantined.len() >= MAX_QUARANTINE {
                    return Err(SqliteError::Integrity {
                        detail: format!(
                            "tenant {tenant}: more than {MAX_QUARANTINE} inconsistent rows at the tail; refusing to repair"
                        ),
                    }
                    .into());
                }
                conn.execute(
                    "INSERT INTO quarantine (tenant, seq, reason, at, line) \
                     VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?4)",
                    rusqlite::params![tenant, row.seq, defect.as_str(), row.line],
                )
                .ctx("quarantine entry")?;
                conn.execute(
                    "DELETE FROM entries WHERE tenant = ?1 AND seq = ?2",
                    rusqlite::params![tenant, row.seq],
                )
                .ctx("quarantine entry")?;
                quarantined.push(Seq(u64::try_from(row.seq)
                    .map_err(|_| bad_column("entries", "seq", Some(&tenant_id)))?));
            }
        }
    };
    match &after {
        Some(h) => super::write_head(conn, tenant, h)?,
        None => {
            conn.execute("DELETE FROM heads WHERE tenant = ?1", [tenant])
                .ctx("delete head")?;
        }
    }
    let head_before = before.flatten();
    let reason = match (head_before, after) {
        _ if !quarantined.is_empty() => RepairReason::TornTail,
        (None, _) => RepairReason::MissingHead,
        (Some(_), None) => RepairReason::HeadAhead,
        (Some(b), Some(a)) if b.seq > a.seq => RepairReason::HeadAhead,
        (Some(b), Some(a)) if b.seq < a.seq => RepairReason::HeadBehind,
        _ => RepairReason::HeadMismatch,
    };
    Ok(Repair {
        tenant: tenant_id,
        reason,
        head_before,
        head_after: after,
        quarantined,
    })
}
