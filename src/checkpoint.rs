//! Transparency-log checkpoints (<https://c2sp.org/tlog-checkpoint>), the
//! origin convention of our logs, signed checkpoints, and inclusion-proof
//! files in the C2SP `tlog-proof@v1` format (<https://c2sp.org/tlog-proof>).
//!
//! # Checkpoint text (tlog-checkpoint §Note text)
//!
//! ```text
//! <origin>\n
//! <tree size, ASCII decimal, no leading zeroes>\n
//! <root hash, standard base64 of 32 bytes>\n
//! <extension line>\n   (zero or more; non-empty, opaque)
//! ```
//!
//! The origin must be non-empty; like every line it must not contain an
//! ASCII control character (signed-note). The spec only RECOMMENDS that it
//! avoid white space and `+`, and tells clients not to assume a format, so
//! [`Checkpoint::parse`] does not refuse them; the origins we write
//! ([`origin`]) never contain them. The root of a size-0 tree must be
//! `SHA-256("")` (RFC 6962 §2.1). The signed form is a signed note over this
//! text (see the `note` module).
//!
//! # Origin convention
//!
//! Each (tenant, epoch) of a log is its own tree, with origin
//!
//! ```text
//! <log name>/t/<tenant id>/e/<epoch>
//! ```
//!
//! e.g. `audit.example.com/t/acme-bank/e/3`, epoch in ASCII decimal without
//! leading zeroes. A [`TenantId`] never contains `/` and the two labels and
//! the epoch are fixed, so [`parse_origin`] splits from the right and is
//! unambiguous even though a [`LogName`] may contain `/` (and even
//! `/t/`). Every part uses only `[a-z0-9._/-]`: no spaces, no `+`, as
//! tlog-checkpoint recommends. The log key signs every origin of its log,
//! so its key name is the log name, not the origin (tlog-checkpoint says the
//! key name SHOULD match the origin; this is the documented exception).
//!
//! # Proof file (tlog-proof §Format)
//!
//! ```text
//! c2sp.org/tlog-proof@v1\n
//! extra <standard base64 of opaque data>\n      (only if there is extra data)
//! index <leaf index, ASCII decimal, no leading zeroes>\n
//! <base64 hash>\n   (the RFC 6962 §2.1.1 audit path, leaf sibling first; 0..=64 lines)
//! \n
//! <the signed checkpoint note, verbatim>
//! ```
//!
//! Implemented from the text of tlog-proof.md in C2SP/C2SP (2025). Choices
//! of ours where the spec is silent: an `extra` line with empty data is
//! refused (the spec omits the line when there is no extra data, so one
//! value has one encoding); an audit path longer than 64 hashes is refused
//! (no tree of at most 2^64 leaves needs more); the whole file is at most
//! [`MAX_PROOF_BYTES`]. The extra data is not authenticated; we never use it
//! for verification.
//!
//! In our logs the leaf input of an entry is its 32-byte entry hash, so its
//! leaf hash is `SHA-256(0x00 || entry_hash)`: see [`ProofLeaf`].

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::hash::Hash32;
use crate::id::{Epoch, IdError, LogName, TenantId};
use crate::keys::{KeyRing, Signer};
use crate::merkle::{leaf_hash, verify_inclusion, LeafIndex, MerkleError, TreeSize};
use crate::note::{open_note, sign_note, Note, NoteError, VerifiedNote, MAX_NOTE_BYTES};

/// First line of every proof file.
pub const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Longest audit path accepted in a proof file.
pub const MAX_PROOF_PATH: usize = 64;
/// Largest proof file accepted: a maximal note plus 64 KiB of header.
pub const MAX_PROOF_BYTES: usize = MAX_NOTE_BYTES + (64 << 10);
/// The label before the tenant id in an origin (`…/t/<tenant>/…`).
pub const ORIGIN_TENANT_LABEL: &str = "t";
/// The label before the epoch in an origin (`…/e/<epoch>`).
pub const ORIGIN_EPOCH_LABEL: &str = "e";

