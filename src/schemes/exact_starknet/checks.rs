//! The pure checks of an `exact` Starknet payment: the authorization against the requirements (as
//! x402-starknet checks it), then the binding the reference skips: the SNIP-9 outside execution the
//! account signed must make exactly one `transfer(payTo, amount)` on `asset`, agree with the
//! authorization, be submittable by us, and be inside its window.

use alloy_primitives::U256;
use serde_json::Value;

use super::error::ExactStarknetError;
use super::payload::StarknetPayload;
use crate::chains::starknet::felt::felt_to_u256;
use crate::chains::starknet::{felt_from_json, message_hash, parse_felt, selector, Felt, OutsideExecution, ANY_CALLER};

/// A transfer must still land this long before `execute_before` (blocks come every few seconds).
pub const EXPIRY_MARGIN_SECS: u64 = 10;
/// An account's signature is a handful of felts (`[r, s]` for OpenZeppelin and Argent accounts).
const MAX_SIGNATURE_FELTS: usize = 16;

/// The requirements' fields a Starknet payment is checked against.
#[derive(Debug, Clone, Copy)]
pub struct StarknetRequirements<'a> {
    pub amount: U256,
    pub asset: &'a str,
    pub pay_to: &'a str,
}

/// What this facilitator accepts besides the requirements.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// The network's chain id (the typed data's domain must name it).
    pub chain_id: Felt,
    /// Callers besides `ANY_CALLER` that may submit for us: the sponsor account, the paymaster's relayer.
    pub callers: &'a [Felt],
    pub now_secs: u64,
}

/// A payment that passed every pure check: what the chain checks and the settle need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedStarknet {
    pub account: Felt,
    pub execution: OutsideExecution,
    pub signature: Vec<Felt>,
    /// The SNIP-12 hash the account's `is_valid_signature` is asked about.
    pub message_hash: Felt,
    pub token: Felt,
    /// The transfer's recipient: the requirements' `payTo`.
    pub pay_to: Felt,
    pub amount: U256,
}

pub fn verify_payload(
    payload: &StarknetPayload,
    required: &StarknetRequirements<'_>,
    policy: &Policy<'_>,
) -> Result<VerifiedStarknet, ExactStarknetError> {
    let asset = requirement_felt(required.asset, "asset")?;
    let pay_to = requirement_felt(required.pay_to, "payTo")?;
    let auth = Authorization::read(&payload.authorization)?;
    check_not_self_payment(auth.from, pay_to)?;
    check_authorization(&auth, &asset, &pay_to, required)?;
    let typed_data = payload.typed_data.as_ref().ok_or(ExactStarknetError::MissingTypedData)?;
    let execution = OutsideExecution::from_typed_data(typed_data).map_err(ExactStarknetError::NotOutsideExecution)?;
    if execution.chain_id != policy.chain_id {
        return Err(ExactStarknetError::WrongChain { actual: execution.chain_id, expected: policy.chain_id });
    }
    check_single_transfer(&execution, &asset, &pay_to, required.amount)?;
    check_agreement(&auth, &execution)?;
    check_caller(&execution, policy.callers)?;
    check_window(&execution, policy.now_secs)?;
    let message_hash = message_hash(typed_data, auth.from).map_err(ExactStarknetError::Hash)?;
    Ok(VerifiedStarknet {
        account: auth.from,
        execution,
        signature: signature_felts(&payload.signature)?,
        message_hash,
        token: asset,
        pay_to,
        amount: required.amount,
    })
}

/// The payer is not `payTo`, compared as felts: any spelling the addresses are read from (decimal,
/// hex with leading zeros) is the same account.
pub(super) fn check_not_self_payment(payer: Felt, pay_to: Felt) -> Result<(), ExactStarknetError> {
    if payer == pay_to {
        return Err(ExactStarknetError::SelfPayment(payer));
    }
    Ok(())
}

/// `payload.authorization`, read.
struct Authorization {
    from: Felt,
    to: Felt,
    amount: U256,
    token: Felt,
    /// 0 (or absent): no nonce stated.
    nonce: Felt,
    /// 0: no expiry stated.
    valid_until: u64,
    amount_text: String,
}

impl Authorization {
    fn read(value: &Value) -> Result<Authorization, ExactStarknetError> {
        let felt = |key: &'static str, field: &'static str| {
            let v = value.get(key).ok_or(ExactStarknetError::Field { field, problem: "is missing".into() })?;
            felt_from_json(v).map_err(|e| ExactStarknetError::field(field, e))
        };
        let amount = felt("amount", "authorization.amount")?;
        let valid_until = felt("validUntil", "authorization.validUntil")?;
        let valid_until = u64::try_from(felt_to_u256(&valid_until)).map_err(|_| ExactStarknetError::Field {
            field: "authorization.validUntil",
            problem: "is not a unix time in seconds".into(),
        })?;
        Ok(Authorization {
            from: felt("from", "authorization.from")?,
            to: felt("to", "authorization.to")?,
            amount: felt_to_u256(&amount),
            token: felt("token", "authorization.token")?,
            nonce: match value.get("nonce") {
                None | Some(Value::Null) => Felt::ZERO,
                Some(_) => felt("nonce", "authorization.nonce")?,
            },
            valid_until,
            amount_text: value.get("amount").map(|v| v.to_string()).unwrap_or_default(),
        })
    }
}

