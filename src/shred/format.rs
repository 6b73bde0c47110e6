//! The record types of crypto-shredding that appear in the log (SPEC §4.4,
//! §4.5): sealed fields inside a decision receipt, and the `shred`
//! tombstone body. These are plain data, understood by every verifier
//! (including one built without default features); the cryptography that
//! produces and opens them is in [`super::cipher`].

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::clock::Timestamp;
use crate::id::{Code, ExternalId};

/// Defines a fixed-size byte newtype written as lowercase hex.
macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $len:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Lowercase hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
            /// Parses exactly the lowercase hex form.
            ///
            /// # Errors
            /// [`crate::IdError::BadChar`] for any other text.
            pub fn from_hex(s: &str) -> Result<Self, crate::id::IdError> {
                let ok = s.len() == 2 * $len
                    && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                let mut out = [0u8; $len];
                if !ok || hex::decode_to_slice(s, &mut out).is_err() {
                    return Err(crate::id::IdError::BadChar($what));
                }
                Ok($name(out))
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::from_hex(&s).map_err(serde::de::Error::custom)
            }
        }
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "pattern": format!("^[0-9a-f]{{{}}}$", 2 * $len),
                    "description": $what
                })
            }
        }
    };
}

hex_id!(
    /// The pseudonymous id of a data subject within a tenant:
    /// `HMAC-SHA256(tenant commitment key, SUBJECT_LABEL || subject id)[0..16]`
    /// (SPEC §4.4). The subject id itself (a customer number …) is never
    /// stored; only a holder of the tenant's commitment key can link the two.
    SubjectRef,
    16,
    "subject ref"
);

hex_id!(
    /// The id of a data key (or of a commitment key inside the key store):
    /// `SHA-256(DATA_KEY_ID_LABEL || key)[0..16]` (SPEC §4.4).
    DataKeyId,
    16,
    "data key id"
);

hex_id!(
    /// The id of a key-encryption key: `SHA-256(KEK_ID_LABEL || kek)[0..8]`
    /// for a local KEK (SPEC §4.6); a KMS-backed provider chooses its own.
    KekId,
    8,
    "kek id"
);

hex_id!(
    /// A 96-bit AES-GCM nonce, written as 24 lowercase hex digits.
    Nonce,
    12,
    "nonce"
);

/// AES-256-GCM ciphertext with its 16-byte tag appended, written as
/// canonical standard base64 with padding.
#[derive(Clone, PartialEq, Eq)]
pub struct Ciphertext(Vec<u8>);

/// Length of the AES-GCM authentication tag.
pub const TAG_LEN: usize = 16;

impl Ciphertext {
    /// Wraps ciphertext-and-tag bytes.
    ///
    /// # Errors
    /// A description when shorter than the 16-byte tag.
    pub fn new(bytes: Vec<u8>) -> Result<Ciphertext, String> {
        if bytes.len() < TAG_LEN {
            return Err("sealed ciphertext is shorter than its 16-byte tag".into());
        }
        Ok(Ciphertext(bytes))
    }
    /// The bytes (ciphertext, then tag).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// Standard base64 with padding.
    pub fn to_base64(&self) -> String {
        B64.encode(&self.0)
    }
    /// Parses canonical standard base64 (decoding and re-encoding gives the
    /// same text) of at least 16 bytes.
    ///
    /// # Errors
    /// A description of the defect.
    pub fn from_base64(s: &str) -> Result<Ciphertext, String> {
        let v = B64
            .decode(s)
            .map_err(|_| "sealed ciphertext is not standard base64".to_owned())?;
        if B64.encode(&v) != s {
            return Err("sealed ciphertext is not canonical base64".into());
        }
        Ciphertext::new(v)
    }
}

impl fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ciphertext({} bytes)", self.0.len())
    }
}
impl Serialize for Ciphertext {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}
impl<'de> Deserialize<'de> for Ciphertext {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ciphertext::from_base64(&s).map_err(serde::de::Error::custom)
    }
}
impl schemars::JsonSchema for Ciphertext {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Ciphertext".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "minLength": 24,
            "pattern": "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
            "description": "AES-256-GCM ciphertext || 16-byte tag, canonical standard base64 with padding"
        })
    }
}

