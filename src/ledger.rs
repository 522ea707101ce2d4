//! The settlement ledger: one record per payment identity, so a repeated `/settle` returns the first
//! outcome and never sends a second transaction, across isolates and restarts.
//!
//! The state transitions are pure functions here; a host stores the entries (a Durable Object per key
//! in the Worker, a map in memory for tests and single-process embedders) and applies them atomically.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::ports::LedgerError;
use alloy_primitives::{Address, B256};

use crate::protocol::model::{Payload, PaymentRequest};
use crate::protocol::normalize::parse_evm_address;

/// An in-flight claim without a transaction is taken over after this long: a live settle records its
/// transaction within one verify round trip of claiming, so its owner died before sending anything.
/// (A retry re-verifies, and the token refuses a used authorization anyway.)
pub const STALE_CLAIM_MS: u64 = 30_000;

/// What identifies a payment on chain: EIP-3009 `(chain, asset, from, nonce)`.
pub fn payment_key(request: &PaymentRequest) -> String {
    match &request.payload {
        Payload::Eip3009(p) => {
            let asset = parse_evm_address(&request.requirements.asset)
                .map(|a| a.to_string())
                .unwrap_or_else(|| request.requirements.asset.clone());
            eip3009_key(request.network.caip2, &asset, p.authorization.from, p.authorization.nonce)
        }
        // An upto payment is captured into its session; its batches have keys of their own.
        Payload::Permit(p) => format!("upto/{}", p.session_id),
        Payload::Svm(p) => match crate::chains::svm::Transaction::from_base64(&p.transaction) {
            Ok(transaction) => svm_key(request.network.caip2, &transaction),
            Err(_) => format!("svm/{}/undecodable", request.network.caip2),
        },
        // The scheme keys a Starknet payment once its fields are read (`exact_starknet::ledger_key`).
        Payload::Starknet(p) => format!("starknet/{}/{}/unverified", request.network.caip2, p.from),
    }
}

/// The key of a Solana payment: `caip2/<sha256 of the message>`, so a re-signed or re-encoded copy
/// of the same payment is the same entry.
pub fn svm_key(caip2: &str, transaction: &crate::chains::svm::Transaction) -> String {
    format!("svm/{caip2}/{}", crate::schemes::exact_svm::duplicate_key(transaction))
}

/// The key of an EIP-3009 authorization: `caip2/asset/from/nonce`, lower case.
pub fn eip3009_key(caip2: &str, asset: &str, from: Address, nonce: B256) -> String {
    format!("{caip2}/{asset}/{from}/{nonce}").to_ascii_lowercase()
}

