//! Merkle log segments: checkpoints, batch sealing, epochs, forks, proof files.

use std::sync::Arc;
use std::time::Duration;

use ai_audit::*;

use crate::support::*;

fn sealed_every(n: u64) -> SealPolicy {
    SealPolicy {
        every_entries: Some(n),
        ..SealPolicy::default()
    }
}

fn has(r: &Report, verdict: Verdict, check: &str) -> bool {
    r.failures
        .iter()
        .any(|f| f.verdict == verdict && f.check == check)
}

#[test]
fn batch_sealed_log_verifies_with_its_checkpoints_only() {
    let f = fixture_sealed(SigningMode::BatchSealed, sealed_every(4));
    let t = tenant("acme");
    let lines = populate(&f, &t, 10);
    assert_eq!(f.log.sealed_through(&t).unwrap(), Some(Seq(7)));
    // Entries 8, 9 are not sealed yet: unsigned and uncovered = not verified.
    let r = verify_seg(&lines, &notes(&f, &t));
    assert!(has(&r, Verdict::Tampered, "coverage"), "{:#?}", r.failures);
    assert!(f.log.seal(&t).unwrap().is_some());
    assert!(f.log.seal(&t).unwrap().is_none(), "nothing new to seal");
    assert_eq!(f.log.sealed_through(&t).unwrap(), Some(Seq(9)));
    let r = verify_seg(&lines, &notes(&f, &t));
    assert!(r.is_verified(), "{:#?}", r.failures);
    assert_eq!(notes(&f, &t).len(), 3);
}

#[test]
fn truncation_gaps_and_reordering_are_detected_against_checkpoints() {
    let f = fixture_sealed(SigningMode::BatchSealed, sealed_every(5));
    let t = tenant("acme");
    let lines = populate(&f, &t, 10);
    let n = notes(&f, &t);

    let mut tail = lines.clone();
    tail.truncate(8);
    let r = verify_seg(&tail, &n);
    let finding = r
        .failures
        .iter()
        .find(|x| x.check == "checkpoint_size")
        .expect("tail truncation");
    assert_eq!(finding.verdict, Verdict::Truncated);
    assert_eq!(finding.location.seq, Some(Seq(8)));

    let mut head = lines.clone();
    head.remove(0);
    assert!(has(&verify_seg(&head, &n), Verdict::Truncated, "head"));

    let mut mid = lines.clone();
    mid.remove(6);
    let r = verify_seg(&mid, &n);
    assert!(has(&r, Verdict::Missing, "gap"));

    let mut re = lines.clone();
    re.swap(2, 3);
    assert!(has(&verify_seg(&re, &n), Verdict::Reordered, "order"));
}

#[test]
fn edited_or_foreign_checkpoints_are_refused() {
    let f = fixture_sealed(SigningMode::BatchSealed, sealed_every(5));
    let t = tenant("acme");
    let lines = populate(&f, &t, 10);
    let n = notes(&f, &t);
    // Edit the size line of the last note: the signature breaks.
    let mut edited = n.clone();
    let text = String::from_utf8(edited[1].note.clone())
        .unwrap()
        .replacen("\n10\n", "\n9\n", 1);
    edited[1].note = text.into_bytes();
    let r = verify_seg(&lines, &edited);
    assert!(
        has(&r, Verdict::Tampered, "checkpoint_signature"),
        "{:#?}",
        r.failures
    );
    // Edit the root: same.
    let mut edited = n.clone();
    let mut s = String::from_utf8(edited[0].note.clone()).unwrap();
    let root_line_start = s.find('\n').unwrap() + 1;
    let root_line_start = root_line_start + s[root_line_start..].find('\n').unwrap() + 1;
    let c = s.as_bytes()[root_line_start];
    s.replace_range(
        root_line_start..=root_line_start,
        if c == b'A' { "B" } else { "A" },
    );
    edited[0].note = s.into_bytes();
    assert!(has(
        &verify_seg(&lines, &edited),
        Verdict::Tampered,
        "checkpoint_signature"
    ));
    // A checkpoint re-signed with an unknown key.
    let evil = LocalSigner::from_seed("test.example/log", &[66u8; 32]).unwrap();
    let (cp, _) = SignedCheckpoint::open(&n[1].note, &keyring()).unwrap();
    let forged = SignedCheckpoint::sign(cp, &[&evil]).unwrap();
    let only_forged = vec![NoteInput {
        location: Location::default(),
        note: forged.note_text().as_bytes().to_vec(),
    }];
    let r = verify_seg(&lines, &only_forged);
    assert!(
        has(&r, Verdict::UnknownKey, "checkpoint_signature"),
        "{:#?}",
        r.failures
    );
    let detail = &r.first(Verdict::UnknownKey).unwrap().detail;
    assert!(
        detail.contains(&evil.verifier_key().id().to_string()),
        "names the key id: {detail}"
    );
    // Without any checkpoint, batch-sealed entries are unauthenticated.
    assert!(has(&verify_seg(&lines, &[]), Verdict::Tampered, "coverage"));
}

