//! The EVM signer as a Durable Object, one per (network, signer address): it allocates nonces from its
//! memory, signs and broadcasts, so concurrent settles in any isolate never collide on a nonce. After
//! an eviction its memory is empty and the next send re-reads the chain's pending count.
//!
//! It is also the home of the EIP-3009 and Permit2 payments it settles ([`crate::facilitator::home`]):
//! their ledger entries live in its storage, and a settle claims, sends and records here in one call.

use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::{Address, B256};
use futures_util::lock::Mutex;
use worker::{durable_object, DurableObject, Env, Request, Response, State};

use super::ledger::{DurableLedger, Home, HomeLedger, StoredEntries};
use super::runtime::{config_from, parse, FetchTransport, WorkerClock};
use super::signer_calls::{object_name, SendRequest, SignerObjects, SignerRequest};
use crate::chains::evm::sender::{Journal, TxSender};
use crate::chains::evm::sender::{NonceManagedSender, SendError, Sent, UnsignedCall};
use crate::chains::evm::signer::LocalEvmSigner;
use crate::chains::jsonrpc::JsonRpcClient;
use crate::config::Config;
use crate::facilitator::home::{self, ClaimedSend, HomeReply, PaymentHome};
use crate::ledger::{Ledger, LedgerJournal, LedgerReply};
use crate::network::{self, Network};
use crate::ports::{Clock, EvmSigner, HttpTransport};

#[durable_object]
pub struct EvmSignerObject {
    state: State,
    env: Env,
    /// Read once per isolate (a deploy, new secrets included, restarts the objects).
    config: Arc<Config>,
    sender: NonceManagedSender,
    /// Ledger operations on this object's entries run one at a time, from read to write.
    ledger_turn: Mutex<()>,
}

impl DurableObject for EvmSignerObject {
    fn new(state: State, env: Env) -> Self {
        let config = config_from(&env);
        let sender = NonceManagedSender::new(config.evm_sync_send_wait_ms());
        EvmSignerObject { state, env, config, sender, ledger_turn: Mutex::new(()) }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        match parse(&req.text().await?)? {
            SignerRequest::Send(request) => Response::from_json(&self.send(request).await),
            SignerRequest::ClaimAndSend { network, signer, claimed } => {
                Response::from_json(&self.claim_and_send(&network, signer, &claimed).await)
            }
            SignerRequest::Ledger { key, op } => {
                let reply: LedgerReply =
                    self.entries().apply(&key, op).await.map_err(|e| worker::Error::RustError(e.0))?;
                Response::from_json(&reply)
            }
        }
    }
}

impl EvmSignerObject {
    fn entries(&self) -> StoredEntries<'_> {
        StoredEntries { storage: self.state.storage(), turn: &self.ledger_turn }
    }

    async fn send(&self, request: SendRequest) -> Result<Sent, SendError> {
        let config = &self.config;
        let (network, rpc_urls, signer) = served(config, &request.network, request.signer)?;
        let transport = FetchTransport { timeout: Duration::from_millis(config.settings.rpc_timeout_ms) };
        let rpc = JsonRpcClient::new(&transport, &WorkerClock, rpc_urls);
        let name = object_name(network.caip2, request.signer);
        let elsewhere = DurableLedger::new(&self.env, config);
        let ledger = HomeLedger { here: self.entries(), elsewhere, home: Home::Signer(name) };
        let journal = LedgerJournal { ledger: &ledger, key: request.ledger_key.as_deref() };
        match request.replaces {
            None => self.sender.send(&rpc, signer, &request.call, &journal).await,
            Some(nonce) => {
                let hash = self.sender.replace(&rpc, signer, &request.call, nonce, &journal).await?;
                Ok(Sent { hash, nonce, receipt: None, waited_ms: 0 })
            }
        }
    }

    async fn claim_and_send(
        &self,
        network: &str,
        signer: Address,
        claimed: &ClaimedSend,
    ) -> Result<HomeReply, SendError> {
        let (_, rpc_urls, signer) = served(&self.config, network, signer)?;
        let transport = FetchTransport { timeout: Duration::from_millis(self.config.settings.rpc_timeout_ms) };
        let rpc = JsonRpcClient::new(&transport, &WorkerClock, rpc_urls);
        home::claim_and_send_here(&self.entries(), &self.sender, &rpc, signer, claimed).await
    }
}

/// The network, its RPC endpoints and the signer a request names, if this deployment serves them.
fn served<'c>(
    config: &'c Config,
    network: &str,
    signer: Address,
) -> Result<(&'static Network, &'c [String], &'c LocalEvmSigner), SendError> {
    let unavailable = |what: &str| SendError::Unavailable(what.to_string());
    let network = network::find(network).ok_or_else(|| unavailable("unknown network"))?;
    let evm = config.evm(network).ok_or_else(|| unavailable("network not served"))?;
    let signer = config.evm_signers.iter().find(|s| s.address() == signer);
    Ok((network, &evm.rpc_urls, signer.ok_or_else(|| unavailable("no such signer"))?))
}

/// The worker's side: sends through the signer's Durable Object.
pub struct DurableSender {
    objects: SignerObjects,
}

impl DurableSender {
    pub fn new(env: &Env, config: &Config) -> Self {
        DurableSender { objects: SignerObjects::new(env, config) }
    }

    /// The object records the hash in the ledger itself, so `journal` only gives the key.
    async fn call<S: EvmSigner, J: Journal>(
        &self,
        signer: &S,
        network: &'static Network,
        call: &UnsignedCall,
        replaces: Option<u64>,
        journal: &J,
    ) -> Result<Sent, SendError> {
        let request = SignerRequest::Send(SendRequest {
            network: network.name.to_string(),
            signer: signer.address(),
            call: call.clone(),
            ledger_key: journal.key().map(str::to_string),
            replaces,
        });
        let name = object_name(network.caip2, signer.address());
        self.objects.call(&name, &request).await.map_err(SendError::Unavailable)?
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

/// The claimed send runs in the object of the payment's signer, its home: one round trip.
impl PaymentHome for DurableSender {
    async fn claim_and_send<L: Ledger, H: HttpTransport, C: Clock, S: EvmSigner>(
        &self,
        _ledger: &L,
        _rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        network: &'static Network,
        claimed: &ClaimedSend,
    ) -> Result<HomeReply, SendError> {
        let request = SignerRequest::ClaimAndSend {
            network: network.name.to_string(),
            signer: signer.address(),
            claimed: claimed.clone(),
        };
        let name = object_name(network.caip2, signer.address());
        self.objects.call(&name, &request).await.map_err(SendError::Unavailable)?
    }
}
