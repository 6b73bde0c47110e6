#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;
use proptest::prelude::*;

/// The direct reader accepts only what the generic one accepts, into
/// the same entry, with the content hash the generic entry computes;
/// the combined reader's answer (and error text) is the generic one.
fn agree(line: &[u8]) -> bool {
    let generic = Entry::from_line_generic(line);
    let fast = read_line(line);
    if let Some((e, h)) = &fast {
        let g = generic.as_ref().unwrap_or_else(|err| {
            panic!(
                "direct reader accepts, generic refuses ({err}): {}",
                String::from_utf8_lossy(line)
            )
        });
        assert_eq!(e, g, "{}", String::from_utf8_lossy(line));
        assert_eq!(*h, g.computed_hash().unwrap());
        let token = LineHash(*h);
        match (e.body_of_line(&token), g.body()) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(a, b),
            (a, b) => panic!("body: {a:?} vs {b:?}"),
        }
    }
    let combined = Entry::from_line(line);
    match (&combined, &generic) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("combined and generic disagree"),
    }
    fast.is_some()
}

fn lines() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    for f in std::fs::read_dir(dir).unwrap() {
        let path = f.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            for line in std::fs::read(&path).unwrap().split(|b| *b == b'\n') {
                if !line.is_empty() {
                    out.push(line.to_vec());
                }
            }
        }
    }
    let signer = crate::keys::LocalSigner::from_seed("t", &[1u8; 32]).unwrap();
    for mode in [SigningMode::PerEntry, SigningMode::BatchSealed] {
        let header = Header {
            log: LogName::new("l.example/x").unwrap(),
            tenant: TenantId::new("acme-1").unwrap(),
            epoch: Epoch(12),
            seq: Seq(1 << 53),
            prev: Hash32::digest(b"p"),
            id: EntryId([0x5a; 16]),
            ts: Timestamp::parse("2026-01-02T03:04:05.678901Z").unwrap(),
        };
        let body = serde_json::json!({"z": [1, 2.5, "é\u{1}\"\\"], "a": {"b": null}});
        let jcs = encoding::canonical_value(&body).unwrap().into_boxed_slice();
        let e = Entry::seal_jcs(header, EntryKind::PolicyFlag, &jcs, &signer, mode).unwrap();
        out.push(e.to_line().unwrap());
    }
    out
}

#[test]
fn every_valid_line_takes_the_direct_path() {
    let lines = lines();
    assert!(lines.len() > 30, "{}", lines.len());
    let mut direct = 0;
    for l in &lines {
        if agree(l) {
            direct += 1;
        }
    }
    // Only the vector lines that are defective on purpose are refused.
    let bad = lines
        .iter()
        .filter(|l| Entry::from_line_generic(l).is_err())
        .count();
    assert_eq!(direct + bad, lines.len());
    assert!(direct > 30, "{direct}");
}

