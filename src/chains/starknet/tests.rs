//! The Starknet core against starknet.js 10.8 (`tests/vectors/starknet.json`, from
//! `tests/vectors/starknet-generate.mjs`) and SNIP-9's published constants, then the refusals.

use serde_json::{json, Value};

use super::ecdsa::{BETA, EC_ORDER};
use super::felt::felt_to_u256;
use super::outside_execution::SRC5_INTERFACE_IDS;
use super::typed_data::MAX_DEPTH;
use super::*;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../../tests/vectors/starknet.json")).unwrap()
}

fn felt(value: &Value) -> Felt {
    match value {
        Value::Number(n) => Felt::from(n.as_u64().unwrap()),
        other => parse_felt(other.as_str().unwrap()).unwrap(),
    }
}

fn felts(value: &Value) -> Vec<Felt> {
    value.as_array().unwrap().iter().map(felt).collect()
}

fn signature(v: &Value) -> Signature {
    Signature { r: felt(&v["r"]), s: felt(&v["s"]) }
}

/// Every typed data in the vectors, the outside executions included.
fn typed_data_cases() -> Vec<Value> {
    let v = vectors();
    let mut cases = v["typedData"].as_array().unwrap().clone();
    cases.extend(v["outsideExecutions"].as_array().unwrap().iter().cloned());
    cases
}

/// The vector's signer: the key derives its public key and signs `hash` exactly as starknet.js did.
fn check_signer(v: &Value, hash: Felt) {
    let key = StarkKey::from_text(v["privateKey"].as_str().unwrap()).unwrap();
    assert_eq!(key.public_key(), felt(&v["publicKey"]));
    assert_eq!(get_public_key(&felt(&v["privateKey"])).unwrap(), key.public_key());
    assert_eq!(key.sign(&hash).unwrap(), signature(v));
    assert_eq!(verify(&key.public_key(), &hash, &signature(v)), Ok(()));
    assert_eq!(starknet_crypto::verify(&key.public_key(), &hash, &felt(&v["r"]), &felt(&v["s"])).ok(), Some(true));
}

fn outside_execution_v2() -> Value {
    vectors()["outsideExecutions"][1]["typedData"].clone()
}

fn outside_execution_v1() -> Value {
    vectors()["outsideExecutions"][0]["typedData"].clone()
}

#[test]
fn typed_data_hashes_match_starknet_js() {
    let cases = typed_data_cases();
    assert!(cases.len() >= 10);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let typed_data = TypedData::from_json(&case["typedData"]).unwrap();
        let revision = if case["revision"] == 1 { Revision::V1 } else { Revision::V0 };
        assert_eq!(typed_data.revision(), revision, "{name}");
        for (ty, encoded) in case["encodeTypes"].as_object().unwrap() {
            assert_eq!(typed_data.encode_type(ty).unwrap(), encoded.as_str().unwrap(), "{name}: {ty}");
            assert_eq!(typed_data.type_hash(ty).unwrap(), felt(&case["typeHashes"][ty]), "{name}: {ty}");
        }
        assert_eq!(typed_data.domain_hash().unwrap(), felt(&case["domainHash"]), "{name}");
        let primary = typed_data.primary_type();
        assert_eq!(typed_data.struct_hash(primary, typed_data.message()).unwrap(), felt(&case["structHash"]), "{name}");
        let hash = message_hash(&case["typedData"], felt(&case["account"])).unwrap();
        assert_eq!(hash, felt(&case["messageHash"]), "{name}");
    }
}

