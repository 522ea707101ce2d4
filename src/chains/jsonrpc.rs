//! A JSON-RPC 2.0 client over the host's [`HttpTransport`], with batching: the requests of one verify
//! travel in one HTTP round trip. Endpoints that refuse batches are served call by call.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::ports::{HttpTransport, TransportError};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RpcError {
    #[error("RPC transport: {0}")]
    Transport(#[from] TransportError),
    #[error("RPC error {code}: {message}")]
    Server {
        code: i64,
        message: String,
        data: Option<String>,
    },
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
                    // Some nodes nest the revert data: {"data": "0x…"} or {"data": {"data": "0x…"}}.
                    other => other
                        .get("data")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_default(),
                }),
            }),
            (None, Some(result)) => Ok(result),
            (None, None) => Ok(Value::Null),
        }
    }
}

pub struct JsonRpcClient<'a, H> {
    http: &'a H,
    url: &'a str,
}

impl<'a, H: HttpTransport> JsonRpcClient<'a, H> {
    pub fn new(http: &'a H, url: &'a str) -> Self {
        JsonRpcClient { http, url }
    }

    pub async fn call(&self, method: &'static str, params: Value) -> Result<Value, RpcError> {
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let text = self.http.post_json(self.url, body).await?;
        let envelope: Envelope =
            serde_json::from_str(&text).map_err(|e| RpcError::Malformed(e.to_string()))?;
        envelope.into_result()
    }

    /// Sends all calls in one batch; the outer error is for the round trip, the inner ones per call.
    pub async fn batch(&self, calls: &[RpcCall]) -> Result<Vec<Result<Value, RpcError>>, RpcError> {
        if calls.len() == 1 {
            return Ok(vec![
                self.call(calls[0].method, calls[0].params.clone()).await,
            ]);
        }
        let body: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(id, c)| json!({"jsonrpc": "2.0", "id": id, "method": c.method, "params": c.params}))
            .collect();
        let text = self
            .http
            .post_json(self.url, Value::Array(body).to_string())
            .await?;
        match serde_json::from_str::<Vec<Envelope>>(&text) {
            Ok(envelopes) => Self::match_ids(envelopes, calls.len()),
            // An endpoint without batch support answers with a single error object.
            Err(_) => self.sequential(calls).await,
        }
    }

    fn match_ids(
        envelopes: Vec<Envelope>,
        n: usize,
    ) -> Result<Vec<Result<Value, RpcError>>, RpcError> {
        let mut results: Vec<Option<Result<Value, RpcError>>> = (0..n).map(|_| None).collect();
        for envelope in envelopes {
            let id = envelope.id.as_u64().map(|i| i as usize).filter(|i| *i < n);
            let slot = id
                .and_then(|i| results.get_mut(i))
                .ok_or_else(|| RpcError::Malformed("unknown id".into()))?;
            *slot = Some(envelope.into_result());
        }
        results
            .into_iter()
            .map(|r| r.ok_or_else(|| RpcError::Malformed("batch response is missing an id".into())))
            .collect()
    }

    async fn sequential(
        &self,
        calls: &[RpcCall],
    ) -> Result<Vec<Result<Value, RpcError>>, RpcError> {
        let mut out = Vec::with_capacity(calls.len());
        for c in calls {
            out.push(self.call(c.method, c.params.clone()).await);
        }
        Ok(out)
    }
}
