//! A JSON-RPC 2.0 client over the host's [`HttpTransport`], with batching: the requests of one verify
//! travel in one HTTP round trip. Endpoints that refuse batches are served call by call.
//!
//! Resilience: a network may have several endpoints. A request that fails in transport (no answer,
//! a timeout, HTTP 429 or 5xx) fails over to the next endpoint; reads go round all endpoints twice,
//! with a backoff between rounds. Broadcasts go round once: re-sending the same signed bytes to
//! another node is the same transaction, never a second one.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::ports::{Clock, HttpTransport, TransportError};

/// Rounds over all endpoints for reads, and the pause before each further round.
const READ_ROUNDS: u64 = 2;
const BACKOFF_MS: u64 = 200;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RpcError {
    #[error("RPC transport: {0}")]
    Transport(#[from] TransportError),
    #[error("RPC error {code}: {message}")]
    Server { code: i64, message: String, data: Option<String> },
    #[error("malformed RPC response: {0}")]
    Malformed(String),
}

impl RpcError {
    /// Revert data (`0x…`) of a failed `eth_call`, when the node returned it.
    pub fn revert_data(&self) -> Option<&str> {
        match self {
            RpcError::Server { data, .. } => data.as_deref(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RpcCall {
    pub method: &'static str,
    pub params: Value,
}

impl RpcCall {
    pub fn new(method: &'static str, params: Value) -> Self {
        RpcCall { method, params }
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Option<Value>,
}

impl Envelope {
    fn into_result(self) -> Result<Value, RpcError> {
        match (self.error, self.result) {
            (Some(e), _) => Err(RpcError::Server {
                code: e.code,
                message: e.message,
                data: e.data.map(|d| match d {
                    Value::String(s) => s,
                    // Some nodes nest the revert data: {"data": "0x…"} or {"data": {"data": "0x…"}};
                    // other structured data (Starknet's execution errors) is kept as its JSON text.
                    other => other
                        .get("data")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| other.to_string()),
                }),
            }),
            (None, Some(result)) => Ok(result),
            (None, None) => Ok(Value::Null),
        }
    }
}

/// Whether another endpoint may answer where this one failed.
fn is_transient(error: &TransportError) -> bool {
    match error {
        TransportError::Failed(_) | TransportError::Timeout => true,
        TransportError::Status(status) => *status == 429 || *status >= 500,
    }
}

pub struct JsonRpcClient<'a, H, C> {
    http: &'a H,
    clock: &'a C,
    urls: &'a [String],
    headers: Vec<(&'a str, &'a str)>,
}

impl<'a, H: HttpTransport, C: Clock> JsonRpcClient<'a, H, C> {
    pub fn new(http: &'a H, clock: &'a C, urls: &'a [String]) -> Self {
        JsonRpcClient { http, clock, urls, headers: Vec::new() }
    }

    /// Sends `name: value` with every request (a paymaster's API key). Never logged.
    /// The clock the client paces its retries with.
    pub fn clock(&self) -> &'a C {
        self.clock
    }

    pub fn with_header(mut self, name: &'a str, value: &'a str) -> Self {
        self.headers.push((name, value));
        self
    }

    /// POSTs `body`, failing over across endpoints for `rounds` rounds.
    async fn post(&self, body: String, rounds: u64) -> Result<String, RpcError> {
        let mut last = TransportError::Failed("no RPC endpoint configured".into());
        for round in 0..rounds {
            if round > 0 {
                self.clock.sleep_millis(BACKOFF_MS * round).await;
            }
            for url in self.urls {
                match self.http.post_json(url, &self.headers, body.clone()).await {
                    Ok(text) => return Ok(text),
                    Err(e) if is_transient(&e) => last = e,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Err(last.into())
    }

    async fn call_with(&self, method: &'static str, params: Value, rounds: u64) -> Result<Value, RpcError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let text = self.post(body, rounds).await?;
        let envelope: Envelope = serde_json::from_str(&text).map_err(|e| RpcError::Malformed(e.to_string()))?;
        envelope.into_result()
    }

    /// A read (or any idempotent call): retried across endpoints with backoff.
    pub async fn call(&self, method: &'static str, params: Value) -> Result<Value, RpcError> {
        self.call_with(method, params, READ_ROUNDS).await
    }

    /// A broadcast: each endpoint is tried once.
    pub async fn broadcast(&self, method: &'static str, params: Value) -> Result<Value, RpcError> {
        self.call_with(method, params, 1).await
    }

    /// Sends all calls in one batch; the outer error is for the round trip, the inner ones per call.
    pub async fn batch(&self, calls: &[RpcCall]) -> Result<Vec<Result<Value, RpcError>>, RpcError> {
        if calls.len() == 1 {
            return Ok(vec![self.call(calls[0].method, calls[0].params.clone()).await]);
        }
        let body: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(id, c)| json!({"jsonrpc": "2.0", "id": id, "method": c.method, "params": c.params}))
            .collect();
        let text = self.post(Value::Array(body).to_string(), READ_ROUNDS).await?;
        match serde_json::from_str::<Vec<Envelope>>(&text) {
            Ok(envelopes) => Self::match_ids(envelopes, calls.len()),
            // An endpoint without batch support answers with a single error object.
            Err(_) => self.sequential(calls).await,
        }
    }

    fn match_ids(envelopes: Vec<Envelope>, n: usize) -> Result<Vec<Result<Value, RpcError>>, RpcError> {
        let mut results: Vec<Option<Result<Value, RpcError>>> = (0..n).map(|_| None).collect();
        for envelope in envelopes {
            let id = envelope.id.as_u64().map(|i| i as usize).filter(|i| *i < n);
            let slot = id.and_then(|i| results.get_mut(i)).ok_or_else(|| RpcError::Malformed("unknown id".into()))?;
            *slot = Some(envelope.into_result());
        }
        results
            .into_iter()
            .map(|r| r.ok_or_else(|| RpcError::Malformed("batch response is missing an id".into())))
            .collect()
    }

    async fn sequential(&self, calls: &[RpcCall]) -> Result<Vec<Result<Value, RpcError>>, RpcError> {
        let mut out = Vec::with_capacity(calls.len());
        for c in calls {
            out.push(self.call(c.method, c.params.clone()).await);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Clockless;
    use std::cell::RefCell;

    /// Answers per URL: `Err` for the listed dead ones, a chain id otherwise; records every POST.
    struct Endpoints {
        dead: Vec<(&'static str, TransportError)>,
        seen: RefCell<Vec<String>>,
    }

    impl HttpTransport for Endpoints {
        async fn post_json(&self, url: &str, _: &[(&str, &str)], _body: String) -> Result<String, TransportError> {
            self.seen.borrow_mut().push(url.to_string());
            match self.dead.iter().find(|(u, _)| *u == url) {
                Some((_, e)) => Err(e.clone()),
                None => Ok(r#"{"jsonrpc":"2.0","id":1,"result":"0x1"}"#.into()),
            }
        }
    }

    fn urls() -> Vec<String> {
        vec!["http://a".into(), "http://b".into()]
    }

    #[test]
    fn a_dead_endpoint_fails_over_to_the_next() {
        let endpoints = Endpoints { dead: vec![("http://a", TransportError::Timeout)], seen: RefCell::default() };
        let urls = urls();
        let rpc = JsonRpcClient::new(&endpoints, &Clockless, &urls);
        assert_eq!(pollster::block_on(rpc.call("eth_chainId", json!([]))), Ok(json!("0x1")));
        assert_eq!(*endpoints.seen.borrow(), ["http://a", "http://b"]);
    }

    #[test]
    fn reads_go_round_twice_and_broadcasts_once() {
        let dead = vec![("http://a", TransportError::Status(502)), ("http://b", TransportError::Failed("down".into()))];
        let endpoints = Endpoints { dead, seen: RefCell::default() };
        let urls = urls();
        let rpc = JsonRpcClient::new(&endpoints, &Clockless, &urls);
        assert!(pollster::block_on(rpc.call("eth_chainId", json!([]))).is_err());
        assert_eq!(endpoints.seen.borrow().len(), 4);
        endpoints.seen.borrow_mut().clear();
        assert!(pollster::block_on(rpc.broadcast("eth_sendRawTransaction", json!(["0x"]))).is_err());
        assert_eq!(endpoints.seen.borrow().len(), 2);
    }

    #[test]
    fn a_client_error_is_not_retried_elsewhere() {
        let endpoints = Endpoints { dead: vec![("http://a", TransportError::Status(401))], seen: RefCell::default() };
        let urls = urls();
        let rpc = JsonRpcClient::new(&endpoints, &Clockless, &urls);
        let error = pollster::block_on(rpc.call("eth_chainId", json!([]))).unwrap_err();
        assert_eq!(error, RpcError::Transport(TransportError::Status(401)));
        assert_eq!(endpoints.seen.borrow().len(), 1);
    }
}
