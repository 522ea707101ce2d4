//! Starknet settles in the x402-starknet dialect against a stand-in node, for what no real node here
//! can be made to do:
//! - a payer account whose code the attacker wrote: its `is_valid_signature` answers VALID, its
//!   outside-execution nonces are always fresh, it holds the balance, and its `execute_from_outside_v2`
//!   moves nothing (or, under simulation only, pretends to). The sponsor must never pay for such a
//!   settle, and `/settle` must never answer it `success`;
//! - a node that refuses a broadcast once: the payment must stay settleable.
//!
//! starknet-devnet runs here (tests/starknet_settle.rs), but no Cairo compiler does, so a hostile account
//! class cannot be declared on it, and it cannot be told to refuse one broadcast. The stand-in answers
//! each JSON-RPC method the facilitator asks as the account and the real USDC would, and records the
//! methods asked and the transactions it took.
#![cfg(feature = "starknet")]

mod common;

use std::cell::{Cell, RefCell};

use common::offline::{facilitator_on, OfflineHost};
use serde_json::{json, Value};
use x402_edge::api::{self, ApiRequest};
use x402_edge::chains::starknet::{
    encode_short_string, parse_felt, selector, AllResourceBounds, Call, DataAvailabilityMode, Felt,
    InvokeTransactionV3, OutsideExecution, OutsideExecutionVersion, ResourceBounds,
};
use x402_edge::facilitator::{Facilitator, NoHooks};
use x402_edge::ports::{HttpTransport, TransportError};

const NOW: u64 = 1_800_000_000;
const USDC: &str = "0x53b40a647cedfca6ca84f542a0fe36736031905a9639a7f19a3c1e66bfd5080";
const SPONSOR: &str = "0x5905";
const PAYER: &str = "0xa11ce";
const PAY_TO: &str = "0xb0b";
const AMOUNT: u64 = 12_345;

/// What the hostile account's `execute_from_outside_v2` does under simulation: nothing, or the
/// payment's `Transfer` (it can tell a simulation from the real run by the query version).
#[derive(Clone, Copy, PartialEq)]
enum Simulated {
    Nothing,
    ThePayment,
}

struct Node {
    simulated: Simulated,
    /// What the account's real run moves: nothing (the hostile account), or the payment.
    moves_the_payment: bool,
    /// How many broadcasts to refuse (the node's validation, code 55) before taking one.
    refusals: Cell<u32>,
    methods: RefCell<Vec<String>>,
    sent: RefCell<Vec<String>>,
}

impl Node {
    fn new(simulated: Simulated) -> &'static Node {
        Node::leak(Node {
            simulated,
            moves_the_payment: false,
            refusals: Cell::new(0),
            methods: RefCell::default(),
            sent: RefCell::default(),
        })
    }

    /// An honest account and token, behind a node that refuses the first `refusals` broadcasts.
    fn refusing(refusals: u32) -> &'static Node {
        Node::leak(Node {
            simulated: Simulated::ThePayment,
            moves_the_payment: true,
            refusals: Cell::new(refusals),
            methods: RefCell::default(),
            sent: RefCell::default(),
        })
    }

    fn leak(node: Node) -> &'static Node {
        Box::leak(Box::new(node))
    }

    fn asked(&self, method: &str) -> usize {
        self.methods.borrow().iter().filter(|m| *m == method).count()
    }

    fn transfer_event() -> Value {
        json!({"from_address": USDC, "keys": [format!("{:#x}", selector("Transfer")), PAYER, PAY_TO],
               "data": [format!("{AMOUNT:#x}"), "0x0"]})
    }

    fn result(&self, method: &str, params: &Value) -> Result<Value, (i64, &'static str)> {
        Ok(match method {
            "starknet_getBlockWithTxHashes" => json!({"timestamp": NOW}),
            "starknet_call" => {
                let entry_point = params["request"]["entry_point_selector"].as_str().and_then(|s| parse_felt(s).ok());
                match entry_point {
                    Some(s) if s == selector("is_valid_signature") => json!(["0x56414c4944"]),
                    Some(s) if s == selector("is_valid_outside_execution_nonce") => json!(["0x1"]),
                    Some(s) if s == selector("balance_of") => json!(["0xf4240", "0x0"]),
                    _ => return Err((40, "Contract error")),
                }
            }
            "starknet_getNonce" => json!("0x0"),
            "starknet_simulateTransactions" => {
                let events = match self.simulated {
                    Simulated::Nothing => json!([]),
                    Simulated::ThePayment => json!([Node::transfer_event()]),
                };
                json!([{"transaction_trace": {"execute_invocation": {"contract_address": PAYER, "events": events, "calls": []}}}])
            }
            "starknet_estimateFee" => json!([{
                "l1_gas_consumed": "0x0", "l1_gas_price": "0x1", "l2_gas_consumed": "0x1000",
                "l2_gas_price": "0x1", "l1_data_gas_consumed": "0x80", "l1_data_gas_price": "0x1"
            }]),
            "starknet_addInvokeTransaction" => {
                if self.refusals.get() > 0 {
                    self.refusals.set(self.refusals.get() - 1);
                    return Err((55, "Account validation failed"));
                }
                let hash = invoke_hash(&params["invoke_transaction"]).ok_or((-32602, "Invalid params"))?;
                self.sent.borrow_mut().push(hash.clone());
                json!({"transaction_hash": hash})
            }
            "starknet_getTransactionStatus" => {
                let hash = params["transaction_hash"].as_str().unwrap_or_default();
                if !self.sent.borrow().iter().any(|h| h == hash) {
                    return Err((29, "Transaction hash not found"));
                }
                json!({"finality_status": "ACCEPTED_ON_L2", "execution_status": "SUCCEEDED"})
            }
            "starknet_getTransactionReceipt" => {
                let events = if self.moves_the_payment { json!([Node::transfer_event()]) } else { json!([]) };
                json!({"execution_status": "SUCCEEDED", "events": events, "block_number": 7})
            }
            _ => return Err((-32601, "Method not found")),
        })
    }

    fn answer(&self, request: &Value) -> Value {
        let method = request["method"].as_str().unwrap_or_default();
        self.methods.borrow_mut().push(method.to_string());
        match self.result(method, &request["params"]) {
            Ok(result) => json!({"jsonrpc": "2.0", "id": request["id"], "result": result}),
            Err((code, message)) => {
                json!({"jsonrpc": "2.0", "id": request["id"], "error": {"code": code, "message": message}})
            }
        }
    }
}

