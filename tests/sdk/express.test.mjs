// EdgeFacilitatorClient (@x402-edge/sdk/server) inside @x402/express 2.27 on node, in front of the real
// facilitator (wrangler dev of build/) on the local anvil and Solana RPC. The client verifies in-process
// (wasm) and settles over the facilitator's URL; every request it makes to the facilitator goes through
// a recording fetch, so each test shows that local verify made no /verify call.
//
// Checked: unpaid → 402 with PAYMENT-REQUIRED; paid with the official client (the header built as
// @x402/fetch builds it) → 200 with PAYMENT-RESPONSE and the TestUSDC transfer on anvil; the same header
// again → 402 at settle (invalid_exact_evm_nonce_already_used: local verify cannot see the facilitator's
// ledger, the facilitator settles once); one header in 5 concurrent requests → one 200, one transfer, one
// transaction; a malformed, a broken, a foreign-signed (decided by the facilitator's /verify: only the chain knows
// contract wallets) and an oversized PAYMENT-SIGNATURE → 402 with the reason, no 500;
// a Solana payment verified locally and settled; with `rpcUrls` a replay is refused at verify already
// (the chain shows the EIP-3009 nonce used) and the handler does not run.
//
// Run: bash scripts/build-pkg.sh sdk && node --test tests/sdk/express.test.mjs   (needs build/index_bg.wasm)

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { EdgeFacilitatorClient } from '@x402-edge/sdk/server';
import { x402Client, x402HTTPClient } from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader, encodePaymentSignatureHeader } from '@x402/core/http';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { ExactEvmScheme as ExactEvmServerScheme } from '@x402/evm/exact/server';
import { paymentMiddleware, x402ResourceServer } from '@x402/express';
import { ExactSvmScheme, toClientSvmSigner } from '@x402/svm';
import { ExactSvmScheme as ExactSvmServerScheme } from '@x402/svm/exact/server';
import express from 'express';
import { privateKeyToAccount } from 'viem/accounts';

import { balanceOf, rpc } from '../../scripts/lib/chain.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';

const CHAIN_ID = 84532;
const NETWORK = `eip155:${CHAIN_ID}`;
const DOMAIN = { name: 'USD Coin', version: '2' };
const AMOUNT = 10_000n;
const CONTENT = { content: 'the paid content' };
const REQUEST_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = 120_000;

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
let token;
let payer, payee;
let svm, svmPayer, svmPayee;
const servers = [];
/** Base URLs: `local` (no rpcUrls), `chain` (rpcUrls for the anvil chain). */
const resource = {};
/** How often each route's handler ran. */
const handlerRuns = { local: 0, chain: 0, solana: 0 };

// ---------------------------------------------------------------------------------------------------
// Every request the clients make to the facilitator

/** @type {{path: string, status: number, body: any}[]} */
const facilitatorCalls = [];

/** The fetch of resource server `server`'s client: records its facilitator calls as `server`'s. */
const recordingFetch = (server) => async (input, init) => {
  const res = await fetch(input, init);
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (!url.startsWith(stack.facilitatorUrl)) return res; // local verify's chain reads
  let body = null;
  try {
    body = JSON.parse(await res.clone().text());
  } catch {
    /* not JSON */
  }
  facilitatorCalls.push({ server, path: new URL(url).pathname, status: res.status, body });
  return res;
};

/** Runs `fn`: its result and the facilitator calls resource server `server` made meanwhile. */
async function recorded(fn, server = 'local') {
  const start = facilitatorCalls.length;
  const result = await fn();
  return { result, calls: facilitatorCalls.slice(start).filter((c) => c.server === server) };
}

const paths = (calls) => calls.map((c) => c.path);

// ---------------------------------------------------------------------------------------------------
// The resource servers

function route(network, payTo, asset, extra) {
  const price = { amount: AMOUNT.toString(), asset, ...(extra ? { extra } : {}) };
  return { accepts: { scheme: 'exact', network, payTo, price, maxTimeoutSeconds: 300 }, description: 'sdk e2e', mimeType: 'application/json' };
}

