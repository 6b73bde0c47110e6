//! The collector: receipts end to end, bad input gets a clear error and
//! leaves the chain unchanged, many threads, async code, closure form.

use std::sync::Arc;

use ai_audit::*;

use crate::support::*;

fn collector_with(cap: usize) -> (Collector, Arc<MemoryStore>, Arc<MemorySecrets>) {
    let store = Arc::new(MemoryStore::new());
    let secrets = Arc::new(MemorySecrets::new());
    let c = Collector::builder(
        LogName::new("test.example/log").unwrap(),
        signer(),
        store.clone(),
    )
    .secrets(secrets.clone())
    .max_input_bytes(cap)
    .random(Arc::new(SeededRandom::new(5)))
    .build()
    .unwrap();
    (c, store, secrets)
}

fn collector() -> (Collector, Arc<MemoryStore>, Arc<MemorySecrets>) {
    collector_with(DEFAULT_MAX_INPUT_BYTES)
}

fn head(store: &MemoryStore, t: &TenantId) -> Option<ChainHead> {
    store.head(t).unwrap()
}

#[test]
fn receipt_commits_to_stripped_normalised_input_with_the_tenant_key() {
    let (c, _store, secrets) = collector();
    let t = tenant("acme");
    let key = CommitmentKey::from_bytes([1u8; 32]);
    secrets.insert(t.clone(), key.clone());
    let mut d = c.start(&t).unwrap();
    // Full-width e-mail: only caught because NFKC runs first.
    d.set_input("Mail ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ now")
        .unwrap();
    d.set_action(Action::Allow);
    let e = d.emit().unwrap();
    let Body::Decision(r) = e.body().unwrap() else {
        panic!("not a decision")
    };
    assert_eq!(r.input, commit(&key, "input", b"Mail [EMAIL] now"));
    assert_eq!(
        r.pii,
        vec![PiiCount {
            category: "email".into(),
            count: 1
        }]
    );
    assert_eq!(r.unicode, ai_audit::pii::UNICODE_VERSION);
    let line = String::from_utf8(e.to_line().unwrap()).unwrap();
    assert!(!line.to_lowercase().contains("john") && !line.contains("ｊｏｈｎ"));
    // A different tenant key gives a different commitment: not guessable without it.
    assert_ne!(
        r.input,
        commit(
            &CommitmentKey::from_bytes([2u8; 32]),
            "input",
            b"Mail [EMAIL] now"
        )
    );
}

#[test]
fn every_part_of_the_receipt_is_recorded_in_order() {
    let (c, store, _) = collector();
    let t = tenant("acme");
    let mut d = c.start(&t).unwrap();
    d.set_input("q")
        .unwrap()
        .set_output("a")
        .unwrap()
        .set_state(b"ctx")
        .unwrap();
    d.add_check(Check::new("b_second", "1").unwrap().fired(true))
        .unwrap();
    d.add_check(
        Check::new("a_first", "1")
            .unwrap()
            .score(0.5)
            .unwrap()
            .detail("card 4111 1111 1111 1111"),
    )
    .unwrap();
    d.set_action(Action::Escalate);
    d.set_model("m-1", Some(b"cfg")).unwrap();
    d.add_reason("z.reason")
        .unwrap()
        .add_reason("a.reason")
        .unwrap();
    d.add_tag("nist_ai_rmf:measure_2.7").unwrap();
    d.set_trace_id("trace-1")
        .unwrap()
        .set_session_id("sess-1")
        .unwrap();
    d.add_parent(EntryId([3; 16]));
    d.set_metrics(Metrics {
        latency_ms: Some(12),
        ..Metrics::default()
    });
    let e = d.emit().unwrap();
    let Body::Decision(r) = e.body().unwrap() else {
        panic!()
    };
    assert_eq!(
        r.checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["b_second", "a_first"]
    );
    assert_eq!(r.checks[1].detail.as_deref(), Some("card [CARD]"));
    assert_eq!(
        r.reasons.iter().map(Code::as_str).collect::<Vec<_>>(),
        ["z.reason", "a.reason"]
    );
    assert_eq!(r.action, Action::Escalate);
    assert_eq!(r.model.as_ref().unwrap().config, Some(digest(b"cfg")));
    assert!(r.output.is_some() && r.state.is_some());
    assert_eq!(
        r.pii,
        vec![PiiCount {
            category: "payment_card".into(),
            count: 1
        }]
    );
    assert_eq!(head(&store, &t).unwrap().seq, Seq(0));
}

