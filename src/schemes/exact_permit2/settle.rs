//! Settling an `exact` Permit2 payment: re-verify with the chain from the sending address (so a
//! doomed settle burns no gas), relay the payer's own approval first when its extension supplies
//! the allowance, then sign and send the proxy call and wait for its receipt.

use alloy_primitives::B256;

use super::chain::{self, Plan};
use super::checks::{ApprovalTx, Options, Prepared};
use super::error::ExactPermit2Error;
use super::payload::Permit2Payload;
use super::verify::prepare;
use crate::chains::evm::rpc;
use crate::chains::evm::sender::nonce_used;
use crate::chains::evm::sender::{TxSender, UnsignedCall};
use crate::ledger::{Ledger, LedgerJournal};
use crate::ports::{Clock, EvmSigner, HttpTransport};
use crate::protocol::model::PaymentRequest;
use crate::schemes::evm_tx::{self, EvmContext, TxError};
pub use crate::schemes::evm_tx::{Settlement, Submitted};

/// [`submit_with`] with the ERC-20 approval extension disabled.
pub async fn submit<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger, P>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    request: &PaymentRequest<P>,
    payload: &Permit2Payload,
) -> Result<Submitted, ExactPermit2Error> {
    submit_with(ctx, signer, sender, journal, request, payload, Options::default()).await
}

/// The exact proxy's call for the payment, through [`submit_prepared`].
pub async fn submit_with<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger, P>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    request: &PaymentRequest<P>,
    payload: &Permit2Payload,
    options: Options,
) -> Result<Submitted, ExactPermit2Error> {
    submit_prepared(ctx, signer, sender, journal, || prepare(ctx, request, payload, options)).await
}

/// Verifies the proxy call `prepare` makes against the chain from the signer's address, then signs
/// and broadcasts it (journaled under `journal` first). With the ERC-20 approval extension enabled
/// and the allowance short, the payer's approval is broadcast and mined first (at most once per
/// call), then everything is prepared and verified again, simulation included, before the settle is
/// sent. Either proxy; the scheme's own error type.
pub(crate) async fn submit_prepared<'p, H, C, S, T, L, E, F>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    prepare: F,
) -> Result<Submitted, E>
where
    H: HttpTransport,
    C: Clock,
    S: EvmSigner,
    T: TxSender,
    L: Ledger,
    E: From<ExactPermit2Error>,
    F: Fn() -> Result<Prepared<'p>, E>,
{
    let mut approved = None;
    loop {
        let prepared = prepare()?;
        let reads = chain::read(ctx, &prepared, Some(signer.address())).await?;
        match (reads.diagnose(&prepared, ctx.chain_id())?, approved) {
            (Plan::Settle, _) => {
                let payer = prepared.payload.from;
                let call = settle_call(ctx, prepared, &reads)?;
                let sent = evm_tx::send(ctx, signer, sender, journal, call).await.map_err(tx_error)?;
                return Ok(Submitted { sent, payer });
            }
            (Plan::ApproveFirst(tx), None) => approved = Some(relay_approval(ctx, &tx).await?),
            (Plan::ApproveFirst(_), Some(hash)) => {
                let why = format!("the allowance to Permit2 is still short after the approval {hash}");
                return Err(ExactPermit2Error::ApprovalFailed(why).into());
            }
        }
    }
}

/// The exact proxy's call for a payment the chain checks pass, to send under a claim; `None` when the
/// payer's approval must be relayed first (only [`submit_with`] does that).
pub async fn ready_call<H: HttpTransport, C: Clock, S: EvmSigner, P>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    request: &PaymentRequest<P>,
    payload: &Permit2Payload,
    options: Options,
) -> Result<Option<UnsignedCall>, ExactPermit2Error> {
    ready_prepared(ctx, signer, || prepare(ctx, request, payload, options)).await
}

/// The proxy call `prepare` makes, checked against the chain from the signer's address; `None` when
/// the payer's approval must be relayed first. Either proxy; the scheme's own error type.
pub(crate) async fn ready_prepared<'p, H, C, S, E, F>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    prepare: F,
) -> Result<Option<UnsignedCall>, E>
where
    H: HttpTransport,
    C: Clock,
    S: EvmSigner,
    E: From<ExactPermit2Error>,
    F: FnOnce() -> Result<Prepared<'p>, E>,
{
    let prepared = prepare()?;
    let reads = chain::read(ctx, &prepared, Some(signer.address())).await?;
    match reads.diagnose(&prepared, ctx.chain_id())? {
        Plan::Settle => Ok(Some(settle_call(ctx, prepared, &reads)?)),
        Plan::ApproveFirst(_) => Ok(None),
    }
}