#[test]
fn two_inconsistent_checkpoints_are_a_fork_with_both_notes() {
    // The same key signs two histories of one origin (a split-view log).
    let f = fixture_sealed(SigningMode::BatchSealed, sealed_every(4));
    let t = tenant("acme");
    let lines = populate(&f, &t, 8);
    let g = fixture_sealed(SigningMode::BatchSealed, sealed_every(4));
    for i in 0..4 {
        g.log.append(&t, &body_of_kind(i + 100)).unwrap();
    }
    let mut n = notes(&f, &t);
    let other = notes(&g, &t);
    n.push(NoteInput {
        location: Location {
            file: Some("other-view".into()),
            ..Location::default()
        },
        note: other[0].note.clone(),
    });
    let r = verify_seg(&lines, &n);
    let fork = r.first(Verdict::Forked).expect("fork reported");
    assert_eq!(fork.check, "checkpoint_consistency");
    assert_eq!(fork.location.file.as_deref(), Some("other-view"));
    assert!(
        fork.detail.contains("checkpoints/0/"),
        "names the other note: {}",
        fork.detail
    );
    assert_eq!(r.verdict(), Verdict::Forked);
}

#[test]
fn epochs_roll_by_size_and_link_their_final_checkpoints() {
    let policy = SealPolicy {
        every_entries: Some(3),
        epoch_max_entries: Some(5),
        epoch_max_age: None,
    };
    let f = fixture_sealed(SigningMode::BatchSealed, policy);
    let t = tenant("acme");
    populate(&f, &t, 12);
    f.log.seal(&t).unwrap();
    let entries = f.store.read(&t, Seq(0), Seq(100)).unwrap();
    let links: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.kind() == EntryKind::EpochLink)
        .collect();
    assert_eq!(links.len(), 2);
    assert_eq!(links[0].epoch(), Epoch(1));
    assert_eq!(f.store.head(&t).unwrap().unwrap().epoch, Epoch(2));
    let all = lines(&f, &t);
    assert_eq!(all.len(), 14);
    let n = notes(&f, &t);
    let r = verify_seg(&all, &n);
    assert!(r.is_verified(), "{:#?}", r.failures);
    // Drop epoch 0's final checkpoint: the link binds nothing verified.
    let final0 = f
        .store
        .checkpoints(&t, Epoch(0))
        .unwrap()
        .pop()
        .unwrap()
        .note
        .into_bytes();
    let without: Vec<NoteInput> = n.iter().filter(|x| x.note != final0).cloned().collect();
    let r = verify_seg(&all, &without);
    let link = r
        .failures
        .iter()
        .find(|x| x.check == "epoch_link")
        .expect("epoch link finding");
    assert_eq!(
        (link.verdict, link.location.seq),
        (Verdict::Tampered, Some(links[0].seq()))
    );
}

