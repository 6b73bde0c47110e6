//! Verification results: a report of findings, each with a verdict kind and
//! the exact place. A failed check is a finding, not an `Err`.

use std::fmt;

use serde::Serialize;

use crate::id::{Epoch, Seq, TenantId};

/// The kind of a failed check, and the overall verdict of a report.
///
/// Ordered by severity: a report's verdict is its most severe finding.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, PartialOrd, Ord, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// Every check passed.
    Verified,
    /// Entries are present but out of order.
    Reordered,
    /// Entries are missing inside the range (a gap).
    Missing,
    /// Entries are missing at the head or the tail.
    Truncated,
    /// A signature is by a key that is not pinned.
    UnknownKey,
    /// Two different entries or checkpoints claim the same place.
    Forked,
    /// Content does not match its hash, signature, link or proof.
    Tampered,
    /// Input could not be parsed as the format.
    Malformed,
    /// A format version this verifier does not support.
    UnsupportedVersion,
}

impl Verdict {
    /// The wire name (`verified`, `tampered` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Reordered => "reordered",
            Verdict::Missing => "missing",
            Verdict::Truncated => "truncated",
            Verdict::UnknownKey => "unknown_key",
            Verdict::Forked => "forked",
            Verdict::Tampered => "tampered",
            Verdict::Malformed => "malformed",
            Verdict::UnsupportedVersion => "unsupported_version",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a finding is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Location {
    /// File inside a package.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_file"
    )]
    #[schemars(with = "Option<String>")]
    pub file: Option<std::sync::Arc<str>>,
    /// 1-based line in that file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
    /// Epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch: Option<Epoch>,
    /// Sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<Seq>,
}

fn serialize_file<S: serde::Serializer>(
    file: &Option<std::sync::Arc<str>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match file {
        Some(f) => s.serialize_some(&**f),
        None => s.serialize_none(),
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(x) = &self.file {
            parts.push(format!("file {x}"));
        }
        if let Some(x) = self.line {
            parts.push(format!("line {x}"));
        }
        if let Some(x) = &self.tenant {
            parts.push(format!("tenant {x}"));
        }
        if let Some(x) = self.epoch {
            parts.push(format!("epoch {x}"));
        }
        if let Some(x) = self.seq {
            parts.push(format!("seq {x}"));
        }
        if parts.is_empty() {
            f.write_str("(whole input)")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// One failed check, or a warning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Finding {
    /// The kind of failure.
    pub verdict: Verdict,
    /// Stable name of the check (`entry_hash`, `signature`, `link` …).
    pub check: String,
    /// Where.
    pub location: Location,
    /// Human explanation. Never personal data or secrets.
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}] at {}: {}",
            self.verdict, self.check, self.location, self.detail
        )
    }
}

/// The result of a verification run.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct Report {
    /// Failed checks, in the order found.
    pub failures: Vec<Finding>,
    /// Observations that do not fail verification (e.g. a clock step back).
    pub warnings: Vec<Finding>,
    /// Number of entries checked.
    pub entries_checked: u64,
    /// Number of checks that passed.
    pub checks_passed: u64,
}

impl Report {
    /// The overall verdict: the most severe failure, or `Verified`.
    pub fn verdict(&self) -> Verdict {
        self.failures
            .iter()
            .map(|f| f.verdict)
            .max()
            .unwrap_or(Verdict::Verified)
    }
    /// True when nothing failed.
    pub fn is_verified(&self) -> bool {
        self.failures.is_empty()
    }
    /// Records a failure.
    pub fn fail(
        &mut self,
        verdict: Verdict,
        check: &str,
        location: Location,
        detail: impl Into<String>,
    ) {
        self.failures.push(Finding {
            verdict,
            check: check.to_owned(),
            location,
            detail: detail.into(),
        });
    }
    /// Records a warning.
    pub fn warn(&mut self, check: &str, location: Location, detail: impl Into<String>) {
        self.warnings.push(Finding {
            verdict: Verdict::Verified,
            check: check.to_owned(),
            location,
            detail: detail.into(),
        });
    }
    /// Counts a passed check.
    pub fn pass(&mut self) {
        self.checks_passed += 1;
    }
    /// The first failure with this verdict.
    pub fn first(&self, verdict: Verdict) -> Option<&Finding> {
        self.failures.iter().find(|f| f.verdict == verdict)
    }
}
