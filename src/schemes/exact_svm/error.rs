use crate::chains::svm::{DecodeError, PdaError, Pubkey, SignatureError};
use crate::protocol::Reason;

/// Why an `exact` Solana payment is refused. Each variant maps to one reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExactSvmError {
    #[error("payload scheme `{accepted}` and requirements scheme `{required}` must both be `exact`")]
    SchemeMismatch { accepted: String, required: String },
    #[error("payload network `{accepted}` differs from requirements network `{required}`")]
    NetworkMismatch { accepted: String, required: String },
    #[error("paymentRequirements.extra.feePayer is missing")]
    MissingFeePayer,
    #[error("paymentRequirements.extra.feePayer `{0}` is not a fee payer of this facilitator")]
    FeePayerNotManaged(String),
    #[error("paymentRequirements.amount `{0}` is not an integer token amount (u64)")]
    InvalidAmount(String),
    #[error("paymentRequirements.asset `{0}` is not a Solana address")]
    InvalidAsset(String),
    #[error("paymentRequirements.payTo `{0}` is not a Solana address")]
    InvalidPayTo(String),
    #[error("the transaction could not be decoded: {0}")]
    Undecodable(DecodeError),
    #[error("the transaction loads accounts through {0} address lookup table(s); this facilitator accepts static account keys only")]
    AddressLookupTables(usize),
    #[error("the transaction has {0} instructions; 3 to 7 are allowed")]
    InstructionCount(usize),
    #[error("instruction 1 must be ComputeBudget SetComputeUnitLimit: {0}")]
    ComputeLimit(String),
    #[error("instruction 2 must be ComputeBudget SetComputeUnitPrice: {0}")]
    ComputePrice(String),
    #[error("the compute unit price of {micro_lamports} micro-lamports is above the cap of {cap}")]
    ComputePriceTooHigh { micro_lamports: u64, cap: u64 },
    #[error("instruction 3 must be an SPL Token or Token-2022 TransferChecked: {0}")]
    NoTransferInstruction(String),
    #[error("the transfer authority {0} is a fee payer of this facilitator")]
    FeePayerTransferringFunds(Pubkey),
    #[error("fee payer {fee_payer} appears in the accounts of instruction {instruction}")]
    FeePayerInInstructionAccounts { fee_payer: Pubkey, instruction: usize },
    #[error("the transfer's mint {mint} is not paymentRequirements.asset {asset}")]
    MintMismatch { mint: Pubkey, asset: Pubkey },
    #[error("the transfer's destination {destination} is not payTo's associated token account {expected}")]
    RecipientMismatch { destination: Pubkey, expected: Pubkey },
    #[error("the payTo associated token account cannot be derived: {0}")]
    Ata(PdaError),
    #[error("the transfer amount {amount} differs from the required amount {required}")]
    AmountMismatch { amount: u64, required: u64 },
    /// `position` is 4 to 7.
    #[error("instruction {position} calls {program}; only Lighthouse or Memo may follow the transfer")]
    UnknownInstruction { position: usize, program: Pubkey },
    #[error("extra.memo is set: exactly one Memo instruction is required, found {0}")]
    MemoCount(usize),
    #[error("the Memo instruction's text differs from extra.memo")]
    MemoMismatch,
    #[error("the transaction's fee payer is {actual}, not paymentRequirements.extra.feePayer {expected}")]
    FeePayerMismatch { actual: Pubkey, expected: Pubkey },
    #[error("the transfer authority {0} does not sign the transaction")]
    AuthorityNotSigner(Pubkey),
    #[error("signer {0} is neither the transfer's authority nor one of its multisig signers: the fee payer would pay for its signature")]
    UnneededSigner(Pubkey),
    #[error("invalid transaction signature: {0}")]
    Signature(SignatureError),
    /// The payer pays itself: the authority is payTo, or the source is the destination.
    #[error("the transfer moves {authority}'s tokens to itself (payTo is the payer, or source is destination)")]
    SelfTransfer { authority: Pubkey },
    #[error("the signing key {actual} is not the transaction's fee payer {expected}")]
    WrongFeePayerKey { actual: Pubkey, expected: Pubkey },
    #[error("the compute unit limit of {units} is above this facilitator's cap of {cap} (SVM_MAX_COMPUTE_UNIT_LIMIT)")]
    ComputeLimitTooHigh { units: u32, cap: u32 },
    #[error("the transaction fails in simulation: {0}")]
    SimulationFailed(String),
    /// The simulation (or the broadcast's preflight) found the transaction processed already: it landed
    /// before, so this payment is used.
    #[error(
        "this transaction was already processed on chain (the payment settled before): it cannot be settled again"
    )]
    AlreadyProcessed,
    /// The destination (payTo's associated token account) does not exist, so the transfer cannot land.
    #[error("payTo has no token account for this asset: its associated token account {0} does not exist (the recipient must create it first)")]
    DestinationAtaMissing(Pubkey),
    #[error("Solana RPC: {0}")]
    Rpc(String),
    /// Sent, and the cluster answered with an error for it.
    #[error("transaction {signature} failed on chain: {err}")]
    TransactionFailed { signature: String, err: String },
    /// Sent, never landed, and its blockhash expired: it never can land.
    #[error("transaction {0} expired (its blockhash is no longer valid) without landing")]
    Expired(String),
    /// Sent, and not seen confirmed in time: its outcome is unknown and a retry reconciles it.
    #[error("transaction {0} was not confirmed in time; retry the settle to learn its outcome")]
    ConfirmationTimedOut(String),
    /// The same payment is being settled right now.
    #[error("this transaction is already being settled")]
    InFlight(Option<String>),
}

