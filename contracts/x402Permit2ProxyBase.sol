// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

import {IPermit2} from "./IPermit2.sol";

/**
 * @title x402Permit2ProxyBase
 * @notice What the two x402 Permit2 proxies (`exact` and `upto`) share: the Permit2 address, the events and
 * errors, the checks every settlement makes, and the optional EIP-2612 permit that gives Permit2 its
 * allowance in the same transaction.
 *
 * @dev Written for this repository's local chains, to behave externally like the canonical
 * `x402ExactPermit2Proxy` / `x402UptoPermit2Proxy`: same selectors, witness types, checks, events and
 * errors as the x402 specification and the official x402 EVM client describe them. The proxy is the
 * Permit2 spender the payer signs for, so a facilitator can only move funds through it, to the
 * destination the witness names.
 *
 * Nothing in storage needs initialising: `PERMIT2` is an immutable in the runtime code and OpenZeppelin's
 * reentrancy flag reads "not entered" when zero, so the runtime code can be placed with `anvil_setCode`.
 */
abstract contract x402Permit2ProxyBase is ReentrancyGuard {
    /// @notice The Permit2 contract every settlement goes through.
    IPermit2 public immutable PERMIT2;

    /// @notice An EIP-2612 `permit` of the token, giving Permit2 its allowance (r, s before v, as canonical).
    struct EIP2612Permit {
        uint256 value;
        uint256 deadline;
        bytes32 r;
        bytes32 s;
        uint8 v;
    }

    /// @notice A `settle` moved the funds.
    event Settled();

    /// @notice A `settleWithPermit` moved the funds.
    event SettledWithPermit();

    /// @notice The token's `permit` reverted with `Error(string)`; settlement went on.
    event EIP2612PermitFailedWithReason(address indexed token, address indexed owner, string reason);

    /// @notice The token's `permit` reverted with `Panic(uint256)`; settlement went on.
    event EIP2612PermitFailedWithPanic(address indexed token, address indexed owner, uint256 errorCode);

    /// @notice The token's `permit` reverted otherwise (custom error, empty); settlement went on.
    event EIP2612PermitFailedWithData(address indexed token, address indexed owner, bytes data);

    error InvalidPermit2Address();
    error InvalidAmount();
    error InvalidOwner();
    error InvalidDestination();
    error PaymentTooEarly();
    error Permit2612AmountMismatch();

    constructor(address permit2) {
        if (permit2 == address(0)) revert InvalidPermit2Address();
        PERMIT2 = IPermit2(permit2);
    }

    /**
     * @dev The checks every settlement makes, in the canonical order, then the Permit2 transfer of `amount`
     * to `to`. Permit2 itself enforces the deadline, `amount <= permitted.amount`, the unused nonce and the
     * signature over (permit, this contract as spender, witness).
     */
    function _transfer(
        IPermit2.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        address to,
        uint256 validAfter,
        bytes32 witnessHash,
        bytes calldata signature
    ) internal {
        if (amount == 0) revert InvalidAmount();
        if (owner == address(0)) revert InvalidOwner();
        if (to == address(0)) revert InvalidDestination();
        if (block.timestamp < validAfter) revert PaymentTooEarly();
        PERMIT2.permitWitnessTransferFrom(
            permit,
            IPermit2.SignatureTransferDetails({to: to, requestedAmount: amount}),
            owner,
            witnessHash,
            _witnessTypeString(),
            signature
        );
    }

    /**
     * @dev Submits the payer's EIP-2612 permit for Permit2. Its value must be the permitted amount; a
     * reverting `permit` (already used, front-run, unsupported) is only logged, since an existing allowance
     * still lets the settlement succeed.
     */
    function _tryPermit2612(address token, address owner, EIP2612Permit calldata p, uint256 permittedAmount) internal {
        if (p.value != permittedAmount) revert Permit2612AmountMismatch();
        try IERC20Permit(token).permit(owner, address(PERMIT2), p.value, p.deadline, p.v, p.r, p.s) {}
        catch Error(string memory reason) {
            emit EIP2612PermitFailedWithReason(token, owner, reason);
        } catch Panic(uint256 errorCode) {
            emit EIP2612PermitFailedWithPanic(token, owner, errorCode);
        } catch (bytes memory data) {
            emit EIP2612PermitFailedWithData(token, owner, data);
        }
    }

    /// @dev The proxy's `WITNESS_TYPE_STRING`, which Permit2 appends to its type stub.
    function _witnessTypeString() internal pure virtual returns (string memory);
}
