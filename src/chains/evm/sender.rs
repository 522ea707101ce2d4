//! Sending the facilitator's transactions from one account: nonce allocation, signing, broadcast.
//!
//! Concurrent settles from one key must never reuse a nonce. [`NonceBook`] allocates them from one
//! owner's memory (a Durable Object per (network, signer) in the Worker; the process for native
//! embedders), seeded from the chain's `pending` count, and recovers by re-reading it after a
//! restart, a conflict, or a broadcast that left a gap.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;

use futures_util::future::{select, Either};

use alloy_primitives::{Address, Bytes, B256};
use serde::{Deserialize, Serialize};

use super::rpc;
use super::tx::{self, ContractCall, Fees};
use crate::chains::jsonrpc::{JsonRpcClient, RpcError};
use crate::network::Network;
use crate::ports::{Clock, EvmSigner, HttpTransport, SignerError};

/// Tries of one send when the node reports a nonce conflict (each re-reads the pending nonce).
const NONCE_CONFLICT_TRIES: usize = 3;

/// A transaction to send, without its nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsignedCall {
    pub chain_id: u64,
    pub gas_limit: u64,
    pub fees: Fees,
    pub to: Address,
    pub input: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum SendError {
    #[error("the facilitator's account cannot pay for gas: {0}")]
    Funds(String),
    #[error("the node refused the transaction: {0}")]
    Rejected(String),
    #[error("chain RPC failed: {0}")]
    Rpc(String),
    #[error("signer failed: {0}")]
    Signer(String),
    #[error("sender unavailable: {0}")]
    Unavailable(String),
}

impl From<RpcError> for SendError {
    fn from(e: RpcError) -> Self {
        SendError::Rpc(e.to_string())
    }
}

impl From<SignerError> for SendError {
    fn from(e: SignerError) -> Self {
        SendError::Signer(e.0)
    }
}

/// The nonces of one account on one chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NonceBook {
    /// The next never-used nonce, once known.
    next: Option<u64>,
    /// Nonces handed out whose transaction never reached a node: reused first, so no gap stays.
    released: BTreeSet<u64>,
}

impl NonceBook {
    /// The next nonce, or `None` until the book is seeded.
    pub fn take(&mut self) -> Option<u64> {
        if let Some(n) = self.released.pop_first() {
            return Some(n);
        }
        let n = self.next?;
        self.next = Some(n + 1);
        Some(n)
    }

    /// Learns the chain's pending count. Seeding twice (two sends raced to seed) is harmless.
    pub fn seed(&mut self, pending: u64) {
        self.next = Some(self.next.map_or(pending, |n| n.max(pending)));
        self.released.retain(|r| *r >= pending);
    }

    /// Gives back a nonce whose transaction was never accepted.
    pub fn release(&mut self, nonce: u64) {
        if self.next == Some(nonce + 1) {
            self.next = Some(nonce);
        } else {
            self.released.insert(nonce);
        }
    }

    /// Forgets everything: the next allocation re-reads the chain.
    pub fn forget(&mut self) {
        *self = NonceBook::default();
    }
}

/// How a node answered a broadcast.
enum Broadcast {
    Accepted,
    /// Accepted and mined: an EIP-7966 synchronous send answered the receipt.
    Mined(rpc::Receipt),
    NonceConflict,
    Failed(SendError),
}

/// Whether a node refused a transaction because its nonce was already mined (by any transaction).
pub fn nonce_used(error: &RpcError) -> bool {
    let lower = error.to_string().to_ascii_lowercase();
    lower.contains("nonce too low") || lower.contains("nonce has already been used")
}

fn classify(error: RpcError) -> Broadcast {
    let text = error.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("already known") {
        Broadcast::Accepted
    } else if nonce_used(&error) || lower.contains("replacement transaction underpriced") {
        Broadcast::NonceConflict
    } else if lower.contains("insufficient funds") {
        Broadcast::Failed(SendError::Funds(text))
    } else if matches!(error, RpcError::Transport(_)) {
        Broadcast::Failed(SendError::Rpc(text))
    } else {
        Broadcast::Failed(SendError::Rejected(text))
    }
}

