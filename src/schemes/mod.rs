//! The rules of each payment scheme, on the normalized model. Schemes know no host.

pub mod evm_tx;
pub mod exact_evm;
pub mod exact_permit2;
#[cfg(feature = "starknet")]
pub mod exact_starknet;
pub mod exact_svm;
pub mod upto_evm;
