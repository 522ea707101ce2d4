//! The HTTP surface without a chain: routing, CORS, limits, configuration errors and /supported.

use serde_json::{json, Value};
use x402_edge::api::{self, ApiRequest, ApiResponse, MAX_BODY_BYTES};
use x402_edge::facilitator::Facilitator;

mod common;

use common::offline::{offline_facilitator, OfflineHost};
use x402_edge::facilitator::{Hooks, NoHooks};

const NOW_MS: u64 = 1_762_287_551_000;
const KEY: &str = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";
const SIGNER: &str = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";

fn facilitator(vars: &[(&str, &str)]) -> Facilitator<OfflineHost> {
    offline_facilitator(vars, NOW_MS, NoHooks)
}

fn call<K: Hooks>(f: &Facilitator<OfflineHost<K>>, method: &str, path: &str, body: &[u8]) -> (ApiResponse, Value) {
    call_as(f, method, path, body, None, "127.0.0.1")
}

/// A call with an `Authorization` header and from a client address.
fn call_as<K: Hooks>(
    f: &Facilitator<OfflineHost<K>>,
    method: &str,
    path: &str,
    body: &[u8],
    authorization: Option<&str>,
    client: &str,
) -> (ApiResponse, Value) {
    let request = ApiRequest { method, path, query: "", authorization, client, body, request_id: "rid" };
    let (response, _) = pollster::block_on(api::handle(f, request));
    let json = serde_json::from_str(&response.body).unwrap_or(Value::Null);
    (response, json)
}

fn header<'a>(r: &'a ApiResponse, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
}

fn default() -> Facilitator<OfflineHost> {
    facilitator(&[("EVM_PRIVATE_KEY", KEY), ("EVM_NETWORKS", "base-sepolia,optimism")])
}

#[test]
fn supported_lists_one_kind_per_version_and_network_with_signers() {
    let (response, body) = call(&default(), "GET", "/supported", b"");
    assert_eq!(response.status, 200);
    // One `upto` kind for both payloads: the standard client signs for `facilitatorAddress`, the
    // daydreams one for `signers["eip155:*"][0]`, the same address.
    let upto_extra = json!({"facilitatorAddress": SIGNER, "payloads": ["permit2", "eip2612-session"]});
    assert_eq!(
        body,
        json!({
            "kinds": [
                {"x402Version": 2, "scheme": "exact", "network": "eip155:84532"},
                {"x402Version": 2, "scheme": "exact", "network": "eip155:10"},
                {"x402Version": 1, "scheme": "exact", "network": "base-sepolia"},
                {"x402Version": 2, "scheme": "upto", "network": "eip155:84532", "extra": upto_extra},
                {"x402Version": 2, "scheme": "upto", "network": "eip155:10", "extra": upto_extra},
            ],
            "extensions": ["eip2612GasSponsoring"],
            "signers": {"eip155:*": [SIGNER]},
        })
    );
    let (_, cronos) = call(&default(), "GET", "/v2/x402/supported", b"");
    assert_eq!(cronos, json!({"kinds": [{"x402Version": 1, "scheme": "exact", "network": "base-sepolia"}]}));
}

#[test]
fn supported_lists_the_erc20_approval_extension_only_when_it_is_served() {
    let served = facilitator(&[("EVM_PRIVATE_KEY", KEY), ("PERMIT2_ERC20_APPROVAL_SPONSORING", "true")]);
    let (_, body) = call(&served, "GET", "/supported", b"");
    assert_eq!(body["extensions"], json!(["eip2612GasSponsoring", "erc20ApprovalGasSponsoring"]));
    let refused = facilitator(&[("EVM_PRIVATE_KEY", KEY), ("PERMIT2_ERC20_APPROVAL_SPONSORING", "yes")]);
    let (_, health) = call(&refused, "GET", "/health", b"");
    assert!(health.to_string().contains("PERMIT2_ERC20_APPROVAL_SPONSORING"), "a bad value is a problem: {health}");
}

#[test]
fn without_a_signer_nothing_is_supported_and_health_says_why() {
    let f = facilitator(&[]);
    let (_, body) = call(&f, "GET", "/supported", b"");
    assert_eq!(body, json!({"kinds": [], "extensions": [], "signers": {}}));
    let (_, health) = call(&f, "GET", "/health", b"");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["unserved"].as_array().unwrap().len(), 3, "base, base-sepolia and solana-devnet");
}

