//! Starknet `exact` natively against starknet-devnet 0.10.1 (real Cairo accounts and STRK token): a
//! predeployed account signs a SNIP-9 v2 outside execution (signed here with the Rust STARK ECDSA;
//! starknet.js signs them in the end-to-end test), the facilitator verifies it by asking the account
//! and settles it from its sponsor account; balances read from the chain prove it. Then every way the
//! binding can be broken.
//!
//! The devnet binary: `STARKNET_DEVNET_BIN` (scripts/test.sh sets it), else the one
//! `scripts/lib/starknet-devnet.mjs` unpacked into `node_modules/.cache`, else `starknet-devnet` on PATH.
#![cfg(feature = "starknet")]

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use x402_edge::chains::starknet::{message_hash, parse_felt, selector, StarkKey};

use common::{now_secs, rpc, Facility};

const STRK: &str = "0x4718f5a0fc34cc1af16a1cdee98ffb20c31f5cd61d6ab07201858f4287c938d";
const NETWORK: &str = "starknet:SN_SEPOLIA";

struct Devnet {
    child: Child,
    url: String,
    accounts: Vec<(String, String)>,
}

impl Devnet {
    /// A devnet that mines a block per transaction.
    fn start() -> Devnet {
        Devnet::start_with(&[])
    }

