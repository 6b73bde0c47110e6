//! Verification of an evidence package (SPEC §8.6), built on
//! [`crate::segment::verify_segment`] for each tenant's entries and
//! checkpoints, and on [`InclusionProofFile::verify`] for disclosures.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Seek};

use serde::Serialize;
use serde_json::Value;

use super::lines::{Problem, RawLines};
use super::manifest::{manifest_note_text, Head, Manifest, PackageKind, MANIFEST_NOTE_HEADER};
use super::name::FileName;
use super::pipeline;
use super::read::{Archive, Defect};
use super::{PackageError, PACKAGE_FORMAT};
use crate::body::EntryKind;
use crate::chain::{verify_chain, Anchor, ChainOptions, Item};
use crate::checkpoint::{origin, CheckpointError, InclusionProofFile, ProofLeaf, SignedCheckpoint};
use crate::encoding::{decode_canonical, parse_canonical};
use crate::entry::Entry;
use crate::entry::EntryError;
use crate::hash::Hash32;
use crate::id::{Epoch, LogName, Seq, TenantId};
use crate::keys::{KeyId, KeyRing};
use crate::merkle::ConsistencyProof;
use crate::note::{open_note, NoteError};
use crate::report::{Location, Report, Verdict};
use crate::segment::{verify_segment, Irregular, NoteInput, SegmentStream};

/// What the package claims to hold (from its manifest), for display.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct PackageSummary {
    /// `log` or `disclosure`.
    pub kind: PackageKind,
    /// The log name.
    pub log: LogName,
    /// Name of the key that signed the manifest.
    pub producer: String,
    /// Its key id.
    pub producer_key_id: KeyId,
    /// Files listed in the manifest.
    pub files: u64,
    /// Entries listed in the manifest.
    pub entries: u64,
    /// Tenants, with their seq ranges.
    pub tenants: Vec<TenantSummary>,
}

/// One tenant of a [`PackageSummary`].
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct TenantSummary {
    /// Tenant.
    pub tenant: TenantId,
    /// Entries.
    pub entries: u64,
    /// First seq.
    pub first_seq: Seq,
    /// Last seq.
    pub last_seq: Seq,
    /// Checkpoints.
    pub checkpoints: u64,
}

/// The result of [`verify_package`]: the report of checks, and what the
/// manifest claims (absent when the manifest could not be read).
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct PackageReport {
    /// Every failed check (with file, tenant, epoch, seq), warnings, counts.
    pub report: Report,
    /// The manifest's claims, when it could be read.
    pub summary: Option<PackageSummary>,
}

impl PackageReport {
    /// The overall verdict.
    pub fn verdict(&self) -> Verdict {
        self.report.verdict()
    }
    /// True when every check passed.
    pub fn is_verified(&self) -> bool {
        self.report.is_verified()
    }
}

fn at_file(name: &str) -> Location {
    Location {
        file: Some(name.into()),
        ..Location::default()
    }
}

/// Largest `manifest.sig` read.
const MAX_SIG_BYTES: u64 = crate::note::MAX_NOTE_BYTES as u64;

/// How far [`verify_package_with`] has got, for a progress bar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Entry lines checked so far (all tenants).
    pub entries_done: u64,
    /// Entries the manifest claims (a claim: the count checked may differ).
    pub entries_total: u64,
}

/// Options of [`verify_package_with`].
#[derive(Clone, Copy, Default)]
pub struct VerifyOptions<'a> {
    progress: Option<&'a dyn Fn(Progress)>,
    in_memory: bool,
}

impl std::fmt::Debug for VerifyOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("progress", &self.progress.is_some())
            .field("in_memory", &self.in_memory)
            .finish()
    }
}

impl<'a> VerifyOptions<'a> {
    /// The defaults: no progress callback.
    pub fn new() -> Self {
        VerifyOptions::default()
    }
    /// Calls `f` on the calling thread as entries are checked (after every
    /// few hundred lines). It must be quick; it cannot change the result.
    pub fn with_progress(mut self, f: &'a dyn Fn(Progress)) -> Self {
        self.progress = Some(f);
        self
    }
    /// Verifies with the in-memory verifier ([`crate::verify_segment`]) on
    /// one thread instead of the streaming one: the same report, with
    /// memory growing with the package. For cross-checking the two.
    pub fn in_memory(mut self) -> Self {
        self.in_memory = true;
        self
    }
}

