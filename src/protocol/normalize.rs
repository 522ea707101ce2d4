//! From request bytes to the normalized model: detect the dialect and version, decode the wire types,
//! resolve the network and decode the scheme's payload. Every failure is a typed [`RequestError`].

use std::str::FromStr;

use alloy_primitives::{Address, Bytes, B256};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::amount::{parse_decimal_u256, IntText};
use super::cronos::{CronosPaymentHeader, CronosRequest};
use super::header::{self, HeaderError};
use super::model::*;
use super::reason::Reason;
use super::v1::{PaymentPayloadV1, PaymentRequirementsV1};
use super::v2::{PaymentPayloadV2, PaymentRequirementsV2};
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
            UnknownNetwork(_) | NotAV1Network(_) => Reason::InvalidNetwork,
            UnsupportedScheme { .. } => Reason::UnsupportedScheme,
            UnsupportedPayloadType(_) => Reason::UnsupportedPayloadType,
            UptoPayloadField { .. } => Reason::UptoPayload,
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

fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

fn parse_standard(mut value: Value, version: Version) -> Result<PaymentRequest, RequestError> {
    let payload_json = take(&mut value, "paymentPayload")?;
    let requirements_json = take(&mut value, "paymentRequirements")?;
    // Starknet clients put the typed data they signed beside `payload`.
    let beside = StarknetExtras {
        typed_data: payload_json.get("typedData").filter(|t| t.is_object()).cloned(),
        paymaster_endpoint: payload_json.get("paymasterEndpoint").and_then(Value::as_str).map(str::to_string),
    };
    // [starknet-spec] The registered spec's Starknet payload (`payload.outsideExecution`) is decoded by
    // the scheme from the whole paymentPayload: the spec compares `accepted.extra` too.
    #[cfg(feature = "starknet")]
    let starknet_spec = payload_json.pointer("/payload/outsideExecution").map(|_| payload_json.clone());
    let v = version.number();
    let payload_err = |detail| RequestError::Payload { version: v, detail };
    let requirements_err = |detail| RequestError::Requirements { version: v, detail };
    let (accepted, raw_payload, requirements) = match version {
        Version::V1 => {
            let p: PaymentPayloadV1 = from_value(payload_json).map_err(payload_err)?;
            let r: PaymentRequirementsV1 = from_value(requirements_json).map_err(requirements_err)?;
            (
                Accepted { scheme: p.scheme, network: p.network, asset: None, pay_to: None, amount: None },
                p.payload,
                requirements_from_v1(r)?,
            )
        }
        Version::V2 => {
            let p: PaymentPayloadV2 = from_value(payload_json).map_err(payload_err)?;
            let r: PaymentRequirementsV2 = from_value(requirements_json).map_err(requirements_err)?;
            let accepted = Accepted {
                scheme: p.accepted.scheme,
                network: p.accepted.network,
                asset: Some(p.accepted.asset),
                pay_to: Some(p.accepted.pay_to),
                amount: Some(p.accepted.amount),
            };
            (accepted, p.payload, requirements_from_v2(r)?)
        }
    };
    let network = resolve_network(&requirements.network, version)?;
    let payload = match (network.family, requirements.scheme.as_str(), version) {
        (Family::Evm, "upto", Version::V2) => decode_permit(&accepted, raw_payload)?,
        // [starknet-spec] Dispatched by payload shape, whichever spelling names the network.
        #[cfg(feature = "starknet")]
        (Family::Starknet, _, _) if starknet_spec.is_some() => {
            check_scheme_supported(network.family, &requirements)?;
            let raw = starknet_spec.as_ref().unwrap_or(&Value::Null);
            Payload::StarknetSpec(crate::schemes::exact_starknet::payload::decode_spec(raw)?)
        }
        (Family::Starknet, _, _) => {
            check_scheme_supported(network.family, &requirements)?;
            decode_starknet(raw_payload, beside)?
        }
        _ => decode_payload(network.family, &requirements, raw_payload)?,
    };
    Ok(PaymentRequest { version, dialect: Dialect::Standard, network, accepted, requirements, payload, caller: None })
}

