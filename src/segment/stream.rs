//! Streaming verification of a segment (SPEC §7.6) in bounded memory.
//!
//! [`SegmentStream`] takes a tenant's entries one at a time and gives the
//! same report as [`super::verify_segment`] while holding, per epoch, its
//! first entry, the right edge of its Merkle tree (one hash per level), the
//! roots at the sizes the checkpoints claim and runs of signed/unsigned
//! seqs; across the chain, the previous entry's link state and an 8-byte
//! fingerprint of every entry id (8 MB per million entries).
//!
//! It handles the regular case: seqs strictly increasing, epochs never
//! going back, entry ids distinct. Anything else (reordered, duplicated or
//! forked entries, a repeated id) makes it give up with [`Irregular`], and
//! the caller runs the in-memory verifier instead, so the report is the
//! same in every case.

use std::collections::{BTreeMap, BTreeSet};

use super::{check_epochs, EpochView, NoteInput, Roots};
use crate::chain::{
    apply_precheck, check_end, check_no_entries, check_start, check_step, precheck, ChainOptions,
    LinkPrev, Precheck, ShredState,
};
use crate::checkpoint::{parse_origin, SignedCheckpoint};
use crate::entry::{Entry, EntryError};
use crate::hash::Hash32;
use crate::id::{EntryId, Epoch, LogName, TenantId};
use crate::keys::KeyRing;
use crate::merkle::leaf_hash;
use crate::report::{Location, Report, Verdict};

/// The stream is not in the shape the streaming verifier handles; the
/// caller verifies it again in memory. The text says why (for tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Irregular(pub(crate) &'static str);

/// Streaming twin of [`super::verify_segment`].
pub(crate) struct SegmentStream {
    opts: ChainOptions,
    keys: KeyRing,
    log: Option<LogName>,
    tenant: Option<TenantId>,
    /// Per-entry findings (the chain loop's).
    entries: Report,
    /// Link findings, in seq order (reported after the per-entry ones).
    links: Report,
    /// Shred findings (warnings), in seq order (reported after the links).
    shreds: Report,
    shred_state: ShredState,
    prev: Option<LinkPrev>,
    last_loc: Option<Location>,
    at_end: Option<(Hash32, Location)>,
    ids: Vec<u64>,
    wanted: BTreeMap<Epoch, BTreeSet<u64>>,
    epochs: BTreeMap<Epoch, EpochView>,
}

fn fingerprint(id: EntryId) -> u64 {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&id.0[..8]);
    b.copy_from_slice(&id.0[8..]);
    u64::from_le_bytes(a) ^ u64::from_le_bytes(b)
}

impl SegmentStream {
    /// Starts a segment; `notes` are read (unverified) only to learn at
    /// which tree sizes to keep roots.
    pub(crate) fn new(keys: &KeyRing, notes: &[NoteInput], opts: &ChainOptions) -> SegmentStream {
        let mut wanted: BTreeMap<Epoch, BTreeSet<u64>> = BTreeMap::new();
        for n in notes {
            let Ok(text) = String::from_utf8(n.note.clone()) else {
                continue;
            };
            let Ok(cp) = SignedCheckpoint::dangerous_from_stored_unverified(text) else {
                continue;
            };
            if let Ok((_, _, ep)) = parse_origin(cp.checkpoint().origin()) {
                wanted
                    .entry(ep)
                    .or_default()
                    .insert(cp.checkpoint().size().0);
            }
        }
        SegmentStream {
            opts: ChainOptions {
                require_signatures: false,
                ..opts.clone()
            },
            keys: keys.clone(),
            log: opts.log.clone(),
            tenant: opts.tenant.clone(),
            entries: Report::default(),
            links: Report::default(),
            shreds: Report::default(),
            shred_state: ShredState::default(),
            prev: None,
            last_loc: None,
            at_end: None,
            ids: Vec::new(),
            wanted,
            epochs: BTreeMap::new(),
        }
    }

