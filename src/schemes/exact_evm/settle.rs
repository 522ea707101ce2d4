//! Settling an `exact` EVM payment: re-verify with the chain (so a doomed settle burns no gas), build
//! and sign the `transferWithAuthorization` transaction, broadcast it, and wait for its receipt.

use alloy_primitives::{Address, B256};

use super::chain;
use super::chain::{ChainReads, PayerAccount};
use super::checks::Prepared;
use super::checks::SignatureProof;
use super::error::ExactEvmError;
use super::payload::Eip3009Payload;
use super::verify::prepare;
use crate::chains::evm::sender::{TxSender, UnsignedCall};
use crate::chains::evm::signature::Erc6492Signature;
use crate::ledger::{Claim, LedgerOp, LedgerReply};
use crate::ledger::{Ledger, LedgerJournal};
use crate::ports::{Clock, EvmSigner, HttpTransport};
use crate::protocol::model::PaymentRequest;
use crate::schemes::evm_tx::EvmContext;
use crate::schemes::evm_tx::{self, TxError};
pub use crate::schemes::evm_tx::{Settlement, Submitted};

/// Verifies against the chain, then signs and broadcasts `transferWithAuthorization`. An undeployed
/// ERC-6492 wallet is deployed through its (allowed) factory first, at most once per payment (see
/// [`deploy_once`]), and then paid from as the ERC-1271 wallet it has become, after verifying again.
pub async fn submit<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger, P>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    request: &PaymentRequest<P>,
    payload: &Eip3009Payload,
) -> Result<Submitted, ExactEvmError> {
    let mut deployed = None;
    loop {
        let prepared = prepare(ctx, request, payload).await?;
        let reads = chain::read(ctx, &prepared, Some(signer.address())).await?;
        match (reads.diagnose(&prepared, ctx.chain_id())?, deployed) {
            (PayerAccount::Ready, _) => {
                let payer = prepared.authorization.from;
                let sent = evm_tx::send(ctx, signer, sender, journal, settle_call(ctx, prepared, &reads)?).await?;
                return Ok(Submitted { sent, payer });
            }
            (PayerAccount::Undeployed, None) => {
                deployed = Some(deploy_once(ctx, signer, sender, journal, &prepared, &reads).await?);
            }
            (PayerAccount::Undeployed, Some(hash)) => {
                let reason = format!("the payer's wallet still has no code after its deployment {hash}");
                return Err(ExactEvmError::SimulationFailed(reason));
            }
        }
    }
}

/// The `transferWithAuthorization` transaction of a payment the chain checks pass and whose payer's
/// wallet is ready, to send under a claim; `None` when the wallet must be deployed first (only
/// [`submit`] does that).
pub async fn ready_call<H: HttpTransport, C: Clock, S: EvmSigner, P>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    request: &PaymentRequest<P>,
    payload: &Eip3009Payload,
) -> Result<Option<UnsignedCall>, ExactEvmError> {
    let prepared = prepare(ctx, request, payload).await?;
    let reads = chain::read(ctx, &prepared, Some(signer.address())).await?;
    match reads.diagnose(&prepared, ctx.chain_id())? {
        PayerAccount::Ready => settle_call(ctx, prepared, &reads).map(Some),
        PayerAccount::Undeployed => Ok(None),
    }
}

/// The settle transaction of a checked payment, within the gas ceilings.
fn settle_call<H, C>(
    ctx: &EvmContext<'_, H, C>,
    prepared: Prepared<'_>,
    reads: &ChainReads,
) -> Result<UnsignedCall, ExactEvmError> {
    let (fees, gas_limit) = reads.settle_reads()?;
    let max_gas = ctx.gas.max_gas_per_settle;
    Ok(evm_tx::unsigned_call(ctx, prepared.asset, prepared.calldata, fees, gas_limit, max_gas)?)
}

/// The ledger key under which the deployment of `wallet` on the network `caip2` is recorded: one per
/// wallet, not per payment, so that fresh nonces of one undeployed wallet buy no further deployments.
pub fn deployment_key(caip2: &str, wallet: Address) -> String {
    format!("deploy/{caip2}/{wallet:#x}")
}

