//! The Solana wire transaction: `compact-u16 n ‖ n × 64-byte signature ‖ message`, where the message is
//! legacy (`header ‖ keys ‖ blockhash ‖ instructions`) or versioned (`0x80 | version` first, then the
//! same fields and, for v0, the address-table lookups).
//!
//! Decoding is strict: lengths must be canonical compact-u16, nothing may follow the message, the
//! signature count must equal the header's required signatures, and every index must name an account.
//! The exact signed bytes are kept, so re-encoding an unmodified decode is byte-identical and a
//! signature set afterwards (the fee payer's) covers exactly what the client signed.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::pubkey::Pubkey;
use super::signature::{verify_signature, Keypair, SignatureError};

/// Solana's packet limit: a serialized transaction never exceeds 1232 bytes.
pub const MAX_TRANSACTION_SIZE: usize = 1232;
/// At most 256 accounts can be addressed by a one-byte index.
const MAX_ACCOUNTS: usize = 256;
const VERSION_PREFIX: u8 = 0x80;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the transaction is not valid base64")]
    Base64,
    #[error("the transaction is {0} bytes, more than Solana's limit of 1232")]
    TooLarge(usize),
    #[error("the transaction ends early, inside {0}")]
    Truncated(&'static str),
    #[error("a compact-u16 length is overlong or not in its shortest form")]
    NonCanonicalLength,
    #[error("{0} bytes follow the message")]
    TrailingBytes(usize),
    #[error("message version {0} is not supported (only legacy and v0)")]
    UnsupportedVersion(u8),
    #[error("the transaction carries {signatures} signatures, its message requires {required}")]
    SignatureCount { signatures: usize, required: u8 },
    #[error("the message header is inconsistent with its {0} account keys")]
    InvalidHeader(usize),
    #[error("the message names {0} accounts, more than 256")]
    TooManyAccounts(usize),
    #[error("the message repeats account key {0}")]
    DuplicateAccount(Pubkey),
    #[error("instruction {instruction} names account index {index}, beyond the message's {accounts} accounts")]
    AccountIndexOutOfRange { instruction: usize, index: u8, accounts: usize },
    #[error("instruction {instruction} has an invalid program id index {index}")]
    InvalidProgramIndex { instruction: usize, index: u8 },
}

/// Which message format the transaction carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageVersion {
    Legacy,
    V0,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageHeader {
    /// Signers come first among the account keys; the first is the fee payer.
    pub num_required_signatures: u8,
    pub num_readonly_signed_accounts: u8,
    pub num_readonly_unsigned_accounts: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledInstruction {
    pub program_id_index: u8,
    pub accounts: Vec<u8>,
    pub data: Vec<u8>,
}

/// A v0 reference to accounts stored in an address lookup table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressTableLookup {
    pub account_key: Pubkey,
    pub writable_indexes: Vec<u8>,
    pub readonly_indexes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub version: MessageVersion,
    pub header: MessageHeader,
    pub account_keys: Vec<Pubkey>,
    pub recent_blockhash: [u8; 32],
    pub instructions: Vec<CompiledInstruction>,
    /// Always empty for a legacy message.
    pub address_table_lookups: Vec<AddressTableLookup>,
}

/// A decoded transaction: its signatures and its message, with the exact bytes that are signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub signatures: Vec<[u8; 64]>,
    message: Message,
    message_bytes: Vec<u8>,
}

/// Appends a compact-u16 ("shortvec") length.
pub fn encode_compact_u16(out: &mut Vec<u8>, mut value: u16) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).ok_or(DecodeError::Truncated(what))?;
        let slice = self.bytes.get(self.at..end).ok_or(DecodeError::Truncated(what))?;
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// A compact-u16: 1 to 3 bytes of 7 bits, little end first. Like Solana's `decode_shortu16_len`,
    /// it refuses a zero continuation byte (a longer alias of a shorter form) and values above u16.
    fn compact_u16(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let mut value: usize = 0;
        for i in 0..3 {
            let byte = self.u8(what)?;
            if i > 0 && byte == 0 {
                return Err(DecodeError::NonCanonicalLength);
            }
            if i == 2 && byte > 0x03 {
                return Err(DecodeError::NonCanonicalLength);
            }
            value |= usize::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::NonCanonicalLength)
    }

    /// A compact-u16 count of items of `size` bytes each, checked against the bytes left so a huge
    /// count cannot make the decoder allocate.
    fn count(&mut self, size: usize, what: &'static str) -> Result<usize, DecodeError> {
        let n = self.compact_u16(what)?;
        if n.saturating_mul(size) > self.bytes.len().saturating_sub(self.at) {
            return Err(DecodeError::Truncated(what));
        }
        Ok(n)
    }

    fn bytes_vec(&mut self, what: &'static str) -> Result<Vec<u8>, DecodeError> {
        let n = self.count(1, what)?;
        Ok(self.take(n, what)?.to_vec())
    }
}

