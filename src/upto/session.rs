//! A session's record and the operations on it. Every operation is applied atomically to one
//! session; `settling` is the lock that keeps captures out while a batch is on its way.

use alloy_primitives::{Address, Bytes, U256};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Settling,
    Closed,
}

/// A batch on its way to the chain: the sum it settles. Its `seq` names it in the settlement ledger,
/// so a batch retried after a crash is reconciled, never sent twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub seq: u64,
    pub amount: U256,
    pub since_ms: u64,
    pub reason: String,
    pub close_after: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSettlement {
    pub at_ms: u64,
    pub reason: String,
    pub success: bool,
    pub amount: U256,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One session: what its permit allows, what was captured and settled, and the permit itself (the
/// facilitator submits it with the first batch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    /// The CAIP-2 id of its network.
    pub network: String,
    pub asset: Address,
    pub owner: Address,
    pub spender: Address,
    /// Bound at the first payment: a session pays one recipient.
    pub pay_to: Address,
    pub cap: U256,
    /// The permit's deadline (seconds; a signed one past u64 is held as u64::MAX).
    pub deadline: u64,
    /// The deadline as signed when it does not fit `deadline` (clients sign `uint256` max for "never"):
    /// what `permit` must be called with for the signature to hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_deadline: Option<U256>,
    pub permit_nonce: U256,
    pub signature: Bytes,
    /// The token's EIP-712 domain.
    pub name: String,
    pub version: String,
    pub pending: U256,
    pub settled: U256,
    pub status: Status,
    pub created_ms: u64,
    pub last_activity_ms: u64,
    /// How many batches were begun; the next batch's `seq`.
    pub batches: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settling: Option<Batch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_settlement: Option<LastSettlement>,
    /// The API key (its subject) that opened the session, when sessions are bound to keys
    /// (`UPTO_REQUIRE_API_KEY`): payments, reads and closes under another key are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

impl Session {
    /// What is left of the cap for new payments.
    pub fn remaining(&self) -> U256 {
        self.cap.saturating_sub(self.settled).saturating_sub(self.pending)
    }

    /// Why a payment of `amount` cannot be captured now, if it cannot.
    fn refusal(&self, amount: U256) -> Option<Refusal> {
        match self.status {
            Status::Closed => Some(Refusal::Closed),
            Status::Settling => Some(Refusal::Settling),
            Status::Open if amount > self.remaining() => Some(Refusal::CapExhausted),
            Status::Open => None,
        }
    }

    /// Whether a payment to `pay_to` in `asset` from the caller `api_key` may go into this session.
    pub fn accepts(&self, pay_to: Address, asset: Address, api_key: Option<&str>) -> bool {
        self.pay_to == pay_to && self.asset == asset && self.api_key.as_deref() == api_key
    }
}

/// Why a session refused a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    CapExhausted,
    Closed,
    Settling,
    /// The payment names another recipient, asset or API key than the session's.
    Mismatch,
    /// No such session.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SessionOp {
    /// Adds `amount` to the pending spend, opening the session as `opening` on its first payment when
    /// `open` (else an absent session answers `Missing`: the host admits it with its owner first).
    Capture {
        amount: U256,
        now_ms: u64,
        opening: Box<Session>,
        #[serde(default)]
        open: bool,
    },
    /// Whether `amount` could be captured now (verify); changes nothing.
    Check {
        amount: U256,
        pay_to: Address,
        asset: Address,
        #[serde(default)]
        api_key: Option<String>,
    },
    /// Starts a batch of the pending spend; a batch stuck in `settling` for `stale_after_ms` is
    /// begun again, with the same `seq`.
    Begin {
        now_ms: u64,
        reason: String,
        close_after: bool,
        stale_after_ms: u64,
    },
    /// Records the outcome of batch `seq`; `deadline_buffer_secs` closes a session near its deadline.
    Finish {
        seq: u64,
        now_ms: u64,
        outcome: BatchOutcome,
        deadline_buffer_secs: u64,
    },
    /// Closes a session that has nothing pending.
    Close {
        now_ms: u64,
    },
    Read,
}

/// How a batch ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum BatchOutcome {
    Settled {
        transaction: String,
    },
    /// Nothing moved (refused before sending, or reverted): the pending spend stays to retry, but for
    /// `released`.
    Failed {
        error: String,
        transaction: Option<String>,
        /// What leaves the pending spend with this failure: with `UPTO_SETTLE_MODE=immediate`, the
        /// capture of the settle that answers it (its resource server was told the payment failed, so
        /// no later batch may collect it).
        #[serde(default, skip_serializing_if = "U256::is_zero")]
        released: U256,
    },
    /// Sent, outcome not known yet: the batch stays `settling` and is reconciled from its receipt.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum SessionReply {
    Session { session: Box<Session> },
    Refused { refusal: Refusal, session: Option<Box<Session>> },
    Batch { batch: Option<Batch>, session: Box<Session> },
    Missing,
}

