// Local EVM tooling: anvil + TestUSDC (EIP-3009 / EIP-2612) + TestERC1271Wallet.
// Run: node --test tests/node/chain.test.mjs
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import {
  decodeEventLog,
  domainSeparator,
  getAddress,
  hashTypedData,
  keccak256,
  parseSignature,
  serializeSignature,
  toHex,
} from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';

import {
  ANVIL_ACCOUNTS,
  ANVIL_MNEMONIC,
  balanceOf,
  clients,
  compileContracts,
  deployContract,
  deployTestToken,
  findAnvil,
  rpc,
  PERMIT_TYPES,
  startAnvil,
  TRANSFER_TYPES,
} from '../../scripts/lib/chain.mjs';

const CHAIN_ID = 84532;
const FUND = 1_000_000n * 10n ** 6n;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const RECEIVE_TYPES = { ReceiveWithAuthorization: TRANSFER_TYPES.TransferWithAuthorization };
const CANCEL_TYPES = {
  CancelAuthorization: [
    { name: 'authorizer', type: 'address' },
    { name: 'nonce', type: 'bytes32' },
  ],
};

const [A0, A1, A2, A3, A4] = ANVIL_ACCOUNTS;
const nonce32 = () => toHex(randomBytes(32));

/** Start anvil, deploy the token, run `fn`, always stop anvil. */
async function withChain(fn) {
  const node = await startAnvil({ chainId: CHAIN_ID });
  try {
    const token = await deployTestToken({ rpcUrl: node.rpcUrl, chainId: node.chainId });
    const c0 = clients({ rpcUrl: node.rpcUrl, chainId: node.chainId, privateKey: A0.privateKey });
    const ctx = {
      node,
      token,
      pub: c0.publicClient,
      domain: { name: 'USD Coin', version: '2', chainId: CHAIN_ID, verifyingContract: token.address },
      /** wallet client of an anvil account */
      wallet: (acct) => clients({ rpcUrl: node.rpcUrl, chainId: node.chainId, privateKey: acct.privateKey }).walletClient,
      read: (functionName, args = []) => c0.publicClient.readContract({ address: token.address, abi: token.abi, functionName, args }),
      bal: (owner) => balanceOf({ rpcUrl: node.rpcUrl, token: token.address, owner }),
      now: async () => (await c0.publicClient.getBlock()).timestamp,
      /** send a token call from `acct` and wait for a successful receipt */
      send: async (acct, functionName, args) => {
        const hash = await ctx.wallet(acct).writeContract({ address: token.address, abi: token.abi, functionName, args });
        const receipt = await c0.publicClient.waitForTransactionReceipt({ hash });
        assert.equal(receipt.status, 'success');
        return receipt;
      },
      events: (receipt) =>
        receipt.logs
          .filter((l) => getAddress(l.address) === token.address)
          .map((l) => decodeEventLog({ abi: token.abi, data: l.data, topics: l.topics })),
    };
    return await fn(ctx);
  } finally {
    await node.stop();
    assert.notEqual(node.process.exitCode ?? node.process.signalCode, null, 'anvil has exited');
  }
}

/** Sign a TransferWithAuthorization (or another type) as `signer` (an anvil account). */
async function signAuth(ctx, signer, message, types = TRANSFER_TYPES) {
  return privateKeyToAccount(signer.privateKey).signTypedData({
    domain: ctx.domain,
    types,
    primaryType: Object.keys(types)[0],
    message,
  });
}

async function authorization(ctx, { from = A1.address, to = A2.address, value = 1_500_000n, validAfter = 0n, validBefore, nonce = nonce32() } = {}) {
  validBefore ??= (await ctx.now()) + 3600n;
  return { from, to, value, validAfter, validBefore, nonce };
}

const vrsArgs = (a, sig) => {
  const { v, r, s } = parseSignature(sig);
  return [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, Number(v), r, s];
};
const bytesArgs = (a, sig) => [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, sig];

