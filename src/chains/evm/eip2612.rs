//! The EIP-2612 `Permit` EIP-712 struct and its signing hash (the token's domain is the one of
//! [`super::eip3009::domain`]: USDC signs both under `{name, version, chainId, verifyingContract}`).

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{sol, Eip712Domain};

use super::eip712::{self, TypeHash};

sol! {
    struct Permit {
        address owner;
        address spender;
        uint256 value;
        uint256 nonce;
        uint256 deadline;
    }
}

/// The digest the owner signed: `Permit(owner, spender, value, nonce, deadline)` under the token's domain.
pub fn signing_hash(
    owner: Address,
    spender: Address,
    value: U256,
    nonce: U256,
    deadline: U256,
    domain: &Eip712Domain,
) -> B256 {
    eip712::signing_hash(&Permit { owner, spender, value, nonce, deadline }, &TYPE_HASH, domain)
}

static TYPE_HASH: TypeHash<Permit> = TypeHash::new();

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chains::evm::eip3009::domain;
    use crate::chains::evm::signature::EcdsaSignature;
    use serde_json::Value;

    #[test]
    fn the_vector_permit_digest_and_signer_come_out() {
        let vectors: Value =
            serde_json::from_str(include_str!("../../../tests/vectors/generated-evm-signatures.json")).unwrap();
        let v = &vectors["eip2612PermitForDaydreamsUpto"];
        let (d, m) = (&v["domain"], &v["message"]);
        let address = |x: &Value| x.as_str().unwrap().parse::<Address>().unwrap();
        let int = |x: &Value| x.as_str().unwrap().parse::<U256>().unwrap();
        let owner = address(&m["owner"]);
        let domain = domain(
            d["name"].as_str().unwrap(),
            d["version"].as_str().unwrap(),
            d["chainId"].as_u64().unwrap(),
            address(&d["verifyingContract"]),
        );
        let digest = signing_hash(
            owner,
            address(&m["spender"]),
            int(&m["value"]),
            int(&m["nonce"]),
            int(&m["deadline"]),
            &domain,
        );
        assert_eq!(digest.to_string(), v["eip712Digest"].as_str().unwrap());
        let signature = hex::decode(&v["signature"].as_str().unwrap()[2..]).unwrap();
        assert_eq!(EcdsaSignature::parse(&signature).unwrap().recover(&digest).unwrap(), owner);
    }
}
