//! Parsing requests through the registry: every version and dialect, each scheme's payload, and the
//! reason of every malformed request.

use super::{parse_request, Payload, PaymentRequest};
use crate::protocol::model::{Dialect, Version};
use crate::protocol::normalize::Rejection;
use crate::protocol::Reason;
use serde_json::{json, Value};

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
                b["paymentPayload"]["payload"]["signature"] = json!(upper(text(b, "/paymentPayload/payload/signature")))
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
    // The Permit2 scheme's to refuse; a build without it has no scheme that takes the payload.
    let permit2 = if cfg!(feature = "permit2") { Reason::InvalidPayload } else { Reason::UnsupportedPayloadType };
    assert_eq!(reason_of(b), permit2, "a malformed Permit2 payload");

    let mut b = good;
    b["paymentPayload"]["accepted"] = json!("nope");
    let rejection = parse(&b).unwrap_err();
    assert_eq!(rejection.error.reason(), Reason::InvalidPayload);
    assert_eq!(rejection.network, "eip155:84532");
}

/// The wire types are read field by field from the one parsed body: each schema rule still holds,
/// the error names the field, and the payload's envelope keeps every field but `payload`.
#[test]
fn the_wire_schemas_hold_field_by_field() {
    let good = examples()["coinbase_v2"]["POST /verify request"].clone();
    let raw = crate::protocol::normalize::parse_request(good.to_string().as_bytes()).unwrap().payload;
    assert_eq!(raw.payload, good["paymentPayload"]["payload"]);
    let mut envelope: Vec<&str> = raw.envelope.keys().map(String::as_str).collect();
    envelope.sort_unstable();
    let mut expected: Vec<&str> =
        good["paymentPayload"].as_object().unwrap().keys().map(String::as_str).filter(|k| *k != "payload").collect();
    expected.sort_unstable();
    assert_eq!(envelope, expected);

    let refused = |edit: &dyn Fn(&mut Value), reason: Reason, needle: &str| {
        let mut b = good.clone();
        edit(&mut b);
        let rejection = parse(&b).unwrap_err();
        assert_eq!(rejection.error.reason(), reason, "{b}");
        assert!(rejection.error.to_string().contains(needle), "{} lacks {needle}", rejection.error);
    };
    refused(&|b| b["paymentPayload"]["x402Version"] = json!(2 + 256), Reason::InvalidX402Version, "258");
    refused(&|b| b["paymentPayload"]["resource"] = json!({"url": 7}), Reason::InvalidPayload, "`resource`: `url`");
    refused(
        &|b| b["paymentPayload"]["accepted"]["maxTimeoutSeconds"] = json!(-1),
        Reason::InvalidPayload,
        "maxTimeoutSeconds",
    );
    refused(
        &|b| drop(b["paymentPayload"].as_object_mut().unwrap().remove("payload")),
        Reason::InvalidPayload,
        "missing field `payload`",
    );
    refused(
        &|b| b["paymentRequirements"]["payTo"] = json!(["0x1"]),
        Reason::InvalidPaymentRequirements,
        "`payTo`: expected a string",
    );
    refused(&|b| b["paymentRequirements"]["extra"] = json!("x"), Reason::InvalidPaymentRequirements, "`extra`");
    refused(&|b| b["paymentRequirements"]["amount"] = json!(10000), Reason::InvalidPaymentRequirements, "`amount`");

    let v1 = examples()["coinbase_v1"]["POST /verify request"].clone();
    let mut b = v1.clone();
    b["paymentRequirements"]["maxAmountRequired"] = json!("1.5");
    assert!(parse(&b).unwrap_err().error.to_string().contains("maxAmountRequired"));
    let mut b = v1;
    b["paymentPayload"]["scheme"] = json!(null);
    assert!(parse(&b).unwrap_err().error.to_string().contains("missing field `scheme`"));
}

#[test]
fn a_v2_only_network_is_refused_to_v1_clients() {
    let mut b = examples()["coinbase_v1"]["POST /verify request"].clone();
    b["paymentRequirements"]["network"] = json!("optimism");
    assert_eq!(reason_of(b), Reason::InvalidNetwork);
}

/// x402-starknet's shape: typed data beside `payload`; the v2 text's: inside it. Both normalize
/// alike; a payload without an authorization or a signature is refused before any scheme.
#[cfg(feature = "starknet")]
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

/// A v2 `upto` request whose payload is the standard client's (tests/vectors/upto-permit2.json), the
/// requirements' amount `amount` (the cap at verify, the charge at settle).
#[cfg(feature = "permit2")]
fn upto_permit2_body(amount: &str) -> Value {
    let vectors: Value = serde_json::from_str(include_str!("../../tests/vectors/upto-permit2.json")).unwrap();
    let payload = vectors["vectors"][0]["payload"].clone();
    let accepted = json!({
        "scheme": "upto", "network": "eip155:84532", "amount": "50000",
        "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "payTo": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        "maxTimeoutSeconds": 300, "extra": {"assetTransferMethod": "permit2"},
    });
    let mut requirements = accepted.clone();
    requirements["amount"] = json!(amount);
    json!({"x402Version": 2, "paymentPayload": {"x402Version": 2, "accepted": accepted, "payload": payload},
        "paymentRequirements": requirements})
}

