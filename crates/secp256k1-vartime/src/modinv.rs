//! Variable-time modular inversion by Bernstein–Yang "safegcd" divsteps, for the field prime p and the
//! group order n: a port of libsecp256k1's `secp256k1_modinv32_var` (signed 30-bit limbs, 64-bit
//! products: native on wasm32 and fast enough on 64-bit hosts). Several times faster than an
//! exponentiation (k256's field `invert`) or a binary extended Euclid (k256's scalar
//! `invert_vartime`). Public inputs only: it branches on its input.

/// A signed number in nine 30-bit limbs (little-endian; the top limb carries the sign).
type Signed30 = [i32; 9];

const M30: i32 = (u32::MAX >> 2) as i32;

/// An odd modulus < 2^256 and its inverse mod 2^30.
pub(super) struct Modulus {
    limbs: Signed30,
    inv30: u32,
}

impl Modulus {
    /// From the big-endian bytes of an odd modulus.
    pub(super) const fn new(be: [u8; 32]) -> Modulus {
        let limbs = to_signed30(&be);
        let m0 = limbs[0] as u32;
        // Newton: each step doubles the correct low bits of m0⁻¹ (x = m0 is right mod 2^3 for odd m0).
        let mut inv = m0;
        let mut i = 0;
        while i < 5 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(m0.wrapping_mul(inv)));
            i += 1;
        }
        Modulus { limbs, inv30: inv & (M30 as u32) }
    }
}

/// p = 2^256 − 2^32 − 977.
pub(super) const P: Modulus =
    Modulus::new(super::hex32("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"));
/// n, the order of G.
pub(super) const N: Modulus =
    Modulus::new(super::hex32("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"));

/// x⁻¹ mod m as big-endian bytes, for big-endian `x` in [0, m) (0 gives 0).
pub(super) fn invert(x: &[u8; 32], m: &Modulus) -> [u8; 32] {
    let mut d: Signed30 = [0; 9];
    let mut e: Signed30 = [1, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut f = m.limbs;
    let mut g = to_signed30(x);
    let mut len = 9;
    // eta = −delta; delta starts at 1 (faster for the variable-time divsteps).
    let mut eta: i32 = -1;
    loop {
        let (next_eta, t) = divsteps_30(eta, f[0] as u32, g[0] as u32);
        eta = next_eta;
        update_de(&mut d, &mut e, &t, m);
        update_fg(len, &mut f, &mut g, &t);
        if g[0] == 0 && g[1..len].iter().all(|&l| l == 0) {
            break;
        }
        // Shorten f and g when both top limbs are 0 or −1, folding the sign into the limb below.
        let (fn_, gn) = (f[len - 1], g[len - 1]);
        if len > 1 && (fn_ ^ (fn_ >> 31)) == 0 && (gn ^ (gn >> 31)) == 0 {
            f[len - 2] |= ((fn_ as u32) << 30) as i32;
            g[len - 2] |= ((gn as u32) << 30) as i32;
            len -= 1;
        }
    }
    // g = 0: f = ±gcd = ±1 and d = ±x⁻¹.
    normalize(&mut d, f[len - 1], m);
    from_signed30(&d)
}

/// The transition matrix `[u v; q r]` of 30 divsteps (scaled by 2^30): f' = (u·f + v·g)/2^30,
/// g' = (q·f + r·g)/2^30.
struct Matrix {
    u: i32,
    v: i32,
    q: i32,
    r: i32,
}

/// `INV256[i] = −(2i + 1)⁻¹ mod 256`.
const INV256: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        let a = (2 * i + 1) as u8;
        // a⁻¹ mod 256 by Newton from a (correct mod 8).
        let mut inv = a;
        let mut k = 0;
        while k < 3 {
            inv = inv.wrapping_mul(2u8.wrapping_sub(a.wrapping_mul(inv)));
            k += 1;
        }
        table[i] = inv.wrapping_neg();
        i += 1;
    }
    table
};

/// 30 divsteps on the low bits of f (odd) and g; libsecp256k1's `modinv32_divsteps_30_var`.
fn divsteps_30(mut eta: i32, f0: u32, g0: u32) -> (i32, Matrix) {
    let (mut u, mut v, mut q, mut r) = (1u32, 0u32, 0u32, 1u32);
    let (mut f, mut g) = (f0, g0);
    let mut i: u32 = 30;
    loop {
        // The zeros at the bottom of g, up to i (a sentinel bit): that many divsteps only halve g.
        let zeros = (g | (u32::MAX << i)).trailing_zeros();
        g >>= zeros;
        u <<= zeros;
        v <<= zeros;
        eta -= zeros as i32;
        i -= zeros;
        if i == 0 {
            break;
        }
        // g is odd. If eta < 0, (f, g) ← (g, −f).
        if eta < 0 {
            eta = -eta;
            let t = f;
            f = g;
            g = t.wrapping_neg();
            let t = u;
            u = q;
            q = t.wrapping_neg();
            let t = v;
            v = r;
            r = t.wrapping_neg();
        }
        // Cancel up to min(eta + 1, i, 8) bottom bits of g with a multiple of f.
        let limit = ((eta + 1) as u32).min(i);
        let mask = (u32::MAX >> (32 - limit)) & 255;
        let w = g.wrapping_mul(u32::from(INV256[((f >> 1) & 127) as usize])) & mask;
        g = g.wrapping_add(f.wrapping_mul(w));
        q = q.wrapping_add(u.wrapping_mul(w));
        r = r.wrapping_add(v.wrapping_mul(w));
    }
    (eta, Matrix { u: u as i32, v: v as i32, q: q as i32, r: r as i32 })
}