/// Errors of checkpoints, origins and proof files. Messages name the field
/// or check that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The checkpoint text (or a checkpoint being built) is malformed; the
    /// message names the line.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// An origin does not follow our convention `<log>/t/<tenant>/e/<epoch>`.
    #[error("origin does not follow <log>/t/<tenant>/e/<epoch>: {0}")]
    BadOrigin(&'static str),
    /// A part of an origin is not a valid identifier.
    #[error("origin has an invalid identifier")]
    BadOriginId(#[source] IdError),
    /// The checkpoint is for another log, tenant or epoch than expected.
    #[error("checkpoint origin is {found:?}, expected {expected:?}")]
    OriginMismatch {
        /// The origin the caller expected.
        expected: String,
        /// The origin in the signed checkpoint.
        found: String,
    },
    /// A proof file is malformed; the message names the line.
    #[error("malformed tlog-proof: {0}")]
    MalformedProof(&'static str),
    /// A proof file is larger than `MAX_PROOF_BYTES`.
    #[error("tlog-proof is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The signed note is malformed, or its signatures do not verify
    /// under the pinned keys.
    #[error("checkpoint note")]
    Note(#[from] NoteError),
    /// The leaf is not included at the index under the checkpoint's root.
    #[error("inclusion proof does not verify")]
    Inclusion(#[from] MerkleError),
}

/// The body of a checkpoint: origin, tree size, root hash and optional
/// extension lines. Only valid checkpoints can be built.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Checkpoint {
    origin: String,
    size: TreeSize,
    root: Hash32,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] if the origin is empty or contains a
    /// control character (a newline included), or if `size` is 0 and `root`
    /// is not `SHA-256("")`.
    pub fn new(
        origin: impl Into<String>,
        size: TreeSize,
        root: Hash32,
    ) -> Result<Checkpoint, CheckpointError> {
        let origin = origin.into();
        check_line(&origin, "origin line is empty or has a control character")?;
        check_empty_root(size, &root)?;
        Ok(Checkpoint {
            origin,
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Adds extension lines (tlog-checkpoint: opaque, NOT RECOMMENDED).
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] if a line is empty or has a control
    /// character.
    pub fn with_extensions(
        mut self,
        extensions: Vec<String>,
    ) -> Result<Checkpoint, CheckpointError> {
        for e in &extensions {
            check_line(e, "extension line is empty or has a control character")?;
        }
        self.extensions = extensions;
        Ok(self)
    }

    /// The origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// The tree size.
    pub fn size(&self) -> TreeSize {
        self.size
    }
    /// The RFC 6962 root hash.
    pub fn root(&self) -> &Hash32 {
        &self.root
    }
    /// The extension lines, without newlines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text: `origin\nsize\nbase64(root)\n` then each extension
    /// line and a newline.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size.0,
            B64.encode(self.root.0)
        );
        for e in &self.extensions {
            out.push_str(e);
            out.push('\n');
        }
        out
    }

    /// Parses a checkpoint text strictly: the format of the module docs,
    /// final newline required.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`], naming the offending line.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Malformed(
            "text does not end with a newline",
        ))?;
        let mut lines = body.split('\n');
        let (origin, size, root) = match (lines.next(), lines.next(), lines.next()) {
            (Some(o), Some(s), Some(r)) => (o, s, r),
            _ => return Err(CheckpointError::Malformed("fewer than three lines")),
        };
        let size = parse_decimal(size).ok_or(CheckpointError::Malformed(
            "tree size line is not a decimal number without leading zeroes",
        ))?;
        let root = parse_hash(root).ok_or(CheckpointError::Malformed(
            "root hash line is not canonical standard base64 of 32 bytes",
        ))?;
        let extensions = lines.map(str::to_owned).collect();
        Checkpoint::new(origin, TreeSize(size), root)?.with_extensions(extensions)
    }
}

/// Our origin for a tenant's tree in one epoch: `<log>/t/<tenant>/e/<epoch>`
/// (see the module docs).
pub fn origin(log: &LogName, tenant: &TenantId, epoch: Epoch) -> String {
    format!(
        "{log}/{ORIGIN_TENANT_LABEL}/{tenant}/{ORIGIN_EPOCH_LABEL}/{}",
        epoch.0
    )
}

/// Parses an origin written by [`origin`], from the right.
///
/// # Errors
/// [`CheckpointError::BadOrigin`] if the labels or the epoch are wrong;
/// [`CheckpointError::BadOriginId`] if the log name or tenant id is invalid.
pub fn parse_origin(s: &str) -> Result<(LogName, TenantId, Epoch), CheckpointError> {
    let mut parts = s.rsplitn(5, '/');
    let (epoch, e, tenant, t, log) = match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some(ep), Some(e), Some(te), Some(t), Some(l)) => (ep, e, te, t, l),
        _ => return Err(CheckpointError::BadOrigin("too few '/'-separated parts")),
    };
    if e != ORIGIN_EPOCH_LABEL || t != ORIGIN_TENANT_LABEL {
        return Err(CheckpointError::BadOrigin("missing the /t/ or /e/ label"));
    }
    let epoch = parse_decimal(epoch)
        .map(Epoch)
        .ok_or(CheckpointError::BadOrigin(
            "epoch is not a decimal number without leading zeroes",
        ))?;
    let tenant = TenantId::new(tenant).map_err(CheckpointError::BadOriginId)?;
    let log = LogName::new(log).map_err(CheckpointError::BadOriginId)?;
    Ok((log, tenant, epoch))
}

