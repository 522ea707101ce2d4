// No free gas, through `wrangler dev` (issue 13 §3): a zero-value payment, a payment to oneself and a
// payment in a token that is neither a known stablecoin nor on ASSET_ALLOWLIST_<NAME> are refused at
// /verify and /settle with their codes, and cost the facilitator nothing: its nonce and ETH balance and
// every token balance are unchanged. The stack's own TestUSDC (allowlisted by the stack) settles.
//
// Run: node --test tests/e2e/no-free-gas.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';

import { toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

import { TRANSFER_TYPES, balanceOf, clients, deployTestToken } from '../../scripts/lib/chain.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';

const CHAIN_ID = 84532;

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
let publicClient;
let payer, payee, facilitator;
let stranger; // a second TestUSDC, deployed by someone else: not allowlisted

before(
  async () => {
    stack = await startStack({ local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0, chainId: CHAIN_ID });
    ({ publicClient } = clients({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID }));
    [payer, payee, facilitator] = [1, 2, 9].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
    stranger = (await deployTestToken({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID })).address;
  },
  { timeout: 150_000 },
);

after(async () => {
  await stack?.stop();
});

const now = () => Math.floor(Date.now() / 1000);

async function post(path, body) {
  const res = await fetch(`${stack.facilitatorUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.json();
}

/** A v2 exact payment of `amount` of `asset` from `signer` to `payTo`, signed with viem. */
async function payment({ asset = stack.token.address, amount = '1000', payTo = payee.address, signer = payer } = {}) {
  const requirements = {
    scheme: 'exact', network: `eip155:${CHAIN_ID}`, amount, asset, payTo, maxTimeoutSeconds: 300,
    extra: { name: 'USD Coin', version: '2' },
  };
  const authorization = {
    from: signer.address, to: payTo, value: amount, validAfter: '0', validBefore: String(now() + 600),
    nonce: toHex(randomBytes(32)),
  };
  const signature = await signer.signTypedData({
    domain: { name: 'USD Coin', version: '2', chainId: CHAIN_ID, verifyingContract: asset },
    types: TRANSFER_TYPES,
    primaryType: 'TransferWithAuthorization',
    message: { ...authorization, value: BigInt(amount), validAfter: 0n, validBefore: BigInt(authorization.validBefore) },
  });
  return {
    x402Version: 2,
    paymentPayload: { x402Version: 2, accepted: requirements, payload: { authorization, signature } },
    paymentRequirements: requirements,
  };
}

/** What the attacks must not change: the facilitator's nonce and ETH, and every token balance involved. */
async function chainState() {
  const tokens = [stack.token.address, stranger];
  const owners = [payer.address, payee.address];
  const balances = await Promise.all(tokens.flatMap((token) => owners.map((owner) => balanceOf({ rpcUrl: stack.rpcUrl, token, owner }))));
  return {
    nonce: await publicClient.getTransactionCount({ address: facilitator.address }),
    eth: await publicClient.getBalance({ address: facilitator.address }),
    balances,
  };
}

test('zero-value, self and unlisted-token payments are refused at verify and settle, and cost nothing', async () => {
  const before = await chainState();
  const cases = [
    ['amount_below_minimum', await payment({ amount: '0' })],
    ['self_payment', await payment({ payTo: payer.address.toLowerCase() })],
    ['asset_not_allowed', await payment({ asset: stranger })],
  ];
  for (const [code, body] of cases) {
    const verify = await post('/verify', body);
    assert.equal(verify.isValid, false, JSON.stringify(verify));
    assert.equal(verify.invalidReason, code, JSON.stringify(verify));
    for (let i = 0; i < 3; i++) {
      const settle = await post('/settle', body);
      assert.equal(settle.success, false, JSON.stringify(settle));
      assert.equal(settle.errorReason, code, JSON.stringify(settle));
      assert.equal(settle.transaction, '');
    }
  }
  assert.deepEqual(await chainState(), before, 'no transaction, no gas, no token moved');
});

test("the stack's own TestUSDC is allowlisted and settles", async () => {
  const settle = await post('/settle', await payment({ amount: '1234' }));
  assert.equal(settle.success, true, JSON.stringify(settle));
});
