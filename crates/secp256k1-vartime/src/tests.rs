use super::*;
use k256::elliptic_curve::point::DecompressPoint;
use k256::elliptic_curve::subtle::Choice;
use proptest::prelude::*;
use std::cell::Cell;

// How often, on this thread, an addition of the ladder met a doubling or the point at infinity.
thread_local! {
    static DOUBLINGS: Cell<usize> = const { Cell::new(0) };
    static INFINITIES: Cell<usize> = const { Cell::new(0) };
}

pub(super) fn note_doubling() {
    DOUBLINGS.with(|c| c.set(c.get() + 1));
}

pub(super) fn note_infinity() {
    INFINITIES.with(|c| c.set(c.get() + 1));
}

fn events() -> (usize, usize) {
    (DOUBLINGS.with(Cell::get), INFINITIES.with(Cell::get))
}

const N: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

fn scalar_hex(hex: &str) -> Scalar {
    <Scalar as Reduce<U256>>::reduce(U256::from_be_hex(&format!("{hex:0>64}")))
}

fn scalar_bytes(bytes: [u8; 32]) -> Scalar {
    <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(bytes))
}

fn lambda() -> Scalar {
    -tables().minus_lambda
}

fn mul_g(k: &Scalar) -> AffinePoint {
    (ProjectivePoint::GENERATOR * k).to_affine()
}

fn fe_eq(a: &FieldElement, b: &FieldElement) -> bool {
    bool::from((a.normalize_weak() + b.normalize_weak().negate(1)).normalizes_to_zero())
}

fn affine_eq(a: &Affine, b: &AffinePoint) -> bool {
    let b = Affine::from_k256(b).expect("a finite point");
    fe_eq(&a.x, &b.x) && fe_eq(&a.y, &b.y)
}

/// The real affine point of an entry of a table on the isomorphic curve of scale `z`.
fn real(p: &Affine, z: &FieldElement) -> Affine {
    let z_inv = z.invert().unwrap();
    let z_inv2 = z_inv.square();
    Affine { x: (p.x * z_inv2).normalize(), y: (p.y * (z_inv2 * z_inv)).normalize() }
}

