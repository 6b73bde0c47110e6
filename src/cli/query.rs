//! Reading a store for operators: listings with filters, statistics, one
//! entry. Nothing here verifies: what a store returns is a claim until
//! [`super::verify_store`] checked it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{CliError, OpenStore, SeqRange, TimeRange};
use crate::body::{Body, EntryKind};
use crate::clock::Timestamp;
use crate::entry::Entry;
use crate::hash::Hash32;
use crate::id::{EntryId, Epoch, ExternalId, LogName, Seq, TenantId};
use crate::package::READ_CHUNK;
use crate::receipt::Action;
use crate::store::{ChainHead, EntryFilter, Store};

/// Which entries [`list`] returns. Conditions are combined with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// One tenant (default: every tenant, in name order).
    pub tenant: Option<TenantId>,
    /// Only this kind.
    pub kind: Option<EntryKind>,
    /// Only decisions with this action.
    pub action: Option<Action>,
    /// Only entries with `ts` in this range.
    pub time: Option<TimeRange>,
    /// Only entries whose body carries this `trace_id`.
    pub trace: Option<ExternalId>,
    /// Only these seqs.
    pub seqs: Option<SeqRange>,
    /// At most this many entries.
    pub limit: Option<usize>,
}

impl ListFilter {
    /// Whether `e` passes every condition but the tenant, seq and limit.
    pub fn matches(&self, e: &Entry) -> bool {
        if self.kind.is_some_and(|k| k != e.kind()) {
            return false;
        }
        if self.time.is_some_and(|r| !r.contains(e.ts())) {
            return false;
        }
        if self.action.is_none() && self.trace.is_none() {
            return true;
        }
        let Ok(body) = e.body_value() else {
            return false;
        };
        let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        if let Some(a) = self.action {
            if e.kind() != EntryKind::Decision || field("action").as_deref() != Some(a.as_str()) {
                return false;
            }
        }
        if let Some(t) = &self.trace {
            if field("trace_id").as_deref() != Some(t.as_str()) {
                return false;
            }
        }
        true
    }
}

/// The tenant's head, or [`CliError::UnknownTenant`].
fn head_of(store: &dyn Store, tenant: &TenantId) -> Result<ChainHead, CliError> {
    store.head(tenant)?.ok_or_else(|| CliError::UnknownTenant {
        tenant: tenant.clone(),
    })
}

/// The first stored seq of the tenant (past 0 once old epochs were archived
/// and deleted from the store).
///
/// # Errors
/// [`CliError::UnknownTenant`], [`CliError::Store`].
pub fn first_seq(store: &dyn Store, tenant: &TenantId) -> Result<Seq, CliError> {
    let head = head_of(store, tenant)?;
    for e in 0..=head.epoch.0 {
        if let Some(s) = store.epoch_start(tenant, Epoch(e))? {
            return Ok(s);
        }
    }
    Ok(head.seq)
}

/// Calls `f` on each stored entry of `tenant` with a seq in `range`, in seq
/// order, reading [`READ_CHUNK`] entries at a time; stops when `f` returns
/// `false`.
fn for_each(
    store: &dyn Store,
    tenant: &TenantId,
    range: Option<SeqRange>,
    mut f: impl FnMut(Entry) -> bool,
) -> Result<(), CliError> {
    let head = head_of(store, tenant)?;
    let mut from = first_seq(store, tenant)?;
    let mut end = Seq(head.seq.0 + 1);
    if let Some(r) = range {
        from = from.max(r.from);
        end = end.min(r.to);
    }
    while from < end {
        let to = Seq(end.0.min(from.0.saturating_add(READ_CHUNK)));
        let chunk = store.read(tenant, from, to)?;
        let Some(last) = chunk.last().map(Entry::seq) else {
            break;
        };
        for e in chunk {
            if !f(e) {
                return Ok(());
            }
        }
        from = Seq(last.0 + 1);
    }
    Ok(())
}

/// The tenants a command covers: the one asked for (which must exist), or all.
fn tenants(store: &dyn Store, tenant: Option<&TenantId>) -> Result<Vec<TenantId>, CliError> {
    match tenant {
        Some(t) => {
            head_of(store, t)?;
            Ok(vec![t.clone()])
        }
        None => Ok(store.tenants()?),
    }
}

/// The entries matching `filter`, tenant by tenant in name order, each
/// tenant's in seq order.
///
/// # Errors
/// [`CliError::UnknownTenant`] for a tenant with no entries;
/// [`CliError::Store`].
pub fn list(store: &dyn Store, filter: &ListFilter) -> Result<Vec<Entry>, CliError> {
    let mut out = Vec::new();
    let limit = filter.limit.unwrap_or(usize::MAX);
    for t in tenants(store, filter.tenant.as_ref())? {
        if out.len() >= limit {
            break;
        }
        for_each(store, &t, filter.seqs, |e| {
            if filter.matches(&e) {
                out.push(e);
            }
            out.len() < limit
        })?;
    }
    Ok(out)
}

