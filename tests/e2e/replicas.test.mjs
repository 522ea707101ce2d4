// Two isolates of one deployment: the stack's `wrangler dev` and a replica (a second `wrangler dev` of the
// same build and variables whose Durable Objects are the stack's own, bound through the dev registry),
// as Cloudflare runs a Worker in many isolates that share its Durable Objects. Settles sent to both at
// once must still pay each payment once (EIP-3009 and Permit2 on EVM, Solana, Starknet), allocate the EVM
// signer's nonces in one place, and let a Starknet sponsor's transactions take turns for its nonce across
// isolates (its sponsor object): no settle signs twice, none gives up. Every outcome is checked on chain.
// An `upto` session's captures, sent to both isolates at once, never pass its cap and none is lost.
//
// Run: node --test tests/e2e/replicas.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { x402Client } from '@x402/core/client';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { createPermit2ApprovalTx } from '@x402/evm/exact/client';
import { privateKeyToAccount } from 'viem/accounts';

import { balanceOf, clients, eip3009Payment } from '../../scripts/lib/chain.mjs';
import { startRpcProxy } from '../../scripts/lib/rpc-proxy.mjs';
import { createPayment } from '../../scripts/lib/starknet-client.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';
import { svmPayment } from '../../scripts/lib/svm-rpc.mjs';
import { UptoClient } from '../../scripts/lib/upto-client.mjs';

const RESOURCE = { url: 'http://127.0.0.1/paid', description: 'a paid resource', mimeType: 'application/json' };

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
let replica;
/** Between both isolates and the devnet: counts their Starknet calls by method. */
let devnetProxy;

before(
  async () => {
    devnetProxy = await startRpcProxy();
    stack = await startStack({
      local: true, localSvm: true, localStarknet: true, chainPort: 0, workerPort: 0,
      env: { STARKNET_RPC_URL_STARKNET_SEPOLIA: devnetProxy.url },
    });
    devnetProxy.target = stack.starknet.rpcUrl;
    replica = await stack.startReplica();
  },
  { timeout: 240_000 },
);

after(async () => {
  await stack?.stop();
  await devnetProxy?.close();
});

/** The isolates in turn: the i-th request goes to the stack, the next to the replica, and so on. */
const isolate = (i) => (i % 2 ? replica.url : stack.facilitatorUrl);

async function settle(i, paymentPayload, paymentRequirements) {
  const res = await fetch(`${isolate(i)}/settle`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ x402Version: 2, paymentPayload, paymentRequirements }),
  });
  return res.json();
}

/** Settles every payload at once, alternating between the isolates. */
const settleAll = (payloads, requirements) => Promise.all(payloads.map((p, i) => settle(i, p, requirements)));

/** The same payload `n` times at once, alternating between the isolates: exactly one success. */
async function assertSettledOnce(payload, requirements, n = 8) {
  const answers = await settleAll(Array(n).fill(payload), requirements);
  const succeeded = answers.filter((a) => a.success === true);
  assert.equal(succeeded.length, 1, JSON.stringify(answers));
  return succeeded[0];
}

const succeededAll = (answers) => assert.deepEqual(answers.filter((a) => a.success !== true), [], 'every settle succeeds');

async function rpc(url, method, params) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  return (await res.json()).result;
}

