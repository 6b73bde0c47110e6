//! The right edge of a tenant's RFC 6962 tree: all the log needs to append
//! leaves and sign checkpoints (size and root), in O(log n) memory instead
//! of every leaf and interior node. Inclusion and consistency proofs are
//! built from the store's entries when asked for ([`crate::MerkleTree`]).

use crate::hash::Hash32;
use crate::merkle::{empty_root, node_hash, TreeSize};

/// The complete subtrees along the right edge of a tree of `size` leaves:
/// one per set bit of `size`, largest (leftmost) first.
#[derive(Clone, Debug, Default)]
pub(super) struct Frontier {
    size: u64,
    peaks: Vec<Hash32>,
}

impl Frontier {
    /// Appends a leaf hash: merges the equal-sized subtrees it completes.
    pub(super) fn push(&mut self, leaf_hash: Hash32) {
        let mut carry = leaf_hash;
        let mut size = self.size;
        while size & 1 == 1 {
            match self.peaks.pop() {
                Some(left) => carry = node_hash(&left, &carry),
                None => break, // unreachable: one peak per set bit
            }
            size >>= 1;
        }
        self.peaks.push(carry);
        self.size += 1;
    }

    /// The number of leaves.
    pub(super) fn size(&self) -> TreeSize {
        TreeSize(self.size)
    }

    /// Whether there are no leaves.
    pub(super) fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// `MTH(D[n])` (RFC 6962 §2.1): the peaks folded from the smallest.
    pub(super) fn root(&self) -> Hash32 {
        let mut peaks = self.peaks.iter().rev();
        match peaks.next() {
            None => empty_root(),
            Some(last) => peaks.fold(*last, |right, left| node_hash(left, &right)),
        }
    }
}

impl FromIterator<Hash32> for Frontier {
    fn from_iter<I: IntoIterator<Item = Hash32>>(leaves: I) -> Self {
        let mut f = Frontier::default();
        for leaf in leaves {
            f.push(leaf);
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, MerkleTree};

    /// Size and root equal the full tree's at every size (0 to 300, so
    /// every shape of right edge up to 9 peaks).
    #[test]
    fn matches_the_full_tree() {
        let mut f = Frontier::default();
        let mut t = MerkleTree::new();
        assert_eq!(f.root(), t.root());
        assert!(f.is_empty());
        for i in 0u32..300 {
            let leaf = leaf_hash(&i.to_be_bytes());
            f.push(leaf);
            t.push(leaf);
            assert_eq!(f.size(), t.size(), "size {i}");
            assert_eq!(f.root(), t.root(), "root at size {}", i + 1);
            assert_eq!(f.peaks.len(), f.size.count_ones() as usize);
        }
        let again: Frontier = (0u32..300).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        assert_eq!(again.root(), t.root());
    }
}
