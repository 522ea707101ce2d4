//! The registered spec's dialect, one rule at a time, each with the exact code the spec gives it, on
//! the outside execution starknet.js signed in `tests/vectors/starknet.json` (SNIP-9 v2, SN_MAIN,
//! `Caller` a fixed account: here the facilitator's fee payer). Requests go through the real
//! normalization, so the payload shape rules are checked where a request meets them.

use serde_json::{json, Value};

use super::payload::{decode_spec, SpecPayload};
use super::spec::{verify_spec, Phase, SpecPolicy, MIN_SETTLE_MARGIN_SECS, SKEW_MARGIN_SECS};
use super::*;
use crate::chains::starknet::{parse_felt, ANY_CALLER};
use crate::protocol::model::Version;
use crate::protocol::Reason;
use crate::schemes::{parse_request, Payload, PaymentRequest};

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

/// Inside the vector's window (`Execute After` 1_700_000_000, `Execute Before` 1_700_000_300) under
/// the rules with a 290 s maxTimeoutSeconds: 30 s past `Execute After`, the whole window ahead.
const NOW: u64 = 1_700_000_035;

/// The vector as a spec `/verify` body: the signed `Caller` is `extra.feePayer`.
fn body() -> Value {
    let v = vector();
    let message = &v["typedData"]["message"];
    let call = &message["Calls"][0];
    let requirements = json!({"scheme": "exact", "network": "starknet:SN_MAIN", "amount": "12345",
        "asset": call["To"], "payTo": call["Calldata"][0], "maxTimeoutSeconds": 290,
        "extra": {"feePayer": message["Caller"]}});
    let payload = json!({"from": v["account"], "outsideExecution": {"typedData": v["typedData"],
        "signature": [v["signature"]["r"], v["signature"]["s"]]}});
    json!({"x402Version": 2, "paymentPayload": {"x402Version": 2, "accepted": requirements, "payload": payload},
        "paymentRequirements": requirements})
}

fn fee_payer() -> Felt {
    parse_felt(vector()["typedData"]["message"]["Caller"].as_str().unwrap()).unwrap()
}

fn request(body: &Value) -> (PaymentRequest, SpecPayload) {
    let request = parse_request(body.to_string().as_bytes()).unwrap_or_else(|r| panic!("{body}: {r:?}"));
    match &request.payload {
        Payload::StarknetSpec(p) => {
            let p = p.clone();
            (request, p)
        }
        other => panic!("not the spec's payload: {other:?}"),
    }
}

fn check_at(body: &Value, now: u64, phase: Phase, fee_payers: &[Felt]) -> Result<VerifiedStarknet, ExactStarknetError> {
    let (request, payload) = request(body);
    let policy = SpecPolicy { chain_id: chain_id(request.network).unwrap(), fee_payers, now_secs: now, phase };
    verify_spec(&request, &payload, &policy)
}

fn check(body: &Value) -> Result<VerifiedStarknet, ExactStarknetError> {
    check_at(body, NOW, Phase::Verify, &[fee_payer()])
}

/// The v2 code the spec dialect answers for `body`'s refusal.
fn code(body: &Value) -> &'static str {
    check(body).unwrap_err().spec_reason().code(Version::V2)
}

/// `body` with `value` at `pointer` (in `paymentRequirements` and `accepted` when it starts `/both/`).
fn with(pointer: &str, value: Value) -> Value {
    let mut b = body();
    let targets = match pointer.strip_prefix("/both") {
        Some(rest) => vec![format!("/paymentRequirements{rest}"), format!("/paymentPayload/accepted{rest}")],
        None => vec![pointer.to_string()],
    };
    for target in targets {
        let (parent, key) = target.rsplit_once('/').unwrap();
        let parent = b.pointer_mut(parent).unwrap_or_else(|| panic!("{parent}"));
        match parent {
            Value::Array(items) => items[key.parse::<usize>().unwrap()] = value.clone(),
            _ => parent[key] = value.clone(),
        }
    }
    b
}

