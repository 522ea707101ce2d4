//! `upto` sessions as Durable Objects: one `UptoSession` per session id (so every capture and batch
//! of a session is applied by one strongly consistent owner), one `UptoSessionIndex` that lists
//! the sessions the cron sweeper still looks at (read a page at a time), and one `UptoOwner` per permit
//! owner (which sessions hold the owner's allowances). The transitions are [`crate::upto::apply`] and
//! [`crate::upto::OwnerRecord`]'s; this file only stores records and carries requests.

use futures_util::lock::Mutex;
use serde::{Deserialize, Serialize};
use worker::{durable_object, js_sys, DurableObject, Env, ListOptions, ObjectNamespace, Request, Response, State};

use super::runtime::{call_object, parse};
use crate::upto::{self, OwnerOp, OwnerRecord, OwnerReply, Session, SessionOp, SessionReply};
use crate::upto::{SessionStoreError, Sessions};

/// The binding names in `wrangler.toml`.
pub const SESSION_BINDING: &str = "UPTO_SESSION";
pub const INDEX_BINDING: &str = "UPTO_INDEX";
pub const OWNER_BINDING: &str = "UPTO_OWNER";
const SESSION_KEY: &str = "session";
const OWNER_KEY: &str = "owner";
/// The one index object.
const INDEX_NAME: &str = "open-sessions";
const INDEX_PREFIX: &str = "s:";

#[durable_object]
pub struct UptoSession {
    state: State,
    env: Env,
    /// One operation at a time, from its read to its write. The input gate alone does not give that: it
    /// opens while a new session is being indexed (a call to another object), and concurrent first
    /// captures of one permit then each read "no session" and the last write won, keeping one charge
    /// of several served requests.
    turn: Mutex<()>,
}

impl DurableObject for UptoSession {
    fn new(state: State, env: Env) -> Self {
        UptoSession { state, env, turn: Mutex::new(()) }
    }

    /// Applies one operation, alone (`turn`), so captures never race past the cap or overwrite each
    /// other. A new session is indexed before it is stored: a stored session is always swept.
    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let op: SessionOp = parse(&req.text().await?)?;
        let _turn = self.turn.lock().await;
        let storage = self.state.storage();
        let stored: Option<Session> = storage.get(SESSION_KEY).await?;
        let unchanged = stored.clone();
        let (reply, next) = upto::apply(stored, op);
        if let Some(next) = next.filter(|n| Some(n) != unchanged.as_ref()) {
            if unchanged.is_none() {
                let namespace = self.env.durable_object(INDEX_BINDING)?;
                let _: Vec<String> = call_object(&namespace, INDEX_NAME, &IndexOp::Add { id: next.id.clone() }).await?;
            }
            storage.put(SESSION_KEY, &next).await?;
        }
        Response::from_json(&reply)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum IndexOp {
    Add {
        id: String,
    },
    Remove {
        id: String,
    },
    /// Up to `limit` ids after `after`, in order.
    List {
        after: Option<String>,
        limit: usize,
    },
}

#[durable_object]
pub struct UptoSessionIndex {
    state: State,
}

impl DurableObject for UptoSessionIndex {
    fn new(state: State, _env: Env) -> Self {
        UptoSessionIndex { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let storage = self.state.storage();
        let ids: Vec<String> = match parse(&req.text().await?)? {
            IndexOp::Add { id } => {
                storage.put(&format!("{INDEX_PREFIX}{id}"), true).await?;
                Vec::new()
            }
            IndexOp::Remove { id } => {
                storage.delete(&format!("{INDEX_PREFIX}{id}")).await?;
                Vec::new()
            }
            IndexOp::List { after, limit } => {
                // `start` is inclusive: the id after which to go on is read again and skipped.
                let start = format!("{INDEX_PREFIX}{}", after.as_deref().unwrap_or_default());
                let options = ListOptions::new().prefix(INDEX_PREFIX).start(&start).limit(limit + 1);
                let entries = storage.list_with_options(options).await?;
                js_sys::Array::from(&entries.keys())
                    .iter()
                    .filter_map(|key| key.as_string()?.strip_prefix(INDEX_PREFIX).map(str::to_string))
                    .filter(|id| Some(id) != after.as_ref())
                    .take(limit)
                    .collect()
            }
        };
        Response::from_json(&ids)
    }
}

/// One permit owner's record: which sessions hold its allowances.
#[durable_object]
pub struct UptoOwner {
    state: State,
}

impl DurableObject for UptoOwner {
    fn new(state: State, _env: Env) -> Self {
        UptoOwner { state }
    }

    /// Applies one operation; the read and the write are one atomic step (the input gate).
    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let op: OwnerOp = parse(&req.text().await?)?;
        let storage = self.state.storage();
        let stored: Option<OwnerRecord> = storage.get(OWNER_KEY).await?;
        let (reply, next) = upto::owner_apply(stored, op);
        if let Some(next) = next {
            storage.put(OWNER_KEY, &next).await?;
        }
        Response::from_json(&reply)
    }
}

/// The worker's side: the sessions port over the three namespaces.
pub struct DurableSessions {
    sessions: Option<ObjectNamespace>,
    index: Option<ObjectNamespace>,
    owners: Option<ObjectNamespace>,
}

impl DurableSessions {
    pub fn new(env: &Env) -> Self {
        DurableSessions {
            sessions: env.durable_object(SESSION_BINDING).ok(),
            index: env.durable_object(INDEX_BINDING).ok(),
            owners: env.durable_object(OWNER_BINDING).ok(),
        }
    }

    async fn index_op(&self, op: &IndexOp) -> Result<Vec<String>, SessionStoreError> {
        let missing = || SessionStoreError(format!("the {INDEX_BINDING} Durable Object binding is missing"));
        let namespace = self.index.as_ref().ok_or_else(missing)?;
        call_object(namespace, INDEX_NAME, op).await.map_err(|e| SessionStoreError(e.to_string()))
    }
}

impl Sessions for DurableSessions {
    async fn apply(&self, id: &str, op: SessionOp) -> Result<SessionReply, SessionStoreError> {
        let missing = || SessionStoreError(format!("the {SESSION_BINDING} Durable Object binding is missing"));
        let namespace = self.sessions.as_ref().ok_or_else(missing)?;
        call_object(namespace, id, &op).await.map_err(|e| SessionStoreError(e.to_string()))
    }

    async fn unindex(&self, id: &str) -> Result<(), SessionStoreError> {
        self.index_op(&IndexOp::Remove { id: id.to_string() }).await.map(|_| ())
    }

    async fn indexed(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, SessionStoreError> {
        self.index_op(&IndexOp::List { after: after.map(str::to_string), limit }).await
    }

    async fn owner(&self, key: &str, op: OwnerOp) -> Result<OwnerReply, SessionStoreError> {
        let missing = || SessionStoreError(format!("the {OWNER_BINDING} Durable Object binding is missing"));
        let namespace = self.owners.as_ref().ok_or_else(missing)?;
        call_object(namespace, key, &op).await.map_err(|e| SessionStoreError(e.to_string()))
    }
}
