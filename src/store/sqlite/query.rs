//! Lookups beyond the [`crate::Store`] trait: one tenant's entries by seq
//! range, time range, trace id, session id, kind or entry id, each served by
//! an index of the `entries` table.

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::Connection;

use super::error::{bad_column, Context};
use super::row::int;
use crate::body::EntryKind;
use crate::clock::Timestamp;
use crate::entry::Entry;
use crate::id::{EntryId, ExternalId, Seq, TenantId};
use crate::store::StoreError;

/// Which of one tenant's entries to return, in seq order. Conditions are
/// combined with AND. Build one with [`EntryFilter::for_tenant`] (or
/// [`crate::SqliteStore::filter`]) and run it with
/// [`crate::SqliteStore::query`].
///
/// The most selective condition picks the index: entry id, then trace id,
/// session id, time range, kind; a filter with none of them walks the
/// primary key `(tenant, seq)`. The others are checked row by row.
///
/// Results come from the index columns, which the store derives from each
/// entry's canonical line; like every read, they are claims until the chain
/// is verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryFilter {
    tenant: TenantId,
    seq: Option<(Seq, Seq)>,
    time: Option<(Timestamp, Timestamp)>,
    trace_id: Option<ExternalId>,
    session_id: Option<ExternalId>,
    kind: Option<EntryKind>,
    id: Option<EntryId>,
    limit: Option<u32>,
}

impl EntryFilter {
    /// Every entry of `tenant`.
    pub fn for_tenant(tenant: &TenantId) -> EntryFilter {
        EntryFilter {
            tenant: tenant.clone(),
            seq: None,
            time: None,
            trace_id: None,
            session_id: None,
            kind: None,
            id: None,
            limit: None,
        }
    }
    /// Only entries with `from <= seq < to`.
    pub fn seq_range(mut self, from: Seq, to: Seq) -> Self {
        self.seq = Some((from, to));
        self
    }
    /// Only entries with `from <= ts < to`.
    pub fn time_range(mut self, from: Timestamp, to: Timestamp) -> Self {
        self.time = Some((from, to));
        self
    }
    /// Only entries whose body carries this `trace_id`.
    pub fn trace_id(mut self, id: &ExternalId) -> Self {
        self.trace_id = Some(id.clone());
        self
    }
    /// Only entries whose body carries this `session_id` (decisions).
    pub fn session_id(mut self, id: &ExternalId) -> Self {
        self.session_id = Some(id.clone());
        self
    }
    /// Only entries of this kind.
    pub fn kind(mut self, kind: EntryKind) -> Self {
        self.kind = Some(kind);
        self
    }
    /// Only the entry with this id.
    pub fn id(mut self, id: EntryId) -> Self {
        self.id = Some(id);
        self
    }
    /// At most `n` entries (the lowest seqs that match).
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// The index serving this filter (`None`: the primary key).
    pub(super) fn index(&self) -> Option<&'static str> {
        if self.id.is_some() {
            Some("entries_by_id")
        } else if self.trace_id.is_some() {
            Some("entries_by_trace")
        } else if self.session_id.is_some() {
            Some("entries_by_session")
        } else if self.time.is_some() {
            Some("entries_by_ts")
        } else if self.kind.is_some() {
            Some("entries_by_kind")
        } else {
            None
        }
    }

    /// The statement and its parameters. The index is named with
    /// `INDEXED BY`, so the plan does not depend on table statistics and a
    /// filter can never silently fall back to a full scan.
    fn sql(&self) -> Result<(String, Vec<SqlValue>), StoreError> {
        let mut sql = String::from("SELECT line FROM entries");
        if let Some(ix) = self.index() {
            sql.push_str(" INDEXED BY ");
            sql.push_str(ix);
        }
        let mut params = vec![SqlValue::Text(self.tenant.as_str().to_owned())];
        sql.push_str(" WHERE tenant = ?1");
        let mut cond = |sql: &mut String, column: &str, op: &str, v: SqlValue| {
            params.push(v);
            sql.push_str(&format!(" AND {column} {op} ?{}", params.len()));
        };
        if let Some(id) = self.id {
            cond(&mut sql, "id", "=", SqlValue::Blob(id.0.to_vec()));
        }
        if let Some(t) = &self.trace_id {
            cond(
                &mut sql,
                "trace_id",
                "=",
                SqlValue::Text(t.as_str().to_owned()),
            );
        }
        if let Some(s) = &self.session_id {
            cond(
                &mut sql,
                "session_id",
                "=",
                SqlValue::Text(s.as_str().to_owned()),
            );
        }
        if let Some((from, to)) = self.time {
            cond(&mut sql, "ts", ">=", SqlValue::Integer(from.unix_micros()));
            cond(&mut sql, "ts", "<", SqlValue::Integer(to.unix_micros()));
        }
        if let Some(k) = self.kind {
            cond(&mut sql, "kind", "=", SqlValue::Text(k.as_str().to_owned()));
        }
        if let Some((from, to)) = self.seq {
            cond(&mut sql, "seq", ">=", SqlValue::Integer(clamp(from)));
            cond(&mut sql, "seq", "<", SqlValue::Integer(clamp(to)));
        }
        sql.push_str(" ORDER BY seq");
        if let Some(n) = self.limit {
            params.push(SqlValue::Integer(int(u64::from(n), "limit")?));
            sql.push_str(&format!(" LIMIT ?{}", params.len()));
        }
        Ok((sql, params))
    }
}

/// A seq bound as an SQLite integer (bounds past `i64::MAX` mean "no bound").
pub(super) fn clamp(s: Seq) -> i64 {
    i64::try_from(s.0).unwrap_or(i64::MAX)
}

/// Runs `filter`.
pub(super) fn run(conn: &Connection, filter: &EntryFilter) -> Result<Vec<Entry>, StoreError> {
    let (sql, params) = filter.sql()?;
    let mut stmt = conn.prepare_cached(&sql).ctx("prepare query")?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params))
        .ctx("run query")?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().ctx("run query")? {
        match r.get_ref(0).ctx("run query")? {
            ValueRef::Blob(line) => out.push(Entry::from_line(line)?),
            _ => return Err(bad_column("entries", "line", Some(&filter.tenant))),
        }
    }
    Ok(out)
}

/// The `EXPLAIN QUERY PLAN` detail lines of `filter`.
pub(super) fn explain(conn: &Connection, filter: &EntryFilter) -> Result<Vec<String>, StoreError> {
    let (sql, params) = filter.sql()?;
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .ctx("prepare query plan")?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |r| {
            r.get::<_, String>(3)
        })
        .ctx("query plan")?;
    rows.map(|r| r.ctx("query plan")).collect()
}
