//! The standard `upto` (Permit2 through the x402 upto proxy) against a real anvil with Permit2 and the
//! proxies at their canonical addresses, through the facilitator's HTTP API: `/verify` with the cap,
//! `/settle` with the charge moves exactly the charge, from the facilitator address the payer named
//! in its witness; a zero charge answers success with no transaction and nothing sent, once; a charge
//! above the cap, a witness naming another facilitator and a replay are refused with nothing sent.
#![cfg(feature = "permit2")]

mod common;

use alloy_primitives::{Address, U256};
use alloy_sol_types::{sol, SolCall};
use common::*;
use serde_json::{json, Value};
use x402_edge::chains::evm::permit2::{SignedPermit, SignedUptoPermit, EXACT_PROXY, PERMIT2, UPTO_PROXY};
use x402_edge::ports::EvmSigner;

sol! {
    interface IPermit2Nonces {
        function nonceBitmap(address owner, uint256 wordPos) external view returns (uint256);
    }
}

/// The cap every payment here signs for.
const CAP: u64 = 50_000;

/// What the 2.27 client signs: the upto proxy as spender, validAfter 0, an hour to go.
fn permit(w: &World, pay_to: Address, nonce: u64, facilitator: Address) -> SignedUptoPermit {
    let permit = SignedPermit {
        token: w.token,
        amount: U256::from(CAP),
        spender: UPTO_PROXY,
        nonce: U256::from(nonce),
        deadline: U256::from(now_secs() + 3600),
        to: pay_to,
        valid_after: U256::ZERO,
    };
    SignedUptoPermit { permit, facilitator }
}

/// The payload the client sends for `permit`, signed by `key`.
fn payload(key: &str, permit: &SignedUptoPermit) -> Value {
    let signature = pollster::block_on(signer(key).sign_hash(&permit.signing_hash(CHAIN_ID))).unwrap();
    let p = &permit.permit;
    json!({
        "signature": format!("0x{}", hex::encode(signature.as_bytes())),
        "permit2Authorization": {
            "from": address(key), "permitted": {"token": p.token, "amount": p.amount.to_string()},
            "spender": p.spender, "nonce": p.nonce.to_string(), "deadline": p.deadline.to_string(),
            "witness": {"to": p.to, "facilitator": permit.facilitator, "validAfter": p.valid_after.to_string()},
        },
    })
}

/// A `/verify` or `/settle` body: the payer accepted the cap; `amount` is the requirements' (the
/// cap at verify, the charge at settle).
fn body(w: &World, payload: &Value, amount: u64, extensions: Option<Value>) -> Value {
    let authorization = &payload["permit2Authorization"];
    let requirements = json!({
        "scheme": "upto", "network": "eip155:84532", "amount": amount.to_string(), "asset": w.token,
        "payTo": authorization["witness"]["to"], "maxTimeoutSeconds": 300,
        "extra": {"assetTransferMethod": "permit2", "facilitatorAddress": authorization["witness"]["facilitator"],
            "name": "USD Coin", "version": "2"},
    });
    let mut accepted = requirements.clone();
    accepted["amount"] = json!(CAP.to_string());
    let mut payment = json!({"x402Version": 2, "accepted": accepted, "payload": payload});
    if let Some(extensions) = extensions {
        payment["extensions"] = extensions;
    }
    json!({"x402Version": 2, "paymentPayload": payment, "paymentRequirements": requirements})
}

/// Whether Permit2 holds `nonce` of `owner` as used.
fn nonce_used(w: &World, owner: Address, nonce: u64) -> bool {
    let word = IPermit2Nonces::nonceBitmapCall { owner, wordPos: U256::from(nonce >> 8) }.abi_encode();
    U256::from_be_slice(&call(&w.anvil, PERMIT2, word)).bit((nonce & 0xff) as usize)
}

/// The facilitators' nonces and ETH, and the payer's and `pay_to`'s tokens: what a sent settle changes.
fn footprint(w: &World, facilitators: &[Address], payer: Address, pay_to: Address) -> Vec<U256> {
    let mut state: Vec<U256> =
        facilitators.iter().flat_map(|f| [U256::from(w.anvil.nonce(*f)), eth_balance(&w.anvil, *f)]).collect();
    state.extend([balance(&w.anvil, w.token, payer), balance(&w.anvil, w.token, pay_to)]);
    state
}

