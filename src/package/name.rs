//! The allow-list of file names inside a package (SPEC §8.2).
//! A name that does not parse here is refused, whatever the manifest says.

use std::fmt;

use crate::id::{Epoch, Seq, TenantId};
use crate::merkle::TreeSize;

/// The manifest (JCS).
pub const MANIFEST: &str = "manifest.json";
/// The manifest's signed note.
pub const MANIFEST_SIG: &str = "manifest.sig";
/// The auditor README.
pub const README: &str = "README.txt";
/// The producer's verifier key, for information only (never trusted).
pub const PRODUCER_KEY: &str = "keys/producer.vkey";

/// A parsed, allow-listed file name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FileName {
    /// `manifest.json`
    Manifest,
    /// `manifest.sig`
    ManifestSig,
    /// `README.txt`
    Readme,
    /// `keys/producer.vkey`
    ProducerKey,
    /// `tenants/<tenant>/<epoch>/entries.jsonl`
    Entries(TenantId, Epoch),
    /// `tenants/<tenant>/<epoch>/checkpoints/<size>.note`
    Checkpoint(TenantId, Epoch, TreeSize),
    /// `tenants/<tenant>/<epoch>/consistency/<old>-<new>.json`
    Consistency(TenantId, Epoch, TreeSize, TreeSize),
    /// `receipts/<tenant>/<seq>.jsonl`
    Receipt(TenantId, Seq),
    /// `receipts/<tenant>/<seq>.tlog-proof`
    ReceiptProof(TenantId, Seq),
    /// `reports/crosswalk.json`: the crosswalk template the reports used
    /// (SPEC §11.3.4).
    Crosswalk,
    /// `reports/<tenant>/compliance.{json,md,html}`: a tenant's compliance
    /// report (SPEC §11.3.4).
    Report(TenantId, ReportFormat),
}

/// The three renderings of a compliance report in a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ReportFormat {
    /// `compliance.json` (JCS).
    Json,
    /// `compliance.md`.
    Markdown,
    /// `compliance.html`.
    Html,
}

impl ReportFormat {
    /// Every format, in file-name order.
    pub const ALL: [ReportFormat; 3] = [
        ReportFormat::Html,
        ReportFormat::Json,
        ReportFormat::Markdown,
    ];

    /// The file name inside `reports/<tenant>/`.
    pub fn file_name(self) -> &'static str {
        match self {
            ReportFormat::Json => "compliance.json",
            ReportFormat::Markdown => "compliance.md",
            ReportFormat::Html => "compliance.html",
        }
    }
}

/// `reports/crosswalk.json`.
pub const CROSSWALK: &str = "reports/crosswalk.json";

