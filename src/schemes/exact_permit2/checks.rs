//! The pure checks of an `exact` Permit2 payment, one function per rule, each returning one typed
//! error, in the reference's order (`@x402/evm` `exact/facilitator/permit2.ts` `verifyPermit2`).
//! The rules both x402 Permit2 proxies share (recipient, deadline, validAfter, amount, token,
//! signature, the gas-sponsoring extensions) serve `upto_permit2` too.

use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{Transaction, TxEnvelope};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{uint, Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;

use super::error::ExactPermit2Error;
use super::payload::{Eip2612Extension, Erc20ApprovalExtension, Permit2Payload};
use crate::chains::evm::permit2::{EIP2612Permit, IErc20, IX402ExactPermit2Proxy, APPROVE_SELECTOR, PERMIT2};
use crate::chains::evm::signature::{is_erc6492, EcdsaSignature, Erc6492Signature, SignatureError};
use crate::protocol::model::{PaymentRequest, Requirements};
use crate::protocol::normalize::parse_evm_address;

/// secp256k1's group order: a high-s signature `(r, s)` is the same signature as `(r, n - s)` with
/// the other parity, and Permit2's `ecrecover` accepts both.
const SECP256K1_ORDER: U256 = uint!(0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141_U256);

pub fn check_scheme<P>(request: &PaymentRequest<P>) -> Result<(), ExactPermit2Error> {
    if request.accepted.scheme != "exact" || request.requirements.scheme != "exact" {
        return Err(ExactPermit2Error::SchemeMismatch {
            accepted: request.accepted.scheme.clone(),
            required: request.requirements.scheme.clone(),
        });
    }
    Ok(())
}

pub fn check_network<P>(request: &PaymentRequest<P>) -> Result<(), ExactPermit2Error> {
    if crate::network::find(&request.accepted.network) != Some(request.network) {
        return Err(ExactPermit2Error::NetworkMismatch {
            accepted: request.accepted.network.clone(),
            required: request.requirements.network.clone(),
        });
    }
    Ok(())
}

pub fn parse_asset(requirements: &Requirements) -> Result<Address, ExactPermit2Error> {
    parse_evm_address(&requirements.asset).ok_or(ExactPermit2Error::InvalidAsset)
}

/// The scheme's own proxy (`exact`: the exact proxy; `upto`: the upto proxy), never Permit2 itself
/// nor the other proxy: Permit2 checks the signature against `msg.sender`, so only the proxy named
/// can use it, and only the exact proxy moves exactly the permitted amount to `witness.to`.
pub fn check_spender(payload: &Permit2Payload, proxy: Address) -> Result<(), ExactPermit2Error> {
    if payload.spender != proxy {
        return Err(ExactPermit2Error::WrongSpender(payload.spender));
    }
    Ok(())
}

/// `witness.to` is `payTo`, and not the payer (a self-payment moves nothing and costs our gas).
pub fn check_recipient(payload: &Permit2Payload, requirements: &Requirements) -> Result<(), ExactPermit2Error> {
    let pay_to = parse_evm_address(&requirements.pay_to).ok_or(ExactPermit2Error::InvalidPayTo)?;
    if payload.to != pay_to {
        return Err(ExactPermit2Error::RecipientMismatch { to: payload.to, pay_to });
    }
    if payload.to == payload.from {
        return Err(ExactPermit2Error::SelfPayment);
    }
    Ok(())
}

/// The permit's `deadline` is at least `margin_secs` away (see
/// [`crate::network::Network::expiry_margin_secs`]).
pub fn check_deadline(payload: &Permit2Payload, now: u64, margin_secs: u64) -> Result<(), ExactPermit2Error> {
    if payload.deadline < U256::from(now) + U256::from(margin_secs) {
        return Err(ExactPermit2Error::DeadlineExpired { deadline: payload.deadline, now });
    }
    Ok(())
}

pub fn check_valid_after(payload: &Permit2Payload, now: u64) -> Result<(), ExactPermit2Error> {
    if payload.valid_after > U256::from(now) {
        return Err(ExactPermit2Error::NotYetValid { valid_after: payload.valid_after, now });
    }
    Ok(())
}

/// Exactly the required amount (the exact proxy always moves all of `permitted.amount`; the upto cap
/// is `requirements.amount` at verify), never zero.
pub fn check_amount(payload: &Permit2Payload, required: U256) -> Result<(), ExactPermit2Error> {
    if payload.amount != required {
        return Err(ExactPermit2Error::AmountMismatch { amount: payload.amount, required });
    }
    if payload.amount.is_zero() {
        return Err(ExactPermit2Error::ZeroAmount);
    }
    Ok(())
}

pub fn check_token(payload: &Permit2Payload, asset: Address) -> Result<(), ExactPermit2Error> {
    if payload.token != asset {
        return Err(ExactPermit2Error::TokenMismatch { token: payload.token, asset });
    }
    Ok(())
}

/// What the pure part of the signature check found; the chain decides which verdict applies.
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureCheck {
    /// The Permit2 EIP-712 digest the payer signed.
    pub digest: B256,
    /// The signature Permit2 is given (the inner one of an ERC-6492 wrapper, as the reference's
    /// settle unwraps it).
    pub signature: Bytes,
    /// The verdict when `from` has no code: Permit2 then uses `ecrecover`. With code it asks the
    /// wallet (ERC-1271), with no ECDSA fallback (`@x402/evm` `verifySignature.ts`).
    pub ecdsa: Result<(), ExactPermit2Error>,
}

pub fn check_signature(payload: &Permit2Payload, chain_id: u64) -> Result<SignatureCheck, ExactPermit2Error> {
    check_signature_of(payload, payload.signed().signing_hash(chain_id))
}

/// The signature over `digest` (the Permit2 digest of the scheme's witness types).
pub fn check_signature_of(payload: &Permit2Payload, digest: B256) -> Result<SignatureCheck, ExactPermit2Error> {
    let bytes = payload.signature.as_ref();
    let signature: Bytes = if is_erc6492(bytes) {
        Erc6492Signature::parse(bytes).map_err(ExactPermit2Error::MalformedSignature)?.signature
    } else {
        payload.signature.clone()
    };
    let ecdsa = recover(&signature, &digest).and_then(|recovered| match recovered == payload.from {
        true => Ok(()),
        false => Err(ExactPermit2Error::WrongSigner { recovered }),
    });
    Ok(SignatureCheck { digest, signature, ecdsa })
}

/// The signer `ecrecover` finds for a 65-byte `r ‖ s ‖ v` signature, as Permit2 calls it: `v` must
/// be 27 or 28 (`ecrecover` answers nothing for 0 or 1), a high `s` is accepted.
fn recover(signature: &[u8], digest: &B256) -> Result<Address, ExactPermit2Error> {
    let parsed = EcdsaSignature::parse(signature).map_err(ExactPermit2Error::MalformedSignature)?;
    if !matches!(signature[64], 27 | 28) {
        return Err(ExactPermit2Error::MalformedSignature(SignatureError::V(signature[64])));
    }
    let s = U256::from_be_bytes(parsed.s);
    let low = if s > SECP256K1_ORDER >> 1 && s < SECP256K1_ORDER {
        EcdsaSignature { s: (SECP256K1_ORDER - s).to_be_bytes(), y_odd: !parsed.y_odd, ..parsed }
    } else {
        parsed
    };
    low.recover(digest).map_err(ExactPermit2Error::MalformedSignature)
}

/// The EIP-2612 extension, when present (`validateEip2612PermitForPayment`, plus the proxy's own
/// rule that the permit's value equals `permitted.amount`).
pub fn check_eip2612(
    payload: &Permit2Payload,
    asset: Address,
    now: u64,
    margin_secs: u64,
) -> Result<Option<&Eip2612Extension>, ExactPermit2Error> {
    let info = match &payload.eip2612 {
        None => return Ok(None),
        Some(Err(why)) => return Err(ExactPermit2Error::Eip2612Format(why.clone())),
        Some(Ok(info)) => info,
    };
    if info.signature.len() != 65 {
        return Err(ExactPermit2Error::Eip2612Format(format!("signature is {} bytes, not 65", info.signature.len())));
    }
    if info.from != payload.from {
        return Err(ExactPermit2Error::Eip2612FromMismatch(info.from));
    }
    if info.asset != asset {
        return Err(ExactPermit2Error::Eip2612AssetMismatch(info.asset));
    }
    if info.spender != PERMIT2 {
        return Err(ExactPermit2Error::Eip2612SpenderNotPermit2(info.spender));
    }
    if info.deadline < U256::from(now) + U256::from(margin_secs) {
        return Err(ExactPermit2Error::Eip2612DeadlineExpired { deadline: info.deadline, now });
    }
    if info.amount != payload.amount {
        return Err(ExactPermit2Error::Eip2612AmountMismatch { permit: info.amount, permitted: payload.amount });
    }
    Ok(Some(info))
}

/// The payer's approval transaction, checked and ready to broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalTx {
    pub raw: Bytes,
    pub hash: B256,
    pub nonce: u64,
    /// The most it can cost its sender: gas limit × max fee per gas (its value is zero).
    pub max_cost: U256,
}