/// Verifies a package read from `input` against the pinned `keys` (never
/// against keys found in the package).
///
/// Entries are streamed: memory stays bounded whatever the package size
/// (per tenant, about 8 bytes per entry for the id check plus a few hashes
/// per epoch), and the per-entry work (strict parsing, hashes, Ed25519
/// batch verification) runs on every core.
///
/// # Errors
/// [`PackageError::Io`] only when reading `input` fails; every defect of
/// the package is a failure in the returned report.
pub fn verify_package<R: Read + Seek>(
    input: R,
    keys: &KeyRing,
) -> Result<PackageReport, PackageError> {
    verify_package_with(input, keys, &VerifyOptions::new())
}

/// [`verify_package`] with options (a progress callback).
///
/// # Errors
/// As [`verify_package`].
pub fn verify_package_with<R: Read + Seek>(
    input: R,
    keys: &KeyRing,
    options: &VerifyOptions<'_>,
) -> Result<PackageReport, PackageError> {
    let mut report = Report::default();
    let mut archive = match Archive::open(input)? {
        Ok(a) => a,
        Err(d) => {
            add_defect(&mut report, d);
            return Ok(PackageReport {
                report,
                summary: None,
            });
        }
    };
    report.pass();
    let manifest = match check_manifest(&mut archive, keys, &mut report)? {
        Some(m) => m,
        None => {
            return Ok(PackageReport {
                report,
                summary: None,
            })
        }
    };
    let summary = summarize(&manifest);
    let mut ctx = Ctx {
        keys,
        manifest: &manifest,
        report: &mut report,
        small: BTreeMap::new(),
        progress: options.progress,
        in_memory: options.in_memory,
        done: 0,
    };
    ctx.check_files(&mut archive)?;
    match manifest.kind {
        PackageKind::Log => ctx.check_log(&mut archive),
        PackageKind::Disclosure => ctx.check_disclosure(),
    }
    Ok(PackageReport {
        report,
        summary: Some(summary),
    })
}

fn add_defect(report: &mut Report, d: Defect) {
    let loc = d.file.map_or_else(Location::default, |f| at_file(&f));
    report.fail(d.verdict, d.check, loc, d.detail);
}

fn summarize(m: &Manifest) -> PackageSummary {
    PackageSummary {
        kind: m.kind,
        log: m.log.clone(),
        producer: m.producer.clone(),
        producer_key_id: m.producer_key_id,
        files: m.files.len() as u64,
        entries: m.entries,
        tenants: m
            .tenants
            .iter()
            .map(|t| TenantSummary {
                tenant: t.tenant.clone(),
                entries: t.entries,
                first_seq: t.first_seq,
                last_seq: t.last_seq,
                checkpoints: t.checkpoints.len() as u64,
            })
            .collect(),
    }
}

/// Reads a whole (capped) file; `Ok(Err(detail))` for a defect of the file.
fn read_all<R: Read + Seek>(
    archive: &mut Archive<R>,
    index: usize,
    cap: u64,
) -> io::Result<Result<(Vec<u8>, Hash32), String>> {
    let mut f = archive.open_file(index)?;
    let mut buf = Vec::new();
    let res = (&mut f).take(cap + 1).read_to_end(&mut buf);
    let (h, _, r) = f.finish();
    archive.restore(r);
    match res {
        Ok(_) if buf.len() as u64 > cap => Ok(Err(format!("larger than {cap} bytes"))),
        Ok(_) => Ok(Ok((buf, h))),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Ok(Err(e.to_string())),
        Err(e) => Err(e),
    }
}

fn find(archive: &Archive<impl Read + Seek>, name: &FileName) -> Option<usize> {
    archive.files.iter().position(|f| &f.parsed == name)
}

