//! The EVM signer as a Durable Object, one per (network, signer address): it allocates nonces from its
//! memory, signs and broadcasts, so concurrent settles in any isolate never collide on a nonce. After
//! an eviction its memory is empty and the next send re-reads the chain's pending count.

use std::time::Duration;

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, ObjectNamespace, Request, Response, State};

use super::ledger::DurableLedger;
use super::runtime::{call_object, config_from, parse, FetchTransport, WorkerClock};
use crate::chains::evm::sender::{Journal, TxSender};
use crate::chains::evm::sender::{NonceManagedSender, SendError, Sent, UnsignedCall};
use crate::chains::jsonrpc::JsonRpcClient;
use crate::ledger::LedgerJournal;
use crate::network::{self, Network};
use crate::ports::{Clock, EvmSigner, HttpTransport};

/// The binding name in `wrangler.toml`.
pub const BINDING: &str = "EVM_SIGNER";

#[derive(Serialize, Deserialize)]
struct SendRequest {
    network: String,
    signer: Address,
    call: UnsignedCall,
    /// The payment's settlement-ledger key: the hash is recorded there before the broadcast.
    ledger_key: Option<String>,
    /// The nonce of a stuck transaction that `call` replaces (a fee bump); `None` allocates one.
    #[serde(default)]
    replaces: Option<u64>,
}

#[durable_object]
pub struct EvmSignerObject {
    env: Env,
    sender: NonceManagedSender,
}

impl DurableObject for EvmSignerObject {
    fn new(_state: State, env: Env) -> Self {
        EvmSignerObject { env, sender: NonceManagedSender::default() }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let request: SendRequest = parse(&req.text().await?)?;
        Response::from_json(&self.send(request).await)
    }
}

impl EvmSignerObject {
    async fn send(&self, request: SendRequest) -> Result<Sent, SendError> {
        let config = config_from(&self.env);
        let unavailable = |what: &str| SendError::Unavailable(what.to_string());
        let network = network::find(&request.network).ok_or_else(|| unavailable("unknown network"))?;
        let evm = config.evm(network).ok_or_else(|| unavailable("network not served"))?;
        let signer = config.evm_signers.iter().find(|s| s.address() == request.signer);
        let signer = signer.ok_or_else(|| unavailable("no such signer"))?;
        let transport = FetchTransport { timeout: Duration::from_millis(config.settings.rpc_timeout_ms) };
        let rpc = JsonRpcClient::new(&transport, &WorkerClock, &evm.rpc_urls);
        let ledger = DurableLedger::new(&self.env);
        let journal = LedgerJournal { ledger: &ledger, key: request.ledger_key.as_deref() };
        match request.replaces {
            None => self.sender.send(&rpc, signer, &request.call, &journal).await,
            Some(nonce) => {
                let hash = self.sender.replace(&rpc, signer, &request.call, nonce, &journal).await?;
                Ok(Sent { hash, nonce })
            }
        }
    }
}

/// The worker's side: sends through the signer's Durable Object.
pub struct DurableSender {
    namespace: Option<ObjectNamespace>,
}

impl DurableSender {
    pub fn new(env: &Env) -> Self {
        DurableSender { namespace: env.durable_object(BINDING).ok() }
    }

    /// The object records the hash in the ledger itself (through its own binding), so `journal`
    /// only gives the key.
    async fn call<S: EvmSigner, J: Journal>(
        &self,
        signer: &S,
        network: &'static Network,
        call: &UnsignedCall,
        replaces: Option<u64>,
        journal: &J,
    ) -> Result<Sent, SendError> {
        let missing = || SendError::Unavailable(format!("the {BINDING} Durable Object binding is missing"));
        let namespace = self.namespace.as_ref().ok_or_else(missing)?;
        let name = format!("{}/{}", network.caip2, signer.address());
        let request = SendRequest {
            network: network.name.to_string(),
            signer: signer.address(),
            call: call.clone(),
            ledger_key: journal.key().map(str::to_string),
            replaces,
        };
        call_object(namespace, &name, &request).await.map_err(|e| SendError::Unavailable(e.to_string()))?
    }
}

impl TxSender for DurableSender {
    async fn send<H: HttpTransport, C: Clock, S: EvmSigner, J: Journal>(
        &self,
        _rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        network: &'static Network,
        call: &UnsignedCall,
        journal: &J,
    ) -> Result<Sent, SendError> {
        self.call(signer, network, call, None, journal).await
    }

    async fn replace<H: HttpTransport, C: Clock, S: EvmSigner, J: Journal>(
        &self,
        _rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        network: &'static Network,
        call: &UnsignedCall,
        nonce: u64,
        journal: &J,
    ) -> Result<B256, SendError> {
        Ok(self.call(signer, network, call, Some(nonce), journal).await?.hash)
    }
}
