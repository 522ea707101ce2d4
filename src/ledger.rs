//! The settlement ledger: one record per payment identity, so a payment is sent at most once and
//! exactly one `/settle` ever answers its success, across isolates, restarts, routes and dialects.
//!
//! A claim is held by one settle at a time. A settle of a held payment is refused at once; one of a
//! payment whose settle stopped waiting (it answered `settlement_pending`, or its isolate died) takes
//! the hold over and reconciles from the chain; the settle that turns the entry `Done` with a success
//! is the only one that answers it. Later settles of a done payment are refused.
//!
//! The state transitions are pure functions here; a host stores the entries (a Durable Object per key
//! in the Worker, a map in memory for tests and single-process embedders) and applies them atomically.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use std::future::Future;

use crate::chains::evm::sender::Journal;
use alloy_primitives::B256;

use crate::protocol::model::PaymentRequest;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("settlement ledger unavailable: {0}")]
pub struct LedgerError(pub String);

/// Applies one [`LedgerOp`] to one payment's entry, atomically with respect to every
/// other operation on the same key (a Durable Object per key in the Worker).
pub trait Ledger {
    fn apply(&self, key: &str, op: LedgerOp) -> impl Future<Output = Result<LedgerReply, LedgerError>>;
}

/// Applies a claim ([`LedgerOp::Claim`] or [`LedgerOp::ClaimToSend`]) to `key` and answers the
/// [`Claim`]; a ledger that answers anything else is unavailable.
pub async fn apply_claim<L: Ledger>(ledger: &L, key: &str, op: LedgerOp) -> Result<Claim, LedgerError> {
    match ledger.apply(key, op).await? {
        LedgerReply::Claim(claim) => Ok(claim),
        other => Err(LedgerError(format!("ledger answered {other:?}"))),
    }
}

/// Where a settle's transaction hash is written before the transaction is broadcast: the payment's
/// ledger entry. A settle cut off after its broadcast is then reconciled from the receipt, never
/// reported as failed nor sent again. Without a key (a wallet deployment, not the payment itself)
/// nothing is written.
pub struct LedgerJournal<'a, L> {
    pub ledger: &'a L,
    pub key: Option<&'a str>,
}

impl<L: Ledger> Journal for LedgerJournal<'_, L> {
    async fn record(&self, transaction: B256, raw: &[u8]) -> Result<(), String> {
        let Some(key) = self.key else { return Ok(()) };
        let raw = Some(format!("0x{}", hex::encode(raw)));
        let record = LedgerOp::RecordTransaction { transaction: transaction.to_string(), raw };
        self.ledger.apply(key, record).await.map(drop).map_err(|e| e.to_string())
    }

    fn key(&self) -> Option<&str> {
        self.key
    }
}

/// How long a claimant holds a payment it claimed, beyond the wait for its receipt: another settle of
/// the payment meanwhile is answered at once as a duplicate. A hold that runs out (its isolate died)
/// lets the next settle of the same payment take over: send, if nothing was sent, else reconcile.
pub const HOLD_MARGIN_MS: u64 = 30_000;

/// What exactly a settle claims: the requirements that decide what was owed (network, scheme, asset,
/// payTo, amount) and the scheme's signed payment (`identity`), hashed. A Done or in-flight entry
/// answers only a request with the same fingerprint, so a different payment reusing an identity (the
/// same EIP-3009 nonce with another amount, a settled Solana transaction against higher
/// requirements) never gets another payment's success.
pub fn fingerprint<P>(request: &PaymentRequest<P>, identity: &str) -> String {
    use sha2::{Digest, Sha256};
    let r = &request.requirements;
    let amount = r.amount.to_string();
    let parts =
        [request.network.caip2, r.scheme.as_str(), r.asset.as_str(), r.pay_to.as_str(), amount.as_str(), identity];
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// A settle's outcome as the ledger keeps it (reason codes in their v2 form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettleRecord {
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    pub payer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_number: Option<u64>,
    pub at_ms: u64,
}

