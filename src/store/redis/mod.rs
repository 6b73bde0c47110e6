//! The Redis store: many writers on many machines share one Redis (or one
//! Redis Cluster slot per tenant). See docs/STORAGE.md, "Redis", for the key
//! layout, the scripts and what each persistence setting risks.
//!
//! Every write is one Lua script, so Redis runs it atomically: `append` is
//! a compare-and-append (the stored head must be the one the batch extends)
//! and `put_checkpoint` counts the epoch's entries and stores the note in the
//! same step. The batch itself (tenant, contiguity, links) is checked here
//! with [`check_append`] before anything is sent.
//!
//! Connections are synchronous, with bounded connect and response timeouts,
//! kept in a small pool. A pooled connection found dead (Redis restarted) is
//! replaced and the command retried once; an append retried that way first
//! asks the script whether the batch is already stored, so an append whose
//! reply was lost is not reported as failed when it succeeded.

mod error;
mod keys;
mod script;
mod vault;

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use redis::{Client, Connection};

pub use error::RedisError;

use self::error::{bad_value, is_connection_error, is_stale_connection, wrap};
use self::keys::{check_prefix, tenants_key, TenantKeys};
use super::{check_append, ChainHead, Store, StoreError, StoredCheckpoint};
use crate::entry::Entry;
use crate::hash::Hash32;
use crate::id::{Epoch, Seq, TenantId};
use crate::merkle::TreeSize;

/// Entries fetched per `HMGET`.
const READ_CHUNK: u64 = 256;
/// Entries fetched per round trip (several `HMGET`s pipelined).
const READ_ROUND_TRIP: u64 = 4_096;
/// Keys per `SCAN` step of [`RedisStore::reindex_tenants`].
pub(super) const SCAN_COUNT: u64 = 1_000;

/// Settings of [`RedisStore::open`].
#[derive(Clone, Debug)]
pub struct RedisOptions {
    key_prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    idle_connections: usize,
}

impl Default for RedisOptions {
    /// Key prefix `ai-audit`, connect timeout 2 s, response timeout 5 s, up
    /// to 16 idle pooled connections.
    fn default() -> Self {
        RedisOptions {
            key_prefix: "ai-audit".to_owned(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(5),
            idle_connections: 16,
        }
    }
}

impl RedisOptions {
    /// The first part of every key (default `ai-audit`): 1–64 bytes of
    /// `[A-Za-z0-9._:-]`, checked by [`RedisStore::open`]. Stores with
    /// different prefixes share a Redis without seeing each other's data.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long opening a connection (TCP connect plus handshake) may take
    /// (default 2 s; at least 1 ms).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long sending a command or waiting for its reply may take before
    /// the operation fails (default 5 s; at least 1 ms).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How many idle connections to keep (at least 1; default 16). More
    /// concurrent operations open extra connections and close them after.
    pub fn idle_connections(mut self, n: usize) -> Self {
        self.idle_connections = n.max(1);
        self
    }
}

/// A [`Store`] in Redis. See the module docs and docs/STORAGE.md.
pub struct RedisStore {
    client: Client,
    options: RedisOptions,
    tenants_key: String,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for RedisStore {
    /// Never prints the URL: it may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Why a step inside [`RedisStore::run`] failed.
enum Failure {
    /// The client or server failed: the connection may be unusable.
    Redis(redis::RedisError),
    /// The data was refused or is invalid: the connection is fine.
    Store(StoreError),
}

impl From<redis::RedisError> for Failure {
    fn from(e: redis::RedisError) -> Failure {
        Failure::Redis(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Store(e)
    }
}

/// Whether a step runs for the first time or again on a fresh connection
/// after the pooled one was found dead.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attempt {
    First,
    Retry,
}

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://[user:password@]host:port[/db]`,
    /// or `rediss://` where the `redis` crate was built with TLS) and checks
    /// that it answers `PING`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] holding a `RedisError`: `Config` for an
    /// invalid URL or key prefix, `Connection` when Redis cannot be reached
    /// within the connect timeout, `Server`/`Client` when it refuses.
    pub fn open(url: &str, options: RedisOptions) -> Result<RedisStore, StoreError> {
        check_prefix(&options.key_prefix)?;
        // The client's error may quote the URL; report only that it is invalid.
        let client = Client::open(url).map_err(|_| RedisError::Config {
            reason: "invalid Redis URL",
        })?;
        let store = RedisStore {
            client,
            tenants_key: tenants_key(&options.key_prefix),
            options,
            idle: Mutex::new(Vec::new()),
        };
        store.run("connect", |c, _| {
            redis::cmd("PING").query::<String>(c)?;
            Ok(())
        })?;
        Ok(store)
    }

    /// The key prefix of this store.
    pub fn key_prefix(&self) -> &str {
        &self.options.key_prefix
    }

    /// Rebuilds the tenant index (`<prefix>:tenants`) from the tenants' head
    /// keys, found with `SCAN`. The index can only miss a tenant if it was
    /// changed outside this store or, on Redis Cluster, if the node holding
    /// it failed over and lost writes that the tenants' nodes kept. Returns
    /// how many tenants were found. Safe to run while others append.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn reindex_tenants(&self) -> Result<usize, StoreError> {
        let prefix = format!("{{{}:", self.options.key_prefix);
        let keys = self.scan_keys("scan tenant heads", &format!("{prefix}*}}:head"))?;
        let tenants = keys
            .iter()
            .filter_map(|k| k.strip_prefix(&prefix)?.strip_suffix("}:head"))
            .filter_map(|t| TenantId::new(t).ok())
            .collect::<Vec<_>>();
        for chunk in tenants.chunks(SCAN_COUNT as usize) {
            self.run("index tenants", |c, _| {
                let mut sadd = redis::cmd("SADD");
                sadd.arg(&self.tenants_key);
                for t in chunk {
                    sadd.arg(t.as_str());
                }
                sadd.query::<i64>(c)?;
                Ok(())
            })?;
        }
        Ok(tenants.len())
    }

