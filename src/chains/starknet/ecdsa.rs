//! STARK-curve ECDSA: verification, public keys, and signing with RFC 6979 nonces.
//!
//! Verification is starknet-crypto's algorithm written out over starknet-types-core's points, because
//! starknet-crypto's `verify` unwraps the affine form of `z·w·G ± r·w·Q`, which panics when that sum
//! is the point at infinity, and a public key chosen for the message hash makes it so. Here such a
//! signature is simply invalid. Signing is starknet-crypto's (`rfc6979_generate_k`, `sign`), retried
//! with the next seed when a nonce gives an out-of-range signature, as starknet-rs does.

use starknet_crypto::{rfc6979_generate_k, SignError};
use starknet_types_core::curve::{AffinePoint, ProjectivePoint};
use starknet_types_core::felt::NonZeroFelt;
use zeroize::Zeroize;

use super::felt::{parse_felt, Felt};

/// The order of the curve's generator.
pub const EC_ORDER: Felt =
    Felt::from_hex_unchecked("0x0800000000000010ffffffffffffffffb781126dcae7b2321e66a241adc64d2f");

/// Hashes, `r`, `s` and `s⁻¹` must be below 2^251.
const ELEMENT_UPPER_BOUND: Felt = Felt::ELEMENT_UPPER_BOUND;

/// The curve is `y² = x³ + x + β`.
pub const BETA: Felt = Felt::from_hex_unchecked("0x06f21413efbe40de150e596d72f7a8c5609ad26c15c915c1f4cdfcb99cee9e89");

/// A nonce is out of range with probability about 2^-55; this many in a row does not happen.
const MAX_SIGNING_ATTEMPTS: u64 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EcdsaError {
    #[error("the public key is not the x coordinate of a curve point")]
    InvalidPublicKey,
    #[error("the hash is not below 2^251")]
    HashOutOfRange,
    #[error("r is zero or not below 2^251")]
    ROutOfRange,
    #[error("s (or its inverse) is zero or not below 2^251")]
    SOutOfRange,
    #[error("the signature does not verify")]
    Invalid,
    #[error("a private key is in [1, n), n the curve order")]
    InvalidPrivateKey,
    #[error("no RFC 6979 nonce gave a valid signature")]
    SigningFailed,
}

/// A STARK ECDSA signature (what an account's `is_valid_signature` takes as `[r, s]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    pub r: Felt,
    pub s: Felt,
}

/// Verifies `signature` of `hash` by `public_key` (the x coordinate of the key's point).
pub fn verify(public_key: &Felt, hash: &Felt, signature: &Signature) -> Result<(), EcdsaError> {
    let Signature { r, s } = signature;
    if *hash >= ELEMENT_UPPER_BOUND {
        return Err(EcdsaError::HashOutOfRange);
    }
    if *r == Felt::ZERO || *r >= ELEMENT_UPPER_BOUND {
        return Err(EcdsaError::ROutOfRange);
    }
    if *s == Felt::ZERO || *s >= ELEMENT_UPPER_BOUND {
        return Err(EcdsaError::SOutOfRange);
    }
    let key = public_key_point(public_key)?;
    let order = NonZeroFelt::from_felt_unchecked(EC_ORDER);
    let w = s.mod_inverse(&order).ok_or(EcdsaError::SOutOfRange)?;
    if w == Felt::ZERO || w >= ELEMENT_UPPER_BOUND {
        return Err(EcdsaError::SOutOfRange);
    }
    let zw_g = &generator() * hash.mul_mod(&w, &order);
    let rw_q = &key * r.mul_mod(&w, &order);
    let has_x_r = |point: ProjectivePoint| point.to_affine().is_ok_and(|p| p.x() == *r);
    match has_x_r(&zw_g + &rw_q) || has_x_r(&zw_g - &rw_q) {
        true => Ok(()),
        false => Err(EcdsaError::Invalid),
    }
}

/// The public key (x coordinate of `k·G`) of a private key `k` in `[1, n)`.
pub fn get_public_key(private_key: &Felt) -> Result<Felt, EcdsaError> {
    check_private_key(private_key)?;
    Ok(starknet_crypto::get_public_key(private_key))
}

/// A Stark private key: wiped from memory on drop, never printed.
pub struct StarkKey {
    secret: [u8; 32],
    public_key: Felt,
}

impl StarkKey {
    pub fn from_felt(secret: Felt) -> Result<StarkKey, EcdsaError> {
        let public_key = get_public_key(&secret)?;
        Ok(StarkKey { secret: secret.to_bytes_be(), public_key })
    }

    /// From `0x…` hex or decimal text (the form keys take in secrets).
    pub fn from_text(text: &str) -> Result<StarkKey, EcdsaError> {
        StarkKey::from_felt(parse_felt(text.trim()).map_err(|_| EcdsaError::InvalidPrivateKey)?)
    }

    pub fn public_key(&self) -> Felt {
        self.public_key
    }

    /// Signs `hash` with the RFC 6979 nonce, as starknet.js and starknet-rs do, so the signature is
    /// deterministic. The felt copies of the key made while signing live on the stack only.
    pub fn sign(&self, hash: &Felt) -> Result<Signature, EcdsaError> {
        if *hash >= ELEMENT_UPPER_BOUND {
            return Err(EcdsaError::HashOutOfRange);
        }
        let secret = Felt::from_bytes_be(&self.secret);
        for attempt in 0..MAX_SIGNING_ATTEMPTS {
            let seed = (attempt > 0).then(|| Felt::from(attempt));
            let k = rfc6979_generate_k(hash, &secret, seed.as_ref());
            match starknet_crypto::sign(&secret, hash, &k) {
                Ok(signature) => return Ok(Signature { r: signature.r, s: signature.s }),
                Err(SignError::InvalidK) => continue,
                Err(SignError::InvalidMessageHash) => return Err(EcdsaError::HashOutOfRange),
            }
        }
        Err(EcdsaError::SigningFailed)
    }
}

impl Drop for StarkKey {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl std::fmt::Debug for StarkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StarkKey(public key {:#x})", self.public_key)
    }
}

fn check_private_key(private_key: &Felt) -> Result<(), EcdsaError> {
    match *private_key == Felt::ZERO || *private_key >= EC_ORDER {
        true => Err(EcdsaError::InvalidPrivateKey),
        false => Ok(()),
    }
}

/// The point with x coordinate `public_key` (either of the two: verification tries `±`).
fn public_key_point(public_key: &Felt) -> Result<ProjectivePoint, EcdsaError> {
    let y = (public_key.square() * public_key + public_key + BETA).sqrt().ok_or(EcdsaError::InvalidPublicKey)?;
    ProjectivePoint::from_affine(*public_key, y).map_err(|_| EcdsaError::InvalidPublicKey)
}

fn generator() -> ProjectivePoint {
    let g = AffinePoint::generator();
    ProjectivePoint::from_affine_unchecked(g.x(), g.y())
}