/// The hash by which later records (epoch links) refer to a signed
/// checkpoint: SHA-256 of the full signed-note bytes, signatures included.
pub fn note_hash(note_bytes: &[u8]) -> Hash32 {
    Hash32::digest(note_bytes)
}

/// A checkpoint together with the signed note that carries it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    note: String,
}

impl SignedCheckpoint {
    /// Signs the checkpoint text with every signer.
    ///
    /// # Errors
    /// [`CheckpointError::Note`] from [`sign_note`].
    pub fn sign(
        checkpoint: Checkpoint,
        signers: &[&dyn Signer],
    ) -> Result<SignedCheckpoint, CheckpointError> {
        let note = sign_note(&checkpoint.to_text(), signers)?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Verifies a signed checkpoint note against the pinned `keys` and
    /// parses its text. The caller must still check the origin.
    ///
    /// # Errors
    /// [`CheckpointError::Note`] from [`open_note`] (including
    /// [`NoteError::UnknownKey`]); [`CheckpointError::Malformed`].
    pub fn open(
        note_bytes: &[u8],
        keys: &KeyRing,
    ) -> Result<(Checkpoint, VerifiedNote), CheckpointError> {
        let verified = open_note(note_bytes, keys)?;
        let checkpoint = Checkpoint::parse(verified.text())?;
        Ok((checkpoint, verified))
    }

    /// Re-reads a note this log signed and stored earlier, **without
    /// verifying its signatures** — for the producer reading back its own
    /// store (the structure and checkpoint text are still parsed strictly).
    /// Verifiers use [`SignedCheckpoint::open`].
    ///
    /// # Errors
    /// [`CheckpointError::Note`], [`CheckpointError::Malformed`].
    pub fn dangerous_from_stored_unverified(
        note: String,
    ) -> Result<SignedCheckpoint, CheckpointError> {
        let parsed = crate::note::Note::parse(note.as_bytes())?;
        let checkpoint = Checkpoint::parse(&parsed.text)?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
    /// The full signed note (text, blank line, signature lines).
    pub fn note_text(&self) -> &str {
        &self.note
    }
    /// [`note_hash`] of [`Self::note_text`].
    pub fn note_hash(&self) -> Hash32 {
        note_hash(self.note.as_bytes())
    }
}

/// What a proof is checked for: the leaf hash is computed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofLeaf<'a> {
    /// An entry of our logs: the leaf input is the 32-byte entry hash, so
    /// the leaf hash is `SHA-256(0x00 || entry_hash)`.
    EntryHash(Hash32),
    /// Any leaf input (RFC 6962 `leaf_input`); hashed as `SHA-256(0x00 || input)`.
    Input(&'a [u8]),
    /// An already computed leaf hash.
    LeafHash(Hash32),
}

impl ProofLeaf<'_> {
    /// The RFC 6962 leaf hash.
    pub fn leaf_hash(&self) -> Hash32 {
        match self {
            ProofLeaf::EntryHash(h) => leaf_hash(&h.0),
            ProofLeaf::Input(b) => leaf_hash(b),
            ProofLeaf::LeafHash(h) => *h,
        }
    }
}

/// A `c2sp.org/tlog-proof@v1` file: the inclusion proof of one leaf,
/// with the signed checkpoint it is relative to. Parsed, not yet verified:
/// call [`InclusionProofFile::verify`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct InclusionProofFile {
    extra: Vec<u8>,
    index: LeafIndex,
    path: Vec<Hash32>,
    checkpoint_note: String,
}

impl InclusionProofFile {
    /// A proof of leaf `index` in the tree of `signed`.
    ///
    /// # Errors
    /// [`CheckpointError::MalformedProof`] if `path` has more than
    /// `MAX_PROOF_PATH` hashes.
    pub fn new(
        index: LeafIndex,
        path: Vec<Hash32>,
        signed: &SignedCheckpoint,
    ) -> Result<InclusionProofFile, CheckpointError> {
        Self::from_note(index, path, signed.note_text().to_owned())
    }

