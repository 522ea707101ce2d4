// Load and fault scenarios against the built worker on a local stack (anvil + TestUSDC + `wrangler dev`),
// shared by the CLI (scripts/load.mjs, `npm run load`) and the node test (tests/e2e/load.test.mjs).
//
// Every scenario starts its own stack on free loopback ports and stops it, is bounded in request count and
// in time (a hard timeout aborts every request still running and stops the stack), and returns a result:
//
//   { name, status: 'pass' | 'fail' | 'skip', wallMs, metrics, invariants: [{name, ok, detail}], notes, error }
//
// `formatResult(result)` renders the compact report. Payments are v2 `exact` EIP-3009 authorizations
// signed with viem (the helper style of tests/e2e/facilitator.test.mjs), with fresh random nonces, paid to a
// fresh random payTo so that its balance delta is exactly what the scenario settled.
//
// Plain ESM for node >= 20. Only 127.0.0.1 is ever contacted.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import { toFunctionSelector, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

import { ANVIL_ACCOUNTS, TRANSFER_TYPES, balanceOf, rpc } from './chain.mjs';
import { rpcVarName, startStack } from './stack.mjs';

export const CHAIN_ID = 84532;
export const V2_NETWORK = `eip155:${CHAIN_ID}`;
const DOMAIN_NAME = 'USD Coin';
const DOMAIN_VERSION = '2';


/** Payers: anvil accounts #0-#8 (#9 is the facilitator's key). */
const PAYERS = ANVIL_ACCOUNTS.slice(0, 9).map((a) => privateKeyToAccount(a.privateKey));

/** Default counts, and the smaller ones of `--quick`. */
export const DEFAULTS = Object.freeze({
  distinct: 200,
  same: 100,
  restart: 60,
  restartAfter: 20,
  restartConcurrency: 8,
  deadRpc: 20,
  deadRpcConcurrency: 5,
  connectRetries: 5,
});
export const QUICK = Object.freeze({
  ...DEFAULTS,
  distinct: 40,
  same: 20,
  restart: 15,
  restartAfter: 5,
  restartConcurrency: 4,
  deadRpc: 5,
});

/** Hard time limit of each scenario (start-up, load, checks and stop included), in seconds. */
export const TIMEOUTS_S = Object.freeze({
  'distinct-automine': 240,
  'distinct-blocktime': 300,
  'same-payment': 180,
  restart: 420,
  'dead-first-rpc': 240,
});

/** Time limit of one HTTP request to the worker (a settle waits for its receipt: 30 s by default). */
const REQUEST_TIMEOUT_MS = 120_000;

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });

const now = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------------
// scenario harness: hard timeout, abort, stack clean-up

class ScenarioTimeout extends Error {}

/**
 * Runs `body(ctx)` with a hard timeout. ctx: { signal, log, startStack(opts), echo }. Stacks started through
 * ctx.startStack are stopped when the scenario ends, whatever happens. `body` returns
 * { metrics, invariants, notes, skip } (skip: a reason string marks the scenario skipped).
 */