/// Deploys the payer's wallet unless a deployment of it was attempted before: one wallet causes at most
/// one deployment, whatever payment and factory call its (unsigned) ERC-6492 wrapper carries. The
/// attempt is claimed in the ledger under [`deployment_key`] and its transaction is journaled there
/// before the broadcast, so the entry outlives any outcome: after a deployment that failed, was lost
/// or is still pending, any payment of the wallet finds `from` still without code, cannot claim, and
/// is refused with nothing sent. A claim that sent nothing (gas ceilings, a failed estimate) is
/// released. Without a ledger key (a payment the ledger does not track) nothing is deployed.
async fn deploy_once<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    prepared: &Prepared<'_>,
    reads: &ChainReads,
) -> Result<B256, ExactEvmError> {
    let SignatureProof::Counterfactual { wrapped, .. } = &prepared.proof else {
        return Err(ExactEvmError::SimulationFailed("only an ERC-6492 wallet is deployed".into()));
    };
    if journal.key.is_none() {
        return Err(ExactEvmError::Ledger("no ledger key to record a deployment".into()));
    }
    let key = deployment_key(ctx.network.caip2, prepared.authorization.from);
    // Held as long as a settle waits for its receipts: one that died before recording a deployment
    // frees the payment for one deployment again; a recorded one is never claimed again.
    let hold_ms = ctx.settings.receipt_timeout_secs * 1000 + crate::ledger::HOLD_MARGIN_MS;
    let claim = LedgerOp::Claim { now_ms: ctx.clock.now_millis(), hold_ms, fingerprint: None };
    match journal.ledger.apply(&key, claim).await {
        Ok(LedgerReply::Claim(Claim::Acquired)) => {}
        Ok(_) => return Err(ExactEvmError::DeploymentAlreadyAttempted),
        Err(e) => return Err(ExactEvmError::Ledger(e.to_string())),
    }
    let recorded = LedgerJournal { ledger: journal.ledger, key: Some(&key) };
    let deployed = deploy_wallet(ctx, signer, sender, &recorded, wrapped, reads).await;
    if deployed.is_err() {
        // Drops the claim only when no transaction was recorded under it.
        let _ = journal.ledger.apply(&key, LedgerOp::Release).await;
    }
    deployed
}

/// Sends the factory call of an ERC-6492 signature, journaled under `journal` (the deployment's own
/// key, not the payment's), and waits for it.
async fn deploy_wallet<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    wrapped: &Erc6492Signature,
    reads: &ChainReads,
) -> Result<B256, ExactEvmError> {
    let (fees, gas_limit) = reads.deployment_reads()?;
    let (calldata, max_gas) = (wrapped.factory_calldata.to_vec(), ctx.gas.max_gas_per_deployment);
    let call = evm_tx::unsigned_call(ctx, wrapped.factory, calldata, fees, gas_limit, max_gas)?;
    let sent = evm_tx::send(ctx, signer, sender, journal, call).await?;
    let hash = sent.transactions[0];
    match evm_tx::confirm(ctx, &sent.transactions).await {
        Ok(_) => Ok(hash),
        Err(TxError::Reverted(hash)) => Err(ExactEvmError::DeploymentFailed(hash)),
        Err(_) => Err(ExactEvmError::DeploymentPending(hash)),
    }
}

/// Waits for the receipt of a submitted transaction (any of them, after fee bumps).
pub async fn confirm<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    submitted: &Submitted,
) -> Result<Settlement, ExactEvmError> {
    evm_tx::confirm_submitted(ctx, submitted).await
}

/// Waits for the receipt, replacing a stuck transaction with fee bumps (see [`evm_tx`]).
pub async fn confirm_with_fee_bumps<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    submitted: &Submitted,
) -> Result<Settlement, ExactEvmError> {
    evm_tx::confirm_submitted_with_fee_bumps(ctx, signer, sender, journal, submitted).await
}

/// [`submit`] then [`confirm_with_fee_bumps`].
pub async fn settle<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger, P>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    request: &PaymentRequest<P>,
    payload: &Eip3009Payload,
) -> Result<Settlement, ExactEvmError> {
    let submitted = submit(ctx, signer, sender, journal, request, payload).await?;
    confirm_with_fee_bumps(ctx, signer, sender, journal, &submitted).await
}
