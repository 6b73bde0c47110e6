//! Key-encryption keys (SPEC §4.6): the root of the shredding hierarchy.
//!
//! A [`KeyProvider`] wraps and unwraps the 32-byte tenant and subject keys.
//! [`LocalKek`] holds the KEK in process memory, read from a file or an
//! environment variable; the trait leaves room for a Vault or cloud-KMS
//! provider that never reveals the KEK (implement `wrap`/`unwrap` as calls
//! to its encrypt/decrypt API, with the associated data as context).

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::cipher::Aes256Gcm;
use super::format::{KekId, Nonce};
use super::ShredError;
use crate::encoding::KEK_ID_LABEL;
use crate::hash::Hash32;

/// Environment variable [`LocalKek::from_env`] reads: 64 lowercase hex digits.
pub const KEK_ENV: &str = "AI_AUDIT_KEK";

/// Length of a key wrapped by [`LocalKek`]: nonce (12) || ciphertext (32) || tag (16).
pub const WRAPPED_KEY_LEN: usize = 60;

/// Wraps and unwraps data and commitment keys under a key-encryption key.
pub trait KeyProvider: Send + Sync {
    /// The id of the KEK that [`KeyProvider::wrap`] uses now. Stored beside
    /// every wrapped key, so that a key wrapped under another KEK is
    /// reported as such instead of as tampering.
    fn kek_id(&self) -> KekId;

    /// Encrypts `key` with associated data `aad`, using `nonce` if the
    /// scheme needs one (a KMS may ignore it and choose its own).
    ///
    /// # Errors
    /// [`ShredError::Kek`] when the provider fails.
    fn wrap(&self, key: &[u8; 32], aad: &[u8], nonce: Nonce) -> Result<Vec<u8>, ShredError>;

    /// Decrypts a wrapped key, checking `aad`.
    ///
    /// # Errors
    /// [`ShredError::Kek`] when the wrapped bytes do not authenticate under
    /// this KEK and `aad`, or the provider fails.
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<[u8; 32]>, ShredError>;
}

/// A KEK held in process memory: AES-256-GCM key wrapping
/// (`wrapped = nonce || AES-256-GCM(KEK, nonce, key, aad)`). Never printed;
/// wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct LocalKek {
    key: [u8; 32],
    #[zeroize(skip)]
    id: KekId,
}

impl LocalKek {
    /// Wraps raw KEK bytes.
    pub fn from_bytes(key: [u8; 32]) -> LocalKek {
        let h = Hash32::digest_parts(&[KEK_ID_LABEL, &key]);
        let mut id = [0u8; 8];
        id.copy_from_slice(&h.0[..8]);
        LocalKek { key, id: KekId(id) }
    }

    /// A fresh KEK from the OS RNG.
    pub fn generate() -> LocalKek {
        let mut k = Zeroizing::new([0u8; 32]);
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, k.as_mut());
        LocalKek::from_bytes(*k)
    }

    /// Parses 64 lowercase hex digits (surrounding whitespace ignored).
    ///
    /// # Errors
    /// [`ShredError::Kek`] for anything else.
    pub fn parse(text: &str) -> Result<LocalKek, ShredError> {
        let t = text.trim();
        let mut k = Zeroizing::new([0u8; 32]);
        let lower = t
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if t.len() != 64 || !lower || hex::decode_to_slice(t, k.as_mut()).is_err() {
            return Err(ShredError::Kek(
                "a KEK is 64 lowercase hex digits (32 bytes)".into(),
            ));
        }
        Ok(LocalKek::from_bytes(*k))
    }

    /// Reads a KEK file: 64 lowercase hex digits and an optional newline.
    /// On Unix the file must not be readable by group or others.
    ///
    /// # Errors
    /// [`ShredError::Kek`] for an unreadable, insecure or malformed file.
    pub fn from_file(path: &Path) -> Result<LocalKek, ShredError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let meta = std::fs::metadata(path)
                .map_err(|e| ShredError::Kek(format!("{}: {e}", path.display())))?;
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(ShredError::Kek(format!(
                    "KEK file {} is readable by group or others; run chmod 600 on it",
                    path.display()
                )));
            }
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| ShredError::Kek(format!("{}: {e}", path.display())))?,
        );
        LocalKek::parse(&text)
    }

    /// Reads the KEK from the environment variable [`KEK_ENV`].
    ///
    /// # Errors
    /// [`ShredError::Kek`] when it is unset or malformed.
    pub fn from_env() -> Result<LocalKek, ShredError> {
        let text =
            Zeroizing::new(std::env::var(KEK_ENV).map_err(|_| {
                ShredError::Kek(format!("environment variable {KEK_ENV} is unset"))
            })?);
        LocalKek::parse(&text)
    }

    /// Writes the KEK as a file of 64 hex digits and a newline, created
    /// with mode 0600 (it must not exist yet).
    ///
    /// # Errors
    /// [`ShredError::Kek`] on I/O failure or when the file exists.
    pub fn write_file(&self, path: &Path) -> Result<(), ShredError> {
        use std::io::Write as _;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let text = Zeroizing::new(format!("{}\n", hex::encode(self.key)));
        opts.open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
            .map_err(|e| ShredError::Kek(format!("{}: {e}", path.display())))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&self.key).into())
    }
}

