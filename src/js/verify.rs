//! `verifyPayment`: the request as the facilitator would receive it, normalized by the core, then
//! either the pure checks alone ([`exact_evm::verify_offline`]) or the facilitator's own verify
//! ([`exact_evm::verify`]: the pure checks plus one batched JSON-RPC round trip) over JS fetch.

use alloy_primitives::Address;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

use super::envelope::{err, ok, parse_json, BindingError};
use super::ports::{JsClock, JsTransport};
use crate::chains::jsonrpc::JsonRpcClient;
use crate::config::{GasLimits, Settings};
use crate::protocol::header;
use crate::protocol::model::{Payload, PaymentRequest, Version};
use crate::protocol::normalize::{parse_evm_address, parse_request, RequestError};
use crate::schemes::exact_evm::{self, EvmContext, ExactEvmError, OfflineVerdict};

/// Verify never settles: these bound nothing here, but the context wants them.
const UNUSED_SETTINGS: Settings =
    Settings { receipt_timeout_secs: 30, rpc_timeout_ms: 10_000, fee_bump_after_secs: 15 };
const UNUSED_GAS: GasLimits = GasLimits { max_fee_per_gas_wei: 0, max_gas_per_settle: 0, max_gas_per_deployment: 0 };

/// A Cronos `paymentHeader` carries a flat EIP-3009 payload instead of `payload.authorization`.
fn is_cronos(payload: &Value) -> bool {
    payload.get("x402Version").and_then(Value::as_u64) == Some(1)
        && payload.pointer("/payload/authorization").is_none()
        && payload.pointer("/payload/from").is_some()
}

/// The `/verify` body the facilitator would get for this payload: a payload object (v1, v2, or a
/// decoded Cronos header) or the header text itself.
fn request_body(payload: Value, requirements: Value) -> Result<Vec<u8>, BindingError> {
    let (payload, header_text) = match payload {
        Value::String(text) => {
            let decoded =
                header::decode::<Value>(&text).map_err(|e| BindingError::Request(RequestError::PaymentHeader(e)))?;
            (decoded, Some(text))
        }
        other => (other, None),
    };
    let body = if is_cronos(&payload) {
        let header_text = header_text.unwrap_or_else(|| header::encode(&payload));
        json!({"x402Version": 1, "paymentHeader": header_text, "paymentRequirements": requirements})
    } else {
        let mut body = json!({"paymentPayload": payload, "paymentRequirements": requirements});
        // Only what the payload declares: a payload without a version is malformed, not of version null.
        if let Some(version) = body.pointer("/paymentPayload/x402Version").cloned() {
            body["x402Version"] = version;
        }
        body
    };
    Ok(body.to_string().into_bytes())
}

/// Normalizes the inputs as the facilitator does, or the error envelope to answer with.
pub(super) fn normalize_any(payload_json: &str, requirements_json: &str) -> Result<PaymentRequest, String> {
    let body = parse_json(payload_json, "payload")
        .and_then(|p| Ok((p, parse_json(requirements_json, "requirements")?)))
        .and_then(|(p, r)| request_body(p, r))
        .map_err(|e| err(&e, Version::V2))?;
    parse_request(&body).map_err(|rejection| err(&BindingError::Request(rejection.error), rejection.version))
}

/// An `exact` request (`upto` ones go to [`super::upto`]).
fn normalize(payload_json: &str, requirements_json: &str) -> Result<PaymentRequest, String> {
    let request = normalize_any(payload_json, requirements_json)?;
    match request.payload {
        Payload::Eip3009(_) => Ok(request),
        Payload::Permit(_) => Err(err(&BindingError::NotInPackage("upto (use verifyUpto)".into()), request.version)),
        Payload::Svm(_) => Err(err(&BindingError::NotInPackage("Solana (use verifySvm)".into()), request.version)),
        Payload::Starknet(_) => Err(err(&BindingError::NotInPackage("Starknet".into()), request.version)),
    }
}