#[test]
fn bad_configuration_is_reported_by_name_on_every_request() {
    let f = facilitator(&[("EVM_PRIVATE_KEY", "0xnot-a-key-but-secret"), ("EVM_NETWORKS", "base,moon")]);
    for (method, path) in [("GET", "/supported"), ("GET", "/health"), ("POST", "/verify"), ("POST", "/settle")] {
        let (response, body) = call(&f, method, path, b"{}");
        assert_eq!(response.status, 503, "{path}");
        let vars: Vec<_> = body["problems"].as_array().unwrap().iter().map(|p| p["variable"].clone()).collect();
        assert_eq!(vars, [json!("EVM_PRIVATE_KEY"), json!("EVM_NETWORKS")]);
        assert!(!response.body.contains("not-a-key-but-secret"));
    }
}

#[test]
fn cors_preflight_and_headers_on_every_response() {
    let (response, _) = call(&default(), "OPTIONS", "/verify", b"");
    assert_eq!(response.status, 204);
    assert!(response.body.is_empty());
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    let (response, _) = call(&default(), "GET", "/nope", b"");
    assert_eq!(response.status, 404);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&response, "x-request-id"), Some("rid"));
    assert_eq!(header(&response, "content-type"), Some("application/json"));
}

#[test]
fn wrong_methods_and_oversized_bodies_are_refused() {
    let (response, _) = call(&default(), "GET", "/verify", b"");
    assert_eq!(response.status, 405);
    let (response, _) = call(&default(), "POST", "/supported", b"");
    assert_eq!(response.status, 405);
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    let (response, body) = call(&default(), "POST", "/settle", &big);
    assert_eq!(response.status, 413);
    assert_eq!(body["reason"], "invalid_payload");
    assert_eq!(body["errorReason"], "invalid_payload");
    assert_eq!(body["success"], false);
    assert_eq!(body["transaction"], "");
}

#[test]
fn an_unserved_network_is_a_400_with_the_reason() {
    let examples: Value = serde_json::from_str(include_str!("vectors/api-examples.json")).unwrap();
    let mut request = examples["coinbase_v2"]["POST /verify request"].clone();
    for network in ["eip155:8453", "eip155:137"] {
        request["paymentRequirements"]["network"] = json!(network);
        request["paymentPayload"]["accepted"]["network"] = json!(network);
        let (response, body) = call(&default(), "POST", "/settle", request.to_string().as_bytes());
        assert_eq!(response.status, 400);
        assert_eq!(body["errorReason"], "invalid_network");
        assert_eq!(body["reason"], "invalid_network");
        assert_eq!(body["success"], false);
        assert_eq!(body["transaction"], "");
        assert_eq!(body["network"], network);
    }
}

#[test]
fn settle_failures_name_the_network_and_payer() {
    let examples: Value = serde_json::from_str(include_str!("vectors/api-examples.json")).unwrap();
    let request = &examples["coinbase_v2"]["POST /verify request"];
    // The spec example expired in 2025: a pure check fails before any RPC.
    let (response, body) = call(&default(), "POST", "/settle", request.to_string().as_bytes());
    assert_eq!(response.status, 200);
    assert_eq!(body["success"], false);
    assert_eq!(body["errorReason"], "invalid_exact_evm_payload_authorization_valid_before");
    assert_eq!(body["payer"], "0x857b06519E91e3A54538791bDbb0E22373e36b66");
    assert_eq!(body["network"], "eip155:84532");
    assert_eq!(body["transaction"], "");
}

#[test]
fn the_openapi_document_describes_every_route() {
    let (response, doc) = call(&default(), "GET", "/openapi.json", b"");
    assert_eq!(response.status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/verify",
        "/settle",
        "/supported",
        "/health",
        "/openapi.json",
        "/v2/x402/verify",
        "/v2/x402/settle",
        "/v2/x402/supported",
        "/healthcheck",
        "/settle/status",
        "/discovery/resources",
        "/discovery/search",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
    }
}

