// Tracking through the gateway (issue 16): the gateway in `wrangler dev`, bound to the real facilitator
// settling on anvil, writes one record per paid request to its store, once with a local D1 database
// (TRACKING_DB) and once with a real PostgreSQL server through Hyperdrive (TRACKING_HYPERDRIVE, the
// server from npm: scripts/lib/postgres.mjs). Paid with the official client; the records are read
// through the admin API.
//
// Run: node --test tests/gateway/tracking.test.mjs   (needs build/index_bg.wasm and pkg-sdk/)

import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { x402Client, x402HTTPClient } from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { chromium } from 'playwright-core';
import { privateKeyToAccount } from 'viem/accounts';

import { balanceOf, minedReceipt, rpc } from '../../scripts/lib/chain.mjs';
import pg from 'pg';

import { startPostgres } from '../../scripts/lib/postgres.mjs';
import { startGateway, startStack } from '../../scripts/lib/stack.mjs';

const NETWORK = 'eip155:84532';
const AMOUNT = 10_000n;
const ADMIN_KEY = 'tracking-test-admin-key';
const TEST_TIMEOUT_MS = 120_000;

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
let origin;
let payer, payee;
/** What the origin got: `{url, headers}`. */
const originRequests = [];

before(
  async () => {
    stack = await startStack({ local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0 });
    [payer, payee] = [1, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
    origin = createServer((req, res) => {
      originRequests.push({ url: req.url, headers: { ...req.headers } });
      const status = req.url.startsWith('/fail') || req.url.includes('fail=1') ? 500 : 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status === 200 ? { premium: true } : { error: 'origin failure' }));
    }).listen(0, '127.0.0.1');
    await once(origin, 'listening');
  },
  { timeout: 180_000 },
);

after(async () => {
  if (origin) {
    origin.closeAllConnections();
    await new Promise((resolve) => origin.close(resolve));
  }
  await stack?.stop();
});

const payeeBalance = () => balanceOf({ rpcUrl: stack.rpcUrl, token: stack.token.address, owner: payee.address });

const route = (description) => ({
  scheme: 'exact',
  network: NETWORK,
  payTo: payee.address,
  price: { amount: AMOUNT.toString(), asset: stack.token.address, extra: { name: stack.token.name, version: stack.token.version } },
  description,
  mimeType: 'application/json',
});

function startTrackedGateway(tracking, { budgets = true, trackingQueue = false } = {}) {
  return startGateway({
    trackingQueue,
    stack,
    routes: {
      'GET /premium': route('premium'),
      'GET /fail': route('fails'),
      // Entitlements: what a payment grants beyond the paid request.
      'GET /pass': { ...route('two more uses'), entitlement: { uses: 2 } },
      'GET /once': { ...route('one more use'), entitlement: { uses: 1 } },
      'GET /flaky': { ...route('fails with ?fail=1'), entitlement: { uses: 1 } },
      'GET /window': { ...route('for a second'), entitlement: { windowSeconds: 1 } },
    },
    vars: {
      ORIGIN_URL: `http://127.0.0.1:${origin.address().port}`,
      BUDGETS: String(budgets),
      // The indexer reads the local chain from its first block, judges records at once.
      INDEXER_CONFIRMATIONS: '0',
      INDEXER_START_BLOCK: '0',
      INDEXER_SETTLE_GRACE_MS: '0',
      // Two transfers a pass: the passes go on from their cursors.
      INDEXER_MAX_LOGS_PER_PASS: '2',
    },
    secrets: { ADMIN_API_KEY: ADMIN_KEY },
    tracking,
  });
}

