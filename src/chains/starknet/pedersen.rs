//! The Starkware Pedersen hash, computed on the curve from its five points instead of through
//! starknet-crypto's lookup tables: those tables were about 0.4 MB of the Worker's wasm, and only
//! SNIP-12 revision 0 hashes with Pedersen, so speed matters less here than size.

use starknet_curve::curve_params::{PEDERSEN_P0, PEDERSEN_P1, PEDERSEN_P2, PEDERSEN_P3, SHIFT_POINT};
use starknet_types_core::curve::{AffinePoint, ProjectivePoint};

use super::felt::Felt;

/// `H(a, b) = [SHIFT + a_low·P0 + a_high·P1 + b_low·P2 + b_high·P3].x`, with `x_low` the low 248 bits
/// of `x` and `x_high` its top 4.
pub fn pedersen_hash(a: &Felt, b: &Felt) -> Felt {
    let sum = projective(&SHIFT_POINT) + term(a, &PEDERSEN_P0, &PEDERSEN_P1) + term(b, &PEDERSEN_P2, &PEDERSEN_P3);
    // The sum is never the point at infinity for field elements (the points' discrete logs are unknown).
    sum.to_affine().map(|p| p.x()).unwrap_or(Felt::ZERO)
}

/// Pedersen over the elements, then their count: `H(…H(H(0, e₀), e₁)…, n)`, SNIP-12 revision 0's array hash.
pub fn pedersen_array(elements: &[Felt]) -> Felt {
    let folded = elements.iter().fold(Felt::ZERO, |acc, e| pedersen_hash(&acc, e));
    pedersen_hash(&folded, &Felt::from(elements.len()))
}

fn term(x: &Felt, low_point: &AffinePoint, high_point: &AffinePoint) -> ProjectivePoint {
    let mut bytes = x.to_bytes_be();
    // A felt is below 2^252: the first byte holds bits 248 to 251.
    let high = Felt::from(bytes[0]);
    bytes[0] = 0;
    let low = Felt::from_bytes_be(&bytes);
    &projective(low_point) * low + &projective(high_point) * high
}

fn projective(point: &AffinePoint) -> ProjectivePoint {
    ProjectivePoint::from_affine_unchecked(point.x(), point.y())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_starknet_crypto_with_its_tables() {
        let p = Felt::from_hex_unchecked("0x800000000000011000000000000000000000000000000000000000000000000");
        let samples = [
            (Felt::ZERO, Felt::ZERO),
            (Felt::ONE, Felt::TWO),
            (p - Felt::ONE, p - Felt::ONE),
            (
                Felt::from_hex_unchecked("0x3d937c035c878245caf64531a5756109c53068da139362728feb561405371cb"),
                Felt::from_hex_unchecked("0x208a0a10250e382e1e4bbe2880906c2791bf6275695e02fbbc6aeff9cd8b31a"),
            ),
            (
                Felt::from_hex_unchecked("0xff00000000000000000000000000000000000000000000000000000000000f"),
                Felt::from(12345u64),
            ),
        ];
        for (a, b) in samples {
            assert_eq!(pedersen_hash(&a, &b), starknet_crypto::pedersen_hash(&a, &b), "{a:#x}, {b:#x}");
        }
        let elements: Vec<Felt> = (0u64..5).map(|i| Felt::from(i * 7919)).collect();
        let mut hasher = starknet_crypto::PedersenHasher::new();
        elements.iter().for_each(|e| hasher.update(*e));
        assert_eq!(pedersen_array(&elements), hasher.finalize());
        assert_eq!(pedersen_array(&[]), starknet_crypto::pedersen_hash(&Felt::ZERO, &Felt::ZERO));
    }
}