fn facilitator() -> Address {
    address(FACILITATOR_KEY)
}

/// `/settle` answered success for `charge`, with its transaction sent by `from` to the upto proxy.
fn assert_settled(settled: &Value, charge: u64, w: &World, from: Address) {
    assert_eq!(settled["success"], true, "{settled}");
    assert_eq!(settled["amount"], json!(charge.to_string()), "the settled charge: {settled}");
    let receipt = rpc(&w.anvil.url, "eth_getTransactionReceipt", json!([settled["transaction"]]));
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["from"].as_str().unwrap(), from.to_string().to_lowercase(), "sent by witness.facilitator");
    assert_eq!(receipt["to"].as_str().unwrap(), UPTO_PROXY.to_string().to_lowercase());
    let input = rpc(&w.anvil.url, "eth_getTransactionByHash", json!([settled["transaction"]]))["input"].clone();
    assert!(input.as_str().unwrap().starts_with("0xff11e7b4"), "the upto proxy's settle");
}

#[test]
fn verify_takes_the_cap_and_settle_moves_exactly_the_smaller_charge_once() {
    let w = world();
    let (payer, pay_to) = (address(KEYS[1]), address(KEYS[2]));
    approve_permit2(&w, KEYS[1]);
    let p = payload(KEYS[1], &permit(&w, pay_to, 1, facilitator()));
    let (payer_tokens, payer_eth, payee_tokens) =
        (balance(&w.anvil, w.token, payer), eth_balance(&w.anvil, payer), balance(&w.anvil, w.token, pay_to));

    let (status, verified) = w.facility.post("/verify", &body(&w, &p, CAP, None));
    assert_eq!((status, &verified["isValid"]), (200, &json!(true)), "{verified}");
    assert_eq!(verified["payer"], json!(payer.to_checksum(None)));
    let charge = 12_345;
    let (status, settled) = w.facility.post("/settle", &body(&w, &p, charge, None));
    assert_eq!(status, 200);
    assert_settled(&settled, charge, &w, facilitator());
    assert_eq!(balance(&w.anvil, w.token, pay_to), payee_tokens + U256::from(charge));
    assert_eq!(balance(&w.anvil, w.token, payer), payer_tokens - U256::from(charge), "the charge, not the cap");
    assert_eq!(eth_balance(&w.anvil, payer), payer_eth, "the payer pays no gas");
    assert!(nonce_used(&w, payer, 1));

    // Replayed, for the same charge or another: refused, nothing sent.
    let before = footprint(&w, &[facilitator()], payer, pay_to);
    let (_, again) = w.facility.post("/settle", &body(&w, &p, charge, None));
    assert_eq!((&again["success"], &again["errorReason"]), (&json!(false), &json!("permit2_invalid_nonce")));
    let (_, other) = w.facility.post("/settle", &body(&w, &p, 1, None));
    assert_eq!((&other["success"], &other["errorReason"]), (&json!(false), &json!("duplicate_settlement")));
    let (_, verify_again) = w.facility.post("/verify", &body(&w, &p, CAP, None));
    assert_eq!(verify_again["invalidReason"], "permit2_invalid_nonce");
    // And before a facilitator whose ledger never saw it: the chain's nonce refuses it.
    let fresh = Facility::new(&w.anvil);
    let (_, replayed) = fresh.post("/settle", &body(&w, &p, charge, None));
    assert_eq!(replayed["errorReason"], "permit2_invalid_nonce", "{replayed}");
    assert_eq!(footprint(&w, &[facilitator()], payer, pay_to), before, "no transaction, no gas, no token moved");
}

