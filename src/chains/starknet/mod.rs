//! Starknet chain code, knowing no scheme: felts and short strings, SNIP-12 typed-data hashing
//! (revisions 0 and 1), STARK ECDSA, SNIP-9 outside executions, and INVOKE v3 transaction hashes
//! with `__execute__` calldata.
//!
//! Built on `starknet-crypto` (Pedersen, Poseidon, ECDSA, RFC 6979) and its `starknet-types-core`
//! felts and curve points. starknet-rs's higher-level crates (`starknet-core`'s typed data, accounts)
//! pull in std networking and serde machinery we do not need here, so the SNIP-12 encoding is written
//! here against starknet.js 10.8, which the wallets sign with, and cross-checked with it
//! (`tests/vectors/starknet-generate.mjs`).

pub mod call;
pub mod ecdsa;
pub mod felt;
pub mod outside_execution;
pub mod pedersen;
pub mod transaction;
pub mod typed_data;

#[cfg(test)]
mod tests;

pub use call::{encode_calls, Call};
pub use ecdsa::{get_public_key, verify, EcdsaError, Signature, StarkKey};
pub use felt::{
    encode_short_string, felt_from_json, felt_or_short_string_from_json, parse_felt, selector, starknet_keccak, Felt,
    FeltError,
};
pub use outside_execution::{
    OutsideExecution, OutsideExecutionError, OutsideExecutionVersion, ANY_CALLER, DOMAIN_NAME,
};
pub use transaction::{execute_calldata, AllResourceBounds, DataAvailabilityMode, InvokeTransactionV3, ResourceBounds};
pub use typed_data::{message_hash, Revision, TypedData, TypedDataError};
