//! `exact` via Permit2 against a real anvil with Permit2 and the x402 proxies at their canonical
//! addresses: verify and settle move exactly the amount once, from the facilitator's own transaction
//! to the exact proxy; each refusal returns the reference's code with nothing sent; the EIP-2612 and
//! ERC-20 approval extensions settle without a prior `approve` by the payer.
//!
//! The scheme's functions are called directly (the facilitator's dispatch is the lead's).
#![cfg(feature = "permit2")]

mod common;

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{sol, SolCall};
use common::*;
use serde_json::{json, Value};
use x402_edge::chains::evm::tx::{ContractCall, Fees};
use x402_edge::chains::jsonrpc::JsonRpcClient;
use x402_edge::config::{GasLimits, Settings};
use x402_edge::ledger::LedgerJournal;
use x402_edge::ledger::MemoryLedger;
use x402_edge::ports::EvmSigner;
use x402_edge::protocol::model::PaymentRequest;
use x402_edge::protocol::normalize::parse_request;
use x402_edge::schemes::exact_permit2::permit2::{SignedPermit, EXACT_PROXY, PERMIT2, UPTO_PROXY};
use x402_edge::schemes::exact_permit2::{
    self as scheme, EvmContext, ExactPermit2Error, Options, Permit2Payload, Settlement, Verified,
};

const GAS: GasLimits =
    GasLimits { max_fee_per_gas_wei: 1_000_000_000_000, max_gas_per_settle: 300_000, max_gas_per_deployment: 500_000 };

fn context<'a>(anvil_urls: &'a [String], gas: GasLimits) -> EvmContext<'a, UreqTransport, SystemClock> {
    EvmContext {
        network: x402_edge::network::find("eip155:84532").unwrap(),
        rpc: JsonRpcClient::new(&UreqTransport, &SystemClock, anvil_urls),
        clock: &SystemClock,
        settings: Settings { receipt_timeout_secs: 10, rpc_timeout_ms: 5_000, fee_bump_after_secs: 15 },
        gas,
        facilitator: Some(address(FACILITATOR_KEY)),
        allowed_factories: &[],
    }
}

fn verify(
    w: &World,
    request: &PaymentRequest,
    p: &Permit2Payload,
    options: Options,
) -> Result<Verified, ExactPermit2Error> {
    let urls = [w.anvil.url.clone()];
    pollster::block_on(scheme::verify_with(&context(&urls, GAS), request, p, options))
}

fn settle_within(
    w: &World,
    gas: GasLimits,
    request: &PaymentRequest,
    p: &Permit2Payload,
    options: Options,
) -> Result<Settlement, ExactPermit2Error> {
    let urls = [w.anvil.url.clone()];
    let ctx = context(&urls, gas);
    let (signer, sender, ledger) = (
        signer(FACILITATOR_KEY),
        x402_edge::chains::evm::sender::NonceManagedSender::default(),
        MemoryLedger::default(),
    );
    let key = scheme::ledger_key(CHAIN_ID, p);
    let journal = LedgerJournal { ledger: &ledger, key: Some(&key) };
    pollster::block_on(scheme::settle_with(&ctx, &signer, &sender, &journal, request, p, options))
}

fn settle(
    w: &World,
    request: &PaymentRequest,
    p: &Permit2Payload,
    options: Options,
) -> Result<Settlement, ExactPermit2Error> {
    settle_within(w, GAS, request, p, options)
}

/// A v2 request for `amount` of the test token to `pay_to`, asking for Permit2 (its EIP-3009 payload,
/// which the scheme does not read, only makes the body parse today).
fn request(w: &World, pay_to: Address, amount: u64) -> PaymentRequest {
    let a = authorization(KEYS[1], pay_to, amount, 0xee);
    let mut body = v2_body(&a, &sign(KEYS[1], &a, w.token, "USD Coin", "2"), w.token, pay_to, amount);
    body["paymentRequirements"]["extra"] =
        json!({"assetTransferMethod": "permit2", "name": "USD Coin", "version": "2"});
    body["paymentPayload"]["accepted"] = body["paymentRequirements"].clone();
    parse_request(body.to_string().as_bytes()).unwrap()
}

