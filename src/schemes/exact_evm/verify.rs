//! Verify: the pure checks in the reference order, then one batched round trip of chain reads.

use std::future::Future;

use alloy_primitives::Address;
use futures_util::future::join;

use super::chain;
use super::checks::*;
use super::error::ExactEvmError;
use super::payload::Eip3009Payload;
use crate::ports::{Clock, HttpTransport};
use crate::protocol::model::PaymentRequest;
use crate::schemes::evm_tx::EvmContext;

/// A valid payment: who pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub payer: Address,
}

pub async fn verify<H: HttpTransport, C: Clock, P>(
    ctx: &EvmContext<'_, H, C>,
    request: &PaymentRequest<P>,
    payload: &Eip3009Payload,
) -> Result<Verified, ExactEvmError> {
    verify_beside(ctx, request, payload, async { Ok::<(), ExactEvmError>(()) }).await
}

/// [`verify`], with `beside` awaited together with the chain reads once the pure checks pass (the
/// facilitator's own ledger read: one wait for both instead of one after the other).
pub async fn verify_beside<H: HttpTransport, C: Clock, P, E: From<ExactEvmError>>(
    ctx: &EvmContext<'_, H, C>,
    request: &PaymentRequest<P>,
    payload: &Eip3009Payload,
    beside: impl Future<Output = Result<(), E>>,
) -> Result<Verified, E> {
    let prepared = prepare(ctx, request, payload).await?;
    let (reads, beside) = join(chain::read(ctx, &prepared, None), beside).await;
    reads?.diagnose(&prepared, ctx.chain_id())?;
    beside?;
    Ok(Verified { payer: prepared.authorization.from })
}

/// The pure checks, in the reference order. The domain may need one chain read (v1 without `extra`).
pub(super) async fn prepare<'r, H: HttpTransport, C: Clock, P>(
    ctx: &EvmContext<'_, H, C>,
    request: &PaymentRequest<P>,
    payload: &'r Eip3009Payload,
) -> Result<Prepared<'r>, ExactEvmError> {
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
    check_valid_before(authorization, now, request.network.expiry_margin_secs())?;
    check_valid_after(authorization, now)?;
    check_amount(authorization, requirements)?;
    let calldata = transfer_calldata(authorization, &payload.signature, &proof);
    Ok(Prepared { authorization, asset, domain, signature: &payload.signature, proof, calldata })
}
