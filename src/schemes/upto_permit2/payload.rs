//! The wire format of a standard `upto` payment: the `exact` Permit2 payload (read by
//! [`Permit2Payload::decode`]) whose witness also names the facilitator.

use alloy_primitives::Address;
use serde_json::Value;

use super::error::UptoPermit2Error;
use crate::chains::evm::permit2::SignedUptoPermit;
use crate::protocol::normalize::parse_evm_address;
use crate::schemes::exact_permit2::{self, ExactPermit2Error, Permit2Payload};

/// A standard `upto` payment: a Permit2 authorization for the cap through the upto proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UptoPermit2Payload {
    /// The fields the two proxies share (`permitted.amount` is the cap), and the extensions.
    pub permit: Permit2Payload,
    /// `witness.facilitator`: the only address the upto proxy lets settle.
    pub facilitator: Address,
}

/// The path of every field the reference's type guard requires, each a string.
const STRING_FIELDS: [&[&str]; 10] = [
    &["signature"],
    &["permit2Authorization", "from"],
    &["permit2Authorization", "spender"],
    &["permit2Authorization", "nonce"],
    &["permit2Authorization", "deadline"],
    &["permit2Authorization", "permitted", "token"],
    &["permit2Authorization", "permitted", "amount"],
    &["permit2Authorization", "witness", "facilitator"],
    &["permit2Authorization", "witness", "to"],
    &["permit2Authorization", "witness", "validAfter"],
];

/// Whether a payment payload is a Permit2 one: the `upto` kind takes these as the standard scheme,
/// and the others (`authorization` and a signature) as daydreams sessions.
pub fn is_upto_permit2(payload: &Value) -> bool {
    exact_permit2::is_permit2(payload)
}

/// The reference's `isUptoPermit2Payload`: every field present and a string (numbers included);
/// anything else is not an upto Permit2 payload at all (`unsupported_payload_type`).
fn has_upto_shape(payload: &Value) -> bool {
    STRING_FIELDS.iter().all(|path| path.iter().try_fold(payload, |v, key| v.get(key)).is_some_and(Value::is_string))
}

impl UptoPermit2Payload {
    /// Reads `paymentPayload.payload` and, for the gas-sponsoring extensions, `paymentPayload.extensions`.
    pub fn decode(payload: &Value, extensions: Option<&Value>) -> Result<UptoPermit2Payload, UptoPermit2Error> {
        if !has_upto_shape(payload) {
            return Err(UptoPermit2Error::NotUptoPayload);
        }
        let permit = Permit2Payload::decode(payload, extensions)?;
        let facilitator = payload
            .pointer("/permit2Authorization/witness/facilitator")
            .and_then(Value::as_str)
            .and_then(parse_evm_address)
            .ok_or_else(|| {
                ExactPermit2Error::InvalidPayload(
                    "permit2Authorization.witness.facilitator is not an EVM address".into(),
                )
            })?;
        Ok(UptoPermit2Payload { permit, facilitator })
    }

    /// The fields the payer signed.
    pub fn signed(&self) -> SignedUptoPermit {
        SignedUptoPermit { permit: self.permit.signed(), facilitator: self.facilitator }
    }
}

/// The settlement ledger's key: the same as an `exact` Permit2 payment's (`(chain, owner, nonce)`),
/// since both spend one Permit2 nonce space per owner: a nonce is never settled through both.
pub fn ledger_key(chain_id: u64, payload: &UptoPermit2Payload) -> String {
    exact_permit2::ledger_key(chain_id, &payload.permit)
}

/// Every signed field and the signature (see [`exact_permit2::identity`]), and the facilitator.
pub fn identity(payload: &UptoPermit2Payload) -> String {
    format!("upto/{}/{}", exact_permit2::identity(&payload.permit), payload.facilitator)
}
