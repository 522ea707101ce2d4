//! The bottom layer: what every host provides, as traits (the HTTP transport that carries JSON-RPC, the
//! clock, the signers). It imports nothing of this crate. The stores live beside the state machines they
//! serve (`ledger::Ledger`, `upto::Sessions`, `access::RateLimiter`), the transaction sender with the EVM
//! chain (`chains::evm::sender::TxSender`), and the hooks and the `Host` bundle with the facilitator.

use std::future::Future;

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
