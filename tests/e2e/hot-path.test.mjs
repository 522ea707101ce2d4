// The settle hot path through `wrangler dev`, counted (issue 17): an EIP-3009 settle is one Durable Object
// call (its home, the signer object, claims, sends and records) and two RPC round trips (the batch of
// reads, then `eth_sendRawTransactionSync` answering the receipt), and so is a Permit2 settle, `exact`
// or the standard `upto`'s charge; a verify
// is one RPC round trip and one ledger read. A Solana settle is two: the ledger claims the payment and
// records the co-signed transaction in one call, and the outcome in another. A self-sponsored Starknet settle is two: its home, the sponsor object, claims and sends;
// the settle waits for acceptance and records the outcome there. The counts come from the Worker's own counters (`GET /__x402/counters`, served only with
// `X402_EDGE_COUNTERS=on`), read around sequential requests, and the outcome is checked on chain. A
// duplicate settle is still refused, and another payment from the same payer settles.
//
// Run: node --test tests/e2e/hot-path.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { x402Client } from '@x402/core/client';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { createPermit2ApprovalTx } from '@x402/evm/exact/client';
import { UptoEvmScheme } from '@x402/evm/upto/client';
import { privateKeyToAccount } from 'viem/accounts';

import { balanceOf, clients, eip3009Payment } from '../../scripts/lib/chain.mjs';
import { createPayment } from '../../scripts/lib/starknet-client.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';
import { svmPayment } from '../../scripts/lib/svm-rpc.mjs';

const CHAIN_ID = 84532;
let stack, plain;

before(
  async () => {
    const options = { local: true, localSvm: true, localStarknet: true, chainPort: 0, workerPort: 0, chainId: CHAIN_ID };
    stack = await startStack({ ...options, env: { X402_EDGE_COUNTERS: 'on' } });
  },
  { timeout: 150_000 },
);

after(async () => {
  await stack?.stop();
  await plain?.stop();
});

const post = async (path, body) => (await stack.post(path, body)).json;

async function counters() {
  const res = await fetch(`${stack.facilitatorUrl}/__x402/counters`);
  assert.equal(res.status, 200);
  return res.json();
}

/** What `request()` cost in Durable Object calls and RPC requests (nothing else runs meanwhile). */
async function counted(request) {
  const before = await counters();
  const result = await request();
  const now = await counters();
  return { result, objects: now.durableObjectCalls - before.durableObjectCalls, rpc: now.rpcCalls - before.rpcCalls };
}

