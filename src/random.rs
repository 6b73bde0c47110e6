//! The randomness seam: entry ids and nonces come from an injected source so
//! that tests and the demo are reproducible. Keys always come from the OS.

use parking_lot::Mutex;
use rand_core::{OsRng, RngCore};

use crate::hash::Hash32;

/// A source of random bytes for identifiers. Not used for key generation.
pub trait RandomSource: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        OsRng.fill_bytes(buf);
    }
}

/// A deterministic stream: SHA-256(seed || counter) blocks. For tests and the
/// seeded demo only — predictable by design.
#[derive(Debug)]
pub struct SeededRandom {
    seed: [u8; 32],
    counter: Mutex<u64>,
}

impl SeededRandom {
    /// A stream determined entirely by `seed`.
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom {
            seed: Hash32::digest(&seed.to_be_bytes()).0,
            counter: Mutex::new(0),
        }
    }
}

impl RandomSource for SeededRandom {
    fn fill(&self, buf: &mut [u8]) {
        let mut c = self.counter.lock();
        for chunk in buf.chunks_mut(32) {
            let block = Hash32::digest_parts(&[&self.seed, &c.to_be_bytes()]);
            *c += 1;
            chunk.copy_from_slice(&block.0[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic_and_seed_dependent() {
        let (a, b, c) = (
            SeededRandom::new(1),
            SeededRandom::new(1),
            SeededRandom::new(2),
        );
        let (mut x, mut y, mut z) = ([0u8; 40], [0u8; 40], [0u8; 40]);
        a.fill(&mut x);
        b.fill(&mut y);
        c.fill(&mut z);
        assert_eq!(x, y);
        assert_ne!(x, z);
        let mut w = [0u8; 40];
        a.fill(&mut w);
        assert_ne!(x, w);
    }
}
