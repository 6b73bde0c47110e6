//! Crypto-shredding: sealed fields, subject and tenant shredding, and that
//! everything still verifies afterwards. One story runs unchanged against
//! every vault backend (memory here, SQLite below, Redis in redis/shred.rs).

use std::io::Cursor;
use std::sync::Arc;

use ai_audit::shred::{DataKeyId, KekId};
use ai_audit::*;
use base64::Engine as _;

use crate::support::*;

pub const KEK: [u8; 32] = [0x4b; 32];

pub struct World {
    pub collector: Collector,
    pub keys: Arc<KeyStore>,
}

pub fn key_store(vault: Arc<dyn KeyVault>, kek: [u8; 32]) -> Arc<KeyStore> {
    Arc::new(
        KeyStore::builder(Arc::new(LocalKek::from_bytes(kek)), vault)
            .random(Arc::new(SeededRandom::new(5)))
            .build(),
    )
}

pub fn world(store: Arc<dyn Store>, vault: Arc<dyn KeyVault>) -> World {
    let keys = key_store(vault, KEK);
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2026-11-22T10:00:00.000000Z").unwrap(),
        1_000,
    ));
    let collector = Collector::builder(
        LogName::new("test.example/log").unwrap(),
        signer(),
        store.clone(),
    )
    .key_store(keys.clone())
    .clock(clock)
    .random(Arc::new(SeededRandom::new(9)))
    .build()
    .unwrap();
    World { collector, keys }
}

/// The plaintext of the receipt `n` of `subject`: unique, so a byte scan
/// can look for it.
pub fn secret_text(tenant: &str, subject: Option<&str>, n: u32) -> String {
    format!(
        "PLAINTEXT<{tenant}/{}/{n}> my card is 4111 1111 1111 1111",
        subject.unwrap_or("-")
    )
}

pub fn record(w: &World, tenant: &str, subject: Option<&str>, n: u32) -> Entry {
    let mut d = w.collector.start(&crate::support::tenant(tenant)).unwrap();
    if let Some(s) = subject {
        d.set_subject(s).unwrap();
    }
    let text = secret_text(tenant, subject, n);
    d.set_input_sealed(&text).unwrap();
    d.set_output_sealed(&format!("OUTPUT<{text}>")).unwrap();
    d.seal_field("retrieved_context", format!("CONTEXT<{text}>").as_bytes())
        .unwrap();
    d.set_action(Action::Allow);
    d.emit().unwrap()
}

fn sealed_of(e: &Entry) -> Vec<SealedField> {
    match e.body().unwrap() {
        Body::Decision(d) => d.sealed,
        other => panic!("not a decision: {other:?}"),
    }
}

fn open_str(keys: &KeyStore, e: &Entry, field: &str) -> Result<String, ShredError> {
    keys.open(e, field)
        .map(|b| String::from_utf8(b.to_vec()).unwrap())
}

fn assert_readable(keys: &KeyStore, e: &Entry, tenant: &str, subject: Option<&str>, n: u32) {
    let text = secret_text(tenant, subject, n);
    assert_eq!(open_str(keys, e, "raw_input").unwrap(), text);
    assert_eq!(
        open_str(keys, e, "raw_output").unwrap(),
        format!("OUTPUT<{text}>")
    );
    assert_eq!(
        open_str(keys, e, "retrieved_context").unwrap(),
        format!("CONTEXT<{text}>")
    );
}

fn assert_shredded(keys: &KeyStore, e: &Entry, slot: &KeySlot, at: Seq) {
    for f in ["raw_input", "raw_output", "retrieved_context"] {
        match keys.open(e, f) {
            Err(ShredError::Shredded { slot: s, seq }) => {
                assert_eq!(&s, slot);
                assert_eq!(seq, Some(at));
            }
            other => panic!("{f}: expected Shredded, got {other:?}"),
        }
    }
    let msg = keys.open(e, "raw_input").unwrap_err().to_string();
    assert!(msg.contains(&format!("shredded at seq {at}")), "{msg}");
}

fn chain_lines(store: &dyn Store, t: &TenantId) -> Vec<Vec<u8>> {
    store
        .read(t, Seq(0), Seq(u64::MAX))
        .unwrap()
        .iter()
        .map(|e| e.to_line().unwrap())
        .collect()
}

pub struct StoryOutcome {
    pub acme: Vec<Entry>,
    pub globex: Vec<Entry>,
    pub subject_tombstone: Entry,
    pub tenant_tombstone: Entry,
}

