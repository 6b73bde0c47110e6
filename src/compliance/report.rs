//! The compliance report: summary plus crosswalk of one verified log, in
//! canonical JSON, Markdown and self-contained HTML (SPEC §11.3.3).
//!
//! The report holds no generation time or other ambient input: the same
//! verified entries and template always give the same bytes, so a verifier
//! can recompute a report and compare it byte for byte.

use serde::Serialize;

use super::crosswalk::{Crosswalk, CrosswalkResult};
use super::summary::Summary;
use super::ComplianceError;
use crate::encoding::{self, REPORT_LABEL};
use crate::hash::Hash32;
use crate::verified::VerifiedLog;

/// The `format` member of every report of this version.
pub const REPORT_FORMAT: &str = "ai-audit/compliance-report/v1";

/// A compliance report.
#[derive(Clone, PartialEq, Debug, Serialize, schemars::JsonSchema)]
pub struct ComplianceReport {
    /// The crosswalk evaluated on the log.
    pub crosswalk: CrosswalkResult,
    /// [`REPORT_FORMAT`].
    pub format: String,
    /// The template's notice (starting template, not legal advice).
    pub notice: String,
    /// The summary.
    pub summary: Summary,
}

impl ComplianceReport {
    /// Builds the report of `log` under `crosswalk`.
    ///
    /// # Errors
    /// [`ComplianceError::Encoding`].
    pub fn build(
        log: &VerifiedLog,
        crosswalk: &Crosswalk,
    ) -> Result<ComplianceReport, ComplianceError> {
        Ok(ComplianceReport {
            crosswalk: crosswalk.evaluate(log)?,
            format: REPORT_FORMAT.to_owned(),
            notice: crosswalk.notice.clone(),
            summary: Summary::of(log),
        })
    }

    /// The report as RFC 8785 canonical JSON.
    ///
    /// # Errors
    /// [`ComplianceError::Encoding`].
    pub fn to_json(&self) -> Result<Vec<u8>, ComplianceError> {
        Ok(encoding::to_canonical(self)?)
    }

    /// `SHA-256(REPORT_LABEL || JCS(report))`.
    ///
    /// # Errors
    /// [`ComplianceError::Encoding`].
    pub fn digest(&self) -> Result<Hash32, ComplianceError> {
        Ok(encoding::labelled_digest(REPORT_LABEL, self)?)
    }

    /// The report as Markdown (every text from entries or templates escaped).
    pub fn to_markdown(&self) -> String {
        super::markdown::render(self)
    }

    /// The report as one self-contained HTML page: no script, no external
    /// resource, a restrictive Content-Security-Policy, every text escaped.
    pub fn to_html(&self) -> String {
        super::html::render(self)
    }
}
