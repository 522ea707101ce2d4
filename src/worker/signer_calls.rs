//! What the EVM signer objects are asked, and how a call reaches one: by its name, (network,
//! signer), created where `EVM_LOCATION_HINT` says. Used by the worker's sender and by the ledger
//! (an EIP-3009 payment's entry lives in its signer's object).

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};
use worker::{Env, Method, ObjectNamespace, Request, RequestInit};

use super::runtime::{parse, Counted};
use crate::chains::evm::sender::UnsignedCall;
use crate::config::Config;
use crate::facilitator::home::ClaimedSend;
use crate::ledger::LedgerOp;

/// The binding name in `wrangler.toml`.
pub const BINDING: &str = "EVM_SIGNER";

/// A transaction for the object to send from its signer.
#[derive(Serialize, Deserialize)]
pub(super) struct SendRequest {
    pub(super) network: String,
    pub(super) signer: Address,
    pub(super) call: UnsignedCall,
    /// The payment's settlement-ledger key: the hash is recorded there before the broadcast.
    pub(super) ledger_key: Option<String>,
    /// The nonce of a stuck transaction that `call` replaces (a fee bump); `None` allocates one.
    #[serde(default)]
    pub(super) replaces: Option<u64>,
}

/// What the signer object is asked. Externally tagged: an internally tagged enum is buffered by serde,
/// which cannot hold the u128 of a fee.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum SignerRequest {
    Send(SendRequest),
    /// A settle's claimed send of a payment whose home this is.
    ClaimAndSend {
        network: String,
        signer: Address,
        claimed: ClaimedSend,
    },
    /// An operation on the entry of a payment whose home this is.
    Ledger {
        key: String,
        op: LedgerOp,
    },
}

/// The object's name: its network (CAIP-2) and signer.
pub(super) fn object_name(caip2: &str, signer: Address) -> String {
    format!("{caip2}/{signer}")
}

/// The signer objects of this Worker.
pub(super) struct SignerObjects {
    namespace: Option<ObjectNamespace>,
    location_hint: Option<&'static str>,
}

impl SignerObjects {
    pub(super) fn new(env: &Env, config: &Config) -> Self {
        SignerObjects { namespace: env.durable_object(BINDING).ok(), location_hint: config.evm_location_hint }
    }

    /// Sends `request` to the object `name` and parses its reply.
    pub(super) async fn call<R: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        request: &SignerRequest,
    ) -> Result<R, String> {
        let namespace = self.namespace.as_ref().ok_or_else(|| format!("the {BINDING} binding is missing"))?;
        let _timer = Counted::DurableObjectCall.start();
        let stub = match self.location_hint {
            Some(hint) => namespace.get_by_name_with_location_hint(name, hint),
            None => namespace.id_from_name(name).and_then(|id| id.get_stub()),
        }
        .map_err(|e| e.to_string())?;
        let body = serde_json::to_string(request).map_err(|e| e.to_string())?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.into()));
        let outbound = Request::new_with_init("https://object.internal/", &init).map_err(|e| e.to_string())?;
        let mut response = stub.fetch_with_request(outbound).await.map_err(|e| e.to_string())?;
        parse(&response.text().await.map_err(|e| e.to_string())?).map_err(|e| e.to_string())
    }
}
