//! Writing evidence packages (SPEC §8.1, §8.5) from any [`Store`].
//!
//! Streaming: entries are read from the store in chunks of
//! [`READ_CHUNK`] and written straight into the deflate stream; what is held
//! is one chunk plus the leaf hashes of the epoch being written (32 bytes
//! per entry), which the consistency proofs need. The ZIP is written with
//! the `zip` crate into any `Write + Seek` (a file), with fixed timestamps
//! and options, so the same store gives the same bytes.

use std::collections::BTreeMap;
use std::io::{Seek, Write};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::manifest::{manifest_note_text, FileRecord, Head, Manifest, PackageKind, TenantRecord};
use super::name::FileName;
use super::PackageError;
use crate::checkpoint::SignedCheckpoint;
use crate::clock::Timestamp;
use crate::encoding::to_canonical;
use crate::entry::Entry;
use crate::hash::Hash32;
use crate::id::{Epoch, LogName, Seq, TenantId};
use crate::keys::Signer;
use crate::log::LogError;
use crate::merkle::{leaf_hash, MerkleTree, TreeSize};
use crate::note::sign_note;
use crate::store::{Store, StoreError};

/// Entries read from the store per call while exporting.
pub const READ_CHUNK: u64 = 4096;

/// The auditor README embedded in every package (`README.txt`, SPEC §8.2).
pub(crate) const README_TEXT: &str = include_str!("README.txt");

/// What to export. A seq or time range is widened to the whole epochs it
/// touches: a checkpoint root covers its epoch from the epoch's first
/// entry, so a partial epoch could not be checked against it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// Every tenant, every epoch.
    All,
    /// One tenant, every epoch.
    Tenant(TenantId),
    /// One tenant, epochs `from..=to`.
    Epochs {
        /// Tenant.
        tenant: TenantId,
        /// First epoch.
        from: Epoch,
        /// Last epoch (inclusive).
        to: Epoch,
    },
    /// One tenant, the epochs holding seqs `from..=to`.
    Seqs {
        /// Tenant.
        tenant: TenantId,
        /// First seq.
        from: Seq,
        /// Last seq (inclusive).
        to: Seq,
    },
    /// The epochs holding an entry whose `ts` is in `from..to` (`to`
    /// excluded), of one tenant or (`None`) of every tenant that has one.
    ///
    /// Timestamps are the producer's claims and may step back (a warning
    /// in verification, SPEC §6), so every entry's `ts` is looked at, not
    /// only each epoch's first and last: the selection costs one extra
    /// streaming read of the tenant's entries.
    Time {
        /// Tenant, or every tenant.
        tenant: Option<TenantId>,
        /// Earliest timestamp (inclusive).
        from: Timestamp,
        /// Latest timestamp (exclusive).
        to: Timestamp,
    },
}

/// What an export wrote.
#[derive(Clone, Debug)]
pub struct ExportSummary {
    /// The manifest as written (and signed).
    pub manifest: Manifest,
    /// SHA-256 of `manifest.json`.
    pub manifest_sha256: Hash32,
}

pub(super) struct PackageWriter<W: Write + Seek> {
    zip: ZipWriter<W>,
    files: Vec<FileRecord>,
}

fn zip_err(e: zip::result::ZipError) -> PackageError {
    PackageError::Zip(Box::new(e))
}

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644)
        .large_file(false)
}

impl<W: Write + Seek> PackageWriter<W> {
    fn new(out: W) -> Self {
        PackageWriter {
            zip: ZipWriter::new(out),
            files: Vec::new(),
        }
    }

    fn start(&mut self, name: &str) -> Result<(), PackageError> {
        self.zip.start_file(name, options()).map_err(zip_err)
    }

    /// Writes a whole small file and lists it.
    pub(super) fn put(&mut self, name: &FileName, bytes: &[u8]) -> Result<(), PackageError> {
        let name = name.to_string();
        self.start(&name)?;
        self.zip.write_all(bytes)?;
        self.files.push(FileRecord {
            name,
            sha256: Hash32::digest(bytes),
            size: bytes.len() as u64,
        });
        Ok(())
    }

    /// Writes an unlisted file (the manifest and its signature).
    fn put_unlisted(&mut self, name: &str, bytes: &[u8]) -> Result<(), PackageError> {
        self.start(name)?;
        self.zip.write_all(bytes)?;
        Ok(())
    }

