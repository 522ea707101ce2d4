//! Access control for production: API keys (`Authorization: Bearer`), rate limits per key and per
//! client address, and a `payTo` allowlist. All off unless configured. The token-bucket transitions
//! are pure; a host keeps the buckets (a Durable Object per subject in the Worker).

use std::cell::RefCell;
use std::collections::HashMap;

use alloy_primitives::{keccak256, B256};
use std::future::Future;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate limiter unavailable: {0}")]
pub struct LimiterError(pub String);

/// Token buckets per subject (an API key, a client address), shared by every isolate.
pub trait RateLimiter {
    fn take(&self, subject: &str, now_ms: u64, per_minute: u32)
        -> impl Future<Output = Result<Decision, LimiterError>>;
}

/// A caller that presented no key or a wrong one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthorized;

/// The configured API keys, kept as hashes so comparisons take the same time whatever the input.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ApiKeys(Vec<B256>);

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys)", self.0.len())
    }
}

impl ApiKeys {
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
        ApiKeys(keys.into_iter().map(|k| keccak256(k.as_bytes())).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks an `Authorization` header. Every configured key is compared, in constant time, so
    /// neither which key matched nor how much of it matched shows in the timing. Returns the
    /// subject to rate-limit and to own `upto` sessions (`key:<first 16 hex of the key's hash>`).
    pub fn authorize(&self, header: Option<&str>) -> Result<Option<String>, Unauthorized> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let presented = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).unwrap_or_default();
        let hash = keccak256(presented.as_bytes());
        let mut matched: Option<&B256> = None;
        for key in &self.0 {
            let difference = key.iter().zip(hash.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if difference == 0 && !presented.is_empty() {
                matched = Some(key);
            }
        }
        matched.map(|k| Some(format!("key:{}", hex::encode(&k[..8])))).ok_or(Unauthorized)
    }
}

/// One subject's token bucket: capacity `per_minute`, refilled continuously.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// Tokens × 1000, so refills of a fraction of a token are kept.
    pub milli_tokens: u64,
    pub updated_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    Allowed,
    Limited { retry_after_secs: u64 },
}

/// Takes one token from `bucket` at `now_ms`.
pub fn take(bucket: Option<Bucket>, now_ms: u64, per_minute: u32) -> (Decision, Bucket) {
    let capacity = u64::from(per_minute.max(1)) * 1000;
    let bucket = bucket.unwrap_or(Bucket { milli_tokens: capacity, updated_ms: now_ms });
    // per_minute tokens per 60,000 ms = per_minute milli-tokens per 60 ms.
    let refill = now_ms.saturating_sub(bucket.updated_ms).saturating_mul(u64::from(per_minute)) / 60;
    let milli_tokens = bucket.milli_tokens.saturating_add(refill).min(capacity);
    if milli_tokens >= 1000 {
        return (Decision::Allowed, Bucket { milli_tokens: milli_tokens - 1000, updated_ms: now_ms });
    }
    let missing = 1000 - milli_tokens;
    let wait_ms = (missing * 60).div_ceil(u64::from(per_minute.max(1)));
    (Decision::Limited { retry_after_secs: wait_ms.div_ceil(1000).max(1) }, Bucket { milli_tokens, updated_ms: now_ms })
}

/// Buckets in one process's memory: for tests and single-process embedders.
#[derive(Debug, Default)]
pub struct MemoryLimiter {
    buckets: RefCell<HashMap<String, Bucket>>,
}

impl RateLimiter for MemoryLimiter {
    async fn take(&self, subject: &str, now_ms: u64, per_minute: u32) -> Result<Decision, LimiterError> {
        let mut buckets = self.buckets.borrow_mut();
        let (decision, bucket) = take(buckets.get(subject).copied(), now_ms, per_minute);
        buckets.insert(subject.to_string(), bucket);
        Ok(decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_and_never_shown() {
        let keys = ApiKeys::new(["fac_test_one", "fac_test_two"]);
        assert!(keys.authorize(Some("Bearer fac_test_two")).unwrap().unwrap().starts_with("key:"));
        assert_eq!(keys.authorize(Some("Bearer fac_test_three")), Err(Unauthorized));
        assert_eq!(keys.authorize(Some("fac_test_one")), Err(Unauthorized));
        assert_eq!(keys.authorize(None), Err(Unauthorized));
        assert_eq!(keys.authorize(Some("Bearer ")), Err(Unauthorized));
        assert!(!format!("{keys:?}").contains("fac_test"));
        assert_eq!(ApiKeys::default().authorize(None), Ok(None));
    }

    #[test]
    fn a_bucket_allows_its_rate_and_says_when_to_come_back() {
        let mut bucket = None;
        for _ in 0..3 {
            let (decision, next) = take(bucket, 1_000, 3);
            assert_eq!(decision, Decision::Allowed);
            bucket = Some(next);
        }
        let (decision, next) = take(bucket, 1_000, 3);
        assert_eq!(decision, Decision::Limited { retry_after_secs: 20 });
        // Twenty seconds later one token is back.
        let (decision, _) = take(Some(next), 21_000, 3);
        assert_eq!(decision, Decision::Allowed);
    }
}
