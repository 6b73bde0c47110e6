//! NFKC + PII/secret stripping: categories, look-alikes, determinism, modes, report.

// Helpers outside #[test] functions unwrap too; clippy.toml only exempts the latter.
#![allow(clippy::unwrap_used)]

use ai_audit::pii::{
    normalize, PiiCategory, PiiError, PiiMode, PiiPolicy, PiiReport, Stripped, PII_HASH_LABEL,
    UNICODE_VERSION,
};
use ai_audit::CommitmentKey;
use proptest::prelude::*;

fn policy() -> PiiPolicy {
    PiiPolicy::try_default().unwrap()
}

fn run(text: &str) -> Stripped {
    policy().normalize_and_strip(text, None).unwrap()
}

fn strip(text: &str) -> String {
    run(text).text
}

/// `text` is replaced entirely by `token`, and counted once under `category`.
#[track_caller]
fn assert_whole(text: &str, token: &str, category: &str) {
    let out = run(&format!("x {text} y"));
    assert_eq!(out.text, format!("x {token} y"), "input {text:?}");
    let cat: PiiCategory = category.parse().unwrap();
    assert_eq!(
        out.report.count(&cat),
        1,
        "input {text:?}: {:?}",
        out.report
    );
    assert_eq!(out.report.total(), 1, "input {text:?}: {:?}", out.report);
}

/// Nothing in `text` is stripped.
#[track_caller]
fn assert_untouched(text: &str) {
    let out = run(text);
    assert_eq!(
        out.text,
        normalize(text),
        "input {text:?}: {:?}",
        out.report
    );
    assert!(out.report.is_empty(), "input {text:?}: {:?}", out.report);
}

// ---------------------------------------------------------------- NFKC

#[test]
fn unicode_version_is_major_minor_patch() {
    let parts: Vec<&str> = UNICODE_VERSION.split('.').collect();
    assert_eq!(parts.len(), 3, "{UNICODE_VERSION}");
    assert!(parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())));
}

