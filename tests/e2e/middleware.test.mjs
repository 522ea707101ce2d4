// The official resource-server middlewares in front of the built worker: one payment header sent by many
// requests at once is served exactly once. Resource servers run in this process on loopback ports:
// @x402/express 2.27 and @x402/hono 2.27 (v2, EIP-3009 on the local anvil, and Solana through
// @x402/express with @x402/svm's server scheme), and the legacy x402-express 1.2 (v1). Each pays with the
// official client (@x402/core x402Client + x402HTTPClient, the way @x402/fetch builds the header, with
// @x402/evm or @x402/svm), sends N concurrent requests carrying that one header, then one more after them.
// Checked each time: one 200 with the content, every other request refused with 402 and a reason code the
// facilitator gave, the token moved once, the facilitator paid for one transaction; the facilitator's own
// /verify and /settle answers (recorded as the middlewares receive them) show one `success: true` only.
//
// Run: node --test tests/e2e/middleware.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { serve } from '@hono/node-server';
import { address, getBase64Encoder, getCompiledTransactionMessageDecoder, getTransactionDecoder } from '@solana/kit';
import { findAssociatedTokenPda, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import { x402Client, x402HTTPClient } from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader, HTTPFacilitatorClient } from '@x402/core/http';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { ExactEvmScheme as ExactEvmServerScheme } from '@x402/evm/exact/server';
import { ExactEvmSchemeV1 } from '@x402/evm/v1';
import { paymentMiddleware as expressPaymentMiddleware, x402ResourceServer } from '@x402/express';
import { paymentMiddleware as honoPaymentMiddleware } from '@x402/hono';
import { ExactSvmScheme, toClientSvmSigner } from '@x402/svm';
import { ExactSvmScheme as ExactSvmServerScheme } from '@x402/svm/exact/server';
import express from 'express';
import { Hono } from 'hono';
import { privateKeyToAccount } from 'viem/accounts';
import { paymentMiddleware as legacyPaymentMiddleware } from 'x402-express';

import { balanceOf, rpc } from '../../scripts/lib/chain.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';

const CHAIN_ID = 84532;
const V2_NETWORK = `eip155:${CHAIN_ID}`;
const V1_NETWORK = 'base-sepolia';
const DOMAIN = { name: 'USD Coin', version: '2' };
/** The price of every protected route, in the test tokens' base units (6 decimals). */
const AMOUNT = 10_000n;
/** What a protected route serves once paid. */
const CONTENT = { content: 'the paid content' };
/** No request may hang a test: a settle on the local chains takes well under this. */
const REQUEST_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = 150_000;

const COMPUTE_BUDGET = 'ComputeBudget111111111111111111111111111111';
/** litesvm's (and Solana's) base fee per signature. */
const LAMPORTS_PER_SIGNATURE = 5000n;

/**
 * The refusals a facilitator may give a payment that another request is settling (`duplicate_settlement`)
 * or has settled (the code a fresh check gives), per dialect; `replay` is the one a request after the
 * success gets (from /verify: a middleware that verifies first never reaches /settle with it).
 */
const REFUSALS = {
  v2: {
    verify: ['duplicate_settlement', 'invalid_exact_evm_nonce_already_used'],
    settle: ['duplicate_settlement', 'invalid_exact_evm_nonce_already_used'],
    replay: 'invalid_exact_evm_nonce_already_used',
  },
  v1: {
    verify: ['duplicate_settlement', 'invalid_transaction_state'],
    settle: ['duplicate_settlement', 'invalid_transaction_state'],
    replay: 'invalid_transaction_state',
  },
  // A landed Solana transaction is found processed by its simulation at verify: a duplicate either way.
  svm: {
    verify: ['duplicate_settlement'],
    settle: ['duplicate_settlement'],
    replay: 'duplicate_settlement',
  },
};

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
let token; // the local TestUSDC
let payer, payee; // anvil accounts #1 and #2 (viem accounts)
let svm; // stack.svm
let svmPayer, svmPayee; // local Solana test wallets (kit signers)
let feePayer; // the facilitator's Solana fee payer
const servers = [];
/** Base URLs of the resource servers. */
const resource = {};

