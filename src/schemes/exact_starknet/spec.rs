//! The pure rules of the registered spec's dialect (`scheme_exact_starknet.md`, the `extra.feePayer`
//! text; protocol notes in `starknet-spec.md`): x402 v2 only; `accepted` equals the requirements field
//! by field; `extra.feePayer` is an account this facilitator settles through and the signed `Caller`
//! (no `ANY_CALLER`); one `transfer(payTo, amount)` on the asset; the clock rules with a skew margin;
//! and the hash of the canonical rebuild of the typed data, never of the object received. The chain
//! rules (signature, nonce, balance, simulation) are in [`super::chain`].

use alloy_primitives::U256;
use serde_json::{Map, Value};

use super::checks::{check_not_self_payment, check_single_transfer, requirement_felt};
use super::payload::SpecPayload;
use super::{check_accepted, ExactStarknetError, VerifiedStarknet};
use crate::chains::starknet::{message_hash, parse_felt, Felt, OutsideExecution, OutsideExecutionVersion, ANY_CALLER};
use crate::protocol::amount::parse_decimal_u256;
use crate::protocol::model::{Accepted, PaymentRequest, Requirements, Version};

/// How far the facilitator's clock and the client's may differ (the spec allows up to 60 s; the
/// reference uses 30).
pub const SKEW_MARGIN_SECS: u64 = 30;
/// A settle needs this long before `Execute Before` (the spec's `minSettleMargin`, at least 30 s).
pub const MIN_SETTLE_MARGIN_SECS: u64 = 30;

/// The freshness rule (the authorization covers the whole advertised window) holds at /verify only:
/// the window necessarily shrinks before /settle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Verify,
    Settle,
}

/// What this facilitator accepts besides the requirements.
#[derive(Debug, Clone, Copy)]
pub struct SpecPolicy<'a> {
    /// The network's chain id (the typed data's domain must name it).
    pub chain_id: Felt,
    /// The accounts this facilitator settles through: the only `extra.feePayer`s it accepts.
    pub fee_payers: &'a [Felt],
    pub now_secs: u64,
    pub phase: Phase,
}

/// Every pure rule, in the reference's order; what the chain checks and the settle need.
pub fn verify_spec<P>(
    request: &PaymentRequest<P>,
    payload: &SpecPayload,
    policy: &SpecPolicy<'_>,
) -> Result<VerifiedStarknet, ExactStarknetError> {
    if request.version != Version::V2 {
        return Err(ExactStarknetError::Version(request.version.number()));
    }
    check_accepted(&request.accepted, &request.requirements.scheme, request.network)?;
    let required = &request.requirements;
    check_requirements(required)?;
    let asset = requirement_felt(&required.asset, "asset")?;
    let pay_to = requirement_felt(&required.pay_to, "payTo")?;
    check_not_self_payment(payload.from, pay_to)?;
    let fee_payer = fee_payer(required, payload.from, policy.fee_payers)?;
    check_accepted_fields(&request.accepted, payload, required, (asset, pay_to, fee_payer))?;
    if policy.fee_payers.contains(&payload.from) {
        return Err(ExactStarknetError::Field { field: "from", problem: "is an account of this facilitator".into() });
    }
    let execution = signed_execution(payload, policy.chain_id)?;
    check_single_transfer(&execution, &asset, &pay_to, required.amount)?;
    if execution.caller != fee_payer {
        return Err(ExactStarknetError::WrongCaller(execution.caller));
    }
    check_window(&execution, required.max_timeout_seconds, policy)?;
    let message_hash = message_hash(&execution.to_typed_data(), payload.from).map_err(ExactStarknetError::Hash)?;
    Ok(VerifiedStarknet {
        account: payload.from,
        signature: payload.signature.clone(),
        message_hash,
        token: asset,
        pay_to,
        amount: required.amount,
        execution,
    })
}

/// A window a client can sign (`Execute Before = now + maxTimeoutSeconds` must outlast the settle
/// margin), an amount, and the reserved flow keys at the one value this scheme implements.
fn check_requirements(required: &Requirements) -> Result<(), ExactStarknetError> {
    let problem = |field, problem: &str| ExactStarknetError::Requirement { field, problem: problem.into() };
    if required.max_timeout_seconds <= MIN_SETTLE_MARGIN_SECS {
        return Err(problem("maxTimeoutSeconds", &format!("must exceed {MIN_SETTLE_MARGIN_SECS} s")));
    }
    if required.amount.is_zero() {
        return Err(problem("amount", "must be positive"));
    }
    if !reserved_keys_declared(&required.extra) {
        return Err(problem("extra", "assetTransferMethod must be `default` and paymentFlow `authorization`"));
    }
    Ok(())
}

/// `assetTransferMethod` and `paymentFlow` (spec, latest text): absent, or this scheme's one value.
fn reserved_keys_declared(extra: &Map<String, Value>) -> bool {
    let is = |key: &str, value: &str| extra.get(key).is_none_or(|v| v.as_str() == Some(value));
    is("assetTransferMethod", "default") && is("paymentFlow", "authorization")
}

