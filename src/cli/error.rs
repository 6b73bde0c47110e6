//! The one error type of the operator tooling, each with a recommendation.

use std::path::PathBuf;

use crate::id::TenantId;
use crate::keys::KeyError;
use crate::log::LogError;
use crate::package::PackageError;
use crate::shred::ShredError;
use crate::store::StoreError;

/// Why an operator command could not run. Every variant carries what an
/// operator needs to fix it; [`CliError::recommendation`] says how.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// A `--store` URL that is not one of the supported forms.
    #[error("bad store URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No store was configured anywhere.
    #[error("no store configured")]
    NoStoreConfigured,
    /// The SQLite file named by the URL does not exist.
    #[error("no store at {0}")]
    MissingStore(PathBuf),
    /// The config file could not be read or parsed.
    #[error("config file {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A range argument (`--seqs`, `--time`, `--epochs`) is malformed.
    #[error("malformed range {input:?}: {reason}")]
    Range {
        /// The argument as given.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// The tenant has no entries in this store.
    #[error("unknown tenant {tenant}: the store has no entries for it")]
    UnknownTenant {
        /// The tenant asked for.
        tenant: TenantId,
    },
    /// No entry matched (`inspect`, `prove`).
    #[error("no such entry: {0}")]
    NoSuchEntry(String),
    /// A key (signing or verifier) could not be loaded or used.
    #[error("{what}: {source}")]
    Key {
        /// Which key, from where.
        what: String,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// The signing key is not the key the log signs with now.
    #[error(
        "signing key {key} is not the key tenant {tenant}'s log signs with now (key id {expected})"
    )]
    WrongKey {
        /// The key given (name and id).
        key: String,
        /// The tenant checked.
        tenant: TenantId,
        /// The key id of the log's current key.
        expected: crate::keys::KeyId,
    },
    /// A proof or checkpoint does not verify with the pinned keys.
    #[error("{0}")]
    NotVerified(String),
    /// No pinned verifier key was given.
    #[error("no verifier key pinned")]
    NoVerifierKey,
    /// No signing key was given.
    #[error("no signing key configured")]
    NoSigningKey,
    /// No key-encryption key (KEK) was given (`shred`, `inspect --decrypt`).
    #[error("no key-encryption key (KEK) configured")]
    NoKek,
    /// An irreversible command was not confirmed: no terminal to ask on
    /// and no `--yes`, or the operator did not answer `yes`.
    #[error("not confirmed: {0}")]
    NotConfirmed(String),
    /// Sealing, opening or shredding failed (already shredded, wrong KEK …).
    #[error(transparent)]
    Shred(#[from] ShredError),
    /// An output file exists already.
    #[error("{0} exists")]
    Exists(PathBuf),
    /// An argument is invalid (an identifier, a combination of flags …).
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Exporting or reading a package failed.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// Appending to the log (an epoch rollover) failed.
    #[error(transparent)]
    Log(#[from] LogError),
}

impl CliError {
    /// One line telling the operator what to do next.
    pub fn recommendation(&self) -> String {
        match self {
            CliError::BadUrl { .. } => "use sqlite://PATH, redis://HOST:PORT/DB (feature redis) or memory:".into(),
            CliError::NoStoreConfigured => format!(
                "pass --store URL, set {}, or put store = \"sqlite://PATH\" in {}",
                super::STORE_ENV,
                super::DEFAULT_CONFIG_FILE
            ),
            CliError::MissingStore(_) => {
                "check the path (relative paths start from the current folder, or the config file's folder); \
                 `ai-audit demo` creates a store to try things on".into()
            }
            CliError::Config { .. } => {
                "keys are store, signing_key_file, kek_file, verifier_keys and log (see `ai-audit --help`)".into()
            }
            CliError::Range { .. } => {
                "write FROM..TO (TO excluded), FROM..=TO, FROM.. or one value; times as 2026-11-22T09:00:00Z".into()
            }
            CliError::UnknownTenant { .. } => "`ai-audit stats` lists the tenants of the store".into(),
            CliError::NoSuchEntry(_) => "`ai-audit list --tenant T` shows the entries and their seqs".into(),
            CliError::Key { .. } => {
                "a verifier key is name+hexid+base64 (or a file holding one); a signing key file is written by \
                 `ai-audit keygen` and must have mode 0600".into()
            }
            CliError::WrongKey { .. } => {
                "use the log's current signing key (after a rotation: the new one); a key from `ai-audit keygen` \
                 starts a new log, it cannot sign for this one".into()
            }
            CliError::NotVerified(_) => {
                "pin the key that signs this log's checkpoints (after a rotation: both keys); \
                 `ai-audit verify` reports every defect of the store".into()
            }
            CliError::NoVerifierKey => format!(
                "pin the log's public key with --key VKEY (repeat for rotated keys), {} or verifier_keys in the config",
                super::VERIFIER_KEYS_ENV
            ),
            CliError::NoSigningKey => format!(
                "pass --signing-key FILE (from `ai-audit keygen`), set {} or {}, or signing_key_file in the config",
                super::SIGNING_KEY_FILE_ENV,
                crate::keys::SIGNING_KEY_ENV
            ),
            CliError::NoKek => format!(
                "pass --kek FILE (64 hex digits, mode 0600), set {} or {}, or kek_file in the config",
                super::KEK_FILE_ENV,
                crate::shred::KEK_ENV
            ),
            CliError::NotConfirmed(_) => {
                "run it on a terminal and answer yes, or pass --yes (scripts) once you are sure".into()
            }
            CliError::Shred(ShredError::Shredded { .. }) => {
                "shredding is irreversible and done once; `ai-audit list --kind shred` shows the tombstones".into()
            }
            CliError::Shred(ShredError::Kek(_) | ShredError::KekMismatch { .. }) => {
                "use the KEK the store's keys were wrapped under (the one the collector runs with)".into()
            }
            CliError::Shred(_) => "check the KEK and the store; `ai-audit verify` checks the entries".into(),
            CliError::Exists(_) => "pass --force to overwrite it, or choose another path".into(),
            CliError::Invalid(_) => "see `ai-audit help <command>`".into(),
            CliError::Io { .. } => "check that the path exists and is readable (or writable)".into(),
            CliError::Store(_) => "check that the store is reachable and not damaged; `ai-audit verify` checks its integrity".into(),
            CliError::Package(PackageError::Scope(_)) => {
                "`ai-audit stats` shows each tenant's epochs and seqs; only sealed entries can be disclosed".into()
            }
            CliError::Package(_) => "check the output path and the store".into(),
            CliError::Log(_) => "check the store and the signing key".into(),
        }
    }
}
