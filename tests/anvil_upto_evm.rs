//! `upto` against a real anvil: payments under one EIP-2612 permit are captured into a session with no
//! chain call, and the sweeper settles the pending sum in one `transferFrom` (after one `permit`).

mod common;

use std::cell::Cell;

use alloy_consensus::Transaction;
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, U256};
use common::*;
use serde_json::{json, Value};
use x402_edge::chains::evm::{eip2612, eip3009};
use x402_edge::ports::{EvmSigner, HttpTransport, TransportError};
use x402_edge::schemes::upto_evm::PermitPayload;

/// A permit from `owner_key` for the facilitator (spender) with `cap`, and a v2 upto body paying `amount`.
fn upto_body(w: &World, owner_key: &str, pay_to: Address, cap: u64, amount: u64, nonce: u64) -> Value {
    permit_body(w.token, owner_key, pay_to, cap, amount, nonce)
}

fn permit_body(token: Address, owner_key: &str, pay_to: Address, cap: u64, amount: u64, nonce: u64) -> Value {
    permit_body_until(token, owner_key, pay_to, (cap, amount, nonce), U256::from(now_secs() + 3_600))
}

/// [`permit_body`] of a permit signed until `deadline`.
fn permit_body_until(
    token: Address,
    owner_key: &str,
    pay_to: Address,
    amounts: (u64, u64, u64),
    deadline: U256,
) -> Value {
    let (cap, amount, nonce) = amounts;
    let permit = PermitPayload {
        signature: Default::default(),
        owner: address(owner_key),
        spender: address(FACILITATOR_KEY),
        cap: U256::from(cap),
        deadline,
        nonce: U256::from(nonce),
        session_id: String::new(),
    };
    let domain = eip3009::domain("USD Coin", "2", CHAIN_ID, token);
    let digest =
        eip2612::signing_hash(permit.owner, permit.spender, permit.cap, permit.nonce, permit.deadline, &domain);
    let signature = pollster::block_on(signer(owner_key).sign_hash(&digest)).unwrap();
    let requirements = json!({
        "scheme": "upto", "network": "eip155:84532", "amount": amount.to_string(), "asset": token,
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

/// Clients sign `uint256` max for a permit that never expires: the session keeps it as signed, and the
/// batch's `permit` call is the one the owner signed.
#[test]
fn a_permit_signed_until_past_u64_settles_as_signed() {
    let w = world();
    let (owner, pay_to) = (KEYS[6], address(KEYS[2]));
    let body = permit_body_until(w.token, owner, pay_to, (10_000, 700, 0), U256::MAX);
    assert_eq!(w.facility.post("/verify", &body).1["isValid"], true);
    assert_eq!(w.facility.post("/settle", &body).1["success"], true);
    let before = balance(&w.anvil, w.token, pay_to);
    let report = sweep(&w, now_secs() * 1000 + 121_000);
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(balance(&w.anvil, w.token, pay_to) - before, U256::from(700));
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

/// In immediate mode a `/settle` answered as failed charges nothing later: its capture leaves the session
/// with the failure, and a sweep after the owner tops up collects nothing of it.
#[test]
fn in_immediate_mode_a_settle_answered_as_failed_is_never_charged_later() {
    let w = world();
    let facility = Facility::with_vars(&w.anvil.url, &[("UPTO_SETTLE_MODE", "immediate")]);
    let (owner, pay_to) = (KEYS[5], address(KEYS[2]));
    // The owner holds 1,000 USDC; the request costs 1,500.
    let body = upto_body(&w, owner, pay_to, 10_000_000_000, 1_500_000_000, 0);
    let before = balance(&w.anvil, w.token, pay_to);
    let (_, refused) = facility.post("/settle", &body);
    assert_eq!(refused["success"], false, "{refused}");
    mint(&w.anvil, w.token, address(owner), 1_000_000_000);
    let report =
        pollster::block_on(facility.facilitator.sweep(now_secs() * 1000 + 121_000)).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before, "nothing is collected for the refused request");
    // The next request is charged for itself alone.
    let (_, paid) = facility.post("/settle", &with_amount(&body, 700));
    assert_eq!(paid["success"], true, "{paid}");
    assert_eq!(balance(&w.anvil, w.token, pay_to) - before, U256::from(700));
}

/// A contract posing as a token gets no batch: not the permit (its allowance reads 0), not
/// `transferFrom` (its allowance reads as plenty); the 5-byte contract reads as an empty balance.
/// Captures make no chain call, so they succeed; the batch is simulated first and sends nothing.
#[test]
fn a_batch_of_a_contract_posing_as_a_token_sends_nothing() {
    // Off the allowlist they are refused at capture; with any asset allowed, the batch's simulation
    // still shows that nothing moves.
    let w = world();
    let refused = permit_body(deploy_five_byte_contract(&w.anvil), KEYS[4], address(KEYS[2]), 10_000, 700, 0);
    let (_, answer) = w.facility.post("/settle", &refused);
    assert_eq!(answer["errorReason"], "asset_not_allowed", "{answer}");
    let w = World { facility: Facility::with_vars(&w.anvil.url, &[("ALLOW_ANY_ASSET", "true")]), ..w };
    let facilitator = address(FACILITATOR_KEY);
    let pay_to = address(KEYS[2]);
    let fakes = [
        (deploy_fake_token(&w.anvil, U256::ZERO), "invalid_exact_evm_transfer_event_mismatch"),
        (deploy_fake_token(&w.anvil, U256::MAX), "invalid_exact_evm_transfer_event_mismatch"),
        (deploy_five_byte_contract(&w.anvil), "insufficient_balance"),
    ];
    let funds = (w.anvil.nonce(facilitator), eth_balance(&w.anvil, facilitator));
    for (i, (fake, code)) in fakes.into_iter().enumerate() {
        let body = permit_body(fake, [KEYS[1], KEYS[3], KEYS[4]][i], pay_to, 10_000, 700, 0);
        let (_, captured) = w.facility.post("/settle", &body);
        assert_eq!(captured["success"], true, "{captured}");
        let id = captured["extensions"]["upto"]["sessionId"].as_str().unwrap().to_string();
        let report = sweep(&w, now_secs() * 1000 + 121_000);
        assert_eq!((report.settled, report.failed), (0, i + 1), "each pending batch fails again: {report:?}");
        let (_, state) = w.facility.get(&format!("/upto/sessions/{id}"), "");
        assert_eq!(state["lastSettlement"]["error"], code, "{fake}: {state}");
        assert_eq!(state["pending"], "700", "the spend stays pending");
    }
    assert_eq!((w.anvil.nonce(facilitator), eth_balance(&w.anvil, facilitator)), funds, "no transaction, no gas");
}

/// The header a party saw, re-spelled as in issue 13 (lowercase asset and owner, uppercase signature hex,
/// the cap as a number, the v1 network name), paying `pay_to` `amount` in both `accepted` and the
/// requirements.
fn respelled(body: &Value, pay_to: Address, amount: u64) -> Value {
    let mut b = body.clone();
    let text = |b: &Value, path: &str| b.pointer(path).unwrap().as_str().unwrap().to_string();
    let asset = text(&b, "/paymentRequirements/asset").to_lowercase();
    let signature = text(&b, "/paymentPayload/payload/signature");
    let cap: u64 = text(&b, "/paymentPayload/payload/authorization/value").parse().unwrap();
    let from = text(&b, "/paymentPayload/payload/authorization/from").to_lowercase();
    for at in ["/paymentPayload/accepted", "/paymentRequirements"] {
        let r = b.pointer_mut(at).unwrap();
        r["asset"] = json!(asset);
        r["payTo"] = json!(pay_to.to_string().to_lowercase());
        r["amount"] = json!(amount.to_string());
    }
    b["paymentPayload"]["accepted"]["network"] = json!("base-sepolia");
    let payload = &mut b["paymentPayload"]["payload"];
    payload["signature"] = json!(format!("0x{}", signature[2..].to_uppercase()));
    payload["authorization"]["value"] = json!(cap);
    payload["authorization"]["from"] = json!(from);
    b
}

fn session_id(settle: &Value) -> String {
    settle["extensions"]["upto"]["sessionId"].as_str().unwrap_or_default().to_string()
}

/// Issue 13's theft: a party that saw one payment header re-spells it with itself as `payTo` and the cap
/// as the amount. The re-spelling names the same session, which pays someone else: refused, nothing is
/// sent, and the real resource server's batch settles in full.
#[test]
fn a_respelled_header_paying_someone_else_is_refused_and_the_real_batch_still_settles() {
    let w = world();
    let (owner, pay_to, attacker) = (KEYS[1], address(KEYS[2]), address(KEYS[3]));
    let facilitator = address(FACILITATOR_KEY);
    let body = upto_body(&w, owner, pay_to, 10_000, 10, 0);
    let (_, first) = w.facility.post("/settle", &body);
    assert_eq!(first["success"], true, "{first}");
    let id = session_id(&first);
    let (sent, attacker_before, before) =
        (w.anvil.nonce(facilitator), balance(&w.anvil, w.token, attacker), balance(&w.anvil, w.token, pay_to));

    let stolen = respelled(&body, attacker, 10_000);
    let (_, verify) = w.facility.post("/verify", &stolen);
    assert_eq!(
        (verify["isValid"].as_bool(), verify["invalidReason"].as_str()),
        (Some(false), Some("session_mismatch"))
    );
    let (_, refused) = w.facility.post("/settle", &stolen);
    assert_eq!(
        (refused["success"].as_bool(), refused["errorReason"].as_str()),
        (Some(false), Some("session_mismatch")),
        "{refused}"
    );
    // Only the requirements re-pointed: `accepted` no longer matches them.
    let mut repointed = body.clone();
    repointed["paymentRequirements"]["payTo"] = json!(attacker);
    assert_eq!(w.facility.post("/settle", &repointed).1["errorReason"], "accepted_mismatch");

    // Every spelling of the permit is the one session: seven spellings, one cap acknowledged.
    let spellings = [
        respelled(&body, pay_to, 10),
        with_amount(&respelled(&body, pay_to, 10), 10),
        {
            let mut b = body.clone();
            b["paymentPayload"]["payload"]["authorization"]["nonce"] = json!(0);
            b
        },
        {
            let mut b = body.clone();
            let to = b["paymentPayload"]["payload"]["authorization"]["to"].as_str().unwrap().to_lowercase();
            b["paymentPayload"]["payload"]["authorization"]["to"] = json!(to);
            b
        },
        {
            let mut b = body.clone();
            b["paymentPayload"]["accepted"]["network"] = json!("base-sepolia");
            b
        },
        {
            let mut b = body.clone();
            let deadline: u64 =
                b["paymentPayload"]["payload"]["authorization"]["validBefore"].as_str().unwrap().parse().unwrap();
            b["paymentPayload"]["payload"]["authorization"]["validBefore"] = json!(deadline);
            b
        },
        body.clone(),
    ];
    for (i, spelling) in spellings.iter().enumerate() {
        let (_, settle) = w.facility.post("/settle", spelling);
        assert_eq!((settle["success"].as_bool(), session_id(&settle)), (Some(true), id.clone()), "{i}: {settle}");
    }
    let (_, state) = w.facility.get(&format!("/upto/sessions/{id}"), "");
    assert_eq!((state["pending"].as_str(), state["cap"].as_str()), (Some("80"), Some("10000")), "{state}");
    assert_eq!(w.anvil.nonce(facilitator), sent, "nothing was sent");

    let report = sweep(&w, now_secs() * 1000 + 121_000);
    assert_eq!((report.sessions, report.settled, report.failed), (1, 1, 0), "{report:?}");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(80));
    assert_eq!(balance(&w.anvil, w.token, attacker), attacker_before, "the attacker got nothing");
}

/// EIP-2612 allowances do not add up: a second permit with the owner's same nonce could never be used
/// beside the first, so it is refused; a newer permit (the next nonce) first settles and closes the older
/// session under its own permit, then opens its own, whose first batch submits it (replacing what is left
/// of the older allowance).
#[test]
fn a_second_permit_of_one_owner_never_adds_to_what_the_chain_allows() {
    let w = world();
    let (owner, pay_to) = (KEYS[1], address(KEYS[2]));
    let facilitator = address(FACILITATOR_KEY);
    let first = upto_body(&w, owner, pay_to, 1_000, 100, 0);
    let (_, opened) = w.facility.post("/settle", &first);
    let old = session_id(&opened);
    let sent = w.anvil.nonce(facilitator);

    let twin = upto_body(&w, owner, pay_to, 2_000, 100, 0);
    assert_eq!(w.facility.post("/verify", &twin).1["invalidReason"], "permit_conflict");
    let (_, refused) = w.facility.post("/settle", &twin);
    assert_eq!(refused["errorReason"], "permit_conflict", "{refused}");
    assert_eq!(w.anvil.nonce(facilitator), sent, "nothing was sent");

    let before = balance(&w.anvil, w.token, pay_to);
    let newer = upto_body(&w, owner, pay_to, 500, 50, 1);
    let (_, opened) = w.facility.post("/settle", &newer);
    assert_eq!(opened["success"], true, "{opened}");
    assert_ne!(session_id(&opened), old);
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(100), "the older session's spend settled");
    let (_, state) = w.facility.get(&format!("/upto/sessions/{old}"), "");
    assert_eq!((state["status"].as_str(), state["settled"].as_str()), (Some("closed"), Some("100")), "{state}");
    // The older permit cannot come back, nor its twin: their nonce is used (402, so clients re-sign).
    assert_eq!(w.facility.post("/settle", &first).1["error"], "session_closed");
    let (status, stale) = w.facility.post("/settle", &twin);
    assert_eq!((status, stale["error"].as_str()), (402, Some("session_closed")), "{stale}");
    let sent = w.anvil.nonce(facilitator);
    let report = sweep(&w, now_secs() * 1000 + 121_000);
    assert_eq!(report.settled, 1, "{report:?}");
    assert_eq!(balance(&w.anvil, w.token, pay_to), before + U256::from(150));
    assert_eq!(w.anvil.nonce(facilitator), sent + 2, "the newer permit, then transferFrom");
    let allowance = IAllowance::allowanceCall { owner: address(owner), spender: facilitator };
    let read = rpc(
        &w.anvil.url,
        "eth_call",
        json!([{"to": w.token, "data": format!("0x{}", hex::encode(alloy_sol_types::SolCall::abi_encode(&allowance)))}, "latest"]),
    );
    let left = U256::from_str_radix(read.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(left, U256::from(450), "the newer cap less what its session settled");
}

/// With API keys a session belongs to the key that opened it: another key finds no session, cannot
/// close it, and cannot pay into it.
#[test]
fn a_session_belongs_to_the_api_key_that_opened_it() {
    let w = world();
    let facility = Facility::with_vars(&w.anvil.url, &[("FACILITATOR_API_KEYS", "fac_key_a,fac_key_b")]);
    let body = upto_body(&w, KEYS[1], address(KEYS[2]), 1_000, 10, 0);
    let (_, opened) = facility.post_as("/settle", &body, Some("fac_key_a"));
    let id = session_id(&opened);
    let path = format!("/upto/sessions/{id}");
    assert_eq!(facility.get_as(&path, Some("fac_key_a")).0, 200);
    assert_eq!(facility.get_as(&path, Some("fac_key_b")).0, 404);
    assert_eq!(facility.get_as(&path, None).0, 401);
    let (status, closed) = facility.post_as(&format!("{path}/close"), &json!({}), Some("fac_key_b"));
    assert_eq!((status, closed["error"].as_str()), (404, Some("session_not_found")));
    let (_, refused) = facility.post_as("/settle", &body, Some("fac_key_b"));
    assert_eq!(refused["errorReason"], "session_mismatch", "{refused}");
    let (_, state) = facility.get_as(&path, Some("fac_key_a"));
    assert_eq!((state["status"].as_str(), state["pending"].as_str()), (Some("open"), Some("10")), "{state}");
}

/// `UPTO_MAX_SESSIONS_PER_OWNER` bounds how many sessions one owner has open (across tokens).
#[test]
fn an_owner_opens_at_most_the_configured_number_of_sessions() {
    let w = world();
    let other_token = deploy_token(&w.anvil);
    let allowlist = format!("{},{other_token}", w.token);
    let vars = [("UPTO_MAX_SESSIONS_PER_OWNER", "1"), ("ASSET_ALLOWLIST_BASE_SEPOLIA", allowlist.as_str())];
    let facility = Facility::with_vars(&w.anvil.url, &vars);
    assert_eq!(facility.post("/settle", &upto_body(&w, KEYS[1], address(KEYS[2]), 1_000, 10, 0)).1["success"], true);
    let second = permit_body(other_token, KEYS[1], address(KEYS[2]), 1_000, 10, 0);
    let (_, refused) = facility.post("/settle", &second);
    assert_eq!(refused["errorReason"], "too_many_sessions", "{refused}");
    assert_eq!(facility.post("/verify", &second).1["invalidReason"], "too_many_sessions");
    // Another owner is not affected.
    let third = permit_body(other_token, KEYS[4], address(KEYS[2]), 1_000, 10, 0);
    assert_eq!(facility.post("/settle", &third).1["success"], true);
}

alloy_sol_types::sol! {
    interface IAllowance {
        function allowance(address owner, address spender) external view returns (uint256);
    }
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

/// The RPC seen through a gateway that loses one answer: while `lose_next` is set, the next broadcast of
/// a `transferFrom` reaches anvil (and is mined), and its answer is replaced by an HTTP 502.
#[derive(Default)]
struct LosesOneAnswer {
    lose_next: Cell<bool>,
    lost: Cell<usize>,
}

impl LosesOneAnswer {
    fn is_transfer_from(body: &str) -> bool {
        let request: Value = serde_json::from_str(body).unwrap_or_default();
        let method = request["method"].as_str().unwrap_or_default();
        let raw = request["params"][0].as_str().unwrap_or_default().trim_start_matches("0x");
        let tx =
            hex::decode(raw).ok().and_then(|raw| alloy_consensus::TxEnvelope::decode_2718(&mut raw.as_slice()).ok());
        // `transferFrom(address,address,uint256)`.
        method.starts_with("eth_sendRawTransaction")
            && tx.is_some_and(|tx| tx.input().starts_with(&[0x23, 0xb8, 0x72, 0xdd]))
    }
}

impl HttpTransport for &'static LosesOneAnswer {
    async fn post_json(&self, url: &str, headers: &[(&str, &str)], body: String) -> Result<String, TransportError> {
        let lose = self.lose_next.get() && LosesOneAnswer::is_transfer_from(&body);
        let answer = UreqTransport.post_json(url, headers, body).await;
        if lose {
            self.lose_next.set(false);
            self.lost.set(self.lost.get() + 1);
            return Err(TransportError::Status(502));
        }
        answer
    }
}

/// A batch whose `transferFrom` was mined but whose answer was lost is not a failure: the batch stays
/// under its ledger key, and the sweep after the settling timeout reconciles it from the chain instead
/// of charging the owner again in a new batch.
#[test]
fn a_batch_whose_broadcast_answer_was_lost_is_reconciled_never_charged_twice() {
    let w = world();
    let http: &'static LosesOneAnswer = Box::leak(Box::default());
    let f = facilitator_over(http, &w.anvil.url, &[]);
    let (owner, pay_to) = (KEYS[1], address(KEYS[2]));
    let body = permit_body(w.token, owner, pay_to, 10_000, 100, 0);
    let request = x402_edge::schemes::parse_request(body.to_string().as_bytes()).unwrap();
    let captured = pollster::block_on(f.settle(&request)).unwrap();
    let id = captured.extensions.as_ref().unwrap()["upto"]["sessionId"].as_str().unwrap().to_string();
    let before = balance(&w.anvil, w.token, pay_to);
    http.lose_next.set(true);
    let idle = now_secs() * 1000 + 121_000;
    pollster::block_on(f.sweep(idle)).unwrap();
    assert_eq!(http.lost.get(), 1, "the batch was sent and its answer lost");
    assert_eq!(balance(&w.anvil, w.token, pay_to) - before, U256::from(100), "anvil mined it");
    let session = pollster::block_on(f.session(&id, None)).unwrap().unwrap();
    assert!(session.settling.is_some(), "the batch's outcome is not known yet: {session:?}");
    // Past the settling timeout the same batch is begun again: its transaction is found mined.
    pollster::block_on(f.sweep(idle + 301_000)).unwrap();
    let session = pollster::block_on(f.session(&id, None)).unwrap().unwrap();
    assert_eq!((session.settled, session.pending), (U256::from(100), U256::ZERO), "{session:?}");
    assert_eq!(balance(&w.anvil, w.token, pay_to) - before, U256::from(100), "the owner paid once");
}
