//! Settling an `exact` Permit2 payment: re-verify with the chain from the sending address (so a
//! doomed settle burns no gas), relay the payer's own approval first when its extension supplies
//! the allowance, then sign and send the proxy call and wait for its receipt.

use alloy_primitives::{Address, B256};

use super::chain::{self, Plan};
use super::checks::{ApprovalTx, Options};
use super::error::ExactPermit2Error;
use super::payload::Permit2Payload;
use super::permit2::EXACT_PROXY;
use super::verify::prepare;
use crate::chains::evm::rpc;
use crate::chains::evm::sender::nonce_used;
use crate::chains::evm::sender::TxSender;
use crate::ledger::{Ledger, LedgerJournal};
use crate::ports::{Clock, EvmSigner, HttpTransport};
use crate::protocol::model::PaymentRequest;
use crate::schemes::evm_tx::{self, EvmContext, Sent, TxError};

/// The transaction the facilitator broadcast for a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub sent: Sent,
    pub payer: Address,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub transaction: B256,
    pub payer: Address,
    pub block_number: Option<u64>,
}

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

/// Verifies against the chain from the signer's address, then signs and broadcasts the proxy call
/// (journaled under `journal` first). With the ERC-20 approval extension enabled and the allowance
/// short, the payer's approval is broadcast and mined first (at most once per call), then
/// everything is verified again, simulation included, before the settle is sent.
pub async fn submit_with<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger, P>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    request: &PaymentRequest<P>,
    payload: &Permit2Payload,
    options: Options,
) -> Result<Submitted, ExactPermit2Error> {
    let mut approved = None;
    loop {
        let prepared = prepare(ctx, request, payload, options)?;
        let reads = chain::read(ctx, &prepared, Some(signer.address())).await?;
        match (reads.diagnose(&prepared, ctx.chain_id())?, approved) {
            (Plan::Settle, _) => {
                let (fees, gas_limit) = reads.settle_reads()?;
                let max_gas = ctx.gas.max_gas_per_settle;
                let call = evm_tx::unsigned_call(ctx, EXACT_PROXY, prepared.calldata, fees, gas_limit, max_gas)?;
                let sent = evm_tx::send(ctx, signer, sender, journal, call).await?;
                return Ok(Submitted { sent, payer: payload.from });
            }
            (Plan::ApproveFirst(tx), None) => approved = Some(relay_approval(ctx, &tx).await?),
            (Plan::ApproveFirst(_), Some(hash)) => {
                let why = format!("the allowance to Permit2 is still short after the approval {hash}");
                return Err(ExactPermit2Error::ApprovalFailed(why));
            }
        }
    }
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
    let mined = evm_tx::confirm(ctx, &submitted.sent.transactions).await?;
    Ok(Settlement { transaction: mined.transaction, payer: submitted.payer, block_number: mined.block_number })
}

/// Waits for the receipt, replacing a stuck transaction with fee bumps (see [`evm_tx`]).
pub async fn confirm_with_fee_bumps<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    submitted: &Submitted,
) -> Result<Settlement, ExactPermit2Error> {
    let mined = evm_tx::confirm_with_fee_bumps(ctx, signer, sender, journal, &submitted.sent).await?;
    Ok(Settlement { transaction: mined.transaction, payer: submitted.payer, block_number: mined.block_number })
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