fn parse_cronos(value: Value) -> Result<PaymentRequest, RequestError> {
    let request: CronosRequest = from_value(value).map_err(|detail| RequestError::Payload { version: 1, detail })?;
    if let Some(v) = request.x402_version.filter(|v| *v != 1) {
        return Err(RequestError::UnsupportedVersion(v.to_string()));
    }
    let header: CronosPaymentHeader = header::decode(&request.payment_header)?;
    if header.x402_version != 1 {
        return Err(RequestError::UnsupportedVersion(header.x402_version.to_string()));
    }
    let requirements = requirements_from_v1(request.payment_requirements)?;
    let network = resolve_network(&requirements.network, Version::V1)?;
    // The Cronos dialect carries EIP-3009 authorizations only.
    if network.family != Family::Evm {
        return Err(RequestError::UnsupportedScheme { scheme: requirements.scheme, network: requirements.network });
    }
    check_scheme_supported(network.family, &requirements)?;
    let flat = header.payload;
    let payload = Payload::Eip3009(eip3009_from_wire(Eip3009Wire {
        signature: flat.signature,
        authorization: AuthorizationWire {
            from: flat.from,
            to: flat.to,
            value: flat.value,
            valid_after: flat.valid_after,
            valid_before: flat.valid_before,
            nonce: flat.nonce,
        },
    })?);
    let accepted = Accepted { scheme: header.scheme, network: header.network, asset: None, pay_to: None, amount: None };
    Ok(PaymentRequest {
        version: Version::V1,
        dialect: Dialect::Cronos,
        network,
        accepted,
        requirements,
        payload,
        caller: None,
    })
}

fn parse_amount(text: &str, field: &'static str) -> Result<alloy_primitives::U256, RequestError> {
    parse_decimal_u256(text)
        .ok_or(RequestError::RequirementsField { field, problem: "must be a decimal integer string" })
}

fn requirements_from_v1(r: PaymentRequirementsV1) -> Result<Requirements, RequestError> {
    Ok(Requirements {
        amount: parse_amount(&r.max_amount_required, "maxAmountRequired")?,
        scheme: r.scheme,
        network: r.network,
        asset: r.asset,
        pay_to: r.pay_to,
        max_timeout_seconds: r.max_timeout_seconds,
        extra: r.extra.unwrap_or_default(),
    })
}

fn requirements_from_v2(r: PaymentRequirementsV2) -> Result<Requirements, RequestError> {
    Ok(Requirements {
        amount: parse_amount(&r.amount, "amount")?,
        scheme: r.scheme,
        network: r.network,
        asset: r.asset,
        pay_to: r.pay_to,
        max_timeout_seconds: r.max_timeout_seconds,
        extra: r.extra.unwrap_or_default(),
    })
}

fn resolve_network(id: &str, version: Version) -> Result<&'static network::Network, RequestError> {
    let network = network::find(id).ok_or_else(|| RequestError::UnknownNetwork(id.to_string()))?;
    if version == Version::V1 && !network.v1 {
        return Err(RequestError::NotAV1Network(id.to_string()));
    }
    Ok(network)
}

fn check_scheme_supported(family: Family, requirements: &Requirements) -> Result<(), RequestError> {
    match (family, requirements.scheme.as_str()) {
        (Family::Evm | Family::Solana | Family::Starknet, "exact") => Ok(()),
        _ => Err(RequestError::UnsupportedScheme {
            scheme: requirements.scheme.clone(),
            network: requirements.network.clone(),
        }),
    }
}

fn decode_payload(family: Family, requirements: &Requirements, raw: Value) -> Result<Payload, RequestError> {
    check_scheme_supported(family, requirements)?;
    if family == Family::Solana {
        return decode_svm(raw);
    }
    if raw.get("permit2Authorization").is_some() {
        return Err(RequestError::UnsupportedPayloadType("exact EVM via Permit2"));
    }
    let wire: Eip3009Wire = from_value(raw).map_err(|_| RequestError::PayloadField {
        field: "payload",
        problem: "must be {signature, authorization: {from, to, value, validAfter, validBefore, nonce}}",
    })?;
    Ok(Payload::Eip3009(eip3009_from_wire(wire)?))
}

