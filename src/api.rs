//! The HTTP API, host-neutral: a request (method, path, body) in, a status, JSON body and headers
//! out, plus one structured log record. The worker only translates to and from its own types.

use serde::Serialize;
use serde_json::{json, Value};

use crate::access::{Decision, Unauthorized};
use crate::facilitator::Host;
use crate::facilitator::{session_json, Facilitator, Failure, TxStatus};
use crate::ledger::LedgerEntry;
use crate::network;
use crate::ports::Clock;
use crate::protocol::cronos::{iso8601_millis, CronosSettleResponse, CronosVerifyResponse};
use crate::protocol::model::{Dialect, Version};
use crate::protocol::normalize::{parse_b256, parse_evm_address, Rejection, RequestError};
use crate::protocol::response::{SettleResponse, VerifyResponse};
use crate::protocol::Reason;
use crate::schemes::exact_evm::payload::ledger_key as eip3009_key;
use crate::schemes::parse_request;
use crate::schemes::{Payload, PaymentRequest};

/// Requests above this size are refused before parsing; real payments are a few KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The OpenAPI 3 description of this API (kept in the repository as `openapi.json`).
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

pub const CORS_HEADERS: [(&str, &str); 5] = [
    ("access-control-allow-origin", "*"),
    ("access-control-allow-methods", "GET, POST, OPTIONS"),
    ("access-control-allow-headers", "content-type, authorization, x402-version, x-payment, payment-signature"),
    ("access-control-expose-headers", "x-request-id, retry-after"),
    ("access-control-max-age", "86400"),
];

pub struct ApiRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The query string, without `?` (empty when there is none).
    pub query: &'a str,
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// The client's address (`cf-connecting-ip` in the Worker), for per-address rate limits.
    pub client: &'a str,
    pub body: &'a [u8],
    pub request_id: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    /// JSON, or empty for 204.
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

/// One line per request. Never holds a key, an RPC URL or a full signature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRecord {
    pub request_id: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    pub outcome: String,
    pub duration_ms: u64,
}

struct Reply {
    status: u16,
    body: Value,
    outcome: String,
    scheme: Option<String>,
    network: Option<String>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn plain(status: u16, body: Value, outcome: &str) -> Self {
        Reply { status, body, outcome: outcome.to_string(), scheme: None, network: None, headers: Vec::new() }
    }

    fn about(mut self, request: &PaymentRequest) -> Self {
        self.scheme = Some(request.requirements.scheme.clone());
        self.network = Some(request.requirements.network.clone());
        self
    }
}

