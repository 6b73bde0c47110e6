//! Crypto-shredding: erasure that keeps verification intact (SPEC §4.4–4.6,
//! SECURITY.md "Key custody and shredding").
//!
//! ```text
//! KEK (KeyProvider: file, environment, KMS …)
//!  ├── wraps tenant keys:  commitment key K_t (HMAC, SPEC §4.2) + tenant data key
//!  └── wraps subject keys: one data key per data subject of a tenant
//! data key ──HMAC(binding)──► one-time field key ──AES-256-GCM──► sealed field
//! ```
//!
//! A [`KeyStore`] creates keys on first use, keeps them wrapped in a
//! [`KeyVault`] (memory, SQLite, Redis), seals fields for the collector and
//! opens them for authorised readers. [`KeyStore::destroy_tenant_key`] and
//! [`KeyStore::destroy_subject_key`] delete the keys irreversibly and append a
//! signed `shred` tombstone ([`Shred`]). Entry hashes cover ciphertexts and
//! commitments only, so every hash, link, proof, checkpoint and package of
//! the tenant still verifies afterwards; the sealed fields can no longer be
//! opened ("shredded at seq N") and, for a tenant, the commitments can no
//! longer be confirmed by anyone.
//!
//! The record types ([`SealedField`], [`Shred`]) and [`cipher`]'s seal/open
//! are available without default features: a verifier decodes them.

pub mod cipher;
mod format;
mod kek;
mod keystore;
mod nonce;
mod vault;

pub use cipher::{DataKey, MAX_SUBJECT_ID_BYTES};
pub use format::{
    check_sealed_rules, Ciphertext, DataKeyId, KekId, Nonce, SealedField, Shred, ShredScope,
    SubjectRef, TAG_LEN,
};
pub use kek::{KeyProvider, LocalKek, KEK_ENV, WRAPPED_KEY_LEN};
pub use keystore::{KeyStore, KeyStoreBuilder};
pub use vault::{KeySlot, KeyVault, MemoryVault, RewrapFn, SlotState};

use crate::encoding::EncodingError;
use crate::id::{Code, Seq};
use crate::log::LogError;

/// Errors of sealing, opening and shredding. Messages name the field, slot
/// or check — never a key, a plaintext or a subject id.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShredError {
    /// The keys of the slot were destroyed: the field can never be opened.
    #[error("keys of {slot} were shredded{}", match .seq { Some(s) => format!(" at seq {s}"), None => " (tombstone not yet recorded)".into() })]
    Shredded {
        /// The destroyed slot (the tenant's, when a whole tenant was shredded).
        slot: KeySlot,
        /// Seq of the `shred` tombstone in the tenant's chain.
        seq: Option<Seq>,
    },
    /// No key was ever created for the slot (nothing was sealed under it here).
    #[error("no key exists for {0}")]
    NoKey(KeySlot),
    /// The field names a data key that is not the one this key store holds
    /// for its slot (another key store, or another deployment's keys).
    #[error("sealed field {field} was sealed under another data key")]
    WrongKey {
        /// The field.
        field: Code,
    },
    /// Authentication failed: ciphertext, nonce or binding (field, subject,
    /// entry, tenant) was changed, or the field was moved from elsewhere.
    #[error("sealed field {field} failed authentication (tampered, or moved from another field, entry, subject or tenant)")]
    Tampered {
        /// The field.
        field: Code,
    },
    /// The entry has no sealed field of that name.
    #[error("entry has no sealed field {0:?}")]
    NoSuchField(String),
    /// A subject id is empty or longer than [`MAX_SUBJECT_ID_BYTES`].
    #[error("subject id must be 1 to 256 bytes")]
    InvalidSubject,
    /// A plaintext is beyond AES-GCM's per-message limit.
    #[error("plaintext too large to seal")]
    TooLarge,
    /// The key-encryption key is unavailable or refused a wrapped key.
    #[error("key-encryption key: {0}")]
    Kek(String),
    /// A stored key was wrapped under another KEK than the provider's.
    #[error("stored keys are wrapped under KEK {stored}, the provider has KEK {provider}")]
    KekMismatch {
        /// KEK id in the stored record.
        stored: KekId,
        /// KEK id of the provider.
        provider: KekId,
    },
    /// A stored key record is malformed.
    #[error("stored key record of {slot} is invalid: {reason}")]
    Record {
        /// The slot.
        slot: KeySlot,
        /// What is wrong (never key bytes).
        reason: String,
    },
    /// The vault's backend failed.
    #[error("key vault failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Appending the tombstone failed (the keys are destroyed already; run
    /// the destroy again to append it).
    #[error(transparent)]
    Log(#[from] LogError),
    /// A body could not be read.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
}