#[test]
fn each_basic_type_reads_tricky_values_as_starknet_js_does() {
    let cases = vectors()["differential"].as_array().unwrap().clone();
    assert!(cases.len() > 600);
    for case in &cases {
        let (revision, ty, value) =
            (case["revision"].as_u64().unwrap(), case["type"].as_str().unwrap(), &case["value"]);
        let domain_type = if revision == 1 { "StarknetDomain" } else { "StarkNetDomain" };
        let name_type = if revision == 1 { "shortstring" } else { "felt" };
        let domain = if revision == 1 { json!({"name": "d", "revision": 1}) } else { json!({"name": "d"}) };
        let typed_data = json!({
            "types": {domain_type: [{"name": "name", "type": name_type}], "M": [{"name": "v", "type": ty}]},
            "primaryType": "M",
            "domain": domain,
            "message": {"v": value},
        });
        let expected = case["messageHash"].as_str().map(|h| parse_felt(h).unwrap());
        assert_eq!(message_hash(&typed_data, Felt::ONE).ok(), expected, "revision {revision}, {ty}: {value}");
    }
}

#[test]
fn message_signatures_match_starknet_js() {
    for case in typed_data_cases() {
        check_signer(&case["signature"], felt(&case["messageHash"]));
    }
    for case in vectors()["signatures"].as_array().unwrap() {
        check_signer(case, felt(&case["hash"]));
    }
}

#[test]
fn snip9_type_hashes_and_interface_ids_are_the_published_ones() {
    let published: Value = serde_json::from_str(include_str!("../../../tests/vectors/api-examples.json")).unwrap();
    let published = &published["snip9_type_hashes"];
    let v1 = OutsideExecutionVersion::V1;
    let v2 = OutsideExecutionVersion::V2;
    assert_eq!(starknet_keccak(v1.encode_type().as_bytes()), felt(&published["v1 OutsideExecution"]));
    assert_eq!(starknet_keccak(v2.encode_type().as_bytes()), felt(&published["v2 OutsideExecution"]));
    let v1_call = "OutsideCall(to:felt,selector:felt,calldata_len:felt,calldata:felt*)";
    let v2_call = r#""Call"("To":"ContractAddress","Selector":"selector","Calldata":"felt*")"#;
    assert_eq!(starknet_keccak(v1_call.as_bytes()), felt(&published["v1 OutsideCall"]));
    assert_eq!(starknet_keccak(v2_call.as_bytes()), felt(&published["v2 Call"]));
    assert_eq!(v1.src5_interface_id(), felt(&published["SRC5 interface id v1"]));
    assert_eq!(v2.src5_interface_id(), felt(&published["SRC5 interface id v2"]));
    // SNIP-5: an interface id is the XOR of its functions' extended selectors.
    let nonce = "is_valid_outside_execution_nonce(felt252)->E((),())";
    let v1_execute = "execute_from_outside((ContractAddress,felt252,u64,u64,(@Array<(ContractAddress,felt252,\
Array<felt252>)>)),Array<felt252>)->Array<(@Array<felt252>)>";
    let v2_execute = "execute_from_outside_v2((ContractAddress,felt252,u64,u64,(@Array<(ContractAddress,felt252,\
(@Array<felt252>))>)),(@Array<felt252>))->Array<(@Array<felt252>)>";
    for ((version, execute), id) in [(v1, v1_execute), (v2, v2_execute)].into_iter().zip(SRC5_INTERFACE_IDS) {
        let xor = felt_to_u256(&selector(execute)) ^ felt_to_u256(&selector(nonce));
        assert_eq!(felt_to_u256(&version.src5_interface_id()), xor);
        assert_eq!(version.src5_interface_id(), id);
    }
    assert_eq!(ANY_CALLER, encode_short_string("ANY_CALLER").unwrap());
}

