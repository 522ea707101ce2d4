//! The two Starknet payloads. x402-starknet's (`{signature, authorization}` with the typed data beside
//! it) is kept as sent; the scheme reads its felts. The registered spec's (`scheme_exact_starknet.md`) is
//! decoded from the whole
//! `paymentPayload`: `payload = {from, outsideExecution: {typedData, signature: [felts]}}`, and the
//! `accepted` fields the normalized model does not keep (`maxTimeoutSeconds`, `extra`), which the spec
//! compares with the requirements. Only the shape is decided here: every object has exactly the keys
//! the spec names (an unknown or missing key is refused, never ignored), the payer and the signature
//! are felts. What the typed data says is judged by the scheme ([`super::spec`]).

use serde_json::{Map, Value};

use crate::chains::starknet::{parse_felt, Felt};
use crate::protocol::normalize::RequestError;

/// The spec's bound on an account signature ("e.g. 32 felts"): multisig and guardian accounts sign
/// with more than `[r, s]`, and /verify must not walk an unbounded list.
pub const MAX_SIGNATURE_FELTS: usize = 32;

/// A spec-dialect Starknet payment, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecPayload {
    /// `payload.from`: the paying account.
    pub from: Felt,
    /// `payload.outsideExecution.typedData`, with the spec's keys only (read by the scheme, never hashed:
    /// the scheme hashes its own rebuild of it).
    pub typed_data: Value,
    /// `payload.outsideExecution.signature`: handed verbatim to the account.
    pub signature: Vec<Felt>,
    /// `accepted.maxTimeoutSeconds`.
    pub accepted_max_timeout_seconds: Option<u64>,
    /// `accepted.extra` (`feePayer`, and the reserved `assetTransferMethod` / `paymentFlow`).
    pub accepted_extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecPayloadError {
    #[error("`{0}` must be an object")]
    NotAnObject(&'static str),
    #[error("`{at}` is missing `{key}`")]
    Missing { at: &'static str, key: &'static str },
    #[error("`{at}` has a key the spec does not define: `{key}`")]
    Unknown { at: &'static str, key: String },
    #[error("payload.from must be the payer's address as a hex felt: {0}")]
    From(String),
    #[error("payload.outsideExecution.signature must be 1 to {MAX_SIGNATURE_FELTS} hex felts")]
    SignatureLength,
    #[error("payload.outsideExecution.signature[{index}]: {problem}")]
    SignatureFelt { index: usize, problem: String },
    #[error("`{0}` must be an array")]
    NotAnArray(&'static str),
}

/// A malformed spec payload is an invalid payload, refused before any scheme rule.
impl From<SpecPayloadError> for RequestError {
    fn from(e: SpecPayloadError) -> Self {
        RequestError::Payload { version: 2, detail: e.to_string() }
    }
}

const PAYLOAD_KEYS: &[&str] = &["from", "outsideExecution"];
const OUTSIDE_EXECUTION_KEYS: &[&str] = &["typedData", "signature"];
const TYPED_DATA_KEYS: &[&str] = &["types", "primaryType", "domain", "message"];
const TYPES_KEYS: &[&str] = &["StarknetDomain", "OutsideExecution", "Call"];
const DOMAIN_KEYS: &[&str] = &["name", "version", "chainId", "revision"];
const MESSAGE_KEYS: &[&str] = &["Caller", "Nonce", "Execute After", "Execute Before", "Calls"];
const CALL_KEYS: &[&str] = &["To", "Selector", "Calldata"];

/// Decodes the spec's payload from the whole `paymentPayload` (`raw`).
pub fn decode_spec(raw: &Value) -> Result<SpecPayload, SpecPayloadError> {
    let payload = exact_keys(raw.get("payload"), "payload", PAYLOAD_KEYS)?;
    let outside = exact_keys(payload.get("outsideExecution"), "payload.outsideExecution", OUTSIDE_EXECUTION_KEYS)?;
    let typed_data = outside.get("typedData").unwrap_or(&Value::Null);
    check_typed_data_keys(typed_data)?;
    let from = match payload.get("from") {
        Some(Value::String(text)) => parse_felt(text).map_err(|e| SpecPayloadError::From(e.to_string()))?,
        _ => return Err(SpecPayloadError::From("not a string".into())),
    };
    let accepted = raw.get("accepted");
    Ok(SpecPayload {
        from,
        typed_data: typed_data.clone(),
        signature: signature(outside.get("signature"))?,
        accepted_max_timeout_seconds: accepted.and_then(|a| a.get("maxTimeoutSeconds")).and_then(Value::as_u64),
        accepted_extra: accepted.and_then(|a| a.get("extra")).and_then(Value::as_object).cloned().unwrap_or_default(),
    })
}

/// `value` as an object with exactly `keys`.
fn exact_keys<'v>(
    value: Option<&'v Value>,
    at: &'static str,
    keys: &'static [&'static str],
) -> Result<&'v Map<String, Value>, SpecPayloadError> {
    let object = value.and_then(Value::as_object).ok_or(SpecPayloadError::NotAnObject(at))?;
    if let Some(key) = keys.iter().find(|k| !object.contains_key(**k)) {
        return Err(SpecPayloadError::Missing { at, key });
    }
    if let Some(key) = object.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(SpecPayloadError::Unknown { at, key: key.clone() });
    }
    Ok(object)
}

/// The SNIP-12 revision 1 `OutsideExecution` object, with nothing beside the spec's fields.
fn check_typed_data_keys(typed_data: &Value) -> Result<(), SpecPayloadError> {
    let typed = exact_keys(Some(typed_data), "typedData", TYPED_DATA_KEYS)?;
    exact_keys(typed.get("types"), "typedData.types", TYPES_KEYS)?;
    exact_keys(typed.get("domain"), "typedData.domain", DOMAIN_KEYS)?;
    let message = exact_keys(typed.get("message"), "typedData.message", MESSAGE_KEYS)?;
    let calls = message.get("Calls").and_then(Value::as_array).ok_or(SpecPayloadError::NotAnArray("Calls"))?;
    for call in calls {
        exact_keys(Some(call), "typedData.message.Calls[]", CALL_KEYS)?;
    }
    Ok(())
}

/// 1 to [`MAX_SIGNATURE_FELTS`] hex felts, counted before any is read.
fn signature(value: Option<&Value>) -> Result<Vec<Felt>, SpecPayloadError> {
    let items = value.and_then(Value::as_array).ok_or(SpecPayloadError::SignatureLength)?;
    if items.is_empty() || items.len() > MAX_SIGNATURE_FELTS {
        return Err(SpecPayloadError::SignatureLength);
    }
    let felt = |(index, item): (usize, &Value)| match item {
        Value::String(text) if text.starts_with("0x") => {
            parse_felt(text).map_err(|e| SpecPayloadError::SignatureFelt { index, problem: e.to_string() })
        }
        _ => Err(SpecPayloadError::SignatureFelt { index, problem: "is not a 0x hex felt".into() }),
    };
    items.iter().enumerate().map(felt).collect()
}

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