// ---------------------------------------------------------------------------------------------------
// What the facilitator answered: the middlewares call it with the global fetch, which records every
// /verify and /settle answer here.

/** @type {{path: string, status: number, body: any}[]} */
const facilitatorAnswers = [];
const realFetch = globalThis.fetch;

async function recordingFetch(input, init) {
  const res = await realFetch(input, init);
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const path = stack && url.startsWith(stack.facilitatorUrl) ? new URL(url).pathname : null;
  if (path === '/verify' || path === '/settle') {
    let body = null;
    try {
      body = JSON.parse(await res.clone().text());
    } catch {
      /* not JSON: recorded as null */
    }
    facilitatorAnswers.push({ path, status: res.status, body });
  }
  return res;
}

/** Runs `fn` and returns its result with the facilitator answers given meanwhile. */
async function recorded(fn) {
  const start = facilitatorAnswers.length;
  const result = await fn();
  return { result, answers: facilitatorAnswers.slice(start) };
}

// ---------------------------------------------------------------------------------------------------
// Resource servers

async function listen(server) {
  if (!server.listening) await once(server, 'listening');
  servers.push(server);
  return `http://127.0.0.1:${server.address().port}`;
}

const facilitatorClient = () => new HTTPFacilitatorClient({ url: stack.facilitatorUrl, timeoutMs: REQUEST_TIMEOUT_MS });

/** The v2 route config of `GET <path>` priced in `asset` on `network`. */
function v2Route({ network, payTo, asset, extra }) {
  const price = { amount: AMOUNT.toString(), asset, ...(extra ? { extra } : {}) };
  return {
    accepts: { scheme: 'exact', network, payTo, price, maxTimeoutSeconds: 300 },
    description: 'e2e paid content',
    mimeType: 'application/json',
  };
}

/** @x402/express: `GET /paid` (EVM, the local token) and `GET /paid-solana` (the local Solana mint). */
function startExpress() {
  const server = new x402ResourceServer(facilitatorClient())
    .register(V2_NETWORK, new ExactEvmServerScheme())
    .register(svm.caip2, new ExactSvmServerScheme({ rpcUrl: svm.rpcUrl }));
  const routes = {
    'GET /paid': v2Route({ network: V2_NETWORK, payTo: payee.address, asset: token, extra: DOMAIN }),
    'GET /paid-solana': v2Route({ network: svm.caip2, payTo: svmPayee.address, asset: svm.mint }),
  };
  const app = express();
  app.use(expressPaymentMiddleware(routes, server));
  app.get('/paid', (_req, res) => res.json(CONTENT));
  app.get('/paid-solana', (_req, res) => res.json(CONTENT));
  return listen(createServer(app).listen(0, '127.0.0.1'));
}

/** @x402/hono: `GET /paid` (EVM, the local token). */
function startHono() {
  const server = new x402ResourceServer(facilitatorClient()).register(V2_NETWORK, new ExactEvmServerScheme());
  const app = new Hono();
  app.use(honoPaymentMiddleware({ 'GET /paid': v2Route({ network: V2_NETWORK, payTo: payee.address, asset: token, extra: DOMAIN }) }, server));
  app.get('/paid', (c) => c.json(CONTENT));
  return listen(serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }));
}

/** Legacy x402-express 1.2 (v1): `GET /paid` priced in the local token (its ERC20TokenAmount form). */
function startLegacyExpress() {
  const price = { amount: AMOUNT.toString(), asset: { address: token, decimals: 6, eip712: DOMAIN } };
  const app = express();
  app.use(legacyPaymentMiddleware(payee.address, { 'GET /paid': { price, network: V1_NETWORK, config: { description: 'e2e paid content' } } }, { url: stack.facilitatorUrl }));
  app.get('/paid', (_req, res) => res.json(CONTENT));
  return listen(createServer(app).listen(0, '127.0.0.1'));
}

