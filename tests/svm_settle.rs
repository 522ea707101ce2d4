//! Solana settles natively against the local Solana RPC (npm litesvm with the real SPL Token program,
//! `scripts/lib/svm-rpc.mjs`, started in a node child process): the paths a worker dying mid-settle
//! leaves behind. The end-to-end flow through workerd is in `tests/e2e/svm.test.mjs`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};
use x402_edge::chains::svm::pubkey::programs;
use x402_edge::chains::svm::{
    associated_token_address, CompiledInstruction, ComputeBudgetInstruction, Keypair, Message, MessageHeader,
    MessageVersion, Pubkey, Transaction, TransferChecked,
};
use x402_edge::ledger::Ledger;
use x402_edge::ledger::LedgerOp;
use x402_edge::ports::Clock;
use x402_edge::schemes::exact_svm::ledger_key as svm_key;
use x402_edge::schemes::exact_svm::{verify_transaction, SvmRequirements};

use common::{rpc, Facility, SystemClock};

const DEVNET: &str = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
const AMOUNT: u64 = 4_321;

/// The local Solana RPC in a node process, with a test mint, `payer` funded with tokens and `pay_to`
/// with an empty token account, and SOL for the fee payer. Lighthouse's id runs the Memo program's code
/// (`lighthouseStandIn`: the real program is not loadable here).
struct LocalSolana {
    child: Child,
    url: String,
    mint: Pubkey,
}

impl LocalSolana {
    fn start(fee_payer: &Pubkey, payer: &Pubkey, pay_to: &Pubkey) -> LocalSolana {
        let root = common::root();
        let script = format!(
            "import {{ startSvmRpc }} from {module:?};
             const s = await startSvmRpc({{ fund: [
               {{ owner: {fee_payer:?}, amount: null }}, {{ owner: {payer:?}, amount: 1000000n }}, {{ owner: {pay_to:?}, amount: 0n }} ],
               lighthouseStandIn: true }});
             console.log(JSON.stringify({{ url: s.url, mint: s.mint }}));",
            module = root.join("scripts/lib/svm-rpc.mjs").to_string_lossy(),
            fee_payer = fee_payer.to_base58(),
            payer = payer.to_base58(),
            pay_to = pay_to.to_base58(),
        );
        let mut child = Command::new(root.join("node_modules/.bin/node"))
            .args(["--input-type=module", "-e", &script])
            .current_dir(&root)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node from node_modules (run `npm install`)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let started: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("svm-rpc did not start: {line}"));
        LocalSolana {
            child,
            url: started["url"].as_str().unwrap().to_string(),
            mint: started["mint"].as_str().unwrap().parse().unwrap(),
        }
    }

    fn tokens(&self, owner: &Pubkey) -> u64 {
        let account = associated_token_address(owner, &self.mint, &programs::TOKEN).unwrap();
        let result = rpc(&self.url, "getTokenAccountBalance", json!([account.to_base58()]));
        result["value"]["amount"].as_str().unwrap().parse().unwrap()
    }

    fn blockhash(&self) -> [u8; 32] {
        let text = rpc(&self.url, "getLatestBlockhash", json!([]))["value"]["blockhash"].as_str().unwrap().to_string();
        text.parse::<Pubkey>().unwrap().0
    }
}

