//! `exact` on Solana: the pure verify rules (protocol digest §5.1, §5.2) over a client's partially
//! signed transaction, and the fee payer's co-signature for settle. Nothing here talks to a chain:
//! simulation and broadcast belong to the caller.
//!
//! The entry point takes plain inputs (the payload's base64 transaction, the requirements' fields, the
//! facilitator's fee payers), so it can be wired to the normalized model without changes.

pub mod chain;
mod checks;
mod error;
pub mod payload;

pub use checks::{MAX_COMPUTE_UNIT_PRICE_MICRO_LAMPORTS, MAX_INSTRUCTIONS, MIN_INSTRUCTIONS};
pub use error::ExactSvmError;
pub use payload::SvmPayload;

use crate::chains::svm::{Keypair, Pubkey, Transaction, TransferChecked};
use crate::network::Network;
use crate::protocol::model::{Accepted, PaymentRequest, Requirements};
use checks::*;

/// The fields of `paymentRequirements` an `exact` Solana payment is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SvmRequirements<'a> {
    /// Token base units, a decimal string.
    pub amount: &'a str,
    /// The token mint.
    pub asset: &'a str,
    /// The recipient wallet (its associated token account receives the transfer).
    pub pay_to: &'a str,
    /// `extra.feePayer`.
    pub fee_payer: Option<&'a str>,
    /// `extra.memo`.
    pub memo: Option<&'a str>,
}

impl<'a> SvmRequirements<'a> {
    /// The fields of normalized requirements; `amount` is their amount as a decimal string.
    pub fn of(requirements: &'a Requirements, amount: &'a str) -> Self {
        SvmRequirements {
            amount,
            asset: &requirements.asset,
            pay_to: &requirements.pay_to,
            fee_payer: requirements.extra_str("feePayer"),
            memo: requirements.extra_str("memo"),
        }
    }
}

/// A payment that passed every pure check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSvm {
    /// The transfer authority (the x402 `payer`).
    pub payer: Pubkey,
    /// The facilitator fee payer that must co-sign.
    pub fee_payer: Pubkey,
    pub transfer: TransferChecked,
    /// SPL Token or Token-2022.
    pub token_program: Pubkey,
    pub compute_unit_limit: u32,
    pub compute_unit_price_micro_lamports: u64,
    pub transaction: Transaction,
}

impl VerifiedSvm {
    /// The settlement ledger's key for this payment (see [`duplicate_key`]).
    pub fn duplicate_key(&self) -> String {
        duplicate_key(&self.transaction)
    }

    /// Adds the fee payer's signature and returns the wire transaction (base64) to broadcast.
    pub fn co_sign(&mut self, fee_payer: &Keypair) -> Result<String, ExactSvmError> {
        let actual = fee_payer.pubkey();
        if actual != self.fee_payer {
            return Err(ExactSvmError::WrongFeePayerKey { actual, expected: self.fee_payer });
        }
        self.transaction.sign(fee_payer).map_err(ExactSvmError::Signature)?;
        Ok(self.transaction.to_base64())
    }
}

/// SHA-256 of the message bytes, hex: the same payment has the same key whatever its signatures
/// (a re-encoded or re-signed copy cannot settle twice).
pub fn duplicate_key(transaction: &Transaction) -> String {
    hex::encode(transaction.message_hash())
}

/// The payload's `accepted` scheme and network are the requirements' (reference step 1).
pub fn check_accepted(accepted: &Accepted, required_scheme: &str, network: &Network) -> Result<(), ExactSvmError> {
    if accepted.scheme != "exact" || required_scheme != "exact" {
        return Err(ExactSvmError::SchemeMismatch {
            accepted: accepted.scheme.clone(),
            required: required_scheme.to_string(),
        });
    }
    if crate::network::find(&accepted.network) != Some(network) {
        return Err(ExactSvmError::NetworkMismatch {
            accepted: accepted.network.clone(),
            required: network.caip2.to_string(),
        });
    }
    Ok(())
}

/// Verifies a client's `exact` payment transaction (the payload's base64 `transaction`) against the
/// requirements, for a facilitator whose fee payers are `fee_payers`.
pub fn verify_transaction(
    transaction: &str,
    requirements: &SvmRequirements<'_>,
    fee_payers: &[Pubkey],
) -> Result<VerifiedSvm, ExactSvmError> {
    let fee_payer = check_fee_payer(requirements.fee_payer, fee_payers)?;
    let required = Parsed {
        amount: parse_amount(requirements.amount)?,
        asset: parse_asset(requirements.asset)?,
        pay_to: parse_pay_to(requirements.pay_to)?,
        memo: requirements.memo,
    };
    let transaction = decode_transaction(transaction)?;
    let message = transaction.message();
    check_no_address_lookup_tables(message)?;
    check_instruction_count(message)?;
    let compute_unit_limit = check_compute_limit(message)?;
    let compute_unit_price_micro_lamports = check_compute_price(message)?;
    let (transfer, token_program) = parse_transfer(message)?;
    check_authority_not_fee_payer(&transfer, fee_payers)?;
    check_fee_payer_not_in_accounts(message, fee_payers)?;
    check_mint(&transfer, &required.asset)?;
    check_recipient(&transfer, &required.pay_to, &required.asset, &token_program)?;
    check_not_self_transfer(&transfer, &required.pay_to)?;
    check_amount(&transfer, required.amount)?;
    check_optional_instructions(message)?;
    check_memo(message, required.memo)?;
    check_fee_payer_slot(message, &fee_payer)?;
    check_client_signatures(&transaction, &transfer, &fee_payer)?;
    Ok(VerifiedSvm {
        payer: transfer.authority,
        fee_payer,
        transfer,
        token_program,
        compute_unit_limit,
        compute_unit_price_micro_lamports,
        transaction,
    })
}

/// Every pure check of a normalized request (no chain): its `accepted`, then the transaction. `managed`
/// are the facilitator's fee payers; `None` trusts the requirements' `extra.feePayer` (a verifier
/// outside the facilitator that does not know them).
pub fn verify_offline<P>(
    request: &PaymentRequest<P>,
    payload: &SvmPayload,
    managed: Option<&[Pubkey]>,
) -> Result<VerifiedSvm, ExactSvmError> {
    check_accepted(&request.accepted, &request.requirements.scheme, request.network)?;
    let amount = request.requirements.amount.to_string();
    let requirements = SvmRequirements::of(&request.requirements, &amount);
    let trusted: Vec<Pubkey> = requirements.fee_payer.and_then(|f| f.parse().ok()).into_iter().collect();
    verify_transaction(&payload.transaction, &requirements, managed.unwrap_or(&trusted))
}

/// The key of a Solana payment: `svm/caip2/<sha256 of the message>`, so a re-signed or re-encoded copy
/// of the same payment is the same entry.
pub fn ledger_key(caip2: &str, transaction: &Transaction) -> String {
    format!("svm/{caip2}/{}", duplicate_key(transaction))
}

/// The key of a payload before the scheme read it (an undecodable one has a key of its own).
pub fn payload_key(caip2: &str, payload: &SvmPayload) -> String {
    match Transaction::from_base64(&payload.transaction) {
        Ok(transaction) => ledger_key(caip2, &transaction),
        Err(_) => format!("svm/{caip2}/undecodable"),
    }
}

#[cfg(test)]
mod tests;
