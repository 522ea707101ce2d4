use proptest::prelude::*;
use serde_json::Value;

use super::pubkey::programs;
use super::transaction::{encode_compact_u16, MAX_TRANSACTION_SIZE};
use super::*;

fn key(label: u8) -> Keypair {
    Keypair::from_seed(&[label; 32])
}

fn compact(n: u16) -> Vec<u8> {
    let mut out = Vec::new();
    encode_compact_u16(&mut out, n);
    out
}

/// A message with `signers` writable-first signers, some other accounts, and a few instructions.
fn sample_message(version: MessageVersion, signers: &[Pubkey], lookups: Vec<AddressTableLookup>) -> Message {
    let mut account_keys = signers.to_vec();
    account_keys.extend([Pubkey([7; 32]), programs::COMPUTE_BUDGET, programs::MEMO]);
    let n = signers.len() as u8;
    Message {
        version,
        header: MessageHeader {
            num_required_signatures: n,
            num_readonly_signed_accounts: n - 1,
            num_readonly_unsigned_accounts: 2,
        },
        account_keys,
        recent_blockhash: [9; 32],
        instructions: vec![
            CompiledInstruction {
                program_id_index: n + 1,
                accounts: vec![],
                data: ComputeBudgetInstruction::SetComputeUnitLimit(200_000).encode(),
            },
            CompiledInstruction { program_id_index: n + 2, accounts: vec![n, 0], data: b"hello".to_vec() },
        ],
        address_table_lookups: lookups,
    }
}

fn signed(message: Message, keys: &[&Keypair]) -> Transaction {
    let mut tx = Transaction::new_unsigned(message);
    for k in keys {
        tx.sign(k).unwrap();
    }
    tx
}

#[test]
fn compact_u16_encodes_the_documented_forms() {
    // The examples of Solana's short_vec documentation.
    for (n, bytes) in [
        (0u16, vec![0x00]),
        (0x7f, vec![0x7f]),
        (0x80, vec![0x80, 0x01]),
        (0xff, vec![0xff, 0x01]),
        (0x100, vec![0x80, 0x02]),
        (0x7fff, vec![0xff, 0xff, 0x01]),
        (0xffff, vec![0xff, 0xff, 0x03]),
    ] {
        assert_eq!(compact(n), bytes, "{n:#x}");
    }
}

#[test]
fn non_canonical_lengths_are_refused() {
    let tx = signed(sample_message(MessageVersion::Legacy, &[key(1).pubkey()], vec![]), &[&key(1)]);
    let wire = tx.encode();
    assert_eq!(wire[0], 1);
    // The same count as an overlong two-byte alias, a value above u16, and four bytes.
    for prefix in [vec![0x81, 0x00], vec![0x81, 0x80, 0x04], vec![0x81, 0x80, 0x80, 0x00]] {
        let mut bad = prefix;
        bad.extend_from_slice(&wire[1..]);
        assert_eq!(Transaction::decode(&bad), Err(DecodeError::NonCanonicalLength));
    }
}

#[test]
fn legacy_and_v0_round_trip_byte_for_byte() {
    let (a, b) = (key(1), key(2));
    let lookup =
        AddressTableLookup { account_key: Pubkey([5; 32]), writable_indexes: vec![1, 2], readonly_indexes: vec![0] };
    for (version, lookups) in
        [(MessageVersion::Legacy, vec![]), (MessageVersion::V0, vec![]), (MessageVersion::V0, vec![lookup])]
    {
        let tx = signed(sample_message(version, &[a.pubkey(), b.pubkey()], lookups), &[&b]);
        let wire = tx.encode();
        let decoded = Transaction::decode(&wire).unwrap();
        assert_eq!(decoded, tx);
        assert_eq!(decoded.encode(), wire);
        assert_eq!(decoded.message().encode(), decoded.message_bytes());
        assert_eq!(Transaction::from_base64(&tx.to_base64()).unwrap(), tx);
        assert_eq!(decoded.message().version, version);
        // v0 messages start with the version prefix, legacy ones with the signer count.
        assert_eq!(decoded.message_bytes()[0], if version == MessageVersion::V0 { 0x80 } else { 2 });
    }
}

