//! Every verify rule with a fixed clock, and the shape of the chain round trip, with an in-memory
//! JSON-RPC transport that records what it is sent.

use std::cell::RefCell;

use serde_json::{json, Value};

use super::*;
use crate::chains::jsonrpc::JsonRpcClient;
use crate::config::Settings;
use crate::ports::TransportError;
use crate::ports::{Clock, HttpTransport};
use crate::protocol::Reason;
use crate::schemes::parse_request;

/// Generous guard rails (tests that exercise them set their own).
const GAS: crate::config::GasLimits = crate::config::GasLimits {
    max_fee_per_gas_wei: 1_000_000_000_000,
    max_gas_per_settle: 300_000,
    max_gas_per_deployment: 500_000,
};

/// The spec example is signed at 1740672089..1740672154.
const SPEC_NOW: u64 = 1_740_672_100;

struct FixedClock(u64);

impl Clock for FixedClock {
    fn now_millis(&self) -> u64 {
        self.0 * 1000
    }
    async fn sleep_millis(&self, _: u64) {}
}

/// Answers every batch with `answer(method, params)` and records the requests.
struct Recording<F> {
    answer: F,
    posts: RefCell<Vec<Value>>,
}

impl<F: Fn(&str, &Value) -> Value> HttpTransport for Recording<F> {
    async fn post_json(&self, _url: &str, _: &[(&str, &str)], body: String) -> Result<String, TransportError> {
        let request: Value = serde_json::from_str(&body).unwrap();
        self.posts.borrow_mut().push(request.clone());
        let reply = |call: &Value| {
            let result = (self.answer)(call["method"].as_str().unwrap(), &call["params"]);
            if result.get("code").is_some() {
                json!({"jsonrpc": "2.0", "id": call["id"], "error": result})
            } else {
                json!({"jsonrpc": "2.0", "id": call["id"], "result": result})
            }
        };
        Ok(match &request {
            Value::Array(calls) => Value::Array(calls.iter().map(reply).collect()),
            call => reply(call),
        }
        .to_string())
    }
}

fn spec_request() -> Value {
    let examples: Value = serde_json::from_str(include_str!("../../../tests/vectors/api-examples.json")).unwrap();
    examples["coinbase_v2"]["POST /verify request"].clone()
}

fn abi_word(n: u64) -> String {
    format!("0x{n:064x}")
}

fn abi_string(s: &str) -> String {
    use alloy_sol_types::SolValue;
    format!("0x{}", hex::encode(s.to_string().abi_encode()))
}

/// A chain where the simulation reverts and the token reads as given.
fn chain(simulation_ok: bool, used: bool, balance: u64, name: &'static str) -> impl Fn(&str, &Value) -> Value {
    token_chain(simulation_ok, used, balance, name, true)
}

/// Multicall3 `aggregate3` over the token of [`token_chain`]: the payer holds `balance` plus the value,
/// everyone else nothing, and a transfer that succeeds moves its value only when the token `moves` anything.
fn aggregate3(params: &Value, simulation_ok: bool, moves: bool, balance: u64) -> Value {
    use crate::chains::evm::contracts::{IEip3009Token as Token, IMulticall3};
    use alloy_sol_types::{SolCall, SolValue};
    let data = hex::decode(&params[0]["data"].as_str().unwrap()[2..]).unwrap();
    let calls = IMulticall3::aggregate3Call::abi_decode(&data).unwrap().calls;
    let transfer = |c: &IMulticall3::Call3| {
        let eoa = Token::transferWithAuthorization_0Call::abi_decode(&c.callData).map(|t| (t.from, t.value));
        eoa.or_else(|_| Token::transferWithAuthorization_1Call::abi_decode(&c.callData).map(|t| (t.from, t.value)))
    };
    let (payer, value) = calls.iter().find_map(|c| transfer(c).ok()).unwrap();
    let mut moved = alloy_primitives::U256::ZERO;
    let mut answer = |c: &IMulticall3::Call3| {
        if let Ok(read) = Token::balanceOfCall::abi_decode(&c.callData) {
            let held =
                if read.account == payer { alloy_primitives::U256::from(balance) + value - moved } else { moved };
            return IMulticall3::Result { success: true, returnData: held.abi_encode().into() };
        }
        if simulation_ok && moves {
            moved = value;
        }
        IMulticall3::Result { success: simulation_ok, returnData: Default::default() }
    };
    let results: Vec<IMulticall3::Result> = calls.iter().map(&mut answer).collect();
    json!(format!("0x{}", hex::encode(results.abi_encode())))
}

