//! Verified entries: the only input of every analysis (monitors, crosswalks,
//! reports, contracts, trace graphs; SPEC §11).
//!
//! A [`VerifiedLog`] can only be obtained from a verification run that
//! passed: [`VerifiedLog::from_chain`] (chain verification, SPEC §6, every
//! entry signed) or [`VerifiedLog::from_segment`] (chain plus signed
//! checkpoints, SPEC §7.6). Analyses therefore never see an entry that a
//! verifier would reject, and never a flag the caller merely asserts.

use crate::body::{Body, EntryKind};
use crate::chain::{verify_chain_detailed, Anchor, ChainOptions};
use crate::entry::Entry;
use crate::id::{Epoch, LogName, Seq, TenantId};
use crate::keys::KeyRing;
use crate::report::{Location, Report};
use crate::segment::{verify_segment, NoteInput};

/// Why a [`VerifiedLog`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifiedError {
    /// Verification failed: its report says where. Nothing is analysed.
    #[error("verification failed ({} failure(s), verdict {}): nothing is analysed", .0.failures.len(), .0.verdict())]
    NotVerified(Box<Report>),
    /// There are no entries.
    #[error("no entries to analyse")]
    Empty,
}

/// One entry that verification accepted, with its decoded body.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedEntry {
    entry: Entry,
    body: Body,
}

impl VerifiedEntry {
    /// The entry (envelope, hash, signature).
    pub fn entry(&self) -> &Entry {
        &self.entry
    }
    /// The decoded body.
    pub fn body(&self) -> &Body {
        &self.body
    }
    /// Its seq.
    pub fn seq(&self) -> Seq {
        self.entry.seq()
    }
    /// Its kind.
    pub fn kind(&self) -> EntryKind {
        self.entry.kind()
    }
}

/// What verification established about the analysed entries, reported as is
/// by every summary (SPEC §11.1).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Integrity {
    /// Signed checkpoints given to and verified by the run (0 for a chain
    /// verified by per-entry signatures alone).
    pub checkpoints: u64,
    /// Epochs the entries span, ascending.
    pub epochs: Vec<Epoch>,
    /// True when the run was anchored at genesis (seq 0); false for a
    /// disclosure verified from where it starts.
    pub from_genesis: bool,
    /// True when a trusted end `(seq, hash)` was given, so a dropped tail
    /// would have been detected.
    pub tail_anchored: bool,
    /// Warnings of the run (e.g. a clock step back).
    pub warnings: u64,
}

/// A tenant's entries, in seq order, that passed verification.
#[derive(Clone, Debug)]
pub struct VerifiedLog {
    log: LogName,
    tenant: TenantId,
    entries: Vec<VerifiedEntry>,
    integrity: Integrity,
}

impl VerifiedLog {
    /// Verifies `entries` as a chain (SPEC §6) with `opts` and keeps them if
    /// verification passed. Every entry must carry a valid signature
    /// (`opts.require_signatures` is forced on: batch-sealed entries are
    /// authenticated only by checkpoints, see [`VerifiedLog::from_segment`]).
    ///
    /// # Errors
    /// [`VerifiedError::NotVerified`] with the report when any check failed,
    /// [`VerifiedError::Empty`] when there is nothing to analyse.
    pub fn from_chain(
        entries: &[Entry],
        keys: &KeyRing,
        opts: &ChainOptions,
    ) -> Result<VerifiedLog, VerifiedError> {
        let opts = ChainOptions {
            require_signatures: true,
            ..opts.clone()
        };
        let outcome = verify_chain_detailed(items(entries), keys, &opts);
        Self::from_verified(outcome.report, outcome.entries, 0, &opts)
    }

    /// Verifies `entries` with their signed checkpoint `notes` (SPEC §7.6;
    /// batch-sealed entries are accepted when a verified checkpoint covers
    /// them) and keeps them if verification passed.
    ///
    /// # Errors
    /// As [`VerifiedLog::from_chain`].
    pub fn from_segment(
        entries: &[Entry],
        notes: &[NoteInput],
        keys: &KeyRing,
        opts: &ChainOptions,
    ) -> Result<VerifiedLog, VerifiedError> {
        let report = verify_segment(items(entries), notes, keys, opts);
        // The segment run has checked every entry; keep them in seq order.
        let mut kept = entries.to_vec();
        kept.sort_by_key(Entry::seq);
        Self::from_verified(report, kept, notes.len() as u64, opts)
    }

    /// Keeps `entries` (in seq order) if `report`, the report of the run
    /// that checked exactly them with `checkpoints` notes and `opts`, passed.
    pub(crate) fn from_verified(
        report: Report,
        entries: Vec<Entry>,
        checkpoints: u64,
        opts: &ChainOptions,
    ) -> Result<VerifiedLog, VerifiedError> {
        if !report.is_verified() {
            return Err(VerifiedError::NotVerified(Box::new(report)));
        }
        let first = entries.first().ok_or(VerifiedError::Empty)?;
        let log = first.header().log.clone();
        let tenant = first.tenant().clone();
        let mut out = Vec::with_capacity(entries.len());
        let mut epochs: Vec<Epoch> = Vec::new();
        for entry in entries {
            // Verification decoded every body; a failure here would be a
            // verifier bug, and it is refused rather than skipped.
            let body = Body::decode_verified(entry.kind(), entry.body_bytes()).map_err(|e| {
                let mut r = Report::default();
                r.fail(
                    crate::report::Verdict::Malformed,
                    "body",
                    Location {
                        seq: Some(entry.seq()),
                        ..Location::default()
                    },
                    e.to_string(),
                );
                VerifiedError::NotVerified(Box::new(r))
            })?;
            if epochs.last() != Some(&entry.epoch()) {
                epochs.push(entry.epoch());
            }
            out.push(VerifiedEntry { entry, body });
        }
        Ok(VerifiedLog {
            log,
            tenant,
            entries: out,
            integrity: Integrity {
                checkpoints,
                epochs,
                from_genesis: opts.anchor == Anchor::Genesis,
                tail_anchored: opts.end.is_some(),
                warnings: report.warnings.len() as u64,
            },
        })
    }

    /// The log name.
    pub fn log(&self) -> &LogName {
        &self.log
    }
    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
    /// The entries, in seq order.
    pub fn entries(&self) -> &[VerifiedEntry] {
        &self.entries
    }
    /// What verification established.
    pub fn integrity(&self) -> &Integrity {
        &self.integrity
    }
    /// The entry at `seq`, if present.
    pub fn get(&self, seq: Seq) -> Option<&VerifiedEntry> {
        let first = self.entries.first()?.seq().0;
        let i = usize::try_from(seq.0.checked_sub(first)?).ok()?;
        self.entries.get(i).filter(|e| e.seq() == seq)
    }
}

fn items(entries: &[Entry]) -> impl Iterator<Item = crate::chain::Item> + '_ {
    entries.iter().map(|e| (Location::default(), Ok(e.clone())))
}