/// Hooks that abort, recover and count, per the reference semantics.
#[derive(Default)]
struct Policy {
    abort_verify: bool,
    recover_verify: bool,
    abort_settle: bool,
    after_verify: std::cell::Cell<u32>,
    after_settle: std::cell::Cell<u32>,
}

impl Hooks for Policy {
    async fn before_verify(&self, _: &x402_edge::schemes::PaymentRequest) -> x402_edge::facilitator::HookDecision {
        match self.abort_verify {
            true => x402_edge::facilitator::HookDecision::Abort {
                reason: "blocked_by_policy".into(),
                message: "payer on a deny list".into(),
            },
            false => x402_edge::facilitator::HookDecision::Continue,
        }
    }
    async fn after_verify(&self, _: &x402_edge::schemes::PaymentRequest, _: &x402_edge::facilitator::Verified) {
        self.after_verify.set(self.after_verify.get() + 1);
    }
    async fn on_verify_failure(
        &self,
        request: &x402_edge::schemes::PaymentRequest,
        _: &x402_edge::facilitator::Failure,
    ) -> Option<x402_edge::facilitator::Verified> {
        self.recover_verify.then(|| x402_edge::facilitator::Verified { payer: request.payload.payer() })
    }
    async fn before_settle(&self, _: &x402_edge::schemes::PaymentRequest) -> x402_edge::facilitator::HookDecision {
        match self.abort_settle {
            true => x402_edge::facilitator::HookDecision::Abort {
                reason: "blocked_by_policy".into(),
                message: "settles paused".into(),
            },
            false => x402_edge::facilitator::HookDecision::Continue,
        }
    }
    async fn after_settle(
        &self,
        _: &x402_edge::schemes::PaymentRequest,
        _: &Result<x402_edge::facilitator::Settled, x402_edge::facilitator::Failure>,
    ) {
        self.after_settle.set(self.after_settle.get() + 1);
    }
}

#[test]
fn hooks_abort_recover_and_observe_with_the_reference_semantics() {
    let examples: Value = serde_json::from_str(include_str!("vectors/api-examples.json")).unwrap();
    let body = examples["coinbase_v2"]["POST /verify request"].to_string();
    let vars = [("EVM_PRIVATE_KEY", KEY), ("EVM_NETWORKS", "base-sepolia")];

    let aborting =
        offline_facilitator(&vars, NOW_MS, Policy { abort_verify: true, abort_settle: true, ..Default::default() });
    let (_, verify) = call(&aborting, "POST", "/verify", body.as_bytes());
    assert_eq!(verify["invalidReason"], "blocked_by_policy");
    assert_eq!(verify["invalidMessage"], "payer on a deny list");
    let (_, settle) = call(&aborting, "POST", "/settle", body.as_bytes());
    assert_eq!(settle["errorReason"], "blocked_by_policy");
    assert_eq!(settle["transaction"], "");
    assert_eq!(aborting.hooks().after_settle.get(), 1, "after-settle sees every outcome");
    assert_eq!(aborting.hooks().after_verify.get(), 0, "after-verify sees only successes");

    // The spec example expired long before NOW_MS; a failure hook may still recover it.
    let recovering = offline_facilitator(&vars, NOW_MS, Policy { recover_verify: true, ..Default::default() });
    let (_, verify) = call(&recovering, "POST", "/verify", body.as_bytes());
    assert_eq!(verify, json!({"isValid": true, "payer": "0x857b06519E91e3A54538791bDbb0E22373e36b66"}));
}

#[test]
fn api_keys_guard_verify_and_settle_but_not_discovery() {
    let f = facilitator(&[("EVM_PRIVATE_KEY", KEY), ("FACILITATOR_API_KEYS", "fac_live_a, fac_live_b")]);
    for (auth, status) in
        [(None, 401), (Some("Bearer nope"), 401), (Some("fac_live_a"), 401), (Some("Bearer fac_live_b"), 400)]
    {
        let (response, body) = call_as(&f, "POST", "/verify", b"{}", auth, "1.2.3.4");
        assert_eq!(response.status, status, "{auth:?}");
        if status == 401 {
            assert_eq!(body["reason"], "unauthorized");
            assert_eq!(header(&response, "www-authenticate"), Some("Bearer"));
            assert!(!response.body.contains("fac_live"));
        }
    }
    assert_eq!(call(&f, "GET", "/supported", b"").0.status, 200);
    assert_eq!(call(&f, "GET", "/health", b"").0.status, 200);
}

