//! Integers as they appear on the wire: decimal strings (amounts, time bounds), or JSON numbers where a
//! dialect uses them (the Cronos payload's `validAfter`/`validBefore`).

use alloy_primitives::U256;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Parses a non-negative decimal integer string (no sign, no hex, no spaces, at most 78 digits).
pub fn parse_decimal_u256(text: &str) -> Option<U256> {
    if text.is_empty() || text.len() > 78 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    U256::from_str_radix(text, 10).ok()
}

/// An integer field that clients send either as a decimal string or as a JSON number. It keeps the
/// text so a value can be echoed exactly as it was received.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IntText(pub String);

impl IntText {
    pub fn to_u256(&self) -> Option<U256> {
        parse_decimal_u256(&self.0)
    }

    /// From a parsed JSON value: a string, or a JSON number that is a non-negative integer.
    pub fn from_json(value: &serde_json::Value) -> Option<IntText> {
        match value {
            serde_json::Value::String(text) => Some(IntText(text.clone())),
            serde_json::Value::Number(n) => n.as_u64().map(|n| IntText(n.to_string())),
            _ => None,
        }
    }
}

impl Serialize for IntText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for IntText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Number(u64),
        }
        Ok(match Either::deserialize(deserializer)? {
            Either::Text(text) => IntText(text),
            Either::Number(n) => IntText(n.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_plain_decimals() {
        assert_eq!(parse_decimal_u256("10000"), Some(U256::from(10000u64)));
        assert_eq!(parse_decimal_u256("0"), Some(U256::ZERO));
        for bad in ["", "-1", "+1", "0x10", " 1", "1.5", "1e6", &"9".repeat(79)] {
            assert_eq!(parse_decimal_u256(bad), None, "{bad:?}");
        }
        // 2^256 overflows.
        let too_big = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert_eq!(parse_decimal_u256(too_big), None);
    }

    #[test]
    fn int_text_accepts_strings_and_numbers() {
        let t: IntText = serde_json::from_str("\"12\"").unwrap();
        let n: IntText = serde_json::from_str("12").unwrap();
        assert_eq!(t, n);
        assert!(serde_json::from_str::<IntText>("-1").is_err());
        assert!(serde_json::from_str::<IntText>("1.5").is_err());
    }
}
