//! Solana (SVM) chain code, knowing no scheme: base58 public keys, the wire transaction codec (legacy
//! and v0 messages), ed25519 signatures over the message bytes, program-derived and associated token
//! addresses, and the few instructions the `exact` scheme reads (ComputeBudget, SPL Token
//! TransferChecked, Memo).
//!
//! Hand-written on purpose: no Solana SDK crate (`solana-sdk`, `solana-transaction`, `solana-pubkey`
//! with its `curve25519` feature, ...) builds for `wasm32-unknown-unknown` with default features off
//! without pulling `getrandom` or the native runtime in. The wire format is small and stable, so it is
//! decoded here strictly (canonical compact-u16 lengths, no trailing bytes, every account index in
//! range), on top of well-kept primitives: `bs58`, `sha2`, `ed25519-dalek` and `curve25519-dalek`.

pub mod instruction;
pub mod pda;
pub mod pubkey;
pub mod rpc;
pub mod signature;
pub mod transaction;

#[cfg(test)]
mod tests;

pub use instruction::{parse_memo, token_payer, ComputeBudgetInstruction, InstructionError, TransferChecked};
pub use pda::{associated_token_address, create_program_address, find_program_address, PdaError};
pub use pubkey::{Pubkey, PubkeyError};
pub use signature::{verify_signature, KeyError, Keypair, SignatureError};
pub use transaction::{
    AddressTableLookup, CompiledInstruction, DecodeError, Message, MessageHeader, MessageVersion, Transaction,
};
