//! Batch-sealed receipts appended through `AuditLog` onto a `RedisStore`:
//! criterion timings for batches of 1 and 64 from one process, then a
//! whole-program measure of 4 OS processes appending to one tenant.
//!
//! `cargo bench --features redis --bench store_redis`
//!
//! Needs a Redis at `AI_AUDIT_BENCH_REDIS_URL` (default
//! `redis://127.0.0.1:6379/`). Every run writes under a fresh key prefix and
//! deletes its keys at the end. `AI_AUDIT_BENCH_SECONDS` sets how long each
//! of the 4 processes appends (default 5); `AI_AUDIT_BENCH_EPOCH_MAX` and
//! `AI_AUDIT_BENCH_SEAL_EVERY` set their [`SealPolicy`] (default: one epoch,
//! no checkpoints). Pass a filter that matches no criterion bench (e.g.
//! `-- none`) to run only the 4-process measure.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_audit::*;
use criterion::{Criterion, Throughput};

const CHILD: &str = "AI_AUDIT_BENCH_REDIS_CHILD";
const PREFIX: &str = "AI_AUDIT_BENCH_REDIS_PREFIX";
const PROCESSES: u64 = 4;
const PROCESS_BATCH: usize = 64;

fn url() -> String {
    std::env::var("AI_AUDIT_BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

fn store(prefix: &str) -> Arc<RedisStore> {
    Arc::new(RedisStore::open(&url(), RedisOptions::default().key_prefix(prefix)).unwrap())
}

fn log(store: Arc<RedisStore>, seed: u64, policy: SealPolicy) -> AuditLog {
    let signer = Arc::new(LocalSigner::from_seed("bench.example/log", &[3u8; 32]).unwrap());
    AuditLog::builder(LogName::new("bench.example/log").unwrap(), signer, store)
        .signing_mode(SigningMode::BatchSealed)
        .random(Arc::new(SeededRandom::new(seed)))
        .seal_policy(policy)
        .build()
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

/// The writer processes' policy, from the environment.
fn process_policy() -> SealPolicy {
    SealPolicy {
        every_entries: env_u64("AI_AUDIT_BENCH_SEAL_EVERY"),
        epoch_max_entries: env_u64("AI_AUDIT_BENCH_EPOCH_MAX"),
        epoch_max_age: None,
    }
}

fn body(i: u64) -> Body {
    Body::Decision(Box::new(DecisionReceipt {
        trace_id: Some(ExternalId::new(format!("trace-{i}")).unwrap()),
        session_id: None,
        input: Hash32::digest(format!("input {i}").as_bytes()),
        output: Some(Hash32::digest(format!("output {i}").as_bytes())),
        state: None,
        checks: vec![Check::new("toxicity", "2.1")
            .unwrap()
            .score(0.12)
            .unwrap()
            .threshold(0.9)
            .unwrap()],
        action: Action::Allow,
        reasons: vec![Code::new("checks.passed").unwrap()],
        sealed: Vec::new(),
        tags: vec![Code::new("eu_ai_act:art12").unwrap()],
        model: Some(ModelRef {
            id: ExternalId::new("gpt-x-2026-10").unwrap(),
            config: Some(Hash32::digest(b"cfg")),
        }),
        pii: vec![],
        provenance: vec![],
        unicode: "16.0.0".into(),
        parents: vec![],
        metrics: Metrics::default(),
    }))
}

fn unique_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("ai-audit-bench-{}-{nanos}", std::process::id())
}

/// SCAN + DEL of every key of `prefix`.
fn cleanup(prefix: &str) {
    let mut c = redis::Client::open(url())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut keys = Vec::new();
    for pattern in [format!("{{{prefix}:*"), format!("{prefix}:*")] {
        let mut cursor = 0u64;
        loop {
            let (next, mut k): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query(&mut c)
                .unwrap();
            keys.append(&mut k);
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    for chunk in keys.chunks(500) {
        redis::cmd("DEL").arg(chunk).query::<i64>(&mut c).unwrap();
    }
}

fn bench_append(c: &mut Criterion, prefix: &str) {
    let mut g = c.benchmark_group("redis_append_batch_sealed");
    for batch in [1usize, 64] {
        let log = log(store(prefix), batch as u64, SealPolicy::default());
        let t = TenantId::new(format!("bench-{batch}")).unwrap();
        let mut i = 0u64;
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(format!("batch_{batch}"), |b| {
            b.iter(|| {
                let bodies: Vec<Body> = (0..batch as u64).map(|k| body(i + k)).collect();
                i += batch as u64;
                log.append_batch(&t, &bodies).unwrap()
            })
        });
    }
    g.finish();
}

/// One of the 4 writer processes: appends batches of 64 for the given time,
/// prints `ACKED <entries> <micros>`.
fn child(prefix: &str, seed: u64, seconds: f64) {
    let log = log(store(prefix), seed, process_policy());
    let t = TenantId::new("shared").unwrap();
    let start = Instant::now();
    let (mut acked, mut i, mut contention) = (0u64, 0u64, 0u64);
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        let bodies: Vec<Body> = (0..PROCESS_BATCH as u64).map(|k| body(i + k)).collect();
        i += PROCESS_BATCH as u64;
        match log.append_batch(&t, &bodies) {
            Ok(v) => acked += v.len() as u64,
            Err(LogError::Contention(_)) => contention += 1,
            Err(e) => panic!("append failed: {e}"),
        }
    }
    println!("ACKED {acked} {} {contention}", start.elapsed().as_micros());
}

fn four_processes(prefix: &str) {
    let seconds: f64 = std::env::var("AI_AUDIT_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let start = Instant::now();
    let children: Vec<_> = (0..PROCESSES)
        .map(|seed| {
            Command::new(std::env::current_exe().unwrap())
                .env(CHILD, format!("{seed} {seconds}"))
                .env(PREFIX, prefix)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let (mut total, mut longest, mut contention) = (0u64, 0u64, 0u64);
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "writer process failed");
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find_map(|l| l.strip_prefix("ACKED ")).unwrap();
        let v: Vec<u64> = line.split(' ').map(|x| x.parse().unwrap()).collect();
        total += v[0];
        longest = longest.max(v[1]);
        contention += v[2];
    }
    let wall = start.elapsed();
    let s = store(prefix);
    let t = TenantId::new("shared").unwrap();
    let stored = s.head(&t).unwrap().map_or(0, |h| h.seq.0 + 1);
    // Epoch links are entries too, written by the log, not acknowledged
    // receipts.
    let entries = s.read(&t, Seq(0), Seq(u64::MAX)).unwrap();
    let links = entries
        .iter()
        .filter(|e| e.kind() == EntryKind::EpochLink)
        .count() as u64;
    let ok = verify_entries(
        &entries,
        &KeyRing::from_keys([LocalSigner::from_seed("bench.example/log", &[3u8; 32])
            .unwrap()
            .verifier_key()
            .clone()]),
        &ChainOptions {
            require_signatures: false,
            ..ChainOptions::default()
        },
    )
    .is_verified();
    println!("redis 4 processes: {:?}", process_policy());
    println!(
        "redis 4 processes x batches of {PROCESS_BATCH}, one tenant: {total} receipts acknowledged \
         ({stored} stored, {links} of them epoch links, chain verifies: {ok}, {contention} batches gave up on contention) in \
         {:.2} s wall => {:.0} receipts/s (wall), {:.0} receipts/s (writing time)",
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64(),
        total as f64 / (longest as f64 / 1e6),
    );
    assert_eq!(
        total + links,
        stored,
        "acknowledged and stored counts differ"
    );
    assert!(ok, "the shared chain does not verify");
}

fn main() {
    if let (Ok(arg), Ok(prefix)) = (std::env::var(CHILD), std::env::var(PREFIX)) {
        let mut w = arg.split(' ');
        let seed = w.next().unwrap().parse().unwrap();
        let seconds = w.next().unwrap().parse().unwrap();
        child(&prefix, seed, seconds);
        return;
    }
    let prefix = unique_prefix();
    let mut c = Criterion::default().configure_from_args();
    bench_append(&mut c, &prefix);
    c.final_summary();
    // `cargo test --benches` runs this binary with `--test`: skip the
    // whole-program measure there.
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        four_processes(&prefix);
    }
    cleanup(&prefix);
}
