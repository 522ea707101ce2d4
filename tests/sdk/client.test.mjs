// EdgeFacilitatorClient against @x402/core 2.27's HTTPFacilitatorClient, both pointed at the same real
// facilitator (wrangler dev of build/, FACILITATOR_API_KEYS set): every answer and every error must be the
// same (class, status, reason, message), so @x402/hono / @x402/express answer alike with either client.
// Then what only ours does: local verify gives the facilitator's verdict without a request; a Permit2
// payload (not in @x402-edge/verify) falls back to POST /verify; a Service Binding takes precedence over
// the URL; the API key is sent as a Bearer token and never appears in an error. The transport cases the
// facilitator cannot produce on demand (a hanging answer, a 2xx that is not JSON, an HTML 502) come from
// a loopback stub, and both clients are held to the same result there too.
//
// Run: bash scripts/build-pkg.sh sdk && node --test tests/sdk/client.test.mjs   (needs build/index_bg.wasm)

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { EdgeFacilitatorClient } from '@x402-edge/sdk/server';
import { x402Client } from '@x402/core/client';
import { HTTPFacilitatorClient } from '@x402/core/http';
import { FacilitatorResponseError, FacilitatorTimeoutError, SettleError, VerifyError } from '@x402/core/types';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { privateKeyToAccount } from 'viem/accounts';

import { startStack } from '../../scripts/lib/stack.mjs';

const CHAIN_ID = 84532;
const NETWORK = `eip155:${CHAIN_ID}`;
const API_KEY = 'sdk-test-key-4f1c9e';
const WRONG_KEY = 'wrong-key-8d2a77';

let stack, token, payer, payee;
/** Paths of the requests EdgeFacilitatorClient made through `recordingFetch`. */
const calls = [];
const recordingFetch = async (input, init) => {
  calls.push(new URL(typeof input === 'string' ? input : input.url).pathname);
  return fetch(input, init);
};

