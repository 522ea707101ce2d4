//! Every rule of `exact` on Solana, with transactions assembled and signed here (legacy and v0), and
//! each negative case asserting its exact wire code.

use serde_json::Value;

use super::*;
use crate::chains::svm::pubkey::programs;
use crate::chains::svm::{
    AddressTableLookup, CompiledInstruction, ComputeBudgetInstruction, Message, MessageHeader, MessageVersion,
};
use crate::protocol::model::Version;

const USDC_DEVNET: &str = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU";
const AMOUNT: u64 = 10_000;

fn keypair(label: u8) -> Keypair {
    Keypair::from_seed(&[label; 32])
}

fn fee_payer() -> Keypair {
    keypair(1)
}

fn client() -> Keypair {
    keypair(2)
}

fn pay_to() -> Pubkey {
    keypair(3).pubkey()
}

fn mint() -> Pubkey {
    USDC_DEVNET.parse().unwrap()
}

fn ata(owner: &Pubkey, mint: &Pubkey, program: &Pubkey) -> Pubkey {
    crate::chains::svm::associated_token_address(owner, mint, program).unwrap()
}

#[derive(Clone)]
struct Meta {
    key: Pubkey,
    signer: bool,
    writable: bool,
}

fn signer(key: Pubkey) -> Meta {
    Meta { key, signer: true, writable: false }
}

fn writable(key: Pubkey) -> Meta {
    Meta { key, signer: false, writable: true }
}

fn readonly(key: Pubkey) -> Meta {
    Meta { key, signer: false, writable: false }
}

#[derive(Clone)]
struct Ix {
    program: Pubkey,
    accounts: Vec<Meta>,
    data: Vec<u8>,
}

fn compute_limit(units: u32) -> Ix {
    Ix {
        program: programs::COMPUTE_BUDGET,
        accounts: vec![],
        data: ComputeBudgetInstruction::SetComputeUnitLimit(units).encode(),
    }
}

fn compute_price(micro_lamports: u64) -> Ix {
    Ix {
        program: programs::COMPUTE_BUDGET,
        accounts: vec![],
        data: ComputeBudgetInstruction::SetComputeUnitPrice(micro_lamports).encode(),
    }
}

/// TransferChecked of `amount` from `authority`'s ATA to `to`'s ATA.
fn transfer_from(authority: Pubkey, to: Pubkey, mint: Pubkey, program: Pubkey, amount: u64) -> Ix {
    Ix {
        program,
        accounts: vec![
            writable(ata(&authority, &mint, &program)),
            readonly(mint),
            writable(ata(&to, &mint, &program)),
            signer(authority),
        ],
        data: TransferChecked::encode_data(amount, 6),
    }
}

fn transfer(amount: u64) -> Ix {
    transfer_from(client().pubkey(), pay_to(), mint(), programs::TOKEN, amount)
}

fn memo(text: &str) -> Ix {
    Ix { program: programs::MEMO, accounts: vec![], data: text.as_bytes().to_vec() }
}

/// The instructions an honest client sends.
fn honest() -> Vec<Ix> {
    vec![compute_limit(200_000), compute_price(1_000), transfer(AMOUNT), memo("0123456789abcdef0123456789abcdef")]
}

/// Compiles instructions into a message the way Solana clients do: the fee payer first, then writable
/// signers, read-only signers, writable accounts and read-only accounts (programs among them).
fn compile(version: MessageVersion, payer: Pubkey, ixs: &[Ix]) -> Message {
    let mut metas = vec![Meta { key: payer, signer: true, writable: true }];
    for ix in ixs {
        metas.extend(ix.accounts.iter().cloned());
        metas.push(readonly(ix.program));
    }
    let mut merged: Vec<Meta> = Vec::new();
    for m in metas {
        match merged.iter_mut().find(|x| x.key == m.key) {
            Some(x) => {
                x.signer |= m.signer;
                x.writable |= m.writable;
            }
            None => merged.push(m),
        }
    }
    let rank = |m: &Meta| match (m.signer, m.writable) {
        (true, true) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (false, false) => 3,
    };
    let (first, rest) = merged.split_at(1);
    let mut rest = rest.to_vec();
    rest.sort_by_key(rank);
    let ordered: Vec<Meta> = first.iter().cloned().chain(rest).collect();
    let count = |r: u8| ordered.iter().filter(|m| rank(m) == r).count() as u8;
    let keys: Vec<Pubkey> = ordered.iter().map(|m| m.key).collect();
    let index = |k: &Pubkey| keys.iter().position(|x| x == k).unwrap() as u8;
    Message {
        version,
        header: MessageHeader {
            num_required_signatures: count(0) + count(1),
            num_readonly_signed_accounts: count(1),
            num_readonly_unsigned_accounts: count(3),
        },
        recent_blockhash: [42; 32],
        instructions: ixs
            .iter()
            .map(|ix| CompiledInstruction {
                program_id_index: index(&ix.program),
                accounts: ix.accounts.iter().map(|m| index(&m.key)).collect(),
                data: ix.data.clone(),
            })
            .collect(),
        account_keys: keys,
        address_table_lookups: vec![],
    }
}

fn sign(message: Message, signers: &[&Keypair]) -> Transaction {
    let mut tx = Transaction::new_unsigned(message);
    for k in signers {
        tx.sign(k).unwrap();
    }
    tx
}

/// A v0 transaction of these instructions with the facilitator as fee payer, signed by the client
/// (when the client is a signer of it).
fn build(ixs: &[Ix]) -> String {
    let mut tx = Transaction::new_unsigned(compile(MessageVersion::V0, fee_payer().pubkey(), ixs));
    let client = client();
    if tx.signer_index(&client.pubkey()).is_some() {
        tx.sign(&client).unwrap();
    }
    tx.to_base64()
}

fn requirements<'a>(
    amount: &'a str,
    pay_to: &'a str,
    fee_payer: &'a str,
    memo: Option<&'a str>,
) -> SvmRequirements<'a> {
    SvmRequirements { amount, asset: USDC_DEVNET, pay_to, fee_payer: Some(fee_payer), memo }
}

fn verify_with(transaction: &str, memo: Option<&str>) -> Result<VerifiedSvm, ExactSvmError> {
    let (pay_to, payer) = (pay_to().to_string(), fee_payer().pubkey().to_string());
    let amount = AMOUNT.to_string();
    verify_transaction(transaction, &requirements(&amount, &pay_to, &payer, memo), &[fee_payer().pubkey()])
}