#[test]
fn outside_executions_read_back_what_starknet_js_built() {
    for case in vectors()["outsideExecutions"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let expected = &case["outsideExecution"];
        let execution = OutsideExecution::from_typed_data(&case["typedData"]).unwrap();
        let version = if expected["version"] == 1 { OutsideExecutionVersion::V1 } else { OutsideExecutionVersion::V2 };
        assert_eq!(execution.version, version, "{name}");
        assert_eq!(execution.chain_id, felt(&expected["chainId"]), "{name}");
        assert_eq!(execution.caller, felt(&expected["caller"]), "{name}");
        assert_eq!(execution.nonce, felt(&expected["nonce"]), "{name}");
        assert_eq!(execution.execute_after, expected["executeAfter"].as_u64().unwrap(), "{name}");
        assert_eq!(execution.execute_before, expected["executeBefore"].as_u64().unwrap(), "{name}");
        let calls: Vec<Call> = expected["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| Call { to: felt(&c["to"]), selector: felt(&c["selector"]), calldata: felts(&c["calldata"]) })
            .collect();
        assert_eq!(execution.calls, calls, "{name}");
        // The submission: execute_from_outside[_v2](execution, [r, s]) wrapped in the sponsor's __execute__.
        assert_eq!(version.entry_point(), case["entryPoint"].as_str().unwrap());
        assert_eq!(execution.entry_point_selector(), felt(&case["entryPointSelector"]), "{name}");
        let signature = [felt(&case["signature"]["r"]), felt(&case["signature"]["s"])];
        assert_eq!(execution.calldata(&signature), felts(&case["executeFromOutsideCalldata"]), "{name}");
        let call = execution.to_call(felt(&case["account"]), &signature);
        assert_eq!(execute_calldata(&[call]), felts(&case["sponsor"]["calldata"]), "{name}");
    }
}

/// The canonical rebuild of each outside execution hashes as the typed data starknet.js built and the
/// account signed, and reads back to the same fields.
#[test]
fn an_outside_execution_written_out_canonically_hashes_as_the_signed_typed_data() {
    for case in vectors()["outsideExecutions"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let execution = OutsideExecution::from_typed_data(&case["typedData"]).unwrap();
        let canonical = execution.to_typed_data();
        let account = felt(&case["account"]);
        assert_eq!(message_hash(&canonical, account).unwrap(), felt(&case["messageHash"]), "{name}");
        assert_eq!(OutsideExecution::from_typed_data(&canonical).unwrap(), execution, "{name}");
    }
}

fn bounds(v: &Value) -> ResourceBounds {
    let maximum = |key: &str| felt_to_u256(&felt(&v[key]));
    ResourceBounds { max_amount: maximum("maxAmount").to(), max_price_per_unit: maximum("maxPricePerUnit").to() }
}

fn mode(v: &Value) -> DataAvailabilityMode {
    if v == "L1" {
        DataAvailabilityMode::L1
    } else {
        DataAvailabilityMode::L2
    }
}

fn invoke(v: &Value) -> InvokeTransactionV3 {
    InvokeTransactionV3 {
        sender_address: felt(&v["senderAddress"]),
        calldata: felts(&v["calldata"]),
        chain_id: felt(&v["chainId"]),
        nonce: felt(&v["nonce"]),
        resource_bounds: AllResourceBounds {
            l1_gas: bounds(&v["resourceBounds"]["l1Gas"]),
            l2_gas: bounds(&v["resourceBounds"]["l2Gas"]),
            l1_data_gas: bounds(&v["resourceBounds"]["l1DataGas"]),
        },
        tip: felt_to_u256(&felt(&v["tip"])).to(),
        paymaster_data: felts(&v["paymasterData"]),
        account_deployment_data: felts(&v["accountDeploymentData"]),
        nonce_data_availability_mode: mode(&v["nonceDataAvailabilityMode"]),
        fee_data_availability_mode: mode(&v["feeDataAvailabilityMode"]),
    }
}

#[test]
fn invoke_v3_hashes_and_execute_calldata_match_starknet_js() {
    let v = vectors();
    let sponsors = v["outsideExecutions"].as_array().unwrap().iter().map(|c| c["sponsor"].clone());
    let cases: Vec<Value> = v["invokes"].as_array().unwrap().iter().cloned().chain(sponsors).collect();
    assert!(cases.len() >= 9);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let calls: Vec<Call> = case["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| Call { to: felt(&c["to"]), selector: felt(&c["selector"]), calldata: felts(&c["calldata"]) })
            .collect();
        assert_eq!(execute_calldata(&calls), felts(&case["calldata"]), "{name}");
        let tx = invoke(case);
        let hash = match case["version"].as_str().unwrap() {
            "0x3" => tx.hash(),
            _ => tx.query_hash(),
        };
        assert_eq!(hash, felt(&case["hash"]), "{name}");
        check_signer(&case["signature"], hash);
    }
}

#[test]
fn tampered_signatures_do_not_verify() {
    let case = &vectors()["signatures"][3];
    let (key, hash, good) = (felt(&case["publicKey"]), felt(&case["hash"]), signature(case));
    assert_eq!(verify(&key, &hash, &good), Ok(()));
    let one = Felt::ONE;
    assert_eq!(verify(&key, &(hash + one), &good), Err(EcdsaError::Invalid));
    assert_eq!(verify(&key, &hash, &Signature { r: good.r + one, ..good }), Err(EcdsaError::Invalid));
    assert_eq!(verify(&key, &hash, &Signature { s: good.s + one, ..good }), Err(EcdsaError::Invalid));
    assert!(verify(&(key + one), &hash, &good).is_err());
    let bound = Felt::ELEMENT_UPPER_BOUND;
    assert_eq!(verify(&key, &bound, &good), Err(EcdsaError::HashOutOfRange));
    assert_eq!(verify(&key, &hash, &Signature { r: Felt::ZERO, ..good }), Err(EcdsaError::ROutOfRange));
    assert_eq!(verify(&key, &hash, &Signature { r: bound, ..good }), Err(EcdsaError::ROutOfRange));
    assert_eq!(verify(&key, &hash, &Signature { s: Felt::ZERO, ..good }), Err(EcdsaError::SOutOfRange));
    assert_eq!(verify(&key, &hash, &Signature { s: bound, ..good }), Err(EcdsaError::SOutOfRange));
    let not_a_point = (0u8..).map(Felt::from).find(|x| (x.square() * x + x + BETA).sqrt().is_none()).unwrap();
    assert_eq!(verify(&not_a_point, &hash, &good), Err(EcdsaError::InvalidPublicKey));
}

#[test]
fn a_key_chosen_to_cancel_the_sum_is_invalid_where_starknet_crypto_panics() {
    // With private key x = ∓hash/r (mod n), z·w·G ± r·w·Q is the point at infinity for every s.
    let (hash, r, s) = (Felt::from(1234u32), Felt::from(5678u32), Felt::from(91011u32));
    let order = starknet_types_core::felt::NonZeroFelt::from_felt_unchecked(EC_ORDER);
    let ratio = hash.mul_mod(&r.mod_inverse(&order).unwrap(), &order);
    for private_key in [EC_ORDER - ratio, ratio] {
        let public_key = get_public_key(&private_key).unwrap();
        let signature = Signature { r, s };
        assert_eq!(verify(&public_key, &hash, &signature), Err(EcdsaError::Invalid));
        let panicked = std::panic::catch_unwind(|| starknet_crypto::verify(&public_key, &hash, &r, &s)).is_err();
        assert!(panicked, "starknet-crypto's verify no longer panics here: it could be used directly");
    }
}

#[test]
fn private_keys_are_in_range_and_never_printed() {
    assert_eq!(StarkKey::from_felt(Felt::ZERO).unwrap_err(), EcdsaError::InvalidPrivateKey);
    assert_eq!(StarkKey::from_felt(EC_ORDER).unwrap_err(), EcdsaError::InvalidPrivateKey);
    assert_eq!(StarkKey::from_text("not a key").unwrap_err(), EcdsaError::InvalidPrivateKey);
    assert_eq!(get_public_key(&Felt::ZERO), Err(EcdsaError::InvalidPrivateKey));
    let secret = "0x3c1e9550e66958296d11b60f8e8e7a7ad990d07fa65d5f7652c4a6c87d4e3cc";
    let key = StarkKey::from_text(secret).unwrap();
    // The public key of crypto-cpp's test vector.
    assert_eq!(
        key.public_key(),
        parse_felt("0x77a3b314db07c45076d11f62b6f9e748a39790441823307743cf00d6597ea43").unwrap()
    );
    let printed = format!("{key:?}");
    assert!(printed.contains("77a3b314db07c45076d11f62b6f9e748a39790441823307743cf00d6597ea43"), "{printed}");
    assert!(!printed.contains("3c1e9550e66958296d11b60f8e8e7a7ad990d07fa65d5f7652c4a6c87d4e3cc"), "{printed}");
    assert_eq!(key.sign(&Felt::ELEMENT_UPPER_BOUND), Err(EcdsaError::HashOutOfRange));
}

fn hash_error(typed_data: &Value) -> TypedDataError {
    let error = message_hash(typed_data, Felt::ONE).unwrap_err();
    error.cause().clone()
}

fn parse_error(typed_data: &Value) -> OutsideExecutionError {
    match OutsideExecution::from_typed_data(typed_data).unwrap_err() {
        OutsideExecutionError::TypedData(error) => OutsideExecutionError::TypedData(error.cause().clone()),
        other => other,
    }
}

#[test]
fn malformed_typed_data_is_refused() {
    let good = outside_execution_v2();
    assert!(message_hash(&good, Felt::ONE).is_ok());
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut td = good.clone();
        f(&mut td);
        hash_error(&td)
    };
    assert_eq!(hash_error(&json!([])), TypedDataError::NotAnObject("typed data"));
    assert_eq!(edit(&|td| td["types"] = json!("x")), TypedDataError::NotAnObject("types"));
    assert_eq!(edit(&|td| td["primaryType"] = json!("")), TypedDataError::MissingPrimaryType);
    assert_eq!(edit(&|td| td["primaryType"] = json!(7)), TypedDataError::MissingPrimaryType);
    assert_eq!(edit(&|td| td["message"] = Value::Null), TypedDataError::MissingMessage);
    assert_eq!(edit(&|td| td["domain"] = json!("x")), TypedDataError::NotAnObject("domain"));
    // Revision detection as starknet.js's: revision 1 needs StarknetDomain and revision 1 or "1".
    assert_eq!(edit(&|td| td["domain"]["revision"] = json!(2)), TypedDataError::UnknownRevision);
    assert_eq!(edit(&|td| td["domain"]["revision"] = json!(true)), TypedDataError::UnknownRevision);
    for revision in [json!(1), json!("1"), json!(1.0)] {
        let mut td = good.clone();
        td["domain"]["revision"] = revision;
        assert!(message_hash(&td, Felt::ONE).is_ok());
    }
    let renamed = |td: &mut Value| {
        let domain = td["types"].as_object_mut().unwrap().remove("StarknetDomain").unwrap();
        td["types"]["StarkNetDomain"] = domain;
    };
    assert_eq!(edit(&renamed), TypedDataError::UnknownRevision);
    // Revision 0 takes no revision, null or "0", but not the number 0.
    for revision in [json!(0), json!("1"), json!(1)] {
        let mut td = outside_execution_v1();
        td["domain"]["revision"] = revision;
        assert_eq!(hash_error(&td), TypedDataError::UnknownRevision);
    }
    for revision in [Value::Null, json!("0")] {
        let mut td = outside_execution_v1();
        td["domain"]["revision"] = revision;
        assert!(message_hash(&td, Felt::ONE).is_ok());
    }
    assert_eq!(edit(&|td| td["types"]["Call"] = json!({})), TypedDataError::BadTypeDefinition("Call".into()));
    assert_eq!(edit(&|td| td["types"]["Call"][0]["type"] = json!(5)), TypedDataError::BadTypeDefinition("Call".into()));
    assert_eq!(edit(&|td| td["types"]["u256"] = json!([])), TypedDataError::ReservedTypeName("u256".into()));
    assert_eq!(edit(&|td| td["types"]["felt"] = json!([])), TypedDataError::ReservedTypeName("felt".into()));
    assert_eq!(edit(&|td| td["types"]["Call*"] = json!([])), TypedDataError::ReservedTypeName("Call*".into()));
    assert_eq!(edit(&|td| td["message"]["Calls"][0]["To"] = Value::Null), TypedDataError::MissingField("To".into()));
    assert!(matches!(
        edit(&|td| { td["message"].as_object_mut().unwrap().remove("Nonce"); }),
        TypedDataError::MissingField(f) if f == "Nonce"
    ));
    assert!(matches!(edit(&|td| td["message"]["Calls"] = json!({})), TypedDataError::WrongValue { .. }));
}

