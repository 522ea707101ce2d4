//! Every rule of the standard `upto` with a fixed clock and its exact reason, the EIP-712 digest and
//! the upto proxy's calldata against viem's answers (tests/vectors/upto-permit2.json), the payload's
//! shape, and the chain round trip (simulated for the cap from `witness.facilitator`), on the
//! in-memory chain of `exact_permit2`'s tests.

use std::cell::RefCell;

use alloy_primitives::{address, Address, Bytes, U256};
use alloy_sol_types::{SolCall, SolStruct};
use serde_json::{json, Value};

use super::verify::{settle_calldata, Amounts};
use super::*;
use crate::chains::evm::permit2::{upto, IX402UptoPermit2Proxy as Proxy, EXACT_PROXY, PERMIT2, UPTO_PROXY};
use crate::chains::evm::sender::NonceManagedSender;
use crate::chains::evm::signer::LocalEvmSigner;
use crate::chains::jsonrpc::JsonRpcClient;
use crate::config::Settings;
use crate::ledger::{LedgerJournal, MemoryLedger};
use crate::ports::EvmSigner;
use crate::protocol::model::PaymentRequest;
use crate::protocol::normalize::parse_request;
use crate::protocol::{Reason, Version};
use crate::schemes::evm_tx::EvmContext;
use crate::schemes::exact_permit2::tests::{
    hex_bytes, request_json, Chain, FixedClock, Recording, FACILITATOR, GAS, NOW, OTHER_KEY, PAYER_KEY, PAY_TO,
};
use crate::schemes::exact_permit2::{Eip2612Extension, ExactPermit2Error, Options, Permit2Payload, Verified};

/// Anvil key #9, the address [`FACILITATOR`]: the facilitator's second signer in these tests, so the
/// witness's facilitator is not simply the first one.
const FACILITATOR_KEY: &str = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";
const FIRST_SIGNER: Address = address!("15d34AAf54267DB7D7c367839AAf71A00a2C6A65");
const SIGNERS: [Address; 2] = [FIRST_SIGNER, FACILITATOR];
/// The cap: what the in-memory chain's transfer moves.
const CAP: u64 = 10_000;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../../tests/vectors/upto-permit2.json")).unwrap()
}

/// The 2.27 client's payload for a cap of [`CAP`], signed by the payer, witness facilitator [`FACILITATOR`].
fn payload_json() -> Value {
    let mut p = vectors()["vectors"][0]["payload"].clone();
    p["permit2Authorization"]["permitted"]["amount"] = json!(CAP.to_string());
    p
}

fn sign(key: &str, p: &mut UptoPermit2Payload, chain_id: u64) {
    let signer = LocalEvmSigner::from_hex(key).unwrap();
    let signature = pollster::block_on(signer.sign_hash(&p.signed().signing_hash(chain_id))).unwrap();
    p.permit.signature = Bytes::from(signature.as_bytes().to_vec());
}

fn good() -> UptoPermit2Payload {
    resigned(|_| {})
}

/// The client payload changed by `change`, then signed by the payer again.
fn resigned(change: impl FnOnce(&mut UptoPermit2Payload)) -> UptoPermit2Payload {
    let mut p = UptoPermit2Payload::decode(&payload_json(), None).unwrap();
    change(&mut p);
    sign(PAYER_KEY, &mut p, 84532);
    p
}

/// A base-sepolia `upto` request for `amount` of USDC to [`PAY_TO`] (its EIP-3009 payload is not read).
fn request(amount: u64) -> PaymentRequest {
    let mut body = request_json();
    body["paymentRequirements"]["scheme"] = json!("upto");
    body["paymentRequirements"]["amount"] = json!(amount.to_string());
    body["paymentRequirements"]["extra"] =
        json!({"assetTransferMethod": "permit2", "facilitatorAddress": FACILITATOR.to_checksum(None)});
    body["paymentPayload"]["accepted"] = body["paymentRequirements"].clone();
    body["paymentPayload"]["accepted"]["amount"] = json!(CAP.to_string());
    parse_request(body.to_string().as_bytes()).unwrap()
}

