//! `upto` sessions in the facilitator: a payment is verified and captured into its session (no chain
//! call); batches of a session's pending spend are settled through the ledger by the sweeper or on
//! close; the owner index keeps what all of an owner's sessions acknowledge within what the chain lets
//! the facilitator pull.

use serde_json::Value;

use super::core::Facilitator;
use super::host::Host;
use super::once::{conflict, in_flight, record_result, store_failure, Sent};
use super::outcome::{Failure, Settled, Verified};
use crate::config::UptoSettleMode;
use crate::ledger::LedgerJournal;
use crate::ledger::{Claim, Ledger, LedgerEntry, LedgerOp};
use crate::network::Network;
use crate::ports::{Clock, EvmSigner};
use crate::protocol::Reason;
use crate::schemes::evm_tx::TxError;
use crate::schemes::upto_evm::PermitPayload;
use crate::schemes::upto_evm::{self, UptoError};
use crate::schemes::PaymentRequest;
use crate::upto::Sessions;
use crate::upto::{
    BatchOutcome, OwnerOp, OwnerReply, Refusal, Session, SessionOp, SessionReply, Status as UptoStatus, SweepAction,
};
use alloy_primitives::U256;

/// What one pass of the sweeper did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub sessions: usize,
    pub settled: usize,
    pub failed: usize,
    /// Batches sent whose receipt did not come in time: reconciled by a later pass.
    pub in_flight: usize,
    pub closed: usize,
    /// Sessions the pass could not handle (a store error, a lost write), and a page of the index it
    /// could not read (`session: None`); the pass went on past each. The first [`SWEEP_ERRORS_KEPT`].
    pub errors: Vec<SweepError>,
    /// How many errors there were in all.
    pub error_count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SweepError {
    pub session: Option<String>,
    pub message: String,
}

/// How many ids the sweeper reads from the index at a time.
pub const SWEEP_PAGE: usize = 100;
/// How many of a pass's errors its report keeps.
pub const SWEEP_ERRORS_KEPT: usize = 20;
/// A session admitted by its owner's record but absent this long was never created (a lost write).
const ADMITTED_NEVER_CREATED_MS: u64 = 60_000;

impl SweepReport {
    fn error(&mut self, session: Option<&str>, message: String) {
        self.error_count += 1;
        if self.errors.len() < SWEEP_ERRORS_KEPT {
            self.errors.push(SweepError { session: session.map(str::to_string), message });
        }
    }
}

impl<P: Host> Facilitator<P> {
    /// Captures an `upto` payment into its session (or, with `UPTO_SETTLE_MODE=immediate`, captures
    /// and settles the session at once).
    pub(super) async fn settle_upto(
        &self,
        request: &PaymentRequest,
        permit: &PermitPayload,
    ) -> Result<Settled, Failure> {
        let session = self.capture(request, permit).await?;
        if self.config.upto.mode == UptoSettleMode::Capture {
            return Ok(captured(&session, String::new()));
        }
        let now_ms = self.clock.now_millis();
        let amount = request.requirements.amount;
        let (session, batch) =
            self.settle_session_releasing(&permit.session_id, now_ms, "immediate", false, amount).await?;
        match batch {
            Some(Ok(settled)) => Ok(captured(&session, settled.transaction)),
            Some(Err(failure)) => Err(Failure { session_id: Some(session.id.clone()), ..failure }),
            None => Ok(captured(&session, String::new())),
        }
    }

    /// The pure checks of an `upto` payment.
    fn verify_permit(&self, request: &PaymentRequest, permit: &PermitPayload) -> Result<upto_evm::Verified, Failure> {
        let spenders: Vec<_> = self.config.evm_signers.iter().map(|s| s.address()).collect();
        Ok(upto_evm::verify(request, permit, &spenders, self.clock.now_secs())?)
    }

