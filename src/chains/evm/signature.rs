//! ECDSA (secp256k1) signatures as EOAs produce them, and signer recovery.
//!
//! Recovery is done directly (`Q = r⁻¹(sR − zG)`) instead of through k256's `recover_from_prehash`,
//! which verifies the signature again after recovering it; that extra verification doubles the cost
//! of the verify hot path and adds nothing when the caller compares the recovered address anyway.
//! `u1·G + u2·R` itself is variable-time (`recover_vartime`), about twice as fast as k256's
//! constant-time `lincomb`.

use super::recover_vartime::{invert_scalar_vartime, k256_lincomb, lincomb_vartime};
use alloy_primitives::{keccak256, Address, Bytes, B256};
use alloy_sol_types::SolValue;
use k256::elliptic_curve::ops::{Invert, Reduce};
use k256::elliptic_curve::point::DecompressPoint;
use k256::elliptic_curve::scalar::IsHigh;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::elliptic_curve::subtle::Choice;
use k256::elliptic_curve::PrimeField;
use k256::{AffinePoint, FieldBytes, Scalar};

/// An ERC-6492 wrapped signature ends with these 32 bytes.
pub const ERC6492_MAGIC_SUFFIX: [u8; 32] = [
    0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64,
    0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("an EOA signature is 65 bytes, got {0}")]
    Length(usize),
    #[error("recovery byte v must be 27, 28, 0 or 1, got {0}")]
    V(u8),
    #[error("s is in the upper half of the curve order (malleable); USDC rejects such signatures")]
    HighS,
    #[error("r or s is out of range")]
    OutOfRange,
    #[error("no public key recovers from this signature")]
    Unrecoverable,
    #[error("the ERC-6492 wrapper is not abi.encode(address factory, bytes factoryCalldata, bytes signature)")]
    Erc6492Wrapper,
}

/// A 65-byte `r ‖ s ‖ v` signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcdsaSignature {
    pub r: [u8; 32],
    pub s: [u8; 32],
    pub y_odd: bool,
}

impl EcdsaSignature {
    pub fn parse(bytes: &[u8]) -> Result<Self, SignatureError> {
        let array: &[u8; 65] = bytes.try_into().map_err(|_| SignatureError::Length(bytes.len()))?;
        let y_odd = match array[64] {
            0 | 27 => false,
            1 | 28 => true,
            v => return Err(SignatureError::V(v)),
        };
        let mut r = [0u8; 32];
        let mut s = [0u8; 32];
        r.copy_from_slice(&array[..32]);
        s.copy_from_slice(&array[32..64]);
        Ok(EcdsaSignature { r, s, y_odd })
    }

    /// `v` as contracts expect it (27 or 28).
    pub fn v(&self) -> u8 {
        27 + u8::from(self.y_odd)
    }

    /// Recovers the signing address of `prehash`, refusing high-s signatures.
    ///
    /// `r⁻¹` and `u1·G + u2·R` are computed in variable time ([`invert_scalar_vartime`],
    /// [`lincomb_vartime`]): signatures, digests and the recovered key are public.
    pub fn recover(&self, prehash: &B256) -> Result<Address, SignatureError> {
        self.recover_with(prehash, invert_scalar_vartime, lincomb_vartime)
    }

    /// [`recover`](Self::recover) through k256 alone (its `invert_vartime` and constant-time `lincomb`):
    /// the reference that the tests and the benchmarks compare the variable-time path with.
    pub fn recover_k256_lincomb(&self, prehash: &B256) -> Result<Address, SignatureError> {
        self.recover_with(prehash, |r| Invert::invert_vartime(r).into(), k256_lincomb)
    }