before(
  async () => {
    stack = await startStack({ local: true, localSvm: true, localStarknet: false, chainPort: 0, workerPort: 0, chainId: CHAIN_ID });
    token = stack.token.address;
    [payer, payee] = [1, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
    svm = stack.svm;
    [svmPayer, svmPayee] = svm.payers.map((w) => w.signer);
    const supported = await (await realFetch(`${stack.facilitatorUrl}/supported`)).json();
    feePayer = supported.kinds.find((k) => k.network === svm.caip2)?.extra?.feePayer;
    assert.ok(feePayer, 'the facilitator advertises a Solana fee payer');
    globalThis.fetch = recordingFetch;
    resource.express = await startExpress();
    resource.hono = await startHono();
    resource.legacy = await startLegacyExpress();
  },
  { timeout: 150_000 },
);

after(async () => {
  globalThis.fetch = realFetch;
  for (const server of servers) {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  }
  await stack?.stop();
});

// ---------------------------------------------------------------------------------------------------
// The client side: one payment header, the way @x402/fetch builds it

function evmClient() {
  const signer = toClientEvmSigner(payer);
  return new x402HTTPClient(
    new x402Client()
      .register('eip155:*', new ExactEvmScheme(signer))
      .registerV1(V1_NETWORK, new ExactEvmSchemeV1(signer))
      .setSpendControls({ allowedAssets: [{ network: V2_NETWORK, asset: token }, { network: V1_NETWORK, asset: token }] }),
  );
}

function svmClient() {
  return new x402HTTPClient(
    new x402Client()
      .register('solana:*', new ExactSvmScheme(toClientSvmSigner(svmPayer), { rpcUrl: svm.rpcUrl }))
      .setSpendControls({ allowedAssets: [{ network: svm.caip2, asset: svm.mint }] }),
  );
}

/** GET `url` with `headers`: status, headers and the body (parsed when JSON). */
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

/** The 402 of an unpaid request, then one payment for it: `{payload, headers}` (the header to send). */
async function payFor(url, httpClient) {
  const unpaid = await get(url);
  assert.equal(unpaid.status, 402, `an unpaid request is refused with 402: ${unpaid.text}`);
  const paymentRequired = httpClient.getPaymentRequiredResponse((name) => unpaid.headers.get(name), unpaid.json);
  const payload = await httpClient.createPaymentPayload(paymentRequired);
  return { payload, headers: httpClient.encodePaymentSignatureHeader(payload) };
}

/** `n` concurrent requests carrying the same payment header. */
const burst = (url, headers, n) => Promise.all(Array.from({ length: n }, () => get(url, headers)));

/** The settle result a served response carries (PAYMENT-RESPONSE, or v1's X-PAYMENT-RESPONSE). */
function receiptOf(response) {
  const header = response.headers.get('payment-response') ?? response.headers.get('x-payment-response');
  assert.ok(header, `the served response carries the settle result: ${response.status} ${response.text}`);
  return decodePaymentResponseHeader(header);
}

/**
 * Why a middleware refused a paid request: `{stage, reason}`. v2 middlewares put a failed settle in
 * PAYMENT-RESPONSE and a failed verify in PAYMENT-REQUIRED's `error`; the legacy one answers `{error}`.
 */
function refusalOf(response) {
  const settled = response.headers.get('payment-response');
  if (settled) return { stage: 'settle', reason: decodePaymentResponseHeader(settled).errorReason };
  const required = response.headers.get('payment-required');
  if (required) return { stage: 'verify', reason: decodePaymentRequiredHeader(required).error };
  return { stage: 'legacy', reason: response.json?.error };
}

/** Everything the requests and the facilitator answered, for assertion messages. */
function story(responses, answers) {
  const requests = responses.map((r) => ({ status: r.status, body: r.text.slice(0, 300), ...(r.status === 200 ? {} : { refusal: refusalOf(r) }) }));
  const facilitator = answers.map(({ path, status, body }) => ({ path, status, body }));
  return JSON.stringify({ requests, facilitator }, null, 1);
}

/**
 * The core promise of issue 13 §1: of `responses` to one payment, exactly one is served (200, the content,
 * a successful settle result), every other one is refused with 402 and one of the dialect's reasons; of the
 * facilitator's /settle answers exactly one is `success: true`, naming the same transaction. Returns it.
 */
function assertServedOnce(responses, answers, refusals) {
  const why = story(responses, answers);
  const served = responses.filter((r) => r.status === 200);
  assert.equal(served.length, 1, `exactly one request is served:\n${why}`);
  assert.deepEqual(served[0].json, CONTENT, why);
  const receipt = receiptOf(served[0]);
  assert.equal(receipt.success, true, why);

  const allowed = [...refusals.verify, ...refusals.settle];
  for (const r of responses.filter((r) => r !== served[0])) {
    assert.equal(r.status, 402, `every other request is refused with 402:\n${why}`);
    const { reason } = refusalOf(r);
    assert.ok(allowed.includes(reason), `refused with ${reason}, expected one of ${allowed}:\n${why}`);
  }

  const settles = answers.filter((a) => a.path === '/settle');
  const successes = settles.filter((a) => a.body?.success === true);
  assert.equal(successes.length, 1, `exactly one /settle answers success: true:\n${why}`);
  assert.equal(successes[0].body.transaction, receipt.transaction, why);
  for (const a of settles.filter((a) => a !== successes[0])) {
    assert.equal(a.body?.success, false, why);
    assert.ok(refusals.settle.includes(a.body.errorReason), `/settle refused with ${a.body.errorReason}:\n${why}`);
  }
  for (const a of answers.filter((a) => a.path === '/verify' && a.body?.isValid !== true)) {
    assert.equal(a.body?.isValid, false, why);
    assert.ok(refusals.verify.includes(a.body.invalidReason), `/verify refused with ${a.body.invalidReason}:\n${why}`);
  }
  // Every request reached the facilitator: each refusal is its answer, not a middleware's own.
  assert.equal(answers.filter((a) => a.path === '/verify').length, responses.length, why);
  return receipt;
}

/** A request after the success: refused at /verify with `reason`, so the middleware never settles it. */
function assertReplayRefused({ result: response, answers }, reason) {
  const why = story([response], answers);
  assert.equal(response.status, 402, why);
  assert.equal(refusalOf(response).reason, reason, why);
  assert.deepEqual(answers.map((a) => [a.path, a.body?.isValid, a.body?.invalidReason]), [['/verify', false, reason]], why);
}

// ---------------------------------------------------------------------------------------------------
// EVM

const facilitatorNonce = async () => BigInt(await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest']));
const bal = (owner) => balanceOf({ rpcUrl: stack.rpcUrl, token, owner });
const evmState = async () => ({ payer: await bal(payer.address), payee: await bal(payee.address), nonce: await facilitatorNonce() });

/** The settlement transaction: mined, sent by the facilitator, calling the token. */
async function assertSettlementTx(hash) {
  const receipt = await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [hash]);
  assert.equal(receipt?.status, '0x1', `${hash} is mined and succeeded`);
  assert.equal(receipt.from.toLowerCase(), stack.facilitatorAddress.toLowerCase(), 'the facilitator sent it');
  assert.equal(receipt.to.toLowerCase(), token.toLowerCase(), 'it calls the token');
}

/**
 * One EIP-3009 payment header sent by `n` concurrent requests to `url`, then once more: served once, the
 * token moved once, one transaction from the facilitator; the replay is refused and costs nothing.
 */
async function servedOnceOnEvm(url, n, dialect) {
  const { payload, headers } = await payFor(url, evmClient());
  assert.equal(payload.x402Version, dialect === 'v1' ? 1 : 2);

  const before = await evmState();
  const { result: responses, answers } = await recorded(() => burst(url, headers, n));
  const receipt = assertServedOnce(responses, answers, REFUSALS[dialect]);
  await assertSettlementTx(receipt.transaction);
  const settled = await evmState();
  assert.equal(settled.payee - before.payee, AMOUNT, 'payTo received the amount once');
  assert.equal(before.payer - settled.payer, AMOUNT, 'the payer paid the amount once');
  assert.equal(settled.nonce - before.nonce, 1n, 'the facilitator sent one transaction');

  assertReplayRefused(await recorded(() => get(url, headers)), REFUSALS[dialect].replay);
  assert.deepEqual(await evmState(), settled, 'the replay moved nothing and sent nothing');
}

describe('one EIP-3009 payment header through the official middlewares is served once', () => {
  for (const n of [2, 10]) {
    test(`@x402/express (v2): ${n} concurrent requests with one payment header are served once, one transfer, one transaction; a replay is refused at verify`, { timeout: TEST_TIMEOUT_MS }, () =>
      servedOnceOnEvm(`${resource.express}/paid`, n, 'v2'));

    test(`@x402/hono (v2): ${n} concurrent requests with one payment header are served once, one transfer, one transaction; a replay is refused at verify`, { timeout: TEST_TIMEOUT_MS }, () =>
      servedOnceOnEvm(`${resource.hono}/paid`, n, 'v2'));

    test(`x402-express 1.2 (v1): ${n} concurrent requests with one X-PAYMENT header are served once, one transfer, one transaction; a replay is refused at verify`, { timeout: TEST_TIMEOUT_MS }, () =>
      servedOnceOnEvm(`${resource.legacy}/paid`, n, 'v1'));
  }
});

// ---------------------------------------------------------------------------------------------------
// Solana

const ata = async (owner) => (await findAssociatedTokenPda({ owner: address(owner), mint: address(svm.mint), tokenProgram: TOKEN_PROGRAM_ADDRESS }))[0];
const svmRpc = (method, params) => rpc(svm.rpcUrl, method, params);
const splBalance = async (owner) => BigInt((await svmRpc('getTokenAccountBalance', [await ata(owner)])).value.amount);
const svmState = async () => ({
  payer: await splBalance(svmPayer.address),
  payee: await splBalance(svmPayee.address),
  feePayerSol: BigInt((await svmRpc('getBalance', [feePayer])).value),
});

/** What the fee payer pays to land `transaction` (base64): the signature fees and the priority fee. */
function feeOf(transaction) {
  const tx = getTransactionDecoder().decode(getBase64Encoder().encode(transaction));
  const message = getCompiledTransactionMessageDecoder().decode(tx.messageBytes);
  let limit = 200_000n;
  let microLamports = 0n;
  for (const ix of message.instructions) {
    if (message.staticAccounts[ix.programAddressIndex] !== COMPUTE_BUDGET || !ix.data) continue;
    const view = new DataView(ix.data.buffer, ix.data.byteOffset, ix.data.byteLength);
    if (ix.data[0] === 2) limit = BigInt(view.getUint32(1, true));
    if (ix.data[0] === 3) microLamports = view.getBigUint64(1, true);
  }
  const priority = (microLamports * limit + 999_999n) / 1_000_000n;
  return LAMPORTS_PER_SIGNATURE * BigInt(Object.keys(tx.signatures).length) + priority;
}

describe('one Solana payment header through @x402/express is served once', () => {
  test('@x402/express + @x402/svm: 10 concurrent requests with one payment header are served once, one transfer, one fee; a replay is refused at verify', { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = `${resource.express}/paid-solana`;
    const { payload, headers } = await payFor(url, svmClient());
    assert.equal(payload.accepted.extra.feePayer, feePayer, 'the 402 names the facilitator as fee payer');

    const before = await svmState();
    const { result: responses, answers } = await recorded(() => burst(url, headers, 10));
    const receipt = assertServedOnce(responses, answers, REFUSALS.svm);
    const status = await svmRpc('getSignatureStatuses', [[receipt.transaction]]);
    assert.equal(status.value[0]?.err, null, 'the settled transaction landed without error');
    const settled = await svmState();
    assert.equal(settled.payee - before.payee, AMOUNT, 'payTo received the amount once');
    assert.equal(before.payer - settled.payer, AMOUNT, 'the payer paid the amount once');
    assert.equal(before.feePayerSol - settled.feePayerSol, feeOf(payload.payload.transaction), "the fee payer paid one transaction's fee");

    assertReplayRefused(await recorded(() => get(url, headers)), REFUSALS.svm.replay);
    assert.deepEqual(await svmState(), settled, 'the replay moved nothing and cost nothing');
  });
});
