//! Which routes cost what: a route (method and path) and the payments it accepts, each held as the v2
//! `PaymentRequirements` object it puts in a 402, and rendered in v1 form for legacy clients.

use alloy_primitives::U256;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::network::{self, Family, Network};

/// Why a route's configuration is refused (at start-up, never per request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("unknown network {0:?}")]
    UnknownNetwork(String),
    #[error("amount {0:?} is not a positive integer of the asset's smallest unit")]
    Amount(String),
    #[error("{field} is empty")]
    Empty { field: &'static str },
    #[error("path {0:?} must start with '/' (a trailing '/*' protects everything under it)")]
    Path(String),
    #[error("route {0} accepts no payment")]
    NoPayment(String),
    #[error("routes are not valid JSON: {0}")]
    Json(String),
}

/// One way to pay for a route.
#[derive(Debug, Clone, PartialEq)]
pub struct Accept {
    network: &'static Network,
    /// The v2 `PaymentRequirements`, network as CAIP-2.
    requirements: Value,
}

impl Accept {
    /// An `exact` payment of `amount` (smallest units) of `asset` to `pay_to` on `network` (CAIP-2 or v1
    /// name). On EVM, the EIP-712 domain of the network's default asset fills `extra` when `asset` is it.
    pub fn exact(network: &str, asset: &str, amount: &str, pay_to: &str) -> Result<Accept, RouteError> {
        Accept::new("exact", network, asset, amount, pay_to)
    }

    /// A payment of `scheme` (an `upto` cap, or any scheme the facilitator serves).
    pub fn new(scheme: &str, network: &str, asset: &str, amount: &str, pay_to: &str) -> Result<Accept, RouteError> {
        let network = network::find(network).ok_or_else(|| RouteError::UnknownNetwork(network.to_string()))?;
        let positive = U256::from_str_radix(amount, 10).ok().filter(|a| !a.is_zero());
        if positive.is_none() {
            return Err(RouteError::Amount(amount.to_string()));
        }
        for (field, value) in [("scheme", scheme), ("asset", asset), ("payTo", pay_to)] {
            if value.trim().is_empty() {
                return Err(RouteError::Empty { field });
            }
        }
        let requirements = json!({
            "scheme": scheme, "network": network.caip2, "amount": amount, "asset": asset, "payTo": pay_to,
            "maxTimeoutSeconds": 300, "extra": default_extra(network, asset),
        });
        Ok(Accept { network, requirements })
    }

    /// Sets `extra[key]` (e.g. an EIP-712 `name`/`version` of an asset we don't know, `feePayer` on Solana).
    pub fn with_extra(mut self, key: &str, value: Value) -> Accept {
        self.requirements["extra"][key] = value;
        self
    }

    pub fn with_max_timeout_seconds(mut self, seconds: u64) -> Accept {
        self.requirements["maxTimeoutSeconds"] = json!(seconds);
        self
    }

    pub fn network(&self) -> &'static Network {
        self.network
    }

    pub fn scheme(&self) -> &str {
        self.requirements["scheme"].as_str().unwrap_or_default()
    }

    /// The v2 requirements object.
    pub fn v2(&self) -> &Value {
        &self.requirements
    }

    /// The same requirements as x402 v1 states them (`maxAmountRequired`, the network's v1 name, the
    /// resource inline).
    pub fn v1(&self, resource: &Resource, url: &str) -> Value {
        let r = &self.requirements;
        json!({
            "scheme": r["scheme"], "network": self.network.wire_id(true), "maxAmountRequired": r["amount"],
            "resource": url, "description": resource.description, "mimeType": resource.mime_type,
            "payTo": r["payTo"], "maxTimeoutSeconds": r["maxTimeoutSeconds"], "asset": r["asset"], "extra": r["extra"],
        })
    }
}

/// EVM `exact` payers sign the token's EIP-712 domain: known for a network's default asset.
fn default_extra(network: &Network, asset: &str) -> Value {
    let known = network.asset.filter(|a| network.family == Family::Evm && a.address.eq_ignore_ascii_case(asset));
    match known {
        Some(a) => {
            let mut extra = Map::new();
            extra.insert("name".into(), json!(a.name));
            if let Some(version) = a.version {
                extra.insert("version".into(), json!(version));
            }
            Value::Object(extra)
        }
        None => json!({}),
    }
}

