//! The entry envelope shared by every kind, its hash, signature and chain
//! link (SPEC §3).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::{Body, EntryKind};
use crate::clock::Timestamp;
use crate::encoding::{
    self, EncodingError, ENTRY_HASH_LABEL, ENTRY_SIGNATURE_LABEL, FORMAT_VERSION, GENESIS_LABEL,
};
use crate::hash::Hash32;
use crate::id::{EntryId, Epoch, LogName, Seq, TenantId};
use crate::keys::{KeyError, KeyId, Signature, Signer, VerifierKey};

/// Errors of building or reading an entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The record's format version is not one this library reads.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u64),
    /// The bytes are not a well-formed canonical entry.
    #[error("malformed entry: {0}")]
    Malformed(#[from] EncodingError),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(#[from] KeyError),
    /// `seq` would pass 2^53.
    #[error("sequence number overflow")]
    SeqOverflow,
}

/// The wire form of a stored entry (one JSONL line, canonical JSON).
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Entry")]
struct Wire {
    /// Format version, 1.
    v: u64,
    /// Log name of the deployment.
    log: LogName,
    /// Tenant.
    tenant: TenantId,
    /// Epoch of the tenant's log.
    epoch: Epoch,
    /// 0-based contiguous position in the tenant's chain.
    seq: Seq,
    /// Hash of entry seq-1, or the genesis value for seq 0.
    prev: Hash32,
    /// Random unique id.
    id: EntryId,
    /// Creation time.
    ts: Timestamp,
    /// Kind, selecting the body schema.
    kind: EntryKind,
    /// Key id of the log key that signs or seals it.
    key_id: KeyId,
    /// Kind-specific body.
    body: Value,
    /// Entry hash (SPEC §3.3).
    hash: Hash32,
    /// Ed25519 signature over the entry hash (absent when batch-sealed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sig: Option<Signature>,
}

/// The JSON Schema of the entry envelope.
pub fn envelope_schema() -> schemars::Schema {
    schemars::schema_for!(Wire)
}

/// Position and identity of an entry, fixed when it is chained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Log name.
    pub log: LogName,
    /// Tenant.
    pub tenant: TenantId,
    /// Epoch.
    pub epoch: Epoch,
    /// Sequence number.
    pub seq: Seq,
    /// Link to the previous entry (or genesis).
    pub prev: Hash32,
    /// Unique id.
    pub id: EntryId,
    /// Timestamp.
    pub ts: Timestamp,
}

/// How an entry is authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SigningMode {
    /// Every entry carries its own Ed25519 signature.
    PerEntry,
    /// Entries carry no signature; signed checkpoints cover them.
    BatchSealed,
}

/// A chained entry: envelope, body, hash and (optionally) signature.
///
/// An `Entry` read from bytes is *well-formed* but not verified: its hash and
/// signature are claims until chain verification ([`crate::verify_chain`]) checks them.
#[derive(Clone, PartialEq)]
pub struct Entry {
    header: Header,
    kind: EntryKind,
    key_id: KeyId,
    /// The canonical JSONL line (without the newline), written once. The
    /// body's canonical bytes are `line[BODY_AT..BODY_AT + body_len]`.
    line: Box<[u8]>,
    body_len: usize,
    /// Where `,"hash":"…"` and `,"sig":"…"` start in `line`: the entry hash
    /// covers the line without them (SPEC §3.3).
    hash_at: usize,
    sig_at: Option<usize>,
    hash: Hash32,
    sig: Option<Signature>,
}

impl std::fmt::Debug for Entry {
    /// The entry's fields, as before lines were kept (not the line itself).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("header", &self.header)
            .field("kind", &self.kind)
            .field("key_id", &self.key_id)
            .field("body_jcs", &self.body_bytes())
            .field("hash", &self.hash)
            .field("sig", &self.sig)
            .finish()
    }
}

