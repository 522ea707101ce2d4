//! `upto` sessions (the daydreams EIP-2612 scheme, protocol digest §6.2): one permit opens a session
//! with a cap; payments capture into its pending spend; batches settle the pending sum on chain. The
//! state machine and the sweeper's policy are pure functions of the session and the time; a host
//! stores sessions (a Durable Object per session in the Worker) and applies operations atomically.

mod owner;
mod session;
mod sweeper;

pub use owner::{apply as owner_apply, owner_key, OwnerOp, OwnerRecord, OwnerReply, Slot};
pub use session::{apply, Batch, BatchOutcome, LastSettlement, Refusal, Session, SessionOp, SessionReply, Status};
pub use sweeper::{due, SweepAction, Thresholds};

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use std::future::Future;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("upto session store unavailable: {0}")]
pub struct SessionStoreError(pub String);

/// `upto` sessions: one record per session id, each operation applied atomically (a Durable Object
/// per session in the Worker), the index of sessions the sweeper still looks at, and one record per
/// permit owner ([`OwnerRecord`]). An operation that creates a session indexes it before
/// storing it: a session the sweeper cannot find never exists.
pub trait Sessions {
    fn apply(&self, id: &str, op: SessionOp) -> impl Future<Output = Result<SessionReply, SessionStoreError>>;
    /// Removes a session from the sweeper's index (a closed one it need not look at again).
    fn unindex(&self, id: &str) -> impl Future<Output = Result<(), SessionStoreError>>;
    /// Up to `limit` ids of the sweeper's index, in order, after `after` (from the start when `None`).
    fn indexed(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, SessionStoreError>>;
    /// Applies `op` to the record of the owner `key` ([`owner_key`]) atomically.
    fn owner(&self, key: &str, op: OwnerOp) -> impl Future<Output = Result<OwnerReply, SessionStoreError>>;
}

/// Sessions in one process's memory: for tests and single-process embedders, not for Workers.
#[derive(Debug, Default)]
pub struct MemorySessions {
    sessions: RefCell<HashMap<String, Session>>,
    index: RefCell<BTreeSet<String>>,
    owners: RefCell<HashMap<String, OwnerRecord>>,
}

impl Sessions for MemorySessions {
    async fn apply(&self, id: &str, op: SessionOp) -> Result<SessionReply, SessionStoreError> {
        let mut sessions = self.sessions.borrow_mut();
        let stored = sessions.remove(id);
        let created = stored.is_none();
        let (reply, next) = apply(stored, op);
        if let Some(next) = next {
            if created {
                self.index.borrow_mut().insert(id.to_string());
            }
            sessions.insert(id.to_string(), next);
        }
        Ok(reply)
    }

    async fn unindex(&self, id: &str) -> Result<(), SessionStoreError> {
        self.index.borrow_mut().remove(id);
        Ok(())
    }

    async fn indexed(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, SessionStoreError> {
        let index = self.index.borrow();
        let after = after.map(str::to_string);
        let rest = match &after {
            Some(after) => index.range::<String, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
            None => index.range::<String, _>(..),
        };
        Ok(rest.take(limit).cloned().collect())
    }

    async fn owner(&self, key: &str, op: OwnerOp) -> Result<OwnerReply, SessionStoreError> {
        let mut owners = self.owners.borrow_mut();
        let (reply, next) = owner::apply(owners.get(key).cloned(), op);
        if let Some(next) = next {
            owners.insert(key.to_string(), next);
        }
        Ok(reply)
    }
}
