//! `exact` EVM against a real anvil: verify and settle move tokens exactly once, and each negative
//! case of the reference checklist returns its code with nothing sent.

mod common;

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use common::*;
use serde_json::{json, Value};
use x402_edge::schemes::exact_evm::Eip3009Authorization;

fn payment(w: &World, payer: &str, pay_to: Address, value: u64, nonce: u8) -> Value {
    let a = authorization(payer, pay_to, value, nonce);
    let signature = sign(payer, &a, w.token, "USD Coin", "2");
    v2_body(&a, &signature, w.token, pay_to, value)
}

#[test]
fn verify_then_settle_moves_the_amount_exactly_once() {
    let w = world();
    let (payer, pay_to) = (address(KEYS[1]), address(KEYS[2]));
    let body = payment(&w, KEYS[1], pay_to, 1_500_000, 1);
    let (before_payer, before_payee) = (balance(&w.anvil, w.token, payer), balance(&w.anvil, w.token, pay_to));

    let (status, verify) = w.facility.post("/verify", &body);
    assert_eq!(status, 200);
    assert_eq!(verify, json!({"isValid": true, "payer": payer.to_checksum(None)}));

    let (status, settle) = w.facility.post("/settle", &body);
    assert_eq!(status, 200, "{settle}");
    assert_eq!(settle["success"], true, "{settle}");
    assert_eq!(settle["network"], "eip155:84532");
    assert_eq!(settle["payer"], payer.to_checksum(None));
    let tx = settle["transaction"].as_str().unwrap();
    assert_eq!(tx.len(), 66);
    let receipt = rpc(&w.anvil.url, "eth_getTransactionReceipt", json!([tx]));
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["from"].as_str().unwrap(), address(FACILITATOR_KEY).to_string().to_lowercase());

    let amount = U256::from(1_500_000u64);
    assert_eq!(balance(&w.anvil, w.token, payer), before_payer - amount);
    assert_eq!(balance(&w.anvil, w.token, pay_to), before_payee + amount);

    // A retried settle is refused as a fresh check would (the nonce is used), names the transaction,
    // and sends nothing: exactly one settle answers success.
    let sent = w.anvil.nonce(address(FACILITATOR_KEY));
    for _ in 0..3 {
        let (status, again) = w.facility.post("/settle", &body);
        assert_eq!(status, 200);
        assert_used(&again, &settle, "invalid_exact_evm_nonce_already_used");
    }
    assert_eq!(w.anvil.nonce(address(FACILITATOR_KEY)), sent);
    assert_eq!(balance(&w.anvil, w.token, pay_to), before_payee + amount);

    let (_, verify) = w.facility.post("/verify", &body);
    assert_eq!(verify["invalidReason"], "invalid_exact_evm_nonce_already_used");

    // Another payment under the same identity (payer and nonce) never gets this one's success: not the
    // same authorization against higher requirements, not a re-signed one for more.
    let mut higher = body.clone();
    higher["paymentRequirements"]["amount"] = json!("9000000");
    let bigger = payment(&w, KEYS[1], pay_to, 9_000_000, 1);
    for other in [higher, bigger] {
        let (_, answer) = w.facility.post("/settle", &other);
        assert_eq!(answer["success"], false, "{answer}");
        assert_eq!(answer["errorReason"], "duplicate_settlement", "{answer}");
    }
    assert_eq!(balance(&w.anvil, w.token, pay_to), before_payee + amount);
}

/// Asks `/verify` and `/settle` of each case; each is refused with its code and the chain is untouched:
/// the facilitator's nonce and ETH balance, and `pay_to`'s token balance.
fn assert_refused_and_nothing_sent(w: &World, facility: &Facility, pay_to: Address, cases: &[(&str, Value)]) {
    let facilitator = address(FACILITATOR_KEY);
    let (sent, gas_money, before) =
        (w.anvil.nonce(facilitator), eth_balance(&w.anvil, facilitator), balance(&w.anvil, w.token, pay_to));
    for (code, body) in cases {
        let (_, verify) = facility.post("/verify", body);
        assert_eq!(verify["invalidReason"], *code, "/verify: {verify}");
        let (_, settle) = facility.post("/settle", body);
        assert_eq!(
            (settle["success"].as_bool(), settle["errorReason"].as_str()),
            (Some(false), Some(*code)),
            "{settle}"
        );
        assert_eq!(settle["transaction"], "");
    }
    assert_eq!(w.anvil.nonce(facilitator), sent, "no transaction was sent");
    assert_eq!(eth_balance(&w.anvil, facilitator), gas_money, "no gas was spent");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before, "no token moved");
}

#[test]
fn zero_amounts_self_payments_and_assets_off_the_allowlist_are_refused_before_anything_is_sent() {
    let w = world();
    let pay_to = address(KEYS[2]);
    let mut cases: Vec<(&str, Value)> = vec![("amount_below_minimum", payment(&w, KEYS[1], pay_to, 0, 20))];
    // Zero signed, the requirements' amount respelled to 1: the signed value is checked too.
    let mut b = payment(&w, KEYS[1], pay_to, 0, 21);
    b["paymentRequirements"]["amount"] = json!("1");
    b["paymentPayload"]["accepted"]["amount"] = json!("1");
    cases.push(("amount_below_minimum", b));
    // payTo is the payer, spelled in lower case.
    let payer = address(KEYS[2]);
    let mut b = payment(&w, KEYS[2], payer, 1_000, 22);
    b["paymentRequirements"]["payTo"] = json!(payer.to_string().to_lowercase());
    cases.push(("self_payment", b));
    // An "asset" that is neither a known stablecoin nor allowlisted (an EOA).
    let not_a_token = address(KEYS[8]);
    let a = authorization(KEYS[1], pay_to, 1_000, 23);
    let stranger = v2_body(&a, &sign(KEYS[1], &a, not_a_token, "USD Coin", "2"), not_a_token, pay_to, 1_000);
    cases.push(("asset_not_allowed", stranger.clone()));
    assert_refused_and_nothing_sent(&w, &w.facility, pay_to, &cases);

    // A minimum per asset: MIN_AMOUNT_<NAME>=<asset>:<amount>.
    let minimum = format!("{}:1001", w.token.to_string().to_lowercase());
    let strict = Facility::with_vars(&w.anvil.url, &[("MIN_AMOUNT_BASE_SEPOLIA", &minimum)]);
    let below = payment(&w, KEYS[1], pay_to, 1_000, 24);
    assert_refused_and_nothing_sent(&w, &strict, pay_to, &[("amount_below_minimum", below.clone())]);
    let (_, settled) = w.facility.post("/settle", &below);
    assert_eq!(settled["success"], true, "the default minimum is 1: {settled}");

    // ALLOW_ANY_ASSET takes any token, without an allowlist: TestUSDC settles, the EOA is then refused
    // by the scheme's own check, still with nothing sent.
    let any = Facility::with_vars(&w.anvil.url, &[("ASSET_ALLOWLIST_BASE_SEPOLIA", ""), ("ALLOW_ANY_ASSET", "true")]);
    assert_refused_and_nothing_sent(&w, &any, pay_to, &[("invalid_exact_evm_eip3009_not_supported", stranger)]);
    let (_, settled) = any.post("/settle", &payment(&w, KEYS[1], pay_to, 1_000, 25));
    assert_eq!(settled["success"], true, "{settled}");
    let unlisted = Facility::with_vars(&w.anvil.url, &[("ASSET_ALLOWLIST_BASE_SEPOLIA", "")]);
    let refused = payment(&w, KEYS[1], pay_to, 1_000, 26);
    assert_refused_and_nothing_sent(&w, &unlisted, pay_to, &[("asset_not_allowed", refused)]);
}