fn signed(key: &str, permit: SignedPermit) -> Permit2Payload {
    let signature = pollster::block_on(signer(key).sign_hash(&permit.signing_hash(CHAIN_ID))).unwrap();
    Permit2Payload {
        signature: Bytes::from(signature.as_bytes().to_vec()),
        from: address(key),
        token: permit.token,
        amount: permit.amount,
        spender: permit.spender,
        nonce: permit.nonce,
        deadline: permit.deadline,
        to: permit.to,
        valid_after: permit.valid_after,
        eip2612: None,
        erc20_approval: None,
    }
}

/// What the 2.27 client signs: the exact proxy as spender, validAfter 0, an hour to go.
fn permit(w: &World, pay_to: Address, amount: u64, nonce: u64) -> SignedPermit {
    SignedPermit {
        token: w.token,
        amount: U256::from(amount),
        spender: EXACT_PROXY,
        nonce: U256::from(nonce),
        deadline: U256::from(now_secs() + 3600),
        to: pay_to,
        valid_after: U256::ZERO,
    }
}

/// The facilitator's nonce and ETH, and `pay_to`'s tokens: what a sent settle would change.
fn footprint(w: &World, pay_to: Address) -> (u64, U256, U256) {
    let facilitator = address(FACILITATOR_KEY);
    (w.anvil.nonce(facilitator), eth_balance(&w.anvil, facilitator), balance(&w.anvil, w.token, pay_to))
}

/// Verify and settle of each case are refused with its code, and nothing was sent.
fn assert_refused_and_nothing_sent(w: &World, pay_to: Address, cases: &[(&str, PaymentRequest, Permit2Payload)]) {
    let before = footprint(w, pay_to);
    for (code, request, p) in cases {
        let verified = verify(w, request, p, Options::default());
        assert_eq!(verified.map_err(|e| e.reason().code(x402_edge::protocol::Version::V2)), Err(*code), "/verify");
        let settled = settle(w, request, p, Options::default()).unwrap_err();
        assert_eq!(settled.reason().code(x402_edge::protocol::Version::V2), *code, "/settle: {settled}");
        assert_eq!(settled.transaction(), None);
    }
    assert_eq!(footprint(w, pay_to), before, "no transaction sent, no gas spent, no token moved");
}

#[test]
fn verify_then_settle_moves_exactly_the_amount_once_through_the_exact_proxy() {
    let w = world();
    let (payer, pay_to) = (address(KEYS[1]), address(KEYS[2]));
    approve_permit2(&w, KEYS[1]);
    let r = request(&w, pay_to, 1_500_000);
    let p = signed(KEYS[1], permit(&w, pay_to, 1_500_000, 1));
    let (payer_tokens, payer_eth, payee_tokens) =
        (balance(&w.anvil, w.token, payer), eth_balance(&w.anvil, payer), balance(&w.anvil, w.token, pay_to));

    assert_eq!(verify(&w, &r, &p, Options::default()), Ok(Verified { payer }));
    let settlement = settle(&w, &r, &p, Options::default()).unwrap();
    assert_eq!(settlement.payer, payer);
    let receipt = rpc(&w.anvil.url, "eth_getTransactionReceipt", json!([settlement.transaction]));
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["from"].as_str().unwrap(), address(FACILITATOR_KEY).to_string().to_lowercase());
    assert_eq!(receipt["to"].as_str().unwrap(), EXACT_PROXY.to_string().to_lowercase());

    let amount = U256::from(1_500_000u64);
    assert_eq!(balance(&w.anvil, w.token, pay_to), payee_tokens + amount);
    assert_eq!(balance(&w.anvil, w.token, payer), payer_tokens - amount);
    assert_eq!(eth_balance(&w.anvil, payer), payer_eth, "the payer pays no gas");

    // Replayed: the Permit2 nonce is used; refused by verify and settle with nothing sent. So is a
    // new payment re-signed under the same nonce (for another amount, to another token's payee).
    let again = signed(KEYS[1], permit(&w, pay_to, 2_000, 1));
    let cases =
        [("permit2_invalid_nonce", r.clone(), p.clone()), ("permit2_invalid_nonce", request(&w, pay_to, 2_000), again)];
    assert_refused_and_nothing_sent(&w, pay_to, &cases);
    assert_eq!(balance(&w.anvil, w.token, pay_to), payee_tokens + amount);
}

