//! C2SP signed notes (<https://c2sp.org/signed-note>): format, parse, sign
//! and verify, for Ed25519 keys (signature type `0x01`).
//!
//! # Format (signed-note §Format)
//!
//! ```text
//! <text, ending in "\n">
//! <blank line: "\n">
//! — <key name> <base64(4-byte big-endian key id || signature)>\n   (one or more)
//! ```
//!
//! * The dash is U+2014 EM DASH followed by one space; base64 is the standard
//!   alphabet with padding (RFC 4648 §4), and is parsed in canonical form only.
//! * The text includes its final newline but not the separating blank line;
//!   it may itself contain blank lines: the signatures start after the *last*
//!   blank line of the note.
//! * The whole note must be UTF-8 and contain no ASCII control character
//!   (below U+0020) other than newline, so `\r` and `\t` are refused.
//! * Key names are non-empty and contain neither Unicode white space nor `+`.
//! * An Ed25519 signature is RFC 8032 over the text bytes (final newline
//!   included); its key id is `SHA-256(name || 0x0A || 0x01 || pubkey)[..4]`
//!   (see the `keys` module).
//!
//! # Verification policy ([`open_note`])
//!
//! * A signature whose (name, key id) pair matches a pinned key **must**
//!   verify, or the whole note is refused ([`NoteError::BadSignature`]; the
//!   spec says SHOULD, we fail closed).
//! * Signatures by other keys — also those sharing only the name or only the
//!   id with a pinned key — are ignored for trust, and reported as
//!   unverified (spec: "Verifiers MUST ignore signatures from unknown keys").
//!   Their bytes may have any length (other signature types: ECDSA,
//!   timestamped cosignatures, ML-DSA …) and are preserved by [`Note::parse`].
//! * At least one signature must verify under a pinned key, otherwise
//!   [`NoteError::UnknownKey`] lists the (name, key id) pairs found.
//! * Stricter than Go's `golang.org/x/mod/sumdb/note` (which drops them): two
//!   signature lines for the same (name, key id) are an error.
//! * Limits: a note is at most [`MAX_NOTE_BYTES`] bytes with at most
//!   [`MAX_SIGNATURES`] signature lines (the spec requires accepting at least
//!   16; Go accepts 100).

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::keys::{KeyError, KeyId, KeyRing, Signature, Signer, VerifierKey};

/// Largest signed note accepted or produced, in bytes (1 MiB, as Go's
/// `sumdb/tlog` limit for tree notes).
pub const MAX_NOTE_BYTES: usize = 1 << 20;
/// Largest number of signature lines accepted or produced (Go's limit).
pub const MAX_SIGNATURES: usize = 100;
/// The start of every signature line: U+2014 EM DASH and a space.
pub const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

/// Errors of parsing, signing or verifying a signed note. Messages name the
/// check that failed and, where useful, the key name and id; never the text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is larger than [`crate::MAX_NOTE_BYTES`].
    #[error("note is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the input (or of the note that would be produced).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The note is not valid UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// The note contains an ASCII control character other than newline
    /// (for example `\r` or `\t`).
    #[error("note contains an ASCII control character other than newline")]
    ControlCharacter,
    /// The note's structure is wrong; the message says which part.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// A signature line's key name is empty or contains white space or `+`.
    #[error("malformed note: a signature's key name is empty or contains white space or '+'")]
    BadKeyName,
    /// More than [`crate::MAX_SIGNATURES`] signature lines.
    #[error("note has more than {max} signatures")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// Two signature lines (or two signers) for the same key name and id.
    #[error("duplicate signature by key {name} ({key_id})")]
    DuplicateSignature {
        /// Key name.
        name: String,
        /// Key id.
        key_id: KeyId,
    },
    /// A signature by a pinned key does not verify (or a signer produced a
    /// signature that does not verify under its own public key).
    #[error("signature by pinned key {name} ({key_id}) does not verify")]
    BadSignature {
        /// Key name.
        name: String,
        /// Key id.
        key_id: KeyId,
    },
    /// No signature was made by a pinned key. Lists the (name, key id) of
    /// every signature found, so a caller can report the verdict
    /// `unknown_key`.
    #[error(
        "no signature by a pinned key; signed by: {}",
        list_keys(names_and_ids)
    )]
    UnknownKey {
        /// The (key name, key id) pairs of the note's signatures.
        names_and_ids: Vec<(String, KeyId)>,
    },
    /// The text given to [`sign_note`] cannot be signed; the message says why.
    #[error("cannot sign note text: {0}")]
    InvalidText(&'static str),
    /// [`sign_note`] was called without any signer.
    #[error("a note needs at least one signer")]
    NoSigners,
    /// A signer failed.
    #[error("signer failed")]
    Signer(#[source] KeyError),
}

fn list_keys(keys: &[(String, KeyId)]) -> String {
    if keys.is_empty() {
        return "(none)".to_owned();
    }
    keys.iter()
        .map(|(n, id)| format!("{n} ({id})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The signature bytes of one signature line (after the 4-byte key id).
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum SignatureBytes {
    /// 64 bytes: the length of an Ed25519 signature. Whether it *is* one is
    /// decided by the key (name, id) the line claims, and checked only when
    /// that key is pinned.
    Ed25519(Signature),
    /// Any other length (at least one byte): another signature type
    /// (ECDSA, timestamped cosignature, ML-DSA …). Preserved, never verified.
    Other(Vec<u8>),
}

impl SignatureBytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            SignatureBytes::Ed25519(s) => &s.0,
            SignatureBytes::Other(v) => v,
        }
    }
}

/// One signature line of a note: `— <name> base64(key_id || sig)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The 4-byte key id (big-endian `uint32` in the spec).
    pub key_id: KeyId,
    /// The signature proper.
    pub sig: SignatureBytes,
}