    /// Verifies an `upto` payment: the permit's checks, then whether its session (or, for a new one, its
    /// owner's record) would take it. Changes nothing.
    pub(super) async fn verify_upto(
        &self,
        request: &PaymentRequest,
        permit: &PermitPayload,
    ) -> Result<Verified, Failure> {
        let verified = self.verify_permit(request, permit)?;
        let check = SessionOp::Check {
            amount: request.requirements.amount,
            pay_to: verified.pay_to,
            asset: verified.asset,
            api_key: self.session_key(request),
        };
        match self.session_op(&verified.session_id, check).await? {
            SessionReply::Refused { refusal, .. } => return Err(refused(refusal, &verified.session_id)),
            SessionReply::Missing => {
                let opening = self.opening(request, permit, &verified, self.clock.now_millis());
                self.admit_to_owner(&opening, true).await?;
            }
            _ => {}
        }
        Ok(Verified { payer: permit.owner.to_checksum(None) })
    }

    /// The API key a request's session belongs to: the caller's, when sessions are bound to keys.
    fn session_key(&self, request: &PaymentRequest) -> Option<String> {
        request.caller.clone().filter(|_| self.config.upto.require_api_key)
    }

    /// The session a verified permit opens.
    fn opening(
        &self,
        request: &PaymentRequest,
        permit: &PermitPayload,
        verified: &upto_evm::Verified,
        now_ms: u64,
    ) -> Session {
        Session {
            id: verified.session_id.clone(),
            network: request.network.caip2.to_string(),
            asset: verified.asset,
            owner: permit.owner,
            spender: permit.spender,
            pay_to: verified.pay_to,
            cap: permit.cap,
            deadline: u64::try_from(permit.deadline).unwrap_or(u64::MAX),
            signed_deadline: (permit.deadline > U256::from(u64::MAX)).then_some(permit.deadline),
            permit_nonce: permit.nonce,
            // Canonical bytes (v as 27/28): what `permit` on chain takes.
            signature: crate::schemes::upto_evm::session_id::canonical_signature(&permit.signature).into(),
            name: verified.name.clone(),
            version: verified.version.clone(),
            pending: U256::ZERO,
            settled: U256::ZERO,
            status: UptoStatus::Open,
            created_ms: now_ms,
            last_activity_ms: now_ms,
            batches: 0,
            settling: None,
            last_settlement: None,
            api_key: self.session_key(request),
        }
    }

    /// Verifies an `upto` payment and captures its amount into its session atomically. A new session is
    /// first admitted by its owner's record ([`crate::upto::OwnerRecord`]): one session per allowance,
    /// at most `UPTO_MAX_SESSIONS_PER_OWNER` per owner. No chain call, unless a newer permit supersedes
    /// an older session (which is then settled and closed first).
    async fn capture(&self, request: &PaymentRequest, permit: &PermitPayload) -> Result<Session, Failure> {
        let verified = self.verify_permit(request, permit)?;
        let now_ms = self.clock.now_millis();
        let opening = self.opening(request, permit, &verified, now_ms);
        let id = verified.session_id.clone();
        let capture = |open| SessionOp::Capture {
            amount: request.requirements.amount,
            now_ms,
            opening: Box::new(opening.clone()),
            open,
        };
        let mut reply = self.session_op(&id, capture(false)).await?;
        if reply == SessionReply::Missing {
            self.admit_to_owner(&opening, false).await?;
            reply = self.session_op(&id, capture(true)).await?;
        }
        match reply {
            SessionReply::Session { session } => Ok(*session),
            SessionReply::Refused { refusal, .. } => Err(refused(refusal, &id)),
            other => Err(store_failure(format!("session store answered {other:?}"))),
        }
    }

    /// Admits a new session with its owner's record (`dry_run`: only asks). A session holding the
    /// allowance that is done (closed, nothing pending), or that was admitted but never created, is
    /// released; a newer permit first settles and closes the older session under its own permit.
    async fn admit_to_owner(&self, session: &Session, dry_run: bool) -> Result<(), Failure> {
        let key = crate::upto::owner_key(session.owner);
        let slot = crate::upto::Slot {
            session_id: session.id.clone(),
            network: session.network.clone(),
            asset: session.asset,
            spender: session.spender,
            permit_nonce: session.permit_nonce,
            cap: session.cap,
            admitted_ms: session.created_ms,
        };
        let max_open = self.config.upto.max_sessions_per_owner;
        for attempt in 0..2 {
            let op = OwnerOp::Admit { slot: slot.clone(), max_open, dry_run };
            match self.owner_op(&key, op).await? {
                OwnerReply::Admitted => return Ok(()),
                OwnerReply::TooMany { open } => return Err(too_many_sessions(open, max_open, &session.id)),
                OwnerReply::Stale { last } => return Err(stale_permit(&last.session_id, &session.id)),
                OwnerReply::Held { superseded: true, .. } if dry_run => return Ok(()),
                OwnerReply::Held { holder, superseded } => {
                    if attempt == 0 && self.retire_holder(&key, &holder, superseded).await? {
                        continue;
                    }
                    return Err(permit_conflict(&holder.session_id, superseded, &session.id));
                }
                OwnerReply::Released => break,
            }
        }
        Err(store_failure("the owner record answered out of turn".into()))
    }