impl SettleRecord {
    /// A payment settled by `transaction`.
    pub fn success(transaction: String, payer: String, block_number: Option<u64>, at_ms: u64) -> Self {
        let transaction = Some(transaction);
        SettleRecord { success: true, reason: None, message: None, transaction, payer, block_number, at_ms }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LedgerEntry {
    InFlight {
        since_ms: u64,
        /// Until when the settle that claimed (or took over) the payment works on it; 0 once it let go.
        #[serde(default)]
        held_until_ms: u64,
        /// The latest transaction sent for the payment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transaction: Option<String>,
        /// Earlier transactions of the same nonce that fee bumps replaced: any one of them may be the
        /// one mined.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        replaced: Vec<String>,
        /// The signed bytes of `transaction` (EVM: `0x` hex; Solana: the base64 wire transaction): a
        /// settle cut off before its broadcast left a transaction no node knows, and the same bytes can
        /// be broadcast again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        raw: Option<String>,
        /// What exactly was claimed (see [`fingerprint`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
    },
    Done {
        record: SettleRecord,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
    },
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "claim", rename_all = "snake_case")]
pub enum Claim {
    /// This caller now holds the payment, and nothing was sent for it: it settles.
    Acquired,
    /// This caller now holds a payment whose transaction was sent by a settle that let go (answered
    /// `settlement_pending`, or died): it reconciles from the chain and sends nothing new, unless the
    /// transactions can never be mined.
    Resume {
        since_ms: u64,
        transaction: String,
        /// Earlier transactions that fee bumps replaced.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        replaced: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        raw: Option<String>,
    },
    /// Another settle holds the payment now (and may have sent `transaction`).
    Busy {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transaction: Option<String>,
    },
    /// Settled (or finally failed) before: its outcome.
    Done { record: SettleRecord },
    /// The key is held by a different payment (another signature, amount or recipient under the
    /// same identity): its outcome is not this request's to answer.
    Conflict,
}

/// The request a ledger host applies atomically to one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum LedgerOp {
    Claim {
        now_ms: u64,
        /// How long the claimant will work on the payment (its wait for a receipt, and a margin).
        #[serde(default)]
        hold_ms: u64,
        /// The claiming request's [`fingerprint`]; `None` for keys only the facilitator makes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
    },
    /// A [`LedgerOp::Claim`] that, when it acquires the payment with nothing sent for it, also records
    /// the transaction about to be broadcast (as [`LedgerOp::RecordTransaction`]), in the same write:
    /// the claim and the record before the broadcast in one round trip. Any other answer records
    /// nothing.
    ClaimToSend {
        now_ms: u64,
        hold_ms: u64,
        fingerprint: String,
        transaction: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        raw: Option<String>,
    },
    RecordTransaction {
        transaction: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        raw: Option<String>,
    },
    /// The recorded `transaction` (and every one it replaced) can never be mined: its nonce went to
    /// another transaction. The claimant keeps its hold with nothing sent, and settles anew.
    Abandon {
        transaction: String,
    },
    /// The final outcome. The reply says whether this call made it final ([`LedgerReply::Completed`]):
    /// only that caller may answer a success.
    Complete {
        record: SettleRecord,
    },
    /// The claimant lets go: a claim that sent nothing is dropped (the payment may be settled anew);
    /// one that sent a transaction stays, free for the next settle of the payment to reconcile.
    Release,
    Read,
}

/// Applies `op` to the current entry: the reply and the entry to store (`None` deletes it).
pub fn apply(mut entry: Option<LedgerEntry>, op: LedgerOp) -> (LedgerReply, Option<LedgerEntry>) {
    match op {
        LedgerOp::Claim { now_ms, hold_ms, fingerprint } => {
            claim(entry, now_ms, now_ms.saturating_add(hold_ms), fingerprint)
        }
        LedgerOp::ClaimToSend { now_ms, hold_ms, fingerprint, transaction, raw } => {
            match claim(entry, now_ms, now_ms.saturating_add(hold_ms), Some(fingerprint)) {
                (reply @ LedgerReply::Claim(Claim::Acquired), entry) => {
                    (reply, apply(entry, LedgerOp::RecordTransaction { transaction, raw }).1)
                }
                other => other,
            }
        }
        LedgerOp::RecordTransaction { transaction, raw } => {
            if let Some(LedgerEntry::InFlight { transaction: latest, replaced, raw: signed, .. }) = &mut entry {
                replaced.extend(latest.take().filter(|previous| *previous != transaction));
                (*latest, *signed) = (Some(transaction), raw);
            }
            (LedgerReply::Ok, entry)
        }
        LedgerOp::Abandon { transaction } => {
            if let Some(LedgerEntry::InFlight { transaction: latest, replaced, raw, .. }) = &mut entry {
                if latest.as_ref() == Some(&transaction) {
                    (*latest, *raw) = (None, None);
                    replaced.clear();
                }
            }
            (LedgerReply::Ok, entry)
        }
        LedgerOp::Complete { record } => match entry {
            // The first final outcome stands, and only its caller answers it.
            Some(done @ LedgerEntry::Done { .. }) => (LedgerReply::Completed { first: false }, Some(done)),
            Some(LedgerEntry::InFlight { fingerprint, .. }) => {
                (LedgerReply::Completed { first: true }, Some(LedgerEntry::Done { record, fingerprint }))
            }
            None => (LedgerReply::Completed { first: true }, Some(LedgerEntry::Done { record, fingerprint: None })),
        },
        LedgerOp::Release => match entry {
            Some(LedgerEntry::InFlight { transaction: None, .. }) | None => (LedgerReply::Ok, None),
            // Never forget a sent transaction: the next settle of the payment reconciles it.
            mut kept => {
                if let Some(LedgerEntry::InFlight { held_until_ms, .. }) = &mut kept {
                    *held_until_ms = 0;
                }
                (LedgerReply::Ok, kept)
            }
        },
        LedgerOp::Read => (LedgerReply::Entry { entry: entry.clone() }, entry),
    }
}

