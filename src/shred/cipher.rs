//! Sealing and opening one field (SPEC §4.4), and the key ids and subject
//! refs it names.
//!
//! Nonce scheme. Every field is encrypted under its own one-time AES-256
//! key, `HMAC-SHA256(data key, FIELD_KEY_LABEL || binding)`, where the
//! binding names tenant, subject, entry id, field name and data key id; the
//! 96-bit nonce is random as well. An entry id is 16 random bytes and a
//! field name is unique within an entry, so one AES key encrypts one
//! message: the 2^32-messages-per-key limit of random GCM nonces never
//! comes into play, no usage counter has to be kept consistent across
//! processes, and no data-key rotation is needed for nonce safety.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::Tag;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::format::{Ciphertext, DataKeyId, Nonce, SealedField, SubjectRef, TAG_LEN};
use super::ShredError;
use crate::commitment::CommitmentKey;
use crate::encoding::{
    write_sealed_field_binding, DATA_KEY_ID_LABEL, FIELD_KEY_LABEL, SEALED_FIELD_LABEL,
    SUBJECT_LABEL,
};
use crate::hash::Hash32;
use crate::id::{Code, EntryId, TenantId};

/// AES-256-GCM with an encryption-only key schedule (GCM never runs the
/// block cipher backwards): half the round keys to expand and to wipe.
pub(crate) type Aes256Gcm = aes_gcm::AesGcm<aes::Aes256Enc, aes_gcm::aead::consts::U12>;

/// Longest subject id accepted, in bytes.
pub const MAX_SUBJECT_ID_BYTES: usize = 256;

/// A 256-bit AES data key of a tenant or a subject. Never printed; wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey {
    /// The key bytes with their HMAC-SHA256 key-block states precomputed
    /// (the crate's one HMAC engine, which lives in the commitment key
    /// type): each field-key derivation costs two SHA-256 compressions
    /// fewer. Wiped with the key.
    hmac: CommitmentKey,
    #[zeroize(skip)]
    id: DataKeyId,
}

impl DataKey {
    /// Wraps raw key bytes, computing the key id.
    pub fn from_bytes(bytes: [u8; 32]) -> DataKey {
        DataKey {
            id: key_id(&bytes),
            hmac: CommitmentKey::from_bytes(bytes),
        }
    }
    /// A fresh random key.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> DataKey {
        let mut b = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(b.as_mut());
        DataKey::from_bytes(*b)
    }
    /// The key id, `SHA-256(DATA_KEY_ID_LABEL || key)[0..16]`.
    pub fn id(&self) -> DataKeyId {
        self.id
    }
    /// The raw key bytes, for wrapping. Handle with care.
    pub fn expose_secret(&self) -> &[u8; 32] {
        self.hmac.expose_secret()
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey({}, <redacted>)", self.id)
    }
}

/// `SHA-256(DATA_KEY_ID_LABEL || key)[0..16]`: the id of a data key or of a
/// commitment key in the key store.
pub fn key_id(key: &[u8; 32]) -> DataKeyId {
    let h = Hash32::digest_parts(&[DATA_KEY_ID_LABEL, key]);
    let mut id = [0u8; 16];
    id.copy_from_slice(&h.0[..16]);
    DataKeyId(id)
}

/// The pseudonymous ref of `subject` (an application's customer number,
/// user id …) within the tenant whose commitment key is `key`:
/// `HMAC-SHA256(K_t, SUBJECT_LABEL || subject)[0..16]` (SPEC §4.4).
///
/// # Errors
/// [`ShredError::InvalidSubject`] for an empty or over-long subject id.
pub fn subject_ref(key: &CommitmentKey, subject: &str) -> Result<SubjectRef, ShredError> {
    if subject.is_empty() || subject.len() > MAX_SUBJECT_ID_BYTES {
        return Err(ShredError::InvalidSubject);
    }
    let h = key.mac(SUBJECT_LABEL, subject.as_bytes());
    let mut r = [0u8; 16];
    r.copy_from_slice(&h.0[..16]);
    Ok(SubjectRef(r))
}