    /// Every key matching `pattern`, found with `SCAN` (which may return a
    /// key more than once: the list is sorted and deduplicated).
    pub(super) fn scan_keys(
        &self,
        context: &'static str,
        pattern: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = self.run(context, |c, _| {
                Ok(redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(SCAN_COUNT)
                    .query(c)?)
            })?;
            out.extend(keys);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn keys(&self, tenant: &TenantId) -> TenantKeys {
        TenantKeys::new(&self.options.key_prefix, tenant)
    }

    fn connect(&self, context: &'static str) -> Result<Connection, StoreError> {
        let c = self
            .client
            .get_connection_with_timeout(self.options.connect_timeout)
            .map_err(|e| wrap(context, e))?;
        let t = Some(self.options.response_timeout);
        c.set_read_timeout(t).map_err(|e| wrap(context, e))?;
        c.set_write_timeout(t).map_err(|e| wrap(context, e))?;
        Ok(c)
    }

    fn release(&self, conn: Connection) {
        let mut idle = self.idle.lock();
        if idle.len() < self.options.idle_connections {
            idle.push(conn);
        }
    }

    /// Runs `step` on a pooled connection (or a new one). A connection that
    /// failed is dropped, and on a connection failure the whole pool too
    /// (after a restart every idle connection is dead). When a pooled
    /// connection turns out dead — not slow — `step` runs once more on a
    /// fresh connection, told so by [`Attempt::Retry`].
    fn run<T>(
        &self,
        context: &'static str,
        mut step: impl FnMut(&mut Connection, Attempt) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        let pooled = self.idle.lock().pop();
        let reused = pooled.is_some();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.connect(context)?,
        };
        let e = match step(&mut conn, Attempt::First) {
            Ok(v) => {
                self.release(conn);
                return Ok(v);
            }
            Err(Failure::Store(e)) => {
                self.release(conn);
                return Err(e);
            }
            Err(Failure::Redis(e)) => e,
        };
        drop(conn);
        if is_connection_error(&e) {
            self.idle.lock().clear();
        }
        if !(reused && is_stale_connection(&e)) {
            return Err(wrap(context, e));
        }
        let mut conn = self.connect(context)?;
        match step(&mut conn, Attempt::Retry) {
            Ok(v) => {
                self.release(conn);
                Ok(v)
            }
            Err(Failure::Store(e)) => {
                self.release(conn);
                Err(e)
            }
            Err(Failure::Redis(e)) => {
                if is_connection_error(&e) {
                    self.idle.lock().clear();
                }
                Err(wrap(context, e))
            }
        }
    }
}

fn parse_u64(s: &str, key: &'static str, tenant: &TenantId) -> Result<u64, StoreError> {
    // Only the canonical form this store writes (no sign, no leading zero).
    if s.len() > 1 && s.starts_with('0') {
        return Err(bad_value(key, Some(tenant)));
    }
    s.parse().map_err(|_| bad_value(key, Some(tenant)))
}

fn parse_head(
    tenant: &TenantId,
    fields: &[Option<String>],
) -> Result<Option<ChainHead>, StoreError> {
    match fields {
        [None, None, None] => Ok(None),
        [Some(seq), Some(hash), Some(epoch)] => Ok(Some(ChainHead {
            seq: Seq(parse_u64(seq, "head", tenant)?),
            hash: Hash32::from_hex(hash).map_err(|_| bad_value("head", Some(tenant)))?,
            epoch: Epoch(parse_u64(epoch, "head", tenant)?),
        })),
        _ => Err(RedisError::Inconsistent {
            tenant: tenant.clone(),
            detail: "head is missing a field",
        }
        .into()),
    }
}

/// Consecutive runs of one epoch in a batch: (epoch, first seq, count).
fn epoch_runs(entries: &[Entry]) -> Vec<(u64, u64, u64)> {
    let mut runs: Vec<(u64, u64, u64)> = Vec::new();
    for e in entries {
        match runs.last_mut() {
            Some(run) if run.0 == e.epoch().0 => run.2 += 1,
            _ => runs.push((e.epoch().0, e.seq().0, 1)),
        }
    }
    runs
}

/// The `detail` of an `inconsistent` script reply, as a static string.
fn inconsistency(detail: Option<&String>) -> &'static str {
    match detail.map(String::as_str) {
        Some("head is missing a field") => "head is missing a field",
        Some("entries are stored past the head") => "entries are stored past the head",
        _ => "unknown inconsistency",
    }
}