/// The ERC-20 approval extension, when present (`validateErc20ApprovalForPayment`): the info's
/// fields, then the signed transaction field by field. Beyond the reference: the transaction is for
/// this chain, sends no value, approves at least the amount, and is of a type a node relays as is
/// (legacy, EIP-2930, EIP-1559).
pub fn check_erc20_approval(
    payload: &Permit2Payload,
    asset: Address,
    chain_id: u64,
) -> Result<Option<ApprovalTx>, ExactPermit2Error> {
    let info = match &payload.erc20_approval {
        None => return Ok(None),
        Some(Err(why)) => return Err(ExactPermit2Error::Erc20ApprovalFormat(why.clone())),
        Some(Ok(info)) => info,
    };
    check_approval_info(info, payload, asset)?;
    let envelope = parse_approval(&info.signed_transaction)?;
    check_approval_call(&envelope, payload, asset, chain_id)?;
    let signer = envelope.recover_signer().map_err(|_| ExactPermit2Error::ApprovalTxInvalidSignature)?;
    if signer != payload.from {
        return Err(ExactPermit2Error::ApprovalTxSignerMismatch(signer));
    }
    let max_cost = U256::from(envelope.gas_limit()) * U256::from(envelope.max_fee_per_gas());
    Ok(Some(ApprovalTx {
        raw: info.signed_transaction.clone(),
        hash: *envelope.tx_hash(),
        nonce: envelope.nonce(),
        max_cost,
    }))
}

