//! The resource-server side for Rust Workers (cargo feature `server`): protect routes with prices,
//! answer 402 (`PAYMENT-REQUIRED` for v2 clients, the v1 body for legacy ones), verify payments
//! in-process with the facilitator's own checks (no network hop for EIP-3009 and Solana `exact`), and
//! settle through the facilitator after the handler succeeded, adding `PAYMENT-RESPONSE`.
//!
//! The core here is host-free ([`Paywall`] over a [`FacilitatorLink`]); `worker` adapts it to
//! workers-rs (feature `server-worker`): a Service Binding or a URL to the facilitator.

mod challenge;
mod gate;
mod link;
mod routes;
#[cfg(all(feature = "server-worker", target_arch = "wasm32"))]
pub mod worker;

pub use challenge::{Refusal, Reply, PAYMENT_REQUIRED, PAYMENT_RESPONSE, X_PAYMENT_RESPONSE};
pub use gate::{Admission, Admitted, Incoming, Paywall, VerifiedBy, PAYMENT_SIGNATURE, X_PAYMENT};
pub use link::{FacilitatorLink, LinkError, LinkReply};
pub use routes::{Accept, PaidRoute, Resource, RouteError, Routes};

#[cfg(test)]
mod tests;
