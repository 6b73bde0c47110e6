//! The demo: simulated AI traffic for several tenants, recorded through the
//! collector, written to disk as an auditor would receive it, and verified
//! from those files with only the pinned verifier key.
//!
//! Deterministic for a given seed (ids, clock, key, traffic), so two runs
//! with the same seed produce byte-identical chains.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::body::{FlagOutcome, OversightOutcome, ToolStatus};
use crate::chain::ChainOptions;
use crate::checkpoint::{origin, ProofLeaf};
use crate::clock::{ManualClock, Timestamp};
use crate::collector::{Collector, ToolCallRecord};
use crate::entry::SigningMode;
use crate::id::Epoch;
use crate::id::{Code, LogName, Seq, TenantId};
use crate::keys::{KeyRing, LocalSigner, Signer};
use crate::log::SealPolicy;
use crate::random::{RandomSource, SeededRandom};
use crate::receipt::{Action, Check, Metrics};
use crate::report::Verdict;
use crate::segment::{verify_segment, NoteInput};
use crate::shred::{KeyStore, LocalKek, ShredError};
use crate::store::{SqliteOptions, SqliteStore, Store};

/// Demo settings.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// Output folder (created if missing).
    pub out: PathBuf,
    /// Number of tenants.
    pub tenants: usize,
    /// Requests per tenant.
    pub requests: usize,
    /// Seed of everything random.
    pub seed: u64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            out: PathBuf::from("ai-audit-demo"),
            tenants: 3,
            requests: 200,
            seed: 1,
        }
    }
}

/// What one tenant's chain looked like after verification.
#[derive(Clone, Debug)]
pub struct TenantSummary {
    /// Tenant.
    pub tenant: TenantId,
    /// Entries written.
    pub entries: u64,
    /// Entries per action (decisions only), in [`Action::ALL`] order.
    pub actions: Vec<(Action, u64)>,
    /// PII values stripped before commitment.
    pub pii_stripped: u64,
    /// Epochs of the tenant's log.
    pub epochs: u64,
    /// Signed checkpoints written.
    pub checkpoints: u64,
    /// Verdict of verifying the files with the pinned key.
    pub verdict: Verdict,
    /// Path of the chain file.
    pub file: PathBuf,
}

/// The demo's result.
#[derive(Clone, Debug)]
pub struct DemoSummary {
    /// Per tenant.
    pub tenants: Vec<TenantSummary>,
    /// The verifier key an auditor pins (after the demo's key rotation, the
    /// chain itself introduces the second key).
    pub verifier_key: String,
    /// Path of the public key file.
    pub key_file: PathBuf,
    /// Path of the key the log rotated to mid-way (introduced by the chain).
    pub rotated_key_file: PathBuf,
    /// The exported evidence package (ZIP).
    pub package: PathBuf,
    /// Verdict of verifying the package with both pinned keys.
    pub package_verdict: Verdict,
    /// Verdict of a deliberately tampered copy (must not be `Verified`).
    pub tampered_verdict: Verdict,
    /// The subject shred of the first tenant (a GDPR erasure request).
    pub shred: ShredSummary,
}

/// What the demo's mid-way subject shred did.
#[derive(Clone, Debug, Default)]
pub struct ShredSummary {
    /// Seq of the `shred` tombstone in the first tenant's chain.
    pub tombstone_seq: Option<Seq>,
    /// Sealed fields written (all tenants).
    pub sealed_fields: u64,
    /// Sealed fields of the shredded subject: none opens any more.
    pub shredded_fields: u64,
    /// Sealed fields of the first tenant's other subjects, all still opened.
    pub readable_fields: u64,
}

/// Errors of the demo.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// Writing the output failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The library refused something (a bug in the demo).
    #[error("demo step failed: {0}")]
    Step(String),
}

fn step<E: std::fmt::Display>(e: E) -> DemoError {
    DemoError::Step(e.to_string())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_owned(),
        source,
    }
}

const PROMPTS: &[&str] = &[
    "What is the balance of account DE89 3704 0044 0532 0130 00?",
    "Please email the summary to ｊａｎｅ．ｄｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ today.",
    "My card 4111 1111 1111 1111 was charged twice, can you refund?",
    "Is this claim covered under policy section 4.2?",
    "Call me on +44 20 7946 0958 about the loan decision.",
    "Summarise the attached contract in three bullet points.",
    "My SSN is 123-45-6789, why was my application declined?",
    "Draft a polite reply declining the meeting.",
];

