//! Ed25519 keys in the C2SP signed-note form (SPEC §5).
//!
//! * key id = `SHA-256(name || 0x0A || 0x01 || public_key)[0..4]`
//! * verifier key = `name+<8 hex key id>+base64(0x01 || public_key)`
//! * key file = `PRIVATE+KEY+name+<8 hex key id>+base64(0x01 || seed)`, the
//!   format of Go's `golang.org/x/mod/sumdb/note`, so the same key signs
//!   entries and checkpoints and interoperates with existing tooling.
//!
//! Verification always uses `verify_strict` (no small-order keys, no
//! malleable signatures). Secret keys never print and are wiped on drop.

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::hazmat::ExpandedSecretKey;
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::{CryptoRng, OsRng, RngCore};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::hash::Hash32;

/// The C2SP signature-type byte for Ed25519.
pub const ED25519_ALG: u8 = 0x01;
/// Prefix of a secret key string.
pub const SECRET_KEY_PREFIX: &str = "PRIVATE+KEY+";
/// Environment variable from which [`LocalSigner::from_env`] reads a key string.
pub const SIGNING_KEY_ENV: &str = "AI_AUDIT_SIGNING_KEY";

/// Errors of key handling. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key name is empty, contains `+` or whitespace.
    #[error("key name must be non-empty and contain neither '+' nor whitespace")]
    BadName,
    /// A verifier-key or secret-key string is malformed.
    #[error("malformed {0} string")]
    Malformed(&'static str),
    /// The key id in a key string does not match the key.
    #[error("key id does not match the key")]
    KeyIdMismatch,
    /// The public key bytes are not a valid Ed25519 point.
    #[error("invalid Ed25519 public key")]
    BadPublicKey,
    /// A signature did not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// A key file or environment variable could not be read.
    #[error("cannot read key from {what}")]
    Io {
        /// Where we tried to read from.
        what: String,
        /// The cause.
        #[source]
        source: Option<std::io::Error>,
    },
    /// A secret key file is readable by group or others.
    #[error("key file {0} is readable by group or others; run chmod 600 on it")]
    InsecureFile(String),
    /// A signing backend (HSM, KMS …) failed.
    #[error("signer backend failed: {0}")]
    Backend(String),
}

/// A 4-byte C2SP key id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 4]);

impl KeyId {
    /// Computes the key id of an Ed25519 key under `name`.
    pub fn compute(name: &str, public: &[u8; 32]) -> KeyId {
        let h = Hash32::digest_parts(&[name.as_bytes(), b"\n", &[ED25519_ALG], public]);
        KeyId([h.0[0], h.0[1], h.0[2], h.0[3]])
    }
    /// Eight lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Parses eight lowercase hex digits.
    ///
    /// # Errors
    /// [`KeyError::Malformed`].
    pub fn from_hex(s: &str) -> Result<KeyId, KeyError> {
        crate::hash::decode_lower_hex::<4>(s.as_bytes())
            .map(KeyId)
            .ok_or(KeyError::Malformed("key id"))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.to_hex())
    }
}
impl Serialize for KeyId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::hash::deserialize_text(d, KeyId::from_hex)
    }
}
impl schemars::JsonSchema for KeyId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KeyId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "pattern": "^[0-9a-f]{8}$"})
    }
}

/// A 64-byte Ed25519 signature; text form is standard base64 with padding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// Standard base64 (88 characters).
    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }
    /// Parses standard base64 of exactly 64 bytes (canonical form only).
    ///
    /// # Errors
    /// [`KeyError::Malformed`].
    pub fn from_base64(s: &str) -> Result<Signature, KeyError> {
        let v = B64
            .decode(s)
            .map_err(|_| KeyError::Malformed("signature"))?;
        let a = <[u8; 64]>::try_from(v.as_slice()).map_err(|_| KeyError::Malformed("signature"))?;
        let sig = Signature(a);
        if sig.to_base64() != s {
            return Err(KeyError::Malformed("signature"));
        }
        Ok(sig)
    }
}
impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_base64())
    }
}
impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}
impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Signature::from_base64(&s).map_err(serde::de::Error::custom)
    }
}
impl schemars::JsonSchema for Signature {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Signature".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "description": "Ed25519 signature, standard base64 (88 chars)", "pattern": "^[A-Za-z0-9+/]{86}==$"})
    }
}

fn check_name(name: &str) -> Result<(), KeyError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(KeyError::BadName);
    }
    Ok(())
}

/// A public key with its C2SP name and key id: what an auditor pins.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: KeyId,
    key: VerifyingKey,
}

impl VerifierKey {
    /// Builds from a name and a public key, computing the key id.
    ///
    /// # Errors
    /// [`KeyError::BadName`].
    pub fn new(name: &str, key: VerifyingKey) -> Result<VerifierKey, KeyError> {
        check_name(name)?;
        Ok(VerifierKey {
            name: name.to_owned(),
            id: KeyId::compute(name, key.as_bytes()),
            key,
        })
    }

