// The tracking store (@x402-edge/sdk/tracking) on both of its databases with one suite: D1 as `wrangler
// dev` runs it (workerd's SQLite, through wrangler's platform proxy) and a real PostgreSQL server from npm
// (scripts/lib/postgres.mjs, driven by `pg`). The same schema and SQL text run on both.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import pg from 'pg';
import { getPlatformProxy } from 'wrangler';

import {
  BudgetStore,
  d1Client,
  keyAgent,
  payerAgent,
  ENTITLEMENT_ID,
  EntitlementStore,
  handleTrackingAdmin,
  InvalidQuery,
  PaymentTrace,
  PaymentTracker,
  postgresClient,
  SqlTrackingStore,
  TRACKING_MIGRATIONS,
  TRACKING_SCHEMA,
} from '@x402-edge/sdk/tracking';

import { startPostgres } from '../../scripts/lib/postgres.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const T0 = Date.UTC(2026, 11, 1);
const PAYER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const USDC = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';
const PAY_TO = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const SOLANA_PAYER = 'Gh9ZwEmdLJ8DscKNTkTqPbNwLNNBjuSzaG9Vp2KGtKJr';

/** Starts each database once for the whole file; `stores[kind]()` gives a store on an empty table. */
const backends = {
  async d1() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x402-edge-d1-'));
    const config = path.join(dir, 'wrangler.toml');
    fs.writeFileSync(
      config,
      ['name = "tracking-store-test"', 'compatibility_date = "2025-11-01"', '[[d1_databases]]', 'binding = "TRACKING_DB"', 'database_name = "x402-edge-tracking"', 'database_id = "local"', ''].join('\n'),
    );
    const { env, dispose } = await getPlatformProxy({ configPath: config, persist: false });
    const sql = d1Client(env.TRACKING_DB);
    return { sql, stop: async () => (await dispose(), fs.rmSync(dir, { recursive: true, force: true })) };
  },
  async postgres() {
    const server = await startPostgres();
    // A pool: concurrent statements run on separate connections, as Hyperdrive's do.
    const pool = new pg.Pool({ connectionString: server.url, max: 10 });
    return { sql: postgresClient(pool), stop: async () => (await pool.end(), await server.stop()) };
  },
};

/** A record as the gateway writes it, with `overrides`. */
function record(overrides = {}) {
  return {
    id: crypto.randomUUID(),
    atMs: T0,
    method: 'GET',
    path: '/premium',
    resource: 'http://127.0.0.1:8788/premium',
    clientIp: null,
    userAgent: 'x402-fetch/2.27',
    scheme: 'exact',
    network: 'eip155:84532',
    asset: USDC,
    payTo: PAY_TO,
    amount: '10000',
    requirements: JSON.stringify({ scheme: 'exact', network: 'eip155:84532', amount: '10000' }),
    payer: PAYER,
    verifyOutcome: 'valid',
    verifyReason: null,
    handlerRan: true,
    originStatus: 200,
    settleOutcome: 'settled',
    settleReason: null,
    transaction: `0x${'ab'.repeat(32)}`,
    verifyMs: 3,
    handlerMs: 12,
    settleMs: 20,
    totalMs: 40,
    ...overrides,
  };
}

/** As the store gives it back: EVM addresses in lower case. */
const stored = (r) => ({ ...r, payer: r.payer?.startsWith('0x') ? r.payer.toLowerCase() : r.payer, asset: r.asset?.toLowerCase() ?? null, payTo: r.payTo?.toLowerCase() ?? null });

