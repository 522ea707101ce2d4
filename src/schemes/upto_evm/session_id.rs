//! The `upto` session id. A session is its permit: the id is the daydreams formula
//! (`packages/core/src/upto/sessionId.ts`: the SHA-256, in hex, of
//! `JSON.stringify({network, asset, owner, spender, cap, nonce, deadline, signature})`) applied to the
//! permit's *canonical* form: the CAIP-2 network, EIP-55 addresses, decimal integer strings and the
//! signature's bytes `r ‖ s ‖ v` (v as 27/28) in lowercase hex. That is the spelling the reference client
//! sends, so the id it computes is this one; any other spelling of the same permit (lowercase or uppercase
//! addresses, uppercase hex, `value` as a number, the v1 network name, v as 0/1) comes out the same here,
//! and one permit can never name two sessions.

use alloy_primitives::{Address, U256};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The permit fields a session is keyed by, parsed (so spelling no longer matters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermitIdentity<'a> {
    /// The CAIP-2 id of the network (as the network table spells it).
    pub network: &'a str,
    pub asset: Address,
    pub owner: Address,
    pub spender: Address,
    pub cap: U256,
    pub nonce: U256,
    pub deadline: U256,
    pub signature: &'a [u8],
}

/// The id of the session the permit opens.
pub fn canonical_session_id(p: &PermitIdentity<'_>) -> String {
    let text = |s: String| Some(Value::String(s));
    session_id(&[
        ("network", text(p.network.to_string()).as_ref()),
        ("asset", text(p.asset.to_checksum(None)).as_ref()),
        ("owner", text(p.owner.to_checksum(None)).as_ref()),
        ("spender", text(p.spender.to_checksum(None)).as_ref()),
        ("cap", text(p.cap.to_string()).as_ref()),
        ("nonce", text(p.nonce.to_string()).as_ref()),
        ("deadline", text(p.deadline.to_string()).as_ref()),
        ("signature", text(format!("0x{}", hex::encode(canonical_signature(p.signature)))).as_ref()),
    ])
}

/// A 65-byte ECDSA signature with its recovery byte as contracts take it (0/1 become 27/28); other
/// lengths are left as they are (the permit check refuses them).
pub fn canonical_signature(signature: &[u8]) -> Vec<u8> {
    let mut bytes = signature.to_vec();
    if let (65, Some(v @ (0 | 1))) = (bytes.len(), bytes.last().copied()) {
        bytes[64] = v + 27;
    }
    bytes
}

/// The daydreams formula over `fields` as given, in the reference's key order; absent ones are left out,
/// as `JSON.stringify` leaves out `undefined`. What a client computes from the fields it sent.
pub fn session_id(fields: &[(&str, Option<&Value>)]) -> String {
    let preimage: Map<String, Value> =
        fields.iter().filter_map(|(key, value)| Some((key.to_string(), (*value)?.clone()))).collect();
    // serde_json's compact form is JSON.stringify's for these values (strings and integers).
    let text = Value::Object(preimage).to_string();
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector() -> Value {
        let vectors: Value =
            serde_json::from_str(include_str!("../../../tests/vectors/generated-evm-signatures.json")).unwrap();
        vectors["eip2612PermitForDaydreamsUpto"].clone()
    }

    #[test]
    fn the_vector_session_id_comes_out() {
        let v = vector();
        let payload = &v["v2PaymentPayload"];
        let auth = &payload["payload"]["authorization"];
        let id = session_id(&[
            ("network", Some(&payload["accepted"]["network"])),
            ("asset", Some(&payload["accepted"]["asset"])),
            ("owner", Some(&auth["from"])),
            ("spender", Some(&auth["to"])),
            ("cap", Some(&auth["value"])),
            ("nonce", Some(&auth["nonce"])),
            ("deadline", Some(&auth["validBefore"])),
            ("signature", Some(&payload["payload"]["signature"])),
        ]);
        assert_eq!(id, v["sessionId"].as_str().unwrap());
    }

    /// The reference client spells the permit canonically: the id it computes is the canonical id.
    #[test]
    fn the_canonical_id_of_the_vector_permit_is_the_daydreams_id_the_client_computes() {
        let v = vector();
        let payload = &v["v2PaymentPayload"];
        let auth = &payload["payload"]["authorization"];
        let address = |v: &Value| v.as_str().unwrap().parse::<Address>().unwrap();
        let int = |v: &Value| v.as_str().unwrap().parse::<U256>().unwrap();
        let signature =
            hex::decode(payload["payload"]["signature"].as_str().unwrap().trim_start_matches("0x")).unwrap();
        let identity = PermitIdentity {
            network: "eip155:8453",
            asset: address(&payload["accepted"]["asset"]),
            owner: address(&auth["from"]),
            spender: address(&auth["to"]),
            cap: int(&auth["value"]),
            nonce: int(&auth["nonce"]),
            deadline: int(&auth["validBefore"]),
            signature: &signature,
        };
        assert_eq!(canonical_session_id(&identity), v["sessionId"].as_str().unwrap());
        // v as 0/1 is the same signature.
        let mut low_v = signature.clone();
        low_v[64] -= 27;
        assert_eq!(canonical_session_id(&PermitIdentity { signature: &low_v, ..identity }), v["sessionId"]);
    }
}
