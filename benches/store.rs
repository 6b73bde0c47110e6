//! Durable SQLite appends: WAL, `synchronous=FULL` (every commit fsynced),
//! batch-sealed entries, 1, 64 and 512 entries per transaction.
//!
//! - `sqlite_append/prebuilt/N`: `SqliteStore::append` of entries chained
//!   beforehand (the store's own cost: encoding, index columns, insert,
//!   fsync).
//! - `sqlite_append/audit_log/N`: `AuditLog::append_batch` onto the store
//!   (chaining, hashing, encoding and the store).
//!
//! - `sqlite_append/pipeline_submitters/N`: N request threads, each
//!   submitting one receipt through a [`Pipeline`] and waiting for its
//!   acknowledgement (stored and fsynced) before the next: durable appends
//!   per second as a service sees them, with group commit.
//!
//! `cargo bench --no-default-features --features sqlite --bench store`
//!
//! The database lives under Cargo's target tmp dir (a real disk, so fsync
//! costs what it costs); set `AI_AUDIT_BENCH_DIR` to measure another disk.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_audit::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use parking_lot::Mutex;

const BATCHES: [usize; 3] = [1, 64, 512];

/// An in-memory store that keeps only each tenant's head: the pre-building
/// log chains millions of entries through it without holding them.
#[derive(Default)]
struct HeadsOnly(Mutex<HashMap<TenantId, ChainHead>>);

impl Store for HeadsOnly {
    fn head(&self, t: &TenantId) -> Result<Option<ChainHead>, StoreError> {
        Ok(self.0.lock().get(t).copied())
    }
    fn append(&self, t: &TenantId, entries: &[Entry]) -> Result<(), StoreError> {
        let mut heads = self.0.lock();
        check_append(t, heads.get(t), entries)?;
        if let Some(last) = entries.last() {
            heads.insert(t.clone(), ChainHead::of(last));
        }
        Ok(())
    }
    fn read(&self, _: &TenantId, _: Seq, _: Seq) -> Result<Vec<Entry>, StoreError> {
        Ok(Vec::new())
    }
    fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        Ok(self.0.lock().keys().cloned().collect())
    }
    fn epoch_start(&self, _: &TenantId, _: Epoch) -> Result<Option<Seq>, StoreError> {
        Ok(Some(Seq(0)))
    }
    fn put_checkpoint(&self, t: &TenantId, _: &StoredCheckpoint) -> Result<(), StoreError> {
        Err(StoreError::InvalidAppend {
            tenant: t.clone(),
            reason: "bench store keeps no checkpoints".into(),
        })
    }
    fn checkpoints(&self, _: &TenantId, _: Epoch) -> Result<Vec<StoredCheckpoint>, StoreError> {
        Ok(Vec::new())
    }
    fn delete_archived_epoch(&self, t: &TenantId, _: Epoch) -> Result<u64, StoreError> {
        Err(StoreError::InvalidAppend {
            tenant: t.clone(),
            reason: "bench store keeps no epochs".into(),
        })
    }
}

fn log(store: Arc<dyn Store>) -> AuditLog {
    let signer = Arc::new(LocalSigner::from_seed("bench.example/log", &[3u8; 32]).unwrap());
    AuditLog::builder(LogName::new("bench.example/log").unwrap(), signer, store)
        .signing_mode(SigningMode::BatchSealed)
        .random(Arc::new(SeededRandom::new(1)))
        .build()
}

/// A decision receipt of realistic size (≈ 0.9 KB as a stored line). Trace
/// ids are random (W3C style), three entries per trace; session ids are
/// random too, ten entries per session.
fn receipt(i: u64) -> Body {
    let rand_id = |domain: &str, n: u64| {
        Hash32::digest(format!("{domain}{n}").as_bytes()).to_hex()[..32].to_owned()
    };
    Body::Decision(Box::new(DecisionReceipt {
        trace_id: Some(ExternalId::new(rand_id("trace", i / 3)).unwrap()),
        session_id: Some(ExternalId::new(rand_id("session", i / 10)).unwrap()),
        input: Hash32::digest(format!("input {i}").as_bytes()),
        output: Some(Hash32::digest(format!("output {i}").as_bytes())),
        state: None,
        checks: vec![
            Check::new("toxicity", "2.1")
                .unwrap()
                .score(0.12)
                .unwrap()
                .threshold(0.9)
                .unwrap(),
            Check::new("pii_leak", "1.0").unwrap(),
        ],
        action: if i.is_multiple_of(10) {
            Action::Escalate
        } else {
            Action::Allow
        },
        reasons: vec![Code::new("checks.passed").unwrap()],
        sealed: Vec::new(),
        tags: vec![Code::new("eu_ai_act:art12").unwrap()],
        model: Some(ModelRef {
            id: ExternalId::new("gpt-x-2026-10").unwrap(),
            config: Some(Hash32::digest(b"cfg")),
        }),
        pii: vec![PiiCount {
            category: "email".into(),
            count: 1,
        }],
        provenance: vec![],
        unicode: "16.0.0".into(),
        parents: vec![],
        metrics: Metrics {
            latency_ms: Some(120 + i % 50),
            ..Metrics::default()
        },
    }))
}

