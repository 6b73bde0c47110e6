//! Signed notes, checkpoints, the origin convention and tlog-proof files:
//! round trips, strictness, tampering, no panics on hostile input, and the
//! file exchange with Go's `golang.org/x/mod/sumdb/{note,tlog}`
//! (`interop/go/run.sh`).
//!
//! Needs, at the crate root: `Hash32, KeyRing, LocalSigner, Signer,
//! LogName, TenantId, Epoch, LeafIndex, TreeSize` and the re-exports
//! `note::{open_note, sign_note, Note, NoteError}` and
//! `checkpoint::{origin, parse_origin, Checkpoint, CheckpointError,
//! InclusionProofFile, ProofLeaf, SignedCheckpoint}`.

// `allow-unwrap-in-tests` covers `#[test]` functions only, not the fixture helpers here.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use ai_audit::{
    open_note, origin, parse_origin, sign_note, Checkpoint, CheckpointError, Epoch, Hash32,
    InclusionProofFile, KeyRing, LeafIndex, LocalSigner, LogName, Note, NoteError, ProofLeaf,
    SignedCheckpoint, Signer, TenantId, TreeSize, VerifierKey,
};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use proptest::prelude::*;

/// Key name of the test log (the log name; origins add tenant and epoch).
const LOG: &str = "interop.example/log";
const SEED: [u8; 32] = [42u8; 32];
const LEAVES: usize = 13;

fn signer() -> LocalSigner {
    LocalSigner::from_seed(LOG, &SEED).unwrap()
}

fn ring() -> KeyRing {
    KeyRing::from_keys([signer().verifier_key().clone()])
}

fn test_origin() -> String {
    origin(
        &LogName::new(LOG).unwrap(),
        &TenantId::new("acme-bank").unwrap(),
        Epoch(3),
    )
}

// An independent RFC 6962 §2.1 tree, so these tests do not trust the crate's merkle code.
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}
fn node(l: &Hash32, r: &Hash32) -> Hash32 {
    Hash32::digest_parts(&[&[1u8], &l.0, &r.0])
}
fn mth(leaves: &[Hash32]) -> Hash32 {
    match leaves.len() {
        0 => Hash32::digest(b""),
        1 => leaves[0],
        n => node(&mth(&leaves[..split(n)]), &mth(&leaves[split(n)..])),
    }
}
fn audit_path(m: usize, leaves: &[Hash32]) -> Vec<Hash32> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    let (mut p, sibling) = if m < k {
        (audit_path(m, &leaves[..k]), mth(&leaves[k..]))
    } else {
        (audit_path(m - k, &leaves[k..]), mth(&leaves[..k]))
    };
    p.push(sibling);
    p
}

fn entry_hashes() -> Vec<Hash32> {
    (0..LEAVES)
        .map(|i| Hash32::digest(format!("entry {i}").as_bytes()))
        .collect()
}
fn leaf_hashes() -> Vec<Hash32> {
    entry_hashes()
        .iter()
        .map(|e| Hash32::digest_parts(&[&[0u8], &e.0]))
        .collect()
}

fn signed_checkpoint() -> SignedCheckpoint {
    let leaves = leaf_hashes();
    let cp = Checkpoint::new(test_origin(), TreeSize(LEAVES as u64), mth(&leaves)).unwrap();
    SignedCheckpoint::sign(cp, &[&signer()]).unwrap()
}

fn proof_file(index: usize) -> InclusionProofFile {
    let leaves = leaf_hashes();
    InclusionProofFile::new(
        LeafIndex(index as u64),
        audit_path(index, &leaves),
        &signed_checkpoint(),
    )
    .unwrap()
}

#[test]
fn checkpoint_text_is_exact() {
    let root = Hash32([0xab; 32]);
    let cp = Checkpoint::new("example.com/log", TreeSize(20_852_163), root)
        .unwrap()
        .with_extensions(vec!["ext one".into()])
        .unwrap();
    let text = format!(
        "example.com/log\n20852163\n{}\next one\n",
        B64.encode(root.0)
    );
    assert_eq!(cp.to_text(), text);
    assert_eq!(Checkpoint::parse(&text).unwrap(), cp);
    // The tlog-checkpoint spec example.
    let spec =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert_eq!(Checkpoint::parse(spec).unwrap().to_text(), spec);
    let empty = Checkpoint::new("o", TreeSize(0), Hash32::digest(b"")).unwrap();
    assert_eq!(Checkpoint::parse(&empty.to_text()).unwrap(), empty);
}