#[test]
fn signatures_verify_and_the_fee_payer_slot_can_be_filled() {
    let (payer, client) = (key(1), key(2));
    let mut tx = signed(sample_message(MessageVersion::V0, &[payer.pubkey(), client.pubkey()], vec![]), &[&client]);
    assert_eq!(tx.verify_signer(&client.pubkey()), Ok(()));
    assert_eq!(tx.verify_signer(&payer.pubkey()), Err(SignatureError::Invalid(payer.pubkey())));
    assert_eq!(tx.verify_signer(&key(3).pubkey()), Err(SignatureError::NotASigner(key(3).pubkey())));
    assert_eq!(tx.sign(&key(3)), Err(SignatureError::NotASigner(key(3).pubkey())));
    let before = tx.encode();
    tx.sign(&payer).unwrap();
    assert_eq!(tx.verify_signer(&payer.pubkey()), Ok(()));
    let after = tx.encode();
    // Only the fee payer's 64 bytes changed.
    assert_eq!(before.len(), after.len());
    assert_eq!(before[65..], after[65..]);
    assert_ne!(before[1..65], after[1..65]);
    assert_eq!(tx.id(), bs58::encode(&after[1..65]).into_string());
    // A flipped message byte breaks the client's signature.
    let mut tampered = after.clone();
    let last = tampered.len() - 40;
    tampered[last] ^= 1;
    let tampered = Transaction::decode(&tampered).unwrap();
    assert_eq!(tampered.verify_signer(&client.pubkey()), Err(SignatureError::Invalid(client.pubkey())));
}

#[test]
fn malformed_transactions_are_typed_errors() {
    let (a, b) = (key(1), key(2));
    let good = sample_message(MessageVersion::V0, &[a.pubkey(), b.pubkey()], vec![]);
    let decode = |m: &Message| Transaction::decode(&Transaction::new_unsigned(m.clone()).encode());
    assert!(decode(&good).is_ok());

    let mut m = good.clone();
    m.header.num_readonly_signed_accounts = 2;
    assert_eq!(decode(&m), Err(DecodeError::InvalidHeader(5)));
    let mut m = good.clone();
    m.header.num_readonly_unsigned_accounts = 4;
    assert_eq!(decode(&m), Err(DecodeError::InvalidHeader(5)));
    let mut m = good.clone();
    m.instructions[1].accounts.push(5);
    assert_eq!(decode(&m), Err(DecodeError::AccountIndexOutOfRange { instruction: 1, index: 5, accounts: 5 }));
    let mut m = good.clone();
    m.instructions[0].program_id_index = 0;
    assert_eq!(decode(&m), Err(DecodeError::InvalidProgramIndex { instruction: 0, index: 0 }));
    let mut m = good.clone();
    m.account_keys[3] = m.account_keys[2];
    assert_eq!(decode(&m), Err(DecodeError::DuplicateAccount(m.account_keys[2])));

    let wire = Transaction::new_unsigned(good.clone()).encode();
    let mut extra = wire.clone();
    extra.push(0);
    assert_eq!(Transaction::decode(&extra), Err(DecodeError::TrailingBytes(1)));
    assert!(matches!(Transaction::decode(&wire[..wire.len() - 1]), Err(DecodeError::Truncated(_))));
    // One signature for a message that needs two.
    let mut one = vec![1u8];
    one.extend_from_slice(&wire[65..]);
    assert_eq!(Transaction::decode(&one), Err(DecodeError::SignatureCount { signatures: 1, required: 2 }));
    // Version 1 does not exist yet.
    let mut v1 = wire.clone();
    v1[129] = 0x81;
    assert_eq!(Transaction::decode(&v1), Err(DecodeError::UnsupportedVersion(1)));
    assert_eq!(Transaction::decode(&vec![0; MAX_TRANSACTION_SIZE + 1]), Err(DecodeError::TooLarge(1233)));
    assert_eq!(Transaction::from_base64("not base64!"), Err(DecodeError::Base64));
    assert!(matches!(Transaction::decode(&[]), Err(DecodeError::Truncated(_))));
}

