//! Golden CLI cases for the operator binary `ai-audit` (trycmd-style):
//! arguments, expected output, exit code. Expected outputs live in
//! tests/golden/cli/<case>.out (stdout, a line `--- stderr`, stderr, then
//! `--- exit <code>`); rerun with `AI_AUDIT_BLESS=1` after an intended
//! change. Each case runs in a temp folder holding a deterministic SQLite
//! store and key files, with every AI_AUDIT_* variable cleared.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use ai_audit::*;

use crate::support::{body_of_kind, signer, tenant};

const BIN: &str = env!("CARGO_BIN_EXE_ai-audit");
const ENV: [&str; 8] = [
    "AI_AUDIT_STORE",
    "AI_AUDIT_KEK",
    "AI_AUDIT_KEK_FILE",
    "AI_AUDIT_CONFIG",
    "AI_AUDIT_SIGNING_KEY",
    "AI_AUDIT_SIGNING_KEY_FILE",
    "AI_AUDIT_VERIFIER_KEYS",
    "AI_AUDIT_LOG",
];

/// A temp folder with `audit.db` (tenant acme: epochs 0 and 1; globex:
/// epoch 0), the log key `log.key`/`log.vkey` and another key
/// `other.key`/`other.vkey` of the same name.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let s = signer();
        s.write_key_file(&dir.path().join("log.key")).unwrap();
        std::fs::write(
            dir.path().join("log.vkey"),
            format!("{}\n", s.verifier_key()),
        )
        .unwrap();
        let other = LocalSigner::from_seed("test.example/log", &[9u8; 32]).unwrap();
        other.write_key_file(&dir.path().join("other.key")).unwrap();
        std::fs::write(
            dir.path().join("other.vkey"),
            format!("{}\n", other.verifier_key()),
        )
        .unwrap();
        let store = Arc::new(
            SqliteStore::open(dir.path().join("audit.db"), SqliteOptions::default()).unwrap(),
        );
        let log = AuditLog::builder(LogName::new("test.example/log").unwrap(), s, store)
            .clock(Arc::new(ManualClock::new(
                Timestamp::parse("2026-11-22T10:00:00.000000Z").unwrap(),
                60_000_000,
            )))
            .random(Arc::new(SeededRandom::new(5)))
            .signing_mode(SigningMode::BatchSealed)
            .seal_policy(SealPolicy {
                every_entries: Some(4),
                ..SealPolicy::default()
            })
            .build();
        let (acme, globex) = (tenant("acme"), tenant("globex"));
        for i in 0..10 {
            log.append(&acme, &body_of_kind(i)).unwrap();
        }
        log.roll_epoch(&acme).unwrap();
        for i in 10..13 {
            log.append(&acme, &body_of_kind(i)).unwrap();
        }
        for i in 0..5 {
            log.append(&globex, &body_of_kind(i)).unwrap();
        }
        log.seal_all().unwrap();
        Site { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs the binary in the site folder; returns the golden text.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(self.dir.path());
        for v in ENV {
            cmd.env_remove(v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        format!(
            "{}--- stderr\n{}--- exit {}\n",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            out.status.code().unwrap_or(-1)
        )
    }

    /// Runs and compares with tests/golden/cli/<name>.out.
    fn case(&self, name: &str, args: &[&str]) -> String {
        self.case_env(name, args, &[])
    }

    fn case_env(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
        let text = self.run(args, env);
        golden(name, &text);
        text
    }
}

fn golden(name: &str, text: &str) {
    let path = crate::support::root()
        .join("tests/golden/cli")
        .join(format!("{name}.out"));
    if std::env::var_os("AI_AUDIT_BLESS").is_some() {
        std::fs::write(&path, text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{name}: {e}; run with AI_AUDIT_BLESS=1"));
    assert_eq!(text, want, "golden case {name}");
}

fn exit_code(text: &str) -> &str {
    text.rsplit("--- exit ").next().unwrap().trim()
}

const STORE: &str = "--store=sqlite://audit.db";

#[test]
fn help_documents_exit_codes_and_configuration() {
    let s = Site::new();
    let t = s.case("help", &["--help"]);
    assert!(t.contains("Exit codes:") && t.contains("AI_AUDIT_STORE"));
    s.case("usage_unknown_subcommand", &["frobnicate"]);
}

#[test]
fn keygen_writes_a_private_key_file_and_never_overwrites() {
    let s = Site::new();
    let text = s.run(
        &["keygen", "--name", "ops.example/log", "--out", "new.key"],
        &[],
    );
    let vkey = std::fs::read_to_string(s.path("new.vkey")).unwrap();
    let vkey = vkey.trim_end();
    assert!(VerifierKey::parse(vkey).is_ok());
    assert!(text.contains(vkey), "prints the verifier key");
    golden("keygen", &text.replace(vkey, "<VKEY>"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(s.path("new.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let secret = std::fs::read(s.path("new.key")).unwrap();
    assert!(!text.contains("PRIVATE+KEY"), "the secret is never printed");
    s.case(
        "keygen_exists",
        &["keygen", "--name", "ops.example/log", "--out", "new.key"],
    );
    assert_eq!(
        std::fs::read(s.path("new.key")).unwrap(),
        secret,
        "untouched"
    );
    let again = s.run(
        &[
            "keygen",
            "--name",
            "ops.example/log",
            "--out",
            "new.key",
            "--force",
            "--json",
        ],
        &[],
    );
    assert_eq!(exit_code(&again), "0");
    assert_ne!(
        std::fs::read(s.path("new.key")).unwrap(),
        secret,
        "replaced"
    );
    let signer = LocalSigner::from_file(&s.path("new.key")).unwrap();
    assert!(again.contains(&signer.verifier_key().to_string()));
    s.case("keygen_no_name", &["keygen", "--out", "x.key"]);
    s.case(
        "keygen_bad_name",
        &["keygen", "--name", "bad name", "--out", "x.key"],
    );
}

#[test]
fn verify_a_store_with_the_pinned_key() {
    let s = Site::new();
    s.case("verify_store", &[STORE, "verify", "--key", "log.vkey"]);
    s.case(
        "verify_store_tenant_json",
        &[
            STORE, "--json", "verify", "--tenant", "globex", "--key", "log.vkey",
        ],
    );
    // A wrong key is a verdict (exit 1), not an error.
    s.case(
        "verify_store_wrong_key",
        &[STORE, "verify", "--key", "other.vkey"],
    );
    s.case("verify_no_key", &[STORE, "verify"]);
    s.case("verify_bad_key", &[STORE, "verify", "--key", "not-a-key"]);
    s.case(
        "verify_unknown_tenant",
        &[STORE, "verify", "--tenant", "nobody", "--key", "log.vkey"],
    );
}

#[test]
fn verify_a_tampered_store_names_the_place() {
    let s = Site::new();
    let db = rusqlite::Connection::open(s.path("audit.db")).unwrap();
    let n = db
        .execute(
            "UPDATE entries SET line = CAST(replace(CAST(line AS TEXT), '\"score\":0.25', '\"score\":0.05') AS BLOB) \
             WHERE tenant = 'acme' AND seq = 1",
            [],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(db);
    let t = s.case(
        "verify_store_tampered",
        &[STORE, "verify", "--key", "log.vkey"],
    );
    assert_eq!(exit_code(&t), "1");
    assert!(t.contains("seq 1"));
}

#[test]
fn verify_a_package_says_what_ai_audit_verify_says() {
    let s = Site::new();
    let vectors = crate::support::root().join("tests/vectors");
    let key = "test.example/log+88b09be8+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";
    for (zip, golden_file) in [
        ("ok_log_v1.zip", "ok_log"),
        ("fail_flip_body.zip", "fail_flip_body"),
    ] {
        let out = Command::new(BIN)
            .args(["verify", zip, "--key", key])
            .current_dir(&vectors)
            .env_remove("AI_AUDIT_CONFIG")
            .output()
            .unwrap();
        let want = std::fs::read_to_string(
            crate::support::root()
                .join("crates/verifier/tests/golden")
                .join(format!("{golden_file}.out")),
        )
        .unwrap();
        let text = format!(
            "{}--- stderr\n{}--- exit {}\n",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            out.status.code().unwrap()
        );
        assert_eq!(
            text, want,
            "{zip}: same output and exit code as ai-audit-verify"
        );
    }
    s.case(
        "verify_missing_zip",
        &["verify", "none.zip", "--key", "log.vkey"],
    );
}

#[test]
fn export_and_verify_round_trip() {
    let s = Site::new();
    let sk = "--signing-key=log.key";
    s.case("export_all", &[STORE, sk, "export", "--out", "all.zip"]);
    s.case("verify_zip", &["verify", "all.zip", "--key", "log.vkey"]);
    s.case(
        "export_seqs_json",
        &[
            STORE, sk, "--json", "export", "--tenant", "acme", "--seqs", "11..", "--out", "e1.zip",
        ],
    );
    s.case(
        "export_time",
        &[
            STORE,
            sk,
            "export",
            "--tenant",
            "acme",
            "--time",
            "2026-11-22T10:00:00Z..2026-11-22T10:03:00Z",
            "--out",
            "t.zip",
        ],
    );
    s.case(
        "export_disclose",
        &[
            STORE,
            sk,
            "export",
            "--tenant",
            "acme",
            "--seqs",
            "2..=3",
            "--disclose",
            "--out",
            "d.zip",
        ],
    );
    s.case(
        "verify_disclosure",
        &["verify", "d.zip", "--key", "log.vkey"],
    );
    s.case(
        "export_epochs",
        &[
            STORE, sk, "export", "--tenant", "acme", "--epochs", "1..=1", "--out", "ep.zip",
        ],
    );
    s.case(
        "verify_epochs_zip",
        &["verify", "ep.zip", "--key", "log.vkey"],
    );
    s.case(
        "export_malformed_epochs",
        &[
            STORE, sk, "export", "--tenant", "acme", "--epochs", "one", "--out", "x.zip",
        ],
    );
    s.case(
        "verify_zip_with_tenant",
        &["verify", "d.zip", "--tenant", "acme", "--key", "log.vkey"],
    );
    s.case("export_exists", &[STORE, sk, "export", "--out", "all.zip"]);
    s.case(
        "export_wrong_key",
        &[STORE, "--signing-key=other.key", "export", "--out", "x.zip"],
    );
    s.case("export_no_key", &[STORE, "export", "--out", "x.zip"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::copy(s.path("log.key"), s.path("open.key")).unwrap();
        std::fs::set_permissions(s.path("open.key"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        s.case(
            "export_key_file_readable_by_others",
            &[STORE, "--signing-key=open.key", "export", "--out", "x.zip"],
        );
    }
    // The key itself in AI_AUDIT_SIGNING_KEY (as a secret manager injects it).
    let secret = std::fs::read_to_string(s.path("log.key")).unwrap();
    let t = s.case_env(
        "export_key_in_env",
        &[STORE, "export", "--tenant", "globex", "--out", "env.zip"],
        &[("AI_AUDIT_SIGNING_KEY", secret.trim())],
    );
    assert!(!t.contains("PRIVATE+KEY"));
    s.case(
        "export_malformed_range",
        &[
            STORE, sk, "export", "--tenant", "acme", "--seqs", "5..2", "--out", "x.zip",
        ],
    );
    s.case(
        "export_unknown_tenant",
        &[STORE, sk, "export", "--tenant", "nobody", "--out", "x.zip"],
    );
    s.case(
        "export_range_needs_tenant",
        &[STORE, sk, "export", "--epochs", "0", "--out", "x.zip"],
    );
    assert!(!s.path("x.zip").exists() && !s.path("x.zip.part").exists());
    // The exported ZIP is byte-identical across exports of the same store.
    s.run(&[STORE, sk, "export", "--out", "again.zip"], &[]);
    assert_eq!(
        std::fs::read(s.path("all.zip")).unwrap(),
        std::fs::read(s.path("again.zip")).unwrap()
    );
}

#[test]
fn stats_list_inspect() {
    let s = Site::new();
    s.case("stats", &[STORE, "stats"]);
    s.case(
        "stats_json",
        &[STORE, "--json", "stats", "--tenant", "globex"],
    );
    s.case(
        "list_kind",
        &[STORE, "list", "--tenant", "acme", "--kind", "tool_call"],
    );
    s.case("list_trace", &[STORE, "list", "--trace", "trace-1"]);
    s.case(
        "list_action_json",
        &[STORE, "--json", "list", "--action", "allow", "--limit", "2"],
    );
    s.case(
        "list_time_seqs",
        &[
            STORE,
            "list",
            "--tenant",
            "acme",
            "--time",
            "2026-11-22T10:02:00Z..2026-11-22T10:05:00Z",
            "--seqs",
            "..4",
        ],
    );
    s.case(
        "list_malformed_time",
        &[STORE, "list", "--time", "yesterday..today"],
    );
    s.case("list_unknown_kind", &[STORE, "list", "--kind", "shredded"]);
    s.case(
        "inspect",
        &[STORE, "inspect", "--tenant", "acme", "--seq", "2"],
    );
    let json = s.run(
        &[STORE, "--json", "inspect", "--tenant", "acme", "--seq", "2"],
        &[],
    );
    let v: serde_json::Value =
        serde_json::from_str(json.split("--- stderr").next().unwrap()).unwrap();
    assert_eq!(v["seq"], 2);
    let id = v["id"].as_str().unwrap().to_owned();
    let by_id = s.run(&[STORE, "inspect", "--id", &id], &[]);
    assert_eq!(
        by_id,
        s.run(&[STORE, "inspect", "--tenant", "acme", "--seq", "2"], &[])
    );
    s.case(
        "inspect_no_such_seq",
        &[STORE, "inspect", "--tenant", "acme", "--seq", "99"],
    );
    s.case(
        "inspect_unknown_tenant",
        &[STORE, "inspect", "--tenant", "nobody", "--seq", "0"],
    );
}

#[test]
fn checkpoint_and_prove() {
    let s = Site::new();
    s.case("checkpoint", &[STORE, "checkpoint", "--tenant", "acme"]);
    s.case(
        "checkpoint_json_epoch",
        &[
            STORE,
            "--json",
            "checkpoint",
            "--tenant",
            "acme",
            "--epoch",
            "0",
        ],
    );
    s.case(
        "checkpoint_no_epoch",
        &[STORE, "checkpoint", "--tenant", "acme", "--epoch", "7"],
    );
    s.case(
        "prove",
        &[
            STORE, "prove", "--tenant", "acme", "--seq", "12", "--key", "log.vkey",
        ],
    );
    let file = std::fs::read(s.path("acme.seq12.tlog-proof")).unwrap();
    let proof = InclusionProofFile::parse(&file).unwrap();
    assert_eq!(proof.index(), LeafIndex(2), "seq 12 is leaf 2 of epoch 1");
    s.case(
        "prove_exists",
        &[STORE, "prove", "--tenant", "acme", "--seq", "12"],
    );
    s.case(
        "prove_wrong_key",
        &[
            STORE,
            "prove",
            "--tenant",
            "acme",
            "--seq",
            "3",
            "--key",
            "other.vkey",
        ],
    );
    assert!(!s.path("acme.seq3.tlog-proof").exists());
}

#[test]
fn epoch_roll_and_archive() {
    let s = Site::new();
    s.case(
        "epoch_roll",
        &[
            STORE,
            "--signing-key=log.key",
            "epoch",
            "roll",
            "--tenant",
            "globex",
        ],
    );
    s.case(
        "epoch_roll_wrong_key",
        &[
            STORE,
            "--signing-key=other.key",
            "epoch",
            "roll",
            "--tenant",
            "globex",
        ],
    );
    s.case(
        "epoch_archive_open_epoch",
        &[
            STORE, "epoch", "archive", "--tenant", "acme", "--epoch", "1", "--out", "arch",
        ],
    );
    s.case(
        "epoch_archive_delete",
        &[
            STORE, "epoch", "archive", "--tenant", "acme", "--epoch", "0", "--out", "arch",
            "--delete",
        ],
    );
    assert!(s.path("arch/acme.e0.jsonl").is_file());
    // What remains verifies on its own (a fresh process reopens the file).
    s.case(
        "verify_after_archive",
        &[STORE, "verify", "--key", "log.vkey"],
    );
    s.case("stats_after_archive", &[STORE, "stats", "--tenant", "acme"]);
}

#[test]
fn store_urls_and_configuration() {
    let s = Site::new();
    s.case("no_store", &["stats"]);
    s.case("bad_url_scheme", &["--store", "mysql://db/audit", "stats"]);
    s.case("bad_url_plain_path", &["--store", "audit.db", "stats"]);
    s.case("missing_store", &["--store", "sqlite://none.db", "stats"]);
    assert!(
        !s.path("none.db").exists(),
        "a missing store is not created"
    );
    s.case(
        "memory_store_is_empty",
        &["--store", "memory:", "verify", "--key", "log.vkey"],
    );
    // A config file in the current folder; relative paths from its folder.
    std::fs::write(
        s.path("ai-audit.toml"),
        "store = \"sqlite://audit.db\"\nverifier_keys = [\"log.vkey\"]\nsigning_key_file = \"log.key\"\n",
    )
    .unwrap();
    let t = s.case("config_file", &["verify", "--tenant", "globex"]);
    assert_eq!(exit_code(&t), "0");
    // The environment beats the file, a flag beats the environment.
    let env = [("AI_AUDIT_STORE", "sqlite://none.db")];
    s.case_env("config_env_beats_file", &["stats"], &env);
    let t = s.run(&[STORE, "stats", "--tenant", "globex"], &env);
    assert_eq!(exit_code(&t), "0", "{t}");
    std::fs::write(s.path("ai-audit.toml"), "stroe = \"sqlite://audit.db\"\n").unwrap();
    s.case("config_unknown_key", &["stats"]);
}

#[test]
fn completions_for_each_shell() {
    let s = Site::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let t = s.run(&["completions", shell], &[]);
        assert_eq!(exit_code(&t), "0", "{shell}");
        assert!(t.contains("ai-audit") && t.contains("keygen"), "{shell}");
    }
    s.case("completions_bad_shell", &["completions", "tcsh"]);
}

/// Paths the README's commands rely on.
fn readme_blocks(readme: &str, section: &str) -> Vec<String> {
    let start = readme
        .find(section)
        .unwrap_or_else(|| panic!("README has no section {section:?}"));
    let rest = &readme[start + section.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    let mut cmds = Vec::new();
    let mut in_block = false;
    let mut current = String::new();
    for line in rest[..end].lines() {
        if line.starts_with("```") {
            in_block = line == "```sh" && !in_block;
            continue;
        }
        if !in_block || line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        current.push_str(line.trim_end_matches('\\').trim());
        if line.ends_with('\\') {
            current.push(' ');
        } else {
            cmds.push(std::mem::take(&mut current));
        }
    }
    cmds
}

/// The README's operator walk-through, command by command, word for word,
/// in a fresh folder: `cargo run --release --` is the built binary and
/// `cargo run --release --example record --` the built example.
#[test]
fn readme_walkthrough_runs_word_for_word() {
    let readme = std::fs::read_to_string(crate::support::root().join("README.md")).unwrap();
    let cmds = readme_blocks(&readme, "## Operating a store");
    assert!(cmds.len() >= 6, "{cmds:?}");
    let example = Path::new(BIN)
        .parent()
        .unwrap()
        .join("examples")
        .join("record");
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for cmd in &cmds {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let (program, args): (PathBuf, &[&str]) = match words.as_slice() {
            ["cargo", "run", "--release", "--example", "record", "--", rest @ ..] => {
                (example.clone(), rest)
            }
            ["cargo", "run", "--release", "--", rest @ ..] => (PathBuf::from(BIN), rest),
            _ => panic!(
                "README command {cmd:?} is not `cargo run --release [--example record] -- …`"
            ),
        };
        assert!(
            program.exists(),
            "{} (built by cargo test)",
            program.display()
        );
        let mut c = Command::new(&program);
        c.args(args).current_dir(dir.path());
        for v in ENV {
            c.env_remove(v);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "README command {cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push((
            cmd.clone(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ));
    }
    assert!(dir.path().join("evidence.zip").is_file());
    // The shredding part: readable before, "shredded at seq N" after.
    let decrypts: Vec<&String> = outputs
        .iter()
        .filter(|(c, _)| c.contains("--decrypt"))
        .map(|(_, o)| o)
        .collect();
    assert_eq!(decrypts.len(), 2, "{cmds:?}");
    assert!(
        decrypts[0].contains("text: \"Question 4: why was my loan declined?\""),
        "{}",
        decrypts[0]
    );
    let (_, shred) = outputs.iter().find(|(c, _)| c.contains(" shred ")).unwrap();
    let seq = shred
        .split("tombstone at seq ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .unwrap_or_else(|| panic!("{shred}"));
    assert!(
        decrypts[1].contains(&format!("shredded at seq {seq}")),
        "{}",
        decrypts[1]
    );
    assert!(!decrypts[1].contains("Question 4"));
}

/// `--store redis://…?prefix=P` reads the Redis store (feature `redis`;
/// needs the test Redis, like every Redis test).
#[cfg(feature = "redis")]
#[test]
fn a_redis_store_by_url() {
    let redis = Arc::new(crate::redis::harness::TestRedis::new());
    let log = AuditLog::builder(
        LogName::new("test.example/log").unwrap(),
        signer(),
        redis.clone(),
    )
    .random(Arc::new(SeededRandom::new(3)))
    .build();
    for i in 0..6 {
        log.append(&tenant("acme"), &body_of_kind(i)).unwrap();
    }
    log.seal_all().unwrap();
    let s = Site::new();
    let url = format!("--store={}?prefix={}", redis.url(), redis.prefix());
    let t = s.run(&[&url, "verify", "--key", "log.vkey"], &[]);
    assert_eq!(exit_code(&t), "0", "{t}");
    assert!(t.contains("tenant acme: 6 entries, verified"), "{t}");
    let t = s.run(&[&url, "list", "--kind", "policy_flag"], &[]);
    assert!(
        t.contains("no_medical_advice blocked") && t.contains("1 entry\n"),
        "{t}"
    );
    // Nothing listens on port 1: a clear error, exit 2, and no password shown.
    let t = s.run(
        &["--store=redis://user:hunter2@127.0.0.1:1/0", "stats"],
        &[],
    );
    assert_eq!(exit_code(&t), "2", "{t}");
    assert!(t.contains("hint:") && !t.contains("hunter2"), "{t}");
    drop(log);
}

/// The SQLite index path of `list` returns exactly what the generic scan
/// returns, for every filter the binary passes it.
#[test]
fn indexed_listing_equals_the_scan() {
    use ai_audit::cli::{list, list_in, ListFilter, OpenMode, SeqRange, StoreUrl, TimeRange};
    let s = Site::new();
    let opened = StoreUrl::Sqlite(s.path("audit.db"))
        .open(OpenMode::Existing)
        .unwrap();
    let scan_store = opened.store();
    let time = TimeRange::parse("2026-11-22T10:02:00Z..2026-11-22T10:16:00Z").unwrap();
    let filters = [
        ListFilter {
            trace: Some(ExternalId::new("trace-1").unwrap()),
            ..ListFilter::default()
        },
        ListFilter {
            time: Some(time),
            ..ListFilter::default()
        },
        ListFilter {
            tenant: Some(tenant("acme")),
            kind: Some(EntryKind::ToolCall),
            seqs: Some(SeqRange::parse("3..").unwrap()),
            ..ListFilter::default()
        },
        ListFilter {
            kind: Some(EntryKind::Decision),
            action: Some(Action::Allow),
            limit: Some(3),
            ..ListFilter::default()
        },
        ListFilter {
            time: Some(time),
            limit: Some(2),
            ..ListFilter::default()
        },
    ];
    for f in &filters {
        let a = list(scan_store.as_ref(), f).unwrap();
        let b = list_in(&opened, f).unwrap();
        assert!(!a.is_empty(), "{f:?} selects something");
        assert_eq!(a, b, "{f:?}");
    }
}

/// A site whose store holds sealed fields: tenant acme (seq 0, 1: subject
/// customer-1; seq 2: customer-2; seq 3: the tenant key), tenant globex
/// (seq 0: the tenant key), keys wrapped under `kek.key`; `other.kek` is
/// another KEK. Keys come from a seeded source so that outputs are stable.
fn sealed_site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let s = signer();
    s.write_key_file(&dir.path().join("log.key")).unwrap();
    std::fs::write(
        dir.path().join("log.vkey"),
        format!("{}\n", s.verifier_key()),
    )
    .unwrap();
    LocalKek::from_bytes([0x4b; 32])
        .write_file(&dir.path().join("kek.key"))
        .unwrap();
    LocalKek::from_bytes([0x4c; 32])
        .write_file(&dir.path().join("other.kek"))
        .unwrap();
    let store =
        Arc::new(SqliteStore::open(dir.path().join("audit.db"), SqliteOptions::default()).unwrap());
    let keys = Arc::new(
        KeyStore::builder(Arc::new(LocalKek::from_bytes([0x4b; 32])), store.clone())
            .random(Arc::new(SeededRandom::new(5)))
            .dangerous_key_source(Arc::new(SeededRandom::new(6)))
            .build(),
    );
    let collector = Collector::builder(LogName::new("test.example/log").unwrap(), s, store)
        .key_store(keys)
        .clock(Arc::new(ManualClock::new(
            Timestamp::parse("2026-11-22T10:00:00.000000Z").unwrap(),
            60_000_000,
        )))
        .random(Arc::new(SeededRandom::new(9)))
        .build()
        .unwrap();
    for (t, subject, n) in [
        ("acme", Some("customer-1"), 0),
        ("acme", Some("customer-1"), 1),
        ("acme", Some("customer-2"), 2),
        ("acme", None, 3),
        ("globex", None, 0),
    ] {
        let mut d = collector.start(&tenant(t)).unwrap();
        if let Some(s) = subject {
            d.set_subject(s).unwrap();
        }
        d.set_input_sealed(&format!("PLAINTEXT<{t}/{n}>")).unwrap();
        d.set_action(Action::Allow);
        d.emit().unwrap();
    }
    collector.log().seal_all().unwrap();
    Site { dir }
}

const SHRED_SUBJECT: [&str; 10] = [
    STORE,
    "--signing-key=log.key",
    "--kek=kek.key",
    "shred",
    "--tenant",
    "acme",
    "--subject",
    "customer-1",
    "--actor=dpo-1",
    "--reason=gdpr_art17",
];

#[test]
fn inspect_shows_sealed_metadata_and_with_the_kek_the_text() {
    let s = sealed_site();
    let t = s.case(
        "inspect_sealed",
        &[STORE, "inspect", "--tenant", "acme", "--seq", "0"],
    );
    assert!(t.contains("raw_input") && !t.contains("PLAINTEXT"), "{t}");
    let t = s.case(
        "inspect_decrypt",
        &[
            STORE,
            "--kek=kek.key",
            "inspect",
            "--decrypt",
            "--tenant",
            "acme",
            "--seq",
            "0",
        ],
    );
    assert!(t.contains("text: \"PLAINTEXT<acme/0>\""), "{t}");
    let t = s.run(
        &[
            STORE,
            "--json",
            "inspect",
            "--decrypt",
            "--tenant",
            "acme",
            "--seq",
            "3",
        ],
        &[("AI_AUDIT_KEK_FILE", "kek.key")],
    );
    let v: serde_json::Value = serde_json::from_str(t.split("--- stderr").next().unwrap()).unwrap();
    assert_eq!(v["sealed"][0]["text"], "PLAINTEXT<acme/3>");
    assert_eq!(v["entry"]["seq"], 3);
    let kek_hex = "4b".repeat(32);
    let t = s.run(
        &[
            STORE,
            "inspect",
            "--decrypt",
            "--tenant",
            "globex",
            "--seq",
            "0",
        ],
        &[("AI_AUDIT_KEK", kek_hex.as_str())],
    );
    assert!(
        t.contains("PLAINTEXT<globex/0>"),
        "the KEK itself in AI_AUDIT_KEK: {t}"
    );
    let t = s.case(
        "inspect_wrong_kek",
        &[
            STORE,
            "--kek=other.kek",
            "inspect",
            "--decrypt",
            "--tenant",
            "acme",
            "--seq",
            "0",
        ],
    );
    assert_eq!(exit_code(&t), "2");
    assert!(!t.contains("PLAINTEXT"));
    let t = s.case(
        "inspect_decrypt_no_kek",
        &[
            STORE,
            "inspect",
            "--decrypt",
            "--tenant",
            "acme",
            "--seq",
            "0",
        ],
    );
    assert_eq!(exit_code(&t), "2");
}

#[test]
fn shred_a_subject_then_a_tenant_and_the_store_still_verifies() {
    let s = sealed_site();
    // Refusals first: nothing may change.
    let t = s.case("shred_needs_yes", &SHRED_SUBJECT);
    assert_eq!(exit_code(&t), "2");
    assert!(t.contains("--yes"), "{t}");
    let mut unknown = SHRED_SUBJECT.to_vec();
    unknown[5] = "nobody";
    unknown.push("--yes");
    assert_eq!(exit_code(&s.case("shred_unknown_tenant", &unknown)), "2");
    let no_kek: Vec<&str> = SHRED_SUBJECT
        .iter()
        .copied()
        .filter(|a| !a.starts_with("--kek"))
        .chain(["--yes"])
        .collect();
    assert_eq!(exit_code(&s.case("shred_no_kek", &no_kek)), "2");
    let mut wrong = SHRED_SUBJECT.to_vec();
    wrong[2] = "--kek=other.kek";
    wrong.push("--yes");
    assert_eq!(exit_code(&s.case("shred_wrong_kek", &wrong)), "2");
    let t = s.run(&[STORE, "list", "--kind", "shred"], &[]);
    assert!(t.contains("0 entries"), "nothing was shredded: {t}");

    let mut yes = SHRED_SUBJECT.to_vec();
    yes.push("--yes");
    let t = s.case("shred_subject", &yes);
    assert!(
        t.contains("seq 4") && t.contains("2 sealed fields in 2 entries"),
        "{t}"
    );
    assert!(!t.contains("customer-1"), "the subject id is not printed");
    let t = s.case(
        "inspect_after_shred",
        &[
            STORE,
            "--kek=kek.key",
            "inspect",
            "--decrypt",
            "--tenant",
            "acme",
            "--seq",
            "1",
        ],
    );
    assert!(
        t.contains("shredded at seq 4") && !t.contains("PLAINTEXT"),
        "{t}"
    );
    let t = s.run(
        &[
            STORE,
            "--kek=kek.key",
            "inspect",
            "--decrypt",
            "--tenant",
            "acme",
            "--seq",
            "2",
        ],
        &[],
    );
    assert!(
        t.contains("PLAINTEXT<acme/2>"),
        "other subjects stay readable: {t}"
    );
    let t = s.case("shred_twice", &yes);
    assert_eq!(exit_code(&t), "2");
    assert!(t.contains("shredded at seq 4"), "{t}");

    let t = s.run(
        &[
            STORE,
            "--json",
            "--signing-key=log.key",
            "--kek=kek.key",
            "shred",
            "--tenant",
            "acme",
            "--actor=ops",
            "--reason=tenant_offboarding",
            "--yes",
        ],
        &[],
    );
    let v: serde_json::Value = serde_json::from_str(t.split("--- stderr").next().unwrap()).unwrap();
    assert_eq!(v["tombstone_seq"], 5);
    assert_eq!(v["scope"], "tenant");
    assert_eq!(
        (v["entries"].as_u64(), v["sealed_fields"].as_u64()),
        (Some(4), Some(4))
    );
    let t = s.run(
        &[
            STORE,
            "--kek=kek.key",
            "inspect",
            "--decrypt",
            "--tenant",
            "acme",
            "--seq",
            "3",
        ],
        &[],
    );
    assert!(t.contains("shredded at seq 5"), "{t}");
    let t = s.run(
        &[
            STORE,
            "--kek=kek.key",
            "inspect",
            "--decrypt",
            "--tenant",
            "globex",
            "--seq",
            "0",
        ],
        &[],
    );
    assert!(
        t.contains("PLAINTEXT<globex/0>"),
        "other tenants stay readable: {t}"
    );
    let t = s.run(&[STORE, "list", "--tenant", "acme", "--kind", "shred"], &[]);
    assert!(
        t.contains("shred subject ") && t.contains("shred tenant by ops (tenant_offboarding)"),
        "{t}"
    );
    assert!(t.contains("2 entries"), "{t}");
    let t = s.run(&[STORE, "verify", "--key", "log.vkey"], &[]);
    assert_eq!(exit_code(&t), "0", "{t}");
}

/// Keys destroyed but no tombstone appended (a crash in between): running
/// the same `shred` again appends the tombstone instead of refusing.
#[test]
fn shred_again_after_a_lost_tombstone_appends_it() {
    let s = sealed_site();
    let store = Arc::new(SqliteStore::open(s.path("audit.db"), SqliteOptions::default()).unwrap());
    let keys = KeyStore::builder(Arc::new(LocalKek::from_bytes([0x4b; 32])), store.clone()).build();
    let acme = tenant("acme");
    let r = keys.subject_ref(&acme, "customer-1").unwrap();
    let slot = KeySlot::Subject(acme.clone(), r);
    store.destroy(&slot).unwrap();
    assert!(matches!(
        store.load(&slot).unwrap(),
        SlotState::Shredded(None)
    ));
    drop((keys, store));
    let mut yes = SHRED_SUBJECT.to_vec();
    yes.push("--yes");
    let t = s.run(&yes, &[]);
    assert_eq!(exit_code(&t), "0", "{t}");
    assert!(t.contains("tombstone at seq 4"), "{t}");
    let t = s.run(&yes, &[]);
    assert!(
        t.contains("shredded at seq 4") && exit_code(&t) == "2",
        "{t}"
    );
}
