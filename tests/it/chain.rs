//! Chain verification: every field mutated, entries deleted, inserted,
//! reordered, duplicated, forked, re-signed, spliced; key rotation; clock
//! steps; concurrency; property tests.

use std::sync::Arc;

use ai_audit::encoding::{canonical_value, parse_strict};
use ai_audit::*;
use proptest::prelude::*;
use serde_json::Value;

use crate::support::*;

type Mutation = Box<dyn Fn(&mut serde_json::Map<String, Value>)>;

fn edit(line: &[u8], f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let mut v = parse_strict(line).unwrap();
    f(v.as_object_mut().unwrap());
    canonical_value(&v).unwrap()
}

fn assert_finding(r: &Report, verdict: Verdict, check: &str, seq: u64) {
    assert!(
        r.failures
            .iter()
            .any(|f| f.verdict == verdict && f.check == check && f.location.seq == Some(Seq(seq))),
        "expected {verdict} [{check}] at seq {seq}, got {:#?}",
        r.failures
    );
    assert_eq!(r.verdict().max(verdict), r.verdict());
}

#[test]
fn intact_chain_of_every_kind_verifies() {
    let f = fixture();
    let t = tenant("acme");
    let lines = populate(&f, &t, 12);
    let r = verify(&lines);
    assert!(r.is_verified(), "{:#?}", r.failures);
    assert_eq!(r.verdict(), Verdict::Verified);
    assert_eq!(r.entries_checked, 12);
    assert!(r.checks_passed >= 12 * 3);
}

#[test]
fn every_envelope_field_mutated_is_detected_at_its_seq() {
    let f = fixture();
    let t = tenant("acme");
    let lines = populate(&f, &t, 6);
    let other_hash = Hash32::digest(b"other").to_hex();
    let mutations: Vec<(&str, Mutation, Verdict, &str)> = vec![
        (
            "log",
            Box::new(|m| {
                m.insert("log".into(), "evil.example/log".into());
            }),
            Verdict::Tampered,
            "log",
        ),
        (
            "epoch",
            Box::new(|m| {
                m.insert("epoch".into(), 9.into());
            }),
            Verdict::Tampered,
            "entry_hash",
        ),
        (
            "prev",
            Box::new(move |m| {
                m.insert("prev".into(), other_hash.clone().into());
            }),
            Verdict::Tampered,
            "entry_hash",
        ),
        (
            "id",
            Box::new(|m| {
                m.insert("id".into(), "00000000000000000000000000000000".into());
            }),
            Verdict::Tampered,
            "entry_hash",
        ),
        (
            "ts",
            Box::new(|m| {
                m.insert("ts".into(), "2030-01-01T00:00:00.000000Z".into());
            }),
            Verdict::Tampered,
            "entry_hash",
        ),
        (
            "kind",
            Box::new(|m| {
                m.insert("kind".into(), "human_oversight".into());
            }),
            Verdict::Tampered,
            "entry_hash",
        ),
        (
            "key_id",
            Box::new(|m| {
                m.insert("key_id".into(), "01020304".into());
            }),
            Verdict::Tampered,
            "entry_hash",
        ),
        (
            "hash",
            Box::new(|m| {
                m.insert("hash".into(), Hash32::digest(b"x").to_hex().into());
            }),
            Verdict::Tampered,
            "entry_hash",
        ),
        (
            "sig",
            Box::new(|m| {
                let s = m["sig"].as_str().unwrap();
                let flipped = match s.strip_prefix('A') {
                    Some(rest) => format!("B{rest}"),
                    None => format!("A{}", &s[1..]),
                };
                m.insert("sig".into(), flipped.into());
            }),
            Verdict::Tampered,
            "signature",
        ),
        (
            "sig removed",
            Box::new(|m| {
                m.remove("sig");
            }),
            Verdict::Tampered,
            "signature",
        ),
        (
            "body.action",
            Box::new(|m| {
                m.get_mut("body").unwrap()["action"] = "escalate".into();
            }),
            Verdict::Tampered,
            "entry_hash",
        ),
        (
            "body.input",
            Box::new(|m| {
                m.get_mut("body").unwrap()["input"] = Hash32::digest(b"forged").to_hex().into();
            }),
            Verdict::Tampered,
            "entry_hash",
        ),
        (
            "body.checks[0].score",
            Box::new(|m| {
                m.get_mut("body").unwrap()["checks"][0]["score"] = 0.99.into();
            }),
            Verdict::Tampered,
            "entry_hash",
        ),
        (
            "body.checks[0].fired",
            Box::new(|m| {
                m.get_mut("body").unwrap()["checks"][0]["fired"] = true.into();
            }),
            Verdict::Tampered,
            "entry_hash",
        ),
        (
            "body.reasons",
            Box::new(|m| {
                m.get_mut("body").unwrap()["reasons"] = serde_json::json!(["other"]);
            }),
            Verdict::Tampered,
            "entry_hash",
        ),
        (
            "body.pii",
            Box::new(|m| {
                m.get_mut("body").unwrap()["pii"][0]["count"] = 0.into();
            }),
            Verdict::Tampered,
            "entry_hash",
        ),
        (
            "body.model",
            Box::new(|m| {
                m.get_mut("body")
                    .unwrap()
                    .as_object_mut()
                    .unwrap()
                    .remove("model");
            }),
            Verdict::Tampered,
            "entry_hash",
        ),
    ];
    let target = 1usize; // a decision entry
    for (name, mutate, verdict, check) in &mutations {
        let mut bad = lines.clone();
        bad[target] = edit(&lines[target], |m| mutate(m));
        assert_ne!(bad[target], lines[target], "{name} did not change the line");
        let r = verify(&bad);
        assert!(!r.is_verified(), "{name} went undetected");
        assert_finding(&r, *verdict, check, target as u64);
    }
}