#[test]
fn a_v1_payment_settles_and_answers_with_legacy_codes() {
    let w = world();
    let pay_to = address(KEYS[3]);
    let a = authorization(KEYS[4], pay_to, 2_000, 7);
    let signature = sign(KEYS[4], &a, w.token, "USD Coin", "2");
    let requirements = json!({
        "scheme": "exact", "network": "base-sepolia", "maxAmountRequired": "2000", "resource": "http://127.0.0.1/r",
        "description": "test", "mimeType": "application/json", "payTo": pay_to, "maxTimeoutSeconds": 60,
        "asset": w.token, "extra": {"name": "USD Coin", "version": "2"},
    });
    let body = json!({
        "x402Version": 1,
        "paymentPayload": {"x402Version": 1, "scheme": "exact", "network": "base-sepolia",
            "payload": {"signature": signature, "authorization": authorization_json(&a)}},
        "paymentRequirements": requirements,
    });
    let before = balance(&w.anvil, w.token, pay_to);
    let (_, settle) = w.facility.post("/settle", &body);
    assert_eq!(settle["success"], true, "{settle}");
    assert_eq!(settle["network"], "base-sepolia");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(2_000));

    let (_, again) = w.facility.post("/settle", &body);
    assert_used(&again, &settle, "invalid_transaction_state");
    let (_, verify) = w.facility.post("/verify", &body);
    assert_eq!(verify["invalidReason"], "invalid_transaction_state");
    let mut wrong = body.clone();
    wrong["paymentRequirements"]["maxAmountRequired"] = json!("2001");
    let (_, verify) = w.facility.post("/verify", &wrong);
    assert_eq!(verify["invalidReason"], "invalid_exact_evm_payload_authorization_value");
}

/// Every negative case of the checklist, against the real chain, each leaving the chain untouched.
#[test]
fn each_negative_case_returns_its_code_and_sends_nothing() {
    let w = world();
    let pay_to = address(KEYS[2]);
    let facilitator = address(FACILITATOR_KEY);
    let sent = w.anvil.nonce(facilitator);
    let before = balance(&w.anvil, w.token, pay_to);
    let good = payment(&w, KEYS[1], pay_to, 1_000, 9);

    let mut cases: Vec<(&str, Value)> = Vec::new();

    let mut b = good.clone();
    b["paymentPayload"]["payload"]["signature"] =
        json!(sign(KEYS[5], &authorization(KEYS[1], pay_to, 1_000, 9), w.token, "USD Coin", "2"));
    cases.push(("invalid_exact_evm_signature", b));

    let mut b = good.clone();
    b["paymentRequirements"]["payTo"] = json!(address(KEYS[3]));
    cases.push(("invalid_exact_evm_recipient_mismatch", b));

    let mut expired = authorization(KEYS[1], pay_to, 1_000, 10);
    expired.valid_before = U256::from(now_secs() + 3);
    let sig = sign(KEYS[1], &expired, w.token, "USD Coin", "2");
    cases.push((
        "invalid_exact_evm_payload_authorization_valid_before",
        v2_body(&expired, &sig, w.token, pay_to, 1_000),
    ));

    let mut early = authorization(KEYS[1], pay_to, 1_000, 11);
    early.valid_after = U256::from(now_secs() + 600);
    let sig = sign(KEYS[1], &early, w.token, "USD Coin", "2");
    cases.push(("invalid_exact_evm_payload_authorization_valid_after", v2_body(&early, &sig, w.token, pay_to, 1_000)));

    let mut b = good.clone();
    b["paymentRequirements"]["amount"] = json!("999");
    cases.push(("invalid_exact_evm_authorization_value", b));

    // A payer with no tokens: a fresh key.
    let poor = "0x00000000000000000000000000000000000000000000000000000000000000a1";
    cases.push(("invalid_exact_evm_insufficient_balance", payment(&w, poor, pay_to, 1_000, 1)));

    // Signed under the domain the requirements name, but the token's domain differs.
    let a = authorization(KEYS[1], pay_to, 1_000, 12);
    let mut b = v2_body(&a, &sign(KEYS[1], &a, w.token, "USDC", "2"), w.token, pay_to, 1_000);
    b["paymentRequirements"]["extra"]["name"] = json!("USDC");
    cases.push(("invalid_exact_evm_token_name_mismatch", b));

    let a = authorization(KEYS[1], pay_to, 1_000, 13);
    let mut b = v2_body(&a, &sign(KEYS[1], &a, w.token, "USD Coin", "1"), w.token, pay_to, 1_000);
    b["paymentRequirements"]["extra"]["version"] = json!("1");
    cases.push(("invalid_exact_evm_token_version_mismatch", b));

    let mut b = good.clone();
    b["paymentRequirements"]["extra"] = json!({"name": "USD Coin"});
    cases.push(("invalid_exact_evm_missing_eip712_domain", b));

    let mut b = good.clone();
    b["paymentPayload"]["accepted"]["network"] = json!("eip155:8453");
    cases.push(("invalid_exact_evm_network_mismatch", b));

    for (code, body) in &cases {
        for path in ["/verify", "/settle"] {
            let (status, reply) = w.facility.post(path, body);
            assert_eq!(status, 200, "{code} {path}: {reply}");
            let got = if path == "/verify" { &reply["invalidReason"] } else { &reply["errorReason"] };
            assert_eq!(got, code, "{path}: {reply}");
            if path == "/settle" {
                assert_eq!(reply["transaction"], "");
                assert_eq!(reply["network"], "eip155:84532");
            }
        }
    }
    assert_eq!(w.anvil.nonce(facilitator), sent, "no transaction was sent");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before);

    // The untouched payment is still good after all that.
    let (_, settle) = w.facility.post("/settle", &good);
    assert_eq!(settle["success"], true, "{settle}");
}

