//! `exact` on EVM with EIP-3009 `transferWithAuthorization` (protocol digest §4).
//!
//! Verify reads as the reference's check list (`@x402/evm` `exact/facilitator/eip3009.ts`): scheme,
//! EIP-712 domain, network, signature, recipient, time window, amount, then one batched round trip of
//! chain reads: the simulation and everything that diagnoses its failure.

mod chain;
mod checks;
mod error;
mod offline;
pub mod payload;
mod settle;
mod verify;

use alloy_primitives::{Address, B256};

pub use error::ExactEvmError;
pub use offline::{verify_offline, OfflineVerdict};
pub use payload::{Eip3009Authorization, Eip3009Payload};
pub use settle::{confirm, confirm_with_fee_bumps, deployment_key, ready_call, settle, submit, Settlement, Submitted};

pub use crate::schemes::evm_tx::EvmContext;
pub use verify::{verify, verify_beside, Verified};

/// The EIP-712 digest of an authorization under a token's domain (exported for tools and bindings).
pub fn authorization_digest(
    authorization: &Eip3009Authorization,
    name: &str,
    version: &str,
    chain_id: u64,
    asset: Address,
) -> B256 {
    let domain = crate::chains::evm::eip3009::domain(name, version, chain_id, asset);
    crate::chains::evm::eip3009::signing_hash(authorization, &domain)
}

#[cfg(test)]
mod tests;
