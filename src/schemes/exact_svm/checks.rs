//! The pure checks of an `exact` Solana payment, one function per rule, each returning one typed error.
//! The order is the reference's (protocol digest §5.2), with the rules it dropped or left to simulation
//! in the places noted.

use super::error::ExactSvmError;
use crate::chains::svm::pubkey::programs;
use crate::chains::svm::{
    associated_token_address, parse_memo, CompiledInstruction, ComputeBudgetInstruction, Message, Pubkey, Transaction,
    TransferChecked,
};

/// 5 lamports per compute unit, in micro-lamports (spec rule 3).
pub const MAX_COMPUTE_UNIT_PRICE_MICRO_LAMPORTS: u64 = 5_000_000;
pub const MIN_INSTRUCTIONS: usize = 3;
/// The three required instructions and up to four optional ones (`@x402/svm` 2.27: wallets such as
/// Phantom inject up to three Lighthouse assertions beside the client's Memo).
pub const MAX_INSTRUCTIONS: usize = 7;

/// What `paymentRequirements` ask for, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub amount: u64,
    pub asset: Pubkey,
    pub pay_to: Pubkey,
    pub memo: Option<&'a str>,
}

/// `extra.feePayer` is present and one of this facilitator's fee payers.
pub fn check_fee_payer(fee_payer: Option<&str>, managed: &[Pubkey]) -> Result<Pubkey, ExactSvmError> {
    let text = fee_payer.ok_or(ExactSvmError::MissingFeePayer)?;
    match text.parse::<Pubkey>() {
        Ok(key) if managed.contains(&key) => Ok(key),
        _ => Err(ExactSvmError::FeePayerNotManaged(text.to_string())),
    }
}

pub fn parse_amount(amount: &str) -> Result<u64, ExactSvmError> {
    let invalid = || ExactSvmError::InvalidAmount(amount.to_string());
    if amount.is_empty() || !amount.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    amount.parse::<u64>().map_err(|_| invalid())
}

pub fn parse_asset(asset: &str) -> Result<Pubkey, ExactSvmError> {
    asset.parse().map_err(|_| ExactSvmError::InvalidAsset(asset.to_string()))
}

pub fn parse_pay_to(pay_to: &str) -> Result<Pubkey, ExactSvmError> {
    pay_to.parse().map_err(|_| ExactSvmError::InvalidPayTo(pay_to.to_string()))
}

pub fn decode_transaction(transaction: &str) -> Result<Transaction, ExactSvmError> {
    Transaction::from_base64(transaction).map_err(ExactSvmError::Undecodable)
}

/// Accounts are read from the static keys only; a v0 lookup table is refused, not resolved.
pub fn check_no_address_lookup_tables(message: &Message) -> Result<(), ExactSvmError> {
    match message.address_table_lookups.len() {
        0 => Ok(()),
        n => Err(ExactSvmError::AddressLookupTables(n)),
    }
}

pub fn check_instruction_count(message: &Message) -> Result<(), ExactSvmError> {
    let n = message.instructions.len();
    if !(MIN_INSTRUCTIONS..=MAX_INSTRUCTIONS).contains(&n) {
        return Err(ExactSvmError::InstructionCount(n));
    }
    Ok(())
}

/// The instruction at `index` with its program (the count is checked first, so it exists).
fn instruction(message: &Message, index: usize) -> Option<(&CompiledInstruction, Pubkey)> {
    let ix = message.instructions.get(index)?;
    Some((ix, *message.program_id(ix)?))
}

/// The ComputeBudget instruction at `index`, or why it is not one.
fn compute_budget(message: &Message, index: usize) -> Result<ComputeBudgetInstruction, String> {
    let (ix, program) = instruction(message, index).ok_or_else(|| "missing".to_string())?;
    if program != programs::COMPUTE_BUDGET {
        return Err(format!("it calls {program}"));
    }
    ComputeBudgetInstruction::parse(&ix.data).map_err(|e| e.to_string())
}

