//! Verification of a log segment: a tenant's entries together with its
//! signed checkpoints, across epochs (SPEC §7.6).
//!
//! On top of [`crate::chain`] it checks: every checkpoint's signature against
//! pinned keys (plus keys introduced by verified rotation entries), its
//! origin, that its tree size does not exceed the entries present (so a
//! dropped tail is detected), that its root is the RFC 6962 root of the
//! first `size` entries of its epoch (inclusion of every covered entry), that
//! checkpoints of one origin are mutually consistent (else: a fork, with both
//! notes), that unsigned (batch-sealed) entries are covered by a checkpoint,
//! that closed epochs are fully sealed, and that every epoch after the first
//! opens with an `epoch_link` entry binding the previous epoch's final
//! checkpoint.

use std::collections::{BTreeMap, BTreeSet};

use crate::body::{Body, EntryKind};
use crate::chain::{verify_chain_detailed, ChainOptions, Item};
use crate::checkpoint::{
    note_hash, origin, parse_origin, Checkpoint, CheckpointError, SignedCheckpoint,
};
use crate::entry::Entry;
use crate::hash::Hash32;
use crate::id::{Epoch, Seq};
use crate::keys::KeyRing;
use crate::merkle::{empty_root, leaf_hash, node_hash, MerkleTree, TreeSize};
use crate::note::NoteError;
use crate::report::{Location, Report, Verdict};

mod stream;
pub(crate) use stream::{Irregular, SegmentStream};

/// One signed checkpoint note given to [`verify_segment`], with where it came from.
#[derive(Clone, Debug)]
pub struct NoteInput {
    /// Where it was read (file, line …).
    pub location: Location,
    /// The full signed note bytes.
    pub note: Vec<u8>,
}

struct OpenedCheckpoint {
    cp: Checkpoint,
    epoch: Epoch,
    note_hash: Hash32,
    location: Location,
}

/// Verifies a tenant's entries (in stored order) and its checkpoint notes.
///
/// `opts.require_signatures` is ignored: entries without a signature are
/// accepted only when a verified checkpoint covers them.
///
/// This holds every entry in memory; evidence packages are verified by a
/// streaming twin of it that gives the same report in bounded memory
/// ([`crate::verify_package`], SPEC §8.9).
pub fn verify_segment(
    items: impl IntoIterator<Item = Item>,
    notes: &[NoteInput],
    keys: &KeyRing,
    opts: &ChainOptions,
) -> Report {
    let chain_opts = ChainOptions {
        require_signatures: false,
        ..opts.clone()
    };
    let outcome = verify_chain_detailed(items, keys, &chain_opts);
    let mut report = outcome.report;
    let entries = outcome.entries;
    let (Some(first), Some(_)) = (entries.first(), entries.last()) else {
        return report;
    };
    let log = opts
        .log
        .clone()
        .unwrap_or_else(|| first.header().log.clone());
    let tenant = opts
        .tenant
        .clone()
        .unwrap_or_else(|| first.tenant().clone());

    // Entries per epoch, in seq order, and each epoch's tree.
    let mut epochs: BTreeMap<Epoch, EpochView> = BTreeMap::new();
    for e in &entries {
        epochs
            .entry(e.epoch())
            .or_insert_with(|| EpochView::new(e.clone(), Roots::Tree(MerkleTree::new())))
            .push(e.seq(), leaf_hash(&e.hash().0), e.signature().is_some());
    }
    // A tree holds every leaf: no root is ever missing.
    let _complete = check_epochs(&mut report, &epochs, notes, &outcome.keys, &log, &tenant);
    report
}

/// A run of consecutive seqs of one epoch, all signed or all unsigned.
#[derive(Clone, Copy, Debug)]
struct Run {
    start: u64,
    len: u64,
    signed: bool,
}