/// The whole lifecycle on one store and vault. Returns what the backend
/// tests scan for.
pub fn shred_story(store: Arc<dyn Store>, vault: Arc<dyn KeyVault>) -> StoryOutcome {
    let w = world(store.clone(), vault.clone());
    let (acme, globex) = (tenant("acme"), tenant("globex"));
    let a1 = record(&w, "acme", Some("alice"), 1);
    let b1 = record(&w, "acme", Some("bob"), 1);
    let a2 = record(&w, "acme", Some("alice"), 2);
    let t1 = record(&w, "acme", None, 1);
    let g1 = record(&w, "globex", Some("alice"), 1);
    for (e, s, n) in [
        (&a1, Some("alice"), 1),
        (&b1, Some("bob"), 1),
        (&a2, Some("alice"), 2),
        (&t1, None, 1),
    ] {
        assert_readable(&w.keys, e, "acme", s, n);
    }
    assert_readable(&w.keys, &g1, "globex", Some("alice"), 1);
    // The entry hash covers the ciphertext: no plaintext in any line.
    for e in [&a1, &b1, &a2, &t1, &g1] {
        let line = String::from_utf8(e.to_line().unwrap()).unwrap();
        assert!(!line.contains("PLAINTEXT"), "{line}");
        assert!(!line.contains("alice") && !line.contains("bob"));
    }
    // Same subject id in two tenants: unrelated refs and keys.
    let (sa, sg) = (sealed_of(&a1), sealed_of(&g1));
    assert_ne!(sa[0].subject, sg[0].subject);
    assert_ne!(sa[0].key, sg[0].key);

    // Shred one subject.
    let actor = ExternalId::new("dpo-7").unwrap();
    let reason = Code::new("gdpr_art17").unwrap();
    let ts = w
        .keys
        .destroy_subject_key(w.collector.log(), &acme, "alice", &actor, &reason)
        .unwrap();
    assert_eq!(ts.kind(), EntryKind::Shred);
    let alice = w.keys.subject_ref(&acme, "alice").unwrap();
    let Body::Shred(body) = ts.body().unwrap() else {
        panic!("not a shred body")
    };
    assert_eq!(body.scope, ShredScope::Subject);
    assert_eq!(body.subject, Some(alice));
    assert_eq!(body.key, Some(sa[0].key));
    assert_eq!(body.actor, actor);
    assert_eq!(body.reason, reason);
    assert!(!String::from_utf8(ts.to_line().unwrap())
        .unwrap()
        .contains("alice"));
    let alice_slot = KeySlot::Subject(acme.clone(), alice);
    assert_shredded(&w.keys, &a1, &alice_slot, ts.seq());
    assert_shredded(&w.keys, &a2, &alice_slot, ts.seq());
    // Other subjects, the tenant key and other tenants are untouched.
    assert_readable(&w.keys, &b1, "acme", Some("bob"), 1);
    assert_readable(&w.keys, &t1, "acme", None, 1);
    assert_readable(&w.keys, &g1, "globex", Some("alice"), 1);
    // A shredded subject gets no new key; a second shred is refused.
    let mut d = w.collector.start(&acme).unwrap();
    d.set_subject("alice").unwrap();
    assert!(matches!(
        d.seal_field("raw_input", b"again"),
        Err(CollectorError::Shred(ShredError::Shredded { .. }))
    ));
    assert!(matches!(
        w.keys
            .destroy_subject_key(w.collector.log(), &acme, "alice", &actor, &reason),
        Err(ShredError::Shredded { seq: Some(s), .. }) if s == ts.seq()
    ));
    let b2 = record(&w, "acme", Some("bob"), 2);

    // Shred the whole tenant.
    let tt = w
        .keys
        .destroy_tenant_key(
            w.collector.log(),
            &acme,
            &actor,
            &Code::new("offboarding").unwrap(),
        )
        .unwrap();
    let Body::Shred(body) = tt.body().unwrap() else {
        panic!("not a shred body")
    };
    assert_eq!((body.scope, body.subject), (ShredScope::Tenant, None));
    assert_eq!(body.key, Some(sealed_of(&t1)[0].key));
    let tenant_slot = KeySlot::Tenant(acme.clone());
    for e in [&b1, &b2, &t1, &a1] {
        assert_shredded(&w.keys, e, &tenant_slot, tt.seq());
    }
    // The commitment key is gone: nothing more can be committed or confirmed.
    assert!(matches!(
        w.collector.start(&acme),
        Err(CollectorError::Secret(SecretError::Destroyed(_)))
    ));
    assert!(matches!(
        w.keys.commitment_key_of(&acme),
        Err(ShredError::Shredded { .. })
    ));
    assert!(matches!(
        w.keys
            .destroy_tenant_key(w.collector.log(), &acme, &actor, &reason),
        Err(ShredError::Shredded { .. })
    ));
    assert!(matches!(
        w.keys
            .destroy_subject_key(w.collector.log(), &acme, "bob", &actor, &reason),
        Err(ShredError::Shredded { .. })
    ));
    // Globex is untouched and keeps working.
    assert_readable(&w.keys, &g1, "globex", Some("alice"), 1);
    let g2 = record(&w, "globex", None, 2);
    assert_readable(&w.keys, &g2, "globex", None, 2);

    // The shredded tenant's chain and a package of everything still verify.
    for t in [&acme, &globex] {
        let r = verify_lines(
            chain_lines(&*store, t).iter().map(Vec::as_slice),
            &keyring(),
            &ChainOptions::default(),
        );
        assert!(r.is_verified(), "{t}: {:?}", r.failures);
    }
    w.collector.log().seal_all().unwrap();
    let mut zip = Cursor::new(Vec::new());
    export_package(
        &*store,
        &LogName::new("test.example/log").unwrap(),
        &*signer(),
        &Scope::All,
        &mut zip,
    )
    .unwrap();
    let r = verify_package(Cursor::new(zip.into_inner()), &keyring()).unwrap();
    assert!(r.report.is_verified(), "{:?}", r.report.failures);

    // A fresh key store over the same vault (another process, a restart)
    // sees the same: the markers persist.
    let fresh = key_store(vault.clone(), KEK);
    assert_shredded(&fresh, &b1, &tenant_slot, tt.seq());
    assert_readable(&fresh, &g1, "globex", Some("alice"), 1);
    // Under another KEK the stored keys are refused with a clear error.
    let other = key_store(vault, [0x11; 32]);
    assert!(matches!(
        other.open(&g1, "raw_input"),
        Err(ShredError::KekMismatch { .. })
    ));
    StoryOutcome {
        acme: vec![a1, b1, a2, t1, b2],
        globex: vec![g1, g2],
        subject_tombstone: ts,
        tenant_tombstone: tt,
    }
}

/// The raw key bytes in a live slot, unwrapped the way SPEC §4.6 says (an
/// independent reading of the record, not the library's).
pub fn raw_keys(vault: &dyn KeyVault, slot: &KeySlot) -> Vec<Vec<u8>> {
    let SlotState::Live(record) = vault.load(slot).unwrap() else {
        panic!("{slot} is not live")
    };
    let v: serde_json::Value = serde_json::from_slice(&record).unwrap();
    let kek = LocalKek::from_bytes(KEK);
    let (tenant, subject) = match slot {
        KeySlot::Tenant(t) => (t.as_str().to_owned(), None),
        KeySlot::Subject(t, s) => (t.as_str().to_owned(), Some(s.to_hex())),
        _ => unreachable!(),
    };
    let mut out = Vec::new();
    for purpose in ["commitment", "data"] {
        let Some(w) = v.get(purpose) else { continue };
        let id = w["id"].as_str().unwrap();
        let kek_id = w["kek"].as_str().unwrap();
        assert_eq!(kek_id, kek.kek_id().to_hex());
        let wrapped = base64::engine::general_purpose::STANDARD
            .decode(w["wrapped"].as_str().unwrap())
            .unwrap();
        let aad = encoding::key_wrap_aad(&tenant, subject.as_deref(), purpose, id, kek_id);
        let key = kek.unwrap(&wrapped, &aad).unwrap();
        out.push(key.to_vec());
        out.push(wrapped);
        out.push(w["wrapped"].as_str().unwrap().as_bytes().to_vec());
    }
    out
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_story_on_the_memory_vault() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let out = shred_story(store.clone(), Arc::new(MemoryVault::new()));
    // The tombstones are ordinary chain entries at their seqs, after the
    // entries they erased.
    let acme = store.read(&tenant("acme"), Seq(0), Seq(u64::MAX)).unwrap();
    for t in [&out.subject_tombstone, &out.tenant_tombstone] {
        assert_eq!(&acme[t.seq().0 as usize], t);
    }
    assert!(out
        .acme
        .iter()
        .all(|e| e.seq() < out.tenant_tombstone.seq()));
    assert_eq!(out.globex.len(), 2);
}

