// Load and fault scenarios of scripts/load.mjs (`npm run load`) with small counts, so that `npm test` covers
// them: concurrent distinct settles, concurrent settles of one payment, and a worker restart in the middle
// of a load, and failover from a dead RPC endpoint. Each scenario starts its own stack (anvil + TestUSDC + `wrangler dev` on free loopback ports),
// is bounded in requests and time, and stops its stack. The scenario code is scripts/lib/load-scenarios.mjs.
//
// Run: node --test tests/e2e/load.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { deadFirstRpc, distinctAutomine, formatResult, restart, samePayment } from '../../scripts/lib/load-scenarios.mjs';

/** Runs a scenario and fails the test, with the scenario's report, unless every invariant held. */
async function expectPass(t, run, opts) {
  const result = await run(opts);
  const report = formatResult(result);
  for (const line of report.split('\n')) t.diagnostic(line);
  assert.equal(result.status, 'pass', `\n${report}`);
}

test(
  '40 concurrent settles of distinct payments: all settle, consecutive nonces, funds move once each',
  { timeout: 70_000 },
  (t) => expectPass(t, distinctAutomine, { count: 40, timeoutMs: 60_000 }),
);

test('20 concurrent settles of one payment: one transfer, exactly one success', { timeout: 55_000 }, (t) =>
  expectPass(t, samePayment, { count: 20, timeoutMs: 45_000 }),
);

test(
  'worker restarted in the middle of 15 settles: each payment moves funds at most once, never two successes; one cut off before sending stays held',
  { timeout: 95_000 },
  (t) => expectPass(t, restart, { count: 15, restartAfter: 5, concurrency: 4, connectRetries: 5, timeoutMs: 85_000 }),
);

test('the first RPC endpoint dead (a closed port): 10 settles all succeed through the second', { timeout: 55_000 }, (t) =>
  expectPass(t, deadFirstRpc, { count: 10, concurrency: 5, timeoutMs: 45_000 }),
);
