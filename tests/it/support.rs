//! Shared fixtures: a deterministic log over a memory store.

use std::sync::Arc;

use ai_audit::*;

/// Fixed seed of the test log key.
pub const SEED: [u8; 32] = [7u8; 32];

pub fn tenant(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

pub fn signer() -> Arc<LocalSigner> {
    Arc::new(LocalSigner::from_seed("test.example/log", &SEED).unwrap())
}

pub fn keyring() -> KeyRing {
    KeyRing::from_keys([signer().verifier_key().clone()])
}

pub struct Fixture {
    pub store: Arc<MemoryStore>,
    pub log: AuditLog,
    pub clock: Arc<ManualClock>,
}

pub fn fixture_with(mode: SigningMode) -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2026-11-22T10:00:00.000000Z").unwrap(),
        1_000,
    ));
    let log = AuditLog::builder(
        LogName::new("test.example/log").unwrap(),
        signer(),
        store.clone(),
    )
    .clock(clock.clone())
    .random(Arc::new(SeededRandom::new(42)))
    .signing_mode(mode)
    .build();
    Fixture { store, log, clock }
}

pub fn fixture() -> Fixture {
    fixture_with(SigningMode::PerEntry)
}

pub fn decision(i: u64) -> Body {
    Body::Decision(Box::new(DecisionReceipt {
        trace_id: Some(ExternalId::new(format!("trace-{i}")).unwrap()),
        session_id: None,
        input: Hash32::digest(format!("input {i}").as_bytes()),
        output: Some(Hash32::digest(format!("output {i}").as_bytes())),
        state: None,
        checks: vec![Check::new("toxicity", "v1")
            .unwrap()
            .score(0.25)
            .unwrap()
            .threshold(0.5)
            .unwrap()
            .detail("ok")],
        action: if i.is_multiple_of(5) {
            Action::Reject
        } else {
            Action::Allow
        },
        reasons: vec![Code::new("policy.ok").unwrap()],
        sealed: Vec::new(),
        tags: vec![Code::new("eu_ai_act:art12").unwrap()],
        model: Some(ModelRef {
            id: ExternalId::new("model-x").unwrap(),
            config: Some(Hash32::digest(b"cfg")),
        }),
        pii: vec![PiiCount {
            category: "email".into(),
            count: 1,
        }],
        provenance: vec![],
        unicode: "16.0.0".into(),
        parents: vec![],
        metrics: Metrics {
            latency_ms: Some(120 + i),
            ..Metrics::default()
        },
    }))
}

/// One body of every kind, cycling.
pub fn body_of_kind(i: u64) -> Body {
    match i % 4 {
        0 | 1 => decision(i),
        2 => Body::ToolCall(ToolCall {
            trace_id: Some(ExternalId::new(format!("trace-{i}")).unwrap()),
            call_id: None,
            tool: Code::new("search").unwrap(),
            args: Hash32::digest(b"args"),
            result: None,
            status: ToolStatus::Ok,
            parents: vec![],
            metrics: Metrics::default(),
        }),
        _ => Body::PolicyFlag(PolicyFlag {
            policy: Code::new("no_medical_advice").unwrap(),
            outcome: FlagOutcome::Blocked,
            target: None,
            input: Some(Hash32::digest(b"refused")),
            reasons: vec![Code::new("medical").unwrap()],
            trace_id: None,
        }),
    }
}

/// Appends `n` entries of mixed kinds to `t`, returns the stored lines.
pub fn populate(f: &Fixture, t: &TenantId, n: u64) -> Vec<Vec<u8>> {
    for i in 0..n {
        f.log.append(t, &body_of_kind(i)).unwrap();
    }
    lines(f, t)
}

pub fn lines(f: &Fixture, t: &TenantId) -> Vec<Vec<u8>> {
    f.store
        .read(t, Seq(0), Seq(u64::MAX))
        .unwrap()
        .iter()
        .map(|e| e.to_line().unwrap())
        .collect()
}

pub fn verify(lines: &[Vec<u8>]) -> Report {
    verify_lines(
        lines.iter().map(Vec::as_slice),
        &keyring(),
        &ChainOptions::default(),
    )
}

/// A deterministic log (seed 42) with a seal policy.
pub fn fixture_sealed(mode: SigningMode, policy: SealPolicy) -> Fixture {
    build_fixture(Arc::new(MemoryStore::new()), mode, policy, 42)
}

/// A log over an existing store (a "second process"): its own id stream.
pub fn fixture_on(store: Arc<MemoryStore>, mode: SigningMode, policy: SealPolicy) -> Fixture {
    static NEXT_SEED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1000);
    let seed = NEXT_SEED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    build_fixture(store, mode, policy, seed)
}

fn build_fixture(
    store: Arc<MemoryStore>,
    mode: SigningMode,
    policy: SealPolicy,
    seed: u64,
) -> Fixture {
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2026-11-22T10:00:00.000000Z").unwrap(),
        1_000,
    ));
    let log = AuditLog::builder(
        LogName::new("test.example/log").unwrap(),
        signer(),
        store.clone(),
    )
    .clock(clock.clone())
    .random(Arc::new(SeededRandom::new(seed)))
    .signing_mode(mode)
    .seal_policy(policy)
    .build();
    Fixture { store, log, clock }
}

/// All stored checkpoint notes of a tenant, every epoch, as verifier input.
pub fn notes(f: &Fixture, t: &TenantId) -> Vec<NoteInput> {
    let head = f.store.head(t).unwrap().unwrap();
    let mut out = Vec::new();
    for e in 0..=head.epoch.0 {
        for (i, c) in f
            .store
            .checkpoints(t, Epoch(e))
            .unwrap()
            .into_iter()
            .enumerate()
        {
            out.push(NoteInput {
                location: Location {
                    file: Some(format!("checkpoints/{e}/{i}").into()),
                    ..Location::default()
                },
                note: c.note.into_bytes(),
            });
        }
    }
    out
}

pub fn verify_seg(lines: &[Vec<u8>], notes: &[NoteInput]) -> Report {
    let items = lines.iter().enumerate().map(|(i, l)| {
        (
            Location {
                line: Some(i as u64 + 1),
                ..Location::default()
            },
            Entry::from_line(l),
        )
    });
    verify_segment(items, notes, &keyring(), &ChainOptions::default())
}

/// The crate root (for files under tests/ and docs/).
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compares generated bytes with a committed file, or rewrites the file when
/// `AI_AUDIT_BLESS` is set (after an intended format change, which must also
/// bump the format version and docs/SPEC.md).
pub fn check_or_bless(rel: &str, content: &[u8]) {
    let path = root().join(rel);
    if std::env::var_os("AI_AUDIT_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        return;
    }
    let on_disk = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{rel}: {e}; run with AI_AUDIT_BLESS=1 to create it"));
    assert!(
        on_disk == content,
        "{rel} is out of date: the format changed. If intended, bump the version, update SPEC.md and rerun with AI_AUDIT_BLESS=1"
    );
}
