// The npm package in workerd: a JS Worker (tests/pkg/workerd/) that imports `@x402-edge/verify` by name,
// served by `wrangler dev` on a free loopback port, verifies payments signed here with viem, offline and
// against anvil. Run: node --test tests/pkg/workerd.test.mjs (after npm run build:pkg)
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ROOT, deployTestToken, installMulticall3, startAnvil } from '../../scripts/lib/chain.mjs';
import { WORKER_DIR, WORKER_PACKAGES, startJsWorker } from './hosts.mjs';
import { CHAIN_ID, NOW, payer, stranger, v2Payment } from './payments.mjs';

let worker, anvil, token;

before(async () => {
  anvil = await startAnvil({ chainId: CHAIN_ID });
  token = await deployTestToken({ rpcUrl: anvil.rpcUrl, chainId: CHAIN_ID });
  await installMulticall3({ rpcUrl: anvil.rpcUrl, chainId: CHAIN_ID });
  worker = await startJsWorker(WORKER_DIR, WORKER_PACKAGES);
}, { timeout: 150_000 });

after(async () => {
  await worker?.stop();
  await anvil?.stop();
});

const inWorker = (p, options) => worker.verify(p.payload, p.requirements, options);

test('a Worker importing the package verifies a payment signed with viem', async () => {
  const { status, body } = await inWorker(await v2Payment(), { now: NOW });
  assert.equal(status, 200, JSON.stringify(body));
  assert.deepEqual(body.result, { isValid: true, payer: payer.address, needsChain: false, chainChecked: false });
  assert.equal(body.roundTrip, true);
  const forged = await inWorker(await v2Payment({ signer: stranger }), { now: NOW });
  assert.equal(forged.body.result.invalidReason, 'invalid_exact_evm_signature');
});

test('malformed input is an X402Error in the Worker too', async () => {
  const p = await v2Payment();
  const { status, body } = await inWorker({ payload: p.payload, requirements: { ...p.requirements, network: 'eip155:999999' } }, { now: NOW });
  assert.equal(status, 400);
  assert.equal(body.error.reason, 'invalid_network');
});

test('the chain checks run from workerd over fetch against anvil', async () => {
  const nowS = Math.floor(Date.now() / 1000);
  const p = await v2Payment({
    auth: { validAfter: '0', validBefore: String(nowS + 3600) },
    requirements: { asset: token.address, extra: { name: token.name, version: token.version } },
    sigOpts: { name: token.name, version: token.version },
  });
  const { body } = await inWorker(p, { rpcUrl: anvil.rpcUrl });
  assert.deepEqual(body.result, { isValid: true, payer: payer.address, needsChain: false, chainChecked: true });
  const poor = await v2Payment({
    auth: { validAfter: '0', validBefore: String(nowS + 3600), value: String(10n ** 15n) },
    requirements: { asset: token.address, amount: String(10n ** 15n), extra: { name: token.name, version: token.version } },
    sigOpts: { name: token.name, version: token.version },
  });
  const { body: refused } = await inWorker(poor, { rpcUrl: anvil.rpcUrl });
  assert.equal(refused.result.invalidReason, 'invalid_exact_evm_insufficient_balance', refused.result.invalidMessage);
});
