//! The sessions of one permit owner, so that what the facilitator acknowledges never exceeds what the
//! chain lets it pull. EIP-2612 allowances do not add up: each permit *sets* `allowance(owner, spender)`,
//! and permits of one owner share one nonce sequence, so of two permits with the same nonce only one can
//! ever be used. Hence, per (network, token, spender) an owner has at most one session holding the
//! facilitator's allowance (its "slot"): a different permit for a held slot is refused, except a newer one
//! (higher nonce), which the facilitator admits after settling and closing the older session under its own
//! permit. A permit whose nonce is not above the last one admitted for its slot is stale (used, or
//! replaced by a newer one) and opens nothing: a session's first batch submits its own permit, so the
//! chain's nonce follows the admitted ones. Across slots an owner has at most `max_open` sessions (`UPTO_MAX_SESSIONS_PER_OWNER`). Pure: a
//! host keeps one record per owner (a Durable Object per owner in the Worker) and applies operations
//! atomically.

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};

/// A session that holds (or may come to hold) the facilitator's allowance of its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub session_id: String,
    /// The CAIP-2 id of its network.
    pub network: String,
    pub asset: Address,
    pub spender: Address,
    pub permit_nonce: U256,
    pub cap: U256,
    pub admitted_ms: u64,
}

impl Slot {
    /// Whether both draw on one allowance: same network, token and spender.
    fn shares_allowance_with(&self, other: &Slot) -> bool {
        self.network == other.network && self.asset == other.asset && self.spender == other.spender
    }
}

/// One owner's sessions that hold an allowance, and the last permit nonce admitted per allowance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerRecord {
    pub slots: Vec<Slot>,
    #[serde(default)]
    pub admitted: Vec<Slot>,
}

impl OwnerRecord {
    /// The last permit admitted for the allowance `slot` draws on.
    fn last_admitted(&self, slot: &Slot) -> Option<&Slot> {
        self.admitted.iter().find(|s| s.shares_allowance_with(slot))
    }

