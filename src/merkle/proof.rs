//! Proof objects and strict verification (RFC 9162 §2.1.3.2, §2.1.4.2).

use serde::{Deserialize, Serialize};

use super::{node_hash, LeafIndex, MerkleError, TreeSize};
use crate::hash::Hash32;

/// An inclusion proof (RFC 9162 §2.1.3): the audit path of leaf
/// `leaf_index` in the tree of `tree_size` leaves, ordered from the leaf
/// upwards. Hashes serialise as 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The 0-based index of the proven leaf.
    pub leaf_index: LeafIndex,
    /// The size of the tree the proof is for.
    pub tree_size: TreeSize,
    /// The audit path, `PATH(leaf_index, D[tree_size])`.
    pub path: Vec<Hash32>,
}

impl InclusionProof {
    /// Checks that the leaf with hash `leaf_hash` is at `leaf_index` in the
    /// tree of `tree_size` leaves whose root is `root`; see
    /// [`verify_inclusion`].
    ///
    /// # Errors
    /// As [`verify_inclusion`].
    pub fn verify(&self, leaf_hash: &Hash32, root: &Hash32) -> Result<(), MerkleError> {
        verify_inclusion(leaf_hash, self.leaf_index, self.tree_size, &self.path, root)
    }
}

/// A consistency proof (RFC 9162 §2.1.4): evidence that the tree of
/// `old_size` leaves is a prefix of the tree of `new_size` leaves. Hashes
/// serialise as 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// The earlier tree size.
    pub old_size: TreeSize,
    /// The later tree size.
    pub new_size: TreeSize,
    /// The proof hashes, `PROOF(old_size, D[new_size])`.
    pub path: Vec<Hash32>,
}

impl ConsistencyProof {
    /// Checks that `old_root` (of `old_size` leaves) and `new_root` (of
    /// `new_size` leaves) belong to the same append-only log; see
    /// [`verify_consistency`].
    ///
    /// # Errors
    /// As [`verify_consistency`].
    pub fn verify(&self, old_root: &Hash32, new_root: &Hash32) -> Result<(), MerkleError> {
        verify_consistency(self.old_size, self.new_size, old_root, new_root, &self.path)
    }
}

