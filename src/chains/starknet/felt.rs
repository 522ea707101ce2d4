//! Felts (elements of Starknet's prime field) from the JSON values typed data carries, Cairo short
//! strings, and `starknet_keccak` with the selectors derived from it.
//!
//! Typed data writes a felt as a hex string, a decimal string, a JSON number or (where the type allows
//! it) a short string. starknet.js reads the first three with JavaScript's `BigInt(value)`, so
//! [`integer_from_json`] follows that grammar exactly (surrounding whitespace, `0x`/`0o`/`0b`, a sign
//! on decimals, the empty string as zero, JSON numbers as doubles): the hash we compute is then the
//! hash a wallet signed.

use crate::protocol::fields::json_type;
use alloy_primitives::{keccak256, U256};
use serde_json::Value;
pub use starknet_crypto::Felt;

/// The field prime `P = 2^251 + 17·2^192 + 1`.
pub const PRIME: U256 = U256::from_limbs([1, 0, 0, 0x0800_0000_0000_0011]);

/// A short string holds at most 31 bytes, so that it stays below the prime.
pub const SHORT_STRING_MAX_LEN: usize = 31;

/// Inputs are echoed in errors up to this many characters.
const EXCERPT_LEN: usize = 80;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeltError {
    #[error("{0} is not below the field prime")]
    OutOfRange(String),
    #[error("{0:?} is not a number (hex `0x…` or decimal)")]
    NotANumber(String),
    #[error("{0} is negative")]
    Negative(String),
    #[error("{0} is not an integer")]
    NotAnInteger(String),
    #[error("a short string is at most 31 characters, {0:?} has {1}")]
    ShortStringTooLong(String, usize),
    #[error("a short string is ASCII, {0:?} is not")]
    NotAscii(String),
    #[error("a felt is a number or a string, not {0}")]
    WrongJsonType(&'static str),
}

/// An integer as JavaScript's `BigInt(value)` reads it, before any range check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Integer {
    /// Never set for zero.
    pub negative: bool,
    pub magnitude: U256,
}

impl Integer {
    pub const fn non_negative(magnitude: U256) -> Integer {
        Integer { negative: false, magnitude }
    }

    fn signed(negative: bool, magnitude: U256) -> Integer {
        Integer { negative: negative && !magnitude.is_zero(), magnitude }
    }

    /// The felt of a non-negative integer below the prime.
    pub fn to_felt(&self) -> Result<Felt, FeltError> {
        if self.negative {
            return Err(FeltError::Negative(format!("-{}", self.magnitude)));
        }
        felt_from_u256(self.magnitude)
    }
}

/// The felt of `value`, refused from the prime up.
pub fn felt_from_u256(value: U256) -> Result<Felt, FeltError> {
    if value >= PRIME {
        return Err(FeltError::OutOfRange(value.to_string()));
    }
    Ok(Felt::from_bytes_be(&value.to_be_bytes::<32>()))
}

/// The integer value of a felt.
pub fn felt_to_u256(felt: &Felt) -> U256 {
    U256::from_be_bytes(felt.to_bytes_be())
}

/// Parses canonical text: `0x` followed by hex digits, or decimal digits; nothing else.
pub fn parse_felt(text: &str) -> Result<Felt, FeltError> {
    let (radix, digits) = match strip_prefix_ignore_case(text, "0x") {
        Some(hex) => (16, hex),
        None => (10, text),
    };
    let magnitude = parse_digits(digits, radix)?.ok_or_else(|| FeltError::NotANumber(excerpt(text)))?;
    felt_from_u256(magnitude)
}

/// `BigInt(value)` for a JSON value: strings in `BigInt`'s grammar, integral numbers and booleans.
pub fn integer_from_json(value: &Value) -> Result<Integer, FeltError> {
    match value {
        Value::String(text) => integer_from_str(text)?.ok_or_else(|| FeltError::NotANumber(excerpt(text))),
        Value::Number(number) => integer_from_number(number),
        Value::Bool(flag) => Ok(Integer::non_negative(U256::from(u8::from(*flag)))),
        other => Err(FeltError::WrongJsonType(json_type(other))),
    }
}