#[test]
fn a_forged_epoch_link_is_tampered_even_when_validly_signed() {
    // A producer (holding the key) writing a link that binds the wrong size.
    let f = fixture_sealed(SigningMode::PerEntry, sealed_every(100));
    let t = tenant("acme");
    populate(&f, &t, 4);
    f.log.roll_epoch(&t).unwrap();
    populate(&f, &t, 2);
    f.log.seal(&t).unwrap();
    let entries = f.store.read(&t, Seq(0), Seq(100)).unwrap();
    let link = &entries[4];
    let Body::EpochLink(mut body) = link.body().unwrap() else {
        panic!("not a link")
    };
    body.size = TreeSize(3);
    let forged = Entry::seal(
        link.header().clone(),
        &Body::EpochLink(body),
        signer().as_ref(),
        SigningMode::PerEntry,
    )
    .unwrap();
    let mut lines: Vec<Vec<u8>> = entries.iter().map(|e| e.to_line().unwrap()).collect();
    lines[4] = forged.to_line().unwrap();
    let r = verify_seg(&lines, &notes(&f, &t));
    let finding = r
        .failures
        .iter()
        .find(|x| x.check == "epoch_link")
        .expect("link finding");
    assert_eq!(finding.location.seq, Some(Seq(4)));
    assert!(
        finding.detail.contains("binds size 3"),
        "{}",
        finding.detail
    );
}

#[test]
fn epoch_rolls_by_age() {
    let policy = SealPolicy {
        every_entries: None,
        epoch_max_entries: None,
        epoch_max_age: Some(Duration::from_millis(5)),
    };
    let f = fixture_sealed(SigningMode::PerEntry, policy);
    let t = tenant("acme");
    // The manual clock advances 1 ms per reading: every few entries roll.
    populate(&f, &t, 10);
    assert!(f.store.head(&t).unwrap().unwrap().epoch > Epoch(0));
    f.log.seal(&t).unwrap();
    assert!(verify_seg(&lines(&f, &t), &notes(&f, &t)).is_verified());
}

#[test]
fn sealer_crash_and_restart_leaves_nothing_unsealed_and_never_over_covers() {
    let store = Arc::new(MemoryStore::new());
    let t = tenant("acme");
    {
        // A process appends and dies before any seal.
        let f = fixture_on(
            store.clone(),
            SigningMode::BatchSealed,
            SealPolicy::default(),
        );
        populate(&f, &t, 7);
        assert_eq!(f.log.sealed_through(&t).unwrap(), None);
    }
    // The store refuses a checkpoint that covers entries it does not hold.
    let probe = fixture_on(
        store.clone(),
        SigningMode::BatchSealed,
        SealPolicy::default(),
    );
    let bogus = StoredCheckpoint {
        epoch: Epoch(0),
        size: TreeSize(8),
        note: "x".into(),
    };
    assert!(store.put_checkpoint(&t, &bogus).is_err());
    // The restarted process's sealer seals what the dead one left.
    let sealer = Sealer::spawn(probe.log.clone(), Duration::from_millis(20));
    probe
        .log
        .wait_sealed(&t, Seq(6), Duration::from_secs(10))
        .unwrap();
    populate(&probe, &t, 3);
    probe
        .log
        .wait_sealed(&t, Seq(9), Duration::from_secs(10))
        .unwrap();
    sealer.shutdown().unwrap();
    let r = verify_seg(&lines(&probe, &t), &notes(&probe, &t));
    assert!(r.is_verified(), "{:#?}", r.failures);
    // Waiting for an entry that does not exist times out with a clear error.
    let err = probe
        .log
        .wait_sealed(&t, Seq(99), Duration::from_millis(30))
        .unwrap_err();
    assert!(matches!(err, LogError::SealTimeout { .. }), "{err}");
}

#[test]
fn rotated_key_signs_later_checkpoints_and_is_trusted_through_the_chain() {
    let f = fixture_sealed(SigningMode::BatchSealed, sealed_every(3));
    let t = tenant("acme");
    populate(&f, &t, 4);
    let new = Arc::new(LocalSigner::from_seed("test.example/log-2", &[8u8; 32]).unwrap());
    let rot = f
        .log
        .rotate_key(new.clone(), Code::new("scheduled").unwrap())
        .unwrap();
    // Even in batch-sealed mode the rotation entry is signed by the old key.
    assert!(rot[0].signature().is_some());
    populate(&f, &t, 4);
    f.log.seal(&t).unwrap();
    let last = f.store.checkpoints(&t, Epoch(0)).unwrap().pop().unwrap();
    assert!(last
        .note
        .contains(&format!("— {} ", new.verifier_key().name())));
    // Only the old key is pinned; the new key is trusted through the chain.
    let r = verify_seg(&lines(&f, &t), &notes(&f, &t));
    assert!(r.is_verified(), "{:#?}", r.failures);
    // Without the rotation entry the new key's checkpoints are unknown.
    let mut cut = lines(&f, &t);
    cut.remove(4);
    let r = verify_seg(&cut, &notes(&f, &t));
    assert!(
        r.failures.iter().any(|x| x.verdict == Verdict::UnknownKey),
        "{:#?}",
        r.failures
    );
}