impl NoteSignature {
    /// The signature line, with its final newline.
    pub fn to_line(&self) -> String {
        let sig = self.sig.as_slice();
        let mut raw = Vec::with_capacity(4 + sig.len());
        raw.extend_from_slice(&self.key_id.0);
        raw.extend_from_slice(sig);
        format!("{SIGNATURE_LINE_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }

    fn parse_line(line: &str) -> Result<NoteSignature, NoteError> {
        let rest = line
            .strip_prefix(SIGNATURE_LINE_PREFIX)
            .ok_or(NoteError::Malformed(
                "a signature line does not start with an em dash and a space",
            ))?;
        let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed(
            "a signature line has no space between key name and signature",
        ))?;
        if !valid_key_name(name) {
            return Err(NoteError::BadKeyName);
        }
        let raw = B64
            .decode(b64)
            .map_err(|_| NoteError::Malformed("a signature is not standard base64"))?;
        if B64.encode(&raw) != b64 {
            return Err(NoteError::Malformed("a signature is not canonical base64"));
        }
        let (id, sig) = match raw.split_first_chunk::<4>() {
            Some((id, sig)) if !sig.is_empty() => (*id, sig),
            _ => return Err(NoteError::Malformed("a signature is shorter than 5 bytes")),
        };
        let sig = match <[u8; 64]>::try_from(sig) {
            Ok(a) => SignatureBytes::Ed25519(Signature(a)),
            Err(_) => SignatureBytes::Other(sig.to_vec()),
        };
        Ok(NoteSignature {
            name: name.to_owned(),
            key_id: KeyId(id),
            sig,
        })
    }
}

/// A parsed, **unverified** signed note. Its text must not be used before
/// the note has been verified ([`open_note`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Note {
    /// The text, final newline included.
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note strictly (see the module docs), without checking
    /// any signature.
    ///
    /// # Errors
    /// [`NoteError::TooLarge`], [`NoteError::NotUtf8`],
    /// [`NoteError::ControlCharacter`], [`NoteError::Malformed`],
    /// [`NoteError::BadKeyName`], [`NoteError::TooManySignatures`],
    /// [`NoteError::DuplicateSignature`].
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge {
                size: bytes.len(),
                max: MAX_NOTE_BYTES,
            });
        }
        let s = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        check_controls(s)?;
        // The text ends in a newline; it is followed by the last blank line.
        let split = s.rfind("\n\n").ok_or(NoteError::Malformed(
            "no blank line between text and signatures",
        ))?;
        let (text, sigs) = match (s.get(..=split), s.get(split + 2..)) {
            (Some(t), Some(g)) => (t, g),
            _ => {
                return Err(NoteError::Malformed(
                    "no blank line between text and signatures",
                ))
            }
        };
        let sigs = sigs.strip_suffix('\n').ok_or(NoteError::Malformed(
            "the signature block does not end with a newline",
        ))?;
        if sigs.is_empty() {
            return Err(NoteError::Malformed("no signature line"));
        }
        let mut signatures: Vec<NoteSignature> = Vec::new();
        for line in sigs.split('\n') {
            if signatures.len() >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            let sig = NoteSignature::parse_line(line)?;
            if signatures
                .iter()
                .any(|o| o.name == sig.name && o.key_id == sig.key_id)
            {
                return Err(NoteError::DuplicateSignature {
                    name: sig.name,
                    key_id: sig.key_id,
                });
            }
            signatures.push(sig);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The encoded note: text, blank line, signature lines. For a [`Note`]
    /// from [`Note::parse`] this reproduces the input byte for byte; a note
    /// assembled by hand is not validated.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 1 + 100 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
        }
        out
    }
}