    /// Whether the session holding an owner's allowance could be released: it is done, it was never
    /// created (admitted over a minute ago), or it is `superseded` and settling and closing it now
    /// leaves nothing pending.
    async fn retire_holder(&self, key: &str, holder: &crate::upto::Slot, superseded: bool) -> Result<bool, Failure> {
        let now_ms = self.clock.now_millis();
        let done = match self.read_session(&holder.session_id).await? {
            None => now_ms.saturating_sub(holder.admitted_ms) >= ADMITTED_NEVER_CREATED_MS,
            Some(s) if is_done(&s) => true,
            Some(_) if superseded => {
                let (after, _) = self.settle_session(&holder.session_id, now_ms, "superseded", true).await?;
                is_done(&after)
            }
            Some(_) => false,
        };
        if done {
            self.owner_op(key, OwnerOp::Release { session_id: holder.session_id.clone() }).await?;
        }
        Ok(done)
    }

    async fn owner_op(&self, key: &str, op: OwnerOp) -> Result<OwnerReply, Failure> {
        self.sessions.owner(key, op).await.map_err(|e| store_failure(e.to_string()))
    }

    /// Takes a session that is done out of the sweeper's index and its owner's record.
    async fn retire(&self, session: &Session) -> Result<(), Failure> {
        self.sessions.unindex(&session.id).await.map_err(|e| store_failure(e.to_string()))?;
        let release = OwnerOp::Release { session_id: session.id.clone() };
        self.owner_op(&crate::upto::owner_key(session.owner), release).await.map(|_| ())
    }

    /// An `upto` session's state, as `caller` (the API key's subject) may see it: a session bound to
    /// another key is not found.
    pub async fn session(&self, id: &str, caller: Option<&str>) -> Result<Option<Session>, Failure> {
        let session = self.read_session(id).await?;
        let binds = self.config.upto.require_api_key;
        Ok(session.filter(|s| !binds || s.api_key.as_deref() == caller))
    }

    async fn read_session(&self, id: &str) -> Result<Option<Session>, Failure> {
        match self.session_op(id, SessionOp::Read).await? {
            SessionReply::Session { session } => Ok(Some(*session)),
            _ => Ok(None),
        }
    }

    /// Settles a session's pending spend now and closes it (`POST /upto/sessions/{id}/close`), for the
    /// key the session belongs to.
    pub async fn close_session(
        &self,
        id: &str,
        caller: Option<&str>,
    ) -> Result<(Session, Option<Result<Settled, Failure>>), Failure> {
        if self.session(id, caller).await?.is_none() {
            return Err(refused(Refusal::Unknown, id));
        }
        self.settle_session(id, self.clock.now_millis(), "manual", true).await
    }

    /// One pass of the cron sweeper as of `now_ms` (the cron event's scheduled time): settles or
    /// closes each indexed session as [`crate::upto::due`] decides. The index is read a page at a
    /// time; a session that fails (its store, its batch's bookkeeping) is reported in `errors` and the
    /// pass goes on. Fails only when the index cannot be read at all.
    pub async fn sweep(&self, now_ms: u64) -> Result<SweepReport, Failure> {
        let mut report = SweepReport::default();
        let mut after: Option<String> = None;
        loop {
            let page = match self.sessions.indexed(after.as_deref(), SWEEP_PAGE).await {
                Ok(page) => page,
                Err(e) if after.is_none() => return Err(store_failure(e.to_string())),
                Err(e) => {
                    report.error(None, e.to_string());
                    break;
                }
            };
            for id in &page {
                report.sessions += 1;
                if let Err(f) = self.sweep_session(id, now_ms, &mut report).await {
                    report.error(Some(id), f.message);
                }
            }
            match page.last() {
                Some(last) if page.len() == SWEEP_PAGE => after = Some(last.clone()),
                _ => break,
            }
        }
        Ok(report)
    }

