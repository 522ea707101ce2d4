//! The facilitator: its configuration and ports, the hooks around verify and settle, and what every
//! payment must pass before any scheme looks at it (the `payTo` allowlist, the payment policy).

use std::sync::Arc;

use super::host::{HookDecision, Hooks, Host, Ports};
use super::outcome::{Failure, Settled, Verified};
use crate::access::{Decision, RateLimiter};
use crate::config::Config;
use crate::ledger::{Ledger, LedgerEntry, LedgerOp, LedgerReply, HOLD_MARGIN_MS};
use crate::network::Network;
use crate::policy::PolicyRefusal;
use crate::ports::Clock;
use crate::protocol::Reason;
use crate::schemes::PaymentRequest;

pub struct Facilitator<P: Host> {
    /// Shared: a host reads it once (the Worker, once per isolate) and hands it to every request's
    /// facilitator.
    pub config: Arc<Config>,
    pub(super) http: P::Http,
    pub(super) clock: P::Clock,
    pub(super) ledger: P::Ledger,
    pub(super) sessions: P::Sessions,
    pub(super) sender: P::Sender,
    pub(super) hooks: P::Hooks,
    pub(super) limiter: P::Limiter,
    #[cfg(feature = "starknet")]
    pub(super) sponsor: P::Sponsor,
}

impl<P: Host> Facilitator<P> {
    pub fn new(config: impl Into<Arc<Config>>, ports: Ports<P>) -> Self {
        let Ports {
            http,
            clock,
            ledger,
            sessions,
            sender,
            hooks,
            limiter,
            #[cfg(feature = "starknet")]
            sponsor,
        } = ports;
        Facilitator {
            config: config.into(),
            http,
            clock,
            ledger,
            sessions,
            sender,
            hooks,
            limiter,
            #[cfg(feature = "starknet")]
            sponsor,
        }
    }

    pub fn clock(&self) -> &P::Clock {
        &self.clock
    }

    pub fn hooks(&self) -> &P::Hooks {
        &self.hooks
    }

    pub fn ledger(&self) -> &P::Ledger {
        &self.ledger
    }

    /// The `upto` session store.
    pub fn sessions(&self) -> &P::Sessions {
        &self.sessions
    }

    /// Takes one request from `subject`'s rate limit. A limiter that cannot answer lets requests
    /// through (availability first); the settlement ledger still guards money.
    pub async fn admit(&self, subject: &str, per_minute: u32) -> Decision {
        let now = self.clock.now_millis();
        self.limiter.take(subject, now, per_minute).await.unwrap_or(Decision::Allowed)
    }

    /// The `payTo` allowlist, when one is configured.
    pub(super) fn check_pay_to_allowed(&self, request: &PaymentRequest) -> Result<(), Failure> {
        let Some(allowed) = &self.config.access.pay_to_allowlist else { return Ok(()) };
        if allowed.allows(request.network.family, &request.requirements.pay_to) {
            return Ok(());
        }
        Err(Failure::new(
            Reason::PayToNotAllowed,
            format!("payTo {} is not on this facilitator's allowlist", request.requirements.pay_to),
        ))
    }

    /// What this facilitator settles at all, before any scheme or chain looks at the payment (see
    /// [`crate::policy`]): a known or allowlisted asset, at least its minimum amount (never zero), and a
    /// payer that is not the recipient.
    pub(super) fn check_payment_policy(&self, request: &PaymentRequest) -> Result<(), Failure> {
        let refused = |refusal: PolicyRefusal| Failure::new(refusal.reason(), refusal.to_string());
        self.config.policy.check(request).map_err(refused)
    }

    /// Whether this facilitator settles on `network` (configured, with a signer).
    pub fn serves(&self, network: &Network) -> bool {
        self.config.serves(network)
    }

    /// Verifies a payment, with the hooks around it.
    pub async fn verify(&self, request: &PaymentRequest) -> Result<Verified, Failure> {
        if let HookDecision::Abort { reason, message } = self.hooks.before_verify(request).await {
            return Err(Failure::aborted(reason, message));
        }
        match self.verify_payment(request).await {
            Ok(verified) => {
                self.hooks.after_verify(request, &verified).await;
                Ok(verified)
            }
            Err(failure) => match self.hooks.on_verify_failure(request, &failure).await {
                Some(recovered) => Ok(recovered),
                None => Err(failure),
            },
        }
    }

    /// Settles a payment at most once, with the hooks around it.
    pub async fn settle(&self, request: &PaymentRequest) -> Result<Settled, Failure> {
        if let HookDecision::Abort { reason, message } = self.hooks.before_settle(request).await {
            let result = Err(Failure::aborted(reason, message));
            self.hooks.after_settle(request, &result).await;
            return result;
        }
        let mut result = self.settle_once(request).await;
        if let Err(failure) = &result {
            if let Some(recovered) = self.hooks.on_settle_failure(request, failure).await {
                result = Ok(recovered);
            }
        }
        self.hooks.after_settle(request, &result).await;
        result
    }

    /// How long a settle holds its claim: the longest wait for a receipt, and a margin.
    pub(super) fn hold_ms(&self) -> u64 {
        let settings = &self.config;
        let secs = settings
            .settings
            .receipt_timeout_secs
            .max(settings.svm.confirm_timeout_secs)
            .max(settings.starknet_confirm_timeout_secs);
        secs * 1000 + HOLD_MARGIN_MS
    }

    /// The ledger entry of a payment identity (see [`crate::ledger::eip3009_key`]).
    pub async fn ledger_entry(&self, key: &str) -> Result<Option<LedgerEntry>, Failure> {
        match self.ledger.apply(key, LedgerOp::Read).await {
            Ok(LedgerReply::Entry { entry }) => Ok(entry),
            Ok(_) => Ok(None),
            Err(e) => Err(Failure::new(Reason::UnexpectedSettleError, e.to_string())),
        }
    }
}
