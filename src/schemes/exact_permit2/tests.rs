//! Every verify rule with a fixed clock and its exact reason, the EIP-712 digest and the proxy
//! calldata against viem's answers (tests/vectors/permit2.json), the decoder on malformed input, and
//! the shape and verdicts of the chain round trip, with an in-memory JSON-RPC chain that records
//! what it is sent.

use std::cell::RefCell;

use alloy_primitives::{address, Address, Bytes, B256, U256};
use alloy_sol_types::{SolCall, SolStruct, SolValue};
use serde_json::{json, Value};

use super::checks::settle_calldata;
use super::permit2::{IErc20, IPermit2, IX402ExactPermit2Proxy as Proxy, EXACT_PROXY, PERMIT2, UPTO_PROXY};
use super::*;
use crate::chains::evm::contracts::{IMulticall3, MULTICALL3};
use crate::chains::evm::signer::LocalEvmSigner;
use crate::chains::evm::tx::{ContractCall, Fees};
use crate::chains::jsonrpc::JsonRpcClient;
use crate::config::{GasLimits, Settings};
use crate::ports::{Clock, HttpTransport};
use crate::ports::{EvmSigner, TransportError};
use crate::protocol::model::PaymentRequest;
use crate::protocol::normalize::parse_request;
use crate::protocol::{Reason, Version};

const GAS: GasLimits =
    GasLimits { max_fee_per_gas_wei: 1_000_000_000_000, max_gas_per_settle: 300_000, max_gas_per_deployment: 500_000 };

/// Vector 0's deadline is 1740672154: 54 s after this.
const NOW: u64 = 1_740_672_100;
/// Public anvil keys: #1 signs the vectors, #3 is someone else.
const PAYER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const OTHER_KEY: &str = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
const PAY_TO: Address = address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
const USDC: Address = address!("036CbD53842c5426634e7929541eC2318f3dCF7e");
const FACILITATOR: Address = address!("a0Ee7A142d267C1f36714E4a8F75612F20a79720");

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../../tests/vectors/permit2.json")).unwrap()
}

fn hex_bytes(v: &Value) -> Vec<u8> {
    hex::decode(&v.as_str().unwrap()[2..]).unwrap()
}

/// Vector 0 as the 2.27 client sends it, with `extensions` when given.
fn payload_json() -> Value {
    vectors()["vectors"][0]["payload"].clone()
}

fn good() -> Permit2Payload {
    Permit2Payload::decode(&payload_json(), None).unwrap()
}

fn sign(key: &str, p: &mut Permit2Payload, chain_id: u64) {
    let signer = LocalEvmSigner::from_hex(key).unwrap();
    let signature = pollster::block_on(signer.sign_hash(&p.signed().signing_hash(chain_id))).unwrap();
    p.signature = Bytes::from(signature.as_bytes().to_vec());
}

/// Vector 0 changed by `change`, then signed by the payer again.
fn resigned(change: impl FnOnce(&mut Permit2Payload)) -> Permit2Payload {
    let mut p = good();
    change(&mut p);
    sign(PAYER_KEY, &mut p, 84532);
    p
}

/// A base-sepolia request for 10000 of USDC to [`PAY_TO`] (its EIP-3009 payload is not read).
fn request_json() -> Value {
    let examples: Value = serde_json::from_str(include_str!("../../../tests/vectors/api-examples.json")).unwrap();
    let mut body = examples["coinbase_v2"]["POST /verify request"].clone();
    body["paymentRequirements"]["payTo"] = json!(PAY_TO);
    body["paymentRequirements"]["extra"] = json!({"assetTransferMethod": "permit2"});
    body["paymentPayload"]["accepted"] = body["paymentRequirements"].clone();
    body
}

fn request() -> PaymentRequest {
    parse_request(request_json().to_string().as_bytes()).unwrap()
}

struct FixedClock(u64);

impl Clock for FixedClock {
    fn now_millis(&self) -> u64 {
        self.0 * 1000
    }
    async fn sleep_millis(&self, _: u64) {}
}

/// A chain as the reads see it.
#[derive(Clone)]
struct Chain {
    chain_id: u64,
    asset_code: bool,
    payer_code: bool,
    wallet_accepts: bool,
    nonce_used: bool,
    /// What the proxy answers to `PERMIT2()`; `None`: no proxy.
    proxy: Option<Address>,
    allowance: u64,
    balance: u64,
    /// Revert data of the simulation, or `None` when it passes.
    revert: Option<&'static str>,
    /// Whether a passing transfer moves the tokens (a fake token does not).
    moves: bool,
    tx_count: u64,
    eth: u128,
}

impl Default for Chain {
    fn default() -> Chain {
        Chain {
            chain_id: 84532,
            asset_code: true,
            payer_code: false,
            wallet_accepts: false,
            nonce_used: false,
            proxy: Some(PERMIT2),
            allowance: u64::MAX,
            balance: 1_000_000,
            revert: None,
            moves: true,
            tx_count: 3,
            eth: 10u128.pow(18),
        }
    }
}

