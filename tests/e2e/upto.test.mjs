// `upto` end to end through `wrangler dev`: sessions in Durable Objects, the sweeper on the cron
// trigger, the test client of scripts/lib/upto-client.mjs, anvil behind a counting JSON-RPC proxy.
// The sweeper's clock is the cron event's scheduled time, set here with
// /cdn-cgi/local/scheduled?time=<ms> (production crons get theirs from the platform).
//
// Run: node --test tests/e2e/upto.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { privateKeyToAccount } from 'viem/accounts';

import { balanceOf, rpc } from '../../scripts/lib/chain.mjs';
import { startStackBehindProxy } from '../../scripts/lib/rpc-proxy.mjs';
import { UptoClient } from '../../scripts/lib/upto-client.mjs';

const CHAIN_ID = 84532;
const NETWORK = `eip155:${CHAIN_ID}`;
const PERMIT = '0xd505accf';
const TRANSFER_FROM = '0x23b872dd';
const MIN = 60_000;

let stack;
let proxy;

before(
  async () => {
    ({ stack, proxy } = await startStackBehindProxy({ EVM_RECEIPT_TIMEOUT_SECONDS: '3' }));
  },
  { timeout: 150_000 },
);

after(async () => {
  await stack?.stop();
});

const now = () => Date.now();
const freshAddress = () => `0x${[...crypto.getRandomValues(new Uint8Array(20))].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
const balance = (owner) => balanceOf({ rpcUrl: stack.rpcUrl, token: stack.token.address, owner });
const blockNumber = async () => Number(await rpc(stack.rpcUrl, 'eth_blockNumber'));

function client(index, opts = {}) {
  const account = privateKeyToAccount(stack.accounts[index].privateKey);
  return new UptoClient({ facilitatorUrl: stack.facilitatorUrl, rpcUrl: stack.rpcUrl, account, chainId: CHAIN_ID, ...opts });
}

function requirements({ payTo, amount, cap }) {
  return {
    scheme: 'upto', network: NETWORK, amount: String(amount), asset: stack.token.address, payTo, maxTimeoutSeconds: 3600,
    extra: { name: 'USD Coin', version: '2', maxAmountRequired: String(cap) },
  };
}

/** Fires the cron handler as of `timeMs`. */
async function cron(timeMs) {
  const res = await fetch(`${stack.facilitatorUrl}/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${Math.round(timeMs)}`);
  assert.equal(res.status, 200, await res.text());
}

async function session(id) {
  return (await fetch(`${stack.facilitatorUrl}/upto/sessions/${id}`)).json();
}

/** The selectors of the facilitator's transactions mined since `fromBlock`. */
async function facilitatorCalls(fromBlock) {
  const calls = [];
  for (let n = fromBlock; n <= (await blockNumber()); n++) {
    const block = await rpc(stack.rpcUrl, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, true]);
    for (const tx of block.transactions) {
      if (tx.from.toLowerCase() === stack.facilitatorAddress.toLowerCase()) calls.push(tx.input.slice(0, 10));
    }
  }
  return calls;
}

async function payOk(c, reqs) {
  const { status, reply } = await c.pay(reqs);
  assert.equal(status, 200, JSON.stringify(reply));
  assert.equal(reply.success, true, JSON.stringify(reply));
  assert.equal(reply.transaction, '');
  return reply.extensions.upto;
}

test('/supported lists upto with the facilitator as the spender', async () => {
  const supported = await (await fetch(`${stack.facilitatorUrl}/supported`)).json();
  assert.ok(supported.kinds.some((k) => k.x402Version === 2 && k.scheme === 'upto' && k.network === NETWORK));
  assert.deepEqual(supported.signers['eip155:*'], [stack.facilitatorAddress]);
});

test('100 payments under one permit make no RPC call; the sweeper settles them in one permit and one transferFrom; the next batch reuses the allowance', { timeout: 90_000 }, async () => {
  const payer = client(1);
  const payTo = freshAddress();
  const reqs = requirements({ payTo, amount: 7, cap: 100_000 });
  proxy.reset();
  let state;
  for (let i = 0; i < 100; i++) state = await payOk(payer, reqs);
  assert.equal(proxy.total(), 0, `captures made RPC calls: ${JSON.stringify([...proxy.calls])}`);
  assert.equal(payer.signed, 1, 'one permit for every payment');
  assert.equal(state.pending, '700');

  await cron(now());
  assert.equal((await session(state.sessionId)).pending, '700', 'not idle yet: nothing settles');
  const from = (await blockNumber()) + 1;
  await cron(now() + 2 * MIN + 1000);
  assert.deepEqual(await facilitatorCalls(from), [PERMIT, TRANSFER_FROM]);
  assert.equal(await balance(payTo), 700n, 'exactly the sum moved');
  const settled = await session(state.sessionId);
  assert.equal(settled.settled, '700');
  assert.equal(settled.lastSettlement.reason, 'idle_timeout');

  for (let i = 0; i < 10; i++) await payOk(payer, reqs);
  const next = (await blockNumber()) + 1;
  await cron(now() + 2 * MIN + 1000);
  assert.deepEqual(await facilitatorCalls(next), [TRANSFER_FROM], 'the allowance is reused');
  assert.equal(await balance(payTo), 770n);
});

test('the cap threshold settles at 90 % of the cap; a long idle session closes', { timeout: 60_000 }, async () => {
  const payer = client(3);
  const payTo = freshAddress();
  const reqs = requirements({ payTo, amount: 100, cap: 1000 });
  let state;
  for (let i = 0; i < 8; i++) state = await payOk(payer, reqs);
  await cron(now());
  assert.equal((await session(state.sessionId)).settled, '0', '80 %: nothing yet');
  state = await payOk(payer, reqs);
  await cron(now());
  const settled = await session(state.sessionId);
  assert.equal(settled.settled, '900');
  assert.equal(settled.lastSettlement.reason, 'cap_threshold');
  assert.equal(await balance(payTo), 900n);

  await cron(settled.lastActivityMs + 30 * MIN - 1000);
  assert.equal((await session(state.sessionId)).status, 'open');
  await cron(settled.lastActivityMs + 30 * MIN);
  assert.equal((await session(state.sessionId)).status, 'closed');
  const { status, reply } = await client(3, {}).pay(reqs).catch(() => ({}));
  assert.equal(status, 200, 'a new permit opens a new session');
  assert.notEqual(reply.extensions.upto.sessionId, state.sessionId);
});

test('within 60 s of the permit deadline the session is settled and closed', { timeout: 60_000 }, async () => {
  const payer = client(4, { permitSeconds: 150 });
  const payTo = freshAddress();
  const state = await payOk(payer, requirements({ payTo, amount: 50, cap: 1000 }));
  const deadlineMs = (await session(state.sessionId)).deadline * 1000;
  await cron(deadlineMs - MIN - 1000);
  assert.equal((await session(state.sessionId)).pending, '50');
  await cron(deadlineMs - MIN);
  const closed = await session(state.sessionId);
  assert.equal(closed.status, 'closed');
  assert.equal(closed.lastSettlement.reason, 'deadline_buffer');
  assert.equal(await balance(payTo), 50n);
});

test('a batch stuck in settling is reconciled from its receipt after 5 minutes, never sent twice; the client waits on settling_in_progress', { timeout: 90_000 }, async () => {
  const payer = client(5, { settlingRetries: 60 });
  const payTo = freshAddress();
  const reqs = requirements({ payTo, amount: 10, cap: 1000 });
  const first = await payOk(payer, reqs);
  await cron(now() + 2 * MIN + 1000);
  assert.equal((await session(first.sessionId)).settled, '10');
  await payOk(payer, { ...reqs, amount: '20' });

  await rpc(stack.rpcUrl, 'evm_setAutomine', [false]);
  const sweptAt = now() + 2 * MIN + 1000;
  try {
    await cron(sweptAt); // sends the transferFrom; its receipt does not come within 3 s
  } finally {
    // The client meets the lock, and waits.
    const paying = payer.pay({ ...reqs, amount: '5' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await session(first.sessionId)).status, 'settling');
    await rpc(stack.rpcUrl, 'evm_mine');
    await rpc(stack.rpcUrl, 'evm_setAutomine', [true]);
    const sent = Number(await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest']));
    await cron(sweptAt + 5 * MIN - 1000);
    assert.equal((await session(first.sessionId)).status, 'settling', 'not stale yet');
    await cron(sweptAt + 5 * MIN);
    const reconciled = await session(first.sessionId);
    assert.equal(reconciled.settled, '30', JSON.stringify(reconciled));
    assert.equal(await balance(payTo), 30n, 'the batch moved once');
    const after = Number(await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest']));
    assert.equal(after, sent, 'nothing was sent again');
    const { status, reply } = await paying;
    assert.equal(status, 200, JSON.stringify(reply));
    assert.equal(reply.extensions.upto.pending, '5');
  }
});

test('50 concurrent captures near the cap: the total never exceeds the cap and equals the accepted captures', { timeout: 60_000 }, async () => {
  const payer = client(6);
  const reqs = requirements({ payTo: freshAddress(), amount: 500, cap: 1000 });
  const opened = await payOk(payer, reqs);
  const permit = await payer.permit(reqs);
  const body = JSON.stringify({
    x402Version: 2,
    paymentPayload: { x402Version: 2, accepted: { ...reqs, amount: '20' }, payload: permit },
    paymentRequirements: { ...reqs, amount: '20' },
  });
  const replies = await Promise.all(
    Array.from({ length: 50 }, () =>
      fetch(`${stack.facilitatorUrl}/settle`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(
        async (r) => ({ status: r.status, reply: await r.json() }),
      ),
    ),
  );
  const accepted = replies.filter((r) => r.status === 200 && r.reply.success).length;
  const exhausted = replies.filter((r) => r.status === 402 && r.reply.error === 'cap_exhausted').length;
  assert.equal(accepted + exhausted, 50, JSON.stringify(replies.find((r) => r.status !== 200 && r.status !== 402)));
  assert.equal(accepted, 25, 'exactly what fits under the cap');
  const state = await session(opened.sessionId);
  assert.equal(state.pending, String(500 + 20 * accepted));
  assert.equal(state.remaining, '0');
});

test('concurrent first captures of a new permit: every accepted capture is counted, none is lost', { timeout: 90_000 }, async () => {
  // Each round opens a session with 16 captures at once: the session object indexes a new session (a call
  // to another object) between its read and its write, where concurrent first captures used to overwrite
  // each other (all answered success, one charge kept).
  for (let round = 0; round < 20; round++) {
    const payer = client(0); // no other test pays with account 0: each round's close frees its allowance for the next
    const reqs = requirements({ payTo: freshAddress(), amount: 7, cap: 100_000 });
    const permit = await payer.permit(reqs);
    const body = JSON.stringify({ x402Version: 2, paymentPayload: { x402Version: 2, accepted: reqs, payload: permit }, paymentRequirements: reqs });
    const replies = await Promise.all(
      Array.from({ length: 16 }, () =>
        fetch(`${stack.facilitatorUrl}/settle`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(
          async (r) => ({ status: r.status, reply: await r.json() }),
        ),
      ),
    );
    const accepted = replies.filter((r) => r.status === 200 && r.reply.success);
    assert.equal(accepted.length, 16, JSON.stringify(replies.find((r) => !r.reply.success)));
    const pendings = accepted.map((r) => r.reply.extensions.upto.pending).sort((a, b) => Number(a) - Number(b));
    assert.deepEqual(pendings, Array.from({ length: 16 }, (_, k) => String(7 * (k + 1))), 'each capture saw the ones before it');
    const id = accepted[0].reply.extensions.upto.sessionId;
    assert.equal((await session(id)).pending, '112', 'the session holds every accepted capture');
    const close = await fetch(`${stack.facilitatorUrl}/upto/sessions/${id}/close`, { method: 'POST' });
    assert.ok(close.ok, await close.text());
  }
});

test('a restart of wrangler dev mid-session loses no pending spend; the sweeper settles it afterwards', { timeout: 90_000 }, async () => {
  const payer = client(7);
  const payTo = freshAddress();
  const reqs = requirements({ payTo, amount: 30, cap: 1000 });
  let state;
  for (let i = 0; i < 5; i++) state = await payOk(payer, reqs);
  await stack.restartWorker();
  assert.equal((await session(state.sessionId)).pending, '150');
  state = await payOk(payer, reqs);
  assert.equal(state.pending, '180', 'captures go on after the restart');
  await cron(now() + 2 * MIN + 1000);
  assert.equal((await session(state.sessionId)).settled, '180');
  assert.equal(await balance(payTo), 180n);
});

test('the client re-signs on cap_exhausted and on session_closed; a re-signed permit with the same nonce waits for the older session', { timeout: 60_000 }, async () => {
  const payer = client(8);
  const payTo = freshAddress();
  const reqs = requirements({ payTo, amount: 60, cap: 100 });
  const first = await payOk(payer, reqs);
  // cap_exhausted: the client re-signs, with the token's nonce, which the first permit still holds:
  // only one of the two could ever be used on chain, so the second opens nothing.
  const { reply: conflict } = await payer.pay(reqs);
  assert.equal(payer.signed, 2, 'cap_exhausted: a new permit');
  assert.equal(conflict.errorReason, 'permit_conflict', JSON.stringify(conflict));
  assert.equal((await session(first.sessionId)).pending, '60');

  const close = await fetch(`${stack.facilitatorUrl}/upto/sessions/${first.sessionId}/close`, { method: 'POST' });
  const closed = await close.json();
  assert.equal(closed.status, 'closed', JSON.stringify(closed));
  assert.match(closed.transaction, /^0x[0-9a-f]{64}$/);
  assert.equal(await balance(payTo), 60n);
  // The re-signed permit's nonce is used now: session_closed, and the client signs with the next one.
  const second = await payOk(payer, reqs);
  assert.equal(payer.signed, 3, 'session_closed: a new permit');
  assert.notEqual(second.sessionId, first.sessionId);
  await cron(now() + 2 * MIN + 1000);
  assert.equal(await balance(payTo), 120n);
});

/** The settle body of `permit` under `reqs`, as a resource server posts it. */
function settleBody(reqs, permit) {
  return { x402Version: 2, paymentPayload: { x402Version: 2, accepted: reqs, payload: permit }, paymentRequirements: reqs };
}

async function post(path, body) {
  const res = await fetch(`${stack.facilitatorUrl}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, reply: await res.json() };
}

