//! The contract interfaces we call, declared once with `sol!` (calldata and return decoding derive
//! from these).

use alloy_sol_types::sol;

sol! {
    /// EIP-3009 as Circle's FiatToken exposes it, plus the ERC-20 reads the diagnosis needs.
    interface IEip3009Token {
        function transferWithAuthorization(address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external;
        function transferWithAuthorization(address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce, bytes signature) external;
        function authorizationState(address authorizer, bytes32 nonce) external view returns (bool);
        function balanceOf(address account) external view returns (uint256);
        function name() external view returns (string);
        function version() external view returns (string);
    }
}

sol! {
    /// EIP-2612 and the ERC-20 calls the `upto` scheme settles with: `permit` once per session (the
    /// allowance), then `transferFrom` of each batch by the spender.
    interface IEip2612Token {
        function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;
        function nonces(address owner) external view returns (uint256);
        function allowance(address owner, address spender) external view returns (uint256);
        function transferFrom(address from, address to, uint256 value) external returns (bool);
        function balanceOf(address account) external view returns (uint256);
    }
}

sol! {
    /// ERC-1271: how a contract wallet says a signature is its own.
    interface IERC1271 {
        function isValidSignature(bytes32 hash, bytes signature) external view returns (bytes4 magicValue);
    }
}

sol! {
    /// Multicall3, deployed at [`MULTICALL3`] on every EVM chain we serve: how a counterfactual wallet's
    /// deployment and its payment are simulated together in one `eth_call`.
    interface IMulticall3 {
        struct Call3 {
            address target;
            bool allowFailure;
            bytes callData;
        }
        struct Result {
            bool success;
            bytes returnData;
        }
        function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory returnData);
    }
}

/// Multicall3's address, the same on every chain that has it.
pub const MULTICALL3: alloy_primitives::Address =
    alloy_primitives::address!("cA11bde05977b3631167028862bE2a173976CA11");

/// Multicall3's runtime code (mds1/multicall v3, MIT), as deployed at [`MULTICALL3`]
/// (`tests/anvil_upto_permit2.rs` compares it with a deployment): put at a caller's address by a
/// state override, `aggregate3` runs *as* that caller, in the batch of reads and whether or not the
/// chain has Multicall3.
pub const MULTICALL3_CODE: &str = include_str!("multicall3-code.hex");

/// What `isValidSignature` returns for a valid signature.
pub const ERC1271_MAGIC_VALUE: [u8; 4] = [0x16, 0x26, 0xba, 0x7e];

/// The human-readable reason of revert data (`Error(string)`, `Panic(uint256)`, or custom errors by
/// selector), or its hex when it cannot be decoded.
pub fn revert_reason(data: &[u8]) -> String {
    alloy_sol_types::decode_revert_reason(data).unwrap_or_else(|| format!("0x{}", hex::encode(data)))
}