    fn finish(
        mut self,
        kind: PackageKind,
        log: &LogName,
        signer: &dyn Signer,
        tenants: Vec<TenantRecord>,
    ) -> Result<ExportSummary, PackageError> {
        self.files.sort_by(|a, b| a.name.cmp(&b.name));
        let manifest = Manifest {
            entries: tenants.iter().map(|t| t.entries).sum(),
            files: std::mem::take(&mut self.files),
            format: super::PACKAGE_FORMAT.to_owned(),
            kind,
            log: log.clone(),
            producer: signer.verifier_key().name().to_owned(),
            producer_key_id: signer.verifier_key().id(),
            tenants,
        };
        let bytes = to_canonical(&manifest).map_err(|e| PackageError::Scope(e.to_string()))?;
        let note = sign_note(&manifest_note_text(&bytes), &[signer])?;
        self.put_unlisted(super::MANIFEST, &bytes)?;
        self.put_unlisted(super::MANIFEST_SIG, note.as_bytes())?;
        self.zip.finish().map_err(zip_err)?;
        Ok(ExportSummary {
            manifest_sha256: Hash32::digest(&bytes),
            manifest,
        })
    }
}

/// Exports `scope` of the log in `store` as a log package, signing the
/// manifest with `signer` (the log key). Entries are written as they are
/// stored: export does not verify them (the verifier does).
///
/// # Errors
/// [`PackageError::Scope`] for an unknown tenant or a range with no
/// entries; [`PackageError::Store`], [`PackageError::Io`],
/// [`PackageError::Zip`], [`PackageError::Sign`].
pub fn export_package<W: Write + Seek>(
    store: &dyn Store,
    log: &LogName,
    signer: &dyn Signer,
    scope: &Scope,
    out: W,
) -> Result<ExportSummary, PackageError> {
    export_log(store, log, signer, scope, None, out)
}

/// As [`export_package`], and embeds under the signed manifest, for each
/// tenant, the compliance report computed from its exported entries once
/// they verified against `reports.keys` (SPEC §11.3.4), plus the crosswalk
/// template used. The verifier recomputes and compares them. Holds one
/// tenant's exported entries in memory.
///
/// # Errors
/// As [`export_package`]; [`PackageError::Scope`] when a tenant's entries
/// do not verify (no report is computed from unverified entries).
pub fn export_package_with_reports<W: Write + Seek>(
    store: &dyn Store,
    log: &LogName,
    signer: &dyn Signer,
    scope: &Scope,
    reports: &super::reports::ReportOptions,
    out: W,
) -> Result<ExportSummary, PackageError> {
    export_log(store, log, signer, scope, Some(reports), out)
}

fn export_log<W: Write + Seek>(
    store: &dyn Store,
    log: &LogName,
    signer: &dyn Signer,
    scope: &Scope,
    reports: Option<&super::reports::ReportOptions>,
    out: W,
) -> Result<ExportSummary, PackageError> {
    let plan = plan(store, scope)?;
    let mut w = PackageWriter::new(out);
    w.put(&FileName::Readme, README_TEXT.as_bytes())?;
    w.put(
        &FileName::ProducerKey,
        format!("{}\n", signer.verifier_key()).as_bytes(),
    )?;
    let mut records = Vec::new();
    if let Some(opts) = reports {
        super::reports::write(store, &mut w, log, &plan, opts)?;
    }
    for (tenant, epochs) in plan {
        let mut rec: Option<TenantRecord> = None;
        for (epoch, start, end) in epochs {
            write_epoch(store, &mut w, &tenant, epoch, start, end, &mut rec)?;
        }
        records.extend(rec);
    }
    if records.is_empty() {
        return Err(PackageError::Scope("nothing to export".into()));
    }
    w.finish(PackageKind::Log, log, signer, records)
}

/// Per tenant: (epoch, first seq, end seq exclusive) of each epoch to write.
pub(super) type Plan = BTreeMap<TenantId, Vec<(Epoch, Seq, Seq)>>;

