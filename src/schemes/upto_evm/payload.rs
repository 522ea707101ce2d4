//! The daydreams `upto` payload: an EIP-2612 permit that opens a session.

use alloy_primitives::{Address, Bytes, U256};
use serde_json::Value;

use crate::protocol::amount::IntText;
use crate::protocol::model::Accepted;
use crate::protocol::normalize::{parse_evm_address, parse_hex_bytes, RequestError};

/// An EIP-2612 `Permit` as the daydreams `upto` scheme carries it: the payer lets the facilitator
/// (`spender`) pull up to `cap` until `deadline`, and the facilitator settles a session's spend in batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermitPayload {
    pub signature: Bytes,
    pub owner: Address,
    pub spender: Address,
    pub cap: U256,
    pub deadline: U256,
    pub nonce: U256,
    /// The session id: the permit's canonical id ([`super::session_id::canonical_session_id`]).
    pub session_id: String,
}

/// The daydreams `upto` payload: `{authorization: {from, to, value, validBefore, nonce}, signature}`
/// (`to` is the spender; `value` the cap; `validBefore` the permit deadline; `nonce` the owner's
/// EIP-2612 nonce). The session id is the permit's canonical id ([`super::session_id::canonical_session_id`]),
/// whatever the spelling of the fields; verify refuses an `accepted` that does not name the requirements'
/// network and asset, so an id derived from `accepted` here is the one of the permit checked.
pub fn decode(accepted: &Accepted, raw: &Value) -> Result<PermitPayload, RequestError> {
    let field = |field, problem| RequestError::UptoPayloadField { field, problem };
    let auth = raw.get("authorization").filter(|a| a.is_object()).ok_or(field("authorization", "is missing"))?;
    let signature = raw.get("signature").and_then(Value::as_str).ok_or(field("signature", "is missing"))?;
    let text = |key: &str| auth.get(key).filter(|v| !v.is_null());
    let int = |key, name| {
        text(key).and_then(IntText::from_json).and_then(|t| t.to_u256()).ok_or(field(name, "must be a decimal integer"))
    };
    let address = |key, name| {
        text(key).and_then(Value::as_str).and_then(parse_evm_address).ok_or(field(name, "must be an EVM address"))
    };
    let mut permit = PermitPayload {
        signature: parse_hex_bytes(signature).ok_or(field("signature", "must be 0x-prefixed hex"))?,
        owner: address("from", "authorization.from")?,
        spender: address("to", "authorization.to")?,
        cap: int("value", "authorization.value")?,
        deadline: int("validBefore", "authorization.validBefore")?,
        nonce: int("nonce", "authorization.nonce")?,
        session_id: String::new(),
    };
    let network = crate::network::find(&accepted.network).map_or(accepted.network.as_str(), |n| n.caip2);
    let asset = accepted.asset.as_deref().and_then(parse_evm_address).unwrap_or_default();
    permit.session_id = super::session_id::canonical_session_id(&super::session_id::PermitIdentity {
        network,
        asset,
        owner: permit.owner,
        spender: permit.spender,
        cap: permit.cap,
        nonce: permit.nonce,
        deadline: permit.deadline,
        signature: &permit.signature,
    });
    Ok(permit)
}
