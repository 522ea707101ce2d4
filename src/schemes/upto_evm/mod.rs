//! `upto` on EVM, the daydreams scheme (protocol digest §6.2): the payer signs one EIP-2612 permit
//! with the facilitator as spender and a cap; payments under it are captured into a session and the
//! facilitator settles the pending sum in batches: `permit` once (when the allowance is not there
//! yet), then `transferFrom` of exactly the batch.
//!
//! Verify is pure (the checks of `upto/evm/verification.ts`, in order), so a capture on a known session
//! needs no RPC at all.

pub mod payload;
pub mod session_id;

pub use payload::PermitPayload;

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;

use crate::chains::evm::contracts::{revert_reason, IEip2612Token, MULTICALL3_CODE};
use crate::chains::evm::sender::TxSender;
use crate::chains::evm::signature::{EcdsaSignature, SignatureError};
use crate::chains::evm::value_probe::{call, Movement, ProbeError};
use crate::chains::evm::{eip2612, eip3009, rpc};
use crate::chains::jsonrpc::RpcError;
use crate::ledger::{Ledger, LedgerJournal};
use crate::ports::{Clock, EvmSigner, HttpTransport};
use crate::protocol::amount::parse_decimal_u256;
use crate::protocol::model::PaymentRequest;
use crate::protocol::normalize::parse_evm_address;
use crate::protocol::Reason;
use crate::schemes::evm_tx::{self, EvmContext, Mined, Read, TxError};
use crate::upto::Session;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UptoError {
    #[error("payload scheme `{accepted}` and requirements scheme `{required}` must both be `upto`")]
    SchemeMismatch { accepted: String, required: String },
    #[error("payload network `{accepted}` differs from requirements network `{required}`")]
    NetworkMismatch { accepted: String, required: String },
    #[error("accepted.{field} `{accepted}` is not the requirements' `{required}`")]
    AcceptedMismatch { field: &'static str, accepted: String, required: String },
    #[error("accepted.amount `{amount}` is not an amount within the permit's cap {cap}")]
    AcceptedAboveCap { amount: String, cap: U256 },
    #[error("paymentRequirements.extra must give the token's EIP-712 domain as `name` and `version`")]
    MissingDomain,
    #[error("paymentRequirements.{0} is not an EVM address")]
    InvalidRequirements(&'static str),
    #[error("the permit's spender {0} is not this facilitator")]
    SpenderNotFacilitator(Address),
    #[error("the permit's cap {cap} is below the amount {amount}")]
    CapTooLow { cap: U256, amount: U256 },
    #[error("the permit's cap {cap} is below the required maximum {max}")]
    CapBelowRequiredMax { cap: U256, max: U256 },
    #[error("the permit expires at {deadline}, too soon for a batch to land before it (now {now})")]
    Expired { deadline: U256, now: u64 },
    #[error("the network has no EVM chain id")]
    InvalidChainId,
    #[error("the permit signature was not made by the owner: {0}")]
    Signature(String),
    #[error("only 65-byte ECDSA permit signatures are supported (got {0} bytes)")]
    UnsupportedSignatureType(usize),
    #[error("the owner's allowance {allowance} for the facilitator is below the batch {amount}, and the permit was already used")]
    InsufficientAllowance { allowance: U256, amount: U256 },
    #[error("the owner's balance {balance} is below the batch {amount}")]
    InsufficientBalance { balance: U256, amount: U256 },
    #[error("the permit could not be submitted: {0}")]
    PermitFailed(String),
    #[error("simulating the batch does not show the amount moving from the owner to payTo: {0}; nothing was sent")]
    ValueNotMoved(String),
    #[error("the RPC endpoint serves chain {actual}, not {expected}")]
    WrongChain { expected: u64, actual: u64 },
    #[error(transparent)]
    Tx(TxError),
}

impl From<TxError> for UptoError {
    fn from(e: TxError) -> Self {
        UptoError::Tx(e)
    }
}

impl From<RpcError> for UptoError {
    fn from(e: RpcError) -> Self {
        UptoError::Tx(TxError::Rpc(e))
    }
}

impl UptoError {
    pub fn reason(&self) -> Reason {
        use UptoError::*;
        match self {
            SchemeMismatch { .. } => Reason::UnsupportedScheme,
            NetworkMismatch { .. } => Reason::NetworkMismatch,
            AcceptedMismatch { .. } | AcceptedAboveCap { .. } => Reason::UptoAcceptedMismatch,
            MissingDomain => Reason::UptoMissingEip712Domain,
            InvalidRequirements(_) => Reason::InvalidPaymentRequirements,
            SpenderNotFacilitator(_) => Reason::UptoSpenderNotFacilitator,
            CapTooLow { .. } => Reason::UptoCapTooLow,
            CapBelowRequiredMax { .. } => Reason::UptoCapBelowRequiredMax,
            Expired { .. } => Reason::UptoAuthorizationExpired,
            InvalidChainId => Reason::UptoInvalidChainId,
            Signature(_) => Reason::UptoPermitSignature,
            UnsupportedSignatureType(_) => Reason::UptoUnsupportedSignatureType,
            InsufficientAllowance { .. } => Reason::UptoInsufficientAllowance,
            InsufficientBalance { .. } => Reason::UptoInsufficientBalance,
            PermitFailed(_) => Reason::UptoPermitFailed,
            ValueNotMoved(_) => Reason::EvmTransferMismatch,
            WrongChain { .. } | Tx(TxError::Rpc(_)) => Reason::UnexpectedSettleError,
            Tx(TxError::GasPriceAboveCeiling { .. } | TxError::GasAboveCeiling { .. }) => Reason::GasCeilingExceeded,
            Tx(TxError::Reverted(_)) => Reason::UptoTransactionReverted,
            Tx(TxError::ReceiptTimeout { .. }) => Reason::UptoReceiptUnavailable,
            Tx(TxError::Estimate(_) | TxError::Send(_)) => Reason::TransactionFailed,
        }
    }

    /// Whether the batch's transaction may have been sent and its outcome is not known yet.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, UptoError::Tx(TxError::ReceiptTimeout { .. }))
    }

    /// The batch transaction this failure concerns, when one was sent.
    pub fn transaction(&self) -> Option<alloy_primitives::B256> {
        match self {
            UptoError::Tx(TxError::Reverted(hash) | TxError::ReceiptTimeout { hash, .. }) => Some(*hash),
            _ => None,
        }
    }
}

/// A payment under a valid permit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The session the permit opens: its canonical id.
    pub session_id: String,
    pub owner: Address,
    pub asset: Address,
    pub pay_to: Address,
    /// The token's EIP-712 domain.
    pub name: String,
    pub version: String,
}