/// Manifest signature, manifest hash, version and shape. `None` when the
/// rest cannot be checked.
fn check_manifest<R: Read + Seek>(
    archive: &mut Archive<R>,
    keys: &KeyRing,
    report: &mut Report,
) -> Result<Option<Manifest>, PackageError> {
    let (Some(mi), Some(si)) = (
        find(archive, &FileName::Manifest),
        find(archive, &FileName::ManifestSig),
    ) else {
        report.fail(
            Verdict::Malformed,
            "manifest",
            Location::default(),
            "the package has no manifest.json or no manifest.sig",
        );
        return Ok(None);
    };
    let mbytes = match read_all(archive, mi, super::MAX_MANIFEST_BYTES)? {
        Ok((b, _)) => b,
        Err(d) => {
            report.fail(Verdict::Malformed, "file", at_file(super::MANIFEST), d);
            return Ok(None);
        }
    };
    let sig = match read_all(archive, si, MAX_SIG_BYTES)? {
        Ok((b, _)) => b,
        Err(d) => {
            report.fail(Verdict::Malformed, "file", at_file(super::MANIFEST_SIG), d);
            return Ok(None);
        }
    };
    let sig_loc = at_file(super::MANIFEST_SIG);
    let mut signer: Option<KeyId> = None;
    match open_note(&sig, keys) {
        Ok(v) => {
            let expected = manifest_note_text(&mbytes);
            if v.text() == expected {
                report.pass();
                signer = v.verified_by().first().map(|k| k.id());
            } else if v.text().split('\n').next() != Some(MANIFEST_NOTE_HEADER) {
                report.fail(
                    Verdict::UnsupportedVersion,
                    "manifest_signature",
                    sig_loc,
                    format!("signed text does not start with {MANIFEST_NOTE_HEADER}"),
                );
            } else {
                report.fail(
                    Verdict::Tampered,
                    "manifest_hash",
                    at_file(super::MANIFEST),
                    "manifest.json does not match the SHA-256 in its signed note",
                );
            }
        }
        Err(NoteError::UnknownKey { names_and_ids }) => {
            let who: Vec<String> = names_and_ids
                .iter()
                .map(|(n, id)| format!("{n} ({id})"))
                .collect();
            report.fail(
                Verdict::UnknownKey,
                "manifest_signature",
                sig_loc,
                format!(
                    "manifest signed only by keys that are not pinned: {}",
                    who.join(", ")
                ),
            );
        }
        Err(e @ NoteError::BadSignature { .. }) => {
            report.fail(
                Verdict::Tampered,
                "manifest_signature",
                sig_loc,
                e.to_string(),
            );
        }
        Err(e) => report.fail(
            Verdict::Malformed,
            "manifest_signature",
            sig_loc,
            e.to_string(),
        ),
    }
    let mloc = at_file(super::MANIFEST);
    let value = match parse_canonical(&mbytes) {
        Ok(v) => v,
        Err(e) => {
            report.fail(Verdict::Malformed, "manifest", mloc, e.to_string());
            return Ok(None);
        }
    };
    match value.get("format").and_then(Value::as_str) {
        Some(PACKAGE_FORMAT) => {}
        Some(other) => {
            report.fail(
                Verdict::UnsupportedVersion,
                "format",
                mloc,
                format!("package format {other:?} is not supported (this verifier reads {PACKAGE_FORMAT})"),
            );
            return Ok(None);
        }
        None => {
            report.fail(Verdict::Malformed, "format", mloc, "manifest has no format");
            return Ok(None);
        }
    }
    let manifest: Manifest = match decode_canonical(&mbytes) {
        Ok(m) => m,
        Err(e) => {
            report.fail(Verdict::Malformed, "manifest", mloc, e.to_string());
            return Ok(None);
        }
    };
    if signer.is_some_and(|id| id != manifest.producer_key_id) {
        report.fail(
            Verdict::Tampered,
            "producer",
            mloc,
            "manifest names a producer key other than the one that signed it",
        );
    }
    Ok(Some(manifest))
}

struct Ctx<'a> {
    keys: &'a KeyRing,
    manifest: &'a Manifest,
    report: &'a mut Report,
    /// Contents of every file except entries.jsonl, checked against the manifest.
    small: BTreeMap<FileName, Vec<u8>>,
    progress: Option<&'a dyn Fn(Progress)>,
    in_memory: bool,
    /// Entry lines checked in the tenants before this one.
    done: u64,
}

