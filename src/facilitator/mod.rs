//! The facilitator: picks the scheme for a normalized request and runs verify, settle and supported.
//! Host-neutral; the worker and the native tests give it their transport and clock.

#[cfg(feature = "starknet")]
mod starknet;
mod svm;
mod upto;

pub use upto::{session_json, SweepError, SweepReport, SWEEP_ERRORS_KEPT, SWEEP_PAGE};

use alloy_primitives::B256;
use serde_json::Value;

use crate::access::Decision;
use crate::chains::evm::rpc;
use crate::chains::evm::signer::LocalEvmSigner;
use crate::chains::jsonrpc::JsonRpcClient;
use crate::config::Config;
use crate::ledger::{
    fingerprint, payment_key, Claim, LedgerEntry, LedgerOp, LedgerReply, SettleRecord, HOLD_MARGIN_MS,
};
use crate::network::{Family, Network};
use crate::policy::PolicyRefusal;
use crate::ports::{Clock, EvmSigner, HookDecision, Hooks, Host, Journal, Ledger, Ports, RateLimiter};
use crate::protocol::model::PaymentRequest;
use crate::protocol::model::{Eip3009Payload, Payload};
use crate::protocol::response::{SupportedKind, SupportedResponse};
use crate::protocol::Reason;
use crate::schemes::evm_tx::{self, EvmContext, TxError};
use crate::schemes::exact_evm::{self, ExactEvmError};
use crate::schemes::upto_evm::UptoError;

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
                self.check_unsettled(&payment_key(request), Reason::EvmNonceAlreadyUsed).await?;
                Ok(Verified { payer: verified.payer.to_checksum(None) })
            }
            Payload::Permit(permit) => self.verify_upto(request, permit).await,
            Payload::Svm(payload) => self.verify_svm(request, payload).await,
            Payload::Starknet(payload) => self.verify_starknet(request, payload).await,
            #[cfg(feature = "starknet")] // [starknet-spec]
            Payload::StarknetSpec(payload) => self.verify_starknet_spec(request, payload).await,
        }
    }

    /// A payment the ledger holds (being settled, or done) is refused at verify, so a resource server
    /// that verifies first never serves it again. A ledger that cannot answer refuses too.
    pub(super) async fn check_unsettled(&self, key: &str, used: Reason) -> Result<(), Failure> {
        let entry = match self.ledger.apply(key, LedgerOp::Read).await {
            Ok(LedgerReply::Entry { entry }) => entry,
            Ok(other) => return Err(Failure::new(Reason::UnexpectedVerifyError, format!("ledger answered {other:?}"))),
            Err(e) => return Err(Failure::new(Reason::UnexpectedVerifyError, e.to_string())),
        };
        match entry {
            None => Ok(()),
            Some(LedgerEntry::InFlight { transaction, .. }) => Err(in_flight(transaction)),
            Some(LedgerEntry::Done { record, .. }) => Err(done(record, used)),
        }
    }

    /// An `exact` payment is settled once through the ledger; an `upto` one is captured into its
    /// session (see [`upto`]).
    async fn settle_once(&self, request: &PaymentRequest) -> Result<Settled, Failure> {
        self.check_pay_to_allowed(request)?;
        self.check_payment_policy(request)?;
        match &request.payload {
            Payload::Eip3009(p) => self.settle_eip3009(request, p).await,
            Payload::Permit(permit) => self.settle_upto(request, permit).await,
            Payload::Svm(payload) => self.settle_svm(request, payload).await,
            Payload::Starknet(payload) => self.settle_starknet(request, payload).await,
            #[cfg(feature = "starknet")] // [starknet-spec]
            Payload::StarknetSpec(payload) => self.settle_starknet_spec(request, payload).await,
        }
    }

    /// An EIP-3009 payment, once, through the ledger under `(chain, asset, from, nonce)`.
    async fn settle_eip3009(&self, request: &PaymentRequest, p: &Eip3009Payload) -> Result<Settled, Failure> {
        let key = payment_key(request);
        let a = &p.authorization;
        let identity =
            format!("{}/{}/{}/{}/{}/{}/{}", a.from, a.to, a.value, a.valid_after, a.valid_before, a.nonce, p.signature);
        let payer = a.from.to_checksum(None);
        let payment = OncePayment {
            key: &key,
            fingerprint: fingerprint(request, &identity),
            payer: &payer,
            used: Reason::EvmNonceAlreadyUsed,
        };
        let send = || self.submit_and_confirm(&key, request);
        let result = match self.claim_payment(&payment).await? {
            Turn::Send => send().await,
            Turn::Resume(sent) => self.resume_evm(&key, request.network, &payer, exact_tx_failure, sent, send).await,
        };
        self.conclude(&payment, result).await
    }

    /// Claims a payment in the ledger for this settle: [`Turn::Send`] when nothing was sent for it,
    /// [`Turn::Resume`] when a settle that let go had sent it. A payment held by another settle, done,
    /// or held by a different payment under the same identity is refused at once.
    pub(super) async fn claim_payment(&self, payment: &OncePayment<'_>) -> Result<Turn, Failure> {
        match self.ledger_claim(payment.key, Some(payment.fingerprint.clone())).await? {
            Claim::Acquired => Ok(Turn::Send),
            Claim::Resume { transaction, replaced, raw, since_ms } => {
                Ok(Turn::Resume(Sent { transaction, replaced, raw, since_ms }))
            }
            Claim::Busy { transaction } => Err(in_flight(transaction)),
            Claim::Done { record } => Err(done(record, payment.used)),
            Claim::Conflict => Err(conflict()),
        }
    }

    /// Records what this settle found and answers it: a success only when this call made it final
    /// (exactly one settle of a payment answers success); a sent transaction whose outcome is not
    /// known yet is let go and answered `settlement_pending`, for the one retry to reconcile.
    pub(super) async fn conclude(
        &self,
        payment: &OncePayment<'_>,
        result: Result<Settled, Failure>,
    ) -> Result<Settled, Failure> {
        match result {
            Ok(settled) => {
                let complete = LedgerOp::Complete { record: self.success_record(&settled) };
                match self.ledger.apply(payment.key, complete).await {
                    Ok(LedgerReply::Completed { first: true }) => Ok(settled),
                    Ok(LedgerReply::Completed { first: false }) => {
                        Err(Failure { transaction: Some(settled.transaction), ..used(payment.used) })
                    }
                    // Mined but not recorded: answering success could let a later settle answer it
                    // again, so this one is pending and the retry records it.
                    _ => {
                        let _ = self.ledger.apply(payment.key, LedgerOp::Release).await;
                        let message = "settled on chain; the ledger did not record it yet";
                        let failure = Failure::new(Reason::SettlementPending, message);
                        Err(Failure { transaction: Some(settled.transaction), ..failure })
                    }
                }
            }
            Err(failure) => {
                self.let_go(payment.key, payment.payer, &failure).await;
                Err(pending(failure))
            }
        }
    }

    /// Records a failed settle: final when a sent transaction failed; otherwise the claim is released
    /// (a sent transaction whose outcome is unknown stays, for the next settle to reconcile).
    async fn let_go(&self, key: &str, payer: &str, failure: &Failure) {
        let op = if failure.transaction.is_some() && !failure.reason.outcome_unknown() {
            LedgerOp::Complete { record: self.failure_record(payer, failure) }
        } else {
            LedgerOp::Release
        };
        // A lost write leaves a hold that runs out.
        let _ = self.ledger.apply(key, op).await;
    }

    /// A facilitator-owned key (an `upto` batch) through the ledger: sent once; a settle that finds it
    /// held waits for the outcome, and a done one answers its recorded outcome (the session records
    /// it; no request is answered twice from it).
    async fn settle_batch_once<F, Fut>(
        &self,
        key: &str,
        network: &'static Network,
        payer: &str,
        send: F,
    ) -> Result<Settled, Failure>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Settled, Failure>>,
    {
        let deadline = self.clock.now_millis() + self.hold_ms();
        let result = loop {
            match self.ledger_claim(key, None).await? {
                Claim::Acquired => break send().await,
                Claim::Resume { transaction, replaced, raw, since_ms } => {
                    let sent = Sent { transaction, replaced, raw, since_ms };
                    break self.resume_evm(key, network, payer, upto_tx_failure, sent, send).await;
                }
                Claim::Done { record } => return record_result(record),
                Claim::Conflict => return Err(conflict()),
                Claim::Busy { transaction } if self.clock.now_millis() >= deadline => {
                    return Err(in_flight(transaction));
                }
                Claim::Busy { .. } => self.clock.sleep_millis(LEDGER_POLL_MS).await,
            }
        };
        if let Ok(settled) = &result {
            let _ = self.ledger.apply(key, LedgerOp::Complete { record: self.success_record(settled) }).await;
        } else if let Err(failure) = &result {
            self.let_go(key, payer, failure).await;
        }
        result
    }

    /// Takes over an EVM payment another settle sent: its receipts decide; nothing is sent again
    /// unless the recorded transactions can never be mined (cut off before the broadcast, their nonce
    /// taken), and then the payment is sent anew under this settle's hold.
    async fn resume_evm<F, Fut>(
        &self,
        key: &str,
        network: &'static Network,
        payer: &str,
        tx_failure: fn(TxError) -> Failure,
        sent: Sent,
        send: F,
    ) -> Result<Settled, Failure>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Settled, Failure>>,
    {
        let transactions = parse_hashes(&sent.replaced, &sent.transaction)?;
        if self.never_mined(network, &transactions, sent.raw.as_deref()).await {
            let abandon = LedgerOp::Abandon { transaction: sent.transaction };
            self.ledger.apply(key, abandon).await.map_err(|e| store_failure(e.to_string()))?;
            return send().await;
        }
        let ctx = self.evm_context(network)?;
        evm_tx::confirm(&ctx, &transactions).await.map_err(tx_failure).map(|mined| Settled {
            transaction: mined.transaction.to_string(),
            payer: payer.to_string(),
            block_number: mined.block_number,
            extensions: None,
        })
    }

    /// How long a settle holds its claim: the longest wait for a receipt, and a margin.
    fn hold_ms(&self) -> u64 {
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
        let op = LedgerOp::Claim { now_ms: self.clock.now_millis(), hold_ms: self.hold_ms(), fingerprint };
        match self.ledger.apply(key, op).await {
            Ok(LedgerReply::Claim(claim)) => Ok(claim),
            Ok(other) => Err(Failure::new(Reason::UnexpectedSettleError, format!("ledger answered {other:?}"))),
            Err(e) => Err(Failure::new(Reason::UnexpectedSettleError, e.to_string())),
        }
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

/// A payment as a settle claims it in the ledger.
pub(super) struct OncePayment<'a> {
    /// Its identity on chain (see [`crate::ledger`]).
    pub key: &'a str,
    /// What exactly this request claims (see [`crate::ledger::fingerprint`]).
    pub fingerprint: String,
    pub payer: &'a str,
    /// What a fresh check answers once the payment is done (the nonce or transaction is used).
    pub used: Reason,
}

