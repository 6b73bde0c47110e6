//! The one canonical encoding: RFC 8785 (JCS) JSON, and every
//! domain-separation label of the format (SPEC §2).
//!
//! Everything that is hashed or signed is produced here. We do not use
//! `serde_json_canonicalizer`/`serde_jcs`: they silently round integers above
//! 2^53. This writer refuses them instead, refuses non-finite numbers, and
//! formats floats as ECMAScript `Number.prototype.toString` does (via
//! `ryu-js`), as RFC 8785 §3.2.2.3 requires.
//!
//! Parsing untrusted JSON ([`parse_strict`], [`decode_canonical`]) refuses
//! duplicate keys (serde_json silently keeps the last one), invalid UTF-8,
//! and — for canonical records — any byte sequence that is not exactly the
//! JCS form of what it parses to.

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::{Map, Number, Value};

mod scan;
pub use scan::is_canonical;
pub(crate) use scan::scan_object;

/// The format version written into every record of format v1 (SPEC §1).
pub const FORMAT_VERSION: u32 = 1;

/// Largest integer magnitude allowed in hashed JSON: 2^53 (RFC 8785 §3.2.2.3,
/// I-JSON). Larger values must be encoded as strings.
pub const MAX_SAFE_INTEGER: u64 = 1 << 53;

/// Label prefixed to the canonical envelope when computing an entry hash (SPEC §3.3).
pub const ENTRY_HASH_LABEL: &[u8] = b"ai-audit/v1/entry-hash\0";
/// Label prefixed to the entry hash in the message an entry signature signs (SPEC §3.4).
pub const ENTRY_SIGNATURE_LABEL: &[u8] = b"ai-audit/v1/entry-sig\0";
/// Label for the genesis value that entry 0 of a chain links to (SPEC §3.5).
pub const GENESIS_LABEL: &[u8] = b"ai-audit/v1/genesis\0";
/// Label for keyed commitments (HMAC-SHA256) to inputs, outputs and fields (SPEC §4.2).
pub const COMMITMENT_LABEL: &[u8] = b"ai-audit/v1/commitment\0";
/// Label for plain (unkeyed) digests of public material such as a model config (SPEC §4.3).
pub const DIGEST_LABEL: &[u8] = b"ai-audit/v1/digest\0";
/// Label for a data subject's pseudonymous ref, `HMAC(K_t, SUBJECT_LABEL || subject id)` (SPEC §4.4).
pub const SUBJECT_LABEL: &[u8] = b"ai-audit/v1/subject\0";
/// Label for the id of a data or commitment key, `SHA-256(DATA_KEY_ID_LABEL || key)` (SPEC §4.4).
pub const DATA_KEY_ID_LABEL: &[u8] = b"ai-audit/v1/data-key-id\0";
/// Label for the id of a local key-encryption key (SPEC §4.6).
pub const KEK_ID_LABEL: &[u8] = b"ai-audit/v1/kek-id\0";
/// Prefix of the AES-GCM associated data of a sealed field (SPEC §4.4).
pub const SEALED_FIELD_LABEL: &[u8] = b"ai-audit/v1/sealed-field\0";
/// Label for deriving a sealed field's one-time AES key from the data key (SPEC §4.4).
pub const FIELD_KEY_LABEL: &[u8] = b"ai-audit/v1/field-key\0";
/// Prefix of the AES-GCM associated data of a wrapped key (SPEC §4.6).
pub const KEY_WRAP_LABEL: &[u8] = b"ai-audit/v1/key-wrap\0";
/// Label for the digest of a monitor's parameters in a `monitor` entry (SPEC §11.2).
pub const MONITOR_PARAMS_LABEL: &[u8] = b"ai-audit/v1/monitor-params\0";
/// Label for the digest of a behavioural contract in a `contract` entry (SPEC §11.4).
pub const CONTRACT_LABEL: &[u8] = b"ai-audit/v1/contract\0";
/// Label for the digest of a compliance report embedded in a package (SPEC §11.3).
pub const REPORT_LABEL: &[u8] = b"ai-audit/v1/report\0";