/// As [`list`], but a SQLite store answers trace, time and kind
/// conditions from its indexes (`SqliteStore::query`) instead of a scan;
/// every returned entry still passes [`ListFilter::matches`], so both paths
/// return the same entries.
///
/// # Errors
/// As [`list`].
pub fn list_in(opened: &OpenStore, filter: &ListFilter) -> Result<Vec<Entry>, CliError> {
    let indexed = filter.trace.is_some() || filter.time.is_some() || filter.kind.is_some();
    let OpenStore::Sqlite(sqlite) = opened else {
        return list(opened.store().as_ref(), filter);
    };
    if !indexed {
        return list(sqlite.as_ref(), filter);
    }
    let limit = filter.limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for t in tenants(sqlite.as_ref(), filter.tenant.as_ref())? {
        if out.len() >= limit {
            break;
        }
        let mut f = EntryFilter::for_tenant(&t);
        if let Some(x) = &filter.trace {
            f = f.trace_id(x);
        }
        if let Some(r) = filter.time {
            f = f.time_range(r.from, r.to);
        }
        if let Some(k) = filter.kind {
            f = f.kind(k);
        }
        if let Some(r) = filter.seqs {
            f = f.seq_range(r.from, r.to);
        }
        if filter.action.is_none() {
            if let Ok(n) = u32::try_from(limit - out.len()) {
                f = f.limit(n);
            }
        }
        for e in sqlite.query(&f)? {
            if filter.matches(&e) {
                out.push(e);
                if out.len() >= limit {
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// One entry by tenant and seq.
///
/// # Errors
/// [`CliError::UnknownTenant`], [`CliError::NoSuchEntry`], [`CliError::Store`].
pub fn find_entry(store: &dyn Store, tenant: &TenantId, seq: Seq) -> Result<Entry, CliError> {
    let head = head_of(store, tenant)?;
    store
        .read(tenant, seq, Seq(seq.0.saturating_add(1)))?
        .pop()
        .ok_or_else(|| {
            CliError::NoSuchEntry(format!(
                "tenant {tenant} has no seq {seq} (its head is seq {})",
                head.seq
            ))
        })
}

/// One entry by id (a scan of the tenant, or of every tenant).
///
/// # Errors
/// As [`list`]; [`CliError::NoSuchEntry`].
pub fn find_by_id(
    store: &dyn Store,
    tenant: Option<&TenantId>,
    id: EntryId,
) -> Result<Entry, CliError> {
    for t in tenants(store, tenant)? {
        let mut found = None;
        for_each(store, &t, None, |e| {
            if e.id() == id {
                found = Some(e);
                return false;
            }
            true
        })?;
        if let Some(e) = found {
            return Ok(e);
        }
    }
    Err(CliError::NoSuchEntry(format!(
        "no entry has id {}",
        id.to_hex()
    )))
}

/// The log name the store's entries carry (every entry names its log).
///
/// # Errors
/// [`CliError::Invalid`] for an empty store; [`CliError::Store`].
pub fn log_name(store: &dyn Store) -> Result<LogName, CliError> {
    for t in store.tenants()? {
        if let Some(h) = store.head(&t)? {
            if let Some(e) = store.read(&t, h.seq, Seq(h.seq.0 + 1))?.pop() {
                return Ok(e.header().log.clone());
            }
        }
    }
    Err(CliError::Invalid("the store is empty".into()))
}

/// One line about an entry's body: the action of a decision, the tool and
/// status of a tool call, and so on. Never personal data (bodies hold
/// commitments, not text; an oversight note is not shown).
pub fn entry_summary(e: &Entry) -> String {
    match e.body() {
        Ok(Body::Decision(d)) => {
            let mut s = d.action.as_str().to_owned();
            if let Some(m) = &d.model {
                s.push_str(&format!(" model={}", m.id.as_str()));
            }
            if !d.reasons.is_empty() {
                let r: Vec<&str> = d.reasons.iter().map(|c| c.as_str()).collect();
                s.push_str(&format!(" reasons={}", r.join(",")));
            }
            s
        }
        Ok(Body::ToolCall(t)) => format!("{} {}", t.tool, json_name(&t.status)),
        Ok(Body::HumanOversight(h)) => format!(
            "{} by {} of {}",
            json_name(&h.outcome),
            h.reviewer.as_str(),
            h.target.to_hex()
        ),
        Ok(Body::PolicyFlag(p)) => format!("{} {}", p.policy, json_name(&p.outcome)),
        Ok(Body::KeyRotation(k)) => format!("new key {} ({})", k.new_key.id(), k.reason),
        Ok(Body::EpochLink(l)) => {
            format!("links epoch {} (size {})", l.prev_epoch, l.size)
        }
        Ok(Body::StoreRepair(r)) => format!("repair {}", r.reason),
        Ok(Body::Shred(s)) => match &s.subject {
            Some(r) => format!(
                "shred subject {} by {} ({})",
                r.to_hex(),
                s.actor.as_str(),
                s.reason
            ),
            None => format!("shred tenant by {} ({})", s.actor.as_str(), s.reason),
        },
        // Kinds added later show no summary until given one.
        #[allow(unreachable_patterns)]
        Ok(_) => String::new(),
        Err(e) => format!("(body does not decode: {e})"),
    }
}

/// The wire name of a unit enum.
fn json_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Counts and heads of one epoch of a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EpochStats {
    /// Epoch.
    pub epoch: Epoch,
    /// Its first seq.
    pub first_seq: Seq,
    /// Its entries in the store.
    pub entries: u64,
    /// Its signed checkpoints.
    pub checkpoints: u64,
    /// Entries covered by its latest checkpoint.
    pub sealed: u64,
}

/// Counts, head and epochs of one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TenantStats {
    /// Tenant.
    pub tenant: TenantId,
    /// Entries in the store.
    pub entries: u64,
    /// First stored seq (0 unless old epochs were archived).
    pub first_seq: Seq,
    /// Head seq.
    pub head_seq: Seq,
    /// Head entry hash.
    pub head_hash: Hash32,
    /// Current epoch.
    pub epoch: Epoch,
    /// Time of the first stored entry.
    pub first_ts: Option<Timestamp>,
    /// Time of the head entry.
    pub last_ts: Option<Timestamp>,
    /// Entries per kind (wire names).
    pub kinds: BTreeMap<String, u64>,
    /// Decisions per action (wire names).
    pub actions: BTreeMap<String, u64>,
    /// Entries of the current epoch not yet covered by a checkpoint.
    pub unsealed: u64,
    /// The stored epochs.
    pub epochs: Vec<EpochStats>,
}

/// [`stats`] of a store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    /// Per tenant, in name order.
    pub tenants: Vec<TenantStats>,
}

/// Counts, heads and epochs of one tenant or of all (reads every entry).
///
/// # Errors
/// As [`list`].
pub fn stats(store: &dyn Store, tenant: Option<&TenantId>) -> Result<StoreStats, CliError> {
    let mut out = Vec::new();
    for t in tenants(store, tenant)? {
        let head = head_of(store, &t)?;
        let mut s = TenantStats {
            tenant: t.clone(),
            entries: 0,
            first_seq: first_seq(store, &t)?,
            head_seq: head.seq,
            head_hash: head.hash,
            epoch: head.epoch,
            first_ts: None,
            last_ts: None,
            kinds: BTreeMap::new(),
            actions: BTreeMap::new(),
            unsealed: 0,
            epochs: Vec::new(),
        };
        let mut per_epoch: BTreeMap<Epoch, (Seq, u64)> = BTreeMap::new();
        for_each(store, &t, None, |e| {
            s.entries += 1;
            s.first_ts.get_or_insert(e.ts());
            s.last_ts = Some(e.ts());
            *s.kinds.entry(e.kind().as_str().to_owned()).or_default() += 1;
            if let Ok(Body::Decision(d)) = e.body() {
                *s.actions.entry(d.action.as_str().to_owned()).or_default() += 1;
            }
            per_epoch.entry(e.epoch()).or_insert((e.seq(), 0)).1 += 1;
            true
        })?;
        for (epoch, (first, entries)) in per_epoch {
            let cps = store.checkpoints(&t, epoch)?;
            let sealed = cps.last().map_or(0, |c| c.size.0);
            if epoch == head.epoch {
                s.unsealed = entries.saturating_sub(sealed);
            }
            s.epochs.push(EpochStats {
                epoch,
                first_seq: first,
                entries,
                checkpoints: cps.len() as u64,
                sealed,
            });
        }
        out.push(s);
    }
    Ok(StoreStats { tenants: out })
}

/// Checks that `key` is the log key now in use for `tenant`: the key of its
/// head entry, or the key a `key_rotation` head entry introduces. An entry
/// or manifest signed by any other key would not verify against the keys
/// auditors pinned.
///
/// # Errors
/// [`CliError::UnknownTenant`]; [`CliError::WrongKey`] for another key.
pub fn check_signer(
    store: &dyn Store,
    tenant: &TenantId,
    key: &crate::keys::VerifierKey,
) -> Result<(), CliError> {
    let head = head_of(store, tenant)?;
    let e = find_entry(store, tenant, head.seq)?;
    let rotated_to = match e.body() {
        Ok(Body::KeyRotation(k)) => Some(k.new_key.id()),
        _ => None,
    };
    if e.key_id() == key.id() || rotated_to == Some(key.id()) {
        return Ok(());
    }
    Err(CliError::WrongKey {
        key: format!("{} ({})", key.name(), key.id()),
        tenant: tenant.clone(),
        expected: e.key_id(),
    })
}
