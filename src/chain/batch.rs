//! Batch verification of entry signatures, with `verify_strict`'s
//! semantics (SPEC §5.3).
//!
//! One random linear combination of the signature equations, as
//! `ed25519_dalek::verify_batch` forms it but with the terms of each key
//! merged ([`batch_equation_holds`]), checks a whole batch; it is not
//! `verify_strict`. Before a signature
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
    // Each distinct key once: its bytes, whether it is torsion-free, and
    // its index in `batch_keys` (the keys of batched signatures).
    let mut seen_keys: Vec<([u8; 32], bool, usize)> = Vec::new();
    let mut batch_keys: Vec<(VerifyingKey, EdwardsPoint)> = Vec::new();
    let mut jobs: Vec<usize> = Vec::new();
    let mut msgs: Vec<[u8; SIGNATURE_MESSAGE_LEN]> = Vec::new();
    let mut sigs: Vec<ed25519_dalek::Signature> = Vec::new();
    let mut key_of: Vec<usize> = Vec::new();
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
        let (free, ki) = match seen_keys.iter().find(|(b, _, _)| b == k.public_bytes()) {
            Some((_, f, ki)) => (*f, *ki),
            None => {
                let point = vk.to_edwards();
                let f = !vk.is_weak() && point.is_torsion_free();
                let ki = batch_keys.len();
                batch_keys.push((vk, point));
                seen_keys.push((*k.public_bytes(), f, ki));
                (f, ki)
            }
        };
        if free && r_is_batchable(&sig.0[..32]) {
            jobs.push(i);
            msgs.push(signature_message(e.hash()));
            sigs.push(ed25519_dalek::Signature::from_bytes(&sig.0));
            key_of.push(ki);
        } else if e.verify_signature(k).is_ok() {
            pre.sig = SigCheck::Verified;
        }
    }
    if jobs.is_empty() {
        return pres;
    }
    let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    let all_ok = jobs.len() > 1 && batch_equation_holds(&refs, &sigs, &key_of, &batch_keys);
    for (j, &i) in jobs.iter().enumerate() {
        let ok = all_ok
            || match (refs.get(j), sigs.get(j), key_of.get(j)) {
                (Some(m), Some(s), Some(&ki)) => batch_keys
                    .get(ki)
                    .is_some_and(|(vk, _)| vk.verify_strict(m, s).is_ok()),
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

/// `ed25519_dalek::verify_batch`'s equation (cofactorless, one random
/// 128-bit weight `z` per signature):
///
/// `[-Σ z·s]B + Σ [z]R + Σ [z·H(R‖A‖M)]A == 0`
///
/// with the terms of each key merged into one (`Σ_key [Σ z·H]A`): the
/// same sum, with a multiscalar multiplication of `n + keys + 1` points
/// instead of `2n + 1`. The weights are derived from a hash of the whole
/// batch ([`batch_weights`]), as `verify_batch` derives them from a
/// transcript: unpredictable before the batch is fixed, and the same on
/// every run, so a package gets the same verdict every time it is checked.
/// A non-canonical `s` or an `R` that does not decode fails the batch, as
/// in `verify_batch`.
fn batch_equation_holds(
    msgs: &[&[u8]],
    sigs: &[ed25519_dalek::Signature],
    key_of: &[usize],
    keys: &[(VerifyingKey, EdwardsPoint)],
) -> bool {
    use curve25519_dalek::traits::VartimeMultiscalarMul;
    use sha2::{Digest, Sha512};

    let n = sigs.len();
    if msgs.len() != n || key_of.len() != n {
        return false;
    }
    let weights = batch_weights(msgs, sigs, key_of, keys);
    let mut scalars: Vec<Scalar> = Vec::with_capacity(n + keys.len() + 1);
    let mut points: Vec<EdwardsPoint> = Vec::with_capacity(n + keys.len() + 1);
    let mut b_coefficient = Scalar::ZERO;
    let mut key_coefficients = vec![Scalar::ZERO; keys.len()];
    for (((msg, sig), &ki), w) in msgs
        .iter()
        .zip(sigs)
        .zip(key_of)
        .zip(weights.chunks_exact(16))
    {
        let (Some((vk, _)), Some(coefficient)) = (keys.get(ki), key_coefficients.get_mut(ki))
        else {
            return false;
        };
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(*sig.s_bytes())) else {
            return false;
        };
        let Some(r) = CompressedEdwardsY(*sig.r_bytes()).decompress() else {
            return false;
        };
        let mut z_bytes = [0u8; 16];
        z_bytes.copy_from_slice(w);
        let z = Scalar::from(u128::from_le_bytes(z_bytes));
        let mut h = Sha512::new();
        h.update(sig.r_bytes());
        h.update(vk.as_bytes());
        h.update(msg);
        let hram = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        b_coefficient += z * s;
        *coefficient += z * hram;
        scalars.push(z);
        points.push(r);
    }
    scalars.push(-b_coefficient);
    points.push(curve25519_dalek::constants::ED25519_BASEPOINT_POINT);
    for ((_, a), c) in keys.iter().zip(key_coefficients) {
        scalars.push(c);
        points.push(*a);
    }
    EdwardsPoint::vartime_multiscalar_mul(scalars, points).is_identity()
}

/// Label of the batch transcript the weights are derived from.
const BATCH_WEIGHTS_LABEL: &[u8] = b"ai-audit/v1/batch-weights\0";

/// 16 bytes of weight per signature: `t = SHA-512(label ‖ n ‖ for each
/// signature: R ‖ s ‖ A ‖ len(M) ‖ M)`, then `SHA-512(t ‖ j)` for
/// j = 0, 1, … gives the weights of signatures 4j … 4j+3 (a Fiat–Shamir
/// derivation: changing any signature, key or message changes every
/// weight).
fn batch_weights(
    msgs: &[&[u8]],
    sigs: &[ed25519_dalek::Signature],
    key_of: &[usize],
    keys: &[(VerifyingKey, EdwardsPoint)],
) -> Vec<u8> {
    use sha2::{Digest, Sha512};
    let n = sigs.len();
    let mut t = Sha512::new();
    t.update(BATCH_WEIGHTS_LABEL);
    t.update((n as u64).to_le_bytes());
    for ((msg, sig), &ki) in msgs.iter().zip(sigs).zip(key_of) {
        t.update(sig.r_bytes());
        t.update(sig.s_bytes());
        match keys.get(ki) {
            Some((vk, _)) => t.update(vk.as_bytes()),
            None => t.update([0u8; 32]),
        }
        t.update((msg.len() as u64).to_le_bytes());
        t.update(msg);
    }
    let t = t.finalize();
    let mut out = Vec::with_capacity(16 * n + 64);
    let mut j = 0u64;
    while out.len() < 16 * n {
        out.extend_from_slice(
            &Sha512::new()
                .chain_update(t)
                .chain_update(j.to_le_bytes())
                .finalize(),
        );
        j += 1;
    }
    out.truncate(16 * n);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// `n` signing keys (seeds 1, 2, …) and their (key, point) pairs.
    fn test_keys(
        n: u8,
    ) -> (
        Vec<ed25519_dalek::SigningKey>,
        Vec<(VerifyingKey, EdwardsPoint)>,
    ) {
        let sks: Vec<ed25519_dalek::SigningKey> = (1..=n)
            .map(|i| ed25519_dalek::SigningKey::from_bytes(&[i; 32]))
            .collect();
        let keys = sks
            .iter()
            .map(|k| (k.verifying_key(), k.verifying_key().to_edwards()))
            .collect();
        (sks, keys)
    }

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

    /// The merged equation accepts and refuses what `verify_batch` does.
    #[test]
    fn merged_batch_equation_agrees_with_verify_batch() {
        use ed25519_dalek::Signer as _;
        let (sks, keys) = test_keys(3);
        let msgs: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 1 + usize::from(i)]).collect();
        let key_of: Vec<usize> = (0..msgs.len()).map(|i| (i * 7) % 3).collect();
        let good: Vec<ed25519_dalek::Signature> = msgs
            .iter()
            .zip(&key_of)
            .map(|(m, &k)| sks[k].sign(m))
            .collect();
        let check = |sigs: &[ed25519_dalek::Signature], key_of: &[usize]| {
            let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
            let vks: Vec<VerifyingKey> = key_of.iter().map(|&k| keys[k].0).collect();
            let theirs = ed25519_dalek::verify_batch(&refs, sigs, &vks).is_ok();
            let ours = batch_equation_holds(&refs, sigs, key_of, &keys);
            assert_eq!(ours, theirs);
            ours
        };
        assert!(check(&good, &key_of));
        // One signature by another key, one flipped bit in R or s, a swap.
        let mut wrong_key = key_of.clone();
        wrong_key[5] = (wrong_key[5] + 1) % 3;
        assert!(!check(&good, &wrong_key));
        for byte in [0usize, 31, 32, 40, 63] {
            let mut bad = good.clone();
            let mut b = bad[9].to_bytes();
            b[byte] ^= 1;
            bad[9] = ed25519_dalek::Signature::from_bytes(&b);
            assert!(!check(&bad, &key_of));
        }
        let mut swapped = good.clone();
        swapped.swap(3, 4);
        assert!(!check(&swapped, &key_of));
        // A non-canonical s (s + l).
        let mut big_s = good.clone();
        let mut b = big_s[0].to_bytes();
        b[63] |= 0xf0;
        big_s[0] = ed25519_dalek::Signature::from_bytes(&b);
        assert!(!check(&big_s, &key_of));
    }

    /// A signer whose public key is `[a]B + T`, T of order 2: not of small
    /// order, so `VerifierKey::parse` pins it. It signs as Ed25519 does with
    /// that public key, so `verify_strict` accepts exactly the signatures
    /// whose `k = H(R‖A‖M)` is even (a fixed answer per signature), while a
    /// batch equation holding them would pass with probability 1/2.
    struct MixedOrder {
        a: Scalar,
        vk: crate::keys::VerifierKey,
    }

    impl crate::keys::Signer for MixedOrder {
        fn verifier_key(&self) -> &crate::keys::VerifierKey {
            &self.vk
        }
        fn sign(&self, msg: &[u8]) -> Result<crate::keys::Signature, crate::keys::KeyError> {
            use sha2::{Digest, Sha512};
            let r = Scalar::from_bytes_mod_order_wide(&Sha512::digest(msg).into());
            let big_r = (curve25519_dalek::constants::ED25519_BASEPOINT_POINT * r).compress();
            let h = Sha512::new()
                .chain_update(big_r.as_bytes())
                .chain_update(self.vk.public_bytes())
                .chain_update(msg)
                .finalize();
            let k = Scalar::from_bytes_mod_order_wide(&h.into());
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(big_r.as_bytes());
            sig[32..].copy_from_slice((r + k * self.a).as_bytes());
            Ok(crate::keys::Signature(sig))
        }
    }

    /// Signatures under a pinned key with a torsion component are never
    /// batched (the key is not torsion-free): each verdict is
    /// `verify_strict`'s, every time, beside batched signatures of a normal
    /// key. (Batching them would make the verdict a coin toss: with the
    /// torsion check removed this test fails.)
    #[test]
    fn a_pinned_key_with_torsion_gets_verify_strict_verdicts() {
        use crate::body::EntryKind;
        use crate::clock::Timestamp;
        use crate::entry::{Header, SigningMode};
        use crate::hash::Hash32;
        use crate::id::{EntryId, Epoch, LogName, Seq, TenantId};
        let a = Scalar::from(0x1234_5678_9abc_u64);
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        let t2 = CompressedEdwardsY(minus_one).decompress().unwrap();
        assert!(!t2.is_identity() && (t2 + t2).is_identity());
        let public = curve25519_dalek::constants::ED25519_BASEPOINT_POINT * a + t2;
        let vk = VerifyingKey::from_bytes(public.compress().as_bytes()).unwrap();
        assert!(!vk.is_weak() && !vk.to_edwards().is_torsion_free());
        let vk = crate::keys::VerifierKey::new("mixed", vk).unwrap();
        // It can be pinned from its text form.
        let text = vk.to_string();
        assert_eq!(crate::keys::VerifierKey::parse(&text).unwrap(), vk);
        let mixed = MixedOrder { a, vk };
        let normal = crate::keys::LocalSigner::from_seed("normal", &[3u8; 32]).unwrap();
        let entries: Vec<crate::entry::Entry> = (0..40u64)
            .map(|i| {
                let header = Header {
                    log: LogName::new("l.example/x").unwrap(),
                    tenant: TenantId::new("acme").unwrap(),
                    epoch: Epoch(0),
                    seq: Seq(i),
                    prev: Hash32::digest(&i.to_le_bytes()),
                    id: EntryId([i as u8; 16]),
                    ts: Timestamp::from_unix_micros(i as i64).unwrap(),
                };
                let signer: &dyn crate::keys::Signer =
                    if i.is_multiple_of(3) { &normal } else { &mixed };
                crate::entry::Entry::seal_jcs(
                    header,
                    EntryKind::PolicyFlag,
                    b"{}",
                    signer,
                    SigningMode::PerEntry,
                )
                .unwrap()
            })
            .collect();
        use crate::keys::Signer as _;
        let keys = KeyRing::from_keys([mixed.vk.clone(), normal.verifier_key().clone()]);
        let strict: Vec<bool> = entries
            .iter()
            .map(|e| {
                keys.by_id(e.key_id())
                    .any(|k| e.verify_signature(k).is_ok())
            })
            .collect();
        let by_mixed = |i: usize| !i.is_multiple_of(3);
        let accepted = (0..entries.len())
            .filter(|&i| by_mixed(i) && strict[i])
            .count();
        let mixed_total = (0..entries.len()).filter(|&i| by_mixed(i)).count();
        assert!(
            accepted > 0 && accepted < mixed_total,
            "{accepted} of {mixed_total}"
        );
        for _ in 0..24 {
            let pres = precheck_many(entries.iter().map(|e| (e, None)), &keys);
            for (i, pre) in pres.iter().enumerate() {
                assert_eq!(pre.sig == SigCheck::Verified, strict[i], "entry {i}");
            }
        }
    }

    /// The one difference SPEC §8 leaves, as it really arises: the holder
    /// of a (torsion-free) pinned key signs with `R = [r]B + T`, T of order
    /// 2, `k = H(R‖A‖M)` over those bytes and `s = r + k·a`. `verify_strict`
    /// refuses it; the batch equation's term for it is `[z]T`, zero when
    /// the weight z is even. The weights are derived from the batch, so
    /// whichever way it goes, it goes the same way on every run (an auditor
    /// re-running the verifier gets the same report), the other entries
    /// keep their verdicts, and whenever the batch fails the entry gets
    /// `verify_strict`'s verdict. Only the key's holder can make such a
    /// signature, and it authenticates nothing they could not have signed
    /// validly.
    #[test]
    fn a_key_holders_torsion_r_gets_the_same_verdict_on_every_run() {
        use crate::body::EntryKind;
        use crate::clock::Timestamp;
        use crate::entry::{Header, SigningMode};
        use crate::hash::Hash32;
        use crate::id::{EntryId, Epoch, LogName, Seq, TenantId};
        use crate::keys::Signer as _;
        use sha2::{Digest, Sha512};
        let seed = [5u8; 32];
        let normal = crate::keys::LocalSigner::from_seed("k", &seed).unwrap();
        let mut a = [0u8; 32];
        a.copy_from_slice(&Sha512::digest(seed)[..32]);
        a[0] &= 248;
        a[31] &= 127;
        a[31] |= 64;
        let a = Scalar::from_bytes_mod_order(a);
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        let t2 = CompressedEdwardsY(minus_one).decompress().unwrap();
        let mut entries: Vec<crate::entry::Entry> = (0..8u64)
            .map(|i| {
                let header = Header {
                    log: LogName::new("l.example/x").unwrap(),
                    tenant: TenantId::new("acme").unwrap(),
                    epoch: Epoch(0),
                    seq: Seq(i),
                    prev: Hash32::digest(&i.to_le_bytes()),
                    id: EntryId([i as u8; 16]),
                    ts: Timestamp::from_unix_micros(i as i64).unwrap(),
                };
                crate::entry::Entry::seal_jcs(
                    header,
                    EntryKind::PolicyFlag,
                    b"{}",
                    &normal,
                    SigningMode::PerEntry,
                )
                .unwrap()
            })
            .collect();
        // Entry 3 re-signed with a torsioned R (the line keeps its hash).
        let target = entries.remove(3);
        let msg = crate::entry::signature_message(target.hash());
        let r = Scalar::from(99u64);
        let big_r = (curve25519_dalek::constants::ED25519_BASEPOINT_POINT * r + t2).compress();
        let h = Sha512::new()
            .chain_update(big_r.as_bytes())
            .chain_update(normal.verifier_key().public_bytes())
            .chain_update(msg)
            .finalize();
        let k = Scalar::from_bytes_mod_order_wide(&h.into());
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(big_r.as_bytes());
        sig[32..].copy_from_slice((r + k * a).as_bytes());
        let text = String::from_utf8(target.line().to_vec()).unwrap();
        let old = target.signature().unwrap().to_base64();
        let new = crate::keys::Signature(sig).to_base64();
        let line = text.replacen(&old, &new, 1);
        let crafted = crate::entry::Entry::from_line(line.as_bytes()).unwrap();
        entries.insert(3, crafted);
        let keys = KeyRing::from_keys([normal.verifier_key().clone()]);
        let strict: Vec<bool> = entries
            .iter()
            .map(|e| {
                keys.by_id(e.key_id())
                    .any(|k| e.verify_signature(k).is_ok())
            })
            .collect();
        assert_eq!(strict.iter().filter(|ok| !**ok).count(), 1);
        let verdicts = |pres: Vec<Precheck>| -> Vec<bool> {
            pres.iter().map(|p| p.sig == SigCheck::Verified).collect()
        };
        let first = verdicts(precheck_many(entries.iter().map(|e| (e, None)), &keys));
        for (i, ok) in first.iter().enumerate() {
            if i != 3 {
                assert_eq!(*ok, strict[i], "entry {i}");
            }
        }
        for run in 0..32 {
            let again = verdicts(precheck_many(entries.iter().map(|e| (e, None)), &keys));
            assert_eq!(again, first, "run {run}");
        }
        // A different batch (one more honest entry) draws other weights;
        // when its equation fails, the crafted entry gets verify_strict's
        // verdict.
        let mut more = entries.clone();
        more.push(more[0].clone());
        let other = verdicts(precheck_many(more.iter().map(|e| (e, None)), &keys));
        assert!(other[..3].iter().all(|ok| *ok) && other[4..].iter().all(|ok| *ok));
    }

    /// Errors that cancel in an unweighted sum (s + d on one signature,
    /// s - d on another, by the same key or by two keys) are caught: each
    /// signature has its own random weight (with one weight for all, this
    /// test fails). R + P and R - P also change each H(R‖A‖M): refused.
    #[test]
    fn cancelling_errors_fail_the_batch() {
        use ed25519_dalek::Signer as _;
        let (sks, keys) = test_keys(2);
        let msgs: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 3]).collect();
        let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        let key_of = [0usize, 0, 1, 1, 0, 1, 0, 1];
        let good: Vec<ed25519_dalek::Signature> = msgs
            .iter()
            .zip(&key_of)
            .map(|(m, &k)| sks[k].sign(m))
            .collect();
        assert!(batch_equation_holds(&refs, &good, &key_of, &keys));
        let d = Scalar::from(7u64);
        let shift_s = |sig: &ed25519_dalek::Signature, by: Scalar| {
            let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(*sig.s_bytes())).unwrap();
            let mut b = sig.to_bytes();
            b[32..].copy_from_slice((s + by).as_bytes());
            ed25519_dalek::Signature::from_bytes(&b)
        };
        let p = curve25519_dalek::constants::ED25519_BASEPOINT_POINT * d;
        let shift_r = |sig: &ed25519_dalek::Signature, by: EdwardsPoint| {
            let r = CompressedEdwardsY(*sig.r_bytes()).decompress().unwrap();
            let mut b = sig.to_bytes();
            b[..32].copy_from_slice((r + by).compress().as_bytes());
            ed25519_dalek::Signature::from_bytes(&b)
        };
        // (first, second): same key (0, 1), two keys (0, 2).
        for (i, j) in [(0usize, 1usize), (0, 2), (3, 7)] {
            let mut bad = good.clone();
            bad[i] = shift_s(&good[i], d);
            bad[j] = shift_s(&good[j], -d);
            for _ in 0..8 {
                assert!(
                    !batch_equation_holds(&refs, &bad, &key_of, &keys),
                    "s {i} {j}"
                );
            }
            let mut bad = good.clone();
            bad[i] = shift_r(&good[i], p);
            bad[j] = shift_r(&good[j], -p);
            for _ in 0..8 {
                assert!(
                    !batch_equation_holds(&refs, &bad, &key_of, &keys),
                    "R {i} {j}"
                );
            }
        }
    }
}
