//! EVM: EIP-712 digests, ECDSA recovery, contract ABIs, transactions and JSON-RPC calls.

pub mod contracts;
pub mod eip2612;
pub mod eip3009;
pub mod eip712;
#[cfg(feature = "permit2")]
pub mod permit2;
/// Variable-time signer recovery (the `x402-edge-secp256k1` crate).
pub mod recover_vartime {
    pub use x402_edge_secp256k1::*;
}
pub mod rpc;
pub mod sender;
pub mod signature;
pub mod signer;
pub mod tx;
pub mod value_probe;