fn result(
    request: &PaymentRequest,
    refusal: Option<&ExactEvmError>,
    needs_chain: bool,
    chain_checked: bool,
    note: &str,
) -> Value {
    let mut out = json!({
        "isValid": refusal.is_none(),
        "payer": request.payload.payer(),
        "needsChain": needs_chain,
        "chainChecked": chain_checked,
    });
    if let Some(e) = refusal {
        out["invalidReason"] = json!(e.reason().code(request.version));
        out["invalidMessage"] = json!(format!("{e}{note}"));
    }
    out
}

/// Every check that needs no chain, at unix time `now_secs`.
#[wasm_bindgen(js_name = verifyOffline)]
pub fn verify_offline(payload_json: &str, requirements_json: &str, now_secs: f64) -> String {
    let request = match normalize(payload_json, requirements_json) {
        Ok(request) => request,
        Err(envelope) => return envelope,
    };
    if !(now_secs.is_finite() && now_secs >= 0.0) {
        return err(&BindingError::Field("options.now"), request.version);
    }
    let value = match exact_evm::verify_offline(&request, now_secs as u64) {
        Ok(OfflineVerdict::Valid { .. }) => result(&request, None, false, false, ""),
        Ok(OfflineVerdict::NeedsChain { unless, .. }) => result(
            &request,
            Some(&unless),
            true,
            false,
            " (unless the chain shows otherwise: pass rpcUrl to check a contract wallet's signature or read the token's domain)",
        ),
        Err(e) => result(&request, Some(&e), false, false, ""),
    };
    ok(value)
}

/// `options.allowedFactories`: the facilitator's `EIP6492_ALLOWED_FACTORIES` to judge counterfactual
/// wallets by (none, as the facilitator's default, when absent).
fn factories(json_text: &str) -> Result<Vec<Address>, BindingError> {
    let texts: Vec<String> = serde_json::from_value(parse_json(json_text, "allowedFactories")?)
        .map_err(|_| BindingError::Field("allowedFactories (a list of addresses)"))?;
    texts
        .iter()
        .map(|t| parse_evm_address(t).ok_or(BindingError::Field("allowedFactories (a list of addresses)")))
        .collect()
}

pub(super) fn rpc_urls(json_text: &str) -> Result<Vec<String>, BindingError> {
    let urls: Vec<String> =
        serde_json::from_value(parse_json(json_text, "rpcUrl")?).map_err(|_| BindingError::Field("rpcUrl"))?;
    let well_formed = |u: &String| u.starts_with("http://") || u.starts_with("https://");
    if urls.is_empty() || !urls.iter().all(well_formed) {
        return Err(BindingError::Field("rpcUrl (an http(s) URL or a list of them)"));
    }
    Ok(urls)
}

/// The facilitator's verify: the pure checks, then the chain reads in one batched JSON-RPC call sent
/// with `post(url, body) => Promise<string>`; `sleep(ms) => Promise` paces retries.
#[wasm_bindgen(js_name = verifyOnline)]
pub async fn verify_online(
    payload_json: String,
    requirements_json: String,
    now_ms: f64,
    rpc_urls_json: String,
    allowed_factories_json: String,
    post: js_sys::Function,
    sleep: js_sys::Function,
) -> String {
    let request = match normalize(&payload_json, &requirements_json) {
        Ok(request) => request,
        Err(envelope) => return envelope,
    };
    if !(now_ms.is_finite() && now_ms >= 0.0) {
        return err(&BindingError::Field("options.now"), request.version);
    }
    let (urls, allowed_factories) =
        match rpc_urls(&rpc_urls_json).and_then(|u| Ok((u, factories(&allowed_factories_json)?))) {
            Ok(both) => both,
            Err(e) => return err(&e, request.version),
        };
    let http = JsTransport::new(post);
    let clock = JsClock::new(now_ms as u64, sleep);
    let ctx = EvmContext {
        network: request.network,
        rpc: JsonRpcClient::new(&http, &clock, &urls),
        clock: &clock,
        settings: UNUSED_SETTINGS,
        gas: UNUSED_GAS,
        facilitator: None,
        allowed_factories: &allowed_factories,
    };
    let value = match exact_evm::verify(&ctx, &request).await {
        Ok(_) => result(&request, None, false, true, ""),
        Err(e) => result(&request, Some(&e), false, true, ""),
    };
    ok(value)
}