async function payment(amount) {
  const [payer, payee] = [1, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
  return eip3009Payment({ token: stack.token.address, chainId: CHAIN_ID, payer, payTo: payee.address, amount });
}

test('an EIP-3009 settle: one Durable Object call, two RPC round trips, the amount moved once', { timeout: 90_000 }, async () => {
  const { body, requirements } = await payment(2_500);
  const token = stack.token.address;
  const balance = () => balanceOf({ rpcUrl: stack.rpcUrl, token, owner: requirements.payTo });
  // The signer object's first send reads the account's pending nonce (once per object life): not counted.
  const first = await post('/settle', (await payment(1_000)).body);
  assert.equal(first.success, true, JSON.stringify(first));
  const start = await balance();

  const verify = await counted(() => post('/verify', body));
  assert.equal(verify.result.isValid, true, JSON.stringify(verify.result));
  assert.deepEqual([verify.objects, verify.rpc], [1, 1], 'verify: the ledger read beside one batch of chain reads');

  const settle = await counted(() => post('/settle', body));
  assert.equal(settle.result.success, true, JSON.stringify(settle.result));
  assert.deepEqual([settle.objects, settle.rpc], [1, 2], 'settle: one call to the payment\'s home; reads, then the synchronous send');
  assert.equal((await balance()) - start, 2_500n);

  const again = await post('/settle', body);
  assert.equal(again.success, false, JSON.stringify(again));
  assert.equal(again.errorReason, 'invalid_exact_evm_nonce_already_used', JSON.stringify(again));
  assert.equal(again.transaction, settle.result.transaction);

  const second = await post('/settle', (await payment(1_000)).body);
  assert.equal(second.success, true, JSON.stringify(second));
  assert.equal((await balance()) - start, 3_500n);
});

test('a Permit2 settle: one Durable Object call, two RPC round trips, the amount moved once', { timeout: 90_000 }, async () => {
  const payer = stack.accounts[5];
  const { walletClient, publicClient } = clients({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID, privateKey: payer.privateKey });
  const approval = await walletClient.sendTransaction(createPermit2ApprovalTx(stack.token.address));
  assert.equal((await publicClient.waitForTransactionReceipt({ hash: approval })).status, 'success');
  const network = `eip155:${CHAIN_ID}`;
  const requirements = {
    scheme: 'exact', network, amount: '4100', asset: stack.token.address, payTo: stack.accounts[2].address, maxTimeoutSeconds: 300,
    extra: { name: stack.token.name, version: stack.token.version, assetTransferMethod: 'permit2' },
  };
  const client = new x402Client()
    .register('eip155:*', new ExactEvmScheme(toClientEvmSigner(privateKeyToAccount(payer.privateKey))))
    .setSpendControls({ allowedAssets: [{ network, asset: stack.token.address }] });
  const resource = { url: 'http://127.0.0.1/paid', description: 'a paid resource', mimeType: 'application/json' };
  const pay = async () => ({
    x402Version: 2,
    paymentPayload: await client.createPaymentPayload({ x402Version: 2, resource, accepts: [requirements] }),
    paymentRequirements: requirements,
  });
  const balance = () => balanceOf({ rpcUrl: stack.rpcUrl, token: stack.token.address, owner: requirements.payTo });
  const body = await pay();
  const start = await balance();

  // Before the signer object was its home: the ledger claim, the signer, its record in the ledger, the
  // outcome (four).
  const settle = await counted(() => post('/settle', body));
  assert.equal(settle.result.success, true, JSON.stringify(settle.result));
  assert.deepEqual([settle.objects, settle.rpc], [1, 2], 'settle: one call to the payment\'s home; reads, then the synchronous send');
  assert.equal((await balance()) - start, 4100n);

  const again = await post('/settle', body);
  assert.equal(again.errorReason, 'permit2_invalid_nonce', JSON.stringify(again));
  assert.equal(again.transaction, settle.result.transaction);
});

test('a standard upto charge: one Durable Object call, two RPC round trips, the charge moved once', { timeout: 90_000 }, async () => {
  const payer = stack.accounts[6];
  const { walletClient, publicClient } = clients({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID, privateKey: payer.privateKey });
  const approval = await walletClient.sendTransaction(createPermit2ApprovalTx(stack.token.address));
  assert.equal((await publicClient.waitForTransactionReceipt({ hash: approval })).status, 'success');
  const network = `eip155:${CHAIN_ID}`;
  const cap = {
    scheme: 'upto', network, amount: '50000', asset: stack.token.address, payTo: stack.accounts[2].address, maxTimeoutSeconds: 300,
    extra: { name: stack.token.name, version: stack.token.version, facilitatorAddress: stack.facilitatorAddress },
  };
  const client = new x402Client()
    .register('eip155:*', new UptoEvmScheme(toClientEvmSigner(privateKeyToAccount(payer.privateKey))))
    .setSpendControls({ allowedAssets: [{ network, asset: stack.token.address }] });
  const resource = { url: 'http://127.0.0.1/metered', description: 'a metered resource', mimeType: 'application/json' };
  const paymentPayload = await client.createPaymentPayload({ x402Version: 2, resource, accepts: [cap] });
  const body = { x402Version: 2, paymentPayload, paymentRequirements: { ...cap, amount: '12345' } };
  const balance = () => balanceOf({ rpcUrl: stack.rpcUrl, token: stack.token.address, owner: cap.payTo });
  const start = await balance();

  const settle = await counted(() => post('/settle', body));
  assert.equal(settle.result.success, true, JSON.stringify(settle.result));
  assert.equal(settle.result.amount, '12345', JSON.stringify(settle.result));
  // The upto proxy accepts only its facilitator as caller, so the movement probe runs as that caller,
  // in the batch of reads, with Multicall3's code put there by a state override. Before: three Durable
  // Object calls and four round trips (the probe waited for Multicall3's code read in the batch).
  assert.deepEqual([settle.objects, settle.rpc], [1, 2], 'settle: one call to the payment\'s home; reads, then the synchronous send');
  assert.equal((await balance()) - start, 12_345n);

  // Answered from the payment's entry at its home (the same routing for every ledger call).
  const again = await post('/settle', body);
  assert.equal(again.errorReason, 'permit2_invalid_nonce', JSON.stringify(again));
  assert.equal(again.transaction, settle.result.transaction);
});

test('a Solana settle: two Durable Object calls, and it lands once', { timeout: 90_000 }, async () => {
  const svm = stack.svm;
  const [payee, payer] = svm.payers;
  const resource = { url: 'http://127.0.0.1/paid', description: 'a paid resource', mimeType: 'application/json' };
  const { body } = await svmPayment(svm, { payer, payTo: payee.address, amount: 2500, resource });

  // Before the claim recorded the transaction: the claim, the record before the broadcast, the outcome.
  const settle = await counted(() => post('/settle', body));
  assert.equal(settle.result.success, true, JSON.stringify(settle.result));
  assert.equal(settle.objects, 2, 'settle: the claim with the co-signed transaction, then the outcome');
  const statuses = await fetch(svm.rpcUrl, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getSignatureStatuses', params: [[settle.result.transaction]] }),
  });
  assert.equal((await statuses.json()).result.value[0]?.err, null, 'the transaction landed');

  const again = await post('/settle', body);
  assert.equal(again.errorReason, 'duplicate_settlement', JSON.stringify(again));
  assert.equal(again.transaction, settle.result.transaction);
});

