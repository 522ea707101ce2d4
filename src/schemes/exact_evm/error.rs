use alloy_primitives::{Address, B256, U256};

use crate::chains::evm::sender::SendError;
use crate::chains::evm::signature::SignatureError;
use crate::chains::jsonrpc::RpcError;
use crate::protocol::Reason;
use crate::schemes::evm_tx::TxError;

/// Why an `exact` EVM payment is refused or could not be settled. Each variant maps to one reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExactEvmError {
    #[error("payload scheme `{accepted}` and requirements scheme `{required}` must both be `exact`")]
    SchemeMismatch { accepted: String, required: String },
    #[error("paymentRequirements.asset is not an EVM address")]
    InvalidAsset,
    #[error("paymentRequirements.payTo is not an EVM address")]
    InvalidPayTo,
    #[error("paymentRequirements.extra must give the token's EIP-712 domain as `name` and `version`")]
    MissingDomain,
    #[error("payload network `{accepted}` differs from requirements network `{required}`")]
    NetworkMismatch { accepted: String, required: String },
    #[error("invalid signature: {0}")]
    MalformedSignature(SignatureError),
    #[error("signature was made by {recovered}, not by authorization.from")]
    WrongSigner { recovered: Address },
    #[error("a {0}-byte signature needs a smart wallet, but authorization.from has no code")]
    UndeployedSmartWallet(usize),
    #[error("the counterfactual wallet's factory {factory} is not on this facilitator's EIP6492_ALLOWED_FACTORIES")]
    FactoryNotAllowed { factory: Address },
    #[error("the ERC-6492 factory call to {factory} does not deploy authorization.from (it has no code afterwards)")]
    FactoryDeploysAnotherWallet { factory: Address },
    #[error("the wallet at authorization.from rejects this signature (ERC-1271)")]
    ContractSignatureRejected,
    #[error("authorization.to {to} is not paymentRequirements.payTo {pay_to}")]
    RecipientMismatch { to: Address, pay_to: Address },
    #[error("authorization expires at {valid_before}, too soon for the transaction to land before it (now {now})")]
    Expired { valid_before: U256, now: u64 },
    #[error("authorization is valid only after {valid_after} (now {now})")]
    NotYetValid { valid_after: U256, now: u64 },
    #[error("authorization value {value} differs from the required amount {required}")]
    ValueMismatch { value: U256, required: U256 },
    #[error("the token does not implement EIP-3009 authorizationState")]
    Eip3009NotSupported,
    #[error("the authorization nonce was already used or canceled")]
    NonceAlreadyUsed,
    #[error("the token's name() is `{actual}`, but extra.name is `{expected}`")]
    TokenNameMismatch { expected: String, actual: String },
    #[error("the token's version() is `{actual}`, but extra.version is `{expected}`")]
    TokenVersionMismatch { expected: String, actual: String },
    #[error("the payer's balance {balance} is below {required}")]
    InsufficientBalance { balance: U256, required: U256 },
    #[error("simulating transferWithAuthorization failed: {0}")]
    SimulationFailed(String),
    #[error("the simulation does not show the value moving from authorization.from to payTo: {0}")]
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
    #[error(
        "deploying the payer's wallet through its ERC-6492 factory reverted (transaction {0}); no payment was sent"
    )]
    DeploymentFailed(B256),
    #[error("the payer's wallet deployment {0} was not mined in time; no payment was sent, retry the settle")]
    DeploymentPending(B256),
    #[error(
        "the payer's wallet deployment for this payment was attempted before and the wallet still has no code; \
         the facilitator deploys a wallet at most once per payment, nothing was sent"
    )]
    DeploymentAlreadyAttempted,
    #[error("the settlement ledger failed: {0}")]
    Ledger(String),
    #[error("no receipt for transaction {hash} within {secs} s; its outcome is not known yet")]
    ReceiptTimeout { hash: B256, secs: u64 },
}

impl From<TxError> for ExactEvmError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Estimate(reason) => ExactEvmError::SimulationFailed(format!("gas estimation failed: {reason}")),
            TxError::GasPriceAboveCeiling { max_fee_per_gas, ceiling } => {
                ExactEvmError::GasPriceAboveCeiling { max_fee_per_gas, ceiling }
            }
            TxError::GasAboveCeiling { gas_limit, ceiling } => ExactEvmError::GasAboveCeiling { gas_limit, ceiling },
            TxError::Send(e) => ExactEvmError::Send(e),
            TxError::Rpc(e) => ExactEvmError::Rpc(e),
            TxError::Reverted(hash) => ExactEvmError::Reverted(hash),
            TxError::ReceiptTimeout { hash, secs } => ExactEvmError::ReceiptTimeout { hash, secs },
        }
    }
}

impl From<RpcError> for ExactEvmError {
    fn from(e: RpcError) -> Self {
        ExactEvmError::Rpc(e)
    }
}

impl ExactEvmError {
    pub fn reason(&self) -> Reason {
        use ExactEvmError::*;
        match self {
            SchemeMismatch { .. } => Reason::EvmSchemeMismatch,
            InvalidAsset | InvalidPayTo => Reason::InvalidPaymentRequirements,
            MissingDomain => Reason::EvmMissingEip712Domain,
            NetworkMismatch { .. } => Reason::EvmNetworkMismatch,
            MalformedSignature(_) | WrongSigner { .. } | ContractSignatureRejected => Reason::EvmSignature,
            UndeployedSmartWallet(_) | FactoryNotAllowed { .. } | FactoryDeploysAnotherWallet { .. } => {
                Reason::EvmUndeployedSmartWallet
            }
            RecipientMismatch { .. } => Reason::EvmRecipientMismatch,
            Expired { .. } => Reason::EvmValidBefore,
            NotYetValid { .. } => Reason::EvmValidAfter,
            ValueMismatch { .. } => Reason::EvmValueMismatch,
            Eip3009NotSupported => Reason::EvmEip3009NotSupported,
            NonceAlreadyUsed => Reason::EvmNonceAlreadyUsed,
            TokenNameMismatch { .. } => Reason::EvmTokenNameMismatch,
            TokenVersionMismatch { .. } => Reason::EvmTokenVersionMismatch,
            InsufficientBalance { .. } => Reason::EvmInsufficientBalance,
            SimulationFailed(_) => Reason::EvmSimulationFailed,
            ValueNotMoved(_) => Reason::EvmTransferMismatch,
            DeploymentFailed(_) | DeploymentAlreadyAttempted => Reason::EvmSmartWalletDeploymentFailed,
            WrongChain { .. } | Rpc(_) => Reason::UnexpectedVerifyError,
            Send(SendError::Rejected(_)) | Reverted(_) => Reason::EvmTransactionFailed,
            NoSigner | Send(_) | ReceiptTimeout { .. } | DeploymentPending(_) | Ledger(_) => {
                Reason::UnexpectedSettleError
            }
            GasPriceAboveCeiling { .. } | GasAboveCeiling { .. } => Reason::GasCeilingExceeded,
        }
    }

    /// The payment's transaction this failure concerns, when one was sent (a wallet deployment is not
    /// the payment: after a failed one the payment may still be settled).
    pub fn transaction(&self) -> Option<B256> {
        match self {
            ExactEvmError::Reverted(hash) | ExactEvmError::ReceiptTimeout { hash, .. } => Some(*hash),
            _ => None,
        }
    }
}