fn check_approval_info(
    info: &Erc20ApprovalExtension,
    payload: &Permit2Payload,
    asset: Address,
) -> Result<(), ExactPermit2Error> {
    if info.from != payload.from {
        return Err(ExactPermit2Error::Erc20ApprovalFromMismatch(info.from));
    }
    if info.asset != asset {
        return Err(ExactPermit2Error::Erc20ApprovalAssetMismatch(info.asset));
    }
    if info.spender != PERMIT2 {
        return Err(ExactPermit2Error::Erc20ApprovalSpenderNotPermit2(info.spender));
    }
    Ok(())
}

fn parse_approval(raw: &[u8]) -> Result<TxEnvelope, ExactPermit2Error> {
    let mut rest = raw;
    let envelope =
        TxEnvelope::decode_2718(&mut rest).map_err(|e| ExactPermit2Error::ApprovalTxParseFailed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(ExactPermit2Error::ApprovalTxParseFailed(format!("{} bytes after the transaction", rest.len())));
    }
    match envelope {
        TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) | TxEnvelope::Eip1559(_) => Ok(envelope),
        _ => Err(ExactPermit2Error::ApprovalTxParseFailed(format!(
            "a type {} transaction; only legacy, EIP-2930 and EIP-1559 ones are relayed",
            u8::from(envelope.tx_type())
        ))),
    }
}

fn check_approval_call(
    envelope: &TxEnvelope,
    payload: &Permit2Payload,
    asset: Address,
    chain_id: u64,
) -> Result<(), ExactPermit2Error> {
    match envelope.to() {
        Some(to) if to == asset => {}
        to => return Err(ExactPermit2Error::ApprovalTxWrongTarget(format!("targets {to:?}, not the token {asset}"))),
    }
    if envelope.chain_id() != Some(chain_id) {
        let on = envelope.chain_id();
        return Err(ExactPermit2Error::ApprovalTxWrongTarget(format!("is for chain {on:?}, not {chain_id}")));
    }
    let input = envelope.input();
    if input.get(..4) != Some(&APPROVE_SELECTOR[..]) {
        return Err(ExactPermit2Error::ApprovalTxWrongSelector);
    }
    let approve = IErc20::approveCall::abi_decode(input).map_err(|_| {
        ExactPermit2Error::ApprovalTxInvalidCalldata("does not decode as approve(address,uint256)".into())
    })?;
    if approve.spender != PERMIT2 {
        return Err(ExactPermit2Error::ApprovalTxWrongSpender(approve.spender));
    }
    if approve.amount < payload.amount {
        let message = format!("approves {}, less than permitted.amount {}", approve.amount, payload.amount);
        return Err(ExactPermit2Error::ApprovalTxInvalidCalldata(message));
    }
    if !envelope.value().is_zero() {
        return Err(ExactPermit2Error::ApprovalTxInvalidCalldata(format!("sends {} wei", envelope.value())));
    }
    Ok(())
}