#[test]
fn checkpoint_parse_refuses_non_canonical_text() {
    let r = B64.encode([1u8; 32]);
    let bad = [
        format!("o\n5\n{r}"),                           // no final newline
        "o\n5\n".to_owned(),                            // two lines
        format!("\n5\n{r}\n"),                          // empty origin
        format!("o\r\n5\n{r}\n"),                       // control character
        format!("o\n05\n{r}\n"),                        // leading zero
        format!("o\n+5\n{r}\n"),                        // sign
        format!("o\n 5\n{r}\n"),                        // space
        format!("o\n18446744073709551616\n{r}\n"),      // overflow
        format!("o\n5\n{}\n", r.trim_end_matches('=')), // unpadded
        format!("o\n5\n{}\n", B64.encode([1u8; 33])),   // 33 bytes
        format!("o\n5\n{}\n", hex::encode([1u8; 32])),  // hex
        format!("o\n5\n{r}\n\n"),                       // empty extension line
        format!("o\n0\n{r}\n"),                         // wrong root for the empty tree
    ];
    for text in bad {
        assert!(
            matches!(Checkpoint::parse(&text), Err(CheckpointError::Malformed(_))),
            "{text:?}"
        );
    }
    assert!(Checkpoint::new("a\nb", TreeSize(1), Hash32::ZERO).is_err());
    assert!(Checkpoint::new("", TreeSize(1), Hash32::ZERO).is_err());
    let ok = Checkpoint::new("o", TreeSize(1), Hash32::ZERO).unwrap();
    assert!(ok.clone().with_extensions(vec![String::new()]).is_err());
    assert!(ok.with_extensions(vec!["a\tb".into()]).is_err());
}

#[test]
fn origin_convention_round_trips() {
    let o = test_origin();
    assert_eq!(o, "interop.example/log/t/acme-bank/e/3");
    let (log, tenant, epoch) = parse_origin(&o).unwrap();
    assert_eq!(
        (log.as_str(), tenant.as_str(), epoch),
        (LOG, "acme-bank", Epoch(3))
    );
    assert_eq!(origin(&log, &tenant, epoch), o);
    for bad in [
        "interop.example/log",
        "a/t/b/e/x",
        "a/t/b/e/-1",
        "a/t/b/c/e/1",
        "a/t/b c/e/1",
        "A/t/b/e/1",
    ] {
        assert!(parse_origin(bad).is_err(), "{bad}");
    }
}

#[test]
fn signed_checkpoint_opens_only_with_the_pinned_key() {
    let signed = signed_checkpoint();
    let (cp, verified) = SignedCheckpoint::open(signed.note_text().as_bytes(), &ring()).unwrap();
    assert_eq!(&cp, signed.checkpoint());
    assert_eq!(verified.verified_by()[0].name(), LOG);
    assert_eq!(
        signed.note_hash(),
        Hash32::digest(signed.note_text().as_bytes())
    );

    let other = LocalSigner::from_seed(LOG, &[1; 32]).unwrap();
    let wrong = KeyRing::from_keys([other.verifier_key().clone()]);
    match SignedCheckpoint::open(signed.note_text().as_bytes(), &wrong) {
        Err(CheckpointError::Note(NoteError::UnknownKey { names_and_ids })) => {
            assert_eq!(
                names_and_ids,
                vec![(LOG.to_owned(), signer().verifier_key().id())]
            );
        }
        other => panic!("{other:?}"),
    }
    let tampered = signed.note_text().replacen("\n13\n", "\n14\n", 1);
    assert!(matches!(
        SignedCheckpoint::open(tampered.as_bytes(), &ring()),
        Err(CheckpointError::Note(NoteError::BadSignature { .. }))
    ));
    // A signed note whose text is not a checkpoint.
    let note = sign_note("hello\n", &[&signer()]).unwrap();
    assert!(matches!(
        SignedCheckpoint::open(note.as_bytes(), &ring()),
        Err(CheckpointError::Malformed(_))
    ));
}

