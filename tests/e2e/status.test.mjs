// Through `wrangler dev` (workerd, the ledger Durable Object): GET /settle/status of an EIP-3009 payment that is
// unknown, in flight (anvil's automine off while the settle waits for its receipt) and done; the Solana and
// Starknet networks it does not look up; and chunked request bodies over 64 KiB, refused with 413 without being
// read to their end.
//
// Run: node --test tests/e2e/status.test.mjs   (needs build/index_bg.wasm and starknet-devnet; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, before, test } from 'node:test';

import { privateKeyToAccount } from 'viem/accounts';

import { balanceOf, eip3009Payment, rpc } from '../../scripts/lib/chain.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';

const CHAIN_ID = 84532;
const NETWORK = `eip155:${CHAIN_ID}`;

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;

before(
  async () => {
    stack = await startStack({ local: true, localSvm: true, localStarknet: true, chainPort: 0, workerPort: 0, chainId: CHAIN_ID });
  },
  { timeout: 180_000 },
);

after(async () => {
  await stack?.stop();
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh v2 EIP-3009 payment of `amount` from anvil account #1 to #2: the settle body and its identity. */
async function payment(amount = '1234') {
  const token = stack.token.address;
  const [payer, payee] = [1, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
  const { body, authorization } = await eip3009Payment({ token, chainId: CHAIN_ID, payer, payTo: payee.address, amount });
  const query = `network=${NETWORK}&asset=${token}&from=${payer.address}&nonce=${authorization.nonce}`;
  return { body, query, payee: payee.address, token };
}

async function status(query) {
  const res = await fetch(`${stack.facilitatorUrl}/settle/status?${query}`);
  return { status: res.status, json: await res.json() };
}

test('the status of a payment the ledger never saw is unknown', async () => {
  const { query } = await payment();
  const answer = await status(query);
  assert.equal(answer.status, 200, JSON.stringify(answer.json));
  assert.deepEqual(answer.json, { network: NETWORK, state: 'unknown' });
});

test('the status of a settled payment is done, with its outcome', async () => {
  const { body, query } = await payment();
  const settled = await stack.post('/settle', body);
  assert.equal(settled.json.success, true, JSON.stringify(settled.json));
  const answer = await status(query);
  assert.equal(answer.status, 200, JSON.stringify(answer.json));
  assert.equal(answer.json.state, 'done');
  assert.equal(answer.json.success, true);
  assert.equal(answer.json.transaction, settled.json.transaction);
  assert.equal(answer.json.payer, settled.json.payer);
  assert.equal(typeof answer.json.blockNumber, 'number');
});

test('the status of a payment whose transaction waits to be mined is in_flight with that transaction', { timeout: 60_000 }, async () => {
  const { body, query, payee, token } = await payment('4321');
  const before = await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payee });
  await rpc(stack.rpcUrl, 'evm_setAutomine', [false]);
  let settling;
  let seen;
  try {
    settling = stack.post('/settle', body);
    // The settle claims the payment, then records its transaction once broadcast; nothing is mined meanwhile.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      seen = await status(query);
      if (seen.json.state === 'in_flight' && seen.json.transaction) break;
      await sleep(100);
    }
  } finally {
    await rpc(stack.rpcUrl, 'evm_mine');
    await rpc(stack.rpcUrl, 'evm_setAutomine', [true]);
  }
  assert.equal(seen.status, 200, JSON.stringify(seen.json));
  assert.equal(seen.json.state, 'in_flight', JSON.stringify(seen.json));
  assert.match(seen.json.transaction, /^0x[0-9a-f]{64}$/);
  const pending = await rpc(stack.rpcUrl, 'eth_getTransactionByHash', [seen.json.transaction]);
  assert.ok(pending, 'the in-flight transaction is the one broadcast');

  const settled = await settling;
  assert.equal(settled.json.success, true, JSON.stringify(settled.json));
  assert.equal(settled.json.transaction, seen.json.transaction);
  const done = await status(query);
  assert.equal(done.json.state, 'done');
  assert.equal(done.json.transaction, seen.json.transaction);
  const afterBalance = await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payee });
  assert.equal(afterBalance - before, 4321n, 'the payment moved once');
});