fn verify(transaction: &str) -> Result<VerifiedSvm, ExactSvmError> {
    verify_with(transaction, None)
}

/// The v2 wire code of a refusal.
fn code(result: Result<VerifiedSvm, ExactSvmError>) -> &'static str {
    result.expect_err("the payment must be refused").reason().code(Version::V2)
}

#[test]
fn an_honest_payment_verifies_as_v0_and_legacy() {
    for version in [MessageVersion::V0, MessageVersion::Legacy] {
        let tx = sign(compile(version, fee_payer().pubkey(), &honest()), &[&client()]);
        let verified = verify(&tx.to_base64()).unwrap();
        assert_eq!(verified.payer, client().pubkey());
        assert_eq!(verified.fee_payer, fee_payer().pubkey());
        assert_eq!(verified.token_program, programs::TOKEN);
        assert_eq!(verified.transfer.amount, AMOUNT);
        assert_eq!(verified.transfer.destination, ata(&pay_to(), &mint(), &programs::TOKEN));
        assert_eq!((verified.compute_unit_limit, verified.compute_unit_price_micro_lamports), (200_000, 1_000));
        assert_eq!(verified.transaction, tx);
    }
}

#[test]
fn the_duplicate_key_is_the_message_hash_whatever_the_signatures() {
    let tx = build(&honest());
    let mut verified = verify(&tx).unwrap();
    let key = verified.duplicate_key();
    assert_eq!(key.len(), 64);
    use sha2::Digest;
    assert_eq!(key, hex::encode(sha2::Sha256::digest(verified.transaction.message_bytes())));
    let signed = verified.co_sign(&fee_payer()).unwrap();
    let reparsed = Transaction::from_base64(&signed).unwrap();
    assert_eq!(duplicate_key(&reparsed), key);
    // Another payment (another memo) has another key.
    let other = build(&[compute_limit(200_000), compute_price(1_000), transfer(AMOUNT), memo("another nonce 0000")]);
    assert_ne!(verify(&other).unwrap().duplicate_key(), key);
}

#[test]
fn co_signing_fills_the_fee_payer_slot_and_nothing_else() {
    let tx = build(&honest());
    let mut verified = verify(&tx).unwrap();
    let signed = verified.co_sign(&fee_payer()).unwrap();
    let decoded = Transaction::from_base64(&signed).unwrap();
    assert_eq!(decoded.verify_signer(&fee_payer().pubkey()), Ok(()));
    assert_eq!(decoded.verify_signer(&client().pubkey()), Ok(()));
    assert_eq!(decoded.message_bytes(), Transaction::from_base64(&tx).unwrap().message_bytes());
    // The co-signed transaction still verifies (a settle re-runs verify).
    assert_eq!(verify(&signed).map(|v| v.payer), Ok(client().pubkey()));
    let wrong = verified.co_sign(&keypair(9)).unwrap_err();
    assert_eq!(wrong, ExactSvmError::WrongFeePayerKey { actual: keypair(9).pubkey(), expected: fee_payer().pubkey() });
    assert_eq!(wrong.reason().code(Version::V2), "unexpected_settle_error");
}

#[test]
fn the_fee_payer_must_be_given_and_managed() {
    let tx = build(&honest());
    let (amount, pay_to) = (AMOUNT.to_string(), pay_to().to_string());
    let managed = [fee_payer().pubkey()];
    let mut req = requirements(&amount, &pay_to, "", None);
    req.fee_payer = None;
    assert_eq!(code(verify_transaction(&tx, &req, &managed)), "invalid_exact_svm_payload_missing_fee_payer");
    let other = keypair(9).pubkey().to_string();
    for fee_payer in [other.as_str(), "not base58 0OIl", ""] {
        req.fee_payer = Some(fee_payer);
        assert_eq!(
            code(verify_transaction(&tx, &req, &managed)),
            "invalid_exact_svm_fee_payer_not_managed_by_facilitator"
        );
    }
    // A facilitator with no fee payer manages none.
    req.fee_payer = Some(&other);
    let err = verify_transaction(&tx, &req, &[]).unwrap_err();
    assert_eq!(err.reason().code(Version::V2), "invalid_exact_svm_fee_payer_not_managed_by_facilitator");
    assert_eq!(err.reason().code(Version::V1), "invalid_payment_requirements");
}

#[test]
fn malformed_requirements_are_invalid_payment_requirements() {
    let tx = build(&honest());
    let (pay_to, fee_payer) = (pay_to().to_string(), fee_payer().pubkey().to_string());
    let managed = [fee_payer.parse().unwrap()];
    for amount in ["", "-1", "+5", "1.5", "0x10", "18446744073709551616"] {
        let req = requirements(amount, &pay_to, &fee_payer, None);
        assert_eq!(code(verify_transaction(&tx, &req, &managed)), "invalid_payment_requirements", "{amount}");
    }
    let mut req = requirements("10000", "nope", &fee_payer, None);
    assert_eq!(code(verify_transaction(&tx, &req, &managed)), "invalid_payment_requirements");
    req.pay_to = &pay_to;
    req.asset = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
    assert_eq!(code(verify_transaction(&tx, &req, &managed)), "invalid_payment_requirements");
}

#[test]
fn undecodable_transactions_are_refused() {
    for tx in ["", "!!!", "AAAA", "AQID", &"A".repeat(4000)] {
        assert_eq!(code(verify(tx)), "invalid_exact_svm_payload_transaction_could_not_be_decoded", "{tx:.10}");
    }
    // Trailing bytes after a valid transaction.
    let mut wire = Transaction::from_base64(&build(&honest())).unwrap().encode();
    wire.push(0);
    let tx = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, wire);
    assert_eq!(verify(&tx), Err(ExactSvmError::Undecodable(crate::chains::svm::DecodeError::TrailingBytes(1))));
}

#[test]
fn address_lookup_tables_are_refused_with_a_clear_error() {
    let mut message = compile(MessageVersion::V0, fee_payer().pubkey(), &honest());
    message.address_table_lookups = vec![AddressTableLookup {
        account_key: keypair(8).pubkey(),
        writable_indexes: vec![0],
        readonly_indexes: vec![],
    }];
    let tx = sign(message, &[&client()]).to_base64();
    let err = verify(&tx).unwrap_err();
    assert_eq!(err, ExactSvmError::AddressLookupTables(1));
    assert!(err.to_string().contains("address lookup table"));
    assert_eq!(err.reason().code(Version::V2), "invalid_exact_svm_payload_transaction_could_not_be_decoded");
}

