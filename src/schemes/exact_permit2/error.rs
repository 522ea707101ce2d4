use alloy_primitives::{Address, B256, U256};

use crate::chains::evm::sender::SendError;
use crate::chains::evm::signature::SignatureError;
use crate::chains::jsonrpc::RpcError;
use crate::protocol::Reason;
use crate::schemes::evm_tx::TxError;

/// Why an `exact` Permit2 payment is refused or could not be settled. Each variant maps to one
/// reason; the codes are the reference's (`@x402/evm` 2.27 `exact/facilitator/errors.ts`). The
/// `upto` Permit2 scheme reports what it shares with `exact` through this enum too (wrapped in its
/// own), which is why the upto proxy's two refusals are here.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExactPermit2Error {
    #[error("invalid Permit2 payload: {0}")]
    InvalidPayload(String),
    #[error("payload scheme `{accepted}` and requirements scheme `{required}` must both be `exact`")]
    SchemeMismatch { accepted: String, required: String },
    #[error("payload network `{accepted}` differs from requirements network `{required}`")]
    NetworkMismatch { accepted: String, required: String },
    #[error("paymentRequirements.asset is not an EVM address")]
    InvalidAsset,
    #[error("paymentRequirements.payTo is not an EVM address")]
    InvalidPayTo,
    #[error("permit2Authorization.spender {0} is not the scheme's x402 Permit2 proxy")]
    WrongSpender(Address),
    #[error("witness.to {to} is not paymentRequirements.payTo {pay_to}")]
    RecipientMismatch { to: Address, pay_to: Address },
    #[error("witness.to is the payer itself")]
    SelfPayment,
    #[error("the Permit2 deadline {deadline} is too soon for the transaction to land before it (now {now})")]
    DeadlineExpired { deadline: U256, now: u64 },
    #[error("witness.validAfter {valid_after} is in the future (now {now})")]
    NotYetValid { valid_after: U256, now: u64 },
    #[error("permitted.amount {amount} differs from the required amount {required}")]
    AmountMismatch { amount: U256, required: U256 },
    #[error("permitted.amount is zero")]
    ZeroAmount,
    #[error("permitted.token {token} is not paymentRequirements.asset {asset}")]
    TokenMismatch { token: Address, asset: Address },
    #[error("the asset {0} has no contract code on this chain")]
    AssetNotDeployed(Address),
    #[error("invalid Permit2 signature: {0}")]
    MalformedSignature(SignatureError),
    #[error("the Permit2 signature was made by {recovered}, not by permit2Authorization.from")]
    WrongSigner { recovered: Address },
    #[error("the wallet at permit2Authorization.from rejects the Permit2 signature (ERC-1271)")]
    ContractSignatureRejected,
    #[error("the EIP-2612 extension is malformed: {0}")]
    Eip2612Format(String),
    #[error("the EIP-2612 extension's from {0} is not the payer")]
    Eip2612FromMismatch(Address),
    #[error("the EIP-2612 extension's asset {0} is not the token")]
    Eip2612AssetMismatch(Address),
    #[error("the EIP-2612 extension's spender {0} is not Permit2")]
    Eip2612SpenderNotPermit2(Address),
    #[error("the EIP-2612 permit's deadline {deadline} is too soon for the transaction to land before it (now {now})")]
    Eip2612DeadlineExpired { deadline: U256, now: u64 },
    #[error("the EIP-2612 permit's amount {permit} is not permitted.amount {permitted} (the proxy requires equality)")]
    Eip2612AmountMismatch { permit: U256, permitted: U256 },
    #[error("the ERC-20 approval extension is malformed: {0}")]
    Erc20ApprovalFormat(String),
    #[error("the ERC-20 approval extension's from {0} is not the payer")]
    Erc20ApprovalFromMismatch(Address),
    #[error("the ERC-20 approval extension's asset {0} is not the token")]
    Erc20ApprovalAssetMismatch(Address),
    #[error("the ERC-20 approval extension's spender {0} is not Permit2")]
    Erc20ApprovalSpenderNotPermit2(Address),
    #[error("the approval transaction cannot be parsed: {0}")]
    ApprovalTxParseFailed(String),
    #[error("the approval transaction {0}")]
    ApprovalTxWrongTarget(String),
    #[error("the approval transaction's calldata is not an approve(address,uint256) call")]
    ApprovalTxWrongSelector,
    #[error("the approval transaction's calldata {0}")]
    ApprovalTxInvalidCalldata(String),
    #[error("the approval transaction approves {0}, not Permit2")]
    ApprovalTxWrongSpender(Address),
    #[error("no signer recovers from the approval transaction")]
    ApprovalTxInvalidSignature,
    #[error("the approval transaction is signed by {0}, not by the payer")]
    ApprovalTxSignerMismatch(Address),
    #[error("the approval transaction cannot be mined: {0}; nothing was sent")]
    ApprovalNotMineable(String),
    #[error("the payer's approval transaction failed: {0}; the payment was not sent")]
    ApprovalFailed(String),
    #[error("the Permit2 nonce of this payment is already used")]
    NonceUsed,
    #[error("the x402 Permit2 proxy is not usable on this chain: {0}")]
    ProxyNotDeployed(String),
    #[error("the payer's balance {balance} is below {required}")]
    InsufficientBalance { balance: U256, required: U256 },
    #[error("the payer's allowance to Permit2 is {allowance}, below {required}: approve Permit2 first or sign a gas-sponsoring extension")]
    AllowanceRequired { allowance: U256, required: U256 },
    #[error("the upto proxy refuses the charge: it is above the permitted cap (AmountExceedsPermitted)")]
    AmountExceedsPermitted,
    #[error("the upto proxy refuses the caller: only witness.facilitator may settle (UnauthorizedFacilitator)")]
    UnauthorizedFacilitator,
    #[error("simulating the proxy settle failed: {0}")]
    SimulationFailed(String),
    #[error("the simulation does not show the amount moving from the payer to payTo: {0}")]
    ValueNotMoved(String),
    #[error("the RPC endpoint serves chain {actual}, not {expected}: check the network's RPC URL")]
    WrongChain { expected: u64, actual: u64 },
    #[error("chain RPC failed: {0}")]
    Rpc(RpcError),
    #[error("no EVM signer is configured")]
    NoSigner,
    #[error(transparent)]
    Send(SendError),
    #[error(
        "the gas price ({max_fee_per_gas} wei) is above this facilitator's ceiling ({ceiling} wei); nothing was sent"
    )]
    GasPriceAboveCeiling { max_fee_per_gas: u128, ceiling: u128 },
    #[error("the settle needs {gas_limit} gas, above this facilitator's ceiling of {ceiling}; nothing was sent")]
    GasAboveCeiling { gas_limit: u64, ceiling: u64 },
    #[error("transaction {0} reverted")]
    Reverted(B256),
    #[error("no receipt for transaction {hash} within {secs} s; its outcome is not known yet")]
    ReceiptTimeout { hash: B256, secs: u64 },
}

