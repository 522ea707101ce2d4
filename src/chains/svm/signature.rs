//! ed25519 signatures over Solana message bytes: strict verification and signing with a 32-byte seed.

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use super::pubkey::Pubkey;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("{0} is not an ed25519 public key")]
    InvalidPublicKey(Pubkey),
    #[error("the signature of {0} does not verify over the message")]
    Invalid(Pubkey),
    #[error("{0} is not a required signer of the message")]
    NotASigner(Pubkey),
}

/// Why a secret key could not be read (never echoing it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not base58 or a JSON byte array")]
    Format,
    #[error("{0} bytes; a Solana secret key is 64 bytes (or a 32-byte seed)")]
    Length(usize),
    #[error("its public half does not match its seed")]
    PublicKeyMismatch,
}

/// Verifies `signature` by `key` over `message` with `verify_strict` (rejects small-order keys and
/// non-canonical signatures, unlike plain `verify`).
pub fn verify_signature(key: &Pubkey, message: &[u8], signature: &[u8; 64]) -> Result<(), SignatureError> {
    let verifying = VerifyingKey::from_bytes(&key.0).map_err(|_| SignatureError::InvalidPublicKey(*key))?;
    let signature = ed25519_dalek::Signature::from_bytes(signature);
    verifying.verify_strict(message, &signature).map_err(|_| SignatureError::Invalid(*key))
}

/// An ed25519 key pair from a 32-byte secret seed (the first half of a Solana CLI key file).
pub struct Keypair(SigningKey);

impl Keypair {
    pub fn from_seed(seed: &[u8; 32]) -> Keypair {
        Keypair(SigningKey::from_bytes(seed))
    }

    /// A secret key as Solana tools write it: base58 of the 64-byte keypair (seed then public key, as
    /// Phantom and `solana-keygen` export it), of the 32-byte seed alone, or the CLI key file's JSON
    /// byte array. A 64-byte form whose public half does not match its seed is refused. Errors never
    /// contain the key.
    pub fn from_secret(text: &str) -> Result<Keypair, KeyError> {
        let text = text.trim();
        let bytes = if text.starts_with('[') {
            serde_json::from_str::<Vec<u8>>(text).map_err(|_| KeyError::Format)?
        } else {
            bs58::decode(text).into_vec().map_err(|_| KeyError::Format)?
        };
        let seed: [u8; 32] = bytes.get(..32).and_then(|s| s.try_into().ok()).ok_or(KeyError::Length(bytes.len()))?;
        let keypair = Keypair::from_seed(&seed);
        match bytes.len() {
            32 => Ok(keypair),
            64 if bytes[32..] == keypair.pubkey().0 => Ok(keypair),
            64 => Err(KeyError::PublicKeyMismatch),
            n => Err(KeyError::Length(n)),
        }
    }

    pub fn pubkey(&self) -> Pubkey {
        Pubkey(self.0.verifying_key().to_bytes())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({})", self.pubkey())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_1_key_and_signature() {
        // RFC 8032 §7.1, TEST 1 (empty message).
        let seed: [u8; 32] = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap()
            .try_into()
            .unwrap();
        let keypair = Keypair::from_seed(&seed);
        assert_eq!(hex::encode(keypair.pubkey().0), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let signature = keypair.sign(b"");
        assert_eq!(
            hex::encode(signature),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert_eq!(verify_signature(&keypair.pubkey(), b"", &signature), Ok(()));
        assert_eq!(
            verify_signature(&keypair.pubkey(), b"x", &signature),
            Err(SignatureError::Invalid(keypair.pubkey()))
        );
    }

    #[test]
    fn a_non_point_public_key_is_refused() {
        // The first small y that is not the y of a curve point.
        let key = (0u8..=255)
            .map(|y| {
                let mut bytes = [0u8; 32];
                bytes[0] = y;
                Pubkey(bytes)
            })
            .find(|k| curve25519_dalek::edwards::CompressedEdwardsY(k.0).decompress().is_none())
            .unwrap();
        assert_eq!(verify_signature(&key, b"m", &[0u8; 64]), Err(SignatureError::InvalidPublicKey(key)));
    }

    #[test]
    fn secret_keys_are_read_in_every_form_solana_tools_write() {
        let keypair = Keypair::from_seed(&[7u8; 32]);
        let mut full = vec![7u8; 32];
        full.extend(keypair.pubkey().0);
        let as_json = serde_json::to_string(&full).unwrap();
        for text in [bs58::encode(&full).into_string(), bs58::encode([7u8; 32]).into_string(), as_json] {
            assert_eq!(Keypair::from_secret(&text).unwrap().pubkey(), keypair.pubkey(), "{text}");
        }
        full[40] ^= 1;
        assert_eq!(Keypair::from_secret(&bs58::encode(&full).into_string()).unwrap_err(), KeyError::PublicKeyMismatch);
        assert_eq!(Keypair::from_secret("0OIl").unwrap_err(), KeyError::Format);
        assert_eq!(Keypair::from_secret(&bs58::encode([1u8; 40]).into_string()).unwrap_err(), KeyError::Length(40));
        assert_eq!(Keypair::from_secret(&bs58::encode([1u8; 3]).into_string()).unwrap_err(), KeyError::Length(3));
        assert!(!format!("{:?}", Keypair::from_seed(&[9u8; 32])).contains("0909"));
    }
}
