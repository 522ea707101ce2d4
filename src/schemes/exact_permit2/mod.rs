//! `exact` on EVM through Permit2 and the x402 exact proxy (payload `permit2Authorization`,
//! requirements `extra.assetTransferMethod: "permit2"`; protocol/permit2.md).
//!
//! Verify reads as the reference's check list (`@x402/evm` 2.27 `exact/facilitator/permit2.ts`):
//! scheme, network, spender, recipient, deadline, validAfter, amount, token and the EIP-712 digest
//! with no chain; then one batched round trip of chain reads: the asset's code, the payer's code and
//! ERC-1271 verdict, the Permit2 nonce bit, the proxy, allowance and balance, and the simulation of
//! the proxy call from the facilitator's own address, which the reads diagnose when it fails.
//! Nothing is ever sent unless that simulation passed for the sending address.

pub(crate) mod chain;
pub(crate) mod checks;
mod error;
pub mod payload;
mod settle;
mod verify;

/// Permit2 and the x402 proxies (shared with `upto_permit2`; at home in `chains::evm`).
pub use crate::chains::evm::permit2;

pub use crate::schemes::evm_tx::EvmContext;
pub use checks::Options;
pub use error::ExactPermit2Error;
pub use payload::{identity, is_permit2, ledger_key, Eip2612Extension, Erc20ApprovalExtension, Permit2Payload};
pub use settle::{
    confirm, confirm_with_fee_bumps, ready_call, settle, settle_with, submit, submit_with, Settlement, Submitted,
};
pub(crate) use settle::{ready_prepared, submit_prepared};
pub use verify::{verify, verify_with, Verified};

#[cfg(test)]
pub(crate) mod tests;