#[test]
fn normalize_is_nfkc() {
    assert_eq!(
        normalize("ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
        "john@example.com"
    );
    assert_eq!(normalize("ﬁ ① ４２ x\u{a0}y"), "fi 1 42 x y");
    assert_eq!(normalize("e\u{301}"), "é");
}

#[test]
fn full_width_email_is_caught() {
    assert_whole("ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "[EMAIL]", "email");
}

#[test]
fn ligature_email_is_caught() {
    assert_whole("ﬁona@example.com", "[EMAIL]", "email");
}

#[test]
fn full_width_digits_in_card_and_phone() {
    assert_whole(
        "４１１１ １１１１ １１１１ １１１１",
        "[CARD]",
        "payment_card",
    );
    assert_whole("＋４４ ２０ ７９４６ ０９５８", "[PHONE]", "phone");
    assert_whole("\u{1d7cf}\u{1d7d0}\u{1d7d1}-45-6789", "[SSN]", "us_ssn"); // 𝟏𝟐𝟑
}

#[test]
fn no_break_spaces_and_hyphens_inside_numbers() {
    assert_whole(
        "4111\u{a0}1111\u{a0}1111\u{a0}1111",
        "[CARD]",
        "payment_card",
    );
    assert_whole("+44\u{202f}20\u{202f}7946\u{202f}0958", "[PHONE]", "phone");
    assert_whole("555\u{2011}123\u{2011}4567", "[PHONE]", "phone");
    assert_whole(
        "4111\u{2013}1111\u{2013}1111\u{2013}1111",
        "[CARD]",
        "payment_card",
    );
}

#[test]
fn strip_normalizes_raw_input_itself() {
    let raw = "mail ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ now";
    let p = policy();
    assert_eq!(
        p.strip(raw, None).unwrap(),
        p.normalize_and_strip(raw, None).unwrap()
    );
    assert_eq!(p.strip(raw, None).unwrap().text, "mail [EMAIL] now");
}

// ---------------------------------------------------------------- categories

#[test]
fn emails() {
    for e in [
        "john.doe+tag@mail.example.co.uk",
        "a_b%c@x-y.io",
        "x@xn--p1ai.xn--p1ai",
    ] {
        assert_whole(e, "[EMAIL]", "email");
    }
    assert_eq!(strip("write to john@example.com."), "write to [EMAIL].");
    assert_eq!(strip("联系john@example.com谢谢"), "联系[EMAIL]谢谢");
    for t in [
        "user@localhost",
        "a @ b.com",
        "@handle",
        "foo@bar",
        "name@.com",
        "x@y.c",
    ] {
        assert_untouched(t);
    }
}

#[test]
fn phones() {
    for p in [
        "+1 (555) 123-4567",
        "+44 20 7946 0958",
        "+49 (0)30 1234567",
        "+33 6 12 34 56 78",
        "+12025550199",
        "(555) 123-4567",
        "1-800-555-0199",
        "555.123.4567",
        "555 123 4567",
        "030 1234567",
        "06 12 34 56 78",
        "(030) 1234567",
        "07700900123",
    ] {
        assert_whole(p, "[PHONE]", "phone");
    }
    assert_eq!(
        strip("call +44 20 7946 0958, thanks"),
        "call [PHONE], thanks"
    );
}

#[test]
fn phone_look_alikes_are_left_alone() {
    for t in [
        "2024-01-15",
        "2024-01-15T10:30:00Z",
        "2024-01-15 10:30:00.123+02:00",
        "15.01.2024",
        "01/02/2024",
        "on 01-02-2024 12 people came",
        "version 1.2.3.4.5",
        "v10.2.3-rc.1",
        "550e8400-e29b-41d4-a716-446655440000",
        "123e4567-e89b-12d3-a456-012345678901",
        "order 123456",
        "epoch 1700000000",
        "$1,234,567.89",
        "pi 3.14159265358979",
        "call 12345",
        "x+2024",
        "ratio 10:30:45",
        "ISBN 978-3-16-148410-0",
    ] {
        assert_untouched(t);
    }
}

#[test]
fn ipv4() {
    assert_whole("192.168.0.1", "[IPV4]", "ipv4");
    assert_eq!(strip("host 10.0.0.1:8080 up"), "host [IPV4]:8080 up");
    assert_eq!(strip("ping 10.0.0.1."), "ping [IPV4].");
    for t in [
        "1.2.3.4.5",
        "256.1.1.1",
        "v1.2.3",
        "01.02.03.04",
        "host.10.0.0.1",
        "1.2.3",
    ] {
        assert_untouched(t);
    }
}

#[test]
fn ipv6() {
    for a in [
        "2001:db8::8a2e:370:7334",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "fe80::1",
        "::ffff:192.0.2.128",
    ] {
        assert_whole(a, "[IPV6]", "ipv6");
    }
    assert_eq!(strip("ip:2001:db8::1 ok"), "ip:[IPV6] ok");
    assert_eq!(strip("http://[2001:db8::1]:8080/"), "http://[[IPV6]]:8080/");
    for t in [
        "10:30:45",
        "std::io::Read",
        "u32::MAX",
        "i64::from",
        "00:1A:2B:3C:4D:5E",
        "a::b",
        "::",
    ] {
        assert_untouched(t);
    }
}

#[test]
fn iban() {
    for i in [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "GB82 WEST 1234 5698 7654 32",
        "NO93 8601 1117 947",
    ] {
        assert_whole(i, "[IBAN]", "iban");
    }
    // A capitalised word after a complete group is trimmed off (prefix trial).
    assert_eq!(strip("BE68 5390 0754 7034 ABCD"), "[IBAN] ABCD");
    for t in [
        "DE88 3704 0044 0532 0130 00", // wrong check digits
        "AB12 3456 7890 1234 56",      // fails mod-97
        "XY12ABCDEFGHIJKLMNOP",        // fails mod-97
        "de89370400440532013000",      // lower case is not an IBAN form
        "DE01 3704 0044 0532 0130 00", // check digits outside 02–98
    ] {
        assert_untouched(t);
    }
}

#[test]
fn payment_cards() {
    for c in [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "3782 822463 10005",
        "5555555555554444",
        "6011111111111117",
    ] {
        assert_whole(c, "[CARD]", "payment_card");
    }
    assert_eq!(strip("card 4111 1111 1111 1111 123"), "card [CARD] 123");
    for t in [
        "4111 1111 1111 1112",  // Luhn fails
        "4111111111111112",     // Luhn fails
        "1700000000000",        // ms timestamp: first digit 1
        "41111111111111111111", // 20 digits
        "1234 5678 9012",       // 12 digits
        "4111111111111111.5",   // glued decimal
    ] {
        assert_untouched(t);
    }
}

#[test]
fn us_ssn() {
    assert_whole("123-45-6789", "[SSN]", "us_ssn");
    assert_whole("123 45 6789", "[SSN]", "us_ssn");
    for t in [
        "000-12-3456",
        "666-12-3456",
        "912-12-3456",
        "123-00-6789",
        "123-45-0000",
        "123-45 6789",
        "1123-45-6789",
        "123-45-67890",
    ] {
        assert_untouched(t);
    }
}

#[test]
fn secrets() {
    for s in [
        "sk-proj-abc123DEF456ghi789JKL012mno345",
        "sk-ant-api03-AbCdEf123456_ghIJkl-789012mnopQR",
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAY34FZKBOKMUTVV7A",
        "AIzaSyA-1234567890abcdefghijklmnopqrstu",
        "ghp_1234567890abcdefghijklmnopqrstuvwxyz",
        "gho_1234567890abcdefghijklmnopqrstuvwxyz",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "xoxb-1234567890-abcdefghijkl",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ] {
        assert_whole(s, "[SECRET]", "secret");
    }
    assert_eq!(
        strip("Authorization: Bearer abc123def456ghi789jkl"),
        "Authorization: Bearer [SECRET]"
    );
    for t in [
        "sk-learn-compatible-estimators-for-all",
        "the bearer instrument is transferable",
        "task-1234567890abcdefghijklmnop",
        "AKIA1234",
        "use the xoxb- prefix",
    ] {
        assert_untouched(t);
    }
}

#[test]
fn pem_blocks_outrank_what_they_contain() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA4111111111111111\nowner john@example.com 10.0.0.1\n-----END RSA PRIVATE KEY-----";
    let out = run(&format!("key:\n{pem}\nbye"));
    assert_eq!(out.text, "key:\n[SECRET]\nbye");
    assert_eq!(
        serde_json::to_string(&out.report).unwrap(),
        r#"{"found":[{"category":"secret","count":1}]}"#
    );
    // Truncated block: header plus the base64 lines that follow.
    assert_eq!(
        strip("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAgEAu2\nsee above"),
        "[SECRET]\nsee above"
    );
}

#[test]
fn jwt_outranks_its_parts() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJlbWFpbCI6ImpvaG5AZXhhbXBsZS5jb20ifQ.4111111111111111";
    assert_eq!(strip(&format!("t={jwt}")), "t=[SECRET]");
}

