// End to end on Starknet: the built worker in `wrangler dev` against starknet-devnet 0.10.1. A payer
// account signs a SNIP-9 v2 outside execution with starknet.js (scripts/lib/starknet-client.mjs, an
// independent implementation of the hashing and signing); the facilitator verifies it by asking the
// account, and settles it from its sponsor account (self-sponsored mode). Balances read from the
// devnet prove each transfer, once; every broken binding is refused with its code and moves nothing.
//
// Run: node --test tests/e2e/starknet.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startRpcProxy } from '../../scripts/lib/rpc-proxy.mjs';
import { createPayment } from '../../scripts/lib/starknet-client.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
let sn; // stack.starknet
let payer, payee, stranger;
/** Between the Worker and the devnet: counts the Worker's Starknet calls by method. */
let devnetProxy;

before(
  async () => {
    devnetProxy = await startRpcProxy();
    stack = await startStack({
      local: true, localSvm: false, localStarknet: true, chainPort: 0, workerPort: 0,
      env: { STARKNET_RPC_URL_STARKNET_SEPOLIA: devnetProxy.url },
    });
    sn = stack.starknet;
    devnetProxy.target = sn.rpcUrl;
    [payer, payee, stranger] = sn.payers;
  },
  { timeout: 150_000 },
);

after(async () => {
  await stack?.stop();
  await devnetProxy?.close();
});

const post = (path, body) => stack.post(path, body);

const requirements = (amount = '1000000000000000') => ({
  scheme: 'exact', network: sn.caip2, amount, asset: sn.token, payTo: payee.address, maxTimeoutSeconds: 300,
});
const body = (paymentPayload, paymentRequirements) => ({ x402Version: 2, paymentPayload, paymentRequirements });
const balances = async () => ({ payer: await sn.devnet.balance('STRK', payer.address), payee: await sn.devnet.balance('STRK', payee.address) });

