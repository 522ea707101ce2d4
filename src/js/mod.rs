//! JavaScript bindings (wasm-bindgen), behind the `js` feature: the npm package `@x402-edge/verify`
//! (`js-bindings/`) and the wasm benchmarks. An adapter only: each export parses its JS input, calls
//! the pure core, and returns plain values.
//!
//! Values cross the boundary as JSON text, and every export answers an envelope
//! (`{"ok":true,"value":…}` or `{"ok":false,"reason":…,"message":…}`) that the TypeScript wrapper
//! turns into a return value or a typed error. That keeps the glue small (no serde-wasm-bindgen) and
//! means malformed input can never surface as a panic or an untyped exception.

//!
//! Two packages are built from here: `js` exports EVM and Solana (`@x402-edge/verify`), `js-starknet`
//! Starknet (`@x402-edge/verify-starknet`); the header codec and the request normalization are in
//! both.

#[cfg(feature = "js-boundary-bench")]
mod boundary;
mod envelope;
#[cfg(feature = "js")]
mod evm;
mod headers;
mod ports;
mod request;
#[cfg(feature = "js-starknet")]
mod starknet;
#[cfg(feature = "js")]
mod svm;
#[cfg(feature = "js")]
mod upto;
mod verdict;
#[cfg(feature = "js")]
mod verify;

pub use envelope::BindingError;
