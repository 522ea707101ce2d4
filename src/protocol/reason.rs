//! The one table that maps internal failure reasons to wire codes.
//!
//! v2 answers use the current reference TypeScript strings (`@x402/evm` `exact/facilitator/errors.ts`,
//! protocol digest §9). v1 answers use the legacy `x402` package's `ErrorReasons` enum, which legacy v1
//! clients validate responses against, so a v1 client never sees a code it cannot parse. The Cronos
//! dialect answers with its documented human-readable strings.

use super::model::Version;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    // Request level: before any scheme looks at the payment.
    InvalidPayload,
    InvalidPaymentRequirements,
    InvalidNetwork,
    UnsupportedScheme,
    UnsupportedPayloadType,
    InvalidX402Version,
    UnexpectedVerifyError,
    UnexpectedSettleError,
    /// Another settle of the same payment is still running.
    DuplicateSettlement,
    /// The transaction was sent and its receipt did not come in time: one retry of the same settle
    /// reconciles it from the chain (the standard's contract, `@x402/core` 2.24+).
    SettlementPending,
    /// The payload's `accepted` network is not the requirements' (upto: `network_mismatch`).
    NetworkMismatch,
    /// The requirements' `payTo` is not on this facilitator's allowlist.
    PayToNotAllowed,
    /// Settling would cost more gas, or a higher gas price, than the facilitator allows.
    GasCeilingExceeded,
    /// The asset is neither a known stablecoin of the network nor on its `ASSET_ALLOWLIST_<NAME>`.
    AssetNotAllowed,
    /// The amount is zero, or below `MIN_AMOUNT` for the asset.
    AmountBelowMinimum,
    /// `payTo` is the payer itself.
    SelfPayment,
    // `exact` on EVM (EIP-3009).
    EvmSchemeMismatch,
    EvmNetworkMismatch,
    EvmMissingEip712Domain,
    EvmRecipientMismatch,
    EvmSignature,
    EvmValidBefore,
    EvmValidAfter,
    EvmValueMismatch,
    EvmUndeployedSmartWallet,
    EvmTransactionFailed,
    EvmTokenNameMismatch,
    EvmTokenVersionMismatch,
    EvmEip3009NotSupported,
    EvmNonceAlreadyUsed,
    EvmInsufficientBalance,
    EvmSimulationFailed,
    /// The simulation did not show the authorized value leaving the payer and reaching `payTo` (a
    /// contract posing as a token): `exact`, and an `upto` batch before it is sent.
    EvmTransferMismatch,
    /// A counterfactual wallet's deployment failed, or was attempted before for the same payment.
    EvmSmartWalletDeploymentFailed,
    // `exact` on EVM via Permit2 and the x402 exact proxy (`@x402/evm` 2.27 `exact/facilitator/errors.ts`).
    /// The asset address has no contract code (`@x402/evm` `ErrAssetNotDeployedContract`).
    AssetNotDeployedContract,
    Permit2InvalidSpender,
    Permit2RecipientMismatch,
    Permit2DeadlineExpired,
    Permit2NotYetValid,
    Permit2AmountMismatch,
    Permit2TokenMismatch,
    Permit2InvalidSignature,
    /// The payer's ERC-20 allowance to Permit2 is short and no gas-sponsoring extension supplies it.
    Permit2AllowanceRequired,
    Permit2SimulationFailed,
    Permit2InsufficientBalance,
    Permit2ProxyNotDeployed,
    /// Proxy reverts, as the reference maps them at settle (`mapSettleError`).
    Permit2InvalidAmount,
    Permit2InvalidDestination,
    Permit2InvalidOwner,
    Permit2PaymentTooEarly,
    /// The Permit2 nonce of the payment is already used (the payment's replay).
    Permit2InvalidNonce,
    Permit2612AmountMismatch,
    /// The EIP-2612 gas-sponsoring extension (protocol/permit2.md §6).
    Eip2612InvalidFormat,
    Eip2612FromMismatch,
    Eip2612AssetMismatch,
    Eip2612SpenderNotPermit2,
    Eip2612DeadlineExpired,
    /// The ERC-20 approval gas-sponsoring extension (protocol/permit2.md §6).
    Erc20ApprovalInvalidFormat,
    Erc20ApprovalFromMismatch,
    Erc20ApprovalAssetMismatch,
    Erc20ApprovalSpenderNotPermit2,
    Erc20ApprovalTxParseFailed,
    Erc20ApprovalTxWrongTarget,
    Erc20ApprovalTxWrongSelector,
    Erc20ApprovalTxInvalidCalldata,
    Erc20ApprovalTxWrongSpender,
    Erc20ApprovalTxInvalidSignature,
    Erc20ApprovalTxSignerMismatch,
    /// The payer's approval transaction could not be sent or mined: the payment was not sent.
    Erc20ApprovalBroadcastFailed,
    // The standard `upto` on EVM via Permit2 and the x402 upto proxy (`@x402/evm` 2.27
    // `upto/facilitator/errors.ts`); what it shares with `exact` uses the Permit2 reasons above.
    /// The payload's `accepted` scheme, or the requirements', is not `upto`.
    UptoEvmScheme,
    /// The payload's `accepted` network is not the requirements'.
    UptoEvmNetworkMismatch,
    /// `witness.facilitator` is not one of this facilitator's addresses: it could never settle it.
    UptoFacilitatorMismatch,
    /// The charge at settle is above the permitted cap.
    UptoSettlementExceedsAmount,
    /// The upto proxy's `AmountExceedsPermitted()` revert.
    UptoAmountExceedsPermitted,
    /// The upto proxy's `UnauthorizedFacilitator()` revert (a settle not from `witness.facilitator`).
    UptoUnauthorizedFacilitator,
    /// The settle transaction was mined and reverted.
    UptoEvmTransactionFailed,
    // `upto` on EVM (the daydreams EIP-2612 scheme, protocol digest §6.2).
    UptoPayload,
    UptoMissingEip712Domain,
    UptoSpenderNotFacilitator,
    UptoCapTooLow,
    UptoCapBelowRequiredMax,
    UptoAuthorizationExpired,
    UptoInvalidChainId,
    UptoPermitSignature,
    UptoUnsupportedSignatureType,
    UptoInsufficientAllowance,
    UptoInsufficientBalance,
    UptoPermitFailed,
    UptoTransactionReverted,
    /// A sent transaction failed (an `upto` batch, a Solana payment): the reference's `transaction_failed`.
    TransactionFailed,
    UptoReceiptUnavailable,
    UptoCapExhausted,
    UptoSessionClosed,
    UptoSettlingInProgress,
    UptoUnknownSession,
    /// The payload's `accepted` names another asset or recipient than the requirements, or an amount
    /// above the cap.
    UptoAcceptedMismatch,
    /// A payment under a session's permit names another recipient, asset or API key than the session's.
    UptoSessionMismatch,
    /// Another permit of the same owner (same network, token, spender) holds the facilitator's allowance.
    UptoPermitConflict,
    /// The owner has `UPTO_MAX_SESSIONS_PER_OWNER` sessions open already.
    UptoTooManySessions,
    // `exact` on Solana (protocol digest §5).
    /// The payload's `accepted` scheme, or the requirements', is not `exact`.
    SvmSchemeMismatch,
    /// The payload's `accepted` network is not the requirements'.
    SvmNetworkMismatch,
    SvmMissingFeePayer,
    SvmFeePayerNotManaged,
    SvmTransactionCouldNotBeDecoded,
    /// The transaction's fee payer (account 0) is not `extra.feePayer`.
    SvmFeePayerMismatch,
    /// A client signature does not verify, or the transfer authority does not sign.
    SvmSignatureInvalid,
    SvmInstructionsLength,
    SvmComputeLimitInstruction,
    /// The compute unit limit is above `SVM_MAX_COMPUTE_UNIT_LIMIT`.
    SvmComputeLimitTooHigh,
    SvmComputePriceInstruction,
    SvmComputePriceTooHigh,
    SvmNoTransferInstruction,
    SvmFeePayerTransferringFunds,
    SvmFeePayerInInstructionAccounts,
    SvmMintMismatch,
    SvmRecipientMismatch,
    SvmAmountMismatch,
    SvmUnknownFourthInstruction,
    SvmUnknownFifthInstruction,
    SvmUnknownSixthInstruction,
    SvmUnknownSeventhInstruction,
    SvmMemoCount,
    SvmMemoMismatch,
    SvmSimulationFailed,
    /// `payTo` has no associated token account for the asset: the transfer cannot land (no reference code).
    SvmDestinationAtaMissing,
    /// Sent, and the cluster answered with an error for it.
    SvmTransactionFailed,
    /// Sent, and its blockhash expired before it landed.
    SvmBlockHeightExceeded,
    /// Sent, and not seen confirmed in time (the outcome is unknown).
    SvmConfirmationTimedOut,
    // `exact` on Starknet (x402-starknet's reason schema, protocol digest §7.2, §9).
    StarknetTokenMismatch,
    StarknetRecipientMismatch,
    StarknetAuthorizationValue,
    StarknetValidUntil,
    /// The outside execution's `execute_after` is not before the time of the block being built.
    StarknetNotYetValid,
    StarknetSignature,
    StarknetNonceUsed,
    /// The payer's balance is below the amount (x402-starknet's `insufficient_funds`).
    InsufficientFunds,
    // [starknet-spec] `exact` on Starknet in the registered spec's dialect (`scheme_exact_starknet.md`):
    // its own tokens where they differ from x402-starknet's (signature, recipient and `insufficient_funds`
    // are shared). Only in builds with Starknet: the EVM npm package carries none of them.
    /// `accepted.scheme` or the requirements' scheme is not `exact` (the spec's core `invalid_scheme`).
    #[cfg(feature = "starknet")]
    InvalidScheme,
    #[cfg(feature = "starknet")]
    StarknetAssetMismatch,
    #[cfg(feature = "starknet")]
    StarknetAmountMismatch,
    /// The signed `Caller` is not the requirements' `extra.feePayer`.
    #[cfg(feature = "starknet")]
    StarknetCaller,
    #[cfg(feature = "starknet")]
    AccountNotDeployed,
    #[cfg(feature = "starknet")]
    OutsideExecutionExpired,
    #[cfg(feature = "starknet")]
    OutsideExecutionWindowExceedsMaxTimeout,
    #[cfg(feature = "starknet")]
    NonceAlreadyUsed,
    /// The simulated settlement did not make exactly the payer's one transfer to `payTo`.
    #[cfg(feature = "starknet")]
    SimulationFailed,
}