    fn remember(&mut self, slot: &Slot) {
        self.admitted.retain(|s| !s.shares_allowance_with(slot));
        self.admitted.push(slot.clone());
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OwnerOp {
    /// Admits the session of `slot` (a session already admitted is admitted again). `dry_run`: only
    /// answers (verify).
    Admit { slot: Slot, max_open: usize, dry_run: bool },
    /// The session no longer holds an allowance (closed with nothing pending, or given up).
    Release { session_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum OwnerReply {
    Admitted,
    /// Another session holds the slot: `superseded` when the new permit is newer (a higher nonce), so
    /// that settling and closing `holder` first would let it in.
    Held {
        holder: Slot,
        superseded: bool,
    },
    TooMany {
        open: usize,
    },
    /// A permit with the same or a higher nonce was admitted for this allowance before (`last`): this
    /// one was used or replaced.
    Stale {
        last: Slot,
    },
    Released,
}

/// Applies `op` to the owner's record: the reply and the record to store (`None`: unchanged).
pub fn apply(stored: Option<OwnerRecord>, op: OwnerOp) -> (OwnerReply, Option<OwnerRecord>) {
    let mut record = stored.unwrap_or_default();
    match op {
        OwnerOp::Admit { slot, max_open, dry_run } => {
            if record.slots.iter().any(|s| s.session_id == slot.session_id) {
                return (OwnerReply::Admitted, None);
            }
            let holder = record.slots.iter().find(|s| s.shares_allowance_with(&slot));
            if let Some(holder) = holder.filter(|h| slot.permit_nonce >= h.permit_nonce) {
                let superseded = slot.permit_nonce > holder.permit_nonce;
                return (OwnerReply::Held { holder: holder.clone(), superseded }, None);
            }
            let stale = |l: &&Slot| l.session_id != slot.session_id && slot.permit_nonce <= l.permit_nonce;
            if let Some(last) = record.last_admitted(&slot).filter(stale).or(holder) {
                return (OwnerReply::Stale { last: last.clone() }, None);
            }
            if record.slots.len() >= max_open {
                return (OwnerReply::TooMany { open: record.slots.len() }, None);
            }
            if dry_run {
                return (OwnerReply::Admitted, None);
            }
            record.remember(&slot);
            record.slots.push(slot);
            (OwnerReply::Admitted, Some(record))
        }
        OwnerOp::Release { session_id } => {
            let before = record.slots.len();
            record.slots.retain(|s| s.session_id != session_id);
            let changed = record.slots.len() != before;
            (OwnerReply::Released, changed.then_some(record))
        }
    }
}

/// The key of an owner's record.
pub fn owner_key(owner: Address) -> String {
    format!("owner:{}", owner.to_checksum(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(id: &str, asset: u8, nonce: u64) -> Slot {
        Slot {
            session_id: id.into(),
            network: "eip155:84532".into(),
            asset: Address::repeat_byte(asset),
            spender: Address::repeat_byte(3),
            permit_nonce: U256::from(nonce),
            cap: U256::from(100),
            admitted_ms: 0,
        }
    }

    fn admit(record: Option<OwnerRecord>, slot: Slot, max_open: usize) -> (OwnerReply, Option<OwnerRecord>) {
        let (reply, next) = apply(record.clone(), OwnerOp::Admit { slot, max_open, dry_run: false });
        (reply, next.or(record))
    }

    #[test]
    fn one_allowance_has_one_session_and_a_newer_permit_must_supersede_it() {
        let (reply, record) = admit(None, slot("a", 1, 0), 8);
        assert_eq!(reply, OwnerReply::Admitted);
        // The same permit again: the same session.
        assert_eq!(admit(record.clone(), slot("a", 1, 0), 8).0, OwnerReply::Admitted);
        // Another permit with the same nonce (a different cap or deadline): only one can ever be used.
        let (reply, _) = admit(record.clone(), slot("b", 1, 0), 8);
        assert_eq!(reply, OwnerReply::Held { holder: slot("a", 1, 0), superseded: false });
        // A newer permit: held until the older session is settled and released.
        let (reply, after) = admit(record.clone(), slot("c", 1, 1), 8);
        assert_eq!(reply, OwnerReply::Held { holder: slot("a", 1, 0), superseded: true });
        assert_eq!(after, record, "a refusal changes nothing");
        let (reply, record) = apply(record, OwnerOp::Release { session_id: "a".into() });
        assert_eq!(reply, OwnerReply::Released);
        // An older permit than the holder's is stale.
        let (_, newer) = admit(record.clone(), slot("n", 2, 5), 8);
        let (reply, _) = admit(newer, slot("o", 2, 4), 8);
        assert_eq!(reply, OwnerReply::Stale { last: slot("n", 2, 5) });
        // Released, the older session's permits stay used: its own, and any other with its nonce.
        assert_eq!(admit(record.clone(), slot("b", 1, 0), 8).0, OwnerReply::Stale { last: slot("a", 1, 0) });
        let (reply, record) = admit(record, slot("c", 1, 1), 8);
        assert_eq!(reply, OwnerReply::Admitted);
        assert_eq!(record.clone().unwrap().slots, vec![slot("c", 1, 1)]);
        let (_, record) = apply(record, OwnerOp::Release { session_id: "c".into() });
        assert_eq!(admit(record.clone(), slot("c", 1, 1), 8).0, OwnerReply::Admitted, "its own id again");
        assert_eq!(admit(record, slot("d", 1, 1), 8).0, OwnerReply::Stale { last: slot("c", 1, 1) });
    }

    /// The caps acknowledged for one (network, token, spender) never add up: at most one session's cap.
    #[test]
    fn acknowledged_caps_per_allowance_never_exceed_one_permit() {
        let mut record = None;
        for (i, nonce) in [0u64, 0, 1, 2, 0, 5].iter().enumerate() {
            record = admit(record, slot(&format!("s{i}"), 1, *nonce), 8).1;
        }
        let slots = record.unwrap().slots;
        assert_eq!(slots.len(), 1, "{slots:?}");
    }

    #[test]
    fn an_owner_has_at_most_max_open_sessions_and_a_dry_run_stores_nothing() {
        let (_, record) = admit(None, slot("a", 1, 0), 2);
        let (reply, none) = apply(record.clone(), OwnerOp::Admit { slot: slot("b", 2, 0), max_open: 2, dry_run: true });
        assert_eq!((reply, none), (OwnerReply::Admitted, None));
        let (_, record) = admit(record, slot("b", 2, 0), 2);
        assert_eq!(admit(record.clone(), slot("c", 3, 0), 2).0, OwnerReply::TooMany { open: 2 });
        let (_, record) = apply(record, OwnerOp::Release { session_id: "b".into() });
        assert_eq!(admit(record, slot("c", 3, 0), 2).0, OwnerReply::Admitted);
    }
}