fn context<'a>(
    transport: &'a Recording,
    clock: &'a FixedClock,
    urls: &'a [String],
) -> EvmContext<'a, Recording, FixedClock> {
    EvmContext {
        network: crate::network::find("eip155:84532").unwrap(),
        rpc: JsonRpcClient::new(transport, clock, urls),
        clock,
        settings: Settings { receipt_timeout_secs: 1, rpc_timeout_ms: 1000, fee_bump_after_secs: 1 },
        gas: GAS,
        facilitator: Some(FIRST_SIGNER),
        allowed_factories: &[],
    }
}

fn recording(chain: Chain) -> Recording {
    Recording { chain, posts: RefCell::new(Vec::new()) }
}

fn run(
    request: &PaymentRequest,
    p: &UptoPermit2Payload,
    now: u64,
    transport: &Recording,
) -> Result<Verified, UptoPermit2Error> {
    let (clock, urls) = (FixedClock(now), ["http://127.0.0.1:1".to_string()]);
    let ctx = context(transport, &clock, &urls);
    pollster::block_on(verify(&ctx, request, p, &SIGNERS, Options::default()))
}

fn reason_on(chain: Chain, p: &UptoPermit2Payload) -> Reason {
    run(&request(CAP), p, NOW, &recording(chain)).unwrap_err().reason()
}

fn reason(p: &UptoPermit2Payload) -> Reason {
    reason_on(Chain::default(), p)
}

fn reason_for(request: &PaymentRequest, p: &UptoPermit2Payload, now: u64) -> Reason {
    run(request, p, now, &recording(Chain::default())).unwrap_err().reason()
}

// --- EIP-712 and calldata against viem ---

#[test]
fn the_upto_witness_type_hashes_are_the_references() {
    let witness = upto::Witness { to: Address::ZERO, facilitator: Address::ZERO, validAfter: U256::ZERO };
    assert_eq!(
        witness.eip712_type_hash().to_string(),
        "0xd4171c445a74218b01d4fd8af34ff1106580ea1e36ff837e64484bfaa2253b75"
    );
    let typed = upto::PermitWitnessTransferFrom {
        permitted: upto::TokenPermissions { token: Address::ZERO, amount: U256::ZERO },
        spender: Address::ZERO,
        nonce: U256::ZERO,
        deadline: U256::ZERO,
        witness,
    };
    assert_eq!(
        typed.eip712_type_hash().to_string(),
        "0x51dff6974ad4388c499e7fcfe838d2bd767162553a144098ce20ea661d70c2ee"
    );
    assert_eq!(Proxy::settleCall::SELECTOR, [0xff, 0x11, 0xe7, 0xb4]);
    assert_eq!(Proxy::settleWithPermitCall::SELECTOR, [0x01, 0x6c, 0x17, 0x48]);
}

#[test]
fn digests_signers_and_charge_calldata_match_viem() {
    let all = vectors();
    assert_eq!(all["uptoProxy"].as_str().unwrap(), UPTO_PROXY.to_checksum(None));
    assert_eq!(all["permit2"].as_str().unwrap(), PERMIT2.to_checksum(None));
    for v in all["vectors"].as_array().unwrap() {
        let p = UptoPermit2Payload::decode(&v["payload"], None).unwrap();
        let chain_id = v["chainId"].as_u64().unwrap();
        let digest = p.signed().signing_hash(chain_id);
        assert_eq!(digest.to_string(), v["digest"].as_str().unwrap(), "{}", v["label"]);
        let check = crate::schemes::exact_permit2::checks::check_signature_of(&p.permit, digest).unwrap();
        assert_eq!(check.ecdsa, Ok(()), "{}", v["label"]);
        let charge = U256::from_str_radix(v["charge"].as_str().unwrap(), 10).unwrap();
        assert_eq!(settle_calldata(&p, &check, None, charge), hex_bytes(&v["settleCalldata"]), "{}", v["label"]);
        let permit = Eip2612Extension {
            from: p.permit.from,
            asset: p.permit.token,
            spender: PERMIT2,
            amount: p.permit.amount,
            nonce: U256::ZERO,
            deadline: p.permit.deadline,
            signature: [[0x11; 32].as_slice(), &[0x22; 32], &[27]].concat().into(),
            version: "1".into(),
        };
        let with_permit = settle_calldata(&p, &check, Some(&permit), charge);
        assert_eq!(with_permit, hex_bytes(&v["settleWithPermitCalldata"]), "{}", v["label"]);
    }
}

