//! `--store URL`: which backend, and where.
//!
//! | URL | backend |
//! |---|---|
//! | `sqlite://PATH` | [`crate::SqliteStore`] at `PATH` (relative to the current folder; `sqlite:///abs/path` for an absolute one) |
//! | `redis://[user:password@]HOST:PORT[/DB][?prefix=P]` | `RedisStore` (feature `redis`), keys under prefix `P` (default `ai-audit`) |
//! | `memory:` | [`crate::MemoryStore`], empty, gone when the process exits (for trying things) |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::CliError;
use crate::store::{MemoryStore, SqliteOptions, SqliteStore, Store};

/// A parsed `--store` URL.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreUrl {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A Redis server: the connection URL (without the query) and the key prefix.
    Redis {
        /// `redis://…` as given to the client.
        url: String,
        /// Key prefix (`prefix=` in the query), if set.
        prefix: Option<String>,
    },
    /// A process-local memory store.
    Memory,
}

impl std::fmt::Debug for StoreUrl {
    /// Never prints a Redis password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

impl std::fmt::Display for StoreUrl {
    /// The URL, with any Redis credentials replaced by `***`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreUrl::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            StoreUrl::Redis { url, prefix } => {
                f.write_str(&redact(url))?;
                match prefix {
                    Some(p) => write!(f, "?prefix={p}"),
                    None => Ok(()),
                }
            }
            StoreUrl::Memory => f.write_str("memory:"),
        }
    }
}

/// `scheme://user:pass@rest` → `scheme://***@rest`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

/// Whether a store must exist already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Reading commands: a missing SQLite file is [`CliError::MissingStore`]
    /// (never silently created empty).
    Existing,
    /// Create the SQLite file if it is missing.
    Create,
}

/// An opened store, keeping its concrete type for backend-specific calls.
#[derive(Clone)]
#[non_exhaustive]
pub enum OpenStore {
    /// SQLite.
    Sqlite(Arc<SqliteStore>),
    /// Redis.
    #[cfg(feature = "redis")]
    Redis(Arc<crate::store::RedisStore>),
    /// Memory.
    Memory(Arc<MemoryStore>),
}

impl std::fmt::Debug for OpenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OpenStore::Sqlite(_) => "OpenStore(sqlite)",
            #[cfg(feature = "redis")]
            OpenStore::Redis(_) => "OpenStore(redis)",
            OpenStore::Memory(_) => "OpenStore(memory)",
        })
    }
}

impl OpenStore {
    /// The store behind the [`Store`] trait.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            OpenStore::Sqlite(s) => s.clone(),
            #[cfg(feature = "redis")]
            OpenStore::Redis(s) => s.clone(),
            OpenStore::Memory(s) => s.clone(),
        }
    }

    /// The crypto-shredding key vault of the store: the same SQLite file or
    /// Redis database; an empty in-process vault for `memory:`.
    pub fn key_vault(&self) -> Arc<dyn crate::shred::KeyVault> {
        match self {
            OpenStore::Sqlite(s) => s.clone(),
            #[cfg(feature = "redis")]
            OpenStore::Redis(s) => s.clone(),
            OpenStore::Memory(_) => Arc::new(crate::shred::MemoryVault::new()),
        }
    }
}

impl StoreUrl {
    /// Parses a store URL.
    ///
    /// # Errors
    /// [`CliError::BadUrl`] for an unknown scheme, an empty path, a Redis
    /// URL without host or with a bad port, database or query, or a Redis
    /// URL in a build without the `redis` feature.
    pub fn parse(s: &str) -> Result<StoreUrl, CliError> {
        let bad = |reason: &str| CliError::BadUrl {
            url: redact(s),
            reason: reason.to_owned(),
        };
        if s == "memory:" || s == "memory://" {
            return Ok(StoreUrl::Memory);
        }
        if let Some(path) = s.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(bad("no file path after sqlite://"));
            }
            if path.contains('?') {
                return Err(bad("sqlite URLs take no query"));
            }
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        if s.starts_with("redis://") || s.starts_with("rediss://") {
            return parse_redis(s).map_err(|r| bad(&r));
        }
        match s.split_once(':') {
            Some((scheme, _)) if !scheme.is_empty() && !scheme.contains('/') => {
                Err(bad(&format!("unknown scheme {scheme:?}")))
            }
            _ => Err(bad("not a URL (a file needs sqlite://PATH)")),
        }
    }

    /// Resolves a relative SQLite path against `base` (the folder of the
    /// config file that named it).
    pub fn relative_to(self, base: &Path) -> StoreUrl {
        match self {
            StoreUrl::Sqlite(p) if p.is_relative() => StoreUrl::Sqlite(base.join(p)),
            other => other,
        }
    }

    /// Opens the store.
    ///
    /// # Errors
    /// [`CliError::MissingStore`] for a missing SQLite file in
    /// [`OpenMode::Existing`]; [`CliError::Store`] when the backend refuses
    /// (not an audit store, damaged, unreachable).
    pub fn open(&self, mode: OpenMode) -> Result<OpenStore, CliError> {
        match self {
            StoreUrl::Sqlite(path) => {
                if mode == OpenMode::Existing && !path.is_file() {
                    return Err(CliError::MissingStore(path.clone()));
                }
                Ok(OpenStore::Sqlite(Arc::new(SqliteStore::open(
                    path,
                    SqliteOptions::default(),
                )?)))
            }
            StoreUrl::Memory => Ok(OpenStore::Memory(Arc::new(MemoryStore::new()))),
            #[cfg(feature = "redis")]
            StoreUrl::Redis { url, prefix } => {
                let mut options = crate::store::RedisOptions::default();
                if let Some(p) = prefix {
                    options = options.key_prefix(p.clone());
                }
                Ok(OpenStore::Redis(Arc::new(crate::store::RedisStore::open(
                    url, options,
                )?)))
            }
            #[cfg(not(feature = "redis"))]
            StoreUrl::Redis { .. } => Err(CliError::BadUrl {
                url: self.to_string(),
                reason: "this build has no Redis support (rebuild with --features redis)".into(),
            }),
        }
    }
}