// ---------------------------------------------------------------- determinism

const MIXED: &str = "Hi, I'm Jane (ｊａｎｅ．ｄｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ, +44 20 7946 0958). \
Card 4111-1111-1111-1111 exp 12/27, IBAN DE89 3704 0044 0532 0130 00, SSN 123-45-6789. \
Server 192.168.1.20 / 2001:db8::1 ran v1.2.3.4.5 on 2024-01-15T10:30:00Z. \
Key sk-proj-abc123DEF456ghi789JKL012mno345 and AKIAIOSFODNN7EXAMPLE. \
Also john@example.com and 555-123-4567; not 4111 1111 1111 1112.";

const MIXED_STRIPPED: &str = "Hi, I'm Jane ([EMAIL], [PHONE]). \
Card [CARD] exp 12/27, IBAN [IBAN], SSN [SSN]. \
Server [IPV4] / [IPV6] ran v1.2.3.4.5 on 2024-01-15T10:30:00Z. \
Key [SECRET] and [SECRET]. \
Also [EMAIL] and [PHONE]; not 4111 1111 1111 1112.";

#[test]
fn golden_mixed_text() {
    let out = run(MIXED);
    assert_eq!(out.text, MIXED_STRIPPED);
    assert_eq!(
        serde_json::to_string(&out.report).unwrap(),
        r#"{"found":[{"category":"email","count":2},{"category":"iban","count":1},{"category":"ipv4","count":1},{"category":"ipv6","count":1},{"category":"payment_card","count":1},{"category":"phone","count":2},{"category":"secret","count":2},{"category":"us_ssn","count":1}]}"#
    );
}

#[test]
fn repeated_runs_and_threads_agree() {
    let first = run(MIXED);
    for _ in 0..20 {
        assert_eq!(policy().normalize_and_strip(MIXED, None).unwrap(), first);
    }
    let shared = std::sync::Arc::new(policy());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let p = std::sync::Arc::clone(&shared);
            std::thread::spawn(move || p.normalize_and_strip(MIXED, None).unwrap())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), first);
    }
}