/// Errors of the canonical encoding and of strict parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodingError {
    /// A number is NaN or infinite; JSON cannot carry it.
    #[error("non-finite number at {0}")]
    NonFinite(String),
    /// An integer is beyond ±2^53 and would be rounded by JSON readers.
    #[error("integer beyond 2^53 at {0}; encode it as a string")]
    IntegerTooLarge(String),
    /// The bytes are not UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// The JSON text is syntactically invalid.
    #[error("invalid JSON: {0}")]
    Syntax(String),
    /// An object repeats a key.
    #[error("duplicate key {0:?}")]
    DuplicateKey(String),
    /// The bytes parse, but are not the RFC 8785 canonical form.
    #[error("not RFC 8785 canonical JSON")]
    NonCanonical,
    /// The JSON does not have the shape of the expected record.
    #[error("record shape: {0}")]
    Shape(String),
    /// A value could not be serialised.
    #[error("serialise: {0}")]
    Serialize(String),
}

/// Serialises `value` to RFC 8785 canonical JSON bytes.
///
/// Records must hold floating-point values only as [`crate::Finite`]:
/// `serde_json` turns a bare NaN `f64` into `null` before this function can
/// see it.
///
/// # Errors
/// [`EncodingError::NonFinite`], [`EncodingError::IntegerTooLarge`] or
/// [`EncodingError::Serialize`].
pub fn to_canonical<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodingError> {
    let v = serde_json::to_value(value).map_err(|e| map_serde_error(&e))?;
    canonical_value(&v)
}

/// Serialises a record type straight to canonical bytes, without building a
/// JSON value: the fast path for the format's own record types.
///
/// Valid only for types whose fields are declared in RFC 8785 key order
/// (ASCII, sorted), that hold no maps, and whose floats are
/// [`crate::Finite`]; integers beyond ±2^53 are refused. The crate's tests
/// check every record type against [`to_canonical`].
///
/// # Errors
/// [`EncodingError::IntegerTooLarge`], [`EncodingError::Serialize`].
pub fn to_canonical_record<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodingError> {
    let mut out = Vec::with_capacity(512);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, JcsFormatter);
    value.serialize(&mut ser).map_err(|e| {
        if e.to_string().contains(TOO_LARGE) {
            EncodingError::IntegerTooLarge("record".into())
        } else {
            map_serde_error(&e)
        }
    })?;
    Ok(out)
}

const TOO_LARGE: &str = "integer beyond 2^53";

/// serde_json's compact output with RFC 8785 numbers. serde_json's string
/// escaping already equals RFC 8785 §3.2.2.2 (short escapes for `\b \t \n
/// \f \r`, `\u00xx` lowercase for other C0 controls, nothing else).
struct JcsFormatter;

impl serde_json::ser::Formatter for JcsFormatter {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f64) -> std::io::Result<()> {
        if !v.is_finite() {
            return Err(std::io::Error::other("non-finite number"));
        }
        if v == 0.0 {
            return w.write_all(b"0");
        }
        let mut buf = ryu_js::Buffer::new();
        w.write_all(buf.format_finite(v).as_bytes())
    }
    fn write_f32<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f32) -> std::io::Result<()> {
        self.write_f64(w, f64::from(v))
    }
    fn write_u64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: u64) -> std::io::Result<()> {
        if v > MAX_SAFE_INTEGER {
            return Err(std::io::Error::other(TOO_LARGE));
        }
        w.write_all(v.to_string().as_bytes())
    }
    fn write_i64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: i64) -> std::io::Result<()> {
        if v.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(std::io::Error::other(TOO_LARGE));
        }
        w.write_all(v.to_string().as_bytes())
    }
}

/// `SHA-256(label || JCS(value))`: the digest of a published record such as
/// monitor parameters or a contract (SPEC §11).
///
/// # Errors
/// As [`to_canonical`].
pub fn labelled_digest<T: Serialize + ?Sized>(
    label: &[u8],
    value: &T,
) -> Result<crate::hash::Hash32, EncodingError> {
    let bytes = to_canonical(value)?;
    Ok(crate::hash::Hash32::digest_parts(&[label, &bytes]))
}

/// Canonical bytes of an already built JSON value.
///
/// # Errors
/// As [`to_canonical`].
pub fn canonical_value(value: &Value) -> Result<Vec<u8>, EncodingError> {
    let mut out = Vec::with_capacity(512);
    write_value(&mut out, value, &mut String::from("$"))?;
    Ok(out)
}

