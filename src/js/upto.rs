//! `upto` (the daydreams EIP-2612 scheme): the facilitator's verify of a permit payment is pure (it
//! makes no chain call), so the package runs exactly it; and the session id a permit opens.

use alloy_primitives::Address;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

use super::envelope::{answer, err, ok, parse_json, parse_json_as, BindingError};
use super::request::{normalize_any, unix_time};
use super::verdict::Verdict;
use crate::protocol::model::Version;
use crate::protocol::normalize::parse_evm_address;
use crate::schemes::upto_evm;
use crate::schemes::Payload;

/// `options.spenders`: the facilitator's addresses (its `/supported` signers); `null` leaves the
/// spender unchecked (`spenderChecked: false` in the result).
fn spenders(json_text: &str) -> Result<Option<Vec<Address>>, BindingError> {
    let field = BindingError::Field("spenders (a list of addresses)");
    let texts: Option<Vec<String>> = parse_json_as(json_text, "spenders", field.clone())?;
    texts.map(|texts| texts.iter().map(|t| parse_evm_address(t).ok_or(field.clone())).collect()).transpose()
}

/// The daydreams checks of an `upto` payment at unix time `now_secs`, with the facilitator's reason codes.
#[wasm_bindgen(js_name = verifyUpto)]
pub fn verify_upto(payload_json: &str, requirements_json: &str, now_secs: f64, spenders_json: &str) -> String {
    let request = match normalize_any(payload_json, requirements_json) {
        Ok(request) => request,
        Err(envelope) => return envelope,
    };
    let Payload::Permit(permit) = &request.payload else {
        return err(&BindingError::NotInPackage("exact (use verifyPayment)".into()), request.version);
    };
    let now_secs = match unix_time(now_secs) {
        Ok(now) => now,
        Err(e) => return err(&e, request.version),
    };
    let spenders = match spenders(spenders_json) {
        Ok(spenders) => spenders,
        Err(e) => return err(&e, request.version),
    };
    let checked = spenders.is_some();
    let spenders = spenders.unwrap_or_else(|| vec![permit.spender]);
    let mut verdict = Verdict {
        session_id: Some(permit.session_id.clone()),
        spender_checked: Some(checked),
        ..Verdict::valid(request.payload.payer(), false, false)
    };
    if let Err(e) = upto_evm::verify(&request, permit, &spenders, now_secs) {
        verdict.refuse(&request, e.reason(), e.to_string());
    }
    ok(verdict.with_payment_policy(&request))
}

/// The session id of an `upto` payment payload (v2), as the facilitator derives it: the permit's
/// canonical id (the daydreams formula over the canonical spelling of its fields, so the id the reference
/// client computes, and the same id for any other spelling of the same permit).
#[wasm_bindgen(js_name = uptoSessionId)]
pub fn upto_session_id(payload_json: &str) -> String {
    let result = parse_json(payload_json, "payload").and_then(|payload| {
        let accepted = payload.get("accepted").cloned().unwrap_or(Value::Null);
        let body = json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": accepted});
        let request = crate::schemes::parse_request(body.to_string().as_bytes())
            .map_err(|_| BindingError::Field("payload (a v2 upto payment payload)"))?;
        match request.payload {
            Payload::Permit(permit) => Ok(Value::String(permit.session_id)),
            _ => Err(BindingError::Field("payload.payload (an upto permit)")),
        }
    });
    answer(result, Version::V2)
}
