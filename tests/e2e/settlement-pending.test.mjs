// The standard's `settlement_pending` through `wrangler dev`, against the reference resource server's own
// retry (`@x402/core` x402ResourceServer.settleWithPendingRetry: one retry, then final): a settle whose
// receipt does not come in time answers `settlement_pending` with its transaction; the one retry
// reconciles from the chain and answers success, sending nothing; every later settle is refused. The
// stack is its own (anvil with automine off during the test, a 3-second receipt wait).
//
// Run: node --test tests/e2e/settlement-pending.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { HTTPFacilitatorClient } from '@x402/core/http';
import { x402ResourceServer } from '@x402/core/server';
import { getAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

import { balanceOf, eip3009Payment, rpc } from '../../scripts/lib/chain.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';

const CHAIN_ID = 84532;
const AMOUNT = '4321';
let stack;

before(
  async () => {
    stack = await startStack({
      local: true,
      chainPort: 0,
      workerPort: 0,
      chainId: CHAIN_ID,
      env: { EVM_FEE_BUMP_SECONDS: '600', EVM_RECEIPT_TIMEOUT_SECONDS: '3' },
    });
  },
  { timeout: 150_000 },
);

after(async () => {
  await rpc(stack.rpcUrl, 'evm_setAutomine', [true]).catch(() => {});
  await stack?.stop();
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const facilitatorNonce = async () =>
  Number(await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest']));

/** A v2 EIP-3009 payment of AMOUNT from anvil account #1 to #2. */
async function payment() {
  const [payer, payee] = [1, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
  const token = stack.token.address;
  const { paymentPayload, requirements } = await eip3009Payment({ token, chainId: CHAIN_ID, payer, payTo: payee.address, amount: AMOUNT });
  return { paymentPayload, requirements, payTo: payee.address };
}

/** Mines once, `delayMs` after the facilitator's first transaction shows in the pool. */
async function mineAfterBroadcast(delayMs) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const pool = await rpc(stack.rpcUrl, 'txpool_content');
    const mine = Object.keys(pool.pending ?? {}).some((from) => getAddress(from) === stack.facilitatorAddress);
    if (mine) {
      await sleep(delayMs);
      await rpc(stack.rpcUrl, 'evm_mine');
      return true;
    }
    await sleep(100);
  }
  return false;
}

test('a receipt late by one wait: settlement_pending, then the reference retry gets success once and nothing is sent again', { timeout: 90_000 }, async () => {
  const { paymentPayload, requirements, payTo } = await payment();
  const token = stack.token.address;
  const before = await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payTo });
  const nonceBefore = await facilitatorNonce();

  // Every answer the resource server's facilitator client gets, in order.
  const answers = [];
  const client = new HTTPFacilitatorClient({ url: stack.facilitatorUrl });
  const settle = client.settle.bind(client);
  client.settle = async (...args) => {
    const answer = await settle(...args);
    answers.push(answer);
    return answer;
  };
  const server = new x402ResourceServer(client);

  await rpc(stack.rpcUrl, 'evm_setAutomine', [false]);
  const mined = mineAfterBroadcast(4_500);
  const result = await server.settleWithPendingRetry(client, paymentPayload, requirements);
  assert.equal(await mined, true, 'the settle broadcast a transaction');
  await rpc(stack.rpcUrl, 'evm_setAutomine', [true]);

  assert.equal(answers.length, 2, JSON.stringify(answers));
  assert.equal(answers[0].success, false, JSON.stringify(answers[0]));
  assert.equal(answers[0].errorReason, 'settlement_pending', JSON.stringify(answers[0]));
  assert.match(answers[0].transaction, /^0x[0-9a-f]{64}$/);
  assert.equal(result.success, true, JSON.stringify(result));
  assert.equal(result.transaction, answers[0].transaction, 'the retry answers the transaction it reconciled');
  const receipt = await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [result.transaction]);
  assert.equal(receipt.status, '0x1');

  // Exactly one success: every later settle is refused, verify too, and nothing more is sent.
  const again = await client.settle(paymentPayload, requirements);
  assert.equal(again.success, false, JSON.stringify(again));
  assert.equal(again.errorReason, 'invalid_exact_evm_nonce_already_used', JSON.stringify(again));
  assert.equal(again.transaction, result.transaction);
  const verify = await client.verify(paymentPayload, requirements);
  assert.equal(verify.isValid, false, JSON.stringify(verify));
  assert.equal(await facilitatorNonce(), nonceBefore + 1, 'one transaction');
  assert.equal((await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payTo })) - before, BigInt(AMOUNT), 'paid once');
});
