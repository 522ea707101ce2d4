//! The standard `upto` on EVM, as `@x402/evm` 2.27 ships it: Permit2 through the x402 upto proxy
//! (payload `permit2Authorization` with witness `{to, facilitator, validAfter}`; protocol/permit2.md
//! §5). The payer signs a cap; `/verify` sees the cap as `requirements.amount`, `/settle` the charge
//! (at most the cap, possibly zero); only `witness.facilitator` may call the proxy.
//!
//! Everything the two x402 Permit2 proxies share (payload fields, the gas-sponsoring extensions, the
//! pure checks, the one batched round trip of chain reads and its diagnosis, the send loop) is
//! `exact_permit2`'s, reused: this scheme adds its witness, its rules and its codes
//! (`upto/facilitator/errors.ts`). Verify simulates the proxy call for the cap from
//! `witness.facilitator`, which must be one of this facilitator's addresses; settle verifies again
//! with the cap, then sends `settle(permit, charge, …)` from that very address. A zero charge sends
//! nothing.

mod error;
mod payload;
mod settle;
mod verify;

pub use error::UptoPermit2Error;
pub use payload::{identity, is_upto_permit2, ledger_key, UptoPermit2Payload};
pub use settle::{confirm_with_fee_bumps, ready_call, submit, Submission};
pub use verify::verify;

#[cfg(test)]
mod tests;
