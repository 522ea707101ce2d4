//! INVOKE v3 transactions: the hash the sender account signs, and a Cairo 1 account's `__execute__`
//! calldata. This is what the facilitator's sponsor account signs to submit an outside execution.
//!
//! The hash is Poseidon over the fields as starknet.js 10 and JSON-RPC 0.8+ define them, with three
//! resource bounds (L1 gas, L2 gas, L1 data gas) each packed as `name ‖ max_amount ‖ max_price`.

use starknet_crypto::poseidon_hash_many;

use super::call::{encode_calls, Call};
use super::felt::Felt;

/// `'invoke'`.
pub const INVOKE_PREFIX: Felt = Felt::from_hex_unchecked("0x696e766f6b65");

/// `2^128 + 3`: the version of a v3 transaction only simulated or estimated, never executable.
pub const QUERY_VERSION_3: Felt = Felt::from_hex_unchecked("0x100000000000000000000000000000003");

/// Where the nonce and the fee are accounted (only L1 is live on Starknet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataAvailabilityMode {
    #[default]
    L1 = 0,
    L2 = 1,
}

/// The most a transaction may use of one resource, and the most it pays per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResourceBounds {
    pub max_amount: u64,
    pub max_price_per_unit: u128,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AllResourceBounds {
    pub l1_gas: ResourceBounds,
    pub l2_gas: ResourceBounds,
    pub l1_data_gas: ResourceBounds,
}

impl AllResourceBounds {
    /// The most a transaction with these bounds can be charged (without tip), in the fee token's units.
    pub fn max_fee(&self) -> u128 {
        [self.l1_gas, self.l2_gas, self.l1_data_gas]
            .iter()
            .map(|b| u128::from(b.max_amount).saturating_mul(b.max_price_per_unit))
            .fold(0u128, u128::saturating_add)
    }
}

/// An INVOKE v3 transaction without its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeTransactionV3 {
    pub sender_address: Felt,
    pub calldata: Vec<Felt>,
    pub chain_id: Felt,
    pub nonce: Felt,
    pub resource_bounds: AllResourceBounds,
    pub tip: u64,
    pub paymaster_data: Vec<Felt>,
    pub account_deployment_data: Vec<Felt>,
    pub nonce_data_availability_mode: DataAvailabilityMode,
    pub fee_data_availability_mode: DataAvailabilityMode,
}

impl InvokeTransactionV3 {
    /// The transaction hash (what the sender signs).
    pub fn hash(&self) -> Felt {
        self.hash_with_version(Felt::THREE)
    }

    /// The hash of the same transaction sent with the query version (simulation, fee estimation).
    pub fn query_hash(&self) -> Felt {
        self.hash_with_version(QUERY_VERSION_3)
    }

    fn hash_with_version(&self, version: Felt) -> Felt {
        poseidon_hash_many(&[
            INVOKE_PREFIX,
            version,
            self.sender_address,
            self.fee_fields_hash(),
            poseidon_hash_many(&self.paymaster_data),
            self.chain_id,
            self.nonce,
            self.data_availability_modes(),
            poseidon_hash_many(&self.account_deployment_data),
            poseidon_hash_many(&self.calldata),
        ])
    }

    fn fee_fields_hash(&self) -> Felt {
        let bounds = &self.resource_bounds;
        poseidon_hash_many(&[
            Felt::from(self.tip),
            pack_resource(b"L1_GAS", &bounds.l1_gas),
            pack_resource(b"L2_GAS", &bounds.l2_gas),
            pack_resource(b"L1_DATA", &bounds.l1_data_gas),
        ])
    }

    /// `nonce_mode << 32 | fee_mode`.
    fn data_availability_modes(&self) -> Felt {
        Felt::from(((self.nonce_data_availability_mode as u64) << 32) | self.fee_data_availability_mode as u64)
    }
}

/// `name << 192 | max_amount << 128 | max_price_per_unit`, `name` a short string of at most 8 bytes.
fn pack_resource<const N: usize>(name: &[u8; N], bounds: &ResourceBounds) -> Felt {
    const { assert!(N <= 8, "a resource name is at most 8 bytes") };
    let mut bytes = [0u8; 32];
    bytes[8 - N..8].copy_from_slice(name);
    bytes[8..16].copy_from_slice(&bounds.max_amount.to_be_bytes());
    bytes[16..].copy_from_slice(&bounds.max_price_per_unit.to_be_bytes());
    Felt::from_bytes_be(&bytes)
}

/// The calldata of a Cairo 1 account's `__execute__(calls: Array<Call>)`.
pub fn execute_calldata(calls: &[Call]) -> Vec<Felt> {
    let mut out = Vec::new();
    encode_calls(calls, &mut out);
    out
}
