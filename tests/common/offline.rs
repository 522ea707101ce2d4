//! A facilitator without a chain: every RPC fails, the clock is fixed. For tests of decoding, routing
//! and pure checks.

use std::marker::PhantomData;

use x402_edge::access::MemoryLimiter;
use x402_edge::chains::evm::sender::NonceManagedSender;
use x402_edge::config::Config;
use x402_edge::facilitator::Facilitator;
use x402_edge::facilitator::{Hooks, Host, NoHooks, Ports};
use x402_edge::ledger::MemoryLedger;
use x402_edge::ports::{Clock, HttpTransport, TransportError};

pub struct NoChain;

impl HttpTransport for NoChain {
    async fn post_json(&self, _: &str, _: &[(&str, &str)], _: String) -> Result<String, TransportError> {
        Err(TransportError::Failed("offline".into()))
    }
}

pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now_millis(&self) -> u64 {
        self.0
    }
    async fn sleep_millis(&self, _: u64) {}
}

/// In-memory ports at a fixed time, with `hooks`, reaching a chain (if any) through `H`.
pub struct OfflineHost<K = NoHooks, H = NoChain>(PhantomData<(K, H)>);

impl<K: Hooks, H: HttpTransport> Host for OfflineHost<K, H> {
    type Http = H;
    type Clock = FixedClock;
    type Ledger = MemoryLedger;
    type Sessions = x402_edge::upto::MemorySessions;
    type Sender = NonceManagedSender;
    type Hooks = K;
    type Limiter = MemoryLimiter;
    #[cfg(feature = "starknet")]
    type Sponsor = x402_edge::facilitator::sponsor::InProcessSponsor;
}

/// A facilitator configured by `vars`, at `now_ms`, with `hooks`.
pub fn offline_facilitator<K: Hooks>(vars: &[(&str, &str)], now_ms: u64, hooks: K) -> Facilitator<OfflineHost<K>> {
    facilitator_on(NoChain, vars, now_ms, hooks)
}

/// [`offline_facilitator`] whose chain is what `http` answers (a stand-in node).
pub fn facilitator_on<K: Hooks, H: HttpTransport>(
    http: H,
    vars: &[(&str, &str)],
    now_ms: u64,
    hooks: K,
) -> Facilitator<OfflineHost<K, H>> {
    let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let config = Config::from_env(|n| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()));
    let ports = Ports {
        http,
        clock: FixedClock(now_ms),
        ledger: MemoryLedger::default(),
        sessions: x402_edge::upto::MemorySessions::default(),
        sender: NonceManagedSender::default(),
        hooks,
        limiter: MemoryLimiter::default(),
        #[cfg(feature = "starknet")]
        sponsor: x402_edge::facilitator::sponsor::InProcessSponsor,
    };
    Facilitator::new(config, ports)
}
