//! Building and signing the facilitator's transactions with alloy-consensus (EIP-1559 where the chain
//! has a base fee, legacy otherwise).

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};

use crate::ports::{EvmSigner, SignerError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
// Externally tagged: internally tagged enums buffer their fields, and that buffer cannot hold u128.
#[serde(rename_all = "snake_case")]
pub enum Fees {
    Eip1559 { max_fee_per_gas: u128, max_priority_fee_per_gas: u128 },
    Legacy { gas_price: u128 },
}

/// How much a fee bump raises the fees of a stuck transaction, in percent.
pub const FEE_BUMP_PERCENT: u128 = 25;
/// Nodes (geth's default price bump) replace a pending transaction only when every fee rises this much.
const MIN_REPLACEMENT_PERCENT: u128 = 10;

fn raised(value: u128, percent: u128) -> u128 {
    value.saturating_add(value.saturating_mul(percent).div_ceil(100))
}

impl Fees {
    /// The fees of a replacement: [`FEE_BUMP_PERCENT`] higher, capped at `ceiling` (wei per gas).
    /// `None` when the cap leaves less than the rise nodes require: the transaction cannot be bumped.
    pub fn bumped(&self, ceiling: u128) -> Option<Fees> {
        let enough = |new: u128, old: u128| new >= raised(old, MIN_REPLACEMENT_PERCENT) && (new > old || old == 0);
        match *self {
            Fees::Eip1559 { max_fee_per_gas, max_priority_fee_per_gas } => {
                let max_fee = raised(max_fee_per_gas, FEE_BUMP_PERCENT).min(ceiling);
                let tip = raised(max_priority_fee_per_gas, FEE_BUMP_PERCENT).min(max_fee);
                (enough(max_fee, max_fee_per_gas) && enough(tip, max_priority_fee_per_gas))
                    .then_some(Fees::Eip1559 { max_fee_per_gas: max_fee, max_priority_fee_per_gas: tip })
            }
            Fees::Legacy { gas_price } => {
                let price = raised(gas_price, FEE_BUMP_PERCENT).min(ceiling);
                enough(price, gas_price).then_some(Fees::Legacy { gas_price: price })
            }
        }
    }

    /// The most one unit of gas can cost.
    pub fn max_per_gas(&self) -> u128 {
        match self {
            Fees::Eip1559 { max_fee_per_gas, .. } => *max_fee_per_gas,
            Fees::Legacy { gas_price } => *gas_price,
        }
    }
}

/// A contract call the facilitator sends (no value transfer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractCall {
    pub chain_id: u64,
    pub nonce: u64,
    pub gas_limit: u64,
    pub fees: Fees,
    pub to: Address,
    pub input: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    pub raw: Bytes,
    pub hash: B256,
}

pub async fn sign<S: EvmSigner>(signer: &S, call: &ContractCall) -> Result<SignedTx, SignerError> {
    let envelope: TxEnvelope = match call.fees {
        Fees::Eip1559 { max_fee_per_gas, max_priority_fee_per_gas } => {
            let tx = TxEip1559 {
                chain_id: call.chain_id,
                nonce: call.nonce,
                gas_limit: call.gas_limit,
                max_fee_per_gas,
                max_priority_fee_per_gas,
                to: TxKind::Call(call.to),
                value: U256::ZERO,
                access_list: Default::default(),
                input: call.input.clone(),
            };
            let signature = signer.sign_hash(&tx.signature_hash()).await?;
            tx.into_signed(signature).into()
        }
        Fees::Legacy { gas_price } => {
            let tx = TxLegacy {
                chain_id: Some(call.chain_id),
                nonce: call.nonce,
                gas_price,
                gas_limit: call.gas_limit,
                to: TxKind::Call(call.to),
                value: U256::ZERO,
                input: call.input.clone(),
            };
            let signature = signer.sign_hash(&tx.signature_hash()).await?;
            tx.into_signed(signature).into()
        }
    };
    Ok(SignedTx { raw: envelope.encoded_2718().into(), hash: *envelope.tx_hash() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chains::evm::signer::LocalEvmSigner;
    use alloy_consensus::transaction::SignerRecoverable;
    use alloy_consensus::Transaction;
    use alloy_eips::eip2718::Decodable2718;

    fn call(fees: Fees) -> ContractCall {
        ContractCall {
            chain_id: 84532,
            nonce: 7,
            gas_limit: 90_000,
            fees,
            to: Address::repeat_byte(0x11),
            input: vec![1, 2, 3].into(),
        }
    }

    #[test]
    fn signed_transactions_decode_and_recover_to_the_signer() {
        let signer =
            LocalEvmSigner::from_hex("0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6").unwrap();
        for fees in [
            Fees::Eip1559 { max_fee_per_gas: 3_000_000_000, max_priority_fee_per_gas: 1_000_000_000 },
            Fees::Legacy { gas_price: 2_000_000_000 },
        ] {
            let signed = pollster::block_on(sign(&signer, &call(fees))).unwrap();
            let envelope = TxEnvelope::decode_2718(&mut signed.raw.as_ref()).unwrap();
            assert_eq!(*envelope.tx_hash(), signed.hash);
            assert_eq!(envelope.recover_signer().unwrap(), signer.address());
            assert_eq!(envelope.chain_id(), Some(84532));
            assert_eq!(envelope.nonce(), 7);
            assert_eq!(envelope.is_legacy(), matches!(fees, Fees::Legacy { .. }));
            // Fees travel to the signer Durable Object as JSON.
            let json = serde_json::to_string(&fees).unwrap();
            assert_eq!(serde_json::from_str::<Fees>(&json).unwrap(), fees);
        }
    }

    #[test]
    fn a_fee_bump_raises_every_fee_and_stops_at_the_ceiling() {
        let fees = Fees::Eip1559 { max_fee_per_gas: 1_000, max_priority_fee_per_gas: 100 };
        assert_eq!(fees.bumped(10_000), Some(Fees::Eip1559 { max_fee_per_gas: 1_250, max_priority_fee_per_gas: 125 }));
        // Capped at the ceiling while that is still a valid replacement, then no more bumps.
        assert_eq!(fees.bumped(1_150), Some(Fees::Eip1559 { max_fee_per_gas: 1_150, max_priority_fee_per_gas: 125 }));
        assert_eq!(fees.bumped(1_050), None);
        assert_eq!(Fees::Legacy { gas_price: 7 }.bumped(100), Some(Fees::Legacy { gas_price: 9 }));
        assert_eq!(Fees::Legacy { gas_price: 100 }.bumped(100), None);
        assert_eq!(Fees::Legacy { gas_price: u128::MAX }.bumped(u128::MAX), None, "no overflow");
    }
}