// --- the payload ---

#[test]
fn the_client_payload_decodes_with_its_facilitator() {
    let p = UptoPermit2Payload::decode(&vectors()["vectors"][0]["payload"], None).unwrap();
    assert_eq!(p.facilitator, FACILITATOR);
    assert_eq!((p.permit.spender, p.permit.to, p.permit.amount), (UPTO_PROXY, PAY_TO, U256::from(50_000)));
    assert!(is_upto_permit2(&payload_json()));
    assert!(!is_upto_permit2(&json!({"authorization": {}, "signature": "0x00"})));
}

#[test]
fn a_payload_without_the_upto_shape_is_unsupported_and_a_bad_value_invalid() {
    let decode = |path: &str, value: Option<Value>| {
        let mut b = payload_json();
        let (parent, key) = path.rsplit_once('/').unwrap();
        let at = b.pointer_mut(parent).unwrap().as_object_mut().unwrap();
        match value {
            Some(v) => at.insert(key.to_string(), v),
            None => at.remove(key),
        };
        UptoPermit2Payload::decode(&b, None).unwrap_err().reason()
    };
    // The reference's type guard: every field present, as a string.
    let unsupported = Reason::UnsupportedPayloadType;
    assert_eq!(decode("/permit2Authorization/witness/facilitator", None), unsupported, "an exact payload");
    assert_eq!(decode("/permit2Authorization/nonce", Some(json!(7))), unsupported);
    assert_eq!(decode("/permit2Authorization/permitted/amount", Some(json!(10_000))), unsupported);
    assert_eq!(decode("/signature", None), unsupported);
    // Present strings that are no address or number.
    assert_eq!(decode("/permit2Authorization/witness/facilitator", Some(json!("0x12"))), Reason::InvalidPayload);
    assert_eq!(decode("/permit2Authorization/deadline", Some(json!("soon"))), Reason::InvalidPayload);
    for junk in [json!(null), json!([]), json!("x"), json!({"permit2Authorization": 1})] {
        assert_eq!(UptoPermit2Payload::decode(&junk, Some(&junk)).unwrap_err().reason(), unsupported);
    }
}

#[test]
fn the_ledger_key_is_the_exact_permit2_key_and_the_identity_names_the_facilitator() {
    let p = good();
    assert_eq!(ledger_key(84532, &p), crate::schemes::exact_permit2::ledger_key(84532, &p.permit));
    let other = resigned(|p| p.facilitator = FIRST_SIGNER);
    assert_eq!(ledger_key(84532, &other), ledger_key(84532, &p), "one Permit2 nonce space per owner");
    assert_ne!(identity(&other), identity(&p));
    assert_ne!(identity(&p), crate::schemes::exact_permit2::identity(&p.permit));
}

// --- the pure rules, in order, each with its code ---

