//! Evidence packages (SPEC §8): a ZIP holding a log export or a
//! selective disclosure, with a manifest signed by the log key, and the
//! strict reader and verifier an auditor runs on it.
//!
//! * [`export_package`] / [`export_disclosure`] write a package from any
//!   [`crate::Store`], streaming (memory bounded by one read chunk and one
//!   epoch's leaf hashes).
//! * [`verify_package`] reads a package that is fully attacker-controlled:
//!   allow-listed names only, every byte of the archive accounted for, caps
//!   on sizes, counts and compression ratios, nothing written to disk, keys
//!   only from the caller. It returns a [`PackageReport`]; a package that
//!   fails a check is a report with failures, never an `Err`.

mod export;
mod lines;
mod manifest;
mod name;
mod pipeline;
mod read;
mod render;
mod reports;
mod verify;

pub use export::{
    export_disclosure, export_package, export_package_with_reports, ExportSummary, Scope,
    READ_CHUNK,
};
pub use manifest::{
    manifest_note_text, FileRecord, Head, Manifest, PackageKind, TenantRecord,
    MANIFEST_NOTE_HEADER, PACKAGE_FORMAT,
};
pub use name::{FileName, ReportFormat, CROSSWALK, MANIFEST, MANIFEST_SIG, PRODUCER_KEY, README};
pub use read::{
    MAX_ARCHIVE_BYTES, MAX_FILES, MAX_FILE_BYTES, MAX_LINE_BYTES, MAX_MANIFEST_BYTES, MAX_RATIO,
    MAX_SMALL_FILE_BYTES, MAX_TOTAL_BYTES, RATIO_FLOOR_BYTES,
};
pub use render::{headline, render_human, render_json, JSON_SCHEMA, MAX_HUMAN_FAILURES};
pub use reports::ReportOptions;
#[cfg(feature = "cli")]
pub(crate) use verify::explain_unknown_keys;
pub use verify::{
    verify_package, verify_package_with, PackageReport, PackageSummary, Progress, TenantSummary,
    VerifyOptions,
};

use crate::keys::KeyError;
use crate::note::NoteError;
use crate::store::StoreError;

/// Errors of exporting or of reading a package. For verification, an `Err`
/// means the checks could not run (the file could not be read); a defective
/// package is a [`PackageReport`] with failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// Reading or writing the archive failed.
    #[error("package I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The store failed while exporting.
    #[error("store failed while exporting: {0}")]
    Store(#[from] StoreError),
    /// Signing the manifest failed.
    #[error("signing the manifest failed: {0}")]
    Sign(#[from] NoteError),
    /// A key could not be used.
    #[error("key: {0}")]
    Key(#[from] KeyError),
    /// What was asked cannot be exported (unknown tenant, empty range,
    /// an entry not covered by a checkpoint …); the message says what.
    #[error("cannot export: {0}")]
    Scope(String),
    /// The ZIP writer failed.
    #[error("writing the ZIP failed: {0}")]
    Zip(#[source] Box<dyn std::error::Error + Send + Sync>),
}
