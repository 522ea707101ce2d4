//! The middleware's two steps around a paid handler: [`Paywall::admit`] before it (price the route,
//! read the payment header, verify in-process with the facilitator's own checks) and
//! [`Paywall::settle`] after it answered 2xx (settle through the facilitator; only a success releases
//! the response). A handler that fails is never settled: nothing is charged for it.

use serde_json::{json, Value};

use super::challenge::{challenge, unavailable, Refusal, Reply, PAYMENT_RESPONSE, X_PAYMENT_RESPONSE};
use super::link::{FacilitatorLink, LinkError};
use super::routes::{Accept, PaidRoute, Routes};
use crate::network;
use crate::policy::PaymentPolicy;
use crate::protocol::header;
use crate::protocol::model::Version;
use crate::protocol::response::{SettleResponse, VerifyResponse};
use crate::schemes::exact_evm::{self, OfflineVerdict};
use crate::schemes::{exact_svm, parse_request, Payload};

pub const PAYMENT_SIGNATURE: &str = "PAYMENT-SIGNATURE";
pub const X_PAYMENT: &str = "X-PAYMENT";

/// What the middleware needs of a request.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The full URL, as the 402 names the resource.
    pub url: &'a str,
    /// `PAYMENT-SIGNATURE` (v2).
    pub payment_signature: Option<&'a str>,
    /// `X-PAYMENT` (v1).
    pub x_payment: Option<&'a str>,
    /// Unix seconds.
    pub now_secs: u64,
}

/// Before the handler.
#[derive(Debug)]
pub enum Admission {
    /// Not a paid route: run the handler, settle nothing.
    Free,
    /// Answer this instead of running the handler (a 402, or 502 when the facilitator is unreachable).
    Refused(Reply),
    /// Verified: run the handler, then [`Paywall::settle`] if it answered 2xx.
    Admitted(Admitted),
}

/// Where a payment was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifiedBy {
    /// By the facilitator's checks compiled into this Worker: no network hop.
    InProcess,
    /// By the facilitator's `/verify` (a scheme or a wallet the in-process checks cannot judge).
    Facilitator,
}

/// A verified payment waiting for its handler.
#[derive(Debug, Clone)]
pub struct Admitted {
    version: Version,
    /// The `/settle` body.
    body: String,
    route: PaidRoute,
    url: String,
    pub payer: Option<String>,
    pub verified_by: VerifiedBy,
}

/// The paid routes and the facilitator that settles them.
pub struct Paywall<L> {
    routes: Routes,
    link: L,
    /// Every verify goes to the facilitator (it also sees its ledger and the chain: a settled or
    /// unfunded payment is refused before the handler runs, at the cost of a round trip).
    remote_verify: bool,
}

impl<L: FacilitatorLink> Paywall<L> {
    pub fn new(routes: Routes, link: L) -> Paywall<L> {
        Paywall { routes, link, remote_verify: false }
    }

    /// The link to the facilitator.
    pub fn link(&self) -> &L {
        &self.link
    }

    /// Sends every verify to the facilitator instead of checking in-process.
    pub fn verifying_remotely(mut self) -> Paywall<L> {
        self.remote_verify = true;
        self
    }

    /// Prices the request and verifies its payment.
    pub async fn admit(&self, incoming: &Incoming<'_>) -> Admission {
        let Some(route) = self.routes.find(incoming.method, incoming.path) else {
            return Admission::Free;
        };
        let refuse = |refusal: Refusal| Admission::Refused(challenge(route, incoming.url, &refusal));
        let offer = match read_offer(route, incoming) {
            Ok(offer) => offer,
            Err(refusal) => return refuse(refusal),
        };
        let local =
            if self.remote_verify { Local::AskFacilitator } else { verify_in_process(&offer.body, incoming.now_secs) };
        let verified = match local {
            Local::Valid { payer } => Ok((payer, VerifiedBy::InProcess)),
            Local::Invalid(refusal) => Err(refusal),
            Local::AskFacilitator => match self.verify_remotely(&offer.body).await {
                Ok(verdict) => verdict.map(|payer| (payer, VerifiedBy::Facilitator)),
                Err(e) => return Admission::Refused(unavailable(502, &e.to_string())),
            },
        };
        match verified {
            Ok((payer, verified_by)) => Admission::Admitted(Admitted {
                version: offer.version,
                body: offer.body,
                route: route.clone(),
                url: incoming.url.to_string(),
                payer,
                verified_by,
            }),
            Err(refusal) => refuse(refusal),
        }
    }

    /// Settles an admitted payment after its handler answered 2xx: the headers to add to the
    /// handler's response, or the answer to send instead (the payment did not settle: the content
    /// must not be released). A `settlement_pending` answer is asked once more, as `@x402/core` does.
    pub async fn settle(&self, admitted: &Admitted) -> Result<Vec<(&'static str, String)>, Reply> {
        let mut answer = self.settle_once(admitted).await;
        if matches!(&answer, Ok(r) if r.error_reason.as_deref() == Some("settlement_pending")) {
            answer = self.settle_once(admitted).await;
        }
        let response = answer.map_err(|e| unavailable(502, &e.to_string()))?;
        let header_name = match admitted.version {
            Version::V1 => X_PAYMENT_RESPONSE,
            Version::V2 => PAYMENT_RESPONSE,
        };
        let receipt = (header_name, header::encode(&response));
        if response.success {
            return Ok(vec![receipt]);
        }
        let reason = response.error_reason.clone().unwrap_or_else(|| "unexpected_settle_error".into());
        let message = response.error_message.clone().unwrap_or_else(|| "the payment did not settle".into());
        let mut reply = challenge(&admitted.route, &admitted.url, &Refusal::new(&reason, message));
        reply.headers.push(receipt);
        Err(reply)
    }

