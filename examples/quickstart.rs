//! The README's quick start: record two AI requests and verify the chain
//! with a pinned key. `cargo run --example quickstart`
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use ai_audit::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A log key (in production: LocalSigner::from_file or from_env, or an HSM behind `Signer`).
    let signer = Arc::new(LocalSigner::generate("audit.example.com/log")?);
    let store = Arc::new(MemoryStore::new());
    let collector = Collector::builder(
        LogName::new("audit.example.com/log")?,
        signer.clone(),
        store.clone(),
    )
    .build()?;
    let tenant = TenantId::new("acme-bank")?;

    // One AI request.
    let mut receipt = collector.start(&tenant)?;
    receipt.set_input("Why was the loan for ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ declined?")?;
    receipt.add_check(Check::new("toxicity", "2.1")?.score(0.02)?.threshold(0.9)?)?;
    receipt.set_model("credit-llm-2026-10", Some(b"{\"temperature\":0}"))?;
    receipt.set_output("The debt-to-income ratio is above the policy limit.")?;
    receipt.set_action(Action::Allow);
    receipt.add_reason("policy.dti_limit")?;
    receipt.add_tag("eu_ai_act:art12")?;
    let entry = receipt.emit()?;

    // The same, as a closure around the request.
    let (answer, _entry2) = collector.wrap(&tenant, "What documents do I need?", |r| {
        r.set_action(Action::Allow);
        r.set_output("Two payslips and an ID.")?;
        Ok::<_, CollectorError>("Two payslips and an ID.")
    })?;
    println!("answer: {answer}");
    println!("receipt seq 0: {}", String::from_utf8(entry.to_line()?)?);

    // An auditor pins the verifier key and verifies.
    let pinned = KeyRing::from_keys([VerifierKey::parse(&signer.verifier_key().to_string())?]);
    let entries = store.read(&tenant, Seq(0), Seq(u64::MAX))?;
    let report = verify_entries(&entries, &pinned, &ChainOptions::default());
    println!(
        "verdict: {} ({} entries, {} checks passed)",
        report.verdict(),
        report.entries_checked,
        report.checks_passed
    );
    Ok(())
}
