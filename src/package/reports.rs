//! Compliance reports inside log packages (SPEC §11.3.4): written at export
//! from the exported entries once they verify, and recomputed from the
//! verified entries by the package verifier, which compares them byte for
//! byte. A report that no longer matches its log is `tampered` (check
//! `report`).

use std::collections::BTreeMap;
use std::io::{Seek, Write};

use super::export::{PackageWriter, Plan};
use super::name::{FileName, ReportFormat};
use super::PackageError;
use crate::chain::{Anchor, ChainOptions};
use crate::compliance::{ComplianceReport, Crosswalk};
use crate::encoding;
use crate::entry::Entry;
use crate::id::{LogName, Seq, TenantId};
use crate::keys::KeyRing;
use crate::report::{Location, Report, Verdict};
use crate::segment::NoteInput;
use crate::store::Store;
use crate::verified::VerifiedLog;

/// What [`super::export_package_with_reports`] needs to compute reports.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// Keys the exported entries are verified against before a report is
    /// computed (the pinned log keys; rotations extend them).
    pub keys: KeyRing,
    /// The crosswalk template (embedded as `reports/crosswalk.json`).
    pub crosswalk: Crosswalk,
}

/// The chain options the package verifier uses for a tenant whose first
/// exported entry is `first_seq` with `first_prev` (SPEC §8).
pub(super) fn tenant_options(log: &LogName, tenant: &TenantId, first: &Entry) -> ChainOptions {
    ChainOptions {
        log: Some(log.clone()),
        tenant: Some(tenant.clone()),
        anchor: if first.seq() == Seq(0) {
            Anchor::Genesis
        } else {
            Anchor::After {
                seq: first.seq(),
                prev: *first.prev(),
            }
        },
        require_signatures: false,
        end: None,
    }
}

fn renderings(
    r: &ComplianceReport,
) -> Result<[(ReportFormat, Vec<u8>); 3], encoding::EncodingError> {
    let json = r
        .to_json()
        .map_err(|e| encoding::EncodingError::Serialize(e.to_string()))?;
    Ok([
        (ReportFormat::Html, r.to_html().into_bytes()),
        (ReportFormat::Json, json),
        (ReportFormat::Markdown, r.to_markdown().into_bytes()),
    ])
}

pub(super) fn write<W: Write + Seek>(
    store: &dyn Store,
    w: &mut PackageWriter<W>,
    log: &LogName,
    plan: &Plan,
    opts: &ReportOptions,
) -> Result<(), PackageError> {
    let template =
        encoding::to_canonical(&opts.crosswalk).map_err(|e| PackageError::Scope(e.to_string()))?;
    w.put(&FileName::Crosswalk, &template)?;
    for (tenant, epochs) in plan {
        let mut entries = Vec::new();
        let mut notes = Vec::new();
        for (epoch, start, end) in epochs {
            entries.extend(store.read(tenant, *start, *end)?);
            for c in store.checkpoints(tenant, *epoch)? {
                notes.push(NoteInput {
                    location: Location::default(),
                    note: c.note.into_bytes(),
                });
            }
        }
        let Some(first) = entries.first() else {
            continue;
        };
        let chain = tenant_options(log, tenant, first);
        let verified = VerifiedLog::from_segment(&entries, &notes, &opts.keys, &chain)
            .map_err(|e| PackageError::Scope(format!("tenant {tenant}: {e}")))?;
        let report = ComplianceReport::build(&verified, &opts.crosswalk)
            .map_err(|e| PackageError::Scope(format!("tenant {tenant}: {e}")))?;
        for (format, bytes) in
            renderings(&report).map_err(|e| PackageError::Scope(e.to_string()))?
        {
            w.put(&FileName::Report(tenant.clone(), format), &bytes)?;
        }
    }
    Ok(())
}

fn at(name: &FileName) -> Location {
    Location {
        file: Some(name.to_string().into()),
        ..Location::default()
    }
}

/// True when the package holds a report file of `tenant`.
pub(super) fn has_reports(small: &BTreeMap<FileName, Vec<u8>>, tenant: &TenantId) -> bool {
    small
        .keys()
        .any(|n| matches!(n, FileName::Report(t, _) if t == tenant))
}

/// Recomputes `tenant`'s report from its `entries`, which the run `seg`
/// (with `checkpoints` notes and `opts`) checked, and compares it with the
/// embedded files. Findings go into `seg`.
pub(super) fn check(
    seg: &mut Report,
    small: &BTreeMap<FileName, Vec<u8>>,
    tenant: &TenantId,
    entries: Vec<Entry>,
    checkpoints: u64,
    opts: &ChainOptions,
) {
    let files: Vec<(&FileName, &Vec<u8>)> = small
        .iter()
        .filter(|(n, _)| matches!(n, FileName::Report(t, _) if t == tenant))
        .collect();
    let Some((first_name, _)) = files.first() else {
        return;
    };
    let first_name = (*first_name).clone();
    let Some(template) = small.get(&FileName::Crosswalk) else {
        seg.fail(
            Verdict::Malformed,
            "report",
            at(&FileName::Crosswalk),
            "reports are embedded but their crosswalk template is not",
        );
        return;
    };
    let crosswalk = match Crosswalk::from_json(template) {
        Ok(c) => c,
        Err(e) => {
            seg.fail(
                Verdict::Malformed,
                "report",
                at(&FileName::Crosswalk),
                e.to_string(),
            );
            return;
        }
    };
    if !seg.is_verified() {
        seg.fail(
            Verdict::Tampered,
            "report",
            at(&first_name),
            "the report cannot be recomputed: the tenant's entries did not verify",
        );
        return;
    }
    let recomputed = VerifiedLog::from_verified(seg.clone(), entries, checkpoints, opts)
        .map_err(|e| e.to_string())
        .and_then(|v| ComplianceReport::build(&v, &crosswalk).map_err(|e| e.to_string()))
        .and_then(|r| renderings(&r).map_err(|e| e.to_string()));
    let expected = match recomputed {
        Ok(x) => x,
        Err(e) => {
            seg.fail(Verdict::Tampered, "report", at(&first_name), e);
            return;
        }
    };
    for (format, bytes) in expected {
        let name = FileName::Report(tenant.clone(), format);
        match small.get(&name) {
            Some(b) if *b == bytes => seg.pass(),
            Some(_) => seg.fail(
                Verdict::Tampered,
                "report",
                at(&name),
                "does not match the report recomputed from the verified entries",
            ),
            None => seg.fail(
                Verdict::Tampered,
                "report",
                at(&name),
                "the other renderings of this report are embedded, this one is missing",
            ),
        }
    }
}

/// Report files of tenants that have no entries in the package.
pub(super) fn check_orphans(
    report: &mut Report,
    small: &BTreeMap<FileName, Vec<u8>>,
    tenants: &[&TenantId],
) {
    for name in small.keys() {
        if let FileName::Report(t, _) = name {
            if !tenants.contains(&t) {
                report.fail(
                    Verdict::Tampered,
                    "report",
                    at(name),
                    "a report of a tenant whose entries are not in the package",
                );
            }
        }
    }
}
