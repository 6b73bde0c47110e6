//! Format v1 test vectors (tests/vectors/) and published JSON Schemas
//! (docs/schema/). Both are regenerated from fixed inputs and compared byte
//! for byte; run with `AI_AUDIT_BLESS=1` to rewrite them after an intended
//! format change (which must also bump the format version and SPEC.md).

use std::path::PathBuf;

use ai_audit::encoding::{parse_canonical, ENTRY_HASH_LABEL};
use ai_audit::*;
use serde_json::{json, Value};

use crate::support::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check_or_bless(rel: &str, content: &[u8]) {
    let path = root().join(rel);
    if std::env::var_os("AI_AUDIT_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        return;
    }
    let on_disk = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{rel}: {e}; run with AI_AUDIT_BLESS=1 to create it"));
    assert!(on_disk == content, "{rel} is out of date: the format changed. If intended, bump the version, update SPEC.md and rerun with AI_AUDIT_BLESS=1");
}

/// The vector chain: two per-entry-signed entries of each kind, tenant `acme`.
fn vector_chain() -> (Fixture, Vec<Entry>) {
    let f = fixture();
    let t = tenant("acme");
    let target = EntryId([0x11; 16]);
    let bodies = vec![
        decision(0),
        Body::Decision(Box::new(DecisionReceipt {
            trace_id: None,
            session_id: Some(ExternalId::new("sess-42").unwrap()),
            input: Hash32::digest(b"minimal"),
            output: None,
            state: None,
            checks: vec![],
            action: Action::Escalate,
            reasons: vec![],
            tags: vec![],
            model: None,
            pii: vec![],
            unicode: "16.0.0".into(),
            parents: vec![target],
            metrics: Metrics::default(),
        })),
        body_of_kind(2),
        Body::ToolCall(ToolCall {
            trace_id: None,
            call_id: Some(ExternalId::new("call_7").unwrap()),
            tool: Code::new("sql.query").unwrap(),
            args: Hash32::digest(b"a"),
            result: Some(Hash32::digest(b"r")),
            status: ToolStatus::Error,
            parents: vec![target],
            metrics: Metrics {
                latency_ms: Some(5),
                input_tokens: Some(1),
                output_tokens: Some(2),
                cost_micros: Some(3),
            },
        }),
        Body::HumanOversight(HumanOversight {
            reviewer: ExternalId::new("reviewer-9").unwrap(),
            target,
            outcome: OversightOutcome::Override,
            note: Some("Overrode: policy \"R-12\" ✓".into()),
            trace_id: None,
        }),
        Body::HumanOversight(HumanOversight {
            reviewer: ExternalId::new("r2").unwrap(),
            target,
            outcome: OversightOutcome::Approve,
            note: None,
            trace_id: Some(ExternalId::new("t").unwrap()),
        }),
        body_of_kind(3),
        Body::PolicyFlag(PolicyFlag {
            policy: Code::new("pii").unwrap(),
            outcome: FlagOutcome::Redacted,
            target: Some(target),
            input: None,
            reasons: vec![],
            trace_id: None,
        }),
    ];
    for b in &bodies {
        f.log.append(&t, b).unwrap();
    }
    let entries = f.store.read(&t, Seq(0), Seq(100)).unwrap();
    (f, entries)
}

fn hashed_json(line: &[u8]) -> String {
    let mut v = parse_canonical(line).unwrap();
    let m = v.as_object_mut().unwrap();
    m.remove("hash");
    m.remove("sig");
    String::from_utf8(ai_audit::encoding::canonical_value(&v).unwrap()).unwrap()
}