#[test]
fn a_cronos_request_without_extra_reads_the_domain_from_the_token() {
    let w = world();
    let pay_to = address(KEYS[6]);
    let a = authorization(KEYS[7], pay_to, 5_000, 3);
    let signature = sign(KEYS[7], &a, w.token, "USD Coin", "2");
    let header = json!({"x402Version": 1, "scheme": "exact", "network": "base-sepolia", "payload": {
        "from": a.from, "to": a.to, "value": "5000", "validAfter": 0, "validBefore": a.valid_before.to::<u64>(),
        "nonce": a.nonce, "signature": signature, "asset": w.token}});
    let body = json!({"x402Version": 1, "paymentHeader": x402_edge::protocol::header::encode(&header),
        "paymentRequirements": {"scheme": "exact", "network": "base-sepolia", "payTo": pay_to, "asset": w.token,
        "maxAmountRequired": "5000", "maxTimeoutSeconds": 300}});

    let (status, verify) = w.facility.post("/v2/x402/verify", &body);
    assert_eq!(status, 200);
    assert_eq!(verify, json!({"isValid": true, "invalidReason": null}));

    let before = balance(&w.anvil, w.token, pay_to);
    let (_, settle) = w.facility.post("/v2/x402/settle", &body);
    assert_eq!(settle["event"], "payment.settled", "{settle}");
    assert_eq!(settle["value"], "5000");
    assert_eq!(settle["from"], a.from.to_checksum(None));
    assert!(settle["blockNumber"].as_u64().is_some());
    assert!(settle["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(5_000));

    // A retry is refused, naming the transaction; verifying the used authorization says why it is spent.
    let (_, again) = w.facility.post("/v2/x402/settle", &body);
    assert_eq!(again["event"], "payment.failed", "{again}");
    assert_eq!(again["error"], "Authorization already used");
    assert_eq!(again["txHash"], settle["txHash"]);
    let (_, verify) = w.facility.post("/v2/x402/verify", &body);
    assert_eq!(verify, json!({"isValid": false, "invalidReason": "Authorization already used"}));
}

#[test]
fn a_nonce_taken_outside_the_facilitator_is_recovered_from_the_chain() {
    let w = world();
    let pay_to = address(KEYS[2]);
    let (_, first) = w.facility.post("/settle", &payment(&w, KEYS[1], pay_to, 100, 21));
    assert_eq!(first["success"], true, "{first}");
    // Someone else uses the facilitator's key: the nonce the facilitator expects next is taken.
    w.anvil.send(address(FACILITATOR_KEY), Some(address(KEYS[8])), Vec::new());
    let (_, second) = w.facility.post("/settle", &payment(&w, KEYS[1], pay_to, 100, 22));
    assert_eq!(second["success"], true, "{second}");
    assert_ne!(first["transaction"], second["transaction"]);
}

#[test]
fn settles_through_the_second_rpc_when_the_first_is_dead() {
    let w = world();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let facility = Facility::with_rpc(&format!("http://127.0.0.1:{closed},{}", w.anvil.url));
    let pay_to = address(KEYS[2]);
    let before = balance(&w.anvil, w.token, pay_to);
    let (_, settle) = facility.post("/settle", &payment(&w, KEYS[1], pay_to, 700, 31));
    assert_eq!(settle["success"], true, "{settle}");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(700));
}

#[test]
fn a_settle_above_the_gas_price_ceiling_is_refused_and_sends_nothing() {
    let w = world();
    // anvil's base fee starts at 1 gwei: the max fee (2 × base + tip) is above a 1 gwei ceiling.
    let facility = Facility::with_vars(&w.anvil.url, &[("EVM_MAX_FEE_PER_GAS_GWEI", "1")]);
    let sent = w.anvil.nonce(address(FACILITATOR_KEY));
    let body = payment(&w, KEYS[1], address(KEYS[2]), 700, 41);
    let (_, settle) = facility.post("/settle", &body);
    assert_eq!(settle["success"], false, "{settle}");
    assert_eq!(settle["errorReason"], "gas_ceiling_exceeded");
    assert!(settle["errorMessage"].as_str().unwrap().contains("ceiling"), "{settle}");
    assert_eq!(settle["transaction"], "");
    assert_eq!(w.anvil.nonce(address(FACILITATOR_KEY)), sent);
    // The refusal released the payment: with a sane ceiling it settles.
    let (_, settle) = w.facility.post("/settle", &body);
    assert_eq!(settle["success"], true, "{settle}");
}

#[test]
fn settle_status_answers_by_payment_identity_and_by_transaction() {
    let w = world();
    let a = authorization(KEYS[1], address(KEYS[2]), 900, 51);
    let body = v2_body(&a, &sign(KEYS[1], &a, w.token, "USD Coin", "2"), w.token, address(KEYS[2]), 900);
    let identity = format!("network=eip155%3A84532&asset={}&from={}&nonce={}", w.token, a.from, a.nonce);

    let (status, before) = w.facility.get("/settle/status", &identity);
    assert_eq!((status, before["state"].as_str()), (200, Some("unknown")));

    let (_, settle) = w.facility.post("/settle", &body);
    let tx = settle["transaction"].as_str().unwrap();
    let (_, after) = w.facility.get("/settle/status", &identity);
    assert_eq!(after["state"], "done");
    assert_eq!(after["success"], true);
    assert_eq!(after["transaction"], tx);
    assert_eq!(after["payer"], a.from.to_checksum(None));

    let (_, mined) = w.facility.get("/settle/status", &format!("network=base-sepolia&transaction={tx}"));
    assert_eq!(mined["state"], "success");
    assert!(mined["blockNumber"].as_u64().is_some());
    let unknown = format!("network=base-sepolia&transaction=0x{}", "ab".repeat(32));
    assert_eq!(w.facility.get("/settle/status", &unknown).1["state"], "unknown");

    assert_eq!(w.facility.get("/settle/status", "network=eip155:1&transaction=0x00").0, 400);
    assert_eq!(w.facility.get("/settle/status", "network=base-sepolia&transaction=0x00").0, 400);
    assert_eq!(w.facility.get("/settle/status", "network=base-sepolia").0, 400);
}

#[test]
fn settles_are_spread_over_several_signers() {
    let w = world();
    let second = KEYS[8];
    let keys = format!("{FACILITATOR_KEY},{second}");
    let facility = Facility::with_vars(&w.anvil.url, &[("EVM_PRIVATE_KEY", &keys)]);
    let (_, supported) = facility.get("/supported", "");
    assert_eq!(supported["signers"]["eip155:*"].as_array().unwrap().len(), 2);
    let signers = [address(FACILITATOR_KEY), address(second)];
    let before: Vec<u64> = signers.iter().map(|s| w.anvil.nonce(*s)).collect();
    for nonce in 60..72 {
        let (_, settle) = facility.post("/settle", &payment(&w, KEYS[1], address(KEYS[2]), 10, nonce));
        assert_eq!(settle["success"], true, "{settle}");
    }
    let sent: Vec<u64> = signers.iter().zip(&before).map(|(s, b)| w.anvil.nonce(*s) - b).collect();
    assert_eq!(sent.iter().sum::<u64>(), 12);
    assert!(sent.iter().all(|n| *n > 0), "both signers settle: {sent:?}");
}

#[test]
fn a_contract_wallet_pays_with_an_erc1271_signature() {
    let w = world();
    let owner = KEYS[3];
    let wallet = deploy_wallet(&w.anvil, w.token, owner);
    let pay_to = address(KEYS[2]);
    let mut a = authorization(owner, pay_to, 3_000, 81);
    a.from = wallet;
    // The wallet accepts its owner's ECDSA signature of the EIP-712 digest.
    let signature = sign(owner, &a, w.token, "USD Coin", "2");
    let body = v2_body(&a, &signature, w.token, pay_to, 3_000);

    let (_, verify) = w.facility.post("/verify", &body);
    assert_eq!(verify, json!({"isValid": true, "payer": wallet.to_checksum(None)}));
    let before = balance(&w.anvil, w.token, pay_to);
    let (_, settle) = w.facility.post("/settle", &body);
    assert_eq!(settle["success"], true, "{settle}");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(3_000));
    assert_eq!(balance(&w.anvil, w.token, wallet), U256::from(1_000_000_000u64 - 3_000));

    // Someone else's signature: the wallet refuses it, and nothing is sent.
    let mut b = authorization(owner, pay_to, 3_000, 82);
    b.from = wallet;
    let stranger = sign(KEYS[5], &b, w.token, "USD Coin", "2");
    let sent = w.anvil.nonce(address(FACILITATOR_KEY));
    for path in ["/verify", "/settle"] {
        let (_, reply) = w.facility.post(path, &v2_body(&b, &stranger, w.token, pay_to, 3_000));
        let reason = if path == "/verify" { &reply["invalidReason"] } else { &reply["errorReason"] };
        assert_eq!(reason, "invalid_exact_evm_signature", "{reply}");
    }
    assert_eq!(w.anvil.nonce(address(FACILITATOR_KEY)), sent);
}