/// Where the body starts in a line: after `{"body":`.
const BODY_AT: usize = br#"{"body":"#.len();
/// `,"hash":"` + 64 hex digits + `"`.
const HASH_FIELD_LEN: usize = br#","hash":""#.len() + 64 + 1;
/// `,"sig":"` + 88 base64 characters + `"`.
const SIG_FIELD_LEN: usize = br#","sig":""#.len() + 88 + 1;

/// A per-entry-signed entry whose line and hash are final but whose
/// signature is not made yet ([`Entry::seal_jcs_unsigned`]); only
/// [`Unsigned::sign`] turns it into an [`Entry`].
pub(crate) struct Unsigned(Entry);

impl Unsigned {
    /// The entry hash (what the next entry links to).
    pub(crate) fn hash(&self) -> &Hash32 {
        &self.0.hash
    }

    /// Signs the entry hash and fills the signature slot.
    ///
    /// # Errors
    /// [`EntryError::Sign`] if the signer fails.
    pub(crate) fn sign(self, signer: &dyn Signer) -> Result<Entry, EntryError> {
        let Unsigned(mut entry) = self;
        let sig = signer.sign(&signature_message(&entry.hash))?;
        if let Some(at) = entry.sig_at {
            fill_sig(&mut entry.line, at, &sig);
        }
        entry.sig = Some(sig);
        Ok(entry)
    }
}

/// The genesis value entry 0 of a chain links to:
/// `SHA-256(GENESIS_LABEL || JCS({"log":…,"tenant":…,"v":1}))` (SPEC §3.5).
pub fn genesis(log: &LogName, tenant: &TenantId) -> Hash32 {
    let json = format!(
        "{{\"log\":{},\"tenant\":{},\"v\":{FORMAT_VERSION}}}",
        json_str(log.as_str()),
        json_str(tenant.as_str())
    );
    Hash32::digest_parts(&[GENESIS_LABEL, json.as_bytes()])
}

fn json_str(s: &str) -> String {
    // Identifiers are restricted to characters JSON never escapes.
    format!("\"{s}\"")
}

/// The message an entry signature signs: `ENTRY_SIGNATURE_LABEL || hash` (SPEC §3.4).
pub fn signature_message(hash: &Hash32) -> [u8; SIGNATURE_MESSAGE_LEN] {
    let mut m = [0u8; SIGNATURE_MESSAGE_LEN];
    let (label, digest) = m.split_at_mut(ENTRY_SIGNATURE_LABEL.len());
    label.copy_from_slice(ENTRY_SIGNATURE_LABEL);
    digest.copy_from_slice(&hash.0);
    m
}

/// Length of [`signature_message`]'s output.
pub const SIGNATURE_MESSAGE_LEN: usize = ENTRY_SIGNATURE_LABEL.len() + 32;

impl Entry {
    /// Chains a body at `header`: computes the entry hash and, in
    /// [`SigningMode::PerEntry`], signs it with `signer`.
    ///
    /// # Errors
    /// [`EntryError::Malformed`] if the body cannot be encoded,
    /// [`EntryError::Sign`] if the signer fails.
    pub fn seal(
        header: Header,
        body: &Body,
        signer: &dyn Signer,
        mode: SigningMode,
    ) -> Result<Entry, EntryError> {
        let body_jcs = body.to_canonical()?;
        Self::seal_jcs(header, body.kind(), &body_jcs, signer, mode)
    }

    /// Seals a body given as canonical bytes (produced by [`Body::to_canonical`]).
    ///
    /// The line is written once, with room for the hash (and signature);
    /// the entry hash is taken over the line without those fields (which is
    /// the unauthenticated envelope, keys being in sorted order), then they
    /// are filled in place.
    pub(crate) fn seal_jcs(
        header: Header,
        kind: EntryKind,
        body_jcs: &[u8],
        signer: &dyn Signer,
        mode: SigningMode,
    ) -> Result<Entry, EntryError> {
        let key_id = signer.verifier_key().id();
        match mode {
            SigningMode::PerEntry => {
                Self::seal_jcs_unsigned(header, kind, body_jcs, key_id)?.sign(signer)
            }
            SigningMode::BatchSealed => Self::write_sealed(header, kind, body_jcs, key_id, false),
        }
    }

