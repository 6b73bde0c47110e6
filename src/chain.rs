//! Hash-chain verification (SPEC §6): follows `seq` and `prev` links, never
//! timestamps.
//!
//! Checks, per entry: well-formed canonical encoding, format version, body
//! schema, entry hash, signature against pinned keys (extended only by
//! verified `key_rotation` entries), log and tenant identity, unique ids;
//! across entries: order, gaps, duplicates, forks (two entries claiming one
//! seq), links (entry 0 to the genesis value), truncation at the head.
//! A clock that steps backwards is a warning only.

use std::collections::{BTreeMap, HashMap};

use crate::body::Body;
use crate::entry::{genesis, Entry, EntryError, LineHash};
use crate::hash::Hash32;
use crate::id::{EntryId, LogName, Seq, TenantId};
use crate::keys::{KeyError, KeyRing, VerifierKey};
use crate::report::{Location, Report, Verdict};

mod batch;
pub(crate) use batch::precheck_many;

/// Where verification of a chain segment starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// The segment must start at seq 0 and link to the genesis value.
    Genesis,
    /// The segment must start at `seq` with `prev` (a trusted earlier head).
    After {
        /// The first seq expected.
        seq: Seq,
        /// The hash the first entry must link to.
        prev: Hash32,
    },
    /// Start wherever the first entry is (a partial disclosure).
    Anywhere,
}

/// Options of [`verify_chain`].
#[derive(Clone, Debug)]
pub struct ChainOptions {
    /// The log name every entry must carry (default: the first entry's).
    pub log: Option<LogName>,
    /// The tenant every entry must carry (default: the first entry's).
    pub tenant: Option<TenantId>,
    /// Where the chain starts.
    pub anchor: Anchor,
    /// Require an Ed25519 signature on every entry. Turn off only when the
    /// caller separately checks that signed checkpoints cover every entry.
    pub require_signatures: bool,
    /// The last entry the chain must reach, if known from a trusted source
    /// (a signed checkpoint, an auditor's earlier copy): `(seq, hash)`.
    /// Without it, dropping entries at the tail cannot be detected.
    pub end: Option<(Seq, Hash32)>,
}

impl Default for ChainOptions {
    fn default() -> Self {
        ChainOptions {
            log: None,
            tenant: None,
            anchor: Anchor::Genesis,
            require_signatures: true,
            end: None,
        }
    }
}

/// One input item: its location (file/line) and the parse result.
pub type Item = (Location, Result<Entry, EntryError>);

/// Verifies a tenant's chain given in stored order.
pub fn verify_chain(
    items: impl IntoIterator<Item = Item>,
    keys: &KeyRing,
    opts: &ChainOptions,
) -> Report {
    verify_chain_detailed(items, keys, opts).report
}

/// What [`verify_chain_detailed`] returns besides the report.
#[derive(Debug)]
pub struct ChainOutcome {
    /// The report.
    pub report: Report,
    /// The pinned keys plus every key introduced by a verified rotation entry.
    pub keys: KeyRing,
    /// Well-formed entries of the expected tenant, by seq (the first one seen for each seq).
    pub entries: Vec<Entry>,
}

