//! Configuration layers of the operator binary. Precedence, highest first:
//!
//! 1. command-line flags (`--store`, `--signing-key`, `--kek`, `--key`, `--log`);
//! 2. environment variables ([`STORE_ENV`], [`SIGNING_KEY_FILE_ENV`] — or
//!    the key itself in [`crate::SIGNING_KEY_ENV`] —, [`KEK_FILE_ENV`] — or
//!    the KEK itself in [`crate::shred::KEK_ENV`] —, [`VERIFIER_KEYS_ENV`],
//!    [`LOG_ENV`]);
//! 3. the TOML config file: `--config FILE`, else [`CONFIG_ENV`], else
//!    [`DEFAULT_CONFIG_FILE`] in the current folder if it exists.
//!
//! Each setting is taken from the highest layer that sets it; a list
//! (`verifier_keys`) is taken whole from one layer, never merged. Relative
//! paths in the config file are relative to the file's folder.
//!
//! ```toml
//! store = "sqlite://audit.db"
//! signing_key_file = "log.key"
//! verifier_keys = ["log.vkey"]
//! kek_file = "kek.key"
//! log = "audit.example.com/log"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{CliError, StoreUrl};
use crate::keys::VerifierKey;

/// Environment variable naming the store URL.
pub const STORE_ENV: &str = "AI_AUDIT_STORE";
/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "AI_AUDIT_CONFIG";
/// Environment variable naming the signing key file.
pub const SIGNING_KEY_FILE_ENV: &str = "AI_AUDIT_SIGNING_KEY_FILE";
/// Environment variable with pinned verifier keys (strings or files),
/// separated by commas or white space.
pub const VERIFIER_KEYS_ENV: &str = "AI_AUDIT_VERIFIER_KEYS";
/// Environment variable naming the key-encryption key file (KEK) of the
/// crypto-shredding key store (used by `shred` and `inspect --decrypt`).
pub const KEK_FILE_ENV: &str = "AI_AUDIT_KEK_FILE";
/// Environment variable with the log name (used by `keygen`).
pub const LOG_ENV: &str = "AI_AUDIT_LOG";
/// The config file read when present in the current folder.
pub const DEFAULT_CONFIG_FILE: &str = "ai-audit.toml";

/// Largest config file read.
const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// The settings of one source (flags, environment or config file).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layer {
    /// Store URL, and the folder a relative SQLite path is relative to.
    pub store: Option<(String, Option<PathBuf>)>,
    /// Signing key file.
    pub signing_key_file: Option<PathBuf>,
    /// Whether the signing key itself is in [`crate::SIGNING_KEY_ENV`].
    pub signing_key_in_env: bool,
    /// Pinned verifier keys: key strings or key files.
    pub verifier_keys: Vec<String>,
    /// Log name.
    pub log: Option<String>,
    /// Key-encryption key (KEK) file.
    pub kek_file: Option<PathBuf>,
    /// Whether the KEK itself is in [`crate::shred::KEK_ENV`].
    pub kek_in_env: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    store: Option<String>,
    signing_key_file: Option<PathBuf>,
    verifier_keys: Option<Vec<String>>,
    log: Option<String>,
    kek_file: Option<PathBuf>,
}