    /// The first half of [`Entry::seal_jcs`] in [`SigningMode::PerEntry`]:
    /// the line written and hashed, its signature slot still empty. The
    /// entry hash never depends on the signature, so a batch can be chained
    /// first and its signatures made afterwards, on several threads.
    pub(crate) fn seal_jcs_unsigned(
        header: Header,
        kind: EntryKind,
        body_jcs: &[u8],
        key_id: KeyId,
    ) -> Result<Unsigned, EntryError> {
        Ok(Unsigned(Self::write_sealed(
            header, kind, body_jcs, key_id, true,
        )?))
    }

    /// Writes the line (with a zeroed signature slot when `slot`) and fills
    /// in the entry hash; the entry carries no signature yet.
    fn write_sealed(
        header: Header,
        kind: EntryKind,
        body_jcs: &[u8],
        key_id: KeyId,
        slot: bool,
    ) -> Result<Entry, EntryError> {
        if header.seq.0 > encoding::MAX_SAFE_INTEGER {
            return Err(EntryError::SeqOverflow);
        }
        let placeholder = slot.then_some(Signature([0u8; 64]));
        let mut e = Entry::assemble(header, kind, key_id, body_jcs, Hash32::ZERO, placeholder);
        e.hash = hashed_slices(&e.line, e.hash_at, e.sig_at);
        fill_hash(&mut e.line, e.hash_at, &e.hash);
        e.sig = None;
        Ok(e)
    }

    /// An entry with the given claimed hash and signature, its line written
    /// from the fields (what [`Entry::from_line`] builds).
    fn assemble(
        header: Header,
        kind: EntryKind,
        key_id: KeyId,
        body_jcs: &[u8],
        hash: Hash32,
        sig: Option<Signature>,
    ) -> Entry {
        let mut line = Vec::new();
        let (hash_at, sig_at) = write_envelope(
            &mut line,
            &header,
            kind,
            key_id,
            body_jcs,
            Some((&hash, sig.as_ref())),
        );
        Entry {
            header,
            kind,
            key_id,
            line: line.into_boxed_slice(),
            body_len: body_jcs.len(),
            hash_at,
            sig_at,
            hash,
            sig,
        }
    }

    /// Takes the entry apart into what [`Entry::seal_jcs`] needs to chain
    /// the same body again at another position: id, kind and body bytes.
    pub(crate) fn into_unchained(self) -> (EntryId, EntryKind, Vec<u8>) {
        let body = self.body_bytes().to_vec();
        (self.header.id, self.kind, body)
    }

    /// Reads one canonical JSONL line (without the newline).
    ///
    /// # Errors
    /// [`EntryError::UnsupportedVersion`] for a version other than 1,
    /// [`EntryError::Malformed`] for anything not canonical or not of the
    /// envelope's shape (the body's shape is checked by [`Entry::body`]).
    pub fn from_line(line: &[u8]) -> Result<Entry, EntryError> {
        Self::from_line_hashed(line).map(|(e, _)| e)
    }

    /// As [`Entry::from_line`], also giving the entry's content hash (what
    /// [`Entry::computed_hash`] returns) when it was taken from the line's
    /// own bytes: for a canonical line, the hashed envelope (SPEC §3.3) is
    /// the line without its `hash` and `sig` members, so no re-encoding is
    /// needed.
    ///
    /// The direct reader ([`read_line`]) accepts only lines that the
    /// generic one accepts, into the same entry; it hands everything else,
    /// and every error, to the generic reader.
    pub(crate) fn from_line_hashed(line: &[u8]) -> Result<(Entry, Option<LineHash>), EntryError> {
        match read_line(line) {
            Some((e, h)) => Ok((e, Some(LineHash(h)))),
            None => Self::from_line_generic(line).map(|e| (e, None)),
        }
    }

