use std::cell::Cell;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::*;
use crate::protocol::header;

const USDC_BASE_SEPOLIA: &str = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
const PAY_TO: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

/// A link for paths that must never reach the facilitator: it counts calls and answers nothing.
#[derive(Default)]
struct Unreachable {
    calls: Cell<usize>,
}

impl FacilitatorLink for Unreachable {
    async fn post(&self, _path: &'static str, _body: String) -> Result<LinkReply, LinkError> {
        self.calls.set(self.calls.get() + 1);
        Err(LinkError::Unreachable("no facilitator in this test".into()))
    }
}

fn premium() -> PaidRoute {
    let accept = Accept::exact("base-sepolia", USDC_BASE_SEPOLIA, "10000", PAY_TO).unwrap();
    PaidRoute::new("GET", "/premium", vec![accept]).unwrap().describe("premium data", "application/json")
}

fn paywall() -> Paywall<Unreachable> {
    Paywall::new(Routes::new(vec![premium()]), Unreachable::default())
}

fn incoming<'a>(path: &'a str, signature: Option<&'a str>) -> Incoming<'a> {
    Incoming {
        method: "GET",
        path,
        url: "https://api.example/premium",
        payment_signature: signature,
        x_payment: None,
        now_secs: 1_700_000_000,
    }
}

fn refused(admission: Admission) -> Reply {
    match admission {
        Admission::Refused(reply) => reply,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn header_of<'r>(reply: &'r Reply, name: &str) -> &'r str {
    reply.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
}

fn required(reply: &Reply) -> Value {
    header::decode(header_of(reply, PAYMENT_REQUIRED)).unwrap()
}

fn admit(paywall: &Paywall<Unreachable>, incoming: Incoming<'_>) -> Admission {
    pollster::block_on(paywall.admit(&incoming))
}

#[test]
fn routes_match_method_exact_paths_and_prefixes() {
    let all = Accept::exact("base-sepolia", USDC_BASE_SEPOLIA, "1", PAY_TO).unwrap();
    let routes = Routes::new(vec![
        PaidRoute::new("get", "/premium", vec![all.clone()]).unwrap(),
        PaidRoute::new("*", "/api/*", vec![all]).unwrap(),
    ]);
    assert!(routes.find("GET", "/premium").is_some());
    assert!(routes.find("GET", "/premium/").is_some());
    assert!(routes.find("POST", "/premium").is_none());
    assert!(routes.find("GET", "/premiums").is_none());
    assert!(routes.find("DELETE", "/api").is_some());
    assert!(routes.find("PUT", "/api/v1/x").is_some());
    assert!(routes.find("GET", "/apiary").is_none());
}

#[test]
fn route_configuration_is_checked_at_start() {
    let route = |accept: Value| json!([{"path": "/x", "accepts": [accept]}]).to_string();
    let good = json!({"network": "eip155:84532", "asset": USDC_BASE_SEPOLIA, "amount": "5", "payTo": PAY_TO});
    let routes = Routes::from_json(&route(good.clone())).unwrap();
    let found = routes.find("POST", "/x").unwrap();
    assert_eq!(found.accepts[0].v2()["extra"], json!({"name": "USDC", "version": "2"}));
    assert_eq!(found.resource.mime_type, "application/json");

    let with = |key: &str, value: Value| {
        let mut accept = good.clone();
        accept[key] = value;
        Routes::from_json(&route(accept)).unwrap_err()
    };
    assert_eq!(with("network", json!("mars")), RouteError::UnknownNetwork("mars".into()));
    assert_eq!(with("amount", json!("0")), RouteError::Amount("0".into()));
    assert_eq!(with("amount", json!("1.5")), RouteError::Amount("1.5".into()));
    assert_eq!(with("payTo", json!(" ")), RouteError::Empty { field: "payTo" });
    assert!(matches!(with("prize", json!(1)), RouteError::Json(_)));
    let no_slash = json!([{"path": "x", "accepts": [good]}]).to_string();
    assert_eq!(Routes::from_json(&no_slash).unwrap_err(), RouteError::Path("x".into()));
    let unpaid = json!([{"path": "/x", "accepts": []}]).to_string();
    assert!(matches!(Routes::from_json(&unpaid).unwrap_err(), RouteError::NoPayment(_)));
}

