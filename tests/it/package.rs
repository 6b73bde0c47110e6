//! Evidence packages: export, strict reading, verification, and the golden
//! corpus tests/vectors/{ok,fail}_*.zip with its expectations in
//! tests/vectors/packages_v1.json. The corpus is regenerated from fixed
//! inputs and compared byte for byte (`AI_AUDIT_BLESS=1` rewrites it).

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::sync::Arc;

use ai_audit::package::*;
use ai_audit::*;
use serde_json::{json, Value};

use crate::support::*;

fn policy() -> SealPolicy {
    SealPolicy {
        every_entries: Some(4),
        epoch_max_entries: Some(10),
        ..SealPolicy::default()
    }
}

fn log_name() -> LogName {
    LogName::new("test.example/log").unwrap()
}

/// Tenant `acme` (23 entries over 3 epochs) and `beta` (5), all sealed.
fn source(mode: SigningMode) -> Fixture {
    let f = fixture_sealed(mode, policy());
    populate(&f, &tenant("acme"), 23);
    populate(&f, &tenant("beta"), 5);
    f.log.seal_all().unwrap();
    f
}

fn export(f: &Fixture, scope: &Scope) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    export_package(&*f.store, &log_name(), &*signer(), scope, &mut out).unwrap();
    out.into_inner()
}

fn verify(bytes: &[u8]) -> PackageReport {
    verify_package(Cursor::new(bytes), &keyring()).unwrap()
}

fn has(r: &PackageReport, verdict: Verdict, check: &str) -> bool {
    r.report
        .failures
        .iter()
        .any(|f| f.verdict == verdict && f.check == check)
}

// ---------------------------------------------------------------------------
// A raw ZIP writer for crafting archives (stored or deflated), including the
// defective ones no ZIP library would write.

#[derive(Clone)]
struct RawFile {
    name: String,
    data: Vec<u8>,
    deflate: bool,
    flags: u16,
}

