// `exact` through Permit2, end to end through `wrangler dev`: the official @x402/evm 2.27 exact client
// pays an @x402/express 2.27 route that asks for `assetTransferMethod: "permit2"`, with the facilitator
// behind HTTPFacilitatorClient being this worker. (a) the payer approved Permit2 beforehand; (b) it did
// not, and the route declares `eip2612GasSponsoring`: the client signs an EIP-2612 permit and the worker
// settles through the proxy's `settleWithPermit`; (c) neither: refused with `permit2_allowance_required`
// (HTTP 412 from @x402/core's resource server) and nothing is sent; (d) with
// PERMIT2_ERC20_APPROVAL_SPONSORING=true (passed as a user setting, as `npm start` passes it) and the route
// declaring `erc20ApprovalGasSponsoring`: the client's signed `approve(Permit2, max)` is relayed, then the
// payment settles; without the setting the same payment is refused and the approval is not relayed.
//
// Then attacks posted straight to /verify and /settle, each refused with its reason code while the
// facilitator's nonce and ETH and every token balance stay as they were: wrong witness.to, the upto
// proxy or Permit2 itself as spender, an expired deadline, validAfter in the future, amount ≠
// requirements, token ≠ asset, a forged signature, too small an allowance, too small a balance, a zero
// amount, a payment to oneself; a settled payment replayed (and re-signed under its nonce), and one
// payment settled by 5 concurrent requests (exactly one success). /supported lists the extensions.
//
// The paying fetch is @x402/fetch's `wrapFetchWithPayment` when that package is installed, else the
// same 2.27.0 function restated below (it only drives @x402/core's x402HTTPClient).
//
// Run: node --test tests/e2e/permit2.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { x402Client, x402HTTPClient } from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader, HTTPFacilitatorClient } from '@x402/core/http';
import { toClientEvmSigner } from '@x402/evm';
import { createPermit2ApprovalTx, ExactEvmScheme } from '@x402/evm/exact/client';
import { ExactEvmScheme as ExactEvmServerScheme } from '@x402/evm/exact/server';
import { paymentMiddleware, x402ResourceServer } from '@x402/express';
import { declareEip2612GasSponsoringExtension, declareErc20ApprovalGasSponsoringExtension } from '@x402/extensions';
import express from 'express';
import { encodeFunctionData, keccak256, maxUint256, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

import {
  ANVIL_ACCOUNTS,
  PERMIT2_ADDRESS,
  PERMIT2_EXACT_WITNESS_TYPES,
  X402_EXACT_PERMIT2_PROXY_ADDRESS,
  X402_UPTO_PERMIT2_PROXY_ADDRESS,
  balanceOf,
  clients,
  deployTestToken,
  permit2Domain,
  rpc,
} from '../../scripts/lib/chain.mjs';
import { startStack, userSettings } from '../../scripts/lib/stack.mjs';

const CHAIN_ID = 84532;
const NETWORK = `eip155:${CHAIN_ID}`;
const DOMAIN = { name: 'USD Coin', version: '2' };
/** The price of every route and payment, in TestUSDC base units (6 decimals). */
const AMOUNT = 10_000n;
const CONTENT = { content: 'the paid content' };
const REQUEST_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = 150_000;
const STACK_TIMEOUT_MS = 150_000;
/** Proxy selectors (protocol/permit2.md §3). */
const SETTLE = '0x13cd3b53';
const SETTLE_WITH_PERMIT = '0xfa340378';

const ERC20_ABI = [
  { type: 'function', name: 'approve', stateMutability: 'nonpayable', inputs: [{ type: 'address' }, { type: 'uint256' }], outputs: [{ type: 'bool' }] },
  { type: 'function', name: 'allowance', stateMutability: 'view', inputs: [{ type: 'address' }, { type: 'address' }], outputs: [{ type: 'uint256' }] },
  { type: 'function', name: 'mint', stateMutability: 'nonpayable', inputs: [{ type: 'address' }, { type: 'uint256' }], outputs: [] },
];

const now = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------------
// @x402/fetch

/**
 * `wrapFetchWithPayment` of @x402/fetch 2.27.0, restated for when the package is not installed: on a
 * 402, parse the requirements, let the client sign, retry once with the payment header, and hand the
 * result to the client's hooks. The second answer (200, 402 or 412) is returned as is.
 */
function restatedWrapFetchWithPayment(fetchFn, client) {
  const httpClient = client instanceof x402HTTPClient ? client : new x402HTTPClient(client);
  return async (input, init) => {
    const request = new Request(input, init);
    const retry = request.clone();
    const response = await fetchFn(request);
    if (response.status !== 402) return response;
    let body;
    try {
      const text = await response.text();
      if (text) body = JSON.parse(text);
    } catch {
      /* header-only */
    }
    const paymentRequired = httpClient.getPaymentRequiredResponse((name) => response.headers.get(name), body);
    const paymentPayload = await httpClient.createPaymentPayload(paymentRequired);
    for (const [key, value] of Object.entries(httpClient.encodePaymentSignatureHeader(paymentPayload))) retry.headers.set(key, value);
    retry.headers.set('Access-Control-Expose-Headers', 'PAYMENT-RESPONSE,X-PAYMENT-RESPONSE');
    const second = await fetchFn(retry.clone());
    await httpClient.processPaymentResult(paymentPayload, (name) => second.headers.get(name), second.status);
    return second;
  };
}

const { wrapFetchWithPayment, fetchPackage } = await import('@x402/fetch').then(
  (m) => ({ wrapFetchWithPayment: m.wrapFetchWithPayment, fetchPackage: '@x402/fetch' }),
  () => ({ wrapFetchWithPayment: restatedWrapFetchWithPayment, fetchPackage: 'restated wrapFetchWithPayment' }),
);

// ---------------------------------------------------------------------------------------------------
// What the facilitator was asked and answered: the middlewares call it with the global fetch.

/** @type {{url: string, path: string, request: any, status: number, body: any}[]} */
const facilitatorCalls = [];
const realFetch = globalThis.fetch;
/** The facilitator URLs whose /verify and /settle calls are recorded. */
const watchedFacilitators = new Set();

async function recordingFetch(input, init) {
  const res = await realFetch(input, init);
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const { origin, pathname } = new URL(url);
  if (watchedFacilitators.has(origin) && (pathname === '/verify' || pathname === '/settle')) {
    const parse = (text) => {
      try {
        return JSON.parse(text);
      } catch {
        return null;
      }
    };
    const request = typeof init?.body === 'string' ? parse(init.body) : null;
    facilitatorCalls.push({ url: origin, path: pathname, request, status: res.status, body: parse(await res.clone().text()) });
  }
  return res;
}

/** Runs `fn`; returns its result and the facilitator calls made meanwhile. */
async function recorded(fn) {
  const start = facilitatorCalls.length;
  const result = await fn();
  return { result, calls: facilitatorCalls.slice(start) };
}

const story = (calls) => JSON.stringify(calls.map(({ path, body }) => ({ path, body })), null, 1);

// ---------------------------------------------------------------------------------------------------
// One local stack (anvil + wrangler dev) and its helpers

/**
 * The stack with `settings` (as `npm start` passes the user's), its TestUSDC, an @x402/express
 * resource server whose routes are `routes(ctx)`, and chain helpers.
 */
async function startWorld({ settings, routes }) {
  const stack = await startStack({
    local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0, chainId: CHAIN_ID, settings,
  });
  const token = stack.token.address;
  const { publicClient } = clients({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID });
  const minter = clients({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID, privateKey: ANVIL_ACCOUNTS[0].privateKey }).walletClient;
  const world = { stack, token, publicClient, watched: new Set(), tokens: [token] };

  /** A new account holding `tokens` TestUSDC and `eth` wei; watched by [state]. */
  world.account = async ({ tokens = 1_000_000n, eth = 10n ** 18n } = {}) => {
    const privateKey = generatePrivateKey();
    const account = privateKeyToAccount(privateKey);
    if (eth > 0n) await rpc(stack.rpcUrl, 'anvil_setBalance', [account.address, toHex(eth)]);
    if (tokens > 0n) {
      const hash = await minter.writeContract({ address: token, abi: ERC20_ABI, functionName: 'mint', args: [account.address, tokens] });
      assert.equal((await publicClient.waitForTransactionReceipt({ hash })).status, 'success');
    }
    world.watched.add(account.address);
    return Object.assign(account, { privateKey });
  };

  /** A new address that only receives. */
  world.payee = () => {
    const { address } = privateKeyToAccount(generatePrivateKey());
    world.watched.add(address);
    return address;
  };

  /** `account` sends `data` to `to` itself and pays its gas. */
  world.send = async (account, { to, data }) => {
    const { walletClient } = clients({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID, privateKey: account.privateKey });
    const hash = await walletClient.sendTransaction({ to, data });
    assert.equal((await publicClient.waitForTransactionReceipt({ hash })).status, 'success');
  };

  /** `account` approves Permit2 for `amount` of TestUSDC (the official helper's max by default). */
  world.approvePermit2 = (account, amount = maxUint256) =>
    world.send(
      account,
      amount === maxUint256
        ? createPermit2ApprovalTx(token)
        : { to: token, data: encodeFunctionData({ abi: ERC20_ABI, functionName: 'approve', args: [PERMIT2_ADDRESS, amount] }) },
    );

  world.allowance = (owner) =>
    publicClient.readContract({ address: token, abi: ERC20_ABI, functionName: 'allowance', args: [owner, PERMIT2_ADDRESS] });

  world.balance = (owner, asset = token) => balanceOf({ rpcUrl: stack.rpcUrl, token: asset, owner });

  /**
   * What a refused payment must not change: the facilitator's nonce and ETH, every watched account's
   * nonce and balance in every watched token.
   */
  world.state = async () => {
    const facilitator = stack.facilitatorAddress;
    const owners = [...world.watched];
    return {
      facilitatorNonce: await publicClient.getTransactionCount({ address: facilitator }),
      facilitatorEth: await publicClient.getBalance({ address: facilitator }),
      nonces: await Promise.all(owners.map((address) => publicClient.getTransactionCount({ address }))),
      balances: await Promise.all(world.tokens.flatMap((asset) => owners.map((owner) => world.balance(owner, asset)))),
    };
  };

  /** POST `body` to the facilitator's `path`: its JSON answer (always HTTP 200). */
  world.post = async (path, body) => {
    const res = await realFetch(`${stack.facilitatorUrl}${path}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return JSON.parse(text);
  };

  // The resource server.
  watchedFacilitators.add(new URL(stack.facilitatorUrl).origin);
  const facilitator = new HTTPFacilitatorClient({ url: stack.facilitatorUrl, timeoutMs: REQUEST_TIMEOUT_MS });
  const server = new x402ResourceServer(facilitator).register(NETWORK, new ExactEvmServerScheme());
  const table = routes(world);
  const app = express();
  app.use(paymentMiddleware(Object.fromEntries(Object.entries(table).map(([path, r]) => [`GET ${path}`, r])), server));
  for (const path of Object.keys(table)) app.get(path, (_req, res) => res.json(CONTENT));
  const http = createServer(app).listen(0, '127.0.0.1');
  await once(http, 'listening');
  world.resource = `http://127.0.0.1:${http.address().port}`;

  world.stop = async () => {
    http.closeAllConnections?.();
    await new Promise((resolve) => http.close(resolve));
    await stack.stop();
  };
  return world;
}

/** A route priced at AMOUNT TestUSDC through Permit2, paid to `payTo`, declaring `extensions`. */
function permit2Route(world, payTo, extensions) {
  const price = { amount: AMOUNT.toString(), asset: world.token, extra: { ...DOMAIN, assetTransferMethod: 'permit2' } };
  return {
    accepts: { scheme: 'exact', network: NETWORK, payTo, price, maxTimeoutSeconds: 300 },
    description: 'e2e Permit2 content',
    mimeType: 'application/json',
    ...(extensions ? { extensions } : {}),
  };
}

/** The paying fetch of `account`: the official exact client with chain reads through the local RPC. */
function payingFetch(world, account) {
  const scheme = new ExactEvmScheme(toClientEvmSigner(account), { rpcUrl: world.stack.rpcUrl });
  const client = new x402Client()
    .register('eip155:*', scheme)
    .setSpendControls({ allowedAssets: [{ network: NETWORK, asset: world.token }] });
  return wrapFetchWithPayment(globalThis.fetch, client);
}

/** GET `url` paying as `account`: status, headers, body and the facilitator calls it caused. */
async function pay(world, account, url) {
  const { result: res, calls } = await recorded(() => payingFetch(world, account)(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }));
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text, calls };
}

/** The payment the client sent, as the facilitator's /verify got it. */
function sentPayment(calls) {
  const verify = calls.find((c) => c.path === '/verify');
  assert.ok(verify?.request?.paymentPayload, `the middleware verified the payment: ${story(calls)}`);
  return verify.request.paymentPayload;
}

/**
 * A served, settled payment: 200 with the content, a PAYMENT-RESPONSE naming a mined transaction from
 * the facilitator to the exact proxy calling `selector`; one /verify valid and one /settle success.
 */
async function assertPaid(world, response, payer, selector) {
  const why = `${response.status} ${response.text.slice(0, 300)}\n${story(response.calls)}`;
  assert.equal(response.status, 200, why);
  assert.deepEqual(response.json, CONTENT, why);
  const header = response.headers.get('payment-response');
  assert.ok(header, `PAYMENT-RESPONSE: ${why}`);
  const settled = decodePaymentResponseHeader(header);
  assert.equal(settled.success, true, why);
  assert.equal(settled.network, NETWORK);
  assert.equal(settled.payer.toLowerCase(), payer.address.toLowerCase());
  assert.match(settled.transaction, /^0x[0-9a-f]{64}$/);
  assert.deepEqual(
    response.calls.map((c) => [c.path, c.body?.isValid ?? c.body?.success]),
    [['/verify', true], ['/settle', true]],
    why,
  );
  assert.equal(response.calls[1].body.transaction, settled.transaction);

  const receipt = await world.publicClient.getTransactionReceipt({ hash: settled.transaction });
  assert.equal(receipt.status, 'success');
  assert.equal(receipt.from.toLowerCase(), world.stack.facilitatorAddress.toLowerCase(), 'the facilitator sent it');
  assert.equal(receipt.to.toLowerCase(), X402_EXACT_PERMIT2_PROXY_ADDRESS.toLowerCase(), 'to the exact proxy');
  const tx = await world.publicClient.getTransaction({ hash: settled.transaction });
  assert.equal(tx.input.slice(0, 10), selector);
  return settled;
}

/** Balances and nonces around a payment. */
async function snapshot(world, payer, payee) {
  return {
    payer: await world.balance(payer.address),
    payee: await world.balance(payee),
    payerEth: await world.publicClient.getBalance({ address: payer.address }),
    payerNonce: await world.publicClient.getTransactionCount({ address: payer.address }),
    facilitatorNonce: await world.publicClient.getTransactionCount({ address: world.stack.facilitatorAddress }),
  };
}

/** The amount moved once from `payer` to `payee`, by one transaction of the facilitator's. */
function assertMovedOnce(before, after) {
  assert.equal(after.payee - before.payee, AMOUNT, 'payTo received exactly the amount');
  assert.equal(before.payer - after.payer, AMOUNT, 'the payer paid exactly the amount');
  assert.equal(after.facilitatorNonce - before.facilitatorNonce, 1, 'the facilitator sent one transaction');
}

// ---------------------------------------------------------------------------------------------------
// Payments signed here, for the attacks

function requirementsFor(world, { payTo, amount = AMOUNT, asset = world.token }) {
  return {
    scheme: 'exact', network: NETWORK, amount: String(amount), asset, payTo, maxTimeoutSeconds: 300,
    extra: { ...DOMAIN, assetTransferMethod: 'permit2' },
  };
}

function body(requirements, payload, extensions) {
  const paymentPayload = { x402Version: 2, accepted: requirements, payload, ...(extensions ? { extensions } : {}) };
  return { x402Version: 2, paymentPayload, paymentRequirements: requirements };
}

/** The official client's payment for `requirements`, signed by `payer`. */
async function officialPayment(payer, requirements) {
  const result = await new ExactEvmScheme(toClientEvmSigner(payer)).createPaymentPayload(2, requirements);
  return body(requirements, result.payload, result.extensions);
}

/** The Permit2 EIP-712 signature of `a` (a `permit2Authorization`) by `signer`. */
function signPermit2(signer, a) {
  return signer.signTypedData({
    domain: permit2Domain(CHAIN_ID),
    types: PERMIT2_EXACT_WITNESS_TYPES,
    primaryType: 'PermitWitnessTransferFrom',
    message: {
      permitted: { token: a.permitted.token, amount: BigInt(a.permitted.amount) },
      spender: a.spender,
      nonce: BigInt(a.nonce),
      deadline: BigInt(a.deadline),
      witness: { to: a.witness.to, validAfter: BigInt(a.witness.validAfter) },
    },
  });
}

/**
 * A payment for `requirements` from `from` as the 2.27 client builds it, with `change` applied to the
 * authorization (`permitted` and `witness` merged field by field), signed by `signer`.
 */
async function signedPayment(requirements, { from, signer = from, change = {} }) {
  const base = {
    from: from.address,
    permitted: { token: requirements.asset, amount: requirements.amount },
    spender: X402_EXACT_PERMIT2_PROXY_ADDRESS,
    nonce: BigInt(`0x${randomBytes(32).toString('hex')}`).toString(),
    deadline: String(now() + requirements.maxTimeoutSeconds),
    witness: { to: requirements.payTo, validAfter: '0' },
  };
  const a = {
    ...base,
    ...change,
    permitted: { ...base.permitted, ...change.permitted },
    witness: { ...base.witness, ...change.witness },
  };
  return body(requirements, { signature: await signPermit2(signer, a), permit2Authorization: a });
}

/** /verify and /settle (twice) refuse `payment` with `code`, and nothing on chain changes. */
async function refusedEverywhere(world, payment, code) {
  const before = await world.state();
  const verify = await world.post('/verify', payment);
  assert.deepEqual([verify.isValid, verify.invalidReason], [false, code], JSON.stringify(verify));
  for (let i = 0; i < 2; i++) {
    const settle = await world.post('/settle', payment);
    assert.deepEqual([settle.success, settle.errorReason, settle.transaction], [false, code, ''], JSON.stringify(settle));
  }
  assert.deepEqual(await world.state(), before, `${code}: no transaction, no gas, no token moved`);
}

// ---------------------------------------------------------------------------------------------------
// The default stack: PERMIT2_ERC20_APPROVAL_SPONSORING off

/** @type {any} */
let world;
const payees = {};

before(
  async () => {
    globalThis.fetch = recordingFetch;
    world = await startWorld({
      settings: undefined,
      routes: (w) => {
        for (const name of ['approved', 'eip2612', 'bare', 'erc20']) payees[name] = w.payee();
        return {
          '/approved': permit2Route(w, payees.approved),
          '/eip2612': permit2Route(w, payees.eip2612, declareEip2612GasSponsoringExtension()),
          '/bare': permit2Route(w, payees.bare),
          '/erc20': permit2Route(w, payees.erc20, declareErc20ApprovalGasSponsoringExtension()),
        };
      },
    });
    // A second token: payments in it are the wrong asset.
    world.tokens.push((await deployTestToken({ rpcUrl: world.stack.rpcUrl, chainId: CHAIN_ID })).address);
  },
  { timeout: STACK_TIMEOUT_MS },
);

after(async () => {
  globalThis.fetch = realFetch;
  await world?.stop();
});

describe('the official client pays an @x402/express route through Permit2', () => {
  test(`(a) a payer that approved Permit2 beforehand is served; payTo gets exactly the amount through the proxy's settle (${fetchPackage})`, { timeout: TEST_TIMEOUT_MS }, async () => {
    const payer = await world.account();
    await world.approvePermit2(payer);
    const before = await snapshot(world, payer, payees.approved);
    const response = await pay(world, payer, `${world.resource}/approved`);
    const sent = sentPayment(response.calls);
    assert.ok(sent.payload.permit2Authorization, 'a Permit2 payload');
    assert.equal(sent.payload.permit2Authorization.spender, X402_EXACT_PERMIT2_PROXY_ADDRESS);
    assert.equal(sent.extensions, undefined, 'no gas-sponsoring extension was needed');
    await assertPaid(world, response, payer, SETTLE);
    assertMovedOnce(before, await snapshot(world, payer, payees.approved));
  });

  test('(b) without an approval, on a route declaring eip2612GasSponsoring, the client signs an EIP-2612 permit and the worker settles with settleWithPermit', { timeout: TEST_TIMEOUT_MS }, async () => {
    const payer = await world.account();
    assert.equal(await world.allowance(payer.address), 0n);
    const before = await snapshot(world, payer, payees.eip2612);
    const response = await pay(world, payer, `${world.resource}/eip2612`);
    const info = sentPayment(response.calls).extensions?.eip2612GasSponsoring?.info;
    assert.ok(info, `the client signed the EIP-2612 extension: ${story(response.calls)}`);
    assert.deepEqual([info.from, info.spender, info.amount], [payer.address, PERMIT2_ADDRESS, AMOUNT.toString()]);
    await assertPaid(world, response, payer, SETTLE_WITH_PERMIT);
    const after = await snapshot(world, payer, payees.eip2612);
    assertMovedOnce(before, after);
    assert.deepEqual([after.payerNonce, after.payerEth], [before.payerNonce, before.payerEth], 'the payer sent nothing');
    assert.equal(await world.allowance(payer.address), 0n, "the permit's allowance was exactly the amount, and is spent");
  });

  test('(c) without an approval and without an extension the payment is refused with permit2_allowance_required (HTTP 412) and nothing is sent', { timeout: TEST_TIMEOUT_MS }, async () => {
    const payer = await world.account();
    const before = await world.state();
    const response = await pay(world, payer, `${world.resource}/bare`);
    const why = `${response.status} ${response.text}\n${story(response.calls)}`;
    assert.equal(response.status, 412, `@x402/core answers 412 for permit2_allowance_required: ${why}`);
    const required = decodePaymentRequiredHeader(response.headers.get('payment-required'));
    assert.equal(required.error, 'permit2_allowance_required', why);
    assert.equal(response.headers.get('payment-response'), null, why);
    assert.deepEqual(
      response.calls.map((c) => [c.path, c.body?.isValid, c.body?.invalidReason]),
      [['/verify', false, 'permit2_allowance_required']],
      `refused at /verify, never settled: ${why}`,
    );
    assert.deepEqual(await world.state(), before, 'nothing sent, no token moved');
  });

  test("(d, setting off) a signed ERC-20 approval is not relayed unless PERMIT2_ERC20_APPROVAL_SPONSORING is on: refused with permit2_allowance_required, the payer's approval never broadcast", { timeout: TEST_TIMEOUT_MS }, async () => {
    const payer = await world.account();
    const before = await world.state();
    const response = await pay(world, payer, `${world.resource}/erc20`);
    const info = sentPayment(response.calls).extensions?.erc20ApprovalGasSponsoring?.info;
    assert.ok(info?.signedTransaction, `the client signed its approval: ${story(response.calls)}`);
    assert.equal(response.status, 412, story(response.calls));
    assert.equal(decodePaymentRequiredHeader(response.headers.get('payment-required')).error, 'permit2_allowance_required');
    assert.equal(await world.publicClient.getTransaction({ hash: keccak256(info.signedTransaction) }).catch(() => null), null, 'the approval was not broadcast');
    assert.deepEqual(await world.state(), before, 'nothing sent, no token moved');
  });
});

describe('attacks posted to /verify and /settle are refused with their code and send nothing', () => {
  test('the helper that signs the attacks signs exactly as the official client does', async () => {
    const payer = await world.account();
    const official = await officialPayment(payer, requirementsFor(world, { payTo: world.payee() }));
    const { signature, permit2Authorization } = official.paymentPayload.payload;
    assert.equal(await signPermit2(payer, permit2Authorization), signature);
  });

  test('each broken binding between the authorization and the requirements gets its reason code', { timeout: TEST_TIMEOUT_MS }, async () => {
    const payer = await world.account();
    await world.approvePermit2(payer);
    const payTo = world.payee();
    const req = requirementsFor(world, { payTo });
    const other = await world.account();
    const cases = [
      ['invalid_permit2_recipient_mismatch', await signedPayment(req, { from: payer, change: { witness: { to: world.payee() } } })],
      ['invalid_permit2_spender', await signedPayment(req, { from: payer, change: { spender: X402_UPTO_PERMIT2_PROXY_ADDRESS } })],
      ['invalid_permit2_spender', await signedPayment(req, { from: payer, change: { spender: PERMIT2_ADDRESS } })],
      ['permit2_deadline_expired', await signedPayment(req, { from: payer, change: { deadline: String(now() - 60) } })],
      // Inside the 6-second buffer the reference keeps for block time.
      ['permit2_deadline_expired', await signedPayment(req, { from: payer, change: { deadline: String(now() + 3) } })],
      ['permit2_not_yet_valid', await signedPayment(req, { from: payer, change: { witness: { validAfter: String(now() + 600) } } })],
      ['permit2_amount_mismatch', await signedPayment(req, { from: payer, change: { permitted: { amount: String(AMOUNT - 1n) } } })],
      ['permit2_amount_mismatch', await signedPayment(req, { from: payer, change: { permitted: { amount: String(AMOUNT + 1n) } } })],
      ['permit2_token_mismatch', await signedPayment(req, { from: payer, change: { permitted: { token: world.tokens[1] } } })],
      ['invalid_permit2_signature', await signedPayment(req, { from: payer, signer: other })],
    ];
    for (const [code, payment] of cases) await refusedEverywhere(world, payment, code);
  });

  test('too small an allowance, too small a balance, a zero amount and a payment to oneself get their codes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const payTo = world.payee();
    const req = requirementsFor(world, { payTo });
    const stingy = await world.account();
    await world.approvePermit2(stingy, AMOUNT - 1n);
    await refusedEverywhere(world, await officialPayment(stingy, req), 'permit2_allowance_required');

    const poor = await world.account({ tokens: AMOUNT - 1n });
    await world.approvePermit2(poor);
    await refusedEverywhere(world, await officialPayment(poor, req), 'permit2_insufficient_balance');

    const payer = await world.account();
    await world.approvePermit2(payer);
    await refusedEverywhere(world, await officialPayment(payer, requirementsFor(world, { payTo, amount: 0n })), 'amount_below_minimum');
    await refusedEverywhere(world, await officialPayment(payer, requirementsFor(world, { payTo: payer.address })), 'self_payment');
  });

  test('a settled payment replayed is refused with permit2_invalid_nonce, and one re-signed under its nonce too, and never succeeds again', { timeout: TEST_TIMEOUT_MS }, async () => {
    const payer = await world.account();
    await world.approvePermit2(payer);
    const payTo = world.payee();
    const payment = await officialPayment(payer, requirementsFor(world, { payTo }));
    const verified = await world.post('/verify', payment);
    assert.deepEqual([verified.isValid, verified.payer], [true, payer.address], JSON.stringify(verified));
    const before = await snapshot(world, payer, payTo);
    const settled = await world.post('/settle', payment);
    assert.equal(settled.success, true, JSON.stringify(settled));
    assertMovedOnce(before, await snapshot(world, payer, payTo));

    const state = await world.state();
    for (let i = 0; i < 2; i++) {
      const verify = await world.post('/verify', payment);
      assert.deepEqual([verify.isValid, verify.invalidReason], [false, 'permit2_invalid_nonce'], JSON.stringify(verify));
      const again = await world.post('/settle', payment);
      assert.deepEqual([again.success, again.errorReason], [false, 'permit2_invalid_nonce'], JSON.stringify(again));
    }
    // The same Permit2 nonce signed again for another amount: the chain's nonce bit refuses it at
    // /verify; at /settle the ledger holds that nonce for the settled payment, a different one.
    const { nonce } = payment.paymentPayload.payload.permit2Authorization;
    const resigned = await signedPayment(requirementsFor(world, { payTo, amount: AMOUNT * 2n }), { from: payer, change: { nonce } });
    const verify = await world.post('/verify', resigned);
    assert.deepEqual([verify.isValid, verify.invalidReason], [false, 'permit2_invalid_nonce'], JSON.stringify(verify));
    const settle = await world.post('/settle', resigned);
    assert.deepEqual([settle.success, settle.errorReason, settle.transaction], [false, 'duplicate_settlement', ''], JSON.stringify(settle));
    assert.deepEqual(await world.state(), state, 'the replays sent nothing and moved nothing');
  });

  test('one payment settled by 5 concurrent requests: exactly one success, one transfer, one transaction', { timeout: TEST_TIMEOUT_MS }, async () => {
    const payer = await world.account();
    await world.approvePermit2(payer);
    const payTo = world.payee();
    const payment = await officialPayment(payer, requirementsFor(world, { payTo }));
    const before = await snapshot(world, payer, payTo);
    const answers = await Promise.all(Array.from({ length: 5 }, () => world.post('/settle', payment)));
    const why = JSON.stringify(answers, null, 1);
    const successes = answers.filter((a) => a.success === true);
    assert.equal(successes.length, 1, `exactly one success:\n${why}`);
    for (const a of answers.filter((a) => a !== successes[0])) {
      assert.equal(a.success, false, why);
      assert.ok(['duplicate_settlement', 'permit2_invalid_nonce'].includes(a.errorReason), why);
    }
    const receipt = await world.publicClient.getTransactionReceipt({ hash: successes[0].transaction });
    assert.equal(receipt.status, 'success');
    assertMovedOnce(before, await snapshot(world, payer, payTo));
  });

  test('/supported lists eip2612GasSponsoring, and not erc20ApprovalGasSponsoring while its setting is off', async () => {
    const supported = await (await realFetch(`${world.stack.facilitatorUrl}/supported`)).json();
    assert.ok(supported.kinds.some((k) => k.x402Version === 2 && k.scheme === 'exact' && k.network === NETWORK), JSON.stringify(supported));
    assert.ok(supported.extensions.includes('eip2612GasSponsoring'), JSON.stringify(supported));
    assert.ok(!supported.extensions.includes('erc20ApprovalGasSponsoring'), JSON.stringify(supported));
  });
});