/// What a route sells, as a 402 describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resource {
    pub description: String,
    pub mime_type: String,
}

/// A method and path, or every path under a prefix (`/api/*`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum PathPattern {
    Exact(String),
    Under(String),
}

impl PathPattern {
    fn parse(path: &str) -> Result<PathPattern, RouteError> {
        if !path.starts_with('/') {
            return Err(RouteError::Path(path.to_string()));
        }
        Ok(match path.strip_suffix("/*") {
            Some(prefix) => PathPattern::Under(prefix.to_string()),
            None => PathPattern::Exact(path.trim_end_matches('/').to_string()),
        })
    }

    fn matches(&self, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        match self {
            PathPattern::Exact(p) => p == path,
            PathPattern::Under(prefix) => {
                path == prefix || path.strip_prefix(prefix.as_str()).is_some_and(|rest| rest.starts_with('/'))
            }
        }
    }
}

/// A paid route.
#[derive(Debug, Clone, PartialEq)]
pub struct PaidRoute {
    /// Upper case; `None` for every method.
    method: Option<String>,
    path: PathPattern,
    pub resource: Resource,
    pub accepts: Vec<Accept>,
}

impl PaidRoute {
    /// `method` `"*"` matches every method; `path` is exact or ends in `/*`.
    pub fn new(method: &str, path: &str, accepts: Vec<Accept>) -> Result<PaidRoute, RouteError> {
        if accepts.is_empty() {
            return Err(RouteError::NoPayment(format!("{method} {path}")));
        }
        let method = (method != "*").then(|| method.to_ascii_uppercase());
        Ok(PaidRoute { method, path: PathPattern::parse(path)?, resource: Resource::default(), accepts })
    }

    pub fn describe(mut self, description: &str, mime_type: &str) -> PaidRoute {
        self.resource = Resource { description: description.into(), mime_type: mime_type.into() };
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method)) && self.path.matches(path)
    }
}

/// Every paid route; the first that matches a request prices it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Routes(Vec<PaidRoute>);

impl Routes {
    pub fn new(routes: Vec<PaidRoute>) -> Routes {
        Routes(routes)
    }

    pub fn find(&self, method: &str, path: &str) -> Option<&PaidRoute> {
        self.0.iter().find(|r| r.matches(method, path))
    }

    /// Routes from configuration text (a Worker variable):
    /// `[{"method": "GET", "path": "/premium", "description": "…", "mimeType": "application/json",
    ///    "accepts": [{"scheme": "exact", "network": "eip155:84532", "asset": "0x…", "amount": "10000",
    ///                 "payTo": "0x…", "maxTimeoutSeconds": 60, "extra": {…}}]}]`.
    pub fn from_json(text: &str) -> Result<Routes, RouteError> {
        let configs: Vec<RouteConfig> = serde_json::from_str(text).map_err(|e| RouteError::Json(e.to_string()))?;
        configs.into_iter().map(RouteConfig::build).collect::<Result<_, _>>().map(Routes)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RouteConfig {
    #[serde(default = "every_method")]
    method: String,
    path: String,
    #[serde(default)]
    description: String,
    #[serde(default = "json_mime")]
    mime_type: String,
    accepts: Vec<AcceptConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AcceptConfig {
    #[serde(default = "exact")]
    scheme: String,
    network: String,
    asset: String,
    amount: String,
    pay_to: String,
    max_timeout_seconds: Option<u64>,
    #[serde(default)]
    extra: Map<String, Value>,
}

fn every_method() -> String {
    "*".into()
}
fn json_mime() -> String {
    "application/json".into()
}
fn exact() -> String {
    "exact".into()
}

impl RouteConfig {
    fn build(self) -> Result<PaidRoute, RouteError> {
        let accepts = self.accepts.into_iter().map(AcceptConfig::build).collect::<Result<_, _>>()?;
        Ok(PaidRoute::new(&self.method, &self.path, accepts)?.describe(&self.description, &self.mime_type))
    }
}

impl AcceptConfig {
    fn build(self) -> Result<Accept, RouteError> {
        let mut accept = Accept::new(&self.scheme, &self.network, &self.asset, &self.amount, &self.pay_to)?;
        if let Some(seconds) = self.max_timeout_seconds {
            accept = accept.with_max_timeout_seconds(seconds);
        }
        for (key, value) in self.extra {
            accept = accept.with_extra(&key, value);
        }
        Ok(accept)
    }
}
