//! `ai-audit epoch`: roll over or archive an epoch.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use ai_audit::cli::{self, CliError, OpenMode};
use ai_audit::{AuditLog, Epoch, Seq, TenantId};
use clap::Subcommand;
use serde::Serialize;

use crate::output::{print, print_json};
use crate::{Ctx, Outcome};

use super::{count, open, signing_key, tenant_id};

/// `ai-audit epoch …`.
#[derive(Subcommand)]
pub enum EpochCommand {
    /// Seal the tenant's current epoch and start the next one (needs the
    /// signing key).
    Roll {
        /// The tenant.
        #[arg(long)]
        tenant: String,
    },
    /// Copy a closed epoch's entries and checkpoints into a folder, and
    /// with --delete remove it from the store (irreversible).
    Archive {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The closed epoch.
        #[arg(long)]
        epoch: u64,
        /// The folder to write into (created if missing; files are never overwritten).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// After writing the archive, delete the epoch from the store.
        /// Irreversible; only the oldest stored epoch can go.
        #[arg(long)]
        delete: bool,
    },
}

#[derive(Serialize)]
struct RollJson<'a> {
    tenant: &'a TenantId,
    epoch: Epoch,
    epoch_link_seq: Seq,
}

#[derive(Serialize)]
struct ArchiveJson<'a> {
    tenant: &'a TenantId,
    epoch: Epoch,
    entries: usize,
    files: &'a [PathBuf],
    deleted: Option<u64>,
}

/// `ai-audit epoch`.
pub fn epoch(c: &EpochCommand, ctx: &Ctx) -> Result<Outcome, CliError> {
    match c {
        EpochCommand::Roll { tenant } => {
            let tenant = tenant_id(tenant)?;
            let signer = Arc::new(signing_key(ctx)?);
            let (_, opened) = open(ctx, OpenMode::Existing)?;
            let store = opened.store();
            let key = ai_audit::Signer::verifier_key(signer.as_ref()).clone();
            cli::check_signer(store.as_ref(), &tenant, &key)?;
            let log_name = cli::log_name(store.as_ref())?;
            let log = AuditLog::builder(log_name, signer, store).build();
            let link = log.roll_epoch(&tenant)?;
            if ctx.json {
                print_json(&RollJson {
                    tenant: &tenant,
                    epoch: link.epoch(),
                    epoch_link_seq: link.seq(),
                })?;
            } else {
                print(&format!(
                    "tenant {tenant}: epoch {} sealed; epoch {} opened with its epoch_link at seq {}\n",
                    link.epoch().0.saturating_sub(1),
                    link.epoch(),
                    link.seq()
                ));
            }
            Ok(Outcome::Ok)
        }
        EpochCommand::Archive {
            tenant,
            epoch,
            out,
            delete,
        } => {
            let tenant = tenant_id(tenant)?;
            let (_, opened) = open(ctx, OpenMode::Existing)?;
            let store = opened.store();
            let archive = cli::archive_epoch(store.as_ref(), &tenant, Epoch(*epoch))?;
            std::fs::create_dir_all(out).map_err(|e| CliError::Io {
                path: out.clone(),
                source: e,
            })?;
            let files = archive.write_to(out).map_err(|e| CliError::Io {
                path: out.clone(),
                source: e,
            })?;
            let deleted = if *delete {
                Some(store.delete_archived_epoch(&tenant, Epoch(*epoch))?)
            } else {
                None
            };
            if ctx.json {
                print_json(&ArchiveJson {
                    tenant: &tenant,
                    epoch: Epoch(*epoch),
                    entries: archive.lines.len(),
                    files: &files,
                    deleted,
                })?;
            } else {
                let mut s = format!(
                    "tenant {tenant}: epoch {epoch} archived ({}, {})\n",
                    count(archive.lines.len(), "entry", "entries"),
                    count(archive.checkpoints.len(), "checkpoint", "checkpoints")
                );
                for f in &files {
                    let _ = writeln!(s, "  {}", f.display());
                }
                match deleted {
                    Some(n) => {
                        let _ = writeln!(s, "deleted {n} entries of epoch {epoch} from the store");
                    }
                    None => {
                        let _ = writeln!(
                            s,
                            "the store still holds it (add --delete to remove it there)"
                        );
                    }
                }
                print(&s);
            }
            Ok(Outcome::Ok)
        }
    }
}