    /// Parses `name+hexid+base64(0x01||key)` and checks that the id matches.
    ///
    /// # Errors
    /// [`KeyError::Malformed`], [`KeyError::BadName`], [`KeyError::KeyIdMismatch`],
    /// [`KeyError::BadPublicKey`].
    pub fn parse(s: &str) -> Result<VerifierKey, KeyError> {
        let s = s.trim_end_matches(['\n', '\r']);
        // Names never contain '+', base64 may: split from the left.
        let mut parts = s.splitn(3, '+');
        let (name, hexid, b64) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(h), Some(b)) => (n, h, b),
            _ => return Err(KeyError::Malformed("verifier key")),
        };
        check_name(name)?;
        let id = KeyId::from_hex(hexid)?;
        let raw = B64
            .decode(b64)
            .map_err(|_| KeyError::Malformed("verifier key"))?;
        if raw.len() != 33 || raw.first() != Some(&ED25519_ALG) {
            return Err(KeyError::Malformed("verifier key"));
        }
        let mut pk = [0u8; 32];
        pk.copy_from_slice(&raw[1..]);
        let key = VerifyingKey::from_bytes(&pk).map_err(|_| KeyError::BadPublicKey)?;
        // Refuse small-order keys and non-canonical encodings (y ≥ p): one
        // key, one text form (SPEC §5.1).
        if key.is_weak() || key.to_edwards().compress().to_bytes() != pk {
            return Err(KeyError::BadPublicKey);
        }
        if KeyId::compute(name, &pk) != id {
            return Err(KeyError::KeyIdMismatch);
        }
        Ok(VerifierKey {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The key id.
    pub fn id(&self) -> KeyId {
        self.id
    }
    /// The raw public key.
    pub fn public_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// Verifies `sig` over `msg` with `verify_strict`.
    ///
    /// # Errors
    /// [`KeyError::BadSignature`].
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), KeyError> {
        let s = ed25519_dalek::Signature::from_bytes(&sig.0);
        self.key
            .verify_strict(msg, &s)
            .map_err(|_| KeyError::BadSignature)
    }

    /// The underlying dalek key (for batch verification).
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = [0u8; 33];
        raw[0] = ED25519_ALG;
        raw[1..].copy_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, self.id, B64.encode(raw))
    }
}
impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}
impl std::str::FromStr for VerifierKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        VerifierKey::parse(s)
    }
}
impl Serialize for VerifierKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for VerifierKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        VerifierKey::parse(&s).map_err(serde::de::Error::custom)
    }
}
impl schemars::JsonSchema for VerifierKey {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "VerifierKey".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "description": "C2SP verifier key: name+hexid+base64(0x01||pubkey)"})
    }
}

/// Something that signs messages with an Ed25519 key: a local key, or an
/// HSM/KMS behind this trait.
pub trait Signer: Send + Sync {
    /// The public half, with name and key id.
    fn verifier_key(&self) -> &VerifierKey;
    /// Signs `msg` (the full message; a backend must not pre-hash it).
    ///
    /// # Errors
    /// [`KeyError::Backend`] when the backend fails.
    fn sign(&self, msg: &[u8]) -> Result<Signature, KeyError>;
}

/// An Ed25519 signing key held in process memory. Never printed; the dalek
/// key and its expanded form wipe themselves on drop.
pub struct LocalSigner {
    key: SigningKey,
    /// The key expanded once (SHA-512 of the seed, clamped scalar and
    /// nonce prefix), instead of on every signature as
    /// `SigningKey::sign` does. Only ever used with `key`'s own public key
    /// (pairing it with another public key would leak the secret).
    expanded: ExpandedSecretKey,
    verifier: VerifierKey,
}

impl LocalSigner {
    /// A fresh key from the operating system's CSPRNG.
    ///
    /// # Errors
    /// [`KeyError::BadName`].
    pub fn generate(name: &str) -> Result<LocalSigner, KeyError> {
        Self::generate_with(name, &mut OsRng)
    }

