//! `exact` on Solana in the facilitator: verify with the fee payer's co-signature simulated, and
//! settle at most once through the ledger, keyed by the message hash.
//!
//! A Solana transaction is its own replay protection: the same signed bytes land at most once. The
//! ledger makes the *answers* right across isolates: a payment in flight or settled gets
//! `duplicate_settlement` (the spec's duplicate-settlement mitigation), and a settle cut off mid-way
//! is reconciled from the chain by the next settle of the same payment.

use serde_json::json;

use super::core::Facilitator;
use super::dispatch::kind;
use super::host::Host;
use super::once::{settle_failure, turn, OncePayment, Sent, Turn};
use super::outcome::{Failure, Settled, Verified};
use crate::chains::jsonrpc::JsonRpcClient;
use crate::chains::svm::{token_payer, Transaction};
use crate::ledger::Ledger;
use crate::ledger::{fingerprint, LedgerOp};
use crate::network::{Family, Network};
use crate::ports::Clock;
use crate::protocol::response::SupportedResponse;
use crate::protocol::Reason;
use crate::schemes::exact_svm::chain::{self, Fate, Signed, SvmContext};
use crate::schemes::exact_svm::ledger_key as svm_key;
use crate::schemes::exact_svm::SvmPayload;
use crate::schemes::exact_svm::{check_accepted, ExactSvmError, SvmRequirements};
use crate::schemes::PaymentRequest;

impl From<ExactSvmError> for Failure {
    fn from(e: ExactSvmError) -> Self {
        Failure { transaction: e.transaction().map(str::to_string), ..Failure::new(e.reason(), e.to_string()) }
    }
}

impl<P: Host> Facilitator<P> {
    pub(super) async fn verify_svm(&self, request: &PaymentRequest, payload: &SvmPayload) -> Result<Verified, Failure> {
        let ctx = self.svm_context(request.network)?;
        let signed = self.verify_svm_signed(&ctx, request, payload).await?;
        let key = svm_key(request.network.caip2, &signed.verified.transaction);
        self.check_unsettled(&key, Reason::DuplicateSettlement).await?;
        Ok(Verified { payer: signed.verified.payer.to_base58() })
    }

    async fn verify_svm_signed(
        &self,
        ctx: &SvmContext<'_, P::Http, P::Clock>,
        request: &PaymentRequest,
        payload: &SvmPayload,
    ) -> Result<Signed, ExactSvmError> {
        check_accepted(&request.accepted, &request.requirements.scheme, request.network)?;
        let amount = request.requirements.amount.to_string();
        let requirements = SvmRequirements::of(&request.requirements, &amount);
        chain::verify(ctx, &payload.transaction, &requirements, &self.config.svm_fee_payers).await
    }

    /// Claims the payment's message hash in the ledger, then verifies, records the co-signed bytes,
    /// sends and confirms. A claim held elsewhere is answered from the chain or as a duplicate.
    pub(super) async fn settle_svm(&self, request: &PaymentRequest, payload: &SvmPayload) -> Result<Settled, Failure> {
        let ctx = self.svm_context(request.network)?;
        let transaction = Transaction::from_base64(&payload.transaction).map_err(ExactSvmError::Undecodable)?;
        let key = svm_key(request.network.caip2, &transaction);
        let payer = token_payer(transaction.message()).map(|k| k.to_base58()).unwrap_or_default();
        // The key (the message hash) is the identity; the fingerprint adds the requirements.
        let payment = OncePayment {
            key: &key,
            fingerprint: fingerprint(request, &key),
            payer: &payer,
            used: Reason::DuplicateSettlement,
        };
        let blockhash = crate::chains::svm::Pubkey(transaction.message().recent_blockhash).to_base58();
        if let Some(settled) = self.settle_svm_verified(&ctx, &payment, request, payload, &blockhash).await {
            return settled;
        }
        let send = || self.send_svm(&ctx, &key, request, payload);
        let resume = |sent| self.reconcile_svm(&ctx, &payer, &blockhash, sent);
        self.settle_through_ledger(&payment, send, resume).await
    }

    /// The hot path: the payment verified first (the co-signed transaction simulated), then one ledger
    /// call claims it and records the co-signed bytes before their broadcast; the outcome is recorded
    /// in a second. `None` when verification fails: the full flow answers it, claim first, as a
    /// duplicate or with the reason.
    async fn settle_svm_verified(
        &self,
        ctx: &SvmContext<'_, P::Http, P::Clock>,
        payment: &OncePayment<'_>,
        request: &PaymentRequest,
        payload: &SvmPayload,
        blockhash: &str,
    ) -> Option<Result<Settled, Failure>> {
        let signed = self.verify_svm_signed(ctx, request, payload).await.ok()?;
        let claim = self.claim_to_send(payment, signed.signature.clone(), Some(signed.wire.clone())).await;
        let result = match claim.and_then(|claim| turn(claim, payment)) {
            Err(failure) => return Some(Err(failure)),
            Ok(Turn::Send) => self.broadcast_svm(ctx, signed).await,
            Ok(Turn::Resume(sent)) => self.reconcile_svm(ctx, payment.payer, blockhash, sent).await,
        };
        Some(self.conclude(payment, result).await)
    }