/// Instruction 1 is `SetComputeUnitLimit`.
pub fn check_compute_limit(message: &Message) -> Result<u32, ExactSvmError> {
    match compute_budget(message, 0).map_err(ExactSvmError::ComputeLimit)? {
        ComputeBudgetInstruction::SetComputeUnitLimit(units) => Ok(units),
        other => Err(ExactSvmError::ComputeLimit(format!("found {other:?}"))),
    }
}

/// Instruction 2 is `SetComputeUnitPrice`, at most 5 lamports per compute unit.
pub fn check_compute_price(message: &Message) -> Result<u64, ExactSvmError> {
    match compute_budget(message, 1).map_err(ExactSvmError::ComputePrice)? {
        ComputeBudgetInstruction::SetComputeUnitPrice(micro_lamports) => {
            if micro_lamports > MAX_COMPUTE_UNIT_PRICE_MICRO_LAMPORTS {
                return Err(ExactSvmError::ComputePriceTooHigh {
                    micro_lamports,
                    cap: MAX_COMPUTE_UNIT_PRICE_MICRO_LAMPORTS,
                });
            }
            Ok(micro_lamports)
        }
        other => Err(ExactSvmError::ComputePrice(format!("found {other:?}"))),
    }
}

/// Instruction 3 is a TransferChecked of SPL Token or Token-2022: the transfer and its token program.
pub fn parse_transfer(message: &Message) -> Result<(TransferChecked, Pubkey), ExactSvmError> {
    let fail = ExactSvmError::NoTransferInstruction;
    let (ix, program) = instruction(message, 2).ok_or_else(|| fail("missing".to_string()))?;
    if program != programs::TOKEN && program != programs::TOKEN_2022 {
        return Err(fail(format!("it calls {program}")));
    }
    let accounts = message.instruction_accounts(ix).ok_or_else(|| fail("an account is not static".to_string()))?;
    let transfer = TransferChecked::parse(&ix.data, &accounts).map_err(|e| fail(e.to_string()))?;
    Ok((transfer, program))
}

/// The facilitator never moves its own funds: no fee payer of it is the transfer authority.
pub fn check_authority_not_fee_payer(transfer: &TransferChecked, managed: &[Pubkey]) -> Result<(), ExactSvmError> {
    if managed.contains(&transfer.authority) {
        return Err(ExactSvmError::FeePayerTransferringFunds(transfer.authority));
    }
    Ok(())
}

/// Spec rule 2, which the current reference dropped and the legacy one kept: no fee payer of this
/// facilitator is in any instruction's accounts (as source, multisig signer, memo signer, ...).
pub fn check_fee_payer_not_in_accounts(message: &Message, managed: &[Pubkey]) -> Result<(), ExactSvmError> {
    for (i, ix) in message.instructions.iter().enumerate() {
        let keys =
            ix.accounts.iter().chain(std::iter::once(&ix.program_id_index)).filter_map(|&a| message.static_key(a));
        if let Some(fee_payer) = keys.into_iter().find(|k| managed.contains(k)) {
            return Err(ExactSvmError::FeePayerInInstructionAccounts { fee_payer: *fee_payer, instruction: i + 1 });
        }
    }
    Ok(())
}

pub fn check_mint(transfer: &TransferChecked, asset: &Pubkey) -> Result<(), ExactSvmError> {
    if transfer.mint != *asset {
        return Err(ExactSvmError::MintMismatch { mint: transfer.mint, asset: *asset });
    }
    Ok(())
}

/// The destination is payTo's associated token account for the asset, under the transfer's program.
pub fn check_recipient(
    transfer: &TransferChecked,
    pay_to: &Pubkey,
    asset: &Pubkey,
    token_program: &Pubkey,
) -> Result<(), ExactSvmError> {
    let expected = associated_token_address(pay_to, asset, token_program).map_err(ExactSvmError::Ata)?;
    if transfer.destination != expected {
        return Err(ExactSvmError::RecipientMismatch { destination: transfer.destination, expected });
    }
    Ok(())
}