/// A Lighthouse assertion as wallets add it (its data is opaque to the facilitator).
fn lighthouse(data: &[u8]) -> Ix {
    Ix { program: programs::LIGHTHOUSE, accounts: vec![], data: data.to_vec() }
}

#[test]
fn three_to_seven_instructions() {
    let [limit, price, transfer, memo] = <[Ix; 4]>::try_from(honest()).ok().unwrap();
    let length = "invalid_exact_svm_payload_transaction_instructions_length";
    assert_eq!(code(verify(&build(&[limit.clone(), price.clone()]))), length);
    assert!(verify(&build(&[limit.clone(), price.clone(), transfer.clone()])).is_ok());
    // Phantom's layout: the client's memo and three Lighthouse assertions.
    let seven = [limit, price, transfer, lighthouse(&[1]), lighthouse(&[2]), lighthouse(&[3]), memo.clone()];
    assert!(verify(&build(&seven)).is_ok());
    let mut eight = seven.to_vec();
    eight.push(memo);
    let err = verify(&build(&eight)).unwrap_err();
    assert_eq!(err, ExactSvmError::InstructionCount(8));
    assert!(err.to_string().contains("3 to 7"), "{err}");
    assert_eq!(err.reason().code(Version::V2), length);
    assert_eq!(err.reason().code(Version::V1), length);
}

#[test]
fn compute_budget_instructions_come_first_and_the_price_is_capped() {
    let limit_code = "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction";
    let price_code = "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction";
    let too_high = "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high";
    // Swapped.
    assert_eq!(code(verify(&build(&[compute_price(1), compute_limit(1), transfer(AMOUNT)]))), limit_code);
    // The transfer first (reordered).
    assert_eq!(code(verify(&build(&[transfer(AMOUNT), compute_limit(1), compute_price(1)]))), limit_code);
    // Two limits.
    assert_eq!(code(verify(&build(&[compute_limit(1), compute_limit(1), transfer(AMOUNT)]))), price_code);
    // A memo in place of the price.
    assert_eq!(code(verify(&build(&[compute_limit(1), memo("x"), transfer(AMOUNT)]))), price_code);
    // Malformed data: a short limit, a long price.
    let mut short = compute_limit(1);
    short.data.pop();
    assert_eq!(code(verify(&build(&[short, compute_price(1), transfer(AMOUNT)]))), limit_code);
    let mut long = compute_price(1);
    long.data.push(0);
    assert_eq!(code(verify(&build(&[compute_limit(1), long, transfer(AMOUNT)]))), price_code);
    // The cap: 5 lamports per compute unit.
    assert!(verify(&build(&[compute_limit(1), compute_price(5_000_000), transfer(AMOUNT)])).is_ok());
    let over = verify(&build(&[compute_limit(1), compute_price(5_000_001), transfer(AMOUNT)]));
    assert_eq!(over, Err(ExactSvmError::ComputePriceTooHigh { micro_lamports: 5_000_001, cap: 5_000_000 }));
    assert_eq!(code(over), too_high);
    assert_eq!(code(verify(&build(&[compute_limit(1), compute_price(u64::MAX), transfer(AMOUNT)]))), too_high);
}

#[test]
fn the_third_instruction_must_be_transfer_checked() {
    let no_transfer = "invalid_exact_svm_payload_no_transfer_instruction";
    let head = || vec![compute_limit(200_000), compute_price(1)];
    // SPL Token Transfer (3) instead of TransferChecked (12).
    let mut plain = transfer(AMOUNT);
    plain.data = [vec![3], AMOUNT.to_le_bytes().to_vec()].concat();
    assert_eq!(code(verify(&build(&[head(), vec![plain]].concat()))), no_transfer);
    // The right data under another program.
    let mut system = transfer(AMOUNT);
    system.program = programs::SYSTEM;
    assert_eq!(code(verify(&build(&[head(), vec![system]].concat()))), no_transfer);
    // Too few accounts.
    let mut few = transfer(AMOUNT);
    few.accounts.truncate(3);
    assert_eq!(code(verify(&build(&[head(), vec![few]].concat()))), no_transfer);
    // A memo in third place.
    assert_eq!(code(verify(&build(&[head(), vec![memo("x"), transfer(AMOUNT)]].concat()))), no_transfer);
}

#[test]
fn the_fee_payer_never_moves_funds_nor_appears_in_accounts() {
    let facilitator = fee_payer().pubkey();
    let head = || vec![compute_limit(200_000), compute_price(1)];
    // The fee payer as the transfer authority, paying the merchant from its own token account.
    let theft = transfer_from(facilitator, pay_to(), mint(), programs::TOKEN, AMOUNT);
    let tx = sign(compile(MessageVersion::V0, facilitator, &[head(), vec![theft]].concat()), &[]).to_base64();
    assert_eq!(code(verify(&tx)), "invalid_exact_svm_payload_transaction_fee_payer_transferring_funds");
    // Any fee payer of the facilitator counts, not only the one the requirements name.
    let second = keypair(7);
    let theft = transfer_from(second.pubkey(), pay_to(), mint(), programs::TOKEN, AMOUNT);
    let tx = sign(compile(MessageVersion::V0, facilitator, &[head(), vec![theft]].concat()), &[&second]).to_base64();
    let (amount, pay_to_text, fp) = (AMOUNT.to_string(), pay_to().to_string(), facilitator.to_string());
    let req = requirements(&amount, &pay_to_text, &fp, None);
    assert_eq!(
        code(verify_transaction(&tx, &req, &[facilitator, second.pubkey()])),
        "invalid_exact_svm_payload_transaction_fee_payer_transferring_funds"
    );

    let included = "invalid_exact_svm_payload_transaction_fee_payer_included_in_instruction_accounts";
    // The fee payer's token account as the source.
    let mut from_fee_payer = transfer(AMOUNT);
    from_fee_payer.accounts[0] = writable(facilitator);
    assert_eq!(code(verify(&build(&[head(), vec![from_fee_payer]].concat()))), included);
    // The fee payer as a multisig co-signer of the transfer.
    let mut multisig = transfer(AMOUNT);
    multisig.accounts.push(signer(facilitator));
    assert_eq!(code(verify(&build(&[head(), vec![multisig]].concat()))), included);
    // The fee payer in a later instruction's accounts (a memo it "signs").
    let mut signed_memo = memo("nonce");
    signed_memo.accounts.push(signer(facilitator));
    let err = verify(&build(&[head(), vec![transfer(AMOUNT), signed_memo]].concat())).unwrap_err();
    assert_eq!(err, ExactSvmError::FeePayerInInstructionAccounts { fee_payer: facilitator, instruction: 4 });
    assert_eq!(err.reason().code(Version::V2), included);
    // In a compute budget instruction's accounts.
    let mut limit = compute_limit(1);
    limit.accounts.push(writable(facilitator));
    assert_eq!(code(verify(&build(&[limit, compute_price(1), transfer(AMOUNT)]))), included);
}

