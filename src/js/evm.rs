//! EVM helpers for wallets and tools: the EIP-712 digest of an EIP-3009 authorization and the signer
//! a signature recovers to, with the core's hashing and recovery.

use serde::Deserialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::envelope::{answer, parse_json, parse_json_as, BindingError};
use crate::chains::evm::signature::EcdsaSignature;
use crate::protocol::amount::{parse_decimal_u256, IntText};
use crate::protocol::model::Version;
use crate::protocol::normalize::{parse_b256, parse_evm_address};
use crate::schemes::exact_evm::authorization_digest;
use crate::schemes::exact_evm::payload::parse_eip3009_authorization;
use crate::schemes::exact_evm::Eip3009Authorization;

/// An EIP-712 domain as viem and ethers write it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DomainJs {
    name: String,
    version: String,
    chain_id: IntText,
    verifying_contract: String,
}

/// The facilitator's own parsing of an authorization, so both answer the same for the same input.
fn authorization(json: &str) -> Result<Eip3009Authorization, BindingError> {
    Ok(parse_eip3009_authorization(&parse_json(json, "authorization")?)?)
}

fn digest(authorization_json: &str, domain_json: &str) -> Result<alloy_primitives::B256, BindingError> {
    let authorization = authorization(authorization_json)?;
    let d: DomainJs = parse_json_as(
        domain_json,
        "domain",
        BindingError::Field("domain: {name, version, chainId, verifyingContract}"),
    )?;
    let chain_id =
        d.chain_id.to_u256().and_then(|c| u64::try_from(c).ok()).ok_or(BindingError::Field("domain.chainId"))?;
    let asset = parse_evm_address(&d.verifying_contract).ok_or(BindingError::Field("domain.verifyingContract"))?;
    Ok(authorization_digest(&authorization, &d.name, &d.version, chain_id, asset))
}

fn signature_bytes(text: &str) -> Result<Vec<u8>, BindingError> {
    text.strip_prefix("0x").and_then(|h| hex::decode(h).ok()).ok_or(BindingError::Field("signature (0x hex)"))
}

/// The EIP-712 digest a payer signs for an EIP-3009 `TransferWithAuthorization`.
#[wasm_bindgen(js_name = authorizationDigest)]
pub fn authorization_digest_js(authorization_json: &str, domain_json: &str) -> String {
    answer(digest(authorization_json, domain_json).map(|d| Value::String(d.to_string())), Version::V2)
}

/// The (checksummed) address an EOA signature of the authorization recovers to.
#[wasm_bindgen(js_name = recoverAuthorizationSigner)]
pub fn recover_authorization_signer(authorization_json: &str, signature: &str, domain_json: &str) -> String {
    let recovered = digest(authorization_json, domain_json).and_then(|d| {
        let signer = EcdsaSignature::parse(&signature_bytes(signature)?)?.recover(&d)?;
        Ok(Value::String(signer.to_checksum(None)))
    });
    answer(recovered, Version::V2)
}

/// Recovers the signer of an EIP-3009 `TransferWithAuthorization` (checksummed address), or throws.
/// Positional and allocation-light, for the benchmark's hot loop; amounts and times are decimal strings.
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
    let bytes = signature_bytes(signature).map_err(|e| JsError::new(&e.to_string()))?;
    let digest = authorization_digest(&authorization, name, version, u64::from(chain_id), asset);
    let signer =
        EcdsaSignature::parse(&bytes).and_then(|s| s.recover(&digest)).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(signer.to_checksum(None))
}
