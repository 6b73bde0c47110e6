//! The report of [`super::verify_package`] as text a person reads and as
//! the JSON a script reads (schema `ai-audit-verify/v1`, SPEC §8.7).
//! Both `ai-audit verify ZIP` and `ai-audit-verify` render with it
//! (tests/it/cli.rs checks that both print the same bytes for the same
//! package).

use serde::Serialize;

use super::PackageReport;
use crate::keys::KeyRing;
use crate::report::Verdict;

/// Failures listed in human output; the JSON lists all.
pub const MAX_HUMAN_FAILURES: usize = 20;
/// The `schema` value of the JSON output.
pub const JSON_SCHEMA: &str = "ai-audit-verify/v1";

#[derive(Serialize)]
struct JsonOut<'a> {
    schema: &'static str,
    verdict: Verdict,
    verified: bool,
    package: &'a Option<super::PackageSummary>,
    entries_checked: u64,
    checks_passed: u64,
    failures: &'a [crate::Finding],
    warnings: &'a [crate::Finding],
}

/// The machine-readable report (pretty-printed JSON, no trailing newline).
///
/// # Errors
/// A message when serialising fails.
pub fn render_json(r: &PackageReport) -> Result<String, String> {
    serde_json::to_string_pretty(&JsonOut {
        schema: JSON_SCHEMA,
        verdict: r.verdict(),
        verified: r.is_verified(),
        package: &r.summary,
        entries_checked: r.report.entries_checked,
        checks_passed: r.report.checks_passed,
        failures: &r.report.failures,
        warnings: &r.report.warnings,
    })
    .map_err(|e| e.to_string())
}

/// One sentence a non-programmer understands, for a package's verdict.
pub fn headline(v: Verdict) -> &'static str {
    match v {
        Verdict::Verified => "VERIFIED: the package is complete, unaltered and signed by a key you pinned.",
        Verdict::Tampered => "NOT VERIFIED (tampered): something in the package was changed after it was signed.",
        Verdict::Truncated => "NOT VERIFIED (truncated): records are missing at the start or the end.",
        Verdict::Missing => "NOT VERIFIED (missing): records are missing from the middle of the log.",
        Verdict::Reordered => "NOT VERIFIED (reordered): records are out of order.",
        Verdict::Forked => "NOT VERIFIED (forked): the log shows two different histories.",
        Verdict::UnknownKey => "NOT VERIFIED (unknown_key): it is signed by a key you did not provide.",
        Verdict::Malformed => "NOT VERIFIED (malformed): the file is damaged or is not a valid evidence package.",
        Verdict::UnsupportedVersion => "NOT VERIFIED (unsupported_version): it uses a format version this verifier does not read.",
        #[allow(unreachable_patterns)]
        _ => "NOT VERIFIED: a check failed.",
    }
}

/// The report for a person: the headline, what the manifest claims, the
/// pinned keys, counts, then failures (at most [`MAX_HUMAN_FAILURES`]) and
/// warnings.
pub fn render_human(r: &PackageReport, ring: &KeyRing) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "{}", headline(r.verdict()));
    let _ = writeln!(out);
    if let Some(s) = &r.summary {
        let _ = writeln!(
            out,
            "Package (as its manifest claims): {} package of log {}, {} entries in {} files, producer {} ({})",
            match s.kind {
                super::PackageKind::Log => "log",
                _ => "disclosure",
            },
            s.log,
            s.entries,
            s.files,
            s.producer,
            s.producer_key_id
        );
        for t in &s.tenants {
            let _ = writeln!(
                out,
                "  tenant {}: {} entries, seq {}..={}, {} checkpoints",
                t.tenant, t.entries, t.first_seq, t.last_seq, t.checkpoints
            );
        }
    }
    let pinned: Vec<String> = ring
        .iter()
        .map(|k| format!("{} ({})", k.name(), k.id()))
        .collect();
    let _ = writeln!(out, "Pinned keys: {}", pinned.join(", "));
    let _ = writeln!(
        out,
        "Checked {} entries; {} checks passed, {} failed.",
        r.report.entries_checked,
        r.report.checks_passed,
        r.report.failures.len()
    );
    if !r.report.failures.is_empty() {
        let _ = writeln!(out, "\nFailures:");
        for f in r.report.failures.iter().take(MAX_HUMAN_FAILURES) {
            let _ = writeln!(out, "  - {f}");
        }
        if r.report.failures.len() > MAX_HUMAN_FAILURES {
            let _ = writeln!(
                out,
                "  … and {} more (use --json for the full list)",
                r.report.failures.len() - MAX_HUMAN_FAILURES
            );
        }
    }
    if !r.report.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for f in &r.report.warnings {
            let _ = writeln!(out, "  - [{}] at {}: {}", f.check, f.location, f.detail);
        }
    }
    out
}