/// Some scalars that stress the decomposition: 0, 1, n − 1, n/2, ±λ, the lattice basis, powers of two,
/// and k where k·g1 or k·g2 falls next to a rounding boundary of 2^384 (computed offline).
fn edge_scalars() -> Vec<Scalar> {
    let mut out = vec![Scalar::ZERO, Scalar::ONE, Scalar::from(2u64), -Scalar::ONE, -Scalar::from(2u64)];
    out.push(scalar_hex("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0")); // (n − 1)/2
    out.push(scalar_hex("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1")); // (n + 1)/2
    out.push(lambda());
    out.push(-lambda());
    out.push(lambda() * lambda());
    for hex in [
        "000000000000000000000000000000003086d221a7d46bcde86c90e49284eb15", // a1 = b2
        "00000000000000000000000000000000e4437ed6010e88286f547fa90abfe4c3", // −b1
        "0000000000000000000000000000000114ca50f7a8e2f3f657c1108d9d44cfd8", // a2
        "00000000000000000000000000000000ffffffffffffffffffffffffffffffff",
        "0000000000000000000000000000000100000000000000000000000000000000",
        "8000000000000000000000000000000000000000000000000000000000000000",
        "00000000000000000000000000000007e9c612bcbbf1548950991bfc5ab85d95",
        "00000000000000000000000000000007e9c612bcbbf1548950991bfc5ab85d96",
        "00000000000000000000000000000007e9c612bcbbf1548950991bfc5ab85d97",
        "0000000000000000546840c7dd2a0e33069dbcbec26d756964c77a35e0c184ba",
        "0000000000000000546840c7dd2a0e33069dbcbec26d756964c77a35e0c184bb",
        "0000000000000000546840c7dd2a0e33069dbcbec26d756964c77a35e0c184bc",
        "000000546840c7dd2a0e30635bb67fdbc045ec88d316a89af4433da1139bb50b",
        "000000546840c7dd2a0e30635bb67fdbc045ec88d316a89af4433da1139bb50c",
        "000000546840c7dd2a0e30635bb67fdbc045ec88d316a89af4433da1139bb50d",
        "e1160214f87025d65e49e6aa42f80a65395963d34728e8edfd27f83aac902e4c",
        "e1160214f87025d65e49e6aa42f80a65395963d34728e8edfd27f83aac902e4d",
        "e1160214f87025d65e49e6aa42f80a65395963d34728e8edfd27f83aac902e4e",
        "fffffffffffffffffffffffffffffffc176cd6a7c5f82eb8a4f4aa8e074e220d",
        "fffffffffffffffffffffffffffffffc176cd6a7c5f82eb8a4f4aa8e074e220e",
        "fffffffffffffffffffffffffffffffc176cd6a7c5f82eb8a4f4aa8e074e220f",
        "00000000000000000000000000000001aea8ee807941be4ec697fcd902e891e0",
        "00000000000000000000000000000001aea8ee807941be4ec697fcd902e891e1",
        "00000000000000000000000000000001aea8ee807941be4ec697fcd902e891e2",
        "000000000000000011f1b49aafb812992d294f5e888a4583a79896cbf6b3aab7",
        "000000000000000011f1b49aafb812992d294f5e888a4583a79896cbf6b3aab8",
        "000000000000000011f1b49aafb812992d294f5e888a4583a79896cbf6b3aab9",
        "00000011f1b49aafb812989d9baa890b593e6390390318655302176a99f9ddff",
        "00000011f1b49aafb812989d9baa890b593e6390390318655302176a99f9de00",
        "00000011f1b49aafb812989d9baa890b593e6390390318655302176a99f9de01",
        "2fd9e19c7f403196f99f1c181cc481fc6cc42517d72585c6b7155a27ff06f4a0",
        "2fd9e19c7f403196f99f1c181cc481fc6cc42517d72585c6b7155a27ff06f4a1",
        "2fd9e19c7f403196f99f1c181cc481fc6cc42517d72585c6b7155a27ff06f4a2",
        "fffffffffffffffffffffffffffffffd0c05ee663606e1ecf93a61b3cd4daf5e",
        "fffffffffffffffffffffffffffffffd0c05ee663606e1ecf93a61b3cd4daf5f",
        "fffffffffffffffffffffffffffffffd0c05ee663606e1ecf93a61b3cd4daf60",
    ] {
        out.push(scalar_hex(hex));
    }
    out
}

#[test]
fn the_constants_are_k256s() {
    let t = tables();
    assert!(t.valid);
    let g = Affine::from_k256(&AffinePoint::GENERATOR).unwrap();
    assert!(fe_eq(&constant_fe(GENERATOR_X), &g.x) && fe_eq(&constant_fe(GENERATOR_Y), &g.y));
    // λ is a non-trivial cube root of unity mod n, and λ·G = (β·Gx, Gy).
    let l = lambda();
    assert_ne!(l, Scalar::ONE);
    assert_eq!(l * l * l, Scalar::ONE);
    let lg = Affine::from_k256(&mul_g(&l)).unwrap();
    assert!(fe_eq(&lg.x, &(g.x * t.beta)) && fe_eq(&lg.y, &g.y));
    // The lattice basis: a1 + b1·λ = a2 + b2·λ = 0 (mod n).
    let a1 = scalar_hex("000000000000000000000000000000003086d221a7d46bcde86c90e49284eb15");
    let a2 = scalar_hex("0000000000000000000000000000000114ca50f7a8e2f3f657c1108d9d44cfd8");
    assert_eq!(a1 - t.minus_b1 * l, Scalar::ZERO);
    assert_eq!(a2 - t.minus_b2 * l, Scalar::ZERO);
    assert_eq!(scalar_hex(N), Scalar::ZERO);
}

