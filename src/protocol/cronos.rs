//! The Crypto.com / Cronos facilitator dialect of x402 v1 (protocol digest §8): the payment travels
//! still base64-encoded as `paymentHeader`, its EIP-3009 payload is flat with numeric time bounds, and
//! the responses have their own shapes with human-readable reasons.

use serde::{Deserialize, Serialize};

use super::amount::IntText;

/// The decoded `paymentHeader`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CronosPaymentHeader {
    pub x402_version: u8,
    pub scheme: String,
    pub network: String,
    pub payload: CronosEip3009Payload,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CronosEip3009Payload {
    pub from: String,
    pub to: String,
    pub value: IntText,
    pub valid_after: IntText,
    pub valid_before: IntText,
    pub nonce: String,
    pub signature: String,
    #[serde(default)]
    pub asset: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CronosVerifyResponse {
    pub is_valid: bool,
    /// `null` when valid, as the Cronos facilitator answers.
    pub invalid_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CronosSettleResponse {
    pub x402_version: u8,
    /// `payment.settled` or `payment.failed`.
    pub event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_number: Option<u64>,
    pub network: String,
    /// ISO 8601, UTC, milliseconds.
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Formats unix milliseconds as `2025-11-04T20:19:11.000Z` (civil-from-days; no date crate needed).
pub fn iso8601_millis(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        unix_ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_iso_timestamps() {
        assert_eq!(iso8601_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_millis(1_762_287_551_000), "2025-11-04T20:19:11.000Z");
        assert_eq!(iso8601_millis(951_782_400_123), "2000-02-29T00:00:00.123Z");
    }

    #[test]
    fn decodes_the_documented_header_shape() {
        let json = r#"{"x402Version":1,"scheme":"exact","network":"cronos-testnet","payload":{"from":"0xa","to":"0xb","value":"1000000","validAfter":0,"validBefore":1735689551,"nonce":"0x1","signature":"0x2","asset":"0xc"}}"#;
        let header: CronosPaymentHeader = serde_json::from_str(json).unwrap();
        assert_eq!(header.payload.valid_before.0, "1735689551");
        assert_eq!(header.payload.valid_after.0, "0");
    }
}