#[test]
fn each_refusal_returns_its_code_and_sends_nothing() {
    let w = world();
    let pay_to = address(KEYS[2]);
    for key in &KEYS[1..4] {
        approve_permit2(&w, key);
    }
    let r = request(&w, pay_to, 1_000);
    let mut cases = Vec::new();

    let elsewhere = address(KEYS[5]);
    cases.push(("invalid_permit2_recipient_mismatch", r.clone(), signed(KEYS[1], permit(&w, elsewhere, 1_000, 10))));
    for spender in [UPTO_PROXY, PERMIT2] {
        let p = signed(KEYS[1], SignedPermit { spender, ..permit(&w, pay_to, 1_000, 11) });
        cases.push(("invalid_permit2_spender", r.clone(), p));
    }
    let expired = SignedPermit { deadline: U256::from(now_secs() + 3), ..permit(&w, pay_to, 1_000, 12) };
    cases.push(("permit2_deadline_expired", r.clone(), signed(KEYS[1], expired)));
    let early = SignedPermit { valid_after: U256::from(now_secs() + 600), ..permit(&w, pay_to, 1_000, 13) };
    cases.push(("permit2_not_yet_valid", r.clone(), signed(KEYS[1], early)));
    cases.push(("permit2_amount_mismatch", r.clone(), signed(KEYS[1], permit(&w, pay_to, 999, 14))));
    let other_token = SignedPermit { token: Address::repeat_byte(0x77), ..permit(&w, pay_to, 1_000, 15) };
    cases.push(("permit2_token_mismatch", r.clone(), signed(KEYS[1], other_token)));
    let mut forged = signed(KEYS[3], permit(&w, pay_to, 1_000, 16));
    forged.from = address(KEYS[1]);
    cases.push(("invalid_permit2_signature", r.clone(), forged));
    // No allowance to Permit2 (KEYS[6] never approved), and no balance for 2,000 USDC.
    cases.push(("permit2_allowance_required", r.clone(), signed(KEYS[6], permit(&w, pay_to, 1_000, 17))));
    let rich = 2_000_000_000;
    cases.push((
        "permit2_insufficient_balance",
        request(&w, pay_to, rich),
        signed(KEYS[3], permit(&w, pay_to, rich, 18)),
    ));
    // A zero amount and a payment to oneself, even when the requirements ask for them.
    cases.push(("amount_below_minimum", request(&w, pay_to, 0), signed(KEYS[1], permit(&w, pay_to, 0, 19))));
    let payer = address(KEYS[1]);
    cases.push(("self_payment", request(&w, payer, 1_000), signed(KEYS[1], permit(&w, payer, 1_000, 20))));
    assert_refused_and_nothing_sent(&w, pay_to, &cases);

    // A "token" without code.
    let nothing = Address::repeat_byte(0x66);
    let mut r = request(&w, pay_to, 1_000);
    r.requirements.asset = nothing.to_string();
    let p = signed(KEYS[1], SignedPermit { token: nothing, ..permit(&w, pay_to, 1_000, 21) });
    assert_refused_and_nothing_sent(&w, pay_to, &[("asset_not_deployed_contract", r, p)]);

    // The gas ceiling: refused before anything is signed.
    let p = signed(KEYS[2], permit(&w, address(KEYS[4]), 1_000, 22));
    let r = request(&w, address(KEYS[4]), 1_000);
    let before = footprint(&w, address(KEYS[4]));
    let tight = GasLimits { max_gas_per_settle: 40_000, ..GAS };
    let refused = settle_within(&w, tight, &r, &p, Options::default()).unwrap_err();
    assert_eq!(refused.reason().code(x402_edge::protocol::Version::V2), "gas_ceiling_exceeded", "{refused}");
    assert_eq!(footprint(&w, address(KEYS[4])), before);
    assert!(settle(&w, &r, &p, Options::default()).is_ok(), "within the default ceiling");
}