#[test]
fn rate_limits_answer_429_with_retry_after_per_client() {
    let f = facilitator(&[("EVM_PRIVATE_KEY", KEY), ("RATE_LIMIT_PER_MINUTE", "2")]);
    let statuses: Vec<u16> = (0..3).map(|_| call_as(&f, "POST", "/settle", b"{}", None, "10.0.0.1").0.status).collect();
    assert_eq!(statuses, [400, 400, 429]);
    let (response, body) = call_as(&f, "POST", "/settle", b"{}", None, "10.0.0.1");
    assert_eq!(body["reason"], "rate_limited");
    assert_eq!(header(&response, "retry-after"), Some("30"));
    // Another client has its own bucket.
    assert_eq!(call_as(&f, "POST", "/settle", b"{}", None, "10.0.0.2").0.status, 400);
}

#[test]
fn a_pay_to_off_the_allowlist_is_refused() {
    let examples: Value = serde_json::from_str(include_str!("vectors/api-examples.json")).unwrap();
    let body = examples["coinbase_v2"]["POST /verify request"].to_string();
    let f = facilitator(&[
        ("EVM_PRIVATE_KEY", KEY),
        ("EVM_NETWORKS", "base-sepolia"),
        ("PAY_TO_ALLOWLIST", "0x0000000000000000000000000000000000000001"),
    ]);
    let (_, verify) = call(&f, "POST", "/verify", body.as_bytes());
    assert_eq!(verify["invalidReason"], "pay_to_not_allowed");
    let (_, settle) = call(&f, "POST", "/settle", body.as_bytes());
    assert_eq!(settle["errorReason"], "pay_to_not_allowed");
    let bad = facilitator(&[("PAY_TO_ALLOWLIST", "0x01,nope")]);
    assert_eq!(call(&bad, "GET", "/supported", b"").0.status, 503);
}

/// A public Solana test key: base58 of seed (7×32) ‖ its public key.
fn svm_secret() -> (String, String) {
    let keypair = x402_edge::chains::svm::Keypair::from_seed(&[7u8; 32]);
    let mut bytes = vec![7u8; 32];
    bytes.extend(keypair.pubkey().0);
    (bs58::encode(bytes).into_string(), keypair.pubkey().to_base58())
}

#[test]
fn solana_kinds_advertise_the_fee_payer_and_stay_out_of_the_cronos_dialect() {
    let (secret, fee_payer) = svm_secret();
    let f = facilitator(&[("SVM_PRIVATE_KEY", &secret), ("SVM_NETWORKS", "solana-devnet,solana")]);
    let (_, body) = call(&f, "GET", "/supported", b"");
    let extra = json!({"feePayer": fee_payer});
    assert_eq!(
        body,
        json!({
            "kinds": [
                {"x402Version": 2, "scheme": "exact", "network": "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1", "extra": extra},
                {"x402Version": 2, "scheme": "exact", "network": "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", "extra": extra},
                {"x402Version": 1, "scheme": "exact", "network": "solana-devnet", "extra": extra},
                {"x402Version": 1, "scheme": "exact", "network": "solana", "extra": extra},
            ],
            "extensions": [],
            "signers": {"solana:*": [fee_payer]},
        })
    );
    let (_, cronos) = call(&f, "GET", "/v2/x402/supported", b"");
    assert_eq!(cronos, json!({"kinds": []}));
}

#[test]
fn a_solana_payload_is_checked_by_the_scheme_before_any_rpc() {
    let (secret, fee_payer) = svm_secret();
    let f = facilitator(&[("SVM_PRIVATE_KEY", &secret)]);
    let requirements = json!({
        "scheme": "exact", "network": "solana-devnet", "maxAmountRequired": "1000", "resource": "http://r",
        "description": "", "mimeType": "", "payTo": fee_payer, "maxTimeoutSeconds": 60,
        "asset": "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", "extra": {"feePayer": fee_payer},
    });
    let request = |transaction: Value| {
        json!({"x402Version": 1, "paymentPayload": {"x402Version": 1, "scheme": "exact", "network": "solana-devnet",
            "payload": {"transaction": transaction}}, "paymentRequirements": requirements})
    };
    let (_, body) = call(&f, "POST", "/verify", request(json!("AQID")).to_string().as_bytes());
    assert_eq!(body["isValid"], false);
    assert_eq!(body["invalidReason"], "invalid_exact_svm_payload_transaction", "{body}");
    let (response, body) = call(&f, "POST", "/settle", request(json!(42)).to_string().as_bytes());
    assert_eq!((response.status, body["errorReason"].as_str()), (400, Some("invalid_payload")), "{body}");
    let cronos = json!({"x402Version": 1, "paymentHeader": "e30=", "paymentRequirements": requirements});
    let (_, body) = call(&f, "POST", "/verify", cronos.to_string().as_bytes());
    assert_eq!(body["isValid"], false, "{body}");
}

