//! Settling an `exact` EVM payment: re-verify with the chain (so a doomed settle burns no gas), build
//! and sign the `transferWithAuthorization` transaction, broadcast it, and wait for its receipt.

use alloy_primitives::{Address, B256};

use super::{chain, prepare, EvmContext, ExactEvmError};
use crate::chains::evm::rpc;
use crate::chains::evm::sender::UnsignedCall;
use crate::ports::{Clock, EvmSigner, HttpTransport, Journal, Ledger, TxSender};
use crate::protocol::model::PaymentRequest;

/// Receipt polling starts fast (local chains mine at once) and backs off to this interval.
const MAX_POLL_INTERVAL_MS: u64 = 1_000;

/// A transaction the facilitator broadcast for a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub transaction: B256,
    pub payer: Address,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub transaction: B256,
    pub payer: Address,
    pub block_number: Option<u64>,
}

/// Verifies against the chain, then signs and broadcasts `transferWithAuthorization`.
pub async fn submit<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &Journal<'_, L>,
    request: &PaymentRequest,
) -> Result<Submitted, ExactEvmError> {
    let prepared = prepare(ctx, request).await?;
    let reads = chain::read(ctx, &prepared, Some(signer.address())).await?;
    reads.diagnose(&prepared, ctx.chain_id())?;
    let settle = reads.settle_reads()?;
    check_gas_ceilings(ctx, settle.fees.max_per_gas(), settle.gas_limit)?;
    let call = UnsignedCall {
        chain_id: ctx.chain_id(),
        gas_limit: settle.gas_limit,
        fees: settle.fees,
        to: prepared.asset,
        input: prepared.calldata.clone().into(),
    };
    let transaction = sender.send(&ctx.rpc, signer, ctx.network, &call, journal).await.map_err(ExactEvmError::Send)?;
    Ok(Submitted { transaction, payer: prepared.authorization.from })
}

/// The guard rails: a settle that would pay above them is refused before anything is signed.
fn check_gas_ceilings<H, C>(
    ctx: &EvmContext<'_, H, C>,
    max_fee_per_gas: u128,
    gas_limit: u64,
) -> Result<(), ExactEvmError> {
    let limits = ctx.gas;
    if max_fee_per_gas > limits.max_fee_per_gas_wei {
        return Err(ExactEvmError::GasPriceAboveCeiling { max_fee_per_gas, ceiling: limits.max_fee_per_gas_wei });
    }
    if gas_limit > limits.max_gas_per_settle {
        return Err(ExactEvmError::GasAboveCeiling { gas_limit, ceiling: limits.max_gas_per_settle });
    }
    Ok(())
}

/// Waits for the receipt of a submitted transaction.
pub async fn confirm<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    submitted: &Submitted,
) -> Result<Settlement, ExactEvmError> {
    let block_number = wait_for_success(ctx, submitted.transaction).await?;
    Ok(Settlement { transaction: submitted.transaction, payer: submitted.payer, block_number })
}

/// [`submit`] then [`confirm`].
pub async fn settle<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &Journal<'_, L>,
    request: &PaymentRequest,
) -> Result<Settlement, ExactEvmError> {
    let submitted = submit(ctx, signer, sender, journal, request).await?;
    confirm(ctx, &submitted).await
}

/// Polls the receipt until it is mined or the configured timeout passes.
async fn wait_for_success<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    hash: B256,
) -> Result<Option<u64>, ExactEvmError> {
    let secs = ctx.settings.receipt_timeout_secs;
    let deadline = ctx.clock.now_millis() + secs * 1000;
    let mut interval = 50;
    loop {
        let call = rpc::transaction_receipt(hash);
        // A failed poll is not an outcome: keep polling until the deadline.
        if let Ok(Some(receipt)) = ctx.rpc.call(call.method, call.params).await.and_then(|v| rpc::receipt(&v)) {
            return if receipt.success { Ok(receipt.block_number) } else { Err(ExactEvmError::Reverted(hash)) };
        }
        if ctx.clock.now_millis() >= deadline {
            return Err(ExactEvmError::ReceiptTimeout { hash, secs });
        }
        ctx.clock.sleep_millis(interval).await;
        interval = (interval * 2).min(MAX_POLL_INTERVAL_MS);
    }
}