#[cfg(feature = "permit2")]
#[test]
fn the_upto_kind_takes_a_permit2_payload_as_the_standard_scheme_and_the_others_as_sessions() {
    let r = parse(&upto_permit2_body("50000")).unwrap();
    let Payload::UptoPermit2(p) = &r.payload else { panic!("a standard upto payload") };
    assert_eq!(p.facilitator.to_string(), "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720");
    assert_eq!(r.payload.scheme(), super::Scheme::UptoPermit2);
    assert_eq!(r.payload.payer(), "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    let exact_key = super::exact_permit2::ledger_key(84532, &p.permit);
    assert_eq!(super::ledger_key(&r), exact_key, "the exact Permit2 key: one nonce space");
    // The exact witness (no facilitator) under `upto`: not a standard upto payload.
    let mut b = upto_permit2_body("50000");
    b["paymentPayload"]["payload"]["permit2Authorization"]["witness"].as_object_mut().unwrap().remove("facilitator");
    assert_eq!(reason_of(b), Reason::UnsupportedPayloadType);
    // Under x402 v1: the standard upto is v2 only.
    let mut b = upto_permit2_body("50000");
    b["x402Version"] = json!(1);
    b["paymentPayload"]["x402Version"] = json!(1);
    assert!(parse(&b).is_err());
}

#[cfg(feature = "permit2")]
#[test]
fn a_capped_payment_needs_its_cap_at_the_minimum_and_its_charge_too_unless_zero() {
    use crate::policy::{PaymentFacts, PaymentPolicy};
    let policy = PaymentPolicy { min_amount: alloy_primitives::U256::from(100), ..PaymentPolicy::default() };
    let check = |amount: &str| policy.check_amounts_and_payer(&parse(&upto_permit2_body(amount)).unwrap());
    assert_eq!(check("50000"), Ok(()), "verify: the cap");
    assert_eq!(check("0"), Ok(()), "settle: a zero charge sends nothing");
    assert_eq!(check("100"), Ok(()));
    assert_eq!(check("99").unwrap_err().reason(), Reason::AmountBelowMinimum, "a charge that costs gas");
    let r = parse(&upto_permit2_body("0")).unwrap();
    assert_eq!((r.payload.signed_amount(), r.payload.cap()), (None, Some(alloy_primitives::U256::from(50_000))));
    let mut b = upto_permit2_body("0");
    b["paymentPayload"]["payload"]["permit2Authorization"]["permitted"]["amount"] = json!("99");
    assert_eq!(policy.check_amounts_and_payer(&parse(&b).unwrap()).unwrap_err().reason(), Reason::AmountBelowMinimum);
}

/// The policy compares the payer with `payTo` in the spelling `payer_address` gives: the address
/// responses report, without its checksum.
#[test]
fn the_payer_address_the_policy_compares_is_the_reported_payer() {
    use crate::network::Family;
    use crate::policy::{canonical_address, PaymentFacts};
    let requests = [
        parse(&examples()["coinbase_v2"]["POST /verify request"]).unwrap(),
        #[cfg(feature = "permit2")]
        parse(&upto_permit2_body("50000")).unwrap(),
    ];
    for r in requests {
        let (reported, compared) = (r.payload.payer(), r.payload.payer_address());
        assert_eq!(compared, reported.to_ascii_lowercase());
        assert_eq!(canonical_address(Family::Evm, &compared), canonical_address(Family::Evm, &reported));
    }
}

/// Where each payment's ledger entry lives: the keys of EIP-3009, Permit2 and Starknet payments name
/// the network whose account settles them; Solana, `upto` session and deployment keys do not.
#[test]
fn a_ledger_key_names_its_settling_network_only_when_an_account_there_settles_it() {
    use super::{ledger_key, settling_network};
    let network = |key: &str| settling_network(key).map(|n| n.caip2);
    let eip3009 = parse(&examples()["coinbase_v2"]["POST /verify request"]).unwrap();
    let eip3009_key = ledger_key(&eip3009);
    assert_eq!(network(&eip3009_key), Some(eip3009.network.caip2), "{eip3009_key}");
    let wallet = alloy_primitives::Address::repeat_byte(7);
    let deployment = super::exact_evm::deployment_key(eip3009.network.caip2, wallet);
    assert_eq!(network(&deployment), None, "a wallet deployment: {deployment}");
    #[cfg(feature = "permit2")]
    {
        let permit2_key = ledger_key(&parse(&upto_permit2_body("50000")).unwrap());
        assert_eq!(network(&permit2_key), Some("eip155:84532"), "{permit2_key}");
    }
    assert_eq!(network("starknet/starknet:SN_SEPOLIA/0xabc/0x1"), Some("starknet:SN_SEPOLIA"));
    assert_eq!(network("starknet/eip155:8453/0xabc/0x1"), None, "a family that does not match its prefix");
    assert_eq!(network("permit2/starknet:SN_SEPOLIA/0xabc/0x1"), None);
    assert_eq!(network("svm/solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1/undecodable"), None);
    assert_eq!(network("upto/0x1234"), None);
    assert_eq!(network("eip155:999999999/0xabc"), None, "an unknown network");
    assert_eq!(network(""), None);
}