/// (d, e) ← (t·[d, e] + m·[md, me]) / 2^30 with md, me chosen to clear the low 30 bits (mod m).
fn update_de(d: &mut Signed30, e: &mut Signed30, t: &Matrix, m: &Modulus) {
    let (u, v, q, r) = (t.u, t.v, t.q, t.r);
    let sd = d[8] >> 31;
    let se = e[8] >> 31;
    let mut md = (u & sd).wrapping_add(v & se);
    let mut me = (q & sd).wrapping_add(r & se);
    let (di, ei) = (i64::from(d[0]), i64::from(e[0]));
    let mut cd = i64::from(u) * di + i64::from(v) * ei;
    let mut ce = i64::from(q) * di + i64::from(r) * ei;
    md = md.wrapping_sub((m.inv30.wrapping_mul(cd as u32).wrapping_add(md as u32) & (M30 as u32)) as i32);
    me = me.wrapping_sub((m.inv30.wrapping_mul(ce as u32).wrapping_add(me as u32) & (M30 as u32)) as i32);
    cd += i64::from(m.limbs[0]) * i64::from(md);
    ce += i64::from(m.limbs[0]) * i64::from(me);
    debug_assert!(cd as i32 & M30 == 0 && ce as i32 & M30 == 0);
    cd >>= 30;
    ce >>= 30;
    for i in 1..9 {
        let (di, ei) = (i64::from(d[i]), i64::from(e[i]));
        cd += i64::from(u) * di + i64::from(v) * ei + i64::from(m.limbs[i]) * i64::from(md);
        ce += i64::from(q) * di + i64::from(r) * ei + i64::from(m.limbs[i]) * i64::from(me);
        d[i - 1] = cd as i32 & M30;
        e[i - 1] = ce as i32 & M30;
        cd >>= 30;
        ce >>= 30;
    }
    d[8] = cd as i32;
    e[8] = ce as i32;
}

/// (f, g) ← t·[f, g] / 2^30 on the first `len` limbs (exact: the low 30 bits are zero).
fn update_fg(len: usize, f: &mut Signed30, g: &mut Signed30, t: &Matrix) {
    let (u, v, q, r) = (i64::from(t.u), i64::from(t.v), i64::from(t.q), i64::from(t.r));
    let (fi, gi) = (i64::from(f[0]), i64::from(g[0]));
    let mut cf = (u * fi + v * gi) >> 30;
    let mut cg = (q * fi + r * gi) >> 30;
    for i in 1..len {
        let (fi, gi) = (i64::from(f[i]), i64::from(g[i]));
        cf += u * fi + v * gi;
        cg += q * fi + r * gi;
        f[i - 1] = cf as i32 & M30;
        g[i - 1] = cg as i32 & M30;
        cf >>= 30;
        cg >>= 30;
    }
    f[len - 1] = cf as i32;
    g[len - 1] = cg as i32;
}

/// Brings d from (−2m, m) to [0, m), negated first if `sign` < 0.
fn normalize(d: &mut Signed30, sign: i32, m: &Modulus) {
    let add_if_negative = |d: &mut Signed30| {
        let cond = d[8] >> 31;
        for (limb, m) in d.iter_mut().zip(m.limbs.iter()) {
            *limb += m & cond;
        }
    };
    let propagate = |d: &mut Signed30| {
        for i in 0..8 {
            d[i + 1] += d[i] >> 30;
            d[i] &= M30;
        }
    };
    add_if_negative(d);
    let negate = sign >> 31;
    for limb in d.iter_mut() {
        *limb = (*limb ^ negate) - negate;
    }
    propagate(d);
    add_if_negative(d);
    propagate(d);
}

/// Big-endian bytes to nine 30-bit limbs.
const fn to_signed30(be: &[u8; 32]) -> Signed30 {
    let mut out = [0i32; 9];
    let mut acc: u64 = 0;
    let mut bits = 0;
    let mut limb = 0;
    let mut i = 0;
    while i < 32 {
        acc |= (be[31 - i] as u64) << bits;
        bits += 8;
        if bits >= 30 {
            out[limb] = (acc & (M30 as u64)) as i32;
            acc >>= 30;
            bits -= 30;
            limb += 1;
        }
        i += 1;
    }
    // 256 = 8·30 + 16: the top 16 bits.
    out[limb] = acc as i32;
    out
}

/// Nine normalized 30-bit limbs (a value in [0, 2^256)) to big-endian bytes.
fn from_signed30(limbs: &Signed30) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut acc: u64 = 0;
    let mut acc_bits = 0;
    let mut byte = 0;
    for &limb in limbs {
        acc |= u64::from(limb as u32) << acc_bits;
        acc_bits += 30;
        while acc_bits >= 8 && byte < 32 {
            out[31 - byte] = acc as u8;
            acc >>= 8;
            acc_bits -= 8;
            byte += 1;
        }
    }
    out
}