describe('EVM (EIP-3009 on anvil)', () => {
  const network = () => `eip155:${stack.chainId}`;
  const requirements = (amount) => ({
    scheme: 'exact', network: network(), amount, asset: stack.token.address, payTo: stack.accounts[2].address,
    maxTimeoutSeconds: 300, extra: { name: stack.token.name, version: stack.token.version },
  });
  const client = (index) => new x402Client()
    .register('eip155:*', new ExactEvmScheme(toClientEvmSigner(privateKeyToAccount(stack.accounts[index].privateKey))))
    .setSpendControls({ allowedAssets: [{ network: network(), asset: stack.token.address }] });
  const pay = (index, req) => client(index).createPaymentPayload({ x402Version: 2, resource: RESOURCE, accepts: [req] });
  const received = () => balanceOf({ rpcUrl: stack.rpcUrl, token: stack.token.address, owner: stack.accounts[2].address });

  test('one payment settled 8 times at once across both isolates: one success, paid once', async () => {
    const req = requirements('4321');
    const before = await received();
    const settled = await assertSettledOnce(await pay(1, req), req);
    assert.equal((await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [settled.transaction])).status, '0x1');
    assert.equal(await received() - before, 4321n);
  });

  test('one Permit2 payment settled 8 times at once across both isolates: one success, paid once', async () => {
    const payer = stack.accounts[5];
    const { walletClient, publicClient } = clients({ rpcUrl: stack.rpcUrl, chainId: stack.chainId, privateKey: payer.privateKey });
    const approval = await walletClient.sendTransaction(createPermit2ApprovalTx(stack.token.address));
    assert.equal((await publicClient.waitForTransactionReceipt({ hash: approval })).status, 'success');
    const req = requirements('3210');
    req.extra = { ...req.extra, assetTransferMethod: 'permit2' };
    const before = await received();
    const settled = await assertSettledOnce(await pay(5, req), req);
    assert.equal((await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [settled.transaction])).status, '0x1');
    assert.equal(await received() - before, 3210n);
  });

  test('one authorization in three dialects (v2, v1, Cronos) at once across both isolates: one success, paid once', async () => {
    const [payer, payTo] = [6, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
    const amount = 6543;
    const { authorization, paymentPayload, body: v2 } = await eip3009Payment({ token: stack.token.address, chainId: stack.chainId, payer, payTo: payTo.address, amount });
    const v1Requirements = {
      scheme: 'exact', network: stack.network, maxAmountRequired: String(amount), resource: RESOURCE.url, description: '',
      mimeType: 'application/json', payTo: payTo.address, maxTimeoutSeconds: 300, asset: stack.token.address,
      extra: { name: 'USD Coin', version: '2' },
    };
    const v1 = {
      x402Version: 1,
      paymentPayload: { x402Version: 1, scheme: 'exact', network: stack.network, payload: paymentPayload.payload },
      paymentRequirements: v1Requirements,
    };
    const cronosHeader = {
      x402Version: 1, scheme: 'exact', network: stack.network,
      payload: { ...authorization, validAfter: 0, validBefore: Number(authorization.validBefore), signature: paymentPayload.payload.signature, asset: stack.token.address },
    };
    const cronos = { x402Version: 1, paymentHeader: Buffer.from(JSON.stringify(cronosHeader)).toString('base64'), paymentRequirements: v1Requirements };
    const sends = [['/settle', v2], ['/settle', v1], ['/v2/x402/settle', cronos]].flatMap(([path, body]) => [0, 1].map((i) => async () => {
      const res = await fetch(`${isolate(i)}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'X402-Version': '1' }, body: JSON.stringify(body) });
      return res.json();
    }));
    const before = await received();
    const answers = await Promise.all(sends.map((send) => send()));
    const succeeded = answers.filter((a) => a.success === true || a.event === 'payment.settled');
    assert.equal(succeeded.length, 1, JSON.stringify(answers));
    assert.equal(await received() - before, BigInt(amount));
  });

  test('24 payments at once across both isolates: all settle, each once, from one nonce sequence', async () => {
    const req = requirements('1000');
    const payloads = [];
    for (let i = 0; i < 24; i++) payloads.push(await pay([1, 3, 4][i % 3], req));
    const before = await received();
    const answers = await settleAll(payloads, req);
    succeededAll(answers);
    const receipts = await Promise.all(answers.map((a) => rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [a.transaction])));
    assert.ok(receipts.every((r) => r?.status === '0x1'), 'every transaction succeeded on chain');
    assert.equal(new Set(answers.map((a) => a.transaction)).size, 24);
    assert.equal(await received() - before, 24_000n);
  });
});

describe('upto sessions (EVM)', () => {
  const freshAddress = () => `0x${[...crypto.getRandomValues(new Uint8Array(20))].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  const payer = (index) => new UptoClient({
    facilitatorUrl: stack.facilitatorUrl, rpcUrl: stack.rpcUrl, account: privateKeyToAccount(stack.accounts[index].privateKey), chainId: stack.chainId,
  });
  const requirements = (amount, cap) => ({
    scheme: 'upto', network: `eip155:${stack.chainId}`, amount: String(amount), asset: stack.token.address, payTo: freshAddress(),
    maxTimeoutSeconds: 3600, extra: { name: 'USD Coin', version: '2', maxAmountRequired: String(cap) },
  });
  /** The same capture `n` times at once, alternating between the isolates. */
  async function captures(client, reqs, amount, n) {
    const accepted = { ...reqs, amount: String(amount) };
    const payload = await client.permit(reqs);
    const body = JSON.stringify({ x402Version: 2, paymentPayload: { x402Version: 2, accepted, payload }, paymentRequirements: accepted });
    return Promise.all(Array.from({ length: n }, async (_, i) => {
      const res = await fetch(`${isolate(i)}/settle`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: res.status, reply: await res.json() };
    }));
  }
  const session = async (id) => (await fetch(`${replica.url}/upto/sessions/${id}`)).json();

  test('50 captures near the cap at once across both isolates: exactly what fits is accepted', async () => {
    const client = payer(7);
    const reqs = requirements(500, 1000);
    const { status, reply } = await client.pay(reqs);
    assert.equal(status, 200, JSON.stringify(reply));
    const replies = await captures(client, reqs, 20, 50);
    const accepted = replies.filter((r) => r.status === 200 && r.reply.success).length;
    const exhausted = replies.filter((r) => r.status === 402 && r.reply.error === 'cap_exhausted').length;
    assert.equal(accepted + exhausted, 50, JSON.stringify(replies.find((r) => r.status !== 200 && r.status !== 402)));
    assert.equal(accepted, 25, 'exactly what fits under the cap');
    const state = await session(reply.extensions.upto.sessionId);
    assert.deepEqual([state.pending, state.remaining], ['1000', '0']);
  });

  test('16 first captures of a new permit at once across both isolates: each counted once', async () => {
    const replies = await captures(payer(8), requirements(7, 100_000), 7, 16);
    const accepted = replies.filter((r) => r.status === 200 && r.reply.success);
    assert.equal(accepted.length, 16, JSON.stringify(replies.find((r) => !r.reply.success)));
    const ids = new Set(accepted.map((r) => r.reply.extensions.upto.sessionId));
    assert.equal(ids.size, 1, 'one session');
    const pendings = accepted.map((r) => Number(r.reply.extensions.upto.pending)).sort((a, b) => a - b);
    assert.deepEqual(pendings, Array.from({ length: 16 }, (_, k) => 7 * (k + 1)), 'each capture saw the ones before it');
    assert.equal((await session([...ids][0])).pending, '112');
  });
});

describe('Solana (SPL Token on litesvm)', () => {
  test('one payment settled 8 times at once across both isolates: one success, paid once', async () => {
    const svm = stack.svm;
    const [payee, payer] = svm.payers;
    const payment = await svmPayment(svm, { payer, payTo: payee.address, amount: 2500, resource: RESOURCE });
    const settled = await assertSettledOnce(payment.paymentPayload, payment.requirements);
    const { value } = await rpc(svm.rpcUrl, 'getSignatureStatuses', [[settled.transaction]]);
    assert.equal(value[0]?.err, null, 'the transaction landed');
  });
});

describe('Starknet (self-sponsored, on starknet-devnet)', () => {
  const requirements = (amount) => {
    const sn = stack.starknet;
    return { scheme: 'exact', network: sn.caip2, amount, asset: sn.token, payTo: sn.payers[0].address, maxTimeoutSeconds: 300 };
  };
  const received = () => stack.starknet.devnet.balance('STRK', stack.starknet.payers[0].address);

  test('one payment settled 6 times at once across both isolates: one success, paid once', async () => {
    const req = requirements('555');
    const before = await received();
    await assertSettledOnce(await createPayment({ account: stack.starknet.payers[1], requirements: req }), req, 6);
    assert.equal(await received() - before, 555n);
  });

  test('48 payments at once across both isolates: the sponsor signs each once, in turns across isolates', async () => {
    // Each isolate alone lets its settles take turns for the sponsor's nonce; across isolates they raced
    // for it and signed again (a second nonce read and fee estimate each time). In the sponsor's Durable
    // Object, every isolate's settles take their turns in one place.
    const req = requirements('1001');
    const payers = stack.starknet.payers.slice(1, 3);
    const payloads = [];
    for (let i = 0; i < 48; i++) payloads.push(await createPayment({ account: payers[i % 2], requirements: req }));
    const before = await received();
    devnetProxy.reset();
    const answers = await settleAll(payloads, req);
    succeededAll(answers);
    assert.equal(new Set(answers.map((a) => BigInt(a.transaction))).size, 48, 'one transaction each');
    assert.equal(await received() - before, 48n * 1001n, 'each paid once');
    // Each settle is priced (estimated) and sent once; its simulation reads the sponsor's nonce too.
    const calls = Object.fromEntries(['starknet_estimateFee', 'starknet_addInvokeTransaction']
      .map((method) => [method, devnetProxy.calls.get(method) ?? 0]));
    assert.deepEqual(calls, { starknet_estimateFee: 48, starknet_addInvokeTransaction: 48 }, 'nothing signed twice');
  });
});
