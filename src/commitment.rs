//! Keyed commitments (HMAC-SHA256) and the per-tenant commitment key.
//!
//! A plain SHA-256 of a low-entropy input ("yes", a birth date, a customer
//! number) can be reversed by guessing. Every commitment in a receipt is
//! therefore `HMAC-SHA256(tenant commitment key, label || data)` (SPEC §4.2):
//! only the holder of the key can confirm a guess, and destroying the key
//! (crypto-shredding) makes the commitments unconfirmable by anyone.

use std::fmt;

use rand_core::{CryptoRng, RngCore};
use sha2::digest::generic_array::GenericArray;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::hash::Hash32;

/// A 256-bit HMAC key for one tenant's commitments. Never printed; wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CommitmentKey {
    key: [u8; 32],
    /// SHA-256 chaining values after the HMAC key blocks `K ^ ipad` and
    /// `K ^ opad` (RFC 2104), computed once per key so that each MAC costs
    /// two compressions fewer. Secret-equivalent: wiped with the key.
    inner: [u32; 8],
    outer: [u32; 8],
}

impl CommitmentKey {
    /// Wraps raw key bytes (taken by value; the caller's copy is the caller's to wipe).
    pub fn from_bytes(bytes: [u8; 32]) -> CommitmentKey {
        CommitmentKey {
            inner: key_block_state(&bytes, 0x36),
            outer: key_block_state(&bytes, 0x5c),
            key: bytes,
        }
    }

    /// A fresh random key.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> CommitmentKey {
        let mut k = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(k.as_mut());
        CommitmentKey::from_bytes(*k)
    }

    /// The raw key bytes, for wrapping into a key store. Handle with care.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.key
    }

    /// `HMAC-SHA256(key, label || data)`, where `label` is one of the
    /// domain-separation constants in [`crate::encoding`].
    pub fn mac(&self, label: &[u8], data: &[u8]) -> Hash32 {
        self.mac_parts(&[label, data])
    }

    /// `HMAC-SHA256(key, parts[0] || parts[1] || …)` (RFC 2104), without
    /// first concatenating the parts, resuming from the precomputed key
    /// block states (unit tests compare it with the `hmac` crate).
    pub(crate) fn mac_parts(&self, parts: &[&[u8]]) -> Hash32 {
        let mut inner = Resumed::after_key_block(self.inner);
        for p in parts {
            inner.update(p);
        }
        let digest = inner.finish();
        let mut outer = Resumed::after_key_block(self.outer);
        outer.update(&digest);
        Hash32(outer.finish())
    }
}

/// SHA-256 initial chaining value (FIPS 180-4 §5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The chaining value after compressing the 64-byte block `key ^ pad`
/// (the 32-byte key zero-padded to the block size, RFC 2104).
fn key_block_state(key: &[u8; 32], pad: u8) -> [u32; 8] {
    let mut block = Zeroizing::new([pad; 64]);
    for (b, k) in block.iter_mut().zip(key) {
        *b ^= k;
    }
    let mut state = SHA256_IV;
    compress(&mut state, &block);
    state
}

fn compress(state: &mut [u32; 8], block: &[u8; 64]) {
    sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)));
}

/// A SHA-256 computation resumed after one 64-byte block (the HMAC key
/// block): FIPS 180-4 padding over the total length, key block included.
#[derive(Zeroize, ZeroizeOnDrop)]
struct Resumed {
    state: [u32; 8],
    buf: [u8; 64],
    used: usize,
    total: u64,
}

impl Resumed {
    fn after_key_block(state: [u32; 8]) -> Resumed {
        Resumed {
            state,
            buf: [0u8; 64],
            used: 0,
            total: 64,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.total = self.total.wrapping_add(data.len() as u64);
        if self.used > 0 {
            let take = (64 - self.used).min(data.len());
            let (head, rest) = data.split_at(take);
            self.buf[self.used..self.used + take].copy_from_slice(head);
            self.used += take;
            data = rest;
            if self.used < 64 {
                return;
            }
            let block = self.buf;
            compress(&mut self.state, &block);
            self.used = 0;
        }
        let mut blocks = data.chunks_exact(64);
        for b in &mut blocks {
            let mut block = [0u8; 64];
            block.copy_from_slice(b);
            compress(&mut self.state, &block);
        }
        let rest = blocks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.used = rest.len();
    }

    fn finish(&mut self) -> [u8; 32] {
        let bits = self.total.wrapping_mul(8);
        let mut block = self.buf;
        block[self.used] = 0x80;
        block[self.used + 1..].fill(0);
        if self.used >= 56 {
            compress(&mut self.state, &block);
            block = [0u8; 64];
        }
        block[56..].copy_from_slice(&bits.to_be_bytes());
        compress(&mut self.state, &block);
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(4).zip(self.state) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

impl fmt::Debug for CommitmentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CommitmentKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use proptest::prelude::*;

    fn reference(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
        let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// Every padding case (message ends before, at and after byte 55/56/63
    /// of a block, parts split anywhere) equals the `hmac` crate.
    #[test]
    fn precomputed_hmac_equals_the_hmac_crate_at_every_length() {
        let key = CommitmentKey::from_bytes([0x5a; 32]);
        let data: Vec<u8> = (0..=300u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..=data.len() {
            let d = &data[..n];
            assert_eq!(
                key.mac_parts(&[d]).0,
                reference(&[0x5a; 32], &[d]),
                "len {n}"
            );
            let cut = n / 3;
            assert_eq!(
                key.mac_parts(&[&d[..cut], b"", &d[cut..]]).0,
                reference(&[0x5a; 32], &[d]),
                "len {n} split"
            );
        }
    }

    proptest! {
        #[test]
        fn precomputed_hmac_equals_the_hmac_crate(
            k in any::<[u8; 32]>(),
            parts in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..150), 0..5),
        ) {
            let key = CommitmentKey::from_bytes(k);
            let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            prop_assert_eq!(key.mac_parts(&parts).0, reference(&k, &parts));
        }
    }

    #[test]
    fn mac_matches_rfc4231_case_2_shape_and_is_keyed() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        // Our keys are 32 bytes, so pad "Jefe" with zeros: HMAC pads short keys
        // with zeros itself, so the result must equal the RFC value.
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(b"Jefe");
        let key = CommitmentKey::from_bytes(k);
        assert_eq!(
            key.mac(b"what do ya want ", b"for nothing?").to_hex(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let other = CommitmentKey::from_bytes([7u8; 32]);
        assert_ne!(other.mac(b"l", b"d"), key.mac(b"l", b"d"));
        assert_eq!(format!("{key:?}"), "CommitmentKey(<redacted>)");
    }
}
