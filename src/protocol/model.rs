//! The normalized model: one shape for a verify/settle request, whatever version or dialect carried it.

use alloy_primitives::{Address, Bytes, B256, U256};
use serde_json::{Map, Value};

use crate::network::Network;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    pub const fn number(self) -> u8 {
        match self {
            Version::V1 => 1,
            Version::V2 => 2,
        }
    }
}

/// Who sent the request: a coinbase-style x402 client, or a client of the Cronos facilitator API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Standard,
    Cronos,
}

/// What the resource server requires, normalized across versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirements {
    pub scheme: String,
    /// The network exactly as the request named it; responses echo it.
    pub network: String,
    /// v2 `amount`, v1 `maxAmountRequired`.
    pub amount: U256,
    pub asset: String,
    pub pay_to: String,
    pub max_timeout_seconds: u64,
    pub extra: Map<String, Value>,
}

impl Requirements {
    /// A string field of `extra`, if present and non-empty.
    pub fn extra_str(&self, key: &str) -> Option<&str> {
        self.extra.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
    }
}

/// What the payer says it accepted (v2 `accepted`, v1 top-level `scheme`/`network`).
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub scheme: String,
    pub network: String,
    /// v2 `accepted.asset`.
    pub asset: Option<String>,
    /// v2 `accepted.payTo`.
    pub pay_to: Option<String>,
    /// v2 `accepted.amount`, as sent.
    pub amount: Option<String>,
}

/// An EIP-3009 `TransferWithAuthorization` as signed by the payer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eip3009Authorization {
    pub from: Address,
    pub to: Address,
    pub value: U256,
    pub valid_after: U256,
    pub valid_before: U256,
    pub nonce: B256,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eip3009Payload {
    pub signature: Bytes,
    pub authorization: Eip3009Authorization,
}

/// An EIP-2612 `Permit` as the daydreams `upto` scheme carries it: the payer lets the facilitator
/// (`spender`) pull up to `cap` until `deadline`, and the facilitator settles a session's spend in batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermitPayload {
    pub signature: Bytes,
    pub owner: Address,
    pub spender: Address,
    pub cap: U256,
    pub deadline: U256,
    pub nonce: U256,
    /// The session id: the permit's canonical id ([`crate::protocol::upto::canonical_session_id`]).
    pub session_id: String,
}

/// An `exact` Solana payment: the client's partially signed transaction, kept as sent (the scheme
/// decodes and checks it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvmPayload {
    /// Standard base64 of the wire transaction.
    pub transaction: String,
}

impl SvmPayload {
    /// The first token instruction's authority, as the reference reports the payer; `None` when the
    /// transaction does not decode or has no token instruction. Decoded on demand: a verified payment
    /// reports the scheme's own payer, so only refusals need this.
    pub fn payer(&self) -> Option<String> {
        let transaction = crate::chains::svm::Transaction::from_base64(&self.transaction).ok()?;
        crate::chains::svm::token_payer(transaction.message()).map(|key| key.to_base58())
    }
}

/// An `exact` Starknet payment as x402-starknet and the daydreams client send it: the authorization
/// fields, the account's signature, and the SNIP-12 typed data of the SNIP-9 outside execution it
/// signed. Kept as sent: the scheme reads the felts and binds the typed data (what executes).
#[derive(Debug, Clone, PartialEq)]
pub struct StarknetPayload {
    /// `payload.authorization.from`: the paying account.
    pub from: String,
    /// `payload.authorization`: `{from, to, amount, token, nonce, validUntil}`.
    pub authorization: Value,
    /// `payload.signature`: `{r, s}` or the account's signature felts.
    pub signature: Value,
    /// `typedData` beside `payload` (or inside it).
    pub typed_data: Option<Value>,
    /// `paymasterEndpoint` beside `payload`, where the client built the typed data.
    pub paymaster_endpoint: Option<String>,
}

/// The scheme-specific payload, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Eip3009(Eip3009Payload),
    Permit(PermitPayload),
    Svm(SvmPayload),
    Starknet(StarknetPayload),
    /// [starknet-spec] `exact` Starknet in the registered spec's dialect (`{from, outsideExecution}`).
    #[cfg(feature = "starknet")]
    StarknetSpec(crate::schemes::exact_starknet::payload::SpecPayload),
}

impl Payload {
    /// The paying address, as responses report it.
    pub fn payer(&self) -> String {
        match self {
            Payload::Eip3009(p) => p.authorization.from.to_checksum(None),
            Payload::Permit(p) => p.owner.to_checksum(None),
            Payload::Svm(p) => p.payer().unwrap_or_default(),
            Payload::Starknet(p) => p.from.clone(),
            #[cfg(feature = "starknet")] // [starknet-spec]
            Payload::StarknetSpec(p) => format!("{:#x}", p.from),
        }
    }
}

/// A verify or settle request, normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentRequest {
    pub version: Version,
    pub dialect: Dialect,
    /// The network of the requirements, resolved.
    pub network: &'static Network,
    pub accepted: Accepted,
    pub requirements: Requirements,
    pub payload: Payload,
    /// Who sent it: the API key's subject ([`crate::access::ApiKeys::authorize`]) when the host checked
    /// one, else `None`. An `upto` session belongs to the key that opened it.
    pub caller: Option<String>,
}
