#![cfg_attr(feature = "collector", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "collector"),
    doc = "Tamper-evident AI decision receipts: the format, keys and verification (built without the collector). See README.md."
)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod body;
mod chain;
mod checkpoint;
#[cfg(feature = "cli")]
pub mod cli;
mod clock;
#[cfg(feature = "collector")]
mod collector;
mod commitment;
pub mod compliance;
mod contract;
#[cfg(all(feature = "collector", feature = "sqlite"))]
pub mod demo;
pub mod encoding;
mod entry;
mod hash;
mod id;
mod keys;
mod log;
pub mod merkle;
pub mod monitor;
mod note;
pub mod package;
#[cfg(feature = "collector")]
pub mod pii;
mod pipeline;
mod provenance;
mod random;
mod receipt;
mod report;
mod secret;
mod segment;
pub mod shred;
mod store;
mod trace;
mod verified;

// The public surface, module by module.
//
// Entries and their bodies:
pub use body::{
    Body, EntryKind, EpochLink, FlagOutcome, HumanOversight, KeyRotation, OversightOutcome,
    PolicyFlag, StoreRepair, ToolCall, ToolStatus,
};
#[doc(hidden)]
pub use entry::entry_line_readers_agree;
pub use entry::{
    envelope_schema, genesis, signature_message, Entry, EntryError, Header, SigningMode,
};
pub use provenance::{Provenance, SourceType, TrustLevel, MAX_PROVENANCE};
pub use receipt::{
    Action, Check, DecisionReceipt, Finite, Metrics, ModelRef, PiiCount, MAX_TEXT_BYTES,
};
// Identifiers, digests, time:
pub use clock::{Clock, ManualClock, SystemClock, TimeError, Timestamp};
pub use hash::{Hash32, HashError};
pub use id::{Code, EntryId, Epoch, ExternalId, IdError, LogName, Seq, TenantId};
pub use random::{OsRandom, RandomSource, SeededRandom};
// Keys and secrets:
pub use commitment::CommitmentKey;
pub use keys::{
    KeyError, KeyId, KeyRing, LocalSigner, Signature, Signer, VerifierKey, SIGNING_KEY_ENV,
};
pub use secret::{MemorySecrets, SecretError, TenantSecrets};
// Crypto-shredding (module `shred` holds the format types and the cipher):
pub use shred::{
    KeyProvider, KeySlot, KeyStore, KeyStoreBuilder, KeyVault, LocalKek, MemoryVault, SealedField,
    Shred, ShredError, ShredScope, SlotState, SubjectRef, KEK_ENV,
};
// Appending and storing:
pub use log::{AuditLog, AuditLogBuilder, EpochArchive, LogError, SealPolicy, Sealer};
pub use pipeline::{Pipeline, PipelineConfig, PipelineError, Ticket, WhenFull};
pub use store::{
    check_append, check_deletable, ChainHead, MemoryStore, Store, StoreError, StoredCheckpoint,
};
#[cfg(feature = "sqlite")]
pub use store::{EntryFilter, Repair, RepairReason, SqliteError, SqliteOptions, SqliteStore};
#[cfg(feature = "redis")]
pub use store::{RedisError, RedisOptions, RedisStore};
// Merkle log, signed notes, checkpoints, proof files:
pub use checkpoint::{
    note_hash, origin, parse_origin, Checkpoint, CheckpointError, InclusionProofFile, ProofLeaf,
    SignedCheckpoint,
};
pub use merkle::{ConsistencyProof, InclusionProof, LeafIndex, MerkleError, MerkleTree, TreeSize};
pub use note::{
    open_note, sign_note, Note, NoteError, NoteSignature, SignatureBytes, VerifiedNote,
    MAX_NOTE_BYTES, MAX_SIGNATURES,
};
// Verification:
pub use chain::{
    verify_chain, verify_chain_detailed, verify_entries, verify_entry_signature, verify_lines,
    Anchor, ChainOptions, ChainOutcome,
};
pub use report::{Finding, Location, Report, Verdict};
pub use segment::{verify_segment, NoteInput};
// Analyses over verified entries only (modules `monitor`, `compliance` hold the details):
pub use contract::{
    Constraint, ConstraintViolations, Contract, ContractError, ContractResult, Evaluation, Op,
    Requirements, Severity, MAX_VIOLATIONS_LISTED,
};
pub use trace::{DecisionGroup, Edge, EdgeKind, TraceGraph, TraceIssue, TraceProblem};
pub use verified::{Integrity, VerifiedEntry, VerifiedError, VerifiedLog};
// Evidence packages (module `package` holds the format details):
pub use package::{
    export_disclosure, export_package, verify_package, PackageError, PackageReport, Scope,
};
// The collector (feature `collector`):
#[cfg(feature = "collector")]
pub use collector::{
    commit, digest, Collector, CollectorBuilder, CollectorError, DecisionDraft, ToolCallRecord,
    WrapError, DEFAULT_MAX_INPUT_BYTES,
};