#[test]
fn a_long_signature_from_an_address_without_code_is_an_undeployed_smart_wallet() {
    let w = world();
    let a = authorization(KEYS[1], address(KEYS[2]), 10, 91);
    let long = format!("{}{}", sign(KEYS[1], &a, w.token, "USD Coin", "2"), "ab".repeat(40));
    let (_, verify) = w.facility.post("/verify", &v2_body(&a, &long, w.token, address(KEYS[2]), 10));
    assert_eq!(verify["invalidReason"], "invalid_exact_evm_payload_undeployed_smart_wallet");
}

/// A settle cut off after its broadcast (an isolate that died, a restart) left its transaction in the
/// ledger: the next settle takes the outcome from the receipt and sends nothing.
#[test]
fn a_payment_in_flight_with_a_recorded_transaction_is_reconciled_from_its_receipt() {
    use x402_edge::ledger::Ledger;
    use x402_edge::ledger::LedgerOp;
    use x402_edge::schemes::ledger_key as payment_key;

    let w = world();
    let pay_to = address(KEYS[2]);
    let a = authorization(KEYS[1], pay_to, 1_234, 99);
    let signature = sign(KEYS[1], &a, w.token, "USD Coin", "2");
    let body = v2_body(&a, &signature, w.token, pay_to, 1_234);
    let receipt = w.anvil.send(address(KEYS[0]), Some(w.token), transfer_calldata(&a, &signature));
    let tx = receipt["transactionHash"].as_str().unwrap().to_string();

    let request = x402_edge::schemes::parse_request(body.to_string().as_bytes()).unwrap();
    let key = payment_key(&request);
    let ledger = w.facility.facilitator.ledger();
    let claim = LedgerOp::Claim { now_ms: now_secs() * 1000, hold_ms: 0, fingerprint: None };
    pollster::block_on(ledger.apply(&key, claim)).unwrap();
    pollster::block_on(ledger.apply(&key, LedgerOp::RecordTransaction { transaction: tx.clone(), raw: None })).unwrap();

    let sent = w.anvil.nonce(address(FACILITATOR_KEY));
    let (_, settle) = w.facility.post("/settle", &body);
    assert_eq!(settle["success"], true, "{settle}");
    assert_eq!(settle["transaction"], tx.as_str());
    assert_eq!(w.anvil.nonce(address(FACILITATOR_KEY)), sent, "nothing was sent again");
    let (_, again) = w.facility.post("/settle", &body);
    assert_used(&again, &settle, "invalid_exact_evm_nonce_already_used");
}