/// A note whose text is authenticated by at least one pinned key. Only
/// [`open_note`] makes one.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifiedNote {
    text: String,
    verified_by: Vec<VerifierKey>,
    unverified: Vec<(String, KeyId)>,
}

impl VerifiedNote {
    /// The authenticated text, final newline included.
    pub fn text(&self) -> &str {
        &self.text
    }
    /// The pinned keys whose signatures verified, in note order (never empty).
    pub fn verified_by(&self) -> &[VerifierKey] {
        &self.verified_by
    }
    /// (name, key id) of the signatures by keys that are not pinned: ignored,
    /// not trusted (witness cosignatures, rotated keys …).
    pub fn unverified(&self) -> &[(String, KeyId)] {
        &self.unverified
    }
    /// The authenticated text, by value.
    pub fn into_text(self) -> String {
        self.text
    }
}

/// Signs `text` with every signer and returns the signed note.
///
/// `text` must be non-empty, end with a newline, and contain no ASCII
/// control character other than newline. Each signature is checked against
/// the signer's own public key before it is written (a faulty or tampered
/// backend is caught here, not by the verifier).
///
/// # Errors
/// [`NoteError::InvalidText`], [`NoteError::NoSigners`],
/// [`NoteError::TooManySignatures`], [`NoteError::DuplicateSignature`] (two
/// signers with the same name and id), [`NoteError::Signer`],
/// [`NoteError::BadSignature`], [`NoteError::TooLarge`].
pub fn sign_note(text: &str, signers: &[&dyn Signer]) -> Result<String, NoteError> {
    if text.is_empty() {
        return Err(NoteError::InvalidText("text is empty"));
    }
    if !text.ends_with('\n') {
        return Err(NoteError::InvalidText("text does not end with a newline"));
    }
    if check_controls(text).is_err() {
        return Err(NoteError::InvalidText(
            "text contains an ASCII control character other than newline",
        ));
    }
    if text.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge {
            size: text.len(),
            max: MAX_NOTE_BYTES,
        });
    }
    if signers.is_empty() {
        return Err(NoteError::NoSigners);
    }
    if signers.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures {
            max: MAX_SIGNATURES,
        });
    }
    let mut out = String::with_capacity(text.len() + 1 + 100 * signers.len());
    out.push_str(text);
    out.push('\n');
    let mut seen: Vec<(&str, KeyId)> = Vec::with_capacity(signers.len());
    for signer in signers {
        let vk = signer.verifier_key();
        if seen.contains(&(vk.name(), vk.id())) {
            return Err(NoteError::DuplicateSignature {
                name: vk.name().to_owned(),
                key_id: vk.id(),
            });
        }
        seen.push((vk.name(), vk.id()));
        let sig = signer.sign(text.as_bytes()).map_err(NoteError::Signer)?;
        if vk.verify(text.as_bytes(), &sig).is_err() {
            return Err(NoteError::BadSignature {
                name: vk.name().to_owned(),
                key_id: vk.id(),
            });
        }
        let line = NoteSignature {
            name: vk.name().to_owned(),
            key_id: vk.id(),
            sig: SignatureBytes::Ed25519(sig),
        };
        out.push_str(&line.to_line());
    }
    if out.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge {
            size: out.len(),
            max: MAX_NOTE_BYTES,
        });
    }
    Ok(out)
}

