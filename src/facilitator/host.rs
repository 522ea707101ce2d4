//! What the facilitator is given by its host: the ports bundled as one type ([`Host`], [`Ports`]) and the
//! hooks around verify and settle.

use std::future::Future;

use super::home::PaymentHome;
use super::outcome::{Failure, Settled, Verified};
use crate::access::RateLimiter;
use crate::chains::evm::sender::TxSender;
use crate::ledger::Ledger;
use crate::ports::{Clock, HttpTransport};
use crate::schemes::PaymentRequest;
use crate::upto::Sessions;

/// What a before-hook decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookDecision {
    Continue,
    /// Refuse the payment with this reason code (returned to the client verbatim) and message.
    Abort {
        reason: String,
        message: String,
    },
}

/// Hooks around verify and settle, with the reference (`@x402/core` `x402Facilitator`) semantics:
/// a before-hook may abort; an after-hook sees successes (after-settle every outcome); a failure hook
/// may recover with a result of its own. Every method has a do-nothing default.
pub trait Hooks {
    fn before_verify(&self, _request: &PaymentRequest) -> impl Future<Output = HookDecision> {
        async { HookDecision::Continue }
    }
    fn after_verify(&self, _request: &PaymentRequest, _verified: &Verified) -> impl Future<Output = ()> {
        async {}
    }
    fn on_verify_failure(
        &self,
        _request: &PaymentRequest,
        _failure: &Failure,
    ) -> impl Future<Output = Option<Verified>> {
        async { None }
    }
    fn before_settle(&self, _request: &PaymentRequest) -> impl Future<Output = HookDecision> {
        async { HookDecision::Continue }
    }
    fn after_settle(&self, _request: &PaymentRequest, _result: &Result<Settled, Failure>) -> impl Future<Output = ()> {
        async {}
    }
    fn on_settle_failure(
        &self,
        _request: &PaymentRequest,
        _failure: &Failure,
    ) -> impl Future<Output = Option<Settled>> {
        async { None }
    }
}

/// No hooks.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;

impl Hooks for NoHooks {}

/// The ports a host provides, named once so the facilitator has one type parameter.
pub trait Host {
    type Http: HttpTransport;
    type Clock: Clock;
    type Ledger: Ledger;
    type Sessions: Sessions;
    type Sender: TxSender + PaymentHome;
    type Hooks: Hooks;
    type Limiter: RateLimiter;
    /// Where a Starknet sponsor's transactions are signed and sent.
    #[cfg(feature = "starknet")]
    type Sponsor: super::sponsor::SponsorTransactions;
}

/// The host's port values.
pub struct Ports<P: Host> {
    pub http: P::Http,
    pub clock: P::Clock,
    pub ledger: P::Ledger,
    pub sessions: P::Sessions,
    pub sender: P::Sender,
    pub hooks: P::Hooks,
    pub limiter: P::Limiter,
    #[cfg(feature = "starknet")]
    pub sponsor: P::Sponsor,
}
