//! EVM: EIP-712 digests, ECDSA recovery, contract ABIs, transactions and JSON-RPC calls.

pub mod contracts;
pub mod eip2612;
pub mod eip3009;
pub mod recover_vartime;
pub mod rpc;
pub mod sender;
pub mod signature;
pub mod signer;
pub mod tx;