impl Drop for LocalSolana {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Parties {
    fee_payer: Keypair,
    payer: Keypair,
    pay_to: Pubkey,
}

fn parties() -> Parties {
    Parties {
        fee_payer: Keypair::from_seed(&[21; 32]),
        payer: Keypair::from_seed(&[22; 32]),
        pay_to: Keypair::from_seed(&[23; 32]).pubkey(),
    }
}

/// The client's payment in the `@x402/svm` layout, signed by the payer: compute limit, price,
/// TransferChecked, memo; the facilitator as fee payer.
fn payment(solana: &LocalSolana, p: &Parties, memo: &str) -> Transaction {
    payment_of(solana, p, AMOUNT, memo)
}

/// [`payment`] of `amount`.
fn payment_of(solana: &LocalSolana, p: &Parties, amount: u64, memo: &str) -> Transaction {
    let ata = |owner: &Pubkey| associated_token_address(owner, &solana.mint, &programs::TOKEN).unwrap();
    let keys = vec![
        p.fee_payer.pubkey(),
        p.payer.pubkey(),
        ata(&p.payer.pubkey()),
        ata(&p.pay_to),
        solana.mint,
        programs::COMPUTE_BUDGET,
        programs::TOKEN,
        programs::MEMO,
    ];
    let ix = |program, accounts: Vec<u8>, data| CompiledInstruction { program_id_index: program, accounts, data };
    let message = Message {
        version: MessageVersion::V0,
        header: MessageHeader {
            num_required_signatures: 2,
            num_readonly_signed_accounts: 1,
            num_readonly_unsigned_accounts: 4,
        },
        account_keys: keys,
        recent_blockhash: solana.blockhash(),
        instructions: vec![
            ix(5, vec![], ComputeBudgetInstruction::SetComputeUnitLimit(20_000).encode()),
            ix(5, vec![], ComputeBudgetInstruction::SetComputeUnitPrice(1).encode()),
            ix(6, vec![2, 4, 3, 1], TransferChecked::encode_data(amount, 6)),
            ix(7, vec![], memo.as_bytes().to_vec()),
        ],
        address_table_lookups: vec![],
    };
    let mut transaction = Transaction::new_unsigned(message);
    transaction.sign(&p.payer).unwrap();
    transaction
}

/// A payment of [`AMOUNT`] to `pay_to` with these instructions after the transfer (each a program and
/// its data, no accounts), signed by the payer.
fn payment_with(solana: &LocalSolana, p: &Parties, pay_to: &Pubkey, optional: &[(Pubkey, &str)]) -> Transaction {
    let ata = |owner: &Pubkey| associated_token_address(owner, &solana.mint, &programs::TOKEN).unwrap();
    let mut keys = vec![
        p.fee_payer.pubkey(),
        p.payer.pubkey(),
        ata(&p.payer.pubkey()),
        ata(pay_to),
        solana.mint,
        programs::COMPUTE_BUDGET,
        programs::TOKEN,
    ];
    for (program, _) in optional {
        if !keys.contains(program) {
            keys.push(*program);
        }
    }
    let index = |key: &Pubkey| keys.iter().position(|k| k == key).unwrap() as u8;
    let ix = |program, accounts: Vec<u8>, data| CompiledInstruction { program_id_index: program, accounts, data };
    let mut instructions = vec![
        ix(5, vec![], ComputeBudgetInstruction::SetComputeUnitLimit(40_000).encode()),
        ix(5, vec![], ComputeBudgetInstruction::SetComputeUnitPrice(1).encode()),
        ix(6, vec![2, 4, 3, 1], TransferChecked::encode_data(AMOUNT, 6)),
    ];
    instructions.extend(optional.iter().map(|(program, data)| ix(index(program), vec![], data.as_bytes().to_vec())));
    let message = Message {
        version: MessageVersion::V0,
        header: MessageHeader {
            num_required_signatures: 2,
            num_readonly_signed_accounts: 1,
            num_readonly_unsigned_accounts: (keys.len() - 4) as u8,
        },
        recent_blockhash: solana.blockhash(),
        instructions,
        account_keys: keys,
        address_table_lookups: vec![],
    };
    let mut transaction = Transaction::new_unsigned(message);
    transaction.sign(&p.payer).unwrap();
    transaction
}

/// The fee payer's `SVM_PRIVATE_KEY` (its seed is 21×32).
fn fee_payer_secret(p: &Parties) -> String {
    let mut secret = p.fee_payer.pubkey().0.to_vec();
    secret.splice(0..0, [21u8; 32]);
    bs58::encode(secret).into_string()
}

fn facility(solana: &LocalSolana, p: &Parties) -> Facility {
    let secret = fee_payer_secret(p);
    Facility::with_vars(
        "http://127.0.0.1:9",
        &[
            ("SVM_RPC_URL_SOLANA_DEVNET", &solana.url),
            ("SVM_PRIVATE_KEY", &secret),
            ("SVM_CONFIRM_TIMEOUT_SECONDS", "2"),
            ("ASSET_ALLOWLIST_SOLANA_DEVNET", &solana.mint.to_base58()),
        ],
    )
}

fn settle_body(solana: &LocalSolana, p: &Parties, transaction: &Transaction) -> Value {
    settle_body_to(solana, p, &p.pay_to, transaction)
}

/// [`settle_body`] with another `payTo`.
fn settle_body_to(solana: &LocalSolana, p: &Parties, pay_to: &Pubkey, transaction: &Transaction) -> Value {
    let requirements = json!({
        "scheme": "exact", "network": DEVNET, "amount": AMOUNT.to_string(), "asset": solana.mint.to_base58(),
        "payTo": pay_to.to_base58(), "maxTimeoutSeconds": 60, "extra": {"feePayer": p.fee_payer.pubkey().to_base58()},
    });
    json!({
        "x402Version": 2,
        "paymentPayload": {"x402Version": 2, "accepted": requirements, "payload": {"transaction": transaction.to_base64()}},
        "paymentRequirements": requirements,
    })
}

/// What a settle records before its broadcast: the co-signed wire transaction and its signature, as if
/// the worker died right after (a claim `age_ms` old).
fn record_unsent(f: &Facility, solana: &LocalSolana, p: &Parties, transaction: &Transaction, age_ms: u64) -> String {
    let requirements = SvmRequirements {
        amount: &AMOUNT.to_string(),
        asset: &solana.mint.to_base58(),
        pay_to: &p.pay_to.to_base58(),
        fee_payer: Some(&p.fee_payer.pubkey().to_base58()),
        memo: None,
    };
    let mut verified = verify_transaction(&transaction.to_base64(), &requirements, &[p.fee_payer.pubkey()]).unwrap();
    let wire = verified.co_sign(&p.fee_payer).unwrap();
    let signature = verified.transaction.id();
    let key = svm_key(DEVNET, transaction);
    let ledger = f.facilitator.ledger();
    let claimed_at = SystemClock.now_millis() - age_ms;
    // A hold of 0: the settle let go (it died), so the next settle of the payment takes it over.
    let claim = LedgerOp::Claim { now_ms: claimed_at, hold_ms: 0, fingerprint: None };
    pollster::block_on(ledger.apply(&key, claim)).unwrap();
    let record = LedgerOp::RecordTransaction { transaction: signature.clone(), raw: Some(wire) };
    pollster::block_on(ledger.apply(&key, record)).unwrap();
    signature
}

#[test]
fn a_settle_cut_off_before_its_broadcast_is_broadcast_again_and_pays_once() {
    let p = parties();
    let solana = LocalSolana::start(&p.fee_payer.pubkey(), &p.payer.pubkey(), &p.pay_to);
    let f = facility(&solana, &p);
    let transaction = payment(&solana, &p, "cut-off-0123456789abcdef");
    let signature = record_unsent(&f, &solana, &p, &transaction, 60_000);
    let body = settle_body(&solana, &p, &transaction);

    // Silent for longer than a confirmation takes: the recorded bytes go out again; still pending.
    let (_, first) = f.post("/settle", &body);
    assert_eq!(
        (first["success"].as_bool(), first["errorReason"].as_str()),
        (Some(false), Some("settlement_pending")),
        "{first}"
    );
    assert_eq!(first["transaction"], signature.as_str());
    // The retry finds it landed and answers success; every later settle is a duplicate.
    let (_, second) = f.post("/settle", &body);
    assert_eq!(second["success"], true, "{second}");
    assert_eq!(second["transaction"], signature.as_str());
    let (_, third) = f.post("/settle", &body);
    assert_eq!(third["success"], false, "{third}");
    assert_eq!(third["errorReason"], "duplicate_settlement", "{third}");
    assert_eq!(third["transaction"], signature.as_str());
    assert_eq!(solana.tokens(&p.pay_to), AMOUNT, "paid exactly once");
    assert_eq!(solana.tokens(&p.payer.pubkey()), 1_000_000 - AMOUNT);
}

#[test]
fn a_recorded_transaction_whose_blockhash_expired_is_final_and_moves_nothing() {
    let p = parties();
    let solana = LocalSolana::start(&p.fee_payer.pubkey(), &p.payer.pubkey(), &p.pay_to);
    let f = facility(&solana, &p);
    let transaction = payment(&solana, &p, "expired-0123456789abcdef");
    let signature = record_unsent(&f, &solana, &p, &transaction, 1_000);
    rpc(&solana.url, "x402edge_expireBlockhash", json!([]));

    let body = settle_body(&solana, &p, &transaction);
    let (_, first) = f.post("/settle", &body);
    assert_eq!(first["errorReason"], "settle_exact_svm_block_height_exceeded", "{first}");
    assert_eq!(first["transaction"], signature.as_str());
    let (_, again) = f.post("/settle", &body);
    assert_eq!(again, first, "the record answers");
    assert_eq!(solana.tokens(&p.pay_to), 0);
}

#[test]
fn a_claim_without_a_transaction_is_a_duplicate_and_a_fresh_payment_settles_beside_it() {
    let p = parties();
    let solana = LocalSolana::start(&p.fee_payer.pubkey(), &p.payer.pubkey(), &p.pay_to);
    let f = facility(&solana, &p);
    let busy = payment(&solana, &p, "busy-0123456789abcdef0123");
    let key = svm_key(DEVNET, &busy);
    pollster::block_on(
        f.facilitator
            .ledger()
            .apply(&key, LedgerOp::Claim { now_ms: SystemClock.now_millis(), hold_ms: 60_000, fingerprint: None }),
    )
    .unwrap();
    let (_, refused) = f.post("/settle", &settle_body(&solana, &p, &busy));
    assert_eq!(refused["errorReason"], "duplicate_settlement", "{refused}");
    assert_eq!(refused["transaction"], "");
    assert_eq!(solana.tokens(&p.pay_to), 0, "nothing sent");

    let (_, settled) = f.post("/settle", &settle_body(&solana, &p, &payment(&solana, &p, "free-0123456789abcdef0123")));
    assert_eq!(settled["success"], true, "{settled}");
    assert_eq!(solana.tokens(&p.pay_to), AMOUNT);
}

/// A zero amount, a payment to the payer itself and a mint off the allowlist are refused at verify and
/// settle, and nothing is sent: the fee payer's SOL and every token balance are unchanged.
#[test]
fn zero_amounts_self_payments_and_unlisted_mints_are_refused_and_cost_nothing() {
    let p = parties();
    let solana = LocalSolana::start(&p.fee_payer.pubkey(), &p.payer.pubkey(), &p.pay_to);
    let f = facility(&solana, &p);
    let lamports = || rpc(&solana.url, "getBalance", json!([p.fee_payer.pubkey().to_base58()]))["value"].clone();
    let (sol, payer_tokens) = (lamports(), solana.tokens(&p.payer.pubkey()));

    let mut zero = settle_body(&solana, &p, &payment_of(&solana, &p, 0, "zero-0123456789abcdef01234"));
    for place in ["paymentRequirements", "paymentPayload"] {
        let requirements = if place == "paymentPayload" { &mut zero[place]["accepted"] } else { &mut zero[place] };
        requirements["amount"] = json!("0");
    }
    let mut to_self = settle_body(&solana, &p, &payment(&solana, &p, "self-0123456789abcdef01234"));
    to_self["paymentRequirements"]["payTo"] = json!(p.payer.pubkey().to_base58());
    to_self["paymentPayload"]["accepted"]["payTo"] = json!(p.payer.pubkey().to_base58());
    let unlisted = Facility::with_vars(
        "http://127.0.0.1:9",
        &[
            ("SVM_RPC_URL_SOLANA_DEVNET", &solana.url),
            ("SVM_PRIVATE_KEY", &fee_payer_secret(&p)),
            ("ASSET_ALLOWLIST_SOLANA_DEVNET", ""),
        ],
    );
    let listed = settle_body(&solana, &p, &payment(&solana, &p, "list-0123456789abcdef01234"));
    for (code, body, facility) in
        [("amount_below_minimum", &zero, &f), ("self_payment", &to_self, &f), ("asset_not_allowed", &listed, &unlisted)]
    {
        let (_, verify) = facility.post("/verify", body);
        assert_eq!(verify["invalidReason"], code, "{verify}");
        let (_, settle) = facility.post("/settle", body);
        assert_eq!(
            (settle["success"].as_bool(), settle["errorReason"].as_str()),
            (Some(false), Some(code)),
            "{settle}"
        );
    }
    assert_eq!(lamports(), sol, "the fee payer paid nothing");
    assert_eq!((solana.tokens(&p.payer.pubkey()), solana.tokens(&p.pay_to)), (payer_tokens, 0), "no token moved");
    // The allowlisted mint settles.
    let (_, settled) = f.post("/settle", &listed);
    assert_eq!(settled["success"], true, "{settled}");
}

/// `payTo` hands its token account to the payer (SPL Token `SetAuthority` AccountOwner, which the
/// classic program allows on an associated account): a payment into it would return to the payer, so
/// verify and settle refuse it as a self-payment, and the fee payer pays nothing.
#[test]
fn a_destination_account_handed_to_the_payer_is_a_self_payment() {
    let p = parties();
    let solana = LocalSolana::start(&p.fee_payer.pubkey(), &p.payer.pubkey(), &p.pay_to);
    let f = facility(&solana, &p);
    let pay_to = Keypair::from_seed(&[23; 32]);
    let destination = associated_token_address(&p.pay_to, &solana.mint, &programs::TOKEN).unwrap();
    // SetAuthority (6), AccountOwner (2), Some(payer); signed by payTo, fee paid by the fee payer.
    let mut data = vec![6, 2, 1];
    data.extend(p.payer.pubkey().0);
    let handover = Message {
        version: MessageVersion::Legacy,
        header: MessageHeader {
            num_required_signatures: 2,
            num_readonly_signed_accounts: 1,
            num_readonly_unsigned_accounts: 1,
        },
        account_keys: vec![p.fee_payer.pubkey(), p.pay_to, destination, programs::TOKEN],
        recent_blockhash: solana.blockhash(),
        instructions: vec![CompiledInstruction { program_id_index: 3, accounts: vec![2, 1], data }],
        address_table_lookups: vec![],
    };
    let mut handover = Transaction::new_unsigned(handover);
    handover.sign(&p.fee_payer).unwrap();
    handover.sign(&pay_to).unwrap();
    rpc(&solana.url, "sendTransaction", json!([handover.to_base64(), {"encoding": "base64"}]));

    let lamports = || rpc(&solana.url, "getBalance", json!([p.fee_payer.pubkey().to_base58()]))["value"].clone();
    let (sol, payer_tokens) = (lamports(), solana.tokens(&p.payer.pubkey()));
    let body = settle_body(&solana, &p, &payment(&solana, &p, "back-0123456789abcdef01234"));
    let (_, verify) = f.post("/verify", &body);
    assert_eq!(verify["invalidReason"], "self_payment", "{verify}");
    let (_, settle) = f.post("/settle", &body);
    assert_eq!(
        (settle["success"].as_bool(), settle["errorReason"].as_str()),
        (Some(false), Some("self_payment")),
        "{settle}"
    );
    assert_eq!(lamports(), sol, "the fee payer paid nothing");
    assert_eq!(solana.tokens(&p.payer.pubkey()), payer_tokens, "no token moved");
}

/// The fee payer's SOL.
fn lamports(solana: &LocalSolana, p: &Parties) -> Value {
    rpc(&solana.url, "getBalance", json!([p.fee_payer.pubkey().to_base58()]))["value"].clone()
}

/// Phantom's layout (`@x402/svm` 2.27 accepts 3 to 7 instructions): the transfer, three Lighthouse
/// assertions and the client's memo. It verifies and settles on the engine; an eighth instruction is
/// refused at verify and settle, and nothing is sent.
#[test]
fn a_seven_instruction_payment_settles_and_an_eighth_instruction_is_refused() {
    let p = parties();
    let solana = LocalSolana::start(&p.fee_payer.pubkey(), &p.payer.pubkey(), &p.pay_to);
    let f = facility(&solana, &p);
    let lighthouse = programs::LIGHTHOUSE;
    let mut optional = vec![
        (lighthouse, "assert-1"),
        (lighthouse, "assert-2"),
        (lighthouse, "assert-3"),
        (programs::MEMO, "seven-0123456789abcdef0123"),
    ];
    let (sol, payer_tokens) = (lamports(&solana, &p), solana.tokens(&p.payer.pubkey()));

    optional.push((programs::MEMO, "one too many"));
    let eight = settle_body(&solana, &p, &payment_with(&solana, &p, &p.pay_to, &optional));
    let length = "invalid_exact_svm_payload_transaction_instructions_length";
    let (_, verify) = f.post("/verify", &eight);
    assert_eq!(
        (verify["isValid"].as_bool(), verify["invalidReason"].as_str()),
        (Some(false), Some(length)),
        "{verify}"
    );
    let (_, settle) = f.post("/settle", &eight);
    assert_eq!((settle["success"].as_bool(), settle["errorReason"].as_str()), (Some(false), Some(length)), "{settle}");
    assert_eq!(lamports(&solana, &p), sol, "the fee payer paid nothing");
    assert_eq!(solana.tokens(&p.payer.pubkey()), payer_tokens, "no token moved");

    optional.pop();
    let transaction = payment_with(&solana, &p, &p.pay_to, &optional);
    assert_eq!(transaction.message().instructions.len(), 7);
    let seven = settle_body(&solana, &p, &transaction);
    let (_, verify) = f.post("/verify", &seven);
    assert_eq!(verify["isValid"], true, "{verify}");
    assert_eq!(verify["payer"], p.payer.pubkey().to_base58().as_str());
    let (_, settled) = f.post("/settle", &seven);
    assert_eq!(settled["success"], true, "{settled}");
    assert_eq!(solana.tokens(&p.pay_to), AMOUNT);
    assert_eq!(solana.tokens(&p.payer.pubkey()), payer_tokens - AMOUNT);
}

/// A payment to an owner without a token account for the asset cannot land: verify and settle name
/// the missing associated token account (from the batch that simulates), and nothing is sent.
#[test]
fn a_payment_to_an_owner_without_a_token_account_names_the_missing_account() {
    let p = parties();
    let solana = LocalSolana::start(&p.fee_payer.pubkey(), &p.payer.pubkey(), &p.pay_to);
    let f = facility(&solana, &p);
    let newcomer = Keypair::from_seed(&[24; 32]).pubkey();
    let missing = associated_token_address(&newcomer, &solana.mint, &programs::TOKEN).unwrap();
    let account = rpc(&solana.url, "getAccountInfo", json!([missing.to_base58(), {"encoding": "base64"}]));
    assert!(account["value"].is_null(), "{account}");
    let (sol, payer_tokens) = (lamports(&solana, &p), solana.tokens(&p.payer.pubkey()));

    let transaction = payment_with(&solana, &p, &newcomer, &[(programs::MEMO, "no-ata-0123456789abcdef0123")]);
    let body = settle_body_to(&solana, &p, &newcomer, &transaction);
    let code = "invalid_exact_svm_payload_transaction_destination_ata_missing";
    let (_, verify) = f.post("/verify", &body);
    assert_eq!((verify["isValid"].as_bool(), verify["invalidReason"].as_str()), (Some(false), Some(code)), "{verify}");
    let message = verify["invalidMessage"].as_str().unwrap_or_default();
    assert!(message.contains(&missing.to_base58()), "{verify}");
    let (_, settle) = f.post("/settle", &body);
    assert_eq!((settle["success"].as_bool(), settle["errorReason"].as_str()), (Some(false), Some(code)), "{settle}");
    assert_eq!(lamports(&solana, &p), sol, "the fee payer paid nothing");
    assert_eq!(solana.tokens(&p.payer.pubkey()), payer_tokens, "no token moved");
}

/// A settled payment presented again: its simulation finds it processed already, which verify and
/// settle answer as `duplicate_settlement` in words, also at a facilitator whose ledger never saw it
/// (another deployment sharing the fee payer); it is paid once.
#[test]
fn a_replay_of_a_settled_payment_is_a_duplicate_settlement_in_words() {
    let p = parties();
    let solana = LocalSolana::start(&p.fee_payer.pubkey(), &p.payer.pubkey(), &p.pay_to);
    let f = facility(&solana, &p);
    let body = settle_body(&solana, &p, &payment(&solana, &p, "replay-0123456789abcdef0123"));
    let (_, settled) = f.post("/settle", &body);
    assert_eq!(settled["success"], true, "{settled}");

    let elsewhere = facility(&solana, &p);
    for facility in [&f, &elsewhere] {
        let (_, verify) = facility.post("/verify", &body);
        assert_eq!(verify["isValid"], false, "{verify}");
        assert_eq!(verify["invalidReason"], "duplicate_settlement", "{verify}");
        let message = verify["invalidMessage"].as_str().unwrap_or_default();
        assert!(message.contains("already processed on chain"), "{verify}");
    }
    let (_, again) = elsewhere.post("/settle", &body);
    assert_eq!(
        (again["success"].as_bool(), again["errorReason"].as_str()),
        (Some(false), Some("duplicate_settlement")),
        "{again}"
    );
    assert_eq!(solana.tokens(&p.pay_to), AMOUNT, "paid exactly once");
}