#[test]
fn entry_vectors_v1() {
    let (f, entries) = vector_chain();
    // Rotation vectors: signed by the old key, naming the new one.
    let t = tenant("acme");
    let new =
        std::sync::Arc::new(LocalSigner::from_seed("test.example/log-2", &[8u8; 32]).unwrap());
    let rot = f
        .log
        .rotate_key(new.clone(), Code::new("scheduled").unwrap())
        .unwrap();
    f.log.append(&t, &decision(5)).unwrap();
    let mut all = entries;
    all.extend(rot);
    all.extend(f.store.read(&t, Seq(all.len() as u64), Seq(100)).unwrap());

    let mut items = Vec::new();
    for e in &all {
        let line = e.to_line().unwrap();
        let hashed = hashed_json(&line);
        // Independent recomputation from the SPEC's rules.
        let h = Hash32::digest_parts(&[ENTRY_HASH_LABEL, hashed.as_bytes()]);
        assert_eq!(&h, e.hash());
        items.push(json!({
            "kind": e.kind().as_str(),
            "seq": e.seq().0,
            "hashed_json": hashed,
            "entry_hash": e.hash().to_hex(),
            "signature_message_hex": hex::encode(signature_message(e.hash())),
            "sig": e.signature().map(|s| s.to_base64()),
            "line": String::from_utf8(line).unwrap(),
        }));
    }
    let doc = json!({
        "about": "ai-audit format v1 entry vectors, generated by tests/it/vectors.rs from fixed inputs (test-only keys; never use them). See docs/SPEC.md §3 and §9.",
        "log": "test.example/log",
        "tenant": "acme",
        "genesis": genesis(&LogName::new("test.example/log").unwrap(), &t).to_hex(),
        "signing_key_test_only": signer().to_secret_string().as_str(),
        "verifier_key": signer().verifier_key().to_string(),
        "rotated_verifier_key": new.verifier_key().to_string(),
        "entries": items,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    check_or_bless("tests/vectors/entries_v1.json", text.as_bytes());

    // The ok chain, and one fail_ file per defect, as JSONL.
    let lines: Vec<Vec<u8>> = all.iter().map(|e| e.to_line().unwrap()).collect();
    let jsonl = |ls: &[Vec<u8>]| -> Vec<u8> {
        let mut out = Vec::new();
        for l in ls {
            out.extend_from_slice(l);
            out.push(b'\n');
        }
        out
    };
    check_or_bless("tests/vectors/ok_chain_v1.jsonl", &jsonl(&lines));
    let mut missing = lines.clone();
    missing.remove(3);
    check_or_bless("tests/vectors/fail_missing_seq3_v1.jsonl", &jsonl(&missing));
    let mut reordered = lines.clone();
    reordered.swap(2, 4);
    check_or_bless(
        "tests/vectors/fail_reordered_seq2_v1.jsonl",
        &jsonl(&reordered),
    );
    let mut tampered = lines.clone();
    let s = String::from_utf8(tampered[1].clone())
        .unwrap()
        .replace("\"escalate\"", "\"allow\"");
    tampered[1] = s.into_bytes();
    check_or_bless(
        "tests/vectors/fail_tampered_seq1_v1.jsonl",
        &jsonl(&tampered),
    );
    let mut head = lines.clone();
    head.remove(0);
    check_or_bless("tests/vectors/fail_truncated_head_v1.jsonl", &jsonl(&head));
    // A second, validly signed entry claiming seq 2.
    let mut forked = lines.clone();
    forked.insert(
        3,
        Entry::seal(
            all[2].header().clone(),
            &decision(77),
            signer().as_ref(),
            SigningMode::PerEntry,
        )
        .unwrap()
        .to_line()
        .unwrap(),
    );
    check_or_bless("tests/vectors/fail_forked_seq2_v1.jsonl", &jsonl(&forked));
    // `"sig":null` instead of an omitted signature: malformed.
    let mut malformed = lines.clone();
    let s = String::from_utf8(malformed[1].clone()).unwrap();
    let i = s.find(",\"sig\":\"").unwrap();
    let j = s[i + 8..].find('"').unwrap() + i + 9;
    malformed[1] = format!("{},\"sig\":null{}", &s[..i], &s[j..]).into_bytes();
    check_or_bless(
        "tests/vectors/fail_malformed_seq1_v1.jsonl",
        &jsonl(&malformed),
    );
    // An unknown format version.
    let mut version = lines.clone();
    version[0] = String::from_utf8(version[0].clone())
        .unwrap()
        .replace("\"v\":1}", "\"v\":2}")
        .into_bytes();
    check_or_bless(
        "tests/vectors/fail_unsupported_version_seq0_v1.jsonl",
        &jsonl(&version),
    );
    // The whole chain re-signed by a key nobody pinned.
    let evil = std::sync::Arc::new(LocalSigner::from_seed("test.example/log", &[9u8; 32]).unwrap());
    let store = std::sync::Arc::new(MemoryStore::new());
    let elog = AuditLog::builder(
        LogName::new("test.example/log").unwrap(),
        evil,
        store.clone(),
    )
    .clock(std::sync::Arc::new(ManualClock::new(
        Timestamp::parse("2026-11-22T10:00:00.000000Z").unwrap(),
        1_000,
    )))
    .random(std::sync::Arc::new(SeededRandom::new(42)))
    .build();
    for i in 0..3 {
        elog.append(&t, &body_of_kind(i)).unwrap();
    }
    let elines: Vec<Vec<u8>> = store
        .read(&t, Seq(0), Seq(3))
        .unwrap()
        .iter()
        .map(|e| e.to_line().unwrap())
        .collect();
    check_or_bless("tests/vectors/fail_unknown_key_v1.jsonl", &jsonl(&elines));
}

/// Segment vectors (SPEC §7): a batch-sealed chain over two epochs, its
/// signed checkpoint notes, and a tlog-proof file for seq 2.
#[test]
fn segment_vectors_v1() {
    let policy = SealPolicy {
        every_entries: Some(3),
        epoch_max_entries: Some(4),
        epoch_max_age: None,
    };
    let f = fixture_sealed(SigningMode::BatchSealed, policy);
    let t = tenant("acme");
    for i in 0..6 {
        f.log.append(&t, &body_of_kind(i)).unwrap();
    }
    f.log.seal(&t).unwrap();
    let mut jsonl = Vec::new();
    for l in lines(&f, &t) {
        jsonl.extend_from_slice(&l);
        jsonl.push(b'\n');
    }
    check_or_bless("tests/vectors/ok_segment_v1.jsonl", &jsonl);
    let mut notes_text = String::new();
    for n in notes(&f, &t) {
        notes_text.push_str(std::str::from_utf8(&n.note).unwrap());
        notes_text.push_str("~~~\n");
    }
    check_or_bless("tests/vectors/ok_segment_v1.notes", notes_text.as_bytes());
    let proof = f.log.inclusion_proof(&t, Seq(2)).unwrap().to_text();
    check_or_bless(
        "tests/vectors/ok_proof_seq2_v1.tlog-proof",
        proof.as_bytes(),
    );

    // The files verify as they are on disk.
    let text = std::fs::read(root().join("tests/vectors/ok_segment_v1.jsonl")).unwrap();
    let ls: Vec<Vec<u8>> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let notes_on_disk =
        std::fs::read_to_string(root().join("tests/vectors/ok_segment_v1.notes")).unwrap();
    let ns: Vec<NoteInput> = notes_on_disk
        .split("~~~\n")
        .filter(|n| !n.is_empty())
        .map(|n| NoteInput {
            location: Location::default(),
            note: n.as_bytes().to_vec(),
        })
        .collect();
    assert_eq!(ns.len(), 3); // sizes 3 and 4 of epoch 0, size 3 of epoch 1
    assert!(verify_seg(&ls, &ns).is_verified());
    let pf = InclusionProofFile::parse(
        &std::fs::read(root().join("tests/vectors/ok_proof_seq2_v1.tlog-proof")).unwrap(),
    )
    .unwrap();
    let e2 = Entry::from_line(&ls[2]).unwrap();
    pf.verify(
        ProofLeaf::EntryHash(*e2.hash()),
        &origin(f.log.name(), &t, Epoch(0)),
        &keyring(),
    )
    .unwrap();
}

/// Every vector file verifies to the verdict its name states.
#[test]
fn vector_files_give_the_verdict_in_their_name() {
    let dir = root().join("tests/vectors");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with("_v1.jsonl") || name.contains("segment") {
            continue;
        }
        let text = std::fs::read(&path).unwrap();
        let lines: Vec<&[u8]> = text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let r = verify_lines(lines, &keyring(), &ChainOptions::default());
        let want = if name.starts_with("ok_") {
            Verdict::Verified
        } else if name.contains("unknown_key") {
            Verdict::UnknownKey
        } else if name.contains("forked") {
            Verdict::Forked
        } else if name.contains("malformed") {
            Verdict::Malformed
        } else if name.contains("unsupported_version") {
            Verdict::UnsupportedVersion
        } else if name.contains("missing") {
            Verdict::Missing
        } else if name.contains("reordered") {
            Verdict::Reordered
        } else if name.contains("tampered") {
            Verdict::Tampered
        } else if name.contains("truncated") {
            Verdict::Truncated
        } else {
            panic!("{name}: no expected verdict in the name")
        };
        assert_eq!(r.verdict(), want, "{name}: {:#?}", r.failures);
        seen += 1;
    }
    assert!(seen >= 9, "vector files missing");
}

/// The vectors' signatures verify with plain ed25519-dalek, without the library.
#[test]
fn vector_signatures_verify_independently() {
    use base64::Engine as _;
    let doc: Value = serde_json::from_slice(
        &std::fs::read(root().join("tests/vectors/entries_v1.json")).unwrap(),
    )
    .unwrap();
    let vkey = doc["verifier_key"].as_str().unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(vkey.splitn(3, '+').nth(2).unwrap())
        .unwrap();
    let pk = ed25519_dalek::VerifyingKey::from_bytes(&raw[1..].try_into().unwrap()).unwrap();
    let mut n = 0;
    for e in doc["entries"].as_array().unwrap() {
        if e["kind"] == "key_rotation" || e["seq"].as_u64().unwrap() > 8 {
            continue; // seq 9 is signed by the rotated key
        }
        let msg = hex::decode(e["signature_message_hex"].as_str().unwrap()).unwrap();
        let sig = base64::engine::general_purpose::STANDARD
            .decode(e["sig"].as_str().unwrap())
            .unwrap();
        let sig = ed25519_dalek::Signature::from_slice(&sig).unwrap();
        pk.verify_strict(&msg, &sig).unwrap();
        n += 1;
    }
    assert!(n >= 8);
}

/// Keyed commitments and public digests (SPEC §4.2, §4.3).
#[cfg(feature = "collector")]
#[test]
fn commitment_vectors_v1() {
    let key = CommitmentKey::from_bytes([0x42; 32]);
    let cases = [
        ("input", "Mail [EMAIL] now"),
        ("output", "Yes."),
        ("state", ""),
        ("tool_args", "{\"q\":1}"),
        ("tool_result", "ünïcödé"),
    ];
    let items: Vec<Value> = cases
        .iter()
        .map(|(field, data)| json!({"field": field, "data_utf8": data, "commitment": commit(&key, field, data.as_bytes()).to_hex()}))
        .collect();
    let doc = json!({
        "about": "HMAC-SHA256(key, COMMITMENT_LABEL || field || 0x00 || data) and SHA-256(DIGEST_LABEL || data); SPEC §4.2-§4.3. Test-only key.",
        "key_hex": hex::encode([0x42u8; 32]),
        "commitments": items,
        "digests": [{"data_utf8": "{\"temperature\":0}", "digest": digest(b"{\"temperature\":0}").to_hex()}],
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    check_or_bless("tests/vectors/commitments_v1.json", text.as_bytes());
    // Independently: plain HMAC over the SPEC's message layout.
    use hmac::Mac as _;
    let mut m = <hmac::Hmac<sha2::Sha256>>::new_from_slice(&[0x42; 32]).unwrap();
    m.update(b"ai-audit/v1/commitment\0input\0Mail [EMAIL] now");
    assert_eq!(
        hex::encode(m.finalize().into_bytes()),
        doc["commitments"][0]["commitment"]
    );
}

#[test]
fn published_schemas_are_up_to_date() {
    let schemas: Vec<(&str, schemars::Schema)> = vec![
        ("entry.schema.json", envelope_schema()),
        (
            "decision.schema.json",
            schemars::schema_for!(DecisionReceipt),
        ),
        ("tool_call.schema.json", schemars::schema_for!(ToolCall)),
        (
            "human_oversight.schema.json",
            schemars::schema_for!(HumanOversight),
        ),
        ("policy_flag.schema.json", schemars::schema_for!(PolicyFlag)),
        (
            "key_rotation.schema.json",
            schemars::schema_for!(KeyRotation),
        ),
        ("epoch_link.schema.json", schemars::schema_for!(EpochLink)),
        (
            "store_repair.schema.json",
            schemars::schema_for!(StoreRepair),
        ),
        ("report.schema.json", schemars::schema_for!(Report)),
    ];
    for (name, schema) in schemas {
        let v = serde_json::to_value(&schema).unwrap();
        assert_eq!(
            v["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}: draft 2020-12 pinned"
        );
        let mut text = serde_json::to_string_pretty(&v).unwrap();
        text.push('\n');
        check_or_bless(&format!("docs/schema/{name}"), text.as_bytes());
    }
}