/// A felt from a number-like JSON value; text that is not a number is refused.
pub fn felt_from_json(value: &Value) -> Result<Felt, FeltError> {
    integer_from_json(value)?.to_felt()
}

/// A felt from a number-like JSON value, or else from text as a short string (starknet.js's
/// `getHex`: text that reads as a number is that number, so `"12"` is 12, not the short string).
pub fn felt_or_short_string_from_json(value: &Value) -> Result<Felt, FeltError> {
    match value {
        Value::String(text) => match integer_from_str(text)? {
            Some(integer) => integer.to_felt(),
            None => encode_short_string(text),
        },
        other => felt_from_json(other),
    }
}

/// Encodes up to 31 ASCII characters as the big-endian felt of their bytes (Cairo's `'text'`).
pub fn encode_short_string(text: &str) -> Result<Felt, FeltError> {
    if !text.is_ascii() {
        return Err(FeltError::NotAscii(excerpt(text)));
    }
    if text.len() > SHORT_STRING_MAX_LEN {
        return Err(FeltError::ShortStringTooLong(excerpt(text), text.len()));
    }
    Ok(Felt::from_bytes_be_slice(text.as_bytes()))
}

/// Keccak-256 masked to its low 250 bits: Starknet's hash for names (selectors, type hashes).
pub fn starknet_keccak(data: &[u8]) -> Felt {
    let mut digest = keccak256(data).0;
    digest[0] &= 0x03;
    Felt::from_bytes_be(&digest)
}

/// The selector of an entry point (or of any name): `starknet_keccak(name)`.
pub fn selector(name: &str) -> Felt {
    starknet_keccak(name.as_bytes())
}

/// `BigInt(text)`: `Ok(None)` where JavaScript throws a `SyntaxError`, an error where the number
/// does not fit 256 bits (it could never be a felt).
pub fn integer_from_str(text: &str) -> Result<Option<Integer>, FeltError> {
    let trimmed = text.trim_matches(is_js_whitespace);
    if trimmed.is_empty() {
        return Ok(Some(Integer::non_negative(U256::ZERO)));
    }
    let prefixed = [("0x", 16), ("0o", 8), ("0b", 2)]
        .into_iter()
        .find_map(|(prefix, radix)| strip_prefix_ignore_case(trimmed, prefix).map(|digits| (radix, digits)));
    let (negative, radix, digits) = match prefixed {
        Some((radix, digits)) => (false, radix, digits),
        None => match trimmed.as_bytes()[0] {
            b'-' => (true, 10, &trimmed[1..]),
            b'+' => (false, 10, &trimmed[1..]),
            _ => (false, 10, trimmed),
        },
    };
    Ok(parse_digits(digits, radix)?.map(|magnitude| Integer::signed(negative, magnitude)))
}

/// Digits in `radix` (at least one, nothing else) to an integer; an error past 256 bits.
fn parse_digits(digits: &str, radix: u32) -> Result<Option<U256>, FeltError> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Ok(None);
    }
    let radix_u256 = U256::from(radix);
    let mut value = U256::ZERO;
    for c in digits.chars() {
        let digit = U256::from(c.to_digit(radix).unwrap_or(0));
        value = value
            .checked_mul(radix_u256)
            .and_then(|v| v.checked_add(digit))
            .ok_or_else(|| FeltError::OutOfRange(excerpt(digits)))?;
    }
    Ok(Some(value))
}