for (const store of ['d1', 'postgres']) {
  describe(`tracking on ${store}`, () => {
    let gateway;
    let postgres;

    before(
      async () => {
        if (store === 'postgres') postgres = await startPostgres();
        gateway = await startTrackedGateway(store === 'd1' ? { d1: true } : { postgresUrl: postgres.url });
      },
      { timeout: 180_000 },
    );
    after(async () => {
      await gateway?.stop();
      await postgres?.stop();
    });

    const get = async (path, headers = {}) => {
      const res = await fetch(`${gateway.url}${path}`, { headers, signal: AbortSignal.timeout(60_000) });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text };
    };
    const admin = (path, key = ADMIN_KEY) => fetch(`${gateway.url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });

    /** A fresh PAYMENT-SIGNATURE for `path`, signed by the official client from the gateway's 402. */
    async function pay(path) {
      const unpaid = await get(path);
      assert.equal(unpaid.status, 402, unpaid.text);
      const required = decodePaymentRequiredHeader(unpaid.headers.get('payment-required'));
      const client = new x402HTTPClient(
        new x402Client().register('eip155:*', new ExactEvmScheme(toClientEvmSigner(payer))).setSpendControls({ allowedAssets: [{ network: NETWORK, asset: stack.token.address }] }),
      );
      return client.encodePaymentSignatureHeader(await client.createPaymentPayload(required));
    }

    /** The records, newest first, once `n` are there (they are written beside the response). */
    async function records(n) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const res = await admin('/__x402/payments?limit=50');
        assert.equal(res.status, 200);
        const page = await res.json();
        if (page.records.length >= n || Date.now() > deadline) return page.records;
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    test('a paid request, a failed origin, a replay and a malformed header: one record each, with every field', { timeout: TEST_TIMEOUT_MS }, async () => {
      const started = Date.now();
      const before = await payeeBalance();
      const header = await pay('/premium');
      const paid = await get('/premium', { ...header, 'user-agent': 'tracking-test/1' });
      assert.equal(paid.status, 200, paid.text);
      const receipt = decodePaymentResponseHeader(paid.headers.get('payment-response'));
      assert.equal(await payeeBalance(), before + AMOUNT);

      const failed = await get('/fail', await pay('/fail'));
      assert.equal(failed.status, 502, failed.text);
      const replay = await get('/premium', header);
      assert.equal(replay.status, 402, replay.text);
      const malformed = await get('/premium', { 'PAYMENT-SIGNATURE': '%%% not a payment %%%' });
      assert.equal(malformed.status, 402, malformed.text);
      assert.equal((await get('/premium')).status, 402, 'an unpaid request');

      const [bad, replayed, origin500, settled, ...rest] = await records(4);
      assert.deepEqual(rest, [], 'an unpaid request leaves no record');

      const tx = await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [receipt.transaction]);
      assert.equal(tx.status, '0x1');
      const resourceUrl = `${gateway.url}/premium`;
      assert.ok(settled.atMs >= started && settled.atMs <= Date.now(), 'arrival time');
      assert.deepEqual(
        {
          ...settled,
          id: typeof settled.id,
          atMs: 'checked',
          requirements: JSON.parse(settled.requirements).amount,
          verifyMs: typeof settled.verifyMs,
          handlerMs: typeof settled.handlerMs,
          settleMs: typeof settled.settleMs,
          totalMs: typeof settled.totalMs,
        },
        {
          id: 'string',
          atMs: 'checked',
          method: 'GET',
          path: '/premium',
          resource: resourceUrl,
          clientIp: null, // not kept by default
          userAgent: 'tracking-test/1',
          scheme: 'exact',
          network: NETWORK,
          asset: stack.token.address.toLowerCase(),
          payTo: payee.address.toLowerCase(),
          amount: AMOUNT.toString(),
          requirements: AMOUNT.toString(),
          payer: payer.address.toLowerCase(),
          verifyOutcome: 'valid',
          verifyReason: null,
          handlerRan: true,
          originStatus: 200,
          settleOutcome: 'settled',
          settleReason: null,
          transaction: receipt.transaction,
          verifyMs: 'number',
          handlerMs: 'number',
          settleMs: 'number',
          totalMs: 'number',
        },
      );
      assert.ok(settled.totalMs >= settled.settleMs);

      assert.deepEqual(
        [origin500.path, origin500.verifyOutcome, origin500.handlerRan, origin500.originStatus, origin500.settleOutcome, origin500.transaction],
        ['/fail', 'valid', true, 500, 'not_attempted', null],
        'the origin failed: nothing settled',
      );
      // With RPC_URLS the gateway verifies in-process and reads the chain: the used nonce is refused there.
      assert.deepEqual(
        [replayed.verifyOutcome, replayed.verifyReason, replayed.handlerRan, replayed.settleOutcome, replayed.payer],
        ['invalid', 'invalid_exact_evm_nonce_already_used', false, 'not_attempted', payer.address.toLowerCase()],
      );
      assert.deepEqual([bad.verifyOutcome, bad.verifyReason, bad.handlerRan, bad.amount], ['invalid', 'invalid_payment_header', false, null]);

      const stats = await (await admin(`/__x402/stats?from=${started}`)).json();
      assert.deepEqual(
        [stats.count, stats.verified, stats.handlerRan, stats.settled, stats.successRate, stats.revenue],
        [4, 2, 2, 1, 0.25, [{ network: NETWORK, asset: stack.token.address.toLowerCase(), count: 1, amount: AMOUNT.toString() }]],
      );
      assert.equal(stats.latencyMs.settle.p50, settled.settleMs);

      const bySettle = await (await admin('/__x402/payments?settle=settled')).json();
      assert.deepEqual(bySettle.records.map((r) => r.transaction), [receipt.transaction]);
    });

    test('an entitlement (X-Payment-Id): its terms in the 402, granted with the payment, used within them on its resource only, never forwarded', { timeout: TEST_TIMEOUT_MS }, async () => {
      const unpaid = await get('/pass');
      assert.deepEqual(decodePaymentRequiredHeader(unpaid.headers.get('payment-required')).extensions?.entitlement, { info: { uses: 2, header: 'X-Payment-Id' } });

      const before = await payeeBalance();
      const paid = await get('/pass', await pay('/pass'));
      assert.equal(paid.status, 200, paid.text);
      const id = paid.headers.get('x-payment-id');
      assert.match(id ?? '', /^[0-9a-f]{32}$/);
      assert.equal(paid.headers.get('x-payment-id-uses-left'), '2');
      const reached = originRequests.length;

      const first = await get('/pass?page=2', { 'X-Payment-Id': id });
      assert.deepEqual([first.status, first.headers.get('x-payment-id-uses-left'), JSON.parse(first.text).premium], [200, '1', true]);
      assert.equal(originRequests.length, reached + 1, 'the origin served the use');
      assert.equal(originRequests.at(-1).headers['x-payment-id'], undefined, 'the id is not forwarded');

      const elsewhere = await get('/premium', { 'X-Payment-Id': id });
      assert.equal(elsewhere.status, 402);
      assert.equal(JSON.parse(elsewhere.text).error, 'entitlement_wrong_resource');
      assert.equal((await get('/pass', { 'X-Payment-Id': id })).headers.get('x-payment-id-uses-left'), '0');
      const spent = await get('/pass', { 'X-Payment-Id': id });
      assert.deepEqual([spent.status, JSON.parse(spent.text).error], [402, 'entitlement_used_up']);
      assert.ok(decodePaymentRequiredHeader(spent.headers.get('payment-required')).accepts.length > 0, 'the 402 says how to pay instead');
      assert.equal(await payeeBalance(), before + AMOUNT, 'one payment, three requests served');

      for (const [value, reason] of [
        ['not-an-id', 'invalid_payment_id'],
        ['0'.repeat(32), 'entitlement_not_found'],
      ]) {
        const refused = await get('/pass', { 'X-Payment-Id': value });
        assert.deepEqual([refused.status, JSON.parse(refused.text).error], [402, reason]);
      }
    });

    test('entitlements: 5 concurrent uses of the last use serve once; a failed origin gives the use back; a window expires', { timeout: TEST_TIMEOUT_MS }, async () => {
      const once = (await get('/once', await pay('/once'))).headers.get('x-payment-id');
      const reached = originRequests.length;
      const uses = await Promise.all(Array.from({ length: 5 }, () => get('/once', { 'X-Payment-Id': once })));
      assert.deepEqual(uses.map((u) => u.status).sort(), [200, 402, 402, 402, 402]);
      assert.equal(originRequests.length, reached + 1, 'the origin was called once');

      const flaky = (await get('/flaky', await pay('/flaky'))).headers.get('x-payment-id');
      assert.equal((await get('/flaky?fail=1', { 'X-Payment-Id': flaky })).status, 502);
      assert.equal((await get('/flaky', { 'X-Payment-Id': flaky })).status, 200, 'the failed call used nothing');
      assert.equal((await get('/flaky', { 'X-Payment-Id': flaky })).status, 402);

      const windowed = await get('/window', await pay('/window'));
      const id = windowed.headers.get('x-payment-id');
      assert.ok(Date.parse(windowed.headers.get('x-payment-id-expires')) > Date.now() - 1000);
      assert.equal(windowed.headers.get('x-payment-id-uses-left'), null, 'no use count: the window limits it');
      assert.equal((await get('/window', { 'X-Payment-Id': id })).status, 200);
      await new Promise((r) => setTimeout(r, 1200));
      const late = await get('/window', { 'X-Payment-Id': id });
      assert.deepEqual([late.status, JSON.parse(late.text).error], [402, 'entitlement_expired']);
    });

    test('a session budget on an API key: paid within it, refused past it before the signature is checked, given back for a failed origin', { timeout: TEST_TIMEOUT_MS }, async () => {
      const agentKey = `agent-${store}-${Date.now()}`;
      const put = await fetch(`${gateway.url}/__x402/budgets`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        body: JSON.stringify({ apiKey: agentKey, network: NETWORK, asset: stack.token.address, limit: String(2n * AMOUNT), windowSeconds: 3600 }),
      });
      assert.equal(put.status, 200, await put.clone().text());
      const { agent } = (await put.json()).budget;
      const spent = async () => (await (await admin(`/__x402/budgets?agent=${encodeURIComponent(agent)}`)).json()).budgets[0].spent;
      const asAgent = async (path) => ({ ...(await pay(path)), 'X-Agent-Key': agentKey });

      const before = await payeeBalance();
      assert.equal((await get('/fail', await asAgent('/fail'))).status, 502);
      assert.equal(await spent(), '0', 'the failed call gave its reservation back');
      for (let i = 0; i < 2; i++) assert.equal((await get('/premium', await asAgent('/premium'))).status, 200);
      assert.equal(await spent(), String(2n * AMOUNT));

      const over = await get('/premium', await asAgent('/premium'));
      assert.equal(over.status, 402, over.text);
      assert.equal(JSON.parse(over.text).error, 'budget_exceeded');
      assert.match(JSON.parse(over.text).message, /this API key has spent 20000 of 20000/);
      // Refused before verification: a broken signature gets the same answer.
      const header = await asAgent('/premium');
      const payload = JSON.parse(Buffer.from(header['PAYMENT-SIGNATURE'], 'base64').toString());
      payload.payload.signature = `0x${'11'.repeat(65)}`;
      const forged = await get('/premium', { ...header, 'PAYMENT-SIGNATURE': Buffer.from(JSON.stringify(payload)).toString('base64') });
      assert.deepEqual([forged.status, JSON.parse(forged.text).error], [402, 'budget_exceeded']);
      assert.equal(await payeeBalance(), before + 2n * AMOUNT, 'two payments moved, nothing more');
      // Without the key, the payer (who has no budget) pays as usual.
      assert.equal((await get('/premium', await pay('/premium'))).status, 200);
    });

    test('the indexer: a transfer made outside the facilitator, a settled record whose transaction a reorg dropped, an amount that differs', { timeout: TEST_TIMEOUT_MS }, async () => {
      const run = async () => {
        const res = await fetch(`${gateway.url}/__x402/indexer/run`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        assert.equal(res.status, 200, await res.clone().text());
        return res.json();
      };
      const findings = async () => (await (await admin('/__x402/findings')).json()).findings;
      const token = stack.token.address;
      const receiptOf = (r) => decodePaymentResponseHeader(r.headers.get('payment-response')).transaction;

      const recorded = receiptOf(await get('/premium', await pay('/premium')));
      // Paid to payTo directly, not through the facilitator.
      const data = `0xa9059cbb${payee.address.slice(2).toLowerCase().padStart(64, '0')}${AMOUNT.toString(16).padStart(64, '0')}`;
      const outside = await rpc(stack.rpcUrl, 'eth_sendTransaction', [{ from: payer.address, to: token, data }]);
      assert.equal((await minedReceipt(stack.rpcUrl, outside)).status, '0x1', 'the outside transfer landed');
      // Settled and recorded, then dropped by a reorg (anvil's snapshot and revert).
      const snapshot = await rpc(stack.rpcUrl, 'evm_snapshot', []);
      const dropped = await get('/premium', await pay('/premium'));
      assert.equal(dropped.status, 200, dropped.text);
      assert.equal(await rpc(stack.rpcUrl, 'evm_revert', [snapshot]), true);
      assert.equal(await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [receiptOf(dropped)]), null, 'the transaction is gone');
      // The facilitator's signer sent one transaction the chain forgot: a transaction from it re-aligns its nonce.
      const signer = (await (await fetch(`${stack.facilitatorUrl}/supported`)).json()).signers['eip155:*'][0];
      await minedReceipt(stack.rpcUrl, await rpc(stack.rpcUrl, 'eth_sendTransaction', [{ from: signer, to: signer, value: '0x0' }]));
      let droppedRecord;
      for (const deadline = Date.now() + 20_000; !droppedRecord && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
        [droppedRecord] = (await records(0)).filter((r) => r.transaction === receiptOf(dropped));
      }
      assert.ok(droppedRecord, 'the dropped payment was recorded as settled');

      // Passes of at most two transfers each, until one finds nothing more to read.
      let passes = 0;
      let logs = 0;
      for (let pass = await run(); pass.logs > 0; pass = await run()) {
        assert.ok(pass.logs <= 2, `a pass stays within its budget: ${JSON.stringify(pass)}`);
        logs += pass.logs;
        passes++;
      }
      assert.ok(logs >= 2 && passes >= 2, `${logs} transfers over ${passes} passes`);
      const found = await findings();
      const about = (tx) => found.filter((f) => f.transaction === tx.toLowerCase());
      assert.deepEqual(about(recorded), [], 'a recorded payment that landed is in order');
      assert.deepEqual(
        about(outside).map((f) => [f.kind, f.recordId, f.expected, f.actual]),
        [['unrecorded_transfer', null, null, AMOUNT.toString()]],
        `the outside transfer ${outside} among ${JSON.stringify(found)} after ${passes} passes of ${logs} transfers`,
      );
      assert.deepEqual(
        about(receiptOf(dropped)).map((f) => [f.kind, f.recordId, f.expected, f.actual]),
        [['missing_transfer', droppedRecord.id, AMOUNT.toString(), null]],
      );
      const again = await run();
      assert.deepEqual([again.findings, again.logs], [0, 0], 'a second pass finds nothing new');

      // The findings and the records as Prometheus text, behind the admin key.
      assert.equal((await admin('/__x402/metrics', null)).status, 401);
      const metrics = await (await admin('/__x402/metrics')).text();
      const gauge = (series) => Number(metrics.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1]);
      const kinds = Object.groupBy(found, (f) => f.kind);
      assert.equal(gauge('x402_indexer_findings{kind="unrecorded_transfer"}'), kinds.unrecorded_transfer.length, metrics);
      assert.equal(gauge('x402_indexer_findings{kind="missing_transfer"}'), kinds.missing_transfer.length, metrics);
      assert.ok(gauge('x402_tracked_payments{verify="valid",settle="settled"}') >= 2, metrics);

      if (store === 'postgres') {
        // A record whose amount differs from what its transaction moved (edited here, in the database).
        const db = new pg.Client({ connectionString: postgres.url });
        await db.connect();
        await db.query("UPDATE x402_payments SET amount = '1' WHERE tx = $1", [recorded]);
        await db.end();
        assert.equal((await run()).findings, 1);
        assert.deepEqual(
          (await findings()).filter((f) => f.transaction === recorded.toLowerCase()).map((f) => [f.kind, f.expected, f.actual]),
          [['amount_mismatch', '1', AMOUNT.toString()]],
        );
      }
    });

    test('the dashboard in headless Chromium: the page renders revenue, volume, success rate and latency from the store; a wrong key shows the form', { timeout: TEST_TIMEOUT_MS }, async (t) => {
      if (store !== 'd1') return t.skip('the page is the same on both stores: run once');
      const stats = await (await admin('/__x402/stats')).json();
      assert.ok(stats.count > 0);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x402-dashboard-chromium-'));
      const browser = await chromium.launchPersistentContext(dir, {
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      try {
        const page = await browser.newPage();
        const problems = [];
        page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
        page.on('pageerror', (e) => problems.push(e.message));
        const response = await page.goto(`${gateway.url}/__x402/dashboard#key=${ADMIN_KEY}`);
        assert.match(response.headers()['content-security-policy'], /script-src 'nonce-/);
        await page.waitForSelector('body[data-rendered="true"]', { timeout: 20_000 });
        const metric = (name) => page.locator(`[data-metric="${name}"] b`).textContent();
        assert.equal(Number(await metric('paid requests')), stats.count);
        assert.equal(Number(await metric('settled')), stats.settled);
        assert.equal(await metric('success rate'), `${(stats.successRate * 100).toFixed(1)}%`);
        const bars = await page.locator('#chart-volume rect').evaluateAll((rects) => rects.map((r) => Number(r.dataset.value)));
        assert.equal(bars.reduce((a, b) => a + b, 0), stats.count, 'the volume bars add up to the paid requests');
        assert.ok((await page.locator('#chart-revenue rect').count()) > 0, 'revenue bars');
        assert.ok((await page.locator('#chart-success polyline').count()) === 1, 'a success-rate line');
        assert.ok((await page.locator('#chart-latency polyline').count()) === 1, 'a latency line');
        assert.deepEqual(problems, [], 'no script error and no CSP violation');

        const wrong = await browser.newPage();
        await wrong.goto(`${gateway.url}/__x402/dashboard#key=not-the-key`);
        await wrong.waitForSelector('#login:not([hidden])', { timeout: 20_000 });
        assert.equal(await wrong.locator('#error').textContent(), 'wrong admin key');
        assert.equal(await wrong.locator('#summary .card').count(), 0, 'no data without the key');
      } finally {
        await browser.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test('the admin API wants the key and refuses a malformed filter with 400', { timeout: TEST_TIMEOUT_MS }, async () => {
      assert.equal((await admin('/__x402/payments', null)).status, 401);
      assert.equal((await admin('/__x402/stats', 'wrong')).status, 401);
      const res = await admin('/__x402/payments?limit=-1');
      assert.equal(res.status, 400);
      assert.equal((await res.json()).parameter, 'limit');
    });

    if (store === 'postgres') {
      test('the store going away: tracking fails no request (served, settled, the record queued and written once the store is back); budgets refuse (503) and nothing moves', { timeout: 180_000 }, async () => {
        const { url, port } = postgres;
        await postgres.stop();
        postgres = null;
        const before = await payeeBalance();
        const limited = await get('/premium', await pay('/premium'));
        assert.deepEqual([limited.status, JSON.parse(limited.text).error], [503, 'budgets_unavailable'], 'BUDGETS=true: a limit is not skipped');
        assert.equal(await payeeBalance(), before);
        const listing = await admin('/__x402/payments');
        assert.equal(listing.status, 503);
        assert.doesNotMatch(await listing.text(), /postgres:|127\.0\.0\.1/, 'no connection string in the answer');

        // Tracking alone, with a queue for records whose write failed.
        const trackingOnly = await startTrackedGateway({ postgresUrl: url }, { budgets: false, trackingQueue: true });
        try {
          const paid = await fetch(`${trackingOnly.url}/premium`, { headers: await pay('/premium') });
          assert.equal(paid.status, 200, await paid.text());
          const receipt = decodePaymentResponseHeader(paid.headers.get('payment-response'));
          assert.equal(await payeeBalance(), before + AMOUNT);
          const waitFor = async (pattern) => {
            const deadline = Date.now() + 30_000;
            while (!pattern.test(trackingOnly.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
            assert.match(trackingOnly.output(), pattern);
          };
          await waitFor(/x402-edge tracking: record [0-9a-f-]+ queued for a later write/);
          // The database comes back (empty, where the gateway expects it): the queue's retry writes the record.
          postgres = await startPostgres({ port });
          const deadline = Date.now() + 60_000;
          let records = [];
          while (records.length === 0 && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 500));
            const res = await fetch(`${trackingOnly.url}/__x402/payments`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
            if (res.status === 200) records = (await res.json()).records;
          }
          assert.deepEqual(records.map((r) => [r.settleOutcome, r.transaction]), [['settled', receipt.transaction]], "the settled payment's record, written from the queue");
          assert.doesNotMatch(trackingOnly.output(), /not written:/, 'nothing reported lost');
        } finally {
          await trackingOnly.stop();
        }
      });
    }
  });
}
