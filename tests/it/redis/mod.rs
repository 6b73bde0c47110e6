//! Redis-only tests: key layout and no TTL, failure when Redis is
//! unreachable or slow, keys changed behind the store's back, a lost script
//! reply, 16 threads plus 4 OS processes on one tenant, and Redis killed and
//! restarted under load. The conformance suite runs in `store.rs`.
//!
//! They need a Redis at 127.0.0.1:6379 (or `AI_AUDIT_TEST_REDIS_URL`) and
//! `redis-server` on the PATH (or `AI_AUDIT_TEST_REDIS_SERVER`); without
//! them they fail rather than skip.

#![allow(clippy::unwrap_used, clippy::panic)]

pub mod harness;
#[cfg(feature = "collector")]
mod shred;

use std::io::BufRead as _;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ai_audit::*;

use self::harness::*;
use crate::support::*;

fn log_over(store: Arc<dyn Store>, seed: u64, mode: SigningMode) -> AuditLog {
    AuditLog::builder(LogName::new("test.example/log").unwrap(), signer(), store)
        .random(Arc::new(SeededRandom::new(seed)))
        .signing_mode(mode)
        .build()
}

fn all<S: Store + ?Sized>(store: &S, t: &TenantId) -> Vec<Entry> {
    store.read(t, Seq(0), Seq(u64::MAX)).unwrap()
}

fn backend_error<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Err(StoreError::Backend(e)) => e.to_string(),
        other => panic!("expected a backend error, got {other:?}"),
    }
}

fn unsigned() -> ChainOptions {
    ChainOptions {
        require_signatures: false,
        ..ChainOptions::default()
    }
}

/// Every key the store created is one of the documented ones, carries the
/// tenant's hash tag, and never expires.
#[test]
fn keys_follow_the_layout_and_never_expire() {
    let store = Arc::new(TestRedis::new());
    let t = tenant("acme");
    let log = log_over(store.clone(), 1, SigningMode::BatchSealed);
    log.append_batch(&t, &(0..5).map(body_of_kind).collect::<Vec<_>>())
        .unwrap();
    log.seal(&t).unwrap();
    log.roll_epoch(&t).unwrap();
    log.append(&t, &decision(1)).unwrap();
    log.seal(&t).unwrap();
    log.append(&tenant("globex"), &decision(2)).unwrap();

    let p = &store.prefix().to_owned();
    let mut conn = raw(store.url());
    let keys = keys_of(&mut conn, p);
    let mut want = vec![format!("{p}:tenants")];
    for (tn, epochs) in [("acme", &[0u64, 1][..]), ("globex", &[])] {
        let tag = format!("{{{p}:{tn}}}");
        for k in ["head", "entries", "epochs", "epoch-sizes"] {
            want.push(format!("{tag}:{k}"));
        }
        for e in epochs {
            want.push(format!("{tag}:checkpoints:{e}"));
        }
    }
    want.sort();
    assert_eq!(keys, want);
    for k in &keys {
        let ttl: i64 = redis::cmd("TTL").arg(k).query(&mut conn).unwrap();
        assert_eq!(ttl, -1, "{k} has a TTL");
        let kind: String = redis::cmd("TYPE").arg(k).query(&mut conn).unwrap();
        let want_kind = if k.ends_with(":tenants") {
            "set"
        } else {
            "hash"
        };
        assert_eq!(kind, want_kind, "{k}");
    }
    // The documented contents.
    let head: Vec<String> = redis::cmd("HMGET")
        .arg(format!("{{{p}:acme}}:head"))
        .arg(&["seq", "hash", "epoch"][..])
        .query(&mut conn)
        .unwrap();
    let acme = all(&**store, &t);
    let last = acme.last().unwrap();
    assert_eq!(
        head,
        [
            last.seq().0.to_string(),
            last.hash().to_hex(),
            "1".to_owned()
        ]
    );
    let sizes: Vec<u64> = redis::cmd("HMGET")
        .arg(format!("{{{p}:acme}}:epoch-sizes"))
        .arg(&[0u64, 1][..])
        .query(&mut conn)
        .unwrap();
    assert_eq!(sizes, [5, 2]);
    let line: Vec<u8> = redis::cmd("HGET")
        .arg(format!("{{{p}:acme}}:entries"))
        .arg(3)
        .query(&mut conn)
        .unwrap();
    assert_eq!(line, acme[3].to_line().unwrap());
    drop(log);
    drop(store);
    assert!(
        keys_of(&mut conn, p).is_empty(),
        "the guard left keys behind"
    );
}