#[test]
fn the_client_payload_verifies_in_one_batch_simulated_for_the_cap_from_the_witness_facilitator() {
    let transport = recording(Chain::default());
    let verified = run(&request(CAP), &good(), NOW, &transport).unwrap();
    assert_eq!(verified.payer, good().permit.from);
    let posts = transport.posts.borrow();
    assert_eq!(posts.len(), 1, "one batch: the reads, the simulation and the probe");
    let calls = posts[0].as_array().unwrap();
    let simulation = &calls[8]["params"][0];
    assert_eq!(simulation["to"], json!(UPTO_PROXY));
    assert_eq!(simulation["from"], json!(FACILITATOR), "from witness.facilitator, not the first signer");
    let data = hex_bytes(&simulation["data"]);
    let call = Proxy::settleCall::abi_decode(&data).unwrap();
    assert_eq!((call.amount, call.witness.facilitator), (U256::from(CAP), FACILITATOR), "the cap");
    // The probe: Multicall3's code at the facilitator's address, so the proxy sees it as the caller.
    let probe = &calls[9];
    assert_eq!(probe["method"], json!("eth_call"));
    assert_eq!(probe["params"][0]["to"], json!(FACILITATOR));
    let code = &probe["params"][2][FACILITATOR.to_string()]["code"];
    assert_eq!(code, &json!(crate::chains::evm::contracts::MULTICALL3_CODE));
}

#[test]
fn each_pure_rule_refuses_with_the_references_code() {
    let mut r = request(CAP);
    r.accepted.scheme = "exact".into();
    assert_eq!(reason_for(&r, &good(), NOW), Reason::UptoEvmScheme);
    assert_eq!(Reason::UptoEvmScheme.code(Version::V2), "invalid_upto_evm_scheme");
    let mut r = request(CAP);
    r.accepted.network = "eip155:8453".into();
    assert_eq!(reason_for(&r, &good(), NOW), Reason::UptoEvmNetworkMismatch);
    assert_eq!(Reason::UptoEvmNetworkMismatch.code(Version::V2), "invalid_upto_evm_network_mismatch");

    for spender in [EXACT_PROXY, PERMIT2, FACILITATOR] {
        assert_eq!(reason(&resigned(|p| p.permit.spender = spender)), Reason::Permit2InvalidSpender, "{spender}");
    }
    assert_eq!(reason(&resigned(|p| p.permit.to = FACILITATOR)), Reason::Permit2RecipientMismatch);
    let stranger = Address::repeat_byte(0x42);
    assert_eq!(reason(&resigned(|p| p.facilitator = stranger)), Reason::UptoFacilitatorMismatch);
    assert_eq!(Reason::UptoFacilitatorMismatch.code(Version::V2), "upto_facilitator_mismatch");
    assert!(run(&request(CAP), &resigned(|p| p.facilitator = FIRST_SIGNER), NOW, &recording(Chain::default())).is_ok());

    assert_eq!(reason_for(&request(CAP), &good(), 1_740_672_149), Reason::Permit2DeadlineExpired);
    assert_eq!(reason(&resigned(|p| p.permit.valid_after = U256::from(NOW + 1))), Reason::Permit2NotYetValid);
    // At verify the requirements' amount is the cap, which the payer must have permitted exactly.
    assert_eq!(reason_for(&request(CAP + 1), &good(), NOW), Reason::Permit2AmountMismatch);
    assert_eq!(reason_for(&request(CAP - 1), &good(), NOW), Reason::Permit2AmountMismatch);
    assert_eq!(reason(&resigned(|p| p.permit.token = Address::repeat_byte(7))), Reason::Permit2TokenMismatch);
    let mut forged = good();
    sign(OTHER_KEY, &mut forged, 84532);
    assert_eq!(reason(&forged), Reason::Permit2InvalidSignature);
    let mut moved = good();
    moved.facilitator = FIRST_SIGNER;
    assert_eq!(reason(&moved), Reason::Permit2InvalidSignature, "the facilitator is signed");
    // Signed with the exact witness types over the same fields: not an upto signature.
    let mut exact_typed = good();
    let digest = exact_typed.permit.signed().signing_hash(84532);
    let signature = pollster::block_on(LocalEvmSigner::from_hex(PAYER_KEY).unwrap().sign_hash(&digest)).unwrap();
    exact_typed.permit.signature = Bytes::from(signature.as_bytes().to_vec());
    assert_eq!(reason(&exact_typed), Reason::Permit2InvalidSignature);
}

