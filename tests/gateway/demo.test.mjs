// The demo gateway as `npm start` runs it (demoGatewayRoutes, the demo origin behind a Service Binding),
// paid by @x402-edge/sdk's unified client: GET /premium (exact) once, then GET /metered (an upto session)
// N times under one permit; closing the session settles one batch moving exactly N prices. `npm run demo`
// (scripts/demo.mjs) is run against it too.
//
// Run: node --test tests/gateway/demo.test.mjs (needs build/ and the npm packages: npm run build:pkg)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';

import { decodePaymentResponseHeader } from '@x402/core/http';
import { createUnifiedClient } from '@x402-edge/sdk/client';
import { privateKeyToAccount } from 'viem/accounts';

import { ANVIL_ACCOUNTS, balanceOf, ROOT } from '../../scripts/lib/chain.mjs';
import { demoGatewayRoutes, startGateway, startStack } from '../../scripts/lib/stack.mjs';

const METERED_CALLS = 5;
let stack;
let gateway;

before(async () => {
  stack = await startStack({ local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0 });
  gateway = await startGateway({ stack, routes: demoGatewayRoutes(stack), demoOrigin: true });
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
