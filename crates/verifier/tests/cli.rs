//! Golden CLI cases (trycmd-style): arguments, expected output, exit code.
//! Expected outputs live in tests/golden/<case>.out (stdout, then a line
//! `--- stderr`, then stderr, then `--- exit <code>`); rerun with
//! `AI_AUDIT_BLESS=1` to rewrite them after an intended change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

const KEY: &str = "test.example/log+88b09be8+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn vector(name: &str) -> String {
    here()
        .join("../../tests/vectors")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Runs the binary from the vectors directory (so paths in the output are
/// stable) and compares with the golden file.
fn case(name: &str, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_ai-audit-verify"))
        .args(args)
        .current_dir(here().join("../../tests/vectors"))
        .output()
        .unwrap();
    let text = format!(
        "{}--- stderr\n{}--- exit {}\n",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code().unwrap_or(-1)
    );
    let path = here().join("tests/golden").join(format!("{name}.out"));
    if std::env::var_os("AI_AUDIT_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{name}: {e}; run with AI_AUDIT_BLESS=1"));
    assert_eq!(text, want, "{name}");
}

#[test]
fn verified_package_exits_0() {
    case("ok_log", &["ok_log_v1.zip", "--key", KEY]);
    case("ok_disclosure", &["ok_disclosure_v1.zip", "--key", KEY]);
}

#[test]
fn json_output() {
    case("ok_log_json", &["ok_log_v1.zip", "--key", KEY, "--json"]);
    case(
        "fail_flip_body_json",
        &["fail_flip_body.zip", "--key", KEY, "--json"],
    );
}

#[test]
fn failed_packages_exit_1_with_the_place() {
    case("fail_flip_body", &["fail_flip_body.zip", "--key", KEY]);
    case(
        "fail_dropped_tail",
        &["fail_dropped_tail.zip", "--key", KEY],
    );
    case("fail_zip_slip", &["fail_zip_slip.zip", "--key", KEY]);
    case(
        "fail_prepended_data",
        &["fail_prepended_data.zip", "--key", KEY],
    );
    case(
        "fail_unknown_version",
        &["fail_unknown_version.zip", "--key", KEY],
    );
}

#[test]
fn keys_in_the_zip_are_ignored_and_unknown_signers_named() {
    case(
        "fail_resigned_other_key",
        &["fail_resigned_other_key.zip", "--key", KEY],
    );
}

#[test]
fn key_from_a_file() {
    let dir = std::env::temp_dir().join(format!("ai-audit-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("log.vkey");
    std::fs::write(&f, format!("{KEY}\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ai-audit-verify"))
        .args([&vector("ok_log_v1.zip"), "--key", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn could_not_run_exits_2() {
    case("usage_no_key", &["ok_log_v1.zip"]);
    case("bad_key", &["ok_log_v1.zip", "--key", "not-a-key"]);
    case("missing_file", &["no-such.zip", "--key", KEY]);
}

#[test]
fn progress_goes_to_stderr_only_when_asked_or_on_a_terminal() {
    // Piped stderr, default `auto`: nothing (the golden cases above show
    // an empty stderr). `always` draws it on stderr; stdout is unchanged.
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ai-audit-verify"))
            .args(["ok_log_v1.zip", "--key", KEY])
            .args(extra)
            .current_dir(here().join("../../tests/vectors"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        (out.stdout, String::from_utf8(out.stderr).unwrap())
    };
    let (plain, quiet) = run(&[]);
    assert_eq!(quiet, "");
    let (stdout, bar) = run(&["--progress", "always"]);
    assert_eq!(stdout, plain);
    assert!(bar.starts_with("\rverifying ["), "{bar:?}");
    assert!(bar.ends_with("100% 30/30 entries\n"), "{bar:?}");
    let (_, never) = run(&["--progress", "never"]);
    assert_eq!(never, "");
}