fn with_extensions(p: &Permit2Payload, extensions: &Value) -> Permit2Payload {
    let json = json!({
        "signature": p.signature,
        "permit2Authorization": {
            "from": p.from, "permitted": {"token": p.token, "amount": p.amount.to_string()},
            "spender": p.spender, "nonce": p.nonce.to_string(), "deadline": p.deadline.to_string(),
            "witness": {"to": p.to, "validAfter": p.valid_after.to_string()},
        },
    });
    Permit2Payload::decode(&json, Some(extensions)).unwrap()
}

#[test]
fn the_eip2612_extension_settles_without_a_prior_approve() {
    let w = world();
    let (payer, pay_to) = (address(KEYS[7]), address(KEYS[2]));
    assert_eq!(permit2_allowance(&w, payer), U256::ZERO);
    let r = request(&w, pay_to, 2_500);
    let bare = signed(KEYS[7], permit(&w, pay_to, 2_500, 1));
    assert_refused_and_nothing_sent(&w, pay_to, &[("permit2_allowance_required", r.clone(), bare.clone())]);

    let p = with_extensions(&bare, &eip2612_extension(&w, KEYS[7], 2_500, bare.deadline));
    let (payer_eth, payee_tokens) = (eth_balance(&w.anvil, payer), balance(&w.anvil, w.token, pay_to));
    assert_eq!(verify(&w, &r, &p, Options::default()), Ok(Verified { payer }));
    let settlement = settle(&w, &r, &p, Options::default()).unwrap();
    let receipt = rpc(&w.anvil.url, "eth_getTransactionReceipt", json!([settlement.transaction]));
    let input = rpc(&w.anvil.url, "eth_getTransactionByHash", json!([settlement.transaction]))["input"].clone();
    assert!(input.as_str().unwrap().starts_with("0xfa340378"), "settleWithPermit");
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(balance(&w.anvil, w.token, pay_to), payee_tokens + U256::from(2_500));
    assert_eq!(eth_balance(&w.anvil, payer), payer_eth, "the payer sent nothing");
    assert_eq!(permit2_allowance(&w, payer), U256::ZERO, "the permit's allowance was exactly the amount, spent");

    // A permit for another amount than the Permit2 transfer is refused before the chain.
    let bare = signed(KEYS[7], permit(&w, pay_to, 2_500, 2));
    let p = with_extensions(&bare, &eip2612_extension(&w, KEYS[7], 2_501, bare.deadline));
    assert_refused_and_nothing_sent(&w, pay_to, &[("permit2_2612_amount_mismatch", r, p)]);
}

/// The payer's signed `approve(Permit2, max)` as the 2.27 client signs it (EIP-1559, gas 70000).
fn erc20_extension(w: &World, key: &str, nonce: u64) -> Value {
    let fees = Fees::Eip1559 { max_fee_per_gas: 5_000_000_000, max_priority_fee_per_gas: 1_000_000_000 };
    let input = IPermit2Token::approveCall { spender: PERMIT2, amount: U256::MAX }.abi_encode();
    let call = ContractCall { chain_id: CHAIN_ID, nonce, gas_limit: 70_000, fees, to: w.token, input: input.into() };
    let signed = pollster::block_on(x402_edge::chains::evm::tx::sign(&signer(key), &call)).unwrap();
    json!({"erc20ApprovalGasSponsoring": {"info": {
        "from": address(key), "asset": w.token, "spender": PERMIT2, "amount": U256::MAX.to_string(),
        "signedTransaction": format!("0x{}", hex::encode(signed.raw)), "version": "1",
    }}})
}

