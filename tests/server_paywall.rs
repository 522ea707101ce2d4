//! The Rust middleware (`x402_edge::server`) in front of a real facilitator on anvil: paid routes verify
//! in-process (no `/verify` call), settle once through the facilitator, and release content only on a
//! settled payment.
#![cfg(feature = "server")]

mod common;

use std::cell::RefCell;

use alloy_primitives::{Address, U256};
use common::*;
use serde_json::{json, Value};
use x402_edge::api::{self, ApiRequest};
use x402_edge::protocol::header;
use x402_edge::server::{
    Accept, Admission, Admitted, FacilitatorLink, Incoming, LinkError, LinkReply, PaidRoute, Paywall, Reply, Routes,
    VerifiedBy, PAYMENT_REQUIRED, PAYMENT_RESPONSE, X_PAYMENT_RESPONSE,
};

const PRICE: u64 = 250_000;

/// The facilitator, called in-process through its HTTP API (`api::handle`), with every path recorded.
struct InProcess<'w> {
    facility: &'w Facility,
    paths: RefCell<Vec<&'static str>>,
}

impl FacilitatorLink for InProcess<'_> {
    async fn post(&self, path: &'static str, body: String) -> Result<LinkReply, LinkError> {
        self.paths.borrow_mut().push(path);
        let request = ApiRequest {
            method: "POST",
            path,
            query: "",
            authorization: None,
            client: "127.0.0.1",
            body: body.as_bytes(),
            request_id: "paywall-test",
        };
        let (response, _) = api::handle(&self.facility.facilitator, request).await;
        Ok(LinkReply { status: response.status, body: response.body.into_bytes() })
    }
}

fn paywall(w: &World, pay_to: Address) -> Paywall<InProcess<'_>> {
    let accept = Accept::exact("base-sepolia", &w.token.to_string(), &PRICE.to_string(), &pay_to.to_string())
        .unwrap()
        .with_extra("name", json!("USD Coin"))
        .with_extra("version", json!("2"));
    let route = PaidRoute::new("GET", "/premium", vec![accept]).unwrap().describe("premium", "application/json");
    Paywall::new(Routes::new(vec![route]), InProcess { facility: &w.facility, paths: RefCell::default() })
}

/// The header a client builds from the route's 402 (`accepted` is the requirement it chose).
fn pay(paywall: &Paywall<InProcess<'_>>, payer_key: &str, nonce: u8) -> String {
    let Admission::Refused(challenge) = admit(paywall, None, None) else { panic!("an unpaid request is refused") };
    let required: Value = header::decode(header_value(&challenge, PAYMENT_REQUIRED).unwrap()).unwrap();
    let accepted = required["accepts"][0].clone();
    let token: Address = accepted["asset"].as_str().unwrap().parse().unwrap();
    let pay_to: Address = accepted["payTo"].as_str().unwrap().parse().unwrap();
    let a = authorization(payer_key, pay_to, PRICE, nonce);
    let signature = sign(payer_key, &a, token, "USD Coin", "2");
    header::encode(&json!({
        "x402Version": 2, "accepted": accepted, "resource": required["resource"],
        "payload": {"signature": signature, "authorization": authorization_json(&a)},
    }))
}

fn admit(paywall: &Paywall<InProcess<'_>>, v2: Option<&str>, v1: Option<&str>) -> Admission {
    let incoming = Incoming {
        method: "GET",
        path: "/premium",
        url: "http://127.0.0.1/premium",
        payment_signature: v2,
        x_payment: v1,
        now_secs: now_secs(),
    };
    pollster::block_on(paywall.admit(&incoming))
}

fn admitted_of(admission: Admission) -> Admitted {
    match admission {
        Admission::Admitted(admitted) => admitted,
        other => panic!("expected the payment to be admitted, got {other:?}"),
    }
}

fn header_value<'r>(reply: &'r Reply, name: &str) -> Option<&'r str> {
    reply.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
}

fn error_of(reply: &Reply) -> String {
    let required: Value = header::decode(header_value(reply, PAYMENT_REQUIRED).unwrap()).unwrap();
    required["error"].as_str().unwrap().to_string()
}