fn word(n: U256) -> Value {
    json!(format!("0x{}", hex::encode(n.abi_encode())))
}

impl Chain {
    fn answer(&self, method: &str, params: &Value) -> Value {
        match method {
            "eth_chainId" => json!(format!("{:#x}", self.chain_id)),
            "eth_getCode" if params[0] == json!(good().from) => json!(if self.payer_code { "0x6080" } else { "0x" }),
            "eth_getCode" => json!(if self.asset_code { "0x6080" } else { "0x" }),
            "eth_getTransactionCount" => json!(format!("{:#x}", self.tx_count)),
            "eth_getBalance" => json!(format!("{:#x}", self.eth)),
            "eth_call" => self.call(params[0]["to"].as_str().unwrap().parse().unwrap(), &hex_bytes(&params[0]["data"])),
            other => panic!("unexpected method {other}"),
        }
    }

    fn call(&self, to: Address, data: &[u8]) -> Value {
        let selector: [u8; 4] = data[..4].try_into().unwrap();
        match (to, selector) {
            (MULTICALL3, _) => self.aggregate3(data),
            (PERMIT2, IPermit2::nonceBitmapCall::SELECTOR) => {
                word(if self.nonce_used { U256::MAX } else { U256::ZERO })
            }
            (EXACT_PROXY, Proxy::PERMIT2Call::SELECTOR) => match self.proxy {
                Some(at) => json!(format!("0x{}", hex::encode(at.abi_encode()))),
                None => json!("0x"),
            },
            (EXACT_PROXY, _) if self.proxy.is_none() => json!("0x"),
            (EXACT_PROXY, Proxy::settleCall::SELECTOR | Proxy::settleWithPermitCall::SELECTOR) => match self.revert {
                None => json!("0x"),
                Some(data) => json!({"code": 3, "message": "execution reverted", "data": data}),
            },
            (_, IErc20::allowanceCall::SELECTOR) => word(U256::from(self.allowance)),
            (_, IErc20::balanceOfCall::SELECTOR) => word(U256::from(self.balance)),
            (_, [0x16, 0x26, 0xba, 0x7e]) if self.payer_code && self.wallet_accepts => {
                json!(format!("0x1626ba7e{}", "0".repeat(56)))
            }
            (_, [0x16, 0x26, 0xba, 0x7e]) => json!("0x"),
            other => panic!("unexpected call {other:?}"),
        }
    }

    /// The probe: balances, the proxy call (moving the amount when it passes and the token moves
    /// anything), the balances again.
    fn aggregate3(&self, data: &[u8]) -> Value {
        let calls = IMulticall3::aggregate3Call::abi_decode(data).unwrap().calls;
        let (mut moved, payer) = (U256::ZERO, good().from);
        let results: Vec<IMulticall3::Result> = calls
            .iter()
            .map(|c| {
                if let Ok(read) = IErc20::balanceOfCall::abi_decode(&c.callData) {
                    let held = if read.account == payer { U256::from(self.balance) - moved } else { moved };
                    return IMulticall3::Result { success: true, returnData: held.abi_encode().into() };
                }
                let passes = self.revert.is_none() && self.proxy.is_some();
                if passes && self.moves {
                    moved = U256::from(10_000);
                }
                IMulticall3::Result { success: passes, returnData: Default::default() }
            })
            .collect();
        json!(format!("0x{}", hex::encode(results.abi_encode())))
    }
}

/// Answers every batch from a [`Chain`] and records the requests.
struct Recording {
    chain: Chain,
    posts: RefCell<Vec<Value>>,
}