#[test]
fn the_static_tables_are_the_odd_multiples_of_g_and_lambda_g() {
    let t = tables();
    let l = lambda();
    for i in 0..TABLE_G {
        let k = Scalar::from(2 * i as u64 + 1);
        assert!(affine_eq(&t.g[i], &mul_g(&k)), "{i}");
        assert!(affine_eq(&t.g_lambda[i], &mul_g(&(k * l))), "{i}");
    }
}

#[test]
fn the_per_call_table_shares_one_z() {
    for seed in [1u64, 2, 3, 7, 1 << 40, u64::MAX] {
        let k = Scalar::from(seed) * lambda() + Scalar::from(seed.wrapping_mul(0x9e3779b97f4a7c15));
        let r = mul_g(&k);
        let (table, z) = odd_multiples::<TABLE_R>(&Affine::from_k256(&r).unwrap()).unwrap();
        for (i, p) in table.iter().enumerate() {
            let expected = mul_g(&(k * Scalar::from(2 * i as u64 + 1)));
            assert!(affine_eq(&real(p, &z), &expected), "seed {seed}, entry {i}");
        }
    }
}

fn check_split(k: &Scalar) {
    let t = tables();
    let ((n1, k1), (n2, k2)) = split(k, t);
    assert!(k1[2] == 0 && k1[3] == 0 && k2[2] == 0 && k2[3] == 0, "halves of {k:?} are under 2^128");
    let signed = |negated: bool, limbs: [u64; 4]| {
        let bytes: [u8; 32] = core::array::from_fn(|i| (limbs[3 - i / 8] >> (8 * (7 - i % 8))) as u8);
        let s = scalar_bytes(bytes);
        if negated {
            -s
        } else {
            s
        }
    };
    assert_eq!(signed(n1, k1) + signed(n2, k2) * lambda(), *k);
}

#[test]
fn the_glv_split_is_exact_and_short_on_edge_scalars() {
    for k in edge_scalars() {
        check_split(&k);
    }
}

/// Σ dᵢ·2ⁱ exactly, in 320-bit two's complement.
fn naf_value(naf: &[i16; NAF_LEN]) -> [u64; 5] {
    let mut acc = [0u64; 5];
    for &d in naf.iter().rev() {
        // acc = 2·acc + d
        let mut carry = 0u64;
        for limb in acc.iter_mut() {
            let next = *limb >> 63;
            *limb = (*limb << 1) | carry;
            carry = next;
        }
        let add = d as i64 as u64;
        let ext = if d < 0 { u64::MAX } else { 0 };
        let mut c = 0u128;
        for (j, limb) in acc.iter_mut().enumerate() {
            let term = if j == 0 { add } else { ext };
            let s = u128::from(*limb) + u128::from(term) + c;
            *limb = s as u64;
            c = s >> 64;
        }
    }
    acc
}

fn check_wnaf(k: &[u64; 4], w: usize) {
    let mut naf = [0i16; NAF_LEN];
    let len = wnaf(k, w, &mut naf);
    let value = naf_value(&naf);
    assert_eq!(&value[..4], &k[..], "w = {w}");
    assert_eq!(value[4], 0);
    let mut last: Option<usize> = None;
    for (i, &d) in naf.iter().enumerate() {
        if d != 0 {
            assert!(d % 2 != 0 && d.unsigned_abs() < (1 << (w - 1)), "digit {d} at {i}");
            if let Some(l) = last {
                assert!(i - l >= w, "non-zero digits at {l} and {i}");
            }
            last = Some(i);
        }
    }
    assert_eq!(len, last.map_or(0, |l| l + 1));
}