#[test]
fn values_out_of_range_or_of_the_wrong_kind_are_refused() {
    let good = outside_execution_v2();
    let set = |path: &[&str], value: Value| {
        let mut td = good.clone();
        let mut at = &mut td["message"];
        for key in path {
            at = match key.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*key],
            };
        }
        *at = value;
        hash_error(&td)
    };
    let prime = format!("{:#x}", super::felt::PRIME);
    assert!(matches!(set(&["Nonce"], json!(prime)), TypedDataError::Felt(FeltError::OutOfRange(_))));
    assert!(matches!(
        set(&["Calls", "0", "Calldata", "0"], json!(prime)),
        TypedDataError::Felt(FeltError::OutOfRange(_))
    ));
    assert!(matches!(set(&["Calls", "0", "Selector"], json!(prime)), TypedDataError::Felt(FeltError::OutOfRange(_))));
    assert!(matches!(set(&["Execute After"], json!("-1")), TypedDataError::OutOfRange { ty: "u128", .. }));
    let too_big = (alloy_primitives::U256::from(1u8) << 128usize).to_string();
    assert!(matches!(set(&["Execute After"], json!(too_big)), TypedDataError::OutOfRange { ty: "u128", .. }));
    // A ContractAddress is a number: no short-string reading in revision 1.
    assert!(matches!(set(&["Caller"], json!("ANY_CALLER")), TypedDataError::Felt(FeltError::NotANumber(_))));
    assert!(matches!(set(&["Nonce"], json!("é")), TypedDataError::Felt(FeltError::NotAscii(_))));
    assert!(matches!(set(&["Nonce"], json!("x".repeat(32))), TypedDataError::Felt(FeltError::ShortStringTooLong(..))));
    assert!(matches!(set(&["Nonce"], json!([1])), TypedDataError::Felt(FeltError::WrongJsonType("an array"))));
    assert!(matches!(set(&["Nonce"], json!(0.5)), TypedDataError::Felt(FeltError::NotAnInteger(_))));
    assert!(matches!(set(&["Calls", "0", "Selector"], json!(1)), TypedDataError::WrongValue { .. }));
    // The error says where.
    let mut td = good.clone();
    td["message"]["Calls"][0]["Calldata"][1] = json!(prime);
    let error = message_hash(&td, Felt::ONE).unwrap_err().to_string();
    assert!(error.starts_with("message.Calls.0.Calldata.1: "), "{error}");
}