/// The checks of the daydreams verifier, in its order. `facilitators` are the spenders this
/// facilitator settles as.
pub fn verify<P>(
    request: &PaymentRequest<P>,
    permit: &PermitPayload,
    facilitators: &[Address],
    now_secs: u64,
) -> Result<Verified, UptoError> {
    let requirements = &request.requirements;
    if request.accepted.scheme != "upto" || requirements.scheme != "upto" {
        return Err(UptoError::SchemeMismatch {
            accepted: request.accepted.scheme.clone(),
            required: requirements.scheme.clone(),
        });
    }
    if crate::network::find(&request.accepted.network) != Some(request.network) {
        return Err(UptoError::NetworkMismatch {
            accepted: request.accepted.network.clone(),
            required: requirements.network.clone(),
        });
    }
    let (Some(name), Some(version)) = (requirements.extra_str("name"), requirements.extra_str("version")) else {
        return Err(UptoError::MissingDomain);
    };
    if !facilitators.contains(&permit.spender) {
        return Err(UptoError::SpenderNotFacilitator(permit.spender));
    }
    if permit.cap < requirements.amount {
        return Err(UptoError::CapTooLow { cap: permit.cap, amount: requirements.amount });
    }
    let max =
        ["maxAmountRequired", "maxAmount"].iter().find_map(|k| requirements.extra_str(k)).and_then(parse_decimal_u256);
    if let Some(max) = max.filter(|m| !m.is_zero() && permit.cap < *m) {
        return Err(UptoError::CapBelowRequiredMax { cap: permit.cap, max });
    }
    if permit.deadline < U256::from(now_secs) + U256::from(request.network.expiry_margin_secs()) {
        return Err(UptoError::Expired { deadline: permit.deadline, now: now_secs });
    }
    let chain_id = request.network.chain_id.ok_or(UptoError::InvalidChainId)?;
    let asset = parse_evm_address(&requirements.asset).ok_or(UptoError::InvalidRequirements("asset"))?;
    let pay_to = parse_evm_address(&requirements.pay_to).ok_or(UptoError::InvalidRequirements("payTo"))?;
    check_accepted_is_the_requirements(request, permit.cap, asset, pay_to)?;
    check_permit_signature(permit, name, version, chain_id, asset)?;
    Ok(Verified {
        session_id: permit.session_id.clone(),
        owner: permit.owner,
        asset,
        pay_to,
        name: name.to_string(),
        version: version.to_string(),
    })
}

