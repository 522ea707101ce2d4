//! Verify: the pure checks in the reference order, then one batched round trip of chain reads.

use alloy_primitives::Address;

use super::chain;
use super::checks::*;
use super::error::ExactEvmError;
use crate::ports::{Clock, HttpTransport};
use crate::protocol::model::{Payload, PaymentRequest};
use crate::schemes::evm_tx::EvmContext;

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
pub(super) async fn prepare<'r, H: HttpTransport, C: Clock>(
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