/// ERC-6492: a wallet that does not exist yet signs; the facilitator deploys it through an allowed
/// factory (fail closed) and then settles from it as the ERC-1271 wallet it has become.
#[test]
fn a_counterfactual_wallet_is_deployed_through_an_allowed_factory_then_pays() {
    use alloy_primitives::B256;
    use alloy_sol_types::SolCall;
    use x402_edge::chains::evm::signature::Erc6492Signature;

    let w = world();
    let factory = deploy_wallet_factory(&w.anvil);
    let owner = KEYS[4];
    let salt = B256::repeat_byte(7);
    let wallet = counterfactual_wallet(&w.anvil, factory, owner, salt);
    mint(&w.anvil, w.token, wallet, 50_000);
    let pay_to = address(KEYS[2]);
    let wrapped_payment = |value: u64, nonce: u8| {
        let mut a = authorization(owner, pay_to, value, nonce);
        a.from = wallet;
        let inner = sign(owner, &a, w.token, "USD Coin", "2");
        let create = ITestWalletFactory::createWalletCall { owner: address(owner), salt }.abi_encode();
        let wrapped = Erc6492Signature {
            factory,
            factory_calldata: create.into(),
            signature: hex::decode(&inner[2..]).unwrap().into(),
        };
        v2_body(&a, &format!("0x{}", hex::encode(wrapped.encode())), w.token, pay_to, value)
    };
    let body = wrapped_payment(5_000, 120);
    let facilitator = address(FACILITATOR_KEY);

    // A factory that is not on the allowlist: nothing is deployed, nothing is sent.
    let elsewhere = Facility::with_vars(&w.anvil.url, &[("EIP6492_ALLOWED_FACTORIES", &address(KEYS[0]).to_string())]);
    let sent = w.anvil.nonce(facilitator);
    for path in ["/verify", "/settle"] {
        let (_, reply) = elsewhere.post(path, &body);
        let reason = if path == "/verify" { &reply["invalidReason"] } else { &reply["errorReason"] };
        assert_eq!(reason, "invalid_exact_evm_payload_undeployed_smart_wallet", "{reply}");
    }
    assert_eq!(w.anvil.nonce(facilitator), sent);
    assert_eq!(code_len(&w.anvil, wallet), 0);

    // An allowed factory: verify simulates deployment and payment together and deploys nothing.
    let allowed = Facility::with_vars(&w.anvil.url, &[("EIP6492_ALLOWED_FACTORIES", &factory.to_string())]);
    let (_, verify) = allowed.post("/verify", &body);
    assert_eq!(verify, json!({"isValid": true, "payer": wallet.to_checksum(None)}));
    assert_eq!(code_len(&w.anvil, wallet), 0);
    // A tampered authorization: the simulated wallet, once deployed, rejects the inner signature.
    let mut forged = wrapped_payment(5_000, 120);
    forged["paymentPayload"]["payload"]["authorization"]["value"] = json!("5001");
    forged["paymentRequirements"]["amount"] = json!("5001");
    forged["paymentPayload"]["accepted"]["amount"] = json!("5001");
    let (_, refused) = allowed.post("/verify", &forged);
    assert_eq!(refused["invalidReason"], "invalid_exact_evm_signature", "{refused}");

    let before = balance(&w.anvil, w.token, pay_to);
    let (_, settle) = allowed.post("/settle", &body);
    assert_eq!(settle["success"], true, "{settle}");
    assert!(code_len(&w.anvil, wallet) > 0, "the wallet is deployed");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(5_000));
    assert_eq!(w.anvil.nonce(facilitator), sent + 2, "one deployment, one transfer");
    let (_, again) = allowed.post("/settle", &body);
    assert_used(&again, &settle, "invalid_exact_evm_nonce_already_used");

    // Deployed now, its wrapped signatures are plain ERC-1271 ones: no factory needs allowing.
    let (_, next) = elsewhere.post("/settle", &wrapped_payment(1_000, 121));
    assert_eq!(next["success"], true, "{next}");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(6_000));
    assert_eq!(w.anvil.nonce(facilitator), sent + 3);
}