    /// A devnet started with more `starknet-devnet` flags.
    fn start_with(flags: &[&str]) -> Devnet {
        let cached = common::root().join("node_modules/.cache/x402-edge/starknet-devnet-0.10.1/starknet-devnet");
        let fallback = if cached.exists() { cached.to_string_lossy().into_owned() } else { "starknet-devnet".into() };
        let bin = std::env::var("STARKNET_DEVNET_BIN").unwrap_or(fallback);
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--seed", "0"])
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{bin}: {e} (set STARKNET_DEVNET_BIN; scripts/test.sh does)"));
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "starknet_chainId", "params": []}).to_string();
        while ureq::post(&url).header("content-type", "application/json").send(&body).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "starknet-devnet did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let accounts = rpc(&url, "devnet_getPredeployedAccounts", json!({}))
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["address"].as_str().unwrap().to_string(), a["private_key"].as_str().unwrap().to_string()))
            .collect();
        Devnet { child, url, accounts }
    }

    fn strk(&self, owner: &str) -> u128 {
        let request = json!({"contract_address": STRK, "entry_point_selector": format!("{:#x}", selector("balance_of")), "calldata": [owner]});
        let result = rpc(&self.url, "starknet_call", json!({"request": request, "block_id": "latest"}));
        let low = parse_felt(result[0].as_str().unwrap()).unwrap();
        u128::from_str_radix(&format!("{low:x}"), 16).unwrap()
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A SNIP-9 v2 outside execution of `calls`, as starknet.js builds it.
fn typed_data(caller: &str, nonce: &str, after: u64, before: u64, calls: Vec<Value>) -> Value {
    json!({
        "types": {
            "StarknetDomain": [
                {"name": "name", "type": "shortstring"}, {"name": "version", "type": "shortstring"},
                {"name": "chainId", "type": "shortstring"}, {"name": "revision", "type": "shortstring"}],
            "OutsideExecution": [
                {"name": "Caller", "type": "ContractAddress"}, {"name": "Nonce", "type": "felt"},
                {"name": "Execute After", "type": "u128"}, {"name": "Execute Before", "type": "u128"},
                {"name": "Calls", "type": "Call*"}],
            "Call": [
                {"name": "To", "type": "ContractAddress"}, {"name": "Selector", "type": "selector"},
                {"name": "Calldata", "type": "felt*"}],
        },
        "primaryType": "OutsideExecution",
        "domain": {"name": "Account.execute_from_outside", "version": "2", "chainId": "SN_SEPOLIA", "revision": "1"},
        "message": {"Caller": caller, "Nonce": nonce, "Execute After": after, "Execute Before": before, "Calls": calls},
    })
}

fn transfer(token: &str, to: &str, amount: u128) -> Value {
    json!({"To": token, "Selector": "transfer", "Calldata": [to, format!("{amount:#x}"), "0x0"]})
}

struct Payment {
    payer: (String, String),
    pay_to: String,
    amount: u128,
    caller: String,
    nonce: String,
    window: (u64, u64),
    calls: Option<Vec<Value>>,
}

impl Payment {
    fn new(devnet: &Devnet, amount: u128, nonce: u64) -> Payment {
        let now = now_secs();
        Payment {
            payer: devnet.accounts[0].clone(),
            pay_to: devnet.accounts[2].0.clone(),
            amount,
            caller: "0x414e595f43414c4c4552".into(), // 'ANY_CALLER'
            nonce: format!("{:#x}", 0xabc000 + nonce),
            window: (now - 60, now + 300),
            calls: None,
        }
    }

    fn requirements(&self) -> Value {
        json!({"scheme": "exact", "network": NETWORK, "amount": self.amount.to_string(), "asset": STRK,
            "payTo": self.pay_to, "maxTimeoutSeconds": 300})
    }

    /// The `/verify` and `/settle` body, signed by the payer's key (or `signer`).
    fn body_signed_by(&self, signer: &str) -> Value {
        let calls = self.calls.clone().unwrap_or_else(|| vec![transfer(STRK, &self.pay_to, self.amount)]);
        let typed = typed_data(&self.caller, &self.nonce, self.window.0, self.window.1, calls);
        let account = parse_felt(&self.payer.0).unwrap();
        let hash = message_hash(&typed, account).unwrap();
        let signature = StarkKey::from_text(signer).unwrap().sign(&hash).unwrap();
        let requirements = self.requirements();
        json!({
            "x402Version": 2,
            "paymentPayload": {
                "x402Version": 2,
                "accepted": requirements,
                "payload": {
                    "signature": {"r": format!("{:#x}", signature.r), "s": format!("{:#x}", signature.s)},
                    "authorization": {"from": self.payer.0, "to": self.pay_to, "amount": self.amount.to_string(),
                        "token": STRK, "nonce": self.nonce, "validUntil": self.window.1.to_string()},
                },
                "typedData": typed,
            },
            "paymentRequirements": requirements,
        })
    }

    fn body(&self) -> Value {
        self.body_signed_by(&self.payer.1)
    }

    /// The same payment in the registered spec's dialect: `{from, outsideExecution: {typedData,
    /// signature: [felts]}}`, the requirements naming `fee_payer` (the facilitator's sponsor) in
    /// `extra.feePayer`, signed by `signer`. The caller, window and calls are the payment's.
    fn spec_body_signed_by(&self, fee_payer: &str, signer: &str) -> Value {
        let calls = self.calls.clone().unwrap_or_else(|| vec![transfer(STRK, &self.pay_to, self.amount)]);
        let typed = typed_data(&self.caller, &self.nonce, self.window.0, self.window.1, calls);
        let hash = message_hash(&typed, parse_felt(&self.payer.0).unwrap()).unwrap();
        let signature = StarkKey::from_text(signer).unwrap().sign(&hash).unwrap();
        let mut requirements = self.requirements();
        requirements["extra"] = json!({"feePayer": fee_payer});
        json!({
            "x402Version": 2,
            "paymentPayload": {"x402Version": 2, "accepted": requirements, "payload": {
                "from": self.payer.0,
                "outsideExecution": {"typedData": typed,
                    "signature": [format!("{:#x}", signature.r), format!("{:#x}", signature.s)]},
            }},
            "paymentRequirements": requirements,
        })
    }
}

/// A payment in the spec's dialect as its clients make it: `Caller` the facilitator's sponsor
/// (`extra.feePayer`), `Execute After` long past, `Execute Before` now + maxTimeoutSeconds (300).
fn spec_payment(devnet: &Devnet, amount: u128, nonce: u64) -> Payment {
    let mut payment = Payment::new(devnet, amount, nonce);
    payment.caller = devnet.accounts[1].0.clone();
    payment.window = (1, now_secs() + 300);
    payment
}

fn spec_body(devnet: &Devnet, payment: &Payment) -> Value {
    payment.spec_body_signed_by(&devnet.accounts[1].0, &payment.payer.1)
}

fn facility(devnet: &Devnet) -> Facility {
    facility_with(devnet, &[])
}

/// The devnet's facilitator (account 1 sponsors, STRK allowlisted) with more variables (later ones win).
fn facility_with(devnet: &Devnet, extra: &[(&'static str, &str)]) -> Facility {
    let (sponsor, key) = &devnet.accounts[1];
    let mut vars = vec![
        ("STARKNET_NETWORKS", "starknet-sepolia"),
        ("STARKNET_RPC_URL_STARKNET_SEPOLIA", devnet.url.as_str()),
        ("STARKNET_SPONSOR_ADDRESS", sponsor.as_str()),
        ("STARKNET_SPONSOR_PRIVATE_KEY", key.as_str()),
        ("ASSET_ALLOWLIST_STARKNET_SEPOLIA", STRK),
    ];
    vars.extend_from_slice(extra);
    Facility::with_vars("http://127.0.0.1:9", &vars)
}

#[test]
fn a_signed_outside_execution_verifies_settles_once_and_is_refused_again() {
    let devnet = Devnet::start();
    let f = facility(&devnet);
    let payment = Payment::new(&devnet, 1_234_567, 1);
    let body = payment.body();

    let (_, verified) = f.post("/verify", &body);
    assert_eq!(verified["isValid"], true, "{verified}");
    assert_eq!(parse_felt(verified["payer"].as_str().unwrap()).unwrap(), parse_felt(&payment.payer.0).unwrap());

    let (payer0, payee0) = (devnet.strk(&payment.payer.0), devnet.strk(&payment.pay_to));
    let (_, settled) = f.post("/settle", &body);
    assert_eq!(settled["success"], true, "{settled}");
    assert_eq!(settled["network"], NETWORK);
    let hash = settled["transaction"].as_str().unwrap();
    let receipt = rpc(&devnet.url, "starknet_getTransactionReceipt", json!({"transaction_hash": hash}));
    assert_eq!(receipt["execution_status"], "SUCCEEDED", "{receipt}");
    assert_eq!(devnet.strk(&payment.pay_to) - payee0, 1_234_567, "payTo received exactly the amount");
    assert_eq!(payer0 - devnet.strk(&payment.payer.0), 1_234_567, "the payer paid exactly the amount, no fee");

    let (_, replay) = f.post("/settle", &body);
    assert_eq!(replay["success"], false, "exactly one settle answers success: {replay}");
    assert_eq!(replay["errorReason"], "invalid_exact_starknet_payload_nonce_used", "{replay}");
    assert_eq!(replay["transaction"], settled["transaction"]);
    assert_eq!(devnet.strk(&payment.pay_to) - payee0, 1_234_567, "nothing moved twice");
    let (_, reverify) = f.post("/verify", &body);
    assert_eq!(reverify["invalidReason"], "invalid_exact_starknet_payload_nonce_used", "{reverify}");
    // A second facilitator (another isolate, no shared ledger) cannot pay it twice either: the account refuses.
    let (_, elsewhere) = facility(&devnet).post("/settle", &body);
    assert_eq!(elsewhere["success"], false, "{elsewhere}");
    assert_eq!(devnet.strk(&payment.pay_to) - payee0, 1_234_567);
}

#[test]
fn every_broken_binding_is_refused_with_its_code_and_nothing_moves() {
    let devnet = Devnet::start();
    let f = facility(&devnet);
    let stranger = devnet.accounts[3].clone();
    let mut cases: Vec<(&str, Payment, Option<String>)> = Vec::new();
    let base = |n| Payment::new(&devnet, 5_000, n);

    let p = base(10);
    cases.push(("invalid_exact_starknet_payload_signature", p, Some(stranger.1.clone())));
    let mut p = base(11);
    p.caller = stranger.0.clone();
    cases.push(("invalid_payload", p, None));
    let mut p = base(12);
    p.window = (now_secs() - 600, now_secs() - 1);
    cases.push(("invalid_exact_starknet_payload_authorization_valid_until", p, None));
    let mut p = base(13);
    p.calls = Some(vec![transfer(STRK, &p.pay_to, 5_000), transfer(STRK, &stranger.0, 1)]);
    cases.push(("invalid_payload", p, None));
    let mut p = base(14);
    p.calls = Some(vec![transfer(STRK, &stranger.0, 5_000)]);
    cases.push(("invalid_exact_starknet_payload_recipient_mismatch", p, None));
    let mut p = base(15);
    p.calls = Some(vec![transfer(STRK, &p.pay_to, 50_000)]);
    cases.push(("invalid_exact_starknet_payload_authorization_value", p, None));
    let mut p = base(16);
    p.calls =
        Some(vec![transfer("0x49d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7", &p.pay_to, 5_000)]);
    cases.push(("invalid_exact_starknet_payload_token_mismatch", p, None));
    let mut p = base(17);
    p.amount = 10u128.pow(30);
    cases.push(("insufficient_funds", p, None));

    for (code, payment, signer) in &cases {
        let body = payment.body_signed_by(signer.as_deref().unwrap_or(&payment.payer.1));
        let payee0 = devnet.strk(&payment.pay_to);
        let (_, verified) = f.post("/verify", &body);
        assert_eq!(verified["invalidReason"], *code, "{verified}");
        let (_, settled) = f.post("/settle", &body);
        assert_eq!(
            (settled["success"].as_bool(), settled["errorReason"].as_str()),
            (Some(false), Some(*code)),
            "{settled}"
        );
        assert_eq!(settled["transaction"], "");
        assert_eq!(devnet.strk(&payment.pay_to), payee0, "{code}: nothing moved");
    }
}

#[test]
fn an_rpc_that_fails_is_an_error_never_a_pass() {
    let devnet = Devnet::start();
    let body = Payment::new(&devnet, 1_000, 30).body();
    let dead = facility_with(&devnet, &[("STARKNET_RPC_URL_STARKNET_SEPOLIA", "http://127.0.0.1:9")]);
    let (_, verified) = dead.post("/verify", &body);
    assert_eq!(
        (verified["isValid"].as_bool(), verified["invalidReason"].as_str()),
        (Some(false), Some("unexpected_verify_error")),
        "{verified}"
    );
    let (_, settled) = dead.post("/settle", &body);
    assert_eq!(settled["errorReason"], "unexpected_settle_error", "{settled}");
    // Nothing was claimed for good: the same payment settles once the RPC answers.
    let (_, ok) = facility(&devnet).post("/settle", &body);
    assert_eq!(ok["success"], true, "{ok}");
}

#[test]
fn supported_lists_the_starknet_kinds_with_the_sponsor() {
    let devnet = Devnet::start();
    let (_, supported) = facility(&devnet).get("/supported", "");
    let sponsor = format!("{:#x}", parse_felt(&devnet.accounts[1].0).unwrap());
    let starknet: Vec<&Value> = supported["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["network"].as_str().unwrap().starts_with("starknet"))
        .collect();
    assert_eq!(starknet.len(), 2, "{supported}");
    assert_eq!(starknet[0]["network"], NETWORK);
    assert_eq!(starknet[1]["network"], "starknet-sepolia");
    assert_eq!(starknet[0]["extra"], json!({"sponsorAddress": sponsor, "feePayer": sponsor}));
    assert_eq!(supported["signers"]["starknet:*"], json!([sponsor]));
}

/// Blocks every 4 seconds, as on Starknet itself: the sponsor's nonce must be read at the block being
/// built (`pre_confirmed`), or every concurrent settle takes the same one until the next block (at
/// `latest` this test failed: `unexpected_settle_error`, the sponsor's nonce taken, past the retries).
#[test]
fn concurrent_settles_from_one_sponsor_all_land_once() {
    let devnet = Devnet::start_with(&["--block-generation-on", "4"]);
    let payee0 = devnet.strk(&devnet.accounts[2].0);
    let bodies: Vec<Value> = (0..12).map(|n| Payment::new(&devnet, 1_000 + n as u128, 100 + n).body()).collect();
    let results: Vec<Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = bodies
            .iter()
            // One facilitator per thread, as separate isolates: they share only the chain.
            .map(|body| scope.spawn(|| facility(&devnet).post("/settle", body).1))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for settled in &results {
        assert_eq!(settled["success"], true, "{settled}");
    }
    let expected: u128 = (0..12).map(|n| 1_000 + n as u128).sum();
    assert_eq!(devnet.strk(&devnet.accounts[2].0) - payee0, expected, "every payment landed exactly once");
}

/// A settle that stops waiting before its transaction is accepted answers `settlement_pending` with
/// the hash; its retries reconcile that transaction (they send nothing new): pending while it is, then
/// the one success, and the payment moved once.
#[test]
fn a_settle_cut_short_is_reconciled_by_its_retry_without_sending_again() {
    let devnet = Devnet::start_with(&["--block-generation-on", "demand"]);
    let impatient = facility_with(&devnet, &[("STARKNET_CONFIRM_TIMEOUT_SECONDS", "1")]);
    let payment = Payment::new(&devnet, 4_321, 60);
    let body = payment.body();
    let payee0 = devnet.strk(&payment.pay_to);

    let (_, first) = impatient.post("/settle", &body);
    assert_eq!(
        (first["success"].as_bool(), first["errorReason"].as_str()),
        (Some(false), Some("settlement_pending")),
        "{first}"
    );
    let hash = first["transaction"].as_str().unwrap().to_string();
    assert!(!hash.is_empty(), "{first}");
    let (_, still) = impatient.post("/settle", &body);
    assert_eq!(
        (still["errorReason"].as_str(), still["transaction"].as_str()),
        (Some("settlement_pending"), Some(hash.as_str())),
        "{still}"
    );

    rpc(&devnet.url, "devnet_createBlock", json!({}));
    let (_, settled) = impatient.post("/settle", &body);
    assert_eq!(
        (settled["success"].as_bool(), settled["transaction"].as_str()),
        (Some(true), Some(hash.as_str())),
        "{settled}"
    );
    let (_, again) = impatient.post("/settle", &body);
    assert_eq!(again["success"], false, "exactly one settle answers success: {again}");
    assert_eq!(sponsor_nonce(&devnet), json!("0x1"), "the sponsor's one transaction: the retries sent nothing");
    assert_eq!(devnet.strk(&payment.pay_to) - payee0, 4_321, "the payment moved once");
}

fn sponsor_nonce(devnet: &Devnet) -> Value {
    rpc(&devnet.url, "starknet_getNonce", json!({"block_id": "latest", "contract_address": devnet.accounts[1].0}))
}

/// Asks `/verify` and `/settle` of each case: refused with its code, and the sponsor sent nothing (its
/// nonce and STRK balance are unchanged) and no token moved.
fn assert_refused_and_nothing_sent(devnet: &Devnet, f: &Facility, cases: &[(&str, Value)]) {
    let sponsor = &devnet.accounts[1].0;
    let watched = [sponsor, &devnet.accounts[0].0, &devnet.accounts[2].0];
    let balances = || watched.iter().map(|a| devnet.strk(a)).collect::<Vec<_>>();
    let (nonce, before) = (sponsor_nonce(devnet), balances());
    for (code, body) in cases {
        let (_, verify) = f.post("/verify", body);
        assert_eq!(verify["invalidReason"], *code, "{verify}");
        let (_, settle) = f.post("/settle", body);
        assert_eq!(
            (settle["success"].as_bool(), settle["errorReason"].as_str()),
            (Some(false), Some(*code)),
            "{settle}"
        );
    }
    assert_eq!(sponsor_nonce(devnet), nonce, "the sponsor sent nothing");
    assert_eq!(balances(), before, "no fee paid, no token moved");
}

#[test]
fn zero_amounts_self_payments_and_unlisted_tokens_are_refused_and_cost_nothing() {
    let devnet = Devnet::start();
    let f = facility(&devnet);
    let zero = Payment::new(&devnet, 0, 40).body();
    let mut to_self = Payment::new(&devnet, 1_000, 41);
    // The payer's address with its leading zeros dropped: still the payer.
    let payer = format!("{:#x}", parse_felt(&to_self.payer.0).unwrap());
    to_self.pay_to = payer.to_uppercase().replace("0X", "0x000");
    let listed = Payment::new(&devnet, 1_000, 42).body();
    assert_refused_and_nothing_sent(&devnet, &f, &[("amount_below_minimum", zero), ("self_payment", to_self.body())]);
    let unlisted = facility_with(&devnet, &[("ASSET_ALLOWLIST_STARKNET_SEPOLIA", "")]);
    assert_refused_and_nothing_sent(&devnet, &unlisted, &[("asset_not_allowed", listed.clone())]);
    let (_, settled) = f.post("/settle", &listed);
    assert_eq!(settled["success"], true, "the allowlisted token settles: {settled}");
}

#[test]
fn a_fee_above_starknet_max_fee_is_refused_before_sending_and_the_payment_stays_good() {
    let devnet = Devnet::start();
    let sponsor = &devnet.accounts[1].0;
    let stingy = facility_with(&devnet, &[("STARKNET_MAX_FEE_STARKNET_SEPOLIA", "1000")]);
    let body = Payment::new(&devnet, 1_000, 50).body();
    let (nonce, sponsor_strk) = (sponsor_nonce(&devnet), devnet.strk(sponsor));
    let (_, settle) = stingy.post("/settle", &body);
    assert_eq!(settle["errorReason"], "gas_ceiling_exceeded", "{settle}");
    assert!(settle["errorMessage"].as_str().unwrap_or_default().contains("STARKNET_MAX_FEE"), "{settle}");
    assert_eq!((sponsor_nonce(&devnet), devnet.strk(sponsor)), (nonce, sponsor_strk), "nothing was sent");
    // The default ceiling (1 STRK) lets the same payment through: the refusal claimed nothing for good.
    let (_, settled) = facility(&devnet).post("/settle", &body);
    assert_eq!(settled["success"], true, "{settled}");
    assert!(sponsor_strk - devnet.strk(sponsor) < 1_000_000_000_000_000_000, "the fee paid is below the default");
}

#[test]
fn a_window_open_by_the_wall_clock_but_not_by_the_chains_clock_is_not_yet_valid() {
    let devnet = Devnet::start();
    let f = facility(&devnet);
    // The chain's clock lags an hour behind the wall clock.
    rpc(&devnet.url, "devnet_setTime", json!({"time": now_secs() - 3_600, "generate_block": true}));
    let payment = Payment::new(&devnet, 1_000, 60);
    let code = "invalid_exact_starknet_payload_authorization_not_yet_valid";
    assert_refused_and_nothing_sent(&devnet, &f, &[(code, payment.body())]);
    // Once the chain's clock passes execute_after, the same payment settles.
    rpc(&devnet.url, "devnet_setTime", json!({"time": now_secs(), "generate_block": true}));
    let (_, settled) = f.post("/settle", &payment.body());
    assert_eq!(settled["success"], true, "{settled}");
}

#[test]
fn a_spec_dialect_payment_verifies_settles_once_and_every_replay_is_refused() {
    let devnet = Devnet::start();
    let f = facility(&devnet);
    let payment = spec_payment(&devnet, 2_345_678, 70);
    let body = spec_body(&devnet, &payment);

    let (_, verified) = f.post("/verify", &body);
    assert_eq!(verified["isValid"], true, "{verified}");
    assert_eq!(parse_felt(verified["payer"].as_str().unwrap()).unwrap(), parse_felt(&payment.payer.0).unwrap());

    let (payer0, payee0) = (devnet.strk(&payment.payer.0), devnet.strk(&payment.pay_to));
    let (_, settled) = f.post("/settle", &body);
    assert_eq!(settled["success"], true, "{settled}");
    assert_eq!(settled["network"], NETWORK);
    let hash = settled["transaction"].as_str().unwrap();
    let receipt = rpc(&devnet.url, "starknet_getTransactionReceipt", json!({"transaction_hash": hash}));
    assert_eq!(receipt["execution_status"], "SUCCEEDED", "{receipt}");
    assert_eq!(devnet.strk(&payment.pay_to) - payee0, 2_345_678, "payTo received exactly the amount");
    assert_eq!(payer0 - devnet.strk(&payment.payer.0), 2_345_678, "the payer paid exactly the amount, no fee");

    // The same settle again, here and at a facilitator that shares no ledger: the account refuses.
    for f in [&f, &facility(&devnet)] {
        let (_, replay) = f.post("/settle", &body);
        assert_eq!(
            (replay["success"].as_bool(), replay["errorReason"].as_str()),
            (Some(false), Some("nonce_already_used")),
            "{replay}"
        );
        let (_, reverify) = f.post("/verify", &body);
        assert_eq!(reverify["invalidReason"], "nonce_already_used", "{reverify}");
    }
    // The same authorization in x402-starknet's dialect is the same payment (one ledger key, one nonce).
    let (_, other_dialect) = f.post("/settle", &payment.body());
    assert_eq!(other_dialect["success"], false, "{other_dialect}");
    assert_eq!(other_dialect["errorReason"], "invalid_exact_starknet_payload_nonce_used", "{other_dialect}");
    assert_eq!(devnet.strk(&payment.pay_to) - payee0, 2_345_678, "nothing moved twice");
}

/// A spec payment the sponsor cannot (or must not) settle is refused with the spec's code, and the
/// sponsor sends nothing.
#[test]
fn spec_payments_with_another_caller_or_fee_payer_or_a_bad_account_are_refused_with_the_spec_codes() {
    let devnet = Devnet::start();
    let f = facility(&devnet);
    let (stranger, stranger_key) = devnet.accounts[3].clone();
    let sponsor = devnet.accounts[1].0.clone();

    let mut caller = spec_payment(&devnet, 1_000, 80);
    caller.caller = stranger.clone();
    let any_caller = Payment { caller: "0x414e595f43414c4c4552".into(), ..spec_payment(&devnet, 1_000, 81) };
    let fee_payer = spec_payment(&devnet, 1_000, 82);
    let signed_elsewhere = spec_payment(&devnet, 1_000, 83);
    let mut undeployed = spec_payment(&devnet, 1_000, 84);
    undeployed.payer.0 = "0x1234567890abcdef".into();
    let poor = spec_payment(&devnet, 10u128.pow(30), 85);
    let mut expired = spec_payment(&devnet, 1_000, 86);
    expired.window.1 = now_secs() + 20;
    let cases = [
        ("invalid_exact_starknet_payload_caller", spec_body(&devnet, &caller)),
        ("invalid_exact_starknet_payload_caller", spec_body(&devnet, &any_caller)),
        ("invalid_payment_requirements", fee_payer.spec_body_signed_by(&stranger, &fee_payer.payer.1)),
        ("invalid_exact_starknet_payload_signature", signed_elsewhere.spec_body_signed_by(&sponsor, &stranger_key)),
        ("account_not_deployed", spec_body(&devnet, &undeployed)),
        ("insufficient_funds", spec_body(&devnet, &poor)),
        ("outside_execution_expired", spec_body(&devnet, &expired)),
    ];
    assert_refused_and_nothing_sent(&devnet, &f, &cases);
}

#[test]
fn supported_names_the_sponsor_as_the_spec_fee_payer() {
    let devnet = Devnet::start();
    let (_, supported) = facility(&devnet).get("/supported", "");
    let sponsor = format!("{:#x}", parse_felt(&devnet.accounts[1].0).unwrap());
    let kind = supported["kinds"].as_array().unwrap().iter().find(|k| k["network"] == NETWORK).unwrap().clone();
    assert_eq!((kind["x402Version"].as_u64(), kind["scheme"].as_str()), (Some(2), Some("exact")));
    assert_eq!(kind["extra"]["feePayer"], sponsor, "{kind}");
    assert_eq!(supported["signers"]["starknet:*"], json!([sponsor]));
}

/// The spec's simulation executes the real settlement: from the signed `Caller` the payer's one
/// transfer shows; a different expectation, or a sender the account does not accept as `Caller`,
/// fails as `simulation_failed` (and nothing is sent).
#[test]
fn the_settlement_simulation_runs_the_outside_execution_from_the_caller() {
    use x402_edge::chains::jsonrpc::JsonRpcClient;
    use x402_edge::chains::starknet::{encode_short_string, OutsideExecution};
    use x402_edge::schemes::exact_starknet::chain::{simulate, StarknetContext};
    use x402_edge::schemes::exact_starknet::spec::ExpectedTransfer;
    use x402_edge::schemes::exact_starknet::ExactStarknetError;

    let devnet = Devnet::start();
    let payment = spec_payment(&devnet, 3_000, 90);
    let body = spec_body(&devnet, &payment);
    let outside = &body["paymentPayload"]["payload"]["outsideExecution"];
    let execution = OutsideExecution::from_typed_data(&outside["typedData"]).unwrap();
    let signature: Vec<_> =
        outside["signature"].as_array().unwrap().iter().map(|f| parse_felt(f.as_str().unwrap()).unwrap()).collect();
    let felt = |text: &str| parse_felt(text).unwrap();
    let call = execution.to_call(felt(&payment.payer.0), &signature);
    let urls = [devnet.url.clone()];
    let ctx = StarknetContext {
        rpc: JsonRpcClient::new(&common::UreqTransport, &common::SystemClock, &urls),
        clock: &common::SystemClock,
        chain_id: encode_short_string("SN_SEPOLIA").unwrap(),
        confirm_timeout_secs: 0,
        max_fee_fri: 0,
    };
    let expected = ExpectedTransfer {
        token: felt(STRK),
        from: felt(&payment.payer.0),
        to: felt(&payment.pay_to),
        amount: 3_000u64.try_into().unwrap(),
    };
    let sponsor = felt(&devnet.accounts[1].0);
    let nonce = sponsor_nonce(&devnet);
    assert_eq!(pollster::block_on(simulate(&ctx, sponsor, std::slice::from_ref(&call), &expected)), Ok(()));
    let more = ExpectedTransfer { amount: 3_001u64.try_into().unwrap(), ..expected };
    let refused = pollster::block_on(simulate(&ctx, sponsor, std::slice::from_ref(&call), &more)).unwrap_err();
    assert!(matches!(&refused, ExactStarknetError::SimulationFailed(m) if m.contains("transfers 3000")), "{refused}");
    let stranger = felt(&devnet.accounts[3].0);
    let refused = pollster::block_on(simulate(&ctx, stranger, &[call], &expected)).unwrap_err();
    assert!(matches!(&refused, ExactStarknetError::SimulationFailed(m) if m.contains("invalid caller")), "{refused}");
    assert_eq!(sponsor_nonce(&devnet), nonce, "a simulation sends nothing");
    // The payment itself is untouched: it still settles.
    let (_, settled) = facility(&devnet).post("/settle", &body);
    assert_eq!(settled["success"], true, "{settled}");
}
