//! 32-byte Solana public keys in their base58 text form, and the well-known program ids.

use std::fmt;
use std::str::FromStr;

/// A Solana account address: 32 bytes, written in base58.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pubkey(pub [u8; 32]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PubkeyError {
    #[error("not base58: {0}")]
    NotBase58(String),
    #[error("a public key is 32 bytes, this base58 text decodes to {0}")]
    WrongLength(usize),
    #[error("a public key is at most 44 base58 characters, this text has {0}")]
    TooLong(usize),
}

/// The longest base58 text of 32 bytes is 44 characters; anything longer is refused before decoding.
const MAX_BASE58_LEN: usize = 44;

impl Pubkey {
    pub const fn new(bytes: [u8; 32]) -> Self {
        Pubkey(bytes)
    }

    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses base58 text (what `FromStr` does).
    pub fn from_base58(text: &str) -> Result<Self, PubkeyError> {
        if text.len() > MAX_BASE58_LEN {
            return Err(PubkeyError::TooLong(text.len()));
        }
        let mut out = [0u8; 32];
        let written = bs58::decode(text).onto(&mut out[..]).map_err(|e| match e {
            bs58::decode::Error::BufferTooSmall => PubkeyError::WrongLength(33),
            other => PubkeyError::NotBase58(other.to_string()),
        })?;
        if written != 32 {
            return Err(PubkeyError::WrongLength(written));
        }
        Ok(Pubkey(out))
    }

    pub fn to_base58(&self) -> String {
        bs58::encode(self.0).into_string()
    }
}

impl FromStr for Pubkey {
    type Err = PubkeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Pubkey::from_base58(text)
    }
}

impl fmt::Display for Pubkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base58())
    }
}

impl fmt::Debug for Pubkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pubkey({self})")
    }
}

impl From<[u8; 32]> for Pubkey {
    fn from(bytes: [u8; 32]) -> Self {
        Pubkey(bytes)
    }
}

/// Decodes a base58 constant at compile time (panics only on a bad literal, which fails the build).
const fn from_base58_const(text: &str) -> Pubkey {
    Pubkey(bs58::decode(text.as_bytes()).into_array_const_unwrap::<32>())
}

/// The well-known program ids.
pub mod programs {
    use super::{from_base58_const, Pubkey};

    pub const SYSTEM: Pubkey = from_base58_const("11111111111111111111111111111111");
    pub const TOKEN: Pubkey = from_base58_const("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
    pub const TOKEN_2022: Pubkey = from_base58_const("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
    pub const ASSOCIATED_TOKEN: Pubkey = from_base58_const("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
    pub const COMPUTE_BUDGET: Pubkey = from_base58_const("ComputeBudget111111111111111111111111111111");
    pub const MEMO: Pubkey = from_base58_const("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
    pub const LIGHTHOUSE: Pubkey = from_base58_const("L2TExMFKdjpN9kozasaurPirfHy9P8sbXoAN1qA3S95");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_ids_round_trip_through_text() {
        for (text, key) in [
            ("11111111111111111111111111111111", programs::SYSTEM),
            ("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", programs::TOKEN),
            ("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb", programs::TOKEN_2022),
            ("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL", programs::ASSOCIATED_TOKEN),
            ("ComputeBudget111111111111111111111111111111", programs::COMPUTE_BUDGET),
            ("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", programs::MEMO),
            ("L2TExMFKdjpN9kozasaurPirfHy9P8sbXoAN1qA3S95", programs::LIGHTHOUSE),
        ] {
            assert_eq!(text.parse::<Pubkey>().unwrap(), key);
            assert_eq!(key.to_string(), text);
        }
        assert_eq!(programs::SYSTEM.0, [0u8; 32]);
    }

    #[test]
    fn bad_text_is_a_typed_error() {
        assert!(matches!("0OIl".parse::<Pubkey>(), Err(PubkeyError::NotBase58(_))));
        assert!(matches!("abc".parse::<Pubkey>(), Err(PubkeyError::WrongLength(_))));
        assert!(matches!("".parse::<Pubkey>(), Err(PubkeyError::WrongLength(0))));
        let long = "z".repeat(44);
        assert!(matches!(long.parse::<Pubkey>(), Err(PubkeyError::WrongLength(_))));
        assert_eq!("1".repeat(45).parse::<Pubkey>(), Err(PubkeyError::TooLong(45)));
    }
}
