//! What every EVM scheme does to get one of the facilitator's transactions mined: fees from the
//! batch of reads, the gas guard rails, sending through the [`TxSender`], and waiting for the receipt,
//! replacing a stuck transaction with a fee bump within the ceiling.

use alloy_primitives::{Address, B256};
use serde_json::Value;

use crate::chains::evm::rpc;
use crate::chains::evm::sender::TxSender;
use crate::chains::evm::sender::{SendError, UnsignedCall};
use crate::chains::evm::tx::Fees;
use crate::chains::jsonrpc::{JsonRpcClient, RpcCall, RpcError};
use crate::ledger::{Ledger, LedgerJournal};
use crate::network::Network;
use crate::ports::{Clock, EvmSigner, HttpTransport};

/// Gas limit = estimate plus this margin, in percent.
const GAS_MARGIN_PERCENT: u64 = 25;
/// Fallback tip when the node has no `eth_maxPriorityFeePerGas`.
const FALLBACK_TIP_WEI: u128 = 1_000_000_000;
/// Receipt polling starts fast (local chains mine at once) and backs off to this interval.
const MAX_POLL_INTERVAL_MS: u64 = 1_000;

/// One read of a batch: its result, or why it has none.
pub type Read = Result<Value, RpcError>;

/// How a settle waits and fails over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How long a settle waits for its receipt before answering that the outcome is unknown.
    pub receipt_timeout_secs: u64,
    /// How long one RPC request may take before it fails over to the next endpoint.
    pub rpc_timeout_ms: u64,
    /// How long a settle's transaction may sit unmined before it is replaced with a fee bump.
    pub fee_bump_after_secs: u64,
}

impl Settings {
    /// How long a synchronous send (EIP-7966) may wait for its receipt: no longer than the settle's
    /// receipt wait, than a stuck transaction waits for its fee bump, or than one RPC request may take
    /// (our own bound ends the wait first, so the node is known to have the transaction).
    pub fn sync_send_wait_ms(&self) -> u64 {
        let rpc_bound = self.rpc_timeout_ms * 9 / 10;
        (self.receipt_timeout_secs * 1000).min(self.fee_bump_after_secs * 1000).min(rpc_bound)
    }
}

/// Guard rails on what one settle may spend in gas: a transaction above either is never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GasLimits {
    pub max_fee_per_gas_wei: u128,
    pub max_gas_per_settle: u64,
    /// The gas limit of deploying a payer's counterfactual wallet (ERC-6492), which settles pay first.
    pub max_gas_per_deployment: u64,
}

/// What a scheme call needs from its host, borrowed for one request.
pub struct EvmContext<'a, H, C> {
    pub network: &'static Network,
    pub rpc: JsonRpcClient<'a, H, C>,
    pub clock: &'a C,
    pub settings: Settings,
    pub gas: GasLimits,
    /// The facilitator's address, used as the caller of simulations.
    pub facilitator: Option<Address>,
    /// `EIP6492_ALLOWED_FACTORIES`: the factories through which counterfactual wallets may be deployed.
    pub allowed_factories: &'a [Address],
}

impl<'a, H, C> EvmContext<'a, H, C> {
    /// A context that only reads the chain (a verifier that never settles): no facilitator address,
    /// no receipt wait, and gas ceilings of zero, so no transaction can be built with it.
    pub fn read_only(
        network: &'static Network,
        rpc: JsonRpcClient<'a, H, C>,
        clock: &'a C,
        allowed_factories: &'a [Address],
    ) -> Self {
        let settings = Settings { receipt_timeout_secs: 0, rpc_timeout_ms: 0, fee_bump_after_secs: 0 };
        let gas = GasLimits { max_fee_per_gas_wei: 0, max_gas_per_settle: 0, max_gas_per_deployment: 0 };
        EvmContext { network, rpc, clock, settings, gas, facilitator: None, allowed_factories }
    }
}

impl<H, C> EvmContext<'_, H, C> {
    pub fn chain_id(&self) -> u64 {
        self.network.chain_id.unwrap_or_default()
    }
}

/// Why a transaction of the facilitator's was not sent or not seen mined.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TxError {
    #[error("gas estimation failed: {0}")]
    Estimate(String),
    #[error(
        "the gas price ({max_fee_per_gas} wei) is above this facilitator's ceiling ({ceiling} wei); nothing was sent"
    )]
    GasPriceAboveCeiling { max_fee_per_gas: u128, ceiling: u128 },
    #[error("the transaction needs {gas_limit} gas, above this facilitator's ceiling of {ceiling}; nothing was sent")]
    GasAboveCeiling { gas_limit: u64, ceiling: u64 },
    #[error(transparent)]
    Send(SendError),
    #[error("chain RPC failed: {0}")]
    Rpc(RpcError),
    #[error("transaction {0} reverted")]
    Reverted(B256),
    #[error("no receipt for transaction {hash} within {secs} s; its outcome is not known yet")]
    ReceiptTimeout { hash: B256, secs: u64 },
}

