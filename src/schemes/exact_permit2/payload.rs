//! The wire format of an `exact` Permit2 payment (`paymentPayload.payload` with
//! `permit2Authorization`, and the gas-sponsoring extensions of `paymentPayload.extensions`), read
//! from raw JSON into typed fields. Nothing here panics on any input.
//!
//! Numbers: the 2.27 client sends decimal strings; the reference reads them with `BigInt`, so
//! `0x`-hex strings and JSON integers are accepted too. Whitespace, signs, empty strings and values
//! of 2^256 or more are refused. Addresses: `0x` and 40 hex digits (checksum not enforced, as
//! viem's `getAddress` in the reference does not either).

use alloy_primitives::{Address, Bytes, U256};
use serde_json::Value;

use super::error::ExactPermit2Error;
use super::permit2::SignedPermit;
use crate::protocol::normalize::parse_evm_address;

/// `paymentPayload.extensions` key of the EIP-2612 gas-sponsoring extension.
pub const EIP2612_KEY: &str = "eip2612GasSponsoring";
/// `paymentPayload.extensions` key of the ERC-20 approval gas-sponsoring extension.
pub const ERC20_APPROVAL_KEY: &str = "erc20ApprovalGasSponsoring";

/// An `exact` payment through Permit2 and the x402 exact proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit2Payload {
    /// As sent (an ERC-6492 wrapper included).
    pub signature: Bytes,
    pub from: Address,
    pub token: Address,
    pub amount: U256,
    pub spender: Address,
    pub nonce: U256,
    pub deadline: U256,
    pub to: Address,
    pub valid_after: U256,
    /// `extensions.eip2612GasSponsoring.info`. `None` when absent or missing a field (the reference
    /// then ignores it); `Some(Err(why))` when a field is malformed: refused in its place in the
    /// verify order with `invalid_eip2612_extension_format`.
    pub eip2612: Option<Result<Eip2612Extension, String>>,
    /// `extensions.erc20ApprovalGasSponsoring.info`, read the same way; used only by a facilitator
    /// that enables the extension.
    pub erc20_approval: Option<Result<Erc20ApprovalExtension, String>>,
}

/// The payer's EIP-2612 `permit(owner, Permit2, amount, deadline)` signature, which the proxy's
/// `settleWithPermit` submits before the transfer (so no prior `approve` is needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eip2612Extension {
    pub from: Address,
    pub asset: Address,
    pub spender: Address,
    pub amount: U256,
    pub nonce: U256,
    pub deadline: U256,
    /// `r ‖ s ‖ v`, 65 bytes.
    pub signature: Bytes,
    pub version: String,
}

/// The payer's signed, unsent `approve(Permit2, …)` transaction, which the facilitator broadcasts
/// (the payer pays its gas) before the settle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erc20ApprovalExtension {
    pub from: Address,
    pub asset: Address,
    pub spender: Address,
    pub amount: U256,
    pub signed_transaction: Bytes,
    pub version: String,
}

/// Whether a payment payload is a Permit2 one (`@x402/evm` `isPermit2Payload`).
pub fn is_permit2(payload: &Value) -> bool {
    payload.get("permit2Authorization").is_some()
}

fn malformed(what: impl Into<String>) -> ExactPermit2Error {
    ExactPermit2Error::InvalidPayload(what.into())
}

fn field<'v>(object: &'v Value, name: &str, path: &str) -> Result<&'v Value, ExactPermit2Error> {
    object.get(name).ok_or_else(|| malformed(format!("{path}.{name} is missing")))
}

fn address_at(object: &Value, name: &str, path: &str) -> Result<Address, ExactPermit2Error> {
    let value = field(object, name, path)?;
    value.as_str().and_then(parse_evm_address).ok_or_else(|| malformed(format!("{path}.{name} is not an EVM address")))
}

fn number_at(object: &Value, name: &str, path: &str) -> Result<U256, ExactPermit2Error> {
    parse_number(field(object, name, path)?)
        .ok_or_else(|| malformed(format!("{path}.{name} is not an unsigned integer below 2^256")))
}

/// A decimal or `0x`-hex string, or a JSON unsigned integer.
pub fn parse_number(value: &Value) -> Option<U256> {
    if let Some(n) = value.as_u64() {
        return Some(U256::from(n));
    }
    let text = value.as_str()?;
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            U256::from_str_radix(hex, 16).ok()
        }
        Some(_) => None,
        None if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => U256::from_str_radix(text, 10).ok(),
        None => None,
    }
}

/// `0x`-prefixed hex bytes, at least one.
fn parse_hex(text: &str) -> Option<Bytes> {
    let hex = text.strip_prefix("0x")?;
    if hex.is_empty() {
        return None;
    }
    hex::decode(hex).ok().map(Bytes::from)
}