/// Applies `op` to the stored session: the reply and the session to store (`None`: unchanged/absent).
pub fn apply(stored: Option<Session>, op: SessionOp) -> (SessionReply, Option<Session>) {
    match (stored, op) {
        (None, SessionOp::Capture { open: false, .. }) => (SessionReply::Missing, None),
        (None, SessionOp::Capture { amount, now_ms, opening, open: true }) => {
            let mut session = *opening;
            if amount > session.cap {
                return (SessionReply::Refused { refusal: Refusal::CapExhausted, session: None }, None);
            }
            session.pending = amount;
            session.last_activity_ms = now_ms;
            session.created_ms = now_ms;
            (SessionReply::Session { session: Box::new(session.clone()) }, Some(session))
        }
        (Some(mut session), SessionOp::Capture { amount, now_ms, opening, .. }) => {
            let refusal = if !session.accepts(opening.pay_to, opening.asset, opening.api_key.as_deref()) {
                Some(Refusal::Mismatch)
            } else {
                session.refusal(amount)
            };
            if let Some(refusal) = refusal {
                return (SessionReply::Refused { refusal, session: Some(Box::new(session.clone())) }, Some(session));
            }
            session.pending += amount;
            session.last_activity_ms = now_ms;
            (SessionReply::Session { session: Box::new(session.clone()) }, Some(session))
        }
        (None, SessionOp::Check { .. }) => (SessionReply::Missing, None),
        (Some(session), SessionOp::Check { amount, pay_to, asset, api_key }) => {
            let refusal = match session.refusal(amount) {
                _ if !session.accepts(pay_to, asset, api_key.as_deref()) => Some(Refusal::Mismatch),
                // A batch on its way does not make the payment invalid; its capture waits for it.
                Some(Refusal::Settling) if amount <= session.remaining() => None,
                other => other,
            };
            let reply = match refusal {
                Some(refusal) => SessionReply::Refused { refusal, session: Some(Box::new(session.clone())) },
                None => SessionReply::Session { session: Box::new(session.clone()) },
            };
            (reply, Some(session))
        }
        (Some(session), SessionOp::Begin { now_ms, reason, close_after, stale_after_ms }) => {
            begin(session, now_ms, reason, close_after, stale_after_ms)
        }
        (Some(session), SessionOp::Finish { seq, now_ms, outcome, deadline_buffer_secs }) => {
            finish(session, seq, now_ms, outcome, deadline_buffer_secs)
        }
        (Some(mut session), SessionOp::Close { .. }) => {
            if session.status == Status::Open && session.pending.is_zero() {
                session.status = Status::Closed;
            }
            (SessionReply::Session { session: Box::new(session.clone()) }, Some(session))
        }
        (Some(session), SessionOp::Read) => {
            (SessionReply::Session { session: Box::new(session.clone()) }, Some(session))
        }
        (None, _) => (SessionReply::Missing, None),
    }
}

fn begin(
    mut session: Session,
    now_ms: u64,
    reason: String,
    close_after: bool,
    stale_after_ms: u64,
) -> (SessionReply, Option<Session>) {
    let batch = match (&session.status, &session.settling) {
        (Status::Settling, Some(batch)) if now_ms.saturating_sub(batch.since_ms) >= stale_after_ms => {
            // The same seq: the settlement ledger knows whether it was sent, and what became of it.
            let batch = Batch { since_ms: now_ms, close_after: batch.close_after || close_after, ..batch.clone() };
            Some(batch)
        }
        (Status::Settling, _) => None,
        _ if session.pending.is_zero() => {
            if close_after {
                session.status = Status::Closed;
            }
            None
        }
        _ => {
            // A closed session's pending spend is still collected, and the session stays closed.
            let close_after = close_after || session.status == Status::Closed;
            let batch = Batch { seq: session.batches, amount: session.pending, since_ms: now_ms, reason, close_after };
            session.batches += 1;
            Some(batch)
        }
    };
    if let Some(batch) = &batch {
        session.status = Status::Settling;
        session.settling = Some(batch.clone());
    }
    (SessionReply::Batch { batch, session: Box::new(session.clone()) }, Some(session))
}

