//! Rate limits as a Durable Object, one per subject (an API key, a client address), so every isolate
//! counts against the same bucket. The bucket arithmetic is [`crate::access::take`].

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, ObjectNamespace, Request, Response, State};

use super::runtime::{call_object, parse};
use crate::access::{self, Bucket, Decision};
use crate::access::{LimiterError, RateLimiter};

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
        let missing = || LimiterError(format!("the {BINDING} binding is missing"));
        let namespace = self.namespace.as_ref().ok_or_else(missing)?;
        call_object(namespace, subject, &Take { now_ms, per_minute }).await.map_err(|e| LimiterError(e.to_string()))
    }
}
