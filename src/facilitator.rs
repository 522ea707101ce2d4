//! The facilitator: picks the scheme for a normalized request and runs verify, settle and supported.
//! Host-neutral; the worker and the native tests give it their transport and clock.

use std::collections::BTreeMap;

use alloy_primitives::B256;
use serde_json::Value;

use crate::access::Decision;
use crate::chains::evm::rpc;
use crate::chains::evm::signer::LocalEvmSigner;
use crate::chains::jsonrpc::JsonRpcClient;
use crate::config::Config;
use crate::ledger::{payment_key, Claim, LedgerEntry, LedgerOp, LedgerReply, SettleRecord, STALE_CLAIM_MS};
use crate::network::{Family, Network};
use crate::ports::{Clock, EvmSigner, HookDecision, Hooks, Host, Journal, Ledger, Ports, RateLimiter};
use crate::protocol::model::PaymentRequest;
use crate::protocol::normalize::parse_evm_address;
use crate::protocol::response::{SupportedKind, SupportedResponse};
use crate::protocol::Reason;
use crate::schemes::exact_evm::{self, EvmContext, ExactEvmError};

/// Why a payment was refused or not settled: one reason code and a message for humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: Reason,
    pub message: String,
    /// The transaction a failed settle concerns, when one was sent.
    pub transaction: Option<String>,
    /// A hook's own reason code, answered verbatim instead of `reason`'s.
    pub hook_reason: Option<String>,
}