/// What the package-level checks note of a tenant's entry lines.
#[derive(Default)]
struct TenantPass {
    /// Lines read.
    count: u64,
    /// Seq of the last well-formed entry.
    last: Option<Seq>,
    /// The first well-formed entry: seq, epoch, kind, where.
    first: Option<(Seq, Epoch, EntryKind, Location)>,
    /// The well-formed entries, kept only when a compliance report is
    /// embedded for this tenant and must be recomputed (SPEC §11.3.4).
    kept: Option<Vec<Entry>>,
}

impl TenantPass {
    fn see(&mut self, loc: &Location, r: &Result<Entry, EntryError>) {
        self.count += 1;
        if let Ok(e) = r {
            self.last = Some(e.seq());
            if self.first.is_none() {
                self.first = Some((e.seq(), e.epoch(), e.kind(), loc.clone()));
            }
            if let Some(kept) = self.kept.as_mut() {
                kept.push(e.clone());
            }
        }
    }

    /// A fresh pass; `keep` keeps the entries for report recomputation.
    fn new(keep: bool) -> TenantPass {
        TenantPass {
            kept: keep.then(Vec::new),
            ..TenantPass::default()
        }
    }
}

impl Ctx<'_> {
    /// Every file listed, every file present listed; hash and size of all
    /// but entries files (streamed later).
    fn check_files<R: Read + Seek>(
        &mut self,
        archive: &mut Archive<R>,
    ) -> Result<(), PackageError> {
        let listed: BTreeMap<&str, (Hash32, u64)> = self
            .manifest
            .files
            .iter()
            .map(|f| (f.name.as_str(), (f.sha256, f.size)))
            .collect();
        let sorted = self.manifest.files.windows(2).all(|w| match w {
            [a, b] => a.name < b.name,
            _ => true,
        });
        if !sorted || listed.len() != self.manifest.files.len() {
            self.report.fail(
                Verdict::Malformed,
                "manifest",
                at_file(super::MANIFEST),
                "files are not listed once each in name order",
            );
        }
        let present: BTreeSet<&str> = archive.files.iter().map(|f| f.name.as_str()).collect();
        for name in listed.keys() {
            if !present.contains(name) {
                self.report.fail(
                    Verdict::Tampered,
                    "file_missing",
                    at_file(name),
                    "listed in the manifest but not in the package",
                );
            }
        }
        let kind = self.manifest.kind;
        for i in 0..archive.files.len() {
            let Some(zf) = archive.files.get(i).cloned() else {
                continue;
            };
            let allowed = match (&zf.parsed, kind) {
                (FileName::Manifest | FileName::ManifestSig, _) => continue,
                (FileName::Readme | FileName::ProducerKey, _) => true,
                (
                    FileName::Entries(..) | FileName::Checkpoint(..) | FileName::Consistency(..),
                    PackageKind::Log,
                ) => true,
                (FileName::Receipt(..) | FileName::ReceiptProof(..), PackageKind::Disclosure) => {
                    true
                }
                (FileName::Crosswalk | FileName::Report(..), PackageKind::Log) => true,
                _ => false,
            };
            let loc = at_file(&zf.name);
            if !allowed {
                self.report.fail(
                    Verdict::Malformed,
                    "name",
                    loc,
                    "file does not belong in this kind of package",
                );
                continue;
            }
            let Some((sha, size)) = listed.get(zf.name.as_str()).copied() else {
                self.report.fail(
                    Verdict::Tampered,
                    "file_unlisted",
                    loc,
                    "file is in the package but not in the signed manifest",
                );
                continue;
            };
            if zf.size != size {
                self.report.fail(
                    Verdict::Tampered,
                    "file_size",
                    loc,
                    format!("{} bytes, the manifest says {size}", zf.size),
                );
                continue;
            }
            if matches!(zf.parsed, FileName::Entries(..)) {
                continue;
            }
            match read_all(archive, i, zf.size)? {
                Ok((bytes, h)) if h == sha => {
                    self.report.pass();
                    self.small.insert(zf.parsed.clone(), bytes);
                }
                Ok(_) => self.report.fail(
                    Verdict::Tampered,
                    "file_hash",
                    loc,
                    "content does not match its SHA-256 in the manifest",
                ),
                Err(d) => self.report.fail(Verdict::Malformed, "file", loc, d),
            }
        }
        Ok(())
    }

    fn check_log<R: Read + Seek>(&mut self, archive: &mut Archive<R>) {
        // Entries files by tenant, in epoch order.
        let mut tenants: BTreeMap<TenantId, Vec<(Epoch, usize)>> = BTreeMap::new();
        for (i, f) in archive.files.iter().enumerate() {
            if let FileName::Entries(t, e) = &f.parsed {
                tenants.entry(t.clone()).or_default().push((*e, i));
            }
        }
        for rec in &self.manifest.tenants {
            if !tenants.contains_key(&rec.tenant) {
                self.report.fail(
                    Verdict::Truncated,
                    "tenant",
                    Location {
                        tenant: Some(rec.tenant.clone()),
                        ..Location::default()
                    },
                    "the manifest lists this tenant but the package has no entries for it",
                );
            }
        }
        let with_entries: Vec<&TenantId> = tenants.keys().collect();
        super::reports::check_orphans(self.report, &self.small, &with_entries);
        for (tenant, mut files) in tenants {
            files.sort();
            self.check_tenant(archive, &tenant, &files);
        }
    }

    fn check_tenant<R: Read + Seek>(
        &mut self,
        archive: &mut Archive<R>,
        tenant: &TenantId,
        files: &[(Epoch, usize)],
    ) {
        let tloc = Location {
            tenant: Some(tenant.clone()),
            ..Location::default()
        };
        let Some(rec) = self.manifest.tenants.iter().find(|r| &r.tenant == tenant) else {
            self.report.fail(
                Verdict::Tampered,
                "tenant",
                tloc,
                "the package holds entries of a tenant its manifest does not list",
            );
            return;
        };
        // Checkpoint notes of this tenant.
        let mut notes = Vec::new();
        let mut heads: Vec<Head> = Vec::new();
        for (name, bytes) in &self.small {
            if let FileName::Checkpoint(t, e, _) = name {
                if t == tenant {
                    notes.push(NoteInput {
                        location: at_file(&name.to_string()),
                        note: bytes.clone(),
                    });
                    // Signatures are checked by verify_segment on these same bytes.
                    if let Some(cp) = std::str::from_utf8(bytes).ok().and_then(|s| {
                        SignedCheckpoint::dangerous_from_stored_unverified(s.to_owned()).ok()
                    }) {
                        heads.push(Head::of(*e, cp.checkpoint()));
                    }
                }
            }
        }
        heads.sort_by_key(|h| (h.epoch, h.size));
        let mut listed = rec.checkpoints.clone();
        listed.sort_by_key(|h| (h.epoch, h.size));
        if heads != listed {
            self.report.fail(
                Verdict::Tampered,
                "manifest_heads",
                tloc.clone(),
                "the checkpoints in the package are not the heads the manifest lists",
            );
        }
        let epochs: Vec<Epoch> = files.iter().map(|(e, _)| *e).collect();
        if epochs != rec.epochs {
            self.report.fail(
                Verdict::Tampered,
                "manifest_epochs",
                tloc.clone(),
                "the epochs in the package are not the ones the manifest lists",
            );
        }
        let opts = ChainOptions {
            log: Some(self.manifest.log.clone()),
            tenant: Some(tenant.clone()),
            anchor: if rec.first_seq == Seq(0) {
                Anchor::Genesis
            } else {
                Anchor::After {
                    seq: rec.first_seq,
                    prev: rec.first_prev,
                }
            },
            require_signatures: false,
            end: None,
        };
        let listed: BTreeMap<&str, Hash32> = self
            .manifest
            .files
            .iter()
            .map(|f| (f.name.as_str(), f.sha256))
            .collect();
        // Kept only when a report is embedded for this tenant, to recompute it.
        let keep = super::reports::has_reports(&self.small, tenant);
        let mut pass = TenantPass::new(keep);
        let problems: RefCell<Vec<Problem>> = RefCell::new(Vec::new());
        // The streaming verifier first; when the entries are not in the
        // regular shape it handles, the in-memory one from the start (same
        // report either way).
        let streamed = if self.in_memory {
            Err(Irregular("in-memory verification asked for"))
        } else {
            let mut stream = SegmentStream::new(self.keys, &notes, &opts);
            let mut lines = RawLines::new(archive, files.to_vec(), &problems, &listed);
            let base = self.done;
            let total = self.manifest.entries;
            let progress = self.progress;
            let mut on_progress = |n: u64| {
                if let Some(p) = progress {
                    p(Progress {
                        entries_done: base + n,
                        entries_total: total,
                    });
                }
            };
            pipeline::run(
                &mut |buf| lines.next_into(buf),
                &mut stream,
                &mut |loc, r| pass.see(loc, r),
                &mut on_progress,
            )
            .and_then(|()| stream.finish(&notes))
        };
        let mut seg = match streamed {
            Ok(r) => r,
            Err(_irregular) => {
                pass = TenantPass::new(keep);
                problems.borrow_mut().clear();
                let (base, total, progress) = (self.done, self.manifest.entries, self.progress);
                let items = RawLines::new(archive, files.to_vec(), &problems, &listed)
                    .map(|(loc, l)| {
                        let e = Entry::from_line(&l);
                        (loc, e)
                    })
                    .inspect(|(loc, r)| {
                        pass.see(loc, r);
                        if let Some(p) = progress.filter(|_| pass.count.is_multiple_of(256)) {
                            p(Progress {
                                entries_done: base + pass.count,
                                entries_total: total,
                            });
                        }
                    });
                verify_segment(items, &notes, self.keys, &opts)
            }
        };
        self.done += pass.count;
        let TenantPass {
            count,
            last,
            first,
            kept,
        } = pass;
        for (v, check, loc, detail) in problems.into_inner() {
            seg.fail(v, check, loc, detail);
        }
        // Epochs are exported whole: the first entry is seq 0 or opens an
        // epoch with its epoch_link. Otherwise entries are missing at the head.
        if let Some((seq, epoch, kind, loc)) = first {
            if seq != Seq(0) && kind != EntryKind::EpochLink {
                seg.fail(
                    Verdict::Truncated,
                    "head",
                    Location {
                        tenant: Some(tenant.clone()),
                        epoch: Some(epoch),
                        seq: Some(seq),
                        ..loc
                    },
                    format!("the package starts at seq {seq}, which neither is seq 0 nor opens an epoch: entries are missing at the head"),
                );
            }
        }
        explain_truncation(&mut seg);
        explain_unknown_keys(&mut seg);
        if count != rec.entries || last != Some(rec.last_seq) {
            seg.fail(
                Verdict::Tampered,
                "manifest_counts",
                tloc.clone(),
                format!(
                    "the package holds {count} entries ending at seq {}, the manifest says {} ending at seq {}",
                    last.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                    rec.entries,
                    rec.last_seq
                ),
            );
        }
        if let Some(kept) = kept {
            let n = notes.len() as u64;
            super::reports::check(&mut seg, &self.small, tenant, kept, n, &opts);
        }
        merge(self.report, seg);
        self.check_consistency(tenant, &heads);
    }

    /// A consistency proof between each consecutive pair of checkpoints of
    /// an epoch, and no other proof files.
    fn check_consistency(&mut self, tenant: &TenantId, heads: &[Head]) {
        let mut expected = BTreeSet::new();
        for w in heads.windows(2) {
            let [a, b] = w else { continue };
            if a.epoch != b.epoch || a.size.0 == 0 {
                continue;
            }
            let name = FileName::Consistency(tenant.clone(), a.epoch, a.size, b.size);
            let loc = Location {
                tenant: Some(tenant.clone()),
                epoch: Some(a.epoch),
                ..at_file(&name.to_string())
            };
            expected.insert(name.clone());
            let Some(bytes) = self.small.get(&name) else {
                self.report.fail(
                    Verdict::Tampered,
                    "consistency_proof",
                    loc,
                    format!("no consistency proof from size {} to {}", a.size, b.size),
                );
                continue;
            };
            match decode_canonical::<ConsistencyProof>(bytes) {
                Ok(p) if p.old_size == a.size && p.new_size == b.size => {
                    match p.verify(&a.root, &b.root) {
                        Ok(()) => self.report.pass(),
                        Err(e) => self.report.fail(
                            Verdict::Tampered,
                            "consistency_proof",
                            loc,
                            format!(
                                "does not prove checkpoint {} extends {}: {e}",
                                b.size, a.size
                            ),
                        ),
                    }
                }
                Ok(_) => self.report.fail(
                    Verdict::Tampered,
                    "consistency_proof",
                    loc,
                    "sizes in the proof are not the sizes in its name",
                ),
                Err(e) => {
                    self.report
                        .fail(Verdict::Malformed, "consistency_proof", loc, e.to_string())
                }
            }
        }
        let strays: Vec<String> = self
            .small
            .keys()
            .filter(|n| matches!(n, FileName::Consistency(t, ..) if t == tenant))
            .filter(|n| !expected.contains(*n))
            .map(ToString::to_string)
            .collect();
        for s in strays {
            self.report.fail(
                Verdict::Tampered,
                "consistency_proof",
                at_file(&s),
                "proof between checkpoints that are not consecutive in the package",
            );
        }
    }

    fn check_disclosure(&mut self) {
        let receipts: Vec<(TenantId, Seq)> = self
            .small
            .keys()
            .filter_map(|n| match n {
                FileName::Receipt(t, s) => Some((t.clone(), *s)),
                _ => None,
            })
            .collect();
        let proofs: Vec<(TenantId, Seq)> = self
            .small
            .keys()
            .filter_map(|n| match n {
                FileName::ReceiptProof(t, s) => Some((t.clone(), *s)),
                _ => None,
            })
            .collect();
        for (t, s) in proofs.iter().filter(|p| !receipts.contains(p)) {
            self.report.fail(
                Verdict::Tampered,
                "disclosure",
                at_file(&FileName::ReceiptProof(t.clone(), *s).to_string()),
                "proof without its receipt",
            );
        }
        let total = receipts.len() as u64;
        let listed: u64 = self.manifest.tenants.iter().map(|t| t.entries).sum();
        if total != listed || self.manifest.entries != listed {
            self.report.fail(
                Verdict::Tampered,
                "manifest_counts",
                at_file(super::MANIFEST),
                format!("the package holds {total} receipts, the manifest says {listed}"),
            );
        }
        for (tenant, seq) in receipts {
            self.check_receipt(&tenant, seq);
        }
    }

    fn check_receipt(&mut self, tenant: &TenantId, seq: Seq) {
        let rname = FileName::Receipt(tenant.clone(), seq);
        let pname = FileName::ReceiptProof(tenant.clone(), seq);
        let loc = Location {
            tenant: Some(tenant.clone()),
            seq: Some(seq),
            ..at_file(&rname.to_string())
        };
        let Some(bytes) = self.small.get(&rname) else {
            return;
        };
        let Some(line) = bytes.strip_suffix(b"\n").filter(|l| !l.contains(&b'\n')) else {
            self.report.fail(
                Verdict::Malformed,
                "encoding",
                loc,
                "a receipt file holds exactly one line ending in a newline",
            );
            return;
        };
        let parsed = Entry::from_line(line);
        if let Ok(e) = &parsed {
            if e.seq() != seq || e.tenant() != tenant {
                self.report.fail(
                    Verdict::Tampered,
                    "disclosure",
                    loc.clone(),
                    format!("file holds seq {} of tenant {}", e.seq(), e.tenant()),
                );
            }
        }
        let item: Item = (
            Location {
                line: Some(1),
                ..loc.clone()
            },
            parsed,
        );
        let opts = ChainOptions {
            log: Some(self.manifest.log.clone()),
            tenant: Some(tenant.clone()),
            anchor: Anchor::Anywhere,
            require_signatures: false,
            end: None,
        };
        let r = verify_chain([item], self.keys, &opts);
        let ok = r.is_verified();
        merge(self.report, r);
        let Ok(entry) = Entry::from_line(line) else {
            return;
        };
        if !ok {
            return;
        }
        let ploc = Location {
            file: Some(pname.to_string().into()),
            line: None,
            epoch: Some(entry.epoch()),
            ..loc
        };
        let Some(pbytes) = self.small.get(&pname) else {
            self.report.fail(
                Verdict::Tampered,
                "disclosure",
                ploc,
                "receipt without its tlog-proof",
            );
            return;
        };
        let expected = origin(&self.manifest.log, tenant, entry.epoch());
        let result = InclusionProofFile::parse(pbytes)
            .and_then(|p| p.verify(ProofLeaf::EntryHash(*entry.hash()), &expected, self.keys));
        match result {
            Ok((cp, _)) => {
                self.report.pass();
                let head = Head::of(entry.epoch(), &cp);
                if !self
                    .manifest
                    .tenants
                    .iter()
                    .any(|t| &t.tenant == tenant && t.checkpoints.contains(&head))
                {
                    self.report.fail(
                        Verdict::Tampered,
                        "manifest_heads",
                        ploc,
                        "the proof's checkpoint is not a head the manifest lists",
                    );
                }
            }
            Err(e) => {
                let (v, check) = match &e {
                    CheckpointError::Note(NoteError::UnknownKey { .. }) => {
                        (Verdict::UnknownKey, "checkpoint_signature")
                    }
                    CheckpointError::Note(NoteError::BadSignature { .. }) => {
                        (Verdict::Tampered, "checkpoint_signature")
                    }
                    CheckpointError::OriginMismatch { .. } => {
                        (Verdict::Tampered, "checkpoint_origin")
                    }
                    CheckpointError::Inclusion(_) => (Verdict::Tampered, "inclusion"),
                    _ => (Verdict::Malformed, "tlog_proof"),
                };
                let detail = match &e {
                    CheckpointError::Note(n) => n.to_string(),
                    CheckpointError::Inclusion(m) => {
                        format!("inclusion proof does not verify: {m}")
                    }
                    other => other.to_string(),
                };
                self.report.fail(v, check, ploc, detail);
            }
        }
    }
}