#[test]
fn the_wnaf_is_exact_on_edge_values() {
    let edges = [
        [0, 0, 0, 0],
        [1, 0, 0, 0],
        [u64::MAX; 4],
        [0, 0, 0, 1 << 63],
        [u64::MAX, u64::MAX, 0, 0],
        [0, 0, 1, 0],
        [0xaaaa_aaaa_aaaa_aaaa; 4],
        [0x5555_5555_5555_5555; 4],
        [0x7f, 0, 0, 0],
        [0xff, 0, 0, 0],
        [0x0fff_ffff_ffff_ffff, u64::MAX, u64::MAX, u64::MAX],
    ];
    for k in edges {
        for w in [2, 4, 5, 8] {
            check_wnaf(&k, w);
        }
    }
}

fn check_lincomb(u1: &Scalar, r: &AffinePoint, u2: &Scalar) {
    let expected = k256_lincomb(u1, r, u2);
    let got = lincomb_vartime_inner(u1, r, u2).expect("the variable-time path answers");
    assert_eq!(got, expected, "u1 {u1:?} u2 {u2:?} R {r:?}");
    assert_eq!(lincomb_vartime(u1, r, u2), expected);
}

#[test]
fn the_lincomb_matches_k256_on_edge_scalars() {
    let points = [AffinePoint::GENERATOR, mul_g(&lambda()), mul_g(&scalar_hex("1234567890abcdef"))];
    let edges = edge_scalars();
    for r in &points {
        for (i, u1) in edges.iter().enumerate() {
            check_lincomb(u1, r, &edges[(i * 7 + 3) % edges.len()]);
            check_lincomb(&Scalar::ZERO, r, u1);
            check_lincomb(u1, r, &Scalar::ONE);
        }
    }
}

#[test]
fn u1_zero_is_u2_times_r() {
    let r = mul_g(&Scalar::from(0xdead_beefu64));
    for u2 in edge_scalars() {
        check_lincomb(&Scalar::ZERO, &r, &u2);
    }
}

#[test]
fn cancellation_gives_infinity() {
    // u1·G = −u2·R with R = k·G: u1 = −u2·k.
    for (k, u2) in
        [(Scalar::from(5u64), Scalar::from(3u64)), (lambda(), -Scalar::ONE), (scalar_hex("abcdef"), lambda())]
    {
        let r = mul_g(&k);
        let u1 = -(u2 * k);
        assert_eq!(lincomb_vartime_inner(&u1, &r, &u2), Some(None));
        assert_eq!(lincomb_vartime(&u1, &r, &u2), None);
        assert_eq!(k256_lincomb(&u1, &r, &u2), None);
    }
}

#[test]
fn additions_that_meet_a_doubling_or_infinity_in_the_ladder() {
    // R = G and u1 = u2: each digit of the R half is added, then the same multiple of G: a doubling.
    let before = events();
    for u in edge_scalars().iter().chain([scalar_hex("f00d"), scalar_hex("1234567890abcdef1234567890abcdef")].iter()) {
        check_lincomb(u, &AffinePoint::GENERATOR, u);
    }
    let after = events();
    assert!(after.0 > before.0, "no doubling met");
    // R = −G and u1 = u2: the G digit cancels the R digit each time: infinity, for a result of infinity.
    let minus_g = mul_g(&-Scalar::ONE);
    for u in [scalar_hex("f00d"), scalar_hex("1234567890abcdef1234567890abcdef"), lambda(), -Scalar::from(3u64)] {
        check_lincomb(&u, &minus_g, &u);
        assert_eq!(lincomb_vartime_inner(&u, &minus_g, &u), Some(None));
    }
    // R = λG and u1 = λ·u2 (the λR half meets the λ²G… and the plain halves cross).
    let lg = mul_g(&lambda());
    for u in [scalar_hex("f00d"), scalar_hex("1234567890abcdef1234567890abcdef"), -Scalar::from(3u64)] {
        check_lincomb(&(u * lambda()), &lg, &u);
        check_lincomb(&-(u * lambda()), &lg, &u);
    }
    assert!(events().1 > after.1, "no infinity met");
}

