// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IPermit2} from "./IPermit2.sol";
import {x402Permit2ProxyBase} from "./x402Permit2ProxyBase.sol";

/**
 * @title x402UptoPermit2Proxy
 * @notice The `upto` scheme's Permit2 spender: the payer signs a cap, the facilitator named in the witness
 * (and only it) settles the actual charge, at most the cap. Behaves externally like the canonical contract
 * at 0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002 (selectors `settle` 0xff11e7b4, `settleWithPermit`
 * 0x016c1748); this repository places it there on its local chains.
 */
contract x402UptoPermit2Proxy is x402Permit2ProxyBase {
    /// @notice The payee, the one address allowed to settle, and the earliest settlement time.
    struct Witness {
        address to;
        address facilitator;
        uint256 validAfter;
    }

    /// @notice Permit2's witness type string tail (referenced types in alphabetical order).
    string public constant WITNESS_TYPE_STRING =
        "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,address facilitator,uint256 validAfter)";

    /// @notice keccak256("Witness(address to,address facilitator,uint256 validAfter)")
    bytes32 public constant WITNESS_TYPEHASH = keccak256("Witness(address to,address facilitator,uint256 validAfter)");

    /// @notice The charge is above the signed cap.
    error AmountExceedsPermitted();
    /// @notice The caller is not the facilitator the payer named.
    error UnauthorizedFacilitator();

    constructor(address permit2) x402Permit2ProxyBase(permit2) {}

    /// @notice Moves `amount` (at most the permitted cap) from `owner` to `witness.to`; only
    /// `witness.facilitator` may call.
    function settle(
        IPermit2.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external nonReentrant {
        _checkCharge(permit, amount, witness);
        _settleUpto(permit, amount, owner, witness, signature);
        emit Settled();
    }

    /// @notice As `settle`, after submitting the owner's EIP-2612 permit (its value must be the cap).
    function settleWithPermit(
        EIP2612Permit calldata permit2612,
        IPermit2.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external nonReentrant {
        _checkCharge(permit, amount, witness);
        _tryPermit2612(permit.permitted.token, owner, permit2612, permit.permitted.amount);
        _settleUpto(permit, amount, owner, witness, signature);
        emit SettledWithPermit();
    }

    /// @dev The upto-only checks, before anything else: the cap, then the caller.
    function _checkCharge(IPermit2.PermitTransferFrom calldata permit, uint256 amount, Witness calldata witness)
        private
        view
    {
        if (amount > permit.permitted.amount) revert AmountExceedsPermitted();
        if (msg.sender != witness.facilitator) revert UnauthorizedFacilitator();
    }

    function _settleUpto(
        IPermit2.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) private {
        bytes32 witnessHash =
            keccak256(abi.encode(WITNESS_TYPEHASH, witness.to, witness.facilitator, witness.validAfter));
        _transfer(permit, amount, owner, witness.to, witness.validAfter, witnessHash, signature);
    }

    function _witnessTypeString() internal pure override returns (string memory) {
        return WITNESS_TYPE_STRING;
    }
}