#[test]
fn mint_destination_and_amount_must_match() {
    let head = || vec![compute_limit(200_000), compute_price(1)];
    let other_mint = keypair(20).pubkey();
    let wrong_mint = transfer_from(client().pubkey(), pay_to(), other_mint, programs::TOKEN, AMOUNT);
    assert_eq!(code(verify(&build(&[head(), vec![wrong_mint]].concat()))), "invalid_exact_svm_payload_mint_mismatch");
    // Paid to someone else's ATA.
    let elsewhere = transfer_from(client().pubkey(), keypair(21).pubkey(), mint(), programs::TOKEN, AMOUNT);
    assert_eq!(
        code(verify(&build(&[head(), vec![elsewhere]].concat()))),
        "invalid_exact_svm_payload_recipient_mismatch"
    );
    // Paid to payTo's wallet itself, not its token account.
    let mut to_wallet = transfer(AMOUNT);
    to_wallet.accounts[2] = writable(pay_to());
    assert_eq!(
        code(verify(&build(&[head(), vec![to_wallet]].concat()))),
        "invalid_exact_svm_payload_recipient_mismatch"
    );
    // Token-2022 with payTo's SPL Token ATA: the ATA depends on the program.
    let mut mixed = transfer(AMOUNT);
    mixed.program = programs::TOKEN_2022;
    let err = verify(&build(&[head(), vec![mixed]].concat())).unwrap_err();
    assert_eq!(err.reason().code(Version::V2), "invalid_exact_svm_payload_recipient_mismatch");
    // Token-2022 with the Token-2022 ATA is fine.
    let t22 = transfer_from(client().pubkey(), pay_to(), mint(), programs::TOKEN_2022, AMOUNT);
    assert_eq!(verify(&build(&[head(), vec![t22]].concat())).map(|v| v.token_program), Ok(programs::TOKEN_2022));
    for amount in [AMOUNT - 1, AMOUNT + 1, 0, u64::MAX] {
        let err = verify(&build(&[head(), vec![transfer(amount)]].concat())).unwrap_err();
        assert_eq!(err, ExactSvmError::AmountMismatch { amount, required: AMOUNT });
        assert_eq!(err.reason().code(Version::V2), "invalid_exact_svm_payload_amount_mismatch");
    }
}

#[test]
fn only_lighthouse_or_memo_may_follow_the_transfer() {
    let base = || vec![compute_limit(200_000), compute_price(1), transfer(AMOUNT)];
    let system = Ix { program: programs::SYSTEM, accounts: vec![], data: vec![2, 0, 0, 0] };
    let lighthouse = lighthouse(&[1]);
    assert_eq!(
        code(verify(&build(&[base(), vec![system.clone()]].concat()))),
        "invalid_exact_svm_payload_unknown_fourth_instruction"
    );
    assert_eq!(
        code(verify(&build(&[base(), vec![memo("a"), system.clone()]].concat()))),
        "invalid_exact_svm_payload_unknown_fifth_instruction"
    );
    assert_eq!(
        code(verify(&build(&[base(), vec![memo("a"), lighthouse.clone(), system.clone()]].concat()))),
        "invalid_exact_svm_payload_unknown_sixth_instruction"
    );
    // A second transfer (to the attacker) after the checked one.
    let extra = transfer_from(client().pubkey(), keypair(22).pubkey(), mint(), programs::TOKEN, 1);
    assert_eq!(
        code(verify(&build(&[base(), vec![extra]].concat()))),
        "invalid_exact_svm_payload_unknown_fourth_instruction"
    );
    let seventh = verify(&build(&[base(), vec![memo("a"), lighthouse.clone(), lighthouse.clone(), system]].concat()));
    assert_eq!(seventh, Err(ExactSvmError::UnknownInstruction { position: 7, program: programs::SYSTEM }));
    assert_eq!(code(seventh.clone()), "invalid_exact_svm_payload_unknown_seventh_instruction");
    assert_eq!(seventh.unwrap_err().reason().code(Version::V1), "invalid_exact_svm_payload_transaction_instructions");
    // The Memo program v1 (another id) is not the Memo program.
    let memo_v1 = Ix { program: "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo".parse().unwrap(), ..memo("a") };
    assert_eq!(
        code(verify(&build(&[base(), vec![memo_v1]].concat()))),
        "invalid_exact_svm_payload_unknown_fourth_instruction"
    );
    // Lighthouse and Memo in any order and any of the four places, as `@x402/svm` 2.27 takes them.
    assert!(verify(&build(&[base(), vec![lighthouse.clone(), memo("a"), lighthouse.clone()]].concat())).is_ok());
    let four = vec![memo("a"), lighthouse.clone(), memo("b"), lighthouse.clone()];
    assert!(verify(&build(&[base(), four].concat())).is_ok());
}

/// An allowed program is no way around the fee payer's isolation: a Lighthouse or Memo instruction
/// that names the fee payer (as a signer or a writable account it could drain) is refused.
#[test]
fn an_optional_instruction_may_not_name_the_fee_payer() {
    let base = || vec![compute_limit(200_000), compute_price(1), transfer(AMOUNT)];
    let included = "invalid_exact_svm_payload_transaction_fee_payer_included_in_instruction_accounts";
    let facilitator = fee_payer().pubkey();
    for position in 4..=7 {
        let mut optional: Vec<Ix> = (4..position).map(|_| lighthouse(&[0])).collect();
        let mut assertion = lighthouse(&[9]);
        assertion.accounts.push(writable(facilitator));
        optional.push(assertion);
        let err = verify(&build(&[base(), optional].concat())).unwrap_err();
        assert_eq!(err, ExactSvmError::FeePayerInInstructionAccounts { fee_payer: facilitator, instruction: position });
        assert_eq!(err.reason().code(Version::V2), included);
    }
    let mut signed_memo = memo("nonce");
    signed_memo.accounts.push(signer(facilitator));
    let optional = vec![lighthouse(&[1]), lighthouse(&[2]), lighthouse(&[3]), signed_memo];
    assert_eq!(code(verify(&build(&[base(), optional].concat()))), included);
}