const TYPED: &str = "/paymentPayload/payload/outsideExecution/typedData";

fn typed(path: &str, value: Value) -> Value {
    with(&format!("{TYPED}{path}"), value)
}

#[test]
fn the_spec_payload_verifies_and_its_canonical_rebuild_hashes_as_starknet_js_signed() {
    let verified = check(&body()).unwrap();
    let v = vector();
    assert_eq!(format!("{:#x}", verified.message_hash), v["messageHash"].as_str().unwrap());
    assert_eq!(
        verified.signature,
        [&v["signature"]["r"], &v["signature"]["s"]].map(|f| parse_felt(f.as_str().unwrap()).unwrap())
    );
    assert_eq!(verified.account, parse_felt(v["account"].as_str().unwrap()).unwrap());
    // x402-starknet's spelling of the network is the same chain; so is a decimal or padded felt.
    let aliased = with("/both/network", json!("starknet:mainnet"));
    assert_eq!(check(&aliased).unwrap().message_hash, verified.message_hash);
    let padded = typed(
        "/message/Nonce",
        json!(format!("{}", crate::chains::starknet::felt::felt_to_u256(&verified.execution.nonce))),
    );
    assert_eq!(check(&padded).unwrap().message_hash, verified.message_hash);
}

#[test]
fn dispatch_is_by_payload_shape_and_both_dialects_share_one_ledger_key() {
    let (request, payload) = request(&body());
    assert_eq!((request.network.name, request.payload.payer()), ("starknet-mainnet", format!("{:#x}", payload.from)));
    let verified = check(&body()).unwrap();
    let key = ledger_key(request.network, &verified);
    assert_eq!(key, format!("starknet/starknet:SN_MAIN/{:#x}/{:#x}", verified.account, verified.execution.nonce));
}

/// Rule 1: version, scheme, network, the requirements, `extra.feePayer`, and `accepted` field by field.
#[test]
fn the_request_rules_answer_the_spec_codes() {
    let (mut request, payload) = request(&body());
    request.version = Version::V1;
    let policy = SpecPolicy {
        chain_id: chain_id(request.network).unwrap(),
        fee_payers: &[fee_payer()],
        now_secs: NOW,
        phase: Phase::Verify,
    };
    assert_eq!(verify_spec(&request, &payload, &policy).unwrap_err().spec_reason(), Reason::InvalidX402Version);

    let other = "0x7e00d496e324876bbc8531f2d9a82bf154d1a04a50218ee74cdd372f75a551a";
    let cases: Vec<(&str, Value, &str)> = vec![
        ("accepted scheme", with("/paymentPayload/accepted/scheme", json!("upto")), "invalid_scheme"),
        ("accepted network", with("/paymentPayload/accepted/network", json!("starknet:SN_SEPOLIA")), "invalid_network"),
        (
            "window not above the settle margin",
            with("/both/maxTimeoutSeconds", json!(MIN_SETTLE_MARGIN_SECS)),
            "invalid_payment_requirements",
        ),
        ("no feePayer", with("/both/extra", json!({})), "invalid_payment_requirements"),
        ("feePayer zero", with("/both/extra/feePayer", json!("0x0")), "invalid_payment_requirements"),
        (
            "feePayer ANY_CALLER",
            with("/both/extra/feePayer", json!(format!("{ANY_CALLER:#x}"))),
            "invalid_payment_requirements",
        ),
        (
            "feePayer the payer",
            with("/both/extra/feePayer", vector()["account"].clone()),
            "invalid_payment_requirements",
        ),
        ("feePayer not ours", with("/both/extra/feePayer", json!(other)), "invalid_payment_requirements"),
        ("feePayer not a felt", with("/both/extra/feePayer", json!("alice")), "invalid_payment_requirements"),
        ("another payment flow", with("/both/extra/paymentFlow", json!("permit")), "invalid_payment_requirements"),
        ("accepted asset", with("/paymentPayload/accepted/asset", json!(other)), "invalid_payload"),
        ("accepted payTo", with("/paymentPayload/accepted/payTo", json!(other)), "invalid_payload"),
        ("accepted amount", with("/paymentPayload/accepted/amount", json!("12346")), "invalid_payload"),
        (
            "accepted maxTimeoutSeconds",
            with("/paymentPayload/accepted/maxTimeoutSeconds", json!(291)),
            "invalid_payload",
        ),
        ("accepted feePayer", with("/paymentPayload/accepted/extra/feePayer", json!(other)), "invalid_payload"),
        ("accepted without extra", with("/paymentPayload/accepted/extra", json!(null)), "invalid_payload"),
        (
            "accepted transfer method",
            with("/paymentPayload/accepted/extra/assetTransferMethod", json!("permit2")),
            "invalid_payload",
        ),
    ];
    for (name, body, expected) in cases {
        assert_eq!(code(&body), expected, "{name}");
    }
    // Addresses compare as felts: leading zeros and case do not matter.
    let fee = format!("{:#x}", fee_payer()).to_uppercase().replace("0X", "0x000");
    assert!(check(&with("/paymentPayload/accepted/extra/feePayer", json!(fee))).is_ok());
    // A payer that is one of the facilitator's own accounts is refused (it would sign away its own funds).
    let payer = parse_felt(vector()["account"].as_str().unwrap()).unwrap();
    let refused = check_at(&body(), NOW, Phase::Verify, &[fee_payer(), payer]).unwrap_err();
    assert_eq!(refused.spec_reason().code(Version::V2), "invalid_payload");
}