/// A checkpoint of an epoch whose head is missing cannot match its
/// entries: its root mismatch is a consequence of the truncation, so it is
/// reported as `truncated` (detail kept) rather than `tampered`.
fn explain_truncation(report: &mut Report) {
    let truncated: BTreeSet<Option<Epoch>> = report
        .failures
        .iter()
        .filter(|f| f.verdict == Verdict::Truncated && f.check == "head")
        .map(|f| f.location.epoch)
        .collect();
    for f in &mut report.failures {
        if f.check == "checkpoint_root" && truncated.contains(&f.location.epoch) {
            f.verdict = Verdict::Truncated;
            f.detail
                .push_str(" (entries are missing at the head of this epoch)");
        }
        // The next epoch's link binds the whole previous epoch.
        let prev = f.location.epoch.and_then(|e| e.0.checked_sub(1)).map(Epoch);
        if f.check == "epoch_link" && prev.is_some() && truncated.contains(&prev) {
            f.verdict = Verdict::Truncated;
            f.detail
                .push_str(" (entries are missing at the head of the previous epoch)");
        }
    }
}

/// When no checkpoint of an epoch is signed by a pinned key, the entries
/// of that epoch cannot be shown sealed and the next epoch's link cannot be
/// bound: those consequences are reported as `unknown_key` (detail kept),
/// so the verdict names the cause.
pub(crate) fn explain_unknown_keys(report: &mut Report) {
    let epoch_of =
        |f: &crate::report::Finding| match f.location.file.as_deref().and_then(FileName::parse) {
            Some(FileName::Checkpoint(_, e, _)) => Some(e),
            _ => f.location.epoch,
        };
    let unknown: BTreeSet<Epoch> = report
        .failures
        .iter()
        .filter(|f| f.verdict == Verdict::UnknownKey && f.check == "checkpoint_signature")
        .filter_map(epoch_of)
        .collect();
    let note = " (no checkpoint of this epoch is signed by a pinned key)";
    for f in &mut report.failures {
        let Some(e) = f.location.epoch else { continue };
        let caused = match f.check.as_str() {
            "epoch_sealed" | "coverage" => unknown.contains(&e),
            "epoch_link" => {
                e.0 > 0
                    && unknown.contains(&Epoch(e.0 - 1))
                    && f.detail == "binds no verified checkpoint note of the previous epoch"
            }
            _ => false,
        };
        if caused {
            f.verdict = Verdict::UnknownKey;
            f.detail.push_str(note);
        }
    }
}

fn merge(into: &mut Report, from: Report) {
    into.failures.extend(from.failures);
    into.warnings.extend(from.warnings);
    into.entries_checked += from.entries_checked;
    into.checks_passed += from.checks_passed;
}
