// Access control through wrangler dev (workerd): API keys and per-client rate limits in a Durable Object.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { startStack } from '../../scripts/lib/stack.mjs';

let stack;

before(
  async () => {
    stack = await startStack({
      local: true,
      chainPort: 0,
      workerPort: 0,
      env: { FACILITATOR_API_KEYS: 'fac_test_alpha,fac_test_beta', RATE_LIMIT_PER_MINUTE: '3' },
    });
  },
  { timeout: 150_000 },
);

after(async () => {
  await stack?.stop();
});

const post = (path, headers = {}, ip = '203.0.113.7') =>
  fetch(`${stack.facilitatorUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip, ...headers },
    body: '{}',
  });

test('verify and settle need a valid API key; discovery stays public', async () => {
  for (const path of ['/verify', '/settle']) {
    const none = await post(path, {}, '198.51.100.1');
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await none.json()).reason, 'unauthorized');
    const wrong = await post(path, { authorization: 'Bearer fac_test_gamma' }, '198.51.100.2');
    assert.equal(wrong.status, 401);
    const right = await post(path, { authorization: 'Bearer fac_test_beta' }, '198.51.100.3');
    assert.equal(right.status, 400, 'past the guard, the empty body is refused as a payment');
  }
  assert.equal((await fetch(`${stack.facilitatorUrl}/supported`)).status, 200);
});

test('a key over its rate gets 429 with Retry-After, across requests from any address', async () => {
  const auth = { authorization: 'Bearer fac_test_alpha' };
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await post('/verify', auth, `192.0.2.${i + 1}`)).status);
  assert.deepEqual(statuses, [400, 400, 400, 429]);
  const limited = await post('/verify', auth, '192.0.2.99');
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  assert.equal((await limited.json()).reason, 'rate_limited');
});