/// A revision-1 typed data with one message field of type `ty` (and the types `extra`).
fn one_field(ty: Value, value: Value, extra: Value) -> Value {
    let mut types = json!({
        "StarknetDomain": [{"name": "name", "type": "shortstring"}, {"name": "revision", "type": "shortstring"}],
        "M": [ty],
    });
    for (name, definition) in extra.as_object().unwrap() {
        types[name] = definition.clone();
    }
    json!({"types": types, "primaryType": "M", "domain": {"name": "t", "revision": 1}, "message": {"f": value}})
}

#[test]
fn unknown_types_and_bad_enums_and_trees_are_refused() {
    let unsupported = |ty: &str| TypedDataError::UnsupportedType { ty: ty.into(), revision: Revision::V1 };
    assert_eq!(hash_error(&one_field(json!({"name": "f", "type": "u64"}), json!(1), json!({}))), unsupported("u64"));
    assert_eq!(
        hash_error(&one_field(json!({"name": "f", "type": "Other"}), json!(1), json!({}))),
        unsupported("Other")
    );
    // Revision 0 knows the SNIP's basic types only (starknet.js would read "u256" as a felt).
    let mut rev0 = outside_execution_v1();
    rev0["types"]["OutsideExecution"][1]["type"] = json!("u256");
    assert_eq!(hash_error(&rev0), TypedDataError::UnsupportedType { ty: "u256".into(), revision: Revision::V0 });
    let recursive = json!({"A": [{"name": "a", "type": "B*"}], "B": [{"name": "b", "type": "A"}]});
    assert!(matches!(
        hash_error(&one_field(json!({"name": "f", "type": "A"}), json!({"a": []}), recursive)),
        TypedDataError::RecursiveType(_)
    ));
    let kinds = json!({"K": [{"name": "Unit", "type": "()"}, {"name": "Pair", "type": "(u128,felt)"}, {"name": "Bad", "type": "u128"}]});
    let enum_field = json!({"name": "f", "type": "enum", "contains": "K"});
    let enum_error = |value: Value| hash_error(&one_field(enum_field.clone(), value, kinds.clone()));
    assert!(message_hash(&one_field(enum_field.clone(), json!({"Pair": [1, 2]}), kinds.clone()), Felt::ONE).is_ok());
    assert!(message_hash(&one_field(enum_field.clone(), json!({"Unit": []}), kinds.clone()), Felt::ONE).is_ok());
    assert!(matches!(enum_error(json!({"Pair": [1]})), TypedDataError::EnumArity { expected: 2, found: 1, .. }));
    assert!(matches!(enum_error(json!({"Unit": [1]})), TypedDataError::EnumArity { expected: 0, found: 1, .. }));
    assert!(matches!(enum_error(json!({"Nope": []})), TypedDataError::UnknownVariant(..)));
    assert!(matches!(enum_error(json!({"Bad": [1]})), TypedDataError::BadVariantType(_)));
    assert!(matches!(enum_error(json!({"Unit": [], "Pair": [1, 2]})), TypedDataError::WrongValue { .. }));
    assert!(matches!(enum_error(json!("Unit")), TypedDataError::WrongValue { .. }));
    let no_contains = one_field(json!({"name": "f", "type": "enum"}), json!({"Unit": []}), kinds.clone());
    assert!(matches!(hash_error(&no_contains), TypedDataError::MissingContains(_)));
    let tree = json!({"name": "f", "type": "merkletree", "contains": "u128"});
    assert!(message_hash(&one_field(tree.clone(), json!([1, 2, 3]), json!({})), Felt::ONE).is_ok());
    assert_eq!(hash_error(&one_field(tree, json!([]), json!({}))), TypedDataError::EmptyMerkleTree);
    let tree_of_arrays = json!({"name": "f", "type": "merkletree", "contains": "u128*"});
    assert!(matches!(
        hash_error(&one_field(tree_of_arrays, json!([[1]]), json!({}))),
        TypedDataError::MerkleTreeOfArrays(_)
    ));
    // Deep nesting is refused, not a stack overflow.
    let mut deep = json!(1);
    for _ in 0..=MAX_DEPTH {
        deep = json!([deep]);
    }
    let deep_type = format!("u128{}", "*".repeat(MAX_DEPTH + 1));
    assert_eq!(
        hash_error(&one_field(json!({"name": "f", "type": deep_type}), deep, json!({}))),
        TypedDataError::TooDeep
    );
}