fn raw(name: &str, data: &[u8]) -> RawFile {
    RawFile {
        name: name.into(),
        data: data.to_vec(),
        deflate: true,
        flags: 0,
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn pack_with_prefix(prefix: &[u8], files: &[RawFile]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    let mut central = Vec::new();
    for f in files {
        let (method, body) = if f.deflate {
            (8u16, deflate(&f.data))
        } else {
            (0u16, f.data.clone())
        };
        let crc = crc32fast::hash(&f.data);
        let offset = out.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes());
            v.extend_from_slice(&f.flags.to_le_bytes());
            v.extend_from_slice(&method.to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // time
            v.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
            v.extend_from_slice(&crc.to_le_bytes());
            v.extend_from_slice(&(body.len() as u32).to_le_bytes());
            v.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
            v.extend_from_slice(&(f.name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(f.name.as_bytes());
        out.extend_from_slice(&body);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&0x031eu16.to_le_bytes()); // made by
        common(&mut central);
        central.extend_from_slice(&[0; 8]); // comment len, disk, int attr, ext attr (part)
        central.extend_from_slice(&[0; 2]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(f.name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn pack(files: &[RawFile]) -> Vec<u8> {
    pack_with_prefix(&[], files)
}

/// Unpacks a trusted package (the test's own) with the zip crate.
fn unpack(bytes: &[u8]) -> Vec<RawFile> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            raw(&f.name().unwrap(), &data)
        })
        .collect()
}

fn get<'a>(files: &'a mut [RawFile], name: &str) -> &'a mut RawFile {
    files.iter_mut().find(|f| f.name == name).unwrap()
}

/// Rewrites the manifest as a producer holding `key` would for these files
/// (hashes, sizes, counts, seqs, epochs, heads) and signs it again.
fn resign(files: &mut [RawFile], key: &LocalSigner) {
    let mbytes = &get(files, MANIFEST).data;
    let mut m: Manifest = ai_audit::encoding::decode_canonical(mbytes).unwrap();
    m.files = files
        .iter()
        .filter(|f| f.name != MANIFEST && f.name != MANIFEST_SIG)
        .map(|f| FileRecord {
            name: f.name.clone(),
            sha256: Hash32::digest(&f.data),
            size: f.data.len() as u64,
        })
        .collect();
    m.files.sort_by(|a, b| a.name.cmp(&b.name));
    for t in &mut m.tenants {
        let prefix = format!("tenants/{}/", t.tenant);
        let entries: Vec<Entry> = files
            .iter()
            .filter(|f| f.name.starts_with(&prefix) && f.name.ends_with("entries.jsonl"))
            .flat_map(|f| {
                f.data
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .filter_map(|l| Entry::from_line(l).ok())
                    .collect::<Vec<_>>()
            })
            .collect();
        if let (Some(a), Some(z)) = (entries.first(), entries.last()) {
            t.entries = entries.len() as u64;
            t.first_seq = a.seq();
            t.first_prev = *a.prev();
            t.last_seq = z.seq();
        }
    }
    m.producer = key.verifier_key().name().to_owned();
    m.producer_key_id = key.verifier_key().id();
    let bytes = ai_audit::encoding::to_canonical(&m).unwrap();
    let note = sign_note(&manifest_note_text(&bytes), &[key]).unwrap();
    get(files, MANIFEST).data = bytes;
    get(files, MANIFEST_SIG).data = note.into_bytes();
}

fn lines_of(f: &RawFile) -> Vec<Vec<u8>> {
    f.data
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn set_lines(f: &mut RawFile, lines: &[Vec<u8>]) {
    f.data = lines
        .iter()
        .flat_map(|l| [l.as_slice(), b"\n"].concat())
        .collect();
}

fn edit_line(files: &mut [RawFile], name: &str, i: usize, from: &str, to: &str) {
    let f = get(files, name);
    let mut ls = lines_of(f);
    let s = String::from_utf8(ls[i].clone()).unwrap();
    assert!(s.contains(from), "{from} not in line {i} of {name}");
    ls[i] = s.replacen(from, to, 1).into_bytes();
    set_lines(f, &ls);
}

/// Changes one character of the value of `field` in a JSON line.
fn flip_field(files: &mut [RawFile], name: &str, i: usize, field: &str) {
    let f = get(files, name);
    let mut ls = lines_of(f);
    let s = String::from_utf8(ls[i].clone()).unwrap();
    let key = format!("\"{field}\":\"");
    let at = s.find(&key).unwrap() + key.len() + 3;
    let mut b = s.into_bytes();
    b[at] = match b[at] {
        d @ b'0'..=b'8' => d + 1,
        b'9' => b'0',
        b'a' => b'b',
        _ => b'a',
    };
    ls[i] = b;
    set_lines(f, &ls);
}

const E0: &str = "tenants/acme/0/entries.jsonl";
const E1: &str = "tenants/acme/1/entries.jsonl";
const E2: &str = "tenants/acme/2/entries.jsonl";

/// (file name, bytes, expected verdict, a check that must fail, its location).
type Case = (String, Vec<u8>, Verdict, &'static str, Value);

fn corpus() -> Vec<Case> {
    let f = source(SigningMode::PerEntry);
    let ok = export(&f, &Scope::All);
    let batch = export(&source(SigningMode::BatchSealed), &Scope::All);
    let mut disc = Cursor::new(Vec::new());
    export_disclosure(
        &*f.store,
        &log_name(),
        &*signer(),
        &tenant("acme"),
        &[Seq(1), Seq(12)],
        &mut disc,
    )
    .unwrap();
    let key = signer();
    let mut out: Vec<Case> = vec![
        (
            "ok_log_v1.zip".into(),
            ok.clone(),
            Verdict::Verified,
            "",
            json!({}),
        ),
        (
            "ok_batch_sealed_v1.zip".into(),
            batch,
            Verdict::Verified,
            "",
            json!({}),
        ),
        (
            "ok_disclosure_v1.zip".into(),
            disc.into_inner(),
            Verdict::Verified,
            "",
            json!({}),
        ),
    ];
    let base = unpack(&ok);
    let mut case = |name: &str,
                    v: Verdict,
                    check: &'static str,
                    loc: Value,
                    edit: &dyn Fn(&mut Vec<RawFile>)|
     -> () {
        let mut files = base.clone();
        edit(&mut files);
        out.push((format!("fail_{name}.zip"), pack(&files), v, check, loc));
    };
    // Byte flips in each kind of field, re-signed by the producer: the
    // chain, tree and checkpoints catch them.
    let flips: [(&str, &str, &'static str); 6] = [
        ("body", "input", "entry_hash"),
        ("hash", "hash", "entry_hash"),
        ("prev", "prev", "entry_hash"),
        ("id", "id", "entry_hash"),
        ("ts", "ts", "entry_hash"),
        ("sig", "sig", "signature"),
    ];
    for (what, field, check) in flips {
        case(
            &format!("flip_{what}"),
            Verdict::Tampered,
            check,
            json!({"file": E0, "line": 2, "seq": 1}),
            &|fs| {
                flip_field(fs, E0, 1, field);
                resign(fs, &key);
            },
        );
    }
    case(
        "flip_tenant",
        Verdict::Tampered,
        "tenant",
        json!({"file": E0, "line": 3, "seq": 2}),
        &|fs| {
            edit_line(fs, E0, 2, "\"tenant\":\"acme\"", "\"tenant\":\"acmf\"");
            resign(fs, &key);
        },
    );
    case(
        "deleted_middle",
        Verdict::Tampered,
        "gap",
        json!({"file": E0, "line": 5, "seq": 5}),
        &|fs| {
            let f = get(fs, E0);
            let mut ls = lines_of(f);
            ls.remove(4);
            set_lines(f, &ls);
            resign(fs, &key);
        },
    );
    case(
        "dropped_tail",
        Verdict::Truncated,
        "checkpoint_size",
        json!({"file": "tenants/acme/2/checkpoints/4.note", "epoch": 2, "seq": 21}),
        &|fs| {
            let f = get(fs, E2);
            let mut ls = lines_of(f);
            ls.truncate(1);
            set_lines(f, &ls);
            resign(fs, &key);
        },
    );
    case(
        "dropped_head",
        Verdict::Truncated,
        "head",
        json!({"file": E0, "line": 1, "seq": 1}),
        &|fs| {
            let f = get(fs, E0);
            let mut ls = lines_of(f);
            ls.remove(0);
            set_lines(f, &ls);
            resign(fs, &key);
        },
    );
    case(
        "reordered",
        Verdict::Reordered,
        "order",
        json!({"file": E1, "line": 4, "seq": 12}),
        &|fs| {
            let f = get(fs, E1);
            let mut ls = lines_of(f);
            ls.swap(2, 3);
            set_lines(f, &ls);
            resign(fs, &key);
        },
    );
    case(
        "duplicated_entry",
        Verdict::Tampered,
        "duplicate_entry",
        json!({"file": E1, "line": 4, "seq": 12}),
        &|fs| {
            let f = get(fs, E1);
            let mut ls = lines_of(f);
            let dup = ls[2].clone();
            ls.insert(3, dup);
            set_lines(f, &ls);
            resign(fs, &key);
        },
    );
    case(
        "spliced_tenant",
        Verdict::Tampered,
        "tenant",
        json!({"file": E0, "line": 4, "tenant": "beta", "seq": 3}),
        &|fs| {
            let other = lines_of(get(fs, "tenants/beta/0/entries.jsonl"))[3].clone();
            let f = get(fs, E0);
            let mut ls = lines_of(f);
            ls[3] = other;
            set_lines(f, &ls);
            resign(fs, &key);
        },
    );
    case(
        "edited_manifest",
        Verdict::Tampered,
        "manifest_hash",
        json!({"file": MANIFEST}),
        &|fs| {
            let m = get(fs, MANIFEST);
            let s = String::from_utf8(m.data.clone()).unwrap();
            assert!(s.starts_with("{\"entries\":"));
            m.data = s
                .replacen("{\"entries\":", "{\"entries\":1", 1)
                .into_bytes();
        },
    );
    case(
        "edited_checkpoint",
        Verdict::Tampered,
        "checkpoint_signature",
        json!({"file": "tenants/acme/0/checkpoints/4.note"}),
        &|fs| {
            let n = get(fs, "tenants/acme/0/checkpoints/4.note");
            n.data = String::from_utf8(n.data.clone())
                .unwrap()
                .replacen("\n4\n", "\n3\n", 1)
                .into_bytes();
            resign(fs, &key);
        },
    );
    case(
        "edited_proof",
        Verdict::Tampered,
        "consistency_proof",
        json!({"file": "tenants/acme/0/consistency/4-8.json", "tenant": "acme", "epoch": 0}),
        &|fs| {
            let p = get(fs, "tenants/acme/0/consistency/4-8.json");
            let s = String::from_utf8(p.data.clone()).unwrap();
            let at = s.find("\"path\":[\"").unwrap() + 9;
            let mut b = s.into_bytes();
            b[at] = if b[at] == b'0' { b'1' } else { b'0' };
            p.data = b;
            resign(fs, &key);
        },
    );
    case(
        "unlisted_file",
        Verdict::Tampered,
        "file_unlisted",
        json!({"file": "tenants/acme/0/checkpoints/99.note"}),
        &|fs| {
            let n = get(fs, "tenants/acme/0/checkpoints/4.note").data.clone();
            fs.push(raw("tenants/acme/0/checkpoints/99.note", &n));
        },
    );
    case(
        "extra_entry",
        Verdict::Malformed,
        "name",
        json!({"file": "run-me.sh"}),
        &|fs| fs.push(raw("run-me.sh", b"echo pwned\n")),
    );
    case(
        "duplicate_name",
        Verdict::Malformed,
        "duplicate_name",
        json!({"file": E0}),
        &|fs| {
            let mut evil = get(fs, E0).clone();
            evil.data = b"evil\n".to_vec();
            fs.push(evil);
        },
    );
    case(
        "zip_slip",
        Verdict::Malformed,
        "path",
        json!({"file": "../../etc/cron.d/x"}),
        &|fs| fs.push(raw("../../etc/cron.d/x", b"* * * * * root sh\n")),
    );
    case(
        "zip_bomb",
        Verdict::Malformed,
        "compression_ratio",
        json!({"file": E2}),
        &|fs| get(fs, E2).data = vec![b'\n'; 32 << 20],
    );
    case(
        "encrypted",
        Verdict::Malformed,
        "encrypted",
        json!({"file": README}),
        &|fs| get(fs, README).flags = 1,
    );
    case(
        "non_canonical",
        Verdict::Malformed,
        "encoding",
        json!({"file": E0, "line": 2}),
        &|fs| {
            edit_line(fs, E0, 1, "{\"body\":", "{ \"body\":");
            resign(fs, &key);
        },
    );
    case(
        "unknown_version",
        Verdict::UnsupportedVersion,
        "format",
        json!({"file": MANIFEST}),
        &|fs| {
            let m = get(fs, MANIFEST);
            m.data = String::from_utf8(m.data.clone())
                .unwrap()
                .replace(PACKAGE_FORMAT, "ai-audit-package/v2")
                .into_bytes();
            resign(fs, &key);
        },
    );

    // Structural damage to the exported bytes themselves.
    out.push((
        "fail_truncated_zip.zip".into(),
        ok[..ok.len() - 100].to_vec(),
        Verdict::Malformed,
        "eocd",
        json!({}),
    ));
    out.push((
        "fail_prepended_data.zip".into(),
        pack_with_prefix(b"MZ\x90\x00 self-extractor stub ", &base),
        Verdict::Malformed,
        "layout",
        json!({"file": "README.txt"}),
    ));
    // Everything re-made and re-signed with another key, key file swapped.
    let other = Arc::new(LocalSigner::from_seed("test.example/log", &[9; 32]).unwrap());
    let g = {
        let store = Arc::new(MemoryStore::new());
        let log = AuditLog::builder(log_name(), other.clone(), store.clone())
            .clock(Arc::new(ManualClock::new(
                Timestamp::parse("2026-11-22T10:00:00.000000Z").unwrap(),
                1_000,
            )))
            .random(Arc::new(SeededRandom::new(42)))
            .seal_policy(policy())
            .build();
        for i in 0..23 {
            log.append(&tenant("acme"), &body_of_kind(i)).unwrap();
        }
        log.seal_all().unwrap();
        let mut o = Cursor::new(Vec::new());
        export_package(&*store, &log_name(), &*other, &Scope::All, &mut o).unwrap();
        o.into_inner()
    };
    out.push((
        "fail_resigned_other_key.zip".into(),
        g,
        Verdict::UnknownKey,
        "manifest_signature",
        json!({"file": MANIFEST_SIG}),
    ));
    out
}

fn matches_location(loc: &Location, want: &Value) -> bool {
    let got = serde_json::to_value(loc).unwrap();
    want.as_object()
        .unwrap()
        .iter()
        .all(|(k, v)| got.get(k) == Some(v))
}

#[test]
fn golden_corpus_is_up_to_date_and_gives_the_right_verdicts() {
    let mut index = BTreeMap::new();
    for (name, bytes, verdict, check, loc) in corpus() {
        let r = verify(&bytes);
        assert_eq!(r.verdict(), verdict, "{name}: {:#?}", r.report.failures);
        if !check.is_empty() {
            assert!(
                r.report
                    .failures
                    .iter()
                    .any(|f| f.check == check && matches_location(&f.location, &loc)),
                "{name}: no {check} failure at {loc}: {:#?}",
                r.report.failures
            );
        }
        check_or_bless(&format!("tests/vectors/{name}"), &bytes);
        index.insert(
            name,
            json!({"verdict": verdict, "check": check, "location": loc}),
        );
    }
    let text = serde_json::to_string_pretty(&json!({
        "description": "Expected verdicts of the evidence-package corpus; the ok_ packages verify under test.example/log+<id> from seed [7;32] (tests/it/support.rs). Generated by tests/it/package.rs.",
        "key": signer().verifier_key().to_string(),
        "packages": index,
    }))
    .unwrap()
        + "\n";
    check_or_bless("tests/vectors/packages_v1.json", text.as_bytes());
}

/// Every package in tests/vectors is verified from disk against the index:
/// ok_ verify, fail_ give their recorded verdict and failing check.
#[test]
fn every_package_vector_on_disk_gives_its_verdict() {
    let dir = root().join("tests/vectors");
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("packages_v1.json")).unwrap()).unwrap();
    let mut seen = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".zip") {
            continue;
        }
        seen += 1;
        let want = &index["packages"][&name];
        assert!(want.is_object(), "{name} is not in packages_v1.json");
        let r = verify_package(std::fs::File::open(dir.join(&name)).unwrap(), &keyring()).unwrap();
        assert_eq!(
            serde_json::to_value(r.verdict()).unwrap(),
            want["verdict"],
            "{name}"
        );
        assert_eq!(name.starts_with("ok_"), r.is_verified(), "{name}");
        if let Some(check) = want["check"].as_str().filter(|c| !c.is_empty()) {
            assert!(
                r.report.failures.iter().any(|f| f.check == check),
                "{name}: {check}"
            );
        }
    }
    assert!(seen >= 30, "only {seen} package vectors");
}

#[test]
fn export_is_deterministic_and_scopes_are_whole_epochs() {
    let f = source(SigningMode::PerEntry);
    assert_eq!(export(&f, &Scope::All), export(&f, &Scope::All));
    let one = export(
        &f,
        &Scope::Seqs {
            tenant: tenant("acme"),
            from: Seq(12),
            to: Seq(13),
        },
    );
    let r = verify(&one);
    assert!(r.is_verified(), "{:#?}", r.report.failures);
    let s = r.summary.unwrap();
    assert_eq!(s.tenants.len(), 1);
    // Epoch 1 holds seq 10..=19 (its first entry is the epoch link).
    assert_eq!(
        (s.tenants[0].first_seq, s.tenants[0].last_seq),
        (Seq(10), Seq(19))
    );
    let t = export(&f, &Scope::Tenant(tenant("beta")));
    assert!(verify(&t).is_verified());
}

#[test]
fn keys_in_the_package_are_never_trusted() {
    let f = source(SigningMode::PerEntry);
    let ok = export(&f, &Scope::All);
    let r = verify_package(Cursor::new(&ok), &KeyRing::new()).unwrap();
    let kinds: Vec<(Verdict, &str)> = r
        .report
        .failures
        .iter()
        .map(|f| (f.verdict, f.check.as_str()))
        .collect();
    assert_eq!(r.verdict(), Verdict::UnknownKey, "{kinds:?}");
    let d = &r.report.failures[0].detail;
    assert!(d.contains("test.example/log"), "{d}");
    assert!(d.contains(&signer().verifier_key().id().to_string()), "{d}");
}

#[test]
fn disclosure_detects_a_swapped_receipt_and_a_bad_proof() {
    let f = source(SigningMode::BatchSealed);
    let mut d = Cursor::new(Vec::new());
    export_disclosure(
        &*f.store,
        &log_name(),
        &*signer(),
        &tenant("acme"),
        &[Seq(1)],
        &mut d,
    )
    .unwrap();
    let d = d.into_inner();
    assert!(verify(&d).is_verified());
    let mut files = unpack(&d);
    flip_field(&mut files, "receipts/acme/1.jsonl", 0, "input");
    resign(&mut files, &signer());
    let r = verify(&pack(&files));
    assert!(
        has(&r, Verdict::Tampered, "entry_hash"),
        "{:#?}",
        r.report.failures
    );
    let mut files = unpack(&d);
    let p = get(&mut files, "receipts/acme/1.tlog-proof");
    let s = String::from_utf8(p.data.clone()).unwrap();
    p.data = s.replacen("index 1\n", "index 2\n", 1).into_bytes();
    resign(&mut files, &signer());
    let r = verify(&pack(&files));
    assert!(
        has(&r, Verdict::Tampered, "inclusion"),
        "{:#?}",
        r.report.failures
    );
}

#[test]
fn every_single_byte_flip_of_a_package_is_caught() {
    // A small package: flipping any one byte anywhere must fail verification
    // (never panic, never verify).
    let f = fixture_sealed(SigningMode::PerEntry, policy());
    populate(&f, &tenant("acme"), 3);
    f.log.seal_all().unwrap();
    let ok = export(&f, &Scope::All);
    assert!(verify(&ok).is_verified());
    // The central directory's "version made by" and attribute fields are
    // informational (only a non-regular file type is refused), so flips are
    // made in the local headers and data, and in the end record.
    let cd = u32::from_le_bytes(ok[ok.len() - 6..ok.len() - 2].try_into().unwrap()) as usize;
    for i in (0..cd).step_by(7).chain(ok.len() - 22..ok.len()) {
        let mut b = ok.clone();
        b[i] ^= 0x20;
        let r = verify(&b);
        assert!(!r.is_verified(), "flip at byte {i} verified");
    }
}

// ---------------------------------------------------------------------------
// The streaming, parallel verifier against the in-memory one.

/// Verifies `bytes` with both verifiers, asserts that they give the same
/// report (failures in order, warnings, counts) and returns it.
fn same_report(name: &str, bytes: &[u8], keys: &KeyRing) -> PackageReport {
    let fast = verify_package(Cursor::new(bytes), keys).unwrap();
    let slow =
        verify_package_with(Cursor::new(bytes), keys, &VerifyOptions::new().in_memory()).unwrap();
    assert_eq!(
        serde_json::to_value(&fast).unwrap(),
        serde_json::to_value(&slow).unwrap(),
        "{name}: streaming and in-memory reports differ"
    );
    fast
}

#[test]
fn streaming_and_in_memory_verification_agree_on_every_vector() {
    let dir = root().join("tests/vectors");
    let mut seen = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".zip") {
            seen += 1;
            same_report(&name, &std::fs::read(dir.join(&name)).unwrap(), &keyring());
        }
    }
    assert!(seen >= 30, "only {seen} package vectors");
}

