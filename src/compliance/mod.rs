//! Compliance evidence computed from verified entries (SPEC §11.3):
//! framework crosswalks ([`crosswalk`]), the summary ([`summary`]) and its
//! Markdown, JSON and HTML renderings ([`ComplianceReport`]).

pub mod crosswalk;
mod html;
mod markdown;
mod report;
pub mod summary;

pub use crosswalk::{
    Control, ControlResult, Coverage, Crosswalk, CrosswalkResult, Evidence, Framework,
    FrameworkResult, IntegrityProperty, Status, WhenAbsent, BUILTIN_CROSSWALK,
};
pub use html::escape as escape_html;
pub use markdown::escape as escape_markdown;
pub use report::{ComplianceReport, REPORT_FORMAT};
pub use summary::Summary;

use crate::encoding::EncodingError;

/// Errors of the compliance module.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ComplianceError {
    /// A crosswalk template or override file is not valid.
    #[error("crosswalk template: {0}")]
    Template(String),
    /// A template file could not be read.
    #[error("reading a template file: {0}")]
    Io(String),
    /// A value could not be canonically encoded.
    #[error("encoding: {0}")]
    Encoding(#[from] EncodingError),
}