impl FileName {
    /// Parses a name against the allow-list. Returns `None` for anything
    /// else: absolute paths, `..`, backslashes, unknown files, identifiers
    /// or numbers not in canonical form.
    pub fn parse(s: &str) -> Option<FileName> {
        match s {
            MANIFEST => return Some(FileName::Manifest),
            MANIFEST_SIG => return Some(FileName::ManifestSig),
            README => return Some(FileName::Readme),
            PRODUCER_KEY => return Some(FileName::ProducerKey),
            CROSSWALK => return Some(FileName::Crosswalk),
            _ => {}
        }
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            ["tenants", t, e, "entries.jsonl"] => {
                Some(FileName::Entries(tenant(t)?, Epoch(decimal(e)?)))
            }
            ["tenants", t, e, "checkpoints", f] => Some(FileName::Checkpoint(
                tenant(t)?,
                Epoch(decimal(e)?),
                TreeSize(decimal(f.strip_suffix(".note")?)?),
            )),
            ["tenants", t, e, "consistency", f] => {
                let (a, b) = f.strip_suffix(".json")?.split_once('-')?;
                Some(FileName::Consistency(
                    tenant(t)?,
                    Epoch(decimal(e)?),
                    TreeSize(decimal(a)?),
                    TreeSize(decimal(b)?),
                ))
            }
            ["reports", t, f] => ReportFormat::ALL
                .into_iter()
                .find(|r| r.file_name() == *f)
                .and_then(|r| Some(FileName::Report(tenant(t)?, r))),
            ["receipts", t, f] => {
                if let Some(n) = f.strip_suffix(".jsonl") {
                    Some(FileName::Receipt(tenant(t)?, Seq(decimal(n)?)))
                } else {
                    let n = f.strip_suffix(".tlog-proof")?;
                    Some(FileName::ReceiptProof(tenant(t)?, Seq(decimal(n)?)))
                }
            }
            _ => None,
        }
    }

    /// True for a name an unzip tool could write outside its target
    /// directory (absolute, drive letter, backslash, a `..` or `.` segment).
    pub fn is_escaping(s: &str) -> bool {
        s.starts_with('/')
            || s.contains('\\')
            || s.contains(':')
            || s.split('/').any(|p| p == ".." || p == "." || p.is_empty())
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileName::Manifest => f.write_str(MANIFEST),
            FileName::ManifestSig => f.write_str(MANIFEST_SIG),
            FileName::Readme => f.write_str(README),
            FileName::ProducerKey => f.write_str(PRODUCER_KEY),
            FileName::Entries(t, e) => write!(f, "tenants/{t}/{}/entries.jsonl", e.0),
            FileName::Checkpoint(t, e, s) => {
                write!(f, "tenants/{t}/{}/checkpoints/{}.note", e.0, s.0)
            }
            FileName::Consistency(t, e, a, b) => {
                write!(f, "tenants/{t}/{}/consistency/{}-{}.json", e.0, a.0, b.0)
            }
            FileName::Receipt(t, s) => write!(f, "receipts/{t}/{}.jsonl", s.0),
            FileName::ReceiptProof(t, s) => write!(f, "receipts/{t}/{}.tlog-proof", s.0),
            FileName::Crosswalk => f.write_str(CROSSWALK),
            FileName::Report(t, r) => write!(f, "reports/{t}/{}", r.file_name()),
        }
    }
}

fn tenant(s: &str) -> Option<TenantId> {
    TenantId::new(s).ok()
}

/// ASCII decimal without sign or leading zeroes, below 2^53.
fn decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    let v: u64 = if canonical {
        s.parse().ok()?
    } else {
        return None;
    };
    (v <= crate::encoding::MAX_SAFE_INTEGER).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_strangers_are_refused() {
        for ok in [
            "manifest.json",
            "manifest.sig",
            "README.txt",
            "keys/producer.vkey",
            "tenants/acme/0/entries.jsonl",
            "tenants/acme/3/checkpoints/12.note",
            "tenants/acme/3/consistency/4-12.json",
            "receipts/acme/7.jsonl",
            "receipts/acme/7.tlog-proof",
            "reports/crosswalk.json",
            "reports/acme/compliance.json",
            "reports/acme/compliance.md",
            "reports/acme/compliance.html",
        ] {
            let n = FileName::parse(ok).unwrap();
            assert_eq!(n.to_string(), ok);
            assert!(!FileName::is_escaping(ok));
        }
        for bad in [
            "/manifest.json",
            "../manifest.json",
            "tenants/../0/entries.jsonl",
            "tenants/acme/00/entries.jsonl",
            "tenants/Acme/0/entries.jsonl",
            "tenants/acme/0/entries.jsonl/",
            "tenants/acme/0/checkpoints/1.note.bak",
            "tenants/acme/0/consistency/1-2-3.json",
            "receipts/acme/+1.jsonl",
            "receipts\\acme\\1.jsonl",
            "keys/other.vkey",
            "README.TXT",
            "reports/acme/compliance.txt",
            "reports/Acme/compliance.json",
            "reports/acme/x/compliance.json",
            "",
        ] {
            assert_eq!(FileName::parse(bad), None, "{bad}");
        }
        assert!(FileName::is_escaping("../x"));
        assert!(FileName::is_escaping("/etc/passwd"));
        assert!(FileName::is_escaping("a\\b"));
        assert!(FileName::is_escaping("C:/x"));
    }
}