    async fn settle_once(&self, admitted: &Admitted) -> Result<SettleResponse, LinkError> {
        let reply = self.link.post("/settle", admitted.body.clone()).await?;
        serde_json::from_slice::<SettleResponse>(&reply.body).map_err(|_| unexpected(reply.status))
    }

    /// The facilitator's verdict: the payer, or why not.
    async fn verify_remotely(&self, body: &str) -> Result<Result<Option<String>, Refusal>, LinkError> {
        let reply = self.link.post("/verify", body.to_string()).await?;
        if let Ok(verdict) = serde_json::from_slice::<VerifyResponse>(&reply.body) {
            return Ok(if verdict.is_valid {
                Ok(verdict.payer)
            } else {
                let reason = verdict.invalid_reason.unwrap_or_else(|| "invalid_payload".into());
                Err(Refusal::new(&reason, verdict.invalid_message.unwrap_or_default()))
            });
        }
        // A 400 names what is malformed in the facilitator's error body.
        let error: Value = serde_json::from_slice(&reply.body).map_err(|_| unexpected(reply.status))?;
        match error.get("invalidReason").or(error.get("error")).and_then(Value::as_str) {
            Some(reason) if reply.status == 400 => {
                let message = error.get("invalidMessage").and_then(Value::as_str).unwrap_or_default();
                Ok(Err(Refusal::new(reason, message)))
            }
            _ => Err(unexpected(reply.status)),
        }
    }
}

fn unexpected(status: u16) -> LinkError {
    LinkError::Unreachable(format!("unexpected answer (HTTP {status})"))
}

/// A payment header, decoded, with the route's requirement it pays.
struct Offer {
    version: Version,
    body: String,
}

fn read_offer(route: &PaidRoute, incoming: &Incoming<'_>) -> Result<Offer, Refusal> {
    let (name, text) = match (incoming.payment_signature, incoming.x_payment) {
        (Some(text), _) => (PAYMENT_SIGNATURE, text),
        (None, Some(text)) => (X_PAYMENT, text),
        (None, None) => return Err(Refusal::unpaid(PAYMENT_SIGNATURE)),
    };
    let payload: Value = header::decode(text).map_err(|e| Refusal::new("invalid_payload", format!("{name}: {e}")))?;
    let version = match payload.get("x402Version").and_then(Value::as_u64) {
        Some(1) => Version::V1,
        Some(2) => Version::V2,
        _ => return Err(Refusal::new("invalid_x402_version", format!("{name}: x402Version must be 1 or 2"))),
    };
    let accept = matching_accept(route, &payload, version).ok_or_else(|| {
        Refusal::new("invalid_payment_requirements", "the payment matches none of the requirements of this route")
    })?;
    let requirements = match version {
        Version::V1 => accept.v1(&route.resource, incoming.url),
        Version::V2 => accept.v2().clone(),
    };
    let body = json!({"x402Version": version.number(), "paymentPayload": payload, "paymentRequirements": requirements});
    Ok(Offer { version, body: body.to_string() })
}

/// The requirement a payment is for: v2 names it in `accepted`, v1 by scheme and network.
fn matching_accept<'r>(route: &'r PaidRoute, payload: &Value, version: Version) -> Option<&'r Accept> {
    let said = match version {
        Version::V1 => payload,
        Version::V2 => payload.get("accepted")?,
    };
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let network = network::find(&text(said, "network")?)?;
    let scheme = text(said, "scheme")?;
    route.accepts.iter().find(|accept| {
        let required = accept.v2();
        let same = |key: &str| match version {
            Version::V1 => true,
            Version::V2 => {
                text(said, key).is_some_and(|s| Some(s.to_lowercase()) == text(required, key).map(|r| r.to_lowercase()))
            }
        };
        accept.scheme() == scheme && accept.network() == network && same("asset") && same("payTo") && same("amount")
    })
}

/// What the in-process checks say.
enum Local {
    Valid {
        payer: Option<String>,
    },
    Invalid(Refusal),
    /// Only the facilitator can judge: a scheme these checks leave to it (Permit2, upto, Starknet), or
    /// a signature only the chain can judge (a contract wallet's).
    AskFacilitator,
}

/// The facilitator's own pure checks, in the facilitator's order: the request, the payment policy that
/// needs no configuration (zero amounts, payments to oneself), then the scheme's.
fn verify_in_process(body: &str, now_secs: u64) -> Local {
    let request = match parse_request(body.as_bytes()) {
        Ok(request) => request,
        Err(rejection) => {
            let reason = rejection.error.reason().code(rejection.version);
            return Local::Invalid(Refusal::new(reason, rejection.error.to_string()));
        }
    };
    let refuse = |reason: crate::protocol::Reason, message: String| {
        Local::Invalid(Refusal::new(reason.code(request.version), message))
    };
    if let Err(refusal) = PaymentPolicy::default().check_amounts_and_payer(&request) {
        return refuse(refusal.reason(), refusal.to_string());
    }
    match &request.payload {
        Payload::Eip3009(payload) => match exact_evm::verify_offline(&request, payload, now_secs) {
            Ok(OfflineVerdict::Valid { payer }) => Local::Valid { payer: Some(payer.to_string()) },
            Ok(OfflineVerdict::NeedsChain { .. }) => Local::AskFacilitator,
            Err(e) => refuse(e.reason(), e.to_string()),
        },
        Payload::Svm(payload) => match exact_svm::verify_offline(&request, payload, None) {
            Ok(verified) => Local::Valid { payer: Some(verified.payer.to_base58()) },
            Err(e) => refuse(e.reason(), e.to_string()),
        },
        _ => Local::AskFacilitator,
    }
}
