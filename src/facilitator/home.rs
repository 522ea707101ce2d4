//! A payment's home: the one owner that keeps its ledger entry, allocates the nonce and broadcasts.
//! An EIP-3009 or Permit2 payment's home is the signer that settles it ([`for_payment`]), so a
//! settle claims the payment, sends its transaction (recorded before the broadcast) and, when the
//! node answers with the receipt (EIP-7966), records the outcome, all in one call: in the Worker one
//! round trip to that signer's Durable Object instead of four (ledger claim, signer, the signer's
//! record in the ledger, outcome).
//!
//! What is guarded does not change: the same [`LedgerOp`] transitions run at the home, atomically.
//!
//! [`for_payment`]: crate::chains::evm::signer::for_payment

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::chains::evm::sender::{NonceManagedSender, SendError, Sent, UnsignedCall};
use crate::chains::jsonrpc::JsonRpcClient;
use crate::ledger::{self, Claim, Ledger, LedgerJournal, LedgerOp, LedgerReply, SettleRecord};
use crate::network::Network;
use crate::ports::{Clock, EvmSigner, HttpTransport};

/// A settle's request to a payment's home: claim `key` with `fingerprint` for `hold_ms`, and send
/// `call` if the claim is this settle's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedSend {
    pub key: String,
    pub fingerprint: String,
    pub now_ms: u64,
    pub hold_ms: u64,
    /// Who pays, for the success record.
    pub payer: String,
    pub call: UnsignedCall,
}

/// What the home did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "home", rename_all = "snake_case")]
pub enum HomeReply {
    /// The claim was not this settle's to send under (held, done, conflicting, or to resume):
    /// nothing was sent.
    NotSent { claim: Claim },
    /// Claimed; nothing reached a node. The claim stays for the settle to let go.
    Failed { error: SendError },
    /// Claimed and sent; not concluded (no receipt yet, a revert, or the record failed): the
    /// settle confirms and concludes as usual.
    Sent { sent: Sent },
    /// Claimed, sent, mined and recorded; `first` when this settle made the payment final.
    Concluded { sent: Sent, first: bool },
}

/// Where a payment's claimed send runs: at the home of its entry and nonces.
pub trait PaymentHome {
    fn claim_and_send<L: Ledger, H: HttpTransport, C: Clock, S: EvmSigner>(
        &self,
        ledger: &L,
        rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        network: &'static Network,
        request: &ClaimedSend,
    ) -> impl Future<Output = Result<HomeReply, SendError>>;
}

/// In one process the ledger and the nonces are both local.
impl PaymentHome for NonceManagedSender {
    async fn claim_and_send<L: Ledger, H: HttpTransport, C: Clock, S: EvmSigner>(
        &self,
        ledger: &L,
        rpc: &JsonRpcClient<'_, H, C>,
        signer: &S,
        _network: &'static Network,
        request: &ClaimedSend,
    ) -> Result<HomeReply, SendError> {
        claim_and_send_here(ledger, self, rpc, signer, request).await
    }
}

/// The claimed send where `ledger` and `sender` are this home's own.
pub async fn claim_and_send_here<L: Ledger, H: HttpTransport, C: Clock, S: EvmSigner>(
    ledger: &L,
    sender: &NonceManagedSender,
    rpc: &JsonRpcClient<'_, H, C>,
    signer: &S,
    request: &ClaimedSend,
) -> Result<HomeReply, SendError> {
    let key = request.key.as_str();
    let fingerprint = Some(request.fingerprint.clone());
    let claim = LedgerOp::Claim { now_ms: request.now_ms, hold_ms: request.hold_ms, fingerprint };
    match ledger::apply_claim(ledger, key, claim).await {
        Ok(Claim::Acquired) => {}
        Ok(claim) => return Ok(HomeReply::NotSent { claim }),
        Err(e) => return Err(SendError::Unavailable(e.to_string())),
    }
    let journal = LedgerJournal { ledger, key: Some(key) };
    let sent = match sender.send(rpc, signer, &request.call, &journal).await {
        Ok(sent) => sent,
        Err(error) => return Ok(HomeReply::Failed { error }),
    };
    let Some(receipt) = sent.receipt.filter(|r| r.success) else { return Ok(HomeReply::Sent { sent }) };
    let at_ms = request.now_ms.max(rpc.clock().now_millis());
    let record = SettleRecord::success(sent.hash.to_string(), request.payer.clone(), receipt.block_number, at_ms);
    Ok(match ledger.apply(key, LedgerOp::Complete { record }).await {
        Ok(LedgerReply::Completed { first }) => HomeReply::Concluded { sent, first },
        _ => HomeReply::Sent { sent },
    })
}
