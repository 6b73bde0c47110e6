//! The reading subcommands: `stats`, `list`, `inspect`, `checkpoint`, `prove`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ai_audit::cli::{self, CliError, ListFilter, OpenMode, SeqRange, TimeRange};
use ai_audit::{EntryId, EntryKind, Epoch, ExternalId, Seq, ShredError, TenantId};
use clap::Args;
use serde::Serialize;

use crate::output::{print, print_json};
use crate::{Ctx, Outcome};

use super::{causes, count, key_store, open, pinned, refuse_existing, tenant_id};

/// One sealed field as `inspect` shows it: metadata, and with `--decrypt`
/// the text or why it cannot be opened.
#[derive(Serialize)]
struct SealedRow {
    field: String,
    key: String,
    subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Flags of `ai-audit stats`.
#[derive(Args)]
pub struct StatsArgs {
    /// Only this tenant.
    #[arg(long)]
    tenant: Option<String>,
}

/// `ai-audit stats`.
pub fn stats(a: &StatsArgs, ctx: &Ctx) -> Result<Outcome, CliError> {
    let (url, opened) = open(ctx, OpenMode::Existing)?;
    let tenant = a.tenant.as_deref().map(tenant_id).transpose()?;
    let s = cli::stats(opened.store().as_ref(), tenant.as_ref())?;
    if ctx.json {
        print_json(&s)?;
        return Ok(Outcome::Ok);
    }
    let mut out = format!(
        "store {url}: {}\n",
        count(s.tenants.len(), "tenant", "tenants")
    );
    for t in &s.tenants {
        let _ = writeln!(
            out,
            "\ntenant {}: {} entries, seq {}..={}, epoch {}, {} unsealed",
            t.tenant, t.entries, t.first_seq, t.head_seq, t.epoch, t.unsealed
        );
        let _ = writeln!(out, "  head:    {}", t.head_hash.to_hex());
        if let (Some(a), Some(b)) = (t.first_ts, t.last_ts) {
            let _ = writeln!(out, "  time:    {a} .. {b}");
        }
        let kinds: Vec<String> = t.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(out, "  kinds:   {}", kinds.join(", "));
        if !t.actions.is_empty() {
            let acts: Vec<String> = t.actions.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(out, "  actions: {}", acts.join(", "));
        }
        for e in &t.epochs {
            let _ = writeln!(
                out,
                "  epoch {}: {} from seq {}, {}, sealed {}",
                e.epoch,
                count(
                    usize::try_from(e.entries).unwrap_or(usize::MAX),
                    "entry",
                    "entries"
                ),
                e.first_seq,
                count(
                    usize::try_from(e.checkpoints).unwrap_or(usize::MAX),
                    "checkpoint",
                    "checkpoints"
                ),
                e.sealed
            );
        }
    }
    print(&out);
    Ok(Outcome::Ok)
}

// ---------------------------------------------------------------- list

/// Flags of `ai-audit list`.
#[derive(Args)]
pub struct ListArgs {
    /// Only this tenant.
    #[arg(long)]
    tenant: Option<String>,
    /// Only this kind (decision, tool_call, human_oversight, policy_flag,
    /// key_rotation, epoch_link, store_repair, shred, monitor, contract).
    #[arg(long)]
    kind: Option<String>,
    /// Only decisions with this action (allow, reject, escalate, fail_retry,
    /// cache_hit, bypass, modify).
    #[arg(long)]
    action: Option<String>,
    /// Only entries in this time range (UTC, end excluded), e.g. 2026-11-22..2026-11-23.
    #[arg(long, value_name = "RANGE")]
    time: Option<String>,
    /// Only entries with this trace id.
    #[arg(long)]
    trace: Option<String>,
    /// Only these seqs, e.g. 0..10.
    #[arg(long, value_name = "RANGE")]
    seqs: Option<String>,
    /// At most this many entries.
    #[arg(long)]
    limit: Option<usize>,
}

fn wire_enum<T: serde::de::DeserializeOwned>(
    what: &str,
    s: &str,
    all: &str,
) -> Result<T, CliError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| CliError::Invalid(format!("unknown {what} {s:?} (one of: {all})")))
}

