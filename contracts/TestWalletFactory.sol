// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestERC1271Wallet} from "./TestERC1271Wallet.sol";

/**
 * @title TestWalletFactory
 * @notice Deploys {TestERC1271Wallet}s at CREATE2 addresses known before deployment, as ERC-4337 account
 * factories do: a counterfactual wallet can sign (ERC-6492) before it exists. `createWallet` is idempotent:
 * for a wallet that exists already it returns its address without deploying again.
 */
contract TestWalletFactory {
    event WalletCreated(address indexed wallet, address indexed owner, bytes32 salt);

    function createWallet(address owner, bytes32 salt) external returns (address wallet) {
        wallet = walletAddress(owner, salt);
        if (wallet.code.length > 0) return wallet;
        TestERC1271Wallet created = new TestERC1271Wallet{salt: salt}(owner);
        require(address(created) == wallet, "TestWalletFactory: address mismatch");
        emit WalletCreated(wallet, owner, salt);
    }

    /**
     * @notice Like {createWallet} when the call pays no gas price (an `eth_call` simulation or a gas estimate)
     * and reverts in a real transaction: a deployment that passes its simulation and fails on chain.
     */
    function createWalletUnlessPriced(address owner, bytes32 salt) external returns (address wallet) {
        require(tx.gasprice == 0, "TestWalletFactory: deployments fail on chain");
        return this.createWallet(owner, salt);
    }

    function walletAddress(address owner, bytes32 salt) public view returns (address) {
        bytes32 initCodeHash = keccak256(abi.encodePacked(type(TestERC1271Wallet).creationCode, abi.encode(owner)));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, initCodeHash)))));
    }
}
