//! `verifyPayment`: the request as the facilitator would receive it, normalized by the core, then
//! either the pure checks alone ([`exact_evm::verify_offline`]) or the facilitator's own verify
//! ([`exact_evm::verify`]: the pure checks plus one batched JSON-RPC round trip) over JS fetch.

use alloy_primitives::Address;
use wasm_bindgen::prelude::*;

use super::envelope::{err, ok, parse_json_as, BindingError};
use super::ports::{JsClock, JsTransport};
use super::request::{normalize_any, rpc_urls, unix_time};
use super::verdict::Verdict;
use crate::chains::jsonrpc::JsonRpcClient;
use crate::protocol::normalize::parse_evm_address;
use crate::schemes::exact_evm::{self, Eip3009Payload, EvmContext, ExactEvmError, OfflineVerdict};
use crate::schemes::{Payload, PaymentRequest};

/// An `exact` request (`upto` ones go to [`super::upto`]).
fn normalize(payload_json: &str, requirements_json: &str) -> Result<(PaymentRequest, Eip3009Payload), String> {
    exact_eip3009(normalize_any(payload_json, requirements_json)?)
}

/// The EIP-3009 payload of a normalized request, or the envelope that sends the payment elsewhere.
fn exact_eip3009(request: PaymentRequest) -> Result<(PaymentRequest, Eip3009Payload), String> {
    match &request.payload {
        Payload::Eip3009(payload) => {
            let payload = payload.clone();
            Ok((request, payload))
        }
        Payload::Permit(_) => Err(err(&BindingError::NotInPackage("upto (use verifyUpto)".into()), request.version)),
        #[cfg(feature = "permit2")]
        Payload::Permit2(_) | Payload::UptoPermit2(_) => {
            let not_here = BindingError::NotInPackage("Permit2, exact or upto (verify it with the facilitator)".into());
            Err(err(&not_here, request.version))
        }
        Payload::Svm(_) => Err(err(&BindingError::NotInPackage("Solana (use verifySvm)".into()), request.version)),
        #[cfg(feature = "starknet")]
        Payload::Starknet(_) => {
            let other = BindingError::InOtherPackage { payments: "Starknet", package: "@x402-edge/verify-starknet" };
            Err(err(&other, request.version))
        }
        #[cfg(feature = "starknet")] // [starknet-spec]
        Payload::StarknetSpec(_) => {
            let other = BindingError::InOtherPackage { payments: "Starknet", package: "@x402-edge/verify-starknet" };
            Err(err(&other, request.version))
        }
    }
}

fn result(
    request: &PaymentRequest,
    refusal: Option<&ExactEvmError>,
    needs_chain: bool,
    chain_checked: bool,
    note: &str,
) -> Verdict {
    let mut verdict = Verdict::valid(request.payload.payer(), needs_chain, chain_checked);
    if let Some(e) = refusal {
        verdict.refuse(request, e.reason(), format!("{e}{note}"));
    }
    verdict.with_payment_policy(request)
}

/// Every check that needs no chain, at unix time `now_secs`.
#[wasm_bindgen(js_name = verifyOffline)]
pub fn verify_offline(payload_json: &str, requirements_json: &str, now_secs: f64) -> String {
    match normalize(payload_json, requirements_json) {
        Ok((request, payload)) => verify_offline_normalized(&request, &payload, now_secs),
        Err(envelope) => envelope,
    }
}

/// [`verify_offline`] of inputs already parsed (JS objects read by serde-wasm-bindgen), for the JS
/// boundary benchmark ([`super::boundary`]).
#[cfg(feature = "js-boundary-bench")]
pub(super) fn verify_offline_values(
    payload: serde_json::Value,
    requirements: serde_json::Value,
    now_secs: f64,
) -> String {
    match super::request::normalize_values(payload, requirements).and_then(exact_eip3009) {
        Ok((request, payload)) => verify_offline_normalized(&request, &payload, now_secs),
        Err(envelope) => envelope,
    }
}

fn verify_offline_normalized(request: &PaymentRequest, payload: &Eip3009Payload, now_secs: f64) -> String {
    let now_secs = match unix_time(now_secs) {
        Ok(now) => now,
        Err(e) => return err(&e, request.version),
    };
    let value = match exact_evm::verify_offline(request, payload, now_secs) {
        Ok(OfflineVerdict::Valid { .. }) => result(request, None, false, false, ""),
        Ok(OfflineVerdict::NeedsChain { unless, .. }) => result(
            request,
            Some(&unless),
            true,
            false,
            " (unless the chain shows otherwise: pass rpcUrl to check a contract wallet's signature or read the token's domain)",
        ),
        Err(e) => result(request, Some(&e), false, false, ""),
    };
    ok(value)
}

/// `options.allowedFactories`: the facilitator's `EIP6492_ALLOWED_FACTORIES` to judge counterfactual
/// wallets by (none, as the facilitator's default, when absent).
fn factories(json_text: &str) -> Result<Vec<Address>, BindingError> {
    let texts: Vec<String> =
        parse_json_as(json_text, "allowedFactories", BindingError::Field("allowedFactories (a list of addresses)"))?;
    texts
        .iter()
        .map(|t| parse_evm_address(t).ok_or(BindingError::Field("allowedFactories (a list of addresses)")))
        .collect()
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
    let (request, payload) = match normalize(&payload_json, &requirements_json) {
        Ok(normalized) => normalized,
        Err(envelope) => return envelope,
    };
    let now_ms = match unix_time(now_ms) {
        Ok(now) => now,
        Err(e) => return err(&e, request.version),
    };
    let (urls, allowed_factories) =
        match rpc_urls(&rpc_urls_json).and_then(|u| Ok((u, factories(&allowed_factories_json)?))) {
            Ok(both) => both,
            Err(e) => return err(&e, request.version),
        };
    let http = JsTransport::new(post);
    let clock = JsClock::new(now_ms, sleep);
    let rpc = JsonRpcClient::new(&http, &clock, &urls);
    let ctx = EvmContext::read_only(request.network, rpc, &clock, &allowed_factories);
    let value = match exact_evm::verify(&ctx, &request, &payload).await {
        Ok(_) => result(&request, None, false, true, ""),
        Err(e) => result(&request, Some(&e), false, true, ""),
    };
    ok(value)
}