/// A settle whose transaction sits unmined replaces it with the same call at higher fees; only one
/// of them can be mined, and the response names the one that was.
#[test]
fn a_stuck_settle_is_replaced_with_a_fee_bump_and_pays_once() {
    let w = world();
    let pay_to = address(KEYS[2]);
    let body = payment(&w, KEYS[1], pay_to, 2_500, 130);
    let facilitator = address(FACILITATOR_KEY);
    let sent = w.anvil.nonce(facilitator);
    let before = balance(&w.anvil, w.token, pay_to);
    rpc(&w.anvil.url, "evm_setAutomine", json!([false]));
    let facility =
        // Plain sends: with automine off a synchronous send waits, and this test's transport (blocking
        // ureq) cannot be raced; the Worker's e2e test (fee-bump.test.mjs) covers the synchronous one.
        Facility::with_vars(
            &w.anvil.url,
            &[("EVM_FEE_BUMP_SECONDS", "1"), ("EVM_RECEIPT_TIMEOUT_SECONDS", "20"), ("EVM_SYNC_SEND", "off")],
        );

    // Watches the pool: notes the first transaction, mines once a replacement took its place.
    let url = w.anvil.url.clone();
    let miner = std::thread::spawn(move || {
        let pending = || -> Option<Value> {
            let pool = rpc(&url, "txpool_content", json!([]));
            let by_sender = pool["pending"]
                .as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&facilitator.to_string()))?
                .1
                .clone();
            by_sender.as_object()?.values().next().cloned()
        };
        let started = std::time::Instant::now();
        let mut first: Option<Value> = None;
        while started.elapsed() < std::time::Duration::from_secs(15) {
            match (pending(), &first) {
                (Some(tx), None) => first = Some(tx),
                (Some(tx), Some(original)) if tx["hash"] != original["hash"] => {
                    rpc(&url, "evm_mine", json!([]));
                    return first;
                }
                _ => {}
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        rpc(&url, "evm_mine", json!([]));
        None
    });
    let (_, settle) = facility.post("/settle", &body);
    let original = miner.join().unwrap().expect("the settle's transaction was replaced within 15 s");

    assert_eq!(settle["success"], true, "{settle}");
    assert_ne!(settle["transaction"], original["hash"], "the replacement was mined");
    let mined = rpc(&w.anvil.url, "eth_getTransactionByHash", json!([settle["transaction"]]));
    assert_eq!(mined["nonce"], original["nonce"]);
    let fee =
        |tx: &Value| u128::from_str_radix(tx["maxFeePerGas"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert!(fee(&mined) > fee(&original), "{} > {}", fee(&mined), fee(&original));
    assert!(rpc(&w.anvil.url, "eth_getTransactionReceipt", json!([original["hash"]])).is_null());
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(2_500));
    assert_eq!(w.anvil.nonce(facilitator), sent + 1);
}

/// A settle cut off between recording its transaction and broadcasting it: the ledger holds a hash no
/// node knows. The next settle broadcasts the same signed bytes again (it cannot pay twice: same
/// nonce, same hash); and when that nonce went to another transaction meanwhile, the recorded one can
/// never be mined, so the payment is settled anew. Either way it moves exactly once.
#[test]
fn a_recorded_transaction_that_was_never_broadcast_is_revived_or_replaced() {
    use x402_edge::chains::evm::tx::{self, ContractCall, Fees};
    use x402_edge::ledger::Ledger;
    use x402_edge::ledger::LedgerOp;
    use x402_edge::schemes::ledger_key as payment_key;

    let w = world();
    let facilitator = address(FACILITATOR_KEY);
    let pay_to = address(KEYS[2]);
    for (nonce_byte, taken_meanwhile) in [(140u8, false), (141u8, true)] {
        let a = authorization(KEYS[1], pay_to, 2_000, nonce_byte);
        let signature = sign(KEYS[1], &a, w.token, "USD Coin", "2");
        let body = v2_body(&a, &signature, w.token, pay_to, 2_000);
        let input = transfer_calldata(&a, &signature);
        let nonce = w.anvil.nonce(facilitator);
        let fees = Fees::Eip1559 { max_fee_per_gas: 10_000_000_000, max_priority_fee_per_gas: 1_000_000_000 };
        let call =
            ContractCall { chain_id: CHAIN_ID, nonce, gas_limit: 200_000, fees, to: w.token, input: input.into() };
        let signed = pollster::block_on(tx::sign(&signer(FACILITATOR_KEY), &call)).unwrap();

        // The ledger holds the transaction, which was never broadcast.
        let request = x402_edge::schemes::parse_request(body.to_string().as_bytes()).unwrap();
        let key = payment_key(&request);
        let ledger = w.facility.facilitator.ledger();
        let claim = LedgerOp::Claim { now_ms: now_secs() * 1000, hold_ms: 0, fingerprint: None };
        pollster::block_on(ledger.apply(&key, claim)).unwrap();
        let raw = Some(format!("0x{}", hex::encode(&signed.raw)));
        let record = LedgerOp::RecordTransaction { transaction: signed.hash.to_string(), raw };
        pollster::block_on(ledger.apply(&key, record)).unwrap();
        if taken_meanwhile {
            // Another transaction of the facilitator's takes that nonce.
            w.anvil.send(facilitator, Some(address(KEYS[0])), Vec::new());
        }

        let before = balance(&w.anvil, w.token, pay_to);
        let (_, settle) = w.facility.post("/settle", &body);
        assert_eq!(settle["success"], true, "{settle}");
        assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(2_000), "moved exactly once");
        let revived = settle["transaction"] == signed.hash.to_string();
        assert_eq!(revived, !taken_meanwhile, "{settle}");
        let (_, again) = w.facility.post("/settle", &body);
        assert_used(&again, &settle, "invalid_exact_evm_nonce_already_used");
    }
}

/// A repeated settle of a settled payment: refused with `reason`, naming the first one's transaction.
fn assert_used(again: &Value, settle: &Value, reason: &str) {
    assert_eq!(again["success"], false, "{again}");
    assert_eq!(again["errorReason"], reason, "{again}");
    assert_eq!(again["transaction"], settle["transaction"], "{again}");
}

/// The standard's `settlement_pending`: a settle whose receipt does not come in time answers it with
/// the transaction; verify refuses the payment meanwhile; the one retry reconciles from the chain and
/// answers success, sending nothing; every later settle is refused. Exactly one success.
#[test]
fn a_settle_without_a_receipt_in_time_is_pending_and_its_retry_answers_success_once() {
    let w = world();
    let pay_to = address(KEYS[2]);
    let body = payment(&w, KEYS[1], pay_to, 3_300, 150);
    let facilitator = address(FACILITATOR_KEY);
    let before = balance(&w.anvil, w.token, pay_to);
    rpc(&w.anvil.url, "evm_setAutomine", json!([false]));
    // Plain sends, as in the fee-bump test above (settlement-pending.test.mjs covers the synchronous one).
    let facility = Facility::without_receipts_in_time(&w.anvil.url);

    let (_, pending) = facility.post("/settle", &body);
    assert_eq!(pending["success"], false, "{pending}");
    assert_eq!(pending["errorReason"], "settlement_pending", "{pending}");
    let tx = pending["transaction"].as_str().unwrap().to_string();
    assert_eq!(tx.len(), 66, "{pending}");
    let (_, verify) = facility.post("/verify", &body);
    assert_eq!(verify["invalidReason"], "duplicate_settlement", "in flight: {verify}");

    rpc(&w.anvil.url, "evm_mine", json!([]));
    rpc(&w.anvil.url, "evm_setAutomine", json!([true]));
    let sent = w.anvil.nonce(facilitator);
    let (_, retry) = facility.post("/settle", &body);
    assert_eq!(retry["success"], true, "{retry}");
    assert_eq!(retry["transaction"], tx.as_str());
    let (_, again) = facility.post("/settle", &body);
    assert_used(&again, &retry, "invalid_exact_evm_nonce_already_used");
    assert_eq!(w.anvil.nonce(facilitator), sent, "the retry sent nothing");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(3_300), "paid once");
}

/// A payment held by a settle that is still working on it is refused at once by settle and verify,
/// with nothing sent, and not handed the first settle's outcome later.
#[test]
fn a_payment_held_by_another_settle_is_refused_at_once() {
    use x402_edge::ledger::Ledger;
    use x402_edge::ledger::LedgerOp;
    use x402_edge::schemes::ledger_key as payment_key;

    let w = world();
    let pay_to = address(KEYS[2]);
    let body = payment(&w, KEYS[1], pay_to, 700, 151);
    let request = x402_edge::schemes::parse_request(body.to_string().as_bytes()).unwrap();
    let key = payment_key(&request);
    let claim = LedgerOp::Claim { now_ms: now_secs() * 1000, hold_ms: 60_000, fingerprint: None };
    pollster::block_on(w.facility.facilitator.ledger().apply(&key, claim)).unwrap();

    let sent = w.anvil.nonce(address(FACILITATOR_KEY));
    let (_, settle) = w.facility.post("/settle", &body);
    assert_eq!(
        (settle["success"].as_bool(), settle["errorReason"].as_str()),
        (Some(false), Some("duplicate_settlement"))
    );
    let (_, verify) = w.facility.post("/verify", &body);
    assert_eq!(verify["invalidReason"], "duplicate_settlement", "{verify}");
    assert_eq!(w.anvil.nonce(address(FACILITATOR_KEY)), sent, "nothing sent");
}

