//! Fuzzes the canonical-JSON fast paths against the generic ones they
//! replace on the hot path: the single-pass acceptor must accept exactly
//! what `parse_canonical` accepts, and the direct entry-line reader must
//! give the generic reader's entry (and content hash), or defer to it.
#![no_main]

use ai_audit::encoding::{is_canonical, parse_canonical};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert_eq!(
        is_canonical(data),
        parse_canonical(data).is_ok(),
        "acceptor and parse_canonical disagree"
    );
    assert!(
        ai_audit::entry_line_readers_agree(data),
        "direct and generic entry readers disagree"
    );
});