    async fn send_svm(
        &self,
        ctx: &SvmContext<'_, P::Http, P::Clock>,
        key: &str,
        request: &PaymentRequest,
        payload: &SvmPayload,
    ) -> Result<Settled, Failure> {
        let signed = self.verify_svm_signed(ctx, request, payload).await.map_err(settle_failure)?;
        // Recorded before the broadcast: a settle cut off after it is found and reconciled.
        let record =
            LedgerOp::RecordTransaction { transaction: signed.signature.clone(), raw: Some(signed.wire.clone()) };
        self.ledger.apply(key, record).await.map_err(|e| Failure::new(Reason::UnexpectedSettleError, e.to_string()))?;
        self.broadcast_svm(ctx, signed).await
    }

    /// Broadcasts a co-signed transaction recorded in the ledger, and waits for it to land.
    async fn broadcast_svm(&self, ctx: &SvmContext<'_, P::Http, P::Clock>, signed: Signed) -> Result<Settled, Failure> {
        chain::broadcast(ctx, &signed).await.map_err(settle_failure)?;
        let slot = chain::confirm(ctx, &signed.signature, &signed.blockhash).await.map_err(settle_failure)?;
        Ok(Settled {
            transaction: signed.signature,
            payer: signed.verified.payer.to_base58(),
            block_number: Some(slot),
            extensions: None,
            amount: None,
        })
    }

    /// A payment another settle sent: the chain decides. A transaction still pending whose settle has
    /// been silent for longer than a confirmation takes (its isolate died) is broadcast again from the
    /// recorded bytes, which is the same transaction, never a second payment.
    async fn reconcile_svm(
        &self,
        ctx: &SvmContext<'_, P::Http, P::Clock>,
        payer: &str,
        blockhash: &str,
        sent: Sent,
    ) -> Result<Settled, Failure> {
        let signature = sent.transaction;
        match chain::fate(ctx, &signature, blockhash).await {
            Ok(Fate::Landed { slot }) => Ok(Settled {
                transaction: signature,
                payer: payer.to_string(),
                block_number: Some(slot),
                extensions: None,
                amount: None,
            }),
            Ok(Fate::Pending) => {
                let silent_ms = self.clock.now_millis().saturating_sub(sent.since_ms);
                if let Some(wire) = sent.raw.filter(|_| silent_ms > ctx.settings.confirm_timeout_secs * 1000) {
                    let call = crate::chains::svm::rpc::send_transaction(&wire);
                    let _ = ctx.rpc.broadcast(call.method, call.params).await;
                }
                Err(Failure::from(ExactSvmError::ConfirmationTimedOut(signature)))
            }
            Err(ExactSvmError::Rpc(message)) => {
                let failure = Failure::new(Reason::UnexpectedSettleError, format!("its status is unknown: {message}"));
                Err(Failure { transaction: Some(signature), ..failure })
            }
            Err(e) => Err(Failure::from(e)),
        }
    }

    /// The Solana kinds, each advertising its fee payer in `extra.feePayer`, and the fee payers under
    /// `solana:*`.
    pub(super) fn supported_svm(&self, response: &mut SupportedResponse) {
        let Some(fee_payer) = self.config.svm_fee_payers.first().map(|k| k.pubkey().to_base58()) else { return };
        let served: Vec<&Network> = self.config.svm_networks.iter().map(|c| c.network).collect();
        let with_fee_payer = |version, id| {
            let mut kind = kind(version, "exact", id);
            kind.extra = Some(json!({"feePayer": fee_payer}));
            kind
        };
        response.kinds.extend(served.iter().map(|n| with_fee_payer(2, n.caip2)));
        response.kinds.extend(served.iter().filter(|n| n.v1).map(|n| with_fee_payer(1, n.name)));
        if !served.is_empty() {
            let fee_payers = self.config.svm_fee_payers.iter().map(|k| k.pubkey().to_base58()).collect();
            response.signers.insert(Family::Solana.caip_family().to_string(), fee_payers);
        }
    }

    fn svm_context(&self, network: &'static Network) -> Result<SvmContext<'_, P::Http, P::Clock>, Failure> {
        let config = self.config.svm(network).ok_or_else(|| {
            Failure::new(Reason::InvalidNetwork, format!("network `{}` is not served here", network.name))
        })?;
        Ok(SvmContext {
            network: config.network,
            rpc: JsonRpcClient::new(&self.http, &self.clock, &config.rpc_urls),
            clock: &self.clock,
            settings: self.config.svm,
        })
    }
}