impl KeyProvider for LocalKek {
    fn kek_id(&self) -> KekId {
        self.id
    }

    fn wrap(&self, key: &[u8; 32], aad: &[u8], nonce: Nonce) -> Result<Vec<u8>, ShredError> {
        let ct = self
            .cipher()
            .encrypt((&nonce.0).into(), Payload { msg: key, aad })
            .map_err(|_| ShredError::Kek("key wrapping failed".into()))?;
        let mut out = Vec::with_capacity(WRAPPED_KEY_LEN);
        out.extend_from_slice(&nonce.0);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<[u8; 32]>, ShredError> {
        let Some((nonce, ct)) = wrapped
            .split_first_chunk::<12>()
            .filter(|_| wrapped.len() == WRAPPED_KEY_LEN)
        else {
            return Err(ShredError::Kek("a wrapped key is 60 bytes".into()));
        };
        let pt = Zeroizing::new(
            self.cipher()
                .decrypt(nonce.into(), Payload { msg: ct, aad })
                .map_err(|_| {
                    ShredError::Kek(
                        "wrapped key does not authenticate under this KEK (wrong KEK or altered record)"
                            .into(),
                    )
                })?,
        );
        let mut k = Zeroizing::new([0u8; 32]);
        if pt.len() != 32 {
            return Err(ShredError::Kek("a wrapped key holds 32 bytes".into()));
        }
        k.copy_from_slice(&pt);
        Ok(k)
    }
}

impl std::fmt::Debug for LocalKek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalKek({}, <redacted>)", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_binds_aad_and_kek() {
        let kek = LocalKek::from_bytes([3; 32]);
        let w = kek.wrap(&[7; 32], b"aad", Nonce([1; 12])).unwrap();
        assert_eq!(w.len(), WRAPPED_KEY_LEN);
        assert_eq!(*kek.unwrap(&w, b"aad").unwrap(), [7; 32]);
        assert!(kek.unwrap(&w, b"other").is_err());
        assert!(LocalKek::from_bytes([4; 32]).unwrap(&w, b"aad").is_err());
        assert!(kek.unwrap(&w[..59], b"aad").is_err());
        assert!(!format!("{kek:?}").contains("0303"));
    }

    #[test]
    fn kek_text_forms() {
        let hex = "03".repeat(32);
        assert_eq!(
            LocalKek::parse(&format!("{hex}\n")).unwrap().kek_id(),
            LocalKek::from_bytes([3; 32]).kek_id()
        );
        for bad in ["", "03", &"0G".repeat(32), &"AB".repeat(32)] {
            assert!(LocalKek::parse(bad).is_err(), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kek");
        let kek = LocalKek::generate();
        kek.write_file(&p).unwrap();
        assert_eq!(LocalKek::from_file(&p).unwrap().kek_id(), kek.kek_id());
        assert!(kek.write_file(&p).is_err(), "never overwrites");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(LocalKek::from_file(&p).is_err());
        }
    }
}