#[test]
fn the_erc20_approval_extension_relays_the_payers_approval_then_settles() {
    let w = world();
    let (payer, pay_to) = (address(KEYS[8]), address(KEYS[2]));
    let r = request(&w, pay_to, 3_000);
    let bare = signed(KEYS[8], permit(&w, pay_to, 3_000, 1));
    let p = with_extensions(&bare, &erc20_extension(&w, KEYS[8], w.anvil.nonce(payer)));
    let on = Options { erc20_approval: true };

    // Not enabled: the approval is ignored, never broadcast.
    assert_refused_and_nothing_sent(&w, pay_to, &[("permit2_allowance_required", r.clone(), p.clone())]);
    assert_eq!(w.anvil.nonce(payer), 0, "the approval was not relayed");

    assert_eq!(verify(&w, &r, &p, on), Ok(Verified { payer }));
    let (facilitator_nonce, payer_eth, payee_tokens) =
        (w.anvil.nonce(address(FACILITATOR_KEY)), eth_balance(&w.anvil, payer), balance(&w.anvil, w.token, pay_to));
    let settlement = settle(&w, &r, &p, on).unwrap();
    assert_eq!(
        permit2_allowance(&w, payer),
        U256::MAX,
        "the approval is in place (an infinite allowance is not spent)"
    );
    assert_eq!(balance(&w.anvil, w.token, pay_to), payee_tokens + U256::from(3_000));
    assert_eq!(w.anvil.nonce(payer), 1, "the payer's own approval, mined");
    assert!(eth_balance(&w.anvil, payer) < payer_eth, "the payer paid for its approval");
    assert_eq!(w.anvil.nonce(address(FACILITATOR_KEY)), facilitator_nonce + 1, "one transaction of ours: the settle");
    let receipt = rpc(&w.anvil.url, "eth_getTransactionReceipt", json!([settlement.transaction]));
    assert_eq!(receipt["to"].as_str().unwrap(), EXACT_PROXY.to_string().to_lowercase());

    // A payer without ETH for its approval: refused before anything is sent, and never funded.
    let broke = "0x1111111111111111111111111111111111111111111111111111111111111111";
    mint(&w.anvil, w.token, address(broke), 10_000);
    let bare = signed(broke, permit(&w, pay_to, 3_000, 1));
    let p = with_extensions(&bare, &erc20_extension(&w, broke, 0));
    let before = footprint(&w, pay_to);
    let refused = verify(&w, &r, &p, on).unwrap_err();
    assert_eq!(refused.reason().code(x402_edge::protocol::Version::V2), "erc20_approval_broadcast_failed", "{refused}");
    assert!(settle(&w, &r, &p, on).is_err());
    assert_eq!(footprint(&w, pay_to), before);
    assert_eq!(eth_balance(&w.anvil, address(broke)), U256::ZERO);
}

#[test]
fn a_payload_for_another_chain_or_a_used_nonce_word_is_refused_without_a_transaction() {
    let w = world();
    let pay_to = address(KEYS[2]);
    approve_permit2(&w, KEYS[4]);
    // Two payments sharing a bitmap word (nonces 256 and 257): the second still settles, the first
    // never again.
    let r = request(&w, pay_to, 1_000);
    let first = signed(KEYS[4], permit(&w, pay_to, 1_000, 256));
    let second = signed(KEYS[4], permit(&w, pay_to, 1_000, 257));
    assert!(settle(&w, &r, &first, Options::default()).is_ok());
    assert!(settle(&w, &r, &second, Options::default()).is_ok());
    assert_refused_and_nothing_sent(&w, pay_to, &[("permit2_invalid_nonce", r.clone(), first)]);
    // Signed for Base mainnet's Permit2 domain: not this chain's signature.
    let p = permit(&w, pay_to, 1_000, 300);
    let signature = pollster::block_on(signer(KEYS[4]).sign_hash(&p.signing_hash(8453))).unwrap();
    let mut other_chain = signed(KEYS[4], p);
    other_chain.signature = Bytes::from(signature.as_bytes().to_vec());
    assert_refused_and_nothing_sent(&w, pay_to, &[("invalid_permit2_signature", r, other_chain)]);
}

sol! {
    interface IWallet {
        function execute(address target, uint256 value, bytes data) external payable returns (bytes memory);
    }
}