#[test]
fn invalid_options_and_urls_are_refused_without_echoing_secrets() {
    for bad in ["", "a{b}", "a*", "has space"] {
        let e = RedisStore::open(&url(), RedisOptions::default().key_prefix(bad));
        assert!(backend_error(e).contains("key prefix"), "{bad}");
    }
    let e = RedisStore::open("nonsense://:hunter2@x", RedisOptions::default());
    let msg = backend_error(e);
    assert!(
        msg.contains("invalid Redis URL") && !msg.contains("hunter2"),
        "{msg}"
    );
    // A closed port: refused at once, the password not repeated.
    let port = free_port();
    let e = RedisStore::open(
        &format!("redis://:hunter2@127.0.0.1:{port}/"),
        RedisOptions::default(),
    );
    let msg = backend_error(e);
    assert!(
        msg.contains("connection failed") && !msg.contains("hunter2"),
        "{msg}"
    );
}

/// A peer that accepts connections and never answers: every wait is bounded
/// by the configured timeouts (the test would hang otherwise).
#[test]
fn a_silent_peer_times_out() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let held = std::thread::spawn({
        let stop = stop.clone();
        move || {
            silent.set_nonblocking(true).unwrap();
            let mut conns = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Ok((c, _)) = silent.accept() {
                    conns.push(c);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    });
    let opts = RedisOptions::default()
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300));
    let msg = backend_error(RedisStore::open(
        &format!("redis://127.0.0.1:{port}/"),
        opts,
    ));
    assert!(msg.contains("connection failed"), "{msg}");
    stop.store(true, Ordering::Relaxed);
    held.join().unwrap();
}

/// Redis stops answering (paused), then goes away: every operation returns
/// a backend error, the log reports it, nothing panics; after a restart the
/// same store and log carry on.
#[test]
fn unreachable_redis_is_a_backend_error_and_the_store_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let opts = RedisOptions::default()
        .key_prefix(unique_prefix())
        .connect_timeout(Duration::from_millis(500))
        .response_timeout(Duration::from_millis(300));
    let store = Arc::new(RedisStore::open(&server.url(), opts).unwrap());
    let t = tenant("acme");
    let log = log_over(store.clone(), 1, SigningMode::PerEntry);
    let first = log.append(&t, &decision(0)).unwrap();

    // Paused: commands are accepted but not answered for 3 s.
    let mut admin = raw(&server.url());
    redis::cmd("CLIENT")
        .arg(&["PAUSE", "3000", "ALL"][..])
        .query::<()>(&mut admin)
        .unwrap();
    let msg = backend_error(store.head(&t));
    assert!(msg.contains("connection failed"), "{msg}");
    redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query::<()>(&mut admin)
        .unwrap();
    assert_eq!(store.head(&t).unwrap(), Some(ChainHead::of(&first)));

    server.kill();
    let cp = StoredCheckpoint {
        epoch: Epoch(0),
        size: TreeSize(1),
        note: "n".into(),
    };
    backend_error(store.head(&t));
    // A well-formed batch reaches Redis (an empty one would be a no-op).
    let elsewhere = log_over(Arc::new(MemoryStore::new()), 9, SigningMode::PerEntry);
    elsewhere.append(&t, &decision(1)).unwrap();
    let next = elsewhere.append(&t, &decision(2)).unwrap();
    backend_error(store.append(&t, &[next]));
    backend_error(store.read(&t, Seq(0), Seq(10)));
    backend_error(store.tenants());
    backend_error(store.epoch_start(&t, Epoch(0)));
    backend_error(store.put_checkpoint(&t, &cp));
    backend_error(store.checkpoints(&t, Epoch(0)));
    match log.append(&t, &decision(1)) {
        Err(LogError::Store(StoreError::Backend(_))) => {}
        other => panic!("expected a backend error from the log, got {other:?}"),
    }

    server.restart();
    let second = log.append(&t, &decision(2)).unwrap();
    assert_eq!(second.seq(), Seq(1));
    let read = all(&*store, &t);
    assert_eq!(read, [first, second]);
    let r = verify_entries(&read, &keyring(), &ChainOptions::default());
    assert!(r.is_verified(), "{:#?}", r.failures);
}

