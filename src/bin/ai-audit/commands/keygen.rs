//! `ai-audit keygen`: a new log key.

use std::path::{Path, PathBuf};

use ai_audit::cli::CliError;
use ai_audit::{LocalSigner, LogName};
use clap::Args;
use serde::Serialize;

use crate::output::{print, print_json};
use crate::{Ctx, Outcome};

use super::refuse_existing;

/// Flags of `ai-audit keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// The log's name, e.g. audit.example.com/log (default: `log` in the
    /// config or AI_AUDIT_LOG). It names the key in every signature.
    #[arg(long, value_name = "LOG")]
    name: Option<String>,
    /// The secret key file to write (mode 0600). The verifier key goes
    /// next to it with the extension .vkey.
    #[arg(long, value_name = "FILE", default_value = "ai-audit.key")]
    out: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
}

#[derive(Serialize)]
struct KeygenOut<'a> {
    key_file: &'a Path,
    verifier_key_file: &'a Path,
    verifier_key: String,
    key_id: String,
}

/// `ai-audit keygen`.
pub fn keygen(a: &KeygenArgs, ctx: &Ctx) -> Result<Outcome, CliError> {
    let name = a
        .name
        .as_deref()
        .or(ctx.settings.log())
        .ok_or_else(|| CliError::Invalid("keygen needs --name LOG (the log's name)".into()))?;
    let name =
        LogName::new(name).map_err(|e| CliError::Invalid(format!("log name {name:?}: {e}")))?;
    let vkey_file = a.out.with_extension("vkey");
    if vkey_file == a.out {
        return Err(CliError::Invalid(
            "--out must not end in .vkey (that is where the verifier key goes)".into(),
        ));
    }
    refuse_existing(&a.out, a.force)?;
    refuse_existing(&vkey_file, a.force)?;
    let signer = LocalSigner::generate(name.as_str()).map_err(|source| CliError::Key {
        what: "new key".into(),
        source,
    })?;
    if a.force {
        for p in [&a.out, &vkey_file] {
            if p.exists() {
                std::fs::remove_file(p).map_err(|e| CliError::Io {
                    path: p.clone(),
                    source: e,
                })?;
            }
        }
    }
    signer
        .write_key_file(&a.out)
        .map_err(|source| CliError::Key {
            what: format!("writing {}", a.out.display()),
            source,
        })?;
    let vkey = ai_audit::Signer::verifier_key(&signer).clone();
    std::fs::write(&vkey_file, format!("{vkey}\n")).map_err(|e| CliError::Io {
        path: vkey_file.clone(),
        source: e,
    })?;
    if ctx.json {
        print_json(&KeygenOut {
            key_file: &a.out,
            verifier_key_file: &vkey_file,
            verifier_key: vkey.to_string(),
            key_id: vkey.id().to_string(),
        })?;
    } else {
        print(&format!(
            "secret key:   {} (mode 0600; keep it secret, never send it)\n\
             verifier key: {} (give this to auditors, by another channel)\n\
             {vkey}\n",
            a.out.display(),
            vkey_file.display()
        ));
    }
    Ok(Outcome::Ok)
}
