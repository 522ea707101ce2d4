// `npm run bench:settle` (a benchmark, not a test; issue 17): the x402-edge facilitator (the built Worker
// in `wrangler dev`) against the reference TypeScript facilitator (`x402Facilitator` of @x402/core with
// @x402/evm's `exact` EIP-3009 scheme over a viem wallet client with viem's nonce manager, served by a
// plain node HTTP server in this process) on the same anvil, for the same network and token.
//
// Each side signs with its own anvil key and settles its own, distinct payments (the official client,
// `x402Client` + `ExactEvmScheme`, signs them before any timing). Each side reaches anvil through its own
// counting JSON-RPC proxy (scripts/lib/rpc-proxy.mjs), so the RPC round trips and methods per settle are
// counted alike; the Worker's Durable Object calls come from GET /__x402/counters (Worker var
// X402_EDGE_COUNTERS=on; "n/a" when the build does not serve it).
//
// Measured per side, the sides alternating phase by phase over several rounds (the machine is shared
// and noisy; medians across rounds are reported): the no-op cost (GET /supported p50, sequential), /verify
// p50 (sequential), /verify throughput with 16 in flight, /settle p50 (sequential), a burst of 50
// concurrent settles (req/s over the burst's wall time; every one must succeed). The no-op cost is
// subtracted from each side's latencies (`wrangler dev` adds a local proxy hop to every request that a
// plain node server does not have) and from the throughputs as one no-op per request per in-flight slot:
// net req/s = N / (wall − N/C × no-op). Raw figures are printed beside them.
//
// Options: --rounds N (default 3; 1 with --quick), --quick (small counts, a smoke run), --json (one JSON
// line of the results at the end), --reference-polling-ms N (the reference's viem pollingInterval,
// default 50). Exit status: 0 unless a request failed (a missed goal is reported,
// not an error).
import * as http from 'node:http';
import { parseArgs } from 'node:util';

import { x402Client } from '@x402/core/client';
import { x402Facilitator } from '@x402/core/facilitator';
import { ExactEvmScheme, toClientEvmSigner, toFacilitatorEvmSigner } from '@x402/evm';
import { ExactEvmScheme as ExactEvmFacilitatorScheme } from '@x402/evm/exact/facilitator';
import { createWalletClient, http as viemHttp, nonceManager, publicActions } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

import { median } from './lib/bench.mjs';
import { localChain } from './lib/chain.mjs';
import { startRpcProxy } from './lib/rpc-proxy.mjs';
import { FACILITATOR_ACCOUNT, rpcVarName, startStack } from './lib/stack.mjs';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'reference-polling-ms': { type: 'string', default: '50' },
  },
});
const ROUNDS = Number(opts.rounds ?? (opts.quick ? 1 : 3));
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`--rounds: a positive integer, not ${opts.rounds}`);
/** Requests per phase, per side and round. */
const N = opts.quick
  ? { warmup: 2, noop: 10, verify: 10, verifyInFlight: 48, settle: 6, burst: 10 }
  : { warmup: 3, noop: 50, verify: 60, verifyInFlight: 320, settle: 40, burst: 50 };
const IN_FLIGHT = 16;
/**
 * The reference's viem polling interval (receipts after a first miss): 50 ms, as x402-edge's first receipt
 * retry. viem's default for a chain without `blockTime` is 4 s, which on an automining anvil turns a
 * receipt not there yet at the first look (the tx hash returns before the block is mined) into a 4 s wait.
 */
const REFERENCE_POLLING_MS = Number(opts['reference-polling-ms']);
if (!(REFERENCE_POLLING_MS > 0)) throw new Error(`--reference-polling-ms: a positive number, not ${opts['reference-polling-ms']}`);
const AMOUNT = '10000';
const CHAIN_ID = 84532;
const NETWORK = `eip155:${CHAIN_ID}`;
const log = (m) => process.stderr.write(`[bench:settle] ${m}\n`);

// Anvil accounts (public test keys): our facilitator signs with #9 (FACILITATOR_ACCOUNT), the reference
// with #8; both pay #2; each side has its own payers, so neither waits on the other's balances.
const REFERENCE_SIGNER_INDEX = 8;
const PAY_TO_INDEX = 2;
const PAYERS = { edge: [0, 1, 3], reference: [4, 5, 6] };