/// `accepted` names the requirements' asset and recipient (as addresses, however spelled) and an amount
/// within the cap: the session id is derived from `accepted`, the session pays `payTo`.
fn check_accepted_is_the_requirements<P>(
    request: &PaymentRequest<P>,
    cap: U256,
    asset: Address,
    pay_to: Address,
) -> Result<(), UptoError> {
    let accepted = &request.accepted;
    let same = |field, sent: &Option<String>, required: Address, wire: &str| match sent {
        Some(text) if parse_evm_address(text) == Some(required) => Ok(()),
        other => Err(UptoError::AcceptedMismatch {
            field,
            accepted: other.clone().unwrap_or_default(),
            required: wire.to_string(),
        }),
    };
    same("asset", &accepted.asset, asset, &request.requirements.asset)?;
    same("payTo", &accepted.pay_to, pay_to, &request.requirements.pay_to)?;
    match accepted.amount.as_deref().map(|a| (a, parse_decimal_u256(a))) {
        Some((_, Some(amount))) if amount <= cap => Ok(()),
        other => {
            Err(UptoError::AcceptedAboveCap { amount: other.map(|(a, _)| a.to_string()).unwrap_or_default(), cap })
        }
    }
}

fn check_permit_signature(
    permit: &PermitPayload,
    name: &str,
    version: &str,
    chain_id: u64,
    asset: Address,
) -> Result<(), UptoError> {
    let signature = match EcdsaSignature::parse(&permit.signature) {
        Ok(signature) => signature,
        Err(SignatureError::Length(n)) if n > 65 => return Err(UptoError::UnsupportedSignatureType(n)),
        Err(e) => return Err(UptoError::Signature(e.to_string())),
    };
    let domain = eip3009::domain(name, version, chain_id, asset);
    let digest =
        eip2612::signing_hash(permit.owner, permit.spender, permit.cap, permit.nonce, permit.deadline, &domain);
    match signature.recover(&digest) {
        Ok(signer) if signer == permit.owner => Ok(()),
        Ok(signer) => Err(UptoError::Signature(format!("it recovers to {signer}"))),
        Err(e) => Err(UptoError::Signature(e.to_string())),
    }
}