#[test]
fn typed_data_other_than_snip9_is_not_an_outside_execution() {
    let v2 = outside_execution_v2();
    let edit = |base: &Value, f: &dyn Fn(&mut Value)| {
        let mut td = base.clone();
        f(&mut td);
        parse_error(&td)
    };
    assert!(OutsideExecution::from_typed_data(&v2).is_ok());
    let first = &vectors()["typedData"][0]["typedData"];
    assert_eq!(parse_error(first), OutsideExecutionError::NotOutsideExecution("Mail".into()));
    assert_eq!(
        edit(&v2, &|td| td["domain"]["name"] = json!("Account.execute")),
        OutsideExecutionError::WrongDomainName
    );
    assert!(matches!(
        edit(&v2, &|td| td["domain"]["version"] = json!("3")),
        OutsideExecutionError::UnsupportedVersion { revision: Revision::V1, .. }
    ));
    assert!(matches!(
        edit(&outside_execution_v1(), &|td| td["domain"]["version"] = json!("2")),
        OutsideExecutionError::UnsupportedVersion { revision: Revision::V0, .. }
    ));
    assert_eq!(
        edit(&v2, &|td| td["types"]["Call"][2]["type"] = json!("u128*")),
        OutsideExecutionError::WrongTypes("OutsideExecution")
    );
    assert_eq!(
        edit(&v2, &|td| {
            td["types"]["StarknetDomain"].as_array_mut().unwrap().pop();
        }),
        OutsideExecutionError::WrongTypes("domain")
    );
    assert_eq!(
        edit(&v2, &|td| td["message"]["Execute Before"] = json!((1u128 << 64).to_string())),
        OutsideExecutionError::TimestampOutOfRange("Execute Before")
    );
    let v1 = outside_execution_v1();
    assert!(OutsideExecution::from_typed_data(&v1).is_ok());
    assert!(matches!(
        edit(&v1, &|td| td["message"]["calls_len"] = json!(2)),
        OutsideExecutionError::LengthMismatch { field: "calls_len", actual: 1, .. }
    ));
    assert!(matches!(
        edit(&v1, &|td| td["message"]["calls"][0]["calldata_len"] = json!("0x4")),
        OutsideExecutionError::LengthMismatch { field: "calldata_len", actual: 3, .. }
    ));
    assert_eq!(
        edit(&v1, &|td| {
            td["message"].as_object_mut().unwrap().remove("caller");
        }),
        OutsideExecutionError::TypedData(TypedDataError::MissingField("caller".into()))
    );
}

