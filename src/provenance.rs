//! Provenance records bound into a decision receipt (SPEC §4.1, §11.5): for
//! each source the decision used, its type, id, a keyed commitment to the
//! content and the trust level the application gave it. Being part of the
//! receipt, they are covered by its hash, signature and checkpoints.

use serde::{Deserialize, Serialize};

use crate::hash::Hash32;
use crate::id::ExternalId;

/// Most provenance records in one receipt.
pub const MAX_PROVENANCE: usize = 64;

/// What kind of source.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SourceType {
    /// A document (retrieval, RAG).
    Document,
    /// A web page.
    Web,
    /// A database row or query result.
    Database,
    /// An external API response.
    Api,
    /// The result of a tool call.
    Tool,
    /// Input from a user.
    User,
    /// Output of another model or agent.
    Model,
    /// Agent memory.
    Memory,
}

/// The trust the application placed in a source.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TrustLevel {
    /// First-party, controlled source.
    Trusted,
    /// Third-party source whose integrity was checked (signature, allow-list).
    Verified,
    /// Third-party source, not checked.
    Unverified,
    /// Known-untrusted input (e.g. arbitrary web content, user uploads).
    Untrusted,
}

/// One provenance record.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Keyed commitment, field name `provenance`, to the content used (SPEC §4.2).
    pub commitment: Hash32,
    /// The source's id (document id, URL digest, table/row, tool call id …).
    pub source: ExternalId,
    /// The kind of source.
    pub source_type: SourceType,
    /// The trust level.
    pub trust: TrustLevel,
}
