//! The key layout of the Redis store (docs/STORAGE.md, "Redis").
//!
//! Every key of one tenant carries the hash tag `{<prefix>:<tenant>}`, so
//! on Redis Cluster all of them live in one slot and a script may touch them
//! together. Only the tenant index, `<prefix>:tenants`, is elsewhere.

use super::error::RedisError;
use crate::id::{Epoch, TenantId};

/// The longest key prefix accepted.
pub(super) const MAX_PREFIX_LEN: usize = 64;

/// Checks a key prefix: 1–64 bytes of `[A-Za-z0-9._:-]`. Braces (hash tag
/// delimiters) and glob characters are refused, so that the prefix can
/// neither move a key to another slot nor widen a `SCAN`/ACL pattern.
pub(super) fn check_prefix(prefix: &str) -> Result<(), RedisError> {
    if prefix.is_empty() || prefix.len() > MAX_PREFIX_LEN {
        return Err(RedisError::Config {
            reason: "key prefix must be 1 to 64 bytes",
        });
    }
    let ok = prefix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(RedisError::Config {
            reason: "key prefix may only hold ASCII letters, digits, '.', '_', ':' and '-'",
        })
    }
}

/// The keys of one tenant.
pub(super) struct TenantKeys {
    /// HASH `seq`, `hash` (hex), `epoch`: the chain head.
    pub head: String,
    /// HASH seq → canonical entry line.
    pub entries: String,
    /// HASH epoch → seq of the epoch's first entry.
    pub epochs: String,
    /// HASH epoch → number of stored entries of the epoch.
    pub epoch_sizes: String,
    /// Key name up to the epoch of a checkpoints HASH (see [`TenantKeys::checkpoints`]).
    checkpoints: String,
}

impl TenantKeys {
    /// The keys of `tenant` under `prefix`.
    pub fn new(prefix: &str, tenant: &TenantId) -> TenantKeys {
        let tag = format!("{{{prefix}:{}}}", tenant.as_str());
        TenantKeys {
            head: format!("{tag}:head"),
            entries: format!("{tag}:entries"),
            epochs: format!("{tag}:epochs"),
            epoch_sizes: format!("{tag}:epoch-sizes"),
            checkpoints: format!("{tag}:checkpoints:"),
        }
    }

    /// HASH tree size → signed note, one per epoch.
    pub fn checkpoints(&self, epoch: Epoch) -> String {
        format!("{}{}", self.checkpoints, epoch.0)
    }
}

/// The SET of tenant ids: an index for [`crate::Store::tenants`], in another
/// slot than the tenants' keys.
pub(super) fn tenants_key(prefix: &str) -> String {
    format!("{prefix}:tenants")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tenant_key_carries_the_hash_tag() {
        let t = TenantId::new("acme").unwrap();
        let k = TenantKeys::new("ai-audit", &t);
        for key in [
            &k.head,
            &k.entries,
            &k.epochs,
            &k.epoch_sizes,
            &k.checkpoints(Epoch(7)),
        ] {
            assert!(key.starts_with("{ai-audit:acme}:"), "{key}");
        }
        assert_eq!(k.checkpoints(Epoch(7)), "{ai-audit:acme}:checkpoints:7");
        assert_eq!(tenants_key("ai-audit"), "ai-audit:tenants");
    }

    #[test]
    fn prefixes_that_could_escape_the_layout_are_refused() {
        for ok in ["ai-audit", "prod:eu-1", "A_b.c"] {
            assert!(check_prefix(ok).is_ok(), "{ok}");
        }
        let long = "x".repeat(MAX_PREFIX_LEN + 1);
        for bad in [
            "", "a{b", "a}b", "a*", "a?", "a[b]", "a b", "a\\b", "é", &long,
        ] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }
}
