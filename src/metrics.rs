//! Metrics: one point per verify, settle (an `upto` capture is a settle of scheme `upto`), session close
//! and sweep, from the request's log record. The Worker writes each point to Workers Analytics Engine
//! (`METRICS`) and, for local use, keeps them summed in the isolate ([`Metrics`], served as Prometheus
//! text at `GET /__x402/metrics` when enabled). Pure: no host types.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::api::LogRecord;

/// One verify, settle, close or sweep and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricPoint {
    /// `verify`, `settle`, `close` or `sweep`.
    pub operation: &'static str,
    /// `valid`, `invalid`, `settled`, `failed`, `error`, … (the log's outcome before its `:`).
    pub outcome: String,
    /// The reason code after the `:`, or empty.
    pub reason: String,
    pub scheme: String,
    pub network: String,
    pub status: u16,
    pub latency_ms: u64,
}

impl MetricPoint {
    /// The point of a request's log record, or None for requests that are not payments.
    pub fn of(log: &LogRecord) -> Option<MetricPoint> {
        let path = log.path.trim_end_matches('/');
        let operation = match (log.method.as_str(), path) {
            ("POST", "/verify" | "/v2/x402/verify") => "verify",
            ("POST", "/settle" | "/v2/x402/settle") => "settle",
            ("POST", p) if p.starts_with("/upto/sessions/") && p.ends_with("/close") => "close",
            _ => return None,
        };
        let (outcome, reason) = log.outcome.split_once(':').unwrap_or((log.outcome.as_str(), ""));
        Some(MetricPoint {
            operation,
            outcome: outcome.to_string(),
            reason: reason.to_string(),
            scheme: log.scheme.clone().unwrap_or_default(),
            network: log.network.clone().unwrap_or_default(),
            status: log.status,
            latency_ms: log.duration_ms,
        })
    }

    /// A sweeper pass: `settled` batches sent, `failed` ones, over `latency_ms`.
    pub fn sweep(settled: usize, failed: usize, error: bool, latency_ms: u64) -> MetricPoint {
        let outcome = if error {
            "error"
        } else if failed > 0 {
            "partial"
        } else {
            "ok"
        };
        MetricPoint {
            operation: "sweep",
            outcome: outcome.into(),
            reason: format!("settled={settled},failed={failed}"),
            scheme: "upto".into(),
            network: String::new(),
            status: 0,
            latency_ms,
        }
    }
}

/// A Prometheus metric family: name, type, help, and the value it reads from a series' totals.
type Family = (&'static str, &'static str, &'static str, fn(&Totals) -> u64);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Totals {
    count: u64,
    latency_ms_sum: u64,
    latency_ms_max: u64,
}

/// Points summed by (operation, outcome, reason, scheme, network).
#[derive(Debug, Default)]
pub struct Metrics {
    series: BTreeMap<(&'static str, String, String, String, String), Totals>,
}

impl Metrics {
    /// Empty (const, for a static).
    pub const fn new() -> Metrics {
        Metrics { series: BTreeMap::new() }
    }
}

/// Series kept at most: past it, new label sets are summed under `other` (bounded memory).
const MAX_SERIES: usize = 1000;

impl Metrics {
    pub fn record(&mut self, point: &MetricPoint) {
        let mut key =
            (point.operation, point.outcome.clone(), point.reason.clone(), point.scheme.clone(), point.network.clone());
        if self.series.len() >= MAX_SERIES && !self.series.contains_key(&key) {
            key = (point.operation, "other".into(), String::new(), String::new(), String::new());
        }
        let totals = self.series.entry(key).or_default();
        totals.count += 1;
        totals.latency_ms_sum += point.latency_ms;
        totals.latency_ms_max = totals.latency_ms_max.max(point.latency_ms);
    }

    /// The Prometheus text exposition of every series.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        let families: [Family; 3] = [
            ("x402_operations_total", "counter", "Verify, settle, close and sweep operations by outcome.", |t| t.count),
            ("x402_operation_duration_ms_sum", "counter", "Milliseconds spent in those operations.", |t| {
                t.latency_ms_sum
            }),
            ("x402_operation_duration_ms_max", "gauge", "The slowest of those operations, in milliseconds.", |t| {
                t.latency_ms_max
            }),
        ];
        for (name, kind, help, value_of) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((operation, outcome, reason, scheme, network), t) in &self.series {
                let value = value_of(t);
                let labels = [
                    ("operation", *operation),
                    ("outcome", outcome),
                    ("reason", reason),
                    ("scheme", scheme),
                    ("network", network),
                ]
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect::<Vec<_>>()
                .join(",");
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
        out
    }
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(method: &str, path: &str, outcome: &str, duration_ms: u64) -> LogRecord {
        LogRecord {
            request_id: "r".into(),
            method: method.into(),
            path: path.into(),
            status: 200,
            scheme: Some("exact".into()),
            network: Some("eip155:84532".into()),
            outcome: outcome.into(),
            duration_ms,
        }
    }

    #[test]
    fn payments_are_points_and_other_requests_are_not() {
        let p = MetricPoint::of(&log("POST", "/settle", "failed:invalid_exact_evm_nonce_already_used", 7))
            .expect("a point");
        assert_eq!(
            (p.operation, p.outcome.as_str(), p.reason.as_str(), p.latency_ms),
            ("settle", "failed", "invalid_exact_evm_nonce_already_used", 7)
        );
        assert_eq!(MetricPoint::of(&log("POST", "/v2/x402/verify", "valid", 1)).map(|p| p.operation), Some("verify"));
        assert_eq!(
            MetricPoint::of(&log("POST", "/upto/sessions/abc/close", "closed", 1)).map(|p| p.operation),
            Some("close")
        );
        assert_eq!(MetricPoint::of(&log("GET", "/supported", "ok", 1)), None);
        assert_eq!(MetricPoint::of(&log("GET", "/settle", "ok", 1)), None);
    }

    #[test]
    fn points_sum_into_prometheus_series() {
        let mut metrics = Metrics::default();
        for ms in [3, 9] {
            metrics.record(&MetricPoint::of(&log("POST", "/settle", "settled", ms)).expect("a point"));
        }
        metrics.record(&MetricPoint::sweep(2, 0, false, 40));
        let text = metrics.prometheus();
        let settle = "operation=\"settle\",outcome=\"settled\",reason=\"\",scheme=\"exact\",network=\"eip155:84532\"";
        assert!(text.contains(&format!("x402_operations_total{{{settle}}} 2")), "{text}");
        assert!(text.contains(&format!("x402_operation_duration_ms_sum{{{settle}}} 12")), "{text}");
        assert!(text.contains(&format!("x402_operation_duration_ms_max{{{settle}}} 9")), "{text}");
        assert!(text.contains("x402_operations_total{operation=\"sweep\",outcome=\"ok\",reason=\"settled=2,failed=0\",scheme=\"upto\",network=\"\"} 1"), "{text}");
        assert!(text.contains("# TYPE x402_operations_total counter"));
    }

    #[test]
    fn label_values_are_escaped_and_series_are_bounded() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let mut metrics = Metrics::default();
        for i in 0..(MAX_SERIES + 50) {
            let mut p = MetricPoint::of(&log("POST", "/verify", "invalid:x", 1)).expect("a point");
            p.network = format!("eip155:{i}");
            metrics.record(&p);
        }
        assert_eq!(metrics.series.len(), MAX_SERIES + 1, "the overflow is summed under `other`");
        assert!(metrics.prometheus().contains(
            "x402_operations_total{operation=\"verify\",outcome=\"other\",reason=\"\",scheme=\"\",network=\"\"} 50"
        ));
    }
}