/// A broadcast transaction and its nonce (which a fee bump reuses), and its receipt when the node
/// answered it with the broadcast (EIP-7966).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    pub hash: B256,
    pub nonce: u64,
    #[serde(default)]
    pub receipt: Option<rpc::Receipt>,
    /// How long the broadcast waited for that receipt: the rest of the receipt wait is shorter.
    #[serde(default)]
    pub waited_ms: u64,
}

/// Whether a node does not have a method (EIP-7966's synchronous send, here).
fn method_missing(error: &RpcError) -> bool {
    match error {
        RpcError::Server { code, message, .. } => {
            let lower = message.to_ascii_lowercase();
            *code == -32601 || lower.contains("method not found") || lower.contains("not supported")
        }
        _ => false,
    }
}

/// Whether a synchronous send stopped waiting without an answer: the node has the transaction (its
/// timeout, EIP-7966 error 4) or may have it (ours); either way its receipt is polled for, and the
/// nonce stays taken (it was recorded, and a fee bump can replace it).
fn wait_ran_out(error: &RpcError) -> bool {
    match error {
        RpcError::Server { code, message, .. } => {
            let lower = message.to_ascii_lowercase();
            *code == 4 || lower.contains("timeout") || lower.contains("timed out")
        }
        RpcError::Transport(crate::ports::TransportError::Timeout) => true,
        _ => false,
    }
}

/// Signs `call` at `nonce`, records its hash in `journal`, then broadcasts it. Without the record
/// nothing is sent. With `sync`, the chains whose node lacks EIP-7966's synchronous send: elsewhere it
/// is tried first (the receipt comes in the same round trip), and a node that lacks it is noted there.
async fn sign_and_broadcast<H: HttpTransport, C: Clock, S: EvmSigner, J: Journal>(
    rpc: &JsonRpcClient<'_, H, C>,
    signer: &S,
    call: &UnsignedCall,
    nonce: u64,
    journal: &J,
    sync: Option<&SyncSend>,
) -> Result<(B256, Broadcast), SendError> {
    let contract_call = ContractCall {
        chain_id: call.chain_id,
        nonce,
        gas_limit: call.gas_limit,
        fees: call.fees,
        to: call.to,
        input: call.input.clone(),
    };
    let signed = tx::sign(signer, &contract_call).await?;
    journal.record(signed.hash, &signed.raw).await.map_err(SendError::Unavailable)?;
    if let Some(sync) = sync.filter(|s| !s.plain_only.borrow().contains(&call.chain_id)) {
        let request = rpc::send_raw_transaction_sync(&signed.raw);
        let broadcast = Box::pin(rpc.broadcast(request.method, request.params));
        let outcome = match select(broadcast, Box::pin(rpc.clock().sleep_millis(sync.wait_ms))).await {
            // A receipt that cannot be read is polled for.
            Either::Left((Ok(value), _)) => {
                rpc::receipt(&value).ok().flatten().map_or(Broadcast::Accepted, Broadcast::Mined)
            }
            Either::Left((Err(e), _)) if wait_ran_out(&e) => Broadcast::Accepted,
            Either::Left((Err(e), _)) if !method_missing(&e) => classify(e),
            Either::Left((Err(_), _)) => {
                sync.plain_only.borrow_mut().insert(call.chain_id);
                return Ok((signed.hash, broadcast_plain(rpc, &signed.raw).await));
            }
            // The wait a settle allows for its receipt ran out: the node has the transaction.
            Either::Right(_) => Broadcast::Accepted,
        };
        return Ok((signed.hash, outcome));
    }
    Ok((signed.hash, broadcast_plain(rpc, &signed.raw).await))
}

async fn broadcast_plain<H: HttpTransport, C: Clock>(rpc: &JsonRpcClient<'_, H, C>, raw: &[u8]) -> Broadcast {
    let request = rpc::send_raw_transaction(raw);
    rpc.broadcast(request.method, request.params).await.map_or_else(classify, |_| Broadcast::Accepted)
}

