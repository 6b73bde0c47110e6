//! `ai-audit export`: evidence packages from the store.

use std::fmt::Write as _;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use ai_audit::cli::{
    self, CliError, EpochRange, ListFilter, OpenMode, OpenStore, SeqRange, TimeRange,
};
use ai_audit::package::{self, PackageKind};
use ai_audit::{Epoch, LogName, Seq, TenantId};
use clap::Args;
use serde::Serialize;

use crate::output::{print, print_json, Progress};
use crate::{Ctx, Outcome};

use super::{create, open, refuse_existing, signing_key, tenant_id, MAX_DISCLOSED};

/// Flags of `ai-audit export`.
#[derive(Args)]
pub struct ExportArgs {
    /// The package to write.
    #[arg(long, value_name = "ZIP")]
    out: PathBuf,
    /// Only this tenant (required for ranges and --disclose).
    #[arg(long)]
    tenant: Option<String>,
    /// Epochs to export, e.g. 0..=2 (whole epochs).
    #[arg(long, value_name = "RANGE", conflicts_with_all = ["seqs", "time"])]
    epochs: Option<String>,
    /// Seqs to export, e.g. 100..200; a log export is widened to the whole
    /// epochs holding them.
    #[arg(long, value_name = "RANGE", conflicts_with = "time")]
    seqs: Option<String>,
    /// Entry times to export, e.g. 2026-11-22T09:00:00Z..2026-11-22T10:00:00Z
    /// (UTC, end excluded); a log export is widened to whole epochs.
    #[arg(long, value_name = "RANGE")]
    time: Option<String>,
    /// Export only the selected entries (--seqs or --time), each with a
    /// tlog-proof, instead of whole epochs: a selective disclosure.
    #[arg(long, requires = "tenant")]
    disclose: bool,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
}

#[derive(Serialize)]
struct ExportJson<'a> {
    package: &'a Path,
    kind: PackageKind,
    log: &'a LogName,
    entries: u64,
    tenants: Vec<ExportTenant<'a>>,
    manifest_sha256: String,
    producer_key: String,
}

#[derive(Serialize)]
struct ExportTenant<'a> {
    tenant: &'a TenantId,
    entries: u64,
    first_seq: Seq,
    last_seq: Seq,
    epochs: &'a [Epoch],
}

/// The seqs of `tenant` whose entries fall in `time` (the export's time
/// range, mapped onto the chain).
fn seqs_in_time(
    opened: &OpenStore,
    tenant: &TenantId,
    time: TimeRange,
) -> Result<Vec<Seq>, CliError> {
    let filter = ListFilter {
        tenant: Some(tenant.clone()),
        time: Some(time),
        ..ListFilter::default()
    };
    Ok(cli::list_in(opened, &filter)?
        .iter()
        .map(|e| e.seq())
        .collect())
}

