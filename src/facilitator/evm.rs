//! `exact` on EVM with EIP-3009 in the facilitator: verify, then settle once through the ledger
//! ([`super::once`]), keyed by the token's nonce of the payer; and what the facilitator's EVM
//! transactions share: the chain context, the signer for a payment, resuming what another settle sent.

use alloy_primitives::B256;
use serde_json::Value;

use super::core::Facilitator;
use super::home::{ClaimedSend, HomeReply, PaymentHome};
use super::host::Host;
use super::once::{settle_failure, store_failure, turn, used, OncePayment, Sent as Resumed, Turn};
use super::outcome::{Failure, Settled, TxStatus, Verified};
use crate::chains::evm::rpc;
use crate::chains::evm::sender::{Sent, UnsignedCall};
use crate::chains::evm::signer::{self, LocalEvmSigner};
use crate::chains::jsonrpc::JsonRpcClient;
use crate::ledger::{fingerprint, Ledger, LedgerJournal, LedgerOp};
use crate::network::Network;
use crate::ports::{Clock, EvmSigner};
use crate::protocol::Reason;
use crate::schemes::evm_tx::{self, EvmContext, TxError};
use crate::schemes::exact_evm::{self, Eip3009Payload, ExactEvmError};
use crate::schemes::{ledger_key, PaymentRequest};

impl<P: Host> Facilitator<P> {
    /// Verifies an EIP-3009 payment; one the ledger holds (being settled, or done) is refused.
    pub(super) async fn verify_eip3009(
        &self,
        request: &PaymentRequest,
        p: &Eip3009Payload,
    ) -> Result<Verified, Failure> {
        let ctx = self.evm_context(request.network)?;
        let key = ledger_key(request);
        let unsettled = self.check_unsettled(&key, Reason::EvmNonceAlreadyUsed);
        let verified = exact_evm::verify_beside(&ctx, request, p, unsettled).await?;
        Ok(Verified { payer: verified.payer.to_checksum(None) })
    }

    /// An EIP-3009 payment, once, through the ledger under `(chain, asset, from, nonce)`.
    pub(super) async fn settle_eip3009(
        &self,
        request: &PaymentRequest,
        p: &Eip3009Payload,
    ) -> Result<Settled, Failure> {
        let key = ledger_key(request);
        let payer = p.authorization.from.to_checksum(None);
        let payment = OncePayment {
            key: &key,
            fingerprint: fingerprint(request, &exact_evm::payload::identity(p)),
            payer: &payer,
            used: Reason::EvmNonceAlreadyUsed,
        };
        if let Some(settled) = self.settle_eip3009_at_home(&payment, request, p).await {
            return settled;
        }
        let send = || self.submit_and_confirm(&key, request, p);
        let resume = |sent| self.resume_evm(&key, request.network, &payer, exact_tx_failure, sent, send);
        self.settle_through_ledger(&payment, send, resume).await
    }

    /// The hot path (see [`super::home`]): the chain reads first, then one call to the payment's home.
    /// `None` when the reads do not find the payment ready to send (a wallet to deploy, a check that
    /// fails): the full flow answers it, claim first, as a duplicate or with the reason.
    async fn settle_eip3009_at_home(
        &self,
        payment: &OncePayment<'_>,
        request: &PaymentRequest,
        p: &Eip3009Payload,
    ) -> Option<Result<Settled, Failure>> {
        let ctx = self.evm_context(request.network).ok()?;
        let signer = self.signer_for(payment.key)?;
        let call = exact_evm::ready_call(&ctx, signer, request, p).await.ok()??;
        let send = || self.submit_and_confirm(payment.key, request, p);
        Some(self.settle_at_home(&ctx, signer, payment, call, exact_tx_failure, send).await)
    }