before(
  async () => {
    stack = await startStack({
      local: true,
      localSvm: false,
      localStarknet: false,
      chainPort: 0,
      workerPort: 0,
      chainId: CHAIN_ID,
      env: { FACILITATOR_API_KEYS: API_KEY },
    });
    token = stack.token.address;
    [payer, payee] = [1, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
  },
  { timeout: 150_000 },
);

after(() => stack?.stop());

const auth = (key) => async () => {
  const headers = { Authorization: `Bearer ${key}` };
  return { verify: headers, settle: headers, supported: headers };
};
/** The official client, and ours, with the same key. */
const official = (key = API_KEY, url = stack.facilitatorUrl, timeoutMs) => new HTTPFacilitatorClient({ url, timeoutMs, ...(key ? { createAuthHeaders: auth(key) } : {}) });
const edge = (options = {}) => new EdgeFacilitatorClient({ url: stack.facilitatorUrl, apiKey: API_KEY, fetch: recordingFetch, ...options });

function requirements(overrides = {}) {
  return { scheme: 'exact', network: NETWORK, asset: token, amount: '10000', payTo: payee.address, maxTimeoutSeconds: 300, extra: { name: 'USD Coin', version: '2' }, ...overrides };
}

/** A fresh EIP-3009 payment signed by the official client for `req`. */
async function payment(req = requirements()) {
  const client = new x402Client()
    .register('eip155:*', new ExactEvmScheme(toClientEvmSigner(payer)))
    .setSpendControls({ allowedAssets: [{ network: NETWORK, asset: token }] });
  return client.createPaymentPayload({ x402Version: 2, resource: { url: 'http://127.0.0.1/paid' }, accepts: [req] });
}

/** What a call gives: `{value}` or `{error: {class, fields…, message}}`, comparable across clients. */
async function outcome(fn) {
  try {
    return { value: await fn() };
  } catch (e) {
    const fields = {};
    for (const k of ['statusCode', 'invalidReason', 'invalidMessage', 'errorReason', 'errorMessage', 'payer', 'transaction', 'network', 'operation', 'timeoutMs']) {
      if (e[k] !== undefined) fields[k] = e[k];
    }
    return { error: { class: e.constructor.name, ...fields, message: e.message } };
  }
}

async function same(label, edgeCall, officialCall) {
  const ours = await outcome(edgeCall);
  const theirs = await outcome(officialCall);
  assert.deepEqual(ours, theirs, label);
  return ours;
}

describe('the same answers and errors as HTTPFacilitatorClient, from the real facilitator', () => {
  test('getSupported', async () => {
    const { value } = await same('supported', () => edge().getSupported(), () => official().getSupported());
    assert.ok(value.kinds.some((k) => k.network === NETWORK && k.scheme === 'exact'));
  });

  test("verify: 'remote' and local verify answer as the facilitator's /verify (valid, wrong amount)", async () => {
    const p = await payment();
    const valid = await same('valid, remote', () => edge({ verify: 'remote' }).verify(p, requirements()), () => official().verify(p, requirements()));
    assert.deepEqual(valid.value, { isValid: true, payer: payer.address });

    calls.length = 0;
    assert.deepEqual(await outcome(() => edge().verify(p, requirements())), valid, 'local verify: the same answer');
    const higher = requirements({ amount: '20000' });
    const refused = await same('wrong amount, local', () => edge().verify({ ...p, accepted: higher }, higher), () => official().verify({ ...p, accepted: higher }, higher));
    assert.equal(refused.value.isValid, false);
    assert.equal(refused.value.invalidReason, 'invalid_exact_evm_authorization_value');
    assert.deepEqual(calls.filter((c) => c === '/verify'), [], 'local verify sent no /verify');
  });

  test('verify of malformed input: the same VerifyError (400) locally as from the facilitator', async () => {
    const p = await payment();
    const broken = { ...p, payload: { signature: 'nope', authorization: 42 } };
    calls.length = 0;
    const { error } = await same('broken payload', () => edge().verify(broken, requirements()), () => official().verify(broken, requirements()));
    assert.equal(error.class, 'VerifyError');
    assert.equal(error.statusCode, 400);
    assert.equal(error.invalidReason, 'invalid_payload');
    assert.deepEqual(calls.filter((c) => c === '/verify'), [], 'refused in-process');
    assert.ok((await edge().verify(broken, requirements()).catch((e) => e)) instanceof VerifyError, "@x402/core's own VerifyError class");

    // An unknown network: not the local verifier's to judge, the facilitator answers it (and the same).
    const unknown = requirements({ network: 'eip155:999999' });
    const { error: network } = await same('unknown network', () => edge().verify({ ...p, accepted: unknown }, unknown), () => official().verify({ ...p, accepted: unknown }, unknown));
    assert.equal(network.statusCode, 400);
    assert.equal(network.invalidReason, 'invalid_network');
  });

  test('settle: success, then the refusal of the same payment; without or with a wrong key, the same Error (401) without the key', async () => {
    const p = await payment();
    for (const key of [null, WRONG_KEY]) {
      const { error } = await same(`settle with key ${key}`, () => edge({ apiKey: key ?? undefined }).settle(p, requirements()), () => official(key).settle(p, requirements()));
      assert.equal(error.class, 'Error');
      assert.match(error.message, /^Facilitator settle failed \(401\): .*unauthorized/);
      assert.ok(!error.message.includes(WRONG_KEY) && !error.message.includes(API_KEY), 'no key in the message');
    }
    const done = await edge().settle(p, requirements());
    assert.equal(done.success, true);
    assert.equal(done.payer, payer.address);
    const again = await same('settle again', () => edge().settle(p, requirements()), () => official().settle(p, requirements()));
    assert.deepEqual([again.value.success, again.value.errorReason], [false, 'invalid_exact_evm_nonce_already_used']);

    const broken = { ...p, payload: { signature: 'nope', authorization: 42 } };
    const { error } = await same('settle of a broken payload', () => edge().settle(broken, requirements()), () => official().settle(broken, requirements()));
    assert.deepEqual([error.class, error.statusCode, error.errorReason], ['SettleError', 400, 'invalid_payload']);
  });
});

describe('what only EdgeFacilitatorClient does', () => {
  test('a Permit2 payload (not in @x402-edge/verify) falls back to the facilitator /verify, once', async () => {
    const p = await payment();
    const req = requirements({ extra: { name: 'USD Coin', version: '2', assetTransferMethod: 'permit2' } });
    const permit2 = {
      ...p,
      accepted: req,
      payload: {
        signature: `0x${'22'.repeat(65)}`,
        permit2Authorization: {
          from: payer.address,
          permitted: { token, amount: '10000' },
          spender: '0x402085c248EeA27D92E8b30b2C58ed07f9E20001',
          nonce: '1',
          deadline: String(Math.floor(Date.now() / 1000) + 600),
          witness: { to: payee.address, validAfter: '0' },
        },
      },
    };
    calls.length = 0;
    const result = await same('permit2', () => edge().verify(permit2, req), () => official().verify(permit2, req));
    assert.deepEqual(calls.filter((c) => c !== '/supported'), ['/verify'], 'local verify could not judge it: one /verify');
    assert.ok(result.value ? result.value.isValid === false : result.error.class === 'VerifyError', JSON.stringify(result));
  });

  test('a Service Binding takes precedence over the URL and carries the API key', async () => {
    const seen = [];
    const binding = {
      async fetch(request) {
        assert.ok(request instanceof Request);
        seen.push([request.method, new URL(request.url).pathname, request.headers.get('authorization')]);
        return fetch(`${stack.facilitatorUrl}${new URL(request.url).pathname}`, request);
      },
    };
    // The URL is a closed port: every request must go through the binding.
    const client = new EdgeFacilitatorClient({ binding, url: 'http://127.0.0.1:9', apiKey: API_KEY });
    const p = await payment();
    assert.deepEqual(await client.verify(p, requirements()), { isValid: true, payer: payer.address });
    const settled = await client.settle(p, requirements());
    assert.equal(settled.success, true, JSON.stringify(settled));
    assert.deepEqual(seen, [
      ['GET', '/supported', `Bearer ${API_KEY}`],
      ['POST', '/settle', `Bearer ${API_KEY}`],
    ]);
  });

  test('GET /supported is cached for supportedTtlMs', async () => {
    const client = edge({ supportedTtlMs: 200 });
    calls.length = 0;
    await client.getSupported();
    await client.getSupported();
    await new Promise((r) => setTimeout(r, 250));
    await client.getSupported();
    assert.deepEqual(calls, ['/supported', '/supported']);
  });
});

describe('transport failures, against a loopback stub: the same as HTTPFacilitatorClient', () => {
  let stub, url;
  before(async () => {
    stub = createServer((req, res) => {
      if (req.url.startsWith('/hang')) return; // never answers
      if (req.url.startsWith('/notjson')) return res.writeHead(200, { 'content-type': 'application/json' }).end('{"success": tru');
      if (req.url.startsWith('/badshape')) return res.writeHead(200, { 'content-type': 'application/json' }).end('{"success": "yes"}');
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>Bad gateway</body></html>');
    }).listen(0, '127.0.0.1');
    await once(stub, 'listening');
    url = `http://127.0.0.1:${stub.address().port}`;
  });
  after(() => {
    stub.closeAllConnections();
    stub.close();
  });

  const both = (base, op, timeoutMs = 5000) => {
    const args = op === 'getSupported' ? [] : [{ x402Version: 2, accepted: {}, payload: {} }, {}];
    return same(`${base} ${op}`, () => new EdgeFacilitatorClient({ url: `${url}${base}`, timeoutMs, verify: 'remote' })[op](...args), () => official(null, `${url}${base}`, timeoutMs)[op](...args));
  };

  test('a facilitator that does not answer in time: FacilitatorTimeoutError', async () => {
    for (const op of ['settle', 'verify', 'getSupported']) {
      const { error } = await both('/hang', op, 300);
      assert.equal(error.class, 'FacilitatorTimeoutError', op);
      assert.equal(error.timeoutMs, 300);
    }
    const err = await new EdgeFacilitatorClient({ url: `${url}/hang`, timeoutMs: 300 }).settle({ x402Version: 2 }, {}).catch((e) => e);
    assert.ok(err instanceof FacilitatorTimeoutError && err instanceof FacilitatorResponseError, 'the classes of @x402/core (a 502 in the middlewares)');
  });

  test('a 2xx that is not JSON or not the shape: FacilitatorResponseError; an HTML 502: Error', async () => {
    assert.equal((await both('/notjson', 'settle')).error.class, 'FacilitatorResponseError');
    assert.equal((await both('/badshape', 'settle')).error.class, 'FacilitatorResponseError');
    const { error } = await both('/html', 'settle');
    assert.deepEqual([error.class, error.message], ['Error', 'Facilitator settle failed (502): <html><body>Bad gateway</body></html>']);
    assert.equal((await both('/html', 'getSupported')).error.message, 'Facilitator getSupported failed (502): <html><body>Bad gateway</body></html>');
    assert.ok((await new EdgeFacilitatorClient({ url: `${url}/badshape` }).settle({ x402Version: 2 }, {}).catch((e) => e)) instanceof FacilitatorResponseError);
    assert.ok(!((await new EdgeFacilitatorClient({ url: `${url}/html` }).settle({ x402Version: 2 }, {}).catch((e) => e)) instanceof SettleError));
  });
});