    /// The keys trusted so far (pinned plus verified rotations).
    pub(crate) fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Takes the next entry in stored order, with its [`Precheck`] when
    /// one was computed elsewhere (against a subset of [`Self::keys`]).
    ///
    /// # Errors
    /// [`Irregular`] when the stream leaves the regular shape.
    pub(crate) fn push(
        &mut self,
        loc: Location,
        parsed: Result<Entry, EntryError>,
        pre: Option<Precheck>,
    ) -> Result<(), Irregular> {
        self.entries.entries_checked += 1;
        let entry = match parsed {
            Ok(e) => e,
            Err(EntryError::UnsupportedVersion(v)) => {
                self.entries.fail(
                    Verdict::UnsupportedVersion,
                    "version",
                    loc,
                    format!("format version {v} is not supported"),
                );
                return Ok(());
            }
            Err(e) => {
                self.entries
                    .fail(Verdict::Malformed, "encoding", loc, e.to_string());
                return Ok(());
            }
        };
        let loc = Location {
            tenant: Some(entry.tenant().clone()),
            epoch: Some(entry.epoch()),
            seq: Some(entry.seq()),
            ..loc
        };
        let log_name = self.log.get_or_insert_with(|| entry.header().log.clone());
        if &entry.header().log != log_name {
            let detail = format!(
                "entry belongs to log {}, expected {}",
                entry.header().log,
                log_name
            );
            self.entries
                .fail(Verdict::Tampered, "log", loc.clone(), detail);
        }
        let tenant_id = self.tenant.get_or_insert_with(|| entry.tenant().clone());
        if entry.tenant() != tenant_id {
            let detail = format!(
                "entry belongs to tenant {}, expected {}",
                entry.tenant(),
                tenant_id
            );
            self.entries.fail(Verdict::Tampered, "tenant", loc, detail);
            return Ok(());
        }
        let pre = match pre {
            Some(p) => p,
            None => precheck(&entry, &self.keys),
        };
        apply_precheck(
            &entry,
            pre,
            &loc,
            &mut self.keys,
            &self.opts,
            &mut self.entries,
        );
        match &self.prev {
            Some(p) if entry.seq() <= p.seq => {
                return Err(Irregular("seqs do not increase"));
            }
            Some(p) if entry.epoch() < p.epoch => {
                return Err(Irregular("epochs go backwards"));
            }
            Some(p) => check_step(p, &entry, &loc, &mut self.links),
            None => check_start(
                &entry,
                &loc,
                self.log.as_ref(),
                self.tenant.as_ref(),
                &self.opts,
                &mut self.links,
            ),
        }
        self.shred_state.see(&entry, &loc, &mut self.shreds);
        self.ids.push(fingerprint(entry.id()));
        if self.opts.end.is_some_and(|(s, _)| s == entry.seq()) {
            self.at_end = Some((*entry.hash(), loc.clone()));
        }
        self.prev = Some(LinkPrev::of(&entry));
        let (seq, epoch) = (entry.seq(), entry.epoch());
        let leaf = leaf_hash(&entry.hash().0);
        let signed = entry.signature().is_some();
        match self.epochs.get_mut(&epoch) {
            Some(v) => v.push(seq, leaf, signed),
            None => {
                let wanted = self.wanted.get(&epoch).cloned().unwrap_or_default();
                let mut v = EpochView::new(
                    entry,
                    Roots::Frontier {
                        levels: Vec::new(),
                        wanted,
                        at: BTreeMap::new(),
                    },
                );
                v.push(seq, leaf, signed);
                self.epochs.insert(epoch, v);
            }
        }
        self.last_loc = Some(loc);
        Ok(())
    }

    /// The report, as [`super::verify_segment`] gives it.
    ///
    /// # Errors
    /// [`Irregular`] when two entries share an id (or an id fingerprint),
    /// or a checkpoint claims a size whose root was not kept.
    pub(crate) fn finish(mut self, notes: &[NoteInput]) -> Result<Report, Irregular> {
        self.ids.sort_unstable();
        if self.ids.windows(2).any(|w| w.first() == w.get(1)) {
            return Err(Irregular("entry ids repeat"));
        }
        let mut report = self.entries;
        match (&self.prev, &self.last_loc) {
            (Some(p), Some(last_loc)) => {
                let at_end = self.at_end.as_ref().map(|(h, l)| (*h, l));
                check_end(p.seq, last_loc, at_end, &self.opts, &mut self.links);
            }
            _ => check_no_entries(&self.opts, &mut self.links),
        }
        report.failures.append(&mut self.links.failures);
        report.warnings.append(&mut self.links.warnings);
        report.checks_passed += self.links.checks_passed;
        report.failures.append(&mut self.shreds.failures);
        report.warnings.append(&mut self.shreds.warnings);
        report.checks_passed += self.shreds.checks_passed;
        let Some(first) = self.epochs.values().next().map(|v| &v.first) else {
            return Ok(report);
        };
        let log = self
            .opts
            .log
            .clone()
            .unwrap_or_else(|| first.header().log.clone());
        let tenant = self
            .opts
            .tenant
            .clone()
            .unwrap_or_else(|| first.tenant().clone());
        check_epochs(&mut report, &self.epochs, notes, &self.keys, &log, &tenant)?;
        Ok(report)
    }
}