impl Message {
    fn decode(reader: &mut Reader<'_>) -> Result<Message, DecodeError> {
        let first = reader.u8("the message header")?;
        let (version, num_required_signatures) = if first & VERSION_PREFIX != 0 {
            match first & !VERSION_PREFIX {
                0 => (MessageVersion::V0, reader.u8("the message header")?),
                other => return Err(DecodeError::UnsupportedVersion(other)),
            }
        } else {
            (MessageVersion::Legacy, first)
        };
        let header = MessageHeader {
            num_required_signatures,
            num_readonly_signed_accounts: reader.u8("the message header")?,
            num_readonly_unsigned_accounts: reader.u8("the message header")?,
        };
        let n_keys = reader.count(32, "the account keys")?;
        let mut account_keys = Vec::with_capacity(n_keys);
        for _ in 0..n_keys {
            account_keys.push(Pubkey(reader.array::<32>("the account keys")?));
        }
        let recent_blockhash = reader.array::<32>("the recent blockhash")?;
        let n_instructions = reader.count(3, "the instructions")?;
        let mut instructions = Vec::with_capacity(n_instructions);
        for _ in 0..n_instructions {
            instructions.push(CompiledInstruction {
                program_id_index: reader.u8("an instruction")?,
                accounts: reader.bytes_vec("an instruction's accounts")?,
                data: reader.bytes_vec("an instruction's data")?,
            });
        }
        let mut address_table_lookups = Vec::new();
        if version == MessageVersion::V0 {
            let n_lookups = reader.count(34, "the address table lookups")?;
            for _ in 0..n_lookups {
                address_table_lookups.push(AddressTableLookup {
                    account_key: Pubkey(reader.array::<32>("an address table lookup")?),
                    writable_indexes: reader.bytes_vec("an address table lookup")?,
                    readonly_indexes: reader.bytes_vec("an address table lookup")?,
                });
            }
        }
        let message = Message { version, header, account_keys, recent_blockhash, instructions, address_table_lookups };
        message.sanitize()?;
        Ok(message)
    }

    /// The structural rules Solana's `sanitize` applies, so a decoded message is one the runtime accepts
    /// in shape and every index used later names an account.
    fn sanitize(&self) -> Result<(), DecodeError> {
        let keys = self.account_keys.len();
        let h = self.header;
        let required = usize::from(h.num_required_signatures);
        // The fee payer is a writable signer; signers and read-only unsigned accounts fit in the keys.
        if required == 0
            || h.num_readonly_signed_accounts >= h.num_required_signatures
            || required + usize::from(h.num_readonly_unsigned_accounts) > keys
        {
            return Err(DecodeError::InvalidHeader(keys));
        }
        let total = self.total_accounts();
        if total > MAX_ACCOUNTS {
            return Err(DecodeError::TooManyAccounts(total));
        }
        for (i, key) in self.account_keys.iter().enumerate() {
            if self.account_keys[..i].contains(key) {
                return Err(DecodeError::DuplicateAccount(*key));
            }
        }
        for (i, ix) in self.instructions.iter().enumerate() {
            // The program is a static key and never the fee payer.
            let program = usize::from(ix.program_id_index);
            if program == 0 || program >= keys {
                return Err(DecodeError::InvalidProgramIndex { instruction: i, index: ix.program_id_index });
            }
            if let Some(&index) = ix.accounts.iter().find(|&&a| usize::from(a) >= total) {
                return Err(DecodeError::AccountIndexOutOfRange { instruction: i, index, accounts: total });
            }
        }
        Ok(())
    }

    /// Static keys plus the accounts loaded through lookup tables.
    pub fn total_accounts(&self) -> usize {
        self.account_keys.len()
            + self
                .address_table_lookups
                .iter()
                .map(|l| l.writable_indexes.len() + l.readonly_indexes.len())
                .sum::<usize>()
    }

    /// The fee payer: the first account key (a sanitized message always has one).
    pub fn fee_payer(&self) -> Option<&Pubkey> {
        self.account_keys.first()
    }

    /// The keys that must sign, in signature order.
    pub fn signers(&self) -> &[Pubkey] {
        let n = usize::from(self.header.num_required_signatures).min(self.account_keys.len());
        &self.account_keys[..n]
    }

    /// The static account key at `index`, or `None` for an index into a lookup table (or out of range).
    pub fn static_key(&self, index: u8) -> Option<&Pubkey> {
        self.account_keys.get(usize::from(index))
    }

    /// The program an instruction calls (a sanitized message always has it among the static keys).
    pub fn program_id(&self, instruction: &CompiledInstruction) -> Option<&Pubkey> {
        self.static_key(instruction.program_id_index)
    }

    /// An instruction's accounts from the static keys, or `None` if one comes from a lookup table.
    pub fn instruction_accounts(&self, instruction: &CompiledInstruction) -> Option<Vec<Pubkey>> {
        instruction.accounts.iter().map(|&i| self.static_key(i).copied()).collect()
    }

