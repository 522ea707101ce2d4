//! JavaScript bindings (wasm-bindgen), behind the `js` feature: the npm package `@x402-edge/verify`
//! (`js-bindings/`) and the wasm benchmarks. An adapter only: each export parses its JS input, calls
//! the pure core, and returns plain values.
//!
//! Values cross the boundary as JSON text, and every export answers an envelope
//! (`{"ok":true,"value":…}` or `{"ok":false,"reason":…,"message":…}`) that the TypeScript wrapper
//! turns into a return value or a typed error. That keeps the glue small (no serde-wasm-bindgen) and
//! means malformed input can never surface as a panic or an untyped exception.

mod envelope;
mod evm;
mod headers;
mod ports;
mod svm;
mod upto;
mod verify;

pub use envelope::BindingError;