#[test]
fn seq_and_tenant_and_version_mutations() {
    let f = fixture();
    let t = tenant("acme");
    let lines = populate(&f, &t, 5);
    // seq changed: hash breaks, and the chain now has a gap plus a duplicate seq.
    let mut bad = lines.clone();
    bad[2] = edit(&lines[2], |m| {
        m.insert("seq".into(), 3.into());
    });
    let r = verify(&bad);
    assert_finding(&r, Verdict::Tampered, "entry_hash", 3);
    // tenant changed.
    let mut bad = lines.clone();
    bad[2] = edit(&lines[2], |m| {
        m.insert("tenant".into(), "globex".into());
    });
    let r = verify(&bad);
    assert!(r
        .failures
        .iter()
        .any(|f| f.check == "tenant" && f.verdict == Verdict::Tampered));
    // unknown version.
    let mut bad = lines.clone();
    bad[2] = edit(&lines[2], |m| {
        m.insert("v".into(), 2.into());
    });
    let r = verify(&bad);
    assert_eq!(r.verdict(), Verdict::UnsupportedVersion);
    assert_eq!(r.failures[0].location.line, Some(3));
}

#[test]
fn non_canonical_unknown_field_and_duplicate_key_are_malformed() {
    let f = fixture();
    let t = tenant("acme");
    let lines = populate(&f, &t, 3);
    let text = String::from_utf8(lines[1].clone()).unwrap();
    let cases = [
        text.replacen("{", "{ ", 1),                                // whitespace
        text.replacen("{\"body\"", "{\"zzz\":1,\"body\"", 1), // unknown field (canonical order broken too)
        text.replacen("\"v\":1}", "\"v\":1,\"zz\":1}", 1),    // unknown field, canonical order kept
        text.replacen("\"epoch\":0", "\"epoch\":0,\"epoch\":0", 1), // duplicate key
        text.replacen("\"v\":1", "\"v\":1.0", 1),             // non-canonical number
    ];
    for (i, c) in cases.iter().enumerate() {
        let mut bad = lines.clone();
        bad[1] = c.clone().into_bytes();
        let r = verify(&bad);
        assert!(
            r.failures
                .iter()
                .any(|f| f.verdict == Verdict::Malformed && f.location.line == Some(2)),
            "case {i}: {:#?}",
            r.failures
        );
    }
    // invalid UTF-8
    let mut bad = lines.clone();
    bad[1].push(0xff);
    assert_eq!(verify(&bad).verdict(), Verdict::Malformed);
}