/// `ai-audit export`.
pub fn export(a: &ExportArgs, ctx: &Ctx) -> Result<Outcome, CliError> {
    let seqs = a.seqs.as_deref().map(SeqRange::parse).transpose()?;
    let time = a.time.as_deref().map(TimeRange::parse).transpose()?;
    let epochs = a.epochs.as_deref().map(EpochRange::parse).transpose()?;
    let tenant = a.tenant.as_deref().map(tenant_id).transpose()?;
    if tenant.is_none() && (seqs.is_some() || time.is_some() || epochs.is_some()) {
        return Err(CliError::Invalid(
            "--epochs, --seqs and --time select within one tenant: add --tenant".into(),
        ));
    }
    refuse_existing(&a.out, a.force)?;
    let signer = signing_key(ctx)?;
    let (_, opened) = open(ctx, OpenMode::Existing)?;
    let store = opened.store();
    let store = store.as_ref();
    let log = cli::log_name(store)?;
    let key = ai_audit::Signer::verifier_key(&signer).clone();
    match &tenant {
        Some(t) => cli::check_signer(store, t, &key)?,
        None => {
            for t in store.tenants()? {
                cli::check_signer(store, &t, &key)?;
            }
        }
    }
    let progress = Progress::new(ctx.json);
    progress.show(&format!("exporting to {}", a.out.display()));
    // Write next to the target, then rename: no half-written package under its name.
    let tmp = a.out.with_extension("zip.part");
    let result = (|| -> Result<package::ExportSummary, CliError> {
        let w = BufWriter::new(create(&tmp)?);
        if a.disclose {
            let t = tenant
                .as_ref()
                .ok_or_else(|| CliError::Invalid("--disclose needs --tenant".into()))?;
            let chosen: Vec<Seq> = match (seqs, time) {
                (Some(r), _) => {
                    let filter = ListFilter {
                        tenant: Some(t.clone()),
                        seqs: Some(r),
                        limit: Some(MAX_DISCLOSED + 1),
                        ..ListFilter::default()
                    };
                    cli::list(store, &filter)?.iter().map(|e| e.seq()).collect()
                }
                (None, Some(r)) => seqs_in_time(&opened, t, r)?,
                (None, None) => {
                    return Err(CliError::Invalid(
                        "--disclose needs --seqs or --time to select the entries".into(),
                    ))
                }
            };
            if chosen.is_empty() {
                return Err(CliError::NoSuchEntry(format!(
                    "tenant {t} has no entries in the selected range"
                )));
            }
            if chosen.len() > MAX_DISCLOSED {
                return Err(CliError::Invalid(format!(
                    "a disclosure holds at most {MAX_DISCLOSED} entries; export the epochs instead"
                )));
            }
            Ok(ai_audit::export_disclosure(
                store, &log, &signer, t, &chosen, w,
            )?)
        } else {
            let scope = match (&tenant, epochs, seqs, time) {
                (None, ..) => ai_audit::Scope::All,
                (Some(t), Some(e), _, _) => ai_audit::Scope::Epochs {
                    tenant: t.clone(),
                    from: e.from,
                    to: e.to,
                },
                (Some(t), None, Some(r), _) => {
                    let first = cli::first_seq(store, t)?.max(r.from);
                    let head = store.head(t)?.map_or(first, |h| h.seq);
                    ai_audit::Scope::Seqs {
                        tenant: t.clone(),
                        from: first,
                        to: r.last().min(head),
                    }
                }
                (Some(t), None, None, Some(r)) => {
                    let s = seqs_in_time(&opened, t, r)?;
                    match (s.first(), s.last()) {
                        (Some(from), Some(to)) => ai_audit::Scope::Seqs {
                            tenant: t.clone(),
                            from: *from,
                            to: *to,
                        },
                        _ => {
                            return Err(CliError::NoSuchEntry(format!(
                                "tenant {t} has no entries in the time range"
                            )))
                        }
                    }
                }
                (Some(t), None, None, None) => ai_audit::Scope::Tenant(t.clone()),
            };
            Ok(ai_audit::export_package(store, &log, &signer, &scope, w)?)
        }
    })();
    progress.done();
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, &a.out).map_err(|e| CliError::Io {
        path: a.out.clone(),
        source: e,
    })?;
    let m = &summary.manifest;
    if ctx.json {
        print_json(&ExportJson {
            package: &a.out,
            kind: m.kind,
            log: &m.log,
            entries: m.entries,
            tenants: m
                .tenants
                .iter()
                .map(|t| ExportTenant {
                    tenant: &t.tenant,
                    entries: t.entries,
                    first_seq: t.first_seq,
                    last_seq: t.last_seq,
                    epochs: &t.epochs,
                })
                .collect(),
            manifest_sha256: summary.manifest_sha256.to_hex(),
            producer_key: key.to_string(),
        })?;
    } else {
        let kind = match m.kind {
            PackageKind::Log => "log export",
            _ => "disclosure",
        };
        let mut out = format!(
            "wrote {} ({kind} of log {}, {} entries)\n",
            a.out.display(),
            m.log,
            m.entries
        );
        for t in &m.tenants {
            let _ = writeln!(
                out,
                "  tenant {}: {} entries, seq {}..={}",
                t.tenant, t.entries, t.first_seq, t.last_seq
            );
        }
        let _ = writeln!(out, "manifest sha256: {}", summary.manifest_sha256.to_hex());
        let _ = writeln!(out, "signed by:       {key}");
        print(&out);
    }
    Ok(Outcome::Ok)
}