/// As [`verify_chain`], also returning the trusted keys and the entries, for
/// checks that build on the chain (checkpoints, epochs).
pub fn verify_chain_detailed(
    items: impl IntoIterator<Item = Item>,
    keys: &KeyRing,
    opts: &ChainOptions,
) -> ChainOutcome {
    let mut report = Report::default();
    let mut keys = keys.clone();
    let mut log = opts.log.clone();
    let mut tenant = opts.tenant.clone();
    // seq -> (entry, location) of the first entry seen at that seq.
    let mut by_seq: BTreeMap<Seq, (Entry, Location)> = BTreeMap::new();
    let mut ids: HashMap<EntryId, Seq> = HashMap::new();
    let mut last_seq: Option<Seq> = None;
    let mut reordered_reported = false;

    for (loc, parsed) in items {
        report.entries_checked += 1;
        let entry = match parsed {
            Ok(e) => e,
            Err(EntryError::UnsupportedVersion(v)) => {
                report.fail(
                    Verdict::UnsupportedVersion,
                    "version",
                    loc,
                    format!("format version {v} is not supported"),
                );
                continue;
            }
            Err(e) => {
                report.fail(Verdict::Malformed, "encoding", loc, e.to_string());
                continue;
            }
        };
        let loc = Location {
            tenant: Some(entry.tenant().clone()),
            epoch: Some(entry.epoch()),
            seq: Some(entry.seq()),
            ..loc
        };
        let log_name = log.get_or_insert_with(|| entry.header().log.clone());
        if &entry.header().log != log_name {
            report.fail(
                Verdict::Tampered,
                "log",
                loc.clone(),
                format!(
                    "entry belongs to log {}, expected {}",
                    entry.header().log,
                    log_name
                ),
            );
        }
        let tenant_id = tenant.get_or_insert_with(|| entry.tenant().clone());
        if entry.tenant() != tenant_id {
            report.fail(
                Verdict::Tampered,
                "tenant",
                loc.clone(),
                format!(
                    "entry belongs to tenant {}, expected {}",
                    entry.tenant(),
                    tenant_id
                ),
            );
            continue;
        }
        check_entry(&entry, &loc, &mut keys, opts, &mut report);

        // Order, duplicates, forks.
        if let Some(prev_seq) = last_seq {
            if entry.seq() <= prev_seq && !by_seq.contains_key(&entry.seq()) && !reordered_reported
            {
                report.fail(
                    Verdict::Reordered,
                    "order",
                    loc.clone(),
                    format!("seq {} stored after seq {}", entry.seq(), prev_seq),
                );
                reordered_reported = true;
            }
        }
        if let Some((first, first_loc)) = by_seq.get(&entry.seq()) {
            if first.hash() == entry.hash() && first == &entry {
                report.fail(
                    Verdict::Tampered,
                    "duplicate_entry",
                    loc.clone(),
                    format!("seq {} appears twice (first at {first_loc})", entry.seq()),
                );
            } else {
                report.fail(
                    Verdict::Forked,
                    "fork",
                    loc.clone(),
                    format!(
                        "two different entries claim seq {} (other at {first_loc})",
                        entry.seq()
                    ),
                );
            }
            continue;
        }
        if let Some(other) = ids.insert(entry.id(), entry.seq()) {
            report.fail(
                Verdict::Tampered,
                "duplicate_id",
                loc.clone(),
                format!("entry id {} also used at seq {other}", entry.id()),
            );
        }
        if last_seq.is_some_and(|p| entry.seq() > p) || last_seq.is_none() {
            last_seq = Some(entry.seq());
        }
        by_seq.insert(entry.seq(), (entry, loc));
    }

    check_links(&by_seq, log.as_ref(), tenant.as_ref(), opts, &mut report);
    check_shreds(&by_seq, &mut report);
    ChainOutcome {
        report,
        keys,
        entries: by_seq.into_values().map(|(e, _)| e).collect(),
    }
}

fn check_entry(
    entry: &Entry,
    loc: &Location,
    keys: &mut KeyRing,
    opts: &ChainOptions,
    report: &mut Report,
) {
    let pre = precheck(entry, keys);
    apply_precheck(entry, pre, loc, keys, opts, report);
}

/// The per-entry checks that need no chain state (hash, body schema,
/// signature against a snapshot of the trusted keys), computed apart from
/// [`apply_precheck`] so that they can run on other threads or in a batch
/// ([`crate::segment`]'s batch verifier).
#[derive(Debug)]
pub(crate) struct Precheck {
    pub(crate) hash: HashCheck,
    /// The outcome of strictly decoding the body, keeping only the key a
    /// `key_rotation` body introduces (a decision body read from its line
    /// is only checked, not built; any other body is dropped where it was
    /// decoded, on a worker thread); `None` when the hash did not match
    /// (the body is then not checked).
    pub(crate) body: Option<Result<Option<VerifierKey>, crate::encoding::EncodingError>>,
    pub(crate) sig: SigCheck,
}

/// The entry hash compared with the recomputed one.
#[derive(Debug)]
pub(crate) enum HashCheck {
    Match,
    Mismatch,
    Error(String),
}

/// What the precheck found of the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SigCheck {
    /// No signature on the entry.
    Absent,
    /// `verify_strict` (or the equivalent batch check) accepted it under a
    /// key of the snapshot: it verifies under the full key ring too.
    Verified,
    /// Not shown valid under the snapshot: [`apply_precheck`] decides with
    /// the keys trusted at this point of the chain.
    Unchecked,
}