/// 300 per-entry signed receipts over two epochs (two worker batches of
/// 256 lines), the later ones signed by a rotated key that only the
/// chain introduces. Built once for the tests that share it.
fn large_rotated() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let f = fixture_sealed(
            SigningMode::PerEntry,
            SealPolicy {
                every_entries: Some(50),
                epoch_max_entries: Some(200),
                ..SealPolicy::default()
            },
        );
        let t = tenant("acme");
        populate(&f, &t, 150);
        let new = Arc::new(LocalSigner::from_seed("test.example/log-2", &[8u8; 32]).unwrap());
        f.log
            .rotate_key(new, Code::new("scheduled").unwrap())
            .unwrap();
        populate(&f, &t, 150);
        f.log.seal_all().unwrap();
        export(&f, &Scope::All)
    })
}

#[test]
fn a_large_package_with_a_rotation_verifies_with_progress_and_a_bad_signature_is_found() {
    let ok = large_rotated();
    let seen = std::cell::RefCell::new(Vec::<Progress>::new());
    let cb = |p: Progress| seen.borrow_mut().push(p);
    let r = verify_package_with(
        Cursor::new(ok),
        &keyring(),
        &VerifyOptions::new().with_progress(&cb),
    )
    .unwrap();
    assert!(r.is_verified(), "{:#?}", r.report.failures);
    let total = r.summary.as_ref().unwrap().entries;
    assert!(total > 300, "{total}");
    let seen = seen.into_inner();
    assert!(seen.len() >= 2, "{} progress calls", seen.len());
    assert!(seen
        .windows(2)
        .all(|w| w[0].entries_done <= w[1].entries_done));
    assert_eq!(seen.last().unwrap().entries_done, total);
    assert!(seen.iter().all(|p| p.entries_total == total));
    same_report("large", ok, &keyring());

    // A bad signature late in epoch 1 (signed by the rotated key): the
    // batch fails, and the per-signature fallback names exactly that entry.
    let mut files = unpack(ok);
    let name = "tenants/acme/1/entries.jsonl";
    let target = lines_of(get(&mut files, name)).len() - 7;
    flip_field(&mut files, name, target, "sig");
    resign(&mut files, &signer());
    let r = same_report("bad sig", &pack(&files), &keyring());
    let fails: Vec<(Verdict, &str, Option<u64>)> = r
        .report
        .failures
        .iter()
        .map(|f| (f.verdict, f.check.as_str(), f.location.line))
        .collect();
    assert_eq!(
        fails,
        vec![(Verdict::Tampered, "signature", Some(target as u64 + 1))],
        "{:#?}",
        r.report.failures
    );
}

