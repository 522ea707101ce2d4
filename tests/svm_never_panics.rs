//! Property tests for the Solana decoders through the public API: no string, byte string or mutated
//! payment transaction makes `exact_svm::verify_transaction` or the wire decoder panic; each is a
//! typed error or a verified payment.

use base64::Engine as _;
use proptest::prelude::*;
use serde_json::Value;
use x402_edge::chains::svm::{Pubkey, Transaction};
use x402_edge::schemes::exact_svm::{verify_transaction, SvmRequirements};

fn vector() -> Value {
    let vectors: Value = serde_json::from_str(include_str!("vectors/svm-exact-v0.json")).unwrap();
    vectors["transferV0"].clone()
}

/// The vector's requirements and the facilitator's one fee payer.
fn requirements(v: &Value) -> (SvmRequirements<'_>, [Pubkey; 1]) {
    let s = |k: &str| v[k].as_str().unwrap();
    let requirements = SvmRequirements {
        amount: s("amount"),
        asset: s("mint"),
        pay_to: s("payTo"),
        fee_payer: Some(s("feePayer")),
        memo: Some(s("memo")),
    };
    (requirements, [s("feePayer").parse().unwrap()])
}

fn check(transaction: &str, v: &Value) {
    let s = |k: &str| v[k].as_str().unwrap();
    let (requirements, managed) = requirements(v);
    if let Ok(verified) = verify_transaction(transaction, &requirements, &managed) {
        assert_eq!(verified.payer.to_string(), s("authority"));
    }
}

#[test]
fn the_vector_verifies() {
    let v = vector();
    let s = |k: &str| v[k].as_str().unwrap();
    let (requirements, managed) = requirements(&v);
    let verified = verify_transaction(s("transaction"), &requirements, &managed).unwrap();
    assert_eq!(verified.payer.to_string(), s("authority"));
}

proptest! {
    #[test]
    fn any_text_is_answered(text in "\\PC{0,200}") {
        check(&text, &vector());
    }

    #[test]
    fn any_bytes_are_answered(bytes in proptest::collection::vec(any::<u8>(), 0..1400)) {
        let _ = Transaction::decode(&bytes);
        check(&base64::engine::general_purpose::STANDARD.encode(&bytes), &vector());
    }

    #[test]
    fn any_mutation_of_a_real_payment_is_answered(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let v = vector();
        let mut bytes = base64::engine::general_purpose::STANDARD.decode(v["transaction"].as_str().unwrap()).unwrap();
        for (at, byte) in edits {
            let i = at % bytes.len();
            bytes[i] = byte;
        }
        bytes.truncate(bytes.len() - cut % 4);
        check(&base64::engine::general_purpose::STANDARD.encode(&bytes), &v);
    }
}