impl ExactSvmError {
    pub fn reason(&self) -> Reason {
        use ExactSvmError::*;
        match self {
            SchemeMismatch { .. } => Reason::SvmSchemeMismatch,
            NetworkMismatch { .. } => Reason::SvmNetworkMismatch,
            MissingFeePayer => Reason::SvmMissingFeePayer,
            FeePayerNotManaged(_) => Reason::SvmFeePayerNotManaged,
            InvalidAmount(_) | InvalidAsset(_) | InvalidPayTo(_) => Reason::InvalidPaymentRequirements,
            // The reference decompiles with static accounts only, so a lookup table fails its decode
            // too: the same code, with a message that says why.
            Undecodable(_) | AddressLookupTables(_) => Reason::SvmTransactionCouldNotBeDecoded,
            InstructionCount(_) => Reason::SvmInstructionsLength,
            ComputeLimit(_) => Reason::SvmComputeLimitInstruction,
            ComputePrice(_) => Reason::SvmComputePriceInstruction,
            ComputePriceTooHigh { .. } => Reason::SvmComputePriceTooHigh,
            NoTransferInstruction(_) => Reason::SvmNoTransferInstruction,
            FeePayerTransferringFunds(_) => Reason::SvmFeePayerTransferringFunds,
            FeePayerInInstructionAccounts { .. } => Reason::SvmFeePayerInInstructionAccounts,
            MintMismatch { .. } => Reason::SvmMintMismatch,
            RecipientMismatch { .. } | Ata(_) => Reason::SvmRecipientMismatch,
            AmountMismatch { .. } => Reason::SvmAmountMismatch,
            SelfTransfer { .. } => Reason::SelfPayment,
            UnknownInstruction { position: 4, .. } => Reason::SvmUnknownFourthInstruction,
            UnknownInstruction { position: 5, .. } => Reason::SvmUnknownFifthInstruction,
            UnknownInstruction { position: 6, .. } => Reason::SvmUnknownSixthInstruction,
            UnknownInstruction { .. } => Reason::SvmUnknownSeventhInstruction,
            MemoCount(_) => Reason::SvmMemoCount,
            MemoMismatch => Reason::SvmMemoMismatch,
            FeePayerMismatch { .. } => Reason::SvmFeePayerMismatch,
            AuthorityNotSigner(_) | UnneededSigner(_) | Signature(_) => Reason::SvmSignatureInvalid,
            WrongFeePayerKey { .. } => Reason::UnexpectedSettleError,
            ComputeLimitTooHigh { .. } => Reason::SvmComputeLimitTooHigh,
            SimulationFailed(_) => Reason::SvmSimulationFailed,
            // The spec's duplicate-settlement mitigation: a repeat of a settled payment.
            AlreadyProcessed => Reason::DuplicateSettlement,
            DestinationAtaMissing(_) => Reason::SvmDestinationAtaMissing,
            Rpc(_) => Reason::UnexpectedVerifyError,
            TransactionFailed { .. } => Reason::SvmTransactionFailed,
            Expired(_) => Reason::SvmBlockHeightExceeded,
            ConfirmationTimedOut(_) => Reason::SvmConfirmationTimedOut,
            InFlight(_) => Reason::DuplicateSettlement,
        }
    }

    /// The transaction a settle failure concerns, when one was sent.
    pub fn transaction(&self) -> Option<&str> {
        use ExactSvmError::*;
        match self {
            TransactionFailed { signature, .. } | Expired(signature) | ConfirmationTimedOut(signature) => {
                Some(signature)
            }
            InFlight(signature) => signature.as_deref(),
            _ => None,
        }
    }
}