#[test]
fn reordered_and_duplicated_entries_fall_back_to_the_same_report() {
    let ok = large_rotated();
    let name = "tenants/acme/0/entries.jsonl";
    let mut files = unpack(ok);
    let f = get(&mut files, name);
    let mut ls = lines_of(f);
    ls.swap(100, 101);
    set_lines(f, &ls);
    resign(&mut files, &signer());
    let r = same_report("reordered", &pack(&files), &keyring());
    assert!(
        has(&r, Verdict::Reordered, "order"),
        "{:#?}",
        r.report.failures
    );

    let mut files = unpack(ok);
    let f = get(&mut files, name);
    let mut ls = lines_of(f);
    let dup = ls[120].clone();
    ls.insert(121, dup);
    set_lines(f, &ls);
    resign(&mut files, &signer());
    let r = same_report("duplicated", &pack(&files), &keyring());
    assert!(
        has(&r, Verdict::Tampered, "duplicate_entry"),
        "{:#?}",
        r.report.failures
    );
}

// ---------------------------------------------------------------------------
// Time-range scope.

fn ts_of(f: &Fixture, t: &str, seq: u64) -> Timestamp {
    f.store.read(&tenant(t), Seq(seq), Seq(seq + 1)).unwrap()[0].ts()
}

fn micros(t: Timestamp, d: i64) -> Timestamp {
    Timestamp::from_unix_micros(t.unix_micros() + d).unwrap()
}