    /// A fresh key from `rng` (tests and the seeded demo; production uses [`Self::generate`]).
    ///
    /// # Errors
    /// [`KeyError::BadName`].
    pub fn generate_with<R: RngCore + CryptoRng>(
        name: &str,
        rng: &mut R,
    ) -> Result<LocalSigner, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self::from_seed(name, &seed)
    }

    /// From a 32-byte Ed25519 seed.
    ///
    /// # Errors
    /// [`KeyError::BadName`].
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<LocalSigner, KeyError> {
        let key = SigningKey::from_bytes(seed);
        let verifier = VerifierKey::new(name, key.verifying_key())?;
        let expanded = ExpandedSecretKey::from(key.as_bytes());
        Ok(LocalSigner {
            key,
            expanded,
            verifier,
        })
    }

    /// Parses a `PRIVATE+KEY+name+hexid+base64(0x01||seed)` string.
    ///
    /// # Errors
    /// [`KeyError::Malformed`], [`KeyError::BadName`], [`KeyError::KeyIdMismatch`].
    pub fn parse(s: &str) -> Result<LocalSigner, KeyError> {
        let s = s.trim_end_matches(['\n', '\r']);
        let rest = s
            .strip_prefix(SECRET_KEY_PREFIX)
            .ok_or(KeyError::Malformed("secret key"))?;
        let mut parts = rest.splitn(3, '+');
        let (name, hexid, b64) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(h), Some(b)) => (n, h, b),
            _ => return Err(KeyError::Malformed("secret key")),
        };
        let id = KeyId::from_hex(hexid)?;
        let raw = Zeroizing::new(
            B64.decode(b64)
                .map_err(|_| KeyError::Malformed("secret key"))?,
        );
        if raw.len() != 33 || raw.first() != Some(&ED25519_ALG) {
            return Err(KeyError::Malformed("secret key"));
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&raw[1..]);
        let signer = Self::from_seed(name, &seed)?;
        if signer.verifier.id != id {
            return Err(KeyError::KeyIdMismatch);
        }
        Ok(signer)
    }

    /// The secret key string, in a wiping buffer. Write it only to a file
    /// with mode 0600; never print or log it.
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new([0u8; 33]);
        raw[0] = ED25519_ALG;
        raw[1..].copy_from_slice(self.key.as_bytes());
        Zeroizing::new(format!(
            "{SECRET_KEY_PREFIX}{}+{}+{}",
            self.verifier.name,
            self.verifier.id,
            B64.encode(raw.as_ref())
        ))
    }

    /// Reads a key string from a file.
    ///
    /// # Errors
    /// [`KeyError::Io`] or a parse error.
    pub fn from_file(path: &Path) -> Result<LocalSigner, KeyError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let meta = std::fs::metadata(path).map_err(|e| KeyError::Io {
                what: path.display().to_string(),
                source: Some(e),
            })?;
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(KeyError::InsecureFile(path.display().to_string()));
            }
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| KeyError::Io {
            what: path.display().to_string(),
            source: Some(e),
        })?);
        Self::parse(text.trim())
    }

    /// Writes the secret key string to a new file that only the owner can
    /// read (mode 0600 on Unix). Refuses to overwrite an existing file.
    ///
    /// # Errors
    /// [`KeyError::Io`] (including when the file exists).
    pub fn write_key_file(&self, path: &Path) -> Result<(), KeyError> {
        use std::io::Write as _;
        let io = |e| KeyError::Io {
            what: path.display().to_string(),
            source: Some(e),
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(io)?;
        let mut text = self.to_secret_string();
        text.push('\n');
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)
    }

    /// Reads a key string from the environment variable [`SIGNING_KEY_ENV`].
    ///
    /// # Errors
    /// [`KeyError::Io`] when unset, or a parse error.
    pub fn from_env() -> Result<LocalSigner, KeyError> {
        let text = Zeroizing::new(std::env::var(SIGNING_KEY_ENV).map_err(|_| KeyError::Io {
            what: format!("environment variable {SIGNING_KEY_ENV}"),
            source: None,
        })?);
        Self::parse(text.trim())
    }
}

impl Signer for LocalSigner {
    fn verifier_key(&self) -> &VerifierKey {
        &self.verifier
    }
    fn sign(&self, msg: &[u8]) -> Result<Signature, KeyError> {
        // RFC 8032 Ed25519, the same bytes as `SigningKey::sign` (a unit
        // test compares them), with the key expansion done once.
        let sig = ed25519_dalek::hazmat::raw_sign::<sha2::Sha512>(
            &self.expanded,
            msg,
            self.verifier.verifying_key(),
        );
        Ok(Signature(sig.to_bytes()))
    }
}

impl fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalSigner({}, <secret redacted>)", self.verifier)
    }
}

/// A set of pinned verifier keys, looked up by key id (and name).
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    keys: Vec<VerifierKey>,
}