/// How an epoch's checkpoint roots are found.
enum Roots {
    /// Every leaf (the in-memory verifier).
    Tree(MerkleTree),
    /// The right edge of the tree (one hash per level) plus the roots at
    /// the sizes the checkpoints claim, taken while streaming.
    Frontier {
        levels: Vec<Option<Hash32>>,
        wanted: BTreeSet<u64>,
        at: BTreeMap<u64, Hash32>,
    },
}

/// What the checkpoint and epoch checks need of one epoch's entries.
struct EpochView {
    /// The first entry (an `epoch_link` after epoch 0).
    first: Entry,
    count: u64,
    runs: Vec<Run>,
    roots: Roots,
}

impl EpochView {
    fn new(first: Entry, roots: Roots) -> EpochView {
        EpochView {
            first,
            count: 0,
            runs: Vec::new(),
            roots,
        }
    }

    fn push(&mut self, seq: Seq, leaf: Hash32, signed: bool) {
        self.count += 1;
        match self.runs.last_mut() {
            Some(r) if r.signed == signed && r.start + r.len == seq.0 => r.len += 1,
            _ => self.runs.push(Run {
                start: seq.0,
                len: 1,
                signed,
            }),
        }
        match &mut self.roots {
            Roots::Tree(t) => {
                t.push(leaf);
            }
            Roots::Frontier { levels, wanted, at } => {
                let mut carry = leaf;
                let mut placed = false;
                for slot in levels.iter_mut() {
                    match slot.take() {
                        Some(left) => carry = node_hash(&left, &carry),
                        None => {
                            *slot = Some(carry);
                            placed = true;
                            break;
                        }
                    }
                }
                if !placed {
                    levels.push(Some(carry));
                }
                if wanted.contains(&self.count) {
                    at.insert(self.count, frontier_root(levels));
                }
            }
        }
    }

    /// The root of the first `size` entries (`size` ≤ the count);
    /// `Err` when a streaming view did not keep it.
    fn root_at(&self, size: u64) -> Result<Option<Hash32>, Irregular> {
        match &self.roots {
            Roots::Tree(t) => Ok(t.root_at(TreeSize(size)).ok()),
            Roots::Frontier { levels, at, .. } => {
                if size == 0 {
                    Ok(Some(empty_root()))
                } else if size == self.count {
                    Ok(Some(frontier_root(levels)))
                } else {
                    at.get(&size)
                        .map(|h| Some(*h))
                        .ok_or(Irregular("checkpoint size not seen while streaming"))
                }
            }
        }
    }

    fn root(&self) -> Hash32 {
        match &self.roots {
            Roots::Tree(t) => t.root(),
            Roots::Frontier { levels, .. } => frontier_root(levels),
        }
    }

    /// Seqs and signed flags of the entries after the first `skip`.
    fn after(&self, skip: u64) -> impl Iterator<Item = (Seq, bool)> + '_ {
        self.runs
            .iter()
            .flat_map(|r| (r.start..r.start + r.len).map(move |s| (Seq(s), r.signed)))
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
    }
}

/// `MTH` of the leaves a frontier stands for: the complete subtrees of the
/// right edge folded from the smallest (RFC 6962 §2.1).
fn frontier_root(levels: &[Option<Hash32>]) -> Hash32 {
    let mut acc: Option<Hash32> = None;
    for piece in levels.iter().flatten() {
        acc = Some(match acc {
            None => *piece,
            Some(right) => node_hash(piece, &right),
        });
    }
    acc.unwrap_or_else(empty_root)
}