    /// A proof of leaf `index` relative to a signed checkpoint note given as
    /// text (for example as stored). The note is checked for structure, not
    /// for signatures.
    ///
    /// # Errors
    /// [`CheckpointError::MalformedProof`] if `path` is too long;
    /// [`CheckpointError::Note`] / [`CheckpointError::Malformed`] if the
    /// note or its checkpoint text is malformed.
    pub fn from_note(
        index: LeafIndex,
        path: Vec<Hash32>,
        checkpoint_note: String,
    ) -> Result<InclusionProofFile, CheckpointError> {
        if path.len() > MAX_PROOF_PATH {
            return Err(CheckpointError::MalformedProof(
                "audit path has more than 64 hashes",
            ));
        }
        let note = Note::parse(checkpoint_note.as_bytes())?;
        Checkpoint::parse(&note.text)?;
        Ok(InclusionProofFile {
            extra: Vec::new(),
            index,
            path,
            checkpoint_note,
        })
    }

    /// Sets the opaque extra data (unauthenticated; empty means none).
    pub fn with_extra(mut self, extra: Vec<u8>) -> InclusionProofFile {
        self.extra = extra;
        self
    }

    /// The leaf index.
    pub fn index(&self) -> LeafIndex {
        self.index
    }
    /// The audit path, leaf sibling first.
    pub fn path(&self) -> &[Hash32] {
        &self.path
    }
    /// The signed checkpoint note, verbatim.
    pub fn checkpoint_note(&self) -> &str {
        &self.checkpoint_note
    }
    /// The opaque extra data (empty if none). Not authenticated.
    pub fn extra(&self) -> &[u8] {
        &self.extra
    }

    /// The proof file text (format in the module docs).
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(64 + 45 * self.path.len() + self.checkpoint_note.len());
        out.push_str(PROOF_HEADER);
        out.push('\n');
        if !self.extra.is_empty() {
            out.push_str("extra ");
            out.push_str(&B64.encode(&self.extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index.0));
        for h in &self.path {
            out.push_str(&B64.encode(h.0));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint_note);
        out
    }

    /// Parses a proof file strictly (format in the module docs). The
    /// embedded note is checked for structure and its checkpoint text
    /// parsed; signatures are checked by [`Self::verify`].
    ///
    /// # Errors
    /// [`CheckpointError::TooLarge`], [`CheckpointError::MalformedProof`],
    /// and the errors of [`Note::parse`] and [`Checkpoint::parse`].
    pub fn parse(bytes: &[u8]) -> Result<InclusionProofFile, CheckpointError> {
        if bytes.len() > MAX_PROOF_BYTES {
            return Err(CheckpointError::TooLarge {
                size: bytes.len(),
                max: MAX_PROOF_BYTES,
            });
        }
        let s =
            std::str::from_utf8(bytes).map_err(|_| CheckpointError::MalformedProof("not UTF-8"))?;
        let mut rest = s;
        let mut line = next_line(&mut rest)?;
        if line != PROOF_HEADER {
            return Err(CheckpointError::MalformedProof(
                "first line is not c2sp.org/tlog-proof@v1",
            ));
        }
        line = next_line(&mut rest)?;
        let mut extra = Vec::new();
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = B64
                .decode(b64)
                .ok()
                .filter(|v| !v.is_empty() && B64.encode(v) == b64)
                .ok_or(CheckpointError::MalformedProof(
                    "extra line is not canonical base64 of non-empty data",
                ))?;
            line = next_line(&mut rest)?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(CheckpointError::MalformedProof("no 'index <decimal>' line"))?;
        let mut path = Vec::new();
        loop {
            line = next_line(&mut rest)?;
            if line.is_empty() {
                break;
            }
            if path.len() >= MAX_PROOF_PATH {
                return Err(CheckpointError::MalformedProof(
                    "audit path has more than 64 hashes",
                ));
            }
            path.push(parse_hash(line).ok_or(CheckpointError::MalformedProof(
                "audit path line is not canonical standard base64 of 32 bytes",
            ))?);
        }
        Ok(Self::from_note(LeafIndex(index), path, rest.to_owned())?.with_extra(extra))
    }

