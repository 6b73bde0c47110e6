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
        decode_lower_hex(s.as_bytes())
            .map(Hash32)
            .ok_or(HashError::BadHex)
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
        deserialize_text(d, Hash32::from_hex)
    }
}

/// The value of each lowercase hex digit; 0xff for every other byte.
const HEX_VALUE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Exactly `2 * N` lowercase hex digits as bytes, in one pass: eight
/// digits at a time ([`decode_hex_word`]), the rest through [`HEX_VALUE`].
pub(crate) fn decode_lower_hex<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    // Eight digits make four bytes: as many words as output quads.
    let mut words = s.chunks_exact(8);
    let mut quads = out.chunks_exact_mut(4);
    // Checked once at the end: a word that is not eight digits has a
    // nonzero flag word, and what it decoded to is never returned.
    let mut bad_words = 0u64;
    for (o, word) in (&mut quads).zip(&mut words) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let (quad, bad) = decode_hex_word(u64::from_le_bytes(w));
        bad_words |= bad;
        o.copy_from_slice(&quad);
    }
    // Any byte that is not a digit has a value with high bits set.
    let mut bad = 0u8;
    for (o, pair) in quads
        .into_remainder()
        .iter_mut()
        .zip(words.remainder().chunks_exact(2))
    {
        let (hi, lo) = match pair {
            [h, l] => (HEX_VALUE[usize::from(*h)], HEX_VALUE[usize::from(*l)]),
            _ => return None,
        };
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 0x0f);
    }
    (bad_words == 0 && bad & 0xf0 == 0).then_some(out)
}

/// Eight lowercase hex digits, read little-endian into `w` (the first digit
/// in the low byte), as the four bytes they spell, and a flag word that is
/// zero exactly when every byte is one of `0-9a-f` (the bytes are
/// meaningless otherwise).
fn decode_hex_word(w: u64) -> ([u8; 4], u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // With every byte below 0x80, adding `0x80 - lo` to each sets its bit 7
    // exactly when the byte is at least `lo`, and never carries into the
    // next byte. (A byte of 0x80 or more is flagged on its own.)
    let at_least = |lo: u8| w.wrapping_add(ONES * u64::from(0x80 - lo)) & HIGH;
    let digit = at_least(b'0') & !at_least(b'9' + 1);
    let letter = at_least(b'a') & !at_least(b'f' + 1);
    let bad = (w & HIGH) | ((digit | letter) ^ HIGH);
    // Each byte's value: its low nibble, plus 9 for a letter (`a` is 0x61).
    let nibbles = (w & (ONES * 0x0f)) + (letter >> 7) * 9;
    // Byte 2k becomes digit 2k << 4 | digit 2k+1; the odd bytes are dropped.
    let pairs = ((nibbles << 4) | (nibbles >> 8)) & 0x00ff_00ff_00ff_00ff;
    let quad = (pairs | (pairs >> 8)) & 0x0000_ffff_0000_ffff;
    let quad = (quad | (quad >> 16)) & 0xffff_ffff;
    ((quad as u32).to_le_bytes(), bad)
}