/// Pieces that build PII, near-misses and glue around them.
fn soup() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "john@example.com",
        "ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        "4111 1111 1111 1111",
        "4111111111111111",
        "+44 20 7946 0958",
        "555-123-4567",
        "030 1234567",
        "123-45-6789",
        "192.168.0.1",
        "2001:db8::1",
        "DE89 3704 0044 0532 0130 00",
        "sk-proj-abc123DEF456ghi789JKL012mno345",
        "AKIAIOSFODNN7EXAMPLE",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        "Bearer abc123def456ghi789jkl",
        "-----BEGIN PRIVATE KEY-----\nQUJDREVG\n",
        "-----END PRIVATE KEY-----",
        "2024-01-15",
        "1.2.3.4.5",
        "1",
        "0",
        "12",
        "2024",
        "x",
        "A",
        "@",
        ".",
        "-",
        ":",
        "::",
        "/",
        " ",
        "\n",
        "\u{a0}",
        "(",
        ")",
        "+",
        "[",
        "]",
        "_",
        "é",
        "４",
        "＠",
        "EMAIL",
        "[EMAIL]",
    ]);
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

fn assert_fixed_point(input: &str) -> Result<(), TestCaseError> {
    let p = policy();
    let once = p.normalize_and_strip(input, None).unwrap();
    let twice = p.strip(&once.text, None).unwrap();
    prop_assert_eq!(&twice.text, &once.text);
    prop_assert!(
        twice.report.is_empty(),
        "second pass found {:?}",
        twice.report
    );
    Ok(())
}

#[test]
fn fixed_point_needs_a_second_round() {
    // Found by the soup property with MAX_ROUNDS = 1.
    let s = "john@example.com+1.2.3.4.5john@example.com-----BEGIN PRIVATE KEY-----\nQUJDREVG\n";
    assert_fixed_point(s).unwrap();
}

proptest! {
    #[test]
    fn idempotent_on_arbitrary_unicode(s in any::<String>()) {
        assert_fixed_point(&s)?;
    }

    #[test]
    fn idempotent_on_pii_soup(s in soup()) {
        assert_fixed_point(&s)?;
    }

    #[test]
    fn every_mode_total_on_soup(s in soup(), k in any::<[u8; 32]>()) {
        let key = CommitmentKey::from_bytes(k);
        for mode in [PiiMode::Redact, PiiMode::KeyedHash, PiiMode::Mask] {
            let a = policy().with_mode(mode).normalize_and_strip(&s, Some(&key)).unwrap();
            let b = policy().with_mode(mode).normalize_and_strip(&s, Some(&key)).unwrap();
            prop_assert_eq!(&a, &b);
            // The same spans are found whatever the mode.
            let r = policy().normalize_and_strip(&s, None).unwrap();
            prop_assert_eq!(&a.report, &r.report);
        }
    }
}

// ---------------------------------------------------------------- modes

fn key(b: u8) -> CommitmentKey {
    CommitmentKey::from_bytes([b; 32])
}

#[test]
fn keyed_hash_tokens() {
    let p = policy().with_mode(PiiMode::KeyedHash);
    let a1 = p
        .normalize_and_strip("to john@example.com", Some(&key(1)))
        .unwrap()
        .text;
    let a1_again = p
        .normalize_and_strip("cc john@example.com", Some(&key(1)))
        .unwrap()
        .text;
    let a2 = p
        .normalize_and_strip("to john@example.com", Some(&key(2)))
        .unwrap()
        .text;
    let other = p
        .normalize_and_strip("to jane@example.com", Some(&key(1)))
        .unwrap()
        .text;
    let hex = &key(1).mac(PII_HASH_LABEL, b"john@example.com").to_hex()[..16];
    assert_eq!(a1, format!("to [EMAIL:{hex}]"));
    assert_eq!(a1_again, format!("cc [EMAIL:{hex}]"));
    assert_ne!(a1, a2);
    assert_ne!(a1, other);
    // Not plain SHA-256 of the value.
    let plain = ai_audit::Hash32::digest(b"john@example.com").to_hex();
    assert!(!a1.contains(&plain[..16]));
    // The value hashed is the NFKC form.
    let fw = p
        .normalize_and_strip("to ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", Some(&key(1)))
        .unwrap()
        .text;
    assert_eq!(fw, a1);
    // Custom labels carry through.
    let c = p.with_custom("emp", r"EMP-\d{6}").unwrap();
    let t = c
        .normalize_and_strip("EMP-123456", Some(&key(1)))
        .unwrap()
        .text;
    assert!(
        t.starts_with("[CUSTOM:EMP:") && t.len() == "[CUSTOM:EMP:]".len() + 16,
        "{t}"
    );
}