impl From<RpcError> for TxError {
    fn from(e: RpcError) -> Self {
        TxError::Rpc(e)
    }
}

/// The reads fees are computed from, to append to a scheme's batch: latest block, tip, gas price.
pub fn fee_calls() -> [RpcCall; 3] {
    [rpc::latest_block(), rpc::max_priority_fee(), rpc::gas_price()]
}

/// EIP-1559 fees (twice the base fee plus the tip) where the chain has a base fee, else legacy.
pub fn fees(block: &Read, tip: &Read, gas_price: &Read) -> Result<Fees, RpcError> {
    let gas_price = gas_price.as_ref().ok().map(rpc::quantity).transpose()?;
    Ok(match rpc::base_fee(block.as_ref().map_err(Clone::clone)?)? {
        Some(base) => {
            let tip = match tip {
                Ok(v) => rpc::quantity(v)?,
                Err(_) => gas_price.map(|p| p.saturating_sub(base)).unwrap_or(FALLBACK_TIP_WEI),
            };
            Fees::Eip1559 { max_fee_per_gas: base.saturating_mul(2).saturating_add(tip), max_priority_fee_per_gas: tip }
        }
        None => Fees::Legacy {
            gas_price: gas_price.ok_or_else(|| RpcError::Malformed("no gas price for a legacy chain".into()))?,
        },
    })
}

/// The estimate plus the margin; a failed estimate means the transaction would fail.
pub fn gas_limit(estimate: &Read) -> Result<u64, TxError> {
    let estimate = match estimate {
        Ok(v) => rpc::quantity_u64(v)?,
        Err(e) => return Err(TxError::Estimate(e.to_string())),
    };
    Ok(estimate.saturating_add(estimate * GAS_MARGIN_PERCENT / 100))
}

/// A transaction to `to` within the guard rails: the network's fee ceiling and at most `max_gas`.
/// Refused before anything is signed.
pub fn unsigned_call<H, C>(
    ctx: &EvmContext<'_, H, C>,
    to: Address,
    input: Vec<u8>,
    fees: Fees,
    gas_limit: u64,
    max_gas: u64,
) -> Result<UnsignedCall, TxError> {
    let ceiling = ctx.gas.max_fee_per_gas_wei;
    if fees.max_per_gas() > ceiling {
        return Err(TxError::GasPriceAboveCeiling { max_fee_per_gas: fees.max_per_gas(), ceiling });
    }
    if gas_limit > max_gas {
        return Err(TxError::GasAboveCeiling { gas_limit, ceiling: max_gas });
    }
    Ok(UnsignedCall { chain_id: ctx.chain_id(), gas_limit, fees, to, input: input.into() })
}

/// The transactions sent for one purpose: latest last, all of one nonce (fee bumps replace), so at
/// most one is mined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub transactions: Vec<B256>,
    /// The call as sent and its nonce, when this process sent it (so it can bump its fees).
    pub call: Option<(UnsignedCall, u64)>,
    /// The latest transaction's receipt, when the node answered it with the broadcast (EIP-7966).
    pub receipt: Option<rpc::Receipt>,
    /// How long the broadcast already waited for it (taken off the receipt wait).
    pub waited_ms: u64,
}

/// A mined, successful transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mined {
    pub transaction: B256,
    pub block_number: Option<u64>,
}

/// Sends `call` through `sender` (which journals its hash under `journal`'s key first).
pub async fn send<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    call: UnsignedCall,
) -> Result<Sent, TxError> {
    let sent = sender.send(&ctx.rpc, signer, ctx.network, &call, journal).await.map_err(TxError::Send)?;
    Ok(Sent {
        transactions: vec![sent.hash],
        call: Some((call, sent.nonce)),
        receipt: sent.receipt,
        waited_ms: sent.waited_ms,
    })
}

/// Waits for the receipt of any of `transactions`.
pub async fn confirm<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    transactions: &[B256],
) -> Result<Mined, TxError> {
    wait_for_receipt(ctx, transactions, NoReplacement, 0).await
}

/// Waits for the receipt like [`confirm`], and every `EVM_FEE_BUMP_SECONDS` without one replaces the
/// transaction with the same call at higher fees, up to the network's fee ceiling.
pub async fn confirm_with_fee_bumps<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    sent: &Sent,
) -> Result<Mined, TxError> {
    if let Some(known) = answered(sent) {
        return known;
    }
    let Some((call, nonce)) = sent.call.clone() else { return confirm(ctx, &sent.transactions).await };
    let bump = FeeBump { ctx, signer, sender, journal, call, nonce, exhausted: false };
    wait_for_receipt(ctx, &sent.transactions, bump, sent.waited_ms).await
}

