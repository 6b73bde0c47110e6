//! Backpressure: a bounded queue drained in batches; full queues are refused
//! or waited on, never dropped; shutdown drains and seals; store failures
//! reach the caller.

use std::sync::Arc;
use std::time::Duration;

use ai_audit::*;
use parking_lot::Mutex;

use crate::support::*;

/// A store whose appends can be held back (gate) or made to fail.
struct GatedStore {
    inner: MemoryStore,
    gate: Mutex<()>,
    fail: std::sync::atomic::AtomicBool,
}

impl GatedStore {
    fn new() -> Arc<GatedStore> {
        Arc::new(GatedStore {
            inner: MemoryStore::new(),
            gate: Mutex::new(()),
            fail: false.into(),
        })
    }
}

impl Store for GatedStore {
    fn head(&self, t: &TenantId) -> Result<Option<ChainHead>, StoreError> {
        self.inner.head(t)
    }
    fn append(&self, t: &TenantId, e: &[Entry]) -> Result<(), StoreError> {
        let _g = self.gate.lock();
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Backend("disk full (test)".into()));
        }
        self.inner.append(t, e)
    }
    fn read(&self, t: &TenantId, from: Seq, to: Seq) -> Result<Vec<Entry>, StoreError> {
        self.inner.read(t, from, to)
    }
    fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        self.inner.tenants()
    }
    fn epoch_start(&self, t: &TenantId, e: Epoch) -> Result<Option<Seq>, StoreError> {
        self.inner.epoch_start(t, e)
    }
    fn put_checkpoint(&self, t: &TenantId, c: &StoredCheckpoint) -> Result<(), StoreError> {
        self.inner.put_checkpoint(t, c)
    }
    fn checkpoints(&self, t: &TenantId, e: Epoch) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.inner.checkpoints(t, e)
    }
    fn delete_archived_epoch(&self, t: &TenantId, e: Epoch) -> Result<u64, StoreError> {
        self.inner.delete_archived_epoch(t, e)
    }
}

fn log_over(store: Arc<GatedStore>, mode: SigningMode) -> AuditLog {
    AuditLog::builder(LogName::new("test.example/log").unwrap(), signer(), store)
        .signing_mode(mode)
        .build()
}

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn many_threads_through_the_queue_get_one_verified_chain() {
    let store = GatedStore::new();
    let p = Pipeline::start(
        log_over(store.clone(), SigningMode::PerEntry),
        PipelineConfig {
            capacity: 64,
            max_batch: 32,
            when_full: WhenFull::Block(WAIT),
        },
    );
    let t = tenant("acme");
    std::thread::scope(|s| {
        for th in 0..8u64 {
            let (p, t) = (&p, &t);
            s.spawn(move || {
                for i in 0..100 {
                    p.append(t, body_of_kind(th * 1000 + i), WAIT).unwrap();
                }
            });
        }
    });
    p.shutdown().unwrap();
    let entries = store.read(&t, Seq(0), Seq(u64::MAX)).unwrap();
    assert_eq!(entries.len(), 800);
    assert!(verify_entries(&entries, &keyring(), &ChainOptions::default()).is_verified());
}

#[test]
fn a_full_queue_is_refused_or_waited_on_never_dropped() {
    let store = GatedStore::new();
    let p = Pipeline::start(
        log_over(store.clone(), SigningMode::BatchSealed),
        PipelineConfig {
            capacity: 4,
            max_batch: 2,
            when_full: WhenFull::Fail,
        },
    );
    let t = tenant("acme");
    let gate = store.gate.lock(); // the writer blocks on its first append
    let mut tickets = Vec::new();
    let mut refused = 0;
    for i in 0..20 {
        match p.submit(&t, body_of_kind(i)) {
            Ok(tk) => tickets.push(tk),
            Err(PipelineError::Full { capacity: 4 }) => refused += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(refused > 0, "the queue must fill up");
    assert!(
        tickets.len() <= 4 + 2,
        "queue plus the writer's batch in hand"
    );
    drop(gate);
    let accepted = tickets.len();
    for tk in tickets {
        tk.wait(WAIT).unwrap();
    }
    p.shutdown().unwrap();
    // Every accepted entry is stored, and sealed by the shutdown.
    let stored = store.read(&t, Seq(0), Seq(u64::MAX)).unwrap();
    assert_eq!(stored.len(), accepted);
    let lines: Vec<Vec<u8>> = stored.iter().map(|e| e.to_line().unwrap()).collect();
    let notes: Vec<NoteInput> = store
        .checkpoints(&t, Epoch(0))
        .unwrap()
        .into_iter()
        .map(|c| NoteInput {
            location: Location::default(),
            note: c.note.into_bytes(),
        })
        .collect();
    assert!(verify_seg(&lines, &notes).is_verified());
}

#[test]
fn blocking_submit_waits_then_gives_up_with_a_clear_error() {
    let store = GatedStore::new();
    let p = Pipeline::start(
        log_over(store.clone(), SigningMode::BatchSealed),
        PipelineConfig {
            capacity: 1,
            max_batch: 1,
            when_full: WhenFull::Block(Duration::from_millis(50)),
        },
    );
    let t = tenant("acme");
    let gate = store.gate.lock();
    let mut outcomes = Vec::new();
    for i in 0..5 {
        outcomes.push(p.submit(&t, body_of_kind(i)));
    }
    let full = outcomes
        .iter()
        .filter(|o| matches!(o, Err(PipelineError::Full { .. })))
        .count();
    assert!(full >= 1);
    assert!(outcomes
        .iter()
        .filter_map(|o| o.as_ref().err())
        .all(|e| e.to_string().contains("not accepted")));
    drop(gate);
    for tk in outcomes.into_iter().flatten() {
        tk.wait(WAIT).unwrap();
    }
}

#[test]
fn shutdown_drains_the_queue_and_seals() {
    let store = GatedStore::new();
    let log = log_over(store.clone(), SigningMode::BatchSealed);
    let p = Pipeline::start(log.clone(), PipelineConfig::default());
    let t = tenant("acme");
    let tickets: Vec<Ticket> = (0..300)
        .map(|i| p.submit(&t, body_of_kind(i)).unwrap())
        .collect();
    p.shutdown().unwrap();
    assert_eq!(store.read(&t, Seq(0), Seq(u64::MAX)).unwrap().len(), 300);
    assert_eq!(log.sealed_through(&t).unwrap(), Some(Seq(299)));
    for tk in tickets {
        tk.wait(WAIT).unwrap();
    }
}

#[test]
fn store_failures_reach_the_caller() {
    let store = GatedStore::new();
    let p = Pipeline::start(
        log_over(store.clone(), SigningMode::PerEntry),
        PipelineConfig::default(),
    );
    let t = tenant("acme");
    p.append(&t, body_of_kind(0), WAIT).unwrap();
    store.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let err = p.append(&t, body_of_kind(1), WAIT).unwrap_err();
    assert!(
        matches!(err, PipelineError::Append(ref m) if m.contains("disk full")),
        "{err}"
    );
    store.fail.store(false, std::sync::atomic::Ordering::SeqCst);
    let e = p.append(&t, body_of_kind(2), WAIT).unwrap();
    assert_eq!(e.seq(), Seq(1), "the failed entry left no gap");
    p.shutdown().unwrap();
}
