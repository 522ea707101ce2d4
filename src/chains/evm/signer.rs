//! A local secp256k1 key (from a Worker secret or an env var) as an [`EvmSigner`].

use alloy_primitives::{Address, Signature, B256};
use k256::ecdsa::SigningKey;

use super::signature::address_of;
use crate::ports::{EvmSigner, SignerError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a 32-byte hex secp256k1 private key")]
pub struct InvalidKey;

/// The signer of `signers` that settles the payment keyed `key`: spread by the key's hash, so each
/// signer (its Durable Object, its nonce sequence) carries a share of the load, and every settle of a
/// payment goes to the same one, which keeps the payment's ledger entry (see
/// [`crate::facilitator::home`]).
pub fn for_payment<'a, T>(signers: &'a [T], key: &str) -> Option<&'a T> {
    let hash = alloy_primitives::keccak256(key.as_bytes());
    let mut word = [0u8; 8];
    word.copy_from_slice(&hash[..8]);
    signers.get(u64::from_be_bytes(word) as usize % signers.len().max(1))
}

pub struct LocalEvmSigner {
    key: SigningKey,
    address: Address,
}

impl LocalEvmSigner {
    /// Parses `0x`-prefixed or bare hex. The error never echoes the input.
    pub fn from_hex(text: &str) -> Result<Self, InvalidKey> {
        let text = text.trim();
        let hex = text.strip_prefix("0x").unwrap_or(text);
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex, &mut bytes).map_err(|_| InvalidKey)?;
        let key = SigningKey::from_bytes(&bytes.into()).map_err(|_| InvalidKey)?;
        let address = address_of(key.verifying_key().as_affine());
        Ok(LocalEvmSigner { key, address })
    }
}

/// Shows the address only: a signer must never print its key.
impl std::fmt::Debug for LocalEvmSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalEvmSigner({})", self.address)
    }
}

impl EvmSigner for LocalEvmSigner {
    fn address(&self) -> Address {
        self.address
    }

    async fn sign_hash(&self, hash: &B256) -> Result<Signature, SignerError> {
        let (signature, recovery_id) =
            self.key.sign_prehash_recoverable(hash.as_slice()).map_err(|e| SignerError(e.to_string()))?;
        Ok(Signature::from_signature_and_parity(signature, recovery_id.is_y_odd()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANVIL_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    #[test]
    fn derives_the_anvil_address_and_hides_the_key() {
        let signer = LocalEvmSigner::from_hex(ANVIL_0).unwrap();
        assert_eq!(signer.address().to_checksum(None), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        assert!(!format!("{signer:?}").contains("ac0974"));
        assert!(LocalEvmSigner::from_hex("0x1234").is_err());
        assert!(LocalEvmSigner::from_hex(&"0".repeat(64)).is_err());
    }
}
