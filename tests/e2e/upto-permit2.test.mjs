// The standard `upto` end to end through `wrangler dev`: the official @x402/evm 2.27 `UptoEvmScheme` client
// (Permit2 through the x402 upto proxy) pays an @x402/express 2.27 resource server (with @x402/evm's upto
// server scheme) whose route charges what its handler decides (`setSettlementOverrides`, atomic units or a
// percentage of the cap). Checked: /supported names the facilitator the client signs for; the charge (not the
// cap) moves, in one transaction sent by that facilitator to the upto proxy; the PAYMENT-RESPONSE and the
// facilitator's /settle answer carry `amount`; a zero charge is served with no transaction and nothing moved,
// once; a charge above the cap is refused with nothing moved; a replayed payment is refused at /verify.
//
// Run: node --test --test-concurrency=1 tests/e2e/upto-permit2.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import { x402Client, x402HTTPClient } from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader, HTTPFacilitatorClient } from '@x402/core/http';
import { toClientEvmSigner } from '@x402/evm';
import { UptoEvmScheme } from '@x402/evm/upto/client';
import { UptoEvmScheme as UptoEvmServerScheme } from '@x402/evm/upto/server';
import { paymentMiddleware, setSettlementOverrides, x402ResourceServer } from '@x402/express';
import express from 'express';
import { erc20Abi, maxUint256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

import { balanceOf, clients, rpc } from '../../scripts/lib/chain.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';

const CHAIN_ID = 84532;
const NETWORK = `eip155:${CHAIN_ID}`;
const PERMIT2 = '0x000000000022D473030F116dDEE9F6B43aC78BA3';
const UPTO_PROXY = '0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002';
/** The cap the route asks the payer to sign for (6 decimals: 0.05 USDC). */
const CAP = 50_000n;
const REQUEST_TIMEOUT_MS = 60_000;

let stack;
let token;
let payer, payee;
let server;
let resource;

/** Every /verify and /settle answer of the facilitator, as the middleware received it. */
const answers = [];
const realFetch = globalThis.fetch;

async function recordingFetch(input, init) {
  const res = await realFetch(input, init);
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const path = stack && url.startsWith(stack.facilitatorUrl) ? new URL(url).pathname : null;
  if (path === '/verify' || path === '/settle') answers.push({ path, body: await res.clone().json().catch(() => null) });
  return res;
}

/** `GET /metered?charge=<c>`: the handler charges `c` (atomic units, `NN%` of the cap), or the cap. */
function startResourceServer() {
  const facilitator = new HTTPFacilitatorClient({ url: stack.facilitatorUrl, timeoutMs: REQUEST_TIMEOUT_MS });
  const resourceServer = new x402ResourceServer(facilitator).register(NETWORK, new UptoEvmServerScheme());
  const price = { amount: CAP.toString(), asset: token, extra: { name: 'USD Coin', version: '2' } };
  const routes = {
    'GET /metered': {
      accepts: { scheme: 'upto', network: NETWORK, payTo: payee.address, price, maxTimeoutSeconds: 300 },
      description: 'metered e2e content',
      mimeType: 'application/json',
    },
  };
  const app = express();
  app.use(paymentMiddleware(routes, resourceServer));
  app.get('/metered', (req, res) => {
    if (req.query.charge !== undefined) setSettlementOverrides(res, { amount: String(req.query.charge) });
    res.json({ content: 'metered', charge: req.query.charge ?? null });
  });
  server = createServer(app).listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => `http://127.0.0.1:${server.address().port}`);
}

