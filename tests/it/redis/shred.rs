//! Crypto-shredding on Redis: the shared story, a `DUMP` scan of every key,
//! and a private `redis-server` whose `SAVE`d RDB (and rewritten AOF) no
//! longer holds the destroyed keys.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_audit::*;

use super::harness::*;
use crate::shred::{contains, kek_rotation_story, raw_keys, record, shred_story, world};
use crate::support::*;

#[test]
fn the_full_story_on_redis() {
    let store = Arc::new(TestRedis::new());
    let vault = Arc::new(open_store(store.url(), store.prefix()));
    shred_story(store.clone(), vault);
}

#[test]
fn kek_rotation_on_redis() {
    let store = Arc::new(TestRedis::new());
    let vault = Arc::new(open_store(store.url(), store.prefix()));
    kek_rotation_story(store.clone(), vault);
}

/// What must disappear with acme, and what must stay with globex.
struct Material {
    acme: Vec<Vec<u8>>,
    globex: Vec<Vec<u8>>,
}

fn populate_and_shred(store: Arc<dyn Store>, vault: Arc<RedisStore>, check: impl Fn(&Material)) {
    let w = world(store, vault.clone());
    let acme = tenant("acme");
    record(&w, "acme", Some("alice"), 1);
    record(&w, "acme", None, 1);
    record(&w, "globex", None, 1);
    let alice = w.keys.subject_ref(&acme, "alice").unwrap();
    let mut m = Material {
        acme: raw_keys(&*vault, &KeySlot::Tenant(acme.clone())),
        globex: raw_keys(&*vault, &KeySlot::Tenant(tenant("globex"))),
    };
    m.acme
        .extend(raw_keys(&*vault, &KeySlot::Subject(acme.clone(), alice)));
    check(&m);
    let actor = ExternalId::new("dpo-7").unwrap();
    let reason = Code::new("gdpr_art17").unwrap();
    w.keys
        .destroy_subject_key(w.collector.log(), &acme, "alice", &actor, &reason)
        .unwrap();
    w.keys
        .destroy_tenant_key(w.collector.log(), &acme, &actor, &reason)
        .unwrap();
}

fn dump_all(conn: &mut redis::Connection, prefix: &str) -> Vec<u8> {
    let mut all = Vec::new();
    for k in keys_of(conn, prefix) {
        let d: Option<Vec<u8>> = redis::cmd("DUMP").arg(&k).query(conn).unwrap();
        all.extend(d.unwrap_or_default());
    }
    all
}

/// Wrapped-key text (every third item, see `raw_keys`) present; raw keys absent.
fn assert_present_wrapped(hay: &[u8], keys: &[Vec<u8>], what: &str) {
    for k in keys.iter().skip(2).step_by(3) {
        assert!(
            contains(hay, k),
            "{what}: wrapped key missing (scanner broken?)"
        );
    }
    for k in keys.iter().step_by(3) {
        assert!(!contains(hay, k), "{what}: raw key bytes stored");
    }
}

fn assert_absent(hay: &[u8], keys: &[Vec<u8>], what: &str) {
    assert!(!contains(hay, b"PLAINTEXT"), "{what}: plaintext");
    for k in keys {
        assert!(!contains(hay, k), "{what}: destroyed key material remains");
    }
}

#[test]
fn a_dump_of_every_key_holds_no_destroyed_key_material() {
    let store = Arc::new(TestRedis::new());
    let vault = Arc::new(open_store(store.url(), store.prefix()));
    let (url, prefix) = (store.url().to_owned(), store.prefix().to_owned());
    let mut conn = raw(&url);
    let record_keys = [
        format!("{{{prefix}:acme}}:key:t"),
        format!("{{{prefix}:acme}}:key-subjects"),
    ];
    let m = std::cell::RefCell::new(None);
    populate_and_shred(store.clone(), vault, |x| {
        // The records are there, under the documented key, before shredding.
        // (The shared server compresses DUMP payloads with LZF, which splits
        // long literals, so presence is shown with GET; the private server
        // below scans uncompressed RDB bytes.)
        let mut c = raw(&url);
        let rec: Vec<u8> = redis::cmd("GET")
            .arg(&record_keys[0])
            .query(&mut c)
            .unwrap();
        assert_present_wrapped(&rec, &x.acme[..6], "tenant record");
        assert!(!contains(&dump_all(&mut c, &prefix), b"PLAINTEXT"));
        *m.borrow_mut() = Some(Material {
            acme: x.acme.clone(),
            globex: x.globex.clone(),
        });
    });
    let m = m.into_inner().unwrap();
    for k in &record_keys {
        let n: i64 = redis::cmd("EXISTS").arg(k).query(&mut conn).unwrap();
        assert_eq!(n, 0, "{k} survived the shred");
    }
    let keys = keys_of(&mut conn, &prefix);
    assert!(keys.iter().all(|k| !k.contains("acme}:key")), "{keys:?}");
    assert!(keys.contains(&format!("{{{prefix}:acme}}:shred:t")));
    assert!(keys.contains(&format!("{{{prefix}:globex}}:key:t")));
    let d = dump_all(&mut conn, &prefix);
    assert_absent(&d, &m.acme, "DUMP after shredding");
}

fn info_field(conn: &mut redis::Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg("persistence").query(conn).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn all_files(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in walk(dir) {
        out.extend(std::fs::read(e).unwrap());
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_saved_rdb_and_a_rewritten_aof_hold_no_destroyed_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let url = server.url();
    let mut conn = raw(&url);
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("rdbcompression")
        .arg("no")
        .query::<()>(&mut conn)
        .unwrap();
    let store = Arc::new(open_store(&url, "shred"));
    let rdb = dir.path().join("dump.rdb");
    let m = std::cell::RefCell::new(None);
    populate_and_shred(store.clone(), store.clone(), |x| {
        let mut c = raw(&url);
        redis::cmd("SAVE").query::<()>(&mut c).unwrap();
        let before = std::fs::read(&rdb).unwrap();
        assert!(!contains(&before, b"PLAINTEXT"));
        assert_present_wrapped(&before, &x.acme, "RDB before");
        *m.borrow_mut() = Some(Material {
            acme: x.acme.clone(),
            globex: x.globex.clone(),
        });
    });
    let m = m.into_inner().unwrap();
    redis::cmd("SAVE").query::<()>(&mut conn).unwrap();
    let after = std::fs::read(&rdb).unwrap();
    assert_absent(&after, &m.acme, "RDB after SAVE");
    assert_present_wrapped(&after, &m.globex, "RDB globex");
    // The append-only file still replays the old SETs (SECURITY.md: the
    // operator must rewrite it) …
    let aof_dir = dir.path().join("appendonlydir");
    let aof = all_files(&aof_dir);
    assert!(
        m.acme.iter().skip(2).step_by(3).any(|k| contains(&aof, k)),
        "the AOF is expected to hold the keys until rewritten"
    );
    // … until BGREWRITEAOF has run.
    redis::cmd("BGREWRITEAOF")
        .query::<String>(&mut conn)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let busy = info_field(&mut conn, "aof_rewrite_in_progress") == "1"
            || info_field(&mut conn, "aof_rewrite_scheduled") == "1";
        if !busy {
            let files = all_files(&aof_dir);
            if m.acme.iter().all(|k| !contains(&files, k)) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "AOF rewrite did not drop the keys in 30 s"
        );
    }
    let everything = all_files(dir.path());
    assert_absent(&everything, &m.acme, "every file after rewrite");
    drop(server);
}
