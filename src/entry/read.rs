//! The direct reader of a canonical entry line ([`read_line`]): one pass of
//! the canonical acceptor, each member decoded from its bytes, and the
//! content hash taken over the line's slices (SPEC §3).

use super::*;

/// For the fuzz target: whether the direct line reader agrees with the
/// generic one on `line` (it accepts only what the generic reader accepts,
/// into the same entry and content hash, and its body decoding, full and
/// check-only, gives the generic body decoding's answer). Not part of the
/// API.
#[doc(hidden)]
pub fn entry_line_readers_agree(line: &[u8]) -> bool {
    let generic = Entry::from_line_generic(line);
    let Some((e, h)) = read_line(line) else {
        return true;
    };
    let Ok(g) = generic else {
        return false;
    };
    let generic_body = g.body();
    let same_body = match (e.body_of_line(&LineHash(h)), &generic_body) {
        (Ok(a), Ok(b)) => &a == b,
        (Err(a), Err(b)) => &a == b,
        _ => false,
    };
    // The check-only decoding verification uses: the same verdict, error
    // and introduced key.
    let same_check = match (e.check_body_of_line(&LineHash(h)), generic_body) {
        (Ok(k), Ok(b)) => k == b.into_new_key(),
        (Err(a), Err(b)) => a == b,
        _ => false,
    };
    e == g && g.computed_hash().is_ok_and(|c| c == h) && same_body && same_check
}

/// The content hash of an entry read directly from a canonical line
/// ([`Entry::from_line_hashed`]); only that reader makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LineHash(pub(super) Hash32);

impl LineHash {
    /// The hash (what [`Entry::computed_hash`] computes).
    pub(crate) fn hash(&self) -> Hash32 {
        self.0
    }
}

/// The envelope members in RFC 8785 order (SPEC §3.1); `sig` is optional.
pub(super) const MEMBERS: [&[u8]; 13] = [
    b"body", b"epoch", b"hash", b"id", b"key_id", b"kind", b"log", b"prev", b"seq", b"sig",
    b"tenant", b"ts", b"v",
];
pub(super) const M_BODY: usize = 0;
pub(super) const M_EPOCH: usize = 1;
pub(super) const M_HASH: usize = 2;
pub(super) const M_ID: usize = 3;
pub(super) const M_KEY_ID: usize = 4;
pub(super) const M_KIND: usize = 5;
pub(super) const M_LOG: usize = 6;
pub(super) const M_PREV: usize = 7;
pub(super) const M_SEQ: usize = 8;
pub(super) const M_SIG: usize = 9;
pub(super) const M_TENANT: usize = 10;
pub(super) const M_TS: usize = 11;
pub(super) const M_V: usize = 12;

/// The direct reader of a canonical line: one pass of the canonical
/// acceptor yielding the members' byte ranges, each field decoded from its
/// bytes with the validators the [`Wire`] fields use, and the content hash
/// taken from the line's slices. Every field must be written exactly as
/// [`write_envelope`] writes the decoded value (so that the hash of the
/// slices is the hash of the content); `None` on anything else, for the
/// generic reader to accept or explain.
pub(super) fn read_line(line: &[u8]) -> Option<(Entry, Hash32)> {
    let mut at: [Option<std::ops::Range<usize>>; 13] = Default::default();
    let mut next = 0usize;
    let mut shape = true;
    let canonical = encoding::scan_object(line, &mut |key, value| {
        // Keys arrive strictly increasing: a forward search finds each.
        while MEMBERS.get(next).is_some_and(|k| *k != key) {
            next += 1;
        }
        match at.get_mut(next) {
            Some(slot) => {
                *slot = Some(value);
                next += 1;
            }
            None => shape = false,
        }
    });
    if !canonical || !shape {
        return None;
    }
    let bytes = |i: usize| -> Option<&[u8]> { line.get(at.get(i)?.clone()?) };
    // The body is the first member; the others follow it (keys arrive in
    // order). The acceptor took only valid UTF-8, so what follows the body
    // is text: checked once here, not once per member.
    let body = at.get(M_BODY)?.clone()?;
    let rest = std::str::from_utf8(line.get(body.end..)?).ok()?;
    // A string value, as text. Escapes are left in: each decoder below
    // refuses a backslash, as it refuses every byte outside its ASCII
    // alphabet, so a string with escapes is refused as before.
    let text = |i: usize| -> Option<&str> {
        let r = at.get(i)?.clone()?;
        let s = rest.get(r.start.checked_sub(body.end)?..r.end.checked_sub(body.end)?)?;
        s.strip_prefix('"')?.strip_suffix('"')
    };
    // A non-negative integer up to 2^53 in plain digits. (The acceptor
    // also takes longer digit strings that print back the same as a
    // double, such as 10^20; serde refuses those for a u64, so must this.)
    let uint = |i: usize| -> Option<u64> {
        let b = bytes(i)?;
        if b.is_empty() || b.len() > 16 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = b.iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
        (v <= encoding::MAX_SAFE_INTEGER).then_some(v)
    };
    if bytes(M_V)? != b"1" {
        return None;
    }
    // The one text of its instant (so written back the same), from the
    // string's bytes: the form has no escapes and no other than ASCII.
    let ts = Timestamp::parse_bytes(bytes(M_TS)?.strip_prefix(b"\"")?.strip_suffix(b"\"")?).ok()?;
    let sig = match at.get(M_SIG)? {
        Some(_) => Some(signature_from_text(text(M_SIG)?)?),
        None => None,
    };
    let header = Header {
        log: shared_log(text(M_LOG)?)?,
        tenant: shared_tenant(text(M_TENANT)?)?,
        epoch: Epoch(uint(M_EPOCH)?),
        seq: Seq(uint(M_SEQ)?),
        prev: Hash32::from_hex(text(M_PREV)?).ok()?,
        id: EntryId::from_hex(text(M_ID)?).ok()?,
        ts,
    };
    let kind = kind_from_wire(text(M_KIND)?)?;
    let key_id = KeyId::from_hex(text(M_KEY_ID)?).ok()?;
    let hash = Hash32::from_hex(text(M_HASH)?).ok()?;
    // Its value starts right after `{"body":`.
    if body.start != BODY_AT {
        return None;
    }

    // Where `,"hash":"…"` and `,"sig":"…"` start: `,` `"` key `"` `:`
    // precede each value, whose length the field decoders above fixed.
    let cut = |i: usize, key_len: usize, field_len: usize| -> Option<usize> {
        let r = at.get(i)?.clone()?;
        let start = r.start.checked_sub(key_len + 4)?;
        (r.end - start == field_len).then_some(start)
    };
    let hash_at = cut(M_HASH, 4, HASH_FIELD_LEN)?;
    let sig_at = match at.get(M_SIG)? {
        Some(_) => Some(cut(M_SIG, 3, SIG_FIELD_LEN)?),
        None => None,
    };
    let content_hash = hashed_slices(line, hash_at, sig_at);
    let entry = Entry {
        header,
        kind,
        key_id,
        line: line.into(),
        body_len: body.len(),
        hash_at,
        sig_at,
        hash,
        sig,
    };
    Some((entry, content_hash))
}

