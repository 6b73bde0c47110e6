//! Sealed-field overhead per receipt (goal: under 2 µs for a 1 KiB field).
//!
//! `cargo bench --bench shred -- --measurement-time 3`
//!
//! - `seal/cipher_1k`: the primitive alone — one-time field key (HMAC-SHA256),
//!   AES-256-GCM of 1 KiB, the `SealedField` value.
//! - `seal/key_store_1k`: what the collector pays per field — key-store cache
//!   lookup, a nonce from the OS RNG (drawn 32 at a time), and the above.
//! - `encode/receipt_{plain,sealed_1k}`: canonical encoding of a receipt without
//!   and with one 1 KiB sealed field (the base64 text in the entry).
//! - `open/{cipher,key_store}_1k`: an authorised reader opening it (primitive,
//!   and through the key store).
//! - `baseline/*`: raw AES-256-GCM of 1 KiB, AES-256 and AES-GCM key setup, one
//!   HMAC-SHA256 over a binding-sized message (the parts of `seal/cipher_1k`),
//!   and one 12-byte draw from the OS RNG (what a nonce cost before batching).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use ai_audit::shred::{cipher, DataKey, Nonce};
use ai_audit::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let tenant = TenantId::new("acme").unwrap();
    let field = Code::new("raw_input").unwrap();
    let data = vec![0x61u8; 1024];
    let key = DataKey::from_bytes([9; 32]);
    let keys = KeyStore::builder(
        Arc::new(LocalKek::from_bytes([4; 32])),
        Arc::new(MemoryVault::new()),
    )
    .build();
    let subject = keys.subject_ref(&tenant, "customer-42").unwrap();
    let entry = EntryId([1; 16]);

    // The machine's AES-GCM speed in the same run, for comparison (the box
    // is shared: read the ratios, not only the absolute figures).
    let mut g = c.benchmark_group("baseline");
    g.throughput(Throughput::Bytes(1024));
    {
        use aes_gcm::aead::{AeadInOut, KeyInit};
        let aes = aes_gcm::Aes256Gcm::new(&[5u8; 32].into());
        g.bench_function("aes_gcm_1k", |b| {
            b.iter(|| {
                let mut buf = data.clone();
                aes.encrypt_inout_detached(&[1u8; 12].into(), b"aad", buf.as_mut_slice().into())
                    .unwrap();
                buf
            })
        });
        g.bench_function("aes256_key_setup", |b| {
            b.iter(|| <aes::Aes256 as aes::cipher::KeyInit>::new(&[5u8; 32].into()))
        });
        g.bench_function("os_rng_12", |b| {
            b.iter(|| {
                let mut n = [0u8; 12];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut n);
                n
            })
        });
        g.bench_function("hmac_derive", |b| {
            use hmac::Mac;
            b.iter(|| {
                let mut m = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&[5u8; 32]).unwrap();
                m.update(&[0u8; 170]);
                m.finalize().into_bytes()
            })
        });
        g.bench_function("aes256enc_gcm_key_setup", |b| {
            b.iter(|| {
                <aes_gcm::AesGcm<aes::Aes256Enc, aes_gcm::aead::consts::U12> as KeyInit>::new(
                    &[5u8; 32].into(),
                )
            })
        });
        g.bench_function("aes_gcm_key_setup", |b| {
            b.iter(|| aes_gcm::Aes256Gcm::new(&[5u8; 32].into()))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("seal");
    g.throughput(Throughput::Bytes(1024));
    g.bench_function("cipher_1k", |b| {
        b.iter(|| {
            cipher::seal(
                &key,
                &tenant,
                Some(&subject),
                entry,
                &field,
                Nonce([7; 12]),
                &data,
            )
            .unwrap()
        })
    });
    g.bench_function("key_store_1k", |b| {
        b.iter(|| {
            keys.seal(&tenant, Some(&subject), entry, &field, &data)
                .unwrap()
        })
    });
    g.finish();

    let sealed = keys
        .seal(&tenant, Some(&subject), entry, &field, &data)
        .unwrap();
    let receipt = |sealed: Vec<SealedField>| {
        Body::Decision(Box::new(DecisionReceipt {
            action: Action::Allow,
            checks: Vec::new(),
            input: Hash32([1; 32]),
            metrics: Metrics::default(),
            model: None,
            output: Some(Hash32([2; 32])),
            parents: Vec::new(),
            pii: Vec::new(),
            provenance: Vec::new(),
            reasons: vec![Code::new("checks.passed").unwrap()],
            sealed,
            session_id: None,
            state: None,
            tags: vec![Code::new("eu_ai_act:art12").unwrap()],
            trace_id: None,
            unicode: "16.0.0".into(),
        }))
    };
    let plain = receipt(Vec::new());
    let with = receipt(vec![sealed.clone()]);
    let mut g = c.benchmark_group("encode");
    g.bench_function("receipt_plain", |b| {
        b.iter(|| plain.to_canonical().unwrap())
    });
    g.bench_function("receipt_sealed_1k", |b| {
        b.iter(|| with.to_canonical().unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("open");
    g.throughput(Throughput::Bytes(1024));
    let sealed_by_key = cipher::seal(
        &key,
        &tenant,
        Some(&subject),
        entry,
        &field,
        Nonce([7; 12]),
        &data,
    )
    .unwrap();
    g.bench_function("cipher_1k", |b| {
        b.iter(|| cipher::open(&key, &tenant, entry, &sealed_by_key).unwrap())
    });
    g.bench_function("key_store_1k", |b| {
        b.iter(|| keys.open_sealed(&tenant, entry, &sealed).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