describe('Starknet exact through wrangler dev (self-sponsored)', () => {
  test('/supported lists the Starknet kinds with the sponsor', async () => {
    const supported = await (await fetch(`${stack.facilitatorUrl}/supported`)).json();
    const kinds = supported.kinds.filter((k) => k.network.startsWith('starknet'));
    assert.deepEqual(kinds.map((k) => [k.x402Version, k.network]), [[2, sn.caip2], [1, sn.network]]);
    assert.equal(BigInt(kinds[0].extra.sponsorAddress), BigInt(sn.sponsor));
    assert.equal(BigInt(kinds[0].extra.feePayer), BigInt(sn.sponsor));
    assert.deepEqual(supported.signers['starknet:*'].map(BigInt), [BigInt(sn.sponsor)]);
  });

  test('a payment signed with starknet.js verifies, settles exactly once, and is refused again', async () => {
    const req = requirements('1234567890');
    const payload = await createPayment({ account: payer, requirements: req });
    const verified = (await post('/verify', body(payload, req))).json;
    assert.equal(verified.isValid, true, JSON.stringify(verified));
    assert.equal(BigInt(verified.payer), BigInt(payer.address));

    const before = await balances();
    const settled = (await post('/settle', body(payload, req))).json;
    assert.equal(settled.success, true, JSON.stringify(settled));
    assert.equal(settled.network, sn.caip2);
    const afterSettle = await balances();
    assert.equal(afterSettle.payee - before.payee, 1234567890n, 'payTo received exactly the amount');
    assert.equal(before.payer - afterSettle.payer, 1234567890n, 'the payer paid exactly the amount and no fee');

    assertNonceUsed((await post('/settle', body(payload, req))).json, settled);
    // A re-signed outside execution with the same nonce is another payment: never this one's success.
    const copy = await createPayment({ account: payer, requirements: req, nonce: payload.payload.authorization.nonce, validSeconds: 600 });
    const other = (await post('/settle', body(copy, req))).json;
    assert.equal(other.success, false, JSON.stringify(other));
    assert.equal(other.errorReason, 'duplicate_settlement', JSON.stringify(other));
    assert.deepEqual(await balances(), afterSettle, 'nothing moved twice');
    for (const replay of [payload, copy]) {
      const again = (await post('/verify', body(replay, req))).json;
      assert.equal(again.invalidReason, 'invalid_exact_starknet_payload_nonce_used', JSON.stringify(again));
    }
  });

  test('10 concurrent settles of one payment: one transfer, exactly one success', async () => {
    const req = requirements('777');
    const payload = await createPayment({ account: payer, requirements: req });
    const before = await balances();
    const responses = await Promise.all(Array.from({ length: 10 }, () => post('/settle', body(payload, req))));
    const succeeded = responses.filter((r) => r.json.success);
    assert.equal(succeeded.length, 1, JSON.stringify(responses.map((r) => r.json)));
    for (const r of responses.filter((r) => !r.json.success)) {
      assert.ok(['duplicate_settlement', 'invalid_exact_starknet_payload_nonce_used'].includes(r.json.errorReason), JSON.stringify(r.json));
    }
    assert.equal((await balances()).payee - before.payee, 777n, 'exactly one transfer');
  });

  test('96 concurrent settles of distinct payments from the one sponsor: each priced, signed and sent once', async () => {
    // The sponsor's nonce is read from the chain. Racing for it, settles signed again and again (a
    // second nonce read and fee estimate each time), and some gave up (`unexpected_settle_error`); in
    // turns, each reads the nonce the one before left.
    const req = requirements('1001');
    const payers = [payer, stranger];
    const payloads = [];
    for (let i = 0; i < 96; i++) payloads.push(await createPayment({ account: payers[i % 2], requirements: req }));
    const before = await sn.devnet.balance('STRK', payee.address);
    devnetProxy.reset();
    const responses = await Promise.all(payloads.map((p) => post('/settle', body(p, req))));
    const failed = responses.filter((r) => r.json.success !== true);
    assert.deepEqual(failed.map((r) => r.json), [], 'every settle succeeds');
    assert.equal(new Set(responses.map((r) => BigInt(r.json.transaction))).size, 96, 'one transaction each');
    assert.equal(await sn.devnet.balance('STRK', payee.address) - before, 96n * 1001n, 'each paid once');
    // Each settle is priced (estimated) and sent once. Its simulation before its turn reads the sponsor's
    // nonce too, again when a racing settle moved it, so nonce reads are not counted.
    const calls = Object.fromEntries(['starknet_estimateFee', 'starknet_addInvokeTransaction']
      .map((method) => [method, devnetProxy.calls.get(method) ?? 0]));
    assert.deepEqual(calls, { starknet_estimateFee: 96, starknet_addInvokeTransaction: 96 }, 'nothing signed twice');
    assert.ok((devnetProxy.calls.get('starknet_simulateTransactions') ?? 0) >= 96, 'each settle simulated before it is sent');
  });

  const attacks = [
    ['a recipient the typed data changes', 'invalid_exact_starknet_payload_recipient_mismatch',
      (req) => createPayment({ account: payer, requirements: req, transfer: { to: stranger.address } })],
    ['an amount the typed data changes', 'invalid_exact_starknet_payload_authorization_value',
      (req) => createPayment({ account: payer, requirements: req, transfer: { amount: BigInt(req.amount) * 10n } })],
    ['a token the typed data changes', 'invalid_exact_starknet_payload_token_mismatch',
      (req) => createPayment({ account: payer, requirements: req, transfer: { token: sn.devnet.eth } })],
    ['an extra call', 'invalid_payload',
      (req) => createPayment({ account: payer, requirements: req, extraCalls: [{ contractAddress: sn.token, entrypoint: 'transfer', calldata: [stranger.address, '1', '0'] }] })],
    ['an expired window', 'invalid_exact_starknet_payload_authorization_valid_until',
      (req) => createPayment({ account: payer, requirements: req, validSeconds: -30 })],
    ['a caller that is not the facilitator', 'invalid_payload',
      (req) => createPayment({ account: payer, requirements: req, caller: stranger.address })],
    ['a tampered signature', 'invalid_exact_starknet_payload_signature',
      (req) => createPayment({ account: payer, requirements: req, tamperSignature: true })],
    ['a signature by another account', 'invalid_exact_starknet_payload_signature', async (req) => {
      const payload = await createPayment({ account: stranger, requirements: req });
      payload.payload.authorization.from = payer.address;
      return payload;
    }],
  ];
  for (const [name, code, build] of attacks) {
    test(`refused with its code, nothing moves: ${name}`, async () => {
      const req = requirements('4242');
      const payload = await build(req);
      const before = await balances();
      const verified = (await post('/verify', body(payload, req))).json;
      assert.equal(verified.isValid, false, JSON.stringify(verified));
      assert.equal(verified.invalidReason, code, JSON.stringify(verified));
      const settled = (await post('/settle', body(payload, req))).json;
      assert.equal(settled.success, false);
      assert.equal(settled.errorReason, code, JSON.stringify(settled));
      assert.equal(settled.transaction, '');
      assert.deepEqual(await balances(), before, 'no token moved');
    });
  }
});

