//! Variable-time `u1·G + u2·R` on secp256k1, for public-key recovery only.
//!
//! Everything here is public data (signatures, digests, the recovered key), so the algorithm may branch
//! on it; signing never comes here (it stays on k256's constant-time code). The field arithmetic is
//! k256's own `FieldElement` (the 10x26 backend in wasm32, 5x52 natively); this module only chooses
//! the curve algorithm, in the style of libsecp256k1's `ecmult`:
//!
//! - both scalars are split with the GLV endomorphism (`k = k1 + k2·λ`, `|k1|, |k2| < 2^128`, and
//!   `λ·(x, y) = (β·x, y)`), so the four half-size multiplications share one chain of ~128 doublings;
//! - each half is written in width-w NAF (odd digits, at most one non-zero digit in w + 1 positions);
//! - R's odd multiples `R, 3R, …, 15R` (w = 5) are computed per call with no inversion: they share one
//!   Jacobian Z, so they are affine points of an isomorphic curve `y² = x³ + 7·Z⁶`, on which the whole
//!   ladder runs; the accumulator's Z is multiplied by that global Z once at the end;
//! - G's and λG's odd multiples (w = 8, 64 points each) are real affine points computed once per
//!   process behind a `OnceLock`; they are added to the accumulator on the isomorphic curve by
//!   scaling the accumulator's Z by the global Z (libsecp256k1's `gej_add_zinv_var`);
//! - Jacobian coordinates, a = 0 doubling (dbl-2009-l, 1M + 5S) and mixed addition (8M + 3S) with
//!   explicit, variable-time handling of the doubling and infinity cases;
//! - one field inversion at the end.
//!
//! Magnitudes (k256's lazy reduction; the 10x26 backend allows 31, a multiplication's inputs 8): stored
//! X and Y have magnitude 1 (`normalize_weak` after each formula), a Jacobian Z at most 2, a negated
//! table point's y 2; no intermediate exceeds 10. k256's debug layer checks the multiplication bounds
//! in the tests.

use k256::elliptic_curve::ops::{LinearCombination, Reduce};
use k256::elliptic_curve::scalar::IsHigh;
use k256::elliptic_curve::sec1::{EncodedPoint, FromEncodedPoint, ToEncodedPoint};
use k256::elliptic_curve::PrimeField;
use k256::{AffinePoint, FieldBytes, FieldElement, ProjectivePoint, Scalar, Secp256k1, U256};
use std::sync::OnceLock;

mod modinv;

/// The wNAF window of R's two halves: a table of 2^(W_R − 2) = 8 odd multiples per call.
const W_R: usize = 5;
const TABLE_R: usize = 1 << (W_R - 2);
/// The wNAF window of G's two halves: static tables of 2^(W_G − 2) = 64 odd multiples of G and of λG.
const W_G: usize = 8;
const TABLE_G: usize = 1 << (W_G - 2);
/// wNAF digits of a 256-bit value (one more position for the final carry).
const NAF_LEN: usize = 257;