/// The `exact` Solana payload: `{transaction: <base64>}`; the scheme decodes the transaction itself,
/// so an undecodable one gets the scheme's own code.
fn decode_svm(raw: Value) -> Result<Payload, RequestError> {
    match raw.get("transaction") {
        Some(Value::String(transaction)) if !transaction.is_empty() => {
            Ok(Payload::Svm(SvmPayload { transaction: transaction.clone() }))
        }
        _ => Err(RequestError::PayloadField { field: "payload.transaction", problem: "must be a base64 transaction" }),
    }
}

/// What a Starknet payment payload carries beside `payload`.
struct StarknetExtras {
    typed_data: Option<Value>,
    paymaster_endpoint: Option<String>,
}

/// The `exact` Starknet payload: `{signature, authorization: {from, …}}`, with the typed data beside
/// it or inside it. Only its shape is checked here; the scheme reads the values.
fn decode_starknet(raw: Value, beside: StarknetExtras) -> Result<Payload, RequestError> {
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
    let typed_data = beside.typed_data.or_else(|| raw.get("typedData").filter(|t| t.is_object()).cloned());
    Ok(Payload::Starknet(StarknetPayload {
        from: from.to_string(),
        authorization: authorization.clone(),
        signature: signature.clone(),
        typed_data,
        paymaster_endpoint: beside.paymaster_endpoint,
    }))
}