fn plan(store: &dyn Store, scope: &Scope) -> Result<Plan, PackageError> {
    let tenants = match scope {
        Scope::All | Scope::Time { tenant: None, .. } => store.tenants()?,
        Scope::Tenant(t)
        | Scope::Epochs { tenant: t, .. }
        | Scope::Seqs { tenant: t, .. }
        | Scope::Time {
            tenant: Some(t), ..
        } => {
            vec![t.clone()]
        }
    };
    if let Scope::Time { from, to, .. } = scope {
        if from >= to {
            return Err(PackageError::Scope(format!(
                "empty time range {from}..{to}"
            )));
        }
    }
    let mut plan = Plan::new();
    for t in tenants {
        let head = store
            .head(&t)?
            .ok_or_else(|| PackageError::Scope(format!("tenant {t} has no entries")))?;
        let epoch_of = |seq: Seq| -> Result<Epoch, PackageError> {
            store
                .read(&t, seq, Seq(seq.0.saturating_add(1)))?
                .first()
                .map(Entry::epoch)
                .ok_or_else(|| PackageError::Scope(format!("tenant {t} has no seq {seq}")))
        };
        let (from, to) = match scope {
            Scope::Epochs { from, to, .. } => (*from, *to),
            Scope::Seqs { from, to, .. } => (epoch_of(*from)?, epoch_of(*to)?),
            _ => (Epoch(0), head.epoch),
        };
        let mut epochs = Vec::new();
        for e in from.0..=to.0.min(head.epoch.0) {
            let Some(start) = store.epoch_start(&t, Epoch(e))? else {
                continue;
            };
            let mut end = Seq(head.seq.0 + 1);
            for next in e + 1..=head.epoch.0 {
                if let Some(s) = store.epoch_start(&t, Epoch(next))? {
                    end = s;
                    break;
                }
            }
            if let Scope::Time { from, to, .. } = scope {
                if !any_ts_in(store, &t, start, end, *from, *to)? {
                    continue;
                }
            }
            epochs.push((Epoch(e), start, end));
        }
        if epochs.is_empty() {
            if matches!(scope, Scope::Time { tenant: None, .. }) {
                continue;
            }
            return Err(PackageError::Scope(format!(
                "tenant {t} has no entries in the requested range"
            )));
        }
        plan.insert(t, epochs);
    }
    if plan.is_empty() {
        return Err(PackageError::Scope(
            "no tenant has entries in the requested range".into(),
        ));
    }
    Ok(plan)
}

/// Whether an entry of `tenant` in seqs `start..end` has `from <= ts < to`
/// (read in chunks, stopping at the first).
fn any_ts_in(
    store: &dyn Store,
    tenant: &TenantId,
    start: Seq,
    end: Seq,
    from: Timestamp,
    to: Timestamp,
) -> Result<bool, PackageError> {
    let mut at = start;
    while at < end {
        let upto = Seq(end.0.min(at.0.saturating_add(READ_CHUNK)));
        let chunk = store.read(tenant, at, upto)?;
        if chunk.iter().any(|e| e.ts() >= from && e.ts() < to) {
            return Ok(true);
        }
        match chunk.last() {
            Some(last) => at = Seq(last.seq().0.saturating_add(1)),
            None => break,
        }
    }
    Ok(false)
}

fn write_epoch<W: Write + Seek>(
    store: &dyn Store,
    w: &mut PackageWriter<W>,
    tenant: &TenantId,
    epoch: Epoch,
    start: Seq,
    end: Seq,
    rec: &mut Option<TenantRecord>,
) -> Result<(), PackageError> {
    let name = FileName::Entries(tenant.clone(), epoch).to_string();
    w.start(&name)?;
    let (mut hasher, mut size) = (Sha256::new(), 0u64);
    let mut tree = MerkleTree::new();
    let mut from = start;
    while from < end {
        let to = Seq(end.0.min(from.0.saturating_add(READ_CHUNK)));
        let chunk = store.read(tenant, from, to)?;
        if chunk.is_empty() {
            break;
        }
        for e in &chunk {
            let mut line = e
                .to_line()
                .map_err(|x| PackageError::Scope(x.to_string()))?;
            line.push(b'\n');
            w.zip.write_all(&line)?;
            hasher.update(&line);
            size += line.len() as u64;
            tree.push(leaf_hash(&e.hash().0));
            let r = rec.get_or_insert_with(|| TenantRecord {
                tenant: tenant.clone(),
                entries: 0,
                first_seq: e.seq(),
                last_seq: e.seq(),
                first_prev: *e.prev(),
                epochs: Vec::new(),
                checkpoints: Vec::new(),
            });
            r.entries += 1;
            r.last_seq = e.seq();
        }
        from = Seq(chunk.last().map_or(end.0, |e| e.seq().0 + 1));
    }
    w.files.push(FileRecord {
        name,
        sha256: Hash32(hasher.finalize().into()),
        size,
    });
    let Some(r) = rec.as_mut() else {
        return Ok(());
    };
    r.epochs.push(epoch);

    // Checkpoints, and a consistency proof between each consecutive pair.
    let mut prev: Option<TreeSize> = None;
    for stored in store.checkpoints(tenant, epoch)? {
        let signed = SignedCheckpoint::dangerous_from_stored_unverified(stored.note.clone())
            .map_err(|e| PackageError::Scope(format!("stored checkpoint: {e}")))?;
        let cp = signed.checkpoint();
        w.put(
            &FileName::Checkpoint(tenant.clone(), epoch, cp.size()),
            stored.note.as_bytes(),
        )?;
        r.checkpoints.push(Head::of(epoch, cp));
        if let Some(old) = prev.filter(|o| o.0 > 0 && cp.size() <= tree.size()) {
            if let Ok(proof) = tree.consistency_proof(old, cp.size()) {
                let bytes = to_canonical(&proof).map_err(|e| PackageError::Scope(e.to_string()))?;
                w.put(
                    &FileName::Consistency(tenant.clone(), epoch, old, cp.size()),
                    &bytes,
                )?;
            }
        }
        prev = Some(cp.size());
    }
    Ok(())
}

