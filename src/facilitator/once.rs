//! Settling a payment the chain accepts once, through the settlement ledger: claim → send (recorded
//! before the broadcast) → confirm → conclude, or, when an earlier settle sent it, reconcile from the
//! chain. Written once for every scheme; each scheme gives its send and its reconcile. Exactly one
//! settle of a payment answers success.

use std::future::Future;

use super::core::Facilitator;
use super::host::Host;
use super::outcome::{Failure, Settled};
use crate::ledger::{self, Claim, Ledger, LedgerEntry, LedgerOp, LedgerReply, SettleRecord};
use crate::ports::Clock;
use crate::protocol::Reason;

impl<P: Host> Facilitator<P> {
    /// The one settle flow: claims the payment, then sends it (nothing was sent for it) or resumes
    /// what an earlier settle sent (`resume`: the chain decides), then concludes: a success only for
    /// the call that made it final.
    pub(super) async fn settle_through_ledger<S, SF, R, RF>(
        &self,
        payment: &OncePayment<'_>,
        send: S,
        resume: R,
    ) -> Result<Settled, Failure>
    where
        S: FnOnce() -> SF,
        SF: Future<Output = Result<Settled, Failure>>,
        R: FnOnce(Sent) -> RF,
        RF: Future<Output = Result<Settled, Failure>>,
    {
        let result = match self.claim_payment(payment).await? {
            Turn::Send => send().await,
            Turn::Resume(sent) => resume(sent).await,
        };
        self.conclude(payment, result).await
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

    /// Claims a payment in the ledger for this settle: [`Turn::Send`] when nothing was sent for it,
    /// [`Turn::Resume`] when a settle that let go had sent it. A payment held by another settle, done,
    /// or held by a different payment under the same identity is refused at once.
    pub(super) async fn claim_payment(&self, payment: &OncePayment<'_>) -> Result<Turn, Failure> {
        turn(self.ledger_claim(payment.key, Some(payment.fingerprint.clone())).await?, payment)
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
    pub(super) async fn let_go(&self, key: &str, payer: &str, failure: &Failure) {
        let op = if failure.transaction.is_some() && !failure.reason.outcome_unknown() {
            LedgerOp::Complete { record: self.failure_record(payer, failure) }
        } else {
            LedgerOp::Release
        };
        // A lost write leaves a hold that runs out.
        let _ = self.ledger.apply(key, op).await;
    }

    /// Claims `key` for the request whose [`crate::ledger::fingerprint`] is `fingerprint` (a key held
    /// by a different payment answers [`Claim::Conflict`], see [`conflict`]).
    pub(super) async fn ledger_claim(&self, key: &str, fingerprint: Option<String>) -> Result<Claim, Failure> {
        let op = LedgerOp::Claim { now_ms: self.clock.now_millis(), hold_ms: self.hold_ms(), fingerprint };
        self.apply_claim(key, op).await
    }

    /// Claims a payment for this settle and, when nothing was sent for it, records `transaction`
    /// (about to be broadcast) in the same call ([`LedgerOp::ClaimToSend`]).
    pub(super) async fn claim_to_send(
        &self,
        payment: &OncePayment<'_>,
        transaction: String,
        raw: Option<String>,
    ) -> Result<Claim, Failure> {
        let (now_ms, hold_ms, fingerprint) = (self.clock.now_millis(), self.hold_ms(), payment.fingerprint.clone());
        self.apply_claim(payment.key, LedgerOp::ClaimToSend { now_ms, hold_ms, fingerprint, transaction, raw }).await
    }

    async fn apply_claim(&self, key: &str, op: LedgerOp) -> Result<Claim, Failure> {
        // Without the ledger nothing is sent: a settle that cannot be made idempotent is refused.
        let claim = ledger::apply_claim(&self.ledger, key, op).await;
        claim.map_err(|e| Failure::new(Reason::UnexpectedSettleError, e.to_string()))
    }

    pub(super) fn success_record(&self, settled: &Settled) -> SettleRecord {
        let (transaction, payer) = (settled.transaction.clone(), settled.payer.clone());
        SettleRecord::success(transaction, payer, settled.block_number, self.clock.now_millis())
    }

    pub(super) fn failure_record(&self, payer: &str, failure: &Failure) -> SettleRecord {
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
}

/// What a settle does with the claim it got.
pub(super) fn turn(claim: Claim, payment: &OncePayment<'_>) -> Result<Turn, Failure> {
    match claim {
        Claim::Acquired => Ok(Turn::Send),
        Claim::Resume { transaction, replaced, raw, since_ms } => {
            Ok(Turn::Resume(Sent { transaction, replaced, raw, since_ms }))
        }
        Claim::Busy { transaction } => Err(in_flight(transaction)),
        Claim::Done { record } => Err(done(record, payment.used)),
        Claim::Conflict => Err(conflict()),
    }
}

/// In a settle, a failing chain read is a settle error (any scheme's error).
pub(super) fn settle_failure(e: impl Into<Failure>) -> Failure {
    let mut failure = e.into();
    if failure.reason == Reason::UnexpectedVerifyError {
        failure.reason = Reason::UnexpectedSettleError;
    }
    failure
}

/// The response a recorded outcome stands for.
pub(super) fn record_result(record: SettleRecord) -> Result<Settled, Failure> {
    if record.success {
        return Ok(Settled {
            transaction: record.transaction.unwrap_or_default(),
            payer: record.payer,
            block_number: record.block_number,
            extensions: None,
            amount: None,
        });
    }
    let reason = record.reason.as_deref().and_then(Reason::from_v2_code).unwrap_or(Reason::UnexpectedSettleError);
    Err(Failure { transaction: record.transaction, ..Failure::new(reason, record.message.unwrap_or_default()) })
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
pub(super) fn in_flight(transaction: Option<String>) -> Failure {
    let failure = Failure::new(Reason::DuplicateSettlement, "another settle of this payment is running");
    Failure { transaction, ..failure }
}

/// A payment that is done: its recorded failure, or, when it settled, what a fresh check of it says.
pub(super) fn done(record: SettleRecord, used_reason: Reason) -> Failure {
    match record_result(record) {
        Ok(settled) => Failure { transaction: Some(settled.transaction), ..used(used_reason) },
        Err(failure) => failure,
    }
}

pub(super) fn used(reason: Reason) -> Failure {
    Failure::new(reason, "this payment was settled before: it is used, and its settle answered once")
}

/// A sent transaction whose outcome is not known yet is the standard's `settlement_pending`.
pub(super) fn pending(failure: Failure) -> Failure {
    if failure.transaction.is_some() && failure.reason.outcome_unknown() {
        return Failure { reason: Reason::SettlementPending, ..failure };
    }
    failure
}

/// A different payment holds the key: its outcome is not this request's to answer.
pub(super) fn conflict() -> Failure {
    Failure::new(
        Reason::DuplicateSettlement,
        "a different payment under the same identity (payer and nonce, or transaction) was settled or is being \
         settled; its outcome is not this payment's",
    )
}

pub(super) fn store_failure(message: String) -> Failure {
    Failure::new(Reason::UnexpectedSettleError, message)
}