#[test]
fn a_free_route_never_reaches_the_facilitator() {
    let paywall = paywall();
    assert!(matches!(admit(&paywall, incoming("/free", None)), Admission::Free));
    assert_eq!(paywall.link().calls.get(), 0);
}

#[test]
fn an_unpaid_request_gets_the_v2_header_and_the_v1_body() {
    let reply = refused(admit(&paywall(), incoming("/premium", None)));
    assert_eq!(reply.status, 402);
    let v2 = required(&reply);
    assert_eq!(v2["x402Version"], 2);
    assert_eq!(v2["error"], "payment_required");
    assert_eq!(v2["resource"]["url"], "https://api.example/premium");
    assert_eq!(v2["resource"]["description"], "premium data");
    assert_eq!(v2["accepts"][0]["network"], "eip155:84532");
    assert_eq!(v2["accepts"][0]["amount"], "10000");
    let v1: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(v1["x402Version"], 1);
    assert_eq!(v1["accepts"][0]["network"], "base-sepolia");
    assert_eq!(v1["accepts"][0]["maxAmountRequired"], "10000");
    assert_eq!(v1["accepts"][0]["resource"], "https://api.example/premium");
}

#[test]
fn malformed_payment_headers_get_a_402_with_their_reason() {
    let paywall = paywall();
    let reason = |header: &str| {
        let reply = refused(admit(&paywall, incoming("/premium", Some(header))));
        assert_eq!(reply.status, 402);
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        assert!(!body["errorMessage"].as_str().unwrap().is_empty());
        required(&reply)["error"].as_str().unwrap().to_string()
    };
    assert_eq!(reason("%%% not base64"), "invalid_payload");
    assert_eq!(reason(&STANDARD.encode("not json")), "invalid_payload");
    assert_eq!(reason(&"A".repeat(header::MAX_HEADER_LEN + 4)), "invalid_payload");
    assert_eq!(reason(&header::encode(&json!({"x402Version": 3}))), "invalid_x402_version");
    assert_eq!(reason(&header::encode(&json!([1, 2]))), "invalid_x402_version");
    let other_price = json!({"x402Version": 2, "accepted": {
        "scheme": "exact", "network": "eip155:84532", "amount": "1", "asset": USDC_BASE_SEPOLIA, "payTo": PAY_TO,
    }, "payload": {}});
    assert_eq!(reason(&header::encode(&other_price)), "invalid_payment_requirements");
    let unknown_network = json!({"x402Version": 2, "accepted": {"scheme": "exact", "network": "eip155:0"}});
    assert_eq!(reason(&header::encode(&unknown_network)), "invalid_payment_requirements");
    assert_eq!(paywall.link().calls.get(), 0, "no malformed header reaches the facilitator");
}

#[test]
fn a_payment_the_facilitators_checks_refuse_never_leaves_the_worker() {
    let paywall = paywall();
    let accepted = premium().accepts[0].v2().clone();
    // Well-formed, for the route's price, but the authorization pays someone else.
    let payload = json!({"x402Version": 2, "accepted": accepted, "payload": {
        "signature": format!("0x{}", "11".repeat(65)),
        "authorization": {"from": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "to": "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
            "value": "10000", "validAfter": "0", "validBefore": "1800000000", "nonce": format!("0x{}", "22".repeat(32))},
    }});
    let reply = refused(admit(&paywall, incoming("/premium", Some(&header::encode(&payload)))));
    assert_eq!(required(&reply)["error"], "invalid_exact_evm_recipient_mismatch");
    assert_eq!(paywall.link().calls.get(), 0);
}

#[test]
fn an_unreachable_facilitator_is_a_502_not_a_402() {
    let paywall = paywall().verifying_remotely();
    let accepted = premium().accepts[0].v2().clone();
    let payload = json!({"x402Version": 2, "accepted": accepted, "payload": {}});
    let reply = refused(admit(&paywall, incoming("/premium", Some(&header::encode(&payload)))));
    assert_eq!(paywall.link().calls.get(), 1);
    assert_eq!(reply.status, 502);
    assert!(reply.body.contains("facilitator_unavailable"));
}