    fn recover_with(
        &self,
        prehash: &B256,
        invert: fn(&Scalar) -> Option<Scalar>,
        lincomb: fn(&Scalar, &AffinePoint, &Scalar) -> Option<AffinePoint>,
    ) -> Result<Address, SignatureError> {
        let r = nonzero_scalar(&self.r)?;
        let s = nonzero_scalar(&self.s)?;
        if bool::from(s.is_high()) {
            return Err(SignatureError::HighS);
        }
        let big_r: Option<AffinePoint> =
            AffinePoint::decompress(&FieldBytes::from(self.r), Choice::from(u8::from(self.y_odd))).into();
        let big_r = big_r.ok_or(SignatureError::Unrecoverable)?;
        let z = <Scalar as Reduce<k256::U256>>::reduce_bytes(&FieldBytes::from(prehash.0));
        // Variable time is fine: signatures are public.
        let r_inv = invert(&r).ok_or(SignatureError::OutOfRange)?;
        let u1 = -(r_inv * z);
        let u2 = r_inv * s;
        // `None`: Q is the point at infinity.
        let q = lincomb(&u1, &big_r, &u2).ok_or(SignatureError::Unrecoverable)?;
        Ok(address_of(&q))
    }
}

fn nonzero_scalar(bytes: &[u8; 32]) -> Result<Scalar, SignatureError> {
    let scalar: Option<Scalar> = Scalar::from_repr(FieldBytes::from(*bytes)).into();
    scalar.filter(|s| !bool::from(s.is_zero())).ok_or(SignatureError::OutOfRange)
}

/// The Ethereum address of a public key: the last 20 bytes of keccak256 of its uncompressed form.
pub fn address_of(point: &AffinePoint) -> Address {
    let encoded = point.to_encoded_point(false);
    let hash = keccak256(&encoded.as_bytes()[1..]);
    Address::from_slice(&hash[12..])
}

/// Whether a signature carries the ERC-6492 wrapper of a counterfactual smart wallet.
pub fn is_erc6492(signature: &[u8]) -> bool {
    signature.len() > 32 && signature[signature.len() - 32..] == ERC6492_MAGIC_SUFFIX
}

/// An ERC-6492 signature: `abi.encode(factory, factoryCalldata, signature) ‖ magic suffix`. Calling
/// `factory` with `factory_calldata` deploys the wallet, which then accepts `signature` (ERC-1271).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erc6492Signature {
    pub factory: Address,
    pub factory_calldata: Bytes,
    pub signature: Bytes,
}

impl Erc6492Signature {
    /// Unwraps a signature for which [`is_erc6492`] holds.
    pub fn parse(wrapped: &[u8]) -> Result<Self, SignatureError> {
        let body = wrapped.strip_suffix(&ERC6492_MAGIC_SUFFIX).ok_or(SignatureError::Erc6492Wrapper)?;
        let (factory, factory_calldata, signature) =
            <(Address, Bytes, Bytes)>::abi_decode_params(body).map_err(|_| SignatureError::Erc6492Wrapper)?;
        Ok(Erc6492Signature { factory, factory_calldata, signature })
    }

    /// The wrapped form, as a counterfactual wallet's owner sends it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = (self.factory, self.factory_calldata.clone(), self.signature.clone()).abi_encode_params();
        out.extend_from_slice(&ERC6492_MAGIC_SUFFIX);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_erc6492_signature_round_trips_and_garbage_is_refused() {
        let wrapped = Erc6492Signature {
            factory: Address::repeat_byte(0x11),
            factory_calldata: vec![1, 2, 3].into(),
            signature: vec![7; 65].into(),
        };
        let bytes = wrapped.encode();
        assert!(is_erc6492(&bytes));
        assert_eq!(Erc6492Signature::parse(&bytes), Ok(wrapped));
        let mut garbage = vec![0xff; 40];
        garbage.extend_from_slice(&ERC6492_MAGIC_SUFFIX);
        assert_eq!(Erc6492Signature::parse(&garbage), Err(SignatureError::Erc6492Wrapper));
        assert_eq!(Erc6492Signature::parse(&[1, 2]), Err(SignatureError::Erc6492Wrapper));
    }
}
