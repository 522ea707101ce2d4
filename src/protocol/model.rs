//! The normalized model: one shape for a verify/settle request, whatever version or dialect carried it.

use alloy_primitives::U256;
use serde_json::{Map, Value};

use crate::network::Network;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    pub const fn number(self) -> u8 {
        match self {
            Version::V1 => 1,
            Version::V2 => 2,
        }
    }
}

/// Who sent the request: a coinbase-style x402 client, or a client of the Cronos facilitator API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Standard,
    Cronos,
}

/// What the resource server requires, normalized across versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirements {
    pub scheme: String,
    /// The network exactly as the request named it; responses echo it.
    pub network: String,
    /// v2 `amount`, v1 `maxAmountRequired`.
    pub amount: U256,
    pub asset: String,
    pub pay_to: String,
    pub max_timeout_seconds: u64,
    pub extra: Map<String, Value>,
}

impl Requirements {
    /// A string field of `extra`, if present and non-empty.
    pub fn extra_str(&self, key: &str) -> Option<&str> {
        self.extra.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
    }
}

/// What the payer says it accepted (v2 `accepted`, v1 top-level `scheme`/`network`).
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub scheme: String,
    pub network: String,
    /// v2 `accepted.asset`.
    pub asset: Option<String>,
    /// v2 `accepted.payTo`.
    pub pay_to: Option<String>,
    /// v2 `accepted.amount`, as sent.
    pub amount: Option<String>,
}

/// A payment's scheme-specific part as the wire carried it, for the scheme registry
/// (`crate::schemes::registry`) to decode: `paymentPayload.payload`, and the rest of `paymentPayload`
/// (a Starknet client's `typedData` beside the payload, v2 `extensions`).
#[derive(Debug, Clone, PartialEq)]
pub struct RawPayload {
    pub payload: Value,
    /// `paymentPayload` without `payload`.
    pub envelope: Map<String, Value>,
}

/// A verify or settle request, normalized: `P` is the payload, raw ([`RawPayload`]) as protocol hands it
/// over, decoded by its scheme afterwards (`crate::schemes::PaymentRequest`).
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentRequest<P = RawPayload> {
    pub version: Version,
    pub dialect: Dialect,
    /// The network of the requirements, resolved.
    pub network: &'static Network,
    pub accepted: Accepted,
    pub requirements: Requirements,
    pub payload: P,
    /// Who sent it: the API key's subject ([`crate::access::ApiKeys::authorize`]) when the host checked
    /// one, else `None`. An `upto` session belongs to the key that opened it.
    pub caller: Option<String>,
}

impl<P> PaymentRequest<P> {
    /// The same request with its payload replaced (decoded by its scheme).
    pub fn with_payload<Q>(self, payload: Q) -> PaymentRequest<Q> {
        let PaymentRequest { version, dialect, network, accepted, requirements, payload: _, caller } = self;
        PaymentRequest { version, dialect, network, accepted, requirements, payload, caller }
    }
}
