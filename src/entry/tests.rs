use super::*;

/// `signature_from_text` as it was (decode, then encode again and
/// compare), kept as the oracle.
fn signature_from_text_oracle(s: &str) -> Option<Signature> {
    let mut raw = [0u8; 66];
    let n = B64.decode_slice(s.as_bytes(), &mut raw).ok()?;
    let bytes: [u8; 64] = raw.get(..n)?.try_into().ok()?;
    let mut again = [0u8; 88];
    let m = B64.encode_slice(bytes, &mut again).ok()?;
    (again.get(..m)? == s.as_bytes()).then_some(Signature(bytes))
}

fn signature_texts_agree(b: &[u8]) {
    // The function takes text; bytes that are not UTF-8 never reach it.
    let Ok(s) = std::str::from_utf8(b) else {
        return;
    };
    assert_eq!(
        signature_from_text(s).map(|g| g.0),
        signature_from_text_oracle(s).map(|g| g.0),
        "{s:?}"
    );
}

/// Signatures whose last digit and groups take many values, among them
/// the extremes.
fn signature_samples() -> Vec<[u8; 64]> {
    let mut v = vec![[0u8; 64], [0xff; 64], [0x3f; 64], [0xfc; 64]];
    for seed in 0u8..16 {
        let mut x = [0u8; 64];
        for (i, b) in x.iter_mut().enumerate() {
            *b = (i as u8)
                .wrapping_mul(37)
                .wrapping_add(seed.wrapping_mul(101))
                ^ seed;
        }
        v.push(x);
    }
    v
}