#[derive(Serialize)]
struct ListRow<'a> {
    tenant: &'a TenantId,
    seq: Seq,
    epoch: Epoch,
    ts: ai_audit::Timestamp,
    kind: EntryKind,
    id: String,
    signed: bool,
    summary: String,
}

/// `ai-audit list`.
pub fn list(a: &ListArgs, ctx: &Ctx) -> Result<Outcome, CliError> {
    let filter = ListFilter {
        tenant: a.tenant.as_deref().map(tenant_id).transpose()?,
        kind: a
            .kind
            .as_deref()
            .map(|k| {
                wire_enum(
                    "kind",
                    k,
                    "decision, tool_call, human_oversight, policy_flag, key_rotation, epoch_link, store_repair, shred, monitor, contract",
                )
            })
            .transpose()?,
        action: a
            .action
            .as_deref()
            .map(|k| {
                wire_enum(
                    "action",
                    k,
                    "allow, reject, escalate, fail_retry, cache_hit, bypass, modify",
                )
            })
            .transpose()?,
        time: a.time.as_deref().map(TimeRange::parse).transpose()?,
        trace: a
            .trace
            .as_deref()
            .map(|t| {
                ExternalId::new(t).map_err(|e| CliError::Invalid(format!("trace id {t:?}: {e}")))
            })
            .transpose()?,
        seqs: a.seqs.as_deref().map(SeqRange::parse).transpose()?,
        limit: a.limit,
    };
    let (_, opened) = open(ctx, OpenMode::Existing)?;
    let entries = cli::list_in(&opened, &filter)?;
    let rows: Vec<ListRow> = entries
        .iter()
        .map(|e| ListRow {
            tenant: e.tenant(),
            seq: e.seq(),
            epoch: e.epoch(),
            ts: e.ts(),
            kind: e.kind(),
            id: e.id().to_hex(),
            signed: e.signature().is_some(),
            summary: cli::entry_summary(e),
        })
        .collect();
    if ctx.json {
        print_json(&rows)?;
        return Ok(Outcome::Ok);
    }
    let mut out = format!(
        "{:<16} {:>6} {:>5} {:<27} {:<15} {}\n",
        "tenant", "seq", "epoch", "time", "kind", "summary"
    );
    for r in &rows {
        let _ = writeln!(
            out,
            "{:<16} {:>6} {:>5} {:<27} {:<15} {}",
            r.tenant.as_str(),
            r.seq.to_string(),
            r.epoch.to_string(),
            r.ts.to_string(),
            r.kind.as_str(),
            r.summary
        );
    }
    let _ = writeln!(out, "{}", count(rows.len(), "entry", "entries"));
    print(&out);
    Ok(Outcome::Ok)
}

// ---------------------------------------------------------------- inspect

/// Flags of `ai-audit inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// Open the entry's sealed fields with the KEK (--kek FILE,
    /// AI_AUDIT_KEK_FILE, AI_AUDIT_KEK or kek_file) and show their text.
    #[arg(long)]
    decrypt: bool,
    /// The tenant.
    #[arg(long, required_unless_present = "id")]
    tenant: Option<String>,
    /// The entry's seq.
    #[arg(long, conflicts_with = "id", required_unless_present = "id")]
    seq: Option<u64>,
    /// The entry's id (32 hex digits), instead of --seq.
    #[arg(long)]
    id: Option<String>,
}

