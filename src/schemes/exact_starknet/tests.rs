//! The pure checks on the outside execution starknet.js signed in `tests/vectors/starknet.json`
//! (SNIP-9 v2, restricted caller), one rule at a time.

use alloy_primitives::U256;
use serde_json::{json, Value};

use super::*;
use crate::chains::starknet::{parse_felt, ANY_CALLER};
use crate::protocol::Reason;
use crate::schemes::exact_starknet::StarknetPayload;

fn vector() -> Value {
    let all: Value = serde_json::from_str(include_str!("../../../tests/vectors/starknet.json")).unwrap();
    all["outsideExecutions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "snip9 v2 restricted caller")
        .unwrap()
        .clone()
}

struct Case {
    payload: StarknetPayload,
    amount: U256,
    asset: String,
    pay_to: String,
    caller: Felt,
    now: u64,
}

fn case() -> Case {
    let v = vector();
    let message = &v["typedData"]["message"];
    let call = &message["Calls"][0];
    let payload = StarknetPayload {
        from: v["account"].as_str().unwrap().to_string(),
        authorization: json!({
            "from": v["account"], "to": call["Calldata"][0], "amount": "12345", "token": call["To"],
            "nonce": message["Nonce"], "validUntil": message["Execute Before"].to_string(),
        }),
        signature: json!({"r": v["signature"]["r"], "s": v["signature"]["s"]}),
        typed_data: Some(v["typedData"].clone()),
        paymaster_endpoint: None,
    };
    Case {
        payload,
        amount: U256::from(12345),
        asset: call["To"].as_str().unwrap().to_string(),
        pay_to: call["Calldata"][0].as_str().unwrap().to_string(),
        caller: parse_felt(message["Caller"].as_str().unwrap()).unwrap(),
        now: 1_700_000_100,
    }
}

fn run(c: &Case) -> Result<VerifiedStarknet, ExactStarknetError> {
    let required = StarknetRequirements { amount: c.amount, asset: &c.asset, pay_to: &c.pay_to };
    let callers = [c.caller];
    let policy = Policy { chain_id: encode_short_string("SN_MAIN").unwrap(), callers: &callers, now_secs: c.now };
    verify_payload(&c.payload, &required, &policy)
}

fn reason(c: &Case) -> Reason {
    run(c).unwrap_err().reason()
}

#[test]
fn the_signed_vector_passes_and_hashes_as_starknet_js() {
    let verified = run(&case()).unwrap();
    assert_eq!(format!("{:#x}", verified.message_hash), vector()["messageHash"].as_str().unwrap());
    assert_eq!(verified.signature.len(), 2);
    assert_eq!(verified.amount, U256::from(12345));
    // The signature as the account's felts (what Argent and multisig accounts send) reads the same.
    let mut c = case();
    let v = vector();
    c.payload.signature = json!([v["signature"]["r"], v["signature"]["s"]]);
    assert_eq!(run(&c).unwrap().signature, verified.signature);
}

#[test]
fn the_authorization_is_checked_as_x402_starknet_does() {
    let mut c = case();
    c.asset = "0x1234".into();
    assert_eq!(reason(&c), Reason::StarknetTokenMismatch);
    let mut c = case();
    c.pay_to = "0x99".into();
    assert_eq!(reason(&c), Reason::StarknetRecipientMismatch);
    let mut c = case();
    c.amount = U256::from(12346);
    assert_eq!(reason(&c), Reason::StarknetAuthorizationValue);
    // Leading zeros and case do not matter: addresses are felts.
    let mut c = case();
    c.asset = c.asset.to_uppercase().replace("0X", "0x000");
    assert!(run(&c).is_ok());
}

#[test]
fn what_executes_is_bound_whatever_the_authorization_says() {
    // The authorization claims the right payment; the signed typed data pays someone else.
    let mut c = case();
    let typed = c.payload.typed_data.as_mut().unwrap();
    typed["message"]["Calls"][0]["Calldata"][0] = json!("0x5");
    assert_eq!(reason(&c), Reason::StarknetRecipientMismatch);
    let mut c = case();
    c.payload.typed_data.as_mut().unwrap()["message"]["Calls"][0]["Calldata"][1] = json!("0x303a");
    assert_eq!(reason(&c), Reason::StarknetAuthorizationValue);
    let mut c = case();
    c.payload.typed_data.as_mut().unwrap()["message"]["Calls"][0]["To"] = json!("0x77");
    assert_eq!(reason(&c), Reason::StarknetTokenMismatch);
    let mut c = case();
    let calls = &mut c.payload.typed_data.as_mut().unwrap()["message"]["Calls"];
    let extra = calls[0].clone();
    calls.as_array_mut().unwrap().push(extra);
    assert!(matches!(run(&c), Err(ExactStarknetError::CallCount(2))));
    let mut c = case();
    c.payload.typed_data.as_mut().unwrap()["message"]["Calls"][0]["Selector"] = json!("approve");
    assert!(matches!(run(&c), Err(ExactStarknetError::NotATransfer(_))));
    // An amount whose high limb is not below 2^128 is no u256.
    let mut c = case();
    c.payload.typed_data.as_mut().unwrap()["message"]["Calls"][0]["Calldata"][2] =
        json!("0x100000000000000000000000000000000");
    assert_eq!(reason(&c), Reason::StarknetAuthorizationValue);
}

#[test]
fn caller_window_chain_and_agreement() {
    let mut c = case();
    c.caller = ANY_CALLER;
    assert!(matches!(run(&c), Err(ExactStarknetError::WrongCaller(_))), "a caller that is not ours");
    let mut c = case();
    c.now = 1_700_000_300 - EXPIRY_MARGIN_SECS;
    assert_eq!(reason(&c), Reason::StarknetValidUntil);
    let mut c = case();
    c.now = 1_700_000_000;
    assert_eq!(reason(&c), Reason::StarknetNotYetValid);
    let mut c = case();
    c.payload.authorization["nonce"] = json!("0x1");
    assert!(matches!(run(&c), Err(ExactStarknetError::AuthorizationDisagrees { field: "nonce" })));
    let mut c = case();
    c.payload.authorization["validUntil"] = json!("1700000299");
    assert!(matches!(run(&c), Err(ExactStarknetError::AuthorizationDisagrees { field: "validUntil" })));
    let mut c = case();
    c.payload.authorization["validUntil"] = json!("0");
    assert!(run(&c).is_ok(), "validUntil 0 states no expiry");
    let c = case();
    let required = StarknetRequirements { amount: c.amount, asset: &c.asset, pay_to: &c.pay_to };
    let policy = Policy { chain_id: encode_short_string("SN_SEPOLIA").unwrap(), callers: &[c.caller], now_secs: c.now };
    assert_eq!(verify_payload(&c.payload, &required, &policy).unwrap_err().reason(), Reason::InvalidNetwork);
}

/// x402-starknet 1.0.0 reads `nonce` and `valid_until` from the typed data, which SNIP-9 v2 names
/// `Nonce` and `Execute Before`: it sends `"0x0"` and 0. Those state nothing, as an absent nonce does;
/// the signed nonce is bound (and keys the ledger), and any other stated nonce must be it.
#[test]
fn a_zero_or_absent_authorization_nonce_states_none_and_the_signed_one_is_bound() {
    let signed = parse_felt(vector()["typedData"]["message"]["Nonce"].as_str().unwrap()).unwrap();
    let sepolia = crate::network::find("starknet:SN_MAIN").unwrap();
    let as_shipped = |c: &mut Case| c.payload.authorization["validUntil"] = json!("0");
    for nonce in [Some(json!("0x0")), Some(json!("0")), Some(json!(0)), Some(Value::Null), None] {
        let mut c = case();
        as_shipped(&mut c);
        match &nonce {
            Some(value) => c.payload.authorization["nonce"] = value.clone(),
            None => drop(c.payload.authorization.as_object_mut().unwrap().remove("nonce")),
        }
        let verified = run(&c).unwrap_or_else(|e| panic!("{nonce:?}: {e}"));
        assert_eq!(verified.execution.nonce, signed, "{nonce:?}");
        assert_eq!(
            ledger_key(sepolia, &verified),
            format!("starknet/starknet:SN_MAIN/{:#x}/{signed:#x}", verified.account)
        );
    }
    let mut c = case();
    as_shipped(&mut c);
    c.payload.authorization["nonce"] = json!("0x2");
    assert!(matches!(run(&c), Err(ExactStarknetError::AuthorizationDisagrees { field: "nonce" })));
    c.payload.authorization["nonce"] = json!("not a felt");
    assert_eq!(reason(&c), Reason::InvalidPayload);
}

#[test]
fn malformed_payloads_are_refused_with_a_field() {
    let mut c = case();
    c.payload.typed_data = None;
    assert_eq!(run(&c).unwrap_err(), ExactStarknetError::MissingTypedData);
    let mut c = case();
    c.payload.typed_data.as_mut().unwrap()["primaryType"] = json!("Mail");
    assert!(matches!(run(&c), Err(ExactStarknetError::NotOutsideExecution(_))));
    for signature in [json!([]), json!("0x1"), json!({"r": "0x1"}), json!(["zz"]), json!(vec!["0x1"; 17])] {
        let mut c = case();
        c.payload.signature = signature.clone();
        assert_eq!(reason(&c), Reason::InvalidPayload, "{signature}");
    }
    for key in ["from", "to", "amount", "token", "validUntil"] {
        let mut c = case();
        c.payload.authorization.as_object_mut().unwrap().remove(key);
        assert_eq!(reason(&c), Reason::InvalidPayload, "{key}");
    }
    let mut c = case();
    c.asset = "not a felt".into();
    assert_eq!(reason(&c), Reason::InvalidPaymentRequirements);
}

#[test]
fn chain_ids_come_from_caip2() {
    let sepolia = crate::network::find("starknet-sepolia").unwrap();
    assert_eq!(chain_id(sepolia), Some(parse_felt("0x534e5f5345504f4c4941").unwrap()));
    assert_eq!(chain_id(crate::network::find("base").unwrap()), None);
}

#[test]
fn a_payer_paying_itself_is_refused_however_the_addresses_are_spelled() {
    let c = case();
    let account = parse_felt(c.payload.authorization["from"].as_str().unwrap()).unwrap();
    let decimal = account.to_string();
    let padded = format!("0x{:0>64}", format!("{account:x}"));
    for (from, pay_to) in
        [(decimal.clone(), format!("{account:#x}")), (format!("{account:#x}"), decimal), (padded.clone(), padded)]
    {
        let mut c = case();
        c.payload.authorization["from"] = json!(from);
        c.pay_to = pay_to.clone();
        assert_eq!(reason(&c), Reason::SelfPayment, "from {from}, payTo {pay_to}");
    }
}