/// Keys changed behind the store's back make it fail closed: it never
/// overwrites a stored entry.
#[test]
fn inconsistent_keys_fail_closed() {
    let store = Arc::new(TestRedis::new());
    let t = tenant("acme");
    let log = log_over(store.clone(), 1, SigningMode::PerEntry);
    for i in 0..3 {
        log.append(&t, &decision(i)).unwrap();
    }
    let before = all(&**store, &t);
    let head_key = format!("{{{}:acme}}:head", store.prefix());
    let mut conn = raw(store.url());

    // A head without its hash field.
    redis::cmd("HDEL")
        .arg(&head_key)
        .arg("hash")
        .query::<i64>(&mut conn)
        .unwrap();
    assert!(backend_error(store.head(&t)).contains("inconsistent"));

    // No head at all, entries still there: a new chain would overwrite
    // entry 0, so the script refuses.
    redis::cmd("DEL")
        .arg(&head_key)
        .query::<i64>(&mut conn)
        .unwrap();
    assert_eq!(store.head(&t).unwrap(), None);
    let fresh = log_over(store.clone(), 2, SigningMode::PerEntry);
    match fresh.append(&t, &decision(9)) {
        Err(LogError::Store(StoreError::Backend(e))) => {
            assert!(e.to_string().contains("past the head"), "{e}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    redis::cmd("HSET")
        .arg(&head_key)
        .arg("seq")
        .arg(2)
        .arg("hash")
        .arg(before[2].hash().to_hex())
        .arg("epoch")
        .arg(0)
        .query::<i64>(&mut conn)
        .unwrap();
    assert_eq!(all(&**store, &t), before);

    // An entry below the head is gone: reading fails instead of skipping.
    redis::cmd("HDEL")
        .arg(format!("{{{}:acme}}:entries", store.prefix()))
        .arg(1)
        .query::<i64>(&mut conn)
        .unwrap();
    assert!(backend_error(store.read(&t, Seq(0), Seq(3))).contains("missing"));
}

/// The index may hold a tenant without entries (a first append refused
/// after its index entry was written); `tenants` skips it, and
/// `reindex_tenants` rebuilds a lost index.
#[test]
fn tenant_index_is_filtered_and_rebuilt() {
    let store = Arc::new(TestRedis::new());
    let log = log_over(store.clone(), 1, SigningMode::PerEntry);
    for n in ["b", "a", "c"] {
        log.append(&tenant(n), &decision(0)).unwrap();
    }
    let index = format!("{}:tenants", store.prefix());
    let mut conn = raw(store.url());
    redis::cmd("SADD")
        .arg(&index)
        .arg("phantom")
        .query::<i64>(&mut conn)
        .unwrap();
    let abc = vec![tenant("a"), tenant("b"), tenant("c")];
    assert_eq!(store.tenants().unwrap(), abc);
    redis::cmd("DEL")
        .arg(&index)
        .query::<i64>(&mut conn)
        .unwrap();
    assert!(store.tenants().unwrap().is_empty());
    assert_eq!(store.reindex_tenants().unwrap(), 3);
    assert_eq!(store.tenants().unwrap(), abc);
    // A value that is not a tenant id is an error, not silently skipped.
    redis::cmd("SADD")
        .arg(&index)
        .arg("Not A Tenant")
        .query::<i64>(&mut conn)
        .unwrap();
    assert!(backend_error(store.tenants()).contains("tenants"));
}

/// The connection breaks around a script call: when Redis ran it but the
/// reply was lost, the retry finds the batch stored and reports success;
/// when the call never arrived, the retry appends it. Either way the batch
/// is stored exactly once.
#[test]
fn a_lost_reply_is_resolved_by_the_retry() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let proxy = Proxy::start(server.port);
    let store = Arc::new(
        RedisStore::open(
            &proxy.url(),
            RedisOptions::default().key_prefix(unique_prefix()),
        )
        .unwrap(),
    );
    let t = tenant("acme");
    let log = log_over(store.clone(), 1, SigningMode::BatchSealed);
    let mut acked = Vec::new();
    for (i, s) in [
        Sabotage::LoseReply,
        Sabotage::LoseRequest,
        Sabotage::LoseReply,
        Sabotage::None,
    ]
    .into_iter()
    .enumerate()
    {
        proxy.arm(s);
        let bodies: Vec<Body> = (0..3).map(|k| body_of_kind(i as u64 * 3 + k)).collect();
        acked.extend(log.append_batch(&t, &bodies).unwrap());
        assert!(proxy.fired(), "round {i}: the proxy did not break the call");
    }
    // Read directly from Redis, bypassing the proxy.
    let direct = RedisStore::open(
        &server.url(),
        RedisOptions::default().key_prefix(store.key_prefix()),
    )
    .unwrap();
    let read = all(&direct, &t);
    let ids = |v: &[Entry]| v.iter().map(|e| (e.seq(), *e.hash())).collect::<Vec<_>>();
    assert_eq!(
        ids(&read),
        ids(&acked),
        "stored entries differ from the acknowledged ones"
    );
    assert_eq!(read, acked);
    let r = verify_entries(&read, &keyring(), &unsigned());
    assert!(r.is_verified(), "{:#?}", r.failures);
}

// ---------------------------------------------------------------------------
// Several OS processes. `child_writer` is a no-op in a normal run; the test
// below starts this test binary again with `--exact redis::child_writer`
// and the environment set.

const CHILD_URL: &str = "AI_AUDIT_TEST_REDIS_CHILD_URL";
const CHILD_PREFIX: &str = "AI_AUDIT_TEST_REDIS_CHILD_PREFIX";
const CHILD_SEED: &str = "AI_AUDIT_TEST_REDIS_CHILD_SEED";
const CHILD_THREADS: u64 = 3;
const CHILD_APPENDS: u64 = 15;
/// Re-chaining rounds a test writer allows itself on `LogError::Contention`.
const CONTENTION_ROUNDS: usize = 20;

/// Appends with the log, retrying only when the log gave up under
/// contention (then nothing was stored).
fn append_retrying(log: &AuditLog, t: &TenantId, bodies: &[Body]) -> Vec<Entry> {
    for _ in 0..CONTENTION_ROUNDS {
        match log.append_batch(t, bodies) {
            Ok(v) => return v,
            Err(LogError::Contention(_)) => continue,
            Err(e) => panic!("append failed: {e}"),
        }
    }
    panic!("append still contended after {CONTENTION_ROUNDS} rounds");
}

/// Prints `ACK <seq> <hash>` for each acknowledged entry, flushed at once.
fn ack(entries: &[Entry]) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    for e in entries {
        writeln!(out, "ACK {} {}", e.seq(), e.hash().to_hex()).unwrap();
    }
    out.flush().unwrap();
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

fn assert_acked_present(acks: &[(u64, String)], entries: &[Entry]) {
    for (seq, hash) in acks {
        let e = usize::try_from(*seq).ok().and_then(|i| entries.get(i));
        let e = e.unwrap_or_else(|| panic!("acknowledged seq {seq} is missing"));
        assert_eq!(
            (e.seq().0, e.hash().to_hex()),
            (*seq, hash.clone()),
            "acknowledged entry changed"
        );
    }
}

/// Child of `sixteen_threads_and_four_processes_share_one_tenant`.
#[test]
fn child_writer() {
    let (Ok(url), Ok(prefix), Ok(seed)) = (
        std::env::var(CHILD_URL),
        std::env::var(CHILD_PREFIX),
        std::env::var(CHILD_SEED),
    ) else {
        return;
    };
    let store = Arc::new(open_store(&url, &prefix));
    let log = log_over(store, seed.parse().unwrap(), SigningMode::PerEntry);
    let t = tenant("acme");
    std::thread::scope(|s| {
        for th in 0..CHILD_THREADS {
            let (log, t) = (&log, &t);
            s.spawn(move || {
                for i in 0..CHILD_APPENDS {
                    ack(&append_retrying(log, t, &[decision(th * 100 + i)]));
                }
            });
        }
    });
}

fn spawn_child(url: &str, prefix: &str, seed: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "redis::child_writer",
            "--nocapture",
            "--test-threads=1",
            "--quiet",
        ])
        .env(CHILD_URL, url)
        .env(CHILD_PREFIX, prefix)
        .env(CHILD_SEED, seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// 16 threads over 4 logs in this process and 4 OS processes of 3 threads
/// each append to one tenant at once: one contiguous chain that verifies,
/// holding every acknowledged entry and nothing else.
#[test]
fn sixteen_threads_and_four_processes_share_one_tenant() {
    const THREADS: u64 = 16;
    const APPENDS: u64 = 10;
    let store = Arc::new(TestRedis::new());
    let t = tenant("acme");
    let children: Vec<Child> = (1..=4)
        .map(|seed| spawn_child(store.url(), store.prefix(), seed))
        .collect();
    let dyn_store: Arc<dyn Store> = store.clone();
    let logs: Vec<AuditLog> = (0..4)
        .map(|i| log_over(dyn_store.clone(), 100 + i, SigningMode::PerEntry))
        .collect();
    let mine = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for th in 0..THREADS {
            let (log, t, mine) = (&logs[(th % 4) as usize], &t, &mine);
            s.spawn(move || {
                for i in 0..APPENDS {
                    let e = append_retrying(log, t, &[body_of_kind(th * APPENDS + i)]);
                    mine.lock().unwrap().extend(e);
                }
            });
        }
    });
    let mut acks: Vec<(u64, String)> = mine
        .into_inner()
        .unwrap()
        .iter()
        .map(|e| (e.seq().0, e.hash().to_hex()))
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "child failed: {}", out.status);
        acks.extend(parse_acks(&out.stdout[..]));
    }
    let total = THREADS * APPENDS + 4 * CHILD_THREADS * CHILD_APPENDS;
    assert_eq!(acks.len() as u64, total);
    let read = all(&**store, &t);
    assert_eq!(
        read.len() as u64,
        total,
        "an unacknowledged entry was stored, or one was lost"
    );
    assert!(read
        .iter()
        .enumerate()
        .all(|(i, e)| e.seq() == Seq(i as u64)));
    assert_eq!(
        store.head(&t).unwrap(),
        Some(ChainHead::of(read.last().unwrap()))
    );
    assert_acked_present(&acks, &read);
    let r = verify_entries(&read, &keyring(), &ChainOptions::default());
    assert!(r.is_verified(), "{:#?}", r.failures);
}

