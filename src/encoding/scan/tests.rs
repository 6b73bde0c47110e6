#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;
use crate::encoding::parse_canonical;
use proptest::prelude::*;

/// The acceptor's answer equals the slow path's on `bytes`.
fn agree(bytes: &[u8]) {
    let slow = parse_canonical(bytes).is_ok();
    assert_eq!(
        is_canonical(bytes),
        slow,
        "acceptor and parse_canonical disagree on {:?}",
        String::from_utf8_lossy(bytes)
    );
    let mut n = 0;
    let obj = scan_object(bytes, &mut |_, _| n += 1);
    let slow_obj = slow && bytes.first() == Some(&b'{');
    assert_eq!(obj, slow_obj, "{:?}", String::from_utf8_lossy(bytes));
}

#[test]
fn hand_picked_cases_agree() {
    let cases: &[&[u8]] = &[
        b"{}",
        b"[]",
        b"",
        b" {}",
        b"{} ",
        br#"{"a":1,"b":[true,null,false]}"#,
        br#"{"b":1,"a":1}"#,
        br#"{"a":1,"a":1}"#,
        br#"{"a": 1}"#,
        br#"{"a":1.0}"#,
        br#"{"a":1e2}"#,
        br#"{"a":1e21}"#,
        br#"{"a":1e+21}"#,
        br#"{"a":-0}"#,
        br#"{"a":0}"#,
        br#"{"a":-1}"#,
        br#"{"a":01}"#,
        br#"{"a":0.5}"#,
        br#"{"a":.5}"#,
        br#"{"a":-0.0}"#,
        br#"{"a":9007199254740992}"#,
        br#"{"a":9007199254740993}"#,
        br#"{"a":-9007199254740992}"#,
        br#"{"a":-9007199254740993}"#,
        br#"{"a":18446744073709551615}"#,
        br#"{"a":18446744073709551616}"#,
        br#"{"a":100000000000000000000}"#,
        br#"{"a":123456789012345680000}"#,
        br#"{"a":1e-7}"#,
        br#"{"a":0.000001}"#,
        br#"{"a":5e-324}"#,
        br#"{"a":0.25}"#,
        br#"{"a":-0.25}"#,
        br#"{"a":0.250}"#,
        br#"{"a":00.25}"#,
        br#"{"a":0.}"#,
        br#"{"a":1.5.5}"#,
        br#"{"a":0.0000001}"#,
        br#"{"a":0.000001}"#,
        br#"{"a":0.0000012}"#,
        br#"{"a":0.1}"#,
        br#"{"a":0.3}"#,
        br#"{"a":0.30000000000000004}"#,
        br#"{"a":0.123456789012345}"#,
        br#"{"a":0.1234567890123456}"#,
        br#"{"a":0.1234567890123457}"#,
        br#"{"a":123456789012345.6}"#,
        br#"{"a":12345678901234.5}"#,
        br#"{"a":99999999999999.9}"#,
        br#"{"a":999999999999999.9}"#,
        br#"{"a":9007199254740993.5}"#,
        br#"{"a":-0.0}"#,
        br#"{"a":-0.000001}"#,
        br#"{"a":-.5}"#,
        br#"{"a":1.5e1}"#,
        br#"{"a":1e999}"#,
        br#"{"a":-}"#,
        br#"{"a":1-2}"#,
        br#"{"a":"\u0041"}"#,
        br#"{"a":"\u001f"}"#,
        br#"{"a":"\u001F"}"#,
        br#"{"a":"\u000a"}"#,
        br#"{"a":"\u0008"}"#,
        br#"{"a":"\u0009"}"#,
        br#"{"a":"\u000c"}"#,
        br#"{"a":"\u000d"}"#,
        br#"{"a":"\u000b"}"#,
        br#"{"a":"\u0000"}"#,
        br#"{"a":"\u0020"}"#,
        br#"{"a":"\u007f"}"#,
        br#"{"a":"\b\f\r\t"}"#,
        br#"{"a":"\n"}"#,
        br#"{"a":"\/"}"#,
        br#"{"a":"/"}"#,
        br#"{"a":"\""}"#,
        br#"{"a":"\\"}"#,
        br#"{"a":"\ud83d\ude00"}"#,
        "{\"a\":\"\u{1f600}\"}".as_bytes(),
        "{\"a\":\"\u{7f}\"}".as_bytes(),
        b"{\"a\":\"\x01\"}",
        b"{\"a\":\"\xff\"}",
        b"{\"a\":\"\xc3\"}",
        b"{\"a\":\"\xc3\xa9\"}",
        b"{\"a\":\"\xc0\xaf\"}",
        b"{\"a\":\"\xe0\x80\xaf\"}",
        b"{\"a\":\"\xed\xa0\x80\"}",
        b"{\"a\":\"\xef\xbf\xbf\"}",
        b"{\"a\":\"\xf4\x8f\xbf\xbf\"}",
        b"{\"a\":\"\xf4\x90\x80\x80\"}",
        b"{\"a\":\"\xf0\x9f\x98\x80\"}",
        b"{\"a\":\"\xf0\x9f\x98\"}",
        b"{\"a\":\"\x80\"}",
        b"{\"a\":\"\xe9\"}",
        b"{\"\xc3\xa9\":1}",
        b"{\"a\":1}\xc3\xa9",
        b"\xef\xbb\xbf{}",
        "{\"\u{1f600}\":1,\"\u{fb33}\":2}".as_bytes(),
        "{\"\u{fb33}\":1,\"\u{1f600}\":2}".as_bytes(),
        "{\"\\r\":1,\"1\":2,\"\u{80}\":3}".as_bytes(),
        "{\"1\":1,\"\\r\":2}".as_bytes(),
        br#"{"\n":1,"\n":2}"#,
        br#"{"a":{"b":1,"b":2}}"#,
        br#"{"a":[1,]}"#,
        br#"{"a":[,1]}"#,
        br#"{"a":1,}"#,
        br#"{,"a":1}"#,
        br#"{"a"}"#,
        br#"{"a":}"#,
        br#"{"a":tru}"#,
        br#"{"a":truex}"#,
        br#"{"a":nul}"#,
        br#""x""#,
        b"1",
        b"-0",
        b"{}{}",
        br#"{"a":"x"#,
        br#"{"a":"\u00"}"#,
        br#"{"a":"\x"}"#,
    ];
    for c in cases {
        agree(c);
    }
}