#[test]
fn body_in_a_second_encoding_is_malformed_even_if_rehashed_and_resigned() {
    // A producer bug (or an attacker holding the key) writing `"state":null`
    // or `"parents":[]` instead of omitting them: hash and signature are
    // made valid again, and the entry must still be refused (one record,
    // one encoding).
    let f = fixture();
    let t = tenant("acme");
    let lines = populate(&f, &t, 3);
    for (field, value) in [("state", Value::Null), ("parents", serde_json::json!([]))] {
        let mut v = parse_strict(&lines[2]).unwrap();
        let m = v.as_object_mut().unwrap();
        m.get_mut("body").unwrap()[field] = value;
        m.remove("hash");
        m.remove("sig");
        let hashed = canonical_value(&v).unwrap();
        let hash = Hash32::digest_parts(&[ai_audit::encoding::ENTRY_HASH_LABEL, &hashed]);
        let sig = signer().sign(&signature_message(&hash)).unwrap();
        let m = v.as_object_mut().unwrap();
        m.insert("hash".into(), hash.to_hex().into());
        m.insert("sig".into(), sig.to_base64().into());
        let mut bad = lines.clone();
        bad[2] = canonical_value(&v).unwrap();
        let r = verify(&bad);
        assert!(
            r.failures.iter().any(|x| x.verdict == Verdict::Malformed
                && x.check == "body"
                && x.location.seq == Some(Seq(2))),
            "{field}: {:#?}",
            r.failures
        );
        // The last entry: hash, signature and links are all intact, so only
        // the body check fails.
        assert!(
            r.failures.iter().all(|x| x.check == "body"),
            "{field}: {:#?}",
            r.failures
        );
    }
}

#[test]
fn deleted_inserted_reordered_duplicated_entries() {
    let f = fixture();
    let t = tenant("acme");
    let lines = populate(&f, &t, 8);

    let mut del_mid = lines.clone();
    del_mid.remove(4);
    let r = verify(&del_mid);
    assert_eq!(r.verdict(), Verdict::Missing);
    assert_finding(&r, Verdict::Missing, "gap", 5);

    let mut del_head = lines.clone();
    del_head.remove(0);
    let r = verify(&del_head);
    assert_finding(&r, Verdict::Truncated, "head", 1);

    // Tail: undetectable from the chain alone; detected against a trusted end.
    let all = f.store.read(&t, Seq(0), Seq(8)).unwrap();
    let end = Some((Seq(7), *all[7].hash()));
    let mut del_tail = lines.clone();
    del_tail.pop();
    assert!(verify(&del_tail).is_verified());
    let opts = ChainOptions {
        end,
        ..ChainOptions::default()
    };
    let r = verify_lines(del_tail.iter().map(Vec::as_slice), &keyring(), &opts);
    assert_finding(&r, Verdict::Truncated, "tail", 6);
    assert!(verify_lines(lines.iter().map(Vec::as_slice), &keyring(), &opts).is_verified());

    let mut reordered = lines.clone();
    reordered.swap(3, 5);
    let r = verify(&reordered);
    assert_eq!(r.verdict(), Verdict::Reordered);
    assert_finding(&r, Verdict::Reordered, "order", 4); // seq 4 stored after seq 5

    let mut dup = lines.clone();
    dup.insert(3, lines[2].clone());
    let r = verify(&dup);
    assert_finding(&r, Verdict::Tampered, "duplicate_entry", 2);
}