/// One EIP-3009 payment in each dialect the facilitator speaks: v2, v1, and Cronos.
#[derive(Debug, Clone, Copy)]
enum Dialect {
    V2,
    V1,
    Cronos,
}

/// The verify and settle bodies and paths of one payment in `dialect`.
fn dialect_request(
    w: &World,
    dialect: Dialect,
    payer: &str,
    pay_to: Address,
    value: u64,
    nonce: u8,
) -> (Value, &'static str) {
    let a = authorization(payer, pay_to, value, nonce);
    let signature = sign(payer, &a, w.token, "USD Coin", "2");
    match dialect {
        Dialect::V2 => (v2_body(&a, &signature, w.token, pay_to, value), ""),
        Dialect::V1 => {
            let requirements = json!({
                "scheme": "exact", "network": "base-sepolia", "maxAmountRequired": value.to_string(),
                "resource": "http://127.0.0.1/r", "description": "", "mimeType": "application/json", "payTo": pay_to,
                "maxTimeoutSeconds": 60, "asset": w.token, "extra": {"name": "USD Coin", "version": "2"},
            });
            let payload = json!({"x402Version": 1, "scheme": "exact", "network": "base-sepolia",
                "payload": {"signature": signature, "authorization": authorization_json(&a)}});
            (json!({"x402Version": 1, "paymentPayload": payload, "paymentRequirements": requirements}), "")
        }
        Dialect::Cronos => {
            let header = json!({"x402Version": 1, "scheme": "exact", "network": "base-sepolia", "payload": {
                "from": a.from, "to": a.to, "value": value.to_string(), "validAfter": 0,
                "validBefore": a.valid_before.to::<u64>(), "nonce": a.nonce, "signature": signature, "asset": w.token}});
            let body = json!({"x402Version": 1, "paymentHeader": x402_edge::protocol::header::encode(&header),
                "paymentRequirements": {"scheme": "exact", "network": "base-sepolia", "payTo": pay_to, "asset": w.token,
                "maxAmountRequired": value.to_string(), "maxTimeoutSeconds": 300,
                "extra": {"name": "USD Coin", "version": "2"}}});
            (body, "/v2/x402")
        }
    }
}

/// Whether a settle answer, in any dialect, is a success.
fn settled_ok(answer: &Value) -> bool {
    answer["success"] == true || answer["event"] == "payment.settled"
}

/// Whether a verify answer, in any dialect, is valid.
fn verified_ok(answer: &Value) -> bool {
    answer["isValid"] == true
}

/// For random sequences of verifies and settles of one payment across the v1, v2 and Cronos routes:
/// exactly one settle answers success (the first), verifies before it pass and after it fail, and the
/// amount moves once.
#[test]
fn any_sequence_of_settles_and_verifies_across_dialects_has_exactly_one_success() {
    use proptest::prelude::*;
    use std::cell::Cell;

    let w = world();
    let pay_to = address(KEYS[5]);
    let next_nonce = Cell::new(160u8);
    let dialect = prop_oneof![Just(Dialect::V2), Just(Dialect::V1), Just(Dialect::Cronos)];
    let step = (dialect, any::<bool>());
    let config = ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(steps in proptest::collection::vec(step, 1..7))| {
        let nonce = next_nonce.get();
        next_nonce.set(nonce + 1);
        let before = balance(&w.anvil, w.token, pay_to);
        let mut successes = 0;
        for (dialect, is_settle) in steps.iter().copied() {
            let (body, prefix) = dialect_request(&w, dialect, KEYS[1], pay_to, 900, nonce);
            let path = format!("{prefix}/{}", if is_settle { "settle" } else { "verify" });
            let (status, answer) = w.facility.post(&path, &body);
            prop_assert_eq!(status, 200, "{} {}", path, answer);
            if is_settle {
                let ok = settled_ok(&answer);
                prop_assert_eq!(ok, successes == 0, "{:?} {}: {}", dialect, path, answer);
                successes += usize::from(ok);
            } else {
                prop_assert_eq!(verified_ok(&answer), successes == 0, "{:?} {}: {}", dialect, path, answer);
            }
        }
        let moved = if successes == 1 { U256::from(900) } else { U256::ZERO };
        prop_assert_eq!(balance(&w.anvil, w.token, pay_to), before + moved);
    });
}

/// A v2 body paying with `a`, signed by `signer_key` and wrapped for ERC-6492 with `factory`'s call.
fn erc6492_body(w: &World, a: &Eip3009Authorization, signer_key: &str, factory: Address, call: Vec<u8>) -> Value {
    use x402_edge::chains::evm::signature::Erc6492Signature;
    let inner = hex::decode(&sign(signer_key, a, w.token, "USD Coin", "2")[2..]).unwrap();
    let wrapped = Erc6492Signature { factory, factory_calldata: call.into(), signature: inner.into() };
    v2_body(a, &format!("0x{}", hex::encode(wrapped.encode())), w.token, a.to, a.value.to::<u64>())
}

/// What the facilitator has to spend: its nonce and its ETH.
fn facilitator_funds(w: &World) -> (u64, U256) {
    let facilitator = address(FACILITATOR_KEY);
    (w.anvil.nonce(facilitator), eth_balance(&w.anvil, facilitator))
}

/// `path`'s reason code: `invalidReason` of a verify, `errorReason` of a settle.
fn refusal(facility: &Facility, path: &str, body: &Value) -> Value {
    let (status, reply) = facility.post(path, body);
    assert_eq!(status, 200, "{reply}");
    if path == "/settle" {
        assert_eq!((&reply["success"], &reply["transaction"]), (&json!(false), &json!("")), "{reply}");
        return reply["errorReason"].clone();
    }
    assert_eq!(reply["isValid"], false, "{reply}");
    reply["invalidReason"].clone()
}

