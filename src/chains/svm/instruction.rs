//! The instructions the `exact` scheme reads, parsed from compiled instruction data.

use super::pubkey::Pubkey;

/// `SetComputeUnitLimit` discriminator of the ComputeBudget program.
pub const SET_COMPUTE_UNIT_LIMIT: u8 = 2;
/// `SetComputeUnitPrice` discriminator of the ComputeBudget program.
pub const SET_COMPUTE_UNIT_PRICE: u8 = 3;
/// `TransferChecked` discriminator of SPL Token and Token-2022.
pub const TRANSFER_CHECKED: u8 = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstructionError {
    #[error("empty instruction data")]
    Empty,
    #[error("unexpected discriminator {0}")]
    Discriminator(u8),
    #[error("instruction data is {actual} bytes, expected {expected}")]
    Length { expected: usize, actual: usize },
    #[error("TransferChecked needs at least 4 accounts, it has {0}")]
    Accounts(usize),
    #[error("memo data is not UTF-8")]
    MemoNotUtf8,
}

/// A ComputeBudget instruction the scheme recognizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputeBudgetInstruction {
    SetComputeUnitLimit(u32),
    /// Price per compute unit in micro-lamports.
    SetComputeUnitPrice(u64),
}

impl ComputeBudgetInstruction {
    /// Parses `SetComputeUnitLimit` (`[2, u32 LE]`) or `SetComputeUnitPrice` (`[3, u64 LE]`). The data
    /// must be exactly that long.
    pub fn parse(data: &[u8]) -> Result<ComputeBudgetInstruction, InstructionError> {
        let (&discriminator, rest) = data.split_first().ok_or(InstructionError::Empty)?;
        match discriminator {
            SET_COMPUTE_UNIT_LIMIT => {
                let bytes: [u8; 4] = exact(rest, 5)?;
                Ok(ComputeBudgetInstruction::SetComputeUnitLimit(u32::from_le_bytes(bytes)))
            }
            SET_COMPUTE_UNIT_PRICE => {
                let bytes: [u8; 8] = exact(rest, 9)?;
                Ok(ComputeBudgetInstruction::SetComputeUnitPrice(u64::from_le_bytes(bytes)))
            }
            other => Err(InstructionError::Discriminator(other)),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        match *self {
            ComputeBudgetInstruction::SetComputeUnitLimit(units) => {
                let mut out = vec![SET_COMPUTE_UNIT_LIMIT];
                out.extend(units.to_le_bytes());
                out
            }
            ComputeBudgetInstruction::SetComputeUnitPrice(micro_lamports) => {
                let mut out = vec![SET_COMPUTE_UNIT_PRICE];
                out.extend(micro_lamports.to_le_bytes());
                out
            }
        }
    }
}

/// `rest` (the data after the discriminator) as an array, when the whole data is `total` bytes.
fn exact<const N: usize>(rest: &[u8], total: usize) -> Result<[u8; N], InstructionError> {
    rest.try_into().map_err(|_| InstructionError::Length { expected: total, actual: rest.len() + 1 })
}

/// SPL Token / Token-2022 `TransferChecked`, with its accounts resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferChecked {
    pub source: Pubkey,
    pub mint: Pubkey,
    pub destination: Pubkey,
    /// The owner or delegate of `source` (a multisig account when `signers` is not empty).
    pub authority: Pubkey,
    /// Multisig signers, if any.
    pub signers: Vec<Pubkey>,
    pub amount: u64,
    pub decimals: u8,
}

impl TransferChecked {
    /// Parses `[12, u64 LE amount, u8 decimals]` with accounts `source, mint, destination, authority,
    /// signers...`.
    pub fn parse(data: &[u8], accounts: &[Pubkey]) -> Result<TransferChecked, InstructionError> {
        let (&discriminator, rest) = data.split_first().ok_or(InstructionError::Empty)?;
        if discriminator != TRANSFER_CHECKED {
            return Err(InstructionError::Discriminator(discriminator));
        }
        let bytes: [u8; 9] = exact(rest, 10)?;
        let mut amount = [0u8; 8];
        amount.copy_from_slice(&bytes[..8]);
        let [source, mint, destination, authority, signers @ ..] = accounts else {
            return Err(InstructionError::Accounts(accounts.len()));
        };
        Ok(TransferChecked {
            source: *source,
            mint: *mint,
            destination: *destination,
            authority: *authority,
            signers: signers.to_vec(),
            amount: u64::from_le_bytes(amount),
            decimals: bytes[8],
        })
    }

    /// The instruction data.
    pub fn encode_data(amount: u64, decimals: u8) -> Vec<u8> {
        let mut out = vec![TRANSFER_CHECKED];
        out.extend(amount.to_le_bytes());
        out.push(decimals);
        out
    }
}

/// The Memo program's data: UTF-8 text.
pub fn parse_memo(data: &[u8]) -> Result<&str, InstructionError> {
    std::str::from_utf8(data).map_err(|_| InstructionError::MemoNotUtf8)
}

/// Who pays a token transfer, read as the reference reads it (`getTokenPayerFromTransaction`): the
/// fourth account (the owner or authority) of the first SPL Token or Token-2022 instruction.
pub fn token_payer(message: &super::transaction::Message) -> Option<Pubkey> {
    use super::pubkey::programs;
    message.instructions.iter().find_map(|ix| {
        let program = message.program_id(ix)?;
        if *program != programs::TOKEN && *program != programs::TOKEN_2022 {
            return None;
        }
        message.static_key(*ix.accounts.get(3)?).copied()
    })
}
