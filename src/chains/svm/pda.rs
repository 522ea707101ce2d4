//! Program-derived addresses (PDAs) and associated token accounts (ATAs).
//!
//! A PDA is `SHA-256(seeds ‖ [bump] ‖ program_id ‖ "ProgramDerivedAddress")` for the largest bump
//! (from 255 down) whose hash is *not* a point of the ed25519 curve, so no private key can sign for it.

use curve25519_dalek::edwards::CompressedEdwardsY;
use sha2::{Digest, Sha256};

use super::pubkey::{programs, Pubkey};

pub const MAX_SEEDS: usize = 16;
pub const MAX_SEED_LEN: usize = 32;
const PDA_MARKER: &[u8] = b"ProgramDerivedAddress";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdaError {
    #[error("at most {MAX_SEEDS} seeds (with the bump) of at most {MAX_SEED_LEN} bytes each")]
    InvalidSeeds,
    #[error("the derived address is on the ed25519 curve")]
    OnCurve,
    #[error("no bump seed gives an address off the curve")]
    NoViableBump,
}

/// Whether 32 bytes are the compressed form of an ed25519 curve point.
pub fn is_on_curve(bytes: &[u8; 32]) -> bool {
    CompressedEdwardsY(*bytes).decompress().is_some()
}

/// `create_program_address`: the address for these exact seeds (the bump included), if off the curve.
pub fn create_program_address(seeds: &[&[u8]], program_id: &Pubkey) -> Result<Pubkey, PdaError> {
    if seeds.len() > MAX_SEEDS || seeds.iter().any(|s| s.len() > MAX_SEED_LEN) {
        return Err(PdaError::InvalidSeeds);
    }
    let mut hasher = Sha256::new();
    for seed in seeds {
        hasher.update(seed);
    }
    hasher.update(program_id.0);
    hasher.update(PDA_MARKER);
    let hash: [u8; 32] = hasher.finalize().into();
    if is_on_curve(&hash) {
        return Err(PdaError::OnCurve);
    }
    Ok(Pubkey(hash))
}

/// `find_program_address`: the canonical PDA and its bump (the largest viable one).
pub fn find_program_address(seeds: &[&[u8]], program_id: &Pubkey) -> Result<(Pubkey, u8), PdaError> {
    // The bump is one more seed, so at most MAX_SEEDS - 1 seeds are given.
    if seeds.len() >= MAX_SEEDS {
        return Err(PdaError::InvalidSeeds);
    }
    for bump in (0..=u8::MAX).rev() {
        let bump_seed = [bump];
        let mut with_bump: Vec<&[u8]> = seeds.to_vec();
        with_bump.push(&bump_seed);
        match create_program_address(&with_bump, program_id) {
            Ok(address) => return Ok((address, bump)),
            Err(PdaError::OnCurve) => {}
            Err(e) => return Err(e),
        }
    }
    Err(PdaError::NoViableBump)
}

/// The associated token account of `owner` for `mint` under `token_program` (SPL Token or Token-2022):
/// the PDA of seeds `[owner, token_program, mint]` under the Associated Token program.
pub fn associated_token_address(owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Result<Pubkey, PdaError> {
    find_program_address(&[&owner.0, &token_program.0, &mint.0], &programs::ASSOCIATED_TOKEN).map(|(a, _)| a)
}
