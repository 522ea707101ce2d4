//! `exact` on Starknet: the facilitator's pure checks (the authorization against the requirements, and
//! the SNIP-9 outside execution the account signed: exactly one `transfer(payTo, amount)` on `asset`,
//! this network's chain id, a caller that may submit it, the time window) and, with an RPC, the
//! account's own `is_valid_signature`, its outside-execution nonce and the token balance.

use serde_json::json;
use wasm_bindgen::prelude::*;

use super::envelope::{answer, err, parse_json, parse_json_as, BindingError};
use super::ports::{JsClock, JsTransport};
use super::request::{normalize_any, rpc_urls, unix_time};
use super::verdict::Verdict;
use crate::chains::jsonrpc::JsonRpcClient;
use crate::chains::starknet::{message_hash, parse_felt, Felt};
use crate::protocol::model::Version;
use crate::protocol::Reason;
use crate::schemes::exact_starknet::chain::{check_on_chain, StarknetContext};
use crate::schemes::exact_starknet::StarknetPayload;
use crate::schemes::exact_starknet::{chain_id, verify_request, ExactStarknetError, VerifiedStarknet};
use crate::schemes::{Payload, PaymentRequest};

/// `options.sponsors`: the facilitator's sponsor accounts (its `/supported` `signers["starknet:*"]`);
/// `null` trusts the requirements' `extra.sponsorAddress` (`sponsorChecked: false` in the result).
fn sponsors(json_text: &str) -> Result<Option<Vec<Felt>>, BindingError> {
    let field = BindingError::Field("sponsors (a list of Starknet addresses)");
    let texts: Option<Vec<String>> = parse_json_as(json_text, "sponsors", field.clone())?;
    texts.map(|texts| texts.iter().map(|t| parse_felt(t).map_err(|_| field.clone())).collect()).transpose()
}

/// A Starknet `exact` request, or why this is not one.
fn starknet_request(payload_json: &str, requirements_json: &str) -> Result<(PaymentRequest, StarknetPayload), String> {
    let request = normalize_any(payload_json, requirements_json)?;
    match &request.payload {
        Payload::Starknet(payload) => {
            let payload = payload.clone();
            Ok((request, payload))
        }
        Payload::StarknetSpec(_) => {
            let dialect = "Starknet `exact` in the registered spec's dialect ({from, outsideExecution})";
            Err(err(&BindingError::NotInPackage(dialect.into()), request.version))
        }
        _ => {
            let other = BindingError::InOtherPackage { payments: "EVM and Solana", package: "@x402-edge/verify" };
            Err(err(&other, request.version))
        }
    }
}

/// The pure checks at `now_secs`; the outside execution's caller must be `ANY_CALLER` or one of
/// `managed` (or the requirements' `extra.sponsorAddress` when `None`).
fn check(
    request: &PaymentRequest,
    payload: &StarknetPayload,
    managed: Option<&[Felt]>,
    now_secs: u64,
) -> Result<VerifiedStarknet, ExactStarknetError> {
    let named: Vec<Felt> =
        request.requirements.extra_str("sponsorAddress").and_then(|a| parse_felt(a).ok()).into_iter().collect();
    verify_request(request, payload, managed.unwrap_or(&named), now_secs)
}

/// Offline, a payment that passed every pure check is still not valid: only the account can judge its
/// signature, so the answer is the facilitator's signature code with `needsChain: true`, as the EVM
/// package answers for a contract wallet.
const ACCOUNT_JUDGES: &str =
    "only the account can judge its signature (SNIP-6 is_valid_signature): pass rpcUrl to ask it";

fn result(
    request: &PaymentRequest,
    outcome: &Result<VerifiedStarknet, ExactStarknetError>,
    sponsor_checked: bool,
    chain_checked: bool,
) -> Verdict {
    let needs_chain = !chain_checked && outcome.is_ok();
    let mut verdict = Verdict {
        sponsor_checked: Some(sponsor_checked),
        ..Verdict::valid(request.payload.payer(), needs_chain, chain_checked)
    };
    match outcome {
        Ok(verified) => {
            verdict.message_hash = Some(format!("{:#x}", verified.message_hash));
            if needs_chain {
                verdict.refuse(request, Reason::StarknetSignature, ACCOUNT_JUDGES.to_string());
            }
        }
        Err(e) => verdict.refuse(request, e.reason(), e.to_string()),
    }
    verdict.with_payment_policy(request)
}

/// Every check that needs no chain, at unix time `now_secs`.
#[wasm_bindgen(js_name = verifyStarknet)]
pub fn verify_starknet(payload_json: &str, requirements_json: &str, now_secs: f64, sponsors_json: &str) -> String {
    let (request, payload) = match starknet_request(payload_json, requirements_json) {
        Ok(parsed) => parsed,
        Err(envelope) => return envelope,
    };
    let value = unix_time(now_secs).and_then(|now| {
        let managed = sponsors(sponsors_json)?;
        let outcome = check(&request, &payload, managed.as_deref(), now);
        Ok(result(&request, &outcome, managed.is_some(), false))
    });
    answer(value, request.version)
}

/// The pure checks, then the account's signature and nonce and the balance over
/// `post(url, body) => Promise<string>`, in one batched JSON-RPC request.
#[wasm_bindgen(js_name = verifyStarknetOnline)]
pub async fn verify_starknet_online(
    payload_json: String,
    requirements_json: String,
    now_ms: f64,
    rpc_urls_json: String,
    sponsors_json: String,
    post: js_sys::Function,
    sleep: js_sys::Function,
) -> String {
    let (request, payload) = match starknet_request(&payload_json, &requirements_json) {
        Ok(parsed) => parsed,
        Err(envelope) => return envelope,
    };
    let inputs = unix_time(now_ms).and_then(|now| Ok((now, rpc_urls(&rpc_urls_json)?, sponsors(&sponsors_json)?)));
    let (now_ms, urls, managed) = match inputs {
        Ok(inputs) => inputs,
        Err(e) => return err(&e, request.version),
    };
    let http = JsTransport::new(post);
    let clock = JsClock::new(now_ms, sleep);
    let outcome = match check(&request, &payload, managed.as_deref(), now_ms / 1000) {
        Ok(verified) => {
            let ctx = StarknetContext {
                rpc: JsonRpcClient::new(&http, &clock, &urls),
                clock: &clock,
                // Verified above: the network has a chain id.
                chain_id: chain_id(request.network).unwrap_or_default(),
                confirm_timeout_secs: 0,
                max_fee_fri: 0,
            };
            check_on_chain(&ctx, &verified).await.map(|()| verified)
        }
        Err(e) => Err(e),
    };
    answer(Ok(result(&request, &outcome, managed.is_some(), true)), request.version)
}

/// The SNIP-12 message hash (revision 0 or 1) of `typed_data` for `account`: what the account signs
/// and its `is_valid_signature` is asked about.
#[wasm_bindgen(js_name = starknetMessageHash)]
pub fn starknet_message_hash(typed_data_json: &str, account: &str) -> String {
    let hash = parse_json(typed_data_json, "typedData").and_then(|typed_data| {
        let account = parse_felt(account).map_err(|_| BindingError::Field("account (a Starknet address)"))?;
        let hash = message_hash(&typed_data, account).map_err(|e| BindingError::TypedData(e.to_string()))?;
        Ok(json!(format!("{hash:#x}")))
    });
    answer(hash, Version::V2)
}
