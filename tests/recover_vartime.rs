//! Property tests of signer recovery: the variable-time path (`EcdsaSignature::recover`) against k256's
//! `VerifyingKey::recover_from_prehash` and against the constant-time k256 path it replaced
//! (`recover_k256_lincomb`), on signatures of random keys (both recovery ids) and on garbage.

use alloy_primitives::{Address, B256};
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use proptest::prelude::*;
use serde_json::Value;
use x402_edge::chains::evm::signature::{address_of, EcdsaSignature, SignatureError};

const N: [u8; 32] = hex32("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
const HALF_N: [u8; 32] = hex32("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0");

const fn hex32(hex: &str) -> [u8; 32] {
    let h = hex.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 64 {
        let c = h[i];
        let v = if c <= b'9' { c - b'0' } else { c - b'a' + 10 };
        out[i / 2] |= v << (4 * (1 - i % 2));
        i += 1;
    }
    out
}

fn sig(r: [u8; 32], s: [u8; 32], y_odd: bool) -> EcdsaSignature {
    EcdsaSignature { r, s, y_odd }
}

/// k256's own recovery (it verifies the signature against the recovered key), as an address.
fn k256_recover(signature: &EcdsaSignature, digest: &B256) -> Option<Address> {
    let s = Signature::from_scalars(signature.r, signature.s).ok()?;
    let key =
        VerifyingKey::recover_from_prehash(digest.as_slice(), &s, RecoveryId::new(signature.y_odd, false)).ok()?;
    Some(address_of(key.as_affine()))
}

/// The variable-time path answers exactly as the constant-time one, and agrees with k256's recovery.
fn check(signature: &EcdsaSignature, digest: &B256) -> Result<Address, SignatureError> {
    let got = signature.recover(digest);
    assert_eq!(got, signature.recover_k256_lincomb(digest), "{signature:?} over {digest}");
    match got {
        Ok(address) => assert_eq!(Some(address), k256_recover(signature, digest), "{signature:?} over {digest}"),
        // High s is refused by this crate only (k256 accepts it); anything else k256 refuses too.
        Err(SignatureError::HighS) => {}
        Err(_) => assert_eq!(k256_recover(signature, digest), None, "{signature:?} over {digest}"),
    }
    got
}

fn signed(key: &SigningKey, digest: &B256) -> EcdsaSignature {
    let (signature, id) = key.sign_prehash_recoverable(digest.as_slice()).unwrap();
    let (signature, id) = match signature.normalize_s() {
        Some(low) => (low, RecoveryId::new(!id.is_y_odd(), id.is_x_reduced())),
        None => (signature, id),
    };
    assert!(!id.is_x_reduced(), "r ≥ n happens with probability ~2^-128");
    let bytes = signature.to_bytes();
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    r.copy_from_slice(&bytes[..32]);
    s.copy_from_slice(&bytes[32..]);
    sig(r, s, id.is_y_odd())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Random keys and digests: the signer is recovered; with the other recovery id, another key is,
    /// the same one as k256's.
    #[test]
    fn a_signature_recovers_its_signer(key in any::<[u8; 32]>(), digest in any::<[u8; 32]>()) {
        let Ok(key) = SigningKey::from_bytes(&key.into()) else { return Ok(()) };
        let digest = B256::from(digest);
        let signature = signed(&key, &digest);
        let signer = address_of(key.verifying_key().as_affine());
        prop_assert_eq!(check(&signature, &digest), Ok(signer));
        let flipped = EcdsaSignature { y_odd: !signature.y_odd, ..signature };
        let other = check(&flipped, &digest);
        prop_assert!(other.is_ok() && other != Ok(signer));
    }

    /// Garbage r, s and v never panic and are refused or recovered exactly as k256 does.
    #[test]
    fn garbage_is_refused_or_recovered_as_k256_does(bytes in any::<[u8; 65]>(), digest in any::<[u8; 32]>(), low_s in any::<bool>()) {
        let mut bytes = bytes;
        if low_s {
            bytes[32] &= 0x7f;
        }
        if let Ok(signature) = EcdsaSignature::parse(&bytes) {
            let _ = check(&signature, &B256::from(digest));
        }
        let mut v = bytes;
        v[64] = 27 + (bytes[64] & 1);
        let _ = check(&EcdsaSignature::parse(&v).unwrap(), &B256::from(digest));
    }

    /// Structured garbage: r and s drawn near 0, near n/2 and near n, digests near 0 and n.
    #[test]
    fn edge_values_are_refused_or_recovered_as_k256_does(
        r in edge_bytes(), s in edge_bytes(), z in edge_bytes(), y_odd in any::<bool>()
    ) {
        let _ = check(&sig(r, s, y_odd), &B256::from(z));
    }
}

fn edge_bytes() -> impl Strategy<Value = [u8; 32]> {
    let near = |base: [u8; 32]| {
        (0u64..64, any::<bool>()).prop_map(move |(d, up)| {
            let mut out = base;
            // base ± d, big-endian
            let mut carry = d;
            for byte in out.iter_mut().rev() {
                let (v, c) = if up {
                    let t = u64::from(*byte) + (carry & 0xff);
                    (t as u8, (carry >> 8) + (t >> 8))
                } else {
                    let t = i64::from(*byte) - (carry & 0xff) as i64;
                    (t.rem_euclid(256) as u8, (carry >> 8) + u64::from(t < 0))
                };
                *byte = v;
                carry = c;
            }
            out
        })
    };
    prop_oneof![near([0; 32]), near(N), near(HALF_N), near([0xff; 32]), any::<[u8; 32]>()]
}

#[test]
fn edge_signatures() {
    let key = SigningKey::from_bytes(&hex32("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80").into())
        .unwrap();
    let digest = B256::repeat_byte(0x42);
    let good = signed(&key, &digest);
    let one = hex32("0000000000000000000000000000000000000000000000000000000000000001");
    let n_minus_1 = hex32("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140");
    let half_plus_1 = hex32("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1");
    // r or s zero or ≥ n: out of range; s > n/2: high.
    for (r, s) in
        [([0; 32], good.s), (good.r, [0; 32]), (N, good.s), (good.r, N), ([0xff; 32], good.s), (good.r, [0xff; 32])]
    {
        assert_eq!(check(&sig(r, s, false), &digest), Err(SignatureError::OutOfRange));
    }
    assert_eq!(check(&sig(good.r, n_minus_1, false), &digest), Err(SignatureError::HighS));
    assert_eq!(check(&sig(good.r, half_plus_1, true), &digest), Err(SignatureError::HighS));
    // The largest low s, s = 1; r = 1 and s = 1, whatever k256 says of it.
    assert!(check(&sig(good.r, HALF_N, false), &digest).is_ok());
    assert!(check(&sig(good.r, one, true), &digest).is_ok());
    let _ = check(&sig(one, one, false), &digest);
    // r = n − 1 … n − 4: the largest x that are r values; some are on the curve.
    let mut on_curve = 0;
    for d in 1..=4u8 {
        let mut r = N;
        r[31] -= d;
        for y_odd in [false, true] {
            on_curve += usize::from(check(&sig(r, good.s, y_odd), &digest).is_ok());
        }
    }
    assert!(on_curve > 0);
    // z = 0 and z = n (u1 = 0: Q = r⁻¹·s·R), z = 2^256 − 1 (reduced mod n).
    for z in [[0u8; 32], N, [0xff; 32]] {
        assert!(check(&sig(good.r, good.s, good.y_odd), &B256::from(z)).is_ok());
    }
    // Q at infinity: u1·G = −u2·R, i.e. z·G = s·R: R = k·G and z = s·k.
    let k = k256::Scalar::from(0xa7u64);
    let r_point = (k256::ProjectivePoint::GENERATOR * k).to_affine();
    use k256::elliptic_curve::sec1::ToEncodedPoint;
    let encoded = r_point.to_encoded_point(true);
    let r: [u8; 32] = (*encoded.x().unwrap()).into();
    let y_odd = encoded.as_bytes()[0] == 3;
    let s = k256::Scalar::from(5u64);
    let z = s * k;
    let unrecoverable = sig(r, s.to_bytes().into(), y_odd);
    assert_eq!(check(&unrecoverable, &B256::from(<[u8; 32]>::from(z.to_bytes()))), Err(SignatureError::Unrecoverable));
    // R not on the curve.
    let mut x = [0u8; 32];
    x[31] = 5; // 5³ + 7 = 132 is not a square mod p
    assert_eq!(check(&sig(x, one, false), &digest), Err(SignatureError::Unrecoverable));
}

/// Every signature of the vector files: the expected signer, or (the spec example under other
/// domains) the recorded other address.
#[test]
fn the_vectors_recover_as_recorded() {
    let parse = |s: &str| EcdsaSignature::parse(&hex::decode(s.trim_start_matches("0x")).unwrap()).unwrap();
    let b256 = |s: &str| s.parse::<B256>().unwrap();
    let address = |s: &str| s.parse::<Address>().unwrap();

    let generated: Value = serde_json::from_str(include_str!("vectors/generated-evm-signatures.json")).unwrap();
    let owner = address(generated["address"].as_str().unwrap());
    let mut count = 0;
    for case in generated["eip3009"].as_array().unwrap() {
        let signature = parse(case["signature"].as_str().unwrap());
        assert_eq!(check(&signature, &b256(case["eip712Digest"].as_str().unwrap())), Ok(owner));
        assert_eq!(address(case["authorization"]["from"].as_str().unwrap()), owner);
        count += 1;
    }
    let permit = &generated["eip2612PermitForDaydreamsUpto"];
    let signature = parse(permit["signature"].as_str().unwrap());
    assert_eq!(
        check(&signature, &b256(permit["eip712Digest"].as_str().unwrap())),
        Ok(address(permit["message"]["owner"].as_str().unwrap()))
    );
    count += 1;

    let spec: Value = serde_json::from_str(include_str!("vectors/exact-evm-eip3009-spec-example.json")).unwrap();
    let signature = parse(spec["signature"].as_str().unwrap());
    for case in spec["domainCases"].as_array().unwrap() {
        let recovered = check(&signature, &b256(case["eip712Digest"].as_str().unwrap()));
        assert_eq!(recovered, Ok(address(case["recovered"].as_str().unwrap())));
        count += 1;
    }
    assert!(count >= 7, "{count} vectors");
}