#[test]
fn a_paid_request_is_verified_in_process_and_settled_once() {
    let w = world();
    let (payer, pay_to) = (address(KEYS[1]), address(KEYS[2]));
    let paywall = paywall(&w, pay_to);
    let before = balance(&w.anvil, w.token, pay_to);
    let header = pay(&paywall, KEYS[1], 1);

    let admitted = admitted_of(admit(&paywall, Some(&header), None));
    assert_eq!(admitted.verified_by, VerifiedBy::InProcess);
    assert_eq!(admitted.payer.as_deref(), Some(payer.to_checksum(None).as_str()));
    assert!(paywall.link().paths.borrow().is_empty(), "no /verify round trip");

    let headers = pollster::block_on(paywall.settle(&admitted)).expect("settled");
    let receipt: Value = header::decode(&headers.iter().find(|(k, _)| *k == PAYMENT_RESPONSE).unwrap().1).unwrap();
    assert_eq!(receipt["success"], true);
    assert_eq!(receipt["transaction"].as_str().unwrap().len(), 66);
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(PRICE));
    assert_eq!(*paywall.link().paths.borrow(), ["/settle"]);

    // The same header again: the in-process checks cannot see the facilitator's ledger, but settle
    // refuses it, so the content is not released and nothing moves.
    let again = admitted_of(admit(&paywall, Some(&header), None));
    let refusal = pollster::block_on(paywall.settle(&again)).expect_err("a replay never settles");
    assert_eq!(refusal.status, 402);
    assert_eq!(error_of(&refusal), "invalid_exact_evm_nonce_already_used");
    let failed: Value = header::decode(header_value(&refusal, PAYMENT_RESPONSE).unwrap()).unwrap();
    assert_eq!(failed["success"], false);
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(PRICE));

    // Verifying with the facilitator refuses it before any handler would run.
    let remote = self::paywall(&w, pay_to).verifying_remotely();
    let Admission::Refused(reply) = admit(&remote, Some(&header), None) else { panic!("refused at verify") };
    assert_eq!(error_of(&reply), "invalid_exact_evm_nonce_already_used");
    assert_eq!(*remote.link().paths.borrow(), ["/verify"]);
}

#[test]
fn a_v1_payment_gets_the_v1_receipt_header() {
    let w = world();
    let pay_to = address(KEYS[3]);
    let paywall = paywall(&w, pay_to);
    let Admission::Refused(challenge) = admit(&paywall, None, None) else { panic!("refused") };
    let body: Value = serde_json::from_str(&challenge.body).unwrap();
    let accepted = &body["accepts"][0];
    assert_eq!(accepted["network"], "base-sepolia");
    let a = authorization(KEYS[4], pay_to, PRICE, 7);
    let signature = sign(KEYS[4], &a, w.token, "USD Coin", "2");
    let v1 = header::encode(&json!({
        "x402Version": 1, "scheme": "exact", "network": "base-sepolia",
        "payload": {"signature": signature, "authorization": authorization_json(&a)},
    }));
    let admitted = admitted_of(admit(&paywall, None, Some(&v1)));
    let headers = pollster::block_on(paywall.settle(&admitted)).expect("settled");
    assert_eq!(headers[0].0, X_PAYMENT_RESPONSE);
    let receipt: Value = header::decode(&headers[0].1).unwrap();
    assert_eq!(receipt["success"], true);
    assert_eq!(receipt["network"], "base-sepolia");
}

#[test]
fn an_unfunded_payer_is_never_served() {
    let w = world();
    let pay_to = address(KEYS[2]);
    let paywall = paywall(&w, pay_to);
    let before = balance(&w.anvil, w.token, pay_to);
    // Account 9 (the facilitator's) holds no TestUSDC: the signature is valid, the chain says no.
    let header = pay(&paywall, FACILITATOR_KEY, 9);
    let admitted = admitted_of(admit(&paywall, Some(&header), None));
    let refusal = pollster::block_on(paywall.settle(&admitted)).expect_err("nothing to settle");
    assert_eq!(refusal.status, 402);
    assert_eq!(error_of(&refusal), "invalid_exact_evm_insufficient_balance");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before);
}
