//! `exact` on Solana: the facilitator's pure checks of the client's transaction (layout, fee-payer
//! rules, mint, destination, amount, memo, the client's signatures) and, with an RPC, a simulation.
//! The package has no fee payer key, so its simulation skips signature verification (the client's
//! signatures are checked in Rust first); the facilitator's own verify simulates co-signed.

use wasm_bindgen::prelude::*;

use super::envelope::{answer, err, parse_json_as, BindingError};
use super::ports::{JsClock, JsTransport};
use super::request::{normalize_any, rpc_urls};
use super::verdict::Verdict;
use crate::chains::jsonrpc::JsonRpcClient;
use crate::chains::svm::Pubkey;
use crate::config::SvmSettings;
use crate::schemes::exact_svm::chain::{self, SvmContext};
use crate::schemes::exact_svm::SvmPayload;
use crate::schemes::exact_svm::{verify_offline, ExactSvmError, VerifiedSvm};
use crate::schemes::{Payload, PaymentRequest};

/// Verify never settles: nothing here is bounded by these.
const UNUSED_SETTINGS: SvmSettings = SvmSettings {
    max_compute_unit_limit: u32::MAX,
    max_compute_unit_price_micro_lamports: u64::MAX,
    confirm_timeout_secs: 30,
};

/// `options.feePayers`: the facilitator's fee payers (its `/supported` `signers["solana:*"]`); `null`
/// trusts the requirements' `extra.feePayer` (`feePayerChecked: false` in the result).
fn fee_payers(json_text: &str) -> Result<Option<Vec<Pubkey>>, BindingError> {
    let field = BindingError::Field("feePayers (a list of Solana addresses)");
    let texts: Option<Vec<String>> = parse_json_as(json_text, "feePayers", field.clone())?;
    texts.map(|texts| texts.iter().map(|t| t.parse::<Pubkey>().map_err(|_| field.clone())).collect()).transpose()
}

/// A Solana `exact` request, or why this is not one.
fn svm_request(payload_json: &str, requirements_json: &str) -> Result<(PaymentRequest, SvmPayload), String> {
    let request = normalize_any(payload_json, requirements_json)?;
    match &request.payload {
        Payload::Svm(payload) => {
            let payload = payload.clone();
            Ok((request, payload))
        }
        _ => Err(err(&BindingError::NotInPackage("EVM (use verifyPayment)".into()), request.version)),
    }
}

fn result(
    request: &PaymentRequest,
    outcome: Result<VerifiedSvm, ExactSvmError>,
    fee_payer_checked: bool,
    chain_checked: bool,
) -> Verdict {
    let payer = match &outcome {
        Ok(verified) => verified.payer.to_base58(),
        Err(_) => request.payload.payer(),
    };
    let mut verdict =
        Verdict { fee_payer_checked: Some(fee_payer_checked), ..Verdict::valid(payer, false, chain_checked) };
    if let Err(e) = outcome {
        verdict.refuse(request, e.reason(), e.to_string());
    }
    verdict.with_payment_policy(request)
}

/// Every check that needs no chain.
#[wasm_bindgen(js_name = verifySvm)]
pub fn verify_svm(payload_json: &str, requirements_json: &str, fee_payers_json: &str) -> String {
    let (request, payload) = match svm_request(payload_json, requirements_json) {
        Ok(parsed) => parsed,
        Err(envelope) => return envelope,
    };
    let value = fee_payers(fee_payers_json).map(|managed| {
        let outcome = verify_offline(&request, &payload, managed.as_deref());
        result(&request, outcome, managed.is_some(), false)
    });
    answer(value, request.version)
}

/// The pure checks, then a simulation over `post(url, body) => Promise<string>`.
#[wasm_bindgen(js_name = verifySvmOnline)]
pub async fn verify_svm_online(
    payload_json: String,
    requirements_json: String,
    now_ms: f64,
    rpc_urls_json: String,
    fee_payers_json: String,
    post: js_sys::Function,
    sleep: js_sys::Function,
) -> String {
    let (request, payload) = match svm_request(&payload_json, &requirements_json) {
        Ok(parsed) => parsed,
        Err(envelope) => return envelope,
    };
    let (urls, managed) = match rpc_urls(&rpc_urls_json).and_then(|u| Ok((u, fee_payers(&fee_payers_json)?))) {
        Ok(both) => both,
        Err(e) => return err(&e, request.version),
    };
    let http = JsTransport::new(post);
    let clock = JsClock::new(now_ms.max(0.0) as u64, sleep);
    let ctx = SvmContext {
        network: request.network,
        rpc: JsonRpcClient::new(&http, &clock, &urls),
        clock: &clock,
        settings: UNUSED_SETTINGS,
    };
    let outcome = match verify_offline(&request, &payload, managed.as_deref()) {
        Ok(verified) => chain::simulate(&ctx, &payload.transaction, false).await.map(|()| verified),
        Err(e) => Err(e),
    };
    answer(Ok(result(&request, outcome, managed.is_some(), true)), request.version)
}
