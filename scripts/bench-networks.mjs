// `npm run bench:networks`: a benchmark, not a test. Settle throughput of the Worker per network family,
// on one local stack (`wrangler dev`) serving the families asked for:
// - evm: v2 `exact` EIP-3009 payments of TestUSDC on a local anvil (automine), signed by the official
//   client (@x402/evm) over six payers, sent by the Worker's one signer key;
// - svm: v2 `exact` SPL Token payments on the local litesvm-backed Solana RPC (scripts/lib/svm-rpc.mjs),
//   signed by the official client (@x402/svm) over three payers, the Worker's key the fee payer;
// - starknet: v2 `exact` SNIP-9 outside executions of STRK on starknet-devnet, signed with starknet.js
//   (scripts/lib/starknet-client.mjs) by eight predeployed accounts, submitted from the sponsor account.
// After an untimed warm-up, each of --rounds rounds settles a burst of --burst fresh payments per family
// (the families one after another, never at once), at most --in-flight outstanding. Every settle must
// succeed and its transaction be on the chain (read back after the burst, untimed). Prints per family
// settles/s and p50 settle latency (medians of rounds), the slowest settle of each burst, and what
// bounds the figure on these local engines.
// Options: --networks evm,svm,starknet  --burst 50  --in-flight 16  --rounds 3  --quick  --json
// (BENCH_ECHO=1 shows the Worker's log.)
// starknet.js 10.8 needs node >= 22: run with node_modules/.bin/node (as npm scripts and bench.sh do).
import { parseArgs } from 'node:util';

import { x402Client } from '@x402/core/client';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { ExactSvmScheme, toClientSvmSigner } from '@x402/svm';
import { privateKeyToAccount } from 'viem/accounts';

import { burst, clientsInTurn, median, positive, settleBodies } from './lib/bench.mjs';
import { rpc } from './lib/chain.mjs';
import { createPayment } from './lib/starknet-client.mjs';
import { startStack } from './lib/stack.mjs';