/// Appends the canonical form of `value` to `out`.
///
/// # Errors
/// As [`to_canonical`].
pub fn write_canonical(out: &mut Vec<u8>, value: &Value) -> Result<(), EncodingError> {
    write_value(out, value, &mut String::from("$"))
}

fn map_serde_error(e: &serde_json::Error) -> EncodingError {
    let msg = e.to_string();
    if msg.contains("NaN") || msg.contains("infinite") {
        EncodingError::NonFinite(msg)
    } else {
        EncodingError::Serialize(msg)
    }
}

fn write_value(out: &mut Vec<u8>, v: &Value, path: &mut String) -> Result<(), EncodingError> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n, path)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                write_value(out, item, path)?;
                path.truncate(len);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // RFC 8785 §3.2.3: sort by the UTF-16 code units of the keys.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push(b'{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, k);
                out.push(b':');
                let len = path.len();
                path.push('.');
                path.push_str(k);
                if let Some(item) = map.get(*k) {
                    write_value(out, item, path)?;
                }
                path.truncate(len);
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_number(out: &mut Vec<u8>, n: &Number, path: &str) -> Result<(), EncodingError> {
    if let Some(u) = n.as_u64() {
        if u > MAX_SAFE_INTEGER {
            return Err(EncodingError::IntegerTooLarge(path.to_owned()));
        }
        out.extend_from_slice(u.to_string().as_bytes());
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(EncodingError::IntegerTooLarge(path.to_owned()));
        }
        out.extend_from_slice(i.to_string().as_bytes());
    } else {
        let f = n.as_f64().unwrap_or(f64::NAN);
        if !f.is_finite() {
            return Err(EncodingError::NonFinite(path.to_owned()));
        }
        if f == 0.0 {
            // ECMAScript prints -0 as "0".
            out.push(b'0');
        } else {
            let mut buf = ryu_js::Buffer::new();
            out.extend_from_slice(buf.format_finite(f).as_bytes());
        }
    }
    Ok(())
}

/// Appends `s` as a canonical JSON string.
///
/// RFC 8785 §3.2.2.2: escape `"`, `\` and C0 controls; `\b \t \n \f \r` use
/// their short forms, the rest `\u00xx` in lowercase hex; nothing else escaped.
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    // Fast path: nothing to escape (identifiers, codes, most text).
    if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            0x08 => Some(b"\\b"),
            0x09 => Some(b"\\t"),
            0x0a => Some(b"\\n"),
            0x0c => Some(b"\\f"),
            0x0d => Some(b"\\r"),
            0x00..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match esc {
            Some(e) => out.extend_from_slice(e),
            None => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends `bytes` as lowercase hex digits, without quotes (SPEC §2.3).
pub(crate) fn write_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 64];
    for chunk in bytes.chunks(32) {
        for (pair, &b) in buf.chunks_exact_mut(2).zip(chunk) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 0xf)];
        }
        out.extend_from_slice(&buf[..2 * chunk.len()]);
    }
}

/// Appends `bytes` as a JSON string of lowercase hex digits (SPEC §2.3).
pub(crate) fn write_hex_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    write_hex(out, bytes);
    out.push(b'"');
}

/// Appends a non-negative integer in decimal, with no range check (for
/// values the caller bounds below 2^53 itself).
pub(crate) fn write_u64_unchecked(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends a non-negative integer as RFC 8785 writes it.
///
/// # Errors
/// [`EncodingError::IntegerTooLarge`] above 2^53 (`at` names the field).
pub(crate) fn write_u64(out: &mut Vec<u8>, v: u64, at: &str) -> Result<(), EncodingError> {
    if v > MAX_SAFE_INTEGER {
        return Err(EncodingError::IntegerTooLarge(at.to_owned()));
    }
    write_u64_unchecked(out, v);
    Ok(())
}

/// Appends a number as ECMAScript `Number.prototype.toString` prints it
/// (RFC 8785 §3.2.2.3), `-0` as `0`.
///
/// # Errors
/// [`EncodingError::NonFinite`] for NaN and infinities (`at` names the field).
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64, at: &str) -> Result<(), EncodingError> {
    if !v.is_finite() {
        return Err(EncodingError::NonFinite(at.to_owned()));
    }
    if v == 0.0 {
        out.push(b'0');
    } else {
        let mut buf = ryu_js::Buffer::new();
        out.extend_from_slice(buf.format_finite(v).as_bytes());
    }
    Ok(())
}