impl Layer {
    /// The environment layer, reading variables through `get` (tests pass
    /// a map; the binary passes `std::env::var`).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Layer {
        let nonempty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        Layer {
            store: nonempty(STORE_ENV).map(|s| (s, None)),
            signing_key_file: nonempty(SIGNING_KEY_FILE_ENV).map(PathBuf::from),
            signing_key_in_env: nonempty(crate::keys::SIGNING_KEY_ENV).is_some(),
            verifier_keys: nonempty(VERIFIER_KEYS_ENV)
                .map(|v| {
                    v.split(|c: char| c == ',' || c.is_whitespace())
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            log: nonempty(LOG_ENV),
            kek_file: nonempty(KEK_FILE_ENV).map(PathBuf::from),
            kek_in_env: nonempty(crate::shred::KEK_ENV).is_some(),
        }
    }

    /// Parses a config file's text; `path` is where it was read (relative
    /// paths in it are resolved against its folder).
    ///
    /// # Errors
    /// [`CliError::Config`] for invalid TOML, an unknown key or a wrong type.
    pub fn from_toml(path: &Path, text: &str) -> Result<Layer, CliError> {
        let cfg: FileConfig = toml::from_str(text).map_err(|e| CliError::Config {
            path: path.to_owned(),
            reason: e.message().to_owned(),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let rel = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };
        Ok(Layer {
            store: cfg.store.map(|s| (s, Some(base.clone()))),
            signing_key_file: cfg.signing_key_file.map(rel),
            signing_key_in_env: false,
            verifier_keys: cfg
                .verifier_keys
                .unwrap_or_default()
                .into_iter()
                .map(|k| {
                    if VerifierKey::parse(&k).is_ok() || Path::new(&k).is_absolute() {
                        k
                    } else {
                        base.join(k).to_string_lossy().into_owned()
                    }
                })
                .collect(),
            log: cfg.log,
            kek_file: cfg.kek_file.map(rel),
            kek_in_env: false,
        })
    }

    /// Reads the config file: `explicit` (from `--config` or
    /// [`CONFIG_ENV`]) must exist; otherwise [`DEFAULT_CONFIG_FILE`] in
    /// `cwd` is read if present.
    ///
    /// # Errors
    /// [`CliError::Config`] when an explicit file is missing, or a file is
    /// unreadable, too large or invalid.
    pub fn load_file(explicit: Option<&Path>, cwd: &Path) -> Result<Option<Layer>, CliError> {
        let path = match explicit {
            Some(p) => p.to_owned(),
            None => {
                let p = cwd.join(DEFAULT_CONFIG_FILE);
                if !p.is_file() {
                    return Ok(None);
                }
                p
            }
        };
        let err = |reason: String| CliError::Config {
            path: path.clone(),
            reason,
        };
        let meta = std::fs::metadata(&path).map_err(|e| err(e.to_string()))?;
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(err(format!("larger than {MAX_CONFIG_BYTES} bytes")));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
        Layer::from_toml(&path, &text).map(Some)
    }
}

/// The resolved settings: each from the highest layer that has it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    merged: Layer,
}

impl Settings {
    /// Merges `layers`, highest precedence first.
    pub fn resolve(layers: impl IntoIterator<Item = Layer>) -> Settings {
        let mut m = Layer::default();
        let (mut key_set, mut kek_set) = (false, false);
        for l in layers {
            if !kek_set && (l.kek_file.is_some() || l.kek_in_env) {
                // As for the signing key: a file beats the key at the same layer.
                m.kek_in_env = l.kek_file.is_none();
                m.kek_file = l.kek_file.clone();
                kek_set = true;
            }
            m.store = m.store.or(l.store);
            if !key_set && (l.signing_key_file.is_some() || l.signing_key_in_env) {
                // A key file beats the key itself at the same layer.
                m.signing_key_in_env = l.signing_key_file.is_none();
                m.signing_key_file = l.signing_key_file;
                key_set = true;
            }
            if m.verifier_keys.is_empty() {
                m.verifier_keys = l.verifier_keys;
            }
            m.log = m.log.or(l.log);
        }
        Settings { merged: m }
    }

    /// The store URL.
    ///
    /// # Errors
    /// [`CliError::NoStoreConfigured`]; [`CliError::BadUrl`].
    pub fn store_url(&self) -> Result<StoreUrl, CliError> {
        let (raw, base) = self
            .merged
            .store
            .as_ref()
            .ok_or(CliError::NoStoreConfigured)?;
        let url = StoreUrl::parse(raw)?;
        Ok(match base {
            Some(b) => url.relative_to(b),
            None => url,
        })
    }

    /// Where the signing key is: `Some(Some(file))`, `Some(None)` for the
    /// key in [`crate::SIGNING_KEY_ENV`], `None` when not configured.
    pub fn signing_key(&self) -> Option<Option<&Path>> {
        match (
            &self.merged.signing_key_file,
            self.merged.signing_key_in_env,
        ) {
            (Some(f), _) => Some(Some(f.as_path())),
            (None, true) => Some(None),
            (None, false) => None,
        }
    }

    /// Where the KEK is: `Some(Some(file))`, `Some(None)` for the KEK in
    /// [`crate::shred::KEK_ENV`], `None` when not configured.
    pub fn kek(&self) -> Option<Option<&Path>> {
        match (&self.merged.kek_file, self.merged.kek_in_env) {
            (Some(f), _) => Some(Some(f.as_path())),
            (None, true) => Some(None),
            (None, false) => None,
        }
    }

    /// The pinned verifier keys (strings or files), as configured.
    pub fn verifier_keys(&self) -> &[String] {
        &self.merged.verifier_keys
    }

