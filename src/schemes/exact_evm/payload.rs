//! The `exact` EVM EIP-3009 payload, `{signature, authorization: {from, to, value, validAfter,
//! validBefore, nonce}}` (the Cronos dialect's flat header arrives in this shape too), and its identity
//! in the settlement ledger.

use alloy_primitives::{Address, Bytes, B256};
use serde_json::Value;

pub use crate::chains::evm::eip3009::Eip3009Authorization;
use crate::protocol::amount::IntText;
use crate::protocol::normalize::{parse_address, parse_b256, parse_evm_address, parse_hex_bytes, RequestError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eip3009Payload {
    pub signature: Bytes,
    pub authorization: Eip3009Authorization,
}

/// Decodes the payload; a Permit2 payload (`permit2Authorization`) is not this scheme's.
pub fn decode(raw: &Value) -> Result<Eip3009Payload, RequestError> {
    let shape = RequestError::PayloadField {
        field: "payload",
        problem: "must be {signature, authorization: {from, to, value, validAfter, validBefore, nonce}}",
    };
    let signature = raw.get("signature").and_then(Value::as_str).ok_or(shape.clone())?;
    let authorization = raw.get("authorization").and_then(authorization_wire).ok_or(shape)?;
    Ok(Eip3009Payload {
        signature: parse_hex_bytes(signature)
            .ok_or(RequestError::PayloadField { field: "signature", problem: "must be 0x-prefixed hex" })?,
        authorization: authorization_from_wire(authorization)?,
    })
}

/// The settlement ledger's key: `caip2/asset/from/nonce` in lower case, the token's nonce of `from`,
/// which the token accepts once (the asset as the requirements name it when it is no address).
pub fn ledger_key(caip2: &str, asset: &str, from: Address, nonce: B256) -> String {
    let asset = parse_evm_address(asset).map_or_else(|| asset.to_string(), |a| a.to_string());
    format!("{caip2}/{asset}/{from}/{nonce}").to_ascii_lowercase()
}

/// Every signed field and the signature: what one request claims under its ledger key.
pub fn identity(p: &Eip3009Payload) -> String {
    let a = &p.authorization;
    format!("{}/{}/{}/{}/{}/{}/{}", a.from, a.to, a.value, a.valid_after, a.valid_before, a.nonce, p.signature)
}

struct AuthorizationWire<'a> {
    from: &'a str,
    to: &'a str,
    value: IntText,
    valid_after: IntText,
    valid_before: IntText,
    nonce: &'a str,
}

/// `{from, to, value, validAfter, validBefore, nonce}`: addresses and nonce as strings, the integers as
/// decimal strings or numbers; `None` when a field is missing or of another type.
fn authorization_wire(value: &Value) -> Option<AuthorizationWire<'_>> {
    let text = |key| value.get(key).and_then(Value::as_str);
    let int = |key| value.get(key).and_then(IntText::from_json);
    Some(AuthorizationWire {
        from: text("from")?,
        to: text("to")?,
        value: int("value")?,
        valid_after: int("validAfter")?,
        valid_before: int("validBefore")?,
        nonce: text("nonce")?,
    })
}

/// An EIP-3009 authorization as JSON (`{from, to, value, validAfter, validBefore, nonce}`), checked
/// field by field as a payload's is.
pub fn parse_eip3009_authorization(value: &Value) -> Result<Eip3009Authorization, RequestError> {
    let wire = authorization_wire(value).ok_or(RequestError::PayloadField {
        field: "authorization",
        problem: "must be {from, to, value, validAfter, validBefore, nonce}",
    })?;
    authorization_from_wire(wire)
}

fn authorization_from_wire(a: AuthorizationWire) -> Result<Eip3009Authorization, RequestError> {
    let int = |t: &IntText, field| {
        t.to_u256().ok_or(RequestError::PayloadField { field, problem: "must be a decimal integer" })
    };
    Ok(Eip3009Authorization {
        from: parse_address(a.from, "authorization.from")?,
        to: parse_address(a.to, "authorization.to")?,
        value: int(&a.value, "authorization.value")?,
        valid_after: int(&a.valid_after, "authorization.validAfter")?,
        valid_before: int(&a.valid_before, "authorization.validBefore")?,
        nonce: parse_b256(a.nonce).ok_or(RequestError::PayloadField {
            field: "authorization.nonce",
            problem: "must be 32 bytes of 0x hex",
        })?,
    })
}