test('anvil binary, accounts and chain id', async () => {
  const bin = findAnvil();
  assert.match(bin, /anvil(\.exe)?$/);
  const node = await startAnvil({ chainId: CHAIN_ID });
  try {
    assert.match(node.rpcUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(Number(await rpc(node.rpcUrl, 'eth_chainId')), CHAIN_ID);
    const accounts = await rpc(node.rpcUrl, 'eth_accounts');
    assert.deepEqual(
      accounts.map((a) => getAddress(a)),
      ANVIL_ACCOUNTS.map((a) => a.address),
    );
    ANVIL_ACCOUNTS.forEach((a, i) => {
      assert.equal(privateKeyToAccount(a.privateKey).address, a.address);
      assert.equal(mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: i }).address, a.address);
    });
  } finally {
    await node.stop();
  }
  assert.notEqual(node.process.exitCode ?? node.process.signalCode, null);
});

test('artifacts have the shape the Rust tests read', async () => {
  const arts = await compileContracts();
  for (const name of ['TestUSDC', 'TestERC1271Wallet']) {
    assert.ok(Array.isArray(arts[name].abi), `${name}.abi`);
    assert.match(arts[name].bytecode, /^0x[0-9a-f]+$/, `${name}.bytecode`);
  }
});

test('token metadata, EIP-712 domain, type hashes and funding', () =>
  withChain(async (ctx) => {
    assert.equal(await ctx.read('name'), 'USD Coin');
    assert.equal(await ctx.read('symbol'), 'USDC');
    assert.equal(await ctx.read('version'), '2');
    assert.equal(await ctx.read('decimals'), 6);
    assert.equal(await ctx.read('owner'), A0.address);
    assert.equal(await ctx.read('DOMAIN_SEPARATOR'), domainSeparator({ domain: ctx.domain }));
    const [, name, version, chainId, verifyingContract] = await ctx.read('eip712Domain');
    assert.deepEqual([name, version, chainId, verifyingContract], ['USD Coin', '2', BigInt(CHAIN_ID), ctx.token.address]);

    const typeHash = (s) => keccak256(toHex(s));
    const expected = {
      TRANSFER_WITH_AUTHORIZATION_TYPEHASH: '0x7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267',
      RECEIVE_WITH_AUTHORIZATION_TYPEHASH: '0xd099cc98ef71107a616c4f0f941f04c322d8e254fe26b3c6668db87aae413de8',
      CANCEL_AUTHORIZATION_TYPEHASH: '0x158b0a9edf7a828aad02f63cd515c68ef2f50ba807396f6d12842833a1597429',
      PERMIT_TYPEHASH: '0x6e71edae12b1b97f4d1f60370fef10105fa2faae0126114a169c64845d6126c9',
    };
    for (const [constant, value] of Object.entries(expected)) assert.equal(await ctx.read(constant), value, constant);
    assert.equal(
      expected.TRANSFER_WITH_AUTHORIZATION_TYPEHASH,
      typeHash('TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)'),
    );
    assert.equal(expected.CANCEL_AUTHORIZATION_TYPEHASH, typeHash('CancelAuthorization(address authorizer,bytes32 nonce)'));

    for (const a of ANVIL_ACCOUNTS) assert.equal(await ctx.bal(a.address), FUND);
    assert.equal(await ctx.read('totalSupply'), FUND * 10n);
    await assert.rejects(ctx.send(A1, 'mint', [A1.address, 1n]), /OwnableUnauthorizedAccount/);
  }));

test('transferWithAuthorization (v,r,s): exact balances, replay rejected', () =>
  withChain(async (ctx) => {
    const auth = await authorization(ctx);
    const sig = await signAuth(ctx, A1, auth);
    assert.equal(await ctx.read('authorizationState', [A1.address, auth.nonce]), false);

    const receipt = await ctx.send(A0, 'transferWithAuthorization', vrsArgs(auth, sig));
    assert.equal(await ctx.bal(A1.address), FUND - auth.value);
    assert.equal(await ctx.bal(A2.address), FUND + auth.value);
    assert.equal(await ctx.bal(A0.address), FUND);
    assert.equal(await ctx.read('authorizationState', [A1.address, auth.nonce]), true);
    const events = ctx.events(receipt);
    assert.deepEqual(
      events.map((e) => e.eventName),
      ['AuthorizationUsed', 'Transfer'],
    );
    assert.deepEqual(events[0].args, { authorizer: A1.address, nonce: auth.nonce });

    await assert.rejects(
      ctx.send(A0, 'transferWithAuthorization', vrsArgs(auth, sig)),
      /FiatTokenV2: authorization is used or canceled/,
    );
    await assert.rejects(
      ctx.send(A0, 'transferWithAuthorization', bytesArgs(auth, sig)),
      /FiatTokenV2: authorization is used or canceled/,
    );
    assert.equal(await ctx.bal(A2.address), FUND + auth.value);
  }));

