use crate::chains::starknet::{Felt, FeltError, OutsideExecutionError, TypedDataError};
use crate::protocol::Reason;

/// Why an `exact` Starknet payment is refused or not settled. Each variant maps to one reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExactStarknetError {
    #[error("payload scheme `{accepted}` and requirements scheme `{required}` must both be `exact`")]
    SchemeMismatch { accepted: String, required: String },
    #[error("payload network `{accepted}` differs from requirements network `{required}`")]
    NetworkMismatch { accepted: String, required: String },
    #[error("payload field `{field}`: {problem}")]
    Field { field: &'static str, problem: String },
    #[error("paymentRequirements field `{field}`: {problem}")]
    Requirement { field: &'static str, problem: String },
    #[error("typedData is missing: the facilitator binds the payment to the outside execution the account signed")]
    MissingTypedData,
    #[error("typedData is not a SNIP-9 outside execution: {0}")]
    NotOutsideExecution(OutsideExecutionError),
    #[error("the typed data is for chain {actual:#x}, not this network's {expected:#x}")]
    WrongChain { actual: crate::chains::starknet::Felt, expected: crate::chains::starknet::Felt },
    #[error("authorization.token {token} is not paymentRequirements.asset {asset}")]
    TokenMismatch { token: String, asset: String },
    #[error("the payer {0:#x} is paymentRequirements.payTo: a payment to itself moves nothing")]
    SelfPayment(Felt),
    #[error("authorization.to {to} is not paymentRequirements.payTo {pay_to}")]
    RecipientMismatch { to: String, pay_to: String },
    #[error("authorization.amount {amount} differs from the required amount {required}")]
    AmountMismatch { amount: String, required: String },
    #[error("the signed outside execution makes {0} calls; exactly one transfer is allowed")]
    CallCount(usize),
    #[error("the signed call is not `transfer(recipient, amount)` on paymentRequirements.asset: {0}")]
    NotATransfer(String),
    #[error("the signed transfer pays {0}, not paymentRequirements.payTo")]
    SignedRecipientMismatch(String),
    #[error("the signed transfer moves {signed}, not the required {required}")]
    SignedAmountMismatch { signed: String, required: String },
    #[error("the signed transfer is on token {0}, not paymentRequirements.asset")]
    SignedTokenMismatch(String),
    #[error("authorization.{field} does not match the signed outside execution")]
    AuthorizationDisagrees { field: &'static str },
    #[error("the outside execution may only be submitted by {0:#x}, not by this facilitator")]
    WrongCaller(crate::chains::starknet::Felt),
    #[error("the authorization expired at {execute_before} (now {now}, {margin} s of margin)")]
    Expired { execute_before: u64, now: u64, margin: u64 },
    #[error("the authorization is valid only after {execute_after} (now {now})")]
    NotYetValid { execute_after: u64, now: u64 },
    #[error("the sponsor's transaction could be charged {fee} fri, above this facilitator's ceiling of {ceiling} fri (STARKNET_MAX_FEE)")]
    FeeAboveCeiling { fee: u128, ceiling: u128 },
    #[error("the typed data cannot be hashed: {0}")]
    Hash(TypedDataError),
    #[error("the account's is_valid_signature refused the signature{0}")]
    InvalidSignature(String),
    #[error("the outside execution nonce was already used")]
    NonceUsed,
    #[error("balance {balance} is below the amount {amount}")]
    InsufficientFunds { balance: String, amount: String },
    #[error("Starknet RPC: {0}")]
    Rpc(String),
    /// Sent, and the sequencer reverted it (or refused it after accepting it).
    #[error("transaction {hash} failed: {reason}")]
    TransactionFailed { hash: String, reason: String },
    /// The node refused the transaction outright: nothing was accepted.
    #[error("the node refused the sponsor's transaction: {0}")]
    Refused(String),
    /// The sponsor's nonce was taken by another of its transactions meanwhile.
    #[error("the sponsor's nonce was taken by another transaction; retry")]
    StaleNonce,
    /// Sent, and not seen accepted in time: its outcome is unknown and a retry reconciles it.
    #[error("transaction {0} was not accepted on L2 in time; retry the settle to learn its outcome")]
    NotAcceptedInTime(String),
    #[error("this facilitator settles Starknet with {0}, which is not configured")]
    NotConfigured(&'static str),
    #[error("the paymaster refused the transaction: {0}")]
    Paymaster(String),
    /// A call to the payer's account found no contract there.
    #[error("the account is not deployed")]
    AccountNotDeployed,
    /// A transfer amount limb is not below 2^128: no u256.
    #[error("the signed transfer's amount is not a u256: {0}")]
    AmountLimbs(String),
    // The registered spec's dialect only.
    #[error("x402Version {0}: the Starknet spec's payload is x402 v2 only")]
    Version(u8),
    #[error("paymentPayload.accepted.{0} does not match paymentRequirements")]
    AcceptedMismatch(&'static str),
    #[error("`Execute After` {execute_after} is not {skew} s before now ({now})")]
    NotPastEnough { execute_after: u64, now: u64, skew: u64 },
    #[error("`Execute Before` {execute_before} does not leave the advertised window (at least until {required})")]
    ExpiresBeforeTimeout { execute_before: u64, required: u64 },
    #[error("`Execute Before` {execute_before} is past now + maxTimeoutSeconds + skew ({limit})")]
    WindowExceedsMaxTimeout { execute_before: u64, limit: u64 },
    #[error("the simulated settlement {0}")]
    SimulationFailed(String),
    /// Accepted on L2, and its receipt does not show exactly the payer's transfer.
    #[error("transaction {hash} {problem}")]
    ReceiptMismatch { hash: String, problem: String },
}

/// Which Starknet dialect a request speaks: the codes differ where the spec renamed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StarknetDialect {
    /// x402-starknet and daydreams: `{signature, authorization}` with the typed data beside it.
    X402Starknet,
    /// The registered spec (`scheme_exact_starknet.md`): `{from, outsideExecution}`.
    Spec,
}

impl ExactStarknetError {
    pub fn reason(&self) -> Reason {
        use ExactStarknetError::*;
        match self {
            SchemeMismatch { .. } => Reason::UnsupportedScheme,
            NetworkMismatch { .. } | WrongChain { .. } => Reason::InvalidNetwork,
            Field { .. }
            | MissingTypedData
            | NotOutsideExecution(_)
            | CallCount(_)
            | NotATransfer(_)
            | AuthorizationDisagrees { .. }
            | WrongCaller(_)
            | Hash(_) => Reason::InvalidPayload,
            Requirement { .. } => Reason::InvalidPaymentRequirements,
            TokenMismatch { .. } | SignedTokenMismatch(_) => Reason::StarknetTokenMismatch,
            RecipientMismatch { .. } | SignedRecipientMismatch(_) => Reason::StarknetRecipientMismatch,
            AmountMismatch { .. } | SignedAmountMismatch { .. } | AmountLimbs(_) => Reason::StarknetAuthorizationValue,
            Expired { .. } => Reason::StarknetValidUntil,
            NotYetValid { .. } => Reason::StarknetNotYetValid,
            FeeAboveCeiling { .. } => Reason::GasCeilingExceeded,
            InvalidSignature(_) | AccountNotDeployed => Reason::StarknetSignature,
            NonceUsed => Reason::StarknetNonceUsed,
            InsufficientFunds { .. } => Reason::InsufficientFunds,
            Rpc(_) => Reason::UnexpectedVerifyError,
            TransactionFailed { .. } | Paymaster(_) | Refused(_) => Reason::TransactionFailed,
            NotAcceptedInTime(_) | NotConfigured(_) | StaleNonce => Reason::UnexpectedSettleError,
            Version(_) => Reason::InvalidX402Version,
            AcceptedMismatch(_) | NotPastEnough { .. } => Reason::InvalidPayload,
            ExpiresBeforeTimeout { .. } => Reason::StarknetValidUntil,
            WindowExceedsMaxTimeout { .. } => Reason::OutsideExecutionWindowExceedsMaxTimeout,
            SimulationFailed(_) => Reason::SimulationFailed,
            SelfPayment(_) => Reason::SelfPayment,
            ReceiptMismatch { .. } => Reason::TransactionFailed,
        }
    }

    /// The reason in the registered spec's dialect: its own tokens where it renamed x402-starknet's.
    pub fn spec_reason(&self) -> Reason {
        use ExactStarknetError::*;
        match self {
            SchemeMismatch { .. } => Reason::InvalidScheme,
            TokenMismatch { .. } | SignedTokenMismatch(_) => Reason::StarknetAssetMismatch,
            AmountMismatch { .. } | SignedAmountMismatch { .. } => Reason::StarknetAmountMismatch,
            AmountLimbs(_) | NotYetValid { .. } => Reason::InvalidPayload,
            WrongCaller(_) => Reason::StarknetCaller,
            AccountNotDeployed => Reason::AccountNotDeployed,
            Expired { .. } | ExpiresBeforeTimeout { .. } => Reason::OutsideExecutionExpired,
            NonceUsed => Reason::NonceAlreadyUsed,
            // The spec's `invalid_transaction_state` (the reference's code for a reverted transaction).
            TransactionFailed { .. } | ReceiptMismatch { .. } => Reason::UptoTransactionReverted,
            // Nothing was accepted: the same payment may be settled again.
            Refused(_) | Paymaster(_) => Reason::UnexpectedSettleError,
            other => other.reason(),
        }
    }

    pub fn reason_in(&self, dialect: StarknetDialect) -> Reason {
        match dialect {
            StarknetDialect::X402Starknet => self.reason(),
            StarknetDialect::Spec => self.spec_reason(),
        }
    }

    /// The transaction a settle failure concerns, when one was sent.
    pub fn transaction(&self) -> Option<&str> {
        match self {
            ExactStarknetError::TransactionFailed { hash, .. }
            | ExactStarknetError::ReceiptMismatch { hash, .. }
            | ExactStarknetError::NotAcceptedInTime(hash) => Some(hash),
            _ => None,
        }
    }

    pub(super) fn field(field: &'static str, e: FeltError) -> ExactStarknetError {
        ExactStarknetError::Field { field, problem: e.to_string() }
    }
}
