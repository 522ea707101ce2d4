//! The x402 header codec: standard base64 (RFC 4648, `=` padding) of compact JSON, as the reference
//! `safeBase64Encode` produces it. Used for `X-PAYMENT`, `PAYMENT-SIGNATURE`, `PAYMENT-REQUIRED`,
//! `PAYMENT-RESPONSE`, `X-PAYMENT-RESPONSE` and the Cronos `paymentHeader`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Largest header we accept, before decoding (64 KiB is far above any real payment).
pub const MAX_HEADER_LEN: usize = 64 * 1024;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    #[error("header is longer than {MAX_HEADER_LEN} bytes")]
    TooLong,
    #[error("header is not standard base64")]
    Base64,
    #[error("header does not hold the expected JSON: {0}")]
    Json(String),
}

/// Encodes a value as base64 of its compact JSON.
pub fn encode<T: Serialize>(value: &T) -> String {
    // Serializing our own types to a Vec cannot fail (no maps with non-string keys, no I/O).
    let json = serde_json::to_vec(value).unwrap_or_default();
    STANDARD.encode(json)
}

/// Decodes base64 of JSON into `T`. Surrounding whitespace is tolerated; nothing else is.
pub fn decode<T: DeserializeOwned>(header: &str) -> Result<T, HeaderError> {
    let trimmed = header.trim();
    if trimmed.len() > MAX_HEADER_LEN {
        return Err(HeaderError::TooLong);
    }
    let bytes = STANDARD.decode(trimmed).map_err(|_| HeaderError::Base64)?;
    serde_json::from_slice(&bytes).map_err(|e| HeaderError::Json(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Vec<Value> {
        let text = include_str!("../../tests/vectors/x402-spec-http-headers.json");
        let file: Value = serde_json::from_str(text).unwrap();
        file["vectors"].as_array().unwrap().clone()
    }

    #[test]
    fn every_spec_header_round_trips_byte_for_byte() {
        let vectors = vectors();
        assert!(vectors.len() >= 6);
        for v in vectors {
            let b64 = v["base64"].as_str().unwrap();
            let decoded: Value = decode(b64).unwrap();
            assert_eq!(decoded, v["decoded"], "{}", v["header"]);
            assert_eq!(encode(&decoded), b64, "{}", v["header"]);
        }
    }

    #[test]
    fn rejects_non_base64_and_non_json() {
        assert_eq!(decode::<Value>("***"), Err(HeaderError::Base64));
        assert!(matches!(decode::<Value>(&STANDARD.encode("not json")), Err(HeaderError::Json(_))));
        assert_eq!(decode::<Value>(&"A".repeat(MAX_HEADER_LEN + 4)), Err(HeaderError::TooLong));
    }
}
