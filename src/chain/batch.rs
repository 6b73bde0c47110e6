//! Batch verification of entry signatures, with `verify_strict`'s
//! semantics (SPEC §5.3).
//!
//! `ed25519_dalek::verify_batch` checks one random linear combination of
//! the signature equations; it is not `verify_strict`. Before a signature
//! joins a batch, the checks that `verify_strict` makes and the batch
//! equation does not are made on its own: `R` must be a canonical encoding
//! (y < p) of a point that is not of small order, and the key must be
//! torsion-free (pinned keys are already refused when of small order). The
//! scalar `s` must be canonical in both. A batch that fails is verified
//! again one signature at a time with `verify_strict`, which finds the bad
//! ones. See SPEC §8 for the one difference left (an `R` with a torsion
//! component, which only a malleation of a valid signature can produce).

use std::sync::OnceLock;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::traits::{Identity, IsIdentity};
use curve25519_dalek::Scalar;
use ed25519_dalek::VerifyingKey;

use super::{precheck_content_hashed, HashCheck, Precheck, SigCheck};
use crate::entry::{signature_message, Entry, LineHash, SIGNATURE_MESSAGE_LEN};
use crate::keys::KeyRing;

/// The y-coordinates (sign bit cleared) of the eight points of small order.
fn small_order_ys() -> &'static [[u8; 32]] {
    static SET: OnceLock<Vec<[u8; 32]>> = OnceLock::new();
    SET.get_or_init(|| {
        // [l]P has the torsion part of P times l (l ≡ 5 mod 8, so of the
        // same order): from a point of order 8l it gives a generator of
        // the eight-torsion subgroup.
        let l_minus_one = -Scalar::ONE;
        let mut out: Vec<[u8; 32]> = Vec::new();
        for y0 in 2u8..=255 {
            let mut b = [0u8; 32];
            b[0] = y0;
            let Some(p) = CompressedEdwardsY(b).decompress() else {
                continue;
            };
            let t = p * l_minus_one + p;
            let t2 = t + t;
            if (t2 + t2).is_identity() {
                continue;
            }
            let mut q = EdwardsPoint::identity();
            for _ in 0..8 {
                let mut y = q.compress().to_bytes();
                y[31] &= 0x7f;
                if !out.contains(&y) {
                    out.push(y);
                }
                q += t;
            }
            break;
        }
        out
    })
}

/// Whether `r` (a signature's R) is a canonical encoding whose point, if
/// any, is not of small order. Byte checks only.
fn r_is_batchable(r: &[u8]) -> bool {
    let ys = small_order_ys();
    // 8 small-order points, 5 distinct y values; anything else means the
    // table could not be built and nothing is batched.
    if ys.len() != 5 {
        return false;
    }
    let mut y = [0u8; 32];
    if r.len() != 32 {
        return false;
    }
    y.copy_from_slice(r);
    y[31] &= 0x7f;
    // p = 2^255 - 19 = ed ff .. ff 7f (little-endian).
    let non_canonical = y[31] == 0x7f && y[1..31].iter().all(|b| *b == 0xff) && y[0] >= 0xed;
    !non_canonical && !ys.contains(&y)
}

/// Prechecks of `entries` (in order, each with its content hash when
/// known): hash and body of each, and the signatures of those whose hash
/// matches verified together under `keys`.
pub(crate) fn precheck_many<'a>(
    entries: impl IntoIterator<Item = (&'a Entry, Option<&'a LineHash>)>,
    keys: &KeyRing,
) -> Vec<Precheck> {
    let (entries, hashes): (Vec<&Entry>, Vec<Option<&LineHash>>) = entries.into_iter().unzip();
    let mut pres: Vec<Precheck> = entries
        .iter()
        .zip(hashes)
        .map(|(e, h)| precheck_content_hashed(e, h))
        .collect();
    // Torsion-freeness of each key, computed once per call.
    let mut torsion_free: Vec<([u8; 32], bool)> = Vec::new();
    let mut jobs: Vec<usize> = Vec::new();
    let mut msgs: Vec<[u8; SIGNATURE_MESSAGE_LEN]> = Vec::new();
    let mut sigs: Vec<ed25519_dalek::Signature> = Vec::new();
    let mut vks: Vec<VerifyingKey> = Vec::new();
    for (i, (e, pre)) in entries.iter().zip(pres.iter_mut()).enumerate() {
        let (HashCheck::Match, SigCheck::Unchecked, Some(sig)) =
            (&pre.hash, pre.sig, e.signature())
        else {
            continue;
        };
        let mut candidates = keys.by_id(e.key_id());
        let (Some(k), None) = (candidates.next(), candidates.next()) else {
            // No key (decided later, in order) or several with one id.
            if keys
                .by_id(e.key_id())
                .any(|k| e.verify_signature(k).is_ok())
            {
                pre.sig = SigCheck::Verified;
            }
            continue;
        };
        let vk = *k.verifying_key();
        let free = match torsion_free.iter().find(|(b, _)| b == k.public_bytes()) {
            Some((_, f)) => *f,
            None => {
                let f = !vk.is_weak() && vk.to_edwards().is_torsion_free();
                torsion_free.push((*k.public_bytes(), f));
                f
            }
        };
        if free && r_is_batchable(&sig.0[..32]) {
            jobs.push(i);
            msgs.push(signature_message(e.hash()));
            sigs.push(ed25519_dalek::Signature::from_bytes(&sig.0));
            vks.push(vk);
        } else if e.verify_signature(k).is_ok() {
            pre.sig = SigCheck::Verified;
        }
    }
    if jobs.is_empty() {
        return pres;
    }
    let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    let all_ok = jobs.len() > 1 && ed25519_dalek::verify_batch(&refs, &sigs, &vks).is_ok();
    for (j, &i) in jobs.iter().enumerate() {
        let ok = all_ok
            || match (refs.get(j), sigs.get(j), vks.get(j)) {
                (Some(m), Some(s), Some(vk)) => vk.verify_strict(m, s).is_ok(),
                _ => false,
            };
        if ok {
            if let Some(p) = pres.get_mut(i) {
                p.sig = SigCheck::Verified;
            }
        }
    }
    pres
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn the_small_order_table_has_the_five_y_values() {
        let ys = small_order_ys();
        assert_eq!(ys.len(), 5);
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(ys.contains(&one), "identity");
        assert!(ys.contains(&[0u8; 32]), "order 4");
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        assert!(ys.contains(&minus_one), "order 2");
        // Every listed y decodes to a point of small order.
        for y in ys {
            let p = CompressedEdwardsY(*y).decompress().unwrap();
            assert!(p.is_small_order());
        }
    }

    #[test]
    fn small_order_and_non_canonical_r_are_not_batched() {
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(!r_is_batchable(&one));
        let mut one_neg = one;
        one_neg[31] |= 0x80;
        assert!(!r_is_batchable(&one_neg));
        let mut p_plus_one = [0xffu8; 32];
        p_plus_one[0] = 0xee;
        p_plus_one[31] = 0x7f;
        assert!(!r_is_batchable(&p_plus_one));
        let b = curve25519_dalek::constants::ED25519_BASEPOINT_POINT
            .compress()
            .to_bytes();
        assert!(r_is_batchable(&b));
    }
}