#[test]
fn r_with_x_near_p() {
    // x = p − 3, p − 4, p − 10 (above n) are on the curve; and r = n − 2 … n − 4 (the largest r's).
    for hex in [
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2c",
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2b",
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc25",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd036413f",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd036413e",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd036413d",
    ] {
        let x = FieldBytes::from(hex32(hex));
        for odd in [0u8, 1] {
            let r: Option<AffinePoint> = AffinePoint::decompress(&x, Choice::from(odd)).into();
            let r = r.expect("on the curve");
            for u in edge_scalars().iter().step_by(5) {
                check_lincomb(u, &r, &-*u);
                check_lincomb(&Scalar::from(7u64), &r, u);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_glv_split_is_exact_and_short(bytes in any::<[u8; 32]>()) {
        check_split(&scalar_bytes(bytes));
    }

    #[test]
    fn the_wnaf_is_exact(k in any::<[u64; 4]>(), w in 2usize..=9) {
        check_wnaf(&k, w);
    }

    #[test]
    fn the_lincomb_matches_k256(u1 in any::<[u8; 32]>(), u2 in any::<[u8; 32]>(), k in any::<[u8; 32]>()) {
        let k = scalar_bytes(k);
        prop_assume!(!bool::from(k.is_zero()));
        check_lincomb(&scalar_bytes(u1), &mul_g(&k), &scalar_bytes(u2));
    }

    #[test]
    fn the_lincomb_matches_k256_on_random_field_points(x in any::<[u8; 32]>(), odd in any::<bool>(), u1 in any::<[u8; 32]>(), u2 in any::<[u8; 32]>()) {
        let r: Option<AffinePoint> = AffinePoint::decompress(&FieldBytes::from(x), Choice::from(u8::from(odd))).into();
        prop_assume!(r.is_some());
        check_lincomb(&scalar_bytes(u1), &r.unwrap(), &scalar_bytes(u2));
    }
}

fn check_inversions(bytes: [u8; 32]) {
    let k = scalar_bytes(bytes);
    let expected: Option<Scalar> = k.invert().into();
    assert_eq!(invert_scalar_vartime(&k), expected, "{k:?}");
    let x: Option<FieldElement> = FieldElement::from_bytes(&FieldBytes::from(bytes)).into();
    if let Some(x) = x {
        let expected: Option<FieldElement> = x.invert().into();
        let got = invert_field_vartime(&x);
        assert_eq!(got.is_some(), expected.is_some());
        if let (Some(got), Some(expected)) = (got, expected) {
            assert!(fe_eq(&got, &expected), "{x:?}");
        }
    }
}

#[test]
fn the_safegcd_inversions_match_k256_on_edge_values() {
    let mut edges = vec![
        [0u8; 32],
        [0xff; 32],
        hex32(N),
        hex32("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"),
    ];
    for small in [1u64, 2, 3, 0x3fff_ffff, 0x4000_0000, u64::MAX] {
        let mut b = [0u8; 32];
        b[24..].copy_from_slice(&small.to_be_bytes());
        edges.push(b);
    }
    // n − 1, n − 2, p − 1, p − 2, 2^255, 2^128, 2^128 − 1.
    edges.push(hex32("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140"));
    edges.push(hex32("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd036413f"));
    edges.push(hex32("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2e"));
    edges.push(hex32("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2d"));
    edges.push(hex32("8000000000000000000000000000000000000000000000000000000000000000"));
    edges.push(hex32("0000000000000000000000000000000100000000000000000000000000000000"));
    edges.push(hex32("00000000000000000000000000000000ffffffffffffffffffffffffffffffff"));
    for b in edges {
        check_inversions(b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_safegcd_inversions_match_k256(bytes in any::<[u8; 32]>()) {
        check_inversions(bytes);
    }
}

#[test]
fn r_at_infinity_is_no_answer() {
    let u = scalar_hex("1234");
    assert_eq!(lincomb_vartime_inner(&u, &AffinePoint::IDENTITY, &u), None);
    assert_eq!(lincomb_vartime(&u, &AffinePoint::IDENTITY, &u), None);
}
