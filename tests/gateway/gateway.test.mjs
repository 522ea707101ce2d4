// The edge gateway (gateway/) in `wrangler dev`, bound by Service Binding to the real facilitator (its own
// `wrangler dev`, found through the stack's dev registry) settling on anvil, in front of an origin served
// by this process (it records every request it gets). Paid with the official client (@x402/core's
// x402Client + x402HTTPClient with @x402/evm, the way @x402/fetch builds the header).
//
// Run: node --test tests/gateway/gateway.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { x402Client, x402HTTPClient } from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { privateKeyToAccount } from 'viem/accounts';

import { balanceOf, rpc } from '../../scripts/lib/chain.mjs';
import { startGateway, startStack } from '../../scripts/lib/stack.mjs';

const NETWORK = 'eip155:84532';
const AMOUNT = 10_000n;
const ORIGIN_TIMEOUT_MS = 1500;
const MAX_HEADER = 4096;
const REQUEST_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = 120_000;

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
/** @type {Awaited<ReturnType<typeof startGateway>>} */
let gateway;
let origin; // the node origin server
let payer, payee;
let token;
/** Every request the origin got: `{path, headers}`. */
const originRequests = [];

/** The origin: an API with no payment code. */
function handleOrigin(req, res) {
  const url = new URL(req.url, 'http://origin');
  originRequests.push({ path: url.pathname, method: req.method, headers: { ...req.headers } });
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-origin': 'node' });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === '/premium') return send(200, { premium: true, query: url.search });
  if (url.pathname === '/free') return send(200, { free: true });
  if (url.pathname === '/fail') return send(500, { error: 'origin failure' });
  if (url.pathname === '/slow') return void setTimeout(() => send(200, { slow: true }), ORIGIN_TIMEOUT_MS * 3);
  if (url.pathname === '/stream') {
    // Answers at once, then takes longer than ORIGIN_TIMEOUT_MS to send its body.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"premium": true, "streamed": "');
    return void setTimeout(() => res.end('done"}'), ORIGIN_TIMEOUT_MS * 1.5);
  }
  return send(404, { error: 'not_found' });
}

const paidRoute = (description) => ({
  scheme: 'exact',
  network: NETWORK,
  payTo: payee.address,
  price: { amount: AMOUNT.toString(), asset: token, extra: { name: stack.token.name, version: stack.token.version } },
  description,
  mimeType: 'application/json',
});

before(
  async () => {
    stack = await startStack({ local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0 });
    token = stack.token.address;
    [payer, payee] = [1, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
    origin = createServer(handleOrigin).listen(0, '127.0.0.1');
    await once(origin, 'listening');
    gateway = await startGateway({
      stack,
      routes: {
        'GET /premium': paidRoute('premium'),
        // Priced as /premium: a payment refused there for the origin's failure is usable on /premium.
        'GET /fail': paidRoute('fails'),
        'GET /slow': paidRoute('times out'),
        'GET /stream': paidRoute('streams'),
      },
      vars: {
        ORIGIN_URL: `http://127.0.0.1:${origin.address().port}`,
        ORIGIN_TIMEOUT_MS: String(ORIGIN_TIMEOUT_MS),
        MAX_PAYMENT_HEADER_BYTES: String(MAX_HEADER),
      },
    });
  },
  { timeout: 180_000 },
);

after(async () => {
  await gateway?.stop();
  if (origin) {
    origin.closeAllConnections();
    await new Promise((resolve) => origin.close(resolve));
  }
  await stack?.stop();
});

/** GET `path` on the gateway: status, headers, text and JSON (when it parses). */
async function get(path, headers = {}) {
  const res = await fetch(`${gateway.url}${path}`, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

function httpClient() {
  return new x402HTTPClient(new x402Client().register('eip155:*', new ExactEvmScheme(toClientEvmSigner(payer))).setSpendControls({ allowedAssets: [{ network: NETWORK, asset: token }] }));
}

/** A fresh payment for `path`, from its 402: the PAYMENT-SIGNATURE header to send. */
async function pay(path) {
  const unpaid = await get(path);
  assert.equal(unpaid.status, 402, unpaid.text);
  const client = httpClient();
  const required = client.getPaymentRequiredResponse((name) => unpaid.headers.get(name), unpaid.json);
  const headers = client.encodePaymentSignatureHeader(await client.createPaymentPayload(required));
  assert.deepEqual(Object.keys(headers), ['PAYMENT-SIGNATURE']);
  return headers['PAYMENT-SIGNATURE'];
}

const facilitatorNonce = async () => BigInt(await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest']));
const money = async () => ({
  payer: await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payer.address }),
  payee: await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payee.address }),
  nonce: await facilitatorNonce(),
});
const originCalls = (path) => originRequests.filter((r) => r.path === path).length;