/// `ai-audit inspect`.
pub fn inspect(a: &InspectArgs, ctx: &Ctx) -> Result<Outcome, CliError> {
    let tenant = a.tenant.as_deref().map(tenant_id).transpose()?;
    let (_, opened) = open(ctx, OpenMode::Existing)?;
    let store = opened.store();
    let entry = match (&tenant, a.seq, &a.id) {
        (_, _, Some(id)) => {
            let id = EntryId::from_hex(id)
                .map_err(|e| CliError::Invalid(format!("entry id {id:?}: {e}")))?;
            cli::find_by_id(store.as_ref(), tenant.as_ref(), id)?
        }
        (Some(t), Some(seq), None) => cli::find_entry(store.as_ref(), t, Seq(seq))?,
        _ => return Err(CliError::Invalid("give --tenant and --seq, or --id".into())),
    };
    let keys = if a.decrypt {
        Some(key_store(ctx, &opened)?)
    } else {
        None
    };
    let mut sealed = Vec::new();
    if let Ok(ai_audit::Body::Decision(d)) = entry.body() {
        for s in &d.sealed {
            let opened = keys
                .as_ref()
                .map(|k| k.open_sealed(entry.tenant(), entry.id(), s));
            let (text, error) = match opened {
                None => (None, None),
                Some(Ok(bytes)) => (Some(String::from_utf8_lossy(&bytes).into_owned()), None),
                // A KEK that opens nothing is the operator's error, not the field's.
                Some(Err(e @ (ShredError::Kek(_) | ShredError::KekMismatch { .. }))) => {
                    return Err(e.into())
                }
                Some(Err(e)) => (None, Some(e.to_string())),
            };
            sealed.push(SealedRow {
                field: s.field.to_string(),
                key: s.key.to_hex(),
                subject: s.subject.map(|r| r.to_hex()),
                text,
                error,
            });
        }
    }
    let line = entry
        .to_line()
        .map_err(|e| CliError::Invalid(format!("entry does not encode: {e}")))?;
    let value: serde_json::Value = serde_json::from_slice(&line)
        .map_err(|e| CliError::Invalid(format!("entry does not decode: {e}")))?;
    if ctx.json {
        if a.decrypt {
            print_json(&serde_json::json!({ "entry": value, "sealed": sealed }))?;
        } else {
            print_json(&value)?;
        }
        return Ok(Outcome::Ok);
    }
    let h = entry.header();
    let mut out = String::new();
    let _ = writeln!(out, "tenant:    {}", entry.tenant());
    let _ = writeln!(out, "seq:       {}", entry.seq());
    let _ = writeln!(out, "epoch:     {}", entry.epoch());
    let _ = writeln!(out, "kind:      {}", entry.kind().as_str());
    let _ = writeln!(out, "time:      {}", entry.ts());
    let _ = writeln!(out, "id:        {}", entry.id().to_hex());
    let _ = writeln!(out, "log:       {}", h.log);
    let _ = writeln!(out, "key id:    {}", entry.key_id());
    let _ = writeln!(out, "hash:      {}", entry.hash().to_hex());
    let _ = writeln!(out, "prev:      {}", entry.prev().to_hex());
    let _ = writeln!(
        out,
        "signature: {}",
        if entry.signature().is_some() {
            "Ed25519, on the entry"
        } else {
            "none (batch-sealed: covered by the epoch's checkpoint)"
        }
    );
    let _ = writeln!(out, "summary:   {}", cli::entry_summary(&entry));
    let body = value.get("body").cloned().unwrap_or_default();
    let pretty = serde_json::to_string_pretty(&body).unwrap_or_default();
    let _ = writeln!(out, "body:\n{pretty}");
    if !sealed.is_empty() {
        let _ = writeln!(out, "sealed fields:");
    }
    for s in &sealed {
        let subject = s
            .subject
            .as_deref()
            .map_or_else(|| "tenant key".to_owned(), |r| format!("subject {r}"));
        let _ = writeln!(out, "  {} (data key {}, {subject})", s.field, s.key);
        match (&s.text, &s.error) {
            (Some(t), _) => {
                let _ = writeln!(out, "    text: {t:?}");
            }
            (None, Some(e)) => {
                let _ = writeln!(out, "    cannot open: {e}");
            }
            (None, None) => {}
        }
    }
    if !sealed.is_empty() && !a.decrypt {
        let _ = writeln!(out, "(sealed: `--decrypt` with the KEK shows the text)");
    }
    let _ = writeln!(
        out,
        "(read from the store, not verified: `ai-audit verify --tenant {}` checks it)",
        entry.tenant()
    );
    print(&out);
    Ok(Outcome::Ok)
}

// ---------------------------------------------------------------- checkpoint

/// Flags of `ai-audit checkpoint`.
#[derive(Args)]
pub struct CheckpointArgs {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// The epoch (default: the current one).
    #[arg(long)]
    epoch: Option<u64>,
}