/// What exactly a settle claims: the requirements that decide what was owed (network, scheme, asset,
/// payTo, amount) and the scheme's signed payment (`identity`), hashed. A Done or in-flight entry
/// answers only a request with the same fingerprint, so a different payment reusing an identity (the
/// same EIP-3009 nonce with another amount, a settled Solana transaction against higher
/// requirements) never gets another payment's success.
pub fn fingerprint(request: &PaymentRequest, identity: &str) -> String {
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LedgerEntry {
    InFlight {
        since_ms: u64,
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
    /// This caller now owns the settle.
    Acquired,
    /// Another settle of this payment is running (and may have sent `transaction`, replacing the
    /// `replaced` ones).
    InFlight {
        since_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transaction: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        replaced: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        raw: Option<String>,
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
        /// The claiming request's [`fingerprint`]; `None` for keys only the facilitator makes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
    },
    RecordTransaction {
        transaction: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        raw: Option<String>,
    },
    /// The recorded `transaction` (and every one it replaced) can never be mined: its nonce went to
    /// another transaction. The claim is dropped, so the payment can be settled anew.
    Abandon {
        transaction: String,
    },
    Complete {
        record: SettleRecord,
    },
    Release,
    Read,
}

/// Applies `op` to the current entry: the reply and the entry to store (`None` deletes it).
pub fn apply(entry: Option<LedgerEntry>, op: LedgerOp) -> (LedgerReply, Option<LedgerEntry>) {
    let fresh = |now_ms, fingerprint| LedgerEntry::InFlight {
        since_ms: now_ms,
        transaction: None,
        replaced: Vec::new(),
        raw: None,
        fingerprint,
    };
    match op {
        LedgerOp::Claim { now_ms, fingerprint } => {
            let differs = |stored: &Option<String>| matches!((stored, &fingerprint), (Some(a), Some(b)) if a != b);
            match entry {
                None => (LedgerReply::Claim(Claim::Acquired), Some(fresh(now_ms, fingerprint))),
                // Its owner died before sending anything: whoever claims next settles (the chain
                // refuses a second use of the identity anyway).
                Some(LedgerEntry::InFlight { since_ms, transaction: None, .. })
                    if now_ms.saturating_sub(since_ms) >= STALE_CLAIM_MS =>
                {
                    (LedgerReply::Claim(Claim::Acquired), Some(fresh(now_ms, fingerprint)))
                }
                Some(
                    LedgerEntry::InFlight { fingerprint: ref stored, .. }
                    | LedgerEntry::Done { fingerprint: ref stored, .. },
                ) if differs(stored) => (LedgerReply::Claim(Claim::Conflict), entry),
                Some(LedgerEntry::InFlight { since_ms, transaction, replaced, raw, fingerprint: stored }) => (
                    LedgerReply::Claim(Claim::InFlight {
                        since_ms,
                        transaction: transaction.clone(),
                        replaced: replaced.clone(),
                        raw: raw.clone(),
                    }),
                    Some(LedgerEntry::InFlight { since_ms, transaction, replaced, raw, fingerprint: stored }),
                ),
                Some(LedgerEntry::Done { record, fingerprint: stored }) => (
                    LedgerReply::Claim(Claim::Done { record: record.clone() }),
                    Some(LedgerEntry::Done { record, fingerprint: stored }),
                ),
            }
        }
        LedgerOp::RecordTransaction { transaction, raw } => match entry {
            Some(LedgerEntry::InFlight { since_ms, transaction: previous, mut replaced, fingerprint, .. }) => {
                replaced.extend(previous.filter(|p| *p != transaction));
                let entry =
                    LedgerEntry::InFlight { since_ms, transaction: Some(transaction), replaced, raw, fingerprint };
                (LedgerReply::Ok, Some(entry))
            }
            other => (LedgerReply::Ok, other),
        },
        LedgerOp::Abandon { transaction } => match entry {
            Some(LedgerEntry::InFlight { transaction: Some(recorded), .. }) if recorded == transaction => {
                (LedgerReply::Ok, None)
            }
            other => (LedgerReply::Ok, other),
        },
        LedgerOp::Complete { record } => match entry {
            // The first final outcome stands.
            Some(done @ LedgerEntry::Done { .. }) => (LedgerReply::Ok, Some(done)),
            Some(LedgerEntry::InFlight { fingerprint, .. }) => {
                (LedgerReply::Ok, Some(LedgerEntry::Done { record, fingerprint }))
            }
            None => (LedgerReply::Ok, Some(LedgerEntry::Done { record, fingerprint: None })),
        },
        LedgerOp::Release => match entry {
            Some(LedgerEntry::InFlight { transaction: None, .. }) | None => (LedgerReply::Ok, None),
            // Never forget a sent transaction or a final outcome.
            other => (LedgerReply::Ok, other),
        },
        LedgerOp::Read => (LedgerReply::Entry { entry: entry.clone() }, entry),
    }
}

/// What the ledger answers an operation; JSON between the Worker and the ledger Durable Object. An
/// internally tagged enum cannot carry a newtype variant around an `Option` (serde refuses `None`),
/// so the read's entry is a named field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum LedgerReply {
    Ok,
    Claim(Claim),
    Entry { entry: Option<LedgerEntry> },
}

/// A ledger in one process's memory: for tests and single-process embedders, not for Workers.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    entries: RefCell<HashMap<String, LedgerEntry>>,
}

impl crate::ports::Ledger for MemoryLedger {
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

    #[test]
    fn the_first_claim_wins_and_the_first_outcome_stands() {
        let (reply, entry) = apply(None, LedgerOp::Claim { now_ms: 1, fingerprint: None });
        assert_eq!(reply, LedgerReply::Claim(Claim::Acquired));
        let (reply, entry) = apply(entry, LedgerOp::Claim { now_ms: 2, fingerprint: None });
        let in_flight = Claim::InFlight { since_ms: 1, transaction: None, replaced: vec![], raw: None };
        assert_eq!(reply, LedgerReply::Claim(in_flight));
        let (_, entry) = apply(entry, LedgerOp::RecordTransaction { transaction: "0xabc".into(), raw: None });
        let (reply, entry) = apply(entry, LedgerOp::Claim { now_ms: 1 + STALE_CLAIM_MS, fingerprint: None });
        let in_flight = Claim::InFlight { since_ms: 1, transaction: Some("0xabc".into()), replaced: vec![], raw: None };
        assert_eq!(reply, LedgerReply::Claim(in_flight));
        let (_, entry) = apply(entry, LedgerOp::Complete { record: record(true) });
        let (_, entry) = apply(entry, LedgerOp::Complete { record: record(false) });
        let (_, entry) = apply(entry, LedgerOp::Release);
        let (reply, _) = apply(entry, LedgerOp::Claim { now_ms: 9, fingerprint: None });
        assert_eq!(reply, LedgerReply::Claim(Claim::Done { record: record(true) }));
    }