pub(super) fn requirement_felt(text: &str, field: &'static str) -> Result<Felt, ExactStarknetError> {
    parse_felt(text).map_err(|e| ExactStarknetError::Requirement { field, problem: e.to_string() })
}

/// x402-starknet's checks, in its order: token, recipient, amount (addresses compared as felts, so
/// leading zeros and case do not matter).
fn check_authorization(
    auth: &Authorization,
    asset: &Felt,
    pay_to: &Felt,
    required: &StarknetRequirements<'_>,
) -> Result<(), ExactStarknetError> {
    if auth.token != *asset {
        return Err(ExactStarknetError::TokenMismatch {
            token: format!("{:#x}", auth.token),
            asset: required.asset.to_string(),
        });
    }
    if auth.to != *pay_to {
        return Err(ExactStarknetError::RecipientMismatch {
            to: format!("{:#x}", auth.to),
            pay_to: required.pay_to.to_string(),
        });
    }
    if auth.amount != required.amount {
        return Err(ExactStarknetError::AmountMismatch {
            amount: auth.amount_text.clone(),
            required: required.amount.to_string(),
        });
    }
    Ok(())
}

/// Exactly one call, `transfer(pay_to, amount_low, amount_high)` on `asset`: what executes is what
/// was required, whatever the authorization fields say.
pub(super) fn check_single_transfer(
    execution: &OutsideExecution,
    asset: &Felt,
    pay_to: &Felt,
    amount: U256,
) -> Result<(), ExactStarknetError> {
    let [call] = execution.calls.as_slice() else {
        return Err(ExactStarknetError::CallCount(execution.calls.len()));
    };
    if call.selector != selector("transfer") {
        return Err(ExactStarknetError::NotATransfer(format!("selector {:#x}", call.selector)));
    }
    let [recipient, low, high] = call.calldata.as_slice() else {
        return Err(ExactStarknetError::NotATransfer(format!("{} calldata felts, not 3", call.calldata.len())));
    };
    if call.to != *asset {
        return Err(ExactStarknetError::SignedTokenMismatch(format!("{:#x}", call.to)));
    }
    if recipient != pay_to {
        return Err(ExactStarknetError::SignedRecipientMismatch(format!("{recipient:#x}")));
    }
    let (low, high) = (felt_to_u256(low), felt_to_u256(high));
    let limb = U256::from(u128::MAX);
    if low > limb || high > limb {
        return Err(ExactStarknetError::AmountLimbs(format!("low {low}, high {high}")));
    }
    let signed: U256 = (high << 128usize) | low;
    if signed != amount {
        return Err(ExactStarknetError::SignedAmountMismatch {
            signed: format!("low {low}, high {high}"),
            required: amount.to_string(),
        });
    }
    Ok(())
}

/// The authorization's nonce and expiry are the signed ones. `validUntil` 0 states none, and so does
/// a zero or absent `nonce`: the shipped x402-starknet 1.0.0 client reads them from the typed data's
/// `nonce` and `valid_until`, which SNIP-9 v2 names `Nonce` and `Execute Before`, so it sends `"0x0"`
/// and 0. Either way what is bound (and keys the ledger) is the signed nonce.
fn check_agreement(auth: &Authorization, execution: &OutsideExecution) -> Result<(), ExactStarknetError> {
    if auth.nonce != Felt::ZERO && auth.nonce != execution.nonce {
        return Err(ExactStarknetError::AuthorizationDisagrees { field: "nonce" });
    }
    if auth.valid_until != 0 && auth.valid_until != execution.execute_before {
        return Err(ExactStarknetError::AuthorizationDisagrees { field: "validUntil" });
    }
    Ok(())
}

fn check_caller(execution: &OutsideExecution, callers: &[Felt]) -> Result<(), ExactStarknetError> {
    if execution.caller == ANY_CALLER || callers.contains(&execution.caller) {
        return Ok(());
    }
    Err(ExactStarknetError::WrongCaller(execution.caller))
}

/// The account runs it only when `execute_after < block time < execute_before`.
fn check_window(execution: &OutsideExecution, now: u64) -> Result<(), ExactStarknetError> {
    if execution.execute_after >= now {
        return Err(ExactStarknetError::NotYetValid { execute_after: execution.execute_after, now });
    }
    if now.saturating_add(EXPIRY_MARGIN_SECS) >= execution.execute_before {
        return Err(ExactStarknetError::Expired {
            execute_before: execution.execute_before,
            now,
            margin: EXPIRY_MARGIN_SECS,
        });
    }
    Ok(())
}

/// `{r, s}` or the felts of a longer account signature.
fn signature_felts(value: &Value) -> Result<Vec<Felt>, ExactStarknetError> {
    let bad = |problem: &str| ExactStarknetError::Field { field: "signature", problem: problem.to_string() };
    let felts: Vec<&Value> = match value {
        Value::Object(map) => vec![map.get("r").ok_or(bad("r is missing"))?, map.get("s").ok_or(bad("s is missing"))?],
        Value::Array(items) if !items.is_empty() && items.len() <= MAX_SIGNATURE_FELTS => items.iter().collect(),
        _ => return Err(bad("must be {r, s} or 1 to 16 felts")),
    };
    felts.into_iter().map(|v| felt_from_json(v).map_err(|e| ExactStarknetError::field("signature", e))).collect()
}