before(
  async () => {
    stack = await startStack({ local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0, chainId: CHAIN_ID });
    token = stack.token.address;
    [payer, payee] = [1, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
    // The payer's allowance to Permit2 (the bare Permit2 payload needs it on chain).
    const { walletClient, publicClient } = clients({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID, privateKey: stack.accounts[1].privateKey });
    const hash = await walletClient.writeContract({ address: token, abi: erc20Abi, functionName: 'approve', args: [PERMIT2, maxUint256] });
    assert.equal((await publicClient.waitForTransactionReceipt({ hash })).status, 'success');
    globalThis.fetch = recordingFetch;
    resource = await startResourceServer();
  },
  { timeout: 150_000 },
);

after(async () => {
  globalThis.fetch = realFetch;
  server?.closeAllConnections?.();
  if (server) await new Promise((resolve) => server.close(resolve));
  await stack?.stop();
});

function httpClient() {
  return new x402HTTPClient(
    new x402Client()
      .register('eip155:*', new UptoEvmScheme(toClientEvmSigner(payer)))
      .setSpendControls({ allowedAssets: [{ network: NETWORK, asset: token }] }),
  );
}

async function get(url, headers = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** The 402 of `url`, then the official client's payment header for it: `{payload, headers}`. */
async function payFor(url) {
  const client = httpClient();
  const unpaid = await get(url);
  assert.equal(unpaid.status, 402, unpaid.text);
  const required = client.getPaymentRequiredResponse((name) => unpaid.headers.get(name), unpaid.json);
  const payload = await client.createPaymentPayload(required);
  return { payload, headers: client.encodePaymentSignatureHeader(payload) };
}

/** Runs `fn` and returns its result with the facilitator's answers meanwhile. */
async function recorded(fn) {
  const start = answers.length;
  const result = await fn();
  return { result, answers: answers.slice(start) };
}

const bal = (owner) => balanceOf({ rpcUrl: stack.rpcUrl, token, owner });
const facilitatorNonce = async () => BigInt(await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest']));
const state = async () => ({ payer: await bal(payer.address), payee: await bal(payee.address), nonce: await facilitatorNonce() });

function settleAnswers(recordedAnswers) {
  return recordedAnswers.filter((a) => a.path === '/settle').map((a) => a.body);
}

test('/supported: one upto kind naming the facilitator the client signs for, and both payloads', async () => {
  const supported = await (await realFetch(`${stack.facilitatorUrl}/supported`)).json();
  const upto = supported.kinds.find((k) => k.scheme === 'upto' && k.network === NETWORK);
  assert.equal(upto.extra.facilitatorAddress, stack.facilitatorAddress);
  assert.deepEqual(upto.extra.payloads, ['permit2', 'eip2612-session']);
  assert.equal(supported.signers['eip155:*'][0], stack.facilitatorAddress, 'the daydreams client still finds its spender');
  const { payload } = await payFor(`${resource}/metered`);
  const auth = payload.payload.permit2Authorization;
  assert.equal(auth.witness.facilitator, stack.facilitatorAddress);
  assert.equal(auth.spender, UPTO_PROXY);
  assert.equal(auth.permitted.amount, CAP.toString(), 'the payer signs the cap');
});

test('a charge below the cap moves exactly the charge, from the facilitator, and the receipt says how much', { timeout: 120_000 }, async () => {
  const charge = 12_345n;
  const url = `${resource}/metered?charge=${charge}`;
  const { headers } = await payFor(url);
  const before = await state();
  const { result: res, answers: seen } = await recorded(() => get(url, headers));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { content: 'metered', charge: charge.toString() });
  assert.equal(res.headers.get('settlement-overrides'), null, 'the override header is not sent to the client');
  const receipt = decodePaymentResponseHeader(res.headers.get('payment-response'));
  assert.equal(receipt.success, true);
  assert.equal(receipt.amount, charge.toString());
  const [settled] = settleAnswers(seen);
  assert.equal(settled.amount, charge.toString(), 'the facilitator answers the settled amount');
  assert.equal(settled.transaction, receipt.transaction);

  const tx = await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [receipt.transaction]);
  assert.equal(tx.status, '0x1');
  assert.equal(tx.from.toLowerCase(), stack.facilitatorAddress.toLowerCase());
  assert.equal(tx.to.toLowerCase(), UPTO_PROXY.toLowerCase());
  const after = await state();
  assert.equal(after.payee - before.payee, charge);
  assert.equal(before.payer - after.payer, charge, 'the charge, not the cap');
  assert.equal(after.nonce, before.nonce + 1n, 'one transaction');

  // The same header again: refused at /verify (its Permit2 nonce is spent), nothing sent.
  const { result: replay, answers: replayed } = await recorded(() => get(url, headers));
  assert.equal(replay.status, 402, replay.text);
  assert.equal(decodePaymentRequiredHeader(replay.headers.get('payment-required')).error, 'permit2_invalid_nonce');
  assert.deepEqual(replayed.map((a) => a.path), ['/verify']);
  assert.deepEqual(await state(), after);
});

test('a percentage override charges that share of the cap', { timeout: 120_000 }, async () => {
  const url = `${resource}/metered?charge=40%25`;
  const { headers } = await payFor(url);
  const before = await state();
  const res = await get(url, headers);
  assert.equal(res.status, 200, res.text);
  const receipt = decodePaymentResponseHeader(res.headers.get('payment-response'));
  assert.equal(receipt.amount, ((CAP * 40n) / 100n).toString());
  assert.equal((await state()).payee - before.payee, (CAP * 40n) / 100n);
});

test('a zero charge is served with no transaction and nothing moved, and only once', { timeout: 120_000 }, async () => {
  const url = `${resource}/metered?charge=0`;
  const { headers } = await payFor(url);
  const before = await state();
  const { result: res, answers: seen } = await recorded(() => get(url, headers));
  assert.equal(res.status, 200, res.text);
  const receipt = decodePaymentResponseHeader(res.headers.get('payment-response'));
  assert.equal(receipt.success, true);
  assert.equal(receipt.transaction, '');
  assert.equal(receipt.amount, '0');
  assert.deepEqual(settleAnswers(seen).map((s) => [s.success, s.transaction, s.amount]), [[true, '', '0']]);
  assert.deepEqual(await state(), before, 'no transaction, no gas, no token moved');

  const again = await get(url, headers);
  assert.equal(again.status, 402, again.text);
  assert.equal(decodePaymentRequiredHeader(again.headers.get('payment-required')).error, 'permit2_invalid_nonce');
  assert.deepEqual(await state(), before);
});

test('a charge above the cap is refused and nothing moves', { timeout: 120_000 }, async () => {
  const url = `${resource}/metered?charge=${CAP + 1n}`;
  const { headers } = await payFor(url);
  const before = await state();
  const { result: res, answers: seen } = await recorded(() => get(url, headers));
  assert.equal(res.status, 402, res.text);
  const [settled] = settleAnswers(seen);
  assert.equal(settled.success, false);
  assert.equal(settled.errorReason, 'invalid_upto_evm_payload_settlement_exceeds_amount');
  assert.deepEqual(await state(), before);
});