/// `extra.feePayer`: a concrete account this facilitator settles through. Zero, `ANY_CALLER` or the
/// payer would make the caller binding vacuous; another account's would be unsettleable here.
fn fee_payer(required: &Requirements, payer: Felt, ours: &[Felt]) -> Result<Felt, ExactStarknetError> {
    let refuse = |problem: &str| ExactStarknetError::Requirement { field: "extra.feePayer", problem: problem.into() };
    let text = required.extra_str("feePayer").ok_or_else(|| refuse("is required (the /supported kind's feePayer)"))?;
    let fee_payer = parse_felt(text).map_err(|e| refuse(&e.to_string()))?;
    match fee_payer {
        f if f == Felt::ZERO => Err(refuse("must not be zero")),
        f if f == ANY_CALLER => Err(refuse("must not be ANY_CALLER")),
        f if f == payer => Err(refuse("must not be the payer")),
        f if !ours.contains(&f) => Err(refuse("is not an account this facilitator settles through")),
        f => Ok(f),
    }
}

/// `accepted` names what the requirements do: asset, payTo, amount, maxTimeoutSeconds, feePayer
/// (addresses as felts), and no other flow.
fn check_accepted_fields(
    accepted: &Accepted,
    payload: &SpecPayload,
    required: &Requirements,
    (asset, pay_to, fee_payer): (Felt, Felt, Felt),
) -> Result<(), ExactStarknetError> {
    let felt_is = |text: Option<&str>, expected: Felt| text.and_then(|t| parse_felt(t).ok()) == Some(expected);
    let mismatch = ExactStarknetError::AcceptedMismatch;
    if !felt_is(accepted.asset.as_deref(), asset) {
        return Err(mismatch("asset"));
    }
    if !felt_is(accepted.pay_to.as_deref(), pay_to) {
        return Err(mismatch("payTo"));
    }
    if accepted.amount.as_deref().and_then(parse_decimal_u256) != Some(required.amount) {
        return Err(mismatch("amount"));
    }
    if payload.accepted_max_timeout_seconds != Some(required.max_timeout_seconds) {
        return Err(mismatch("maxTimeoutSeconds"));
    }
    if !felt_is(payload.accepted_extra.get("feePayer").and_then(Value::as_str), fee_payer) {
        return Err(mismatch("extra.feePayer"));
    }
    if !reserved_keys_declared(&payload.accepted_extra) {
        return Err(mismatch("extra"));
    }
    Ok(())
}

/// The SNIP-9 v2 outside execution the payer signed, for this network.
fn signed_execution(payload: &SpecPayload, chain_id: Felt) -> Result<OutsideExecution, ExactStarknetError> {
    let execution =
        OutsideExecution::from_typed_data(&payload.typed_data).map_err(ExactStarknetError::NotOutsideExecution)?;
    if execution.version != OutsideExecutionVersion::V2 {
        let problem = "must be a SNIP-9 v2 outside execution (SNIP-12 revision 1)".into();
        return Err(ExactStarknetError::Field { field: "typedData", problem });
    }
    if execution.chain_id != chain_id {
        return Err(ExactStarknetError::WrongChain { actual: execution.chain_id, expected: chain_id });
    }
    Ok(execution)
}

/// The spec's clock rules: `Execute After` well in the past; `Execute Before` beyond the settle margin,
/// covering the advertised window at /verify, and not beyond it (both with the skew margin).
fn check_window(
    execution: &OutsideExecution,
    max_timeout: u64,
    policy: &SpecPolicy<'_>,
) -> Result<(), ExactStarknetError> {
    let (now, before) = (policy.now_secs, execution.execute_before);
    if execution.execute_after >= now.saturating_sub(SKEW_MARGIN_SECS) {
        let (execute_after, skew) = (execution.execute_after, SKEW_MARGIN_SECS);
        return Err(ExactStarknetError::NotPastEnough { execute_after, now, skew });
    }
    if before <= now.saturating_add(MIN_SETTLE_MARGIN_SECS) {
        return Err(ExactStarknetError::Expired { execute_before: before, now, margin: MIN_SETTLE_MARGIN_SECS });
    }
    let required = now.saturating_add(max_timeout).saturating_sub(SKEW_MARGIN_SECS);
    if policy.phase == Phase::Verify && before < required {
        return Err(ExactStarknetError::ExpiresBeforeTimeout { execute_before: before, required });
    }
    let limit = now.saturating_add(max_timeout).saturating_add(SKEW_MARGIN_SECS);
    if before > limit {
        return Err(ExactStarknetError::WindowExceedsMaxTimeout { execute_before: before, limit });
    }
    Ok(())
}

/// The transfer a spec payment makes: what the simulation and the receipt must show, exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedTransfer {
    pub token: Felt,
    pub from: Felt,
    pub to: Felt,
    pub amount: U256,
}

impl VerifiedStarknet {
    pub fn expected_transfer(&self) -> ExpectedTransfer {
        ExpectedTransfer { token: self.token, from: self.account, to: self.pay_to, amount: self.amount }
    }
}
