//! The request every verifier starts from: the `/verify` body the facilitator would receive for a
//! payload and its requirements, normalized by the core exactly as the facilitator normalizes it, and
//! the RPC URLs of `options.rpcUrl`.

use serde_json::{Map, Value};

use super::envelope::{err, parse_json, parse_json_as, BindingError};
use crate::protocol::header;
use crate::protocol::model::Version;
use crate::protocol::normalize::RequestError;
use crate::schemes::parse_request_value;
use crate::schemes::PaymentRequest;

/// A Cronos `paymentHeader` carries a flat EIP-3009 payload instead of `payload.authorization`.
fn is_cronos(payload: &Value) -> bool {
    payload.get("x402Version").and_then(Value::as_u64) == Some(1)
        && payload.pointer("/payload/authorization").is_none()
        && payload.pointer("/payload/from").is_some()
}

/// The `/verify` body the facilitator would get for this payload: a payload object (v1, v2, or a
/// decoded Cronos header) or the header text itself. Built as a value and handed to the core's parser
/// as it is: each argument's text is parsed once.
fn request_body(payload: Value, requirements: Value) -> Result<Value, BindingError> {
    let (payload, header_text) = match payload {
        Value::String(text) => {
            let decoded =
                header::decode::<Value>(&text).map_err(|e| BindingError::Request(RequestError::PaymentHeader(e)))?;
            (decoded, Some(text))
        }
        other => (other, None),
    };
    // The values are moved in (`json!` would copy each through its serializer).
    let mut body = Map::new();
    if is_cronos(&payload) {
        let header_text = header_text.unwrap_or_else(|| header::encode(&payload));
        body.insert("x402Version".into(), Value::from(1));
        body.insert("paymentHeader".into(), Value::String(header_text));
    } else {
        // Only what the payload declares: a payload without a version is malformed, not of version null.
        if let Some(version) = payload.get("x402Version").cloned() {
            body.insert("x402Version".into(), version);
        }
        body.insert("paymentPayload".into(), payload);
    }
    body.insert("paymentRequirements".into(), requirements);
    Ok(Value::Object(body))
}

/// Normalizes the inputs as the facilitator does, or the error envelope to answer with.
pub fn normalize_any(payload_json: &str, requirements_json: &str) -> Result<PaymentRequest, String> {
    let parsed =
        parse_json(payload_json, "payload").and_then(|p| Ok((p, parse_json(requirements_json, "requirements")?)));
    let (payload, requirements) = parsed.map_err(|e| err(&e, Version::V2))?;
    normalize_values(payload, requirements)
}

/// [`normalize_any`] of inputs already parsed.
pub fn normalize_values(payload: Value, requirements: Value) -> Result<PaymentRequest, String> {
    let body = request_body(payload, requirements).map_err(|e| err(&e, Version::V2))?;
    parse_request_value(body).map_err(|rejection| err(&in_this_package(rejection.error), rejection.version))
}

/// A payment of a family this package was built without points to the package that has it.
fn in_this_package(error: RequestError) -> BindingError {
    match error {
        RequestError::NotServed("Starknet") => {
            BindingError::InOtherPackage { payments: "Starknet", package: "@x402-edge/verify-starknet" }
        }
        other => BindingError::Request(other),
    }
}

/// `options.rpcUrl`, as the wrapper sends it: a JSON list of http(s) URLs.
pub fn rpc_urls(json_text: &str) -> Result<Vec<String>, BindingError> {
    let urls: Vec<String> = parse_json_as(json_text, "rpcUrl", BindingError::Field("rpcUrl"))?;
    let well_formed = |u: &String| u.starts_with("http://") || u.starts_with("https://");
    if urls.is_empty() || !urls.iter().all(well_formed) {
        return Err(BindingError::Field("rpcUrl (an http(s) URL or a list of them)"));
    }
    Ok(urls)
}

/// `options.now` as the wrapper sends it (unix seconds, or ms for the online verifiers): a finite,
/// non-negative number.
pub fn unix_time(value: f64) -> Result<u64, BindingError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value as u64)
    } else {
        Err(BindingError::Field("options.now"))
    }
}