/// What the facilitator has enabled beyond the plain scheme.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// The `erc20ApprovalGasSponsoring` extension: relay the payer's signed `approve(Permit2, …)`
    /// before the settle. Off unless configured, as in the reference (an extension the facilitator
    /// registers); the EIP-2612 extension needs no switch (the reference uses it whenever present).
    pub erc20_approval: bool,
}

/// How the allowance to Permit2 is provided.
#[derive(Debug, Clone, PartialEq)]
pub enum Sponsoring {
    /// Already on chain (or missing: the diagnosis says so).
    None,
    /// An EIP-2612 permit, submitted by the proxy's `settleWithPermit`.
    Eip2612,
    /// The payer's signed approval, broadcast before the settle when the allowance is short.
    Erc20Approval(ApprovalTx),
}

/// The gas-sponsoring extension a payment comes with: the valid EIP-2612 permit the proxy call
/// carries (`settleWithPermit`), and the verdict on the extensions (`Err`: refused in its place, after
/// the signature). The ERC-20 approval counts only when `options` enable it.
pub fn check_sponsoring(
    payload: &Permit2Payload,
    asset: Address,
    chain_id: u64,
    now: u64,
    margin_secs: u64,
    options: Options,
) -> (Option<&Eip2612Extension>, Result<Sponsoring, ExactPermit2Error>) {
    match check_eip2612(payload, asset, now, margin_secs) {
        Ok(Some(info)) => (Some(info), Ok(Sponsoring::Eip2612)),
        Err(e) => (None, Err(e)),
        Ok(None) if !options.erc20_approval => (None, Ok(Sponsoring::None)),
        Ok(None) => {
            let approval = check_erc20_approval(payload, asset, chain_id);
            (None, approval.map(|tx| tx.map_or(Sponsoring::None, Sponsoring::Erc20Approval)))
        }
    }
}

/// A payment that passed every pure check, ready for the chain.
pub struct Prepared<'p> {
    pub payload: &'p Permit2Payload,
    pub asset: Address,
    pub signature: SignatureCheck,
    /// The extension's verdict, reported after the signature's as the reference orders them.
    pub sponsoring: Result<Sponsoring, ExactPermit2Error>,
    pub call: ProxyCall,
}

/// The proxy call of a payment: simulated (and probed) by verify, estimated and sent by settle.
pub struct ProxyCall {
    /// The scheme's proxy, the payment's `spender`.
    pub proxy: Address,
    /// `settle`, or `settleWithPermit` with an EIP-2612 permit, moving all of `permitted.amount`
    /// (the exact amount; the upto cap): what is simulated and what the probe must see moved.
    pub simulated: Vec<u8>,
    /// What is estimated and sent: the simulated call, or the upto proxy's for the charge.
    pub sent: Vec<u8>,
    /// The only caller the proxy accepts (the upto proxy: `witness.facilitator`): the simulation runs
    /// from it, and so does the probe (Multicall3's code at its address). `None`: any caller.
    pub bound_caller: Option<Address>,
}

impl ProxyCall {
    /// A call to a proxy any caller may make, sent as simulated.
    pub fn unbound(proxy: Address, calldata: Vec<u8>) -> ProxyCall {
        ProxyCall { proxy, simulated: calldata.clone(), sent: calldata, bound_caller: None }
    }
}

/// `settle(permit, owner, witness, signature)`, or `settleWithPermit(permit2612, …)` when an
/// EIP-2612 permit comes with the payment (`buildExactPermit2SettleArgs`).
pub fn settle_calldata(
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
            let permit2612 = info.permit2612();
            IX402ExactPermit2Proxy::settleWithPermitCall { permit2612, permit, owner, witness, signature }.abi_encode()
        }
    }
}

impl Eip2612Extension {
    /// The permit as both proxies' `settleWithPermit` take it (the signature is 65 bytes, as
    /// [`check_eip2612`] made sure).
    pub fn permit2612(&self) -> EIP2612Permit {
        let sig = self.signature.as_ref();
        let part = |range: std::ops::Range<usize>| sig.get(range).map(B256::from_slice).unwrap_or_default();
        let v = sig.get(64).copied().unwrap_or_default();
        EIP2612Permit { value: self.amount, deadline: self.deadline, r: part(0..32), s: part(32..64), v }
    }
}