#[test]
fn instructions_parse_exactly() {
    use ComputeBudgetInstruction::*;
    assert_eq!(ComputeBudgetInstruction::parse(&[2, 0x40, 0x0d, 0x03, 0x00]), Ok(SetComputeUnitLimit(200_000)));
    assert_eq!(
        ComputeBudgetInstruction::parse(&[3, 0x40, 0x4b, 0x4c, 0, 0, 0, 0, 0]),
        Ok(SetComputeUnitPrice(5_000_000))
    );
    assert_eq!(ComputeBudgetInstruction::parse(&[]), Err(InstructionError::Empty));
    assert_eq!(ComputeBudgetInstruction::parse(&[4, 0, 0, 0, 0]), Err(InstructionError::Discriminator(4)));
    assert_eq!(
        ComputeBudgetInstruction::parse(&[2, 0, 0, 0]),
        Err(InstructionError::Length { expected: 5, actual: 4 })
    );
    assert_eq!(
        ComputeBudgetInstruction::parse(&[3, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(InstructionError::Length { expected: 9, actual: 10 })
    );
    for ix in [SetComputeUnitLimit(7), SetComputeUnitPrice(u64::MAX)] {
        assert_eq!(ComputeBudgetInstruction::parse(&ix.encode()), Ok(ix));
    }

    let accounts: Vec<Pubkey> = (1..=5).map(|i| Pubkey([i; 32])).collect();
    let data = TransferChecked::encode_data(1_000_001, 6);
    assert_eq!(data, [12, 0x41, 0x42, 0x0f, 0, 0, 0, 0, 0, 6]);
    let t = TransferChecked::parse(&data, &accounts[..4]).unwrap();
    assert_eq!((t.source, t.mint, t.destination, t.authority), (accounts[0], accounts[1], accounts[2], accounts[3]));
    assert_eq!((t.amount, t.decimals, t.signers.len()), (1_000_001, 6, 0));
    assert_eq!(TransferChecked::parse(&data, &accounts).unwrap().signers, vec![accounts[4]]);
    assert_eq!(TransferChecked::parse(&data, &accounts[..3]), Err(InstructionError::Accounts(3)));
    assert_eq!(
        TransferChecked::parse(&data[..9], &accounts),
        Err(InstructionError::Length { expected: 10, actual: 9 })
    );
    // Transfer (3) is not TransferChecked (12).
    assert_eq!(
        TransferChecked::parse(&[3, 0, 0, 0, 0, 0, 0, 0, 0], &accounts),
        Err(InstructionError::Discriminator(3))
    );

    assert_eq!(parse_memo("héllo".as_bytes()), Ok("héllo"));
    assert_eq!(parse_memo(&[0xff, 0xfe]), Err(InstructionError::MemoNotUtf8));
}

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../../tests/vectors/svm-exact-v0.json")).unwrap()
}

fn pk(v: &Value) -> Pubkey {
    v.as_str().unwrap().parse().unwrap()
}

#[test]
fn associated_token_addresses_match_an_independent_implementation() {
    let vectors = vectors();
    let list = vectors["associatedTokenAddresses"].as_array().unwrap();
    assert_eq!(list.len(), 20);
    for v in list {
        let expected = pk(&v["address"]);
        let derived = associated_token_address(&pk(&v["owner"]), &pk(&v["mint"]), &pk(&v["tokenProgram"])).unwrap();
        assert_eq!(derived, expected, "{v}");
        assert!(!pda::is_on_curve(&derived.0));
    }
}

#[test]
fn program_addresses_follow_the_bump_rules() {
    let program = programs::ASSOCIATED_TOKEN;
    let (address, bump) = find_program_address(&[b"x402"], &program).unwrap();
    assert_eq!(create_program_address(&[b"x402", &[bump]], &program), Ok(address));
    // Every larger bump lands on the curve.
    for higher in bump.saturating_add(1)..=255 {
        if higher > bump {
            assert_eq!(create_program_address(&[b"x402", &[higher]], &program), Err(PdaError::OnCurve));
        }
    }
    assert_eq!(create_program_address(&[&[0u8; 33]], &program), Err(PdaError::InvalidSeeds));
    let many: Vec<&[u8]> = vec![b"s"; 16];
    assert_eq!(find_program_address(&many, &program), Err(PdaError::InvalidSeeds));
    // A public key is on the curve: it is never a PDA.
    assert!(pda::is_on_curve(&key(1).pubkey().0));
}

#[test]
fn the_independently_built_v0_transfer_decodes_with_its_fields_and_signature() {
    let vectors = vectors();
    let v = &vectors["transferV0"];
    let tx = Transaction::from_base64(v["transaction"].as_str().unwrap()).unwrap();
    let m = tx.message();
    assert_eq!(m.version, MessageVersion::V0);
    assert_eq!(
        tx.encode(),
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, v["transaction"].as_str().unwrap()).unwrap()
    );
    let keys: Vec<Pubkey> = v["accountKeys"].as_array().unwrap().iter().map(pk).collect();
    assert_eq!(m.account_keys, keys);
    assert_eq!(m.fee_payer(), Some(&pk(&v["feePayer"])));
    assert_eq!(m.recent_blockhash, pk(&v["recentBlockhash"]).0);
    assert_eq!(hex::encode(tx.message_hash()), v["messageSha256"].as_str().unwrap());
    assert_eq!(m.instructions.len(), 4);
    let data = |i: usize| &m.instructions[i].data;
    assert_eq!(
        ComputeBudgetInstruction::parse(data(0)),
        Ok(ComputeBudgetInstruction::SetComputeUnitLimit(v["computeUnitLimit"].as_u64().unwrap() as u32))
    );
    assert_eq!(
        ComputeBudgetInstruction::parse(data(1)),
        Ok(ComputeBudgetInstruction::SetComputeUnitPrice(v["computeUnitPrice"].as_u64().unwrap()))
    );
    assert_eq!(m.program_id(&m.instructions[2]), Some(&programs::TOKEN));
    let transfer = TransferChecked::parse(data(2), &m.instruction_accounts(&m.instructions[2]).unwrap()).unwrap();
    assert_eq!(transfer.source, pk(&v["source"]));
    assert_eq!(transfer.mint, pk(&v["mint"]));
    assert_eq!(transfer.destination, pk(&v["destination"]));
    assert_eq!(transfer.authority, pk(&v["authority"]));
    assert_eq!(transfer.amount.to_string(), v["amount"].as_str().unwrap());
    assert_eq!(u64::from(transfer.decimals), v["decimals"].as_u64().unwrap());
    assert_eq!(parse_memo(data(3)), Ok(v["memo"].as_str().unwrap()));
    // Our ATA derivation agrees with the generator's for both ends of the transfer.
    let token = programs::TOKEN;
    assert_eq!(associated_token_address(&transfer.authority, &transfer.mint, &token), Ok(transfer.source));
    assert_eq!(associated_token_address(&pk(&v["payTo"]), &transfer.mint, &token), Ok(transfer.destination));
    // The client's signature is the generator's, and it verifies; the fee payer slot is empty.
    let client_sig = bs58::decode(v["clientSignature"].as_str().unwrap()).into_vec().unwrap();
    assert_eq!(tx.signature_of(&transfer.authority).map(|s| s.to_vec()), Some(client_sig));
    assert_eq!(tx.verify_signer(&transfer.authority), Ok(()));
    assert_eq!(tx.signatures[0], [0u8; 64]);
    // The fee payer key from the generator's seed signs the slot in place.
    let seed: [u8; 32] = hex::decode(v["feePayerSeed"].as_str().unwrap()).unwrap().try_into().unwrap();
    let fee_payer = Keypair::from_seed(&seed);
    assert_eq!(fee_payer.pubkey(), pk(&v["feePayer"]));
    let mut tx = tx;
    tx.sign(&fee_payer).unwrap();
    assert_eq!(tx.verify_signer(&fee_payer.pubkey()), Ok(()));
}