#[test]
fn a_time_range_exports_the_whole_epochs_it_touches() {
    let f = source(SigningMode::PerEntry);
    let ts12 = ts_of(&f, "acme", 12);
    // One instant inside epoch 1 of acme: that epoch, whole (seq 10..=19).
    let one = export(
        &f,
        &Scope::Time {
            tenant: Some(tenant("acme")),
            from: ts12,
            to: micros(ts12, 1),
        },
    );
    let r = verify(&one);
    assert!(r.is_verified(), "{:#?}", r.report.failures);
    let s = r.summary.unwrap();
    assert_eq!(s.tenants.len(), 1);
    assert_eq!(
        (s.tenants[0].first_seq, s.tenants[0].last_seq),
        (Seq(10), Seq(19))
    );
    // The same instant over every tenant: beta wrote later, so only acme.
    let any = export(
        &f,
        &Scope::Time {
            tenant: None,
            from: ts12,
            to: micros(ts12, 1),
        },
    );
    assert_eq!(any, one);
    // From the last entry of epoch 0 to the first of epoch 2: three epochs.
    let span = export(
        &f,
        &Scope::Time {
            tenant: Some(tenant("acme")),
            from: ts_of(&f, "acme", 9),
            to: micros(ts_of(&f, "acme", 20), 1),
        },
    );
    let s = verify(&span).summary.unwrap();
    assert_eq!(
        (s.tenants[0].first_seq, s.tenants[0].last_seq),
        (Seq(0), Seq(24))
    );
    // `to` is exclusive: ending at seq 20's instant leaves epoch 2 out.
    let upto = export(
        &f,
        &Scope::Time {
            tenant: Some(tenant("acme")),
            from: ts_of(&f, "acme", 9),
            to: ts_of(&f, "acme", 20),
        },
    );
    let s = verify(&upto).summary.unwrap();
    assert_eq!(s.tenants[0].last_seq, Seq(19));
    // Everything, for every tenant: the same bytes as Scope::All.
    let all = export(
        &f,
        &Scope::Time {
            tenant: None,
            from: ts_of(&f, "acme", 0),
            to: micros(ts_of(&f, "beta", 4), 1),
        },
    );
    assert_eq!(all, export(&f, &Scope::All));
}

