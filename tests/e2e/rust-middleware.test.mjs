// The Rust middleware (src/server) in a real Rust Worker (examples/paid-worker) in front of the
// facilitator, both in `wrangler dev`: the official client pays it; the payment is verified inside the
// paid Worker (the facilitator gets no /verify) and settled once through the facilitator; a replay, a
// burst of one header, a failing handler, malformed and oversized headers are each answered as they must be.
//
// Run: node --test tests/e2e/rust-middleware.test.mjs
// (needs build/index_bg.wasm and examples/paid-worker/build: `WORKER_CRATE=examples/paid-worker npm run build:worker`)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { x402Client, x402HTTPClient } from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { ExactEvmSchemeV1 } from '@x402/evm/v1';
import { privateKeyToAccount } from 'viem/accounts';

import { balanceOf, freePort } from '../../scripts/lib/chain.mjs';
import { startStack, startWrangler } from '../../scripts/lib/stack.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PAID_WORKER = path.join(ROOT, 'examples/paid-worker/build/worker/shim.mjs');
const V2_NETWORK = 'eip155:84532';
const PRICE = 10_000n;
const TIMEOUT_MS = 60_000;

let stack;
let paid; // the paid Worker's wrangler dev
let token;
let payer;
let payee;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'x402-edge-paid-worker-'));

/** A wrangler.toml for the built example with the local token's price and the facilitator's URL. */
function paidWorkerConfig() {
  const accept = { network: V2_NETWORK, asset: token, amount: PRICE.toString(), payTo: payee.address, extra: { name: 'USD Coin', version: '2' } };
  const routes = ['/premium', '/broken'].map((p) => ({ method: 'GET', path: p, description: `paid ${p}`, accepts: [accept] }));
  const config = path.join(tmp, 'wrangler.toml');
  fs.writeFileSync(
    config,
    [
      'name = "x402-edge-paid-worker-test"',
      `main = ${JSON.stringify(PAID_WORKER)}`,
      'compatibility_date = "2025-11-01"',
      '[vars]',
      `PAID_ROUTES = ${JSON.stringify(JSON.stringify(routes))}`,
      `FACILITATOR_URL = ${JSON.stringify(stack.facilitatorUrl)}`,
    ].join('\n'),
  );
  return config;
}

before(
  async () => {
    assert.ok(fs.existsSync(PAID_WORKER), 'build the example first: WORKER_CRATE=examples/paid-worker npm run build:worker');
    stack = await startStack({ local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0 });
    token = stack.token.address;
    [payer, payee] = [1, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
    const envFile = path.join(tmp, 'empty.env');
    fs.writeFileSync(envFile, '');
    paid = await startWrangler({
      port: await freePort(),
      envFile,
      configs: [paidWorkerConfig()],
      persistDir: path.join(tmp, 'state'),
      logDir: tmp,
      timeoutMs: 90_000,
      healthPath: '/free',
    });
  },
  { timeout: 180_000 },
);

after(async () => {
  await paid?.stop();
  await stack?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function get(url, headers = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

function client() {
  const signer = toClientEvmSigner(payer);
  return new x402HTTPClient(
    new x402Client()
      .register('eip155:*', new ExactEvmScheme(signer))
      .registerV1('base-sepolia', new ExactEvmSchemeV1(signer))
      .setSpendControls({ allowedAssets: [{ network: V2_NETWORK, asset: token }, { network: 'base-sepolia', asset: token }] }),
  );
}

/** A fresh payment for `route`, from its 402: the header to send (v2 from PAYMENT-REQUIRED, or v1 from the body). */
async function payFor(route, { v1 = false } = {}) {
  const unpaid = await get(`${paid.url}${route}`);
  assert.equal(unpaid.status, 402, unpaid.text);
  const http = client();
  const required = http.getPaymentRequiredResponse((name) => (v1 ? null : unpaid.headers.get(name)), unpaid.json);
  return http.encodePaymentSignatureHeader(await http.createPaymentPayload(required));
}

const reasonOf = (res) => decodePaymentRequiredHeader(res.headers.get('payment-required')).error;

/** The facilitator's request log lines for `path` (one JSON line per request). */
function facilitatorCalls(path) {
  return stack.lines().filter((line) => line.startsWith('{') && line.includes(`"path":"${path}"`)).length;
}

test('an unpaid request gets the v2 header and the v1 body', async () => {
  const res = await get(`${paid.url}/premium`);
  assert.equal(res.status, 402);
  const required = decodePaymentRequiredHeader(res.headers.get('payment-required'));
  assert.equal(required.x402Version, 2);
  assert.equal(required.error, 'payment_required');
  assert.equal(required.resource.url, `${paid.url}/premium`);
  assert.deepEqual(
    required.accepts.map((a) => [a.scheme, a.network, a.amount, a.asset, a.payTo]),
    [['exact', V2_NETWORK, PRICE.toString(), token, payee.address]],
  );
  assert.equal(res.json.x402Version, 1);
  assert.equal(res.json.accepts[0].network, 'base-sepolia');
  assert.equal(res.json.accepts[0].maxAmountRequired, PRICE.toString());
  assert.equal((await get(`${paid.url}/free`)).text, 'free');
});

test('a paid request is served once, verified inside the paid Worker', { timeout: TIMEOUT_MS * 2 }, async () => {
  const header = await payFor('/premium');
  const before = await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payee.address });
  const [verifies, settles] = [facilitatorCalls('/verify'), facilitatorCalls('/settle')];
  const served = await get(`${paid.url}/premium`, header);
  assert.equal(served.status, 200, served.text);
  assert.equal(served.json.served_by, 'rust');
  const receipt = decodePaymentResponseHeader(served.headers.get('payment-response'));
  assert.equal(receipt.success, true);
  assert.match(receipt.transaction, /^0x[0-9a-f]{64}$/);
  assert.equal(await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payee.address }), before + PRICE);
  assert.equal(facilitatorCalls('/verify'), verifies, 'no /verify round trip');
  assert.equal(facilitatorCalls('/settle'), settles + 1, 'one /settle');

  const replay = await get(`${paid.url}/premium`, header);
  assert.equal(replay.status, 402);
  assert.equal(reasonOf(replay), 'invalid_exact_evm_nonce_already_used');
  assert.equal(decodePaymentResponseHeader(replay.headers.get('payment-response')).success, false);
  assert.equal(await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payee.address }), before + PRICE);
});