#[test]
fn keyed_hash_without_key_is_an_error() {
    let p = policy().with_mode(PiiMode::KeyedHash);
    assert_eq!(
        p.normalize_and_strip("john@example.com", None),
        Err(PiiError::MissingKey)
    );
    assert_eq!(p.strip("nothing here", None), Err(PiiError::MissingKey));
    // Other modes ignore a key.
    assert_eq!(
        policy()
            .strip("john@example.com", Some(&key(1)))
            .unwrap()
            .text,
        "[EMAIL]"
    );
}

#[test]
fn mask_mode() {
    let p = policy().with_mode(PiiMode::Mask);
    let out = p
        .normalize_and_strip(
            "john@example.com 4111-1111-1111-1111 +44 20 7946 0958 10.0.0.1 123-45-6789 AKIAIOSFODNN7EXAMPLE",
            None,
        )
        .unwrap();
    assert_eq!(
        out.text,
        "j***@example.com ************1111 **********58 [IPV4] [SSN] [SECRET]"
    );
}

// ---------------------------------------------------------------- report

#[test]
fn report_never_contains_values() {
    let k = key(9);
    for mode in [PiiMode::Redact, PiiMode::KeyedHash, PiiMode::Mask] {
        let out = policy()
            .with_mode(mode)
            .normalize_and_strip(MIXED, Some(&k))
            .unwrap();
        let json = serde_json::to_string(&out.report).unwrap();
        for value in [
            "jane", "john", "4111", "7946", "DE89", "6789", "192.168", "2001:db8", "sk-proj",
            "AKIA",
        ] {
            assert!(!json.contains(value), "{value} in {json}");
        }
        for value in [
            "john@example.com",
            "4111-1111-1111-1111",
            "123-45-6789",
            "192.168.1.20",
            "AKIAIOSFODNN7EXAMPLE",
        ] {
            assert!(
                !out.text.contains(value),
                "{mode:?}: {value} in {}",
                out.text
            );
        }
    }
}

#[test]
fn report_json_round_trip_and_strictness() {
    let out = run("a@b.co c@d.co 10.0.0.1");
    let json = serde_json::to_string(&out.report).unwrap();
    assert_eq!(
        json,
        r#"{"found":[{"category":"email","count":2},{"category":"ipv4","count":1}]}"#
    );
    assert_eq!(
        serde_json::from_str::<PiiReport>(&json).unwrap(),
        out.report
    );
    assert_eq!(out.report.total(), 3);
    assert!(!out.report.is_empty());
    assert!(run("nothing").report.is_empty());
    assert_eq!(
        serde_json::to_string(&PiiReport::new()).unwrap(),
        r#"{"found":[]}"#
    );
    for bad in [
        r#"{"found":[{"category":"ipv4","count":1},{"category":"email","count":2}]}"#,
        r#"{"found":[{"category":"email","count":1},{"category":"email","count":2}]}"#,
        r#"{"found":[{"category":"email","count":0}]}"#,
        r#"{"found":[{"category":"passport","count":1}]}"#,
        r#"{"found":[{"category":"custom:Bad","count":1}]}"#,
        r#"{"found":[{"category":"email","count":1,"value":"x"}]}"#,
        r#"{"found":[],"extra":1}"#,
    ] {
        assert!(serde_json::from_str::<PiiReport>(bad).is_err(), "{bad}");
    }
    let customs =
        r#"{"found":[{"category":"custom:emp","count":1},{"category":"email","count":1}]}"#;
    assert!(serde_json::from_str::<PiiReport>(customs).is_ok());
}

#[test]
fn report_merge_and_schema() {
    let mut a = run("a@b.co 10.0.0.1").report;
    a.merge(&run("c@d.co 123-45-6789").report);
    assert_eq!(a.count(&PiiCategory::Email), 2);
    assert_eq!(a.count(&PiiCategory::UsSsn), 1);
    assert_eq!(a.count(&PiiCategory::Phone), 0);
    let names: Vec<String> = a.found().iter().map(|c| c.category.to_string()).collect();
    assert_eq!(names, ["email", "ipv4", "us_ssn"]);
    let schema = serde_json::to_value(schemars::schema_for!(PiiReport)).unwrap();
    assert_eq!(
        schema["additionalProperties"],
        serde_json::Value::Bool(false),
        "{schema}"
    );
}

// ---------------------------------------------------------------- policy API