/// Every byte that needs a look, at every offset around the 8-byte
/// steps of the string scan (in keys and values, at the string's end
/// and the text's end), and number spellings RFC 8785 refuses.
#[test]
fn chunk_boundaries_and_number_spellings_agree() {
    let specials: &[&[u8]] = &[
        b"\"",
        b"\\",
        b"\\\"",
        b"\\u001f",
        b"\\u001F",
        b"\\u0041",
        b"\x00",
        b"\x1f",
        b"\x7f",
        b"\xc3\xa9",
        b"\xc3",
        b"\xe2\x82",
        b"\xed\xa0\x80",
        b"\xf0\x9f\x98\x80",
        b"\xf8\x88\x80\x80\x80",
    ];
    for sp in specials {
        for before in 0..18 {
            for after in [0usize, 1, 7, 8, 9] {
                let inner = [&b"a".repeat(before)[..], sp, &b"b".repeat(after)].concat();
                let value = [&b"{\"k\":\""[..], &inner, b"\"}"].concat();
                agree(&value);
                let key = [&b"{\""[..], &inner, b"\":1}"].concat();
                agree(&key);
                // Unterminated: the text ends inside the string.
                agree(&value[..value.len() - 2]);
            }
        }
    }
    for tok in [
        "1E21",
        "1E+21",
        "1e+021",
        "1e021",
        "-1e+21",
        "-1e21",
        "1e+21",
        "2e-3",
        "0.002",
        "4.50",
        "4.5",
        "+1",
        "1.",
        "-00",
        "-01",
        "00",
        "9007199254740992.0",
        "1e0",
        "0e0",
        "0.0",
        "-0.0",
        "1.0e+21",
        "1.5e+21",
        "1.5e21",
        "1e-6",
        "0.000001",
        "1e-07",
        "1e-7",
        "0.0000001",
        "123e-2",
        "1.23",
        "5e-324",
        "4.9e-324",
        "1e-400",
        "1e400",
        "-1e400",
        "1.7976931348623157e+308",
        "1.7976931348623158e+308",
        "9007199254740992",
        "-9007199254740992",
        "9007199254740993",
        "1000000000000000",
        "10000000000000000",
        "99999999999999999",
        "1e+16",
        "1e16",
    ] {
        agree(tok.as_bytes());
        agree(format!("{{\"a\":{tok}}}").as_bytes());
        agree(format!("[{tok},{tok}]").as_bytes());
    }
}