/// A claim: taken when free, taken over when its holder let go, else refused with what is known.
fn claim(
    entry: Option<LedgerEntry>,
    now_ms: u64,
    held_until_ms: u64,
    fingerprint: Option<String>,
) -> (LedgerReply, Option<LedgerEntry>) {
    let differs = |stored: &Option<String>| matches!((stored, &fingerprint), (Some(a), Some(b)) if a != b);
    match entry {
        None => {
            let fresh = LedgerEntry::InFlight {
                since_ms: now_ms,
                held_until_ms,
                transaction: None,
                replaced: Vec::new(),
                raw: None,
                fingerprint,
            };
            (LedgerReply::Claim(Claim::Acquired), Some(fresh))
        }
        Some(
            LedgerEntry::InFlight { fingerprint: ref stored, .. } | LedgerEntry::Done { fingerprint: ref stored, .. },
        ) if differs(stored) => (LedgerReply::Claim(Claim::Conflict), entry),
        Some(LedgerEntry::Done { ref record, .. }) => {
            (LedgerReply::Claim(Claim::Done { record: record.clone() }), entry)
        }
        Some(LedgerEntry::InFlight { held_until_ms: holder, ref transaction, .. }) if now_ms < holder => {
            (LedgerReply::Claim(Claim::Busy { transaction: transaction.clone() }), entry)
        }
        // Its holder let go (or died): this caller holds it now, and settles (nothing was sent) or
        // reconciles what was sent.
        Some(LedgerEntry::InFlight { since_ms, held_until_ms: _, transaction, replaced, raw, fingerprint: stored }) => {
            let reply = match &transaction {
                None => Claim::Acquired,
                Some(latest) => Claim::Resume {
                    since_ms,
                    transaction: latest.clone(),
                    replaced: replaced.clone(),
                    raw: raw.clone(),
                },
            };
            // A claim that sent nothing starts anew; one that sent keeps when it began.
            let since_ms = if transaction.is_some() { since_ms } else { now_ms };
            let fingerprint = stored.or(fingerprint);
            let entry = LedgerEntry::InFlight { since_ms, held_until_ms, transaction, replaced, raw, fingerprint };
            (LedgerReply::Claim(reply), Some(entry))
        }
    }
}

/// What the ledger answers an operation; JSON between the Worker and the ledger Durable Object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum LedgerReply {
    Ok,
    Claim(Claim),
    /// The answer to [`LedgerOp::Read`]. A struct variant: an internally tagged enum cannot serialize
    /// a newtype variant holding `None`, and the Worker's ledger sends every reply as JSON.
    Entry {
        entry: Option<LedgerEntry>,
    },
    /// The answer to [`LedgerOp::Complete`]: whether this call made the outcome final.
    Completed {
        first: bool,
    },
}

/// A ledger in one process's memory: for tests and single-process embedders, not for Workers.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    entries: RefCell<HashMap<String, LedgerEntry>>,
}

