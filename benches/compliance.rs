//! Analyses over 10,000 verified entries: the verified-entries gate, the
//! summary, the crosswalk, the full report and its renderings, the three
//! monitors, a contract and the trace graph.
//!
//! `cargo bench --bench compliance -- --measurement-time 2 --warm-up-time 1`
//! (short windows: the machines that run this are shared).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use ai_audit::compliance::{ComplianceReport, Crosswalk, Summary};
use ai_audit::monitor::{drift, regression, sprt, DriftParams, RegressionParams, SprtParams};
use ai_audit::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const N: u64 = 10_000;

fn body(i: u64, parent: Option<EntryId>) -> Body {
    Body::Decision(Box::new(DecisionReceipt {
        trace_id: Some(ExternalId::new(format!("trace-{}", i / 3)).unwrap()),
        session_id: None,
        input: Hash32::digest(format!("input {i}").as_bytes()),
        output: Some(Hash32::digest(format!("output {i}").as_bytes())),
        state: None,
        checks: vec![Check::new("toxicity", "2.1")
            .unwrap()
            .fired(i.is_multiple_of(17))],
        action: match i % 20 {
            0 => Action::Reject,
            1 => Action::Escalate,
            _ => Action::Allow,
        },
        reasons: vec![Code::new("checks.passed").unwrap()],
        tags: vec![],
        model: Some(ModelRef {
            id: ExternalId::new("model-x").unwrap(),
            config: Some(Hash32::digest(b"cfg")),
        }),
        pii: vec![],
        provenance: vec![],
        sealed: vec![],
        unicode: "16.0.0".into(),
        parents: parent.into_iter().collect(),
        metrics: Metrics {
            latency_ms: Some(100 + i % 50),
            ..Metrics::default()
        },
    }))
}

fn verified_log() -> (Vec<Entry>, KeyRing) {
    let store = Arc::new(MemoryStore::new());
    let signer = Arc::new(LocalSigner::from_seed("bench.example/log", &[3u8; 32]).unwrap());
    let keys = KeyRing::from_keys([signer.verifier_key().clone()]);
    let log = AuditLog::builder(
        LogName::new("bench.example/log").unwrap(),
        signer,
        store.clone(),
    )
    .random(Arc::new(SeededRandom::new(1)))
    .build();
    let t = TenantId::new("acme").unwrap();
    let mut prev = None;
    for i in 0..N {
        let parent = if i.is_multiple_of(3) { None } else { prev };
        prev = Some(log.append(&t, &body(i, parent)).unwrap().id());
    }
    (store.read(&t, Seq(0), Seq(N)).unwrap(), keys)
}

fn analyses(c: &mut Criterion) {
    let (entries, keys) = verified_log();
    let opts = ChainOptions::default();
    let v = VerifiedLog::from_chain(&entries, &keys, &opts).unwrap();
    let cw = Crosswalk::builtin().unwrap();
    let report = ComplianceReport::build(&v, &cw).unwrap();
    let contract = Contract::from_json(
        br#"{"constraints":[{"field":"metrics.latency_ms","id":"lat","kind":"decision","op":"le","severity":"hard","value":140},{"field":"action","id":"ok","kind":"decision","op":"eq","severity":"soft","value":"allow"}],"name":"bench","requirements":{"delta_max":0.2,"k_max":3,"p_min":0.9},"version":1}"#,
    )
    .unwrap();
    let mut g = c.benchmark_group("compliance_10k");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10);
    g.bench_function("verified_log_from_chain", |b| {
        b.iter(|| black_box(VerifiedLog::from_chain(&entries, &keys, &opts).unwrap()))
    });
    // The same chain verification without keeping entries: the gate's own cost is the difference.
    g.bench_function("verify_entries_only", |b| {
        b.iter(|| black_box(verify_entries(&entries, &keys, &opts)))
    });
    g.bench_function("summary", |b| b.iter(|| black_box(Summary::of(&v))));
    g.bench_function("crosswalk", |b| {
        b.iter(|| black_box(cw.evaluate(&v).unwrap()))
    });
    g.bench_function("report_build", |b| {
        b.iter(|| black_box(ComplianceReport::build(&v, &cw).unwrap()))
    });
    g.bench_function("report_json", |b| {
        b.iter(|| black_box(report.to_json().unwrap()))
    });
    g.bench_function("report_html", |b| b.iter(|| black_box(report.to_html())));
    g.bench_function("sprt", |b| {
        b.iter(|| black_box(sprt::run(&SprtParams::default(), &v).unwrap()))
    });
    g.bench_function("drift", |b| {
        b.iter(|| black_box(drift::run(&DriftParams::default(), &v).unwrap()))
    });
    g.bench_function("regression", |b| {
        b.iter(|| black_box(regression::run(&RegressionParams::default(), &v).unwrap()))
    });
    g.bench_function("contract", |b| {
        b.iter(|| black_box(contract.evaluate(&v).unwrap()))
    });
    g.bench_function("trace_graph", |b| {
        b.iter(|| black_box(TraceGraph::build(&v)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_secs(1));
    targets = analyses
}
criterion_main!(benches);
