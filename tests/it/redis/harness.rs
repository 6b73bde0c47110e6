//! Redis test harness: a uniquely prefixed store that deletes its keys when
//! dropped, a private `redis-server` that is always killed, and a TCP proxy
//! that can lose a script's reply.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_audit::*;

/// The shared Redis of the tests (`AI_AUDIT_TEST_REDIS_URL`, default the
/// local server on port 6379).
pub fn url() -> String {
    std::env::var("AI_AUDIT_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// `ai-audit-test-<pid>-<nanos>-<counter>`: no two tests share keys.
pub fn unique_prefix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "ai-audit-test-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A raw connection, for inspecting and damaging keys.
pub fn raw(url: &str) -> redis::Connection {
    let c = redis::Client::open(url).unwrap();
    let conn = c
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn
}

/// Every key of the store with `prefix`: the tenants' keys
/// (`{<prefix>:<tenant>}:…`) and the index (`<prefix>:…`).
pub fn keys_of(conn: &mut redis::Connection, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for pattern in [format!("{{{prefix}:*"), format!("{prefix}:*")] {
        let mut cursor = 0u64;
        // Bounded: SCAN terminates, but never trust a loop without a cap.
        for _ in 0..100_000 {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query(conn)
                .unwrap();
            out.extend(keys);
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Deletes every key of `prefix` (SCAN + DEL).
pub fn delete_prefix(url: &str, prefix: &str) -> Result<usize, redis::RedisError> {
    let c = redis::Client::open(url)?;
    let mut conn = c.get_connection_with_timeout(Duration::from_secs(2))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let keys = keys_of(&mut conn, prefix);
    for chunk in keys.chunks(500) {
        redis::cmd("DEL").arg(chunk).query::<i64>(&mut conn)?;
    }
    Ok(keys.len())
}

/// Opens a store on the shared test Redis. A missing Redis fails the test
/// (in CI and elsewhere alike): the `redis` feature's tests need one.
pub fn open_store(url: &str, prefix: &str) -> RedisStore {
    RedisStore::open(url, RedisOptions::default().key_prefix(prefix)).unwrap_or_else(|e| {
        panic!(
            "Redis unreachable at {url}: {e}. The tests of feature `redis` need a Redis \
             server: start `redis-server` on 127.0.0.1:6379 or set AI_AUDIT_TEST_REDIS_URL \
             (CI={})",
            std::env::var("CI").unwrap_or_default()
        )
    })
}

/// A [`RedisStore`] under a fresh prefix on the shared test Redis; its keys
/// are deleted when it is dropped, also when the test panicked.
pub struct TestRedis {
    store: RedisStore,
    url: String,
    prefix: String,
}

impl TestRedis {
    pub fn new() -> TestRedis {
        let (url, prefix) = (url(), unique_prefix());
        TestRedis {
            store: open_store(&url, &prefix),
            url,
            prefix,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl Deref for TestRedis {
    type Target = RedisStore;
    fn deref(&self) -> &RedisStore {
        &self.store
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Err(e) = delete_prefix(&self.url, &self.prefix) {
            eprintln!("could not delete the keys of {}: {e}", self.prefix);
        }
    }
}

/// Delegates every call unchanged, so the conformance suite tests the
/// [`RedisStore`] itself.
impl Store for TestRedis {
    fn head(&self, tenant: &TenantId) -> Result<Option<ChainHead>, StoreError> {
        self.store.head(tenant)
    }
    fn append(&self, tenant: &TenantId, entries: &[Entry]) -> Result<(), StoreError> {
        self.store.append(tenant, entries)
    }
    fn read(&self, tenant: &TenantId, from: Seq, to: Seq) -> Result<Vec<Entry>, StoreError> {
        self.store.read(tenant, from, to)
    }
    fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        self.store.tenants()
    }
    fn epoch_start(&self, tenant: &TenantId, epoch: Epoch) -> Result<Option<Seq>, StoreError> {
        self.store.epoch_start(tenant, epoch)
    }
    fn put_checkpoint(&self, tenant: &TenantId, cp: &StoredCheckpoint) -> Result<(), StoreError> {
        self.store.put_checkpoint(tenant, cp)
    }
    fn checkpoints(
        &self,
        tenant: &TenantId,
        epoch: Epoch,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.store.checkpoints(tenant, epoch)
    }
    fn delete_archived_epoch(&self, tenant: &TenantId, epoch: Epoch) -> Result<u64, StoreError> {
        self.store.delete_archived_epoch(tenant, epoch)
    }
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private `redis-server` (AOF on, `appendfsync always`, no RDB) in its
/// own directory; killed when dropped.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl Server {
    pub fn start(dir: &Path) -> Server {
        let mut s = Server {
            child: None,
            port: free_port(),
            dir: dir.to_path_buf(),
        };
        s.restart();
        s
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts the server (again) on the same port and directory, and waits
    /// until it has loaded its AOF and answers.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "server already running");
        let bin = std::env::var("AI_AUDIT_TEST_REDIS_SERVER").unwrap_or("redis-server".into());
        let child = Command::new(bin)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
            .args(["--appendfsync", "always", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server (is it installed?): {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = redis::Client::open(self.url())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(500)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if ok.is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("redis-server exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer in 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no shutdown, no final AOF rewrite.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What the proxy does to the next script call (`EVALSHA`/`EVAL`).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Sabotage {
    /// Forward everything.
    None = 0,
    /// Forward the call, swallow its reply, close the connection.
    LoseReply = 1,
    /// Close the connection without forwarding the call.
    LoseRequest = 2,
}

/// A TCP proxy in front of a Redis that can break one script call.
pub struct Proxy {
    pub port: u16,
    mode: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(AtomicU8::new(Sabotage::None as u8));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (mode.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let up = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
                        pipe_pair(client, up, m.clone());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy { port, mode, stop }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Breaks the next script call as `s`.
    pub fn arm(&self, s: Sabotage) {
        self.mode.store(s as u8, Ordering::SeqCst);
    }

    /// Whether the armed sabotage has happened.
    pub fn fired(&self) -> bool {
        self.mode.load(Ordering::SeqCst) == Sabotage::None as u8
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Copies both ways between `client` and `up`, applying the sabotage.
fn pipe_pair(client: TcpStream, up: TcpStream, mode: Arc<AtomicU8>) {
    let swallow = Arc::new(AtomicBool::new(false));
    let (mut c_read, mut u_write) = (client.try_clone().unwrap(), up.try_clone().unwrap());
    let (mut u_read, mut c_write) = (up, client);
    let sw = swallow.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = u_read.read(&mut buf) {
            if n == 0 || sw.load(Ordering::SeqCst) || c_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = c_write.shutdown(Shutdown::Both);
    });
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = c_read.read(&mut buf) {
            if n == 0 {
                break;
            }
            let chunk = &buf[..n];
            let armed = mode.load(Ordering::SeqCst);
            if armed != Sabotage::None as u8 && contains(chunk, b"EVAL") {
                // Disarm first: the client's retry must go through.
                mode.store(Sabotage::None as u8, Ordering::SeqCst);
                if armed == Sabotage::LoseReply as u8 {
                    swallow.store(true, Ordering::SeqCst);
                    let _ = u_write.write_all(chunk);
                    // Let Redis run the script before the connection goes.
                    std::thread::sleep(Duration::from_millis(200));
                }
                let _ = c_read.shutdown(Shutdown::Both);
                let _ = u_write.shutdown(Shutdown::Both);
                return;
            }
            if u_write.write_all(chunk).is_err() {
                break;
            }
        }
        let _ = u_write.shutdown(Shutdown::Both);
    });
}
