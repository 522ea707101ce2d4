//! The [`HttpTransport`] and [`Clock`] ports over functions the TypeScript wrapper passes in (built
//! on `globalThis.fetch` and `setTimeout`), so the wasm needs no web-sys and runs the same in node,
//! browsers and workerd.

use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::ports::{Clock, HttpTransport, TransportError};

/// `post(url, body) => Promise<string>`. The wrapper rejects with the HTTP status (a number),
/// `"timeout"`, or a short text without the URL (RPC URLs carry API keys).
pub struct JsTransport {
    post: Function,
}

impl JsTransport {
    pub fn new(post: Function) -> Self {
        JsTransport { post }
    }
}

fn transport_error(rejection: &JsValue) -> TransportError {
    if let Some(status) = rejection.as_f64() {
        // An HTTP status is below 1000; anything else is not one.
        return if (100.0..1000.0).contains(&status) {
            TransportError::Status(status as u16)
        } else {
            TransportError::Failed("the transport rejected with a number that is not an HTTP status".into())
        };
    }
    match rejection.as_string() {
        Some(text) if text == "timeout" => TransportError::Timeout,
        Some(text) => TransportError::Failed(text.chars().take(200).collect()),
        None => TransportError::Failed("fetch failed".into()),
    }
}

/// Awaits what a JS function returned, if it is a promise.
async fn settle(returned: Result<JsValue, JsValue>) -> Result<JsValue, JsValue> {
    let value = returned?;
    match value.dyn_into::<Promise>() {
        Ok(promise) => JsFuture::from(promise).await,
        Err(value) => Ok(value),
    }
}

impl HttpTransport for JsTransport {
    async fn post_json(&self, url: &str, headers: &[(&str, &str)], body: String) -> Result<String, TransportError> {
        let headers: serde_json::Map<String, serde_json::Value> =
            headers.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))).collect();
        let headers = JsValue::from_str(&serde_json::Value::Object(headers).to_string());
        let returned = self.post.call3(&JsValue::NULL, &JsValue::from_str(url), &JsValue::from_str(&body), &headers);
        let value = settle(returned).await.map_err(|e| transport_error(&e))?;
        value.as_string().ok_or_else(|| TransportError::Failed("the transport did not resolve to text".into()))
    }
}

/// The time of the call (the wrapper's `options.now` or the host clock), and `sleep(ms) => Promise`.
pub struct JsClock {
    now_ms: u64,
    sleep: Function,
}

impl JsClock {
    pub fn new(now_ms: u64, sleep: Function) -> Self {
        JsClock { now_ms, sleep }
    }
}

impl Clock for JsClock {
    fn now_millis(&self) -> u64 {
        self.now_ms
    }

    async fn sleep_millis(&self, millis: u64) {
        // A sleep that fails only shortens a backoff.
        let _ = settle(self.sleep.call1(&JsValue::NULL, &JsValue::from_f64(millis as f64))).await;
    }
}
