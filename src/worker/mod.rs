//! The Cloudflare Worker adapter: translates `worker` requests to [`crate::api`] and back, reads the
//! configuration from vars and secrets, and provides fetch as the JSON-RPC transport and the host clock.

use std::time::Duration;

use futures_util::StreamExt;
use worker::{console_log, event, Context, Date, Env, Headers, Request, Response, ScheduleContext, ScheduledEvent};

use crate::api::{self, ApiRequest, MAX_BODY_BYTES};
use crate::facilitator::Facilitator;
use crate::facilitator::{Host, NoHooks, Ports};

mod discovery;
mod ledger;
mod limiter;
mod metrics;
mod runtime;
mod sessions;
mod signer;
mod signer_calls;
#[cfg(feature = "starknet")]
mod sponsor;
#[cfg(feature = "starknet")]
mod sponsor_calls;

use runtime::{config_from, Counted, FetchTransport, WorkerClock};

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
    #[cfg(feature = "starknet")]
    type Sponsor = sponsor::DurableSponsor;
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
        ledger: ledger::DurableLedger::new(env, &config),
        sessions: sessions::DurableSessions::new(env),
        sender: signer::DurableSender::new(env, &config),
        hooks: NoHooks,
        limiter: limiter::DurableLimiter::new(env),
        #[cfg(feature = "starknet")]
        sponsor: sponsor::DurableSponsor::new(env, &config),
    };
    Facilitator::new(config, ports)
}

/// The `upto` sweeper, on the cron trigger. "Now" is the event's scheduled time: set by the platform
/// in production, and by the caller of `wrangler dev`'s `/cdn-cgi/handler/scheduled?time=` in tests.
#[event(scheduled)]
pub async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let facilitator = facilitator(&env);
    let now_ms = event.schedule() as u64;
    let started = Date::now().as_millis();
    let result = facilitator.sweep(now_ms).await;
    let elapsed = Date::now().as_millis().saturating_sub(started);
    let (line, point) = match result {
        Ok(report) => (
            serde_json::json!({"event": "upto_sweep", "now_ms": now_ms, "report": report}),
            crate::metrics::MetricPoint::sweep(report.settled, report.failed, false, elapsed),
        ),
        Err(f) => (
            serde_json::json!({"event": "upto_sweep", "now_ms": now_ms, "error": f.message}),
            crate::metrics::MetricPoint::sweep(0, 0, true, elapsed),
        ),
    };
    console_log!("{line}");
    metrics::record(&env, &point);
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
pub async fn fetch(mut req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let method = req.method().to_string();
    let url = req.url()?;
    let (path, query) = (url.path().to_string(), url.query().unwrap_or_default().to_string());
    if path == "/__x402/counters" && env.var("X402_EDGE_COUNTERS").is_ok_and(|v| v.to_string() == "on") {
        return Response::ok(Counted::counters_json());
    }
    let _timer = Counted::Request.start();
    if let Some(answer) = discovery::serve(&env, &method, &path, &query).await {
        return answer;
    }
    if path == metrics::PATH {
        if let Some(answer) = metrics::serve(&env) {
            return answer;
        }
    }
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
    if let Some(point) = crate::metrics::MetricPoint::of(&log) {
        metrics::record(&env, &point);
    }
    // The log's outcome says whether the settle succeeded on chain (a capture that moved nothing yet is
    // `settled:off_chain`): the answer is not parsed again.
    if method == "POST" && path.trim_end_matches('/') == "/settle" && log.outcome == "settled" {
        discovery::after_settle(&env, &ctx, &body, Date::now().as_millis());
    }
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.set(name, value)?;
    }
    let out = if response.body.is_empty() { Response::empty()? } else { Response::ok(response.body)? };
    Ok(out.with_status(response.status).with_headers(headers))
}

/// A build without Starknet (`WORKER_FEATURES`) still exports the sponsor's Durable Object class, so that
/// one wrangler.toml (its binding and its migration) deploys every build. Such a build serves no Starknet
/// network, so nothing calls it; if something does, it answers 501.
#[cfg(not(feature = "starknet"))]
mod without_starknet {
    use worker::{durable_object, DurableObject, Env, Request, Response, State};

    #[durable_object]
    pub struct StarknetSponsorObject;

    impl DurableObject for StarknetSponsorObject {
        fn new(_state: State, _env: Env) -> Self {
            StarknetSponsorObject
        }

        async fn fetch(&self, _req: Request) -> worker::Result<Response> {
            Response::error("this Worker was built without Starknet (WORKER_FEATURES)", 501)
        }
    }
}
