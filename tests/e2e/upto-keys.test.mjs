// `upto` sessions with API keys through wrangler dev: a session belongs to the key that opened it
// (UPTO_REQUIRE_API_KEY, on by default when FACILITATOR_API_KEYS is set). Another key finds no session
// (404), cannot close it, and cannot pay into it; no key gets 401.
//
// Run: node --test tests/e2e/upto-keys.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { privateKeyToAccount } from 'viem/accounts';

import { balanceOf, rpc } from '../../scripts/lib/chain.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';
import { UptoClient } from '../../scripts/lib/upto-client.mjs';

const CHAIN_ID = 84532;
const KEY_A = 'fac_upto_alpha';
const KEY_B = 'fac_upto_beta';

let stack;

before(
  async () => {
    stack = await startStack({ local: true, chainPort: 0, workerPort: 0, chainId: CHAIN_ID, env: { FACILITATOR_API_KEYS: `${KEY_A},${KEY_B}` } });
  },
  { timeout: 150_000 },
);

after(async () => {
  await stack?.stop();
});

async function call(method, path, key, body) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${stack.facilitatorUrl}${path}`, { method, headers, body: body && JSON.stringify(body) });
  return { status: res.status, reply: await res.json() };
}

test('a session belongs to the API key that opened it: another key gets 404 and cannot close or pay into it', { timeout: 60_000 }, async () => {
  const account = privateKeyToAccount(stack.accounts[1].privateKey);
  const payer = new UptoClient({ facilitatorUrl: stack.facilitatorUrl, rpcUrl: stack.rpcUrl, account, chainId: CHAIN_ID });
  const payTo = `0x${'ab'.repeat(20)}`;
  const reqs = {
    scheme: 'upto', network: `eip155:${CHAIN_ID}`, amount: '10', asset: stack.token.address, payTo, maxTimeoutSeconds: 3600,
    extra: { name: 'USD Coin', version: '2', maxAmountRequired: '1000' },
  };
  const permit = await payer.permit(reqs);
  const body = { x402Version: 2, paymentPayload: { x402Version: 2, accepted: reqs, payload: permit }, paymentRequirements: reqs };
  const opened = await call('POST', '/settle', KEY_A, body);
  assert.equal(opened.reply.success, true, JSON.stringify(opened.reply));
  const id = opened.reply.extensions.upto.sessionId;
  const sent = await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest']);

  assert.equal((await call('GET', `/upto/sessions/${id}`, KEY_A)).status, 200);
  const other = await call('GET', `/upto/sessions/${id}`, KEY_B);
  assert.deepEqual([other.status, other.reply.error], [404, 'session_not_found']);
  assert.equal((await call('GET', `/upto/sessions/${id}`)).status, 401);
  const close = await call('POST', `/upto/sessions/${id}/close`, KEY_B, {});
  assert.deepEqual([close.status, close.reply.error], [404, 'session_not_found']);
  const verify = await call('POST', '/verify', KEY_B, body);
  assert.equal(verify.reply.invalidReason, 'session_mismatch', JSON.stringify(verify.reply));
  const pay = await call('POST', '/settle', KEY_B, body);
  assert.equal(pay.reply.errorReason, 'session_mismatch', JSON.stringify(pay.reply));

  const state = await call('GET', `/upto/sessions/${id}`, KEY_A);
  assert.deepEqual([state.reply.status, state.reply.pending], ['open', '10']);
  assert.equal(await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest']), sent, 'nothing was sent');
  const closed = await call('POST', `/upto/sessions/${id}/close`, KEY_A, {});
  assert.equal(closed.reply.status, 'closed', JSON.stringify(closed.reply));
  assert.equal(await balanceOf({ rpcUrl: stack.rpcUrl, token: stack.token.address, owner: payTo }), 10n);
});