    async fn sweep_session(&self, id: &str, now_ms: u64, report: &mut SweepReport) -> Result<(), Failure> {
        // An id without a session (its creation failed after indexing) is left alone: removing it
        // could race a creation in flight.
        let Some(session) = self.read_session(id).await? else { return Ok(()) };
        match crate::upto::due(&session, now_ms, &self.config.upto.thresholds) {
            SweepAction::Settle { reason, close_after } => {
                match self.settle_session(id, now_ms, reason, close_after).await?.1 {
                    Some(Ok(_)) => report.settled += 1,
                    Some(Err(f)) if f.reason.outcome_unknown() && f.transaction.is_some() => report.in_flight += 1,
                    Some(Err(_)) => report.failed += 1,
                    None => {}
                }
            }
            SweepAction::Close => {
                if let SessionReply::Session { session } = self.session_op(id, SessionOp::Close { now_ms }).await? {
                    if is_done(&session) {
                        self.retire(&session).await?;
                        report.closed += 1;
                    }
                }
            }
            // Long idle after a failed closing batch: given up, the allowance is released.
            SweepAction::Forget => self.retire(&session).await?,
            SweepAction::Nothing => {}
        }
        Ok(())
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
        self.settle_session_releasing(id, now_ms, reason, close_after, U256::ZERO).await
    }