/// Every byte value at every position of encoded signatures (the
/// digits, the last digit's low bits, the padding), plus deletions,
/// insertions, truncations and multi-byte characters.
#[test]
fn signature_text_check_agrees_with_encoding_again() {
    let mut accepted = 0;
    for sig in signature_samples() {
        let text = B64.encode(sig);
        assert_eq!(text.len(), 88);
        assert_eq!(signature_from_text(&text).map(|g| g.0), Some(sig));
        let t = text.as_bytes();
        for at in 0..t.len() {
            for b in 0u8..=255 {
                let mut m = t.to_vec();
                m[at] = b;
                if signature_from_text_oracle(std::str::from_utf8(&m).unwrap_or("")).is_some() {
                    accepted += 1;
                }
                signature_texts_agree(&m);
                m.insert(at, b);
                signature_texts_agree(&m);
            }
            let mut m = t.to_vec();
            m.remove(at);
            signature_texts_agree(&m);
            for ch in ["\u{e9}", "\u{20ac}", "\u{1f600}", "=", "==", "A", " ", "\n"] {
                let mut m = t.to_vec();
                m.splice(at..=at, ch.bytes());
                signature_texts_agree(&m);
                let mut m = t.to_vec();
                m.splice(at..at, ch.bytes());
                signature_texts_agree(&m);
            }
        }
        for len in 0..t.len() {
            signature_texts_agree(&t[..len]);
            signature_texts_agree(&t[len..]);
        }
        for tail in [&b"="[..], b"==", b"A", b"AA==", b"\n", b" "] {
            signature_texts_agree(&[t, tail].concat());
            signature_texts_agree(&[&t[..86], tail].concat());
            signature_texts_agree(&[&t[..84], tail].concat());
        }
        // Unpadded, and padded with one or three.
        signature_texts_agree(&t[..86]);
        signature_texts_agree(&[&t[..86], b"="].concat());
        signature_texts_agree(&[&t[..86], b"==="].concat());
    }
    // Some substitutions are other canonical signatures (the check must
    // accept those too, with the right bytes).
    assert!(accepted > 1000, "{accepted}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
    #[test]
    fn signature_text_check_agrees_on_generated_text(
        sig in proptest::prelude::any::<[u8; 32]>(),
        sig2 in proptest::prelude::any::<[u8; 32]>(),
        muts in proptest::collection::vec((0usize..90, proptest::sample::select(
            b"AQgw/+=Zaz09\x00\x7f-_.".to_vec()), 0u8..3), 0..4),
        chars in proptest::collection::vec(proptest::sample::select(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_".to_vec()), 84..93),
        digits in proptest::collection::vec(proptest::sample::select(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".to_vec()), 86),
    ) {
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&sig);
        bytes[32..].copy_from_slice(&sig2);
        let mut t = B64.encode(bytes).into_bytes();
        for (at, b, op) in muts {
            let at = at.min(t.len());
            match op {
                0 if at < t.len() => t[at] = b,
                1 => t.insert(at, b),
                _ if at < t.len() => {
                    t.remove(at);
                }
                _ => {}
            }
            signature_texts_agree(&t);
        }
        signature_texts_agree(&chars);
        // Random digits with `==`: the last digit's low bits decide.
        let mut padded = digits;
        padded.extend_from_slice(b"==");
        signature_texts_agree(&padded);
    }
}

/// Lines are allocated at their exact length, for every field width.
#[test]
fn envelope_length_is_exact() {
    let signer = crate::keys::LocalSigner::from_seed("t", &[1u8; 32]).unwrap();
    for (seq, epoch, log) in [
        (0u64, 0u64, "l"),
        (9, 10, "log.example/a-b_c"),
        (1 << 53, u64::from(u32::MAX), "x/y"),
    ] {
        for mode in [SigningMode::PerEntry, SigningMode::BatchSealed] {
            let header = Header {
                log: LogName::new(log).unwrap(),
                tenant: TenantId::new("t-1.b_c").unwrap(),
                epoch: Epoch(epoch),
                seq: Seq(seq),
                prev: Hash32::ZERO,
                id: EntryId([0xab; 16]),
                ts: Timestamp::from_unix_micros(0).unwrap(),
            };
            let body = br#"{"a":"\u0001"}"#.to_vec().into_boxed_slice();
            let e = Entry::seal_jcs(header, EntryKind::ToolCall, &body, &signer, mode).unwrap();
            let line = e.to_line().unwrap();
            assert_eq!(
                line.capacity(),
                line.len(),
                "seq {seq} epoch {epoch} {mode:?}"
            );
            let mut unauth = Vec::new();
            write_envelope(
                &mut unauth,
                e.header(),
                e.kind(),
                e.key_id(),
                e.body_bytes(),
                None,
            );
            assert_eq!(unauth.capacity(), unauth.len());
        }
    }
    assert_eq!(json_string_len("a\"\u{1}\n"), 2 + 1 + 2 + 6 + 2);
    assert_eq!((decimal_len(0), decimal_len(9), decimal_len(10)), (1, 1, 2));
}

/// The direct writer equals the generic JCS encoder of the wire struct.
#[test]
fn direct_envelope_writer_matches_generic_encoder() {
    let signer = crate::keys::LocalSigner::from_seed("t", &[1u8; 32]).unwrap();
    let log = LogName::new("l.example/x").unwrap();
    let tenant = TenantId::new("acme").unwrap();
    for (i, mode) in [SigningMode::PerEntry, SigningMode::BatchSealed]
        .into_iter()
        .enumerate()
    {
        let header = Header {
            log: log.clone(),
            tenant: tenant.clone(),
            epoch: Epoch(3),
            seq: Seq(9_007_199_254_740_992 - i as u64),
            prev: Hash32::digest(b"p"),
            id: EntryId([9; 16]),
            ts: Timestamp::parse("2026-01-02T03:04:05.678901Z").unwrap(),
        };
        let body = serde_json::json!({"z": [1, 2.5, "é\u{1}"], "a": {"b": null}});
        let jcs = encoding::canonical_value(&body).unwrap().into_boxed_slice();
        let e = Entry::seal_jcs(header, EntryKind::PolicyFlag, &jcs, &signer, mode).unwrap();
        let wire = Wire {
            v: 1,
            log: log.clone(),
            tenant: tenant.clone(),
            epoch: e.epoch(),
            seq: e.seq(),
            prev: *e.prev(),
            id: e.id(),
            ts: e.ts(),
            kind: e.kind(),
            key_id: e.key_id(),
            body,
            hash: *e.hash(),
            sig: e.signature().copied(),
        };
        assert_eq!(e.to_line().unwrap(), encoding::to_canonical(&wire).unwrap());
        let mut v = serde_json::to_value(&wire).unwrap();
        let m = v.as_object_mut().unwrap();
        m.remove("hash");
        m.remove("sig");
        let expect =
            Hash32::digest_parts(&[ENTRY_HASH_LABEL, &encoding::canonical_value(&v).unwrap()]);
        assert_eq!(*e.hash(), expect);
    }
}