const { values: opts } = parseArgs({
  options: {
    networks: { type: 'string', default: 'evm,svm,starknet' },
    burst: { type: 'string' },
    'in-flight': { type: 'string', default: '16' },
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const BURST = positive('burst', opts.burst ?? (opts.quick ? '10' : '50'));
const IN_FLIGHT = positive('in-flight', opts['in-flight']);
const ROUNDS = positive('rounds', opts.rounds ?? (opts.quick ? '1' : '3'));
const WARM_UP = 4;
const RESOURCE = { url: 'http://bench.local/networks', description: 'bench:networks', mimeType: 'application/json' };
const log = (m) => process.stderr.write(`[bench:networks] ${m}\n`);

/**
 * Per family: `prepare(stack)` answers `{requirements, pay, landed}`: `pay()` signs the next fresh payment,
 * `landed(transactions)` counts those of the settled transactions that are on the chain and succeeded.
 */
const FAMILIES = {
  evm: {
    engine: 'anvil, automine',
    bound: 'anvil mines each transaction at once: the Worker\'s CPU (workerd, one isolate thread, a full core in a burst) bounds it',
    prepare: prepareEvm,
  },
  svm: {
    engine: 'litesvm behind a local JSON-RPC',
    bound: 'litesvm finalizes each transaction at once (no slot, no confirmation wait): the Worker\'s CPU (workerd, a full core in a burst) bounds it',
    prepare: prepareSvm,
  },
  starknet: {
    engine: 'starknet-devnet 0.10.1',
    bound: 'devnet mines a block per transaction, but every settle is sent by the one sponsor account, whose nonce it takes from the chain: its settles take turns in its Durable Object (price, sign, record, send), so the rate is one at a time and the last of a burst waits for the rest',
    prepare: prepareStarknet,
  },
};
const NETWORKS = [...new Set(opts.networks.split(',').map((t) => t.trim()))];
for (const name of NETWORKS) {
  if (!(name in FAMILIES)) throw new Error(`--networks: ${name} is not one of ${Object.keys(FAMILIES).join(', ')}`);
}

async function prepareEvm(stack) {
  const network = `eip155:${stack.chainId}`;
  const requirements = {
    scheme: 'exact', network, amount: '10000', asset: stack.token.address, payTo: stack.accounts[2].address,
    maxTimeoutSeconds: 300, extra: { name: stack.token.name, version: stack.token.version },
  };
  const clients = [0, 1, 3, 4, 5, 6].map((i) =>
    new x402Client()
      .register('eip155:*', new ExactEvmScheme(toClientEvmSigner(privateKeyToAccount(stack.accounts[i].privateKey))))
      .setSpendControls({ allowedAssets: [{ network, asset: stack.token.address }] }),
  );
  const succeeded = async (hash) => (await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [hash]))?.status === '0x1';
  return { requirements, pay: clientsInTurn(clients, requirements, RESOURCE), landed: (hashes) => countTrue(hashes.map(succeeded)) };
}

async function prepareSvm(stack) {
  const svm = stack.svm;
  const [payee, ...payers] = svm.payers;
  const requirements = {
    scheme: 'exact', network: svm.caip2, amount: '10000', asset: svm.mint, payTo: payee.address,
    maxTimeoutSeconds: 60, extra: { feePayer: svm.feePayer },
  };
  // Each payment is fresh: the client adds a memo with a random nonce (the local RPC keeps one blockhash).
  const clients = payers.map((w) =>
    new x402Client()
      .register('solana:*', new ExactSvmScheme(toClientSvmSigner(w.signer), { rpcUrl: svm.rpcUrl }))
      .setSpendControls({ allowedAssets: [{ network: svm.caip2, asset: svm.mint }] }),
  );
  const landed = async (signatures) => {
    const { value } = await rpc(svm.rpcUrl, 'getSignatureStatuses', [signatures]);
    return value.filter((s) => s && s.err === null).length;
  };
  return { requirements, pay: clientsInTurn(clients, requirements, RESOURCE), landed };
}

async function prepareStarknet(stack) {
  const sn = stack.starknet;
  const [payee, ...payers] = sn.payers;
  const requirements = { scheme: 'exact', network: sn.caip2, amount: '1000000000000', asset: sn.token, payTo: payee.address, maxTimeoutSeconds: 300 };
  let next = 0;
  const pay = () => createPayment({ account: payers[next++ % payers.length], requirements });
  const succeeded = async (hash) => (await sn.devnet.rpc('starknet_getTransactionReceipt', { transaction_hash: hash }))?.execution_status === 'SUCCEEDED';
  return { requirements, pay, landed: (hashes) => countTrue(hashes.map(succeeded)) };
}

const countTrue = async (promises) => (await Promise.all(promises)).filter(Boolean).length;

/** One burst of `count` fresh payments: throws on the first failed settle or one not on the chain. */
async function settleBurst(stack, name, family, count) {
  const bodies = await settleBodies(count, family.requirements, family.pay);
  const r = await burst(stack.facilitatorUrl, bodies, IN_FLIGHT);
  if (r.failures.length) throw new Error(`${name}: ${r.failures.length} of ${count} settles failed, the first: ${r.failures[0]}`);
  const landed = await family.landed(r.transactions);
  if (landed !== count) throw new Error(`${name}: ${count - landed} of ${count} settled transactions are not on the chain (or failed there)`);
  return { settlesPerSecond: count / (r.wallMs / 1000), p50Ms: median(r.latencies), slowestMs: Math.max(...r.latencies), wallMs: r.wallMs };
}

function summarize(name, rounds) {
  return {
    network: name,
    settlesPerSecond: median(rounds.map((r) => r.settlesPerSecond)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    slowestMs: rounds.map((r) => Math.round(r.slowestMs)),
    engine: FAMILIES[name].engine,
    bound: FAMILIES[name].bound,
  };
}

function report(results) {
  console.log(`\nsettle throughput per network (one local stack; bursts of ${BURST}, ${IN_FLIGHT} in flight; medians of ${ROUNDS} round(s)):`);
  for (const r of results) {
    console.log(`  ${r.network.padEnd(8)} ${r.settlesPerSecond.toFixed(1).padStart(6)} settles/s, p50 ${r.p50Ms.toFixed(0).padStart(5)} ms, ` +
      `slowest per burst ${r.slowestMs.join(' / ')} ms (${r.engine})`);
    console.log(`  ${''.padEnd(8)} bound: ${r.bound}`);
  }
}

async function run(stack) {
  const families = {};
  for (const name of NETWORKS) {
    families[name] = await FAMILIES[name].prepare(stack);
    log(`${name}: warm-up (${WARM_UP} settles, untimed)`);
    await settleBurst(stack, name, families[name], WARM_UP);
  }
  const rounds = Object.fromEntries(NETWORKS.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of NETWORKS) {
      const r = await settleBurst(stack, name, families[name], BURST);
      rounds[name].push(r);
      log(`${name}, round ${round + 1}/${ROUNDS}: ${BURST} settles in ${r.wallMs.toFixed(0)} ms (${r.settlesPerSecond.toFixed(1)}/s), ` +
        `p50 ${r.p50Ms.toFixed(0)} ms, slowest ${r.slowestMs.toFixed(0)} ms`);
    }
  }
  return NETWORKS.map((n) => summarize(n, rounds[n]));
}

let exitCode = 0;
let stack;
try {
  const wants = new Set(NETWORKS);
  // `settings: {}`: no RPC or key of the caller's environment reaches the Worker, only the stack's own chains.
  stack = await startStack({
    local: wants.has('evm'), localSvm: wants.has('svm'), localStarknet: wants.has('starknet'),
    chainPort: 0, workerPort: 0, settings: {}, log, echo: process.env.BENCH_ECHO === '1',
  });
  const results = await run(stack);
  report(results);
  if (opts.json) console.log(JSON.stringify({ burst: BURST, inFlight: IN_FLIGHT, rounds: ROUNDS, results }));
} catch (e) {
  exitCode = 1;
  console.error(`[bench:networks] ${e instanceof Error ? e.stack : e}`);
} finally {
  await stack?.stop();
}
process.exit(exitCode);
