//! What the operator binary `ai-audit` needs beyond the format (feature
//! `cli`): store URLs, configuration layers, ranges, listings, statistics
//! and store verification. The binary only parses arguments, calls these
//! and renders; everything here is usable (and tested) as a library.
//!
//! * [`StoreUrl`] parses `sqlite://PATH`, `redis://HOST:PORT/DB` and
//!   `memory:`, and opens the backend.
//! * [`Settings`] resolves flags, then environment, then a TOML config file.
//! * [`SeqRange`], [`TimeRange`] parse the ranges the subcommands take.
//! * [`ListFilter`], [`list`], [`stats`] read a store without trusting it
//!   (listings are claims until verified); [`verify_store`] verifies it
//!   with pinned keys.

mod config;
mod error;
mod query;
mod range;
mod url;
mod verify;

pub use config::{Layer, Settings, CONFIG_ENV, DEFAULT_CONFIG_FILE, STORE_ENV};
pub use config::{KEK_FILE_ENV, LOG_ENV, SIGNING_KEY_FILE_ENV, VERIFIER_KEYS_ENV};
pub use error::CliError;
pub use query::{
    check_signer, entry_summary, find_by_id, find_entry, first_seq, list, list_in, log_name, stats,
    EpochStats, ListFilter, StoreStats, TenantStats,
};
pub use range::{parse_time, EpochRange, SeqRange, TimeRange};
pub use url::{OpenMode, OpenStore, StoreUrl};
pub use verify::{archive_epoch, inclusion_proof, verify_store, TenantReport};
