// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title TestFakeToken
 * @notice A contract posing as a token, for tests of the facilitator's simulations: it answers like USDC
 * ("USD Coin", version "2": EIP-3009, EIP-2612, ERC-20) and every call succeeds, but nothing ever moves.
 * `balanceOf` is the same large number for everyone, `authorizationState` is always unused, `allowance` is
 * the constructor's `allowance_` (0: a batch must send the permit first), and `transferWithAuthorization`,
 * `permit`, `transferFrom` and `transfer` return success without changing any state.
 */
contract TestFakeToken {
    uint256 private immutable _allowance;

    constructor(uint256 allowance_) {
        _allowance = allowance_;
    }

    function name() external pure returns (string memory) {
        return "USD Coin";
    }

    function version() external pure returns (string memory) {
        return "2";
    }

    function decimals() external pure returns (uint8) {
        return 6;
    }

    function balanceOf(address) external pure returns (uint256) {
        return 1_000_000_000_000;
    }

    function authorizationState(address, bytes32) external pure returns (bool) {
        return false;
    }

    function nonces(address) external pure returns (uint256) {
        return 0;
    }

    function allowance(address, address) external view returns (uint256) {
        return _allowance;
    }

    function transferWithAuthorization(address, address, uint256, uint256, uint256, bytes32, uint8, bytes32, bytes32)
        external
        pure
    {}

    function transferWithAuthorization(address, address, uint256, uint256, uint256, bytes32, bytes memory)
        external
        pure
    {}

    function permit(address, address, uint256, uint256, uint8, bytes32, bytes32) external pure {}

    function transferFrom(address, address, uint256) external pure returns (bool) {
        return true;
    }

    function transfer(address, uint256) external pure returns (bool) {
        return true;
    }
}