    /// The log name, if configured.
    pub fn log(&self) -> Option<&str> {
        self.merged.log.as_deref()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Layer {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Layer::from_env(|k| m.get(k).cloned())
    }

    #[test]
    fn flags_beat_environment_beat_file() {
        let file = Layer::from_toml(
            Path::new("/etc/ai-audit/ai-audit.toml"),
            "store = \"sqlite://file.db\"\nlog = \"file/log\"\nsigning_key_file = \"k.key\"\nverifier_keys = [\"a.vkey\"]\n",
        )
        .unwrap();
        let e = env(&[
            (STORE_ENV, "sqlite://env.db"),
            (VERIFIER_KEYS_ENV, "x.vkey, y.vkey"),
        ]);
        let flags = Layer {
            store: Some(("sqlite://flag.db".into(), None)),
            ..Layer::default()
        };
        let s = Settings::resolve([flags.clone(), e.clone(), file.clone()]);
        assert_eq!(s.store_url().unwrap(), StoreUrl::Sqlite("flag.db".into()));
        assert_eq!(s.verifier_keys(), ["x.vkey", "y.vkey"]);
        assert_eq!(s.log(), Some("file/log"));
        assert_eq!(
            s.signing_key(),
            Some(Some(Path::new("/etc/ai-audit/k.key")))
        );
        let s = Settings::resolve([Layer::default(), e, file.clone()]);
        assert_eq!(s.store_url().unwrap(), StoreUrl::Sqlite("env.db".into()));
        let s = Settings::resolve([Layer::default(), Layer::default(), file]);
        assert_eq!(
            s.store_url().unwrap(),
            StoreUrl::Sqlite("/etc/ai-audit/file.db".into())
        );
        assert_eq!(s.verifier_keys(), ["/etc/ai-audit/a.vkey"]);
    }

    #[test]
    fn a_key_in_the_environment_beats_a_file_in_the_config() {
        let file = Layer::from_toml(Path::new("c.toml"), "signing_key_file = \"k.key\"").unwrap();
        let e = env(&[(crate::keys::SIGNING_KEY_ENV, "PRIVATE+KEY+…")]);
        assert_eq!(Settings::resolve([e, file]).signing_key(), Some(None));
        assert_eq!(Settings::resolve([Layer::default()]).signing_key(), None);
    }

    #[test]
    fn the_kek_resolves_like_the_signing_key() {
        let file = Layer::from_toml(Path::new("/etc/a/c.toml"), "kek_file = \"kek.key\"").unwrap();
        assert_eq!(
            Settings::resolve([Layer::default(), file.clone()]).kek(),
            Some(Some(Path::new("/etc/a/kek.key")))
        );
        let e = env(&[(crate::shred::KEK_ENV, "00")]);
        assert_eq!(Settings::resolve([e, file.clone()]).kek(), Some(None));
        let both = env(&[(crate::shred::KEK_ENV, "00"), (KEK_FILE_ENV, "k2")]);
        assert_eq!(
            Settings::resolve([both, file]).kek(),
            Some(Some(Path::new("k2")))
        );
        assert_eq!(Settings::resolve([Layer::default()]).kek(), None);
    }

    #[test]
    fn nothing_configured_is_a_clear_error() {
        let s = Settings::resolve([Layer::default(), env(&[(STORE_ENV, "  ")])]);
        assert!(matches!(s.store_url(), Err(CliError::NoStoreConfigured)));
    }

    #[test]
    fn bad_config_files_name_the_problem() {
        for (text, why) in [
            ("store = 1", "invalid type"),
            ("stroe = \"sqlite://a\"", "unknown field"),
            ("store = ", "string"),
        ] {
            let e = Layer::from_toml(Path::new("c.toml"), text).unwrap_err();
            assert!(matches!(e, CliError::Config { .. }), "{text}");
            assert!(e.to_string().to_lowercase().contains(why), "{text}: {e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let e = Layer::load_file(Some(&dir.path().join("none.toml")), dir.path()).unwrap_err();
        assert!(matches!(e, CliError::Config { .. }));
        assert_eq!(Layer::load_file(None, dir.path()).unwrap(), None);
        std::fs::write(dir.path().join(DEFAULT_CONFIG_FILE), "log = \"a/b\"").unwrap();
        let l = Layer::load_file(None, dir.path()).unwrap().unwrap();
        assert_eq!(l.log.as_deref(), Some("a/b"));
    }
}
