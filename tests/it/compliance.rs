//! Analyses over verified entries (SPEC §11): the verified-log gate,
//! monitors and their `monitor` entries, crosswalks, reports, contracts and
//! trace graphs; their vectors in tests/vectors/.

use ai_audit::encoding::{canonical_value, ENTRY_HASH_LABEL};
use ai_audit::monitor::{self, *};
use ai_audit::*;
use serde_json::Value;

use crate::support::*;

/// A decision with `action` and a latency.
pub fn decision_with(i: u64, action: Action, latency: u64) -> Body {
    let Body::Decision(mut d) = decision(i) else {
        unreachable!()
    };
    d.action = action;
    d.metrics.latency_ms = Some(latency);
    Body::Decision(d)
}

fn verified(f: &Fixture, t: &TenantId) -> VerifiedLog {
    let entries = f.store.read(t, Seq(0), Seq(u64::MAX)).unwrap();
    VerifiedLog::from_chain(&entries, &keyring(), &ChainOptions::default()).unwrap()
}

/// Re-hashes and re-signs a line after `edit` changed its JSON (as a
/// producer holding the key would), so only the body rules can catch it.
fn resign(line: &[u8], edit: impl Fn(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(line).unwrap();
    edit(&mut v);
    let m = v.as_object_mut().unwrap();
    m.remove("hash");
    m.remove("sig");
    let hash = Hash32::digest_parts(&[ENTRY_HASH_LABEL, &canonical_value(&v).unwrap()]);
    let sig = signer().sign(&signature_message(&hash)).unwrap();
    let m = v.as_object_mut().unwrap();
    m.insert("hash".into(), hash.to_hex().into());
    m.insert("sig".into(), sig.to_base64().into());
    canonical_value(&v).unwrap()
}

fn jsonl(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out
}

#[test]
fn only_verified_logs_are_analysed() {
    let f = fixture();
    let t = tenant("acme");
    populate(&f, &t, 6);
    let mut entries = f.store.read(&t, Seq(0), Seq(100)).unwrap();
    let ok = VerifiedLog::from_chain(&entries, &keyring(), &ChainOptions::default()).unwrap();
    assert_eq!(ok.entries().len(), 6);
    assert_eq!(ok.integrity().epochs, vec![Epoch(0)]);
    assert!(ok.integrity().from_genesis);
    assert_eq!(ok.get(Seq(3)).unwrap().seq(), Seq(3));
    assert!(ok.get(Seq(6)).is_none());
    // A dropped entry, a foreign key, an empty log: refused with the report.
    entries.remove(2);
    match VerifiedLog::from_chain(&entries, &keyring(), &ChainOptions::default()) {
        Err(VerifiedError::NotVerified(r)) => assert_eq!(r.verdict(), Verdict::Missing),
        other => panic!("{other:?}"),
    }
    let err =
        VerifiedLog::from_chain(&entries, &KeyRing::new(), &ChainOptions::default()).unwrap_err();
    assert!(err.to_string().contains("verification failed"), "{err}");
    assert!(matches!(
        VerifiedLog::from_chain(&[], &keyring(), &ChainOptions::default()),
        Err(VerifiedError::NotVerified(_))
    ));
    let anywhere = ChainOptions {
        anchor: Anchor::Anywhere,
        ..ChainOptions::default()
    };
    assert!(matches!(
        VerifiedLog::from_chain(&[], &keyring(), &anywhere),
        Err(VerifiedError::Empty)
    ));
}

#[test]
fn batch_sealed_log_is_analysed_only_with_its_checkpoints() {
    let policy = SealPolicy {
        every_entries: Some(4),
        ..SealPolicy::default()
    };
    let f = fixture_sealed(SigningMode::BatchSealed, policy);
    let t = tenant("acme");
    populate(&f, &t, 8);
    f.log.seal(&t).unwrap();
    let entries = f.store.read(&t, Seq(0), Seq(100)).unwrap();
    let ns = notes(&f, &t);
    let v = VerifiedLog::from_segment(&entries, &ns, &keyring(), &ChainOptions::default()).unwrap();
    assert_eq!(v.integrity().checkpoints, ns.len() as u64);
    assert!(VerifiedLog::from_chain(&entries, &keyring(), &ChainOptions::default()).is_err());
    // Turning signatures off does not let unsigned entries through the gate.
    let lax = ChainOptions {
        require_signatures: false,
        ..ChainOptions::default()
    };
    assert!(VerifiedLog::from_chain(&entries, &keyring(), &lax).is_err());
    assert!(
        VerifiedLog::from_segment(&entries, &[], &keyring(), &ChainOptions::default()).is_err()
    );
}

/// SPRT on a real log: 300 allows then rejects; CUSUM flags at the third
/// reject; the result goes back into the log as a `monitor` entry that
/// verifies and decodes to the same body.
#[test]
fn sprt_flags_a_shift_and_its_result_is_logged() {
    let f = fixture();
    let t = tenant("acme");
    for i in 0..300 {
        f.log
            .append(&t, &decision_with(i, Action::Allow, 100))
            .unwrap();
    }
    for i in 300..310 {
        f.log
            .append(&t, &decision_with(i, Action::Reject, 100))
            .unwrap();
    }
    let v = verified(&f, &t);
    let p = SprtParams::default();
    let r = sprt::run(&p, &v).unwrap();
    assert_eq!(r.alarms.first(), Some(&Seq(302)));
    assert_eq!((r.observations, r.counted), (310, 10));
    let name = Code::new("reject_rate").unwrap();
    let body = r.to_result(&name, &p).unwrap();
    assert!(body.alarm);
    assert_eq!((body.first, body.last), (Seq(0), Seq(309)));
    assert_eq!(body.params, monitor::params_digest(&p).unwrap());
    let e = f.log.append(&t, &Body::Monitor(body.clone())).unwrap();
    assert_eq!(e.kind(), EntryKind::Monitor);
    let v = verified(&f, &t);
    assert_eq!(v.get(Seq(310)).unwrap().body(), &Body::Monitor(body));
    // The monitor entry itself is not a decision: the test reads the same.
    assert_eq!(sprt::run(&p, &v).unwrap().observations, 310);
}

#[test]
fn drift_and_regression_on_a_log() {
    let f = fixture();
    let t = tenant("acme");
    for i in 0..200 {
        let a = if i < 100 {
            [Action::Allow, Action::Allow, Action::Allow, Action::Reject][i as usize % 4]
        } else {
            [Action::Reject, Action::Escalate][i as usize % 2]
        };
        let lat = if i < 150 { 100 + i % 7 } else { 400 + i % 7 };
        f.log.append(&t, &decision_with(i, a, lat)).unwrap();
    }
    let v = verified(&f, &t);
    let dp = DriftParams {
        baseline: Baseline::Frozen { n: 100 },
        window: 50,
        threshold: 0.1,
    };
    let d = drift::run(&dp, &v).unwrap();
    assert_eq!(d.windows.len(), 2);
    // Baseline (¾ allow, ¼ reject) vs (½ reject, ½ escalate), hand-computed:
    // M = (3/8, 3/8, 1/4): ½[¾·log2 2 + ¼·log2(2/3)] + ½[½·log2(4/3) + ½·log2 2] = 0.68872.
    let want =
        0.5 * (0.75 + 0.25 * (2.0f64 / 3.0).log2()) + 0.5 * (0.5 * (4.0f64 / 3.0).log2() + 0.5);
    assert!(
        (d.windows[0].jsd - want).abs() < 1e-12,
        "{}",
        d.windows[0].jsd
    );
    assert!(d.windows.iter().all(|w| w.alarm));
    let dr = d
        .to_result(&Code::new("action_drift").unwrap(), &dp)
        .unwrap();
    assert_eq!(dr.method, MonitorMethod::Drift);

    let rp = RegressionParams {
        baseline: 100,
        window: 50,
        ..RegressionParams::default()
    };
    let r = regression::run(&rp, &v).unwrap();
    assert_eq!(r.windows.len(), 2);
    assert!(!r.windows[0].alarm, "{:?}", r.windows[0]);
    assert!(r.windows[1].alarm && r.windows[1].outliers == 50);
    assert_eq!(r.windows[1].outlier_seqs[0], Seq(150));
    let rr = r.to_result(&Code::new("latency").unwrap(), &rp).unwrap();
    f.log.append(&t, &Body::Monitor(dr)).unwrap();
    f.log.append(&t, &Body::Monitor(rr)).unwrap();
    assert_eq!(verified(&f, &t).entries().len(), 202);
}

/// `monitor` vectors (SPEC §9, §11.2): a chain with a `monitor` entry, the
/// parameter digest, and a re-signed entry with an unknown method.
#[test]
fn monitor_vectors_v1() {
    let f = fixture();
    let t = tenant("acme");
    for i in 0..6 {
        let a = if i >= 3 {
            Action::Reject
        } else {
            Action::Allow
        };
        f.log.append(&t, &decision_with(i, a, 100 + i)).unwrap();
    }
    let v = verified(&f, &t);
    let p = SprtParams::default();
    let r = sprt::run(&p, &v).unwrap();
    assert_eq!(r.alarms, vec![Seq(5)]);
    let body = r.to_result(&Code::new("reject_rate").unwrap(), &p).unwrap();
    f.log.append(&t, &Body::Monitor(body)).unwrap();
    let ls = lines(&f, &t);
    assert!(verify(&ls).is_verified());
    check_or_bless("tests/vectors/ok_monitor_v1.jsonl", &jsonl(&ls));

    let params_jcs = ai_audit::encoding::to_canonical(&p).unwrap();
    assert_eq!(
        String::from_utf8(params_jcs.clone()).unwrap(),
        r#"{"actions":["reject","escalate"],"alpha":0.05,"beta":0.1,"p0":0.05,"p1":0.15,"restart":"cusum"}"#
    );
    let digest = Hash32::digest_parts(&[b"ai-audit/v1/monitor-params\0", &params_jcs]);
    assert_eq!(digest, monitor::params_digest(&p).unwrap());
    let doc = serde_json::json!({
        "_about": "SPEC §11.2: monitor parameter digests = SHA-256(label || JCS(params))",
        "label": "ai-audit/v1/monitor-params\\0",
        "sprt_default": {"params_jcs": String::from_utf8(params_jcs).unwrap(), "digest": digest.to_hex()},
        "monitor_line_seq6": String::from_utf8(ls[6].clone()).unwrap(),
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    check_or_bless("tests/vectors/monitor_v1.json", text.as_bytes());

    let mut bad = ls.clone();
    bad[6] = resign(&ls[6], |v| v["body"]["method"] = "cusum".into());
    let r = verify(&bad);
    assert_eq!(r.verdict(), Verdict::Malformed);
    assert_eq!(r.failures[0].check, "body");
    assert_eq!(r.failures[0].location.seq, Some(Seq(6)));
    check_or_bless(
        "tests/vectors/fail_malformed_monitor_method_v1.jsonl",
        &jsonl(&bad),
    );
    // A statistic given as a string is malformed too.
    let mut bad2 = ls;
    bad2[6] = resign(&bad2[6], |v| v["body"]["statistic"] = "2.89".into());
    assert_eq!(verify(&bad2).verdict(), Verdict::Malformed);
}

fn oversight(target: EntryId, outcome: OversightOutcome, note: Option<&str>) -> Body {
    Body::HumanOversight(HumanOversight {
        note: note.map(str::to_owned),
        outcome,
        reviewer: ExternalId::new("reviewer-1").unwrap(),
        target,
        trace_id: None,
    })
}

fn status_of<'a>(
    r: &'a compliance::CrosswalkResult,
    fw: &str,
    ctl: &str,
) -> &'a compliance::ControlResult {
    r.frameworks
        .iter()
        .find(|f| f.id.as_str() == fw)
        .unwrap()
        .controls
        .iter()
        .find(|c| c.id.as_str() == ctl)
        .unwrap()
}

/// A generated log with known coverage: 10 decisions (escalate at seq 3,
/// reject at seq 5), a sign-off of seq 3, no monitor, no checkpoint.
#[test]
fn crosswalk_statuses_on_a_log_with_known_coverage() {
    use compliance::Status::*;
    let f = fixture();
    let t = tenant("acme");
    let mut ids = Vec::new();
    for i in 0..10 {
        let a = match i {
            3 => Action::Escalate,
            5 => Action::Reject,
            _ => Action::Allow,
        };
        ids.push(f.log.append(&t, &decision_with(i, a, 100)).unwrap().id());
    }
    f.log
        .append(&t, &oversight(ids[3], OversightOutcome::Approve, None))
        .unwrap();
    let cw = compliance::Crosswalk::builtin().unwrap();
    let r = cw.evaluate(&verified(&f, &t)).unwrap();
    assert!(r.notice.contains("not legal advice"));
    let art14 = status_of(&r, "eu_ai_act", "art14");
    assert_eq!(art14.status, Pass);
    assert_eq!(art14.evidence[0].evidence, vec![Seq(3)]);
    assert_eq!(art14.evidence[1].evidence, vec![Seq(10)]);
    // Checks on every decision, but no monitor: PARTIAL.
    let art9 = status_of(&r, "eu_ai_act", "art9");
    assert_eq!(art9.status, Partial);
    assert_eq!(
        (art9.evidence[0].status, art9.evidence[1].status),
        (Fail, Pass)
    );
    assert_eq!(art9.evidence[1].ratio, Some(1.0));
    assert_eq!(art9.evidence[1].scope, 10);
    assert_eq!(status_of(&r, "eu_ai_act", "art17").status, Fail);
    // Chain verified, no checkpoint given: PARTIAL.
    assert_eq!(status_of(&r, "eu_ai_act", "art12").status, Partial);
    assert_eq!(status_of(&r, "eu_ai_act", "art10").status, Partial);
    // No erasure recorded: N/A, not FAIL. The reject at seq 5 was never reviewed.
    assert_eq!(status_of(&r, "gdpr", "art17").status, NotApplicable);
    let art22 = status_of(&r, "gdpr", "art22");
    assert_eq!(art22.status, Fail);
    assert_eq!(art22.evidence[0].missing, vec![Seq(5)]);
    assert_eq!(status_of(&r, "iso_iec_42001", "a.6.2.8").status, Partial);
    assert_eq!(status_of(&r, "nist_ai_rmf", "map.3.5").status, Pass);

    // Review the reject and add a monitor entry: art22 PASS, art17 PARTIAL.
    f.log
        .append(
            &t,
            &oversight(ids[5], OversightOutcome::Override, Some("ok")),
        )
        .unwrap();
    let v = verified(&f, &t);
    let m = sprt::run(&SprtParams::default(), &v).unwrap();
    f.log
        .append(
            &t,
            &Body::Monitor(
                m.to_result(&Code::new("reject_rate").unwrap(), &SprtParams::default())
                    .unwrap(),
            ),
        )
        .unwrap();
    let r = cw.evaluate(&verified(&f, &t)).unwrap();
    assert_eq!(status_of(&r, "gdpr", "art22").status, Pass);
    assert_eq!(status_of(&r, "eu_ai_act", "art17").status, Partial);
    assert_eq!(status_of(&r, "eu_ai_act", "art72").status, Pass);
    assert_eq!(r.template, cw.digest().unwrap());
}

/// An override file replaces a control and adds a framework; bad files are
/// refused with a clear error.
#[test]
fn crosswalk_overrides_from_a_file() {
    use compliance::Status::*;
    let f = fixture();
    let t = tenant("acme");
    for i in 0..4 {
        f.log
            .append(&t, &decision_with(i, Action::Allow, 100))
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("override.json");
    std::fs::write(
        &path,
        br#"{"frameworks":[
            {"controls":[{"evidence":[{"field":"metrics.latency_ms","id":"lat","kind":"decision","measure":"field","min":1.0,"what":"latency recorded"}],"id":"art13","ref":"Art. 13","title":"Transparency (local reading)"}],"id":"eu_ai_act","title":""},
            {"controls":[{"evidence":[{"id":"tools","kind":"tool_call","measure":"present","what":"tool calls recorded"}],"id":"t1","ref":"T-1","title":"Tool use is logged"}],"id":"internal","title":"Internal policy"}
        ],"notice":"","version":1}"#,
    )
    .unwrap();
    let mut cw = compliance::Crosswalk::builtin().unwrap();
    let before = cw.digest().unwrap();
    cw.merge_file(&path).unwrap();
    assert_ne!(cw.digest().unwrap(), before);
    assert!(cw.notice.contains("not legal advice"));
    let r = cw.evaluate(&verified(&f, &t)).unwrap();
    let art13 = status_of(&r, "eu_ai_act", "art13");
    assert_eq!(
        (art13.title.as_str(), art13.status),
        ("Transparency (local reading)", Pass)
    );
    assert_eq!(
        r.frameworks[0].title,
        "EU AI Act (Regulation (EU) 2024/1689)"
    );
    assert_eq!(status_of(&r, "internal", "t1").status, Fail);
    assert!(matches!(
        cw.merge_file(&dir.path().join("absent.json")),
        Err(compliance::ComplianceError::Io(_))
    ));
    std::fs::write(&path, b"{\"frameworks\":[],\"version\":1}").unwrap();
    assert!(matches!(
        cw.merge_file(&path),
        Err(compliance::ComplianceError::Template(_))
    ));
}