/// [`chain`] whose token, when `moves` is false, answers success without moving anything.
fn token_chain(
    simulation_ok: bool,
    used: bool,
    balance: u64,
    name: &'static str,
    moves: bool,
) -> impl Fn(&str, &Value) -> Value {
    move |method, params| match method {
        "eth_chainId" => json!("0x14a34"),
        "eth_call" if params[0]["to"] == json!(crate::chains::evm::contracts::MULTICALL3) => {
            aggregate3(params, simulation_ok, moves, balance)
        }
        // The payer is an EOA: no code, and calls to it return nothing.
        "eth_getCode" => json!("0x"),
        "eth_call" if params[0]["data"].as_str().unwrap().starts_with("0x1626ba7e") => json!("0x"),
        "eth_call" => {
            let data = params[0]["data"].as_str().unwrap();
            match &data[..10] {
                "0xe3ee160e" | "0xcf092995" if simulation_ok => json!("0x"),
                "0xe3ee160e" | "0xcf092995" => json!({"code": 3, "message": "execution reverted", "data": "0x"}),
                "0xe94a0102" => json!(abi_word(used as u64)),
                "0x70a08231" => json!(abi_word(balance)),
                "0x06fdde03" => json!(abi_string(name)),
                "0x54fd4d50" => json!(abi_string("2")),
                other => panic!("unexpected call {other}"),
            }
        }
        other => panic!("unexpected method {other}"),
    }
}

async fn run<F: Fn(&str, &Value) -> Value>(
    body: &Value,
    now: u64,
    transport: &Recording<F>,
) -> Result<Verified, ExactEvmError> {
    let request = parse_request(body.to_string().as_bytes()).unwrap();
    let clock = FixedClock(now);
    let urls = ["http://127.0.0.1:1".to_string()];
    let ctx = EvmContext {
        network: request.network,
        rpc: JsonRpcClient::new(transport, &clock, &urls),
        clock: &clock,
        settings: Settings { receipt_timeout_secs: 1, rpc_timeout_ms: 1000, fee_bump_after_secs: 1 },
        gas: GAS,
        facilitator: None,
        allowed_factories: &[],
    };
    verify(&ctx, &request, eip3009(&request)).await
}

fn verify_with(body: &Value, now: u64, chain: impl Fn(&str, &Value) -> Value) -> Result<Verified, ExactEvmError> {
    let transport = Recording { answer: chain, posts: RefCell::new(Vec::new()) };
    pollster::block_on(run(body, now, &transport))
}

fn reason(body: &Value, now: u64) -> Reason {
    verify_with(body, now, chain(true, false, 1_000_000, "USDC")).unwrap_err().reason()
}