#[test]
fn the_required_memo_appears_exactly_once() {
    let base = || vec![compute_limit(200_000), compute_price(1), transfer(AMOUNT)];
    let want = Some("order-42");
    assert!(verify_with(&build(&[base(), vec![memo("order-42")]].concat()), want).is_ok());
    let count = |r| matches!(r, Err(ExactSvmError::MemoCount(_))).then(|| code(r));
    assert_eq!(count(verify_with(&build(&base()), want)), Some("invalid_exact_svm_payload_memo_count"));
    assert_eq!(
        verify_with(&build(&[base(), vec![memo("order-42"), memo("order-42")]].concat()), want),
        Err(ExactSvmError::MemoCount(2))
    );
    assert_eq!(
        code(verify_with(&build(&[base(), vec![memo("order-43")]].concat()), want)),
        "invalid_exact_svm_payload_memo_mismatch"
    );
    assert_eq!(
        code(verify_with(&build(&[base(), vec![memo("order-42 ")]].concat()), want)),
        "invalid_exact_svm_payload_memo_mismatch"
    );
    let mut binary = memo("");
    binary.data = vec![0xff, 0xfe];
    assert_eq!(
        code(verify_with(&build(&[base(), vec![binary]].concat()), want)),
        "invalid_exact_svm_payload_memo_mismatch"
    );
    // Without extra.memo, any memo (or none) is fine.
    assert!(verify(&build(&[base(), vec![memo("a"), memo("b")]].concat())).is_ok());
}

#[test]
fn a_tampered_or_missing_client_signature_is_refused() {
    let invalid = "invalid_exact_svm_payload_signature_invalid";
    let tx = Transaction::from_base64(&build(&honest())).unwrap();
    let client_slot = tx.signer_index(&client().pubkey()).unwrap();
    // A flipped signature bit.
    let mut flipped = tx.clone();
    flipped.signatures[client_slot][10] ^= 0x01;
    let err = verify(&flipped.to_base64()).unwrap_err();
    assert!(matches!(err, ExactSvmError::Signature(_)), "{err}");
    assert_eq!(err.reason().code(Version::V2), invalid);
    assert_eq!(err.reason().code(Version::V1), "invalid_exact_svm_payload_transaction");
    // The message changed after signing (a higher compute price, still under the cap).
    let mut wire = tx.encode();
    let message_at = 1 + 64 * tx.signatures.len();
    let price_data = ComputeBudgetInstruction::SetComputeUnitPrice(1_000).encode();
    let at = message_at + find(&wire[message_at..], &price_data);
    wire[at + 2] = 0x10;
    let tampered = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &wire);
    assert_eq!(code(verify(&tampered)), invalid);
    // Never signed by the client.
    let unsigned = sign(compile(MessageVersion::V0, fee_payer().pubkey(), &honest()), &[]).to_base64();
    assert_eq!(code(verify(&unsigned)), invalid);
    // Signed by another key.
    let mut forged = tx.clone();
    forged.signatures[client_slot] = keypair(9).sign(tx.message_bytes());
    assert_eq!(code(verify(&forged.to_base64())), invalid);
}

#[test]
fn a_signer_the_transfer_does_not_need_is_refused() {
    // A key of the client's own signs beside the authority (named by a Memo, as Memo allows): the
    // signature verifies, and the fee payer would pay 5,000 lamports more for it.
    let extra = keypair(7);
    let mut signed_memo = memo("0123456789abcdef0123456789abcdef");
    signed_memo.accounts = vec![signer(extra.pubkey())];
    let ixs = [compute_limit(200_000), compute_price(1_000), transfer(AMOUNT), signed_memo];
    let tx = sign(compile(MessageVersion::V0, fee_payer().pubkey(), &ixs), &[&client(), &extra]).to_base64();
    assert_eq!(verify(&tx), Err(ExactSvmError::UnneededSigner(extra.pubkey())));
    assert_eq!(code(verify(&tx)), "invalid_exact_svm_payload_signature_invalid");
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).position(|w| w == needle).unwrap()
}

#[test]
fn the_authority_must_sign_and_the_facilitator_must_pay_the_fees() {
    let invalid = "invalid_exact_svm_payload_signature_invalid";
    // The authority is not a signer of the message.
    let mut unsigned_authority = transfer(AMOUNT);
    unsigned_authority.accounts[3] = readonly(client().pubkey());
    let ixs = [compute_limit(1), compute_price(1), unsigned_authority];
    let tx = sign(compile(MessageVersion::V0, fee_payer().pubkey(), &ixs), &[]).to_base64();
    assert_eq!(verify(&tx), Err(ExactSvmError::AuthorityNotSigner(client().pubkey())));
    assert_eq!(code(verify(&tx)), invalid);
    // The client is the fee payer: the facilitator is not even in the transaction.
    let tx = sign(compile(MessageVersion::V0, client().pubkey(), &honest()), &[&client()]).to_base64();
    let err = verify(&tx).unwrap_err();
    assert_eq!(err, ExactSvmError::FeePayerMismatch { actual: client().pubkey(), expected: fee_payer().pubkey() });
    assert_eq!(err.reason().code(Version::V2), "invalid_exact_svm_fee_payer_mismatch");
    assert_eq!(err.reason().code(Version::V1), "invalid_exact_svm_payload_transaction");
    // Another signer's signature is missing.
    let mut co = honest();
    co[3].accounts.push(signer(keypair(23).pubkey()));
    let tx = sign(compile(MessageVersion::V0, fee_payer().pubkey(), &co), &[&client()]).to_base64();
    assert_eq!(code(verify(&tx)), invalid);
    // With it, the signer is one the transfer does not need (see the next test).
    let tx = sign(compile(MessageVersion::V0, fee_payer().pubkey(), &co), &[&client(), &keypair(23)]).to_base64();
    assert_eq!(verify(&tx), Err(ExactSvmError::UnneededSigner(keypair(23).pubkey())));
}