impl Permit2Payload {
    /// Reads `paymentPayload.payload` and, for v2, `paymentPayload.extensions`.
    pub fn decode(payload: &Value, extensions: Option<&Value>) -> Result<Permit2Payload, ExactPermit2Error> {
        let authorization = field(payload, "permit2Authorization", "payload")?;
        if !authorization.is_object() {
            return Err(malformed("payload.permit2Authorization is not an object"));
        }
        let path = "permit2Authorization";
        let permitted = field(authorization, "permitted", path)?;
        let witness = field(authorization, "witness", path)?;
        let signature = field(payload, "signature", "payload")?
            .as_str()
            .and_then(parse_hex)
            .ok_or_else(|| malformed("payload.signature is not 0x-prefixed hex"))?;
        Ok(Permit2Payload {
            signature,
            from: address_at(authorization, "from", path)?,
            token: address_at(permitted, "token", "permit2Authorization.permitted")?,
            amount: number_at(permitted, "amount", "permit2Authorization.permitted")?,
            spender: address_at(authorization, "spender", path)?,
            nonce: number_at(authorization, "nonce", path)?,
            deadline: number_at(authorization, "deadline", path)?,
            to: address_at(witness, "to", "permit2Authorization.witness")?,
            valid_after: number_at(witness, "validAfter", "permit2Authorization.witness")?,
            eip2612: info(extensions, EIP2612_KEY, &Eip2612Extension::REQUIRED).map(Eip2612Extension::parse),
            erc20_approval: info(extensions, ERC20_APPROVAL_KEY, &Erc20ApprovalExtension::REQUIRED)
                .map(Erc20ApprovalExtension::parse),
        })
    }

    /// The fields the payer signed.
    pub fn signed(&self) -> SignedPermit {
        SignedPermit {
            token: self.token,
            amount: self.amount,
            spender: self.spender,
            nonce: self.nonce,
            deadline: self.deadline,
            to: self.to,
            valid_after: self.valid_after,
        }
    }
}

/// An extension's `info`, when every required field is there and truthy (`@x402/evm`
/// `extractEip2612GasSponsoringInfo` / `extractErc20ApprovalGasSponsoringInfo`: otherwise the
/// extension is ignored).
fn info<'v>(extensions: Option<&'v Value>, key: &str, required: &[&str]) -> Option<&'v Value> {
    let info = extensions?.get(key)?.get("info")?;
    let truthy = |v: &Value| match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
        _ => true,
    };
    required.iter().all(|name| info.get(name).is_some_and(truthy)).then_some(info)
}

/// The reference's format patterns (`validateEip2612GasSponsoringInfo`,
/// `validateErc20ApprovalGasSponsoringInfo`): addresses `0x` + 40 hex, numbers decimal digits,
/// versions `1` or `1.2.3`.
struct Format<'v>(&'v Value);

impl Format<'_> {
    fn text(&self, name: &str) -> Result<&str, String> {
        self.0.get(name).and_then(Value::as_str).ok_or_else(|| format!("{name} is not a string"))
    }

    fn address(&self, name: &str) -> Result<Address, String> {
        let text = self.text(name)?;
        let hex =
            text.strip_prefix("0x").filter(|h| h.len() == 40).ok_or_else(|| format!("{name} is not an address"))?;
        hex.parse().map_err(|_| format!("{name} is not an address"))
    }

    fn decimal(&self, name: &str) -> Result<U256, String> {
        let text = self.text(name)?;
        let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        digits
            .then(|| U256::from_str_radix(text, 10).ok())
            .flatten()
            .ok_or_else(|| format!("{name} is not a decimal integer below 2^256"))
    }

    fn hex(&self, name: &str) -> Result<Bytes, String> {
        self.text(name).ok().and_then(parse_hex).ok_or_else(|| format!("{name} is not 0x-prefixed hex bytes"))
    }

    fn version(&self) -> Result<String, String> {
        let text = self.text("version")?;
        let ok = text.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
        ok.then(|| text.to_string()).ok_or_else(|| "version is not like `1` or `1.2`".into())
    }
}

impl Eip2612Extension {
    const REQUIRED: [&'static str; 8] =
        ["from", "asset", "spender", "amount", "nonce", "deadline", "signature", "version"];

    fn parse(info: &Value) -> Result<Eip2612Extension, String> {
        let f = Format(info);
        let signature = f.hex("signature")?;
        if signature.len() != 65 {
            return Err(format!("signature is {} bytes, an EIP-2612 permit signature is 65", signature.len()));
        }
        Ok(Eip2612Extension {
            from: f.address("from")?,
            asset: f.address("asset")?,
            spender: f.address("spender")?,
            amount: f.decimal("amount")?,
            nonce: f.decimal("nonce")?,
            deadline: f.decimal("deadline")?,
            signature,
            version: f.version()?,
        })
    }
}

impl Erc20ApprovalExtension {
    const REQUIRED: [&'static str; 6] = ["from", "asset", "spender", "amount", "signedTransaction", "version"];

    fn parse(info: &Value) -> Result<Erc20ApprovalExtension, String> {
        let f = Format(info);
        Ok(Erc20ApprovalExtension {
            from: f.address("from")?,
            asset: f.address("asset")?,
            spender: f.address("spender")?,
            amount: f.decimal("amount")?,
            signed_transaction: f.hex("signedTransaction")?,
            version: f.version()?,
        })
    }
}

/// The settlement ledger's key: Permit2's unordered nonce, one bit per `(chain, owner, nonce)`
/// whatever the token or spender, is what the chain accepts once.
pub fn ledger_key(chain_id: u64, payload: &Permit2Payload) -> String {
    format!("permit2/eip155:{chain_id}/{}/{:#x}", payload.from, payload.nonce).to_ascii_lowercase()
}

/// Every signed field and the signature: a different payment under the same ledger key (the same
/// nonce re-signed for more, say) has another identity, so it never gets this one's answer.
pub fn identity(payload: &Permit2Payload) -> String {
    format!(
        "{}/{}/{}/{}/{}/{}/{}/{}/{}",
        payload.from,
        payload.token,
        payload.amount,
        payload.spender,
        payload.nonce,
        payload.deadline,
        payload.to,
        payload.valid_after,
        payload.signature
    )
}