#[test]
fn forks_splices_and_foreign_keys() {
    let f = fixture();
    let t = tenant("acme");
    let lines = populate(&f, &t, 5);

    // A second, validly signed history diverging at seq 2 (e.g. a second
    // writer that bypassed compare-and-append): a fork at seq 2.
    let g = fixture();
    populate(&g, &t, 2);
    // make g's seq-2 entry differ by appending a different body
    g.log.append(&t, &body_of_kind(3)).unwrap();
    let glines = lines_of(&g, &t);
    let mut forked = lines.clone();
    forked.insert(3, glines[2].clone());
    let r = verify(&forked);
    assert_finding(&r, Verdict::Forked, "fork", 2);

    // An entry spliced in from another tenant.
    let other = tenant("globex");
    let olines = populate(&f, &other, 3);
    let mut spliced = lines.clone();
    spliced[2] = olines[2].clone();
    let r = verify(&spliced);
    assert!(r
        .failures
        .iter()
        .any(|x| x.check == "tenant" && x.verdict == Verdict::Tampered));
    assert_finding(&r, Verdict::Missing, "gap", 3);

    // Everything re-signed with an attacker's key: unknown key.
    let evil = Arc::new(LocalSigner::from_seed("test.example/log", &[9u8; 32]).unwrap());
    let store = Arc::new(MemoryStore::new());
    let elog = AuditLog::builder(
        LogName::new("test.example/log").unwrap(),
        evil,
        store.clone(),
    )
    .build();
    for i in 0..3 {
        elog.append(&t, &body_of_kind(i)).unwrap();
    }
    let elines: Vec<Vec<u8>> = store
        .read(&t, Seq(0), Seq(3))
        .unwrap()
        .iter()
        .map(|e| e.to_line().unwrap())
        .collect();
    let r = verify(&elines);
    assert_eq!(r.verdict(), Verdict::UnknownKey);
    assert_finding(&r, Verdict::UnknownKey, "signature", 0);
    // Verifying with no pinned key at all is never "verified".
    let r = verify_lines(
        elines.iter().map(Vec::as_slice),
        &KeyRing::new(),
        &ChainOptions::default(),
    );
    assert_eq!(r.verdict(), Verdict::UnknownKey);
}

fn lines_of(f: &Fixture, t: &TenantId) -> Vec<Vec<u8>> {
    lines(f, t)
}

#[test]
fn key_rotation_extends_trust_only_through_the_chain() {
    let f = fixture();
    let t = tenant("acme");
    populate(&f, &t, 3);
    let new = Arc::new(LocalSigner::from_seed("test.example/log-2", &[8u8; 32]).unwrap());
    let rot = f
        .log
        .rotate_key(new.clone(), Code::new("scheduled").unwrap())
        .unwrap();
    assert_eq!(rot.len(), 1);
    assert_eq!(rot[0].key_id(), signer().verifier_key().id());
    populate(&f, &t, 3);
    let lines = lines(&f, &t);
    assert_eq!(lines.len(), 7);
    let last = Entry::from_line(&lines[6]).unwrap();
    assert_eq!(last.key_id(), new.verifier_key().id());
    // Only the old key is pinned: the rotation entry introduces the new one.
    let r = verify(&lines);
    assert!(r.is_verified(), "{:#?}", r.failures);
    // Without the rotation entry, the new key is unknown.
    let mut cut = lines.clone();
    cut.remove(3);
    let r = verify(&cut);
    assert!(r.failures.iter().any(|x| x.verdict == Verdict::UnknownKey));
}

#[test]
fn clock_stepping_back_is_a_warning_not_a_failure() {
    let f = fixture();
    let t = tenant("acme");
    populate(&f, &t, 2);
    f.clock
        .set(Timestamp::parse("2020-01-01T00:00:00.000000Z").unwrap());
    populate(&f, &t, 1);
    let r = verify(&lines(&f, &t));
    assert!(r.is_verified());
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(r.warnings[0].check, "clock");
}