/// Hash and body of `entry`; the signature is left [`SigCheck::Unchecked`]
/// (or [`SigCheck::Absent`]) for the caller to verify.
pub(crate) fn precheck_content(entry: &Entry) -> Precheck {
    precheck_content_hashed(entry, None)
}

/// [`precheck_content`], given the content hash when the entry was read
/// directly from its line ([`Entry::from_line_hashed`]); otherwise the hash
/// is computed.
pub(crate) fn precheck_content_hashed(entry: &Entry, line: Option<&LineHash>) -> Precheck {
    let sig = if entry.signature().is_some() {
        SigCheck::Unchecked
    } else {
        SigCheck::Absent
    };
    let computed = match line {
        Some(h) => Ok(h.hash()),
        None => entry.computed_hash(),
    };
    match computed {
        Ok(h) if &h == entry.hash() => Precheck {
            hash: HashCheck::Match,
            body: Some(match line {
                Some(l) => entry.check_body_of_line(l),
                None => entry.body().map(Body::into_new_key),
            }),
            sig,
        },
        Ok(_) => Precheck {
            hash: HashCheck::Mismatch,
            body: None,
            sig,
        },
        Err(e) => Precheck {
            hash: HashCheck::Error(e.to_string()),
            body: None,
            sig,
        },
    }
}

/// [`precheck_content`] plus one `verify_strict` per candidate key.
pub(crate) fn precheck(entry: &Entry, keys: &KeyRing) -> Precheck {
    let mut pre = precheck_content(entry);
    if matches!(pre.hash, HashCheck::Match)
        && pre.sig == SigCheck::Unchecked
        && keys
            .by_id(entry.key_id())
            .any(|k| entry.verify_signature(k).is_ok())
    {
        pre.sig = SigCheck::Verified;
    }
    pre
}

/// Records the outcome of a [`Precheck`] exactly as a sequential check
/// would: the same checks pass or fail, in the same order, and a verified
/// `key_rotation` entry extends `keys`.
pub(crate) fn apply_precheck(
    entry: &Entry,
    pre: Precheck,
    loc: &Location,
    keys: &mut KeyRing,
    opts: &ChainOptions,
    report: &mut Report,
) {
    match pre.hash {
        HashCheck::Match => report.pass(),
        HashCheck::Mismatch => {
            report.fail(
                Verdict::Tampered,
                "entry_hash",
                loc.clone(),
                "content does not match the entry hash",
            );
            return;
        }
        HashCheck::Error(e) => {
            report.fail(Verdict::Malformed, "entry_hash", loc.clone(), e);
            return;
        }
    }
    let body = match pre.body {
        Some(Ok(b)) => {
            report.pass();
            Some(b)
        }
        Some(Err(e)) => {
            report.fail(Verdict::Malformed, "body", loc.clone(), e.to_string());
            None
        }
        None => None,
    };
    let signed_ok = match (entry.signature(), pre.sig) {
        (None, _) if opts.require_signatures => {
            report.fail(
                Verdict::Tampered,
                "signature",
                loc.clone(),
                "entry carries no signature",
            );
            false
        }
        (None, _) => true,
        (Some(_), SigCheck::Verified) => {
            report.pass();
            true
        }
        (Some(_), _) => {
            let mut candidates = keys.by_id(entry.key_id()).peekable();
            if candidates.peek().is_none() {
                report.fail(
                    Verdict::UnknownKey,
                    "signature",
                    loc.clone(),
                    format!("signed by key id {}, which is not pinned", entry.key_id()),
                );
                false
            } else if candidates.any(|k| entry.verify_signature(k).is_ok()) {
                report.pass();
                true
            } else {
                report.fail(
                    Verdict::Tampered,
                    "signature",
                    loc.clone(),
                    format!(
                        "signature does not verify under pinned key id {}",
                        entry.key_id()
                    ),
                );
                false
            }
        }
    };
    // A verified rotation entry extends the trusted keys from here on.
    if let (true, Some(Some(new_key))) = (signed_ok && entry.signature().is_some(), body) {
        keys.add(new_key);
    }
}

/// Warns about fields sealed under a key after the chain's `shred`
/// tombstone for it (SPEC §4.5): the producer's claim and its later entries
/// disagree (e.g. a writer that still had the key cached). Not a failure:
/// nothing in the chain is altered. Bodies are decoded only after a shred.
fn check_shreds(by_seq: &BTreeMap<Seq, (Entry, Location)>, report: &mut Report) {
    let mut state = ShredState::default();
    for (entry, loc) in by_seq.values() {
        state.see(entry, loc, report);
    }
}

