// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IPermit2
 * @notice The part of Uniswap Permit2's `SignatureTransfer` the x402 proxies call, plus the reads tests and
 * facilitators use. Struct layouts follow Permit2's `ISignatureTransfer`, so ABI encodings (and the proxies'
 * function selectors built from these tuples) are the same as with Permit2's own interface.
 */
interface IPermit2 {
    /// @notice A token and the most that may be moved of it.
    struct TokenPermissions {
        address token;
        uint256 amount;
    }

    /// @notice What the owner signs; the spender is not a field: Permit2 takes it to be `msg.sender`.
    struct PermitTransferFrom {
        TokenPermissions permitted;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice Where the tokens go and how many, chosen by the spender (at most `permitted.amount`).
    struct SignatureTransferDetails {
        address to;
        uint256 requestedAmount;
    }

    /// @notice Moves `transferDetails.requestedAmount` of `permit.permitted.token` from `owner` to
    /// `transferDetails.to` if `signature` is the owner's over the permit, `msg.sender` as spender, and the
    /// witness (`witness` is its struct hash, `witnessTypeString` the type string tail).
    function permitWitnessTransferFrom(
        PermitTransferFrom calldata permit,
        SignatureTransferDetails calldata transferDetails,
        address owner,
        bytes32 witness,
        string calldata witnessTypeString,
        bytes calldata signature
    ) external;

    /// @notice One 256-bit word of the owner's unordered nonces (`nonce >> 8` is the word, `nonce & 0xff` the bit).
    function nonceBitmap(address owner, uint256 wordPos) external view returns (uint256);

    /// @notice `{name: "Permit2", chainId, verifyingContract}` EIP-712 domain separator.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}