/// A GET with a query string.
fn get(f: &Facilitator<OfflineHost>, path: &str, query: &str) -> (ApiResponse, Value) {
    let request = ApiRequest {
        method: "GET",
        path,
        query,
        authorization: None,
        client: "127.0.0.1",
        body: b"",
        request_id: "rid",
    };
    let (response, _) = pollster::block_on(api::handle(f, request));
    let json = serde_json::from_str(&response.body).unwrap_or(Value::Null);
    (response, json)
}

#[test]
fn settle_status_for_solana_and_starknet_is_refused_with_where_to_look_instead() {
    let (secret, _) = svm_secret();
    let f = facilitator(&[
        ("SVM_PRIVATE_KEY", &secret),
        ("SVM_NETWORKS", "solana-devnet"),
        ("STARKNET_NETWORKS", "starknet-sepolia"),
        ("STARKNET_SPONSOR_ADDRESS", "0x123"),
        ("STARKNET_SPONSOR_PRIVATE_KEY", "0x1"),
    ]);
    let signature = "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW";
    let hash = format!("0x{}", "ab".repeat(32));
    for (query, lookup) in [
        (format!("network=solana-devnet&transaction={signature}"), "getSignatureStatuses"),
        ("network=solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1".to_string(), "getSignatureStatuses"),
        (format!("network=starknet-sepolia&transaction={hash}"), "starknet_getTransactionStatus"),
        (format!("network=starknet:SN_SEPOLIA&asset=0x1&from=0x2&nonce={hash}"), "starknet_getTransactionStatus"),
    ] {
        let (response, body) = get(&f, "/settle/status", &query);
        assert_eq!(response.status, 400, "{query}: {body}");
        assert_eq!(body["reason"], "invalid_network", "{query}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains("EVM payments only") && error.contains(lookup), "{query}: {error}");
    }
}

/// An `upto` session opened in capture mode succeeds without a transaction: its log outcome says so,
/// and the Worker lists only a settle whose outcome is exactly `settled` (funds moved on chain) in
/// the discovery catalog, so a permit from an empty wallet cannot write a listing.
#[test]
fn a_capture_that_moved_nothing_on_chain_is_logged_apart_from_a_settle() {
    let vectors: Value =
        serde_json::from_str(include_str!("vectors/generated-evm-signatures.json")).unwrap_or_default();
    let mut payload = vectors["eip2612PermitForDaydreamsUpto"]["v2PaymentPayload"].clone();
    payload["resource"] = json!({"url": "https://merchant.example/paid", "description": "a listing"});
    payload["extensions"] = json!({"bazaar": {"info": {"input": {"type": "http"}}}});
    let body =
        json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": payload["accepted"]}).to_string();
    // The session's spender (`authorization.to`) is this key's account (anvil's second).
    let spender_key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    let f =
        offline_facilitator(&[("EVM_NETWORKS", "base"), ("EVM_PRIVATE_KEY", spender_key)], 1_800_000_000_000, NoHooks);
    let request = ApiRequest {
        method: "POST",
        path: "/settle",
        query: "",
        authorization: None,
        client: "c",
        body: body.as_bytes(),
        request_id: "r",
    };
    let (response, log) = pollster::block_on(api::handle(&f, request));
    let answer: Value = serde_json::from_str(&response.body).unwrap_or_default();
    assert_eq!((answer["success"].as_bool(), answer["transaction"].as_str()), (Some(true), Some("")), "{answer}");
    assert_eq!(log.outcome, "settled:off_chain");
}
