//! The store subcommands: argument structs, library calls, rendering.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ai_audit::cli::{
    self, CliError, EpochRange, ListFilter, OpenMode, OpenStore, SeqRange, TenantReport, TimeRange,
};
use ai_audit::package::{self, PackageKind};
use ai_audit::{
    AuditLog, EntryId, EntryKind, Epoch, ExternalId, KeyRing, LocalSigner, LogName, Seq, TenantId,
    Verdict, VerifierKey,
};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::output::{print, print_json, Progress};
use crate::{Ctx, Outcome};

/// Largest verifier-key file read.
const MAX_KEY_FILE_BYTES: u64 = 4096;
/// Most entries one disclosure package holds (two files each).
const MAX_DISCLOSED: usize = 10_000;
/// `schema` of `ai-audit verify --json` on a store.
const STORE_REPORT_SCHEMA: &str = "ai-audit-verify-store/v1";

fn tenant_id(s: &str) -> Result<TenantId, CliError> {
    TenantId::new(s).map_err(|e| CliError::Invalid(format!("tenant {s:?}: {e}")))
}

fn open(ctx: &Ctx, mode: OpenMode) -> Result<(String, OpenStore), CliError> {
    let url = ctx.settings.store_url()?;
    let store = url.open(mode)?;
    Ok((url.to_string(), store))
}

/// The pinned keys: `--key` flags, else the configuration.
fn pinned(flags: &[String], ctx: &Ctx) -> Result<KeyRing, CliError> {
    let list = if flags.is_empty() {
        ctx.settings.verifier_keys()
    } else {
        flags
    };
    if list.is_empty() {
        return Err(CliError::NoVerifierKey);
    }
    list.iter()
        .map(|k| load_verifier_key(k))
        .collect::<Result<Vec<_>, _>>()
        .map(KeyRing::from_keys)
}

/// A verifier-key string, or a file holding one (as `ai-audit-verify --key`).
fn load_verifier_key(arg: &str) -> Result<VerifierKey, CliError> {
    if let Ok(k) = VerifierKey::parse(arg) {
        return Ok(k);
    }
    let what = format!("--key {arg:?}");
    let meta = std::fs::metadata(arg).map_err(|_| {
        CliError::Invalid(format!(
            "{what} is neither a verifier key nor a readable file"
        ))
    })?;
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(CliError::Invalid(format!(
            "key file {arg:?} is larger than {MAX_KEY_FILE_BYTES} bytes"
        )));
    }
    let text = std::fs::read_to_string(arg).map_err(|e| CliError::Io {
        path: PathBuf::from(arg),
        source: e,
    })?;
    VerifierKey::parse(text.trim_end()).map_err(|source| CliError::Key {
        what: format!("key file {arg:?}"),
        source,
    })
}

fn signing_key(ctx: &Ctx) -> Result<LocalSigner, CliError> {
    match ctx.settings.signing_key() {
        Some(Some(path)) => LocalSigner::from_file(path).map_err(|source| CliError::Key {
            what: format!("signing key {}", path.display()),
            source,
        }),
        Some(None) => LocalSigner::from_env().map_err(|source| CliError::Key {
            what: format!("signing key in {}", ai_audit::SIGNING_KEY_ENV),
            source,
        }),
        None => Err(CliError::NoSigningKey),
    }
}

/// An error and its causes, `: `-separated.
fn causes(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(c) = next {
        s.push_str(&format!(": {c}"));
        next = c.source();
    }
    s
}

/// `1 tenant`, `2 tenants`: `n` and the noun's singular or plural.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn refuse_existing(path: &Path, force: bool) -> Result<(), CliError> {
    if !force && path.exists() {
        return Err(CliError::Exists(path.to_owned()));
    }
    Ok(())
}

fn create(path: &Path) -> Result<File, CliError> {
    File::create(path).map_err(|e| CliError::Io {
        path: path.to_owned(),
        source: e,
    })
}

// ---------------------------------------------------------------- keygen

/// Flags of `ai-audit keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// The log's name, e.g. audit.example.com/log (default: `log` in the
    /// config or AI_AUDIT_LOG). It names the key in every signature.
    #[arg(long, value_name = "LOG")]
    name: Option<String>,
    /// The secret key file to write (mode 0600). The verifier key goes
    /// next to it with the extension .vkey.
    #[arg(long, value_name = "FILE", default_value = "ai-audit.key")]
    out: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
}

#[derive(Serialize)]
struct KeygenOut<'a> {
    key_file: &'a Path,
    verifier_key_file: &'a Path,
    verifier_key: String,
    key_id: String,
}