#[test]
fn v1_codes_come_from_the_legacy_enum() {
    let v1 = |r: Result<VerifiedSvm, ExactSvmError>| r.unwrap_err().reason().code(Version::V1);
    let head = || vec![compute_limit(200_000), compute_price(1)];
    assert_eq!(
        v1(verify(&build(&[head(), vec![transfer(1)]].concat()))),
        "invalid_exact_svm_payload_transaction_amount_mismatch"
    );
    assert_eq!(v1(verify("AAAA")), "invalid_exact_svm_payload_transaction");
    let elsewhere = transfer_from(client().pubkey(), keypair(21).pubkey(), mint(), programs::TOKEN, AMOUNT);
    assert_eq!(
        v1(verify(&build(&[head(), vec![elsewhere]].concat()))),
        "invalid_exact_svm_payload_transaction_transfer_to_incorrect_ata"
    );
}

#[test]
fn the_independently_built_transaction_verifies() {
    let vectors: Value = serde_json::from_str(include_str!("../../../tests/vectors/svm-exact-v0.json")).unwrap();
    let v = &vectors["transferV0"];
    let s = |k: &str| v[k].as_str().unwrap();
    let fee_payer: Pubkey = s("feePayer").parse().unwrap();
    let req = SvmRequirements {
        amount: s("amount"),
        asset: s("mint"),
        pay_to: s("payTo"),
        fee_payer: Some(s("feePayer")),
        memo: Some(s("memo")),
    };
    let mut verified = verify_transaction(s("transaction"), &req, &[fee_payer]).unwrap();
    assert_eq!(verified.payer.to_string(), s("authority"));
    assert_eq!(verified.duplicate_key(), s("messageSha256"));
    let seed: [u8; 32] = hex::decode(s("feePayerSeed")).unwrap().try_into().unwrap();
    let signed = verified.co_sign(&Keypair::from_seed(&seed)).unwrap();
    assert_eq!(Transaction::from_base64(&signed).unwrap().verify_signer(&fee_payer), Ok(()));
    // The same transaction against other requirements.
    let mut other = req;
    other.amount = "10001";
    assert_eq!(
        code(verify_transaction(s("transaction"), &other, &[fee_payer])),
        "invalid_exact_svm_payload_amount_mismatch"
    );
    other.amount = s("amount");
    other.memo = Some("something else");
    assert_eq!(
        code(verify_transaction(s("transaction"), &other, &[fee_payer])),
        "invalid_exact_svm_payload_memo_mismatch"
    );
}

/// Every SVM reason is reachable from a typed error, and each maps to its own v2 code.
#[test]
fn every_svm_error_has_its_own_code() {
    let key = Pubkey::default();
    let errors = [
        ExactSvmError::SchemeMismatch { accepted: String::new(), required: String::new() },
        ExactSvmError::NetworkMismatch { accepted: String::new(), required: String::new() },
        ExactSvmError::FeePayerMismatch { actual: key, expected: key },
        ExactSvmError::ComputeLimitTooHigh { units: 0, cap: 0 },
        ExactSvmError::UnknownInstruction { position: 7, program: key },
        ExactSvmError::DestinationAtaMissing(key),
        ExactSvmError::TransactionFailed { signature: String::new(), err: String::new() },
        ExactSvmError::MissingFeePayer,
        ExactSvmError::FeePayerNotManaged(String::new()),
        ExactSvmError::Undecodable(crate::chains::svm::DecodeError::Base64),
        ExactSvmError::Signature(crate::chains::svm::SignatureError::Invalid(key)),
        ExactSvmError::InstructionCount(0),
        ExactSvmError::ComputeLimit(String::new()),
        ExactSvmError::ComputePrice(String::new()),
        ExactSvmError::ComputePriceTooHigh { micro_lamports: 0, cap: 0 },
        ExactSvmError::NoTransferInstruction(String::new()),
        ExactSvmError::FeePayerTransferringFunds(key),
        ExactSvmError::FeePayerInInstructionAccounts { fee_payer: key, instruction: 0 },
        ExactSvmError::MintMismatch { mint: key, asset: key },
        ExactSvmError::RecipientMismatch { destination: key, expected: key },
        ExactSvmError::AmountMismatch { amount: 0, required: 0 },
        ExactSvmError::UnknownInstruction { position: 4, program: key },
        ExactSvmError::UnknownInstruction { position: 5, program: key },
        ExactSvmError::UnknownInstruction { position: 6, program: key },
        ExactSvmError::MemoCount(0),
        ExactSvmError::MemoMismatch,
        ExactSvmError::SimulationFailed(String::new()),
        ExactSvmError::Expired(String::new()),
        ExactSvmError::ConfirmationTimedOut(String::new()),
    ];
    let codes: std::collections::HashSet<&str> = errors.iter().map(|e| e.reason().code(Version::V2)).collect();
    assert_eq!(codes.len(), errors.len());
    let svm_reasons = crate::protocol::Reason::ALL.iter().filter(|r| format!("{r:?}").starts_with("Svm")).count();
    assert_eq!(svm_reasons, errors.len());
}

#[test]
fn a_payment_to_oneself_is_refused_as_a_self_payment() {
    let program = programs::TOKEN;
    // payTo is the authority: the destination is the payer's own associated account.
    let to_self = transfer_from(client().pubkey(), client().pubkey(), mint(), program, AMOUNT);
    let tx = build(&[compute_limit(20_000), compute_price(1), to_self]);
    let (amount, fee_payer_key, client_key) =
        (AMOUNT.to_string(), fee_payer().pubkey().to_string(), client().pubkey().to_string());
    let required = requirements(&amount, &client_key, &fee_payer_key, None);
    let result = verify_transaction(&tx, &required, &[fee_payer().pubkey()]);
    assert_eq!(code(result), "self_payment");
    // A delegate moving payTo's own tokens into payTo's account: source is destination.
    let destination = ata(&pay_to(), &mint(), &program);
    let delegated = Ix {
        program,
        accounts: vec![writable(destination), readonly(mint()), writable(destination), signer(client().pubkey())],
        data: TransferChecked::encode_data(AMOUNT, 6),
    };
    assert_eq!(code(verify(&build(&[compute_limit(20_000), compute_price(1), delegated]))), "self_payment");
}

#[test]
fn the_accepted_scheme_and_network_are_the_requirements() {
    let devnet = crate::network::find("solana-devnet").unwrap();
    let accepted = |scheme: &str, network: &str| Accepted {
        scheme: scheme.into(),
        network: network.into(),
        asset: None,
        pay_to: None,
        amount: None,
    };
    assert_eq!(check_accepted(&accepted("exact", devnet.caip2), "exact", devnet), Ok(()));
    // The v1 name of the same network is the same network.
    assert_eq!(check_accepted(&accepted("exact", "solana-devnet"), "exact", devnet), Ok(()));
    let reason = |r: Result<(), ExactSvmError>| r.unwrap_err().reason();
    let mainnet = accepted("exact", "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp");
    let network = reason(check_accepted(&mainnet, "exact", devnet));
    assert_eq!(network.code(Version::V2), "invalid_exact_svm_network_mismatch");
    assert_eq!(network.code(Version::V1), "invalid_network");
    let scheme = reason(check_accepted(&accepted("upto", devnet.caip2), "exact", devnet));
    assert_eq!(scheme.code(Version::V2), "invalid_exact_svm_unsupported_scheme");
    assert_eq!(scheme.code(Version::V1), "unsupported_scheme");
}

