//! `exact` on EVM through Permit2 and the x402 exact proxy (payload `permit2Authorization`,
//! requirements `extra.assetTransferMethod: "permit2"`; protocol/permit2.md).
//!
//! Verify reads as the reference's check list (`@x402/evm` 2.27 `exact/facilitator/permit2.ts`):
//! scheme, network, spender, recipient, deadline, validAfter, amount, token and the EIP-712 digest
//! with no chain; then one batched round trip of chain reads: the asset's code, the payer's code and
//! ERC-1271 verdict, the Permit2 nonce bit, the proxy, allowance and balance, and the simulation of
//! the proxy call from the facilitator's own address, which the reads diagnose when it fails.
//! Nothing is ever sent unless that simulation passed for the sending address.

mod chain;
mod checks;
mod error;
pub mod payload;
pub mod permit2;
mod settle;

use alloy_primitives::{Address, B256};
use alloy_sol_types::SolCall;

pub use error::ExactPermit2Error;
pub use payload::{is_permit2, Eip2612Extension, Erc20ApprovalExtension, Permit2Payload};
pub use settle::{confirm, confirm_with_fee_bumps, settle, settle_with, submit, submit_with, Settlement, Submitted};

use crate::ports::{Clock, HttpTransport};
use crate::protocol::model::PaymentRequest;
pub use crate::schemes::evm_tx::EvmContext;
use checks::*;
use permit2::IX402ExactPermit2Proxy;

/// What the facilitator has enabled beyond the plain scheme.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// The `erc20ApprovalGasSponsoring` extension: relay the payer's signed `approve(Permit2, …)`
    /// before the settle. Off unless configured, as in the reference (an extension the facilitator
    /// registers); the EIP-2612 extension needs no switch (the reference uses it whenever present).
    pub erc20_approval: bool,
}

/// A valid payment: who pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub payer: Address,
}

/// How the allowance to Permit2 is provided.
#[derive(Debug, Clone, PartialEq)]
enum Sponsoring {
    /// Already on chain (or missing: the diagnosis says so).
    None,
    /// An EIP-2612 permit, submitted by the proxy's `settleWithPermit`.
    Eip2612,
    /// The payer's signed approval, broadcast before the settle when the allowance is short.
    Erc20Approval(ApprovalTx),
}

/// A payment that passed every pure check, ready for the chain.
struct Prepared<'p> {
    payload: &'p Permit2Payload,
    asset: Address,
    signature: SignatureCheck,
    /// The extension's verdict, reported after the signature's as the reference orders them.
    sponsoring: Result<Sponsoring, ExactPermit2Error>,
    /// The proxy call simulated and sent: `settle`, or `settleWithPermit` with an EIP-2612 permit.
    calldata: Vec<u8>,
}

/// Verifies with the chain; the ERC-20 approval extension disabled.
pub async fn verify<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    request: &PaymentRequest,
    payload: &Permit2Payload,
) -> Result<Verified, ExactPermit2Error> {
    verify_with(ctx, request, payload, Options::default()).await
}

pub async fn verify_with<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    request: &PaymentRequest,
    payload: &Permit2Payload,
    options: Options,
) -> Result<Verified, ExactPermit2Error> {
    let prepared = prepare(ctx, request, payload, options)?;
    let reads = chain::read(ctx, &prepared, None).await?;
    reads.diagnose(&prepared, ctx.chain_id())?;
    Ok(Verified { payer: payload.from })
}

/// The pure checks, in the reference order.
fn prepare<'p, H, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    request: &PaymentRequest,
    payload: &'p Permit2Payload,
    options: Options,
) -> Result<Prepared<'p>, ExactPermit2Error> {
    let requirements = &request.requirements;
    check_scheme(request)?;
    check_network(request)?;
    let asset = parse_asset(requirements)?;
    check_spender(payload)?;
    check_recipient(payload, requirements)?;
    let now = ctx.clock.now_secs();
    check_deadline(payload, now)?;
    check_valid_after(payload, now)?;
    check_amount(payload, requirements)?;
    check_token(payload, asset)?;
    let signature = check_signature(payload, ctx.chain_id())?;
    let eip2612 = check_eip2612(payload, asset, now);
    let calldata = settle_calldata(payload, &signature, eip2612.as_ref().ok().copied().flatten());
    let sponsoring = match eip2612 {
        Ok(Some(_)) => Ok(Sponsoring::Eip2612),
        Err(e) => Err(e),
        Ok(None) if !options.erc20_approval => Ok(Sponsoring::None),
        Ok(None) => check_erc20_approval(payload, asset, ctx.chain_id())
            .map(|tx| tx.map_or(Sponsoring::None, Sponsoring::Erc20Approval)),
    };
    Ok(Prepared { payload, asset, signature, sponsoring, calldata })
}

/// `settle(permit, owner, witness, signature)`, or `settleWithPermit(permit2612, …)` when an
/// EIP-2612 permit comes with the payment (`buildExactPermit2SettleArgs`).
fn settle_calldata(
    payload: &Permit2Payload,
    signature: &SignatureCheck,
    eip2612: Option<&Eip2612Extension>,
) -> Vec<u8> {
    let signed = payload.signed();
    let (permit, owner, witness) = (signed.proxy_permit(), payload.from, signed.proxy_witness());
    let signature = signature.signature.clone();
    match eip2612 {
        None => IX402ExactPermit2Proxy::settleCall { permit, owner, witness, signature }.abi_encode(),
        Some(info) => {
            let sig = info.signature.as_ref();
            let permit2612 = IX402ExactPermit2Proxy::EIP2612Permit {
                value: info.amount,
                deadline: info.deadline,
                r: B256::from_slice(&sig[..32]),
                s: B256::from_slice(&sig[32..64]),
                v: sig[64],
            };
            IX402ExactPermit2Proxy::settleWithPermitCall { permit2612, permit, owner, witness, signature }.abi_encode()
        }
    }
}

/// The settlement ledger's key: Permit2's unordered nonce, one bit per `(chain, owner, nonce)`
/// whatever the token or spender, is what the chain accepts once.
pub fn ledger_key(chain_id: u64, payload: &Permit2Payload) -> String {
    format!("permit2/eip155:{chain_id}/{}/{:#x}", payload.from, payload.nonce).to_ascii_lowercase()
}

/// Every signed field and the signature: a different payment under the same ledger key (the same
/// nonce re-signed for more, say) has another identity, so it never gets this one's answer.
pub fn identity(payload: &Permit2Payload) -> String {
    format!(
        "{}/{}/{}/{}/{}/{}/{}/{}/{}",
        payload.from,
        payload.token,
        payload.amount,
        payload.spender,
        payload.nonce,
        payload.deadline,
        payload.to,
        payload.valid_after,
        payload.signature
    )
}

#[cfg(test)]
mod tests;