#[test]
fn ciphertexts_moved_between_fields_entries_subjects_or_tenants_fail() {
    let w = world(Arc::new(MemoryStore::new()), Arc::new(MemoryVault::new()));
    let a1 = record(&w, "acme", Some("alice"), 1);
    let a2 = record(&w, "acme", Some("alice"), 2);
    let b1 = record(&w, "acme", Some("bob"), 1);
    let g1 = record(&w, "globex", Some("alice"), 1);
    let acme = tenant("acme");
    let tampered = |r: Result<_, ShredError>| matches!(r, Err(ShredError::Tampered { .. }));
    let s = sealed_of(&a1);
    let (input, output) = (&s[0], &s[1]);
    assert_eq!(input.field.as_str(), "raw_input");
    // Field: raw_input's ciphertext under raw_output's name.
    let mut moved = output.clone();
    moved.ct = input.ct.clone();
    moved.nonce = input.nonce;
    assert!(tampered(w.keys.open_sealed(&acme, a1.id(), &moved)));
    let mut renamed = input.clone();
    renamed.field = Code::new("raw_output").unwrap();
    assert!(tampered(w.keys.open_sealed(&acme, a1.id(), &renamed)));
    // Entry: a1's field presented as a2's.
    assert!(tampered(w.keys.open_sealed(&acme, a2.id(), input)));
    // Subject: alice's ciphertext under bob's ref and key id.
    let bob = &sealed_of(&b1)[0];
    let mut to_bob = bob.clone();
    to_bob.ct = input.ct.clone();
    to_bob.nonce = input.nonce;
    assert!(tampered(w.keys.open_sealed(&acme, b1.id(), &to_bob)));
    // ... or keeping alice's key id under bob's ref: not bob's key.
    let mut relabelled = input.clone();
    relabelled.subject = bob.subject;
    assert!(matches!(
        w.keys.open_sealed(&acme, a1.id(), &relabelled),
        Err(ShredError::WrongKey { .. })
    ));
    // Tenant: acme's field read as globex's (same entry id or globex's own).
    let globex = tenant("globex");
    assert!(w.keys.open_sealed(&globex, a1.id(), input).is_err());
    let g = &sealed_of(&g1)[0];
    let mut to_globex = g.clone();
    to_globex.ct = input.ct.clone();
    to_globex.nonce = input.nonce;
    assert!(tampered(w.keys.open_sealed(&globex, g1.id(), &to_globex)));
    // One flipped bit anywhere in the ciphertext or tag.
    let mut bytes = input.ct.as_bytes().to_vec();
    for i in [0, bytes.len() - 1] {
        bytes[i] ^= 1;
        let mut flipped = input.clone();
        flipped.ct = ai_audit::shred::Ciphertext::new(bytes.clone()).unwrap();
        assert!(tampered(w.keys.open_sealed(&acme, a1.id(), &flipped)));
        bytes[i] ^= 1;
    }
    // The untouched fields still open; a missing field is named.
    assert!(w.keys.open_sealed(&acme, a1.id(), input).is_ok());
    assert!(matches!(
        w.keys.open(&a1, "nope"),
        Err(ShredError::NoSuchField(f)) if f == "nope"
    ));
    // Another deployment's key store knows no key for these fields.
    let stranger = key_store(Arc::new(MemoryVault::new()), KEK);
    assert!(matches!(
        stranger.open(&a1, "raw_input"),
        Err(ShredError::NoKey(_))
    ));
}

