//! Lookups beyond the [`crate::Store`] trait: one tenant's entries by seq
//! range, time range, trace id, session id or kind, each served by
//! an index of the `entries` table.

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::Connection;

use super::error::{bad_column, Context};
use super::row::int;
use super::schema::BUCKET_BITS;
use crate::body::EntryKind;
use crate::clock::Timestamp;
use crate::entry::Entry;
use crate::id::{ExternalId, Seq, TenantId};
use crate::store::StoreError;

/// Which of one tenant's entries to return, in seq order. Conditions are
/// combined with AND. Build one with [`EntryFilter::for_tenant`] (or
/// [`crate::SqliteStore::filter`]) and run it with
/// [`crate::SqliteStore::query`].
///
/// The most selective condition picks the index: trace id, then session
/// id, time range, kind; a filter with none of them walks the
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
    /// At most `n` entries (the lowest seqs that match).
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// The index serving this filter (`None`: the primary key) and whether
    /// it is bucketed (see `schema::V1`).
    pub(super) fn index(&self) -> Option<(&'static str, bool)> {
        if self.trace_id.is_some() {
            Some(("entries_by_trace", true))
        } else if self.session_id.is_some() {
            Some(("entries_by_session", true))
        } else if self.time.is_some() {
            Some(("entries_by_ts", false))
        } else if self.kind.is_some() {
            Some(("entries_by_kind", false))
        } else {
            None
        }
    }

    /// The statement and its parameters. The index is named with
    /// `INDEXED BY`, so the plan does not depend on table statistics and a
    /// filter can never silently fall back to a full scan. A bucketed index
    /// is walked bucket by bucket: a recursive CTE lists the bucket numbers
    /// from the seq range (or 0) to the tenant's last entry, and each one is
    /// one index seek.
    fn sql(&self) -> Result<(String, Vec<SqlValue>), StoreError> {
        let mut params = vec![SqlValue::Text(self.tenant.as_str().to_owned())];
        let mut param = |v: SqlValue| {
            params.push(v);
            format!("?{}", params.len())
        };
        let (lo, hi) = self.seq.map_or((0, i64::MAX), |(from, to)| {
            (clamp(from), clamp(to).saturating_sub(1))
        });
        let mut sql = match self.index() {
            Some((ix, true)) => {
                let (lo, hi) = (
                    param(SqlValue::Integer(lo >> BUCKET_BITS)),
                    param(SqlValue::Integer(hi)),
                );
                format!(
                    "WITH RECURSIVE b(n) AS (SELECT {lo} UNION ALL SELECT n + 1 FROM b WHERE n < \
                     (min((SELECT seq FROM entries WHERE tenant = ?1 ORDER BY seq DESC LIMIT 1), {hi}) >> {BUCKET_BITS})) \
                     SELECT e.line FROM b CROSS JOIN entries AS e INDEXED BY {ix} WHERE e.tenant = ?1 AND e.bucket = b.n"
                )
            }
            Some((ix, false)) => {
                format!("SELECT e.line FROM entries AS e INDEXED BY {ix} WHERE e.tenant = ?1")
            }
            None => "SELECT e.line FROM entries AS e WHERE e.tenant = ?1".to_owned(),
        };
        let mut cond = |column: &str, op: &str, v: SqlValue| {
            let p = param(v);
            sql.push_str(&format!(" AND e.{column} {op} {p}"));
        };
        if let Some(t) = &self.trace_id {
            cond("trace_id", "=", SqlValue::Text(t.as_str().to_owned()));
        }
        if let Some(s) = &self.session_id {
            cond("session_id", "=", SqlValue::Text(s.as_str().to_owned()));
        }
        if let Some((from, to)) = self.time {
            cond("ts", ">=", SqlValue::Integer(from.unix_micros()));
            cond("ts", "<", SqlValue::Integer(to.unix_micros()));
        }
        if let Some(k) = self.kind {
            cond("kind", "=", SqlValue::Text(k.as_str().to_owned()));
        }
        if self.seq.is_some() {
            cond("seq", ">=", SqlValue::Integer(lo));
            cond("seq", "<=", SqlValue::Integer(hi));
        }
        sql.push_str(" ORDER BY e.seq");
        if let Some(n) = self.limit {
            let p = param(SqlValue::Integer(int(u64::from(n), "limit")?));
            sql.push_str(&format!(" LIMIT {p}"));
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
