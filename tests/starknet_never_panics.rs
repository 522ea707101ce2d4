//! Property tests for the Starknet decoders through the public API: no JSON value, mutated outside
//! execution, made-up type system or text makes typed-data hashing, SNIP-9 parsing, felt parsing or
//! signature verification panic; each is a typed error or a result.
#![cfg(feature = "starknet")]

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use x402_edge::chains::starknet::felt::{felt_from_json, felt_or_short_string_from_json, integer_from_str};
use x402_edge::chains::starknet::{
    encode_short_string, message_hash, parse_felt, verify, Felt, OutsideExecution, Signature, TypedData,
};

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/starknet.json")).unwrap()
}

/// The typed data of every outside execution in the vectors (v1 and v2).
fn outside_executions() -> Vec<Value> {
    vectors()["outsideExecutions"].as_array().unwrap().iter().map(|c| c["typedData"].clone()).collect()
}

/// Hashes and parses `typed_data`; whatever parses must also hash and encode without panicking.
fn check(typed_data: &Value) {
    let _ = message_hash(typed_data, Felt::ONE);
    if let Ok(parsed) = TypedData::from_json(typed_data) {
        let _ = parsed.encode_type(parsed.primary_type());
        let _ = parsed.domain_hash();
    }
    if let Ok(execution) = OutsideExecution::from_typed_data(typed_data) {
        assert!(message_hash(typed_data, Felt::ONE).is_ok());
        let calldata = execution.calldata(&[Felt::ONE, Felt::TWO]);
        assert!(calldata.len() >= 7);
    }
}

/// Text that is sometimes a number, sometimes a short string, sometimes neither.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ \t\n]{0,2}(0[xXoObB])?[-+]?[0-9a-fA-F]{0,70}[ ]{0,2}",
        "[A-Za-z_ .0-9]{0,40}",
        "\\PC{0,40}",
        Just(String::new()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(type_name(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Names from a small vocabulary, so that made-up types refer to each other and to real types.
fn type_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "A",
        "B",
        "C",
        "felt",
        "felt*",
        "u128",
        "i128",
        "u256",
        "u256*",
        "bool",
        "string",
        "selector",
        "shortstring",
        "ContractAddress",
        "timestamp",
        "enum",
        "merkletree",
        "()",
        "(u128,felt*)",
        "(A,u256)",
        "(,)",
        "A*",
        "B*",
        "TokenAmount",
        "x",
        "y",
        "revision",
        "name",
    ])
    .prop_map(str::to_string)
}

fn made_up_field() -> impl Strategy<Value = Value> {
    (type_name(), type_name(), proptest::option::of(type_name())).prop_map(|(name, ty, contains)| match contains {
        Some(contains) => json!({"name": name, "type": ty, "contains": contains}),
        None => json!({"name": name, "type": ty}),
    })
}

/// Typed data over a made-up type system: recursion, enums, trees, presets, unknown names.
fn made_up_typed_data() -> impl Strategy<Value = Value> {
    let types = prop::collection::btree_map(
        prop::sample::select(vec!["A", "B", "C", "u256", "felt"]),
        prop::collection::vec(made_up_field(), 0..5),
        0..4,
    );
    (types, any::<bool>(), json_value(), prop::sample::select(vec!["A", "B", "C", "u256"])).prop_map(
        |(types, revision_1, message, primary)| {
            let mut all: Map<String, Value> =
                types.into_iter().map(|(k, v)| (k.to_string(), Value::Array(v))).collect();
            let (domain_type, domain) = match revision_1 {
                true => ("StarknetDomain", json!({"name": "t", "revision": 1})),
                false => ("StarkNetDomain", json!({"name": "t"})),
            };
            all.insert(domain_type.into(), json!([{"name": "name", "type": "shortstring"}]));
            json!({"types": all, "primaryType": primary, "domain": domain, "message": message})
        },
    )
}

