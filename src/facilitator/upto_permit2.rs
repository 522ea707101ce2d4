//! The standard `upto` (Permit2 through the x402 upto proxy) in the facilitator: verify (the cap),
//! then settle the charge once through the ledger ([`super::once`]) under the payer's Permit2 nonce,
//! the same key an `exact` Permit2 payment has (one nonce space per owner).
//!
//! A zero charge sends nothing and answers success with `transaction: ""` (as the reference does),
//! and it is recorded done in the ledger like any settled payment: the chain would still take the
//! authorization (its Permit2 nonce is unused), but the ledger gives one payment identity one success,
//! so a second settle of the same payload, for any charge, is refused (and so is a verify of it).

use super::core::Facilitator;
use super::host::Host;
use super::once::{settle_failure, OncePayment};
use super::outcome::{Failure, Settled, Verified};
use crate::ledger::{fingerprint, LedgerJournal};
use crate::ports::EvmSigner;
use crate::protocol::Reason;
use crate::schemes::evm_tx::TxError;
use crate::schemes::exact_permit2::ExactPermit2Error;
use crate::schemes::upto_permit2::{self, Submission, UptoPermit2Error, UptoPermit2Payload};
use crate::schemes::{ledger_key, PaymentRequest};

impl From<UptoPermit2Error> for Failure {
    fn from(e: UptoPermit2Error) -> Self {
        Failure { transaction: e.transaction().map(|h| h.to_string()), ..Failure::new(e.reason(), e.to_string()) }
    }
}

impl<P: Host> Facilitator<P> {
    /// Verifies a standard `upto` payment for its cap; one the ledger holds (being settled, or done,
    /// a zero charge included) is refused.
    pub(super) async fn verify_upto_permit2(
        &self,
        request: &PaymentRequest,
        p: &UptoPermit2Payload,
    ) -> Result<Verified, Failure> {
        let ctx = self.evm_context(request.network)?;
        let facilitators: Vec<_> = self.config.evm_signers.iter().map(|s| s.address()).collect();
        let options = self.permit2_options();
        let verified = upto_permit2::verify(&ctx, request, p, &facilitators, options).await?;
        self.check_unsettled(&ledger_key(request), Reason::Permit2InvalidNonce).await?;
        Ok(Verified { payer: verified.payer.to_checksum(None) })
    }

    /// Settles the charge (`requirements.amount`), once, through the ledger under `(chain, owner,
    /// nonce)`; the answer carries the charge as `amount`.
    pub(super) async fn settle_upto_permit2(
        &self,
        request: &PaymentRequest,
        p: &UptoPermit2Payload,
    ) -> Result<Settled, Failure> {
        let key = ledger_key(request);
        let payer = p.permit.from.to_checksum(None);
        let payment = OncePayment {
            key: &key,
            fingerprint: fingerprint(request, &upto_permit2::identity(p)),
            payer: &payer,
            used: Reason::Permit2InvalidNonce,
        };
        let charge = request.requirements.amount.to_string();
        if let Some(settled) = self.settle_upto_permit2_at_home(&payment, request, p).await {
            return settled.map(|settled| Settled { amount: Some(charge), ..settled });
        }
        let send = || self.submit_upto_permit2(&key, request, p);
        let resume = |sent| async {
            let settled = self.resume_evm(&key, request.network, &payer, upto_tx_failure, sent, send).await?;
            Ok(Settled { amount: Some(charge.clone()), ..settled })
        };
        self.settle_through_ledger(&payment, send, resume).await
    }

    /// The hot path, as an `exact` Permit2 payment's (see [`super::home`]), when the witness names the
    /// payment's home signer (always, with one EVM key): the chain reads first, then one call to that
    /// signer's object. `None` otherwise, and when the reads do not find a charge ready to send: the
    /// full flow answers it, claim first.
    async fn settle_upto_permit2_at_home(
        &self,
        payment: &OncePayment<'_>,
        request: &PaymentRequest,
        p: &UptoPermit2Payload,
    ) -> Option<Result<Settled, Failure>> {
        let ctx = self.evm_context(request.network).ok()?;
        let signer = self.signer_for(payment.key)?;
        let (signers, options) = (&self.config.evm_signers, self.permit2_options());
        let call = upto_permit2::ready_call(&ctx, signers, signer, request, p, options).await.ok()??;
        let send = || self.submit_upto_permit2(payment.key, request, p);
        Some(self.settle_at_home(&ctx, signer, payment, call, upto_tx_failure, send).await)
    }

    async fn submit_upto_permit2(
        &self,
        key: &str,
        request: &PaymentRequest,
        p: &UptoPermit2Payload,
    ) -> Result<Settled, Failure> {
        let ctx = self.evm_context(request.network)?;
        let journal = LedgerJournal { ledger: &self.ledger, key: Some(key) };
        let signers = &self.config.evm_signers;
        let options = self.permit2_options();
        let submission = upto_permit2::submit(&ctx, signers, &self.sender, &journal, request, p, options)
            .await
            .map_err(settle_failure)?;
        let charge = Some(request.requirements.amount.to_string());
        let (submitted, signer) = match submission {
            Submission::Nothing => {
                let payer = p.permit.from.to_checksum(None);
                return Ok(Settled {
                    transaction: String::new(),
                    payer,
                    block_number: None,
                    extensions: None,
                    amount: charge,
                });
            }
            Submission::Sent { submitted, signer } => (submitted, signer),
        };
        let settlement = upto_permit2::confirm_with_fee_bumps(&ctx, signer, &self.sender, &journal, &submitted)
            .await
            .map_err(settle_failure)?;
        Ok(Settled {
            transaction: settlement.transaction.to_string(),
            payer: settlement.payer.to_checksum(None),
            block_number: settlement.block_number,
            extensions: None,
            amount: charge,
        })
    }
}

/// A standard `upto` settle's transaction failure, as a settle answers it.
fn upto_tx_failure(e: TxError) -> Failure {
    settle_failure(UptoPermit2Error::from(ExactPermit2Error::from(e)))
}
