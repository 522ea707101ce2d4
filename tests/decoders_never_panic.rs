//! Property tests for every decoder of untrusted input: no byte string, header, JSON shape or
//! signature makes the facilitator panic; each is answered with a status and a JSON body.

use proptest::prelude::*;
use serde_json::{json, Value};
use x402_edge::api::{self, ApiRequest};
use x402_edge::chains::evm::signature::EcdsaSignature;
use x402_edge::facilitator::Facilitator;
use x402_edge::protocol::header;
#[cfg(feature = "permit2")]
use x402_edge::schemes::exact_permit2::{identity, is_permit2, ledger_key, Permit2Payload};
use x402_edge::schemes::parse_request;
#[cfg(feature = "permit2")]
use x402_edge::schemes::upto_permit2::{self, UptoPermit2Payload};

mod common;

use common::offline::{offline_facilitator, OfflineHost};
use x402_edge::facilitator::NoHooks;

fn facilitator() -> Facilitator<OfflineHost> {
    let vars = [
        ("EVM_NETWORKS", "base-sepolia,base"),
        ("EVM_PRIVATE_KEY", "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"),
    ];
    // The spec example's time window: pure checks pass, and the (failing) chain is reached.
    offline_facilitator(&vars, 1_740_672_100_000, NoHooks)
}

/// The Permit2 payload and both gas-sponsoring extensions as the 2.27 client sends them.
#[cfg(feature = "permit2")]
fn permit2_payment() -> (Value, Value) {
    let vectors: Value = serde_json::from_str(include_str!("vectors/permit2.json")).unwrap();
    let extensions = json!({
        "eip2612GasSponsoring": {"info": vectors["eip2612"]["info"]},
        "erc20ApprovalGasSponsoring": {"info": vectors["erc20Approval"]["info"]},
    });
    (vectors["vectors"][0]["payload"].clone(), extensions)
}

fn spec_request() -> Value {
    let examples: Value = serde_json::from_str(include_str!("vectors/api-examples.json")).unwrap();
    examples["coinbase_v2"]["POST /verify request"].clone()
}

fn answer(path: &str, body: &[u8]) -> (u16, Value) {
    let f = facilitator();
    let request =
        ApiRequest { method: "POST", path, query: "", authorization: None, client: "127.0.0.1", body, request_id: "p" };
    let (response, log) = pollster::block_on(api::handle(&f, request));
    assert_eq!(log.status, response.status);
    (response.status, serde_json::from_str(&response.body).expect("every answer is JSON"))
}

/// Arbitrary JSON values, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,80}".prop_map(Value::from),
        "0x[0-9a-fA-F]{0,140}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z0-9]{1,12}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every path of the spec request, to replace one of them with junk.
fn paths(value: &Value, prefix: String, out: &mut Vec<String>) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            let p = format!("{prefix}/{k}");
            out.push(p.clone());
            paths(v, p, out);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_get_an_answer(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_request(&body);
        for path in ["/verify", "/settle", "/v2/x402/verify", "/v2/x402/settle"] {
            let (status, _) = answer(path, &body);
            prop_assert!(status == 400 || status == 200);
        }
    }

    #[test]
    fn any_header_decodes_or_errs(text in ".{0,300}") {
        let _ = header::decode::<Value>(&text);
        let _ = header::decode::<x402_edge::protocol::cronos::CronosPaymentHeader>(&text);
    }

    #[test]
    fn any_field_replaced_with_junk_gets_an_answer(index in any::<prop::sample::Index>(), junk in any_json()) {
        let mut request = spec_request();
        let mut all = Vec::new();
        paths(&request, String::new(), &mut all);
        let path = index.get(&all).clone();
        *request.pointer_mut(&path).unwrap() = junk;
        let (status, body) = answer("/settle", request.to_string().as_bytes());
        prop_assert!(status == 400 || status == 200, "{status} {body}");
        if status == 200 {
            prop_assert_eq!(&body["success"], &json!(false));
        }
    }

    #[test]
    fn any_cronos_header_gets_an_answer(header in any_json()) {
        let body = json!({"x402Version": 1, "paymentHeader": header::encode(&header),
            "paymentRequirements": {"scheme": "exact", "network": "base-sepolia", "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
            "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "maxAmountRequired": "1", "maxTimeoutSeconds": 1}});
        let (status, _) = answer("/v2/x402/verify", body.to_string().as_bytes());
        prop_assert_eq!(status, 400);
    }

    #[test]
    fn any_65_bytes_recover_or_err(bytes in prop::collection::vec(any::<u8>(), 65), hash in any::<[u8; 32]>()) {
        if let Ok(signature) = EcdsaSignature::parse(&bytes) {
            let _ = signature.recover(&hash.into());
        }
    }
}

#[cfg(feature = "permit2")]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_permit2_payload_or_extension_decodes_or_errs(payload in any_json(), extensions in any_json()) {
        let _ = Permit2Payload::decode(&payload, Some(&extensions));
        let _ = is_permit2(&payload);
    }

    #[test]
    fn any_permit2_field_replaced_with_junk_decodes_or_errs(index in any::<prop::sample::Index>(), junk in any_json()) {
        let (mut payload, mut extensions) = permit2_payment();
        let mut all = Vec::new();
        paths(&payload, String::new(), &mut all);
        let mut in_extensions = Vec::new();
        paths(&extensions, String::new(), &mut in_extensions);
        let count = all.len();
        all.extend(in_extensions);
        let i = index.index(all.len());
        let target = if i < count { &mut payload } else { &mut extensions };
        *target.pointer_mut(&all[i]).unwrap() = junk;
        if let Ok(decoded) = Permit2Payload::decode(&payload, Some(&extensions)) {
            // What decodes is well formed: an identity and a ledger key, whatever the values.
            let _ = (identity(&decoded), ledger_key(84532, &decoded));
        }
    }

    #[test]
    fn any_upto_permit2_field_replaced_with_junk_decodes_or_errs(index in any::<prop::sample::Index>(), junk in any_json()) {
        let vectors: Value = serde_json::from_str(include_str!("vectors/upto-permit2.json")).unwrap();
        let mut payload = vectors["vectors"][0]["payload"].clone();
        let mut all = Vec::new();
        paths(&payload, String::new(), &mut all);
        *payload.pointer_mut(&all[index.index(all.len())]).unwrap() = junk.clone();
        let _ = UptoPermit2Payload::decode(&junk, Some(&junk));
        if let Ok(decoded) = UptoPermit2Payload::decode(&payload, Some(&junk)) {
            let _ = (upto_permit2::identity(&decoded), upto_permit2::ledger_key(84532, &decoded), decoded.signed());
        }
    }
}