/// β, a cube root of unity mod p: `λ·(x, y) = (β·x, y)`.
const BETA: [u8; 32] = hex32("7ae96a2b657c07106e64479eac3434e99cf0497512f58995c1396c28719501ee");
const GENERATOR_X: [u8; 32] = hex32("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
const GENERATOR_Y: [u8; 32] = hex32("483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8");
/// −λ mod n, −b1 and −b2 mod n of the GLV lattice basis, and g1, g2 = round(2^384·b2/n),
/// round(2^384·(−b1)/n) (the constants of k256's `mul.rs` and libsecp256k1's `scalar_split_lambda`).
const MINUS_LAMBDA: &str = "ac9c52b33fa3cf1f5ad9e3fd77ed9ba4a880b9fc8ec739c2e0cfc810b51283cf";
const MINUS_B1: &str = "00000000000000000000000000000000e4437ed6010e88286f547fa90abfe4c3";
const MINUS_B2: &str = "fffffffffffffffffffffffffffffffe8a280ac50774346dd765cda83db1562c";
const G1: [u64; 4] = limbs(hex32("3086d221a7d46bcde86c90e49284eb153daa8a1471e8ca7fe893209a45dbb031"));
const G2: [u64; 4] = limbs(hex32("e4437ed6010e88286f547fa90abfe4c4221208ac9df506c61571b4ae8ac47f71"));

/// `u1·G + u2·R` for a point R of the curve, in variable time; `None` is the point at infinity.
///
/// `None` also when the computation cannot go on, which no input reaches: R at infinity (a decompressed
/// R never is), an addition meeting a doubling or infinity while building `R, 3R, …, 15R` (impossible
/// for a point of prime order n, as every other point of the curve is), a zero final Z, or a result off
/// the curve (a last guard against a bug). Recovery then refuses the signature (`Unrecoverable`): a
/// refusal, never a wrong key. There is no fallback to k256 here: it would keep k256's whole `lincomb`
/// in the npm package (9 KB gzip) for cases that do not occur.
pub fn lincomb_vartime(u1: &Scalar, r: &AffinePoint, u2: &Scalar) -> Option<AffinePoint> {
    lincomb_vartime_inner(u1, r, u2).flatten()
}

/// k256's constant-time `u1·G + u2·R`: the reference of the tests and the benchmarks.
pub fn k256_lincomb(u1: &Scalar, r: &AffinePoint, u2: &Scalar) -> Option<AffinePoint> {
    let q = ProjectivePoint::lincomb(&ProjectivePoint::GENERATOR, u1, &ProjectivePoint::from(*r), u2);
    if q == ProjectivePoint::IDENTITY {
        None
    } else {
        Some(q.to_affine())
    }
}

/// The variable-time path: `Some(None)` for the point at infinity, `None` when it cannot answer (see
/// [`lincomb_vartime`]).
pub(crate) fn lincomb_vartime_inner(u1: &Scalar, r: &AffinePoint, u2: &Scalar) -> Option<Option<AffinePoint>> {
    let t = tables();
    if !t.valid {
        return None;
    }
    let r = Affine::from_k256(r)?;
    let (table_r, global_z) = odd_multiples::<TABLE_R>(&r)?;
    let mut table_r_lambda = table_r;
    for p in table_r_lambda.iter_mut() {
        p.x = (p.x * t.beta).normalize_weak();
    }

    let (u1a, u1b) = split(u1, t);
    let (u2a, u2b) = split(u2, t);
    let mut nafs = [[0i16; NAF_LEN]; 4];
    let lens = [
        wnaf(&u2a.1, W_R, &mut nafs[0]),
        wnaf(&u2b.1, W_R, &mut nafs[1]),
        wnaf(&u1a.1, W_G, &mut nafs[2]),
        wnaf(&u1b.1, W_G, &mut nafs[3]),
    ];
    let negated = [u2a.0, u2b.0, u1a.0, u1b.0];
    let len = lens.iter().copied().max().unwrap_or(0);

    let mut acc = Jacobian::INFINITY;
    for i in (0..len).rev() {
        acc = acc.double();
        let d = nafs[0][i];
        if d != 0 {
            acc = acc.add_affine(&select(&table_r, d, negated[0]));
        }
        let d = nafs[1][i];
        if d != 0 {
            acc = acc.add_affine(&select(&table_r_lambda, d, negated[1]));
        }
        let d = nafs[2][i];
        if d != 0 {
            acc = acc.add_affine_zinv(&select(&t.g, d, negated[2]), &global_z);
        }
        let d = nafs[3][i];
        if d != 0 {
            acc = acc.add_affine_zinv(&select(&t.g_lambda, d, negated[3]), &global_z);
        }
    }
    if acc.infinity {
        return Some(None);
    }
    // The accumulator lives on the isomorphic curve: its real Z is its Z times the global Z.
    let z = acc.z * global_z;
    let z_inv = invert_field_vartime(&z)?;
    let z_inv2 = z_inv.square();
    let x = (acc.x * z_inv2).normalize();
    let y = (acc.y * (z_inv2 * z_inv)).normalize();
    // The on-curve check of the decoding is a last guard: a point off the curve is no answer.
    let encoded = EncodedPoint::<Secp256k1>::from_affine_coordinates(&x.to_bytes(), &y.to_bytes(), false);
    let point: Option<AffinePoint> = AffinePoint::from_encoded_point(&encoded).into();
    Some(Some(point?))
}

/// `k⁻¹ mod n` in variable time (safegcd); `None` for zero.
pub fn invert_scalar_vartime(k: &Scalar) -> Option<Scalar> {
    if bool::from(k.is_zero()) {
        return None;
    }
    let inverse = modinv::invert(&k.to_bytes().into(), &modinv::N);
    Option::from(Scalar::from_repr(FieldBytes::from(inverse)))
}

/// `x⁻¹ mod p` in variable time (safegcd); `None` for zero.
fn invert_field_vartime(x: &FieldElement) -> Option<FieldElement> {
    let x = x.normalize();
    if bool::from(x.is_zero()) {
        return None;
    }
    let inverse = modinv::invert(&x.to_bytes().into(), &modinv::P);
    Option::from(FieldElement::from_bytes(&FieldBytes::from(inverse)))
}

/// An affine point; both coordinates have magnitude 1, or y magnitude 2 once negated by [`select`].
#[derive(Clone, Copy, Debug)]
struct Affine {
    x: FieldElement,
    y: FieldElement,
}

impl Affine {
    const ZERO: Affine = Affine { x: FieldElement::ZERO, y: FieldElement::ZERO };

    fn from_k256(p: &AffinePoint) -> Option<Affine> {
        let encoded = p.to_encoded_point(false);
        let x: Option<FieldElement> = FieldElement::from_bytes(encoded.x()?).into();
        let y: Option<FieldElement> = FieldElement::from_bytes(encoded.y()?).into();
        Some(Affine { x: x?, y: y? })
    }
}

/// A Jacobian point `(X : Y : Z)` = affine `(X/Z², Y/Z³)`; X and Y of magnitude 1, Z at most 2.
#[derive(Clone, Copy, Debug)]
struct Jacobian {
    x: FieldElement,
    y: FieldElement,
    z: FieldElement,
    infinity: bool,
}

impl Jacobian {
    const INFINITY: Jacobian =
        Jacobian { x: FieldElement::ZERO, y: FieldElement::ONE, z: FieldElement::ZERO, infinity: true };

    fn from_affine(p: &Affine) -> Jacobian {
        Jacobian { x: p.x, y: p.y.normalize_weak(), z: FieldElement::ONE, infinity: false }
    }

    /// `2·self`, dbl-2009-l for a = 0 (1M + 5S). No point of the curve but infinity has y = 0, so the
    /// double of a finite point is finite.
    #[inline(never)]
    fn double(&self) -> Jacobian {
        if self.infinity {
            return *self;
        }
        let a = self.x.square();
        let b = self.y.square();
        let c = b.square();
        // D/2 = (X + B)² − (A + C): magnitude 1 + 3.
        let half_d = ((self.x + b).square() + (a + c).negate(2)).normalize_weak();
        let d = half_d.double();
        let e = a.mul_single(3);
        let f = e.square();
        // X3 = F − 2D: magnitude 1 + 5.
        let x = (f + d.double().negate(4)).normalize_weak();
        // Y3 = E·(D − X3) − 8C: magnitude 1 + 9.
        let y = (e * (d + x.negate(1)) + c.mul_single(8).negate(8)).normalize_weak();
        // Z3 = 2·Y1·Z1: magnitude 2.
        let z = (self.y * self.z).double();
        Jacobian { x, y, z, infinity: false }
    }

    /// `self + b` for an affine b.
    #[inline(never)]
    fn add_affine(&self, b: &Affine) -> Jacobian {
        if self.infinity {
            return Jacobian::from_affine(b);
        }
        let z1z1 = self.z.square();
        let u2 = b.x * z1z1;
        let s2 = b.y * (z1z1 * self.z);
        self.add_scaled(&u2, &s2)
    }

    /// `self + b` where b is a real affine point and `self` lives on the isomorphic curve of scale
    /// `zinv` (there, b is the Jacobian point `(b.x : b.y : 1/zinv)`). Multiplying both Zs by `zinv`
    /// makes b affine; the result's Z is then kept without that factor (libsecp256k1's
    /// `secp256k1_gej_add_zinv_var`). 9M + 3S.
    #[inline(never)]
    fn add_affine_zinv(&self, b: &Affine, zinv: &FieldElement) -> Jacobian {
        if self.infinity {
            let zinv2 = zinv.square();
            let x = (b.x * zinv2).normalize_weak();
            let y = (b.y * (zinv2 * zinv)).normalize_weak();
            return Jacobian { x, y, z: FieldElement::ONE, infinity: false };
        }
        let az = self.z * zinv;
        let z1z1 = az.square();
        let u2 = b.x * z1z1;
        let s2 = b.y * (z1z1 * az);
        self.add_scaled(&u2, &s2)
    }

    /// The addition (madd-2004-hmv) once b's coordinates are brought to `self`'s Z:
    /// `u2 = b.x·Z1²`, `s2 = b.y·Z1³`.
    fn add_scaled(&self, u2: &FieldElement, s2: &FieldElement) -> Jacobian {
        let h = *u2 + self.x.negate(1);
        let r = *s2 + self.y.negate(1);
        if bool::from(h.normalizes_to_zero()) {
            return if bool::from(r.normalizes_to_zero()) {
                #[cfg(test)]
                tests::note_doubling();
                self.double()
            } else {
                #[cfg(test)]
                tests::note_infinity();
                Jacobian::INFINITY
            };
        }
        self.add_finish(&h, &r)
    }

    /// The rest of madd-2004-hmv once `h = U2 − X1 ≠ 0` and `r = S2 − Y1` are known; `Z3 = Z1·h`.
    #[inline(never)]
    fn add_finish(&self, h: &FieldElement, r: &FieldElement) -> Jacobian {
        let z = self.z * h;
        let hh = h.square();
        let hhh = hh * h;
        let v = self.x * hh;
        // X3 = r² − (2V + H³): magnitude 1 + 4.
        let x = (r.square() + (v.double() + hhh).negate(3)).normalize_weak();
        // Y3 = r·(V − X3) − Y1·H³: magnitude 1 + 2.
        let y = ((v + x.negate(1)) * r + (hhh * self.y).negate(1)).normalize_weak();
        Jacobian { x, y, z, infinity: false }
    }

    /// `self + b` for an affine b ≠ ±self, with the Z ratio `h` (`Z3 = Z1·h`); `None` if b = ±self.
    fn add_affine_ratio(&self, b: &Affine) -> Option<(Jacobian, FieldElement)> {
        if self.infinity {
            return None;
        }
        let z1z1 = self.z.square();
        let u2 = b.x * z1z1;
        let s2 = b.y * (z1z1 * self.z);
        let h = u2 + self.x.negate(1);
        if bool::from(h.normalizes_to_zero()) {
            return None;
        }
        let r = s2 + self.y.negate(1);
        Some((self.add_finish(&h, &r), h))
    }
}

/// `[p, 3p, 5p, …, (2N − 1)p]` for an affine p, all with one common Jacobian Z, returned as the affine
/// points of the isomorphic curve of that Z, with the Z (the real point of an entry `(x, y)` is the
/// Jacobian `(x : y : Z)`). No inversion: libsecp256k1's `ecmult_odd_multiples_table` and
/// `ge_table_set_globalz`. `None` if an addition degenerates (p of order ≤ 2N + 1, or infinity).
fn odd_multiples<const N: usize>(p: &Affine) -> Option<([Affine; N], FieldElement)> {
    let d = Jacobian::from_affine(p).double();
    // On the isomorphic curve of scale d.z, 2p = (d.x, d.y) is affine and p is (x·dz², y·dz³).
    let d_affine = Affine { x: d.x, y: d.y };
    let dz2 = d.z.square();
    let first = Affine { x: p.x * dz2, y: p.y * (dz2 * d.z) };
    let mut table = [Affine::ZERO; N];
    let mut ratios = [FieldElement::ONE; N];
    table[0] = first;
    let mut acc = Jacobian::from_affine(&first);
    for i in 1..N {
        let (next, ratio) = acc.add_affine_ratio(&d_affine)?;
        table[i] = Affine { x: next.x, y: next.y };
        ratios[i] = ratio;
        acc = next;
    }
    // Bring entry i from Z_i to Z_{N−1}: multiply by (Z_{N−1}/Z_i)² and ³, the product of the later ratios.
    if N > 1 {
        let mut zs = ratios[N - 1];
        for i in (0..N - 1).rev() {
            let zs2 = zs.square();
            table[i] = Affine { x: table[i].x * zs2, y: table[i].y * (zs2 * zs) };
            if i > 0 {
                zs *= ratios[i];
            }
        }
    }
    Some((table, acc.z * d.z))
}

/// The entry of an odd wNAF digit, negated for a negative digit or a negated half-scalar.
fn select<const N: usize>(table: &[Affine; N], digit: i16, negated: bool) -> Affine {
    let p = table[usize::from(digit.unsigned_abs() >> 1)];
    if (digit < 0) != negated {
        Affine { x: p.x, y: p.y.negate(1) }
    } else {
        p
    }
}

/// The static tables and constants, built once.
struct Tables {
    /// False if building them failed (it cannot: G has prime order); every call then refuses.
    valid: bool,
    beta: FieldElement,
    minus_lambda: Scalar,
    minus_b1: Scalar,
    minus_b2: Scalar,
    /// `[G, 3G, …, 127G]`, real affine, normalized.
    g: [Affine; TABLE_G],
    /// The same multiples of λG: `(β·x, y)`.
    g_lambda: [Affine; TABLE_G],
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(build_tables)
}

fn constant_fe(bytes: [u8; 32]) -> FieldElement {
    // Constants below p: `from_bytes` accepts them (a test checks each against k256).
    Option::from(FieldElement::from_bytes(&FieldBytes::from(bytes))).unwrap_or(FieldElement::ZERO)
}

fn constant_scalar(hex: &str) -> Scalar {
    <Scalar as Reduce<U256>>::reduce(U256::from_be_hex(hex))
}

fn build_tables() -> Tables {
    let beta = constant_fe(BETA);
    let generator = Affine { x: constant_fe(GENERATOR_X), y: constant_fe(GENERATOR_Y) };
    let built = odd_multiples::<TABLE_G>(&generator);
    let (shared, z) = built.unwrap_or(([generator; TABLE_G], FieldElement::ONE));
    let z_inv: Option<FieldElement> = z.invert().into();
    let valid = built.is_some() && z_inv.is_some();
    let z_inv = z_inv.unwrap_or(FieldElement::ONE);
    let z_inv2 = z_inv.square();
    let z_inv3 = z_inv2 * z_inv;
    let mut g = [Affine::ZERO; TABLE_G];
    let mut g_lambda = [Affine::ZERO; TABLE_G];
    for i in 0..TABLE_G {
        let x = (shared[i].x * z_inv2).normalize();
        let y = (shared[i].y * z_inv3).normalize();
        g[i] = Affine { x, y };
        g_lambda[i] = Affine { x: (x * beta).normalize(), y };
    }
    Tables {
        valid,
        beta,
        minus_lambda: constant_scalar(MINUS_LAMBDA),
        minus_b1: constant_scalar(MINUS_B1),
        minus_b2: constant_scalar(MINUS_B2),
        g,
        g_lambda,
    }
}

/// The GLV split `k = k1 + k2·λ (mod n)`, each half as (negated, |half| in little-endian u64 limbs).
/// `k1 = k − k2·λ` holds for any `k2`; the rounding constants only make both halves short (< 2^128,
/// see k256's `mul.rs`), which the wNAF does not rely on.
fn split(k: &Scalar, t: &Tables) -> ((bool, [u64; 4]), (bool, [u64; 4])) {
    let k_limbs = limbs(k.to_bytes().into());
    let c1 = mul_shift_384(&k_limbs, &G1);
    let c2 = mul_shift_384(&k_limbs, &G2);
    let k2 = Scalar::from(c1) * t.minus_b1 + Scalar::from(c2) * t.minus_b2;
    let k1 = *k + k2 * t.minus_lambda;
    (signed_magnitude(&k1), signed_magnitude(&k2))
}

fn signed_magnitude(k: &Scalar) -> (bool, [u64; 4]) {
    if bool::from(k.is_high()) {
        (true, limbs((-*k).to_bytes().into()))
    } else {
        (false, limbs(k.to_bytes().into()))
    }
}

/// `round(a·b / 2^384)` for 256-bit a, b with `a·b < 2^511` (b < 2^256 and a < n here).
fn mul_shift_384(a: &[u64; 4], b: &[u64; 4]) -> u128 {
    let mut product = [0u64; 8];
    for i in 0..4 {
        let mut carry = 0u128;
        for j in 0..4 {
            let t = u128::from(a[i]) * u128::from(b[j]) + u128::from(product[i + j]) + carry;
            product[i + j] = t as u64;
            carry = t >> 64;
        }
        product[i + 4] = carry as u64;
    }
    let high = u128::from(product[6]) | (u128::from(product[7]) << 64);
    high.wrapping_add(u128::from(product[5] >> 63))
}

/// Bits `[bit, bit + count)` of a 256-bit little-endian value (zero past bit 255), `count ≤ 16`.
fn bits(k: &[u64; 4], bit: usize, count: usize) -> u32 {
    let limb = bit / 64;
    if limb >= 4 {
        return 0;
    }
    let offset = bit % 64;
    let mut v = k[limb] >> offset;
    if offset + count > 64 && limb + 1 < 4 {
        v |= k[limb + 1] << (64 - offset);
    }
    (v & ((1u64 << count) - 1)) as u32
}

/// The width-w NAF of a 256-bit value into `out` (odd digits in ±(2^(w−1) − 1), zeros elsewhere);
/// returns the number of positions used (the highest non-zero digit + 1, 0 for zero).
/// libsecp256k1's `secp256k1_ecmult_wnaf`.
#[inline(never)]
fn wnaf(k: &[u64; 4], w: usize, out: &mut [i16; NAF_LEN]) -> usize {
    let mut bit = 0;
    let mut carry = 0u32;
    let mut len = 0;
    while bit < NAF_LEN {
        if bits(k, bit, 1) == carry {
            bit += 1;
            continue;
        }
        let now = w.min(NAF_LEN - bit);
        let mut word = bits(k, bit, now) as i32 + carry as i32;
        carry = ((word >> (w - 1)) & 1) as u32;
        word -= (carry as i32) << w;
        out[bit] = word as i16;
        len = bit + 1;
        bit += now;
    }
    len
}

/// 32 bytes from 64 hex digits, at compile time.
const fn hex32(hex: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        }
    }
    let h = hex.as_bytes();
    assert!(h.len() == 64);
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(h[2 * i]) << 4) | nibble(h[2 * i + 1]);
        i += 1;
    }
    out
}

/// Big-endian bytes to little-endian u64 limbs.
const fn limbs(bytes: [u8; 32]) -> [u64; 4] {
    let mut out = [0u64; 4];
    let mut i = 0;
    while i < 32 {
        out[3 - i / 8] |= (bytes[i] as u64) << (8 * (7 - i % 8));
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests;