#[test]
fn a_zero_charge_succeeds_with_no_transaction_and_only_once() {
    let w = world();
    let (payer, pay_to) = (address(KEYS[1]), address(KEYS[2]));
    approve_permit2(&w, KEYS[1]);
    let p = payload(KEYS[1], &permit(&w, pay_to, 7, facilitator()));
    let before = footprint(&w, &[facilitator()], payer, pay_to);

    let (status, settled) = w.facility.post("/settle", &body(&w, &p, 0, None));
    assert_eq!(status, 200);
    assert_eq!(
        (&settled["success"], &settled["transaction"], &settled["amount"]),
        (&json!(true), &json!(""), &json!("0")),
        "{settled}"
    );
    assert_eq!(settled["payer"], json!(payer.to_checksum(None)));
    assert_eq!(footprint(&w, &[facilitator()], payer, pay_to), before, "nothing sent");
    assert!(!nonce_used(&w, payer, 7), "the authorization stays unused on chain");

    // The ledger answers one success per payment: the same payload is refused from now on.
    for charge in [0, 500] {
        let (_, again) = w.facility.post("/settle", &body(&w, &p, charge, None));
        assert_eq!(again["success"], false, "{again}");
        let reason = again["errorReason"].as_str().unwrap();
        assert!(["permit2_invalid_nonce", "duplicate_settlement"].contains(&reason), "{again}");
    }
    let (_, verified) = w.facility.post("/verify", &body(&w, &p, CAP, None));
    assert_eq!(verified["invalidReason"], "permit2_invalid_nonce", "{verified}");
    assert_eq!(footprint(&w, &[facilitator()], payer, pay_to), before);
}

#[test]
fn a_charge_above_the_cap_or_a_witness_naming_another_facilitator_is_refused_with_nothing_sent() {
    let w = world();
    let (payer, pay_to) = (address(KEYS[1]), address(KEYS[2]));
    approve_permit2(&w, KEYS[1]);
    let p = payload(KEYS[1], &permit(&w, pay_to, 3, facilitator()));
    let stranger = payload(KEYS[1], &permit(&w, pay_to, 4, address(KEYS[5])));
    let before = footprint(&w, &[facilitator(), address(KEYS[5])], payer, pay_to);

    let (_, above) = w.facility.post("/settle", &body(&w, &p, CAP + 1, None));
    assert_eq!(above["errorReason"], "invalid_upto_evm_payload_settlement_exceeds_amount", "{above}");
    assert_eq!((&above["success"], &above["transaction"]), (&json!(false), &json!("")));
    for amount in [CAP, 1] {
        let (_, refused) =
            w.facility.post(if amount == CAP { "/verify" } else { "/settle" }, &body(&w, &stranger, amount, None));
        let code = refused.get("invalidReason").or(refused.get("errorReason")).unwrap();
        assert_eq!(code, "upto_facilitator_mismatch", "{refused}");
    }
    // The cap itself is refused at verify when the requirements ask for more than it.
    let (_, more) = w.facility.post("/verify", &body(&w, &p, CAP + 1, None));
    assert_eq!(more["invalidReason"], "permit2_amount_mismatch");
    assert_eq!(footprint(&w, &[facilitator(), address(KEYS[5])], payer, pay_to), before);

    // A refused settle sent nothing and claimed nothing: the payment still settles, for the full cap.
    let (_, settled) = w.facility.post("/settle", &body(&w, &p, CAP, None));
    assert_settled(&settled, CAP, &w, facilitator());
}

#[test]
fn the_settle_is_sent_by_the_signer_the_witness_names_not_the_first() {
    let w = world();
    let (payer, pay_to) = (address(KEYS[1]), address(KEYS[2]));
    approve_permit2(&w, KEYS[1]);
    let keys = format!("{},{}", KEYS[8], FACILITATOR_KEY);
    let facility = Facility::with_vars(&w.anvil.url, &[("EVM_PRIVATE_KEY", &keys)]);
    let (_, supported) = facility.get("/supported", "");
    let upto = supported["kinds"].as_array().unwrap().iter().find(|k| k["scheme"] == "upto").unwrap().clone();
    assert_eq!(upto["extra"]["facilitatorAddress"], json!(address(KEYS[8]).to_checksum(None)), "the first signer");
    assert_eq!(upto["extra"]["payloads"], json!(["permit2", "eip2612-session"]));

    // The payer named the second signer: only it may call the proxy, so it sends the settle.
    let p = payload(KEYS[1], &permit(&w, pay_to, 9, facilitator()));
    let first_nonce = w.anvil.nonce(address(KEYS[8]));
    let (_, verified) = facility.post("/verify", &body(&w, &p, CAP, None));
    assert_eq!(verified["isValid"], true, "{verified}");
    let (_, settled) = facility.post("/settle", &body(&w, &p, 20_000, None));
    assert_settled(&settled, 20_000, &w, facilitator());
    assert_eq!(w.anvil.nonce(address(KEYS[8])), first_nonce, "the first signer sent nothing");
    assert_eq!(balance(&w.anvil, w.token, payer), U256::from(1_000_000_000u64) - U256::from(20_000));
}