/// Settles `amount` of `session` on chain: `permit` while the session's permit is unused (its nonce is
/// the token's), else the allowance it set must cover the batch; then `transferFrom(owner, payTo, amount)`,
/// journaled under the batch's ledger key and confirmed with fee bumps. Before anything is sent the
/// batch is simulated and must move the amount ([`simulate_batch`]).
pub async fn settle_batch<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    journal: &LedgerJournal<'_, L>,
    session: &Session,
    amount: U256,
) -> Result<Mined, UptoError> {
    let (owner, spender, token) = (session.owner, session.spender, session.asset);
    let mut calls = vec![
        rpc::chain_id(),
        rpc::eth_call(None, token, &IEip2612Token::allowanceCall { owner, spender }.abi_encode()),
        rpc::eth_call(None, token, &IEip2612Token::noncesCall { owner }.abi_encode()),
        rpc::eth_call(None, token, &IEip2612Token::balanceOfCall { account: owner }.abi_encode()),
    ];
    calls.extend(evm_tx::fee_calls());
    let reads = ctx.rpc.batch(&calls).await?;
    let [chain, allowance, nonce, balance, block, tip, gas_price] =
        <[Read; 7]>::try_from(reads).map_err(|_| RpcError::Malformed("short batch".into()))?;
    let actual = rpc::quantity_u64(&chain?)?;
    if actual != ctx.chain_id() {
        return Err(UptoError::WrongChain { expected: ctx.chain_id(), actual });
    }
    let word = |read: Read| -> Result<U256, UptoError> {
        let data = rpc::data(&read?)?;
        Ok(U256::try_from_be_slice(&data)
            .filter(|_| data.len() == 32)
            .ok_or_else(|| RpcError::Malformed("not a uint256".into()))?)
    };
    let balance = word(balance)?;
    if balance < amount {
        return Err(UptoError::InsufficientBalance { balance, amount });
    }
    let fees = evm_tx::fees(&block, &tip, &gas_price)?;
    let allowance = word(allowance)?;
    // The session's own permit is submitted whenever it is still unused (its nonce is the token's), even
    // if an older permit's allowance would cover the batch: the newer permit replaces the allowance, and
    // the chain's nonce keeps up with the permits the facilitator admitted.
    let permit = if word(nonce)? == session.permit_nonce {
        Some(permit_calldata(ctx, session)?)
    } else if allowance < amount {
        return Err(UptoError::InsufficientAllowance { allowance, amount });
    } else {
        None
    };
    simulate_batch(ctx, session, amount, permit.as_deref()).await?;
    if let Some(permit) = permit {
        submit_permit(ctx, signer, sender, journal.ledger, session, permit, fees).await?;
    }
    let transfer = IEip2612Token::transferFromCall { from: owner, to: session.pay_to, value: amount }.abi_encode();
    let gas_limit = evm_tx::gas_limit(&estimate_gas(ctx, signer.address(), token, &transfer).await)?;
    let call = evm_tx::unsigned_call(ctx, token, transfer, fees, gas_limit, ctx.gas.max_gas_per_settle)?;
    let sent = evm_tx::send(ctx, signer, sender, journal, call).await?;
    Ok(evm_tx::confirm_with_fee_bumps(ctx, signer, sender, journal, &sent).await?)
}