#[test]
fn the_first_failing_rule_is_the_one_reported() {
    // Wrong recipient and facilitator: the recipient comes first; wrong facilitator and expired: the facilitator.
    let p = resigned(|p| {
        p.permit.to = FACILITATOR;
        p.facilitator = Address::repeat_byte(1);
    });
    assert_eq!(reason(&p), Reason::Permit2RecipientMismatch);
    let p = resigned(|p| p.facilitator = Address::repeat_byte(1));
    assert_eq!(reason_for(&request(CAP), &p, NOW + 3600), Reason::UptoFacilitatorMismatch);
}

#[test]
fn each_chain_verdict_has_its_code() {
    let c = Chain::default;
    assert_eq!(reason_on(Chain { nonce_used: true, ..c() }, &good()), Reason::Permit2InvalidNonce);
    assert_eq!(reason_on(Chain { proxy: None, ..c() }, &good()), Reason::Permit2ProxyNotDeployed);
    let reverts = Chain { revert: Some("0x"), ..c() };
    assert_eq!(reason_on(Chain { allowance: 0, ..reverts.clone() }, &good()), Reason::Permit2AllowanceRequired);
    assert_eq!(reason_on(Chain { balance: 1, ..reverts }, &good()), Reason::Permit2InsufficientBalance);
    // The upto proxy's own refusals, decisive whatever the balance says.
    let exceeds = Chain { revert: Some("0xfe64b4c7"), balance: 0, ..c() };
    assert_eq!(reason_on(exceeds, &good()), Reason::UptoAmountExceedsPermitted);
    assert_eq!(Reason::UptoAmountExceedsPermitted.code(Version::V2), "upto_amount_exceeds_permitted");
    let unauthorized = Chain { revert: Some("0x0f6fae87"), ..c() };
    assert_eq!(reason_on(unauthorized, &good()), Reason::UptoUnauthorizedFacilitator);
    assert_eq!(Reason::UptoUnauthorizedFacilitator.code(Version::V2), "upto_unauthorized_facilitator");
    // A token that moves anything but the cap.
    assert_eq!(reason_on(Chain { moved: CAP - 1, ..c() }, &good()), Reason::EvmTransferMismatch);
    assert_eq!(reason_on(Chain { moves: false, ..c() }, &good()), Reason::EvmTransferMismatch);
}

// --- settle: the charge ---

fn submit_for(charge: u64, p: &UptoPermit2Payload, chain: Chain) -> (Result<bool, UptoPermit2Error>, Vec<Value>) {
    let transport = recording(chain);
    let (clock, urls) = (FixedClock(NOW), ["http://127.0.0.1:1".to_string()]);
    let ctx = context(&transport, &clock, &urls);
    let signers = [LocalEvmSigner::from_hex(FACILITATOR_KEY).unwrap()];
    let (ledger, sender) = (MemoryLedger::default(), NonceManagedSender::default());
    let journal = LedgerJournal { ledger: &ledger, key: Some("k") };
    let r = request(charge);
    let submitted = pollster::block_on(submit(&ctx, &signers, &sender, &journal, &r, p, Options::default()));
    let sent_nothing = submitted.map(|s| matches!(s, Submission::Nothing));
    let posts = transport.posts.borrow().clone();
    (sent_nothing, posts)
}

fn methods(posts: &[Value]) -> Vec<String> {
    let method = |c: &Value| c["method"].as_str().unwrap().to_string();
    posts.iter().flat_map(|p| p.as_array().cloned().unwrap_or_else(|| vec![p.clone()])).map(|c| method(&c)).collect()
}