/// Arbitrary messages in the shapes the builder makes: legacy or v0, 1–3 signers, lookups for v0.
fn any_message() -> impl Strategy<Value = Message> {
    (
        any::<bool>(),
        1u8..=3,
        proptest::collection::vec(any::<[u8; 32]>(), 1..6),
        any::<[u8; 32]>(),
        proptest::collection::vec(
            (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..6), proptest::collection::vec(any::<u8>(), 0..40)),
            0..5,
        ),
        proptest::collection::vec(
            (
                any::<[u8; 32]>(),
                proptest::collection::vec(any::<u8>(), 0..4),
                proptest::collection::vec(any::<u8>(), 0..4),
            ),
            0..3,
        ),
    )
        .prop_map(|(v0, signers, others, blockhash, instructions, lookups)| {
            // Distinct keys: signers from fixed seeds, the others tagged by position.
            let mut account_keys: Vec<Pubkey> = (0..signers).map(|i| key(100 + i).pubkey()).collect();
            for (i, mut k) in others.into_iter().enumerate() {
                k[0] = 0xee;
                k[1] = i as u8;
                account_keys.push(Pubkey(k));
            }
            let version = if v0 { MessageVersion::V0 } else { MessageVersion::Legacy };
            let address_table_lookups: Vec<AddressTableLookup> = if v0 {
                lookups
                    .into_iter()
                    .map(|(k, w, r)| AddressTableLookup {
                        account_key: Pubkey(k),
                        writable_indexes: w,
                        readonly_indexes: r,
                    })
                    .collect()
            } else {
                vec![]
            };
            let mut message = Message {
                version,
                header: MessageHeader {
                    num_required_signatures: signers,
                    num_readonly_signed_accounts: signers - 1,
                    num_readonly_unsigned_accounts: 1,
                },
                account_keys,
                recent_blockhash: blockhash,
                instructions: vec![],
                address_table_lookups,
            };
            let keys = message.account_keys.len() as u8;
            let total = message.total_accounts() as u8;
            message.instructions = instructions
                .into_iter()
                .map(|(p, accounts, data)| CompiledInstruction {
                    program_id_index: 1 + p % (keys - 1).max(1),
                    accounts: accounts.into_iter().map(|a| a % total).collect(),
                    data,
                })
                .collect();
            message
        })
}