async function startExpress(name, clientOptions) {
  const facilitator = new EdgeFacilitatorClient({ url: stack.facilitatorUrl, fetch: recordingFetch(name), ...clientOptions });
  const server = new x402ResourceServer(facilitator)
    .register(NETWORK, new ExactEvmServerScheme())
    .register(svm.caip2, new ExactSvmServerScheme({ rpcUrl: svm.rpcUrl }));
  const app = express();
  app.use(
    paymentMiddleware(
      {
        'GET /paid': route(NETWORK, payee.address, token, DOMAIN),
        'GET /paid-solana': route(svm.caip2, svmPayee.address, svm.mint),
      },
      server,
    ),
  );
  app.get('/paid', (_req, res) => {
    handlerRuns[name]++;
    res.json(CONTENT);
  });
  app.get('/paid-solana', (_req, res) => {
    handlerRuns.solana++;
    res.json(CONTENT);
  });
  // Headers up to 256 KiB reach the middleware (node's default stops at 16 KiB with a 431).
  const http = createServer({ maxHeaderSize: 256 * 1024 }, app).listen(0, '127.0.0.1');
  await once(http, 'listening');
  servers.push(http);
  return `http://127.0.0.1:${http.address().port}`;
}

before(
  async () => {
    stack = await startStack({ local: true, localSvm: true, localStarknet: false, chainPort: 0, workerPort: 0, chainId: CHAIN_ID });
    token = stack.token.address;
    [payer, payee] = [1, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
    svm = stack.svm;
    [svmPayer, svmPayee] = svm.payers.map((w) => w.signer);
    resource.local = await startExpress('local', {});
    resource.chain = await startExpress('chain', { rpcUrls: { 'base-sepolia': stack.rpcUrl } });
  },
  { timeout: 150_000 },
);

after(async () => {
  for (const server of servers) {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  }
  await stack?.stop();
});

// ---------------------------------------------------------------------------------------------------
// Client side and assertions

function evmClient() {
  return new x402HTTPClient(
    new x402Client().register('eip155:*', new ExactEvmScheme(toClientEvmSigner(payer))).setSpendControls({ allowedAssets: [{ network: NETWORK, asset: token }] }),
  );
}

function svmClient() {
  return new x402HTTPClient(
    new x402Client()
      .register('solana:*', new ExactSvmScheme(toClientSvmSigner(svmPayer), { rpcUrl: svm.rpcUrl }))
      .setSpendControls({ allowedAssets: [{ network: svm.caip2, asset: svm.mint }] }),
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

/** The 402 of an unpaid request, then one payment for it: `{paymentRequired, payload, headers}`. */
async function payFor(url, httpClient) {
  const unpaid = await get(url);
  assert.equal(unpaid.status, 402, unpaid.text);
  const paymentRequired = httpClient.getPaymentRequiredResponse((name) => unpaid.headers.get(name), unpaid.json);
  const payload = await httpClient.createPaymentPayload(paymentRequired);
  return { paymentRequired, payload, headers: httpClient.encodePaymentSignatureHeader(payload) };
}

/** Why a paid request was refused: `{stage, reason}` (PAYMENT-RESPONSE for settle, PAYMENT-REQUIRED for verify). */
function refusalOf(response) {
  const settled = response.headers.get('payment-response');
  if (settled) return { stage: 'settle', reason: decodePaymentResponseHeader(settled).errorReason };
  const required = response.headers.get('payment-required');
  if (required) return { stage: 'verify', reason: decodePaymentRequiredHeader(required).error };
  return { stage: 'none', reason: response.text };
}

const bal = (owner) => balanceOf({ rpcUrl: stack.rpcUrl, token, owner });
const facilitatorNonce = async () => BigInt(await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest']));
const evmState = async () => ({ payer: await bal(payer.address), payee: await bal(payee.address), nonce: await facilitatorNonce() });

async function assertSettlementTx(hash) {
  const receipt = await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [hash]);
  assert.equal(receipt?.status, '0x1', `${hash} is mined and succeeded`);
  assert.equal(receipt.from.toLowerCase(), stack.facilitatorAddress.toLowerCase(), 'the facilitator sent it');
  assert.equal(receipt.to.toLowerCase(), token.toLowerCase(), 'it calls the token');
}

/** A served response: 200, the content, a successful PAYMENT-RESPONSE; returns the settle result. */
function assertServed(response) {
  assert.equal(response.status, 200, `${response.status} ${response.text} ${JSON.stringify(refusalOf(response))}`);
  assert.deepEqual(response.json, CONTENT);
  const receipt = decodePaymentResponseHeader(response.headers.get('payment-response'));
  assert.equal(receipt.success, true);
  return receipt;
}

/** A payment header whose JSON is `payload` (as the client encodes one). */
const header = (payload) => ({ 'PAYMENT-SIGNATURE': encodePaymentSignatureHeader(payload) });

// ---------------------------------------------------------------------------------------------------

describe('EdgeFacilitatorClient in @x402/express: local verify, settle at the facilitator', () => {
  test('unpaid → 402 with PAYMENT-REQUIRED; paid → 200, PAYMENT-RESPONSE, one transfer; no /verify call', { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = `${resource.local}/paid`;
    const unpaid = await get(url);
    assert.equal(unpaid.status, 402);
    const required = decodePaymentRequiredHeader(unpaid.headers.get('payment-required'));
    assert.equal(required.x402Version, 2);
    assert.equal(required.error, 'Payment required');
    assert.deepEqual(
      required.accepts.map((a) => [a.scheme, a.network, a.asset, a.amount, a.payTo]),
      [['exact', NETWORK, token, AMOUNT.toString(), payee.address]],
    );

    const { headers } = await payFor(url, evmClient());
    const before = await evmState();
    const { result: paid, calls } = await recorded(() => get(url, headers));
    const receipt = assertServed(paid);
    assert.equal(receipt.network, NETWORK);
    assert.equal(receipt.payer, payer.address);
    await assertSettlementTx(receipt.transaction);
    const settled = await evmState();
    assert.equal(settled.payee - before.payee, AMOUNT, 'payTo received the amount');
    assert.equal(before.payer - settled.payer, AMOUNT, 'the payer paid it');
    assert.equal(settled.nonce - before.nonce, 1n, 'the facilitator sent one transaction');
    assert.deepEqual(paths(calls), ['/settle'], 'verify ran in-process: the only facilitator call is /settle');

    // The same header again: local verify passes it (it cannot see the ledger); the facilitator refuses
    // the settle, so the middleware answers 402 and withholds the handler's response.
    const runs = handlerRuns.local;
    const { result: replay, calls: replayCalls } = await recorded(() => get(url, headers));
    assert.equal(replay.status, 402, replay.text);
    assert.deepEqual(refusalOf(replay), { stage: 'settle', reason: 'invalid_exact_evm_nonce_already_used' });
    assert.notDeepEqual(replay.json, CONTENT, 'the content is not released');
    assert.equal(handlerRuns.local, runs + 1, 'the handler ran (the middleware settles after it), its response was withheld');
    assert.deepEqual(paths(replayCalls), ['/settle']);
    assert.equal(replayCalls[0].body.errorReason, 'invalid_exact_evm_nonce_already_used');
    assert.deepEqual(await evmState(), settled, 'the replay moved nothing and sent nothing');
  });

  // A duplicate that reaches the facilitator while the first settle runs is `duplicate_settlement`; one that
  // arrives after it concluded is a replay of a used nonce. Which one each gets is timing, both are refusals.
  test('one payment header in 5 concurrent requests: one 200, one transfer, one transaction; the rest 402 refused as duplicates', { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = `${resource.local}/paid`;
    const { headers } = await payFor(url, evmClient());
    const before = await evmState();
    const { result: responses, calls } = await recorded(() => Promise.all(Array.from({ length: 5 }, () => get(url, headers))));
    const served = responses.filter((r) => r.status === 200);
    const why = JSON.stringify({ responses: responses.map((r) => [r.status, refusalOf(r)]), calls }, null, 1);
    assert.equal(served.length, 1, why);
    const receipt = assertServed(served[0]);
    await assertSettlementTx(receipt.transaction);
    for (const r of responses.filter((r) => r !== served[0])) {
      assert.equal(r.status, 402, why);
      const { stage, reason } = refusalOf(r);
      assert.equal(stage, 'settle', why);
      assert.ok(['duplicate_settlement', 'invalid_exact_evm_nonce_already_used'].includes(reason), why);
    }
    const settled = await evmState();
    assert.equal(settled.payee - before.payee, AMOUNT, 'payTo received the amount once');
    assert.equal(before.payer - settled.payer, AMOUNT, 'the payer paid once');
    assert.equal(settled.nonce - before.nonce, 1n, 'one transaction');
    assert.deepEqual(paths(calls), Array(5).fill('/settle'), `no /verify call: ${why}`);
    assert.equal(calls.filter((c) => c.body?.success === true).length, 1, why);
  });

  test('malformed, broken, foreign-signed and oversized PAYMENT-SIGNATURE headers: 402 with the reason, never 500', { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = `${resource.local}/paid`;
    const { payload } = await payFor(url, evmClient());
    const cases = [
      // Not base64 JSON: the middleware sees no payment at all.
      { name: 'not base64', headers: { 'PAYMENT-SIGNATURE': '%%% not a payment %%%' }, reason: 'Payment required' },
      // The accepted requirements, but the signed part is not an EIP-3009 payload: local verify refuses it
      // as the facilitator would (400 invalid_payload, thrown as VerifyError).
      {
        name: 'broken payload',
        headers: header({ ...payload, payload: { signature: 'nope', authorization: 42 } }),
        reason: /^invalid_payload: /,
      },
      // A signature that does not recover to the payer: only the chain can tell whether the payer is a
      // contract wallet that accepts it (ERC-1271), so without rpcUrls the facilitator's /verify decides.
      {
        name: 'foreign signature',
        headers: header({ ...payload, payload: { ...payload.payload, signature: `0x${'11'.repeat(65)}` } }),
        reason: 'invalid_exact_evm_signature',
        calls: ['/verify'],
      },
      // 100 KB: over the facilitator's 64 KiB request limit, refused alike without sending it.
      {
        name: 'oversized',
        headers: header({ ...payload, payload: { ...payload.payload, padding: 'x'.repeat(100_000) } }),
        reason: 'invalid_payload: request body exceeds 65536 bytes',
      },
    ];
    const before = await evmState();
    for (const c of cases) {
      const { result: response, calls } = await recorded(() => get(url, c.headers));
      assert.equal(response.status, 402, `${c.name}: ${response.status} ${response.text}`);
      const { stage, reason } = refusalOf(response);
      assert.equal(stage, 'verify', c.name);
      if (typeof c.reason === 'string') assert.equal(reason, c.reason, c.name);
      else assert.match(reason, c.reason, c.name);
      assert.deepEqual(paths(calls), c.calls ?? [], `${c.name}: the facilitator calls`);
    }
    assert.deepEqual(await evmState(), before, 'nothing moved');
  });

  test('with rpcUrls, local verify reads the chain: a settled header is refused at verify and the handler does not run', { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = `${resource.chain}/paid`;
    const { headers } = await payFor(url, evmClient());
    const { result: paid, calls } = await recorded(() => get(url, headers), 'chain');
    await assertSettlementTx(assertServed(paid).transaction);
    assert.deepEqual(paths(calls), ['/settle']);

    const runs = handlerRuns.chain;
    const settled = await evmState();
    const { result: replay, calls: replayCalls } = await recorded(() => get(url, headers), 'chain');
    assert.equal(replay.status, 402, replay.text);
    assert.deepEqual(refusalOf(replay), { stage: 'verify', reason: 'invalid_exact_evm_nonce_already_used' });
    assert.equal(handlerRuns.chain, runs, 'the handler did not run for the replay');
    assert.deepEqual(paths(replayCalls), [], 'refused in-process (one RPC read), no facilitator call');
    assert.deepEqual(await evmState(), settled);
  });

  test('Solana: verified locally (the fee payer from /supported), settled by the facilitator', { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = `${resource.local}/paid-solana`;
    const { payload, headers } = await payFor(url, svmClient());
    const supported = await (await fetch(`${stack.facilitatorUrl}/supported`)).json();
    const feePayer = supported.kinds.find((k) => k.network === svm.caip2)?.extra?.feePayer;
    assert.equal(payload.accepted.extra.feePayer, feePayer, 'the 402 names the facilitator as fee payer');

    const { result: paid, calls } = await recorded(() => get(url, headers));
    const receipt = assertServed(paid);
    assert.equal(receipt.network, svm.caip2);
    const status = await rpc(svm.rpcUrl, 'getSignatureStatuses', [[receipt.transaction]]);
    assert.equal(status.value[0]?.err, null, 'the settled transaction landed without error');
    assert.deepEqual(paths(calls), ['/settle'], 'verified in-process');

    const { result: replay, calls: replayCalls } = await recorded(() => get(url, headers));
    assert.equal(replay.status, 402);
    assert.deepEqual(refusalOf(replay), { stage: 'settle', reason: 'duplicate_settlement' });
    assert.deepEqual(paths(replayCalls), ['/settle']);
  });
});