test('a self-sponsored Starknet settle: two Durable Object calls, the amount moved once', { timeout: 90_000 }, async () => {
  const sn = stack.starknet;
  const requirements = { scheme: 'exact', network: sn.caip2, amount: '777', asset: sn.token, payTo: sn.payers[0].address, maxTimeoutSeconds: 300 };
  const pay = async () => {
    const paymentPayload = await createPayment({ account: sn.payers[1], requirements });
    return { x402Version: 2, paymentPayload, paymentRequirements: requirements };
  };
  const received = () => sn.devnet.balance('STRK', sn.payers[0].address);
  const body = await pay();
  const first = await post('/settle', await pay());
  assert.equal(first.success, true, JSON.stringify(first));
  const start = await received();

  const verify = await counted(() => post('/verify', body));
  assert.equal(verify.result.isValid, true, JSON.stringify(verify.result));
  assert.equal(verify.objects, 1, 'verify: the ledger read at the sponsor object');

  // Before the sponsor object was the payments' home: the ledger claim, the sponsor, its record in
  // the ledger, the outcome (four).
  const settle = await counted(() => post('/settle', body));
  assert.equal(settle.result.success, true, JSON.stringify(settle.result));
  assert.equal(settle.objects, 2, 'settle: claim and send at the home, then the outcome recorded there');
  assert.equal((await received()) - start, 777n);

  const again = await post('/settle', body);
  assert.equal(again.success, false, JSON.stringify(again));
  assert.equal(again.errorReason, 'invalid_exact_starknet_payload_nonce_used', JSON.stringify(again));
  assert.equal(again.transaction, settle.result.transaction);
});

test('the counters are not served without X402_EDGE_COUNTERS=on', { timeout: 150_000 }, async () => {
  plain = await startStack({ local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0, chainId: CHAIN_ID });
  const res = await fetch(`${plain.facilitatorUrl}/__x402/counters`);
  assert.equal(res.status, 404, await res.text());
});
