// `npm start` (scripts/start.mjs) passes the user's settings to the Worker (from the environment here; reading
// `.dev.vars` is tests/node/settings.test.mjs), while a stray chain variable cannot re-point the local chains the
// stack started itself. The gateway it starts in front of the demo origin sells GET /premium, settling through
// that keyed facilitator.
//
// Run: node --test tests/e2e/start.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';

import { x402Client, x402HTTPClient } from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { privateKeyToAccount } from 'viem/accounts';

import { ANVIL_ACCOUNTS, ROOT } from '../../scripts/lib/chain.mjs';
import { reservedPorts } from '../../scripts/lib/processes.mjs';
import { WORKER_SETTING } from '../../scripts/lib/stack.mjs';

const KEY = 'fac_start_test_key';

let child;
let exited;
let url;
let gatewayUrl;
let printed = '';

before(
  async () => {
    // Chosen outside the ephemeral range: an outgoing connection took one of them before the node
    // meant for it started (CI: `starknet-devnet: 127.0.0.1:46755: address already in use`).
    const [port, gatewayPort, chainPort, svmPort, starknetPort] = await reservedPorts(5);
    // The caller's own worker settings stay out of this run; the ones under test go in.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !WORKER_SETTING.test(k)));
    env.FACILITATOR_API_KEYS = KEY;
    env.EVM_NETWORKS = 'moon'; // stray: passed on, the worker would refuse to start
    child = spawn(
      process.execPath,
      ['scripts/start.mjs', '--port', `${port}`, '--gateway-port', `${gatewayPort}`, '--chain-port', `${chainPort}`, '--svm-port', `${svmPort}`, '--starknet-port', `${starknetPort}`],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    exited = new Promise((resolve) => child.on('exit', resolve));
    let errors = '';
    child.stderr.on('data', (c) => (errors = (errors + c).slice(-4000)));
    url = await new Promise((resolve, reject) => {
      child.stdout.on('data', (c) => {
        printed += c;
        const match = /Press Ctrl-C to stop/.test(printed) && printed.match(/Facilitator URL\s+(\S+)/);
        if (match) {
          gatewayUrl = printed.match(/Gateway URL\s+(\S+)/)?.[1];
          resolve(match[1]);
        }
      });
      exited.then((code) => reject(new Error(`npm start exited (${code}) before it was ready:\n${errors}`)));
    });
  },
  { timeout: 180_000 },
);

after(async () => {
  if (!child || child.exitCode !== null) return;
  child.kill('SIGTERM'); // start.mjs stops its stack and exits
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(killer);
});

const verify = (headers = {}) =>
  fetch(`${url}/verify`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });

test('npm start passes FACILITATOR_API_KEYS from the environment: /verify needs the key', async () => {
  const without = await verify();
  const refusal = await without.text();
  assert.equal(without.status, 401, refusal);
  assert.equal(JSON.parse(refusal).reason, 'unauthorized');
  const wrong = await verify({ authorization: 'Bearer not_the_key' });
  assert.equal(wrong.status, 401);
  const withKey = await verify({ authorization: `Bearer ${KEY}` });
  const body = await withKey.json();
  assert.equal(withKey.status, 400, JSON.stringify(body));
  assert.equal(body.reason, 'invalid_payload', 'past the key check, the empty body is refused');
  assert.match(printed, /Your settings\s+FACILITATOR_API_KEYS\b/);
});

test('a stray EVM_NETWORKS in the environment does not re-point the local chain', async () => {
  const supported = await (await fetch(`${url}/supported`)).json();
  assert.ok(
    supported.kinds.some((k) => k.network === 'eip155:84532'),
    `the local anvil chain is served: ${JSON.stringify(supported.kinds.map((k) => k.network))}`,
  );
  assert.match(printed, /Not passed\s+EVM_NETWORKS\b/);
});

test('npm start serves the gateway: GET /premium is 402 in the local TestUSDC, and paid it serves the demo origin', { timeout: 120_000 }, async () => {
  assert.ok(gatewayUrl, `the banner prints the gateway URL:\n${printed}`);
  assert.match(printed, /GET \/premium\s+exact 10000 TestUSDC/);
  const unpaid = await fetch(`${gatewayUrl}/premium`);
  const body = await unpaid.json();
  assert.equal(unpaid.status, 402, JSON.stringify(body));
  const required = decodePaymentRequiredHeader(unpaid.headers.get('payment-required'));
  assert.equal(required.accepts[0].network, 'eip155:84532');
  assert.equal(required.accepts[0].payTo, ANVIL_ACCOUNTS[2].address);

  // Paid: verify and settle go through the Service Binding with the facilitator's API key.
  const payer = toClientEvmSigner(privateKeyToAccount(ANVIL_ACCOUNTS[1].privateKey));
  const client = new x402HTTPClient(new x402Client().register('eip155:*', new ExactEvmScheme(payer)).setSpendControls({ allowedAssets: [{ network: 'eip155:84532', asset: required.accepts[0].asset }] }));
  const headers = client.encodePaymentSignatureHeader(await client.createPaymentPayload(client.getPaymentRequiredResponse((n) => unpaid.headers.get(n), body)));
  const paid = await fetch(`${gatewayUrl}/premium`, { headers });
  const content = await paid.json();
  assert.equal(paid.status, 200, JSON.stringify(content));
  assert.equal(content.premium, true, 'the demo origin served it');
  assert.equal(decodePaymentResponseHeader(paid.headers.get('payment-response')).success, true);

  const free = await fetch(`${gatewayUrl}/`);
  assert.equal(free.status, 200, 'other paths pass through to the demo origin');
});