impl Store for RedisStore {
    fn head(&self, tenant: &TenantId) -> Result<Option<ChainHead>, StoreError> {
        let keys = self.keys(tenant);
        let fields: Vec<Option<String>> = self.run("read head", |c, _| {
            Ok(redis::cmd("HMGET")
                .arg(&keys.head)
                .arg("seq")
                .arg("hash")
                .arg("epoch")
                .query(c)?)
        })?;
        parse_head(tenant, &fields)
    }

    fn append(&self, tenant: &TenantId, entries: &[Entry]) -> Result<(), StoreError> {
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
            return Ok(());
        };
        // The batch must be a linked run of this tenant's entries; the head
        // it extends is compared with the stored one by the script.
        let expected = match first.seq().0.checked_sub(1) {
            None => {
                check_append(tenant, None, entries)?;
                None
            }
            Some(prev) => {
                let h = ChainHead {
                    seq: Seq(prev),
                    hash: *first.prev(),
                    epoch: first.epoch(),
                };
                check_append(tenant, Some(&h), entries)?;
                Some(h)
            }
        };
        let lines = entries
            .iter()
            .map(Entry::to_line)
            .collect::<Result<Vec<_>, _>>()?;
        let runs = epoch_runs(entries);
        let keys = self.keys(tenant);
        if expected.is_none() {
            // The index entry is written before the tenant's first entry, so
            // every prefix of Redis' history that holds an entry of the
            // tenant also holds its index entry (the AOF and replicas apply
            // writes in order). A refused first append may leave an index
            // entry without a head; `tenants` skips those.
            self.run("index tenant", |c, _| {
                redis::cmd("SADD")
                    .arg(&self.tenants_key)
                    .arg(tenant.as_str())
                    .query::<i64>(c)?;
                Ok(())
            })?;
        }
        let reply: Vec<String> = self.run("append", |c, attempt| {
            let mut call = script::APPEND.prepare_invoke();
            call.key(&keys.head)
                .key(&keys.entries)
                .key(&keys.epochs)
                .key(&keys.epoch_sizes);
            match &expected {
                Some(h) => call.arg(h.seq.0).arg(h.hash.to_hex()),
                None => call.arg("").arg(""),
            };
            call.arg(if attempt == Attempt::Retry { "1" } else { "0" })
                .arg(first.epoch().0)
                .arg(last.seq().0)
                .arg(last.hash().to_hex())
                .arg(last.epoch().0)
                .arg(runs.len());
            for (epoch, start, count) in &runs {
                call.arg(epoch).arg(start).arg(count);
            }
            for (e, line) in entries.iter().zip(&lines) {
                call.arg(e.seq().0).arg(line.as_slice());
            }
            Ok(call.invoke(c)?)
        })?;
        match reply.first().map(String::as_str) {
            Some("ok" | "applied") => Ok(()),
            Some("conflict") => {
                let expected = match reply.get(1).map(String::as_str) {
                    Some("") => Seq(0),
                    Some(s) => Seq(parse_u64(s, "head", tenant)?)
                        .checked_next()
                        .ok_or_else(|| bad_value("head", Some(tenant)))?,
                    None => return Err(bad_value("append reply", Some(tenant))),
                };
                Err(StoreError::Conflict {
                    tenant: tenant.clone(),
                    expected,
                    got: first.seq(),
                })
            }
            Some("epoch") => Err(StoreError::InvalidAppend {
                tenant: tenant.clone(),
                reason: format!(
                    "epoch {} is before the head's epoch {}",
                    first.epoch(),
                    parse_u64(reply.get(1).map_or("", String::as_str), "head", tenant)?
                ),
            }),
            Some("inconsistent") => Err(RedisError::Inconsistent {
                tenant: tenant.clone(),
                detail: inconsistency(reply.get(1)),
            }
            .into()),
            _ => Err(bad_value("append reply", Some(tenant))),
        }
    }

    fn read(&self, tenant: &TenantId, from: Seq, to: Seq) -> Result<Vec<Entry>, StoreError> {
        if from >= to {
            return Ok(Vec::new());
        }
        let keys = self.keys(tenant);
        self.run("read entries", |c, _| {
            let (head, base): (Option<String>, Option<String>) = redis::cmd("HMGET")
                .arg(&keys.head)
                .arg("seq")
                .arg("base")
                .query(c)?;
            let Some(head) = head else {
                return Ok(Vec::new());
            };
            // Entries are only ever added (and archived epochs deleted from
            // the bottom), so all of base..=head are there.
            let base = base
                .map(|b| parse_u64(&b, "head", tenant))
                .transpose()?
                .unwrap_or(0);
            let end =
                to.0.min(parse_u64(&head, "head", tenant)?.saturating_add(1));
            let mut out = Vec::new();
            let mut seq = from.0.max(base);
            while seq < end {
                let trip_end = seq.saturating_add(READ_ROUND_TRIP).min(end);
                let mut pipe = redis::pipe();
                while seq < trip_end {
                    let chunk_end = seq.saturating_add(READ_CHUNK).min(trip_end);
                    let mut hmget = redis::cmd("HMGET");
                    hmget.arg(&keys.entries);
                    for s in seq..chunk_end {
                        hmget.arg(s);
                    }
                    pipe.add_command(hmget);
                    seq = chunk_end;
                }
                let chunks: Vec<Vec<Option<Vec<u8>>>> = pipe.query(c)?;
                for line in chunks.into_iter().flatten() {
                    let line = line
                        .ok_or_else(|| RedisError::Inconsistent {
                            tenant: tenant.clone(),
                            detail: "an entry below the head is missing",
                        })
                        .map_err(StoreError::from)?;
                    out.push(Entry::from_line(&line).map_err(StoreError::Corrupt)?);
                }
            }
            Ok(out)
        })
    }

    fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let (names, present): (Vec<String>, Vec<bool>) = self.run("list tenants", |c, _| {
            let names: Vec<String> = redis::cmd("SMEMBERS").arg(&self.tenants_key).query(c)?;
            let mut pipe = redis::pipe();
            let mut ids = Vec::with_capacity(names.len());
            for n in &names {
                let t = TenantId::new(n.as_str()).map_err(|_| bad_value("tenants", None))?;
                pipe.cmd("EXISTS").arg(self.keys(&t).head);
                ids.push(t);
            }
            let present: Vec<bool> = if names.is_empty() {
                Vec::new()
            } else {
                pipe.query(c)?
            };
            Ok((names, present))
        })?;
        let mut out = names
            .into_iter()
            .zip(present)
            .filter(|(_, p)| *p)
            .map(|(n, _)| TenantId::new(n).map_err(|_| bad_value("tenants", None)))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort();
        Ok(out)
    }

    fn epoch_start(&self, tenant: &TenantId, epoch: Epoch) -> Result<Option<Seq>, StoreError> {
        let keys = self.keys(tenant);
        let start: Option<String> = self.run("epoch start", |c, _| {
            Ok(redis::cmd("HGET").arg(&keys.epochs).arg(epoch.0).query(c)?)
        })?;
        start
            .map(|s| parse_u64(&s, "epochs", tenant).map(Seq))
            .transpose()
    }

    fn put_checkpoint(&self, tenant: &TenantId, cp: &StoredCheckpoint) -> Result<(), StoreError> {
        let invalid = |reason: String| StoreError::InvalidAppend {
            tenant: tenant.clone(),
            reason,
        };
        let keys = self.keys(tenant);
        let reply: Vec<String> = self.run("put checkpoint", |c, _| {
            Ok(script::CHECKPOINT
                .key(&keys.epoch_sizes)
                .key(keys.checkpoints(cp.epoch))
                .arg(cp.epoch.0)
                .arg(cp.size.0)
                .arg(cp.note.as_str())
                .invoke(c)?)
        })?;
        match reply.first().map(String::as_str) {
            Some("stored" | "same") => Ok(()),
            Some("different") => Err(invalid(format!(
                "a different checkpoint is already stored for epoch {} size {}",
                cp.epoch, cp.size
            ))),
            Some("short") => {
                let stored = parse_u64(
                    reply.get(1).map_or("", String::as_str),
                    "epoch-sizes",
                    tenant,
                )?;
                Err(invalid(format!(
                    "checkpoint of size {} but epoch {} holds {stored} stored entries",
                    cp.size, cp.epoch
                )))
            }
            _ => Err(bad_value("checkpoint reply", Some(tenant))),
        }
    }

    fn delete_archived_epoch(&self, tenant: &TenantId, epoch: Epoch) -> Result<u64, StoreError> {
        let invalid = |reason: String| StoreError::InvalidAppend {
            tenant: tenant.clone(),
            reason,
        };
        let keys = self.keys(tenant);
        let reply: Vec<String> = self.run("delete archived epoch", |c, _| {
            Ok(script::DELETE_EPOCH
                .key(&keys.head)
                .key(&keys.entries)
                .key(&keys.epochs)
                .key(&keys.epoch_sizes)
                .key(keys.checkpoints(epoch))
                .arg(epoch.0)
                .invoke(c)?)
        })?;
        match reply.first().map(String::as_str) {
            Some("ok") => parse_u64(
                reply.get(1).map_or("", String::as_str),
                "epoch-sizes",
                tenant,
            ),
            Some("not_oldest") => Err(invalid(format!(
                "epoch {epoch} is not the oldest stored epoch"
            ))),
            Some("current") => Err(invalid(format!(
                "epoch {epoch} is the current epoch; roll the epoch first"
            ))),
            _ => Err(RedisError::Inconsistent {
                tenant: tenant.clone(),
                detail: "epoch starts or sizes are missing",
            }
            .into()),
        }
    }

    fn checkpoints(
        &self,
        tenant: &TenantId,
        epoch: Epoch,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let key = self.keys(tenant).checkpoints(epoch);
        let notes: HashMap<String, String> = self.run("read checkpoints", |c, _| {
            Ok(redis::cmd("HGETALL").arg(&key).query(c)?)
        })?;
        let mut out = notes
            .into_iter()
            .map(|(size, note)| {
                Ok(StoredCheckpoint {
                    epoch,
                    size: TreeSize(parse_u64(&size, "checkpoints", tenant)?),
                    note,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by_key(|c| c.size);
        Ok(out)
    }
}