#[test]
fn custom_patterns() {
    let p = policy().with_custom("employee_id", r"EMP-\d{6}").unwrap();
    let out = p.normalize_and_strip("by EMP-123456 today", None).unwrap();
    assert_eq!(out.text, "by [CUSTOM:EMPLOYEE_ID] today");
    assert_eq!(
        serde_json::to_string(&out.report).unwrap(),
        r#"{"found":[{"category":"custom:employee_id","count":1}]}"#
    );
    // A `span` group limits what is stripped.
    let p = policy()
        .with_custom("customer", r"Customer ID: (?P<span>\d+)")
        .unwrap();
    assert_eq!(
        p.normalize_and_strip("Customer ID: 991", None)
            .unwrap()
            .text,
        "Customer ID: [CUSTOM:CUSTOMER]"
    );
    // Custom outranks built-ins other than secrets.
    let p = policy()
        .with_custom("acct", r"4111 1111 1111 1111")
        .unwrap();
    assert_eq!(
        p.normalize_and_strip("4111 1111 1111 1111", None)
            .unwrap()
            .text,
        "[CUSTOM:ACCT]"
    );
    // …but not secrets.
    let p = policy().with_custom("aws", "AKIA").unwrap();
    assert_eq!(
        p.normalize_and_strip("AKIAIOSFODNN7EXAMPLE", None)
            .unwrap()
            .text,
        "[SECRET]"
    );
    // Among customs, the first added wins ties.
    let p = PiiPolicy::empty()
        .with_custom("first", "abc")
        .unwrap()
        .with_custom("second", "abc")
        .unwrap();
    assert_eq!(p.strip("abc", None).unwrap().text, "[CUSTOM:FIRST]");
    // Empty matches are ignored.
    let p = PiiPolicy::empty().with_custom("opt", "x*").unwrap();
    assert_eq!(p.strip("ab xx", None).unwrap().text, "ab [CUSTOM:OPT]");
}

#[test]
fn second_round_catches_what_a_neighbour_hid() {
    // Round 1: `AB` wins the overlap with `B1234`; `\b1234` cannot match
    // inside `AB1234`. Round 2 sees `[CUSTOM:AB]1234` and finds `1234`.
    let p = PiiPolicy::empty()
        .with_custom("ab", "AB")
        .unwrap()
        .with_custom("b_num", r"B[0-9]{4}")
        .unwrap()
        .with_custom("num", r"(?-u:\b)[0-9]{4}")
        .unwrap();
    let out = p.strip("AB1234", None).unwrap();
    assert_eq!(out.text, "[CUSTOM:AB][CUSTOM:NUM]");
    assert_eq!(out.report.total(), 2);
}

#[test]
fn custom_name_and_regex_errors() {
    for bad in ["", "Bad", "a-b", "é", "x y", &"a".repeat(33)] {
        assert!(
            matches!(
                policy().with_custom(bad, "x"),
                Err(PiiError::InvalidCustomName { .. })
            ),
            "{bad:?}"
        );
    }
    assert!(policy().with_custom(&"a".repeat(32), "x").is_ok());
    let dup = policy()
        .with_custom("emp", "x")
        .unwrap()
        .with_custom("emp", "y");
    assert!(matches!(dup, Err(PiiError::InvalidCustomName { .. })));
    let err = policy().with_custom("vip", r"jane\.doe@corp(").unwrap_err();
    assert!(matches!(err, PiiError::InvalidRegex { .. }));
    let msg = err.to_string();
    assert!(msg.contains("vip") && !msg.contains("jane"), "{msg}");
}

#[test]
fn without_disables_a_category() {
    let p = policy().without(PiiCategory::Email);
    assert_eq!(
        p.strip("john@example.com 10.0.0.1", None).unwrap().text,
        "john@example.com [IPV4]"
    );
    assert!(!p.categories().contains(&PiiCategory::Email));
    let p = policy()
        .with_custom("emp", "EMP")
        .unwrap()
        .without(PiiCategory::custom("emp").unwrap());
    assert_eq!(p.strip("EMP", None).unwrap().text, "EMP");
    assert_eq!(policy().categories(), PiiCategory::BUILT_IN.to_vec());
    assert!(format!("{:?}", policy().with_custom("vip", "jane").unwrap()).contains("custom:vip"));
    assert!(!format!("{:?}", policy().with_custom("vip", "jane").unwrap()).contains("jane"));
}

#[test]
fn default_equals_try_default() {
    assert_eq!(PiiPolicy::default().strip(MIXED, None).unwrap(), run(MIXED));
    assert_eq!(PiiPolicy::default().mode(), PiiMode::Redact);
}
