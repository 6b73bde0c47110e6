//! Per-tenant secrets: the seam through which the collector obtains a
//! tenant's commitment key. The crypto-shredding key store implements it
//! persistently; [`MemorySecrets`] keeps keys in process memory.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use rand_core::OsRng;

use crate::commitment::CommitmentKey;
use crate::id::TenantId;

/// Errors of a tenant-secrets provider.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The tenant's keys were destroyed (crypto-shredded).
    #[error("keys of tenant {0} were destroyed")]
    Destroyed(TenantId),
    /// The provider failed.
    #[error("secret provider failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Supplies per-tenant secrets, creating them on first use.
pub trait TenantSecrets: Send + Sync {
    /// The tenant's commitment key.
    ///
    /// # Errors
    /// [`SecretError::Destroyed`] after shredding; [`SecretError::Backend`].
    fn commitment_key(&self, tenant: &TenantId) -> Result<Arc<CommitmentKey>, SecretError>;
}

/// Commitment keys in process memory, generated from the OS RNG on first use.
/// Lost at exit: use it for tests, or where commitments need never be confirmed.
#[derive(Default)]
pub struct MemorySecrets {
    keys: RwLock<HashMap<TenantId, Arc<CommitmentKey>>>,
}

impl MemorySecrets {
    /// An empty provider.
    pub fn new() -> MemorySecrets {
        MemorySecrets::default()
    }

    /// Installs a known key for `tenant` (tests, the seeded demo, imports).
    pub fn insert(&self, tenant: TenantId, key: CommitmentKey) {
        self.keys.write().insert(tenant, Arc::new(key));
    }
}

impl TenantSecrets for MemorySecrets {
    fn commitment_key(&self, tenant: &TenantId) -> Result<Arc<CommitmentKey>, SecretError> {
        if let Some(k) = self.keys.read().get(tenant) {
            return Ok(k.clone());
        }
        let mut w = self.keys.write();
        Ok(w.entry(tenant.clone())
            .or_insert_with(|| Arc::new(CommitmentKey::generate(&mut OsRng)))
            .clone())
    }
}

impl std::fmt::Debug for MemorySecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MemorySecrets({} tenants, keys redacted)",
            self.keys.read().len()
        )
    }
}