#[test]
fn store_refuses_appends_that_do_not_continue_the_head() {
    let f = fixture();
    let t = tenant("acme");
    populate(&f, &t, 3);
    let entries = f.store.read(&t, Seq(0), Seq(3)).unwrap();
    // Re-appending an old entry: conflict, nothing changes.
    let err = f.store.append(&t, &entries[1..2]).unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    // An entry of another tenant under this tenant: refused.
    let other = tenant("globex");
    populate(&f, &other, 1);
    let o = f.store.read(&other, Seq(0), Seq(1)).unwrap();
    assert!(f.store.append(&t, &o).is_err());
    assert_eq!(f.store.read(&t, Seq(0), Seq(100)).unwrap().len(), 3);
    assert!(verify(&lines(&f, &t)).is_verified());
}

#[test]
fn sixteen_threads_one_tenant_contiguous_and_verified() {
    let f = fixture();
    let t = tenant("acme");
    let per_thread = 50u64;
    std::thread::scope(|s| {
        for th in 0..16u64 {
            let log = f.log.clone();
            let t = t.clone();
            s.spawn(move || {
                for i in 0..per_thread {
                    log.append(&t, &body_of_kind(th * 1000 + i)).unwrap();
                }
            });
        }
    });
    let entries = f.store.read(&t, Seq(0), Seq(u64::MAX)).unwrap();
    assert_eq!(entries.len() as u64, 16 * per_thread);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.seq(), Seq(i as u64));
    }
    let r = verify_entries(&entries, &keyring(), &ChainOptions::default());
    assert!(r.is_verified(), "{:#?}", r.failures);
}

#[test]
fn two_logs_sharing_one_store_never_fork() {
    // Two writers with their own cached heads (as two processes would have):
    // compare-and-append makes the loser re-chain.
    let f = fixture();
    let second = AuditLog::builder(
        LogName::new("test.example/log").unwrap(),
        signer(),
        f.store.clone(),
    )
    .build();
    let t = tenant("acme");
    std::thread::scope(|s| {
        for log in [f.log.clone(), second.clone()] {
            let t = t.clone();
            s.spawn(move || {
                for i in 0..100 {
                    log.append(&t, &body_of_kind(i)).unwrap();
                }
            });
        }
    });
    let entries = f.store.read(&t, Seq(0), Seq(u64::MAX)).unwrap();
    assert_eq!(entries.len(), 200);
    assert!(verify_entries(&entries, &keyring(), &ChainOptions::default()).is_verified());
}

#[test]
fn batch_sealed_entries_need_checkpoint_coverage() {
    let f = fixture_with(SigningMode::BatchSealed);
    let t = tenant("acme");
    let lines = populate(&f, &t, 3);
    assert!(Entry::from_line(&lines[0]).unwrap().signature().is_none());
    // Signatures are required by default: fail closed.
    let r = verify(&lines);
    assert_eq!(r.verdict(), Verdict::Tampered);
    let opts = ChainOptions {
        require_signatures: false,
        ..ChainOptions::default()
    };
    assert!(verify_lines(lines.iter().map(Vec::as_slice), &keyring(), &opts).is_verified());
}

