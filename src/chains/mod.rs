//! Chain logic, knowing no scheme: hashing, signatures, transaction encoding and typed JSON-RPC calls.

pub mod evm;
pub mod jsonrpc;
#[cfg(feature = "starknet")]
pub mod starknet;
pub mod svm;
