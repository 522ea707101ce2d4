// @x402-edge/sdk's `upto` sessions and unified client end to end: an @x402/express 2.27 resource server
// (this package's UptoEvmServerScheme, @x402/evm's and @x402/svm's exact server schemes, @x402/core's
// HTTPFacilitatorClient) in front of the real facilitator in `wrangler dev` on anvil and the local Solana
// RPC, paid by `createUnifiedClient`. Checked: N paid requests sign one permit and, after the sweeper's
// pass, settle as one batch (the permit, then one transferFrom of the sum); cap exhausted → a new permit
// and a retry, served (and refused with `permit_conflict` while the old permit's nonce is unused); the
// permit cache honours the deadline; `settling_in_progress` is waited out with the same permit; the client
// refuses requirements it must not sign (another spender than its facilitator's, a cap above `maxCap`);
// a viem wallet client signs; exact EIP-3009, exact Solana, exact Permit2 and the standard Permit2 `upto`
// (another resource server) paid by the same client; the upto server scheme behind @x402/hono too.
//
// Run: bash scripts/build-pkg.sh sdk && node --test tests/sdk/unified-client.test.mjs   (needs build/index_bg.wasm)

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import { address } from '@solana/kit';
import { findAssociatedTokenPda, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader, HTTPFacilitatorClient } from '@x402/core/http';
import { ExactEvmScheme as ExactEvmServerScheme } from '@x402/evm/exact/server';
import { UptoEvmScheme as UptoPermit2ServerScheme } from '@x402/evm/upto/server';
import { paymentMiddleware, x402ResourceServer } from '@x402/express';
import { paymentMiddleware as honoPaymentMiddleware } from '@x402/hono';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { toClientSvmSigner } from '@x402/svm';
import { ExactSvmScheme as ExactSvmServerScheme } from '@x402/svm/exact/server';
import express from 'express';
import { createWalletClient, erc20Abi, http, maxUint256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

import { createUnifiedClient, paymentFailureReason } from '@x402-edge/sdk/client';
import { UptoEvmClientScheme, UptoEvmServerScheme } from '@x402-edge/sdk/upto';

import { balanceOf, clients, rpc } from '../../scripts/lib/chain.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';

const CHAIN_ID = 84532;
const NETWORK = `eip155:${CHAIN_ID}`;
const DOMAIN = { name: 'USD Coin', version: '2' };
const PERMIT = '0xd505accf';
const TRANSFER_FROM = '0x23b872dd';
const MIN = 60_000;
const TIMEOUT = 60_000;

let stack, token, svm, server, resource, server2, permit2Resource, server3, honoResource;
let payees; // fresh EVM recipients per route

before(
  async () => {
    // A batch whose receipt does not come within 3 s stays `settling` (the settling_in_progress test).
    const env = { EVM_RECEIPT_TIMEOUT_SECONDS: '3' };
    stack = await startStack({ local: true, localSvm: true, localStarknet: false, chainPort: 0, workerPort: 0, chainId: CHAIN_ID, env });
    token = stack.token.address;
    svm = stack.svm;
    payees = { metered: freshAddress(), small: freshAddress(), premium: freshAddress(), permit2: freshAddress(), standardUpto: freshAddress(), hono: freshAddress() };
    resource = await startResourceServer();
    permit2Resource = await startPermit2ResourceServer();
    honoResource = await startHonoResourceServer();
  },
  { timeout: 150_000 },
);

after(async () => {
  for (const s of [server, server2, server3]) {
    s?.closeAllConnections?.();
    if (s) await new Promise((resolve) => s.close(resolve));
  }
  await stack?.stop();
});

/** `GET /metered` (upto, 7 a request, cap 100000), `/small` (upto, 300, cap 1000), `/premium` (exact EVM), `/sol` (exact Solana). */
function startResourceServer() {
  const facilitator = new HTTPFacilitatorClient({ url: stack.facilitatorUrl, timeoutMs: TIMEOUT });
  const resourceServer = new x402ResourceServer(facilitator)
    .register(NETWORK, new UptoEvmServerScheme())
    .register(NETWORK, new ExactEvmServerScheme())
    .register(svm.caip2, new ExactSvmServerScheme({ rpcUrl: svm.rpcUrl }));
  const route = (accepts) => ({ accepts: { maxTimeoutSeconds: 3600, ...accepts }, description: 'sdk e2e', mimeType: 'application/json' });
  const evmPrice = (amount) => ({ amount: String(amount), asset: token, extra: DOMAIN });
  const routes = {
    'GET /metered': route({ scheme: 'upto', network: NETWORK, payTo: payees.metered, price: evmPrice(7), extra: { maxAmountRequired: '100000' } }),
    'GET /small': route({ scheme: 'upto', network: NETWORK, payTo: payees.small, price: evmPrice(300), extra: { maxAmountRequired: '1000' } }),
    'GET /premium': route({ scheme: 'exact', network: NETWORK, payTo: payees.premium, price: evmPrice(1000), maxTimeoutSeconds: 300 }),
    'GET /sol': route({ scheme: 'exact', network: svm.caip2, payTo: svm.payers[1].address, price: { amount: '1000', asset: svm.mint }, maxTimeoutSeconds: 300 }),
  };
  const app = express();
  app.use(paymentMiddleware(routes, resourceServer));
  for (const path of Object.keys(routes).map((r) => r.split(' ')[1])) app.get(path, (_req, res) => res.json({ content: path }));
  server = createServer(app).listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => `http://127.0.0.1:${server.address().port}`);
}