#[test]
fn cosigned_checkpoint_reports_the_witness_as_unverified() {
    let witness = LocalSigner::from_seed("witness.example", &[9; 32]).unwrap();
    let cp = signed_checkpoint().checkpoint().clone();
    let both = SignedCheckpoint::sign(cp, &[&signer(), &witness]).unwrap();
    let (_, v) = SignedCheckpoint::open(both.note_text().as_bytes(), &ring()).unwrap();
    assert_eq!(
        v.unverified(),
        &[("witness.example".to_owned(), witness.verifier_key().id())]
    );
}

#[test]
fn proof_files_round_trip_and_verify_for_every_leaf() {
    let entries = entry_hashes();
    for (i, e) in entries.iter().enumerate() {
        let p = proof_file(i);
        let text = p.to_text();
        assert!(text.starts_with(&format!("c2sp.org/tlog-proof@v1\nindex {i}\n")));
        let parsed = InclusionProofFile::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed, p);
        assert_eq!(parsed.to_text(), text);
        let (cp, _) = parsed
            .verify(ProofLeaf::EntryHash(*e), &test_origin(), &ring())
            .unwrap();
        assert_eq!(cp.size(), TreeSize(LEAVES as u64));
        let leaf = ProofLeaf::EntryHash(*e).leaf_hash();
        assert_eq!(leaf, leaf_hashes()[i]);
        parsed
            .verify(ProofLeaf::LeafHash(leaf), &test_origin(), &ring())
            .unwrap();
        parsed
            .verify(ProofLeaf::Input(&e.0), &test_origin(), &ring())
            .unwrap();
        // Another entry, or the entry hash taken as the leaf hash, does not verify.
        let other = entries[(i + 1) % LEAVES];
        assert!(matches!(
            parsed.verify(ProofLeaf::EntryHash(other), &test_origin(), &ring()),
            Err(CheckpointError::Inclusion(_))
        ));
        assert!(parsed
            .verify(ProofLeaf::LeafHash(*e), &test_origin(), &ring())
            .is_err());
    }
}

#[test]
fn proof_file_refuses_wrong_origin_key_path_and_format() {
    let e = entry_hashes()[5];
    let p = proof_file(5);
    assert!(matches!(
        p.verify(
            ProofLeaf::EntryHash(e),
            "interop.example/log/t/acme-bank/e/4",
            &ring()
        ),
        Err(CheckpointError::OriginMismatch { .. })
    ));
    assert!(matches!(
        p.verify(ProofLeaf::EntryHash(e), &test_origin(), &KeyRing::new()),
        Err(CheckpointError::Note(NoteError::UnknownKey { .. }))
    ));
    let text = p.to_text();
    let lines: Vec<&str> = text.split('\n').collect();
    // Index 5 of 13 leaves has a 4-hash path: lines 2..=5, blank line 6.
    assert_eq!(lines[6], "");
    let with = |f: &dyn Fn(&mut Vec<String>)| {
        let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        f(&mut l);
        l.join("\n")
    };
    let verify = |t: &str| {
        InclusionProofFile::parse(t.as_bytes())
            .and_then(|p| p.verify(ProofLeaf::EntryHash(e), &test_origin(), &ring()))
    };
    // Wrong index, a changed, missing or surplus hash: parse fine, do not verify.
    for t in [
        with(&|l| l[1] = "index 6".into()),
        with(&|l| l[3] = B64.encode([0u8; 32])),
        with(&|l| {
            l.remove(5);
        }),
        with(&|l| l.insert(6, B64.encode([0u8; 32]))),
    ] {
        assert!(
            matches!(verify(&t), Err(CheckpointError::Inclusion(_))),
            "{t}"
        );
    }
    // Malformed files.
    for t in [
        with(&|l| l[0] = "c2sp.org/tlog-proof@v2".into()),
        with(&|l| l[1] = "index 05".into()),
        with(&|l| l[1] = "index  5".into()),
        with(&|l| l[1] = "Index 5".into()),
        with(&|l| l[2] = l[2].trim_end_matches('=').to_owned()),
        with(&|l| l[2] = hex::encode([0u8; 32])),
        with(&|l| l.insert(1, "extra ".into())),
        with(&|l| l.insert(1, "extra !!".into())),
        with(&|l| l.insert(2, "extra AA==".into())),
        with(&|l| {
            l.remove(6);
        }),
        text.lines().take(4).collect::<Vec<_>>().join("\n"),
    ] {
        assert!(
            matches!(
                verify(&t),
                Err(CheckpointError::MalformedProof(_)
                    | CheckpointError::Malformed(_)
                    | CheckpointError::Note(_))
            ),
            "{t}"
        );
    }
    // Too many hashes.
    let long = with(&|l| {
        for _ in 0..61 {
            l.insert(2, B64.encode([0u8; 32]));
        }
    });
    assert!(matches!(
        InclusionProofFile::parse(long.as_bytes()),
        Err(CheckpointError::MalformedProof(_))
    ));
    // Opaque extra data round-trips and does not affect verification.
    let with_extra = p
        .clone()
        .with_extra(b"age-v1.2.1-darwin-arm64.tar.gz".to_vec());
    let t = with_extra.to_text();
    assert!(t.starts_with(
        "c2sp.org/tlog-proof@v1\nextra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6\nindex 5\n"
    ));
    let back = InclusionProofFile::parse(t.as_bytes()).unwrap();
    assert_eq!(back.extra(), b"age-v1.2.1-darwin-arm64.tar.gz");
    back.verify(ProofLeaf::EntryHash(e), &test_origin(), &ring())
        .unwrap();
}

