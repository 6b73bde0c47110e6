//! The store conformance suite, run unchanged against every backend
//! (`conformance!` below), then SQLite-only tests: reopen, schema
//! versioning, open-time repair, query plans, several OS processes on one
//! file, and SIGKILL at random moments.

// Helpers outside #[test] fns unwrap too (clippy.toml allows it only inside).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use ai_audit::*;

use crate::support::*;

/// A store under test, and whatever must outlive it (its temp dir).
pub struct Backend<S> {
    pub store: Arc<S>,
    _dir: Option<tempfile::TempDir>,
}

fn memory() -> Backend<MemoryStore> {
    Backend {
        store: Arc::new(MemoryStore::new()),
        _dir: None,
    }
}

fn start() -> Timestamp {
    Timestamp::parse("2026-11-22T10:00:00.000000Z").unwrap()
}

/// A log over `store` with a deterministic clock and id source (`seed`).
fn log_over(store: Arc<dyn Store>, seed: u64, mode: SigningMode) -> AuditLog {
    AuditLog::builder(LogName::new("test.example/log").unwrap(), signer(), store)
        .clock(Arc::new(ManualClock::new(start(), 1_000)))
        .random(Arc::new(SeededRandom::new(seed)))
        .signing_mode(mode)
        .build()
}

/// `n` chained entries of `t`, built over a private memory store. Different
/// seeds give different chains (ids differ, so every hash differs).
fn chain_of(t: &TenantId, n: u64, seed: u64) -> Vec<Entry> {
    let log = log_over(Arc::new(MemoryStore::new()), seed, SigningMode::PerEntry);
    (0..n)
        .map(|i| log.append(t, &body_of_kind(i)).unwrap())
        .collect()
}

fn all<S: Store + ?Sized>(store: &S, t: &TenantId) -> Vec<Entry> {
    store.read(t, Seq(0), Seq(u64::MAX)).unwrap()
}

fn to_lines(entries: &[Entry]) -> Vec<Vec<u8>> {
    entries.iter().map(|e| e.to_line().unwrap()).collect()
}

fn assert_verified(entries: &[Entry]) {
    let r = verify_entries(entries, &keyring(), &ChainOptions::default());
    assert!(r.is_verified(), "{:#?}", r.failures);
}

/// The cases, each generic over the backend.
mod cases {
    use super::*;