    /// The generic reader: strict parse into a JSON value, canonical
    /// comparison, version, then the serde shape of [`Wire`].
    fn from_line_generic(line: &[u8]) -> Result<Entry, EntryError> {
        let v = encoding::parse_canonical(line)?;
        if let Some(ver) = v.get("v").and_then(Value::as_u64) {
            if ver != u64::from(FORMAT_VERSION) {
                return Err(EntryError::UnsupportedVersion(ver));
            }
        }
        if v.get("sig").is_some_and(Value::is_null) {
            // An absent signature is written by omitting `sig`, never as null:
            // one record, one encoding (SPEC §3.1).
            return Err(EncodingError::Shape("sig must be omitted, not null".into()).into());
        }
        let w: Wire = serde_json::from_value(v).map_err(|e| EncodingError::Shape(e.to_string()))?;
        let body_jcs = encoding::canonical_value(&w.body)?;
        let header = Header {
            log: w.log,
            tenant: w.tenant,
            epoch: w.epoch,
            seq: w.seq,
            prev: w.prev,
            id: w.id,
            ts: w.ts,
        };
        Ok(Entry::assemble(
            header, w.kind, w.key_id, &body_jcs, w.hash, w.sig,
        ))
    }

    /// The canonical JSONL line (without the newline).
    ///
    /// # Errors
    /// Never in practice; kept fallible so encodings can grow checks.
    pub fn to_line(&self) -> Result<Vec<u8>, EntryError> {
        Ok(self.line.to_vec())
    }

    /// The canonical JSONL line (without the newline), borrowed: the bytes
    /// a store keeps.
    pub fn line(&self) -> &[u8] {
        &self.line
    }

    /// Recomputes the entry hash from the content (what verification compares
    /// with [`Entry::hash`]).
    ///
    /// # Errors
    /// [`EntryError::Malformed`] if the body holds unencodable values.
    pub fn computed_hash(&self) -> Result<Hash32, EntryError> {
        Ok(hashed_slices(&self.line, self.hash_at, self.sig_at))
    }

    /// Checks this entry's signature with `key`.
    ///
    /// # Errors
    /// [`KeyError::BadSignature`] when missing or invalid.
    pub fn verify_signature(&self, key: &VerifierKey) -> Result<(), KeyError> {
        match &self.sig {
            Some(sig) => key.verify(&signature_message(&self.hash), sig),
            None => Err(KeyError::BadSignature),
        }
    }

    /// The typed body, strictly decoded.
    ///
    /// # Errors
    /// [`EncodingError::Shape`] when the body does not match its kind's schema.
    pub fn body(&self) -> Result<Body, EncodingError> {
        Body::from_canonical(self.kind, self.body_bytes())
    }

    /// [`Entry::body`] for an entry that [`Entry::from_line_hashed`] read
    /// directly (the token proves it): its body bytes are a member of a
    /// line the canonical acceptor accepted, so they are canonical and that
    /// check is not repeated.
    pub(crate) fn body_of_line(&self, _read_directly: &LineHash) -> Result<Body, EncodingError> {
        Body::from_known_canonical(self.kind, self.body_bytes())
    }

    /// [`Entry::body_of_line`] reduced to what verification keeps: the key
    /// a `key_rotation` body introduces, or the same error; a decision
    /// body is checked without being built ([`Body::check_known_canonical`]).
    pub(crate) fn check_body_of_line(
        &self,
        _read_directly: &LineHash,
    ) -> Result<Option<VerifierKey>, EncodingError> {
        Body::check_known_canonical(self.kind, self.body_bytes())
    }