pub async fn handle<P: Host>(facilitator: &Facilitator<P>, request: ApiRequest<'_>) -> (ApiResponse, LogRecord) {
    let started = facilitator.clock().now_millis();
    let reply = route(facilitator, &request).await;
    let mut headers: Vec<(&'static str, String)> = CORS_HEADERS.iter().map(|(k, v)| (*k, v.to_string())).collect();
    headers.push(("x-request-id", request.request_id.to_string()));
    headers.extend(reply.headers);
    let body = if reply.status == 204 { String::new() } else { reply.body.to_string() };
    if !body.is_empty() {
        headers.push(("content-type", "application/json".to_string()));
    }
    let log = LogRecord {
        request_id: request.request_id.to_string(),
        method: request.method.to_string(),
        path: request.path.to_string(),
        status: reply.status,
        scheme: reply.scheme,
        network: reply.network,
        outcome: reply.outcome,
        duration_ms: facilitator.clock().now_millis().saturating_sub(started),
    };
    (ApiResponse { status: reply.status, body, headers }, log)
}

async fn route<P: Host>(facilitator: &Facilitator<P>, request: &ApiRequest<'_>) -> Reply {
    if request.method == "OPTIONS" {
        return Reply::plain(204, Value::Null, "preflight");
    }
    if !facilitator.config.problems.is_empty() {
        let body = json!({"error": "invalid configuration", "problems": facilitator.config.problems});
        return Reply::plain(503, body, "misconfigured");
    }
    let path = request.path.trim_end_matches('/');
    let guarded = matches!(
        (request.method, path),
        ("POST", "/verify" | "/v2/x402/verify" | "/settle" | "/v2/x402/settle") | ("GET", "/settle/status")
    ) || upto_session_path(path).is_some();
    let mut caller = None;
    if guarded {
        match guard(facilitator, request).await {
            Ok(subject) => caller = subject,
            Err(refusal) => return refusal,
        }
    }
    let caller = caller.as_deref();
    match (request.method, upto_session_path(path)) {
        ("GET", Some((id, false))) => return upto_session(facilitator, id, caller).await,
        ("POST", Some((id, true))) => return upto_close(facilitator, id, caller).await,
        _ => {}
    }
    match (request.method, path) {
        ("GET", "/health") => Reply::plain(200, health(facilitator), "ok"),
        ("GET", "/healthcheck") => {
            let body = json!({"status": "success", "results": {"message": "OK", "timestamp": facilitator.clock().now_millis()}});
            Reply::plain(200, body, "ok")
        }
        ("GET", "/supported") => Reply::plain(200, json!(facilitator.supported()), "ok"),
        ("GET", "/v2/x402/supported") => {
            let mut supported = facilitator.supported();
            // The Cronos dialect carries EIP-3009 payments only.
            let evm = |id: &str| network::find(id).is_some_and(|n| n.family == network::Family::Evm);
            supported.kinds.retain(|k| k.x402_version == 1 && evm(&k.network));
            Reply::plain(200, json!({"kinds": supported.kinds}), "ok")
        }
        ("GET", "/settle/status") => settle_status(facilitator, request.query).await,
        ("GET", "/openapi.json") => Reply::plain(200, serde_json::from_str(OPENAPI_JSON).unwrap_or(Value::Null), "ok"),
        ("POST", "/verify" | "/v2/x402/verify") => {
            with_payment(request, |p| verify(facilitator, from(p, caller)), Endpoint::Verify).await
        }
        ("POST", "/settle" | "/v2/x402/settle") => {
            with_payment(request, |p| settle(facilitator, from(p, caller)), Endpoint::Settle).await
        }
        (_, "/health" | "/healthcheck" | "/supported" | "/v2/x402/supported" | "/openapi.json" | "/settle/status") => {
            Reply::plain(405, json!({"error": "method not allowed; use GET"}), "method_not_allowed")
        }
        (_, "/verify" | "/v2/x402/verify" | "/settle" | "/v2/x402/settle") => {
            Reply::plain(405, json!({"error": "method not allowed; use POST"}), "method_not_allowed")
        }
        _ => Reply::plain(
            404,
            json!({"error": format!("no route for {} {}", request.method, request.path)}),
            "not_found",
        ),
    }
}

/// A payment as sent by `caller` (an `upto` session belongs to the key that opened it).
fn from(mut payment: PaymentRequest, caller: Option<&str>) -> PaymentRequest {
    payment.caller = caller.map(str::to_string);
    payment
}

/// API keys and rate limits, for the routes that cost the facilitator work or gas. Answers the key's
/// subject (`None` without keys), or the refusal.
async fn guard<P: Host>(facilitator: &Facilitator<P>, request: &ApiRequest<'_>) -> Result<Option<String>, Reply> {
    let access = &facilitator.config.access;
    let key_subject = match access.api_keys.authorize(request.authorization) {
        Ok(subject) => subject,
        Err(Unauthorized) => {
            let body =
                json!({"error": "a valid API key is required: Authorization: Bearer <key>", "reason": "unauthorized"});
            let mut reply = Reply::plain(401, body, "unauthorized");
            reply.headers.push(("www-authenticate", "Bearer".into()));
            return Err(reply);
        }
    };
    let Some(per_minute) = access.rate_limit_per_minute else { return Ok(key_subject) };
    let subjects = key_subject.iter().cloned().chain([format!("ip:{}", request.client)]);
    for subject in subjects {
        if let Decision::Limited { retry_after_secs } = facilitator.admit(&subject, per_minute).await {
            let error =
                format!("rate limit of {per_minute} requests per minute reached; retry in {retry_after_secs} s");
            let mut reply = Reply::plain(429, json!({"error": error, "reason": "rate_limited"}), "rate_limited");
            reply.headers.push(("retry-after", retry_after_secs.to_string()));
            return Err(reply);
        }
    }
    Ok(key_subject)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Verify,
    Settle,
}

/// Parses the body and hands a normalized request to `run`; answers 400 or 413 itself when it can't.
async fn with_payment<F, Fut>(request: &ApiRequest<'_>, run: F, endpoint: Endpoint) -> Reply
where
    F: FnOnce(PaymentRequest) -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    if request.body.len() > MAX_BODY_BYTES {
        let rejection = Rejection {
            error: RequestError::TooLarge(MAX_BODY_BYTES),
            version: Version::V2,
            dialect: Dialect::Standard,
            network: String::new(),
        };
        return Reply { status: 413, ..rejected(&rejection, endpoint) };
    }
    match parse_request(request.body) {
        Ok(payment) => run(payment).await,
        Err(rejection) => rejected(&rejection, endpoint),
    }
}

/// A request no scheme could look at: HTTP 400, with both `{error, reason}` and the endpoint's own
/// result shape, so both plain HTTP clients and the x402 SDK (which reads `isValid`/`success` from a
/// non-2xx body) get the reason.
fn rejected(rejection: &Rejection, endpoint: Endpoint) -> Reply {
    let reason = rejection.error.reason();
    let message = rejection.error.to_string();
    let code = reason.code(rejection.version);
    let body = match (rejection.dialect, endpoint) {
        (Dialect::Cronos, Endpoint::Verify) => {
            json!({"isValid": false, "invalidReason": reason.cronos_text(), "error": message})
        }
        (Dialect::Cronos, Endpoint::Settle) => json!({
            "x402Version": 1, "event": "payment.failed", "network": rejection.network,
            "error": reason.cronos_text(), "message": message,
        }),
        (Dialect::Standard, Endpoint::Verify) => json!({
            "isValid": false, "invalidReason": code, "invalidMessage": message, "error": message, "reason": code,
        }),
        (Dialect::Standard, Endpoint::Settle) => json!({
            "success": false, "errorReason": code, "errorMessage": message, "transaction": "",
            "network": rejection.network, "error": message, "reason": code,
        }),
    };
    let mut reply = Reply::plain(400, body, &format!("rejected:{code}"));
    reply.network = Some(rejection.network.clone()).filter(|n| !n.is_empty());
    reply
}

/// A served network is checked before any scheme runs: an unserved one is a request error too.
fn unserved<P: Host>(facilitator: &Facilitator<P>, payment: &PaymentRequest, endpoint: Endpoint) -> Option<Reply> {
    if facilitator.serves(payment.network) {
        return None;
    }
    let error = RequestError::UnknownNetwork(payment.requirements.network.clone());
    let rejection = Rejection {
        error,
        version: payment.version,
        dialect: payment.dialect,
        network: payment.requirements.network.clone(),
    };
    let mut reply = rejected(&rejection, endpoint);
    reply.body["error"] =
        json!(format!("network `{}` is not served by this facilitator", payment.requirements.network));
    Some(reply.about(payment))
}

async fn verify<P: Host>(facilitator: &Facilitator<P>, payment: PaymentRequest) -> Reply {
    if let Some(reply) = unserved(facilitator, &payment, Endpoint::Verify) {
        return reply;
    }
    let result = facilitator.verify(&payment).await;
    let outcome = match &result {
        Ok(_) => "valid".to_string(),
        Err(f) => format!("invalid:{}", f.code(Version::V2)),
    };
    let body = match payment.dialect {
        Dialect::Cronos => json!(CronosVerifyResponse {
            is_valid: result.is_ok(),
            invalid_reason: result.as_ref().err().map(Failure::cronos_text),
        }),
        Dialect::Standard => json!(match result {
            Ok(v) =>
                VerifyResponse { is_valid: true, invalid_reason: None, invalid_message: None, payer: Some(v.payer) },
            Err(f) => VerifyResponse {
                is_valid: false,
                invalid_reason: Some(f.code(payment.version)),
                invalid_message: Some(f.message),
                payer: Some(payment.payload.payer()),
            },
        }),
    };
    Reply::plain(200, body, &outcome).about(&payment)
}

async fn settle<P: Host>(facilitator: &Facilitator<P>, payment: PaymentRequest) -> Reply {
    if let Some(reply) = unserved(facilitator, &payment, Endpoint::Settle) {
        return reply;
    }
    let result = facilitator.settle(&payment).await;
    let outcome = match &result {
        // An `upto` session opened or charged in capture mode: the payment is the session's promise,
        // and no funds have moved on chain yet (the discovery catalog lists only what did).
        Ok(settled) if settled.transaction.is_empty() => "settled:off_chain".to_string(),
        Ok(_) => "settled".to_string(),
        Err(f) => format!("failed:{}", f.code(Version::V2)),
    };
    let status = match &result {
        Err(f) => session_refusal_status(f.reason).unwrap_or(200),
        Ok(_) => 200,
    };
    let session_id = result.as_ref().err().and_then(|f| f.session_id.clone());
    let mut body = match payment.dialect {
        Dialect::Cronos => json!(cronos_settle(facilitator.clock().now_millis(), &payment, &result)),
        Dialect::Standard => json!(standard_settle(&payment, result)),
    };
    if status != 200 {
        // As the daydreams upto module answers: `{error, message, sessionId}` beside the settle fields.
        body["error"] = body["errorReason"].clone();
        body["message"] = body["errorMessage"].clone();
        body["sessionId"] = json!(session_id);
    }
    Reply::plain(status, body, &outcome).about(&payment)
}

/// The HTTP status of an `upto` session's refusal of a payment (daydreams `upto/tracking.ts`).
fn session_refusal_status(reason: Reason) -> Option<u16> {
    match reason {
        Reason::UptoCapExhausted | Reason::UptoSessionClosed => Some(402),
        Reason::UptoSettlingInProgress => Some(409),
        _ => None,
    }
}

/// `/upto/sessions/{id}` (false) or `/upto/sessions/{id}/close` (true).
fn upto_session_path(path: &str) -> Option<(&str, bool)> {
    let rest = path.strip_prefix("/upto/sessions/")?;
    let (id, close) = match rest.strip_suffix("/close") {
        Some(id) => (id, true),
        None => (rest, false),
    };
    (!id.is_empty() && !id.contains('/') && id.len() <= 128).then_some((id, close))
}

/// A session bound to another API key answers 404, as an unknown one.
async fn upto_session<P: Host>(facilitator: &Facilitator<P>, id: &str, caller: Option<&str>) -> Reply {
    match facilitator.session(id, caller).await {
        Ok(Some(session)) => Reply::plain(200, session_json(&session), "ok"),
        Ok(None) => unknown_session(id),
        Err(f) => Reply::plain(503, json!({"error": f.message, "reason": f.reason.code(Version::V2)}), "error"),
    }
}

/// Settles the session's pending spend now and closes it.
async fn upto_close<P: Host>(facilitator: &Facilitator<P>, id: &str, caller: Option<&str>) -> Reply {
    match facilitator.close_session(id, caller).await {
        Ok((session, batch)) => {
            let mut body = session_json(&session);
            if let Some(Err(f)) = &batch {
                body["error"] = json!(f.code(Version::V2));
                body["message"] = json!(f.message);
            }
            let settlement = batch.as_ref().map(|b| b.as_ref().map(|s| s.transaction.clone()).ok());
            body["transaction"] = json!(settlement.flatten().unwrap_or_default());
            let outcome = if matches!(batch, Some(Err(_))) { "settle_failed" } else { "closed" };
            Reply::plain(200, body, outcome)
        }
        Err(f) if f.reason == Reason::UptoUnknownSession => unknown_session(id),
        Err(f) => Reply::plain(503, json!({"error": f.message, "reason": f.reason.code(Version::V2)}), "error"),
    }
}

fn unknown_session(id: &str) -> Reply {
    let body = json!({"error": "session_not_found", "message": "No such upto session", "sessionId": id});
    Reply::plain(404, body, "not_found")
}

fn standard_settle(payment: &PaymentRequest, result: Result<crate::facilitator::Settled, Failure>) -> SettleResponse {
    let network = payment.requirements.network.clone();
    match result {
        Ok(s) => SettleResponse {
            success: true,
            error_reason: None,
            error_message: None,
            payer: Some(s.payer),
            transaction: s.transaction,
            network,
            amount: s.amount,
            extensions: s.extensions,
        },
        Err(f) => SettleResponse {
            success: false,
            error_reason: Some(f.code(payment.version)),
            error_message: Some(f.message),
            payer: Some(payment.payload.payer()),
            transaction: f.transaction.unwrap_or_default(),
            network,
            amount: None,
            extensions: None,
        },
    }
}

fn cronos_settle(
    now_ms: u64,
    payment: &PaymentRequest,
    result: &Result<crate::facilitator::Settled, Failure>,
) -> CronosSettleResponse {
    // The Cronos dialect carries only EIP-3009 payments.
    let settled = match &payment.payload {
        Payload::Eip3009(p) => result.as_ref().ok().map(|s| (s, &p.authorization)),
        _ => None,
    };
    CronosSettleResponse {
        x402_version: 1,
        event: if result.is_ok() { "payment.settled" } else { "payment.failed" },
        tx_hash: match result {
            Ok(s) => Some(s.transaction.clone()),
            Err(f) => f.transaction.clone(),
        },
        from: settled.map(|(_, a)| a.from.to_checksum(None)),
        to: settled.map(|(_, a)| a.to.to_checksum(None)),
        value: settled.map(|(_, a)| a.value.to_string()),
        block_number: settled.and_then(|(s, _)| s.block_number),
        network: payment.requirements.network.clone(),
        timestamp: iso8601_millis(now_ms),
        error: result.as_ref().err().map(Failure::cronos_text),
    }
}

fn health<P: Host>(facilitator: &Facilitator<P>) -> Value {
    let config = &facilitator.config;
    let served: Vec<Value> = config.served().iter().map(|n| json!({"network": n.name, "caip2": n.caip2})).collect();
    json!({"status": "ok", "service": "x402-edge", "version": env!("CARGO_PKG_VERSION"), "networks": served, "unserved": config.unserved()})
}

/// `GET /settle/status?network=…&transaction=0x…` (what the chain says of a transaction), or
/// `?network=…&asset=…&from=…&nonce=…` (what the settlement ledger holds for an EIP-3009 payment).
async fn settle_status<P: Host>(facilitator: &Facilitator<P>, query: &str) -> Reply {
    let bad = |reason: &str, error: &str| Reply::plain(400, json!({"error": error, "reason": reason}), "rejected");
    let param = |name: &str| query_param(query, name);
    let Some(network) = param("network").and_then(|n| network::find(&n)).filter(|n| facilitator.serves(n)) else {
        return bad("invalid_network", "`network` must name a network this facilitator serves");
    };
    if let Some(instead) = status_lookup_elsewhere(network.family) {
        return bad("invalid_network", &format!("/settle/status looks up EVM payments only; {instead}"));
    }
    let unavailable =
        |f: Failure| Reply::plain(503, json!({"error": f.message, "reason": f.reason.code(Version::V2)}), "error");
    if let Some(tx) = param("transaction") {
        let Some(hash) = parse_b256(&tx) else {
            return bad("invalid_payload", "`transaction` must be a 0x-prefixed 32-byte hash");
        };
        let status = match facilitator.transaction_status(network, hash).await {
            Ok(status) => status,
            Err(f) => return unavailable(f),
        };
        let (state, block_number) = match status {
            TxStatus::Pending => ("pending", None),
            TxStatus::Success { block_number } => ("success", block_number),
            TxStatus::Reverted { block_number } => ("reverted", block_number),
            TxStatus::Unknown => ("unknown", None),
        };
        let body = json!({"network": network.caip2, "transaction": tx, "state": state, "blockNumber": block_number});
        return Reply::plain(200, body, state);
    }
    let (Some(asset), Some(from), Some(nonce)) = (
        param("asset").as_deref().and_then(parse_evm_address),
        param("from").as_deref().and_then(parse_evm_address),
        param("nonce").as_deref().and_then(parse_b256),
    ) else {
        return bad("invalid_payload", "give `transaction`, or the payment's `asset`, `from` and `nonce`");
    };
    let key = eip3009_key(network.caip2, &asset.to_string(), from, nonce);
    let body = match facilitator.ledger_entry(&key).await {
        Err(f) => return unavailable(f),
        Ok(None) => json!({"network": network.caip2, "state": "unknown"}),
        Ok(Some(LedgerEntry::InFlight { transaction, .. })) => {
            json!({"network": network.caip2, "state": "in_flight", "transaction": transaction})
        }
        Ok(Some(LedgerEntry::Done { record, .. })) => json!({
            "network": network.caip2, "state": "done", "success": record.success, "transaction": record.transaction,
            "errorReason": record.reason, "errorMessage": record.message, "payer": record.payer, "blockNumber": record.block_number,
        }),
    };
    let outcome = body["state"].as_str().unwrap_or_default().to_string();
    Reply::plain(200, body, &outcome)
}

/// Where to look up a payment of a chain family that `/settle/status` does not serve (it reads EVM
/// transactions and EIP-3009 ledger entries only); `None` for EVM.
fn status_lookup_elsewhere(family: network::Family) -> Option<&'static str> {
    match family {
        network::Family::Evm => None,
        network::Family::Solana => Some(
            "for Solana, ask the network's RPC `getSignatureStatuses` for the signature the settle answered in \
             `transaction` (a repeated /settle of the payment answers `duplicate_settlement`)",
        ),
        network::Family::Starknet => Some(
            "for Starknet, ask the network's RPC `starknet_getTransactionStatus` for the hash the settle answered \
             in `transaction`",
        ),
    }
}

/// One query parameter, percent-decoded (`%3A` → `:`); `None` when absent or not valid UTF-8.
fn query_param(query: &str, name: &str) -> Option<String> {
    let raw = query.split('&').filter_map(|pair| pair.split_once('=')).find(|(k, _)| *k == name)?.1;
    crate::protocol::query::decode(raw)
}