/// EIP-7966's synchronous send, where nodes have it.
#[derive(Debug)]
struct SyncSend {
    /// Chains whose node answered that it lacks it.
    plain_only: RefCell<HashSet<u64>>,
    /// How long a broadcast waits for its receipt at most.
    wait_ms: u64,
}

/// Sends from the accounts of one process, one [`NonceBook`] per (chain, account).
#[derive(Debug)]
pub struct NonceManagedSender {
    books: RefCell<HashMap<(u64, Address), NonceBook>>,
    /// `None`: plain broadcasts only.
    sync: Option<SyncSend>,
}

/// Plain broadcasts, and receipts polled for.
impl Default for NonceManagedSender {
    fn default() -> Self {
        NonceManagedSender::new(None)
    }
}

impl NonceManagedSender {
    /// A sender whose broadcasts are synchronous (EIP-7966) where the node can, each waiting up to
    /// `sync_wait_ms` for its receipt (`Config::evm_sync_send_wait_ms`); `None` for plain ones. The
    /// bound races the request, so the host's transport must yield while it waits.
    pub fn new(sync_wait_ms: Option<u64>) -> Self {
        let sync = sync_wait_ms.map(|wait_ms| SyncSend { plain_only: RefCell::default(), wait_ms });
        NonceManagedSender { books: RefCell::default(), sync }
    }
}

impl NonceManagedSender {
    /// Allocates a nonce, signs, broadcasts; retries with a fresh nonce on a nonce conflict.
    pub async fn send<H: HttpTransport, C: Clock, S: EvmSigner, J: Journal>(
        &self,
        rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        call: &UnsignedCall,
        journal: &J,
    ) -> Result<Sent, SendError> {
        let book_key = (call.chain_id, signer.address());
        for _ in 0..NONCE_CONFLICT_TRIES {
            let nonce = self.allocate(rpc, book_key).await?;
            let started = rpc.clock().now_millis();
            let outcome = sign_and_broadcast(rpc, signer, call, nonce, journal, self.sync.as_ref()).await;
            let waited_ms = rpc.clock().now_millis().saturating_sub(started);
            match outcome {
                Ok((hash, Broadcast::Accepted)) => return Ok(Sent { hash, nonce, receipt: None, waited_ms }),
                Ok((hash, Broadcast::Mined(receipt))) => {
                    return Ok(Sent { hash, nonce, receipt: Some(receipt), waited_ms });
                }
                Ok((_, Broadcast::NonceConflict)) => self.with_book(book_key, NonceBook::forget),
                Ok((_, Broadcast::Failed(e))) | Err(e) => {
                    self.with_book(book_key, |b| b.release(nonce));
                    return Err(e);
                }
            }
        }
        Err(SendError::Rejected("the account's nonce kept changing; try again".into()))
    }

    /// Replaces the pending transaction at `nonce` with `call` (the same call with bumped fees).
    /// A conflict means a transaction of that nonce was mined meanwhile: nothing is replaced.
    pub async fn replace<H: HttpTransport, C: Clock, S: EvmSigner, J: Journal>(
        &self,
        rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        call: &UnsignedCall,
        nonce: u64,
        journal: &J,
    ) -> Result<B256, SendError> {
        // A replacement is polled for with the transactions it replaces: a plain send.
        match sign_and_broadcast(rpc, signer, call, nonce, journal, None).await? {
            (hash, Broadcast::Accepted | Broadcast::Mined(_)) => Ok(hash),
            (_, Broadcast::NonceConflict) => Err(SendError::Rejected(format!("nonce {nonce} is already used"))),
            (_, Broadcast::Failed(e)) => Err(e),
        }
    }

    /// Drops what is known of an account (after a transaction was dropped or replaced elsewhere).
    pub fn forget(&self, chain_id: u64, account: Address) {
        self.with_book((chain_id, account), NonceBook::forget);
    }