/// [starknet-spec] The registered spec's Starknet reasons, in [`Reason::ALL`] after the others.
#[cfg(feature = "starknet")]
const STARKNET_SPEC: [Reason; 9] = [
    Reason::InvalidScheme,
    Reason::StarknetAssetMismatch,
    Reason::StarknetAmountMismatch,
    Reason::StarknetCaller,
    Reason::AccountNotDeployed,
    Reason::OutsideExecutionExpired,
    Reason::OutsideExecutionWindowExceedsMaxTimeout,
    Reason::NonceAlreadyUsed,
    Reason::SimulationFailed,
];
#[cfg(not(feature = "starknet"))]
const STARKNET_SPEC: [Reason; 0] = [];

/// `base` followed by [`STARKNET_SPEC`].
const fn with_starknet_spec(base: [Reason; 136]) -> [Reason; 136 + STARKNET_SPEC.len()] {
    let mut all = [Reason::InvalidPayload; 136 + STARKNET_SPEC.len()];
    let mut i = 0;
    while i < all.len() {
        all[i] = if i < base.len() { base[i] } else { STARKNET_SPEC[i - base.len()] };
        i += 1;
    }
    all
}

impl Reason {
    /// Every reason, for tests and documentation.
    pub const ALL: [Reason; 136 + STARKNET_SPEC.len()] = with_starknet_spec([
        Reason::InvalidPayload,
        Reason::InvalidPaymentRequirements,
        Reason::InvalidNetwork,
        Reason::UnsupportedScheme,
        Reason::UnsupportedPayloadType,
        Reason::InvalidX402Version,
        Reason::UnexpectedVerifyError,
        Reason::UnexpectedSettleError,
        Reason::DuplicateSettlement,
        Reason::SettlementPending,
        Reason::GasCeilingExceeded,
        Reason::PayToNotAllowed,
        Reason::AssetNotAllowed,
        Reason::AmountBelowMinimum,
        Reason::SelfPayment,
        Reason::EvmSchemeMismatch,
        Reason::EvmNetworkMismatch,
        Reason::EvmMissingEip712Domain,
        Reason::EvmRecipientMismatch,
        Reason::EvmSignature,
        Reason::EvmValidBefore,
        Reason::EvmValidAfter,
        Reason::EvmValueMismatch,
        Reason::EvmUndeployedSmartWallet,
        Reason::EvmTransactionFailed,
        Reason::EvmTokenNameMismatch,
        Reason::EvmTokenVersionMismatch,
        Reason::EvmEip3009NotSupported,
        Reason::EvmNonceAlreadyUsed,
        Reason::EvmInsufficientBalance,
        Reason::EvmSimulationFailed,
        Reason::EvmTransferMismatch,
        Reason::EvmSmartWalletDeploymentFailed,
        Reason::AssetNotDeployedContract,
        Reason::Permit2InvalidSpender,
        Reason::Permit2RecipientMismatch,
        Reason::Permit2DeadlineExpired,
        Reason::Permit2NotYetValid,
        Reason::Permit2AmountMismatch,
        Reason::Permit2TokenMismatch,
        Reason::Permit2InvalidSignature,
        Reason::Permit2AllowanceRequired,
        Reason::Permit2SimulationFailed,
        Reason::Permit2InsufficientBalance,
        Reason::Permit2ProxyNotDeployed,
        Reason::Permit2InvalidAmount,
        Reason::Permit2InvalidDestination,
        Reason::Permit2InvalidOwner,
        Reason::Permit2PaymentTooEarly,
        Reason::Permit2InvalidNonce,
        Reason::Permit2612AmountMismatch,
        Reason::Eip2612InvalidFormat,
        Reason::Eip2612FromMismatch,
        Reason::Eip2612AssetMismatch,
        Reason::Eip2612SpenderNotPermit2,
        Reason::Eip2612DeadlineExpired,
        Reason::Erc20ApprovalInvalidFormat,
        Reason::Erc20ApprovalFromMismatch,
        Reason::Erc20ApprovalAssetMismatch,
        Reason::Erc20ApprovalSpenderNotPermit2,
        Reason::Erc20ApprovalTxParseFailed,
        Reason::Erc20ApprovalTxWrongTarget,
        Reason::Erc20ApprovalTxWrongSelector,
        Reason::Erc20ApprovalTxInvalidCalldata,
        Reason::Erc20ApprovalTxWrongSpender,
        Reason::Erc20ApprovalTxInvalidSignature,
        Reason::Erc20ApprovalTxSignerMismatch,
        Reason::Erc20ApprovalBroadcastFailed,
        Reason::UptoEvmScheme,
        Reason::UptoEvmNetworkMismatch,
        Reason::UptoFacilitatorMismatch,
        Reason::UptoSettlementExceedsAmount,
        Reason::UptoAmountExceedsPermitted,
        Reason::UptoUnauthorizedFacilitator,
        Reason::UptoEvmTransactionFailed,
        Reason::UptoPayload,
        Reason::NetworkMismatch,
        Reason::UptoMissingEip712Domain,
        Reason::UptoSpenderNotFacilitator,
        Reason::UptoCapTooLow,
        Reason::UptoCapBelowRequiredMax,
        Reason::UptoAuthorizationExpired,
        Reason::UptoInvalidChainId,
        Reason::UptoPermitSignature,
        Reason::UptoUnsupportedSignatureType,
        Reason::UptoInsufficientAllowance,
        Reason::UptoInsufficientBalance,
        Reason::UptoPermitFailed,
        Reason::UptoTransactionReverted,
        Reason::TransactionFailed,
        Reason::UptoReceiptUnavailable,
        Reason::UptoCapExhausted,
        Reason::UptoSessionClosed,
        Reason::UptoSettlingInProgress,
        Reason::UptoUnknownSession,
        Reason::UptoAcceptedMismatch,
        Reason::UptoSessionMismatch,
        Reason::UptoPermitConflict,
        Reason::UptoTooManySessions,
        Reason::SvmSchemeMismatch,
        Reason::SvmNetworkMismatch,
        Reason::SvmMissingFeePayer,
        Reason::SvmFeePayerNotManaged,
        Reason::SvmTransactionCouldNotBeDecoded,
        Reason::SvmFeePayerMismatch,
        Reason::SvmSignatureInvalid,
        Reason::SvmInstructionsLength,
        Reason::SvmComputeLimitInstruction,
        Reason::SvmComputeLimitTooHigh,
        Reason::SvmComputePriceInstruction,
        Reason::SvmComputePriceTooHigh,
        Reason::SvmNoTransferInstruction,
        Reason::SvmFeePayerTransferringFunds,
        Reason::SvmFeePayerInInstructionAccounts,
        Reason::SvmMintMismatch,
        Reason::SvmRecipientMismatch,
        Reason::SvmAmountMismatch,
        Reason::SvmUnknownFourthInstruction,
        Reason::SvmUnknownFifthInstruction,
        Reason::SvmUnknownSixthInstruction,
        Reason::SvmUnknownSeventhInstruction,
        Reason::SvmMemoCount,
        Reason::SvmMemoMismatch,
        Reason::SvmSimulationFailed,
        Reason::SvmDestinationAtaMissing,
        Reason::SvmTransactionFailed,
        Reason::SvmBlockHeightExceeded,
        Reason::SvmConfirmationTimedOut,
        Reason::StarknetTokenMismatch,
        Reason::StarknetRecipientMismatch,
        Reason::StarknetAuthorizationValue,
        Reason::StarknetValidUntil,
        Reason::StarknetNotYetValid,
        Reason::StarknetSignature,
        Reason::StarknetNonceUsed,
        Reason::InsufficientFunds,
    ]);

