//! Settling an `exact` EVM payment: re-verify with the chain (so a doomed settle burns no gas), build
//! and sign the `transferWithAuthorization` transaction, broadcast it, and wait for its receipt.

use alloy_primitives::{Address, B256};

use super::chain::{PayerAccount, SettleReads};
use super::checks::SignatureProof;
use super::{chain, prepare, EvmContext, ExactEvmError, Prepared};
use crate::chains::evm::rpc;
use crate::chains::evm::sender::UnsignedCall;
use crate::ports::{Clock, EvmSigner, HttpTransport, Journal, Ledger, TxSender};
use crate::protocol::model::PaymentRequest;

/// Receipt polling starts fast (local chains mine at once) and backs off to this interval.
const MAX_POLL_INTERVAL_MS: u64 = 1_000;

/// The transactions the facilitator broadcast for a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// Latest last; all of one nonce (fee bumps replace), so at most one is mined.
    pub transactions: Vec<B256>,
    pub payer: Address,
    /// The call as sent and its nonce, when this settle sent it (so it can bump its fees).
    pub sent: Option<(UnsignedCall, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub transaction: B256,
    pub payer: Address,
    pub block_number: Option<u64>,
}

/// Verifies against the chain, then signs and broadcasts `transferWithAuthorization`. An undeployed
/// ERC-6492 wallet is deployed through its (allowed) factory first, and then paid from as the ERC-1271
/// wallet it has become, after verifying again.
pub async fn submit<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &Journal<'_, L>,
    request: &PaymentRequest,
) -> Result<Submitted, ExactEvmError> {
    let mut deployed = None;
    loop {
        let prepared = prepare(ctx, request).await?;
        let reads = chain::read(ctx, &prepared, Some(signer.address())).await?;
        match (reads.diagnose(&prepared, ctx.chain_id())?, deployed) {
            (PayerAccount::Ready, _) => {
                let reads = reads.settle_reads()?;
                let call =
                    unsigned_call(ctx, prepared.asset, prepared.calldata.clone(), reads, ctx.gas.max_gas_per_settle)?;
                let sent =
                    sender.send(&ctx.rpc, signer, ctx.network, &call, journal).await.map_err(ExactEvmError::Send)?;
                let payer = prepared.authorization.from;
                return Ok(Submitted { transactions: vec![sent.hash], payer, sent: Some((call, sent.nonce)) });
            }
            (PayerAccount::Undeployed, None) => {
                let untracked = Journal { ledger: journal.ledger, key: None };
                deployed = Some(deploy_wallet(ctx, signer, sender, &untracked, &prepared, &reads).await?);
            }
            (PayerAccount::Undeployed, Some(hash)) => {
                let reason = format!("the payer's wallet still has no code after its deployment {hash}");
                return Err(ExactEvmError::SimulationFailed(reason));
            }
        }
    }
}

/// Sends the factory call of an ERC-6492 signature and waits for it. It is not journaled as the
/// payment's transaction: if it is lost, a retry verifies again and deploys (or finds the wallet).
async fn deploy_wallet<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &Journal<'_, L>,
    prepared: &Prepared<'_>,
    reads: &chain::ChainReads,
) -> Result<B256, ExactEvmError> {
    let SignatureProof::Counterfactual { wrapped, .. } = &prepared.proof else {
        return Err(ExactEvmError::SimulationFailed("only an ERC-6492 wallet is deployed".into()));
    };
    let (calldata, reads) = (wrapped.factory_calldata.to_vec(), reads.deployment_reads()?);
    let call = unsigned_call(ctx, wrapped.factory, calldata, reads, ctx.gas.max_gas_per_deployment)?;
    let hash = sender.send(&ctx.rpc, signer, ctx.network, &call, journal).await.map_err(ExactEvmError::Send)?.hash;
    match wait_for_receipt(ctx, &[hash], NoReplacement).await {
        Ok(_) => Ok(hash),
        Err(ExactEvmError::Reverted(hash)) => Err(ExactEvmError::DeploymentFailed(hash)),
        Err(_) => Err(ExactEvmError::DeploymentPending(hash)),
    }
}

/// A transaction to `to` within the guard rails (at most `max_gas`).
fn unsigned_call<H, C>(
    ctx: &EvmContext<'_, H, C>,
    to: Address,
    input: Vec<u8>,
    reads: SettleReads,
    max_gas: u64,
) -> Result<UnsignedCall, ExactEvmError> {
    check_gas_ceilings(ctx, reads.fees.max_per_gas(), reads.gas_limit, max_gas)?;
    Ok(UnsignedCall { chain_id: ctx.chain_id(), gas_limit: reads.gas_limit, fees: reads.fees, to, input: input.into() })
}

/// The guard rails: a settle that would pay above them is refused before anything is signed.
fn check_gas_ceilings<H, C>(
    ctx: &EvmContext<'_, H, C>,
    max_fee_per_gas: u128,
    gas_limit: u64,
    max_gas: u64,
) -> Result<(), ExactEvmError> {
    let limits = ctx.gas;
    if max_fee_per_gas > limits.max_fee_per_gas_wei {
        return Err(ExactEvmError::GasPriceAboveCeiling { max_fee_per_gas, ceiling: limits.max_fee_per_gas_wei });
    }
    if gas_limit > max_gas {
        return Err(ExactEvmError::GasAboveCeiling { gas_limit, ceiling: max_gas });
    }
    Ok(())
}