thread_local! {
    /// The log and tenant of the last line [`read_line`] read on this
    /// thread. The lines of a file name the same ones, so their headers
    /// share one copy of each instead of allocating two per line.
    static LAST_NAMES: std::cell::RefCell<(Option<LogName>, Option<TenantId>)> =
        const { std::cell::RefCell::new((None, None)) };
}

/// `LogName::new(s)` (`None` when it refuses `s`), shared with the last
/// line's when equal.
pub(super) fn shared_log(s: &str) -> Option<LogName> {
    LAST_NAMES.with_borrow_mut(|(log, _)| match log {
        Some(l) if l.as_str() == s => Some(l.clone()),
        _ => {
            let l = LogName::new(s).ok()?;
            *log = Some(l.clone());
            Some(l)
        }
    })
}

/// `TenantId::new(s)` (`None` when it refuses `s`), shared with the last
/// line's when equal.
pub(super) fn shared_tenant(s: &str) -> Option<TenantId> {
    LAST_NAMES.with_borrow_mut(|(_, tenant)| match tenant {
        Some(t) if t.as_str() == s => Some(t.clone()),
        _ => {
            let t = TenantId::new(s).ok()?;
            *tenant = Some(t.clone());
            Some(t)
        }
    })
}

/// [`Signature::from_base64`] without allocating: 88 characters of
/// standard base64 for exactly 64 bytes, in the one form that encodes them.
///
/// That form is checked directly rather than by encoding again: 86 digits
/// of the standard alphabet (RFC 4648 §4) and `==`; the 86th digit carries
/// the last byte's low two bits in its top two and zeros below (§3.5).
/// 21 groups of four digits make the first 63 bytes.
pub(super) fn signature_from_text(s: &str) -> Option<Signature> {
    /// The value of each digit of the standard alphabet; 0xff for every
    /// other byte (`=` included).
    const DIGIT: [u8; 256] = {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut t = [0xffu8; 256];
        let mut i = 0;
        while i < 64 {
            t[alphabet[i] as usize] = i as u8;
            i += 1;
        }
        t
    };
    let (digits, pad) = s.as_bytes().split_at_checked(86)?;
    if pad != b"==" {
        return None;
    }
    let (groups, last) = digits.split_at_checked(84)?;
    let mut out = [0u8; 64];
    // Any byte that is not a digit has a value with the top bits set.
    let mut bad = 0u8;
    let mut bytes = out.chunks_exact_mut(3);
    for (o, g) in (&mut bytes).zip(groups.chunks_exact(4)) {
        let [a, b, c, d] = g else {
            return None;
        };
        let [a, b, c, d] = [a, b, c, d].map(|x| DIGIT[usize::from(*x)]);
        bad |= a | b | c | d;
        let v = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        let [_, x, y, z] = v.to_be_bytes();
        o.copy_from_slice(&[x, y, z]);
    }
    let ([o], [a, b]) = (bytes.into_remainder(), last) else {
        return None;
    };
    let (a, b) = (DIGIT[usize::from(*a)], DIGIT[usize::from(*b)]);
    if (bad | a | b) & 0xc0 != 0 || b & 0x0f != 0 {
        return None;
    }
    *o = a << 2 | b >> 4;
    Some(Signature(out))
}

/// The kind of a wire name, as [`EntryKind`]'s serde form reads it; `None`
/// for a name not listed here (the generic reader then decides).
pub(super) fn kind_from_wire(s: &str) -> Option<EntryKind> {
    Some(match s {
        "decision" => EntryKind::Decision,
        "tool_call" => EntryKind::ToolCall,
        "human_oversight" => EntryKind::HumanOversight,
        "policy_flag" => EntryKind::PolicyFlag,
        "key_rotation" => EntryKind::KeyRotation,
        "epoch_link" => EntryKind::EpochLink,
        "store_repair" => EntryKind::StoreRepair,
        "shred" => EntryKind::Shred,
        "monitor" => EntryKind::Monitor,
        "contract" => EntryKind::Contract,
        _ => return None,
    })
}
