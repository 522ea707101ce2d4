// A settle whose transaction sits unmined, through `wrangler dev`: the signer Durable Object replaces it at
// the same nonce with higher fees, and the payment moves once, in whichever transaction is mined. The stack
// is its own (anvil with automine off after setup), so the other end-to-end files keep a mining chain.
//
// Run: node --test tests/e2e/fee-bump.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { getAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

import { balanceOf, eip3009Payment, rpc } from '../../scripts/lib/chain.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';

const CHAIN_ID = 84532;
let stack;

before(
  async () => {
    stack = await startStack({
      local: true,
      chainPort: 0,
      workerPort: 0,
      chainId: CHAIN_ID,
      env: { EVM_FEE_BUMP_SECONDS: '1', EVM_RECEIPT_TIMEOUT_SECONDS: '25' },
    });
  },
  { timeout: 150_000 },
);

after(async () => {
  await stack?.stop();
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The facilitator's pending transactions in anvil's pool. */
async function pendingFromFacilitator() {
  const pool = await rpc(stack.rpcUrl, 'txpool_content');
  const entry = Object.entries(pool.pending ?? {}).find(([from]) => getAddress(from) === stack.facilitatorAddress);
  return entry ? Object.values(entry[1]) : [];
}

test('a stuck settle is replaced with a fee bump through the signer object; the payment moves once', { timeout: 60_000 }, async () => {
  const token = stack.token.address;
  const [payer, payee] = [1, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
  const { body } = await eip3009Payment({ token, chainId: CHAIN_ID, payer, payTo: payee.address, amount: '3210' });
  const before = await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payee.address });
  const nonceBefore = Number(await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest']));
  await rpc(stack.rpcUrl, 'evm_setAutomine', [false]);

  const settling = fetch(`${stack.facilitatorUrl}/settle`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  }).then((r) => r.json());

  // Note the first transaction, then mine once a replacement has taken its place.
  let original;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const [tx] = await pendingFromFacilitator();
    if (tx && !original) original = tx;
    if (tx && original && tx.hash !== original.hash) break;
    await sleep(100);
  }
  await rpc(stack.rpcUrl, 'evm_mine');
  await rpc(stack.rpcUrl, 'evm_setAutomine', [true]);
  const settled = await settling;

  assert.ok(original, 'the settle broadcast a transaction');
  assert.equal(settled.success, true, JSON.stringify(settled));
  assert.notEqual(settled.transaction, original.hash, 'the replacement is the one mined');
  const mined = await rpc(stack.rpcUrl, 'eth_getTransactionByHash', [settled.transaction]);
  assert.equal(mined.nonce, original.nonce, 'same nonce');
  assert.ok(BigInt(mined.maxFeePerGas) > BigInt(original.maxFeePerGas), 'higher fees');
  assert.equal(await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [original.hash]), null, 'the original is not mined');
  const afterBalance = await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payee.address });
  assert.equal(afterBalance - before, 3210n, 'the amount moved once');
  const nonceAfter = Number(await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest']));
  assert.equal(nonceAfter - nonceBefore, 1, 'one transaction of the facilitator was mined');

  const again = await fetch(`${stack.facilitatorUrl}/settle`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  }).then((r) => r.json());
  assert.equal(again.success, false, JSON.stringify(again));
  assert.equal(again.errorReason, 'invalid_exact_evm_nonce_already_used', JSON.stringify(again));
  assert.equal(again.transaction, settled.transaction, 'a repeated settle names the mined transaction');
});