#[derive(Serialize)]
struct CheckpointJson<'a> {
    tenant: &'a TenantId,
    epoch: Epoch,
    size: u64,
    origin: &'a str,
    root: String,
    note: &'a str,
}

/// `ai-audit checkpoint`.
pub fn checkpoint(a: &CheckpointArgs, ctx: &Ctx) -> Result<Outcome, CliError> {
    let tenant = tenant_id(&a.tenant)?;
    let (_, opened) = open(ctx, OpenMode::Existing)?;
    let store = opened.store();
    let head = store
        .head(&tenant)?
        .ok_or_else(|| CliError::UnknownTenant {
            tenant: tenant.clone(),
        })?;
    let epoch = a.epoch.map_or(head.epoch, Epoch);
    let stored = store
        .checkpoints(&tenant, epoch)?
        .pop()
        .ok_or_else(|| {
            CliError::NoSuchEntry(format!(
                "tenant {tenant} has no checkpoint in epoch {epoch} (seal the log, or see `ai-audit stats`)"
            ))
        })?;
    if ctx.json {
        let signed =
            ai_audit::SignedCheckpoint::dangerous_from_stored_unverified(stored.note.clone())
                .map_err(|e| CliError::Invalid(format!("stored checkpoint: {e}")))?;
        let cp = signed.checkpoint();
        print_json(&CheckpointJson {
            tenant: &tenant,
            epoch,
            size: cp.size().0,
            origin: cp.origin(),
            root: cp.root().to_hex(),
            note: &stored.note,
        })?;
    } else {
        print(&stored.note);
    }
    Ok(Outcome::Ok)
}

// ---------------------------------------------------------------- prove

/// Flags of `ai-audit prove`.
#[derive(Args)]
pub struct ProveArgs {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// The entry's seq.
    #[arg(long)]
    seq: u64,
    /// The file to write (default: TENANT.seqN.tlog-proof).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Check the proof against these pinned keys before writing it.
    #[arg(long = "key", value_name = "VKEY")]
    keys: Vec<String>,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
}

#[derive(Serialize)]
struct ProveJson<'a> {
    proof: &'a Path,
    tenant: &'a TenantId,
    seq: Seq,
    epoch: Epoch,
    entry_hash: String,
    leaf_index: u64,
    verified: bool,
}

/// `ai-audit prove`.
pub fn prove(a: &ProveArgs, ctx: &Ctx) -> Result<Outcome, CliError> {
    let tenant = tenant_id(&a.tenant)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{tenant}.seq{}.tlog-proof", a.seq)));
    refuse_existing(&out, a.force)?;
    let ring = if a.keys.is_empty() {
        None
    } else {
        Some(pinned(&a.keys, ctx)?)
    };
    let (_, opened) = open(ctx, OpenMode::Existing)?;
    let (entry, proof) = cli::inclusion_proof(opened.store().as_ref(), &tenant, Seq(a.seq))?;
    if let Some(ring) = &ring {
        let origin = ai_audit::origin(&entry.header().log, &tenant, entry.epoch());
        proof
            .verify(ai_audit::ProofLeaf::EntryHash(*entry.hash()), &origin, ring)
            .map_err(|e| {
                CliError::NotVerified(format!(
                    "the proof does not verify with the pinned keys: {}",
                    causes(&e)
                ))
            })?;
    }
    std::fs::write(&out, proof.to_text()).map_err(|e| CliError::Io {
        path: out.clone(),
        source: e,
    })?;
    if ctx.json {
        print_json(&ProveJson {
            proof: &out,
            tenant: &tenant,
            seq: entry.seq(),
            epoch: entry.epoch(),
            entry_hash: entry.hash().to_hex(),
            leaf_index: proof.index().0,
            verified: ring.is_some(),
        })?;
    } else {
        print(&format!(
            "wrote {}: seq {} of tenant {tenant} is leaf {} of epoch {}{}\nentry hash: {}\n",
            out.display(),
            entry.seq(),
            proof.index().0,
            entry.epoch(),
            if ring.is_some() {
                " (checked against the pinned keys)"
            } else {
                ""
            },
            entry.hash().to_hex()
        ));
    }
    Ok(Outcome::Ok)
}
