//! The package manifest (SPEC §8.3) and the text of its signed
//! note (SPEC §8.4). The manifest is JCS (RFC 8785), like every hashed or signed
//! JSON of the format, and is read with [`crate::encoding::decode_canonical`]
//! (strict: no duplicate keys, no unknown fields, one byte form).

use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::hash::Hash32;
use crate::id::{Epoch, LogName, Seq, TenantId};
use crate::keys::KeyId;
use crate::merkle::TreeSize;

/// The `format` value of a version-1 package manifest.
pub const PACKAGE_FORMAT: &str = "ai-audit-package/v1";

/// First line of the manifest's signed-note text; the second line is the
/// SHA-256 of `manifest.json` in lowercase hex.
pub const MANIFEST_NOTE_HEADER: &str = "ai-audit/v1/package-manifest";

/// What a package holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PackageKind {
    /// Whole epochs of one or more tenants, with checkpoints and
    /// consistency proofs.
    Log,
    /// A few receipts, each with its `tlog-proof` and checkpoint.
    Disclosure,
}

/// One file of the package, as listed in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// Name inside the ZIP (allow-listed).
    pub name: String,
    /// SHA-256 of the uncompressed bytes.
    pub sha256: Hash32,
    /// Uncompressed size in bytes.
    pub size: u64,
}

/// A checkpoint head listed in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// Epoch.
    pub epoch: Epoch,
    /// Tree size.
    pub size: TreeSize,
    /// Root hash.
    pub root: Hash32,
}

/// What the package holds of one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantRecord {
    /// Tenant.
    pub tenant: TenantId,
    /// Number of entries (receipts of every kind) in the package.
    pub entries: u64,
    /// Seq of the first entry.
    pub first_seq: Seq,
    /// Seq of the last entry.
    pub last_seq: Seq,
    /// The `prev` of the first entry (the genesis value when `first_seq` is 0).
    pub first_prev: Hash32,
    /// Epochs present (log packages), ascending.
    pub epochs: Vec<Epoch>,
    /// Every checkpoint in the package, by epoch then size.
    pub checkpoints: Vec<Head>,
}

/// The manifest: every other file of the package with its hash and size,
/// plus counts and heads. Field order is JCS order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Total entries over all tenants.
    pub entries: u64,
    /// Every file except `manifest.json` and `manifest.sig`, sorted by name.
    pub files: Vec<FileRecord>,
    /// [`PACKAGE_FORMAT`].
    pub format: String,
    /// What the package holds.
    pub kind: PackageKind,
    /// The log name.
    pub log: LogName,
    /// The producer: the name of the key that signed the manifest.
    pub producer: String,
    /// That key's id.
    pub producer_key_id: KeyId,
    /// Per tenant, sorted by tenant id.
    pub tenants: Vec<TenantRecord>,
}

impl Head {
    /// The head of a checkpoint in `epoch`.
    pub fn of(epoch: Epoch, cp: &Checkpoint) -> Head {
        Head {
            epoch,
            size: cp.size(),
            root: *cp.root(),
        }
    }
}

/// The text the log key signs (as a C2SP signed note) to sign a manifest:
/// `ai-audit/v1/package-manifest\n<sha256 hex of manifest.json>\n`.
pub fn manifest_note_text(manifest_bytes: &[u8]) -> String {
    format!(
        "{MANIFEST_NOTE_HEADER}\n{}\n",
        Hash32::digest(manifest_bytes).to_hex()
    )
}