/** A served response: the origin's body, PAYMENT-RESPONSE with the facilitator's transaction, the money moved once. */
async function assertPaidOnce(response, before) {
  assert.equal(response.status, 200, response.text);
  assert.equal(response.json.premium, true, 'the origin body is returned');
  assert.equal(response.headers.get('x-origin'), 'node', "the origin's headers are returned");
  const receipt = decodePaymentResponseHeader(response.headers.get('payment-response'));
  assert.equal(receipt.success, true);
  assert.equal(receipt.network, NETWORK);
  assert.match(receipt.transaction, /^0x[0-9a-f]{64}$/);
  const tx = await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [receipt.transaction]);
  assert.equal(tx.status, '0x1');
  assert.equal(tx.from.toLowerCase(), stack.facilitatorAddress.toLowerCase(), 'the facilitator sent the settlement');
  const after = await money();
  assert.equal(after.payee - before.payee, AMOUNT, 'payTo received the price once');
  assert.equal(before.payer - after.payer, AMOUNT, 'the payer paid once');
  assert.equal(after.nonce - before.nonce, 1n, 'one transaction');
  return receipt;
}

describe('unpaid requests', () => {
  test('a client gets 402 with PAYMENT-REQUIRED and the same PaymentRequired as JSON; the origin is not called', async () => {
    const calls = originCalls('/premium');
    const r = await get('/premium');
    assert.equal(r.status, 402);
    assert.match(r.headers.get('content-type'), /application\/json/);
    const required = decodePaymentRequiredHeader(r.headers.get('payment-required'));
    assert.equal(required.x402Version, 2);
    assert.equal(required.error, 'Payment required');
    assert.deepEqual(required.accepts, [
      { scheme: 'exact', network: NETWORK, amount: AMOUNT.toString(), asset: token, payTo: payee.address, maxTimeoutSeconds: 300, extra: { name: 'USD Coin', version: '2' } },
    ]);
    assert.equal(required.resource.description, 'premium');
    assert.equal(required.resource.mimeType, 'application/json');
    assert.match(required.resource.url, /\/premium$/);
    assert.deepEqual(r.json, required);
    assert.equal(originCalls('/premium'), calls);
  });

  test('a browser (Accept: text/html) gets the paywall page with the 402 and PAYMENT-REQUIRED', async () => {
    const r = await get('/premium', { accept: 'text/html,application/xhtml+xml' });
    assert.equal(r.status, 402);
    assert.match(r.headers.get('content-type'), /text\/html/);
    assert.match(r.text, /<title>x402-edge gateway<\/title>/, 'the x402-edge paywall');
    assert.match(r.text, /Base Sepolia/, 'it lists the accepted network');
    assert.equal(decodePaymentRequiredHeader(r.headers.get('payment-required')).accepts[0].payTo, payee.address);
  });

  test('a path no route protects passes through to the origin, without payment', async () => {
    const r = await get('/free?x=1');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { free: true });
    assert.equal(originRequests.at(-1).path, '/free');
  });
});

