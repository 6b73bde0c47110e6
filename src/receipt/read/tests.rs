use super::*;
use crate::receipt::tests::{finite, full, receipt};
use proptest::prelude::*;

// The direct reader (`read_canonical`, via `Body::from_known_canonical`)
// against the path it replaces (`Body::from_known_canonical_reencoded`).

use crate::body::{Body, EntryKind};
use serde_json::{json, Value};

/// The new and the old decoding of `bytes` agree: the same body (also
/// by its Debug text, which tells -0.0 from 0.0) or the same error.
/// Whenever the direct reader returns a receipt, its canonical form is
/// `bytes`. The check-only path gives the old path's answer (no key,
/// or the same error), and checks without building exactly what the
/// direct reader reads within the rules. Returns whether the direct
/// reader returned a receipt.
fn same_verdict(bytes: &[u8]) -> bool {
    let new = Body::from_known_canonical(EntryKind::Decision, bytes);
    let old = Body::from_known_canonical_reencoded(EntryKind::Decision, bytes);
    let text = String::from_utf8_lossy(bytes);
    assert_eq!(new, old, "{text}");
    assert_eq!(format!("{new:?}"), format!("{old:?}"), "{text}");
    let checked = Body::check_known_canonical(EntryKind::Decision, bytes);
    assert_eq!(checked, old.map(Body::into_new_key), "{text}");
    let read = DecisionReceipt::read_canonical(bytes);
    assert_eq!(
        DecisionReceipt::check_canonical(bytes),
        read.as_ref().is_some_and(|r| r.check_rules().is_ok()),
        "{text}"
    );
    match read {
        Some(r) => {
            assert_eq!(r.to_canonical().unwrap(), bytes, "{text}");
            true
        }
        None => false,
    }
}

/// Values put in place of any member or item: wrong types, `null` and
/// empties, boundary numbers, escapes and non-ASCII text.
fn edits() -> Vec<Value> {
    vec![
        Value::Null,
        json!([]),
        json!({}),
        json!(""),
        json!("x"),
        json!("A"),
        json!("\u{1}\u{1f}\n"),
        json!("é\"\\/\u{7f}"),
        json!(true),
        json!(false),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(-0.0),
        json!(1e21),
        json!(1e-7),
        json!(5e-324),
        json!(9_007_199_254_740_992u64),
        json!(9_007_199_254_740_993u64),
        json!(4_294_967_295u64),
        json!(4_294_967_296u64),
        json!([1]),
        json!({"a": 1}),
        json!("0000000000000000000000000000000000000000000000000000000000000000"),
        json!("00000000000000000000000000000000"),
        json!("allow"),
        json!("16.0.0"),
    ]
}

/// `v` with one member or item, at any depth, removed, repeated,
/// replaced by each of [`edits`], or joined by an unknown member.
fn mutations(v: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let mut gone = m.clone();
                gone.remove(k);
                out.push(Value::Object(gone));
                for x in edits().into_iter().chain(mutations(child)) {
                    let mut m2 = m.clone();
                    m2.insert(k.clone(), x);
                    out.push(Value::Object(m2));
                }
            }
            for extra in ["zz", "0", "actions", "a", "fired2"] {
                let mut m2 = m.clone();
                m2.insert(extra.into(), json!(1));
                out.push(Value::Object(m2));
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let mut gone = a.clone();
                gone.remove(i);
                out.push(Value::Array(gone));
                let mut twice = a.clone();
                twice.insert(i, child.clone());
                out.push(Value::Array(twice));
                for x in edits().into_iter().chain(mutations(child)) {
                    let mut a2 = a.clone();
                    a2[i] = x;
                    out.push(Value::Array(a2));
                }
            }
        }
        _ => {}
    }
    out
}

