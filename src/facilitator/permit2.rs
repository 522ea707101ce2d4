//! `exact` on EVM through Permit2 in the facilitator: verify, then settle once through the ledger
//! ([`super::once`]) under the Permit2 nonce of the payer, which Permit2 spends once.

use super::core::Facilitator;
use super::host::Host;
use super::once::{settle_failure, OncePayment};
use super::outcome::{Failure, Settled, Verified};
use crate::ledger::{fingerprint, LedgerJournal};
use crate::protocol::Reason;
use crate::schemes::evm_tx::TxError;
use crate::schemes::exact_evm::ExactEvmError;
use crate::schemes::exact_permit2::{self, ExactPermit2Error, Options, Permit2Payload};
use crate::schemes::{ledger_key, PaymentRequest};

impl From<ExactPermit2Error> for Failure {
    fn from(e: ExactPermit2Error) -> Self {
        Failure { transaction: e.transaction().map(|h| h.to_string()), ..Failure::new(e.reason(), e.to_string()) }
    }
}

impl<P: Host> Facilitator<P> {
    /// The Permit2 extensions enabled, for `exact` and the standard `upto` alike.
    pub(super) fn permit2_options(&self) -> Options {
        Options { erc20_approval: self.config.permit2_erc20_approval }
    }

    /// Verifies a Permit2 payment; one the ledger holds (being settled, or done) is refused.
    pub(super) async fn verify_permit2(
        &self,
        request: &PaymentRequest,
        p: &Permit2Payload,
    ) -> Result<Verified, Failure> {
        let ctx = self.evm_context(request.network)?;
        let verified = exact_permit2::verify_with(&ctx, request, p, self.permit2_options()).await?;
        self.check_unsettled(&ledger_key(request), Reason::Permit2InvalidNonce).await?;
        Ok(Verified { payer: verified.payer.to_checksum(None) })
    }

    /// A Permit2 payment, once, through the ledger under `(chain, owner, nonce)`.
    pub(super) async fn settle_permit2(
        &self,
        request: &PaymentRequest,
        p: &Permit2Payload,
    ) -> Result<Settled, Failure> {
        let key = ledger_key(request);
        let payer = p.from.to_checksum(None);
        let payment = OncePayment {
            key: &key,
            fingerprint: fingerprint(request, &exact_permit2::identity(p)),
            payer: &payer,
            used: Reason::Permit2InvalidNonce,
        };
        if let Some(settled) = self.settle_permit2_at_home(&payment, request, p).await {
            return settled;
        }
        let send = || self.submit_permit2(&key, request, p);
        let resume = |sent| self.resume_evm(&key, request.network, &payer, permit2_tx_failure, sent, send);
        self.settle_through_ledger(&payment, send, resume).await
    }

    /// The hot path, as an EIP-3009 payment's (see [`super::home`]): the chain reads first, then one
    /// call to the payment's home, the signer object that settles it. `None` when the reads do not
    /// find the payment ready to send (an approval to relay first, a check that fails): the full flow
    /// answers it, claim first.
    async fn settle_permit2_at_home(
        &self,
        payment: &OncePayment<'_>,
        request: &PaymentRequest,
        p: &Permit2Payload,
    ) -> Option<Result<Settled, Failure>> {
        let ctx = self.evm_context(request.network).ok()?;
        let signer = self.signer_for(payment.key)?;
        let call = exact_permit2::ready_call(&ctx, signer, request, p, self.permit2_options()).await.ok()??;
        let send = || self.submit_permit2(payment.key, request, p);
        Some(self.settle_at_home(&ctx, signer, payment, call, permit2_tx_failure, send).await)
    }

    async fn submit_permit2(
        &self,
        key: &str,
        request: &PaymentRequest,
        p: &Permit2Payload,
    ) -> Result<Settled, Failure> {
        let ctx = self.evm_context(request.network)?;
        let signer = self.signer_for(key).ok_or_else(|| Failure::from(ExactEvmError::NoSigner))?;
        let journal = LedgerJournal { ledger: &self.ledger, key: Some(key) };
        let options = self.permit2_options();
        let submitted = exact_permit2::submit_with(&ctx, signer, &self.sender, &journal, request, p, options)
            .await
            .map_err(settle_failure)?;
        let settlement = exact_permit2::confirm_with_fee_bumps(&ctx, signer, &self.sender, &journal, &submitted)
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
}

/// A Permit2 settle's transaction failure, as a settle answers it.
fn permit2_tx_failure(e: TxError) -> Failure {
    settle_failure(ExactPermit2Error::from(e))
}