/// Runs the demo.
///
/// # Errors
/// [`DemoError`] when the output cannot be written.
pub fn run(cfg: &DemoConfig) -> Result<DemoSummary, DemoError> {
    std::fs::create_dir_all(&cfg.out).map_err(io(&cfg.out))?;
    // A fresh store each run, so a seed always gives the same output.
    let db = cfg.out.join("audit.db");
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    let random = Arc::new(SeededRandom::new(cfg.seed));
    let mut seed = [0u8; 32];
    random.fill(&mut seed);
    let signer =
        Arc::new(LocalSigner::from_seed("demo.ai-audit.example/log", &seed).map_err(step)?);
    let store = Arc::new(SqliteStore::open(&db, SqliteOptions::default()).map_err(step)?);
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2026-11-22T09:00:00.000000Z").map_err(step)?,
        1_500_000,
    ));
    // Crypto-shredding keys live in the same SQLite file, wrapped under a KEK.
    // Seeded here so that a seed gives the same output (a real deployment
    // reads the KEK from a file or the environment and never seeds keys).
    let mut kek = [0u8; 32];
    random.fill(&mut kek);
    let keys = Arc::new(
        KeyStore::builder(Arc::new(LocalKek::from_bytes(kek)), store.clone())
            .random(random.clone())
            .dangerous_key_source(random.clone())
            .build(),
    );
    let tenants: Vec<TenantId> = (0..cfg.tenants)
        .map(|i| {
            TenantId::new(
                [
                    "acme-bank",
                    "globex-health",
                    "initech-legal",
                    "umbrella-ins",
                ]
                .get(i)
                .map_or_else(|| format!("tenant-{i}"), |s| (*s).to_owned()),
            )
        })
        .collect::<Result<_, _>>()
        .map_err(step)?;
    let collector = Collector::builder(
        LogName::new("demo.ai-audit.example/log").map_err(step)?,
        signer.clone(),
        store.clone(),
    )
    .clock(clock)
    .random(random.clone())
    .key_store(keys.clone())
    .signing_mode(SigningMode::BatchSealed)
    .seal_policy(SealPolicy {
        every_entries: Some(64),
        epoch_max_entries: Some(100),
        epoch_max_age: None,
    })
    .build()
    .map_err(step)?;

    let mut current_signer: Arc<LocalSigner> = signer.clone();
    let mut pii_per_tenant = vec![0u64; tenants.len()];
    let mut shred = ShredSummary::default();
    // The data subject erased mid-way, and the first tenant's sealed receipts.
    const ERASED: &str = "customer-3";
    let mut first_tenant_sealed = Vec::new();
    for r in 0..cfg.requests {
        if r == cfg.requests * 3 / 4 {
            if let Some(t0) = tenants.first() {
                let tomb = keys
                    .destroy_subject_key(
                        collector.log(),
                        t0,
                        ERASED,
                        &crate::id::ExternalId::new("dpo-1").map_err(step)?,
                        &Code::new("gdpr_art17").map_err(step)?,
                    )
                    .map_err(step)?;
                shred.tombstone_seq = Some(tomb.seq());
            }
        }
        if r == cfg.requests / 2 {
            // Mid-way key rotation: every tenant's chain records it.
            let mut s2 = [0u8; 32];
            random.fill(&mut s2);
            let next =
                Arc::new(LocalSigner::from_seed("demo.ai-audit.example/log-2", &s2).map_err(step)?);
            collector
                .log()
                .rotate_key(next.clone(), Code::new("scheduled").map_err(step)?)
                .map_err(step)?;
            current_signer = next;
        }
        for (ti, t) in tenants.iter().enumerate() {
            let mut roll = [0u8; 4];
            random.fill(&mut roll);
            let x = u32::from_be_bytes(roll);
            let prompt = PROMPTS
                .get((x as usize) % PROMPTS.len())
                .copied()
                .unwrap_or_default();
            if x % 23 == 0 {
                collector
                    .record_policy_flag(
                        t,
                        "no_personal_financial_advice",
                        FlagOutcome::Blocked,
                        Some(prompt),
                        &["finance.advice"],
                    )
                    .map_err(step)?;
                continue;
            }
            let score = f64::from(x % 1000) / 1000.0;
            let mut d = collector.start(t).map_err(step)?;
            // Every third request keeps its raw prompt sealed under the
            // customer's key (for human review), once the customer is not erased.
            let customer = format!("customer-{}", (x >> 8) % 6);
            let erased = ti == 0 && shred.tombstone_seq.is_some() && customer == ERASED;
            if x % 3 == 0 && !erased {
                d.set_subject(&customer).map_err(step)?;
                d.set_input_sealed(prompt).map_err(step)?;
                shred.sealed_fields += 1;
            } else {
                d.set_input(prompt).map_err(step)?;
            }
            d.set_trace_id(&format!("trace-{ti}-{r}")).map_err(step)?;
            d.set_session_id(&format!("sess-{}", r / 5)).map_err(step)?;
            d.add_check(
                Check::new("toxicity", "2.1")
                    .map_err(step)?
                    .score(score)
                    .map_err(step)?
                    .threshold(0.9)
                    .map_err(step)?
                    .fired(score > 0.9),
            )
            .map_err(step)?;
            d.add_check(Check::new("pii_leak", "1.0").map_err(step)?.fired(false))
                .map_err(step)?;
            d.set_model("demo-llm-2026-10", Some(b"{\"temperature\":0.2}"))
                .map_err(step)?;
            let action = if score > 0.9 {
                Action::Reject
            } else if score > 0.8 {
                Action::Escalate
            } else if x % 17 == 0 {
                Action::CacheHit
            } else {
                Action::Allow
            };
            d.set_action(action);
            if action != Action::Reject {
                d.set_output("Here is the answer you asked for.")
                    .map_err(step)?;
            }
            d.add_reason(if action == Action::Allow {
                "checks.passed"
            } else {
                "checks.threshold"
            })
            .map_err(step)?;
            d.add_tag("eu_ai_act:art12").map_err(step)?;
            d.set_metrics(Metrics {
                latency_ms: Some(80 + u64::from(x % 400)),
                input_tokens: Some(u64::from(x % 900)),
                output_tokens: Some(64),
                cost_micros: None,
            });
            let receipt = d.emit().map_err(step)?;
            if ti == 0 && x % 3 == 0 && !erased {
                first_tenant_sealed.push((customer == ERASED, receipt.clone()));
            }
            if let Ok(crate::body::Body::Decision(b)) = receipt.body() {
                if let Some(slot) = pii_per_tenant.get_mut(ti) {
                    *slot += b.pii.iter().map(|p| u64::from(p.count)).sum::<u64>();
                }
            }
            if action == Action::Escalate {
                collector
                    .record_oversight(
                        t,
                        "reviewer-17",
                        receipt.id(),
                        OversightOutcome::Approve,
                        Some("Checked against policy 4.2; fine."),
                    )
                    .map_err(step)?;
            }
            if x % 11 == 0 {
                collector
                    .record_tool_call(
                        t,
                        ToolCallRecord {
                            tool: Code::new("crm.lookup").map_err(step)?,
                            args: b"{\"customer\":\"c-1\"}",
                            result: Some(b"{\"tier\":\"gold\"}"),
                            status: ToolStatus::Ok,
                            trace_id: None,
                            call_id: None,
                            parents: vec![receipt.id()],
                            metrics: Metrics::default(),
                        },
                    )
                    .map_err(step)?;
            }
        }
    }

    // Seal what is left, as a shutdown would.
    collector.log().seal_all().map_err(step)?;
    // After the erasure: the customer's sealed prompts are gone for good,
    // every other customer's still open for an authorised reviewer.
    for (of_erased, e) in &first_tenant_sealed {
        match keys.open(e, "raw_input") {
            Err(ShredError::Shredded { seq, .. })
                if *of_erased && seq.is_some() && seq == shred.tombstone_seq =>
            {
                shred.shredded_fields += 1
            }
            Ok(_) if !of_erased => shred.readable_fields += 1,
            other => {
                return Err(DemoError::Step(format!(
                    "sealed field of seq {} after the shred: {:?}",
                    e.seq(),
                    other.map(|_| "opened")
                )))
            }
        }
    }

    // Write what an auditor receives: per tenant the JSONL chain and the
    // signed checkpoint notes, and the key (sent separately in real life).
    let first_key = signer.verifier_key().clone();
    let key_file = cfg.out.join("log.vkey");
    std::fs::write(&key_file, format!("{first_key}\n")).map_err(io(&key_file))?;
    let ring = KeyRing::from_keys([first_key.clone()]);
    let mut summaries = Vec::new();
    let mut tampered_verdict = Verdict::Verified;
    for (ti, t) in tenants.iter().enumerate() {
        let entries = store.read(t, Seq(0), Seq(u64::MAX)).map_err(step)?;
        let file = cfg.out.join(format!("{t}.jsonl"));
        let mut buf = Vec::new();
        let mut actions: Vec<(Action, u64)> = Action::ALL.iter().map(|a| (*a, 0)).collect();
        for e in &entries {
            buf.extend_from_slice(&e.to_line().map_err(step)?);
            buf.push(b'\n');
            if let Ok(crate::body::Body::Decision(b)) = e.body() {
                if let Some(slot) = actions.iter_mut().find(|(a, _)| *a == b.action) {
                    slot.1 += 1;
                }
            }
        }
        let mut f = std::fs::File::create(&file).map_err(io(&file))?;
        f.write_all(&buf).map_err(io(&file))?;
        let head_epoch = store.head(t).map_err(step)?.map_or(0, |h| h.epoch.0);
        let mut note_files = Vec::new();
        for ep in 0..=head_epoch {
            for c in store.checkpoints(t, Epoch(ep)).map_err(step)? {
                let path = cfg.out.join(format!("{t}.e{ep}.s{}.checkpoint", c.size));
                std::fs::write(&path, c.note.as_bytes()).map_err(io(&path))?;
                note_files.push(path);
            }
        }
        // Verify from the files, as an auditor would: only the pinned key.
        let text = std::fs::read(&file).map_err(io(&file))?;
        let lines: Vec<&[u8]> = text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let mut notes = Vec::new();
        for p in &note_files {
            notes.push(NoteInput {
                location: crate::report::Location {
                    file: Some(p.display().to_string().into()),
                    ..Default::default()
                },
                note: std::fs::read(p).map_err(io(p))?,
            });
        }
        let items = |ls: &[&[u8]]| -> Vec<crate::chain::Item> {
            ls.iter()
                .enumerate()
                .map(|(i, l)| {
                    (
                        crate::report::Location {
                            line: Some(i as u64 + 1),
                            ..Default::default()
                        },
                        crate::entry::Entry::from_line(l),
                    )
                })
                .collect()
        };
        let report = verify_segment(items(&lines), &notes, &ring, &ChainOptions::default());
        if ti == 0 {
            // One receipt handed to one person: a C2SP tlog-proof file.
            if let Some(e) = entries.get(3) {
                let proof = collector.log().inclusion_proof(t, e.seq()).map_err(step)?;
                let path = cfg.out.join(format!("{t}.seq{}.tlog-proof", e.seq()));
                std::fs::write(&path, proof.to_text()).map_err(io(&path))?;
                // Signed by whichever log key was current when its checkpoint
                // was made (the chain's key_rotation entry introduces the second).
                let current =
                    KeyRing::from_keys([first_key.clone(), collector.log().verifier_key()]);
                proof
                    .verify(
                        ProofLeaf::EntryHash(*e.hash()),
                        &origin(collector.log().name(), t, e.epoch()),
                        &current,
                    )
                    .map_err(step)?;
            }
        }
        if ti == 0 {
            // And show that one flipped verdict is caught.
            let mut bad: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
            if let Some(line) = bad.get_mut(1) {
                let s =
                    String::from_utf8_lossy(line).replacen("\"action\":\"", "\"action\":\"x", 1);
                *line = s.into_bytes();
            }
            if bad.len() > 3 {
                bad.remove(3);
            }
            let bad_refs: Vec<&[u8]> = bad.iter().map(Vec::as_slice).collect();
            tampered_verdict =
                verify_segment(items(&bad_refs), &notes, &ring, &ChainOptions::default()).verdict();
        }
        summaries.push(TenantSummary {
            tenant: t.clone(),
            entries: entries.len() as u64,
            actions,
            pii_stripped: pii_per_tenant.get(ti).copied().unwrap_or(0),
            epochs: head_epoch + 1,
            checkpoints: note_files.len() as u64,
            verdict: report.verdict(),
            file,
        });
    }
    // The evidence package an operator hands to an auditor, signed by the
    // current log key, and the auditor's verification of it with pinned keys.
    let rotated_key = current_signer.verifier_key().clone();
    let rotated_key_file = cfg.out.join("log-2.vkey");
    std::fs::write(&rotated_key_file, format!("{rotated_key}\n")).map_err(io(&rotated_key_file))?;
    let package = cfg.out.join("evidence.zip");
    {
        let f = std::fs::File::create(&package).map_err(io(&package))?;
        crate::package::export_package(
            store.as_ref(),
            collector.log().name(),
            current_signer.as_ref(),
            &crate::package::Scope::All,
            std::io::BufWriter::new(f),
        )
        .map_err(step)?;
    }
    let pinned = KeyRing::from_keys([first_key.clone(), rotated_key.clone()]);
    let package_verdict = crate::package::verify_package(
        std::io::BufReader::new(std::fs::File::open(&package).map_err(io(&package))?),
        &pinned,
    )
    .map_err(step)?
    .verdict();
    Ok(DemoSummary {
        tenants: summaries,
        verifier_key: first_key.to_string(),
        key_file,
        rotated_key_file,
        package,
        package_verdict,
        tampered_verdict,
        shred,
    })
}
