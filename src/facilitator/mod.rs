//! The facilitator: picks the scheme for a normalized request and runs verify, settle and supported.
//! Host-neutral; the worker and the native tests give it their transport and clock.

#[cfg(feature = "starknet")]
mod starknet;
mod svm;

use alloy_primitives::B256;
use serde_json::Value;

use crate::access::Decision;
use crate::chains::evm::rpc;
use crate::chains::evm::signer::LocalEvmSigner;
use crate::chains::jsonrpc::JsonRpcClient;
use crate::config::Config;
use crate::config::UptoSettleMode;
use crate::ledger::{
    fingerprint, payment_key, Claim, LedgerEntry, LedgerOp, LedgerReply, SettleRecord, STALE_CLAIM_MS,
};
use crate::network::{Family, Network};
use crate::policy::PolicyRefusal;
use crate::ports::{Clock, EvmSigner, HookDecision, Hooks, Host, Journal, Ledger, Ports, RateLimiter, Sessions};
use crate::protocol::model::PaymentRequest;
use crate::protocol::model::{Payload, PermitPayload};
use crate::protocol::response::{SupportedKind, SupportedResponse};
use crate::protocol::Reason;
use crate::schemes::evm_tx::{self, EvmContext, TxError};
use crate::schemes::exact_evm::{self, ExactEvmError};
use crate::schemes::upto_evm::{self, UptoError};
use crate::upto::{BatchOutcome, Refusal, Session, SessionOp, SessionReply, Status as UptoStatus, SweepAction};
use alloy_primitives::U256;

/// Why a payment was refused or not settled: one reason code and a message for humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: Reason,
    pub message: String,
    /// The transaction a failed settle concerns, when one was sent.
    pub transaction: Option<String>,
    /// A hook's own reason code, answered verbatim instead of `reason`'s.
    pub hook_reason: Option<String>,
    /// The `upto` session a refusal concerns.
    pub session_id: Option<String>,
}

impl Failure {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Failure { reason, message: message.into(), transaction: None, hook_reason: None, session_id: None }
    }

    /// A payment a before-hook refused.
    pub fn aborted(reason: String, message: String) -> Self {
        Failure { hook_reason: Some(reason), ..Failure::new(Reason::InvalidPayload, message) }
    }

    /// The Cronos dialect's text for this failure (a hook's reason verbatim).
    pub fn cronos_text(&self) -> String {
        self.hook_reason.clone().unwrap_or_else(|| self.reason.cronos_text().to_string())
    }

    /// The reason code to answer with, for a response of `version`.
    pub fn code(&self, version: crate::protocol::Version) -> String {
        self.hook_reason.clone().unwrap_or_else(|| self.reason.code(version).to_string())
    }
}

impl From<UptoError> for Failure {
    fn from(e: UptoError) -> Self {
        Failure { transaction: e.transaction().map(|h| h.to_string()), ..Failure::new(e.reason(), e.to_string()) }
    }
}

impl From<ExactEvmError> for Failure {
    fn from(e: ExactEvmError) -> Self {
        Failure { transaction: e.transaction().map(|h| h.to_string()), ..Failure::new(e.reason(), e.to_string()) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub payer: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    pub transaction: String,
    pub payer: String,
    pub block_number: Option<u64>,
    /// The response's `extensions` (an `upto` capture reports its session there).
    pub extensions: Option<Value>,
}

/// What one pass of the sweeper did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub sessions: usize,
    pub settled: usize,
    pub failed: usize,
    /// Batches sent whose receipt did not come in time: reconciled by a later pass.
    pub in_flight: usize,
    pub closed: usize,
}

/// A transaction as the chain sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    Pending,
    Success { block_number: Option<u64> },
    Reverted { block_number: Option<u64> },
    Unknown,
}