#[test]
fn malformed_identifiers_and_keys_are_refused() {
    assert!(TenantId::new("").is_err());
    assert!(TenantId::new("Tenant With Spaces").is_err());
    assert!(TenantId::new("{acme}").is_err());
    assert!(LocalSigner::parse("PRIVATE+KEY+x+00000000+AAAA").is_err());
    assert!(VerifierKey::parse("x+00000000+AAAA").is_err());
    let err = Check::new("toxicity", "v1")
        .unwrap()
        .score(f64::NAN)
        .unwrap_err();
    assert!(err.to_string().contains("non-finite"), "{err}");
    assert!(Check::new("toxicity", "v1")
        .unwrap()
        .threshold(f64::INFINITY)
        .is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn entries_round_trip_through_their_line(kinds in proptest::collection::vec(0u64..8, 1..12), score in -1e6f64..1e6) {
        let f = fixture();
        let t = tenant("prop");
        for k in &kinds {
            let mut b = body_of_kind(*k);
            if let Body::Decision(d) = &mut b {
                d.checks[0].score = Some(Finite::new(score).unwrap());
            }
            f.log.append(&t, &b).unwrap();
        }
        let entries = f.store.read(&t, Seq(0), Seq(u64::MAX)).unwrap();
        for e in &entries {
            let line = e.to_line().unwrap();
            let back = Entry::from_line(&line).unwrap();
            prop_assert_eq!(&back, e);
            prop_assert_eq!(back.to_line().unwrap(), line);
            prop_assert_eq!(back.computed_hash().unwrap(), *e.hash());
        }
        prop_assert!(verify_entries(&entries, &keyring(), &ChainOptions::default()).is_verified());
    }

    #[test]
    fn any_single_byte_flip_is_never_verified(n in 2u64..6, which in 0usize..6, pos in 0usize..2000, bit in 0u8..8) {
        let f = fixture();
        let t = tenant("prop");
        let lines = populate(&f, &t, n);
        let which = which % lines.len();
        let mut bad = lines.clone();
        let p = pos % bad[which].len();
        bad[which][p] ^= 1 << bit;
        let r = verify(&bad);
        prop_assert!(!r.is_verified());
    }
}

/// A long per-entry-signed batch is chained first and signed on several
/// threads: its lines are exactly those of appending the same bodies one by
/// one on the calling thread, and they verify.
#[test]
fn a_batch_signed_on_several_threads_equals_one_by_one_appends() {
    let t = tenant("acme");
    for n in [64u64, 65, 129, 300] {
        let batched = fixture();
        let bodies: Vec<Body> = (0..n).map(decision).collect();
        let returned = batched.log.append_batch(&t, &bodies).unwrap();
        let one_by_one = fixture();
        for b in &bodies {
            one_by_one.log.append(&t, b).unwrap();
        }
        let lines_batched = lines(&batched, &t);
        assert_eq!(lines_batched.len() as u64, n);
        assert_eq!(lines_batched, lines(&one_by_one, &t), "batch of {n}");
        let returned: Vec<Vec<u8>> = returned.iter().map(|e| e.to_line().unwrap()).collect();
        assert_eq!(returned, lines_batched);
        assert!(returned
            .iter()
            .all(|l| l.windows(7).any(|w| w == b"\"sig\":\"")));
        let report = verify(&lines_batched);
        assert!(report.is_verified(), "{report:?}");
    }
}

/// A signer that fails on its `fail_at`-th call (counting from 0).
struct FailingSigner {
    inner: Arc<LocalSigner>,
    calls: std::sync::atomic::AtomicUsize,
    fail_at: usize,
}

impl Signer for FailingSigner {
    fn verifier_key(&self) -> &VerifierKey {
        self.inner.verifier_key()
    }
    fn sign(&self, msg: &[u8]) -> Result<Signature, KeyError> {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n == self.fail_at {
            return Err(KeyError::Backend("HSM unavailable (test)".into()));
        }
        self.inner.sign(msg)
    }
}

/// When one signature of a batch signed on several threads fails, the
/// append fails with the signer's error and nothing is stored.
#[test]
fn a_failing_signature_in_a_parallel_batch_stores_nothing() {
    let t = tenant("acme");
    let store = Arc::new(MemoryStore::new());
    let signer = Arc::new(FailingSigner {
        inner: signer(),
        calls: 0.into(),
        fail_at: 150,
    });
    let log = AuditLog::builder(
        LogName::new("test.example/log").unwrap(),
        signer,
        store.clone(),
    )
    .random(Arc::new(SeededRandom::new(42)))
    .signing_mode(SigningMode::PerEntry)
    .build();
    let bodies: Vec<Body> = (0..200).map(decision).collect();
    let err = log.append_batch(&t, &bodies).unwrap_err();
    assert!(err.to_string().contains("HSM unavailable"), "{err}");
    assert!(store.head(&t).unwrap().is_none());
    // The log is still usable: the next append is entry 0.
    let e = log.append(&t, &decision(0)).unwrap();
    assert_eq!(e.seq(), Seq(0));
}
