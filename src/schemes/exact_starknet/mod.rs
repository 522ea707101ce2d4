//! `exact` on Starknet: the payer's account signed a SNIP-9 outside execution as SNIP-12 typed data,
//! and someone else submits it. Two dialects carry it: x402-starknet's (`{signature, authorization}`
//! with the typed data beside it; pure checks in [`checks`]) and the registered spec's (`{from,
//! outsideExecution}`, decoded in [`payload`], its rules in [`spec`]). The chain checks ask the
//! account and the token ([`chain`]); the settle submits it from the facilitator's sponsor account.

pub mod chain;
mod checks;
mod error;
pub mod payload;
pub mod spec;

pub use checks::{verify_payload, Policy, StarknetRequirements, VerifiedStarknet, EXPIRY_MARGIN_SECS};
pub use error::{ExactStarknetError, StarknetDialect};
pub use payload::{SpecPayload, StarknetPayload};

use crate::chains::starknet::{encode_short_string, Felt};
use crate::network::Network;
use crate::protocol::model::Accepted;
use crate::protocol::model::PaymentRequest;

/// A Starknet network's chain id: the short string of its CAIP-2 reference (`SN_MAIN`, `SN_SEPOLIA`).
pub fn chain_id(network: &Network) -> Option<Felt> {
    let reference = network.caip2.strip_prefix("starknet:")?;
    encode_short_string(reference).ok()
}

/// The payload's `accepted` scheme and network are the requirements' (x402-starknet step 2).
pub fn check_accepted(accepted: &Accepted, required_scheme: &str, network: &Network) -> Result<(), ExactStarknetError> {
    if accepted.scheme != "exact" || required_scheme != "exact" {
        return Err(ExactStarknetError::SchemeMismatch {
            accepted: accepted.scheme.clone(),
            required: required_scheme.to_string(),
        });
    }
    if crate::network::find(&accepted.network) != Some(network) {
        return Err(ExactStarknetError::NetworkMismatch {
            accepted: accepted.network.clone(),
            required: network.caip2.to_string(),
        });
    }
    Ok(())
}

/// Every pure check of a request's Starknet payment, as the facilitator and the npm package run them:
/// the payload's `accepted` against the requirements, then [`verify_payload`] for the request's network,
/// with `callers` (besides `ANY_CALLER`) allowed to submit it, at `now_secs`.
pub fn verify_request<P>(
    request: &PaymentRequest<P>,
    payload: &StarknetPayload,
    callers: &[Felt],
    now_secs: u64,
) -> Result<VerifiedStarknet, ExactStarknetError> {
    check_accepted(&request.accepted, &request.requirements.scheme, request.network)?;
    let required = StarknetRequirements {
        amount: request.requirements.amount,
        asset: &request.requirements.asset,
        pay_to: &request.requirements.pay_to,
    };
    let chain_id = chain_id(request.network).ok_or(ExactStarknetError::NotConfigured("a Starknet chain id"))?;
    verify_payload(payload, &required, &Policy { chain_id, callers, now_secs })
}

/// The settlement ledger's key: the account and its outside-execution nonce, which the account
/// accepts once.
pub fn ledger_key(network: &Network, verified: &VerifiedStarknet) -> String {
    format!("starknet/{}/{:#x}/{:#x}", network.caip2, verified.account, verified.execution.nonce)
}

#[cfg(test)]
mod spec_tests;
#[cfg(test)]
mod tests;