// The registered spec's dialect (`scheme_exact_starknet.md`) beside x402-starknet's, on the same worker and
// chain: `{from, outsideExecution: {typedData, signature}}`, `Caller` the `/supported` kind's
// `extra.feePayer` (the sponsor), dispatched by payload shape; refusals carry the spec's own codes.
describe('Starknet exact in the registered spec\'s dialect through wrangler dev', () => {
  const specRequirements = (amount) => ({ ...requirements(amount), extra: { feePayer: sn.sponsor } });

  test('/supported names the sponsor as the feePayer clients must sign as Caller', async () => {
    const supported = await (await fetch(`${stack.facilitatorUrl}/supported`)).json();
    const kind = supported.kinds.find((k) => k.network === sn.caip2 && k.x402Version === 2);
    assert.equal(BigInt(kind.extra.feePayer), BigInt(sn.sponsor));
  });

  test('a spec payment signed with starknet.js verifies, settles exactly once, and every replay is refused', async () => {
    const req = specRequirements('2345678901');
    const payload = await createPayment({ account: payer, requirements: req, spec: true });
    assert.deepEqual(Object.keys(payload.payload).sort(), ['from', 'outsideExecution']);
    const verified = (await post('/verify', body(payload, req))).json;
    assert.equal(verified.isValid, true, JSON.stringify(verified));
    assert.equal(BigInt(verified.payer), BigInt(payer.address));

    const before = await balances();
    const settled = (await post('/settle', body(payload, req))).json;
    assert.equal(settled.success, true, JSON.stringify(settled));
    assert.equal(settled.network, sn.caip2);
    const afterSettle = await balances();
    assert.equal(afterSettle.payee - before.payee, 2345678901n, 'payTo received exactly the amount');
    assert.equal(before.payer - afterSettle.payer, 2345678901n, 'the payer paid exactly the amount and no fee');

    const replay = (await post('/settle', body(payload, req))).json;
    assert.equal(replay.success, false, JSON.stringify(replay));
    assert.equal(replay.errorReason, 'nonce_already_used', JSON.stringify(replay));
    assert.equal(replay.transaction, settled.transaction);
    const again = (await post('/verify', body(payload, req))).json;
    assert.equal(again.invalidReason, 'nonce_already_used', JSON.stringify(again));
    assert.deepEqual(await balances(), afterSettle, 'nothing moved twice');
  });

  const specAttacks = [
    ['a Caller that is not the feePayer', 'invalid_exact_starknet_payload_caller', { caller: () => stranger.address }],
    ['a feePayer this facilitator does not settle through', 'invalid_payment_requirements', { feePayer: () => stranger.address }],
    ['a tampered signature', 'invalid_exact_starknet_payload_signature', { tamperSignature: true }],
    ['another recipient', 'invalid_exact_starknet_payload_recipient_mismatch', { transfer: () => ({ to: stranger.address }) }],
    ['another amount', 'invalid_exact_starknet_payload_amount_mismatch', { transfer: () => ({ amount: 42420n }) }],
    ['another token', 'invalid_exact_starknet_payload_asset_mismatch', { transfer: () => ({ token: sn.devnet.eth }) }],
    ['a window past maxTimeoutSeconds + skew', 'outside_execution_window_exceeds_max_timeout', { validSeconds: 600 }],
    ['a window inside the settle margin', 'outside_execution_expired', { validSeconds: 20 }],
  ];
  for (const [name, code, options] of specAttacks) {
    test(`refused with the spec's code, nothing moves: ${name}`, async () => {
      const req = specRequirements('4242');
      if (options.feePayer) req.extra = { feePayer: options.feePayer() };
      const { caller, transfer, feePayer, ...rest } = options;
      const payload = await createPayment({
        account: payer, requirements: req, spec: true, ...rest,
        ...(caller && { caller: caller() }), ...(transfer && { transfer: transfer() }),
      });
      const before = await balances();
      const verified = (await post('/verify', body(payload, req))).json;
      assert.equal(verified.invalidReason, code, JSON.stringify(verified));
      const settled = (await post('/settle', body(payload, req))).json;
      assert.equal(settled.success, false);
      assert.equal(settled.errorReason, code, JSON.stringify(settled));
      assert.equal(settled.transaction, '');
      assert.deepEqual(await balances(), before, 'no token moved');
    });
  }
});

