//! `exact` on EVM with EIP-3009 in the facilitator: verify, then settle once through the ledger
//! ([`super::once`]), keyed by the token's nonce of the payer; and what the facilitator's EVM
//! transactions share: the chain context, the signer for a payment, resuming what another settle sent.

use alloy_primitives::B256;
use serde_json::Value;

use super::core::Facilitator;
use super::host::Host;
use super::once::{settle_failure, store_failure, OncePayment, Sent};
use super::outcome::{Failure, Settled, TxStatus, Verified};
use crate::chains::evm::rpc;
use crate::chains::evm::signer::LocalEvmSigner;
use crate::chains::jsonrpc::JsonRpcClient;
use crate::ledger::{fingerprint, Ledger, LedgerJournal, LedgerOp};
use crate::network::Network;
use crate::ports::EvmSigner;
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
        let verified = exact_evm::verify(&ctx, request, p).await?;
        self.check_unsettled(&ledger_key(request), Reason::EvmNonceAlreadyUsed).await?;
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
        let send = || self.submit_and_confirm(&key, request, p);
        let resume = |sent| self.resume_evm(&key, request.network, &payer, exact_tx_failure, sent, send);
        self.settle_through_ledger(&payment, send, resume).await
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
        sent: Sent,
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

    /// The account that settles a payment: spread over the signers by the payment's identity, so each
    /// signer's Durable Object (and nonce sequence) carries a share of the load.
    pub(super) fn signer_for(&self, key: &str) -> Option<&LocalEvmSigner> {
        let signers = &self.config.evm_signers;
        let hash = alloy_primitives::keccak256(key.as_bytes());
        let index = u64::from_be_bytes(hash[..8].try_into().unwrap_or_default()) as usize % signers.len().max(1);
        signers.get(index)
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

/// The hashes a ledger entry records, earliest first.
fn parse_hashes(replaced: &[String], latest: &str) -> Result<Vec<B256>, Failure> {
    let malformed = || Failure::new(Reason::UnexpectedSettleError, "ledger holds a malformed hash");
    replaced.iter().map(String::as_str).chain([latest]).map(|h| h.parse().map_err(|_| malformed())).collect()
}

/// An `exact` transaction failure, as a settle answers it.
pub(super) fn exact_tx_failure(e: TxError) -> Failure {
    settle_failure(ExactEvmError::from(e))
}