/// `ai-audit keygen`.
pub fn keygen(a: &KeygenArgs, ctx: &Ctx) -> Result<Outcome, CliError> {
    let name = a
        .name
        .as_deref()
        .or(ctx.settings.log())
        .ok_or_else(|| CliError::Invalid("keygen needs --name LOG (the log's name)".into()))?;
    let name =
        LogName::new(name).map_err(|e| CliError::Invalid(format!("log name {name:?}: {e}")))?;
    let vkey_file = a.out.with_extension("vkey");
    if vkey_file == a.out {
        return Err(CliError::Invalid(
            "--out must not end in .vkey (that is where the verifier key goes)".into(),
        ));
    }
    refuse_existing(&a.out, a.force)?;
    refuse_existing(&vkey_file, a.force)?;
    let signer = LocalSigner::generate(name.as_str()).map_err(|source| CliError::Key {
        what: "new key".into(),
        source,
    })?;
    if a.force {
        for p in [&a.out, &vkey_file] {
            if p.exists() {
                std::fs::remove_file(p).map_err(|e| CliError::Io {
                    path: p.clone(),
                    source: e,
                })?;
            }
        }
    }
    signer
        .write_key_file(&a.out)
        .map_err(|source| CliError::Key {
            what: format!("writing {}", a.out.display()),
            source,
        })?;
    let vkey = ai_audit::Signer::verifier_key(&signer).clone();
    std::fs::write(&vkey_file, format!("{vkey}\n")).map_err(|e| CliError::Io {
        path: vkey_file.clone(),
        source: e,
    })?;
    if ctx.json {
        print_json(&KeygenOut {
            key_file: &a.out,
            verifier_key_file: &vkey_file,
            verifier_key: vkey.to_string(),
            key_id: vkey.id().to_string(),
        })?;
    } else {
        print(&format!(
            "secret key:   {} (mode 0600; keep it secret, never send it)\n\
             verifier key: {} (give this to auditors, by another channel)\n\
             {vkey}\n",
            a.out.display(),
            vkey_file.display()
        ));
    }
    Ok(Outcome::Ok)
}

// ---------------------------------------------------------------- verify

/// Flags of `ai-audit verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// An evidence package (ZIP) to verify; without it, the store is verified.
    package: Option<PathBuf>,
    /// Only this tenant of the store (default: all).
    #[arg(long)]
    tenant: Option<String>,
    /// A pinned verifier key (name+hexid+base64, or a file holding one).
    /// Repeat for rotated keys. Default: verifier_keys of the config.
    #[arg(long = "key", value_name = "VKEY")]
    keys: Vec<String>,
}

/// `ai-audit verify`.
pub fn verify(a: &VerifyArgs, ctx: &Ctx) -> Result<Outcome, CliError> {
    let ring = pinned(&a.keys, ctx)?;
    if let Some(zip) = &a.package {
        if a.tenant.is_some() {
            return Err(CliError::Invalid(
                "--tenant applies to a store; a package is verified whole".into(),
            ));
        }
        return verify_zip(zip, &ring, ctx);
    }
    let (url, opened) = open(ctx, OpenMode::Existing)?;
    let tenant = a.tenant.as_deref().map(tenant_id).transpose()?;
    let progress = Progress::new(ctx.json);
    let reports = cli::verify_store(
        opened.store().as_ref(),
        tenant.as_ref(),
        &ring,
        &mut |i, n, t| progress.show(&format!("verifying tenant {t} ({}/{n})", i + 1)),
    )?;
    progress.done();
    let verdict = reports
        .iter()
        .map(|r| r.report.verdict())
        .find(|v| *v != Verdict::Verified)
        .unwrap_or(Verdict::Verified);
    if reports.is_empty() {
        return Err(CliError::Invalid(format!("the store {url} has no entries")));
    }
    if ctx.json {
        render_store_json(&url, verdict, &reports)?;
    } else {
        print(&render_store_human(&url, verdict, &reports, &ring));
    }
    Ok(if verdict == Verdict::Verified {
        Outcome::Ok
    } else {
        Outcome::NotVerified
    })
}

fn verify_zip(zip: &Path, ring: &KeyRing, ctx: &Ctx) -> Result<Outcome, CliError> {
    let file = File::open(zip).map_err(|e| CliError::Io {
        path: zip.to_owned(),
        source: e,
    })?;
    let report = ai_audit::verify_package(BufReader::with_capacity(1 << 16, file), ring)?;
    let text = if ctx.json {
        package::render_json(&report).map_err(CliError::Invalid)? + "\n"
    } else {
        package::render_human(&report, ring)
    };
    print(&text);
    Ok(if report.is_verified() {
        Outcome::Ok
    } else {
        Outcome::NotVerified
    })
}

