//! The x402 HTTP headers (`X-PAYMENT`, `X-PAYMENT-RESPONSE`, `PAYMENT-SIGNATURE`, `PAYMENT-REQUIRED`,
//! `PAYMENT-RESPONSE`, and the Cronos `paymentHeader`) through the core codec. Decoding checks the
//! header against its wire schema but returns the JSON as sent, so unknown fields survive and
//! re-encoding reproduces the header byte for byte.

use serde::Deserialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::envelope::{answer, parse_json, BindingError};
use crate::protocol::cronos::CronosPaymentHeader;
use crate::protocol::header;
use crate::protocol::normalize::RequestError;
use crate::protocol::response::SettleResponse;
use crate::protocol::v1::PaymentPayloadV1;
use crate::protocol::v2::{PaymentPayloadV2, PaymentRequirementsV2};
use crate::protocol::Version;

/// `PAYMENT-REQUIRED` (v2): what the facilitator needs of it; other fields pass through untouched.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentRequiredV2 {
    #[allow(dead_code)]
    x402_version: u8,
    #[allow(dead_code)]
    accepts: Vec<PaymentRequirementsV2>,
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

fn schema<T: serde::de::DeserializeOwned>(value: &Value) -> Result<(), String> {
    T::deserialize(value).map(|_| ()).map_err(|e| e.to_string())
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
                Some(1) => schema::<PaymentPayloadV1>(value).map_err(payload),
                Some(2) => schema::<PaymentPayloadV2>(value)
                    .map_err(|detail| BindingError::Request(RequestError::Payload { version: 2, detail })),
                _ => Err(BindingError::Request(RequestError::UnsupportedVersion(
                    value.get("x402Version").map(Value::to_string).unwrap_or_else(|| "(missing)".into()),
                ))),
            }
        }
        Kind::Required => schema::<PaymentRequiredV2>(value)
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