#[test]
fn an_empty_or_unmatched_time_range_is_refused() {
    let f = source(SigningMode::PerEntry);
    let t0 = ts_of(&f, "acme", 0);
    let try_export = |scope: Scope| {
        let mut out = Cursor::new(Vec::new());
        export_package(&*f.store, &log_name(), &*signer(), &scope, &mut out).unwrap_err()
    };
    let before = Scope::Time {
        tenant: None,
        from: micros(t0, -10_000_000),
        to: t0,
    };
    let e = try_export(before);
    assert!(matches!(e, PackageError::Scope(_)), "{e}");
    assert!(e.to_string().contains("no tenant has entries"), "{e}");
    let one_tenant = Scope::Time {
        tenant: Some(tenant("beta")),
        from: t0,
        to: micros(t0, 1),
    };
    let e = try_export(one_tenant);
    assert!(
        e.to_string()
            .contains("tenant beta has no entries in the requested range"),
        "{e}"
    );
    let backwards = Scope::Time {
        tenant: None,
        from: micros(t0, 1),
        to: t0,
    };
    let e = try_export(backwards);
    assert!(e.to_string().contains("empty time range"), "{e}");
}

#[test]
fn an_early_irregularity_in_a_package_larger_than_the_read_ahead_falls_back_cleanly() {
    // 2,000 batch-sealed entries: the streaming reader is still inside the
    // entries file (it reads a few batches ahead) when it meets the
    // reordered pair, stops, and hands the archive to the in-memory pass.
    let f = fixture_sealed(
        SigningMode::BatchSealed,
        SealPolicy {
            every_entries: Some(500),
            epoch_max_entries: Some(5000),
            ..SealPolicy::default()
        },
    );
    populate(&f, &tenant("acme"), 2000);
    f.log.seal_all().unwrap();
    let ok = export(&f, &Scope::All);
    assert!(same_report("2000", &ok, &keyring()).is_verified());
    let mut files = unpack(&ok);
    let f0 = get(&mut files, E0);
    let mut ls = lines_of(f0);
    assert_eq!(ls.len(), 2000);
    ls.swap(10, 11);
    set_lines(f0, &ls);
    resign(&mut files, &signer());
    let r = same_report("early reorder", &pack(&files), &keyring());
    assert!(
        has(&r, Verdict::Reordered, "order"),
        "{:#?}",
        r.report.failures
    );
    assert!(
        r.report.failures.iter().all(|f| f.check != "file"),
        "{:#?}",
        r.report.failures
    );
}