/// A log with every feature the summary counts: 12 decisions (actions known),
/// a tool call, a flag, two sign-offs (one with a hostile note), a monitor,
/// and a key rotation.
fn report_log() -> (Fixture, TenantId) {
    let f = fixture();
    let t = tenant("acme");
    let mut ids = Vec::new();
    for i in 0..12u64 {
        let a = match i % 6 {
            1 => Action::Reject,
            2 => Action::Escalate,
            _ => Action::Allow,
        };
        ids.push(
            f.log
                .append(&t, &decision_with(i, a, 100 + i))
                .unwrap()
                .id(),
        );
    }
    f.log.append(&t, &body_of_kind(2)).unwrap(); // tool_call
    f.log.append(&t, &body_of_kind(3)).unwrap(); // policy_flag, blocked
    f.log
        .append(
            &t,
            &oversight(
                ids[2],
                OversightOutcome::Override,
                Some("<script>document.body.setAttribute('data-pwned','1')</script> | *x*"),
            ),
        )
        .unwrap();
    f.log
        .append(
            &t,
            &Body::HumanOversight(HumanOversight {
                note: None,
                outcome: OversightOutcome::Approve,
                reviewer: ExternalId::new(
                    "<img/src=x/onerror=document.body.setAttribute('data-pwned','2')>",
                )
                .unwrap(),
                target: ids[1],
                trace_id: None,
            }),
        )
        .unwrap();
    let v = verified(&f, &t);
    let m = sprt::run(&SprtParams::default(), &v).unwrap();
    f.log
        .append(
            &t,
            &Body::Monitor(
                m.to_result(&Code::new("reject_rate").unwrap(), &SprtParams::default())
                    .unwrap(),
            ),
        )
        .unwrap();
    let new = std::sync::Arc::new(LocalSigner::from_seed("test.example/log", &[8u8; 32]).unwrap());
    f.log
        .rotate_key(new, Code::new("scheduled").unwrap())
        .unwrap();
    f.log
        .append(&t, &decision_with(12, Action::Allow, 90))
        .unwrap();
    (f, t)
}