#[test]
fn a_contract_wallet_pays_with_its_erc1271_signature() {
    let w = world();
    let pay_to = address(KEYS[2]);
    let wallet = deploy_wallet(&w.anvil, w.token, KEYS[5]);
    let approve = IPermit2Token::approveCall { spender: PERMIT2, amount: U256::MAX }.abi_encode();
    let execute = IWallet::executeCall { target: w.token, value: U256::ZERO, data: approve.into() };
    w.anvil.send(address(KEYS[5]), Some(wallet), execute.abi_encode());
    let r = request(&w, pay_to, 4_000);

    // Signed by someone the wallet does not answer for.
    let mut forged = signed(KEYS[6], permit(&w, pay_to, 4_000, 2));
    forged.from = wallet;
    assert_refused_and_nothing_sent(&w, pay_to, &[("invalid_permit2_signature", r.clone(), forged)]);

    let mut p = signed(KEYS[5], permit(&w, pay_to, 4_000, 1));
    p.from = wallet;
    assert_eq!(verify(&w, &r, &p, Options::default()), Ok(Verified { payer: wallet }));
    let before = balance(&w.anvil, w.token, pay_to);
    settle(&w, &r, &p, Options::default()).unwrap();
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(4_000));
}

/// `paymentPayload.payload` of a Permit2 payment, as the 2.27 client sends it (numbers as decimal strings).
fn payload_json(p: &Permit2Payload) -> Value {
    json!({
        "signature": p.signature,
        "permit2Authorization": {
            "from": p.from, "permitted": {"token": p.token, "amount": p.amount.to_string()},
            "spender": p.spender, "nonce": p.nonce.to_string(), "deadline": p.deadline.to_string(),
            "witness": {"to": p.to, "validAfter": p.valid_after.to_string()},
        },
    })
}

/// A v2 `/verify` and `/settle` body of `p`, whose requirements ask for Permit2.
fn v2_permit2_body(w: &World, p: &Permit2Payload) -> Value {
    let requirements = json!({
        "scheme": "exact", "network": "eip155:84532", "amount": p.amount.to_string(), "asset": w.token,
        "payTo": p.to, "maxTimeoutSeconds": 60,
        "extra": {"assetTransferMethod": "permit2", "name": "USD Coin", "version": "2"},
    });
    json!({
        "x402Version": 2,
        "paymentPayload": {"x402Version": 2, "accepted": requirements, "payload": payload_json(p)},
        "paymentRequirements": requirements,
    })
}

#[test]
fn a_permit2_body_through_the_api_verifies_settles_once_and_its_replay_answers_permit2_invalid_nonce() {
    let w = world();
    let (payer, pay_to) = (address(KEYS[1]), address(KEYS[2]));
    approve_permit2(&w, KEYS[1]);
    let body = v2_permit2_body(&w, &signed(KEYS[1], permit(&w, pay_to, 7_000, 42)));
    let payee_tokens = balance(&w.anvil, w.token, pay_to);

    let (status, verify) = w.facility.post("/verify", &body);
    assert_eq!((status, &verify["isValid"], &verify["payer"]), (200, &json!(true), &json!(payer.to_checksum(None))));
    let (status, settle) = w.facility.post("/settle", &body);
    assert_eq!((status, &settle["success"]), (200, &json!(true)), "{settle}");
    assert_eq!(settle["network"], "eip155:84532");
    assert_eq!(settle["payer"], payer.to_checksum(None));
    let transaction = settle["transaction"].as_str().unwrap();
    let receipt = rpc(&w.anvil.url, "eth_getTransactionReceipt", json!([transaction]));
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["to"].as_str().unwrap(), EXACT_PROXY.to_string().to_lowercase());
    assert_eq!(balance(&w.anvil, w.token, pay_to), payee_tokens + U256::from(7_000));

    let facilitator_nonce = w.anvil.nonce(address(FACILITATOR_KEY));
    for _ in 0..2 {
        let (status, again) = w.facility.post("/settle", &body);
        assert_eq!(
            (status, &again["success"], &again["errorReason"]),
            (200, &json!(false), &json!("permit2_invalid_nonce"))
        );
        let (_, verify) = w.facility.post("/verify", &body);
        assert_eq!((&verify["isValid"], &verify["invalidReason"]), (&json!(false), &json!("permit2_invalid_nonce")));
    }
    assert_eq!(w.anvil.nonce(address(FACILITATOR_KEY)), facilitator_nonce, "the replays sent nothing");
    assert_eq!(balance(&w.anvil, w.token, pay_to), payee_tokens + U256::from(7_000), "the amount moved once");
}