/// Rules 2, 4, 7: the typed data is this network's SNIP-9 v2 outside execution making one
/// `transfer(payTo, amount)` on the asset, and the signed `Caller` is `extra.feePayer`.
#[test]
fn the_signed_execution_rules_answer_the_spec_codes() {
    let stranger = json!("0x5");
    let mut two_calls = body();
    let calls = two_calls.pointer_mut(&format!("{TYPED}/message/Calls")).unwrap().as_array_mut().unwrap();
    calls.push(calls[0].clone());
    let cases: Vec<(&str, Value, &str)> = vec![
        ("another chain", typed("/domain/chainId", json!("SN_SEPOLIA")), "invalid_network"),
        ("SNIP-12 revision 0", typed("/domain/revision", json!("0")), "invalid_payload"),
        (
            "another token",
            typed("/message/Calls/0/To", stranger.clone()),
            "invalid_exact_starknet_payload_asset_mismatch",
        ),
        (
            "another recipient",
            typed("/message/Calls/0/Calldata/0", stranger.clone()),
            "invalid_exact_starknet_payload_recipient_mismatch",
        ),
        (
            "more",
            typed("/message/Calls/0/Calldata/1", json!("0x303a")),
            "invalid_exact_starknet_payload_amount_mismatch",
        ),
        (
            "less",
            typed("/message/Calls/0/Calldata/1", json!("0x3038")),
            "invalid_exact_starknet_payload_amount_mismatch",
        ),
        (
            "a limb of 2^128",
            typed("/message/Calls/0/Calldata/2", json!(format!("0x1{}", "0".repeat(32)))),
            "invalid_payload",
        ),
        ("not a transfer", typed("/message/Calls/0/Selector", json!("approve")), "invalid_payload"),
        ("two calls", two_calls, "invalid_payload"),
        ("another Caller", typed("/message/Caller", stranger), "invalid_exact_starknet_payload_caller"),
        (
            "ANY_CALLER",
            typed("/message/Caller", json!(format!("{ANY_CALLER:#x}"))),
            "invalid_exact_starknet_payload_caller",
        ),
    ];
    for (name, body, expected) in cases {
        assert_eq!(code(&body), expected, "{name}");
    }
}