/// One field kept encrypted inside a decision receipt (SPEC §4.4): raw
/// input, raw output or any field the application names. The entry hash
/// covers these bytes — the ciphertext — never the plaintext.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedField {
    /// AES-256-GCM ciphertext and tag.
    pub ct: Ciphertext,
    /// Field name, e.g. `raw_input`; unique within the receipt.
    pub field: Code,
    /// Id of the data key (tenant's or subject's) that sealed it.
    pub key: DataKeyId,
    /// The random 96-bit nonce.
    pub nonce: Nonce,
    /// The data subject, when sealed under a subject key; absent when
    /// sealed under the tenant key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<SubjectRef>,
}

/// Rules a schema cannot express for a receipt's `sealed` list: sorted by
/// `field`, each field once (SPEC §4.4).
///
/// # Errors
/// A description of the rule broken.
pub fn check_sealed_rules(sealed: &[SealedField]) -> Result<(), String> {
    if sealed.windows(2).any(|w| w[0].field >= w[1].field) {
        return Err("sealed is sorted by field, each field once".into());
    }
    Ok(())
}

/// Whose keys a shred destroyed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ShredScope {
    /// The tenant: its commitment key, its data key and every subject key.
    Tenant,
    /// One data subject's data key.
    Subject,
}

/// Body of a `shred` entry: the tombstone appended after keys were
/// destroyed (SPEC §4.5). It names what was destroyed, when, by whom and
/// why — never personal data.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Shred {
    /// Pseudonymous id of the operator or system that shredded.
    pub actor: ExternalId,
    /// When the key material was destroyed (before this entry was appended).
    pub destroyed: Timestamp,
    /// Id of the destroyed data key of the scope, when one existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<DataKeyId>,
    /// Reason code, e.g. `gdpr_art17`, `tenant_offboarding`.
    pub reason: Code,
    /// Tenant or subject.
    pub scope: ShredScope,
    /// The subject, iff `scope` is `subject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<SubjectRef>,
}

impl Shred {
    /// Rules a schema cannot express: `subject` is present iff `scope` is
    /// `subject` (SPEC §4.5).
    ///
    /// # Errors
    /// A description of the rule broken.
    pub fn check_rules(&self) -> Result<(), String> {
        match (self.scope, self.subject.is_some()) {
            (ShredScope::Tenant, false) | (ShredScope::Subject, true) => Ok(()),
            (ShredScope::Tenant, true) => Err("a tenant shred names no subject".into()),
            (ShredScope::Subject, false) => Err("a subject shred names its subject".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_ids_accept_only_lowercase_hex_of_their_length() {
        let r = SubjectRef([0xab; 16]);
        assert_eq!(SubjectRef::from_hex(&r.to_hex()).unwrap(), r);
        for bad in [
            "",
            "AB",
            &"ab".repeat(15),
            &"AB".repeat(16),
            &"zz".repeat(16),
        ] {
            assert!(SubjectRef::from_hex(bad).is_err(), "{bad}");
        }
        assert!(Nonce::from_hex(&"00".repeat(12)).is_ok());
        assert!(Nonce::from_hex(&"00".repeat(13)).is_err());
    }

    #[test]
    fn ciphertext_is_canonical_base64_of_at_least_a_tag() {
        let c = Ciphertext::new(vec![1; 17]).unwrap();
        assert_eq!(Ciphertext::from_base64(&c.to_base64()).unwrap(), c);
        assert!(Ciphertext::new(vec![1; 15]).is_err());
        assert!(Ciphertext::from_base64("AQEBAQEBAQEBAQEBAQEBAQE").is_err()); // no padding
        assert!(Ciphertext::from_base64("AQEBAQEBAQEBAQEBAQEBAQF=").is_err()); // non-canonical bits
        assert!(Ciphertext::from_base64("****").is_err());
    }

    #[test]
    fn shred_subject_iff_subject_scope() {
        let mut s = Shred {
            actor: ExternalId::new("ops").unwrap(),
            destroyed: Timestamp::from_unix_micros(0).unwrap(),
            key: None,
            reason: Code::new("gdpr_art17").unwrap(),
            scope: ShredScope::Tenant,
            subject: None,
        };
        assert!(s.check_rules().is_ok());
        s.subject = Some(SubjectRef([1; 16]));
        assert!(s.check_rules().is_err());
        s.scope = ShredScope::Subject;
        assert!(s.check_rules().is_ok());
        s.subject = None;
        assert!(s.check_rules().is_err());
    }
}
