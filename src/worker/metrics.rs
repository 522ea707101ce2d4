//! Metrics in the Worker: each payment operation's point ([`crate::metrics`]) goes to Workers Analytics
//! Engine (binding `METRICS`: index the operation; blobs operation, outcome, reason, scheme, network;
//! doubles latency ms and HTTP status) and into this isolate's sums, served as Prometheus text at
//! `GET /__x402/metrics` when `X402_EDGE_METRICS=on` (locally: one isolate sees every request; deployed,
//! query Analytics Engine instead).

use std::sync::Mutex;

use worker::{AnalyticsEngineDataPointBuilder, Env, Response};

use crate::metrics::{MetricPoint, Metrics};

const BINDING: &str = "METRICS";
pub(super) const PATH: &str = "/__x402/metrics";

static SUMS: Mutex<Metrics> = Mutex::new(Metrics::new());

/// Writes `point` to Analytics Engine (when bound) and to this isolate's sums; never fails the request.
pub(super) fn record(env: &Env, point: &MetricPoint) {
    if let Ok(mut sums) = SUMS.lock() {
        sums.record(point);
    }
    if let Ok(dataset) = env.analytics_engine(BINDING) {
        let data = AnalyticsEngineDataPointBuilder::new()
            .indexes([point.operation])
            .blobs([
                point.operation,
                point.outcome.as_str(),
                point.reason.as_str(),
                point.scheme.as_str(),
                point.network.as_str(),
            ])
            .doubles([point.latency_ms as f64, f64::from(point.status)])
            .build();
        let _ = dataset.write_data_point(&data);
    }
}

/// The Prometheus text of this isolate's sums, when `X402_EDGE_METRICS=on`; None otherwise (404).
pub(super) fn serve(env: &Env) -> Option<worker::Result<Response>> {
    if !env.var("X402_EDGE_METRICS").is_ok_and(|v| v.to_string() == "on") {
        return None;
    }
    let text = SUMS.lock().map(|sums| sums.prometheus()).unwrap_or_default();
    Some(Response::ok(text).map(|r| {
        let headers = worker::Headers::new();
        let _ = headers.set("content-type", "text/plain; version=0.0.4");
        r.with_headers(headers)
    }))
}