/// `s + l` for a little-endian 32-byte scalar `s` (no reduction: the
/// non-canonical spelling of the same scalar, which fits below 2^256).
fn plus_l(s: &[u8]) -> [u8; 32] {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(s[i]) + u16::from(L[i]) + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    assert_eq!(carry, 0);
    out
}

/// What the holder of the fixture key can sign with R the identity: with
/// `s = H(R‖A‖M)·a`, `[s]B = [H]A`, so the cofactorless equation (and a
/// batch of it) holds; `verify_strict` refuses it for R's small order, and
/// so must the batch's pre-checks.
fn identity_r_signature(hash: &Hash32, identity: &[u8; 32]) -> [u8; 64] {
    use curve25519_dalek::Scalar;
    use sha2::{Digest, Sha512};
    let expanded = Sha512::digest(SEED);
    let mut a = [0u8; 32];
    a.copy_from_slice(&expanded[..32]);
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a);
    let public = signer().verifier_key().public_bytes().to_owned();
    let h = Sha512::new()
        .chain_update(identity)
        .chain_update(public)
        .chain_update(signature_message(hash))
        .finalize();
    let k = Scalar::from_bytes_mod_order_wide(&h.into());
    let s = k * a;
    assert_eq!(
        curve25519_dalek::constants::ED25519_BASEPOINT_POINT * s,
        curve25519_dalek::edwards::CompressedEdwardsY(public)
            .decompress()
            .unwrap()
            * k,
        "[s]B = [k]A"
    );
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(identity);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

