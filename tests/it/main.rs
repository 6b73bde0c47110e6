//! Integration tests: one binary, one module per topic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod chain;
#[cfg(feature = "collector")]
mod collector;
mod merkle;
mod vectors;