/// A Permit2 settle whose receipt does not come in time answers `settlement_pending` with its
/// transaction; the retry, once it is mined, reconciles it (sending nothing) and answers the one success.
#[test]
fn a_permit2_settle_without_a_receipt_in_time_is_pending_and_its_retry_answers_success_once() {
    let w = world();
    let pay_to = address(KEYS[2]);
    approve_permit2(&w, KEYS[1]);
    let body = v2_permit2_body(&w, &signed(KEYS[1], permit(&w, pay_to, 6_100, 43)));
    let before = balance(&w.anvil, w.token, pay_to);
    rpc(&w.anvil.url, "evm_setAutomine", json!([false]));
    let facility = Facility::without_receipts_in_time(&w.anvil.url);

    let (_, pending) = facility.post("/settle", &body);
    assert_eq!(pending["errorReason"], "settlement_pending", "{pending}");
    let tx = pending["transaction"].as_str().unwrap().to_string();
    let (_, verify) = facility.post("/verify", &body);
    assert_eq!(verify["invalidReason"], "duplicate_settlement", "in flight: {verify}");

    rpc(&w.anvil.url, "evm_mine", json!([]));
    rpc(&w.anvil.url, "evm_setAutomine", json!([true]));
    let sent = w.anvil.nonce(address(FACILITATOR_KEY));
    let (_, retry) = facility.post("/settle", &body);
    assert_eq!((&retry["success"], &retry["transaction"]), (&json!(true), &json!(tx)), "{retry}");
    let (_, again) = facility.post("/settle", &body);
    assert_eq!(
        (&again["errorReason"], &again["transaction"]),
        (&json!("permit2_invalid_nonce"), &json!(tx)),
        "{again}"
    );
    assert_eq!(w.anvil.nonce(address(FACILITATOR_KEY)), sent, "the retry sent nothing");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(6_100), "paid once");
}

#[test]
fn a_v1_body_with_permit2_authorization_is_refused_as_an_unsupported_payload_type() {
    let w = world();
    let pay_to = address(KEYS[2]);
    approve_permit2(&w, KEYS[1]);
    let p = signed(KEYS[1], permit(&w, pay_to, 7_000, 43));
    let requirements = json!({
        "scheme": "exact", "network": "base-sepolia", "maxAmountRequired": "7000", "resource": "http://127.0.0.1/r",
        "description": "test", "mimeType": "application/json", "payTo": pay_to, "maxTimeoutSeconds": 60,
        "asset": w.token, "extra": {"assetTransferMethod": "permit2", "name": "USD Coin", "version": "2"},
    });
    let body = json!({
        "x402Version": 1,
        "paymentPayload": {"x402Version": 1, "scheme": "exact", "network": "base-sepolia", "payload": payload_json(&p)},
        "paymentRequirements": requirements,
    });
    // Under v1 the reason is spelled as the legacy enum has it (`unsupported_payload_type` is v2 only).
    let code = x402_edge::protocol::Reason::UnsupportedPayloadType.code(x402_edge::protocol::Version::V1);
    assert_eq!(code, "invalid_payload");
    let before = footprint(&w, pay_to);
    let (status, verify) = w.facility.post("/verify", &body);
    assert_eq!((status, &verify["isValid"], &verify["invalidReason"]), (400, &json!(false), &json!(code)), "{verify}");
    assert!(verify["invalidMessage"].as_str().unwrap().contains("served under x402 v2"), "{verify}");
    let (status, settle) = w.facility.post("/settle", &body);
    assert_eq!((status, &settle["success"], &settle["errorReason"]), (400, &json!(false), &json!(code)), "{settle}");
    assert_eq!(settle["transaction"], "");
    assert_eq!(footprint(&w, pay_to), before, "nothing sent");

    // The same payload under v2 is the scheme's, and valid.
    let (_, verify) = w.facility.post("/verify", &v2_permit2_body(&w, &p));
    assert_eq!(verify["isValid"], true, "{verify}");
}