/// The payer does not pay itself: the authority is not payTo (whose associated account the destination
/// is), and the source is not the destination (a delegate moving payTo's own tokens to payTo).
pub fn check_not_self_transfer(transfer: &TransferChecked, pay_to: &Pubkey) -> Result<(), ExactSvmError> {
    if transfer.authority == *pay_to || transfer.source == transfer.destination {
        return Err(ExactSvmError::SelfTransfer { authority: transfer.authority });
    }
    Ok(())
}

/// The amount is exactly the required one (as the TS reference; Go accepts more).
pub fn check_amount(transfer: &TransferChecked, required: u64) -> Result<(), ExactSvmError> {
    if transfer.amount != required {
        return Err(ExactSvmError::AmountMismatch { amount: transfer.amount, required });
    }
    Ok(())
}

/// Instructions 4 to 7 may only be Lighthouse or Memo, in any order, as `@x402/svm` 2.27 accepts them
/// (the spec's text names only Memo for #7; its reference code takes either). Neither program moves
/// funds, and the fee payer is kept out of their accounts by [`check_fee_payer_not_in_accounts`].
pub fn check_optional_instructions(message: &Message) -> Result<(), ExactSvmError> {
    for (i, ix) in message.instructions.iter().enumerate().skip(MIN_INSTRUCTIONS) {
        let program = message.program_id(ix).copied().unwrap_or_default();
        if program != programs::LIGHTHOUSE && program != programs::MEMO {
            return Err(ExactSvmError::UnknownInstruction { position: i + 1, program });
        }
    }
    Ok(())
}

/// When `extra.memo` is set: exactly one Memo instruction, whose UTF-8 text equals it.
pub fn check_memo(message: &Message, memo: Option<&str>) -> Result<(), ExactSvmError> {
    let Some(expected) = memo else {
        return Ok(());
    };
    let memos: Vec<&CompiledInstruction> = message
        .instructions
        .iter()
        .skip(MIN_INSTRUCTIONS)
        .filter(|ix| message.program_id(ix) == Some(&programs::MEMO))
        .collect();
    let [only] = memos.as_slice() else {
        return Err(ExactSvmError::MemoCount(memos.len()));
    };
    match parse_memo(&only.data) {
        Ok(text) if text == expected => Ok(()),
        _ => Err(ExactSvmError::MemoMismatch),
    }
}

/// The transaction's fee payer (account 0) is the one the requirements name: the facilitator's
/// signature is the one left to add (Go checks this in settle).
pub fn check_fee_payer_slot(message: &Message, fee_payer: &Pubkey) -> Result<(), ExactSvmError> {
    match message.fee_payer() {
        Some(actual) if actual == fee_payer => Ok(()),
        actual => {
            Err(ExactSvmError::FeePayerMismatch { actual: actual.copied().unwrap_or_default(), expected: *fee_payer })
        }
    }
}

/// The client signed what it sends: the transfer authority is a signer, every other signer is one the
/// transfer needs (the authority's multisig signers), and every signature but the fee payer's verifies
/// over the message bytes (the reference leaves this to a `sigVerify` simulation). The fee payer pays
/// for each signature: a signer no instruction needs only adds to its fee.
pub fn check_client_signatures(
    transaction: &Transaction,
    transfer: &TransferChecked,
    fee_payer: &Pubkey,
) -> Result<(), ExactSvmError> {
    if transaction.signer_index(&transfer.authority).is_none() {
        return Err(ExactSvmError::AuthorityNotSigner(transfer.authority));
    }
    let needed = |key: &Pubkey| *key == transfer.authority || transfer.signers.contains(key);
    for signer in transaction.message().signers().iter().filter(|k| *k != fee_payer) {
        if !needed(signer) {
            return Err(ExactSvmError::UnneededSigner(*signer));
        }
        transaction.verify_signer(signer).map_err(ExactSvmError::Signature)?;
    }
    Ok(())
}