/// Parses `bytes` strictly and verifies its signatures against the pinned
/// `keys`, under the policy of the module docs.
///
/// # Errors
/// Every error of [`Note::parse`]; [`NoteError::BadSignature`] if a
/// signature by a pinned key does not verify; [`NoteError::UnknownKey`] if
/// no signature is by a pinned key.
pub fn open_note(bytes: &[u8], keys: &KeyRing) -> Result<VerifiedNote, NoteError> {
    let note = Note::parse(bytes)?;
    let mut verified_by = Vec::new();
    let mut unverified = Vec::new();
    for s in note.signatures {
        match keys.get(&s.name, s.key_id) {
            Some(vk) => {
                let ok = match &s.sig {
                    SignatureBytes::Ed25519(sig) => vk.verify(note.text.as_bytes(), sig).is_ok(),
                    SignatureBytes::Other(_) => false,
                };
                if !ok {
                    return Err(NoteError::BadSignature {
                        name: s.name,
                        key_id: s.key_id,
                    });
                }
                verified_by.push(vk.clone());
            }
            None => unverified.push((s.name, s.key_id)),
        }
    }
    if verified_by.is_empty() {
        return Err(NoteError::UnknownKey {
            names_and_ids: unverified,
        });
    }
    Ok(VerifiedNote {
        text: note.text,
        verified_by,
        unverified,
    })
}

/// A key name as signed-note requires: non-empty, no Unicode white space,
/// no `+`.
fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

/// Refuses ASCII control characters other than newline. In UTF-8 such
/// bytes only ever encode themselves, so a byte scan is exact.
pub(crate) fn check_controls(s: &str) -> Result<(), NoteError> {
    if s.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(NoteError::ControlCharacter);
    }
    Ok(())
}

