//! Verify: the pure checks in the reference's order (`verifyUptoPermit2`), then one batched round
//! trip of chain reads that simulates the proxy call for the cap from `witness.facilitator`.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;

use super::error::UptoPermit2Error;
use super::payload::UptoPermit2Payload;
use crate::chains::evm::permit2::{IX402UptoPermit2Proxy as Proxy, UPTO_PROXY};
use crate::ports::{Clock, HttpTransport};
use crate::protocol::model::PaymentRequest;
use crate::schemes::evm_tx::EvmContext;
use crate::schemes::exact_permit2::checks::{
    check_amount, check_deadline, check_recipient, check_signature_of, check_spender, check_sponsoring, check_token,
    check_valid_after, parse_asset, Options, Prepared, ProxyCall, SignatureCheck,
};
use crate::schemes::exact_permit2::{chain, Eip2612Extension, Verified};

/// Verifies with the chain: `requirements.amount` is the cap; `facilitators` are this facilitator's
/// addresses, one of which `witness.facilitator` must be.
pub async fn verify<H: HttpTransport, C: Clock, P>(
    ctx: &EvmContext<'_, H, C>,
    request: &PaymentRequest<P>,
    payload: &UptoPermit2Payload,
    facilitators: &[Address],
    options: Options,
) -> Result<Verified, UptoPermit2Error> {
    check_on_chain(ctx, request, payload, facilitators, request.requirements.amount, options).await
}

/// The pure checks for `cap`, then the chain reads and their diagnosis (nothing is sent).
pub(super) async fn check_on_chain<H: HttpTransport, C: Clock, P>(
    ctx: &EvmContext<'_, H, C>,
    request: &PaymentRequest<P>,
    payload: &UptoPermit2Payload,
    facilitators: &[Address],
    cap: U256,
    options: Options,
) -> Result<Verified, UptoPermit2Error> {
    let prepared = prepare(ctx, request, payload, facilitators, Amounts { cap, charge: cap }, options)?;
    let reads = chain::read(ctx, &prepared, None).await?;
    reads.diagnose(&prepared, ctx.chain_id())?;
    Ok(Verified { payer: payload.permit.from })
}

/// The cap the payment must permit, and the charge the settle sends.
#[derive(Debug, Clone, Copy)]
pub(super) struct Amounts {
    pub cap: U256,
    pub charge: U256,
}

/// The pure checks, in the reference's order; the proxy call is simulated for the cap and sent for
/// the charge, from `witness.facilitator`.
pub(super) fn prepare<'p, H, C: Clock, P>(
    ctx: &EvmContext<'_, H, C>,
    request: &PaymentRequest<P>,
    payload: &'p UptoPermit2Payload,
    facilitators: &[Address],
    amounts: Amounts,
    options: Options,
) -> Result<Prepared<'p>, UptoPermit2Error> {
    let (requirements, permit) = (&request.requirements, &payload.permit);
    check_scheme(request)?;
    check_network(request)?;
    let asset = parse_asset(requirements)?;
    check_spender(permit, UPTO_PROXY)?;
    check_recipient(permit, requirements)?;
    check_facilitator(payload, facilitators)?;
    let now = ctx.clock.now_secs();
    check_deadline(permit, now, request.network.expiry_margin_secs())?;
    check_valid_after(permit, now)?;
    check_amount(permit, amounts.cap)?;
    check_token(permit, asset)?;
    let signature = check_signature_of(permit, payload.signed().signing_hash(ctx.chain_id()))?;
    let (eip2612, sponsoring) =
        check_sponsoring(permit, asset, ctx.chain_id(), now, request.network.expiry_margin_secs(), options);
    let call = ProxyCall {
        proxy: UPTO_PROXY,
        simulated: settle_calldata(payload, &signature, eip2612, amounts.cap),
        sent: settle_calldata(payload, &signature, eip2612, amounts.charge),
        bound_caller: Some(payload.facilitator),
    };
    Ok(Prepared { payload: permit, asset, signature, sponsoring, call })
}

fn check_scheme<P>(request: &PaymentRequest<P>) -> Result<(), UptoPermit2Error> {
    if request.accepted.scheme != "upto" || request.requirements.scheme != "upto" {
        return Err(UptoPermit2Error::SchemeMismatch {
            accepted: request.accepted.scheme.clone(),
            required: request.requirements.scheme.clone(),
        });
    }
    Ok(())
}

fn check_network<P>(request: &PaymentRequest<P>) -> Result<(), UptoPermit2Error> {
    if crate::network::find(&request.accepted.network) != Some(request.network) {
        return Err(UptoPermit2Error::NetworkMismatch {
            accepted: request.accepted.network.clone(),
            required: request.requirements.network.clone(),
        });
    }
    Ok(())
}

/// `witness.facilitator` is one of ours: the proxy lets only it settle, so a payment naming anyone
/// else could never be settled here.
fn check_facilitator(payload: &UptoPermit2Payload, facilitators: &[Address]) -> Result<(), UptoPermit2Error> {
    if !facilitators.contains(&payload.facilitator) {
        return Err(UptoPermit2Error::FacilitatorMismatch(payload.facilitator));
    }
    Ok(())
}

/// `settle(permit, amount, owner, witness, signature)`, or `settleWithPermit(permit2612, …)` with an
/// EIP-2612 permit (`buildUptoPermit2SettleArgs`).
pub(super) fn settle_calldata(
    payload: &UptoPermit2Payload,
    signature: &SignatureCheck,
    eip2612: Option<&Eip2612Extension>,
    amount: U256,
) -> Vec<u8> {
    let signed = payload.signed();
    let (permit, owner, witness) = (signed.proxy_permit(), payload.permit.from, signed.proxy_witness());
    let signature = signature.signature.clone();
    match eip2612 {
        None => Proxy::settleCall { permit, amount, owner, witness, signature }.abi_encode(),
        Some(info) => {
            let permit2612 = info.permit2612();
            Proxy::settleWithPermitCall { permit2612, permit, amount, owner, witness, signature }.abi_encode()
        }
    }
}