#[test]
fn sealing_needs_a_key_store_and_unique_field_names() {
    let f = fixture();
    let c = Collector::builder(f.log.name().clone(), signer(), f.store.clone())
        .build()
        .unwrap();
    let mut d = c.start(&tenant("acme")).unwrap();
    assert!(matches!(
        d.seal_field("raw_input", b"x"),
        Err(CollectorError::NoKeyStore(_))
    ));
    assert!(matches!(
        d.set_subject("alice"),
        Err(CollectorError::NoKeyStore(_))
    ));
    let w = world(Arc::new(MemoryStore::new()), Arc::new(MemoryVault::new()));
    let mut d = w.collector.start(&tenant("acme")).unwrap();
    d.seal_field("b", b"1")
        .unwrap()
        .seal_field("a", b"2")
        .unwrap();
    assert!(matches!(
        d.seal_field("a", b"3"),
        Err(CollectorError::DuplicateField(_))
    ));
    assert!(matches!(
        d.seal_field("Not A Code", b"3"),
        Err(CollectorError::Id { .. })
    ));
    assert!(matches!(
        d.set_subject(""),
        Err(CollectorError::Shred(ShredError::InvalidSubject))
    ));
    d.set_input("hi").unwrap().set_action(Action::Allow);
    let e = d.emit().unwrap();
    // Sorted by field name, and the emitted entry carries the id the
    // fields were bound to.
    let names: Vec<String> = sealed_of(&e).iter().map(|s| s.field.to_string()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(&*w.keys.open(&e, "a").unwrap(), b"2");
}

#[test]
fn two_key_stores_on_one_vault_agree_and_unknown_subjects_can_be_shredded() {
    let vault: Arc<dyn KeyVault> = Arc::new(MemoryVault::new());
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let a = world(store.clone(), vault.clone());
    let b = world(store, vault);
    // Both create keys for the same new tenant and subject concurrently:
    // one record wins and both use it.
    let (ea, eb) = std::thread::scope(|s| {
        let ha = s.spawn(|| record(&a, "acme", Some("carol"), 1));
        let hb = s.spawn(|| record(&b, "acme", Some("carol"), 2));
        (ha.join().unwrap(), hb.join().unwrap())
    });
    assert_readable(&a.keys, &eb, "acme", Some("carol"), 2);
    assert_readable(&b.keys, &ea, "acme", Some("carol"), 1);
    // A subject that never had a key: the tombstone names no key, and the
    // subject never gets one afterwards.
    let acme = tenant("acme");
    let actor = ExternalId::new("dpo-7").unwrap();
    let reason = Code::new("gdpr_art17").unwrap();
    let tomb = a
        .keys
        .destroy_subject_key(a.collector.log(), &acme, "dave", &actor, &reason)
        .unwrap();
    let Body::Shred(body) = tomb.body().unwrap() else {
        panic!()
    };
    assert_eq!(body.key, None);
    let mut d = b.collector.start(&acme).unwrap();
    d.set_subject("dave").unwrap();
    assert!(matches!(
        d.seal_field("x", b"y"),
        Err(CollectorError::Shred(ShredError::Shredded { seq: Some(s), .. })) if s == tomb.seq()
    ));
    // The other key store still has carol cached; after forgetting, a
    // destroy by `a` is seen by `b` too.
    a.keys
        .destroy_subject_key(a.collector.log(), &acme, "carol", &actor, &reason)
        .unwrap();
    assert!(
        b.keys.open(&ea, "raw_input").is_ok(),
        "b's cache (SECURITY.md)"
    );
    b.keys.forget_cached_keys();
    assert!(matches!(
        b.keys.open(&ea, "raw_input"),
        Err(ShredError::Shredded { .. })
    ));
}

pub const NEW_KEK: [u8; 32] = [0x6e; 32];

/// KEK rotation (`KeyStore::rewrap_keys`), run unchanged on every vault:
/// afterwards only the new KEK opens anything, shredded slots stay
/// shredded, a failure changes nothing, and an interrupted rotation can be
/// re-run.
pub fn kek_rotation_story(store: Arc<dyn Store>, vault: Arc<dyn KeyVault>) {
    let w = world(store, vault.clone());
    let acme = tenant("acme");
    let e_alice = record(&w, "acme", Some("alice"), 1);
    let e_bob = record(&w, "acme", Some("bob"), 1);
    let e_acme = record(&w, "acme", None, 1);
    let e_globex = record(&w, "globex", None, 1);
    let actor = ExternalId::new("dpo-7").unwrap();
    let reason = Code::new("gdpr_art17").unwrap();
    let bob_tomb = w
        .keys
        .destroy_subject_key(w.collector.log(), &acme, "bob", &actor, &reason)
        .unwrap();
    let globex_tomb = w
        .keys
        .destroy_tenant_key(w.collector.log(), &tenant("globex"), &actor, &reason)
        .unwrap();
    let alice = w.keys.subject_ref(&acme, "alice").unwrap();
    let slots = [
        KeySlot::Tenant(acme.clone()),
        KeySlot::Subject(acme.clone(), alice),
    ];
    let load_all = || {
        slots
            .iter()
            .map(|s| vault.load(s).unwrap())
            .collect::<Vec<_>>()
    };
    let before = load_all();

    // Rotate: the live slots (acme, alice) are re-wrapped.
    let new = LocalKek::from_bytes(NEW_KEK);
    assert_eq!(w.keys.rewrap_keys(&new).unwrap(), 2);
    let after = load_all();
    for (b, a) in before.iter().zip(&after) {
        let (SlotState::Live(b), SlotState::Live(a)) = (b, a) else {
            panic!("not live")
        };
        assert_ne!(a, b, "re-wrapped");
        let a = String::from_utf8(a.clone()).unwrap();
        assert!(a.contains(&new.kek_id().to_hex()), "{a}");
        assert!(
            !a.contains(&LocalKek::from_bytes(KEK).kek_id().to_hex()),
            "{a}"
        );
    }

    // The old KEK opens nothing stored; the new one opens everything live.
    let old = key_store(vault.clone(), KEK);
    for e in [&e_alice, &e_acme] {
        assert!(
            matches!(
                old.open(e, "raw_input"),
                Err(ShredError::KekMismatch { .. })
            ),
            "old KEK still opens {e:?}"
        );
    }
    let fresh = key_store(vault.clone(), NEW_KEK);
    assert_readable(&fresh, &e_alice, "acme", Some("alice"), 1);
    assert_readable(&fresh, &e_acme, "acme", None, 1);
    assert_eq!(
        fresh.subject_ref(&acme, "alice").unwrap(),
        alice,
        "same commitment key"
    );
    // Shredded slots stay shredded, under either KEK.
    let bob = fresh.subject_ref(&acme, "bob").unwrap();
    assert_shredded(
        &fresh,
        &e_bob,
        &KeySlot::Subject(acme.clone(), bob),
        bob_tomb.seq(),
    );
    assert_shredded(
        &fresh,
        &e_globex,
        &KeySlot::Tenant(tenant("globex")),
        globex_tomb.seq(),
    );

    // Re-running with the same new KEK keeps the records as they are.
    assert_eq!(fresh.rewrap_keys(&new).unwrap(), 2);
    assert_eq!(load_all(), after);

    // A slot still under the old KEK (created by a stale writer): rotating
    // with the new KEK's store to a third KEK fails on it, and nothing —
    // not even the slots before it — changes.
    let initech = tenant("initech");
    let f = Code::new("x").unwrap();
    let stale = old
        .seal(&initech, None, EntryId([1; 16]), &f, b"y")
        .unwrap();
    let initech_before = vault.load(&KeySlot::Tenant(initech.clone())).unwrap();
    let third = LocalKek::from_bytes([0x33; 32]);
    assert!(matches!(
        fresh.rewrap_keys(&third),
        Err(ShredError::KekMismatch { .. })
    ));
    assert_eq!(load_all(), after);
    assert_eq!(
        vault.load(&KeySlot::Tenant(initech.clone())).unwrap(),
        initech_before
    );
    // The interrupted rotation is finished by re-running it with the old
    // KEK's store: slots under the new KEK are kept, the stale one moves.
    assert_eq!(old.rewrap_keys(&new).unwrap(), 3);
    assert_eq!(load_all(), after);
    let fresh = key_store(vault.clone(), NEW_KEK);
    assert_eq!(
        &*fresh
            .open_sealed(&initech, EntryId([1; 16]), &stale)
            .unwrap(),
        b"y"
    );
}

#[test]
fn kek_rotation_on_the_memory_vault() {
    kek_rotation_story(Arc::new(MemoryStore::new()), Arc::new(MemoryVault::new()));
}

/// A vault whose first load of a live subject slot, once armed, signals and
/// then waits (at most 300 ms) to be told to go on: a cache fill caught
/// between reading a key and caching it.
struct PausingVault {
    inner: MemoryVault,
    armed: std::sync::atomic::AtomicBool,
    entered: std::sync::Mutex<std::sync::mpsc::Sender<()>>,
    resume: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

impl KeyVault for PausingVault {
    fn load(&self, slot: &KeySlot) -> Result<SlotState, ShredError> {
        let state = self.inner.load(slot)?;
        let pause = matches!(slot, KeySlot::Subject(..))
            && matches!(state, SlotState::Live(_))
            && self.armed.swap(false, std::sync::atomic::Ordering::SeqCst);
        if pause {
            self.entered.lock().unwrap().send(()).unwrap();
            let _ = self
                .resume
                .lock()
                .unwrap()
                .recv_timeout(std::time::Duration::from_millis(300));
        }
        Ok(state)
    }
    fn create(&self, slot: &KeySlot, record: &[u8]) -> Result<SlotState, ShredError> {
        self.inner.create(slot, record)
    }
    fn destroy(&self, slot: &KeySlot) -> Result<(), ShredError> {
        self.inner.destroy(slot)
    }
    fn record_tombstone(&self, slot: &KeySlot, seq: Seq) -> Result<(), ShredError> {
        self.inner.record_tombstone(slot, seq)
    }
}

/// A seal that read a subject's key from the vault just before a destroy
/// must not leave that key in the cache: every later seal or open fails.
#[test]
fn a_key_loaded_during_a_destroy_is_never_cached_after_it() {
    let (entered_tx, entered) = std::sync::mpsc::channel();
    let (resume, resume_rx) = std::sync::mpsc::channel();
    let vault = Arc::new(PausingVault {
        inner: MemoryVault::new(),
        armed: false.into(),
        entered: entered_tx.into(),
        resume: resume_rx.into(),
    });
    let w = world(Arc::new(MemoryStore::new()), vault.clone());
    let acme = tenant("acme");
    let e = record(&w, "acme", Some("carol"), 1);
    let carol = w.keys.subject_ref(&acme, "carol").unwrap();
    w.keys.forget_cached_keys();
    vault.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let field = Code::new("late").unwrap();
    let (actor, reason) = (
        ExternalId::new("dpo-7").unwrap(),
        Code::new("gdpr_art17").unwrap(),
    );
    std::thread::scope(|s| {
        let sealer = s.spawn(|| {
            w.keys
                .seal(&acme, Some(&carol), EntryId([7; 16]), &field, b"x")
        });
        entered.recv().unwrap();
        // The sealer is between loading carol's record and caching her key.
        w.keys
            .destroy_subject_key(w.collector.log(), &acme, "carol", &actor, &reason)
            .unwrap();
        resume.send(()).unwrap();
        // Sealed concurrently with the destroy: it may have gone either way.
        let _ = sealer.join().unwrap();
    });
    assert!(matches!(
        w.keys
            .seal(&acme, Some(&carol), EntryId([8; 16]), &field, b"y"),
        Err(ShredError::Shredded { .. })
    ));
    assert!(matches!(
        w.keys.open(&e, "raw_input"),
        Err(ShredError::Shredded { .. })
    ));
}

#[test]
fn a_sealed_receipt_is_stored_only_under_the_id_its_fields_bind() {
    let w = world(Arc::new(MemoryStore::new()), Arc::new(MemoryVault::new()));
    let acme = tenant("acme");
    let mut d = w.collector.start(&acme).unwrap();
    assert_eq!(d.entry_id(), None);
    d.set_input_sealed("queued")
        .unwrap()
        .set_action(Action::Allow);
    let id = d.entry_id().unwrap();
    let body = Body::Decision(Box::new(d.to_receipt().unwrap()));
    // Under a fresh id the fields could never be opened: refused.
    let log = w.collector.log();
    for err in [
        log.append(&acme, &body).unwrap_err().to_string(),
        log.append_batch(&acme, std::slice::from_ref(&body))
            .unwrap_err()
            .to_string(),
    ] {
        assert!(
            err.contains("sealed fields must be appended under the entry id"),
            "{err}"
        );
    }
    let p = Pipeline::start(log.clone(), PipelineConfig::default());
    assert!(matches!(
        p.submit(&acme, body.clone()),
        Err(PipelineError::Append(m)) if m.contains("submit_with_id")
    ));
    // Through the pipeline with its id, it opens.
    let e = p
        .submit_with_id(&acme, id, body)
        .unwrap()
        .wait(std::time::Duration::from_secs(10))
        .unwrap();
    assert_eq!(e.id(), id);
    assert_eq!(&*w.keys.open(&e, "raw_input").unwrap(), b"queued");
    p.shutdown().unwrap();
}

#[test]
fn applications_cannot_append_a_forged_tombstone() {
    let f = fixture();
    let body = Body::Shred(Shred {
        actor: ExternalId::new("x").unwrap(),
        destroyed: Timestamp::parse("2026-11-22T10:00:00.000000Z").unwrap(),
        key: Some(DataKeyId([1; 16])),
        reason: Code::new("gdpr_art17").unwrap(),
        scope: ShredScope::Tenant,
        subject: None,
    });
    let err = f
        .log
        .append(&tenant("acme"), &body)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("shred entries are written by KeyStore"),
        "{err}"
    );
    let _ = KekId([0; 8]);
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;

    fn files(path: &std::path::Path) -> Vec<u8> {
        let mut all = std::fs::read(path).unwrap();
        let wal = path.with_extension("db-wal");
        if let Ok(w) = std::fs::read(&wal) {
            all.extend(w);
        }
        all
    }

    #[test]
    fn the_story_on_sqlite_and_a_byte_scan_finds_nothing_after_shredding() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.db");
        let store = Arc::new(SqliteStore::open(&path, SqliteOptions::default()).unwrap());
        // Phase 1: seal, and collect what must disappear.
        let w = world(store.clone(), store.clone());
        let acme = tenant("acme");
        record(&w, "acme", Some("alice"), 1);
        record(&w, "acme", Some("bob"), 1);
        record(&w, "acme", None, 1);
        record(&w, "globex", None, 1);
        let alice = w.keys.subject_ref(&acme, "alice").unwrap();
        let bob = w.keys.subject_ref(&acme, "bob").unwrap();
        let alice_keys = raw_keys(&*store, &KeySlot::Subject(acme.clone(), alice));
        let mut acme_keys = raw_keys(&*store, &KeySlot::Tenant(acme.clone()));
        acme_keys.extend(raw_keys(&*store, &KeySlot::Subject(acme.clone(), bob)));
        let globex_keys = raw_keys(&*store, &KeySlot::Tenant(tenant("globex")));
        // The scan works: the wrapped keys are in the file before shredding…
        store.checkpoint().unwrap();
        let before = files(&path);
        for k in alice_keys.iter().chain(&acme_keys).skip(2).step_by(3) {
            assert!(contains(&before, k), "scanner sees stored wrapped keys");
        }
        // …and no plaintext or raw key ever is.
        assert!(!contains(&before, b"PLAINTEXT"));
        for k in alice_keys.iter().chain(&acme_keys).step_by(3) {
            assert!(!contains(&before, k), "raw key bytes in the file");
        }
        // Phase 2: shred alice, then all of acme.
        let actor = ExternalId::new("dpo-7").unwrap();
        let reason = Code::new("gdpr_art17").unwrap();
        w.keys
            .destroy_subject_key(w.collector.log(), &acme, "alice", &actor, &reason)
            .unwrap();
        let after_subject = files(&path);
        for k in &alice_keys {
            assert!(!contains(&after_subject, k), "alice's key material remains");
        }
        for k in acme_keys.iter().skip(2).step_by(3) {
            assert!(contains(&after_subject, k), "bob's and acme's keys stay");
        }
        w.keys
            .destroy_tenant_key(w.collector.log(), &acme, &actor, &reason)
            .unwrap();
        // Appends after the destroy add WAL frames; the guarantee concerns
        // the key pages, which are gone from both files.
        record(&w, "globex", None, 2);
        let after = files(&path);
        assert!(!contains(&after, b"PLAINTEXT"));
        for k in alice_keys.iter().chain(&acme_keys) {
            assert!(!contains(&after, k), "acme key material remains");
        }
        for k in globex_keys.iter().skip(2).step_by(3) {
            assert!(contains(&after, k), "globex keys stay");
        }
        drop(w);
        drop(store);
        // Reopened (a restart): still shredded, globex still readable.
        let store = Arc::new(SqliteStore::open(&path, SqliteOptions::default()).unwrap());
        let keys = key_store(store.clone(), KEK);
        let entries = store.read(&acme, Seq(0), Seq(u64::MAX)).unwrap();
        assert!(matches!(
            keys.open(&entries[0], "raw_input"),
            Err(ShredError::Shredded { seq: Some(_), .. })
        ));
        let g = store.read(&tenant("globex"), Seq(0), Seq(1)).unwrap();
        assert_readable(&keys, &g[0], "globex", None, 1);
    }

    #[test]
    fn kek_rotation_on_sqlite_and_no_record_under_the_old_kek_remains() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.db");
        let store = Arc::new(SqliteStore::open(&path, SqliteOptions::default()).unwrap());
        // The wrapped keys under the old KEK (base64, as stored) before rotating.
        let w = world(store.clone(), store.clone());
        record(&w, "acme", None, 7);
        let old_wrapped: Vec<Vec<u8>> = raw_keys(&*store, &KeySlot::Tenant(tenant("acme")))
            .into_iter()
            .skip(2)
            .step_by(3)
            .collect();
        drop(w);
        store.checkpoint().unwrap();
        assert!(old_wrapped.iter().all(|k| contains(&files(&path), k)));
        kek_rotation_story(store.clone(), store.clone());
        let after = files(&path);
        for k in &old_wrapped {
            assert!(
                !contains(&after, k),
                "a key wrapped under the old KEK remains"
            );
        }
    }

    #[test]
    fn the_full_story_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(SqliteStore::open(dir.path().join("a.db"), SqliteOptions::default()).unwrap());
        shred_story(store.clone(), store);
    }
}