/// One signature of a per-entry signed package replaced, in every way that
/// `verify_strict` refuses and a batch equation might not notice on its own:
/// the batched (streaming) and one-by-one (in-memory) verifications give the
/// same report, failing exactly that entry's signature check and nothing
/// else (epochs of ten entries: each file is one batch).
#[test]
fn a_malleated_signature_in_a_batch_is_refused_like_verify_strict() {
    let ok = &export(&source(SigningMode::PerEntry), &Scope::All);
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let order_four = [0u8; 32];
    let mut order_two = [0xffu8; 32];
    order_two[0] = 0xec;
    order_two[31] = 0x7f;
    // y = p + 1: a non-canonical spelling of the identity's y.
    let mut p_plus_one = [0xffu8; 32];
    p_plus_one[0] = 0xee;
    p_plus_one[31] = 0x7f;
    // y = p + 3: non-canonical, decodes (if at all) to y = 3.
    let mut p_plus_three = p_plus_one;
    p_plus_three[0] = 0xf0;
    let with_r = |sig: &[u8; 64], r: &[u8; 32]| {
        let mut b = *sig;
        b[..32].copy_from_slice(r);
        b
    };
    type Malleate = Box<dyn Fn(&[u8; 64], &[u8; 64], &Hash32) -> [u8; 64]>;
    let cases: Vec<(&str, Malleate)> = vec![
        (
            "s + l (non-canonical s)",
            Box::new(|sig, _, _| {
                let mut b = *sig;
                b[32..].copy_from_slice(&plus_l(&sig[32..]));
                b
            }),
        ),
        (
            "R = identity",
            Box::new(move |sig, _, _| with_r(sig, &identity)),
        ),
        (
            "R of order 4",
            Box::new(move |sig, _, _| with_r(sig, &order_four)),
        ),
        (
            "R of order 2",
            Box::new(move |sig, _, _| with_r(sig, &order_two)),
        ),
        (
            "R = identity with the sign bit",
            Box::new(move |sig, _, _| {
                let mut r = identity;
                r[31] |= 0x80;
                with_r(sig, &r)
            }),
        ),
        (
            "R non-canonical (p + 1)",
            Box::new(move |sig, _, _| with_r(sig, &p_plus_one)),
        ),
        (
            "R non-canonical (p + 3)",
            Box::new(move |sig, _, _| with_r(sig, &p_plus_three)),
        ),
        (
            "R negated (sign bit flipped)",
            Box::new(|sig, _, _| {
                let mut b = *sig;
                b[31] ^= 0x80;
                b
            }),
        ),
        ("all zero", Box::new(|_, _, _| [0u8; 64])),
        (
            "R = identity, s = H(R||A||M)a: the batch equation holds, verify_strict refuses",
            Box::new(move |_, _, h| identity_r_signature(h, &identity)),
        ),
        ("the next entry's signature", Box::new(|_, next, _| *next)),
        (
            "R of the next entry, own s",
            Box::new(|sig, next, _| {
                let mut b = *sig;
                b[..32].copy_from_slice(&next[..32]);
                b
            }),
        ),
    ];
    for name in [
        "tenants/acme/0/entries.jsonl",
        "tenants/acme/1/entries.jsonl",
    ] {
        let files = unpack(ok);
        let lines = lines_of(files.iter().find(|f| f.name == name).unwrap());
        let target = lines.len() / 2;
        let sig_of = |l: &[u8]| Entry::from_line(l).unwrap().signature().unwrap().0;
        let (sig, next) = (sig_of(&lines[target]), sig_of(&lines[target + 1]));
        let hash = *Entry::from_line(&lines[target]).unwrap().hash();
        for (what, malleate) in &cases {
            let bad = Signature(malleate(&sig, &next, &hash));
            assert_ne!(bad.0, sig, "{what}");
            let mut files = files.clone();
            edit_line(
                &mut files,
                name,
                target,
                &Signature(sig).to_base64(),
                &bad.to_base64(),
            );
            resign(&mut files, &signer());
            let r = same_report(what, &pack(&files), &keyring());
            let fails: Vec<(Verdict, &str, Option<u64>)> = r
                .report
                .failures
                .iter()
                .map(|f| (f.verdict, f.check.as_str(), f.location.line))
                .collect();
            assert_eq!(
                fails,
                vec![(Verdict::Tampered, "signature", Some(target as u64 + 1))],
                "{name}: {what}: {:#?}",
                r.report.failures
            );
        }
    }
}

/// `sig` added to one line of a batch-sealed package (the manifest signed
/// again over the new bytes): the entry hash does not cover `sig`, so the
/// line still matches its hash and its checkpoint; a signature that does
/// not verify is a tampered signature at that line, in the batched and the
/// one-by-one verification alike, and a valid one by the log key verifies.
#[test]
fn a_signature_added_to_a_batch_sealed_line_is_checked() {
    let ok = export(&source(SigningMode::BatchSealed), &Scope::All);
    let files = unpack(&ok);
    let lines = lines_of(files.iter().find(|f| f.name == E1).unwrap());
    let target = lines.len() / 2;
    let entry = Entry::from_line(&lines[target]).unwrap();
    assert!(entry.signature().is_none());
    let good = signer().sign(&signature_message(entry.hash())).unwrap();
    let mut other = good;
    other.0[40] ^= 1;
    let wrong_key = LocalSigner::from_seed("test.example/log", &[9u8; 32])
        .unwrap()
        .sign(&signature_message(entry.hash()))
        .unwrap();
    for (what, sig, fails) in [
        ("valid", good, false),
        ("bit flipped", other, true),
        ("another key's", wrong_key, true),
    ] {
        let mut files = files.clone();
        edit_line(
            &mut files,
            E1,
            target,
            ",\"tenant\":",
            &format!(",\"sig\":\"{}\",\"tenant\":", sig.to_base64()),
        );
        let edited = Entry::from_line(&lines_of(get(&mut files, E1))[target]).unwrap();
        assert_eq!(edited.computed_hash().unwrap(), *entry.hash(), "{what}");
        resign(&mut files, &signer());
        let r = same_report(what, &pack(&files), &keyring());
        let got: Vec<(Verdict, &str, Option<u64>)> = r
            .report
            .failures
            .iter()
            .map(|f| (f.verdict, f.check.as_str(), f.location.line))
            .collect();
        let want = if fails {
            vec![(Verdict::Tampered, "signature", Some(target as u64 + 1))]
        } else {
            vec![]
        };
        assert_eq!(got, want, "{what}: {:#?}", r.report.failures);
    }
}
