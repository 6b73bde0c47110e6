//! `ai-audit demo`: runs [`ai_audit::demo`] and prints its table.

use std::path::PathBuf;

use ai_audit::cli::CliError;
use ai_audit::demo::{self, DemoConfig};
use ai_audit::Verdict;
use clap::Args;

use crate::{Ctx, Outcome};

/// `println!` that never panics on a closed stdout.
macro_rules! outln {
    () => { crate::output::print("\n") };
    ($($t:tt)*) => { crate::output::print(&(format!($($t)*) + "\n")) };
}

/// Flags of `ai-audit demo`.
#[derive(Args)]
pub struct DemoArgs {
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
}

/// Runs the demo and prints its table.
pub fn run(a: &DemoArgs, _ctx: &Ctx) -> Result<Outcome, CliError> {
    let (out, tenants, requests, seed) = (a.out.clone(), a.tenants, a.requests, a.seed);
    {
        {
            let cfg = DemoConfig {
                out,
                tenants: usize::from(tenants),
                requests,
                seed,
            };
            match demo::run(&cfg) {
                Ok(s) => {
                    outln!(
                        "ai-audit demo: {} tenants × {} requests, seed {}",
                        s.tenants.len(),
                        requests,
                        seed
                    );
                    outln!();
                    outln!(
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
                        outln!(
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
                    outln!();
                    outln!("verifier key (pin this): {}", s.verifier_key);
                    outln!("written to:              {}", cfg.out.display());
                    outln!(
                        "a tampered copy (one edited verdict, one deleted entry) verifies as: {}",
                        s.tampered_verdict
                    );
                    outln!(
                        "evidence package:        {} ({})",
                        s.package.display(),
                        s.package_verdict
                    );
                    if let Some(seq) = s.shred.tombstone_seq {
                        outln!(
                            "crypto-shredding:        customer-3 of the first tenant erased (shred tombstone at seq {seq}); {} of its sealed prompts unreadable, {} of other customers still readable, {} sealed in all",
                            s.shred.shredded_fields, s.shred.readable_fields, s.shred.sealed_fields
                        );
                    }
                    outln!();
                    outln!("an auditor checks it with the separately received keys:");
                    outln!(
                        "  cargo run --release -p ai-audit-verify -- {} --key {} --key {}",
                        s.package.display(),
                        s.key_file.display(),
                        s.rotated_key_file.display()
                    );
                    all_ok &= s.package_verdict == Verdict::Verified;
                    if all_ok && s.tampered_verdict != Verdict::Verified {
                        outln!(
                            "\nVERIFIED: every tenant's chain checks out against the pinned key."
                        );
                        Ok(Outcome::Ok)
                    } else {
                        outln!("\nNOT VERIFIED: see the table above.");
                        Ok(Outcome::NotVerified)
                    }
                }
                Err(e) => Err(CliError::Invalid(format!("demo: {e}"))),
            }
        }
    }
}