    /// `(v2 code, v1 code, Cronos text)`.
    const fn codes(self) -> (&'static str, &'static str, &'static str) {
        use Reason::*;
        match self {
            InvalidPayload => ("invalid_payload", "invalid_payload", "Invalid payment payload"),
            InvalidPaymentRequirements => {
                ("invalid_payment_requirements", "invalid_payment_requirements", "Invalid payment requirements")
            }
            InvalidNetwork => ("invalid_network", "invalid_network", "Unsupported network"),
            UnsupportedScheme => ("unsupported_scheme", "unsupported_scheme", "Unsupported scheme"),
            UnsupportedPayloadType => ("unsupported_payload_type", "invalid_payload", "Unsupported payload type"),
            InvalidX402Version => ("invalid_x402_version", "invalid_x402_version", "Unsupported x402Version"),
            UnexpectedVerifyError => ("unexpected_verify_error", "unexpected_verify_error", "Unexpected verify error"),
            UnexpectedSettleError => ("unexpected_settle_error", "unexpected_settle_error", "Unexpected settle error"),
            DuplicateSettlement => {
                ("duplicate_settlement", "duplicate_settlement", "Settlement of this authorization is in progress")
            }
            // Legacy v1 clients know no pending state: theirs is the unexpected settle error.
            SettlementPending => ("settlement_pending", "unexpected_settle_error", "Settlement pending"),
            PayToNotAllowed => ("pay_to_not_allowed", "invalid_payment_requirements", "Recipient is not allowed"),
            // No reference code exists for these (neither `@x402/*` 2.27 nor the spec list refuses a zero
            // amount, a self-payment or an asset by policy): ours, generic across schemes.
            AssetNotAllowed => ("asset_not_allowed", "invalid_payment_requirements", "Unsupported asset"),
            AmountBelowMinimum => {
                ("amount_below_minimum", "invalid_payment_requirements", "Amount below the facilitator's minimum")
            }
            SelfPayment => ("self_payment", "invalid_payload", "Payer and recipient are the same"),
            GasCeilingExceeded => {
                ("gas_ceiling_exceeded", "unexpected_settle_error", "Gas price above the facilitator's ceiling")
            }
            EvmSchemeMismatch => ("invalid_exact_evm_scheme", "unsupported_scheme", "Unsupported scheme"),
            EvmNetworkMismatch => ("invalid_exact_evm_network_mismatch", "invalid_network", "Unsupported network"),
            EvmMissingEip712Domain => {
                ("invalid_exact_evm_missing_eip712_domain", "invalid_payment_requirements", "Missing EIP-712 domain")
            }
            EvmRecipientMismatch => (
                "invalid_exact_evm_recipient_mismatch",
                "invalid_exact_evm_payload_recipient_mismatch",
                "Recipient does not match payTo address",
            ),
            EvmSignature => {
                ("invalid_exact_evm_signature", "invalid_exact_evm_payload_signature", "Invalid EIP-3009 signature")
            }
            EvmValidBefore => (
                "invalid_exact_evm_payload_authorization_valid_before",
                "invalid_exact_evm_payload_authorization_valid_before",
                "Authorization expired",
            ),
            EvmValidAfter => (
                "invalid_exact_evm_payload_authorization_valid_after",
                "invalid_exact_evm_payload_authorization_valid_after",
                "Authorization not yet valid",
            ),
            EvmValueMismatch => (
                "invalid_exact_evm_authorization_value",
                "invalid_exact_evm_payload_authorization_value",
                "Invalid amount",
            ),
            EvmUndeployedSmartWallet => (
                "invalid_exact_evm_payload_undeployed_smart_wallet",
                "invalid_exact_evm_payload_undeployed_smart_wallet",
                "Invalid EIP-3009 signature",
            ),
            EvmTransactionFailed => {
                ("invalid_exact_evm_transaction_failed", "invalid_transaction_state", "Transaction failed on-chain")
            }
            EvmTokenNameMismatch => {
                ("invalid_exact_evm_token_name_mismatch", "invalid_payment_requirements", "Unsupported asset")
            }
            EvmTokenVersionMismatch => {
                ("invalid_exact_evm_token_version_mismatch", "invalid_payment_requirements", "Unsupported asset")
            }
            EvmEip3009NotSupported => {
                ("invalid_exact_evm_eip3009_not_supported", "invalid_payment_requirements", "Unsupported asset")
            }
            EvmNonceAlreadyUsed => {
                ("invalid_exact_evm_nonce_already_used", "invalid_transaction_state", "Authorization already used")
            }
            EvmInsufficientBalance => (
                "invalid_exact_evm_insufficient_balance",
                "insufficient_funds",
                "ERC20: transfer amount exceeds balance",
            ),
            EvmSimulationFailed => (
                "invalid_exact_evm_transaction_simulation_failed",
                "invalid_transaction_state",
                "Transaction simulation failed",
            ),
            // The reference's code for a transfer whose Transfer event does not match the authorization.
            EvmTransferMismatch => (
                "invalid_exact_evm_transfer_event_mismatch",
                "invalid_transaction_state",
                "Transaction simulation failed",
            ),
            EvmSmartWalletDeploymentFailed => {
                ("smart_wallet_deployment_failed", "invalid_transaction_state", "Transaction failed on-chain")
            }
            // `exact` via Permit2: the reference's strings; v1 (no legacy code exists) the closest legacy one.
            AssetNotDeployedContract => {
                ("asset_not_deployed_contract", "invalid_payment_requirements", "Unsupported asset")
            }
            Permit2InvalidSpender => ("invalid_permit2_spender", "invalid_payload", "Invalid Permit2 spender"),
            Permit2RecipientMismatch => (
                "invalid_permit2_recipient_mismatch",
                "invalid_exact_evm_payload_recipient_mismatch",
                "Recipient does not match payTo address",
            ),
            Permit2DeadlineExpired => (
                "permit2_deadline_expired",
                "invalid_exact_evm_payload_authorization_valid_before",
                "Authorization expired",
            ),
            Permit2NotYetValid => (
                "permit2_not_yet_valid",
                "invalid_exact_evm_payload_authorization_valid_after",
                "Authorization not yet valid",
            ),
            Permit2AmountMismatch => {
                ("permit2_amount_mismatch", "invalid_exact_evm_payload_authorization_value", "Invalid amount")
            }
            Permit2TokenMismatch => ("permit2_token_mismatch", "invalid_payload", "Token does not match the asset"),
            Permit2InvalidSignature => {
                ("invalid_permit2_signature", "invalid_exact_evm_payload_signature", "Invalid Permit2 signature")
            }
            Permit2AllowanceRequired => {
                ("permit2_allowance_required", "insufficient_funds", "Permit2 allowance required")
            }
            Permit2SimulationFailed => {
                ("permit2_simulation_failed", "invalid_transaction_state", "Transaction simulation failed")
            }
            Permit2InsufficientBalance => {
                ("permit2_insufficient_balance", "insufficient_funds", "ERC20: transfer amount exceeds balance")
            }
            Permit2ProxyNotDeployed => {
                ("permit2_proxy_not_deployed", "invalid_transaction_state", "Permit2 proxy not deployed")
            }
            Permit2InvalidAmount => {
                ("permit2_invalid_amount", "invalid_exact_evm_payload_authorization_value", "Invalid amount")
            }
            Permit2InvalidDestination => {
                ("permit2_invalid_destination", "invalid_exact_evm_payload_recipient_mismatch", "Invalid destination")
            }
            Permit2InvalidOwner => ("permit2_invalid_owner", "invalid_payload", "Invalid owner"),
            Permit2PaymentTooEarly => (
                "permit2_payment_too_early",
                "invalid_exact_evm_payload_authorization_valid_after",
                "Authorization not yet valid",
            ),
            Permit2InvalidNonce => ("permit2_invalid_nonce", "invalid_transaction_state", "Authorization already used"),
            Permit2612AmountMismatch => {
                ("permit2_2612_amount_mismatch", "invalid_payload", "EIP-2612 permit amount does not match")
            }
            Eip2612InvalidFormat => {
                ("invalid_eip2612_extension_format", "invalid_payload", "Invalid EIP-2612 extension")
            }
            Eip2612FromMismatch => ("eip2612_from_mismatch", "invalid_payload", "Invalid EIP-2612 extension"),
            Eip2612AssetMismatch => ("eip2612_asset_mismatch", "invalid_payload", "Invalid EIP-2612 extension"),
            Eip2612SpenderNotPermit2 => {
                ("eip2612_spender_not_permit2", "invalid_payload", "Invalid EIP-2612 extension")
            }
            Eip2612DeadlineExpired => (
                "eip2612_deadline_expired",
                "invalid_exact_evm_payload_authorization_valid_before",
                "EIP-2612 permit expired",
            ),
            Erc20ApprovalInvalidFormat => {
                ("invalid_erc20_approval_extension_format", "invalid_payload", "Invalid ERC-20 approval extension")
            }
            Erc20ApprovalFromMismatch => {
                ("erc20_approval_from_mismatch", "invalid_payload", "Invalid ERC-20 approval extension")
            }
            Erc20ApprovalAssetMismatch => {
                ("erc20_approval_asset_mismatch", "invalid_payload", "Invalid ERC-20 approval extension")
            }
            Erc20ApprovalSpenderNotPermit2 => {
                ("erc20_approval_spender_not_permit2", "invalid_payload", "Invalid ERC-20 approval extension")
            }
            Erc20ApprovalTxParseFailed => {
                ("erc20_approval_tx_parse_failed", "invalid_payload", "Invalid approval transaction")
            }
            Erc20ApprovalTxWrongTarget => {
                ("erc20_approval_tx_wrong_target", "invalid_payload", "Invalid approval transaction")
            }
            Erc20ApprovalTxWrongSelector => {
                ("erc20_approval_tx_wrong_selector", "invalid_payload", "Invalid approval transaction")
            }
            Erc20ApprovalTxInvalidCalldata => {
                ("erc20_approval_tx_invalid_calldata", "invalid_payload", "Invalid approval transaction")
            }
            Erc20ApprovalTxWrongSpender => {
                ("erc20_approval_tx_wrong_spender", "invalid_payload", "Invalid approval transaction")
            }
            Erc20ApprovalTxInvalidSignature => {
                ("erc20_approval_tx_invalid_signature", "invalid_payload", "Invalid approval transaction")
            }
            Erc20ApprovalTxSignerMismatch => {
                ("erc20_approval_tx_signer_mismatch", "invalid_payload", "Invalid approval transaction")
            }
            Erc20ApprovalBroadcastFailed => {
                ("erc20_approval_broadcast_failed", "invalid_transaction_state", "Approval transaction failed")
            }
            // The standard `upto`: the reference's strings; v1 (the scheme is v2 only) the closest legacy one.
            UptoEvmScheme => ("invalid_upto_evm_scheme", "invalid_scheme", "Unsupported scheme"),
            UptoEvmNetworkMismatch => ("invalid_upto_evm_network_mismatch", "invalid_network", "Unsupported network"),
            UptoFacilitatorMismatch => {
                ("upto_facilitator_mismatch", "invalid_payload", "The authorization names another facilitator")
            }
            UptoSettlementExceedsAmount => (
                "invalid_upto_evm_payload_settlement_exceeds_amount",
                "invalid_exact_evm_payload_authorization_value",
                "Settlement amount exceeds the authorized amount",
            ),
            UptoAmountExceedsPermitted => (
                "upto_amount_exceeds_permitted",
                "invalid_exact_evm_payload_authorization_value",
                "Settlement amount exceeds the authorized amount",
            ),
            UptoUnauthorizedFacilitator => {
                ("upto_unauthorized_facilitator", "invalid_transaction_state", "Unauthorized facilitator")
            }
            UptoEvmTransactionFailed => {
                ("invalid_upto_evm_transaction_failed", "invalid_transaction_state", "Transaction failed on-chain")
            }
            UptoPayload => ("invalid_upto_evm_payload", "invalid_payload", "Invalid upto payment payload"),
            NetworkMismatch => ("network_mismatch", "invalid_network", "Unsupported network"),
            UptoMissingEip712Domain => {
                ("missing_eip712_domain", "invalid_payment_requirements", "Missing EIP-712 domain")
            }
            UptoSpenderNotFacilitator => ("spender_not_facilitator", "invalid_payload", "Invalid upto payment payload"),
            UptoCapTooLow => ("cap_too_low", "invalid_payment_requirements", "Upto cap below the amount"),
            UptoCapBelowRequiredMax => {
                ("cap_below_required_max", "invalid_payment_requirements", "Upto cap below the required maximum")
            }
            UptoAuthorizationExpired => ("authorization_expired", "invalid_payload", "Authorization expired"),
            UptoInvalidChainId => ("invalid_chain_id", "invalid_network", "Unsupported network"),
            UptoPermitSignature => ("invalid_permit_signature", "invalid_payload", "Invalid permit signature"),
            UptoUnsupportedSignatureType => {
                ("unsupported_signature_type", "invalid_payload", "Invalid permit signature")
            }
            UptoInsufficientAllowance => ("insufficient_allowance", "insufficient_funds", "Insufficient allowance"),
            UptoInsufficientBalance => {
                ("insufficient_balance", "insufficient_funds", "ERC20: transfer amount exceeds balance")
            }
            UptoPermitFailed => ("permit_failed", "invalid_transaction_state", "Permit failed"),
            UptoTransactionReverted => {
                ("invalid_transaction_state", "invalid_transaction_state", "Transaction failed on-chain")
            }
            TransactionFailed => ("transaction_failed", "unexpected_settle_error", "Transaction failed"),
            UptoReceiptUnavailable => {
                ("settlement_receipt_unavailable", "unexpected_settle_error", "Settlement outcome unknown")
            }
            UptoCapExhausted => ("cap_exhausted", "invalid_payload", "Upto cap exhausted, reauthorize with higher max"),
            UptoSessionClosed => ("session_closed", "invalid_payload", "Session closed. Reauthorize a new upto cap"),
            UptoSettlingInProgress => {
                ("settling_in_progress", "invalid_payload", "Session is settling a batch, retry shortly")
            }
            UptoUnknownSession => ("session_not_found", "invalid_payload", "Unknown upto session"),
            UptoAcceptedMismatch => ("accepted_mismatch", "invalid_payload", "Invalid upto payment payload"),
            UptoSessionMismatch => ("session_mismatch", "invalid_payload", "Invalid upto payment payload"),
            UptoPermitConflict => ("permit_conflict", "invalid_payload", "Invalid upto payment payload"),
            UptoTooManySessions => ("too_many_sessions", "invalid_payload", "Invalid upto payment payload"),
            // v2: `@x402/svm` 2.27 `exact/facilitator/errors.ts`; v1: the legacy enum.
            SvmSchemeMismatch => ("invalid_exact_svm_unsupported_scheme", "unsupported_scheme", "Unsupported scheme"),
            SvmNetworkMismatch => ("invalid_exact_svm_network_mismatch", "invalid_network", "Unsupported network"),
            SvmMissingFeePayer => (
                "invalid_exact_svm_payload_missing_fee_payer",
                "invalid_payment_requirements",
                "Missing feePayer in payment requirements",
            ),
            SvmFeePayerNotManaged => (
                "invalid_exact_svm_fee_payer_not_managed_by_facilitator",
                "invalid_payment_requirements",
                "Fee payer is not managed by this facilitator",
            ),
            SvmTransactionCouldNotBeDecoded => (
                "invalid_exact_svm_payload_transaction_could_not_be_decoded",
                "invalid_exact_svm_payload_transaction",
                "Invalid Solana transaction",
            ),
            SvmFeePayerMismatch => (
                "invalid_exact_svm_fee_payer_mismatch",
                "invalid_exact_svm_payload_transaction",
                "Fee payer does not match the requirements",
            ),
            SvmSignatureInvalid => (
                "invalid_exact_svm_payload_signature_invalid",
                "invalid_exact_svm_payload_transaction",
                "Invalid Solana transaction signature",
            ),
            SvmInstructionsLength => (
                "invalid_exact_svm_payload_transaction_instructions_length",
                "invalid_exact_svm_payload_transaction_instructions_length",
                "Unexpected number of instructions",
            ),
            SvmComputeLimitInstruction => (
                "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction",
                "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction",
                "Invalid compute unit limit instruction",
            ),
            // The legacy enum has no code for a limit above a cap: its compute limit code.
            SvmComputeLimitTooHigh => (
                "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction_too_high",
                "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction",
                "Compute unit limit too high",
            ),
            SvmComputePriceInstruction => (
                "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction",
                "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction",
                "Invalid compute unit price instruction",
            ),
            SvmComputePriceTooHigh => (
                "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high",
                "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high",
                "Compute unit price too high",
            ),
            SvmNoTransferInstruction => (
                "invalid_exact_svm_payload_no_transfer_instruction",
                "invalid_exact_svm_payload_transaction_not_a_transfer_instruction",
                "No TransferChecked instruction",
            ),
            SvmFeePayerTransferringFunds => (
                "invalid_exact_svm_payload_transaction_fee_payer_transferring_funds",
                "invalid_exact_svm_payload_transaction_fee_payer_transferring_funds",
                "Fee payer must not transfer funds",
            ),
            // The current TS v2 dropped this check; the legacy code is the only string for it.
            SvmFeePayerInInstructionAccounts => (
                "invalid_exact_svm_payload_transaction_fee_payer_included_in_instruction_accounts",
                "invalid_exact_svm_payload_transaction_fee_payer_included_in_instruction_accounts",
                "Fee payer must not appear in instruction accounts",
            ),
            // Legacy v1 derived the destination from the asset: a wrong mint was a wrong ATA.
            SvmMintMismatch => (
                "invalid_exact_svm_payload_mint_mismatch",
                "invalid_exact_svm_payload_transaction_transfer_to_incorrect_ata",
                "Token mint does not match the asset",
            ),
            SvmRecipientMismatch => (
                "invalid_exact_svm_payload_recipient_mismatch",
                "invalid_exact_svm_payload_transaction_transfer_to_incorrect_ata",
                "Recipient does not match payTo address",
            ),
            SvmAmountMismatch => (
                "invalid_exact_svm_payload_amount_mismatch",
                "invalid_exact_svm_payload_transaction_amount_mismatch",
                "Invalid amount",
            ),
            SvmUnknownFourthInstruction => (
                "invalid_exact_svm_payload_unknown_fourth_instruction",
                "invalid_exact_svm_payload_transaction_instructions",
                "Unexpected fourth instruction",
            ),
            SvmUnknownFifthInstruction => (
                "invalid_exact_svm_payload_unknown_fifth_instruction",
                "invalid_exact_svm_payload_transaction_instructions",
                "Unexpected fifth instruction",
            ),
            SvmUnknownSixthInstruction => (
                "invalid_exact_svm_payload_unknown_sixth_instruction",
                "invalid_exact_svm_payload_transaction_instructions",
                "Unexpected sixth instruction",
            ),
            SvmUnknownSeventhInstruction => (
                "invalid_exact_svm_payload_unknown_seventh_instruction",
                "invalid_exact_svm_payload_transaction_instructions",
                "Unexpected seventh instruction",
            ),
            SvmMemoCount => (
                "invalid_exact_svm_payload_memo_count",
                "invalid_exact_svm_payload_transaction_instructions",
                "Expected exactly one memo instruction",
            ),
            SvmMemoMismatch => (
                "invalid_exact_svm_payload_memo_mismatch",
                "invalid_exact_svm_payload_transaction_instructions",
                "Memo does not match the required memo",
            ),
            SvmSimulationFailed => (
                "invalid_exact_svm_transaction_simulation_failed",
                "invalid_exact_svm_payload_transaction_simulation_failed",
                "Transaction simulation failed",
            ),
            // Ours, in the reference's style (it answers a bare simulation failure); v1 as before.
            SvmDestinationAtaMissing => (
                "invalid_exact_svm_payload_transaction_destination_ata_missing",
                "invalid_exact_svm_payload_transaction_simulation_failed",
                "The recipient has no token account for the asset",
            ),
            SvmTransactionFailed => {
                ("invalid_exact_svm_transaction_failed", "unexpected_settle_error", "Transaction failed on-chain")
            }
            // The legacy v1 settle's codes (digest §5.3): `@x402/svm` 2.27 has neither (a confirmation it did not see
            // is `settlement_pending`, which `facilitator::pending` answers for a sent transaction too).
            SvmBlockHeightExceeded => (
                "settle_exact_svm_block_height_exceeded",
                "settle_exact_svm_block_height_exceeded",
                "Transaction expired before it landed",
            ),
            SvmConfirmationTimedOut => (
                "settle_exact_svm_transaction_confirmation_timed_out",
                "settle_exact_svm_transaction_confirmation_timed_out",
                "Transaction confirmation timed out",
            ),
            // x402-starknet uses one table for v1 and v2.
            StarknetTokenMismatch => (
                "invalid_exact_starknet_payload_token_mismatch",
                "invalid_exact_starknet_payload_token_mismatch",
                "Token does not match the asset",
            ),
            StarknetRecipientMismatch => (
                "invalid_exact_starknet_payload_recipient_mismatch",
                "invalid_exact_starknet_payload_recipient_mismatch",
                "Recipient does not match payTo",
            ),
            StarknetAuthorizationValue => (
                "invalid_exact_starknet_payload_authorization_value",
                "invalid_exact_starknet_payload_authorization_value",
                "Invalid amount",
            ),
            StarknetValidUntil => (
                "invalid_exact_starknet_payload_authorization_valid_until",
                "invalid_exact_starknet_payload_authorization_valid_until",
                "Authorization expired or not yet valid",
            ),
            // x402-starknet has one code for both ends of the window; v2 tells "not yet" apart.
            StarknetNotYetValid => (
                "invalid_exact_starknet_payload_authorization_not_yet_valid",
                "invalid_exact_starknet_payload_authorization_valid_until",
                "Authorization not yet valid",
            ),
            StarknetSignature => (
                "invalid_exact_starknet_payload_signature",
                "invalid_exact_starknet_payload_signature",
                "Invalid signature",
            ),
            StarknetNonceUsed => (
                "invalid_exact_starknet_payload_nonce_used",
                "invalid_exact_starknet_payload_nonce_used",
                "Outside execution nonce already used",
            ),
            InsufficientFunds => ("insufficient_funds", "insufficient_funds", "Insufficient funds"),
            // [starknet-spec] The spec's dialect is x402 v2 only: the v1 codes are the nearest x402-starknet ones.
            #[cfg(feature = "starknet")]
            InvalidScheme => ("invalid_scheme", "invalid_scheme", "Unsupported scheme"),
            #[cfg(feature = "starknet")]
            StarknetAssetMismatch => (
                "invalid_exact_starknet_payload_asset_mismatch",
                "invalid_exact_starknet_payload_token_mismatch",
                "Token does not match the asset",
            ),
            #[cfg(feature = "starknet")]
            StarknetAmountMismatch => (
                "invalid_exact_starknet_payload_amount_mismatch",
                "invalid_exact_starknet_payload_authorization_value",
                "Invalid amount",
            ),
            #[cfg(feature = "starknet")]
            StarknetCaller => {
                ("invalid_exact_starknet_payload_caller", "invalid_payload", "Caller is not the fee payer")
            }
            #[cfg(feature = "starknet")]
            AccountNotDeployed => {
                ("account_not_deployed", "invalid_exact_starknet_payload_signature", "Account is not deployed")
            }
            #[cfg(feature = "starknet")]
            OutsideExecutionExpired => (
                "outside_execution_expired",
                "invalid_exact_starknet_payload_authorization_valid_until",
                "Authorization expired",
            ),
            #[cfg(feature = "starknet")]
            OutsideExecutionWindowExceedsMaxTimeout => (
                "outside_execution_window_exceeds_max_timeout",
                "invalid_payload",
                "Authorization window exceeds maxTimeoutSeconds",
            ),
            #[cfg(feature = "starknet")]
            NonceAlreadyUsed => (
                "nonce_already_used",
                "invalid_exact_starknet_payload_nonce_used",
                "Outside execution nonce already used",
            ),
            #[cfg(feature = "starknet")]
            SimulationFailed => ("simulation_failed", "invalid_transaction_state", "Transaction simulation failed"),
        }
    }