/// What a settle that claimed a payment does next.
pub(super) enum Turn {
    Send,
    Resume(Sent),
}

/// What a settle that let go had sent for a payment.
pub(super) struct Sent {
    pub transaction: String,
    /// Earlier transactions that fee bumps replaced.
    pub replaced: Vec<String>,
    /// The signed bytes of `transaction`, to broadcast again.
    pub raw: Option<String>,
    pub since_ms: u64,
}

/// Another settle holds the payment now.
fn in_flight(transaction: Option<String>) -> Failure {
    let failure = Failure::new(Reason::DuplicateSettlement, "another settle of this payment is running");
    Failure { transaction, ..failure }
}

/// A payment that is done: its recorded failure, or, when it settled, what a fresh check of it says.
fn done(record: SettleRecord, used_reason: Reason) -> Failure {
    match record_result(record) {
        Ok(settled) => Failure { transaction: Some(settled.transaction), ..used(used_reason) },
        Err(failure) => failure,
    }
}

fn used(reason: Reason) -> Failure {
    Failure::new(reason, "this payment was settled before: it is used, and its settle answered once")
}

/// A sent transaction whose outcome is not known yet is the standard's `settlement_pending`.
fn pending(failure: Failure) -> Failure {
    if failure.transaction.is_some() && failure.reason.outcome_unknown() {
        return Failure { reason: Reason::SettlementPending, ..failure };
    }
    failure
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