impl Failure {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Failure { reason, message: message.into(), transaction: None, hook_reason: None }
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

impl From<ExactEvmError> for Failure {
    fn from(e: ExactEvmError) -> Self {
        Failure { transaction: e.transaction().map(|h| h.to_string()), ..Failure::new(e.reason(), e.to_string()) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub payer: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub transaction: String,
    pub payer: String,
    pub block_number: Option<u64>,
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
    sender: P::Sender,
    hooks: P::Hooks,
    limiter: P::Limiter,
}

/// How often a settle that found its payment in flight looks at the ledger again.
const LEDGER_POLL_MS: u64 = 250;

impl<P: Host> Facilitator<P> {
    pub fn new(config: Config, ports: Ports<P>) -> Self {
        let Ports { http, clock, ledger, sender, hooks, limiter } = ports;
        Facilitator { config, http, clock, ledger, sender, hooks, limiter }
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
        match parse_evm_address(&request.requirements.pay_to) {
            Some(pay_to) if allowed.contains(&pay_to) => Ok(()),
            _ => Err(Failure::new(
                Reason::PayToNotAllowed,
                format!("payTo {} is not on this facilitator's allowlist", request.requirements.pay_to),
            )),
        }
    }

    /// Whether this facilitator settles on `network` (configured, with a signer).
    pub fn serves(&self, network: &Network) -> bool {
        self.config.evm(network).is_some()
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
        let ctx = self.evm_context(request)?;
        let verified = exact_evm::verify(&ctx, request).await?;
        Ok(Verified { payer: verified.payer.to_checksum(None) })
    }

    /// The ledger entry of the payment's identity decides whether this call sends, waits for the
    /// settle already running, or returns the first outcome.
    async fn settle_once(&self, request: &PaymentRequest) -> Result<Settled, Failure> {
        self.check_pay_to_allowed(request)?;
        let key = payment_key(request);
        // Long enough for a claim whose owner died before sending to go stale and be taken over.
        let wait_ms = self.config.settings.receipt_timeout_secs * 1000 + STALE_CLAIM_MS;
        let deadline = self.clock.now_millis() + wait_ms;
        loop {
            match self.ledger_claim(&key).await? {
                Claim::Acquired => return self.settle_claimed(&key, request).await,
                Claim::Done { record } => return record_result(record),
                // Sent (by this isolate or one that died since): the receipt decides, nothing is re-sent.
                Claim::InFlight { transaction: Some(latest), replaced, .. } => {
                    return self.reconcile(&key, request, &replaced, &latest).await
                }
                Claim::InFlight { transaction, .. } if self.clock.now_millis() >= deadline => {
                    let message = "another settle of this payment is still running; retry to get its outcome";
                    return Err(Failure { transaction, ..Failure::new(Reason::DuplicateSettlement, message) });
                }
                Claim::InFlight { .. } => self.clock.sleep_millis(LEDGER_POLL_MS).await,
            }
        }
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

    async fn ledger_claim(&self, key: &str) -> Result<Claim, Failure> {
        // Without the ledger nothing is sent: a settle that cannot be made idempotent is refused.
        match self.ledger.apply(key, LedgerOp::Claim { now_ms: self.clock.now_millis() }).await {
            Ok(LedgerReply::Claim(claim)) => Ok(claim),
            Ok(other) => Err(Failure::new(Reason::UnexpectedSettleError, format!("ledger answered {other:?}"))),
            Err(e) => Err(Failure::new(Reason::UnexpectedSettleError, e.to_string())),
        }
    }

    async fn settle_claimed(&self, key: &str, request: &PaymentRequest) -> Result<Settled, Failure> {
        let result = self.submit_and_confirm(key, request).await;
        let op = match &result {
            Ok(settled) => Some(LedgerOp::Complete { record: self.success_record(settled) }),
            // Sent but not seen mined: stays in flight with its transaction, to be reconciled.
            Err(f) if f.reason == Reason::UnexpectedSettleError && f.transaction.is_some() => None,
            Err(f) if f.transaction.is_some() => Some(LedgerOp::Complete { record: self.failure_record(request, f) }),
            Err(_) => Some(LedgerOp::Release),
        };
        if let Some(op) = op {
            // The outcome is returned either way; a lost write leaves a claim that goes stale.
            let _ = self.ledger.apply(key, op).await;
        }
        result
    }

    async fn submit_and_confirm(&self, key: &str, request: &PaymentRequest) -> Result<Settled, Failure> {
        let ctx = self.evm_context(request)?;
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
        })
    }

    /// Looks up the receipts of the transactions an earlier settle sent (`latest`, and the ones its
    /// fee bumps replaced), and records the outcome.
    async fn reconcile(
        &self,
        key: &str,
        request: &PaymentRequest,
        replaced: &[String],
        latest: &str,
    ) -> Result<Settled, Failure> {
        let ctx = self.evm_context(request)?;
        let malformed = || Failure::new(Reason::UnexpectedSettleError, "ledger holds a malformed hash");
        let transactions: Vec<B256> = replaced
            .iter()
            .map(String::as_str)
            .chain([latest])
            .map(|h| h.parse().map_err(|_| malformed()))
            .collect::<Result<_, _>>()?;
        let payer = match &request.payload {
            crate::protocol::model::Payload::Eip3009(p) => p.authorization.from,
        };
        let submitted = exact_evm::Submitted { transactions, payer, sent: None };
        let result = exact_evm::confirm(&ctx, &submitted).await.map_err(settle_failure).map(|s| Settled {
            transaction: s.transaction.to_string(),
            payer: s.payer.to_checksum(None),
            block_number: s.block_number,
        });
        let record = match &result {
            Ok(settled) => Some(self.success_record(settled)),
            Err(f) if f.reason == Reason::UnexpectedSettleError => None,
            Err(f) => Some(self.failure_record(request, f)),
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

    fn failure_record(&self, request: &PaymentRequest, failure: &Failure) -> SettleRecord {
        SettleRecord {
            success: false,
            reason: Some(failure.reason.code(crate::protocol::Version::V2).to_string()),
            message: Some(failure.message.clone()),
            transaction: failure.transaction.clone(),
            payer: request.payload.payer(),
            block_number: None,
            at_ms: self.clock.now_millis(),
        }
    }

    /// One kind per (version, scheme, network) served; signers grouped by CAIP family.
    pub fn supported(&self) -> SupportedResponse {
        let mut response = SupportedResponse::default();
        if self.config.evm_signers.is_empty() {
            return response;
        }
        let served: Vec<&Network> = self.config.evm_networks.iter().map(|c| c.network).collect();
        for network in &served {
            response.kinds.push(kind(2, network.caip2));
        }
        for network in served.iter().filter(|n| n.v1) {
            response.kinds.push(kind(1, network.name));
        }
        if !served.is_empty() {
            let addresses = self.config.evm_signers.iter().map(|s| s.address().to_checksum(None)).collect();
            response.signers = BTreeMap::from([(Family::Evm.caip_family().to_string(), addresses)]);
        }
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

    fn evm_context(&self, request: &PaymentRequest) -> Result<EvmContext<'_, P::Http, P::Clock>, Failure> {
        let config = self.config.evm(request.network).ok_or_else(|| {
            Failure::new(
                Reason::InvalidNetwork,
                format!("network `{}` is not served here", request.requirements.network),
            )
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

/// In a settle, a failing chain read is a settle error.
fn settle_failure(e: ExactEvmError) -> Failure {
    let mut failure = Failure::from(e);
    if failure.reason == Reason::UnexpectedVerifyError {
        failure.reason = Reason::UnexpectedSettleError;
    }
    failure
}

/// The response a recorded outcome stands for.
fn record_result(record: SettleRecord) -> Result<Settled, Failure> {
    if record.success {
        return Ok(Settled {
            transaction: record.transaction.unwrap_or_default(),
            payer: record.payer,
            block_number: record.block_number,
        });
    }
    let reason = record.reason.as_deref().and_then(Reason::from_v2_code).unwrap_or(Reason::UnexpectedSettleError);
    Err(Failure { transaction: record.transaction, ..Failure::new(reason, record.message.unwrap_or_default()) })
}

fn kind(version: u8, network: &str) -> SupportedKind {
    SupportedKind { x402_version: version, scheme: "exact".into(), network: network.into(), extra: None }
}
