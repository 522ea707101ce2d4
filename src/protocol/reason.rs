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
    /// The requirements' `payTo` is not on this facilitator's allowlist.
    PayToNotAllowed,
    /// Settling would cost more gas, or a higher gas price, than the facilitator allows.
    GasCeilingExceeded,
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
    // `upto` on EVM (the daydreams EIP-2612 scheme, protocol digest §6.2).
    UptoPayload,
    UptoNetworkMismatch,
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
    UptoTransactionFailed,
    UptoReceiptUnavailable,
    UptoCapExhausted,
    UptoSessionClosed,
    UptoSettlingInProgress,
    UptoUnknownSession,
}

impl Reason {
    /// Every reason, for tests and documentation.
    pub const ALL: [Reason; 47] = [
        Reason::InvalidPayload,
        Reason::InvalidPaymentRequirements,
        Reason::InvalidNetwork,
        Reason::UnsupportedScheme,
        Reason::UnsupportedPayloadType,
        Reason::InvalidX402Version,
        Reason::UnexpectedVerifyError,
        Reason::UnexpectedSettleError,
        Reason::DuplicateSettlement,
        Reason::GasCeilingExceeded,
        Reason::PayToNotAllowed,
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
        Reason::UptoPayload,
        Reason::UptoNetworkMismatch,
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
        Reason::UptoTransactionFailed,
        Reason::UptoReceiptUnavailable,
        Reason::UptoCapExhausted,
        Reason::UptoSessionClosed,
        Reason::UptoSettlingInProgress,
        Reason::UptoUnknownSession,
    ];

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
            PayToNotAllowed => ("pay_to_not_allowed", "invalid_payment_requirements", "Recipient is not allowed"),
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
            UptoPayload => ("invalid_upto_evm_payload", "invalid_payload", "Invalid upto payment payload"),
            UptoNetworkMismatch => ("network_mismatch", "invalid_network", "Unsupported network"),
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
            UptoTransactionFailed => ("transaction_failed", "unexpected_settle_error", "Transaction failed"),
            UptoReceiptUnavailable => {
                ("settlement_receipt_unavailable", "unexpected_settle_error", "Settlement outcome unknown")
            }
            UptoCapExhausted => ("cap_exhausted", "invalid_payload", "Upto cap exhausted, reauthorize with higher max"),
            UptoSessionClosed => ("session_closed", "invalid_payload", "Session closed. Reauthorize a new upto cap"),
            UptoSettlingInProgress => {
                ("settling_in_progress", "invalid_payload", "Session is settling a batch, retry shortly")
            }
            UptoUnknownSession => ("session_not_found", "invalid_payload", "Unknown upto session"),
        }
    }

    /// A settle that sent a transaction and did not see its outcome: it stays recoverable.
    pub const fn outcome_unknown(self) -> bool {
        matches!(self, Reason::UnexpectedSettleError | Reason::UptoReceiptUnavailable)
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