/// Whether none of `transactions` (one nonce, `raw` the signed bytes of the latest) can ever be
/// mined: no node knows them, and broadcasting the same bytes again is refused because their nonce
/// went to another transaction. That happens when a settle was cut off between recording its
/// transaction and broadcasting it. A transaction that is mined, pending, or accepted again is alive.
pub async fn is_dead<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    transactions: &[B256],
    raw: &[u8],
) -> bool {
    if mined(ctx, transactions).await.is_some() {
        return false;
    }
    let lookups: Vec<_> = transactions.iter().map(|h| rpc::transaction_by_hash(*h)).collect();
    let known = match ctx.rpc.batch(&lookups).await {
        Ok(results) => results.iter().any(|r| !matches!(r, Ok(Value::Null))),
        Err(_) => return false,
    };
    if known {
        return false;
    }
    let send = rpc::send_raw_transaction(raw);
    match ctx.rpc.broadcast(send.method, send.params).await {
        // Its nonce is used; unless by one of these very transactions, mined meanwhile.
        Err(e) if crate::chains::evm::sender::nonce_used(&e) => mined(ctx, transactions).await.is_none(),
        _ => false,
    }
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
    journal: &'a LedgerJournal<'a, L>,
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

/// Polls the receipts of `transactions` until one is mined or the configured timeout passes (less
/// what the broadcast `waited_ms` already), replacing the latest every `fee_bump_after_secs`.
async fn wait_for_receipt<H: HttpTransport, C: Clock, R: Replacement>(
    ctx: &EvmContext<'_, H, C>,
    transactions: &[B256],
    mut replacement: R,
    waited_ms: u64,
) -> Result<Mined, TxError> {
    let mut hashes = transactions.to_vec();
    let secs = ctx.settings.receipt_timeout_secs;
    let bump_every_ms = ctx.settings.fee_bump_after_secs * 1000;
    let start = ctx.clock.now_millis().saturating_sub(waited_ms);
    let (deadline, mut next_bump) = (start + secs * 1000, start + bump_every_ms);
    let mut interval = 50;
    loop {
        if let Some(outcome) = mined(ctx, &hashes).await {
            return outcome;
        }
        let now = ctx.clock.now_millis();
        let latest = hashes.last().copied().unwrap_or_default();
        if now >= deadline {
            return Err(TxError::ReceiptTimeout { hash: latest, secs });
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
) -> Option<Result<Mined, TxError>> {
    let calls: Vec<_> = hashes.iter().map(|h| rpc::transaction_receipt(*h)).collect();
    let results = ctx.rpc.batch(&calls).await.ok()?;
    hashes.iter().zip(results).find_map(|(hash, result)| match result.and_then(|v| rpc::receipt(&v)) {
        Ok(Some(receipt)) => Some(outcome(*hash, receipt)),
        _ => None,
    })
}

/// The outcome the node answered with the broadcast, if it did (EIP-7966).
fn answered(sent: &Sent) -> Option<Result<Mined, TxError>> {
    Some(outcome(*sent.transactions.last()?, sent.receipt?))
}

/// What a mined transaction's receipt means for its payment.
fn outcome(transaction: B256, receipt: rpc::Receipt) -> Result<Mined, TxError> {
    match receipt.success {
        true => Ok(Mined { transaction, block_number: receipt.block_number }),
        false => Err(TxError::Reverted(transaction)),
    }
}

/// The transactions the facilitator broadcast for a payment, and who pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub sent: Sent,
    pub payer: Address,
}

/// A payment's mined transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub transaction: B256,
    pub payer: Address,
    pub block_number: Option<u64>,
}

/// Waits for the receipt of a submitted payment (any of its transactions, after fee bumps).
pub async fn confirm_submitted<H: HttpTransport, C: Clock, E: From<TxError>>(
    ctx: &EvmContext<'_, H, C>,
    submitted: &Submitted,
) -> Result<Settlement, E> {
    let mined = match answered(&submitted.sent) {
        Some(known) => known?,
        None => confirm(ctx, &submitted.sent.transactions).await?,
    };
    Ok(Settlement { transaction: mined.transaction, payer: submitted.payer, block_number: mined.block_number })
}

/// Waits for the receipt of a submitted payment, replacing a stuck transaction with fee bumps.
pub async fn confirm_submitted_with_fee_bumps<
    H: HttpTransport,
    C: Clock,
    S: EvmSigner,
    T: TxSender,
    L: Ledger,
    E: From<TxError>,
>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    submitted: &Submitted,
) -> Result<Settlement, E> {
    let mined = confirm_with_fee_bumps(ctx, signer, sender, journal, &submitted.sent).await?;
    Ok(Settlement { transaction: mined.transaction, payer: submitted.payer, block_number: mined.block_number })
}