/// Receipts with provenance records and sealed fields (any subset of
/// [`full`]'s, in order) as well as those of [`receipt`].
fn any_receipt() -> impl Strategy<Value = DecisionReceipt> {
    let f = full();
    (
        receipt(),
        prop::sample::subsequence(f.provenance.clone(), 0..=f.provenance.len()),
        prop::sample::subsequence(f.sealed.clone(), 0..=f.sealed.len()),
    )
        .prop_map(|(mut r, provenance, sealed)| {
            r.provenance = provenance;
            r.sealed = sealed;
            r
        })
}

/// [`any_receipt`]'s receipts made to keep the rules (PII sorted by
/// category, each once; a well-formed Unicode version), so that the
/// check-only path accepts them: half of the corpus below.
fn lawful_receipt() -> impl Strategy<Value = DecisionReceipt> {
    (any_receipt(), "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}").prop_map(|(mut r, unicode)| {
        r.pii.sort_by(|a, b| a.category.cmp(&b.category));
        r.pii.dedup_by(|a, b| a.category == b.category);
        r.unicode = unicode;
        r
    })
}

/// The receipts of the reader's tests: those of [`any_receipt`] (most
/// break a rule) and those of [`lawful_receipt`].
fn corpus() -> impl Strategy<Value = DecisionReceipt> {
    prop_oneof![any_receipt(), lawful_receipt()]
}

/// Bytes the mutations below splice in.
const SPLICE: &[u8] = b"\"\\,:{}[]0123456789-+.eEnultrfa \x1f\x7f\x80\xc3\xa9\xff";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The canonical bytes of any receipt are read back directly, as
    /// that receipt, with the old path's verdict.
    #[test]
    fn direct_reader_reads_back_any_receipt(r in corpus()) {
        let bytes = r.to_canonical().unwrap();
        let lawful = r.check_rules().is_ok();
        prop_assert_eq!(DecisionReceipt::read_canonical(&bytes), Some(r));
        prop_assert_eq!(DecisionReceipt::check_canonical(&bytes), lawful);
        same_verdict(&bytes);
    }

    /// Every mutation of a receipt's value (as canonical bytes, and as
    /// serde_json's compact bytes) gets the old path's verdict.
    #[test]
    fn direct_reader_agrees_on_mutated_values(r in corpus()) {
        let v = serde_json::to_value(&r).unwrap();
        for m in mutations(&v) {
            if let Ok(bytes) = encoding::canonical_value(&m) {
                same_verdict(&bytes);
            }
            same_verdict(&serde_json::to_vec(&m).unwrap());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Bytes of a receipt with a few bytes replaced, inserted or
    /// deleted get the old path's verdict.
    #[test]
    fn direct_reader_agrees_on_mutated_bytes(
        r in corpus(),
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), 0u8..3, prop::sample::select(SPLICE.to_vec())),
            1..4,
        ),
    ) {
        let mut bytes = r.to_canonical().unwrap();
        for (at, op, b) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 if i < bytes.len() => bytes[i] = b,
                1 => bytes.insert(i, b),
                _ if i < bytes.len() => {
                    bytes.remove(i);
                }
                _ => {}
            }
        }
        same_verdict(&bytes);
    }
}

/// The decision body of the benchmark packages, into which the edge
/// cases below are spliced.
const EDGE_BODY: &str = concat!(
    r#"{"action":"reject","checks":[{"detail":"ok","fired":false,"name":"toxicity","#,
    r#""score":0.25,"threshold":0.5,"version":"v1"}],"#,
    r#""input":"d76f36ed5f851e3d704778cec654530641adf8b0ee3c15c1a6802ba5688b9d69","#,
    r#""metrics":{"latency_ms":120},"model":{"config":"#,
    r#""e67d23e7820c49a8051dac2831f38290f5e72f66c8db5079eeb60d82f14894c0","id":"model-x"},"#,
    r#""output":"799b6261bc8f8532aa9793379424142e5ab22e2720017faf116cf14959f0a0cf","#,
    r#""pii":[{"category":"email","count":1}],"reasons":["policy.ok"],"#,
    r#""tags":["eu_ai_act:art12"],"trace_id":"trace-0","unicode":"16.0.0"}"#
);