/// Whether the string scan must look at byte `b`.
fn looks_at(b: u8) -> bool {
    !(0x20..0x80).contains(&b) || b == b'"' || b == b'\\'
}

/// The index of the first byte of `w` that needs a look, byte by byte.
fn first_look(w: [u8; 8]) -> Option<u32> {
    w.iter().position(|&b| looks_at(b)).map(|i| i as u32)
}

/// What `look_mask` says is the first byte to look at.
fn mask_first(w: [u8; 8]) -> Option<u32> {
    let m = look_mask(u64::from_le_bytes(w));
    (m != 0).then(|| m.trailing_zeros() / 8)
}

#[test]
fn the_word_test_finds_the_first_byte_to_look_at() {
    // Every byte at every position among plain ones, and every pair of
    // bytes at every two positions (what a borrow could confuse).
    for b in 0u8..=255 {
        for at in 0..8 {
            let mut w = [b'a'; 8];
            w[at] = b;
            assert_eq!(mask_first(w), first_look(w), "{b:#x} at {at}");
        }
    }
    for x in 0u8..=255 {
        for y in 0u8..=255 {
            for (i, j) in [(0, 1), (3, 4), (6, 7), (0, 7), (2, 5)] {
                let mut w = [b' '; 8];
                w[i] = x;
                w[j] = y;
                assert_eq!(mask_first(w), first_look(w), "{x:#x} {y:#x} at {i} {j}");
            }
        }
    }
    assert_eq!(mask_first(*b"abc/ ~09"), None);
    assert_eq!(mask_first(*b"\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f"), None);
    assert_eq!(mask_first(*b"!#[]{}~ "), None);
    assert_eq!(mask_first(*b"ab\x00\"\\\xff\x1f\x80"), Some(2));
}

/// The word test from before `look_mask`, kept as the oracle's.
fn needs_look_oracle(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
    w & HIGH != 0
        || below_space
        || has_zero(w ^ (ONES * u64::from(b'"')))
        || has_zero(w ^ (ONES * u64::from(b'\\')))
}