    /// Settles an EVM payment whose chain reads found `call` ready to send, at its home (see
    /// [`super::home`]): one call claims, sends and, with a receipt in the send's answer, records the
    /// outcome. A claim the home did not acquire is refused as it says, or resumed (`send` sends anew
    /// when what was recorded can never be mined).
    pub(super) async fn settle_at_home<F, Fut>(
        &self,
        ctx: &EvmContext<'_, P::Http, P::Clock>,
        signer: &LocalEvmSigner,
        payment: &OncePayment<'_>,
        call: UnsignedCall,
        tx_failure: fn(TxError) -> Failure,
        send: F,
    ) -> Result<Settled, Failure>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Settled, Failure>>,
    {
        let network = ctx.network;
        let claimed = ClaimedSend {
            key: payment.key.to_string(),
            fingerprint: payment.fingerprint.clone(),
            now_ms: self.clock.now_millis(),
            hold_ms: self.hold_ms(),
            payer: payment.payer.to_string(),
            call: call.clone(),
        };
        let home = self.sender.claim_and_send(&self.ledger, &ctx.rpc, signer, network, &claimed).await;
        let result = match home {
            Ok(HomeReply::Concluded { sent, first: true }) => {
                return Ok(settled(payment, sent.hash, sent.receipt.and_then(|r| r.block_number)));
            }
            Ok(HomeReply::Concluded { sent, first: false }) => {
                return Err(Failure { transaction: Some(sent.hash.to_string()), ..used(payment.used) });
            }
            Ok(HomeReply::NotSent { claim }) => match turn(claim, payment)? {
                // The home answers `NotSent` only for a claim it did not acquire.
                Turn::Send => Err(Failure::new(Reason::UnexpectedSettleError, "the payment's home sent nothing")),
                Turn::Resume(sent) => {
                    self.resume_evm(payment.key, network, payment.payer, tx_failure, sent, send).await
                }
            },
            // Whether the home claimed is not known: its hold (if any) runs out, and a retry then
            // reconciles what it may have sent.
            Err(error) => return Err(tx_failure(TxError::Send(error))),
            Ok(HomeReply::Failed { error }) => Err(tx_failure(TxError::Send(error))),
            Ok(HomeReply::Sent { sent }) => self.confirm_sent(ctx, signer, payment, call, sent, tx_failure).await,
        };
        self.conclude(payment, result).await
    }

    /// Waits for the receipt of what the home sent (bumping fees while it is stuck).
    async fn confirm_sent(
        &self,
        ctx: &EvmContext<'_, P::Http, P::Clock>,
        signer: &LocalEvmSigner,
        payment: &OncePayment<'_>,
        call: UnsignedCall,
        sent: Sent,
        tx_failure: fn(TxError) -> Failure,
    ) -> Result<Settled, Failure> {
        let journal = LedgerJournal { ledger: &self.ledger, key: Some(payment.key) };
        let sent = evm_tx::Sent {
            transactions: vec![sent.hash],
            call: Some((call, sent.nonce)),
            receipt: sent.receipt,
            waited_ms: sent.waited_ms,
        };
        let mined = evm_tx::confirm_with_fee_bumps(ctx, signer, &self.sender, &journal, &sent).await;
        mined.map(|m| settled(payment, m.transaction, m.block_number)).map_err(tx_failure)
    }

    /// Takes over an EVM payment another settle sent: its receipts decide; nothing is sent again
    /// unless the recorded transactions can never be mined (cut off before the broadcast, their nonce
    /// taken), and then the payment is sent anew under this settle's hold.
    pub(super) async fn resume_evm<F, Fut>(
        &self,
        key: &str,
        network: &'static Network,
        payer: &str,
        tx_failure: fn(TxError) -> Failure,
        sent: Resumed,
        send: F,
    ) -> Result<Settled, Failure>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Settled, Failure>>,
    {
        let transactions = parse_hashes(&sent.replaced, &sent.transaction)?;
        if self.never_mined(network, &transactions, sent.raw.as_deref()).await {
            let abandon = LedgerOp::Abandon { transaction: sent.transaction };
            self.ledger.apply(key, abandon).await.map_err(|e| store_failure(e.to_string()))?;
            return send().await;
        }
        let ctx = self.evm_context(network)?;
        evm_tx::confirm(&ctx, &transactions).await.map_err(tx_failure).map(|mined| Settled {
            transaction: mined.transaction.to_string(),
            payer: payer.to_string(),
            block_number: mined.block_number,
            extensions: None,
            amount: None,
        })
    }