impl HttpTransport for Recording {
    async fn post_json(&self, _url: &str, _: &[(&str, &str)], body: String) -> Result<String, TransportError> {
        let request: Value = serde_json::from_str(&body).unwrap();
        self.posts.borrow_mut().push(request.clone());
        let reply = |call: &Value| {
            let result = self.chain.answer(call["method"].as_str().unwrap(), &call["params"]);
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

fn run(
    request: &PaymentRequest,
    payload: &Permit2Payload,
    options: Options,
    now: u64,
    transport: &Recording,
) -> Result<Verified, ExactPermit2Error> {
    let clock = FixedClock(now);
    let urls = ["http://127.0.0.1:1".to_string()];
    let ctx = EvmContext {
        network: request.network,
        rpc: JsonRpcClient::new(transport, &clock, &urls),
        clock: &clock,
        settings: Settings { receipt_timeout_secs: 1, rpc_timeout_ms: 1000, fee_bump_after_secs: 1 },
        gas: GAS,
        facilitator: Some(FACILITATOR),
        allowed_factories: &[],
    };
    pollster::block_on(verify_with(&ctx, request, payload, options))
}

fn verdict_on(chain: Chain, payload: &Permit2Payload) -> Result<Verified, ExactPermit2Error> {
    let transport = Recording { chain, posts: RefCell::new(Vec::new()) };
    run(&request(), payload, Options::default(), NOW, &transport)
}

fn reason_on(chain: Chain, payload: &Permit2Payload) -> Reason {
    verdict_on(chain, payload).unwrap_err().reason()
}

fn reason(payload: &Permit2Payload) -> Reason {
    reason_on(Chain::default(), payload)
}

fn reason_for(request: &PaymentRequest, payload: &Permit2Payload, now: u64) -> Reason {
    let transport = Recording { chain: Chain::default(), posts: RefCell::new(Vec::new()) };
    run(request, payload, Options::default(), now, &transport).unwrap_err().reason()
}

// --- EIP-712 and calldata against viem ---

#[test]
fn the_type_hashes_and_domain_separator_are_permit2s() {
    use super::permit2::{domain, PermitWitnessTransferFrom, Witness};
    let hex = |b: B256| b.to_string();
    assert_eq!(
        hex(<Witness as SolStruct>::eip712_type_hash(&Witness { to: Address::ZERO, validAfter: U256::ZERO })),
        "0xd97b3239a7f32295517bd14cb074edfdd188dfe5eb42f802bb26d4fd1eb12c37"
    );
    let p = good().signed();
    let typed = PermitWitnessTransferFrom {
        permitted: super::permit2::TokenPermissions { token: p.token, amount: p.amount },
        spender: p.spender,
        nonce: p.nonce,
        deadline: p.deadline,
        witness: Witness { to: p.to, validAfter: p.valid_after },
    };
    assert_eq!(hex(typed.eip712_type_hash()), "0xebc156cd23678a74c94df13d772ef5478420637f0c94bd10d509e1dc98f521c7");
    assert_eq!(hex(domain(84532).separator()), "0x010f27a92fb9a32622f44f001dc4d15706a85b33499cfc2ce9033113ab26592c");
}

#[test]
fn digests_signers_and_calldata_match_viem() {
    let all = vectors();
    for v in all["vectors"].as_array().unwrap() {
        let p = Permit2Payload::decode(&v["payload"], None).unwrap();
        let chain_id = v["chainId"].as_u64().unwrap();
        let digest = p.signed().signing_hash(chain_id);
        assert_eq!(digest.to_string(), v["digest"].as_str().unwrap(), "{}", v["label"]);
        let check = checks::check_signature(&p, chain_id).unwrap();
        assert_eq!(check.ecdsa, Ok(()), "{}", v["label"]);
        assert_eq!(p.from.to_string(), v["signer"].as_str().unwrap());
        assert_eq!(settle_calldata(&p, &check, None), hex_bytes(&v["settleCalldata"]), "{}", v["label"]);
        let mut with_permit = p.clone();
        let permit = Eip2612Extension {
            from: p.from,
            asset: p.token,
            spender: PERMIT2,
            amount: p.amount,
            nonce: U256::ZERO,
            deadline: p.deadline,
            signature: [[0x11; 32].as_slice(), &[0x22; 32], &[27]].concat().into(),
            version: "1".into(),
        };
        with_permit.eip2612 = Some(Ok(permit.clone()));
        let calldata = settle_calldata(&with_permit, &check, Some(&permit));
        assert_eq!(calldata, hex_bytes(&v["settleWithPermitCalldata"]), "{}", v["label"]);
    }
    assert_eq!(all["exactProxy"].as_str().unwrap(), EXACT_PROXY.to_checksum(None));
    assert_eq!(all["uptoProxy"].as_str().unwrap(), UPTO_PROXY.to_checksum(None));
    assert_eq!(all["permit2"].as_str().unwrap(), PERMIT2.to_checksum(None));
}

#[test]
fn selectors_are_the_proxys_and_permit2s() {
    assert_eq!(Proxy::settleCall::SELECTOR, [0x13, 0xcd, 0x3b, 0x53]);
    assert_eq!(Proxy::settleWithPermitCall::SELECTOR, [0xfa, 0x34, 0x03, 0x78]);
    assert_eq!(Proxy::PERMIT2Call::SELECTOR, [0x6a, 0xfd, 0xd8, 0x50]);
    assert_eq!(IPermit2::nonceBitmapCall::SELECTOR, [0x4f, 0xe0, 0x2b, 0x44]);
    assert_eq!(IErc20::approveCall::SELECTOR, super::permit2::APPROVE_SELECTOR);
    assert_eq!(super::permit2::revert_reason(&hex::decode("756688fe").unwrap()), "Permit2 InvalidNonce (0x756688fe)");
}

// --- decoding ---

#[test]
fn the_client_payload_decodes_field_by_field() {
    let p = good();
    let v = &payload_json()["permit2Authorization"];
    assert_eq!(p.from, address!("70997970C51812dc3A010C7d01b50e0d17dc79C8"));
    assert_eq!((p.token, p.amount, p.spender, p.to), (USDC, U256::from(10_000), EXACT_PROXY, PAY_TO));
    assert_eq!(p.nonce.to_string(), v["nonce"].as_str().unwrap());
    assert_eq!((p.deadline, p.valid_after), (U256::from(1_740_672_154u64), U256::ZERO));
    assert_eq!(p.signature.len(), 65);
    assert_eq!((p.eip2612.clone(), p.erc20_approval.clone()), (None, None));
    assert!(is_permit2(&payload_json()));
    assert!(!is_permit2(&json!({"authorization": {}, "signature": "0x00"})));
}

#[test]
fn numbers_read_as_the_references_bigint_does_and_nothing_else() {
    let decode = |nonce: Value| {
        let mut b = payload_json();
        b["permit2Authorization"]["nonce"] = nonce;
        Permit2Payload::decode(&b, None).map(|p| p.nonce)
    };
    assert_eq!(decode(json!("255")), Ok(U256::from(255)));
    assert_eq!(decode(json!("0xff")), Ok(U256::from(255)));
    assert_eq!(decode(json!(255)), Ok(U256::from(255)));
    assert_eq!(decode(json!(U256::MAX.to_string())), Ok(U256::MAX));
    for bad in [json!(""), json!(" 1"), json!("-1"), json!("1.5"), json!("0x"), json!(-1), json!(1.5), json!(null)] {
        assert_eq!(decode(bad.clone()).unwrap_err().reason(), Reason::InvalidPayload, "{bad}");
    }
    let too_big = format!("{}0", U256::MAX);
    assert!(decode(json!(too_big)).unwrap_err().to_string().contains("permit2Authorization.nonce"));
}

#[test]
fn malformed_payloads_are_refused_with_the_field_named() {
    let refuse = |path: &[&str], value: Option<Value>| {
        let mut b = payload_json();
        let mut at = &mut b;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        match value {
            Some(v) => at[path[path.len() - 1]] = v,
            None => drop(at.as_object_mut().unwrap().remove(path[path.len() - 1])),
        }
        let e = Permit2Payload::decode(&b, None).unwrap_err();
        assert_eq!(e.reason(), Reason::InvalidPayload);
        e.to_string()
    };
    assert!(refuse(&["signature"], None).contains("payload.signature is missing"));
    assert!(refuse(&["signature"], Some(json!("0x"))).contains("payload.signature"));
    assert!(refuse(&["signature"], Some(json!("0xabc"))).contains("payload.signature"));
    assert!(refuse(&["permit2Authorization", "from"], Some(json!("0x1234"))).contains("from is not an EVM address"));
    assert!(refuse(&["permit2Authorization", "witness"], None).contains("witness is missing"));
    assert!(refuse(&["permit2Authorization", "witness", "to"], Some(json!(7))).contains("witness.to"));
    assert!(refuse(&["permit2Authorization", "permitted", "amount"], None).contains("permitted.amount is missing"));
    assert!(refuse(&["permit2Authorization"], Some(json!([]))).contains("not an object"));
    for junk in [json!(null), json!([]), json!("x"), json!({"permit2Authorization": 1})] {
        assert_eq!(Permit2Payload::decode(&junk, Some(&junk)).unwrap_err().reason(), Reason::InvalidPayload);
    }
}

fn eip2612_info() -> Value {
    vectors()["eip2612"]["info"].clone()
}

fn erc20_info() -> Value {
    vectors()["erc20Approval"]["info"].clone()
}

fn with_extension(key: &str, info: Value) -> Permit2Payload {
    Permit2Payload::decode(&payload_json(), Some(&json!({ key: {"info": info} }))).unwrap()
}

#[test]
fn an_incomplete_extension_is_ignored_and_a_malformed_one_kept_for_its_code() {
    let p = with_extension("eip2612GasSponsoring", eip2612_info());
    let info = p.eip2612.unwrap().unwrap();
    assert_eq!((info.from, info.asset, info.spender, info.amount), (good().from, USDC, PERMIT2, U256::from(10_000)));
    let mut missing = eip2612_info();
    missing.as_object_mut().unwrap().remove("nonce");
    assert_eq!(with_extension("eip2612GasSponsoring", missing).eip2612, None);
    let mut empty = eip2612_info();
    empty["version"] = json!("");
    assert_eq!(with_extension("eip2612GasSponsoring", empty).eip2612, None);
    for (field, value) in
        [("amount", json!("0x10")), ("from", json!("0x12")), ("version", json!("v1")), ("signature", json!("0x1234"))]
    {
        let mut bad = eip2612_info();
        bad[field] = value;
        let kept = with_extension("eip2612GasSponsoring", bad).eip2612.unwrap();
        assert!(kept.unwrap_err().contains(field), "{field}");
    }
    let p = with_extension("erc20ApprovalGasSponsoring", erc20_info());
    assert_eq!(p.erc20_approval.unwrap().unwrap().amount, U256::MAX);
    let mut bad = erc20_info();
    bad["signedTransaction"] = json!("02f8");
    assert!(with_extension("erc20ApprovalGasSponsoring", bad).erc20_approval.unwrap().is_err());
}

#[test]
fn the_ledger_key_is_chain_owner_and_nonce_and_the_identity_every_signed_field() {
    let p = good();
    let key = ledger_key(84532, &p);
    assert_eq!(key, format!("permit2/eip155:84532/{}/{:#x}", p.from.to_string().to_lowercase(), p.nonce));
    let other_token = resigned(|p| p.token = Address::repeat_byte(1));
    assert_eq!(ledger_key(84532, &other_token), key, "one nonce per owner across tokens");
    assert_ne!(ledger_key(8453, &p), key);
    let id = identity(&p);
    for part in [p.from.to_string(), p.nonce.to_string(), p.deadline.to_string(), p.signature.to_string()] {
        assert!(id.contains(&part), "{part}");
    }
    assert_ne!(identity(&resigned(|p| p.amount = U256::from(1))), id);
    assert_ne!(identity(&resigned(|p| p.valid_after = U256::from(1))), id);
}

// --- the pure rules, in order, each with its code ---

#[test]
fn the_client_payload_verifies_in_one_batched_round_trip_simulated_from_the_facilitator() {
    let transport = Recording { chain: Chain::default(), posts: RefCell::new(Vec::new()) };
    let verified = run(&request(), &good(), Options::default(), NOW, &transport).unwrap();
    assert_eq!(verified.payer, good().from);
    let posts = transport.posts.borrow();
    assert_eq!(posts.len(), 1, "one HTTP request");
    let calls = posts[0].as_array().unwrap();
    let methods: Vec<_> = calls.iter().map(|c| c["method"].as_str().unwrap()).collect();
    assert_eq!(
        methods,
        ["eth_chainId", "eth_getCode", "eth_getCode"].into_iter().chain(["eth_call"; 7]).collect::<Vec<_>>()
    );
    let simulation = &calls[8]["params"][0];
    assert_eq!(simulation["to"], json!(EXACT_PROXY));
    assert_eq!(simulation["from"], json!(FACILITATOR), "simulated from our own address");
    assert!(simulation["data"].as_str().unwrap().starts_with("0x13cd3b53"));
    assert_eq!(calls[9]["params"][0]["to"], json!(MULTICALL3), "the value probe");
}

#[test]
fn each_pure_rule_refuses_with_the_references_code() {
    let mut r = request();
    r.accepted.scheme = "upto".into();
    assert_eq!(reason_for(&r, &good(), NOW), Reason::UnsupportedPayloadType);
    let mut r = request();
    r.requirements.scheme = "upto".into();
    assert_eq!(reason_for(&r, &good(), NOW), Reason::UnsupportedPayloadType);
    let mut r = request();
    r.accepted.network = "eip155:8453".into();
    assert_eq!(reason_for(&r, &good(), NOW), Reason::EvmNetworkMismatch);

    for spender in [UPTO_PROXY, PERMIT2, FACILITATOR] {
        assert_eq!(reason(&resigned(|p| p.spender = spender)), Reason::Permit2InvalidSpender, "{spender}");
    }
    assert_eq!(reason(&resigned(|p| p.to = FACILITATOR)), Reason::Permit2RecipientMismatch);

    // deadline = 1740672154: valid while now + 6 reaches it.
    assert!(verdict_on(Chain::default(), &good()).is_ok());
    assert_eq!(reason_for(&request(), &good(), 1_740_672_148 + 1), Reason::Permit2DeadlineExpired);
    assert!(run(
        &request(),
        &good(),
        Options::default(),
        1_740_672_148,
        &Recording { chain: Chain::default(), posts: Default::default() }
    )
    .is_ok());
    let later = resigned(|p| p.valid_after = U256::from(NOW + 1));
    assert_eq!(reason(&later), Reason::Permit2NotYetValid);
    assert!(verdict_on(Chain::default(), &resigned(|p| p.valid_after = U256::from(NOW))).is_ok());

    assert_eq!(reason(&resigned(|p| p.amount = U256::from(10_001))), Reason::Permit2AmountMismatch);
    assert_eq!(reason(&resigned(|p| p.amount = U256::from(9_999))), Reason::Permit2AmountMismatch);
    assert_eq!(reason(&resigned(|p| p.token = Address::repeat_byte(7))), Reason::Permit2TokenMismatch);
    let mut unsigned = good();
    unsigned.nonce += U256::from(1);
    assert_eq!(reason(&unsigned), Reason::Permit2InvalidSignature, "a field changed after signing");
    let mut forged = good();
    sign(OTHER_KEY, &mut forged, 84532);
    assert_eq!(reason(&forged), Reason::Permit2InvalidSignature);
    let mut other_chain = good();
    sign(PAYER_KEY, &mut other_chain, 8453);
    assert_eq!(reason(&other_chain), Reason::Permit2InvalidSignature);
}

#[test]
fn the_first_failing_rule_is_the_one_reported() {
    // Wrong spender, recipient, deadline and amount at once: the spender comes first.
    let p = resigned(|p| {
        p.spender = UPTO_PROXY;
        p.to = FACILITATOR;
        p.amount = U256::from(1);
    });
    assert_eq!(reason_for(&request(), &p, NOW + 3600), Reason::Permit2InvalidSpender);
    let p = resigned(|p| {
        p.to = FACILITATOR;
        p.amount = U256::from(1);
    });
    assert_eq!(reason_for(&request(), &p, NOW + 3600), Reason::Permit2RecipientMismatch);
    // Expired and for another amount: the deadline comes first.
    assert_eq!(
        reason_for(&request(), &resigned(|p| p.amount = U256::from(1)), NOW + 3600),
        Reason::Permit2DeadlineExpired
    );
}

#[test]
fn a_zero_amount_or_a_payment_to_oneself_is_refused_by_the_scheme_too() {
    let mut r = request();
    r.requirements.amount = U256::ZERO;
    assert_eq!(reason_for(&r, &resigned(|p| p.amount = U256::ZERO), NOW), Reason::AmountBelowMinimum);
    let payer = good().from;
    let mut r = request();
    r.requirements.pay_to = payer.to_string();
    assert_eq!(reason_for(&r, &resigned(|p| p.to = payer), NOW), Reason::SelfPayment);
}

#[test]
fn signatures_are_checked_as_permit2s_ecrecover_does() {
    let p = good();
    let n = U256::from_str_radix("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16).unwrap();
    // The malleable twin (n - s, other v) recovers the payer on chain too.
    let mut twin = p.clone();
    let mut bytes = p.signature.to_vec();
    let s = U256::from_be_slice(&bytes[32..64]);
    bytes[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    bytes[64] = if bytes[64] == 27 { 28 } else { 27 };
    twin.signature = bytes.into();
    assert!(verdict_on(Chain::default(), &twin).is_ok());
    // v = 0/1: ecrecover answers nothing.
    let mut zero_v = p.clone();
    let mut bytes = p.signature.to_vec();
    bytes[64] -= 27;
    zero_v.signature = bytes.into();
    assert_eq!(reason(&zero_v), Reason::Permit2InvalidSignature);
    // A 64-byte compact signature, or 66 bytes: refused as the reference does.
    for len in [64, 66] {
        let mut odd = p.clone();
        odd.signature = p.signature.iter().copied().cycle().take(len).collect::<Vec<_>>().into();
        assert_eq!(reason(&odd), Reason::Permit2InvalidSignature, "{len}");
    }
}

// --- the chain round trip ---

#[test]
fn a_contract_payer_is_judged_by_its_erc1271_answer_alone() {
    let mut forged = good();
    sign(OTHER_KEY, &mut forged, 84532);
    let wallet = Chain { payer_code: true, wallet_accepts: true, ..Chain::default() };
    assert!(verdict_on(wallet.clone(), &forged).is_ok(), "the wallet accepts what no EOA key signed");
    let rejecting = Chain { payer_code: true, ..Chain::default() };
    assert_eq!(reason_on(rejecting.clone(), &forged), Reason::Permit2InvalidSignature);
    // With code, a valid ECDSA signature of `from` is not enough (an ERC-7702 delegate decides).
    assert_eq!(reason_on(rejecting, &good()), Reason::Permit2InvalidSignature);
}

#[test]
fn each_chain_verdict_has_its_code_and_order() {
    let c = Chain::default;
    assert_eq!(reason_on(Chain { asset_code: false, ..c() }, &good()), Reason::AssetNotDeployedContract);
    // The asset's code is judged before the signature, as in the reference.
    let mut forged = good();
    sign(OTHER_KEY, &mut forged, 84532);
    assert_eq!(reason_on(Chain { asset_code: false, ..c() }, &forged), Reason::AssetNotDeployedContract);
    assert_eq!(reason_on(Chain { nonce_used: true, ..c() }, &good()), Reason::Permit2InvalidNonce);
    assert_eq!(reason_on(Chain { proxy: None, ..c() }, &good()), Reason::Permit2ProxyNotDeployed);
    let elsewhere = Chain { proxy: Some(Address::repeat_byte(9)), ..c() };
    assert_eq!(reason_on(elsewhere, &good()), Reason::Permit2ProxyNotDeployed);
    let reverts = Chain { revert: Some("0x"), ..c() };
    assert_eq!(reason_on(Chain { allowance: 9_999, ..reverts.clone() }, &good()), Reason::Permit2AllowanceRequired);
    let poor = Chain { allowance: 0, balance: 9_999, ..reverts.clone() };
    assert_eq!(reason_on(poor, &good()), Reason::Permit2InsufficientBalance, "the balance is diagnosed first");
    let failed = verdict_on(Chain { revert: Some("0xa65539fa"), ..c() }, &good()).unwrap_err();
    assert_eq!(failed.reason(), Reason::Permit2SimulationFailed);
    assert!(failed.to_string().contains("PaymentTooEarly"), "{failed}");
    assert_eq!(reason_on(Chain { moves: false, ..c() }, &good()), Reason::EvmTransferMismatch);
    assert_eq!(reason_on(Chain { chain_id: 8453, ..c() }, &good()), Reason::UnexpectedVerifyError);
}

#[test]
fn the_eip2612_extension_is_checked_in_order_and_simulated_with_settle_with_permit() {
    let transport = Recording { chain: Chain { allowance: 0, ..Chain::default() }, posts: RefCell::new(Vec::new()) };
    let p = with_extension("eip2612GasSponsoring", eip2612_info());
    assert!(run(&request(), &p, Options::default(), NOW, &transport).is_ok());
    let simulation = &transport.posts.borrow()[0][8]["params"][0];
    assert!(simulation["data"].as_str().unwrap().starts_with("0xfa340378"), "settleWithPermit");

    let code = |field: &str, value: Value| {
        let mut info = eip2612_info();
        info[field] = value;
        reason(&with_extension("eip2612GasSponsoring", info))
    };
    assert_eq!(code("amount", json!("ten")), Reason::Eip2612InvalidFormat);
    assert_eq!(code("from", json!(FACILITATOR)), Reason::Eip2612FromMismatch);
    assert_eq!(code("asset", json!(FACILITATOR)), Reason::Eip2612AssetMismatch);
    assert_eq!(code("spender", json!(EXACT_PROXY)), Reason::Eip2612SpenderNotPermit2);
    assert_eq!(code("deadline", json!((NOW + 5).to_string())), Reason::Eip2612DeadlineExpired);
    assert_eq!(code("amount", json!("10001")), Reason::Permit2612AmountMismatch);
    // After the signature, as the reference orders them.
    let mut info = eip2612_info();
    info["from"] = json!(FACILITATOR);
    let mut both = with_extension("eip2612GasSponsoring", info);
    sign(OTHER_KEY, &mut both, 84532);
    assert_eq!(reason(&both), Reason::Permit2InvalidSignature);
    // A simulation that fails with the permit is diagnosed as any other.
    let reverts = Chain { allowance: 0, revert: Some("0x"), ..Chain::default() };
    assert_eq!(
        reason_on(reverts, &with_extension("eip2612GasSponsoring", eip2612_info())),
        Reason::Permit2AllowanceRequired
    );
}

/// A signed approval transaction of `key` (an EIP-1559 call of `input` to `to`).
fn approval_tx(key: &str, to: Address, input: Vec<u8>, chain_id: u64, nonce: u64) -> String {
    let signer = LocalEvmSigner::from_hex(key).unwrap();
    let fees = Fees::Eip1559 { max_fee_per_gas: 1_000_000_000, max_priority_fee_per_gas: 100_000_000 };
    let call = ContractCall { chain_id, nonce, gas_limit: 70_000, fees, to, input: input.into() };
    let signed = pollster::block_on(crate::chains::evm::tx::sign(&signer, &call)).unwrap();
    format!("0x{}", hex::encode(signed.raw))
}

fn approve(spender: Address, amount: U256) -> Vec<u8> {
    IErc20::approveCall { spender, amount }.abi_encode()
}

fn erc20_reason(chain: Chain, info: Value, options: Options) -> Result<Verified, ExactPermit2Error> {
    let transport = Recording { chain, posts: RefCell::new(Vec::new()) };
    run(&request(), &with_extension("erc20ApprovalGasSponsoring", info), options, NOW, &transport)
}

#[test]
fn the_erc20_approval_is_relayed_only_when_enabled_and_checked_field_by_field() {
    let on = Options { erc20_approval: true };
    let short = Chain { allowance: 0, revert: Some("0x"), ..Chain::default() };
    // Disabled: the info is ignored and the allowance is missing.
    let off = erc20_reason(short.clone(), erc20_info(), Options::default()).unwrap_err();
    assert_eq!(off.reason(), Reason::Permit2AllowanceRequired);
    // Enabled: mineable as signed (next nonce 3, gas money), so verify passes.
    assert!(erc20_reason(short.clone(), erc20_info(), on).is_ok());
    // With the allowance already there, the approval is not needed and the settle is simulated.
    assert!(erc20_reason(Chain::default(), erc20_info(), on).is_ok());
    let not_mineable = [Chain { tx_count: 4, ..short.clone() }, Chain { eth: 69_999_999_999_999, ..short.clone() }];
    for chain in not_mineable {
        assert_eq!(erc20_reason(chain, erc20_info(), on).unwrap_err().reason(), Reason::Erc20ApprovalBroadcastFailed);
    }
    let poor = Chain { balance: 1, ..short.clone() };
    assert_eq!(erc20_reason(poor, erc20_info(), on).unwrap_err().reason(), Reason::Permit2InsufficientBalance);

    let code = |field: &str, value: Value| {
        let mut info = erc20_info();
        info[field] = json!(value);
        erc20_reason(short.clone(), info, on).unwrap_err().reason()
    };
    let max = U256::MAX;
    assert_eq!(code("version", json!("one")), Reason::Erc20ApprovalInvalidFormat);
    assert_eq!(code("from", json!(FACILITATOR)), Reason::Erc20ApprovalFromMismatch);
    assert_eq!(code("asset", json!(FACILITATOR)), Reason::Erc20ApprovalAssetMismatch);
    assert_eq!(code("spender", json!(EXACT_PROXY)), Reason::Erc20ApprovalSpenderNotPermit2);
    assert_eq!(code("signedTransaction", json!("0x02f8")), Reason::Erc20ApprovalTxParseFailed);
    let tx = |to, input, chain, key| json!(approval_tx(key, to, input, chain, 3));
    assert_eq!(
        code("signedTransaction", tx(FACILITATOR, approve(PERMIT2, max), 84532, PAYER_KEY)),
        Reason::Erc20ApprovalTxWrongTarget
    );
    assert_eq!(
        code("signedTransaction", tx(USDC, approve(PERMIT2, max), 8453, PAYER_KEY)),
        Reason::Erc20ApprovalTxWrongTarget
    );
    let transfer = IErc20::balanceOfCall { account: PERMIT2 }.abi_encode();
    assert_eq!(code("signedTransaction", tx(USDC, transfer, 84532, PAYER_KEY)), Reason::Erc20ApprovalTxWrongSelector);
    assert_eq!(
        code("signedTransaction", tx(USDC, approve(PERMIT2, max)[..20].to_vec(), 84532, PAYER_KEY)),
        Reason::Erc20ApprovalTxInvalidCalldata
    );
    assert_eq!(
        code("signedTransaction", tx(USDC, approve(PERMIT2, U256::from(9_999)), 84532, PAYER_KEY)),
        Reason::Erc20ApprovalTxInvalidCalldata
    );
    assert_eq!(
        code("signedTransaction", tx(USDC, approve(EXACT_PROXY, max), 84532, PAYER_KEY)),
        Reason::Erc20ApprovalTxWrongSpender
    );
    assert_eq!(
        code("signedTransaction", tx(USDC, approve(PERMIT2, max), 84532, OTHER_KEY)),
        Reason::Erc20ApprovalTxSignerMismatch
    );
    // viem's transaction (tests/vectors/permit2.json) passes every rule; its signature broken, no one recovers.
    let mut raw = hex_bytes(&erc20_info()["signedTransaction"]);
    let last = raw.len() - 1;
    raw[last - 40] ^= 0xff;
    let broken = code("signedTransaction", json!(format!("0x{}", hex::encode(raw))));
    assert!(
        matches!(broken, Reason::Erc20ApprovalTxInvalidSignature | Reason::Erc20ApprovalTxSignerMismatch),
        "{broken:?}"
    );
}

#[test]
fn the_approval_vector_is_the_payers_for_the_token() {
    let p = with_extension("erc20ApprovalGasSponsoring", erc20_info());
    let tx = checks::check_erc20_approval(&p, USDC, 84532).unwrap().unwrap();
    let v = &vectors()["erc20Approval"];
    assert_eq!(tx.hash.to_string(), v["hash"].as_str().unwrap());
    assert_eq!(tx.nonce, 3);
    assert_eq!(tx.max_cost, U256::from(70_000u64 * 1_000_000_000));
}

#[test]
fn errors_name_their_reason_and_only_a_sent_payment_names_a_transaction() {
    let hash = B256::repeat_byte(1);
    assert_eq!(ExactPermit2Error::Reverted(hash).transaction(), Some(hash));
    assert_eq!(ExactPermit2Error::ReceiptTimeout { hash, secs: 1 }.transaction(), Some(hash));
    assert_eq!(ExactPermit2Error::ApprovalFailed("reverted".into()).transaction(), None);
    assert_eq!(ExactPermit2Error::NonceUsed.reason().code(Version::V2), "permit2_invalid_nonce");
    assert_eq!(ExactPermit2Error::NonceUsed.reason().code(Version::V1), "invalid_transaction_state");
    assert_eq!(
        ExactPermit2Error::AllowanceRequired { allowance: U256::ZERO, required: U256::from(1) }
            .reason()
            .code(Version::V2),
        "permit2_allowance_required"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Whatever bytes stand for the approval transaction, the checks answer with a verdict.
    #[test]
    fn any_approval_bytes_get_a_verdict(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        let mut p = with_extension("erc20ApprovalGasSponsoring", erc20_info());
        if let Some(Ok(info)) = p.erc20_approval.as_mut() {
            info.signed_transaction = raw.into();
        }
        let _ = checks::check_erc20_approval(&p, USDC, 84532);
    }

    /// Whatever bytes stand for the Permit2 signature, the check answers with a verdict.
    #[test]
    fn any_signature_bytes_get_a_verdict(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        let mut p = good();
        p.signature = raw.into();
        let _ = checks::check_signature(&p, 84532);
    }
}
