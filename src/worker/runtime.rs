//! The Worker's runtime pieces shared by the entry points and the Durable Objects: fetch as the JSON-RPC
//! transport, the host clock, JSON to and from Durable Objects, and the configuration from vars and
//! secrets.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{select, Either};
use worker::{Date, Delay, Env, Fetch, Headers, Method, ObjectNamespace, Request, RequestInit};

use crate::config::Config;
use crate::ports::{Clock, HttpTransport, TransportError};

/// Calls this isolate made since it started and the time spent waiting on them, for the benchmark's
/// per-request counts (`GET /__x402/counters`, served only with `X402_EDGE_COUNTERS=on`). Durable Objects
/// of this Worker run in the same isolate under `wrangler dev`, so their calls count too (a signer
/// object's RPC calls fall inside the Durable Object call that asked for them). `Date.now()` advances
/// only across I/O in workerd, which is what is timed here.
#[derive(Clone, Copy)]
pub(crate) enum Counted {
    /// An API request, from its arrival to its response.
    Request,
    DurableObjectCall,
    RpcCall,
}

static COUNTS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
static MILLIS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

impl Counted {
    /// Counts one call now and its duration when the returned guard drops (also when it is cancelled).
    pub(crate) fn start(self) -> CallTimer {
        COUNTS[self as usize].fetch_add(1, Ordering::Relaxed);
        CallTimer { kind: self, started: Date::now().as_millis() }
    }

    pub(crate) fn counters_json() -> String {
        let [requests, objects, rpc] = COUNTS.each_ref().map(|c| c.load(Ordering::Relaxed));
        let [request_ms, object_ms, rpc_ms] = MILLIS.each_ref().map(|c| c.load(Ordering::Relaxed));
        format!(
            r#"{{"requests":{requests},"durableObjectCalls":{objects},"rpcCalls":{rpc},"requestMs":{request_ms},"durableObjectMs":{object_ms},"rpcMs":{rpc_ms}}}"#
        )
    }
}

pub(crate) struct CallTimer {
    kind: Counted,
    started: u64,
}

impl Drop for CallTimer {
    fn drop(&mut self) {
        let elapsed = Date::now().as_millis().saturating_sub(self.started);
        MILLIS[self.kind as usize].fetch_add(elapsed, Ordering::Relaxed);
    }
}

/// JSON-RPC over the Workers `fetch`, each request bounded by `timeout` (`EVM_RPC_TIMEOUT_MS`), after
/// which the client fails over to the next endpoint.
pub(crate) struct FetchTransport {
    pub(crate) timeout: Duration,
}

impl HttpTransport for FetchTransport {
    async fn post_json(&self, url: &str, extra: &[(&str, &str)], body: String) -> Result<String, TransportError> {
        let _timer = Counted::RpcCall.start();
        let headers = Headers::new();
        // Setting a constant, valid header on a fresh Headers object cannot fail.
        let _ = headers.set("content-type", "application/json");
        for (name, value) in extra {
            headers.set(name, value).map_err(|_| TransportError::Failed(format!("invalid header {name}")))?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_headers(headers).with_body(Some(body.into()));
        // Errors are reported without their text: it may contain the URL, which may contain an API key.
        let request =
            Request::new_with_init(url, &init).map_err(|_| TransportError::Failed("invalid RPC URL".into()))?;
        let send = async move {
            let mut response =
                Fetch::Request(request).send().await.map_err(|_| TransportError::Failed("fetch failed".into()))?;
            if response.status_code() >= 400 {
                return Err(TransportError::Status(response.status_code()));
            }
            response.text().await.map_err(|_| TransportError::Failed("reading the response failed".into()))
        };
        match select(Box::pin(send), Delay::from(self.timeout)).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => Err(TransportError::Timeout),
        }
    }
}

pub(crate) struct WorkerClock;

impl Clock for WorkerClock {
    fn now_millis(&self) -> u64 {
        Date::now().as_millis()
    }

    async fn sleep_millis(&self, millis: u64) {
        Delay::from(Duration::from_millis(millis)).await
    }
}

/// JSON between the worker and its Durable Objects goes through serde_json: the JS JSON path of
/// `Request::json` cannot carry u128 (gas prices).
pub(crate) fn parse<T: serde::de::DeserializeOwned>(text: &str) -> worker::Result<T> {
    serde_json::from_str(text).map_err(|e| worker::Error::RustError(e.to_string()))
}

/// Sends `request` as JSON to the Durable Object `name` of `namespace` and parses its JSON reply.
pub(crate) async fn call_object<Q: serde::Serialize, R: serde::de::DeserializeOwned>(
    namespace: &ObjectNamespace,
    name: &str,
    request: &Q,
) -> worker::Result<R> {
    let _timer = Counted::DurableObjectCall.start();
    let stub = namespace.id_from_name(name)?.get_stub()?;
    let body = serde_json::to_string(request).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let mut response = stub.fetch_with_request(Request::new_with_init("https://object.internal/", &init)?).await?;
    parse(&response.text().await?)
}

thread_local! {
    /// This isolate's configuration, once read (see [`config_from`]).
    static CONFIG: RefCell<Option<Arc<Config>>> = const { RefCell::new(None) };
}

/// The configuration from the Worker's vars and secrets, read once per isolate. Reading it derives
/// every signer's public key (secp256k1, ed25519, the Stark curve): a millisecond or more that every
/// request paid when it was read per request. Vars and secrets are fixed for an isolate's life (new ones
/// deploy a new version, which runs in new isolates; `wrangler dev` restarts the Worker on a change),
/// as the signer objects, which read it once per object, already assumed.
pub(crate) fn config_from(env: &Env) -> Arc<Config> {
    if let Some(config) = CONFIG.with_borrow(Option::clone) {
        return config;
    }
    let mut config = Config::from_env(|name| {
        env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string())).ok()
    });
    config.discovery = env.d1(super::discovery::BINDING).is_ok();
    let config = Arc::new(config);
    CONFIG.set(Some(config.clone()));
    config
}