impl fmt::Display for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_line().trim_end_matches('\n'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::LocalSigner;

    const VECTORS: &str = include_str!("../tests/vectors/rfc6962.json");

    fn vectors() -> Vec<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
        v["signed_note"]["vectors"].as_array().unwrap().clone()
    }

    fn ring(vkeys: &[&str]) -> KeyRing {
        KeyRing::from_keys(vkeys.iter().map(|k| VerifierKey::parse(k).unwrap()))
    }

    #[test]
    fn c2sp_example_verifies() {
        let v = &vectors()[0];
        let note = v["note"].as_str().unwrap();
        let opened = open_note(note.as_bytes(), &ring(&[v["vkey"].as_str().unwrap()])).unwrap();
        assert_eq!(opened.text(), "This is an example message.\n");
        assert_eq!(opened.verified_by()[0].name(), "example.com/foo");
        assert!(opened.unverified().is_empty());
    }

    #[test]
    fn go_sign_vector_is_reproduced_byte_exactly() {
        let v = &vectors()[1];
        let signer = LocalSigner::parse(v["skey"].as_str().unwrap()).unwrap();
        let signed = sign_note(v["text"].as_str().unwrap(), &[&signer]).unwrap();
        assert_eq!(signed, v["signed_note"].as_str().unwrap());
        let parsed = Note::parse(signed.as_bytes()).unwrap();
        assert_eq!(parsed.to_text(), signed);
    }

    #[test]
    fn two_signatures_verify_with_either_key_alone() {
        let vs = vectors();
        let (peter, enoch) = (&vs[1], &vs[2]);
        let note = format!(
            "{}{}\n",
            peter["signed_note"].as_str().unwrap(),
            enoch["signature_line"].as_str().unwrap()
        );
        let p = open_note(note.as_bytes(), &ring(&[peter["vkey"].as_str().unwrap()])).unwrap();
        assert_eq!(p.verified_by().len(), 1);
        assert_eq!(p.unverified()[0].0, "EnochRoot");
        let e = open_note(note.as_bytes(), &ring(&[enoch["vkey"].as_str().unwrap()])).unwrap();
        assert_eq!(e.verified_by()[0].name(), "EnochRoot");
        assert_eq!(e.unverified()[0].0, "PeterNeumann");
        assert_eq!(e.text(), peter["text"].as_str().unwrap());
        let both = ring(&[
            peter["vkey"].as_str().unwrap(),
            enoch["vkey"].as_str().unwrap(),
        ]);
        assert_eq!(
            open_note(note.as_bytes(), &both)
                .unwrap()
                .verified_by()
                .len(),
            2
        );
        match open_note(note.as_bytes(), &KeyRing::new()) {
            Err(NoteError::UnknownKey { names_and_ids }) => assert_eq!(names_and_ids.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_signature_types_are_preserved() {
        let v = &vectors()[1];
        let signed = v["signed_note"].as_str().unwrap();
        // A 4+72-byte "cosignature" by another key: kept, reported, not trusted.
        let other = NoteSignature {
            name: "witness.example".into(),
            key_id: KeyId([1, 2, 3, 4]),
            sig: SignatureBytes::Other(vec![9; 72]),
        };
        let note = format!("{signed}{}", other.to_line());
        let parsed = Note::parse(note.as_bytes()).unwrap();
        assert_eq!(parsed.signatures[1], other);
        assert_eq!(parsed.to_text(), note);
        let opened = open_note(note.as_bytes(), &ring(&[v["vkey"].as_str().unwrap()])).unwrap();
        assert_eq!(
            opened.unverified(),
            &[("witness.example".to_owned(), KeyId([1, 2, 3, 4]))]
        );
    }

    #[test]
    fn strict_parsing() {
        let v = &vectors()[1];
        let signed = v["signed_note"].as_str().unwrap().to_owned();
        let keys = ring(&[v["vkey"].as_str().unwrap()]);
        let bad = |s: &str| open_note(s.as_bytes(), &keys).unwrap_err();
        assert!(matches!(
            bad(&signed.replace("\n\n", "\n")),
            NoteError::Malformed(_)
        ));
        assert!(matches!(
            bad(&signed.replace("problem,\n", "problem,\r\n")),
            NoteError::ControlCharacter
        ));
        assert!(matches!(bad(signed.trim_end()), NoteError::Malformed(_)));
        assert!(matches!(
            bad(&signed.replace('\u{2014}', "-")),
            NoteError::Malformed(_)
        ));
        assert!(matches!(
            bad(&signed.replace("PeterNeumann", "Peter+Neumann")),
            NoteError::BadKeyName
        ));
        assert!(matches!(
            bad(&signed.replace("PeterNeumann", "Peter\u{a0}Neumann")),
            NoteError::BadKeyName
        ));
        assert!(matches!(
            bad(&signed.replace("AM=", "AM")),
            NoteError::Malformed(_)
        ));
        assert!(matches!(
            bad(&format!("{signed}{}", signed.lines().last().unwrap())),
            NoteError::Malformed(_)
        ));
        let dup = format!("{signed}{}\n", signed.lines().last().unwrap());
        assert!(matches!(bad(&dup), NoteError::DuplicateSignature { .. }));
        assert!(matches!(
            bad(&signed.replace("cryptography", "cryptograph")),
            NoteError::BadSignature { .. }
        ));
        assert!(matches!(
            Note::parse(&[0xff, b'\n', b'\n']),
            Err(NoteError::NotUtf8)
        ));
        assert!(matches!(
            Note::parse(&vec![b'a'; MAX_NOTE_BYTES + 1]),
            Err(NoteError::TooLarge { .. })
        ));
        // Text with blank lines: the last blank line separates.
        let signer = LocalSigner::from_seed("k", &[1; 32]).unwrap();
        let note = sign_note("a\n\nb\n\n", &[&signer]).unwrap();
        let ring1 = KeyRing::from_keys([signer.verifier_key().clone()]);
        assert_eq!(
            open_note(note.as_bytes(), &ring1).unwrap().text(),
            "a\n\nb\n\n"
        );
    }

    #[test]
    fn signing_refuses_bad_input() {
        let s = LocalSigner::from_seed("k", &[1; 32]).unwrap();
        assert!(matches!(
            sign_note("", &[&s]),
            Err(NoteError::InvalidText(_))
        ));
        assert!(matches!(
            sign_note("x", &[&s]),
            Err(NoteError::InvalidText(_))
        ));
        assert!(matches!(
            sign_note("x\r\n", &[&s]),
            Err(NoteError::InvalidText(_))
        ));
        assert!(matches!(sign_note("x\n", &[]), Err(NoteError::NoSigners)));
        assert!(matches!(
            sign_note("x\n", &[&s, &s]),
            Err(NoteError::DuplicateSignature { .. })
        ));
    }
}
