//! Keyed commitments (HMAC-SHA256) and the per-tenant commitment key.
//!
//! A plain SHA-256 of a low-entropy input ("yes", a birth date, a customer
//! number) can be reversed by guessing. Every commitment in a receipt is
//! therefore `HMAC-SHA256(tenant commitment key, label || data)` (SPEC §4.2):
//! only the holder of the key can confirm a guess, and destroying the key
//! (crypto-shredding) makes the commitments unconfirmable by anyone.

use std::fmt;

use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::hash::Hash32;

/// A 256-bit HMAC key for one tenant's commitments. Never printed; wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CommitmentKey([u8; 32]);

impl CommitmentKey {
    /// Wraps raw key bytes (taken by value; the caller's copy is the caller's to wipe).
    pub fn from_bytes(bytes: [u8; 32]) -> CommitmentKey {
        CommitmentKey(bytes)
    }

    /// A fresh random key.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> CommitmentKey {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        CommitmentKey(k)
    }

    /// The raw key bytes, for wrapping into a key store. Handle with care.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }

    /// `HMAC-SHA256(key, label || data)`, where `label` is one of the
    /// domain-separation constants in [`crate::encoding`].
    pub fn mac(&self, label: &[u8], data: &[u8]) -> Hash32 {
        self.mac_parts(&[label, data])
    }

    /// `HMAC-SHA256(key, parts[0] || parts[1] || …)`, without first
    /// concatenating the parts.
    pub(crate) fn mac_parts(&self, parts: &[&[u8]]) -> Hash32 {
        // HMAC accepts keys of any length: new_from_slice cannot fail here.
        let mut m = match <Hmac<Sha256> as Mac>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable_hmac(),
        };
        for p in parts {
            m.update(p);
        }
        Hash32(m.finalize().into_bytes().into())
    }
}

#[cold]
fn unreachable_hmac() -> ! {
    // HMAC's InvalidLength is only returned for fixed-size-key MACs.
    #[allow(clippy::panic)]
    {
        panic!("HMAC-SHA256 accepts keys of any length")
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