    /// The body as a generic JSON value.
    ///
    /// # Errors
    /// Never for an entry built by this library or read by
    /// [`Entry::from_line`] (their body bytes are canonical JSON).
    pub fn body_value(&self) -> Result<Value, EncodingError> {
        serde_json::from_slice(self.body_bytes()).map_err(|e| EncodingError::Syntax(e.to_string()))
    }

    /// The body's canonical bytes.
    pub fn body_bytes(&self) -> &[u8] {
        // Always in range: `body_len` is the length written at `BODY_AT`.
        self.line
            .get(BODY_AT..BODY_AT + self.body_len)
            .unwrap_or_default()
    }
    /// Position and identity.
    pub fn header(&self) -> &Header {
        &self.header
    }
    /// Tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.header.tenant
    }
    /// Sequence number.
    pub fn seq(&self) -> Seq {
        self.header.seq
    }
    /// Epoch.
    pub fn epoch(&self) -> Epoch {
        self.header.epoch
    }
    /// Link to the previous entry.
    pub fn prev(&self) -> &Hash32 {
        &self.header.prev
    }
    /// Entry id.
    pub fn id(&self) -> EntryId {
        self.header.id
    }
    /// Timestamp.
    pub fn ts(&self) -> Timestamp {
        self.header.ts
    }
    /// Kind.
    pub fn kind(&self) -> EntryKind {
        self.kind
    }
    /// Key id of the log key.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }
    /// The claimed entry hash.
    pub fn hash(&self) -> &Hash32 {
        &self.hash
    }
    /// The signature, when per-entry signed.
    pub fn signature(&self) -> Option<&Signature> {
        self.sig.as_ref()
    }
}

// The direct reader of canonical lines (`read_line`) and its helpers.
mod read;
pub use read::entry_line_readers_agree;
pub(crate) use read::LineHash;
use read::*;

/// `SHA-256(ENTRY_HASH_LABEL || line without its hash and sig fields)`
/// (SPEC §3.3), fed in slices: `hash_at`/`sig_at` are where
/// [`write_envelope`] put `,"hash":"…"` and `,"sig":"…"`.
fn hashed_slices(line: &[u8], hash_at: usize, sig_at: Option<usize>) -> Hash32 {
    let after_hash = hash_at + HASH_FIELD_LEN;
    let (mid, tail) = match sig_at {
        Some(at) => (line.get(after_hash..at), line.get(at + SIG_FIELD_LEN..)),
        None => (line.get(after_hash..), Some(&[][..])),
    };
    let head = line.get(..hash_at);
    // The offsets come from the writer, so every slice is in range.
    Hash32::digest_parts(&[
        ENTRY_HASH_LABEL,
        head.unwrap_or_default(),
        mid.unwrap_or_default(),
        tail.unwrap_or_default(),
    ])
}

/// Writes the hash's 64 hex digits into the slot at `hash_at`.
fn fill_hash(line: &mut [u8], hash_at: usize, hash: &Hash32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let start = hash_at + br#","hash":""#.len();
    if let Some(slot) = line.get_mut(start..start + 64) {
        for (pair, &b) in slot.chunks_exact_mut(2).zip(&hash.0) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 0xf)];
        }
    }
}

/// Writes the signature's 88 base64 characters into the slot at `sig_at`.
fn fill_sig(line: &mut [u8], sig_at: usize, sig: &Signature) {
    let start = sig_at + br#","sig":""#.len();
    if let Some(slot) = line.get_mut(start..start + 88) {
        // 64 bytes are always exactly 88 base64 characters.
        let _ = B64.encode_slice(sig.0, slot);
    }
}

