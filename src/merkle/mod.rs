//! An exact RFC 6962 / RFC 9162 Merkle tree (SHA-256) with strict proof
//! verification.
//!
//! * Hashing is RFC 6962 §2.1 (= RFC 9162 §2.1.1): a leaf is
//!   `SHA-256(0x00 || input)`, an interior node `SHA-256(0x01 || left ||
//!   right)`, the empty tree `SHA-256("")`, and a tree of `n > 1` leaves is
//!   split at `k`, the largest power of two strictly smaller than `n`.
//! * [`MerkleTree`] is append-only and incremental: it keeps every level of
//!   complete subtrees, so an append costs amortised O(1) hashes, and a root,
//!   an inclusion proof or a consistency proof — for the current size or any
//!   earlier one — costs O(log n) hashes (only the right edge of an
//!   incomplete tree is recomputed).
//! * [`verify_inclusion`] and [`verify_consistency`] implement RFC 9162
//!   §2.1.3.2 and §2.1.4.2 and refuse, with a [`MerkleError`] that says what
//!   is wrong, every proof that does not have *exactly* the expected number of
//!   hashes.
//!
//! ```
//! use ai_audit::merkle::{leaf_hash, verify_consistency, verify_inclusion, LeafIndex, MerkleTree, TreeSize};
//!
//! let mut tree = MerkleTree::new();
//! for i in 0..5u32 {
//!     tree.push(leaf_hash(format!("receipt-{i}").as_bytes()));
//! }
//! let old_root = tree.root_at(TreeSize(3))?;
//! let proof = tree.inclusion_proof(LeafIndex(2), tree.size())?;
//! verify_inclusion(&leaf_hash(b"receipt-2"), LeafIndex(2), tree.size(), &proof.path, &tree.root())?;
//! let c = tree.consistency_proof(TreeSize(3), tree.size())?;
//! verify_consistency(TreeSize(3), tree.size(), &old_root, &tree.root(), &c.path)?;
//! # Ok::<(), ai_audit::merkle::MerkleError>(())
//! ```
//!
//! # Why not `rs_merkle`
//!
//! We checked `rs_merkle` 1.5 against the transparency-dev/merkle test data
//! and do not use it: its roots match RFC 6962 only with a custom hasher (its
//! built-in `Sha256` algorithm hashes nodes as `SHA-256(left || right)`,
//! without the `0x00` / `0x01` domain separation), the empty tree has no
//! root (`None` instead of `SHA-256("")`), it has no consistency proofs, and
//! its `MerkleProof::verify` accepted 6 of the 98 official inclusion probes
//! that must fail, because it silently ignores surplus proof hashes. Here a
//! proof that is too long or too short is always an error.
//!
//! # Trust model
//!
//! A proof binds a leaf (or an old root) to a `(tree size, root)` pair; it
//! does not by itself authenticate the size. For example an inclusion proof
//! for leaf 0 in a tree of 3 leaves also verifies for "tree size 4" against
//! the *same* root, because the two trees have the same shape along that
//! path. Take the size and the root together from a signed checkpoint.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::hash::Hash32;

mod proof;

pub use proof::{verify_consistency, verify_inclusion, ConsistencyProof, InclusionProof};

/// Domain-separation byte prepended to a leaf's input before hashing
/// (RFC 6962 §2.1, RFC 9162 §2.1.1): `leaf = SHA-256(0x00 || input)`.
pub const LEAF_HASH_PREFIX: u8 = 0x00;

/// Domain-separation byte prepended to two child hashes before hashing
/// (RFC 6962 §2.1, RFC 9162 §2.1.1): `node = SHA-256(0x01 || left || right)`.
pub const NODE_HASH_PREFIX: u8 = 0x01;

