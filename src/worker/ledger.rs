//! The settlement ledger as a Durable Object: one object per payment identity, so every isolate that
//! settles the same payment talks to the same strongly consistent owner. The transitions are
//! [`crate::ledger::apply`]; this file only stores entries and carries requests.

use worker::{durable_object, DurableObject, Env, Method, ObjectNamespace, Request, RequestInit, Response, State};

use super::parse;
use crate::ledger::{self, LedgerEntry, LedgerOp, LedgerReply};
use crate::ports::{Ledger, LedgerError};

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
        let namespace = self
            .namespace
            .as_ref()
            .ok_or_else(|| LedgerError(format!("the {BINDING} Durable Object binding is missing")))?;
        let fail = |e: worker::Error| LedgerError(e.to_string());
        let stub = namespace.id_from_name(key).map_err(fail)?.get_stub().map_err(fail)?;
        let body = serde_json::to_string(&op).map_err(|e| LedgerError(e.to_string()))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.into()));
        let request = Request::new_with_init("https://ledger.internal/apply", &init).map_err(fail)?;
        let mut response = stub.fetch_with_request(request).await.map_err(fail)?;
        parse(&response.text().await.map_err(fail)?).map_err(fail)
    }
}