/// A JSON pointer into `value` chosen by `pick`, among every node of the tree.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| pointers(v, format!("{at}/{i}"), out)),
        Value::Object(map) => {
            map.iter().for_each(|(k, v)| pointers(v, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out))
        }
        _ => {}
    }
}

/// The SNIP-9 v2 vector as a `/verify` body in the registered spec's dialect.
fn spec_body() -> Value {
    let v = vectors()["outsideExecutions"][2].clone();
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

/// Normalizes `body` and, when it is a spec payment, runs every pure rule of the dialect on it.
fn check_spec(body: &Value) -> bool {
    use x402_edge::schemes::exact_starknet::spec::{verify_spec, Phase, SpecPolicy};
    use x402_edge::schemes::Payload;
    let Ok(request) = x402_edge::schemes::parse_request(body.to_string().as_bytes()) else { return false };
    let Payload::StarknetSpec(payload) = &request.payload else { return false };
    let fee_payer =
        body.pointer("/paymentRequirements/extra/feePayer").and_then(Value::as_str).and_then(|t| parse_felt(t).ok());
    let chain_id = encode_short_string("SN_MAIN").unwrap();
    for phase in [Phase::Verify, Phase::Settle] {
        let policy = SpecPolicy { chain_id, fee_payers: fee_payer.as_slice(), now_secs: 1_700_000_035, phase };
        let _ = verify_spec(&request, payload, &policy);
    }
    true
}

#[test]
fn the_vectors_parse_and_hash() {
    assert!(check_spec(&spec_body()), "the spec body is a spec payment");
    for typed_data in outside_executions() {
        check(&typed_data);
        assert!(OutsideExecution::from_typed_data(&typed_data).is_ok());
    }
}

proptest! {
    #[test]
    fn any_json_is_answered(value in json_value()) {
        check(&value);
        let _ = felt_from_json(&value);
        let _ = felt_or_short_string_from_json(&value);
    }

    #[test]
    fn any_made_up_type_system_is_answered(typed_data in made_up_typed_data()) {
        check(&typed_data);
    }

    #[test]
    fn any_mutation_of_a_real_outside_execution_is_answered(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), json_value()), 1..4),
    ) {
        let cases = outside_executions();
        let mut typed_data = which.get(&cases).clone();
        for (at, replacement) in edits {
            let mut all = Vec::new();
            pointers(&typed_data, String::new(), &mut all);
            let pointer = at.get(&all).clone();
            match typed_data.pointer_mut(&pointer) {
                Some(node) => *node = replacement,
                None => typed_data = replacement,
            }
        }
        check(&typed_data);
    }

    #[test]
    fn any_mutation_of_a_spec_payment_is_answered(edits in prop::collection::vec((any::<prop::sample::Index>(), json_value()), 1..4)) {
        let mut body = spec_body();
        for (at, replacement) in edits {
            let mut all = Vec::new();
            pointers(&body, String::new(), &mut all);
            let pointer = at.get(&all).clone();
            match body.pointer_mut(&pointer) {
                Some(node) => *node = replacement,
                None => body = replacement,
            }
        }
        check_spec(&body);
    }

    #[test]
    fn any_text_is_answered(text in text()) {
        let _ = parse_felt(&text);
        let _ = integer_from_str(&text);
        let _ = encode_short_string(&text);
        let _ = felt_or_short_string_from_json(&Value::String(text.clone()));
        if let Ok(felt) = parse_felt(&text) {
            prop_assert_eq!(felt_from_json(&Value::String(text)).ok(), Some(felt));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_signature_is_answered(key in any::<[u8; 32]>(), hash in any::<[u8; 32]>(), r in any::<[u8; 32]>(), s in any::<[u8; 32]>()) {
        let felt = |bytes: [u8; 32]| Felt::from_bytes_be(&bytes);
        let small = |mut bytes: [u8; 32]| { bytes[0] &= 0x07; felt(bytes) };
        let _ = verify(&felt(key), &small(hash), &Signature { r: small(r), s: small(s) });
        let _ = verify(&felt(key), &felt(hash), &Signature { r: felt(r), s: felt(s) });
    }
}