/// Deserializes a string and parses it with `parse`, borrowing the text
/// from the input when it can (no allocation): the same answers, and the
/// same error messages, as deserializing a `String` first.
pub(crate) fn deserialize_text<'de, D, T, E>(
    d: D,
    parse: fn(&str) -> Result<T, E>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: fmt::Display,
{
    struct Text<T, E>(fn(&str) -> Result<T, E>);
    impl<T, E: fmt::Display> serde::de::Visitor<'_> for Text<T, E> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            // As serde's `String` visitor says it.
            f.write_str("a string")
        }
        fn visit_str<X: serde::de::Error>(self, v: &str) -> Result<T, X> {
            (self.0)(v).map_err(X::custom)
        }
        fn visit_bytes<X: serde::de::Error>(self, v: &[u8]) -> Result<T, X> {
            match std::str::from_utf8(v) {
                Ok(s) => self.visit_str(s),
                Err(_) => Err(X::invalid_value(serde::de::Unexpected::Bytes(v), &self)),
            }
        }
    }
    d.deserialize_string(Text(parse))
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

    /// Borrowing deserializers answer, and fail, exactly as going through
    /// `String` did (the messages end up in verification reports).
    #[test]
    fn text_deserializers_keep_string_semantics_and_messages() {
        let h = Hash32::digest(b"x");
        let q = format!("\"{h}\"");
        assert_eq!(serde_json::from_str::<Hash32>(&q).unwrap(), h);
        assert_eq!(
            serde_json::from_value::<Hash32>(serde_json::json!(h.to_hex())).unwrap(),
            h
        );
        for bad in ["1", "null", "[]", "{}", "\"ab\"", "\"\\u0041\""] {
            let v: serde_json::Value = serde_json::from_str(bad).unwrap();
            let want_str = serde_json::from_str::<String>(bad)
                .err()
                .map(|e| e.to_string());
            let want_val = serde_json::from_value::<String>(v.clone())
                .err()
                .map(|e| e.to_string());
            let got_str = serde_json::from_str::<Hash32>(bad).unwrap_err().to_string();
            let got_val = serde_json::from_value::<Hash32>(v.clone())
                .unwrap_err()
                .to_string();
            if let (Some(a), Some(b)) = (want_str, want_val) {
                assert_eq!(got_str, a, "{bad}");
                assert_eq!(got_val, b, "{bad}");
            } else {
                assert_eq!(got_val, "a hash must be 64 lowercase hex digits", "{bad}");
            }
            assert!(serde_json::from_value::<crate::id::EntryId>(v.clone()).is_err());
            assert!(serde_json::from_value::<crate::keys::KeyId>(v.clone()).is_err());
            assert!(serde_json::from_value::<crate::clock::Timestamp>(v).is_err());
        }
        assert_eq!(decode_lower_hex::<2>(b"0aff"), Some([0x0a, 0xff]));
        for bad in [&b"0aFF"[..], b"0af", b"0afff", b"0ag0", b"+0af"] {
            assert_eq!(decode_lower_hex::<2>(bad), None);
        }
    }

    /// The table decoder from before [`decode_hex_word`], kept as the oracle.
    fn decode_lower_hex_oracle<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
        if s.len() != 2 * N {
            return None;
        }
        let mut out = [0u8; N];
        let mut bad = 0u8;
        for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
            let (hi, lo) = match pair {
                [h, l] => (HEX_VALUE[usize::from(*h)], HEX_VALUE[usize::from(*l)]),
                _ => return None,
            };
            bad |= hi | lo;
            *o = (hi << 4) | (lo & 0x0f);
        }
        (bad & 0xf0 == 0).then_some(out)
    }

    /// The new and the old decoder agree on `s` for every output size the
    /// crate uses (32, 16) and some that exercise the remainder path.
    fn hex_agrees(s: &[u8]) {
        fn one<const N: usize>(s: &[u8]) {
            assert_eq!(
                decode_lower_hex::<N>(s),
                decode_lower_hex_oracle::<N>(s),
                "N={N} {:?}",
                String::from_utf8_lossy(s)
            );
        }
        one::<32>(s);
        one::<16>(s);
        one::<4>(s);
        one::<5>(s);
        one::<3>(s);
        one::<1>(s);
        one::<0>(s);
    }

    #[test]
    fn hex_word_decoder_agrees_on_every_byte_at_every_position() {
        let valid = b"0123456789abcdeffedcba98765432100a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d";
        hex_agrees(valid);
        for len in [2usize, 6, 8, 10, 32, 64] {
            let base = &valid[..len];
            hex_agrees(base);
            for at in 0..len {
                for b in 0u8..=255 {
                    let mut m = base.to_vec();
                    m[at] = b;
                    hex_agrees(&m);
                }
            }
        }
        // Every byte in all eight slots of a word at once.
        for b in 0u8..=255 {
            hex_agrees(&[b; 8]);
            hex_agrees(&[b; 64]);
        }
        let h = Hash32::digest(b"x");
        assert_eq!(
            decode_lower_hex::<32>(h.to_hex().as_bytes()),
            Some(h.0),
            "round trip"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]
        #[test]
        fn hex_word_decoder_agrees_on_generated_text(
            s in proptest::collection::vec(proptest::sample::select(
                b"0123456789abcdefABCDEFgG/:`@\x00\x7f\x80\xb0\xe1\xff0123456789abcdef".to_vec()
            ), 0..70),
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..70),
        ) {
            hex_agrees(&s);
            hex_agrees(&raw);
        }
    }

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
