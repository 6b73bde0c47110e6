//! Verifying a store with pinned keys (SPEC §7.6), tenant by tenant, as an
//! auditor would verify an export of it; and the signer-free store
//! operations `prove` and `epoch archive` need.

use serde::Serialize;

use super::CliError;
use crate::body::EntryKind;
use crate::chain::{Anchor, ChainOptions, Item};
use crate::checkpoint::InclusionProofFile;
use crate::entry::Entry;
use crate::id::{Epoch, Seq, TenantId};
use crate::keys::KeyRing;
use crate::log::EpochArchive;
use crate::package::READ_CHUNK;
use crate::report::{Location, Report, Verdict};
use crate::segment::{verify_segment, NoteInput};
use crate::store::{Store, StoreError};

/// The verification of one tenant's stored chain.
#[derive(Clone, Debug, Serialize)]
pub struct TenantReport {
    /// Tenant.
    pub tenant: TenantId,
    /// Entries read from the store.
    pub entries: u64,
    /// The checks.
    pub report: Report,
}

fn at(tenant: &TenantId, epoch: Option<Epoch>, seq: Option<Seq>) -> Location {
    Location {
        tenant: Some(tenant.clone()),
        epoch,
        seq,
        ..Location::default()
    }
}

/// Verifies every stored entry and checkpoint of `tenant` (or of every
/// tenant) against `keys`, plus keys introduced by verified rotation
/// entries. A chain whose old epochs were archived out of the store is
/// verified from its first stored entry, which must be an `epoch_link`
/// (anything else is a truncation). `progress` is called before each
/// tenant with (index, count, tenant).
///
/// A stored entry that does not decode is a `malformed` failure, not an
/// error: the store is not trusted.
///
/// # Errors
/// [`CliError::UnknownTenant`]; [`CliError::Store`] when the store cannot
/// be read.
pub fn verify_store(
    store: &dyn Store,
    tenant: Option<&TenantId>,
    keys: &KeyRing,
    progress: &mut dyn FnMut(usize, usize, &TenantId),
) -> Result<Vec<TenantReport>, CliError> {
    let tenants = match tenant {
        Some(t) => {
            super::first_seq(store, t)?;
            vec![t.clone()]
        }
        None => store.tenants()?,
    };
    let mut out = Vec::with_capacity(tenants.len());
    for (i, t) in tenants.iter().enumerate() {
        progress(i, tenants.len(), t);
        out.push(verify_tenant(store, t, keys)?);
    }
    Ok(out)
}

fn verify_tenant(
    store: &dyn Store,
    t: &TenantId,
    keys: &KeyRing,
) -> Result<TenantReport, CliError> {
    let first = super::first_seq(store, t)?;
    let Some(head) = store.head(t)? else {
        return Err(CliError::UnknownTenant { tenant: t.clone() });
    };
    let mut entries: Vec<Entry> = Vec::new();
    let mut from = first;
    let end = Seq(head.seq.0 + 1);
    while from < end {
        let to = Seq(end.0.min(from.0.saturating_add(READ_CHUNK)));
        match store.read(t, from, to) {
            Ok(chunk) => {
                let Some(last) = chunk.last().map(Entry::seq) else {
                    break;
                };
                entries.extend(chunk);
                from = Seq(last.0 + 1);
            }
            Err(StoreError::Corrupt(e)) => {
                let mut report = Report::default();
                report.fail(
                    Verdict::Malformed,
                    "stored_entry",
                    at(t, None, None),
                    format!("a stored entry between seq {from} and {to} does not decode: {e}"),
                );
                return Ok(TenantReport {
                    tenant: t.clone(),
                    entries: entries.len() as u64,
                    report,
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut notes = Vec::new();
    for ep in entries.first().map_or(0, |e| e.epoch().0)..=head.epoch.0 {
        for c in store.checkpoints(t, Epoch(ep))? {
            notes.push(NoteInput {
                location: Location {
                    file: Some(format!("checkpoint e{ep} s{}", c.size).into()),
                    ..at(t, Some(Epoch(ep)), None)
                },
                note: c.note.into_bytes(),
            });
        }
    }
    let starts_mid_chain = first.0 > 0;
    let opts = ChainOptions {
        tenant: Some(t.clone()),
        anchor: if starts_mid_chain {
            Anchor::Anywhere
        } else {
            Anchor::Genesis
        },
        ..ChainOptions::default()
    };
    let first_kind = entries.first().map(Entry::kind);
    let n = entries.len() as u64;
    let items: Vec<Item> = entries
        .into_iter()
        .map(|e| (at(t, Some(e.epoch()), Some(e.seq())), Ok(e)))
        .collect();
    let mut report = verify_segment(items, &notes, keys, &opts);
    // As for a package (SPEC §8.6 step 5): entries that cannot be shown
    // sealed because no checkpoint of their epoch is by a pinned key are
    // `unknown_key`, so the verdict names the cause, not `tampered`.
    crate::package::explain_unknown_keys(&mut report);
    if starts_mid_chain && first_kind != Some(EntryKind::EpochLink) {
        report.fail(
            Verdict::Truncated,
            "first_entry",
            at(t, None, Some(first)),
            format!(
                "the stored chain starts at seq {first}, which is not an epoch_link \
                 (only whole archived epochs may be missing)"
            ),
        );
    }
    Ok(TenantReport {
        tenant: t.clone(),
        entries: n,
        report,
    })
}

/// A C2SP `tlog-proof` file for entry `seq` of `tenant` under the latest
/// stored checkpoint of its epoch (SPEC §7.5).
///
/// # Errors
/// [`CliError::UnknownTenant`], [`CliError::NoSuchEntry`];
/// [`CliError::Log`] when no checkpoint covers the entry yet.
pub fn inclusion_proof(
    store: &dyn Store,
    tenant: &TenantId,
    seq: Seq,
) -> Result<(Entry, InclusionProofFile), CliError> {
    let entry = super::find_entry(store, tenant, seq)?;
    let proof = crate::log::inclusion_proof(store, tenant, seq)?;
    Ok((entry, proof))
}

/// Copies closed `epoch` of `tenant` out of the store (see
/// [`crate::AuditLog::archive_epoch`]).
///
/// # Errors
/// [`CliError::UnknownTenant`]; [`CliError::Invalid`] when the epoch is
/// not closed or not stored; [`CliError::Log`] when the store fails.
pub fn archive_epoch(
    store: &dyn Store,
    tenant: &TenantId,
    epoch: Epoch,
) -> Result<EpochArchive, CliError> {
    super::first_seq(store, tenant)?;
    let head = store.head(tenant)?.map_or(Epoch(0), |h| h.epoch);
    if epoch >= head {
        return Err(CliError::Invalid(format!(
            "epoch {epoch} of tenant {tenant} is not closed (the current epoch is {head}): \
             roll it first with `ai-audit epoch roll`"
        )));
    }
    if store.epoch_start(tenant, epoch)?.is_none() {
        return Err(CliError::Invalid(format!(
            "epoch {epoch} of tenant {tenant} is not in the store (archived and deleted already?)"
        )));
    }
    Ok(crate::log::archive_epoch(store, tenant, epoch)?)
}