#[test]
fn the_eip2612_extension_settles_a_charge_without_a_prior_approve() {
    let w = world();
    let (payer, pay_to) = (address(KEYS[7]), address(KEYS[2]));
    assert_eq!(permit2_allowance(&w, payer), U256::ZERO);
    let signed = permit(&w, pay_to, 1, facilitator());
    let p = payload(KEYS[7], &signed);
    let (_, bare) = w.facility.post("/verify", &body(&w, &p, CAP, None));
    assert_eq!(bare["invalidReason"], "permit2_allowance_required", "{bare}");

    // The permit must allow the cap: the upto proxy requires it.
    let extensions = eip2612_extension(&w, KEYS[7], CAP, signed.permit.deadline);
    let (_, verified) = w.facility.post("/verify", &body(&w, &p, CAP, Some(extensions.clone())));
    assert_eq!(verified["isValid"], true, "{verified}");
    let payee_tokens = balance(&w.anvil, w.token, pay_to);
    let (_, settled) = w.facility.post("/settle", &body(&w, &p, 30_000, Some(extensions)));
    assert_eq!(settled["success"], true, "{settled}");
    let input = rpc(&w.anvil.url, "eth_getTransactionByHash", json!([settled["transaction"]]))["input"].clone();
    assert!(input.as_str().unwrap().starts_with("0x016c1748"), "settleWithPermit");
    assert_eq!(balance(&w.anvil, w.token, pay_to), payee_tokens + U256::from(30_000));
    assert_eq!(
        permit2_allowance(&w, payer),
        U256::from(CAP - 30_000),
        "the permit allowed the cap; the charge was spent"
    );
}

#[test]
fn exact_and_upto_share_the_payers_permit2_nonces() {
    let w = world();
    let (payer, pay_to) = (address(KEYS[1]), address(KEYS[2]));
    approve_permit2(&w, KEYS[1]);
    let p = payload(KEYS[1], &permit(&w, pay_to, 42, facilitator()));
    let (_, settled) = w.facility.post("/settle", &body(&w, &p, 1_000, None));
    assert_eq!(settled["success"], true, "{settled}");

    // An exact Permit2 payment of the same owner under the same nonce: refused, nothing sent.
    let exact = SignedPermit {
        spender: EXACT_PROXY,
        amount: U256::from(1_000),
        ..permit(&w, pay_to, 42, facilitator()).permit
    };
    let signature = pollster::block_on(signer(KEYS[1]).sign_hash(&exact.signing_hash(CHAIN_ID))).unwrap();
    let exact_payload = json!({
        "signature": format!("0x{}", hex::encode(signature.as_bytes())),
        "permit2Authorization": {
            "from": payer, "permitted": {"token": w.token, "amount": "1000"}, "spender": EXACT_PROXY,
            "nonce": "42", "deadline": exact.deadline.to_string(), "witness": {"to": pay_to, "validAfter": "0"},
        },
    });
    let requirements = json!({
        "scheme": "exact", "network": "eip155:84532", "amount": "1000", "asset": w.token, "payTo": pay_to,
        "maxTimeoutSeconds": 300, "extra": {"assetTransferMethod": "permit2"},
    });
    let exact_body = json!({"x402Version": 2,
        "paymentPayload": {"x402Version": 2, "accepted": requirements, "payload": exact_payload},
        "paymentRequirements": requirements});
    let before = footprint(&w, &[facilitator()], payer, pay_to);
    let (_, refused) = w.facility.post("/settle", &exact_body);
    assert_eq!(refused["success"], false, "{refused}");
    assert_eq!(refused["errorReason"], "duplicate_settlement", "the ledger holds the nonce for the upto payment");
    let (_, verify) = w.facility.post("/verify", &exact_body);
    assert_eq!(verify["invalidReason"], "permit2_invalid_nonce");
    assert_eq!(footprint(&w, &[facilitator()], payer, pay_to), before);
}

/// The Multicall3 code the probes put at a caller's address is exactly what Multicall3's canonical
/// creation code (viem's copy) deploys.
#[test]
fn the_embedded_multicall3_code_is_the_deployed_one() {
    use x402_edge::chains::evm::contracts::{MULTICALL3, MULTICALL3_CODE};
    let w = world();
    let deployed = rpc(&w.anvil.url, "eth_getCode", json!([MULTICALL3, "latest"]));
    assert_eq!(deployed.as_str(), Some(MULTICALL3_CODE));
}