/// Writers append batch-sealed batches from 4 threads while Redis (AOF,
/// `appendfsync always`) is SIGKILLed and restarted on the same port and
/// directory, three times. Writers see errors while it is down and resume;
/// at the end the chain is one (no fork), verifies, and holds every
/// acknowledged entry.
#[test]
fn redis_restart_under_load_loses_no_acknowledged_entry() {
    const RESTARTS: usize = 3;
    const WRITERS: u64 = 4;
    /// Acknowledged entries to wait for before each kill and at the end.
    const PROGRESS: usize = 150;
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let prefix = unique_prefix();
    let opts = || {
        RedisOptions::default()
            .key_prefix(&prefix)
            .connect_timeout(Duration::from_millis(500))
            .response_timeout(Duration::from_secs(2))
    };
    let store = Arc::new(RedisStore::open(&server.url(), opts()).unwrap());
    let t = tenant("acme");
    let acks = Mutex::new(Vec::<(u64, String)>::new());
    let errors = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let deadline = Instant::now() + Duration::from_secs(120);
    let wait_for = |n: usize, what: &str| {
        while acks.lock().unwrap().len() < n {
            assert!(Instant::now() < deadline, "no progress: {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let (store, t, acks, errors, stop) = (&store, &t, &acks, &errors, &stop);
            s.spawn(move || {
                let dyn_store: Arc<dyn Store> = store.clone();
                let log = log_over(dyn_store, 500 + w, SigningMode::BatchSealed);
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline && i < 100_000 {
                    let bodies: Vec<Body> = (0..1 + i % 4).map(|k| body_of_kind(i + k)).collect();
                    match log.append_batch(t, &bodies) {
                        Ok(v) => acks
                            .lock()
                            .unwrap()
                            .extend(v.iter().map(|e| (e.seq().0, e.hash().to_hex()))),
                        Err(e) => {
                            if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                                eprintln!("writer {w}: {e}");
                            }
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                    i += 1;
                }
            });
        }
        let mut progress = PROGRESS;
        wait_for(progress, "before the first kill");
        for round in 0..RESTARTS {
            server.kill();
            std::thread::sleep(Duration::from_millis(300));
            server.restart();
            let now = acks.lock().unwrap().len();
            progress = now + PROGRESS;
            wait_for(progress, &format!("after restart {round}"));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let acks = acks.into_inner().unwrap();
    eprintln!(
        "restart test: {RESTARTS} restarts, {} acknowledged entries, {} failed appends",
        acks.len(),
        errors.load(Ordering::Relaxed)
    );
    let fresh = RedisStore::open(&server.url(), opts()).unwrap();
    let read = all(&fresh, &t);
    assert!(read
        .iter()
        .enumerate()
        .all(|(i, e)| e.seq() == Seq(i as u64)));
    assert_eq!(
        fresh.head(&t).unwrap(),
        Some(ChainHead::of(read.last().unwrap()))
    );
    assert_acked_present(&acks, &read);
    let r = verify_entries(&read, &keyring(), &unsigned());
    assert!(r.is_verified(), "{:#?}", r.failures);
}
