//! Errors of the SQLite store, always carried inside
//! [`StoreError::Backend`] so that `rusqlite` types stay out of the API.

use crate::id::TenantId;
use crate::store::StoreError;

/// Why the SQLite store failed. It reaches callers boxed inside
/// [`StoreError::Backend`]; downcast the source to inspect it.
///
/// Messages name the operation, table or column, never entry contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// SQLite reported an error while doing `context`.
    #[error("sqlite: {context} failed: {source}")]
    Database {
        /// The operation, e.g. `"insert entry"`.
        context: &'static str,
        /// SQLite's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Another connection held the write lock for longer than the busy
    /// timeout ([`crate::SqliteOptions::busy_timeout`]). Nothing was
    /// written; retrying is safe.
    #[error("sqlite: {context}: database is locked (busy timeout elapsed)")]
    Busy {
        /// The operation.
        context: &'static str,
    },
    /// The file was written by a newer version of this library: its schema
    /// version is higher than any this code knows. It is not opened, so that
    /// an old binary never writes into a layout it does not understand.
    #[error("database schema version {found} is newer than the newest this library supports ({supported}); upgrade ai-audit")]
    SchemaTooNew {
        /// The version found in the file.
        found: i64,
        /// The newest version this code knows.
        supported: i64,
    },
    /// The file is an SQLite database, but not an ai-audit store.
    #[error("not an ai-audit store: {reason}")]
    NotAnAuditStore {
        /// What gave it away (application id, foreign tables).
        reason: String,
    },
    /// The journal could not be switched to WAL (e.g. on a file system
    /// without shared memory support).
    #[error("sqlite: WAL journal mode unavailable (journal mode is {mode})")]
    WalUnavailable {
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// `PRAGMA quick_check` / `integrity_check` found page-level damage. The
    /// store is not opened; restore from a copy or export what is readable
    /// with the `sqlite3` tool.
    #[error("sqlite integrity check failed: {detail}")]
    Integrity {
        /// SQLite's first report line(s) (page and index names, no contents).
        detail: String,
    },
    /// A stored column does not hold a valid value.
    #[error("stored {table}.{column} is invalid{}", tenant.as_ref().map(|t| format!(" for tenant {t}")).unwrap_or_default())]
    BadColumn {
        /// Table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// The tenant of the row, when known.
        tenant: Option<TenantId>,
    },
}

impl From<SqliteError> for StoreError {
    fn from(e: SqliteError) -> StoreError {
        StoreError::Backend(Box::new(e))
    }
}

/// Attaches an operation name to a `rusqlite` result.
pub(super) trait Context<T> {
    /// Maps the error to [`StoreError::Backend`] naming `context`.
    fn ctx(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, rusqlite::Error> {
    fn ctx(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|e| db_error(context, e))
    }
}

/// Wraps a `rusqlite` error, singling out lock timeouts.
pub(super) fn db_error(context: &'static str, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => SqliteError::Busy { context }.into(),
        _ => SqliteError::Database {
            context,
            source: Box::new(e),
        }
        .into(),
    }
}

/// A [`SqliteError::BadColumn`] as a [`StoreError`].
pub(super) fn bad_column(
    table: &'static str,
    column: &'static str,
    tenant: Option<&TenantId>,
) -> StoreError {
    SqliteError::BadColumn {
        table,
        column,
        tenant: tenant.cloned(),
    }
    .into()
}
