//! SHA-256 digests as a newtype, with hex/base64 text forms.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// A 32-byte SHA-256 digest (an entry hash, a Merkle node, a commitment …).
///
/// Its text form in every JSON record is 64 lowercase hex digits (SPEC §2.3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash32(pub [u8; 32]);

/// Errors from parsing a [`Hash32`] text form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The text is not 64 lowercase hex digits.
    #[error("a hash must be 64 lowercase hex digits")]
    BadHex,
    /// The bytes are not exactly 32 long.
    #[error("a hash must be exactly 32 bytes, got {0}")]
    BadLength(usize),
}

impl Hash32 {
    /// The all-zero value.
    pub const ZERO: Hash32 = Hash32([0u8; 32]);

    /// SHA-256 of `data`.
    pub fn digest(data: &[u8]) -> Hash32 {
        Hash32(Sha256::digest(data).into())
    }

    /// SHA-256 of the concatenation of `parts`, without allocating.
    pub fn digest_parts(parts: &[&[u8]]) -> Hash32 {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        Hash32(h.finalize().into())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex text (64 characters).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses exactly 64 **lowercase** hex digits (uppercase is refused so
    /// that one value has one text form).
    ///
    /// # Errors
    /// [`HashError::BadHex`] for anything else.
    pub fn from_hex(s: &str) -> Result<Hash32, HashError> {
        if s.len() != 64
            || !s
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(HashError::BadHex);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| HashError::BadHex)?;
        Ok(Hash32(out))
    }

    /// From a byte slice that must be exactly 32 bytes long.
    ///
    /// # Errors
    /// [`HashError::BadLength`] otherwise.
    pub fn from_slice(b: &[u8]) -> Result<Hash32, HashError> {
        <[u8; 32]>::try_from(b)
            .map(Hash32)
            .map_err(|_| HashError::BadLength(b.len()))
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", self.to_hex())
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 64];
        // hex::encode_to_slice cannot fail with a 64-byte buffer for 32 bytes.
        let _ = hex::encode_to_slice(self.0, &mut buf);
        s.serialize_str(std::str::from_utf8(&buf).unwrap_or_default())
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Hash32::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Hash32 {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Hash32".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "SHA-256 digest, 64 lowercase hex digits"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_digest_is_sha256_of_nothing() {
        assert_eq!(
            Hash32::digest(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Hash32::digest_parts(&[b"a", b"bc"]), Hash32::digest(b"abc"));
    }

    #[test]
    fn hex_is_strict() {
        let h = Hash32::digest(b"x");
        assert_eq!(Hash32::from_hex(&h.to_hex()), Ok(h));
        assert_eq!(
            Hash32::from_hex(&h.to_hex().to_uppercase()),
            Err(HashError::BadHex)
        );
        assert_eq!(Hash32::from_hex("00"), Err(HashError::BadHex));
        assert_eq!(
            Hash32::from_slice(&[0u8; 31]),
            Err(HashError::BadLength(31))
        );
    }
}