#[test]
fn summary_counts_on_a_known_log() {
    let (f, t) = report_log();
    let v = verified(&f, &t);
    let s = compliance::Summary::of(&v);
    assert_eq!((s.entries, s.decisions), (19, 13));
    let count = |a: Action| s.actions.iter().find(|x| x.action == a).unwrap().count;
    assert_eq!(
        (
            count(Action::Allow),
            count(Action::Reject),
            count(Action::Escalate)
        ),
        (9, 2, 2)
    );
    assert_eq!(s.actions.len(), 7);
    assert!((s.actions[0].share - 9.0 / 13.0).abs() < 1e-15);
    // support::decision runs one check, `toxicity`, that never fires.
    assert_eq!(s.checks.len(), 1);
    assert_eq!(
        (s.checks[0].ran, s.checks[0].fired, s.checks[0].fire_rate),
        (13, 0, 0.0)
    );
    assert_eq!((s.tool_calls.total, s.tool_calls.ok), (1, 1));
    assert_eq!((s.flags.total, s.flags.blocked), (1, 1));
    let o = &s.oversight;
    assert_eq!((o.signoffs, o.approve, o.overridden), (2, 1, 1));
    assert_eq!(
        (o.escalations, o.escalations_reviewed, o.unresolved_targets),
        (2, 1, 0)
    );
    assert_eq!(s.signoffs[0].target, Some(Seq(2)));
    // Every support::decision strips one email: the receipts' own redaction notes.
    assert_eq!((s.redactions.decisions, s.redactions.values), (13, 13));
    assert_eq!(s.redactions.categories.get("email"), Some(&13));
    assert_eq!(s.key_rotations.len(), 1);
    assert_eq!(s.key_rotations[0].seq, Seq(17));
    assert_eq!(s.key_rotations[0].reason.as_str(), "scheduled");
    assert_eq!(s.monitors.len(), 1);
    assert_eq!(s.shreds, 0);
    let kinds: Vec<(&str, u64)> = s.kinds.iter().map(|k| (k.kind.as_str(), k.count)).collect();
    assert_eq!(
        kinds,
        [
            ("decision", 13),
            ("human_oversight", 2),
            ("key_rotation", 1),
            ("monitor", 1),
            ("policy_flag", 1),
            ("tool_call", 1)
        ]
    );
    assert_eq!(s.timeline.len(), 13);
    let total: u64 = s.timeline.iter().flat_map(|b| b.counts).sum();
    assert_eq!(total, 13);
    assert_eq!(s.last, Seq(18));
    assert_eq!(&s.last_hash, v.entries().last().unwrap().entry().hash());
    assert_eq!(s.integrity.checkpoints, 0);
}