/// The checks of SPEC §7.6 on top of the chain: checkpoints (signature,
/// origin, size, root, forks), coverage and sealing, epoch links.
fn check_epochs(
    report: &mut Report,
    epochs: &BTreeMap<Epoch, EpochView>,
    notes: &[NoteInput],
    keys: &KeyRing,
    log: &crate::id::LogName,
    tenant: &crate::id::TenantId,
) -> Result<(), Irregular> {
    // Open every note.
    let mut opened: Vec<OpenedCheckpoint> = Vec::new();
    for n in notes {
        match SignedCheckpoint::open(&n.note, keys) {
            Ok((cp, _verified)) => match parse_origin(cp.origin()) {
                Ok((l, t, ep)) if &l == log && &t == tenant => {
                    report.pass();
                    opened.push(OpenedCheckpoint {
                        epoch: ep,
                        note_hash: note_hash(&n.note),
                        cp,
                        location: Location {
                            tenant: Some(tenant.clone()),
                            epoch: Some(ep),
                            ..n.location.clone()
                        },
                    });
                }
                Ok(_) => report.fail(
                    Verdict::Tampered,
                    "checkpoint_origin",
                    n.location.clone(),
                    format!(
                        "checkpoint origin {:?} is not this log and tenant",
                        cp.origin()
                    ),
                ),
                Err(e) => report.fail(
                    Verdict::Malformed,
                    "checkpoint_origin",
                    n.location.clone(),
                    e.to_string(),
                ),
            },
            Err(CheckpointError::Note(NoteError::UnknownKey { names_and_ids })) => {
                let who: Vec<String> = names_and_ids
                    .iter()
                    .map(|(name, id)| format!("{name} ({id})"))
                    .collect();
                report.fail(
                    Verdict::UnknownKey,
                    "checkpoint_signature",
                    n.location.clone(),
                    format!(
                        "checkpoint signed only by keys that are not pinned: {}",
                        who.join(", ")
                    ),
                );
            }
            Err(CheckpointError::Note(e @ NoteError::BadSignature { .. })) => {
                report.fail(
                    Verdict::Tampered,
                    "checkpoint_signature",
                    n.location.clone(),
                    e.to_string(),
                );
            }
            Err(e) => report.fail(
                Verdict::Malformed,
                "checkpoint",
                n.location.clone(),
                e.to_string(),
            ),
        }
    }
    opened.sort_by_key(|c| (c.epoch, c.cp.size()));

    // Each checkpoint against the entries of its epoch.
    let mut coverage: BTreeMap<Epoch, u64> = BTreeMap::new();
    let mut matching: Vec<bool> = Vec::with_capacity(opened.len());
    for c in &opened {
        let present = epochs.get(&c.epoch).map_or(0, |v| v.count);
        let start = epochs.get(&c.epoch).map(|v| v.first.seq());
        let size = c.cp.size().0;
        if size > present {
            let seq = start.map(|s| Seq(s.0 + present));
            report.fail(
                Verdict::Truncated,
                "checkpoint_size",
                Location { seq, ..c.location.clone() },
                format!("checkpoint covers {size} entries of epoch {} but only {present} are present: entries are missing at the tail", c.epoch),
            );
            matching.push(false);
            continue;
        }
        let root = match epochs.get(&c.epoch) {
            Some(v) => v.root_at(size)?,
            None => None,
        };
        if root.as_ref() == Some(c.cp.root()) {
            report.pass();
            let cov = coverage.entry(c.epoch).or_default();
            *cov = (*cov).max(size);
            matching.push(true);
        } else {
            matching.push(false);
        }
    }
    // Mismatching roots: a fork when another checkpoint of the same epoch
    // matches the entries at the same or a larger size (the log showed two
    // inconsistent histories), otherwise tampered entries or checkpoint.
    for (i, c) in opened.iter().enumerate() {
        if matching.get(i) != Some(&false)
            || c.cp.size().0 > epochs.get(&c.epoch).map_or(0, |v| v.count)
        {
            continue;
        }
        let other = opened.iter().enumerate().find(|(j, o)| {
            matching.get(*j) == Some(&true) && o.epoch == c.epoch && o.cp.size() >= c.cp.size()
        });
        match other {
            Some((_, o)) => report.fail(
                Verdict::Forked,
                "checkpoint_consistency",
                c.location.clone(),
                format!(
                    "checkpoint (size {}, root {}) is not consistent with checkpoint (size {}, root {}) at {}: two histories of {}",
                    c.cp.size(),
                    c.cp.root(),
                    o.cp.size(),
                    o.cp.root(),
                    o.location,
                    c.cp.origin()
                ),
            ),
            None => report.fail(
                Verdict::Tampered,
                "checkpoint_root",
                c.location.clone(),
                format!("the entries of epoch {} do not hash to the checkpoint root at size {}", c.epoch, c.cp.size()),
            ),
        }
    }

    // Coverage of unsigned entries, and sealing of closed epochs.
    let last_epoch = epochs.keys().next_back().copied();
    for (ep, es) in epochs {
        let cov = coverage.get(ep).copied().unwrap_or(0);
        for (seq, signed) in es.after(cov) {
            let loc = Location {
                tenant: Some(tenant.clone()),
                epoch: Some(*ep),
                seq: Some(seq),
                ..Location::default()
            };
            if !signed {
                report.fail(
                    Verdict::Tampered,
                    "coverage",
                    loc,
                    "entry has no signature and no verified checkpoint covers it",
                );
            } else if Some(*ep) != last_epoch {
                report.fail(
                    Verdict::Truncated,
                    "epoch_sealed",
                    loc,
                    format!("epoch {ep} is closed but its checkpoints do not cover this entry"),
                );
            } else {
                report.warn(
                    "coverage",
                    loc,
                    "signed entry not yet covered by a checkpoint",
                );
            }
        }
    }

    // Epoch links.
    let mut prev: Option<Epoch> = None;
    for (ep, es) in epochs {
        let first_entry = &es.first;
        let loc = Location {
            tenant: Some(tenant.clone()),
            epoch: Some(*ep),
            seq: Some(first_entry.seq()),
            ..Location::default()
        };
        if ep.0 == 0 {
            prev = Some(*ep);
            continue;
        }
        if prev.is_some_and(|p| p.0 + 1 != ep.0) {
            report.fail(
                Verdict::Missing,
                "epoch",
                loc.clone(),
                format!("epoch {} is missing before epoch {ep}", ep.0 - 1),
            );
        }
        match (first_entry.kind(), first_entry.body()) {
            (EntryKind::EpochLink, Ok(Body::EpochLink(link))) => {
                let prev_ep = Epoch(ep.0 - 1);
                let mut problems = Vec::new();
                if link.prev_epoch != prev_ep {
                    problems.push(format!(
                        "links epoch {} instead of {prev_ep}",
                        link.prev_epoch
                    ));
                }
                if link.origin != origin(log, tenant, prev_ep) {
                    problems.push("origin is not the previous epoch's".to_owned());
                }
                if let Some(prev_tree) = epochs.get(&prev_ep) {
                    if link.size.0 != prev_tree.count {
                        problems.push(format!(
                            "binds size {} but epoch {prev_ep} has {} entries",
                            link.size, prev_tree.count
                        ));
                    } else if link.root != prev_tree.root() {
                        problems.push("binds a root that is not the previous epoch's".to_owned());
                    }
                    let bound = opened.iter().any(|c| {
                        c.epoch == prev_ep
                            && c.note_hash == link.note_hash
                            && c.cp.size() == link.size
                            && c.cp.root() == &link.root
                    });
                    if !bound {
                        problems.push(
                            "binds no verified checkpoint note of the previous epoch".to_owned(),
                        );
                    }
                } else {
                    report.warn(
                        "epoch_link",
                        loc.clone(),
                        format!("epoch {prev_ep} not supplied; its link is taken as is"),
                    );
                }
                if problems.is_empty() {
                    report.pass();
                } else {
                    report.fail(Verdict::Tampered, "epoch_link", loc, problems.join("; "));
                }
            }
            _ => report.fail(
                Verdict::Tampered,
                "epoch_link",
                loc,
                format!("epoch {ep} does not open with an epoch_link entry"),
            ),
        }
        prev = Some(*ep);
    }
    Ok(())
}