/// A contract that answers like USDC but moves nothing, and a 5-byte contract that answers every call
/// with a zero word: both pass the plain simulation of `transferWithAuthorization`, neither shows the
/// value moving between the balances around it, so neither gets a transaction.
#[test]
fn a_contract_posing_as_a_token_gets_no_transaction() {
    let w = world();
    let pay_to = address(KEYS[2]);
    let fakes = [deploy_fake_token(&w.anvil, U256::ZERO), deploy_five_byte_contract(&w.anvil)];
    let funds = facilitator_funds(&w);
    // Whatever the asset policy: by default they are off the allowlist, and with any asset allowed the
    // simulation still shows that nothing moves.
    let any_asset = Facility::with_vars(&w.anvil.url, &[("ALLOW_ANY_ASSET", "true")]);
    for (i, fake) in fakes.into_iter().enumerate() {
        let a = authorization(KEYS[1], pay_to, 1_000, 150 + i as u8);
        let body = v2_body(&a, &sign(KEYS[1], &a, fake, "USD Coin", "2"), fake, pay_to, 1_000);
        for path in ["/verify", "/settle"] {
            assert_eq!(refusal(&w.facility, path, &body), "asset_not_allowed", "{fake} {path}");
        }
        for path in ["/verify", "/settle", "/settle"] {
            assert_eq!(refusal(&any_asset, path, &body), "invalid_exact_evm_transfer_event_mismatch", "{fake} {path}");
        }
    }
    assert_eq!(facilitator_funds(&w), funds, "no transaction, no gas");
}

/// ERC-6492 wrappers are not signed: anyone can wrap an EOA's authorization with an allowed factory's
/// call that deploys some other wallet. The inner signature passes, but after the factory call `from`
/// has no code, so the deployment does not make the payment payable and nothing is deployed.
#[test]
fn an_erc6492_factory_call_that_deploys_another_wallet_is_refused_and_deploys_nothing() {
    use alloy_primitives::B256;
    use alloy_sol_types::SolCall;

    let w = world();
    let factory = deploy_wallet_factory(&w.anvil);
    let allowed = Facility::with_vars(&w.anvil.url, &[("EIP6492_ALLOWED_FACTORIES", &factory.to_string())]);
    let a = authorization(KEYS[1], address(KEYS[2]), 1_000, 160);
    let funds = facilitator_funds(&w);
    for salt in 1..=3u8 {
        let other = ITestWalletFactory::createWalletCall { owner: address(KEYS[5]), salt: B256::repeat_byte(salt) };
        let body = erc6492_body(&w, &a, KEYS[1], factory, other.abi_encode());
        for path in ["/verify", "/settle"] {
            let code = refusal(&allowed, path, &body);
            assert_eq!(code, "invalid_exact_evm_payload_undeployed_smart_wallet", "{path}");
        }
        let deployed = counterfactual_wallet(&w.anvil, factory, KEYS[5], B256::repeat_byte(salt));
        assert_eq!(code_len(&w.anvil, deployed), 0, "the other wallet was not deployed");
    }
    assert_eq!(facilitator_funds(&w), funds, "no transaction, no gas");
}

/// A deployment that passed its simulation and failed on chain is the one deployment that wallet
/// gets: a second settle, with the same wrapper or a re-wrapped one, or another payment of the wallet
/// (a fresh nonce), sends nothing.
#[test]
fn a_wallet_whose_deployment_failed_gets_no_second_deployment_for_any_payment() {
    use alloy_primitives::B256;
    use alloy_sol_types::SolCall;

    let w = world();
    let factory = deploy_wallet_factory(&w.anvil);
    let allowed = Facility::with_vars(&w.anvil.url, &[("EIP6492_ALLOWED_FACTORIES", &factory.to_string())]);
    let (owner, salt) = (KEYS[4], B256::repeat_byte(9));
    let wallet = counterfactual_wallet(&w.anvil, factory, owner, salt);
    mint(&w.anvil, w.token, wallet, 50_000);
    let mut a = authorization(owner, address(KEYS[2]), 5_000, 170);
    a.from = wallet;
    let failing = ITestWalletFactory::createWalletUnlessPricedCall { owner: address(owner), salt }.abi_encode();
    let failing = erc6492_body(&w, &a, owner, factory, failing);
    let sound = ITestWalletFactory::createWalletCall { owner: address(owner), salt }.abi_encode();
    let sound = erc6492_body(&w, &a, owner, factory, sound);

    let (_, verify) = allowed.post("/verify", &failing);
    assert_eq!(verify["isValid"], true, "the simulation passes: {verify}");
    let (nonce, _) = facilitator_funds(&w);
    assert_eq!(refusal(&allowed, "/settle", &failing), "smart_wallet_deployment_failed");
    assert_eq!(w.anvil.nonce(address(FACILITATOR_KEY)), nonce + 1, "one deployment was sent, and reverted");
    assert_eq!(code_len(&w.anvil, wallet), 0);

    let funds = facilitator_funds(&w);
    let mut fresh = authorization(owner, address(KEYS[2]), 5_000, 171);
    fresh.from = wallet;
    let fresh = erc6492_body(
        &w,
        &fresh,
        owner,
        factory,
        ITestWalletFactory::createWalletUnlessPricedCall { owner: address(owner), salt }.abi_encode(),
    );
    for body in [&failing, &sound, &failing, &fresh] {
        assert_eq!(refusal(&allowed, "/settle", body), "smart_wallet_deployment_failed");
    }
    assert_eq!(facilitator_funds(&w), funds, "not retried: no transaction, no gas");
    assert_eq!(code_len(&w.anvil, wallet), 0);
}

#[test]
fn install_permit2_places_permit2_with_the_canonical_domain_and_both_proxies_without_a_transaction() {
    let anvil = Anvil::start();
    install_permit2(&anvil);
    assert_eq!(anvil.nonce(address(KEYS[0])), 0, "no deployer nonce used");
    assert_eq!(code_len(&anvil, PERMIT2_ADDRESS), 9152);
    let separator = call(&anvil, PERMIT2_ADDRESS, IPermit2Reads::DOMAIN_SEPARATORCall {}.abi_encode());
    // {name: "Permit2", chainId: 84532, verifyingContract: 0x0000…78BA3}
    assert_eq!(hex::encode(separator), "010f27a92fb9a32622f44f001dc4d15706a85b33499cfc2ce9033113ab26592c");
    for proxy in [EXACT_PERMIT2_PROXY_ADDRESS, UPTO_PERMIT2_PROXY_ADDRESS] {
        let permit2 = call(&anvil, proxy, IX402Permit2Proxy::PERMIT2Call {}.abi_encode());
        assert_eq!(Address::from_slice(&permit2[12..]), PERMIT2_ADDRESS);
    }
}