pub struct Facilitator<P: Host> {
    pub config: Config,
    http: P::Http,
    clock: P::Clock,
    ledger: P::Ledger,
    sessions: P::Sessions,
    sender: P::Sender,
    hooks: P::Hooks,
    limiter: P::Limiter,
}

/// How often a settle that found its payment in flight looks at the ledger again.
const LEDGER_POLL_MS: u64 = 250;

impl<P: Host> Facilitator<P> {
    pub fn new(config: Config, ports: Ports<P>) -> Self {
        let Ports { http, clock, ledger, sessions, sender, hooks, limiter } = ports;
        Facilitator { config, http, clock, ledger, sessions, sender, hooks, limiter }
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

    /// Takes one request from `subject`'s rate limit. A limiter that cannot answer lets requests
    /// through (availability first); the settlement ledger still guards money.
    pub async fn admit(&self, subject: &str, per_minute: u32) -> Decision {
        let now = self.clock.now_millis();
        self.limiter.take(subject, now, per_minute).await.unwrap_or(Decision::Allowed)
    }

    /// The `payTo` allowlist, when one is configured.
    fn check_pay_to_allowed(&self, request: &PaymentRequest) -> Result<(), Failure> {
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
    fn check_payment_policy(&self, request: &PaymentRequest) -> Result<(), Failure> {
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

    async fn verify_payment(&self, request: &PaymentRequest) -> Result<Verified, Failure> {
        self.check_pay_to_allowed(request)?;
        self.check_payment_policy(request)?;
        match &request.payload {
            Payload::Eip3009(_) => {
                let ctx = self.evm_context(request.network)?;
                let verified = exact_evm::verify(&ctx, request).await?;
                Ok(Verified { payer: verified.payer.to_checksum(None) })
            }
            Payload::Permit(permit) => {
                let verified = self.verify_permit(request, permit)?;
                let check = SessionOp::Check { amount: request.requirements.amount, pay_to: verified.pay_to };
                match self.session_op(&permit.session_id, check).await? {
                    SessionReply::Refused { refusal, .. } => Err(refused(refusal, &permit.session_id)),
                    _ => Ok(Verified { payer: permit.owner.to_checksum(None) }),
                }
            }
            Payload::Svm(payload) => self.verify_svm(request, payload).await,
            Payload::Starknet(payload) => self.verify_starknet(request, payload).await,
        }
    }

    /// An `exact` payment is settled once through the ledger; an `upto` one is captured into its
    /// session (or, with `UPTO_SETTLE_MODE=immediate`, captured and settled at once).
    async fn settle_once(&self, request: &PaymentRequest) -> Result<Settled, Failure> {
        self.check_pay_to_allowed(request)?;
        self.check_payment_policy(request)?;
        let permit = match &request.payload {
            Payload::Eip3009(p) => {
                let key = payment_key(request);
                let a = &p.authorization;
                let identity = format!(
                    "{}/{}/{}/{}/{}/{}/{}",
                    a.from, a.to, a.value, a.valid_after, a.valid_before, a.nonce, p.signature
                );
                let claim = Some(fingerprint(request, &identity));
                let payer = a.from.to_checksum(None);
                let send = || self.submit_and_confirm(&key, request);
                return self.settle_idempotently(&key, claim, request.network, &payer, exact_tx_failure, send).await;
            }
            Payload::Permit(permit) => permit,
            Payload::Svm(payload) => return self.settle_svm(request, payload).await,
            Payload::Starknet(payload) => return self.settle_starknet(request, payload).await,
        };
        let session = self.capture(request, permit).await?;
        if self.config.upto.mode == UptoSettleMode::Capture {
            return Ok(captured(&session, String::new()));
        }
        let now_ms = self.clock.now_millis();
        let (session, batch) = self.settle_session(&permit.session_id, now_ms, "immediate", false).await?;
        match batch {
            Some(Ok(settled)) => Ok(captured(&session, settled.transaction)),
            Some(Err(failure)) => Err(Failure { session_id: Some(session.id.clone()), ..failure }),
            None => Ok(captured(&session, String::new())),
        }
    }

    /// The ledger entry under `key` decides whether `send` runs, a settle already running is waited
    /// for, or the first outcome is returned. A sent transaction is reconciled from its receipts.
    async fn settle_idempotently<F, Fut>(
        &self,
        key: &str,
        fingerprint: Option<String>,
        network: &'static Network,
        payer: &str,
        tx_failure: fn(TxError) -> Failure,
        send: F,
    ) -> Result<Settled, Failure>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Settled, Failure>>,
    {
        // Long enough for a claim whose owner died before sending to go stale and be taken over.
        let wait_ms = self.config.settings.receipt_timeout_secs * 1000 + STALE_CLAIM_MS;
        let deadline = self.clock.now_millis() + wait_ms;
        loop {
            match self.ledger_claim(key, fingerprint.clone()).await? {
                Claim::Acquired => return self.settle_claimed(key, payer, send).await,
                Claim::Conflict => return Err(conflict()),
                Claim::Done { record } => return record_result(record),
                // Sent (by this isolate or one that died since): the receipt decides, nothing is re-sent,
                // unless the transaction can never be mined (cut off before its broadcast).
                Claim::InFlight { transaction: Some(latest), replaced, raw, .. } => {
                    let transactions = parse_hashes(&replaced, &latest)?;
                    if self.never_mined(network, &transactions, raw.as_deref()).await {
                        let _ = self.ledger.apply(key, LedgerOp::Abandon { transaction: latest }).await;
                        continue;
                    }
                    return self.reconcile(key, network, payer, tx_failure, &transactions).await;
                }
                Claim::InFlight { transaction, .. } if self.clock.now_millis() >= deadline => {
                    let message = "another settle of this payment is still running; retry to get its outcome";
                    return Err(Failure { transaction, ..Failure::new(Reason::DuplicateSettlement, message) });
                }
                Claim::InFlight { .. } => self.clock.sleep_millis(LEDGER_POLL_MS).await,
            }
        }
    }

    /// The pure checks of an `upto` payment.
    fn verify_permit(&self, request: &PaymentRequest, permit: &PermitPayload) -> Result<upto_evm::Verified, Failure> {
        let spenders: Vec<_> = self.config.evm_signers.iter().map(|s| s.address()).collect();
        Ok(upto_evm::verify(request, permit, &spenders, self.clock.now_secs())?)
    }

    /// Verifies an `upto` payment and captures its amount into its session atomically (opening the
    /// session on its first payment). No chain call.
    async fn capture(&self, request: &PaymentRequest, permit: &PermitPayload) -> Result<Session, Failure> {
        let verified = self.verify_permit(request, permit)?;
        let now_ms = self.clock.now_millis();
        let opening = Session {
            id: permit.session_id.clone(),
            network: request.network.caip2.to_string(),
            asset: verified.asset,
            owner: permit.owner,
            spender: permit.spender,
            pay_to: verified.pay_to,
            cap: permit.cap,
            deadline: u64::try_from(permit.deadline).unwrap_or(u64::MAX),
            permit_nonce: permit.nonce,
            signature: permit.signature.clone(),
            name: verified.name,
            version: verified.version,
            pending: U256::ZERO,
            settled: U256::ZERO,
            status: UptoStatus::Open,
            created_ms: now_ms,
            last_activity_ms: now_ms,
            batches: 0,
            settling: None,
            last_settlement: None,
        };
        let op = SessionOp::Capture { amount: request.requirements.amount, now_ms, opening: Box::new(opening) };
        match self.session_op(&permit.session_id, op).await? {
            SessionReply::Session { session } => Ok(*session),
            SessionReply::Refused { refusal, .. } => Err(refused(refusal, &permit.session_id)),
            other => Err(store_failure(format!("session store answered {other:?}"))),
        }
    }

    /// An `upto` session's state.
    pub async fn session(&self, id: &str) -> Result<Option<Session>, Failure> {
        match self.session_op(id, SessionOp::Read).await? {
            SessionReply::Session { session } => Ok(Some(*session)),
            _ => Ok(None),
        }
    }

    /// Settles a session's pending spend now and closes it (`POST /upto/sessions/{id}/close`).
    pub async fn close_session(&self, id: &str) -> Result<(Session, Option<Result<Settled, Failure>>), Failure> {
        self.settle_session(id, self.clock.now_millis(), "manual", true).await
    }

    /// One pass of the cron sweeper as of `now_ms` (the cron event's scheduled time): settles or
    /// closes each indexed session as [`crate::upto::due`] decides.
    pub async fn sweep(&self, now_ms: u64) -> Result<SweepReport, Failure> {
        let ids = self.sessions.indexed().await.map_err(|e| store_failure(e.to_string()))?;
        let mut report = SweepReport { sessions: ids.len(), ..SweepReport::default() };
        for id in ids {
            // An id without a session (its creation failed after indexing) is left alone: removing it
            // could race a creation in flight.
            let Some(session) = self.session(&id).await? else { continue };
            match crate::upto::due(&session, now_ms, &self.config.upto.thresholds) {
                SweepAction::Settle { reason, close_after } => {
                    match self.settle_session(&id, now_ms, reason, close_after).await?.1 {
                        Some(Ok(_)) => report.settled += 1,
                        Some(Err(f)) if f.reason.outcome_unknown() && f.transaction.is_some() => report.in_flight += 1,
                        Some(Err(_)) => report.failed += 1,
                        None => {}
                    }
                }
                SweepAction::Close => {
                    self.session_op(&id, SessionOp::Close { now_ms }).await?;
                    let _ = self.sessions.unindex(&id).await;
                    report.closed += 1;
                }
                SweepAction::Forget => {
                    let _ = self.sessions.unindex(&id).await;
                }
                SweepAction::Nothing => {}
            }
        }
        Ok(report)
    }

    /// Begins a batch of the session's pending spend, settles it through the ledger (so a batch
    /// retried after a crash is reconciled, not sent again) and records its outcome. Answers the
    /// session after, and the batch's result when there was one.
    async fn settle_session(
        &self,
        id: &str,
        now_ms: u64,
        reason: &str,
        close_after: bool,
    ) -> Result<(Session, Option<Result<Settled, Failure>>), Failure> {
        let thresholds = self.config.upto.thresholds;
        let begin = SessionOp::Begin {
            now_ms,
            reason: reason.to_string(),
            close_after,
            stale_after_ms: thresholds.settling_timeout_ms,
        };
        let (batch, session) = match self.session_op(id, begin).await? {
            SessionReply::Batch { batch: Some(batch), session } => (batch, *session),
            SessionReply::Batch { batch: None, session } => return Ok((*session, None)),
            _ => return Err(refused(Refusal::Unknown, id)),
        };
        let result = self.settle_batch(&session, &batch).await;
        let outcome = match &result {
            Ok(settled) => BatchOutcome::Settled { transaction: settled.transaction.clone() },
            Err(f) if f.transaction.is_some() && f.reason.outcome_unknown() => BatchOutcome::Unknown,
            Err(f) => {
                BatchOutcome::Failed { error: f.code(crate::protocol::Version::V2), transaction: f.transaction.clone() }
            }
        };
        let finish = SessionOp::Finish {
            seq: batch.seq,
            now_ms,
            outcome,
            deadline_buffer_secs: thresholds.deadline_buffer_secs,
        };
        let session = match self.session_op(id, finish).await? {
            SessionReply::Session { session } => *session,
            _ => session,
        };
        if session.status == UptoStatus::Closed {
            let _ = self.sessions.unindex(id).await;
        }
        Ok((session, Some(result)))
    }

    /// One batch on chain, made idempotent by the ledger under `upto/{session}/{seq}`.
    async fn settle_batch(&self, session: &Session, batch: &crate::upto::Batch) -> Result<Settled, Failure> {
        let key = format!("upto/{}/{}", session.id, batch.seq);
        let network = crate::network::find(&session.network)
            .ok_or_else(|| Failure::new(Reason::InvalidNetwork, "the session's network is unknown"))?;
        let payer = session.owner.to_checksum(None);
        let send = || async {
            let ctx = self.evm_context(network)?;
            let signer = self.config.evm_signers.iter().find(|s| s.address() == session.spender);
            let signer = signer.ok_or_else(|| Failure::from(UptoError::SpenderNotFacilitator(session.spender)))?;
            let journal = Journal { ledger: &self.ledger, key: Some(&key) };
            let mined = upto_evm::settle_batch(&ctx, signer, &self.sender, &journal, session, batch.amount).await?;
            let transaction = mined.transaction.to_string();
            Ok(Settled { transaction, payer: payer.clone(), block_number: mined.block_number, extensions: None })
        };
        // The key is the facilitator's own (a batch of a session): no request to tell apart.
        self.settle_idempotently(&key, None, network, &payer, upto_tx_failure, send).await
    }

    async fn session_op(&self, id: &str, op: SessionOp) -> Result<SessionReply, Failure> {
        self.sessions.apply(id, op).await.map_err(|e| store_failure(e.to_string()))
    }

    /// The ledger entry of a payment identity (see [`crate::ledger::eip3009_key`]).
    pub async fn ledger_entry(&self, key: &str) -> Result<Option<LedgerEntry>, Failure> {
        match self.ledger.apply(key, LedgerOp::Read).await {
            Ok(LedgerReply::Entry(entry)) => Ok(entry),
            Ok(_) => Ok(None),
            Err(e) => Err(Failure::new(Reason::UnexpectedSettleError, e.to_string())),
        }
    }

    /// What the chain says of a transaction: mined (and how), pending, or unknown.
    pub async fn transaction_status(&self, network: &'static Network, hash: B256) -> Result<TxStatus, Failure> {
        let config = self.config.evm(network).ok_or_else(|| {
            Failure::new(Reason::InvalidNetwork, format!("network `{}` is not served here", network.name))
        })?;
        let rpc = JsonRpcClient::new(&self.http, &self.clock, &config.rpc_urls);
        let calls = [rpc::transaction_receipt(hash), rpc::transaction_by_hash(hash)];
        let fail = |e: crate::chains::jsonrpc::RpcError| Failure::new(Reason::UnexpectedSettleError, e.to_string());
        let mut results = rpc.batch(&calls).await.map_err(fail)?.into_iter();
        let receipt = results.next().unwrap_or(Ok(Value::Null)).map_err(fail)?;
        let transaction = results.next().unwrap_or(Ok(Value::Null)).map_err(fail)?;
        Ok(match rpc::receipt(&receipt).map_err(fail)? {
            Some(r) if r.success => TxStatus::Success { block_number: r.block_number },
            Some(r) => TxStatus::Reverted { block_number: r.block_number },
            None if transaction.is_null() => TxStatus::Unknown,
            None => TxStatus::Pending,
        })
    }

    /// Claims `key` for the request whose [`crate::ledger::fingerprint`] is `fingerprint` (a key held
    /// by a different payment answers [`Claim::Conflict`], see [`conflict`]).
    async fn ledger_claim(&self, key: &str, fingerprint: Option<String>) -> Result<Claim, Failure> {
        // Without the ledger nothing is sent: a settle that cannot be made idempotent is refused.
        let op = LedgerOp::Claim { now_ms: self.clock.now_millis(), fingerprint };
        match self.ledger.apply(key, op).await {
            Ok(LedgerReply::Claim(claim)) => Ok(claim),
            Ok(other) => Err(Failure::new(Reason::UnexpectedSettleError, format!("ledger answered {other:?}"))),
            Err(e) => Err(Failure::new(Reason::UnexpectedSettleError, e.to_string())),
        }
    }

    async fn settle_claimed<F, Fut>(&self, key: &str, payer: &str, send: F) -> Result<Settled, Failure>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Settled, Failure>>,
    {
        let result = send().await;
        let op = match &result {
            Ok(settled) => Some(LedgerOp::Complete { record: self.success_record(settled) }),
            // Sent but not seen mined: stays in flight with its transaction, to be reconciled.
            Err(f) if f.reason.outcome_unknown() && f.transaction.is_some() => None,
            Err(f) if f.transaction.is_some() => Some(LedgerOp::Complete { record: self.failure_record(payer, f) }),
            Err(_) => Some(LedgerOp::Release),
        };
        if let Some(op) = op {
            // The outcome is returned either way; a lost write leaves a claim that goes stale.
            let _ = self.ledger.apply(key, op).await;
        }
        result
    }

    async fn submit_and_confirm(&self, key: &str, request: &PaymentRequest) -> Result<Settled, Failure> {
        let ctx = self.evm_context(request.network)?;
        let signer = self.signer_for(key).ok_or_else(|| Failure::from(ExactEvmError::NoSigner))?;
        let journal = Journal { ledger: &self.ledger, key: Some(key) };
        let submitted =
            exact_evm::submit(&ctx, signer, &self.sender, &journal, request).await.map_err(settle_failure)?;
        let settlement = exact_evm::confirm_with_fee_bumps(&ctx, signer, &self.sender, &journal, &submitted)
            .await
            .map_err(settle_failure)?;
        Ok(Settled {
            transaction: settlement.transaction.to_string(),
            payer: settlement.payer.to_checksum(None),
            block_number: settlement.block_number,
            extensions: None,
        })
    }

    /// Whether the recorded transactions can never be mined (see [`evm_tx::is_dead`]); `false` when
    /// that cannot be told (no signed bytes recorded, the chain unreachable).
    async fn never_mined(&self, network: &'static Network, transactions: &[B256], raw: Option<&str>) -> bool {
        let Some(raw) = raw.and_then(|r| r.strip_prefix("0x")).and_then(|r| hex::decode(r).ok()) else {
            return false;
        };
        match self.evm_context(network) {
            Ok(ctx) => evm_tx::is_dead(&ctx, transactions, &raw).await,
            Err(_) => false,
        }
    }

    /// Looks up the receipts of the transactions an earlier settle sent (the latest, and the ones its
    /// fee bumps replaced), and records the outcome.
    async fn reconcile(
        &self,
        key: &str,
        network: &'static Network,
        payer: &str,
        tx_failure: fn(TxError) -> Failure,
        transactions: &[B256],
    ) -> Result<Settled, Failure> {
        let ctx = self.evm_context(network)?;
        let result = evm_tx::confirm(&ctx, transactions).await.map_err(tx_failure).map(|mined| Settled {
            transaction: mined.transaction.to_string(),
            payer: payer.to_string(),
            block_number: mined.block_number,
            extensions: None,
        });
        self.record_outcome(key, payer, result).await
    }

    /// Records what reconciling found (an outcome still unknown stays in flight) and answers it.
    async fn record_outcome(
        &self,
        key: &str,
        payer: &str,
        result: Result<Settled, Failure>,
    ) -> Result<Settled, Failure> {
        let record = match &result {
            Ok(settled) => Some(self.success_record(settled)),
            Err(f) if f.reason.outcome_unknown() => None,
            Err(f) => Some(self.failure_record(payer, f)),
        };
        if let Some(record) = record {
            let _ = self.ledger.apply(key, LedgerOp::Complete { record }).await;
        }
        result
    }

    fn success_record(&self, settled: &Settled) -> SettleRecord {
        SettleRecord {
            success: true,
            reason: None,
            message: None,
            transaction: Some(settled.transaction.clone()),
            payer: settled.payer.clone(),
            block_number: settled.block_number,
            at_ms: self.clock.now_millis(),
        }
    }

    fn failure_record(&self, payer: &str, failure: &Failure) -> SettleRecord {
        SettleRecord {
            success: false,
            reason: Some(failure.reason.code(crate::protocol::Version::V2).to_string()),
            message: Some(failure.message.clone()),
            transaction: failure.transaction.clone(),
            payer: payer.to_string(),
            block_number: None,
            at_ms: self.clock.now_millis(),
        }
    }

    /// One kind per (version, scheme, network) served; signers grouped by CAIP family.
    pub fn supported(&self) -> SupportedResponse {
        let mut response = SupportedResponse::default();
        let evm: Vec<&Network> =
            self.config.evm_networks.iter().map(|c| c.network).filter(|n| self.serves(n)).collect();
        for network in &evm {
            response.kinds.push(kind(2, "exact", network.caip2));
        }
        for network in evm.iter().filter(|n| n.v1) {
            response.kinds.push(kind(1, "exact", network.name));
        }
        // The spender a daydreams upto client signs for is `signers["eip155:*"][0]`.
        for network in &evm {
            response.kinds.push(kind(2, "upto", network.caip2));
        }
        if !evm.is_empty() {
            let addresses = self.config.evm_signers.iter().map(|s| s.address().to_checksum(None)).collect();
            response.signers.insert(Family::Evm.caip_family().to_string(), addresses);
        }
        self.supported_svm(&mut response);
        self.supported_starknet(&mut response);
        response
    }

    /// The account that settles a payment: spread over the signers by the payment's identity, so each
    /// signer's Durable Object (and nonce sequence) carries a share of the load.
    fn signer_for(&self, key: &str) -> Option<&LocalEvmSigner> {
        let signers = &self.config.evm_signers;
        let hash = alloy_primitives::keccak256(key.as_bytes());
        let index = u64::from_be_bytes(hash[..8].try_into().unwrap_or_default()) as usize % signers.len().max(1);
        signers.get(index)
    }

    fn evm_context(&self, network: &'static Network) -> Result<EvmContext<'_, P::Http, P::Clock>, Failure> {
        let config = self.config.evm(network).ok_or_else(|| {
            Failure::new(Reason::InvalidNetwork, format!("network `{}` is not served here", network.name))
        })?;
        Ok(EvmContext {
            network: config.network,
            rpc: JsonRpcClient::new(&self.http, &self.clock, &config.rpc_urls),
            clock: &self.clock,
            settings: self.config.settings,
            gas: config.gas,
            facilitator: self.config.evm_signers.first().map(|s| s.address()),
            allowed_factories: &self.config.eip6492_factories,
        })
    }
}

/// Built without the `starknet` feature: Starknet payments are refused, and nothing is advertised.
#[cfg(not(feature = "starknet"))]
impl<P: Host> Facilitator<P> {
    async fn verify_starknet(
        &self,
        _: &PaymentRequest,
        _: &crate::protocol::model::StarknetPayload,
    ) -> Result<Verified, Failure> {
        Err(Failure::new(Reason::InvalidNetwork, "this build serves no Starknet network"))
    }

    async fn settle_starknet(
        &self,
        _: &PaymentRequest,
        _: &crate::protocol::model::StarknetPayload,
    ) -> Result<Settled, Failure> {
        Err(Failure::new(Reason::InvalidNetwork, "this build serves no Starknet network"))
    }

    fn supported_starknet(&self, _: &mut SupportedResponse) {}
}

/// In a settle, a failing chain read is a settle error (any scheme's error).
fn settle_failure(e: impl Into<Failure>) -> Failure {
    let mut failure = e.into();
    if failure.reason == Reason::UnexpectedVerifyError {
        failure.reason = Reason::UnexpectedSettleError;
    }
    failure
}

/// The hashes a ledger entry records, earliest first.
fn parse_hashes(replaced: &[String], latest: &str) -> Result<Vec<B256>, Failure> {
    let malformed = || Failure::new(Reason::UnexpectedSettleError, "ledger holds a malformed hash");
    replaced.iter().map(String::as_str).chain([latest]).map(|h| h.parse().map_err(|_| malformed())).collect()
}

/// The response a recorded outcome stands for.
fn record_result(record: SettleRecord) -> Result<Settled, Failure> {
    if record.success {
        return Ok(Settled {
            transaction: record.transaction.unwrap_or_default(),
            payer: record.payer,
            block_number: record.block_number,
            extensions: None,
        });
    }
    let reason = record.reason.as_deref().and_then(Reason::from_v2_code).unwrap_or(Reason::UnexpectedSettleError);
    Err(Failure { transaction: record.transaction, ..Failure::new(reason, record.message.unwrap_or_default()) })
}

fn kind(version: u8, scheme: &str, network: &str) -> SupportedKind {
    SupportedKind { x402_version: version, scheme: scheme.into(), network: network.into(), extra: None }
}

/// An `exact` transaction failure, as a settle answers it.
fn exact_tx_failure(e: TxError) -> Failure {
    settle_failure(ExactEvmError::from(e))
}

fn upto_tx_failure(e: TxError) -> Failure {
    Failure::from(UptoError::from(e))
}

/// A different payment holds the key: its outcome is not this request's to answer.
fn conflict() -> Failure {
    Failure::new(
        Reason::DuplicateSettlement,
        "a different payment under the same identity (payer and nonce, or transaction) was settled or is being \
         settled; its outcome is not this payment's",
    )
}

fn store_failure(message: String) -> Failure {
    Failure::new(Reason::UnexpectedSettleError, message)
}

/// A session's refusal of a payment, with the session it concerns.
fn refused(refusal: Refusal, session_id: &str) -> Failure {
    let (reason, message) = match refusal {
        Refusal::CapExhausted => (Reason::UptoCapExhausted, "Upto cap exhausted, reauthorize with higher max"),
        Refusal::Closed => (Reason::UptoSessionClosed, "Session closed. Reauthorize a new upto cap"),
        Refusal::Settling => (Reason::UptoSettlingInProgress, "Session is settling a batch, retry shortly"),
        Refusal::Mismatch => (Reason::UptoPayload, "This session pays another recipient or asset; sign a new permit"),
        Refusal::Unknown => (Reason::UptoUnknownSession, "No such upto session"),
    };
    Failure { session_id: Some(session_id.to_string()), ..Failure::new(reason, message) }
}

/// A successful `upto` settle: the session's state in `extensions.upto`.
fn captured(session: &Session, transaction: String) -> Settled {
    Settled {
        transaction,
        payer: session.owner.to_checksum(None),
        block_number: None,
        extensions: Some(serde_json::json!({"upto": session_json(session)})),
    }
}

/// A session as the API shows it.
pub fn session_json(session: &Session) -> Value {
    serde_json::json!({
        "sessionId": session.id,
        "status": session.status,
        "network": session.network,
        "asset": session.asset.to_checksum(None),
        "owner": session.owner.to_checksum(None),
        "spender": session.spender.to_checksum(None),
        "payTo": session.pay_to.to_checksum(None),
        "cap": session.cap.to_string(),
        "pending": session.pending.to_string(),
        "settled": session.settled.to_string(),
        "remaining": session.remaining().to_string(),
        "deadline": session.deadline,
        "lastActivityMs": session.last_activity_ms,
        "lastSettlement": session.last_settlement.as_ref().map(|l| serde_json::json!({
            "atMs": l.at_ms, "reason": l.reason, "success": l.success, "amount": l.amount.to_string(),
            "transaction": l.transaction, "error": l.error,
        })),
    })
}
