//! What verify and settle answer: a success ([`Verified`], [`Settled`]) or a [`Failure`] with its reason.

use serde_json::Value;

use crate::protocol::Reason;

/// Why a payment was refused or not settled: one reason code and a message for humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: Reason,
    pub message: String,
    /// The transaction a failed settle concerns, when one was sent.
    pub transaction: Option<String>,
    /// A hook's own reason code, answered verbatim instead of `reason`'s.
    pub hook_reason: Option<String>,
    /// The `upto` session a refusal concerns.
    pub session_id: Option<String>,
}

impl Failure {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Failure { reason, message: message.into(), transaction: None, hook_reason: None, session_id: None }
    }

    /// A payment a before-hook refused.
    pub fn aborted(reason: String, message: String) -> Self {
        Failure { hook_reason: Some(reason), ..Failure::new(Reason::InvalidPayload, message) }
    }

    /// The Cronos dialect's text for this failure (a hook's reason verbatim).
    pub fn cronos_text(&self) -> String {
        self.hook_reason.clone().unwrap_or_else(|| self.reason.cronos_text().to_string())
    }

    /// The reason code to answer with, for a response of `version`.
    pub fn code(&self, version: crate::protocol::Version) -> String {
        self.hook_reason.clone().unwrap_or_else(|| self.reason.code(version).to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub payer: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    pub transaction: String,
    pub payer: String,
    pub block_number: Option<u64>,
    /// The response's `extensions` (an `upto` capture reports its session there).
    pub extensions: Option<Value>,
}

/// A transaction as the chain sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    Pending,
    Success { block_number: Option<u64> },
    Reverted { block_number: Option<u64> },
    Unknown,
}