test('a party that saw one payment header re-spells it to pay itself the cap: refused, nothing sent, the real batch settles', { timeout: 60_000 }, async () => {
  const payer = client(2);
  const payTo = freshAddress();
  const attacker = freshAddress();
  const cap = 10_000;
  const reqs = requirements({ payTo, amount: 10, cap });
  const opened = await payOk(payer, reqs);
  const permit = await payer.permit(reqs);
  const sent = await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest']);

  // Re-spelled: lowercase asset and owner, uppercase signature hex, the cap as a number, the v1 network
  // name; itself as payTo and the whole cap as the amount, in `accepted` and in the requirements.
  const stolenReqs = { ...reqs, asset: reqs.asset.toLowerCase(), payTo: attacker, amount: String(cap) };
  const stolen = settleBody({ ...stolenReqs, network: 'base-sepolia' }, {
    authorization: { ...permit.authorization, from: permit.authorization.from.toLowerCase(), value: cap },
    signature: `0x${permit.signature.slice(2).toUpperCase()}`,
  });
  stolen.paymentRequirements = stolenReqs;
  const verify = await post('/verify', stolen);
  assert.equal(verify.reply.invalidReason, 'session_mismatch', JSON.stringify(verify.reply));
  const settle = await post('/settle', stolen);
  assert.equal(settle.reply.success, false);
  assert.equal(settle.reply.errorReason, 'session_mismatch', JSON.stringify(settle.reply));

  // Seven spellings of the permit paying the real recipient: one session, one cap.
  const spellings = [
    settleBody(reqs, permit),
    settleBody({ ...reqs, network: 'base-sepolia' }, permit),
    settleBody({ ...reqs, asset: reqs.asset.toLowerCase() }, permit),
    settleBody(reqs, { ...permit, signature: `0x${permit.signature.slice(2).toUpperCase()}` }),
    settleBody(reqs, { ...permit, authorization: { ...permit.authorization, value: cap } }),
    settleBody(reqs, { ...permit, authorization: { ...permit.authorization, from: permit.authorization.from.toLowerCase() } }),
    settleBody(reqs, { ...permit, authorization: { ...permit.authorization, nonce: Number(permit.authorization.nonce) } }),
  ];
  for (const body of spellings) {
    body.paymentRequirements = reqs;
    const { reply } = await post('/settle', body);
    assert.equal(reply.success, true, JSON.stringify(reply));
    assert.equal(reply.extensions.upto.sessionId, opened.sessionId);
  }
  const state = await session(opened.sessionId);
  assert.deepEqual([state.pending, state.cap], ['80', String(cap)]);
  assert.equal(await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest']), sent, 'nothing was sent');

  // Whoever holds the id may close the session (no API keys here): it pays the real recipient.
  const close = await post(`/upto/sessions/${opened.sessionId}/close`, {});
  assert.equal(close.reply.status, 'closed', JSON.stringify(close.reply));
  const after = await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest']);
  assert.equal(Number(after), Number(sent) + 2, 'only the real batch was sent: its permit and transferFrom');
  assert.equal(await balance(payTo), 80n);
  assert.equal(await balance(attacker), 0n);
});
