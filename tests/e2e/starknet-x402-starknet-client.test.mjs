// End to end with the shipped x402-starknet 1.0.0 client (NethermindEth, npm `x402-starknet`, the client
// daydreams uses), not our own: its `createPaymentPayload` builds the payment exactly as it ships (asks a
// SNIP-29 paymaster's `paymaster_buildTransaction` for the typed data, has the payer's starknet.js Account
// sign it, fills `authorization` from the typed data), and its `FacilitatorClient` posts /verify and
// /settle to the built worker in `wrangler dev` on starknet-devnet 0.10.1.
//
// That client reads `nonce` and `valid_until` from the typed data, which SNIP-9 v2 names `Nonce` and
// `Execute Before`, so it sends `authorization.nonce: "0x0"` and `validUntil: "0"`: the facilitator takes
// both as "not stated" and binds the signed ones (a zero nonce no longer refuses the payment, and two
// payments with it are still two payments).
//
// The paymaster is the local SNIP-29 stand-in (scripts/lib/paymaster.mjs) instead of AVNU's (network
// only): it builds the outside execution with the facilitator's sponsor as `Caller`, so the facilitator
// (self-sponsored) submits it; the stand-in never executes here. x402-starknet 1.0.0 declares starknet ^8.9
// as a peer; it runs here against the workspace's starknet 10.8 (it uses only `num`, `hash`, `CallData`
// of it, and the Account passed in signs).
//
// Run: node --test tests/e2e/starknet-x402-starknet-client.test.mjs   (needs build/index_bg.wasm)

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { VERSION, createFacilitatorClient, createPaymentPayload } from 'x402-starknet';

import { startPaymaster } from '../../scripts/lib/paymaster.mjs';
import { starknetAccount } from '../../scripts/lib/starknet-client.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
let sn, paymaster, facilitator;
let payer, payee;

before(
  async () => {
    stack = await startStack({ local: true, localSvm: false, localStarknet: true, chainPort: 0, workerPort: 0 });
    sn = stack.starknet;
    [payer, payee] = sn.payers;
    // The stack's sponsor is the devnet's account #0: the typed data's Caller.
    paymaster = await startPaymaster({ rpcUrl: sn.rpcUrl, relayer: sn.devnet.accounts[0] });
    assert.equal(BigInt(paymaster.relayer), BigInt(sn.sponsor));
    facilitator = createFacilitatorClient({ baseUrl: stack.facilitatorUrl });
  },
  { timeout: 150_000 },
);

after(async () => {
  await paymaster?.close();
  await stack?.stop();
});

// x402-starknet's own name for the devnet's chain (SN_SEPOLIA): the facilitator's alias of starknet-sepolia.
const requirements = (amount) => ({
  scheme: 'exact', network: 'starknet:sepolia', amount, asset: sn.token, payTo: payee.address, maxTimeoutSeconds: 300,
});
const balances = async () => ({ payer: await sn.devnet.balance('STRK', payer.address), payee: await sn.devnet.balance('STRK', payee.address) });
/** A payment as x402-starknet 1.0.0 builds it, the payer's starknet.js Account signing. */
const pay = (req) => createPaymentPayload(starknetAccount(payer, sn.rpcUrl), 2, req, { endpoint: paymaster.url, network: 'starknet:sepolia' });

describe('x402-starknet 1.0.0 client through wrangler dev', () => {
  test('its payment, with the zero nonce it sends, verifies, settles exactly once, and its replay is refused', async () => {
    assert.equal(VERSION, '1.0.0');
    const req = requirements('1357913');
    const payload = await pay(req);
    // What the shipped client sends: no nonce, no expiry (read from fields SNIP-9 v2 does not have).
    assert.equal(payload.payload.authorization.nonce, '0x0');
    assert.equal(payload.payload.authorization.validUntil, '0');
    assert.notEqual(BigInt(payload.typedData.message.Nonce), 0n);
    assert.equal(payload.paymasterEndpoint, paymaster.url);

    const verified = await facilitator.verify(payload, req);
    assert.equal(verified.isValid, true, JSON.stringify(verified));
    assert.equal(BigInt(verified.payer), BigInt(payer.address));

    const before = await balances();
    const settled = await facilitator.settle(payload, req);
    assert.equal(settled.success, true, JSON.stringify(settled));
    assert.equal(settled.network, 'starknet:sepolia');
    const afterSettle = await balances();
    assert.equal(afterSettle.payee - before.payee, 1357913n, 'payTo received exactly the amount');
    assert.equal(before.payer - afterSettle.payer, 1357913n, 'the payer paid exactly the amount and no fee');
    const executes = paymaster.requests().filter((r) => r.method === 'paymaster_executeTransaction');
    assert.equal(executes.length, 0, 'the facilitator submitted it itself');

    const replay = await facilitator.settle(payload, req);
    assert.equal(replay.success, false, JSON.stringify(replay));
    assert.equal(replay.errorReason, 'invalid_exact_starknet_payload_nonce_used', JSON.stringify(replay));
    assert.equal(replay.transaction, settled.transaction);
    const reverify = await facilitator.verify(payload, req);
    assert.equal(reverify.invalidReason, 'invalid_exact_starknet_payload_nonce_used', JSON.stringify(reverify));
    assert.deepEqual(await balances(), afterSettle, 'nothing moved twice');
  });

  test('two of its payments, both stating nonce "0x0", are two payments: each settles once', async () => {
    const req = requirements('2468');
    const [first, second] = [await pay(req), await pay(req)];
    assert.equal(first.payload.authorization.nonce, second.payload.authorization.nonce);
    assert.notEqual(first.typedData.message.Nonce, second.typedData.message.Nonce);
    const before = await balances();
    for (const payload of [first, second]) {
      const settled = await facilitator.settle(payload, req);
      assert.equal(settled.success, true, JSON.stringify(settled));
    }
    assert.equal((await balances()).payee - before.payee, 4936n);
  });

  test('a payment whose stated nonce is not the signed one is still refused', async () => {
    const req = requirements('777');
    const payload = await pay(req);
    payload.payload.authorization.nonce = '0x1234';
    const verified = await facilitator.verify(payload, req);
    assert.equal(verified.isValid, false);
    assert.equal(verified.invalidReason, 'invalid_payload', JSON.stringify(verified));
  });
});