/// The hash of an INVOKE v3 as JSON-RPC carries it (what the node answers, and the facilitator
/// checks against the one it signed).
fn invoke_hash(tx: &Value) -> Option<String> {
    let felt = |v: &Value| v.as_str().and_then(|t| parse_felt(t).ok());
    let number = |v: &Value| v.as_str().and_then(|t| u128::from_str_radix(t.trim_start_matches("0x"), 16).ok());
    let bound = |name: &str| {
        let b = &tx["resource_bounds"][name];
        Some(ResourceBounds {
            max_amount: u64::try_from(number(&b["max_amount"])?).ok()?,
            max_price_per_unit: number(&b["max_price_per_unit"])?,
        })
    };
    let invoke = InvokeTransactionV3 {
        sender_address: felt(&tx["sender_address"])?,
        calldata: tx["calldata"].as_array()?.iter().map(felt).collect::<Option<_>>()?,
        chain_id: encode_short_string("SN_SEPOLIA").ok()?,
        nonce: felt(&tx["nonce"])?,
        resource_bounds: AllResourceBounds {
            l1_gas: bound("l1_gas")?,
            l2_gas: bound("l2_gas")?,
            l1_data_gas: bound("l1_data_gas")?,
        },
        tip: 0,
        paymaster_data: Vec::new(),
        account_deployment_data: Vec::new(),
        nonce_data_availability_mode: DataAvailabilityMode::L1,
        fee_data_availability_mode: DataAvailabilityMode::L1,
    };
    Some(format!("{:#x}", invoke.hash()))
}

impl HttpTransport for &'static Node {
    async fn post_json(&self, _: &str, _: &[(&str, &str)], body: String) -> Result<String, TransportError> {
        let request: Value = serde_json::from_str(&body).map_err(|e| TransportError::Failed(e.to_string()))?;
        let answer = match &request {
            Value::Array(batch) => Value::Array(batch.iter().map(|r| self.answer(r)).collect()),
            single => self.answer(single),
        };
        Ok(answer.to_string())
    }
}