    /// Verifies the proof: the checkpoint note is signed by a pinned key
    /// ([`open_note`]), its origin is `expected_origin`, and `leaf` is leaf
    /// [`Self::index`] of the tree of the checkpoint's size and root
    /// (RFC 6962 §2.1.1, exact path length). Returns the checkpoint and the
    /// verified note (which keys signed).
    ///
    /// # Errors
    /// [`CheckpointError::Note`], [`CheckpointError::Malformed`],
    /// [`CheckpointError::OriginMismatch`], [`CheckpointError::Inclusion`].
    pub fn verify(
        &self,
        leaf: ProofLeaf<'_>,
        expected_origin: &str,
        keys: &KeyRing,
    ) -> Result<(Checkpoint, VerifiedNote), CheckpointError> {
        let (checkpoint, verified) = SignedCheckpoint::open(self.checkpoint_note.as_bytes(), keys)?;
        if checkpoint.origin() != expected_origin {
            return Err(CheckpointError::OriginMismatch {
                expected: expected_origin.to_owned(),
                found: checkpoint.origin().to_owned(),
            });
        }
        verify_inclusion(
            &leaf.leaf_hash(),
            self.index,
            checkpoint.size(),
            &self.path,
            checkpoint.root(),
        )?;
        Ok((checkpoint, verified))
    }
}

/// Takes the next `\n`-terminated line off `rest`.
fn next_line<'a>(rest: &mut &'a str) -> Result<&'a str, CheckpointError> {
    let (line, tail) = rest
        .split_once('\n')
        .ok_or(CheckpointError::MalformedProof(
            "truncated before the checkpoint",
        ))?;
    *rest = tail;
    Ok(line)
}

fn check_line(s: &str, what: &'static str) -> Result<(), CheckpointError> {
    if s.is_empty() || s.bytes().any(|b| b < 0x20) {
        return Err(CheckpointError::Malformed(what));
    }
    Ok(())
}

fn check_empty_root(size: TreeSize, root: &Hash32) -> Result<(), CheckpointError> {
    if size.0 == 0 && *root != Hash32::digest(b"") {
        return Err(CheckpointError::Malformed(
            "the root of an empty tree must be SHA-256 of the empty string",
        ));
    }
    Ok(())
}

/// ASCII decimal, no sign, no leading zeroes (except `0`), fits in `u64`.
fn parse_decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical {
        s.parse().ok()
    } else {
        None
    }
}

/// Canonical standard base64 of exactly 32 bytes.
fn parse_hash(s: &str) -> Option<Hash32> {
    if s.len() != 44 {
        return None;
    }
    let v = B64.decode(s).ok()?;
    let h = Hash32::from_slice(&v).ok()?;
    (B64.encode(h.0) == s).then_some(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::LocalSigner;

    #[test]
    fn go_checkpoint_text_vector_parses() {
        // golang.org/x/mod sumdb/tlog note_test.go, via tests/vectors/rfc6962.json.
        let text =
            "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
        let c = Checkpoint::parse(text).unwrap();
        assert_eq!(c.origin(), "go.sum database tree");
        assert_eq!(c.size(), TreeSize(123_456_789_012));
        assert_eq!(c.to_text(), text);
    }

    #[test]
    fn decimals_and_hashes_are_strict() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "18446744073709551616",
            "1_0",
            "١",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
        let h = B64.encode([7u8; 32]);
        assert!(parse_hash(&h).is_some());
        assert!(parse_hash(&h.replace('=', "")).is_none());
        assert!(parse_hash(&B64.encode([7u8; 31])).is_none());
        // Non-zero padding bits: same bytes, non-canonical text.
        let mut nc = h.clone();
        nc.replace_range(42..43, "d");
        assert!(parse_hash(&nc).is_none());
    }

    #[test]
    fn origins_round_trip_from_the_right() {
        let log = LogName::new("audit.example.com/t/x/e/1").unwrap();
        let tenant = TenantId::new("acme-bank").unwrap();
        let o = origin(&log, &tenant, Epoch(12));
        assert_eq!(o, "audit.example.com/t/x/e/1/t/acme-bank/e/12");
        assert_eq!(parse_origin(&o).unwrap(), (log, tenant, Epoch(12)));
        for bad in [
            "a/t/b/e/01",
            "a/t/b/x/1",
            "a/x/b/e/1",
            "t/b/e/1",
            "a/t/B/e/1",
            "a/t/b/e/",
            "/t/b/e/1",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sign_open_round_trip() {
        let s = LocalSigner::from_seed("log.example", &[3; 32]).unwrap();
        let c = Checkpoint::new("log.example/t/a/e/0", TreeSize(5), Hash32([1; 32])).unwrap();
        let signed = SignedCheckpoint::sign(c.clone(), &[&s]).unwrap();
        let ring = KeyRing::from_keys([s.verifier_key().clone()]);
        let (opened, v) = SignedCheckpoint::open(signed.note_text().as_bytes(), &ring).unwrap();
        assert_eq!(opened, c);
        assert_eq!(v.verified_by()[0].name(), "log.example");
        assert_eq!(
            signed.note_hash(),
            Hash32::digest(signed.note_text().as_bytes())
        );
    }
}