/// The check-only path at the edges of each rule of
/// [`DecisionReceipt::check_rules`] and of the codes and ids it checks
/// without building them: each case spliced into [`EDGE_BODY`], with
/// whether it is accepted without building; [`same_verdict`] compares
/// it with the old path.
#[test]
fn check_only_path_at_the_edges_of_the_rules() {
    let record = r#"{"commitment":"c522f53d1ded71d46ce5838b906a39c453eca7235d6f3d852fd5f20181b2b818","source":"kb:doc-17","source_type":"document","trust":"trusted"}"#;
    let records = |n: usize| {
        format!(
            r#","provenance":[{}],"reasons":"#,
            vec![record; n].join(",")
        )
    };
    let field = |name: &str| {
        format!(
            r#"{{"ct":"3XgXml8shJpqfffO2OiqsNKy6vuqRWeDjon5NxvpTaVhHg/XF+0b+IJV9T0gQ7M8","field":"{name}","key":"ccb135d81806bb2aabe2105ce3467c0c","nonce":"ef107acd35d899907e3531b8"}}"#
        )
    };
    let fields = |names: &[&str]| {
        let f: Vec<String> = names.iter().map(|n| field(n)).collect();
        format!(r#","sealed":[{}],"tags":"#, f.join(","))
    };
    let detail = |text: String| format!(r#""detail":"{text}","#);
    let pii = |cats: &[&str]| {
        let p: Vec<String> = cats
            .iter()
            .map(|c| format!(r#"{{"category":"{c}","count":1}}"#))
            .collect();
        format!("[{}]", p.join(","))
    };
    let pii_at = r#"[{"category":"email","count":1}]"#;
    let detail_at = r#""detail":"ok","#;
    // Rules: the direct reader reads each of these; the rules decide.
    let rules: Vec<(&str, String, bool)> = vec![
        (pii_at, pii(&["a", "email"]), true),
        (pii_at, pii(&["email", "a"]), false),
        (pii_at, pii(&["email", "email"]), false),
        (pii_at, pii(&["", "email"]), false),
        (pii_at, pii(&["a", "ab", "b"]), true),
        (pii_at, pii(&["a", "b", "ab"]), false),
        // Sorted by the text, not by its escapes: "\u0001" < "\n".
        (pii_at, pii(&[r"a\u0001", r"a\n"]), true),
        (pii_at, pii(&[r"a\n", r"a\u0001"]), false),
        (pii_at, pii(&[r#"a\"b"#, "ab"]), true),
        (pii_at, pii(&["é", "z"]), false),
        (pii_at, pii(&["z", "é"]), true),
        (
            pii_at,
            r#"[{"category":"a","count":0},{"category":"b","count":1}]"#.into(),
            false,
        ),
        (
            pii_at,
            r#"[{"category":"a","count":4294967295}]"#.into(),
            true,
        ),
        (detail_at, detail("x".repeat(1024)), true),
        (detail_at, detail("x".repeat(1025)), false),
        (detail_at, detail(r"\n".repeat(1024)), true),
        (detail_at, detail(r"\n".repeat(1025)), false),
        (detail_at, detail(r"\u0001".repeat(1024)), true),
        (detail_at, detail("é".repeat(512)), true),
        (detail_at, detail("é".repeat(512) + "x"), false),
        (detail_at, detail("😀".repeat(256)), true),
        (detail_at, detail("😀".repeat(256) + "x"), false),
        (detail_at, detail(String::new()), true),
        (r#","reasons":"#, records(1), true),
        (r#","reasons":"#, records(64), true),
        (r#","reasons":"#, records(65), false),
        (r#","tags":"#, fields(&["raw_input", "raw_output"]), true),
        (r#","tags":"#, fields(&["raw_output", "raw_input"]), false),
        (r#","tags":"#, fields(&["raw_input", "raw_input"]), false),
        ("16.0.0", "1.2.345".into(), true),
        ("16.0.0", "0.0.0".into(), true),
        ("16.0.0", "16.0".into(), false),
        ("16.0.0", "16.0.0.0".into(), false),
        ("16.0.0", "16..0".into(), false),
        ("16.0.0", ".16.0".into(), false),
        ("16.0.0", "1234.0.0".into(), false),
        ("16.0.0", "16.0.x".into(), false),
        ("16.0.0", "١.0.0".into(), false),
        ("16.0.0", String::new(), false),
    ];
    for (from, to, ok) in &rules {
        assert!(EDGE_BODY.contains(from), "{from}");
        let bytes = EDGE_BODY.replacen(from, to, 1);
        assert!(same_verdict(bytes.as_bytes()), "{bytes}");
        assert_eq!(
            DecisionReceipt::check_canonical(bytes.as_bytes()),
            *ok,
            "{bytes}"
        );
    }
    // Codes and ids, checked without being built: accepted without
    // building exactly when the direct reader reads them.
    let ids: Vec<(&str, String, bool)> = vec![
        ("trace-0", "t".repeat(128), true),
        ("trace-0", "t".repeat(129), false),
        ("trace-0", r#"a\"b\\c"#.into(), true),
        ("trace-0", r"a\u0001".into(), false),
        ("trace-0", "a b".into(), false),
        ("trace-0", "é".into(), false),
        ("trace-0", "~!".into(), true),
        ("model-x", "m".repeat(128), true),
        ("model-x", "m".repeat(129), false),
        ("model-x", String::new(), false),
        (
            r#","tags":"#,
            r#","session_id":"s\"1","tags":"#.into(),
            true,
        ),
        (
            r#","tags":"#,
            r#","session_id":"s 1","tags":"#.into(),
            false,
        ),
        ("policy.ok", "p".repeat(64), true),
        ("policy.ok", "p".repeat(65), false),
        ("policy.ok", "-p".into(), false),
        ("policy.ok", "0:a.b_c-d".into(), true),
        ("eu_ai_act:art12", "Eu".into(), false),
        ("eu_ai_act:art12", String::new(), false),
        ("toxicity", "n".repeat(64), true),
        ("toxicity", "n".repeat(65), false),
        (r#""version":"v1""#, r#""version":"V1""#.into(), false),
        (r#""version":"v1""#, r#""version":"1.0""#.into(), true),
    ];
    for (from, to, ok) in &ids {
        assert!(EDGE_BODY.contains(from), "{from}");
        let bytes = EDGE_BODY.replacen(from, to, 1);
        assert_eq!(same_verdict(bytes.as_bytes()), *ok, "{bytes}");
        assert_eq!(
            DecisionReceipt::check_canonical(bytes.as_bytes()),
            *ok,
            "{bytes}"
        );
    }
}

/// Hand-picked edges, each spliced into the body of the benchmark
/// packages: accepted directly exactly when the old path accepts.
#[test]
fn direct_reader_agrees_on_edge_cases() {
    let body = EDGE_BODY;
    assert!(same_verdict(body.as_bytes()));
    let provenance = r#","provenance":[{"commitment":"c522f53d1ded71d46ce5838b906a39c453eca7235d6f3d852fd5f20181b2b818","source":"kb:doc-17","source_type":"document","trust":"trusted"}],"tags":"#;
    let sealed = r#","sealed":[{"ct":"3XgXml8shJpqfffO2OiqsNKy6vuqRWeDjon5NxvpTaVhHg/XF+0b+IJV9T0gQ7M8","field":"raw_input","key":"ccb135d81806bb2aabe2105ce3467c0c","nonce":"ef107acd35d899907e3531b8"}],"tags":"#;
    let twice = r#"{"ct":"3XgXml8shJpqfffO2OiqsNKy6vuqRWeDjon5NxvpTaVhHg/XF+0b+IJV9T0gQ7M8","field":"raw_input","key":"ccb135d81806bb2aabe2105ce3467c0c","nonce":"ef107acd35d899907e3531b8"}"#;
    let cases: Vec<(&str, &str)> = vec![
        // Numbers of a check.
        ("0.25", "0"),
        ("0.25", "-0"),
        ("0.25", "0.0"),
        ("0.25", "1.0"),
        ("0.25", "1"),
        ("0.25", "-1"),
        ("0.25", "01"),
        ("0.25", ".25"),
        ("0.25", "0.250"),
        ("0.25", "2.5e-1"),
        ("0.25", "1e-7"),
        ("0.25", "1e-07"),
        ("0.25", "1E-7"),
        ("0.25", "0.0000001"),
        ("0.25", "0.000001"),
        ("0.25", "1e-6"),
        ("0.25", "5e-324"),
        ("0.25", "2e-324"),
        ("0.25", "9007199254740992"),
        ("0.25", "9007199254740993"),
        ("0.25", "9007199254740994"),
        ("0.25", "1e+21"),
        ("0.25", "1e21"),
        ("0.25", "100000000000000000000"),
        ("0.25", "0.30000000000000004"),
        ("0.25", "0.3000000000000000444"),
        ("0.25", "+1"),
        ("0.25", "1e+2"),
        ("0.25", "NaN"),
        ("0.25", "Infinity"),
        ("0.25", "null"),
        ("0.25", "\"0.25\""),
        // Integers.
        ("120", "0"),
        ("120", "00"),
        ("120", "-0"),
        ("120", "-1"),
        ("120", "1.0"),
        ("120", "1e2"),
        ("120", "9007199254740992"),
        ("120", "9007199254740993"),
        ("120", "18446744073709551615"),
        ("120", "18446744073709551616"),
        (r#""count":1"#, r#""count":0"#),
        (r#""count":1"#, r#""count":4294967295"#),
        (r#""count":1"#, r#""count":4294967296"#),
        (r#""count":1"#, r#""count":01"#),
        // Text: escapes, controls, non-ASCII, bad escapes.
        (r#""ok""#, r#""a\"b\\c""#),
        (r#""ok""#, r#""\n\t\b\f\r""#),
        (r#""ok""#, r#""\u0000\u001f\u007f""#),
        (r#""ok""#, r#""\u0000\u001f""#),
        (r#""ok""#, r#""\u001F""#),
        (r#""ok""#, r#""\u0008""#),
        (r#""ok""#, r#""\u000a""#),
        (r#""ok""#, r#""\u0020""#),
        (r#""ok""#, r#""\u00e9""#),
        (r#""ok""#, r#""\/""#),
        (r#""ok""#, r#""\x""#),
        (r#""ok""#, r#""\u00""#),
        (r#""ok""#, "\"é😀\u{7f}\""),
        (r#""ok""#, "\"\u{1}\""),
        (r#""ok""#, "\"\t\""),
        (r#""ok""#, r#""""#),
        (r#""ok""#, r#""\"#),
        ("16.0.0", "16.0"),
        ("16.0.0", r#"1\u0036.0.0"#),
        ("16.0.0", r#"16.0.0\u0000"#),
        ("16.0.0", "é"),
        (r#""email""#, r#""""#),
        (r#""email""#, r#""e\"mail""#),
        (r#""email""#, r#""é\n""#),
        ("trace-0", r#"trace\"0"#),
        ("trace-0", r#"trace\\0"#),
        ("trace-0", r#"trace\u0020"#),
        ("trace-0", "tr é"),
        ("model-x", r#"model\/x"#),
        ("policy.ok", "Policy.ok"),
        ("policy.ok", r#"policy\u002eok"#),
        // Values the writer never writes.
        (r#""fired":false"#, r#""fired":true"#),
        (r#""fired":false"#, r#""fired":null"#),
        (r#""fired":false"#, r#""fired":0"#),
        (r#""detail":"ok","#, ""),
        (r#""detail":"ok","#, r#""detail":null,"#),
        (r#","score":0.25"#, ""),
        (r#","score":0.25"#, r#","score":null"#),
        (r#"{"latency_ms":120}"#, "{}"),
        (
            r#"{"latency_ms":120}"#,
            r#"{"cost_micros":1,"output_tokens":2}"#,
        ),
        (
            r#"{"latency_ms":120}"#,
            r#"{"output_tokens":2,"cost_micros":1}"#,
        ),
        (
            r#"{"latency_ms":120}"#,
            r#"{"latency_ms":120,"latency_ms":1}"#,
        ),
        (r#"{"latency_ms":120}"#, r#"{,"latency_ms":120}"#),
        (r#"{"latency_ms":120}"#, r#"{"latency_ms":null}"#),
        (
            r#"{"latency_ms":120}"#,
            r#"{"cost_micros":0,"input_tokens":1,"latency_ms":2,"output_tokens":3}"#,
        ),
        (
            r#"{"config":"e67d23e7820c49a8051dac2831f38290f5e72f66c8db5079eeb60d82f14894c0","#,
            "{",
        ),
        (r#""id":"model-x"}"#, "}"),
        (r#","model":{"#, r#","model":null,"x":{"#),
        (r#"["policy.ok"]"#, "[]"),
        (r#"["policy.ok"]"#, r#"["policy.ok","policy.ok"]"#),
        (r#"["policy.ok"]"#, r#"["policy.ok",]"#),
        (r#"["policy.ok"]"#, r#"["policy.ok""#),
        (r#"[{"category":"email","count":1}]"#, "[]"),
        (
            r#"[{"category":"email","count":1}]"#,
            r#"[{"category":"a","count":1},{"category":"email","count":1}]"#,
        ),
        (
            r#"[{"category":"email","count":1}]"#,
            r#"[{"category":"email","count":1},{"category":"a","count":1}]"#,
        ),
        (r#""action":"reject""#, r#""action":"fail_retry""#),
        (r#""action":"reject""#, r#""action":"Reject""#),
        (r#""action":"reject""#, r#""action":"rejec""#),
        (r#""action":"reject""#, r#""action":"reject\u0000""#),
        (r#""action":"reject""#, r#""action":null"#),
        ("d76f36ed", "D76f36ed"),
        ("d76f36ed", "g76f36ed"),
        ("d76f36ed", "d76f36e"),
        ("d76f36ed", "d76f36ed0"),
        (r#","unicode":"16.0.0"}"#, r#","unicode":"16.0.0","zz":1}"#),
        (r#","unicode":"16.0.0"}"#, r#","unicode":"16.0.0"} "#),
        (r#","unicode":"16.0.0"}"#, r#","unicode":"16.0.0"}}"#),
        (r#","unicode":"16.0.0"}"#, r#"}"#),
        (
            r#","tags":"#,
            r#","parents":["00000000000000000000000000000000"],"tags":"#,
        ),
        (
            r#","tags":"#,
            r#","parents":["0000000000000000000000000000000"],"tags":"#,
        ),
        (r#","tags":"#, r#","parents":[],"tags":"#),
        (
            r#","tags":"#,
            r#","session_id":"s-1","state":"d76f36ed5f851e3d704778cec654530641adf8b0ee3c15c1a6802ba5688b9d69","tags":"#,
        ),
        (
            r#","tags":"#,
            r#","state":"d76f36ed5f851e3d704778cec654530641adf8b0ee3c15c1a6802ba5688b9d69","session_id":"s-1","tags":"#,
        ),
        (r#","tags":"#, r#","provenance":[],"tags":"#),
        (r#","tags":"#, r#","sealed":[],"tags":"#),
        (r#","tags":"#, provenance),
        (r#","tags":"#, sealed),
    ];
    let owned = [
        provenance.replace("kb:doc", "kb]doc"),
        provenance.replace("kb:doc", "kb\\\"doc"),
        provenance.replace("trusted", "Trusted"),
        sealed.replace("7M8\"", "7M9\""),
        sealed.replace("raw_input", "Raw_input"),
        sealed.replace(twice, &format!("{twice},{twice}")),
    ];
    let mut accepted = 0;
    for (from, to) in cases
        .into_iter()
        .chain(owned.iter().map(|t| (r#","tags":"#, t.as_str())))
    {
        assert!(body.contains(from), "{from}");
        if same_verdict(body.replacen(from, to, 1).as_bytes()) {
            accepted += 1;
        }
    }
    // Invalid UTF-8 inside a string, and cut-off bodies.
    let mut bad = body.as_bytes().to_vec();
    let at = body.find("trace-0").unwrap();
    bad[at] = 0xff;
    assert!(!same_verdict(&bad));
    for n in 0..body.len() {
        assert!(!same_verdict(&body.as_bytes()[..n]));
    }
    // The valid ones above are read directly (the test is not vacuous).
    assert!(accepted >= 30, "{accepted}");
}

/// Number tokens: plain decimals around the 15-digit and 1e-6 limits,
/// what the printer writes, and arbitrary number-like text.
fn number_token() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            "-?",
            "0|[1-9][0-9]{0,16}",
            proptest::option::of("[0-9]{0,17}[1-9]")
        )
            .prop_map(|(sign, int, frac)| match frac {
                Some(f) => format!("{sign}{int}.{f}"),
                None => format!("{sign}{int}"),
            }),
        "-?0\\.0{0,7}[1-9][0-9]{0,16}",
        "-?[1-9]0{0,17}",
        "[-0-9.e+]{1,22}",
        finite().prop_map(|x| {
            let mut v = Vec::new();
            encoding::write_f64(&mut v, x, "").unwrap();
            String::from_utf8(v).unwrap()
        }),
    ]
}

/// The printer's answer for `token`: whether writing the double nearest
/// to it gives it back (as [`Reader::finite`] checks when it must).
fn printed_as_it_stands(token: &str) -> Option<bool> {
    let x = Finite::new(token.parse::<f64>().ok()?).ok()?;
    let mut again = Vec::new();
    encoding::write_f64(&mut again, x.get(), "").unwrap();
    Some(again == token.as_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// A token the shortcut accepts is one the printer writes as it
    /// stands (the shortcut may leave some of those to the printer).
    #[test]
    fn short_plain_decimals_are_printed_as_they_stand(t in number_token()) {
        if is_short_plain_decimal(&t) {
            // (`None`: beyond 2^53, refused before the shortcut.)
            prop_assert_ne!(printed_as_it_stands(&t), Some(false), "{}", t);
        }
    }
}

#[test]
fn short_plain_decimal_limits() {
    for (t, short) in [
        ("0", true),
        ("-0", false),
        ("0.0", false),
        ("1.0", false),
        ("1", true),
        ("-1", true),
        ("01", false),
        (".5", false),
        ("5.", false),
        ("0.5", true),
        ("-0.25", true),
        ("0.000001", true),
        ("0.0000001", false),
        ("0.000001234567890123456", false),
        ("0.00000123456789012345", true),
        ("123456789012345", true),
        ("1234567890123456", false),
        ("1000000000000000", true),
        ("9007199254740992", false),
        ("12345678.9012345", true),
        ("12345678.90123456", false),
        ("0.30000000000000004", false),
        ("1e-7", false),
        ("1e+21", false),
        ("+1", false),
        ("--1", false),
        ("1.2.3", false),
    ] {
        assert_eq!(is_short_plain_decimal(t), short, "{t}");
        if short {
            assert_eq!(printed_as_it_stands(t), Some(true), "{t}");
        }
    }
    // Every plain decimal of up to 15 nines, at every point position.
    for k in 1..=15 {
        let digits = "9".repeat(k);
        for point in 0..=k {
            let t = match point {
                0 => format!("0.{digits}"),
                p if p == k => digits.clone(),
                p => format!("{}.{}", &digits[..p], &digits[p..]),
            };
            assert!(is_short_plain_decimal(&t), "{t}");
            assert_eq!(printed_as_it_stands(&t), Some(true), "{t}");
        }
    }
}
