//! Rate limits as a Durable Object, one per subject (an API key, a client address), so every isolate
//! counts against the same bucket. The bucket arithmetic is [`crate::access::take`].

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, ObjectNamespace, Request, RequestInit, Response, State};

use super::parse;
use crate::access::{self, Bucket, Decision};
use crate::ports::{LimiterError, RateLimiter};

/// The binding name in `wrangler.toml`.
pub const BINDING: &str = "RATE_LIMITER";
const BUCKET_KEY: &str = "bucket";

#[derive(Serialize, Deserialize)]
struct Take {
    now_ms: u64,
    per_minute: u32,
}

#[durable_object]
pub struct RateLimiterObject {
    state: State,
}

impl DurableObject for RateLimiterObject {
    fn new(state: State, _env: Env) -> Self {
        RateLimiterObject { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let take: Take = parse(&req.text().await?)?;
        let storage = self.state.storage();
        let bucket: Option<Bucket> = storage.get(BUCKET_KEY).await?;
        let (decision, bucket) = access::take(bucket, take.now_ms, take.per_minute);
        storage.put(BUCKET_KEY, bucket).await?;
        Response::from_json(&decision)
    }
}

pub struct DurableLimiter {
    namespace: Option<ObjectNamespace>,
}

impl DurableLimiter {
    pub fn new(env: &Env) -> Self {
        DurableLimiter { namespace: env.durable_object(BINDING).ok() }
    }
}

impl RateLimiter for DurableLimiter {
    async fn take(&self, subject: &str, now_ms: u64, per_minute: u32) -> Result<Decision, LimiterError> {
        let namespace =
            self.namespace.as_ref().ok_or_else(|| LimiterError(format!("the {BINDING} binding is missing")))?;
        let fail = |e: worker::Error| LimiterError(e.to_string());
        let stub = namespace.id_from_name(subject).map_err(fail)?.get_stub().map_err(fail)?;
        let body = serde_json::to_string(&Take { now_ms, per_minute }).map_err(|e| LimiterError(e.to_string()))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.into()));
        let request = Request::new_with_init("https://limiter.internal/take", &init).map_err(fail)?;
        let mut response = stub.fetch_with_request(request).await.map_err(fail)?;
        parse(&response.text().await.map_err(fail)?).map_err(fail)
    }
}
