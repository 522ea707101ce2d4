//! `upto` against a real anvil: payments under one EIP-2612 permit are captured into a session with no
//! chain call, and the sweeper settles the pending sum in one `transferFrom` (after one `permit`).

mod common;

use alloy_primitives::{Address, U256};
use common::*;
use serde_json::{json, Value};
use x402_edge::chains::evm::{eip2612, eip3009};
use x402_edge::ports::EvmSigner;
use x402_edge::protocol::model::PermitPayload;

/// A permit from `owner_key` for the facilitator (spender) with `cap`, and a v2 upto body paying `amount`.
fn upto_body(w: &World, owner_key: &str, pay_to: Address, cap: u64, amount: u64, nonce: u64) -> Value {
    let deadline = now_secs() + 3_600;
    let permit = PermitPayload {
        signature: Default::default(),
        owner: address(owner_key),
        spender: address(FACILITATOR_KEY),
        cap: U256::from(cap),
        deadline: U256::from(deadline),
        nonce: U256::from(nonce),
        session_id: String::new(),
    };
    let digest = eip2612::signing_hash(&permit, &eip3009::domain("USD Coin", "2", CHAIN_ID, w.token));
    let signature = pollster::block_on(signer(owner_key).sign_hash(&digest)).unwrap();
    let requirements = json!({
        "scheme": "upto", "network": "eip155:84532", "amount": amount.to_string(), "asset": w.token,
        "payTo": pay_to, "maxTimeoutSeconds": 3600,
        "extra": {"name": "USD Coin", "version": "2", "maxAmountRequired": cap.to_string()},
    });
    let authorization = json!({
        "from": permit.owner, "to": permit.spender, "value": cap.to_string(),
        "validBefore": deadline.to_string(), "nonce": nonce.to_string(),
    });
    json!({
        "x402Version": 2,
        "paymentPayload": {"x402Version": 2, "accepted": requirements,
            "payload": {"authorization": authorization, "signature": format!("0x{}", hex::encode(signature.as_bytes()))}},
        "paymentRequirements": requirements,
    })
}

fn with_amount(body: &Value, amount: u64) -> Value {
    let mut b = body.clone();
    b["paymentRequirements"]["amount"] = json!(amount.to_string());
    b
}

fn sweep(w: &World, now_ms: u64) -> x402_edge::facilitator::SweepReport {
    pollster::block_on(w.facility.facilitator.sweep(now_ms)).unwrap()
}

#[test]
fn captures_under_one_permit_settle_in_one_batch_and_the_next_batch_reuses_the_allowance() {
    let w = world();
    let (owner, pay_to) = (KEYS[1], address(KEYS[2]));
    let facilitator = address(FACILITATOR_KEY);
    let body = upto_body(&w, owner, pay_to, 10_000, 10, 0);
    let (_, verify) = w.facility.post("/verify", &body);
    assert_eq!(verify, json!({"isValid": true, "payer": address(owner).to_checksum(None)}));

    let sent = w.anvil.nonce(facilitator);
    let before = balance(&w.anvil, w.token, pay_to);
    let mut id = String::new();
    for i in 1..=100u64 {
        let (status, settle) = w.facility.post("/settle", &body);
        assert_eq!((status, &settle["success"], &settle["transaction"]), (200, &json!(true), &json!("")), "{settle}");
        let session = &settle["extensions"]["upto"];
        assert_eq!(session["pending"], (10 * i).to_string());
        assert_eq!(session["remaining"], (10_000 - 10 * i).to_string());
        id = session["sessionId"].as_str().unwrap().to_string();
    }
    assert_eq!(w.anvil.nonce(facilitator), sent, "captures send nothing");

    // Nothing is due yet; idle for 2 minutes, the batch settles.
    assert_eq!(sweep(&w, now_secs() * 1000).settled, 0);
    let report = sweep(&w, now_secs() * 1000 + 121_000);
    assert_eq!((report.sessions, report.settled, report.failed), (1, 1, 0), "{report:?}");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(1_000));
    assert_eq!(w.anvil.nonce(facilitator), sent + 2, "one permit, one transferFrom");
    let (_, state) = w.facility.get(&format!("/upto/sessions/{id}"), "");
    assert_eq!(
        (state["status"].as_str(), state["settled"].as_str(), state["pending"].as_str()),
        (Some("open"), Some("1000"), Some("0"))
    );

    // A second batch reuses the allowance: one transferFrom.
    for _ in 0..5 {
        assert_eq!(w.facility.post("/settle", &with_amount(&body, 100)).1["success"], true);
    }
    let report = sweep(&w, now_secs() * 1000 + 121_000);
    assert_eq!(report.settled, 1, "{report:?}");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(1_500));
    assert_eq!(w.anvil.nonce(facilitator), sent + 3);

    // Beyond the cap: 402 cap_exhausted, with the session.
    let (status, refused) = w.facility.post("/settle", &with_amount(&body, 8_501));
    assert_eq!(
        (status, refused["error"].as_str(), refused["sessionId"].as_str()),
        (402, Some("cap_exhausted"), Some(id.as_str())),
        "{refused}"
    );
    let (_, verify) = w.facility.post("/verify", &with_amount(&body, 8_501));
    assert_eq!(verify["invalidReason"], "cap_exhausted");

    // Closing settles what is pending and refuses later payments.
    assert_eq!(w.facility.post("/settle", &with_amount(&body, 200)).1["success"], true);
    let (status, closed) = w.facility.post(&format!("/upto/sessions/{id}/close"), &json!({}));
    assert_eq!(
        (status, closed["status"].as_str(), closed["settled"].as_str()),
        (200, Some("closed"), Some("1700")),
        "{closed}"
    );
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(1_700));
    let (status, refused) = w.facility.post("/settle", &with_amount(&body, 1));
    assert_eq!((status, refused["error"].as_str()), (402, Some("session_closed")));
    let (status, _) = w.facility.get("/upto/sessions/nope", "");
    assert_eq!(status, 404);
}

