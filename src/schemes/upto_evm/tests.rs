use super::*;
use crate::schemes::parse_request;
use crate::schemes::Payload;
use serde_json::{json, Value};

const NOW: u64 = 1_800_000_000;

fn vector_body() -> Value {
    let vectors: Value =
        serde_json::from_str(include_str!("../../../tests/vectors/generated-evm-signatures.json")).unwrap();
    let payload = vectors["eip2612PermitForDaydreamsUpto"]["v2PaymentPayload"].clone();
    json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": payload["accepted"]})
}

/// The vector's spender, Hardhat account #1, is the facilitator.
fn spender() -> Address {
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".parse().unwrap()
}

fn check(body: &Value, facilitators: &[Address], now: u64) -> Result<Verified, UptoError> {
    let request = parse_request(body.to_string().as_bytes()).unwrap();
    let Payload::Permit(permit) = &request.payload else { panic!("a permit payload") };
    verify(&request, permit, facilitators, now)
}

fn reason(body: &Value) -> Reason {
    check(body, &[spender()], NOW).unwrap_err().reason()
}

#[test]
fn the_vector_permit_verifies() {
    let verified = check(&vector_body(), &[spender()], NOW).unwrap();
    assert_eq!(verified.owner, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".parse::<Address>().unwrap());
    assert_eq!((verified.name.as_str(), verified.version.as_str()), ("USD Coin", "2"));
}

#[test]
fn accepted_must_name_the_requirements_asset_and_recipient_within_the_cap() {
    let good = vector_body();
    let accepted = |key: &str, value: Value| {
        let mut b = good.clone();
        b["paymentPayload"]["accepted"][key] = value;
        b
    };
    let attacker = json!("0x90F79bf6EB2c4f870365E785982E1f101E93b906");
    assert_eq!(reason(&accepted("payTo", attacker.clone())), Reason::UptoAcceptedMismatch);
    assert_eq!(reason(&accepted("asset", attacker)), Reason::UptoAcceptedMismatch);
    assert_eq!(reason(&accepted("amount", json!("1000001"))), Reason::UptoAcceptedMismatch);
    assert_eq!(reason(&accepted("amount", json!("lots"))), Reason::UptoAcceptedMismatch);
    // The same addresses spelled otherwise are the same.
    let asset = good["paymentRequirements"]["asset"].as_str().unwrap().to_lowercase();
    assert!(check(&accepted("asset", json!(asset)), &[spender()], NOW).is_ok());
    // Requirements naming the attacker while accepted names the real recipient: refused too.
    let mut b = good.clone();
    b["paymentRequirements"]["payTo"] = json!("0x90F79bf6EB2c4f870365E785982E1f101E93b906");
    assert_eq!(reason(&b), Reason::UptoAcceptedMismatch);
}

#[test]
fn each_rule_returns_its_reason_in_the_reference_order() {
    let good = vector_body();
    let with = |path: &[&str], value: Value| {
        let mut b = good.clone();
        let mut at = &mut b;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at[path[path.len() - 1]] = value;
        b
    };
    assert_eq!(reason(&with(&["paymentPayload", "accepted", "scheme"], json!("exact"))), Reason::UnsupportedScheme);
    assert_eq!(
        reason(&with(&["paymentPayload", "accepted", "network"], json!("eip155:84532"))),
        Reason::NetworkMismatch
    );
    assert_eq!(reason(&with(&["paymentRequirements", "extra"], json!({}))), Reason::UptoMissingEip712Domain);
    assert_eq!(check(&good, &[Address::repeat_byte(9)], NOW).unwrap_err().reason(), Reason::UptoSpenderNotFacilitator);
    assert_eq!(reason(&with(&["paymentRequirements", "amount"], json!("1000001"))), Reason::UptoCapTooLow);
    let above_cap = json!({"name": "USD Coin", "version": "2", "maxAmountRequired": "2000000"});
    assert_eq!(reason(&with(&["paymentRequirements", "extra"], above_cap)), Reason::UptoCapBelowRequiredMax);
    assert_eq!(check(&good, &[spender()], 4_102_444_795).unwrap_err().reason(), Reason::UptoAuthorizationExpired);
    assert!(check(&good, &[spender()], 4_102_444_794).is_ok(), "the 6 s buffer");
    // Any signed field changed: the signature no longer recovers to the owner.
    let cap = with(&["paymentPayload", "payload", "authorization", "value"], json!("1000001"));
    assert_eq!(reason(&cap), Reason::UptoPermitSignature);
    let long = with(&["paymentPayload", "payload", "signature"], json!(format!("0x{}", "ab".repeat(100))));
    assert_eq!(reason(&long), Reason::UptoUnsupportedSignatureType);
    let short = with(&["paymentPayload", "payload", "signature"], json!("0x1234"));
    assert_eq!(reason(&short), Reason::UptoPermitSignature);
}
