//! `ai-audit`: the operator binary. Parses arguments, calls the library, renders.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use ai_audit::demo::{self, DemoConfig};
use ai_audit::Verdict;
use clap::{Parser, Subcommand};

/// Tamper-evident AI decision receipts: operator tool.
///
/// Exit codes: 0 success / verified, 1 not verified, 2 could not run.
#[derive(Parser)]
#[command(name = "ai-audit", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulated AI traffic for several tenants → signed, chained receipts →
    /// files an auditor would receive → verification with the pinned key.
    Demo {
        /// Output folder.
        #[arg(long, default_value = "ai-audit-demo")]
        out: PathBuf,
        /// Number of tenants (1–64).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=64))]
        tenants: u16,
        /// Requests per tenant.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// Seed: the same seed gives byte-identical output.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo {
            out,
            tenants,
            requests,
            seed,
        } => {
            let cfg = DemoConfig {
                out,
                tenants: usize::from(tenants),
                requests,
                seed,
            };
            match demo::run(&cfg) {
                Ok(s) => {
                    println!(
                        "ai-audit demo: {} tenants × {} requests, seed {}",
                        s.tenants.len(),
                        requests,
                        seed
                    );
                    println!();
                    println!(
                        "{:<16} {:>8} {:>7} {:>7} {:>9} {:>6} {:>7} {:>12}  verdict",
                        "tenant",
                        "entries",
                        "allow",
                        "reject",
                        "escalate",
                        "pii",
                        "epochs",
                        "checkpoints"
                    );
                    let mut all_ok = true;
                    for t in &s.tenants {
                        let n = |a| {
                            t.actions
                                .iter()
                                .find(|(x, _)| *x == a)
                                .map_or(0, |(_, c)| *c)
                        };
                        println!(
                            "{:<16} {:>8} {:>7} {:>7} {:>9} {:>6} {:>7} {:>12}  {}",
                            t.tenant.as_str(),
                            t.entries,
                            n(ai_audit::Action::Allow),
                            n(ai_audit::Action::Reject),
                            n(ai_audit::Action::Escalate),
                            t.pii_stripped,
                            t.epochs,
                            t.checkpoints,
                            t.verdict
                        );
                        all_ok &= t.verdict == Verdict::Verified;
                    }
                    println!();
                    println!("verifier key (pin this): {}", s.verifier_key);
                    println!("written to:              {}", cfg.out.display());
                    println!(
                        "a tampered copy (one edited verdict, one deleted entry) verifies as: {}",
                        s.tampered_verdict
                    );
                    println!(
                        "evidence package:        {} ({})",
                        s.package.display(),
                        s.package_verdict
                    );
                    if let Some(seq) = s.shred.tombstone_seq {
                        println!(
                            "crypto-shredding:        customer-3 of the first tenant erased (shred tombstone at seq {seq}); {} of its sealed prompts unreadable, {} of other customers still readable, {} sealed in all",
                            s.shred.shredded_fields, s.shred.readable_fields, s.shred.sealed_fields
                        );
                    }
                    println!();
                    println!("an auditor checks it with the separately received keys:");
                    println!(
                        "  cargo run --release -p ai-audit-verify -- {} --key {} --key {}",
                        s.package.display(),
                        s.key_file.display(),
                        s.rotated_key_file.display()
                    );
                    all_ok &= s.package_verdict == Verdict::Verified;
                    if all_ok && s.tampered_verdict != Verdict::Verified {
                        println!(
                            "\nVERIFIED: every tenant's chain checks out against the pinned key."
                        );
                        ExitCode::SUCCESS
                    } else {
                        println!("\nNOT VERIFIED: see the table above.");
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
