//! The store subcommands: argument structs, library calls, rendering.
//! Shared here: the configuration lookups (store, keys) and small helpers.

mod epoch;
mod export;
mod keygen;
mod read;
mod shred;
mod verify;

pub use epoch::{epoch, EpochCommand};
pub use export::{export, ExportArgs};
pub use keygen::{keygen, KeygenArgs};
pub use read::{
    checkpoint, inspect, list, prove, stats, CheckpointArgs, InspectArgs, ListArgs, ProveArgs,
    StatsArgs,
};
pub use shred::{shred, ShredArgs};
pub use verify::{verify, VerifyArgs};

use std::fs::File;
use std::path::{Path, PathBuf};

use ai_audit::cli::{CliError, OpenMode, OpenStore};
use ai_audit::{KeyRing, LocalSigner, TenantId, VerifierKey};

use crate::Ctx;
/// Largest verifier-key file read.
const MAX_KEY_FILE_BYTES: u64 = 4096;
/// Most entries one disclosure package holds (two files each).
const MAX_DISCLOSED: usize = 10_000;
/// `schema` of `ai-audit verify --json` on a store.
const STORE_REPORT_SCHEMA: &str = "ai-audit-verify-store/v1";

fn tenant_id(s: &str) -> Result<TenantId, CliError> {
    TenantId::new(s).map_err(|e| CliError::Invalid(format!("tenant {s:?}: {e}")))
}

fn open(ctx: &Ctx, mode: OpenMode) -> Result<(String, OpenStore), CliError> {
    let url = ctx.settings.store_url()?;
    let store = url.open(mode)?;
    Ok((url.to_string(), store))
}

/// The pinned keys: `--key` flags, else the configuration.
fn pinned(flags: &[String], ctx: &Ctx) -> Result<KeyRing, CliError> {
    let list = if flags.is_empty() {
        ctx.settings.verifier_keys()
    } else {
        flags
    };
    if list.is_empty() {
        return Err(CliError::NoVerifierKey);
    }
    list.iter()
        .map(|k| load_verifier_key(k))
        .collect::<Result<Vec<_>, _>>()
        .map(KeyRing::from_keys)
}

/// A verifier-key string, or a file holding one (as `ai-audit-verify --key`).
fn load_verifier_key(arg: &str) -> Result<VerifierKey, CliError> {
    if let Ok(k) = VerifierKey::parse(arg) {
        return Ok(k);
    }
    let what = format!("--key {arg:?}");
    let meta = std::fs::metadata(arg).map_err(|_| {
        CliError::Invalid(format!(
            "{what} is neither a verifier key nor a readable file"
        ))
    })?;
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(CliError::Invalid(format!(
            "key file {arg:?} is larger than {MAX_KEY_FILE_BYTES} bytes"
        )));
    }
    let text = std::fs::read_to_string(arg).map_err(|e| CliError::Io {
        path: PathBuf::from(arg),
        source: e,
    })?;
    VerifierKey::parse(text.trim_end()).map_err(|source| CliError::Key {
        what: format!("key file {arg:?}"),
        source,
    })
}

fn signing_key(ctx: &Ctx) -> Result<LocalSigner, CliError> {
    match ctx.settings.signing_key() {
        Some(Some(path)) => LocalSigner::from_file(path).map_err(|source| CliError::Key {
            what: format!("signing key {}", path.display()),
            source,
        }),
        Some(None) => LocalSigner::from_env().map_err(|source| CliError::Key {
            what: format!("signing key in {}", ai_audit::SIGNING_KEY_ENV),
            source,
        }),
        None => Err(CliError::NoSigningKey),
    }
}

/// The crypto-shredding key store of the opened store, under the configured KEK.
fn key_store(ctx: &Ctx, opened: &OpenStore) -> Result<ai_audit::KeyStore, CliError> {
    let kek = match ctx.settings.kek() {
        Some(Some(path)) => ai_audit::LocalKek::from_file(path)?,
        Some(None) => ai_audit::LocalKek::from_env()?,
        None => return Err(CliError::NoKek),
    };
    Ok(ai_audit::KeyStore::builder(std::sync::Arc::new(kek), opened.key_vault()).build())
}

/// An error and its causes, `: `-separated.
fn causes(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(c) = next {
        s.push_str(&format!(": {c}"));
        next = c.source();
    }
    s
}

/// `1 tenant`, `2 tenants`: `n` and the noun's singular or plural.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn refuse_existing(path: &Path, force: bool) -> Result<(), CliError> {
    if !force && path.exists() {
        return Err(CliError::Exists(path.to_owned()));
    }
    Ok(())
}

fn create(path: &Path) -> Result<File, CliError> {
    File::create(path).map_err(|e| CliError::Io {
        path: path.to_owned(),
        source: e,
    })
}