#[test]
fn report_renderings_are_deterministic_and_escaped() {
    let (f, t) = report_log();
    let cw = compliance::Crosswalk::builtin().unwrap();
    let r = compliance::ComplianceReport::build(&verified(&f, &t), &cw).unwrap();
    let json = r.to_json().unwrap();
    // Canonical JSON, the same bytes every time, and its digest.
    ai_audit::encoding::parse_canonical(&json).unwrap();
    let again = compliance::ComplianceReport::build(&verified(&f, &t), &cw).unwrap();
    assert_eq!(again.to_json().unwrap(), json);
    assert_eq!(
        r.digest().unwrap(),
        Hash32::digest_parts(&[b"ai-audit/v1/report\0", &json])
    );
    let v: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["format"], "ai-audit/compliance-report/v1");
    assert_eq!(v["summary"]["oversight"]["override"], 1);
    assert_eq!(
        v["crosswalk"]["frameworks"][0]["controls"][4]["status"],
        "PARTIAL"
    );

    let md = r.to_markdown();
    assert!(
        md.contains("&lt;script&gt;document.body.setAttribute"),
        "{md}"
    );
    assert!(!md.contains("<script"));
    assert!(!md.contains("<img"));
    assert!(md.contains("\\| \\*x\\*"));
    assert!(md.contains("not legal advice"));
    assert!(
        md.contains("| Art. 14 | Human oversight | **PARTIAL** |"),
        "{md}"
    );

    let html = r.to_html();
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("<img"));
    assert!(html.contains(
        "&lt;script&gt;document.body.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)&lt;/script&gt;"
    ));
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("<svg") && html.contains("<rect"));
    assert!(
        !html.contains("http://") || html.matches("http://").count() == 1,
        "only the SVG namespace"
    );
    assert_eq!(
        compliance::escape_html("a<b>&\"'"),
        "a&lt;b&gt;&amp;&quot;&#39;"
    );
    assert_eq!(
        compliance::escape_markdown("a|b<c>\n_"),
        "a\\|b&lt;c&gt; \\_"
    );
}

fn find_chromium() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn chromium_run(bin: &std::path::Path, profile: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The HTML report in headless Chromium: it renders (a screenshot is
/// taken), and entry text holding `<script>` or an `onerror` handler does
/// not run (its side effect, a `data-pwned` attribute, is absent from the
/// DOM, while the same payload in an unescaped control page does run).
#[test]
fn html_report_renders_in_chromium_without_running_entry_scripts() {
    let Some(bin) = find_chromium() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is required in CI (install the Debian package `chromium`, see .ci/setup)"
        );
        eprintln!("skipping: chromium not installed");
        return;
    };
    let (f, t) = report_log();
    let cw = compliance::Crosswalk::builtin().unwrap();
    let r = compliance::ComplianceReport::build(&verified(&f, &t), &cw).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, r.to_html()).unwrap();
    let url = format!("file://{}", page.display());

    // The control: the same payloads unescaped do run in this browser.
    let control = dir.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><body><p>x</p><script>document.body.setAttribute('data-pwned','1')</script></body></html>",
    )
    .unwrap();
    let dom = chromium_run(
        &bin,
        &dir.path().join("p0"),
        &["--dump-dom", &format!("file://{}", control.display())],
    );
    assert!(
        dom.contains("data-pwned=\"1\""),
        "control page did not run its script: {dom}"
    );

    let dom = chromium_run(&bin, &dir.path().join("p1"), &["--dump-dom", &url]);
    assert!(
        dom.contains("Compliance report: test.example/log / acme"),
        "{dom}"
    );
    assert!(
        !dom.contains("data-pwned=\""),
        "an entry's script ran: {dom}"
    );
    assert!(!dom.to_lowercase().contains("<script"), "{dom}");
    assert!(!dom.contains("<img"), "{dom}");
    // The hostile texts are there, as text.
    assert!(
        dom.contains("&lt;script&gt;document.body.setAttribute('data-pwned','1')&lt;/script&gt;"),
        "{dom}"
    );
    assert!(dom.contains("&lt;img/src=x/onerror="), "{dom}");
    assert!(dom.contains("<rect"), "chart missing");

    let shot = dir.path().join("report.png");
    chromium_run(
        &bin,
        &dir.path().join("p2"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,2600",
            &url,
        ],
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 20_000,
        "screenshot suspiciously small: {} bytes",
        png.len()
    );
    if let Some(keep) = std::env::var_os("AI_AUDIT_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

const CONTRACT: &str = r#"{
  "constraints": [
    {"field": "metrics.latency_ms", "id": "latency", "kind": "decision", "op": "le", "severity": "hard", "value": 1000},
    {"field": "action", "id": "allowed", "kind": "decision", "op": "eq", "severity": "soft", "value": "allow"},
    {"field": "model.config", "id": "config", "kind": "decision", "op": "present", "severity": "hard"}
  ],
  "name": "support-bot",
  "requirements": {"delta_max": 0.2, "k_max": 1, "p_min": 0.95},
  "version": 1
}"#;

/// 10 decisions: latency 2000 at seq 4 (hard), rejects at seq 2, 3, 7
/// (soft; runs of 2 and 1). Hand-computed: p = 9/10, δ = 3/10, k = 2,
/// Θ = 0.9 · 0.7 · (1/2) = 0.315; not passed (p < 0.95, δ > 0.2, k > 1).
fn contract_log() -> (Fixture, TenantId) {
    let f = fixture();
    let t = tenant("acme");
    for i in 0..10 {
        let a = if [2, 3, 7].contains(&i) {
            Action::Reject
        } else {
            Action::Allow
        };
        let lat = if i == 4 { 2000 } else { 100 };
        f.log.append(&t, &decision_with(i, a, lat)).unwrap();
    }
    f.log.append(&t, &body_of_kind(2)).unwrap(); // a tool call: not a step
    (f, t)
}

#[test]
fn contract_known_answer_and_logged_digest() {
    let (f, t) = contract_log();
    let c = Contract::from_json(CONTRACT.as_bytes()).unwrap();
    let ev = c.evaluate(&verified(&f, &t)).unwrap();
    let r = &ev.result;
    assert_eq!(
        (r.steps, r.hard_violations, r.soft_violations, r.k),
        (10, 1, 3, 2)
    );
    assert_eq!((r.p.get(), r.delta.get()), (0.9, 0.3));
    assert!(
        (r.reliability.get() - 0.315).abs() < 1e-12,
        "{}",
        r.reliability.get()
    );
    assert!(!r.passed);
    assert_eq!((r.first, r.last), (Seq(0), Seq(9)));
    assert_eq!(ev.constraints[0].seqs, vec![Seq(4)]);
    assert_eq!(ev.constraints[1].seqs, vec![Seq(2), Seq(3), Seq(7)]);
    assert_eq!(
        (ev.constraints[2].applied, ev.constraints[2].violations),
        (10, 0)
    );
    // The digest is over the JCS of the contract: whitespace and member
    // order in the file do not matter, any semantic change does.
    let jcs = ai_audit::encoding::to_canonical(&c).unwrap();
    assert_eq!(
        r.contract,
        Hash32::digest_parts(&[b"ai-audit/v1/contract\0", &jcs])
    );
    let compact: Value = serde_json::from_str(CONTRACT).unwrap();
    let again = Contract::from_json(&serde_json::to_vec(&compact).unwrap()).unwrap();
    assert_eq!(again.digest().unwrap(), r.contract);
    let mut looser = c.clone();
    looser.requirements.k_max = 2;
    assert_ne!(looser.digest().unwrap(), r.contract);
    let lr = looser.evaluate(&verified(&f, &t)).unwrap().result;
    assert!((lr.reliability.get() - 0.63).abs() < 1e-12);

    // Logged, verified, summarised.
    f.log.append(&t, &Body::Contract(r.clone())).unwrap();
    let v = verified(&f, &t);
    assert_eq!(v.get(Seq(11)).unwrap().body(), &Body::Contract(r.clone()));
    let s = compliance::Summary::of(&v);
    assert_eq!(s.contracts.len(), 1);
    assert_eq!(s.contracts[0].contract, r.contract);
    // A contract with no step in the log.
    let none = Contract::from_json(
        br#"{"constraints":[{"field":"tool","id":"t","kind":"tool_call","op":"present","severity":"hard"}],"name":"x","requirements":{"delta_max":0,"k_max":0,"p_min":1},"version":1}"#,
    )
    .unwrap();
    assert!(none.evaluate(&v).unwrap().result.passed);
    let only_flags = Contract {
        constraints: vec![Constraint {
            kind: "policy_flag".into(),
            ..none.constraints[0].clone()
        }],
        ..none
    };
    assert!(matches!(
        only_flags.evaluate(&v),
        Err(ContractError::NoSteps)
    ));
}