    /// What the chain says of a transaction: mined (and how), pending, or unknown.
    pub async fn transaction_status(&self, network: &'static Network, hash: B256) -> Result<TxStatus, Failure> {
        let config = self.config.evm(network).ok_or_else(|| {
            Failure::new(Reason::InvalidNetwork, format!("network `{}` is not served here", network.name))
        })?;
        let rpc = JsonRpcClient::new(&self.http, &self.clock, &config.rpc_urls);
        let calls = [rpc::transaction_receipt(hash), rpc::transaction_by_hash(hash)];
        let fail = |e: crate::chains::jsonrpc::RpcError| Failure::new(Reason::UnexpectedSettleError, e.to_string());
        let mut results = rpc.batch(&calls).await.map_err(fail)?.into_iter();
        let receipt = results.next().unwrap_or(Ok(Value::Null)).map_err(fail)?;
        let transaction = results.next().unwrap_or(Ok(Value::Null)).map_err(fail)?;
        Ok(match rpc::receipt(&receipt).map_err(fail)? {
            Some(r) if r.success => TxStatus::Success { block_number: r.block_number },
            Some(r) => TxStatus::Reverted { block_number: r.block_number },
            None if transaction.is_null() => TxStatus::Unknown,
            None => TxStatus::Pending,
        })
    }

    async fn submit_and_confirm(
        &self,
        key: &str,
        request: &PaymentRequest,
        p: &Eip3009Payload,
    ) -> Result<Settled, Failure> {
        let ctx = self.evm_context(request.network)?;
        let signer = self.signer_for(key).ok_or_else(|| Failure::from(ExactEvmError::NoSigner))?;
        let journal = LedgerJournal { ledger: &self.ledger, key: Some(key) };
        let submitted =
            exact_evm::submit(&ctx, signer, &self.sender, &journal, request, p).await.map_err(settle_failure)?;
        let settlement = exact_evm::confirm_with_fee_bumps(&ctx, signer, &self.sender, &journal, &submitted)
            .await
            .map_err(settle_failure)?;
        Ok(Settled {
            transaction: settlement.transaction.to_string(),
            payer: settlement.payer.to_checksum(None),
            block_number: settlement.block_number,
            extensions: None,
            amount: None,
        })
    }

    /// Whether the recorded transactions can never be mined (see [`evm_tx::is_dead`]); `false` when
    /// that cannot be told (no signed bytes recorded, the chain unreachable).
    async fn never_mined(&self, network: &'static Network, transactions: &[B256], raw: Option<&str>) -> bool {
        let Some(raw) = raw.and_then(|r| r.strip_prefix("0x")).and_then(|r| hex::decode(r).ok()) else {
            return false;
        };
        match self.evm_context(network) {
            Ok(ctx) => evm_tx::is_dead(&ctx, transactions, &raw).await,
            Err(_) => false,
        }
    }

    /// The account that settles a payment (see [`signer::for_payment`]).
    pub(super) fn signer_for(&self, key: &str) -> Option<&LocalEvmSigner> {
        signer::for_payment(&self.config.evm_signers, key)
    }

    pub(super) fn evm_context(&self, network: &'static Network) -> Result<EvmContext<'_, P::Http, P::Clock>, Failure> {
        let config = self.config.evm(network).ok_or_else(|| {
            Failure::new(Reason::InvalidNetwork, format!("network `{}` is not served here", network.name))
        })?;
        Ok(EvmContext {
            network: config.network,
            rpc: JsonRpcClient::new(&self.http, &self.clock, &config.rpc_urls),
            clock: &self.clock,
            settings: self.config.settings,
            gas: config.gas,
            facilitator: self.config.evm_signers.first().map(|s| s.address()),
            allowed_factories: &self.config.eip6492_factories,
        })
    }
}

impl From<ExactEvmError> for Failure {
    fn from(e: ExactEvmError) -> Self {
        Failure { transaction: e.transaction().map(|h| h.to_string()), ..Failure::new(e.reason(), e.to_string()) }
    }
}

/// A payment's success by `transaction`.
fn settled(payment: &OncePayment<'_>, transaction: B256, block_number: Option<u64>) -> Settled {
    let (transaction, payer) = (transaction.to_string(), payment.payer.to_string());
    Settled { transaction, payer, block_number, extensions: None, amount: None }
}

/// The hashes a ledger entry records, earliest first.
fn parse_hashes(replaced: &[String], latest: &str) -> Result<Vec<B256>, Failure> {
    let malformed = || Failure::new(Reason::UnexpectedSettleError, "ledger holds a malformed hash");
    replaced.iter().map(String::as_str).chain([latest]).map(|h| h.parse().map_err(|_| malformed())).collect()
}

/// An `exact` transaction failure, as a settle answers it.
pub(super) fn exact_tx_failure(e: TxError) -> Failure {
    settle_failure(ExactEvmError::from(e))
}