// ---------------------------------------------------------------------------------------------------
// PERMIT2_ERC20_APPROVAL_SPONSORING=true, as a user setting from the environment (npm start's path)

describe('with PERMIT2_ERC20_APPROVAL_SPONSORING=true', () => {
  let sponsoring;
  let payTo;

  before(
    async () => {
      const settings = userSettings({ env: { PERMIT2_ERC20_APPROVAL_SPONSORING: 'true' }, devVars: null });
      sponsoring = await startWorld({
        settings,
        routes: (w) => {
          payTo = w.payee();
          return { '/erc20': permit2Route(w, payTo, declareErc20ApprovalGasSponsoringExtension()) };
        },
      });
      assert.deepEqual(sponsoring.stack.settings, ['PERMIT2_ERC20_APPROVAL_SPONSORING'], 'the setting reaches the worker');
    },
    { timeout: STACK_TIMEOUT_MS },
  );

  after(async () => {
    await sponsoring?.stop();
  });

  test('/supported lists both gas-sponsoring extensions', async () => {
    const supported = await (await realFetch(`${sponsoring.stack.facilitatorUrl}/supported`)).json();
    assert.ok(supported.extensions.includes('eip2612GasSponsoring'), JSON.stringify(supported));
    assert.ok(supported.extensions.includes('erc20ApprovalGasSponsoring'), JSON.stringify(supported));
  });

  test("(d) the client's signed approve(Permit2, max) is relayed (the payer pays its gas), then the payment settles", { timeout: TEST_TIMEOUT_MS }, async () => {
    const w = sponsoring;
    const payer = await w.account();
    const before = await snapshot(w, payer, payTo);
    const response = await pay(w, payer, `${w.resource}/erc20`);
    const info = sentPayment(response.calls).extensions?.erc20ApprovalGasSponsoring?.info;
    assert.ok(info?.signedTransaction, `the client signed its approval: ${story(response.calls)}`);
    assert.deepEqual([info.from, info.spender, info.amount], [payer.address, PERMIT2_ADDRESS, maxUint256.toString()]);
    await assertPaid(w, response, payer, SETTLE);
    const after = await snapshot(w, payer, payTo);
    assertMovedOnce(before, after);

    const approval = await w.publicClient.getTransactionReceipt({ hash: keccak256(info.signedTransaction) });
    assert.equal(approval.status, 'success', 'the approval was mined');
    assert.equal(approval.from.toLowerCase(), payer.address.toLowerCase());
    assert.equal(approval.to.toLowerCase(), w.token.toLowerCase());
    assert.equal(after.payerNonce - before.payerNonce, 1, "the payer's one transaction: its approval");
    assert.ok(after.payerEth < before.payerEth, 'the payer paid for its approval');
    assert.equal(await w.allowance(payer.address), maxUint256, 'the approval is in place');
  });
});