// ---------------------------------------------------------------------------------------------------
// The reference facilitator

/** Reads a request body as JSON (null when it is not JSON). */
async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return null;
  }
}

/**
 * `x402Facilitator` + @x402/evm's exact scheme on a plain node server on 127.0.0.1, as the x402 example
 * facilitator serves it: GET /supported, POST /verify and /settle with `{x402Version, paymentPayload,
 * paymentRequirements}` (HTTPFacilitatorClient's bodies). Its RPC is `rpcUrl` (the counting proxy).
 */
async function startReference({ rpcUrl, privateKey }) {
  const account = privateKeyToAccount(privateKey, { nonceManager });
  const client = createWalletClient({
    account,
    chain: localChain(rpcUrl, CHAIN_ID),
    transport: viemHttp(rpcUrl),
    pollingInterval: REFERENCE_POLLING_MS,
  }).extend(publicActions);
  // As the x402 example facilitator wires viem into the signer.
  const signer = toFacilitatorEvmSigner({
    address: account.address,
    getCode: (args) => client.getCode(args),
    readContract: (args) => client.readContract({ ...args, args: args.args || [] }),
    verifyTypedData: (args) => client.verifyTypedData(args),
    writeContract: (args) => client.writeContract({ ...args, args: args.args || [] }),
    sendTransaction: (args) => client.sendTransaction(args),
    waitForTransactionReceipt: (args) => client.waitForTransactionReceipt(args),
  });
  const facilitator = new x402Facilitator().register(NETWORK, new ExactEvmFacilitatorScheme(signer));

  const send = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer(async (req, res) => {
    try {
      if (req.method === 'GET' && req.url === '/supported') return send(res, 200, facilitator.getSupported());
      if (req.method === 'POST' && (req.url === '/verify' || req.url === '/settle')) {
        const body = await readJson(req);
        if (!body?.paymentPayload || !body?.paymentRequirements) return send(res, 400, { error: 'paymentPayload and paymentRequirements are required' });
        const result =
          req.url === '/verify'
            ? await facilitator.verify(body.paymentPayload, body.paymentRequirements)
            : await facilitator.settle(body.paymentPayload, body.paymentRequirements);
        return send(res, 200, result);
      }
      send(res, 404, { error: 'not found' });
    } catch (e) {
      send(res, 500, { error: e instanceof Error ? e.message : String(e) });
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    address: account.address,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------------
// Payments and requests

/** Signs `count` fresh v2 exact EIP-3009 payments with the official client, rotating over `payers`. */
async function signPayments(side, count) {
  const bodies = [];
  for (let i = 0; i < count; i++) {
    const client = side.clients[side.signed++ % side.clients.length];
    const paymentPayload = await client.createPaymentPayload({
      x402Version: 2,
      resource: { url: 'http://bench.local/settle', description: 'bench:settle', mimeType: 'application/json' },
      accepts: [side.requirements],
    });
    bodies.push(JSON.stringify({ x402Version: paymentPayload.x402Version, paymentPayload, paymentRequirements: side.requirements }));
  }
  return bodies;
}

/** One request: its time (ms), and a failure description when the answer is not the expected success. */
async function request(side, path, body) {
  const started = performance.now();
  let status = 0;
  let json = null;
  let error = null;
  try {
    const res = body
      ? await fetch(`${side.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      : await fetch(`${side.url}${path}`);
    status = res.status;
    const text = await res.text();
    try {
      json = JSON.parse(text);
    } catch {
      error = `HTTP ${status}: ${text.slice(0, 200)}`;
    }
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const ms = performance.now() - started;
  if (!error) {
    const ok = path === '/verify' ? json?.isValid === true : path === '/settle' ? json?.success === true : status === 200;
    if (status !== 200 || !ok) error = `HTTP ${status}: ${JSON.stringify(json).slice(0, 300)}`;
  }
  if (error) side.failures.push({ path, error });
  return { ms, ok: !error };
}

async function sequential(side, path, bodies) {
  const times = [];
  for (const body of bodies) times.push((await request(side, path, body)).ms);
  return times;
}

/** `bodies` with at most `inFlight` requests outstanding: wall time (ms), how many succeeded, the slowest (ms). */
async function concurrent(side, path, bodies, inFlight) {
  let next = 0;
  let ok = 0;
  let slowestMs = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const r = await request(side, path, body);
      if (r.ok) ok++;
      slowestMs = Math.max(slowestMs, r.ms);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, bodies.length) }, worker));
  return { wallMs: performance.now() - started, ok, total: bodies.length, slowestMs };
}

// ---------------------------------------------------------------------------------------------------
// Call counts

/** The Worker's cumulative counters, or null when it does not serve them (an older build: 404). */
async function workerCounters(side) {
  if (!side.countersUrl) return null;
  try {
    const res = await fetch(side.countersUrl);
    const json = res.status === 200 ? await res.json() : null;
    return typeof json?.durableObjectCalls === 'number' ? json : null;
  } catch {
    return null;
  }
}

async function snapshot(side) {
  return {
    roundTrips: side.proxy.roundTrips,
    nodeMs: side.proxy.nodeMs,
    calls: new Map(side.proxy.calls),
    worker: await workerCounters(side),
  };
}

/** Adds the calls between snapshot `before` and now to `side.counts[phase]`. */
async function addCounts(side, phase, before, requests) {
  const after = await snapshot(side);
  const c = (side.counts[phase] ??= { requests: 0, roundTrips: 0, nodeMs: 0, methods: {}, durableObjectCalls: null, workerRpcCalls: null });
  c.requests += requests;
  c.roundTrips += after.roundTrips - before.roundTrips;
  c.nodeMs += after.nodeMs - before.nodeMs;
  for (const [method, n] of after.calls) {
    const d = n - (before.calls.get(method) ?? 0);
    if (d) c.methods[method] = (c.methods[method] ?? 0) + d;
  }
  if (before.worker && after.worker) {
    const add = (key, field) => (c[key] = (c[key] ?? 0) + after.worker[field] - before.worker[field]);
    add('durableObjectCalls', 'durableObjectCalls');
    add('workerRpcCalls', 'rpcCalls');
    // Older builds count calls but do not time them.
    if (typeof after.worker.requestMs === 'number') {
      add('workerRequestMs', 'requestMs');
      add('workerObjectMs', 'durableObjectMs');
      add('workerRpcMs', 'rpcMs');
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Phases

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/** Untimed: a few /supported, verifies and settles, so that both sides have warm caches and connections. */
async function warmUp(side) {
  await sequential(side, '/supported', Array.from({ length: N.warmup * 2 }, () => null));
  await sequential(side, '/verify', await signPayments(side, N.warmup));
  await sequential(side, '/settle', await signPayments(side, N.warmup));
  await concurrent(side, '/settle', await signPayments(side, N.warmup * 2), N.warmup * 2);
}

const PHASES = {
  async noop(side) {
    return { noopP50: quantile(await sequential(side, '/supported', Array.from({ length: N.noop }, () => null)), 0.5) };
  },
  async verify(side) {
    const bodies = await signPayments(side, N.verify);
    const before = await snapshot(side);
    const times = await sequential(side, '/verify', bodies);
    await addCounts(side, 'verify', before, bodies.length);
    return { verifyP50: quantile(times, 0.5) };
  },
  async verifyInFlight(side) {
    const r = await concurrent(side, '/verify', await signPayments(side, N.verifyInFlight), IN_FLIGHT);
    return { verifyInFlightWallMs: r.wallMs, verifyInFlightOk: r.ok };
  },
  async settle(side) {
    const bodies = await signPayments(side, N.settle);
    const before = await snapshot(side);
    const times = await sequential(side, '/settle', bodies);
    await addCounts(side, 'settle', before, bodies.length);
    return { settleP50: quantile(times, 0.5) };
  },
  async burst(side) {
    const r = await concurrent(side, '/settle', await signPayments(side, N.burst), N.burst);
    return { burstWallMs: r.wallMs, burstOk: r.ok, burstSlowestMs: r.slowestMs };
  },
};

/** Medians across rounds, and the derived figures with the no-op cost subtracted. */
function summarize(side) {
  const m = (key) => median(side.rounds.map((r) => r[key]));
  const noop = m('noopP50');
  const net = (wallMs, requests, inFlight) => requests / ((wallMs - (requests / inFlight) * noop) / 1000);
  const s = {
    noopP50: noop,
    verifyP50: m('verifyP50'),
    verifyInFlightWallMs: m('verifyInFlightWallMs'),
    settleP50: m('settleP50'),
    burstWallMs: m('burstWallMs'),
  };
  return {
    ...s,
    verifyP50Net: s.verifyP50 - noop,
    settleP50Net: s.settleP50 - noop,
    verifyInFlightRps: N.verifyInFlight / (s.verifyInFlightWallMs / 1000),
    verifyInFlightRpsNet: net(s.verifyInFlightWallMs, N.verifyInFlight, IN_FLIGHT),
    burstRps: N.burst / (s.burstWallMs / 1000),
    burstRpsNet: net(s.burstWallMs, N.burst, N.burst),
    burstOk: side.rounds.map((r) => r.burstOk),
    verifyInFlightOk: side.rounds.map((r) => r.verifyInFlightOk),
  };
}

// ---------------------------------------------------------------------------------------------------
// Report

const ms = (x) => `${x.toFixed(1)} ms`;
const rps = (x) => `${x.toFixed(0)} req/s`;
const ratio = (x) => `${x.toFixed(2)}×`;

function perRequest(c) {
  if (!c) return null;
  const per = (n) => Math.round((n / c.requests) * 100) / 100;
  const perMs = (n) => Math.round((n / c.requests) * 10) / 10;
  const methods = Object.entries(c.methods)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => ({ method: k, perRequest: per(v) }));
  return {
    requests: c.requests,
    rpcRoundTrips: per(c.roundTrips),
    nodeMs: perMs(c.nodeMs),
    rpcMethods: methods,
    durableObjectCalls: c.durableObjectCalls === null ? null : per(c.durableObjectCalls),
    workerRpcCalls: c.workerRpcCalls === null ? null : per(c.workerRpcCalls),
    workerMs:
      c.workerRequestMs === undefined
        ? null
        : { request: perMs(c.workerRequestMs), durableObjects: perMs(c.workerObjectMs), rpc: perMs(c.workerRpcMs) },
  };
}

const methodList = (p) => p.rpcMethods.map(({ method, perRequest }) => (perRequest === 1 ? method : `${method}×${perRequest}`)).join(' ');

function report(sides, results) {
  const [edge, ref] = results;
  const rows = [
    ['no-op: GET /supported p50', ms(edge.noopP50), ms(ref.noopP50), ''],
    ['/verify p50, sequential', `${ms(edge.verifyP50Net)} (raw ${ms(edge.verifyP50)})`, `${ms(ref.verifyP50Net)} (raw ${ms(ref.verifyP50)})`, ratio(edge.verifyP50Net / ref.verifyP50Net)],
    [`/verify, ${IN_FLIGHT} in flight`, `${rps(edge.verifyInFlightRpsNet)} (raw ${rps(edge.verifyInFlightRps)})`, `${rps(ref.verifyInFlightRpsNet)} (raw ${rps(ref.verifyInFlightRps)})`, ratio(edge.verifyInFlightRpsNet / ref.verifyInFlightRpsNet)],
    ['/settle p50, sequential', `${ms(edge.settleP50Net)} (raw ${ms(edge.settleP50)})`, `${ms(ref.settleP50Net)} (raw ${ms(ref.settleP50)})`, ratio(edge.settleP50Net / ref.settleP50Net)],
    [`/settle, burst of ${N.burst}`, `${rps(edge.burstRpsNet)} (raw ${rps(edge.burstRps)})`, `${rps(ref.burstRpsNet)} (raw ${rps(ref.burstRps)})`, ratio(edge.burstRpsNet / ref.burstRpsNet)],
  ];
  const w = [28, 30, 30, 8];
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(w[i])).join(' | ')} |`;
  console.log(
    `\nsettle against the reference facilitator (@x402/core + @x402/evm 2.27, viem nonceManager, pollingInterval ${REFERENCE_POLLING_MS} ms) on one anvil; ` +
      `${ROUNDS} round(s), medians; each side's no-op cost subtracted (ratio: x402-edge / reference, net figures)`,
  );
  console.log(line(['', 'x402-edge', 'reference', 'ratio']));
  console.log(line(w.map((n) => '-'.repeat(n))));
  for (const r of rows) console.log(line(r));
  console.log(
    `burst successes per round: x402-edge ${edge.burstOk.map((n) => `${n}/${N.burst}`).join(', ')}; ` +
      `reference ${ref.burstOk.map((n) => `${n}/${N.burst}`).join(', ')}`,
  );

  const calls = {};
  console.log(
    '\ncalls per request (sequential phases; RPC round trips counted at each side\'s JSON-RPC proxy, a batch is one; ' +
      'node: the time the proxy waited on anvil):',
  );
  for (const side of sides) {
    calls[side.key] = {};
    for (const phase of ['verify', 'settle']) {
      const p = perRequest(side.counts[phase]);
      calls[side.key][phase] = p;
      if (!p) continue;
      const doCalls = side.key === 'edge' ? `; Durable Object calls ${p.durableObjectCalls ?? 'n/a'}` : '';
      const workerRpc = p.workerRpcCalls !== null ? ` (the Worker counts ${p.workerRpcCalls})` : '';
      console.log(`  ${side.name.padEnd(10)} /${phase.padEnd(7)} ${p.rpcRoundTrips} RPC round trips${workerRpc}, node ${ms(p.nodeMs)}: ${methodList(p) || 'none'}${doCalls}`);
      if (p.workerMs) {
        const t = p.workerMs;
        console.log(
          `  ${''.padEnd(10)}  ${''.padEnd(7)} inside the Worker ${ms(t.request)}: waiting on Durable Objects ${ms(t.durableObjects)}, on RPC ${ms(t.rpc)} (they overlap: a settle's RPC runs inside its Durable Object call)`,
        );
      }
    }
  }

  const goals = [
    { goal: '/settle p50 ≤ 1.0× the reference', value: edge.settleP50Net / ref.settleP50Net, met: (v) => v <= 1.0 },
    { goal: `/settle burst of ${N.burst} ≥ 1.0× its throughput`, value: edge.burstRpsNet / ref.burstRpsNet, met: (v) => v >= 1.0 },
    { goal: '/verify p50 ≤ 0.5×', value: edge.verifyP50Net / ref.verifyP50Net, met: (v) => v <= 0.5 },
    { goal: `/verify ≥ 1.5× throughput at ${IN_FLIGHT} in flight`, value: edge.verifyInFlightRpsNet / ref.verifyInFlightRpsNet, met: (v) => v >= 1.5 },
  ].map((g) => ({ goal: g.goal, ratio: Math.round(g.value * 100) / 100, met: g.met(g.value) }));
  console.log('\ngoals (issue 17):');
  for (const g of goals) console.log(`  ${g.goal}: ${ratio(g.ratio)} — ${g.met ? 'met' : 'not met'}`);
  return { calls, goals };
}

// ---------------------------------------------------------------------------------------------------
// Main

const cleanups = [];
let exitCode = 0;
try {
  const edgeProxy = await startRpcProxy();
  cleanups.push(() => edgeProxy.close());
  const stack = await startStack({
    local: true,
    localSvm: false,
    localStarknet: false,
    chainPort: 0,
    workerPort: 0,
    chainId: CHAIN_ID,
    log,
    // The Worker reaches anvil only through the counting proxy; X402_EDGE_COUNTERS serves its call counters.
    env: ({ rpcUrl, network }) => {
      edgeProxy.target = rpcUrl;
      return { [rpcVarName(network)]: edgeProxy.url, X402_EDGE_COUNTERS: 'on' };
    },
  });
  cleanups.push(() => stack.stop());
  if (stack.facilitatorAddress?.toLowerCase() !== FACILITATOR_ACCOUNT.address.toLowerCase()) throw new Error(`unexpected facilitator signer ${stack.facilitatorAddress}`);
  const refProxy = await startRpcProxy({ target: stack.rpcUrl });
  cleanups.push(() => refProxy.close());
  const reference = await startReference({ rpcUrl: refProxy.url, privateKey: stack.accounts[REFERENCE_SIGNER_INDEX].privateKey });
  cleanups.push(() => reference.stop());
  log(`x402-edge ${stack.facilitatorUrl} (signer ${stack.facilitatorAddress}); reference ${reference.url} (signer ${reference.address})`);

  const requirements = {
    scheme: 'exact',
    network: NETWORK,
    amount: AMOUNT,
    asset: stack.token.address,
    payTo: stack.accounts[PAY_TO_INDEX].address,
    maxTimeoutSeconds: 300,
    extra: { name: stack.token.name, version: stack.token.version },
  };
  const sideOf = (key, name, url, proxy, countersUrl) => ({
    key,
    name,
    url,
    proxy,
    countersUrl,
    requirements,
    clients: PAYERS[key].map((i) =>
      new x402Client()
        .register('eip155:*', new ExactEvmScheme(toClientEvmSigner(privateKeyToAccount(stack.accounts[i].privateKey))))
        // The SDK's spend controls refuse tokens it does not know: the local TestUSDC is allowed here.
        .setSpendControls({ allowedAssets: [{ network: NETWORK, asset: stack.token.address }] }),
    ),
    signed: 0,
    failures: [],
    counts: {},
    rounds: [],
  });
  const sides = [
    sideOf('edge', 'x402-edge', stack.facilitatorUrl, edgeProxy, `${stack.facilitatorUrl}/__x402/counters`),
    sideOf('reference', 'reference', reference.url, refProxy, null),
  ];
  if (!(await workerCounters(sides[0]))) log('GET /__x402/counters is not served by this build: Durable Object calls are reported as n/a');

  log('warming up both sides');
  for (const side of sides) await warmUp(side);
  const warmupFailures = sides.flatMap((s) => s.failures.splice(0).map((f) => `${s.name} ${f.path}: ${f.error}`));
  if (warmupFailures.length) throw new Error(`warm-up failed:\n  ${warmupFailures.join('\n  ')}`);

  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which side goes first, phase by phase, so that neither always runs on a warmer or quieter machine.
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    const results = new Map(sides.map((s) => [s, {}]));
    for (const run of Object.values(PHASES)) {
      for (const side of order) Object.assign(results.get(side), await run(side));
    }
    for (const side of sides) side.rounds.push(results.get(side));
    const [e, r] = sides.map((s) => results.get(s));
    log(
      `round ${round + 1}/${ROUNDS}: settle p50 ${ms(e.settleP50)} vs ${ms(r.settleP50)}, burst ${ms(e.burstWallMs)} vs ${ms(r.burstWallMs)} ` +
        `(slowest settle ${ms(e.burstSlowestMs)} vs ${ms(r.burstSlowestMs)}), ` +
        `verify p50 ${ms(e.verifyP50)} vs ${ms(r.verifyP50)}, no-op ${ms(e.noopP50)} vs ${ms(r.noopP50)}`,
    );
  }

  const results = sides.map(summarize);
  const { calls, goals } = report(sides, results);
  const failures = sides.flatMap((s) => s.failures.map((f) => ({ side: s.name, ...f })));
  if (failures.length) {
    exitCode = 1;
    console.log(`\n${failures.length} request(s) failed:`);
    for (const f of failures.slice(0, 20)) console.log(`  ${f.side} ${f.path}: ${f.error}`);
  }
  if (opts.json) {
    console.log(
      JSON.stringify({
        rounds: ROUNDS,
        counts: N,
        inFlight: IN_FLIGHT,
        referencePollingMs: REFERENCE_POLLING_MS,
        edge: results[0],
        reference: results[1],
        calls,
        goals,
        failures,
      }),
    );
  }
} catch (e) {
  exitCode = 1;
  console.error(`[bench:settle] ${e instanceof Error ? e.stack : e}`);
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
