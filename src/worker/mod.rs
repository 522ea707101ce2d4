//! The Cloudflare Worker adapter: translates `worker` requests to [`crate::api`] and back, reads the
//! configuration from vars and secrets, and provides fetch as the JSON-RPC transport and the host clock.

use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use worker::{
    console_log, event, Context, Date, Delay, Env, Fetch, Headers, Method, ObjectNamespace, Request, RequestInit,
    Response, ScheduleContext, ScheduledEvent,
};

use crate::api::{self, ApiRequest, MAX_BODY_BYTES};
use crate::config::Config;
use crate::facilitator::Facilitator;
use crate::ports::{Clock, Host, HttpTransport, NoHooks, Ports, TransportError};

mod ledger;
mod limiter;
mod sessions;
mod signer;

/// JSON-RPC over the Workers `fetch`, each request bounded by `timeout` (`EVM_RPC_TIMEOUT_MS`), after
/// which the client fails over to the next endpoint.
pub(crate) struct FetchTransport {
    pub(crate) timeout: Duration,
}

impl HttpTransport for FetchTransport {
    async fn post_json(&self, url: &str, extra: &[(&str, &str)], body: String) -> Result<String, TransportError> {
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

/// The Worker's ports: fetch, the host clock, and the Durable Objects.
struct WorkerHost;

impl Host for WorkerHost {
    type Http = FetchTransport;
    type Clock = WorkerClock;
    type Ledger = ledger::DurableLedger;
    type Sessions = sessions::DurableSessions;
    type Sender = signer::DurableSender;
    type Hooks = NoHooks;
    type Limiter = limiter::DurableLimiter;
}

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
    let stub = namespace.id_from_name(name)?.get_stub()?;
    let body = serde_json::to_string(request).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let mut response = stub.fetch_with_request(Request::new_with_init("https://object.internal/", &init)?).await?;
    parse(&response.text().await?)
}

pub(crate) fn config_from(env: &Env) -> Config {
    Config::from_env(|name| {
        env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string())).ok()
    })
}

fn request_id(req: &Request) -> String {
    match req.headers().get("cf-ray").ok().flatten() {
        Some(ray) => ray,
        None => format!("{:x}{:08x}", Date::now().as_millis(), (js_sys::Math::random() * f64::from(u32::MAX)) as u32),
    }
}

/// The facilitator over this Worker's ports.
fn facilitator(env: &Env) -> Facilitator<WorkerHost> {
    let config = config_from(env);
    let transport = FetchTransport { timeout: Duration::from_millis(config.settings.rpc_timeout_ms) };
    let ports = Ports {
        http: transport,
        clock: WorkerClock,
        ledger: ledger::DurableLedger::new(env),
        sessions: sessions::DurableSessions::new(env),
        sender: signer::DurableSender::new(env),
        hooks: NoHooks,
        limiter: limiter::DurableLimiter::new(env),
    };
    Facilitator::new(config, ports)
}

/// The `upto` sweeper, on the cron trigger. "Now" is the event's scheduled time: set by the platform
/// in production, and by the caller of `wrangler dev`'s `/cdn-cgi/handler/scheduled?time=` in tests.
#[event(scheduled)]
pub async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let facilitator = facilitator(&env);
    let now_ms = event.schedule() as u64;
    let line = match facilitator.sweep(now_ms).await {
        Ok(report) => serde_json::json!({"event": "upto_sweep", "now_ms": now_ms, "report": report}),
        Err(f) => serde_json::json!({"event": "upto_sweep", "now_ms": now_ms, "error": f.message}),
    };
    console_log!("{line}");
}

/// The request body, up to one byte over [`MAX_BODY_BYTES`]: a body declared larger is not read at
/// all, and a body without a length (chunked) is read as a stream and cancelled as soon as it passes
/// the limit. Either way the API answers 413 for the `MAX_BODY_BYTES + 1` bytes it gets.
async fn read_body(req: &mut Request) -> worker::Result<Vec<u8>> {
    let declared_len = req.headers().get("content-length")?.and_then(|l| l.parse::<usize>().ok()).unwrap_or(0);
    if declared_len > MAX_BODY_BYTES {
        return Ok(vec![0; MAX_BODY_BYTES + 1]);
    }
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let mut body = Vec::new();
    let mut stream = req.stream()?;
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk?);
        if body.len() > MAX_BODY_BYTES {
            body.truncate(MAX_BODY_BYTES + 1);
            // Dropping the stream cancels the rest of the body.
            break;
        }
    }
    Ok(body)
}

#[event(fetch)]
pub async fn fetch(mut req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let method = req.method().to_string();
    let url = req.url()?;
    let (path, query) = (url.path().to_string(), url.query().unwrap_or_default().to_string());
    let request_id = request_id(&req);
    let authorization = req.headers().get("authorization")?;
    let client = req.headers().get("cf-connecting-ip")?.unwrap_or_else(|| "unknown".into());
    let body = if method == "POST" { read_body(&mut req).await? } else { Vec::new() };
    let facilitator = facilitator(&env);
    let request = ApiRequest {
        method: &method,
        path: &path,
        query: &query,
        authorization: authorization.as_deref(),
        client: &client,
        body: &body,
        request_id: &request_id,
    };
    let (response, log) = api::handle(&facilitator, request).await;
    console_log!("{}", serde_json::to_string(&log).unwrap_or_default());
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.set(name, value)?;
    }
    let out = if response.body.is_empty() { Response::empty()? } else { Response::ok(response.body)? };
    Ok(out.with_status(response.status).with_headers(headers))
}
