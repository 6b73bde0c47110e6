//! One `entries` row: the canonical line plus the index columns extracted
//! from it. The line is the source of truth; the columns only serve lookups
//! and are re-derived from the line whenever they are checked.

use serde_json::Value;

use super::error::bad_column;
use crate::entry::Entry;
use crate::hash::Hash32;
use crate::id::{Epoch, Seq};
use crate::store::{ChainHead, StoreError};

/// Column list of an `entries` insert, in [`Row::insert`] order.
pub(super) const INSERT: &str = "INSERT INTO entries \
    (tenant, seq, epoch, ts, kind, id, hash, prev, trace_id, session_id, action, line) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

/// Columns selected by [`Row::read`], in order.
pub(super) const COLUMNS: &str =
    "tenant, seq, epoch, ts, kind, id, hash, prev, trace_id, session_id, action, line";

/// An `entries` row.
#[derive(Debug, PartialEq)]
pub(super) struct Row {
    pub tenant: String,
    pub seq: i64,
    pub epoch: i64,
    pub ts: i64,
    pub kind: String,
    pub id: Vec<u8>,
    pub hash: Vec<u8>,
    pub prev: Vec<u8>,
    pub trace_id: Option<String>,
    pub session_id: Option<String>,
    pub action: Option<String>,
    pub line: Vec<u8>,
}

/// A string field of the body, if present (`trace_id` is shared by every
/// kind that has one; `session_id` and `action` by decisions).
fn body_str(body: &Value, field: &str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(str::to_owned)
}

/// `u64` identifiers (below 2^53 by construction) as SQLite integers.
pub(super) fn int(v: u64, column: &'static str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| bad_column("entries", column, None))
}

impl Row {
    /// The row for `entry`, with its canonical line.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the entry cannot be encoded.
    pub fn of(entry: &Entry) -> Result<Row, StoreError> {
        let body = entry
            .body_value()
            .map_err(|e| StoreError::Corrupt(e.into()))?;
        Ok(Row {
            tenant: entry.tenant().as_str().to_owned(),
            seq: int(entry.seq().0, "seq")?,
            epoch: int(entry.epoch().0, "epoch")?,
            ts: entry.ts().unix_micros(),
            kind: entry.kind().as_str().to_owned(),
            id: entry.id().0.to_vec(),
            hash: entry.hash().0.to_vec(),
            prev: entry.prev().0.to_vec(),
            trace_id: body_str(&body, "trace_id"),
            session_id: body_str(&body, "session_id"),
            action: body_str(&body, "action"),
            line: entry.to_line()?,
        })
    }

    /// Reads a row selected with [`COLUMNS`].
    pub fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        Ok(Row {
            tenant: r.get(0)?,
            seq: r.get(1)?,
            epoch: r.get(2)?,
            ts: r.get(3)?,
            kind: r.get(4)?,
            id: r.get(5)?,
            hash: r.get(6)?,
            prev: r.get(7)?,
            trace_id: r.get(8)?,
            session_id: r.get(9)?,
            action: r.get(10)?,
            line: r.get(11)?,
        })
    }

    /// Executes a prepared [`INSERT`] for this row.
    pub fn insert(&self, stmt: &mut rusqlite::Statement<'_>) -> rusqlite::Result<usize> {
        stmt.execute(rusqlite::params![
            self.tenant,
            self.seq,
            self.epoch,
            self.ts,
            self.kind,
            self.id,
            self.hash,
            self.prev,
            self.trace_id,
            self.session_id,
            self.action,
            self.line,
        ])
    }
}

/// Decodes a `heads` row `(seq, hash, epoch)`.
pub(super) fn head_from(seq: i64, hash: &[u8], epoch: i64) -> Option<ChainHead> {
    Some(ChainHead {
        seq: Seq(u64::try_from(seq).ok()?),
        hash: Hash32::from_slice(hash).ok()?,
        epoch: Epoch(u64::try_from(epoch).ok()?),
    })
}
