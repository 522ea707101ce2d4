//! `upto` sessions as Durable Objects: one `UptoSession` per session id (so every capture and batch
//! of a session is applied by one strongly consistent owner), and one `UptoSessionIndex` that lists
//! the sessions the cron sweeper still looks at. The transitions are [`crate::upto::apply`]; this file
//! only stores records and carries requests.

use serde::{Deserialize, Serialize};
use worker::{durable_object, js_sys, DurableObject, Env, ListOptions, ObjectNamespace, Request, Response, State};

use super::{call_object, parse};
use crate::ports::{SessionStoreError, Sessions};
use crate::upto::{self, Session, SessionOp, SessionReply};

/// The binding names in `wrangler.toml`.
pub const SESSION_BINDING: &str = "UPTO_SESSION";
pub const INDEX_BINDING: &str = "UPTO_INDEX";
const SESSION_KEY: &str = "session";
/// The one index object.
const INDEX_NAME: &str = "open-sessions";
const INDEX_PREFIX: &str = "s:";

#[durable_object]
pub struct UptoSession {
    state: State,
    env: Env,
}

impl DurableObject for UptoSession {
    fn new(state: State, env: Env) -> Self {
        UptoSession { state, env }
    }

    /// Applies one operation. Storage reads and writes close the object's input gate, so no other
    /// request interleaves between the read and the write: captures never race past the cap. A new
    /// session is indexed before it is stored.
    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let op: SessionOp = parse(&req.text().await?)?;
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
    Add { id: String },
    Remove { id: String },
    List,
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
            IndexOp::List => {
                let entries = storage.list_with_options(ListOptions::new().prefix(INDEX_PREFIX)).await?;
                js_sys::Array::from(&entries.keys())
                    .iter()
                    .filter_map(|key| key.as_string()?.strip_prefix(INDEX_PREFIX).map(str::to_string))
                    .collect()
            }
        };
        Response::from_json(&ids)
    }
}

/// The worker's side: the sessions port over the two namespaces.
pub struct DurableSessions {
    sessions: Option<ObjectNamespace>,
    index: Option<ObjectNamespace>,
}

impl DurableSessions {
    pub fn new(env: &Env) -> Self {
        DurableSessions {
            sessions: env.durable_object(SESSION_BINDING).ok(),
            index: env.durable_object(INDEX_BINDING).ok(),
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

    async fn indexed(&self) -> Result<Vec<String>, SessionStoreError> {
        self.index_op(&IndexOp::List).await
    }
}