#[test]
fn bad_input_gets_a_specific_error_and_the_chain_is_unchanged() {
    let (c, store, _) = collector_with(64);
    let t = tenant("acme");
    let mut ok = c.start(&t).unwrap();
    ok.set_input("fine").unwrap().set_action(Action::Allow);
    ok.emit().unwrap();
    let before = head(&store, &t);

    let mut d = c.start(&t).unwrap();
    assert!(matches!(
        d.set_input(&"x".repeat(65)),
        Err(CollectorError::TooLarge {
            field: "input",
            size: 65,
            cap: 64
        })
    ));
    assert!(matches!(
        d.set_input_bytes(b"\xff\xfe"),
        Err(CollectorError::InvalidUtf8("input"))
    ));
    assert!(matches!(
        d.set_output_bytes(&[0xc3]),
        Err(CollectorError::InvalidUtf8("output"))
    ));
    assert!(matches!(
        d.set_state(&[0u8; 65]),
        Err(CollectorError::TooLarge { field: "state", .. })
    ));
    assert!(matches!(
        d.add_reason("Not A Code"),
        Err(CollectorError::Id {
            field: "reason",
            ..
        })
    ));
    assert!(matches!(
        d.add_tag(""),
        Err(CollectorError::Id { field: "tag", .. })
    ));
    assert!(matches!(
        d.set_model("has space", None),
        Err(CollectorError::Id {
            field: "model id",
            ..
        })
    ));
    assert!(matches!(
        d.set_trace_id("é"),
        Err(CollectorError::Id {
            field: "trace id",
            ..
        })
    ));
    // Missing parts are refused at emit.
    assert!(matches!(d.emit(), Err(CollectorError::Missing("input"))));
    let mut d = c.start(&t).unwrap();
    d.set_input("q").unwrap();
    assert!(matches!(d.emit(), Err(CollectorError::Missing("action"))));
    // NaN scores cannot even be built.
    assert!(Check::new("c", "1").unwrap().score(f64::NAN).is_err());
    assert_eq!(
        head(&store, &t),
        before,
        "a failed emit must not touch the chain"
    );
}

#[test]
fn closure_form_records_success_and_failure() {
    let (c, store, _) = collector();
    let t = tenant("acme");
    let (v, e) = c
        .wrap(&t, "hello", |d| {
            d.set_action(Action::Allow);
            Ok::<_, std::io::Error>(42)
        })
        .unwrap();
    assert_eq!((v, e.seq()), (42, Seq(0)));
    let err = c
        .wrap(&t, "hello", |_d| {
            Err::<(), _>(std::io::Error::other("model timed out"))
        })
        .unwrap_err();
    let WrapError::App { error, receipt } = err else {
        panic!("expected App error")
    };
    assert_eq!(error.to_string(), "model timed out");
    let Body::Decision(r) = receipt.body().unwrap() else {
        panic!()
    };
    assert_eq!(r.action, Action::FailRetry);
    assert_eq!(r.reasons[0].as_str(), "app_error");
    assert_eq!(head(&store, &t).unwrap().seq, Seq(1));
}

#[test]
fn other_kinds_through_the_collector() {
    let (c, store, _) = collector();
    let t = tenant("acme");
    let mut d = c.start(&t).unwrap();
    d.set_input("q").unwrap().set_action(Action::Escalate);
    let dec = d.emit().unwrap();
    c.record_tool_call(
        &t,
        ToolCallRecord {
            tool: Code::new("crm.lookup").unwrap(),
            args: b"{}",
            result: None,
            status: ToolStatus::Denied,
            trace_id: None,
            call_id: None,
            parents: vec![dec.id()],
            metrics: Metrics::default(),
        },
    )
    .unwrap();
    let o = c
        .record_oversight(
            &t,
            "rev-1",
            dec.id(),
            OversightOutcome::Override,
            Some("mail bob@example.org"),
        )
        .unwrap();
    let Body::HumanOversight(h) = o.body().unwrap() else {
        panic!()
    };
    assert_eq!(h.note.as_deref(), Some("mail [EMAIL]"));
    c.record_policy_flag(
        &t,
        "no_medical_advice",
        FlagOutcome::Blocked,
        Some("diagnose me"),
        &["medical"],
    )
    .unwrap();
    assert!(c
        .record_policy_flag(&t, "Bad Policy", FlagOutcome::Blocked, None, &[])
        .is_err());
    let entries = store.read(&t, Seq(0), Seq(10)).unwrap();
    assert_eq!(
        entries
            .iter()
            .map(|e| e.kind().as_str())
            .collect::<Vec<_>>(),
        ["decision", "tool_call", "human_oversight", "policy_flag"]
    );
    assert!(verify_entries(&entries, &keyring(), &ChainOptions::default()).is_verified());
}

#[test]
fn sixteen_threads_through_the_collector() {
    let (c, store, _) = collector();
    let t = tenant("acme");
    std::thread::scope(|s| {
        for th in 0..16 {
            let c = c.clone();
            let t = t.clone();
            s.spawn(move || {
                for i in 0..25 {
                    let mut d = c.start(&t).unwrap();
                    d.set_input(&format!("thread {th} request {i}"))
                        .unwrap()
                        .set_action(Action::Allow);
                    d.emit().unwrap();
                }
            });
        }
    });
    let entries = store.read(&t, Seq(0), Seq(u64::MAX)).unwrap();
    assert_eq!(entries.len(), 400);
    assert!(entries
        .iter()
        .enumerate()
        .all(|(i, e)| e.seq() == Seq(i as u64)));
    assert!(verify_entries(&entries, &keyring(), &ChainOptions::default()).is_verified());
}

/// A minimal executor: the collector needs no runtime, and drafts are `Send`
/// so they can live across `.await` points.
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

struct YieldOnce(bool);
impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

#[test]
fn works_from_async_code_across_await_points() {
    fn assert_send<T: Send>(_: &T) {}
    let (c, store, _) = collector();
    let t = tenant("acme");
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let c = c.clone();
            let t = t.clone();
            std::thread::spawn(move || {
                let fut = async move {
                    let mut d = c.start(&t).unwrap();
                    d.set_input(&format!("async {i}")).unwrap();
                    YieldOnce(false).await; // the model call
                    d.set_output("done").unwrap().set_action(Action::Allow);
                    d.emit().unwrap()
                };
                assert_send(&fut);
                block_on(fut)
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(store.head(&t).unwrap().unwrap().seq, Seq(3));
}
