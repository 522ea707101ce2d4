//! Verify: the pure checks in the reference order, then one batched round trip of chain reads.

use alloy_primitives::Address;

use super::chain;
use super::checks::*;
use super::error::ExactPermit2Error;
use super::payload::Permit2Payload;
use crate::chains::evm::permit2::EXACT_PROXY;
use crate::ports::{Clock, HttpTransport};
use crate::protocol::model::PaymentRequest;
use crate::schemes::evm_tx::EvmContext;

/// A valid payment: who pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub payer: Address,
}

/// Verifies with the chain; the ERC-20 approval extension disabled.
pub async fn verify<H: HttpTransport, C: Clock, P>(
    ctx: &EvmContext<'_, H, C>,
    request: &PaymentRequest<P>,
    payload: &Permit2Payload,
) -> Result<Verified, ExactPermit2Error> {
    verify_with(ctx, request, payload, Options::default()).await
}

pub async fn verify_with<H: HttpTransport, C: Clock, P>(
    ctx: &EvmContext<'_, H, C>,
    request: &PaymentRequest<P>,
    payload: &Permit2Payload,
    options: Options,
) -> Result<Verified, ExactPermit2Error> {
    let prepared = prepare(ctx, request, payload, options)?;
    let reads = chain::read(ctx, &prepared, None).await?;
    reads.diagnose(&prepared, ctx.chain_id())?;
    Ok(Verified { payer: payload.from })
}

/// The pure checks, in the reference order.
pub(super) fn prepare<'p, H, C: Clock, P>(
    ctx: &EvmContext<'_, H, C>,
    request: &PaymentRequest<P>,
    payload: &'p Permit2Payload,
    options: Options,
) -> Result<Prepared<'p>, ExactPermit2Error> {
    let requirements = &request.requirements;
    check_scheme(request)?;
    check_network(request)?;
    let asset = parse_asset(requirements)?;
    check_spender(payload, EXACT_PROXY)?;
    check_recipient(payload, requirements)?;
    let now = ctx.clock.now_secs();
    check_deadline(payload, now, request.network.expiry_margin_secs())?;
    check_valid_after(payload, now)?;
    check_amount(payload, requirements.amount)?;
    check_token(payload, asset)?;
    let signature = check_signature(payload, ctx.chain_id())?;
    let (eip2612, sponsoring) =
        check_sponsoring(payload, asset, ctx.chain_id(), now, request.network.expiry_margin_secs(), options);
    let call = ProxyCall::unbound(EXACT_PROXY, settle_calldata(payload, &signature, eip2612));
    Ok(Prepared { payload, asset, signature, sponsoring, call })
}
