//! Everything that varies by host, as traits: the HTTP transport that carries JSON-RPC, the clock and
//! the signers. The Worker, the JS bindings and the native tests each provide their own.

use std::future::Future;

use crate::chains::evm::sender::{NonceManagedSender, SendError, Sent, UnsignedCall};
use crate::chains::jsonrpc::JsonRpcClient;
use crate::facilitator::{Failure, Settled, Verified};
use crate::network::Network;
use crate::protocol::model::PaymentRequest;

/// A failure to get an HTTP response at all. It must not contain the URL (RPC URLs carry API keys).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("request failed: {0}")]
    Failed(String),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("timed out")]
    Timeout,
}

/// POSTs a JSON body, with `headers` beside `content-type` (a paymaster's API key), and returns the
/// response body. One implementation per host.
pub trait HttpTransport {
    fn post_json(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> impl Future<Output = Result<String, TransportError>>;
}

/// Time, as a parameter: production reads the host clock, tests fix it.
pub trait Clock {
    fn now_millis(&self) -> u64;
    fn sleep_millis(&self, millis: u64) -> impl Future<Output = ()>;

    fn now_secs(&self) -> u64 {
        self.now_millis() / 1000
    }
}

/// A clock at 0 that never waits, for unit tests of code whose clock only paces retries.
#[cfg(test)]
pub(crate) struct Clockless;

#[cfg(test)]
impl Clock for Clockless {
    fn now_millis(&self) -> u64 {
        0
    }
    async fn sleep_millis(&self, _: u64) {}
}

/// A signer that can not sign (a remote signer that refused, say). Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signer failed: {0}")]
pub struct SignerError(pub String);

/// Signs EVM transaction hashes for the facilitator's account.
pub trait EvmSigner {
    fn address(&self) -> alloy_primitives::Address;
    fn sign_hash(
        &self,
        hash: &alloy_primitives::B256,
    ) -> impl Future<Output = Result<alloy_primitives::Signature, SignerError>>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("settlement ledger unavailable: {0}")]
pub struct LedgerError(pub String);

/// Applies one [`crate::ledger::LedgerOp`] to one payment's entry, atomically with respect to every
/// other operation on the same key (a Durable Object per key in the Worker).
pub trait Ledger {
    fn apply(
        &self,
        key: &str,
        op: crate::ledger::LedgerOp,
    ) -> impl Future<Output = Result<crate::ledger::LedgerReply, LedgerError>>;
}

/// Sends the facilitator's transactions: allocates the nonce, signs with `signer`, broadcasts. In
/// the Worker a Durable Object per (network, signer) does it, so concurrent settles never collide.
pub trait TxSender {
    /// Allocates a nonce, signs, records the hash in `journal`, then broadcasts.
    fn send<H: HttpTransport, C: Clock, S: EvmSigner, L: Ledger>(
        &self,
        rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        network: &'static Network,
        call: &UnsignedCall,
        journal: &Journal<'_, L>,
    ) -> impl Future<Output = Result<Sent, SendError>>;

    /// Signs `call` at the `nonce` of a stuck transaction (a fee bump), records the hash in `journal`,
    /// then broadcasts it.
    fn replace<H: HttpTransport, C: Clock, S: EvmSigner, L: Ledger>(
        &self,
        rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        network: &'static Network,
        call: &UnsignedCall,
        nonce: u64,
        journal: &Journal<'_, L>,
    ) -> impl Future<Output = Result<alloy_primitives::B256, SendError>>;
}

/// Where a settle's transaction hash is written before the transaction is broadcast: the payment's
/// ledger entry. A settle cut off after its broadcast is then reconciled from the receipt, never
/// reported as failed nor sent again. Without a key (a wallet deployment, not the payment itself)
/// nothing is written.
pub struct Journal<'a, L> {
    pub ledger: &'a L,
    pub key: Option<&'a str>,
}

impl TxSender for NonceManagedSender {
    async fn send<H: HttpTransport, C: Clock, S: EvmSigner, L: Ledger>(
        &self,
        rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        _network: &'static Network,
        call: &UnsignedCall,
        journal: &Journal<'_, L>,
    ) -> Result<Sent, SendError> {
        NonceManagedSender::send(self, rpc, signer, call, journal).await
    }

    async fn replace<H: HttpTransport, C: Clock, S: EvmSigner, L: Ledger>(
        &self,
        rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        _network: &'static Network,
        call: &UnsignedCall,
        nonce: u64,
        journal: &Journal<'_, L>,
    ) -> Result<alloy_primitives::B256, SendError> {
        NonceManagedSender::replace(self, rpc, signer, call, nonce, journal).await
    }
}

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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("upto session store unavailable: {0}")]
pub struct SessionStoreError(pub String);

/// `upto` sessions: one record per session id, each operation applied atomically (a Durable Object
/// per session in the Worker), the index of sessions the sweeper still looks at, and one record per
/// permit owner ([`crate::upto::OwnerRecord`]). An operation that creates a session indexes it before
/// storing it: a session the sweeper cannot find never exists.
pub trait Sessions {
    fn apply(
        &self,
        id: &str,
        op: crate::upto::SessionOp,
    ) -> impl Future<Output = Result<crate::upto::SessionReply, SessionStoreError>>;
    /// Removes a session from the sweeper's index (a closed one it need not look at again).
    fn unindex(&self, id: &str) -> impl Future<Output = Result<(), SessionStoreError>>;
    /// Up to `limit` ids of the sweeper's index, in order, after `after` (from the start when `None`).
    fn indexed(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, SessionStoreError>>;
    /// Applies `op` to the record of the owner `key` ([`crate::upto::owner_key`]) atomically.
    fn owner(
        &self,
        key: &str,
        op: crate::upto::OwnerOp,
    ) -> impl Future<Output = Result<crate::upto::OwnerReply, SessionStoreError>>;
}

/// The ports a host provides, named once so the facilitator has one type parameter.
pub trait Host {
    type Http: HttpTransport;
    type Clock: Clock;
    type Ledger: Ledger;
    type Sessions: Sessions;
    type Sender: TxSender;
    type Hooks: Hooks;
    type Limiter: RateLimiter;
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
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate limiter unavailable: {0}")]
pub struct LimiterError(pub String);

/// Token buckets per subject (an API key, a client address), shared by every isolate.
pub trait RateLimiter {
    fn take(
        &self,
        subject: &str,
        now_ms: u64,
        per_minute: u32,
    ) -> impl Future<Output = Result<crate::access::Decision, LimiterError>>;
}