/// Writes one JSON object member by member, for record types whose
/// canonical form is produced directly (no intermediate value). The caller
/// gives the members in RFC 8785 order; the direct writers are tested
/// against the generic encoder ([`to_canonical`]), and debug builds check
/// the order.
pub(crate) struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    members: usize,
    #[cfg(debug_assertions)]
    last: &'static str,
}

impl<'a> ObjectWriter<'a> {
    /// Opens the object.
    pub(crate) fn begin(out: &'a mut Vec<u8>) -> ObjectWriter<'a> {
        out.push(b'{');
        ObjectWriter {
            out,
            members: 0,
            #[cfg(debug_assertions)]
            last: "",
        }
    }

    /// Writes the next member's key (an ASCII name that needs no escaping)
    /// and returns the buffer for its value.
    pub(crate) fn key(&mut self, key: &'static str) -> &mut Vec<u8> {
        #[cfg(debug_assertions)]
        {
            debug_assert!(
                self.members == 0 || self.last < key,
                "members out of RFC 8785 order: {} then {key}",
                self.last
            );
            self.last = key;
        }
        self.out
            .extend_from_slice(if self.members > 0 { b",\"" } else { b"\"" });
        self.members += 1;
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// Closes the object.
    pub(crate) fn end(self) {
        self.out.push(b'}');
    }
}

/// Parses untrusted JSON bytes strictly: UTF-8 only, no duplicate keys, no
/// trailing data, numbers within the safe range.
///
/// # Errors
/// [`EncodingError::InvalidUtf8`], [`EncodingError::Syntax`],
/// [`EncodingError::DuplicateKey`].
pub fn parse_strict(bytes: &[u8]) -> Result<Value, EncodingError> {
    let text = std::str::from_utf8(bytes).map_err(|_| EncodingError::InvalidUtf8)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let v = StrictValue
        .deserialize(&mut de)
        .map_err(|e| classify_parse_error(&e))?;
    de.end().map_err(|e| EncodingError::Syntax(e.to_string()))?;
    Ok(v)
}

fn classify_parse_error(e: &serde_json::Error) -> EncodingError {
    let msg = e.to_string();
    if let Some(rest) = msg.strip_prefix(DUP_PREFIX) {
        let key = rest.split(DUP_SUFFIX).next().unwrap_or_default();
        EncodingError::DuplicateKey(key.to_owned())
    } else {
        EncodingError::Syntax(msg)
    }
}

const DUP_PREFIX: &str = "duplicate key \u{1}";
const DUP_SUFFIX: &str = "\u{1}";

/// Parses canonical bytes into `T`: strict parse, then a byte comparison with
/// the canonical re-encoding (so every record has exactly one accepted byte
/// form), then typed decoding (records deny unknown fields).
///
/// # Errors
/// Any [`EncodingError`]; [`EncodingError::NonCanonical`] when the bytes are
/// valid JSON in another form.
pub fn decode_canonical<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, EncodingError> {
    let v = parse_canonical(bytes)?;
    serde_json::from_value(v).map_err(|e| EncodingError::Shape(e.to_string()))
}

/// Strictly parses bytes that must be canonical and returns the value.
///
/// # Errors
/// As [`decode_canonical`].
pub fn parse_canonical(bytes: &[u8]) -> Result<Value, EncodingError> {
    let v = parse_strict(bytes)?;
    if canonical_value(&v)? != bytes {
        return Err(EncodingError::NonCanonical);
    }
    Ok(v)
}

/// A `serde_json::Value` deserializer that refuses duplicate object keys.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(de::Error::custom(format!("{DUP_PREFIX}{k}{DUP_SUFFIX}")));
            }
            let v = map.next_value_seed(StrictValue)?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// The binding of a sealed field (SPEC §4.4): the canonical JSON object
/// `{"entry":…,"field":…,"key":…,"subject":…,"tenant":…,"v":1}` (`subject`
/// omitted for a tenant-key field), with ids in lowercase hex. The AES-GCM
/// associated data is `SEALED_FIELD_LABEL || binding`; the one-time field
/// key is `HMAC-SHA256(data key, FIELD_KEY_LABEL || binding)`.
pub fn sealed_field_binding(
    tenant: &str,
    subject_hex: Option<&str>,
    entry_hex: &str,
    field: &str,
    key_hex: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(160 + tenant.len() + field.len());
    write_binding(
        &mut out,
        tenant,
        subject_hex.map(BindingId::Hex),
        BindingId::Hex(entry_hex),
        field,
        BindingId::Hex(key_hex),
    );
    out
}

/// Appends [`sealed_field_binding`] of the raw 16-byte ids (written in
/// lowercase hex) to `out`, without building any hex text first: what the
/// key store seals and opens with (same bytes, unit-tested).
pub(crate) fn write_sealed_field_binding(
    out: &mut Vec<u8>,
    tenant: &str,
    subject: Option<&[u8; 16]>,
    entry: &[u8; 16],
    field: &str,
    key: &[u8; 16],
) {
    write_binding(
        out,
        tenant,
        subject.map(BindingId::Raw),
        BindingId::Raw(entry),
        field,
        BindingId::Raw(key),
    );
}

/// An id inside a sealed-field binding: hex text as given, or raw bytes.
#[derive(Clone, Copy)]
enum BindingId<'a> {
    Hex(&'a str),
    Raw(&'a [u8; 16]),
}

impl BindingId<'_> {
    fn write(self, out: &mut Vec<u8>) {
        match self {
            BindingId::Hex(s) => write_string(out, s),
            BindingId::Raw(b) => write_hex_string(out, b),
        }
    }
}

/// The one writer of the binding's bytes (SPEC §4.4).
fn write_binding(
    out: &mut Vec<u8>,
    tenant: &str,
    subject: Option<BindingId<'_>>,
    entry: BindingId<'_>,
    field: &str,
    key: BindingId<'_>,
) {
    let mut o = ObjectWriter::begin(out);
    entry.write(o.key("entry"));
    write_string(o.key("field"), field);
    key.write(o.key("key"));
    if let Some(s) = subject {
        s.write(o.key("subject"));
    }
    write_string(o.key("tenant"), tenant);
    o.key("v").push(b'1');
    o.end();
}

/// The associated data of a wrapped key (SPEC §4.6):
/// `KEY_WRAP_LABEL || JCS({"id":…,"kek":…,"purpose":…,"subject":…,"tenant":…,"v":1})`
/// (`subject` omitted for tenant keys; `purpose` is `commitment` or `data`).
pub fn key_wrap_aad(
    tenant: &str,
    subject_hex: Option<&str>,
    purpose: &str,
    key_hex: &str,
    kek_hex: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(180 + tenant.len());
    out.extend_from_slice(KEY_WRAP_LABEL);
    let mut o = ObjectWriter::begin(&mut out);
    write_string(o.key("id"), key_hex);
    write_string(o.key("kek"), kek_hex);
    write_string(o.key("purpose"), purpose);
    if let Some(s) = subject_hex {
        write_string(o.key("subject"), s);
    }
    write_string(o.key("tenant"), tenant);
    o.key("v").push(b'1');
    o.end();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn binding_from_raw_ids_equals_the_binding_from_hex_text() {
        let (entry, key, subject) = ([0xe1u8; 16], [0x0cu8; 16], [0xa7u8; 16]);
        for subj in [None, Some(&subject)] {
            let hex_subject = subj.map(hex::encode);
            let text = sealed_field_binding(
                "acme-bank.eu_1",
                hex_subject.as_deref(),
                &hex::encode(entry),
                "raw_input",
                &hex::encode(key),
            );
            let mut raw = b"prefix".to_vec();
            write_sealed_field_binding(&mut raw, "acme-bank.eu_1", subj, &entry, "raw_input", &key);
            assert_eq!(&raw[..6], b"prefix", "appends");
            assert_eq!(raw[6..], text[..]);
        }
        // The SPEC §4.4 example, byte for byte.
        let mut raw = Vec::new();
        let h = |s: &str| -> [u8; 16] { hex::decode(s).unwrap().try_into().unwrap() };
        write_sealed_field_binding(
            &mut raw,
            "acme",
            Some(&h("c6949254ee76254ade46d61ffa80605f")),
            &h("e16546653a7fa707694eec6917b167e4"),
            "raw_input",
            &h("ccb135d81806bb2aabe2105ce3467c0c"),
        );
        assert_eq!(
            std::str::from_utf8(&raw).unwrap(),
            r#"{"entry":"e16546653a7fa707694eec6917b167e4","field":"raw_input","key":"ccb135d81806bb2aabe2105ce3467c0c","subject":"c6949254ee76254ade46d61ffa80605f","tenant":"acme","v":1}"#
        );
    }

    fn jcs(v: Value) -> String {
        String::from_utf8(canonical_value(&v).unwrap()).unwrap()
    }

    #[test]
    fn rfc8785_numbers() {
        // RFC 8785 Appendix B sample values.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (123456789012345680000.0, "123456789012345680000"),
            (4.50, "4.5"),
            (2e-3, "0.002"),
            (5e-324, "5e-324"),
            (-1.7976931348623157e308, "-1.7976931348623157e+308"),
            (333333333.3333333, "333333333.3333333"),
        ];
        for (f, want) in cases {
            assert_eq!(jcs(json!(f)), *want, "{f}");
        }
    }