/// The daydreams `upto` payload: `{authorization: {from, to, value, validBefore, nonce}, signature}`
/// (`to` is the spender; `value` the cap; `validBefore` the permit deadline; `nonce` the owner's
/// EIP-2612 nonce). The session id is the permit's canonical id ([`super::upto::canonical_session_id`]),
/// whatever the spelling of the fields; verify refuses an `accepted` that does not name the requirements'
/// network and asset, so an id derived from `accepted` here is the one of the permit checked.
fn decode_permit(accepted: &Accepted, raw: Value) -> Result<Payload, RequestError> {
    let field = |field, problem| RequestError::UptoPayloadField { field, problem };
    let auth = raw.get("authorization").filter(|a| a.is_object()).ok_or(field("authorization", "is missing"))?;
    let signature = raw.get("signature").and_then(Value::as_str).ok_or(field("signature", "is missing"))?;
    let text = |key: &str| auth.get(key).filter(|v| !v.is_null());
    let int = |key, name| {
        text(key)
            .and_then(|v| serde_json::from_value::<IntText>(v.clone()).ok())
            .and_then(|t| t.to_u256())
            .ok_or(field(name, "must be a decimal integer"))
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
    permit.session_id = super::upto::canonical_session_id(&super::upto::PermitIdentity {
        network,
        asset,
        owner: permit.owner,
        spender: permit.spender,
        cap: permit.cap,
        nonce: permit.nonce,
        deadline: permit.deadline,
        signature: &permit.signature,
    });
    Ok(Payload::Permit(permit))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Eip3009Wire {
    signature: String,
    authorization: AuthorizationWire,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizationWire {
    from: String,
    to: String,
    value: IntText,
    valid_after: IntText,
    valid_before: IntText,
    nonce: String,
}

fn eip3009_from_wire(w: Eip3009Wire) -> Result<Eip3009Payload, RequestError> {
    Ok(Eip3009Payload {
        signature: parse_hex_bytes(&w.signature)
            .ok_or(RequestError::PayloadField { field: "signature", problem: "must be 0x-prefixed hex" })?,
        authorization: authorization_from_wire(w.authorization)?,
    })
}

/// An EIP-3009 authorization as JSON (`{from, to, value, validAfter, validBefore, nonce}`), checked
/// field by field as a payload's is.
pub fn parse_eip3009_authorization(value: Value) -> Result<Eip3009Authorization, RequestError> {
    let wire: AuthorizationWire = from_value(value).map_err(|_| RequestError::PayloadField {
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
        from: parse_address(&a.from, "authorization.from")?,
        to: parse_address(&a.to, "authorization.to")?,
        value: int(&a.value, "authorization.value")?,
        valid_after: int(&a.valid_after, "authorization.validAfter")?,
        valid_before: int(&a.valid_before, "authorization.validBefore")?,
        nonce: parse_b256(&a.nonce).ok_or(RequestError::PayloadField {
            field: "authorization.nonce",
            problem: "must be 32 bytes of 0x hex",
        })?,
    })
}

/// A 20-byte `0x` address in any letter case.
pub fn parse_evm_address(text: &str) -> Option<Address> {
    let hex = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"))?;
    if hex.len() != 40 {
        return None;
    }
    Address::from_str(hex).ok()
}

fn parse_address(text: &str, field: &'static str) -> Result<Address, RequestError> {
    parse_evm_address(text)
        .ok_or(RequestError::PayloadField { field, problem: "must be a 0x-prefixed 20-byte address" })
}

/// 32 bytes of `0x` hex (hashes, EIP-3009 nonces).
pub fn parse_b256(text: &str) -> Option<B256> {
    let hex = text.strip_prefix("0x")?;
    (hex.len() == 64).then(|| B256::from_str(hex).ok()).flatten()
}

fn parse_hex_bytes(text: &str) -> Option<Bytes> {
    let hex = text.strip_prefix("0x")?;
    hex::decode(hex).ok().map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn examples() -> Value {
        serde_json::from_str(include_str!("../../tests/vectors/api-examples.json")).unwrap()
    }

    fn parse(body: &Value) -> Result<PaymentRequest, Rejection> {
        parse_request(body.to_string().as_bytes())
    }

    #[test]
    fn parses_the_spec_v2_request() {
        let body = &examples()["coinbase_v2"]["POST /verify request"];
        let r = parse(body).unwrap();
        assert_eq!((r.version, r.dialect), (Version::V2, Dialect::Standard));
        assert_eq!(r.network.name, "base-sepolia");
        assert_eq!(r.requirements.amount, alloy_primitives::U256::from(10000));
        assert_eq!(r.accepted.network, "eip155:84532");
        assert_eq!(r.payload.payer(), "0x857b06519E91e3A54538791bDbb0E22373e36b66");
    }

    #[test]
    fn parses_the_spec_v1_request() {
        let body = &examples()["coinbase_v1"]["POST /verify request"];
        let r = parse(body).unwrap();
        assert_eq!(r.version, Version::V1);
        assert_eq!(r.requirements.network, "base-sepolia");
        assert_eq!(r.accepted.scheme, "exact");
    }

    #[test]
    fn parses_a_cronos_request_with_numeric_time_bounds() {
        let header = json!({"x402Version":1,"scheme":"exact","network":"cronos-testnet","payload":{
            "from":"0x857b06519E91e3A54538791bDbb0E22373e36b66","to":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
            "value":"1000000","validAfter":0,"validBefore":1735689551,
            "nonce":"0xf3746613c2d920b5fdabc0856f2aeb2d4f88ee6037b8cc5d04a71a4462f13480","signature":"0x00",
            "asset":"0xc01efAaF7C5C61bEbFAeb358E1161b537b8bC0e0"}});
        let body = json!({"x402Version":1,"paymentHeader": crate::protocol::header::encode(&header),
            "paymentRequirements":{"scheme":"exact","network":"cronos-testnet","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
            "asset":"0xc01efAaF7C5C61bEbFAeb358E1161b537b8bC0e0","maxAmountRequired":"1000000","maxTimeoutSeconds":300}});
        let r = parse(&body).unwrap();
        assert_eq!((r.version, r.dialect), (Version::V1, Dialect::Cronos));
        let Payload::Eip3009(p) = &r.payload else { panic!("an EIP-3009 payload") };
        assert_eq!(p.authorization.valid_before, alloy_primitives::U256::from(1735689551u64));
        assert_eq!(r.network.chain_id, Some(338));
    }

    #[test]
    fn parses_the_daydreams_upto_payload_and_derives_its_session_id() {
        let vectors: Value =
            serde_json::from_str(include_str!("../../tests/vectors/generated-evm-signatures.json")).unwrap();
        let v = &vectors["eip2612PermitForDaydreamsUpto"];
        let payload = v["v2PaymentPayload"].clone();
        let body = json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": payload["accepted"]});
        let r = parse(&body).unwrap();
        let Payload::Permit(p) = &r.payload else { panic!("a permit payload") };
        assert_eq!(p.session_id, v["sessionId"].as_str().unwrap());
        assert_eq!((p.cap, p.nonce), (alloy_primitives::U256::from(1_000_000), alloy_primitives::U256::ZERO));
        assert_eq!(r.payload.payer(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        for missing in ["from", "to", "value", "validBefore", "nonce"] {
            let mut b = body.clone();
            b["paymentPayload"]["payload"]["authorization"].as_object_mut().unwrap().remove(missing);
            assert_eq!(reason_of(b), Reason::UptoPayload, "{missing}");
        }
    }

    /// One permit is one session however it is spelled: each re-spelling an attacker tried opens no
    /// second session.
    #[test]
    fn every_spelling_of_one_permit_has_the_one_canonical_session_id() {
        let vectors: Value =
            serde_json::from_str(include_str!("../../tests/vectors/generated-evm-signatures.json")).unwrap();
        let v = &vectors["eip2612PermitForDaydreamsUpto"];
        let payload = v["v2PaymentPayload"].clone();
        let body = json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": payload["accepted"]});
        let id = |b: &Value| match parse(b).unwrap().payload {
            Payload::Permit(p) => p.session_id,
            other => panic!("{other:?}"),
        };
        assert_eq!(id(&body), v["sessionId"].as_str().unwrap(), "the id the reference client computes");
        let text = |b: &Value, path: &str| b.pointer(path).unwrap().as_str().unwrap().to_string();
        let upper = |t: String| format!("0x{}", t[2..].to_uppercase());
        type Respelling<'a> = (&'static str, Box<dyn Fn(&mut Value) + 'a>);
        let respell: Vec<Respelling<'_>> = vec![
            (
                "lowercase asset",
                Box::new(|b| {
                    b["paymentPayload"]["accepted"]["asset"] =
                        json!(text(b, "/paymentPayload/accepted/asset").to_lowercase())
                }),
            ),
            (
                "uppercase asset",
                Box::new(|b| {
                    b["paymentPayload"]["accepted"]["asset"] = json!(upper(text(b, "/paymentPayload/accepted/asset")))
                }),
            ),
            (
                "lowercase from",
                Box::new(|b| {
                    b["paymentPayload"]["payload"]["authorization"]["from"] =
                        json!(text(b, "/paymentPayload/payload/authorization/from").to_lowercase())
                }),
            ),
            (
                "uppercase spender",
                Box::new(|b| {
                    b["paymentPayload"]["payload"]["authorization"]["to"] =
                        json!(upper(text(b, "/paymentPayload/payload/authorization/to")))
                }),
            ),
            (
                "uppercase signature",
                Box::new(|b| {
                    b["paymentPayload"]["payload"]["signature"] =
                        json!(upper(text(b, "/paymentPayload/payload/signature")))
                }),
            ),
            (
                "value as a number",
                Box::new(|b| b["paymentPayload"]["payload"]["authorization"]["value"] = json!(1_000_000)),
            ),
            (
                "nonce and deadline as numbers",
                Box::new(|b| {
                    b["paymentPayload"]["payload"]["authorization"]["nonce"] = json!(0);
                    b["paymentPayload"]["payload"]["authorization"]["validBefore"] = json!(4_102_444_800u64);
                }),
            ),
            ("the v1 network name", Box::new(|b| b["paymentPayload"]["accepted"]["network"] = json!("base"))),
            (
                "v as 0/1",
                Box::new(|b| {
                    let sig = text(b, "/paymentPayload/payload/signature");
                    let v = u8::from_str_radix(&sig[130..], 16).unwrap() - 27;
                    b["paymentPayload"]["payload"]["signature"] = json!(format!("{}{v:02x}", &sig[..130]));
                }),
            ),
        ];
        for (name, change) in respell {
            let mut b = body.clone();
            change(&mut b);
            assert_ne!(b, body, "{name} changes the body");
            assert_eq!(id(&b), id(&body), "{name}");
        }
        // Another permit (another cap) is another session.
        let mut other = body.clone();
        other["paymentPayload"]["payload"]["authorization"]["value"] = json!("1000001");
        assert_ne!(id(&other), id(&body));
    }

    fn reason_of(body: Value) -> Reason {
        parse(&body).unwrap_err().error.reason()
    }

    #[test]
    fn every_malformed_request_has_its_reason() {
        let good = examples()["coinbase_v2"]["POST /verify request"].clone();
        assert_eq!(parse_request(b"{not json").unwrap_err().error.reason(), Reason::InvalidPayload);
        assert_eq!(reason_of(json!({"x402Version": 2})), Reason::InvalidPayload);

        let mut b = good.clone();
        b["paymentPayload"]["x402Version"] = json!(3);
        assert_eq!(reason_of(b), Reason::InvalidX402Version);

        let mut b = good.clone();
        b["paymentRequirements"]["network"] = json!("eip155:999999");
        assert_eq!(reason_of(b), Reason::InvalidNetwork);

        let mut b = good.clone();
        b["paymentRequirements"]["scheme"] = json!("flexible");
        assert_eq!(reason_of(b), Reason::UnsupportedScheme);

        // An EIP-3009 payload under `upto`: its nonce is no EIP-2612 nonce.
        let mut b = good.clone();
        b["paymentRequirements"]["scheme"] = json!("upto");
        assert_eq!(reason_of(b), Reason::UptoPayload);

        let mut b = good.clone();
        b["paymentRequirements"]["amount"] = json!("-5");
        assert_eq!(reason_of(b), Reason::InvalidPaymentRequirements);

        let mut b = good.clone();
        b["paymentPayload"]["payload"]["authorization"]["nonce"] = json!("0x1234");
        assert_eq!(reason_of(b), Reason::InvalidPayload);

        let mut b = good.clone();
        b["paymentPayload"]["payload"]["authorization"]["from"] = json!("0xnothex");
        assert_eq!(reason_of(b), Reason::InvalidPayload);

        let mut b = good.clone();
        b["paymentPayload"]["payload"] = json!({"permit2Authorization": {}, "signature": "0x"});
        assert_eq!(reason_of(b), Reason::UnsupportedPayloadType);

        let mut b = good;
        b["paymentPayload"]["accepted"] = json!("nope");
        let rejection = parse(&b).unwrap_err();
        assert_eq!(rejection.error.reason(), Reason::InvalidPayload);
        assert_eq!(rejection.network, "eip155:84532");
    }

    #[test]
    fn a_v2_only_network_is_refused_to_v1_clients() {
        let mut b = examples()["coinbase_v1"]["POST /verify request"].clone();
        b["paymentRequirements"]["network"] = json!("optimism");
        assert_eq!(reason_of(b), Reason::InvalidNetwork);
    }

    /// x402-starknet's shape: typed data beside `payload`; the v2 text's: inside it. Both normalize
    /// alike; a payload without an authorization or a signature is refused before any scheme.
    #[test]
    fn starknet_payloads_keep_their_typed_data_wherever_it_is() {
        let requirements = json!({"scheme": "exact", "network": "starknet:sepolia", "amount": "5", "asset": "0x4718",
            "payTo": "0x1", "maxTimeoutSeconds": 60});
        let inner = json!({"signature": ["0x1", "0x2"], "authorization": {"from": "0xabc", "to": "0x1",
            "amount": "5", "token": "0x4718", "nonce": "0x9", "validUntil": "0"}});
        let typed = json!({"primaryType": "OutsideExecution"});
        let beside = json!({"x402Version": 2, "paymentPayload": {"x402Version": 2, "accepted": requirements,
            "payload": inner, "typedData": typed, "paymasterEndpoint": "https://pm"}, "paymentRequirements": requirements});
        let mut inside = beside.clone();
        inside["paymentPayload"].as_object_mut().unwrap().remove("typedData");
        inside["paymentPayload"]["payload"]["typedData"] = typed.clone();
        for (body, endpoint) in [(beside, Some("https://pm")), (inside, Some("https://pm"))] {
            let r = parse(&body).unwrap();
            let Payload::Starknet(p) = &r.payload else { panic!("a Starknet payload") };
            assert_eq!((p.typed_data.as_ref(), p.paymaster_endpoint.as_deref()), (Some(&typed), endpoint));
            assert_eq!((r.network.name, r.payload.payer()), ("starknet-sepolia", "0xabc".to_string()));
        }
        let mut broken = json!({"x402Version": 2, "paymentPayload": {"x402Version": 2, "accepted": requirements,
            "payload": {"signature": "0x1"}}, "paymentRequirements": requirements});
        assert_eq!(parse(&broken).unwrap_err().error.reason(), Reason::InvalidPayload);
        broken["paymentPayload"]["payload"] = inner;
        broken["paymentRequirements"]["scheme"] = json!("upto");
        assert_eq!(parse(&broken).unwrap_err().error.reason(), Reason::UnsupportedScheme);
    }
}
