//! `ai-audit-verify`: checks an ai-audit evidence package offline against
//! pinned verifier keys. Thin: parses arguments, calls
//! [`ai_audit::verify_package`], renders the report.
//!
//! Exit codes: 0 verified, 1 not verified, 2 could not run.

use std::fs::File;
use std::io::{BufReader, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use ai_audit::package::{verify_package_with, PackageReport, Progress, VerifyOptions};
use ai_audit::{KeyRing, Verdict, VerifierKey};
use clap::{Parser, ValueEnum};
use serde::Serialize;

mod progress;

/// Largest key file read.
const MAX_KEY_FILE_BYTES: u64 = 4096;
/// Failures listed in human output; `--json` lists all.
const MAX_HUMAN_FAILURES: usize = 20;
/// The `schema` value of `--json` output.
const JSON_SCHEMA: &str = "ai-audit-verify/v1";

/// Verify an ai-audit evidence package against pinned public keys.
#[derive(Parser, Debug)]
#[command(name = "ai-audit-verify", version)]
struct Args {
    /// The package (a ZIP). It is read, never extracted.
    package: PathBuf,
    /// A pinned verifier key: a C2SP verifier-key string
    /// (name+hexid+base64) or a file holding one. Repeat for rotated keys.
    /// Keys inside the package are never trusted.
    #[arg(long = "key", value_name = "VKEY", required = true)]
    keys: Vec<String>,
    /// Print the machine-readable report (schema ai-audit-verify/v1).
    #[arg(long)]
    json: bool,
    /// Progress bar on stderr: `auto` draws it when stderr is a terminal
    /// and the package holds at least 10,000 entries.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    progress: When,
}

/// When to draw the progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum When {
    /// When stderr is a terminal and the package is large.
    Auto,
    /// Always (also when stderr is piped).
    Always,
    /// Never.
    Never,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::from(0),
        Ok(false) => ExitCode::from(1),
        Err(msg) => {
            eprintln!("ai-audit-verify: could not run: {msg}");
            ExitCode::from(2)
        }
    }
}

fn load_key(arg: &str) -> Result<VerifierKey, String> {
    if let Ok(k) = VerifierKey::parse(arg) {
        return Ok(k);
    }
    let path = PathBuf::from(arg);
    let meta = std::fs::metadata(&path)
        .map_err(|_| format!("--key {arg:?} is neither a verifier key nor a readable file"))?;
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(format!(
            "key file {arg:?} is larger than {MAX_KEY_FILE_BYTES} bytes"
        ));
    }
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read key file {arg:?}: {e}"))?;
    VerifierKey::parse(text.trim_end()).map_err(|e| format!("key file {arg:?}: {e}"))
}

fn run(args: &Args) -> Result<bool, String> {
    let keys = args
        .keys
        .iter()
        .map(|k| load_key(k))
        .collect::<Result<Vec<_>, _>>()?;
    let ring = KeyRing::from_keys(keys);
    let file = File::open(&args.package)
        .map_err(|e| format!("cannot open {}: {e}", args.package.display()))?;
    let terminal = std::io::stderr().is_terminal();
    let bar = progress::Bar::new(terminal);
    let draw = |p: Progress| {
        let wanted = match args.progress {
            When::Always => true,
            When::Auto => terminal && p.entries_total >= progress::AUTO_MIN_ENTRIES,
            When::Never => false,
        };
        if wanted {
            bar.update(p);
        }
    };
    let options = VerifyOptions::new().with_progress(&draw);
    let result = verify_package_with(BufReader::with_capacity(1 << 16, file), &ring, &options);
    bar.finish();
    let report = result.map_err(|e| format!("{}: {e}", args.package.display()))?;
    let text = if args.json {
        render_json(&report)? + "\n"
    } else {
        render_human(&report, &ring)
    };
    // A closed stdout (e.g. `| head -1`) must not turn a verdict into a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
    Ok(report.is_verified())
}

#[derive(Serialize)]
struct JsonOut<'a> {
    schema: &'static str,
    verdict: Verdict,
    verified: bool,
    package: &'a Option<ai_audit::package::PackageSummary>,
    entries_checked: u64,
    checks_passed: u64,
    failures: &'a [ai_audit::Finding],
    warnings: &'a [ai_audit::Finding],
}

fn render_json(r: &PackageReport) -> Result<String, String> {
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

/// One sentence a non-programmer understands.
fn headline(v: Verdict) -> &'static str {
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
        _ => "NOT VERIFIED: a check failed.",
    }
}

fn render_human(r: &PackageReport, ring: &KeyRing) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "{}", headline(r.verdict()));
    let _ = writeln!(out);
    if let Some(s) = &r.summary {
        let _ = writeln!(
            out,
            "Package (as its manifest claims): {} package of log {}, {} entries in {} files, producer {} ({})",
            match s.kind {
                ai_audit::package::PackageKind::Log => "log",
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