/// Verifies an inclusion proof exactly as RFC 9162 §2.1.3.2: `leaf_hash`
/// (a [`leaf_hash`](super::leaf_hash) output) is leaf `index` of the tree of
/// `size` leaves with root `root`.
///
/// The proof must have exactly the length that `index` and `size` imply; a
/// surplus or missing hash is an error, never ignored. The size itself is
/// not authenticated by the proof: take `size` and `root` together from a
/// signed checkpoint.
///
/// # Errors
/// * [`MerkleError::IndexOutOfRange`] if `index >= size` (always for
///   size 0);
/// * [`MerkleError::WrongProofLength`] if `path` is too short or too long;
/// * [`MerkleError::RootMismatch`] if the recomputed root is not `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash32,
    index: LeafIndex,
    size: TreeSize,
    path: &[Hash32],
    root: &Hash32,
) -> Result<(), MerkleError> {
    let (index, size) = (index.0, size.0);
    // Step 1.
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_path_len(index, size);
    if path.len() != expected {
        return Err(MerkleError::WrongProofLength {
            expected,
            got: path.len(),
        });
    }
    // Steps 2-4.
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in path {
        if sn == 0 {
            return Err(MerkleError::WrongProofLength {
                expected,
                got: path.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    if sn != 0 {
        return Err(MerkleError::WrongProofLength {
            expected,
            got: path.len(),
        });
    }
    if r != *root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// Verifies a consistency proof exactly as RFC 9162 §2.1.4.2: the tree of
/// `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root`.
///
/// * `old_size == new_size` requires an empty `path` and equal roots.
/// * `old_size == 0` is refused: RFC 9162 §2.1.4 defines proofs only for
///   `0 < old_size`, and a "proof" from the empty tree checks nothing. This
///   matches transparency-dev/merkle, whose test probes expect every
///   consistency check from size 0 (even `0 → 0`) to fail.
/// * Otherwise the path must have exactly the length the sizes imply.
///
/// # Errors
/// * [`MerkleError::SizeOutOfOrder`] if `old_size > new_size`;
/// * [`MerkleError::EmptyOldTree`] if `old_size == 0`;
/// * [`MerkleError::WrongProofLength`] if `path` is too short or too long
///   (non-empty for equal sizes);
/// * [`MerkleError::OldRootMismatch`] if the old root recomputed from the
///   proof is not `old_root`;
/// * [`MerkleError::RootMismatch`] if the new root recomputed from the proof
///   is not `new_root`, or the sizes are equal and the roots differ.
pub fn verify_consistency(
    old_size: TreeSize,
    new_size: TreeSize,
    old_root: &Hash32,
    new_root: &Hash32,
    path: &[Hash32],
) -> Result<(), MerkleError> {
    let (old, new) = (old_size.0, new_size.0);
    if old > new {
        return Err(MerkleError::SizeOutOfOrder {
            old_size: old,
            new_size: new,
        });
    }
    if old == 0 {
        return Err(MerkleError::EmptyOldTree);
    }
    if old == new {
        if !path.is_empty() {
            return Err(MerkleError::WrongProofLength {
                expected: 0,
                got: path.len(),
            });
        }
        if old_root != new_root {
            return Err(MerkleError::RootMismatch);
        }
        return Ok(());
    }
    let expected = consistency_path_len(old, new);
    if path.len() != expected {
        return Err(MerkleError::WrongProofLength {
            expected,
            got: path.len(),
        });
    }
    let wrong_length = MerkleError::WrongProofLength {
        expected,
        got: path.len(),
    };
    // Step 2: if `old` is a power of two, the old root itself is the first
    // value (the RFC prepends it to the path).
    let (seed, rest) = if old.is_power_of_two() {
        (old_root, path)
    } else {
        match path.split_first() {
            Some((first, rest)) => (first, rest),
            None => return Err(wrong_length),
        }
    };
    // Steps 3-4.
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (*seed, *seed);
    // Step 6.
    for c in rest {
        if sn == 0 {
            return Err(wrong_length);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7.
    if sn != 0 {
        return Err(wrong_length);
    }
    if fr != *old_root {
        return Err(MerkleError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// Number of bits needed to write `x` (0 for 0).
fn bit_len(x: u64) -> u32 {
    u64::BITS - x.leading_zeros()
}

/// The exact length of `PATH(index, D[size])` for `index < size`: the
/// `inner` levels below the point where the paths to `index` and `size - 1`
/// diverge, plus one left sibling per set bit of `index` above it.
fn inclusion_path_len(index: u64, size: u64) -> usize {
    let inner = bit_len(index ^ (size - 1));
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The exact length of `PROOF(old, D[new])` for `0 < old < new`: the
/// inclusion path of leaf `old - 1` in `D[new]` minus the levels inside the
/// largest complete subtree ending at `old`, plus that subtree's hash unless
/// it is the whole old tree (`old` a power of two).
fn consistency_path_len(old: u64, new: u64) -> usize {
    let last = old - 1;
    let inner = bit_len(last ^ (new - 1));
    let border = last.checked_shr(inner).unwrap_or(0).count_ones();
    let inner = inner.saturating_sub(old.trailing_zeros());
    let seed = u32::from(!old.is_power_of_two());
    (seed + inner + border) as usize
}

#[cfg(test)]
mod tests {
    use super::super::{empty_root, leaf_hash, MerkleTree};
    use super::*;

    fn tree(n: u64) -> MerkleTree {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    #[test]
    fn length_formulas_match_generated_proofs() {
        let t = tree(70);
        for size in 1..=70u64 {
            for index in 0..size {
                let p = t.inclusion_proof(LeafIndex(index), TreeSize(size)).unwrap();
                assert_eq!(
                    p.path.len(),
                    inclusion_path_len(index, size),
                    "{index}/{size}"
                );
            }
            for old in 1..size {
                let p = t.consistency_proof(TreeSize(old), TreeSize(size)).unwrap();
                assert_eq!(
                    p.path.len(),
                    consistency_path_len(old, size),
                    "{old}->{size}"
                );
            }
        }
    }

    #[test]
    fn inclusion_edge_cases() {
        let h = leaf_hash(b"x");
        // Size 0: nothing can be included.
        assert_eq!(
            verify_inclusion(&h, LeafIndex(0), TreeSize(0), &[], &empty_root()),
            Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            verify_inclusion(&h, LeafIndex(1), TreeSize(1), &[], &h),
            Err(MerkleError::IndexOutOfRange { index: 1, size: 1 })
        );
        // Size 1: the leaf is the root and the path is empty.
        assert_eq!(
            verify_inclusion(&h, LeafIndex(0), TreeSize(1), &[], &h),
            Ok(())
        );
        assert_eq!(
            verify_inclusion(&h, LeafIndex(0), TreeSize(1), &[h], &h),
            Err(MerkleError::WrongProofLength {
                expected: 0,
                got: 1
            })
        );
        assert_eq!(
            verify_inclusion(&h, LeafIndex(0), TreeSize(1), &[], &empty_root()),
            Err(MerkleError::RootMismatch)
        );
    }

    #[test]
    fn surplus_hash_is_never_ignored() {
        let t = tree(8);
        let mut p = t.inclusion_proof(LeafIndex(5), TreeSize(8)).unwrap();
        let leaf = t.leaf(LeafIndex(5)).unwrap();
        assert_eq!(p.verify(&leaf, &t.root()), Ok(()));
        p.path.push(t.root());
        assert_eq!(
            p.verify(&leaf, &t.root()),
            Err(MerkleError::WrongProofLength {
                expected: 3,
                got: 4
            })
        );
    }

    #[test]
    fn consistency_edge_cases() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let e = empty_root();
        assert_eq!(
            verify_consistency(TreeSize(2), TreeSize(1), &a, &b, &[]),
            Err(MerkleError::SizeOutOfOrder {
                old_size: 2,
                new_size: 1
            })
        );
        assert_eq!(
            verify_consistency(TreeSize(1), TreeSize(0), &a, &b, &[]),
            Err(MerkleError::SizeOutOfOrder {
                old_size: 1,
                new_size: 0
            })
        );
        for new in [0, 1, 5] {
            assert_eq!(
                verify_consistency(TreeSize(0), TreeSize(new), &e, &e, &[]),
                Err(MerkleError::EmptyOldTree)
            );
            assert_eq!(
                verify_consistency(TreeSize(0), TreeSize(new), &e, &a, &[e]),
                Err(MerkleError::EmptyOldTree)
            );
        }
        assert_eq!(
            verify_consistency(TreeSize(3), TreeSize(3), &a, &a, &[]),
            Ok(())
        );
        assert_eq!(
            verify_consistency(TreeSize(3), TreeSize(3), &a, &b, &[]),
            Err(MerkleError::RootMismatch)
        );
        assert_eq!(
            verify_consistency(TreeSize(3), TreeSize(3), &a, &a, &[a]),
            Err(MerkleError::WrongProofLength {
                expected: 0,
                got: 1
            })
        );
        assert_eq!(
            verify_consistency(TreeSize(1), TreeSize(2), &a, &b, &[]),
            Err(MerkleError::WrongProofLength {
                expected: 1,
                got: 0
            })
        );
        let t = tree(7);
        let p = t.consistency_proof(TreeSize(3), TreeSize(7)).unwrap();
        let (r3, r7) = (t.root_at(TreeSize(3)).unwrap(), t.root());
        assert_eq!(p.verify(&r3, &r7), Ok(()));
        assert_eq!(p.verify(&r7, &r7), Err(MerkleError::OldRootMismatch));
        assert_eq!(p.verify(&r3, &r3), Err(MerkleError::RootMismatch));
    }

    #[test]
    fn huge_sizes_do_not_panic() {
        let h = leaf_hash(b"x");
        let big = [
            0u64,
            1,
            2,
            (1 << 63) - 1,
            1 << 63,
            (1 << 63) + 1,
            u64::MAX - 1,
            u64::MAX,
        ];
        for &a in &big {
            for &b in &big {
                for len in [0usize, 1, 63, 64, 65, 127, 128] {
                    let path = vec![h; len];
                    let _ = verify_inclusion(&h, LeafIndex(a), TreeSize(b), &path, &h);
                    let _ = verify_consistency(TreeSize(a), TreeSize(b), &h, &h, &path);
                }
            }
        }
        // The longest possible paths are accepted structurally (then fail on
        // the root).
        let path = vec![h; 64];
        assert_eq!(
            verify_inclusion(&h, LeafIndex(0), TreeSize(u64::MAX), &path, &h),
            Err(MerkleError::RootMismatch)
        );
        assert_eq!(
            verify_inclusion(
                &h,
                LeafIndex(u64::MAX - 1),
                TreeSize(u64::MAX),
                &path[..63],
                &h
            ),
            Err(MerkleError::RootMismatch)
        );
    }

    /// Pins the documented trust-model caveat: a proof does not bind the
    /// tree size on its own. Leaf 0's path in a 3-leaf tree also verifies as
    /// "leaf 0 of 4" against the 3-leaf root, because both shapes put the
    /// leaf two left-turns below the root.
    #[test]
    fn size_is_bound_by_the_checkpoint_not_the_proof() {
        let t = tree(4);
        let r3 = t.root_at(TreeSize(3)).unwrap();
        let leaf0 = t.leaf(LeafIndex(0)).unwrap();
        let p = t.inclusion_proof(LeafIndex(0), TreeSize(3)).unwrap();
        assert_eq!(
            verify_inclusion(&leaf0, LeafIndex(0), TreeSize(4), &p.path, &r3),
            Ok(())
        );
        // Against the real size-4 root it fails.
        assert_eq!(
            verify_inclusion(&leaf0, LeafIndex(0), TreeSize(4), &p.path, &t.root()),
            Err(MerkleError::RootMismatch)
        );
    }

    #[test]
    fn serde_shape_is_strict() {
        let t = tree(3);
        let p = t.inclusion_proof(LeafIndex(2), TreeSize(3)).unwrap();
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["leaf_index"], 2);
        assert_eq!(json["tree_size"], 3);
        assert_eq!(json["path"][0], t.root_at(TreeSize(2)).unwrap().to_hex());
        assert_eq!(
            serde_json::from_value::<InclusionProof>(json.clone()).unwrap(),
            p
        );
        let mut extra = json.clone();
        extra["extra"] = 1.into();
        assert!(serde_json::from_value::<InclusionProof>(extra).is_err());
        let mut upper = json;
        upper["path"][0] = t
            .root_at(TreeSize(2))
            .unwrap()
            .to_hex()
            .to_uppercase()
            .into();
        assert!(serde_json::from_value::<InclusionProof>(upper).is_err());

        let c = t.consistency_proof(TreeSize(1), TreeSize(3)).unwrap();
        let text = serde_json::to_string(&c).unwrap();
        assert!(
            text.starts_with(r#"{"old_size":1,"new_size":3,"path":[""#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<ConsistencyProof>(&text).unwrap(), c);
    }

    #[test]
    fn json_schema_describes_hex_hashes() {
        let schema = serde_json::to_string(&schemars::schema_for!(InclusionProof)).unwrap();
        assert!(schema.contains("^[0-9a-f]{64}$"), "{schema}");
        assert!(schema.contains("leaf_index") && schema.contains("tree_size"));
        let schema = serde_json::to_string(&schemars::schema_for!(ConsistencyProof)).unwrap();
        assert!(schema.contains("old_size") && schema.contains("new_size"));
    }
}
