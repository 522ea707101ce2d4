//! Settling a standard `upto` payment for the charge (`requirements.amount` at `/settle`): verify
//! again for the full cap (simulation included, from `witness.facilitator`), then nothing for a zero
//! charge, a refusal above the cap, else `settle(permit, charge, …)` sent by the signer whose address
//! is `witness.facilitator` (never another: the proxy would refuse it).

use alloy_primitives::Address;

use super::error::UptoPermit2Error;
use super::payload::UptoPermit2Payload;
use super::verify::{check_on_chain, prepare, Amounts};
use crate::chains::evm::sender::{TxSender, UnsignedCall};
use crate::ledger::{Ledger, LedgerJournal};
use crate::ports::{Clock, EvmSigner, HttpTransport};
use crate::protocol::model::PaymentRequest;
use crate::schemes::evm_tx::EvmContext;
use crate::schemes::exact_permit2::{self, ready_prepared, submit_prepared, Options, Settlement, Submitted};

/// What a settle did.
#[derive(Debug)]
pub enum Submission<'s, S> {
    /// A zero charge: the payment verified, and nothing needs sending (the reference answers success
    /// with no transaction; the authorization stays unused on chain).
    Nothing,
    /// The proxy call for the charge, broadcast by `signer`.
    Sent { submitted: Box<Submitted>, signer: &'s S },
}

/// Verifies the payment for its cap, then sends the charge from the signer named by
/// `witness.facilitator` (journaled under `journal` first).
pub async fn submit<'s, H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger, P>(
    ctx: &EvmContext<'_, H, C>,
    signers: &'s [S],
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    request: &PaymentRequest<P>,
    payload: &UptoPermit2Payload,
    options: Options,
) -> Result<Submission<'s, S>, UptoPermit2Error> {
    let facilitators: Vec<Address> = signers.iter().map(EvmSigner::address).collect();
    let amounts = Amounts { cap: payload.permit.amount, charge: request.requirements.amount };
    if amounts.charge.is_zero() {
        check_on_chain(ctx, request, payload, &facilitators, amounts.cap, options).await?;
        return Ok(Submission::Nothing);
    }
    // The pure checks first, as the reference verifies before it looks at the charge.
    prepare(ctx, request, payload, &facilitators, amounts, options)?;
    if amounts.charge > amounts.cap {
        return Err(UptoPermit2Error::SettlementExceedsAmount { charge: amounts.charge, cap: amounts.cap });
    }
    let signer = signers
        .iter()
        .find(|s| s.address() == payload.facilitator)
        .ok_or(UptoPermit2Error::NoFacilitatorSigner(payload.facilitator))?;
    let prepare = || prepare(ctx, request, payload, &facilitators, amounts, options);
    let submitted = submit_prepared(ctx, signer, sender, journal, prepare).await?;
    Ok(Submission::Sent { submitted: Box::new(submitted), signer })
}

/// The proxy call for the charge, checked against the chain from `signer`, to send under a claim;
/// `None` when something else must happen first or instead: a zero charge (nothing is sent), the
/// payer's approval to relay, or a witness naming another of `signers` than `signer` (the proxy
/// accepts only that one). Only [`submit`] handles those.
pub async fn ready_call<H: HttpTransport, C: Clock, S: EvmSigner, P>(
    ctx: &EvmContext<'_, H, C>,
    signers: &[S],
    signer: &S,
    request: &PaymentRequest<P>,
    payload: &UptoPermit2Payload,
    options: Options,
) -> Result<Option<UnsignedCall>, UptoPermit2Error> {
    let amounts = Amounts { cap: payload.permit.amount, charge: request.requirements.amount };
    if amounts.charge.is_zero() || payload.facilitator != signer.address() {
        return Ok(None);
    }
    let facilitators: Vec<Address> = signers.iter().map(EvmSigner::address).collect();
    prepare(ctx, request, payload, &facilitators, amounts, options)?;
    if amounts.charge > amounts.cap {
        return Err(UptoPermit2Error::SettlementExceedsAmount { charge: amounts.charge, cap: amounts.cap });
    }
    ready_prepared(ctx, signer, || prepare(ctx, request, payload, &facilitators, amounts, options)).await
}

/// Waits for the receipt, replacing a stuck transaction with fee bumps; a mined revert is the upto
/// scheme's `invalid_upto_evm_transaction_failed`.
pub async fn confirm_with_fee_bumps<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    submitted: &Submitted,
) -> Result<Settlement, UptoPermit2Error> {
    Ok(exact_permit2::confirm_with_fee_bumps(ctx, signer, sender, journal, submitted).await?)
}
