// The demo gateway as `npm start` runs it (demoGatewayRoutes, the demo origin behind a Service Binding),
// paid by @x402-edge/sdk's unified client: GET /premium (exact) once, then GET /metered (an upto session)
// N times under one permit; closing the session settles one batch moving exactly N prices. `npm run demo`
// (scripts/demo.mjs) is run against it too.
//
// Run: node --test tests/gateway/demo.test.mjs (needs build/ and the npm packages: npm run build:pkg)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';

import { decodePaymentResponseHeader, HTTPFacilitatorClient } from '@x402/core/http';
import { withBazaar } from '@x402/extensions/bazaar';
import { createUnifiedClient } from '@x402-edge/sdk/client';
import { privateKeyToAccount } from 'viem/accounts';

import { ANVIL_ACCOUNTS, balanceOf, ROOT } from '../../scripts/lib/chain.mjs';
import { demoGatewayRoutes, startGateway, startStack } from '../../scripts/lib/stack.mjs';

const METERED_CALLS = 5;
const ADMIN_API_KEY = 'demo-test-admin-key';
let stack;
let gateway;

before(async () => {
  stack = await startStack({ local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0 });
  gateway = await startGateway({ stack, routes: demoGatewayRoutes(stack), demoOrigin: true, tracking: { d1: true }, secrets: { ADMIN_API_KEY } });
}, { timeout: 180_000 });

after(async () => {
  await gateway?.stop();
  await stack?.stop();
});

function payer(index) {
  let signatures = 0;
  const account = privateKeyToAccount(stack.accounts[index].privateKey);
  const counted = { ...account, signTypedData: (args) => (signatures++, account.signTypedData(args)) };
  const client = createUnifiedClient({
    evm: counted,
    rpcUrls: { [`eip155:${stack.chainId}`]: stack.rpcUrl },
    upto: { facilitatorUrl: stack.facilitatorUrl },
    spendControls: { allowedAssets: true },
  });
  return { client, signatures: () => signatures };
}

const payee = () => demoGatewayRoutes(stack)['GET /metered'].payTo;
const balance = (owner) => balanceOf({ rpcUrl: stack.rpcUrl, token: stack.token.address, owner });

test('GET /premium (exact) through the gateway, paid by the unified client', { timeout: 60_000 }, async () => {
  const { client } = payer(3);
  const before = await balance(payee());
  const res = await client.fetch(`${gateway.url}/premium`);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal((await res.json()).premium, true);
  const receipt = decodePaymentResponseHeader(res.headers.get('payment-response'));
  assert.equal(receipt.success, true);
  assert.equal(await balance(payee()), before + 10_000n);
});

test(`GET /metered (upto) ${METERED_CALLS} times: one permit, nothing on chain until the session settles as one batch`, { timeout: 90_000 }, async () => {
  const { client, signatures } = payer(4);
  const before = await balance(payee());
  let sessionId;
  for (let i = 1; i <= METERED_CALLS; i++) {
    const res = await client.fetch(`${gateway.url}/metered`);
    assert.equal(res.status, 200, await res.clone().text());
    const receipt = decodePaymentResponseHeader(res.headers.get('payment-response'));
    assert.equal(receipt.success, true);
    assert.equal(receipt.transaction, '', 'a capture sends nothing');
    assert.equal(receipt.extensions.upto.pending, String(1000 * i));
    sessionId = receipt.extensions.upto.sessionId;
  }
  assert.equal(signatures(), 1, 'one permit for every call');
  assert.equal(await balance(payee()), before, 'nothing moved yet');
  const close = await fetch(`${stack.facilitatorUrl}/upto/sessions/${sessionId}/close`, { method: 'POST' });
  assert.ok(close.ok, await close.text());
  assert.equal(await balance(payee()), before + BigInt(1000 * METERED_CALLS), 'one batch moved the sum');
});

test('the gateway tracked each paid request (as npm start runs it, in D1): the exact payment with its transaction, each upto capture', { timeout: 60_000 }, async () => {
  const deadline = Date.now() + 20_000;
  let records = [];
  while (records.length < 1 + METERED_CALLS && Date.now() < deadline) {
    const res = await fetch(`${gateway.url}/__x402/payments?settle=settled`, { headers: { authorization: `Bearer ${ADMIN_API_KEY}` } });
    assert.equal(res.status, 200);
    records = (await res.json()).records;
  }
  const premium = records.filter((r) => r.path === '/premium');
  const metered = records.filter((r) => r.path === '/metered');
  assert.equal(premium.length, 1);
  assert.match(premium[0].transaction, /^0x[0-9a-f]{64}$/);
  assert.deepEqual([premium[0].scheme, premium[0].amount, premium[0].payer], ['exact', '10000', stack.accounts[3].address.toLowerCase()]);
  assert.equal(metered.length, METERED_CALLS);
  for (const r of metered) {
    // A capture: accepted into the session, on chain with the session's batch.
    assert.deepEqual([r.scheme, r.amount, r.transaction, r.payer], ['upto', '1000', null, stack.accounts[4].address.toLowerCase()]);
  }
});

test("the facilitator's discovery catalog lists the demo route paid on chain (the bazaar client of @x402/extensions)", { timeout: 60_000 }, async () => {
  const bazaar = withBazaar(new HTTPFacilitatorClient({ url: stack.facilitatorUrl })).extensions.bazaar;
  let items = [];
  for (const deadline = Date.now() + 20_000; items.length < 1 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    items = (await bazaar.listResources()).items;
  }
  // /metered's payments are upto captures: nothing moved on chain when they were settled, and a capture
  // (which a permit from an empty wallet also gets) lists nothing.
  assert.deepEqual(items.map((i) => i.resource), [`${gateway.url}/premium`]);
  const premium = items[0];
  assert.deepEqual([premium.description, premium.accepts[0].scheme, premium.extensions.bazaar.info.output.example], ['Premium content (demo)', 'exact', { premium: true }]);
  assert.deepEqual((await bazaar.search({ query: 'premium' })).resources.map((r) => r.resource), [`${gateway.url}/premium`]);
  assert.deepEqual((await bazaar.search({ query: 'metered' })).resources, []);
});

test('npm run demo pays both routes of the gateway', { timeout: 90_000 }, () => {
  const out = execFileSync(
    process.execPath,
    ['scripts/demo.mjs', '--gateway', gateway.url, '--facilitator', stack.facilitatorUrl, '--rpc', stack.rpcUrl, '--key', ANVIL_ACCOUNTS[5].privateKey],
    { cwd: ROOT, encoding: 'utf8' },
  );
  assert.match(out, /GET \/premium \(exact\):\n {2}200 .*\n {2}transaction 0x[0-9a-f]{64}/);
  assert.match(out, /permits signed: 1/);
  assert.match(out, /batch transaction 0x[0-9a-f]{64} moved 3000 in total/);
});