impl Scanner<'_> {
    /// The byte-wise string scan from before `skip_plain` (it tried a
    /// whole word before every byte), kept as the oracle.
    fn string_oracle(&mut self) -> Option<Key> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.pos;
        let mut plain = true;
        loop {
            while let Some(chunk) = self.b.get(self.pos..self.pos + 8) {
                let mut w = [0u8; 8];
                w.copy_from_slice(chunk);
                if needs_look_oracle(u64::from_le_bytes(w)) {
                    break;
                }
                self.pos += 8;
            }
            let c = self.peek()?;
            self.pos += 1;
            match c {
                b'"' => {
                    return Some(Key {
                        inner: start..self.pos - 1,
                        plain,
                    })
                }
                b'\\' => {
                    plain = false;
                    let e = self.peek()?;
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'b' | b't' | b'n' | b'f' | b'r' => {}
                        b'u' => {
                            let hex = self.b.get(self.pos..self.pos + 4)?;
                            self.pos += 4;
                            let v = match hex {
                                [b'0', b'0', h @ (b'0' | b'1'), l] => {
                                    let lo = match l {
                                        b'0'..=b'9' => l - b'0',
                                        b'a'..=b'f' => l - b'a' + 10,
                                        _ => return None,
                                    };
                                    ((h - b'0') << 4) | lo
                                }
                                _ => return None,
                            };
                            if matches!(v, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1f => return None,
                0x80..=0xff => {
                    plain = false;
                    let len = match c {
                        0xc2..=0xdf => 2,
                        0xe0..=0xef => 3,
                        0xf0..=0xf4 => 4,
                        _ => return None,
                    };
                    let seq = self.b.get(self.pos - 1..self.pos - 1 + len)?;
                    std::str::from_utf8(seq).ok()?;
                    self.pos += len - 1;
                }
                _ => {}
            }
        }
    }
}

/// `string` and `string_oracle` on `bytes` from `pos`: the same answer,
/// and on success the same end position.
fn strings_agree(bytes: &[u8], pos: usize) {
    let mut new = Scanner { b: bytes, pos };
    let mut old = Scanner { b: bytes, pos };
    let got = new.string().map(|k| (k.inner, k.plain, new.pos));
    let want = old.string_oracle().map(|k| (k.inner, k.plain, old.pos));
    assert_eq!(got, want, "{:?} from {pos}", String::from_utf8_lossy(bytes));
}

/// Pieces of string content: plain runs of every length around 8,
/// quotes, escapes (valid and not), controls, DEL, valid and invalid
/// UTF-8, and what may follow a string.
fn arb_piece() -> impl Strategy<Value = Vec<u8>> {
    let fixed = prop::sample::select(vec![
        &b"\""[..],
        b"\\",
        b"\\\"",
        b"\\\\",
        b"\\n",
        b"\\/",
        b"\\u001f",
        b"\\u001F",
        b"\\u000a",
        b"\\u0041",
        b"\\u00",
        b"\\",
        b"\x00",
        b"\x1f",
        b"\x20",
        b"\x7f",
        b"\xc3\xa9",
        b"\xc3",
        b"\xe2\x82\xac",
        b"\xe2\x82",
        b"\xed\xa0\x80",
        b"\xef\xbf\xbf",
        b"\xf0\x9f\x98\x80",
        b"\xf4\x90\x80\x80",
        b"\xc0\xaf",
        b"\x80",
        b"\xff",
        b"\":1}",
        b"\",\"",
    ])
    .prop_map(<[u8]>::to_vec);
    prop_oneof![
        4 => prop::collection::vec(0x20u8..0x7f, 0..20),
        2 => "[ -~]{0,40}".prop_map(String::into_bytes),
        3 => fixed,
        1 => prop::collection::vec(any::<u8>(), 0..12),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]
    #[test]
    fn string_agrees_with_the_bytewise_scan(
        pieces in prop::collection::vec(arb_piece(), 0..8),
        lead in 0usize..10,
    ) {
        let body = pieces.concat();
        // From a quote after `lead` bytes, and from every offset (most
        // do not start with a quote and are refused by both).
        let text = [&b"x".repeat(lead)[..], b"\"", &body].concat();
        for pos in 0..=text.len() {
            strings_agree(&text, pos);
        }
    }

    #[test]
    fn string_agrees_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..48)) {
        let text = [&b"\""[..], &bytes].concat();
        strings_agree(&text, 0);
        let closed = [&text[..], b"\""].concat();
        strings_agree(&closed, 0);
    }

    #[test]
    fn bytes_less_is_slice_order(
        a in prop::collection::vec(prop::sample::select(b"ab\x00\x7f\xff".to_vec()), 0..6),
        b in prop::collection::vec(prop::sample::select(b"ab\x00\x7f\xff".to_vec()), 0..6),
    ) {
        prop_assert_eq!(bytes_less(&a, &b), a < b);
        prop_assert_eq!(bytes_less(&b, &a), b < a);
        prop_assert!(!bytes_less(&a, &a));
    }

    #[test]
    fn the_word_test_agrees_on_arbitrary_words(w in any::<[u8; 8]>()) {
        prop_assert_eq!(mask_first(w), first_look(w));
        prop_assert_eq!(look_mask(u64::from_le_bytes(w)) != 0, needs_look_oracle(u64::from_le_bytes(w)));
    }
}

#[test]
fn nesting_limit_agrees() {
    for depth in [1usize, 126, 127, 128, 129, 200] {
        let arr = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        agree(arr.as_bytes());
        let obj = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        agree(obj.as_bytes());
    }
}

