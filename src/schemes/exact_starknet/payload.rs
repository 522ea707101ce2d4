//! The `exact` Starknet payload as x402-starknet and the daydreams client send it.

use serde_json::{Map, Value};

use crate::protocol::normalize::RequestError;

/// An `exact` Starknet payment as x402-starknet and the daydreams client send it: the authorization
/// fields, the account's signature, and the SNIP-12 typed data of the SNIP-9 outside execution it
/// signed. Kept as sent: the scheme reads the felts and binds the typed data (what executes).
#[derive(Debug, Clone, PartialEq)]
pub struct StarknetPayload {
    /// `payload.authorization.from`: the paying account.
    pub from: String,
    /// `payload.authorization`: `{from, to, amount, token, nonce, validUntil}`.
    pub authorization: Value,
    /// `payload.signature`: `{r, s}` or the account's signature felts.
    pub signature: Value,
    /// `typedData` beside `payload` (or inside it).
    pub typed_data: Option<Value>,
    /// `paymasterEndpoint` beside `payload`, where the client built the typed data.
    pub paymaster_endpoint: Option<String>,
}

/// The `exact` Starknet payload: `{signature, authorization: {from, …}}`, with the typed data beside
/// it or inside it. Only its shape is checked here; the scheme reads the values.
pub fn decode(raw: &Value, envelope: &Map<String, Value>) -> Result<StarknetPayload, RequestError> {
    let field = |field, problem| RequestError::PayloadField { field, problem };
    let authorization = raw
        .get("authorization")
        .filter(|a| a.is_object())
        .ok_or(field("payload.authorization", "must be {from, to, amount, token, nonce, validUntil}"))?;
    let from = authorization
        .get("from")
        .and_then(Value::as_str)
        .ok_or(field("payload.authorization.from", "must be the paying account's address"))?;
    let signature = raw
        .get("signature")
        .filter(|s| s.is_object() || s.is_array())
        .ok_or(field("payload.signature", "must be {r, s} or a list of felts"))?;
    let typed_data = envelope.get("typedData").or_else(|| raw.get("typedData")).filter(|t| t.is_object()).cloned();
    let paymaster_endpoint = envelope.get("paymasterEndpoint").and_then(Value::as_str).map(str::to_string);
    Ok(StarknetPayload {
        from: from.to_string(),
        authorization: authorization.clone(),
        signature: signature.clone(),
        typed_data,
        paymaster_endpoint,
    })
}
