//! Evidence packages: export and verification at 10k and 100k receipts,
//! per-entry signed and batch-sealed (a checkpoint every 1,000 entries).
//!
//! - `package_export/{signed,sealed}/N`: `export_package` of one tenant's
//!   N decision receipts from a `MemoryStore` into memory.
//! - `package_verify/{signed,sealed}/N`: `verify_package` of that package
//!   (streaming, all cores, Ed25519 batch verification).
//! - `sig_batch/N`: `ed25519_dalek::verify_batch` of N signatures, per
//!   signature (`-- sig_batch` alone runs in seconds), for the pipeline's
//!   batch size.
//!
//! `cargo bench --no-default-features --bench package -- --measurement-time 10`
//!
//! For whole-program runs (peak RSS of `ai-audit-verify` at 1M receipts):
//! `cargo bench --no-default-features --bench package -- --write DIR N`
//! writes `DIR/signed_N.zip` and `DIR/sealed_N.zip` and prints the key to
//! pin, e.g. then
//! `/usr/bin/time -v target/release/ai-audit-verify DIR/signed_N.zip --key KEY`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use ai_audit::*;
use criterion::{BenchmarkId, Criterion, Throughput};

const SIZES: [u64; 2] = [10_000, 100_000];

fn signer() -> Arc<LocalSigner> {
    Arc::new(LocalSigner::from_seed("bench.example/log", &[7u8; 32]).unwrap())
}

fn decision(i: u64) -> Body {
    Body::Decision(Box::new(DecisionReceipt {
        trace_id: Some(ExternalId::new(format!("trace-{i}")).unwrap()),
        session_id: None,
        input: Hash32::digest(format!("input {i}").as_bytes()),
        output: Some(Hash32::digest(format!("output {i}").as_bytes())),
        state: None,
        checks: vec![Check::new("toxicity", "v1")
            .unwrap()
            .score(0.25)
            .unwrap()
            .threshold(0.5)
            .unwrap()
            .detail("ok")],
        action: if i.is_multiple_of(5) {
            Action::Reject
        } else {
            Action::Allow
        },
        reasons: vec![Code::new("policy.ok").unwrap()],
        tags: vec![Code::new("eu_ai_act:art12").unwrap()],
        model: Some(ModelRef {
            id: ExternalId::new("model-x").unwrap(),
            config: Some(Hash32::digest(b"cfg")),
        }),
        pii: vec![PiiCount {
            category: "email".into(),
            count: 1,
        }],
        provenance: Vec::new(),
        unicode: "16.0.0".into(),
        sealed: Vec::new(),
        parents: vec![],
        metrics: Metrics {
            latency_ms: Some(120 + i),
            ..Metrics::default()
        },
    }))
}

fn log_name() -> LogName {
    LogName::new("bench.example/log").unwrap()
}

/// A store holding one tenant's `n` receipts, all sealed.
fn store(mode: SigningMode, n: u64) -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2026-11-22T10:00:00.000000Z").unwrap(),
        1_000,
    ));
    let log = AuditLog::builder(log_name(), signer(), store.clone())
        .clock(clock)
        .random(Arc::new(SeededRandom::new(42)))
        .signing_mode(mode)
        .seal_policy(SealPolicy {
            every_entries: Some(1000),
            epoch_max_entries: Some(250_000),
            ..SealPolicy::default()
        })
        .build();
    let t = TenantId::new("acme").unwrap();
    for i in 0..n {
        log.append(&t, &decision(i)).unwrap();
    }
    log.seal_all().unwrap();
    store
}

fn export(store: &MemoryStore) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    export_package(store, &log_name(), &*signer(), &Scope::All, &mut out).unwrap();
    out.into_inner()
}

fn keys() -> KeyRing {
    KeyRing::from_keys([signer().verifier_key().clone()])
}

fn modes() -> [(&'static str, SigningMode); 2] {
    [
        ("signed", SigningMode::PerEntry),
        ("sealed", SigningMode::BatchSealed),
    ]
}

fn bench(c: &mut Criterion) {
    for (label, mode) in modes() {
        for n in SIZES {
            let s = store(mode, n);
            let bytes = export(&s);
            assert!(verify_package(Cursor::new(&bytes), &keys())
                .unwrap()
                .is_verified());
            let mut g = c.benchmark_group("package_export");
            g.sample_size(10).throughput(Throughput::Elements(n));
            g.bench_with_input(BenchmarkId::new(label, n), &s, |b, s| b.iter(|| export(s)));
            g.finish();
            drop(s);
            let mut g = c.benchmark_group("package_verify");
            g.sample_size(10).throughput(Throughput::Elements(n));
            g.bench_with_input(BenchmarkId::new(label, n), &bytes, |b, bytes| {
                b.iter(|| verify_package(Cursor::new(bytes), &keys()).unwrap())
            });
            g.finish();
        }
    }
}

/// `--write DIR N`: writes the two packages of N receipts for whole-program
/// runs, and prints how long each export took (the store is built first,
/// outside the timing).
fn write(dir: &str, n: u64) {
    std::fs::create_dir_all(dir).unwrap();
    for (label, mode) in modes() {
        let path = std::path::Path::new(dir).join(format!("{label}_{n}.zip"));
        let s = store(mode, n);
        let f = std::fs::File::create(&path).unwrap();
        let mut f = std::io::BufWriter::new(f);
        let start = std::time::Instant::now();
        export_package(&*s, &log_name(), &*signer(), &Scope::All, &mut f).unwrap();
        std::io::Write::flush(&mut f).unwrap();
        let secs = start.elapsed().as_secs_f64();
        println!(
            "wrote {} (export: {secs:.2} s, {:.0} receipts/s)",
            path.display(),
            n as f64 / secs
        );
    }
    println!("key {}", signer().verifier_key());
}

/// `sig_batch/N`: `ed25519_dalek::verify_batch` of N entry signatures
/// (throughput per signature), to choose the pipeline's batch size.
fn sig_batch(c: &mut Criterion) {
    use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
    let sk = SigningKey::from_bytes(&[9u8; 32]);
    let vk: VerifyingKey = sk.verifying_key();
    let mut g = c.benchmark_group("sig_batch");
    for n in [64usize, 256, 512, 1024, 2048] {
        let msgs: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("ai-audit/v1/entry-sig\0{i:032}").into_bytes())
            .collect();
        let sigs: Vec<ed25519_dalek::Signature> = msgs.iter().map(|m| sk.sign(m)).collect();
        let vks = vec![vk; n];
        let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| ed25519_dalek::verify_batch(&refs, &sigs, &vks).unwrap())
        });
    }
    g.finish();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--write") {
        let dir = args.get(i + 1).expect("--write DIR N");
        let n = args
            .get(i + 2)
            .and_then(|s| s.parse().ok())
            .expect("--write DIR N");
        write(dir, n);
        return;
    }
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(10))
        .configure_from_args();
    sig_batch(&mut c);
    bench(&mut c);
    c.final_summary();
}
