//! The x402 HTTP headers (`X-PAYMENT`, `X-PAYMENT-RESPONSE`, `PAYMENT-SIGNATURE`, `PAYMENT-REQUIRED`,
//! `PAYMENT-RESPONSE`, and the Cronos `paymentHeader`) through the core codec. Decoding checks the
//! header against its wire schema but returns the JSON as sent, so unknown fields survive and
//! re-encoding reproduces the header byte for byte.

use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::envelope::{answer, parse_json, BindingError};
use crate::protocol::cronos::CronosPaymentHeader;
use crate::protocol::fields::Fields;
use crate::protocol::header;
use crate::protocol::normalize::{read_payment_payload, read_requirements, RequestError};
use crate::protocol::response::SettleResponse;
use crate::protocol::Version;

/// `PAYMENT-REQUIRED` (v2): what the facilitator needs of it (`x402Version`, and `accepts`, a list of
/// requirements); other fields pass through untouched.
fn check_payment_required(value: &Value) -> Result<(), String> {
    let mut fields = Fields::of(value.clone())?;
    fields.u64("x402Version")?;
    match fields.value("accepts")? {
        Value::Array(accepts) => {
            for (i, requirements) in accepts.into_iter().enumerate() {
                read_requirements(requirements, Version::V2).map_err(|e| format!("`accepts[{i}]`: {e}"))?;
            }
            Ok(())
        }
        _ => Err("`accepts`: expected a list of payment requirements".into()),
    }
}

/// Which header a value is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `X-PAYMENT` (v1), `PAYMENT-SIGNATURE` (v2), or a Cronos `paymentHeader`.
    Payment,
    /// `PAYMENT-REQUIRED` (v2).
    Required,
    /// `X-PAYMENT-RESPONSE` (v1) and `PAYMENT-RESPONSE` (v2): a settlement response.
    Response,
    /// Any JSON (`EXTENSION-RESPONSES`, say).
    Any,
}

fn kind(name: &str) -> Result<Kind, BindingError> {
    match name {
        "payment" => Ok(Kind::Payment),
        "required" => Ok(Kind::Required),
        "response" => Ok(Kind::Response),
        "any" => Ok(Kind::Any),
        _ => Err(BindingError::Field("header kind")),
    }
}

/// The version a value declares, for the reason codes of its errors.
fn version_of(value: &Value) -> Version {
    match value.get("x402Version").and_then(Value::as_u64) {
        Some(1) => Version::V1,
        _ => Version::V2,
    }
}

/// Whether `value` reads as a `T`, through the JSON text deserializer the core decodes `T` with.
fn schema<T: serde::de::DeserializeOwned>(value: &Value) -> Result<(), String> {
    serde_json::from_slice::<T>(value.to_string().as_bytes()).map(|_| ()).map_err(|e| e.to_string())
}

/// Checks `value` against the wire schema of `kind`.
fn check(kind: Kind, value: &Value) -> Result<(), BindingError> {
    match kind {
        Kind::Any => Ok(()),
        Kind::Payment => {
            let payload = |detail| BindingError::Request(RequestError::Payload { version: 1, detail });
            match value.get("x402Version").and_then(Value::as_u64) {
                // The Cronos dialect flattens the authorization into `payload`.
                Some(1) if value.pointer("/payload/authorization").is_none() => {
                    schema::<CronosPaymentHeader>(value).map_err(payload)
                }
                Some(1) => read_payment_payload(value.clone(), Version::V1).map(drop).map_err(payload),
                Some(2) => read_payment_payload(value.clone(), Version::V2)
                    .map(drop)
                    .map_err(|detail| BindingError::Request(RequestError::Payload { version: 2, detail })),
                _ => Err(BindingError::Request(RequestError::UnsupportedVersion(
                    value.get("x402Version").map(Value::to_string).unwrap_or_else(|| "(missing)".into()),
                ))),
            }
        }
        Kind::Required => check_payment_required(value)
            .map_err(|detail| BindingError::Request(RequestError::Requirements { version: 2, detail })),
        Kind::Response => schema::<SettleResponse>(value).map_err(|_| BindingError::Field("settlement response")),
    }
}

/// Decodes a header of `kind` (`payment`, `required`, `response`, `any`) to its JSON.
#[wasm_bindgen(js_name = decodeHeader)]
pub fn decode_header(kind_name: &str, text: &str) -> String {
    let decoded = header::decode::<Value>(text).map_err(|e| BindingError::Request(RequestError::PaymentHeader(e)));
    let version = decoded.as_ref().map(version_of).unwrap_or(Version::V2);
    let result = decoded.and_then(|value| {
        check(kind(kind_name)?, &value)?;
        Ok(value)
    });
    answer(result, version)
}

/// Encodes JSON text as a header of `kind`, after checking it against that header's schema.
#[wasm_bindgen(js_name = encodeHeader)]
pub fn encode_header(kind_name: &str, json: &str) -> String {
    let parsed = parse_json(json, "the header value");
    let version = parsed.as_ref().map(version_of).unwrap_or(Version::V2);
    let result = parsed.and_then(|value| {
        check(kind(kind_name)?, &value)?;
        Ok(Value::String(header::encode(&value)))
    });
    answer(result, version)
}