    /// [`Self::settle_session`], taking `released` out of the pending spend if the batch fails.
    async fn settle_session_releasing(
        &self,
        id: &str,
        now_ms: u64,
        reason: &str,
        close_after: bool,
        released: U256,
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
            SessionReply::Batch { batch: None, session } => {
                if is_done(&session) {
                    let _ = self.retire(&session).await;
                }
                return Ok((*session, None));
            }
            _ => return Err(refused(Refusal::Unknown, id)),
        };
        let result = self.settle_batch(&session, &batch).await;
        let recorded = match &result {
            Err(f) if f.transaction.is_none() => self.batch_transaction_recorded(&session, &batch).await,
            _ => false,
        };
        let outcome = match &result {
            Ok(settled) => BatchOutcome::Settled { transaction: settled.transaction.clone() },
            Err(f) if f.transaction.is_some() && f.reason.outcome_unknown() => BatchOutcome::Unknown,
            // A send whose answer was lost (a transport error, a signer unreachable after it sent) may
            // still land: the batch stays under its key, whose recorded transaction the retry of the
            // same batch reconciles. Failed, the spend would go into a new batch and be charged twice.
            Err(_) if recorded => BatchOutcome::Unknown,
            Err(f) => {
                let (error, transaction) = (f.code(crate::protocol::Version::V2), f.transaction.clone());
                BatchOutcome::Failed { error, transaction, released }
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
        if is_done(&session) {
            // The outcome is answered either way; a session left indexed is retired by the sweeper.
            let _ = self.retire(&session).await;
        }
        Ok((session, Some(result)))
    }

    /// Whether the batch's ledger entry still holds a transaction it sent (not settled, not abandoned).
    async fn batch_transaction_recorded(&self, session: &Session, batch: &crate::upto::Batch) -> bool {
        let entry = self.ledger_entry(&batch_key(session, batch)).await;
        matches!(entry, Ok(Some(LedgerEntry::InFlight { transaction: Some(_), .. })))
    }

    /// One batch on chain, made idempotent by the ledger under `upto/{session}/{seq}`.
    async fn settle_batch(&self, session: &Session, batch: &crate::upto::Batch) -> Result<Settled, Failure> {
        let key = batch_key(session, batch);
        let network = crate::network::find(&session.network)
            .ok_or_else(|| Failure::new(Reason::InvalidNetwork, "the session's network is unknown"))?;
        let payer = session.owner.to_checksum(None);
        let send = || async {
            let ctx = self.evm_context(network)?;
            let signer = self.config.evm_signers.iter().find(|s| s.address() == session.spender);
            let signer = signer.ok_or_else(|| Failure::from(UptoError::SpenderNotFacilitator(session.spender)))?;
            let journal = LedgerJournal { ledger: &self.ledger, key: Some(&key) };
            let mined = upto_evm::settle_batch(&ctx, signer, &self.sender, &journal, session, batch.amount).await?;
            let transaction = mined.transaction.to_string();
            Ok(Settled {
                transaction,
                payer: payer.clone(),
                block_number: mined.block_number,
                extensions: None,
                amount: None,
            })
        };
        self.settle_batch_once(&key, network, &payer, send).await
    }

    async fn session_op(&self, id: &str, op: SessionOp) -> Result<SessionReply, Failure> {
        self.sessions.apply(id, op).await.map_err(|e| store_failure(e.to_string()))
    }
}

/// The ledger key of a session's batch.
fn batch_key(session: &Session, batch: &crate::upto::Batch) -> String {
    format!("upto/{}/{}", session.id, batch.seq)
}

/// A session's refusal of a payment, with the session it concerns.
fn refused(refusal: Refusal, session_id: &str) -> Failure {
    let (reason, message) = match refusal {
        Refusal::CapExhausted => (Reason::UptoCapExhausted, "Upto cap exhausted, reauthorize with higher max"),
        Refusal::Closed => (Reason::UptoSessionClosed, "Session closed. Reauthorize a new upto cap"),
        Refusal::Settling => (Reason::UptoSettlingInProgress, "Session is settling a batch, retry shortly"),
        Refusal::Mismatch => (
            Reason::UptoSessionMismatch,
            "This permit's session pays another recipient or asset, or belongs to another API key",
        ),
        Refusal::Unknown => (Reason::UptoUnknownSession, "No such upto session"),
    };
    Failure { session_id: Some(session_id.to_string()), ..Failure::new(reason, message) }
}

/// Whether a session is done with its owner's allowance: closed, nothing pending or settling.
fn is_done(session: &Session) -> bool {
    session.status == UptoStatus::Closed && session.pending.is_zero()
}

/// Another permit of the owner holds the facilitator's allowance on this network and token.
fn permit_conflict(holder: &str, superseded: bool, session_id: &str) -> Failure {
    let message = if superseded {
        format!("an older permit's session {holder} could not be settled and closed yet; retry later")
    } else {
        format!(
            "another permit of this owner (session {holder}) holds the facilitator's allowance with the same or a \
             newer nonce; only one of them can be used on chain"
        )
    };
    Failure { session_id: Some(session_id.to_string()), ..Failure::new(Reason::UptoPermitConflict, message) }
}

/// A permit whose nonce was used or replaced: answered as a closed session (402), so that clients sign a
/// new permit with the token's current nonce.
fn stale_permit(last: &str, session_id: &str) -> Failure {
    let message = format!(
        "Session closed: a permit with this nonce or a newer one (session {last}) was used; sign a new permit with the \
         token's current nonce"
    );
    Failure { session_id: Some(session_id.to_string()), ..Failure::new(Reason::UptoSessionClosed, message) }
}

fn too_many_sessions(open: usize, max: usize, session_id: &str) -> Failure {
    let message = format!("this owner has {open} upto sessions open (UPTO_MAX_SESSIONS_PER_OWNER = {max})");
    Failure { session_id: Some(session_id.to_string()), ..Failure::new(Reason::UptoTooManySessions, message) }
}

/// A successful `upto` settle: the session's state in `extensions.upto`.
fn captured(session: &Session, transaction: String) -> Settled {
    Settled {
        transaction,
        payer: session.owner.to_checksum(None),
        block_number: None,
        extensions: Some(serde_json::json!({"upto": session_json(session)})),
        amount: None,
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

/// How often a settle that found its batch in flight looks at the ledger again.
const LEDGER_POLL_MS: u64 = 250;

impl<P: Host> Facilitator<P> {
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
}

impl From<UptoError> for Failure {
    fn from(e: UptoError) -> Self {
        Failure { transaction: e.transaction().map(|h| h.to_string()), ..Failure::new(e.reason(), e.to_string()) }
    }
}

fn upto_tx_failure(e: TxError) -> Failure {
    Failure::from(UptoError::from(e))
}