fn finish(
    mut session: Session,
    seq: u64,
    now_ms: u64,
    outcome: BatchOutcome,
    deadline_buffer_secs: u64,
) -> (SessionReply, Option<Session>) {
    let Some(batch) = session.settling.clone().filter(|b| b.seq == seq) else {
        // Not the batch in flight (finished already, or a late duplicate): nothing changes.
        return (SessionReply::Session { session: Box::new(session.clone()) }, Some(session));
    };
    let record = |success, transaction, error| LastSettlement {
        at_ms: now_ms,
        reason: batch.reason.clone(),
        success,
        amount: batch.amount,
        transaction,
        error,
    };
    match outcome {
        BatchOutcome::Unknown => {}
        BatchOutcome::Settled { transaction } => {
            session.settled += batch.amount;
            session.pending = session.pending.saturating_sub(batch.amount);
            let near_deadline = session.deadline.saturating_mul(1000) <= now_ms + deadline_buffer_secs * 1000;
            let done = batch.close_after || session.settled >= session.cap || near_deadline;
            session.status = if done { Status::Closed } else { Status::Open };
            session.settling = None;
            session.last_settlement = Some(record(true, Some(transaction), None));
        }
        BatchOutcome::Failed { error, transaction, released } => {
            session.pending = session.pending.saturating_sub(released);
            session.status = if batch.close_after { Status::Closed } else { Status::Open };
            session.settling = None;
            session.last_settlement = Some(record(false, transaction, Some(error)));
        }
    }
    (SessionReply::Session { session: Box::new(session.clone()) }, Some(session))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn opening(cap: u64) -> Session {
        Session {
            id: "s".into(),
            network: "eip155:84532".into(),
            asset: Address::repeat_byte(1),
            owner: Address::repeat_byte(2),
            spender: Address::repeat_byte(3),
            pay_to: Address::repeat_byte(4),
            cap: U256::from(cap),
            deadline: 10_000,
            signed_deadline: None,
            permit_nonce: U256::ZERO,
            signature: Bytes::new(),
            name: "USD Coin".into(),
            version: "2".into(),
            pending: U256::ZERO,
            settled: U256::ZERO,
            status: Status::Open,
            created_ms: 0,
            last_activity_ms: 0,
            batches: 0,
            settling: None,
            last_settlement: None,
            api_key: None,
        }
    }

    fn capture(stored: Option<Session>, amount: u64, now_ms: u64) -> (SessionReply, Option<Session>) {
        apply(
            stored,
            SessionOp::Capture { amount: U256::from(amount), now_ms, opening: Box::new(opening(100)), open: true },
        )
    }

    fn refusal(reply: &SessionReply) -> Option<Refusal> {
        match reply {
            SessionReply::Refused { refusal, .. } => Some(*refusal),
            _ => None,
        }
    }

    #[test]
    fn a_capture_opens_a_session_only_when_told_to() {
        let op = SessionOp::Capture { amount: U256::from(1), now_ms: 1, opening: Box::new(opening(100)), open: false };
        assert_eq!(apply(None, op), (SessionReply::Missing, None));
    }

    #[test]
    fn captures_never_exceed_the_cap() {
        let (_, s) = capture(None, 60, 1);
        let (reply, s) = capture(s, 41, 2);
        assert_eq!(refusal(&reply), Some(Refusal::CapExhausted));
        let (_, s) = capture(s, 40, 3);
        let s = s.unwrap();
        assert_eq!((s.pending, s.remaining(), s.last_activity_ms), (U256::from(100), U256::ZERO, 3));
        let (reply, _) = capture(Some(s.clone()), 1, 4);
        assert_eq!(refusal(&reply), Some(Refusal::CapExhausted));
        let mut other = opening(100);
        other.pay_to = Address::repeat_byte(9);
        let (reply, _) = apply(
            Some(s.clone()),
            SessionOp::Capture { amount: U256::ZERO, now_ms: 5, opening: Box::new(other), open: true },
        );
        assert_eq!(refusal(&reply), Some(Refusal::Mismatch));
    }

    #[test]
    fn a_session_refuses_another_recipient_asset_or_api_key() {
        let mut keyed = opening(100);
        keyed.api_key = Some("key:a".into());
        let (_, s) = apply(
            None,
            SessionOp::Capture { amount: U256::from(1), now_ms: 1, opening: Box::new(keyed.clone()), open: true },
        );
        let variants: [fn(&mut Session); 4] = [
            |o| o.pay_to = Address::repeat_byte(9),
            |o| o.asset = Address::repeat_byte(9),
            |o| o.api_key = Some("key:b".into()),
            |o| o.api_key = None,
        ];
        for change in variants {
            let mut other = keyed.clone();
            change(&mut other);
            let capture =
                SessionOp::Capture { amount: U256::from(1), now_ms: 2, opening: Box::new(other.clone()), open: true };
            let (reply, after) = apply(s.clone(), capture);
            assert_eq!(refusal(&reply), Some(Refusal::Mismatch));
            assert_eq!(after.unwrap().pending, U256::from(1), "nothing captured");
            let check = SessionOp::Check {
                amount: U256::from(1),
                pay_to: other.pay_to,
                asset: other.asset,
                api_key: other.api_key,
            };
            assert_eq!(refusal(&apply(s.clone(), check).0), Some(Refusal::Mismatch));
        }
        let (reply, _) =
            apply(s, SessionOp::Capture { amount: U256::from(1), now_ms: 3, opening: Box::new(keyed), open: true });
        assert!(matches!(reply, SessionReply::Session { .. }), "{reply:?}");
    }

    #[test]
    fn a_batch_locks_the_session_and_its_outcome_unlocks_it() {
        let (_, s) = capture(None, 30, 1);
        let begin = |s, now_ms| {
            apply(
                s,
                SessionOp::Begin { now_ms, reason: "idle_timeout".into(), close_after: false, stale_after_ms: 300 },
            )
        };
        let (reply, s) = begin(s, 10);
        let SessionReply::Batch { batch: Some(batch), .. } = reply else { panic!("{reply:?}") };
        assert_eq!((batch.seq, batch.amount), (0, U256::from(30)));
        assert_eq!(refusal(&capture(s.clone(), 1, 11).0), Some(Refusal::Settling));
        let (reply, s) = begin(s, 20);
        assert!(matches!(reply, SessionReply::Batch { batch: None, .. }), "the lock holds");
        // Outcome unknown: still settling; once stale the same batch is begun again.
        let finish =
            |s, seq, outcome| apply(s, SessionOp::Finish { seq, now_ms: 400, outcome, deadline_buffer_secs: 60 });
        let (_, s) = finish(s, 0, BatchOutcome::Unknown);
        let (reply, s) = begin(s, 400);
        let SessionReply::Batch { batch: Some(again), .. } = reply else { panic!("{reply:?}") };
        assert_eq!((again.seq, again.amount), (0, U256::from(30)));
        let (_, s) = finish(s, 0, BatchOutcome::Settled { transaction: "0xabc".into() });
        let s = s.unwrap();
        assert_eq!((s.status, s.pending, s.settled, s.batches), (Status::Open, U256::ZERO, U256::from(30), 1));
        // A late duplicate outcome of the same batch changes nothing.
        let (_, s) = finish(Some(s.clone()), 0, BatchOutcome::Settled { transaction: "0xabc".into() });
        assert_eq!(s.unwrap().settled, U256::from(30));
    }

    #[test]
    fn a_failed_batch_keeps_its_spend_and_a_closing_one_closes() {
        let (_, s) = capture(None, 30, 1);
        let begin = |s, close_after| {
            apply(s, SessionOp::Begin { now_ms: 5, reason: "manual".into(), close_after, stale_after_ms: 300 })
        };
        let (_, s) = begin(s, false);
        let failed =
            BatchOutcome::Failed { error: "insufficient_balance".into(), transaction: None, released: U256::ZERO };
        let (_, s) = apply(s, SessionOp::Finish { seq: 0, now_ms: 6, outcome: failed, deadline_buffer_secs: 60 });
        let s = s.unwrap();
        assert_eq!((s.status, s.pending), (Status::Open, U256::from(30)));
        let (_, s) = begin(Some(s), true);
        let settled = BatchOutcome::Settled { transaction: "0x1".into() };
        let (_, s) = apply(s, SessionOp::Finish { seq: 1, now_ms: 7, outcome: settled, deadline_buffer_secs: 60 });
        assert_eq!(s.unwrap().status, Status::Closed);
    }

    #[test]
    fn a_closed_session_with_pending_spend_settles_it_and_stays_closed() {
        let (_, s) = capture(None, 30, 1);
        let mut s = s.unwrap();
        s.status = Status::Closed;
        let begin =
            SessionOp::Begin { now_ms: 5, reason: "retry_closed".into(), close_after: false, stale_after_ms: 300 };
        let (reply, s) = apply(Some(s), begin);
        assert!(matches!(reply, SessionReply::Batch { batch: Some(Batch { close_after: true, .. }), .. }));
        let settled = BatchOutcome::Settled { transaction: "0x1".into() };
        let (_, s) = apply(s, SessionOp::Finish { seq: 0, now_ms: 6, outcome: settled, deadline_buffer_secs: 60 });
        let s = s.unwrap();
        assert_eq!((s.status, s.settled), (Status::Closed, U256::from(30)));
    }

    #[test]
    fn sessions_round_trip_through_json() {
        let s = opening(5);
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Session>(&text).unwrap(), s);
    }
}
