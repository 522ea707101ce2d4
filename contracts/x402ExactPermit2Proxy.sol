// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IPermit2} from "./IPermit2.sol";
import {x402Permit2ProxyBase} from "./x402Permit2ProxyBase.sol";

/**
 * @title x402ExactPermit2Proxy
 * @notice The `exact` scheme's Permit2 spender: moves exactly the permitted amount from the payer to the
 * witness's `to`. Behaves externally like the canonical contract at 0x402085c248EeA27D92E8b30b2C58ed07f9E20001
 * (selectors `settle` 0x13cd3b53, `settleWithPermit` 0xfa340378); this repository places it there on its
 * local chains.
 */
contract x402ExactPermit2Proxy is x402Permit2ProxyBase {
    /// @notice The payee and the earliest settlement time the payer signed, as the Permit2 witness.
    struct Witness {
        address to;
        uint256 validAfter;
    }

    /// @notice Permit2's witness type string tail (referenced types in alphabetical order).
    string public constant WITNESS_TYPE_STRING =
        "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,uint256 validAfter)";

    /// @notice keccak256("Witness(address to,uint256 validAfter)")
    bytes32 public constant WITNESS_TYPEHASH = keccak256("Witness(address to,uint256 validAfter)");

    constructor(address permit2) x402Permit2ProxyBase(permit2) {}

    /// @notice Moves `permit.permitted.amount` from `owner` to `witness.to` (the owner allowed Permit2 before).
    function settle(
        IPermit2.PermitTransferFrom calldata permit,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external nonReentrant {
        _settleExact(permit, owner, witness, signature);
        emit Settled();
    }

    /// @notice As `settle`, after submitting the owner's EIP-2612 permit that allows Permit2.
    function settleWithPermit(
        EIP2612Permit calldata permit2612,
        IPermit2.PermitTransferFrom calldata permit,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external nonReentrant {
        _tryPermit2612(permit.permitted.token, owner, permit2612, permit.permitted.amount);
        _settleExact(permit, owner, witness, signature);
        emit SettledWithPermit();
    }

    function _settleExact(
        IPermit2.PermitTransferFrom calldata permit,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) private {
        bytes32 witnessHash = keccak256(abi.encode(WITNESS_TYPEHASH, witness.to, witness.validAfter));
        _transfer(permit, permit.permitted.amount, owner, witness.to, witness.validAfter, witnessHash, signature);
    }

    function _witnessTypeString() internal pure override returns (string memory) {
        return WITNESS_TYPE_STRING;
    }
}