/** Another resource server (one scheme per network and name): `GET /exact-permit2` and the standard Permit2 `GET /upto-permit2`. */
function startPermit2ResourceServer() {
  const facilitator = new HTTPFacilitatorClient({ url: stack.facilitatorUrl, timeoutMs: TIMEOUT });
  const resourceServer = new x402ResourceServer(facilitator)
    .register(NETWORK, new ExactEvmServerScheme())
    .register(NETWORK, new UptoPermit2ServerScheme());
  const price = (amount, extra = {}) => ({ amount: String(amount), asset: token, extra: { ...DOMAIN, ...extra } });
  const routes = {
    'GET /exact-permit2': { accepts: { scheme: 'exact', network: NETWORK, payTo: payees.permit2, price: price(2000, { assetTransferMethod: 'permit2' }), maxTimeoutSeconds: 300 } },
    'GET /upto-permit2': { accepts: { scheme: 'upto', network: NETWORK, payTo: payees.standardUpto, price: price(3000), maxTimeoutSeconds: 300 } },
  };
  const app = express();
  app.use(paymentMiddleware(routes, resourceServer));
  for (const path of Object.keys(routes).map((r) => r.split(' ')[1])) app.get(path, (_req, res) => res.json({ content: path }));
  server2 = createServer(app).listen(0, '127.0.0.1');
  return once(server2, 'listening').then(() => `http://127.0.0.1:${server2.address().port}`);
}

/** @x402/hono: `GET /metered` (upto, 11 a request). */
function startHonoResourceServer() {
  const facilitator = new HTTPFacilitatorClient({ url: stack.facilitatorUrl, timeoutMs: TIMEOUT });
  const resourceServer = new x402ResourceServer(facilitator).register(NETWORK, new UptoEvmServerScheme({ cap: 5000n }));
  const price = { amount: '11', asset: token, extra: DOMAIN };
  const app = new Hono();
  app.use(honoPaymentMiddleware({ 'GET /metered': { accepts: { scheme: 'upto', network: NETWORK, payTo: payees.hono, price, maxTimeoutSeconds: 3600 } } }, resourceServer));
  app.get('/metered', (c) => c.json({ content: '/metered' }));
  server3 = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  return (server3.listening ? Promise.resolve() : once(server3, 'listening')).then(() => `http://127.0.0.1:${server3.address().port}`);
}