    #[test]
    fn rfc8785_strings_and_ordering() {
        let v = json!({"\u{20ac}": "Euro", "\r": "CR", "1": "One", "\u{0080}": "ctl", "\u{1f600}": "smile", "\u{fb33}": "Hebrew", "\u{00f6}": "o"});
        // RFC 8785 §3.2.3 sorting example (UTF-16 order: the emoji's surrogate sorts before U+FB33).
        assert_eq!(
            jcs(v),
            "{\"\\r\":\"CR\",\"1\":\"One\",\"\u{0080}\":\"ctl\",\"\u{00f6}\":\"o\",\"\u{20ac}\":\"Euro\",\"\u{1f600}\":\"smile\",\"\u{fb33}\":\"Hebrew\"}"
        );
        assert_eq!(
            jcs(json!("\u{7}\u{1f}\"\\/\u{7f}é")),
            "\"\\u0007\\u001f\\\"\\\\/\u{7f}é\""
        );
    }

    #[test]
    fn refuses_large_integers_and_non_finite() {
        assert!(matches!(
            canonical_value(&json!({"a": [1u64 << 54]})),
            Err(EncodingError::IntegerTooLarge(p)) if p == "$.a[0]"
        ));
        assert!(canonical_value(&json!(1u64 << 53)).is_ok());
        assert!(matches!(
            canonical_value(&json!(-(1i64 << 60))),
            Err(EncodingError::IntegerTooLarge(_))
        ));
        assert!(matches!(canonical_value(&json!(1.5)), Ok(b) if b == b"1.5"));
    }

    #[test]
    fn strict_parse_refuses_duplicates_and_garbage() {
        assert_eq!(
            parse_strict(br#"{"a":1,"a":2}"#),
            Err(EncodingError::DuplicateKey("a".into()))
        );
        assert_eq!(
            parse_strict(br#"{"b":{"a":1,"a":2}}"#),
            Err(EncodingError::DuplicateKey("a".into()))
        );
        assert_eq!(parse_strict(b"\xff"), Err(EncodingError::InvalidUtf8));
        assert!(matches!(
            parse_strict(b"{} x"),
            Err(EncodingError::Syntax(_))
        ));
        assert!(matches!(
            parse_strict(b"1e999"),
            Err(EncodingError::Syntax(_))
        ));
    }

    #[test]
    fn canonical_parse_refuses_other_forms() {
        assert!(parse_canonical(br#"{"a":1,"b":[true,null]}"#).is_ok());
        for bad in [
            &br#"{"b":1,"a":1}"#[..],
            br#"{"a": 1}"#,
            br#"{"a":1.0}"#,
            br#"{"a":1e2}"#,
            br#"{"a":"\u0041"}"#,
        ] {
            assert_eq!(
                parse_canonical(bad),
                Err(EncodingError::NonCanonical),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