proptest! {
    #[test]
    fn the_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1300)) {
        let _ = Transaction::decode(&bytes);
    }

    #[test]
    fn mutated_transactions_never_panic(message in any_message(), at in any::<usize>(), byte in any::<u8>()) {
        let mut wire = Transaction::new_unsigned(message).encode();
        let i = at % wire.len();
        wire[i] = byte;
        if let Ok(tx) = Transaction::decode(&wire) {
            prop_assert_eq!(tx.encode(), wire);
        }
    }

    #[test]
    fn decode_encode_round_trips(message in any_message(), sign in any::<bool>()) {
        let mut tx = Transaction::new_unsigned(message);
        if sign {
            let signer = key(100);
            tx.sign(&signer).unwrap();
        }
        let wire = tx.encode();
        let decoded = Transaction::decode(&wire);
        prop_assert_eq!(decoded.as_ref(), Ok(&tx));
        prop_assert_eq!(decoded.unwrap().encode(), wire);
    }

    #[test]
    fn pubkey_text_round_trips(bytes in any::<[u8; 32]>()) {
        let key = Pubkey(bytes);
        prop_assert_eq!(key.to_string().parse::<Pubkey>(), Ok(key));
    }

    #[test]
    fn pubkey_parsing_never_panics(text in "\\PC{0,60}") {
        let _ = text.parse::<Pubkey>();
    }
}