function freshAddress() {
  return `0x${[...crypto.getRandomValues(new Uint8Array(20))].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** A viem account whose signTypedData calls are counted. */
function countingSigner(index) {
  const account = privateKeyToAccount(stack.accounts[index].privateKey);
  const signer = {
    address: account.address,
    signatures: 0,
    signTypedData: (message) => {
      signer.signatures += 1;
      return account.signTypedData(message);
    },
  };
  return signer;
}

function unified(signer, upto = {}) {
  return createUnifiedClient({
    evm: signer,
    svm: toClientSvmSigner(svm.payers[0].signer),
    rpcUrls: { [NETWORK]: stack.rpcUrl, [svm.caip2]: svm.rpcUrl },
    upto: { facilitatorUrl: stack.facilitatorUrl, ...upto },
    spendControls: { allowedAssets: true },
  });
}

const balance = (owner) => balanceOf({ rpcUrl: stack.rpcUrl, token, owner });
const blockNumber = async () => Number(await rpc(stack.rpcUrl, 'eth_blockNumber'));

/** Fires the facilitator's cron handler (the sweeper) as of `timeMs`. */
async function cron(timeMs) {
  const res = await fetch(`${stack.facilitatorUrl}/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${Math.round(timeMs)}`);
  assert.equal(res.status, 200, await res.text());
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

/** Pays `path` (of `base`) and expects it served: the receipt of PAYMENT-RESPONSE. */
async function paid(client, path, base = resource) {
  const res = await client.fetch(`${base}${path}`, { signal: AbortSignal.timeout(TIMEOUT) });
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${res.status} ${await reasonOf(res)} ${text}`);
  assert.deepEqual(JSON.parse(text), { content: path });
  const receipt = decodePaymentResponseHeader(res.headers.get('payment-response'));
  assert.equal(receipt.success, true, JSON.stringify(receipt));
  return receipt;
}

async function session(id) {
  return (await fetch(`${stack.facilitatorUrl}/upto/sessions/${id}`)).json();
}

async function reasonOf(res) {
  return paymentFailureReason(res).catch(() => undefined);
}

test('the unpaid 402 offers upto with the cap, the domain and the facilitator as spender', async () => {
  const res = await fetch(`${resource}/metered`);
  assert.equal(res.status, 402);
  const [accept] = decodePaymentRequiredHeader(res.headers.get('payment-required')).accepts;
  assert.equal(accept.scheme, 'upto');
  assert.equal(accept.amount, '7');
  assert.deepEqual(accept.extra, { ...DOMAIN, maxAmountRequired: '100000', facilitatorAddress: stack.facilitatorAddress });
});

test('5 paid requests sign one permit; the sweeper settles their sum in one batch: the permit and one transferFrom', { timeout: 120_000 }, async () => {
  const signer = countingSigner(1);
  const client = unified(signer);
  for (let i = 0; i < 5; i++) {
    const receipt = await paid(client, '/metered');
    assert.equal(receipt.transaction, '', 'captured, not settled');
  }
  assert.equal(signer.signatures, 1, 'one permit for 5 payments');
  assert.equal(client.upto.permitsSigned, 1);
  assert.equal(await balance(payees.metered), 0n, 'nothing moved before the sweeper');

  const from = (await blockNumber()) + 1;
  await cron(Date.now() + 2 * MIN + 1000);
  assert.deepEqual(await facilitatorCalls(from), [PERMIT, TRANSFER_FROM], 'one batch');
  assert.equal(await balance(payees.metered), 35n, 'exactly the sum of the 5 payments');
});

test('5 concurrent first requests share one permit', { timeout: 60_000 }, async () => {
  const signer = countingSigner(5);
  const client = unified(signer);
  const receipts = await Promise.all(Array.from({ length: 5 }, () => paid(client, '/metered')));
  assert.equal(signer.signatures, 1);
  assert.equal(new Set(receipts.map((r) => r.extensions.upto.sessionId)).size, 1, 'one session');
  // What the session then holds is the facilitator's business: concurrent first captures of a new permit
  // sometimes all answer `pending: 7` and the session keeps 7 (captures lost; reported to issue 15's lead,
  // reproduced with 5 concurrent /settle of one new permit, without this SDK).
  assert.ok(receipts.every((r) => r.success && r.transaction === ''));
});