/// Checks `redis://[user:password@]HOST:PORT[/DB][?prefix=P]`.
fn parse_redis(s: &str) -> Result<StoreUrl, String> {
    if !cfg!(feature = "redis") {
        return Err("this build has no Redis support (rebuild with --features redis)".into());
    }
    let (url, query) = match s.split_once('?') {
        Some((u, q)) => (u, Some(q)),
        None => (s, None),
    };
    let rest = url.split_once("://").map_or("", |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let (authority, db) = match rest.split_once('/') {
        Some((a, d)) => (a, Some(d)),
        None => (rest, None),
    };
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or("a Redis URL needs HOST:PORT")?;
    if host.is_empty() {
        return Err("no host".into());
    }
    port.parse::<u16>()
        .map_err(|_| format!("port {port:?} is not a number 0-65535"))?;
    if let Some(d) = db.filter(|d| !d.is_empty()) {
        d.parse::<u32>()
            .map_err(|_| format!("database {d:?} is not a number"))?;
    }
    let prefix = match query {
        None => None,
        Some(q) => match q.strip_prefix("prefix=") {
            Some(p) if !p.is_empty() && !p.contains('&') => Some(p.to_owned()),
            _ => return Err("the only query is prefix=NAME".into()),
        },
    };
    Ok(StoreUrl::Redis {
        url: url.to_owned(),
        prefix,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_the_three_backends() {
        assert_eq!(
            StoreUrl::parse("sqlite://a/b.db").unwrap(),
            StoreUrl::Sqlite(PathBuf::from("a/b.db"))
        );
        assert_eq!(
            StoreUrl::parse("sqlite:///tmp/x.db").unwrap(),
            StoreUrl::Sqlite(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(StoreUrl::parse("memory:").unwrap(), StoreUrl::Memory);
        if cfg!(feature = "redis") {
            assert_eq!(
                StoreUrl::parse("redis://127.0.0.1:6379/2?prefix=t1").unwrap(),
                StoreUrl::Redis {
                    url: "redis://127.0.0.1:6379/2".into(),
                    prefix: Some("t1".into())
                }
            );
        }
    }

    #[test]
    fn bad_urls_say_why() {
        for (url, why) in [
            ("audit.db", "not a URL"),
            ("postgres://h/db", "unknown scheme \"postgres\""),
            ("sqlite://", "no file path"),
            ("sqlite://a.db?mode=ro", "no query"),
        ] {
            let e = StoreUrl::parse(url).unwrap_err();
            assert!(matches!(e, CliError::BadUrl { .. }), "{url}");
            assert!(e.to_string().contains(why), "{url}: {e}");
        }
        if cfg!(feature = "redis") {
            for (url, why) in [
                ("redis://:6379", "no host"),
                ("redis://h:x/0", "port"),
                ("redis://h:6379/zero", "database"),
                ("redis://h:6379/0?db=1", "prefix="),
                ("redis://h", "HOST:PORT"),
            ] {
                let e = StoreUrl::parse(url).unwrap_err();
                assert!(e.to_string().contains(why), "{url}: {e}");
            }
        }
    }

    #[test]
    fn never_shows_a_redis_password() {
        let e = StoreUrl::parse("redis://u:hunter2@h:bad/0").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert_eq!(redact("redis://u:pw@h:1/0"), "redis://***@h:1/0");
    }

    #[test]
    fn relative_sqlite_paths_follow_the_config_file() {
        let u = StoreUrl::parse("sqlite://audit.db").unwrap();
        assert_eq!(
            u.relative_to(Path::new("/etc/ai-audit")),
            StoreUrl::Sqlite(PathBuf::from("/etc/ai-audit/audit.db"))
        );
        let abs = StoreUrl::parse("sqlite:///var/a.db").unwrap();
        assert_eq!(abs.clone().relative_to(Path::new("/etc")), abs);
    }

    #[test]
    fn a_missing_file_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("none.db");
        let e = StoreUrl::Sqlite(p.clone())
            .open(OpenMode::Existing)
            .unwrap_err();
        assert!(matches!(e, CliError::MissingStore(_)));
        assert!(!p.exists());
        StoreUrl::Sqlite(p.clone()).open(OpenMode::Create).unwrap();
        assert!(p.exists());
    }
}
