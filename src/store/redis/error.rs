//! Errors of the Redis store, always carried inside [`StoreError::Backend`]
//! so that `redis` types stay out of the API.

use crate::id::TenantId;
use crate::store::StoreError;

/// Why the Redis store failed. It reaches callers boxed inside
/// [`StoreError::Backend`]; downcast the source to inspect it.
///
/// Messages name the operation, key or field, never entry contents, and
/// never the connection URL (it may hold a password).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// The options or the URL given to [`crate::RedisStore::open`] are unusable.
    #[error("redis store configuration: {reason}")]
    Config {
        /// What is wrong (the URL itself is never repeated).
        reason: &'static str,
    },
    /// Redis could not be reached, or the connection broke or timed out
    /// while doing `context`. For an append the outcome is unknown: the
    /// batch may or may not be stored (it was not acknowledged; a later
    /// append reloads the head and finds out).
    #[error("redis: {context}: connection failed: {source}")]
    Connection {
        /// The operation, e.g. `"append"`.
        context: &'static str,
        /// The client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Redis answered `context` with an error (out of memory, read-only
    /// replica, missing permission, still loading its data set …). Nothing
    /// was written by the refused command.
    #[error("redis: {context} refused: {source}")]
    Server {
        /// The operation.
        context: &'static str,
        /// The server's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The client failed `context` for another reason (failed
    /// authentication, a reply of an unexpected type …).
    #[error("redis: {context}: client error: {source}")]
    Client {
        /// The operation.
        context: &'static str,
        /// The client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored value does not have the form this store writes.
    #[error("stored {key} value{} is invalid", tenant.as_ref().map(|t| format!(" of tenant {t}")).unwrap_or_default())]
    BadValue {
        /// The key kind (`"head"`, `"entries"`, `"epochs"` …).
        key: &'static str,
        /// The tenant, when known.
        tenant: Option<TenantId>,
    },
    /// The tenant's keys disagree with each other (e.g. entries stored past
    /// the head, or a head without all its fields): the data was changed
    /// outside this store. Nothing is written until an operator repairs it.
    #[error("redis keys of tenant {tenant} are inconsistent: {detail}")]
    Inconsistent {
        /// Tenant.
        tenant: TenantId,
        /// What disagrees.
        detail: &'static str,
    },
}

impl From<RedisError> for StoreError {
    fn from(e: RedisError) -> StoreError {
        StoreError::Backend(Box::new(e))
    }
}

/// Whether `e` means the connection is unusable (as opposed to an error
/// reply from a healthy server).
pub(super) fn is_connection_error(e: &redis::RedisError) -> bool {
    matches!(e.kind(), redis::ErrorKind::Io | redis::ErrorKind::Parse)
}

/// Whether `e` is worth one retry on a fresh connection: the pooled
/// connection was found dead (server restarted, idle connection closed),
/// not merely slow.
pub(super) fn is_stale_connection(e: &redis::RedisError) -> bool {
    is_connection_error(e) && !e.is_timeout()
}

/// Wraps a `redis` error.
pub(super) fn wrap(context: &'static str, e: redis::RedisError) -> StoreError {
    let kind = e.kind();
    let source = Box::new(e);
    match kind {
        redis::ErrorKind::Io | redis::ErrorKind::Parse => {
            RedisError::Connection { context, source }.into()
        }
        redis::ErrorKind::Server(_) | redis::ErrorKind::Extension => {
            RedisError::Server { context, source }.into()
        }
        _ => RedisError::Client { context, source }.into(),
    }
}

/// A [`RedisError::BadValue`] as a [`StoreError`].
pub(super) fn bad_value(key: &'static str, tenant: Option<&TenantId>) -> StoreError {
    RedisError::BadValue {
        key,
        tenant: tenant.cloned(),
    }
    .into()
}