// The paymaster mode: a SNIP-29 paymaster (scripts/lib/paymaster.mjs, a stand-in for AVNU that checks
// the request shapes it gets and executes through its own devnet relayer) builds the typed data the
// payer signs, and the facilitator hands the signed typed data to `paymaster_executeTransaction`.
describe('Starknet exact through wrangler dev (SNIP-29 paymaster)', () => {
  const API_KEY = 'test-paymaster-key';
  let pmStack, devnet, paymaster;
  before(
    async () => {
      const { startDevnet } = await import('../../scripts/lib/starknet-devnet.mjs');
      const { startPaymaster } = await import('../../scripts/lib/paymaster.mjs');
      devnet = await startDevnet({});
      const relayer = devnet.accounts[0];
      paymaster = await startPaymaster({ rpcUrl: devnet.url, relayer, apiKey: API_KEY });
      pmStack = await startStack({
        local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0,
        env: {
          STARKNET_NETWORKS: 'starknet-sepolia',
          STARKNET_RPC_URL_STARKNET_SEPOLIA: devnet.url,
          STARKNET_SPONSOR_ADDRESS: relayer.address,
          STARKNET_PAYMASTER_ENDPOINT: paymaster.url,
          STARKNET_PAYMASTER_API_KEY: API_KEY,
          // Its own devnet: the stack does not know its STRK, the token paid with here.
          ASSET_ALLOWLIST_STARKNET_SEPOLIA: devnet.strk,
        },
      });
    },
    { timeout: 150_000 },
  );
  after(async () => {
    await pmStack?.stop();
    await paymaster?.close();
    await devnet?.stop();
  });

  const pmPost = async (path, payload, req) => (await pmStack.post(path, body(payload, req))).json;

  test('/supported names the paymaster; a payment built by it settles once through paymaster_executeTransaction', async () => {
    const supported = await (await fetch(`${pmStack.facilitatorUrl}/supported`)).json();
    const kind = supported.kinds.find((k) => k.network === 'starknet:SN_SEPOLIA');
    assert.equal(kind.extra.paymasterEndpoint, paymaster.url);

    const [, payer, payee] = devnet.accounts;
    const req = { scheme: 'exact', network: 'starknet:SN_SEPOLIA', amount: '5550000', asset: devnet.strk, payTo: payee.address, maxTimeoutSeconds: 300 };
    const payload = await createPayment({ account: payer, requirements: req, paymaster: { url: paymaster.url, apiKey: API_KEY }, paymasterEndpoint: paymaster.url });
    const verified = await pmPost('/verify', payload, req);
    assert.equal(verified.isValid, true, JSON.stringify(verified));

    paymaster.clearRequests();
    const before = await devnet.balance('STRK', payee.address);
    const settled = await pmPost('/settle', payload, req);
    assert.equal(settled.success, true, JSON.stringify(settled));
    assert.equal((await devnet.balance('STRK', payee.address)) - before, 5550000n, 'payTo received exactly the amount');

    // The request the facilitator sent, as SNIP-29 (types-js) and x402-starknet shape it.
    const executes = paymaster.requests().filter((r) => r.method === 'paymaster_executeTransaction');
    assert.equal(executes.length, 1, JSON.stringify(paymaster.requests().map((r) => r.method)));
    const [request] = executes;
    assert.equal(request.headers['x-paymaster-api-key'], API_KEY);
    assert.equal(request.status, 200, JSON.stringify(request.response));
    assert.deepEqual(Object.keys(request.params).sort(), ['parameters', 'transaction']);
    assert.deepEqual(request.params.parameters, { version: '0x1', fee_mode: { mode: 'sponsored' } });
    assert.equal(request.params.transaction.type, 'invoke');
    const invoke = request.params.transaction.invoke;
    assert.deepEqual(Object.keys(invoke).sort(), ['signature', 'typed_data', 'user_address']);
    assert.equal(BigInt(invoke.user_address), BigInt(payer.address));
    assert.deepEqual(invoke.typed_data, payload.typedData);
    assert.deepEqual(invoke.signature.map(BigInt), [BigInt(payload.payload.signature.r), BigInt(payload.payload.signature.s)]);
    assert.equal(BigInt(settled.transaction), BigInt(request.response.result.transaction_hash));

    assertNonceUsed(await pmPost('/settle', payload, req), settled);
    assert.equal(paymaster.requests().filter((r) => r.method === 'paymaster_executeTransaction').length, 1, 'and sends nothing');
  });

  test('a spec-dialect payment (Caller the relayer, the /supported feePayer) settles once through the paymaster', async () => {
    const supported = await (await fetch(`${pmStack.facilitatorUrl}/supported`)).json();
    const feePayer = supported.kinds.find((k) => k.network === 'starknet:SN_SEPOLIA').extra.feePayer;
    assert.equal(BigInt(feePayer), BigInt(paymaster.relayer));
    const [, payer, payee] = devnet.accounts;
    const req = { scheme: 'exact', network: 'starknet:SN_SEPOLIA', amount: '6660000', asset: devnet.strk, payTo: payee.address, maxTimeoutSeconds: 300, extra: { feePayer } };
    const payload = await createPayment({ account: payer, requirements: req, spec: true });
    const verified = await pmPost('/verify', payload, req);
    assert.equal(verified.isValid, true, JSON.stringify(verified));

    paymaster.clearRequests();
    const before = await devnet.balance('STRK', payee.address);
    const settled = await pmPost('/settle', payload, req);
    assert.equal(settled.success, true, JSON.stringify(settled));
    assert.equal((await devnet.balance('STRK', payee.address)) - before, 6660000n, 'payTo received exactly the amount');
    const [request] = paymaster.requests().filter((r) => r.method === 'paymaster_executeTransaction');
    assert.deepEqual(request.params.transaction.invoke.signature.map(BigInt), payload.payload.outsideExecution.signature.map(BigInt));

    const replay = await pmPost('/settle', payload, req);
    assert.equal(replay.errorReason, 'nonce_already_used', JSON.stringify(replay));
    assert.equal(paymaster.requests().filter((r) => r.method === 'paymaster_executeTransaction').length, 1, 'and sends nothing');
  });
});

/** A settle of a settled Starknet payment: refused as a fresh check would (the nonce is used), naming its transaction. */
function assertNonceUsed(replay, settled) {
  assert.equal(replay.success, false, JSON.stringify(replay));
  assert.equal(replay.errorReason, 'invalid_exact_starknet_payload_nonce_used', JSON.stringify(replay));
  assert.equal(replay.transaction, settled.transaction, JSON.stringify(replay));
}