    async fn allocate<H: HttpTransport, C: Clock>(
        &self,
        rpc: &JsonRpcClient<'_, H, C>,
        key: (u64, Address),
    ) -> Result<u64, SendError> {
        if let Some(nonce) = self.with_book(key, NonceBook::take) {
            return Ok(nonce);
        }
        let request = rpc::pending_nonce(key.1);
        let pending = rpc::quantity_u64(&rpc.call(request.method, request.params).await?)?;
        // No borrow is held across the await above: concurrent sends may both seed, which is harmless.
        self.with_book(key, |book| {
            book.seed(pending);
            book.take()
        })
        .ok_or_else(|| SendError::Rpc("no nonce after seeding".into()))
    }

    fn with_book<T>(&self, key: (u64, Address), f: impl FnOnce(&mut NonceBook) -> T) -> T {
        f(self.books.borrow_mut().entry(key).or_default())
    }
}

/// Where a transaction's hash (and signed bytes) is written before it is broadcast, so that a settle
/// cut off after the broadcast is reconciled from the chain instead of sent again (the settlement
/// ledger in production: [`crate::ledger::LedgerJournal`]). A failed write stops the broadcast.
pub trait Journal {
    fn record(&self, transaction: B256, raw: &[u8]) -> impl Future<Output = Result<(), String>>;
    /// The name the record goes under, for a sender that writes it itself (the Worker's signer Durable
    /// Object signs, records and broadcasts in one place); `None` when nothing is recorded.
    fn key(&self) -> Option<&str> {
        None
    }
}

/// Writes nothing: transactions that are not a payment's (none in production flows today; tests).
pub struct NoJournal;

impl Journal for NoJournal {
    async fn record(&self, _: B256, _: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

/// Sends the facilitator's transactions: allocates the nonce, signs with `signer`, broadcasts. In
/// the Worker a Durable Object per (network, signer) does it, so concurrent settles never collide.
pub trait TxSender {
    /// Allocates a nonce, signs, records the hash in `journal`, then broadcasts.
    fn send<H: HttpTransport, C: Clock, S: EvmSigner, J: Journal>(
        &self,
        rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        network: &'static Network,
        call: &UnsignedCall,
        journal: &J,
    ) -> impl Future<Output = Result<Sent, SendError>>;

    /// Signs `call` at the `nonce` of a stuck transaction (a fee bump), records the hash in `journal`,
    /// then broadcasts it.
    fn replace<H: HttpTransport, C: Clock, S: EvmSigner, J: Journal>(
        &self,
        rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        network: &'static Network,
        call: &UnsignedCall,
        nonce: u64,
        journal: &J,
    ) -> impl Future<Output = Result<B256, SendError>>;
}

impl TxSender for NonceManagedSender {
    async fn send<H: HttpTransport, C: Clock, S: EvmSigner, J: Journal>(
        &self,
        rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        _network: &'static Network,
        call: &UnsignedCall,
        journal: &J,
    ) -> Result<Sent, SendError> {
        NonceManagedSender::send(self, rpc, signer, call, journal).await
    }

    async fn replace<H: HttpTransport, C: Clock, S: EvmSigner, J: Journal>(
        &self,
        rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        _network: &'static Network,
        call: &UnsignedCall,
        nonce: u64,
        journal: &J,
    ) -> Result<B256, SendError> {
        NonceManagedSender::replace(self, rpc, signer, call, nonce, journal).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_unique_and_released_ones_are_reused_first() {
        let mut book = NonceBook::default();
        assert_eq!(book.take(), None);
        book.seed(7);
        book.seed(5);
        assert_eq!([book.take(), book.take(), book.take()], [Some(7), Some(8), Some(9)]);
        book.release(8);
        assert_eq!(book.take(), Some(8));
        assert_eq!(book.take(), Some(10));
        book.release(10);
        assert_eq!(book.take(), Some(10), "the last nonce goes back to `next`");
        book.release(3);
        book.seed(9);
        assert_eq!(book.take(), Some(11), "released nonces below the chain's count are dropped");
        book.forget();
        assert_eq!(book.take(), None);
    }
}