#[test]
fn the_spec_example_verifies_in_one_batched_round_trip() {
    let transport = Recording { answer: chain(true, false, 1_000_000, "USDC"), posts: RefCell::new(Vec::new()) };
    let verified = pollster::block_on(run(&spec_request(), SPEC_NOW, &transport)).unwrap();
    assert_eq!(verified.payer.to_checksum(None), "0x857b06519E91e3A54538791bDbb0E22373e36b66");
    let posts = transport.posts.borrow();
    assert_eq!(posts.len(), 1, "one HTTP request");
    let methods: Vec<_> = posts[0].as_array().unwrap().iter().map(|c| c["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["eth_chainId", "eth_call", "eth_call", "eth_call", "eth_call", "eth_call", "eth_call"]);
    let probe = &posts[0][6]["params"][0];
    assert_eq!(probe["to"], json!(crate::chains::evm::contracts::MULTICALL3), "the value probe");
}

#[test]
fn each_pure_rule_returns_its_reason() {
    let good = spec_request();
    let mut b = good.clone();
    b["paymentRequirements"]["extra"] = json!({});
    assert_eq!(reason(&b, SPEC_NOW), Reason::EvmMissingEip712Domain);

    let mut b = good.clone();
    b["paymentPayload"]["accepted"]["scheme"] = json!("upto");
    assert_eq!(reason(&b, SPEC_NOW), Reason::EvmSchemeMismatch);

    let mut b = good.clone();
    b["paymentPayload"]["accepted"]["network"] = json!("eip155:8453");
    assert_eq!(reason(&b, SPEC_NOW), Reason::EvmNetworkMismatch);

    // The spec's own note: a different domain name makes the signature recover to someone else.
    let mut b = good.clone();
    b["paymentRequirements"]["extra"]["name"] = json!("USD Coin");
    assert_eq!(reason(&b, SPEC_NOW), Reason::EvmSignature);

    let mut b = good.clone();
    b["paymentRequirements"]["payTo"] = json!("0x0000000000000000000000000000000000000001");
    assert_eq!(reason(&b, SPEC_NOW), Reason::EvmRecipientMismatch);

    // validBefore = 1740672154: valid until now + 6 (the network's margin, Base Sepolia's) reaches it.
    assert!(verify_with(&good, 1_740_672_148, chain(true, false, 1, "USDC")).is_ok());
    assert_eq!(reason(&good, 1_740_672_149), Reason::EvmValidBefore);
    // On a chain of 12 s blocks the margin is two blocks.
    let authorization = crate::chains::evm::eip3009::Eip3009Authorization {
        from: alloy_primitives::Address::ZERO,
        to: alloy_primitives::Address::ZERO,
        value: alloy_primitives::U256::ZERO,
        valid_after: alloy_primitives::U256::ZERO,
        valid_before: alloy_primitives::U256::from(1_740_672_154u64),
        nonce: alloy_primitives::B256::ZERO,
    };
    let sepolia = crate::network::find("sepolia").map_or(0, crate::network::Network::expiry_margin_secs);
    assert!(super::checks::check_valid_before(&authorization, 1_740_672_130, sepolia).is_ok());
    assert!(super::checks::check_valid_before(&authorization, 1_740_672_131, sepolia).is_err());
    // validAfter = 1740672089.
    assert!(verify_with(&good, 1_740_672_089, chain(true, false, 1, "USDC")).is_ok());
    assert_eq!(reason(&good, 1_740_672_088), Reason::EvmValidAfter);

    let mut b = good.clone();
    b["paymentRequirements"]["amount"] = json!("10001");
    assert_eq!(reason(&b, SPEC_NOW), Reason::EvmValueMismatch);
    b["paymentRequirements"]["amount"] = json!("9999");
    assert_eq!(reason(&b, SPEC_NOW), Reason::EvmValueMismatch);
}

#[test]
fn signatures_must_be_low_s_65_byte_eoa_signatures() {
    let good = spec_request();
    let signature = good["paymentPayload"]["payload"]["signature"].as_str().unwrap().to_string();
    let mut bytes = hex::decode(&signature[2..]).unwrap();

    // The malleable twin (n - s, flipped v) recovers the same key, but USDC refuses it and so do we.
    let n =
        alloy_primitives::U256::from_str_radix("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)
            .unwrap();
    let s = alloy_primitives::U256::from_be_slice(&bytes[32..64]);
    let mut twin = bytes.clone();
    twin[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    twin[64] = if bytes[64] == 27 { 28 } else { 27 };
    let mut b = good.clone();
    b["paymentPayload"]["payload"]["signature"] = json!(format!("0x{}", hex::encode(&twin)));
    let error = verify_with(&b, SPEC_NOW, chain(true, false, 1, "USDC")).unwrap_err();
    assert_eq!(error, ExactEvmError::MalformedSignature(crate::chains::evm::signature::SignatureError::HighS));

    // v as 0/1 is accepted like 27/28.
    bytes[64] -= 27;
    let mut b = good.clone();
    b["paymentPayload"]["payload"]["signature"] = json!(format!("0x{}", hex::encode(&bytes)));
    assert!(verify_with(&b, SPEC_NOW, chain(true, false, 1, "USDC")).is_ok());

    for bad in ["0x", "0x1234", &signature[..130]] {
        let mut b = good.clone();
        b["paymentPayload"]["payload"]["signature"] = json!(bad);
        assert_eq!(reason(&b, SPEC_NOW), Reason::EvmSignature, "{bad}");
    }
    // A signature that ends in the ERC-6492 suffix without the wrapper gets a clear reason, not a panic.
    let mut b = good.clone();
    b["paymentPayload"]["payload"]["signature"] = json!(format!("{signature}{}", "64926492".repeat(8)));
    let error = verify_with(&b, SPEC_NOW, chain(true, false, 1, "USDC")).unwrap_err();
    assert_eq!(error, ExactEvmError::MalformedSignature(crate::chains::evm::signature::SignatureError::Erc6492Wrapper));
    assert_eq!(error.reason(), Reason::EvmSignature);
}

#[test]
fn a_failed_simulation_is_diagnosed_in_the_reference_order() {
    let good = spec_request();
    let diagnose =
        |used, balance, name| verify_with(&good, SPEC_NOW, chain(false, used, balance, name)).unwrap_err().reason();
    assert_eq!(diagnose(true, 0, "Other"), Reason::EvmNonceAlreadyUsed);
    assert_eq!(diagnose(false, 0, "Other"), Reason::EvmTokenNameMismatch);
    assert_eq!(diagnose(false, 0, "USDC"), Reason::EvmInsufficientBalance);
    assert_eq!(diagnose(false, 10_000, "USDC"), Reason::EvmSimulationFailed);
}

#[test]
fn a_token_that_answers_success_without_moving_the_value_is_refused_after_the_simulation() {
    let good = spec_request();
    let error = verify_with(&good, SPEC_NOW, token_chain(true, false, 1_000_000, "USDC", false)).unwrap_err();
    assert!(matches!(error, ExactEvmError::ValueNotMoved(_)), "{error:?}");
    assert_eq!(error.reason(), Reason::EvmTransferMismatch);
    assert_eq!(error.reason().code(crate::protocol::model::Version::V2), "invalid_exact_evm_transfer_event_mismatch");
    // A failed simulation keeps the reference's diagnosis: the value check comes after it.
    let failed = verify_with(&good, SPEC_NOW, token_chain(false, false, 0, "USDC", false)).unwrap_err();
    assert_eq!(failed.reason(), Reason::EvmInsufficientBalance);
    // No Multicall3 on the chain: the call "succeeds" with nothing, and nothing is proven.
    let no_multicall = |method: &str, params: &Value| match method {
        "eth_call" if params[0]["to"] == json!(crate::chains::evm::contracts::MULTICALL3) => json!("0x"),
        _ => chain(true, false, 1_000_000, "USDC")(method, params),
    };
    let error = verify_with(&good, SPEC_NOW, no_multicall).unwrap_err();
    assert!(matches!(&error, ExactEvmError::ValueNotMoved(m) if m.contains("Multicall3")), "{error:?}");
}

#[test]
fn an_rpc_for_the_wrong_chain_is_an_error_not_a_pass() {
    let wrong = |method: &str, params: &Value| match method {
        "eth_chainId" => json!("0x1"),
        _ => chain(true, false, 1, "USDC")(method, params),
    };
    let error = verify_with(&spec_request(), SPEC_NOW, wrong).unwrap_err();
    assert_eq!(error, ExactEvmError::WrongChain { expected: 84532, actual: 1 });
    assert_eq!(error.reason(), Reason::UnexpectedVerifyError);
}

#[test]
fn a_dead_rpc_is_an_unexpected_error() {
    struct Dead;
    impl HttpTransport for Dead {
        async fn post_json(&self, _: &str, _: &[(&str, &str)], _: String) -> Result<String, TransportError> {
            Err(TransportError::Timeout)
        }
    }
    let request = parse_request(spec_request().to_string().as_bytes()).unwrap();
    let clock = FixedClock(SPEC_NOW);
    let urls = ["http://127.0.0.1:1".to_string()];
    let ctx = EvmContext {
        network: request.network,
        rpc: JsonRpcClient::new(&Dead, &clock, &urls),
        clock: &clock,
        settings: Settings { receipt_timeout_secs: 1, rpc_timeout_ms: 1000, fee_bump_after_secs: 1 },
        gas: GAS,
        facilitator: None,
        allowed_factories: &[],
    };
    let error = pollster::block_on(verify(&ctx, &request, eip3009(&request))).unwrap_err();
    assert_eq!(error.reason(), Reason::UnexpectedVerifyError);
}

#[test]
fn the_spec_digest_matches_the_vector() {
    let vector: Value =
        serde_json::from_str(include_str!("../../../tests/vectors/exact-evm-eip3009-spec-example.json")).unwrap();
    let request = parse_request(spec_request().to_string().as_bytes()).unwrap();
    let crate::schemes::Payload::Eip3009(p) = &request.payload else { panic!("an EIP-3009 payload") };
    for case in vector["domainCases"].as_array().unwrap() {
        let d = &case["domain"];
        let asset = crate::protocol::normalize::parse_evm_address(d["verifyingContract"].as_str().unwrap()).unwrap();
        let digest = authorization_digest(
            &p.authorization,
            d["name"].as_str().unwrap(),
            d["version"].as_str().unwrap(),
            d["chainId"].as_u64().unwrap(),
            asset,
        );
        assert_eq!(digest.to_string(), case["eip712Digest"].as_str().unwrap());
        let signature = crate::chains::evm::signature::EcdsaSignature::parse(&p.signature).unwrap();
        let recovered = signature.recover(&digest).unwrap();
        assert_eq!(recovered.to_checksum(None), case["recovered"].as_str().unwrap());
    }
}

#[test]
fn generated_signatures_recover_to_anvil_account_zero() {
    let vectors: Value =
        serde_json::from_str(include_str!("../../../tests/vectors/generated-evm-signatures.json")).unwrap();
    for case in vectors["eip3009"].as_array().unwrap() {
        let d = &case["domain"];
        let body = json!({"paymentPayload": case["v2PaymentPayload"], "paymentRequirements": case["v2PaymentPayload"]["accepted"]});
        let request = parse_request(body.to_string().as_bytes()).unwrap();
        let crate::schemes::Payload::Eip3009(p) = &request.payload else { panic!("an EIP-3009 payload") };
        let asset = crate::protocol::normalize::parse_evm_address(d["verifyingContract"].as_str().unwrap()).unwrap();
        let digest = authorization_digest(
            &p.authorization,
            d["name"].as_str().unwrap(),
            d["version"].as_str().unwrap(),
            d["chainId"].as_u64().unwrap(),
            asset,
        );
        assert_eq!(digest.to_string(), case["eip712Digest"].as_str().unwrap(), "{}", case["network"]);
        let recovered =
            crate::chains::evm::signature::EcdsaSignature::parse(&p.signature).unwrap().recover(&digest).unwrap();
        assert_eq!(recovered.to_checksum(None), vectors["address"].as_str().unwrap());
    }
}

#[test]
fn an_asset_without_eip3009_is_refused_even_when_the_call_succeeds() {
    // Calls to an address without code succeed with empty output.
    let no_code = |method: &str, _: &Value| match method {
        "eth_chainId" => json!("0x14a34"),
        _ => json!("0x"),
    };
    assert_eq!(verify_with(&spec_request(), SPEC_NOW, no_code).unwrap_err(), ExactEvmError::Eip3009NotSupported);
}

/// A chain for settles: the verify reads of `chain(true, …)`, plus nonce, block, fees and gas; it
/// records every raw transaction sent and mines it at once; with `sync` it has EIP-7966's
/// synchronous send.
fn settle_chain<'s>(
    base_fee: Option<&'static str>,
    sync: bool,
    sent: &'s RefCell<Vec<String>>,
) -> impl Fn(&str, &Value) -> Value + 's {
    move |method, params| match method {
        "eth_getTransactionCount" => json!("0x5"),
        "eth_getBlockByNumber" => match base_fee {
            Some(fee) => json!({"number": "0x10", "baseFeePerGas": fee}),
            None => json!({"number": "0x10"}),
        },
        "eth_maxPriorityFeePerGas" => json!("0x3b9aca00"),
        "eth_gasPrice" => json!("0x77359400"),
        "eth_estimateGas" => json!("0x186a0"),
        "eth_sendRawTransaction" => {
            sent.borrow_mut().push(params[0].as_str().unwrap().to_string());
            json!("0x")
        }
        "eth_sendRawTransactionSync" if !sync => json!({"code": -32601, "message": "Method not found"}),
        "eth_sendRawTransactionSync" => {
            sent.borrow_mut().push(params[0].as_str().unwrap().to_string());
            json!({"status": "0x1", "blockNumber": "0x11"})
        }
        "eth_getTransactionReceipt" => json!({"status": "0x1", "blockNumber": "0x11"}),
        _ => chain(true, false, 1_000_000, "USDC")(method, params),
    }
}

fn settle_with(base_fee: Option<&'static str>) -> (Result<Settlement, ExactEvmError>, Vec<String>, usize) {
    settle_with_limits(base_fee, GAS)
}

fn settle_with_limits(
    base_fee: Option<&'static str>,
    gas: crate::config::GasLimits,
) -> (Result<Settlement, ExactEvmError>, Vec<String>, usize) {
    settle_on(base_fee, gas, true)
}

/// A settle on [`settle_chain`]: its result, the raw transactions the node took, the round trips.
fn settle_on(
    base_fee: Option<&'static str>,
    gas: crate::config::GasLimits,
    sync: bool,
) -> (Result<Settlement, ExactEvmError>, Vec<String>, usize) {
    use crate::chains::evm::signer::LocalEvmSigner;
    let sent = RefCell::new(Vec::new());
    let transport = Recording { answer: settle_chain(base_fee, sync, &sent), posts: RefCell::new(Vec::new()) };
    let request = parse_request(spec_request().to_string().as_bytes()).unwrap();
    let clock = FixedClock(SPEC_NOW);
    let urls = ["http://127.0.0.1:1".to_string()];
    let signer =
        LocalEvmSigner::from_hex("0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6").unwrap();
    let ctx = EvmContext {
        network: request.network,
        rpc: JsonRpcClient::new(&transport, &clock, &urls),
        clock: &clock,
        settings: Settings { receipt_timeout_secs: 1, rpc_timeout_ms: 1000, fee_bump_after_secs: 1 },
        gas,
        facilitator: None,
        allowed_factories: &[],
    };
    let sender = crate::chains::evm::sender::NonceManagedSender::new(Some(1_000));
    let ledger = crate::ledger::MemoryLedger::default();
    let journal = crate::ledger::LedgerJournal { ledger: &ledger, key: Some("payment") };
    let result = pollster::block_on(settle(&ctx, &signer, &sender, &journal, &request, eip3009(&request)));
    let posts = transport.posts.borrow().len();
    drop(transport);
    (result, sent.into_inner(), posts)
}

fn decode(raw: &str) -> alloy_consensus::TxEnvelope {
    use alloy_eips::eip2718::Decodable2718;
    alloy_consensus::TxEnvelope::decode_2718(&mut hex::decode(&raw[2..]).unwrap().as_slice()).unwrap()
}

#[test]
fn a_node_without_the_synchronous_send_gets_a_plain_one_and_is_polled() {
    let (result, sent, posts) = settle_on(Some("0x3b9aca00"), GAS, false);
    let settlement = result.unwrap();
    assert_eq!(sent.len(), 1, "one transaction, sent once");
    assert_eq!(*decode(&sent[0]).tx_hash(), settlement.transaction);
    // Reads, pending nonce, the refused synchronous send, the plain send, one receipt poll.
    assert_eq!(posts, 5);
}

#[test]
fn settle_sends_one_eip1559_transaction_with_fees_from_the_block() {
    use alloy_consensus::Transaction;
    let (result, sent, posts) = settle_with(Some("0x3b9aca00"));
    let settlement = result.unwrap();
    assert_eq!(sent.len(), 1);
    // One batch of reads, the pending nonce (once per signer), one send answered with the receipt.
    assert_eq!(posts, 3);
    let tx = decode(&sent[0]);
    assert_eq!(*tx.tx_hash(), settlement.transaction);
    assert!(!tx.is_legacy());
    assert_eq!(tx.nonce(), 5);
    assert_eq!(tx.gas_limit(), 125_000, "estimate plus 25 %");
    assert_eq!(tx.max_fee_per_gas(), 3_000_000_000, "2 × base fee + tip");
    assert_eq!(tx.max_priority_fee_per_gas(), Some(1_000_000_000));
    assert_eq!(settlement.block_number, Some(0x11));
}

#[test]
fn settle_uses_a_legacy_transaction_where_the_chain_has_no_base_fee() {
    use alloy_consensus::Transaction;
    let (result, sent, _) = settle_with(None);
    assert!(result.is_ok());
    let tx = decode(&sent[0]);
    assert!(tx.is_legacy());
    assert_eq!(tx.gas_price(), Some(2_000_000_000));
}

#[test]
fn a_settle_above_the_gas_ceilings_sends_nothing() {
    // Base fee 1 gwei, tip 1 gwei: max fee 3 gwei; the estimate is 100,000 gas (125,000 with margin).
    let low_price = crate::config::GasLimits {
        max_fee_per_gas_wei: 2_999_999_999,
        max_gas_per_settle: 300_000,
        max_gas_per_deployment: 500_000,
    };
    let (result, sent, _) = settle_with_limits(Some("0x3b9aca00"), low_price);
    assert!(matches!(result, Err(ExactEvmError::GasPriceAboveCeiling { max_fee_per_gas: 3_000_000_000, .. })));
    assert_eq!(result.unwrap_err().reason(), crate::protocol::Reason::GasCeilingExceeded);
    assert!(sent.is_empty());

    let low_gas = crate::config::GasLimits {
        max_fee_per_gas_wei: 3_000_000_000,
        max_gas_per_settle: 124_999,
        max_gas_per_deployment: 500_000,
    };
    let (result, sent, _) = settle_with_limits(Some("0x3b9aca00"), low_gas);
    assert!(matches!(result, Err(ExactEvmError::GasAboveCeiling { gas_limit: 125_000, .. })));
    assert!(sent.is_empty());

    let exact = crate::config::GasLimits {
        max_fee_per_gas_wei: 3_000_000_000,
        max_gas_per_settle: 125_000,
        max_gas_per_deployment: 500_000,
    };
    assert!(settle_with_limits(Some("0x3b9aca00"), exact).0.is_ok());
}

/// The EIP-3009 payload of a request the registry decoded.
fn eip3009(request: &crate::schemes::PaymentRequest) -> &super::Eip3009Payload {
    match &request.payload {
        crate::schemes::Payload::Eip3009(p) => p,
        other => panic!("an EIP-3009 payload, not {other:?}"),
    }
}
