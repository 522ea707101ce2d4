//! The verdict of the pure checks alone, for hosts without a chain (the JS bindings without an RPC
//! URL). Same checks and order as [`super::verify`], so any refusal is the one the facilitator gives.

use alloy_primitives::Address;

use super::checks::*;
use super::error::ExactEvmError;
use super::payload::Eip3009Payload;
use crate::protocol::model::PaymentRequest;

/// What the pure checks can say about a payment that none of them refused.
#[derive(Debug, Clone, PartialEq)]
pub enum OfflineVerdict {
    /// An EOA signature by `from` and every pure rule holds; only chain state (the token, the
    /// balance, the nonce) is left unchecked.
    Valid { payer: Address },
    /// Only the chain can decide: `from` may be a contract wallet (ERC-1271) that accepts this
    /// signature, a counterfactual one (ERC-6492) to deploy first, or the token's EIP-712 domain must
    /// be read from the token. `unless` is the refusal
    /// the facilitator gives when the chain shows nothing more (no code at `from`, no domain).
    NeedsChain { payer: Address, unless: ExactEvmError },
}

/// Runs every check of an `exact` EVM verify that needs no chain, at unix time `now` (seconds).
pub fn verify_offline<P>(
    request: &PaymentRequest<P>,
    payload: &Eip3009Payload,
    now: u64,
) -> Result<OfflineVerdict, ExactEvmError> {
    let authorization = &payload.authorization;
    let requirements = &request.requirements;
    let payer = authorization.from;
    check_scheme(request)?;
    let asset = parse_asset(requirements)?;
    let domain = domain_from_requirements(request, asset)?;
    check_network(request)?;
    // Without the domain the signature cannot be checked, and it comes before the later rules.
    let Some(domain) = domain else {
        return Ok(OfflineVerdict::NeedsChain { payer, unless: ExactEvmError::MissingDomain });
    };
    let chain_id = request.network.chain_id.unwrap_or_default();
    // Nothing is deployed offline: a counterfactual wallet is judged as with no factory allowed.
    let proof = check_signature(payload, &domain, chain_id, asset, &[])?;
    check_recipient(authorization, requirements)?;
    check_valid_before(authorization, now, request.network.expiry_margin_secs())?;
    check_valid_after(authorization, now)?;
    check_amount(authorization, requirements)?;
    Ok(match proof {
        SignatureProof::Eoa(_) => OfflineVerdict::Valid { payer },
        SignatureProof::Contract { eoa_error, .. } => OfflineVerdict::NeedsChain { payer, unless: eoa_error },
        SignatureProof::Counterfactual { wrapped, .. } => {
            OfflineVerdict::NeedsChain { payer, unless: ExactEvmError::FactoryNotAllowed { factory: wrapped.factory } }
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::protocol::normalize::parse_request;
    use crate::protocol::Reason;

    const SPEC_NOW: u64 = 1_740_672_100;

    fn spec_request() -> Value {
        let examples: Value = serde_json::from_str(include_str!("../../../tests/vectors/api-examples.json")).unwrap();
        examples["coinbase_v2"]["POST /verify request"].clone()
    }

    fn offline(body: &Value, now: u64) -> Result<OfflineVerdict, ExactEvmError> {
        let request = parse_request(body.to_string().as_bytes()).unwrap();
        let payload = super::super::payload::decode(&request.payload.payload).unwrap();
        verify_offline(&request, &payload, now)
    }

    #[test]
    fn the_spec_example_is_valid_offline() {
        let payer = "0x857b06519E91e3A54538791bDbb0E22373e36b66".parse().unwrap();
        assert_eq!(offline(&spec_request(), SPEC_NOW), Ok(OfflineVerdict::Valid { payer }));
    }

    #[test]
    fn each_pure_rule_refuses_with_the_facilitators_reason() {
        let good = spec_request();
        let reason = |b: &Value, now| offline(b, now).unwrap_err().reason();
        let mut b = good.clone();
        b["paymentRequirements"]["extra"] = json!({});
        assert_eq!(reason(&b, SPEC_NOW), Reason::EvmMissingEip712Domain);
        let mut b = good.clone();
        b["paymentRequirements"]["payTo"] = json!("0x0000000000000000000000000000000000000001");
        assert_eq!(reason(&b, SPEC_NOW), Reason::EvmRecipientMismatch);
        assert_eq!(reason(&good, 1_740_672_149), Reason::EvmValidBefore);
        assert_eq!(reason(&good, 1_740_672_088), Reason::EvmValidAfter);
        let mut b = good.clone();
        b["paymentRequirements"]["amount"] = json!("10001");
        assert_eq!(reason(&b, SPEC_NOW), Reason::EvmValueMismatch);
    }

    #[test]
    fn a_signature_that_is_not_froms_needs_the_chain_and_is_never_valid() {
        let mut b = spec_request();
        // A contract wallet's (long) signature.
        b["paymentPayload"]["payload"]["signature"] = json!(format!("0x{}", "11".repeat(100)));
        match offline(&b, SPEC_NOW) {
            Ok(OfflineVerdict::NeedsChain { unless, .. }) => {
                assert_eq!(unless.reason(), Reason::EvmUndeployedSmartWallet)
            }
            other => panic!("{other:?}"),
        }
        // Signed under another domain: recovers to someone else.
        let mut b = spec_request();
        b["paymentRequirements"]["extra"]["name"] = json!("USD Coin");
        match offline(&b, SPEC_NOW) {
            Ok(OfflineVerdict::NeedsChain { unless, .. }) => assert_eq!(unless.reason(), Reason::EvmSignature),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_later_rule_outranks_a_signature_only_the_chain_can_judge() {
        let mut b = spec_request();
        b["paymentPayload"]["payload"]["signature"] = json!(format!("0x{}", "11".repeat(100)));
        b["paymentRequirements"]["amount"] = json!("1");
        assert_eq!(offline(&b, SPEC_NOW).unwrap_err().reason(), Reason::EvmValueMismatch);
    }
}