test('cap exhausted: the client signs a new permit and retries once, served, once the old permit is settled', { timeout: 120_000 }, async () => {
  const signer = countingSigner(2);
  const client = unified(signer);
  for (let i = 0; i < 3; i++) await paid(client, '/small');
  await cron(Date.now()); // 900 of 1000: the cap threshold settles the batch (the permit's nonce is used)
  assert.equal(await balance(payees.small), 900n);
  assert.equal(signer.signatures, 1);

  await paid(client, '/small'); // 900 + 300 > 1000: cap_exhausted, then the new permit pays
  assert.equal(signer.signatures, 2, 'cap_exhausted: a new permit');
  await cron(Date.now() + 2 * MIN + 1000);
  assert.equal(await balance(payees.small), 1200n);
});

test('cap exhausted while the old permit is unused: one new permit, refused 402 permit_conflict, nothing captured', { timeout: 120_000 }, async () => {
  const signer = countingSigner(3);
  const client = unified(signer);
  let receipt;
  for (let i = 0; i < 3; i++) receipt = await paid(client, '/small');
  const { sessionId } = receipt.extensions.upto;
  const res = await client.fetch(`${resource}/small`);
  assert.equal(res.status, 402);
  assert.equal(await paymentFailureReason(res), 'permit_conflict');
  assert.equal(signer.signatures, 2, 'one re-sign, no loop');
  const res2 = await client.fetch(`${resource}/small`);
  assert.equal(res2.status, 402, 'the re-signed permit is cached; the facilitator still refuses it');
  assert.equal(await paymentFailureReason(res2), 'permit_conflict');
  assert.equal(signer.signatures, 2);
  assert.equal((await session(sessionId)).pending, '900', 'the refused requests captured nothing');
});

