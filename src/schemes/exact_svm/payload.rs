//! The `exact` Solana payload, `{transaction: <base64>}`: the client's partially signed transaction,
//! kept as sent (the scheme decodes and checks it), and its identity in the settlement ledger.

use serde_json::Value;

use crate::chains::svm::Transaction;
use crate::protocol::normalize::RequestError;

/// An `exact` Solana payment: the client's partially signed transaction, kept as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvmPayload {
    /// Standard base64 of the wire transaction.
    pub transaction: String,
}

impl SvmPayload {
    /// The first token instruction's authority, as the reference reports the payer; `None` when the
    /// transaction does not decode or has no token instruction. Decoded on demand: a verified payment
    /// reports the scheme's own payer, so only refusals need this.
    pub fn payer(&self) -> Option<String> {
        let transaction = Transaction::from_base64(&self.transaction).ok()?;
        crate::chains::svm::token_payer(transaction.message()).map(|key| key.to_base58())
    }
}

/// Decodes the payload; an undecodable transaction is left to the scheme, which has its own code for it.
pub fn decode(raw: &Value) -> Result<SvmPayload, RequestError> {
    match raw.get("transaction") {
        Some(Value::String(transaction)) if !transaction.is_empty() => {
            Ok(SvmPayload { transaction: transaction.clone() })
        }
        _ => Err(RequestError::PayloadField { field: "payload.transaction", problem: "must be a base64 transaction" }),
    }
}