/// Waits for the receipt of a submitted transaction (any of them, after fee bumps).
pub async fn confirm<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    submitted: &Submitted,
) -> Result<Settlement, ExactEvmError> {
    let (transaction, block_number) = wait_for_receipt(ctx, &submitted.transactions, NoReplacement).await?;
    Ok(Settlement { transaction, payer: submitted.payer, block_number })
}

/// Waits for the receipt like [`confirm`], and every `EVM_FEE_BUMP_SECONDS` without one replaces the
/// transaction with the same call at higher fees, up to the network's fee ceiling.
pub async fn confirm_with_fee_bumps<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &Journal<'_, L>,
    submitted: &Submitted,
) -> Result<Settlement, ExactEvmError> {
    let Some((call, nonce)) = submitted.sent.clone() else { return confirm(ctx, submitted).await };
    let bump = FeeBump { ctx, signer, sender, journal, call, nonce, exhausted: false };
    let (transaction, block_number) = wait_for_receipt(ctx, &submitted.transactions, bump).await?;
    Ok(Settlement { transaction, payer: submitted.payer, block_number })
}

/// [`submit`] then [`confirm_with_fee_bumps`].
pub async fn settle<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &Journal<'_, L>,
    request: &PaymentRequest,
) -> Result<Settlement, ExactEvmError> {
    let submitted = submit(ctx, signer, sender, journal, request).await?;
    confirm_with_fee_bumps(ctx, signer, sender, journal, &submitted).await
}

/// What a wait does when a transaction sits unmined: replace it, or not.
trait Replacement {
    /// The hash of a replacement now broadcast, if one could be.
    fn replace(&mut self) -> impl std::future::Future<Output = Option<B256>>;
}

struct NoReplacement;

impl Replacement for NoReplacement {
    async fn replace(&mut self) -> Option<B256> {
        None
    }
}

/// Replaces a stuck transaction with the same call at bumped fees, until the ceiling leaves no room
/// or a replacement is refused (then a transaction of that nonce was mined, or the node will not
/// take more).
struct FeeBump<'a, H, C, S, T, L> {
    ctx: &'a EvmContext<'a, H, C>,
    signer: &'a S,
    sender: &'a T,
    journal: &'a Journal<'a, L>,
    call: UnsignedCall,
    nonce: u64,
    exhausted: bool,
}

impl<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger> Replacement for FeeBump<'_, H, C, S, T, L> {
    async fn replace(&mut self) -> Option<B256> {
        if self.exhausted {
            return None;
        }
        let Some(fees) = self.call.fees.bumped(self.ctx.gas.max_fee_per_gas_wei) else {
            self.exhausted = true;
            return None;
        };
        let mut call = self.call.clone();
        call.fees = fees;
        let sent = self.sender.replace(&self.ctx.rpc, self.signer, self.ctx.network, &call, self.nonce, self.journal);
        match sent.await {
            Ok(hash) => {
                self.call = call;
                Some(hash)
            }
            Err(_) => {
                self.exhausted = true;
                None
            }
        }
    }
}

/// Polls the receipts of `transactions` until one is mined or the configured timeout passes,
/// replacing the latest every `fee_bump_after_secs`.
async fn wait_for_receipt<H: HttpTransport, C: Clock, R: Replacement>(
    ctx: &EvmContext<'_, H, C>,
    transactions: &[B256],
    mut replacement: R,
) -> Result<(B256, Option<u64>), ExactEvmError> {
    let mut hashes = transactions.to_vec();
    let secs = ctx.settings.receipt_timeout_secs;
    let bump_every_ms = ctx.settings.fee_bump_after_secs * 1000;
    let start = ctx.clock.now_millis();
    let (deadline, mut next_bump) = (start + secs * 1000, start + bump_every_ms);
    let mut interval = 50;
    loop {
        if let Some(outcome) = mined(ctx, &hashes).await {
            return outcome;
        }
        let now = ctx.clock.now_millis();
        let latest = hashes.last().copied().unwrap_or_default();
        if now >= deadline {
            return Err(ExactEvmError::ReceiptTimeout { hash: latest, secs });
        }
        if now >= next_bump {
            hashes.extend(replacement.replace().await);
            next_bump = now + bump_every_ms;
        }
        ctx.clock.sleep_millis(interval).await;
        interval = (interval * 2).min(MAX_POLL_INTERVAL_MS);
    }
}

/// The outcome of whichever of `hashes` is mined, if one is. A failed poll is not an outcome.
async fn mined<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    hashes: &[B256],
) -> Option<Result<(B256, Option<u64>), ExactEvmError>> {
    let calls: Vec<_> = hashes.iter().map(|h| rpc::transaction_receipt(*h)).collect();
    let results = ctx.rpc.batch(&calls).await.ok()?;
    hashes.iter().zip(results).find_map(|(hash, result)| match result.and_then(|v| rpc::receipt(&v)) {
        Ok(Some(receipt)) if receipt.success => Some(Ok((*hash, receipt.block_number))),
        Ok(Some(_)) => Some(Err(ExactEvmError::Reverted(*hash))),
        _ => None,
    })
}