fn facilitator(node: &'static Node) -> Facilitator<OfflineHost<NoHooks, &'static Node>> {
    let vars = [
        ("STARKNET_NETWORKS", "starknet-sepolia"),
        ("STARKNET_SPONSOR_ADDRESS", SPONSOR),
        ("STARKNET_SPONSOR_PRIVATE_KEY", "0x1"),
        ("STARKNET_RPC_URL_STARKNET_SEPOLIA", "http://127.0.0.1:5050"),
    ];
    let f = facilitator_on(node, &vars, NOW * 1000, NoHooks);
    assert!(f.config.problems.is_empty(), "{:?}", f.config.problems);
    f
}

/// An x402-starknet `/verify` and `/settle` body: the authorization, a signature only the account
/// judges, and the SNIP-9 v2 typed data of exactly `transfer(payTo, amount)` on USDC.
fn body(nonce: u64) -> Value {
    let felt = |text: &str| parse_felt(text).unwrap_or_default();
    let execution = OutsideExecution {
        version: OutsideExecutionVersion::V2,
        chain_id: encode_short_string("SN_SEPOLIA").unwrap_or_default(),
        caller: felt(SPONSOR),
        nonce: Felt::from(nonce),
        execute_after: 1,
        execute_before: NOW + 300,
        calls: vec![Call {
            to: felt(USDC),
            selector: selector("transfer"),
            calldata: vec![felt(PAY_TO), Felt::from(AMOUNT), Felt::ZERO],
        }],
    };
    let requirements = json!({"scheme": "exact", "network": "starknet:SN_SEPOLIA", "amount": AMOUNT.to_string(),
        "asset": USDC, "payTo": PAY_TO, "maxTimeoutSeconds": 300, "extra": {}});
    let authorization = json!({"from": PAYER, "to": PAY_TO, "amount": AMOUNT.to_string(), "token": USDC,
        "nonce": format!("{nonce:#x}"), "validUntil": "0"});
    json!({"x402Version": 2, "paymentRequirements": requirements, "paymentPayload": {"x402Version": 2,
        "accepted": requirements, "payload": {"signature": {"r": "0x1", "s": "0x2"}, "authorization": authorization},
        "typedData": execution.to_typed_data()}})
}

fn post(f: &Facilitator<OfflineHost<NoHooks, &'static Node>>, path: &str, body: &Value) -> Value {
    let text = body.to_string();
    let request = ApiRequest {
        method: "POST",
        path,
        query: "",
        authorization: None,
        client: "test",
        body: text.as_bytes(),
        request_id: "r",
    };
    let (response, _) = pollster::block_on(api::handle(f, request));
    serde_json::from_str(&response.body).unwrap_or_default()
}

#[test]
fn an_account_that_would_move_nothing_is_refused_by_the_simulation_and_nothing_is_sent() {
    let node = Node::new(Simulated::Nothing);
    let f = facilitator(node);
    let verified = post(&f, "/verify", &body(0x100));
    assert_eq!(verified["isValid"], false, "{verified}");
    assert_eq!(verified["invalidReason"], "simulation_failed", "{verified}");
    let settled = post(&f, "/settle", &body(0x100));
    assert_eq!(settled["success"], false, "{settled}");
    assert_eq!(settled["errorReason"], "simulation_failed", "{settled}");
    assert!(node.asked("starknet_simulateTransactions") >= 2, "{:?}", node.methods.borrow());
    assert!(node.sent.borrow().is_empty(), "the sponsor sent {:?}", node.sent.borrow());
}

#[test]
fn an_accepted_transaction_whose_receipt_shows_no_transfer_is_never_a_success() {
    let node = Node::new(Simulated::ThePayment);
    let f = facilitator(node);
    let payment = body(0x200);
    assert_eq!(post(&f, "/verify", &payment)["isValid"], true);
    let settled = post(&f, "/settle", &payment);
    assert_eq!(settled["success"], false, "{settled}");
    assert_eq!(settled["errorReason"], "transaction_failed", "{settled}");
    let sent = node.sent.borrow().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(settled["transaction"], sent[0], "the failure names what was sent: {settled}");
    assert_eq!(node.asked("starknet_getTransactionReceipt"), 1);
    // A retry of the same settle answers what the chain showed; nothing is sent again.
    let again = post(&f, "/settle", &payment);
    assert_eq!(again["success"], false, "{again}");
    assert_eq!(node.sent.borrow().len(), 1);
}

#[test]
fn a_broadcast_the_node_refused_leaves_the_payment_settleable() {
    let node = Node::refusing(1);
    let f = facilitator(node);
    let payment = body(0x300);
    let refused = post(&f, "/settle", &payment);
    assert_eq!(refused["success"], false, "{refused}");
    assert!(node.sent.borrow().is_empty());
    // The node takes broadcasts again: the retry signs anew and settles, once.
    let settled = post(&f, "/settle", &payment);
    assert_eq!(settled["success"], true, "{settled}");
    assert_eq!(node.sent.borrow().len(), 1);
    let again = post(&f, "/settle", &payment);
    assert_eq!(again["success"], false, "{again}");
    assert_eq!(node.sent.borrow().len(), 1, "nothing is sent for a settled payment");
}