    /// A settle that sent a transaction and did not see its outcome: it stays recoverable.
    pub const fn outcome_unknown(self) -> bool {
        matches!(
            self,
            Reason::UnexpectedSettleError
                | Reason::UptoReceiptUnavailable
                | Reason::SvmConfirmationTimedOut
                | Reason::SettlementPending
        )
    }

    /// The reason code for a response of the given protocol version.
    pub const fn code(self, version: Version) -> &'static str {
        let (v2, v1, _) = self.codes();
        match version {
            Version::V1 => v1,
            Version::V2 => v2,
        }
    }

    /// The reason a v2 code names (the form the settlement ledger stores).
    pub fn from_v2_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code(Version::V2) == code)
    }

    /// The Cronos facilitator's human-readable text for this reason.
    pub const fn cronos_text(self) -> &'static str {
        self.codes().2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ErrorReasons` of the legacy `x402` package (protocol digest §9): what v1 clients accept.
    const LEGACY_V1: &[&str] = &[
        "insufficient_funds",
        "invalid_exact_evm_payload_authorization_valid_after",
        "invalid_exact_evm_payload_authorization_valid_before",
        "invalid_exact_evm_payload_authorization_value",
        "invalid_exact_evm_payload_signature",
        "invalid_exact_evm_payload_recipient_mismatch",
        "invalid_exact_evm_payload_undeployed_smart_wallet",
        "invalid_network",
        "invalid_payload",
        "invalid_payment_requirements",
        "invalid_scheme",
        "unsupported_scheme",
        "invalid_x402_version",
        "invalid_transaction_state",
        "unexpected_verify_error",
        "unexpected_settle_error",
        "duplicate_settlement",
        // The legacy enum's SVM codes (protocol digest §9), those this facilitator answers with.
        "invalid_exact_svm_payload_transaction",
        "invalid_exact_svm_payload_transaction_amount_mismatch",
        "invalid_exact_svm_payload_transaction_instructions",
        "invalid_exact_svm_payload_transaction_instructions_length",
        "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction",
        "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction",
        "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high",
        "invalid_exact_svm_payload_transaction_fee_payer_included_in_instruction_accounts",
        "invalid_exact_svm_payload_transaction_fee_payer_transferring_funds",
        "invalid_exact_svm_payload_transaction_not_a_transfer_instruction",
        "invalid_exact_svm_payload_transaction_transfer_to_incorrect_ata",
        "invalid_exact_svm_payload_transaction_simulation_failed",
        "settle_exact_svm_block_height_exceeded",
        "settle_exact_svm_transaction_confirmation_timed_out",
        // x402-starknet's reason schema (its v1 clients validate against it, protocol digest §9).
        "invalid_exact_starknet_payload_token_mismatch",
        "invalid_exact_starknet_payload_recipient_mismatch",
        "invalid_exact_starknet_payload_authorization_value",
        "invalid_exact_starknet_payload_authorization_valid_until",
        "invalid_exact_starknet_payload_signature",
        "invalid_exact_starknet_payload_nonce_used",
    ];

    #[test]
    fn every_v1_code_is_in_the_legacy_enum() {
        for reason in Reason::ALL {
            assert!(LEGACY_V1.contains(&reason.code(Version::V1)), "{reason:?}");
        }
    }

    #[test]
    fn v2_codes_are_distinct_and_follow_the_reference() {
        let mut seen = std::collections::HashSet::new();
        for reason in Reason::ALL {
            assert!(seen.insert(reason.code(Version::V2)), "duplicate code for {reason:?}");
        }
        assert_eq!(Reason::EvmSignature.code(Version::V2), "invalid_exact_evm_signature");
        assert_eq!(Reason::EvmValueMismatch.code(Version::V2), "invalid_exact_evm_authorization_value");
    }
}
