//! `exact` on EVM with EIP-3009 `transferWithAuthorization` (protocol digest §4).
//!
//! Verify reads as the reference's check list (`@x402/evm` `exact/facilitator/eip3009.ts`): scheme,
//! EIP-712 domain, network, signature, recipient, time window, amount, then one batched round trip of
//! chain reads: the simulation and everything that diagnoses its failure.

mod chain;
mod checks;
mod error;
mod offline;
mod settle;

use alloy_primitives::{Address, B256};

pub use error::ExactEvmError;
pub use offline::{verify_offline, OfflineVerdict};
pub use settle::{confirm, confirm_with_fee_bumps, settle, submit, Settlement, Submitted};

use crate::ports::{Clock, HttpTransport};
use crate::protocol::model::{Eip3009Authorization, Payload, PaymentRequest};
pub use crate::schemes::evm_tx::EvmContext;
use checks::*;

/// A payment that passed every pure check, ready for the chain.
struct Prepared<'r> {
    authorization: &'r Eip3009Authorization,
    signature: &'r [u8],
    asset: Address,
    domain: Domain,
    /// How the signature is proven (a contract wallet's is checked with the chain reads).
    proof: SignatureProof,
    /// Calldata of the `transferWithAuthorization` overload that fits the signature.
    calldata: Vec<u8>,
}

/// A valid payment: who pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub payer: Address,
}

pub async fn verify<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    request: &PaymentRequest,
) -> Result<Verified, ExactEvmError> {
    let prepared = prepare(ctx, request).await?;
    let reads = chain::read(ctx, &prepared, None).await?;
    reads.diagnose(&prepared, ctx.chain_id())?;
    Ok(Verified { payer: prepared.authorization.from })
}

/// The pure checks, in the reference order. The domain may need one chain read (v1 without `extra`).
async fn prepare<'r, H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    request: &'r PaymentRequest,
) -> Result<Prepared<'r>, ExactEvmError> {
    let Payload::Eip3009(payload) = &request.payload else {
        return Err(ExactEvmError::SchemeMismatch {
            accepted: request.accepted.scheme.clone(),
            required: "exact".into(),
        });
    };
    let authorization = &payload.authorization;
    let requirements = &request.requirements;
    check_scheme(request)?;
    let asset = parse_asset(requirements)?;
    let domain = match domain_from_requirements(request, asset)? {
        Some(domain) => domain,
        None => chain::read_domain(ctx, asset).await?,
    };
    check_network(request)?;
    let proof = check_signature(payload, &domain, ctx.chain_id(), asset, ctx.allowed_factories)?;
    check_recipient(authorization, requirements)?;
    let now = ctx.clock.now_secs();
    check_valid_before(authorization, now)?;
    check_valid_after(authorization, now)?;
    check_amount(authorization, requirements)?;
    let calldata = transfer_calldata(authorization, &payload.signature, &proof);
    Ok(Prepared { authorization, asset, domain, signature: &payload.signature, proof, calldata })
}

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