    /// The serialized message: the bytes that are signed.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        if self.version == MessageVersion::V0 {
            out.push(VERSION_PREFIX);
        }
        out.extend([
            self.header.num_required_signatures,
            self.header.num_readonly_signed_accounts,
            self.header.num_readonly_unsigned_accounts,
        ]);
        push_len(&mut out, self.account_keys.len());
        for key in &self.account_keys {
            out.extend_from_slice(&key.0);
        }
        out.extend_from_slice(&self.recent_blockhash);
        push_len(&mut out, self.instructions.len());
        for ix in &self.instructions {
            out.push(ix.program_id_index);
            push_bytes(&mut out, &ix.accounts);
            push_bytes(&mut out, &ix.data);
        }
        if self.version == MessageVersion::V0 {
            push_len(&mut out, self.address_table_lookups.len());
            for lookup in &self.address_table_lookups {
                out.extend_from_slice(&lookup.account_key.0);
                push_bytes(&mut out, &lookup.writable_indexes);
                push_bytes(&mut out, &lookup.readonly_indexes);
            }
        }
        out
    }
}

/// Lengths above u16 cannot occur in a message that fits Solana's size limit; they are saturated.
fn push_len(out: &mut Vec<u8>, len: usize) {
    encode_compact_u16(out, u16::try_from(len).unwrap_or(u16::MAX));
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    push_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

impl Transaction {
    /// Decodes a wire transaction.
    pub fn decode(bytes: &[u8]) -> Result<Transaction, DecodeError> {
        if bytes.len() > MAX_TRANSACTION_SIZE {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let mut reader = Reader { bytes, at: 0 };
        let n_signatures = reader.count(64, "the signatures")?;
        let mut signatures = Vec::with_capacity(n_signatures);
        for _ in 0..n_signatures {
            signatures.push(reader.array::<64>("the signatures")?);
        }
        let start = reader.at;
        let message = Message::decode(&mut reader)?;
        if reader.at != bytes.len() {
            return Err(DecodeError::TrailingBytes(bytes.len() - reader.at));
        }
        if n_signatures != usize::from(message.header.num_required_signatures) {
            return Err(DecodeError::SignatureCount {
                signatures: n_signatures,
                required: message.header.num_required_signatures,
            });
        }
        let message_bytes = bytes[start..].to_vec();
        Ok(Transaction { signatures, message, message_bytes })
    }

    /// Decodes a standard-base64 wire transaction (what x402 payloads carry).
    pub fn from_base64(text: &str) -> Result<Transaction, DecodeError> {
        // 4/3 of the size limit, rounded up, bounds the text before decoding.
        if text.len() > MAX_TRANSACTION_SIZE.div_ceil(3) * 4 {
            return Err(DecodeError::TooLarge(text.len() / 4 * 3));
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| DecodeError::Base64)?;
        Transaction::decode(&bytes)
    }

    /// An unsigned transaction for a message: one all-zero signature per required signer.
    pub fn new_unsigned(message: Message) -> Transaction {
        let message_bytes = message.encode();
        let signatures = vec![[0u8; 64]; usize::from(message.header.num_required_signatures)];
        Transaction { signatures, message, message_bytes }
    }

    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The exact bytes every signature covers.
    pub fn message_bytes(&self) -> &[u8] {
        &self.message_bytes
    }

    /// SHA-256 of the message bytes: the same payment always has the same hash, whatever its signatures.
    pub fn message_hash(&self) -> [u8; 32] {
        Sha256::digest(&self.message_bytes).into()
    }

    /// The position of `key` among the required signers.
    pub fn signer_index(&self, key: &Pubkey) -> Option<usize> {
        self.message.signers().iter().position(|k| k == key)
    }

    /// The signature slot of `key`, if it is a required signer.
    pub fn signature_of(&self, key: &Pubkey) -> Option<&[u8; 64]> {
        self.signer_index(key).and_then(|i| self.signatures.get(i))
    }

    /// Checks `key`'s signature over the message (strict ed25519: no malleable or small-order forms).
    pub fn verify_signer(&self, key: &Pubkey) -> Result<(), SignatureError> {
        let signature = self.signature_of(key).ok_or(SignatureError::NotASigner(*key))?;
        verify_signature(key, &self.message_bytes, signature)
    }

    /// Signs the message with `keypair` and puts the signature in its slot.
    pub fn sign(&mut self, keypair: &Keypair) -> Result<(), SignatureError> {
        let key = keypair.pubkey();
        let index = self.signer_index(&key).ok_or(SignatureError::NotASigner(key))?;
        let signature = keypair.sign(&self.message_bytes);
        match self.signatures.get_mut(index) {
            Some(slot) => {
                *slot = signature;
                Ok(())
            }
            None => Err(SignatureError::NotASigner(key)),
        }
    }

    /// The wire bytes: signatures, then the message bytes exactly as decoded (or encoded).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + 64 * self.signatures.len() + self.message_bytes.len());
        push_len(&mut out, self.signatures.len());
        for signature in &self.signatures {
            out.extend_from_slice(signature);
        }
        out.extend_from_slice(&self.message_bytes);
        out
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.encode())
    }

    /// The transaction id: the base58 of the first (the fee payer's) signature.
    pub fn id(&self) -> String {
        self.signatures.first().map(|s| bs58::encode(s).into_string()).unwrap_or_default()
    }
}