/// `SEALED_FIELD_LABEL || binding` (the AES-GCM associated data); the
/// binding alone is `aad[SEALED_FIELD_LABEL.len()..]`.
fn associated_data(
    tenant: &TenantId,
    subject: Option<&SubjectRef>,
    entry: &EntryId,
    field: &Code,
    key: &DataKeyId,
) -> Vec<u8> {
    let (tenant, field) = (tenant.as_str(), field.as_str());
    // The label, the binding's fixed text and ids (159 bytes with a
    // subject), then tenant and field: one allocation.
    let mut a = Vec::with_capacity(SEALED_FIELD_LABEL.len() + 160 + tenant.len() + field.len());
    a.extend_from_slice(SEALED_FIELD_LABEL);
    write_sealed_field_binding(
        &mut a,
        tenant,
        subject.map(|s| &s.0),
        &entry.0,
        field,
        &key.0,
    );
    a
}

/// The one-time AES-256-GCM cipher of a field:
/// `HMAC-SHA256(data key, FIELD_KEY_LABEL || binding)` as its key.
fn field_cipher(key: &DataKey, binding: &[u8]) -> Aes256Gcm {
    Aes256Gcm::new((&*field_key(key, binding)).into())
}

fn field_key(key: &DataKey, binding: &[u8]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(key.hmac.mac_parts(&[FIELD_KEY_LABEL, binding]).0)
}

/// Seals `plaintext` as field `field` of entry `entry` of `tenant`, under
/// `key` (the subject's key when `subject` is given, else the tenant's),
/// with `nonce` (96 random bits).
///
/// # Errors
/// [`ShredError::TooLarge`] beyond AES-GCM's per-message limit.
pub fn seal(
    key: &DataKey,
    tenant: &TenantId,
    subject: Option<&SubjectRef>,
    entry: EntryId,
    field: &Code,
    nonce: Nonce,
    plaintext: &[u8],
) -> Result<SealedField, ShredError> {
    let aad = associated_data(tenant, subject, &entry, field, &key.id);
    let cipher = field_cipher(key, &aad[SEALED_FIELD_LABEL.len()..]);
    let mut buf = Vec::with_capacity(plaintext.len() + TAG_LEN);
    buf.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_inout_detached((&nonce.0).into(), &aad, buf.as_mut_slice().into())
        .map_err(|_| ShredError::TooLarge)?;
    buf.extend_from_slice(&tag);
    Ok(SealedField {
        ct: Ciphertext::new(buf).map_err(|_| ShredError::TooLarge)?,
        field: field.clone(),
        key: key.id,
        nonce,
        subject: subject.copied(),
    })
}

