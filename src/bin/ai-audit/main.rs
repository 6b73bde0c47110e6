//! `ai-audit`: the operator binary. Parses arguments, resolves the
//! configuration, calls the library and renders. The work is in
//! [`ai_audit::cli`] and the rest of the library.
#![forbid(unsafe_code)]

mod commands;
mod demo;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use ai_audit::cli::{CliError, Layer, Settings};
use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  success; for verify: every check passed (VERIFIED)
  1  verify (or demo): a check failed (NOT VERIFIED); the verdict says which
  2  could not run: bad arguments, bad store URL, missing store or key, I/O

Configuration, highest precedence first: flags; environment (AI_AUDIT_STORE,
AI_AUDIT_SIGNING_KEY_FILE or AI_AUDIT_SIGNING_KEY, AI_AUDIT_KEK_FILE or
AI_AUDIT_KEK, AI_AUDIT_VERIFIER_KEYS, AI_AUDIT_LOG); the TOML file from
--config, AI_AUDIT_CONFIG, or ./ai-audit.toml (keys: store, signing_key_file,
kek_file, verifier_keys, log).";

/// Tamper-evident AI decision receipts: the operator tool.
///
/// Runs the demo, makes keys, and reads, verifies, exports and maintains an
/// audit store (sqlite://PATH, redis://HOST:PORT/DB, memory:).
#[derive(Parser)]
#[command(name = "ai-audit", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Flags every subcommand takes.
#[derive(Args)]
struct Global {
    /// The store: sqlite://PATH, redis://HOST:PORT/DB[?prefix=P] (feature
    /// redis) or memory:.
    #[arg(long, global = true, value_name = "URL")]
    store: Option<String>,
    /// The TOML config file (default: ./ai-audit.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The log's signing key file (from `ai-audit keygen`), for export, epoch roll and shred.
    #[arg(long, global = true, value_name = "FILE")]
    signing_key: Option<PathBuf>,
    /// The key-encryption key (KEK) file of the crypto-shredding key store
    /// (64 hex digits, mode 0600), for shred and inspect --decrypt.
    #[arg(long, global = true, value_name = "FILE")]
    kek: Option<PathBuf>,
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Simulated AI traffic for several tenants → signed, chained receipts →
    /// files an auditor would receive → verification with the pinned key.
    Demo(demo::DemoArgs),
    /// Make a new log signing key (file mode 0600) and print its verifier key.
    Keygen(commands::KeygenArgs),
    /// Verify a store (one tenant or all) or an evidence package (ZIP).
    Verify(commands::VerifyArgs),
    /// Export an evidence package (ZIP): a log export, or --disclose
    /// selected entries with inclusion proofs.
    Export(commands::ExportArgs),
    /// Counts, heads and epochs per tenant.
    Stats(commands::StatsArgs),
    /// List entries, filtered by tenant, kind, action, time, trace or seq.
    List(commands::ListArgs),
    /// Show one entry in full.
    Inspect(commands::InspectArgs),
    /// Print the latest signed checkpoint of a tenant's epoch.
    Checkpoint(commands::CheckpointArgs),
    /// Write a C2SP tlog-proof file for one entry.
    Prove(commands::ProveArgs),
    /// Crypto-shred a tenant or one data subject: destroy the keys of their
    /// sealed fields (irreversible) and append a signed shred tombstone.
    Shred(commands::ShredArgs),
    /// Roll a tenant over to a new epoch, or archive a closed one.
    #[command(subcommand)]
    Epoch(commands::EpochCommand),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// What a command produced: success, or a verification that failed.
enum Outcome {
    Ok,
    NotVerified,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::NotVerified) => ExitCode::from(1),
        Err(e) => {
            output::print_error(&e);
            ExitCode::from(2)
        }
    }
}

/// The resolved configuration and the output mode.
struct Ctx {
    settings: Settings,
    json: bool,
}

fn settings(g: &Global) -> Result<Settings, CliError> {
    let flags = Layer {
        store: g.store.clone().map(|s| (s, None)),
        signing_key_file: g.signing_key.clone(),
        kek_file: g.kek.clone(),
        ..Layer::default()
    };
    let env = Layer::from_env(|k| std::env::var(k).ok());
    let explicit = g
        .config
        .clone()
        .or_else(|| std::env::var_os(ai_audit::cli::CONFIG_ENV).map(PathBuf::from));
    // The current folder as the empty path, so paths print as given.
    let file = Layer::load_file(explicit.as_deref(), std::path::Path::new(""))?;
    Ok(Settings::resolve([flags, env].into_iter().chain(file)))
}

fn run(cli: Cli) -> Result<Outcome, CliError> {
    if let Command::Completions { shell } = cli.command {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd, "ai-audit", &mut buf);
        output::print_bytes(&buf);
        return Ok(Outcome::Ok);
    }
    let ctx = Ctx {
        settings: settings(&cli.global)?,
        json: cli.global.json,
    };
    match cli.command {
        Command::Demo(a) => demo::run(&a, &ctx),
        Command::Keygen(a) => commands::keygen(&a, &ctx),
        Command::Verify(a) => commands::verify(&a, &ctx),
        Command::Export(a) => commands::export(&a, &ctx),
        Command::Stats(a) => commands::stats(&a, &ctx),
        Command::List(a) => commands::list(&a, &ctx),
        Command::Inspect(a) => commands::inspect(&a, &ctx),
        Command::Checkpoint(a) => commands::checkpoint(&a, &ctx),
        Command::Prove(a) => commands::prove(&a, &ctx),
        Command::Shred(a) => commands::shred(&a, &ctx),
        Command::Epoch(a) => commands::epoch(&a, &ctx),
        Command::Completions { .. } => Ok(Outcome::Ok),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