test('transferWithAuthorization (bytes signature), time window and signature checks', () =>
  withChain(async (ctx) => {
    const auth = await authorization(ctx, { value: 42n });
    await ctx.send(A0, 'transferWithAuthorization', bytesArgs(auth, await signAuth(ctx, A1, auth)));
    assert.equal(await ctx.bal(A1.address), FUND - 42n);
    assert.equal(await ctx.bal(A2.address), FUND + 42n);

    const now = await ctx.now();
    const expired = await authorization(ctx, { validBefore: now - 1n });
    await assert.rejects(
      ctx.send(A0, 'transferWithAuthorization', vrsArgs(expired, await signAuth(ctx, A1, expired))),
      /FiatTokenV2: authorization is expired/,
    );
    const early = await authorization(ctx, { validAfter: now + 3600n, validBefore: now + 7200n });
    await assert.rejects(
      ctx.send(A0, 'transferWithAuthorization', bytesArgs(early, await signAuth(ctx, A1, early))),
      /FiatTokenV2: authorization is not yet valid/,
    );

    // Signed by someone other than `from`.
    const forged = await authorization(ctx);
    await assert.rejects(
      ctx.send(A0, 'transferWithAuthorization', bytesArgs(forged, await signAuth(ctx, A3, forged))),
      /FiatTokenV2: invalid signature/,
    );
    // Tampered amount.
    const good = await authorization(ctx);
    const goodSig = await signAuth(ctx, A1, good);
    await assert.rejects(
      ctx.send(A0, 'transferWithAuthorization', bytesArgs({ ...good, value: good.value + 1n }, goodSig)),
      /FiatTokenV2: invalid signature/,
    );
    // The malleable high-s twin of a valid signature is rejected (ECDSA low-s rule).
    const { r, s, yParity } = parseSignature(goodSig);
    const highS = serializeSignature({ r, s: toHex(SECP256K1_N - BigInt(s), { size: 32 }), yParity: 1 - yParity });
    await assert.rejects(
      ctx.send(A0, 'transferWithAuthorization', bytesArgs(good, highS)),
      /FiatTokenV2: invalid signature/,
    );
    await ctx.send(A0, 'transferWithAuthorization', bytesArgs(good, goodSig));
    assert.equal(await ctx.bal(A2.address), FUND + 42n + good.value);
  }));

test('receiveWithAuthorization and cancelAuthorization', () =>
  withChain(async (ctx) => {
    const auth = await authorization(ctx, { value: 7n });
    const sig = await signAuth(ctx, A1, auth, RECEIVE_TYPES);
    await assert.rejects(
      ctx.send(A0, 'receiveWithAuthorization', vrsArgs(auth, sig)),
      /FiatTokenV2: caller must be the payee/,
    );
    // A TransferWithAuthorization signature is not a ReceiveWithAuthorization one.
    await assert.rejects(
      ctx.send(A2, 'receiveWithAuthorization', bytesArgs(auth, await signAuth(ctx, A1, auth))),
      /FiatTokenV2: invalid signature/,
    );
    await ctx.send(A2, 'receiveWithAuthorization', vrsArgs(auth, sig));
    assert.equal(await ctx.bal(A2.address), FUND + 7n);
    const auth2 = await authorization(ctx, { value: 8n });
    await ctx.send(A2, 'receiveWithAuthorization', bytesArgs(auth2, await signAuth(ctx, A1, auth2, RECEIVE_TYPES)));
    assert.equal(await ctx.bal(A2.address), FUND + 15n);

    // Cancel (v,r,s) then the authorization with that nonce is dead.
    const pending = await authorization(ctx);
    const cancelSig = await signAuth(ctx, A1, { authorizer: A1.address, nonce: pending.nonce }, CANCEL_TYPES);
    const { v, r, s } = parseSignature(cancelSig);
    const receipt = await ctx.send(A0, 'cancelAuthorization', [A1.address, pending.nonce, Number(v), r, s]);
    assert.deepEqual(ctx.events(receipt).map((e) => [e.eventName, e.args]), [
      ['AuthorizationCanceled', { authorizer: A1.address, nonce: pending.nonce }],
    ]);
    assert.equal(await ctx.read('authorizationState', [A1.address, pending.nonce]), true);
    await assert.rejects(
      ctx.send(A0, 'transferWithAuthorization', bytesArgs(pending, await signAuth(ctx, A1, pending))),
      /FiatTokenV2: authorization is used or canceled/,
    );
    await assert.rejects(
      ctx.send(A0, 'cancelAuthorization', [A1.address, pending.nonce, cancelSig]),
      /FiatTokenV2: authorization is used or canceled/,
    );
    // Cancel (bytes) with a wrong signer fails, with the right one works.
    const n2 = nonce32();
    await assert.rejects(
      ctx.send(A0, 'cancelAuthorization', [A1.address, n2, await signAuth(ctx, A2, { authorizer: A1.address, nonce: n2 }, CANCEL_TYPES)]),
      /FiatTokenV2: invalid signature/,
    );
    await ctx.send(A0, 'cancelAuthorization', [A1.address, n2, await signAuth(ctx, A1, { authorizer: A1.address, nonce: n2 }, CANCEL_TYPES)]);
    assert.equal(await ctx.read('authorizationState', [A1.address, n2]), true);
  }));