/// Opens a sealed field of entry `entry` of `tenant` with `key`.
///
/// # Errors
/// [`ShredError::WrongKey`] when `key` is not the key the field names;
/// [`ShredError::Tampered`] when authentication fails (ciphertext, nonce,
/// field name, subject, entry or tenant changed).
pub fn open(
    key: &DataKey,
    tenant: &TenantId,
    entry: EntryId,
    sealed: &SealedField,
) -> Result<Zeroizing<Vec<u8>>, ShredError> {
    if key.id != sealed.key {
        return Err(ShredError::WrongKey {
            field: sealed.field.clone(),
        });
    }
    let aad = associated_data(
        tenant,
        sealed.subject.as_ref(),
        &entry,
        &sealed.field,
        &sealed.key,
    );
    let cipher = field_cipher(key, &aad[SEALED_FIELD_LABEL.len()..]);
    let Some((ct, tag)) = sealed.ct.as_bytes().split_last_chunk::<TAG_LEN>() else {
        return Err(ShredError::Tampered {
            field: sealed.field.clone(),
        });
    };
    let mut buf = Zeroizing::new(ct.to_vec());
    cipher
        .decrypt_inout_detached(
            (&sealed.nonce.0).into(),
            &aad,
            buf.as_mut_slice().into(),
            &Tag::from(*tag),
        )
        .map_err(|_| ShredError::Tampered {
            field: sealed.field.clone(),
        })?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantId {
        TenantId::new(s).unwrap()
    }

    #[test]
    fn seal_open_round_trip_and_every_binding_matters() {
        let k = DataKey::from_bytes([9; 32]);
        let f = Code::new("raw_input").unwrap();
        let e = EntryId([1; 16]);
        let s = seal(&k, &t("acme"), None, e, &f, Nonce([2; 12]), b"hello").unwrap();
        assert_eq!(&*open(&k, &t("acme"), e, &s).unwrap(), b"hello");
        assert_eq!(s.ct.as_bytes().len(), 5 + TAG_LEN);
        // Another tenant or entry: authentication fails.
        assert!(matches!(
            open(&k, &t("beta"), e, &s),
            Err(ShredError::Tampered { .. })
        ));
        assert!(matches!(
            open(&k, &t("acme"), EntryId([3; 16]), &s),
            Err(ShredError::Tampered { .. })
        ));
        let mut other = s.clone();
        other.field = Code::new("raw_output").unwrap();
        assert!(open(&k, &t("acme"), e, &other).is_err());
        let mut other = s.clone();
        other.subject = Some(SubjectRef([4; 16]));
        assert!(open(&k, &t("acme"), e, &other).is_err());
        let mut other = s.clone();
        other.nonce = Nonce([5; 12]);
        assert!(open(&k, &t("acme"), e, &other).is_err());
        let wrong = DataKey::from_bytes([8; 32]);
        assert!(matches!(
            open(&wrong, &t("acme"), e, &s),
            Err(ShredError::WrongKey { .. })
        ));
        assert_eq!(format!("{k:?}"), format!("DataKey({}, <redacted>)", k.id()));
    }

    proptest::proptest! {
        #[test]
        fn open_inverts_seal_and_every_flipped_bit_fails(
            pt in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            entry in proptest::array::uniform16(proptest::num::u8::ANY),
            nonce in proptest::array::uniform12(proptest::num::u8::ANY),
            subject in proptest::option::of(proptest::array::uniform16(proptest::num::u8::ANY)),
            bit in 0usize..(316 * 8),
        ) {
            let k = DataKey::from_bytes([3; 32]);
            let f = Code::new("raw_output").unwrap();
            let subject = subject.map(SubjectRef);
            let s = seal(&k, &t("acme"), subject.as_ref(), EntryId(entry), &f, Nonce(nonce), &pt).unwrap();
            proptest::prop_assert_eq!(&*open(&k, &t("acme"), EntryId(entry), &s).unwrap(), &pt[..]);
            let mut bytes = s.ct.as_bytes().to_vec();
            let i = bit % (bytes.len() * 8);
            bytes[i / 8] ^= 1 << (i % 8);
            let mut flipped = s.clone();
            flipped.ct = Ciphertext::new(bytes).unwrap();
            let tampered = matches!(open(&k, &t("acme"), EntryId(entry), &flipped), Err(ShredError::Tampered { .. }));
            proptest::prop_assert!(tampered);
        }
    }

    #[test]
    fn field_key_is_hmac_sha256_of_label_and_binding() {
        use hmac::{Hmac, Mac};
        let k = DataKey::from_bytes([0x42; 32]);
        let binding = crate::encoding::sealed_field_binding(
            "acme",
            Some(&"c6".repeat(16)),
            &"e1".repeat(16),
            "raw_input",
            &k.id().to_hex(),
        );
        let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&[0x42; 32]).unwrap();
        m.update(FIELD_KEY_LABEL);
        m.update(&binding);
        assert_eq!(field_key(&k, &binding)[..], m.finalize().into_bytes()[..]);
        assert_eq!(k.expose_secret(), &[0x42; 32]);
        // The aad the seal uses is the label and this same binding.
        let aad = associated_data(
            &t("acme"),
            Some(&SubjectRef([0xc6; 16])),
            &EntryId([0xe1; 16]),
            &Code::new("raw_input").unwrap(),
            &k.id(),
        );
        assert_eq!(aad[..SEALED_FIELD_LABEL.len()], *SEALED_FIELD_LABEL);
        assert_eq!(aad[SEALED_FIELD_LABEL.len()..], binding[..]);
    }

    #[test]
    fn subject_refs_are_keyed_and_checked() {
        let a = CommitmentKey::from_bytes([1; 32]);
        let b = CommitmentKey::from_bytes([2; 32]);
        assert_ne!(
            subject_ref(&a, "c-1").unwrap(),
            subject_ref(&b, "c-1").unwrap()
        );
        assert_ne!(
            subject_ref(&a, "c-1").unwrap(),
            subject_ref(&a, "c-2").unwrap()
        );
        assert!(subject_ref(&a, "").is_err());
        assert!(subject_ref(&a, &"x".repeat(257)).is_err());
    }
}