impl Ledger for MemoryLedger {
    async fn apply(&self, key: &str, op: LedgerOp) -> Result<LedgerReply, LedgerError> {
        let mut entries = self.entries.borrow_mut();
        let (reply, next) = apply(entries.remove(key), op);
        if let Some(next) = next {
            entries.insert(key.to_string(), next);
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOLD: u64 = 1_000;

    fn record(success: bool) -> SettleRecord {
        SettleRecord {
            success,
            reason: None,
            message: None,
            transaction: Some("0xabc".into()),
            payer: "0x1".into(),
            block_number: None,
            at_ms: 5,
        }
    }

    fn claim_at(now_ms: u64) -> LedgerOp {
        LedgerOp::Claim { now_ms, hold_ms: HOLD, fingerprint: None }
    }

    fn sent(entry: Option<LedgerEntry>, hash: &str) -> Option<LedgerEntry> {
        apply(entry, LedgerOp::RecordTransaction { transaction: hash.into(), raw: None }).1
    }

    #[test]
    fn a_held_payment_is_refused_at_once_and_only_the_completing_call_is_first() {
        let (reply, entry) = apply(None, claim_at(1));
        assert_eq!(reply, LedgerReply::Claim(Claim::Acquired));
        let (reply, entry) = apply(entry, claim_at(2));
        assert_eq!(reply, LedgerReply::Claim(Claim::Busy { transaction: None }));
        let entry = sent(entry, "0xabc");
        let (reply, entry) = apply(entry, claim_at(3));
        assert_eq!(reply, LedgerReply::Claim(Claim::Busy { transaction: Some("0xabc".into()) }));
        let (reply, entry) = apply(entry, LedgerOp::Complete { record: record(true) });
        assert_eq!(reply, LedgerReply::Completed { first: true });
        let (reply, entry) = apply(entry, LedgerOp::Complete { record: record(false) });
        assert_eq!(reply, LedgerReply::Completed { first: false }, "a late completion is not first");
        let (_, entry) = apply(entry, LedgerOp::Release);
        let (reply, _) = apply(entry, claim_at(9));
        assert_eq!(reply, LedgerReply::Claim(Claim::Done { record: record(true) }), "the first outcome stands");
    }

    #[test]
    fn a_release_frees_a_claim_that_sent_nothing_and_an_expired_hold_is_taken_over() {
        let (_, entry) = apply(None, claim_at(1));
        let (_, entry) = apply(entry, LedgerOp::Release);
        assert_eq!(entry, None);
        let (_, entry) = apply(None, claim_at(1));
        let (reply, entry) = apply(entry, claim_at(1 + HOLD));
        assert_eq!(reply, LedgerReply::Claim(Claim::Acquired), "its holder died before sending");
        let (reply, _) = apply(entry, claim_at(2 + HOLD));
        assert!(matches!(reply, LedgerReply::Claim(Claim::Busy { .. })), "and the new holder holds it");
    }

    #[test]
    fn a_sent_payment_whose_holder_let_go_is_resumed_by_exactly_one_settle() {
        let (_, entry) = apply(None, claim_at(1));
        let entry = sent(entry, "0xabc");
        let (_, entry) = apply(entry, LedgerOp::Release);
        let resume = Claim::Resume { since_ms: 1, transaction: "0xabc".into(), replaced: vec![], raw: None };
        let (reply, entry) = apply(entry, claim_at(2));
        assert_eq!(reply, LedgerReply::Claim(resume.clone()), "the settlement_pending retry reconciles");
        let (reply, entry) = apply(entry, claim_at(3));
        assert!(matches!(reply, LedgerReply::Claim(Claim::Busy { .. })), "a concurrent retry is refused");
        let (reply, _) = apply(entry, claim_at(2 + HOLD));
        assert_eq!(reply, LedgerReply::Claim(resume), "a resumer that died is taken over too");
    }

    #[test]
    fn a_fee_bump_keeps_every_hash_it_replaced() {
        let (_, entry) = apply(None, claim_at(1));
        let (_, entry) = apply(entry, LedgerOp::RecordTransaction { transaction: "0xa".into(), raw: None });
        let (_, entry) =
            apply(entry, LedgerOp::RecordTransaction { transaction: "0xb".into(), raw: Some("0x02".into()) });
        let (_, entry) =
            apply(entry, LedgerOp::RecordTransaction { transaction: "0xb".into(), raw: Some("0x02".into()) });
        let (reply, entry) = apply(entry, claim_at(1 + HOLD));
        let (latest, raw) = ("0xb".to_string(), Some("0x02".into()));
        let resume = Claim::Resume { since_ms: 1, transaction: latest, replaced: vec!["0xa".into()], raw };
        assert_eq!(reply, LedgerReply::Claim(resume));
        // Abandoning names the latest transaction: a stale abandon changes nothing.
        let (_, entry) = apply(entry, LedgerOp::Abandon { transaction: "0xa".into() });
        assert!(matches!(entry, Some(LedgerEntry::InFlight { transaction: Some(_), .. })));
        let (_, entry) = apply(entry, LedgerOp::Abandon { transaction: "0xb".into() });
        let Some(LedgerEntry::InFlight { transaction: None, replaced, held_until_ms, .. }) = entry else {
            panic!("an abandoned payment stays claimed by its holder, with nothing sent: {entry:?}")
        };
        assert!(replaced.is_empty());
        assert_eq!(held_until_ms, 1 + 2 * HOLD);
    }

    #[test]
    fn a_claim_to_send_records_its_transaction_only_when_it_acquires_a_payment_with_nothing_sent() {
        let claim_to_send = |now_ms, fingerprint: &str, hash: &str| LedgerOp::ClaimToSend {
            now_ms,
            hold_ms: HOLD,
            fingerprint: fingerprint.into(),
            transaction: hash.into(),
            raw: Some(format!("raw {hash}")),
        };
        let text = serde_json::to_string(&claim_to_send(1, "a", "0x1")).expect("serializes");
        assert_eq!(serde_json::from_str::<LedgerOp>(&text).expect("parses"), claim_to_send(1, "a", "0x1"), "{text}");
        let (reply, entry) = apply(None, claim_to_send(1, "a", "0x1"));
        assert_eq!(reply, LedgerReply::Claim(Claim::Acquired));
        let Some(LedgerEntry::InFlight { transaction: Some(ref hash), raw: Some(ref raw), .. }) = entry else {
            panic!("claimed and recorded in one write: {entry:?}")
        };
        assert_eq!((hash.as_str(), raw.as_str()), ("0x1", "raw 0x1"));

        // Held, held by another payment, or let go after sending: nothing is recorded over it.
        let (reply, entry) = apply(entry, claim_to_send(2, "a", "0x2"));
        assert_eq!(reply, LedgerReply::Claim(Claim::Busy { transaction: Some("0x1".into()) }));
        let (reply, entry) = apply(entry, claim_to_send(3, "b", "0x3"));
        assert_eq!(reply, LedgerReply::Claim(Claim::Conflict));
        let (_, entry) = apply(entry, LedgerOp::Release);
        let (reply, entry) = apply(entry, claim_to_send(4, "a", "0x4"));
        let resume =
            Claim::Resume { since_ms: 1, transaction: "0x1".into(), replaced: vec![], raw: Some("raw 0x1".into()) };
        assert_eq!(reply, LedgerReply::Claim(resume), "the retry reconciles what was sent");
        let (_, entry) = apply(entry, LedgerOp::Complete { record: record(true) });
        let (reply, entry) = apply(entry, claim_to_send(5, "a", "0x5"));
        assert_eq!(reply, LedgerReply::Claim(Claim::Done { record: record(true) }));
        assert!(matches!(entry, Some(LedgerEntry::Done { .. })));

        // A claim that sent nothing and was released is acquired anew, with the new transaction.
        let (_, entry) = apply(None, claim_at(1));
        let (_, entry) = apply(entry, LedgerOp::Release);
        let (_, entry) = apply(entry, claim_to_send(6, "a", "0x6"));
        assert!(
            matches!(entry, Some(LedgerEntry::InFlight { transaction: Some(ref t), .. }) if t == "0x6"),
            "{entry:?}"
        );
    }

    #[test]
    fn a_different_payment_under_a_claimed_key_gets_a_conflict_never_the_outcome() {
        let claim =
            |fp: Option<&str>, now_ms| LedgerOp::Claim { now_ms, hold_ms: HOLD, fingerprint: fp.map(str::to_string) };
        let (_, entry) = apply(None, claim(Some("a"), 1));
        let (reply, entry) = apply(entry, claim(Some("b"), 2));
        assert_eq!(reply, LedgerReply::Claim(Claim::Conflict), "in flight");
        let entry = sent(entry, "0x1");
        let (_, entry) = apply(entry, LedgerOp::Release);
        let (reply, entry) = apply(entry, claim(Some("b"), 3));
        assert_eq!(reply, LedgerReply::Claim(Claim::Conflict), "let go: another payment never resumes it");
        let (_, entry) = apply(entry, LedgerOp::Complete { record: record(true) });
        let (reply, entry) = apply(entry, claim(Some("b"), 4));
        assert_eq!(reply, LedgerReply::Claim(Claim::Conflict), "done");
        let (reply, entry) = apply(entry, claim(Some("a"), 5));
        assert_eq!(reply, LedgerReply::Claim(Claim::Done { record: record(true) }));
        // Entries written before fingerprints, and the facilitator's own keys, match anything.
        let (reply, _) = apply(entry, claim(None, 6));
        assert!(matches!(reply, LedgerReply::Claim(Claim::Done { .. })));
    }

    #[test]
    fn entries_round_trip_through_json() {
        // An entry written before holds existed reads back as let go: the next settle reconciles it.
        let old: LedgerEntry = serde_json::from_str(r#"{"state":"in_flight","since_ms":3}"#).unwrap();
        let fresh = LedgerEntry::InFlight {
            since_ms: 3,
            held_until_ms: 0,
            transaction: None,
            replaced: vec![],
            raw: None,
            fingerprint: None,
        };
        assert_eq!(old, fresh);
        for entry in [
            LedgerEntry::InFlight {
                since_ms: 3,
                held_until_ms: 9,
                transaction: Some("0x1".into()),
                replaced: vec!["0x0".into()],
                raw: Some("0x02f8".into()),
                fingerprint: Some("ab".into()),
            },
            LedgerEntry::Done { record: record(true), fingerprint: None },
        ] {
            let text = serde_json::to_string(&entry).unwrap();
            assert_eq!(serde_json::from_str::<LedgerEntry>(&text).unwrap(), entry);
        }
    }

    /// The Worker's ledger sends every reply across the Durable Object boundary as JSON.
    #[test]
    fn every_reply_round_trips_through_json() {
        let resume = Claim::Resume { since_ms: 1, transaction: "0x1".into(), replaced: vec!["0x0".into()], raw: None };
        let done = LedgerEntry::Done { record: record(true), fingerprint: Some("f".into()) };
        for reply in [
            LedgerReply::Ok,
            LedgerReply::Claim(Claim::Acquired),
            LedgerReply::Claim(resume),
            LedgerReply::Claim(Claim::Busy { transaction: None }),
            LedgerReply::Claim(Claim::Done { record: record(false) }),
            LedgerReply::Claim(Claim::Conflict),
            LedgerReply::Entry { entry: None },
            LedgerReply::Entry { entry: Some(done) },
            LedgerReply::Completed { first: true },
        ] {
            // Fails to compile when a variant is added, so that this list stays complete.
            match &reply {
                LedgerReply::Ok | LedgerReply::Entry { .. } | LedgerReply::Completed { .. } => {}
                LedgerReply::Claim(
                    Claim::Acquired | Claim::Resume { .. } | Claim::Busy { .. } | Claim::Done { .. } | Claim::Conflict,
                ) => {}
            }
            let text = serde_json::to_string(&reply).unwrap_or_else(|e| panic!("{reply:?}: {e}"));
            assert_eq!(serde_json::from_str::<LedgerReply>(&text).unwrap(), reply, "{text}");
        }
    }

    #[test]
    fn a_read_of_an_unknown_key_answers_a_null_entry() {
        let text = serde_json::to_string(&LedgerReply::Entry { entry: None }).unwrap();
        assert_eq!(text, r#"{"reply":"entry","entry":null}"#);
    }

    /// Random interleavings of claims, completions, releases and reads from several settles of one
    /// payment: at most one `Completed { first: true }` ever, and never after a refusal.
    #[test]
    fn any_interleaving_completes_first_exactly_once() {
        use proptest::prelude::*;
        let step = (0u8..5, 0u64..4_000);
        proptest!(|(steps in proptest::collection::vec(step, 1..60))| {
            let mut entry = None;
            let mut firsts = 0;
            let mut now = 0;
            for (kind, advance) in steps {
                now += advance;
                let op = match kind {
                    0 => claim_at(now),
                    1 => LedgerOp::RecordTransaction { transaction: format!("0x{now}"), raw: None },
                    2 => LedgerOp::Complete { record: record(true) },
                    3 => LedgerOp::Release,
                    _ => LedgerOp::Read,
                };
                let (reply, next) = apply(entry, op);
                if reply == (LedgerReply::Completed { first: true }) {
                    firsts += 1;
                }
                entry = next;
            }
            prop_assert!(firsts <= 1);
        });
    }
}
