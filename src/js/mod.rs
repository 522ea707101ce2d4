//! JavaScript bindings (wasm-bindgen), behind the `js` feature. An adapter only: each export parses
//! its JS input, calls the pure core, and returns plain values.

use wasm_bindgen::prelude::*;

use crate::chains::evm::signature::EcdsaSignature;
use crate::protocol::amount::parse_decimal_u256;
use crate::protocol::model::Eip3009Authorization;
use crate::protocol::normalize::{parse_b256, parse_evm_address};
use crate::schemes::exact_evm::authorization_digest;

/// Recovers the signer of an EIP-3009 `TransferWithAuthorization` (checksummed address), or throws.
/// Amounts and times are decimal strings, as on the x402 wire.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = recoverEip3009Signer)]
pub fn recover_eip3009_signer(
    from: &str,
    to: &str,
    value: &str,
    valid_after: &str,
    valid_before: &str,
    nonce: &str,
    signature: &str,
    name: &str,
    version: &str,
    chain_id: u32,
    asset: &str,
) -> Result<String, JsError> {
    let field = |what: &str| JsError::new(&format!("invalid {what}"));
    let authorization = Eip3009Authorization {
        from: parse_evm_address(from).ok_or_else(|| field("from"))?,
        to: parse_evm_address(to).ok_or_else(|| field("to"))?,
        value: parse_decimal_u256(value).ok_or_else(|| field("value"))?,
        valid_after: parse_decimal_u256(valid_after).ok_or_else(|| field("validAfter"))?,
        valid_before: parse_decimal_u256(valid_before).ok_or_else(|| field("validBefore"))?,
        nonce: parse_b256(nonce).ok_or_else(|| field("nonce"))?,
    };
    let asset = parse_evm_address(asset).ok_or_else(|| field("asset"))?;
    let bytes = signature.strip_prefix("0x").and_then(|h| hex::decode(h).ok()).ok_or_else(|| field("signature"))?;
    let digest = authorization_digest(&authorization, name, version, u64::from(chain_id), asset);
    let signer =
        EcdsaSignature::parse(&bytes).and_then(|s| s.recover(&digest)).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(signer.to_checksum(None))
}
