//! From request bytes to the normalized model: detect the dialect and version, decode the wire types and
//! resolve the network. The scheme's payload is handed on raw ([`RawPayload`]): the scheme registry
//! (`crate::schemes::registry`) picks the scheme and it decodes its own payload. Every failure is a typed
//! [`RequestError`].

use std::str::FromStr;

use alloy_primitives::{Address, Bytes, B256};
use serde_json::{Map, Value};

use super::amount::parse_decimal_u256;
use super::cronos::CronosPaymentHeader;
use super::fields::Fields;
use super::header::{self, HeaderError};
use super::model::*;
use super::reason::Reason;
use crate::network::{self, Family};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    #[error("request body exceeds {0} bytes")]
    TooLarge(usize),
    #[error("request body is not valid JSON: {0}")]
    NotJson(String),
    #[error("request body must contain `{0}`")]
    Missing(&'static str),
    #[error("unsupported x402Version {0}; this facilitator speaks 1 and 2")]
    UnsupportedVersion(String),
    #[error("paymentPayload does not match the x402 v{version} schema: {detail}")]
    Payload { version: u8, detail: String },
    #[error("paymentRequirements do not match the x402 v{version} schema: {detail}")]
    Requirements { version: u8, detail: String },
    #[error("paymentHeader: {0}")]
    PaymentHeader(#[from] HeaderError),
    #[error("unknown network `{0}`")]
    UnknownNetwork(String),
    #[error("network `{0}` is not known to x402 v1 clients; use its CAIP-2 id with x402 v2")]
    NotAV1Network(String),
    #[error("scheme `{scheme}` is not supported on `{network}`")]
    UnsupportedScheme { scheme: String, network: String },
    #[error("this payload type is not supported: {0}")]
    UnsupportedPayloadType(&'static str),
    #[error("payload field `{field}`: {problem}")]
    PayloadField { field: &'static str, problem: &'static str },
    #[error("paymentRequirements field `{field}`: {problem}")]
    RequirementsField { field: &'static str, problem: &'static str },
    #[error("upto payload field `{field}` {problem}")]
    UptoPayloadField { field: &'static str, problem: &'static str },
    #[error("this build serves no {0} network")]
    NotServed(&'static str),
    /// The scheme refused the payload's shape, with its own code.
    #[error("{message}")]
    Scheme { reason: Reason, message: String },
}

impl RequestError {
    pub fn reason(&self) -> Reason {
        use RequestError::*;
        match self {
            TooLarge(_) | NotJson(_) | Missing(_) | Payload { .. } | PaymentHeader(_) | PayloadField { .. } => {
                Reason::InvalidPayload
            }
            UnsupportedVersion(_) => Reason::InvalidX402Version,
            Requirements { .. } | RequirementsField { .. } => Reason::InvalidPaymentRequirements,
            UnknownNetwork(_) | NotAV1Network(_) | NotServed(_) => Reason::InvalidNetwork,
            UnsupportedScheme { .. } => Reason::UnsupportedScheme,
            UnsupportedPayloadType(_) => Reason::UnsupportedPayloadType,
            UptoPayloadField { .. } => Reason::UptoPayload,
            Scheme { reason, .. } => *reason,
        }
    }
}

/// A request that could not be normalized, with what is known of it for the response.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub error: RequestError,
    pub version: Version,
    pub dialect: Dialect,
    /// The requirements' network as sent, when it could be read (settle responses echo it).
    pub network: String,
}

/// Parses a `/verify` or `/settle` body in any supported version or dialect.
pub fn parse_request(body: &[u8]) -> Result<PaymentRequest, Rejection> {
    let value: Value = serde_json::from_slice(body).map_err(|e| Rejection {
        error: RequestError::NotJson(e.to_string()),
        version: Version::V2,
        dialect: Dialect::Standard,
        network: String::new(),
    })?;
    parse_request_value(value)
}

/// [`parse_request`] of a body already parsed (the JS bindings build it from their two arguments).
pub fn parse_request_value(value: Value) -> Result<PaymentRequest, Rejection> {
    let dialect = if value.get("paymentHeader").is_some() { Dialect::Cronos } else { Dialect::Standard };
    let version = detect_version(&value, dialect);
    let network = value.pointer("/paymentRequirements/network").and_then(Value::as_str).unwrap_or_default().to_string();
    let reported = version.as_ref().copied().unwrap_or(Version::V2);
    let reject = |error| Rejection { error, version: reported, dialect, network: network.clone() };
    let version = version.map_err(reject)?;
    let parsed = match dialect {
        Dialect::Cronos => parse_cronos(value),
        Dialect::Standard => parse_standard(value, version),
    };
    parsed.map_err(reject)
}

/// The reference routes by `paymentPayload.x402Version`; the top-level field is the fallback.
fn detect_version(value: &Value, dialect: Dialect) -> Result<Version, RequestError> {
    if dialect == Dialect::Cronos {
        return Ok(Version::V1);
    }
    let raw = value
        .pointer("/paymentPayload/x402Version")
        .or_else(|| value.get("x402Version"))
        .ok_or(RequestError::Missing("paymentPayload.x402Version"))?;
    match raw.as_u64() {
        Some(1) => Ok(Version::V1),
        Some(2) => Ok(Version::V2),
        _ => Err(RequestError::UnsupportedVersion(raw.to_string())),
    }
}

fn take(value: &mut Value, key: &'static str) -> Result<Value, RequestError> {
    match value.get_mut(key).map(Value::take) {
        Some(v @ Value::Object(_)) => Ok(v),
        _ => Err(RequestError::Missing(key)),
    }
}

fn parse_standard(mut value: Value, version: Version) -> Result<PaymentRequest, RequestError> {
    let payload_json = take(&mut value, "paymentPayload")?;
    let requirements_json = take(&mut value, "paymentRequirements")?;
    let v = version.number();
    let (accepted, payload) =
        read_payment_payload(payload_json, version).map_err(|detail| RequestError::Payload { version: v, detail })?;
    let requirements = read_requirements(requirements_json, version)
        .map_err(|detail| RequestError::Requirements { version: v, detail })?
        .normalize(version)?;
    let network = resolve_network(&requirements.network, version)?;
    Ok(PaymentRequest { version, dialect: Dialect::Standard, network, accepted, requirements, payload, caller: None })
}

/// `paymentPayload` under the x402 v1 (`scheme`, `network`, `payload`) or v2 (`accepted`, `payload`,
/// optional `resource` and `extensions`) schema: what the payer accepted, and the payload raw with the
/// rest of the object beside it.
pub fn read_payment_payload(value: Value, version: Version) -> Result<(Accepted, RawPayload), String> {
    let mut whole = Fields::of(value)?;
    let payload = whole.value("payload")?;
    let envelope = whole.into_rest();
    // The typed reads take copies of the fields they read: the envelope keeps every field but `payload`.
    let mut fields = Fields::copy_of(&envelope, &["x402Version", "scheme", "network", "resource", "accepted"]);
    let declared = fields.u64("x402Version")?;
    if u8::try_from(declared).is_err() {
        return Err(format!("`x402Version`: {declared} is out of range"));
    }
    let accepted = match version {
        Version::V1 => Accepted {
            scheme: fields.string("scheme")?,
            network: fields.string("network")?,
            asset: None,
            pay_to: None,
            amount: None,
        },
        Version::V2 => {
            if let Some(resource) = fields.optional_value("resource") {
                check_resource(resource)?;
            }
            let accepted =
                read_requirements(fields.value("accepted")?, Version::V2).map_err(|e| format!("`accepted`: {e}"))?;
            Accepted {
                scheme: accepted.scheme,
                network: accepted.network,
                asset: Some(accepted.asset),
                pay_to: Some(accepted.pay_to),
                amount: Some(accepted.amount),
            }
        }
    };
    Ok((accepted, RawPayload { payload, envelope }))
}

/// v2 `resource`: `{url, description?, mimeType?}`.
fn check_resource(resource: Value) -> Result<(), String> {
    let in_resource = |e| format!("`resource`: {e}");
    let mut fields = Fields::of(resource).map_err(in_resource)?;
    fields.string("url").map_err(in_resource)?;
    fields.optional_string("description").map_err(in_resource)?;
    fields.optional_string("mimeType").map_err(in_resource)?;
    Ok(())
}

/// `paymentRequirements` (or v2 `accepted`) as sent: its amount still text.
pub struct WireRequirements {
    pub scheme: String,
    pub network: String,
    /// v2 `amount`, v1 `maxAmountRequired`.
    pub amount: String,
    pub asset: String,
    pub pay_to: String,
    pub max_timeout_seconds: u64,
    pub extra: Map<String, Value>,
}

impl WireRequirements {
    fn amount_field(version: Version) -> &'static str {
        match version {
            Version::V1 => "maxAmountRequired",
            Version::V2 => "amount",
        }
    }

    /// Read under `version`'s schema, which names the amount's field.
    fn normalize(self, version: Version) -> Result<Requirements, RequestError> {
        let problem = "must be a decimal integer string";
        let field = WireRequirements::amount_field(version);
        Ok(Requirements {
            amount: parse_decimal_u256(&self.amount).ok_or(RequestError::RequirementsField { field, problem })?,
            scheme: self.scheme,
            network: self.network,
            asset: self.asset,
            pay_to: self.pay_to,
            max_timeout_seconds: self.max_timeout_seconds,
            extra: self.extra,
        })
    }
}

/// Payment requirements under the x402 v1 or v2 schema.
pub fn read_requirements(value: Value, version: Version) -> Result<WireRequirements, String> {
    let mut fields = Fields::of(value)?;
    let requirements = WireRequirements {
        scheme: fields.string("scheme")?,
        network: fields.string("network")?,
        amount: fields.string(WireRequirements::amount_field(version))?,
        asset: fields.string("asset")?,
        pay_to: fields.string("payTo")?,
        max_timeout_seconds: fields.u64("maxTimeoutSeconds")?,
        extra: fields.optional_object("extra")?.unwrap_or_default(),
    };
    if version == Version::V1 {
        for optional_text in ["resource", "description", "mimeType"] {
            fields.optional_string(optional_text)?;
        }
    }
    Ok(requirements)
}

/// The Cronos dialect carries a flat EIP-3009 authorization in a base64 header; it is handed on in the
/// standard payload shape (`{signature, authorization}`), for the `exact` EVM scheme to decode.
fn parse_cronos(value: Value) -> Result<PaymentRequest, RequestError> {
    let payload_err = |detail| RequestError::Payload { version: 1, detail };
    let mut fields = Fields::of(value).map_err(payload_err)?;
    if let Some(v) = fields.optional_u64("x402Version").map_err(payload_err)?.filter(|v| *v != 1) {
        return Err(RequestError::UnsupportedVersion(v.to_string()));
    }
    let header_text = fields.string("paymentHeader").map_err(payload_err)?;
    let requirements = read_requirements(fields.value("paymentRequirements").map_err(payload_err)?, Version::V1)
        .map_err(|detail| payload_err(format!("`paymentRequirements`: {detail}")))?
        .normalize(Version::V1)?;
    let header: CronosPaymentHeader = header::decode(&header_text)?;
    if header.x402_version != 1 {
        return Err(RequestError::UnsupportedVersion(header.x402_version.to_string()));
    }
    let network = resolve_network(&requirements.network, Version::V1)?;
    // The Cronos dialect carries EIP-3009 authorizations only.
    if network.family != Family::Evm || requirements.scheme != "exact" {
        return Err(RequestError::UnsupportedScheme { scheme: requirements.scheme, network: requirements.network });
    }
    let flat = header.payload;
    let payload = serde_json::json!({
        "signature": flat.signature,
        "authorization": {
            "from": flat.from,
            "to": flat.to,
            "value": flat.value,
            "validAfter": flat.valid_after,
            "validBefore": flat.valid_before,
            "nonce": flat.nonce,
        },
    });
    let accepted = Accepted { scheme: header.scheme, network: header.network, asset: None, pay_to: None, amount: None };
    Ok(PaymentRequest {
        version: Version::V1,
        dialect: Dialect::Cronos,
        network,
        accepted,
        requirements,
        payload: RawPayload { payload, envelope: Map::new() },
        caller: None,
    })
}

fn resolve_network(id: &str, version: Version) -> Result<&'static network::Network, RequestError> {
    let network = network::find(id).ok_or_else(|| RequestError::UnknownNetwork(id.to_string()))?;
    if version == Version::V1 && !network.v1 {
        return Err(RequestError::NotAV1Network(id.to_string()));
    }
    Ok(network)
}

/// A 20-byte `0x` address in any letter case.
pub fn parse_evm_address(text: &str) -> Option<Address> {
    let hex = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"))?;
    if hex.len() != 40 {
        return None;
    }
    Address::from_str(hex).ok()
}

pub fn parse_address(text: &str, field: &'static str) -> Result<Address, RequestError> {
    parse_evm_address(text)
        .ok_or(RequestError::PayloadField { field, problem: "must be a 0x-prefixed 20-byte address" })
}

/// 32 bytes of `0x` hex (hashes, EIP-3009 nonces).
pub fn parse_b256(text: &str) -> Option<B256> {
    let hex = text.strip_prefix("0x")?;
    (hex.len() == 64).then(|| B256::from_str(hex).ok()).flatten()
}

pub fn parse_hex_bytes(text: &str) -> Option<Bytes> {
    let hex = text.strip_prefix("0x")?;
    hex::decode(hex).ok().map(Bytes::from)
}
