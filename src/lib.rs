//! x402-edge: an x402 payment facilitator.
//!
//! The pure core (`protocol`, `network`, `config`, `chains`, `schemes`, `upto`, `facilitator`, `api`) knows nothing
//! of Workers or JavaScript; it reaches the outside world only through the traits in [`ports`]. The
//! Cloudflare Worker adapter lives in `worker` behind the `worker` feature.
//!
//! Outside tests nothing may `unwrap()`, `expect()` or `panic!`: input reaches almost every path, and a
//! panic in a Worker loses the request (and, mid-settle, the answer to a payment that was sent).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod access;
pub mod api;
pub mod chains;
pub mod config;
pub mod discovery;
pub mod facilitator;
pub mod ledger;
pub mod metrics;
pub mod network;
pub mod policy;
pub mod ports;
pub mod protocol;
pub mod schemes;
pub mod upto;

#[cfg(any(feature = "js", feature = "js-starknet"))]
pub mod js;
#[cfg(feature = "server")]
pub mod server;
#[cfg(all(feature = "worker", target_arch = "wasm32"))]
mod worker;