test('Solana and Starknet networks are refused with 400 invalid_network naming where to look instead', async () => {
  const hash = `0x${'ab'.repeat(32)}`;
  const cases = [
    [`network=${stack.svm.caip2}&transaction=5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW`, 'getSignatureStatuses'],
    [`network=${stack.svm.network}&asset=${stack.svm.mint}&from=${stack.svm.payers[0].address}&nonce=${hash}`, 'getSignatureStatuses'],
    [`network=${stack.starknet.caip2}&transaction=${hash}`, 'starknet_getTransactionStatus'],
  ];
  for (const [query, instead] of cases) {
    const answer = await status(query);
    assert.equal(answer.status, 400, `${query}: ${JSON.stringify(answer.json)}`);
    assert.equal(answer.json.reason, 'invalid_network', query);
    assert.match(answer.json.error, /EVM payments only/);
    assert.ok(answer.json.error.includes(instead), answer.json.error);
  }
});

/**
 * POSTs a chunked body (no content-length) of up to `limit` bytes on a fresh connection, writing until an answer
 * or an error arrives: `{status, text}` or `{error}`, and how many bytes had been written by then.
 */
function postChunked(path, limit, { stallMs = 15_000 } = {}) {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  return new Promise((resolve) => {
    let written = 0;
    let settled = false;
    // wrangler dev's proxy may also stop reading the upload without answering or closing: after `stallMs`
    // with nothing written and no answer, the upload is given up (cut short all the same).
    let stall;
    const watch = () => {
      clearTimeout(stall);
      stall = setTimeout(() => {
        if (settled) return;
        settled = true;
        req.destroy();
        resolve({ error: 'stalled', written });
      }, stallMs);
    };
    const req = http.request(`${stack.facilitatorUrl}${path}`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    req.on('response', (res) => {
      settled = true;
      clearTimeout(stall);
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, text, written }));
      req.end();
    });
    // The far end may drop the connection while the client still writes.
    req.on('error', (e) => {
      clearTimeout(stall);
      if (!settled) resolve({ error: e.code ?? e.message, written });
      settled = true;
    });
    const pump = () => {
      watch();
      while (!settled && written < limit) {
        written += chunk.length;
        if (!req.write(chunk)) return req.once('drain', pump);
      }
      if (!settled) req.end();
    };
    pump();
  });
}

/** The worker's own log lines (one JSON line per request) for POST `path` that answered `status`. */
function logged(path, status) {
  return stack
    .lines()
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return {};
      }
    })
    .filter((l) => l.method === 'POST' && l.path === path && l.status === status).length;
}

test('a chunked body over 64 KiB is refused with 413', { timeout: 90_000 }, async () => {
  for (const path of ['/verify', '/settle']) {
    // Small enough that wrangler dev's proxy usually drains what the worker leaves unread and passes the
    // answer on. On a loaded machine the proxy sometimes cuts the connection first (EPIPE while the client
    // still writes): such an attempt counts only if the worker logged its 413, and the answer itself must
    // reach the client within three attempts.
    let answer;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const before = logged(path, 413);
      answer = await postChunked(path, 1024 * 1024);
      if (answer.status !== undefined) break;
      const deadline = Date.now() + 10_000;
      while (logged(path, 413) === before && Date.now() < deadline) await sleep(100);
      assert.equal(logged(path, 413), before + 1, `the worker logged its 413 for ${path} (client saw ${JSON.stringify(answer)})`);
    }
    assert.equal(answer.status, 413, JSON.stringify(answer));
    assert.equal(JSON.parse(answer.text).reason, 'invalid_payload', answer.text);
  }
});

test('a chunked body of hundreds of MB is answered 413 by the worker before it is all sent; the worker stays up', { timeout: 90_000 }, async () => {
  const limit = 256 * 1024 * 1024;
  for (const path of ['/verify', '/settle']) {
    const before = logged(path, 413);
    const answer = await postChunked(path, limit);
    // The worker stops reading at 64 KiB and answers 413. wrangler dev's proxy in front of it may turn that
    // into a 500 "Network connection lost" or a dropped connection for a body this large (it cannot hand an
    // early answer through while the upload goes on); either way the upload was cut short.
    assert.ok(answer.written < limit, `the answer came only after all ${answer.written} bytes were sent`);
    if (answer.status === 413) assert.equal(JSON.parse(answer.text).reason, 'invalid_payload');
    const deadline = Date.now() + 10_000;
    while (logged(path, 413) === before && Date.now() < deadline) await sleep(100);
    assert.equal(logged(path, 413), before + 1, `the worker logged its 413 for ${path} (client saw ${JSON.stringify(answer).slice(0, 200)})`);
  }
  const health = await fetch(`${stack.facilitatorUrl}/health`);
  assert.equal(health.status, 200);
  const { json } = await stack.post('/verify', (await payment()).body);
  assert.equal(json.isValid, true, JSON.stringify(json));
});