#[test]
fn revision_one_strings_are_byte_arrays() {
    // A ByteArray of 31-byte words: the empty string, exactly one word, and a word plus two bytes.
    let string_field = json!({"name": "f", "type": "string"});
    let hash = |text: &str| {
        let td = one_field(string_field.clone(), json!(text), json!({}));
        TypedData::from_json(&td).unwrap().struct_hash("M", &json!({"f": text})).unwrap()
    };
    let words = |elements: &[Felt]| {
        let type_hash = starknet_keccak(br#""M"("f":"string")"#);
        starknet_crypto::poseidon_hash_many(&[type_hash, starknet_crypto::poseidon_hash_many(elements)])
    };
    let word = encode_short_string(&"a".repeat(31)).unwrap();
    assert_eq!(hash(""), words(&[Felt::ZERO, Felt::ZERO, Felt::ZERO]));
    assert_eq!(hash(&"a".repeat(31)), words(&[Felt::ONE, word, Felt::ZERO, Felt::ZERO]));
    let tail = encode_short_string("bc").unwrap();
    assert_eq!(hash(&format!("{}bc", "a".repeat(31))), words(&[Felt::ONE, word, tail, Felt::TWO]));
    let td = one_field(string_field, json!("é"), json!({}));
    assert!(matches!(hash_error(&td), TypedDataError::Felt(FeltError::NotAscii(_))));
}