    pub fn checkpoints_and_epochs<S: Store + 'static>(b: Backend<S>) {
        super::checkpoints_and_epochs_case(b);
    }

    pub fn archive_and_delete_epoch<S: Store + 'static>(b: Backend<S>) {
        super::archive_and_delete_epoch_case(b);
    }

    pub fn empty_tenant_has_no_head<S: Store>(b: Backend<S>) {
        let t = tenant("acme");
        assert_eq!(b.store.head(&t).unwrap(), None);
        assert!(all(&*b.store, &t).is_empty());
        assert!(b.store.tenants().unwrap().is_empty());
        // An empty batch is a no-op, not a tenant.
        b.store.append(&t, &[]).unwrap();
        assert_eq!(b.store.head(&t).unwrap(), None);
        assert!(b.store.tenants().unwrap().is_empty());
    }

    pub fn round_trip_is_byte_exact<S: Store>(b: Backend<S>) {
        let t = tenant("acme");
        let entries = chain_of(&t, 10, 1);
        for batch in [&entries[0..3], &entries[3..4], &entries[4..10]] {
            b.store.append(&t, batch).unwrap();
            assert_eq!(
                b.store.head(&t).unwrap(),
                Some(ChainHead::of(batch.last().unwrap()))
            );
        }
        let read = all(&*b.store, &t);
        assert_eq!(to_lines(&read), to_lines(&entries));
        assert_eq!(read, entries);
        assert_verified(&read);
    }

    pub fn batch_is_atomic<S: Store>(b: Backend<S>) {
        let t = tenant("acme");
        let good = chain_of(&t, 6, 1);
        let forked = chain_of(&t, 6, 2);
        let other = chain_of(&tenant("globex"), 6, 1);
        b.store.append(&t, &good[0..2]).unwrap();
        let head = b.store.head(&t).unwrap();
        // The 3rd entry of each batch is wrong: another chain's, another
        // tenant's, a repeated seq, a skipped seq.
        let bad_batches: Vec<Vec<Entry>> = vec![
            vec![
                good[2].clone(),
                good[3].clone(),
                forked[4].clone(),
                good[5].clone(),
            ],
            vec![good[2].clone(), good[3].clone(), other[4].clone()],
            vec![good[2].clone(), good[3].clone(), good[3].clone()],
            vec![good[2].clone(), good[3].clone(), good[5].clone()],
        ];
        for batch in &bad_batches {
            let err = b.store.append(&t, batch).unwrap_err();
            assert!(matches!(err, StoreError::InvalidAppend { .. }), "{err}");
            assert_eq!(b.store.head(&t).unwrap(), head);
            assert_eq!(all(&*b.store, &t), good[0..2]);
        }
        b.store.append(&t, &good[2..6]).unwrap();
        assert_eq!(all(&*b.store, &t), good);
    }

    pub fn stale_head_conflicts<S: Store + 'static>(b: Backend<S>) {
        let t = tenant("acme");
        let a = chain_of(&t, 3, 1);
        let fork = chain_of(&t, 3, 2);
        // A second writer's genesis entry after the first wrote two.
        b.store.append(&t, &a[0..2]).unwrap();
        match b.store.append(&t, &fork[0..1]).unwrap_err() {
            StoreError::Conflict { expected, got, .. } => {
                assert_eq!((expected, got), (Seq(2), Seq(0)))
            }
            e => panic!("expected a conflict, got {e}"),
        }
        // The right seq but linked to another head.
        assert!(matches!(
            b.store.append(&t, &fork[2..3]),
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(all(&*b.store, &t), a[0..2]);

        // Two logs sharing the store: each one's cached head goes stale in
        // turn; the log re-chains on the conflict.
        let u = tenant("umbrella");
        let store: Arc<dyn Store> = b.store.clone();
        let (l1, l2) = (
            log_over(store.clone(), 10, SigningMode::PerEntry),
            log_over(store, 20, SigningMode::PerEntry),
        );
        for i in 0..6 {
            let e = if i % 2 == 0 {
                l1.append(&u, &decision(i))
            } else {
                l2.append(&u, &decision(i))
            };
            assert_eq!(e.unwrap().seq(), Seq(i));
        }
        let read = all(&*b.store, &u);
        assert_eq!(read.len(), 6);
        assert_verified(&read);
    }

    pub fn wrong_tenant_is_refused<S: Store>(b: Backend<S>) {
        let (t, o) = (tenant("acme"), tenant("globex"));
        let mine = chain_of(&t, 2, 1);
        let theirs = chain_of(&o, 2, 1);
        assert!(b.store.append(&t, &theirs[0..1]).is_err());
        let err = b
            .store
            .append(&t, &[mine[0].clone(), theirs[1].clone()])
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidAppend { .. }), "{err}");
        assert_eq!(b.store.head(&t).unwrap(), None);
        assert_eq!(b.store.head(&o).unwrap(), None);
        assert!(all(&*b.store, &t).is_empty());
    }

    pub fn refused_append_creates_no_tenant<S: Store>(b: Backend<S>) {
        let t = tenant("acme");
        let theirs = chain_of(&tenant("globex"), 1, 1);
        assert!(b.store.append(&t, &theirs).is_err());
        assert!(
            b.store.tenants().unwrap().is_empty(),
            "a tenant without entries is listed"
        );
    }

    pub fn reads_sub_ranges_and_past_the_end<S: Store>(b: Backend<S>) {
        let t = tenant("acme");
        let entries = chain_of(&t, 10, 1);
        b.store.append(&t, &entries).unwrap();
        let read = |from, to| b.store.read(&t, Seq(from), Seq(to)).unwrap();
        assert_eq!(read(2, 5), entries[2..5]);
        assert_eq!(read(0, 1), entries[0..1]);
        assert_eq!(read(9, 10), entries[9..10]);
        assert_eq!(read(8, 100), entries[8..10]);
        assert_eq!(read(0, u64::MAX), entries);
        assert_eq!(read(u64::MAX - 1, u64::MAX), []);
        assert!(read(10, 20).is_empty());
        assert!(read(5, 5).is_empty());
        assert!(read(6, 3).is_empty());
        assert!(b
            .store
            .read(&tenant("nobody"), Seq(0), Seq(10))
            .unwrap()
            .is_empty());
    }

    pub fn tenants_are_sorted<S: Store>(b: Backend<S>) {
        let names = ["zeta", "alpha", "mid-1", "mid", "b.x", "9lives"];
        for n in names {
            let t = tenant(n);
            b.store.append(&t, &chain_of(&t, 1, 1)).unwrap();
        }
        let mut want: Vec<TenantId> = names.iter().map(|n| tenant(n)).collect();
        want.sort();
        assert_eq!(b.store.tenants().unwrap(), want);
    }

    /// 16 threads over 4 logs (so both in-log locking and store conflicts
    /// are exercised) append to one tenant.
    pub fn sixteen_threads_one_tenant<S: Store + 'static>(b: Backend<S>) {
        let t = tenant("acme");
        let store: Arc<dyn Store> = b.store.clone();
        let logs: Vec<AuditLog> = (0..4)
            .map(|i| log_over(store.clone(), 100 + i, SigningMode::PerEntry))
            .collect();
        let per_thread = 6u64;
        std::thread::scope(|s| {
            for th in 0..16u64 {
                let (log, t) = (&logs[(th % 4) as usize], &t);
                s.spawn(move || {
                    for i in 0..per_thread {
                        log.append(t, &body_of_kind(th * per_thread + i)).unwrap();
                    }
                });
            }
        });
        let read = all(&*b.store, &t);
        assert_eq!(read.len() as u64, 16 * per_thread);
        assert!(read
            .iter()
            .enumerate()
            .all(|(i, e)| e.seq() == Seq(i as u64)));
        assert_eq!(
            b.store.head(&t).unwrap(),
            Some(ChainHead::of(read.last().unwrap()))
        );
        assert_verified(&read);
    }
}

/// Checkpoints and epochs through the log: stored, refused when they would
/// cover entries the store does not hold, reloaded by a second log.
pub fn checkpoints_and_epochs_case<S: Store + 'static>(b: Backend<S>) {
    let store: Arc<dyn Store> = b.store.clone();
    let t = tenant("acme");
    let log = log_over(store.clone(), 1, SigningMode::BatchSealed);
    for i in 0..5 {
        log.append(&t, &crate::support::body_of_kind(i)).unwrap();
    }
    let cp = log.seal(&t).unwrap().unwrap();
    assert_eq!(cp.checkpoint().size(), TreeSize(5));
    log.roll_epoch(&t).unwrap();
    for i in 0..3 {
        log.append(&t, &crate::support::body_of_kind(i)).unwrap();
    }
    log.seal(&t).unwrap();
    assert_eq!(store.epoch_start(&t, Epoch(0)).unwrap(), Some(Seq(0)));
    assert_eq!(store.epoch_start(&t, Epoch(1)).unwrap(), Some(Seq(5)));
    assert_eq!(store.epoch_start(&t, Epoch(2)).unwrap(), None);
    let e0 = store.checkpoints(&t, Epoch(0)).unwrap();
    assert_eq!(e0.iter().map(|c| c.size.0).collect::<Vec<_>>(), [5]);
    assert_eq!(
        store
            .checkpoints(&t, Epoch(1))
            .unwrap()
            .last()
            .unwrap()
            .size,
        TreeSize(4)
    );
    // Same note again: no-op. A different note for the same size: refused.
    store.put_checkpoint(&t, &e0[0]).unwrap();
    let mut other = e0[0].clone();
    other.note.push('x');
    assert!(store.put_checkpoint(&t, &other).is_err());
    // Covering more than is stored: refused.
    let over = StoredCheckpoint {
        epoch: Epoch(1),
        size: TreeSize(5),
        note: e0[0].note.clone(),
    };
    assert!(store.put_checkpoint(&t, &over).is_err());
    // A second log (another process) reloads state and continues.
    let second = log_over(store.clone(), 2, SigningMode::BatchSealed);
    second.append(&t, &crate::support::body_of_kind(9)).unwrap();
    second.seal(&t).unwrap();
    assert_eq!(
        store
            .checkpoints(&t, Epoch(1))
            .unwrap()
            .last()
            .unwrap()
            .size,
        TreeSize(5)
    );
    let lines: Vec<Vec<u8>> = all(&*store, &t)
        .iter()
        .map(|e| e.to_line().unwrap())
        .collect();
    let mut notes = Vec::new();
    for ep in 0..2 {
        for c in store.checkpoints(&t, Epoch(ep)).unwrap() {
            notes.push(NoteInput {
                location: Location::default(),
                note: c.note.into_bytes(),
            });
        }
    }
    let r = crate::support::verify_seg(&lines, &notes);
    assert!(r.is_verified(), "{:#?}", r.failures);
}