/// Format vectors (SPEC §4.4–4.6, §9): `shred_v1.json` with every
/// intermediate value of one sealed field and one wrapped key, re-derived
/// here with plain hmac/sha2/aes-gcm; a chain with sealed fields and both
/// kinds of tombstone that verifies; and two malformed bodies.
mod vectors {
    use super::*;
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use hmac::Mac as _;
    use serde_json::{json, Value};
    use sha2::Digest as _;

    fn b64(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }

    fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut m = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key).unwrap();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().to_vec()
    }

    fn jsonl(lines: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for l in lines {
            out.extend_from_slice(l);
            out.push(b'\n');
        }
        out
    }

    /// A deterministic world: seeded keys (dangerous_key_source), nonces,
    /// ids and clock, so the vectors are reproducible.
    fn seeded_world(vault: Arc<MemoryVault>) -> World {
        let keys = Arc::new(
            KeyStore::builder(Arc::new(LocalKek::from_bytes(KEK)), vault)
                .random(Arc::new(SeededRandom::new(5)))
                .dangerous_key_source(Arc::new(SeededRandom::new(77)))
                .build(),
        );
        let collector = Collector::builder(
            LogName::new("test.example/log").unwrap(),
            signer(),
            Arc::new(MemoryStore::new()),
        )
        .key_store(keys.clone())
        .clock(Arc::new(ManualClock::new(
            Timestamp::parse("2026-11-22T10:00:00.000000Z").unwrap(),
            1_000,
        )))
        .random(Arc::new(SeededRandom::new(9)))
        .build()
        .unwrap();
        World { collector, keys }
    }

    #[test]
    fn shred_vectors_v1() {
        let vault = Arc::new(MemoryVault::new());
        let w = seeded_world(vault.clone());
        let acme = tenant("acme");
        let mut d = w.collector.start(&acme).unwrap();
        d.set_subject("customer-42").unwrap();
        d.set_input_sealed("Refund card 4111 1111 1111 1111?")
            .unwrap();
        d.set_action(Action::Escalate);
        let e0 = d.emit().unwrap();
        let mut d = w.collector.start(&acme).unwrap();
        d.set_input("tenant-level").unwrap();
        d.seal_field("notes", b"kept under the tenant key").unwrap();
        d.set_action(Action::Allow);
        let e1 = d.emit().unwrap();
        let subject = w.keys.subject_ref(&acme, "customer-42").unwrap();
        let tenant_raw = raw_keys(&*vault, &KeySlot::Tenant(acme.clone()));
        let subject_raw = raw_keys(&*vault, &KeySlot::Subject(acme.clone(), subject));
        let SlotState::Live(tenant_record) = vault.load(&KeySlot::Tenant(acme.clone())).unwrap()
        else {
            panic!()
        };
        let SlotState::Live(subject_record) = vault
            .load(&KeySlot::Subject(acme.clone(), subject))
            .unwrap()
        else {
            panic!()
        };
        let sealed = sealed_of(&e0).remove(0);
        let binding = encoding::sealed_field_binding(
            "acme",
            Some(&subject.to_hex()),
            &e0.id().to_hex(),
            "raw_input",
            &sealed.key.to_hex(),
        );
        let actor = ExternalId::new("dpo-7").unwrap();
        let s_tomb = w
            .keys
            .destroy_subject_key(
                w.collector.log(),
                &acme,
                "customer-42",
                &actor,
                &Code::new("gdpr_art17").unwrap(),
            )
            .unwrap();
        let t_tomb = w
            .keys
            .destroy_tenant_key(
                w.collector.log(),
                &acme,
                &actor,
                &Code::new("offboarding").unwrap(),
            )
            .unwrap();
        let entry_texts: Vec<String> = [&e0, &e1, &s_tomb, &t_tomb]
            .iter()
            .map(|e| String::from_utf8(e.to_line().unwrap()).unwrap())
            .collect();
        let doc = json!({
            "about": "Crypto-shredding, SPEC §4.4-§4.6. Test-only keys: never use them. Keys and wrapped keys are hex; records are the vault's stored bytes.",
            "kek_hex": hex::encode(KEK),
            "kek_id": LocalKek::from_bytes(KEK).kek_id().to_hex(),
            "tenant": "acme",
            "tenant_record": String::from_utf8(tenant_record).unwrap(),
            "tenant_commitment_key_hex": hex::encode(&tenant_raw[0]),
            "tenant_data_key_hex": hex::encode(&tenant_raw[3]),
            "subject_id": "customer-42",
            "subject_ref": subject.to_hex(),
            "subject_record": String::from_utf8(subject_record).unwrap(),
            "subject_data_key_hex": hex::encode(&subject_raw[0]),
            "sealed_field": {
                "entry": e0.id().to_hex(),
                "binding": String::from_utf8(binding).unwrap(),
                "plaintext_utf8": "Refund card 4111 1111 1111 1111?",
                "sealed": serde_json::to_value(&sealed).unwrap(),
            },
            "entries": entry_texts,
        });
        let mut text = serde_json::to_string_pretty(&doc).unwrap();
        text.push('\n');
        check_or_bless("tests/vectors/shred_v1.json", text.as_bytes());
        let lines: Vec<Vec<u8>> = [&e0, &e1, &s_tomb, &t_tomb]
            .iter()
            .map(|e| e.to_line().unwrap())
            .collect();
        check_or_bless("tests/vectors/ok_shredded_v1.jsonl", &jsonl(&lines));

        // Independently, from the file on disk alone.
        let doc: Value = serde_json::from_slice(
            &std::fs::read(root().join("tests/vectors/shred_v1.json")).unwrap(),
        )
        .unwrap();
        let s = |p: &str| doc.pointer(p).unwrap().as_str().unwrap().to_owned();
        let kek = hex::decode(s("/kek_hex")).unwrap();
        let kek_id = &sha2::Sha256::digest([&b"ai-audit/v1/kek-id\0"[..], &kek].concat())[..8];
        assert_eq!(hex::encode(kek_id), s("/kek_id"));
        let kt = hex::decode(s("/tenant_commitment_key_hex")).unwrap();
        let sref = &hmac(&kt, &[b"ai-audit/v1/subject\0", b"customer-42"])[..16];
        assert_eq!(hex::encode(sref), s("/subject_ref"));
        // Unwrap the subject's data key from its stored record.
        let rec: Value = serde_json::from_str(&s("/subject_record")).unwrap();
        let key_id = rec["data"]["id"].as_str().unwrap();
        let aad = format!(
            "ai-audit/v1/key-wrap\0{{\"id\":\"{key_id}\",\"kek\":\"{}\",\"purpose\":\"data\",\"subject\":\"{}\",\"tenant\":\"acme\",\"v\":1}}",
            s("/kek_id"),
            s("/subject_ref")
        );
        let wrapped = b64(rec["data"]["wrapped"].as_str().unwrap());
        assert_eq!(wrapped.len(), 60);
        let aes = aes_gcm::Aes256Gcm::new_from_slice(&kek).unwrap();
        let dk = aes
            .decrypt(
                &<[u8; 12]>::try_from(&wrapped[..12]).unwrap().into(),
                Payload {
                    msg: &wrapped[12..],
                    aad: aad.as_bytes(),
                },
            )
            .unwrap();
        assert_eq!(hex::encode(&dk), s("/subject_data_key_hex"));
        let dk_id = &sha2::Sha256::digest([&b"ai-audit/v1/data-key-id\0"[..], &dk].concat())[..16];
        assert_eq!(hex::encode(dk_id), key_id);
        // Open the sealed field.
        let f = &doc["sealed_field"];
        let binding = format!(
            "{{\"entry\":\"{}\",\"field\":\"raw_input\",\"key\":\"{key_id}\",\"subject\":\"{}\",\"tenant\":\"acme\",\"v\":1}}",
            f["entry"].as_str().unwrap(),
            s("/subject_ref")
        );
        assert_eq!(binding, f["binding"].as_str().unwrap());
        let fk = hmac(&dk, &[b"ai-audit/v1/field-key\0", binding.as_bytes()]);
        let nonce = hex::decode(f["sealed"]["nonce"].as_str().unwrap()).unwrap();
        let pt = aes_gcm::Aes256Gcm::new_from_slice(&fk)
            .unwrap()
            .decrypt(
                &<[u8; 12]>::try_from(nonce.as_slice()).unwrap().into(),
                Payload {
                    msg: &b64(f["sealed"]["ct"].as_str().unwrap()),
                    aad: [&b"ai-audit/v1/sealed-field\0"[..], binding.as_bytes()]
                        .concat()
                        .as_slice(),
                },
            )
            .unwrap();
        assert_eq!(pt, f["plaintext_utf8"].as_str().unwrap().as_bytes());
        // The sealed field is the one in entry 0 of the chain.
        let e0 = Entry::from_line(doc["entries"][0].as_str().unwrap().as_bytes()).unwrap();
        assert_eq!(
            serde_json::to_value(&sealed_of(&e0)[0]).unwrap(),
            f["sealed"]
        );
    }

    /// Re-chains `bodies` as signed entries (bypassing the log's write-side
    /// checks, which refuse these bodies).
    fn forged_chain(bodies: &[Body]) -> Vec<Vec<u8>> {
        let log = LogName::new("test.example/log").unwrap();
        let t = tenant("acme");
        let mut prev = genesis(&log, &t);
        let mut out = Vec::new();
        for (i, b) in bodies.iter().enumerate() {
            let h = Header {
                log: log.clone(),
                tenant: t.clone(),
                epoch: Epoch(0),
                seq: Seq(i as u64),
                prev,
                id: EntryId([i as u8 + 1; 16]),
                ts: Timestamp::parse("2026-11-22T10:00:00.000000Z").unwrap(),
            };
            let e = Entry::seal(h, b, &*signer(), SigningMode::PerEntry).unwrap();
            prev = *e.hash();
            out.push(e.to_line().unwrap());
        }
        out
    }

    #[test]
    fn a_field_sealed_after_its_shred_is_a_warning() {
        // A writer that still had the subject's key cached seals after the
        // tombstone: the chain is intact, the claim and the data disagree.
        let w = seeded_world(Arc::new(MemoryVault::new()));
        let acme = tenant("acme");
        let mut d = w.collector.start(&acme).unwrap();
        d.set_subject("erin").unwrap();
        d.set_input_sealed("late").unwrap();
        d.set_action(Action::Allow);
        let Body::Decision(late) = d.emit().unwrap().body().unwrap() else {
            panic!()
        };
        let subject = late.sealed[0].subject.unwrap();
        let shred = Body::Shred(Shred {
            actor: ExternalId::new("dpo-7").unwrap(),
            destroyed: Timestamp::parse("2026-11-22T10:00:00.000000Z").unwrap(),
            key: Some(late.sealed[0].key),
            reason: Code::new("gdpr_art17").unwrap(),
            scope: ShredScope::Subject,
            subject: Some(subject),
        });
        let lines = forged_chain(&[decision(0), shred, Body::Decision(late)]);
        let r = verify_lines(
            lines.iter().map(Vec::as_slice),
            &keyring(),
            &ChainOptions::default(),
        );
        assert!(r.is_verified(), "{:?}", r.failures);
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert_eq!(r.warnings[0].check, "sealed_after_shred");
        assert_eq!(r.warnings[0].location.seq, Some(Seq(2)));
        assert!(r.warnings[0].detail.contains("shred at seq 1"));
        // The reference's own chain has no such warning.
        let text = std::fs::read(root().join("tests/vectors/ok_shredded_v1.jsonl")).unwrap();
        let ok = verify_lines(
            text.split(|b| *b == b'\n').filter(|l| !l.is_empty()),
            &keyring(),
            &ChainOptions::default(),
        );
        assert!(
            ok.is_verified() && ok.warnings.is_empty(),
            "{:?}",
            ok.warnings
        );
    }

    #[test]
    fn malformed_shredding_bodies_v1() {
        let w = seeded_world(Arc::new(MemoryVault::new()));
        let mut d = w.collector.start(&tenant("acme")).unwrap();
        d.set_input("x").unwrap();
        d.seal_field("a_first", b"1").unwrap();
        d.seal_field("b_second", b"2").unwrap();
        d.set_action(Action::Allow);
        let Body::Decision(mut receipt) = d.emit().unwrap().body().unwrap() else {
            panic!()
        };
        receipt.sealed.reverse();
        let unsorted = forged_chain(&[decision(0), Body::Decision(receipt)]);
        check_or_bless(
            "tests/vectors/fail_malformed_sealed_order_v1.jsonl",
            &jsonl(&unsorted),
        );
        let shred = Body::Shred(Shred {
            actor: ExternalId::new("dpo-7").unwrap(),
            destroyed: Timestamp::parse("2026-11-22T10:00:00.000000Z").unwrap(),
            key: None,
            reason: Code::new("gdpr_art17").unwrap(),
            scope: ShredScope::Tenant,
            subject: Some(SubjectRef([7; 16])),
        });
        let scope = forged_chain(&[decision(0), shred]);
        check_or_bless(
            "tests/vectors/fail_malformed_shred_scope_v1.jsonl",
            &jsonl(&scope),
        );
        for lines in [&unsorted, &scope] {
            let r = verify_lines(
                lines.iter().map(Vec::as_slice),
                &keyring(),
                &ChainOptions::default(),
            );
            assert_eq!(r.verdict(), Verdict::Malformed, "{:?}", r.failures);
            let f = r.first(Verdict::Malformed).unwrap();
            assert_eq!(f.check, "body", "{f:?}");
        }
    }
}