/// Exports a selective disclosure: the entries `seqs` of `tenant`, each as
/// a one-line JSONL file with a `tlog-proof` under the latest stored
/// checkpoint of its epoch that covers it.
///
/// # Errors
/// [`PackageError::Scope`] if a seq does not exist or no checkpoint covers
/// it yet; as [`export_package`] otherwise.
pub fn export_disclosure<W: Write + Seek>(
    store: &dyn Store,
    log: &LogName,
    signer: &dyn Signer,
    tenant: &TenantId,
    seqs: &[Seq],
    out: W,
) -> Result<ExportSummary, PackageError> {
    let mut seqs = seqs.to_vec();
    seqs.sort();
    seqs.dedup();
    let mut w = PackageWriter::new(out);
    w.put(&FileName::Readme, README_TEXT.as_bytes())?;
    w.put(
        &FileName::ProducerKey,
        format!("{}\n", signer.verifier_key()).as_bytes(),
    )?;
    let mut rec: Option<TenantRecord> = None;
    for seq in seqs {
        let (entry, file) =
            crate::log::entry_and_proof(store, tenant, seq).map_err(|e| match e {
                LogError::Store(StoreError::InvalidAppend { .. }) => {
                    PackageError::Scope(format!("tenant {tenant} has no seq {seq}"))
                }
                LogError::SealTimeout { .. } => {
                    PackageError::Scope(format!("seq {seq} is not covered by a checkpoint yet"))
                }
                LogError::Store(e) => PackageError::from(e),
                e => PackageError::Scope(format!("inclusion proof of seq {seq}: {e}")),
            })?;
        let mut line = entry
            .to_line()
            .map_err(|x| PackageError::Scope(x.to_string()))?;
        line.push(b'\n');
        w.put(&FileName::Receipt(tenant.clone(), seq), &line)?;
        w.put(
            &FileName::ReceiptProof(tenant.clone(), seq),
            file.to_text().as_bytes(),
        )?;
        let r = rec.get_or_insert_with(|| TenantRecord {
            tenant: tenant.clone(),
            entries: 0,
            first_seq: seq,
            last_seq: seq,
            first_prev: *entry.prev(),
            epochs: Vec::new(),
            checkpoints: Vec::new(),
        });
        r.entries += 1;
        r.last_seq = seq;
        let signed =
            SignedCheckpoint::dangerous_from_stored_unverified(file.checkpoint_note().to_owned())
                .map_err(|e| PackageError::Scope(format!("stored checkpoint: {e}")))?;
        let head = Head::of(entry.epoch(), signed.checkpoint());
        if !r.checkpoints.contains(&head) {
            r.checkpoints.push(head);
        }
    }
    let Some(mut r) = rec else {
        return Err(PackageError::Scope("nothing to disclose".into()));
    };
    r.checkpoints.sort_by_key(|h| (h.epoch, h.size));
    w.finish(PackageKind::Disclosure, log, signer, vec![r])
}
