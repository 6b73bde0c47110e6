//! Collector → signed receipt → memory store, and chain verification.
//!
//! `cargo bench --bench receipts`
//!
//! Besides criterion's wall-clock figures, each `emit` case prints the
//! on-CPU time per receipt of the calling thread (Linux schedstat; less
//! disturbed by other load on a shared machine than wall time) and the
//! memory a `MemoryStore` holds per receipt (growth of the resident set
//! while 100,000 receipts are stored, and bytes of lines).
//! `emit/per_entry_signed_pipeline_2_threads` submits the same receipts
//! through a [`Pipeline`]: the request thread builds them, the writer thread
//! chains, signs and stores — two cores, reported as such.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_audit::*;
use criterion::{criterion_group, BatchSize, Criterion, Throughput};

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
    draft(c, t, i).emit().unwrap()
}

fn draft(c: &Collector, t: &TenantId, i: u64) -> DecisionDraft {
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
    d
}

/// Nanoseconds this thread has run on a CPU (Linux), if known.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Resident set size in bytes (Linux), if known.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// On-CPU time per receipt and memory held per receipt, on a fresh store.
fn report_cpu_and_memory(name: &str, mode: SigningMode) {
    let (col, store, t) = collector(mode);
    let n = match mode {
        SigningMode::PerEntry => 20_000u64,
        _ => 100_000,
    };
    for i in 0..1_000 {
        record(&col, &t, i);
    }
    let (rss0, cpu0) = (rss_bytes(), thread_cpu_ns());
    for i in 0..n {
        std::hint::black_box(record(&col, &t, i));
    }
    let (rss1, cpu1) = (rss_bytes(), thread_cpu_ns());
    if let (Some(a), Some(b)) = (cpu0, cpu1) {
        eprintln!(
            "{name}: on-CPU {:.2} µs per receipt ({n} receipts, calling thread)",
            (b - a) as f64 / n as f64 / 1000.0
        );
    }
    let stored = n + 1_000;
    if let (Some(a), Some(b)) = (rss0, rss1) {
        eprintln!(
            "{name}: memory held {} B per receipt (RSS growth over {n}), lines {} B per receipt",
            b.saturating_sub(a) / n,
            store.stored_bytes() as u64 / stored
        );
    }
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
        report_cpu_and_memory(name, mode);
    }
    // A batch of 512 built receipts appended at once: chained on the
    // calling thread, signed on every core.
    let (col, _store, t) = collector(SigningMode::PerEntry);
    g.throughput(Throughput::Elements(512));
    let mut next = 0u64;
    g.bench_function("per_entry_signed_append_batch_512", |b| {
        b.iter_batched(
            || {
                (0..512)
                    .map(|_| {
                        next += 1;
                        Body::Decision(Box::new(draft(&col, &t, next).to_receipt().unwrap()))
                    })
                    .collect::<Vec<_>>()
            },
            |bodies| col.log().append_batch(&t, &bodies).unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.throughput(Throughput::Elements(1));
    let (col, _store, t) = collector(SigningMode::PerEntry);
    let pipe = Pipeline::start(col.log().clone(), PipelineConfig::default());
    g.bench_function("per_entry_signed_pipeline_2_threads", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            let mut pending = VecDeque::new();
            for i in 0..iters {
                let d = draft(&col, &t, i);
                let body = Body::Decision(Box::new(d.to_receipt().unwrap()));
                pending.push_back(pipe.submit(&t, body).unwrap());
                if pending.len() > 2048 {
                    pending
                        .pop_front()
                        .unwrap()
                        .wait(Duration::from_secs(60))
                        .unwrap();
                }
            }
            for p in pending {
                p.wait(Duration::from_secs(60)).unwrap();
            }
            start.elapsed()
        })
    });
    pipe.shutdown().unwrap();
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

/// What the hardware allows: the primitives every receipt pays for.
fn bench_baseline(c: &mut Criterion) {
    use ed25519_dalek::{Signer as _, SigningKey};
    use sha2::{Digest, Sha256};
    let mut g = c.benchmark_group("baseline");
    g.throughput(Throughput::Elements(1));
    let sk = SigningKey::from_bytes(&[7u8; 32]);
    let vk = sk.verifying_key();
    let msg = [5u8; 54];
    let sig = sk.sign(&msg);
    g.bench_function("ed25519_sign", |b| {
        b.iter(|| sk.sign(std::hint::black_box(&msg)))
    });
    g.bench_function("ed25519_verify_strict", |b| {
        b.iter(|| vk.verify_strict(std::hint::black_box(&msg), &sig).unwrap())
    });
    let n = 64;
    let msgs: Vec<[u8; 54]> = (0..n).map(|i| [i as u8; 54]).collect();
    let sigs: Vec<_> = msgs.iter().map(|m| sk.sign(m)).collect();
    let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    let vks = vec![vk; n];
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("ed25519_verify_batch_64", |b| {
        b.iter(|| ed25519_dalek::verify_batch(&refs, &sigs, &vks).unwrap())
    });
    g.throughput(Throughput::Bytes(700));
    let line = vec![b'a'; 700];
    g.bench_function("sha256_700_bytes", |b| {
        b.iter(|| Sha256::digest(std::hint::black_box(&line)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(4)).warm_up_time(std::time::Duration::from_secs(1));
    targets = bench_baseline, bench_emit, bench_verify
}
/// `AI_AUDIT_EMIT_COUNT=N` runs exactly N receipts of each mode on a fresh
/// store and exits (no criterion): for instruction counts, e.g.
/// `perf stat -e instructions` at two values of N, the difference divided
/// by the difference of N being the count per receipt without the setup.
fn main() {
    if let Some(n) = std::env::var("AI_AUDIT_EMIT_COUNT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        let only = std::env::var("AI_AUDIT_EMIT_MODE").ok();
        for (name, mode) in [
            ("per_entry_signed", SigningMode::PerEntry),
            ("batch_sealed", SigningMode::BatchSealed),
        ] {
            if only.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            let (col, store, t) = collector(mode);
            for i in 0..n {
                std::hint::black_box(record(&col, &t, i));
            }
            eprintln!(
                "{name}: {n} receipts, {} bytes of lines",
                store.stored_bytes()
            );
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