test('permit (EIP-2612) sets the allowance', () =>
  withChain(async (ctx) => {
    const value = 123_456n;
    const deadline = (await ctx.now()) + 3600n;
    assert.equal(await ctx.read('nonces', [A1.address]), 0n);
    const sig = await signAuth(ctx, A1, { owner: A1.address, spender: A4.address, value, nonce: 0n, deadline }, PERMIT_TYPES);
    const { v, r, s } = parseSignature(sig);
    await ctx.send(A0, 'permit', [A1.address, A4.address, value, deadline, Number(v), r, s]);
    assert.equal(await ctx.read('allowance', [A1.address, A4.address]), value);
    assert.equal(await ctx.read('nonces', [A1.address]), 1n);
    await assert.rejects(
      ctx.send(A0, 'permit', [A1.address, A4.address, value, deadline, Number(v), r, s]),
      /ERC2612InvalidSigner/,
    );
    await ctx.send(A4, 'transferFrom', [A1.address, A4.address, value]);
    assert.equal(await ctx.bal(A4.address), FUND + value);
    assert.equal(await ctx.read('allowance', [A1.address, A4.address]), 0n);
  }));

test('ERC-1271 wallet pays with transferWithAuthorization (bytes)', () =>
  withChain(async (ctx) => {
    const wallet = await deployContract({
      rpcUrl: ctx.node.rpcUrl,
      chainId: CHAIN_ID,
      name: 'TestERC1271Wallet',
      args: [A3.address],
    });
    const readWallet = (functionName, args) => ctx.pub.readContract({ address: wallet.address, abi: wallet.abi, functionName, args });
    assert.equal(await readWallet('owner', []), A3.address);
    await ctx.send(A0, 'mint', [wallet.address, 5_000_000n]);
    assert.equal(await ctx.bal(wallet.address), 5_000_000n);

    const auth = await authorization(ctx, { from: wallet.address, to: A2.address, value: 2_000_000n });
    const sig = await signAuth(ctx, A3, auth); // the owner signs the same EIP-712 digest
    const digest = hashTypedData({ domain: ctx.domain, types: TRANSFER_TYPES, primaryType: 'TransferWithAuthorization', message: auth });
    assert.equal(await readWallet('isValidSignature', [digest, sig]), '0x1626ba7e');
    assert.equal(await readWallet('isValidSignature', [digest, await signAuth(ctx, A4, auth)]), '0xffffffff');

    // Not the owner's signature: rejected through ERC-1271.
    await assert.rejects(
      ctx.send(A0, 'transferWithAuthorization', bytesArgs(auth, await signAuth(ctx, A4, auth))),
      /FiatTokenV2: invalid signature/,
    );
    await ctx.send(A0, 'transferWithAuthorization', bytesArgs(auth, sig));
    assert.equal(await ctx.bal(wallet.address), 3_000_000n);
    assert.equal(await ctx.bal(A2.address), FUND + 2_000_000n);
    assert.equal(await ctx.read('authorizationState', [wallet.address, auth.nonce]), true);
  }));
