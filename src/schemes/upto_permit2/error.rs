use alloy_primitives::{Address, B256, U256};

use crate::protocol::Reason;
use crate::schemes::exact_permit2::ExactPermit2Error;

/// Why a standard `upto` payment is refused or could not be settled: its own rules, or one it
/// shares with `exact` through Permit2 ([`ExactPermit2Error`]). Each maps to one reason, the
/// reference's (`@x402/evm` 2.27 `upto/facilitator/errors.ts`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UptoPermit2Error {
    #[error(
        "not an upto Permit2 payload: `signature` and every `permit2Authorization` field, `witness.facilitator` \
         included, must be strings"
    )]
    NotUptoPayload,
    #[error("payload scheme `{accepted}` and requirements scheme `{required}` must both be `upto`")]
    SchemeMismatch { accepted: String, required: String },
    #[error("payload network `{accepted}` differs from requirements network `{required}`")]
    NetworkMismatch { accepted: String, required: String },
    #[error("witness.facilitator {0} is not an address of this facilitator: it could never settle the payment")]
    FacilitatorMismatch(Address),
    #[error("the charge {charge} is above the permitted cap {cap}")]
    SettlementExceedsAmount { charge: U256, cap: U256 },
    #[error("no signer of this facilitator is witness.facilitator {0}, the only address the upto proxy lets settle")]
    NoFacilitatorSigner(Address),
    #[error(transparent)]
    Permit2(#[from] ExactPermit2Error),
}

impl UptoPermit2Error {
    pub fn reason(&self) -> Reason {
        use UptoPermit2Error::*;
        match self {
            NotUptoPayload => Reason::UnsupportedPayloadType,
            SchemeMismatch { .. } => Reason::UptoEvmScheme,
            NetworkMismatch { .. } => Reason::UptoEvmNetworkMismatch,
            FacilitatorMismatch(_) => Reason::UptoFacilitatorMismatch,
            SettlementExceedsAmount { .. } => Reason::UptoSettlementExceedsAmount,
            NoFacilitatorSigner(_) => Reason::UptoUnauthorizedFacilitator,
            // A mined revert: the reference's receipt check answers the upto code.
            Permit2(ExactPermit2Error::Reverted(_)) => Reason::UptoEvmTransactionFailed,
            Permit2(e) => e.reason(),
        }
    }

    /// The payment's transaction this failure concerns, when one was sent.
    pub fn transaction(&self) -> Option<B256> {
        match self {
            UptoPermit2Error::Permit2(e) => e.transaction(),
            _ => None,
        }
    }
}