#[test]
fn a_batch_the_owner_cannot_pay_fails_and_keeps_its_spend() {
    let w = world();
    let owner = KEYS[1];
    let body = upto_body(&w, owner, address(KEYS[2]), 10_000_000_000, 1_000_000_000, 0);
    // The owner holds 1,000 USDC: capture all of it, then move it away before the batch.
    assert_eq!(w.facility.post("/settle", &body).1["success"], true);
    let drain =
        alloy_sol_types::SolCall::abi_encode(&ITransfer::transferCall { to: address(KEYS[3]), amount: U256::from(1) });
    w.anvil.send(address(owner), Some(w.token), drain);
    let sent = w.anvil.nonce(address(FACILITATOR_KEY));
    let report = sweep(&w, now_secs() * 1000 + 121_000);
    assert_eq!(report.failed, 1, "{report:?}");
    assert_eq!(w.anvil.nonce(address(FACILITATOR_KEY)), sent, "nothing was sent");
    let (_, body) = w.facility.post("/settle", &with_amount(&body, 1));
    let id = body["extensions"]["upto"]["sessionId"].as_str().unwrap().to_string();
    let (_, state) = w.facility.get(&format!("/upto/sessions/{id}"), "");
    assert_eq!(state["lastSettlement"]["error"], "insufficient_balance", "{state}");
    assert_eq!(state["pending"], "1000000001", "the spend stays pending");
}

/// For resource servers that keep their own sessions: each /settle settles its amount on chain at once,
/// within the cap the session still counts.
#[test]
fn in_immediate_mode_each_settle_pays_on_chain_at_once() {
    let w = world();
    let facility = Facility::with_vars(&w.anvil.url, &[("UPTO_SETTLE_MODE", "immediate")]);
    let (owner, pay_to) = (KEYS[4], address(KEYS[2]));
    let facilitator = address(FACILITATOR_KEY);
    let body = upto_body(&w, owner, pay_to, 1_000, 400, 0);
    let (sent, before) = (w.anvil.nonce(facilitator), balance(&w.anvil, w.token, pay_to));
    let (_, first) = facility.post("/settle", &body);
    assert_eq!(first["success"], true, "{first}");
    assert!(first["transaction"].as_str().unwrap().starts_with("0x"), "{first}");
    assert_eq!(first["extensions"]["upto"]["settled"], "400");
    assert_eq!(w.anvil.nonce(facilitator), sent + 2, "permit, then transferFrom");
    let (_, second) = facility.post("/settle", &body);
    assert_eq!(second["extensions"]["upto"]["settled"], "800", "{second}");
    assert_eq!(w.anvil.nonce(facilitator), sent + 3, "the allowance is reused");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(800));
    let (status, refused) = facility.post("/settle", &body);
    assert_eq!((status, refused["error"].as_str()), (402, Some("cap_exhausted")), "{refused}");
    assert_eq!(w.anvil.nonce(facilitator), sent + 3, "nothing is sent beyond the cap");
}

alloy_sol_types::sol! {
    interface ITransfer {
        function transfer(address to, uint256 amount) external returns (bool);
    }
}

/// A zero amount, a permit whose owner is the payee, or a token off the allowlist opens no session and
/// sends nothing, in capture and in immediate mode.
#[test]
fn zero_amounts_self_payments_and_unlisted_assets_open_no_session_and_send_nothing() {
    let w = world();
    let (owner, pay_to) = (KEYS[1], address(KEYS[2]));
    let facilitator = address(FACILITATOR_KEY);
    let (sent, before) = (w.anvil.nonce(facilitator), balance(&w.anvil, w.token, address(owner)));
    let immediate = Facility::with_vars(&w.anvil.url, &[("UPTO_SETTLE_MODE", "immediate")]);
    let unlisted = Facility::with_vars(&w.anvil.url, &[("ASSET_ALLOWLIST_BASE_SEPOLIA", "")]);
    let cases = [
        ("amount_below_minimum", upto_body(&w, owner, pay_to, 10_000, 0, 0), &w.facility),
        ("amount_below_minimum", upto_body(&w, owner, pay_to, 10_000, 0, 0), &immediate),
        ("self_payment", upto_body(&w, owner, address(owner), 10_000, 10_000, 0), &w.facility),
        ("self_payment", upto_body(&w, owner, address(owner), 10_000, 10_000, 0), &immediate),
        ("asset_not_allowed", upto_body(&w, owner, pay_to, 10_000, 10, 0), &unlisted),
    ];
    for (code, body, facility) in &cases {
        let (_, verify) = facility.post("/verify", body);
        assert_eq!(verify["invalidReason"], *code, "{verify}");
        let (_, settle) = facility.post("/settle", body);
        assert_eq!(
            (settle["success"].as_bool(), settle["errorReason"].as_str()),
            (Some(false), Some(*code)),
            "{settle}"
        );
        assert!(settle["extensions"].is_null(), "no session: {settle}");
    }
    let report = pollster::block_on(immediate.facilitator.sweep(now_secs() * 1000 + 4_000_000)).unwrap();
    assert_eq!(report.sessions, 0, "{report:?}");
    assert_eq!(w.anvil.nonce(facilitator), sent, "nothing was sent");
    assert_eq!(balance(&w.anvil, w.token, address(owner)), before, "no token moved");
}