/// Rule 5 at /verify and /settle: `Execute After` at least the skew margin past; `Execute Before` beyond
/// the settle margin, covering the advertised window at /verify (not at /settle), and not beyond it.
#[test]
fn the_clock_rules_answer_the_spec_codes_at_verify_and_settle() {
    let (after, before) = (1_700_000_000, 1_700_000_300);
    let at = |now, phase| {
        check_at(&body(), now, phase, &[fee_payer()]).map(|_| ()).map_err(|e| e.spec_reason().code(Version::V2))
    };
    assert_eq!(at(after + SKEW_MARGIN_SECS, Phase::Verify), Err("invalid_payload"), "Execute After not past enough");
    assert_eq!(at(after + SKEW_MARGIN_SECS + 1, Phase::Verify), Ok(()));
    // The whole 290 s window (less the skew) must be ahead at /verify: 300 - 290 + 30 = 40 s of slack.
    assert_eq!(at(after + 40, Phase::Verify), Ok(()));
    assert_eq!(at(after + 41, Phase::Verify), Err("outside_execution_expired"));
    assert_eq!(at(after + 41, Phase::Settle), Ok(()), "the window shrinks between verify and settle");
    for phase in [Phase::Verify, Phase::Settle] {
        assert_eq!(at(before - MIN_SETTLE_MARGIN_SECS, phase), Err("outside_execution_expired"), "{phase:?}");
    }
    assert_eq!(at(before - MIN_SETTLE_MARGIN_SECS - 1, Phase::Settle), Ok(()));
    // A window longer than maxTimeoutSeconds + skew was not what the server asked for.
    let short = with("/both/maxTimeoutSeconds", json!(200));
    let at_short =
        |now| check_at(&short, now, Phase::Verify, &[fee_payer()]).unwrap_err().spec_reason().code(Version::V2);
    assert_eq!(at_short(after + 50), "outside_execution_window_exceeds_max_timeout");
    assert!(check_at(&short, after + 70, Phase::Verify, &[fee_payer()]).is_ok(), "300 <= 70 + 200 + 30");
}

/// Rule 2 and the payload: exactly the spec's keys, everywhere; a bounded felt-array signature; no
/// x402-starknet `authorization`. Refused at normalization, before any scheme rule.
#[test]
fn a_payload_not_in_the_spec_shape_is_an_invalid_payload() {
    let sig = "/paymentPayload/payload/outsideExecution/signature";
    let mut cases: Vec<(&str, Value)> = vec![
        ("an authorization beside", with("/paymentPayload/payload/authorization", json!({}))),
        ("no from", with("/paymentPayload/payload/from", json!(null))),
        ("from not a felt", with("/paymentPayload/payload/from", json!("alice"))),
        ("a key beside the typed data", with("/paymentPayload/payload/outsideExecution/paymaster", json!("x"))),
        ("an unknown message key", typed("/message/Fee Mode", json!("0x0"))),
        ("an unknown domain key", typed("/domain/salt", json!("0x1"))),
        ("an unknown call key", typed("/message/Calls/0/Value", json!("0x1"))),
        ("an unknown top-level key", typed("/metadata", json!({}))),
        ("an extra type", typed("/types/u256", json!([]))),
        ("an empty signature", with(sig, json!([]))),
        ("a long signature", with(sig, json!(vec!["0x1"; super::payload::MAX_SIGNATURE_FELTS + 1]))),
        ("{r, s}", with(sig, json!({"r": "0x1", "s": "0x2"}))),
        ("a decimal felt", with(sig, json!(["1", "0x2"]))),
        ("a felt above the prime", with(sig, json!([format!("0x{}", "f".repeat(64)), "0x2"]))),
    ];
    let mut missing = body();
    missing.pointer_mut(&format!("{TYPED}/message")).unwrap().as_object_mut().unwrap().remove("Nonce");
    cases.push(("a missing message key", missing));
    let v1 = &serde_json::from_str::<Value>(include_str!("../../../tests/vectors/starknet.json")).unwrap()
        ["outsideExecutions"][0];
    cases.push(("SNIP-9 v1 typed data", with(TYPED, v1["typedData"].clone())));
    for (name, body) in cases {
        let rejection = parse_request(body.to_string().as_bytes()).expect_err(name);
        assert_eq!(rejection.error.reason(), Reason::InvalidPayload, "{name}: {:?}", rejection.error);
    }
    // The most felts a signature may have are accepted (multisig and guardian accounts).
    let long = with(sig, json!(vec!["0x1"; super::payload::MAX_SIGNATURE_FELTS]));
    assert_eq!(decode_spec(&long["paymentPayload"]).unwrap().signature.len(), super::payload::MAX_SIGNATURE_FELTS);
}

