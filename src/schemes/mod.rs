//! The rules of each payment scheme, on the normalized model. Schemes know no host.

pub mod evm_tx;
pub mod exact_evm;
#[cfg(feature = "permit2")]
pub mod exact_permit2;
#[cfg(feature = "starknet")]
pub mod exact_starknet;
pub mod exact_svm;
pub mod registry;
pub mod upto_evm;
#[cfg(feature = "permit2")]
pub mod upto_permit2;

pub use registry::{ledger_key, parse_request, parse_request_value, settling_network, Payload, PaymentRequest, Scheme};

#[cfg(test)]
mod tests;