#[test]
fn proof_of_a_one_leaf_tree_has_an_empty_path() {
    let e = Hash32::digest(b"only");
    let root = Hash32::digest_parts(&[&[0u8], &e.0]);
    let signed = SignedCheckpoint::sign(
        Checkpoint::new(test_origin(), TreeSize(1), root).unwrap(),
        &[&signer()],
    )
    .unwrap();
    let p = InclusionProofFile::new(LeafIndex(0), vec![], &signed).unwrap();
    let text = p.to_text();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 0\n\n"));
    InclusionProofFile::parse(text.as_bytes())
        .unwrap()
        .verify(ProofLeaf::EntryHash(e), &test_origin(), &ring())
        .unwrap();
}

/// One byte-level mutation of a valid input.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutate(src: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut b = src.to_vec();
    for m in muts {
        let n = b.len().max(1);
        match *m {
            Mutation::Flip(i, x) if !b.is_empty() => b[i % n] ^= x.max(1),
            Mutation::Insert(i, x) => b.insert(i % (b.len() + 1), x),
            Mutation::Delete(i) if !b.is_empty() => {
                b.remove(i % n);
            }
            Mutation::Truncate(i) => b.truncate(i % (b.len() + 1)),
            _ => {}
        }
    }
    b
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, x)| Mutation::Flip(i, x)),
        2 => (any::<usize>(), prop_oneof![Just(b'\n'), Just(b' '), Just(b'='), Just(b'0'), any::<u8>()]).prop_map(|(i, x)| Mutation::Insert(i, x)),
        2 => any::<usize>().prop_map(Mutation::Delete),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let keys = ring();
        let _ = Note::parse(&bytes);
        let _ = open_note(&bytes, &keys);
        let _ = SignedCheckpoint::open(&bytes, &keys);
        let _ = InclusionProofFile::parse(&bytes);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = Checkpoint::parse(s);
            let _ = parse_origin(s);
        }
    }

    #[test]
    fn mutated_notes_never_panic_nor_verify_other_text(muts in proptest::collection::vec(mutation(), 1..4)) {
        let signed = signed_checkpoint();
        let original = signed.note_text().as_bytes();
        let bytes = mutate(original, &muts);
        if let Ok(note) = Note::parse(&bytes) {
            prop_assert_eq!(note.to_text().into_bytes(), bytes.clone());
        }
        if let Ok((cp, v)) = SignedCheckpoint::open(&bytes, &ring()) {
            prop_assert_eq!(&cp, signed.checkpoint());
            prop_assert_eq!(v.text(), signed.checkpoint().to_text());
        }
    }

    #[test]
    fn mutated_proofs_never_panic_nor_verify_another_leaf(muts in proptest::collection::vec(mutation(), 1..4), i in 0..LEAVES) {
        let original = proof_file(i).to_text();
        let bytes = mutate(original.as_bytes(), &muts);
        if let Ok(p) = InclusionProofFile::parse(&bytes) {
            prop_assert_eq!(p.to_text().into_bytes(), bytes.clone());
            let entries = entry_hashes();
            for (j, e) in entries.iter().enumerate() {
                if p.verify(ProofLeaf::EntryHash(*e), &test_origin(), &ring()).is_ok() {
                    prop_assert_eq!(j as u64, p.index().0);
                    prop_assert_eq!(j, i);
                }
            }
        }
    }
}