describe('paid requests', () => {
  test("paid with the official client: the origin's body, PAYMENT-RESPONSE, one transfer; the payment header never reaches the origin", { timeout: TEST_TIMEOUT_MS }, async () => {
    const header = await pay('/premium');
    const before = await money();
    const calls = originRequests.length;
    const facilitatorCalls = (path) => stack.lines().filter((l) => l.startsWith('{') && l.includes(`"path":"${path}"`)).length;
    const [verifies, settles] = [facilitatorCalls('/verify'), facilitatorCalls('/settle')];
    const r = await get('/premium?q=1', { 'payment-signature': header });
    await assertPaidOnce(r, before);
    assert.equal(facilitatorCalls('/verify'), verifies, 'verified in the gateway (RPC_URLS): no /verify round trip');
    assert.equal(facilitatorCalls('/settle'), settles + 1, 'one /settle over the Service Binding');
    assert.equal(r.json.query, '?q=1', 'the query reaches the origin');
    const seen = originRequests.slice(calls);
    assert.equal(seen.length, 1, 'the origin was called once');
    assert.equal(seen[0].headers['payment-signature'], undefined, 'PAYMENT-SIGNATURE is not forwarded');
    assert.equal(seen[0].headers['x-payment'], undefined, 'X-PAYMENT is not forwarded');
    assert.match(r.headers.get('cache-control'), /private/);

    const replay = await get('/premium', { 'payment-signature': header });
    assert.equal(replay.status, 402);
    assert.equal(decodePaymentRequiredHeader(replay.headers.get('payment-required')).error, 'invalid_exact_evm_nonce_already_used');
    assert.equal(originRequests.length, calls + 1, 'a replay never reaches the origin');
  });

  test('the origin answers 500: 502, nothing settled, and the same payment is served later', { timeout: TEST_TIMEOUT_MS }, async () => {
    const header = await pay('/fail');
    const before = await money();
    const r = await get('/fail', { 'payment-signature': header });
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json.error, 'origin_error');
    assert.equal(r.json.originStatus, 500);
    assert.equal(r.headers.get('payment-response'), null, 'no settlement result');
    assert.deepEqual(await money(), before, 'no token moved and the facilitator sent nothing');

    const later = await get('/premium', { 'payment-signature': header });
    await assertPaidOnce(later, before);
  });

  test('the origin does not answer within ORIGIN_TIMEOUT_MS: 504, nothing settled', { timeout: TEST_TIMEOUT_MS }, async () => {
    const header = await pay('/slow');
    const before = await money();
    const started = Date.now();
    const r = await get('/slow', { 'payment-signature': header });
    assert.equal(r.status, 504, r.text);
    assert.equal(r.json.error, 'origin_timeout');
    assert.ok(Date.now() - started < ORIGIN_TIMEOUT_MS * 3, 'the gateway gave up before the origin answered');
    assert.deepEqual(await money(), before, 'no token moved and the facilitator sent nothing');
  });

  test('ORIGIN_TIMEOUT_MS bounds the answer, not the body: a body streamed for longer arrives whole', { timeout: TEST_TIMEOUT_MS }, async () => {
    const header = await pay('/stream');
    const before = await money();
    const r = await get('/stream', { 'payment-signature': header });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { premium: true, streamed: 'done' });
    assert.equal((await money()).payee - before.payee, AMOUNT);
  });

  test('5 concurrent requests with one payment header: one 200, four 402, one transfer, the origin called once', { timeout: TEST_TIMEOUT_MS }, async () => {
    const header = await pay('/premium');
    const before = await money();
    const calls = originCalls('/premium');
    const responses = await Promise.all(Array.from({ length: 5 }, () => get('/premium', { 'payment-signature': header })));
    const why = JSON.stringify(responses.map((r) => [r.status, r.json?.error]));
    const served = responses.filter((r) => r.status === 200);
    assert.equal(served.length, 1, why);
    for (const r of responses.filter((r) => r !== served[0])) {
      assert.equal(r.status, 402, why);
      const reason = decodePaymentRequiredHeader(r.headers.get('payment-required')).error;
      assert.ok(['duplicate_settlement', 'invalid_exact_evm_nonce_already_used'].includes(reason), `refused with ${reason}: ${why}`);
    }
    await assertPaidOnce(served[0], before);
    assert.equal(originCalls('/premium') - calls, 1, 'the origin served the payment once');
  });
});