/// Field-level edits the generic reader refuses or reads differently.
#[test]
fn edited_fields_agree() {
    let edits: &[(&str, &str)] = &[
        (r#","v":1}"#, r#","v":2}"#),
        (r#","v":1}"#, r#","v":1.0}"#),
        (r#","v":1}"#, r#","v":"1"}"#),
        (r#","v":1}"#, r#","v":1,"w":1}"#),
        (r#","v":1}"#, r#"}"#),
        (r#""sig":""#, r#""sig":null,"x":""#),
        (r#""ts":"2026-"#, r#""ts":"2025-"#),
        (r#".678901Z""#, r#"Z""#),
        (r#"03:04:05.678901Z"#, r#"03:04:60.678901Z"#),
        (r#""kind":"policy_flag""#, r#""kind":"nope""#),
        (r#""kind":"policy_flag""#, r#""kind":"Policy_flag""#),
        (r#""epoch":12"#, r#""epoch":-12"#),
        (r#""epoch":12"#, r#""epoch":12.5"#),
        (r#""epoch":12"#, r#""epoch":"12""#),
        (r#""seq":9007199254740992"#, r#""seq":9007199254740993"#),
        (
            r#""seq":9007199254740992"#,
            r#""seq":100000000000000000000"#,
        ),
        (
            r#""seq":9007199254740992"#,
            r#""seq":123456789012345680000"#,
        ),
        (r#""seq":9007199254740992"#, r#""seq":18446744073709551616"#),
        (r#""epoch":12"#, r#""epoch":100000000000000000000"#),
        (r#""epoch":12"#, r#""epoch":1e21"#),
        (r#""epoch":12"#, r#""epoch":0.5"#),
        (r#""tenant":"acme-1""#, r#""tenant":"acme\u0001""#),
        (r#""tenant":"acme-1""#, r#""tenant":"Acme""#),
        (r#""tenant":"acme-1""#, r#""tenant":1"#),
        (r#""log":"l.example/x""#, r#""log":"l.example\/x""#),
        (r#""body":{"#, r#""body":null,"c":{"#),
        (r#""key_id":""#, r#""key_id":"A"#),
        (r#""hash":""#, r#""hash":"0"#),
        (r#""id":""#, r#""id":"F"#),
    ];
    let base = lines();
    let mut changed = 0;
    for line in base.iter().rev().take(2) {
        let text = String::from_utf8(line.clone()).unwrap();
        for (from, to) in edits {
            if text.contains(from) {
                changed += 1;
                agree(text.replacen(from, to, 1).as_bytes());
            }
        }
        // A non-canonical base64 signature (trailing bits set).
        if let Some(i) = text.find("==\",\"tenant\"") {
            let mut b = line.clone();
            b[i - 1] = if b[i - 1] == b'A' { b'B' } else { b'A' };
            changed += 1;
            agree(&b);
        }
        // Upper-case hex.
        let upper = text.replacen(
            &format!("{}", Hash32::digest(b"p")),
            &Hash32::digest(b"p").to_hex().to_uppercase(),
            1,
        );
        agree(upper.as_bytes());
    }
    assert!(changed > 30, "{changed}");
}

/// A signed and a batch-sealed line of the same content, as written.
fn sealed_pair() -> (Vec<u8>, Vec<u8>) {
    let signer = crate::keys::LocalSigner::from_seed("t", &[1u8; 32]).unwrap();
    let line = |mode| {
        let header = Header {
            log: LogName::new("l.example/x").unwrap(),
            tenant: TenantId::new("acme-1").unwrap(),
            epoch: Epoch(3),
            seq: Seq(41),
            prev: Hash32::digest(b"p"),
            id: EntryId([0x5a; 16]),
            ts: Timestamp::parse("2026-01-02T03:04:05.678901Z").unwrap(),
        };
        // A nested member named like the envelope's cut fields, and a
        // string holding their text: only top-level members are cut.
        let body = serde_json::json!({
            "hash": Hash32::digest(b"inner").to_hex(),
            "sig": {"hash": ",\"hash\":\"", "x": [",\"sig\":\""]},
        });
        let jcs = encoding::canonical_value(&body).unwrap();
        let e = Entry::seal_jcs(header, EntryKind::PolicyFlag, &jcs, &signer, mode).unwrap();
        e.to_line().unwrap()
    };
    (line(SigningMode::PerEntry), line(SigningMode::BatchSealed))
}

/// Every byte at every place of the timestamp: the direct reader takes
/// exactly the timestamps the generic reader takes (the one text of an
/// instant, SPEC §2.5), as the same instant.
#[test]
fn every_timestamp_byte_is_read_as_generic() {
    let (signed, sealed) = sealed_pair();
    let mut accepted = 0;
    for line in [signed, sealed] {
        let key = b"\"ts\":\"";
        let at = line.windows(key.len()).position(|w| w == key).unwrap() + key.len();
        assert!(read_line(&line).is_some());
        for i in at..at + 27 {
            for byte in 0..=255u8 {
                let mut m = line.clone();
                m[i] = byte;
                accepted += usize::from(as_generic(&m));
            }
        }
    }
    assert!(accepted > 100, "{accepted}");
}

/// The direct reader answers on `line` as the generic one does: it
/// accepts exactly the lines the generic reader accepts (these lines
/// differ from a written one in their envelope members only, which the
/// direct reader never hands on), into the same entry ([`agree`]).
fn as_generic(line: &[u8]) -> bool {
    let direct = agree(line);
    assert_eq!(
        direct,
        Entry::from_line_generic(line).is_ok(),
        "{}",
        String::from_utf8_lossy(line)
    );
    direct
}

/// Every byte at every place after the body (where the members read as
/// text are), every such byte cut, and bytes that matter put in
/// between: the direct reader answers as the generic one.
#[test]
fn every_envelope_byte_is_read_as_generic() {
    let (signed, sealed) = sealed_pair();
    let mut accepted = 0;
    for line in [signed, sealed] {
        assert!(as_generic(&line));
        let mut body = 0;
        assert!(encoding::scan_object(&line, &mut |key, value| {
            if key == b"body" {
                body = value.end;
            }
        }));
        assert!(body > BODY_AT);
        for i in body..line.len() {
            for byte in 0..=255u8 {
                let mut m = line.clone();
                m[i] = byte;
                accepted += usize::from(as_generic(&m));
            }
            let mut cut = line.clone();
            cut.remove(i);
            as_generic(&cut);
            for ins in [
                &b"\\"[..],
                b"\\u0061",
                b"\"",
                b"a",
                b"0",
                b"\xc3\xa9",
                b"\x80",
            ] {
                let mut m = line.clone();
                m.splice(i..i, ins.iter().copied());
                as_generic(&m);
            }
        }
    }
    assert!(accepted > 100, "{accepted}");
}

/// Refused by both readers (the direct one hands it on).
fn refused(line: &[u8]) {
    agree(line);
    assert!(
        read_line(line).is_none(),
        "{}",
        String::from_utf8_lossy(line)
    );
    assert!(
        Entry::from_line(line).is_err(),
        "{}",
        String::from_utf8_lossy(line)
    );
}

#[test]
fn hostile_envelopes_are_refused_or_read_the_same() {
    let (signed, sealed) = sealed_pair();
    let text = String::from_utf8(signed.clone()).unwrap();
    let e = Entry::from_line(&signed).unwrap();
    let (hash, sig) = (e.hash().to_hex(), e.signature().unwrap().to_base64());
    // Both lines take the direct path, with the writer's content hash.
    for l in [&signed, &sealed] {
        assert!(agree(l));
        let (e, h) = Entry::from_line_hashed(l).unwrap();
        assert_eq!(h.unwrap().hash(), *e.hash());
    }

    // Upper-case hex in each hex member (SPEC §2.3), wholly or one digit.
    for field in ["hash", "id", "key_id", "prev"] {
        let key = format!(",\"{field}\":\"");
        let at = text.find(&key).unwrap() + key.len();
        let end = at + text[at..].find('"').unwrap();
        let value = &text[at..end];
        let upper = value.to_uppercase();
        assert_ne!(upper, value, "{field} has letters");
        refused(format!("{}{upper}{}", &text[..at], &text[end..]).as_bytes());
        let i = value.find(|c: char| c.is_ascii_lowercase()).unwrap();
        let one = format!(
            "{}{}{}{}",
            &text[..at + i],
            value[i..=i].to_uppercase(),
            &value[i + 1..],
            &text[end..]
        );
        refused(one.as_bytes());
    }
    // A hash one digit short or long, or escaped.
    refused(text.replacen(&hash, &hash[1..], 1).as_bytes());
    refused(text.replacen(&hash, &format!("{hash}0"), 1).as_bytes());
    let first = hash.as_bytes()[0];
    let escaped = format!("\\u{:04x}{}", first, &hash[1..]);
    refused(text.replacen(&hash, &escaped, 1).as_bytes());
    // The hash or signature member twice; `sig` empty, short, null,
    // not base64, or 64 bytes in a non-canonical spelling.
    let hash_member = format!(",\"hash\":\"{hash}\"");
    refused(
        text.replacen(&hash_member, &format!("{hash_member}{hash_member}"), 1)
            .as_bytes(),
    );
    let sig_member = format!(",\"sig\":\"{sig}\"");
    refused(
        text.replacen(&sig_member, &format!("{sig_member}{sig_member}"), 1)
            .as_bytes(),
    );
    for bad in [
        String::new(),
        sig[2..].to_owned(),
        sig.replacen("==", "", 1),
        format!("{}!!==", &sig[..84]),
        format!("{}\\/\\/==", &sig[..84]),
    ] {
        refused(text.replacen(&sig, &bad, 1).as_bytes());
    }
    refused(text.replacen(&format!("\"{sig}\""), "null", 1).as_bytes());
    // Anything after the line, a byte-order mark before it.
    for (pre, post) in [
        ("", "\n"),
        ("", "\r"),
        ("", " "),
        ("\u{feff}", ""),
        (" ", ""),
    ] {
        refused(format!("{pre}{text}{post}").as_bytes());
    }
    // A member before `body`, or unknown after `v`.
    refused(
        text.replacen("{\"body\":", "{\"a\":1,\"body\":", 1)
            .as_bytes(),
    );
    refused(
        text.replacen(",\"v\":1}", ",\"v\":1,\"w\":1}", 1)
            .as_bytes(),
    );
    // A repeated key deep in the body.
    let deep = format!(
        "{{\"body\":{}{{\"k\":1,\"k\":2}}{},",
        "{\"a\":".repeat(100),
        "}".repeat(100)
    );
    let at = text.find(",\"epoch\"").unwrap() + 1;
    refused(format!("{deep}{}", &text[at..]).as_bytes());
    // Nesting at serde_json's limit: 127 levels read, 128 refused.
    for (depth, ok) in [(126usize, true), (127, false)] {
        let nested = format!(
            "{{\"body\":{}1{},{}",
            "[".repeat(depth),
            "]".repeat(depth),
            &text[at..]
        );
        agree(nested.as_bytes());
        assert_eq!(
            encoding::is_canonical(nested.as_bytes()),
            ok,
            "depth {depth}"
        );
    }

    // `sig` added to a batch-sealed line: a signed line (the hash never
    // covers `sig`), read the same way by both, with the same content
    // hash as without it.
    let sealed_text = String::from_utf8(sealed.clone()).unwrap();
    let plain = Entry::from_line(&sealed).unwrap();
    let with_sig = sealed_text.replacen(",\"tenant\":", &format!("{sig_member},\"tenant\":"), 1);
    assert_eq!(with_sig.as_bytes(), signed.as_slice());
    assert!(agree(with_sig.as_bytes()));
    let (e, h) = Entry::from_line_hashed(with_sig.as_bytes()).unwrap();
    assert_eq!(h.unwrap().hash(), plain.computed_hash().unwrap());
    assert!(e.signature().is_some());
    // … and one placed out of order is not canonical.
    let misplaced = sealed_text.replacen(",\"seq\":", &format!("{sig_member},\"seq\":"), 1);
    refused(misplaced.as_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn mutated_lines_agree(
        pick in any::<usize>(),
        muts in prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let lines = lines();
        let mut b = lines[pick % lines.len()].clone();
        for (at, byte, op) in muts {
            let at = at % b.len().max(1);
            match op {
                0 if at < b.len() => b[at] = byte,
                1 => b.insert(at, byte),
                _ if at < b.len() => {
                    b.remove(at);
                }
                _ => {}
            }
            agree(&b);
        }
    }
}