/// Writes the envelope in RFC 8785 form directly (no intermediate JSON
/// value, no `fmt` machinery): keys in code-unit order `body, epoch, hash,
/// id, key_id, kind, log, prev, seq, sig, tenant, ts, v`, with `hash`/`sig`
/// only when `auth` is given. Returns where `,"hash":"` starts (where it
/// would start when `auth` is `None`) and where `,"sig":"` starts, if
/// written. Tests check it against the generic encoder.
fn write_envelope(
    out: &mut Vec<u8>,
    h: &Header,
    kind: EntryKind,
    key_id: KeyId,
    body_jcs: &[u8],
    auth: Option<(&Hash32, Option<&Signature>)>,
) -> (usize, Option<usize>) {
    out.reserve_exact(envelope_len(h, kind, body_jcs.len(), auth));
    out.extend_from_slice(b"{\"body\":");
    out.extend_from_slice(body_jcs);
    out.extend_from_slice(b",\"epoch\":");
    encoding::write_u64_unchecked(out, h.epoch.0);
    let hash_at = out.len();
    if let Some((hash, _)) = auth {
        out.extend_from_slice(b",\"hash\":\"");
        encoding::write_hex(out, &hash.0);
        out.push(b'"');
    }
    out.extend_from_slice(b",\"id\":\"");
    encoding::write_hex(out, &h.id.0);
    out.extend_from_slice(b"\",\"key_id\":\"");
    encoding::write_hex(out, &key_id.0);
    out.extend_from_slice(b"\",\"kind\":\"");
    out.extend_from_slice(kind.as_str().as_bytes());
    out.extend_from_slice(b"\",\"log\":");
    encoding::write_string(out, h.log.as_str());
    out.extend_from_slice(b",\"prev\":\"");
    encoding::write_hex(out, &h.prev.0);
    out.extend_from_slice(b"\",\"seq\":");
    encoding::write_u64_unchecked(out, h.seq.0);
    let mut sig_at = None;
    if let Some((_, Some(sig))) = auth {
        sig_at = Some(out.len());
        out.extend_from_slice(b",\"sig\":\"");
        let mut b64 = [0u8; 88];
        // 64 bytes are always exactly 88 base64 characters.
        let n = B64.encode_slice(sig.0, &mut b64).unwrap_or(0);
        out.extend_from_slice(&b64[..n]);
        out.push(b'"');
    }
    out.extend_from_slice(b",\"tenant\":");
    encoding::write_string(out, h.tenant.as_str());
    out.extend_from_slice(b",\"ts\":\"");
    out.extend_from_slice(&h.ts.to_text());
    out.extend_from_slice(b"\",\"v\":");
    encoding::write_u64_unchecked(out, u64::from(FORMAT_VERSION));
    out.push(b'}');
    (hash_at, sig_at)
}

/// The exact length of what [`write_envelope`] writes, so that a line is
/// allocated once at its final size (a stored line is never reallocated).
fn envelope_len(
    h: &Header,
    kind: EntryKind,
    body_len: usize,
    auth: Option<(&Hash32, Option<&Signature>)>,
) -> usize {
    const FIXED: usize = r#"{"body":,"epoch":,"id":"","key_id":"","kind":"","log":,"prev":"","seq":,"tenant":,"ts":"","v":}"#.len()
        + 32 // id
        + 8 // key_id
        + 64 // prev
        + 27; // ts
    let mut n = FIXED
        + body_len
        + decimal_len(h.epoch.0)
        + kind.as_str().len()
        + json_string_len(h.log.as_str())
        + decimal_len(h.seq.0)
        + json_string_len(h.tenant.as_str())
        + decimal_len(u64::from(FORMAT_VERSION));
    if let Some((_, sig)) = auth {
        n += r#","hash":"""#.len() + 64;
        if sig.is_some() {
            n += r#","sig":"""#.len() + 88;
        }
    }
    n
}

/// Digits of `v` in decimal.
fn decimal_len(v: u64) -> usize {
    v.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Length of `s` written by [`encoding::write_string`], quotes included.
fn json_string_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | 0x08 | 0x09 | 0x0a | 0x0c | 0x0d => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod read_tests;
