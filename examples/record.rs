//! An application recording AI decisions into a real SQLite store, signed
//! with a key from `ai-audit keygen` — the store the README's operator
//! walk-through then inspects, exports and verifies with `ai-audit`.
//!
//! `cargo run --release --example record -- audit.db log.key [requests [kek.key]]`
//!
//! With a KEK file (created with mode 0600 if missing), each request's raw
//! input is also kept sealed under the key of its data subject
//! (`customer-0` … `customer-6`), so that `ai-audit shred --subject` can
//! erase one customer's inputs.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use ai_audit::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (db, key) = match (args.first(), args.get(1)) {
        (Some(d), Some(k)) => (PathBuf::from(d), PathBuf::from(k)),
        _ => return Err("usage: record STORE.db KEY_FILE [REQUESTS [KEK_FILE]]".into()),
    };
    let requests: u64 = args.get(2).map_or(Ok(20), |n| n.parse())?;
    // The log key from `ai-audit keygen` (mode 0600); its name is the log's name.
    let signer = Arc::new(LocalSigner::from_file(&key)?);
    let log = LogName::new(signer.verifier_key().name())?;
    let store = Arc::new(SqliteStore::open(&db, SqliteOptions::default())?);
    let mut builder = Collector::builder(log, signer.clone(), store.clone())
        .signing_mode(SigningMode::BatchSealed)
        .seal_policy(SealPolicy {
            every_entries: Some(16),
            ..SealPolicy::default()
        });
    let sealing = args.get(3).map(PathBuf::from);
    if let Some(kek_file) = &sealing {
        if !kek_file.exists() {
            LocalKek::generate().write_file(kek_file)?;
        }
        // The keys live in the store's own key vault, wrapped under the KEK.
        let kek = Arc::new(LocalKek::from_file(kek_file)?);
        builder = builder.key_store(Arc::new(KeyStore::builder(kek, store.clone()).build()));
    }
    let collector = builder.build()?;
    for tenant in ["acme-bank", "globex-health"] {
        let tenant = TenantId::new(tenant)?;
        for i in 0..requests {
            let mut r = collector.start(&tenant)?;
            let question = format!("Question {i}: why was my loan declined?");
            if sealing.is_some() {
                r.set_subject(&format!("customer-{}", i % 7))?;
                r.set_input_sealed(&question)?;
            } else {
                r.set_input(&question)?;
            }
            r.set_trace_id(&format!("trace-{i}"))?;
            r.add_check(Check::new("toxicity", "2.1")?.score(0.02)?.threshold(0.9)?)?;
            r.set_model("credit-llm-2026-10", Some(b"{\"temperature\":0}"))?;
            r.set_action(if i % 5 == 4 {
                Action::Escalate
            } else {
                Action::Allow
            });
            r.set_output("The debt-to-income ratio is above the policy limit.")?;
            r.add_reason("policy.dti_limit")?;
            r.emit()?;
        }
    }
    // As a shutdown would: everything written is covered by a signed checkpoint.
    collector.log().seal_all()?;
    println!(
        "recorded {} decisions into {} with key {}",
        2 * requests,
        db.display(),
        signer.verifier_key().id()
    );
    Ok(())
}