/// An old epoch is archived out of the store and deleted there; the rest
/// verifies alone, and from genesis together with the archive.
pub fn archive_and_delete_epoch_case<S: Store + 'static>(b: Backend<S>) {
    let store: Arc<dyn Store> = b.store.clone();
    let t = tenant("acme");
    let log = log_over(store.clone(), 1, SigningMode::BatchSealed);
    for i in 0..4 {
        log.append(&t, &crate::support::body_of_kind(i)).unwrap();
    }
    log.roll_epoch(&t).unwrap();
    for i in 0..3 {
        log.append(&t, &crate::support::body_of_kind(i)).unwrap();
    }
    log.seal(&t).unwrap();
    // The current epoch cannot be archived or deleted.
    assert!(log.archive_epoch(&t, Epoch(1)).is_err());
    assert!(store.delete_archived_epoch(&t, Epoch(1)).is_err());
    let archive = log.archive_epoch(&t, Epoch(0)).unwrap();
    assert_eq!(archive.lines.len(), 4);
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        archive.write_to(dir.path()).unwrap().len(),
        1 + archive.checkpoints.len()
    );
    assert!(
        archive.write_to(dir.path()).is_err(),
        "never overwrites an archive"
    );
    assert_eq!(store.delete_archived_epoch(&t, Epoch(0)).unwrap(), 4);
    assert!(
        store.delete_archived_epoch(&t, Epoch(0)).is_err(),
        "already gone"
    );
    assert!(store.checkpoints(&t, Epoch(0)).unwrap().is_empty());
    assert_eq!(store.epoch_start(&t, Epoch(1)).unwrap(), Some(Seq(4)));
    // The log keeps appending after the deletion (a fresh process too).
    let second = log_over(store.clone(), 2, SigningMode::BatchSealed);
    second.append(&t, &crate::support::body_of_kind(5)).unwrap();
    second.seal(&t).unwrap();
    let rest: Vec<Vec<u8>> = store
        .read(&t, Seq(0), Seq(u64::MAX))
        .unwrap()
        .iter()
        .map(|e| e.to_line().unwrap())
        .collect();
    assert_eq!(rest.len(), 5);
    let rest_notes: Vec<NoteInput> = store
        .checkpoints(&t, Epoch(1))
        .unwrap()
        .into_iter()
        .map(|c| NoteInput {
            location: Location::default(),
            note: c.note.into_bytes(),
        })
        .collect();
    let items = |ls: &[Vec<u8>]| -> Vec<(Location, Result<Entry, EntryError>)> {
        ls.iter()
            .map(|l| (Location::default(), Entry::from_line(l)))
            .collect()
    };
    // What remains, on its own: verifies from its epoch link onwards.
    let alone = ChainOptions {
        anchor: Anchor::Anywhere,
        ..ChainOptions::default()
    };
    let r = verify_segment(
        items(&rest),
        &rest_notes,
        &crate::support::keyring(),
        &alone,
    );
    assert!(r.is_verified(), "{:#?}", r.failures);
    assert!(r.warnings.iter().any(|w| w.check == "epoch_link"));
    // From genesis it is truncated without the archive …
    let r = verify_segment(
        items(&rest),
        &rest_notes,
        &crate::support::keyring(),
        &ChainOptions::default(),
    );
    assert_eq!(r.verdict(), Verdict::Truncated);
    // … and fully verified with it, including the link's binding.
    let mut all_lines = archive.lines.clone();
    all_lines.extend(rest);
    let mut all_notes: Vec<NoteInput> = archive
        .checkpoints
        .iter()
        .map(|c| NoteInput {
            location: Location::default(),
            note: c.note.clone().into_bytes(),
        })
        .collect();
    all_notes.extend(rest_notes);
    let r = verify_segment(
        items(&all_lines),
        &all_notes,
        &crate::support::keyring(),
        &ChainOptions::default(),
    );
    assert!(r.is_verified(), "{:#?}", r.failures);
    assert!(r.warnings.iter().all(|w| w.check != "epoch_link"));
}