async function runScenario(name, { timeoutMs, log = () => {}, echo = false }, body) {
  const t0 = performance.now();
  const controller = new AbortController();
  const stacks = [];
  const cleanups = [];
  const ctx = {
    signal: controller.signal,
    /** `fn` runs when the scenario ends, after its stacks are stopped. */
    onCleanup: (fn) => cleanups.push(fn),
    echo,
    log: (m) => log(`[${name}] ${m}`),
    async startStack(opts) {
      if (controller.signal.aborted) throw controller.signal.reason;
      const stack = await startStack({
        local: true,
        chainPort: 0,
        workerPort: 0,
        chainId: CHAIN_ID,
        echo,
        log: ctx.log,
        ...opts,
      });
      if (controller.signal.aborted) {
        // The scenario ended while this stack was starting: nobody else will stop it.
        await stack.stop();
        throw controller.signal.reason;
      }
      stacks.push(stack);
      return stack;
    },
  };
  const result = { name, status: 'fail', wallMs: 0, metrics: {}, invariants: [], notes: [], error: null };
  let timer;
  const timedOut = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const e = new ScenarioTimeout(`timed out after ${timeoutMs / 1000} s`);
      controller.abort(e);
      reject(e);
    }, timeoutMs);
  });
  const running = (async () => body(ctx))();
  try {
    const out = await Promise.race([running, timedOut]);
    Object.assign(result, { metrics: out.metrics ?? {}, invariants: out.invariants ?? [], notes: out.notes ?? [] });
    if (out.skip) {
      result.status = 'skip';
      result.skipReason = out.skip;
    } else {
      result.status = result.invariants.length > 0 && result.invariants.every((i) => i.ok) ? 'pass' : 'fail';
    }
  } catch (e) {
    result.status = 'fail';
    result.error = e instanceof ScenarioTimeout ? e.message : e?.stack ?? String(e);
    if (e?.partial) Object.assign(result, { metrics: e.partial.metrics ?? {}, invariants: e.partial.invariants ?? [] });
  } finally {
    clearTimeout(timer);
    if (!controller.signal.aborted) controller.abort(new Error('scenario finished'));
    // Requests still running were aborted; give the body a moment to unwind, then stop its stacks.
    let grace;
    await Promise.race([running.catch(() => {}), new Promise((r) => (grace = setTimeout(r, 10_000)))]);
    clearTimeout(grace);
    for (const fn of [...stacks.map((s) => () => s.stop()), ...cleanups]) {
      try {
        await fn();
      } catch {
        /* keep cleaning up */
      }
    }
    result.wallMs = performance.now() - t0;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------
// payments and requests

const nonce32 = () => toHex(randomBytes(32));

/** A fresh address nobody holds tokens at (the payTo of one scenario). */
const freshAddress = () => privateKeyToAccount(generatePrivateKey()).address;

/** A random amount in token units (6 decimals): 1000..9999. */
const randomAmount = () => 1000n + BigInt(randomBytes(2).readUInt16BE(0) % 9000);

/** A v2 exact /settle body, signed by `signer` with viem (as in tests/e2e/facilitator.test.mjs). */
export async function v2Payment({ token, signer, payTo, amount }) {
  const requirements = {
    scheme: 'exact',
    network: V2_NETWORK,
    amount: String(amount),
    asset: token,
    payTo,
    maxTimeoutSeconds: 600,
    extra: { name: DOMAIN_NAME, version: DOMAIN_VERSION },
  };
  const authorization = {
    from: signer.address,
    to: payTo,
    value: String(amount),
    validAfter: '0',
    validBefore: String(now() + 3600),
    nonce: nonce32(),
  };
  const signature = await signer.signTypedData({
    domain: { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId: CHAIN_ID, verifyingContract: token },
    types: TRANSFER_TYPES,
    primaryType: 'TransferWithAuthorization',
    message: {
      from: authorization.from,
      to: authorization.to,
      value: BigInt(authorization.value),
      validAfter: BigInt(authorization.validAfter),
      validBefore: BigInt(authorization.validBefore),
      nonce: authorization.nonce,
    },
  });
  const paymentPayload = {
    x402Version: 2,
    resource: { url: 'http://resource.test/load', description: 'load', mimeType: 'application/json' },
    accepted: requirements,
    payload: { authorization, signature },
  };
  return { x402Version: 2, paymentPayload, paymentRequirements: requirements };
}

/** `count` distinct payments, payers round-robin over anvil #0-#8, random amounts, to `payTo`. */
async function distinctPayments({ token, payTo, count }) {
  const payments = [];
  for (let i = 0; i < count; i++) {
    const amount = randomAmount();
    const body = await v2Payment({ token, signer: PAYERS[i % PAYERS.length], payTo, amount });
    payments.push({ index: i, amount, body, nonce: body.paymentPayload.payload.authorization.nonce });
  }
  return payments;
}

/** Error codes of a request that never got an HTTP answer because the connection failed. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(e) {
  if (e?.name === 'TimeoutError') return 'timeout';
  if (e?.name === 'AbortError') return 'aborted';
  let c = e;
  for (let i = 0; c && i < 5; i++, c = c.cause) {
    if (c.code) return c.code;
    if (c.errors?.[0]?.code) return c.errors[0].code;
  }
  return e?.message ?? String(e);
}

/**
 * POST /settle. Returns { status, json, text, requestId, ms, startedAt } for an HTTP answer, or
 * { status: 0, error: code, message, ms, startedAt } when no answer came (connection error, timeout, abort).
 */
async function postSettle(url, body, signal) {
  const startedAt = performance.now();
  try {
    const res = await fetch(`${url}/settle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return {
      status: res.status,
      json,
      text,
      requestId: res.headers.get('x-request-id'),
      ms: performance.now() - startedAt,
      startedAt,
    };
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    return { status: 0, error: errorCode(e), message: e?.cause?.message ?? e?.message, ms: performance.now() - startedAt, startedAt };
  }
}

const succeeded = (r) => r.status === 200 && r.json?.success === true;
/** How a settle of a payment that another settle answered is refused. */
const REFUSED_AS_SETTLED = ['duplicate_settlement', 'invalid_exact_evm_nonce_already_used'];
/** How a settle of a payment still held by a settle that was cut off is refused. */
const STILL_HELD = ['duplicate_settlement', 'settlement_pending'];
const isConnectionError = (r) => r.status === 0 && CONNECTION_CODES.has(r.error);

/** A short reason for a failed settle: the scheme's errorReason, the HTTP status or the connection error. */
function failureReason(r) {
  if (r.status === 0) return `no answer: ${r.error}`;
  if (r.status !== 200) {
    const why = r.json?.reason ?? r.json?.error ?? (r.text ?? '').slice(0, 80);
    return `HTTP ${r.status}${why ? ` ${why}` : ''}${r.requestId ? '' : ' (no x-request-id: not the worker)'}`;
  }
  return r.json?.errorReason ?? `success:${JSON.stringify(r.json?.success)}`;
}

/** Whether a failure mentions a nonce (a facilitator nonce collision shows up like this). */
/** A failure about the facilitator's own nonces (a refused used-authorization nonce is not one). */
const mentionsNonce = (r) =>
  !succeeded(r) && r.json?.errorReason !== 'invalid_exact_evm_nonce_already_used' && /nonce/i.test(`${r.text ?? ''} ${r.message ?? ''}`);

/** Runs `fn(item, i)` over `items` with at most `limit` at once. */
async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}

function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const countBy = (items, key) => {
  const m = {};
  for (const it of items) {
    const k = key(it);
    m[k] = (m[k] ?? 0) + 1;
  }
  return m;
};

/** Counts over a set of settle answers: ok, failures by reason, nonce errors, 5xx, distinct hashes, latency. */
function summarize(replies) {
  const ok = replies.filter(succeeded);
  const failed = replies.filter((r) => !succeeded(r));
  const latencies = replies.filter((r) => r.status !== 0).map((r) => r.ms);
  return {
    requests: replies.length,
    ok: ok.length,
    failed: failed.length,
    failuresByReason: countBy(failed, failureReason),
    nonceErrors: replies.filter(mentionsNonce).length,
    http5xx: replies.filter((r) => r.status >= 500).length,
    txHashes: new Set(ok.map((r) => r.json.transaction)),
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
  };
}

// ---------------------------------------------------------------------------------------------------
// chain reads

const txCount = async (rpcUrl, address, tag = 'latest') => Number(await rpc(rpcUrl, 'eth_getTransactionCount', [address, tag]));

/** Waits (bounded) until the facilitator has nothing pending, then returns its mined transaction count. */
async function settledTxCount(rpcUrl, address, { timeoutMs = 15_000, signal } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [latest, pending] = await Promise.all([txCount(rpcUrl, address), txCount(rpcUrl, address, 'pending')]);
    if (latest === pending || Date.now() > deadline) return { latest, pending };
    await sleep(250, signal);
  }
}

/**
 * Checks every hash: mined, status 1, sent by the facilitator to the token. Returns the problems found.
 */
async function checkReceipts(rpcUrl, hashes, { facilitator, token }) {
  const problems = [];
  await pool([...hashes], 16, async (hash) => {
    let r;
    try {
      r = await rpc(rpcUrl, 'eth_getTransactionReceipt', [hash]);
    } catch (e) {
      problems.push(`${hash}: ${e.message}`);
      return;
    }
    if (!r) problems.push(`${hash}: no receipt`);
    else if (r.status !== '0x1') problems.push(`${hash}: status ${r.status}`);
    else if (r.from?.toLowerCase() !== facilitator.toLowerCase()) problems.push(`${hash}: from ${r.from}`);
    else if (r.to?.toLowerCase() !== token.toLowerCase()) problems.push(`${hash}: to ${r.to}`);
  });
  return problems;
}

/** Balance, nonce and block snapshot of a scenario's chain. */
async function snapshot(stack, payTo) {
  const [balance, nonce, block] = await Promise.all([
    balanceOf({ rpcUrl: stack.rpcUrl, token: stack.token.address, owner: payTo }),
    txCount(stack.rpcUrl, stack.facilitatorAddress),
    rpc(stack.rpcUrl, 'eth_blockNumber').then(Number),
  ]);
  return { balance, nonce, block };
}

/** transferWithAuthorization(v, r, s) and (bytes signature): from, to, value, validAfter, validBefore, nonce first. */
const TWA_SELECTORS = new Set([
  toFunctionSelector('transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)'),
  toFunctionSelector('transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)'),
]);

/** `from/nonce` of an EIP-3009 authorization, the key the audit groups transactions by. */
const authKey = (from, nonce) => `${from.toLowerCase()}/${nonce.toLowerCase()}`;
const paymentAuthKey = (body) => {
  const a = body.paymentPayload.payload.authorization;
  return authKey(a.from, a.nonce);
};

/**
 * Every transaction the facilitator sent in blocks (fromBlock, toBlock]: its receipt status and, for
 * transferWithAuthorization calls, the authorization it carried. Returns
 * { txs, reverted, other, byAuth: Map(authKey -> [{hash, status, block}]), duplicates: [authKey] }.
 */
async function auditChain(stack, { fromBlock, toBlock }) {
  const facilitator = stack.facilitatorAddress.toLowerCase();
  const token = stack.token.address.toLowerCase();
  const blocks = [];
  for (let b = fromBlock + 1; b <= toBlock; b++) blocks.push(b);
  const sent = [];
  await pool(blocks, 16, async (b) => {
    const block = await rpc(stack.rpcUrl, 'eth_getBlockByNumber', [`0x${b.toString(16)}`, true]);
    for (const tx of block?.transactions ?? []) if (tx.from?.toLowerCase() === facilitator) sent.push({ tx, block: b });
  });
  const txs = await pool(sent, 16, async ({ tx, block }) => {
    const receipt = await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [tx.hash]);
    const input = tx.input ?? '0x';
    let auth = null;
    if (tx.to?.toLowerCase() === token && TWA_SELECTORS.has(input.slice(0, 10)) && input.length >= 10 + 64 * 6) {
      const word = (i) => input.slice(10 + 64 * i, 10 + 64 * (i + 1));
      auth = authKey(`0x${word(0).slice(24)}`, `0x${word(5)}`);
    }
    return { hash: tx.hash, nonce: Number(tx.nonce), block, status: receipt?.status ?? 'missing', auth };
  });
  const byAuth = new Map();
  for (const t of txs) {
    if (!t.auth) continue;
    if (!byAuth.has(t.auth)) byAuth.set(t.auth, []);
    byAuth.get(t.auth).push(t);
  }
  return {
    txs: txs.length,
    reverted: txs.filter((t) => t.status !== '0x1'),
    other: txs.filter((t) => !t.auth),
    byAuth,
    duplicates: [...byAuth.entries()].filter(([, list]) => list.length > 1).map(([k]) => k),
  };
}

/** The successful on-chain transaction of a payment, if any. */
const movedIn = (audit, body) => audit.byAuth.get(paymentAuthKey(body))?.find((t) => t.status === '0x1') ?? null;

/** A scenario's outcome with the audit's metrics and invariants added. */
function withAudit(audit, out) {
  const a = auditReport(audit);
  return { ...out, metrics: { ...out.metrics, ...a.metrics }, invariants: [...out.invariants, ...a.invariants] };
}

/** Audit metrics and invariants shared by the scenarios. */
function auditReport(audit) {
  return {
    metrics: {
      chainTxs: audit.txs,
      chainReverted: audit.reverted.length,
      chainOtherTxs: audit.other.length,
      chainAuthorizationsSentTwice: audit.duplicates.length,
    },
    invariants: [
      inv(
        'on chain: no authorization sent more than once',
        audit.duplicates.length === 0,
        audit.duplicates
          .slice(0, 3)
          .map((k) => `${k}: ${audit.byAuth.get(k).map((t) => `${t.hash} (${t.status})`).join(', ')}`)
          .join('; '),
      ),
      inv(
        'on chain: no facilitator transaction reverted',
        audit.reverted.length === 0,
        audit.reverted.slice(0, 3).map((t) => `${t.hash} nonce ${t.nonce} (${t.status})`).join('; '),
      ),
    ],
  };
}

const inv = (name, ok, detail = '') => ({ name, ok: Boolean(ok), detail });

const fmtReasons = (m) =>
  Object.keys(m).length === 0
    ? '{}'
    : `{${Object.entries(m)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}}`;

/** Up to `n` example failure bodies, for the report. */
function failureExamples(replies, n = 3) {
  const seen = new Set();
  const out = [];
  for (const r of replies) {
    if (succeeded(r)) continue;
    const reason = failureReason(r);
    if (seen.has(reason)) continue;
    seen.add(reason);
    out.push(r.status === 0 ? `${reason}: ${r.message ?? ''}` : `HTTP ${r.status}: ${(r.text ?? '').slice(0, 400)}`);
    if (out.length >= n) break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// scenarios 1 + 2: distinct payments, all at once

async function distinctBody(ctx, { count, blockTime }) {
  const stack = await ctx.startStack({ blockTime });
  const token = stack.token.address;
  const payTo = freshAddress();
  ctx.log(`signing ${count} payments`);
  const payments = await distinctPayments({ token, payTo, count });
  const sum = payments.reduce((a, p) => a + p.amount, 0n);
  const before = await snapshot(stack, payTo);

  ctx.log(`${count} concurrent /settle`);
  const t0 = performance.now();
  const replies = await Promise.all(payments.map((p) => postSettle(stack.facilitatorUrl, p.body, ctx.signal)));
  const loadMs = performance.now() - t0;

  const counts = await settledTxCount(stack.rpcUrl, stack.facilitatorAddress, { signal: ctx.signal });
  const after = await snapshot(stack, payTo);
  const s = summarize(replies);
  const receiptProblems = await checkReceipts(stack.rpcUrl, s.txHashes, { facilitator: stack.facilitatorAddress, token });
  const nonceDelta = counts.latest - before.nonce;
  const balanceDelta = after.balance - before.balance;
  const audit = await auditChain(stack, { fromBlock: before.block, toBlock: after.block });

  return withAudit(audit, {
    metrics: {
      settles: count,
      ok: s.ok,
      failed: s.failed,
      failuresByReason: s.failuresByReason,
      nonceErrors: s.nonceErrors,
      http5xx: s.http5xx,
      distinctTxHashes: s.txHashes.size,
      payToDelta: balanceDelta,
      expectedPayToDelta: sum,
      facilitatorNonceDelta: nonceDelta,
      stillPending: counts.pending - counts.latest,
      loadMs,
      p50Ms: s.p50Ms,
      p95Ms: s.p95Ms,
    },
    invariants: [
      inv('all settles succeed', s.ok === count, `${s.ok}/${count}`),
      inv('no nonce errors', s.nonceErrors === 0, `${s.nonceErrors}`),
      inv('no HTTP 5xx', s.http5xx === 0, `${s.http5xx}`),
      inv('one distinct tx hash per payment', s.txHashes.size === count, `${s.txHashes.size}/${count}`),
      inv('facilitator nonce delta == settles', nonceDelta === count, `${nonceDelta} (expected ${count})`),
      inv('payTo balance delta == sum of amounts', balanceDelta === sum, `${balanceDelta} (expected ${sum})`),
      inv(
        'every reported tx is mined, successful, facilitator -> token',
        receiptProblems.length === 0,
        receiptProblems.slice(0, 3).join('; '),
      ),
    ],
    notes: failureExamples(replies).map((e) => `example failure: ${e}`),
  });
}

/** Scenario 1: `count` concurrent settles of distinct payments, anvil automine. */
export function distinctAutomine({ count = DEFAULTS.distinct, timeoutMs = TIMEOUTS_S['distinct-automine'] * 1000, log, echo } = {}) {
  return runScenario('distinct-automine', { timeoutMs, log, echo }, (ctx) => distinctBody(ctx, { count }));
}

/** Scenario 2: the same with anvil --block-time (default 1 s). */
export function distinctBlocktime({
  count = DEFAULTS.distinct,
  blockTime = 1,
  timeoutMs = TIMEOUTS_S['distinct-blocktime'] * 1000,
  log,
  echo,
} = {}) {
  return runScenario('distinct-blocktime', { timeoutMs, log, echo }, (ctx) => distinctBody(ctx, { count, blockTime }));
}

// ---------------------------------------------------------------------------------------------------
// scenario 3: one payment, many concurrent settles

/** Scenario 3: `count` concurrent settles of ONE payment: one transfer, exactly one success, the others refused. */
export function samePayment({ count = DEFAULTS.same, timeoutMs = TIMEOUTS_S['same-payment'] * 1000, log, echo } = {}) {
  return runScenario('same-payment', { timeoutMs, log, echo }, async (ctx) => {
    const stack = await ctx.startStack({});
    const token = stack.token.address;
    const payTo = freshAddress();
    const amount = randomAmount();
    const body = await v2Payment({ token, signer: PAYERS[1], payTo, amount });
    const before = await snapshot(stack, payTo);

    ctx.log(`${count} concurrent /settle of one payment`);
    const t0 = performance.now();
    const replies = await Promise.all(Array.from({ length: count }, () => postSettle(stack.facilitatorUrl, body, ctx.signal)));
    const loadMs = performance.now() - t0;

    const counts = await settledTxCount(stack.rpcUrl, stack.facilitatorAddress, { signal: ctx.signal });
    const after = await snapshot(stack, payTo);
    const s = summarize(replies);
    const receiptProblems = await checkReceipts(stack.rpcUrl, s.txHashes, { facilitator: stack.facilitatorAddress, token });
    const nonceDelta = counts.latest - before.nonce;
    const balanceDelta = after.balance - before.balance;
    const audit = await auditChain(stack, { fromBlock: before.block, toBlock: after.block });
    const namedHashes = new Set(replies.map((r) => r.json?.transaction).filter(Boolean));

    return withAudit(audit, {
      metrics: {
        settles: count,
        ok: s.ok,
        failed: s.failed,
        failuresByReason: s.failuresByReason,
        nonceErrors: s.nonceErrors,
        http5xx: s.http5xx,
        distinctTxHashes: s.txHashes.size,
        payToDelta: balanceDelta,
        expectedPayToDelta: amount,
        facilitatorNonceDelta: nonceDelta,
        stillPending: counts.pending - counts.latest,
        loadMs,
        p50Ms: s.p50Ms,
        p95Ms: s.p95Ms,
      },
      invariants: [
        inv('exactly one response is a success', s.ok === 1, `${s.ok}/${count}`),
        inv(
          'every other response is refused as a duplicate or a used nonce',
          replies.filter((r) => !succeeded(r)).every((r) => REFUSED_AS_SETTLED.includes(r.json?.errorReason)),
          Object.keys(s.failuresByReason).join(', '),
        ),
        inv('every named tx is the same', namedHashes.size === 1 && s.txHashes.size === 1, [...namedHashes].slice(0, 4).join(', ')),
        inv('no HTTP 5xx', s.http5xx === 0, `${s.http5xx}`),
        inv('exactly one transfer: facilitator nonce delta == 1', nonceDelta === 1, `${nonceDelta}`),
        inv('payTo balance delta == amount', balanceDelta === amount, `${balanceDelta} (expected ${amount})`),
        inv('the tx is mined, successful, facilitator -> token', receiptProblems.length === 0, receiptProblems.join('; ')),
      ],
      notes: failureExamples(replies).map((e) => `example failure: ${e}`),
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// scenario 4: restart the worker in the middle of a load

/**
 * Scenario 4: `count` distinct settles, at most `concurrency` at once; once `restartAfter` have been sent,
 * only `wrangler dev` is stopped and started again (same port, same --persist-to). A settle that got no
 * answer because of the connection is sent again with the same body (after the worker is back), at most
 * `connectRetries` times. Then every payment is settled once more.
 */
export function restart({
  count = DEFAULTS.restart,
  restartAfter = DEFAULTS.restartAfter,
  concurrency = DEFAULTS.restartConcurrency,
  connectRetries = DEFAULTS.connectRetries,
  lateResettleMs = 0,
  timeoutMs = TIMEOUTS_S.restart * 1000 + lateResettleMs,
  log,
  echo,
} = {}) {
  return runScenario('restart', { timeoutMs, log, echo }, async (ctx) => {
    const persistDir = fs.mkdtempSync(path.join(os.tmpdir(), 'x402-edge-load-state-'));
    // The stack does not remove a persistDir it was given: removed once the stack is stopped.
    ctx.onCleanup(() => fs.rmSync(persistDir, { recursive: true, force: true }));
    return restartBody(ctx, { count, restartAfter, concurrency, connectRetries, lateResettleMs, persistDir });
  });
}

async function restartBody(ctx, { count, restartAfter, concurrency, connectRetries, lateResettleMs, persistDir }) {
  const stack = await ctx.startStack({ persistDir });
  const token = stack.token.address;
  const payTo = freshAddress();
  ctx.log(`signing ${count} payments`);
  const payments = await distinctPayments({ token, payTo, count });
  const sum = payments.reduce((a, p) => a + p.amount, 0n);
  const before = await snapshot(stack, payTo);

  let sent = 0;
  let restartPromise = null;
  let restartStartedAt = null;
  let restartReadyAt = null;
  let restartError = null;
  const triggerRestart = () => {
    restartStartedAt = performance.now();
    ctx.log(`restarting the worker (${sent} settles sent so far)`);
    restartPromise = stack.restartWorker().then(
      () => {
        restartReadyAt = performance.now();
        ctx.log(`worker back after ${((restartReadyAt - restartStartedAt) / 1000).toFixed(1)} s`);
      },
      (e) => {
        restartError = e;
        restartReadyAt = performance.now();
      },
    );
  };

  /** Every attempt of every payment: { index, attempt, reply }. */
  const attempts = [];
  const t0 = performance.now();
  const firstPass = await pool(payments, concurrency, async (p) => {
    let reply;
    for (let attempt = 0; attempt <= connectRetries; attempt++) {
      if (attempt > 0) {
        // The worker is (being) restarted: wait until it is back, then send the same body again.
        // (restartWorker() is bounded itself: wrangler's start-up timeout.)
        if (restartPromise) await restartPromise;
        if (restartError) break;
        await sleep(200 * attempt, ctx.signal);
      }
      if (attempt === 0) {
        sent++;
        if (sent === restartAfter && !restartPromise) {
          // Send this one, then pull the worker from under it and the others in flight.
          const pending = postSettle(stack.facilitatorUrl, p.body, ctx.signal);
          await sleep(50, ctx.signal);
          triggerRestart();
          reply = await pending;
          attempts.push({ index: p.index, attempt, reply });
          if (!isConnectionError(reply)) break;
          continue;
        }
      }
      reply = await postSettle(stack.facilitatorUrl, p.body, ctx.signal);
      attempts.push({ index: p.index, attempt, reply });
      if (!isConnectionError(reply)) break;
    }
    return reply;
  });
  if (restartPromise) await restartPromise;
  const loadMs = performance.now() - t0;
  if (restartError) throw new Error(`restarting the worker failed: ${restartError.message}`);

  ctx.log(`re-settling all ${count} payments`);
  const secondPass = await pool(payments, concurrency, (p) => postSettle(stack.facilitatorUrl, p.body, ctx.signal));

  const counts = await settledTxCount(stack.rpcUrl, stack.facilitatorAddress, { signal: ctx.signal });
  const after = await snapshot(stack, payTo);

  // Per payment: first success, how it was sent relative to the restart.
  const perPayment = payments.map((p) => {
    const mine = attempts.filter((a) => a.index === p.index);
    const firstSuccess = mine.find((a) => succeeded(a.reply))?.reply ?? null;
    const firstSentAt = mine[0]?.reply.startedAt ?? null;
    return {
      index: p.index,
      attempts: mine.length,
      connectionErrors: mine.filter((a) => isConnectionError(a.reply)).length,
      firstSuccessHash: firstSuccess?.json.transaction ?? null,
      final: firstPass[p.index],
      resettle: secondPass[p.index],
      sentAfterRestart: restartReadyAt !== null && firstSentAt !== null && firstSentAt >= restartReadyAt,
      // Sent before the worker came back (interrupted or refused), i.e. touched by the restart.
      aroundRestart:
        restartStartedAt !== null &&
        mine.some((a) => a.reply.startedAt < restartReadyAt && a.reply.startedAt + a.reply.ms >= restartStartedAt),
    };
  });

  const allReplies = attempts.map((a) => a.reply);
  const s1 = summarize(allReplies);
  const finals = summarize(firstPass);
  const s2 = summarize(secondPass);
  const hashes = new Set([...finals.txHashes, ...s2.txHashes]);
  const receiptProblems = await checkReceipts(stack.rpcUrl, hashes, { facilitator: stack.facilitatorAddress, token });
  const nonceDelta = counts.latest - before.nonce;
  const balanceDelta = after.balance - before.balance;
  const audit = await auditChain(stack, { fromBlock: before.block, toBlock: after.block });

  // Exactly one success per payment: a payment answered success is refused on re-settle, naming its
  // transaction. One that was not (its settle was cut off) is answered success by its re-settle; or
  // refused as still held while the cut-off settle's hold runs; or, when the cut-off settle finished in
  // the worker and its success went to the dropped connection, refused as used, naming the transaction
  // that moved it on chain.
  const refusedAsMovedBy = (p) =>
    REFUSED_AS_SETTLED.includes(p.resettle.json?.errorReason) &&
    p.resettle.json?.transaction === movedIn(audit, payments[p.index].body)?.hash;
  const resettleMismatch = perPayment.filter((p) =>
    p.firstSuccessHash !== null
      ? succeeded(p.resettle) || p.resettle.json?.transaction !== p.firstSuccessHash
      : !succeeded(p.resettle) && !STILL_HELD.includes(p.resettle.json?.errorReason) && !refusedAsMovedBy(p),
  );
  const doubleSuccess = perPayment.filter(
    (p) => attempts.filter((a) => a.index === p.index && succeeded(a.reply)).length + (succeeded(p.resettle) ? 1 : 0) > 1,
  );
  const afterRestart = perPayment.filter((p) => p.sentAfterRestart);
  const afterRestartFailed = afterRestart.filter((p) => !succeeded(p.final));
  const interrupted = perPayment.filter((p) => p.connectionErrors > 0);

  // What the chain says about each payment the facilitator did not answer with its first success.
  const onChain = (p) => {
    const tx = movedIn(audit, payments[p.index].body);
    return tx ? `moved in ${tx.hash} (block ${tx.block})` : 'not moved';
  };
  const answer = (r) =>
    succeeded(r)
      ? `success ${r.json.transaction}`
      : `${failureReason(r)}${r.json ? ` (transaction ${JSON.stringify(r.json.transaction ?? null)})` : ''} after ${(r.ms / 1000).toFixed(1)} s`;
  const notMoved = perPayment.filter((p) => !movedIn(audit, payments[p.index].body));
  // A settle cut off before it sent anything leaves its claim held until the hold runs out: such a
  // payment has not moved, and every settle of it meanwhile is refused as still held.
  const notMovedAnswered = notMoved.filter(
    (p) => attempts.some((a) => a.index === p.index && succeeded(a.reply)) || !STILL_HELD.includes(p.resettle.json?.errorReason),
  );
  const movedSum = payments.filter((p) => movedIn(audit, p.body)).reduce((a, p) => a + p.amount, 0n);
  const movedUnanswered = perPayment.filter(
    (p) => movedIn(audit, payments[p.index].body) && p.firstSuccessHash === null && !succeeded(p.resettle),
  );
  const notes = [];
  const troubled = perPayment.filter((p) => !succeeded(p.final) || resettleMismatch.includes(p));
  for (const p of troubled.slice(0, 10)) {
    notes.push(
      `payment #${p.index}: ${p.attempts} attempt(s), ${p.connectionErrors} connection error(s); first pass: ${answer(p.final)}; ` +
        `re-settle: ${answer(p.resettle)}${p.firstSuccessHash ? ` (first success ${p.firstSuccessHash})` : ''}; on chain: ${onChain(p)}`,
    );
  }
  if (troubled.length > 10) notes.push(`… and ${troubled.length - 10} more`);

  // Diagnosis only (--late-resettle): settle the payments still without a success once more, much later.
  const unanswered = perPayment.filter((p) => p.firstSuccessHash === null && !succeeded(p.resettle));
  if (lateResettleMs > 0 && unanswered.length > 0) {
    ctx.log(`waiting ${lateResettleMs / 1000} s, then re-settling the ${unanswered.length} payment(s) without a success`);
    await sleep(lateResettleMs, ctx.signal);
    const late = await pool(unanswered, concurrency, (p) => postSettle(stack.facilitatorUrl, payments[p.index].body, ctx.signal));
    const lateAudit = await auditChain(stack, { fromBlock: before.block, toBlock: Number(await rpc(stack.rpcUrl, 'eth_blockNumber')) });
    unanswered.forEach((p, i) => {
      const tx = movedIn(lateAudit, payments[p.index].body);
      notes.push(
        `late re-settle (+${lateResettleMs / 1000} s, informational) of #${p.index}: ${answer(late[i])}; ` +
          `on chain now: ${tx ? `moved in ${tx.hash} (block ${tx.block})` : 'not moved'}`,
      );
    });
  }
  for (const e of failureExamples(allReplies)) notes.push(`example failed attempt: ${e}`);

  return withAudit(audit, {
    metrics: {
      settles: count,
      restartAfterSends: restartAfter,
      concurrency,
      restartDowntimeMs: restartReadyAt !== null ? restartReadyAt - restartStartedAt : null,
      attempts: allReplies.length,
      connectionErrors: allReplies.filter(isConnectionError).length,
      paymentsInterrupted: interrupted.length,
      paymentsAroundRestart: perPayment.filter((p) => p.aroundRestart).length,
      paymentsSentAfterRestart: afterRestart.length,
      ok: finals.ok,
      failed: finals.failed,
      failuresByReason: finals.failuresByReason,
      attemptFailuresByReason: s1.failuresByReason,
      nonceErrors: s1.nonceErrors + s2.nonceErrors,
      http5xx: s1.http5xx + s2.http5xx,
      distinctTxHashes: finals.txHashes.size,
      paymentsNotMovedOnChain: notMoved.length,
      paymentsMovedButNotAnswered: movedUnanswered.length,
      resettleOk: s2.ok,
      resettleFailuresByReason: s2.failuresByReason,
      resettleDistinctTxHashes: s2.txHashes.size,
      payToDelta: balanceDelta,
      expectedPayToDelta: sum,
      facilitatorNonceDelta: nonceDelta,
      stillPending: counts.pending - counts.latest,
      loadMs,
      p50Ms: s1.p50Ms,
      p95Ms: s1.p95Ms,
      resettleP50Ms: s2.p50Ms,
      resettleP95Ms: s2.p95Ms,
    },
    invariants: [
      inv('the worker was restarted mid-load', restartReadyAt !== null && restartPromise !== null),
      inv('each payment moved funds at most once: payTo delta == sum of the moved', balanceDelta === movedSum, `${balanceDelta} (expected ${movedSum} of ${sum})`),
      inv('facilitator nonce delta == payments moved', nonceDelta === count - notMoved.length, `${nonceDelta} (expected ${count - notMoved.length})`),
      inv(
        'a payment that did not move was cut off before sending and is still held (never answered success)',
        notMovedAnswered.length === 0,
        `${notMoved.length} not moved, ${notMovedAnswered.length} answered otherwise`,
      ),
      inv('no payment is answered success twice', doubleSuccess.length === 0, `${doubleSuccess.length}`),
      inv(
        're-settles: refused (naming the tx) after a success, else success or still held',
        resettleMismatch.length === 0,
        resettleMismatch.length ? `${resettleMismatch.length} not: #${resettleMismatch.slice(0, 10).map((p) => p.index).join(', #')}` : `${count}/${count}`,
      ),
      inv(
        'settles sent after the restart succeed (the nonce recovers)',
        afterRestart.length > 0 && afterRestartFailed.length === 0,
        `${afterRestart.length - afterRestartFailed.length}/${afterRestart.length}`,
      ),
      inv('no nonce errors', s1.nonceErrors + s2.nonceErrors === 0, `${s1.nonceErrors + s2.nonceErrors}`),
      inv('no HTTP 5xx', s1.http5xx + s2.http5xx === 0, `${s1.http5xx + s2.http5xx}`),
      inv('every reported tx is mined, successful, facilitator -> token', receiptProblems.length === 0, receiptProblems.slice(0, 3).join('; ')),
    ],
    notes,
  });
}

// ---------------------------------------------------------------------------------------------------
// scenario 5: a dead RPC listed before the live one

/** A loopback port that nothing listens on: bound, then closed. */
function closedPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Scenario 5: EVM_RPC_URL_BASE_SEPOLIA = "<closed port>,<anvil>"; `count` settles must all succeed through
 * the second endpoint.
 */
export function deadFirstRpc({
  count = DEFAULTS.deadRpc,
  concurrency = DEFAULTS.deadRpcConcurrency,
  timeoutMs = TIMEOUTS_S['dead-first-rpc'] * 1000,
  log,
  echo,
} = {}) {
  return runScenario('dead-first-rpc', { timeoutMs, log, echo }, async (ctx) => {
    const dead = await closedPort();
    const deadUrl = `http://127.0.0.1:${dead}`;
    const stack = await ctx.startStack({
      env: ({ rpcUrl, network }) => ({ [rpcVarName(network)]: `${deadUrl},${rpcUrl}` }),
    });
    const token = stack.token.address;
    const payTo = freshAddress();
    const payments = await distinctPayments({ token, payTo, count });
    const sum = payments.reduce((a, p) => a + p.amount, 0n);
    const before = await snapshot(stack, payTo);

    ctx.log(`${count} settles, ${concurrency} at once, first RPC ${deadUrl} (closed)`);
    const t0 = performance.now();
    const replies = await pool(payments, concurrency, (p) => postSettle(stack.facilitatorUrl, p.body, ctx.signal));
    const loadMs = performance.now() - t0;

    const counts = await settledTxCount(stack.rpcUrl, stack.facilitatorAddress, { signal: ctx.signal });
    const after = await snapshot(stack, payTo);
    const s = summarize(replies);
    const receiptProblems = await checkReceipts(stack.rpcUrl, s.txHashes, { facilitator: stack.facilitatorAddress, token });
    const nonceDelta = counts.latest - before.nonce;
    const balanceDelta = after.balance - before.balance;
    const audit = await auditChain(stack, { fromBlock: before.block, toBlock: after.block });
    return withAudit(audit, {
      metrics: {
        settles: count,
        concurrency,
        ok: s.ok,
        failed: s.failed,
        failuresByReason: s.failuresByReason,
        nonceErrors: s.nonceErrors,
        http5xx: s.http5xx,
        distinctTxHashes: s.txHashes.size,
        payToDelta: balanceDelta,
        expectedPayToDelta: sum,
        facilitatorNonceDelta: nonceDelta,
        stillPending: counts.pending - counts.latest,
        loadMs,
        p50Ms: s.p50Ms,
        p95Ms: s.p95Ms,
      },
      invariants: [
        inv('all settles succeed', s.ok === count, `${s.ok}/${count}`),
        inv('no nonce errors', s.nonceErrors === 0, `${s.nonceErrors}`),
        inv('no HTTP 5xx', s.http5xx === 0, `${s.http5xx}`),
        inv('one distinct tx hash per payment', s.txHashes.size === count, `${s.txHashes.size}/${count}`),
        inv('facilitator nonce delta == settles', nonceDelta === count, `${nonceDelta} (expected ${count})`),
        inv('payTo balance delta == sum of amounts', balanceDelta === sum, `${balanceDelta} (expected ${sum})`),
        inv('every reported tx is mined, successful, facilitator -> token', receiptProblems.length === 0, receiptProblems.slice(0, 3).join('; ')),
      ],
      notes: failureExamples(replies).map((e) => `example failure: ${e}`),
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// registry and report

/** The scenarios in order: name, run(opts), and how CLI counts map onto its options. */
export const SCENARIOS = Object.freeze([
  { name: 'distinct-automine', run: distinctAutomine, options: (c) => ({ count: c.distinct }) },
  { name: 'distinct-blocktime', run: distinctBlocktime, options: (c) => ({ count: c.distinct, blockTime: c.blockTime }) },
  { name: 'same-payment', run: samePayment, options: (c) => ({ count: c.same }) },
  {
    name: 'restart',
    run: restart,
    options: (c) => ({
      count: c.restart,
      restartAfter: c.restartAfter,
      concurrency: c.restartConcurrency,
      connectRetries: c.connectRetries,
      lateResettleMs: c.lateResettle * 1000,
    }),
  },
  { name: 'dead-first-rpc', run: deadFirstRpc, options: (c) => ({ count: c.deadRpc, concurrency: c.deadRpcConcurrency }) },
]);

const ms = (v) => (v === null || v === undefined ? 'n/a' : `${Math.round(v)} ms`);
const secs = (v) => `${(v / 1000).toFixed(1)} s`;

/** The compact text report of one scenario result. */
export function formatResult(r) {
  const m = r.metrics ?? {};
  const label = { pass: 'PASS', fail: 'FAIL', skip: 'SKIPPED' }[r.status] ?? r.status.toUpperCase();
  const lines = [`== ${r.name}: ${label}  (wall ${secs(r.wallMs)})`];
  if (r.status === 'skip') lines.push(`   ${r.skipReason}`);
  if (m.settles !== undefined) {
    const extra = [];
    if (m.restartAfterSends !== undefined) {
      extra.push(
        `restart after ${m.restartAfterSends} sends (downtime ${ms(m.restartDowntimeMs)}), concurrency ${m.concurrency}`,
        `attempts ${m.attempts}, connection errors ${m.connectionErrors}, payments interrupted ${m.paymentsInterrupted}, ` +
          `around the restart ${m.paymentsAroundRestart}, sent after it ${m.paymentsSentAfterRestart}`,
      );
    } else if (m.concurrency !== undefined) extra.push(`concurrency ${m.concurrency}`);
    lines.push(`   settles ${m.settles}: ok ${m.ok}, failed ${m.failed} ${fmtReasons(m.failuresByReason)}`);
    for (const e of extra) lines.push(`   ${e}`);
    if (m.attemptFailuresByReason && Object.keys(m.attemptFailuresByReason).length)
      lines.push(`   failed attempts by reason ${fmtReasons(m.attemptFailuresByReason)}`);
    if (m.resettleOk !== undefined)
      lines.push(
        `   re-settle: ok ${m.resettleOk}/${m.settles} ${fmtReasons(m.resettleFailuresByReason)}, distinct tx hashes ${m.resettleDistinctTxHashes}, ` +
          `p50 ${ms(m.resettleP50Ms)}, p95 ${ms(m.resettleP95Ms)}`,
      );
    lines.push(`   nonce errors ${m.nonceErrors}, HTTP 5xx ${m.http5xx}, distinct tx hashes ${m.distinctTxHashes}`);
    lines.push(
      `   payTo balance delta ${m.payToDelta} (expected ${m.expectedPayToDelta}), facilitator nonce delta ${m.facilitatorNonceDelta}` +
        (m.stillPending ? ` (+${m.stillPending} still pending)` : ''),
    );
    if (m.chainTxs !== undefined)
      lines.push(
        `   on chain: ${m.chainTxs} facilitator txs, ${m.chainReverted} reverted, ${m.chainAuthorizationsSentTwice} authorizations sent twice` +
          (m.chainOtherTxs ? `, ${m.chainOtherTxs} other txs` : '') +
          (m.paymentsNotMovedOnChain !== undefined
            ? `; payments not moved ${m.paymentsNotMovedOnChain}, moved but not answered with success ${m.paymentsMovedButNotAnswered}`
            : ''),
      );
    lines.push(`   load ${secs(m.loadMs)}, settle latency p50 ${ms(m.p50Ms)}, p95 ${ms(m.p95Ms)}`);
  }
  for (const i of r.invariants ?? []) lines.push(`   ${i.ok ? 'ok  ' : 'FAIL'} ${i.name}${i.detail ? `: ${i.detail}` : ''}`);
  for (const n of r.notes ?? []) lines.push(`   note: ${n}`);
  if (r.error) lines.push(`   error: ${r.error.split('\n').slice(0, 12).join('\n          ')}`);
  return lines.join('\n');
}
