//! The daydreams `upto` session id (`packages/core/src/upto/sessionId.ts`): the SHA-256, in hex, of
//! `JSON.stringify({network, asset, owner, spender, cap, nonce, deadline, signature})` over the fields
//! exactly as the client sent them. Clients and resource servers key sessions by it, so it must come
//! out byte for byte the same.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The id of the session a permit opens. `fields` are in the reference's key order; absent ones are
/// left out, as `JSON.stringify` leaves out `undefined`.
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

    #[test]
    fn the_vector_session_id_comes_out() {
        let vectors: Value =
            serde_json::from_str(include_str!("../../tests/vectors/generated-evm-signatures.json")).unwrap();
        let v = &vectors["eip2612PermitForDaydreamsUpto"];
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
}