/// Rules 3, 6, 8 and the settle: the chain's answers in the spec's tokens, where x402-starknet's differ.
#[test]
fn chain_and_settle_errors_answer_the_spec_codes() {
    let hash = "0xabc".to_string();
    let cases = [
        (
            ExactStarknetError::InvalidSignature(String::new()),
            "invalid_exact_starknet_payload_signature",
            "invalid_exact_starknet_payload_signature",
        ),
        (ExactStarknetError::AccountNotDeployed, "account_not_deployed", "invalid_exact_starknet_payload_signature"),
        (ExactStarknetError::NonceUsed, "nonce_already_used", "invalid_exact_starknet_payload_nonce_used"),
        (
            ExactStarknetError::InsufficientFunds { balance: "1".into(), amount: "2".into() },
            "insufficient_funds",
            "insufficient_funds",
        ),
        (ExactStarknetError::SimulationFailed("reverts".into()), "simulation_failed", "simulation_failed"),
        (ExactStarknetError::Rpc("down".into()), "unexpected_verify_error", "unexpected_verify_error"),
        (
            ExactStarknetError::NotYetValid { execute_after: 2, now: 1 },
            "invalid_payload",
            "invalid_exact_starknet_payload_authorization_not_yet_valid",
        ),
        (
            ExactStarknetError::TransactionFailed { hash: hash.clone(), reason: "reverted".into() },
            "invalid_transaction_state",
            "transaction_failed",
        ),
        (
            ExactStarknetError::ReceiptMismatch { hash: hash.clone(), problem: "no transfer".into() },
            "invalid_transaction_state",
            "transaction_failed",
        ),
        (ExactStarknetError::NotAcceptedInTime(hash.clone()), "unexpected_settle_error", "unexpected_settle_error"),
        (ExactStarknetError::Refused("nonce".into()), "unexpected_settle_error", "transaction_failed"),
    ];
    for (error, spec, x402_starknet) in cases {
        assert_eq!(error.reason_in(StarknetDialect::Spec).code(Version::V2), spec, "{error}");
        assert_eq!(error.reason_in(StarknetDialect::X402Starknet).code(Version::V2), x402_starknet, "{error}");
    }
    assert_eq!(
        ExactStarknetError::ReceiptMismatch { hash: hash.clone(), problem: String::new() }.transaction(),
        Some("0xabc")
    );
}

#[test]
fn a_payer_paying_itself_is_refused_however_payto_is_spelled() {
    let account = parse_felt(vector()["account"].as_str().unwrap()).unwrap();
    for pay_to in [account.to_string(), format!("0x{:0>64}", format!("{account:x}"))] {
        let refused = check(&with("/both/payTo", json!(pay_to))).unwrap_err();
        assert_eq!(refused, ExactStarknetError::SelfPayment(account), "payTo {pay_to}");
        assert_eq!(refused.spec_reason().code(Version::V2), "self_payment");
    }
}