#[test]
fn the_vector_lines_agree() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut lines = 0;
    for f in std::fs::read_dir(dir).unwrap() {
        let path = f.unwrap().path();
        if path
            .extension()
            .is_some_and(|e| e == "jsonl" || e == "json")
        {
            for line in std::fs::read(&path).unwrap().split(|b| *b == b'\n') {
                agree(line);
                lines += 1;
            }
        }
    }
    assert!(lines > 20, "{lines}");
}

/// Canonical JSON values with the characters that matter: escapes,
/// non-ASCII keys (UTF-16 order), numbers at the edges.
fn arb_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let key = prop::sample::select(vec![
        "a",
        "b",
        "ab",
        "B",
        "_",
        "\r",
        "\n",
        "1",
        "é",
        "\u{80}",
        "\u{20ac}",
        "\u{fb33}",
        "\u{1f600}",
        "\u{e000}",
        "\"",
        "\\",
        "\u{1}",
        "v",
        "body",
    ]);
    let s = prop::sample::select(vec![
        "",
        "x",
        "\u{0}",
        "\u{1f}",
        "\t",
        "\u{7f}",
        "é",
        "\"q\"",
        "a\\b",
        "/",
        "\u{2028}",
        "\u{1f600}",
        "\u{fffd}",
    ]);
    let num = prop::sample::select(vec![
        0.0f64,
        1.0,
        -1.0,
        0.25,
        1e21,
        1e-7,
        -1e300,
        5e-324,
        9007199254740992.0,
        123456789.125,
        1e20,
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 54)..(1i64 << 54)).prop_map(Value::from),
        num.prop_map(Value::from),
        s.prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 24, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// Mutations of a canonical text: byte flips, insertions, deletions,
/// and splices of tokens that the canonical form forbids.
fn mutate(base: &[u8], at: usize, op: u8, byte: u8) -> Vec<u8> {
    let mut b = base.to_vec();
    let at = if b.is_empty() { 0 } else { at % (b.len() + 1) };
    let splice: &[&[u8]] = &[
        b" ",
        b"\\u0041",
        b"\\/",
        b".0",
        b"e2",
        b"-0",
        b"00",
        b"9007199254740993",
        b",\"a\":1",
        b"\"a\":1,",
        b"\\u00e9",
        b"\\u000d",
        b"\\u001F",
        b"\\u0007",
        b"\\ud800",
        b"[",
        b"}",
        b"\xc3",
        b"\xc3\xa9",
    ];
    match op % 4 {
        0 if at < b.len() => b[at] ^= byte | 1,
        1 => b.insert(at, byte),
        2 if at < b.len() => {
            b.remove(at);
        }
        _ => {
            let s = splice[usize::from(byte) % splice.len()];
            b.splice(at..at, s.iter().copied());
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]
    #[test]
    fn decimal_tokens_agree(
        neg in any::<bool>(),
        int in prop::sample::select(vec!["0", "1", "9", "10", "123", "100000", "9007199254740992", "00", "01"]),
        zeros in 0usize..9,
        frac in "[0-9]{0,18}",
    ) {
        let tok = format!("{}{int}.{}{frac}", if neg { "-" } else { "" }, "0".repeat(zeros));
        agree(format!("{{\"a\":{tok}}}").as_bytes());
        agree(tok.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn generated_and_mutated_texts_agree(
        v in arb_value(),
        muts in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..4),
    ) {
        let Ok(canon) = crate::encoding::canonical_value(&v) else {
            // Out of range (a big integer): refused either way.
            agree(&serde_json::to_vec(&v).unwrap());
            return Ok(());
        };
        agree(&canon);
        // Wrapped in an object, as entry lines are.
        let line = [b"{\"body\":", &canon[..], b",\"v\":1}"].concat();
        agree(&line);
        let mut m = line.clone();
        for (at, op, byte) in muts {
            m = mutate(&m, at, op, byte);
            agree(&m);
        }
        // Whitespace, reordered and duplicated keys via the generic writer.
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        agree(&pretty);
        let plain = serde_json::to_vec(&v).unwrap();
        agree(&plain);
    }
}
