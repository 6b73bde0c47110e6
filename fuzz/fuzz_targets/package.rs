//! Fuzzes evidence-package reading and verification: any bytes given to
//! `verify_package` must give a report (never a panic, a hang or unbounded
//! memory), and the streaming verifier must agree exactly with the
//! in-memory one.
#![no_main]

use std::io::Cursor;

use ai_audit::package::{verify_package_with, VerifyOptions};
use ai_audit::{KeyRing, VerifierKey};
use libfuzzer_sys::fuzz_target;

/// The key the golden corpus (tests/vectors/*.zip) is signed with.
const KEY: &str = "test.example/log+88b09be8+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";

fuzz_target!(|data: &[u8]| {
    let Ok(key) = VerifierKey::parse(KEY) else {
        return;
    };
    let keys = KeyRing::from_keys([key]);
    let fast = verify_package_with(Cursor::new(data), &keys, &VerifyOptions::new());
    let slow = verify_package_with(Cursor::new(data), &keys, &VerifyOptions::new().in_memory());
    match (fast, slow) {
        (Ok(a), Ok(b)) => {
            let (a, b) = (serde_json::to_value(&a), serde_json::to_value(&b));
            assert_eq!(a.ok(), b.ok(), "streaming and in-memory reports differ");
        }
        (Err(_), Err(_)) => {}
        _ => panic!("one verifier could read the input and the other could not"),
    }
});