fn store_headline(v: Verdict) -> String {
    match v {
        Verdict::Verified => {
            "VERIFIED: every stored entry and checkpoint checks out against the keys you pinned."
                .into()
        }
        other => format!(
            "NOT VERIFIED ({other}): {}",
            match other {
                Verdict::Tampered => "something in the store was changed after it was signed.",
                Verdict::Truncated => "entries are missing at the start or the end.",
                Verdict::Missing => "entries are missing from the middle of a chain.",
                Verdict::Reordered => "entries are out of order.",
                Verdict::Forked => "a chain shows two different histories.",
                Verdict::UnknownKey => "it is signed by a key you did not pin.",
                Verdict::Malformed => "a stored record is damaged.",
                Verdict::UnsupportedVersion => "it uses a format version this build does not read.",
                _ => "a check failed.",
            }
        ),
    }
}

fn render_store_human(url: &str, v: Verdict, reports: &[TenantReport], ring: &KeyRing) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", store_headline(v));
    let _ = writeln!(
        out,
        "Store {url}: {}",
        count(reports.len(), "tenant", "tenants")
    );
    for r in reports {
        let _ = writeln!(
            out,
            "  tenant {}: {} entries, {}",
            r.tenant,
            r.entries,
            r.report.verdict()
        );
    }
    let keys: Vec<String> = ring
        .iter()
        .map(|k| format!("{} ({})", k.name(), k.id()))
        .collect();
    let _ = writeln!(out, "Pinned keys: {}", keys.join(", "));
    let (checked, passed, failed) = reports.iter().fold((0, 0, 0), |acc, r| {
        (
            acc.0 + r.report.entries_checked,
            acc.1 + r.report.checks_passed,
            acc.2 + r.report.failures.len(),
        )
    });
    let _ = writeln!(
        out,
        "Checked {checked} entries; {passed} checks passed, {failed} failed."
    );
    let failures: Vec<_> = reports.iter().flat_map(|r| &r.report.failures).collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\nFailures:");
        for f in failures.iter().take(package::MAX_HUMAN_FAILURES) {
            let _ = writeln!(out, "  - {f}");
        }
        if failures.len() > package::MAX_HUMAN_FAILURES {
            let _ = writeln!(
                out,
                "  … and {} more (use --json for the full list)",
                failures.len() - package::MAX_HUMAN_FAILURES
            );
        }
    }
    let warnings: Vec<_> = reports.iter().flat_map(|r| &r.report.warnings).collect();
    if !warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for f in warnings {
            let _ = writeln!(out, "  - [{}] at {}: {}", f.check, f.location, f.detail);
        }
    }
    out
}

#[derive(Serialize)]
struct StoreJson<'a> {
    schema: &'static str,
    verdict: Verdict,
    verified: bool,
    store: &'a str,
    tenants: Vec<TenantJson<'a>>,
}

#[derive(Serialize)]
struct TenantJson<'a> {
    tenant: &'a TenantId,
    verdict: Verdict,
    entries: u64,
    entries_checked: u64,
    checks_passed: u64,
    failures: &'a [ai_audit::Finding],
    warnings: &'a [ai_audit::Finding],
}

fn render_store_json(url: &str, v: Verdict, reports: &[TenantReport]) -> Result<(), CliError> {
    print_json(&StoreJson {
        schema: STORE_REPORT_SCHEMA,
        verdict: v,
        verified: v == Verdict::Verified,
        store: url,
        tenants: reports
            .iter()
            .map(|r| TenantJson {
                tenant: &r.tenant,
                verdict: r.report.verdict(),
                entries: r.entries,
                entries_checked: r.report.entries_checked,
                checks_passed: r.report.checks_passed,
                failures: &r.report.failures,
                warnings: &r.report.warnings,
            })
            .collect(),
    })
}

// ---------------------------------------------------------------- export

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

// ---------------------------------------------------------------- stats

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
    /// key_rotation, epoch_link, store_repair).
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
                    "decision, tool_call, human_oversight, policy_flag, key_rotation, epoch_link, store_repair",
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

/// Flags of `ai-audit inspect`. (`--key` is reserved for the data key that
/// will decrypt sealed fields.)
#[derive(Args)]
pub struct InspectArgs {
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
    let line = entry
        .to_line()
        .map_err(|e| CliError::Invalid(format!("entry does not encode: {e}")))?;
    let value: serde_json::Value = serde_json::from_slice(&line)
        .map_err(|e| CliError::Invalid(format!("entry does not decode: {e}")))?;
    if ctx.json {
        print_json(&value)?;
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

// ---------------------------------------------------------------- epoch

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
