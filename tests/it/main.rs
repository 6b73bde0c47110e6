//! Integration tests: one binary, one module per topic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod chain;
mod checkpoint;
#[cfg(feature = "collector")]
mod collector;
mod merkle;
mod package;
#[cfg(feature = "collector")]
mod pii;
mod segment;
mod store;
mod vectors;
