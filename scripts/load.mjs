// `npm run load`: load and fault scenarios against the built worker (build/), each on its own local stack
// (anvil + TestUSDC + `wrangler dev` on free loopback ports). Prints a compact report per scenario and exits
// non-zero if any scenario's invariant fails. The scenarios live in scripts/lib/load-scenarios.mjs.
//
//   node scripts/load.mjs                  # all scenarios, default counts
//   node scripts/load.mjs --quick          # smaller counts
//   node scripts/load.mjs --only restart,same-payment --restart 30
//
// Every scenario is bounded in requests and in time (--timeout, or its own default) and stops its stack.

import { parseArgs } from 'node:util';

import { DEFAULTS, QUICK, SCENARIOS, TIMEOUTS_S, formatResult } from './lib/load-scenarios.mjs';

const NAMES = SCENARIOS.map((s) => s.name);

const USAGE = `usage: node scripts/load.mjs [options]      (npm run load -- [options])

  --quick                      smaller counts (${QUICK.distinct}/${QUICK.same}/${QUICK.restart}/${QUICK.deadRpc})
  --only NAME[,NAME]           run only these scenarios: ${NAMES.join(', ')}
  --skip NAME[,NAME]           leave these out
  --distinct N                 settles in distinct-automine and distinct-blocktime (default ${DEFAULTS.distinct})
  --block-time S               anvil block time of distinct-blocktime (default 1)
  --same N                     concurrent settles of one payment in same-payment (default ${DEFAULTS.same})
  --restart N                  settles in restart (default ${DEFAULTS.restart})
  --restart-after N            sends before the worker is restarted (default ${DEFAULTS.restartAfter})
  --restart-concurrency N      settles in flight at once in restart (default ${DEFAULTS.restartConcurrency})
  --connect-retries N          resends of a settle that hit a connection error (default ${DEFAULTS.connectRetries})
  --late-resettle S            restart, diagnosis only: S seconds after the checks, settle the payments still
                               without a success once more and report what they answer (default 0: off)
  --dead-rpc N                 settles in dead-first-rpc (default ${DEFAULTS.deadRpc})
  --dead-rpc-concurrency N     settles in flight at once in dead-first-rpc (default ${DEFAULTS.deadRpcConcurrency})
  --timeout S                  hard time limit of each scenario (defaults: ${Object.entries(TIMEOUTS_S)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')})
  --verbose                    progress lines on stderr
  --echo                       copy wrangler's output to stderr
  --json                       also print the results as JSON at the end
`;

const intOpts = [
  'distinct',
  'same',
  'restart',
  'restart-after',
  'restart-concurrency',
  'connect-retries',
  'dead-rpc',
  'dead-rpc-concurrency',
  'late-resettle',
];

let parsed;
try {
  parsed = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      skip: { type: 'string' },
      'block-time': { type: 'string' },
      timeout: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      echo: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      ...Object.fromEntries(intOpts.map((k) => [k, { type: 'string' }])),
    },
  });
} catch (e) {
  console.error(`${e.message}\n\n${USAGE}`);
  process.exit(2);
}
const opts = parsed.values;
if (opts.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function positiveInt(name, text, { min = 1 } = {}) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > 100_000) {
    console.error(`--${name}: expected an integer >= ${min}, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

function names(flag) {
  if (opts[flag] === undefined) return null;
  const list = opts[flag].split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = list.filter((n) => !NAMES.includes(n));
  if (unknown.length) {
    console.error(`--${flag}: unknown scenario ${unknown.join(', ')} (have: ${NAMES.join(', ')})`);
    process.exit(2);
  }
  return list;
}

const counts = { ...(opts.quick ? QUICK : DEFAULTS), blockTime: 1, lateResettle: 0 };
const camel = (k) => k.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
for (const k of intOpts) {
  if (opts[k] !== undefined) counts[camel(k)] = positiveInt(k, opts[k], { min: k === 'connect-retries' || k === 'late-resettle' ? 0 : 1 });
}
if (opts['block-time'] !== undefined) counts.blockTime = positiveInt('block-time', opts['block-time']);
if (counts.restartAfter >= counts.restart) {
  console.error(`--restart-after (${counts.restartAfter}) must be below --restart (${counts.restart})`);
  process.exit(2);
}
const timeoutS = opts.timeout === undefined ? null : positiveInt('timeout', opts.timeout);

const only = names('only');
const skip = names('skip') ?? [];
const selected = SCENARIOS.filter((s) => (only ? only.includes(s.name) : true) && !skip.includes(s.name));

const log = opts.verbose ? (m) => process.stderr.write(`[load ${new Date().toISOString().slice(11, 19)}] ${m}\n`) : () => {};

const results = [];
const started = Date.now();
for (const scenario of selected) {
  log(`scenario ${scenario.name}`);
  const result = await scenario.run({
    ...scenario.options(counts),
    ...(timeoutS ? { timeoutMs: timeoutS * 1000 } : {}),
    log,
    echo: opts.echo,
  });
  results.push(result);
  console.log(formatResult(result));
  console.log();
}

const failed = results.filter((r) => r.status === 'fail');
const skipped = results.filter((r) => r.status === 'skip');
console.log(
  `== summary: ${results.length - failed.length - skipped.length} passed, ${failed.length} failed, ${skipped.length} skipped ` +
    `(${((Date.now() - started) / 1000).toFixed(1)} s)` +
    (failed.length ? `; failed: ${failed.map((r) => r.name).join(', ')}` : '') +
    (skipped.length ? `; skipped (not yet supported): ${skipped.map((r) => r.name).join(', ')}` : ''),
);
if (opts.json) {
  console.log(JSON.stringify(results, (_, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Set ? [...v] : v), 2));
}
process.exitCode = failed.length ? 1 : 0;