impl From<TxError> for ExactPermit2Error {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Estimate(reason) => {
                ExactPermit2Error::SimulationFailed(format!("gas estimation failed: {reason}"))
            }
            TxError::GasPriceAboveCeiling { max_fee_per_gas, ceiling } => {
                ExactPermit2Error::GasPriceAboveCeiling { max_fee_per_gas, ceiling }
            }
            TxError::GasAboveCeiling { gas_limit, ceiling } => {
                ExactPermit2Error::GasAboveCeiling { gas_limit, ceiling }
            }
            TxError::Send(e) => ExactPermit2Error::Send(e),
            TxError::Rpc(e) => ExactPermit2Error::Rpc(e),
            TxError::Reverted(hash) => ExactPermit2Error::Reverted(hash),
            TxError::ReceiptTimeout { hash, secs } => ExactPermit2Error::ReceiptTimeout { hash, secs },
        }
    }
}

impl From<RpcError> for ExactPermit2Error {
    fn from(e: RpcError) -> Self {
        ExactPermit2Error::Rpc(e)
    }
}

impl ExactPermit2Error {
    pub fn reason(&self) -> Reason {
        use ExactPermit2Error::*;
        match self {
            InvalidPayload(_) => Reason::InvalidPayload,
            SchemeMismatch { .. } => Reason::UnsupportedPayloadType,
            NetworkMismatch { .. } => Reason::EvmNetworkMismatch,
            InvalidAsset | InvalidPayTo => Reason::InvalidPaymentRequirements,
            WrongSpender(_) => Reason::Permit2InvalidSpender,
            RecipientMismatch { .. } => Reason::Permit2RecipientMismatch,
            SelfPayment => Reason::SelfPayment,
            DeadlineExpired { .. } => Reason::Permit2DeadlineExpired,
            NotYetValid { .. } => Reason::Permit2NotYetValid,
            AmountMismatch { .. } => Reason::Permit2AmountMismatch,
            ZeroAmount => Reason::AmountBelowMinimum,
            TokenMismatch { .. } => Reason::Permit2TokenMismatch,
            AssetNotDeployed(_) => Reason::AssetNotDeployedContract,
            MalformedSignature(_) | WrongSigner { .. } | ContractSignatureRejected => Reason::Permit2InvalidSignature,
            Eip2612Format(_) => Reason::Eip2612InvalidFormat,
            Eip2612FromMismatch(_) => Reason::Eip2612FromMismatch,
            Eip2612AssetMismatch(_) => Reason::Eip2612AssetMismatch,
            Eip2612SpenderNotPermit2(_) => Reason::Eip2612SpenderNotPermit2,
            Eip2612DeadlineExpired { .. } => Reason::Eip2612DeadlineExpired,
            Eip2612AmountMismatch { .. } => Reason::Permit2612AmountMismatch,
            Erc20ApprovalFormat(_) => Reason::Erc20ApprovalInvalidFormat,
            Erc20ApprovalFromMismatch(_) => Reason::Erc20ApprovalFromMismatch,
            Erc20ApprovalAssetMismatch(_) => Reason::Erc20ApprovalAssetMismatch,
            Erc20ApprovalSpenderNotPermit2(_) => Reason::Erc20ApprovalSpenderNotPermit2,
            ApprovalTxParseFailed(_) => Reason::Erc20ApprovalTxParseFailed,
            ApprovalTxWrongTarget(_) => Reason::Erc20ApprovalTxWrongTarget,
            ApprovalTxWrongSelector => Reason::Erc20ApprovalTxWrongSelector,
            ApprovalTxInvalidCalldata(_) => Reason::Erc20ApprovalTxInvalidCalldata,
            ApprovalTxWrongSpender(_) => Reason::Erc20ApprovalTxWrongSpender,
            ApprovalTxInvalidSignature => Reason::Erc20ApprovalTxInvalidSignature,
            ApprovalTxSignerMismatch(_) => Reason::Erc20ApprovalTxSignerMismatch,
            ApprovalNotMineable(_) | ApprovalFailed(_) => Reason::Erc20ApprovalBroadcastFailed,
            NonceUsed => Reason::Permit2InvalidNonce,
            ProxyNotDeployed(_) => Reason::Permit2ProxyNotDeployed,
            InsufficientBalance { .. } => Reason::Permit2InsufficientBalance,
            AllowanceRequired { .. } => Reason::Permit2AllowanceRequired,
            AmountExceedsPermitted => Reason::UptoAmountExceedsPermitted,
            UnauthorizedFacilitator => Reason::UptoUnauthorizedFacilitator,
            SimulationFailed(_) => Reason::Permit2SimulationFailed,
            ValueNotMoved(_) => Reason::EvmTransferMismatch,
            WrongChain { .. } | Rpc(_) => Reason::UnexpectedVerifyError,
            Send(SendError::Rejected(_)) | Reverted(_) => Reason::EvmTransactionFailed,
            NoSigner | Send(_) | ReceiptTimeout { .. } => Reason::UnexpectedSettleError,
            GasPriceAboveCeiling { .. } | GasAboveCeiling { .. } => Reason::GasCeilingExceeded,
        }
    }

    /// The payment's transaction this failure concerns, when one was sent. The payer's approval
    /// transaction is not the payment: after it failed, the payment may still be settled.
    pub fn transaction(&self) -> Option<B256> {
        match self {
            ExactPermit2Error::Reverted(hash) | ExactPermit2Error::ReceiptTimeout { hash, .. } => Some(*hash),
            _ => None,
        }
    }
}