#[test]
fn proof_files_verify_with_entry_proof_and_key_only() {
    let f = fixture_sealed(SigningMode::BatchSealed, sealed_every(4));
    let t = tenant("acme");
    populate(&f, &t, 11);
    f.log.seal(&t).unwrap();
    let entries = f.store.read(&t, Seq(0), Seq(100)).unwrap();
    let want_origin = origin(f.log.name(), &t, Epoch(0));
    for e in &entries {
        let file = f.log.inclusion_proof(&t, e.seq()).unwrap();
        let text = file.to_text();
        let parsed = InclusionProofFile::parse(text.as_bytes()).unwrap();
        parsed
            .verify(ProofLeaf::EntryHash(*e.hash()), &want_origin, &keyring())
            .unwrap();
        // Another entry's hash does not verify under this proof.
        let other = &entries[(e.seq().0 as usize + 1) % entries.len()];
        assert!(parsed
            .verify(
                ProofLeaf::EntryHash(*other.hash()),
                &want_origin,
                &keyring()
            )
            .is_err());
    }
    // Unsealed entries have no proof yet.
    populate(&f, &t, 1);
    assert!(matches!(
        f.log.inclusion_proof(&t, Seq(11)),
        Err(LogError::SealTimeout { .. })
    ));
}

#[test]
fn two_writers_rolling_epochs_concurrently_keep_one_verifiable_log() {
    // Two logs over one store (as two processes): conflicts happen while
    // sealing and rolling; links must still bind the final checkpoints.
    let store = Arc::new(MemoryStore::new());
    let policy = SealPolicy {
        every_entries: Some(3),
        epoch_max_entries: Some(7),
        epoch_max_age: None,
    };
    let a = fixture_on(store.clone(), SigningMode::BatchSealed, policy);
    let b = fixture_on(store.clone(), SigningMode::BatchSealed, policy);
    let t = tenant("acme");
    std::thread::scope(|s| {
        for f in [&a, &b] {
            let t = t.clone();
            s.spawn(move || {
                for i in 0..60 {
                    f.log.append(&t, &body_of_kind(i)).unwrap();
                }
            });
        }
    });
    a.log.seal_all().unwrap();
    let head = store.head(&t).unwrap().unwrap();
    assert!(head.epoch >= Epoch(10), "epochs rolled: {}", head.epoch);
    let r = verify_seg(&lines(&a, &t), &notes(&a, &t));
    assert!(r.is_verified(), "{:#?}", r.failures);
    assert!(r.warnings.iter().all(|w| w.check != "epoch_link"));
}

#[test]
fn applications_cannot_append_links_rotations_or_rule_breaking_bodies() {
    let f = fixture();
    let t = tenant("acme");
    populate(&f, &t, 2);
    let before = f.store.head(&t).unwrap();
    let link = Body::EpochLink(EpochLink {
        note_hash: Hash32::ZERO,
        origin: "x".into(),
        prev_epoch: Epoch(0),
        root: Hash32::ZERO,
        size: TreeSize(2),
    });
    let rot = Body::KeyRotation(KeyRotation {
        new_key: signer().verifier_key().clone(),
        reason: Code::new("r").unwrap(),
    });
    let Body::Decision(mut d) = decision(1) else {
        unreachable!()
    };
    d.unicode = "eighteen".into();
    for (body, what) in [
        (link, "roll_epoch"),
        (rot, "rotate_key"),
        (Body::Decision(d), "unicode"),
    ] {
        let err = f.log.append(&t, &body).unwrap_err();
        assert!(err.to_string().contains(what), "{err}");
    }
    assert_eq!(f.store.head(&t).unwrap(), before, "nothing was appended");
}
