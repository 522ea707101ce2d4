//! The verify hot path natively: the EIP-712 digest of an EIP-3009 authorization and the recovery of
//! its signer, the pure `exact` Solana verify, and the SNIP-12 hash of a Starknet payment. `scripts/bench.sh` runs this and the same functions compiled to wasm (beside viem) and
//! reports the ratios.

use alloy_primitives::Address;
use criterion::{criterion_group, criterion_main, Criterion};
use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use serde_json::Value;
use std::hint::black_box;
use x402_edge::chains::evm::signature::EcdsaSignature;
use x402_edge::protocol::normalize::parse_evm_address;
use x402_edge::schemes::exact_evm::authorization_digest;
use x402_edge::schemes::exact_svm::{verify_transaction, SvmRequirements};
use x402_edge::schemes::parse_request;
use x402_edge::schemes::Payload;

fn spec_body() -> Vec<u8> {
    let examples: Value = serde_json::from_str(include_str!("../tests/vectors/api-examples.json")).unwrap();
    examples["coinbase_v2"]["POST /verify request"].to_string().into_bytes()
}

fn bench(c: &mut Criterion) {
    let body = spec_body();
    let request = parse_request(&body).unwrap();
    let Payload::Eip3009(payload) = &request.payload else { panic!("the spec example is an EIP-3009 payment") };
    let asset: Address = parse_evm_address("0x036CbD53842c5426634e7929541eC2318f3dCF7e").unwrap();
    let a = &payload.authorization;
    let signature = EcdsaSignature::parse(&payload.signature).unwrap();
    let digest = authorization_digest(a, "USDC", "2", 84532, asset);

    c.bench_function("eip712_digest", |b| b.iter(|| authorization_digest(black_box(a), "USDC", "2", 84532, asset)));
    c.bench_function("recover_direct", |b| b.iter(|| signature.recover(black_box(&digest)).unwrap()));
    // The same recovery through k256 alone (the path before recover_vartime).
    c.bench_function("recover_k256_lincomb", |b| {
        b.iter(|| signature.recover_k256_lincomb(black_box(&digest)).unwrap())
    });
    {
        // u1·G + u2·R alone: the variable-time path and k256's constant-time lincomb.
        use k256::elliptic_curve::ops::Reduce;
        use k256::elliptic_curve::point::DecompressPoint;
        use k256::elliptic_curve::subtle::Choice;
        use k256::{AffinePoint, FieldBytes, Scalar};
        use x402_edge::chains::evm::recover_vartime::{k256_lincomb, lincomb_vartime};
        let x = FieldBytes::from(signature.r);
        let big_r = AffinePoint::decompress(&x, Choice::from(u8::from(signature.y_odd))).unwrap();
        let u1 = <Scalar as Reduce<k256::U256>>::reduce_bytes(&FieldBytes::from(digest.0));
        let u2 = <Scalar as Reduce<k256::U256>>::reduce_bytes(&FieldBytes::from(signature.s));
        c.bench_function("lincomb_vartime", |b| b.iter(|| lincomb_vartime(black_box(&u1), &big_r, &u2).unwrap()));
        c.bench_function("lincomb_k256", |b| b.iter(|| k256_lincomb(black_box(&u1), &big_r, &u2).unwrap()));
    }
    c.bench_function("recover_k256_verifying", |b| {
        let sig = Signature::from_scalars(signature.r, signature.s).unwrap();
        let id = RecoveryId::new(signature.y_odd, false);
        b.iter(|| VerifyingKey::recover_from_prehash(black_box(digest.as_slice()), &sig, id).unwrap())
    });
    c.bench_function("verify_signature", |b| {
        b.iter(|| {
            let digest = authorization_digest(black_box(a), "USDC", "2", 84532, asset);
            EcdsaSignature::parse(&payload.signature).unwrap().recover(&digest).unwrap() == a.from
        })
    });
    c.bench_function("parse_and_verify_signature", |b| {
        b.iter(|| {
            let request = parse_request(black_box(&body)).unwrap();
            let Payload::Eip3009(p) = &request.payload else { panic!("the spec example is an EIP-3009 payment") };
            let digest = authorization_digest(&p.authorization, "USDC", "2", 84532, asset);
            EcdsaSignature::parse(&p.signature).unwrap().recover(&digest).unwrap() == p.authorization.from
        })
    });
}

/// The pure `exact` Solana verify of the independently generated v0 payment: base64 and wire decode,
/// the instruction checks, the ATA derivation and the client's ed25519 signature.
fn bench_svm(c: &mut Criterion) {
    let vectors: Value = serde_json::from_str(include_str!("../tests/vectors/svm-exact-v0.json")).unwrap();
    let v = &vectors["transferV0"];
    let s = |k: &str| v[k].as_str().unwrap().to_string();
    let (transaction, amount, mint, pay_to, fee_payer, memo) =
        (s("transaction"), s("amount"), s("mint"), s("payTo"), s("feePayer"), s("memo"));
    let requirements = SvmRequirements {
        amount: &amount,
        asset: &mint,
        pay_to: &pay_to,
        fee_payer: Some(&fee_payer),
        memo: Some(&memo),
    };
    let managed = [fee_payer.parse().unwrap()];
    c.bench_function("svm_verify_exact", |b| {
        b.iter(|| verify_transaction(black_box(&transaction), &requirements, &managed).unwrap())
    });
}

/// The SNIP-12 hash of a SNIP-9 v2 outside execution (starknet.js's vector), the bulk of a Starknet verify;
/// `benches/wasm/starknet.bench.mjs` hashes the same typed data in the package.
#[cfg(feature = "starknet")]
fn bench_starknet(c: &mut Criterion) {
    use x402_edge::chains::starknet::{message_hash, parse_felt};
    let vectors: Value = serde_json::from_str(include_str!("../tests/vectors/starknet.json")).unwrap();
    let v = &vectors["outsideExecutions"][2];
    let account = parse_felt(v["account"].as_str().unwrap()).unwrap();
    c.bench_function("starknet_message_hash", |b| {
        b.iter(|| message_hash(black_box(&v["typedData"]), account).unwrap())
    });
}

#[cfg(feature = "starknet")]
criterion_group!(benches, bench, bench_svm, bench_starknet);
#[cfg(not(feature = "starknet"))]
criterion_group!(benches, bench, bench_svm);
criterion_main!(benches);