/// `chain::verify` and `chain::broadcast` against a scripted cluster: what the one batched round trip
/// (the simulation and the destination account) and a broadcast's refusal are answered with.
mod cluster {
    use std::cell::RefCell;

    use serde_json::{json, Value};

    use super::*;
    use crate::chains::jsonrpc::JsonRpcClient;
    use crate::config::SvmSettings;
    use crate::ports::{Clockless, HttpTransport, TransportError};
    use crate::schemes::exact_svm::chain::{self, Signed, SvmContext};

    /// Answers `simulateTransaction` with `simulation_err`, `getAccountInfo` with `destination` (the
    /// account's `value`), and `sendTransaction` with `send` (a JSON-RPC error object, or the signature
    /// when `None`); records the methods asked.
    struct Cluster {
        simulation_err: Value,
        destination: Value,
        send: Option<Value>,
        asked: RefCell<Vec<String>>,
    }

    impl Cluster {
        fn new(simulation_err: Value, destination: Value) -> Cluster {
            Cluster { simulation_err, destination, send: None, asked: RefCell::default() }
        }

        fn answer(&self, call: &Value) -> Value {
            let method = call["method"].as_str().unwrap_or_default();
            self.asked.borrow_mut().push(method.to_string());
            let result = match method {
                "simulateTransaction" => json!({"context": {"slot": 1}, "value": {
                    "err": self.simulation_err, "logs": ["Program log: Error: InvalidAccountData"]}}),
                "getAccountInfo" => json!({"context": {"slot": 1}, "value": self.destination}),
                "sendTransaction" => match &self.send {
                    Some(error) => return json!({"jsonrpc": "2.0", "id": call["id"], "error": error}),
                    None => {
                        let wire = call["params"][0].as_str().unwrap_or_default();
                        json!(Transaction::from_base64(wire).unwrap().id())
                    }
                },
                other => panic!("unexpected {other}"),
            };
            json!({"jsonrpc": "2.0", "id": call["id"], "result": result})
        }
    }

    impl HttpTransport for Cluster {
        async fn post_json(&self, _: &str, _: &[(&str, &str)], body: String) -> Result<String, TransportError> {
            let request: Value = serde_json::from_str(&body).map_err(|e| TransportError::Failed(e.to_string()))?;
            let reply = match request.as_array() {
                Some(calls) => Value::Array(calls.iter().map(|c| self.answer(c)).collect()),
                None => self.answer(&request),
            };
            Ok(reply.to_string())
        }
    }