test('the D1 migrations are the schema the store creates, file by file', () => {
  const dir = path.join(ROOT, 'gateway/migrations');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  assert.deepEqual(files, ['0001_tracking.sql', '0002_entitlements.sql', '0003_budgets.sql', '0004_indexer.sql']);
  const statements = files.map((f) =>
    fs
      .readFileSync(path.join(dir, f), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('--'))
      .join('\n')
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  assert.deepEqual(statements, TRACKING_MIGRATIONS.map((m) => [...m]));
  assert.deepEqual(statements.flat(), [...TRACKING_SCHEMA]);
});

for (const kind of Object.keys(backends)) {
  describe(`tracking store on ${kind}`, () => {
    let backend;
    /** A store on a fresh, empty table (the schema applied twice: it is idempotent). */
    const freshStore = async () => {
      await backend.sql.run('DROP TABLE IF EXISTS x402_payments', []);
      await backend.sql.run('DROP TABLE IF EXISTS x402_entitlements', []);
      await backend.sql.run('DROP TABLE IF EXISTS x402_budgets', []);
      const store = new SqlTrackingStore(backend.sql);
      await store.migrate();
      await store.migrate();
      return store;
    };
    before(async () => {
      backend = await backends[kind]();
    });
    after(async () => {
      await backend?.stop();
    });

    test('a record reads back with every field; a retried write of it changes nothing', async () => {
      const store = await freshStore();
      const full = record({ clientIp: '127.0.0.1', originStatus: 201 });
      await store.insert(full);
      await store.insert({ ...full, settleOutcome: 'failed' });
      const page = await store.list({ limit: 10 });
      assert.deepEqual(page, { records: [stored(full)], nextCursor: null });
      const sparse = record({ id: 'sparse', atMs: T0 + 1, scheme: null, network: null, asset: null, payTo: null, amount: null, requirements: null, payer: null, verifyOutcome: 'invalid', verifyReason: 'invalid_payload', handlerRan: false, originStatus: null, settleOutcome: 'not_attempted', transaction: null, verifyMs: null, handlerMs: null, settleMs: null, userAgent: null });
      await store.insert(sparse);
      assert.deepEqual((await store.list({ limit: 1 })).records, [sparse]);
    });

    test('filters: time range, network, payer (EVM case-insensitive, Solana exact), path, outcomes', async () => {
      const store = await freshStore();
      const rows = [
        record({ id: 'a', atMs: T0 }),
        record({ id: 'b', atMs: T0 + 10, network: 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1', payer: SOLANA_PAYER, asset: 'So11111111111111111111111111111111111111112' }),
        record({ id: 'c', atMs: T0 + 20, path: '/metered', resource: 'http://127.0.0.1:8788/metered' }),
        record({ id: 'd', atMs: T0 + 30, verifyOutcome: 'invalid', verifyReason: 'invalid_exact_evm_signature', handlerRan: false, settleOutcome: 'not_attempted', transaction: null }),
        record({ id: 'e', atMs: T0 + 40, settleOutcome: 'failed', settleReason: 'insufficient_funds', transaction: null }),
      ];
      for (const r of rows) await store.insert(r);
      const ids = async (q) => (await store.list({ limit: 100, ...q })).records.map((r) => r.id);
      assert.deepEqual(await ids({}), ['e', 'd', 'c', 'b', 'a'], 'newest first');
      assert.deepEqual(await ids({ from: T0 + 10, to: T0 + 30 }), ['c', 'b'], 'from inclusive, to exclusive');
      assert.deepEqual(await ids({ network: 'eip155:84532' }), ['e', 'd', 'c', 'a']);
      assert.deepEqual(await ids({ payer: PAYER.toLowerCase() }), ['e', 'd', 'c', 'a']);
      assert.deepEqual(await ids({ payer: PAYER.toUpperCase().replace('0X', '0x') }), ['e', 'd', 'c', 'a']);
      assert.deepEqual(await ids({ payer: SOLANA_PAYER }), ['b']);
      assert.deepEqual(await ids({ payer: SOLANA_PAYER.toLowerCase() }), [], 'base58 is case-sensitive');
      assert.deepEqual(await ids({ path: '/metered' }), ['c']);
      assert.deepEqual(await ids({ verify: 'invalid' }), ['d']);
      assert.deepEqual(await ids({ settle: 'failed' }), ['e']);
      assert.deepEqual(await ids({ settle: 'settled', network: 'eip155:84532', from: T0 + 1 }), ['c']);
    });

    test('cursor paging: every record once, newest first, ties on the same millisecond ordered by id', async () => {
      const store = await freshStore();
      const rows = Array.from({ length: 7 }, (_, i) => record({ id: `r${i}`, atMs: T0 + Math.floor(i / 3) }));
      for (const r of rows) await store.insert(r);
      const seen = [];
      let cursor;
      let pages = 0;
      do {
        const page = await store.list({ limit: 3, cursor });
        assert.ok(page.records.length <= 3);
        seen.push(...page.records.map((r) => r.id));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor);
      assert.equal(pages, 3);
      assert.deepEqual(seen, ['r6', 'r5', 'r4', 'r3', 'r2', 'r1', 'r0']);
      await assert.rejects(store.list({ limit: 3, cursor: 'not-a-cursor' }), (e) => e instanceof InvalidQuery && e.parameter === 'cursor');
    });

    // Groups: the largest count first, then by key.
    test('stats: counts, exact revenue per asset/network, resource and payer (amounts past 2^64), nearest-rank latency', async () => {
      const store = await freshStore();
      const big = '123456789012345678901234567'; // 27 digits: no SQL integer holds a sum of these
      const rows = [
        record({ id: 's1', amount: '10000', verifyMs: 1, settleMs: 10, totalMs: 15 }),
        record({ id: 's2', amount: '10000', payer: PAYER.toLowerCase(), verifyMs: 2, settleMs: 20, totalMs: 25 }),
        record({ id: 's3', amount: '2500', path: '/metered', resource: 'http://127.0.0.1:8788/metered', payer: '0x90F79bf6EB2c4f870365E785982E1f101E93b906', verifyMs: 3, settleMs: 30, totalMs: 35 }),
        record({ id: 's4', amount: big, asset: '0x5FbDB2315678afecb367f032d93F642f64180aa3', verifyMs: 4, settleMs: 40, totalMs: 45 }),
        record({ id: 's5', amount: big, asset: '0x5FbDB2315678afecb367f032d93F642f64180aa3', verifyMs: 5, settleMs: 50, totalMs: 55 }),
        record({ id: 'f1', settleOutcome: 'failed', settleReason: 'invalid_exact_evm_nonce_already_used', transaction: null, verifyMs: 6, settleMs: 60, totalMs: 65 }),
        record({ id: 'n1', verifyOutcome: 'invalid', verifyReason: 'invalid_exact_evm_signature', handlerRan: false, settleOutcome: 'not_attempted', transaction: null, verifyMs: 7, settleMs: null, handlerMs: null, totalMs: 8 }),
        record({ id: 'old', atMs: T0 - 1, amount: '999' }),
      ];
      for (const r of rows) await store.insert(r);
      const stats = await store.stats(T0, T0 + 1000);
      assert.equal(stats.count, 7);
      assert.equal(stats.verified, 6);
      assert.equal(stats.handlerRan, 6);
      assert.equal(stats.settled, 5);
      assert.equal(stats.settleFailed, 1);
      assert.equal(stats.successRate, 5 / 7);
      const usdc = USDC.toLowerCase();
      const token = '0x5fbdb2315678afecb367f032d93f642f64180aa3';
      assert.deepEqual(stats.revenue, [
        { network: 'eip155:84532', asset: usdc, count: 3, amount: '22500' },
        { network: 'eip155:84532', asset: token, count: 2, amount: (2n * BigInt(big)).toString() },
      ]);
      assert.deepEqual(
        stats.byResource.map((r) => [r.resource, r.asset, r.count, r.amount]),
        [
          ['http://127.0.0.1:8788/premium', usdc, 2, '20000'],
          ['http://127.0.0.1:8788/premium', token, 2, (2n * BigInt(big)).toString()],
          ['http://127.0.0.1:8788/metered', usdc, 1, '2500'],
        ],
      );
      assert.deepEqual(
        stats.byPayer.map((r) => [r.payer, r.asset, r.count, r.amount]),
        [
          [PAYER.toLowerCase(), usdc, 2, '20000'],
          [PAYER.toLowerCase(), token, 2, (2n * BigInt(big)).toString()],
          ['0x90f79bf6eb2c4f870365e785982e1f101e93b906', usdc, 1, '2500'],
        ].sort((a, b) => b[2] - a[2] || String(a[0]).localeCompare(String(b[0])) || String(a[1]).localeCompare(String(b[1]))),
      );
      // Nearest rank: p50 of 7 values is the 4th, p95 the 7th; settle has 6 values (3rd and 6th).
      assert.deepEqual(stats.latencyMs, { verify: { p50: 4, p95: 7 }, settle: { p50: 30, p95: 60 }, total: { p50: 35, p95: 65 } });
      const empty = await store.stats(T0 + 5000, T0 + 6000);
      assert.equal(empty.count, 0);
      assert.equal(empty.successRate, null);
      assert.deepEqual(empty.revenue, []);
      assert.deepEqual(empty.latencyMs, { verify: { p50: null, p95: null }, settle: { p50: null, p95: null }, total: { p50: null, p95: null } });
    });

    test('the admin API: the key in constant time, 400 naming a bad parameter, pages and stats as JSON', async () => {
      const store = await freshStore();
      for (let i = 0; i < 3; i++) await store.insert(record({ id: `a${i}`, atMs: T0 + i }));
      const adminKey = 'test-admin-key-0123456789';
      const call = (url, key = adminKey, method = 'GET') =>
        handleTrackingAdmin(new Request(`http://gateway.local${url}`, { method, headers: key ? { authorization: `Bearer ${key}` } : {} }), { store, adminKey, now: () => T0 + 1000 });
      assert.equal(await call('/premium'), null, 'not an admin path: the caller serves it');
      assert.equal((await call('/__x402/payments', null)).status, 401);
      assert.equal((await call('/__x402/payments', 'test-admin-key-012345678X')).status, 401);
      assert.equal((await call('/__x402/payments', adminKey, 'POST')).status, 405);
      const off = await handleTrackingAdmin(new Request('http://gateway.local/__x402/stats', { headers: { authorization: 'Bearer x' } }), { store, adminKey: undefined });
      assert.equal(off.status, 403);
      for (const [query, parameter] of [
        ['limit=0', 'limit'],
        ['limit=501', 'limit'],
        ['limit=2.5', 'limit'],
        ['from=yesterday', 'from'],
        ['verify=maybe', 'verify'],
        ['settle=paid', 'settle'],
        ['cursor=%7B%7D', 'cursor'],
        ['payer=', 'payer'],
        ['network=a&network=b', 'network'],
        ['sort=asc', 'sort'],
      ]) {
        const res = await call(`/__x402/payments?${query}`);
        assert.equal(res.status, 400, query);
        assert.equal((await res.json()).parameter, parameter, query);
      }
      const bad = await call('/__x402/stats?from=2026-12-02&to=2026-12-01');
      assert.deepEqual([bad.status, (await bad.json()).parameter], [400, 'from']);

      const first = await (await call('/__x402/payments?limit=2')).json();
      assert.deepEqual(first.records.map((r) => r.id), ['a2', 'a1']);
      const second = await (await call(`/__x402/payments?limit=2&cursor=${first.nextCursor}`)).json();
      assert.deepEqual([second.records.map((r) => r.id), second.nextCursor], [['a0'], null]);
      const stats = await call(`/__x402/stats?from=${new Date(T0).toISOString()}`);
      assert.equal(stats.status, 200);
      const body = await stats.json();
      assert.deepEqual([body.from, body.to, body.count, body.revenue[0].amount], [T0, T0 + 1000, 3, '30000']);
    });

    test('the tracker: a write that fails is retried, then reported, never thrown; the table is created on first use', async () => {
      await backend.sql.run('DROP TABLE IF EXISTS x402_payments', []);
      const flaky = { failures: 2, inner: backend.sql };
      const sql = {
        run: async (s, p) => {
          if (s.startsWith('INSERT') && flaky.failures-- > 0) throw new Error('connection reset');
          return flaky.inner.run(s, p);
        },
        all: (s, p) => flaky.inner.all(s, p),
      };
      const reported = [];
      const tracker = new PaymentTracker(new SqlTrackingStore(sql), { retryDelaysMs: [1, 1], onTrackingError: (e, r) => reported.push([e.message, r.id]) });
      const pending = [];
      tracker.track({ waitUntil: (p) => pending.push(p) }, record({ id: 'third-time-lucky' }));
      await Promise.all(pending);
      assert.deepEqual(reported, []);
      flaky.failures = 3;
      await tracker.write(record({ id: 'lost' }));
      assert.deepEqual(reported, [['connection reset', 'lost']]);
      const ids = (await new SqlTrackingStore(backend.sql).list({ limit: 10 })).records.map((r) => r.id);
      assert.deepEqual(ids, ['third-time-lucky']);
    });

    test('series: equal buckets (empty ones too), counts, success rate, mean latencies and exact revenue per bucket', async () => {
      const store = await freshStore();
      const rows = [
        record({ id: 'a', atMs: T0 + 1, amount: '100', verifyMs: 2, settleMs: 10 }),
        record({ id: 'b', atMs: T0 + 999, amount: '200', verifyMs: 4, settleMs: 30 }),
        record({ id: 'c', atMs: T0 + 1000, settleOutcome: 'failed', transaction: null, settleMs: 50 }),
        record({ id: 'd', atMs: T0 + 3500, amount: '123456789012345678901234567', asset: '0x5FbDB2315678afecb367f032d93F642f64180aa3' }),
        record({ id: 'late', atMs: T0 + 4000 }),
      ];
      for (const r of rows) await store.insert(r);
      const series = await store.series(T0, T0 + 4000, 4);
      assert.deepEqual([series.bucketMs, series.buckets.map((b) => b.start)], [1000, [T0, T0 + 1000, T0 + 2000, T0 + 3000]]);
      assert.deepEqual(series.buckets.map((b) => [b.count, b.settled, b.successRate]), [[2, 2, 1], [1, 0, 0], [0, 0, null], [1, 1, 1]]);
      assert.deepEqual(series.buckets.map((b) => [b.verifyMsAvg, b.settleMsAvg]), [[3, 20], [3, 50], [null, null], [3, 20]]);
      assert.deepEqual(series.buckets[0].revenue, [{ network: 'eip155:84532', asset: USDC.toLowerCase(), amount: '300' }]);
      assert.deepEqual(series.buckets[1].revenue, []);
      assert.deepEqual(series.buckets[3].revenue, [{ network: 'eip155:84532', asset: '0x5fbdb2315678afecb367f032d93f642f64180aa3', amount: '123456789012345678901234567' }]);
    });

    test('entitlements: bound to one resource, limited by uses and by a window, a use given back', async () => {
      await freshStore();
      const entitlements = new EntitlementStore(backend.sql);
      const grant = (terms, now = T0) => entitlements.grant({ resource: 'GET /premium', terms, payer: PAYER, network: 'eip155:84532', transaction: `0x${'ab'.repeat(32)}`, now });

      const twice = await grant({ uses: 2 });
      assert.match(twice.id, ENTITLEMENT_ID);
      assert.deepEqual([twice.usesLeft, twice.expiresMs], [2, null]);
      assert.deepEqual(await entitlements.use(twice.id, 'GET /metered', T0), { ok: false, reason: 'entitlement_wrong_resource' });
      assert.deepEqual(await entitlements.use(twice.id, 'GET /premium', T0), { ok: true, entitlement: { id: twice.id, resource: 'GET /premium', usesLeft: 1, expiresMs: null } });
      await entitlements.giveBack(twice.id);
      assert.equal((await entitlements.use(twice.id, 'GET /premium', T0)).entitlement.usesLeft, 1, 'the use given back');
      assert.equal((await entitlements.use(twice.id, 'GET /premium', T0)).entitlement.usesLeft, 0);
      assert.deepEqual(await entitlements.use(twice.id, 'GET /premium', T0), { ok: false, reason: 'entitlement_used_up' });
      assert.deepEqual(await entitlements.use('0'.repeat(32), 'GET /premium', T0), { ok: false, reason: 'entitlement_not_found' });

      const hour = await grant({ windowSeconds: 3600 });
      assert.deepEqual([hour.usesLeft, hour.expiresMs], [null, T0 + 3_600_000]);
      for (let i = 0; i < 5; i++) assert.equal((await entitlements.use(hour.id, 'GET /premium', T0 + 3_599_999)).ok, true, 'any number of uses inside the window');
      assert.deepEqual(await entitlements.use(hour.id, 'GET /premium', T0 + 3_600_000), { ok: false, reason: 'entitlement_expired' });
      await entitlements.giveBack(hour.id); // no use count to give back: nothing changes

      const both = await grant({ uses: 1, windowSeconds: 60 });
      assert.deepEqual(await entitlements.use(both.id, 'GET /premium', T0 + 60_000), { ok: false, reason: 'entitlement_expired' });
      assert.equal((await entitlements.use(both.id, 'GET /premium', T0 + 59_000)).ok, true);
    });

    test('entitlements: 10 concurrent uses of a one-use entitlement, one succeeds', async () => {
      await freshStore();
      const entitlements = new EntitlementStore(backend.sql);
      const once = await entitlements.grant({ resource: 'GET /premium', terms: { uses: 1 }, payer: null, network: null, transaction: null, now: T0 });
      const uses = await Promise.all(Array.from({ length: 10 }, () => entitlements.use(once.id, 'GET /premium', T0)));
      assert.equal(uses.filter((u) => u.ok).length, 1, JSON.stringify(uses));
      assert.deepEqual(new Set(uses.filter((u) => !u.ok).map((u) => u.reason)), new Set(['entitlement_used_up']));
    });

    test('budgets: reserve within the limit, refuse past it naming the agent, give back, roll the window over', async () => {
      await freshStore();
      const budgets = new BudgetStore(backend.sql);
      const agent = payerAgent(PAYER);
      assert.equal(agent, `payer:${PAYER.toLowerCase()}`);
      await budgets.set({ agent, network: 'eip155:84532', asset: USDC, limit: 25_000n, windowSeconds: 60, now: T0 });
      const reserve = (amount, now = T0, agents = [agent]) => budgets.reserve(agents, 'eip155:84532', USDC.toUpperCase().replace('0X', '0x'), amount, now);
      const first = await reserve(10_000n);
      assert.deepEqual(first, { ok: true, reservation: { amount: '10000', held: [{ agent, network: 'eip155:84532', asset: USDC.toLowerCase(), windowStartMs: T0 }] } });
      assert.equal((await reserve(10_000n, T0 + 1)).ok, true);
      const refused = await reserve(10_000n, T0 + 2);
      assert.deepEqual([refused.ok, refused.agent, refused.budget.spent, refused.budget.limit], [false, agent, '20000', '25000']);
      await budgets.release(first.reservation);
      assert.equal((await budgets.list(T0 + 3))[0].spent, '10000');
      assert.equal((await reserve(15_000n, T0 + 3)).ok, true, 'exactly up to the limit');
      assert.equal((await reserve(1n, T0 + 4)).ok, false);
      // The window ends 60 s after it started: the spend starts again from zero.
      const next = await reserve(20_000n, T0 + 60_000);
      assert.equal(next.reservation.held[0].windowStartMs, T0 + 60_000);
      assert.deepEqual((await budgets.list(T0 + 60_001)).map((b) => [b.spent, b.windowStartMs]), [['20000', T0 + 60_000]]);
      // A reservation from the old window is not given back into the new one.
      await budgets.release(first.reservation);
      assert.equal((await budgets.list(T0 + 60_002))[0].spent, '20000');
      // Another asset, or an agent without a budget, is not limited.
      assert.equal((await budgets.reserve([agent], 'eip155:84532', '0x5FbDB2315678afecb367f032d93F642f64180aa3', 10n ** 20n, T0)).ok, true);
      assert.deepEqual(await budgets.reserve([payerAgent('0x90F79bf6EB2c4f870365E785982E1f101E93b906')], 'eip155:84532', USDC, 10n ** 20n, T0), { ok: true, reservation: { amount: (10n ** 20n).toString(), held: [] } });
    });

    test('budgets: all or nothing over an API key and a payer; exact carries past 2^64; 10 concurrent reservations never overspend', async () => {
      await freshStore();
      const budgets = new BudgetStore(backend.sql);
      const key = await keyAgent('agent-api-key-1');
      assert.match(key, /^key:[0-9a-f]{64}$/);
      const payer = payerAgent(PAYER);
      await budgets.set({ agent: payer, network: 'eip155:84532', asset: USDC, limit: 100_000n, windowSeconds: 3600, now: T0 });
      await budgets.set({ agent: key, network: 'eip155:84532', asset: USDC, limit: 15_000n, windowSeconds: 3600, now: T0 });
      assert.equal((await budgets.reserve([payer, key], 'eip155:84532', USDC, 10_000n, T0)).ok, true);
      const refused = await budgets.reserve([payer, key], 'eip155:84532', USDC, 10_000n, T0);
      assert.deepEqual([refused.ok, refused.agent], [false, key]);
      assert.deepEqual((await budgets.list(T0)).map((b) => [b.agent, b.spent]), [[key, '10000'], [payer, '10000']].sort(), "the payer's share was given back");

      const big = 10n ** 15n - 1n; // every add carries into hi
      const token = '0x5fbdb2315678afecb367f032d93f642f64180aa3';
      await budgets.set({ agent: payer, network: 'eip155:84532', asset: token, limit: 3n * big + 5n * 10n ** 30n, windowSeconds: 3600, now: T0 });
      const held = [];
      for (const amount of [big, big, big, 5n * 10n ** 30n]) {
        const r = await budgets.reserve([payer], 'eip155:84532', token, amount, T0);
        assert.equal(r.ok, true, String(amount));
        held.push(r.reservation);
      }
      const spentOf = async () => (await budgets.list(T0, payer)).find((b) => b.asset === token).spent;
      assert.equal(await spentOf(), (3n * big + 5n * 10n ** 30n).toString());
      assert.equal((await budgets.reserve([payer], 'eip155:84532', token, 1n, T0)).ok, false);
      await budgets.release(held[0]);
      assert.equal(await spentOf(), (2n * big + 5n * 10n ** 30n).toString(), 'given back with a borrow');

      await budgets.set({ agent: payer, network: 'eip155:84532', asset: USDC, limit: 50_000n, windowSeconds: 3600, now: T0 });
      const before = BigInt((await budgets.list(T0, payer)).find((b) => b.asset === USDC.toLowerCase()).spent);
      const results = await Promise.all(Array.from({ length: 10 }, () => budgets.reserve([payer], 'eip155:84532', USDC, 10_000n, T0)));
      assert.equal(results.filter((r) => r.ok).length, Number((50_000n - before) / 10_000n), JSON.stringify(results.map((r) => r.ok)));
      assert.equal((await budgets.list(T0, payer)).find((b) => b.asset === USDC.toLowerCase()).spent, '50000', 'never past the limit');
      assert.equal(await budgets.remove(payer, 'eip155:84532', USDC), true);
      assert.equal(await budgets.remove(payer, 'eip155:84532', USDC), false);
    });

    test('the budgets admin API: set by payer or API key (hashed), list, remove; malformed input is a 400', async () => {
      const store = await freshStore();
      const budgets = new BudgetStore(backend.sql);
      const adminKey = 'budget-admin-key';
      const call = (method, url, body) =>
        handleTrackingAdmin(new Request(`http://gateway.local${url}`, { method, headers: { authorization: `Bearer ${adminKey}` }, body: body === undefined ? undefined : JSON.stringify(body) }), { store, budgets, adminKey, now: () => T0 });
      const put = await call('PUT', '/__x402/budgets', { apiKey: 'agent-api-key-1', network: 'eip155:84532', asset: USDC, limit: '1000000', windowSeconds: 86400 });
      assert.equal(put.status, 200);
      const { budget } = await put.json();
      assert.deepEqual(budget, { agent: await keyAgent('agent-api-key-1'), network: 'eip155:84532', asset: USDC.toLowerCase(), limit: '1000000', windowSeconds: 86400, spent: '0', windowStartMs: T0 });
      assert.equal((await call('PUT', '/__x402/budgets', { payer: PAYER, network: 'eip155:84532', asset: USDC, limit: '5', windowSeconds: 60 })).status, 200);
      const listed = await (await call('GET', '/__x402/budgets')).json();
      assert.deepEqual(listed.budgets.map((b) => b.agent), [budget.agent, payerAgent(PAYER)]);
      assert.doesNotMatch(JSON.stringify(listed), /agent-api-key-1/, 'the API key is never stored or shown');
      for (const [body, parameter] of [
        [{ network: 'eip155:84532', asset: USDC, limit: '5', windowSeconds: 60 }, 'agent'],
        [{ payer: PAYER, apiKey: 'k', network: 'eip155:84532', asset: USDC, limit: '5', windowSeconds: 60 }, 'agent'],
        [{ agent: 'someone', network: 'eip155:84532', asset: USDC, limit: '5', windowSeconds: 60 }, 'agent'],
        [{ payer: PAYER, network: 'base', asset: USDC, limit: '5', windowSeconds: 60 }, 'network'],
        [{ payer: PAYER, network: 'eip155:84532', asset: USDC, limit: 5, windowSeconds: 60 }, 'limit'],
        [{ payer: PAYER, network: 'eip155:84532', asset: USDC, limit: '1'.repeat(40), windowSeconds: 60 }, 'limit'],
        [{ payer: PAYER, network: 'eip155:84532', asset: USDC, limit: '5', windowSeconds: 0 }, 'windowSeconds'],
        ['not an object', 'body'],
      ]) {
        const res = await call('PUT', '/__x402/budgets', body);
        assert.deepEqual([res.status, (await res.json()).parameter], [400, parameter], JSON.stringify(body));
      }
      const q = `agent=${encodeURIComponent(payerAgent(PAYER))}&network=eip155:84532&asset=${USDC}`;
      assert.equal((await call('DELETE', `/__x402/budgets?${q}`)).status, 200);
      assert.equal((await call('DELETE', `/__x402/budgets?${q}`)).status, 404);
      assert.equal((await call('DELETE', '/__x402/budgets?agent=x')).status, 400);
      const none = await handleTrackingAdmin(new Request('http://gateway.local/__x402/budgets', { headers: { authorization: `Bearer ${adminKey}` } }), { store, adminKey });
      assert.equal(none.status, 404, 'a host without budgets');
    });

    test('a PaymentTrace records what the request and its steps reported', async () => {
      const store = await freshStore();
      const request = new Request('http://127.0.0.1:8788/premium?x=1', { headers: { 'user-agent': 'agent/1', 'cf-connecting-ip': '127.0.0.9' } });
      const trace = new PaymentTrace(request, { clientIp: true, userAgent: true }, 'trace-1')
        .requirements({ scheme: 'exact', network: 'eip155:84532', asset: USDC, payTo: PAY_TO, amount: '10000', extra: { name: 'USDC' } })
        .payer(PAYER)
        .verified('valid', null, 2)
        .handled(200, 5)
        .settled('settled', null, `0x${'cd'.repeat(32)}`, 9);
      await store.insert(trace.finish());
      const [r] = (await store.list({ limit: 1 })).records;
      assert.equal(r.id, 'trace-1');
      assert.deepEqual(
        [r.method, r.path, r.resource, r.clientIp, r.userAgent, r.amount, r.payer, r.verifyMs, r.handlerMs, r.settleMs, r.originStatus, r.handlerRan],
        ['GET', '/premium', 'http://127.0.0.1:8788/premium', '127.0.0.9', 'agent/1', '10000', PAYER.toLowerCase(), 2, 5, 9, 200, true],
      );
      assert.equal(JSON.parse(r.requirements).extra.name, 'USDC');
      const quiet = new PaymentTrace(request, { clientIp: false, userAgent: false }).finish();
      assert.deepEqual([quiet.clientIp, quiet.userAgent, quiet.verifyOutcome, quiet.settleOutcome], [null, null, 'error', 'not_attempted']);
    });
  });
}