/// The leaf hash of `input`: `SHA-256(0x00 || input)` (RFC 6962 §2.1).
pub fn leaf_hash(input: &[u8]) -> Hash32 {
    Hash32::digest_parts(&[&[LEAF_HASH_PREFIX], input])
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`
/// (RFC 6962 §2.1).
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    Hash32::digest_parts(&[&[NODE_HASH_PREFIX], &left.0, &right.0])
}

/// The root of the empty tree: `SHA-256("")` (RFC 6962 §2.1,
/// `e3b0c442…b855`).
pub fn empty_root() -> Hash32 {
    Hash32::digest(&[])
}

/// A 0-based leaf position in the log (RFC 9162 `leaf_index`).
///
/// Serialised as a plain JSON integer.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct LeafIndex(pub u64);

/// A number of leaves (RFC 9162 `tree_size`); size `n` holds leaves
/// `0..n`.
///
/// Serialised as a plain JSON integer.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct TreeSize(pub u64);

impl fmt::Display for LeafIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Display for TreeSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<u64> for LeafIndex {
    fn from(v: u64) -> Self {
        LeafIndex(v)
    }
}

impl From<u64> for TreeSize {
    fn from(v: u64) -> Self {
        TreeSize(v)
    }
}

/// Why a Merkle operation or proof verification failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError {
    /// The leaf index is not below the tree size (RFC 9162 §2.1.3.2 step 1).
    /// Every index is out of range for the empty tree, so an inclusion proof
    /// in a tree of size 0 always fails with this.
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// The leaf index given.
        index: u64,
        /// The tree size it was checked against.
        size: u64,
    },
    /// A root or proof was requested for a tree size larger than the number
    /// of leaves this tree holds.
    #[error("tree size {requested} exceeds the {available} leaves held")]
    SizeBeyondTree {
        /// The tree size asked for.
        requested: u64,
        /// The number of leaves held.
        available: u64,
    },
    /// The proof does not have exactly the number of hashes that RFC 9162
    /// §2.1.3.1 / §2.1.4.1 prescribe for its index and sizes (surplus hashes
    /// are never ignored).
    #[error("proof has {got} hashes, expected exactly {expected}")]
    WrongProofLength {
        /// The length the index and sizes require.
        expected: usize,
        /// The length received.
        got: usize,
    },
    /// The root recomputed from the proof differs from the root given (for
    /// an inclusion proof; for a consistency proof, the new root — or, when
    /// both sizes are equal, the two roots differ).
    #[error("the root recomputed from the proof does not match the expected root")]
    RootMismatch,
    /// The old root recomputed from a consistency proof differs from the old
    /// root given: the old tree is not a prefix of the new one (RFC 9162
    /// §2.1.4.2 step 7).
    #[error("the old root recomputed from the consistency proof does not match the old root")]
    OldRootMismatch,
    /// The old tree size is larger than the new one: a log never shrinks.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    SizeOutOfOrder {
        /// The claimed old (earlier) size.
        old_size: u64,
        /// The claimed new (later) size.
        new_size: u64,
    },
    /// A consistency proof from the empty tree was asked for or presented.
    /// RFC 9162 §2.1.4 defines consistency proofs only for `0 < old_size`;
    /// one from size 0 proves nothing, so it is refused (as the
    /// transparency-dev/merkle verifier and its test probes do).
    #[error("a consistency proof from the empty tree (old size 0) proves nothing")]
    EmptyOldTree,
}

/// An append-only RFC 6962 Merkle tree over leaf hashes.
///
/// `levels[h][i]` is the hash of the complete subtree of `2^h` leaves
/// starting at leaf `i * 2^h`; `levels[0]` are the leaf hashes. Appending a
/// leaf adds one entry to level 0 and, for each subtree it completes, one to
/// the level above (amortised one node hash per leaf). Nothing is ever
/// rebuilt. Memory is about 64 bytes per leaf.
#[derive(Clone, Default)]
pub struct MerkleTree {
    levels: Vec<Vec<Hash32>>,
}

impl fmt::Debug for MerkleTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerkleTree")
            .field("size", &self.size().0)
            .field("root", &self.root())
            .finish()
    }
}

impl MerkleTree {
    /// The empty tree (size 0, root [`empty_root`]).
    pub fn new() -> Self {
        MerkleTree { levels: Vec::new() }
    }

    /// A tree holding `leaves` (already leaf-hashed with [`leaf_hash`]) in
    /// order.
    pub fn from_leaf_hashes<I: IntoIterator<Item = Hash32>>(leaves: I) -> Self {
        let mut tree = MerkleTree::new();
        tree.extend(leaves);
        tree
    }

    /// Appends one leaf hash (see [`leaf_hash`]) and returns its index.
    pub fn push(&mut self, leaf_hash: Hash32) -> LeafIndex {
        let index = LeafIndex(self.size().0);
        let mut carry = leaf_hash;
        let mut level = 0usize;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let Some(nodes) = self.levels.get_mut(level) else {
                break; // unreachable: the level was just ensured
            };
            nodes.push(carry);
            // An even count means `carry` completed a pair: hash it upwards.
            match nodes.as_slice() {
                [.., left, right] if nodes.len() % 2 == 0 => {
                    carry = node_hash(left, right);
                    level += 1;
                }
                _ => break,
            }
        }
        index
    }

    /// The number of leaves.
    pub fn size(&self) -> TreeSize {
        TreeSize(self.levels.first().map_or(0, Vec::len) as u64)
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.size().0 == 0
    }

    /// The current root, `MTH(D[n])` (RFC 6962 §2.1); [`empty_root`] for
    /// the empty tree. Costs O(log n) hashes.
    pub fn root(&self) -> Hash32 {
        // Each level with an odd number of nodes ends with one of the
        // complete subtrees that make up the tree's right edge; fold them
        // from the smallest (rightmost) to the largest.
        let mut acc: Option<Hash32> = None;
        for nodes in &self.levels {
            if nodes.len() % 2 == 1 {
                if let Some(piece) = nodes.last() {
                    acc = Some(match acc {
                        None => *piece,
                        Some(right) => node_hash(piece, &right),
                    });
                }
            }
        }
        acc.unwrap_or_else(empty_root)
    }

    /// The root of the first `size` leaves (a historical checkpoint);
    /// [`empty_root`] for size 0. Costs O(log n) hashes.
    ///
    /// # Errors
    /// [`MerkleError::SizeBeyondTree`] if `size` exceeds [`size`](Self::size).
    pub fn root_at(&self, size: TreeSize) -> Result<Hash32, MerkleError> {
        self.check_size(size.0)?;
        if size.0 == 0 {
            return Ok(empty_root());
        }
        self.subtree(0, size.0)
    }

    /// The leaf hash at `index`, or `None` if there is no such leaf.
    pub fn leaf(&self, index: LeafIndex) -> Option<Hash32> {
        self.complete(0, index.0)
    }

    /// The inclusion proof (audit path, RFC 9162 §2.1.3.1 `PATH(m, D[n])`)
    /// of leaf `index` in the tree of the first `size` leaves, ordered from
    /// the leaf upwards.
    ///
    /// # Errors
    /// [`MerkleError::SizeBeyondTree`] if `size` exceeds the tree;
    /// [`MerkleError::IndexOutOfRange`] if `index >= size` (so always for
    /// size 0).
    pub fn inclusion_proof(
        &self,
        index: LeafIndex,
        size: TreeSize,
    ) -> Result<InclusionProof, MerkleError> {
        self.check_size(size.0)?;
        if index.0 >= size.0 {
            return Err(MerkleError::IndexOutOfRange {
                index: index.0,
                size: size.0,
            });
        }
        // Walk down from the root; the sibling of each step is pushed
        // root-first, then the path is reversed to leaf-first order.
        let (mut start, mut end) = (0u64, size.0);
        let mut path = Vec::with_capacity(64);
        while end - start > 1 {
            let k = split_point(end - start);
            if index.0 < start + k {
                path.push(self.subtree(start + k, end)?);
                end = start + k;
            } else {
                path.push(self.subtree(start, start + k)?);
                start += k;
            }
        }
        path.reverse();
        Ok(InclusionProof {
            leaf_index: index,
            tree_size: size,
            path,
        })
    }

    /// The consistency proof (RFC 9162 §2.1.4.1 `PROOF(m, D[n])`) that the
    /// tree of the first `old_size` leaves is a prefix of the tree of the
    /// first `new_size` leaves. Equal sizes give an empty proof.
    ///
    /// # Errors
    /// [`MerkleError::SizeBeyondTree`] if `new_size` exceeds the tree;
    /// [`MerkleError::SizeOutOfOrder`] if `old_size > new_size`;
    /// [`MerkleError::EmptyOldTree`] if `old_size` is 0.
    pub fn consistency_proof(
        &self,
        old_size: TreeSize,
        new_size: TreeSize,
    ) -> Result<ConsistencyProof, MerkleError> {
        self.check_size(new_size.0)?;
        if old_size > new_size {
            return Err(MerkleError::SizeOutOfOrder {
                old_size: old_size.0,
                new_size: new_size.0,
            });
        }
        if old_size.0 == 0 {
            return Err(MerkleError::EmptyOldTree);
        }
        // SUBPROOF(m, D[start:end], b), unrolled; `m` counts the old leaves
        // inside the current range, which always starts at `start`.
        let (mut m, mut start, mut end, mut whole_old_tree) = (old_size.0, 0u64, new_size.0, true);
        let mut path = Vec::with_capacity(64);
        loop {
            let n = end - start;
            if m == n {
                // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}.
                if !whole_old_tree {
                    path.push(self.subtree(start, end)?);
                }
                break;
            }
            let k = split_point(n);
            if m <= k {
                path.push(self.subtree(start + k, end)?);
                end = start + k;
            } else {
                path.push(self.subtree(start, start + k)?);
                start += k;
                m -= k;
                whole_old_tree = false;
            }
        }
        path.reverse();
        Ok(ConsistencyProof {
            old_size,
            new_size,
            path,
        })
    }

    fn check_size(&self, requested: u64) -> Result<(), MerkleError> {
        let available = self.size().0;
        if requested > available {
            return Err(MerkleError::SizeBeyondTree {
                requested,
                available,
            });
        }
        Ok(())
    }

    /// The stored complete subtree of `2^level` leaves starting at leaf
    /// `index * 2^level`.
    fn complete(&self, level: u32, index: u64) -> Option<Hash32> {
        let nodes = self.levels.get(usize::try_from(level).ok()?)?;
        nodes.get(usize::try_from(index).ok()?).copied()
    }

    /// `MTH(D[start:end])` for a non-empty range that occurs in RFC 6962's
    /// recursive split of a tree of at least `end` leaves (so `start` is a
    /// multiple of the largest power of two ≤ `end - start`). The range is
    /// cut into its complete subtrees, largest first, and those are folded
    /// from the right: O(log n) hashes, no recursion.
    fn subtree(&self, start: u64, end: u64) -> Result<Hash32, MerkleError> {
        let beyond = MerkleError::SizeBeyondTree {
            requested: end,
            available: self.size().0,
        };
        let mut remaining = end.checked_sub(start).ok_or_else(|| beyond.clone())?;
        let mut piece_end = end;
        let mut acc: Option<Hash32> = None;
        while remaining != 0 {
            let level = remaining.trailing_zeros();
            let width = 1u64 << level;
            let piece_start = piece_end.checked_sub(width).ok_or_else(|| beyond.clone())?;
            if piece_start % width != 0 {
                // Not a subtree of an RFC 6962 split; cannot happen for the
                // ranges this module asks for.
                return Err(beyond);
            }
            let piece = self
                .complete(level, piece_start >> level)
                .ok_or_else(|| beyond.clone())?;
            acc = Some(match acc {
                None => piece,
                Some(right) => node_hash(&piece, &right),
            });
            piece_end = piece_start;
            remaining &= remaining - 1;
        }
        acc.ok_or(beyond)
    }
}

impl Extend<Hash32> for MerkleTree {
    fn extend<I: IntoIterator<Item = Hash32>>(&mut self, leaves: I) {
        let leaves = leaves.into_iter();
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        if let Some(level0) = self.levels.first_mut() {
            level0.reserve(leaves.size_hint().0);
        }
        for leaf in leaves {
            self.push(leaf);
        }
    }
}

impl FromIterator<Hash32> for MerkleTree {
    fn from_iter<I: IntoIterator<Item = Hash32>>(leaves: I) -> Self {
        MerkleTree::from_leaf_hashes(leaves)
    }
}

/// `k`, the largest power of two strictly smaller than `n` (RFC 6962 §2.1);
/// requires `n >= 2`.
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(n: u64) -> MerkleTree {
        (0..n)
            .map(|i| leaf_hash(format!("leaf-{i}").as_bytes()))
            .collect()
    }

    /// Direct recursive MTH (RFC 6962 §2.1).
    fn naive_root(leaves: &[Hash32]) -> Hash32 {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn constants_and_primitives() {
        assert_eq!(LEAF_HASH_PREFIX, 0);
        assert_eq!(NODE_HASH_PREFIX, 1);
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut buf = vec![1u8];
        buf.extend_from_slice(&a.0);
        buf.extend_from_slice(&b.0);
        assert_eq!(node_hash(&a, &b), Hash32::digest(&buf));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        for n in 2u64..=1100 {
            let k = split_point(n);
            assert!(k.is_power_of_two() && k < n && 2 * k >= n, "n={n} k={k}");
        }
        assert_eq!(split_point(u64::MAX), 1 << 63);
        assert_eq!(split_point((1 << 63) + 1), 1 << 63);
        assert_eq!(split_point(1 << 63), 1 << 62);
    }

    #[test]
    fn empty_tree() {
        let t = MerkleTree::new();
        assert_eq!(t.size(), TreeSize(0));
        assert!(t.is_empty());
        assert_eq!(t.root(), empty_root());
        assert_eq!(t.root_at(TreeSize(0)), Ok(empty_root()));
        assert_eq!(
            t.root_at(TreeSize(1)),
            Err(MerkleError::SizeBeyondTree {
                requested: 1,
                available: 0
            })
        );
        assert_eq!(t.leaf(LeafIndex(0)), None);
        assert_eq!(
            t.inclusion_proof(LeafIndex(0), TreeSize(0)),
            Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            t.consistency_proof(TreeSize(0), TreeSize(0)),
            Err(MerkleError::EmptyOldTree)
        );
        assert_eq!(MerkleTree::default().root(), empty_root());
        assert_eq!(MerkleTree::from_leaf_hashes([]).size(), TreeSize(0));
    }

    #[test]
    fn push_is_incremental_and_matches_naive_root() {
        let mut t = MerkleTree::new();
        let mut leaves = Vec::new();
        for i in 0..130u64 {
            assert_eq!(t.root(), naive_root(&leaves));
            let h = leaf_hash(&i.to_be_bytes());
            assert_eq!(t.push(h), LeafIndex(i));
            leaves.push(h);
            assert_eq!(t.leaf(LeafIndex(i)), Some(h));
            // Every level holds exactly the complete subtrees.
            for (level, nodes) in t.levels.iter().enumerate() {
                assert_eq!(nodes.len() as u64, (i + 1) >> level);
            }
            assert!(t.levels.last().is_some_and(|l| !l.is_empty()));
        }
        for k in 0..=130u64 {
            assert_eq!(
                t.root_at(TreeSize(k)),
                Ok(naive_root(&leaves[..k as usize]))
            );
        }
        assert_eq!(t.size(), TreeSize(130));
        assert_eq!(t.leaf(LeafIndex(130)), None);
    }

    #[test]
    fn generation_errors() {
        let t = tree(5);
        assert_eq!(
            t.inclusion_proof(LeafIndex(5), TreeSize(5)),
            Err(MerkleError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            t.inclusion_proof(LeafIndex(3), TreeSize(3)),
            Err(MerkleError::IndexOutOfRange { index: 3, size: 3 })
        );
        assert_eq!(
            t.inclusion_proof(LeafIndex(0), TreeSize(6)),
            Err(MerkleError::SizeBeyondTree {
                requested: 6,
                available: 5
            })
        );
        assert_eq!(
            t.consistency_proof(TreeSize(3), TreeSize(2)),
            Err(MerkleError::SizeOutOfOrder {
                old_size: 3,
                new_size: 2
            })
        );
        assert_eq!(
            t.consistency_proof(TreeSize(0), TreeSize(5)),
            Err(MerkleError::EmptyOldTree)
        );
        assert_eq!(
            t.consistency_proof(TreeSize(1), TreeSize(6)),
            Err(MerkleError::SizeBeyondTree {
                requested: 6,
                available: 5
            })
        );
        let same = t.consistency_proof(TreeSize(5), TreeSize(5)).unwrap();
        assert!(same.path.is_empty());
    }

    #[test]
    fn single_leaf() {
        let t = tree(1);
        let p = t.inclusion_proof(LeafIndex(0), TreeSize(1)).unwrap();
        assert!(p.path.is_empty());
        assert_eq!(t.root(), t.leaf(LeafIndex(0)).unwrap());
        assert_eq!(p.verify(&t.root(), &t.root()), Ok(()));
    }

    #[test]
    fn debug_is_short() {
        let s = format!("{:?}", tree(1000));
        assert!(
            s.starts_with("MerkleTree { size: 1000, root: Hash32("),
            "{s}"
        );
        assert!(s.len() < 200);
    }

    #[test]
    fn newtypes_display_and_serde() {
        assert_eq!(LeafIndex(7).to_string(), "7");
        assert_eq!(TreeSize(9).to_string(), "9");
        assert_eq!(serde_json::to_string(&TreeSize(9)).unwrap(), "9");
        assert_eq!(
            serde_json::from_str::<LeafIndex>("7").unwrap(),
            LeafIndex(7)
        );
        assert!(serde_json::from_str::<LeafIndex>("\"7\"").is_err());
        assert!(serde_json::from_str::<TreeSize>("-1").is_err());
        assert_eq!(LeafIndex::from(3), LeafIndex(3));
        assert!(TreeSize(2) < TreeSize(10));
    }
}
