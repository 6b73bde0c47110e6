//! `ai-audit-verify`: checks an ai-audit evidence package offline against
//! pinned verifier keys. Thin: parses arguments, calls
//! [`ai_audit::verify_package`], renders the report with
//! [`ai_audit::package::render_human`] / [`ai_audit::package::render_json`]
//! (the code `ai-audit verify ZIP` renders with).
//!
//! Exit codes: 0 verified, 1 not verified, 2 could not run.

use std::fs::File;
use std::io::{BufReader, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use ai_audit::package::{render_human, render_json, verify_package_with, Progress, VerifyOptions};
use ai_audit::{KeyRing, VerifierKey};
use clap::{Parser, ValueEnum};

mod progress;

/// Largest key file read.
const MAX_KEY_FILE_BYTES: u64 = 4096;

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