/// Simulates the batch as the spender will send it (the permit when it is due, then `transferFrom`)
/// between reads of payTo's and the owner's balances, and requires payTo to gain exactly `amount` and
/// the owner to lose it; a contract posing as a token, which answers success and moves nothing, gets
/// no transaction.
///
/// `transferFrom` spends the allowance of its caller, so the simulation must run with `msg.sender` =
/// the spender. Multicall3 at its own address would be the caller (it has no allowance), and separate
/// `eth_call`s share no state (the permit's allowance, the balances after). So Multicall3's runtime
/// code ([`MULTICALL3_CODE`]) is put at the spender's address for this one `eth_call` (a state
/// override): `aggregate3` then runs *as the spender*, each call with `msg.sender` = the spender
/// exactly as the facilitator's own transactions will, all in one call.
async fn simulate_batch<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    session: &Session,
    amount: U256,
    permit: Option<&[u8]>,
) -> Result<(), UptoError> {
    let token = session.asset;
    let movement = Movement { token, payer: session.owner, payee: session.pay_to, amount };
    let transfer = IEip2612Token::transferFromCall { from: session.owner, to: session.pay_to, value: amount };
    let mut steps: Vec<_> = permit.map(|p| call(token, p)).into_iter().collect();
    steps.push(call(token, &transfer.abi_encode()));
    let count = steps.len();
    let simulation = rpc::eth_call_as(session.spender, MULTICALL3_CODE, &movement.aggregate3(Vec::new(), steps));
    let answer = ctx.rpc.call(simulation.method, simulation.params).await;
    let results = match movement.results(&answer, 0, count) {
        Ok(results) => results,
        Err(ProbeError::Node(e)) => return Err(e.into()),
        Err(ProbeError::Undecodable(reason)) => return Err(UptoError::ValueNotMoved(reason)),
    };
    let (transferred, permitted) = match results.steps.split_last() {
        Some((last, rest)) => (last, rest.first()),
        None => return Err(UptoError::ValueNotMoved("the simulation answered without the transfer".into())),
    };
    if let Some(permitted) = permitted.filter(|p| !p.success) {
        return Err(UptoError::PermitFailed(revert_reason(&permitted.returnData)));
    }
    if !transferred.success {
        let reason = format!("simulating transferFrom reverted: {}", revert_reason(&transferred.returnData));
        return Err(UptoError::Tx(TxError::Estimate(reason)));
    }
    // Tokens that return nothing (USDT-style) are judged by the balances alone.
    if IEip2612Token::transferFromCall::abi_decode_returns(&transferred.returnData) == Ok(false) {
        return Err(UptoError::ValueNotMoved("transferFrom returned false".into()));
    }
    results.check_moved(amount).map_err(UptoError::ValueNotMoved)
}

/// The session's `permit` call, while its deadline has not passed.
fn permit_calldata<H, C: Clock>(ctx: &EvmContext<'_, H, C>, session: &Session) -> Result<Vec<u8>, UptoError> {
    if session.deadline <= ctx.clock.now_secs() {
        return Err(UptoError::PermitFailed("the permit's deadline has passed".into()));
    }
    let signature = EcdsaSignature::parse(&session.signature)
        .map_err(|_| UptoError::UnsupportedSignatureType(session.signature.len()))?;
    let permit = IEip2612Token::permitCall {
        owner: session.owner,
        spender: session.spender,
        value: session.cap,
        deadline: session.signed_deadline.unwrap_or(U256::from(session.deadline)),
        v: signature.v(),
        r: signature.r.into(),
        s: signature.s.into(),
    }
    .abi_encode();
    Ok(permit)
}

/// Sends the session's permit and waits for it. Not journaled as the batch's transaction: a lost
/// permit is seen in the allowance (or the nonce) by the retry.
async fn submit_permit<H: HttpTransport, C: Clock, S: EvmSigner, T: TxSender, L: Ledger>(
    ctx: &EvmContext<'_, H, C>,
    signer: &S,
    sender: &T,
    ledger: &L,
    session: &Session,
    permit: Vec<u8>,
    fees: crate::chains::evm::tx::Fees,
) -> Result<(), UptoError> {
    let estimate = estimate_gas(ctx, signer.address(), session.asset, &permit).await;
    let gas_limit = evm_tx::gas_limit(&estimate).map_err(|e| UptoError::PermitFailed(e.to_string()))?;
    let call = evm_tx::unsigned_call(ctx, session.asset, permit, fees, gas_limit, ctx.gas.max_gas_per_settle)?;
    let untracked = LedgerJournal { ledger, key: None };
    let sent = evm_tx::send(ctx, signer, sender, &untracked, call).await?;
    match evm_tx::confirm(ctx, &sent.transactions).await {
        Ok(_) => Ok(()),
        Err(e) => Err(UptoError::PermitFailed(e.to_string())),
    }
}

async fn estimate_gas<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    from: Address,
    to: Address,
    data: &[u8],
) -> Read {
    let call = rpc::estimate_gas(from, to, data);
    ctx.rpc.call(call.method, call.params).await
}

#[cfg(test)]
mod tests;
