//! Integration tests: one binary, one module per topic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod chain;
mod checkpoint;
#[cfg(feature = "cli")]
mod cli;
#[cfg(feature = "collector")]
mod collector;
mod compliance;
#[cfg(all(feature = "collector", feature = "sqlite"))]
mod demo;
mod merkle;
mod package;
#[cfg(feature = "collector")]
mod pii;
mod pipeline;
mod segment;
#[cfg(feature = "collector")]
mod shred;
mod store;
mod vectors;

// Needs a Redis server (see redis/mod.rs).
#[cfg(feature = "redis")]
mod redis;
