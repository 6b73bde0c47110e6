//! `ai-audit verify`: a store or an evidence package, against pinned keys.

use std::fmt::Write as _;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use ai_audit::cli::{self, CliError, OpenMode, TenantReport};
use ai_audit::package::{self};
use ai_audit::{KeyRing, TenantId, Verdict};
use clap::Args;
use serde::Serialize;

use crate::output::{print, print_json, Progress};
use crate::{Ctx, Outcome};

use super::{count, open, pinned, tenant_id, STORE_REPORT_SCHEMA};

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
