//! The EIP-3009 `TransferWithAuthorization` EIP-712 struct and its signing hash.

use std::borrow::Cow;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{sol, Eip712Domain};

use super::eip712::{self, TypeHash};

sol! {
    struct TransferWithAuthorization {
        address from;
        address to;
        uint256 value;
        uint256 validAfter;
        uint256 validBefore;
        bytes32 nonce;
    }
}

/// An EIP-3009 `TransferWithAuthorization` as signed by the payer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eip3009Authorization {
    pub from: Address,
    pub to: Address,
    pub value: U256,
    pub valid_after: U256,
    pub valid_before: U256,
    pub nonce: B256,
}

/// The token's EIP-712 domain: `{name, version, chainId, verifyingContract}`.
pub fn domain(name: &str, version: &str, chain_id: u64, verifying_contract: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some(Cow::Owned(name.to_owned())),
        Some(Cow::Owned(version.to_owned())),
        Some(U256::from(chain_id)),
        Some(verifying_contract),
        None,
    )
}

/// The digest the payer signed.
pub fn signing_hash(authorization: &Eip3009Authorization, domain: &Eip712Domain) -> B256 {
    let message = TransferWithAuthorization {
        from: authorization.from,
        to: authorization.to,
        value: authorization.value,
        validAfter: authorization.valid_after,
        validBefore: authorization.valid_before,
        nonce: authorization.nonce,
    };
    eip712::signing_hash(&message, &TYPE_HASH, domain)
}

static TYPE_HASH: TypeHash<TransferWithAuthorization> = TypeHash::new();