test('settling_in_progress: the client backs off and sends the same payment again until the batch is done', { timeout: 120_000 }, async () => {
  const signer = countingSigner(7);
  let sends = 0;
  const client = createUnifiedClient({
    evm: signer,
    rpcUrls: { [NETWORK]: stack.rpcUrl },
    upto: { facilitatorUrl: stack.facilitatorUrl },
    spendControls: { allowedAssets: true },
    fetch: (input, init) => {
      sends += 1;
      return fetch(input, init);
    },
  });
  const { sessionId } = (await paid(client, '/metered')).extensions.upto;
  await cron(Date.now() + 2 * MIN + 1000); // the first batch: the permit is used, only transferFrom is left to send
  assert.equal((await session(sessionId)).settled, '7');
  await paid(client, '/metered');
  const sweptAt = Date.now() + 2 * MIN + 1000;
  await rpc(stack.rpcUrl, 'evm_setAutomine', [false]);
  let paying;
  try {
    await cron(sweptAt); // broadcasts the batch; its receipt does not come within 3 s: the session stays settling
    assert.equal((await session(sessionId)).status, 'settling');
    sends = 0;
    paying = client.fetch(`${resource}/metered`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.ok(sends >= 3, `the payment was refused and sent again (${sends} requests)`);
  } finally {
    await rpc(stack.rpcUrl, 'evm_mine');
    await rpc(stack.rpcUrl, 'evm_setAutomine', [true]);
  }
  await cron(sweptAt + 5 * MIN); // reconciles the batch from its receipt: the session is open again
  const res = await paying;
  assert.equal(res.status, 200, `${res.status} ${await reasonOf(res)}`);
  assert.equal(signer.signatures, 1, 'the same permit throughout');
  const state = await session(sessionId);
  assert.deepEqual([state.settled, state.pending], ['14', '7']);
});

test('the permit cache honours the deadline: reused until deadlineBufferSeconds before it, then a new permit', { timeout: 120_000 }, async () => {
  const signer = countingSigner(4);
  let clock = Date.now();
  const client = unified(signer, { permitSeconds: 300, deadlineBufferSeconds: 120, now: () => clock });
  const start = clock;
  await paid(client, '/metered');
  assert.equal(signer.signatures, 1);
  clock = start + (300 - 121) * 1000;
  await paid(client, '/metered');
  assert.equal(signer.signatures, 1, '121 s before the deadline: the cached permit');

  // The facilitator settles and closes the session 60 s before the deadline (its nonce is then used).
  const deadlineMs = (Math.floor(start / 1000) + 300) * 1000;
  await cron(deadlineMs - MIN);
  clock = start + (300 - 119) * 1000;
  await paid(client, '/metered');
  assert.equal(signer.signatures, 2, '119 s before the deadline: a new permit');
});

test('forceNewPermit: the next payment signs anew', { timeout: 60_000 }, async () => {
  const scheme = new UptoEvmClientScheme({ signer: countingSigner(5), rpcUrl: stack.rpcUrl, facilitatorUrl: stack.facilitatorUrl }); // signs, never pays
  const res = await fetch(`${resource}/metered`);
  const [accept] = decodePaymentRequiredHeader(res.headers.get('payment-required')).accepts;
  const first = await scheme.createPaymentPayload(2, accept);
  assert.deepEqual(await scheme.createPaymentPayload(2, accept), first);
  scheme.forceNewPermit();
  const second = await scheme.createPaymentPayload(2, accept);
  assert.equal(scheme.permitsSigned, 2);
  assert.notEqual(second.payload.signature, first.payload.signature);
  assert.ok(BigInt(second.payload.authorization.validBefore) > BigInt(first.payload.authorization.validBefore));

  // A resource server naming another spender than the trusted facilitator is refused before signing.
  const evil = { ...accept, extra: { ...accept.extra, facilitatorAddress: freshAddress() } };
  await assert.rejects(scheme.createPaymentPayload(2, evil), /names spender .* the facilitator .*: refused/);
  // Requirements it cannot sign for, refused before signing.
  const capped = new UptoEvmClientScheme({ signer: countingSigner(5), rpcUrl: stack.rpcUrl, maxCap: '99999' });
  await assert.rejects(capped.createPaymentPayload(2, accept), /asks a cap of 100000, above this client's maxCap 99999/);
  const { name: _name, ...noDomain } = accept.extra;
  await assert.rejects(scheme.createPaymentPayload(2, { ...accept, extra: noDomain }), /EIP-712 domain/);
  await assert.rejects(scheme.createPaymentPayload(2, { ...accept, amount: '100001' }), /the cap 100000 is below the amount 100001/);
  await assert.rejects(scheme.createPaymentPayload(2, { ...accept, network: 'solana:abc' }), /not an eip155 network/);
  assert.equal(scheme.permitsSigned, 2);
  assert.equal(capped.permitsSigned, 0);
});

test('a viem wallet client as the EVM signer pays upto and exact', { timeout: 60_000 }, async () => {
  const account = privateKeyToAccount(stack.accounts[0].privateKey);
  const wallet = createWalletClient({ account, transport: http(stack.rpcUrl) });
  const client = unified(wallet);
  const receipt = await paid(client, '/small');
  assert.equal(receipt.payer, account.address);
  assert.equal(receipt.extensions.upto.pending, '300');
  const before = await balance(payees.premium);
  assert.match((await paid(client, '/premium')).transaction, /^0x[0-9a-f]{64}$/);
  assert.equal((await balance(payees.premium)) - before, 1000n);
});

test('exact EIP-3009 and exact Solana paid by the same unified client', { timeout: 120_000 }, async () => {
  const signer = countingSigner(6);
  const client = unified(signer);
  const premiumBefore = await balance(payees.premium);
  const receipt = await paid(client, '/premium');
  assert.match(receipt.transaction, /^0x[0-9a-f]{64}$/);
  assert.equal((await balance(payees.premium)) - premiumBefore, 1000n);
  assert.equal(client.upto.permitsSigned, 0, 'exact signs no permit');

  const ata = async (owner) => (await findAssociatedTokenPda({ owner: address(owner), mint: address(svm.mint), tokenProgram: TOKEN_PROGRAM_ADDRESS }))[0];
  const splBalance = async (owner) => BigInt((await rpc(svm.rpcUrl, 'getTokenAccountBalance', [await ata(owner)])).value.amount);
  const before = await splBalance(svm.payers[1].address);
  const solReceipt = await paid(client, '/sol');
  assert.match(solReceipt.transaction, /^[1-9A-HJ-NP-Za-km-z]{64,88}$/);
  assert.equal((await splBalance(svm.payers[1].address)) - before, 1000n);
});

test('exact Permit2 and the standard Permit2 upto paid by the same unified client (a payer that approved Permit2)', { timeout: 120_000 }, async () => {
  const { walletClient, publicClient } = clients({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID, privateKey: stack.accounts[8].privateKey });
  const hash = await walletClient.writeContract({ address: token, abi: erc20Abi, functionName: 'approve', args: [stack.permit2.permit2, maxUint256] });
  assert.equal((await publicClient.waitForTransactionReceipt({ hash })).status, 'success');
  const signer = countingSigner(8);
  const client = unified(signer);

  const exact = await paid(client, '/exact-permit2', permit2Resource);
  assert.match(exact.transaction, /^0x[0-9a-f]{64}$/);
  assert.equal(await balance(payees.permit2), 2000n);

  const upto = await paid(client, '/upto-permit2', permit2Resource);
  assert.match(upto.transaction, /^0x[0-9a-f]{64}$/, 'the standard upto settles at once');
  const tx = await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [upto.transaction]);
  assert.equal(tx.to.toLowerCase(), stack.permit2.uptoProxy.toLowerCase());
  assert.equal(await balance(payees.standardUpto), 3000n);
  assert.equal(client.upto.permitsSigned, 0, 'no session permit: the Permit2 client signed');
  assert.equal(signer.signatures, 2);
});

test('tampered session payments on an upto route: 402 invalid_permit_signature / spender_not_facilitator, nothing captured', { timeout: 60_000 }, async () => {
  const scheme = new UptoEvmClientScheme({ signer: countingSigner(6), rpcUrl: stack.rpcUrl, facilitatorUrl: stack.facilitatorUrl });
  const unpaid = await fetch(`${resource}/metered`);
  const required = decodePaymentRequiredHeader(unpaid.headers.get('payment-required'));
  const [accept] = required.accepts;
  const { payload } = await scheme.createPaymentPayload(2, accept);
  const send = (body) =>
    fetch(`${resource}/metered`, { headers: { 'PAYMENT-SIGNATURE': Buffer.from(JSON.stringify(body)).toString('base64') } });
  const base = { x402Version: 2, resource: required.resource, accepted: accept };
  const tampered = [
    { ...payload, authorization: { ...payload.authorization, value: '100001' } }, // a raised cap
    { ...payload, authorization: { ...payload.authorization, from: freshAddress() } }, // another owner
    { ...payload, authorization: { ...payload.authorization, to: freshAddress() } }, // another spender
  ];
  const refusals = [];
  for (const forged of tampered) {
    const res = await send({ ...base, payload: forged });
    refusals.push([res.status, await paymentFailureReason(res)]);
  }
  assert.deepEqual(refusals, [
    [402, 'invalid_permit_signature'],
    [402, 'invalid_permit_signature'],
    [402, 'spender_not_facilitator'],
  ]);
  const res = await send({ ...base, payload });
  assert.equal(res.status, 200);
  const receipt = decodePaymentResponseHeader(res.headers.get('payment-response'));
  assert.equal(receipt.extensions.upto.pending, '7', 'only the genuine payment was captured');
});

test('@x402/hono with UptoEvmServerScheme: 3 paid requests, one permit (a newer one superseding the payer\'s settled session), one batch', { timeout: 120_000 }, async () => {
  const signer = countingSigner(1); // its first session (the 5 requests above) is settled: its permit's nonce is used
  const client = unified(signer);
  let receipt;
  for (let i = 0; i < 3; i++) receipt = await paid(client, '/metered', honoResource);
  assert.equal(signer.signatures, 1);
  assert.deepEqual([receipt.extensions.upto.cap, receipt.extensions.upto.pending], ['5000', '33']);
  await cron(Date.now() + 2 * MIN + 1000);
  assert.equal(await balance(payees.hono), 33n);
});
