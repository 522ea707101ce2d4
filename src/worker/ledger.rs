//! The settlement ledger as a Durable Object: one object per payment identity, so every isolate that
//! settles the same payment talks to the same strongly consistent owner. The transitions are
//! [`crate::ledger::apply`]; this file only stores entries and carries requests.

use worker::{durable_object, DurableObject, Env, ObjectNamespace, Request, Response, State};

use super::runtime::{call_object, parse};
use crate::ledger::{self, LedgerEntry, LedgerOp, LedgerReply};
use crate::ledger::{Ledger, LedgerError};

/// The binding name in `wrangler.toml`.
pub const BINDING: &str = "SETTLEMENT_LEDGER";
const ENTRY_KEY: &str = "entry";

#[durable_object]
pub struct SettlementLedger {
    state: State,
}

impl DurableObject for SettlementLedger {
    fn new(state: State, _env: Env) -> Self {
        SettlementLedger { state }
    }

    /// Applies one operation. Storage reads and writes close the object's input gate, so no other
    /// request interleaves between the read and the write.
    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let op: LedgerOp = parse(&req.text().await?)?;
        let storage = self.state.storage();
        let entry: Option<LedgerEntry> = storage.get(ENTRY_KEY).await?;
        let unchanged = entry.clone();
        let (reply, next) = ledger::apply(entry, op);
        if next != unchanged {
            match &next {
                Some(entry) => storage.put(ENTRY_KEY, entry).await?,
                None => {
                    storage.delete(ENTRY_KEY).await?;
                }
            }
        }
        Response::from_json(&reply)
    }
}

/// The worker's side: the ledger port over the Durable Object namespace.
pub struct DurableLedger {
    namespace: Option<ObjectNamespace>,
}

impl DurableLedger {
    pub fn new(env: &Env) -> Self {
        DurableLedger { namespace: env.durable_object(BINDING).ok() }
    }
}

impl Ledger for DurableLedger {
    async fn apply(&self, key: &str, op: LedgerOp) -> Result<LedgerReply, LedgerError> {
        let missing = || LedgerError(format!("the {BINDING} Durable Object binding is missing"));
        let namespace = self.namespace.as_ref().ok_or_else(missing)?;
        call_object(namespace, key, &op).await.map_err(|e| LedgerError(e.to_string()))
    }
}