/// Instantiates every case for one backend: `conformance!(module, maker)`,
/// optionally followed by `#[ignore = "…"]` for a known defect of the
/// backend in `refused_append_creates_no_tenant`.
macro_rules! conformance {
    ($name:ident, $make:expr $(, #[$known:meta])?) => {
        mod $name {
            use super::*;

            #[test]
            fn empty_tenant_has_no_head() {
                cases::empty_tenant_has_no_head($make());
            }
            #[test]
            fn round_trip_is_byte_exact() {
                cases::round_trip_is_byte_exact($make());
            }
            #[test]
            fn batch_is_atomic() {
                cases::batch_is_atomic($make());
            }
            #[test]
            fn stale_head_conflicts() {
                cases::stale_head_conflicts($make());
            }
            #[test]
            fn wrong_tenant_is_refused() {
                cases::wrong_tenant_is_refused($make());
            }
            #[test]
            $(#[$known])?
            fn refused_append_creates_no_tenant() {
                cases::refused_append_creates_no_tenant($make());
            }
            #[test]
            fn reads_sub_ranges_and_past_the_end() {
                cases::reads_sub_ranges_and_past_the_end($make());
            }
            #[test]
            fn tenants_are_sorted() {
                cases::tenants_are_sorted($make());
            }
            #[test]
            fn sixteen_threads_one_tenant() {
                cases::sixteen_threads_one_tenant($make());
            }
            #[test]
            fn checkpoints_and_epochs() {
                cases::checkpoints_and_epochs($make());
            }
            #[test]
            fn archive_and_delete_epoch() {
                cases::archive_and_delete_epoch($make());
            }
        }
    };
}

conformance!(memory_store, memory);
#[cfg(feature = "sqlite")]
conformance!(sqlite_store, sqlite::backend);
#[cfg(feature = "redis")]
conformance!(redis_store, redis_backend);

/// A Redis store under a fresh key prefix on the test Redis; its keys are
/// deleted when the last handle is dropped (see `redis::harness`).
#[cfg(feature = "redis")]
fn redis_backend() -> Backend<crate::redis::harness::TestRedis> {
    Backend {
        store: Arc::new(crate::redis::harness::TestRedis::new()),
        _dir: None,
    }
}

// ---------------------------------------------------------------------------
// Child processes. These are no-ops in a normal run; the SQLite tests below
// start this test binary again with `--exact store::child_…` and the
// environment variables set, so that several OS processes share one file.

/// Database file of a child process.
#[cfg(feature = "sqlite")]
const CHILD_DB: &str = "AI_AUDIT_TEST_CHILD_DB";
/// Seed of a child's entry ids (distinct per child).
#[cfg(feature = "sqlite")]
const CHILD_SEED: &str = "AI_AUDIT_TEST_CHILD_SEED";
/// Threads per child, and appends per thread, of `child_writer`.
#[cfg(feature = "sqlite")]
const CHILD_THREADS: u64 = 3;
#[cfg(feature = "sqlite")]
const CHILD_APPENDS: u64 = 15;

#[cfg(feature = "sqlite")]
fn child_env() -> Option<(std::path::PathBuf, u64)> {
    let db = std::env::var_os(CHILD_DB)?;
    let seed = std::env::var(CHILD_SEED).ok()?.parse().ok()?;
    Some((db.into(), seed))
}

/// Prints `ACK <seq> <hash>` for each acknowledged entry, flushed at once.
#[cfg(feature = "sqlite")]
fn ack(entries: &[Entry]) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    for e in entries {
        writeln!(out, "ACK {} {}", e.seq(), e.hash().to_hex()).unwrap();
    }
    out.flush().unwrap();
}

/// Child of `sqlite::four_processes_share_one_file`: appends
/// `CHILD_THREADS × CHILD_APPENDS` per-entry-signed receipts.
#[cfg(feature = "sqlite")]
#[test]
fn child_writer() {
    let Some((db, seed)) = child_env() else {
        return;
    };
    let store = Arc::new(SqliteStore::open(&db, SqliteOptions::default()).unwrap());
    let log = AuditLog::builder(LogName::new("test.example/log").unwrap(), signer(), store)
        .random(Arc::new(SeededRandom::new(seed)))
        .build();
    let t = tenant("acme");
    std::thread::scope(|s| {
        for th in 0..CHILD_THREADS {
            let (log, t) = (&log, &t);
            s.spawn(move || {
                for i in 0..CHILD_APPENDS {
                    ack(&[log.append(t, &decision(th * 100 + i)).unwrap()]);
                }
            });
        }
    });
}

/// Child of `sqlite::sigkill_loses_no_acknowledged_entry`: appends small
/// batch-sealed batches until killed (or, as a safety net, for 20 s).
#[cfg(feature = "sqlite")]
#[test]
fn child_crasher() {
    let Some((db, seed)) = child_env() else {
        return;
    };
    let store = Arc::new(SqliteStore::open(&db, SqliteOptions::default()).unwrap());
    let log = AuditLog::builder(LogName::new("test.example/log").unwrap(), signer(), store)
        .random(Arc::new(SeededRandom::new(seed)))
        .signing_mode(SigningMode::BatchSealed)
        .build();
    let t = tenant("acme");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut i = 0u64;
    while std::time::Instant::now() < deadline {
        let bodies: Vec<Body> = (0..1 + i % 4).map(|k| body_of_kind(i + k)).collect();
        match log.append_batch(&t, &bodies) {
            Ok(entries) => ack(&entries),
            Err(e) => eprintln!("child append failed: {e}"),
        }
        i += 1;
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::io::BufRead as _;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    use super::*;

    pub fn backend() -> Backend<SqliteStore> {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(dir.path().join("audit.db"), SqliteOptions::default()).unwrap();
        Backend {
            store: Arc::new(store),
            _dir: Some(dir),
        }
    }

    fn temp_db() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.db");
        (dir, path)
    }

    fn open(path: &Path) -> Arc<SqliteStore> {
        Arc::new(SqliteStore::open(path, SqliteOptions::default()).unwrap())
    }

    /// A plain connection, for inspecting and damaging the file.
    fn raw(path: &Path) -> rusqlite::Connection {
        rusqlite::Connection::open(path).unwrap()
    }

    fn pragma_i64(c: &rusqlite::Connection, name: &str) -> i64 {
        c.pragma_query_value(None, name, |r| r.get(0)).unwrap()
    }

    fn open_err(path: &Path) -> String {
        let e = SqliteStore::open(path, SqliteOptions::default()).unwrap_err();
        assert!(matches!(e, StoreError::Backend(_)), "{e}");
        e.to_string()
    }

    #[test]
    fn reopen_keeps_everything() {
        let (_dir, path) = temp_db();
        let (t, g) = (tenant("acme"), tenant("globex"));
        let (acme, globex) = {
            let store = open(&path);
            let log = log_over(store.clone(), 1, SigningMode::PerEntry);
            for i in 0..12 {
                log.append(&t, &body_of_kind(i)).unwrap();
            }
            log.append_batch(&g, &(0..5).map(body_of_kind).collect::<Vec<_>>())
                .unwrap();
            (all(&*store, &t), all(&*store, &g))
        };
        let store = open(&path);
        assert!(store.last_open_repairs().is_empty());
        assert_eq!(store.tenants().unwrap(), vec![t.clone(), g.clone()]);
        assert_eq!(to_lines(&all(&*store, &t)), to_lines(&acme));
        assert_eq!(to_lines(&all(&*store, &g)), to_lines(&globex));
        assert_eq!(
            store.head(&t).unwrap(),
            Some(ChainHead::of(acme.last().unwrap()))
        );
        // A new log picks up the stored head.
        let log = log_over(store.clone(), 2, SigningMode::PerEntry);
        assert_eq!(log.append(&t, &decision(99)).unwrap().seq(), Seq(12));
        assert_verified(&all(&*store, &t));
    }

    #[test]
    fn schema_is_versioned_and_newer_or_foreign_files_are_refused() {
        let (_dir, path) = temp_db();
        drop(open(&path));
        let c = raw(&path);
        assert_eq!(pragma_i64(&c, "user_version"), SqliteStore::SCHEMA_VERSION);
        assert_eq!(pragma_i64(&c, "application_id"), 0x6169_6175);
        let mode: String = c
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        // Opening again is a no-op migration.
        drop(open(&path));
        assert_eq!(pragma_i64(&c, "user_version"), SqliteStore::SCHEMA_VERSION);

        c.pragma_update(None, "user_version", SqliteStore::SCHEMA_VERSION + 1)
            .unwrap();
        let msg = open_err(&path);
        assert!(
            msg.contains("newer than the newest this library supports"),
            "{msg}"
        );
        assert_eq!(
            pragma_i64(&c, "user_version"),
            SqliteStore::SCHEMA_VERSION + 1,
            "refusal must not write"
        );

        let (_d2, foreign) = temp_db();
        raw(&foreign)
            .execute_batch("CREATE TABLE notes (x TEXT)")
            .unwrap();
        assert!(open_err(&foreign).contains("not an ai-audit store"));
        let (_d3, other_app) = temp_db();
        let o = raw(&other_app);
        o.pragma_update(None, "application_id", 42).unwrap();
        o.pragma_update(None, "user_version", 1).unwrap();
        assert!(open_err(&other_app).contains("not an ai-audit store"));
    }

    #[test]
    fn damaged_pages_are_refused() {
        let (_dir, path) = temp_db();
        {
            let store = open(&path);
            let log = log_over(store.clone(), 1, SigningMode::BatchSealed);
            for i in 0..20 {
                log.append_batch(
                    &tenant("acme"),
                    &(0..10)
                        .map(|k| body_of_kind(i * 10 + k))
                        .collect::<Vec<_>>(),
                )
                .unwrap();
            }
            assert!(store.checkpoint().unwrap());
        }
        let page = usize::try_from(pragma_i64(&raw(&path), "page_size")).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        assert!(bytes.len() > 8 * page);
        // Smash the b-tree page headers of pages 3..8.
        for p in 2..8 {
            bytes[p * page..p * page + 12].fill(0xa5);
        }
        std::fs::write(&path, bytes).unwrap();
        let msg = open_err(&path);
        assert!(
            msg.contains("integrity check failed") || msg.contains("malformed"),
            "{msg}"
        );
    }

    /// A session-tagged mix of kinds, with trace ids shared by several entries.
    fn tagged(i: u64) -> Body {
        let trace = Some(ExternalId::new(format!("trace-{}", i % 5)).unwrap());
        match body_of_kind(i) {
            Body::Decision(mut d) => {
                d.trace_id = trace;
                d.session_id = Some(ExternalId::new(format!("session-{}", i % 3)).unwrap());
                Body::Decision(d)
            }
            Body::ToolCall(mut c) => {
                c.trace_id = trace;
                Body::ToolCall(c)
            }
            b => b,
        }
    }

    fn body_str(e: &Entry, field: &str) -> Option<String> {
        e.body_value()
            .unwrap()
            .get(field)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }

    #[test]
    fn queries_return_the_right_entries_through_their_index() {
        let b = backend();
        let store = b.store.clone();
        let log = log_over(store.clone(), 1, SigningMode::BatchSealed);
        let (t, g) = (tenant("acme"), tenant("globex"));
        for i in 0..40 {
            log.append(&t, &tagged(i)).unwrap();
            log.append(&g, &tagged(i)).unwrap();
        }
        let every = all(&*store, &t);
        let pick =
            |f: &dyn Fn(&Entry) -> bool| every.iter().filter(|e| f(e)).cloned().collect::<Vec<_>>();
        let trace = ExternalId::new("trace-2").unwrap();
        let session = ExternalId::new("session-1").unwrap();
        let (from, to) = (every[10].ts(), every[20].ts());
        let cases = vec![
            (
                SqliteStore::filter(&t),
                every.clone(),
                "sqlite_autoindex_entries_1",
            ),
            (
                SqliteStore::filter(&t).seq_range(Seq(5), Seq(15)),
                every[5..15].to_vec(),
                "sqlite_autoindex_entries_1",
            ),
            (
                SqliteStore::filter(&t).time_range(from, to),
                every[10..20].to_vec(),
                "entries_by_ts",
            ),
            (
                SqliteStore::filter(&t).trace_id(&trace),
                pick(&|e| body_str(e, "trace_id").as_deref() == Some("trace-2")),
                "entries_by_trace",
            ),
            (
                SqliteStore::filter(&t).session_id(&session),
                pick(&|e| body_str(e, "session_id").as_deref() == Some("session-1")),
                "entries_by_session",
            ),
            (
                SqliteStore::filter(&t).kind(EntryKind::PolicyFlag),
                pick(&|e| e.kind() == EntryKind::PolicyFlag),
                "entries_by_kind",
            ),
            (
                SqliteStore::filter(&t)
                    .kind(EntryKind::Decision)
                    .time_range(from, to),
                every[10..20]
                    .iter()
                    .filter(|e| e.kind() == EntryKind::Decision)
                    .cloned()
                    .collect(),
                "entries_by_ts",
            ),
            (
                SqliteStore::filter(&t).kind(EntryKind::Decision).limit(3),
                pick(&|e| e.kind() == EntryKind::Decision)[..3].to_vec(),
                "entries_by_kind",
            ),
            (
                SqliteStore::filter(&t)
                    .trace_id(&trace)
                    .seq_range(Seq(0), Seq(20)),
                pick(&|e| {
                    e.seq() < Seq(20) && body_str(e, "trace_id").as_deref() == Some("trace-2")
                }),
                "entries_by_trace",
            ),
        ];
        for (filter, want, index) in cases {
            assert!(!want.is_empty(), "{filter:?} selects nothing");
            assert_eq!(store.query(&filter).unwrap(), want, "{filter:?}");
            let plan = store.explain_query(&filter).unwrap();
            assert!(
                plan.iter()
                    .any(|l| l.starts_with("SEARCH e USING")
                        && l.contains(&format!("INDEX {index} ("))),
                "{filter:?}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|l| l.starts_with("SCAN e ")),
                "{filter:?}: {plan:?}"
            );
        }
        // Another tenant's entries never leak into a query.
        let theirs = store
            .query(&SqliteStore::filter(&g).trace_id(&trace))
            .unwrap();
        assert!(!theirs.is_empty() && theirs.iter().all(|e| e.tenant() == &g));
        assert!(store
            .query(&SqliteStore::filter(&t).trace_id(&ExternalId::new("none").unwrap()))
            .unwrap()
            .is_empty());
    }

    /// The trace and session indexes are bucketed by seq (4096 entries a
    /// bucket): lookups must find entries in every bucket and respect seq
    /// bounds that cut buckets.
    #[test]
    fn trace_and_session_queries_span_buckets() {
        let b = backend();
        let store = b.store.clone();
        let log = log_over(store.clone(), 1, SigningMode::BatchSealed);
        let t = tenant("acme");
        let n = 2 * 4096 + 300;
        let bodies: Vec<Body> = (0..n).map(tagged).collect();
        for chunk in bodies.chunks(1024) {
            log.append_batch(&t, chunk).unwrap();
        }
        let every = all(&*store, &t);
        let trace = ExternalId::new("trace-3").unwrap();
        let session = ExternalId::new("session-2").unwrap();
        for (from, to) in [
            (0, u64::MAX),
            (4000, 4200),
            (4095, 4097),
            (4096, 8192),
            (100, 8400),
            (8191, 9000),
            (5, 5),
            (9000, 9999),
        ] {
            let in_range = |e: &Entry| e.seq() >= Seq(from) && e.seq() < Seq(to);
            let want: Vec<Entry> = every
                .iter()
                .filter(|e| in_range(e) && body_str(e, "trace_id").as_deref() == Some("trace-3"))
                .cloned()
                .collect();
            let got = store
                .query(
                    &SqliteStore::filter(&t)
                        .trace_id(&trace)
                        .seq_range(Seq(from), Seq(to)),
                )
                .unwrap();
            assert_eq!(got, want, "trace, seqs {from}..{to}");
            let want: Vec<Entry> = every
                .iter()
                .filter(|e| {
                    in_range(e) && body_str(e, "session_id").as_deref() == Some("session-2")
                })
                .cloned()
                .collect();
            let got = store
                .query(
                    &SqliteStore::filter(&t)
                        .session_id(&session)
                        .seq_range(Seq(from), Seq(to)),
                )
                .unwrap();
            assert_eq!(got, want, "session, seqs {from}..{to}");
        }
        let got = store
            .query(&SqliteStore::filter(&t).trace_id(&trace).limit(5))
            .unwrap();
        assert_eq!(got.len(), 5);
        assert!(got.windows(2).all(|w| w[0].seq() < w[1].seq()));
    }

    /// A store with 8 acme and 3 globex entries, damaged by `sql` through a
    /// plain connection, then reopened.
    fn damaged(sql: &str) -> (tempfile::TempDir, PathBuf, Vec<Entry>, Arc<SqliteStore>) {
        let (dir, path) = temp_db();
        let acme = {
            let store = open(&path);
            let log = log_over(store.clone(), 1, SigningMode::PerEntry);
            for i in 0..8 {
                log.append(&tenant("acme"), &body_of_kind(i)).unwrap();
            }
            for i in 0..3 {
                log.append(&tenant("globex"), &body_of_kind(i)).unwrap();
            }
            all(&*store, &tenant("acme"))
        };
        raw(&path).execute_batch(sql).unwrap();
        let store = open(&path);
        (dir, path, acme, store)
    }

    fn head_at(entries: &[Entry], seq: usize) -> Option<ChainHead> {
        Some(ChainHead::of(&entries[seq]))
    }

    /// One repair for acme, none for globex; reopening repairs nothing more;
    /// the chain still verifies and a log continues it.
    fn check_repair(
        path: &Path,
        store: &Arc<SqliteStore>,
        acme: &[Entry],
        reason: &str,
        before: Option<ChainHead>,
        after: usize,
        quarantined: &[u64],
    ) {
        let repairs = store.last_open_repairs();
        assert_eq!(repairs.len(), 1, "{repairs:?}");
        let r = &repairs[0];
        assert_eq!(r.tenant, tenant("acme"));
        assert_eq!(r.reason.as_str(), reason);
        assert_eq!(r.head_before, before);
        assert_eq!(r.head_after, head_at(acme, after));
        assert_eq!(
            r.quarantined,
            quarantined.iter().map(|&s| Seq(s)).collect::<Vec<_>>()
        );
        assert_eq!(store.head(&tenant("acme")).unwrap(), head_at(acme, after));
        assert_eq!(all(&**store, &tenant("acme")), acme[..=after]);
        assert_eq!(
            store.tenants().unwrap(),
            vec![tenant("acme"), tenant("globex")]
        );
        assert!(
            open(path).last_open_repairs().is_empty(),
            "repair is not idempotent"
        );
        let log = log_over(store.clone(), 7, SigningMode::PerEntry);
        assert_eq!(
            log.append(&tenant("acme"), &decision(1)).unwrap().seq(),
            Seq(after as u64 + 1)
        );
        assert_verified(&all(&**store, &tenant("acme")));
        assert_verified(&all(&**store, &tenant("globex")));
    }

    fn quarantine_reasons(path: &Path) -> Vec<(i64, String)> {
        let c = raw(path);
        let mut s = c
            .prepare("SELECT seq, reason FROM quarantine ORDER BY seq DESC")
            .unwrap();
        s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn repair_advances_a_head_left_behind() {
        let (_d, path, acme, store) = damaged(
            "UPDATE heads SET seq = 5, hash = (SELECT hash FROM entries WHERE tenant = 'acme' AND seq = 5) WHERE tenant = 'acme'",
        );
        check_repair(
            &path,
            &store,
            &acme,
            "head_behind",
            head_at(&acme, 5),
            7,
            &[],
        );
    }

    #[test]
    fn repair_restores_a_missing_head() {
        let (_d, path, acme, store) = damaged("DELETE FROM heads WHERE tenant = 'acme'");
        check_repair(&path, &store, &acme, "missing_head", None, 7, &[]);
    }

    #[test]
    fn repair_moves_a_head_past_lost_entries_back() {
        // Only possible with the heads -> entries foreign key switched off.
        let (_d, path, acme, store) = damaged(
            "PRAGMA foreign_keys = OFF; DELETE FROM entries WHERE tenant = 'acme' AND seq = 7",
        );
        check_repair(
            &path,
            &store,
            &acme,
            "head_ahead",
            head_at(&acme, 7),
            6,
            &[],
        );
    }

    #[test]
    fn repair_resets_a_head_with_the_wrong_hash() {
        let (_d, path, acme, store) =
            damaged("UPDATE heads SET hash = zeroblob(32) WHERE tenant = 'acme'");
        check_repair(
            &path,
            &store,
            &acme,
            "head_mismatch",
            Some(ChainHead {
                hash: Hash32::ZERO,
                ..ChainHead::of(&acme[7])
            }),
            7,
            &[],
        );
    }

    #[test]
    fn reopen_after_deleting_an_archived_epoch_needs_no_repair() {
        let (_dir, path) = temp_db();
        let t = tenant("acme");
        let head = {
            let store = open(&path);
            let log = log_over(store.clone(), 1, SigningMode::BatchSealed);
            for i in 0..5 {
                log.append(&t, &body_of_kind(i)).unwrap();
            }
            log.roll_epoch(&t).unwrap();
            log.append(&t, &body_of_kind(9)).unwrap();
            store.delete_archived_epoch(&t, Epoch(0)).unwrap();
            store.head(&t).unwrap()
        };
        let store = open(&path);
        assert!(
            store.last_open_repairs().is_empty(),
            "{:?}",
            store.last_open_repairs()
        );
        assert_eq!(store.head(&t).unwrap(), head);
        assert_eq!(all(&*store, &t).len(), 2);
        // The deleted rows are gone from the file (secure_delete zeroes pages).
        drop(store);
        let count: i64 = raw(&path)
            .query_row("SELECT COUNT(*) FROM entries WHERE epoch = 0", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(count, 0);
    }

    /// The epoch_link is the only stored entry after the deletion: its
    /// previous entry is in the archive, and open must not take that for a
    /// broken link (it used to quarantine the whole tenant).
    #[test]
    fn reopen_when_only_the_epoch_link_remains_keeps_the_tenant() {
        let (_dir, path) = temp_db();
        let t = tenant("acme");
        let head = {
            let store = open(&path);
            let log = log_over(store.clone(), 1, SigningMode::BatchSealed);
            for i in 0..5 {
                log.append(&t, &body_of_kind(i)).unwrap();
            }
            log.roll_epoch(&t).unwrap();
            store.delete_archived_epoch(&t, Epoch(0)).unwrap();
            store.head(&t).unwrap()
        };
        let store = open(&path);
        assert!(
            store.last_open_repairs().is_empty(),
            "{:?}",
            store.last_open_repairs()
        );
        assert_eq!(store.head(&t).unwrap(), head);
        assert_eq!(all(&*store, &t).len(), 1);
    }

    #[test]
    fn a_repair_is_recorded_in_the_chain_and_the_chain_verifies() {
        let (_d, _path, acme, store) = damaged(
            "UPDATE entries SET line = substr(line, 1, 100) WHERE tenant = 'acme' AND seq = 7",
        );
        let repairs = store.last_open_repairs().to_vec();
        assert_eq!(repairs.len(), 1);
        let log = log_over(store.clone(), 9, SigningMode::PerEntry);
        let t = tenant("acme");
        let rec = log.append(&t, &repairs[0].to_body()).unwrap();
        assert_eq!(
            rec.seq(),
            Seq(7),
            "the repair entry takes the first free seq"
        );
        let Body::StoreRepair(b) = rec.body().unwrap() else {
            panic!("not a repair entry")
        };
        assert_eq!(
            (b.reason.as_str(), b.head_after, b.quarantined.clone()),
            ("torn_tail", Some(Seq(6)), vec![Seq(7)])
        );
        let entries = all(&*store, &t);
        assert_eq!(entries.len(), 8);
        assert_eq!(entries[..7], acme[..7]);
        assert_verified(&entries);
    }

    #[test]
    fn repair_quarantines_a_torn_last_line() {
        let (_d, path, acme, store) = damaged(
            "UPDATE entries SET line = substr(line, 1, 100) WHERE tenant = 'acme' AND seq = 7",
        );
        check_repair(
            &path,
            &store,
            &acme,
            "torn_tail",
            head_at(&acme, 7),
            6,
            &[7],
        );
        assert_eq!(
            quarantine_reasons(&path),
            vec![(7, "undecodable".to_owned())]
        );
    }

    #[test]
    fn repair_quarantines_tail_rows_that_disagree_with_their_line_or_link() {
        // Row 6's hash column no longer matches its line, so row 7 no longer links.
        let (_d, path, acme, store) =
            damaged("UPDATE entries SET hash = zeroblob(32) WHERE tenant = 'acme' AND seq = 6");
        check_repair(
            &path,
            &store,
            &acme,
            "torn_tail",
            head_at(&acme, 7),
            5,
            &[7, 6],
        );
        assert_eq!(
            quarantine_reasons(&path),
            vec![
                (7, "broken_link".to_owned()),
                (6, "columns_mismatch".to_owned())
            ]
        );
    }

    #[test]
    fn repair_refuses_to_quarantine_a_whole_chain() {
        let (_dir, path) = temp_db();
        {
            let store = open(&path);
            let log = log_over(store, 1, SigningMode::BatchSealed);
            log.append_batch(
                &tenant("acme"),
                &(0..80).map(body_of_kind).collect::<Vec<_>>(),
            )
            .unwrap();
        }
        raw(&path)
            .execute_batch("UPDATE entries SET line = x'00'")
            .unwrap();
        let msg = open_err(&path);
        assert!(msg.contains("refusing to repair"), "{msg}");
        let c = raw(&path);
        let count = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(
            count("SELECT count(*) FROM entries"),
            80,
            "a refused repair must not write"
        );
        assert_eq!(count("SELECT count(*) FROM quarantine"), 0);
    }

    /// Four stores on one file in one process (separate connections, as
    /// separate processes would have), four threads each.
    #[test]
    fn several_connections_share_one_file() {
        let (_dir, path) = temp_db();
        let t = tenant("acme");
        let stores: Vec<Arc<SqliteStore>> = (0..4).map(|_| open(&path)).collect();
        let logs: Vec<AuditLog> = stores
            .iter()
            .enumerate()
            .map(|(i, s)| log_over(s.clone(), 50 + i as u64, SigningMode::BatchSealed))
            .collect();
        std::thread::scope(|s| {
            for th in 0..16u64 {
                let (log, t) = (&logs[(th % 4) as usize], &t);
                s.spawn(move || {
                    for i in 0..10 {
                        log.append_batch(t, &[body_of_kind(th * 10 + i), decision(i)])
                            .unwrap();
                    }
                });
            }
        });
        let read = all(&*stores[0], &t);
        assert_eq!(read.len(), 16 * 10 * 2);
        let r = verify_entries(
            &read,
            &keyring(),
            &ChainOptions {
                require_signatures: false,
                ..ChainOptions::default()
            },
        );
        assert!(r.is_verified(), "{:#?}", r.failures);
    }

    fn spawn_child(test: &str, db: &Path, seed: u64) -> Child {
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                test,
                "--nocapture",
                "--test-threads=1",
                "--quiet",
            ])
            .env(super::CHILD_DB, db)
            .env(super::CHILD_SEED, seed.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap()
    }

    fn parse_acks(out: impl std::io::Read) -> Vec<(u64, String)> {
        std::io::BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| {
                let mut w = l.strip_prefix("ACK ")?.split(' ');
                Some((w.next()?.parse().ok()?, w.next()?.to_owned()))
            })
            .collect()
    }

    fn assert_acked_present(acks: &[(u64, String)], entries: &[Entry], first_seq: u64) {
        for (seq, hash) in acks {
            let e = usize::try_from(seq - first_seq)
                .ok()
                .and_then(|i| entries.get(i));
            let e = e.unwrap_or_else(|| panic!("acknowledged seq {seq} is missing"));
            assert_eq!(
                (e.seq().0, e.hash().to_hex()),
                (*seq, hash.clone()),
                "acknowledged entry changed"
            );
        }
    }

    /// Four OS processes, three threads each, append to one tenant of one
    /// file, each through its own store and log.
    #[test]
    fn four_processes_share_one_file() {
        let (_dir, path) = temp_db();
        drop(open(&path));
        let children: Vec<Child> = (1..=4)
            .map(|seed| spawn_child("store::child_writer", &path, seed))
            .collect();
        let mut acks = Vec::new();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "child failed: {}", out.status);
            acks.extend(parse_acks(&out.stdout[..]));
        }
        let total = 4 * super::CHILD_THREADS * super::CHILD_APPENDS;
        assert_eq!(acks.len() as u64, total);
        let store = open(&path);
        assert!(store.last_open_repairs().is_empty());
        let read = all(&*store, &tenant("acme"));
        assert_eq!(
            read.len() as u64,
            total,
            "an entry was stored that was not acknowledged, or lost"
        );
        assert_acked_present(&acks, &read, 0);
        assert_verified(&read);
    }

    /// xorshift64*: enough randomness for kill timing, seeded from the clock
    /// (the seed is printed so a failure can be replayed).
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
        }
    }

    /// A writer process is SIGKILLed at random moments, 50 times. After each
    /// kill the file reopens without repairs, the new segment of the chain
    /// verifies against the previous head, and every acknowledged entry is
    /// there, unchanged.
    #[test]
    fn sigkill_loses_no_acknowledged_entry() {
        const KILLS: u64 = 50;
        let (_dir, path) = temp_db();
        drop(open(&path));
        let t = tenant("acme");
        let seed = std::env::var("AI_AUDIT_TEST_KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("sigkill test: AI_AUDIT_TEST_KILL_SEED={seed}");
        let mut rng = Rng(seed);
        let mut verified: Option<ChainHead> = None;
        let mut acked = 0usize;
        let opts = |anchor: Option<ChainHead>, end: ChainHead| ChainOptions {
            anchor: anchor.map_or(Anchor::Genesis, |a| Anchor::After {
                seq: Seq(a.seq.0 + 1),
                prev: a.hash,
            }),
            end: Some((end.seq, end.hash)),
            require_signatures: false,
            ..ChainOptions::default()
        };
        for round in 0..KILLS {
            let mut child = spawn_child("store::child_crasher", &path, 1_000 + round);
            let stdout = child.stdout.take().unwrap();
            let reader = std::thread::spawn(move || parse_acks(stdout));
            std::thread::sleep(Duration::from_millis(5 + rng.below(100)));
            child.kill().unwrap();
            assert!(!child.wait().unwrap().success());
            let acks = reader.join().unwrap();

            let store = open(&path);
            assert!(
                store.last_open_repairs().is_empty(),
                "round {round}: {:?}",
                store.last_open_repairs()
            );
            let head = store.head(&t).unwrap();
            let first = verified.map_or(0, |h| h.seq.0 + 1);
            let segment = store.read(&t, Seq(first), Seq(u64::MAX)).unwrap();
            match head {
                Some(h) if !segment.is_empty() => {
                    let r = verify_entries(&segment, &keyring(), &opts(verified, h));
                    assert!(r.is_verified(), "round {round}: {:#?}", r.failures);
                }
                _ => assert_eq!(head, verified, "round {round}: head moved without entries"),
            }
            assert_acked_present(&acks, &segment, first);
            acked += acks.len();
            verified = head;
        }
        assert!(
            acked > 0,
            "no append was ever acknowledged: the kills came too early"
        );
        eprintln!("sigkill test: {KILLS} kills, {acked} acknowledged entries");
        let store = open(&path);
        let every = all(&*store, &t);
        let r = verify_entries(&every, &keyring(), &opts(None, verified.unwrap()));
        assert!(r.is_verified(), "{:#?}", r.failures);
    }
}