/// The next `n` receipts of a run.
fn receipts(next: &mut u64, n: usize) -> Vec<Body> {
    let out = (*next..*next + n as u64).map(receipt).collect();
    *next += n as u64;
    out
}

fn db_dir() -> tempfile::TempDir {
    let base = std::env::var_os("AI_AUDIT_BENCH_DIR").map_or_else(
        || env!("CARGO_TARGET_TMPDIR").into(),
        std::path::PathBuf::from,
    );
    std::fs::create_dir_all(&base).unwrap();
    tempfile::Builder::new()
        .prefix("store-bench")
        .tempdir_in(base)
        .unwrap()
}

/// Bytes on disk (database + WAL) per stored entry.
fn report_size(name: &str, dir: &tempfile::TempDir, store: &SqliteStore, t: &TenantId) {
    let n = store.head(t).unwrap().map_or(0, |h| h.seq.0 + 1);
    store.checkpoint().unwrap();
    let bytes: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    eprintln!(
        "{name}: {n} entries, {} B on disk per entry",
        bytes / n.max(1)
    );
}

fn bench_prebuilt(c: &mut Criterion) {
    let mut g = c.benchmark_group("sqlite_append/prebuilt");
    for batch in BATCHES {
        g.throughput(Throughput::Elements(batch as u64));
        let dir = db_dir();
        let store =
            SqliteStore::open(dir.path().join("audit.db"), SqliteOptions::default()).unwrap();
        let builder = log(Arc::new(HeadsOnly::default()));
        let t = TenantId::new("acme").unwrap();
        let mut next = 0;
        g.bench_function(batch.to_string(), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let entries = builder
                        .append_batch(&t, &receipts(&mut next, batch))
                        .unwrap();
                    let start = Instant::now();
                    store.append(&t, &entries).unwrap();
                    spent += start.elapsed();
                }
                spent
            })
        });
        report_size(&format!("prebuilt/{batch}"), &dir, &store, &t);
    }
    g.finish();
}

fn bench_audit_log(c: &mut Criterion) {
    let mut g = c.benchmark_group("sqlite_append/audit_log");
    for batch in BATCHES {
        g.throughput(Throughput::Elements(batch as u64));
        let dir = db_dir();
        let store = Arc::new(
            SqliteStore::open(dir.path().join("audit.db"), SqliteOptions::default()).unwrap(),
        );
        let log = log(store.clone());
        let t = TenantId::new("acme").unwrap();
        let mut next = 0;
        // Building the bodies is the application's work: not timed.
        g.bench_function(batch.to_string(), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let bodies = receipts(&mut next, batch);
                    let start = Instant::now();
                    log.append_batch(&t, &bodies).unwrap();
                    spent += start.elapsed();
                }
                spent
            })
        });
        report_size(&format!("audit_log/{batch}"), &dir, &store, &t);
    }
    g.finish();
}

fn bench_pipeline(c: &mut Criterion) {
    let mut g = c.benchmark_group("sqlite_append/pipeline_submitters");
    for submitters in [1usize, 16, 64] {
        let dir = db_dir();
        let store = Arc::new(
            SqliteStore::open(dir.path().join("audit.db"), SqliteOptions::default()).unwrap(),
        );
        let pipe = Arc::new(Pipeline::start(
            log(store.clone()),
            PipelineConfig::default(),
        ));
        let t = TenantId::new("acme").unwrap();
        let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
        // One iteration: every submitter stores one receipt durably.
        g.throughput(Throughput::Elements(submitters as u64));
        g.bench_function(submitters.to_string(), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..submitters {
                        let (pipe, t, next) = (&pipe, &t, &next);
                        s.spawn(move || {
                            for _ in 0..iters {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                pipe.submit(t, receipt(i))
                                    .unwrap()
                                    .wait(Duration::from_secs(60))
                                    .unwrap();
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });
        report_size(
            &format!("pipeline_submitters/{submitters}"),
            &dir,
            &store,
            &t,
        );
        drop(pipe);
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = bench_prebuilt, bench_audit_log, bench_pipeline
}
criterion_main!(benches);
