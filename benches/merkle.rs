//! RFC 6962 Merkle tree: proofs at 1,000,000 leaves, a 2,048-leaf root from
//! scratch, and append throughput.
//!
//! `cargo bench --bench merkle` (short measurement windows: the machines
//! that run this are shared).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use ai_audit::merkle::{
    leaf_hash, verify_consistency, verify_inclusion, LeafIndex, MerkleTree, TreeSize,
};
use ai_audit::Hash32;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Not a power of two, so the incomplete right edge is exercised.
const N: u64 = 1_000_000;

fn leaf(i: u64) -> Hash32 {
    leaf_hash(format!("receipt-{i}").as_bytes())
}

fn at_1m(c: &mut Criterion) {
    let tree: MerkleTree = (0..N).map(leaf).collect();
    let size = TreeSize(N);
    let root = tree.root();
    let mut g = c.benchmark_group("merkle_1m");

    // Walk the indexes with a prime stride so one path is not measured alone.
    let mut i = 0u64;
    g.bench_function("inclusion_proof", |b| {
        b.iter(|| {
            i = (i + 7_919) % N;
            black_box(tree.inclusion_proof(LeafIndex(i), size).unwrap())
        })
    });

    // The last leaf has the longest right-edge recomputation.
    let last = LeafIndex(N - 1);
    g.bench_function("inclusion_proof_last_leaf", |b| {
        b.iter(|| black_box(tree.inclusion_proof(black_box(last), size).unwrap()))
    });

    let index = LeafIndex(123_457);
    let proof = tree.inclusion_proof(index, size).unwrap();
    let leaf_h = tree.leaf(index).unwrap();
    g.bench_function("verify_inclusion", |b| {
        b.iter(|| {
            verify_inclusion(
                black_box(&leaf_h),
                index,
                size,
                black_box(&proof.path),
                &root,
            )
            .unwrap()
        })
    });

    let mut old = 1u64;
    g.bench_function("consistency_proof", |b| {
        b.iter(|| {
            old = 1 + (old + 7_919) % (N - 1);
            black_box(tree.consistency_proof(TreeSize(old), size).unwrap())
        })
    });

    let old = TreeSize(654_321);
    let old_root = tree.root_at(old).unwrap();
    let cproof = tree.consistency_proof(old, size).unwrap();
    g.bench_function("verify_consistency", |b| {
        b.iter(|| {
            verify_consistency(
                old,
                size,
                black_box(&old_root),
                &root,
                black_box(&cproof.path),
            )
            .unwrap()
        })
    });

    g.bench_function("root", |b| b.iter(|| black_box(&tree).root()));
    g.bench_function("root_at_654321", |b| {
        b.iter(|| tree.root_at(black_box(old)).unwrap())
    });
    g.finish();
}

fn build(c: &mut Criterion) {
    let mut g = c.benchmark_group("merkle_build");

    // Leaf inputs → leaf hashes → tree → root, all from scratch.
    let inputs: Vec<Vec<u8>> = (0..2_048u64)
        .map(|i| format!("receipt-{i}").into_bytes())
        .collect();
    g.throughput(Throughput::Elements(2_048));
    g.bench_function("root_2048_from_inputs", |b| {
        b.iter(|| MerkleTree::from_leaf_hashes(inputs.iter().map(|x| leaf_hash(x))).root())
    });

    // Appending already-hashed leaves (amortised one node hash each).
    let hashes: Vec<Hash32> = (0..100_000u64).map(leaf).collect();
    g.throughput(Throughput::Elements(hashes.len() as u64));
    g.bench_function("append_100k_leaf_hashes", |b| {
        b.iter(|| {
            let mut t = MerkleTree::new();
            for h in &hashes {
                t.push(*h);
            }
            t.size()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = at_1m, build
}
criterion_main!(benches);