    #[test]
    fn a_release_frees_a_claim_that_sent_nothing_and_stale_claims_are_taken_over() {
        let (_, entry) = apply(None, LedgerOp::Claim { now_ms: 1, fingerprint: None });
        let (_, entry) = apply(entry, LedgerOp::Release);
        assert_eq!(entry, None);
        let (_, entry) = apply(None, LedgerOp::Claim { now_ms: 1, fingerprint: None });
        let (reply, _) = apply(entry, LedgerOp::Claim { now_ms: 1 + STALE_CLAIM_MS, fingerprint: None });
        assert_eq!(reply, LedgerReply::Claim(Claim::Acquired));
    }

    #[test]
    fn a_fee_bump_keeps_every_hash_it_replaced() {
        let (_, entry) = apply(None, LedgerOp::Claim { now_ms: 1, fingerprint: None });
        let (_, entry) = apply(entry, LedgerOp::RecordTransaction { transaction: "0xa".into(), raw: None });
        let (_, entry) =
            apply(entry, LedgerOp::RecordTransaction { transaction: "0xb".into(), raw: Some("0x02".into()) });
        let (_, entry) =
            apply(entry, LedgerOp::RecordTransaction { transaction: "0xb".into(), raw: Some("0x02".into()) });
        let (reply, entry) = apply(entry, LedgerOp::Claim { now_ms: 2, fingerprint: None });
        let (latest, raw) = (Some("0xb".into()), Some("0x02".into()));
        let in_flight = Claim::InFlight { since_ms: 1, transaction: latest, replaced: vec!["0xa".into()], raw };
        assert_eq!(reply, LedgerReply::Claim(in_flight));
        // Abandoning names the latest transaction: a stale abandon changes nothing.
        let (_, entry) = apply(entry, LedgerOp::Abandon { transaction: "0xa".into() });
        assert!(entry.is_some());
        let (_, entry) = apply(entry, LedgerOp::Abandon { transaction: "0xb".into() });
        assert_eq!(entry, None, "the payment may be settled anew");
    }

    #[test]
    fn a_different_payment_under_a_claimed_key_gets_a_conflict_never_the_outcome() {
        let claim = |fp: Option<&str>, now_ms| LedgerOp::Claim { now_ms, fingerprint: fp.map(str::to_string) };
        let (_, entry) = apply(None, claim(Some("a"), 1));
        let (reply, entry) = apply(entry, claim(Some("b"), 2));
        assert_eq!(reply, LedgerReply::Claim(Claim::Conflict), "in flight");
        let (_, entry) = apply(entry, LedgerOp::RecordTransaction { transaction: "0x1".into(), raw: None });
        let (_, entry) = apply(entry, LedgerOp::Complete { record: record(true) });
        let (reply, entry) = apply(entry, claim(Some("b"), 3));
        assert_eq!(reply, LedgerReply::Claim(Claim::Conflict), "done");
        let (reply, entry) = apply(entry, claim(Some("a"), 4));
        assert_eq!(
            reply,
            LedgerReply::Claim(Claim::Done { record: record(true) }),
            "the same payment gets its outcome"
        );
        // Entries written before fingerprints, and the facilitator's own keys, match anything.
        let (reply, _) = apply(entry, claim(None, 5));
        assert!(matches!(reply, LedgerReply::Claim(Claim::Done { .. })));
    }

    #[test]
    fn entries_round_trip_through_json() {
        // An entry written before fee bumps existed reads back with nothing replaced.
        let old: LedgerEntry = serde_json::from_str(r#"{"state":"in_flight","since_ms":3}"#).unwrap();
        let fresh =
            LedgerEntry::InFlight { since_ms: 3, transaction: None, replaced: vec![], raw: None, fingerprint: None };
        assert_eq!(old, fresh);
        for entry in [
            LedgerEntry::InFlight {
                since_ms: 3,
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
}