describe('bad payment headers: 402 with a reason, never a 500, never the origin', () => {
  const cases = [
    ['not base64', 'not base64!', 'invalid_payment_header', /not base64-encoded JSON/],
    ['base64 of something not JSON', Buffer.from('hello').toString('base64'), 'invalid_payment_header', /not base64-encoded JSON/],
    ['a JSON array', Buffer.from('[1,2]').toString('base64'), 'invalid_payment_header', /not a JSON object/],
    ['x402 v1', Buffer.from(JSON.stringify({ x402Version: 1, scheme: 'exact', network: 'base-sepolia', payload: {} })).toString('base64'), 'invalid_payment_header', /x402Version 1/],
    ['no accepted requirements', Buffer.from(JSON.stringify({ x402Version: 2, payload: {} })).toString('base64'), 'invalid_payment_header', /no `accepted`/],
    ['oversized', 'A'.repeat(MAX_HEADER + 4), 'payment_header_too_large', new RegExp(`at most ${MAX_HEADER}`)],
  ];
  for (const [name, header, reason, message] of cases) {
    test(`${name}: 402 ${reason}`, async () => {
      const calls = originRequests.length;
      const r = await get('/premium', { 'payment-signature': header });
      assert.equal(r.status, 402, r.text);
      assert.equal(r.json.error, reason);
      assert.match(r.json.message, message);
      const required = decodePaymentRequiredHeader(r.headers.get('payment-required'));
      assert.equal(required.error, reason, 'PAYMENT-REQUIRED says why too');
      assert.equal(required.accepts[0].payTo, payee.address, 'and what to pay');
      assert.equal(originRequests.length, calls);
    });
  }

  test('X-PAYMENT (x402 v1) alone: 402 unsupported_x402_version', async () => {
    const r = await get('/premium', { 'x-payment': Buffer.from('{}').toString('base64') });
    assert.equal(r.status, 402);
    assert.equal(r.json.error, 'unsupported_x402_version');
    assert.match(r.json.message, /PAYMENT-SIGNATURE/);
  });
});

describe('FORWARD_PAYMENT_HEADER=true and PASS_THROUGH=false', () => {
  /** @type {Awaited<ReturnType<typeof startGateway>>} */
  let second;
  before(
    async () => {
      second = await startGateway({
        stack,
        routes: { 'GET /premium': paidRoute('premium') },
        vars: { ORIGIN_URL: `http://127.0.0.1:${origin.address().port}`, FORWARD_PAYMENT_HEADER: 'true', PASS_THROUGH: 'false' },
      });
    },
    { timeout: 120_000 },
  );
  after(() => second?.stop());

  test('the origin gets PAYMENT-SIGNATURE when configured to', { timeout: TEST_TIMEOUT_MS }, async () => {
    const header = await pay('/premium');
    const calls = originRequests.length;
    const r = await fetch(`${second.url}/premium`, { headers: { 'payment-signature': header } });
    assert.equal(r.status, 200, await r.text());
    assert.equal(originRequests.length, calls + 1);
    assert.equal(originRequests.at(-1).headers['payment-signature'], header);
  });

  test('a path no route protects is 404, and the origin is not called', async () => {
    const calls = originRequests.length;
    const r = await fetch(`${second.url}/free`);
    assert.equal(r.status, 404);
    assert.equal((await r.json()).error, 'not_found');
    assert.equal(originRequests.length, calls);
  });
});

describe('configuration', () => {
  test('a broken configuration is a 500 naming every problem', { timeout: TEST_TIMEOUT_MS }, async () => {
    await assert.rejects(
      startGateway({
        stack,
        routes: { 'GET /a': { network: 'base', payTo: '', price: '-1' }, 'FETCH /b': {} },
        vars: { ORIGIN_URL: 'ftp://x', ORIGIN_TIMEOUT_MS: 'soon' },
        timeoutMs: 60_000,
      }),
      (e) => {
        assert.ok(e.problems, e.message);
        const text = e.problems.join('\n');
        for (const m of [/ROUTES\["GET \/a"\]\.network must be a CAIP-2 id/, /ROUTES\["GET \/a"\]\.payTo/, /ROUTES\["GET \/a"\]\.price/, /ROUTES\["FETCH \/b"\]: the key must be/, /ORIGIN_URL "ftp:\/\/x"/, /ORIGIN_TIMEOUT_MS must be a positive whole number/]) {
          assert.match(text, m);
        }
        return true;
      },
    );
  });
});