/// The proxy call of a checked payment, within the gas ceilings.
fn settle_call<H, C>(
    ctx: &EvmContext<'_, H, C>,
    prepared: Prepared<'_>,
    reads: &chain::ChainReads,
) -> Result<UnsignedCall, ExactPermit2Error> {
    let (fees, gas_limit) = reads.settle_reads()?;
    let (proxy, input, max_gas) = (prepared.call.proxy, prepared.call.sent, ctx.gas.max_gas_per_settle);
    evm_tx::unsigned_call(ctx, proxy, input, fees, gas_limit, max_gas).map_err(tx_error)
}

fn tx_error(e: TxError) -> ExactPermit2Error {
    ExactPermit2Error::from(e)
}

/// Broadcasts the payer's signed approval as is (the payer pays its gas) and waits for it to be
/// mined successfully. Broadcasting the same bytes again is the same transaction, never a second
/// one, so a retried settle may relay it again harmlessly.
async fn relay_approval<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    tx: &ApprovalTx,
) -> Result<B256, ExactPermit2Error> {
    let send = rpc::send_raw_transaction(&tx.raw);
    match ctx.rpc.broadcast(send.method, send.params).await {
        Ok(_) => {}
        Err(e) if e.to_string().to_ascii_lowercase().contains("already known") => {}
        // Its nonce is used: by this very approval (mined meanwhile), or by another transaction.
        Err(e) if nonce_used(&e) => return mined_before(ctx, tx.hash).await,
        Err(e) => return Err(ExactPermit2Error::ApprovalFailed(format!("the node refused it: {e}"))),
    }
    match evm_tx::confirm(ctx, &[tx.hash]).await {
        Ok(_) => Ok(tx.hash),
        Err(TxError::Reverted(hash)) => Err(ExactPermit2Error::ApprovalFailed(format!("transaction {hash} reverted"))),
        Err(e) => Err(ExactPermit2Error::ApprovalFailed(e.to_string())),
    }
}

/// The approval's own receipt, when its nonce is already used.
async fn mined_before<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    hash: B256,
) -> Result<B256, ExactPermit2Error> {
    let call = rpc::transaction_receipt(hash);
    let receipt = ctx.rpc.call(call.method, call.params).await.and_then(|v| rpc::receipt(&v))?;
    match receipt {
        Some(receipt) if receipt.success => Ok(hash),
        _ => Err(ExactPermit2Error::ApprovalFailed("the payer used its nonce for another transaction".into())),
    }
}

/// Waits for the receipt of a submitted transaction (any of them, after fee bumps).
pub async fn confirm<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    submitted: &Submitted,
) -> Result<Settlement, ExactPermit2Error> {
    evm_tx::confirm_submitted(ctx, submitted).await
}

/// Waits for the receipt, replacing a stuck transaction with fee bumps (see [`evm_tx`]).
pub async fn confirm_with_fee_bumps<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    submitted: &Submitted,
) -> Result<Settlement, ExactPermit2Error> {
    evm_tx::confirm_submitted_with_fee_bumps(ctx, signer, sender, journal, submitted).await
}

/// [`submit`] then [`confirm_with_fee_bumps`].
pub async fn settle<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger, P>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    request: &PaymentRequest<P>,
    payload: &Permit2Payload,
) -> Result<Settlement, ExactPermit2Error> {
    settle_with(ctx, signer, sender, journal, request, payload, Options::default()).await
}

/// [`submit_with`] then [`confirm_with_fee_bumps`].
pub async fn settle_with<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger, P>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    request: &PaymentRequest<P>,
    payload: &Permit2Payload,
    options: Options,
) -> Result<Settlement, ExactPermit2Error> {
    let submitted = submit_with(ctx, signer, sender, journal, request, payload, options).await?;
    confirm_with_fee_bumps(ctx, signer, sender, journal, &submitted).await
}