    /// A token account of payTo (its data is not read but for the owner at bytes 32..64).
    fn token_account(owner: &Pubkey) -> Value {
        let mut data = vec![0u8; 165];
        data[32..64].copy_from_slice(&owner.0);
        let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &data);
        json!({"data": [encoded, "base64"], "owner": programs::TOKEN.to_string(), "lamports": 2_039_280})
    }

    /// Solana devnet through `http`, with the operator's compute caps.
    fn context_on<'a, H: HttpTransport>(
        http: &'a H,
        urls: &'a [String],
        max_units: u32,
        max_price: u64,
    ) -> SvmContext<'a, H, Clockless> {
        SvmContext {
            network: crate::network::find("solana-devnet").unwrap(),
            rpc: JsonRpcClient::new(http, &Clockless, urls),
            clock: &Clockless,
            settings: SvmSettings {
                max_compute_unit_limit: max_units,
                max_compute_unit_price_micro_lamports: max_price,
                confirm_timeout_secs: 0,
            },
        }
    }

    const TRANSFER_FAILED: &str = r#"{"InstructionError": [2, "InvalidAccountData"]}"#;

    fn verify_on(cluster: &Cluster, transaction: &str, max_units: u32) -> Result<Signed, ExactSvmError> {
        verify_capped(cluster, transaction, max_units, 5_000_000)
    }

    /// [`verify_on`] with the operator's compute unit price cap at `max_price` micro-lamports.
    fn verify_capped(
        cluster: &Cluster,
        transaction: &str,
        max_units: u32,
        max_price: u64,
    ) -> Result<Signed, ExactSvmError> {
        let urls = ["http://cluster".to_string()];
        let ctx = context_on(cluster, &urls, max_units, max_price);
        let (amount, pay_to, fee_payer_key) =
            (AMOUNT.to_string(), pay_to().to_string(), fee_payer().pubkey().to_string());
        let req = requirements(&amount, &pay_to, &fee_payer_key, None);
        pollster::block_on(chain::verify(&ctx, transaction, &req, &[fee_payer()]))
    }

    fn broadcast_on(cluster: &Cluster, signed: &Signed) -> Result<(), ExactSvmError> {
        let urls = ["http://cluster".to_string()];
        let ctx = context_on(cluster, &urls, 200_000, 5_000_000);
        pollster::block_on(chain::broadcast(&ctx, signed))
    }

    #[test]
    fn a_compute_unit_price_above_the_operators_cap_is_refused_before_any_call() {
        let cluster = Cluster::new(Value::Null, token_account(&pay_to()));
        let refused = verify_capped(&cluster, &build(&honest()), 200_000, 999);
        assert_eq!(refused.unwrap_err(), ExactSvmError::ComputePriceTooHigh { micro_lamports: 1_000, cap: 999 });
        assert!(cluster.asked.borrow().is_empty());
        assert!(verify_capped(&cluster, &build(&honest()), 200_000, 1_000).is_ok());
    }

    #[test]
    fn a_payment_that_simulates_verifies_in_one_round_trip() {
        let cluster = Cluster::new(Value::Null, token_account(&pay_to()));
        let signed = verify_on(&cluster, &build(&honest()), 200_000).unwrap();
        assert_eq!(signed.verified.payer, client().pubkey());
        assert_eq!(*cluster.asked.borrow(), ["simulateTransaction", "getAccountInfo"]);
    }

    #[test]
    fn a_replay_of_a_processed_transaction_is_a_duplicate_settlement_in_words() {
        // The destination exists or not: a replay is said to be one either way.
        for destination in [token_account(&pay_to()), Value::Null] {
            let cluster = Cluster::new(json!("AlreadyProcessed"), destination);
            let err = verify_on(&cluster, &build(&honest()), 200_000).unwrap_err();
            assert_eq!(err, ExactSvmError::AlreadyProcessed);
            assert_eq!(err.reason().code(Version::V2), "duplicate_settlement");
            assert_eq!(err.reason().code(Version::V1), "duplicate_settlement");
            assert!(err.to_string().contains("already processed on chain"), "{err}");
        }
    }

    #[test]
    fn a_payment_to_an_owner_without_a_token_account_names_the_missing_account() {
        let cluster = Cluster::new(serde_json::from_str(TRANSFER_FAILED).unwrap(), Value::Null);
        let err = verify_on(&cluster, &build(&honest()), 200_000).unwrap_err();
        let destination = ata(&pay_to(), &mint(), &programs::TOKEN);
        assert_eq!(err, ExactSvmError::DestinationAtaMissing(destination));
        assert_eq!(err.reason().code(Version::V2), "invalid_exact_svm_payload_transaction_destination_ata_missing");
        assert_eq!(err.reason().code(Version::V1), "invalid_exact_svm_payload_transaction_simulation_failed");
        assert!(err.to_string().contains(&destination.to_string()), "{err}");
        // Still the one round trip.
        assert_eq!(*cluster.asked.borrow(), ["simulateTransaction", "getAccountInfo"]);
    }

    #[test]
    fn another_simulation_failure_is_the_references_simulation_failure() {
        let cluster = Cluster::new(serde_json::from_str(TRANSFER_FAILED).unwrap(), token_account(&pay_to()));
        let err = verify_on(&cluster, &build(&honest()), 200_000).unwrap_err();
        assert!(matches!(&err, ExactSvmError::SimulationFailed(m) if m.contains("InvalidAccountData")), "{err}");
        assert_eq!(err.reason().code(Version::V2), "invalid_exact_svm_transaction_simulation_failed");
        assert_eq!(err.reason().code(Version::V1), "invalid_exact_svm_payload_transaction_simulation_failed");
    }

    #[test]
    fn a_compute_limit_above_the_cap_is_too_high_before_any_rpc() {
        let cluster = Cluster::new(Value::Null, token_account(&pay_to()));
        let err = verify_on(&cluster, &build(&honest()), 199_999).unwrap_err();
        assert_eq!(err, ExactSvmError::ComputeLimitTooHigh { units: 200_000, cap: 199_999 });
        assert_eq!(
            err.reason().code(Version::V2),
            "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction_too_high"
        );
        assert_eq!(
            err.reason().code(Version::V1),
            "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction"
        );
        assert!(cluster.asked.borrow().is_empty());
    }

    #[test]
    fn a_broadcast_refused_as_already_processed_is_sent_and_others_are_refusals() {
        let signed =
            verify_on(&Cluster::new(Value::Null, token_account(&pay_to())), &build(&honest()), 200_000).unwrap();
        let refused = |error: Value| {
            let cluster = Cluster { send: Some(error), ..Cluster::new(Value::Null, Value::Null) };
            broadcast_on(&cluster, &signed)
        };
        let processed = json!({"code": -32002, "message": "Transaction simulation failed: This transaction has already been processed",
            "data": {"err": "AlreadyProcessed", "logs": []}});
        assert_eq!(refused(processed), Ok(()));
        let by_data =
            json!({"code": -32002, "message": "Transaction simulation failed", "data": {"err": "AlreadyProcessed"}});
        assert_eq!(refused(by_data), Ok(()));
        let blockhash = json!({"code": -32002, "message": "Transaction simulation failed: Blockhash not found",
            "data": {"err": "BlockhashNotFound", "logs": []}});
        let err = refused(blockhash).unwrap_err();
        assert_eq!(err.reason().code(Version::V2), "invalid_exact_svm_transaction_simulation_failed");
        let cluster = Cluster::new(Value::Null, Value::Null);
        assert_eq!(broadcast_on(&cluster, &signed), Ok(()));
    }

    /// A sent transaction's fate: `isBlockhashValid` says `blockhash_valid` and the status is `status`;
    /// the blockhash is asked at `finalized`.
    struct Sent {
        blockhash_valid: bool,
        status: Value,
    }

    impl HttpTransport for Sent {
        async fn post_json(&self, _: &str, _: &[(&str, &str)], body: String) -> Result<String, TransportError> {
            let call: Value = serde_json::from_str(&body).map_err(|e| TransportError::Failed(e.to_string()))?;
            let result = match call["method"].as_str() {
                Some("isBlockhashValid") => {
                    assert_eq!(call["params"][1]["commitment"], "finalized");
                    json!({"value": self.blockhash_valid})
                }
                Some("getSignatureStatuses") => json!({"value": [self.status]}),
                other => panic!("unexpected {other:?}"),
            };
            Ok(json!({"jsonrpc": "2.0", "id": call["id"], "result": result}).to_string())
        }
    }

    fn fate_on(sent: &Sent) -> Result<chain::Fate, ExactSvmError> {
        let urls = ["http://cluster".to_string()];
        let ctx = context_on(sent, &urls, 200_000, 5_000_000);
        pollster::block_on(chain::fate(&ctx, "sig", "hash"))
    }

    #[test]
    fn a_transaction_in_a_block_not_yet_confirmed_is_pending_however_old_its_blockhash() {
        let processed = json!({"slot": 7, "confirmations": 0, "err": null, "confirmationStatus": "processed"});
        assert_eq!(fate_on(&Sent { blockhash_valid: false, status: processed }), Ok(chain::Fate::Pending));
        let confirmed = json!({"slot": 7, "confirmations": 1, "err": null, "confirmationStatus": "confirmed"});
        assert_eq!(fate_on(&Sent { blockhash_valid: false, status: confirmed }), Ok(chain::Fate::Landed { slot: 7 }));
        // Not seen anywhere, and its blockhash too old at the finalized block: it can never land.
        let expired = fate_on(&Sent { blockhash_valid: false, status: Value::Null });
        assert!(matches!(expired, Err(ExactSvmError::Expired(_))), "{expired:?}");
        assert_eq!(fate_on(&Sent { blockhash_valid: true, status: Value::Null }), Ok(chain::Fate::Pending));
    }
}
