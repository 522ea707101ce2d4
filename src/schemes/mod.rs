//! The rules of each payment scheme, on the normalized model. Schemes know no host.

pub mod exact_evm;