test('one header sent 5 times at once is served once', { timeout: TIMEOUT_MS * 2 }, async () => {
  const header = await payFor('/premium');
  const before = await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payee.address });
  const answers = await Promise.all(Array.from({ length: 5 }, () => get(`${paid.url}/premium`, header)));
  assert.deepEqual(answers.map((a) => a.status).sort(), [200, 402, 402, 402, 402]);
  for (const refused of answers.filter((a) => a.status === 402)) {
    assert.ok(['duplicate_settlement', 'invalid_exact_evm_nonce_already_used'].includes(reasonOf(refused)), reasonOf(refused));
  }
  assert.equal(await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payee.address }), before + PRICE);
});

test('a handler that fails charges nothing, and the payment stays usable', { timeout: TIMEOUT_MS * 2 }, async () => {
  const header = await payFor('/broken');
  const before = await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payee.address });
  const broken = await get(`${paid.url}/broken`, header);
  assert.equal(broken.status, 500);
  assert.equal(broken.headers.get('payment-response'), null);
  assert.equal(await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payee.address }), before);
  // Same price and requirements: the unsettled payment buys /premium.
  const served = await get(`${paid.url}/premium`, header);
  assert.equal(served.status, 200, served.text);
  assert.equal(await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payee.address }), before + PRICE);
});

test('a v1 payment (X-PAYMENT) is served with X-PAYMENT-RESPONSE', { timeout: TIMEOUT_MS * 2 }, async () => {
  const header = await payFor('/premium', { v1: true });
  assert.ok(header['X-PAYMENT'], 'the v1 client sends X-PAYMENT');
  const served = await get(`${paid.url}/premium`, header);
  assert.equal(served.status, 200, served.text);
  assert.equal(decodePaymentResponseHeader(served.headers.get('x-payment-response')).success, true);
});

test('malformed and oversized payment headers get a 402 with their reason, never a 500', async () => {
  for (const value of ['not base64 %%%', Buffer.from('{"x402Version": 9}').toString('base64'), 'A'.repeat(70_000)]) {
    const res = await get(`${paid.url}/premium`, { 'PAYMENT-SIGNATURE': value });
    assert.equal(res.status, 402, res.text);
    assert.ok(['invalid_payload', 'invalid_x402_version'].includes(reasonOf(res)), reasonOf(res));
    assert.ok(res.json.errorMessage.length > 0);
  }
});