#[test]
fn invalid_contracts_are_refused_with_the_rule() {
    let base: Value = serde_json::from_str(CONTRACT).unwrap();
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("version", Box::new(|v| v["version"] = 2.into())),
        (
            "no constraint",
            Box::new(|v| v["constraints"] = Value::Array(vec![])),
        ),
        (
            "[0, 1]",
            Box::new(|v| v["requirements"]["p_min"] = 1.5.into()),
        ),
        (
            "twice",
            Box::new(|v| v["constraints"][1]["id"] = "latency".into()),
        ),
        (
            "value is required",
            Box::new(|v| {
                v["constraints"][0].as_object_mut().unwrap().remove("value");
            }),
        ),
        (
            "take no value",
            Box::new(|v| v["constraints"][2]["value"] = 1.into()),
        ),
        (
            "wrong type",
            Box::new(|v| v["constraints"][0]["value"] = "fast".into()),
        ),
        (
            "dotted",
            Box::new(|v| v["constraints"][0]["field"] = "metrics..x".into()),
        ),
        ("unknown field", Box::new(|v| v["extra"] = 1.into())),
        (
            "unknown variant",
            Box::new(|v| v["constraints"][0]["op"] = "regex".into()),
        ),
    ];
    for (want, edit) in cases {
        let mut v = base.clone();
        edit(&mut v);
        let err = Contract::from_json(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(matches!(err, ContractError::Invalid(_)));
        assert!(err.to_string().contains(want), "{want}: {err}");
    }
    assert!(Contract::from_json(b"{\"name\":\"a\",\"name\":\"b\"}")
        .unwrap_err()
        .to_string()
        .contains("duplicate"));
}