fn interop_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).map(PathBuf::from)
}

/// Writes the files `interop/go/run.sh` hands to Go's `sumdb/note` and
/// `sumdb/tlog` when `AI_AUDIT_INTEROP_DIR` is set (otherwise does nothing):
/// `vkey`, `origin`, `checkpoint.note`, `entry_hash` (hex), `index`,
/// `proof` (base64 lines, leaf sibling first) and `entry.tlog-proof`.
#[test]
fn interop_export() {
    let Some(dir) = interop_dir("AI_AUDIT_INTEROP_DIR") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let index = 6;
    let signed = signed_checkpoint();
    let proof = proof_file(index).with_extra(b"ai-audit interop".to_vec());
    let path: String = proof
        .path()
        .iter()
        .map(|h| format!("{}\n", B64.encode(h.0)))
        .collect();
    let files = [
        ("vkey", format!("{}\n", signer().verifier_key())),
        ("origin", format!("{}\n", test_origin())),
        ("checkpoint.note", signed.note_text().to_owned()),
        (
            "entry_hash",
            format!("{}\n", entry_hashes()[index].to_hex()),
        ),
        ("index", format!("{index}\n")),
        ("proof", path),
        ("entry.tlog-proof", proof.to_text()),
    ];
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
}

/// Verifies what Go's `sumdb/note` and `sumdb/tlog` produced (`verify -gen`)
/// when `AI_AUDIT_INTEROP_GO_DIR` is set (otherwise does nothing): a note
/// signed by `note.Sign`, a tlog-proof file built with `tlog.ProveRecord`,
/// and tampered copies that must fail.
#[test]
fn interop_import() {
    let Some(dir) = interop_dir("AI_AUDIT_INTEROP_GO_DIR") else {
        return;
    };
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let vkey: VerifierKey = read("vkey").trim_end().parse().unwrap();
    let keys = KeyRing::from_keys([vkey]);
    let origin = read("origin").trim_end().to_owned();
    let entry = Hash32::from_hex(read("entry_hash").trim_end()).unwrap();

    let note = read("checkpoint.note");
    let (cp, _) = SignedCheckpoint::open(note.as_bytes(), &keys).unwrap();
    assert_eq!(cp.origin(), origin);
    let proof = InclusionProofFile::parse(read("entry.tlog-proof").as_bytes()).unwrap();
    let (cp2, _) = proof
        .verify(ProofLeaf::EntryHash(entry), &origin, &keys)
        .unwrap();
    assert_eq!(cp, cp2);
    assert_eq!(
        proof.to_text(),
        read("entry.tlog-proof"),
        "Go's proof file is in our canonical form"
    );

    // Tampered: the root in the note, and one hash of the path.
    let text = read("entry.tlog-proof");
    let root = B64.encode(cp.root().0);
    let bad_root = text.replace(&root, &B64.encode(Hash32::digest(b"x").0));
    assert!(matches!(
        InclusionProofFile::parse(bad_root.as_bytes())
            .unwrap()
            .verify(ProofLeaf::EntryHash(entry), &origin, &keys),
        Err(CheckpointError::Note(NoteError::BadSignature { .. }))
    ));
    let first = B64.encode(proof.path()[0].0);
    let bad_path = text.replacen(&first, &B64.encode(Hash32::digest(b"y").0), 1);
    assert!(matches!(
        InclusionProofFile::parse(bad_path.as_bytes())
            .unwrap()
            .verify(ProofLeaf::EntryHash(entry), &origin, &keys),
        Err(CheckpointError::Inclusion(_))
    ));
}
