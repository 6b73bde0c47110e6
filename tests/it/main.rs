//! Integration tests: one binary, one module per topic.

mod support;

mod chain;
#[cfg(feature = "collector")]
mod collector;
mod store;
mod vectors;