/// `contract` vectors (SPEC §9, §11.4).
#[test]
fn contract_vectors_v1() {
    let (f, t) = contract_log();
    let c = Contract::from_json(CONTRACT.as_bytes()).unwrap();
    let r = c.evaluate(&verified(&f, &t)).unwrap().result;
    f.log.append(&t, &Body::Contract(r.clone())).unwrap();
    let ls = lines(&f, &t);
    assert!(verify(&ls).is_verified());
    check_or_bless("tests/vectors/ok_contract_v1.jsonl", &jsonl(&ls));
    let jcs = String::from_utf8(ai_audit::encoding::to_canonical(&c).unwrap()).unwrap();
    let doc = serde_json::json!({
        "_about": "SPEC §11.4: contract digest = SHA-256(\"ai-audit/v1/contract\\0\" || JCS(contract)); the log of ok_contract_v1.jsonl evaluates to the contract line",
        "contract_jcs": jcs,
        "digest": r.contract.to_hex(),
        "expected": {"p": 0.9, "delta": 0.3, "k": 2, "reliability": r.reliability.get(), "passed": false, "steps": 10},
        "contract_line_seq11": String::from_utf8(ls[11].clone()).unwrap(),
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    check_or_bless("tests/vectors/contract_v1.json", text.as_bytes());
    let mut bad = ls.clone();
    bad[11] = resign(&ls[11], |v| v["body"]["theta"] = 0.5.into());
    let rep = verify(&bad);
    assert_eq!(rep.verdict(), Verdict::Malformed);
    assert_eq!(
        (rep.failures[0].check.as_str(), rep.failures[0].location.seq),
        ("body", Some(Seq(11)))
    );
    check_or_bless(
        "tests/vectors/fail_malformed_contract_member_v1.jsonl",
        &jsonl(&bad),
    );
}

fn tool(parents: Vec<EntryId>, trace: &str, status: ToolStatus) -> Body {
    Body::ToolCall(ToolCall {
        args: Hash32::digest(b"args"),
        call_id: None,
        metrics: Metrics::default(),
        parents,
        result: Some(Hash32::digest(b"result")),
        status,
        tool: Code::new("search").unwrap(),
        trace_id: Some(ExternalId::new(trace).unwrap()),
    })
}

fn prov(source: &str, trust: TrustLevel) -> Provenance {
    Provenance {
        commitment: Hash32::digest(source.as_bytes()),
        source: ExternalId::new(source).unwrap(),
        source_type: SourceType::Document,
        trust,
    }
}

/// An agent run: decision A plans (trace t1), tool calls B and C depend on
/// A, decision D depends on both (two parents) and used two sources, a
/// reviewer signs off D, a policy blocks a third tool call E; an unrelated
/// decision F (trace t2) and a decision G naming an unknown parent and A twice.
fn agent_log() -> (Fixture, TenantId) {
    let f = fixture();
    let t = tenant("acme");
    let with = |i: u64, trace: &str, parents: Vec<EntryId>, provenance: Vec<Provenance>| {
        let Body::Decision(mut d) = decision(i) else {
            unreachable!()
        };
        d.trace_id = Some(ExternalId::new(trace).unwrap());
        d.parents = parents;
        d.provenance = provenance;
        Body::Decision(d)
    };
    let a = f
        .log
        .append(&t, &with(0, "t1", vec![], vec![]))
        .unwrap()
        .id();
    let b = f
        .log
        .append(&t, &tool(vec![a], "t1", ToolStatus::Ok))
        .unwrap()
        .id();
    let c = f
        .log
        .append(&t, &tool(vec![a], "t1", ToolStatus::Ok))
        .unwrap()
        .id();
    let d = f
        .log
        .append(
            &t,
            &with(
                3,
                "t1",
                vec![b, c],
                vec![
                    prov("kb:doc-17", TrustLevel::Trusted),
                    prov("web:3f9a", TrustLevel::Untrusted),
                ],
            ),
        )
        .unwrap()
        .id();
    f.log
        .append(
            &t,
            &oversight(d, OversightOutcome::Approve, Some("checked sources")),
        )
        .unwrap();
    let e = f
        .log
        .append(&t, &tool(vec![d], "t1", ToolStatus::Denied))
        .unwrap()
        .id();
    f.log
        .append(
            &t,
            &Body::PolicyFlag(PolicyFlag {
                input: None,
                outcome: FlagOutcome::Blocked,
                policy: Code::new("no_external_email").unwrap(),
                reasons: vec![],
                target: Some(e),
                trace_id: Some(ExternalId::new("t1").unwrap()),
            }),
        )
        .unwrap();
    f.log.append(&t, &with(7, "t2", vec![], vec![])).unwrap();
    f.log
        .append(&t, &with(8, "t3", vec![EntryId([0xee; 16]), a], vec![]))
        .unwrap();
    (f, t)
}

#[test]
fn trace_dag_groups_and_provenance_are_rebuilt_from_the_log() {
    let (f, t) = agent_log();
    let v = verified(&f, &t);
    let g = TraceGraph::build(&v);
    let edges: Vec<(u64, u64, EdgeKind)> =
        g.edges.iter().map(|e| (e.from.0, e.to.0, e.kind)).collect();
    assert_eq!(
        edges,
        [
            (1, 0, EdgeKind::Parent),
            (2, 0, EdgeKind::Parent),
            (3, 1, EdgeKind::Parent),
            (3, 2, EdgeKind::Parent),
            (4, 3, EdgeKind::Review),
            (5, 3, EdgeKind::Parent),
            (6, 5, EdgeKind::Flag),
            (8, 0, EdgeKind::Parent),
        ]
    );
    assert_eq!(g.ancestors(Seq(3)), vec![Seq(0), Seq(1), Seq(2)]);
    assert_eq!(g.ancestors(Seq(5)), vec![Seq(0), Seq(1), Seq(2), Seq(3)]);
    assert_eq!(
        g.issues,
        vec![TraceIssue {
            seq: Seq(8),
            reference: EntryId([0xee; 16]),
            kind: EdgeKind::Parent,
            problem: TraceProblem::Dangling
        }]
    );
    assert!(!g.is_sound());
    // Groups: the run (0–6, joined by edges and trace t1) plus G, which
    // depends on A; and F alone under trace t2.
    assert_eq!(g.groups.len(), 2);
    let run = g.group_of(Seq(3)).unwrap();
    assert_eq!(run.seqs, (0..=6).chain([8]).map(Seq).collect::<Vec<_>>());
    assert_eq!(
        (run.decisions, run.tool_calls, run.signoffs, run.flags),
        (3, 3, 1, 1)
    );
    assert_eq!(run.roots, vec![Seq(0)]);
    let traces: Vec<&str> = run.trace_ids.iter().map(|x| x.as_str()).collect();
    assert_eq!(traces, ["t1", "t3"]);
    assert_eq!(g.group_of(Seq(7)).unwrap().seqs, vec![Seq(7)]);
    // The summary carries the same facts, and the provenance records.
    let s = compliance::Summary::of(&v);
    assert_eq!(
        (s.trace.edges, s.trace.groups, s.trace.issue_count),
        (8, 2, 1)
    );
    assert_eq!((s.provenance.decisions, s.provenance.records), (1, 2));
    assert_eq!(s.provenance.untrusted, vec![Seq(3)]);
    assert_eq!(s.provenance.by_trust.get("untrusted"), Some(&1));
    assert_eq!(s.provenance.by_source_type.get("document"), Some(&2));
    assert_eq!((s.tool_calls.denied, s.flags.blocked), (1, 1));
    // Provenance makes art10 / A.7.5 measurable: 1 of 4 decisions.
    let r = compliance::Crosswalk::builtin()
        .unwrap()
        .evaluate(&v)
        .unwrap();
    let a75 = status_of(&r, "iso_iec_42001", "a.7.5");
    assert_eq!(
        (a75.status, a75.evidence[0].covered, a75.evidence[0].scope),
        (compliance::Status::Partial, 1, 4)
    );
    assert_eq!(a75.evidence[0].evidence, vec![Seq(3)]);
}

/// Re-links and re-signs the whole chain after `edit` changed line `at`
/// (a producer with the key forging references): only the trace rebuild
/// can object.
fn relink(lines: &[Vec<u8>], at: usize, edit: impl Fn(&mut Value, &[Value])) -> Vec<Vec<u8>> {
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let mut out = Vec::new();
    let mut prev: Option<String> = None;
    for (i, l) in lines.iter().enumerate() {
        let line = resign(l, |v| {
            if i == at {
                edit(v, &parsed);
            }
            if let Some(p) = &prev {
                v["prev"] = p.clone().into();
            }
        });
        let v: Value = serde_json::from_slice(&line).unwrap();
        prev = Some(v["hash"].as_str().unwrap().to_owned());
        out.push(line);
    }
    out
}

#[test]
fn forward_self_and_duplicate_references_are_issues() {
    let (f, t) = agent_log();
    let ls = lines(&f, &t);
    // seq 1 names seq 7 (later) and itself, then seq 0 twice.
    let forged = relink(&ls, 1, |v, all| {
        v["body"]["parents"] =
            serde_json::json!([all[7]["id"], all[1]["id"], all[0]["id"], all[0]["id"]]);
    });
    assert!(verify(&forged).is_verified(), "the chain itself is intact");
    let entries: Vec<Entry> = forged
        .iter()
        .map(|l| Entry::from_line(l).unwrap())
        .collect();
    let v = VerifiedLog::from_chain(&entries, &keyring(), &ChainOptions::default()).unwrap();
    let g = TraceGraph::build(&v);
    let problems: Vec<(u64, TraceProblem)> =
        g.issues.iter().map(|i| (i.seq.0, i.problem)).collect();
    assert_eq!(
        problems,
        [
            (1, TraceProblem::Forward),
            (1, TraceProblem::SelfReference),
            (1, TraceProblem::Duplicate),
            (8, TraceProblem::Dangling)
        ]
    );
    // Only the backward reference became an edge: the graph stays acyclic.
    assert!(g.edges.iter().all(|e| e.to < e.from));
    assert!(g.edges.iter().any(|e| (e.from, e.to) == (Seq(1), Seq(0))));
}

#[test]
fn provenance_rules_on_write_and_read() {
    let f = fixture();
    let t = tenant("acme");
    let Body::Decision(mut d) = decision(0) else {
        unreachable!()
    };
    d.provenance = (0..65)
        .map(|i| prov(&format!("s{i}"), TrustLevel::Verified))
        .collect();
    let err = f.log.append(&t, &Body::Decision(d.clone())).unwrap_err();
    assert!(
        err.to_string().contains("at most 64 provenance records"),
        "{err}"
    );
    d.provenance.truncate(1);
    f.log.append(&t, &Body::Decision(d)).unwrap();
    let ls = lines(&f, &t);
    assert!(verify(&ls).is_verified());
    let bad = vec![resign(&ls[0], |v| {
        v["body"]["provenance"][0]["trust"] = "high".into()
    })];
    let r = verify(&bad);
    assert_eq!(
        (r.verdict(), r.failures[0].check.as_str()),
        (Verdict::Malformed, "body")
    );
}

/// Agentic vectors (SPEC §9, §11.5): the agent run above, and one with a
/// re-signed unknown trust level.
#[test]
fn agentic_vectors_v1() {
    let (f, t) = agent_log();
    let ls = lines(&f, &t);
    assert!(verify(&ls).is_verified());
    check_or_bless("tests/vectors/ok_agentic_v1.jsonl", &jsonl(&ls));
    let mut bad = ls.clone();
    bad[3] = resign(&ls[3], |v| {
        v["body"]["provenance"][1]["trust"] = "high".into()
    });
    let r = verify(&bad);
    assert_eq!(r.verdict(), Verdict::Malformed);
    assert_eq!(r.failures[0].location.seq, Some(Seq(3)));
    check_or_bless(
        "tests/vectors/fail_malformed_provenance_trust_v1.jsonl",
        &jsonl(&bad),
    );
}

#[cfg(feature = "collector")]
#[test]
fn collector_binds_provenance_commitments_into_the_receipt() {
    let store = std::sync::Arc::new(MemoryStore::new());
    let secrets = std::sync::Arc::new(MemorySecrets::new());
    let c = Collector::builder(
        LogName::new("test.example/log").unwrap(),
        signer(),
        store.clone(),
    )
    .secrets(secrets.clone())
    .max_input_bytes(64)
    .random(std::sync::Arc::new(SeededRandom::new(5)))
    .build()
    .unwrap();
    let t = tenant("acme");
    let key = CommitmentKey::from_bytes([3u8; 32]);
    secrets.insert(t.clone(), key.clone());
    let mut d = c.start(&t).unwrap();
    d.set_input("question").unwrap();
    d.set_action(Action::Allow);
    d.add_provenance(
        SourceType::Database,
        "crm:row-9",
        b"row contents",
        TrustLevel::Trusted,
    )
    .unwrap();
    assert!(matches!(
        d.add_provenance(SourceType::Web, "web:x", &[0u8; 65], TrustLevel::Untrusted),
        Err(CollectorError::TooLarge { .. })
    ));
    assert!(matches!(
        d.add_provenance(SourceType::Web, "has space", b"x", TrustLevel::Untrusted),
        Err(CollectorError::Id { .. })
    ));
    let e = d.emit().unwrap();
    let Body::Decision(r) = e.body().unwrap() else {
        panic!("not a decision")
    };
    assert_eq!(r.provenance.len(), 1);
    assert_eq!(
        r.provenance[0].commitment,
        commit(&key, "provenance", b"row contents")
    );
    assert_eq!(r.provenance[0].source.as_str(), "crm:row-9");
    let line = String::from_utf8(e.to_line().unwrap()).unwrap();
    assert!(!line.contains("row contents"));
}

mod packaged {
    //! Reports embedded in evidence packages (SPEC §11.3.4).
    use std::io::{Cursor, Read, Write};

    use ai_audit::package::*;
    use ai_audit::*;

    use super::*;

    fn policy() -> SealPolicy {
        SealPolicy {
            every_entries: Some(4),
            epoch_max_entries: Some(10),
            ..SealPolicy::default()
        }
    }

    fn options() -> ReportOptions {
        ReportOptions {
            keys: keyring(),
            crosswalk: compliance::Crosswalk::builtin().unwrap(),
        }
    }

    fn export(f: &Fixture) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        export_package_with_reports(
            &*f.store,
            &LogName::new("test.example/log").unwrap(),
            &*signer(),
            &Scope::Tenant(tenant("acme")),
            &options(),
            &mut out,
        )
        .unwrap();
        out.into_inner()
    }

    fn unpack(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        (0..z.len())
            .map(|i| {
                let mut f = z.by_index(i).unwrap();
                let mut data = Vec::new();
                f.read_to_end(&mut data).unwrap();
                (f.name().unwrap().to_string(), data)
            })
            .collect()
    }

    /// Re-zips `files` with a manifest re-signed by the log key for their
    /// new contents: what a producer holding the key could do.
    fn repack(mut files: Vec<(String, Vec<u8>)>) -> Vec<u8> {
        let mi = files.iter().position(|f| f.0 == MANIFEST).unwrap();
        let mut m: Manifest = ai_audit::encoding::decode_canonical(&files[mi].1).unwrap();
        m.files = files
            .iter()
            .filter(|f| f.0 != MANIFEST && f.0 != MANIFEST_SIG)
            .map(|f| FileRecord {
                name: f.0.clone(),
                sha256: Hash32::digest(&f.1),
                size: f.1.len() as u64,
            })
            .collect();
        m.files.sort_by(|a, b| a.name.cmp(&b.name));
        let bytes = ai_audit::encoding::to_canonical(&m).unwrap();
        let note = sign_note(&manifest_note_text(&bytes), &[&*signer() as &dyn Signer]).unwrap();
        files[mi].1 = bytes;
        let si = files.iter().position(|f| f.0 == MANIFEST_SIG).unwrap();
        files[si].1 = note.into_bytes();
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default());
        for (name, data) in &files {
            w.start_file(name.as_str(), opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn verify_zip(bytes: &[u8]) -> PackageReport {
        verify_package(Cursor::new(bytes), &keyring()).unwrap()
    }

    fn report_failures(r: &PackageReport) -> Vec<(String, Verdict)> {
        r.report
            .failures
            .iter()
            .filter(|f| f.check == "report")
            .map(|f| {
                (
                    f.location.file.as_deref().unwrap_or_default().to_owned(),
                    f.verdict,
                )
            })
            .collect()
    }

    fn source(n: u64) -> Fixture {
        let f = fixture_sealed(SigningMode::PerEntry, policy());
        populate(&f, &tenant("acme"), n);
        f.log.seal_all().unwrap();
        f
    }

    #[test]
    fn embedded_reports_verify_and_match_the_log() {
        let f = source(23);
        let zip = export(&f);
        let r = verify_zip(&zip);
        assert!(r.is_verified(), "{:#?}", r.report.failures);
        let files = unpack(&zip);
        let names: Vec<&str> = files
            .iter()
            .map(|f| f.0.as_str())
            .filter(|n| n.starts_with("reports/"))
            .collect();
        assert_eq!(
            names,
            [
                "reports/crosswalk.json",
                "reports/acme/compliance.html",
                "reports/acme/compliance.json",
                "reports/acme/compliance.md"
            ]
        );
        // The embedded JSON is the report of the verified store contents.
        let json = &files
            .iter()
            .find(|f| f.0 == "reports/acme/compliance.json")
            .unwrap()
            .1;
        let entries = f.store.read(&tenant("acme"), Seq(0), Seq(100)).unwrap();
        let v = VerifiedLog::from_segment(
            &entries,
            &notes(&f, &tenant("acme")),
            &keyring(),
            &ChainOptions::default(),
        )
        .unwrap();
        let want =
            compliance::ComplianceReport::build(&v, &compliance::Crosswalk::builtin().unwrap())
                .unwrap();
        assert_eq!(json, &want.to_json().unwrap());
        let doc: Value = serde_json::from_slice(json).unwrap();
        assert_eq!(doc["summary"]["entries"], 23 + 2); // two epoch links
        assert_eq!(
            doc["summary"]["integrity"]["checkpoints"],
            notes(&f, &tenant("acme")).len()
        );
        // Re-packing unchanged files with a fresh signature still verifies.
        assert!(verify_zip(&repack(files)).is_verified());
    }

    /// A report from an earlier state of the log, placed in a package of
    /// the grown log and signed again, no longer matches: `tampered`.
    #[test]
    fn a_report_that_no_longer_matches_its_log_is_detected() {
        let f = source(12);
        let old = unpack(&export(&f));
        populate(&f, &tenant("acme"), 5);
        f.log.seal_all().unwrap();
        let mut new = unpack(&export(&f));
        for (name, data) in new.iter_mut() {
            if name.starts_with("reports/acme/") {
                *data = old.iter().find(|o| &o.0 == name).unwrap().1.clone();
            }
        }
        let r = verify_zip(&repack(new.clone()));
        assert_eq!(r.verdict(), Verdict::Tampered);
        assert_eq!(
            report_failures(&r),
            [
                (
                    "reports/acme/compliance.html".to_string(),
                    Verdict::Tampered
                ),
                (
                    "reports/acme/compliance.json".to_string(),
                    Verdict::Tampered
                ),
                ("reports/acme/compliance.md".to_string(), Verdict::Tampered)
            ]
        );
        // Only the chain checks pass; everything else about the package is fine.
        assert!(r.report.failures.iter().all(|f| f.check == "report"));

        // One edited number in the HTML alone is caught too.
        let mut edited = unpack(&export(&f));
        let html = edited
            .iter_mut()
            .find(|x| x.0 == "reports/acme/compliance.html")
            .unwrap();
        let text = String::from_utf8(html.1.clone())
            .unwrap()
            .replacen("yes", "no", 1);
        html.1 = text.into_bytes();
        assert_eq!(
            report_failures(&verify_zip(&repack(edited))),
            [(
                "reports/acme/compliance.html".to_string(),
                Verdict::Tampered
            )]
        );
    }

    /// Package vectors with reports (SPEC §9, §11.3.4), in their own
    /// directory `tests/vectors/reports/` with an index of verdicts.
    #[test]
    fn report_package_vectors_v1() {
        let f = source(12);
        let ok = export(&f);
        let old = unpack(&ok);
        populate(&f, &tenant("acme"), 5);
        f.log.seal_all().unwrap();
        let mut stale = unpack(&export(&f));
        for (name, data) in stale.iter_mut() {
            if name.starts_with("reports/acme/") {
                *data = old.iter().find(|o| &o.0 == name).unwrap().1.clone();
            }
        }
        let stale = repack(stale);
        let mut edited = old.clone();
        let json = edited
            .iter_mut()
            .find(|x| x.0 == "reports/acme/compliance.json")
            .unwrap();
        let text = String::from_utf8(json.1.clone()).unwrap();
        json.1 = text
            .replacen("\"decisions\":", "\"decisions\":1", 1)
            .into_bytes();
        let edited = repack(edited);
        let cases = [
            ("ok_report_v1.zip", &ok, "verified"),
            ("fail_tampered_stale_report_v1.zip", &stale, "tampered"),
            ("fail_tampered_edited_report_v1.zip", &edited, "tampered"),
        ];
        let mut index = serde_json::Map::new();
        for (name, bytes, verdict) in cases {
            let r = verify_zip(bytes);
            assert_eq!(
                serde_json::to_value(r.verdict()).unwrap(),
                verdict,
                "{name}"
            );
            if verdict != "verified" {
                assert!(
                    r.report.failures.iter().all(|f| f.check == "report"),
                    "{name}"
                );
            }
            check_or_bless(&format!("tests/vectors/reports/{name}"), bytes);
            index.insert(
                name.into(),
                serde_json::json!({"verdict": verdict, "check": if verdict == "verified" { "" } else { "report" }}),
            );
        }
        let doc = serde_json::json!({
            "_about": "SPEC §11.3.4: log packages (tenant acme, key of entries_v1.json) with embedded compliance reports; verify with that verifier_key pinned",
            "packages": index,
        });
        let mut text = serde_json::to_string_pretty(&doc).unwrap();
        text.push('\n');
        check_or_bless("tests/vectors/reports/reports_v1.json", text.as_bytes());
    }

    #[test]
    fn report_files_without_template_or_entries_or_with_bad_entries_fail() {
        let f = source(9);
        let files = unpack(&export(&f));
        // No template.
        let no_template: Vec<_> = files.iter().filter(|x| x.0 != CROSSWALK).cloned().collect();
        let r = verify_zip(&repack(no_template));
        assert_eq!(
            report_failures(&r),
            [("reports/crosswalk.json".to_string(), Verdict::Malformed)]
        );
        // A bad template.
        let mut bad = files.clone();
        bad.iter_mut().find(|x| x.0 == CROSSWALK).unwrap().1 = b"{\"version\":1}".to_vec();
        assert_eq!(
            report_failures(&verify_zip(&repack(bad))),
            [("reports/crosswalk.json".to_string(), Verdict::Malformed)]
        );
        // A report of a tenant with no entries in the package.
        let mut orphan = files.clone();
        let json = files
            .iter()
            .find(|x| x.0 == "reports/acme/compliance.json")
            .unwrap()
            .1
            .clone();
        orphan.push(("reports/beta/compliance.json".into(), json));
        assert_eq!(
            report_failures(&verify_zip(&repack(orphan))),
            [(
                "reports/beta/compliance.json".to_string(),
                Verdict::Tampered
            )]
        );
        // One rendering dropped.
        let dropped: Vec<_> = files
            .iter()
            .filter(|x| x.0 != "reports/acme/compliance.md")
            .cloned()
            .collect();
        assert_eq!(
            report_failures(&verify_zip(&repack(dropped))),
            [("reports/acme/compliance.md".to_string(), Verdict::Tampered)]
        );
        // Entries that do not verify: the report is not recomputed.
        let mut broken = files;
        let e = broken
            .iter_mut()
            .find(|x| x.0.ends_with("0/entries.jsonl"))
            .unwrap();
        e.1 = String::from_utf8(e.1.clone())
            .unwrap()
            .replacen("\"reject\"", "\"allow\"", 1)
            .into_bytes();
        let r = verify_zip(&repack(broken));
        assert!(r.report.failures.iter().any(|f| f.check == "entry_hash"));
        assert_eq!(
            report_failures(&r),
            [(
                "reports/acme/compliance.json".to_string(),
                Verdict::Tampered
            )]
        );
        // Export refuses to compute a report over entries it cannot verify.
        let mut out = Cursor::new(Vec::new());
        let wrong_keys = ReportOptions {
            keys: KeyRing::new(),
            ..options()
        };
        let err = export_package_with_reports(
            &*f.store,
            &LogName::new("test.example/log").unwrap(),
            &*signer(),
            &Scope::Tenant(tenant("acme")),
            &wrong_keys,
            &mut out,
        )
        .unwrap_err();
        assert!(err.to_string().contains("verification failed"), "{err}");
    }
}

/// Shred tombstones are counted in the summary (tenant and subject scope),
/// and make GDPR Art. 17 evidence present.
#[cfg(feature = "collector")]
#[test]
fn shreds_are_counted_and_evidence_erasure() {
    let f = fixture();
    let t = tenant("acme");
    for i in 0..3 {
        f.log
            .append(&t, &decision_with(i, Action::Allow, 100))
            .unwrap();
    }
    let keys = crate::shred::key_store(std::sync::Arc::new(MemoryVault::new()), crate::shred::KEK);
    let actor = ExternalId::new("dpo-1").unwrap();
    let reason = Code::new("gdpr_art17").unwrap();
    let ts = keys
        .destroy_subject_key(&f.log, &t, "alice", &actor, &reason)
        .unwrap();
    assert_eq!(ts.kind(), EntryKind::Shred);
    f.log
        .append(&t, &decision_with(3, Action::Allow, 100))
        .unwrap();
    let v = verified(&f, &t);
    let s = compliance::Summary::of(&v);
    assert_eq!(
        (s.shreds, s.subject_shreds, s.shred_seqs.clone()),
        (1, 1, vec![ts.seq()])
    );
    let r = compliance::Crosswalk::builtin()
        .unwrap()
        .evaluate(&v)
        .unwrap();
    let art17 = status_of(&r, "gdpr", "art17");
    assert_eq!(art17.status, compliance::Status::Pass);
    assert_eq!(art17.evidence[0].evidence, vec![ts.seq()]);
    let md = compliance::ComplianceReport::build(&v, &compliance::Crosswalk::builtin().unwrap())
        .unwrap()
        .to_markdown();
    assert!(md.contains("| of which data-subject shreds | 1 |"), "{md}");
}