/// The shred tombstones seen so far in seq order, for [`check_shreds`] and
/// its streaming twin (bounded by the number of tombstones).
#[derive(Debug, Default)]
pub(crate) struct ShredState {
    tenant_shred: Option<Seq>,
    subjects: HashMap<crate::shred::SubjectRef, Seq>,
}

impl ShredState {
    /// The next entry in seq order.
    pub(crate) fn see(&mut self, entry: &Entry, loc: &Location, report: &mut Report) {
        use crate::body::EntryKind;
        use crate::shred::ShredScope;
        let seq = entry.seq();
        match entry.kind() {
            EntryKind::Shred => {
                if let Ok(Body::Shred(s)) = entry.body() {
                    match (s.scope, s.subject) {
                        (ShredScope::Subject, Some(r)) => {
                            self.subjects.entry(r).or_insert(seq);
                        }
                        _ => {
                            self.tenant_shred.get_or_insert(seq);
                        }
                    }
                }
            }
            EntryKind::Decision if self.tenant_shred.is_some() || !self.subjects.is_empty() => {
                let Ok(Body::Decision(d)) = entry.body() else {
                    return;
                };
                for f in &d.sealed {
                    let by = f
                        .subject
                        .and_then(|r| self.subjects.get(&r).copied())
                        .or(self.tenant_shred);
                    if let Some(at) = by {
                        report.warn(
                            "sealed_after_shred",
                            loc.clone(),
                            format!(
                                "field {} is sealed under a key the shred at seq {at} destroyed",
                                f.field
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

fn check_links(
    by_seq: &BTreeMap<Seq, (Entry, Location)>,
    log: Option<&LogName>,
    tenant: Option<&TenantId>,
    opts: &ChainOptions,
    report: &mut Report,
) {
    let Some((first, first_loc)) = by_seq.values().next() else {
        check_no_entries(opts, report);
        return;
    };
    check_start(first, first_loc, log, tenant, opts, report);
    let mut prev: Option<LinkPrev> = None;
    for (entry, loc) in by_seq.values() {
        if let Some(p) = &prev {
            check_step(p, entry, loc, report);
        }
        prev = Some(LinkPrev::of(entry));
    }
    if let (Some((end_seq, _)), Some((last, last_loc))) = (opts.end, by_seq.values().next_back()) {
        let at_end = by_seq.get(&end_seq).map(|(e, l)| (*e.hash(), l));
        check_end(last.seq(), last_loc, at_end, opts, report);
    }
}

/// The link state kept of the previous entry (in seq order).
#[derive(Clone, Debug)]
pub(crate) struct LinkPrev {
    pub(crate) seq: Seq,
    pub(crate) hash: Hash32,
    pub(crate) epoch: crate::id::Epoch,
    pub(crate) ts: crate::clock::Timestamp,
}

impl LinkPrev {
    pub(crate) fn of(e: &Entry) -> LinkPrev {
        LinkPrev {
            seq: e.seq(),
            hash: *e.hash(),
            epoch: e.epoch(),
            ts: e.ts(),
        }
    }
}

/// An empty segment.
pub(crate) fn check_no_entries(opts: &ChainOptions, report: &mut Report) {
    if opts.anchor == Anchor::Genesis || opts.end.is_some() {
        report.fail(
            Verdict::Truncated,
            "head",
            Location::default(),
            "no entries",
        );
    }
}

/// The first entry (lowest seq) against the anchor.
pub(crate) fn check_start(
    first: &Entry,
    first_loc: &Location,
    log: Option<&LogName>,
    tenant: Option<&TenantId>,
    opts: &ChainOptions,
    report: &mut Report,
) {
    let first_seq = first.seq();
    let (start, start_prev) = match &opts.anchor {
        Anchor::Genesis => match (log, tenant) {
            (Some(l), Some(t)) => (Some(Seq(0)), Some(genesis(l, t))),
            _ => (Some(Seq(0)), None),
        },
        Anchor::After { seq, prev } => (Some(*seq), Some(*prev)),
        Anchor::Anywhere => (None, None),
    };
    if let Some(start) = start {
        if first_seq > start {
            report.fail(Verdict::Truncated, "head", first_loc.clone(), format!("chain starts at seq {first_seq}, expected seq {start}: entries {start}..{} are missing", first_seq.0 - 1));
        } else if first_seq == start {
            if let Some(p) = start_prev {
                if first.prev() == &p {
                    report.pass();
                } else {
                    report.fail(Verdict::Tampered, "link", first_loc.clone(), format!("seq {first_seq} does not link to the expected start (genesis or anchor)"));
                }
            }
        } else {
            report.fail(
                Verdict::Tampered,
                "head",
                first_loc.clone(),
                format!("chain starts at seq {first_seq}, before the anchor seq {start}"),
            );
        }
    }
}

/// One entry against the previous one in seq order: gap, link, epoch, clock.
pub(crate) fn check_step(p: &LinkPrev, entry: &Entry, loc: &Location, report: &mut Report) {
    let seq = entry.seq();
    let pseq = p.seq;
    if Some(seq) != pseq.checked_next() {
        let missing = seq.0 - pseq.0 - 1;
        report.fail(
            Verdict::Missing,
            "gap",
            loc.clone(),
            format!(
                "{missing} entr{} missing before seq {seq} (after seq {pseq})",
                if missing == 1 { "y" } else { "ies" }
            ),
        );
    } else if entry.prev() != &p.hash {
        report.fail(
            Verdict::Tampered,
            "link",
            loc.clone(),
            format!("seq {seq} does not link to the hash of seq {pseq}"),
        );
    } else {
        report.pass();
    }
    if entry.epoch() < p.epoch {
        report.fail(
            Verdict::Tampered,
            "epoch",
            loc.clone(),
            "epoch goes backwards",
        );
    }
    if entry.ts() < p.ts {
        report.warn(
            "clock",
            loc.clone(),
            format!("timestamp steps back from seq {pseq} to seq {seq}"),
        );
    }
}

/// The last entry against the trusted end (`opts.end`); `at_end` is the
/// hash and place of the entry at the end seq, when present.
pub(crate) fn check_end(
    last_seq: Seq,
    last_loc: &Location,
    at_end: Option<(Hash32, &Location)>,
    opts: &ChainOptions,
    report: &mut Report,
) {
    let Some((end_seq, end_hash)) = opts.end else {
        return;
    };
    if last_seq < end_seq {
        report.fail(
            Verdict::Truncated,
            "tail",
            last_loc.clone(),
            format!("chain ends at seq {last_seq}, expected seq {end_seq}: {} entries missing at the tail", end_seq.0 - last_seq.0),
        );
    } else if last_seq > end_seq {
        report.warn(
            "tail",
            last_loc.clone(),
            format!("chain continues past the expected end seq {end_seq}"),
        );
    }
    match at_end {
        Some((h, loc)) if h != end_hash => {
            report.fail(
                Verdict::Forked,
                "tail",
                loc.clone(),
                format!("entry at seq {end_seq} differs from the trusted head"),
            );
        }
        Some(_) => report.pass(),
        None => {}
    }
}

/// Convenience: verifies entries already parsed (e.g. read from a store).
pub fn verify_entries(entries: &[Entry], keys: &KeyRing, opts: &ChainOptions) -> Report {
    verify_chain(
        entries.iter().map(|e| (Location::default(), Ok(e.clone()))),
        keys,
        opts,
    )
}

/// Convenience: verifies canonical JSONL lines, reporting line numbers.
pub fn verify_lines<'a>(
    lines: impl IntoIterator<Item = &'a [u8]>,
    keys: &KeyRing,
    opts: &ChainOptions,
) -> Report {
    verify_chain(
        lines.into_iter().enumerate().map(|(i, l)| {
            (
                Location {
                    line: Some(i as u64 + 1),
                    ..Location::default()
                },
                Entry::from_line(l),
            )
        }),
        keys,
        opts,
    )
}

/// Verifies a single entry's signature against pinned keys (used by callers
/// that only hold one receipt).
///
/// # Errors
/// [`KeyError::BadSignature`] when no pinned key with its id verifies it.
pub fn verify_entry_signature(entry: &Entry, keys: &KeyRing) -> Result<(), KeyError> {
    if keys
        .by_id(entry.key_id())
        .any(|k| entry.verify_signature(k).is_ok())
    {
        Ok(())
    } else {
        Err(KeyError::BadSignature)
    }
}
