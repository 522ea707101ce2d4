//! The 402 a paid route answers: `PAYMENT-REQUIRED` (v2, base64 JSON) for current clients and the v1
//! body for legacy ones, both naming why the request was not served.

use serde_json::{json, Value};

use super::routes::PaidRoute;
use crate::protocol::header;

/// An HTTP answer the host turns into its own response type.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    /// JSON text.
    pub body: String,
}

pub const PAYMENT_REQUIRED: &str = "PAYMENT-REQUIRED";
pub const PAYMENT_RESPONSE: &str = "PAYMENT-RESPONSE";
pub const X_PAYMENT_RESPONSE: &str = "X-PAYMENT-RESPONSE";

/// Why a request did not get the resource: a reason code (the facilitator's, or ours for the header
/// itself) and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    pub message: String,
}

impl Refusal {
    pub fn new(reason: &str, message: impl Into<String>) -> Refusal {
        Refusal { reason: reason.to_string(), message: message.into() }
    }

    /// No payment was sent.
    pub fn unpaid(header: &str) -> Refusal {
        Refusal::new("payment_required", format!("this resource needs a payment in the {header} header"))
    }
}

/// The v2 `PaymentRequired` object of a route.
pub fn payment_required(route: &PaidRoute, url: &str, refusal: &Refusal) -> Value {
    json!({
        "x402Version": 2,
        "error": refusal.reason,
        "resource": {"url": url, "description": route.resource.description, "mimeType": route.resource.mime_type},
        "accepts": route.accepts.iter().map(|a| a.v2().clone()).collect::<Vec<_>>(),
    })
}

/// The 402 for `route`: the v2 header, and a v1 body listing what v1 clients can pay with (networks
/// they know by name).
pub fn challenge(route: &PaidRoute, url: &str, refusal: &Refusal) -> Reply {
    let v1_accepts: Vec<Value> =
        route.accepts.iter().filter(|a| a.network().v1).map(|a| a.v1(&route.resource, url)).collect();
    let body = json!({
        "x402Version": 1,
        "error": refusal.reason,
        "errorMessage": refusal.message,
        "accepts": v1_accepts,
    });
    Reply {
        status: 402,
        headers: vec![
            (PAYMENT_REQUIRED, header::encode(&payment_required(route, url, refusal))),
            ("content-type", "application/json".into()),
            ("cache-control", "no-store".into()),
        ],
        body: body.to_string(),
    }
}

/// A JSON error that is not a payment matter (the facilitator could not be reached).
pub fn unavailable(status: u16, message: &str) -> Reply {
    Reply {
        status,
        headers: vec![("content-type", "application/json".into()), ("cache-control", "no-store".into())],
        body: json!({"error": "facilitator_unavailable", "errorMessage": message}).to_string(),
    }
}