/// A JSON number as `BigInt(number)` sees it after `JSON.parse`: JavaScript holds every number as a
/// double, so an integer literal past 2^53 is the nearest double's exact value (`as_f64` rounds the
/// same way), not the literal: `1152921504606847000` is 2^60.
fn integer_from_number(number: &serde_json::Number) -> Result<Integer, FeltError> {
    let double = number.as_f64().ok_or_else(|| FeltError::NotAnInteger(number.to_string()))?;
    if !double.is_finite() || double.fract() != 0.0 {
        return Err(FeltError::NotAnInteger(number.to_string()));
    }
    integer_from_f64(double).ok_or_else(|| FeltError::OutOfRange(number.to_string()))
}

/// The exact value of an integral, finite double; `None` from 2^256 up (never a felt).
fn integer_from_f64(double: f64) -> Option<Integer> {
    let bits = double.abs().to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64;
    if exponent == 0 {
        // Zero (an integral subnormal is impossible).
        return Some(Integer::non_negative(U256::ZERO));
    }
    // value = mantissa · 2^(exponent − 1075), the mantissa 53 bits with its implicit one.
    let mantissa = U256::from((bits & ((1u64 << 52) - 1)) | (1u64 << 52));
    let shift = exponent - 1075;
    let magnitude = match shift {
        ..0 => mantissa >> shift.unsigned_abs() as usize,
        0..=203 => mantissa << shift as usize,
        _ => return None,
    };
    Some(Integer::signed(double < 0.0, magnitude))
}

/// JavaScript's `WhiteSpace` and `LineTerminator`, which `BigInt(text)` trims.
fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | ' '
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
            | '\u{feff}'
    )
}

fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// The start of a long input, for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_LEN) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_prime_is_the_first_value_out_of_range() {
        let max = PRIME - U256::from(1);
        assert_eq!(felt_from_u256(max).unwrap(), Felt::MAX);
        assert!(matches!(felt_from_u256(PRIME), Err(FeltError::OutOfRange(_))));
        let hex = format!("{PRIME:#x}");
        assert!(matches!(parse_felt(&hex), Err(FeltError::OutOfRange(_))));
        assert_eq!(parse_felt(&format!("{max:#x}")).unwrap(), Felt::MAX);
        assert!(matches!(parse_felt(&format!("0x1{}", "0".repeat(64))), Err(FeltError::OutOfRange(_))));
    }

    #[test]
    fn canonical_text_is_hex_or_decimal_only() {
        assert_eq!(parse_felt("0x1f").unwrap(), Felt::from(31u8));
        assert_eq!(parse_felt("0X1F").unwrap(), Felt::from(31u8));
        assert_eq!(parse_felt(&format!("0x{}1", "0".repeat(80))).unwrap(), Felt::ONE);
        assert_eq!(parse_felt("31").unwrap(), Felt::from(31u8));
        for bad in ["", "0x", " 1", "-1", "+1", "0o7", "1_000", "0xg", "１"] {
            assert!(matches!(parse_felt(bad), Err(FeltError::NotANumber(_))), "{bad:?}");
        }
    }

    #[test]
    fn json_values_read_as_bigint_reads_them() {
        let int = |v: Value| integer_from_json(&v).unwrap();
        let n = |x: u64| Integer::non_negative(U256::from(x));
        assert_eq!(int(json!("  0x10\n")), n(16));
        assert_eq!(int(json!("0o17")), n(15));
        assert_eq!(int(json!("0B101")), n(5));
        assert_eq!(int(json!("")), n(0));
        assert_eq!(int(json!("\u{feff}\u{3000}7")), n(7));
        assert_eq!(int(json!("-0")), n(0));
        assert_eq!(int(json!("+5")), n(5));
        assert_eq!(int(json!("-5")), Integer { negative: true, magnitude: U256::from(5) });
        assert_eq!(int(json!(true)), n(1));
        assert_eq!(int(json!(false)), n(0));
        assert_eq!(int(json!(-3)), Integer { negative: true, magnitude: U256::from(3) });
        assert_eq!(int(json!(1.0)), n(1));
        // Numbers are doubles in JavaScript: BigInt(1e30) is the double's exact value, and an integer
        // literal past 2^53 is rounded to the nearest double.
        assert_eq!(int(json!(1e30)).magnitude, "1000000000000000019884624838656".parse::<U256>().unwrap());
        let literal: Value = serde_json::from_str("1152921504606847000").unwrap();
        assert_eq!(int(literal), n(1 << 60));
        assert_eq!(int(json!(u64::MAX)).magnitude, U256::from(1u8) << 64usize);
        assert_eq!(int(json!(9007199254740993u64)), n(9007199254740992));
        for bad in [json!("-0x5"), json!("0x"), json!("1 2"), json!("abc"), json!("\u{85}1")] {
            assert!(matches!(integer_from_json(&bad), Err(FeltError::NotANumber(_))), "{bad}");
        }
        assert!(matches!(integer_from_json(&json!(1.5)), Err(FeltError::NotAnInteger(_))));
        assert!(matches!(integer_from_json(&json!(null)), Err(FeltError::WrongJsonType("null"))));
        assert!(matches!(integer_from_json(&json!([1])), Err(FeltError::WrongJsonType("an array"))));
        assert!(matches!(felt_from_json(&json!(-1)), Err(FeltError::Negative(_))));
        assert!(matches!(felt_from_json(&json!(1e300)), Err(FeltError::OutOfRange(text)) if text.starts_with("1e")));
        let largest = 2f64.powi(256) - 2f64.powi(203);
        assert_eq!(int(json!(largest)).magnitude, U256::MAX - ((U256::from(1u8) << 203usize) - U256::from(1u8)));
        assert!(matches!(integer_from_json(&json!(2f64.powi(256))), Err(FeltError::OutOfRange(_))));
        assert!(matches!(felt_from_json(&json!(format!("0x{}", "f".repeat(65)))), Err(FeltError::OutOfRange(_))));
    }

    #[test]
    fn text_that_is_not_a_number_is_a_short_string() {
        let felt = |v: Value| felt_or_short_string_from_json(&v).unwrap();
        assert_eq!(felt(json!("SN_MAIN")), parse_felt("0x534e5f4d41494e").unwrap());
        assert_eq!(felt(json!("12")), Felt::from(12u8));
        assert_eq!(felt(json!("0x12")), Felt::from(18u8));
        assert_eq!(felt(json!("ANY_CALLER")), parse_felt("0x414e595f43414c4c4552").unwrap());
        assert!(matches!(felt_from_json(&json!("SN_MAIN")), Err(FeltError::NotANumber(_))));
        assert!(matches!(
            felt_or_short_string_from_json(&json!("a".repeat(32))),
            Err(FeltError::ShortStringTooLong(_, 32))
        ));
        assert!(matches!(felt_or_short_string_from_json(&json!("é")), Err(FeltError::NotAscii(_))));
        assert_eq!(encode_short_string("").unwrap(), Felt::ZERO);
        assert_eq!(encode_short_string(&"~".repeat(31)).unwrap(), Felt::from_bytes_be_slice(&[b'~'; 31]));
    }

    #[test]
    fn selectors_are_masked_keccak() {
        // Well-known entry point selectors.
        assert_eq!(
            selector("transfer"),
            parse_felt("0x83afd3f4caedc6eebf44246fe54e38c95e3179a5ec9ea81740eca5b482d12e").unwrap()
        );
        assert_eq!(
            selector("__execute__"),
            parse_felt("0x15d40a3d6ca2ac30f4031e42be28da9b056fef9bb7357ac5e85627ee876e5ad").unwrap()
        );
        assert_eq!(
            selector("execute_from_outside_v2"),
            parse_felt("0x34cc13b274446654ca3233ed2c1620d4c5d1d32fd20b47146a3371064bdc57d").unwrap()
        );
    }

    #[test]
    fn long_inputs_are_excerpted_in_errors() {
        let error = parse_felt(&"z".repeat(10_000)).unwrap_err().to_string();
        assert!(error.len() < 200, "{error}");
    }
}
