//! Collector → signed receipt → memory store, and chain verification.
//!
//! `cargo bench --bench receipts`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use ai_audit::*;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

fn collector(mode: SigningMode) -> (Collector, Arc<MemoryStore>, TenantId) {
    let store = Arc::new(MemoryStore::new());
    let signer = Arc::new(LocalSigner::from_seed("bench.example/log", &[3u8; 32]).unwrap());
    let c = Collector::builder(
        LogName::new("bench.example/log").unwrap(),
        signer,
        store.clone(),
    )
    .signing_mode(mode)
    .random(Arc::new(SeededRandom::new(1)))
    .build()
    .unwrap();
    (c, store, TenantId::new("acme").unwrap())
}

const PROMPT: &str = "Please summarise the claim history for the customer and say whether the policy covers water damage in the basement. Contact: jane.doe@example.com";

fn record(c: &Collector, t: &TenantId, i: u64) -> Entry {
    let mut d = c.start(t).unwrap();
    d.set_input(PROMPT).unwrap();
    d.add_check(
        Check::new("toxicity", "2.1")
            .unwrap()
            .score(0.12)
            .unwrap()
            .threshold(0.9)
            .unwrap(),
    )
    .unwrap();
    d.add_check(Check::new("pii_leak", "1.0").unwrap()).unwrap();
    d.set_output("The policy covers sudden water damage; gradual seepage is excluded.")
        .unwrap();
    d.set_action(if i.is_multiple_of(10) {
        Action::Escalate
    } else {
        Action::Allow
    });
    d.set_model("gpt-x-2026-10", None).unwrap();
    d.add_reason("checks.passed").unwrap();
    d.add_tag("eu_ai_act:art12").unwrap();
    d.set_trace_id("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    d.emit().unwrap()
}

fn bench_emit(c: &mut Criterion) {
    let mut g = c.benchmark_group("emit");
    g.throughput(Throughput::Elements(1));
    for (name, mode) in [
        ("per_entry_signed", SigningMode::PerEntry),
        ("batch_sealed", SigningMode::BatchSealed),
    ] {
        let (col, store, t) = collector(mode);
        let mut i = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                record(&col, &t, i)
            })
        });
        let n = store.head(&t).unwrap().map_or(0, |h| h.seq.0 + 1);
        eprintln!(
            "{name}: {} receipts stored, {} bytes of lines = {} B/receipt",
            n,
            store.stored_bytes(),
            store.stored_bytes() as u64 / n.max(1)
        );
    }
    g.finish();
}

fn bench_verify(c: &mut Criterion) {
    let (col, store, t) = collector(SigningMode::PerEntry);
    let n = 2_000u64;
    for i in 0..n {
        record(&col, &t, i);
    }
    let lines: Vec<Vec<u8>> = store
        .read(&t, Seq(0), Seq(n))
        .unwrap()
        .iter()
        .map(|e| e.to_line().unwrap())
        .collect();
    let keys = KeyRing::from_keys([col.log().verifier_key()]);
    let mut g = c.benchmark_group("verify_chain");
    g.throughput(Throughput::Elements(n));
    g.sample_size(20);
    g.bench_function("per_entry_signed_2000", |b| {
        b.iter_batched(
            || lines.clone(),
            |ls| {
                let r = verify_lines(
                    ls.iter().map(Vec::as_slice),
                    &keys,
                    &ChainOptions::default(),
                );
                assert!(r.is_verified());
                r
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(4)).warm_up_time(std::time::Duration::from_secs(1));
    targets = bench_emit, bench_verify
}
criterion_main!(benches);