#[test]
fn a_zero_charge_is_verified_for_the_cap_and_sends_nothing() {
    let (nothing, posts) = submit_for(0, &good(), Chain::default());
    assert_eq!(nothing, Ok(true));
    let simulation = &posts[0][8]["params"][0];
    assert_eq!(Proxy::settleCall::abi_decode(&hex_bytes(&simulation["data"])).unwrap().amount, U256::from(CAP));
    assert!(!methods(&posts).iter().any(|m| m == "eth_sendRawTransaction" || m == "eth_estimateGas"));
    // An invalid payment is refused, zero charge or not.
    let (refused, _) = submit_for(0, &good(), Chain { nonce_used: true, ..Chain::default() });
    assert_eq!(refused.unwrap_err().reason(), Reason::Permit2InvalidNonce);
}

#[test]
fn a_charge_above_the_cap_is_refused_before_the_chain() {
    let (refused, posts) = submit_for(CAP + 1, &good(), Chain::default());
    let refused = refused.unwrap_err();
    assert_eq!(refused.reason(), Reason::UptoSettlementExceedsAmount);
    assert_eq!(refused.reason().code(Version::V2), "invalid_upto_evm_payload_settlement_exceeds_amount");
    assert!(posts.is_empty(), "nothing read, nothing sent");
}

#[test]
fn a_payment_for_another_facilitator_is_never_sent() {
    // Among the verify rules (before any signer is picked), as the reference's re-verify says.
    let (refused, posts) = submit_for(1, &resigned(|p| p.facilitator = Address::repeat_byte(3)), Chain::default());
    assert_eq!(refused.unwrap_err().reason(), Reason::UptoFacilitatorMismatch);
    assert!(posts.is_empty());
}

#[test]
fn errors_name_their_reason_and_a_mined_revert_is_the_upto_code() {
    let hash = alloy_primitives::B256::repeat_byte(1);
    let reverted = UptoPermit2Error::from(ExactPermit2Error::Reverted(hash));
    assert_eq!(reverted.reason().code(Version::V2), "invalid_upto_evm_transaction_failed");
    assert_eq!(reverted.transaction(), Some(hash));
    assert_eq!(UptoPermit2Error::NoFacilitatorSigner(FACILITATOR).reason(), Reason::UptoUnauthorizedFacilitator);
    assert_eq!(UptoPermit2Error::from(ExactPermit2Error::NonceUsed).reason(), Reason::Permit2InvalidNonce);
    let exceeds = UptoPermit2Error::SettlementExceedsAmount { charge: U256::from(2), cap: U256::from(1) };
    assert_eq!(exceeds.transaction(), None);
    for reason in [Reason::UptoEvmScheme, Reason::UptoSettlementExceedsAmount, Reason::UptoEvmTransactionFailed] {
        assert!(Reason::ALL.contains(&reason));
        assert_eq!(Reason::from_v2_code(reason.code(Version::V2)), Some(reason));
    }
}

#[test]
fn amounts_are_the_cap_and_the_charge() {
    let p = good();
    let transport = recording(Chain::default());
    let (clock, urls) = (FixedClock(NOW), ["http://127.0.0.1:1".to_string()]);
    let ctx = context(&transport, &clock, &urls);
    let amounts = Amounts { cap: U256::from(CAP), charge: U256::from(7) };
    let prepared = verify::prepare(&ctx, &request(7), &p, &SIGNERS, amounts, Options::default()).unwrap();
    assert_eq!(Proxy::settleCall::abi_decode(&prepared.call.simulated).unwrap().amount, U256::from(CAP));
    assert_eq!(Proxy::settleCall::abi_decode(&prepared.call.sent).unwrap().amount, U256::from(7));
    assert_eq!((prepared.call.proxy, prepared.call.bound_caller), (UPTO_PROXY, Some(FACILITATOR)));
    let _: &Permit2Payload = prepared.payload;
}