impl KeyRing {
    /// An empty ring.
    pub fn new() -> KeyRing {
        KeyRing::default()
    }
    /// A ring holding `keys`.
    pub fn from_keys(keys: impl IntoIterator<Item = VerifierKey>) -> KeyRing {
        let mut r = KeyRing::new();
        for k in keys {
            r.add(k);
        }
        r
    }
    /// Adds a key (a duplicate is ignored).
    pub fn add(&mut self, key: VerifierKey) {
        if !self.keys.contains(&key) {
            self.keys.push(key);
        }
    }
    /// All keys with this id (ids are 4 bytes, so collisions are possible).
    pub fn by_id(&self, id: KeyId) -> impl Iterator<Item = &VerifierKey> {
        self.keys.iter().filter(move |k| k.id == id)
    }
    /// The key with this name and id, if pinned.
    pub fn get(&self, name: &str, id: KeyId) -> Option<&VerifierKey> {
        self.keys.iter().find(|k| k.id == id && k.name == name)
    }
    /// Every key.
    pub fn iter(&self) -> impl Iterator<Item = &VerifierKey> {
        self.keys.iter()
    }
    /// True when no key is pinned.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from golang.org/x/mod sumdb/note note_test.go (via shared/vectors/rfc6962.json).
    const SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

    #[test]
    fn key_ids_are_eight_lower_case_hex_digits() {
        assert_eq!(
            KeyId::from_hex("c74f20a3").map(|k| k.0).ok(),
            Some([0xc7, 0x4f, 0x20, 0xa3])
        );
        assert_eq!(KeyId::from_hex("00000000").map(|k| k.0).ok(), Some([0; 4]));
        for bad in [
            "",
            "c74f20a",
            "c74f20a30",
            "C74F20A3",
            "c74f20aG",
            "c74f20a ",
            "+74f20a3",
            "c74f2\u{e9}",
        ] {
            assert!(
                matches!(KeyId::from_hex(bad), Err(KeyError::Malformed("key id"))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn go_note_key_vectors() {
        let s = LocalSigner::parse(SKEY).unwrap();
        assert_eq!(s.verifier_key().to_string(), VKEY);
        assert_eq!(s.to_secret_string().as_str(), SKEY);
        let v = VerifierKey::parse(VKEY).unwrap();
        assert_eq!(v.id().to_hex(), "c74f20a3");
        assert_eq!(&v, s.verifier_key());
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(matches!(
            VerifierKey::parse(
                "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(KeyError::KeyIdMismatch)
        ));
        assert!(matches!(
            VerifierKey::parse("PeterNeumann+c74f20a3+ARpc"),
            Err(KeyError::Malformed(_))
        ));
        assert!(matches!(
            VerifierKey::parse("nope"),
            Err(KeyError::Malformed(_))
        ));
        assert!(matches!(
            VerifierKey::parse("a b+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
            Err(KeyError::BadName)
        ));
        assert!(matches!(
            LocalSigner::parse(VKEY),
            Err(KeyError::Malformed(_))
        ));
        assert!(matches!(
            LocalSigner::generate("has+plus"),
            Err(KeyError::BadName)
        ));
    }

    #[test]
    fn key_files_are_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.key");
        let s = LocalSigner::generate("test").unwrap();
        s.write_key_file(&path).unwrap();
        assert!(s.write_key_file(&path).is_err(), "refuses to overwrite");
        let back = LocalSigner::from_file(&path).unwrap();
        assert_eq!(back.verifier_key(), s.verifier_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                LocalSigner::from_file(&path),
                Err(KeyError::InsecureFile(_))
            ));
        }
    }

    #[test]
    fn weak_public_keys_are_refused() {
        let name = "n";
        // The identity point (small order): y = 1.
        let mut pk = [0u8; 32];
        pk[0] = 1;
        let mut raw = vec![ED25519_ALG];
        raw.extend_from_slice(&pk);
        let s = format!("{name}+{}+{}", KeyId::compute(name, &pk), B64.encode(&raw));
        assert!(matches!(
            VerifierKey::parse(&s),
            Err(KeyError::BadPublicKey)
        ));
    }

    #[test]
    fn cached_expansion_signs_exactly_as_dalek() {
        use ed25519_dalek::Signer as _;
        for seed in [[0u8; 32], [7u8; 32], [0xff; 32]] {
            let s = LocalSigner::from_seed("t", &seed).unwrap();
            let dalek = SigningKey::from_bytes(&seed);
            for msg in [&b""[..], b"m", &[0xa5; 200]] {
                assert_eq!(s.sign(msg).unwrap().0, dalek.sign(msg).to_bytes());
            }
        }
        // RFC 8032 §7.1 test 1 (empty message).
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let sig = LocalSigner::from_seed("t", &seed)
            .unwrap()
            .sign(b"")
            .unwrap();
        assert_eq!(
            hex::encode(sig.0),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }

    #[test]
    fn sign_verify_strict_and_debug_redacts() {
        let s = LocalSigner::generate("test").unwrap();
        let sig = s.sign(b"m").unwrap();
        s.verifier_key().verify(b"m", &sig).unwrap();
        assert!(s.verifier_key().verify(b"n", &sig).is_err());
        let dbg = format!("{s:?}");
        assert!(dbg.contains("redacted"));
        assert!(!dbg.contains(&s.to_secret_string()[12..]));
        assert_eq!(Signature::from_base64(&sig.to_base64()).unwrap(), sig);
    }
}
